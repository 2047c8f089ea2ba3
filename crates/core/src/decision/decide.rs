//! The decision: given what the observer sees, the policy and the persisted state, what
//! to do now. A pure function of its inputs (time included), so every situation is a
//! fast deterministic test.
//!
//! It fails closed. An observer that cannot see (no quorum), a chain key that belongs to
//! none of our data centers, a key change still in flight, or any guard that fails gives
//! [`Decision::Hold`] with the reason, never a switch. Several observers running the same
//! policy on the same chain pick the same target; the chain is their coordination point:
//! once any of them has changed the producers table, the others see a switch in flight
//! and wait.

use serde::Serialize;

use super::policy::{Failback, Policy};
use super::state::State;
use crate::observer::schedule::ConsensusMode;
use crate::observer::stats::{Participation, ProducerStats};
use antelope::time::{BLOCK_INTERVAL_MS, PRODUCER_REPETITIONS, TURN_MS};
use antelope::{BlockTimestamp, PublicKey};

/// One configured data center, in failover order (the first is the primary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataCenter {
    pub name: String,
    pub signing_key: PublicKey,
}

/// Whether a data center's node can take over now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum Readiness {
    Ready,
    NotReady(String),
    /// No `api` configured for it: it cannot be checked, and is assumed able.
    Unknown,
}

impl Readiness {
    fn usable(&self) -> bool {
        !matches!(self, Readiness::NotReady(_))
    }
}

/// What the endpoint pool agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointView {
    Quorum,
    Disagree(String),
    Blind(String),
}

/// Everything the decision looks at.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub now_ms: i64,
    pub endpoints: EndpointView,
    pub mode: ConsensusMode,
    pub head_time_ms: i64,
    /// Local time at which the quorum LIB was last seen to advance.
    pub lib_advanced_at_ms: i64,
    /// Producers in the active schedule.
    pub schedule_len: usize,
    /// Our producer's signing key in the active schedule (`None`: not scheduled).
    pub active_key: Option<PublicKey>,
    /// Our producer's key in the producers table.
    pub table_key: Option<PublicKey>,
    pub stats: &'a ProducerStats,
    /// Our scheduled slots already past with no later block to confirm them missed.
    pub unconfirmed_missed: u32,
    /// Over the last `policy.participation_turns` turns of other producers.
    pub participation: &'a Participation,
    /// Over the other producers' turns since our current run of misses began.
    pub run_participation: &'a Participation,
    /// Per configured data center, same order.
    pub readiness: &'a [Readiness],
    /// With `failback = "auto"`: since when the primary has been continuously ready.
    pub primary_ready_since_ms: Option<i64>,
    /// The slot of the block that will propose the next producer schedule, for a
    /// transaction pushed now ([`super::cadence`]); `None` when the contract's
    /// `global.last_producer_schedule_update` is not known.
    pub next_proposal_slot: Option<u32>,
    /// Every configured endpoint answered and agrees with the quorum (none excluded).
    pub all_endpoints_agree: bool,
}

/// Why an action is not taken. The names are the `reason` of `failover_suppressed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    ObserverBlind,
    EndpointsDisagree,
    UnknownKey,
    ClockSkew,
    LibStalled,
    LowParticipation,
    InsufficientHistory,
    Cooldown,
    FlapBudget,
    NoReadyBackup,
    PendingSchedule,
    PendingTransaction,
}

impl HoldReason {
    /// Every reason, for code that must cover them all (alert texts, metrics).
    pub const ALL: [HoldReason; 12] = [
        HoldReason::ObserverBlind,
        HoldReason::EndpointsDisagree,
        HoldReason::UnknownKey,
        HoldReason::ClockSkew,
        HoldReason::LibStalled,
        HoldReason::LowParticipation,
        HoldReason::InsufficientHistory,
        HoldReason::Cooldown,
        HoldReason::FlapBudget,
        HoldReason::NoReadyBackup,
        HoldReason::PendingSchedule,
        HoldReason::PendingTransaction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HoldReason::ObserverBlind => "observer_blind",
            HoldReason::EndpointsDisagree => "endpoints_disagree",
            HoldReason::UnknownKey => "unknown_key",
            HoldReason::ClockSkew => "clock_skew",
            HoldReason::LibStalled => "lib_stalled",
            HoldReason::LowParticipation => "low_participation",
            HoldReason::InsufficientHistory => "insufficient_history",
            HoldReason::Cooldown => "cooldown",
            HoldReason::FlapBudget => "flap_budget",
            HoldReason::NoReadyBackup => "no_ready_backup",
            HoldReason::PendingSchedule => "pending_schedule",
            HoldReason::PendingTransaction => "pending_transaction",
        }
    }
}

