//! Helpers shared by the simulator tests: HTTP calls on loopback and key-switch
//! transactions built the way the bot builds them.
#![allow(dead_code)]

use bp_failover::antelope::abi::eosio_system_abi;
use bp_failover::antelope::{
    Action, BlockId, ChainId, Name, PackedTransaction, PermissionLevel, PrivateKey, PublicKey,
    TimePointSec, Transaction,
};
use bp_failover::keyswitch::{sign_checked, KeySwitch, RegAction};
use bp_failover::sim::network::{Network, NetworkSpec};
use serde_json::{json, Value};

pub const OUR: &str = "ourproducer1";

/// A network with `n` producers and `endpoints` endpoints, manual clock, a short
/// schedule tick (24 slots).
pub async fn start(n: usize, endpoints: usize) -> Network {
    let mut spec = NetworkSpec::new(n, endpoints);
    spec.chain.schedule_tick_slots = 24;
    Network::start(spec).await.expect("network starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap()
}

/// POSTs `body` to `url/v1/chain/method`; returns status and JSON body.
pub async fn post(url: &str, method: &str, body: Value) -> (u16, Value) {
    let r = client()
        .post(format!("{url}/v1/chain/{method}"))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v)
}

pub fn error_code(v: &Value) -> (i64, String) {
    (
        v["error"]["code"].as_i64().unwrap_or(-1),
        v["error"]["name"].as_str().unwrap_or("").to_string(),
    )
}

/// Chain id, LIB id and head time (unix seconds) as the endpoint reports them.
pub async fn tapos(url: &str) -> (ChainId, BlockId, u32) {
    let (_, info) = post(url, "get_info", json!({})).await;
    let chain_id = info["chain_id"].as_str().unwrap().parse().unwrap();
    let lib = info["last_irreversible_block_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let head: bp_failover::antelope::BlockTimestamp =
        info["head_block_time"].as_str().unwrap().parse().unwrap();
    (chain_id, lib, (head.unix_ms() / 1000) as u32)
}

pub fn dc_key(net: &Network, name: &str) -> PublicKey {
    net.with_chain(|c| {
        c.datacenters()
            .iter()
            .find(|d| d.name == name)
            .unwrap()
            .public_key()
    })
}

pub fn observer_key(net: &Network) -> PrivateKey {
    net.with_chain(|c| c.observer_key().clone())
}

pub fn switch_to(net: &Network, dc: &str) -> KeySwitch {
    KeySwitch {
        producer: Name::literal(OUR),
        permission: Name::literal("failover"),
        action: RegAction::Regproducer,
        signing_key: dc_key(net, dc),
        url: format!("https://{OUR}.example.com"),
        location: 0,
        finalizer_key: None,
    }
}

/// The bot's transaction: TAPOS from LIB, expiring `expire` seconds after head.
pub async fn key_switch_tx(url: &str, switch: &KeySwitch, expire: u32) -> Transaction {
    let (_, lib, head) = tapos(url).await;
    switch
        .transaction(
            eosio_system_abi(),
            &lib,
            TimePointSec::from_unix_secs(head + expire),
        )
        .unwrap()
}

pub fn body(p: &PackedTransaction) -> Value {
    serde_json::to_value(p).unwrap()
}

pub fn sign(tx: &Transaction, chain_id: &ChainId, key: &PrivateKey) -> PackedTransaction {
    sign_checked(tx, chain_id, key).unwrap()
}

/// An action on `eosio` with ABI data, authorized by `actor@perm`.
pub fn eosio_action(name: &str, actor: &str, perm: &str, data: Value) -> Action {
    Action {
        account: Name::literal("eosio"),
        name: Name::literal(name),
        authorization: vec![PermissionLevel {
            actor: Name::literal(actor),
            permission: Name::literal(perm),
        }],
        data: eosio_system_abi()
            .serialize_action(Name::literal(name), &data)
            .unwrap(),
    }
}

pub mod observers;
