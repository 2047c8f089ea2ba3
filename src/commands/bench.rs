//! `bp-failover bench`: how fast the daemon acts, how many blocks an outage costs, and what
//! watching a network costs, measured against the simulated network on 127.0.0.1.
//!
//! - **latency**: the real [`Daemon`] (default options: 250 ms poll) in this process, a
//!   4-producer Savanna network stepped on the wall clock's slot boundaries (time scale 1),
//!   the primary going down at the start of our turn. Measured from the instant the
//!   simulator produced the block that first lets the policy decide (see
//!   [`decision_slot`]) to the instant a listener accepted the key switch.
//! - **blocks**: a 21-producer network (Savanna at a turn start and mid-turn, legacy at a
//!   turn start) run at a time scale (default 10, the daemon's intervals scaled alike and
//!   reading chain time), until the backup signs our first block; compared with an oracle
//!   replay of the same chain that switches the key the instant the policy allows.
//! - **cost**: a 21-producer network at real speed served by this process, and
//!   `bp-failover run` in a child process; its CPU (`/proc/PID/stat`) over a window after
//!   warm-up and its peak RSS (`VmHWM`).
//!
//! `docs/benchmarks.md` explains the method and records the figures.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde::Serialize;
use tokio::sync::watch;

use crate::antelope::{BlockTimestamp, Name, PrivateKey, PublicKey};
use crate::api::SystemClock;
use crate::cli::{BenchArgs, BenchKind};
use crate::config::Config;
use crate::daemon::{Daemon, Options};
use crate::drill::{render_config, ConfigOptions};
use crate::events::{EventLog, LogFormat};
use crate::sim::chain::{
    Block, Chain, ChainSpec, Consensus, DcStatus, REPETITIONS, SCHEDULE_TICK_SLOTS,
};
use crate::sim::network::Target;
use crate::sim::network::{
    Behavior, Change, Clock as SimClock, Event as SimEvent, Network, NetworkSpec,
};
use crate::sim::system::Authority;

/// Latency targets (seconds).
const LATENCY_MEDIAN_TARGET_S: f64 = 0.6;
const LATENCY_MAX_TARGET_S: f64 = 1.5;
/// Cost targets.
const CPU_TARGET_PERCENT: f64 = 1.0;
const RSS_TARGET_MIB: f64 = 20.0;

/// Producers of the latency benchmark's schedule (a rotation is 24 s).
const LATENCY_PRODUCERS: usize = 4;
/// Producers of the blocks and cost benchmarks.
const FULL_PRODUCERS: usize = 21;
/// Endpoints every network serves.
const ENDPOINTS: usize = 3;
/// Wall-clock seconds a fresh daemon gets before the outage (its backfill takes well
/// under one).
const WARMUP_SECS: f64 = 6.0;
/// Wall-clock seconds the cost benchmark waits before sampling.
const COST_WARMUP_SECS: u64 = 15;

// ---- arithmetic (pure, unit-tested) ------------------------------------------------------

/// Index of the producer scheduled at `slot` in an `n`-producer schedule whose order does
/// not change (12 consecutive slots each).
pub fn scheduled_index(slot: u32, n: usize) -> usize {
    BlockTimestamp(slot).scheduled_index(n).unwrap_or(0)
}

/// The first slot at or after `from` that starts a turn of producer `index`.
pub fn next_turn_start(from: u32, n: usize, index: usize) -> u32 {
    let mut s = from.div_ceil(REPETITIONS) * REPETITIONS;
    while scheduled_index(s, n) != index {
        s += REPETITIONS;
    }
    s
}

/// Slots of producer `index` in `[from, to)` that have no block. `produced` holds the
/// slots of produced blocks, increasing.
pub fn missed_slots(produced: &[u32], from: u32, to: u32, n: usize, index: usize) -> u32 {
    (from..to)
        .filter(|&s| scheduled_index(s, n) == index && produced.binary_search(&s).is_err())
        .count() as u32
}

/// The policy as far as the decision moment depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// `policy.missed_blocks`.
    pub missed_blocks: u32,
    /// `policy.confirm_turns`, capped at `n − 1` and at least 1, as `decide` does.
    pub confirm_turns: u32,
}

impl Rule {
    pub fn new(policy: &crate::decision::Policy, n: usize) -> Self {
        let others = u32::try_from(n.saturating_sub(1)).unwrap_or(u32::MAX);
        Rule {
            missed_blocks: policy.missed_blocks.max(1),
            confirm_turns: policy.confirm_turns.min(others).max(1),
        }
    }

    /// The moment the threshold is knowable, with no confirming turns: the chain's
    /// minimum for a push as soon as `missed_blocks` misses can be seen.
    pub fn at_threshold(policy: &crate::decision::Policy) -> Self {
        Rule {
            missed_blocks: policy.missed_blocks.max(1),
            confirm_turns: 0,
        }
    }
}

/// The slot of the block that first lets the policy decide, for an outage of producer
/// `index` from slot `from` on: the first block at or after both
/// - the slot after our `missed_blocks`-th consecutive missed slot (misses are only known
///   once a later block shows the gap), and
/// - the last slot of the `confirm_turns`-th complete turn of another producer that began
///   at or after our first missed slot (a turn is complete once the head reaches its last
///   slot).
///
/// `produced` holds the slots of produced blocks (any producer), increasing. The other
/// producers are assumed to produce (participation above the policy's minimum), as in
/// every benchmark run. `None` when the chain does not get that far.
pub fn decision_slot(
    produced: &[u32],
    n: usize,
    index: usize,
    from: u32,
    rule: Rule,
) -> Option<u32> {
    let head = *produced.last()?;
    let mut first_miss = None;
    let mut misses = 0;
    let mut nth_miss = None;
    for s in from..=head {
        if scheduled_index(s, n) != index {
            continue;
        }
        if produced.binary_search(&s).is_ok() {
            // A block of ours ends the run.
            misses = 0;
            first_miss = None;
            continue;
        }
        first_miss.get_or_insert(s);
        misses += 1;
        if misses == rule.missed_blocks {
            nth_miss = Some(s);
            break;
        }
    }
    let (first_miss, nth_miss) = (first_miss?, nth_miss?);
    if rule.confirm_turns == 0 {
        let i = produced.partition_point(|&s| s <= nth_miss);
        return produced.get(i).copied();
    }
    let mut turn = first_miss.div_ceil(REPETITIONS);
    let mut counted = 0;
    loop {
        if scheduled_index(turn * REPETITIONS, n) != index {
            counted += 1;
            if counted >= rule.confirm_turns {
                break;
            }
        }
        turn += 1;
    }
    let confirmed = turn * REPETITIONS + REPETITIONS - 1;
    let needed = confirmed.max(nth_miss + 1);
    let i = produced.partition_point(|&s| s < needed);
    produced.get(i).copied()
}