/// What would justify a switch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Trigger {
    /// The active key missed `missed` consecutive scheduled slots. `solo` when other
    /// producers were producing meanwhile (our outage, not the network's).
    /// `before_proposal`: decided before the confirming turns were complete, to make the
    /// schedule proposal at this slot (see [`Policy::decide_before_proposal`]).
    MissedBlocks {
        missed: u32,
        key: PublicKey,
        solo: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        before_proposal: Option<u32>,
    },
    /// `failback = "auto"` and the primary has been ready long enough.
    Failback { ready_secs: u64 },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Decision {
    /// Our producer is not in the active schedule: there are no slots to judge.
    NotScheduled,
    /// The active key belongs to data center `current` and nothing needs doing.
    /// `warning` when it is missing blocks but has not reached the threshold.
    Healthy {
        current: usize,
        warning: Option<String>,
    },
    /// A key change to `to` is in the producers table, not yet in the active schedule.
    /// `ours` when this observer made it; `overdue` past the expected promotion time.
    Pending {
        to: usize,
        ours: bool,
        overdue: bool,
        waited_secs: u64,
    },
    /// The threshold is reached; waiting for `turns_needed` turns of other producers to
    /// show the rest of the network is producing meanwhile.
    Confirming {
        current: usize,
        missed: u32,
        turns_seen: u32,
        turns_needed: u32,
    },
    /// Not acting. `trigger` is set when a switch would otherwise happen.
    Hold {
        reason: HoldReason,
        detail: String,
        trigger: Option<Trigger>,
    },
    /// Switch the key from data center `from` to `to`.
    Switch {
        from: usize,
        to: usize,
        trigger: Trigger,
    },
}

fn hold(reason: HoldReason, detail: impl Into<String>, trigger: Option<Trigger>) -> Decision {
    Decision::Hold {
        reason,
        detail: detail.into(),
        trigger,
    }
}

fn dc_of(dcs: &[DataCenter], key: &PublicKey) -> Option<usize> {
    dcs.iter().position(|d| &d.signing_key == key)
}

