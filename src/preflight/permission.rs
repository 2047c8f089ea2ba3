//! The checks on our account: the signing permission, its links (`linkauth`), the failover
//! key's weight, and the resources to push a transaction.

use super::cleos::{active, cleos_link, eosio, owner, provenance, signer_text};
use super::{actions_sent, CheckInputs, CheckResult, Status};
use crate::antelope::Name;
use crate::api::types::{Account, ResourceLimit};
use crate::authority::{self, cleos_set_permission, Accounts, MinPerm};
use crate::config::Config;
use crate::snapshot::Fetched;

/// nodeos answers `get_account` for an account that does not exist with a bare
/// multi-index lookup failure: `unknown key (boost::tuples::tuple<bool, eosio::chain::name, …>)`.
fn account_does_not_exist(error: &str) -> bool {
    error.contains("unknown key (boost::tuples::tuple<bool, eosio::chain::name")
}

pub(super) fn check_permission(config: &Config, inputs: &CheckInputs) -> Vec<CheckResult> {
    let acct = config.producer.account;
    let perm = config.producer.permission;
    let signer = &inputs.signer;
    let key_text = signer_text(signer);
    let actions = actions_sent(config);
    let link_name = |a: Name| format!("permission.link.{a}");
    let mut out = Vec::new();

    // Dedicated or not: known from the config alone.
    if perm == active() || perm == owner() {
        let mut fix = vec![cleos_set_permission(
            acct,
            Name::literal("failover"),
            &key_text,
            active(),
        )];
        fix.extend(
            actions
                .iter()
                .map(|&a| cleos_link(acct, a, Name::literal("failover"))),
        );
        fix.push("then set [producer] permission = \"failover\"".into());
        out.push(
            CheckResult::warn(
                "permission.dedicated",
                format!(
                    "WARNING: the bot signs with {acct}@{perm}: whoever takes the key on this machine can move funds, change keys and take over the account, not just switch the signing key; use a dedicated permission linked only to what the bot sends"
                ),
            )
            .fix(fix.join("\n")),
        );
    } else {
        out.push(CheckResult::ok(
            "permission.dedicated",
            format!("{acct}@{perm} is a dedicated permission, not active or owner"),
        ));
    }

    let from = provenance(&inputs.account);
    let account = match (&inputs.account.value, &inputs.account.error) {
        (Some(a), _) => a,
        (None, e) => {
            let why = e.clone().unwrap_or_else(|| "no endpoint answered".into());
            let missing = account_does_not_exist(&why);
            let (what, fix) = if missing {
                (
                    format!("account {acct} does not exist on this chain, so producer {acct} is not registered"),
                    format!("check [producer] account = \"{acct}\" and that [chain] endpoints and chain_id are this chain's"),
                )
            } else {
                (
                    format!("cannot read account {acct}: {why}"),
                    format!("check that [producer] account = \"{acct}\" exists on this chain and that an endpoint answers get_account"),
                )
            };
            // Nothing about the permission holds for an account that cannot be read.
            out.retain(|c| c.name != "permission.dedicated" || c.status != Status::Ok);
            out.insert(0, CheckResult::fail("permission", what).fix(fix));
            if missing {
                out.push(CheckResult::fail(
                    "permission.dedicated",
                    "not checked: the account does not exist",
                ));
            }
            out.push(CheckResult::fail(
                "permission.key",
                "not checked: the account was not read",
            ));
            for &a in &actions {
                out.push(CheckResult::fail(
                    link_name(a),
                    "not checked: the account was not read",
                ));
            }
            return out;
        }
    };

    // Existence.
    let permission = account.permission(perm);
    match permission {
        Some(p) => out.insert(
            0,
            CheckResult::ok(
                "permission",
                format!(
                    "{acct}@{perm} exists (parent {}, threshold {}){from}",
                    if p.parent.is_empty() {
                        "none".to_string()
                    } else {
                        p.parent.to_string()
                    },
                    p.required_auth.threshold
                ),
            ),
        ),
        None => out.insert(
            0,
            CheckResult::fail(
                "permission",
                format!("{acct} has no permission {perm}{from}"),
            )
            .fix(cleos_set_permission(acct, perm, &key_text, active())),
        ),
    }

    // The key.
    out.push(match (permission, signer) {
        (None, _) => CheckResult::fail(
            "permission.key",
            format!("not checked: {acct}@{perm} does not exist"),
        ),
        (_, Err(_)) => CheckResult::fail(
            "permission.key",
            "not checked: the failover key did not load (see the key check)",
        ),
        (Some(p), Ok(k)) => {
            let replace = cleos_set_permission(acct, perm, &key_text, p.parent);
            let note = "(this sets the permission's authority to that one key, weight 1, threshold 1)";
            let level = crate::api::types::PermissionLevel {
                actor: acct,
                permission: perm,
            };
            let tally = authority::weigh(
                &Accounts::new([account]),
                &level,
                std::slice::from_ref(k),
                authority::MAX_AUTHORITY_DEPTH,
            );
            match tally {
                Some(t) if t.satisfied => CheckResult::ok(
                    "permission.key",
                    format!(
                        "the failover key {k} gives {acct}@{perm} weight {} of its threshold {} ({})",
                        t.weight,
                        t.threshold,
                        t.entries.join("; ")
                    ),
                ),
                Some(t) => {
                    let unread = if t.unread.is_empty() {
                        String::new()
                    } else {
                        let u: Vec<String> = t
                            .unread
                            .iter()
                            .map(|l| format!("{}@{}", l.actor, l.permission))
                            .collect();
                        format!("; permissions of other accounts are not followed here: {}", u.join(", "))
                    };
                    CheckResult::fail(
                        "permission.key",
                        format!(
                            "the failover key {k} gives {acct}@{perm} weight {} of its threshold {} ({}){unread}: the bot's signature alone cannot satisfy it {note}",
                            t.weight,
                            t.threshold,
                            t.entries.join("; ")
                        ),
                    )
                    .fix(replace)
                }
                None => CheckResult::fail(
                    "permission.key",
                    format!("not checked: {acct}@{perm} does not exist"),
                ),
            }
        }
    });

    // The links.
    for &a in &actions {
        out.push(check_link(account, acct, perm, a, &from));
    }
    out
}

