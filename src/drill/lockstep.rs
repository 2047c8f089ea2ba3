//! The one lockstep harness: the simulated network advanced slot by slot, and the real
//! [`Daemon`]s ticked once per slot, reading chain time as their clock.
//!
//! A slot is [`Lockstep::pace`] (wait as the [`Pace`] says), [`Lockstep::advance`] (the
//! network produces one slot) and [`Lockstep::tick`] (every running observer runs one
//! polling round); [`Lockstep::step`] does the three. The daemon sees the chain of the
//! current slot whatever the machine's speed, so a run is deterministic in slots; callers
//! that narrate or time a slot (the drill) call the three parts themselves.
//!
//! Observers ([`Observer`]) run from their files (config, key file, state file), as an
//! operator's would: they can be crashed mid-tick, restarted and reconfigured. Each run of
//! a daemon gets its own event log ([`Logs`]).
//!
//! With no observers the harness is a pacer for a network whose daemons run on their own
//! (`Daemon::run`): [`Lockstep::run`] steps at [`Pace::WallClock`] until told to stop and
//! calls back once per produced slot (the latency benchmark's driver).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use super::config::{render_config, ConfigOptions};
use super::scenario::Scenario;
use crate::antelope::BlockTimestamp;
use crate::daemon::{Daemon, Options};
use crate::decision::{Decision, State};
use crate::events::{Event, EventLog};
use crate::sim::Network;

/// How fast the network advances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// As fast as the daemons' rounds allow (tests).
    Unpaced,
    /// One slot every 0.5 s / scale of real time (the drill's `--time-scale`).
    Scaled(f64),
    /// Each slot when the wall clock reaches its time: chain time is real time.
    WallClock,
}

/// In what order the observers run their round each slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ticking {
    /// One after the other, starting with a different observer each slot, as independent
    /// observers would.
    Rotating,
    /// All at once (concurrently on this task).
    Concurrent,
}

/// What each run of an observer's daemon logs its events to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logs {
    /// Kept in memory: [`Observer::events`] (tests).
    History,
    /// Not kept: read them as they come with [`Observer::drain_events`] (the drill).
    Stream,
}

/// Why a lockstep run could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LockstepError {
    #[error("cannot start the simulated network")]
    Network(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("cannot set up the scenario's k-of-n observers: {0}")]
    Prepare(String),
    #[error("{context}")]
    Files {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot start observer {observer}'s daemon")]
    Daemon {
        observer: usize,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn files(
    context: String,
) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> LockstepError {
    move |source| LockstepError::Files { context, source }
}

/// One observer: its files and the daemon currently running from them.
pub struct Observer {
    /// Holds `config.toml`, `failover.key` and `state.json`.
    pub dir: PathBuf,
    config_path: PathBuf,
    opts: Options,
    logs: Logs,
    daemon: Option<Daemon>,
    events: Option<tokio::sync::mpsc::UnboundedReceiver<Event>>,
    /// One event log per run of the daemon (a restart starts a new one).
    pub runs: Vec<EventLog>,
    /// `(slot since the start, decision)` after every tick, across runs.
    pub decisions: Vec<(u32, Option<Decision>)>,
}

impl Observer {
    fn start_daemon(&mut self, net: &Network) -> Result<(), LockstepError> {
        let loaded = crate::config::load(&self.config_path)
            .map_err(|e| files(format!("cannot load {}", self.config_path.display()))(e.into()))?;
        let key = loaded
            .config
            .producer
            .key
            .load()
            .map_err(|e| files("cannot load the observer's failover key".into())(e.into()))?;
        let log = match self.logs {
            Logs::History => EventLog::memory(),
            Logs::Stream => EventLog::to_writer(
                crate::events::LogFormat::Json,
                true,
                Box::new(std::io::sink()),
            ),
        };
        self.events = (self.logs == Logs::Stream).then(|| log.subscribe());
        let daemon = Daemon::new(
            loaded.config,
            self.opts.clone(),
            key,
            Arc::new(net.shared()),
            log.clone(),
        )
        .map_err(|e| LockstepError::Daemon {
            observer: self.runs.len(),
            source: e.into(),
        })?;
        self.runs.push(log);
        self.daemon = Some(daemon);
        Ok(())
    }

    /// Its config file.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The running daemon, if any.
    pub fn daemon(&self) -> Option<&Daemon> {
        self.daemon.as_ref()
    }

    /// Every event of every run, oldest first ([`Logs::History`]).
    pub fn events(&self) -> Vec<Event> {
        self.runs.iter().flat_map(EventLog::history).collect()
    }

    /// Events of the current (last) run ([`Logs::History`]).
    pub fn current_events(&self) -> Vec<Event> {
        self.runs.last().map(EventLog::history).unwrap_or_default()
    }

    /// Events emitted since the last call ([`Logs::Stream`]).
    pub fn drain_events(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        if let Some(rx) = self.events.as_mut() {
            while let Ok(e) = rx.try_recv() {
                out.push(e);
            }
        }
        out
    }

    /// The state file as it is on disk now.
    pub fn state_on_disk(&self) -> Result<State, crate::state_file::StateError> {
        crate::state_file::load(&self.dir.join("state.json"))
    }

    pub fn last_decision(&self) -> Option<&Decision> {
        self.decisions.last().and_then(|(_, d)| d.as_ref())
    }
}

/// Waits between slots as a [`Pace`] says.
struct Pacer {
    pace: Pace,
    interval: Option<tokio::time::Interval>,
}

impl Pacer {
    fn new(pace: Pace) -> Self {
        Pacer {
            pace,
            interval: None,
        }
    }

    async fn wait(&mut self, net: &Network) {
        match self.pace {
            Pace::Unpaced => {}
            Pace::Scaled(scale) => {
                let interval = self.interval.get_or_insert_with(|| {
                    let mut i = tokio::time::interval(Duration::from_secs_f64(0.5 / scale));
                    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    i
                });
                interval.tick().await;
            }
            Pace::WallClock => {
                let next = net.with_chain(|c| c.slot()) + 1;
                let wait_ms =
                    BlockTimestamp(next).unix_ms() - chrono::Utc::now().timestamp_millis();
                if wait_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(wait_ms as u64)).await;
                }
            }
        }
    }
}

