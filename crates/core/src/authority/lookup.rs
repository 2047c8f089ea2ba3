//! Which permission an action needs: links (`linkauth`), the `eosio.any` link, and the
//! permission tree (`descends_from`).

use super::*;

/// How the minimum permission for an action was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinPerm {
    /// A link for this very action.
    Exact(Name),
    /// No action link; the whole-contract link applies.
    WholeContract(Name),
    /// Linked to `eosio.any`: any permission of the account will do.
    Any,
    /// No link: `active`.
    Default,
    /// The node does not report links (older than Leap 3.1): cannot tell.
    Unknown,
}

impl MinPerm {
    /// The required permission, when one is known.
    pub fn required(self) -> Option<Name> {
        match self {
            MinPerm::Exact(p) | MinPerm::WholeContract(p) => Some(p),
            MinPerm::Default => Some(active()),
            MinPerm::Any | MinPerm::Unknown => None,
        }
    }

    /// How the requirement came about, for messages.
    pub fn describe(self, code: Name, action: Name) -> String {
        match self {
            MinPerm::Exact(p) => format!("{code}::{action} is linked to {p}"),
            MinPerm::WholeContract(p) => format!(
                "{code}::{action} has no link of its own; the whole-contract {code} link to {p} applies"
            ),
            MinPerm::Default => format!("{code}::{action} is not linked, so it requires active"),
            MinPerm::Any => format!("{code}::{action} is linked to eosio.any"),
            MinPerm::Unknown => {
                "the node does not report linked actions (older than Leap 3.1)".to_string()
            }
        }
    }
}

/// The permission linked to `code::action` on `account`: a link for that exact action
/// first, then a whole-contract link. `Ok(None)` = no link (the minimum is `active`);
/// `Err(())` = the node did not report links (older than Leap 3.1).
#[allow(clippy::result_unit_err)]
pub fn linked_permission(account: &Account, code: Name, action: Name) -> Result<Option<Name>, ()> {
    let mut any_reported = false;
    let mut whole_contract = None;
    for p in &account.permissions {
        let Some(links) = &p.linked_actions else {
            continue;
        };
        any_reported = true;
        for l in links.iter().filter(|l| l.account == code) {
            match l.action {
                Some(a) if a == action => return Ok(Some(p.perm_name)),
                None => whole_contract = Some(p.perm_name),
                _ => {}
            }
        }
    }
    if !any_reported {
        return Err(());
    }
    Ok(whole_contract)
}

/// nodeos' `lookup_minimum_permission` for `account` on `code::action`, with the
/// `eosio.any` links that `get_account` reports apart.
pub fn minimum_permission(account: &Account, code: Name, action: Name) -> MinPerm {
    let any = account.eosio_any_linked_actions.as_deref().unwrap_or(&[]);
    let any_exact = any
        .iter()
        .any(|l| l.account == code && l.action == Some(action));
    let any_whole = any.iter().any(|l| l.account == code && l.action.is_none());
    match linked_permission(account, code, action) {
        Ok(Some(p)) => {
            let exact = account
                .permission(p)
                .and_then(|x| x.linked_actions.as_ref())
                .is_some_and(|ls| {
                    ls.iter()
                        .any(|l| l.account == code && l.action == Some(action))
                });
            if exact {
                MinPerm::Exact(p)
            } else if any_exact {
                MinPerm::Any
            } else {
                MinPerm::WholeContract(p)
            }
        }
        Ok(None) | Err(()) if any_exact || any_whole => MinPerm::Any,
        Ok(None) => MinPerm::Default,
        Err(()) => MinPerm::Unknown,
    }
}

/// True when `perm` is `ancestor` or one of its descendants (`permission_object::satisfies`
/// read the other way round: `ancestor` satisfies `perm`).
pub fn descends_from(account: &Account, perm: Name, ancestor: Name) -> bool {
    let mut cur = perm;
    // Bounded by the number of permissions: a cycle cannot loop.
    for _ in 0..=account.permissions.len() {
        if cur == ancestor {
            return true;
        }
        match account.permission(cur) {
            Some(p) if !p.parent.is_empty() => cur = p.parent,
            _ => return false,
        }
    }
    false
}
