//! Each table round while an incident's proposal is recorded: approve the converged
//! proposal, or cancel ours once the incident is over.

use super::actions::plan_actions;
use super::survey::read_row;
use crate::antelope::msig;
use crate::daemon::Daemon;
use crate::decision::msig::Plan;
use crate::events::Event;
use crate::quorum::Quorum;

impl Daemon {
    /// Each table round while an incident's proposal is recorded: while it is live and the
    /// key not switched, plan again (approve the proposal the observers converge on, or
    /// execute a complete one); once the key holds the target or the proposal expired,
    /// cancel it if it is ours and still on chain, and forget it.
    pub(in crate::daemon) async fn follow_msig(&mut self, q: &Quorum, order: &[usize], now: i64) {
        let (Some(msig), Some(rec)) = (self.msig_config(), self.machine.state.msig.clone()) else {
            return;
        };
        let head_ms = q.head.time.map_or(now, |t| t.unix_ms());
        let switched = self.table_key == Some(rec.to_key);
        let expired = head_ms >= rec.expires_ms;
        if !switched && !expired {
            if rec.executed || self.machine.state.pending.is_none() {
                return;
            }
            let Some(to) = self
                .config
                .datacenters
                .iter()
                .position(|d| d.signing_key == rec.to_key)
            else {
                return;
            };
            let surveyed = self.survey_for(&msig, to, order, head_ms).await;
            let Ok(Some((round, expected))) = surveyed else {
                return;
            };
            // Only a proposal we have not approved, or a complete one, needs us.
            if !matches!(round.plan, Plan::Approve { .. } | Plan::Exec { .. }) {
                return;
            }
            self.report_rejected(&round);
            let (proposer, exec, provided) = match &round.plan {
                Plan::Approve {
                    proposer,
                    exec,
                    provided,
                    ..
                } => (*proposer, *exec, *provided),
                Plan::Exec { proposer } => (*proposer, true, msig.threshold as usize - 1),
                _ => return,
            };
            let name = round.proposal_name;
            let expires = round.proposal_expires_ms.unwrap_or(head_ms);
            let Ok(actions) = plan_actions(&round.plan, &msig, name, expected, expires) else {
                return;
            };
            match self.msig_push(order, q, actions, |_, _, _| {}).await {
                Ok(p) => {
                    self.log.emit(Event::MsigApproved {
                        proposer: proposer.to_string(),
                        proposal: name.to_string(),
                        proposed: false,
                        executed: exec,
                        approvals: provided + 1,
                        threshold: msig.threshold,
                    });
                    self.log.emit(Event::TransactionPushed {
                        id: p.tx_id,
                        endpoint: p.endpoint,
                        latency_ms: p.latency_ms,
                        attempt: 1,
                    });
                    if let Some(r) = self.machine.state.msig.as_mut() {
                        r.executed = exec;
                    }
                    self.save_state();
                }
                Err(e) => {
                    tracing::warn!(error = %e, proposal = %name, "approving the converged proposal failed; retrying next round")
                }
            }
            return;
        }
        // The incident is over: cancel our proposal if it is still there.
        if rec.ours {
            match read_row(
                &self.pool,
                order,
                rec.proposer,
                "proposal",
                rec.proposal_name,
            )
            .await
            {
                Ok(Some(_)) => {
                    let action = msig::cancel(rec.proposer, rec.proposal_name, msig.observer);
                    let Ok(action) = action else { return };
                    match self.msig_push(order, q, vec![action], |_, _, _| {}).await {
                        Ok(p) => {
                            tracing::info!(proposal = %rec.proposal_name, tx = %p.tx_id, switched, "cancelled our stale proposal")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, proposal = %rec.proposal_name, "cancelling our stale proposal failed; retrying next round");
                            return;
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "reading our proposal");
                    return;
                }
            }
        }
        self.machine.state.msig = None;
        self.save_state();
    }
}
