//! `check` in `[msig]` mode: the k-of-n setup on chain.
//!
//! - `msig.permission`: the producer's switching permission is exactly threshold k over the
//!   configured observers (weight 1 each) and holds no key and no wait, so no observer
//!   alone (and no key holder) can switch, and any k observers can;
//! - `msig.observer.<account>`: each observer's account and permission exist, can pay for
//!   a proposal or an approval, and may sign the `eosio.msig` actions (linkauth); for this
//!   host's observer, its key satisfies the permission;
//! - `msig.contract`: `eosio.msig` is deployed and lays out propose, approve, unapprove,
//!   cancel and exec like the bundled ABI.
//!
//! The links of the switching permission to regproducer/regproducer2 are the usual
//! `permission.link.*` checks. Pure: the inputs are gathered by [`super::gather`].

use serde_json::json;

use super::cleos::provenance;
use super::permission::{MIN_CPU_US, MIN_NET_BYTES};
use super::CheckResult;
use crate::antelope::abi::{compare_action_types, Abi};
use crate::antelope::msig::{eosio_msig_abi, MSIG_ACCOUNT};
use crate::antelope::{Name, PermissionLevel, PublicKey};
use crate::api::types::{self, Account};
use crate::authority::{self, Accounts, MinPerm};
use crate::config::{Config, MsigConfig};
use crate::snapshot::Fetched;

/// What `check` reads for `[msig]`.
#[derive(Debug, Clone)]
pub struct MsigInputs {
    /// Each observer's account, in `[msig] observers` order.
    pub observers: Vec<Fetched<Account>>,
    /// `get_abi` of `eosio.msig`.
    pub contract: Fetched<serde_json::Value>,
}

/// The `eosio.msig` actions an observer sends.
const MSIG_ACTIONS: [&str; 5] = ["propose", "approve", "unapprove", "cancel", "exec"];

/// `cleos set account permission` giving `acct@perm` threshold k over the observers. nodeos
/// wants an authority's entries sorted, so they are.
pub(super) fn cleos_msig_permission(acct: Name, perm: Name, m: &MsigConfig) -> String {
    let mut levels = m.observers.clone();
    levels.sort_by_key(|l| (l.actor.as_u64(), l.permission.as_u64()));
    let accounts: Vec<_> = levels
        .iter()
        .map(|l| json!({"permission": {"actor": l.actor, "permission": l.permission}, "weight": 1}))
        .collect();
    let auth = json!({"threshold": m.threshold, "keys": [], "accounts": accounts, "waits": []});
    format!("cleos set account permission {acct} {perm} '{auth}' active -p {acct}@active")
}

fn level(l: &types::PermissionLevel) -> PermissionLevel {
    PermissionLevel {
        actor: l.actor,
        permission: l.permission,
    }
}

