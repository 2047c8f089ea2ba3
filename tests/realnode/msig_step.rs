// Included by tests/realnode.rs: k-of-n observers through the real eosio.msig.

use serde_json::{json, Value};

const OBSERVERS: [&str; 3] = ["obs1", "obs2", "obs3"];

/// Observer `i`'s config: the network's, its own key in `[msig]`, none in `[producer]`.
fn msig_config(net: &Net, i: usize, private: &str) -> std::path::PathBuf {
    let dir = net.path().join(OBSERVERS[i]);
    let base = net.write_config(&dir, "unused", "");
    let text = std::fs::read_to_string(&base).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("key_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    let key = dir.join("observer.key");
    std::fs::write(&key, format!("{private}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let _ = std::fs::remove_file(dir.join("failover.key"));
    let text = format!(
        "{text}\n[msig]\nobserver = \"{}@active\"\nkey_file = \"{}\"\nthreshold = 2\nobservers = [\"obs1@active\", \"obs2@active\", \"obs3@active\"]\n",
        OBSERVERS[i],
        key.display()
    );
    std::fs::write(&base, text).unwrap();
    base
}

fn proposals(net: &Net, proposer: &str) -> Vec<Value> {
    net.post(
        "api1",
        "/v1/chain/get_table_rows",
        json!({"json": true, "code": "eosio.msig", "scope": proposer, "table": "proposal", "limit": 10}),
    )["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn approvals(net: &Net, proposer: &str) -> Vec<Value> {
    net.post(
        "api1",
        "/v1/chain/get_table_rows",
        json!({"json": true, "code": "eosio.msig", "scope": proposer, "table": "approvals2", "limit": 10}),
    )["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The actors of the provided approvals of a row of `approvals2`.
fn approvers(row: &Value) -> Vec<String> {
    row["provided_approvals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["level"]["actor"].as_str().map(String::from))
        .collect()
}

/// The first block `from..` on api1 with an `eosio.msig::exec`.
fn exec_block(net: &Net, from: u32) -> Option<u32> {
    net.blocks("api1", from, net.head("api1"))
        .into_iter()
        .find(|b| {
            b.actions
                .iter()
                .any(|(acct, name, _)| acct == "eosio.msig" && name == "exec")
        })
        .map(|b| b.num)
}

/// Returns the blocks from the head when obs2's approval was pushed to the block with the
/// exec, and from that block to the first head that showed the row with the new key.
fn msig_scenario(net: &Net) -> (u32, u32) {
    log("msig: observers obs1..obs3, ourbp@failover = 2 of 3");
    let mut keys = Vec::new();
    for obs in OBSERVERS {
        let out = net.cleos(&["create", "key", "--to-console"]);
        let private = out.split("Private key:").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
        let public = out.split("Public key:").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
        net.cleos(&["wallet", "import", "--private-key", &private]);
        net.cleos_tx(&[
            "system", "newaccount", "eosio", obs, &public, &public, "--stake-net", "10.0000 EOS",
            "--stake-cpu", "10.0000 EOS", "--buy-ram-kbytes", "256", "--transfer",
        ]);
        keys.push(private);
    }
    let cfgs: Vec<_> = (0..3).map(|i| msig_config(net, i, &keys[i])).collect();
    // `check` names what is missing and prints the cleos fixes: run them until it passes.
    for cfg in &cfgs {
        for _ in 0..4 {
            let out = bp(cfg, &["check"]);
            if out.status.success() {
                break;
            }
            let (failed, fixes) = check_failures(&out);
            log(format!("msig check fails {failed:?}; running {} fix(es)", fixes.len()));
            assert!(!fixes.is_empty(), "check fails with no cleos fix:\n{}", text(&out));
            for fix in fixes {
                net.until_in_block(&fix, || net.run_printed_cleos(&fix));
            }
        }
        check_passes(cfg, "after the msig setup");
    }

    let current = net.producers_row()["producer_key"].as_str().unwrap().to_string();
    let (to, key) = if current == net.pub_key("primary") {
        ("backup", net.pub_key("backup"))
    } else {
        ("primary", net.pub_key("primary"))
    };
    wait_for("the current key to be active", Duration::from_secs(300), || {
        (net.active_key("api1").as_deref() == Some(current.as_str())).then_some(())
    });

    // A: obs1 alone proposes and approves; the key stays.
    let from = net.head("api1");
    let out = bp(&cfgs[0], &["failover", "--to", to, "--yes", "--json"]);
    assert!(out.status.success(), "obs1 failover:\n{}", text(&out));
    let p = wait_for("obs1's proposal on chain", Duration::from_secs(30), || {
        let p = proposals(net, "obs1");
        (!p.is_empty()).then_some(p)
    });
    assert_eq!(p.len(), 1, "{p:?}");
    let a = approvals(net, "obs1");
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(approvers(&a[0]), ["obs1"], "{a:?}");
    let h = net.head("node_a") + 6;
    wait_for("6 more blocks", Duration::from_secs(30), || {
        (["api1", "api2", "api3"].iter().all(|n| net.head(n) >= h)).then_some(())
    });
    assert_eq!(net.producers_row()["producer_key"], current.as_str());
    assert_no_switch(net, from, "one observer's approval");

    // B: obs2's approval executes it: the row holds the new key, the proposal is gone.
    let from = net.head("api1");
    let out = bp(&cfgs[1], &["failover", "--to", to, "--yes", "--json"]);
    assert!(out.status.success(), "obs2 failover:\n{}", text(&out));
    let seen = wait_for("the new key in the row", Duration::from_secs(60), || {
        let before = net.head("api1");
        (net.producers_row()["producer_key"] == key.as_str()).then_some(before)
    });
    let exec = wait_for("the exec in a block", Duration::from_secs(30), || exec_block(net, from));
    assert!(proposals(net, "obs1").is_empty(), "the proposal is still there");
    let h = net.head("node_a") + 6;
    wait_for("6 more blocks", Duration::from_secs(30), || {
        (["api1", "api2", "api3"].iter().all(|n| net.head(n) >= h)).then_some(())
    });
    let execs: Vec<_> = net
        .blocks("api1", from, net.head("api1"))
        .into_iter()
        .filter(|b| b.actions.iter().any(|(a, n, _)| a == "eosio.msig" && n == "exec"))
        .collect();
    assert_eq!(execs.len(), 1, "one exec expected");
    assert_eq!(net.producers_row()["producer_key"], key.as_str());
    (exec.saturating_sub(from), seen.saturating_sub(exec))
}

/// The incident's proposal name for a switch of our producer from the row's key to `to`,
/// as every observer derives it.
fn incident_name(net: &Net, to: &str) -> String {
    let replaced = net.producers_row()["producer_key"]
        .as_str()
        .unwrap()
        .to_string();
    bp_failover::antelope::msig::Incident {
        producer: net.producer().parse().unwrap(),
        target_key: to.parse().unwrap(),
        replaced_key: replaced.parse().unwrap(),
    }
    .proposal_name()
    .to_string()
}

/// `proposer`'s key (stolen) proposes with cleos, under `name`, a regproducer of our
/// producer (url and location unchanged) to a key no data center runs, expiring in an
/// hour, and approves it. Returns that key.
fn propose_foreign(net: &Net, proposer: &str, name: &str) -> String {
    let foreign = bp_failover::antelope::PrivateKey::generate()
        .public_key()
        .to_legacy_string();
    let requested = json!(OBSERVERS.map(|o| json!({"actor": o, "permission": "active"})));
    let trx_perms = json!([{"actor": net.producer(), "permission": "failover"}]);
    let data = json!({"producer": net.producer(), "producer_key": foreign,
                      "url": net.url(), "location": net.location()});
    let auth = format!("{proposer}@active");
    net.cleos_tx(&[
        "multisig", "propose", name, &requested.to_string(), &trx_perms.to_string(), "eosio",
        "regproducer", &data.to_string(), proposer, "1", "-p", &auth,
    ]);
    let level = json!({"actor": proposer, "permission": "active"}).to_string();
    net.cleos_tx(&["multisig", "approve", proposer, name, &level, "-p", &auth]);
    log(format!("msig: {proposer}'s key proposed {proposer}/{name}: our producer to the foreign key {foreign}"));
    foreign
}

/// Whether the proposal `row` (of the `proposal` table) registers `key`.
fn proposes_key(row: &Value, key: &str) -> bool {
    let key: bp_failover::antelope::PublicKey = key.parse().unwrap();
    let trx = bp_failover::antelope::msig::Proposal::from_row(row)
        .unwrap()
        .transaction()
        .unwrap();
    trx.actions
        .iter()
        .any(|a| a.data.windows(33).any(|w| w == key.as_bytes()))
}

/// The `msig_proposal_rejected` events of a daemon about `proposer`'s proposal.
fn rejected_of(events: &[Value], proposer: &str) -> usize {
    events
        .iter()
        .filter(|e| e["event"] == "msig_proposal_rejected" && e["proposer"] == proposer)
        .count()
}

/// The daemons, all judged from the chain.
///
/// A, 2-of-3: obs3's key proposes (and approves) a foreign key under the incident's name;
/// obs1's and obs2's daemons watch from the start and the node signing our blocks dies.
/// Exactly one exec switches to the other data center, the foreign proposal gets no other
/// approval, both daemons report it; the blocks lost are measured against the chain's
/// minimum (`outage`, as `primary_down`). The foreign proposal is made while the producer is
/// healthy and judged during the outage: a daemon reads the incident's proposals only when
/// it switches, so the outage is when an approval could happen.
///
/// B, one observer alone: the killed node comes back; obs1's own scope holds a foreign
/// proposal under the next incident's name (its key stolen); only obs1's daemon runs and
/// the node signing our blocks dies: obs1 reports it, cancels it and proposes and approves
/// its own (one transaction), and the key stays.
///
/// Returns A's figures and the blocks from the executing observer's approval to the exec.
fn msig_daemons(net: &Net) -> (Figures, u32) {
    let cfgs: Vec<_> = (0..3)
        .map(|i| net.path().join(OBSERVERS[i]).join("config.toml"))
        .collect();
    let current = net.producers_row()["producer_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (down, up) = if current == net.pub_key("primary") {
        ("primary", "backup")
    } else {
        ("backup", "primary")
    };
    wait_active(net, &current, "the row's key to sign our blocks");

    // A: 2-of-3, with a foreign proposal under the incident's name.
    let name = incident_name(net, &net.pub_key(up));
    let foreign = propose_foreign(net, "obs3", &name);
    let from = net.head("api1");
    // `-v`: `outage` waits for their `round_summary` (debug) events.
    let d1 = Daemon::start_with(&cfgs[0], "msig_obs1.log", &["-v"]);
    let d2 = Daemon::start_with(&cfgs[1], "msig_obs2.log", &["-v"]);
    let (figures, events) = outage(net, vec![d1, d2], down, up, true);
    for (i, ev) in events.iter().enumerate() {
        assert!(
            rejected_of(ev, "obs3") >= 1,
            "{}'s daemon did not report obs3's foreign proposal",
            OBSERVERS[i]
        );
    }
    let foreign_row = approvals(net, "obs3")
        .into_iter()
        .find(|r| r["proposal_name"] == name.as_str())
        .expect("obs3's foreign proposal is still there");
    assert_eq!(approvers(&foreign_row), ["obs3"], "{foreign_row}");
    let p = proposals(net, "obs3");
    assert!(
        p.iter().any(|r| r["proposal_name"] == name.as_str() && proposes_key(r, &foreign)),
        "{p:?}"
    );
    assert_ne!(net.producers_row()["producer_key"], foreign.as_str());
    let exec = exec_block(net, from).unwrap();
    let exec_data = net
        .block("api1", exec)
        .actions
        .into_iter()
        .find(|(a, n, _)| a == "eosio.msig" && n == "exec")
        .unwrap()
        .2;
    assert_ne!(exec_data["proposer"], "obs3", "the foreign proposal executed");
    let executer = exec_data["executer"].as_str().unwrap().to_string();
    // The executer's approval of that proposal (in the exec's block when they share a
    // transaction).
    let approved = net
        .blocks("api1", from, exec)
        .into_iter()
        .filter(|b| {
            b.actions.iter().any(|(a, n, d)| {
                a == "eosio.msig"
                    && n == "approve"
                    && d["level"]["actor"] == executer.as_str()
                    && d["proposer"] == exec_data["proposer"]
                    && d["proposal_name"] == exec_data["proposal_name"]
            })
        })
        .map(|b| b.num)
        .next_back()
        .expect("the executer's approval");
    log(format!(
        "msig 2-of-3 outage: {}/{} executed by {executer} in block {exec} (its approval in block {approved})",
        exec_data["proposer"], exec_data["proposal_name"]
    ));

    // B: one observer alone, its own scope holding a foreign proposal under the name.
    net.start(down);
    wait_for("the restarted node to catch up", Duration::from_secs(180), || {
        let h = net.head("api1");
        net.info(down)
            .and_then(|i| i["head_block_num"].as_u64())
            .is_some_and(|n| n + 2 >= u64::from(h))
            .then_some(())
    });
    let current = net.pub_key(up);
    let name = incident_name(net, &net.pub_key(down));
    let foreign = propose_foreign(net, "obs1", &name);
    let d1 = Daemon::start(&cfgs[0], "msig_obs1_alone.log");
    std::thread::sleep(Duration::from_secs(3));
    let from = net.head("api1");
    net.stop(up);
    d1.wait_event("msig_approved", Duration::from_secs(240));
    let row = wait_for("obs1's own proposal on chain", Duration::from_secs(30), || {
        proposals(net, "obs1")
            .into_iter()
            .find(|r| r["proposal_name"] == name.as_str() && !proposes_key(r, &foreign))
    });
    assert!(proposes_key(&row, &net.pub_key(down)), "{row}");
    let a = approvals(net, "obs1")
        .into_iter()
        .find(|r| r["proposal_name"] == name.as_str())
        .expect("the approvals of obs1's proposal");
    assert_eq!(approvers(&a), ["obs1"], "{a}");
    // The real contract took cancel + propose + approve in one transaction.
    let replaced_in = net
        .blocks("api1", from, net.head("api1"))
        .into_iter()
        .find(|b| {
            let names: Vec<&str> = b
                .actions
                .iter()
                .filter(|(acct, _, d)| acct == "eosio.msig" && d["proposal_name"] == name.as_str())
                .map(|(_, n, _)| n.as_str())
                .collect();
            names == ["cancel", "propose", "approve"]
        })
        .map(|b| b.num);
    assert!(replaced_in.is_some(), "no cancel + propose + approve of {name} in one block");
    let h = net.head("node_a") + 6;
    wait_for("6 more blocks", Duration::from_secs(30), || {
        (["api1", "api2", "api3"].iter().all(|n| net.head(n) >= h)).then_some(())
    });
    assert_eq!(net.producers_row()["producer_key"], current.as_str());
    assert_no_switch(net, from, "obs1's daemon alone");
    let events = d1.events();
    d1.stop();
    assert!(rejected_of(&events, "obs1") >= 1, "obs1's daemon did not report the proposal in its own scope");
    (figures, approved.abs_diff(exec))
}
