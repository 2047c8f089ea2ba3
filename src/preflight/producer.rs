//! The checks on our `producers` row: registered, active, and with a configured key.

use super::cleos::{cleos_regproducer, provenance, sh};
use super::CheckResult;
use crate::antelope::PublicKey;
use crate::api::types::ProducerRow;
use crate::config::{self, Config};
use crate::daemon::onchain::row_key;
use crate::snapshot::Fetched;

/// The data center whose key is registered, when it is a configured one.
pub(super) fn registered_dc<'a>(
    config: &'a Config,
    row: &ProducerRow,
) -> Option<&'a config::Datacenter> {
    row_key(row).and_then(|k| config.datacenter_for_key(&k))
}

pub(super) fn check_producer(
    config: &Config,
    fetched: &Fetched<Option<ProducerRow>>,
) -> Vec<CheckResult> {
    let acct = config.producer.account;
    let primary = &config.datacenters[0];
    let from = provenance(fetched);
    let row = match (&fetched.value, &fetched.error) {
        (Some(Some(row)), _) => row,
        (Some(None), _) => {
            return vec![
                CheckResult::fail(
                    "producer",
                    format!("{acct} is not a registered producer: no row in the eosio producers table{from}"),
                )
                .fix(cleos_regproducer(acct, &primary.signing_key, "<url>", "<location>")),
                CheckResult::fail(
                    "producer.key",
                    "not checked: no producers row holds a key",
                ),
            ];
        }
        (None, e) => {
            let why = e.clone().unwrap_or_else(|| "no endpoint answered".into());
            return vec![
                CheckResult::fail(
                    "producer",
                    format!("cannot read the eosio producers table: {why}"),
                )
                .fix("see the observer check: at least one endpoint must answer"),
                CheckResult::fail(
                    "producer.key",
                    "not checked: the producers row was not read",
                ),
            ];
        }
    };
    let url = sh(&row.url);
    let location = row.location.to_string();
    let dc = registered_dc(config, row);
    let regproducer = |key: &PublicKey| cleos_regproducer(acct, key, &url, &location);

    let registration = if row.is_active {
        CheckResult::ok(
            "producer",
            format!(
                "{acct} is a registered, active producer (url {}, location {}){from}",
                row.url, row.location
            ),
        )
    } else {
        let key = dc.map_or(&primary.signing_key, |d| &d.signing_key);
        CheckResult::fail(
            "producer",
            format!(
                "{acct} is registered but not active (unregprod, or kicked on Telos): the system contract does not schedule it{from}"
            ),
        )
        .fix(regproducer(key))
    };

    let key_check = match (row_key(row), dc) {
        (Some(k), Some(d)) => {
            let role = if std::ptr::eq(d, primary) {
                "the primary"
            } else {
                "a backup"
            };
            CheckResult::ok(
                "producer.key",
                format!("the registered signing key {k} is data center {}'s key ({role}){from}", d.name),
            )
        }
        (Some(k), None) if k.is_null() => CheckResult::fail(
            "producer.key",
            format!("the registered signing key is the null key (written by unregprod){from}"),
        )
        .fix(regproducer(&primary.signing_key)),
        (Some(k), None) => CheckResult::fail(
            "producer.key",
            format!(
                "unknown key: the registered signing key {k} belongs to no configured data center, so the bot would never act{from}"
            ),
        )
        .fix(format!(
            "add a [[datacenter]] with signing_key = \"{k}\" for the node that holds it, or register a configured data center's key:\n{}",
            regproducer(&primary.signing_key)
        )),
        (None, _) => CheckResult::fail(
            "producer.key",
            format!(
                "unknown key: the registered authority is not one K1 key ({}), so the bot would never act{from}",
                describe_authority(row)
            ),
        )
        .fix(regproducer(&primary.signing_key)),
    };
    vec![registration, key_check]
}

fn describe_authority(row: &ProducerRow) -> String {
    let a = row.effective_authority();
    let keys: Vec<String> = a
        .keys
        .iter()
        .map(|k| format!("{} weight {}", k.key, k.weight))
        .collect();
    format!("threshold {}, keys [{}]", a.threshold, keys.join(", "))
}
