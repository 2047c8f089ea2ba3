//! The daemon's edges on the simulated network (real HTTP on 127.0.0.1, chain time as the
//! clock): a shutdown lets the current round finish, and blocks are said to come from the
//! backup only once one signed with its key is on the chain.

use crate::sim_common;

use std::time::Duration;

use bp_failover::daemon::Options;
use bp_failover::events::Event;
use sim_common::observers::{position, scenario, Run};

/// A shutdown requested while the switch is being pushed (its transaction already in the
/// state file, the push under way) does not cut the round short: the push completes and
/// is reported, and the state written says so.
#[tokio::test]
async fn a_shutdown_mid_push_lets_the_round_finish() {
    let opts = Options {
        poll_interval: Duration::from_millis(5),
        ..Options::default()
    };
    let mut run = Run::start_with(scenario("primary-down", 4), opts).await;
    let daemon = run.take_daemon(0).expect("observer 0 runs");
    let state_path = run.observers[0].dir.join("state.json");
    let log = run.observers[0].runs.last().cloned().expect("a run");
    let net = &run.net;
    // Fires as soon as our transaction is in the state file: the push is next.
    let shutdown = async {
        loop {
            let pending = bp_failover::state_file::load(&state_path)
                .ok()
                .and_then(|s| s.pending);
            if pending.is_some_and(|p| p.ours) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    // The chain advances one slot at a time under the running daemon.
    let limit = run.scenario.run_slots;
    let drive = async {
        for _ in 0..limit {
            net.step(1);
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        std::future::pending::<()>().await;
    };
    let ran = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::select! {
            r = daemon.run(shutdown) => r,
            _ = drive => unreachable!(),
        }
    })
    .await
    .expect("the daemon stops within 2 minutes");
    ran.expect("the daemon stops cleanly");
    let events = log.history();
    let pushed = position(&events, "transaction_pushed").unwrap_or_else(|| {
        panic!(
            "the push was cut off: {:?}",
            events.iter().map(Event::name).collect::<Vec<_>>()
        )
    });
    let stopped = position(&events, "observer_stopped").expect("observer_stopped");
    assert!(pushed < stopped);
    assert!(run.net.push_requests() > 0);
    let Event::TransactionPushed { id, .. } = &events[pushed] else {
        unreachable!()
    };
    let pending = run.observers[0]
        .state_on_disk()
        .expect("state file reads")
        .pending
        .expect("the switch in flight is in the state file");
    assert_eq!(pending.tx_id, Some(*id));
}

/// `key_producing` ("blocks now come from backup") follows the confirmation and names a
/// block the backup really signed, the first of ours under its key.
#[tokio::test]
async fn blocks_come_from_the_backup_once_it_has_signed_one() {
    let mut run = Run::start(scenario("primary-down", 4)).await;
    run.run_to_end().await;
    assert_eq!(run.key_changes(), ["backup"]);
    let events = run.observers[0].events();
    let confirmed = position(&events, "key_change_confirmed").expect("confirmed");
    let producing = position(&events, "key_producing").expect("key_producing");
    assert!(confirmed < producing);
    let Event::KeyProducing {
        datacenter,
        block,
        key,
        ..
    } = &events[producing]
    else {
        unreachable!()
    };
    assert_eq!(datacenter, "backup");
    let our = run.scenario.spec.chain.our_producer;
    let (signed_by, signer, earlier_under_key) = run.net.with_chain(|c| {
        let b = c
            .blocks_from(c.oldest().num)
            .find(|b| b.num == *block)
            .expect("the block is on the chain");
        let earlier = c
            .blocks_from(c.oldest().num)
            .filter(|e| e.num < *block && e.producer == our && e.signer == *key)
            .count();
        (b.datacenter, b.signer, earlier)
    });
    assert_eq!(signed_by, Some(1), "signed by the backup's node");
    assert_eq!(signer, *key);
    assert_eq!(earlier_under_key, 0, "the first block under the new key");
    // Said once.
    assert_eq!(
        events
            .iter()
            .filter(|e| e.name() == "key_producing")
            .count(),
        1
    );
}
