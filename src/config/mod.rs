//! The configuration file (TOML), loaded in two phases.
//!
//! 1. **Parse** ([`parse`]): serde with `deny_unknown_fields` on every table, so a typo or
//!    a section this version does not know is an error naming the key and its line. Values stay close to text here.
//! 2. **Validate** ([`RawConfig::validate`]): meaning. Every problem is collected — each
//!    with its field path (`datacenter[1].signing_key`), what is wrong, and the fix — so a
//!    single run reports them all. Warnings (e.g. signing with `active`, fewer than three
//!    endpoints) are returned apart from errors.
//!
//! Secrets: the private key is never in the file or in [`Config`]. The config names a key
//! file (checked for mode `600`-style permissions and readability during validation, but
//! not read) or an environment variable; [`KeySource::load`] reads it only when a command
//! needs to sign. Endpoint URLs may hold tokens; they are stored as [`EndpointUrl`], which
//! prints redacted.
//!
//! Alert channels carry secrets too (a Telegram bot token, a Slack/Discord webhook URL, a
//! PagerDuty routing key): the config names the environment variable or file holding
//! each ([`SecretSource`]), and [`crate::alerts`] reads them when it starts.
//!
//! Relative paths (`key_file`, `state.path`, `alerts.channel[].token_file`, …) are
//! resolved against the directory of the config file.

mod alerts;
mod chain;
mod datacenters;
mod key;
mod metrics;
mod msig;
mod policy;
mod problems;
mod producer;
mod state;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::antelope::PublicKey;
pub use alerts::{
    AlertsConfig, ChannelConfig, ChannelKind, HeartbeatConfig, RawAlerts, RawChannel, RawChatId,
    SecretSource, Severity,
};
pub use chain::{ChainConfig, RawChain};
pub use datacenters::{Datacenter, RawDatacenter};
pub use key::KeySource;
pub use metrics::{MetricsConfig, RawMetrics};
pub use msig::{MsigConfig, RawMsig, MAX_MSIG_OBSERVERS};
pub use policy::{Failback, Policy, RawPolicy};
use problems::Findings;
pub use problems::{ConfigError, Problem};
pub use producer::{ProducerConfig, RawProducer, RegAction};
pub use state::{RawState, StateConfig};

/// Environment variable naming the config file when `--config`/`-c` is not given.
pub const CONFIG_ENV: &str = "BP_FAILOVER_CONFIG";
/// The config file used when neither `--config` nor `BP_FAILOVER_CONFIG` is set.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/bp-failover/config.toml";

/// Named defaults, as documented in `config.example.toml`.
pub mod default {
    pub fn request_timeout_ms() -> u64 {
        1500
    }
    pub fn max_head_age_ms() -> u64 {
        30_000
    }
    pub fn max_clock_ahead_ms() -> u64 {
        2_000
    }
    pub fn max_lag_blocks() -> u32 {
        10
    }
    pub fn action() -> String {
        "regproducer".into()
    }
    pub fn state_path() -> std::path::PathBuf {
        "/var/lib/bp-failover/state.json".into()
    }
    pub fn remind_secs() -> u64 {
        3600
    }
    pub fn resolve_quiet_secs() -> u64 {
        900
    }
    pub fn alert_timeout_ms() -> u64 {
        5000
    }
    pub fn alert_retries() -> u32 {
        3
    }
    pub fn alert_backoff_ms() -> u64 {
        2000
    }
    pub fn alert_queue_len() -> usize {
        100
    }
    pub fn heartbeat_secs() -> u64 {
        60
    }
    pub fn min_severity() -> String {
        "warning".into()
    }
    pub fn telegram_api() -> &'static str {
        "https://api.telegram.org"
    }
    pub fn pagerduty_api() -> &'static str {
        "https://events.pagerduty.com"
    }
    pub fn healthz_max_age_secs() -> u64 {
        crate::metrics::DEFAULT_HEALTHZ_MAX_AGE_SECS
    }
    /// The alert state file, beside the state file.
    pub const ALERTS_STATE_FILE: &str = "alerts.json";
}

// ---------------------------------------------------------------------------------------
// Phase 1: the file as written
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub chain: RawChain,
    pub producer: RawProducer,
    #[serde(rename = "datacenter", default)]
    pub datacenters: Vec<RawDatacenter>,
    #[serde(default)]
    pub policy: RawPolicy,
    #[serde(default)]
    pub state: RawState,
    #[serde(default)]
    pub alerts: Option<RawAlerts>,
    #[serde(default)]
    pub metrics: Option<RawMetrics>,
    /// `[msig]`: k-of-n observers through `eosio.msig` (see [`MsigConfig`]).
    #[serde(default)]
    pub msig: Option<RawMsig>,
}

/// Phase 1: TOML → [`RawConfig`]. The error text (from `toml`) names the key and line.
pub fn parse(text: &str) -> Result<RawConfig, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
}

// ---------------------------------------------------------------------------------------
// Phase 2: validated configuration
// ---------------------------------------------------------------------------------------

/// A validated configuration. Holds no secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub chain: ChainConfig,
    pub producer: ProducerConfig,
    /// In failover order; the first is the primary.
    pub datacenters: Vec<Datacenter>,
    pub policy: Policy,
    pub state: StateConfig,
    /// `[alerts]`; without the section, no channel and no heartbeat.
    pub alerts: AlertsConfig,
    /// `[metrics]`; `None` without the section (no HTTP server).
    pub metrics: Option<MetricsConfig>,
    /// `[msig]`; `None` without the section (one observer key switches alone).
    pub msig: Option<MsigConfig>,
}

