//! The Savanna checks: our finalizer registration, its active key, and the data centers'
//! `finalizer_key`s.

use super::cleos::{cleos_actfinkey, cleos_regfinkey, provenance, POP_NOTE};
use super::producer::registered_dc;
use super::{CheckInputs, CheckResult, Status};
use crate::api::types::{BlockInfo, FinalizerKeyRow};
use crate::config::{self, Config};

/// The finalizer key to suggest in a fix: that of the data center whose signing key is
/// registered, else the primary's, else any configured one.
fn suggested_finalizer_key<'a>(config: &'a Config, inputs: &CheckInputs) -> Option<&'a str> {
    let current = inputs
        .producer
        .value
        .as_ref()
        .and_then(|r| r.as_ref())
        .and_then(|r| registered_dc(config, r));
    current
        .and_then(|d| d.finalizer_key.as_deref())
        .or(config.datacenters[0].finalizer_key.as_deref())
        .or_else(|| {
            config
                .datacenters
                .iter()
                .find_map(|d| d.finalizer_key.as_deref())
        })
}

pub(super) fn check_finalizer(config: &Config, inputs: &CheckInputs) -> CheckResult {
    let acct = config.producer.account;
    let name = "finalizer";
    let head = &inputs.head_block;
    let savanna = head.value.as_ref().map(BlockInfo::is_savanna);
    if let (Some(false), Some(b)) = (savanna, &head.value) {
        let detail = format!(
            "legacy consensus (head block {} has schedule_version {}): no finalizer key is needed to be scheduled",
            b.block_num, b.schedule_version
        );
        let active_key = inputs
            .finalizer
            .value
            .as_ref()
            .and_then(|s| s.active_key.as_ref());
        return active_key
            .and_then(|k| finalizer_mismatch(config, inputs, k, &detail))
            .unwrap_or_else(|| CheckResult::ok(name, detail));
    }
    // Savanna, or unknown: an unknown mode downgrades every finding to a warning.
    let (bad, prefix) = match (savanna, &head.value) {
        (Some(true), Some(b)) => (
            Status::Fail,
            format!("Savanna (head block {} carries the Savanna schedule_version marker): ", b.block_num),
        ),
        _ => (
            Status::Warn,
            format!(
                "consensus mode unknown (cannot read the head block: {}); if the chain runs Savanna: ",
                head.error.as_deref().unwrap_or("no head")
            ),
        ),
    };
    let suggested = suggested_finalizer_key(config, inputs);
    let bls_placeholder = "PUB_BLS_<finalizer key from spring-util bls create key>";
    let from = provenance(&inputs.finalizer);
    let state = match (&inputs.finalizer.value, &inputs.finalizer.error) {
        (Some(s), _) => s,
        (None, e) => {
            return CheckResult::new(
                name,
                bad,
                format!(
                    "{prefix}cannot read the eosio finalizers table: {}",
                    e.as_deref().unwrap_or("no endpoint answered")
                ),
            )
            .fix("see the observer check: at least one endpoint must answer get_table_rows")
        }
    };
    let Some(row) = &state.row else {
        return CheckResult::new(
            name,
            bad,
            format!(
                "{prefix}{acct} has no active finalizer key (no row in the eosio finalizers table): the system contract leaves it out of every producer schedule it builds, so {acct} drops out at the next schedule update{from}"
            ),
        )
        .fix(format!(
            "{}\n({POP_NOTE}; the first key registered becomes the active one)",
            cleos_regfinkey(acct, suggested.unwrap_or(bls_placeholder))
        ));
    };
    let Some(active_key) = &state.active_key else {
        let key = inputs
            .finalizer_keys
            .as_ref()
            .and_then(|f| f.value.as_ref())
            .and_then(|ks| ks.first())
            .map(|k| k.finalizer_key.as_str())
            .or(suggested)
            .unwrap_or(bls_placeholder);
        return CheckResult::new(
            name,
            bad,
            format!(
                "{prefix}{acct}'s finalizers row names active key id {}, which is not in the eosio finkeys table: no active finalizer key, so the system contract leaves {acct} out of the schedules it builds{from}",
                row.active_key_id
            ),
        )
        .fix(cleos_actfinkey(acct, key));
    };
    let detail = format!(
        "{}active finalizer key {} (id {}) {}{from}",
        prefix.replace("if the chain runs Savanna: ", ""),
        active_key.finalizer_key,
        active_key.id,
        match finalizer_owner(config, active_key) {
            Some(d) => format!("belongs to data center {}", d.name),
            None => "belongs to no configured data center".to_string(),
        }
    );
    finalizer_mismatch(config, inputs, active_key, &detail)
        .unwrap_or_else(|| CheckResult::ok(name, detail))
}

