//! The project's daemon against scripted scenarios on the simulated network, stepped slot
//! by slot, one daemon tick per slot, reading chain time as its clock.

mod sim_common;

use std::sync::Arc;

use bp_failover::daemon::{Daemon, Options};
use bp_failover::events::EventLog;
use bp_failover::sim::scenario::{self, Params};
use bp_failover::sim::{render_config, ConfigOptions, Network};

/// Runs scenario `name` with 4 producers and a 24-slot schedule tick and judges it.
async fn run_scenario(name: &str) -> Result<(), String> {
    let params = Params {
        producers: 4,
        schedule_tick_slots: 24,
        ..Params::default()
    };
    let s = scenario::builtin(name, &params).unwrap();
    let net = Network::start(s.spec.clone()).await.unwrap();
    let dirs: Vec<_> = (0..s.observers)
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let mut daemons = Vec::new();
    let mut logs = Vec::new();
    for d in &dirs {
        let text = render_config(&net, &ConfigOptions::new(d.path())).unwrap();
        let path = d.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        let loaded = bp_failover::config::load(&path).unwrap();
        let key = bp_failover::keyfile::read_key_file(&d.path().join("failover.key")).unwrap();
        let log = EventLog::memory();
        logs.push(log.clone());
        daemons.push(
            Daemon::new(
                loaded.config,
                Options::default(),
                key,
                Arc::new(net.shared()),
                log,
            )
            .unwrap(),
        );
    }
    for _ in 0..s.run_slots {
        net.step(1);
        for d in &mut daemons {
            d.tick().await;
        }
    }
    let r = s.check(&net);
    if r.is_err() {
        for l in &logs {
            for e in l.history() {
                eprintln!("{name}: {}", e.text());
            }
        }
    }
    r
}

#[tokio::test]
async fn daemon_fails_over_when_the_primary_dies() {
    run_scenario("primary-down").await.unwrap();
}

/// Every built-in scenario (about 4 s each; run with `--ignored`).
#[tokio::test]
#[ignore]
async fn daemon_every_scenario() {
    let mut failed = Vec::new();
    for (name, _) in scenario::list() {
        if let Err(e) = run_scenario(name).await {
            failed.push(format!("{name}: {e}"));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}
