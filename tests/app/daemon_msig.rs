//! The daemon in `[msig]` mode on the simulated network: k-of-n observers switch the key
//! through `eosio.msig` (propose, approve, approve + exec), never approve a proposal for
//! anything else, and a restart does not approve twice.

use crate::sim_common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use bp_failover::antelope::msig::{self, Approvals, Incident};
use bp_failover::antelope::{Name, PermissionLevel, PrivateKey, TimePoint, TimePointSec};
use bp_failover::drill::lockstep::Lockstep;
use bp_failover::sim::chain::derive_key;
use serde_json::{json, Value};
use sim_common::observers::{count, scenario, Run};
use sim_common::*;

const OBSERVERS: [&str; 3] = ["obs1", "obs2", "obs3"];

fn obs_key(i: usize) -> PrivateKey {
    derive_key("daemon_msig", OBSERVERS[i])
}

fn active(actor: &str) -> PermissionLevel {
    PermissionLevel {
        actor: Name::literal(actor),
        permission: Name::literal("active"),
    }
}

/// Makes the producer's switching permission 2-of-3 over obs1..3 and every observer of
/// `run` observer `i` with its own key in `[msig]`.
fn make_msig(run: &mut Run) {
    run.net.with_chain_mut(|c| {
        let observers: Vec<_> = (0..3)
            .map(|i| (Name::literal(OBSERVERS[i]), obs_key(i).public_key()))
            .collect();
        let perm = c.spec().failover_permission;
        c.state_mut()
            .set_msig_observers(Name::literal(OUR), perm, 2, &observers, TimePoint(0))
            .unwrap();
    });
    for (i, observer) in OBSERVERS.iter().enumerate().take(run.observers.len()) {
        run.reconfigure(i, |dir: &Path, text: String| {
            let key_line = text
                .lines()
                .find(|l| l.starts_with("key_file"))
                .expect("the rendered config has a key_file")
                .to_string();
            let key = dir.join("observer.key");
            std::fs::write(&key, format!("{}\n", obs_key(i).to_wif_string().as_str())).unwrap();
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
            // The harness starts the daemon with the key in failover.key.
            std::fs::write(
                dir.join("failover.key"),
                format!("{}\n", obs_key(i).to_wif_string().as_str()),
            )
            .unwrap();
            format!(
                "{}\n[msig]\nobserver = \"{}@active\"\nkey_file = \"{}\"\nthreshold = 2\nobservers = [\"obs1@active\", \"obs2@active\", \"obs3@active\"]\n",
                text.replace(&format!("{key_line}\n"), ""),
                observer,
                key.display()
            )
        });
    }
}

fn incident_name(run: &Run) -> Name {
    Incident {
        producer: Name::literal(OUR),
        target_key: dc_key(&run.net, "backup"),
        replaced_key: dc_key(&run.net, "primary"),
    }
    .proposal_name()
}

async fn approvals(run: &Run, proposer: &str) -> Option<Approvals> {
    let url = run.net.endpoint_urls()[0].clone();
    let (status, v) = post(
        &url,
        "get_table_rows",
        json!({"code": "eosio.msig", "scope": proposer, "table": "approvals2", "json": true,
               "limit": 10}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let name = incident_name(run).to_string();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["proposal_name"] == Value::String(name.clone()))
        .map(|r| Approvals::from_row(r).unwrap())
}

fn all_events(run: &Run) -> Vec<bp_failover::events::Event> {
    run.histories().into_iter().flatten().collect()
}

#[tokio::test]
async fn two_of_three_observers_switch_once_through_exec() {
    let mut run = Run::start(scenario("three-observers", 4)).await;
    make_msig(&mut run);
    run.run_to_end().await;
    run.check();
    assert_eq!(run.key_changes(), ["backup"]);
    let events = all_events(&run);
    let approved: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            bp_failover::events::Event::MsigApproved {
                proposed, executed, ..
            } => Some((*proposed, *executed)),
            _ => None,
        })
        .collect();
    // One observer proposes and approves, the next one's approval is the second and
    // executes; nobody else approves (histories are per observer: sort).
    let mut approved = approved;
    approved.sort();
    assert_eq!(approved, [(false, true), (true, false)], "{approved:?}");
    assert_eq!(count(&events, "msig_proposal_rejected"), 0);
    // Executed: the proposal is gone from the proposer's scope.
    for o in OBSERVERS {
        assert!(
            approvals(&run, o).await.is_none(),
            "{o} still has a proposal"
        );
    }
}