/// The network and its observers, advanced together.
pub struct Lockstep {
    pub net: Arc<Network>,
    pub observers: Vec<Observer>,
    ticking: Ticking,
    pacer: Pacer,
}

impl Lockstep {
    /// `net` with no observers yet.
    pub fn new(net: Arc<Network>, pace: Pace, ticking: Ticking) -> Self {
        Lockstep {
            net,
            observers: Vec::new(),
            ticking,
            pacer: Pacer::new(pace),
        }
    }

    /// Starts `scenario`'s network on loopback and its running observers, each with its
    /// config and key rendered into `dir` (into `dir/observerN` when there are several
    /// and `subdirs`). Returns the harness and the observers' config paths.
    pub async fn start(
        scenario: &Scenario,
        dir: &Path,
        subdirs: bool,
        opts: Options,
        logs: Logs,
        pace: Pace,
        ticking: Ticking,
    ) -> Result<Lockstep, LockstepError> {
        let net = Network::start(scenario.spec.clone())
            .await
            .map_err(|e| LockstepError::Network(e.into()))?;
        scenario.prepare(&net).map_err(LockstepError::Prepare)?;
        let mut ls = Lockstep::new(Arc::new(net), pace, ticking);
        let n = scenario.running_observers().max(1);
        for i in 0..n {
            let d = if subdirs && n > 1 {
                let d = dir.join(format!("observer{}", i + 1));
                std::fs::create_dir_all(&d).map_err(|e| {
                    files(format!("cannot create directory {}", d.display()))(e.into())
                })?;
                d
            } else {
                dir.to_path_buf()
            };
            let config_path = write_config(&ls.net, &scenario.config_options(i, &d))?;
            ls.add_observer(d, config_path, opts.clone(), logs)?;
        }
        Ok(ls)
    }

    /// Starts an observer from the files in `dir` (config at `config_path`).
    pub fn add_observer(
        &mut self,
        dir: PathBuf,
        config_path: PathBuf,
        opts: Options,
        logs: Logs,
    ) -> Result<(), LockstepError> {
        let mut o = Observer {
            dir,
            config_path,
            opts,
            logs,
            daemon: None,
            events: None,
            runs: Vec::new(),
            decisions: Vec::new(),
        };
        o.start_daemon(&self.net).map_err(|e| match e {
            LockstepError::Daemon { source, .. } => LockstepError::Daemon {
                observer: self.observers.len(),
                source,
            },
            other => other,
        })?;
        self.observers.push(o);
        Ok(())
    }

    /// Slots since the network started.
    pub fn slot(&self) -> u32 {
        self.net.elapsed_slots()
    }

    /// Waits until the next slot is due.
    pub async fn pace(&mut self) {
        self.pacer.wait(&self.net).await;
    }

    /// The network produces one slot.
    pub fn advance(&self) {
        self.net.step(1);
    }

