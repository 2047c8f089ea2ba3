//! The endpoint pool against real HTTP servers on 127.0.0.1: healthy, slow beyond the
//! timeout, stale, wrong chain, garbage, oversized, and forked endpoints.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bp_failover::api::client::{ChainClient, ClientOptions};
use bp_failover::api::types::ChainId;
use bp_failover::api::{EndpointPool, EndpointUrl, ManualClock};
use bp_failover::quorum::{ExclusionReason, QuorumPolicy, QuorumState, Verdict};
use support::*;

const TIMEOUT: Duration = Duration::from_millis(400);

fn policy(chain: Option<&str>) -> QuorumPolicy {
    QuorumPolicy {
        configured: 0,
        chain_id: chain.map(|c| c.parse::<ChainId>().unwrap()),
        max_head_age_ms: 30_000,
        max_clock_ahead_ms: 2_000,
    }
}

fn pool(urls: &[&str], chain: Option<&str>) -> EndpointPool {
    let opts = ClientOptions {
        timeout: TIMEOUT,
        ..ClientOptions::default()
    };
    let http = bp_failover::api::client::http_client(&opts).unwrap();
    let clients = urls
        .iter()
        .map(|u| ChainClient::new(http.clone(), EndpointUrl::parse(u).unwrap(), opts.clone()))
        .collect();
    EndpointPool::new(clients, policy(chain))
}

/// Our clock: just after block `head` was produced.
fn clock_at(head: u32) -> ManualClock {
    ManualClock::new(block_time_ms(head) + 250)
}

fn excluded(view: &bp_failover::api::QuorumView, k: usize) -> &ExclusionReason {
    match &view.endpoints[k].verdict {
        Verdict::Excluded(r) => r,
        v => panic!("endpoint {k} is {v:?}"),
    }
}

const HEAD: u32 = BASE + 10;

#[tokio::test]
async fn three_healthy_endpoints_agree_without_probes() {
    let a = MockServer::start(Chain::new(HEAD).handler()).await;
    let b = MockServer::start(Chain::new(HEAD).handler()).await;
    let c = MockServer::start(Chain::new(HEAD).handler()).await;
    let mut p = pool(&[&a.url, &b.url, &c.url], Some(JUNGLE4));
    let view = p.observe(&clock_at(HEAD)).await;
    let q = view.quorum().expect("agreement");
    assert_eq!(
        (q.head.num, q.lib.num, q.members.len()),
        (HEAD, HEAD - 2, 3)
    );
    assert_eq!(q.head.id.to_string(), block_id(HEAD, 0, u32::MAX));
    for s in [&a, &b, &c] {
        assert_eq!(s.hits("/v1/chain/get_info"), 1);
        assert_eq!(s.hits("/v1/chain/get_block_info"), 0);
    }
    assert_eq!(
        view.endpoints[0].server_version.as_deref(),
        Some("v1.2.0-rc3")
    );
    assert_eq!(p.health(0).consecutive_errors, 0);
}

#[tokio::test]
async fn slow_endpoint_times_out_and_the_round_stays_bounded() {
    let a = MockServer::start(Chain::new(HEAD).handler()).await;
    let b = MockServer::start(Chain::new(HEAD).handler()).await;
    let slow_chain = Chain::new(HEAD);
    let slow = MockServer::start(Arc::new(move |path, body| {
        Reply::Slow(
            Duration::from_secs(3),
            Box::new(slow_chain.answer(path, body)),
        )
    }))
    .await;
    let mut p = pool(&[&a.url, &slow.url, &b.url], Some(JUNGLE4));
    let t0 = Instant::now();
    let view = p.observe(&clock_at(HEAD)).await;
    assert!(
        t0.elapsed() < Duration::from_millis(1500),
        "endpoints are queried concurrently"
    );
    assert_eq!(view.quorum().unwrap().members, vec![0, 2]);
    let r = excluded(&view, 1).to_string();
    assert!(r.contains("no answer within 400 ms"), "{r}");
    assert_eq!(p.health(1).consecutive_errors, 1);
    // Backed off: not asked again in the same instant …
    let _ = p.observe(&clock_at(HEAD)).await;
    assert_eq!(slow.hits("/v1/chain/get_info"), 1);
    assert_eq!(p.health(1).errors, 1);
    // … but once the backoff (500 ms after the first failure) has passed; the streak grows.
    let later = ManualClock::new(block_time_ms(HEAD) + 250 + 600);
    let _ = p.observe(&later).await;
    assert_eq!(slow.hits("/v1/chain/get_info"), 2);
    assert_eq!(p.health(1).consecutive_errors, 2);
    assert_eq!(p.health(1).errors, 2);
}