pub fn decide(inp: &Inputs<'_>, dcs: &[DataCenter], policy: &Policy, state: &State) -> Decision {
    match &inp.endpoints {
        EndpointView::Quorum => {}
        EndpointView::Blind(why) => return hold(HoldReason::ObserverBlind, why.clone(), None),
        EndpointView::Disagree(why) => {
            return hold(HoldReason::EndpointsDisagree, why.clone(), None)
        }
    }
    let Some(active_key) = inp.active_key else {
        return Decision::NotScheduled;
    };
    let Some(current) = dc_of(dcs, &active_key) else {
        return hold(
            HoldReason::UnknownKey,
            format!(
                "the active schedule's key for our producer ({active_key}) is none of the configured \
                 data centers' signing keys: fix the config, or someone else manages this key"
            ),
            None,
        );
    };

    // A key change in flight: in the producers table, not yet in the active schedule.
    if let Some(table_key) = inp.table_key.filter(|k| *k != active_key) {
        let Some(to) = dc_of(dcs, &table_key) else {
            return hold(
                HoldReason::UnknownKey,
                format!(
                    "the producers table holds key {table_key}, none of the configured data centers': \
                     someone outside this observer changed it"
                ),
                None,
            );
        };
        let pending = state.pending.as_ref().filter(|p| p.to_key == table_key);
        let since = pending.map_or(inp.now_ms, |p| p.since_ms);
        let waited_secs = u64::try_from(inp.now_ms.saturating_sub(since) / 1000).unwrap_or(0);
        let limit = inp.mode.max_promotion_secs() + policy.pending_grace_secs;
        return Decision::Pending {
            to,
            ours: pending.is_some_and(|p| p.ours),
            overdue: waited_secs > limit,
            waited_secs,
        };
    }
    // Our own transaction, pushed and not yet seen in the table, may still be included.
    if let Some(p) = &state.pending {
        if p.to_key != active_key && p.expires_ms.is_some_and(|e| inp.now_ms <= e) {
            return hold(
                HoldReason::PendingTransaction,
                format!(
                    "waiting for our switch to {} to be included or to expire",
                    p.to
                ),
                None,
            );
        }
    }

    let mut trigger = match trigger(inp, policy, current, active_key) {
        Ok(t) => t,
        Err(healthy) => return healthy,
    };
    if let Trigger::MissedBlocks {
        missed,
        before_proposal,
        ..
    } = &mut trigger
    {
        let turns_needed = turns_of_others(policy.confirm_turns, inp.schedule_len);
        if inp.run_participation.turns < turns_needed {
            match early_for_proposal(inp, policy, turns_needed) {
                Some(slot) => *before_proposal = Some(slot),
                None => {
                    return Decision::Confirming {
                        current,
                        missed: *missed,
                        turns_seen: inp.run_participation.turns,
                        turns_needed,
                    }
                }
            }
        }
    }
    if let Some((reason, detail)) = guard_failure(inp, policy, state) {
        return hold(reason, detail, Some(trigger));
    }
    let target = match &trigger {
        Trigger::Failback { .. } => Some(0),
        Trigger::MissedBlocks { .. } => next_ready(dcs, inp.readiness, current),
    };
    match target {
        Some(to) => Decision::Switch {
            from: current,
            to,
            trigger,
        },
        None => hold(
            HoldReason::NoReadyBackup,
            format!(
                "no other data center is ready: {}",
                dcs.iter()
                    .zip(inp.readiness)
                    .enumerate()
                    .filter(|(i, _)| *i != current)
                    .map(|(_, (d, r))| match r {
                        Readiness::NotReady(why) => format!("{} ({why})", d.name),
                        _ => d.name.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(trigger),
        ),
    }
}

/// Whether to stop confirming and switch now, at the last moment before the contract's
/// next schedule proposal, because waiting for the remaining confirming turns would miss
/// it and cost a whole cadence (~60.5 s, several of our turns). Only on stricter evidence
/// than the normal guards ask (docs/decision.md, "Deciding before the proposal"):
/// - the producer after us has produced since our misses began, and every complete turn
///   of other producers since then produced blocks;
/// - participation over the recent turns at or above `min_participation`;
/// - LIB advanced very recently: within 1.5 s under Savanna (it advances every block while
///   2/3 of finalizers vote), within one turn under legacy DPoS (it advances by turns). A
///   minority partition cannot finalize, so this is what tells our outage from a
///   partition that began as our blocks stopped, before the confirming turns can;
/// - every configured endpoint agrees with the quorum.
///
/// Returns the proposal slot when the switch should happen now.
fn early_for_proposal(inp: &Inputs<'_>, policy: &Policy, turns_needed: u32) -> Option<u32> {
    if !policy.decide_before_proposal {
        return None;
    }
    let proposal = inp.next_proposal_slot?;
    let now = BlockTimestamp::from_unix_ms(inp.now_ms)?.slot();
    let turn = i64::from(PRODUCER_REPETITIONS);
    let margin = i64::try_from(policy.proposal_margin_ms / BLOCK_INTERVAL_MS as u64)
        .unwrap_or(i64::MAX)
        .max(1);
    let slots_left = i64::from(proposal) - i64::from(now);
    // Too late for this proposal (a transaction pushed now lands in the proposing block
    // at the earliest, after its `onblock`), or still time to gather evidence.
    if slots_left < 2 || slots_left > margin {
        return None;
    }
    // The confirming turns would end in time for the proposal on their own.
    let remaining_turns = i64::from(turns_needed.saturating_sub(inp.run_participation.turns));
    if remaining_turns * turn + margin < slots_left {
        return None;
    }
    let run = inp.run_participation;
    let run_clean = inp.stats.others_produced_during_run > 0 && run.turns_produced == run.turns;
    let recent_ok = inp
        .participation
        .ratio()
        .is_some_and(|r| r >= policy.min_participation);
    let lib_window_ms = match inp.mode {
        ConsensusMode::Savanna => 3 * BLOCK_INTERVAL_MS,
        ConsensusMode::Legacy => TURN_MS,
    };
    let lib_fresh = inp.now_ms - inp.lib_advanced_at_ms <= lib_window_ms;
    (run_clean && recent_ok && lib_fresh && inp.all_endpoints_agree).then_some(proposal)
}

/// The switch condition, or the healthy decision when there is none.
fn trigger(
    inp: &Inputs<'_>,
    policy: &Policy,
    current: usize,
    active_key: PublicKey,
) -> Result<Trigger, Decision> {
    let st = inp.stats;
    let missed = if st.consecutive_key == Some(active_key) {
        st.consecutive_missed
    } else {
        0
    };
    if missed >= policy.missed_blocks {
        let solo = st.others_produced_during_run > 0
            && inp
                .run_participation
                .ratio()
                .is_some_and(|r| r >= policy.min_participation);
        return Ok(Trigger::MissedBlocks {
            missed,
            key: active_key,
            solo,
            before_proposal: None,
        });
    }
    if policy.failback == Failback::Auto && current != 0 {
        if let Some(since) = inp.primary_ready_since_ms {
            let ready_secs = u64::try_from((inp.now_ms - since) / 1000).unwrap_or(0);
            if ready_secs >= policy.failback_after_secs
                && inp.readiness.first() == Some(&Readiness::Ready)
            {
                return Ok(Trigger::Failback { ready_secs });
            }
        }
    }
    let warn_at = (policy.missed_blocks / 2).max(3);
    let seen = missed + inp.unconfirmed_missed;
    let warning = (seen >= warn_at).then(|| {
        format!(
            "the active key has missed {seen} consecutive slots ({} unconfirmed: no later block yet); \
             {} trigger a failover",
            inp.unconfirmed_missed, policy.missed_blocks
        )
    });
    Err(Decision::Healthy { current, warning })
}

/// The first guard that forbids acting on `trigger`, with a sentence for the operator.
fn guard_failure(inp: &Inputs<'_>, policy: &Policy, state: &State) -> Option<(HoldReason, String)> {
    let part = inp.participation;
    let needed_turns = turns_of_others(policy.participation_turns, inp.schedule_len);
    if part.turns < needed_turns {
        return Some((
            HoldReason::InsufficientHistory,
            format!(
                "only {} complete turns of other producers observed, {needed_turns} needed to judge participation",
                part.turns
            ),
        ));
    }
    let run = inp.run_participation;
    let (part, window) = match (part.ratio(), run.ratio()) {
        (Some(whole), Some(during)) if during < whole => (run, "turns since our blocks stopped"),
        _ => (part, "recent turns"),
    };
    let ratio = part.ratio().unwrap_or(0.0);
    if ratio < policy.min_participation {
        return Some((
            HoldReason::LowParticipation,
            format!(
                "only {}/{} {window} of other producers produced blocks ({:.0}% < {:.0}%): this observer may \
                 be on a minority fork, or the network is degraded{}",
                part.turns_produced,
                part.turns,
                ratio * 100.0,
                policy.min_participation * 100.0,
                if part.silent.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (silent: {})",
                        part.silent.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
                    )
                }
            ),
        ));
    }
    // Head ahead of our clock can only mean our clock is slow. Head behind it also
    // happens while producers miss slots, so that side allows one turn (6 s) more: a
    // halted network is caught by participation and by the endpoints' staleness limit.
    let skew_ms = inp.now_ms - inp.head_time_ms;
    let allowed_ms =
        policy.max_clock_skew_secs as i64 * 1000 + if skew_ms > 0 { TURN_MS } else { 0 };
    if skew_ms.abs() > allowed_ms {
        let (dir, cause) = if skew_ms > 0 {
            (
                "behind",
                "the network may be halted, the endpoints stale, or this host's clock fast",
            )
        } else {
            ("ahead of", "this host's clock is slow")
        };
        return Some((
            HoldReason::ClockSkew,
            format!(
                "head block time is {:.1} s {dir} the local clock: {cause}",
                skew_ms.unsigned_abs() as f64 / 1000.0
            ),
        ));
    }
    let lib_stalled_ms = inp.now_ms - inp.lib_advanced_at_ms;
    if lib_stalled_ms > (policy.lib_stall_secs * 1000) as i64 {
        return Some((
            HoldReason::LibStalled,
            format!(
                "the last irreversible block has not advanced for {} s: without finality a key change cannot take effect",
                lib_stalled_ms / 1000
            ),
        ));
    }
    if let Some(last) = state.last_switch() {
        let since_secs = (inp.now_ms - last.at_ms) / 1000;
        if since_secs < policy.cooldown_secs as i64 {
            return Some((
                HoldReason::Cooldown,
                format!(
                    "the last switch (to {}) was {since_secs} s ago; cooldown is {} s",
                    last.to, policy.cooldown_secs
                ),
            ));
        }
    }
    let automatic = state.automatic_switches_last_day(inp.now_ms);
    if automatic >= policy.max_switches_per_day as usize {
        return Some((
            HoldReason::FlapBudget,
            format!(
                "{automatic} automatic switches in the last 24 h (max_switches_per_day = {}): alerting only; \
                 an operator can still switch with `bp-failover failover`",
                policy.max_switches_per_day
            ),
        ));
    }
    None
}

/// `wanted` turns of other producers, but no more than there are other producers in a
/// schedule of `schedule_len` (a 4-producer schedule has 3 others), and at least 1.
pub fn turns_of_others(wanted: u32, schedule_len: usize) -> u32 {
    wanted
        .min(u32::try_from(schedule_len.saturating_sub(1)).unwrap_or(u32::MAX))
        .max(1)
}

/// The next usable data center after `current` in configured order, wrapping around.
fn next_ready(dcs: &[DataCenter], readiness: &[Readiness], current: usize) -> Option<usize> {
    let n = dcs.len();
    (1..n)
        .map(|step| (current + step) % n)
        .find(|&i| readiness.get(i).is_some_and(Readiness::usable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hold_reason_is_listed_once_with_its_serialized_name() {
        let names: std::collections::BTreeSet<&str> =
            HoldReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), HoldReason::ALL.len());
        for r in HoldReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }
}
