//! The project's real daemon against a scripted scenario on the simulated network, through
//! the library's lockstep harness (`bp_failover::drill::lockstep`).
//!
//! A [`Run`] starts the scenario's network on loopback, writes one config, key file and
//! state file per observer (as an operator would), and builds a daemon from each that
//! reads chain time as its clock. `Run::step` advances the network one slot and ticks
//! every running daemon once, so a run is deterministic in slots however slow the machine
//! is. Observers can be stopped mid-tick and restarted from their files; each run of a
//! daemon keeps its own in-memory event log.
//!
//! When a test panics (or `E2E_DUMP` is set), the run prints every observer's event
//! history (less the per-slot noise) and the key switches on chain.

use bp_failover::daemon::Options;
use bp_failover::drill::lockstep::{Lockstep, Logs, Pace, Ticking};
use bp_failover::drill::scenario::{self, Params, Scenario};
use bp_failover::events::Event;
use bp_failover::sim::network::current_slot;
use bp_failover::sim::Consensus;

/// Built-in scenario `name` with `producers` producers and a 24-slot schedule tick.
///
/// The network starts at the first slot of a rotation near the current time, so where
/// our producer's turns fall relative to the script is the same on every run (our turn
/// begins at slot `12 × producers / 2`). `E2E_PHASE=k` starts `k` slots later instead,
/// to explore other phases.
pub fn scenario(name: &str, producers: usize) -> Scenario {
    let phase = std::env::var("E2E_PHASE")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(0);
    scenario_at(name, producers, phase)
}

/// As [`scenario`], starting `phase` slots into a rotation.
pub fn scenario_at(name: &str, producers: usize, phase: u32) -> Scenario {
    let rotation = producers as u32 * 12;
    let now = current_slot();
    let params = Params {
        producers,
        schedule_tick_slots: 24,
        start_slot: now - now % rotation + phase,
        ..Params::default()
    };
    scenario::builtin(name, &params).unwrap_or_else(|| panic!("no scenario {name}"))
}

/// A scenario running in lockstep ([`Lockstep`]): the scenario, and the harness (its
/// network and observers) it derefs to; every observer's files in one temporary directory.
pub struct Run {
    pub scenario: Scenario,
    ls: Lockstep,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Run {
    type Target = Lockstep;
    fn deref(&self) -> &Lockstep {
        &self.ls
    }
}

impl std::ops::DerefMut for Run {
    fn deref_mut(&mut self) -> &mut Lockstep {
        &mut self.ls
    }
}

impl Run {
    /// Starts `scenario` with its observers on default options.
    pub async fn start(scenario: Scenario) -> Run {
        Self::start_with(scenario, Options::default()).await
    }

    pub async fn start_with(scenario: Scenario, opts: Options) -> Run {
        let dir = tempfile::tempdir().expect("temp dir");
        let ls = Lockstep::start(
            &scenario,
            dir.path(),
            true,
            opts,
            Logs::History,
            Pace::Unpaced,
            Ticking::Rotating,
        )
        .await
        .expect("the scenario's network and observers start");
        Run {
            scenario,
            ls,
            _dir: dir,
        }
    }

    /// Steps to the scenario's `run_slots`.
    pub async fn run_to_end(&mut self) {
        while self.slot() < self.scenario.run_slots {
            self.step().await;
        }
    }

    /// Steps until observer `i` emits an event called `name`; panics after `limit` slots.
    pub async fn run_until_event(&mut self, i: usize, name: &str, limit: u32) {
        let found = self
            .run_until(limit, |r| {
                r.observers[i]
                    .current_events()
                    .iter()
                    .any(|e| e.name() == name)
            })
            .await;
        assert!(found, "no {name} within {limit} slots");
    }

    /// Starts a new daemon for observer `i` from its config, key and state files.
    pub fn restart(&mut self, i: usize) {
        self.ls.restart(i).expect("the observer restarts");
    }

    /// Rewrites observer `i`'s config with `edit` (given its directory and the current
    /// text) and starts a new daemon from it.
    pub fn reconfigure(&mut self, i: usize, edit: impl FnOnce(&std::path::Path, String) -> String) {
        self.ls
            .reconfigure(i, edit)
            .expect("the observer restarts reconfigured");
    }

    /// Judges the scenario: the outcome on chain and the reason in the event histories.
    pub fn check(&self) {
        if let Err(e) = self.scenario.check(&self.net) {
            panic!("{}: outcome: {e}", self.scenario.name);
        }
        if let Err(e) = self.scenario.check_events(&self.histories()) {
            panic!("{}: reason: {e}", self.scenario.name);
        }
    }

    pub fn is_legacy(&self) -> bool {
        self.scenario.spec.chain.consensus == Consensus::Legacy
    }

    fn dump(&self) {
        eprintln!(
            "== {} at slot {}: key switches {:?}",
            self.scenario.name,
            self.slot(),
            self.net.key_switches()
        );
        for (i, o) in self.observers.iter().enumerate() {
            for (r, log) in o.runs.iter().enumerate() {
                for e in log.history() {
                    if !matches!(e.name(), "missed_slots" | "round_summary") {
                        eprintln!("[observer {i} run {r}] {}", e.text());
                    }
                }
            }
            eprintln!("[observer {i}] last decision: {:?}", o.last_decision());
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("E2E_DUMP").is_some() {
            self.dump();
        }
    }
}

/// Names of `events`, in order.
pub fn names(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::name).collect()
}

/// How many of `events` are called `name`.
pub fn count(events: &[Event], name: &str) -> usize {
    events.iter().filter(|e| e.name() == name).count()
}

/// Position of the first event called `name`.
pub fn position(events: &[Event], name: &str) -> Option<usize> {
    events.iter().position(|e| e.name() == name)
}

/// The `reason` of every `failover_suppressed`, in order.
pub fn suppressed(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::FailoverSuppressed { reason, .. } => Some(reason.to_string()),
            _ => None,
        })
        .collect()
}

/// `(endpoint, reason)` of every `endpoint_unhealthy`.
pub fn unhealthy(events: &[Event]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::EndpointUnhealthy { endpoint, reason } => {
                Some((endpoint.clone(), reason.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The `to` of every `failover_triggered`.
pub fn triggered(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::FailoverTriggered { to, .. } => Some(to.clone()),
            _ => None,
        })
        .collect()
}
