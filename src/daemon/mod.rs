//! The daemon: observe → decide → act, in a loop.
//!
//! The loop and the [`Daemon`] live here; a round's parts in their own modules:
//! [`observe`] (the reads beyond the quorum view, what the window of blocks says),
//! [`report`] (events and gauges, each change said once), [`judge`] (the decision) and
//! [`act`] (the transition's intents, the push). [`onchain`] holds what the chain's
//! answers mean for our producer, for the commands too.
//!
//! Each round asks every endpoint for `get_info` (the pool's quorum view), follows the
//! agreed chain block by block, polls the schedule, our producers row and the data
//! centers' own nodes on their own cadences, runs the pure
//! [`decide`](fn@crate::decision::decide) and then the pure
//! [`transition`](crate::transition::transition), and carries out its intents
//! (events, state saves, the push through the [`executor::Executor`]). Every change is
//! reported once as an [`Event`]; the persisted state is written before any push and
//! whenever a switch progresses.

mod act;
mod error;
pub mod executor;
pub mod follow;
mod judge;
pub(crate) mod msig;
mod observe;
pub mod onchain;
pub mod preflight;
mod push;
mod report;
pub(crate) mod selfcheck;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::antelope::time::round_of;
use crate::antelope::{BlockTimestamp, PrivateKey, PublicKey};
use crate::api::{ChainClient, ClientOptions, Clock, EndpointPool};
use crate::config::Config;
use crate::decision::cadence;
use crate::decision::{DataCenter, Decision, Readiness};
use crate::events::{Event, EventLog, QuorumStatus};
use crate::metrics::Metrics;
use crate::observer::schedule::{ConsensusMode, Schedule, ScheduleBook};
use crate::observer::stats::{Participation, ProducerStats};
use crate::observer::tracker::Tracker;
use crate::quorum::QuorumView;
use crate::state_file;
use crate::transition::Machine;
pub use error::DaemonError;
use executor::Executor;

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Everything but the push.
    pub dry_run: bool,
    /// Time between polling rounds.
    pub poll_interval: Duration,
    /// Blocks read back at start (and after a long gap) to judge participation at once.
    pub backfill_blocks: u32,
    /// How often the schedule, the producers row and the data centers' nodes are read.
    pub schedule_every: Duration,
    pub table_every: Duration,
    pub readiness_every: Duration,
    /// A polling round closes this long after a quorum of endpoints has answered: a slow
    /// endpoint is reported as such instead of delaying every decision.
    pub round_grace: Duration,
    /// How often the setup self-check runs ([`selfcheck`]).
    pub selfcheck_every: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dry_run: false,
            poll_interval: Duration::from_millis(250),
            backfill_blocks: 600,
            schedule_every: Duration::from_secs(2),
            table_every: Duration::from_secs(2),
            readiness_every: Duration::from_secs(5),
            round_grace: Duration::from_millis(100),
            selfcheck_every: selfcheck::DEFAULT_EVERY,
        }
    }
}

/// How often the chain's `eosio` ABI is read again and checked by a majority.
const ABI_RECHECK_MS: i64 = 10 * 60 * 1000;

/// What the window of blocks says this round; computed once and shared by the
/// reporting, the decision and the gauges.
struct Analysis {
    stats: ProducerStats,
    participation: Participation,
    run_participation: Participation,
    /// A `round_summary` for a turn of ours not yet reported.
    turn_summary: Option<(u32, Event)>,
}

/// What the reporting has already said, so each change is said once.
#[derive(Debug, Default)]
struct Said {
    /// The round (`antelope::time::round_of` the head slot) the schedule was last read for.
    schedule_round: Option<u32>,
    quorum: Option<QuorumStatus>,
    endpoints_ok: Vec<Option<bool>>,
    mode: Option<ConsensusMode>,
    active_version: Option<(u32, Option<PublicKey>)>,
    readiness: Vec<Option<bool>>,
    last_turn_summarized: Option<u32>,
    stale_key: Option<(PublicKey, u32)>,
    /// `(endpoint, about)` already reported as disagreeing with the majority.
    disagreeing: std::collections::HashSet<(String, String)>,
    /// Our producer has no row in the producers table (a setup error).
    not_registered: bool,
}

/// How often the producers table is read again while our producer is not registered.
const NOT_REGISTERED_RETRY_MS: i64 = 30_000;

