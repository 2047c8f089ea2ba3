//! Lying endpoints: the real daemon on the simulated network (real HTTP on 127.0.0.1),
//! with one of three, or two of five, configured endpoints answering `get_info` honestly
//! (so they count as agreeing) and lying in one way (`sim::Lie`).
//!
//! For every lie: a healthy producer is never switched, a real outage of the primary still
//! fails over to the backup exactly once, and (where the lie is visible in an answer) an
//! event names the liar. Outcomes are judged on the simulated chain (its key changes),
//! not from the observer's log alone.

use crate::sim_common;

use std::time::Duration;

use bp_failover::events::{Event, SuppressReason};
use bp_failover::sim::{Behavior, Lie};
use sim_common::observers::{scenario, Run};

/// The lies, given the run (some need the chain's keys or names).
fn lies(run: &Run) -> Vec<(&'static str, Lie, bool)> {
    let backup_key = run.net.with_chain(|c| {
        let i = c.datacenter_index("backup").expect("a backup data center");
        c.datacenters()[i].public_key().to_legacy_string()
    });
    let ours = run.net.with_chain(|c| c.our_producer());
    // (name, lie, whether an event must name the liar)
    vec![
        ("low head", Lie::LowHead(1000), true),
        ("old head, fresh timestamp", Lie::OldHead(100), true),
        (
            "producers row holds the backup key",
            Lie::ProducerKey(backup_key),
            true,
        ),
        ("schedule without us", Lie::ScheduleWithout(ours), true),
        ("wrong ABI", Lie::WrongAbi, true),
        ("acknowledges pushes and drops them", Lie::DropPushes, false),
        (
            "our blocks served as another producer's",
            Lie::HideProducer(ours),
            true,
        ),
        (
            "our blocks dated a turn later, ids and links kept",
            Lie::SkipSlots(ours),
            true,
        ),
        ("blocks that do not link", Lie::Unlinked, true),
    ]
}

/// Starts `name` with `endpoints` endpoints, the last `liars` of them telling lie `k`.
async fn start(name: &str, endpoints: usize, liars: usize, k: usize) -> (Run, &'static str, bool) {
    let mut s = scenario(name, 4);
    s.spec.endpoints = vec![Behavior::Normal; endpoints];
    let run = Run::start(s).await;
    let (what, lie, named) = lies(&run).swap_remove(k);
    for i in endpoints - liars..endpoints {
        run.net.set_endpoint(i, Behavior::Lie(lie.clone()));
    }
    (run, what, named)
}

/// Endpoints named by an `endpoint_disagrees` or `endpoint_unhealthy` event.
fn named(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::EndpointDisagrees { endpoint, .. }
            | Event::EndpointUnhealthy { endpoint, .. } => Some(endpoint.clone()),
            _ => None,
        })
        .collect()
}

fn liar_urls(run: &Run, liars: usize) -> Vec<String> {
    let urls = run.net.endpoint_urls();
    urls[urls.len() - liars..].to_vec()
}

fn assert_names_liars(run: &Run, liars: usize, what: &str) {
    let said = named(&run.observers[0].events());
    for url in liar_urls(run, liars) {
        assert!(
            said.iter()
                .any(|e| url.starts_with(e.trim_end_matches('/')) || e.starts_with(&url)),
            "{what}: no event names the liar {url}: {said:?}"
        );
    }
    // And no honest endpoint is accused of disagreeing.
    let honest: Vec<String> =
        run.net.endpoint_urls()[..run.net.endpoint_urls().len() - liars].to_vec();
    for e in run.observers[0].events() {
        if let Event::EndpointDisagrees { endpoint, .. } = e {
            assert!(
                !honest
                    .iter()
                    .any(|h| h.starts_with(endpoint.trim_end_matches('/'))),
                "{what}: honest endpoint {endpoint} reported as disagreeing"
            );
        }
    }
}

/// A healthy producer with liars among the endpoints: no key change on chain.
async fn healthy_with(endpoints: usize, liars: usize) {
    let n = {
        let run = Run::start(scenario("healthy", 4)).await;
        lies(&run).len()
    };
    for k in 0..n {
        let (mut run, what, must_name) = start("healthy", endpoints, liars, k).await;
        run.run_to_end().await;
        assert!(
            run.key_changes().is_empty(),
            "{what}: a healthy producer was switched: {:?}",
            run.key_changes()
        );
        assert_eq!(run.net.push_requests(), 0, "{what}: something was pushed");
        let switches = run.observers[0]
            .state_on_disk()
            .expect("state file reads")
            .switches;
        assert!(
            switches.is_empty(),
            "{what}: switches recorded: {switches:?}"
        );
        if must_name {
            assert_names_liars(&run, liars, what);
        }
    }
}

