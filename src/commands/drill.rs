//! `bp-failover drill`: a failover rehearsed end to end on this machine, with no config
//! and no network access, narrated for an operator, then judged.
//!
//! A built-in scenario's simulated network ([`crate::sim`]) and the real [`Daemon`] run in
//! one process. The drill renders a config and a fresh observer key (mode 0600) into a
//! temporary directory, and the daemon reads chain time (`Network::shared`) as its clock.
//! The two run in lockstep, as `tests/sim_daemon.rs` does: the drill advances the chain
//! one 500 ms slot, then runs one polling round of every observer, at `--time-scale` times
//! real speed. A slow machine makes the drill slower, never different: the daemon always
//! sees the chain of the current slot, so its decisions and the timings in chain seconds
//! do not depend on the speed.
//!
//! The run lasts the scenario's length; after a key switch it goes on until the new key
//! signs a block (at most one more rotation), so that the report can count the blocks lost.
//!
//! The narration comes from the daemon's event stream ([`EventLog::subscribe`]), in plain
//! words, plus what happened in the simulated world (the scenario's scripted changes, the
//! first block signed with the new key). Times are chain seconds from the start of the
//! incident (the first scripted change after the start). The report's "blocks lost" and
//! "first missed slot" come from the simulated chain itself, the ground truth.
//!
//! Exit code: 0 when the outcome matches the scenario's expectation
//! ([`Scenario::check`]), 1 otherwise (or when interrupted).

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::future::join_all;
use serde::Serialize;

use super::run::shutdown_signal;
use super::simulate::{build_scenario, expect_text, network_lines, output_dir, write_config};
use crate::antelope::BlockTimestamp;
use crate::cli::DrillArgs;
use crate::config;
use crate::daemon::{Daemon, Options};
use crate::decision::Policy;
use crate::drill::scenario::{self, Params};
use crate::drill::{Expect, Scenario};
use crate::events::{ConsensusMode, Event, EventLog, LogFormat, QuorumStatus};
use crate::quorum::{QuorumView, Verdict};
use crate::sim::chain::REPETITIONS;
use crate::sim::{Clock, Consensus, Network};

/// Width the narration wraps at.
const WIDTH: usize = 100;

/// Our producer's next turn begins this many slots after the incident starts (two turns,
/// 12 s), the same in every run of a scenario.
const INCIDENT_LEAD_SLOTS: u32 = 2 * REPETITIONS;

/// Slot (from the start) of the incident: the first scripted change after the start, or
/// the start.
fn incident_at(events: &[crate::sim::Event]) -> u32 {
    events
        .iter()
        .map(|e| e.at)
        .filter(|at| *at > 0)
        .min()
        .unwrap_or(0)
}

/// The first start slot at or after `chain`'s that puts the first slot of our producer's
/// turn `lead` slots after the incident (at `incident_at` slots from the start). Every
/// run of a scenario then tells the same story with the same timings: otherwise where in
/// the rotation the chain starts (the wall clock) decides whether the primary dies just
/// before our turn or in the middle of it. The chain runs on chain time, so starting up
/// to one rotation ahead of the wall clock changes nothing else.
fn aligned_start(chain: &crate::sim::ChainSpec, incident_at: u32, lead: u32) -> u32 {
    let now = chain.genesis_slot;
    let n = u32::try_from(chain.producers.len()).unwrap_or(1).max(1);
    let rotation = n * REPETITIONS;
    let ours = chain
        .producers
        .iter()
        .position(|p| *p == chain.our_producer)
        .map_or(0, |i| i as u32);
    let first = now.wrapping_add(incident_at).wrapping_add(lead) % rotation;
    now + (ours * REPETITIONS + rotation - first) % rotation
}

