//! `[msig]` mode, the I/O: the switch to a data center goes through `eosio.msig` instead of a
//! regproducer signed by this host alone.
//!
//! The incident's proposal name ([`Incident::proposal_name`]) is derived from what every
//! honest observer sees the same way; its `proposal` and `approvals2` rows are read, in every
//! configured observer's scope, by a majority of the endpoints. The pure
//! [`plan`](crate::decision::msig::plan) says what to do with them: propose and approve in
//! one transaction, approve (and execute, when ours is the k-th approval) the exact switch
//! we would send, execute one that is complete, or wait. A proposal for anything else is
//! reported (`msig_proposal_rejected`) and never approved. The state file records the
//! proposal ([`MsigRecord`]) before anything is pushed; each table round re-plans while the
//! incident lasts (two observers proposing at once converge on one proposal), and a stale
//! proposal of ours (the key switched, or expired) is cancelled.

use std::time::Instant;

use serde_json::Value;

use super::executor::{join_errors, push_all, row_key, ExecError, Executor, READ_GRACE};
use super::Daemon;
use crate::antelope::msig::{self, Approvals, Incident, Proposal, MSIG_ACCOUNT};
use crate::antelope::{Action, Name, PermissionLevel, TimePointSec};
use crate::api::client::TableQuery;
use crate::api::EndpointPool;
use crate::config::MsigConfig;
use crate::decision::msig::{plan, Found, Plan, Rejected, PROPOSAL_SECS};
use crate::decision::state::MsigRecord;
use crate::events::Event;
use crate::quorum::Quorum;
use crate::transition::{PushOutcome, Step};

/// One `eosio.msig` row by proposal name in `scope`, as a majority of endpoints serve it.
async fn read_row(
    pool: &EndpointPool,
    order: &[usize],
    scope: Name,
    table: &'static str,
    name: Name,
) -> Result<Option<Value>, ExecError> {
    let scope_text = scope.to_string();
    let agreed = pool
        .agreed(
            order,
            READ_GRACE,
            |c| {
                let q = TableQuery::by_primary_key(
                    &MSIG_ACCOUNT.to_string(),
                    &scope_text,
                    table,
                    name.as_u64(),
                );
                async move {
                    let rows: crate::api::TableRows<Value> = c.get_table_rows(&q).await?;
                    Ok(rows
                        .rows
                        .into_iter()
                        .find(|r| r["proposal_name"] == Value::String(name.to_string())))
                }
            },
            |row| row.clone(),
        )
        .await
        .map_err(|d| {
            ExecError::MsigRead(format!("eosio.msig {table} {scope}/{name}: {}", d.detail))
        })?;
    Ok(agreed.value)
}

/// The proposals under `name` in every observer's scope, with their approvals.
async fn read_found(
    pool: &EndpointPool,
    order: &[usize],
    observers: &[PermissionLevel],
    name: Name,
) -> Result<Vec<Found>, ExecError> {
    let mut found = Vec::new();
    let mut scopes: Vec<Name> = observers.iter().map(|o| o.actor).collect();
    scopes.dedup();
    for scope in scopes {
        let Some(row) = read_row(pool, order, scope, "proposal", name).await? else {
            continue;
        };
        let proposal = Proposal::from_row(&row).map_err(|e| ExecError::MsigRead(e.to_string()))?;
        let approvals = match read_row(pool, order, scope, "approvals2", name).await? {
            Some(row) => {
                Some(Approvals::from_row(&row).map_err(|e| ExecError::MsigRead(e.to_string()))?)
            }
            None => None,
        };
        found.push(Found {
            proposer: scope,
            proposal,
            approvals,
        });
    }
    Ok(found)
}

/// What one round of the msig switch did.
pub(crate) struct MsigRound {
    pub plan: Plan,
    pub rejected: Vec<Rejected>,
    pub proposal_name: Name,
    /// The proposal's expiration (ours if we propose), Unix ms.
    pub proposal_expires_ms: Option<i64>,
    /// The configured observers that approved the chosen proposal so far.
    pub approved_by: Vec<PermissionLevel>,
}

