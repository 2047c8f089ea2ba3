//! The daemon checks itself: at start and every [`DEFAULT_EVERY`] (Options
//! `selfcheck_every`), that a failover would go through if it were needed now:
//! - `authority`: the failover key satisfies `[producer] permission` and that permission
//!   may sign every action a switch sends, by nodeos' rules ([`super::preflight`]);
//! - `registration`: the producer has a row in `eosio/producers` (regproducer updates it);
//! - `state_dir`: the state file's directory is writable (the intent is written there
//!   before every push; a switch cannot start without it);
//! - `resources`: the account's available CPU and NET cover one key-switch transaction
//!   ([`TYPICAL_CPU_US`], [`TYPICAL_NET_BYTES`]).
//!
//! A check that starts failing (or fails for a new reason) is a `setup_invalid` event with
//! the fix; one that passes at start or after failing is `setup_valid`. Reads that fail
//! (no endpoint answered) decide nothing: the check keeps its last result. This informs; it
//! never blocks a failover (`decide` does not look at it), and the daemon skips it while a
//! switch is under way so it never delays one.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::antelope::{Name, PublicKey};
use crate::api::types::Account;
use crate::api::EndpointPool;
use crate::authority::Declared;
use crate::config::Config;
use crate::events::Event;

use super::executor::{ExecError, Executor};
use super::preflight;

/// How often the self-check runs by default.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(300);

/// CPU one key-switch transaction is budgeted at, in µs. A regproducer is one small action:
/// a recorded single-action transfer billed 142 µs (fixtures/
/// jungle4_send_transaction_202_custom_permission_2024.json); busy mainnet nodes bill a few
/// times more, so 1 ms leaves margin.
pub const TYPICAL_CPU_US: i64 = 1_000;

/// NET one key-switch transaction is budgeted at, in bytes: the signed regproducer the
/// simulator tests build packs to about 180 bytes (the recorded transfer above billed 144);
/// 400 leaves margin for a long url and an actfinkey action.
pub const TYPICAL_NET_BYTES: i64 = 400;

/// A check's verdict: what passed, or what fails and the fix. `None`: not decided (a read
/// failed).
type Verdict = Option<Result<String, (String, String)>>;

/// Whether the account's available CPU and NET cover one key-switch transaction. Pure.
pub fn resources(account: &Account) -> Result<String, (String, String)> {
    let acct = account.account_name;
    let mut short = Vec::new();
    let mut have = Vec::new();
    for (what, limit, need, unit) in [
        ("CPU", &account.cpu_limit, TYPICAL_CPU_US, "µs"),
        ("NET", &account.net_limit, TYPICAL_NET_BYTES, "bytes"),
    ] {
        match limit {
            None => have.push(format!("{what} not reported")),
            Some(l) if l.available < 0 || l.max < 0 => have.push(format!("{what} unlimited")),
            Some(l) if l.available < need => short.push(format!(
                "{what} {} {unit} available (of {}), one key switch needs about {need}",
                l.available, l.max
            )),
            Some(l) => have.push(format!("{what} {} {unit} available", l.available)),
        }
    }
    if short.is_empty() {
        Ok(format!(
            "{acct} has the resources for a key switch: {}",
            have.join(", ")
        ))
    } else {
        Err((
            format!("{acct} has too little for a key switch: {}", short.join("; ")),
            format!(
                "stake CPU/NET to {acct} (cleos system delegatebw), rent them (powerup), or wait for past usage to decay; check with `cleos get account {acct}`"
            ),
        ))
    }
}

/// Whether a file can be created in the state file's directory (then removed).
pub fn state_dir(state_path: &Path) -> Result<String, (String, String)> {
    let dir = match state_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let probe = dir.join(format!(".bp-failover-selfcheck-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Ok(format!("the state directory {} is writable", dir.display()))
        }
        Err(e) => Err((
            format!(
                "cannot write in the state directory {}: {e}; the intent of a switch is saved there before the push, so a switch would fail",
                dir.display()
            ),
            format!(
                "create {} and make it writable by the user running bp-failover, or change [state] path",
                dir.display()
            ),
        )),
    }
}

/// The self-check's schedule and what it last said per check.
#[derive(Debug)]
pub struct SelfCheck {
    every_ms: i64,
    last_ms: Option<i64>,
    said: BTreeMap<&'static str, Result<(), String>>,
}

impl SelfCheck {
    pub fn new(every: Duration) -> Self {
        SelfCheck {
            every_ms: i64::try_from(every.as_millis()).unwrap_or(i64::MAX),
            last_ms: None,
            said: BTreeMap::new(),
        }
    }

    pub fn due(&self, now_ms: i64) -> bool {
        self.last_ms
            .is_none_or(|last| now_ms.saturating_sub(last) >= self.every_ms)
    }

