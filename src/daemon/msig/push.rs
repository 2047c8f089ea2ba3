//! The daemon's msig switch: survey, record, sign and push (or, in a dry run, only sign).

use std::time::Instant;

use super::actions::{describe_plan, plan_actions};
use super::survey::{survey, MsigRound};
use crate::antelope::{Action, Name};
use crate::config::MsigConfig;
use crate::daemon::executor::ExecError;
use crate::daemon::push::{join_errors, push_all};
use crate::daemon::Daemon;
use crate::decision::msig::Plan;
use crate::decision::state::MsigRecord;
use crate::events::Event;
use crate::quorum::Quorum;
use crate::transition::{PushOutcome, Step};

/// A signed transaction of `actions` pushed to every agreeing endpoint.
pub(super) struct Pushed {
    pub(super) tx_id: crate::antelope::Checksum256,
    pub(super) endpoint: String,
    pub(super) latency_ms: u64,
}

impl Daemon {
    pub(super) fn msig_config(&self) -> Option<MsigConfig> {
        self.config.msig.clone()
    }

    pub(super) fn report_rejected(&self, round: &MsigRound) {
        for r in &round.rejected {
            self.log.emit(Event::MsigProposalRejected {
                proposer: r.proposer.to_string(),
                proposal: round.proposal_name.to_string(),
                reason: r.reason.clone(),
            });
        }
    }