pub async fn run(args: DrillArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        print_list(args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    init_quiet_tracing();
    let mut scenario = build_scenario(&args.network, Clock::Manual)?;
    let chain = &mut scenario.spec.chain;
    chain.genesis_slot = aligned_start(
        chain,
        incident_at(&scenario.spec.events),
        INCIDENT_LEAD_SLOTS,
    );
    let (dir, temp) = output_dir(args.out.as_deref(), "bp-failover-drill-")?;
    let mut out = Out { quiet: args.json };
    let keep = temp.is_none();
    let report = drill(&scenario, &dir, keep, args.time_scale, &mut out).await?;
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

#[derive(Serialize)]
struct Listed {
    name: &'static str,
    expect: String,
    description: &'static str,
}

fn print_list(json: bool) -> anyhow::Result<()> {
    let params = Params {
        start_slot: 1_000_000,
        ..Params::default()
    };
    let listed: Vec<Listed> = scenario::list()
        .into_iter()
        .map(|(name, description)| Listed {
            name,
            expect: scenario::builtin(name, &params)
                .map(|s| short_expect(&s.expect))
                .unwrap_or_default(),
            description,
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&listed)?)?;
        return Ok(());
    }
    let width = listed.iter().map(|l| l.name.len()).max().unwrap_or(0);
    for l in &listed {
        writeln!(
            out,
            "{:<width$}  {:<11}  {}",
            l.name,
            l.expect,
            first_sentence(l.description)
        )?;
    }
    writeln!(
        out,
        "\nrun one: bp-failover drill --scenario NAME (default: {})",
        listed.first().map_or("", |l| l.name)
    )?;
    Ok(())
}

fn short_expect(e: &Expect) -> String {
    match e {
        Expect::NoSwitch => "no switch".into(),
        Expect::Switch { to, .. } => format!("→ {to}"),
    }
}

/// The first sentence of a description ("… synced. The observer …" → "… synced.").
fn first_sentence(text: &str) -> &str {
    let b = text.as_bytes();
    for i in 0..b.len().saturating_sub(2) {
        if b[i] == b'.' && b[i + 1] == b' ' && b[i + 2].is_ascii_uppercase() {
            return &text[..=i];
        }
    }
    text
}

/// Where the narration goes (nowhere with `--json`).
struct Out {
    quiet: bool,
}

impl Out {
    fn print(&mut self, text: &str) {
        if !self.quiet {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{text}");
            let _ = o.flush();
        }
    }
}

/// One observer: the real daemon and its event stream.
struct Observer {
    daemon: Daemon,
    events: tokio::sync::mpsc::UnboundedReceiver<Event>,
}

/// What one observer's view showed after its last round.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    agreeing: usize,
    configured: usize,
    lib: Option<u32>,
}

impl Seen {
    fn of(view: Option<&QuorumView>) -> Seen {
        view.map_or_else(Seen::default, |v| Seen {
            agreeing: v
                .endpoints
                .iter()
                .filter(|e| e.verdict == Verdict::Agrees)
                .count(),
            configured: v.configured,
            lib: v.quorum().map(|q| q.lib.num),
        })
    }
}

/// The drill's result, printed at the end (`--json`: the only output).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub producers: usize,
    pub consensus: String,
    pub observers: usize,
    pub time_scale: f64,
    /// Chain seconds simulated, and wall-clock seconds it took.
    pub chain_secs: f64,
    pub wall_secs: f64,
    pub expected: String,
    pub actual: String,
    /// The outcome matched the expectation: the exit code is 0.
    pub passed: bool,
    /// Why it did not, from the scenario's check.
    pub mismatch: Option<String>,
    pub interrupted: bool,
    /// Chain seconds from the start of the incident to our first missed slot.
    pub first_missed_slot_at: Option<f64>,
    /// Chain seconds from our first missed slot to `failover_triggered`.
    pub detection_secs: Option<f64>,
    /// Chain seconds from our first missed slot to each milestone.
    pub transaction_pushed_secs: Option<f64>,
    pub key_registered_secs: Option<f64>,
    pub key_change_confirmed_secs: Option<f64>,
    pub first_new_key_block_secs: Option<f64>,
    /// The data center whose key signed our first block after the first miss, when it
    /// is not the primary.
    pub new_key_datacenter: Option<String>,
    /// Our scheduled slots missed from the first miss to the first block signed with the
    /// new key (to the end of the run when there is none).
    pub blocks_lost: u32,
    /// Transactions the observers pushed (ids).
    pub transaction_ids: Vec<String>,
    /// Accepted transactions that changed our registered key.
    pub key_changes_on_chain: usize,
    /// Reasons the observers held back, with their explanation.
    pub holds: Vec<Hold>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hold {
    pub reason: String,
    pub detail: String,
    pub why: String,
}

/// `n` daemons on `net`, each with its config and key rendered into `dir` (or a
/// subdirectory per observer), reading chain time; and their (default) policy.
fn start_observers(
    s: &Scenario,
    net: &Network,
    dir: &Path,
    n: usize,
    time_scale: f64,
) -> anyhow::Result<(Vec<Observer>, Policy)> {
    let mut observers = Vec::new();
    let mut policy = Policy::default();
    // The drill calls `tick` once per slot itself; the interval `run` would use, scaled.
    let opts = Options {
        poll_interval: Duration::from_secs_f64(0.25 / time_scale),
        ..Options::default()
    };
    for i in 0..n {
        let d = if n > 1 {
            let d = dir.join(format!("observer{}", i + 1));
            std::fs::create_dir_all(&d)
                .with_context(|| format!("cannot create directory {}", d.display()))?;
            d
        } else {
            dir.to_path_buf()
        };
        let path = write_config(net, &s.config_options(i, &d))?;
        let loaded = config::load(&path)?;
        let key = loaded
            .config
            .producer
            .key
            .load()
            .context("cannot load the drill's failover key")?;
        policy = loaded.config.policy.clone();
        // No output of its own: the narration is the output.
        let log = EventLog::to_writer(LogFormat::Json, true, Box::new(std::io::sink()));
        let events = log.subscribe();
        let clock = Arc::new(net.shared());
        let daemon = Daemon::new(loaded.config, opts.clone(), key, clock, log)?;
        observers.push(Observer { daemon, events });
    }
    Ok((observers, policy))
}

