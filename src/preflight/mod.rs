//! What `bp-failover check` evaluates: proof that the failover setup works before the day it
//! is needed.
//!
//! It loads the config and the failover key (only to derive its public key; the private key
//! is dropped at once and never printed), polls the endpoints once like the daemon does, and
//! reads from the best endpoint our `producers` row, our account (permissions and their
//! `linkauth` links), the chain's `eosio` ABI, the head block header (whose
//! `schedule_version` says whether the chain runs Savanna), our `finalizers` row with its
//! active `finkeys` row, and our registered finalizer keys. Each data center's own node
//! (`api`) is asked for `get_info`.
//!
//! Gathering is [`gather`]; turning the answers into one [`CheckResult`] per check is the
//! pure [`evaluate`]; printing is [`render_text`] / [`render_json`]. Every failure carries
//! the fix, as the exact `cleos` command with the real names and keys where one exists.
//!
//! Authorization follows nodeos, with the rules in [`crate::authority`] (shared with the dry
//! runs, the daemon's self-check and the simulator): the minimum permission for
//! `(account, eosio, action)` is the permission linked to that action, else the one linked
//! to the whole `eosio` contract, else `active`; a link to `eosio.any` lets any permission
//! through. The declared permission satisfies the minimum only if it *is* that permission
//! or one of its ancestors. So a link to a permission *below* the configured one (its
//! child) still lets the configured one sign, while a link to its parent or to a sibling
//! does not. The failover key's weight is counted as nodeos counts it.
//!
//! Limits: reads come from one endpoint each (an agreeing one when the quorum holds; the
//! detail says when a read is unverified). Only our own account is read: a permission met
//! through another account's permission is reported as not followed here (the dry run
//! follows it). A node older than Leap 3.1 does not report links; the link checks then warn
//! instead of passing.
//!
//! Exit code: `0` when no check fails (warnings allowed), [`EXIT_FAILED`] otherwise.
//!
//! The checks live beside what they check: `local` (config, key), `nodes` (observer,
//! data centers), `producer`, `permission` (links, key weight, resources), `abi`,
//! `finalizer` and [`msig`]; their fixes are built by `cleos`.

use std::process::ExitCode;

use serde::Serialize;

use crate::antelope::{Name, PublicKey};
use crate::api::types::{Account, BlockInfo, FinalizerKeyRow, FinalizerRow, ProducerRow};
use crate::config::{self, Config, Problem};
use crate::quorum::QuorumView;
use crate::snapshot::{Fetched, NodeAnswer};

mod abi;
mod cleos;
mod finalizer;
mod gather;
mod local;
pub mod msig;
mod nodes;
mod permission;
mod producer;
mod render;

use abi::check_abi;
use finalizer::{check_finalizer, check_finalizer_keys};
use local::{check_config, check_key};
use nodes::{check_datacenters, check_observer};
use permission::{check_permission, check_resources};
use producer::check_producer;

pub use gather::gather;
pub use render::{render_json, render_text};

/// Exit code when at least one check fails.
pub const EXIT_FAILED: u8 = 1;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, but is risky or could not be fully verified.
    Warn,
    /// Failover would not work as configured.
    Fail,
}

impl Status {
    /// The label in text output.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One check: what was checked, how it came out, and what fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub status: Status,
    pub detail: String,
    /// The fix: `cleos` command(s) with the real names and keys, or what to do.
    pub fix: Option<String>,
}

