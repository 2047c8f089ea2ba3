//! The drill's narration: the daemon's events and the simulated world's changes, in plain
//! words, one line each, timed in chain seconds from the start of the incident.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::report::{expect_text, network_lines, Hold};
use super::Scenario;
use crate::decision::Policy;
use crate::events::{ConsensusMode, Event, QuorumStatus};
use crate::quorum::{QuorumView, Verdict};
use crate::sim::Network;

/// Width the narration wraps at.
const WIDTH: usize = 100;

/// Where the narration goes: a writer, or nowhere (`--json`).
pub struct Out {
    w: Option<Box<dyn Write + Send>>,
}

impl Out {
    /// To standard output.
    pub fn stdout() -> Self {
        Out {
            w: Some(Box::new(std::io::stdout())),
        }
    }

    /// Nowhere.
    pub fn quiet() -> Self {
        Out { w: None }
    }

    pub fn is_quiet(&self) -> bool {
        self.w.is_none()
    }

    pub fn print(&mut self, text: &str) {
        if let Some(w) = self.w.as_mut() {
            let _ = writeln!(w, "{text}");
            let _ = w.flush();
        }
    }
}

/// What one observer's view showed after its last round.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Seen {
    agreeing: usize,
    configured: usize,
    lib: Option<u32>,
}

impl Seen {
    pub(super) fn of(view: Option<&QuorumView>) -> Seen {
        view.map_or_else(Seen::default, |v| Seen {
            agreeing: v
                .endpoints
                .iter()
                .filter(|e| e.verdict == Verdict::Agrees)
                .count(),
            configured: v.configured,
            lib: v.quorum().map(|q| q.lib.num),
        })
    }
}

/// The opening: the scenario, the network, our data centers, the observer's policy.
pub(super) fn intro(
    s: &Scenario,
    net: &Network,
    policy: &Policy,
    time_scale: f64,
    observers: usize,
    dir: &Path,
    keep: bool,
) -> String {
    let mut t = String::new();
    t.push_str(&wrap(
        "",
        &format!("bp-failover drill: {} — {}", s.name, s.description),
    ));
    t.push_str(&format!(
        "\n\nThe simulated network (on this machine, 127.0.0.1, ×{time_scale} real time):\n"
    ));
    for (label, text) in network_lines(s, net) {
        t.push_str(&wrap(&format!("  {label:<11} "), &text));
        t.push('\n');
    }
    t.push_str(&wrap(
        &format!("  {:<11} ", "expected"),
        &expect_text(&s.expect),
    ));
    t.push_str("\n\n");
    t.push_str(&wrap(
        "",
        &format!(
            "The observer{}: the real bp-failover daemon, polling the endpoints once per slot \
             with chain time as its clock, default policy. It fails over after {} consecutive \
             missed slots of the active key, once {} turns of other producers confirm the rest \
             of the network is producing, and only if at least {:.0}% of other producers' recent \
             turns produced, the last irreversible block (LIB) advanced within {} s, a majority of \
             endpoints agree, and the target's node is ready. Its config and fresh key{}: {}",
            if observers > 1 {
                format!("s ({observers}, each on its own)")
            } else {
                String::new()
            },
            policy.missed_blocks,
            policy.confirm_turns,
            policy.min_participation * 100.0,
            policy.lib_stall_secs,
            if keep { "" } else { " (removed at the end)" },
            dir.display()
        ),
    ));
    t.push_str("\n\n");
    t.push_str(&wrap(
        "",
        "Timeline, in chain seconds from the start of the incident (T+0). [network] and [chain] \
         are the simulator; [observer] is what the daemon saw and did.",
    ));
    t
}

/// Narrates events and keeps what the report needs.
pub(super) struct Narrator {
    incident_ms: i64,
    pub(super) our: String,
    pub(super) policy: Policy,
    observers: usize,
    /// Chain time of the first occurrence of each event (any observer).
    pub(super) first: BTreeMap<&'static str, i64>,
    pub(super) tx_ids: Vec<String>,
    pub(super) holds: Vec<Hold>,
    /// Quorum problems and endpoint exclusions the observers reported.
    pub(super) view_problems: Vec<String>,
    /// Endpoint URLs in config order, to call them `#1`, `#2`…
    pub(super) endpoints: Vec<String>,
    /// This round's endpoint verdict changes `(excluded, endpoint, reason)`, said as one
    /// line per reason.
    endpoint_changes: Vec<(bool, String, String)>,
    /// Observer 0's last consecutive-miss count narrated.
    told_missed: u32,
    lib_now: Option<u32>,
    lib_at_first_miss: Option<u32>,
    participation: Option<f64>,
    confirming_told: bool,
    /// Hold reasons already explained in full (observer 0).
    holds_told: std::collections::BTreeSet<String>,
}