/// The `q`-quantile (0 ≤ q ≤ 1) of sorted values, linearly interpolated between the two
/// nearest ranks (the usual "type 7" definition: the median of an even count is the mean
/// of the middle two). `None` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

/// Distribution of a set of measurements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub p90: f64,
    pub max: f64,
    pub mean: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Option<Summary> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        Some(Summary {
            n: v.len(),
            min: *v.first()?,
            median: quantile(&v, 0.5)?,
            p90: quantile(&v, 0.9)?,
            max: *v.last()?,
            mean: v.iter().sum::<f64>() / v.len() as f64,
        })
    }
}

/// `utime + stime` (clock ticks, every thread) from the text of `/proc/PID/stat`.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A `kB` line of `/proc/PID/status` (`VmHWM`, `VmRSS`), in KiB.
pub fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

// ---- report ------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct Report {
    machine: Machine,
    latency: Option<LatencyReport>,
    blocks: Option<BlocksReport>,
    cost: Option<CostReport>,
    elapsed_secs: f64,
}

#[derive(Debug, Serialize)]
struct Machine {
    cpus: usize,
    cpu_model: Option<String>,
    release_build: bool,
    version: &'static str,
}

impl Machine {
    fn this() -> Self {
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            }),
            release_build: !cfg!(debug_assertions),
            version: crate::VERSION_LONG,
        }
    }
}

#[derive(Debug, Serialize)]
struct LatencySample {
    /// Which lane (and so which schedule position of our producer) ran it.
    lane: usize,
    first_missed_slot: u32,
    decision_slot: u32,
    /// The slot whose block was the head when the switch was accepted.
    accepted_at_head_slot: u32,
    /// Decision block produced → switch accepted by the simulator.
    decision_to_accept_ms: f64,
    /// Decision block produced → `failover_triggered` emitted (observation).
    decision_to_trigger_ms: Option<f64>,
    /// `failover_triggered` → accepted (row re-read, build, sign, state file, push).
    trigger_to_accept_ms: Option<f64>,
    /// `transaction_pushed.latency_ms`: the push's HTTP round trip as the daemon saw it.
    push_round_trip_ms: Option<u64>,
    switched_to: Option<String>,
}

#[derive(Debug, Serialize)]
struct LatencyReport {
    producers: usize,
    consensus: &'static str,
    time_scale: f64,
    poll_interval_ms: u64,
    incidents: usize,
    parallel: usize,
    /// The third endpoint answered after this long (degraded run), if set.
    slow_endpoint_ms: Option<u64>,
    rule: Rule,
    decision_to_accept_ms: Option<Summary>,
    decision_to_trigger_ms: Option<Summary>,
    trigger_to_accept_ms: Option<Summary>,
    push_round_trip_ms: Option<Summary>,
    target_median_ms: f64,
    target_max_ms: f64,
    meets_target: bool,
    failed: Vec<String>,
    samples: Vec<LatencySample>,
}

#[derive(Debug, Clone, Serialize)]
struct Marks {
    /// Slots after the first missed slot (0 = first miss).
    decision: Option<u32>,
    accepted: Option<u32>,
    proposed: Option<u32>,
    active: Option<u32>,
    first_backup_block: Option<u32>,
    /// Our scheduled slots missed from the first miss to the first backup block.
    lost: Option<u32>,
}

