//! bp-failover's integration tests, one binary (the real-node layer is `tests/realnode.rs`,
//! a separate binary: it boots real nodeos processes for a quarter of an hour).
//!
//! Each module is what used to be its own test binary; `support` (a tiny HTTP server) and
//! `sim_common` (helpers over the simulated network and the lockstep harness) are shared.

mod sim_common;
mod support;

mod alerts;
mod check;
mod check_msig;
mod cli;
mod client;
mod config;
mod config_msig;
mod daemon_edges;
mod daemon_msig;
mod decision_scenarios;
mod docs_match;
mod drill;
mod e2e_scenarios;
mod event_consumers;
mod failover_cmd;
mod failover_msig;
mod layers;
mod lying_endpoints;
mod metrics;
mod parse_fixtures;
mod pool;
mod run_cmd;
mod scenarios_msig;
mod sim_client;
mod sim_msig;
mod sim_network;
mod sim_shapes;
mod sim_tx;
mod status;
