//! Response shapes of the simulated node, compared with real recorded responses.

use crate::sim_common;

use std::collections::BTreeSet;

use bp_failover::antelope::{BlockTimestamp, Name};
use bp_failover::sim::network::NetworkSpec;
use bp_failover::sim::{Consensus, Network};
use serde_json::{json, Value};
use sim_common::*;

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn get_info_has_the_spring_key_set_and_is_consistent() {
    let net = start(4, 1).await;
    let url = &net.endpoint_urls()[0];
    let (status, info) = post(url, "get_info", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        keys(&info),
        keys(&fixture("jungle4_get_info_spring120rc3_savanna_2025.json"))
    );
    let head = info["head_block_num"].as_u64().unwrap();
    let lib = info["last_irreversible_block_num"].as_u64().unwrap();
    assert_eq!(head - lib, 2, "Savanna finality");
    assert!(
        info["total_cpu_weight"].is_string(),
        "64-bit values as strings"
    );
    let id = info["head_block_id"].as_str().unwrap();
    assert_eq!(u64::from_str_radix(&id[..8], 16).unwrap(), head);

    // GET with no body answers like a POST of {}.
    let r = client()
        .get(format!("{url}/v1/chain/get_info"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn get_block_matches_real_shapes_in_both_modes() {
    // Savanna: the Spring header (header_extensions, no new_producers) plus block fields.
    let net = start(4, 1).await;
    let url = &net.endpoint_urls()[0];
    let (_, info) = post(url, "get_info", json!({})).await;
    let head = info["head_block_num"].as_u64().unwrap();
    let (status, b) = post(
        url,
        "get_block",
        json!({"block_num_or_id": head.to_string()}),
    )
    .await;
    assert_eq!(status, 200);
    let savanna_header =
        fixture("eos-mainnet_get_block_header_state_400838396_spring_savanna_2024.json")["header"]
            .clone();
    let mut expected = keys(&savanna_header);
    expected.extend(["id", "block_num", "ref_block_prefix", "transactions"].map(String::from));
    assert_eq!(keys(&b), expected);
    assert_eq!(b["schedule_version"], 2147483648u64);
    assert_eq!(b["header_extensions"][0][0], 2);
    // By id and by number as a JSON number give the same block.
    let (_, by_id) = post(url, "get_block", json!({"block_num_or_id": b["id"]})).await;
    let (_, by_num) = post(url, "get_block", json!({"block_num_or_id": head})).await;
    assert_eq!(by_id["id"], b["id"]);
    assert_eq!(by_num["id"], b["id"]);
    // ref_block_prefix is bytes 8..12 of the id, little-endian.
    let id: bp_failover::antelope::BlockId = b["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        b["ref_block_prefix"].as_u64().unwrap(),
        u64::from(id.tapos().1)
    );

    // get_block_info: spring's key list.
    let (_, bi) = post(url, "get_block_info", json!({"block_num": head})).await;
    let expected: BTreeSet<String> = [
        "block_num",
        "ref_block_num",
        "id",
        "timestamp",
        "producer",
        "confirmed",
        "previous",
        "transaction_mroot",
        "action_mroot",
        "schedule_version",
        "producer_signature",
        "ref_block_prefix",
    ]
    .map(String::from)
    .into();
    assert_eq!(keys(&bi), expected);
    assert_eq!(bi["id"], b["id"]);

    // Unknown block: 400 unknown_block_exception.
    let (status, e) = post(url, "get_block", json!({"block_num_or_id": head + 100})).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&e), (3100002, "unknown_block_exception".into()));

    // Legacy: exactly the EOSIO/Leap key set, with the real schedule version.
    let mut spec = NetworkSpec::new(4, 1);
    spec.chain.consensus = Consensus::Legacy;
    let legacy = Network::start(spec).await.unwrap();
    let url = &legacy.endpoint_urls()[0];
    let (_, info) = post(url, "get_info", json!({})).await;
    let head = info["head_block_num"].as_u64().unwrap();
    let lib = info["last_irreversible_block_num"].as_u64().unwrap();
    assert!(
        head - lib > 24,
        "legacy LIB lags by rotations, got {}",
        head - lib
    );
    let (_, b) = post(
        url,
        "get_block",
        json!({"block_num_or_id": head.to_string()}),
    )
    .await;
    assert_eq!(
        keys(&b),
        keys(&fixture("eos-mainnet_get_block_124472078_2020.json"))
    );
    assert_eq!(b["schedule_version"], 1);
}

#[tokio::test]
async fn header_producer_follows_schedule_order_slot_math() {
    let net = start(4, 1).await;
    net.step(4 * 12 * 2);
    let url = &net.endpoint_urls()[0];
    let (_, sched) = post(url, "get_producer_schedule", json!({})).await;
    let order: Vec<String> = sched["active"]["producers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["producer_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order.len(), 4);
    let (_, info) = post(url, "get_info", json!({})).await;
    let head = info["head_block_num"].as_u64().unwrap();
    for num in head - 60..=head {
        let (_, b) = post(url, "get_block_info", json!({"block_num": num})).await;
        let slot = b["timestamp"]
            .as_str()
            .unwrap()
            .parse::<BlockTimestamp>()
            .unwrap()
            .slot();
        let idx = ((slot % (4 * 12)) / 12) as usize;
        assert_eq!(b["producer"].as_str().unwrap(), order[idx], "block {num}");
    }
}

#[tokio::test]
async fn producer_schedule_and_account_shapes() {
    let net = start(21, 1).await;
    let url = &net.endpoint_urls()[0];
    let (_, s) = post(url, "get_producer_schedule", json!({})).await;
    let real = fixture("jungle4_get_producer_schedule_2023.json");
    assert_eq!(keys(&s), keys(&real));
    assert_eq!(keys(&s["active"]), keys(&real["active"]));
    assert_eq!(
        keys(&s["active"]["producers"][0]),
        keys(&real["active"]["producers"][0])
    );
    assert_eq!(s["active"]["producers"].as_array().unwrap().len(), 21);
    let auth = &s["active"]["producers"][0]["authority"];
    assert_eq!(auth[0], 0, "fc variant form");
    assert!(auth[1]["keys"][0]["key"]
        .as_str()
        .unwrap()
        .starts_with("EOS"));
    assert!(s["pending"].is_null() && s["proposed"].is_null());

    let (status, a) = post(url, "get_account", json!({"account_name": OUR})).await;
    assert_eq!(status, 200);
    let real = fixture("jungle4_get_account_wharfkit1111_custom_permission_2024.json");
    assert_eq!(keys(&a), keys(&real));
    let perms = a["permissions"].as_array().unwrap();
    assert_eq!(keys(&perms[0]), keys(&real["permissions"][0]));
    let names: Vec<&str> = perms
        .iter()
        .map(|p| p["perm_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["active", "failover", "owner"], "sorted like nodeos");
    let failover = &perms[1];
    assert_eq!(failover["parent"], "active");
    assert_eq!(
        failover["linked_actions"],
        json!([
            {"account": "eosio", "action": "actfinkey"},
            {"account": "eosio", "action": "regproducer"},
            {"account": "eosio", "action": "regproducer2"},
        ])
    );
    assert_eq!(
        failover["required_auth"]["keys"][0]["key"],
        observer_key(&net).public_key().to_legacy_string()
    );

    let (status, e) = post(url, "get_account", json!({"account_name": "nani1"})).await;
    assert_eq!(status, 500);
    assert_eq!(error_code(&e), (0, "exception".into()));
    assert!(e["error"]["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("unknown key"));

    let (_, abi) = post(url, "get_abi", json!({"account_name": "eosio"})).await;
    assert_eq!(abi["abi"]["version"], "eosio::abi/1.2");

    let (status, e) = post(url, "no_such_method", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(e["error"]["details"][0]["message"], "Unknown Endpoint");
}

#[tokio::test]
async fn get_table_rows_producers_finalizers_finkeys() {
    let net = start(4, 1).await;
    let url = &net.endpoint_urls()[0];
    let our = Name::literal(OUR);
    let q = |table: &str, lower: Value, upper: Value, limit: u32| {
        json!({"json": true, "code": "eosio", "scope": "eosio", "table": table,
               "lower_bound": lower, "upper_bound": upper, "limit": limit})
    };
    // By name and by its decimal u64: the same row.
    let (_, by_name) = post(
        url,
        "get_table_rows",
        q("producers", json!(OUR), json!(OUR), 1),
    )
    .await;
    let dec = our.as_u64().to_string();
    let (_, by_dec) = post(
        url,
        "get_table_rows",
        q("producers", json!(dec), json!(dec), 1),
    )
    .await;
    assert_eq!(by_name, by_dec);
    let row = &by_name["rows"][0];
    assert_eq!(row["owner"], OUR);
    assert_eq!(row["is_active"], 1);
    assert!(
        row["total_votes"].as_str().unwrap().contains('.'),
        "doubles as strings"
    );
    assert_eq!(
        row["producer_key"],
        dc_key(&net, "primary").to_legacy_string()
    );
    assert_eq!(row["producer_authority"][0], "block_signing_authority_v0");
    let expected: BTreeSet<String> = [
        "owner",
        "total_votes",
        "producer_key",
        "is_active",
        "url",
        "unpaid_blocks",
        "last_claim_time",
        "location",
        "producer_authority",
    ]
    .map(String::from)
    .into();
    assert_eq!(keys(row), expected);
    assert_eq!(by_name["more"], false);

    // Paging: limit, more, next_key.
    let (_, page) = post(
        url,
        "get_table_rows",
        q("producers", json!(""), json!(""), 2),
    )
    .await;
    assert_eq!(page["rows"].as_array().unwrap().len(), 2);
    assert_eq!(page["more"], true);
    let next = page["next_key"].as_str().unwrap().to_string();
    let (_, rest) = post(
        url,
        "get_table_rows",
        q("producers", json!(next), json!(""), 10),
    )
    .await;
    assert_eq!(rest["rows"].as_array().unwrap().len(), 2);
    assert_eq!(rest["more"], false);

    let (_, fin) = post(
        url,
        "get_table_rows",
        q("finalizers", json!(dec), json!(dec), 1),
    )
    .await;
    let f = &fin["rows"][0];
    assert_eq!(f["finalizer_name"], OUR);
    assert_eq!(f["finalizer_key_count"], 3, "one key per data center");
    let id = f["active_key_id"].as_u64().unwrap();
    let (_, fk) = post(url, "get_table_rows", q("finkeys", json!(id), json!(id), 1)).await;
    assert_eq!(fk["rows"][0]["finalizer_name"], OUR);
    assert!(fk["rows"][0]["finalizer_key"]
        .as_str()
        .unwrap()
        .starts_with("PUB_BLS_"));
    assert_eq!(
        fk["rows"][0]["finalizer_key_binary"], f["active_key_binary"],
        "the active key's binary"
    );

    // json:false gives hex rows.
    let (_, raw) = post(
        url,
        "get_table_rows",
        json!({"code": "eosio", "scope": "eosio", "table": "producers", "limit": 1}),
    )
    .await;
    assert!(raw["rows"][0]
        .as_str()
        .unwrap()
        .chars()
        .all(|c| c.is_ascii_hexdigit()));

    let (status, e) = post(
        url,
        "get_table_rows",
        q("nosuchtable", json!(""), json!(""), 1),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(error_code(&e).0, 3060003);
}
