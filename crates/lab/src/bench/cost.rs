//! The cost benchmark (section 3 of the report): `bp-failover run` (the product binary)
//! in a child process watching a 21-producer network at real speed served by this
//! process; its CPU over a window after warm-up and its peak RSS, from `/proc`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use antelope_sim::network::{Behavior, Clock as SimClock, Lie, Network, NetworkSpec, Target};
use anyhow::{bail, Context};
use bp_failover::drill::{render_config, ConfigOptions};

use super::procfs::{clock_ticks_per_sec, proc_status_kib, proc_ticks};
use super::report::CostReport;
use super::slots::blocks_per_sec;
use super::{COST_WARMUP_SECS, CPU_TARGET_PERCENT, ENDPOINTS, FULL_PRODUCERS, RSS_TARGET_MIB};

/// How to get the product binary the cost benchmark runs.
const BUILD_HINT: &str =
    "build it with `cargo build --release -p bp-failover`, or pass --daemon-bin PATH";

/// The product binary the cost benchmark runs: `given` (`--daemon-bin`), else
/// `bp-failover` in the directory of `exe` (this program: cargo puts both in the same
/// target directory). An error naming the fix when it is not there.
pub(crate) fn daemon_bin(given: Option<&Path>, exe: &Path) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => exe
            .parent()
            .context("cannot find the directory of this program's executable")?
            .join(format!("bp-failover{}", std::env::consts::EXE_SUFFIX)),
    };
    if path.is_file() {
        return Ok(path);
    }
    match given {
        Some(_) => bail!(
            "--daemon-bin {}: no such file (the cost benchmark runs `PATH run`); {BUILD_HINT}",
            path.display()
        ),
        None => bail!(
            "no bp-failover beside this program ({}): the cost benchmark runs `bp-failover run`; {BUILD_HINT}",
            path.display()
        ),
    }
}

/// Checks that `daemon` is bp-failover, and warns when it was not built from the same
/// commit as this program (its figures would not be this tree's).
pub(crate) fn check_daemon_version(daemon: &Path) -> anyhow::Result<()> {
    let out = std::process::Command::new(daemon)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {} --version; {BUILD_HINT}", daemon.display()))?;
    let version = String::from_utf8_lossy(&out.stdout);
    let version = version.trim();
    let Some(v) = version
        .strip_prefix("bp-failover ")
        .filter(|_| out.status.success())
    else {
        bail!(
            "{} is not bp-failover (`--version` printed {version:?}); {BUILD_HINT}",
            daemon.display()
        );
    };
    if v != bp_failover::VERSION_LONG {
        eprintln!(
            "cost: warning: {} is bp-failover {v}, this program {}: rebuild both with `cargo build --release`",
            daemon.display(),
            bp_failover::VERSION_LONG
        );
    }
    Ok(())
}

fn total_requests(net: &Network, nodes: usize) -> u64 {
    (0..ENDPOINTS)
        .map(Target::Endpoint)
        .chain((0..nodes).map(Target::Node))
        .map(|t| net.counters(t).total())
        .sum()
}

