//! `[msig]`: k-of-n observers switching through `eosio.msig`.

use std::path::PathBuf;

use serde::Deserialize;

use super::Findings;
use crate::antelope::{Name, PermissionLevel};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMsig {
    /// This observer's own `account@permission`.
    pub observer: String,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub key_env: Option<String>,
    pub threshold: u32,
    /// Every observer's `account@permission`, this one included.
    pub observers: Vec<String>,
}

/// `[msig]`, validated: the producer's switching permission (`[producer] account` and
/// `permission`) is a threshold-`threshold` permission over `observers`, and this host is
/// `observer`, whose own key (`[msig] key_file`/`key_env`, kept in
/// [`ProducerConfig::key`]) signs its proposals and approvals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsigConfig {
    pub observer: PermissionLevel,
    pub threshold: u32,
    /// In the configured order; `observer` is one of them.
    pub observers: Vec<PermissionLevel>,
}

/// At most this many observers in `[msig] observers`.
pub const MAX_MSIG_OBSERVERS: usize = 32;

/// `Some(None)` on error, so the caller can tell "absent" from "invalid".
/// `account@permission`.
fn parse_level(text: &str) -> Result<PermissionLevel, String> {
    let (actor, permission) = text
        .split_once('@')
        .ok_or_else(|| format!("{text:?} is not account@permission"))?;
    let actor: Name = actor
        .parse()
        .map_err(|e: crate::antelope::NameError| e.to_string())?;
    let permission: Name = permission
        .parse()
        .map_err(|e: crate::antelope::NameError| e.to_string())?;
    if actor.is_empty() || permission.is_empty() {
        return Err(format!("{text:?} is not account@permission"));
    }
    Ok(PermissionLevel { actor, permission })
}

pub(super) fn validate_msig(m: &RawMsig, f: &mut Findings) -> Option<MsigConfig> {
    let n0 = f.errors.len();
    let level_fix = "write it as account@permission, e.g. \"observer1@active\"";
    let observer = match parse_level(&m.observer) {
        Ok(l) => Some(l),
        Err(e) => {
            f.error("msig.observer", e, level_fix);
            None
        }
    };
    let mut observers = Vec::new();
    for (i, text) in m.observers.iter().enumerate() {
        match parse_level(text) {
            Ok(l) if observers.contains(&l) => f.error(
                format!("msig.observers[{i}]"),
                format!("{l} is listed twice"),
                "list each observer once",
            ),
            Ok(l) => observers.push(l),
            Err(e) => f.error(format!("msig.observers[{i}]"), e, level_fix),
        }
    }
    let n = m.observers.len();
    if n < 2 {
        f.error(
            "msig.observers",
            format!("lists {n} observer(s); k-of-n needs at least 2"),
            "list every observer's account@permission, this one included (3 observers with threshold 2 is the usual setup)",
        );
    } else if n > MAX_MSIG_OBSERVERS {
        f.error(
            "msig.observers",
            format!("lists {n} observers; at most {MAX_MSIG_OBSERVERS} are supported"),
            format!("list at most {MAX_MSIG_OBSERVERS}"),
        );
    }
    if let Some(me) = &observer {
        let listed = m
            .observers
            .iter()
            .any(|t| parse_level(t).ok().as_ref() == Some(me));
        if !listed {
            f.error(
                "msig.observer",
                format!("{me} is not in msig.observers"),
                format!(
                    "add \"{me}\" to msig.observers, or set msig.observer to this host's own entry"
                ),
            );
        }
    }
    if n >= 2 && (m.threshold == 0 || m.threshold as usize > n) {
        f.error(
            "msig.threshold",
            format!(
                "{} is out of range 1..={n} (the number of observers)",
                m.threshold
            ),
            format!(
                "set msig.threshold between 1 and {n}; {} is a majority",
                n / 2 + 1
            ),
        );
    } else if m.threshold == 1 {
        f.warn(
            "msig.threshold",
            "is 1: any single observer can switch the key alone, as without [msig]",
            format!(
                "set msig.threshold to {} (a majority of the observers)",
                n / 2 + 1
            ),
        );
    } else if n >= 2 && m.threshold as usize == n {
        f.warn(
            "msig.threshold",
            format!("is {n}, every observer: one observer down or cut off blocks every switch"),
            format!(
                "set msig.threshold to {} (a majority of the observers)",
                n / 2 + 1
            ),
        );
    }
    if f.errors.len() > n0 {
        return None;
    }
    Some(MsigConfig {
        observer: observer?,
        threshold: m.threshold,
        observers,
    })
}
