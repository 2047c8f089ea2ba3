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

/// The first block `from..` on api1 with `eosio.msig::approve` by `actor`.
fn approve_block(net: &Net, from: u32, actor: &str) -> Option<u32> {
    net.blocks("api1", from, net.head("api1"))
        .into_iter()
        .find(|b| {
            b.actions.iter().any(|(acct, name, data)| {
                acct == "eosio.msig" && name == "approve" && data["level"]["actor"] == actor
            })
        })
        .map(|b| b.num)
}

/// The daemons: the node with the row's key goes down; obs1 alone proposes and approves
/// (the key stays); obs2's daemon joins and its approval executes the switch. Returns the
/// blocks from obs2's approval to the exec (the block that changes the row).
fn msig_daemons(net: &Net) -> u32 {
    let cfgs: Vec<_> = (0..3)
        .map(|i| net.path().join(OBSERVERS[i]).join("config.toml"))
        .collect();
    let current = net.producers_row()["producer_key"]
        .as_str()
        .unwrap()
        .to_string();
    let (down, key) = if current == net.pub_key("primary") {
        ("primary", net.pub_key("backup"))
    } else {
        ("backup", net.pub_key("primary"))
    };
    wait_active(net, &current, "the row's key to sign our blocks");

    // A: only obs1 runs; the node with the row's key goes down.
    let d1 = Daemon::start(&cfgs[0], "msig_obs1.log");
    std::thread::sleep(Duration::from_secs(3));
    let from = net.head("api1");
    net.stop(down);
    d1.wait_event("msig_approved", Duration::from_secs(240));
    let p = wait_for("obs1's proposal on chain", Duration::from_secs(30), || {
        let p = proposals(net, "obs1");
        (!p.is_empty()).then_some(p)
    });
    assert_eq!(p.len(), 1, "{p:?}");
    let a = approvals(net, "obs1");
    assert_eq!(approvers(&a[0]), ["obs1"], "{a:?}");
    let h = net.head("node_a") + 6;
    wait_for("6 more blocks", Duration::from_secs(30), || {
        (["api1", "api2", "api3"].iter().all(|n| net.head(n) >= h)).then_some(())
    });
    assert_eq!(net.producers_row()["producer_key"], current.as_str());
    assert_no_switch(net, from, "obs1's daemon alone");

    // B: obs2's daemon joins: exactly one switch, through exec.
    let d2 = Daemon::start(&cfgs[1], "msig_obs2.log");
    wait_row_key(net, &key, "the row to hold the other key (obs2's approval executes)");
    let approved = wait_for("obs2's approve in a block", Duration::from_secs(30), || {
        approve_block(net, from, "obs2")
    });
    let exec = wait_for("the exec in a block", Duration::from_secs(30), || {
        exec_block(net, from)
    });
    let h = net.head("node_a") + 6;
    wait_for("6 more blocks", Duration::from_secs(30), || {
        (["api1", "api2", "api3"].iter().all(|n| net.head(n) >= h)).then_some(())
    });
    let execs = net
        .blocks("api1", from, net.head("api1"))
        .into_iter()
        .filter(|b| b.actions.iter().any(|(a, n, _)| a == "eosio.msig" && n == "exec"))
        .count();
    assert_eq!(execs, 1, "one exec expected");
    assert!(proposals(net, "obs1").is_empty(), "the proposal is still there");
    assert_eq!(net.producers_row()["producer_key"], key.as_str());
    d1.stop();
    d2.stop();
    exec.saturating_sub(approved)
}
