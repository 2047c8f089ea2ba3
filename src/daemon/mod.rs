//! The daemon: observe → decide → act, in a loop.
//!
//! Each round asks every endpoint for `get_info` (the pool's quorum view), follows the
//! agreed chain block by block, polls the schedule, our producers row and the data
//! centers' own nodes on their own cadences, runs the pure [`decide`] and then the pure
//! [`transition`], and carries out its intents (events, state saves, the push through the
//! [`executor::Executor`]). Every change is reported once as an [`Event`]; the persisted
//! state is written before any push and whenever a switch progresses.

pub mod executor;
pub mod follow;
pub(crate) mod msig;
pub mod preflight;
pub(crate) mod selfcheck;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;

use crate::antelope::time::round_of;
use crate::antelope::{BlockTimestamp, Name, PrivateKey, PublicKey};
use crate::api::{ChainClient, ClientOptions, Clock, EndpointPool};
use crate::config::Config;
use crate::decision::cadence::{self, Activation, ChainTiming};
use crate::decision::transition::{
    gate, transition, Input, Intent, Machine, Observed, OurBlock, PushOutcome, Setup, Step,
};
use crate::decision::{decide, DataCenter, Decision, EndpointView, HoldReason, Inputs, Readiness};
use crate::events::{Event, EventLog, QuorumStatus};
use crate::metrics::Metrics;
use crate::observer::schedule::{ConsensusMode, Schedule, ScheduleBook, ScheduledProducer};
use crate::observer::stats::{
    participation, producer_stats, run_participation, timeline, unconfirmed_misses, Participation,
    ProducerStats,
};
use crate::observer::tracker::Tracker;
use crate::quorum::{QuorumState, QuorumView, Verdict};
use crate::readiness::node_readiness;
use crate::state_file;
use executor::{Executor, SwitchOutcome};

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
    /// The round (head slot / 12) the schedule was last read for.
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
    /// The persisted state and what has been reported ([`transition`]).
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
    ) -> anyhow::Result<Self> {
        let pool = EndpointPool::from_config(&config.chain)
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
        let copts = ClientOptions {
            timeout: config.chain.request_timeout,
            ..ClientOptions::default()
        };
        let http = crate::api::client::http_client(&copts)
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
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
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
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

    /// Everything derived from the window of blocks, once per round.
    fn analyze(&self) -> Analysis {
        let me = self.config.producer.account;
        let tl = timeline(&self.tracker, &self.book);
        let stats = producer_stats(&tl, me);
        let participation = participation(&tl, me, self.config.policy.participation_turns);
        let run_participation = run_participation(&tl, &stats, me);
        let turn_summary = turn_summary(
            &tl,
            me,
            &participation,
            self.config.policy.min_participation,
            self.said.last_turn_summarized,
            self.onchain_missed,
        );
        Analysis {
            stats,
            participation,
            run_participation,
            turn_summary,
        }
    }

    fn update_gauges(&self, view: &QuorumView, now: i64, analysis: &Analysis) {
        let m = &self.metrics;
        m.tick();
        m.set_observer_ready(!view.is_blind());
        for e in &view.endpoints {
            if let Some(url) = self.config.chain.endpoints.get(e.index) {
                let healthy = matches!(e.verdict, Verdict::Agrees | Verdict::Healthy);
                m.set_endpoint(url, healthy, Some(e.latency_ms));
            }
        }
        if let Some(q) = view.quorum() {
            m.set_lib_lag(q.head.num.saturating_sub(q.lib.num));
        }
        m.set_consecutive_missed(analysis.stats.consecutive_missed);
        m.set_participation(analysis.participation.ratio());
        m.set_pending_age(
            self.machine
                .state
                .pending
                .as_ref()
                .map(|p| (now - p.since_ms) as f64 / 1000.0),
        );
        for (dc, r) in self.dcs.iter().zip(&self.readiness) {
            if !matches!(r, Readiness::Unknown) {
                m.set_readiness(&dc.name, matches!(r, Readiness::Ready));
            }
        }
    }

    /// An endpoint behind the agreed height does not vote, but its head can still be
    /// checked against the blocks already followed: another id there is another fork.
    fn mark_forked(&self, view: &mut QuorumView) {
        for e in view.endpoints.iter_mut() {
            let (Verdict::Healthy, Some(head)) = (&e.verdict, e.head) else {
                continue;
            };
            if let Some(ours) = self.tracker.get(head.num).filter(|b| b.id != head.id) {
                e.verdict = Verdict::Excluded(crate::quorum::ExclusionReason::Forked {
                    height: head.num,
                    id: head.id,
                    quorum_id: ours.id,
                });
            }
        }
    }

    fn report_view(&mut self, view: &QuorumView) {
        let state = QuorumStatus::of(&view.state);
        if self.said.quorum != Some(state) {
            self.said.quorum = Some(state);
            self.log.emit(Event::QuorumChanged {
                state,
                detail: view.state.to_string(),
            });
        }
        self.said.endpoints_ok.resize(view.endpoints.len(), None);
        for e in &view.endpoints {
            let ok = matches!(e.verdict, Verdict::Agrees | Verdict::Healthy);
            let before = self.said.endpoints_ok[e.index];
            if before != Some(ok) {
                self.said.endpoints_ok[e.index] = Some(ok);
                match &e.verdict {
                    Verdict::Excluded(reason) => self.log.emit(Event::EndpointUnhealthy {
                        endpoint: e.label.clone(),
                        reason: reason.to_string(),
                    }),
                    _ if before.is_some() => self.log.emit(Event::EndpointRecovered {
                        endpoint: e.label.clone(),
                    }),
                    _ => {}
                }
            }
        }
    }

    async fn poll_schedule(&mut self, order: &[usize], head_slot: u32) {
        let r = self
            .pool
            .agreed(
                order,
                self.opts.round_grace,
                |c| c.get_producer_schedule(),
                |s| s.clone(),
            )
            .await;
        let sched = match r {
            Ok(a) => {
                self.note_agreement("schedule", &a.members, &a.outliers);
                self.disagreement.remove("schedule");
                a.value
            }
            Err(d) => {
                tracing::warn!(detail = %d, "get_producer_schedule");
                self.note_disagreement("schedule", d);
                return;
            }
        };
        let Some(active) = sched.active.as_ref().map(convert_schedule) else {
            return;
        };
        let mode = self.mode.unwrap_or(ConsensusMode::Savanna);
        self.book.observe_active(mode, &active, head_slot);
        // Schedules older than the window of followed blocks cannot matter any more: a
        // schedule that changes on every read stays bounded by the window.
        if let Some(first) = self.tracker.first().map(|b| b.timestamp.slot()) {
            let oldest_version = self
                .tracker
                .blocks()
                .map(|b| b.schedule_version)
                .filter(|&v| v != crate::observer::schedule::SAVANNA_SCHEDULE_VERSION)
                .min();
            self.book.prune_before(first, oldest_version);
        }
        if mode == ConsensusMode::Legacy {
            for s in [&sched.pending, &sched.proposed].into_iter().flatten() {
                self.book.observe_version(&convert_schedule(s));
            }
        }
        let me = self.config.producer.account;
        let our_key = active.get(me).and_then(ScheduledProducer::key);
        if let Some(k) = our_key {
            if !self.former_keys.contains(&k) {
                self.former_keys.push(k);
            }
            // Persisted, so a restart books the misses it reads back to the right key.
            let from_slot = BlockTimestamp(head_slot).round_start();
            let step = Step::KeyInForce { from_slot, key: k };
            for intent in self.advance(step, BlockTimestamp(head_slot).unix_ms()) {
                match intent {
                    Intent::Save => self.save_state(),
                    other => {
                        tracing::error!(?other, "unexpected intent for a key epoch")
                    }
                }
            }
        }
        let said = (active.version, our_key);
        if self.said.active_version != Some(said) || self.active.as_ref() != Some(&active) {
            if self.active.is_some() {
                self.log.emit(Event::ScheduleActivated {
                    version: active.version,
                    producers: active.producers.len(),
                    our_key,
                    datacenter: our_key.and_then(|k| self.dc_name(&k)),
                });
            }
            self.said.active_version = Some(said);
        }
        self.active = Some(active);
    }

    /// The contract's schedule cadence, by majority like every state read. Without a
    /// majority it is unknown: no forecast and no early switch (the confirming turns
    /// decide), but no hold either, since nothing else depends on it.
    async fn poll_global(&mut self, order: &[usize]) {
        let r = self
            .pool
            .agreed(
                order,
                self.opts.round_grace,
                |c| c.get_global_state(),
                |g| g.map(|g| g.last_producer_schedule_update),
            )
            .await;
        match r {
            Ok(a) => {
                self.note_agreement("global", &a.members, &a.outliers);
                self.schedule_update = a.value.map(|g| g.last_producer_schedule_update.slot());
            }
            Err(d) => {
                tracing::warn!(detail = %d, "reading eosio global (schedule cadence)");
                self.schedule_update = None;
            }
        }
    }

    /// When a key change pushed now would take effect, given the outage so far.
    fn forecast(&self, now: i64, analysis: &Analysis) -> Option<(Activation, u32, u32)> {
        let last_update = self.schedule_update?;
        let head = self.tracker.head()?;
        let active = self.active.as_ref()?;
        let me = self.config.producer.account;
        let n = active.producers.len();
        let index = active.producers.iter().position(|p| p.name == me)?;
        let now_slot = BlockTimestamp::from_unix_ms(now)?.slot();
        let first_miss = analysis.stats.run_slots.map_or(now_slot, |(from, _)| from);
        let timing = ChainTiming {
            mode: self.mode.unwrap_or(ConsensusMode::Savanna),
            last_update_slot: last_update,
            head_slot: head.timestamp.slot(),
            schedule_len: n,
        };
        let a = cadence::predict(
            &timing,
            now_slot.saturating_add(1),
            &cadence::down_from(n, index, first_miss),
        )?;
        let lost = cadence::our_slots_between(first_miss, a.active_slot, n, index);
        Some((a, lost, now_slot))
    }

    async fn poll_table(&mut self, order: &[usize]) {
        let me = self.config.producer.account;
        match Executor::producer_row_agreed(&self.pool, order, me).await {
            Ok(a) => {
                self.said.not_registered = false;
                self.note_agreement("producers_row", &a.members, &a.outliers);
                self.disagreement.remove("producers_row");
                self.table_key = executor::row_key(&a.value);
                self.onchain_missed = a.value.missed_blocks_per_rotation;
            }
            Err(executor::ExecError::ProducerRow { detail, .. }) => {
                tracing::warn!(%detail, "reading our producers row");
                self.note_disagreement(
                    "producers_row",
                    crate::api::pool::Disagreement {
                        detail,
                        outliers: Vec::new(),
                    },
                );
            }
            Err(e @ executor::ExecError::NotRegistered { .. }) => {
                if !self.said.not_registered {
                    tracing::error!(
                        "setup error: {e}; check [producer] account and [chain] endpoints \
                         (`bp-failover check`); asking again every {} s",
                        NOT_REGISTERED_RETRY_MS / 1000
                    );
                }
                self.said.not_registered = true;
            }
            Err(e) => tracing::warn!(error = %e, "reading our producers row"),
        }
    }

    /// Reports, once until it agrees again, each endpoint whose answer about `about`
    /// differed from the majority's.
    fn note_agreement(&mut self, about: &str, members: &[usize], outliers: &[(String, String)]) {
        for &k in members {
            let label = self.pool.client(k).endpoint().to_string();
            self.said.disagreeing.remove(&(label, about.to_string()));
        }
        for (endpoint, detail) in outliers {
            self.report_outlier(endpoint, about, detail);
        }
    }

    /// `endpoint_disagrees`, once until that endpoint agrees about `about` again.
    fn report_outlier(&mut self, endpoint: &str, about: &str, detail: &str) {
        if self
            .said
            .disagreeing
            .insert((endpoint.to_string(), about.to_string()))
        {
            self.log.emit(Event::EndpointDisagrees {
                endpoint: endpoint.to_string(),
                about: about.to_string(),
                detail: detail.to_string(),
            });
        }
    }

    /// No majority for `about`: the decision holds (`endpoints_disagree`) until one forms.
    fn note_disagreement(&mut self, about: &str, d: crate::api::pool::Disagreement) {
        for endpoint in &d.outliers {
            self.report_outlier(endpoint, about, &d.detail);
        }
        self.disagreement
            .insert(about.to_string(), format!("{about}: {}", d.detail));
    }

    async fn poll_readiness(&mut self, view: &QuorumView, now: i64) {
        let quorum = view.quorum();
        let answers = join_all(self.dc_clients.iter().map(|c| async move {
            match c {
                None => None,
                Some(c) => Some(c.get_info().await.map_err(|e| e.kind.to_string())),
            }
        }))
        .await;
        let me = self.config.producer.account;
        let active_key = self.active_key();
        for (i, answer) in answers.into_iter().enumerate() {
            let readiness = match &answer {
                None => Readiness::Unknown,
                Some(a) => node_readiness(a, now, quorum, &(&self.config.chain).into())
                    .verdict
                    .readiness(),
            };
            // Stale-key fencing: a data center that does not hold the active key but whose
            // node is producing our blocks on its own fork.
            if let (Some(Ok(info)), Some(active)) = (&answer, active_key) {
                let dc_key = self.dcs[i].signing_key;
                // Only a block we have followed at that height, with another id, is
                // evidence: a node ahead of our tracker is simply ahead.
                let off_our_chain = self
                    .tracker
                    .get(info.head_block_num)
                    .is_some_and(|b| b.id != info.head_block_id);
                let former = self.former_keys.contains(&dc_key)
                    || self
                        .machine
                        .state
                        .switches
                        .iter()
                        .any(|r| r.from == self.dcs[i].name);
                if dc_key != active && former && info.head_block_producer == me && off_our_chain {
                    let said = (dc_key, info.head_block_num);
                    if self.said.stale_key.map(|s| s.0) != Some(dc_key) {
                        self.log.emit(Event::StaleKeySigning {
                            key: dc_key,
                            datacenter: Some(self.dcs[i].name.clone()),
                            block: info.head_block_num,
                        });
                    }
                    self.said.stale_key = Some(said);
                }
            }
            let ready = !matches!(readiness, Readiness::NotReady(_));
            if self.said.readiness[i] != Some(ready) && !matches!(readiness, Readiness::Unknown) {
                self.said.readiness[i] = Some(ready);
                self.log.emit(Event::DatacenterReadiness {
                    datacenter: self.dcs[i].name.clone(),
                    ready,
                    detail: match &readiness {
                        Readiness::NotReady(why) => why.clone(),
                        _ => "synced with the quorum".into(),
                    },
                });
            }
            if i == 0 {
                match readiness {
                    Readiness::Ready => {
                        self.primary_ready_since.get_or_insert(now);
                    }
                    _ => self.primary_ready_since = None,
                }
            }
            self.readiness[i] = readiness;
        }
    }

    /// The actions a switch may carry.
    fn action_names(&self) -> Vec<Name> {
        let mut names = vec![self.config.producer.action.name()];
        if self
            .config
            .datacenters
            .iter()
            .any(|d| d.finalizer_key.is_some())
        {
            names.push(Name::literal("actfinkey"));
        }
        names
    }

    fn dc_name(&self, key: &PublicKey) -> Option<String> {
        self.dcs
            .iter()
            .find(|d| d.signing_key == *key)
            .map(|d| d.name.clone())
    }

    fn active_key(&self) -> Option<PublicKey> {
        self.active
            .as_ref()
            .and_then(|s| s.get(self.config.producer.account))
            .and_then(ScheduledProducer::key)
    }

    /// Our missed slots from this round's newly appended gaps, as one event.
    fn report_gaps(&self, gaps: &[(std::ops::Range<u32>, u32)], stats: &ProducerStats) {
        let me = self.config.producer.account;
        let mut slots = Vec::new();
        let mut key = None;
        for (range, version) in gaps {
            for slot in range.clone() {
                let p = self
                    .book
                    .resolve(slot, *version)
                    .and_then(|s| s.scheduled_at(slot));
                if let Some(p) = p.filter(|p| p.name == me) {
                    slots.push(slot);
                    // Before this run first saw the schedule, only the producer order is
                    // known: the key comes from what earlier runs recorded.
                    key = if self.book.keys_known(slot, *version) {
                        p.key()
                    } else {
                        self.machine.state.key_at(slot)
                    };
                }
            }
        }
        if slots.is_empty() {
            return;
        }
        self.log.emit(Event::MissedSlots {
            producer: me.to_string(),
            key,
            datacenter: key.and_then(|k| self.dc_name(&k)),
            count: slots.len() as u32,
            consecutive: stats.consecutive_missed,
            slots,
        });
    }

    fn decide(&self, view: &QuorumView, now: i64, analysis: &Analysis) -> Option<Decision> {
        let endpoints = match &view.state {
            QuorumState::Agreed(_) => EndpointView::Quorum,
            QuorumState::Disagree { .. } => EndpointView::Disagree(view.state.to_string()),
            QuorumState::Blind { .. } => EndpointView::Blind(view.state.to_string()),
        };
        let me = self.config.producer.account;
        let head = self.tracker.head();
        if endpoints == EndpointView::Quorum && (head.is_none() || self.active.is_none()) {
            return None; // warming up: nothing to judge yet
        }
        let active = self.active.clone().unwrap_or(Schedule {
            version: 0,
            producers: vec![],
        });
        // Slots up to the newest head an endpoint reports may have blocks we have not
        // followed yet: only slots past it are candidates for an unconfirmed miss.
        let unconfirmed = head.map_or(0, |h| {
            let known = h.timestamp.slot().max(self.newest_head_slot);
            unconfirmed_misses(&active, me, known, now)
        });
        let inputs = Inputs {
            now_ms: now,
            endpoints,
            mode: self.mode.unwrap_or(ConsensusMode::Savanna),
            head_time_ms: head.map_or(now, |h| h.timestamp.unix_ms()),
            lib_advanced_at_ms: self.lib.map_or(now, |(_, at)| at),
            schedule_len: active.producers.len(),
            active_key: self.active_key(),
            table_key: self.table_key,
            stats: &analysis.stats,
            unconfirmed_missed: unconfirmed,
            participation: &analysis.participation,
            run_participation: &analysis.run_participation,
            readiness: &self.readiness,
            primary_ready_since_ms: self.primary_ready_since,
            next_proposal_slot: self
                .forecast(now, analysis)
                .map(|(a, _, _)| a.proposal_slot),
            all_endpoints_agree: view.endpoints.len() == view.configured
                && view.endpoints.iter().all(|e| e.verdict == Verdict::Agrees),
        };
        let mut d = decide(&inputs, &self.dcs, &self.config.policy, &self.machine.state);
        // A fact read without a majority: never act (nor record a switch) on it.
        if let Some(why) = self.disagreement.values().next() {
            if let Decision::Switch { trigger, .. } = &d {
                d = Decision::Hold {
                    reason: HoldReason::EndpointsDisagree,
                    detail: format!("endpoints disagree on chain state, {why}"),
                    trigger: Some(trigger.clone()),
                };
            } else if matches!(&d, Decision::Pending { ours: false, .. })
                && self.machine.state.pending.is_none()
            {
                d = Decision::Hold {
                    reason: HoldReason::EndpointsDisagree,
                    detail: format!("endpoints disagree on chain state, {why}"),
                    trigger: None,
                };
            }
        }
        Some(gate(d, &self.machine.state, now, self.opts.dry_run))
    }

    fn save_state(&self) {
        if let Err(e) = state_file::save(&self.config.state.path, &self.machine.state) {
            tracing::error!(error = %e, "cannot save the state file");
        }
    }

    fn setup(&self) -> Setup<'_> {
        Setup {
            producer: self.config.producer.account.to_string(),
            dcs: &self.dcs,
            cooldown_ms: self.config.policy.cooldown_secs as i64 * 1000,
            dry_run: self.opts.dry_run,
        }
    }

    /// Our producer's newest followed block and the key the schedule in force at its slot
    /// gives our producer (the chain accepted the block, so it is signed with that key).
    fn our_newest_block(&self) -> Option<OurBlock> {
        let me = self.config.producer.account;
        let b = self.tracker.blocks().rev().find(|b| b.producer == me)?;
        let slot = b.timestamp.slot();
        if !self.book.keys_known(slot, b.schedule_version) {
            return None;
        }
        let key = self
            .book
            .resolve(slot, b.schedule_version)?
            .scheduled_at(slot)
            .filter(|p| p.name == me)?
            .key()?;
        Some(OurBlock { num: b.num, key })
    }

    /// Runs the pure transition on `step` and keeps its new state; returns its intents.
    fn advance(&mut self, step: Step, now: i64) -> Vec<Intent> {
        let setup = self.setup();
        let (next, intents) = transition(
            &self.machine,
            &Input {
                now_ms: now,
                setup: &setup,
                step,
            },
        );
        self.machine = next;
        intents
    }

    /// After the decision: the transition, then its intents, in order. `analysis`: this
    /// round's window (a switch's forecast starts from our current run of misses).
    async fn act(
        &mut self,
        d: Decision,
        view: &QuorumView,
        order: &[usize],
        now: i64,
        analysis: &Analysis,
    ) {
        // Our switch is not on chain yet: until it expires, push it again (bounded).
        if self
            .machine
            .state
            .pending
            .as_ref()
            .is_some_and(|p| p.ours && self.table_key != Some(p.to_key))
        {
            self.executor.repush(&self.pool, order, now);
        }
        // Our switch is on chain: name the endpoints that acknowledged it and dropped it.
        if self
            .machine
            .state
            .pending
            .as_ref()
            .is_some_and(|p| p.ours && self.table_key == Some(p.to_key))
        {
            for (endpoint, detail) in self.executor.audit_push(&self.pool).await {
                self.report_outlier(&endpoint, "push", &detail);
            }
        }
        let forecast = match d {
            Decision::Switch { .. } => self.forecast(now, analysis),
            _ => None,
        };
        // Only a key change seen in the table can be an operator's: the file is read then.
        let manual = match d {
            Decision::Pending { .. } => state_file::peek_manual(&self.config.state.path),
            _ => None,
        };
        let observed = Observed {
            active_key: self.active_key(),
            table_key: self.table_key,
            missed_now: analysis.stats.consecutive_missed,
            our_block: self.our_newest_block(),
        };
        let step = Step::Decided {
            decision: d,
            observed,
            manual,
            forecast,
        };
        let mut intents: std::collections::VecDeque<Intent> = self.advance(step, now).into();
        while let Some(intent) = intents.pop_front() {
            match intent {
                Intent::Emit(e) => self.log.emit(e),
                Intent::Save => self.save_state(),
                Intent::TableHolds(key) => self.table_key = Some(key),
                Intent::ConsumeManual => state_file::remove_manual(&self.config.state.path),
                Intent::Push { to, dry_run } => {
                    let outcome = self.push(to, dry_run, view, order, now).await;
                    let more = self.advance(Step::Pushed { to, outcome }, now);
                    for i in more.into_iter().rev() {
                        intents.push_front(i);
                    }
                }
            }
        }
    }

    /// Builds, signs and pushes the key switch to data center `to` (or rehearses it). The
    /// transaction is in the state file before it is pushed.
    async fn push(
        &mut self,
        to: usize,
        dry_run: bool,
        view: &QuorumView,
        order: &[usize],
        now: i64,
    ) -> PushOutcome {
        let Some(q) = view.quorum().cloned() else {
            return PushOutcome::Failed("no quorum of endpoints to push to".into());
        };
        if self.config.msig.is_some() {
            return if dry_run {
                self.dry_run_msig(to, &q, order, now).await
            } else {
                self.push_msig(to, &q, order, now).await
            };
        }
        let target = self.config.datacenters[to].clone();
        if dry_run {
            let head_ms = self.tracker.head().map_or(now, |h| h.timestamp.unix_ms());
            let r = self
                .executor
                .dry_run(&self.pool, order, &self.config, &target, &q, head_ms)
                .await;
            return match r {
                Ok(SwitchOutcome::DryRun {
                    tx_id,
                    body,
                    validation,
                }) => PushOutcome::DryRun {
                    tx_id,
                    body: serde_json::to_value(&body).unwrap_or_default(),
                    validation,
                },
                Ok(SwitchOutcome::AlreadySwitched) => PushOutcome::AlreadySwitched,
                Ok(other) => {
                    tracing::error!(?other, "dry run produced a push");
                    PushOutcome::AlreadySwitched
                }
                Err(e) => PushOutcome::Failed(e.to_string()),
            };
        }
        let path = self.config.state.path.clone();
        let log = self.log.clone();
        let setup = Setup {
            producer: self.config.producer.account.to_string(),
            dcs: &self.dcs,
            cooldown_ms: self.config.policy.cooldown_secs as i64 * 1000,
            dry_run,
        };
        // Both callbacks step the machine; it is put back once the push is over.
        let machine = std::sync::Mutex::new(std::mem::take(&mut self.machine));
        let step = |step: Step| {
            let mut m = machine.lock().unwrap_or_else(|e| e.into_inner());
            let (next, intents) = transition(
                &m,
                &Input {
                    now_ms: now,
                    setup: &setup,
                    step,
                },
            );
            *m = next;
            for i in intents {
                match i {
                    Intent::Emit(e) => log.emit(e),
                    Intent::Save => state_file::save(&path, &m.state)?,
                    other => {
                        tracing::error!(?other, "unexpected intent during a push")
                    }
                }
            }
            anyhow::Ok(())
        };
        let r = self
            .executor
            .switch(
                &self.pool,
                order,
                &self.config,
                &target,
                &q,
                self.clock.as_ref(),
                |tx, expires_ms| {
                    step(Step::Signed {
                        to,
                        tx_id: Some(tx.id()),
                        expires_ms,
                    })
                },
                |tx, why, retrying| {
                    if let Err(e) = step(Step::AttemptFailed {
                        tx_id: tx.id(),
                        why: why.to_string(),
                        retrying,
                    }) {
                        tracing::error!(error = %e, "cannot save the state file");
                    }
                },
            )
            .await;
        self.machine = machine.into_inner().unwrap_or_else(|e| e.into_inner());
        match r {
            Ok(SwitchOutcome::Pushed {
                tx_id,
                endpoint,
                latency_ms,
                attempt,
                ..
            }) => PushOutcome::Pushed {
                tx_id,
                endpoint,
                latency_ms,
                attempt,
            },
            Ok(SwitchOutcome::AlreadySwitched | SwitchOutcome::DryRun { .. }) => {
                PushOutcome::AlreadySwitched
            }
            Err(e) => PushOutcome::Failed(e.to_string()),
        }
    }
}