#[tokio::test]
async fn one_observer_alone_proposes_and_approves_but_cannot_switch() {
    let mut run = Run::start(scenario("three-observers", 4)).await;
    make_msig(&mut run);
    run.crash(1);
    run.crash(2);
    run.run_to_end().await;
    assert_eq!(run.key_changes(), Vec::<String>::new());
    let events = run.observers[0].events();
    assert_eq!(count(&events, "msig_approved"), 1);
    let a = approvals(&run, "obs1").await.expect("obs1's proposal");
    assert_eq!(a.provided_approvals.len(), 1);
    assert!(a.has_approved(active("obs1")));
}

#[tokio::test]
async fn a_foreign_proposal_is_reported_and_never_approved() {
    let mut run = Run::start(scenario("three-observers", 4)).await;
    make_msig(&mut run);
    // obs3's key (stolen) proposes, under the incident's name, a switch to its own key.
    propose_foreign(&run, 2).await;
    // obs3 stays down; the honest obs1 and obs2 decide.
    run.crash(2);
    run.run_to_end().await;
    let events = all_events(&run);
    assert!(
        count(&events, "msig_proposal_rejected") >= 2,
        "both honest observers report it"
    );
    let foreign = approvals(&run, "obs3")
        .await
        .expect("the foreign proposal stays");
    assert!(foreign.provided_approvals.is_empty(), "{foreign:?}");
    // The honest observers still agree on their own proposal: the key goes to the backup.
    assert_eq!(run.key_changes(), ["backup"]);
}

/// Observer `i`'s key proposes, under the incident's name in its own scope, a switch to
/// its own key (a key no data center runs).
async fn propose_foreign(run: &Run, i: usize) {
    let url = run.net.endpoint_urls()[0].clone();
    let (chain_id, lib, head) = tapos(&url).await;
    let mut switch = switch_to(&run.net, "backup");
    switch.signing_key = obs_key(i).public_key();
    switch.permission = run.net.with_chain(|c| c.spec().failover_permission);
    let actions = switch
        .actions(bp_failover::antelope::abi::eosio_system_abi())
        .unwrap();
    let trx = msig::proposed_transaction(TimePointSec::from_unix_secs(head + 3600), actions);
    let requested: Vec<_> = OBSERVERS.iter().map(|o| active(o)).collect();
    let propose =
        msig::propose(active(OBSERVERS[i]), incident_name(run), &requested, &trx).unwrap();
    let tx = bp_failover::antelope::Transaction::new(
        &lib,
        TimePointSec::from_unix_secs(head + 60),
        vec![propose],
    );
    let (status, v) = post(
        &url,
        "push_transaction",
        body(&sign(&tx, &chain_id, &obs_key(i))),
    )
    .await;
    assert_eq!(status, 202, "{v}");
}

#[tokio::test]
async fn a_proposal_left_in_our_own_scope_is_cancelled_and_replaced() {
    // Under obs1's own scope and the incident's name: a proposal that is not obs1's switch
    // (its key stolen, or an earlier incident's with another content). obs1 reports it,
    // never approves it, and replaces it (cancel + propose + approve in one transaction).
    let mut run = Run::start(scenario("three-observers", 4)).await;
    make_msig(&mut run);
    propose_foreign(&run, 0).await;
    run.crash(1);
    run.crash(2);
    run.run_until_event(0, "msig_approved", 400).await;
    let events = run.observers[0].events();
    assert!(
        count(&events, "msig_proposal_rejected") >= 1,
        "obs1 reports it"
    );
    assert!(
        events.iter().any(|e| matches!(
            e,
            bp_failover::events::Event::MsigApproved { proposer, proposed: true, .. } if proposer == "obs1"
        )),
        "obs1 proposed its own in place of it"
    );
    let a = approvals(&run, "obs1").await.expect("obs1's proposal");
    assert!(a.has_approved(active("obs1")), "{a:?}");
    // obs2 joins: it approves obs1's new proposal, which executes.
    run.restart(1);
    run.run_until(600, |r| !r.key_changes().is_empty()).await;
    assert_eq!(run.key_changes(), ["backup"]);
    assert_eq!(
        count(&run.observers[1].events(), "msig_proposal_rejected"),
        0
    );
    for o in OBSERVERS {
        assert!(approvals(&run, o).await.is_none(), "{o} holds a proposal");
    }
}

