//! `status` end to end against local servers: gather, build the snapshot, render it.

use crate::support;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use bp_failover::api::ManualClock;
use bp_failover::commands::status::{exit_code, run, EXIT_BLIND};
use bp_failover::config;
use bp_failover::snapshot::{build_snapshot, gather, render_json, render_text};
use support::*;

const HEAD: u32 = BASE + 10;
/// eosarabianet's key in the recorded Jungle4 schedule (position 6).
const SCHEDULED_KEY: &str = "EOS5CuxGyXVubRqWLVytQn5M1C2XoEaxzsLQEAXdF4iZmW5g925ig";
const BACKUP_KEY: &str = "PUB_K1_87DUhBcZrLhyFfBVDyu1iWZJUGURqbk6CQxwv5g6iWUD2X45Hv";

fn producer_row(key: &str) -> String {
    format!(
        r#"{{"rows":[{{"owner":"eosarabianet","total_votes":"123.5","producer_key":"{key}","is_active":1,"url":"https://eosarabia.net","unpaid_blocks":7,"last_claim_time":"2025-06-01T00:00:00.000","location":682}}],"more":false,"next_key":""}}"#
    )
}

/// A full API node: the simulated chain plus schedule and producers table.
fn api_node(chain: Chain, registered_key: &'static str) -> Handler {
    Arc::new(move |path, body| match path {
        "/v1/chain/get_producer_schedule" => {
            Reply::Json(200, fixture("jungle4_get_producer_schedule_2023.json"))
        }
        "/v1/chain/get_table_rows" if body["table"] == "producers" => {
            Reply::Json(200, producer_row(registered_key))
        }
        _ => chain.answer(path, body),
    })
}

fn config_text(endpoints: &[&str], primary_api: &str, backup_api: &str) -> String {
    let list: Vec<String> = endpoints.iter().map(|e| format!("{e:?}")).collect();
    format!(
        r#"
[chain]
endpoints = [{}]
chain_id = "{JUNGLE4}"
request_timeout_ms = 500

[producer]
account = "eosarabianet"
permission = "failover"
key_env = "BP_FAILOVER_STATUS_TEST_UNSET"

[[datacenter]]
name = "primary"
signing_key = "{SCHEDULED_KEY}"
api = "{primary_api}"

[[datacenter]]
name = "backup"
signing_key = "{BACKUP_KEY}"
api = "{backup_api}"
"#,
        list.join(", ")
    )
}