/// The state file is written before every push: a directory that cannot take it (full
/// disk, read-only mount, wrong owner) is found at start, not in the middle of a failover.
fn check_state_dir_writable(path: &std::path::Path) -> anyhow::Result<()> {
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
    probe.map_err(|e| {
        anyhow::anyhow!(
            "the state directory {} is not writable ({e}): the state is saved before every \
             push; fix its permissions or free disk space, or set [state] path elsewhere",
            dir.display()
        )
    })
}

/// A `round_summary` for our most recent completed turn, unless `said` already covered it.
fn turn_summary(
    tl: &[crate::observer::stats::Slot<'_>],
    me: Name,
    part: &crate::observer::stats::Participation,
    min_participation: f64,
    said: Option<u32>,
    onchain: Option<u32>,
) -> Option<(u32, Event)> {
    let head_turn = round_of(tl.last()?.slot);
    let turn = tl
        .iter()
        .rev()
        .find(|s| round_of(s.slot) < head_turn && s.scheduled.is_some_and(|p| p.name == me))
        .map(|s| round_of(s.slot))?;
    if said == Some(turn) {
        return None;
    }
    let (produced, missed) =
        tl.iter()
            .filter(|s| round_of(s.slot) == turn)
            .fold(
                (0, 0),
                |(p, m), s| if s.produced { (p + 1, m) } else { (p, m + 1) },
            );
    let healthy = part.ratio().is_some_and(|r| r >= min_participation);
    Some((
        turn,
        Event::RoundSummary {
            scheduled: me.to_string(),
            produced,
            missed,
            participation: part.ratio(),
            solo_misses: if healthy { missed } else { 0 },
            network_misses: if healthy { 0 } else { missed },
            onchain_missed_per_rotation: onchain,
        },
    ))
}

/// The API's schedule as the observer's: K1 keys only (others cannot be ours).
pub fn convert_schedule(s: &crate::api::ProducerSchedule) -> Schedule {
    Schedule {
        version: s.version,
        producers: s
            .producers
            .iter()
            .map(|p| ScheduledProducer {
                name: p.producer_name,
                threshold: p.authority.threshold,
                keys: p
                    .authority
                    .keys
                    .iter()
                    .filter_map(|kw| kw.key.as_k1().copied())
                    .collect(),
            })
            .collect(),
    }
}
