//! `bp-failover drill` and `bp-failover simulate`, run as the real binary on 127.0.0.1.
//!
//! Drills use 4 producers and an unbounded time scale (the lockstep runs as fast as the
//! daemon polls), so each takes seconds; the scenarios' outcomes do not depend on speed.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bp_failover::drill::scenario;
use bp_failover::keyfile::read_key_file;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bp-failover");

/// As fast as the daemon's rounds allow.
const FAST: &[&str] = &["--producers", "4", "--time-scale", "100000"];

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The narration with its line wrapping undone (every run of whitespace one space).
fn flat(bytes: &[u8]) -> String {
    text(bytes).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Neither output holds the private key in `dir/failover.key`, in any of its forms.
fn assert_key_not_printed(dir: &Path, out: &Output) {
    let key = read_key_file(&dir.join("failover.key")).expect("the drill's key file");
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    for secret in [key.to_pvt_k1_string(), key.to_wif_string()] {
        assert!(!stdout.contains(secret.as_str()), "private key on stdout");
        assert!(!stderr.contains(secret.as_str()), "private key on stderr");
    }
    assert!(!stdout.contains("PVT_K1_") && !stderr.contains("PVT_K1_"));
    let mode = std::fs::metadata(dir.join("failover.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn drill_list_names_every_scenario_with_a_description() {
    let out = run(&["drill", "--list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let first = stdout.lines().next().unwrap();
    assert!(first.starts_with("primary-down "), "{first}");
    for (name, _) in scenario::list() {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing:\n{stdout}"));
        assert!(line.len() > name.len() + 20, "no description: {line}");
    }

    let out = run(&["drill", "--list", "--json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), scenario::list().len());
    assert_eq!(list[0]["name"], "primary-down");
    assert_eq!(list[0]["expect"], "→ backup");
}

#[test]
fn drill_rejects_an_unknown_scenario_as_a_usage_error() {
    let out = run(&["drill", "--scenario", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unknown scenario"), "{stderr}");
    assert!(stderr.contains("primary-down"), "{stderr}");
}

#[test]
fn drill_default_scenario_fails_over_to_the_backup() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["drill", "--out", dir.path().to_str().unwrap()];
    args.extend(FAST);
    let started = Instant::now();
    let out = run(&args);
    let stdout = flat(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    // The story, in order.
    let mut at = 0;
    for step in [
        "bp-failover drill: primary-down",
        "data center primary goes dark",
        "slots in a row (threshold 12)",
        "FAILOVER primary → backup",
        "Guards passed: 3/3 endpoints agree",
        "accepted by http://127.0.0.1:",
        "the producers table now holds backup's key",
        "switch confirmed: the active schedule carries backup's key",
        "signed with backup's key: ourproducer1 produces again, from backup",
        "Report",
        "one key switch, to backup — as expected",
        "PASS: exit code 0",
    ] {
        let found = stdout[at..]
            .find(step)
            .unwrap_or_else(|| panic!("{step:?} missing after byte {at}:\n{stdout}"));
        at += found + step.len();
    }
    let report = text(&out.stdout);
    let tx_line = report
        .lines()
        .find(|l| l.trim_start().starts_with("transaction ") && !l.contains("pushed"))
        .unwrap();
    let id = tx_line.split_whitespace().nth(1).unwrap();
    assert_eq!(id.len(), 64, "{tx_line}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{tx_line}");
    assert!(stdout.contains(&format!("transaction {id} accepted by")));
    assert!(stdout.contains("key changes on chain 1"), "{report}");
    assert_key_not_printed(dir.path(), &out);
    assert!(started.elapsed() < Duration::from_secs(120));
}

#[test]
fn drill_network_halted_holds_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "drill",
        "--scenario",
        "network-halted",
        "--out",
        dir.path().to_str().unwrap(),
    ];
    args.extend(FAST);
    let out = run(&args);
    let stdout = flat(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("the whole network halts"), "{stdout}");
    assert!(stdout.contains("Why no switch:"), "{stdout}");
    assert!(
        stdout.contains("observer blind") && stdout.contains("no longer count"),
        "{stdout}"
    );
    assert!(stdout.contains("no switch: the signing key stayed where it was — as expected"));
    assert!(stdout.contains("transaction none pushed"), "{stdout}");
    assert_key_not_printed(dir.path(), &out);
}

#[test]
fn drill_json_report_of_a_suppressed_failover() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "drill",
        "--scenario",
        "lib-stalled",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
    ];
    args.extend(FAST);
    let out = run(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "one JSON object only:\n{stdout}");
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(r["scenario"], "lib-stalled");
    assert_eq!(r["passed"], true);
    assert_eq!(r["key_changes_on_chain"], 0);
    assert_eq!(r["transaction_ids"].as_array().unwrap().len(), 0);
    assert!(r["blocks_lost"].as_u64().unwrap() > 0, "{r}");
    let holds = r["holds"].as_array().unwrap();
    assert!(
        holds
            .iter()
            .any(|h| h["reason"] == "low_participation" || h["reason"] == "lib_stalled"),
        "{r}"
    );
    assert!(holds.iter().all(|h| !h["why"].as_str().unwrap().is_empty()));
    assert_key_not_printed(dir.path(), &out);
}

/// Kills the child on drop, so a failed assertion leaves no simulator running.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn simulate_serves_a_network_that_status_can_read() {
    let mut child = Child(
        Command::new(BIN)
            .args([
                "simulate",
                "--scenario",
                "healthy",
                "--listen",
                "127.0.0.1:0",
                "--producers",
                "4",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let config = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("simulate ended early:\n{printed}"))
            .unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(path) = line.strip_prefix("config: ") {
            break std::path::PathBuf::from(path);
        }
    };
    let hint = lines.next().unwrap().unwrap();
    assert_eq!(
        hint,
        format!("run: bp-failover run -c {}", config.display())
    );
    assert!(printed.contains("http://127.0.0.1:"), "{printed}");
    let dir = config.parent().unwrap().to_path_buf();
    let key = read_key_file(&dir.join("failover.key")).unwrap();
    assert!(!printed.contains(key.to_pvt_k1_string().as_str()));

    let out = run(&["status", "-c", config.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    assert_eq!(v["producer"], "ourproducer1");
    assert_eq!(v["blind"], false, "{v}");

    // SIGTERM: a clean stop, and the temporary directory is gone.
    let pid = child.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = child.0.wait().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(status.success(), "{status:?}: {rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("expected outcome is met")),
        "{rest:?}"
    );
    assert!(!dir.exists(), "{} left behind", dir.display());
}
