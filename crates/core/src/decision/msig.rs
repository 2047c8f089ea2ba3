//! `[msig]` mode, the pure part: given the incident's proposals as read from the chain (one
//! per observer scope at most, under the incident's deterministic name), what this observer
//! does: propose, approve (and execute when its approval makes the threshold), execute an
//! already complete proposal, wait, or nothing. A proposal that is not exactly the switch we
//! would send is rejected (reported, never approved); the others are judged on the same
//! facts by every honest observer, so they converge on one proposal.

use antelope::msig::{check_proposed, Approvals, Proposal};
use antelope::{Action, Checksum256, Name, PermissionLevel};

/// A proposal this tool makes expires this long after head time.
pub const PROPOSAL_SECS: u32 = 1800;
/// A proposal expiring later than this after head time is not ours, whatever it carries.
pub const MAX_PROPOSAL_SECS: i64 = 2 * 3600;

/// One proposal found under the incident's name, in the scope of `proposer`.
#[derive(Debug, Clone)]
pub struct Found {
    pub proposer: Name,
    pub proposal: Proposal,
    /// Its `approvals2` row (`None`: missing, which the contract never leaves).
    pub approvals: Option<Approvals>,
}

/// What to do with the incident's proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// None acceptable exists: propose ours (in our scope) and approve it at once.
    /// `replace`: our scope already holds a proposal under the name that is not acceptable
    /// (left from an earlier incident and expired, or not the switch we would send): cancel
    /// it first, in the same transaction (the proposer may cancel its own at any time).
    Propose { replace: bool },
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
}

/// A proposal that is not the switch we would send, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub proposer: Name,
    pub reason: String,
}

