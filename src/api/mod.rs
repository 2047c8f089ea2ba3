//! The observer's eyes: a typed nodeos HTTP client ([`client`]), response types
//! ([`types`]), typed node errors ([`error`]), and the endpoint pool ([`pool`]) whose
//! observations the pure [`quorum`] module turns into a majority view of the chain.

pub mod client;
pub mod clock;
pub mod error;
pub mod pool;
pub mod quorum;
pub mod readiness;
pub use antelope::chain_api as types;
pub mod url;

pub use client::{ChainClient, ClientOptions, TableQuery, DEFAULT_MAX_BODY_BYTES};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ApiError, ApiErrorKind, NodeError, NodeErrorKind};
pub use pool::{read_order, ChainApi, EndpointHealth, EndpointPool};
pub use quorum::{
    assess, BlockRef, ExclusionReason, Observation, Quorum, QuorumPolicy, QuorumState, QuorumView,
    Verdict,
};
pub use types::*;
pub use url::{EndpointUrl, UrlError};
