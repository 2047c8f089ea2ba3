//! `bp-failover failover` run as a user would, against the simulated network on
//! 127.0.0.1: the dry-run JSON body, the refusal without confirmation, the real switch with
//! `--yes`, and the no-op when the key is already current.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use bp_failover::antelope::{PackedTransaction, PublicKey};
use bp_failover::drill::{render_config, ConfigOptions};
use bp_failover::sim::{Clock, Network, NetworkSpec};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bp-failover");

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_failover_dry_run_confirmation_and_switch() {
    let mut spec = NetworkSpec::new(4, 3);
    spec.clock = Clock::RealTime { time_scale: 1.0 };
    // The schedule never catches up during the test: a switch stays in flight.
    spec.chain.schedule_tick_slots = 1_000_000;
    let net = Network::start(spec).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg_text = render_config(&net, &ConfigOptions::new(dir.path())).unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, &cfg_text).unwrap();
    let cfg = cfg.to_str().unwrap().to_string();
    let key_text = std::fs::read_to_string(dir.path().join("failover.key")).unwrap();
    let backup_key: PublicKey = {
        let v: toml::Value = toml::from_str(&cfg_text).unwrap();
        v["datacenter"][1]["signing_key"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let mut outputs = Vec::new();
    let args = |extra: &[&str]| -> Vec<String> {
        ["failover", "-c", &cfg]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };

    // Dry run: one JSON object with the push body and a summary; nothing is pushed.
    let out = run(args(&["--to", "backup", "--dry-run", "--json"])).await;
    outputs.push(out.clone());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in [
        "signatures",
        "compression",
        "packed_context_free_data",
        "packed_trx",
        "summary",
    ] {
        assert!(v.get(k).is_some(), "missing {k}: {v}");
    }
    let body: PackedTransaction = serde_json::from_value(serde_json::json!({
        "signatures": v["signatures"],
        "compression": v["compression"],
        "packed_context_free_data": v["packed_context_free_data"],
        "packed_trx": v["packed_trx"],
    }))
    .unwrap();
    let tx = body.transaction().unwrap();
    assert_eq!(tx.actions[0].name.to_string(), "regproducer");
    // The action carries the backup's key (name 8 bytes, then the K1 variant and point).
    assert_eq!(&tx.actions[0].data[9..42], backup_key.as_bytes());
    assert!(v["summary"].as_str().unwrap().contains("backup"));
    assert!(net.key_switches().is_empty(), "a dry run never pushes");

    // Without --yes and without a terminal: refused, nothing sent.
    let out = run(args(&["--to", "backup"])).await;
    outputs.push(out.clone());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert!(net.key_switches().is_empty());

    // An unknown data center names the configured ones.
    let out = run(args(&["--to", "nowhere", "--yes"])).await;
    outputs.push(out.clone());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("primary, backup"),
        "{}",
        text(&out.stderr)
    );

    // With --yes: pushed, and the producers table shows the backup's key.
    let out = run(args(&["--to", "backup", "--yes", "--json"])).await;
    outputs.push(out.clone());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pushed"], true, "{v}");
    assert_eq!(v["registered"], true, "{v}");
    let switches = net.key_switches();
    assert_eq!(switches.len(), 1);
    assert_eq!(
        switches[0].datacenter.as_deref(),
        Some("backup"),
        "{switches:?}"
    );
    assert!(switches[0].changed);
    assert_eq!(v["transaction_id"], switches[0].tx_id.to_string());
    // Recorded in the state file as manual: never counted as an automatic switch.
    let state_path = dir.path().join("state.json");
    let st = bp_failover::state_file::load(&state_path).unwrap();
    assert_eq!(st.switches.len(), 1, "{st:?}");
    assert!(!st.switches[0].automatic);
    assert_eq!(st.switches[0].to, "backup");
    assert_eq!(st.automatic_switches_last_day(i64::MAX / 2), 0);

    // A change in flight (table: backup, schedule: primary): refused without --force.
    let out = run(args(&["--to", "primary", "--yes"])).await;
    outputs.push(out.clone());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("already in flight") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(net.key_switches().len(), 1, "nothing pushed");

    // Again: already current, nothing to do, nothing sent.
    let out = run(args(&["--to", "backup", "--yes"])).await;
    outputs.push(out.clone());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("nothing to do"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(net.key_switches().len(), 1);

    // While a daemon holds the state file, a second `run` refuses, naming its pid; a
    // forced manual switch hands its record to that daemon.
    let lock = bp_failover::state_file::try_lock(&state_path).unwrap();
    let out = run(vec!["run".into(), "-c".into(), cfg.clone()]).await;
    outputs.push(out.clone());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("in use by another bp-failover")
            && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    let out = run(args(&["--to", "primary", "--yes", "--force"])).await;
    outputs.push(out.clone());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let handed = std::fs::read_to_string(dir.path().join("state.json.manual")).unwrap();
    let handed: Value = serde_json::from_str(&handed).unwrap();
    assert_eq!(handed["to"], "primary", "{handed}");
    assert_eq!(net.key_switches().len(), 2);
    drop(lock);

    // A state directory that does not exist: `run` stops at once with one clear error.
    let missing = dir.path().join("missing");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        cfg_text.replace(
            &dir.path().join("state.json").to_string_lossy().into_owned(),
            &missing.join("state.json").to_string_lossy(),
        ),
    )
    .unwrap();
    let out = run(vec![
        "run".into(),
        "-c".into(),
        bad.to_string_lossy().into(),
    ])
    .await;
    outputs.push(out.clone());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(
        err.matches("does not exist").count(),
        1,
        "one error, said once: {err}"
    );
    assert!(
        err.contains(&format!(
            "state directory {} does not exist",
            missing.display()
        )),
        "{err}"
    );
    assert!(!missing.exists());

    // The private key never appears in any output.
    let secret = key_text.trim();
    for o in &outputs {
        assert!(!text(&o.stdout).contains(secret) && !text(&o.stderr).contains(secret));
    }
    net.shutdown().await;
}