#[derive(Debug, Serialize)]
struct BlocksSample {
    consensus: &'static str,
    /// Slots into our turn at which the primary went down (0: at the turn's start).
    outage_offset: u32,
    /// Slots between the contract's last schedule update and the network's start: the
    /// phase of the cadence.
    schedule_phase: u32,
    /// The first slot of the schedule update after the outage began, relative to it.
    next_tick_after_outage: u32,
    first_missed_slot: u32,
    daemon: Marks,
    /// The same chain with the key switched the instant the policy allows.
    minimum: Marks,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct BlocksReport {
    producers: usize,
    time_scale: f64,
    schedule_tick_slots: u32,
    /// The daemon's policy.
    rule: Rule,
    /// The minimum's: a push the instant `missed_blocks` misses are knowable.
    minimum_rule: Rule,
    incidents: Vec<BlocksSample>,
    /// Incidents where the daemon lost exactly the minimum.
    at_minimum: usize,
    meets_minimum: bool,
}

#[derive(Debug, Serialize)]
struct CostReport {
    producers: usize,
    endpoints: usize,
    datacenter_nodes: usize,
    blocks_per_sec: f64,
    warmup_secs: u64,
    window_secs: f64,
    cpu_seconds: f64,
    cpu_percent_of_one_core: f64,
    /// Including warm-up (backfill), from process start to the end of the window.
    cpu_percent_since_start: f64,
    peak_rss_mib: f64,
    rss_mib_at_end: f64,
    requests_per_sec: f64,
    /// Requests per second to each endpoint (not counting the data centers' nodes).
    requests_per_sec_by_endpoint: Vec<f64>,
    /// Requests per second to all endpoints together, by API path.
    requests_per_sec_by_path: std::collections::BTreeMap<String, f64>,
    failovers: usize,
    /// Every endpoint served a schedule changing every slot.
    flapping_schedule: bool,
    /// Every endpoint failed every block read.
    failing_block_reads: bool,
    target_cpu_percent: f64,
    target_rss_mib: f64,
    meets_target: bool,
}

// ---- entry -------------------------------------------------------------------------------

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    super::run::init_tracing(LogFormat::Text);
    if !(args.time_scale.is_finite() && args.time_scale >= 1.0) {
        bail!("--time-scale must be a number ≥ 1, got {}", args.time_scale);
    }
    let started = Instant::now();
    let want = |k: BenchKind| args.only.is_none_or(|o| o == k);
    if cfg!(debug_assertions) {
        eprintln!("bench: warning: debug build; the documented figures come from `cargo run --release -- bench`");
    }
    let latency = if want(BenchKind::Latency) {
        Some(
            latency(
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
        Some(blocks(args.time_scale, args.blocks_parallel as usize).await?)
    } else {
        None
    };
    let cost = if want(BenchKind::Cost) {
        Some(cost(args.cost_secs, args.flap_schedule, args.fail_block_reads).await?)
    } else {
        None
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
        write!(out, "{}", text(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}

// ---- shared plumbing ---------------------------------------------------------------------

/// Puts our producer at `index` of the schedule (the order others keep).
fn place_ours(spec: &mut ChainSpec, index: usize) {
    let our = spec.our_producer;
    spec.producers.retain(|p| *p != our);
    let index = index.min(spec.producers.len());
    spec.producers.insert(index, our);
}

fn our_index(spec: &ChainSpec) -> usize {
    spec.producers
        .iter()
        .position(|p| *p == spec.our_producer)
        .unwrap_or(0)
}

fn outage_event(genesis: u32, slot: u32) -> SimEvent {
    SimEvent {
        at: slot - genesis,
        change: Change::Datacenter {
            name: "primary".into(),
            status: DcStatus::Down,
        },
    }
}

/// Writes the network's config (and the observer's key) into `dir`; returns the loaded
/// config and key.
fn daemon_config(net: &Network, dir: &Path) -> anyhow::Result<(Config, PrivateKey)> {
    let text = render_config(net, &ConfigOptions::new(dir))?;
    let path = dir.join("config.toml");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    let loaded = crate::config::load(&path)?;
    let key = crate::keyfile::read_key_file(&dir.join("failover.key"))?;
    Ok((loaded.config, key))
}

/// Records every event line the daemon writes, with the instant it was written.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Recorded>>);

#[derive(Default)]
struct Recorded {
    partial: Vec<u8>,
    events: Vec<(Instant, serde_json::Value)>,
}

impl Recorder {
    fn first(&self, event: &str) -> Option<(Instant, serde_json::Value)> {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.events.iter().find(|(_, v)| v["event"] == event).cloned()
    }
}

impl Write for Recorder {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let now = Instant::now();
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.partial.extend_from_slice(b);
        while let Some(end) = g.partial.iter().position(|c| *c == b'\n') {
            let line: Vec<u8> = g.partial.drain(..=end).collect();
            if let Ok(v) = serde_json::from_slice(&line) {
                g.events.push((now, v));
            }
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Steps a manual-clock network at each wall-clock slot boundary (block `s` appears at
/// `s`'s start time, like a time scale of 1 aligned to the system clock) and records the
/// instant each slot was processed.
async fn drive(
    net: Arc<Network>,
    produced_at: Arc<Mutex<HashMap<u32, Instant>>>,
    stop: watch::Receiver<bool>,
) {
    let stop = stopped(stop);
    tokio::pin!(stop);
    loop {
        let next = net.with_chain(|c| c.slot()) + 1;
        let wait_ms = BlockTimestamp(next).unix_ms() - chrono::Utc::now().timestamp_millis();
        if wait_ms > 0 {
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
            }
        }
        net.step(1);
        let now = Instant::now();
        produced_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(next, now);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `later − earlier` in milliseconds, negative when `later` is earlier.
fn ms_between(earlier: Instant, later: Instant) -> f64 {
    match later.checked_duration_since(earlier) {
        Some(d) => ms(d),
        None => -ms(earlier.duration_since(later)),
    }
}

/// Produced block slots at or after `from`, increasing.
fn produced_from(chain: &Chain, from: u32) -> Vec<u32> {
    chain
        .blocks_from(chain.oldest().num)
        .map(|b| b.slot)
        .filter(|s| *s >= from)
        .collect()
}

// ---- 1. latency ----------------------------------------------------------------------------

async fn latency(
    incidents: usize,
    parallel: usize,
    slow: Option<Duration>,
) -> anyhow::Result<LatencyReport> {
    let lanes = parallel.clamp(1, LATENCY_PRODUCERS);
    eprintln!(
        "latency: {incidents} incidents, {lanes} at a time on separate {LATENCY_PRODUCERS}-producer networks, time scale 1{} (about {} s)",
        slow.map_or(String::new(), |d| format!(", endpoint 3 of {ENDPOINTS} answering after {} ms", d.as_millis())),
        (incidents.div_ceil(lanes) * 50).max(60)
    );
    let next = Arc::new(AtomicUsize::new(0));
    let results = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..lanes {
        let next = next.clone();
        let results = results.clone();
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= incidents {
                    return;
                }
                let r = latency_incident(lane, start_delay(i), slow).await;
                match &r {
                    Ok(s) => eprintln!(
                        "latency: incident {:>2}/{incidents} (lane {lane}): decision → accepted {:.0} ms",
                        i + 1,
                        s.decision_to_accept_ms
                    ),
                    Err(e) => eprintln!("latency: incident {}/{incidents} failed: {e:#}", i + 1),
                }
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(r.map_err(|e| format!("{e:#}")));
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.map_err(|e| anyhow!("a latency lane panicked: {e}"))?;
    }
    let results = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    let (mut samples, mut failed) = (Vec::new(), Vec::new());
    for r in results {
        match r {
            Ok(s) => samples.push(s),
            Err(e) => failed.push(e),
        }
    }
    let col = |f: &dyn Fn(&LatencySample) -> Option<f64>| {
        Summary::of(&samples.iter().filter_map(f).collect::<Vec<_>>())
    };
    let total = col(&|s| Some(s.decision_to_accept_ms));
    let meets = failed.is_empty()
        && total.as_ref().is_some_and(|t| {
            t.median <= LATENCY_MEDIAN_TARGET_S * 1000.0 && t.max <= LATENCY_MAX_TARGET_S * 1000.0
        });
    Ok(LatencyReport {
        producers: LATENCY_PRODUCERS,
        consensus: "savanna",
        time_scale: 1.0,
        poll_interval_ms: Options::default().poll_interval.as_millis() as u64,
        incidents,
        parallel: lanes,
        slow_endpoint_ms: slow.map(|d| d.as_millis() as u64),
        rule: Rule::new(&Default::default(), LATENCY_PRODUCERS),
        decision_to_accept_ms: total,
        decision_to_trigger_ms: col(&|s| s.decision_to_trigger_ms),
        trigger_to_accept_ms: col(&|s| s.trigger_to_accept_ms),
        push_round_trip_ms: col(&|s| s.push_round_trip_ms.map(|v| v as f64)),
        target_median_ms: LATENCY_MEDIAN_TARGET_S * 1000.0,
        target_max_ms: LATENCY_MAX_TARGET_S * 1000.0,
        meets_target: meets,
        failed,
        samples,
    })
}

/// How long incident `i` waits before starting its daemon: spreads the daemon's polling
/// phase relative to block production evenly over one poll interval (a golden-ratio
/// sequence), since a lane starts each incident at about the same point of a slot.
pub fn start_delay(i: usize) -> Duration {
    const GOLDEN: f64 = 0.618_033_988_749_895;
    let frac = (i as f64 * GOLDEN).fract();
    Options::default().poll_interval.mul_f64(frac)
}

/// One incident: a fresh network and daemon (started after `delay`); the primary goes
/// down at the start of our next turn after the warm-up; ends when the switch is accepted
/// and the daemon has reported it.
async fn latency_incident(
    lane: usize,
    delay: Duration,
    slow: Option<Duration>,
) -> anyhow::Result<LatencySample> {
    let n = LATENCY_PRODUCERS;
    let mut spec = NetworkSpec::new(n, ENDPOINTS);
    if let (Some(d), Some(last)) = (slow, spec.endpoints.last_mut()) {
        *last = Behavior::Slow(d);
    }
    place_ours(&mut spec.chain, lane % n);
    let index = our_index(&spec.chain);
    let genesis = spec.chain.genesis_slot;
    let outage = next_turn_start(genesis + (WARMUP_SECS * 2.0) as u32, n, index);
    spec.events.push(outage_event(genesis, outage));
    // The contract's schedule tick a few slots after the decision block (47 slots after
    // the first miss): the confirming turns decide, as `decision_slot` assumes. With the
    // tick earlier, the daemon may switch before the proposal (docs/decision.md), before
    // the block this benchmark times from exists; the blocks benchmark covers that case.
    let tick = spec.chain.schedule_tick_slots + 1;
    let tick_after_miss = 47 + 6;
    spec.chain.schedule_update_lag =
        (i64::from(genesis) + i64::from(tick) - i64::from(outage) - i64::from(tick_after_miss))
            .rem_euclid(i64::from(tick)) as u32;
    let net = Arc::new(Network::start(spec).await?);
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let (config, key) = daemon_config(&net, dir.path())?;
    let rule = Rule::new(&config.policy, n);
    let recorder = Recorder::default();
    let log = EventLog::to_writer(LogFormat::Json, false, Box::new(recorder.clone()));
    let daemon = Daemon::new(config, Options::default(), key, Arc::new(SystemClock), log)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let produced_at = Arc::new(Mutex::new(HashMap::new()));
    let stepper = tokio::spawn(drive(net.clone(), produced_at.clone(), stop_rx.clone()));
    tokio::time::sleep(delay).await;
    let daemon_task = tokio::spawn(daemon.run(stopped(stop_rx)));

    // The decision comes one rotation after the outage; allow another one.
    let deadline = outage + 2 * n as u32 * REPETITIONS + 2 * REPETITIONS;
    while net.key_switch_times().is_empty() && net.with_chain(|c| c.slot()) < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the daemon read the push's answer and report it (stopping cancels a round).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = stop_tx.send(true);
    let daemon_result = daemon_task.await;
    let _ = stepper.await;
    let accepted = net.key_switch_times().first().copied();
    let switches = net.key_switches();
    let produced = net.with_chain(|c| produced_from(c, outage));
    if let Ok(net) = Arc::try_unwrap(net) {
        net.shutdown().await;
    }
    daemon_result
        .map_err(|e| anyhow!("the daemon task failed: {e}"))?
        .context("the daemon stopped with an error")?;
    let Some((index_accepted, accepted)) = accepted else {
        bail!(
            "no key switch within {} slots of the outage",
            deadline - outage
        );
    };
    let decision =
        decision_slot(&produced, n, index, outage, rule).context("no decision block found")?;
    let produced_at = produced_at.lock().unwrap_or_else(|p| p.into_inner());
    let decided_at = *produced_at
        .get(&decision)
        .context("the decision block was not timed")?;
    let trigger = recorder.first("failover_triggered").map(|(t, _)| t);
    let pushed = recorder.first("transaction_pushed");
    let switch = switches.get(index_accepted);
    Ok(LatencySample {
        lane,
        first_missed_slot: outage,
        decision_slot: decision,
        accepted_at_head_slot: switch.map_or(0, |s| s.slot.saturating_sub(1)),
        decision_to_accept_ms: ms_between(decided_at, accepted),
        decision_to_trigger_ms: trigger.map(|t| ms_between(decided_at, t)),
        trigger_to_accept_ms: trigger.map(|t| ms_between(t, accepted)),
        push_round_trip_ms: pushed.and_then(|(_, v)| v["latency_ms"].as_u64()),
        switched_to: switch.and_then(|s| s.datacenter.clone()),
    })
}

// ---- 2. blocks lost ----------------------------------------------------------------------

/// Daemon options with every interval divided by the time scale.
fn scaled_options(scale: f64) -> Options {
    let d = Options::default();
    Options {
        poll_interval: d.poll_interval.div_f64(scale),
        schedule_every: d.schedule_every.div_f64(scale),
        table_every: d.table_every.div_f64(scale),
        readiness_every: d.readiness_every.div_f64(scale),
        ..d
    }
}

/// Proposal and activation of the backup key in the blocks from slot `from` on: the
/// proposal's slot as the chain recorded it, and the slot of the first block whose active
/// schedule gives our producer the backup key.
fn promotion<'a>(
    blocks: impl Iterator<Item = &'a Block>,
    our: Name,
    backup: &PublicKey,
    from: u32,
) -> (Option<u32>, Option<u32>) {
    let has_backup = |s: &crate::sim::chain::Schedule| {
        s.authority_of(our).is_some_and(|a| a.signable_by(backup))
    };
    let mut proposed = None;
    for b in blocks.filter(|b| b.slot >= from) {
        let s = &b.schedules;
        if proposed.is_none() {
            proposed = [&s.proposed, &s.pending]
                .into_iter()
                .flatten()
                .find(|p| has_backup(&p.schedule))
                .map(|p| p.proposed_slot);
        }
        if has_backup(&s.active) {
            return (proposed, Some(b.slot));
        }
    }
    (proposed, None)
}

/// Marks relative to `first_miss` from a chain that ran past the first backup block.
fn marks(chain: &Chain, first_miss: u32, index: usize, rule: Rule, accepted: Option<u32>) -> Marks {
    let n = chain.spec().producers.len();
    let our = chain.our_producer();
    let backup = chain.datacenters()[1].public_key();
    let produced = produced_from(chain, first_miss);
    let first_backup = chain
        .blocks_from(chain.oldest().num)
        .find(|b| b.slot >= first_miss && b.producer == our && b.signer == backup)
        .map(|b| b.slot);
    let (proposed, active) = promotion(
        chain.blocks_from(chain.oldest().num),
        our,
        &backup,
        first_miss,
    );
    let rel = |s: Option<u32>| s.map(|s| s.saturating_sub(first_miss));
    Marks {
        decision: rel(decision_slot(&produced, n, index, first_miss, rule)),
        accepted: rel(accepted),
        proposed: rel(proposed),
        active: rel(active),
        first_backup_block: rel(first_backup),
        lost: first_backup.map(|b| missed_slots(&produced, first_miss, b, n, index)),
    }
}

/// The minimum: the same chain, the backup key put in the producers table the instant the
/// decision block exists (no observation or push delay), as a transaction accepted then
/// would: it is in the next produced block, after that block's `onblock`, so the first
/// schedule update that can carry it is the block after that one's (`Chain::state_mut`).
fn oracle(spec: &ChainSpec, first_miss: u32, rule: Rule, limit: u32) -> Marks {
    let mut chain = Chain::new(spec.clone());
    let n = spec.producers.len();
    let index = our_index(spec);
    let our = spec.our_producer;
    let backup = chain.datacenters()[1].public_key();
    chain.advance_to(first_miss - 1);
    chain.set_datacenter(0, DcStatus::Down);
    let mut produced = Vec::new();
    let mut switched = None;
    for s in first_miss..=first_miss + limit {
        chain.advance_to(s);
        let head = chain.head();
        if head.slot == s {
            produced.push(s);
            if head.producer == our && head.signer == backup {
                break;
            }
        }
        if switched.is_none() && decision_slot(&produced, n, index, first_miss, rule).is_some() {
            if let Some(row) = chain.state_mut().producers.get_mut(&our) {
                row.producer_key = backup;
                row.producer_authority = Some(Authority::single(backup));
            }
            switched = Some(s);
        }
    }
    marks(&chain, first_miss, index, rule, switched)
}

/// Outages of the blocks benchmark: each consensus mode at phases of the contract's
/// schedule cadence spread over its 121 slots (the slots from the first missed slot to the
/// next schedule tick, 4 to 114), Savanna alternately at the start of our turn and 6 slots
/// into it.
fn blocks_cases() -> Vec<(Consensus, u32, u32)> {
    let phases = (4..SCHEDULE_TICK_SLOTS + 1).step_by(11);
    let savanna = phases
        .clone()
        .enumerate()
        .map(|(i, lag)| (Consensus::Savanna, if i % 2 == 0 { 6 } else { 0 }, lag));
    let legacy = phases.map(|lag| (Consensus::Legacy, 0, lag));
    savanna.chain(legacy).collect()
}

async fn blocks(time_scale: f64, parallel: usize) -> anyhow::Result<BlocksReport> {
    let mut cases = blocks_cases();
    // `BP_FAILOVER_BENCH_CASES=3,8`: only those outages (0-based, table order), to look
    // at one closely.
    if let Ok(only) = std::env::var("BP_FAILOVER_BENCH_CASES") {
        let keep: Vec<usize> = only
            .split(',')
            .map(|v| v.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .map_err(|_| anyhow!("BP_FAILOVER_BENCH_CASES={only:?}: expected indices like 3,8"))?;
        cases = cases
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep.contains(i))
            .map(|(_, c)| c)
            .collect();
    }
    eprintln!(
        "blocks: {} outages on {FULL_PRODUCERS}-producer networks at time scale {time_scale}, {parallel} at a time",
        cases.len(),
    );
    let policy = crate::decision::Policy::default();
    let rule = Rule::new(&policy, FULL_PRODUCERS);
    let mut incidents: Vec<BlocksSample> = Vec::with_capacity(cases.len());
    for batch in cases.chunks(parallel.max(1)) {
        let runs = batch
            .iter()
            .map(|&(c, k, lag)| async move { blocks_incident(c, k, lag, time_scale).await });
        incidents.extend(futures_util::future::join_all(runs).await);
    }
    let at_minimum = incidents
        .iter()
        .filter(|s| s.error.is_none() && s.daemon.lost.is_some() && s.daemon.lost == s.minimum.lost)
        .count();
    Ok(BlocksReport {
        producers: FULL_PRODUCERS,
        time_scale,
        schedule_tick_slots: crate::sim::chain::SCHEDULE_TICK_SLOTS,
        rule,
        minimum_rule: Rule::at_threshold(&policy),
        meets_minimum: at_minimum == incidents.len(),
        at_minimum,
        incidents,
    })
}

fn consensus_name(c: Consensus) -> &'static str {
    match c {
        Consensus::Savanna => "savanna",
        Consensus::Legacy => "legacy",
    }
}

async fn blocks_incident(
    consensus: Consensus,
    offset: u32,
    phase: u32,
    time_scale: f64,
) -> BlocksSample {
    let n = FULL_PRODUCERS;
    let mut spec = NetworkSpec::new(n, ENDPOINTS);
    spec.chain.consensus = consensus;
    if consensus == Consensus::Legacy {
        // Legacy LIB needs a few rotations of history to settle.
        spec.chain.warmup_slots = spec.chain.warmup_slots.max(n as u32 * REPETITIONS * 4);
    }
    spec.clock = SimClock::RealTime { time_scale };
    let index = our_index(&spec.chain);
    let genesis = spec.chain.genesis_slot;
    let warm = ((WARMUP_SECS * 2.0 * time_scale) as u32).max(2 * REPETITIONS);
    let first_miss = next_turn_start(genesis + warm, n, index) + offset;
    spec.events.push(outage_event(genesis, first_miss));
    let rule = Rule::new(&Default::default(), n);
    let tick = spec.chain.schedule_tick_slots + 1;
    // The contract's last update before the network starts, chosen so that a tick (the
    // slot of the block before a proposing one) falls `phase` slots after the first miss.
    spec.chain.schedule_update_lag =
        (i64::from(genesis) + i64::from(tick) - i64::from(first_miss) - i64::from(phase))
            .rem_euclid(i64::from(tick)) as u32;
    let phase = spec.chain.schedule_update_lag;
    let first_tick = genesis - phase + tick;
    let next_tick = first_tick + first_miss.saturating_sub(first_tick).div_ceil(tick) * tick;
    // Legacy promotion waits for LIB twice (≈ 340 blocks each with 21 producers).
    let limit = match consensus {
        Consensus::Savanna => 3 * n as u32 * REPETITIONS,
        Consensus::Legacy => 12 * n as u32 * REPETITIONS,
    };
    let minimum = oracle(
        &spec.chain,
        first_miss,
        Rule::at_threshold(&Default::default()),
        limit,
    );
    let mut sample = BlocksSample {
        consensus: consensus_name(consensus),
        outage_offset: offset,
        schedule_phase: phase,
        next_tick_after_outage: next_tick - first_miss,
        first_missed_slot: first_miss,
        daemon: Marks {
            decision: None,
            accepted: None,
            proposed: None,
            active: None,
            first_backup_block: None,
            lost: None,
        },
        minimum,
        error: None,
    };
    let label = format!(
        "{}-{offset}-{}",
        consensus_name(consensus),
        next_tick - first_miss
    );
    match blocks_run(spec, first_miss, index, rule, limit, time_scale, label).await {
        Ok(m) => sample.daemon = m,
        Err(e) => sample.error = Some(format!("{e:#}")),
    }
    eprintln!(
        "blocks: {} outage {offset} slots into our turn, schedule tick {} slots after it: {} of our slots lost (minimum {})",
        sample.consensus,
        sample.next_tick_after_outage,
        sample
            .daemon
            .lost
            .map_or("?".to_string(), |v| v.to_string()),
        sample
            .minimum
            .lost
            .map_or("?".to_string(), |v| v.to_string()),
    );
    sample
}

async fn blocks_run(
    spec: NetworkSpec,
    first_miss: u32,
    index: usize,
    rule: Rule,
    limit: u32,
    time_scale: f64,
    label: String,
) -> anyhow::Result<Marks> {
    let net = Network::start(spec).await?;
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let (config, key) = daemon_config(&net, dir.path())?;
    let daemon = Daemon::new(
        config,
        scaled_options(time_scale),
        key,
        Arc::new(net.shared()),
        EventLog::to_writer(LogFormat::Json, false, events_out(&label)?),
    )?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let daemon_task = tokio::spawn(daemon.run(stopped(stop_rx)));
    let (our, backup) = net.with_chain(|c| (c.our_producer(), c.datacenters()[1].public_key()));
    let done = |c: &Chain| {
        c.head().slot > first_miss + limit
            || c.blocks_from(c.oldest().num)
                .any(|b| b.slot >= first_miss && b.producer == our && b.signer == backup)
    };
    while !net.with_chain(done) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_tx.send(true);
    daemon_task
        .await
        .map_err(|e| anyhow!("the daemon task failed: {e}"))?
        .context("the daemon stopped with an error")?;
    let accepted = net.key_switches().first().map(|s| s.slot.saturating_sub(1));
    let m = net.with_chain(|c| marks(c, first_miss, index, rule, accepted));
    net.shutdown().await;
    if m.first_backup_block.is_none() {
        bail!("the backup did not produce within {limit} slots of the outage");
    }
    Ok(m)
}

/// Where a blocks-lost run's daemon writes its event log: nowhere, or with
/// `BP_FAILOVER_BENCH_EVENTS=DIR` a file per run in DIR named after its case, e.g.
/// `blocks-savanna-0-15.jsonl` (to see why a run lost more than the minimum).
fn events_out(label: &str) -> anyhow::Result<Box<dyn Write + Send>> {
    let Some(dir) = std::env::var_os("BP_FAILOVER_BENCH_EVENTS") else {
        return Ok(Box::new(std::io::sink()));
    };
    let path = Path::new(&dir).join(format!("blocks-{label}.jsonl"));
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create the event log {}", path.display()))?;
    Ok(Box::new(std::io::LineWriter::new(file)))
}

// ---- 3. cost -------------------------------------------------------------------------------

fn clock_ticks_per_sec() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(100.0)
}

fn proc_ticks(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_stat_ticks(&text).with_context(|| format!("cannot parse {path}"))
}

fn proc_status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_status_kib(&text, field).with_context(|| format!("no {field} in {path}"))
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

async fn cost(
    window_secs: u64,
    flap_schedule: bool,
    fail_block_reads: bool,
) -> anyhow::Result<CostReport> {
    eprintln!(
        "cost: `bp-failover run` in a child process against {FULL_PRODUCERS} producers at 2 blocks/s on {ENDPOINTS} endpoints: {COST_WARMUP_SECS} s warm-up, {window_secs} s sampled"
    );
    let mut spec = NetworkSpec::new(FULL_PRODUCERS, ENDPOINTS);
    spec.clock = SimClock::RealTime { time_scale: 1.0 };
    if flap_schedule {
        eprintln!("cost: every endpoint serves an active schedule that changes every slot");
        spec.endpoints = vec![Behavior::Lie(crate::sim::Lie::FlapSchedule); ENDPOINTS];
    }
    if fail_block_reads {
        eprintln!("cost: every endpoint fails every block read");
        spec.endpoints = vec![Behavior::Lie(crate::sim::Lie::FailBlockReads); ENDPOINTS];
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
    let exe = std::env::current_exe().context("cannot find this program's executable")?;
    let child = std::process::Command::new(&exe)
        .arg("run")
        .arg("-c")
        .arg(&config_path)
        .args(["--log-format", "json"])
        .stdin(Stdio::null())
        .stdout(events)
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("cannot start {} run", exe.display()))?;
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
        blocks_per_sec: 2.0,
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

// ---- text output -------------------------------------------------------------------------

fn verdict(ok: bool) -> &'static str {
    if ok {
        "meets target"
    } else {
        "MISSES TARGET"
    }
}

fn opt(v: Option<u32>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

fn text(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let m = &r.machine;
    let _ = writeln!(
        o,
        "bp-failover bench {} ({} build), {} CPU{}{}",
        m.version,
        if m.release_build { "release" } else { "debug" },
        m.cpus,
        if m.cpus == 1 { "" } else { "s" },
        m.cpu_model
            .as_ref()
            .map_or(String::new(), |c| format!(" ({c})"))
    );
    if let Some(l) = &r.latency {
        let _ = writeln!(
            o,
            "\n1. Decision-to-push latency: {} incidents, {}-producer {} schedule, time scale {}, poll {} ms, {} at a time",
            l.incidents, l.producers, l.consensus, l.time_scale, l.poll_interval_ms, l.parallel
        );
        if let Some(ms) = l.slow_endpoint_ms {
            let _ = writeln!(
                o,
                "   degraded: endpoint {ENDPOINTS} of {ENDPOINTS} answers every request after {ms} ms"
            );
        }
        let _ = writeln!(
            o,
            "   {:<44} {:>8} {:>8} {:>8} {:>8}",
            "(ms)", "min", "median", "p90", "max"
        );
        let rows = [
            ("decision block → switch accepted", &l.decision_to_accept_ms),
            (
                "  decision block → failover_triggered",
                &l.decision_to_trigger_ms,
            ),
            ("  failover_triggered → accepted", &l.trigger_to_accept_ms),
            (
                "  push round trip (transaction_pushed)",
                &l.push_round_trip_ms,
            ),
        ];
        for (name, s) in rows {
            if let Some(s) = s {
                let _ = writeln!(
                    o,
                    "   {name:<44} {:>8.0} {:>8.0} {:>8.0} {:>8.0}",
                    s.min, s.median, s.p90, s.max
                );
            }
        }
        let _ = writeln!(
            o,
            "   target: median ≤ {:.0} ms, max ≤ {:.0} ms: {}",
            l.target_median_ms,
            l.target_max_ms,
            verdict(l.meets_target)
        );
        for f in &l.failed {
            let _ = writeln!(o, "   failed incident: {f}");
        }
    }
    if let Some(b) = &r.blocks {
        let _ = writeln!(
            o,
            "\n2. Blocks lost per primary outage: {} producers, time scale {}, schedule tick {} slots, missed_blocks {}, confirm_turns {}",
            b.producers, b.time_scale, b.schedule_tick_slots, b.rule.missed_blocks, b.rule.confirm_turns
        );
        let _ = writeln!(
            o,
            "   slots after the first missed slot (500 ms each); daemon / minimum (a push the instant {} misses are knowable)",
            b.minimum_rule.missed_blocks
        );
        let _ = writeln!(
            o,
            "   {:<9} {:>6} {:>5} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
            "consensus",
            "offset",
            "tick",
            "lost",
            "decision",
            "accepted",
            "proposed",
            "active",
            "1st backup"
        );
        for s in &b.incidents {
            let pair = |a: Option<u32>, b: Option<u32>| format!("{} / {}", opt(a), opt(b));
            let (d, mn) = (&s.daemon, &s.minimum);
            let _ = writeln!(
                o,
                "   {:<9} {:>6} {:>5} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
                s.consensus,
                s.outage_offset,
                s.next_tick_after_outage,
                pair(d.lost, mn.lost),
                pair(d.decision, mn.decision),
                pair(d.accepted, mn.accepted),
                pair(d.proposed, mn.proposed),
                pair(d.active, mn.active),
                pair(d.first_backup_block, mn.first_backup_block),
            );
            if let Some(e) = &s.error {
                let _ = writeln!(o, "   error: {e}");
            }
        }
        let _ = writeln!(
            o,
            "   daemon loses exactly the minimum in {} of {} outages: {}",
            b.at_minimum,
            b.incidents.len(),
            if b.meets_minimum { "yes" } else { "NO" }
        );
    }
    if let Some(c) = &r.cost {
        let _ = writeln!(
            o,
            "\n3. Cost of watching {} producers at {} blocks/s on {} endpoints (+{} data center nodes), {:.0} s after {} s warm-up",
            c.producers, c.blocks_per_sec, c.endpoints, c.datacenter_nodes, c.window_secs, c.warmup_secs
        );
        let _ = writeln!(
            o,
            "   CPU          {:>6.2} % of one core ({:.2} s; {:.2} % since start)   target ≤ {} %",
            c.cpu_percent_of_one_core,
            c.cpu_seconds,
            c.cpu_percent_since_start,
            c.target_cpu_percent
        );
        let _ = writeln!(
            o,
            "   peak RSS     {:>6.1} MiB (VmHWM; {:.1} MiB at the end)   target ≤ {} MiB",
            c.peak_rss_mib, c.rss_mib_at_end, c.target_rss_mib
        );
        let _ = writeln!(
            o,
            "   requests     {:>6.1} /s to the endpoints and nodes; failovers: {}",
            c.requests_per_sec, c.failovers
        );
        let per: Vec<String> = c
            .requests_per_sec_by_endpoint
            .iter()
            .map(|r| format!("{r:.1}"))
            .collect();
        let _ = writeln!(o, "   per endpoint {} /s", per.join(", "));
        let paths: Vec<String> = c
            .requests_per_sec_by_path
            .iter()
            .map(|(p, r)| format!("{} {r:.2}", p.trim_start_matches("/v1/chain/")))
            .collect();
        let _ = writeln!(
            o,
            "   by path      {} (/s, all endpoints)",
            paths.join(", ")
        );
        let _ = writeln!(o, "   {}", verdict(c.meets_target));
    }
    let _ = writeln!(o, "\nran for {:.0} s", r.elapsed_secs);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7.0], 0.9), Some(7.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 10.0], 0.5), Some(2.5));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 10.0], 1.0), Some(10.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 10.0], 0.0), Some(1.0));
        let v: Vec<f64> = (0..=10).map(f64::from).collect();
        assert!((quantile(&v, 0.9).unwrap() - 9.0).abs() < 1e-9);
        let s = Summary::of(&[3.0, 1.0, f64::NAN, 2.0, 10.0]).unwrap();
        assert_eq!(
            (s.n, s.min, s.median, s.max, s.mean),
            (4, 1.0, 2.5, 10.0, 4.0)
        );
        assert!(Summary::of(&[]).is_none());
    }

    /// Every slot of `0..end` produced except those of producer `index` from `down` on.
    fn chain_with_outage(n: usize, index: usize, down: u32, end: u32) -> Vec<u32> {
        (0..end)
            .filter(|&s| s < down || scheduled_index(s, n) != index)
            .collect()
    }

    #[test]
    fn start_delays_cover_the_poll_interval() {
        let poll = Options::default().poll_interval;
        let mut d: Vec<Duration> = (0..20).map(start_delay).collect();
        assert!(d.iter().all(|x| *x < poll));
        d.sort();
        // Twenty delays leave no gap wider than a fifth of the interval.
        let widest = d.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(widest <= poll / 5, "{widest:?}");
    }

    #[test]
    fn turn_starts() {
        // 4 producers: index 1 owns slots 12..24 of every 48.
        assert_eq!(next_turn_start(0, 4, 1), 12);
        assert_eq!(next_turn_start(12, 4, 1), 12);
        assert_eq!(next_turn_start(13, 4, 1), 60);
        assert_eq!(next_turn_start(50, 4, 0), 96);
    }

    #[test]
    fn decision_needs_the_threshold_and_the_confirming_turns() {
        let rule = Rule {
            missed_blocks: 12,
            confirm_turns: 3,
        };
        // Down at our turn start (slot 60): 12 misses 60..71, shown by block 72; then the
        // turns 72, 84 and 96 of the others, complete at slot 107.
        let p = chain_with_outage(4, 1, 60, 200);
        assert_eq!(decision_slot(&p, 4, 1, 60, rule), Some(107));
        // Not there yet while the third turn is running.
        let short: Vec<u32> = p.iter().copied().filter(|s| *s < 107).collect();
        assert_eq!(decision_slot(&short, 4, 1, 60, rule), None);
        // Down 6 slots into our turn: 6 misses, then 6 more in the next turn (108..113),
        // only shown by the next producer's first block at 120.
        let p = chain_with_outage(4, 1, 66, 200);
        assert_eq!(decision_slot(&p, 4, 1, 66, rule), Some(120));
        // A block of ours restarts the run.
        let mut p = chain_with_outage(4, 1, 60, 300);
        p.push(65);
        p.sort_unstable();
        assert_eq!(decision_slot(&p, 4, 1, 60, rule), Some(120));
        // 21 producers (ours at index 10): the confirming turns finish long before our
        // next turn, so the decision is 47 slots after the first miss.
        let first = next_turn_start(1000, 21, 10);
        let p = chain_with_outage(21, 10, first, first + 600);
        let rule = Rule::new(&crate::decision::Policy::default(), 21);
        assert_eq!(decision_slot(&p, 21, 10, first, rule), Some(first + 47));
    }

    #[test]
    fn blocks_lost_counts_our_missed_slots_only() {
        let p = chain_with_outage(4, 1, 66, 300);
        // Our slots 66..72 and 108..120 are missed before 156 (our next turn starts there).
        assert_eq!(missed_slots(&p, 66, 156, 4, 1), 18);
        // Others' slots are never counted, produced or not.
        assert_eq!(missed_slots(&p, 72, 108, 4, 1), 0);
        // Our produced slots are not lost.
        assert_eq!(missed_slots(&p, 0, 66, 4, 1), 0);
        // 21 producers, down at a turn start, backup active before the next turn: one turn.
        let first = next_turn_start(1000, 21, 10);
        let p = chain_with_outage(21, 10, first, first + 600);
        assert_eq!(missed_slots(&p, first, first + 252, 21, 10), 12);
    }

    #[test]
    fn proc_files_parse() {
        let stat = "4242 (bp-failover (x)) S 1 4242 4242 0 -1 4194560 1500 0 0 0 \
                    123 45 0 0 20 0 3 0 987 123456 2000 18446744073709551615";
        assert_eq!(parse_stat_ticks(stat), Some(168));
        assert_eq!(parse_stat_ticks("garbage"), None);
        let status =
            "Name:\tbp-failover\nVmPeak:\t  50000 kB\nVmHWM:\t    9876 kB\nVmRSS:\t    9000 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(9876));
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(9000));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }
}