impl Narrator {
    pub(super) fn new(incident_ms: i64, our: String, policy: Policy, observers: usize) -> Self {
        Narrator {
            incident_ms,
            our,
            policy,
            observers,
            first: BTreeMap::new(),
            tx_ids: Vec::new(),
            holds: Vec::new(),
            view_problems: Vec::new(),
            endpoints: Vec::new(),
            endpoint_changes: Vec::new(),
            told_missed: 0,
            lib_now: None,
            lib_at_first_miss: None,
            participation: None,
            confirming_told: false,
            holds_told: Default::default(),
        }
    }

    pub(super) fn say(&self, out: &mut Out, at_ms: i64, who: &str, text: &str) {
        let t = format!("T{:+.1}s", (at_ms - self.incident_ms) as f64 / 1000.0);
        out.print(&wrap(&format!("{t:>9}  {:<11} ", format!("[{who}]")), text));
    }

    /// `#2` for the second configured endpoint (its URL when unknown).
    fn endpoint_name(&self, label: &str) -> String {
        let trimmed = label.trim_end_matches('/');
        self.endpoints
            .iter()
            .position(|u| u.trim_end_matches('/') == trimmed)
            .map_or_else(|| label.to_string(), |i| format!("#{}", i + 1))
    }

    /// Says this round's endpoint changes, one line per reason ("endpoints #1 and #3 no
    /// longer count: stale …").
    pub(super) fn flush_endpoints(&mut self, out: &mut Out, i: usize, at: i64) {
        let changes = std::mem::take(&mut self.endpoint_changes);
        let mut groups: Vec<((bool, String), Vec<String>)> = Vec::new();
        for (excluded, name, reason) in changes {
            let key = (excluded, reason);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, names)) => names.push(name),
                None => groups.push((key, vec![name])),
            }
        }
        for ((excluded, reason), names) in groups {
            let who = format!(
                "endpoint{} {}",
                if names.len() > 1 { "s" } else { "" },
                join_and(&names)
            );
            let text = if excluded {
                self.view_problems
                    .push(format!("{who} did not count: {reason}"));
                format!(
                    "{who} no longer count{}: {reason}",
                    if names.len() > 1 { "" } else { "s" }
                )
            } else {
                format!(
                    "{who} count{} again",
                    if names.len() > 1 { "" } else { "s" }
                )
            };
            let label = if self.observers > 1 {
                format!("observer{}", i + 1)
            } else {
                "observer".to_string()
            };
            self.say(out, at, &label, &text);
        }
    }

    pub(super) fn observe(&mut self, i: usize, seen: Seen) {
        if i == 0 && seen.lib.is_some() {
            self.lib_now = seen.lib;
        }
    }

    pub(super) fn on_event(&mut self, out: &mut Out, i: usize, at: i64, e: &Event, seen: Seen) {
        self.first.entry(e.name()).or_insert(at);
        let who = if self.observers > 1 {
            format!("observer{}", i + 1)
        } else {
            "observer".to_string()
        };
        // Further observers: only what they decide and do.
        let decisive = matches!(
            e,
            Event::FailoverTriggered { .. }
                | Event::FailoverSuppressed { .. }
                | Event::TransactionPushed { .. }
                | Event::TransactionFailed { .. }
                | Event::KeyRegistered { .. }
                | Event::KeyChangeConfirmed { .. }
                | Event::KeyProducing { .. }
                | Event::PendingOverdue { .. }
        );
        if let Event::TransactionPushed { id, .. } = e {
            let id = id.to_string();
            if !self.tx_ids.contains(&id) {
                self.tx_ids.push(id);
            }
        }
        if let Event::FailoverSuppressed { reason, detail, .. } = e {
            if !self.holds.iter().any(|h| h.reason == reason.as_str()) {
                self.holds.push(Hold {
                    reason: reason.to_string(),
                    detail: detail.clone(),
                    why: reason.explain().to_string(),
                });
            }
        }
        if i > 0 && !decisive {
            return;
        }
        if let Some(text) = self.text(e, seen) {
            self.say(out, at, &who, &text);
        }
    }

    /// The sentence for `e`, or `None` when it is not worth a line.
    fn text(&mut self, e: &Event, seen: Seen) -> Option<String> {
        let thr = self.policy.missed_blocks;
        let our = &self.our;
        Some(match e {
            Event::ObserverStarted { .. }
            | Event::ObserverStopped { .. }
            | Event::DryRunTransaction { .. } => return None,
            Event::QuorumChanged { state, detail } => match state {
                QuorumStatus::Agreed => format!(
                    "endpoints agree — {}",
                    detail.strip_prefix("agreed: ").unwrap_or(detail)
                ),
                QuorumStatus::EndpointsDisagree => {
                    self.view_problems
                        .push(format!("{detail} — {}", state.explain()));
                    format!(
                        "{detail}. The observer never acts on a split view: {}",
                        state.explain()
                    )
                }
                QuorumStatus::ObserverBlind => {
                    self.view_problems
                        .push(format!("{detail} — {}", state.explain()));
                    format!("{detail}. It holds: {}", state.explain())
                }
            },
            Event::EndpointUnhealthy { endpoint, reason } => {
                let name = self.endpoint_name(endpoint);
                self.endpoint_changes.push((true, name, reason.clone()));
                return None;
            }
            Event::EndpointDisagrees {
                endpoint,
                about,
                detail,
            } => {
                let name = self.endpoint_name(endpoint);
                self.endpoint_changes
                    .push((true, name, format!("disagrees about {about}: {detail}")));
                return None;
            }
            Event::EndpointRecovered { endpoint } => {
                let name = self.endpoint_name(endpoint);
                self.endpoint_changes.push((false, name, String::new()));
                return None;
            }
            Event::ConsensusMode { mode } => format!(
                "the chain runs {} consensus",
                match mode {
                    ConsensusMode::Savanna => "savanna",
                    ConsensusMode::Legacy => "legacy",
                }
            ),
            Event::SetupInvalid { check, detail, fix } => {
                format!("setup self-check {check} FAILS: {detail}; fix: {fix}")
            }
            Event::SetupValid { .. } => return None,
            Event::MsigApproved {
                proposer,
                proposal,
                proposed,
                executed,
                approvals,
                threshold,
            } => format!(
                "{} {proposer}/{proposal}: {approvals} of {threshold} approvals{}",
                if *proposed { "proposes and approves" } else { "approves" },
                if *executed { ", executed" } else { "" }
            ),
            Event::MsigProposalRejected {
                proposer,
                proposal,
                reason,
            } => format!("REJECTS foreign proposal {proposer}/{proposal}: {reason}"),
            Event::MissedSlots {
                producer,
                datacenter,
                consecutive,
                ..
            } => {
                let c = *consecutive;
                let step = (thr / 2).max(1);
                let new_run = c < self.told_missed || self.told_missed == 0;
                if self.lib_at_first_miss.is_none() {
                    self.lib_at_first_miss = self.lib_now;
                }
                if !new_run && c / step == self.told_missed / step {
                    return None;
                }
                self.told_missed = c;
                let who = datacenter
                    .clone()
                    .unwrap_or_else(|| format!("{producer}'s key"));
                format!(
                    "{who} missed {c} slot{} in a row (threshold {thr})",
                    if c == 1 { "" } else { "s" }
                )
            }
            Event::RoundSummary {
                scheduled,
                produced,
                missed,
                participation,
                ..
            } => {
                self.participation = *participation;
                format!(
                    "{scheduled}'s turn: {produced} of {} blocks produced{}; other producers: {}",
                    produced + missed,
                    if *missed > 0 {
                        format!(", {missed} missed")
                    } else {
                        String::new()
                    },
                    participation.map_or("participation not known yet".into(), |p| format!(
                        "{:.0}% of recent turns produced",
                        p * 100.0
                    ))
                )
            }
            Event::PrimaryMissing { datacenter, detail } => {
                format!("{datacenter} is missing blocks: {detail}")
            }
            Event::DatacenterReadiness {
                datacenter,
                ready,
                detail,
            } => {
                if *ready {
                    format!("{datacenter}'s node is ready ({detail})")
                } else {
                    format!("{datacenter}'s node is NOT ready: {detail}")
                }
            }
            Event::FailoverConfirming {
                missed,
                turns_seen,
                turns_needed,
            } => {
                if !self.confirming_told {
                    self.confirming_told = true;
                    format!(
                        "threshold reached: {missed} missed slots ≥ {thr}. Before acting, the observer \
                         waits for {turns_needed} turns of other producers: if they produce, the outage \
                         is ours, not the network's ({turns_seen}/{turns_needed})"
                    )
                } else {
                    format!("confirming: {turns_seen}/{turns_needed} turns of other producers seen")
                }
            }
            Event::FailoverSuppressed {
                reason,
                detail,
                missed,
            } => {
                self.confirming_told = false;
                if !self.holds_told.insert(reason.to_string()) {
                    return Some(format!(
                        "failover still held ({reason}{})",
                        if *missed > 0 {
                            format!(", {missed} missed")
                        } else {
                            String::new()
                        }
                    ));
                }
                format!(
                    "failover held ({reason}{}): {detail}. Why it matters: {}",
                    if *missed > 0 {
                        format!(", {missed} missed")
                    } else {
                        String::new()
                    },
                    reason.explain()
                )
            }
            Event::FailoverTriggered { from, to, reason, .. } => {
                let lib = match (self.lib_at_first_miss, seen.lib) {
                    (Some(a), Some(b)) if b > a => {
                        format!("LIB advancing (#{a} at the first miss, #{b} now)")
                    }
                    (_, Some(b)) => format!("LIB #{b}"),
                    _ => "LIB not known".into(),
                };
                let part = self.participation.map_or(String::new(), |p| {
                    format!(
                        "; other producers' participation {:.0}% (≥ {:.0}%)",
                        p * 100.0,
                        self.policy.min_participation * 100.0
                    )
                });
                format!(
                    "FAILOVER {from} → {to}: {reason}. Guards passed: {}/{} endpoints agree; \
                     {lib}{part}; {to}'s node ready; no switch in the last {} s. Signing \
                     eosio::regproducer with {to}'s key as {our}@failover",
                    seen.agreeing, seen.configured, self.policy.cooldown_secs
                )
            }
            Event::TransactionPushed {
                id,
                endpoint,
                latency_ms,
                attempt,
            } => format!(
                "transaction {id} accepted by {endpoint} in {latency_ms} ms{}",
                if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                }
            ),
            Event::TransactionFailed {
                id,
                reason,
                retrying,
            } => format!(
                "push{} failed: {reason}{}",
                id.map_or(String::new(), |id| format!(" of {id}")),
                if *retrying { "; retrying" } else { "" }
            ),
            Event::KeyRegistered {
                datacenter,
                seconds_since_trigger,
                key,
            } => format!(
                "the producers table now holds {datacenter}'s key {key} ({seconds_since_trigger:.1} s \
                 after the trigger); it takes effect when the system contract puts it in the schedule"
            ),
            Event::ScheduleActivated {
                version,
                producers,
                datacenter,
                ..
            } => format!(
                "schedule version {version} is active ({producers} producers): {our} signs with {}",
                datacenter
                    .as_deref()
                    .map_or("a key none of our data centers holds".into(), |d| format!(
                        "{d}'s key"
                    ))
            ),
            Event::KeyChangeConfirmed {
                datacenter,
                seconds_since_trigger,
                ..
            } => format!(
                "switch confirmed: the active schedule carries {datacenter}'s key \
                 ({seconds_since_trigger:.1} s after the trigger); {datacenter} is to sign {our}'s next turn"
            ),
            Event::KeyProducing {
                datacenter,
                block,
                seconds_since_trigger,
                ..
            } => format!(
                "block #{block} is {our}'s first signed with {datacenter}'s key \
                 ({seconds_since_trigger:.1} s after the trigger): blocks now come from {datacenter}"
            ),
            Event::PendingOverdue { to, waited_secs } => format!(
                "the key change to {to} is overdue: still not in the active schedule after {waited_secs} s"
            ),
            Event::StaleKeySigning {
                datacenter, block, ..
            } => format!(
                "{} still signs {our}'s blocks with the old key on its own fork (block {block}): fence it",
                datacenter.as_deref().unwrap_or("a node")
            ),
            Event::NotScheduled { producer } => {
                format!("{producer} is not in the active schedule: nothing to judge")
            }
        })
    }
}

/// "a", "a and b", "a, b and c".
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `text` after `prefix`, wrapped at [`WIDTH`] with continuation lines indented to the
/// prefix's width.
pub(super) fn wrap(prefix: &str, text: &str) -> String {
    let indent = prefix.chars().count();
    let mut out = String::from(prefix);
    let mut col = indent;
    let mut first = true;
    for word in text.split(' ') {
        let len = word.chars().count();
        if !first && col + 1 + len > WIDTH && col > indent {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else if !first {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += len;
        first = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_indents_continuations() {
        let w = wrap("  ab ", &"word ".repeat(40));
        for line in w.lines().skip(1) {
            assert!(line.starts_with("     w"), "{line:?}");
        }
        assert!(w.lines().all(|l| l.chars().count() <= WIDTH));
    }
}
