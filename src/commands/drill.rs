//! `bp-failover drill`: a failover rehearsed end to end on this machine, with no config
//! and no network access, narrated for an operator, then judged.
//!
//! A built-in scenario's simulated network and the real daemon run in one process, in
//! lockstep ([`crate::drill::run`]). The drill renders a config and a fresh observer key
//! (mode 0600) into `--out` or a temporary directory.
//!
//! Exit code: 0 when the outcome matches the scenario's expectation
//! ([`crate::drill::Scenario::check`]), 1 otherwise (or when interrupted).

use std::process::ExitCode;

use crate::cli::DrillArgs;
use crate::drill::narrate::Out;
use crate::drill::report::{render_report, scenario_list};
use crate::drill::run::{drill, drill_scenario, output_dir};
use crate::signals::shutdown_signal;

pub async fn run(args: DrillArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        println!("{}", scenario_list(args.json));
        return Ok(ExitCode::SUCCESS);
    }
    init_quiet_tracing();
    let scenario = drill_scenario(&args.network.scenario, usize::from(args.network.producers))?;
    let (dir, temp) = output_dir(args.out.as_deref(), "bp-failover-drill-")?;
    let mut out = if args.json {
        Out::quiet()
    } else {
        Out::stdout()
    };
    let keep = temp.is_none();
    let stop = shutdown_signal();
    let report = drill(&scenario, &dir, keep, args.time_scale, stop, &mut out).await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        out.print(&render_report(&report));
    }
    drop(temp);
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Library diagnostics (tracing) only from `error` up, unless `BP_FAILOVER_LOG` says
/// otherwise: the narration is the output.
fn init_quiet_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BP_FAILOVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
