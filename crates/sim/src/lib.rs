//! A simulated Antelope network on loopback, for end-to-end tests, drills and benchmarks.
//!
//! It answers the nodeos `/v1/chain/*` methods bp-failover uses with real node JSON
//! shapes, produces blocks on 500 ms slots (optionally time-scaled) under a Savanna or
//! legacy schedule, and checks pushed transactions the way a node does (TAPOS,
//! expiration, canonical signatures, keys and thresholds, linkauth) before applying
//! `regproducer`/`regproducer2`/`actfinkey` to the producers and finalizer tables.
//!
//! Modules (public: [`chain`], [`network`], [`system`], [`error`]; the rest is internal):
//! - [`chain`]: the pure model, no I/O and no clock: [`chain::ChainSpec`] and the data
//!   centers (`mod.rs`), blocks and schedules (`block`), building a chain and its warm-up
//!   history (`genesis`), producing slots, schedule promotion and finality (`production`);
//! - [`system`]: the `eosio` tables and system-contract actions (`mod.rs`), table rows and
//!   block signing authorities (`rows`), accounts, permissions and links (`account`), fake
//!   finalizer keys (`bls`);
//! - `msig`: the `eosio.msig` contract (proposals, approvals, exec);
//! - `verify`: transaction checks (TAPOS, expiration, signatures, authorization) and
//!   execution;
//! - `render` and `api`: response bodies and the chain methods;
//! - [`error`]: nodeos' error bodies ([`NodeError`]);
//! - [`network`]: the started [`Network`], its listeners and clock (`mod.rs`); what it is
//!   started from and changed by: behaviours, lies, scripted changes (`spec`); the state
//!   behind every listener and how changes move it (`world`); answering a request
//!   (`requests`) and lying about it (`lie`);
//! - `server`: HTTP/1.1 on loopback, asking a handler trait for each answer (so the server
//!   does not depend on the network).
//!
//! Dependencies: the `antelope` crate (protocol primitives) and, from `failover-core`,
//! only nodeos' authorization rules (`failover_core::authority`, the one copy the app's
//! `check` and dry run use too) and the `Clock` trait that [`network::Shared`] implements
//! so observers read chain time. Nothing else of bp-failover: the app's `drill` module
//! holds the named scenarios and writes observer configs for a running network.
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

mod api;
pub mod chain;
pub mod error;
mod msig;
pub mod network;
mod render;
mod server;
pub mod system;
mod verify;

use std::future::Future;

pub use chain::{Chain, ChainSpec, Consensus, DcStatus};
pub use error::NodeError;
pub use network::{Behavior, Change, Clock, Event, ForkSpec, Lie, Network, NetworkSpec, SimError};

/// Runs a network until `shutdown` resolves: starts it, hands it to `on_ready` (print the
/// URLs, write an observer config, start observers), waits, then stops every
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
