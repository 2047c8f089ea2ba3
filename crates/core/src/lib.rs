//! bp-failover's pure core: everything that decides, and nothing that does I/O.
//!
//! Observations come in (blocks, schedules, endpoint answers already verified by the app's
//! chain I/O), time comes from an injected [`clock::Clock`], and out come decisions, the
//! next persisted state and typed events. No tokio, no HTTP, no files: the app does those.
//! - [`clock`]: the clock trait, the system clock, and a manual clock for tests.
//! - [`observer`]: follows the quorum chain, attributes missed slots, measures participation.
//! - [`quorum`]: which endpoints agree on the chain, the head and finality (the types; the
//!   rule in `quorum::assess`).
//! - [`readiness`]: whether a data center's node is fit to take over.
//! - [`decision`]: the policy, the persisted state, the pure `decide`, when a switch takes
//!   effect (`cadence`), the `[msig]` mode's pure part (`msig`).
//! - [`events`]: the typed events and their explanations (they name decisions).
//! - [`transition`]: what follows a decision, purely: the next persisted state and the
//!   intents (events to emit, save, push). It sits above `decision` and `events`, which
//!   therefore do not import each other in a cycle.
//! - [`authority`]: nodeos' authorization rules (links and the minimum permission, the
//!   permission tree, weights, and the cleos commands that fix a refusal).
//! - [`keyswitch`]: the key-switch transaction (`regproducer` / `regproducer2`).

pub mod authority;
pub mod clock;
pub mod decision;
pub mod events;
pub mod keyswitch;
pub mod observer;
pub mod quorum;
pub mod readiness;
pub mod transition;
