//! Transactions against the simulated node: the bot's key switch is accepted and takes
//! effect with the modelled delay; every rejection carries nodeos's error code and name.

use crate::sim_common;

use bp_failover::antelope::{Name, PrivateKey, Signature, TimePointSec, Transaction};
use bp_failover::sim::chain::REPETITIONS;
use bp_failover::sim::NodeError;
use k256::elliptic_curve::PrimeField;
use serde_json::{json, Value};
use sim_common::*;

async fn push(url: &str, method: &str, b: Value) -> (u16, Value) {
    post(url, method, b).await
}

fn registered_key(v: &Value) -> String {
    v["rows"][0]["producer_key"].as_str().unwrap().to_string()
}

async fn producer_row(url: &str) -> Value {
    let dec = Name::literal(OUR).as_u64().to_string();
    post(
        url,
        "get_table_rows",
        json!({"json": true, "code": "eosio", "scope": "eosio", "table": "producers",
               "lower_bound": dec, "upper_bound": dec, "limit": 1}),
    )
    .await
    .1
}

#[tokio::test]
async fn key_switch_is_accepted_and_takes_effect_after_the_savanna_delay() {
    let net = start(4, 1).await;
    let url = net.endpoint_urls()[0].clone();
    let backup = dc_key(&net, "backup");
    let (chain_id, _, _) = tapos(&url).await;
    let tx = key_switch_tx(&url, &switch_to(&net, "backup"), 60).await;
    let packed = sign(&tx, &chain_id, &observer_key(&net));

    let (status, r) = push(&url, "push_transaction", body(&packed)).await;
    assert_eq!(status, 202, "{r}");
    assert_eq!(r["transaction_id"], tx.id().to_string());
    assert_eq!(r["processed"]["receipt"]["status"], "executed");
    assert!(r["processed"]["except"].is_null());
    assert!(
        r["processed"]["action_traces"][0]["inline_traces"].is_array(),
        "push_transaction nests"
    );
    assert_eq!(
        r["processed"]["action_traces"][0]["act"]["data"]["producer_key"],
        backup.to_legacy_string()
    );

    // The table changes at once.
    assert_eq!(
        registered_key(&producer_row(&url).await),
        backup.to_legacy_string()
    );
    let push_slot = net.with_chain(|c| c.slot());

    // Then: proposal at the next schedule tick, pending at the next round boundary
    // (proposed stays null under Savanna), active one round later.
    let mut proposed_slot = None;
    let mut pending_seen = None;
    let mut active_slot = None;
    for _ in 0..(24 + 1 + 24 + 4 * REPETITIONS) {
        net.step(1);
        let (_, s) = post(&url, "get_producer_schedule", json!({})).await;
        assert!(s["proposed"].is_null());
        let slot = net.with_chain(|c| c.slot());
        if proposed_slot.is_none() {
            proposed_slot = net.with_chain(|c| {
                let s = c.schedules();
                s.proposed
                    .as_ref()
                    .or(s.pending.as_ref())
                    .map(|p| p.proposed_slot)
            });
        }
        if pending_seen.is_none() && !s["pending"].is_null() {
            pending_seen = Some(slot);
            assert_eq!(slot % REPETITIONS, 0, "pending from a round's first slot");
        }
        let active_key = s["active"]["producers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["producer_name"] == OUR)
            .unwrap()["authority"][1]["keys"][0]["key"]
            .clone();
        if active_key == backup.to_legacy_string() {
            active_slot = Some(slot);
            assert!(s["pending"].is_null());
            break;
        }
    }
    let proposed = proposed_slot.expect("a proposal was made");
    let active = active_slot.expect("became active");
    assert!(proposed - push_slot <= 24 + 2, "proposed at the next tick");
    let delay = active - proposed;
    assert!(
        (13..=24).contains(&delay),
        "active {delay} slots after the proposal"
    );
    assert!(pending_seen.unwrap() < active);

    // From then on our blocks come from the backup; the primary (still up, still holding
    // its key) produces nothing.
    net.step(4 * REPETITIONS * 2);
    let ours: Vec<_> = net.with_chain(|c| {
        c.blocks_from(c.head().num - 80)
            .filter(|b| b.producer == Name::literal(OUR) && b.slot >= active)
            .map(|b| (b.datacenter, b.signer))
            .collect()
    });
    assert!(ours.len() >= 12, "a full turn produced");
    assert!(ours.iter().all(|(dc, k)| *dc == Some(1) && *k == backup));
    let switches = net.key_switches();
    assert_eq!(switches.len(), 1);
    assert_eq!(switches[0].datacenter.as_deref(), Some("backup"));
    assert!(switches[0].changed);
    // The transaction is in a block, as get_block shows it.
    let num = switches[0].block_num;
    let (_, b) = post(&url, "get_block", json!({"block_num_or_id": num})).await;
    assert_eq!(b["transactions"][0]["trx"]["id"], tx.id().to_string());
}

#[tokio::test]
async fn switch_to_a_dead_datacenter_misses_slots_after_activation() {
    let net = start(4, 1).await;
    let url = net.endpoint_urls()[0].clone();
    net.set_datacenter("backup", bp_failover::sim::DcStatus::Down);
    let (chain_id, _, _) = tapos(&url).await;
    let tx = key_switch_tx(&url, &switch_to(&net, "backup"), 60).await;
    let (status, _) = push(
        &url,
        "send_transaction",
        body(&sign(&tx, &chain_id, &observer_key(&net))),
    )
    .await;
    assert_eq!(status, 202);
    net.step(24 + 1 + 24 + 4 * REPETITIONS * 2);
    let our_blocks_after = net.with_chain(|c| {
        c.blocks_from(c.head().num - 40)
            .filter(|b| b.producer == Name::literal(OUR))
            .count()
    });
    assert_eq!(
        our_blocks_after, 0,
        "primary no longer signs, backup is down"
    );
}

/// Pushes `tx` signed with `key` for `chain_id` and returns the error code and name.
async fn rejected(url: &str, packed: Value) -> (u16, i64, String) {
    let (status, r) = push(url, "push_transaction", packed).await;
    let (code, name) = error_code(&r);
    (status, code, name)
}

#[tokio::test]
async fn rejections_carry_nodeos_codes() {
    let net = start(4, 1).await;
    let url = net.endpoint_urls()[0].clone();
    let key = observer_key(&net);
    let (chain_id, lib, head) = tapos(&url).await;
    let sw = switch_to(&net, "backup");
    let abi = bp_failover::antelope::abi::eosio_system_abi();
    let tx_exp = |secs: u32| {
        sw.transaction(abi, &lib, TimePointSec::from_unix_secs(secs))
            .unwrap()
    };

    // Expired, too far.
    let r = rejected(&url, body(&sign(&tx_exp(head - 10), &chain_id, &key))).await;
    assert_eq!(r, (500, 3040005, "expired_tx_exception".into()));
    let r = rejected(&url, body(&sign(&tx_exp(head + 3700), &chain_id, &key))).await;
    assert_eq!(r, (500, 3040006, "tx_exp_too_far_exception".into()));

    // Bad TAPOS: wrong prefix.
    let mut bad = tx_exp(head + 60);
    bad.ref_block_prefix ^= 1;
    let r = rejected(&url, body(&sign(&bad, &chain_id, &key))).await;
    assert_eq!(r, (500, 3040007, "invalid_ref_block_exception".into()));

    // Wrong chain id, wrong key: signatures recover to keys the permission lacks.
    let other_chain = bp_failover::antelope::Checksum256::hash(b"other");
    let good = tx_exp(head + 60);
    let r = rejected(&url, body(&sign(&good, &other_chain, &key))).await;
    assert_eq!(r, (500, 3090003, "unsatisfied_authorization".into()));
    let r = rejected(&url, body(&sign(&good, &chain_id, &PrivateKey::generate()))).await;
    assert_eq!(r, (500, 3090003, "unsatisfied_authorization".into()));

    // Non-canonical signatures: r's high bit set, and s replaced by n - s.
    let packed = sign(&good, &chain_id, &key);
    let mut high_r = *packed.signatures[0].as_bytes();
    high_r[1] |= 0x80;
    let mut p = packed.clone();
    p.signatures[0] = Signature::from_bytes(high_r);
    let r = rejected(&url, body(&p)).await;
    assert_eq!(r, (500, 10, "assert_exception".into()));
    let mut flipped = *packed.signatures[0].as_bytes();
    let s = k256::Scalar::from_repr_vartime(<[u8; 32]>::try_from(&flipped[33..]).unwrap().into())
        .unwrap();
    flipped[33..].copy_from_slice(&(-s).to_bytes());
    flipped[0] ^= 1; // the other recovery id, as a signer producing high-S would emit
    let mut p = packed.clone();
    p.signatures[0] = Signature::from_bytes(flipped);
    let r = rejected(&url, body(&p)).await;
    assert_eq!(r, (500, 10, "assert_exception".into()));
    assert_eq!(
        error_code(&push(&url, "push_transaction", body(&p)).await.1).0,
        10
    );

    // url too long (512 bytes).
    let mut long = sw.clone();
    long.url = "x".repeat(512);
    let data = json!({"producer": OUR, "producer_key": long.signing_key.to_k1_string(),
                      "url": long.url, "location": 0});
    let tx = Transaction::new(
        &lib,
        TimePointSec::from_unix_secs(head + 60),
        vec![eosio_action("regproducer", OUR, "failover", data)],
    );
    let (status, e) = push(&url, "push_transaction", body(&sign(&tx, &chain_id, &key))).await;
    assert_eq!(
        (status, error_code(&e)),
        (500, (3050003, "eosio_assert_message_exception".into()))
    );
    assert_eq!(
        e["error"]["details"][0]["message"],
        "assertion failure with message: url too long"
    );

    // A permission not linked to the action: failover cannot unregister the producer.
    let tx = Transaction::new(
        &lib,
        TimePointSec::from_unix_secs(head + 60),
        vec![eosio_action(
            "unregprod",
            OUR,
            "failover",
            json!({"producer": OUR}),
        )],
    );
    let (status, e) = push(&url, "push_transaction", body(&sign(&tx, &chain_id, &key))).await;
    assert_eq!(
        (status, error_code(&e)),
        (500, (3090005, "irrelevant_auth_exception".into()))
    );
    assert!(e["error"]["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains(r#"minimum authority is {"actor":"ourproducer1","permission":"active"}"#));

    // regproducer for another account's producer: require_auth fails.
    let other = Name::literal("produceraa");
    let other_key = net
        .with_chain(|c| bp_failover::sim::chain::derive_key(&c.spec().seed, "account/produceraa"));
    let data = json!({"producer": OUR, "producer_key": sw.signing_key.to_k1_string(), "url": "", "location": 0});
    let tx = Transaction::new(
        &lib,
        TimePointSec::from_unix_secs(head + 60),
        vec![eosio_action(
            "regproducer",
            &other.to_string(),
            "active",
            data,
        )],
    );
    let (_, e) = push(
        &url,
        "push_transaction",
        body(&sign(&tx, &chain_id, &other_key)),
    )
    .await;
    assert_eq!(error_code(&e), (3090004, "missing_auth_exception".into()));

    // regproducer for an account that is not a registered producer.
    let eosio_key =
        net.with_chain(|c| bp_failover::sim::chain::derive_key(&c.spec().seed, "account/eosio"));
    let data = json!({"producer": "eosio", "producer_key": sw.signing_key.to_k1_string(), "url": "", "location": 0});
    let tx = Transaction::new(
        &lib,
        TimePointSec::from_unix_secs(head + 60),
        vec![eosio_action("regproducer", "eosio", "active", data)],
    );
    let (_, e) = push(
        &url,
        "push_transaction",
        body(&sign(&tx, &chain_id, &eosio_key)),
    )
    .await;
    assert_eq!(error_code(&e).0, 3050003);

    // delay_sec must be 0.
    let mut delayed = tx_exp(head + 60);
    delayed.delay_sec = 10;
    let r = rejected(&url, body(&sign(&delayed, &chain_id, &key))).await;
    assert_eq!(r.1, 3040000);

    // Bad action data.
    let mut garbled = tx_exp(head + 60);
    garbled.actions[0].data.truncate(5);
    let r = rejected(&url, body(&sign(&garbled, &chain_id, &key))).await;
    assert_eq!(r.1, 3050003);

    // Nothing above changed the producer.
    assert_eq!(
        registered_key(&producer_row(&url).await),
        dc_key(&net, "primary").to_legacy_string()
    );
    assert!(net.key_switches().is_empty());

    // Accepted once; the same transaction again is a duplicate (409).
    let packed = body(&sign(&good, &chain_id, &key));
    assert_eq!(push(&url, "push_transaction", packed.clone()).await.0, 202);
    let r = rejected(&url, packed).await;
    assert_eq!(r, (409, 3040008, "tx_duplicate".into()));
}

#[tokio::test]
async fn compute_transaction_checks_but_never_changes_state() {
    let net = start(4, 1).await;
    let url = net.endpoint_urls()[0].clone();
    let (chain_id, lib, head) = tapos(&url).await;
    let tx = key_switch_tx(&url, &switch_to(&net, "backup"), 60).await;
    // Unsigned: compute_transaction does not need signatures.
    let mut unsigned = sign(&tx, &chain_id, &observer_key(&net));
    unsigned.signatures.clear();
    let before = producer_row(&url).await;
    let (status, r) = post(
        &url,
        "compute_transaction",
        json!({"transaction": body(&unsigned)}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["processed"]["receipt"]["status"], "executed");
    assert_eq!(producer_row(&url).await, before);
    assert!(net.key_switches().is_empty());
    // Twice is fine: nothing was recorded.
    let (status, _) = post(
        &url,
        "compute_transaction",
        json!({"transaction": body(&unsigned)}),
    )
    .await;
    assert_eq!(status, 200);
    // Linkauth is still checked.
    let bad = Transaction::new(
        &lib,
        TimePointSec::from_unix_secs(head + 60),
        vec![eosio_action(
            "unregprod",
            OUR,
            "failover",
            json!({"producer": OUR}),
        )],
    );
    let mut p = sign(&bad, &chain_id, &observer_key(&net));
    p.signatures.clear();
    let (status, e) = post(
        &url,
        "compute_transaction",
        json!({"transaction": body(&p)}),
    )
    .await;
    assert_eq!((status, error_code(&e).0), (500, 3090005));
    // And the real push still works afterwards.
    let (status, _) = push(
        &url,
        "push_transaction",
        body(&sign(&tx, &chain_id, &observer_key(&net))),
    )
    .await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn send_transaction2_failure_trace_and_injected_transient_failure() {
    let net = start(4, 1).await;
    let url = net.endpoint_urls()[0].clone();
    let key = observer_key(&net);
    let (chain_id, lib, head) = tapos(&url).await;
    let sw = switch_to(&net, "backup");
    let abi = bp_failover::antelope::abi::eosio_system_abi();

    // An expired transaction comes back 2xx with `except` when a failure trace is asked for.
    let expired = sw
        .transaction(abi, &lib, TimePointSec::from_unix_secs(head - 5))
        .unwrap();
    let (status, r) = post(
        &url,
        "send_transaction2",
        json!({
        "return_failure_trace": true, "retry_trx": false,
        "transaction": body(&sign(&expired, &chain_id, &key))}),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(r["processed"]["except"]["code"], 3040005);
    // Without it, an error body.
    let (status, r) = post(
        &url,
        "send_transaction2",
        json!({
        "return_failure_trace": false, "retry_trx": false,
        "transaction": body(&sign(&expired, &chain_id, &key))}),
    )
    .await;
    assert_eq!((status, error_code(&r).0), (500, 3040005));

    // A transient failure, then the same transaction is accepted.
    net.inject_push_failures(vec![NodeError::cpu_exceeded()]);
    let good = sw
        .transaction(abi, &lib, TimePointSec::from_unix_secs(head + 60))
        .unwrap();
    let b = json!({"return_failure_trace": false, "retry_trx": false,
                   "transaction": body(&sign(&good, &chain_id, &key))});
    let (status, r) = post(&url, "send_transaction2", b.clone()).await;
    assert_eq!(
        (status, error_code(&r)),
        (500, (3080004, "tx_cpu_usage_exceeded".into()))
    );
    let (status, r) = post(&url, "send_transaction2", b).await;
    assert_eq!(status, 202, "{r}");
    assert!(r["processed"]["except"].is_null());
    assert_eq!(net.key_switches().len(), 1);
}

#[tokio::test]
async fn actfinkey_moves_the_finalizer_key_and_checks_registration() {
    let net = start(4, 1).await;
    let url = net.endpoint_urls()[0].clone();
    let key = observer_key(&net);
    let (chain_id, lib, head) = tapos(&url).await;
    let backup_fin = net.with_chain(|c| c.datacenters()[1].finalizer_key.clone());
    let mut sw = switch_to(&net, "backup");
    sw.finalizer_key = Some(backup_fin.clone());
    let tx = sw
        .transaction(
            bp_failover::antelope::abi::eosio_system_abi(),
            &lib,
            TimePointSec::from_unix_secs(head + 60),
        )
        .unwrap();
    let (status, r) = post(&url, "push_transaction", body(&sign(&tx, &chain_id, &key))).await;
    assert_eq!(status, 202, "{r}");
    assert_eq!(
        net.with_chain(|c| c
            .state()
            .active_finalizer_key(Name::literal(OUR))
            .map(str::to_string)),
        Some(backup_fin)
    );
    // A key nobody registered.
    let unknown = bp_failover::sim::system::fake_bls_key("nobody");
    let tx = Transaction::new(
        &lib,
        TimePointSec::from_unix_secs(head + 61),
        vec![eosio_action(
            "actfinkey",
            OUR,
            "failover",
            json!({"finalizer_name": OUR, "finalizer_key": unknown}),
        )],
    );
    let (_, e) = post(&url, "push_transaction", body(&sign(&tx, &chain_id, &key))).await;
    assert_eq!(error_code(&e).0, 3050003);
    assert!(e["error"]["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not registered"));
}

#[tokio::test]
async fn zlib_packed_transactions_are_accepted() {
    use std::io::Write;
    let net = start(4, 1).await;
    let url = net.endpoint_urls()[0].clone();
    let (chain_id, _, _) = tapos(&url).await;
    let tx = key_switch_tx(&url, &switch_to(&net, "backup"), 60).await;
    let packed = sign(&tx, &chain_id, &observer_key(&net));
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&packed.packed_trx).unwrap();
    let b = json!({
        "signatures": packed.signatures,
        "compression": "zlib",
        "packed_context_free_data": "",
        "packed_trx": hex::encode(z.finish().unwrap()),
    });
    let (status, r) = push(&url, "send_transaction", b).await;
    assert_eq!(status, 202, "{r}");
    assert_eq!(r["transaction_id"], tx.id().to_string());
}
