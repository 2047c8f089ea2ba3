//! bp-failover: an observer that keeps an Antelope block producer producing when its
//! primary data center fails, by switching the producer's signing key on chain.
//!
//! The house is **observe → decide → act**:
//! - [`antelope`]: protocol primitives (names, keys, signatures, ABI, transactions); pure.
//! - [`api`]: chain I/O over many endpoints, turned into typed observations and a quorum view.
//! - [`observer`]: follows the quorum chain, attributes missed slots, measures participation; pure.
//! - [`decision`]: policy, guards and the persisted state; a pure `decide`.
//! - [`authority`]: nodeos' authorization rules (links, permission tree, key weights); pure.
//! - [`keyswitch`], [`keyfile`]: the key-switch transaction and the one secret.
//! - [`config`], [`cli`], [`commands`]: the program's surface; the commands are glue over
//!   [`preflight`] (what `check` evaluates), [`snapshot`] (what `status` gathers) and
//!   [`manual`] (the manual switch's safety checks).
//! - [`alerts`], [`metrics`], [`http`]: operations (messages to people, Prometheus,
//!   `/healthz` and `/readyz`).
//! - [`sim`]: a simulated Antelope network on loopback for end-to-end tests and drills.

pub mod alerts;
pub use antelope;
pub use failover_core::{
    authority, clock, decision, keyswitch, observer, quorum, readiness, transition,
};
pub mod api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod diagnostics;
pub mod drill;
pub mod fsutil;
pub mod http;
pub mod keyfile;
pub mod manual;
pub mod metrics;
pub mod preflight;
pub mod signals;
pub mod snapshot;
pub use antelope_sim as sim;
pub mod state_file;

mod event_log;

/// The typed events (from the core) and where they go (the event log).
pub mod events {
    pub use crate::event_log::{EventLog, LogFormat};
    pub use failover_core::events::*;
}

/// The git commit this binary was built from (`git rev-parse --short HEAD` at build time),
/// `unknown` when built outside a git checkout (e.g. from a source tarball), or the value
/// of `BP_FAILOVER_GIT_COMMIT` in the build environment when set.
pub const GIT_COMMIT: &str = env!("BP_FAILOVER_GIT_COMMIT");

/// What `--version` prints after the program name: `0.1.0 (abc1234)`.
pub const VERSION_LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("BP_FAILOVER_GIT_COMMIT"),
    ")"
);