impl Config {
    /// The data center whose signing key this is (bytes comparison).
    pub fn datacenter_for_key(&self, key: &PublicKey) -> Option<&Datacenter> {
        self.datacenters.iter().find(|d| d.signing_key == *key)
    }
}

/// A configuration that loaded, with its warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Problem>,
}

/// Loads and validates a config file. Touches only the file system (the config file and
/// the key file's metadata), never the network.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    load_with(path, &KeyUse::default())
}

/// As [`load`], for a command using the key as `key` says.
pub fn load_with(path: &Path, key: &KeyUse) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_str_with(&text, path, key)
}

/// As [`load`] with the text given; `path` is used in messages and to resolve relative
/// paths.
pub fn load_str(text: &str, path: &Path) -> Result<Loaded, ConfigError> {
    load_str_with(text, path, &KeyUse::default())
}

/// As [`load_str`], for a command using the key as `key` says.
pub fn load_str_with(text: &str, path: &Path, key: &KeyUse) -> Result<Loaded, ConfigError> {
    let raw = parse(text).map_err(|message| ConfigError::Syntax {
        path: path.to_path_buf(),
        message,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    raw.validate_with(base, key)
        .map_err(|problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
}

/// How the command loading the config uses the failover key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyUse {
    /// The command never signs (`status`, `check`): a missing, unreadable or shared key
    /// file is a warning, not an error.
    pub read_only: bool,
    /// `--key-file`: this file instead of the config's `key_file`/`key_env` (e.g. from a
    /// shell, where the systemd credential path does not exist).
    pub key_file: Option<PathBuf>,
}

impl KeyUse {
    /// A command that never signs, with the config's own key settings.
    pub fn read_only() -> Self {
        KeyUse {
            read_only: true,
            key_file: None,
        }
    }
}

pub(super) fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

impl RawConfig {
    /// Phase 2. `base` is the directory relative paths are resolved against. Returns every
    /// problem found, or the config with its warnings.
    pub fn validate(&self, base: &Path) -> Result<Loaded, Vec<Problem>> {
        self.validate_with(base, &KeyUse::default())
    }

    /// As [`RawConfig::validate`], for a command using the key as `key` says.
    pub fn validate_with(&self, base: &Path, key: &KeyUse) -> Result<Loaded, Vec<Problem>> {
        let mut f = Findings {
            errors: Vec::new(),
            warnings: Vec::new(),
            key: key.clone(),
        };
        let chain = self.validate_chain(&mut f);
        let producer = self.validate_producer(base, &mut f);
        let datacenters = self.validate_datacenters(&mut f);
        let policy = self.validate_policy(&mut f);
        let state_path = resolve(base, &self.state.path);
        if self.state.path.as_os_str().is_empty() {
            f.error("state.path", "is empty", "set state.path to a file in a directory only bp-failover writes, e.g. /var/lib/bp-failover/state.json");
        }
        let alerts_state = state_path
            .parent()
            .unwrap_or(Path::new("."))
            .join(default::ALERTS_STATE_FILE);
        let alerts = match &self.alerts {
            None => Some(alerts::disabled(alerts_state)),
            Some(a) => alerts::validate_alerts(a, base, alerts_state, &mut f),
        };
        let metrics = self
            .metrics
            .as_ref()
            .map(|m| metrics::validate_metrics(m, &mut f));
        let msig = self
            .msig
            .as_ref()
            .and_then(|m| msig::validate_msig(m, &mut f));

        // Cross-field: the stale bound must outlast a missed turn of ours.
        let needed = u64::from(self.policy.missed_blocks)
            * crate::antelope::time::BLOCK_INTERVAL_MS as u64
            + self.chain.request_timeout_ms;
        if self.chain.max_head_age_ms <= needed {
            f.error(
                "chain.max_head_age_ms",
                format!(
                    "{} ms would mark every endpoint stale while our producer misses {} blocks ({} ms of no blocks plus a {} ms request): the observer would go blind exactly when it must act",
                    self.chain.max_head_age_ms,
                    self.policy.missed_blocks,
                    u64::from(self.policy.missed_blocks) * crate::antelope::time::BLOCK_INTERVAL_MS as u64,
                    self.chain.request_timeout_ms
                ),
                format!("set chain.max_head_age_ms above {needed} (default {})", default::max_head_age_ms()),
            );
        }

        if !f.errors.is_empty() {
            return Err(f.errors);
        }
        // Every part is Some when there were no errors.
        match (chain, producer, datacenters, policy, alerts, metrics) {
            (
                Some(chain),
                Some(producer),
                Some(datacenters),
                Some(policy),
                Some(alerts),
                metrics @ (None | Some(Some(_))),
            ) => Ok(Loaded {
                config: Config {
                    chain,
                    producer,
                    datacenters,
                    policy,
                    state: StateConfig { path: state_path },
                    alerts,
                    metrics: metrics.flatten(),
                    msig,
                },
                warnings: f.warnings,
            }),
            _ => Err(vec![Problem {
                path: "(config)".into(),
                message: "validation failed".into(),
                fix: String::new(),
            }]),
        }
    }
}

pub(super) fn valid_env_name(var: &str) -> bool {
    !var.is_empty()
        && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !var.as_bytes()[0].is_ascii_digit()
}
