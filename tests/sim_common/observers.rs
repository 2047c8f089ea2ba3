//! The project's real daemon against a scripted scenario on the simulated network.
//!
//! A [`Run`] starts the scenario's network on loopback, writes one config, key file and
//! state file per observer (as an operator would, with [`render_config`]), and builds a
//! [`Daemon`] from each that reads chain time as its clock. [`Run::step`] advances the
//! network one slot and ticks every running daemon once, so a run is deterministic in
//! slots however slow the machine is. Observers can be stopped mid-tick and restarted from
//! their files; each run of a daemon keeps its own in-memory event log.
//!
//! When a test panics (or `E2E_DUMP` is set), the run prints every observer's event
//! history (less the per-slot noise) and the key switches on chain.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bp_failover::daemon::{Daemon, Options};
use bp_failover::decision::{Decision, State};
use bp_failover::drill::render_config;
use bp_failover::drill::scenario::{self, Params, Scenario};
use bp_failover::events::{Event, EventLog};
use bp_failover::sim::network::current_slot;
use bp_failover::sim::{Consensus, Network};

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

/// One observer: its files and the daemon currently running from them.
pub struct Observer {
    pub dir: tempfile::TempDir,
    config_path: PathBuf,
    opts: Options,
    daemon: Option<Daemon>,
    /// One event log per run of the daemon (a restart starts a new one).
    pub runs: Vec<EventLog>,
    /// `(slot since the start, decision)` after every tick, across runs.
    pub decisions: Vec<(u32, Option<Decision>)>,
}

impl Observer {
    fn start_daemon(&mut self, net: &Network) {
        let loaded = bp_failover::config::load(&self.config_path).expect("config loads");
        let key = bp_failover::keyfile::read_key_file(&self.dir.path().join("failover.key"))
            .expect("key file reads");
        let log = EventLog::memory();
        let daemon = Daemon::new(
            loaded.config,
            self.opts.clone(),
            key,
            Arc::new(net.shared()),
            log.clone(),
        )
        .expect("daemon starts");
        self.runs.push(log);
        self.daemon = Some(daemon);
    }

    /// The running daemon.
    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("the observer is running")
    }

    /// Every event of every run, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.runs.iter().flat_map(EventLog::history).collect()
    }

    /// Events of the current (last) run.
    pub fn current_events(&self) -> Vec<Event> {
        self.runs.last().map(EventLog::history).unwrap_or_default()
    }

    /// The state file as it is on disk now.
    pub fn state_on_disk(&self) -> State {
        bp_failover::state_file::load(&self.dir.path().join("state.json"))
            .expect("state file reads")
    }

    pub fn last_decision(&self) -> Option<&Decision> {
        self.decisions.last().and_then(|(_, d)| d.as_ref())
    }
}

/// A scenario running: the network and its observers.
pub struct Run {
    pub scenario: Scenario,
    pub net: Network,
    pub observers: Vec<Observer>,
}

impl Run {
    /// Starts `scenario` with its observers on default options.
    pub async fn start(scenario: Scenario) -> Run {
        Self::start_with(scenario, Options::default()).await
    }

    pub async fn start_with(scenario: Scenario, opts: Options) -> Run {
        let net = Network::start(scenario.spec.clone())
            .await
            .expect("network starts");
        scenario.prepare(&net).expect("k-of-n setup");
        let mut observers = Vec::new();
        for i in 0..scenario.running_observers() {
            let dir = tempfile::tempdir().expect("temp dir");
            let text =
                render_config(&net, &scenario.config_options(i, dir.path())).expect("config");
            let config_path = dir.path().join("config.toml");
            std::fs::write(&config_path, text).expect("config written");
            let mut o = Observer {
                dir,
                config_path,
                opts: opts.clone(),
                daemon: None,
                runs: Vec::new(),
                decisions: Vec::new(),
            };
            o.start_daemon(&net);
            observers.push(o);
        }
        Run {
            scenario,
            net,
            observers,
        }
    }

    /// Slots since the network started.
    pub fn slot(&self) -> u32 {
        self.net.elapsed_slots()
    }

    /// Advances one slot, then ticks every running daemon once (starting with a different
    /// observer each slot, as independent observers would).
    pub async fn step(&mut self) {
        self.net.step(1);
        let slot = self.slot();
        let n = self.observers.len();
        for k in 0..n {
            let o = &mut self.observers[(slot as usize + k) % n];
            if let Some(d) = o.daemon.as_mut() {
                d.tick().await;
                let decision = d.last_decision().cloned();
                o.decisions.push((slot, decision));
            }
        }
    }

    /// Steps until `done` holds (checked after each step); false if `limit` slots passed
    /// first.
    pub async fn run_until(&mut self, limit: u32, mut done: impl FnMut(&Run) -> bool) -> bool {
        for _ in 0..limit {
            self.step().await;
            if done(self) {
                return true;
            }
        }
        false
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

    /// Advances one slot and ticks observer `i` alone until the network sees a push, and
    /// then drops its daemon in the middle of that tick, as a crash would. Returns whether
    /// it crashed (false: the tick ended without a push).
    pub async fn step_crashing_on_push(&mut self, i: usize) -> bool {
        self.net.step(1);
        let before = self.net.push_requests();
        let net = &self.net;
        let seen_push = async {
            while net.push_requests() == before {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        let o = &mut self.observers[i];
        let Some(d) = o.daemon.as_mut() else {
            return false;
        };
        let crashed = tokio::select! {
            _ = d.tick() => false,
            _ = seen_push => true,
        };
        if crashed {
            o.daemon = None;
        } else {
            let decision = d.last_decision().cloned();
            o.decisions.push((self.net.elapsed_slots(), decision));
        }
        crashed
    }

    /// Takes observer `i`'s daemon out of the run (to drive it with [`Daemon::run`]).
    pub fn take_daemon(&mut self, i: usize) -> Option<Daemon> {
        self.observers[i].daemon.take()
    }

    /// Stops observer `i`'s daemon without letting it save anything more.
    pub fn crash(&mut self, i: usize) {
        self.observers[i].daemon = None;
    }

    /// Starts a new daemon for observer `i` from its config, key and state files.
    pub fn restart(&mut self, i: usize) {
        let net = &self.net;
        let o = &mut self.observers[i];
        o.daemon = None;
        o.start_daemon(net);
    }

    /// Rewrites observer `i`'s config with `edit` (given its directory and the current
    /// text) and starts a new daemon from it.
    pub fn reconfigure(&mut self, i: usize, edit: impl FnOnce(&std::path::Path, String) -> String) {
        let o = &mut self.observers[i];
        let text = std::fs::read_to_string(&o.config_path).expect("config reads");
        let text = edit(o.dir.path(), text);
        std::fs::write(&o.config_path, text).expect("config written");
        self.restart(i);
    }

    /// Every observer's history, one per observer (runs concatenated).
    pub fn histories(&self) -> Vec<Vec<Event>> {
        self.observers.iter().map(Observer::events).collect()
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

    /// Key switches on chain that changed our producer's key, as data center names.
    pub fn key_changes(&self) -> Vec<String> {
        self.net
            .key_switches()
            .iter()
            .filter(|s| s.changed)
            .map(|s| s.datacenter.clone().unwrap_or_default())
            .collect()
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
