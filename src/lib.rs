//! bp-failover: an observer that keeps an Antelope block producer producing when its
//! primary data center fails, by switching the producer's signing key on chain.
//!
//! The house is **observe → decide → act**. [`antelope`] holds the protocol primitives
//! (pure, no I/O); [`keyfile`] loads the one secret; [`cli`] and [`commands`] are the
//! program's surface.

pub mod antelope;
pub mod cli;
pub mod commands;
pub mod keyfile;
pub mod keyswitch;
pub mod sim;
