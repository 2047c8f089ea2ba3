//! Act: the pure [`transition`] on the decision and its intents carried out in order
//! (events, state saves, the push through the [`Executor`](super::executor::Executor)).

use super::executor::SwitchOutcome;
use super::{Analysis, Daemon};
use crate::decision::Decision;
use crate::quorum::QuorumView;
use crate::state_file;
use crate::transition::{transition, Input, Intent, Observed, PushOutcome, Setup, Step};

impl Daemon {
    /// After the decision: the transition, then its intents, in order. `analysis`: this
    /// round's window (a switch's forecast starts from our current run of misses).
    pub(super) async fn act(
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
    pub(super) async fn push(
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
            Ok(())
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

    pub(super) fn save_state(&self) {
        if let Err(e) = state_file::save(&self.config.state.path, &self.machine.state) {
            tracing::error!(error = %e, "cannot save the state file");
        }
    }

    pub(super) fn setup(&self) -> Setup<'_> {
        Setup {
            producer: self.config.producer.account.to_string(),
            dcs: &self.dcs,
            cooldown_ms: self.config.policy.cooldown_secs as i64 * 1000,
            dry_run: self.opts.dry_run,
        }
    }

    /// Runs the pure transition on `step` and keeps its new state; returns its intents.
    pub(super) fn advance(&mut self, step: Step, now: i64) -> Vec<Intent> {
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
}
