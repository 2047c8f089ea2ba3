//! `check` in `[msig]` mode against the simulated chain (real time, loopback): a correct
//! 2-of-3 setup passes every msig check, a mismatched threshold fails with the cleos
//! command that fixes it, and the single-key `permission.key` check is not made.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use bp_failover::antelope::{Name, PrivateKey, TimePoint};
use bp_failover::api::SystemClock;
use bp_failover::config;
use bp_failover::drill::{render_config, ConfigOptions};
use bp_failover::preflight::{evaluate, gather, Status};
use bp_failover::sim::chain::derive_key;
use bp_failover::sim::network::{Clock, Network, NetworkSpec};

const OBSERVERS: [&str; 3] = ["obs1", "obs2", "obs3"];

fn obs_key(i: usize) -> PrivateKey {
    derive_key("check_msig", OBSERVERS[i])
}

async fn network() -> Network {
    let mut spec = NetworkSpec::new(4, 3);
    spec.clock = Clock::RealTime { time_scale: 1.0 };
    let net = Network::start(spec).await.expect("network starts");
    let producer = net.with_chain(|c| (c.our_producer(), c.spec().failover_permission));
    net.with_chain_mut(|c| {
        let observers: Vec<_> = (0..3)
            .map(|i| (Name::literal(OBSERVERS[i]), obs_key(i).public_key()))
            .collect();
        c.state_mut()
            .set_msig_observers(producer.0, producer.1, 2, &observers, TimePoint(0))
            .unwrap();
    });
    net
}

/// The simulator's config with this host as obs1 (its key in [msig]) and `threshold`.
fn msig_config(net: &Network, dir: &Path, threshold: u32) -> config::Loaded {
    let text = render_config(net, &ConfigOptions::new(dir)).unwrap();
    let key_line = text
        .lines()
        .find(|l| l.starts_with("key_file"))
        .expect("the rendered config has a key_file")
        .to_string();
    let key = dir.join("observer.key");
    std::fs::write(&key, format!("{}\n", obs_key(0).to_wif_string().as_str())).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = format!(
        "{}\n[msig]\nobserver = \"obs1@active\"\nkey_file = \"{}\"\nthreshold = {threshold}\nobservers = [\"obs1@active\", \"obs2@active\", \"obs3@active\"]\n",
        text.replace(&format!("{key_line}\n"), ""),
        key.display()
    );
    config::load_str(&text, &dir.join("config.toml")).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_correct_2_of_3_setup_passes_the_msig_checks() {
    let net = network().await;
    let dir = tempfile::tempdir().unwrap();
    let loaded = msig_config(&net, dir.path(), 2);
    let inputs = gather(&loaded.config, loaded.warnings.clone(), &SystemClock)
        .await
        .unwrap();
    let checks = evaluate(&loaded.config, &inputs);
    let msig: Vec<_> = checks
        .iter()
        .filter(|c| c.name.starts_with("msig."))
        .collect();
    let names: Vec<&str> = msig.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "msig.permission",
            "msig.observer.obs1",
            "msig.observer.obs2",
            "msig.observer.obs3",
            "msig.contract"
        ]
    );
    for c in &msig {
        assert_eq!(c.status, Status::Ok, "{c:?}");
    }
    assert!(checks.iter().all(|c| c.name != "permission.key"));
    let key = checks.iter().find(|c| c.name == "key").unwrap();
    assert!(key.detail.contains("this observer's key"), "{}", key.detail);
    let links: Vec<_> = checks
        .iter()
        .filter(|c| c.name.starts_with("permission.link."))
        .collect();
    assert!(!links.is_empty() && links.iter().all(|c| c.status == Status::Ok));
}

#[tokio::test]
async fn a_threshold_mismatch_fails_with_the_fix() {
    let net = network().await;
    let dir = tempfile::tempdir().unwrap();
    let loaded = msig_config(&net, dir.path(), 3);
    let inputs = gather(&loaded.config, loaded.warnings.clone(), &SystemClock)
        .await
        .unwrap();
    let checks = evaluate(&loaded.config, &inputs);
    let p = checks.iter().find(|c| c.name == "msig.permission").unwrap();
    assert_eq!(p.status, Status::Fail, "{p:?}");
    assert!(
        p.detail.contains("its threshold is 2 (configured: 3)"),
        "{}",
        p.detail
    );
    assert!(p.fix.as_deref().unwrap().contains("\"threshold\":3"));
    // A key that is not obs1's fails the observer check.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let loaded = msig_config(&net, &other, 2);
    let mut inputs = gather(&loaded.config, loaded.warnings.clone(), &SystemClock)
        .await
        .unwrap();
    inputs.signer = Ok(obs_key(1).public_key());
    let checks = evaluate(&loaded.config, &inputs);
    let o = checks
        .iter()
        .find(|c| c.name == "msig.observer.obs1")
        .unwrap();
    assert_eq!(o.status, Status::Fail, "{o:?}");
    assert!(
        o.detail.contains("does not satisfy obs1@active"),
        "{}",
        o.detail
    );
}
