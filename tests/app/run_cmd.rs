//! `bp-failover run` as a process against the simulated network on 127.0.0.1: JSON event
//! lines on stdout, a clean stop on SIGTERM with the state saved, no key in any output.

use std::process::{Command, Stdio};
use std::time::Duration;

use bp_failover::drill::{render_config, ConfigOptions};
use bp_failover::sim::{Clock, Network, NetworkSpec};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bp-failover");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_logs_json_events_and_stops_cleanly_on_sigterm() {
    let mut spec = NetworkSpec::new(4, 3);
    spec.clock = Clock::RealTime { time_scale: 1.0 };
    let net = Network::start(spec).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        render_config(&net, &ConfigOptions::new(dir.path())).unwrap(),
    )
    .unwrap();
    let secret = std::fs::read_to_string(dir.path().join("failover.key")).unwrap();

    let child = Command::new(BIN)
        .args(["run", "--log-format", "json", "-c"])
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);

    // Every stdout line is one JSON object with timestamp, level and event first.
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for e in &events {
        let keys: Vec<&String> = e.as_object().unwrap().keys().take(3).collect();
        assert_eq!(keys, ["timestamp", "level", "event"], "{e}");
    }
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"observer_started"), "{names:?}");
    assert_eq!(names.last(), Some(&"observer_stopped"), "{names:?}");
    assert!(names.contains(&"quorum_changed"), "{names:?}");
    // The state file was written on the way out.
    assert!(dir.path().join("state.json").exists());
    // Diagnostics on stderr (if any) share the layout, with no terminal colour codes.
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    for l in stderr.lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        let keys: Vec<&String> = v.as_object().unwrap().keys().take(3).collect();
        assert_eq!(keys, ["timestamp", "level", "event"], "{v}");
    }
    // The key never appears.
    let key = secret.trim();
    assert!(!stdout.contains(key) && !stderr.contains(key));
    net.shutdown().await;
}