#[tokio::test]
async fn a_restart_after_approving_does_not_approve_again() {
    let mut run = Run::start(scenario("three-observers", 4)).await;
    make_msig(&mut run);
    run.crash(1);
    run.crash(2);
    run.run_until_event(0, "msig_approved", 400).await;
    let state = run.observers[0].state_on_disk().expect("state file reads");
    let rec = state.msig.clone().expect("the proposal is recorded");
    assert!(rec.approved && rec.ours, "{rec:?}");
    assert!(state.pending.is_some());
    run.restart(0);
    let slot = run.slot();
    run.run_until(60, |r| r.slot() > slot + 50).await;
    assert_eq!(count(&run.observers[0].events(), "msig_approved"), 1);
    assert_eq!(count(&run.observers[0].events(), "transaction_failed"), 0);
    let a = approvals(&run, "obs1").await.expect("obs1's proposal");
    assert_eq!(a.provided_approvals.len(), 1);
    // obs2 comes back: its approval is the second and executes.
    run.restart(1);
    run.run_until(400, |r| !r.key_changes().is_empty()).await;
    assert_eq!(run.key_changes(), ["backup"]);
}

#[tokio::test]
async fn a_dry_run_shows_the_proposal_and_pushes_nothing() {
    let opts = bp_failover::daemon::Options {
        dry_run: true,
        ..Default::default()
    };
    let mut run = Run::start_with(scenario("three-observers", 4), opts).await;
    make_msig(&mut run);
    run.crash(1);
    run.crash(2);
    run.run_until_event(0, "dry_run_transaction", 400).await;
    let events = run.observers[0].events();
    let validation = events
        .iter()
        .find_map(|e| match e {
            bp_failover::events::Event::DryRunTransaction { validation, .. } => {
                Some(validation.clone())
            }
            _ => None,
        })
        .unwrap();
    assert!(
        validation.contains("[msig] would propose obs1/")
            && validation.contains("1 of 2 approvals"),
        "{validation}"
    );
    assert_eq!(count(&events, "msig_approved"), 0);
    assert!(approvals(&run, "obs1").await.is_none(), "nothing proposed");
    assert_eq!(run.key_changes(), Vec::<String>::new());
}

#[tokio::test]
async fn an_unrelated_schedule_change_between_two_decisions_keeps_one_proposal() {
    let mut run = Run::start(scenario("three-observers", 4)).await;
    make_msig(&mut run);
    // A: obs1 alone decides, proposes and approves.
    run.crash(1);
    run.crash(2);
    run.run_until_event(0, "msig_approved", 400).await;
    let version = |run: &Lockstep| run.net.with_chain(|c| c.schedules().active.version);
    let before = version(&run);
    // Another producer re-registers with a new key: a new schedule becomes active.
    run.net.with_chain_mut(|c| {
        let other = c.spec().producers[0];
        assert_ne!(other, c.our_producer());
        c.rekey_producer(other, derive_key("daemon_msig", "rekeyed"));
    });
    let changed = run.run_until(600, |r| version(r) > before).await;
    assert!(changed, "the unrelated schedule change never became active");
    assert!(
        run.key_changes().is_empty(),
        "one approval switched the key"
    );
    // B: obs2 decides under the new schedule version and approves A's proposal.
    run.restart(1);
    run.run_until(600, |r| !r.key_changes().is_empty()).await;
    assert_eq!(run.key_changes(), ["backup"]);
    let slot = run.slot();
    run.run_until(60, |r| r.slot() > slot + 40).await;
    assert_eq!(run.key_changes(), ["backup"]);
    let b = run.observers[1].events();
    let approved: Vec<_> = b
        .iter()
        .filter_map(|e| match e {
            bp_failover::events::Event::MsigApproved {
                proposer,
                proposed,
                executed,
                ..
            } => Some((proposer.clone(), *proposed, *executed)),
            _ => None,
        })
        .collect();
    assert_eq!(
        approved,
        [("obs1".to_string(), false, true)],
        "{approved:?}"
    );
    // Exactly one proposal was ever made (obs2's scope holds none), and it was executed.
    for o in OBSERVERS {
        assert!(approvals(&run, o).await.is_none(), "{o} holds a proposal");
    }
    assert_eq!(count(&all_events(&run), "msig_proposal_rejected"), 0);
}