/// The primary really goes down with liars among the endpoints: exactly one switch, to
/// the backup, on chain.
async fn outage_with(endpoints: usize, liars: usize) {
    let n = {
        let run = Run::start(scenario("primary-down", 4)).await;
        lies(&run).len()
    };
    for k in 0..n {
        let (mut run, what, _) = start("primary-down", endpoints, liars, k).await;
        run.run_to_end().await;
        assert_eq!(
            run.key_changes(),
            ["backup"],
            "{what}: the failover did not happen exactly once"
        );
    }
}

#[tokio::test]
async fn one_liar_of_three_never_switches_a_healthy_producer() {
    healthy_with(3, 1).await;
}

#[tokio::test]
async fn one_liar_of_three_does_not_block_a_real_failover() {
    outage_with(3, 1).await;
}

#[tokio::test]
async fn two_liars_of_five_never_switch_a_healthy_producer() {
    healthy_with(5, 2).await;
}

#[tokio::test]
async fn two_liars_of_five_do_not_block_a_real_failover() {
    outage_with(5, 2).await;
}

/// Every configured endpoint is needed to see the head and one serves the producers row
/// with the backup key: no majority on the row, so no phantom switch is recorded.
#[tokio::test]
async fn a_lying_row_without_a_majority_records_nothing() {
    let mut s = scenario("healthy", 4);
    s.spec.endpoints = vec![Behavior::Normal; 3];
    let mut run = Run::start(s).await;
    let backup_key = run.net.with_chain(|c| {
        let i = c.datacenter_index("backup").unwrap();
        c.datacenters()[i].public_key().to_legacy_string()
    });
    run.net.set_endpoint(1, Behavior::Down);
    run.net
        .set_endpoint(2, Behavior::Lie(Lie::ProducerKey(backup_key)));
    run.run_to_end().await;
    assert!(run.key_changes().is_empty());
    assert!(run.observers[0]
        .state_on_disk()
        .expect("state file reads")
        .switches
        .is_empty());
    let events = run.observers[0].events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::FailoverSuppressed { reason, .. } if *reason == SuppressReason::AlreadySwitched)),
        "a phantom switch was believed"
    );
}

/// One endpoint answers `get_info` at once and everything else 2 s late: the failover
/// still happens, once.
#[tokio::test]
async fn fast_get_info_slow_reads_do_not_block_a_failover() {
    let mut s = scenario("primary-down", 4);
    s.spec.endpoints = vec![Behavior::Normal; 3];
    let mut run = Run::start(s).await;
    run.net.set_endpoint(
        0,
        Behavior::Lie(Lie::SlowReads(Duration::from_millis(2_000))),
    );
    run.run_to_end().await;
    assert_eq!(run.key_changes(), ["backup"]);
}

/// The only configured endpoint splices our blocks a turn later (real ids and links): its
/// headers do not hash to the ids it vouches for, so they are never believed and the
/// healthy producer is never switched.
#[tokio::test]
async fn a_single_endpoint_splicing_blocks_switches_nothing() {
    let mut s = scenario("healthy", 4);
    s.spec.endpoints = vec![Behavior::Normal; 1];
    let mut run = Run::start(s).await;
    let ours = run.net.with_chain(|c| c.our_producer());
    run.net.set_endpoint(0, Behavior::Lie(Lie::SkipSlots(ours)));
    run.run_to_end().await;
    assert!(run.key_changes().is_empty(), "{:?}", run.key_changes());
    assert_eq!(run.net.push_requests(), 0);
    assert_names_liars(&run, 1, "single splicing endpoint");
}

/// Endpoints that acknowledge pushes (HTTP 200 with a transaction id) and drop them, 1 of
/// 3 and 2 of 5, during a real outage: the switch lands once through the honest ones, and
/// once it is on chain an `endpoint_disagrees` about `push` names each dropper, and no
/// honest endpoint.
#[tokio::test]
async fn endpoints_that_acknowledge_and_drop_pushes_are_named() {
    for (endpoints, liars) in [(3, 1), (5, 2)] {
        let mut s = scenario("primary-down", 4);
        s.spec.endpoints = vec![Behavior::Normal; endpoints];
        let mut run = Run::start(s).await;
        for i in endpoints - liars..endpoints {
            run.net.set_endpoint(i, Behavior::Lie(Lie::DropPushes));
        }
        run.run_to_end().await;
        assert_eq!(run.key_changes(), ["backup"], "{liars} of {endpoints}");
        let about_push: Vec<String> = run.observers[0]
            .events()
            .into_iter()
            .filter_map(|e| match e {
                Event::EndpointDisagrees {
                    endpoint, about, ..
                } if about == "push" => Some(endpoint),
                _ => None,
            })
            .collect();
        let urls = run.net.endpoint_urls();
        let is = |url: &String, e: &String| url.starts_with(e.trim_end_matches('/'));
        for liar in &urls[endpoints - liars..] {
            assert!(
                about_push.iter().any(|e| is(liar, e)),
                "{liars} of {endpoints}: the dropper {liar} is not named: {about_push:?}"
            );
        }
        for honest in &urls[..endpoints - liars] {
            assert!(
                !about_push.iter().any(|e| is(honest, e)),
                "{liars} of {endpoints}: honest {honest} named as dropping pushes: {about_push:?}"
            );
        }
        assert_eq!(about_push.len(), liars, "{about_push:?}");
    }
}

