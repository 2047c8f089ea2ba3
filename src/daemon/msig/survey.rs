//! The incident's proposals as a majority of endpoints serve them, and the plan for them.

use serde_json::Value;

use crate::antelope::msig::{Approvals, Incident, Proposal, MSIG_ACCOUNT};
use crate::antelope::{Action, Name, PermissionLevel};
use crate::api::client::TableQuery;
use crate::api::EndpointPool;
use crate::config::MsigConfig;
use crate::daemon::executor::{ExecError, Executor, READ_GRACE};
use crate::daemon::onchain::row_key;
use crate::decision::msig::{plan, Found, Plan, Rejected, PROPOSAL_SECS};

/// One `eosio.msig` row by proposal name in `scope`, as a majority of endpoints serve it.
pub(super) async fn read_row(
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
pub(super) struct MsigRound {
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
pub(super) async fn survey(
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
