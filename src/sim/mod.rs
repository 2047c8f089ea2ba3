//! A simulated Antelope network on loopback for end-to-end tests, drills and benchmarks.

pub mod api;
pub mod chain;
pub mod error;
pub mod network;
pub mod render;
pub mod server;
pub mod system;
pub mod verify;
