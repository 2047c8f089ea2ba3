//! The drill's judgement: the report (from the simulated chain, the ground truth, and the
//! narrator's first sightings of each event), its text, and the words for scenarios and
//! networks that `drill` and `simulate` print.

use std::collections::HashMap;

use serde::Serialize;

use super::narrate::{wrap, Narrator};
use super::scenario::{self, Params};
use super::{Expect, Scenario};
use crate::antelope::BlockTimestamp;
use crate::sim::chain::REPETITIONS;
use crate::sim::{Consensus, Network};

/// The drill's result, printed at the end (`--json`: the only output).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub producers: usize,
    pub consensus: String,
    pub observers: usize,
    pub time_scale: f64,
    /// Chain seconds simulated, and wall-clock seconds it took.
    pub chain_secs: f64,
    pub wall_secs: f64,
    pub expected: String,
    pub actual: String,
    /// The outcome matched the expectation: the exit code is 0.
    pub passed: bool,
    /// Why it did not, from the scenario's check.
    pub mismatch: Option<String>,
    pub interrupted: bool,
    /// Chain seconds from the start of the incident to our first missed slot.
    pub first_missed_slot_at: Option<f64>,
    /// Chain seconds from our first missed slot to `failover_triggered`.
    pub detection_secs: Option<f64>,
    /// Chain seconds from our first missed slot to each milestone.
    pub transaction_pushed_secs: Option<f64>,
    pub key_registered_secs: Option<f64>,
    pub key_change_confirmed_secs: Option<f64>,
    pub first_new_key_block_secs: Option<f64>,
    /// The data center whose key signed our first block after the first miss, when it
    /// is not the primary.
    pub new_key_datacenter: Option<String>,
    /// Our scheduled slots missed from the first miss to the first block signed with the
    /// new key (to the end of the run when there is none).
    pub blocks_lost: u32,
    /// Transactions the observers pushed (ids).
    pub transaction_ids: Vec<String>,
    /// Accepted transactions that changed our registered key.
    pub key_changes_on_chain: usize,
    /// Reasons the observers held back, with their explanation.
    pub holds: Vec<Hold>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hold {
    pub reason: String,
    pub detail: String,
    pub why: String,
}

pub(super) fn slot_ms(slot: u32) -> i64 {
    BlockTimestamp(slot).unix_ms()
}

/// Milliseconds as seconds, to a tenth.
pub(super) fn secs(ms: i64) -> f64 {
    (ms as f64 / 100.0).round() / 10.0
}

pub(super) fn actual_text(switches: &[Option<String>]) -> String {
    let names: Vec<&str> = switches
        .iter()
        .map(|d| d.as_deref().unwrap_or("an unknown key"))
        .collect();
    match names.as_slice() {
        [] => "no switch: the signing key stayed where it was".into(),
        [one] => format!("one key switch, to {one}"),
        many => format!("{} key switches: to {}", many.len(), many.join(", then ")),
    }
}

/// What the simulated chain itself shows about our producer after the start.
#[derive(Debug, Default)]
pub(super) struct ChainFacts {
    /// Slot of our first scheduled slot without a block.
    pub(super) first_miss: Option<u32>,
    /// Slot of our first block after that, signed by a data center other than the primary,
    /// and that data center's index.
    pub(super) first_new: Option<(u32, usize)>,
    /// Our scheduled slots missed from `first_miss` to `first_new` (or the end).
    pub(super) lost: u32,
}

pub(super) fn chain_facts(
    net: &Network,
    start_slot: u32,
    our: crate::antelope::Name,
) -> ChainFacts {
    net.with_chain(|c| {
        let ours: HashMap<u32, Option<usize>> = c
            .blocks_from(c.oldest().num)
            .filter(|b| b.slot > start_slot && b.producer == our)
            .map(|b| (b.slot, b.datacenter))
            .collect();
        let mut f = ChainFacts::default();
        for slot in start_slot + 1..=c.slot() {
            if c.scheduled_producer(slot) != Some(our) {
                continue;
            }
            match ours.get(&slot) {
                None if f.first_new.is_none() => {
                    f.first_miss.get_or_insert(slot);
                    f.lost += 1;
                }
                Some(Some(dc)) if *dc != 0 && f.first_miss.is_some() && f.first_new.is_none() => {
                    f.first_new = Some((slot, *dc));
                }
                _ => {}
            }
        }
        f
    })
}