/// Runs `s` to its end (or Ctrl-C) with the narration on `out`, and judges it. `keep`:
/// `dir` stays after the drill.
async fn drill(
    s: &Scenario,
    dir: &Path,
    keep: bool,
    time_scale: f64,
    out: &mut Out,
) -> anyhow::Result<Report> {
    let wall = std::time::Instant::now();
    let net = Network::start(s.spec.clone())
        .await
        .context("cannot start the simulated network")?;
    let start_slot = {
        let w = net.world();
        w.main().slot() - w.elapsed_slots()
    };
    let mut script = s.spec.events.clone();
    script.sort_by_key(|e| e.at);
    let incident_ms = slot_ms(start_slot + incident_at(&script));

    s.prepare(&net)
        .map_err(|e| anyhow::anyhow!("cannot set up the scenario's k-of-n observers: {e}"))?;
    let n_obs = s.running_observers().max(1);
    let (mut observers, policy) = start_observers(s, &net, dir, n_obs, time_scale)?;
    let our = s.spec.chain.our_producer.to_string();
    let dc_names: Vec<String> = s.spec.chain.datacenters.clone();
    out.print(&intro(s, &net, &policy, time_scale, n_obs, dir, keep));
    let mut narrator = Narrator::new(incident_ms, our.clone(), policy.clone(), n_obs);
    narrator.endpoints = net.endpoint_urls();

    let period = Duration::from_secs_f64(0.5 / time_scale);
    let mut pace = tokio::time::interval(period);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = shutdown_signal();
    tokio::pin!(stop);
    let mut interrupted = false;
    let mut next_script = 0;
    let mut scanned = net.with_chain(|c| c.head().num);
    let mut our_dc: Option<usize> = Some(0);
    // After a switch, watch until the new key signs a block (blocks lost are counted up to
    // it), at most one more rotation past the scenario's length.
    let rotation = s.spec.chain.producers.len() as u32 * REPETITIONS;
    let mut resumed = false;
    let mut first_miss_told = false;
    loop {
        let elapsed = net.elapsed_slots();
        let switched = || net.key_switches().iter().any(|k| k.changed);
        let extend = !resumed && elapsed < s.run_slots + rotation + REPETITIONS && switched();
        if elapsed >= s.run_slots && !extend {
            break;
        }
        tokio::select! {
            _ = &mut stop => { interrupted = true; break; }
            _ = pace.tick() => {}
        }
        net.step(1);
        let elapsed = net.elapsed_slots();
        while let Some(e) = script.get(next_script).filter(|e| e.at <= elapsed) {
            narrator.say(
                out,
                slot_ms(start_slot + e.at),
                "network",
                &e.change.to_string(),
            );
            next_script += 1;
        }
        // Our first slot without a block: the outage as the chain shows it.
        if !first_miss_told {
            let missed = net.with_chain(|c| {
                let slot = c.slot();
                (c.scheduled_producer(slot) == Some(s.spec.chain.our_producer)
                    && c.head().slot != slot)
                    .then(|| (slot, c.head().num))
            });
            if let Some((slot, head)) = missed {
                first_miss_told = true;
                narrator.say(
                    out,
                    slot_ms(slot),
                    "chain",
                    &format!(
                        "{our}'s slot passes without a block (head stays #{head}): its first miss. \
                         Observers see a miss only once a later block shows the slot was skipped"
                    ),
                );
            }
        }
        // Our blocks: say when a data center other than the one before signs them.
        let news: Vec<(u32, u32, Option<usize>)> = net.with_chain(|c| {
            c.blocks_from(scanned + 1)
                .filter(|b| b.producer == s.spec.chain.our_producer)
                .map(|b| (b.num, b.slot, b.datacenter))
                .collect()
        });
        scanned = net.with_chain(|c| c.head().num);
        for (num, slot, dc) in news {
            if dc != our_dc {
                our_dc = dc;
                resumed |= dc.is_some_and(|i| i != 0);
                if let Some(name) = dc.and_then(|i| dc_names.get(i)) {
                    narrator.say(
                        out,
                        slot_ms(slot),
                        "chain",
                        &format!(
                            "block #{num} is signed with {name}'s key: {our} produces again, from {name}"
                        ),
                    );
                }
            }
        }
        let now_ms = net.chain_now_ms();
        join_all(observers.iter_mut().map(|o| o.daemon.tick())).await;
        for (i, o) in observers.iter_mut().enumerate() {
            let seen = Seen::of(o.daemon.last_view());
            narrator.observe(i, seen);
            while let Ok(e) = o.events.try_recv() {
                narrator.on_event(out, i, now_ms, &e, seen);
            }
            narrator.flush_endpoints(out, i, now_ms);
        }
    }
    drop(observers);

    let outcome = s.check(&net);
    let facts = chain_facts(&net, start_slot, s.spec.chain.our_producer);
    let switches: Vec<Option<String>> = net
        .key_switches()
        .iter()
        .filter(|k| k.changed)
        .map(|k| k.datacenter.clone())
        .collect();
    let chain_secs = f64::from(net.elapsed_slots()) / 2.0;
    net.shutdown().await;

    let since_miss = |ms: Option<i64>| match (ms, facts.first_miss) {
        (Some(ms), Some(miss)) => Some(secs(ms - slot_ms(miss))),
        _ => None,
    };
    let report = Report {
        scenario: s.name.to_string(),
        producers: s.spec.chain.producers.len(),
        consensus: match s.spec.chain.consensus {
            Consensus::Savanna => "savanna".into(),
            Consensus::Legacy => "legacy".into(),
        },
        observers: n_obs,
        time_scale,
        chain_secs,
        wall_secs: (wall.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        expected: expect_text(&s.expect),
        actual: actual_text(&switches),
        passed: outcome.is_ok() && !interrupted,
        mismatch: match (&outcome, interrupted) {
            (_, true) => Some("interrupted before the end of the scenario".into()),
            (Err(e), _) => Some(e.clone()),
            _ => None,
        },
        interrupted,
        first_missed_slot_at: facts.first_miss.map(|m| secs(slot_ms(m) - incident_ms)),
        detection_secs: since_miss(narrator.first.get("failover_triggered").copied()),
        transaction_pushed_secs: since_miss(narrator.first.get("transaction_pushed").copied()),
        key_registered_secs: since_miss(narrator.first.get("key_registered").copied()),
        key_change_confirmed_secs: since_miss(narrator.first.get("key_change_confirmed").copied()),
        first_new_key_block_secs: since_miss(facts.first_new.as_ref().map(|(s, _)| slot_ms(*s))),
        new_key_datacenter: facts.first_new.and_then(|(_, i)| dc_names.get(i).cloned()),
        blocks_lost: facts.lost,
        transaction_ids: narrator.tx_ids.clone(),
        key_changes_on_chain: switches.len(),
        holds: narrator.holds.clone(),
    };
    if !out.quiet && switches.is_empty() {
        out.print(why_no_switch(&narrator, &report).trim_end());
    }
    Ok(report)
}

fn slot_ms(slot: u32) -> i64 {
    BlockTimestamp(slot).unix_ms()
}

/// Milliseconds as seconds, to a tenth.
fn secs(ms: i64) -> f64 {
    (ms as f64 / 100.0).round() / 10.0
}

fn actual_text(switches: &[Option<String>]) -> String {
    let names: Vec<&str> = switches
        .iter()
        .map(|d| d.as_deref().unwrap_or("an unknown key"))
        .collect();
    match names.as_slice() {
        [] => "no switch: the signing key stayed where it was".into(),
        [one] => format!("one key switch, to {one}"),
        many => format!("{} key switches: to {}", many.len(), many.join(", then ")),
    }
}

/// What the simulated chain itself shows about our producer after the start.
#[derive(Debug, Default)]
struct ChainFacts {
    /// Slot of our first scheduled slot without a block.
    first_miss: Option<u32>,
    /// Slot of our first block after that, signed by a data center other than the primary,
    /// and that data center's index.
    first_new: Option<(u32, usize)>,
    /// Our scheduled slots missed from `first_miss` to `first_new` (or the end).
    lost: u32,
}

fn chain_facts(net: &Network, start_slot: u32, our: crate::antelope::Name) -> ChainFacts {
    net.with_chain(|c| {
        let ours: HashMap<u32, Option<usize>> = c
            .blocks_from(c.oldest().num)
            .filter(|b| b.slot > start_slot && b.producer == our)
            .map(|b| (b.slot, b.datacenter))
            .collect();
        let mut f = ChainFacts::default();
        for slot in start_slot + 1..=c.slot() {
            if c.scheduled_producer(slot) != Some(our) {
                continue;
            }
            match ours.get(&slot) {
                None if f.first_new.is_none() => {
                    f.first_miss.get_or_insert(slot);
                    f.lost += 1;
                }
                Some(Some(dc)) if *dc != 0 && f.first_miss.is_some() && f.first_new.is_none() => {
                    f.first_new = Some((slot, *dc));
                }
                _ => {}
            }
        }
        f
    })
}

/// The opening: the scenario, the network, our data centers, the observer's policy.
fn intro(
    s: &Scenario,
    net: &Network,
    policy: &Policy,
    time_scale: f64,
    observers: usize,
    dir: &Path,
    keep: bool,
) -> String {
    let mut t = String::new();
    t.push_str(&wrap(
        "",
        &format!("bp-failover drill: {} — {}", s.name, s.description),
    ));
    t.push_str(&format!(
        "\n\nThe simulated network (on this machine, 127.0.0.1, ×{time_scale} real time):\n"
    ));
    for (label, text) in network_lines(s, net) {
        t.push_str(&wrap(&format!("  {label:<11} "), &text));
        t.push('\n');
    }
    t.push_str(&wrap(
        &format!("  {:<11} ", "expected"),
        &expect_text(&s.expect),
    ));
    t.push_str("\n\n");
    t.push_str(&wrap(
        "",
        &format!(
            "The observer{}: the real bp-failover daemon, polling the endpoints once per slot \
             with chain time as its clock, default policy. It fails over after {} consecutive \
             missed slots of the active key, once {} turns of other producers confirm the rest \
             of the network is producing, and only if at least {:.0}% of other producers' recent \
             turns produced, the last irreversible block (LIB) advanced within {} s, a majority of \
             endpoints agree, and the target's node is ready. Its config and fresh key{}: {}",
            if observers > 1 {
                format!("s ({observers}, each on its own)")
            } else {
                String::new()
            },
            policy.missed_blocks,
            policy.confirm_turns,
            policy.min_participation * 100.0,
            policy.lib_stall_secs,
            if keep { "" } else { " (removed at the end)" },
            dir.display()
        ),
    ));
    t.push_str("\n\n");
    t.push_str(&wrap(
        "",
        "Timeline, in chain seconds from the start of the incident (T+0). [network] and [chain] \
         are the simulator; [observer] is what the daemon saw and did.",
    ));
    t
}

/// Narrates events and keeps what the report needs.
struct Narrator {
    incident_ms: i64,
    our: String,
    policy: Policy,
    observers: usize,
    /// Chain time of the first occurrence of each event (any observer).
    first: BTreeMap<&'static str, i64>,
    tx_ids: Vec<String>,
    holds: Vec<Hold>,
    /// Quorum problems and endpoint exclusions the observers reported.
    view_problems: Vec<String>,
    /// Endpoint URLs in config order, to call them `#1`, `#2`…
    endpoints: Vec<String>,
    /// This round's endpoint verdict changes `(excluded, endpoint, reason)`, said as one
    /// line per reason.
    endpoint_changes: Vec<(bool, String, String)>,
    /// Observer 0's last consecutive-miss count narrated.
    told_missed: u32,
    lib_now: Option<u32>,
    lib_at_first_miss: Option<u32>,
    participation: Option<f64>,
    confirming_told: bool,
    /// Hold reasons already explained in full (observer 0).
    holds_told: std::collections::BTreeSet<String>,
}

impl Narrator {
    fn new(incident_ms: i64, our: String, policy: Policy, observers: usize) -> Self {
        Narrator {
            incident_ms,
            our,
            policy,
            observers,
            first: BTreeMap::new(),
            tx_ids: Vec::new(),
            holds: Vec::new(),
            view_problems: Vec::new(),
            endpoints: Vec::new(),
            endpoint_changes: Vec::new(),
            told_missed: 0,
            lib_now: None,
            lib_at_first_miss: None,
            participation: None,
            confirming_told: false,
            holds_told: Default::default(),
        }
    }

    fn say(&self, out: &mut Out, at_ms: i64, who: &str, text: &str) {
        let t = format!("T{:+.1}s", (at_ms - self.incident_ms) as f64 / 1000.0);
        out.print(&wrap(&format!("{t:>9}  {:<11} ", format!("[{who}]")), text));
    }

    /// `#2` for the second configured endpoint (its URL when unknown).
    fn endpoint_name(&self, label: &str) -> String {
        let trimmed = label.trim_end_matches('/');
        self.endpoints
            .iter()
            .position(|u| u.trim_end_matches('/') == trimmed)
            .map_or_else(|| label.to_string(), |i| format!("#{}", i + 1))
    }

    /// Says this round's endpoint changes, one line per reason ("endpoints #1 and #3 no
    /// longer count: stale …").
    fn flush_endpoints(&mut self, out: &mut Out, i: usize, at: i64) {
        let changes = std::mem::take(&mut self.endpoint_changes);
        let mut groups: Vec<((bool, String), Vec<String>)> = Vec::new();
        for (excluded, name, reason) in changes {
            let key = (excluded, reason);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, names)) => names.push(name),
                None => groups.push((key, vec![name])),
            }
        }
        for ((excluded, reason), names) in groups {
            let who = format!(
                "endpoint{} {}",
                if names.len() > 1 { "s" } else { "" },
                join_and(&names)
            );
            let text = if excluded {
                self.view_problems
                    .push(format!("{who} did not count: {reason}"));
                format!(
                    "{who} no longer count{}: {reason}",
                    if names.len() > 1 { "" } else { "s" }
                )
            } else {
                format!(
                    "{who} count{} again",
                    if names.len() > 1 { "" } else { "s" }
                )
            };
            let label = if self.observers > 1 {
                format!("observer{}", i + 1)
            } else {
                "observer".to_string()
            };
            self.say(out, at, &label, &text);
        }
    }

    fn observe(&mut self, i: usize, seen: Seen) {
        if i == 0 && seen.lib.is_some() {
            self.lib_now = seen.lib;
        }
    }

    fn on_event(&mut self, out: &mut Out, i: usize, at: i64, e: &Event, seen: Seen) {
        self.first.entry(e.name()).or_insert(at);
        let who = if self.observers > 1 {
            format!("observer{}", i + 1)
        } else {
            "observer".to_string()
        };
        // Further observers: only what they decide and do.
        let decisive = matches!(
            e,
            Event::FailoverTriggered { .. }
                | Event::FailoverSuppressed { .. }
                | Event::TransactionPushed { .. }
                | Event::TransactionFailed { .. }
                | Event::KeyRegistered { .. }
                | Event::KeyChangeConfirmed { .. }
                | Event::KeyProducing { .. }
                | Event::PendingOverdue { .. }
        );
        if let Event::TransactionPushed { id, .. } = e {
            let id = id.to_string();
            if !self.tx_ids.contains(&id) {
                self.tx_ids.push(id);
            }
        }
        if let Event::FailoverSuppressed { reason, detail, .. } = e {
            if !self.holds.iter().any(|h| h.reason == reason.as_str()) {
                self.holds.push(Hold {
                    reason: reason.to_string(),
                    detail: detail.clone(),
                    why: reason.explain().to_string(),
                });
            }
        }
        if i > 0 && !decisive {
            return;
        }
        if let Some(text) = self.text(e, seen) {
            self.say(out, at, &who, &text);
        }
    }

    /// The sentence for `e`, or `None` when it is not worth a line.
    fn text(&mut self, e: &Event, seen: Seen) -> Option<String> {
        let thr = self.policy.missed_blocks;
        let our = &self.our;
        Some(match e {
            Event::ObserverStarted { .. }
            | Event::ObserverStopped { .. }
            | Event::DryRunTransaction { .. } => return None,
            Event::QuorumChanged { state, detail } => match state {
                QuorumStatus::Agreed => format!(
                    "endpoints agree — {}",
                    detail.strip_prefix("agreed: ").unwrap_or(detail)
                ),
                QuorumStatus::EndpointsDisagree => {
                    self.view_problems
                        .push(format!("{detail} — {}", state.explain()));
                    format!(
                        "{detail}. The observer never acts on a split view: {}",
                        state.explain()
                    )
                }
                QuorumStatus::ObserverBlind => {
                    self.view_problems
                        .push(format!("{detail} — {}", state.explain()));
                    format!("{detail}. It holds: {}", state.explain())
                }
            },
            Event::EndpointUnhealthy { endpoint, reason } => {
                let name = self.endpoint_name(endpoint);
                self.endpoint_changes.push((true, name, reason.clone()));
                return None;
            }
            Event::EndpointDisagrees {
                endpoint,
                about,
                detail,
            } => {
                let name = self.endpoint_name(endpoint);
                self.endpoint_changes
                    .push((true, name, format!("disagrees about {about}: {detail}")));
                return None;
            }
            Event::EndpointRecovered { endpoint } => {
                let name = self.endpoint_name(endpoint);
                self.endpoint_changes.push((false, name, String::new()));
                return None;
            }
            Event::ConsensusMode { mode } => format!(
                "the chain runs {} consensus",
                match mode {
                    ConsensusMode::Savanna => "savanna",
                    ConsensusMode::Legacy => "legacy",
                }
            ),
            Event::SetupInvalid { check, detail, fix } => {
                format!("setup self-check {check} FAILS: {detail}; fix: {fix}")
            }
            Event::SetupValid { .. } => return None,
            Event::MsigApproved {
                proposer,
                proposal,
                proposed,
                executed,
                approvals,
                threshold,
            } => format!(
                "{} {proposer}/{proposal}: {approvals} of {threshold} approvals{}",
                if *proposed { "proposes and approves" } else { "approves" },
                if *executed { ", executed" } else { "" }
            ),
            Event::MsigProposalRejected {
                proposer,
                proposal,
                reason,
            } => format!("REJECTS foreign proposal {proposer}/{proposal}: {reason}"),
            Event::MissedSlots {
                producer,
                datacenter,
                consecutive,
                ..
            } => {
                let c = *consecutive;
                let step = (thr / 2).max(1);
                let new_run = c < self.told_missed || self.told_missed == 0;
                if self.lib_at_first_miss.is_none() {
                    self.lib_at_first_miss = self.lib_now;
                }
                if !new_run && c / step == self.told_missed / step {
                    return None;
                }
                self.told_missed = c;
                let who = datacenter
                    .clone()
                    .unwrap_or_else(|| format!("{producer}'s key"));
                format!(
                    "{who} missed {c} slot{} in a row (threshold {thr})",
                    if c == 1 { "" } else { "s" }
                )
            }
            Event::RoundSummary {
                scheduled,
                produced,
                missed,
                participation,
                ..
            } => {
                self.participation = *participation;
                format!(
                    "{scheduled}'s turn: {produced} of {} blocks produced{}; other producers: {}",
                    produced + missed,
                    if *missed > 0 {
                        format!(", {missed} missed")
                    } else {
                        String::new()
                    },
                    participation.map_or("participation not known yet".into(), |p| format!(
                        "{:.0}% of recent turns produced",
                        p * 100.0
                    ))
                )
            }
            Event::PrimaryMissing { datacenter, detail } => {
                format!("{datacenter} is missing blocks: {detail}")
            }
            Event::DatacenterReadiness {
                datacenter,
                ready,
                detail,
            } => {
                if *ready {
                    format!("{datacenter}'s node is ready ({detail})")
                } else {
                    format!("{datacenter}'s node is NOT ready: {detail}")
                }
            }
            Event::FailoverConfirming {
                missed,
                turns_seen,
                turns_needed,
            } => {
                if !self.confirming_told {
                    self.confirming_told = true;
                    format!(
                        "threshold reached: {missed} missed slots ≥ {thr}. Before acting, the observer \
                         waits for {turns_needed} turns of other producers: if they produce, the outage \
                         is ours, not the network's ({turns_seen}/{turns_needed})"
                    )
                } else {
                    format!("confirming: {turns_seen}/{turns_needed} turns of other producers seen")
                }
            }
            Event::FailoverSuppressed {
                reason,
                detail,
                missed,
            } => {
                self.confirming_told = false;
                if !self.holds_told.insert(reason.to_string()) {
                    return Some(format!(
                        "failover still held ({reason}{})",
                        if *missed > 0 {
                            format!(", {missed} missed")
                        } else {
                            String::new()
                        }
                    ));
                }
                format!(
                    "failover held ({reason}{}): {detail}. Why it matters: {}",
                    if *missed > 0 {
                        format!(", {missed} missed")
                    } else {
                        String::new()
                    },
                    reason.explain()
                )
            }
            Event::FailoverTriggered { from, to, reason, .. } => {
                let lib = match (self.lib_at_first_miss, seen.lib) {
                    (Some(a), Some(b)) if b > a => {
                        format!("LIB advancing (#{a} at the first miss, #{b} now)")
                    }
                    (_, Some(b)) => format!("LIB #{b}"),
                    _ => "LIB not known".into(),
                };
                let part = self.participation.map_or(String::new(), |p| {
                    format!(
                        "; other producers' participation {:.0}% (≥ {:.0}%)",
                        p * 100.0,
                        self.policy.min_participation * 100.0
                    )
                });
                format!(
                    "FAILOVER {from} → {to}: {reason}. Guards passed: {}/{} endpoints agree; \
                     {lib}{part}; {to}'s node ready; no switch in the last {} s. Signing \
                     eosio::regproducer with {to}'s key as {our}@failover",
                    seen.agreeing, seen.configured, self.policy.cooldown_secs
                )
            }
            Event::TransactionPushed {
                id,
                endpoint,
                latency_ms,
                attempt,
            } => format!(
                "transaction {id} accepted by {endpoint} in {latency_ms} ms{}",
                if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                }
            ),
            Event::TransactionFailed {
                id,
                reason,
                retrying,
            } => format!(
                "push{} failed: {reason}{}",
                id.map_or(String::new(), |id| format!(" of {id}")),
                if *retrying { "; retrying" } else { "" }
            ),
            Event::KeyRegistered {
                datacenter,
                seconds_since_trigger,
                key,
            } => format!(
                "the producers table now holds {datacenter}'s key {key} ({seconds_since_trigger:.1} s \
                 after the trigger); it takes effect when the system contract puts it in the schedule"
            ),
            Event::ScheduleActivated {
                version,
                producers,
                datacenter,
                ..
            } => format!(
                "schedule version {version} is active ({producers} producers): {our} signs with {}",
                datacenter
                    .as_deref()
                    .map_or("a key none of our data centers holds".into(), |d| format!(
                        "{d}'s key"
                    ))
            ),
            Event::KeyChangeConfirmed {
                datacenter,
                seconds_since_trigger,
                ..
            } => format!(
                "switch confirmed: the active schedule carries {datacenter}'s key \
                 ({seconds_since_trigger:.1} s after the trigger); {datacenter} is to sign {our}'s next turn"
            ),
            Event::KeyProducing {
                datacenter,
                block,
                seconds_since_trigger,
                ..
            } => format!(
                "block #{block} is {our}'s first signed with {datacenter}'s key \
                 ({seconds_since_trigger:.1} s after the trigger): blocks now come from {datacenter}"
            ),
            Event::PendingOverdue { to, waited_secs } => format!(
                "the key change to {to} is overdue: still not in the active schedule after {waited_secs} s"
            ),
            Event::StaleKeySigning {
                datacenter, block, ..
            } => format!(
                "{} still signs {our}'s blocks with the old key on its own fork (block {block}): fence it",
                datacenter.as_deref().unwrap_or("a node")
            ),
            Event::NotScheduled { producer } => {
                format!("{producer} is not in the active schedule: nothing to judge")
            }
        })
    }
}

