//! A simulated Antelope network on loopback, for end-to-end tests, drills and benchmarks.
//!
//! It answers the nodeos `/v1/chain/*` methods bp-failover uses with real node JSON
//! shapes, produces blocks on 500 ms slots (optionally time-scaled) under a Savanna or
//! legacy schedule, and checks pushed transactions the way a node does (TAPOS,
//! expiration, canonical signatures, keys and thresholds, linkauth) before applying
//! `regproducer`/`regproducer2`/`actfinkey` to the producers and finalizer tables.
//!
//! - [`chain`]: the pure model (slots, schedules and their promotion, finality);
//! - [`system`]: tables, accounts, permissions, and the system-contract actions;
//! - [`msig`]: the `eosio.msig` contract (proposals, approvals, exec);
//! - [`verify`]: transaction checks and execution;
//! - [`render`] and [`api`]: response bodies and the chain methods;
//! - [`network`] and [`server`]: endpoints with differing views, data-center node APIs,
//!   faults, counters, the clock, HTTP;
//!
//! The network knows nothing of bp-failover: the app's `drill` module holds the named
//! scenarios and writes observer configs for a running network.
//!
//! ```no_run
//! # async fn demo() -> Result<(), antelope_sim::network::SimError> {
//! use antelope_sim::network::{Network, NetworkSpec};
//! let net = Network::start(NetworkSpec::new(4, 3)).await?; // 4 producers, 3 endpoints
//! net.step(12);                                             // one producer turn
//! println!("{:?}", net.endpoint_urls());
//! # Ok(()) }
//! ```
//!
//! Each module's docs say where it simplifies the real chain.

pub mod api;
pub mod chain;
pub mod error;
pub mod msig;
pub mod network;
pub mod render;
pub mod server;
pub mod system;
pub mod verify;

use std::future::Future;

pub use chain::{Chain, ChainSpec, Consensus, DcStatus};
pub use error::NodeError;
pub use network::{Behavior, Change, Clock, Event, ForkSpec, Lie, Network, NetworkSpec, SimError};

/// Runs a network until `shutdown` resolves: starts it, hands it to `on_ready` (print the
/// URLs, write a config with [`render_config`], start observers), waits, then stops every
/// listener.
pub async fn serve(
    spec: NetworkSpec,
    on_ready: impl FnOnce(&Network) -> Result<(), SimError>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SimError> {
    let net = Network::start(spec).await?;
    tracing::info!(
        endpoints = ?net.endpoint_urls(),
        nodes = ?net.node_urls(),
        "simulated network started"
    );
    let ready = on_ready(&net);
    if ready.is_ok() {
        shutdown.await;
    }
    net.shutdown().await;
    ready
}
