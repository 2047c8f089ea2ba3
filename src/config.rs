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

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

pub use crate::alerts::Severity;
use crate::antelope::{Name, PermissionLevel, PrivateKey, PublicKey};
use crate::api::types::ChainId;
use crate::api::url::EndpointUrl;
pub use crate::decision::{Failback, Policy};
use crate::keyfile::{self, KeyFileError};
pub use crate::keyswitch::RegAction;
use crate::quorum::QuorumPolicy;

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
        30
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMsig {
    /// This observer's own `account@permission`.
    pub observer: String,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub key_env: Option<String>,
    pub threshold: u32,
    /// Every observer's `account@permission`, this one included.
    pub observers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatacenter {
    pub name: String,
    pub signing_key: String,
    #[serde(default)]
    pub finalizer_key: Option<String>,
    #[serde(default)]
    pub api: Option<String>,
}

/// `[policy]` as written. Defaults come from [`Policy::default`], the one place they and
/// their reasoning live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPolicy {
    pub missed_blocks: u32,
    pub min_participation: f64,
    pub participation_turns: u32,
    pub confirm_turns: u32,
    pub lib_stall_secs: u64,
    pub max_clock_skew_secs: u64,
    pub cooldown_secs: u64,
    pub max_switches_per_day: u32,
    pub failback: String,
    pub failback_after_secs: u64,
    pub pending_grace_secs: u64,
    pub decide_before_proposal: bool,
    pub proposal_margin_ms: u64,
}

impl Default for RawPolicy {
    fn default() -> Self {
        let p = Policy::default();
        RawPolicy {
            missed_blocks: p.missed_blocks,
            min_participation: p.min_participation,
            participation_turns: p.participation_turns,
            confirm_turns: p.confirm_turns,
            lib_stall_secs: p.lib_stall_secs,
            max_clock_skew_secs: p.max_clock_skew_secs,
            cooldown_secs: p.cooldown_secs,
            max_switches_per_day: p.max_switches_per_day,
            failback: "manual".into(),
            failback_after_secs: p.failback_after_secs,
            pending_grace_secs: p.pending_grace_secs,
            decide_before_proposal: p.decide_before_proposal,
            proposal_margin_ms: p.proposal_margin_ms,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    #[serde(default = "default::state_path")]
    pub path: PathBuf,
}

impl Default for RawState {
    fn default() -> Self {
        RawState {
            path: default::state_path(),
        }
    }
}

/// `[alerts]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAlerts {
    pub remind_secs: u64,
    pub resolve_quiet_secs: u64,
    pub timeout_ms: u64,
    pub retries: u32,
    pub backoff_ms: u64,
    pub queue_len: usize,
    pub heartbeat_url: Option<String>,
    pub heartbeat_url_env: Option<String>,
    pub heartbeat_url_file: Option<PathBuf>,
    pub heartbeat_secs: u64,
    #[serde(rename = "channel")]
    pub channels: Vec<RawChannel>,
}

impl Default for RawAlerts {
    fn default() -> Self {
        RawAlerts {
            remind_secs: default::remind_secs(),
            resolve_quiet_secs: default::resolve_quiet_secs(),
            timeout_ms: default::alert_timeout_ms(),
            retries: default::alert_retries(),
            backoff_ms: default::alert_backoff_ms(),
            queue_len: default::alert_queue_len(),
            heartbeat_url: None,
            heartbeat_url_env: None,
            heartbeat_url_file: None,
            heartbeat_secs: default::heartbeat_secs(),
            channels: Vec::new(),
        }
    }
}

/// One `[[alerts.channel]]` as written. One flat table for every type, so validation can
/// say which key does not belong to which type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChannel {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default::min_severity")]
    pub min_severity: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub url_env: Option<String>,
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub chat_id: Option<RawChatId>,
    #[serde(default)]
    pub api_base: Option<String>,
}

/// A Telegram chat id: a number (`-1001234567890`) or a channel's `@username`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawChatId {
    Number(i64),
    Text(String),
}

/// `[metrics]` as written. Without the section, no HTTP server runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    pub listen: String,
    #[serde(default = "default::healthz_max_age_secs")]
    pub healthz_max_age_secs: u64,
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

/// `[msig]`, validated: the producer's switching permission (`[producer] account` and
/// `permission`) is a threshold-`threshold` permission over `observers`, and this host is
/// `observer`, whose own key (`[msig] key_file`/`key_env`, kept in
/// [`ProducerConfig::key`]) signs its proposals and approvals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsigConfig {
    pub observer: PermissionLevel,
    pub threshold: u32,
    /// In the configured order; `observer` is one of them.
    pub observers: Vec<PermissionLevel>,
}

/// At most this many observers in `[msig] observers`.
pub const MAX_MSIG_OBSERVERS: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub struct ChainConfig {
    pub endpoints: Vec<EndpointUrl>,
    pub chain_id: Option<ChainId>,
    pub request_timeout: Duration,
    pub max_head_age: Duration,
    pub max_clock_ahead: Duration,
    /// A data center's node is "synced" when at most this many blocks behind the quorum.
    pub max_lag_blocks: u32,
}

