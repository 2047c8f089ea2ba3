//! `bp-failover-lab bench`: how fast the daemon acts, how many blocks an outage costs, and what
//! watching a network costs, measured against the simulated network on 127.0.0.1.
//!
//! - **latency**: the real [`Daemon`](bp_failover::daemon::Daemon) (default options: 250 ms poll) in this process, a
//!   4-producer Savanna network stepped on the wall clock's slot boundaries (time scale 1),
//!   the primary going down at the start of our turn. Measured from the instant the
//!   simulator produced the block that first lets the policy decide (see
//!   [`slots::decision_slot`]) to the instant a listener accepted the key switch.
//! - **blocks**: a 21-producer network (Savanna at a turn start and mid-turn, legacy at a
//!   turn start) run at a time scale (default 10, the daemon's intervals scaled alike and
//!   reading chain time), until the backup signs our first block; compared with an oracle
//!   replay of the same chain that switches the key the instant the policy allows.
//! - **cost**: a 21-producer network at real speed served by this process, and
//!   `bp-failover run` (the product binary, beside this one or `--daemon-bin`) in a child
//!   process; its CPU (`/proc/PID/stat`) over a window after
//!   warm-up and its peak RSS (`VmHWM`).
//!
//! `docs/benchmarks.md` explains the method and records the figures.

mod blocks;
mod cost;
mod harness;
mod latency;
mod procfs;
mod report;
mod slots;
mod stats;
mod text;

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bp_failover::events::LogFormat;

use crate::cli::{BenchArgs, BenchKind};
use report::{Machine, Report};

/// Latency targets (seconds).
pub(crate) const LATENCY_MEDIAN_TARGET_S: f64 = 0.6;
pub(crate) const LATENCY_MAX_TARGET_S: f64 = 1.5;
/// Cost targets.
pub(crate) const CPU_TARGET_PERCENT: f64 = 1.0;
pub(crate) const RSS_TARGET_MIB: f64 = 20.0;

/// Producers of the latency benchmark's schedule (a rotation is 24 s).
pub(crate) const LATENCY_PRODUCERS: usize = 4;
/// Producers of the blocks and cost benchmarks.
pub(crate) const FULL_PRODUCERS: usize = 21;
/// Endpoints every network serves.
pub(crate) const ENDPOINTS: usize = 3;
/// Wall-clock seconds a fresh daemon gets before the outage (its backfill takes well
/// under one).
pub(crate) const WARMUP_SECS: f64 = 6.0;
/// Wall-clock seconds the cost benchmark waits before sampling.
pub(crate) const COST_WARMUP_SECS: u64 = 15;

pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    bp_failover::diagnostics::init(LogFormat::Text);
    if !(args.time_scale.is_finite() && args.time_scale >= 1.0) {
        bail!("--time-scale must be a number ≥ 1, got {}", args.time_scale);
    }
    let started = Instant::now();
    let want = |k: BenchKind| args.only.is_none_or(|o| o == k);
    // Before the minutes the other benchmarks take: the cost benchmark's daemon exists.
    let daemon = if want(BenchKind::Cost) {
        let exe = std::env::current_exe().context("cannot find this program's executable")?;
        let daemon = cost::daemon_bin(args.daemon_bin.as_deref(), &exe)?;
        cost::check_daemon_version(&daemon)?;
        Some(daemon)
    } else {
        None
    };
    if cfg!(debug_assertions) {
        eprintln!("bench: warning: debug build; the documented figures come from `cargo run --release -p bp-failover-lab -- bench`");
    }
    let latency = if want(BenchKind::Latency) {
        Some(
            latency::latency(
                args.incidents as usize,
                args.parallel as usize,
                args.slow_endpoint.map(Duration::from_millis),
            )
            .await?,
        )
    } else {
        None
    };
    let blocks = if want(BenchKind::Blocks) {
        Some(blocks::blocks(args.time_scale, args.blocks_parallel as usize).await?)
    } else {
        None
    };
    let cost = match &daemon {
        Some(daemon) => Some(
            cost::cost(
                args.cost_secs,
                args.flap_schedule,
                args.fail_block_reads,
                daemon,
            )
            .await?,
        ),
        None => None,
    };
    let report = Report {
        machine: Machine::this(),
        latency,
        blocks,
        cost,
        elapsed_secs: started.elapsed().as_secs_f64(),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", text::text(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}