/// Kills the child when dropped (an error path must not leave a daemon running).
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) async fn cost(
    window_secs: u64,
    flap_schedule: bool,
    fail_block_reads: bool,
    daemon: &Path,
) -> anyhow::Result<CostReport> {
    eprintln!(
        "cost: `bp-failover run` in a child process against {FULL_PRODUCERS} producers at {} blocks/s on {ENDPOINTS} endpoints: {COST_WARMUP_SECS} s warm-up, {window_secs} s sampled",
        blocks_per_sec()
    );
    eprintln!("cost: the daemon is {}", daemon.display());
    let mut spec = NetworkSpec::new(FULL_PRODUCERS, ENDPOINTS);
    spec.clock = SimClock::RealTime { time_scale: 1.0 };
    if flap_schedule {
        eprintln!("cost: every endpoint serves an active schedule that changes every slot");
        spec.endpoints = vec![Behavior::Lie(Lie::FlapSchedule); ENDPOINTS];
    }
    if fail_block_reads {
        eprintln!("cost: every endpoint fails every block read");
        spec.endpoints = vec![Behavior::Lie(Lie::FailBlockReads); ENDPOINTS];
    }
    let net = Network::start(spec).await?;
    let nodes = net.node_urls().len();
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let text = render_config(&net, &ConfigOptions::new(dir.path()))?;
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, text)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let events_path = dir.path().join("events.jsonl");
    let events = std::fs::File::create(&events_path)
        .with_context(|| format!("cannot create {}", events_path.display()))?;
    let stderr_path = dir.path().join("stderr.log");
    let stderr = std::fs::File::create(&stderr_path)
        .with_context(|| format!("cannot create {}", stderr_path.display()))?;
    let child = std::process::Command::new(daemon)
        .arg("run")
        .arg("-c")
        .arg(&config_path)
        .args(["--log-format", "json"])
        .stdin(Stdio::null())
        .stdout(events)
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("cannot start {} run", daemon.display()))?;
    let pid = child.id();
    let mut child = ChildGuard(child);
    let spawned = Instant::now();
    tokio::time::sleep(Duration::from_secs(COST_WARMUP_SECS)).await;
    if let Ok(Some(status)) = child.0.try_wait() {
        let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        bail!(
            "the daemon exited during warm-up ({status}): {}",
            err.trim()
        );
    }
    let ticks0 = proc_ticks(pid)?;
    let req0 = total_requests(&net, nodes);
    let by0: Vec<_> = (0..ENDPOINTS)
        .map(|i| net.counters(Target::Endpoint(i)))
        .collect();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(window_secs)).await;
    let ticks1 = proc_ticks(pid)?;
    let window = t0.elapsed().as_secs_f64();
    let since_start = spawned.elapsed().as_secs_f64();
    let req1 = total_requests(&net, nodes);
    let by1: Vec<_> = (0..ENDPOINTS)
        .map(|i| net.counters(Target::Endpoint(i)))
        .collect();
    let hwm = proc_status_kib(pid, "VmHWM")?;
    let rss = proc_status_kib(pid, "VmRSS")?;
    drop(child);
    let failovers = net.key_switches().len();
    net.shutdown().await;
    let hz = clock_ticks_per_sec();
    let cpu_seconds = (ticks1 - ticks0) as f64 / hz;
    let cpu_percent = 100.0 * cpu_seconds / window;
    let peak = hwm as f64 / 1024.0;
    Ok(CostReport {
        producers: FULL_PRODUCERS,
        endpoints: ENDPOINTS,
        datacenter_nodes: nodes,
        blocks_per_sec: blocks_per_sec(),
        warmup_secs: COST_WARMUP_SECS,
        window_secs: window,
        cpu_seconds,
        cpu_percent_of_one_core: cpu_percent,
        cpu_percent_since_start: 100.0 * ticks1 as f64 / hz / since_start,
        peak_rss_mib: peak,
        rss_mib_at_end: rss as f64 / 1024.0,
        requests_per_sec: (req1 - req0) as f64 / window,
        requests_per_sec_by_endpoint: by0
            .iter()
            .zip(&by1)
            .map(|(a, b)| b.total().saturating_sub(a.total()) as f64 / window)
            .collect(),
        requests_per_sec_by_path: {
            let mut m = std::collections::BTreeMap::new();
            for (a, b) in by0.iter().zip(&by1) {
                for (path, n) in &b.by_path {
                    let d = n.saturating_sub(a.by_path.get(path).copied().unwrap_or(0));
                    *m.entry(path.clone()).or_insert(0.0) += d as f64 / window;
                }
            }
            m.retain(|_, v| *v > 0.0);
            m
        },
        failovers,
        flapping_schedule: flap_schedule,
        failing_block_reads: fail_block_reads,
        target_cpu_percent: CPU_TARGET_PERCENT,
        target_rss_mib: RSS_TARGET_MIB,
        meets_target: cpu_percent <= CPU_TARGET_PERCENT && peak <= RSS_TARGET_MIB,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_is_found_beside_this_program_or_named() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("bp-failover-lab");
        let beside = dir
            .path()
            .join(format!("bp-failover{}", std::env::consts::EXE_SUFFIX));
        let err = daemon_bin(None, &exe).unwrap_err().to_string();
        assert!(err.contains(&beside.display().to_string()), "{err}");
        assert!(
            err.contains("cargo build --release -p bp-failover"),
            "{err}"
        );
        std::fs::write(&beside, "").unwrap();
        assert_eq!(daemon_bin(None, &exe).unwrap(), beside);
        let named = dir.path().join("elsewhere");
        let err = daemon_bin(Some(&named), &exe).unwrap_err().to_string();
        assert!(err.starts_with("--daemon-bin "), "{err}");
        assert!(
            err.contains("cargo build --release -p bp-failover"),
            "{err}"
        );
        assert_eq!(daemon_bin(Some(&beside), &exe).unwrap(), beside);
    }

    #[test]
    fn a_program_that_is_not_bp_failover_is_refused() {
        let err = check_daemon_version(Path::new("/bin/true"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not bp-failover"), "{err}");
        assert!(check_daemon_version(Path::new("/nonexistent/bp-failover")).is_err());
    }
}
