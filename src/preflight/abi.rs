//! The check that the chain's `eosio` ABI takes the action we send as we encode it.

use super::cleos::provenance;
use super::{actions_sent, CheckResult};
use crate::antelope::abi::{compare_action_types, eosio_system_abi, Abi};
use crate::config::{Config, RegAction};
use crate::snapshot::Fetched;

pub(super) fn check_abi(config: &Config, fetched: &Fetched<serde_json::Value>) -> CheckResult {
    let from = provenance(fetched);
    let value = match (&fetched.value, &fetched.error) {
        (Some(v), _) => v,
        (None, e) => {
            return CheckResult::fail(
                "abi",
                format!(
                    "cannot fetch the chain's eosio ABI: {}",
                    e.as_deref().unwrap_or("no endpoint answered")
                ),
            )
            .fix("see the observer check: at least one endpoint must answer get_abi")
        }
    };
    let theirs = match Abi::from_json_str(&value.to_string()) {
        Ok(a) => a,
        Err(e) => {
            return CheckResult::fail(
                "abi",
                format!("the chain's eosio ABI is unusable: {e}{from}"),
            )
            .fix("report it: the bot cannot serialize its actions for this chain")
        }
    };
    let ours = eosio_system_abi();
    let actions = actions_sent(config);
    let mismatches: Vec<String> = actions
        .iter()
        .filter_map(|&a| {
            compare_action_types(ours, &theirs, a)
                .err()
                .map(|e| format!("eosio::{a}: {e}"))
        })
        .collect();
    let names: Vec<String> = actions.iter().map(|a| format!("eosio::{a}")).collect();
    if mismatches.is_empty() {
        return CheckResult::ok(
            "abi",
            format!(
                "the chain's eosio ABI lays out {} like the bundled one{from}",
                names.join(" and ")
            ),
        );
    }
    let other = match config.producer.action {
        RegAction::Regproducer => RegAction::Regproducer2,
        RegAction::Regproducer2 => RegAction::Regproducer,
    };
    let switch_ok = !mismatches.iter().any(|m| m.starts_with("eosio::actfinkey"))
        && compare_action_types(ours, &theirs, other.name()).is_ok();
    let fix = if switch_ok {
        format!(
            "set [producer] action = \"{}\" (the chain lays that one out as expected), then link it: cleos set action permission {acct} eosio {} {perm} -p {acct}@active",
            other.name(),
            other.name(),
            acct = config.producer.account,
            perm = config.producer.permission
        )
    } else {
        "no cleos command fixes this: the chain runs a system contract this bp-failover version does not know; update bp-failover before relying on it".to_string()
    };
    CheckResult::fail(
        "abi",
        format!(
            "the chain's eosio ABI lays out the actions the bot sends differently from the bundled one, so the bot refuses to sign them: {}{from}",
            mismatches.join("; ")
        ),
    )
    .fix(fix)
}