/// Endpoint 0 answers `get_info` at once and every other read 400 ms late; the two others
/// answer everything 30 ms late (so by `get_info` latency endpoint 0 is the fastest):
/// ordered by read latency, it ends last, and it is not the first asked for blocks.
#[tokio::test]
async fn an_endpoint_fast_on_get_info_and_slow_on_reads_is_read_last() {
    let mut s = scenario("healthy", 4);
    s.spec.endpoints = vec![Behavior::Normal; 3];
    let mut run = Run::start(s).await;
    run.net
        .set_endpoint(0, Behavior::Lie(Lie::SlowReads(Duration::from_millis(400))));
    for i in [1, 2] {
        run.net
            .set_endpoint(i, Behavior::Slow(Duration::from_millis(30)));
    }
    for _ in 0..24 {
        run.step().await;
    }
    let blocks_before: Vec<u64> = (0..3).map(|i| run.net.requests(i, "get_block")).collect();
    for _ in 0..24 {
        run.step().await;
    }
    let order = run.observers[0]
        .daemon()
        .expect("observer 0 runs")
        .read_order();
    assert_eq!(order.len(), 3, "{order:?}");
    assert_eq!(order.last(), Some(&0), "read order {order:?}");
    let blocks: Vec<u64> = (0..3)
        .map(|i| run.net.requests(i, "get_block") - blocks_before[i])
        .collect();
    // 24 new blocks: the honest endpoints take them; the slow one at most a stray one.
    assert!(
        blocks[0] * 4 < blocks[1] + blocks[2],
        "block reads per endpoint: {blocks:?}"
    );
}

/// Endpoint 0 answers `get_info` at once and hangs on every other call (beyond the 1.5 s
/// request timeout): no round after the first takes more than one and a half request
/// timeouts (they take milliseconds: the probe stage has a deadline, state reads close
/// after a majority, block and single reads are hedged, and the endpoint soon reads last),
/// and the healthy producer is left alone.
#[tokio::test]
async fn an_endpoint_hanging_on_every_read_never_stalls_a_round() {
    const REQUEST_TIMEOUT: Duration = Duration::from_millis(1_500);
    let mut s = scenario("healthy", 4);
    s.spec.endpoints = vec![Behavior::Normal; 3];
    let mut run = Run::start(s).await;
    run.net
        .set_endpoint(0, Behavior::Lie(Lie::SlowReads(Duration::from_secs(60))));
    let mut took = Vec::new();
    for _ in 0..40 {
        let t = std::time::Instant::now();
        run.step().await;
        took.push(t.elapsed());
    }
    // The first round backfills 600 blocks (CPU, not waiting): left out.
    let worst = took[1..].iter().max().copied().unwrap_or_default();
    assert!(
        worst < REQUEST_TIMEOUT * 3 / 2,
        "a round took {worst:?} (request timeout {REQUEST_TIMEOUT:?}); all: {took:?}"
    );
    assert!(run.key_changes().is_empty());
    assert_eq!(run.net.push_requests(), 0);
}

/// Every endpoint acknowledges the first push of a transaction and drops it (a node that
/// lost it on its way): the daemon pushes the same signed transaction again while it is
/// not on chain and not expired, and the switch lands once, with the first transaction.
#[tokio::test]
async fn a_push_every_endpoint_dropped_is_pushed_again_before_expiry() {
    let mut s = scenario("primary-down", 4);
    s.spec.endpoints = vec![Behavior::Lie(Lie::DropFirstPush); 3];
    let mut run = Run::start(s).await;
    run.run_to_end().await;
    assert_eq!(run.key_changes(), ["backup"]);
    let pushed: Vec<String> = run.observers[0]
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::TransactionPushed { id, .. } => Some(id.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        pushed.len(),
        1,
        "one transaction built and signed: {pushed:?}"
    );
}
