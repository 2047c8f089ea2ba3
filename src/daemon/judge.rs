//! Judge (the decide step): the pure [`decide`] on this round's observations, held back
//! while a fact was read without a majority, then [`gate`]d; and the forecast of the
//! contract's next schedule proposal it needs.

use super::{Analysis, Daemon};
use crate::antelope::BlockTimestamp;
use crate::decision::cadence::{self, Activation, ChainTiming};
use crate::decision::{decide, Decision, EndpointView, HoldReason, Inputs};
use crate::observer::schedule::{ConsensusMode, Schedule};
use crate::observer::stats::unconfirmed_misses;
use crate::quorum::{QuorumState, QuorumView, Verdict};
use crate::transition::gate;

impl Daemon {
    pub(super) fn decide(
        &self,
        view: &QuorumView,
        now: i64,
        analysis: &Analysis,
    ) -> Option<Decision> {
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

    /// When a key change pushed now would take effect, given the outage so far.
    pub(super) fn forecast(&self, now: i64, analysis: &Analysis) -> Option<(Activation, u32, u32)> {
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
}