/// The plan, and the proposals rejected on the way.
///
/// `expected`: the actions we would send; `now_ms`: head time; `observers`: the configured
/// observers, in order (a tie between acceptable proposals goes to the earlier proposer).
pub fn plan(
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
        None => Plan::Propose {
            replace: found.iter().any(|f| f.proposer == me.actor),
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use antelope::bytes::{Pack, Writer};
    use antelope::msig::{proposed_transaction, Approval};
    use antelope::{TimePoint, TimePointSec};

    /// 2026-12-01T12:00:00Z.
    const NOW: i64 = 1_796_126_400_000;

    fn level(actor: &str) -> PermissionLevel {
        PermissionLevel {
            actor: Name::literal(actor),
            permission: Name::literal("active"),
        }
    }

    fn observers() -> Vec<PermissionLevel> {
        ["obs1", "obs2", "obs3"].map(level).to_vec()
    }

    fn regproducer(data: u8) -> Vec<Action> {
        vec![Action {
            account: Name::literal("eosio"),
            name: Name::literal("regproducer"),
            authorization: vec![PermissionLevel {
                actor: Name::literal("ourproducer1"),
                permission: Name::literal("failover"),
            }],
            data: vec![data; 8],
        }]
    }

    fn found(proposer: &str, actions: Vec<Action>, secs: i64, approved: &[&str]) -> Found {
        let trx = proposed_transaction(
            TimePointSec::from_unix_secs(((NOW / 1000) + secs) as u32),
            actions,
        );
        let mut w = Writer::new();
        trx.pack(&mut w);
        let name = Name::literal("bpf123451234");
        let entry = |l: PermissionLevel, t: i64| Approval {
            level: l,
            time: TimePoint(t),
        };
        Found {
            proposer: Name::literal(proposer),
            proposal: Proposal {
                proposal_name: name,
                packed_transaction: w.into_bytes(),
            },
            approvals: Some(Approvals {
                version: 1,
                proposal_name: name,
                requested_approvals: observers()
                    .into_iter()
                    .filter(|o| !approved.contains(&o.actor.to_string().as_str()))
                    .map(|o| entry(o, 0))
                    .collect(),
                provided_approvals: approved.iter().map(|a| entry(level(a), NOW)).collect(),
            }),
        }
    }

    fn run(me: &str, found: &[Found]) -> (Plan, Vec<Rejected>) {
        plan(level(me), 2, &observers(), &regproducer(1), found, NOW)
    }

    #[test]
    fn nothing_found_proposes() {
        assert_eq!(run("obs1", &[]), (Plan::Propose { replace: false }, vec![]));
    }

    #[test]
    fn the_exact_switch_is_approved_and_the_kth_approval_executes() {
        let f = found("obs1", regproducer(1), 1800, &[]);
        let (p, rej) = run("obs2", std::slice::from_ref(&f));
        assert!(rej.is_empty());
        assert_eq!(
            p,
            Plan::Approve {
                proposer: Name::literal("obs1"),
                hash: f.proposal.hash(),
                exec: false,
                provided: 0
            }
        );
        let f = found("obs1", regproducer(1), 1800, &["obs1"]);
        let (p, _) = run("obs2", std::slice::from_ref(&f));
        assert!(
            matches!(
                p,
                Plan::Approve {
                    exec: true,
                    provided: 1,
                    ..
                }
            ),
            "{p:?}"
        );
        // Our approval in and k reached (two proposed at once): execute.
        let f = found("obs1", regproducer(1), 1800, &["obs1", "obs2"]);
        assert_eq!(
            run("obs2", &[f]).0,
            Plan::Exec {
                proposer: Name::literal("obs1")
            }
        );
        let f = found("obs1", regproducer(1), 1800, &["obs1"]);
        assert_eq!(
            run("obs1", &[f]).0,
            Plan::Wait {
                proposer: Name::literal("obs1"),
                provided: 1
            }
        );
    }

    #[test]
    fn a_foreign_proposal_is_rejected_and_never_approved() {
        let foreign = found("obs3", regproducer(9), 1800, &["obs3"]);
        let (p, rej) = run("obs1", std::slice::from_ref(&foreign));
        assert_eq!(
            p,
            Plan::Propose { replace: false },
            "ours goes in our own scope"
        );
        assert_eq!(rej.len(), 1);
        assert_eq!(rej[0].proposer, Name::literal("obs3"));
        assert!(rej[0].reason.contains("action 0"), "{}", rej[0].reason);
        // Under our own scope (our key is stolen, or a proposal of an earlier incident
        // with another url): reported, never approved, cancelled and replaced by ours.
        let mut mine = foreign;
        mine.proposer = Name::literal("obs1");
        let (p, rej) = run("obs1", &[mine]);
        assert_eq!((p, rej.len()), (Plan::Propose { replace: true }, 1));
        // Expiring too far ahead is not ours either.
        let far = found("obs2", regproducer(1), MAX_PROPOSAL_SECS + 60, &[]);
        let (p, rej) = run("obs1", &[far]);
        assert_eq!((p, rej.len()), (Plan::Propose { replace: false }, 1));
    }

    #[test]
    fn observers_converge_on_one_proposal() {
        // obs1 and obs3 proposed at once, each with its own approval: both obs2 and obs3
        // pick obs1's (a tie goes to the earlier configured proposer).
        let a = found("obs1", regproducer(1), 1800, &["obs1"]);
        let c = found("obs3", regproducer(1), 1800, &["obs3"]);
        for me in ["obs2", "obs3"] {
            let (p, _) = run(me, &[c.clone(), a.clone()]);
            assert!(
                matches!(p, Plan::Approve { proposer, exec: true, .. } if proposer == Name::literal("obs1")),
                "{me}: {p:?}"
            );
        }
        // The one with more approvals wins whatever the order.
        let c2 = found("obs3", regproducer(1), 1800, &["obs3", "obs2"]);
        let (p, _) = run("obs1", &[a, c2]);
        assert!(
            matches!(p, Plan::Approve { proposer, .. } if proposer == Name::literal("obs3")),
            "{p:?}"
        );
    }

    #[test]
    fn an_expired_proposal_is_ignored_and_its_proposer_replaces_it() {
        // Left under the incident's name by an earlier incident (the name carries no
        // schedule version): not an attack, not approved; its proposer cancels it and
        // proposes again in one transaction, the others propose in their own scope.
        let old = found("obs1", regproducer(1), -1, &["obs1", "obs3"]);
        assert_eq!(
            run("obs1", std::slice::from_ref(&old)),
            (Plan::Propose { replace: true }, vec![])
        );
        assert_eq!(
            run("obs2", &[old]),
            (Plan::Propose { replace: false }, vec![])
        );
        // A live one of an earlier incident with the same content has the same effect:
        // approved like a new one.
        let live = found("obs1", regproducer(1), 600, &["obs1"]);
        assert!(matches!(
            run("obs2", &[live]).0,
            Plan::Approve { exec: true, .. }
        ));
    }
}