/// For runs without a switch: why the observer stayed put.
pub(super) fn why_no_switch(n: &Narrator, r: &Report) -> String {
    let mut t = String::from("\nWhy no switch:\n");
    if r.blocks_lost == 0 {
        t.push_str(&wrap(
            "  - ",
            &format!(
                "{} never missed a slot on the chain the majority follows: there was nothing to fix",
                n.our
            ),
        ));
        t.push('\n');
    }
    let mut any = false;
    for h in &r.holds {
        any = true;
        t.push_str(&wrap(
            "  - ",
            &format!(
                "held ({}): {}. Why it matters: {}",
                h.reason, h.detail, h.why
            ),
        ));
        t.push('\n');
    }
    let mut problems: Vec<&String> = Vec::new();
    for p in &n.view_problems {
        if !problems.contains(&p) {
            problems.push(p);
        }
    }
    for p in problems.iter().take(4) {
        any = true;
        t.push_str(&wrap("  - ", &format!("the observer's view: {p}")));
        t.push('\n');
    }
    if r.blocks_lost > 0 && !any {
        t.push_str(&wrap(
            "  - ",
            &format!(
                "{} missed {} slot(s), never {} in a row as the observer saw it: below the threshold",
                n.our, r.blocks_lost, n.policy.missed_blocks
            ),
        ));
        t.push('\n');
    }
    t
}

fn opt_secs(v: Option<f64>) -> String {
    v.map_or("—".into(), |s| format!("{s:.1} s"))
}

/// The closing report, as text.
pub fn render_report(r: &Report) -> String {
    let rows: Vec<(&str, String)> = vec![
        ("scenario", r.scenario.clone()),
        (
            "network",
            format!(
                "{} producers, {}, {} observer(s); {:.0} chain seconds in {:.1} s",
                r.producers, r.consensus, r.observers, r.chain_secs, r.wall_secs
            ),
        ),
        ("expected", r.expected.clone()),
        (
            "actual",
            format!(
                "{} — {}",
                r.actual,
                if r.passed { "as expected" } else { "NOT as expected" }
            ),
        ),
        (
            "first missed slot",
            r.first_missed_slot_at
                .map_or("none".into(), |t| format!("T{t:+.1}s")),
        ),
        ("detection", opt_secs(r.detection_secs)),
        ("transaction pushed", opt_secs(r.transaction_pushed_secs)),
        ("key registered", opt_secs(r.key_registered_secs)),
        ("key change confirmed", opt_secs(r.key_change_confirmed_secs)),
        (
            "first new-key block",
            match (&r.new_key_datacenter, r.first_new_key_block_secs) {
                (Some(dc), Some(s)) => format!("{s:.1} s (signed by {dc})"),
                _ => "—".into(),
            },
        ),
        (
            "blocks lost",
            match (r.blocks_lost, r.first_new_key_block_secs) {
                (0, _) => "0".into(),
                (n, Some(_)) => format!(
                    "{n} (our scheduled slots missed from the first miss to the first block with the new key)"
                ),
                (n, None) => format!(
                    "{n} (our scheduled slots missed from the first miss to the end of the run: no block with another key)"
                ),
            },
        ),
        (
            "transaction",
            if r.transaction_ids.is_empty() {
                "none pushed".into()
            } else {
                r.transaction_ids.join(", ")
            },
        ),
        ("key changes on chain", r.key_changes_on_chain.to_string()),
    ];
    let mut t = String::from("\nReport (times in chain seconds from the first missed slot):\n");
    for (k, v) in rows {
        t.push_str(&wrap(&format!("  {k:<21} "), &v));
        t.push('\n');
    }
    if let Some(m) = &r.mismatch {
        t.push_str(&wrap("  mismatch              ", m));
        t.push('\n');
    }
    t.push_str(&format!(
        "{}: exit code {}",
        if r.passed { "PASS" } else { "FAIL" },
        if r.passed { 0 } else { 1 }
    ));
    t
}

/// What should happen, in words.
pub fn expect_text(e: &Expect) -> String {
    match e {
        Expect::NoSwitch => "no switch: the signing key must stay where it is".into(),
        Expect::Switch { to, count: 1 } => format!("one key switch, to {to}"),
        Expect::Switch { to, count } => format!("{count} key switches, ending on {to}"),
    }
}

