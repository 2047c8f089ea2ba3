//! nodeos' authorization rules, once: used by `check`, the dry runs, the daemon's self-check
//! and the simulator. Pure (no I/O).
//!
//! Read from Leap/Spring `authorization_manager.cpp` (`lookup_minimum_permission`,
//! `lookup_linked_permission`, `check_authorization`), `permission_object.hpp`
//! (`satisfies`) and `authority_checker.hpp`:
//! - **Minimum permission** of `actor` for `code::action`: the permission linked to that
//!   action, else the one linked to the whole contract (empty action), else `active`. A link
//!   to `eosio.any` means any permission of the actor will do.
//! - **Relevance**: a declared `actor@perm` may authorize the action only if `perm` *is* the
//!   minimum permission or one of its ancestors; otherwise `irrelevant_auth_exception`
//!   (3090005).
//! - **Satisfaction**: a permission's authority is met when the weights of the provided
//!   keys, of nested `account@permission` entries that are themselves met (followed while
//!   the depth is below `max_authority_depth`, 6 by default; a permission being evaluated
//!   counts as unmet, which breaks cycles; a missing one weighs nothing) and of `waits`
//!   no longer than the transaction's delay (always 0 here) reach its threshold; otherwise
//!   `unsatisfied_authorization` (3090003). Entries are taken heaviest first and counting
//!   stops at the threshold; a provided key that was not needed is an irrelevant signature
//!   (3090006).
//!
//! Not modelled: the native actions with rules of their own (`updateauth`, `deleteauth`,
//! `linkauth`, `unlinkauth`, `canceldelay`), which the bot never sends, and permissions
//! granted to a contract (`provided_permissions`), which only inline actions carry.
//!
//! The input is what `get_account` returns for each account involved ([`Account`]); a
//! nested permission of an account that was not supplied is reported in
//! [`Tally::unread`] so the caller can fetch it and ask again.

use std::collections::BTreeMap;
use std::fmt;

use antelope::chain_api::{Account, Authority, PermissionLevel};
use antelope::{Name, PublicKey};

mod fix;
mod lookup;
mod weights;

pub use fix::{cleos_link, cleos_set_permission, fix};
pub use lookup::{descends_from, linked_permission, minimum_permission, MinPerm};
pub use weights::{weigh, weigh_with_permissions, Accounts, Tally};

/// nodeos' default `max_authority_depth` (chain config).
pub const MAX_AUTHORITY_DEPTH: u16 = 6;

fn active() -> Name {
    Name::literal("active")
}

/// Why nodeos would refuse `actor@permission` on `code::action` with the provided keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The actor's account was not supplied (or does not exist).
    UnknownAccount { actor: Name },
    /// The declared permission does not exist (nodeos: 3040000 "non-existent permission").
    UnknownPermission { level: PermissionLevel },
    /// The node does not report links, so the requirement cannot be known.
    LinksUnknown { level: PermissionLevel },
    /// 3090005 `irrelevant_auth_exception`.
    Irrelevant {
        level: PermissionLevel,
        code: Name,
        action: Name,
        min: MinPerm,
    },
    /// 3090003 `unsatisfied_authorization`.
    Unsatisfied {
        level: PermissionLevel,
        tally: Tally,
    },
    /// 3090006 `tx_irrelevant_sig`: a provided key that no authority needed.
    IrrelevantSignature { keys: Vec<PublicKey> },
}

