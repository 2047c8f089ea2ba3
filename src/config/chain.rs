//! `[chain]`: the endpoints the observer reads and the bounds it holds them to. The
//! validated form is the pool's own [`ChainConfig`] (the api layer does not import config).

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use super::{default, Findings, RawConfig};
pub use crate::api::pool::ChainConfig;
use crate::api::types::ChainId;
use crate::api::url::EndpointUrl;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChain {
    pub endpoints: Vec<String>,
    #[serde(default)]
    pub chain_id: Option<String>,
    #[serde(default = "default::request_timeout_ms")]
    pub request_timeout_ms: u64,
    #[serde(default = "default::max_head_age_ms")]
    pub max_head_age_ms: u64,
    #[serde(default = "default::max_clock_ahead_ms")]
    pub max_clock_ahead_ms: u64,
    #[serde(default = "default::max_lag_blocks")]
    pub max_lag_blocks: u32,
}

impl RawConfig {
    pub(super) fn validate_chain(&self, f: &mut Findings) -> Option<ChainConfig> {
        let c = &self.chain;
        let n0 = f.errors.len();
        if c.endpoints.is_empty() {
            f.error(
                "chain.endpoints",
                "is empty",
                "list at least one nodeos API URL; three independent ones are recommended",
            );
        }
        let mut endpoints = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut hosts: HashMap<String, usize> = HashMap::new();
        for (i, text) in c.endpoints.iter().enumerate() {
            let path = format!("chain.endpoints[{i}]");
            match EndpointUrl::parse(text) {
                Ok(u) => {
                    if let Some(j) = seen.insert(u.expose().to_string(), i) {
                        f.error(
                            &path,
                            format!("repeats chain.endpoints[{j}]; a repeated endpoint would vote twice in the quorum"),
                            "remove the duplicate",
                        );
                    } else if let Some(j) = hosts.insert(u.host().to_ascii_lowercase(), i) {
                        f.warn(
                            &path,
                            format!("is on the same host as chain.endpoints[{j}] ({}); the quorum assumes independent endpoints", u.host()),
                            "use endpoints run by different operators",
                        );
                    }
                    if u.has_credentials() && !u.is_https() && !u.is_loopback() {
                        f.warn(
                            &path,
                            format!("{u} sends credentials over plain http"),
                            "use https://",
                        );
                    }
                    endpoints.push(u);
                }
                Err(e) => f.error(
                    &path,
                    e.to_string(),
                    "write a URL like https://api.example.org",
                ),
            }
        }
        match c.endpoints.len() {
            1 => f.warn(
                "chain.endpoints",
                "has one endpoint: nothing cross-checks it, and when it fails the observer is blind",
                "add two more independent endpoints",
            ),
            2 => f.warn(
                "chain.endpoints",
                "has two endpoints: both must be healthy and agree (a strict majority of 2), so either one failing makes the observer blind",
                "add a third independent endpoint",
            ),
            _ => {}
        }
        let chain_id = match &c.chain_id {
            None => {
                f.warn(
                    "chain.chain_id",
                    "is not set: endpoints are checked only against each other's chain id",
                    "set chain.chain_id (EOS aca376f2…, Jungle4 73e4385a…, Telos 4667b205…, WAX 1064487b…)",
                );
                None
            }
            Some(s) => match s.parse::<ChainId>() {
                Ok(id) => Some(id),
                Err(e) => {
                    f.error(
                        "chain.chain_id",
                        e.to_string(),
                        "copy chain_id from get_info of a trusted node (64 hex characters)",
                    );
                    None
                }
            },
        };
        f.range(
            "chain.request_timeout_ms",
            c.request_timeout_ms,
            100,
            30_000,
            "",
        );
        f.range(
            "chain.max_head_age_ms",
            c.max_head_age_ms,
            1_000,
            600_000,
            "",
        );
        f.range(
            "chain.max_clock_ahead_ms",
            c.max_clock_ahead_ms,
            500,
            60_000,
            " (blocks are produced up to 500 ms before their timestamp)",
        );
        f.range("chain.max_lag_blocks", c.max_lag_blocks, 1, 7_200, "");
        (f.errors.len() == n0).then(|| ChainConfig {
            endpoints,
            chain_id,
            request_timeout: Duration::from_millis(c.request_timeout_ms),
            max_head_age: Duration::from_millis(c.max_head_age_ms),
            max_clock_ahead: Duration::from_millis(c.max_clock_ahead_ms),
            max_lag_blocks: c.max_lag_blocks,
        })
    }
}
