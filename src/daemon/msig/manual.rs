//! `bp-failover failover --to D` in `[msig]` mode.

use std::time::Instant;

use super::actions::{describe_plan, plan_actions};
use super::survey::survey;
use crate::antelope::PermissionLevel;
use crate::api::EndpointPool;
use crate::config::MsigConfig;
use crate::daemon::executor::{ExecError, Executor};
use crate::daemon::push::{join_errors, push_all};
use crate::decision::msig::{Plan, Rejected};
use crate::decision::state::MsigRecord;
use crate::quorum::Quorum;

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