fn finalizer_owner<'a>(
    config: &'a Config,
    key: &FinalizerKeyRow,
) -> Option<&'a config::Datacenter> {
    config
        .datacenters
        .iter()
        .find(|d| d.finalizer_key.as_deref() == Some(key.finalizer_key.as_str()))
}

/// A failure when the active finalizer key belongs to a data center other than the one
/// signing blocks. The bot sends actfinkey with every switch, and the contract rejects
/// activating the key that is already active ("finalizer key was already active", before
/// and after Savanna), which fails the whole switch transaction to that data center.
fn finalizer_mismatch(
    config: &Config,
    inputs: &CheckInputs,
    active_key: &FinalizerKeyRow,
    detail: &str,
) -> Option<CheckResult> {
    let acct = config.producer.account;
    let owner = finalizer_owner(config, active_key)?;
    let current = inputs
        .producer
        .value
        .as_ref()
        .and_then(|r| r.as_ref())
        .and_then(|r| registered_dc(config, r))?;
    if owner.name == current.name {
        return None;
    }
    let r = CheckResult::warn(
        "finalizer",
        format!(
            "{detail}, but blocks are signed with data center {}'s key: finality votes and block production come from different data centers (a switch to {} leaves actfinkey out, since that key is already active)",
            current.name, owner.name
        ),
    );
    Some(match &current.finalizer_key {
        Some(k) => r.fix(cleos_actfinkey(acct, k)),
        None => r.fix(format!(
            "give data center {} a finalizer_key (registered with regfinkey) and activate it, so the active key follows the signing key",
            current.name
        )),
    })
}

pub(super) fn check_finalizer_keys(config: &Config, inputs: &CheckInputs) -> Vec<CheckResult> {
    let acct = config.producer.account;
    let active_id = inputs
        .finalizer
        .value
        .as_ref()
        .and_then(|s| s.row.as_ref())
        .map(|r| r.active_key_id);
    config
        .datacenters
        .iter()
        .filter_map(|d| d.finalizer_key.as_deref().map(|k| (d, k)))
        .map(|(d, key)| {
            let name = format!("finalizer_key.{}", d.name);
            let fetched = inputs.finalizer_keys.as_ref();
            let rows = match fetched.map(|f| (&f.value, &f.error)) {
                Some((Some(rows), _)) => rows,
                Some((None, e)) => {
                    return CheckResult::fail(
                        name,
                        format!(
                            "cannot read {acct}'s keys in the eosio finkeys table: {}",
                            e.as_deref().unwrap_or("no endpoint answered")
                        ),
                    )
                    .fix("see the observer check; a chain without the finkeys table cannot take actfinkey: remove finalizer_key from the config there")
                }
                None => {
                    return CheckResult::fail(name, "not checked: finalizer keys were not read")
                }
            };
            let from = fetched.map(provenance).unwrap_or_default();
            match rows.iter().find(|r| r.finalizer_key == key) {
                Some(r) => CheckResult::ok(
                    name,
                    format!(
                        "{key} is registered for {acct} (id {}{}){from}",
                        r.id,
                        if active_id == Some(r.id) { ", active" } else { "" }
                    ),
                ),
                None => CheckResult::fail(
                    name,
                    format!(
                        "{key} is not registered for {acct} in the eosio finkeys table: a switch to {} sends actfinkey for it, which the contract rejects, failing the whole switch{from}",
                        d.name
                    ),
                )
                .fix(format!("{}\n({POP_NOTE})", cleos_regfinkey(acct, key))),
            }
        })
        .collect()
}