/// The network's description, as `(label, text)` rows: chain, schedule, endpoints, our
/// data centers, the script.
pub fn network_lines(s: &Scenario, net: &Network) -> Vec<(&'static str, String)> {
    let spec = &s.spec.chain;
    let n = spec.producers.len();
    let position = spec
        .producers
        .iter()
        .position(|p| *p == spec.our_producer)
        .map_or(0, |i| i + 1);
    let turn_secs = f64::from(REPETITIONS) / 2.0;
    let rotation_secs = n as f64 * turn_secs;
    let mut lines = vec![
        ("chain", format!(
            "{n} producers, {}, a block every 0.5 s, chain id {}…",
            match spec.consensus {
                Consensus::Savanna => "Savanna consensus (a new schedule takes effect within seconds of being proposed)",
                Consensus::Legacy => "legacy DPoS consensus (a new schedule takes effect only after LIB passes it twice: minutes)",
            },
            &spec.chain_id.to_string()[..12]
        )),
        ("schedule", format!(
            "each producer signs {REPETITIONS} blocks in a row (a {turn_secs:.0} s turn); a rotation \
             takes {rotation_secs:.0} s; {} is {} of {n}; the system contract refreshes the schedule \
             every {:.0} s",
            spec.our_producer,
            ordinal(position),
            f64::from(spec.schedule_tick_slots) / 2.0
        )),
        ("producer", format!(
            "{}, whose key switches are signed by {}@{} (a fresh key, linked to the key-registration actions only)",
            spec.our_producer, spec.our_producer, spec.failover_permission
        )),
    ];
    let urls = net.endpoint_urls();
    for (i, (url, b)) in urls.iter().zip(&s.spec.endpoints).enumerate() {
        let label = if i == 0 { "endpoints" } else { "" };
        lines.push((label, format!("#{} {url}  {b}", i + 1)));
    }
    let nodes = net.node_urls();
    let keys = net.with_chain(|c| {
        c.datacenters()
            .iter()
            .map(|d| (d.name.clone(), d.public_key()))
            .collect::<Vec<_>>()
    });
    for (i, (name, key)) in keys.iter().enumerate() {
        let label = if i == 0 { "datacenters" } else { "" };
        let url = nodes
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, u)| u.as_str());
        let role = if i == 0 {
            "registered key, producing"
        } else {
            "standby"
        };
        lines.push((
            label,
            format!("{name:<8} {} node {url} ({role})", key.to_k1_string()),
        ));
    }
    let mut events = s.spec.events.clone();
    events.sort_by_key(|e| e.at);
    if events.is_empty() {
        lines.push(("script", "nothing happens".into()));
    }
    for (i, e) in events.iter().enumerate() {
        let label = if i == 0 { "script" } else { "" };
        lines.push((
            label,
            format!(
                "{:>8}  {}",
                format!("+{:.1} s", f64::from(e.at) / 2.0),
                e.change
            ),
        ));
    }
    lines
}

/// 1st, 2nd, 3rd, 4th, … 11th, 12th, 13th, 21st.
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[derive(Serialize)]
struct Listed {
    name: &'static str,
    expect: String,
    description: &'static str,
}

/// The built-in scenarios, one line each (`drill --list`), or as JSON.
pub fn scenario_list(json: bool) -> String {
    let params = Params {
        start_slot: 1_000_000,
        ..Params::default()
    };
    let listed: Vec<Listed> = scenario::list()
        .into_iter()
        .map(|(name, description)| Listed {
            name,
            expect: scenario::builtin(name, &params)
                .map(|s| short_expect(&s.expect))
                .unwrap_or_default(),
            description,
        })
        .collect();
    if json {
        return serde_json::to_string(&listed).unwrap_or_default();
    }
    let width = listed.iter().map(|l| l.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for l in &listed {
        out.push_str(&format!(
            "{:<width$}  {:<11}  {}\n",
            l.name,
            l.expect,
            first_sentence(l.description)
        ));
    }
    out.push_str(&format!(
        "\nrun one: bp-failover drill --scenario NAME (default: {})",
        listed.first().map_or("", |l| l.name)
    ));
    out
}

fn short_expect(e: &Expect) -> String {
    match e {
        Expect::NoSwitch => "no switch".into(),
        Expect::Switch { to, .. } => format!("→ {to}"),
    }
}

/// The first sentence of a description ("… synced. The observer …" → "… synced.").
fn first_sentence(text: &str) -> &str {
    let b = text.as_bytes();
    for i in 0..b.len().saturating_sub(2) {
        if b[i] == b'.' && b[i + 1] == b' ' && b[i + 2].is_ascii_uppercase() {
            return &text[..=i];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sentence_stops_at_a_sentence_end() {
        assert_eq!(first_sentence("One (a.b). Two."), "One (a.b).");
        assert_eq!(first_sentence("No end"), "No end");
        assert_eq!(first_sentence("2N/3+1. and on"), "2N/3+1. and on");
    }

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            got,
            ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]
        );
    }
}
