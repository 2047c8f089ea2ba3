//! The drill's k-of-n scenarios (`msig-*`) with the real daemon on the simulated network,
//! 4 producers: judged on the chain (key switches, the proposals and approvals left in
//! `eosio.msig`'s tables) and on the observers' events, as `drill` judges them.

use crate::sim_common;

use bp_failover::drill::scenario::{self, Params};
use sim_common::observers::{count, scenario, Run};

async fn run(name: &str) -> Run {
    let mut run = Run::start(scenario(name, 4)).await;
    run.run_to_end().await;
    run.check();
    run
}

fn all_events(run: &Run) -> Vec<bp_failover::events::Event> {
    run.histories().into_iter().flatten().collect()
}

#[test]
fn every_msig_scenario_is_two_of_three() {
    let params = Params {
        producers: 4,
        ..Params::default()
    };
    let names: Vec<_> = scenario::list()
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("msig-"))
        .collect();
    assert_eq!(
        names,
        [
            "msig-one-observer",
            "msig-two-of-three",
            "msig-confused-observer",
            "msig-foreign-proposal"
        ]
    );
    for n in names {
        let s = scenario::builtin(n, &params).unwrap();
        let m = s.msig.as_ref().expect("k-of-n");
        assert_eq!((m.threshold, s.observers), (2, 3), "{n}");
    }
}

#[tokio::test]
async fn one_observer_alone_cannot_switch() {
    let run = run("msig-one-observer").await;
    assert_eq!(run.observers.len(), 1);
    assert!(run.key_changes().is_empty());
    assert_eq!(count(&all_events(&run), "msig_approved"), 1);
}

#[tokio::test]
async fn two_of_three_agree_and_switch_exactly_once() {
    let run = run("msig-two-of-three").await;
    assert_eq!(run.key_changes(), ["backup"]);
    let events = all_events(&run);
    assert_eq!(count(&events, "msig_approved"), 2);
    assert_eq!(count(&events, "msig_proposal_rejected"), 0);
}

#[tokio::test]
async fn a_confused_observers_approval_is_never_joined() {
    let run = run("msig-confused-observer").await;
    assert_eq!(run.observers.len(), 3);
    assert!(run.key_changes().is_empty());
    let events = all_events(&run);
    assert_eq!(count(&events, "msig_approved"), 0);
    assert_eq!(count(&events, "failover_triggered"), 0);
}

#[tokio::test]
async fn a_foreign_proposal_is_reported_and_the_switch_goes_to_the_backup() {
    let run = run("msig-foreign-proposal").await;
    assert_eq!(run.observers.len(), 2);
    assert_eq!(run.key_changes(), ["backup"]);
    assert!(count(&all_events(&run), "msig_proposal_rejected") >= 1);
}

/// The chain-side judgement can fail: the same run judged against another expectation of
/// what is left in eosio.msig's tables.
#[tokio::test]
async fn the_proposals_left_on_chain_are_judged() {
    let mut run = run("msig-one-observer").await;
    if let Some(m) = &mut run.scenario.msig {
        m.left.clear();
    }
    let err = run.scenario.check(&run.net).unwrap_err();
    assert!(err.contains("(\"obs1\", 1)"), "{err}");
}
