//! What `drill`, `simulate`, the benchmarks and the end-to-end tests need on top of the
//! simulated network (`antelope_sim`): named failure scenarios with their expected outcomes,
//! and observer configs (with key files) for a running network.

pub mod config;
pub mod scenario;

pub use config::{config_toml, msig_observer_key, render_config, ConfigOptions, MsigOptions};
pub use scenario::{Expect, Scenario};
