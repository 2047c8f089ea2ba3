//! Observation: follows the quorum chain block by block, tracks the producer schedule,
//! and derives missed slots and participation. Pure: fed by the chain I/O layer.

pub mod schedule;
pub mod stats;
pub mod tracker;