pub struct Daemon {
    config: Config,
    opts: Options,
    pool: EndpointPool,
    clock: Arc<dyn Clock>,
    log: EventLog,
    executor: Executor,
    dcs: Vec<DataCenter>,
    dc_clients: Vec<Option<ChainClient>>,
    tracker: Tracker,
    /// Endpoints that served blocks failing hash verification, tried last for reads.
    read_demotions: follow::ReadDemotions,
    book: ScheduleBook,
    mode: Option<ConsensusMode>,
    active: Option<Schedule>,
    table_key: Option<PublicKey>,
    /// Our keys seen in the active schedule during this run (former signers).
    former_keys: Vec<PublicKey>,
    /// Telos keeps its own count of our misses; reported beside ours as a cross-check.
    onchain_missed: Option<u32>,
    /// The newest head slot any endpoint reported this round (may be ahead of the
    /// agreed height we follow).
    newest_head_slot: u32,
    lib: Option<(u32, i64)>,
    readiness: Vec<Readiness>,
    primary_ready_since: Option<i64>,
    /// The persisted state and what has been reported
    /// ([`transition`](crate::transition::transition)).
    machine: Machine,
    last_schedule_ms: i64,
    last_table_ms: i64,
    /// When `[msig]` mode last followed the incident's proposal ([`msig`]).
    last_msig_ms: i64,
    last_readiness_ms: i64,
    said: Said,
    _lock: state_file::StateLock,
    abi_ready: bool,
    /// When the ABI was last checked by a majority (Unix ms).
    abi_checked_ms: i64,
    /// State reads without a majority, by what was read: the decision holds meanwhile.
    disagreement: std::collections::BTreeMap<String, String>,
    metrics: Metrics,
    last_view: Option<QuorumView>,
    last_decision: Option<Decision>,
    selfcheck: selfcheck::SelfCheck,
    /// `global.last_producer_schedule_update` (slot) and when it was last read.
    schedule_update: Option<u32>,
    last_global_ms: i64,
}

impl Daemon {
    pub fn new(
        config: Config,
        opts: Options,
        key: PrivateKey,
        clock: Arc<dyn Clock>,
        log: EventLog,
    ) -> Result<Self, DaemonError> {
        let pool = EndpointPool::from_config(&config.chain).map_err(DaemonError::HttpClient)?;
        let copts = ClientOptions {
            timeout: config.chain.request_timeout,
            ..ClientOptions::default()
        };
        let http = crate::api::client::http_client(&copts).map_err(DaemonError::HttpClient)?;
        let dc_clients = config
            .datacenters
            .iter()
            .map(|d| {
                d.api
                    .clone()
                    .map(|u| ChainClient::new(http.clone(), u, copts.clone()))
            })
            .collect();
        let dcs: Vec<DataCenter> = config
            .datacenters
            .iter()
            .map(|d| DataCenter {
                name: d.name.clone(),
                signing_key: d.signing_key,
            })
            .collect();
        // One daemon per state file: the lock is held for the daemon's life.
        let lock = state_file::try_lock(&config.state.path)?;
        let state = state_file::load(&config.state.path)?;
        check_state_dir_writable(&config.state.path)?;
        let n = dcs.len();
        Ok(Daemon {
            selfcheck: selfcheck::SelfCheck::new(opts.selfcheck_every),
            tracker: Tracker::new(opts.backfill_blocks.max(600) * 2),
            read_demotions: follow::ReadDemotions::default(),
            readiness: vec![Readiness::Unknown; n],
            executor: Executor::new(key),
            said: Said {
                readiness: vec![None; n],
                ..Said::default()
            },
            config,
            opts,
            pool,
            clock,
            log,
            dcs,
            dc_clients,
            book: ScheduleBook::default(),
            mode: None,
            active: None,
            table_key: None,
            onchain_missed: None,
            former_keys: Vec::new(),
            newest_head_slot: 0,
            lib: None,
            primary_ready_since: None,
            last_schedule_ms: i64::MIN / 2,
            last_table_ms: i64::MIN / 2,
            last_msig_ms: i64::MIN / 2,
            last_readiness_ms: i64::MIN / 2,
            machine: Machine::new(state),
            _lock: lock,
            abi_ready: false,
            abi_checked_ms: i64::MIN / 2,
            disagreement: Default::default(),
            metrics: Metrics::new(),
            last_view: None,
            last_decision: None,
            schedule_update: None,
            last_global_ms: i64::MIN / 2,
        })
    }