impl ChainConfig {
    pub fn quorum_policy(&self) -> QuorumPolicy {
        QuorumPolicy {
            configured: self.endpoints.len(),
            chain_id: self.chain_id,
            max_head_age_ms: self.max_head_age.as_millis() as i64,
            max_clock_ahead_ms: self.max_clock_ahead.as_millis() as i64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    pub account: Name,
    pub permission: Name,
    pub key: KeySource,
    pub action: RegAction,
}

/// Where the signing key comes from. Never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    Env(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datacenter {
    pub name: String,
    pub signing_key: PublicKey,
    /// `PUB_BLS_…`, checked loosely (prefix and alphabet), kept as text.
    pub finalizer_key: Option<String>,
    pub api: Option<EndpointUrl>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateConfig {
    pub path: PathBuf,
}

/// Where a secret (token or secret-bearing URL) comes from. Never the secret itself, except
/// a URL written in the file, which is kept as a redacting [`EndpointUrl`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A URL written in the config file (allowed for the generic webhook and the heartbeat).
    Inline(EndpointUrl),
    /// The name of an environment variable holding it.
    Env(String),
    /// A file holding it (surrounding whitespace is trimmed).
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Inline(u) => write!(f, "{u}"),
            SecretSource::Env(v) => write!(f, "environment variable {v}"),
            SecretSource::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

/// `[alerts]`, validated. See `config.example.toml` for the meaning of each key.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    pub channels: Vec<ChannelConfig>,
    /// Reminder interval for a condition still active; zero: never remind.
    pub remind: Duration,
    /// A condition reported only while it lasts (no event clears it) resolves after this
    /// long without a new report.
    pub resolve_quiet: Duration,
    /// Per attempt of one delivery.
    pub timeout: Duration,
    /// Attempts after the first.
    pub retries: u32,
    /// Delay before the first retry; doubled for each further retry.
    pub backoff: Duration,
    /// Notifications waiting per channel; past that new ones are dropped (and logged).
    pub queue_len: usize,
    pub heartbeat: Option<HeartbeatConfig>,
    /// The alert lifecycle state: `alerts.json` beside `[state] path`.
    pub state_path: PathBuf,
}

impl AlertsConfig {
    /// `[alerts]` absent: defaults, no channel, no heartbeat.
    pub fn disabled(state_path: PathBuf) -> Self {
        let d = RawAlerts::default();
        AlertsConfig {
            channels: Vec::new(),
            remind: Duration::from_secs(d.remind_secs),
            resolve_quiet: Duration::from_secs(d.resolve_quiet_secs),
            timeout: Duration::from_millis(d.timeout_ms),
            retries: d.retries,
            backoff: Duration::from_millis(d.backoff_ms),
            queue_len: d.queue_len,
            heartbeat: None,
            state_path,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatConfig {
    pub url: SecretSource,
    pub every: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    /// Unique; used in logs and metrics (never a secret).
    pub name: String,
    pub min_severity: Severity,
    pub kind: ChannelKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind {
    /// JSON POST of the alert and the event that caused it.
    Webhook { url: SecretSource },
    /// Slack incoming webhook.
    Slack { url: SecretSource },
    /// Discord webhook.
    Discord { url: SecretSource },
    /// `POST {api_base}/bot<token>/sendMessage`.
    Telegram {
        token: SecretSource,
        chat_id: String,
        api_base: EndpointUrl,
    },
    /// PagerDuty Events API v2, `POST {api_base}/v2/enqueue`.
    PagerDuty {
        routing_key: SecretSource,
        api_base: EndpointUrl,
    },
}

impl ChannelKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::Slack { .. } => "slack",
            ChannelKind::Discord { .. } => "discord",
            ChannelKind::Telegram { .. } => "telegram",
            ChannelKind::PagerDuty { .. } => "pagerduty",
        }
    }
}

/// `[metrics]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub listen: SocketAddr,
    /// `/healthz` answers 503 when the loop has not run for this long.
    pub healthz_max_age: Duration,
}

impl Config {
    /// The data center whose signing key this is (bytes comparison).
    pub fn datacenter_for_key(&self, key: &PublicKey) -> Option<&Datacenter> {
        self.datacenters.iter().find(|d| d.signing_key == *key)
    }
}

/// A finding of validation: the field path, what is wrong, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
    pub fix: String,
}

