//! `eosio.msig` on the simulated node: k-of-n observers propose, approve and execute the key
//! switch through the contract; every refusal carries the real contract's message and
//! nodeos' error code, and the tables read back as a real node serves them
//! (`fixtures/msig/`, recorded from a real nodeos v4.1 with the real contract).

use crate::sim_common;

use bp_failover::antelope::msig::{self, Approvals, Incident, Proposal};
use bp_failover::antelope::{
    Action, Name, PermissionLevel, PrivateKey, TimePoint, TimePointSec, Transaction,
};
use bp_failover::sim::chain::derive_key;
use bp_failover::sim::network::Network;
use serde_json::{json, Value};
use sim_common::*;

const OBSERVERS: [&str; 3] = ["obs1", "obs2", "obs3"];

fn name(s: &str) -> Name {
    Name::literal(s)
}

fn active(actor: &str) -> PermissionLevel {
    PermissionLevel {
        actor: name(actor),
        permission: name("active"),
    }
}

fn obs_key(i: usize) -> PrivateKey {
    derive_key("sim_msig", OBSERVERS[i])
}

fn fixture(file: &str) -> Value {
    let path = format!("{}/fixtures/msig/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A network whose `OUR@failover` is 2-of-3 over obs1..3@active.
async fn start_2_of_3() -> (Network, String) {
    let net = start(4, 1).await;
    net.with_chain_mut(|c| {
        let observers: Vec<_> = (0..3)
            .map(|i| (name(OBSERVERS[i]), obs_key(i).public_key()))
            .collect();
        c.state_mut()
            .set_msig_observers(name(OUR), name("failover"), 2, &observers, TimePoint(0))
            .unwrap();
    });
    let url = net.endpoint_urls()[0].clone();
    (net, url)
}

/// The key switch every test proposes: regproducer to the backup key by OUR@failover,
/// expiring `secs` after head.
async fn proposed(net: &Network, url: &str, secs: u32) -> Transaction {
    let (_, _, head) = tapos(url).await;
    let actions = switch_to(net, "backup")
        .actions(bp_failover::antelope::abi::eosio_system_abi())
        .unwrap();
    msig::proposed_transaction(TimePointSec::from_unix_secs(head + secs), actions)
}

/// Pushes `actions` signed by observer `i`; returns status and body.
async fn push_as(url: &str, i: usize, actions: Vec<Action>) -> (u16, Value) {
    let (chain_id, lib, head) = tapos(url).await;
    let tx = Transaction::new(&lib, TimePointSec::from_unix_secs(head + 60), actions);
    let packed = sign(&tx, &chain_id, &obs_key(i));
    post(url, "push_transaction", body(&packed)).await
}

fn assert_refused(r: &(u16, Value), code: i64, message: &str) {
    assert_eq!(r.0, 500, "{}", r.1);
    assert_eq!(error_code(&r.1).0, code, "{}", r.1);
    let details = r.1["error"]["details"][0]["message"].as_str().unwrap_or("");
    assert!(details.contains(message), "{details:?} lacks {message:?}");
}

async fn rows(url: &str, table: &str, scope: &str, as_json: bool) -> Vec<Value> {
    let (status, v) = post(
        url,
        "get_table_rows",
        json!({"code": "eosio.msig", "scope": scope, "table": table, "json": as_json,
               "limit": 10}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["rows"].as_array().unwrap().clone()
}

fn incident_name(net: &Network) -> Name {
    Incident {
        producer: name(OUR),
        target_key: dc_key(net, "backup"),
        replaced_key: dc_key(net, "primary"),
    }
    .proposal_name()
}

#[tokio::test]
async fn two_of_three_propose_approve_and_exec_switch_the_key_once() {
    let (net, url) = start_2_of_3().await;
    let pname = incident_name(&net);
    let trx = proposed(&net, &url, 3600).await;
    let requested: Vec<_> = OBSERVERS.iter().map(|o| active(o)).collect();
    let propose = msig::propose(active("obs1"), pname, &requested, &trx).unwrap();
    let r = push_as(&url, 0, vec![propose.clone()]).await;
    assert_eq!(r.0, 202, "{}", r.1);

    // The tables, as a real node serves them: the decoded rows have the recorded fields.
    let prow = rows(&url, "proposal", "obs1", true).await;
    assert_eq!(prow.len(), 1);
    let real = fixture("leap41_msig_table_proposal_json.json");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&prow[0]), keys(&real["response"]["rows"][0]));
    let p = Proposal::from_row(&prow[0]).unwrap();
    assert_eq!(p.proposal_name, pname);
    let ours = switch_to(&net, "backup")
        .actions(bp_failover::antelope::abi::eosio_system_abi())
        .unwrap();
    assert_eq!(
        msig::check_proposed(&p.transaction().unwrap(), &ours),
        Ok(())
    );
    let bin = rows(&url, "proposal", "obs1", false).await;
    let decoded = msig::eosio_msig_abi()
        .deserialize_table_row(
            name("proposal"),
            &hex::decode(bin[0].as_str().unwrap()).unwrap(),
        )
        .unwrap();
    assert_eq!(Proposal::from_row(&decoded).unwrap(), p);
    let arow = rows(&url, "approvals2", "obs1", true).await;
    let real = fixture("leap41_msig_table_approvals2_after_propose.json");
    assert_eq!(keys(&arow[0]), keys(&real["response"]["rows"][0]));
    assert_eq!(
        arow[0]["requested_approvals"][0]["time"],
        real["response"]["rows"][0]["requested_approvals"][0]["time"]
    );
    let a = Approvals::from_row(&arow[0]).unwrap();
    assert_eq!(a.requested_approvals.len(), 3);
    assert!(rows(&url, "proposal", "obs2", true).await.is_empty());

    // One approval is not enough to execute.
    let approve1 = msig::approve(name("obs1"), pname, active("obs1"), Some(p.hash())).unwrap();
    assert_eq!(push_as(&url, 0, vec![approve1]).await.0, 202);
    let a = Approvals::from_row(&rows(&url, "approvals2", "obs1", true).await[0]).unwrap();
    assert!(a.has_approved(active("obs1")) && a.is_requested(active("obs2")));
    assert!(a.provided_approvals[0].time > TimePoint(0));
    let exec1 = msig::exec(name("obs1"), pname, active("obs1")).unwrap();
    let r = push_as(&url, 0, vec![exec1]).await;
    assert_refused(&r, 3050003, "transaction authorization failed");
    assert!(net.key_switches().is_empty());

    // The second approval executes in the same transaction.
    let approve2 = msig::approve(name("obs1"), pname, active("obs2"), Some(p.hash())).unwrap();
    let exec2 = msig::exec(name("obs1"), pname, active("obs2")).unwrap();
    let r = push_as(&url, 1, vec![approve2, exec2]).await;
    assert_eq!(r.0, 202, "{}", r.1);
    let switches = net.key_switches();
    assert_eq!(switches.len(), 1);
    assert_eq!(switches[0].datacenter.as_deref(), Some("backup"));
    assert!(switches[0].changed);
    assert!(rows(&url, "proposal", "obs1", true).await.is_empty());
    assert!(rows(&url, "approvals2", "obs1", true).await.is_empty());
    let r = push_as(
        &url,
        2,
        vec![msig::exec(name("obs1"), pname, active("obs3")).unwrap()],
    )
    .await;
    assert_refused(&r, 3050003, "proposal not found");
}

#[tokio::test]
async fn the_contract_refuses_as_the_real_one_does() {
    let (net, url) = start_2_of_3().await;
    let pname = name("switchkey1");
    let trx = proposed(&net, &url, 3600).await;
    let requested: Vec<_> = OBSERVERS.iter().map(|o| active(o)).collect();

    // Requested levels that cannot satisfy OUR@failover (threshold 2).
    let lone = msig::propose(active("obs1"), pname, &[active("obs1")], &trx).unwrap();
    assert_refused(
        &push_as(&url, 0, vec![lone]).await,
        3050003,
        "transaction authorization failed",
    );
    // Proposing for another account needs its authority.
    let theirs = msig::propose(active("obs2"), pname, &requested, &trx).unwrap();
    let mut forged = theirs.clone();
    forged.authorization = vec![active("obs1")];
    assert_refused(
        &push_as(&url, 0, vec![forged]).await,
        3090004,
        "missing authority of obs2",
    );

    let propose = msig::propose(active("obs1"), pname, &requested, &trx).unwrap();
    assert_eq!(push_as(&url, 0, vec![propose]).await.0, 202);
    // The same name again (a different transaction: it expires later).
    let again = msig::propose(
        active("obs1"),
        pname,
        &requested,
        &proposed(&net, &url, 3000).await,
    )
    .unwrap();
    assert_refused(
        &push_as(&url, 0, vec![again]).await,
        3050003,
        "proposal with the same name exists",
    );

    let approve = |who: &str, hash| msig::approve(name("obs1"), pname, active(who), hash).unwrap();
    let zero = Some(bp_failover::antelope::Checksum256([0; 32]));
    assert_refused(
        &push_as(&url, 1, vec![approve("obs2", zero)]).await,
        3230001,
        "hash mismatch",
    );
    assert_eq!(push_as(&url, 1, vec![approve("obs2", None)]).await.0, 202);
    let twice = msig::approve(name("obs1"), pname, active("obs2"), None).unwrap();
    let noop = msig::unapprove(name("obs1"), pname, active("obs3")).unwrap();
    // Two transactions with the same actions differ by TAPOS/expiration only if time moved.
    net.step(1);
    assert_refused(
        &push_as(&url, 1, vec![twice]).await,
        3050003,
        "approval is not on the list of requested approvals",
    );
    assert_refused(
        &push_as(&url, 2, vec![noop]).await,
        3050003,
        "no approval previously granted",
    );
    let missing = msig::approve(name("obs1"), name("nosuchprop"), active("obs3"), None).unwrap();
    assert_refused(
        &push_as(&url, 2, vec![missing]).await,
        3050003,
        "proposal not found",
    );
    // Approving as someone else's level needs that level.
    let mut as_obs3 = approve("obs3", None);
    as_obs3.authorization = vec![active("obs2")];
    assert_refused(
        &push_as(&url, 1, vec![as_obs3]).await,
        3090004,
        "missing authority of obs3/active",
    );

    // obs2 takes its approval back: exec is short again.
    let un = msig::unapprove(name("obs1"), pname, active("obs2")).unwrap();
    assert_eq!(push_as(&url, 1, vec![un]).await.0, 202);
    let a = Approvals::from_row(&rows(&url, "approvals2", "obs1", true).await[0]).unwrap();
    assert!(a.provided_approvals.is_empty() && a.is_requested(active("obs2")));

    // Only the proposer cancels a live proposal.
    let by_obs3 = msig::cancel(name("obs1"), pname, active("obs3")).unwrap();
    assert_refused(
        &push_as(&url, 2, vec![by_obs3]).await,
        3050003,
        "cannot cancel until expiration",
    );
    let by_obs1 = msig::cancel(name("obs1"), pname, active("obs1")).unwrap();
    assert_eq!(push_as(&url, 0, vec![by_obs1]).await.0, 202);
    assert!(rows(&url, "proposal", "obs1", true).await.is_empty());
    assert!(net.key_switches().is_empty());
}

#[tokio::test]
async fn an_expired_proposal_cannot_execute_and_anyone_may_cancel_it() {
    let (net, url) = start_2_of_3().await;
    let pname = name("shortlived");
    let trx = proposed(&net, &url, 5).await;
    let requested: Vec<_> = OBSERVERS.iter().map(|o| active(o)).collect();
    let propose = msig::propose(active("obs1"), pname, &requested, &trx).unwrap();
    assert_eq!(push_as(&url, 0, vec![propose]).await.0, 202);
    for who in ["obs1", "obs2"] {
        let i = OBSERVERS.iter().position(|o| *o == who).unwrap();
        let a = msig::approve(name("obs1"), pname, active(who), None).unwrap();
        assert_eq!(push_as(&url, i, vec![a]).await.0, 202);
    }
    net.step(20); // 10 s: past the proposed transaction's expiration
    let exec = msig::exec(name("obs1"), pname, active("obs3")).unwrap();
    assert_refused(
        &push_as(&url, 2, vec![exec]).await,
        3050003,
        "transaction expired",
    );
    let cancel = msig::cancel(name("obs1"), pname, active("obs3")).unwrap();
    assert_eq!(push_as(&url, 2, vec![cancel]).await.0, 202);
    assert!(rows(&url, "approvals2", "obs1", true).await.is_empty());
    // Proposing an already expired transaction is refused.
    let stale = msig::propose(active("obs1"), pname, &requested, &trx).unwrap();
    assert_refused(
        &push_as(&url, 0, vec![stale]).await,
        3050003,
        "transaction expired",
    );
    assert!(net.key_switches().is_empty());
}

#[tokio::test]
async fn unknown_msig_tables_are_refused() {
    let (_net, url) = start_2_of_3().await;
    let (status, v) = post(
        &url,
        "get_table_rows",
        json!({"code": "eosio.msig", "scope": "obs1", "table": "nosuchtable", "json": true}),
    )
    .await;
    assert_eq!(status, 500, "{v}");
    assert!(v["error"]["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Table nosuchtable is not specified in the ABI"));
}
