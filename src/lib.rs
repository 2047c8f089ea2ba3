//! bp-failover: an observer that keeps an Antelope block producer producing when its
//! primary data center fails, by switching the producer's signing key on chain.
//!
//! The house is **observe → decide → act**:
//! - [`antelope`]: protocol primitives (names, keys, signatures, ABI, transactions); pure.
//! - [`api`]: chain I/O over many endpoints, turned into typed observations and a quorum view.
//! - [`observer`]: follows the quorum chain, attributes missed slots, measures participation; pure.
//! - [`decision`]: policy, guards and the persisted state; a pure `decide`.
//! - [`keyswitch`], [`keyfile`]: the key-switch transaction and the one secret.
//! - [`config`], [`cli`], [`commands`]: the program's surface.
//! - [`sim`]: a simulated Antelope network on loopback for end-to-end tests and drills.

pub mod antelope;
pub mod api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod decision;
pub mod events;
pub mod keyfile;
pub mod keyswitch;
pub mod observer;
pub mod sim;