    /// Gauges for `/metrics` (counters come from the event log).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn last_decision(&self) -> Option<&Decision> {
        self.last_decision.as_ref()
    }

    pub fn last_view(&self) -> Option<&QuorumView> {
        self.last_view.as_ref()
    }

    /// The order reads would try the endpoints in after the last round.
    pub fn read_order(&self) -> Vec<usize> {
        self.last_view
            .as_ref()
            .map(|v| self.pool.read_order(v, false))
            .unwrap_or_default()
    }

    pub fn state(&self) -> &crate::decision::State {
        &self.machine.state
    }

    /// Runs until `shutdown` completes, then saves the state. A round under way when it
    /// completes is finished first (never a push cut off, never a state write lost).
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), DaemonError> {
        self.log.emit(Event::ObserverStarted {
            producer: self.config.producer.account.to_string(),
            datacenters: self.dcs.iter().map(|d| d.name.clone()).collect(),
            endpoints: self.pool.len(),
            dry_run: self.opts.dry_run,
            version: env!("CARGO_PKG_VERSION").to_string(),
        });
        tokio::pin!(shutdown);
        let reason = loop {
            let started = tokio::time::Instant::now();
            // The round runs to its end, a push in progress and the state save included: a
            // shutdown requested meanwhile is honoured right after it.
            self.tick().await;
            if futures_util::FutureExt::now_or_never(&mut shutdown).is_some() {
                break "shutdown requested";
            }
            let next = started + self.opts.poll_interval;
            tokio::select! {
                _ = &mut shutdown => break "shutdown requested",
                _ = tokio::time::sleep_until(next) => {}
            }
        };
        state_file::save(&self.config.state.path, &self.machine.state)?;
        self.log.emit(Event::ObserverStopped {
            reason: reason.to_string(),
        });
        Ok(())
    }

    /// One polling round.
    pub async fn tick(&mut self) {
        let now = self.clock.now_ms();
        let mut view = self
            .pool
            .observe_fast(self.clock.as_ref(), self.opts.round_grace)
            .await;
        self.mark_forked(&mut view);
        self.report_view(&view);
        let order = self.pool.read_order(&view, false);
        let mut gaps = Vec::new();
        if let Some(q) = view.quorum().cloned() {
            match self.lib {
                Some((num, _)) if q.lib.num <= num => {}
                _ => self.lib = Some((q.lib.num, now)),
            }
            let mut followed = follow::follow(
                &mut self.tracker,
                &self.pool,
                &order,
                q.head.num,
                q.head.id,
                self.opts.backfill_blocks,
                now.saturating_add(self.config.chain.max_clock_ahead.as_millis() as i64),
                &mut self.read_demotions,
            )
            .await;
            if let Some(e) = &followed.error {
                tracing::warn!(error = %e, "following the chain");
            }
            self.note_agreement("blocks", &[], &followed.outliers);
            // The followed chain must end at the id the quorum agreed on.
            if let Some(h) = self.tracker.head().filter(|h| h.num == q.head.num) {
                if h.id != q.head.id {
                    tracing::warn!(
                        num = h.num,
                        "the blocks followed do not end at the agreed head id; starting over"
                    );
                    self.tracker.reset();
                    followed.gaps.clear();
                }
            }
            gaps = followed.gaps;
            if let Some(head) = self.tracker.head() {
                let mode = ConsensusMode::from_header_version(head.schedule_version);
                if self.said.mode != Some(mode) {
                    self.said.mode = Some(mode);
                    self.log.emit(Event::ConsensusMode { mode });
                }
                self.mode = Some(mode);
            }
            // The newest head slot a majority of the agreeing endpoints have reached: one
            // endpoint alone cannot move it.
            let newest_slot = {
                let mut slots: Vec<u32> = view
                    .endpoints
                    .iter()
                    .filter(|e| q.members.contains(&e.index))
                    .filter_map(|e| e.head.and_then(|h| h.time))
                    .map(|t| t.slot())
                    .collect();
                slots.sort_unstable_by(|a, b| b.cmp(a));
                slots
                    .get(view.required.saturating_sub(1))
                    .copied()
                    .unwrap_or(0)
            };
            let now_slot = BlockTimestamp::from_unix_ms(now).map_or(0, |t| t.slot());
            self.newest_head_slot = newest_slot;
            let round = round_of(newest_slot);
            let last_round = self.tracker.head().map(|h| round_of(h.timestamp.slot()));
            // A new round is polled once, not every tick while blocks cannot be followed.
            if now - self.last_schedule_ms >= self.opts.schedule_every.as_millis() as i64
                || (last_round != Some(round) && self.said.schedule_round != Some(round))
                || self.active.is_none()
            {
                self.poll_schedule(&order, newest_slot.max(now_slot)).await;
                self.last_schedule_ms = now;
                self.said.schedule_round = Some(round);
            }
            let pending = self.machine.state.pending.is_some();
            // A producer that is not registered is a setup error: asked again slowly.
            let table_every = if self.said.not_registered {
                NOT_REGISTERED_RETRY_MS
            } else {
                self.opts.table_every.as_millis() as i64
            };
            if pending
                || now - self.last_table_ms >= table_every
                || (self.table_key.is_none() && !self.said.not_registered)
            {
                self.poll_table(&order).await;
                self.last_table_ms = now;
                if self.config.msig.is_some()
                    && !self.opts.dry_run
                    && now - self.last_msig_ms >= self.opts.table_every.as_millis() as i64
                {
                    self.last_msig_ms = now;
                    self.follow_msig(&q, &order, now).await;
                }
            }
            // The contract's cadence: re-read once the next update is due (it moves every
            // ~60.5 s), and at least every 30 s.
            let due = self.schedule_update.is_none_or(|last| {
                now_slot > last.saturating_add(cadence::SCHEDULE_TICK_SLOTS + 2)
            });
            if (due && now - self.last_global_ms >= self.opts.schedule_every.as_millis() as i64)
                || now - self.last_global_ms >= 30_000
            {
                self.poll_global(&order).await;
                self.last_global_ms = now;
            }
            if !self.abi_ready || now - self.abi_checked_ms >= ABI_RECHECK_MS {
                // Fetch and check the chain's ABI now, not in the middle of a failover, and
                // again now and then (a contract upgrade changes it).
                let actions = self.action_names();
                self.abi_checked_ms = now;
                match self.executor.prepare(&self.pool, &order, &actions).await {
                    Ok(a) => {
                        self.abi_ready = true;
                        self.note_agreement("abi", &a.members, &a.outliers);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "preparing the eosio ABI")
                    }
                }
            }
        }
        if now - self.last_readiness_ms >= self.opts.readiness_every.as_millis() as i64 {
            self.poll_readiness(&view, now).await;
            self.last_readiness_ms = now;
        }
        let mut analysis = self.analyze();
        self.report_gaps(&gaps, &analysis.stats);
        if let Some((turn, event)) = analysis.turn_summary.take() {
            self.said.last_turn_summarized = Some(turn);
            self.log.emit(event);
        }
        let decision = self.decide(&view, now, &analysis);
        if let Some(d) = decision {
            self.metrics.set_decision(&d);
            self.act(d.clone(), &view, &order, now, &analysis).await;
            self.last_decision = Some(d);
        }
        self.update_gauges(&view, now, &analysis);
        // After the decision, and never while a switch is under way: it informs only.
        let switching = self.machine.state.pending.is_some()
            || matches!(
                self.last_decision,
                Some(
                    Decision::Switch { .. }
                        | Decision::Confirming { .. }
                        | Decision::Pending { .. }
                )
            );
        if view.quorum().is_some() && !switching && self.selfcheck.due(now) {
            let (actions, signer) = (self.action_names(), self.executor.signer());
            let events = self
                .selfcheck
                .run(&self.pool, &order, &self.config, signer, &actions, now)
                .await;
            events.into_iter().for_each(|e| self.log.emit(e));
        }
        self.last_view = Some(view);
    }
}

/// The state file is written before every push: a directory that cannot take it (full
/// disk, read-only mount, wrong owner) is found at start, not in the middle of a failover.
fn check_state_dir_writable(path: &std::path::Path) -> Result<(), DaemonError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let probe = tempfile::Builder::new()
        .prefix(".bp-failover-write-check")
        .tempfile_in(&dir)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(&[0u8; 4096])?;
            f.as_file().sync_all()
        });
    probe.map_err(|source| DaemonError::StateDirNotWritable { dir, source })
}
