//! The running network: per-endpoint views and faults, request counters, data-center node
//! APIs, the clock, config rendering and scripted scenarios.

use crate::sim_common;

use std::time::Duration;

use bp_failover::antelope::Name;
use bp_failover::drill::scenario::{self, Expect, Params};
use bp_failover::drill::{render_config, ConfigOptions};
use bp_failover::sim::chain::REPETITIONS;
use bp_failover::sim::network::{Clock, NetworkSpec, Target};
use bp_failover::sim::{Behavior, Change, DcStatus, ForkSpec, Network};
use serde_json::{json, Value};
use sim_common::*;

async fn info(url: &str) -> Value {
    let (status, v) = post(url, "get_info", json!({})).await;
    assert_eq!(status, 200, "{v}");
    v
}

fn head(v: &Value) -> u64 {
    v["head_block_num"].as_u64().unwrap()
}

#[tokio::test]
async fn endpoint_views_differ_as_configured() {
    let mut spec = NetworkSpec::new(4, 5);
    spec.endpoints = vec![
        Behavior::Normal,
        Behavior::Normal,
        Behavior::Lag(10),
        Behavior::WrongChain,
        Behavior::Fork,
    ];
    let net = Network::start(spec).await.unwrap();
    let urls = net.endpoint_urls();
    net.set_endpoint(1, Behavior::Stale);
    let frozen = head(&info(&urls[1]).await);
    // A minority of one producer (plus nobody of ours) on the fork.
    net.apply(Change::Split(ForkSpec {
        producers: 1,
        datacenters: vec![],
    }));
    net.step(4 * REPETITIONS * 2);

    let live = info(&urls[0]).await;
    let stale = info(&urls[1]).await;
    let lag = info(&urls[2]).await;
    let wrong = info(&urls[3]).await;
    let fork = info(&urls[4]).await;

    assert_eq!(head(&stale), frozen, "stale endpoint does not move");
    assert!(head(&live) > frozen);
    assert_eq!(head(&lag), head(&live) - 10);
    assert_ne!(wrong["chain_id"], live["chain_id"]);
    assert_ne!(wrong["head_block_id"], live["head_block_id"]);
    // Majority (3 of 4 with ours) keeps finality; the fork (1 of 4) stalls it.
    assert_eq!(
        head(&live) - live["last_irreversible_block_num"].as_u64().unwrap(),
        2
    );
    let fork_lib = fork["last_irreversible_block_num"].as_u64().unwrap();
    assert!(
        fork_lib <= frozen,
        "minority fork cannot finalize past the split"
    );
    assert!(head(&fork) - fork_lib > 20);
    assert!(head(&fork) < head(&live), "the fork produces fewer blocks");
    // Both sides share history up to the split, then diverge.
    let split_block = frozen + 1;
    let at = |u: &str, n: u64| {
        let u = u.to_string();
        async move { post(&u, "get_block_info", json!({"block_num": n})).await.1["id"].clone() }
    };
    assert_eq!(
        at(&urls[0], split_block - 1).await,
        at(&urls[4], split_block - 1).await
    );
    let h = head(&fork);
    assert_ne!(at(&urls[0], h).await, at(&urls[4], h).await);
    // Only the fork's producer (and nobody else) produces on the fork.
    let producers: std::collections::BTreeSet<String> = {
        let mut s = std::collections::BTreeSet::new();
        for n in h - 20..=h {
            let (_, b) = post(&urls[4], "get_block_info", json!({"block_num": n})).await;
            s.insert(b["producer"].as_str().unwrap().to_string());
        }
        s
    };
    assert_eq!(producers.len(), 1, "{producers:?}");
    // The stale endpoint does not know blocks after its head.
    let (status, _) = post(&urls[1], "get_block_info", json!({"block_num": frozen + 1})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn faults_and_request_counters() {
    let net = start(4, 4).await;
    let urls = net.endpoint_urls();
    net.set_endpoint(1, Behavior::Down);
    net.set_endpoint(2, Behavior::Unavailable);
    net.set_endpoint(3, Behavior::Garbage);

    for _ in 0..3 {
        info(&urls[0]).await;
    }
    post(&urls[0], "get_producer_schedule", json!({})).await;
    let down = client()
        .post(format!("{}/v1/chain/get_info", urls[1]))
        .send()
        .await;
    assert!(down.is_err(), "a down endpoint gives a transport error");
    let r = client()
        .post(format!("{}/v1/chain/get_info", urls[2]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let r = client()
        .post(format!("{}/v1/chain/get_info", urls[3]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());

    assert_eq!(net.requests(0, "get_info"), 3);
    assert_eq!(net.requests(0, "/v1/chain/get_producer_schedule"), 1);
    assert_eq!(net.counters(Target::Endpoint(0)).total(), 4);
    assert_eq!(net.requests(1, "get_info"), 0);
    assert!(net.counters(Target::Endpoint(1)).refused >= 1);
    assert_eq!(net.requests(2, "get_info"), 1);
    assert_eq!(net.requests(3, "get_info"), 1);

    // Back up: answers again, also on a kept-alive client.
    net.set_endpoint(1, Behavior::Normal);
    info(&urls[1]).await;
    assert_eq!(net.requests(1, "get_info"), 1);

    // Slow: answers after the delay (a client timeout shorter than it fails).
    net.set_endpoint(1, Behavior::Slow(Duration::from_millis(300)));
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let r = quick
        .post(format!("{}/v1/chain/get_info", urls[1]))
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
}

#[tokio::test]
async fn datacenter_nodes_report_their_own_head() {
    let net = start(4, 1).await;
    let nodes = net.node_urls();
    assert_eq!(
        nodes.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["primary", "backup", "backup2"]
    );
    let main = head(&info(&net.endpoint_urls()[0]).await);
    assert_eq!(head(&info(&nodes[0].1).await), main);
    net.set_datacenter("backup", DcStatus::Lagging(100));
    assert_eq!(head(&info(&nodes[1].1).await), main - 100);
    net.set_datacenter("backup2", DcStatus::Down);
    assert!(client()
        .post(format!("{}/v1/chain/get_info", nodes[2].1))
        .send()
        .await
        .is_err());
    assert_eq!(net.counters(Target::Node(0)).get("get_info"), 1);
}

#[tokio::test]
async fn real_time_clock_advances_scaled_slots() {
    let mut spec = NetworkSpec::new(4, 1);
    spec.clock = Clock::RealTime { time_scale: 50.0 }; // 10 ms slots
    let net = Network::start(spec).await.unwrap();
    let before = net.elapsed_slots();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = net.elapsed_slots();
    assert!(
        (15..=45).contains(&(after - before)),
        "{} slots in 300 ms",
        after - before
    );
    // Chain time is slot time.
    let now = net.chain_now_ms();
    assert_eq!(now % 500, 0);
    net.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn paused_tokio_time_drives_the_clock_exactly() {
    let mut spec = NetworkSpec::new(4, 1);
    spec.clock = Clock::RealTime { time_scale: 1.0 };
    let net = Network::start(spec).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5_000)).await;
    tokio::task::yield_now().await;
    assert_eq!(net.elapsed_slots(), 10);
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::yield_now().await;
    assert_eq!(net.elapsed_slots(), 11);
}

#[tokio::test]
async fn config_lists_endpoints_keys_and_a_0600_key_file() {
    let net = start(4, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let text = render_config(&net, &ConfigOptions::new(dir.path())).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    let endpoints: Vec<&str> = v["chain"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(endpoints, net.endpoint_urls());
    let chain_id = net.with_chain(|c| c.chain_id().to_string());
    assert_eq!(v["chain"]["chain_id"].as_str().unwrap(), chain_id);
    assert_eq!(v["chain"]["request_timeout_ms"].as_integer(), Some(1500));
    assert_eq!(v["producer"]["account"].as_str(), Some(OUR));
    assert_eq!(v["producer"]["permission"].as_str(), Some("failover"));
    assert_eq!(v["producer"]["action"].as_str(), Some("regproducer"));
    let dcs = v["datacenter"].as_array().unwrap();
    assert_eq!(dcs.len(), 3);
    assert_eq!(dcs[0]["name"].as_str(), Some("primary"));
    assert_eq!(
        dcs[1]["signing_key"].as_str().unwrap(),
        dc_key(&net, "backup").to_k1_string()
    );
    assert_eq!(dcs[1]["api"].as_str().unwrap(), net.node_urls()[1].1);
    assert!(v["state"]["path"].as_str().unwrap().ends_with("state.json"));

    let key_path = std::path::PathBuf::from(v["producer"]["key_file"].as_str().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let key = bp_failover::keyfile::read_key_file(&key_path).unwrap();
    assert_eq!(key.public_key(), observer_key(&net).public_key());
    // Never overwrites.
    assert!(render_config(&net, &ConfigOptions::new(dir.path())).is_err());
}

/// A minimal observer for scenario tests: after our producer misses a full turn, switch
/// to the first data center whose node answers and is synced.
async fn naive_observer_step(net: &Network, switched: &mut bool) {
    if *switched {
        return;
    }
    let (missed_turn, head_slot) = net.with_chain(|c| {
        let our = Name::literal(OUR);
        let n = c.schedules().active.producers.len() as u32;
        let slot = c.slot();
        // Our last full turn that ended before `slot`.
        let turn = (0..n * REPETITIONS * 2)
            .map(|d| slot - d)
            .find(|s| s % REPETITIONS == REPETITIONS - 1 && c.scheduled_producer(*s) == Some(our));
        let missed = turn.is_some_and(|end| {
            !c.blocks_from(c.head().num.saturating_sub(200))
                .any(|b| b.producer == our && b.slot + REPETITIONS > end && b.slot <= end)
        });
        (missed, slot)
    });
    let _ = head_slot;
    if !missed_turn {
        return;
    }
    for (dc, url) in net.node_urls().into_iter().skip(1) {
        let Ok(r) = client()
            .post(format!("{url}/v1/chain/get_info"))
            .send()
            .await
        else {
            continue;
        };
        let v: Value = r.json().await.unwrap();
        let main = head(&info(&net.endpoint_urls()[0]).await);
        if main - head(&v) > 10 {
            continue;
        }
        let ep = net.endpoint_urls()[0].clone();
        let (chain_id, _, _) = tapos(&ep).await;
        let tx = key_switch_tx(&ep, &switch_to(net, &dc), 60).await;
        let (status, _) = post(
            &ep,
            "push_transaction",
            body(&sign(&tx, &chain_id, &observer_key(net))),
        )
        .await;
        *switched = status == 202;
        return;
    }
}

async fn run(name: &str, observe: bool) -> (scenario::Scenario, Network) {
    let params = Params {
        producers: 4,
        schedule_tick_slots: 24,
        ..Params::default()
    };
    let s = scenario::builtin(name, &params).unwrap();
    let net = Network::start(s.spec.clone()).await.unwrap();
    let mut switched = false;
    for _ in 0..s.run_slots / REPETITIONS {
        net.step(REPETITIONS);
        if observe {
            naive_observer_step(&net, &mut switched).await;
        }
    }
    (s, net)
}

#[tokio::test]
async fn scenarios_script_the_network_and_judge_the_outcome() {
    // primary-down with a naive observer: switch to backup, and it takes effect.
    let (s, net) = run("primary-down", true).await;
    assert_eq!(
        s.expect,
        Expect::Switch {
            to: "backup".into(),
            count: 1
        }
    );
    s.check(&net).unwrap();
    // backup-not-ready: the naive observer skips the lagging backup.
    let (s, net) = run("backup-not-ready", true).await;
    s.check(&net).unwrap();
    // Nobody acting: the switch expectations fail, the no-switch ones hold.
    for (name, _) in scenario::list() {
        let (s, net) = run(name, false).await;
        match s.expect {
            // k-of-n: the proposal and approval expected in eosio.msig are missing.
            Expect::NoSwitch if s.msig.is_some() => {
                let err = s.check(&net).unwrap_err();
                assert!(err.contains("eosio.msig"), "{name}: {err}");
            }
            Expect::NoSwitch => s.check(&net).unwrap(),
            Expect::Switch { .. } => assert!(s.check(&net).is_err(), "{name}"),
        }
    }
}

#[tokio::test]
async fn minority_fork_scenario_shows_us_missing_only_on_the_fork() {
    let (_, net) = run("minority-fork", false).await;
    let urls = net.endpoint_urls();
    let recent_producers = |url: String, blocks: u64| async move {
        let h = head(&info(&url).await);
        let mut out = Vec::new();
        for n in h.saturating_sub(blocks)..=h {
            let (_, b) = post(&url, "get_block_info", json!({"block_num": n})).await;
            out.push(b["producer"].as_str().unwrap().to_string());
        }
        out
    };
    assert!(recent_producers(urls[0].clone(), 48)
        .await
        .iter()
        .any(|p| p == OUR));
    assert!(!recent_producers(urls[2].clone(), 20)
        .await
        .iter()
        .any(|p| p == OUR));
}

#[tokio::test]
async fn serve_runs_until_shutdown() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (url_tx, url_rx) = tokio::sync::oneshot::channel::<String>();
    let task = tokio::spawn(bp_failover::sim::serve(
        NetworkSpec::new(4, 1),
        move |net| {
            let _ = url_tx.send(net.endpoint_urls()[0].clone());
            Ok(())
        },
        async move {
            let _ = rx.await;
        },
    ));
    let url = url_rx.await.unwrap();
    info(&url).await;
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
    assert!(client()
        .post(format!("{url}/v1/chain/get_info"))
        .send()
        .await
        .is_err());
}
