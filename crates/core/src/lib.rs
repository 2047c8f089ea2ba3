//! bp-failover's pure core: everything that decides, and nothing that does I/O.
//!
//! Observations come in (blocks, schedules, endpoint answers already verified by the app's
//! chain I/O), time comes from an injected [`clock::Clock`], and out come decisions, the
//! next persisted state and typed events. No tokio, no HTTP, no files: the app does those.
//! - [`observer`]: follows the quorum chain, attributes missed slots, measures participation.
//! - [`quorum`]: which endpoints agree on the chain, the head and finality.
//! - [`readiness`]: whether a data center's node is fit to take over.
//! - [`decision`]: policy and guards, the pure `decide`, and the pure transition.
//! - [`events`]: the typed events and their explanations.
//! - [`authority`]: nodeos' authorization rules (links, permission tree, weights).
//! - [`keyswitch`]: the key-switch transaction (`regproducer` / `regproducer2`).

pub mod authority;
pub mod clock;
pub mod decision;
pub mod events;
pub mod keyswitch;
pub mod observer;
pub mod quorum;
pub mod readiness;
