//! The configuration file (TOML), loaded in two phases.
//!
//! 1. **Parse** ([`parse`]): serde with `deny_unknown_fields` on every table, so a typo or
//!    a section this version does not know (`[alerts]`, `[metrics]` are not defined yet) is
//!    an error naming the key and its line. Values stay close to text here.
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
//! Relative paths (`key_file`, `state.path`) are resolved against the directory of the
//! config file.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::antelope::{Name, PrivateKey, PublicKey};
use crate::api::quorum::QuorumPolicy;
use crate::api::types::ChainId;
use crate::api::url::EndpointUrl;
pub use crate::decision::{Failback, Policy};
use crate::keyfile::{self, KeyFileError};
pub use crate::keyswitch::RegAction;

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
}

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
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    load_str(&text, path)
}

/// As [`load`] with the text given; `path` is used in messages and to resolve relative
/// paths.
pub fn load_str(text: &str, path: &Path) -> Result<Loaded, ConfigError> {
    let raw = parse(text).map_err(|message| ConfigError::Syntax {
        path: path.to_path_buf(),
        message,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    raw.validate(base).map_err(|problems| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    })
}

struct Findings {
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Findings {
    fn error(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.errors.push(Problem {
            path: path.into(),
            message: message.into(),
            fix: fix.into(),
        });
    }

    fn warn(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.warnings.push(Problem {
            path: path.into(),
            message: message.into(),
            fix: fix.into(),
        });
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
        let mut f = Findings {
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        let chain = self.validate_chain(&mut f);
        let producer = self.validate_producer(base, &mut f);
        let datacenters = self.validate_datacenters(&mut f);
        let policy = self.validate_policy(&mut f);
        let state_path = resolve(base, &self.state.path);
        if self.state.path.as_os_str().is_empty() {
            f.error("state.path", "is empty", "set state.path to a file in a directory only bp-failover writes, e.g. /var/lib/bp-failover/state.json");
        }

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
        match (chain, producer, datacenters, policy) {
            (Some(chain), Some(producer), Some(datacenters), Some(policy)) => Ok(Loaded {
                config: Config {
                    chain,
                    producer,
                    datacenters,
                    policy,
                    state: StateConfig { path: state_path },
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
        let key = match (&p.key_file, &p.key_env) {
            (Some(_), Some(_)) => {
                f.error(
                    "producer.key_file",
                    "and producer.key_env are both set",
                    "keep exactly one of them",
                );
                None
            }
            (None, None) => {
                f.error(
                    "producer",
                    "has neither key_file nor key_env",
                    "set key_file = \"/etc/bp-failover/failover.key\" (then chmod 600 it) or key_env = \"BP_FAILOVER_KEY\"",
                );
                None
            }
            (Some(file), None) => {
                let path = resolve(base, file);
                match check_key_file(&path) {
                    Ok(()) => Some(KeySource::File(path)),
                    Err((message, fix)) => {
                        f.error("producer.key_file", message, fix);
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
                        "producer.key_env",
                        format!("{var:?} is not a valid environment variable name"),
                        "use letters, digits and '_', e.g. BP_FAILOVER_KEY",
                    );
                    None
                } else {
                    if std::env::var_os(var).is_none() {
                        f.warn(
                            "producer.key_env",
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
        if (1..12).contains(&p.missed_blocks) {
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
        })
    }
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
