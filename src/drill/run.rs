//! Running a drill: a built-in scenario's network and the real daemon in lockstep
//! ([`super::lockstep`]), narrated as it goes ([`super::narrate`]), then judged
//! ([`super::report`]).
//!
//! The daemon reads chain time (`Network::shared`) as its clock, and the network advances
//! one 500 ms slot, then every observer runs one polling round, at `time_scale` times real
//! speed. A slow machine makes the drill slower, never different: the daemon always sees
//! the chain of the current slot, so its decisions and the timings in chain seconds do not
//! depend on the speed.
//!
//! The run lasts the scenario's length; after a key switch it goes on until the new key
//! signs a block (at most one more rotation), so that the report can count the blocks lost.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::lockstep::{Lockstep, LockstepError, Logs, Pace, Ticking};
use super::narrate::{intro, Narrator, Out, Seen};
use super::report::{actual_text, chain_facts, expect_text, secs, slot_ms, why_no_switch, Report};
use super::scenario::{self, Params};
use super::Scenario;
use crate::daemon::Options;
use crate::sim::chain::REPETITIONS;
use crate::sim::network::current_slot;
use crate::sim::{Clock, Consensus};

/// Why a drill (or a simulated network) could not run.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error("unknown scenario {0:?}")]
    UnknownScenario(String),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the drill's config")]
    Config(#[source] crate::config::ConfigError),
    #[error(transparent)]
    Lockstep(#[from] LockstepError),
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> DrillError {
    move |source| DrillError::Io { context, source }
}

/// Our producer's next turn begins this many slots after the incident starts (two turns,
/// 12 s), the same in every run of a scenario.
const INCIDENT_LEAD_SLOTS: u32 = 2 * REPETITIONS;

/// Built-in scenario `name` with `producers` producers, on `clock`, starting now, with
/// fresh keys (a new random seed: the observer's key is not the one derivable from the
/// source).
pub fn build_scenario(name: &str, producers: usize, clock: Clock) -> Result<Scenario, DrillError> {
    let params = Params {
        producers,
        start_slot: current_slot(),
        clock,
        ..Params::default()
    };
    let mut s = scenario::builtin(name, &params)
        .ok_or_else(|| DrillError::UnknownScenario(name.to_string()))?;
    s.spec.chain.seed = format!("bp-failover-sim/{}", fresh_seed());
    Ok(s)
}

/// As [`build_scenario`], on a manual clock, starting where our producer's turn comes
/// [`INCIDENT_LEAD_SLOTS`] after the incident: every run of a scenario then tells the same
/// story with the same timings.
pub fn drill_scenario(name: &str, producers: usize) -> Result<Scenario, DrillError> {
    let mut scenario = build_scenario(name, producers, Clock::Manual)?;
    let chain = &mut scenario.spec.chain;
    chain.genesis_slot = aligned_start(
        chain,
        incident_at(&scenario.spec.events),
        INCIDENT_LEAD_SLOTS,
    );
    Ok(scenario)
}

fn fresh_seed() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// `out` (created, absolute) or a new temporary directory (removed when the guard drops).
pub fn output_dir(
    out: Option<&Path>,
    prefix: &str,
) -> Result<(PathBuf, Option<tempfile::TempDir>), DrillError> {
    match out {
        Some(d) => {
            std::fs::create_dir_all(d)
                .map_err(io(format!("cannot create directory {}", d.display())))?;
            let abs = std::fs::canonicalize(d)
                .map_err(io(format!("cannot resolve directory {}", d.display())))?;
            Ok((abs, None))
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .map_err(io("cannot create a temporary directory".into()))?;
            let abs = std::fs::canonicalize(t.path()).unwrap_or_else(|_| t.path().to_path_buf());
            Ok((abs, Some(t)))
        }
    }
}

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

/// Runs `s` to its end (or until `stop` completes) with the narration on `out`, and
/// judges it. The observers' files go into `dir` (a subdirectory per observer when there
/// are several); `keep`: `dir` stays after the drill (said in the introduction).
pub async fn drill(
    s: &Scenario,
    dir: &Path,
    keep: bool,
    time_scale: f64,
    stop: impl Future<Output = ()>,
    out: &mut Out,
) -> Result<Report, DrillError> {
    let wall = std::time::Instant::now();
    // The drill ticks once per slot itself; the interval `run` would use, scaled.
    let opts = Options {
        poll_interval: Duration::from_secs_f64(0.25 / time_scale),
        ..Options::default()
    };
    let mut ls = Lockstep::start(
        s,
        dir,
        true,
        opts,
        Logs::Stream,
        Pace::Scaled(time_scale),
        Ticking::Concurrent,
    )
    .await?;
    let n_obs = ls.observers.len();
    let policy = crate::config::load(ls.observers[0].config_path())
        .map_err(DrillError::Config)?
        .config
        .policy;
    let net = ls.net.clone();
    let start_slot = {
        let w = net.world();
        w.main().slot() - w.elapsed_slots()
    };
    let mut script = s.spec.events.clone();
    script.sort_by_key(|e| e.at);
    let incident_ms = slot_ms(start_slot + incident_at(&script));
    let our = s.spec.chain.our_producer.to_string();
    let dc_names: Vec<String> = s.spec.chain.datacenters.clone();
    out.print(&intro(s, &net, &policy, time_scale, n_obs, dir, keep));
    let mut narrator = Narrator::new(incident_ms, our.clone(), policy.clone(), n_obs);
    narrator.endpoints = net.endpoint_urls();

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
            _ = ls.pace() => {}
        }
        ls.advance();
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
        ls.tick().await;
        for (i, o) in ls.observers.iter_mut().enumerate() {
            let seen = Seen::of(o.daemon().and_then(|d| d.last_view()));
            narrator.observe(i, seen);
            for e in o.drain_events() {
                narrator.on_event(out, i, now_ms, &e, seen);
            }
            narrator.flush_endpoints(out, i, now_ms);
        }
    }

    let outcome = s.check(&net);
    let facts = chain_facts(&net, start_slot, s.spec.chain.our_producer);
    let switches: Vec<Option<String>> = net
        .key_switches()
        .iter()
        .filter(|k| k.changed)
        .map(|k| k.datacenter.clone())
        .collect();
    let chain_secs = f64::from(net.elapsed_slots()) / 2.0;
    drop(net);
    ls.shutdown().await;

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
    if !out.is_quiet() && switches.is_empty() {
        out.print(why_no_switch(&narrator, &report).trim_end());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::antelope::BlockTimestamp;

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
}