    /// The events for this round's verdicts: only changes. Pure.
    fn report(&mut self, verdicts: Vec<(&'static str, Verdict)>) -> Vec<Event> {
        let mut out = Vec::new();
        for (check, verdict) in verdicts {
            let Some(verdict) = verdict else { continue };
            let before = self.said.get(check);
            match verdict {
                Ok(detail) if before != Some(&Ok(())) => {
                    self.said.insert(check, Ok(()));
                    out.push(Event::SetupValid {
                        check: check.into(),
                        detail,
                    });
                }
                Err((detail, fix)) if before != Some(&Err(detail.clone())) => {
                    self.said.insert(check, Err(detail.clone()));
                    out.push(Event::SetupInvalid {
                        check: check.into(),
                        detail,
                        fix,
                    });
                }
                _ => {}
            }
        }
        out
    }

    /// Runs every check now; returns the events to emit.
    pub async fn run(
        &mut self,
        pool: &EndpointPool,
        order: &[usize],
        config: &Config,
        signer: PublicKey,
        actions: &[Name],
        now_ms: i64,
    ) -> Vec<Event> {
        self.last_ms = Some(now_ms);
        let me = config.producer.account;
        let declared: Vec<Declared> = match &config.msig {
            // [msig]: this host signs eosio.msig actions with its observer permission; the
            // switching permission's k-of-n setup is `check`'s to verify.
            Some(m) => ["propose", "approve", "exec", "cancel"]
                .iter()
                .map(|&action| Declared {
                    level: crate::api::types::PermissionLevel {
                        actor: m.observer.actor,
                        permission: m.observer.permission,
                    },
                    code: crate::antelope::msig::MSIG_ACCOUNT,
                    action: Name::literal(action),
                })
                .collect(),
            None => actions
                .iter()
                .map(|&action| Declared {
                    level: crate::api::types::PermissionLevel {
                        actor: me,
                        permission: config.producer.permission,
                    },
                    code: Name::literal("eosio"),
                    action,
                })
                .collect(),
        };
        let authority: Verdict =
            match preflight::verify_authority(pool, order, &declared, signer).await {
                Ok(summary) => Some(Ok(summary)),
                Err(e) if e.refusal.is_some() => Some(Err((e.reason, e.fix))),
                Err(e) => {
                    tracing::warn!(error = %e, "self-check: authority not decided");
                    None
                }
            };
        let registration: Verdict = match Executor::producer_row(pool, order, me).await {
            Ok(row) => Some(Ok(format!(
                "{me} is a registered producer (url {:?}, location{})",
                row.url,
                if row.is_active {
                    format!(" {}", row.location)
                } else {
                    format!(" {}; inactive: the next regproducer re-activates it", row.location)
                }
            ))),
            Err(ExecError::NotRegistered { .. }) => Some(Err((
                format!("{me} has no row in eosio/producers: a switch re-sends the row's url and location, so the producer must be registered first"),
                format!("cleos system regproducer {me} <primary signing key> <url> <location> -p {me}@active"),
            ))),
            Err(e) => {
                tracing::warn!(error = %e, "self-check: registration not decided");
                None
            }
        };
        let resources: Verdict = match pool.first_success(order, |c| c.get_account(me)).await {
            Ok((_, account)) => Some(resources(&account)),
            Err(_) => None,
        };
        let state_dir = Some(state_dir(&config.state.path));
        self.report(vec![
            ("authority", authority),
            ("registration", registration),
            ("state_dir", state_dir),
            ("resources", resources),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(cpu: i64, net: i64) -> Account {
        serde_json::from_value(serde_json::json!({
            "account_name": "bp",
            "cpu_limit": {"used": 5, "available": cpu, "max": 1000000},
            "net_limit": {"used": "5", "available": net.to_string(), "max": "1000000"},
        }))
        .unwrap()
    }

    #[test]
    fn resources_from_the_recorded_account_and_hand_cases() {
        let path = format!(
            "{}/fixtures/eos-mainnet_get_account_teamgreymass_2023.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let a: Account = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let ok = resources(&a).unwrap();
        assert!(ok.contains("CPU 283843 µs available"), "{ok}");
        assert!(resources(&account(5000, 5000)).is_ok());
        let (why, fix) = resources(&account(999, 5000)).unwrap_err();
        assert!(why.contains("CPU 999 µs available"), "{why}");
        assert!(fix.contains("delegatebw"), "{fix}");
        let (why, _) = resources(&account(5000, 399)).unwrap_err();
        assert!(why.contains("NET 399 bytes"), "{why}");
        assert!(resources(&account(-1, -1)).unwrap().contains("unlimited"));
    }

    #[test]
    fn state_dir_writable_or_not() {
        let dir = tempfile::tempdir().unwrap();
        assert!(state_dir(&dir.path().join("state.json")).is_ok());
        let (why, fix) = state_dir(&dir.path().join("missing/state.json")).unwrap_err();
        assert!(why.contains("missing"), "{why}");
        assert!(fix.contains("[state] path"), "{fix}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the probe is removed"
        );
    }

    #[test]
    fn only_changes_are_reported() {
        let mut s = SelfCheck::new(DEFAULT_EVERY);
        assert!(s.due(0));
        let bad = || Some(Err(("no link".to_string(), "link it".to_string())));
        let e = s.report(vec![
            ("authority", Some(Ok("ok".into()))),
            ("resources", None),
        ]);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].name(), "setup_valid");
        assert!(s
            .report(vec![("authority", Some(Ok("ok".into())))])
            .is_empty());
        let e = s.report(vec![("authority", bad())]);
        assert!(
            matches!(&e[..], [Event::SetupInvalid { check, fix, .. }] if check == "authority" && fix == "link it")
        );
        assert!(s.report(vec![("authority", bad())]).is_empty());
        // Undecided keeps the last result.
        assert!(s.report(vec![("authority", None)]).is_empty());
        let e = s.report(vec![("authority", Some(Ok("fixed".into())))]);
        assert_eq!(e[0].name(), "setup_valid");
    }
}
