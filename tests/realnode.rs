//! The real-node layer: real nodeos v4.1 (legacy DPoS, the real eosio.system contract)
//! on 127.0.0.1, the real `bp-failover` binary against it, and every outcome judged from
//! the chain itself: the blocks (who signed them, which regproducer they carry), the
//! `producers` row and `get_producer_schedule`.
//!
//! Skipped (loudly) unless BP_FAILOVER_REALNODE=1; `.ci/run` and the README's test command
//! set it. The network: producers proda..prodd on two nodes, our producer `ourbp` with a
//! primary and a backup node, three API-only nodes as the observer's endpoints
//! (tests/realnode/net.py). One network is shared by the scenarios of
//! `realnode_scenarios`, in an order that leaves each one a known starting state.

#[path = "realnode/harness.rs"]
mod harness;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use harness::{bp, log, text, wait_for, Block, Daemon, Net};

/// The two tests each boot a network; never both at once on 2 cores.
static ONE_NETWORK_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Seconds the healthy run and the no-switch runs watch for: our producer's turn comes
/// every 30 s with 5 producers; the daemon's threshold (12 missed slots, then 3 turns of
/// others to confirm) would fire within ~50 s of an outage.
const WATCH: Duration = Duration::from_secs(75);

fn only(step: &str) -> bool {
    match std::env::var("BP_FAILOVER_REALNODE_ONLY") {
        Ok(list) => list.split(',').any(|s| s == step),
        Err(_) => true,
    }
}

struct Figures {
    kill_to_push_s: f64,
    push_to_active_s: f64,
    push_to_first_backup_block_s: f64,
    lost: i64,
    lost_after_push: i64,
    /// Our slots a push included in the block after T would have lost (T: the first block
    /// after our 12th missed slot): the same as `lost` when both catch the same proposal.
    minimum: i64,
    /// Slots from T to the proposal a push at the threshold catches, and to the one the
    /// daemon's push caught; from T to the daemon's push.
    threshold_tick: i64,
    push_tick: i64,
    push_after_threshold: i64,
    /// The daemon switched before the confirming turns were complete (early switch).
    before_proposal: bool,
    /// Waiting for the confirming turns would have missed the threshold's proposal.
    waiting_misses_tick: bool,
    /// The forecast minus the chain: proposal and activation slots, lost blocks.
    proposal_error: i64,
    active_error: i64,
    lost_error: i64,
}

#[test]
fn realnode_scenarios() {
    if !harness::enabled("realnode_scenarios") {
        return;
    }
    let _one = ONE_NETWORK_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let net = Net::boot();
    let me = net.producer();
    let cfg = net.write_config(&net.path().join("observer"), &net.key("failover").1, "");

    if only("check") {
        check_healthy(&net, &cfg);
    }
    if only("healthy") {
        healthy(&net, &cfg);
    }
    if only("breakages") {
        check_breakages(&net, &cfg);
    }
    if only("partition") {
        partition(&net, &cfg);
    }
    if only("primary_down") {
        let f = primary_down(&net, &cfg);
        log(format!(
            "FIGURES primary down: kill->push {:.1} s, push->active {:.1} s, push->first backup block {:.1} s, our slots lost {} (after the push {}), minimum for a push at the threshold T {}; proposal caught at the threshold T+{} slots, by the daemon's push (at T+{}) T+{}; waiting for the confirming turns would miss it: {}; early switch: {}; forecast - chain: proposal {:+} slots, activation {:+} slots, lost blocks {:+}",
            f.kill_to_push_s,
            f.push_to_active_s,
            f.push_to_first_backup_block_s,
            f.lost,
            f.lost_after_push,
            f.minimum,
            f.threshold_tick,
            f.push_after_threshold,
            f.push_tick,
            f.waiting_misses_tick,
            f.before_proposal,
            f.proposal_error,
            f.active_error,
            f.lost_error,
        ));
        if only("both_down") {
            both_down(&net, &cfg);
        }
    }
    if only("killed") {
        killed_after_trigger(&net, &cfg);
        killed_after_push(&net, &cfg);
    }
    if only("manual") {
        manual_failover(&net, &cfg);
    }
    if only("foreign") {
        check_foreign_key(&net, &cfg);
    }
    if only("msig") {
        // Last: it replaces ourbp@failover's key by the 2-of-3 observers.
        let (push_to_exec, exec_to_row) = msig_scenario(&net);
        log(format!(
            "FIGURES msig 2-of-3 (real eosio.msig): obs2's approval pushed -> exec in a block {push_to_exec} blocks, exec block -> producers row seen with the new key {exec_to_row} blocks"
        ));
        let (f, approve_to_exec) = msig_daemons(&net);
        log(format!(
            "FIGURES msig 2-of-3 daemons (real eosio.msig, obs1 and obs2 running, signing node killed): kill->exec {:.1} s, exec->active {:.1} s, our slots lost {} (after the exec {}), minimum for a push at the threshold T {}; proposal caught at the threshold T+{} slots, by the exec (at T+{}) T+{}; early switch: {}; the k-th approval's block -> exec block {approve_to_exec} blocks; obs3's foreign proposal never approved; obs1 alone -> its own proposal + 1 approval, key unchanged",
            f.kill_to_push_s,
            f.push_to_active_s,
            f.lost,
            f.lost_after_push,
            f.minimum,
            f.threshold_tick,
            f.push_after_threshold,
            f.push_tick,
            f.before_proposal,
        ));
    }
    log(format!(
        "realnode_scenarios for {me} done in {:.0?}",
        started.elapsed()
    ));
}

