//! The checks on what is local: the config as loaded and the failover key.

use super::CheckResult;
use crate::antelope::PublicKey;
use crate::config::{Config, KeySource, Problem};

pub(super) fn check_config(config: &Config, warnings: &[Problem]) -> CheckResult {
    let names: Vec<&str> = config.datacenters.iter().map(|d| d.name.as_str()).collect();
    let summary = format!(
        "valid: {} data centers ({}; the first is the primary), every signing key parses; {} endpoint(s)",
        names.len(),
        names.join(", "),
        config.chain.endpoints.len()
    );
    if warnings.is_empty() {
        return CheckResult::ok("config", summary);
    }
    let list: Vec<String> = warnings
        .iter()
        .map(|w| format!("{}: {}", w.path, w.message))
        .collect();
    let fixes: Vec<String> = warnings
        .iter()
        .filter(|w| !w.fix.is_empty())
        .map(|w| format!("{}: {}", w.path, w.fix))
        .collect();
    let r = CheckResult::warn(
        "config",
        format!(
            "{summary}; {} warning(s):\n- {}",
            warnings.len(),
            list.join("\n- ")
        ),
    );
    if fixes.is_empty() {
        r
    } else {
        r.fix(fixes.join("\n"))
    }
}

fn key_source(config: &Config) -> String {
    match &config.producer.key {
        KeySource::File(p) => format!("key_file {}", p.display()),
        KeySource::Env(v) => format!("key_env {v}"),
    }
}

pub(super) fn check_key(config: &Config, signer: &Result<PublicKey, String>) -> CheckResult {
    let source = key_source(config);
    match signer {
        Ok(k) => CheckResult::ok(
            "key",
            format!(
                "the failover key from {source} loads; public key {k} ({})",
                k.to_legacy_string()
            ),
        ),
        Err(e) => {
            let fix = match &config.producer.key {
                KeySource::File(p) => format!(
                    "put the failover private key (WIF or PVT_K1_…) alone in {p}, then chmod 600 {p}; or make a new one with `bp-failover key new --out {p}` and put its public key in the permission",
                    p = p.display()
                ),
                KeySource::Env(v) => format!(
                    "export {v} holding the failover private key (WIF or PVT_K1_…) in the environment bp-failover runs in"
                ),
            };
            CheckResult::fail("key", format!("cannot load the failover key: {e}")).fix(fix)
        }
    }
}
