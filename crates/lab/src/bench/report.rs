//! What the benchmarks report: one object (`--json`) with a section per benchmark.

use serde::Serialize;

use super::slots::Rule;
use super::stats::Summary;

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) machine: Machine,
    pub(crate) latency: Option<LatencyReport>,
    pub(crate) blocks: Option<BlocksReport>,
    pub(crate) cost: Option<CostReport>,
    pub(crate) elapsed_secs: f64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Machine {
    pub(crate) cpus: usize,
    pub(crate) cpu_model: Option<String>,
    pub(crate) release_build: bool,
    pub(crate) version: &'static str,
}

impl Machine {
    pub(crate) fn this() -> Self {
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            }),
            release_build: !cfg!(debug_assertions),
            version: bp_failover::VERSION_LONG,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct LatencySample {
    /// Which lane (and so which schedule position of our producer) ran it.
    pub(crate) lane: usize,
    pub(crate) first_missed_slot: u32,
    pub(crate) decision_slot: u32,
    /// The slot whose block was the head when the switch was accepted.
    pub(crate) accepted_at_head_slot: u32,
    /// Decision block produced → switch accepted by the simulator.
    pub(crate) decision_to_accept_ms: f64,
    /// Decision block produced → `failover_triggered` emitted (observation).
    pub(crate) decision_to_trigger_ms: Option<f64>,
    /// `failover_triggered` → accepted (row re-read, build, sign, state file, push).
    pub(crate) trigger_to_accept_ms: Option<f64>,
    /// `transaction_pushed.latency_ms`: the push's HTTP round trip as the daemon saw it.
    pub(crate) push_round_trip_ms: Option<u64>,
    pub(crate) switched_to: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct LatencyReport {
    pub(crate) producers: usize,
    pub(crate) consensus: &'static str,
    pub(crate) time_scale: f64,
    pub(crate) poll_interval_ms: u64,
    pub(crate) incidents: usize,
    pub(crate) parallel: usize,
    /// The third endpoint answered after this long (degraded run), if set.
    pub(crate) slow_endpoint_ms: Option<u64>,
    pub(crate) rule: Rule,
    pub(crate) decision_to_accept_ms: Option<Summary>,
    pub(crate) decision_to_trigger_ms: Option<Summary>,
    pub(crate) trigger_to_accept_ms: Option<Summary>,
    pub(crate) push_round_trip_ms: Option<Summary>,
    pub(crate) target_median_ms: f64,
    pub(crate) target_max_ms: f64,
    pub(crate) meets_target: bool,
    pub(crate) failed: Vec<String>,
    pub(crate) samples: Vec<LatencySample>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Marks {
    /// Slots after the first missed slot (0 = first miss).
    pub(crate) decision: Option<u32>,
    pub(crate) accepted: Option<u32>,
    pub(crate) proposed: Option<u32>,
    pub(crate) active: Option<u32>,
    pub(crate) first_backup_block: Option<u32>,
    /// Our scheduled slots missed from the first miss to the first backup block.
    pub(crate) lost: Option<u32>,
}

#[derive(Debug, Serialize)]
pub(crate) struct BlocksSample {
    pub(crate) consensus: &'static str,
    /// Slots into our turn at which the primary went down (0: at the turn's start).
    pub(crate) outage_offset: u32,
    /// Slots between the contract's last schedule update and the network's start: the
    /// phase of the cadence.
    pub(crate) schedule_phase: u32,
    /// The first slot of the schedule update after the outage began, relative to it.
    pub(crate) next_tick_after_outage: u32,
    pub(crate) first_missed_slot: u32,
    pub(crate) daemon: Marks,
    /// The same chain with the key switched the instant the policy allows.
    pub(crate) minimum: Marks,
    pub(crate) error: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct BlocksReport {
    pub(crate) producers: usize,
    pub(crate) time_scale: f64,
    pub(crate) schedule_tick_slots: u32,
    /// The daemon's policy.
    pub(crate) rule: Rule,
    /// The minimum's: a push the instant `missed_blocks` misses are knowable.
    pub(crate) minimum_rule: Rule,
    pub(crate) incidents: Vec<BlocksSample>,
    /// Incidents where the daemon lost exactly the minimum.
    pub(crate) at_minimum: usize,
    pub(crate) meets_minimum: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct CostReport {
    pub(crate) producers: usize,
    pub(crate) endpoints: usize,
    pub(crate) datacenter_nodes: usize,
    pub(crate) blocks_per_sec: f64,
    pub(crate) warmup_secs: u64,
    pub(crate) window_secs: f64,
    pub(crate) cpu_seconds: f64,
    pub(crate) cpu_percent_of_one_core: f64,
    /// Including warm-up (backfill), from process start to the end of the window.
    pub(crate) cpu_percent_since_start: f64,
    pub(crate) peak_rss_mib: f64,
    pub(crate) rss_mib_at_end: f64,
    pub(crate) requests_per_sec: f64,
    /// Requests per second to each endpoint (not counting the data centers' nodes).
    pub(crate) requests_per_sec_by_endpoint: Vec<f64>,
    /// Requests per second to all endpoints together, by API path.
    pub(crate) requests_per_sec_by_path: std::collections::BTreeMap<String, f64>,
    pub(crate) failovers: usize,
    /// Every endpoint served a schedule changing every slot.
    pub(crate) flapping_schedule: bool,
    /// Every endpoint failed every block read.
    pub(crate) failing_block_reads: bool,
    pub(crate) target_cpu_percent: f64,
    pub(crate) target_rss_mib: f64,
    pub(crate) meets_target: bool,
}