impl Refusal {
    /// nodeos' error code for the refusal, where it has one.
    pub fn code(&self) -> Option<u32> {
        match self {
            Refusal::UnknownPermission { .. } => Some(3040000),
            Refusal::Irrelevant { .. } => Some(3090005),
            Refusal::Unsatisfied { .. } => Some(3090003),
            Refusal::IrrelevantSignature { .. } => Some(3090006),
            Refusal::UnknownAccount { .. } | Refusal::LinksUnknown { .. } => None,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownAccount { actor } => write!(f, "account {actor} was not found"),
            Refusal::UnknownPermission { level } => write!(
                f,
                "{}@{} does not exist (nodeos: 3040000 non-existent permission)",
                level.actor, level.permission
            ),
            Refusal::LinksUnknown { level } => write!(
                f,
                "cannot verify {}@{}: the node does not report linked actions (older than Leap 3.1)",
                level.actor, level.permission
            ),
            Refusal::Irrelevant {
                level,
                code,
                action,
                min,
            } => write!(
                f,
                "{}, which {}@{} cannot satisfy (a permission satisfies only itself and its descendants): nodeos refuses it with 3090005 irrelevant_auth_exception",
                min.describe(*code, *action),
                level.actor,
                level.permission
            ),
            Refusal::IrrelevantSignature { keys } => {
                let k: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                write!(
                    f,
                    "no authority needed the signature of {}: nodeos refuses it with 3090006 tx_irrelevant_sig",
                    k.join(", ")
                )
            }
            Refusal::Unsatisfied { level, tally } => {
                write!(
                    f,
                    "the provided keys give {}@{} weight {} of its threshold {} ({}): nodeos refuses it with 3090003 unsatisfied_authorization",
                    level.actor,
                    level.permission,
                    tally.weight,
                    tally.threshold,
                    tally.entries.join("; ")
                )?;
                if !tally.unread.is_empty() {
                    let u: Vec<String> = tally
                        .unread
                        .iter()
                        .map(|l| format!("{}@{}", l.actor, l.permission))
                        .collect();
                    write!(f, "; not read: {}", u.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// What a successful check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authorized {
    pub min: MinPerm,
    pub tally: Tally,
}

/// The relevance half of `check_authorization`, for `level` on `code::action`.
pub fn check_relevance(
    accounts: &Accounts<'_>,
    level: &PermissionLevel,
    code: Name,
    action: Name,
) -> Result<MinPerm, Refusal> {
    let Some(account) = accounts.get(level.actor) else {
        return Err(Refusal::UnknownAccount { actor: level.actor });
    };
    if account.permission(level.permission).is_none() {
        return Err(Refusal::UnknownPermission {
            level: level.clone(),
        });
    }
    let min = minimum_permission(account, code, action);
    match min.required() {
        None if min == MinPerm::Unknown => Err(Refusal::LinksUnknown {
            level: level.clone(),
        }),
        None => Ok(min),
        Some(required) if descends_from(account, required, level.permission) => Ok(min),
        Some(_) => Err(Refusal::Irrelevant {
            level: level.clone(),
            code,
            action,
            min,
        }),
    }
}

/// nodeos' `check_authorization` for one declared authorization of one action with the
/// provided `keys`: relevance, then satisfaction.
pub(crate) fn check_action(
    accounts: &Accounts<'_>,
    level: &PermissionLevel,
    code: Name,
    action: Name,
    keys: &[PublicKey],
) -> Result<Authorized, Refusal> {
    let min = check_relevance(accounts, level, code, action)?;
    let tally = weigh(accounts, level, keys, MAX_AUTHORITY_DEPTH).ok_or_else(|| {
        Refusal::UnknownPermission {
            level: level.clone(),
        }
    })?;
    if tally.satisfied {
        Ok(Authorized { min, tally })
    } else {
        Err(Refusal::Unsatisfied {
            level: level.clone(),
            tally,
        })
    }
}

/// One declared authorization of one action: `level` on `code::action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub level: PermissionLevel,
    pub code: Name,
    pub action: Name,
}

impl Declared {
    /// Every declared authorization of `actions`, in order.
    pub fn of(actions: &[antelope::Action]) -> Vec<Declared> {
        actions
            .iter()
            .flat_map(|a| {
                a.authorization.iter().map(move |l| Declared {
                    level: PermissionLevel {
                        actor: l.actor,
                        permission: l.permission,
                    },
                    code: a.account,
                    action: a.name,
                })
            })
            .collect()
    }
}

/// nodeos' `check_authorization` for a whole transaction signed by `keys`: every declared
/// authorization relevant and satisfied, then every key used (else 3090006). One line per
/// declared authorization on success.
pub fn check_transaction(
    accounts: &Accounts<'_>,
    declared: &[Declared],
    keys: &[PublicKey],
) -> Result<Vec<String>, Refusal> {
    let mut lines = Vec::new();
    let mut used = Vec::new();
    for d in declared {
        let ok = check_action(accounts, &d.level, d.code, d.action, keys)?;
        let how = match ok.min {
            MinPerm::Any => format!("{} (any permission)", ok.min.describe(d.code, d.action)),
            MinPerm::Exact(p) | MinPerm::WholeContract(p) if p != d.level.permission => format!(
                "{}, which {} satisfies as its ancestor",
                ok.min.describe(d.code, d.action),
                d.level.permission
            ),
            _ => ok.min.describe(d.code, d.action),
        };
        lines.push(format!(
            "{}@{} on {}::{}: {how}; the key gives weight {} of threshold {}",
            d.level.actor,
            d.level.permission,
            d.code,
            d.action,
            ok.tally.weight,
            ok.tally.threshold
        ));
        used.extend(ok.tally.used_keys);
    }
    let unused: Vec<PublicKey> = keys.iter().filter(|k| !used.contains(k)).copied().collect();
    if !unused.is_empty() {
        return Err(Refusal::IrrelevantSignature { keys: unused });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn fixture(name: &str) -> Account {
        let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn n(s: &str) -> Name {
        s.parse().unwrap()
    }

    fn lvl(actor: &str, perm: &str) -> PermissionLevel {
        PermissionLevel {
            actor: n(actor),
            permission: n(perm),
        }
    }

    fn key(seed: u8) -> PublicKey {
        antelope::PrivateKey::from_bytes(&[seed; 32])
            .unwrap()
            .public_key()
    }

    /// A permission; `links` as `(code, Some(action))` or `(code, None)`.
    fn perm(
        name: &str,
        parent: &str,
        threshold: u32,
        keys: &[(PublicKey, u16)],
        accounts: &[(&str, &str, u16)],
        links: &[(&str, Option<&str>)],
    ) -> Value {
        json!({
            "perm_name": name,
            "parent": parent,
            "required_auth": {
                "threshold": threshold,
                "keys": keys.iter().map(|(k, w)| json!({"key": k.to_string(), "weight": w})).collect::<Vec<_>>(),
                "accounts": accounts.iter().map(|(a, p, w)| json!({"permission": {"actor": a, "permission": p}, "weight": w})).collect::<Vec<_>>(),
                "waits": [],
            },
            "linked_actions": links.iter().map(|(c, a)| match a {
                Some(a) => json!({"account": c, "action": a}),
                None => json!({"account": c}),
            }).collect::<Vec<_>>(),
        })
    }

    fn account(name: &str, perms: Vec<Value>) -> Account {
        serde_json::from_value(json!({"account_name": name, "permissions": perms})).unwrap()
    }

    fn basic(name: &str, k: PublicKey, extra: Vec<Value>) -> Account {
        let mut perms = vec![
            perm("owner", "", 1, &[(k, 1)], &[], &[]),
            perm("active", "owner", 1, &[(k, 1)], &[], &[]),
        ];
        perms.extend(extra);
        account(name, perms)
    }

    const EOSIO: &str = "eosio";

    #[test]
    fn teamgreymass_links_and_keys_from_the_recorded_account() {
        let a = fixture("eos-mainnet_get_account_teamgreymass_2023.json");
        let accts = Accounts::new([&a]);
        let eosio = n(EOSIO);
        assert_eq!(
            minimum_permission(&a, eosio, n("unregprod")),
            MinPerm::Exact(n("killswitch"))
        );
        assert_eq!(
            minimum_permission(&a, eosio, n("regproducer")),
            MinPerm::Default
        );
        let killswitch: PublicKey = "EOS7CjC7GL71msPzAuAzd2WwiBEAzTcPL47ACrjSuiNmnnGGufYSn"
            .parse()
            .unwrap();
        // The killswitch key may unregister the producer...
        let ok = check_action(
            &accts,
            &lvl("teamgreymass", "killswitch"),
            eosio,
            n("unregprod"),
            &[killswitch],
        )
        .unwrap();
        assert_eq!(ok.tally.used_keys, vec![killswitch]);
        // ...but not regproducer, which is unlinked and so requires active: 3090005.
        let err = check_action(
            &accts,
            &lvl("teamgreymass", "killswitch"),
            eosio,
            n("regproducer"),
            &[killswitch],
        )
        .unwrap_err();
        assert_eq!(err.code(), Some(3090005));
        assert!(err.to_string().contains("requires active"), "{err}");
        // active satisfies the killswitch link as its ancestor, but the killswitch key
        // is not in active: 3090003.
        let err = check_action(
            &accts,
            &lvl("teamgreymass", "active"),
            eosio,
            n("unregprod"),
            &[killswitch],
        )
        .unwrap_err();
        assert_eq!(err.code(), Some(3090003));
        assert!(
            err.to_string().contains("weight 0 of its threshold 1"),
            "{err}"
        );
        // The claim key on voteproducer: linked to `vote`, a sibling: irrelevant.
        let err = check_action(
            &accts,
            &lvl("teamgreymass", "claim"),
            eosio,
            n("voteproducer"),
            &[],
        )
        .unwrap_err();
        assert!(
            matches!(err, Refusal::Irrelevant { min: MinPerm::Exact(p), .. } if p == n("vote"))
        );
        // A whole-contract link (decentium → decentiumorg) covers every action of it.
        assert_eq!(
            minimum_permission(&a, n("decentiumorg"), n("anything")),
            MinPerm::WholeContract(n("decentium"))
        );
    }

    #[test]
    fn wharfkit_custom_permission_from_the_recorded_account() {
        let a = fixture("jungle4_get_account_wharfkit1111_custom_permission_2024.json");
        let accts = Accounts::new([&a]);
        let test_key: PublicKey = "EOS6RMS3nvoN9StPzZizve6WdovaDkE5KkEcCDXW7LbepyAioMiK6"
            .parse()
            .unwrap();
        let token = n("eosio.token");
        let ok = check_action(
            &accts,
            &lvl("wharfkit1111", "test"),
            token,
            n("transfer"),
            &[test_key],
        )
        .unwrap();
        assert_eq!(ok.min, MinPerm::Exact(n("test")));
        assert_eq!((ok.tally.weight, ok.tally.threshold), (1, 1));
        // The same key declared as active: relevant (ancestor) but not in active.
        let err = check_action(
            &accts,
            &lvl("wharfkit1111", "active"),
            token,
            n("transfer"),
            &[test_key],
        )
        .unwrap_err();
        assert_eq!(err.code(), Some(3090003));
        // test on an unlinked action: the real node answered 3090005 (recorded in
        // jungle4_error_500_irrelevant_auth_compute_transaction_2024.json).
        let err = check_action(
            &accts,
            &lvl("wharfkit1111", "test"),
            n("eosio"),
            n("buyrambytes"),
            &[test_key],
        )
        .unwrap_err();
        assert_eq!(err.code(), Some(3090005));
        assert!(descends_from(&a, n("test"), n("owner")));
        assert!(!descends_from(&a, n("active"), n("test")));
        let err = check_action(
            &accts,
            &lvl("wharfkit1111", "nope"),
            token,
            n("transfer"),
            &[test_key],
        )
        .unwrap_err();
        assert_eq!(err.code(), Some(3040000));
    }

    #[test]
    fn threshold_two_needs_both_keys() {
        let (k1, k2, k3) = (key(1), key(2), key(3));
        let a = basic(
            "bp",
            k3,
            vec![perm(
                "failover",
                "active",
                2,
                &[(k1, 1), (k2, 1)],
                &[],
                &[(EOSIO, Some("regproducer"))],
            )],
        );
        let accts = Accounts::new([&a]);
        let l = lvl("bp", "failover");
        let err = check_action(&accts, &l, n(EOSIO), n("regproducer"), &[k1]).unwrap_err();
        let Refusal::Unsatisfied { tally, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((tally.weight, tally.threshold), (1, 2));
        assert!(
            err.to_string().contains("weight 1 of its threshold 2"),
            "{err}"
        );
        let ok = check_action(&accts, &l, n(EOSIO), n("regproducer"), &[k1, k2]).unwrap();
        assert_eq!(ok.tally.used_keys.len(), 2);
    }

    #[test]
    fn nested_account_permissions_are_followed() {
        let (ours, theirs) = (key(1), key(2));
        // bp@failover: threshold 1, satisfied by ops@active (which holds `theirs`).
        let bp = basic(
            "bp",
            ours,
            vec![perm(
                "failover",
                "active",
                1,
                &[],
                &[("ops", "active", 1)],
                &[(EOSIO, None)],
            )],
        );
        let ops = basic("ops", theirs, vec![]);
        let l = lvl("bp", "failover");
        // Without ops' account: unread, unsatisfied, and the caller learns what to fetch.
        let only_bp = Accounts::new([&bp]);
        let err = check_action(&only_bp, &l, n(EOSIO), n("regproducer"), &[theirs]).unwrap_err();
        let Refusal::Unsatisfied { tally, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(tally.unread, vec![lvl("ops", "active")]);
        assert!(err.to_string().contains("not read: ops@active"), "{err}");
        let both = Accounts::new([&bp, &ops]);
        let ok = check_action(&both, &l, n(EOSIO), n("regproducer"), &[theirs]).unwrap();
        assert_eq!(ok.min, MinPerm::WholeContract(n("failover")));
        assert_eq!(ok.tally.used_keys, vec![theirs]);
        assert!(check_action(&both, &l, n(EOSIO), n("regproducer"), &[ours]).is_err());
    }

    #[test]
    fn depth_limit_and_cycles() {
        let k = key(9);
        // a1@active → a2@active → … → a7@active (names a1…a5, aa, ab), which holds the key.
        let name_of = |i: usize| ["a1", "a2", "a3", "a4", "a5", "aa", "ab", "ac"][i - 1];
        let mut accts_owned = Vec::new();
        for i in 1..=7 {
            let name = name_of(i);
            let next = name_of(i + 1);
            let active = if i == 7 {
                perm("active", "owner", 1, &[(k, 1)], &[], &[])
            } else {
                perm("active", "owner", 1, &[], &[(next, "active", 1)], &[])
            };
            accts_owned.push(account(
                name,
                vec![perm("owner", "", 1, &[(key(8), 1)], &[], &[]), active],
            ));
        }
        let accts = Accounts::new(accts_owned.iter());
        let met = |from: usize, limit: u16| {
            weigh(&accts, &lvl(name_of(from), "active"), &[k], limit)
                .unwrap()
                .satisfied
        };
        // a7 holds the key itself (1 level); a2 reaches it through 5 nested levels, the
        // most depth 6 allows; a1 needs 6 nested levels: too deep.
        assert!(met(7, 6));
        assert!(met(2, 6));
        assert!(!met(1, 6));
        assert!(met(1, 7));
        // A cycle: x@active needs y@active, which needs x@active: never met, no loop.
        let x = account(
            "x",
            vec![perm("active", "owner", 1, &[], &[("y", "active", 1)], &[])],
        );
        let y = account(
            "y",
            vec![perm("active", "owner", 1, &[], &[("x", "active", 1)], &[])],
        );
        let xy = Accounts::new([&x, &y]);
        let t = weigh(&xy, &lvl("x", "active"), &[k], MAX_AUTHORITY_DEPTH).unwrap();
        assert!(!t.satisfied);
        assert!(t.entries[0].contains("not met"), "{:?}", t.entries);
    }

    #[test]
    fn links_to_children_parents_and_eosio_any() {
        let k = key(1);
        let eosio = n(EOSIO);
        let rp = n("regproducer");
        let mk = |links_on: &str, any: Value| {
            let mut a = basic(
                "bp",
                k,
                vec![
                    perm(
                        "failover",
                        "active",
                        1,
                        &[(k, 1)],
                        &[],
                        &if links_on == "failover" {
                            vec![(EOSIO, Some("regproducer"))]
                        } else {
                            vec![]
                        },
                    ),
                    perm(
                        "child",
                        "failover",
                        1,
                        &[(k, 1)],
                        &[],
                        &if links_on == "child" {
                            vec![(EOSIO, Some("regproducer"))]
                        } else {
                            vec![]
                        },
                    ),
                    perm(
                        "sibling",
                        "active",
                        1,
                        &[(k, 1)],
                        &[],
                        &if links_on == "sibling" {
                            vec![(EOSIO, Some("regproducer"))]
                        } else {
                            vec![]
                        },
                    ),
                ],
            );
            a.eosio_any_linked_actions = serde_json::from_value(any).unwrap();
            a
        };
        let l = lvl("bp", "failover");
        for (on, ok) in [
            ("failover", true),
            ("child", true),
            ("sibling", false),
            ("none", false),
        ] {
            let a = mk(on, json!([]));
            let r = check_action(&Accounts::new([&a]), &l, eosio, rp, &[k]);
            assert_eq!(r.is_ok(), ok, "link on {on}: {r:?}");
        }
        let a = mk(
            "none",
            json!([{"account": "eosio", "action": "regproducer"}]),
        );
        assert_eq!(
            check_action(&Accounts::new([&a]), &l, eosio, rp, &[k])
                .unwrap()
                .min,
            MinPerm::Any
        );
        // A node that reports no links at all: cannot verify.
        let mut a = mk("none", json!(null));
        for p in &mut a.permissions {
            p.linked_actions = None;
        }
        assert!(matches!(
            check_action(&Accounts::new([&a]), &l, eosio, rp, &[k]),
            Err(Refusal::LinksUnknown { .. })
        ));
    }

    #[test]
    fn an_unneeded_key_is_not_used() {
        let (k1, k2) = (key(1), key(2));
        let a = basic("bp", k1, vec![]);
        let t = weigh(&Accounts::new([&a]), &lvl("bp", "active"), &[k1, k2], 6).unwrap();
        assert!(t.satisfied);
        assert_eq!(t.used_keys, vec![k1]);
    }
}