/// "a", "a and b", "a, b and c".
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// For runs without a switch: why the observer stayed put.
fn why_no_switch(n: &Narrator, r: &Report) -> String {
    let mut t = String::from("\nWhy no switch:\n");
    if r.blocks_lost == 0 {
        t.push_str(&wrap(
            "  - ",
            &format!(
                "{} never missed a slot on the chain the majority follows: there was nothing to fix",
                n.our
            ),
        ));
        t.push('\n');
    }
    let mut any = false;
    for h in &r.holds {
        any = true;
        t.push_str(&wrap(
            "  - ",
            &format!(
                "held ({}): {}. Why it matters: {}",
                h.reason, h.detail, h.why
            ),
        ));
        t.push('\n');
    }
    let mut problems: Vec<&String> = Vec::new();
    for p in &n.view_problems {
        if !problems.contains(&p) {
            problems.push(p);
        }
    }
    for p in problems.iter().take(4) {
        any = true;
        t.push_str(&wrap("  - ", &format!("the observer's view: {p}")));
        t.push('\n');
    }
    if r.blocks_lost > 0 && !any {
        t.push_str(&wrap(
            "  - ",
            &format!(
                "{} missed {} slot(s), never {} in a row as the observer saw it: below the threshold",
                n.our, r.blocks_lost, n.policy.missed_blocks
            ),
        ));
        t.push('\n');
    }
    t
}