/// compute_transaction does not check signatures (reference §10), so the dry run proves the
/// authorization itself: with a key the permission does not hold it fails with the reason
/// and the fix; after the fix it says "authorization verified". Nothing is pushed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_verifies_the_authorization_that_compute_transaction_does_not() {
    use bp_failover::antelope::{Name, PrivateKey};
    let mut spec = NetworkSpec::new(4, 3);
    spec.clock = Clock::RealTime { time_scale: 1.0 };
    let net = Network::start(spec).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg_text = render_config(&net, &ConfigOptions::new(dir.path())).unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, &cfg_text).unwrap();
    let cfg = cfg.to_str().unwrap().to_string();
    let (our, perm) = net.with_chain(|c| (c.our_producer(), Name::literal("failover")));
    let signer = net.with_chain(|c| c.observer_key().public_key());
    let stranger = PrivateKey::from_bytes(&[42; 32]).unwrap().public_key();
    let set_keys = |k| {
        net.with_chain_mut(|c| {
            let p = c
                .state_mut()
                .accounts
                .get_mut(&our)
                .unwrap()
                .permissions
                .get_mut(&perm)
                .unwrap();
            p.keys = vec![(k, 1)];
        })
    };
    let args: Vec<String> = ["failover", "-c", &cfg, "--to", "backup", "--dry-run"]
        .iter()
        .map(|s| s.to_string())
        .collect();

    // The key was rotated out of the permission: the node's compute_transaction would
    // accept the transaction, the dry run must not.
    set_keys(stranger);
    let out = run(args.clone()).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}\n{err}", text(&out.stdout));
    assert!(err.contains("authorization NOT verified"), "{err}");
    assert!(err.contains("3090003"), "{err}");
    assert!(err.contains("weight 0 of its threshold 1"), "{err}");
    assert!(
        err.contains(&format!(
            "cleos set account permission {our} failover {signer} active"
        )),
        "{err}"
    );
    assert!(!text(&out.stdout).contains("authorization verified"));

    // The link removed: regproducer then requires active, which failover cannot satisfy.
    set_keys(signer);
    net.with_chain_mut(|c| {
        let a = c.state_mut().accounts.get_mut(&our).unwrap();
        a.links
            .remove(&(Name::literal("eosio"), Name::literal("regproducer")));
    });
    let out = run(args.clone()).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("3090005"), "{err}");
    assert!(
        err.contains(&format!(
            "cleos set action permission {our} eosio regproducer failover"
        )),
        "{err}"
    );

    // Fixed: verified, and the node's check is said to be resources and execution only.
    net.with_chain_mut(|c| {
        let a = c.state_mut().accounts.get_mut(&our).unwrap();
        a.links
            .insert((Name::literal("eosio"), Name::literal("regproducer")), perm);
    });
    let out = run(args).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("authorization verified"), "{stdout}");
    assert!(stdout.contains("does not verify signatures"), "{stdout}");
    assert!(net.key_switches().is_empty(), "a dry run never pushes");
    net.shutdown().await;
}

/// A permission met through another account's permission (bp@failover → ops@active, which
/// holds the key): the dry run reads that account too and verifies it, and the simulated
/// node, applying the same rules, accepts the real push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_follows_a_permission_of_another_account() {
    use bp_failover::antelope::{Name, PermissionLevel, PrivateKey};
    let mut spec = NetworkSpec::new(4, 3);
    spec.clock = Clock::RealTime { time_scale: 1.0 };
    let net = Network::start(spec).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg_text = render_config(&net, &ConfigOptions::new(dir.path())).unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, &cfg_text).unwrap();
    let cfg = cfg.to_str().unwrap().to_string();
    let our = net.with_chain(|c| c.our_producer());
    let signer = net.with_chain(|c| c.observer_key().public_key());
    let (active, failover) = (Name::literal("active"), Name::literal("failover"));
    let ops = net.with_chain(|c| {
        *c.state()
            .accounts
            .keys()
            .find(|a| **a != our && a.to_string() != "eosio")
            .unwrap()
    });
    let set_ops_key = |k| {
        net.with_chain_mut(|c| {
            let a = c.state_mut().accounts.get_mut(&ops).unwrap();
            a.permissions.get_mut(&active).unwrap().keys = vec![(k, 1)];
        })
    };
    net.with_chain_mut(|c| {
        let p = c
            .state_mut()
            .accounts
            .get_mut(&our)
            .unwrap()
            .permissions
            .get_mut(&failover)
            .unwrap();
        p.keys = Vec::new();
        p.accounts = vec![(
            PermissionLevel {
                actor: ops,
                permission: active,
            },
            1,
        )];
    });
    let args = |extra: &[&str]| -> Vec<String> {
        ["failover", "-c", &cfg, "--to", "backup"]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };

    // ops@active does not hold the key: refused, and the nested permission is named.
    set_ops_key(PrivateKey::from_bytes(&[42; 32]).unwrap().public_key());
    let out = run(args(&["--dry-run"])).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("3090003"), "{err}");
    assert!(
        err.contains(&format!("{ops}@active weight 1: not met")),
        "{err}"
    );

    // ops@active holds it: verified, then really pushed and accepted by the node.
    set_ops_key(signer);
    let out = run(args(&["--dry-run"])).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("authorization verified"), "{stdout}");
    assert!(net.key_switches().is_empty());
    let out = run(args(&["--yes", "--json"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(net.key_switches().len(), 1);
    net.shutdown().await;
}
