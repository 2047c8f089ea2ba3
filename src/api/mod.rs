//! The observer's eyes: a typed nodeos HTTP client ([`client`]), response types
//! ([`types`]), typed node errors ([`error`]), and the endpoint pool ([`pool`]) whose
//! observations the pure [`quorum`] module turns into a majority view of the chain.

pub mod client;
pub mod error;
pub mod pool;
pub use antelope::chain_api as types;
pub mod url;

pub use client::{ChainClient, ClientOptions, TableQuery, DEFAULT_MAX_BODY_BYTES};
pub use error::{ApiError, ApiErrorKind, NodeError, NodeErrorKind};
pub use failover_core::clock::{Clock, ManualClock, SystemClock};
pub use failover_core::quorum::{
    assess, BlockRef, ExclusionReason, Observation, Quorum, QuorumPolicy, QuorumState, QuorumView,
    Verdict,
};
pub use pool::{read_order, ChainApi, EndpointHealth, EndpointPool};
pub use types::*;
pub use url::{EndpointUrl, UrlError};
