//! Fixes for a refusal, as cleos commands.

use super::*;

/// The authority that may change `perm` with `updateauth`: `owner` for `owner`, `active`
/// for everything below it.
fn updateauth_by(acct: Name, perm: Name) -> String {
    if perm == Name::literal("owner") {
        format!("-p {acct}@owner")
    } else {
        format!("-p {acct}@active")
    }
}

/// `cleos set account permission`: sets `acct@perm` to the one key `key` (weight 1,
/// threshold 1) under `parent`.
pub fn cleos_set_permission(acct: Name, perm: Name, key: &str, parent: Name) -> String {
    let parent = if perm == Name::literal("owner") || parent.is_empty() {
        String::new()
    } else {
        format!(" {parent}")
    };
    format!(
        "cleos set account permission {acct} {perm} {key}{parent} {}",
        updateauth_by(acct, perm)
    )
}

/// `cleos set action permission` (linkauth) of `eosio::action` to `acct@perm`.
pub fn cleos_link(acct: Name, code: Name, action: Name, perm: Name) -> String {
    format!("cleos set action permission {acct} {code} {action} {perm} -p {acct}@active")
}

/// The commands that make `refusal` go away for a signer with key `key`.
pub fn fix(refusal: &Refusal, accounts: &Accounts<'_>, key: &str) -> String {
    match refusal {
        Refusal::UnknownAccount { actor } => format!(
            "check that the account {actor} exists on this chain ([producer] account) and that an endpoint answers get_account"
        ),
        Refusal::UnknownPermission { level } => format!(
            "create it (then check again: a missing link is named with its own command):\n{}",
            cleos_set_permission(level.actor, level.permission, key, Name::literal("active"))
        ),
        Refusal::LinksUnknown { level } => format!(
            "check with `cleos get account {}` that the permission is linked, or use endpoints running Leap 3.1 or later",
            level.actor
        ),
        Refusal::Irrelevant {
            level, code, action, ..
        } => cleos_link(level.actor, *code, *action, level.permission),
        Refusal::Unsatisfied { level, .. } => {
            let parent = accounts
                .get(level.actor)
                .and_then(|a| a.permission(level.permission))
                .map_or(Name::literal("active"), |p| p.parent);
            format!(
                "put the failover key in the permission (this sets its authority to that one key, weight 1, threshold 1):\n{}",
                cleos_set_permission(level.actor, level.permission, key, parent)
            )
        }
        Refusal::IrrelevantSignature { .. } => {
            "sign with only the keys the permission needs".to_string()
        }
    }
}
