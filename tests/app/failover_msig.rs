//! `bp-failover failover --to D` in `[msig]` mode, run as a user would against the simulated
//! network on 127.0.0.1: the dry run shows the proposal and pushes nothing; the first
//! observer proposes and approves and is told who must still approve; the second's approval
//! executes the switch.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use bp_failover::antelope::{Name, PrivateKey, TimePoint};
use bp_failover::drill::{render_config, ConfigOptions};
use bp_failover::sim::chain::derive_key;
use bp_failover::sim::{Clock, Network, NetworkSpec};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bp-failover");
const OBSERVERS: [&str; 3] = ["obs1", "obs2", "obs3"];

fn obs_key(i: usize) -> PrivateKey {
    derive_key("failover_msig", OBSERVERS[i])
}

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

/// Observer `i`'s config in `dir`: the simulator's, with its own key in [msig].
fn msig_config(net: &Network, dir: &Path, i: usize) -> String {
    let text = render_config(net, &ConfigOptions::new(dir)).unwrap();
    let key_line = text
        .lines()
        .find(|l| l.starts_with("key_file"))
        .unwrap()
        .to_string();
    let key = dir.join("observer.key");
    std::fs::write(&key, format!("{}\n", obs_key(i).to_wif_string().as_str())).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = format!(
        "{}\n[msig]\nobserver = \"{}@active\"\nkey_file = \"{}\"\nthreshold = 2\nobservers = [\"obs1@active\", \"obs2@active\", \"obs3@active\"]\n",
        text.replace(&format!("{key_line}\n"), ""),
        OBSERVERS[i],
        key.display()
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, &text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Key changes of our producer on chain, as data center names.
fn key_changes(net: &Network) -> Vec<String> {
    net.key_switches()
        .iter()
        .filter(|s| s.changed)
        .map(|s| s.datacenter.clone().unwrap_or_default())
        .collect()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_failover_through_msig_needs_two_observers() {
    let mut spec = NetworkSpec::new(4, 3);
    spec.clock = Clock::RealTime { time_scale: 1.0 };
    spec.chain.schedule_tick_slots = 1_000_000;
    let net = Network::start(spec).await.unwrap();
    net.with_chain_mut(|c| {
        let observers: Vec<_> = (0..3)
            .map(|i| (Name::literal(OBSERVERS[i]), obs_key(i).public_key()))
            .collect();
        let perm = c.spec().failover_permission;
        c.state_mut()
            .set_msig_observers(
                Name::literal("ourproducer1"),
                perm,
                2,
                &observers,
                TimePoint(0),
            )
            .unwrap();
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let cfgs: Vec<String> = (0..2)
        .map(|i| msig_config(&net, dirs[i].path(), i))
        .collect();
    let args = |i: usize, extra: &[&str]| -> Vec<String> {
        [
            "failover",
            "-c",
            cfgs[i].as_str(),
            "--to",
            "backup",
            "--json",
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
    };

    // Dry run: the proposal it would make, who must still approve; nothing pushed.
    let v = json_of(&run(args(0, &["--dry-run"])).await);
    assert!(
        v["plan"]
            .as_str()
            .unwrap()
            .starts_with("would propose obs1/bpf"),
        "{v}"
    );
    assert_eq!(v["still_needed"], 1, "{v}");
    assert_eq!(
        v["waiting_for"],
        serde_json::json!(["obs2@active", "obs3@active"])
    );
    assert_eq!(v["pushed"], false);
    assert!(v["transaction"]["packed_trx"].is_string(), "{v}");
    assert_eq!(net.push_requests(), 0);

    // obs1 proposes and approves: one approval of two, the key unchanged.
    let v = json_of(&run(args(0, &["--yes"])).await);
    assert_eq!(
        (v["pushed"].clone(), v["executed"].clone()),
        (true.into(), false.into()),
        "{v}"
    );
    assert_eq!(v["still_needed"], 1);
    assert!(key_changes(&net).is_empty());
    // Recorded in the state file as a daemon would (issue 14): one started later neither
    // approves twice nor loses track of the proposal.
    let rec = msig_record(dirs[0].path());
    assert_eq!(
        (
            &rec["proposer"],
            &rec["ours"],
            &rec["approved"],
            &rec["executed"]
        ),
        (&"obs1".into(), &true.into(), &true.into(), &false.into()),
        "{rec}"
    );
    assert!(
        rec["proposal_name"].as_str().unwrap().starts_with("bpf"),
        "{rec}"
    );

    // Again from obs1: already approved, nothing pushed, still one needed.
    let v = json_of(&run(args(0, &["--yes"])).await);
    assert_eq!(v["pushed"], false, "{v}");
    assert_eq!(v["still_needed"], 1);

    // obs2's approval is the second: approve + exec, the table holds the backup's key.
    let v = json_of(&run(args(1, &["--yes"])).await);
    assert_eq!(
        (v["executed"].clone(), v["registered"].clone()),
        (true.into(), true.into()),
        "{v}"
    );
    assert_eq!(v["still_needed"], 0);
    assert_eq!(key_changes(&net), ["backup"]);
    let rec = msig_record(dirs[1].path());
    assert_eq!(
        (
            &rec["proposer"],
            &rec["ours"],
            &rec["approved"],
            &rec["executed"]
        ),
        (&"obs1".into(), &false.into(), &true.into(), &true.into()),
        "{rec}"
    );
}

/// The `msig` record of the state file in `dir`.
fn msig_record(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("state.json")).expect("a state file");
    let state: Value = serde_json::from_str(&text).unwrap();
    state["msig"].clone()
}