/// The producer's switching permission against `[msig]`.
fn check_permission(config: &Config, m: &MsigConfig, account: &Fetched<Account>) -> CheckResult {
    let (acct, perm) = (config.producer.account, config.producer.permission);
    let name = "msig.permission";
    let fix = cleos_msig_permission(acct, perm, m);
    let Some(a) = &account.value else {
        return CheckResult::fail(name, "not checked: the account was not read");
    };
    let from = provenance(account);
    let Some(p) = a.permission(perm) else {
        return CheckResult::fail(name, format!("{acct} has no permission {perm}{from}")).fix(fix);
    };
    let auth = &p.required_auth;
    let mut wrong = Vec::new();
    if !auth.keys.is_empty() {
        wrong.push(format!(
            "it holds {} key(s): whoever has one can switch alone",
            auth.keys.len()
        ));
    }
    if !auth.waits.is_empty() {
        wrong.push("it has waits (a delayed transaction could satisfy it)".to_string());
    }
    if auth.threshold != m.threshold {
        wrong.push(format!(
            "its threshold is {} (configured: {})",
            auth.threshold, m.threshold
        ));
    }
    let on_chain: Vec<(PermissionLevel, u16)> = auth
        .accounts
        .iter()
        .map(|e| (level(&e.permission), e.weight))
        .collect();
    for o in &m.observers {
        match on_chain.iter().find(|(l, _)| l == o) {
            None => wrong.push(format!("{o} is not in it")),
            Some((_, w)) if *w != 1 => wrong.push(format!("{o} weighs {w} (expected 1)")),
            Some(_) => {}
        }
    }
    for (l, w) in &on_chain {
        if !m.observers.contains(l) {
            wrong.push(format!(
                "{l} (weight {w}) is in it but not in [msig] observers"
            ));
        }
    }
    if wrong.is_empty() {
        CheckResult::ok(
            name,
            format!(
                "{acct}@{perm} needs {} of {} observers ({}), holds no key: no observer alone can switch{from}",
                m.threshold,
                m.observers.len(),
                m.observers
                    .iter()
                    .map(|o| o.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    } else {
        CheckResult::fail(
            name,
            format!(
                "{acct}@{perm} is not the configured {}-of-{}: {}{from}",
                m.threshold,
                m.observers.len(),
                wrong.join("; ")
            ),
        )
        .fix(fix)
    }
}

/// One observer's account.
fn check_observer(
    m: &MsigConfig,
    observer: &PermissionLevel,
    fetched: &Fetched<Account>,
    signer: &Result<PublicKey, String>,
) -> CheckResult {
    let name = format!("msig.observer.{}", observer.actor);
    let (acct, perm) = (observer.actor, observer.permission);
    let me = *observer == m.observer;
    let Some(a) = &fetched.value else {
        let why = fetched.error.as_deref().unwrap_or("no endpoint answered");
        return CheckResult::fail(name, format!("cannot read observer account {acct}: {why}"))
            .fix(format!(
                "create the observer account {acct} (cleos system newaccount …) with its own key, kept on that observer's host only"
            ));
    };
    let from = provenance(fetched);
    let key_text = match signer {
        Ok(k) if me => k.to_string(),
        _ => "<that observer's public key>".to_string(),
    };
    let mut fail = Vec::new();
    let mut fixes = Vec::new();
    let mut notes = Vec::new();
    if a.permission(perm).is_none() {
        fail.push(format!("{acct} has no permission {perm}"));
        fixes.push(authority::cleos_set_permission(
            acct,
            perm,
            &key_text,
            Name::literal("active"),
        ));
    } else {
        // It may sign the eosio.msig actions (linkauth).
        for action in MSIG_ACTIONS {
            let action = Name::literal(action);
            let required = match authority::minimum_permission(a, MSIG_ACCOUNT, action) {
                MinPerm::Any | MinPerm::Unknown => continue,
                MinPerm::Exact(p) | MinPerm::WholeContract(p) => p,
                MinPerm::Default => Name::literal("active"),
            };
            if !authority::descends_from(a, required, perm) {
                fail.push(format!(
                    "{acct}@{perm} cannot sign eosio.msig::{action} (it needs {acct}@{required})"
                ));
                fixes.push(authority::cleos_link(acct, MSIG_ACCOUNT, action, perm));
            }
        }
        // This host's key satisfies its own observer permission.
        if me {
            match signer {
                Err(_) => fail.push(
                    "not checked: this observer's key did not load (see the key check)".into(),
                ),
                Ok(k) => {
                    let lvl = types::PermissionLevel {
                        actor: acct,
                        permission: perm,
                    };
                    let tally = authority::weigh(
                        &Accounts::new([a]),
                        &lvl,
                        std::slice::from_ref(k),
                        authority::MAX_AUTHORITY_DEPTH,
                    );
                    match tally {
                        Some(t) if t.satisfied => {
                            notes.push(format!("this host's key {k} satisfies {acct}@{perm}"))
                        }
                        _ => {
                            fail.push(format!(
                                "this host's key {k} does not satisfy {acct}@{perm}"
                            ));
                            let parent = a
                                .permission(perm)
                                .map(|p| p.parent)
                                .unwrap_or(Name::literal("active"));
                            fixes.push(authority::cleos_set_permission(
                                acct, perm, &key_text, parent,
                            ));
                        }
                    }
                }
            }
        }
    }
    // Resources: a proposal or an approval costs about what a key switch costs.
    match (a.cpu_limit, a.net_limit) {
        (Some(cpu), Some(net)) => {
            let short = |l: types::ResourceLimit, min: i64| l.available != -1 && l.available < min;
            if short(cpu, MIN_CPU_US) || short(net, MIN_NET_BYTES) {
                fail.push(format!(
                    "it cannot pay for a proposal or an approval now: CPU {} µs, NET {} bytes available (needs about {MIN_CPU_US} µs and {MIN_NET_BYTES} bytes)",
                    cpu.available, net.available
                ));
                fixes.push(format!(
                    "cleos system delegatebw <funder> {acct} \"<net>\" \"<cpu>\" -p <funder>@active (or rent with cleos system powerup)"
                ));
            } else {
                notes.push("it can pay for a proposal or an approval".into());
            }
        }
        _ => notes.push("its CPU/NET limits are not reported: not verified".into()),
    }
    if fail.is_empty() {
        let mut detail = format!("{acct}@{perm} exists");
        for n in notes {
            detail.push_str("; ");
            detail.push_str(&n);
        }
        CheckResult::ok(name, format!("{detail}{from}"))
    } else {
        let r = CheckResult::fail(name, format!("{}{from}", fail.join("; ")));
        if fixes.is_empty() {
            r
        } else {
            r.fix(fixes.join("\n"))
        }
    }
}

/// `eosio.msig` is deployed and lays out the actions an observer sends as expected.
fn check_contract(fetched: &Fetched<serde_json::Value>) -> CheckResult {
    let name = "msig.contract";
    let from = provenance(fetched);
    let value = match (&fetched.value, &fetched.error) {
        (Some(v), _) => v,
        (None, e) => {
            return CheckResult::fail(
                name,
                format!(
                    "cannot read eosio.msig's ABI: {}",
                    e.as_deref().unwrap_or("no endpoint answered")
                ),
            )
            .fix("k-of-n needs the eosio.msig contract: on a chain without it (or without it privileged) [msig] cannot work; remove [msig]")
        }
    };
    let theirs = match Abi::from_json_str(&value.to_string()) {
        Ok(a) => a,
        Err(e) => {
            return CheckResult::fail(name, format!("eosio.msig's ABI is unusable: {e}{from}"))
                .fix("report it: the bot cannot serialize eosio.msig actions for this chain")
        }
    };
    let mismatches: Vec<String> = MSIG_ACTIONS
        .iter()
        .filter_map(|a| {
            compare_action_types(eosio_msig_abi(), &theirs, Name::literal(a))
                .err()
                .map(|e| format!("eosio.msig::{a}: {e}"))
        })
        .collect();
    if mismatches.is_empty() {
        CheckResult::ok(
            name,
            format!(
                "eosio.msig is deployed and lays out {} like the bundled ABI{from}",
                MSIG_ACTIONS.join(", ")
            ),
        )
    } else {
        CheckResult::fail(
            name,
            format!("eosio.msig lays out the actions differently: {}{from}", mismatches.join("; ")),
        )
        .fix("no cleos command fixes this: update bp-failover for this chain's eosio.msig, or remove [msig]")
    }
}

/// Every `[msig]` check, in order.
pub(super) fn evaluate(
    config: &Config,
    m: &MsigConfig,
    account: &Fetched<Account>,
    inputs: &MsigInputs,
    signer: &Result<PublicKey, String>,
) -> Vec<CheckResult> {
    let mut out = vec![check_permission(config, m, account)];
    for (o, fetched) in m.observers.iter().zip(&inputs.observers) {
        out.push(check_observer(m, o, fetched, signer));
    }
    out.push(check_contract(&inputs.contract));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use serde_json::Value;
    use std::path::Path;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/fixtures/msig/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn fetched<T>(v: T) -> Fetched<T> {
        Fetched {
            value: Some(v),
            source: Some("http://127.0.0.1:1/".into()),
            verified: true,
            error: None,
        }
    }

    /// The recorded real chain's setup: ourbp@failover = 2 of obs1..3@active.
    fn real_ourbp() -> Account {
        serde_json::from_value(fixture("leap41_msig_get_account_ourbp.json")).unwrap()
    }

    fn key(who: &str) -> PublicKey {
        fixture("leap41_msig_keys_public.json")[who]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn cfg(threshold: u32, observers: &[&str]) -> Config {
        let list: Vec<String> = observers.iter().map(|o| format!("\"{o}\"")).collect();
        let text = format!(
            r#"
[chain]
endpoints = ["http://127.0.0.1:1"]
[producer]
account = "ourbp"
permission = "failover"
[[datacenter]]
name = "primary"
signing_key = "{}"
[[datacenter]]
name = "backup"
signing_key = "{}"
[msig]
observer = "{}"
key_env = "BP_FAILOVER_TEST_UNSET_KEY"
threshold = {threshold}
observers = [{}]
"#,
            key("ourbp"),
            key("obs3"),
            observers[0],
            list.join(", ")
        );
        config::load_str_with(&text, Path::new("c.toml"), &config::KeyUse::read_only())
            .unwrap_or_else(|e| panic!("{e}"))
            .config
    }

    const REAL: [&str; 3] = ["obs1@active", "obs2@active", "obs3@active"];

    #[test]
    fn the_recorded_2_of_3_permission_passes() {
        let c = cfg(2, &REAL);
        let r = check_permission(&c, c.msig.as_ref().unwrap(), &fetched(real_ourbp()));
        assert_eq!(r.status, super::super::Status::Ok, "{r:?}");
        assert!(r.detail.contains("needs 2 of 3 observers"), "{}", r.detail);
    }

    #[test]
    fn another_threshold_set_or_a_key_fails_with_the_cleos_fix() {
        let c = cfg(3, &REAL);
        let r = check_permission(&c, c.msig.as_ref().unwrap(), &fetched(real_ourbp()));
        assert_eq!(r.status, super::super::Status::Fail);
        assert!(
            r.detail.contains("its threshold is 2 (configured: 3)"),
            "{}",
            r.detail
        );
        let fix = r.fix.unwrap();
        // The authority JSON `fixtures/msig/record.py` set with cleos, entries sorted.
        assert_eq!(
            fix,
            "cleos set account permission ourbp failover '{\"threshold\":3,\"keys\":[],\"accounts\":[{\"permission\":{\"actor\":\"obs1\",\"permission\":\"active\"},\"weight\":1},{\"permission\":{\"actor\":\"obs2\",\"permission\":\"active\"},\"weight\":1},{\"permission\":{\"actor\":\"obs3\",\"permission\":\"active\"},\"weight\":1}],\"waits\":[]}' active -p ourbp@active"
        );

        let c = cfg(2, &["obs1@active", "obs2@active", "obs4@active"]);
        let r = check_permission(&c, c.msig.as_ref().unwrap(), &fetched(real_ourbp()));
        assert!(
            r.detail.contains("obs4@active is not in it"),
            "{}",
            r.detail
        );
        assert!(
            r.detail
                .contains("obs3@active (weight 1) is in it but not in [msig] observers"),
            "{}",
            r.detail
        );

        let mut with_key: Value = fixture("leap41_msig_get_account_ourbp.json");
        for p in with_key["permissions"].as_array_mut().unwrap() {
            if p["perm_name"] == "failover" {
                p["required_auth"]["keys"] = json!([{"key": key("obs1").to_string(), "weight": 2}]);
            }
        }
        let c = cfg(2, &REAL);
        let r = check_permission(
            &c,
            c.msig.as_ref().unwrap(),
            &fetched(serde_json::from_value(with_key).unwrap()),
        );
        assert!(
            r.detail
                .contains("it holds 1 key(s): whoever has one can switch alone"),
            "{}",
            r.detail
        );
    }

    /// An observer account as get_account shows it (the recorded ourbp's shape).
    fn observer_account(name: &str, active_key: PublicKey, links: Value, cpu: i64) -> Account {
        serde_json::from_value(json!({
            "account_name": name,
            "permissions": [
                {"perm_name": "active", "parent": "owner", "linked_actions": [],
                 "required_auth": {"threshold": 1, "keys": [{"key": active_key.to_string(), "weight": 1}], "accounts": [], "waits": []}},
                {"perm_name": "bpfailover", "parent": "active", "linked_actions": links,
                 "required_auth": {"threshold": 1, "keys": [{"key": active_key.to_string(), "weight": 1}], "accounts": [], "waits": []}},
                {"perm_name": "owner", "parent": "", "linked_actions": [],
                 "required_auth": {"threshold": 1, "keys": [{"key": active_key.to_string(), "weight": 1}], "accounts": [], "waits": []}}
            ],
            "cpu_limit": {"used": 0, "available": cpu, "max": 100000},
            "net_limit": {"used": 0, "available": 100000, "max": 100000}
        }))
        .unwrap()
    }

    #[test]
    fn observers_key_links_and_resources() {
        let c = cfg(2, &REAL);
        let m = c.msig.as_ref().unwrap();
        let obs1 = PermissionLevel {
            actor: Name::literal("obs1"),
            permission: Name::literal("active"),
        };
        let good = observer_account("obs1", key("obs1"), json!([]), 100000);
        let r = check_observer(m, &obs1, &fetched(good.clone()), &Ok(key("obs1")));
        assert_eq!(r.status, super::super::Status::Ok, "{r:?}");
        assert!(
            r.detail.contains("this host's key") && r.detail.contains("can pay"),
            "{}",
            r.detail
        );
        // Another key on this host.
        let r = check_observer(m, &obs1, &fetched(good.clone()), &Ok(key("obs2")));
        assert_eq!(r.status, super::super::Status::Fail);
        assert!(r.fix.unwrap().starts_with(&format!(
            "cleos set account permission obs1 active {} owner",
            key("obs2")
        )));
        // Short of CPU.
        let poor = observer_account("obs1", key("obs1"), json!([]), 10);
        let r = check_observer(m, &obs1, &fetched(poor), &Ok(key("obs1")));
        assert!(
            r.detail
                .contains("cannot pay for a proposal or an approval"),
            "{}",
            r.detail
        );
        // A dedicated permission must be linked to the eosio.msig actions.
        let dedicated = PermissionLevel {
            actor: Name::literal("obs1"),
            permission: Name::literal("bpfailover"),
        };
        let m2 = MsigConfig {
            observer: dedicated,
            ..m.clone()
        };
        let r = check_observer(&m2, &dedicated, &fetched(good), &Ok(key("obs1")));
        assert_eq!(r.status, super::super::Status::Fail);
        let fix = r.fix.unwrap();
        for a in MSIG_ACTIONS {
            assert!(
                fix.contains(&format!(
                    "cleos set action permission obs1 eosio.msig {a} bpfailover -p obs1@active"
                )),
                "{fix}"
            );
        }
        let linked = observer_account(
            "obs1",
            key("obs1"),
            json!([{"account": "eosio.msig"}]),
            100000,
        );
        let r = check_observer(&m2, &dedicated, &fetched(linked), &Ok(key("obs1")));
        assert_eq!(r.status, super::super::Status::Ok, "{r:?}");
        // Another observer: not its key, only its account.
        let obs2 = PermissionLevel {
            actor: Name::literal("obs2"),
            permission: Name::literal("active"),
        };
        let other = observer_account("obs2", key("obs2"), json!([]), 100000);
        assert_eq!(
            check_observer(m, &obs2, &fetched(other), &Ok(key("obs1"))).status,
            super::super::Status::Ok
        );
        let r = check_observer(
            m,
            &obs2,
            &Fetched::failed("unknown key".into()),
            &Ok(key("obs1")),
        );
        assert_eq!(r.status, super::super::Status::Fail);
    }

    #[test]
    fn the_contract_check_uses_the_served_abi() {
        let served = fixture("leap41_msig_get_abi_eosio_msig.json")["abi"].clone();
        let r = check_contract(&fetched(served.clone()));
        assert_eq!(r.status, super::super::Status::Ok, "{r:?}");
        // A contract whose approve lacks proposal_hash is not the one the bot speaks to.
        let mut old = served;
        for s in old["structs"].as_array_mut().unwrap() {
            if s["name"] == "approve" {
                s["fields"].as_array_mut().unwrap().pop();
            }
        }
        let r = check_contract(&fetched(old));
        assert_eq!(r.status, super::super::Status::Fail);
        assert!(r.detail.contains("eosio.msig::approve"), "{}", r.detail);
        let r = check_contract(&Fetched::failed("account eosio.msig has no ABI".into()));
        assert_eq!(r.status, super::super::Status::Fail);
        assert!(r.fix.unwrap().contains("remove [msig]"));
    }
}
