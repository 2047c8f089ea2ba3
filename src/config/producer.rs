//! `[producer]`: the account, its switching permission and the regproducer action.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::key::{key_source, KeySource};
use super::{default, Findings, RawConfig};
use crate::antelope::Name;
pub use crate::keyswitch::RegAction;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProducer {
    pub account: String,
    pub permission: String,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub key_env: Option<String>,
    #[serde(default = "default::action")]
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    pub account: Name,
    pub permission: Name,
    pub key: KeySource,
    pub action: RegAction,
}

impl RawConfig {
    pub(super) fn validate_producer(
        &self,
        base: &Path,
        f: &mut Findings,
    ) -> Option<ProducerConfig> {
        let p = &self.producer;
        let n0 = f.errors.len();
        let account = match p.account.parse::<Name>() {
            Ok(n) if n.is_empty() => {
                f.error(
                    "producer.account",
                    "is empty",
                    "set it to the producer account name",
                );
                None
            }
            Ok(n) => Some(n),
            Err(e) => {
                f.error(
                    "producer.account",
                    e.to_string(),
                    "use the producer's account name (a-z, 1-5, '.', up to 12 characters)",
                );
                None
            }
        };
        let permission = match p.permission.parse::<Name>() {
            Ok(n) if n.is_empty() => {
                f.error(
                    "producer.permission",
                    "is empty",
                    "set it to the dedicated permission, e.g. \"failover\"",
                );
                None
            }
            Ok(n) => {
                if n == Name::literal("owner") || n == Name::literal("active") {
                    f.warn(
                        "producer.permission",
                        format!("is \"{n}\": WARNING the key on this machine could then move funds, change keys and take over the account, not just switch the signing key"),
                        "create a dedicated permission (eosio::updateauth \"failover\" under active) and linkauth it to eosio::regproducer",
                    );
                }
                Some(n)
            }
            Err(e) => {
                f.error(
                    "producer.permission",
                    e.to_string(),
                    "use a permission name such as \"failover\"",
                );
                None
            }
        };
        // In [msig] mode this host signs with its observer key, from [msig].
        let (sec, key_file, key_env) = match &self.msig {
            Some(m) => {
                if p.key_file.is_some() || p.key_env.is_some() {
                    f.error(
                        if p.key_file.is_some() { "producer.key_file" } else { "producer.key_env" },
                        "is set, but with [msig] no key of this host is on the producer's switching permission: this host signs with its own observer key",
                        "move this observer's own key to [msig] key_file (or key_env) and remove it from [producer]",
                    );
                }
                ("msig", &m.key_file, &m.key_env)
            }
            None => ("producer", &p.key_file, &p.key_env),
        };
        let key = key_source(f, base, sec, key_file, key_env);
        let action = match p.action.as_str() {
            "regproducer" => Some(RegAction::Regproducer),
            "regproducer2" => Some(RegAction::Regproducer2),
            other => {
                f.error(
                    "producer.action",
                    format!("{other:?} is not a known action"),
                    "use \"regproducer\" or \"regproducer2\"",
                );
                None
            }
        };
        if f.errors.len() != n0 {
            return None;
        }
        Some(ProducerConfig {
            account: account?,
            permission: permission?,
            key: key?,
            action: action?,
        })
    }
}