impl CheckResult {
    fn new(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Self {
        CheckResult {
            name: name.into(),
            status,
            detail: detail.into(),
            fix: None,
        }
    }

    fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Ok, detail)
    }

    fn warn(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Warn, detail)
    }

    fn fail(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Fail, detail)
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Every check, and whether all passed (no `fail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub checks: Vec<CheckResult>,
    pub passed: bool,
}

impl CheckReport {
    pub fn new(checks: Vec<CheckResult>) -> Self {
        let passed = checks.iter().all(|c| c.status != Status::Fail);
        CheckReport { checks, passed }
    }

    pub fn exit_code(&self) -> ExitCode {
        if self.passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// Our finalizer registration as one endpoint reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalizerState {
    /// Our `finalizers` row; `None` = no finalizer key registered.
    pub row: Option<FinalizerRow>,
    /// The `finkeys` row the row's `active_key_id` names; `None` (with a row) = it points
    /// nowhere.
    pub active_key: Option<FinalizerKeyRow>,
}

/// Everything `check` gathered, before interpretation.
#[derive(Debug, Clone)]
pub struct CheckInputs {
    pub config_warnings: Vec<Problem>,
    /// The failover key's public key, or why the key did not load (never key material).
    pub signer: Result<PublicKey, String>,
    pub view: QuorumView,
    /// `Some(None)` inside: no producers row.
    pub producer: Fetched<Option<ProducerRow>>,
    pub account: Fetched<Account>,
    /// The chain's `eosio` ABI (JSON).
    pub abi: Fetched<serde_json::Value>,
    /// The header of the (quorum) head block: its `schedule_version` tells Savanna.
    pub head_block: Fetched<BlockInfo>,
    pub finalizer: Fetched<FinalizerState>,
    /// Our rows in `finkeys`; read only when a data center has a `finalizer_key`.
    pub finalizer_keys: Option<Fetched<Vec<FinalizerKeyRow>>>,
    /// Per data center, in config order: its node's `get_info` and when it arrived.
    pub datacenter_nodes: Vec<NodeAnswer>,
    /// With `[msig]`: the observers' accounts and `eosio.msig`'s ABI.
    pub msig: Option<msig::MsigInputs>,
}

// ---------------------------------------------------------------------------------------
// The checks (pure)
// ---------------------------------------------------------------------------------------

/// Interprets what `check` gathered: one result per check, in a fixed order. Pure.
pub fn evaluate(config: &Config, inputs: &CheckInputs) -> Vec<CheckResult> {
    let mut out = vec![
        check_config(config, &inputs.config_warnings),
        check_key(config, &inputs.signer),
        check_observer(&inputs.view),
    ];
    out.extend(check_producer(config, &inputs.producer));
    out.extend(check_permission(config, inputs));
    if let (Some(m), Some(mi)) = (&config.msig, &inputs.msig) {
        // k-of-n: the switching permission holds no key of this host; it is checked as a
        // threshold over the observers instead, and this host's key against its observer.
        out.retain(|c| c.name != "permission.key");
        for c in out.iter_mut() {
            if c.name == "key" {
                c.detail = c.detail.replace("the failover key", "this observer's key");
            }
            if c.name == "permission" && c.status == Status::Fail && c.fix.is_some() {
                c.fix = Some(msig::cleos_msig_permission(
                    config.producer.account,
                    config.producer.permission,
                    m,
                ));
            }
        }
        out.extend(msig::evaluate(
            config,
            m,
            &inputs.account,
            mi,
            &inputs.signer,
        ));
    }
    out.push(check_resources(config, &inputs.account));
    out.push(check_abi(config, &inputs.abi));
    out.push(check_finalizer(config, inputs));
    out.extend(check_finalizer_keys(config, inputs));
    out.extend(check_datacenters(config, inputs));
    out
}

/// The actions the bot sends: the key switch, and `actfinkey` when finalizer keys are set.
fn actions_sent(config: &Config) -> Vec<Name> {
    let mut v = vec![config.producer.action.name()];
    if config.datacenters.iter().any(|d| d.finalizer_key.is_some()) {
        v.push(Name::literal("actfinkey"));
    }
    v
}

/// The report when the config itself does not load: nothing else can be checked.
pub fn config_failure(error: &config::ConfigError) -> CheckReport {
    let fix = match error {
        config::ConfigError::Invalid { problems, .. } => problems
            .iter()
            .filter(|p| !p.fix.is_empty())
            .map(|p| format!("{}: {}", p.path, p.fix))
            .collect::<Vec<_>>()
            .join("\n"),
        config::ConfigError::Read { .. } => format!(
            "pass the right file with --config/-c or {}",
            config::CONFIG_ENV
        ),
        config::ConfigError::Syntax { .. } => {
            "correct the key or value at the line named above (see config.example.toml)".into()
        }
    };
    CheckReport::new(vec![CheckResult::fail("config", error.to_string()).fix(fix)])
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::cleos::eosio;
    use super::permission::check_resources;
    use super::*;
    use crate::api::types::ResourceLimit;
    use crate::api::types::{GetInfo, TotalResources};
    use crate::quorum::{assess, Observation, QuorumPolicy};
    use serde_json::{json, Value};

    const ACCT: &str = "mybpaccount1";
    /// The public key of the first published test key in `fixtures/vector_keys_k1.json`.
    const SIGNER: &str = "PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs";
    const PRIMARY: &str = "EOS5CuxGyXVubRqWLVytQn5M1C2XoEaxzsLQEAXdF4iZmW5g925ig";
    const BACKUP: &str = "PUB_K1_87DUhBcZrLhyFfBVDyu1iWZJUGURqbk6CQxwv5g6iWUD2X45Hv";
    const OTHER: &str = "EOS6XXTaRpWhPwnb7CTV9zVsCBrvCpYMMPSk8E8hsJxhf6VFW9DYN";
    const BLS_A: &str = "PUB_BLS_9Pbv53DbC9EDGGPEZUrlKuMGeXYWHzIPfmn-Ncrxj7sOTiTEOYIkcCgBrvfKYiIG0BsiafG1dRK9MV40aGWKREE4rWHpiDLIkHR91huq9CEdeZHUb2bRXvcxs0RAa7oADXSTmw";
    const BLS_B: &str = "PUB_BLS_8Qcw53DbC9EDGGPEZUrlKuMGeXYWHzIPfmn-Ncrxj7sOTiTEOYIkcCgBrvfKYiIG0BsiafG1dRK9MV40aGWKREE4rWHpiDLIkHR91huq9CEdeZHUb2bRXvcxs0RAa7oADXSTmw";
    const JUNGLE4: &str = "73e4385a2708e6d7048834fbc1079f2fabb17b3c125b146af438971e90716c4d";
    const WAX: &str = "1064487b3cd1a897ce03ae5b6a865651747e2e152090f99c1d19d44e01aea5a4";
    const HEAD: u32 = 209_671_600;
    const T_BASE: i64 = 1_750_687_719_000;
    const BASE: u32 = 209_671_574;
    const SAVANNA: u32 = 1 << 31;

    fn key(s: &str) -> PublicKey {
        s.parse().unwrap()
    }

    fn time_ms(num: u32) -> i64 {
        T_BASE + (i64::from(num) - i64::from(BASE)) * 500
    }

    fn time_text(ms: i64) -> String {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.3f")
            .to_string()
    }

    fn id(num: u32) -> String {
        format!("{num:08x}{}", "00".repeat(28))
    }

    fn info(chain: &str, head: u32) -> GetInfo {
        serde_json::from_value(json!({
            "server_version": "14092132", "chain_id": chain,
            "head_block_num": head, "head_block_id": id(head),
            "head_block_time": time_text(time_ms(head)), "head_block_producer": "eosriobrazil",
            "last_irreversible_block_num": head - 2, "last_irreversible_block_id": id(head - 2),
            "server_version_string": "v1.2.0-rc3"
        }))
        .unwrap()
    }

    fn block(num: u32, schedule_version: u32) -> BlockInfo {
        serde_json::from_value(json!({
            "block_num": num, "id": id(num), "timestamp": time_text(time_ms(num)),
            "producer": "eosriobrazil", "confirmed": 0, "previous": id(num - 1),
            "schedule_version": schedule_version
        }))
        .unwrap()
    }

    /// Three endpoints; `failing` of them refuse connections.
    fn view(failing: usize) -> QuorumView {
        let obs: Vec<Observation> = (0..3)
            .map(|i| Observation {
                index: i,
                label: format!("http://127.0.0.1:{}/", i + 1),
                info: if i >= 3 - failing {
                    Err("connection refused".into())
                } else {
                    Ok(info(JUNGLE4, HEAD))
                },
                received_at_ms: time_ms(HEAD) + 300,
                latency_ms: 5,
                consecutive_errors: 0,
                probe: None,
            })
            .collect();
        assess(
            &obs,
            &QuorumPolicy {
                configured: 3,
                chain_id: Some(JUNGLE4.parse().unwrap()),
                max_head_age_ms: 30_000,
                max_clock_ahead_ms: 2_000,
            },
        )
    }

    fn config(permission: &str, action: &str, finalizer_keys: bool) -> Config {
        let (fa, fb) = if finalizer_keys {
            (
                format!("finalizer_key = \"{BLS_A}\"\n"),
                format!("finalizer_key = \"{BLS_B}\"\n"),
            )
        } else {
            (String::new(), String::new())
        };
        let text = format!(
            r#"
[chain]
endpoints = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"]
chain_id = "{JUNGLE4}"

[producer]
account = "{ACCT}"
permission = "{permission}"
key_env = "BP_FAILOVER_CHECK_UNIT_TEST_UNSET"
action = "{action}"

[[datacenter]]
name = "primary"
signing_key = "{PRIMARY}"
api = "http://127.0.0.1:11"
{fa}
[[datacenter]]
name = "backup"
signing_key = "{BACKUP}"
api = "http://127.0.0.1:12"
{fb}"#
        );
        config::load_str(&text, Path::new("config.toml"))
            .unwrap()
            .config
    }

    fn fetched<T>(v: T) -> Fetched<T> {
        Fetched {
            value: Some(v),
            source: Some("http://127.0.0.1:1/".into()),
            verified: true,
            error: None,
        }
    }

    fn failed<T>(e: &str) -> Fetched<T> {
        Fetched::failed(e.into())
    }

    fn row(key: &str, active: bool) -> ProducerRow {
        serde_json::from_value(json!({
            "owner": ACCT, "total_votes": "123.5", "producer_key": key, "is_active": u8::from(active),
            "url": "https://bp.example", "unpaid_blocks": 0, "location": 840
        }))
        .unwrap()
    }

    /// A permission entry of `get_account`.
    fn perm(
        name: &str,
        parent: &str,
        threshold: u32,
        keys: &[(&str, u16)],
        links: &[(&str, Option<&str>)],
    ) -> Value {
        json!({
            "perm_name": name, "parent": parent,
            "required_auth": {
                "threshold": threshold,
                "keys": keys.iter().map(|(k, w)| json!({"key": k, "weight": w})).collect::<Vec<_>>(),
                "accounts": [], "waits": []
            },
            "linked_actions": links.iter().map(|(a, act)| match act {
                Some(act) => json!({"account": a, "action": act}),
                None => json!({"account": a}),
            }).collect::<Vec<_>>()
        })
    }

    fn account(perms: Vec<Value>) -> Account {
        serde_json::from_value(json!({
            "account_name": ACCT, "permissions": perms, "eosio_any_linked_actions": [],
            "cpu_limit": {"used": 120, "available": 90000, "max": 90120},
            "net_limit": {"used": 300, "available": 400000, "max": 400300},
            "total_resources": {"cpu_weight": "10.0000 EOS", "net_weight": "1.0000 EOS"}
        }))
        .unwrap()
    }

    fn base_perms() -> Vec<Value> {
        vec![
            perm("owner", "", 1, &[(OTHER, 1)], &[]),
            perm("active", "owner", 1, &[(OTHER, 1)], &[]),
        ]
    }

    /// owner, active, and `failover` (under active) holding the signer, linked to `links`.
    fn account_linked(links: &[(&str, Option<&str>)]) -> Account {
        let mut p = base_perms();
        p.push(perm("failover", "active", 1, &[(SIGNER, 1)], links));
        account(p)
    }

    fn bundled_abi() -> Value {
        serde_json::from_str(crate::antelope::abi::EOSIO_SYSTEM_ABI_JSON).unwrap()
    }

    fn fin_row(id: u64, bls: &str) -> FinalizerKeyRow {
        FinalizerKeyRow {
            id,
            finalizer_name: Name::literal(ACCT),
            finalizer_key: bls.into(),
        }
    }

    fn fin_state(active: Option<(u64, &str)>) -> FinalizerState {
        FinalizerState {
            row: active.map(|(id, _)| FinalizerRow {
                finalizer_name: Name::literal(ACCT),
                active_key_id: id,
                active_key_binary: String::new(),
                finalizer_key_count: 2,
            }),
            active_key: active.map(|(id, k)| fin_row(id, k)),
        }
    }

    /// A correct setup on a Savanna chain, without finalizer keys in the config.
    fn good() -> (Config, CheckInputs) {
        let cfg = config("failover", "regproducer", false);
        let now = time_ms(HEAD) + 300;
        let inputs = CheckInputs {
            config_warnings: vec![],
            signer: Ok(key(SIGNER)),
            view: view(0),
            producer: fetched(Some(row(PRIMARY, true))),
            account: fetched(account_linked(&[("eosio", Some("regproducer"))])),
            abi: fetched(bundled_abi()),
            head_block: fetched(block(HEAD, SAVANNA)),
            finalizer: fetched(fin_state(Some((3, BLS_A)))),
            finalizer_keys: None,
            datacenter_nodes: vec![
                Some((Ok(info(JUNGLE4, HEAD)), now)),
                Some((Ok(info(JUNGLE4, HEAD)), now)),
            ],
            msig: None,
        };
        (cfg, inputs)
    }

    /// A correct setup with finalizer keys for both data centers (primary's active).
    fn good_with_finalizer_keys() -> (Config, CheckInputs) {
        let (_, mut inputs) = good();
        let cfg = config("failover", "regproducer", true);
        inputs.account = fetched(account_linked(&[
            ("eosio", Some("regproducer")),
            ("eosio", Some("actfinkey")),
        ]));
        inputs.finalizer = fetched(fin_state(Some((3, BLS_A))));
        inputs.finalizer_keys = Some(fetched(vec![fin_row(3, BLS_A), fin_row(7, BLS_B)]));
        (cfg, inputs)
    }

    fn get<'a>(checks: &'a [CheckResult], name: &str) -> &'a CheckResult {
        checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name} in {checks:#?}"))
    }

    fn assert_status(checks: &[CheckResult], name: &str, status: Status) -> CheckResult {
        let c = get(checks, name);
        assert_eq!(c.status, status, "{c:#?}");
        c.clone()
    }

    fn fix(c: &CheckResult) -> &str {
        c.fix.as_deref().unwrap_or_else(|| panic!("no fix: {c:#?}"))
    }

    /// Every check not named in `except` passed.
    fn assert_rest_ok(checks: &[CheckResult], except: &[&str]) {
        for c in checks.iter().filter(|c| !except.contains(&c.name.as_str())) {
            assert_eq!(c.status, Status::Ok, "{c:#?}");
        }
    }

    #[test]
    fn a_correct_setup_passes_every_check() {
        let (cfg, inputs) = good();
        let checks = evaluate(&cfg, &inputs);
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "config",
                "key",
                "observer",
                "producer",
                "producer.key",
                "permission",
                "permission.dedicated",
                "permission.key",
                "permission.link.regproducer",
                "resources",
                "abi",
                "finalizer",
                "datacenter.primary",
                "datacenter.backup"
            ]
        );
        assert_rest_ok(&checks, &[]);
        assert!(checks.iter().all(|c| c.fix.is_none()));
        let report = CheckReport::new(checks);
        assert!(report.passed);
        assert_eq!(report.exit_code(), ExitCode::SUCCESS);
        assert!(get(&report.checks, "key").detail.contains(SIGNER));
        assert!(get(&report.checks, "key")
            .detail
            .contains("EOS6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeABhJRin"));
        assert!(get(&report.checks, "producer.key")
            .detail
            .contains("primary"));

        let (cfg, inputs) = good_with_finalizer_keys();
        let checks = evaluate(&cfg, &inputs);
        assert_rest_ok(&checks, &[]);
        for name in [
            "permission.link.actfinkey",
            "finalizer_key.primary",
            "finalizer_key.backup",
        ] {
            get(&checks, name);
        }
        assert!(get(&checks, "finalizer_key.primary")
            .detail
            .contains("active"));
        assert!(get(&checks, "finalizer")
            .detail
            .contains("belongs to data center primary"));
    }

    #[test]
    fn config_warnings_are_shown_with_their_fixes() {
        let (cfg, mut inputs) = good();
        inputs.config_warnings = vec![Problem {
            path: "chain.endpoints".into(),
            message: "has 1 entry".into(),
            fix: "list three independent endpoints".into(),
        }];
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "config", Status::Warn);
        assert!(c
            .detail
            .contains("warning(s):\n- chain.endpoints: has 1 entry"));
        assert_eq!(fix(&c), "chain.endpoints: list three independent endpoints");
        assert!(CheckReport::new(checks).passed, "warnings do not fail");
    }

    #[test]
    fn a_producer_account_that_does_not_exist_is_named_so() {
        let (cfg, mut inputs) = good();
        // The real answer of a node (Jungle4) to get_account of a nonexistent account.
        let body = include_bytes!("../../fixtures/jungle4_error_500_get_account_nonexistent.json");
        let (_, node) = crate::api::error::NodeError::from_body(body).unwrap();
        let err = crate::api::ApiError::new(
            "https://jungle4.example",
            "get_account",
            crate::api::error::ApiErrorKind::Node {
                status: 500,
                error: Box::new(node),
            },
        );
        inputs.account = failed(&err.to_string());
        inputs.producer = fetched(None);
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission", Status::Fail);
        assert!(
            c.detail
                .contains(&format!("producer {ACCT} is not registered")),
            "{}",
            c.detail
        );
        for c in &checks {
            assert!(
                !c.detail.contains("boost::tuples"),
                "{}: {}",
                c.name,
                c.detail
            );
        }
        assert_status(&checks, "permission.dedicated", Status::Fail);
    }

    #[test]
    fn a_key_that_does_not_load_fails_without_showing_key_material() {
        let (cfg, mut inputs) = good();
        inputs.signer = Err("environment variable X is not set: export it".into());
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "key", Status::Fail);
        assert!(fix(&c).contains("export BP_FAILOVER_CHECK_UNIT_TEST_UNSET"));
        let c = assert_status(&checks, "permission.key", Status::Fail);
        assert!(c.detail.starts_with("not checked"));
        assert_rest_ok(&checks, &["key", "permission.key"]);
    }

    #[test]
    fn missing_permission_fails_with_the_commands_that_create_and_link_it() {
        let (cfg, mut inputs) = good();
        inputs.account = fetched(account(base_perms()));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission", Status::Fail);
        assert_eq!(c.detail, "mybpaccount1 has no permission failover");
        assert_eq!(
            fix(&c),
            format!("cleos set account permission mybpaccount1 failover {SIGNER} active -p mybpaccount1@active")
        );
        assert_status(&checks, "permission.key", Status::Fail);
        let c = assert_status(&checks, "permission.link.regproducer", Status::Fail);
        assert_eq!(
            fix(&c),
            "cleos set action permission mybpaccount1 eosio regproducer failover -p mybpaccount1@active"
        );
        assert!(!CheckReport::new(checks).passed);
    }

    #[test]
    fn a_permission_without_the_key_fails() {
        let (cfg, mut inputs) = good();
        let mut p = base_perms();
        p.push(perm(
            "failover",
            "active",
            1,
            &[(OTHER, 1)],
            &[("eosio", Some("regproducer"))],
        ));
        inputs.account = fetched(account(p));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission.key", Status::Fail);
        assert!(c.detail.contains("weight 0 of its threshold 1"), "{c:#?}");
        assert!(c.detail.contains(&key(OTHER).to_string()));
        assert_eq!(
            fix(&c),
            format!("cleos set account permission mybpaccount1 failover {SIGNER} active -p mybpaccount1@active")
        );
        assert_rest_ok(&checks, &["permission.key"]);
    }

    #[test]
    fn a_key_weight_below_the_threshold_fails() {
        let (cfg, mut inputs) = good();
        let mut p = base_perms();
        p.push(perm(
            "failover",
            "active",
            2,
            &[(SIGNER, 1), (OTHER, 1)],
            &[("eosio", Some("regproducer"))],
        ));
        inputs.account = fetched(account(p));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission.key", Status::Fail);
        assert!(c.detail.contains("weight 1 of its threshold 2"), "{c:#?}");
        assert!(fix(&c).starts_with("cleos set account permission mybpaccount1 failover"));
    }

    #[test]
    fn an_unlinked_permission_fails_because_regproducer_then_requires_active() {
        let (cfg, mut inputs) = good();
        inputs.account = fetched(account_linked(&[("eosio.token", Some("transfer"))]));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission.link.regproducer", Status::Fail);
        assert!(
            c.detail.contains("not linked, so it requires active"),
            "{c:#?}"
        );
        assert!(c.detail.contains("irrelevant_auth_exception"));
        assert_eq!(
            fix(&c),
            "cleos set action permission mybpaccount1 eosio regproducer failover -p mybpaccount1@active"
        );
        assert_rest_ok(&checks, &["permission.link.regproducer"]);
    }

    #[test]
    fn a_link_to_a_child_of_the_permission_lets_it_sign_as_nodeos_does() {
        // nodeos `permission_object::satisfies`: the declared permission satisfies the
        // linked one when it is that permission or an ancestor of it.
        let (cfg, mut inputs) = good();
        let mut p = base_perms();
        p.push(perm("failover", "active", 1, &[(SIGNER, 1)], &[]));
        p.push(perm(
            "regprod",
            "failover",
            1,
            &[(OTHER, 1)],
            &[("eosio", Some("regproducer"))],
        ));
        inputs.account = fetched(account(p));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission.link.regproducer", Status::Ok);
        assert!(c
            .detail
            .contains("linked to regprod, which failover satisfies as its ancestor"));
    }

    #[test]
    fn a_link_to_the_parent_or_a_sibling_does_not_let_the_permission_sign() {
        for (target, extra) in [
            ("active", None),
            ("sibling", Some("active")),
            ("owner", None),
        ] {
            let (cfg, mut inputs) = good();
            let mut p = vec![
                perm(
                    "owner",
                    "",
                    1,
                    &[(OTHER, 1)],
                    if target == "owner" {
                        &[("eosio", Some("regproducer"))]
                    } else {
                        &[]
                    },
                ),
                perm(
                    "active",
                    "owner",
                    1,
                    &[(OTHER, 1)],
                    if target == "active" {
                        &[("eosio", Some("regproducer"))]
                    } else {
                        &[]
                    },
                ),
                perm("failover", "active", 1, &[(SIGNER, 1)], &[]),
            ];
            if let Some(parent) = extra {
                p.push(perm(
                    target,
                    parent,
                    1,
                    &[(OTHER, 1)],
                    &[("eosio", Some("regproducer"))],
                ));
            }
            inputs.account = fetched(account(p));
            let checks = evaluate(&cfg, &inputs);
            let c = assert_status(&checks, "permission.link.regproducer", Status::Fail);
            assert!(
                c.detail.contains(&format!(
                    "linked to {target}, which failover cannot satisfy"
                )),
                "{c:#?}"
            );
            assert_eq!(
                fix(&c),
                "cleos set action permission mybpaccount1 eosio regproducer failover -p mybpaccount1@active"
            );
        }
    }

    #[test]
    fn a_whole_contract_link_counts_unless_an_action_link_overrides_it() {
        let (cfg, mut inputs) = good();
        inputs.account = fetched(account_linked(&[("eosio", None)]));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission.link.regproducer", Status::Ok);
        assert!(
            c.detail.contains("whole-contract eosio link to failover"),
            "{c:#?}"
        );

        // An action link to active beats the whole-contract link to failover.
        let mut p = vec![
            perm("owner", "", 1, &[(OTHER, 1)], &[]),
            perm(
                "active",
                "owner",
                1,
                &[(OTHER, 1)],
                &[("eosio", Some("regproducer"))],
            ),
        ];
        p.push(perm(
            "failover",
            "active",
            1,
            &[(SIGNER, 1)],
            &[("eosio", None)],
        ));
        inputs.account = fetched(account(p));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission.link.regproducer", Status::Fail);
        assert!(c.detail.contains("is linked to active"), "{c:#?}");

        // A whole-contract link to another permission does not help.
        let mut p = base_perms();
        p.push(perm("failover", "active", 1, &[(SIGNER, 1)], &[]));
        p.push(perm("ops", "active", 1, &[(OTHER, 1)], &[("eosio", None)]));
        inputs.account = fetched(account(p));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission.link.regproducer", Status::Fail);
        assert!(
            c.detail.contains("whole-contract eosio link to ops"),
            "{c:#?}"
        );
    }

    #[test]
    fn eosio_any_links_pass_and_unreported_links_warn() {
        let (cfg, mut inputs) = good();
        let mut a = account_linked(&[]);
        a.eosio_any_linked_actions = Some(vec![crate::api::types::LinkedAction {
            account: eosio(),
            action: Some(Name::literal("regproducer")),
        }]);
        inputs.account = fetched(a);
        let checks = evaluate(&cfg, &inputs);
        assert_status(&checks, "permission.link.regproducer", Status::Ok);

        let mut a = account_linked(&[]);
        for p in &mut a.permissions {
            p.linked_actions = None;
        }
        a.eosio_any_linked_actions = None;
        inputs.account = fetched(a);
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission.link.regproducer", Status::Warn);
        assert!(
            fix(&c).contains("cleos set action permission mybpaccount1 eosio regproducer failover")
        );
        assert!(CheckReport::new(checks).passed);
    }

    #[test]
    fn signing_with_active_warns_loudly_but_passes() {
        let (_, mut inputs) = good();
        let cfg = config("active", "regproducer", false);
        let mut p = vec![
            perm("owner", "", 1, &[(OTHER, 1)], &[]),
            perm("active", "owner", 1, &[(SIGNER, 1)], &[]),
        ];
        p.push(perm("failover", "active", 1, &[(OTHER, 1)], &[]));
        inputs.account = fetched(account(p));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission.dedicated", Status::Warn);
        assert!(c.detail.starts_with("WARNING"));
        assert!(c.detail.contains("take over the account"));
        assert_eq!(
            fix(&c),
            format!(
                "cleos set account permission mybpaccount1 failover {SIGNER} active -p mybpaccount1@active\n\
                 cleos set action permission mybpaccount1 eosio regproducer failover -p mybpaccount1@active\n\
                 then set [producer] permission = \"failover\""
            )
        );
        let c = assert_status(&checks, "permission.link.regproducer", Status::Ok);
        assert!(c.detail.contains("requires active"));
        assert_rest_ok(&checks, &["permission.dedicated"]);
        assert!(CheckReport::new(checks).passed);
    }

    #[test]
    fn an_unregistered_account_fails_with_regproducer() {
        let (cfg, mut inputs) = good();
        inputs.producer = fetched(None);
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "producer", Status::Fail);
        assert!(c.detail.contains("not a registered producer"));
        assert_eq!(
            fix(&c),
            format!(
                "cleos system regproducer mybpaccount1 {} <url> <location> -p mybpaccount1@active",
                key(PRIMARY)
            )
        );
        assert_status(&checks, "producer.key", Status::Fail);
    }

    #[test]
    fn an_inactive_producer_fails_with_regproducer_keeping_url_and_location() {
        let (cfg, mut inputs) = good();
        inputs.producer = fetched(Some(row(BACKUP, false)));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "producer", Status::Fail);
        assert!(c.detail.contains("not active"));
        assert_eq!(
            fix(&c),
            format!("cleos system regproducer mybpaccount1 {BACKUP} https://bp.example 840 -p mybpaccount1@active")
        );
        let c = assert_status(&checks, "producer.key", Status::Ok);
        assert!(c.detail.contains("backup's key (a backup)"));
    }

    #[test]
    fn an_unknown_or_null_on_chain_key_fails() {
        let (cfg, mut inputs) = good();
        inputs.producer = fetched(Some(row(OTHER, true)));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "producer.key", Status::Fail);
        assert!(c.detail.starts_with("unknown key"), "{c:#?}");
        assert!(c.detail.contains("the bot would never act"));
        let f = fix(&c);
        assert!(f.contains(&format!("signing_key = \"{}\"", key(OTHER))));
        assert!(f.contains(&format!(
            "cleos system regproducer mybpaccount1 {} https://bp.example 840 -p mybpaccount1@active",
            key(PRIMARY)
        )));
        assert_rest_ok(&checks, &["producer.key"]);

        inputs.producer = fetched(Some(row(
            "EOS1111111111111111111111111111111114T1Anm",
            false,
        )));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "producer.key", Status::Fail);
        assert!(c.detail.contains("null key"));
    }

    #[test]
    fn datacenter_nodes_down_behind_or_on_the_wrong_chain_fail() {
        let now = time_ms(HEAD) + 300;
        let cases: Vec<(NodeAnswer, &str)> = vec![
            (
                Some((Err("connection refused".into()), now)),
                "unreachable: connection refused",
            ),
            (
                Some((Ok(info(JUNGLE4, HEAD - 40)), now)),
                "not synced (head 209671560, 40 blocks behind",
            ),
            (
                Some((Ok(info(WAX, HEAD)), now)),
                "wrong chain: it reports chain id 1064487b",
            ),
        ];
        for (node, needle) in cases {
            let (cfg, mut inputs) = good();
            inputs.datacenter_nodes[1] = node;
            let checks = evaluate(&cfg, &inputs);
            let c = assert_status(&checks, "datacenter.backup", Status::Fail);
            assert!(c.detail.contains(needle), "{needle}: {c:#?}");
            assert!(c.fix.is_some());
            assert_rest_ok(&checks, &["datacenter.backup"]);
        }
        // No api configured: a warning.
        let (mut cfg, mut inputs) = good();
        cfg.datacenters[1].api = None;
        inputs.datacenter_nodes[1] = None;
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "datacenter.backup", Status::Warn);
        assert!(fix(&c).contains("datacenter[1].api"));
    }

    #[test]
    fn a_producer_without_finalizer_key_fails_on_savanna_only() {
        let (cfg, mut inputs) = good();
        inputs.finalizer = fetched(fin_state(None));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "finalizer", Status::Fail);
        assert!(c.detail.contains("no active finalizer key"), "{c:#?}");
        assert!(c
            .detail
            .contains("leaves it out of every producer schedule"));
        assert!(fix(&c).starts_with(
            "cleos push action eosio regfinkey '[\"mybpaccount1\",\"PUB_BLS_<finalizer key from spring-util bls create key>\",\"SIG_BLS_<proof of possession>\"]' -p mybpaccount1@active"
        ));
        assert!(fix(&c).contains("spring-util bls create key"));
        assert_rest_ok(&checks, &["finalizer"]);

        // Legacy consensus: not needed.
        inputs.head_block = fetched(block(HEAD, 72));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "finalizer", Status::Ok);
        assert!(c.detail.contains("legacy consensus"));

        // Unknown consensus: a warning.
        inputs.head_block = failed("timeout");
        let checks = evaluate(&cfg, &inputs);
        assert_status(&checks, "finalizer", Status::Warn);

        // The row names a key id that finkeys does not have.
        let (cfg, mut inputs) = good_with_finalizer_keys();
        inputs.finalizer = fetched(FinalizerState {
            active_key: None,
            ..fin_state(Some((9, BLS_A)))
        });
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "finalizer", Status::Fail);
        assert!(c
            .detail
            .contains("active key id 9, which is not in the eosio finkeys table"));
        assert_eq!(
            fix(&c),
            format!("cleos push action eosio actfinkey '[\"mybpaccount1\",\"{BLS_A}\"]' -p mybpaccount1@active")
        );
    }

    #[test]
    fn a_configured_finalizer_key_that_is_not_registered_fails() {
        let (cfg, mut inputs) = good_with_finalizer_keys();
        inputs.finalizer_keys = Some(fetched(vec![fin_row(3, BLS_A)]));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "finalizer_key.backup", Status::Fail);
        assert!(
            c.detail.contains("is not registered for mybpaccount1"),
            "{c:#?}"
        );
        assert!(fix(&c).starts_with(&format!(
            "cleos push action eosio regfinkey '[\"mybpaccount1\",\"{BLS_B}\",\"SIG_BLS_<proof of possession>\"]' -p mybpaccount1@active"
        )));
        assert_rest_ok(&checks, &["finalizer_key.backup"]);

        // The bot sends actfinkey with the switch: it must be linked too.
        let (cfg, mut inputs) = good_with_finalizer_keys();
        inputs.account = fetched(account_linked(&[("eosio", Some("regproducer"))]));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission.link.actfinkey", Status::Fail);
        assert_eq!(
            fix(&c),
            "cleos set action permission mybpaccount1 eosio actfinkey failover -p mybpaccount1@active"
        );
    }

    #[test]
    fn an_active_finalizer_key_of_another_data_center_is_a_warning() {
        let (cfg, mut inputs) = good_with_finalizer_keys();
        inputs.finalizer = fetched(fin_state(Some((7, BLS_B))));
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "finalizer", Status::Warn);
        assert!(
            c.detail.contains("already active") && c.detail.contains("different data centers"),
            "{c:#?}"
        );
        assert_eq!(
            fix(&c),
            format!("cleos push action eosio actfinkey '[\"mybpaccount1\",\"{BLS_A}\"]' -p mybpaccount1@active")
        );
        // Reported before Savanna too.
        inputs.head_block = fetched(block(HEAD, 72));
        let c = assert_status(&evaluate(&cfg, &inputs), "finalizer", Status::Warn);
        assert!(c.detail.starts_with("legacy consensus"), "{c:#?}");
    }

    #[test]
    fn an_abi_laying_out_regproducer_differently_fails() {
        let (cfg, mut inputs) = good();
        let mut abi = bundled_abi();
        for s in abi["structs"].as_array_mut().unwrap() {
            if s["name"] == "regproducer" {
                s["fields"][3]["type"] = "uint32".into();
            }
        }
        inputs.abi = fetched(abi);
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "abi", Status::Fail);
        assert!(c.detail.contains("eosio::regproducer"), "{c:#?}");
        assert!(c.detail.contains("location"));
        // regproducer2 is intact: the fix is to use it.
        assert!(fix(&c).starts_with("set [producer] action = \"regproducer2\""));
        assert_rest_ok(&checks, &["abi"]);

        inputs.abi = failed("no endpoint answered");
        assert_status(&evaluate(&cfg, &inputs), "abi", Status::Fail);
    }

    #[test]
    fn regproducer2_is_checked_when_configured() {
        let (_, mut inputs) = good();
        let cfg = config("failover", "regproducer2", false);
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "permission.link.regproducer2", Status::Fail);
        assert_eq!(
            fix(&c),
            "cleos set action permission mybpaccount1 eosio regproducer2 failover -p mybpaccount1@active"
        );
        inputs.account = fetched(account_linked(&[("eosio", Some("regproducer2"))]));
        assert_rest_ok(&evaluate(&cfg, &inputs), &[]);
    }

    #[test]
    fn a_blind_observer_fails_and_names_the_failing_endpoints() {
        let (cfg, mut inputs) = good();
        inputs.view = view(2);
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "observer", Status::Fail);
        assert!(c.detail.contains("observer blind"), "{c:#?}");
        assert!(c
            .detail
            .contains("#2 http://127.0.0.1:2/: request failed: connection refused"));
        assert!(c.detail.contains("#3 "));
        assert!(fix(&c).contains("at least 2 of the 3 endpoints"));
        // Without a quorum the data center nodes cannot be judged.
        assert_status(&checks, "datacenter.primary", Status::Warn);

        // One endpoint down: the quorum holds, with no margin left.
        inputs.view = view(1);
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "observer", Status::Warn);
        assert!(c
            .detail
            .contains("one more failing endpoint blinds the observer"));
        assert_rest_ok(&checks, &["observer"]);
    }

    #[test]
    fn a_wrong_chain_id_is_named_as_such() {
        let (cfg, mut inputs) = good();
        let obs: Vec<Observation> = (0..3)
            .map(|i| Observation {
                index: i,
                label: format!("http://127.0.0.1:{}/", i + 1),
                info: Ok(info(JUNGLE4, HEAD)),
                received_at_ms: time_ms(HEAD) + 300,
                latency_ms: 5,
                consecutive_errors: 0,
                probe: None,
            })
            .collect();
        let other = "1064487b3cd1a897ce03ae5b6a865651747e2e152090f99c1d19d44e01aea5a4";
        inputs.view = assess(
            &obs,
            &QuorumPolicy {
                configured: 3,
                chain_id: Some(other.parse().unwrap()),
                max_head_age_ms: 30_000,
                max_clock_ahead_ms: 2_000,
            },
        );
        let checks = evaluate(&cfg, &inputs);
        let c = assert_status(&checks, "observer", Status::Fail);
        assert!(c.detail.starts_with("wrong chain_id"), "{}", c.detail);
        assert!(
            c.detail.contains("3 of 3 endpoints report chain id"),
            "{}",
            c.detail
        );
        assert!(
            fix(&c).contains(&format!("chain_id = \"{JUNGLE4}\"")),
            "{}",
            fix(&c)
        );
    }

    #[test]
    fn unverified_reads_are_marked() {
        let (cfg, mut inputs) = good();
        inputs.producer.verified = false;
        let checks = evaluate(&cfg, &inputs);
        assert!(get(&checks, "producer").detail.contains("unverified"));
    }

    #[test]
    fn text_and_json_output() {
        let (cfg, mut inputs) = good();
        inputs.account = fetched(account_linked(&[]));
        let report = CheckReport::new(evaluate(&cfg, &inputs));
        assert!(!report.passed);
        assert_eq!(report.exit_code(), ExitCode::from(EXIT_FAILED));
        let text = render_text(&report);
        assert!(text.contains("ok    config: valid"), "{text}");
        assert!(
            text.contains("FAIL  permission.link.regproducer: eosio::regproducer is not linked"),
            "{text}"
        );
        assert!(text.contains(
            "\n      fix: cleos set action permission mybpaccount1 eosio regproducer failover -p mybpaccount1@active\n"
        ), "{text}");
        assert!(text.contains("1 failed: FAILED"), "{text}");

        let v: Value = serde_json::from_str(&render_json(&report)).unwrap();
        assert_eq!(v["passed"], false);
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 2);
        let link = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "permission.link.regproducer")
            .unwrap();
        assert_eq!(link["status"], "fail");
        assert!(link["fix"]
            .as_str()
            .unwrap()
            .starts_with("cleos set action permission"));
        assert_eq!(v["checks"][0]["status"], "ok");
        assert_eq!(v["checks"][0]["fix"], Value::Null);
    }

    #[test]
    fn a_config_that_does_not_load_is_one_failed_check() {
        let e = config::load_str("[chain]\nendpoints = []\n", Path::new("c.toml")).unwrap_err();
        let r = config_failure(&e);
        assert!(!r.passed);
        assert_eq!(r.checks.len(), 1);
        assert!(r.checks[0].detail.contains("missing field `producer`"));
    }

    fn resources_of(a: Account) -> CheckResult {
        check_resources(&config("failover", "regproducer", false), &fetched(a))
    }

    #[test]
    fn resources_from_a_real_get_account_are_enough() {
        let text = include_str!("../../fixtures/eos-mainnet_get_account_teamgreymass_2023.json");
        let a: Account = serde_json::from_str(text).unwrap();
        assert_eq!(a.cpu_limit.unwrap().available, 283_843);
        assert_eq!(a.net_limit.unwrap().available, 8_254_862);
        let c = resources_of(a);
        assert_eq!(c.status, Status::Ok, "{c:#?}");
        assert!(c.detail.contains("CPU 283843 µs available"), "{}", c.detail);
    }

    #[test]
    fn resources_short_of_cpu_fail_with_a_delegatebw_in_the_core_symbol() {
        let mut a = account(base_perms());
        a.cpu_limit = Some(ResourceLimit {
            available: 0,
            max: 0,
        });
        a.net_limit = Some(ResourceLimit {
            available: "5000".parse().unwrap(),
            max: 9000,
        });
        a.total_resources = Some(TotalResources {
            cpu_weight: Some("0.0000 TLOS".into()),
        });
        let c = resources_of(a);
        assert_eq!(c.status, Status::Fail, "{c:#?}");
        assert!(c.detail.contains("CPU 0 µs available"), "{}", c.detail);
        assert_eq!(
            fix(&c).lines().next().unwrap(),
            "cleos system delegatebw <funder> mybpaccount1 \"0.0000 TLOS\" \"100.0000 TLOS\" -p <funder>@active"
        );
    }

    #[test]
    fn resources_unlimited_pass_and_unreported_warn() {
        let mut a = account(base_perms());
        a.cpu_limit = Some(ResourceLimit {
            available: -1,
            max: -1,
        });
        a.net_limit = Some(ResourceLimit {
            available: -1,
            max: -1,
        });
        assert_eq!(resources_of(a.clone()).status, Status::Ok);
        a.cpu_limit = None;
        assert_eq!(resources_of(a).status, Status::Warn);
        // Limits as decimal strings (fc prints large int64 so) parse too.
        let l: ResourceLimit =
            serde_json::from_value(json!({"available": "4294967296", "max": "4294967297"}))
                .unwrap();
        assert_eq!(l.available, 4_294_967_296);
    }
}