/// CPU (µs) and NET (bytes) the account must have available for one key switch: a
/// regproducer costs a few hundred µs and under 300 bytes; this leaves a margin.
pub(super) const MIN_CPU_US: i64 = 2_000;
pub(super) const MIN_NET_BYTES: i64 = 1_000;

/// The amount `amount` in the precision and symbol of `weight` ("1000.0000 EOS").
fn asset_like(weight: Option<&str>, amount: u32) -> String {
    let parsed = weight.and_then(|w| {
        let (num, sym) = w.trim().split_once(' ')?;
        let decimals = num.split_once('.').map_or(0, |(_, d)| d.len());
        Some((decimals, sym.to_string()))
    });
    match parsed {
        Some((0, sym)) => format!("{amount} {sym}"),
        Some((d, sym)) => format!("{amount}.{} {sym}", "0".repeat(d)),
        None => format!("{amount} <core symbol>"),
    }
}

/// The account can pay the CPU and NET of one key switch now (nodeos refuses it
/// otherwise: tx_cpu_usage_exceeded / tx_net_usage_exceeded).
pub(super) fn check_resources(config: &Config, account: &Fetched<Account>) -> CheckResult {
    let acct = config.producer.account;
    let Some(a) = &account.value else {
        return CheckResult::fail("resources", "not checked: the account was not read");
    };
    let from = provenance(account);
    let (Some(cpu), Some(net)) = (a.cpu_limit, a.net_limit) else {
        return CheckResult::warn(
            "resources",
            format!("cannot verify: the node does not report {acct}'s CPU/NET limits{from}"),
        );
    };
    let short = |l: ResourceLimit, min: i64| l.available != -1 && l.available < min;
    let (cpu_short, net_short) = (short(cpu, MIN_CPU_US), short(net, MIN_NET_BYTES));
    let shown = |l: ResourceLimit, unit: &str| {
        if l.available == -1 {
            "unlimited".to_string()
        } else {
            format!("{} {unit} available", l.available)
        }
    };
    let detail = format!(
        "CPU {} (one switch needs about {MIN_CPU_US} µs), NET {} (about {MIN_NET_BYTES} bytes){from}",
        shown(cpu, "µs"),
        shown(net, "bytes")
    );
    if !cpu_short && !net_short {
        return CheckResult::ok(
            "resources",
            format!("{acct} can pay for a key switch: {detail}"),
        );
    }
    let weight = a
        .total_resources
        .as_ref()
        .and_then(|t| t.cpu_weight.as_deref());
    let net_amount = asset_like(weight, if net_short { 10 } else { 0 });
    let cpu_amount = asset_like(weight, if cpu_short { 100 } else { 0 });
    CheckResult::fail(
        "resources",
        format!(
            "{acct} cannot pay for a key switch now: {detail}; nodeos would refuse it (tx_cpu_usage_exceeded / tx_net_usage_exceeded)"
        ),
    )
    .fix(format!(
        "cleos system delegatebw <funder> {acct} \"{net_amount}\" \"{cpu_amount}\" -p <funder>@active\n(<funder>: an account with liquid tokens; {acct} cannot pay for that transaction itself while short; stake more on a busy chain, or rent with cleos system powerup)"
    ))
}

fn check_link(account: &Account, acct: Name, perm: Name, action: Name, from: &str) -> CheckResult {
    let name = format!("permission.link.{action}");
    let fix = cleos_link(acct, action, perm);
    let min = authority::minimum_permission(account, eosio(), action);
    let how = min.describe(eosio(), action);
    let required = match min {
        MinPerm::Any => {
            return CheckResult::ok(
                name,
                format!("{how}: any permission of {acct} satisfies it{from}"),
            )
        }
        MinPerm::Unknown => {
            return CheckResult::warn(name, format!("cannot verify: {how}{from}")).fix(format!(
                "if `cleos get account {acct}` does not show the link, create it:\n{fix}"
            ))
        }
        MinPerm::Exact(p) | MinPerm::WholeContract(p) => p,
        MinPerm::Default => active(),
    };
    if authority::descends_from(account, required, perm) {
        let why = if required == perm {
            String::new()
        } else {
            format!(", which {perm} satisfies as its ancestor")
        };
        CheckResult::ok(name, format!("{how}{why}{from}"))
    } else {
        CheckResult::fail(
            name,
            format!(
                "{how}, which {perm} cannot satisfy (a permission satisfies only itself and its descendants): pushing with {acct}@{perm} fails with irrelevant_auth_exception{from}"
            ),
        )
        .fix(fix)
    }
}
