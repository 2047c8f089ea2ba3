//! The blocks benchmark (section 2 of the report): blocks lost per primary outage on
//! 21-producer networks at a time scale, the daemon against an oracle replay of the same
//! chain that switches the key the instant the policy allows.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use antelope::time::PRODUCER_REPETITIONS;
use antelope::{Name, PublicKey};
use antelope_sim::chain::{
    Block, Chain, ChainSpec, Consensus, DcStatus, Schedule, SCHEDULE_TICK_SLOTS,
};
use antelope_sim::network::{Clock as SimClock, Network, NetworkSpec};
use antelope_sim::system::Authority;
use anyhow::{anyhow, bail, Context};
use bp_failover::daemon::{Daemon, Options};
use bp_failover::events::{EventLog, LogFormat};
use failover_core::decision::Policy;
use tokio::sync::watch;

use super::harness::{daemon_config, our_index, outage_event, produced_from, stopped};
use super::report::{BlocksReport, BlocksSample, Marks};
use super::slots::{decision_slot, missed_slots, next_turn_start, slots_in, Rule};
use super::{ENDPOINTS, FULL_PRODUCERS, WARMUP_SECS};

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
    let has_backup = |s: &Schedule| s.authority_of(our).is_some_and(|a| a.signable_by(backup));
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

pub(crate) async fn blocks(time_scale: f64, parallel: usize) -> anyhow::Result<BlocksReport> {
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
    let policy = Policy::default();
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
        schedule_tick_slots: SCHEDULE_TICK_SLOTS,
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
        spec.chain.warmup_slots = spec
            .chain
            .warmup_slots
            .max(n as u32 * PRODUCER_REPETITIONS * 4);
    }
    spec.clock = SimClock::RealTime { time_scale };
    let index = our_index(&spec.chain);
    let genesis = spec.chain.genesis_slot;
    let warm = slots_in(WARMUP_SECS * time_scale).max(2 * PRODUCER_REPETITIONS);
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
        Consensus::Savanna => 3 * n as u32 * PRODUCER_REPETITIONS,
        Consensus::Legacy => 12 * n as u32 * PRODUCER_REPETITIONS,
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