    /// Signs `actions` with this observer's key and pushes them.
    pub(super) async fn msig_push(
        &mut self,
        order: &[usize],
        q: &Quorum,
        actions: Vec<Action>,
        before_push: impl FnOnce(&mut Self, crate::antelope::Checksum256, i64),
    ) -> Result<Pushed, ExecError> {
        let base = q.head.time.map_or(self.clock.now_ms(), |t| t.unix_ms());
        let expires_ms = base + i64::from(self.executor.expire_secs) * 1000;
        let (tx, body) = self.executor.sign(actions, q, &q.lib.id, expires_ms)?;
        before_push(self, tx.id(), expires_ms);
        let started = Instant::now();
        let acked = Default::default();
        let endpoint = push_all(
            &self.pool,
            order,
            &body,
            self.executor.push_demoted(),
            acked,
        )
        .await
        .map_err(|errs| ExecError::Rejected(join_errors(&errs)))?;
        Ok(Pushed {
            tx_id: tx.id(),
            endpoint,
            latency_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// [`survey`] for a switch to data center `to`.
    pub(super) async fn survey_for(
        &mut self,
        msig: &MsigConfig,
        to: usize,
        order: &[usize],
        head_ms: i64,
    ) -> Result<Option<(MsigRound, Vec<Action>)>, ExecError> {
        let target = self.config.datacenters[to].clone();
        survey(
            &mut self.executor,
            &self.pool,
            order,
            &self.config,
            msig,
            &target,
            head_ms,
        )
        .await
    }

    /// The start of an msig push or dry run: reads the incident's proposals (by majority),
    /// plans and reports proposals it refuses. `Err`: the outcome to give the transition
    /// at once (no `[msig]` section, the key already switched, a read failed).
    async fn survey_round(
        &mut self,
        to: usize,
        q: &Quorum,
        order: &[usize],
        now: i64,
    ) -> Result<(MsigConfig, MsigRound, Vec<Action>, i64), PushOutcome> {
        let Some(msig) = self.msig_config() else {
            return Err(PushOutcome::Failed("no [msig] section".into()));
        };
        let head_ms = q.head.time.map_or(now, |t| t.unix_ms());
        let surveyed = self.survey_for(&msig, to, order, head_ms).await;
        let (round, expected) = match surveyed {
            Ok(Some(s)) => s,
            Ok(None) => return Err(PushOutcome::AlreadySwitched),
            Err(e) => return Err(PushOutcome::Failed(e.to_string())),
        };
        self.report_rejected(&round);
        Ok((msig, round, expected, head_ms))
    }

    /// `[msig]` mode's [`Daemon::push`]: the switch to data center `to` through the
    /// incident's proposal. Steps the transition with [`Step::Signed`] (before anything is
    /// pushed) like the single-key push.
    pub(in crate::daemon) async fn push_msig(
        &mut self,
        to: usize,
        q: &Quorum,
        order: &[usize],
        now: i64,
    ) -> PushOutcome {
        let (msig, round, expected, head_ms) = match self.survey_round(to, q, order, now).await {
            Ok(r) => r,
            Err(outcome) => return outcome,
        };
        let target = self.config.datacenters[to].clone();
        let name = round.proposal_name;
        let proposal_expires_ms = round.proposal_expires_ms.unwrap_or(head_ms);
        let (proposer, proposed, exec, provided) = match &round.plan {
            Plan::Propose { .. } => (msig.observer.actor, true, msig.threshold <= 1, 0),
            Plan::Approve {
                proposer,
                exec,
                provided,
                ..
            } => (*proposer, false, *exec, *provided),
            Plan::Exec { proposer } => (*proposer, false, true, msig.threshold as usize - 1),
            Plan::Wait { proposer, provided } => {
                // Our approval is already on chain (a lost state file, a restart): wait
                // for the others as if we had just approved.
                self.record_msig(*proposer, name, &target, proposal_expires_ms, true);
                self.advance_signed(to, None, proposal_expires_ms, now);
                tracing::info!(proposal = %name, %proposer, provided, "already approved; waiting for the other observers");
                return PushOutcome::Waiting;
            }
        };
        let actions = match plan_actions(&round.plan, &msig, name, expected, proposal_expires_ms) {
            Ok(a) => a,
            Err(e) => return PushOutcome::Failed(e.to_string()),
        };
        let record_expiry = proposal_expires_ms;
        let pushed = self
            .msig_push(order, q, actions, |d, tx_id, tx_expires_ms| {
                // Recorded before the push: a restart neither approves twice nor forgets it.
                d.record_msig(proposer, name, &target, record_expiry, false);
                if let Some(r) = d.machine.state.msig.as_mut() {
                    r.ours = r.ours || proposed;
                }
                // Until the proposal collects k approvals it may still switch the key.
                let until = if exec { tx_expires_ms } else { record_expiry };
                d.advance_signed(to, Some(tx_id), until, now);
            })
            .await;
        match pushed {
            Ok(p) => {
                if let Some(r) = self.machine.state.msig.as_mut() {
                    r.approved = true;
                    r.executed = exec;
                }
                self.save_state();
                self.log.emit(Event::MsigApproved {
                    proposer: proposer.to_string(),
                    proposal: name.to_string(),
                    proposed,
                    executed: exec,
                    approvals: provided + 1,
                    threshold: msig.threshold,
                });
                PushOutcome::Pushed {
                    tx_id: p.tx_id,
                    endpoint: p.endpoint,
                    latency_ms: p.latency_ms,
                    attempt: 1,
                }
            }
            Err(e) => PushOutcome::Failed(e.to_string()),
        }
    }

    /// `[msig]` mode's dry run: reads the incident's proposals, plans, builds and signs the
    /// transaction this observer would push (propose + approve, approve, approve + exec)
    /// and shows it; nothing is pushed.
    pub(in crate::daemon) async fn dry_run_msig(
        &mut self,
        to: usize,
        q: &Quorum,
        order: &[usize],
        now: i64,
    ) -> PushOutcome {
        let (msig, round, expected, head_ms) = match self.survey_round(to, q, order, now).await {
            Ok(r) => r,
            Err(outcome) => return outcome,
        };
        let name = round.proposal_name;
        let expires = round.proposal_expires_ms.unwrap_or(head_ms);
        let what = describe_plan(&round.plan, &msig, name);
        let actions = match plan_actions(&round.plan, &msig, name, expected, expires) {
            Ok(a) if a.is_empty() => return PushOutcome::Failed(format!("dry run: {what}")),
            Ok(a) => a,
            Err(e) => return PushOutcome::Failed(e.to_string()),
        };
        let expires_ms = head_ms + i64::from(self.executor.expire_secs) * 1000;
        match self.executor.sign(actions, q, &q.lib.id, expires_ms) {
            Ok((tx, body)) => PushOutcome::DryRun {
                tx_id: tx.id(),
                body: serde_json::to_value(&body).unwrap_or_default(),
                validation: format!(
                    "[msig] {what}; built and signed with {}, not pushed",
                    msig.observer
                ),
            },
            Err(e) => PushOutcome::Failed(e.to_string()),
        }
    }

    /// Steps the transition with [`Step::Signed`] and carries out its intents (a save).
    fn advance_signed(
        &mut self,
        to: usize,
        tx_id: Option<crate::antelope::Checksum256>,
        expires_ms: i64,
        now: i64,
    ) {
        let intents = self.advance(
            Step::Signed {
                to,
                tx_id,
                expires_ms,
            },
            now,
        );
        for i in intents {
            match i {
                crate::transition::Intent::Emit(e) => self.log.emit(e),
                crate::transition::Intent::Save => self.save_state(),
                other => tracing::error!(?other, "unexpected intent when signing"),
            }
        }
        self.save_state();
    }

    fn record_msig(
        &mut self,
        proposer: Name,
        name: Name,
        target: &crate::config::Datacenter,
        expires_ms: i64,
        approved: bool,
    ) {
        let me = self.config.msig.as_ref().map(|m| m.observer.actor);
        let same = self.machine.state.msig.as_ref().is_some_and(|r| {
            // The same name and proposer with another expiration: an earlier
            // incident's proposal (the name carries no schedule version).
            r.proposal_name == name && r.proposer == proposer && r.expires_ms == expires_ms
        });
        if !same {
            self.machine.state.msig = Some(MsigRecord {
                proposer,
                proposal_name: name,
                to_key: target.signing_key,
                ours: me == Some(proposer),
                approved,
                executed: false,
                expires_ms,
            });
        } else if let Some(r) = self.machine.state.msig.as_mut() {
            r.approved |= approved;
        }
        self.save_state();
    }
}