include!("realnode/msig_step.rs");

// ---------------------------------------------------------------- check

/// `check`'s failed check names and the cleos commands it prints as their fixes (the
/// fixes of warnings are not run).
fn check_failures(out: &std::process::Output) -> (Vec<String>, Vec<String>) {
    let s = String::from_utf8_lossy(&out.stdout);
    let mut failed = Vec::new();
    let mut fixes = Vec::new();
    let mut status = "";
    for line in s.lines() {
        if let Some(rest) = line.strip_prefix("FAIL  ") {
            failed.push(rest.split(':').next().unwrap_or("").to_string());
            status = "FAIL";
        } else if line.starts_with("WARN  ") || line.starts_with("ok    ") {
            status = "other";
        }
        let fix = line
            .strip_prefix("      fix: ")
            .or_else(|| line.strip_prefix("           "));
        if let Some(fix) = fix.filter(|f| f.starts_with("cleos ")) {
            // The first command of each failed check: further ones are alternatives.
            if status == "FAIL" {
                fixes.push(fix.to_string());
                status = "fixed";
            }
        }
    }
    (failed, fixes)
}

/// `check` passes, allowing the API nodes a few seconds to see the last change.
fn check_passes(cfg: &std::path::Path, why: &str) {
    let start = Instant::now();
    loop {
        let out = bp(cfg, &["check"]);
        if out.status.success() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "check should pass {why}:\n{}",
            text(&out)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn check_healthy(net: &Net, cfg: &std::path::Path) {
    log("check on the healthy network");
    let _ = net;
    check_passes(cfg, "on the healthy network");
}

/// Breaks the setup with `breaking` (cleos args), asserts `check` fails naming
/// `expect_failed`, runs every cleos fix it prints with the real cleos, and asserts `check`
/// passes after.
fn breakage(
    net: &Net,
    cfg: &std::path::Path,
    what: &str,
    breaking: &[&[&str]],
    expect_failed: &str,
) {
    log(format!("check breakage: {what}"));
    for args in breaking {
        net.cleos_tx(args);
    }
    // The API nodes must have the change before `check` reads them.
    let out = wait_for(
        &format!("check to fail on {what}"),
        Duration::from_secs(30),
        || {
            let out = bp(cfg, &["check"]);
            (!out.status.success()).then_some(out)
        },
    );
    let (failed, fixes) = check_failures(&out);
    assert!(
        failed.iter().any(|f| f == expect_failed),
        "{what}: expected {expect_failed} among the failed checks {failed:?}:\n{}",
        text(&out)
    );
    assert!(
        !fixes.is_empty(),
        "{what}: check printed no cleos fix:\n{}",
        text(&out)
    );
    for fix in &fixes {
        // An operator fills in the account that pays; here the chain's eosio.
        let fix = &fix.replace("<funder>", "eosio");
        log(format!("  running the printed fix: {fix}"));
        net.until_in_block(&format!("{what}: the printed fix `{fix}`"), || {
            let r = net.run_printed_cleos(fix);
            assert!(
                r.status.success(),
                "{what}: the printed fix `{fix}` failed on the real node:\n{}\ncheck said:\n{}",
                text(&r),
                text(&out)
            );
            r
        });
    }
    check_passes(cfg, &format!("after running the fixes for {what}"));
}

fn check_breakages(net: &Net, cfg: &std::path::Path) {
    let me = net.producer();
    let me = me.as_str();
    let active = format!("{me}@active");
    let foreign = net.pub_key("foreign");
    breakage(
        net,
        cfg,
        "regproducer unlinked",
        &[&[
            "set",
            "action",
            "permission",
            me,
            "eosio",
            "regproducer",
            "NULL",
            "-p",
            &active,
        ]],
        "permission.link.regproducer",
    );
    breakage(
        net,
        cfg,
        "failover key replaced",
        &[&[
            "set",
            "account",
            "permission",
            me,
            "failover",
            &foreign,
            "active",
            "-p",
            &active,
        ]],
        "permission.key",
    );
    breakage(
        net,
        cfg,
        "failover permission deleted",
        &[
            &[
                "set",
                "action",
                "permission",
                me,
                "eosio",
                "regproducer",
                "NULL",
                "-p",
                &active,
            ],
            &[
                "set",
                "action",
                "permission",
                me,
                "eosio",
                "regproducer2",
                "NULL",
                "-p",
                &active,
            ],
            &[
                "set",
                "account",
                "permission",
                me,
                "failover",
                "NULL",
                "active",
                "-p",
                &active,
            ],
        ],
        "permission",
    );
    breakage(
        net,
        cfg,
        "no CPU staked",
        // eosio takes back the CPU it delegated to our producer (eosio pays for that).
        &[&[
            "system",
            "undelegatebw",
            "eosio",
            me,
            "0.0000 EOS",
            "1000.0000 EOS",
            "-p",
            "eosio@active",
        ]],
        "resources",
    );
}

fn check_foreign_key(net: &Net, cfg: &std::path::Path) {
    let me = net.producer();
    let foreign = net.pub_key("foreign");
    let url = net.url();
    let loc = net.location().to_string();
    breakage(
        net,
        cfg,
        "a foreign key registered",
        &[&[
            "system",
            "regproducer",
            &me,
            &foreign,
            &url,
            &loc,
            "-p",
            &format!("{me}@active"),
        ]],
        "producer.key",
    );
}

// ---------------------------------------------------------------- daemon scenarios

fn assert_no_switch(net: &Net, from: u32, what: &str) {
    let to = net.head("api1");
    let sw = net.key_switches("api1", from, to);
    assert!(
        sw.is_empty(),
        "{what}: key switches on chain in {from}..={to}: {sw:?}"
    );
}

fn healthy(net: &Net, cfg: &std::path::Path) {
    log("healthy: the daemon watches; nothing may be pushed");
    let row_before = net.producers_row();
    let from = net.head("api1");
    let d = Daemon::start(cfg, "healthy.log");
    // A dry run meanwhile: it must push nothing either.
    let dry = bp(cfg, &["failover", "--to", "backup", "--dry-run"]);
    assert!(dry.status.success(), "failover --dry-run:\n{}", text(&dry));
    let t0 = Instant::now();
    wait_for("the daemon to watch our producer", WATCH, || {
        (t0.elapsed() >= WATCH - Duration::from_secs(1)).then_some(())
    });
    let names = d.names();
    d.stop();
    for bad in [
        "failover_triggered",
        "transaction_pushed",
        "transaction_failed",
    ] {
        assert!(
            !names.iter().any(|n| n == bad),
            "healthy: {bad} in {names:?}"
        );
    }
    assert_no_switch(net, from, "healthy");
    let registration = |r: &serde_json::Value| {
        let keep = [
            "producer_key",
            "producer_authority",
            "url",
            "location",
            "is_active",
        ];
        keep.map(|k| r[k].clone())
    };
    assert_eq!(
        registration(&net.producers_row()),
        registration(&row_before),
        "healthy: our registration changed"
    );
    let to = net.head("api1");
    let ours = net
        .blocks("api1", from, to)
        .iter()
        .filter(|b| b.producer == net.producer())
        .count();
    assert!(
        ours >= 12,
        "healthy: only {ours} blocks by our producer in {from}..={to}"
    );
}

fn partition(net: &Net, cfg: &std::path::Path) {
    log("partition: the observer's endpoints on a minority (1 producer of 5)");
    let from = net.head("node_b");
    let d = Daemon::start(cfg, "partition.log");
    d.wait_event("quorum_changed", Duration::from_secs(30));
    net.partition();
    let t0 = Instant::now();
    let cut = net.head("api1");
    // Our producer keeps producing on the majority side.
    let majority_head = net.head("node_b");
    wait_for("the minority to stall our view", WATCH, || {
        (t0.elapsed() >= WATCH - Duration::from_secs(1)).then_some(())
    });
    let names = d.names();
    d.stop();
    // The partition held: past the cut, the minority saw only proda's blocks.
    let minority: Vec<Block> = net.blocks("api1", cut + 3, net.head("api1"));
    let producers: std::collections::BTreeSet<&str> =
        minority.iter().map(|b| b.producer.as_str()).collect();
    assert_eq!(
        producers.into_iter().collect::<Vec<_>>(),
        ["proda"],
        "partition: the minority side saw other producers' blocks"
    );
    net.heal();
    wait_for(
        "the API nodes to rejoin the majority chain",
        Duration::from_secs(120),
        || {
            let h = net.head("node_b");
            (["api1", "api2", "api3"]
                .iter()
                .all(|n| net.head(n) + 2 >= h && net.lib(n) > majority_head))
            .then_some(())
        },
    );
    for bad in ["transaction_pushed", "transaction_failed"] {
        assert!(
            !names.iter().any(|n| n == bad),
            "partition: {bad} in {names:?}"
        );
    }
    let to = net.head("node_b");
    let sw = net.key_switches("node_b", from, to);
    assert!(sw.is_empty(), "partition: key switches on chain: {sw:?}");
    let ours = net
        .blocks("node_b", majority_head, to)
        .iter()
        .filter(|b| b.producer == net.producer())
        .count();
    assert!(
        ours > 0,
        "partition: our producer did not produce on the majority side"
    );
}

/// Our scheduled slots with no block, between blocks `from` and `to`: with every other
/// producer healthy, each gap between consecutive blocks is our missed slots.
fn missed_slots(blocks: &[Block]) -> i64 {
    blocks
        .windows(2)
        .map(|w| w[1].slot() - w[0].slot() - 1)
        .sum()
}

/// Slots in a producer's turn.
const TURN: i64 = 12;
/// The Antelope block-time epoch (2000-01-01) as a Unix-based slot ([`Block::slot`]):
/// schedule positions count from it.
const EPOCH_SLOT: i64 = 946_684_800_000 / 500;
/// `onblock` proposes once the previous block is more than this past the last update.
const TICK_SLOTS: i64 = 120;
/// How far the forecast activation may be from the chain's, in slots. The forecast replays
/// Leap's legacy promotion rule on every slot but ours produced; measured 0 (and +1 before
/// `decision::cadence` checked a block's promotions against its own LIB rather than its
/// parent's). A missed slot of another producer on the loaded test machine, or a
/// `confirmed` count short of the rule, moves the real LIB, hence activation, by a block
/// or two.
const ACTIVE_TOLERANCE_SLOTS: i64 = 4;

/// `eosio`'s `onblock` (eos-system-contracts `producer_pay.cpp`) replayed on the chain's
/// blocks. It runs first in every block with the *previous* block's header; when that
/// block's slot is more than 120 past `global.last_producer_schedule_update` it calls
/// `update_elected_producers`, which sets the field to that slot and proposes the
/// producers table as the next schedule. `blocks` are consecutive and the field was
/// `last_update` after `blocks[0]`; returns the proposing blocks and the field after the
/// last block.
fn cadence_ticks(last_update: i64, blocks: &[Block]) -> (Vec<Block>, i64) {
    let mut last = last_update;
    let mut ticks = Vec::new();
    for w in blocks.windows(2) {
        if w[0].slot() - last > TICK_SLOTS {
            last = w[0].slot();
            ticks.push(w[1].clone());
        }
    }
    (ticks, last)
}

/// The same rule on future slots: the first proposing slot after `after`, with the head
/// at slot `head`, the field at `last`, and blocks in the slots where `produced` says so.
fn next_tick(mut last: i64, head: i64, after: i64, produced: impl Fn(i64) -> bool) -> i64 {
    let mut prev = head;
    for s in head + 1..head + 10 * TICK_SLOTS {
        if !produced(s) {
            continue;
        }
        if prev - last > TICK_SLOTS {
            if s > after {
                return s;
            }
            last = prev;
        }
        prev = s;
    }
    panic!("no schedule proposal predicted within 1200 slots of {head}");
}

/// Whether a proposal `offset` slots after T (the first block after our 12th missed slot)
/// is caught by a push at T but missed by one that waits for the default `confirm_turns`
/// (3) turns of other producers: such a push lands at T + 37 at the earliest. (A push
/// decided at T lands at T + 1 and is caught by a proposal from T + 2 on; the daemon's
/// early switch acts 2–4 slots before the proposal, so from T + 4 on.)
fn waiting_misses_tick(offset: i64) -> bool {
    (4..=34).contains(&offset)
}

/// Where the primary-down outage falls in the contract's cadence.
#[derive(Debug, Clone, Copy)]
struct Outage {
    /// Our turn's first slot; the primary is killed just before it, so the 12th miss is
    /// the turn's last slot and T the next producer's first block, at `turn + 12`.
    turn: i64,
    /// Slots from T to the proposal a push included in the block after T catches.
    tick_after_threshold: i64,
}

/// Picks the outage from the chain's cadence: of our next three turns, the first where a
/// push waiting for the confirming turns would miss the proposal a push at the threshold
/// catches, so that the early switch is exercised (or, with
/// `BP_FAILOVER_REALNODE_PHASE=late`, the first where it would not: the proposal at least
/// 40 slots after T); the next turn when none is.
fn plan_outage(net: &Net) -> Outage {
    let late = std::env::var("BP_FAILOVER_REALNODE_PHASE").as_deref() == Ok("late");
    let me = net.producer();
    let sched = net.schedule("api1");
    let prods = sched["active"]["producers"].as_array().unwrap();
    let n = prods.len() as i64;
    let index = prods
        .iter()
        .position(|p| p["producer_name"] == me.as_str())
        .expect("our producer in the active schedule") as i64;
    let rotation = n * TURN;
    let (h, last) = net.schedule_update("api1");
    let head = net.block("api1", h).slot();
    let ours = move |s: i64| (s - EPOCH_SLOT).rem_euclid(rotation) / TURN == index;
    // Far enough ahead to kill the primary before the turn begins.
    let first = (head + 8..)
        .find(|&s| ours(s) && !ours(s - 1))
        .expect("our turn in the schedule");
    let candidates: Vec<Outage> = (0..3)
        .map(|k| {
            let turn = first + k * rotation;
            let t = turn + TURN;
            let tick = next_tick(last, head, t + 1, |s| s < turn || !ours(s));
            Outage {
                turn,
                tick_after_threshold: tick - t,
            }
        })
        .collect();
    log(format!(
        "cadence: last update at slot {last} (head {h}); our next turns: {}",
        candidates
            .iter()
            .map(|o| format!("{} (proposal T+{})", o.turn, o.tick_after_threshold))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    *candidates
        .iter()
        .find(|o| {
            if late {
                o.tick_after_threshold >= 40
            } else {
                waiting_misses_tick(o.tick_after_threshold)
            }
        })
        .unwrap_or(&candidates[0])
}

fn slot_of(v: &serde_json::Value) -> i64 {
    harness::parse_time_ms(v.as_str().expect("a block time")) / 500
}

fn primary_down(net: &Net, cfg: &std::path::Path) -> Figures {
    log("primary down: kill the primary node; expect one regproducer to the backup key");
    let d = Daemon::start_with(cfg, "primary_down.log", &["-v"]);
    outage(net, vec![d], "primary", "backup", false).0
}

/// The node `down` (signing our blocks) is killed while `daemons` watch; expects one key
/// switch to `up`'s key, through one observer's regproducer or (`msig`) through one
/// `eosio.msig::exec`, and judges from the chain the slots lost against the minimum.
/// Returns the figures and each daemon's events.
fn outage(
    net: &Net,
    daemons: Vec<Daemon>,
    down: &str,
    up: &str,
    msig: bool,
) -> (Figures, Vec<Vec<serde_json::Value>>) {
    let me = net.producer();
    // The key switched to (the backup's, in `primary_down`).
    let backup = net.pub_key(up);
    // Daemons that have been watching: they have the participation history they need (a
    // rotation of the other producers' turns) before the outage, as in production.
    wait_for(
        "the daemons to watch a whole rotation",
        Duration::from_secs(120),
        || {
            daemons
                .iter()
                .all(|d| d.names().iter().filter(|n| *n == "round_summary").count() >= 3)
                .then_some(())
        },
    );
    // The kill is timed from the chain's cadence (see `plan_outage`); everything judged
    // below is read from the chain again after the fact.
    let (start, last_update) = net.schedule_update("api1");
    let version_before = net.schedule("api1")["active"]["version"].as_u64().unwrap();
    let outage = plan_outage(net);
    log(format!(
        "outage planned at our turn starting at slot {} (T + {} to the proposal a push at the threshold catches; waiting for the confirming turns would {})",
        outage.turn,
        outage.tick_after_threshold,
        if waiting_misses_tick(outage.tick_after_threshold) { "miss it" } else { "not miss it" }
    ));
    wait_for(
        "the turn before ours to end",
        Duration::from_secs(120),
        || (net.block("api1", net.head("api1")).slot() >= outage.turn - 4).then_some(()),
    );
    let from = net.head("api1");
    net.stop(down);
    let kill_ms = chrono::Utc::now().timestamp_millis();
    let row = wait_for(
        "the producers row to hold the backup key",
        Duration::from_secs(240),
        || {
            let r = net.producers_row();
            (r["producer_key"] == backup.as_str()).then_some(r)
        },
    );
    assert_eq!(row["url"], net.url().as_str(), "url changed");
    assert_eq!(
        row["location"].as_u64(),
        Some(net.location()),
        "location changed"
    );
    let push_num = wait_for("the key switch in a block", Duration::from_secs(60), || {
        if msig {
            return exec_block(net, from);
        }
        let sw = net.key_switches("api1", from, net.head("api1"));
        sw.first().map(|s| s.0)
    });
    // The backup node signs our blocks once the schedule promotes the key. Meanwhile the
    // head's block header state tells which block made the new schedule pending (it is
    // irreversible, and its header state gone, by the time the schedule is active).
    let mut pending_num = None;
    let mut next = push_num + 1;
    let first_backup_block = wait_for(
        "a block by our producer from the backup node",
        Duration::from_secs(420),
        || {
            let h = net.head("api1");
            if pending_num.is_none() {
                pending_num = net
                    .pending_schedule("api1", h)
                    .filter(|&(v, _)| v > version_before)
                    .map(|(_, at)| at);
            }
            while next <= h {
                if net.block("api1", next).producer == me {
                    return Some(next);
                }
                next += 1;
            }
            None
        },
    );
    let all_events: Vec<Vec<serde_json::Value>> = daemons.iter().map(|d| d.events()).collect();
    for d in daemons {
        d.stop();
    }
    // The forecast judged below is the one of the daemon whose push switched the key (in
    // msig mode, the one that executed the proposal).
    let events = all_events
        .iter()
        .find(|ev| {
            !msig
                || ev
                    .iter()
                    .any(|e| e["event"] == "msig_approved" && e["executed"] == true)
        })
        .cloned()
        .expect("the daemon that executed the proposal");
    // The chain's cadence, checked against the contract's own record: the field replayed
    // over every block since `start` equals the `global` row read now.
    let (end, last_update_end) = net.schedule_update("api1");
    let all = net.blocks("api1", start, end.max(first_backup_block));
    let upto_end = &all[..=(end - start) as usize];
    let (ticks, replayed) = cadence_ticks(last_update, upto_end);
    assert_eq!(
        replayed, last_update_end,
        "the onblock rule replayed on blocks {start}..={end} disagrees with global.last_producer_schedule_update"
    );
    let blocks: Vec<Block> = all
        .iter()
        .filter(|b| b.num >= from && b.num <= first_backup_block)
        .cloned()
        .collect();
    let sw = net.key_switches("api1", from, first_backup_block);
    if msig {
        // Only exec may switch: no regproducer outside eosio.msig, one exec.
        assert!(sw.is_empty(), "a regproducer outside eosio.msig: {sw:?}");
        let execs: Vec<u32> = blocks
            .iter()
            .filter(|b| {
                b.actions
                    .iter()
                    .any(|(a, n, _)| a == "eosio.msig" && n == "exec")
            })
            .map(|b| b.num)
            .collect();
        assert_eq!(execs, [push_num], "expected exactly one exec");
        assert_eq!(net.producers_row()["producer_key"], backup.as_str());
    } else {
        assert_eq!(
            sw.len(),
            1,
            "primary down: expected exactly one key switch, got {sw:?}"
        );
        assert_eq!(sw[0].2, backup, "switched to the wrong key");
        assert_eq!(sw[0].0, push_num);
    }
    let push_block = blocks.iter().find(|b| b.num == push_num).unwrap().clone();
    let activation = blocks
        .iter()
        .find(|b| b.schedule_version > version_before)
        .expect("a new schedule version before the backup's first block")
        .clone();
    assert_eq!(net.active_key("api1").as_deref(), Some(backup.as_str()));
    let lost = missed_slots(&blocks);
    let after_push: Vec<Block> = blocks
        .iter()
        .filter(|b| b.num >= push_block.num)
        .cloned()
        .collect();
    let lost_after_push = missed_slots(&after_push);
    assert!(lost >= lost_after_push);

    // T: the first block after our 12th missed slot, when the threshold was knowable.
    let mut missed = 0;
    let threshold = blocks
        .windows(2)
        .find_map(|w| {
            missed += w[1].slot() - w[0].slot() - 1;
            (missed >= 12).then(|| w[1].clone())
        })
        .expect("12 missed slots before the backup's first block");
    let tick_after = |num: u32| {
        ticks
            .iter()
            .find(|b| b.num > num)
            .unwrap_or_else(|| panic!("no proposal after block {num} in {ticks:?}"))
            .clone()
    };
    // A push at the threshold lands in the block after T; the proposal after that block
    // carries it (one in that very block runs `onblock` before the transaction).
    let threshold_tick = tick_after(threshold.num + 1);
    let push_tick = tick_after(push_num);
    let pending_num = pending_num.expect("the new schedule seen pending in a head's header state");
    assert!(
        push_tick.num < pending_num && pending_num < activation.num,
        "proposal {} < pending {pending_num} < active {} does not hold",
        push_tick.num,
        activation.num
    );
    let figures_so_far = format!(
        "kill at block {from}, T = block {} (slot {}), push in block {push_num}, proposals {:?}, pending at {pending_num}, active at block {} (slot {}), lost {lost}",
        threshold.num,
        threshold.slot(),
        ticks.iter().map(|b| (b.num, b.slot())).collect::<Vec<_>>(),
        activation.num,
        activation.slot()
    );
    log(format!("{down} down, from the chain: {figures_so_far}"));
    // Our loss is the chain's minimum for a push at the threshold iff both catch the same
    // proposal: the promotion after it is then the same blocks.
    assert_eq!(
        push_tick.num, threshold_tick.num,
        "the daemon's push missed the proposal a push at the threshold catches: {figures_so_far}"
    );

    // The forecast the daemon emitted with `failover_triggered`, against the chain.
    let triggered = events
        .iter()
        .find(|e| e["event"] == "failover_triggered")
        .expect("failover_triggered in the daemon's log");
    let fc = &triggered["forecast"];
    assert!(
        fc.is_object(),
        "failover_triggered without a forecast: {triggered}"
    );
    let proposal_error = slot_of(&fc["proposal_at"]) - push_tick.slot();
    let active_error = slot_of(&fc["active_at"]) - activation.slot();
    let expected_lost = fc["expected_lost_blocks"].as_i64().unwrap();
    assert_eq!(
        proposal_error, 0,
        "forecast proposal {} vs the chain's: {figures_so_far}",
        fc["proposal_at"]
    );
    assert!(
        active_error.abs() <= ACTIVE_TOLERANCE_SLOTS,
        "forecast activation {} is {active_error} slots off the chain's: {figures_so_far}",
        fc["active_at"]
    );
    assert!(
        (expected_lost - lost).abs() <= ACTIVE_TOLERANCE_SLOTS,
        "forecast loss {expected_lost} vs the chain's {lost}: {figures_so_far}"
    );
    let backup_block = blocks.last().unwrap();
    let figures = Figures {
        kill_to_push_s: (push_block.time_ms - kill_ms) as f64 / 1000.0,
        push_to_active_s: (activation.time_ms - push_block.time_ms) as f64 / 1000.0,
        push_to_first_backup_block_s: (backup_block.time_ms - push_block.time_ms) as f64 / 1000.0,
        lost,
        lost_after_push,
        minimum: lost,
        threshold_tick: threshold_tick.slot() - threshold.slot(),
        push_tick: push_tick.slot() - threshold.slot(),
        push_after_threshold: push_block.slot() - threshold.slot(),
        before_proposal: fc["before_proposal"].as_bool().unwrap_or(false),
        waiting_misses_tick: waiting_misses_tick(threshold_tick.slot() - threshold.slot()),
        proposal_error,
        active_error,
        lost_error: expected_lost - lost,
    };
    (figures, all_events)
}

/// Primary and backup nodes both down: the daemon must not push to a dead data center.
fn both_down(net: &Net, cfg: &std::path::Path) {
    log("primary and backup down: no switch to a dead node");
    net.stop("backup");
    let from = net.head("api1");
    let d = Daemon::start(cfg, "both_down.log");
    let t0 = Instant::now();
    wait_for("the daemon to see our outage", WATCH, || {
        (t0.elapsed() >= WATCH - Duration::from_secs(1)).then_some(())
    });
    let names = d.names();
    d.stop();
    assert!(
        !names.iter().any(|n| n == "transaction_pushed"),
        "both down: {names:?}"
    );
    assert_no_switch(net, from, "both down");
    assert!(
        names.iter().any(|n| n == "failover_suppressed"),
        "both down: the daemon did not say why it held: {names:?}"
    );
    net.start("primary");
    net.start("backup");
}

/// Waits until our producer signs a block with `node_name`'s key in the active schedule.
fn wait_active(net: &Net, key: &str, what: &str) {
    let me = net.producer();
    wait_for(what, Duration::from_secs(420), || {
        if net.active_key("api1").as_deref() != Some(key) {
            return None;
        }
        let h = net.head("api1");
        (h.saturating_sub(30)..=h)
            .any(|n| net.block("api1", n).producer == me)
            .then_some(())
    });
}

fn wait_row_key(net: &Net, key: &str, what: &str) {
    wait_for(what, Duration::from_secs(240), || {
        (net.producers_row()["producer_key"] == key).then_some(())
    });
}

/// The daemon is SIGKILLed the moment it logs `failover_triggered` (before or while it
/// pushes), then started again: still exactly one key switch on chain.
fn killed_after_trigger(net: &Net, cfg: &std::path::Path) {
    log("daemon killed right after triggering: active key backup, backup node dies");
    let primary = net.pub_key("primary");
    let from = net.head("api1");
    let d = Daemon::start(cfg, "killed_trigger_1.log");
    d.wait_event("quorum_changed", Duration::from_secs(30));
    net.stop("backup");
    d.kill_on("failover_triggered", Duration::from_secs(180));
    let d = Daemon::start(cfg, "killed_trigger_2.log");
    wait_row_key(net, &primary, "the producers row to hold the primary key");
    // Let the restarted daemon watch the promotion through: it must not push again.
    wait_active(net, &primary, "the primary key to be active and signing");
    let names = d.names();
    d.stop();
    let sw = net.key_switches("api1", from, net.head("api1"));
    assert_eq!(
        sw.len(),
        1,
        "killed after trigger: expected one key switch, got {sw:?} (second daemon: {names:?})"
    );
    assert_eq!(sw[0].2, primary);
    net.start("backup");
}

/// The daemon is SIGKILLed the moment it logs `transaction_pushed`, then started again:
/// still exactly one key switch on chain.
fn killed_after_push(net: &Net, cfg: &std::path::Path) {
    log("daemon killed right after pushing: active key primary, primary node dies");
    let backup = net.pub_key("backup");
    let from = net.head("api1");
    let d = Daemon::start(cfg, "killed_push_1.log");
    d.wait_event("quorum_changed", Duration::from_secs(30));
    net.stop("primary");
    d.kill_on("transaction_pushed", Duration::from_secs(180));
    let d = Daemon::start(cfg, "killed_push_2.log");
    wait_row_key(net, &backup, "the producers row to hold the backup key");
    // The restarted daemon sees our blocks still missing while the key is promoted.
    let t0 = Instant::now();
    wait_for("the restarted daemon to watch the promotion", WATCH, || {
        (t0.elapsed() >= WATCH - Duration::from_secs(1)).then_some(())
    });
    let names = d.names();
    d.stop();
    let sw = net.key_switches("api1", from, net.head("api1"));
    assert_eq!(
        sw.len(),
        1,
        "killed after push: expected one key switch, got {sw:?} (second daemon: {names:?})"
    );
    assert_eq!(sw[0].2, backup);
    assert!(
        !names.iter().any(|n| n == "transaction_pushed"),
        "{names:?}"
    );
    net.start("primary");
}

/// `failover --dry-run` pushes nothing; `failover --yes` switches exactly once.
fn manual_failover(net: &Net, cfg: &std::path::Path) {
    let row = net.producers_row();
    let current = row["producer_key"].as_str().unwrap().to_string();
    let (to, key) = if current == net.pub_key("primary") {
        ("backup", net.pub_key("backup"))
    } else {
        ("primary", net.pub_key("primary"))
    };
    // A key change still in flight (the previous scenario leaves one being promoted): the
    // command refuses it without --force, then we wait for the schedule to carry it.
    if net.active_key("api1").as_deref() != Some(current.as_str()) {
        log("a key change is in flight: failover must refuse it without --force");
        let refused = bp(cfg, &["failover", "--to", to, "--dry-run"]);
        assert!(
            !refused.status.success() && text(&refused).contains("already in flight"),
            "failover while a change is in flight:\n{}",
            text(&refused)
        );
        wait_for(
            "the key change in flight to become active",
            Duration::from_secs(300),
            || (net.active_key("api1").as_deref() == Some(current.as_str())).then_some(()),
        );
    }
    log(format!("manual failover to {to}: dry run, then --yes"));
    let from = net.head("api1");
    let dry = bp(cfg, &["failover", "--to", to, "--dry-run"]);
    assert!(dry.status.success(), "failover --dry-run:\n{}", text(&dry));
    // Give a push every chance to land: several blocks on every API node.
    let h = net.head("node_a") + 6;
    wait_for("6 more blocks", Duration::from_secs(30), || {
        (["api1", "api2", "api3"].iter().all(|n| net.head(n) >= h)).then_some(())
    });
    assert_no_switch(net, from, "failover --dry-run");
    assert_eq!(net.producers_row()["producer_key"], current.as_str());

    let out = bp(cfg, &["failover", "--to", to, "--yes"]);
    assert!(out.status.success(), "failover --yes:\n{}", text(&out));
    wait_row_key(net, &key, "the producers row to hold the new key");
    let h = net.head("node_a") + 6;
    wait_for("6 more blocks", Duration::from_secs(30), || {
        (["api1", "api2", "api3"].iter().all(|n| net.head(n) >= h)).then_some(())
    });
    let sw = net.key_switches("api1", from, net.head("api1"));
    assert_eq!(
        sw.len(),
        1,
        "failover --yes: expected one key switch, got {sw:?}"
    );
    assert_eq!(sw[0].2, key);
    let row_after = net.producers_row();
    assert_eq!(row_after["url"], row["url"]);
    assert_eq!(row_after["location"], row["location"]);
}

#[test]
fn dry_run_with_unauthorized_key_fails() {
    if !harness::enabled("dry_run_with_unauthorized_key_fails") {
        return;
    }
    let _one = ONE_NETWORK_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let net = Net::boot();
    // Sign with a key that is not in ourbp@failover.
    let cfg = net.write_config(&net.path().join("unauthorized"), &net.key("foreign").1, "");
    let from = net.head("api1");
    let out = bp(&cfg, &["failover", "--to", "backup", "--dry-run"]);
    assert!(
        !out.status.success(),
        "a dry run signed with a key not in {}@failover must fail (nodeos' compute_transaction does not check authorization):\n{}",
        net.producer(),
        text(&out)
    );
    assert_no_switch(&net, from, "dry run");
}
