//! `bp-failover check`, the real binary, against scripted nodes on 127.0.0.1: a correct
//! setup exits 0, a broken one exits 1 and prints the cleos command that fixes it, and the
//! private key never appears in any output.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_bp-failover");

const ACCT: &str = "mybpaccount1";
/// The first published test key of `fixtures/vector_keys_k1.json`, in every form.
const PRIVATE_WIF: &str = "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zFu";
const PRIVATE_PVT: &str = "PVT_K1_2be6BwD56MHeVD4P95bRLdnP3oB3P4QRAXAsSKh4N8Xu6d4Aux";
const PRIVATE_HEX: &str = "d25968ebfce6e617bdb839b5a66cfc1fdd051d79a91094f7baceded449f84333";
const SIGNER: &str = "PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs";
const SIGNER_LEGACY: &str = "EOS6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeABhJRin";
const PRIMARY: &str = "EOS5CuxGyXVubRqWLVytQn5M1C2XoEaxzsLQEAXdF4iZmW5g925ig";
const BACKUP: &str = "PUB_K1_87DUhBcZrLhyFfBVDyu1iWZJUGURqbk6CQxwv5g6iWUD2X45Hv";
const BLS_A: &str = "PUB_BLS_9Pbv53DbC9EDGGPEZUrlKuMGeXYWHzIPfmn-Ncrxj7sOTiTEOYIkcCgBrvfKYiIG0BsiafG1dRK9MV40aGWKREE4rWHpiDLIkHR91huq9CEdeZHUb2bRXvcxs0RAa7oADXSTmw";
const BLS_B: &str = "PUB_BLS_8Qcw53DbC9EDGGPEZUrlKuMGeXYWHzIPfmn-Ncrxj7sOTiTEOYIkcCgBrvfKYiIG0BsiafG1dRK9MV40aGWKREE4rWHpiDLIkHR91huq9CEdeZHUb2bRXvcxs0RAa7oADXSTmw";

/// What the scripted chain holds for our account.
#[derive(Clone)]
struct Setup {
    /// `linked_actions` of the `failover` permission.
    failover_links: Value,
    /// finkeys rows of our account: (id, key).
    finkeys: Vec<(u64, &'static str)>,
}

impl Setup {
    fn correct() -> Self {
        Setup {
            failover_links: json!([
                {"account": "eosio", "action": "regproducer"},
                {"account": "eosio", "action": "actfinkey"}
            ]),
            finkeys: vec![(3, BLS_A), (7, BLS_B)],
        }
    }

