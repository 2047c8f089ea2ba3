//! `bp-failover simulate`: a built-in failure scenario served as a standalone simulated
//! network, with a ready-to-use config for `bp-failover run`/`status`/`check` against it.
//!
//! The network's endpoints and data-center nodes listen on `--listen`'s address (loopback
//! unless the user names another address, which gets a warning). The config, the
//! observer's key (a fresh one, mode 0600) and the state file go into `--out` or a new
//! temporary directory that is removed on exit. The scenario's script runs from the start:
//! a daemon started later still sees the incident through its backfill of recent blocks.
//!
//! Chain time is slot time. With `--time-scale` ≠ 1 it runs ahead of the wall clock, and a
//! separately started daemon (which reads the wall clock) holds every failover as clock
//! skew: that is why the default is 1. `bp-failover drill` is the fast, self-contained
//! version, with the daemon reading chain time.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::SimulateArgs;
use crate::diagnostics::init as init_tracing;
use crate::drill::lockstep::write_config;
use crate::drill::report::{expect_text, network_lines};
use crate::drill::run::{build_scenario, output_dir};
use crate::events::LogFormat;
use crate::signals::shutdown_signal;
use crate::sim::{Clock, Network};

pub async fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    init_tracing(LogFormat::Text);
    let scenario = build_scenario(
        &args.network.scenario,
        usize::from(args.network.producers),
        Clock::RealTime {
            time_scale: args.time_scale,
        },
    )?;
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "bp-failover: warning: listening on {}, which is not loopback: anyone who can reach \
             this host can read the simulated chain and push transactions to it (a simulation: \
             no real chain or key is at stake)",
            args.listen.ip()
        );
    }
    let (dir, temp) = output_dir(args.out.as_deref(), "bp-failover-sim-")?;
    let net = Network::start_on(scenario.spec.clone(), args.listen)
        .await
        .context("cannot start the simulated network")?;
    scenario
        .prepare(&net)
        .map_err(|e| anyhow::anyhow!("cannot set up the scenario's k-of-n observers: {e}"))?;
    // In k-of-n mode: the first observer's config (the chain waits for the others).
    let config_path = write_config(&net, &scenario.config_options(0, &dir))?;

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "bp-failover simulate: scenario {}\n  {}",
        scenario.name, scenario.description
    )?;
    for (label, text) in network_lines(&scenario, &net) {
        writeln!(out, "  {label:<11} {text}")?;
    }
    writeln!(
        out,
        "  {:<11} {}",
        "expected",
        expect_text(&scenario.expect)
    )?;
    if args.time_scale != 1.0 {
        writeln!(
            out,
            "note: chain time runs ×{} ahead of the wall clock; `bp-failover run` reads the wall \
             clock and will hold every failover as clock skew. Use the default --time-scale 1 \
             to run the daemon against this network, or `bp-failover drill` for a fast one.",
            args.time_scale
        )?;
    }
    writeln!(out, "config: {}", config_path.display())?;
    writeln!(out, "run: bp-failover run -c {}", config_path.display())?;
    writeln!(
        out,
        "serving until Ctrl-C or SIGTERM{}",
        if temp.is_some() {
            "; the directory is removed then"
        } else {
            ""
        }
    )?;
    drop(out);

    shutdown_signal().await;
    let switches = net.key_switches().iter().filter(|s| s.changed).count();
    println!(
        "stopping after {:.0} s of chain time: {} key change(s) on chain; {}",
        f64::from(net.elapsed_slots()) / 2.0,
        switches,
        match scenario.check(&net) {
            Ok(()) => "the scenario's expected outcome is met".to_string(),
            Err(e) => format!("not (yet) the scenario's expected outcome: {e}"),
        }
    );
    net.shutdown().await;
    drop(temp);
    Ok(ExitCode::SUCCESS)
}