    /// Every running observer runs one polling round; its decision is recorded.
    pub async fn tick(&mut self) {
        let slot = self.slot();
        match self.ticking {
            Ticking::Rotating => {
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
            Ticking::Concurrent => {
                join_all(
                    self.observers
                        .iter_mut()
                        .filter_map(|o| o.daemon.as_mut())
                        .map(Daemon::tick),
                )
                .await;
                for o in &mut self.observers {
                    if let Some(d) = o.daemon.as_ref() {
                        o.decisions.push((slot, d.last_decision().cloned()));
                    }
                }
            }
        }
    }

    /// One slot: [`pace`](Self::pace), [`advance`](Self::advance), [`tick`](Self::tick).
    pub async fn step(&mut self) {
        self.pace().await;
        self.advance();
        self.tick().await;
    }

    /// Steps until `stop` completes, calling `on_slot` with the chain's slot after each
    /// slot is produced (before the observers' rounds).
    pub async fn run(&mut self, stop: impl Future<Output = ()>, mut on_slot: impl FnMut(u32)) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = self.pacer.wait(&self.net) => {}
            }
            self.advance();
            on_slot(self.net.with_chain(|c| c.slot()));
            self.tick().await;
        }
    }

    /// Steps until `done` holds (checked after each step); false if `limit` slots passed
    /// first.
    pub async fn run_until(&mut self, limit: u32, mut done: impl FnMut(&Lockstep) -> bool) -> bool {
        for _ in 0..limit {
            self.step().await;
            if done(self) {
                return true;
            }
        }
        false
    }

    /// Advances one slot and ticks observer `i` alone until the network sees a push, and
    /// then drops its daemon in the middle of that tick, as a crash would. Returns whether
    /// it crashed (false: the tick ended without a push).
    pub async fn step_crashing_on_push(&mut self, i: usize) -> bool {
        self.advance();
        let before = self.net.push_requests();
        let net = &self.net;
        let seen_push = async {
            while net.push_requests() == before {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        let slot = self.net.elapsed_slots();
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
            o.decisions.push((slot, decision));
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
    pub fn restart(&mut self, i: usize) -> Result<(), LockstepError> {
        let net = &self.net;
        let o = &mut self.observers[i];
        o.daemon = None;
        o.start_daemon(net)
    }

    /// Rewrites observer `i`'s config with `edit` (given its directory and the current
    /// text) and starts a new daemon from it.
    pub fn reconfigure(
        &mut self,
        i: usize,
        edit: impl FnOnce(&Path, String) -> String,
    ) -> Result<(), LockstepError> {
        let o = &mut self.observers[i];
        let path = &o.config_path;
        let text = std::fs::read_to_string(path)
            .map_err(|e| files(format!("cannot read {}", path.display()))(e.into()))?;
        let text = edit(&o.dir, text);
        std::fs::write(path, text)
            .map_err(|e| files(format!("cannot write {}", path.display()))(e.into()))?;
        self.restart(i)
    }

    /// Every observer's history, one per observer (runs concatenated).
    pub fn histories(&self) -> Vec<Vec<Event>> {
        self.observers.iter().map(Observer::events).collect()
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

    /// Stops the observers, then the network.
    pub async fn shutdown(mut self) {
        self.observers.clear();
        if let Ok(net) = Arc::try_unwrap(self.net) {
            net.shutdown().await;
        }
    }
}

/// Writes `dir/failover.key` (0600) and `dir/config.toml` for `net`; neither may exist.
pub fn write_config(net: &Network, opts: &ConfigOptions) -> Result<PathBuf, LockstepError> {
    use std::io::Write as _;
    let dir = &opts.dir;
    let text = render_config(net, opts).map_err(|e| {
        files(format!(
            "cannot write the key file into {} (pass an empty --out directory)",
            dir.display()
        ))(e.into())
    })?;
    let path = dir.join("config.toml");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| {
            files(format!(
                "cannot create {} (pass an empty --out directory)",
                path.display()
            ))(e.into())
        })?;
    f.write_all(text.as_bytes())
        .map_err(|e| files(format!("cannot write {}", path.display()))(e.into()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::sim::NetworkSpec;

    fn assert_send<T: Send>(_: &T) {}

    /// With no observers and [`Pace::WallClock`], `run` produces each slot once the wall
    /// clock reaches it, one after the other, until stopped; in a spawned task (as the
    /// latency benchmark runs it beside a free-running daemon).
    #[tokio::test]
    async fn run_paces_slots_by_the_wall_clock_until_stopped() {
        let net = Arc::new(Network::start(NetworkSpec::new(4, 1)).await.unwrap());
        let mut ls = Lockstep::new(net.clone(), Pace::WallClock, Ticking::Rotating);
        let produced = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let stop = {
            let count = count.clone();
            async move {
                while count.load(Ordering::SeqCst) < 3 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        let on_slot = {
            let produced = produced.clone();
            move |slot: u32| {
                let now = chrono::Utc::now().timestamp_millis();
                produced.lock().unwrap().push((slot, now));
                count.fetch_add(1, Ordering::SeqCst);
            }
        };
        let task = async move { ls.run(stop, on_slot).await };
        assert_send(&task);
        tokio::time::timeout(Duration::from_secs(30), tokio::spawn(task))
            .await
            .expect("three slots within 30 s")
            .unwrap();
        let produced = produced.lock().unwrap().clone();
        assert!(produced.len() >= 3, "{produced:?}");
        for w in produced.windows(2) {
            assert_eq!(w[1].0, w[0].0 + 1, "one slot at a time: {produced:?}");
        }
        for (slot, at) in &produced {
            assert!(
                *at >= BlockTimestamp(*slot).unix_ms(),
                "slot {slot} before its time"
            );
        }
        assert_eq!(net.with_chain(|c| c.slot()), produced.last().unwrap().0);
    }
}