    /// The permission holds the key but is linked only to other contracts (as the recorded
    /// `wharfkit1111@test` is), and the backup's finalizer key was never registered.
    fn broken() -> Self {
        let account: Value = serde_json::from_str(&fixture(
            "jungle4_get_account_wharfkit1111_custom_permission_2024.json",
        ))
        .unwrap();
        Setup {
            failover_links: account["permissions"][2]["linked_actions"].clone(),
            finkeys: vec![(3, BLS_A)],
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string()
}

/// A live chain: the head is the block of the current 500 ms slot, so it is always fresh.
fn head_now() -> (u32, i64) {
    let t = now_ms() / 500 * 500;
    (BASE + ((t - T_BASE) / 500) as u32, t)
}

fn time_of(num: u32) -> i64 {
    let (head, t) = head_now();
    t - (i64::from(head) - i64::from(num)) * 500
}

fn get_info() -> String {
    let (head, t) = head_now();
    let mut v: Value =
        serde_json::from_str(&fixture("jungle4_get_info_spring120rc3_savanna_2025.json")).unwrap();
    v["head_block_num"] = head.into();
    v["head_block_id"] = block_id(head, 0, u32::MAX).into();
    v["head_block_time"] = time_text(t).into();
    v["fork_db_head_block_num"] = head.into();
    v["fork_db_head_block_id"] = block_id(head, 0, u32::MAX).into();
    v["last_irreversible_block_num"] = (head - 2).into();
    v["last_irreversible_block_id"] = block_id(head - 2, 0, u32::MAX).into();
    v["last_irreversible_block_time"] = time_text(t - 1000).into();
    v.to_string()
}

/// `get_block_info` with the Savanna `schedule_version` marker.
fn block_info(num: u32) -> String {
    json!({
        "block_num": num, "ref_block_num": num & 0xffff, "id": block_id(num, 0, u32::MAX),
        "timestamp": time_text(time_of(num)), "producer": "eosriobrazil", "confirmed": 0,
        "previous": block_id(num - 1, 0, u32::MAX),
        "transaction_mroot": "0".repeat(64), "action_mroot": "0".repeat(64),
        "schedule_version": 2147483648u32, "producer_signature": "SIG_K1_x", "ref_block_prefix": 1
    })
    .to_string()
}

/// `get_account` in the recorded shape, with owner, active and `failover` (under active).
fn get_account(setup: &Setup) -> String {
    let mut v: Value = serde_json::from_str(&fixture(
        "jungle4_get_account_wharfkit1111_custom_permission_2024.json",
    ))
    .unwrap();
    v["account_name"] = ACCT.into();
    let perms = v["permissions"].as_array_mut().unwrap();
    let failover = &mut perms[2];
    failover["perm_name"] = "failover".into();
    failover["required_auth"]["keys"] = json!([{"key": SIGNER_LEGACY, "weight": 1}]);
    failover["linked_actions"] = setup.failover_links.clone();
    v.to_string()
}

fn rows(rows: Vec<Value>) -> String {
    json!({"rows": rows, "more": false, "next_key": ""}).to_string()
}

fn table(setup: &Setup, body: &Value) -> String {
    match body["table"].as_str().unwrap_or("") {
        "producers" => rows(vec![json!({
            "owner": ACCT, "total_votes": "1234567.5", "producer_key": PRIMARY, "is_active": 1,
            "url": "https://bp.example", "unpaid_blocks": 3,
            "last_claim_time": "2025-06-01T00:00:00.000", "location": 840
        })]),
        "finalizers" => rows(vec![json!({
            "finalizer_name": ACCT, "active_key_id": 3, "active_key_binary": "00",
            "finalizer_key_count": setup.finkeys.len()
        })]),
        "finkeys" => {
            let all = setup.finkeys.iter().map(|(id, k)| {
                json!({"id": id, "finalizer_name": ACCT, "finalizer_key": k, "finalizer_key_binary": "00"})
            });
            if body["index_position"] == "2" {
                rows(all.collect())
            } else {
                let id: u64 = body["lower_bound"].as_str().unwrap().parse().unwrap();
                rows(all.filter(|r| r["id"] == id).collect())
            }
        }
        _ => rows(vec![]),
    }
}

fn node(setup: Setup) -> Handler {
    let abi = format!(
        r#"{{"account_name":"eosio","abi":{}}}"#,
        std::fs::read_to_string(format!(
            "{}/crates/antelope/abi/eosio.system.abi.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    );
    Arc::new(move |path, body| match path {
        "/v1/chain/get_info" => Reply::Json(200, get_info()),
        "/v1/chain/get_block_info" => {
            let num = body["block_num"].as_u64().unwrap_or(0) as u32;
            if num > head_now().0 {
                Reply::Json(400, unknown_block(num))
            } else {
                Reply::Json(200, block_info(num))
            }
        }
        "/v1/chain/get_account" => Reply::Json(200, get_account(&setup)),
        "/v1/chain/get_abi" => Reply::Json(200, abi.clone()),
        "/v1/chain/get_table_rows" => Reply::Json(200, table(&setup, body)),
        _ => Reply::Json(404, NOT_FOUND.into()),
    })
}

fn write_config(dir: &Path, endpoints: &[&str], primary_api: &str, backup_api: &str) -> String {
    let key = dir.join("failover.key");
    std::fs::write(&key, format!("{PRIVATE_WIF}\n")).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let list: Vec<String> = endpoints.iter().map(|e| format!("{e:?}")).collect();
    let text = format!(
        r#"
[chain]
endpoints = [{}]
chain_id = "{JUNGLE4}"

[producer]
account = "{ACCT}"
permission = "failover"
key_file = "failover.key"

[[datacenter]]
name = "primary"
signing_key = "{PRIMARY}"
finalizer_key = "{BLS_A}"
api = "{primary_api}"

[[datacenter]]
name = "backup"
signing_key = "{BACKUP}"
finalizer_key = "{BLS_B}"
api = "{backup_api}"
"#,
        list.join(", ")
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs the binary off the runtime's threads, so the servers keep answering.
async fn check(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .arg("check")
            .args(&args)
            .env_remove("BP_FAILOVER_CONFIG")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn assert_no_private_key(out: &Output) {
    for stream in [text(&out.stdout), text(&out.stderr)] {
        for secret in [PRIVATE_WIF, PRIVATE_PVT, PRIVATE_HEX] {
            assert!(!stream.contains(secret), "private key in output:\n{stream}");
        }
    }
}

async fn servers(setup: Setup) -> Vec<MockServer> {
    let mut v = Vec::new();
    for _ in 0..5 {
        v.push(MockServer::start(node(setup.clone())).await);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_setup_passes_and_exits_zero() {
    let s = servers(Setup::correct()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &[&s[0].url, &s[1].url, &s[2].url],
        &s[3].url,
        &s[4].url,
    );

    let out = check(vec!["-c".into(), cfg.clone()]).await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert_no_private_key(&out);
    for needle in [
        "bp-failover check mybpaccount1",
        &format!(
            "ok    key: the failover key from key_file {}",
            dir.path().join("failover.key").display()
        ),
        SIGNER,
        "ok    observer: 3 of 3 endpoints agree",
        "ok    producer.key: the registered signing key",
        "ok    permission.link.regproducer: eosio::regproducer is linked to failover",
        "ok    permission.link.actfinkey",
        "ok    finalizer: Savanna",
        "ok    finalizer_key.backup",
        "ok    datacenter.backup: node",
        "0 failed: PASSED",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(s[0].hits("/v1/chain/get_info") >= 1);

    let out = check(vec!["-c".into(), cfg, "--json".into()]).await;
    assert_eq!(out.status.code(), Some(0));
    assert_no_private_key(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passed"], true);
    assert!(v["checks"].as_array().unwrap().len() >= 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_setup_fails_with_the_cleos_fix() {
    let s = servers(Setup::broken()).await;
    let dir = tempfile::tempdir().unwrap();
    // The backup data center's node is down.
    let cfg = write_config(
        dir.path(),
        &[&s[0].url, &s[1].url, &s[2].url],
        &s[3].url,
        "http://127.0.0.1:9",
    );

    let out = check(vec!["-c".into(), cfg.clone()]).await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert_no_private_key(&out);
    for needle in [
        "FAIL  permission.link.regproducer: eosio::regproducer is not linked, so it requires active",
        "      fix: cleos set action permission mybpaccount1 eosio regproducer failover -p mybpaccount1@active",
        "      fix: cleos set action permission mybpaccount1 eosio actfinkey failover -p mybpaccount1@active",
        &format!("FAIL  finalizer_key.backup: {BLS_B} is not registered"),
        &format!("cleos push action eosio regfinkey '[\"mybpaccount1\",\"{BLS_B}\",\"SIG_BLS_<proof of possession>\"]' -p mybpaccount1@active"),
        "FAIL  datacenter.backup: node http://127.0.0.1:9 is unreachable",
        "ok    permission.key",
        "FAILED",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }

    let out = check(vec!["-c".into(), cfg, "--json".into()]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_no_private_key(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passed"], false);
    let link = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "permission.link.regproducer")
        .unwrap();
    assert_eq!(link["status"], "fail");
    assert_eq!(
        link["fix"],
        "cleos set action permission mybpaccount1 eosio regproducer failover -p mybpaccount1@active"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_that_does_not_load_fails_before_any_network() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[chain]\nendpoints = []\n").unwrap();
    let out = check(vec!["-c".into(), path.to_str().unwrap().into()]).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("FAIL  config: config file"), "{stdout}");
    assert!(stdout.contains("missing field `producer`"), "{stdout}");
}
