//! What `drill`, `simulate`, the benchmarks and the end-to-end tests need on top of the
//! simulated network (`antelope_sim`): named failure scenarios with their expected outcomes,
//! observer configs (with key files) for a running network, the one lockstep harness that
//! advances a network and ticks real daemons slot by slot ([`lockstep`]), and the drill
//! itself: running a scenario ([`run`]), narrating it ([`narrate`]) and judging it
//! ([`report`]).

pub mod config;
pub mod lockstep;
pub mod narrate;
pub mod report;
pub mod run;
pub mod scenario;

pub use config::{config_toml, msig_observer_key, render_config, ConfigOptions, MsigOptions};
pub use scenario::{Expect, Scenario};