fn opt_secs(v: Option<f64>) -> String {
    v.map_or("—".into(), |s| format!("{s:.1} s"))
}

/// The closing report, as text.
fn render_report(r: &Report) -> String {
    let rows: Vec<(&str, String)> = vec![
        ("scenario", r.scenario.clone()),
        (
            "network",
            format!(
                "{} producers, {}, {} observer(s); {:.0} chain seconds in {:.1} s",
                r.producers, r.consensus, r.observers, r.chain_secs, r.wall_secs
            ),
        ),
        ("expected", r.expected.clone()),
        (
            "actual",
            format!(
                "{} — {}",
                r.actual,
                if r.passed { "as expected" } else { "NOT as expected" }
            ),
        ),
        (
            "first missed slot",
            r.first_missed_slot_at
                .map_or("none".into(), |t| format!("T{t:+.1}s")),
        ),
        ("detection", opt_secs(r.detection_secs)),
        ("transaction pushed", opt_secs(r.transaction_pushed_secs)),
        ("key registered", opt_secs(r.key_registered_secs)),
        ("key change confirmed", opt_secs(r.key_change_confirmed_secs)),
        (
            "first new-key block",
            match (&r.new_key_datacenter, r.first_new_key_block_secs) {
                (Some(dc), Some(s)) => format!("{s:.1} s (signed by {dc})"),
                _ => "—".into(),
            },
        ),
        (
            "blocks lost",
            match (r.blocks_lost, r.first_new_key_block_secs) {
                (0, _) => "0".into(),
                (n, Some(_)) => format!(
                    "{n} (our scheduled slots missed from the first miss to the first block with the new key)"
                ),
                (n, None) => format!(
                    "{n} (our scheduled slots missed from the first miss to the end of the run: no block with another key)"
                ),
            },
        ),
        (
            "transaction",
            if r.transaction_ids.is_empty() {
                "none pushed".into()
            } else {
                r.transaction_ids.join(", ")
            },
        ),
        ("key changes on chain", r.key_changes_on_chain.to_string()),
    ];
    let mut t = String::from("\nReport (times in chain seconds from the first missed slot):\n");
    for (k, v) in rows {
        t.push_str(&wrap(&format!("  {k:<21} "), &v));
        t.push('\n');
    }
    if let Some(m) = &r.mismatch {
        t.push_str(&wrap("  mismatch              ", m));
        t.push('\n');
    }
    t.push_str(&format!(
        "{}: exit code {}",
        if r.passed { "PASS" } else { "FAIL" },
        if r.passed { 0 } else { 1 }
    ));
    t
}