/// Reads the incident's proposals and plans. `Ok(None)`: the table already holds the key.
#[allow(clippy::too_many_arguments)]
async fn survey(
    exec: &mut Executor,
    pool: &EndpointPool,
    order: &[usize],
    config: &crate::config::Config,
    msig: &MsigConfig,
    to: &crate::config::Datacenter,
    head_ms: i64,
) -> Result<Option<(MsigRound, Vec<Action>)>, ExecError> {
    let row = Executor::producer_row(pool, order, config.producer.account).await?;
    let Some(replaced) = row_key(&row) else {
        return Err(ExecError::MsigRead(format!(
            "{}'s producers row holds no single K1 key: the incident has no replaced key to name its proposal by",
            config.producer.account
        )));
    };
    if replaced == to.signing_key {
        return Ok(None);
    }
    let expected = exec.switch_actions(pool, order, config, &row, to).await?;
    let name = Incident {
        producer: config.producer.account,
        target_key: to.signing_key,
        replaced_key: replaced,
    }
    .proposal_name();
    let found = read_found(pool, order, &msig.observers, name).await?;
    let (plan, rejected) = plan(
        msig.observer,
        msig.threshold,
        &msig.observers,
        &expected,
        &found,
        head_ms,
    );
    let proposal_expires_ms = match &plan {
        Plan::Approve { proposer, .. } | Plan::Exec { proposer } | Plan::Wait { proposer, .. } => {
            found
                .iter()
                .find(|f| f.proposer == *proposer)
                .and_then(|f| f.proposal.transaction().ok())
                .map(|t| i64::from(t.expiration.unix_secs()) * 1000)
        }
        // Whole seconds, as the proposed transaction's expiration carries it.
        Plan::Propose { .. } => Some((head_ms / 1000 + i64::from(PROPOSAL_SECS)) * 1000),
    };
    let chosen = match &plan {
        Plan::Approve { proposer, .. } | Plan::Exec { proposer } | Plan::Wait { proposer, .. } => {
            found.iter().find(|f| f.proposer == *proposer)
        }
        Plan::Propose { .. } => None,
    };
    let approved_by = msig
        .observers
        .iter()
        .filter(|o| {
            chosen
                .and_then(|f| f.approvals.as_ref())
                .is_some_and(|a| a.has_approved(**o))
        })
        .copied()
        .collect();
    Ok(Some((
        MsigRound {
            plan,
            rejected,
            proposal_name: name,
            proposal_expires_ms,
            approved_by,
        },
        expected,
    )))
}

/// The actions that carry out `plan` (empty: nothing to push).
fn plan_actions(
    plan: &Plan,
    msig: &MsigConfig,
    name: Name,
    expected: Vec<Action>,
    proposal_expires_ms: i64,
) -> Result<Vec<Action>, ExecError> {
    let me = msig.observer;
    let err = |e: msig::MsigError| ExecError::MsigRead(e.to_string());
    let k1 = msig.threshold <= 1;
    Ok(match plan {
        Plan::Propose { replace } => {
            let expiration = TimePointSec::from_unix_secs(
                u32::try_from(proposal_expires_ms / 1000).unwrap_or(u32::MAX),
            );
            let trx = msig::proposed_transaction(expiration, expected);
            // Proposed and approved in one transaction: nothing can replace it in between.
            // A proposal left under the name in our scope is cancelled first, in the same
            // transaction.
            let mut v = Vec::new();
            if *replace {
                v.push(msig::cancel(me.actor, name, me).map_err(err)?);
            }
            v.push(msig::propose(me, name, &msig.observers, &trx).map_err(err)?);
            v.push(msig::approve(me.actor, name, me, None).map_err(err)?);
            if k1 {
                v.push(msig::exec(me.actor, name, me).map_err(err)?);
            }
            v
        }
        Plan::Approve {
            proposer,
            hash,
            exec,
            ..
        } => {
            let mut v = vec![msig::approve(*proposer, name, me, Some(*hash)).map_err(err)?];
            if *exec {
                // The real contract's exec sees an approval made earlier in the same
                // transaction (fixtures/msig).
                v.push(msig::exec(*proposer, name, me).map_err(err)?);
            }
            v
        }
        Plan::Exec { proposer } => vec![msig::exec(*proposer, name, me).map_err(err)?],
        Plan::Wait { .. } => Vec::new(),
    })
}