#[tokio::test]
async fn the_daemon_round_closes_soon_after_a_quorum_answers() {
    let a = MockServer::start(Chain::new(HEAD).handler()).await;
    let b = MockServer::start(Chain::new(HEAD).handler()).await;
    let slow_chain = Chain::new(HEAD);
    let slow = MockServer::start(Arc::new(move |path, body| {
        Reply::Slow(
            Duration::from_millis(350),
            Box::new(slow_chain.answer(path, body)),
        )
    }))
    .await;
    let mut p = pool(&[&a.url, &slow.url, &b.url], Some(JUNGLE4));
    // The one-shot round waits for the slow endpoint (it answers within the timeout).
    let view = p.observe(&clock_at(HEAD)).await;
    assert_eq!(view.quorum().unwrap().members, vec![0, 1, 2]);
    // The daemon's round does not: two of three answered, 50 ms grace, done.
    let t0 = Instant::now();
    let view = p
        .observe_fast(&clock_at(HEAD), Duration::from_millis(50))
        .await;
    assert!(
        t0.elapsed() < Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(view.quorum().unwrap().members, vec![0, 2]);
    let r = excluded(&view, 1).to_string();
    assert!(
        r.contains("after a majority of endpoints had answered"),
        "{r}"
    );
    // With a fast endpoint down, the round waits for the slow one: it is needed.
    drop(a);
    let view = p
        .observe_fast(&clock_at(HEAD), Duration::from_millis(50))
        .await;
    assert_eq!(view.quorum().unwrap().members, vec![1, 2]);
}

#[tokio::test]
async fn stale_and_wrong_chain_endpoints_are_excluded() {
    let good = MockServer::start(Chain::new(HEAD).handler()).await;
    let stale = MockServer::start(Chain::new(HEAD - 200).handler()).await;
    let mut wax = Chain::new(HEAD);
    wax.chain_id = WAX.into();
    let wrong = MockServer::start(wax.handler()).await;
    let good2 = MockServer::start(Chain::new(HEAD).handler()).await;
    let mut p = pool(
        &[&good.url, &stale.url, &wrong.url, &good2.url],
        Some(JUNGLE4),
    );
    let view = p.observe(&clock_at(HEAD)).await;
    // 4 configured: 3 must agree, only 2 are healthy.
    assert_eq!(
        view.state,
        QuorumState::Blind {
            healthy: 2,
            required: 3
        }
    );
    assert!(matches!(
        excluded(&view, 1),
        ExclusionReason::Stale {
            age_ms: 100_250,
            ..
        }
    ));
    assert!(matches!(
        excluded(&view, 2),
        ExclusionReason::WrongChain { .. }
    ));
    assert!(excluded(&view, 2).to_string().contains(WAX));
}

#[tokio::test]
async fn wrong_chain_is_found_by_majority_without_configured_chain_id() {
    let a = MockServer::start(Chain::new(HEAD).handler()).await;
    let mut wax = Chain::new(HEAD);
    wax.chain_id = WAX.into();
    let w = MockServer::start(wax.handler()).await;
    let b = MockServer::start(Chain::new(HEAD).handler()).await;
    let mut p = pool(&[&a.url, &w.url, &b.url], None);
    let view = p.observe(&clock_at(HEAD)).await;
    assert_eq!(view.quorum().unwrap().chain_id.to_string(), JUNGLE4);
    assert!(matches!(
        excluded(&view, 1),
        ExclusionReason::WrongChain { .. }
    ));
}

#[tokio::test]
async fn garbage_and_oversized_bodies_are_errors_for_that_endpoint() {
    let good = MockServer::start(Chain::new(HEAD).handler()).await;
    let garbage = MockServer::start(Arc::new(|_: &str, _: &serde_json::Value| {
        Reply::Raw(200, b"<html>\x00\xff not json".to_vec())
    }))
    .await;
    let truncated = MockServer::start(Arc::new(|_: &str, _: &serde_json::Value| {
        let full = Chain::new(HEAD).get_info();
        Reply::Json(200, full[..full.len() / 2].to_string())
    }))
    .await;
    let endless = MockServer::start(Arc::new(|_: &str, _: &serde_json::Value| Reply::Endless {
        total: 8 * 1024 * 1024,
    }))
    .await;
    let liar =
        MockServer::start(Arc::new(|_: &str, _: &serde_json::Value| Reply::HugeLength)).await;
    let mut p = pool(
        &[
            &good.url,
            &garbage.url,
            &truncated.url,
            &endless.url,
            &liar.url,
        ],
        Some(JUNGLE4),
    );
    let view = p.observe(&clock_at(HEAD)).await;
    assert!(view.is_blind(), "1 good of 5");
    let texts: Vec<String> = (1..5).map(|k| excluded(&view, k).to_string()).collect();
    // An HTML page is named for what it is, not dumped.
    assert!(texts[0].contains("not an Antelope node"), "{}", texts[0]);
    assert!(!texts[0].contains("<html>"), "{}", texts[0]);
    assert!(texts[1].contains("malformed response"), "{}", texts[1]);
    assert!(
        texts[2].contains("larger than the 4194304-byte limit"),
        "{}",
        texts[2]
    );
    assert!(
        texts[3].contains("larger than the 4194304-byte limit"),
        "{}",
        texts[3]
    );
}

#[tokio::test]
async fn disagreeing_fork_is_found_at_the_common_height() {
    // a is 2 blocks behind on the main chain; b is ahead on the main chain; c is ahead on
    // a fork that split at HEAD - 5.
    // LIB lags 5 blocks, so the common height is nobody's LIB and b, c must be probed.
    let a = MockServer::start(
        Chain {
            lib_lag: 5,
            ..Chain::new(HEAD - 2)
        }
        .handler(),
    )
    .await;
    let b = MockServer::start(
        Chain {
            lib_lag: 5,
            ..Chain::new(HEAD)
        }
        .handler(),
    )
    .await;
    let mut forked = Chain {
        lib_lag: 5,
        ..Chain::new(HEAD)
    };
    forked.fork = 7;
    forked.fork_point = HEAD - 5;
    let c = MockServer::start(forked.handler()).await;
    let mut p = pool(&[&a.url, &b.url, &c.url], Some(JUNGLE4));
    let view = p.observe(&clock_at(HEAD)).await;
    let q = view.quorum().expect("a and b agree");
    assert_eq!(q.members, vec![0, 1]);
    assert_eq!(q.head.num, HEAD - 2);
    assert_eq!(
        q.best_head_num,
        HEAD - 2,
        "only one agreeing endpoint reached HEAD"
    );
    assert!(
        matches!(excluded(&view, 2), ExclusionReason::Forked { height, .. } if *height == HEAD - 2)
    );
    assert_eq!(a.hits("/v1/chain/get_block_info"), 0);
    assert_eq!(b.hits("/v1/chain/get_block_info"), 1);
    assert_eq!(c.hits("/v1/chain/get_block_info"), 1);
    let probe = &b
        .requests()
        .into_iter()
        .find(|(t, _)| t.ends_with("get_block_info"))
        .unwrap()
        .1;
    assert_eq!(probe["block_num"], HEAD - 2);

    // With only two endpoints, a fork means disagreement.
    let mut p = pool(&[&b.url, &c.url], Some(JUNGLE4));
    let view = p.observe(&clock_at(HEAD)).await;
    assert!(
        matches!(view.state, QuorumState::Disagree { .. }),
        "{}",
        view.state
    );
}

#[tokio::test]
async fn get_block_fallback_is_remembered_per_endpoint() {
    let a = MockServer::start(Chain::new(HEAD - 1).handler()).await;
    let mut old = Chain::new(HEAD);
    old.block_info = false;
    let b = MockServer::start(old.handler()).await;
    let mut p = pool(&[&a.url, &b.url], Some(JUNGLE4));
    for round in 1..=2 {
        let view = p.observe(&clock_at(HEAD)).await;
        assert_eq!(view.quorum().unwrap().members, vec![0, 1], "round {round}");
    }
    assert_eq!(
        b.hits("/v1/chain/get_block_info"),
        1,
        "asked once, then remembered"
    );
    assert_eq!(b.hits("/v1/chain/get_block"), 2);
    assert_eq!(p.client(1).supports_block_info(), Some(false));
}

#[tokio::test]
async fn all_endpoints_down_is_blind() {
    // Port 9 on loopback: nothing listens (connection refused).
    let mut p = pool(
        &["http://127.0.0.1:9", "http://127.0.0.1:9/x"],
        Some(JUNGLE4),
    );
    let view = p.observe(&clock_at(HEAD)).await;
    assert_eq!(
        view.state,
        QuorumState::Blind {
            healthy: 0,
            required: 2
        }
    );
    assert!(excluded(&view, 0).to_string().starts_with("request failed"));
}

#[tokio::test]
async fn credentials_in_urls_reach_the_server_but_never_the_output() {
    let node = MockServer::start(Chain::new(HEAD).handler()).await;
    let with_token =
        format!("{}/?apikey=TOKEN123", node.url).replace("http://", "http://user:SECRET@");
    let mut p = pool(
        &[
            &with_token,
            "http://user:SECRET@127.0.0.1:9/?apikey=TOKEN123",
        ],
        Some(JUNGLE4),
    );
    let view = p.observe(&clock_at(HEAD)).await;
    let (target, _) = &node.requests()[0];
    assert_eq!(target, "/v1/chain/get_info?apikey=TOKEN123");
    let shown = format!("{view:?} {}", serde_json::to_string(&view).unwrap());
    for e in &view.endpoints {
        if let Verdict::Excluded(r) = &e.verdict {
            assert!(!r.to_string().contains("SECRET") && !r.to_string().contains("TOKEN123"));
        }
    }
    assert!(
        !shown.contains("SECRET") && !shown.contains("TOKEN123"),
        "{shown}"
    );
}

/// A state read needs a strict majority of the configured endpoints to answer alike: the
/// odd one out is named, and without a majority nothing is believed.
#[tokio::test]
async fn agreed_reads_need_a_majority_and_name_the_outlier() {
    let a = MockServer::start(Chain::new(HEAD).handler()).await;
    let b = MockServer::start(Chain::new(HEAD).handler()).await;
    let mut forked = Chain::new(HEAD);
    forked.fork = 7;
    forked.fork_point = HEAD - 5;
    let liar = MockServer::start(forked.handler()).await;
    let p = pool(&[&a.url, &liar.url, &b.url], Some(JUNGLE4));
    let grace = Duration::from_millis(200);
    let read = |order: Vec<usize>| {
        let p = &p;
        async move {
            p.agreed(&order, grace, |c| c.get_block_info(HEAD), |blk| blk.id)
                .await
        }
    };
    let got = read(vec![0, 1, 2]).await.expect("2 of 3 agree");
    assert_eq!(got.value.id.to_string(), block_id(HEAD, 0, u32::MAX));
    assert_eq!(got.members, vec![0, 2]);
    assert_eq!(got.outliers.len(), 1);
    assert!(liar
        .url
        .starts_with(got.outliers[0].0.trim_end_matches('/')));
    // Only the liar and one honest endpoint to ask: no majority of 3 configured.
    let err = read(vec![0, 1]).await.unwrap_err();
    assert!(err.detail.contains("no 2 of 3"), "{}", err.detail);
    // One endpoint alone is never a majority of three.
    assert!(read(vec![1]).await.is_err());
}