#[tokio::test]
async fn status_snapshot_of_a_switch_in_flight() {
    let a = MockServer::start(api_node(Chain::new(HEAD), BACKUP_KEY)).await;
    let b = MockServer::start(api_node(Chain::new(HEAD), BACKUP_KEY)).await;
    let mut wax = Chain::new(HEAD);
    wax.chain_id = WAX.into();
    let c = MockServer::start(api_node(wax, BACKUP_KEY)).await;
    let primary = MockServer::start(Chain::new(HEAD).handler()).await;
    let backup = MockServer::start(Chain::new(HEAD - 40).handler()).await;

    let text = config_text(&[&a.url, &b.url, &c.url], &primary.url, &backup.url);
    let loaded = config::load_str(&text, Path::new("config.toml")).unwrap();
    let clock = ManualClock::new(block_time_ms(HEAD) + 300);
    let inputs = gather(&loaded.config, loaded.warnings.clone(), &clock)
        .await
        .unwrap();
    let snap = build_snapshot(&loaded.config, &inputs);

    assert!(!snap.blind);
    assert_eq!(exit_code(&snap), ExitCode::SUCCESS);
    assert_eq!(snap.quorum.state, bp_failover::events::QuorumStatus::Agreed);
    assert_eq!(snap.quorum.members, vec![1, 2]);
    assert_eq!(snap.endpoints[2].status, "excluded");
    assert!(snap.endpoints[2]
        .reason
        .as_deref()
        .unwrap()
        .starts_with("wrong chain"));

    let active = snap.schedule.active.as_ref().unwrap();
    assert_eq!(
        (active.version, active.producers, active.position),
        (72, 21, Some(6))
    );
    assert_eq!(active.datacenter.as_deref(), Some("primary"));
    assert!(snap.schedule.verified);

    assert_eq!(snap.registration.datacenter.as_deref(), Some("backup"));
    assert_eq!(snap.registration.location, Some(682));
    assert!(
        snap.notes.iter().any(|n| n.contains("switch is in flight")),
        "{:?}",
        snap.notes
    );

    assert!(snap.datacenters[0].scheduled && !snap.datacenters[0].registered);
    assert!(snap.datacenters[1].registered && !snap.datacenters[1].scheduled);
    let p = snap.datacenters[0].node.as_ref().unwrap();
    assert_eq!(
        (p.reachable, p.synced, p.lag_blocks),
        (true, Some(true), Some(0))
    );
    let bk = snap.datacenters[1].node.as_ref().unwrap();
    assert_eq!(
        (bk.reachable, bk.synced, bk.lag_blocks),
        (true, Some(false), Some(40))
    );

    let out = render_text(&snap);
    for needle in [
        "quorum: agreed",
        "#3 ",
        "wrong chain",
        "active: version 72, 21 producers; eosarabianet at position 6",
        "(primary)",
        "url https://eosarabia.net, location 682",
        "reachable, synced",
        "NOT SYNCED",
        "switch is in flight",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    let json: serde_json::Value = serde_json::from_str(&render_json(&snap)).unwrap();
    assert_eq!(json["quorum"]["state"], "agreed");
    assert_eq!(json["schedule"]["active"]["position"], 6);
    assert_eq!(json["datacenters"][1]["node"]["synced"], false);
    assert_eq!(json["blind"], false);
}

#[tokio::test]
async fn a_chain_id_that_differs_from_the_endpoints_is_named() {
    let servers = [
        MockServer::start(api_node(Chain::new(HEAD), SCHEDULED_KEY)).await,
        MockServer::start(api_node(Chain::new(HEAD), SCHEDULED_KEY)).await,
        MockServer::start(api_node(Chain::new(HEAD), SCHEDULED_KEY)).await,
    ];
    let urls: Vec<&str> = servers.iter().map(|s| s.url.as_str()).collect();
    let text = config_text(&urls, "http://127.0.0.1:9/p", "http://127.0.0.1:9/q").replace(
        &format!("chain_id = \"{JUNGLE4}\""),
        "chain_id = \"1064487b3cd1a897ce03ae5b6a865651747e2e152090f99c1d19d44e01aea5a4\"",
    );
    let loaded = config::load_str(&text, Path::new("config.toml")).unwrap();
    let clock = ManualClock::new(block_time_ms(HEAD) + 300);
    let inputs = gather(&loaded.config, vec![], &clock).await.unwrap();
    let snap = build_snapshot(&loaded.config, &inputs);
    assert!(snap.blind);
    assert!(
        snap.notes[0].starts_with("wrong chain_id")
            && snap.notes[0].contains("3 of 3 endpoints report chain id")
            && snap.notes[0].contains(JUNGLE4),
        "{:?}",
        snap.notes
    );
    let out = render_text(&snap);
    assert!(!out.contains("no endpoint answered get_info"), "{out}");
}

#[tokio::test]
async fn status_is_blind_and_exits_non_zero_when_endpoints_fail() {
    let a = MockServer::start(api_node(Chain::new(HEAD), SCHEDULED_KEY)).await;
    // The others: nothing listens there; the data centers' nodes too.
    let text = config_text(
        &[&a.url, "http://127.0.0.1:9/b", "http://127.0.0.1:9/c"],
        "http://127.0.0.1:9/p",
        "http://127.0.0.1:9/q",
    );
    let loaded = config::load_str(&text, Path::new("config.toml")).unwrap();
    let clock = ManualClock::new(block_time_ms(HEAD) + 300);
    let inputs = gather(&loaded.config, vec![], &clock).await.unwrap();
    let snap = build_snapshot(&loaded.config, &inputs);
    assert!(snap.blind);
    assert_eq!(exit_code(&snap), ExitCode::from(EXIT_BLIND));
    assert_eq!(
        snap.quorum.state,
        bp_failover::events::QuorumStatus::ObserverBlind
    );
    // Chain data still shown, marked unverified.
    assert!(!snap.schedule.verified && snap.schedule.active.is_some());
    assert!(snap.notes.iter().any(|n| n.contains("unverified")));
    assert!(!snap.datacenters[0].node.as_ref().unwrap().reachable);
    let out = render_text(&snap);
    assert!(
        out.contains("OBSERVER BLIND") && out.contains("UNREACHABLE") && out.contains("UNVERIFIED"),
        "{out}"
    );
}

#[tokio::test]
async fn run_loads_the_file_and_reports_config_errors_before_the_network() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    std::fs::write(&path, "[chain]\nendpoints = []\n").unwrap();
    let e = run(&path, false).await.unwrap_err();
    assert!(
        format!("{e:#}").contains("missing field `producer`"),
        "{e:#}"
    );

    // A valid file whose endpoints answer with a head from 2025: stale to the real clock.
    let a = MockServer::start(api_node(Chain::new(HEAD), SCHEDULED_KEY)).await;
    std::fs::write(&path, config_text(&[&a.url], &a.url, "http://127.0.0.1:9")).unwrap();
    let code = run(&path, true).await.unwrap();
    assert_eq!(code, ExitCode::from(EXIT_BLIND));
}