/// What `plan` does, in words.
fn describe_plan(plan: &Plan, msig: &MsigConfig, name: Name) -> String {
    let k = msig.threshold;
    match plan {
        Plan::Propose { replace } => format!(
            "would {}propose {}/{name} (requesting {}) and approve it: 1 of {k} approvals",
            if *replace {
                "cancel the proposal left under that name and "
            } else {
                ""
            },
            msig.observer.actor,
            msig.observers
                .iter()
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Plan::Approve {
            proposer,
            exec,
            provided,
            ..
        } => format!(
            "would approve {proposer}/{name}: {} of {k} approvals{}",
            provided + 1,
            if *exec { ", and execute it" } else { "" }
        ),
        Plan::Exec { proposer } => {
            format!("would execute {proposer}/{name} ({k} of {k} approvals)")
        }
        Plan::Wait { proposer, provided } => {
            format!("already approved {proposer}/{name}: {provided} of {k} approvals, waiting")
        }
    }
}

/// What `failover --to D` did (or would do) in `[msig]` mode.
pub(crate) struct Manual {
    /// The plan in words.
    pub description: String,
    /// `proposer/name`.
    pub proposal: String,
    pub rejected: Vec<Rejected>,
    /// Approvals still needed after ours, and the observers that have not approved.
    pub still_needed: usize,
    pub waiting_for: Vec<PermissionLevel>,
    pub executed: bool,
    /// The transaction: pushed (`endpoint`, `latency_ms`) or, in a dry run, only signed.
    pub tx_id: Option<crate::antelope::Checksum256>,
    pub body: Option<crate::antelope::PackedTransaction>,
    pub endpoint: Option<(String, u64)>,
    /// The record a daemon keeps of this proposal (`State.msig`), once our approval is on
    /// chain (pushed now or before), or the proposal executed by us.
    pub record: Option<MsigRecord>,
}

/// `bp-failover failover --to D` in `[msig]` mode: the same reads and plan as the daemon;
/// pushes the transaction (propose + approve, approve, or approve + exec) unless `dry_run`,
/// where it is built and signed only. `Ok(None)`: the producers table already holds the key.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn manual(
    exec: &mut Executor,
    pool: &EndpointPool,
    order: &[usize],
    config: &crate::config::Config,
    msig: &MsigConfig,
    to: &crate::config::Datacenter,
    q: &Quorum,
    head_ms: i64,
    dry_run: bool,
) -> Result<Option<Manual>, ExecError> {
    let Some((round, expected)) = survey(exec, pool, order, config, msig, to, head_ms).await?
    else {
        return Ok(None);
    };
    let name = round.proposal_name;
    let description = describe_plan(&round.plan, msig, name);
    let expires = round.proposal_expires_ms.unwrap_or(head_ms);
    let (proposer, executed, mine) = match &round.plan {
        Plan::Propose { .. } => (msig.observer.actor, msig.threshold <= 1, true),
        Plan::Approve { proposer, exec, .. } => (*proposer, *exec, true),
        Plan::Exec { proposer } => (*proposer, true, false),
        Plan::Wait { proposer, .. } => (*proposer, false, false),
    };
    let mut approved_by = round.approved_by.clone();
    if mine && !approved_by.contains(&msig.observer) {
        approved_by.push(msig.observer);
    }
    let waiting_for: Vec<PermissionLevel> = msig
        .observers
        .iter()
        .filter(|o| !approved_by.contains(o))
        .copied()
        .collect();
    let still_needed = if executed {
        0
    } else {
        (msig.threshold as usize).saturating_sub(approved_by.len())
    };
    let mut out = Manual {
        description,
        proposal: format!("{proposer}/{name}"),
        rejected: round.rejected.clone(),
        still_needed,
        waiting_for,
        executed: false,
        tx_id: None,
        body: None,
        endpoint: None,
        record: None,
    };
    let record = |executed: bool| MsigRecord {
        proposer,
        proposal_name: name,
        to_key: to.signing_key,
        ours: proposer == msig.observer.actor,
        approved: approved_by.contains(&msig.observer),
        executed,
        expires_ms: expires,
    };
    let actions = plan_actions(&round.plan, msig, name, expected, expires)?;
    if actions.is_empty() {
        if mine {
            out.record = Some(record(false));
        }
        return Ok(Some(out));
    }
    let expires_ms = head_ms + i64::from(exec.expire_secs) * 1000;
    let (tx, body) = exec.sign(actions, q, &q.lib.id, expires_ms)?;
    out.tx_id = Some(tx.id());
    if dry_run {
        out.body = Some(body);
        return Ok(Some(out));
    }
    let started = Instant::now();
    // A one-shot command has seen no push audit yet: every endpoint counts.
    let endpoint = push_all(pool, order, &body, &Default::default(), Default::default())
        .await
        .map_err(|errs| ExecError::Rejected(join_errors(&errs)))?;
    out.endpoint = Some((endpoint, started.elapsed().as_millis() as u64));
    out.executed = executed;
    out.record = Some(record(executed));
    Ok(Some(out))
}

/// A signed transaction of `actions` pushed to every agreeing endpoint.
struct Pushed {
    tx_id: crate::antelope::Checksum256,
    endpoint: String,
    latency_ms: u64,
}

impl Daemon {
    fn msig_config(&self) -> Option<MsigConfig> {
        self.config.msig.clone()
    }

    fn report_rejected(&self, round: &MsigRound) {
        for r in &round.rejected {
            self.log.emit(Event::MsigProposalRejected {
                proposer: r.proposer.to_string(),
                proposal: round.proposal_name.to_string(),
                reason: r.reason.clone(),
            });
        }
    }

    /// Signs `actions` with this observer's key and pushes them.
    async fn msig_push(
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
    async fn survey_for(
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
    pub(super) async fn push_msig(
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
    pub(super) async fn dry_run_msig(
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

    /// Each table round while an incident's proposal is recorded: while it is live and the
    /// key not switched, plan again (approve the proposal the observers converge on, or
    /// execute a complete one); once the key holds the target or the proposal expired,
    /// cancel it if it is ours and still on chain, and forget it.
    pub(super) async fn follow_msig(&mut self, q: &Quorum, order: &[usize], now: i64) {
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
