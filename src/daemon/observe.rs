//! Observe: one round's reads beyond the quorum view and the followed blocks — the
//! schedule, the contract's cadence (`global`), our producers row, the data centers' own
//! nodes — and what the window of blocks says ([`Analysis`]).

use futures_util::future::join_all;

use super::executor::{self, Executor};
use super::onchain::convert_schedule;
use super::{Analysis, Daemon, NOT_REGISTERED_RETRY_MS};
use crate::antelope::time::round_of;
use crate::antelope::{BlockTimestamp, Name, PublicKey};
use crate::decision::Readiness;
use crate::events::Event;
use crate::observer::schedule::{ConsensusMode, ScheduledProducer};
use crate::observer::stats::{participation, producer_stats, run_participation, timeline};
use crate::quorum::{QuorumView, Verdict};
use crate::readiness::node_readiness;
use crate::transition::{Intent, OurBlock, Step};

impl Daemon {
    /// Everything derived from the window of blocks, once per round.
    pub(super) fn analyze(&self) -> Analysis {
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

    /// An endpoint behind the agreed height does not vote, but its head can still be
    /// checked against the blocks already followed: another id there is another fork.
    pub(super) fn mark_forked(&self, view: &mut QuorumView) {
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

    pub(super) async fn poll_schedule(&mut self, order: &[usize], head_slot: u32) {
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
    pub(super) async fn poll_global(&mut self, order: &[usize]) {
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

    pub(super) async fn poll_table(&mut self, order: &[usize]) {
        let me = self.config.producer.account;
        match Executor::producer_row_agreed(&self.pool, order, me).await {
            Ok(a) => {
                self.said.not_registered = false;
                self.note_agreement("producers_row", &a.members, &a.outliers);
                self.disagreement.remove("producers_row");
                self.table_key = super::onchain::row_key(&a.value);
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

    pub(super) async fn poll_readiness(&mut self, view: &QuorumView, now: i64) {
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
    pub(super) fn action_names(&self) -> Vec<Name> {
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

    pub(super) fn active_key(&self) -> Option<PublicKey> {
        self.active
            .as_ref()
            .and_then(|s| s.get(self.config.producer.account))
            .and_then(ScheduledProducer::key)
    }

    /// Our producer's newest followed block and the key the schedule in force at its slot
    /// gives our producer (the chain accepted the block, so it is signed with that key).
    pub(super) fn our_newest_block(&self) -> Option<OurBlock> {
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
}

/// A `round_summary` for our most recent completed turn, unless `said` already covered it.
pub(super) fn turn_summary(
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
