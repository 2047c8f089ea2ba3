//! What a plan pushes (the `eosio.msig` actions) and what it does, in words.

use crate::antelope::msig;
use crate::antelope::{Action, Name, TimePointSec};
use crate::config::MsigConfig;
use crate::daemon::executor::ExecError;
use crate::decision::msig::Plan;

/// The actions that carry out `plan` (empty: nothing to push).
pub(super) fn plan_actions(
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
pub(super) fn describe_plan(plan: &Plan, msig: &MsigConfig, name: Name) -> String {
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