impl Problem {
    fn new(path: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        if !self.fix.is_empty() {
            write!(f, "; fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// A configuration that loaded, with its warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Problem>,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}; fix: pass the right file with --config/-c or {CONFIG_ENV}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("config file {path} has {n} problem(s):\n{list}", n = problems.len(), list = bullet_list(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn bullet_list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
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

struct Findings {
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
    key: KeyUse,
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

impl Findings {
    fn error(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.errors.push(Problem::new(path, message, fix));
    }

    fn warn(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.warnings.push(Problem::new(path, message, fix));
    }

    fn range<T: PartialOrd + fmt::Display + Copy>(
        &mut self,
        path: &str,
        v: T,
        lo: T,
        hi: T,
        why: &str,
    ) {
        if v < lo || v > hi {
            self.error(
                path,
                format!("{v} is out of range {lo}..={hi}{why}"),
                format!("set {path} between {lo} and {hi}"),
            );
        }
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
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
            None => Some(AlertsConfig::disabled(alerts_state)),
            Some(a) => validate_alerts(a, base, alerts_state, &mut f),
        };
        let metrics = self.metrics.as_ref().map(|m| validate_metrics(m, &mut f));
        let msig = self.msig.as_ref().and_then(|m| validate_msig(m, &mut f));

        // Cross-field: the stale bound must outlast a missed turn of ours.
        let needed = u64::from(self.policy.missed_blocks) * 500 + self.chain.request_timeout_ms;
        if self.chain.max_head_age_ms <= needed {
            f.error(
                "chain.max_head_age_ms",
                format!(
                    "{} ms would mark every endpoint stale while our producer misses {} blocks ({} ms of no blocks plus a {} ms request): the observer would go blind exactly when it must act",
                    self.chain.max_head_age_ms,
                    self.policy.missed_blocks,
                    u64::from(self.policy.missed_blocks) * 500,
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

    fn validate_chain(&self, f: &mut Findings) -> Option<ChainConfig> {
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

    fn validate_producer(&self, base: &Path, f: &mut Findings) -> Option<ProducerConfig> {
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
        let overridden = f.key.key_file.clone();
        let key = match (key_file, key_env) {
            _ if overridden.is_some() => {
                let path = overridden.unwrap_or_default();
                match check_key_file(&path) {
                    Ok(()) => Some(KeySource::File(path)),
                    Err((message, fix)) if f.key.read_only => {
                        f.warn(
                            "--key-file",
                            format!("{message}; commands that sign will fail"),
                            fix,
                        );
                        Some(KeySource::File(path))
                    }
                    Err((message, fix)) => {
                        f.error("--key-file", message, fix);
                        None
                    }
                }
            }
            (Some(_), Some(_)) => {
                f.error(
                    format!("{sec}.key_file"),
                    format!("and {sec}.key_env are both set"),
                    "keep exactly one of them",
                );
                None
            }
            (None, None) => {
                f.error(
                    sec,
                    "has neither key_file nor key_env",
                    "set key_file = \"/etc/bp-failover/failover.key\" (then chmod 600 it) or key_env = \"BP_FAILOVER_KEY\"",
                );
                None
            }
            (Some(file), None) => {
                let path = resolve(base, file);
                match check_key_file(&path) {
                    Ok(()) => Some(KeySource::File(path)),
                    // Read-only commands do not need the key: they still run.
                    Err((message, fix)) if f.key.read_only => {
                        f.warn(
                            format!("{sec}.key_file"),
                            format!("{message}; commands that sign will fail"),
                            format!("{fix} (or pass --key-file)"),
                        );
                        Some(KeySource::File(path))
                    }
                    Err((message, fix)) => {
                        f.error(
                            format!("{sec}.key_file"),
                            message,
                            format!("{fix} (or pass --key-file)"),
                        );
                        None
                    }
                }
            }
            (None, Some(var)) => {
                let valid = !var.is_empty()
                    && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && !var.as_bytes()[0].is_ascii_digit();
                if !valid {
                    f.error(
                        format!("{sec}.key_env"),
                        format!("{var:?} is not a valid environment variable name"),
                        "use letters, digits and '_', e.g. BP_FAILOVER_KEY",
                    );
                    None
                } else {
                    if std::env::var_os(var).is_none() {
                        f.warn(
                            format!("{sec}.key_env"),
                            format!("{var} is not set in this environment; commands that sign will fail"),
                            format!("export {var} in the service environment"),
                        );
                    }
                    Some(KeySource::Env(var.clone()))
                }
            }
        };
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

    fn validate_datacenters(&self, f: &mut Findings) -> Option<Vec<Datacenter>> {
        let n0 = f.errors.len();
        if self.datacenters.len() < 2 {
            f.error(
                "datacenter",
                format!(
                    "has {} entr{}; failover needs a primary and at least one backup",
                    self.datacenters.len(),
                    if self.datacenters.len() == 1 {
                        "y"
                    } else {
                        "ies"
                    }
                ),
                "add [[datacenter]] tables in failover order, the primary first",
            );
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut keys: HashMap<PublicKey, usize> = HashMap::new();
        let mut fin_keys: HashMap<String, usize> = HashMap::new();
        let mut apis: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        for (i, d) in self.datacenters.iter().enumerate() {
            let at = |k: &str| format!("datacenter[{i}].{k}");
            let name_ok = !d.name.is_empty()
                && d.name.len() <= 64
                && d.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !name_ok {
                f.error(
                    at("name"),
                    format!("{:?} is not a valid data center name", d.name),
                    "use 1-64 letters, digits, '-', '_' or '.'",
                );
            } else if let Some(j) = names.insert(d.name.to_ascii_lowercase(), i) {
                f.error(
                    at("name"),
                    format!("{:?} repeats datacenter[{j}].name", d.name),
                    "give each data center a unique name",
                );
            }
            let key = match d.signing_key.parse::<PublicKey>() {
                Ok(k) if k.is_null() => {
                    f.error(
                        at("signing_key"),
                        "is the null key (what unregprod writes)",
                        "set the block signing key this data center's node holds",
                    );
                    None
                }
                Ok(k) => {
                    if let Some(j) = keys.insert(k, i) {
                        f.error(
                            at("signing_key"),
                            format!("is the same key as datacenter[{j}].signing_key"),
                            "give each data center its own signing key; a shared key lets two nodes sign the same slots (double production)",
                        );
                    }
                    Some(k)
                }
                Err(e) => {
                    f.error(at("signing_key"), e.to_string(), "copy the PUB_K1_… (or EOS…) public key of this data center's signature-provider");
                    None
                }
            };
            if let Some(fk) = &d.finalizer_key {
                match check_bls_key(fk) {
                    Ok(()) => {
                        if let Some(j) = fin_keys.insert(fk.clone(), i) {
                            f.error(
                                at("finalizer_key"),
                                format!("is the same key as datacenter[{j}].finalizer_key"),
                                "give each data center its own finalizer key; two nodes voting with one key can be seen as double voting",
                            );
                        }
                    }
                    Err(e) => f.error(
                        at("finalizer_key"),
                        e,
                        "copy the PUB_BLS_… key registered with regfinkey",
                    ),
                }
            }
            let api = match &d.api {
                None => None,
                Some(text) => match EndpointUrl::parse(text) {
                    Ok(u) => {
                        if !apis.insert(u.expose().to_string()) {
                            f.error(
                                at("api"),
                                "repeats another data center's api",
                                "point each data center's api at its own node",
                            );
                        }
                        Some(u)
                    }
                    Err(e) => {
                        f.error(at("api"), e.to_string(), "write the URL of this data center's own nodeos API, e.g. http://10.0.1.5:8888");
                        None
                    }
                },
            };
            if let Some(signing_key) = key {
                out.push(Datacenter {
                    name: d.name.clone(),
                    signing_key,
                    finalizer_key: d.finalizer_key.clone(),
                    api,
                });
            }
        }
        (f.errors.len() == n0).then_some(out)
    }

    fn validate_policy(&self, f: &mut Findings) -> Option<Policy> {
        let p = &self.policy;
        let n0 = f.errors.len();
        f.range("policy.missed_blocks", p.missed_blocks, 1, 1_512, "");
        if (1..crate::antelope::time::PRODUCER_REPETITIONS).contains(&p.missed_blocks) {
            f.warn(
                "policy.missed_blocks",
                format!("{} is less than one full turn (12 blocks): a brief hiccup or a late handoff could trigger a failover", p.missed_blocks),
                "use 12 or more",
            );
        }
        if !(p.min_participation > 0.0 && p.min_participation <= 1.0) {
            f.error(
                "policy.min_participation",
                format!("{} is out of range (0, 1]", p.min_participation),
                "set a fraction such as 0.8 (80% of scheduled blocks produced)",
            );
        }
        f.range("policy.lib_stall_secs", p.lib_stall_secs, 5, 3_600, "");
        f.range("policy.cooldown_secs", p.cooldown_secs, 60, 86_400, "");
        f.range(
            "policy.max_switches_per_day",
            p.max_switches_per_day,
            1,
            48,
            "",
        );
        let failback = match p.failback.as_str() {
            "manual" => Some(Failback::Manual),
            "auto" => Some(Failback::Auto),
            other => {
                f.error(
                    "policy.failback",
                    format!("{other:?} is not a failback mode"),
                    "use \"manual\" or \"auto\"",
                );
                None
            }
        };
        f.range(
            "policy.failback_after_secs",
            p.failback_after_secs,
            60,
            7 * 86_400,
            "",
        );
        if failback == Some(Failback::Auto) && p.failback_after_secs < p.cooldown_secs {
            f.error(
                "policy.failback_after_secs",
                format!(
                    "{} is shorter than policy.cooldown_secs ({})",
                    p.failback_after_secs, p.cooldown_secs
                ),
                "set failback_after_secs to at least cooldown_secs",
            );
        }
        f.range(
            "policy.participation_turns",
            p.participation_turns,
            1,
            1_000,
            "",
        );
        f.range("policy.confirm_turns", p.confirm_turns, 1, 100, "");
        f.range(
            "policy.max_clock_skew_secs",
            p.max_clock_skew_secs,
            1,
            600,
            "",
        );
        f.range(
            "policy.pending_grace_secs",
            p.pending_grace_secs,
            0,
            3_600,
            "",
        );
        f.range(
            "policy.proposal_margin_ms",
            p.proposal_margin_ms,
            500,
            30_000,
            "",
        );
        (f.errors.len() == n0).then(|| Policy {
            missed_blocks: p.missed_blocks,
            min_participation: p.min_participation,
            participation_turns: p.participation_turns,
            confirm_turns: p.confirm_turns,
            lib_stall_secs: p.lib_stall_secs,
            max_clock_skew_secs: p.max_clock_skew_secs,
            cooldown_secs: p.cooldown_secs,
            max_switches_per_day: p.max_switches_per_day,
            failback: failback.unwrap_or(Failback::Manual),
            failback_after_secs: p.failback_after_secs,
            pending_grace_secs: p.pending_grace_secs,
            decide_before_proposal: p.decide_before_proposal,
            proposal_margin_ms: p.proposal_margin_ms,
        })
    }
}

fn valid_env_name(var: &str) -> bool {
    !var.is_empty()
        && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !var.as_bytes()[0].is_ascii_digit()
}

/// Checks one secret given as an environment variable or a file. Problems that only
/// matter when the daemon starts (variable unset, file missing or readable by others) are
/// warnings: `status` and the other commands never send alerts.
fn secret_source(
    f: &mut Findings,
    base: &Path,
    path_env: &str,
    env: Option<&String>,
    path_file: &str,
    file: Option<&PathBuf>,
) -> Option<SecretSource> {
    match (env, file) {
        (Some(_), Some(_)) => {
            f.error(
                path_env,
                format!("and {path_file} are both set"),
                "keep exactly one of them",
            );
            None
        }
        (Some(var), None) => {
            if !valid_env_name(var) {
                f.error(
                    path_env,
                    format!("{var:?} is not a valid environment variable name"),
                    "use letters, digits and '_', e.g. BP_FAILOVER_TELEGRAM_TOKEN",
                );
                return None;
            }
            if std::env::var_os(var).is_none() {
                f.warn(
                    path_env,
                    format!("{var} is not set in this environment; the daemon will refuse to start its alerts"),
                    format!("export {var} in the service environment"),
                );
            }
            Some(SecretSource::Env(var.clone()))
        }
        (None, Some(file)) => {
            let p = resolve(base, file);
            match std::fs::metadata(&p) {
                Err(e) => f.warn(
                    path_file,
                    format!(
                        "cannot read {}: {e}; the daemon will refuse to start its alerts",
                        p.display()
                    ),
                    format!(
                        "create {} holding only the secret, then chmod 600 it",
                        p.display()
                    ),
                ),
                Ok(meta) => {
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::PermissionsExt;
                        let mode = meta.permissions().mode() & 0o777;
                        if mode & 0o077 != 0 {
                            f.warn(
                                path_file,
                                format!(
                                    "{} has mode {mode:04o}: group or others can read the secret",
                                    p.display()
                                ),
                                format!("chmod 600 {}", p.display()),
                            );
                        }
                    }
                    #[cfg(not(unix))]
                    let _ = meta;
                }
            }
            Some(SecretSource::File(p))
        }
        (None, None) => None,
    }
}

fn validate_alerts(
    a: &RawAlerts,
    base: &Path,
    state_path: PathBuf,
    f: &mut Findings,
) -> Option<AlertsConfig> {
    let n0 = f.errors.len();
    if a.remind_secs != 0 {
        f.range(
            "alerts.remind_secs",
            a.remind_secs,
            60,
            7 * 86_400,
            " (0 turns reminders off)",
        );
    }
    f.range(
        "alerts.resolve_quiet_secs",
        a.resolve_quiet_secs,
        60,
        86_400,
        "",
    );
    f.range("alerts.timeout_ms", a.timeout_ms, 100, 60_000, "");
    f.range("alerts.retries", a.retries, 0, 10, "");
    f.range("alerts.backoff_ms", a.backoff_ms, 10, 60_000, "");
    f.range("alerts.queue_len", a.queue_len, 1, 10_000, "");
    f.range("alerts.heartbeat_secs", a.heartbeat_secs, 10, 3_600, "");

    let heartbeat_given = [
        a.heartbeat_url.is_some(),
        a.heartbeat_url_env.is_some(),
        a.heartbeat_url_file.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    let heartbeat = if heartbeat_given > 1 {
        f.error(
            "alerts.heartbeat_url",
            "is given more than once (heartbeat_url, heartbeat_url_env, heartbeat_url_file)",
            "keep exactly one of them",
        );
        None
    } else if let Some(text) = &a.heartbeat_url {
        match EndpointUrl::parse(text) {
            Ok(u) => Some(SecretSource::Inline(u)),
            Err(e) => {
                f.error(
                    "alerts.heartbeat_url",
                    e.to_string(),
                    "write the ping URL of your dead-man service, e.g. https://hc-ping.com/<uuid>",
                );
                None
            }
        }
    } else {
        secret_source(
            f,
            base,
            "alerts.heartbeat_url_env",
            a.heartbeat_url_env.as_ref(),
            "alerts.heartbeat_url_file",
            a.heartbeat_url_file.as_ref(),
        )
    };

    let mut channels = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for (i, c) in a.channels.iter().enumerate() {
        let at = |k: &str| format!("alerts.channel[{i}].{k}");
        let n1 = f.errors.len();
        let kind = c.kind.as_str();
        let is_url_kind = matches!(kind, "webhook" | "slack" | "discord");
        let is_token_kind = matches!(kind, "telegram" | "pagerduty");
        if !is_url_kind && !is_token_kind {
            f.error(
                at("type"),
                format!("{kind:?} is not a channel type"),
                "use \"webhook\", \"telegram\", \"slack\", \"discord\" or \"pagerduty\"",
            );
            continue;
        }
        let name = c.name.clone().unwrap_or_else(|| kind.to_string());
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            f.error(
                at("name"),
                format!("{name:?} is not a valid channel name"),
                "use 1-64 letters, digits, '-', '_' or '.'",
            );
        } else if let Some(j) = names.insert(name.clone(), i) {
            f.error(
                at("name"),
                format!("{name:?} is also the name of alerts.channel[{j}] (a channel without a name is named after its type)"),
                "give each channel a unique name = \"…\"",
            );
        }
        let min_severity = match c.min_severity.parse::<Severity>() {
            Ok(s) => Some(s),
            Err(_) => {
                f.error(
                    at("min_severity"),
                    format!("{:?} is not a severity", c.min_severity),
                    "use \"info\", \"warning\" or \"critical\"",
                );
                None
            }
        };
        // Keys that do not belong to this type.
        let foreign: Vec<&str> = [
            ("url", c.url.is_some() && !is_url_kind),
            ("url_env", c.url_env.is_some() && !is_url_kind),
            ("url_file", c.url_file.is_some() && !is_url_kind),
            ("token_env", c.token_env.is_some() && !is_token_kind),
            ("token_file", c.token_file.is_some() && !is_token_kind),
            ("chat_id", c.chat_id.is_some() && kind != "telegram"),
            ("api_base", c.api_base.is_some() && !is_token_kind),
        ]
        .into_iter()
        .filter_map(|(k, bad)| bad.then_some(k))
        .collect();
        for k in foreign {
            let fix = if is_url_kind {
                "a webhook, slack or discord channel takes url (webhook only), url_env or url_file"
            } else if kind == "telegram" {
                "a telegram channel takes token_env or token_file, chat_id and optionally api_base"
            } else {
                "a pagerduty channel takes token_env or token_file (the routing key) and optionally api_base"
            };
            f.error(at(k), format!("does not apply to a {kind} channel"), fix);
        }
        let secret = if is_url_kind {
            let given = [c.url.is_some(), c.url_env.is_some(), c.url_file.is_some()]
                .iter()
                .filter(|x| **x)
                .count();
            if given != 1 {
                f.error(
                    at("url"),
                    if given == 0 {
                        "is missing: set one of url, url_env or url_file".to_string()
                    } else {
                        "is given more than once (url, url_env, url_file)".to_string()
                    },
                    if kind == "webhook" {
                        "keep exactly one of url, url_env and url_file"
                    } else {
                        "keep exactly one of url_env and url_file (the webhook URL is a secret)"
                    },
                );
                None
            } else if let Some(text) = &c.url {
                if kind != "webhook" {
                    f.error(
                        at("url"),
                        format!("holds the {kind} webhook URL, which is a secret (anyone with it can post to your channel), in the config file"),
                        format!("move it to an environment variable (url_env = \"BP_FAILOVER_{}_URL\") or a file only bp-failover can read (url_file)", kind.to_ascii_uppercase()),
                    );
                    None
                } else {
                    match EndpointUrl::parse(text) {
                        Ok(u) => {
                            if u.has_credentials() {
                                f.warn(
                                    at("url"),
                                    format!("{u} carries credentials in the config file"),
                                    "move the URL to url_env or url_file",
                                );
                            }
                            Some(SecretSource::Inline(u))
                        }
                        Err(e) => {
                            f.error(at("url"), e.to_string(), "write the receiver's URL, e.g. https://alerts.example.org/bp-failover");
                            None
                        }
                    }
                }
            } else {
                secret_source(
                    f,
                    base,
                    &at("url_env"),
                    c.url_env.as_ref(),
                    &at("url_file"),
                    c.url_file.as_ref(),
                )
            }
        } else {
            let s = secret_source(
                f,
                base,
                &at("token_env"),
                c.token_env.as_ref(),
                &at("token_file"),
                c.token_file.as_ref(),
            );
            if s.is_none() && c.token_env.is_none() && c.token_file.is_none() {
                f.error(
                    at("token_env"),
                    if kind == "telegram" {
                        "is missing: a telegram channel needs the bot token"
                    } else {
                        "is missing: a pagerduty channel needs the integration's routing key"
                    },
                    "set token_env = \"VAR\" or token_file = \"/path\"",
                );
            }
            s
        };
        let api_base = if is_token_kind {
            let text = c.api_base.as_deref().unwrap_or(if kind == "telegram" {
                default::telegram_api()
            } else {
                default::pagerduty_api()
            });
            match EndpointUrl::parse(text) {
                Ok(u) => {
                    if !u.is_https() && !u.is_loopback() {
                        f.warn(at("api_base"), format!("{u} is plain http: the {kind} token would cross the network unencrypted"), "use https://");
                    }
                    Some(u)
                }
                Err(e) => {
                    f.error(
                        at("api_base"),
                        e.to_string(),
                        "remove api_base to use the public API",
                    );
                    None
                }
            }
        } else {
            None
        };
        let chat_id = match &c.chat_id {
            Some(RawChatId::Number(n)) => Some(n.to_string()),
            Some(RawChatId::Text(t)) if !t.trim().is_empty() => Some(t.trim().to_string()),
            Some(RawChatId::Text(_)) => {
                f.error(
                    at("chat_id"),
                    "is empty",
                    "set the chat's numeric id (e.g. -1001234567890) or @channelname",
                );
                None
            }
            None => {
                if kind == "telegram" {
                    f.error(
                        at("chat_id"),
                        "is missing",
                        "set the chat's numeric id (e.g. -1001234567890) or @channelname",
                    );
                }
                None
            }
        };
        if f.errors.len() != n1 {
            continue;
        }
        let (Some(secret), Some(min_severity)) = (secret, min_severity) else {
            continue;
        };
        let kind = match (kind, api_base) {
            ("webhook", _) => ChannelKind::Webhook { url: secret },
            ("slack", _) => ChannelKind::Slack { url: secret },
            ("discord", _) => ChannelKind::Discord { url: secret },
            ("telegram", Some(api_base)) => ChannelKind::Telegram {
                token: secret,
                chat_id: chat_id.unwrap_or_default(),
                api_base,
            },
            (_, Some(api_base)) => ChannelKind::PagerDuty {
                routing_key: secret,
                api_base,
            },
            (_, None) => continue,
        };
        channels.push(ChannelConfig {
            name,
            min_severity,
            kind,
        });
    }
    (f.errors.len() == n0).then(|| AlertsConfig {
        channels,
        remind: Duration::from_secs(a.remind_secs),
        resolve_quiet: Duration::from_secs(a.resolve_quiet_secs),
        timeout: Duration::from_millis(a.timeout_ms),
        retries: a.retries,
        backoff: Duration::from_millis(a.backoff_ms),
        queue_len: a.queue_len,
        heartbeat: heartbeat.map(|url| HeartbeatConfig {
            url,
            every: Duration::from_secs(a.heartbeat_secs),
        }),
        state_path,
    })
}

/// `Some(None)` on error, so the caller can tell "absent" from "invalid".
/// `account@permission`.
fn parse_level(text: &str) -> Result<PermissionLevel, String> {
    let (actor, permission) = text
        .split_once('@')
        .ok_or_else(|| format!("{text:?} is not account@permission"))?;
    let actor: Name = actor
        .parse()
        .map_err(|e: crate::antelope::NameError| e.to_string())?;
    let permission: Name = permission
        .parse()
        .map_err(|e: crate::antelope::NameError| e.to_string())?;
    if actor.is_empty() || permission.is_empty() {
        return Err(format!("{text:?} is not account@permission"));
    }
    Ok(PermissionLevel { actor, permission })
}

fn validate_msig(m: &RawMsig, f: &mut Findings) -> Option<MsigConfig> {
    let n0 = f.errors.len();
    let level_fix = "write it as account@permission, e.g. \"observer1@active\"";
    let observer = match parse_level(&m.observer) {
        Ok(l) => Some(l),
        Err(e) => {
            f.error("msig.observer", e, level_fix);
            None
        }
    };
    let mut observers = Vec::new();
    for (i, text) in m.observers.iter().enumerate() {
        match parse_level(text) {
            Ok(l) if observers.contains(&l) => f.error(
                format!("msig.observers[{i}]"),
                format!("{l} is listed twice"),
                "list each observer once",
            ),
            Ok(l) => observers.push(l),
            Err(e) => f.error(format!("msig.observers[{i}]"), e, level_fix),
        }
    }
    let n = m.observers.len();
    if n < 2 {
        f.error(
            "msig.observers",
            format!("lists {n} observer(s); k-of-n needs at least 2"),
            "list every observer's account@permission, this one included (3 observers with threshold 2 is the usual setup)",
        );
    } else if n > MAX_MSIG_OBSERVERS {
        f.error(
            "msig.observers",
            format!("lists {n} observers; at most {MAX_MSIG_OBSERVERS} are supported"),
            format!("list at most {MAX_MSIG_OBSERVERS}"),
        );
    }
    if let Some(me) = &observer {
        let listed = m
            .observers
            .iter()
            .any(|t| parse_level(t).ok().as_ref() == Some(me));
        if !listed {
            f.error(
                "msig.observer",
                format!("{me} is not in msig.observers"),
                format!(
                    "add \"{me}\" to msig.observers, or set msig.observer to this host's own entry"
                ),
            );
        }
    }
    if n >= 2 && (m.threshold == 0 || m.threshold as usize > n) {
        f.error(
            "msig.threshold",
            format!(
                "{} is out of range 1..={n} (the number of observers)",
                m.threshold
            ),
            format!(
                "set msig.threshold between 1 and {n}; {} is a majority",
                n / 2 + 1
            ),
        );
    } else if m.threshold == 1 {
        f.warn(
            "msig.threshold",
            "is 1: any single observer can switch the key alone, as without [msig]",
            format!(
                "set msig.threshold to {} (a majority of the observers)",
                n / 2 + 1
            ),
        );
    } else if n >= 2 && m.threshold as usize == n {
        f.warn(
            "msig.threshold",
            format!("is {n}, every observer: one observer down or cut off blocks every switch"),
            format!(
                "set msig.threshold to {} (a majority of the observers)",
                n / 2 + 1
            ),
        );
    }
    if f.errors.len() > n0 {
        return None;
    }
    Some(MsigConfig {
        observer: observer?,
        threshold: m.threshold,
        observers,
    })
}

fn validate_metrics(m: &RawMetrics, f: &mut Findings) -> Option<MetricsConfig> {
    let n0 = f.errors.len();
    f.range(
        "metrics.healthz_max_age_secs",
        m.healthz_max_age_secs,
        5,
        3_600,
        "",
    );
    let listen = match m.listen.trim().parse::<SocketAddr>() {
        Ok(addr) => {
            if !addr.ip().is_loopback() {
                f.warn(
                    "metrics.listen",
                    format!("{addr} is reachable from other hosts: anyone who can connect sees the producer's health, keys and endpoints (redacted)"),
                    "listen on 127.0.0.1 behind a reverse proxy, or firewall the port to your Prometheus",
                );
            }
            Some(addr)
        }
        Err(_) => {
            f.error(
                "metrics.listen",
                format!("{:?} is not an IP address and port", m.listen),
                "write e.g. \"127.0.0.1:9810\" (a host name is not accepted)",
            );
            None
        }
    };
    (f.errors.len() == n0).then(|| MetricsConfig {
        listen: listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9810))),
        healthz_max_age: Duration::from_secs(m.healthz_max_age_secs),
    })
}

/// Loose check of a BLS finalizer key: `PUB_BLS_` + base64url (no padding) of plausible
/// length (a G1 point with checksum is 134 characters).
fn check_bls_key(k: &str) -> Result<(), String> {
    let Some(body) = k.strip_prefix("PUB_BLS_") else {
        return Err("does not start with PUB_BLS_".into());
    };
    if !body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("has characters outside base64url (A-Z a-z 0-9 - _)".into());
    }
    if !(100..=200).contains(&body.len()) {
        return Err(format!(
            "has {} characters after PUB_BLS_, expected about 134",
            body.len()
        ));
    }
    Ok(())
}

/// Checks a key file without reading its content: it exists, is a regular file, grants no
/// permission to group or others, and can be opened by this user.
/// Checks the key file without reading the key: `(message, fix)` on failure.
fn check_key_file(path: &Path) -> Result<(), (String, String)> {
    let shown = path.display();
    keyfile::open_key_file(path).map(drop).map_err(|e| {
        if let KeyFileError::Permissions { mode, .. } = e {
            return (
                format!("key file {shown} has mode {mode:04o}: group or others may access the private key"),
                format!("chmod 600 {shown}"),
            );
        }
        let fix = match &e {
            KeyFileError::Permissions { .. } => format!("chmod 600 {shown}"),
            KeyFileError::Read { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                format!("chown {shown} to the user running bp-failover and chmod 600 {shown}")
            }
            KeyFileError::Read { .. } => format!(
                "create {shown} holding the failover private key (WIF or PVT_K1_…), then chmod 600 {shown}"
            ),
            _ => "point key_file at the file holding the private key".to_string(),
        };
        (e.to_string(), fix)
    })
}

impl KeySource {
    /// Reads and parses the private key. Only commands that sign call this.
    pub fn load(&self) -> Result<PrivateKey, KeyFileError> {
        match self {
            KeySource::File(path) => keyfile::read_key_file(path),
            KeySource::Env(var) => keyfile::read_key_env(var),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bls_keys_are_checked_loosely() {
        // A published test key from the eos-system-contracts finalizer key tests.
        let k = "PUB_BLS_9Pbv53DbC9EDGGPEZUrlKuMGeXYWHzIPfmn-Ncrxj7sOTiTEOYIkcCgBrvfKYiIG0BsiafG1dRK9MV40aGWKREE4rWHpiDLIkHR91huq9CEdeZHUb2bRXvcxs0RAa7oADXSTmw";
        assert_eq!(check_bls_key(k), Ok(()));
        assert!(check_bls_key(&k[1..]).unwrap_err().contains("PUB_BLS_"));
        assert!(check_bls_key("PUB_BLS_abc").unwrap_err().contains("134"));
        assert!(check_bls_key(&k.replace('-', "+"))
            .unwrap_err()
            .contains("base64url"));
    }
}
