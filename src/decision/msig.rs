//! `[msig]` mode, the pure part: given the incident's proposals as read from the chain (one
//! per observer scope at most, under the incident's deterministic name), what this observer
//! does: propose, approve (and execute when its approval makes the threshold), execute an
//! already complete proposal, wait, or nothing. A proposal that is not exactly the switch we
//! would send is rejected (reported, never approved); the others are judged on the same
//! facts by every honest observer, so they converge on one proposal.

use crate::antelope::msig::{check_proposed, Approvals, Proposal};
use crate::antelope::{Action, Checksum256, Name, PermissionLevel};

/// A proposal this tool makes expires this long after head time.
pub(crate) const PROPOSAL_SECS: u32 = 1800;
/// A proposal expiring later than this after head time is not ours, whatever it carries.
pub(crate) const MAX_PROPOSAL_SECS: i64 = 2 * 3600;

/// One proposal found under the incident's name, in the scope of `proposer`.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub proposer: Name,
    pub proposal: Proposal,
    /// Its `approvals2` row (`None`: missing, which the contract never leaves).
    pub approvals: Option<Approvals>,
}

/// What to do with the incident's proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// None acceptable exists: propose ours (in our scope) and approve it at once.
    Propose,
    /// Approve `proposer`'s proposal pinned to `hash`; `exec`: ours is the k-th approval.
    Approve {
        proposer: Name,
        hash: Checksum256,
        exec: bool,
        provided: usize,
    },
    /// We approved and it has k approvals: execute it.
    Exec { proposer: Name },
    /// We approved; `provided` of k so far.
    Wait { proposer: Name, provided: usize },
    /// Our own scope holds a proposal under this name that we must not approve (someone
    /// with our key made it): nothing we can do but report.
    Blocked,
}

/// A proposal that is not the switch we would send, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejected {
    pub proposer: Name,
    pub reason: String,
}

/// The plan, and the proposals rejected on the way.
///
/// `expected`: the actions we would send; `now_ms`: head time; `observers`: the configured
/// observers, in order (a tie between acceptable proposals goes to the earlier proposer).
pub(crate) fn plan(
    me: PermissionLevel,
    threshold: u32,
    observers: &[PermissionLevel],
    expected: &[Action],
    found: &[Found],
    now_ms: i64,
) -> (Plan, Vec<Rejected>) {
    let mut rejected = Vec::new();
    let mut acceptable = Vec::new();
    for f in found {
        match judge(f, expected, observers, now_ms) {
            Ok(Some(provided)) => acceptable.push((f, provided)),
            Ok(None) => {} // expired: no longer executable, not an attack
            Err(reason) => rejected.push(Rejected {
                proposer: f.proposer,
                reason,
            }),
        }
    }
    let rank = |p: Name| {
        observers
            .iter()
            .position(|o| o.actor == p)
            .unwrap_or(usize::MAX)
    };
    // The most advanced proposal first, then the configured order: observers seeing the
    // same tables pick the same one.
    acceptable.sort_by_key(|(f, provided)| (std::cmp::Reverse(*provided), rank(f.proposer)));
    let k = threshold as usize;
    let plan = match acceptable.first() {
        Some((f, provided)) => {
            let mine = f.approvals.as_ref().is_some_and(|a| a.has_approved(me));
            if mine && *provided >= k {
                Plan::Exec {
                    proposer: f.proposer,
                }
            } else if mine {
                Plan::Wait {
                    proposer: f.proposer,
                    provided: *provided,
                }
            } else {
                Plan::Approve {
                    proposer: f.proposer,
                    hash: f.proposal.hash(),
                    exec: provided + 1 >= k,
                    provided: *provided,
                }
            }
        }
        None if rejected.iter().any(|r| r.proposer == me.actor) => Plan::Blocked,
        None => Plan::Propose,
    };
    (plan, rejected)
}

/// `Ok(Some(approvals provided by configured observers))` for the exact switch we would
/// send, `Ok(None)` for one that expired, `Err(why)` for anything else.
fn judge(
    f: &Found,
    expected: &[Action],
    observers: &[PermissionLevel],
    now_ms: i64,
) -> Result<Option<usize>, String> {
    let trx = f.proposal.transaction().map_err(|e| e.to_string())?;
    let expires_ms = i64::from(trx.expiration.unix_secs()) * 1000;
    if expires_ms <= now_ms {
        return Ok(None);
    }
    if expires_ms > now_ms + MAX_PROPOSAL_SECS * 1000 {
        return Err(format!(
            "it expires at {} s, more than {MAX_PROPOSAL_SECS} s ahead (ours: {PROPOSAL_SECS} s)",
            expires_ms / 1000
        ));
    }
    check_proposed(&trx, expected).map_err(|e| e.to_string())?;
    let Some(a) = &f.approvals else {
        return Err("it has no approvals2 row".into());
    };
    if let Some(o) = observers
        .iter()
        .find(|o| !a.is_requested(**o) && !a.has_approved(**o))
    {
        return Err(format!("it does not request {o}'s approval"));
    }
    Ok(Some(
        observers.iter().filter(|o| a.has_approved(**o)).count(),
    ))
}