/// `text` after `prefix`, wrapped at [`WIDTH`] with continuation lines indented to the
/// prefix's width.
fn wrap(prefix: &str, text: &str) -> String {
    let indent = prefix.chars().count();
    let mut out = String::from(prefix);
    let mut col = indent;
    let mut first = true;
    for word in text.split(' ') {
        let len = word.chars().count();
        if !first && col + 1 + len > WIDTH && col > indent {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if !first {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += len;
        first = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sentence_stops_at_a_sentence_end() {
        assert_eq!(first_sentence("One (a.b). Two."), "One (a.b).");
        assert_eq!(first_sentence("No end"), "No end");
        assert_eq!(first_sentence("2N/3+1. and on"), "2N/3+1. and on");
    }

    #[test]
    fn the_incident_comes_two_turns_before_ours() {
        for (n, now) in [(21, 1_000_003u32), (4, 77), (21, 252 * 1000 + 131)] {
            let chain = crate::sim::ChainSpec::new(n, now);
            let ours = chain
                .producers
                .iter()
                .position(|p| *p == chain.our_producer)
                .unwrap();
            let start = aligned_start(&chain, 24, INCIDENT_LEAD_SLOTS);
            assert!(start >= now && start - now < n as u32 * REPETITIONS);
            let turn = start + 24 + INCIDENT_LEAD_SLOTS;
            assert_eq!(turn % REPETITIONS, 0, "the first slot of a turn");
            assert_eq!(BlockTimestamp(turn).scheduled_index(n), Some(ours));
        }
    }

    #[test]
    fn wrap_indents_continuations() {
        let w = wrap("  ab ", &"word ".repeat(40));
        for line in w.lines().skip(1) {
            assert!(line.starts_with("     w"), "{line:?}");
        }
        assert!(w.lines().all(|l| l.chars().count() <= WIDTH));
    }
}
