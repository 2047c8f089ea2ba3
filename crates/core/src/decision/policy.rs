//! `[policy]`: when to fail over, and the brakes on it. Defaults and their reasoning are
//! documented here and in the README.

use antelope::time::PRODUCER_REPETITIONS;
use serde::{Deserialize, Serialize};

/// Whether to switch back to the primary on its own once it is healthy again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Failback {
    /// Never: an operator runs `bp-failover failover --to primary` when satisfied.
    #[default]
    Manual,
    /// After the primary has been ready for `failback_after_secs`.
    Auto,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Consecutive scheduled slots the active key must miss (within a turn or across
    /// turns) to trigger. 12 = one whole turn: a producer that is up produces at least part
    /// of its turn, and the 1–2 slots lost to latency at a handoff reset the count when the
    /// next block of ours arrives, so they never add up.
    pub missed_blocks: u32,
    /// Minimum share of the other scheduled producers' recent turns that produced a block.
    /// Below it the observer may be on a minority fork or the network is degraded, and a
    /// key change would not help (0.8, as EOS Argentina's failover used).
    pub min_participation: f64,
    /// How many of the other producers' most recent complete turns participation is
    /// measured over (20 ≈ one rotation of a 21-producer schedule).
    pub participation_turns: u32,
    /// After the threshold is reached, wait for this many complete turns of other
    /// producers and require them to meet `min_participation` too: participation over the
    /// outage itself, so a sudden partition (a minority fork starting as our blocks stop)
    /// is not mistaken for our outage. 3 turns = 18 s, long before our next turn in a
    /// 21-producer schedule.
    pub confirm_turns: u32,
    /// Do not act when the last irreversible block has not advanced for this long: a key
    /// change cannot take effect without finality anyway.
    pub lib_stall_secs: u64,
    /// Do not act when the head block time is further than this from the local clock:
    /// either this host's clock is wrong or the network is halted.
    pub max_clock_skew_secs: u64,
    /// Minimum time between two switches (180 s: more than a 21-producer rotation plus the
    /// confirming turns, so it never delays primary → backup → backup2 in one incident,
    /// yet stops two half-alive data centers from trading the key back and forth). While a
    /// change is still being promoted no switch happens anyway.
    pub cooldown_secs: u64,
    /// At most this many automatic switches in any 24 hours; past it, alert only
    /// (3: an incident taking down the primary and the backup needs 2).
    pub max_switches_per_day: u32,
    pub failback: Failback,
    /// With `failback = "auto"`: how long the primary must have been ready.
    pub failback_after_secs: u64,
    /// Extra time, beyond the longest normal promotion for the consensus mode, before a
    /// key change that has not reached the active schedule is reported as overdue.
    pub pending_grace_secs: u64,
    /// When waiting for the `confirm_turns` would let the system contract's next schedule
    /// proposal pass (it comes every ~60.5 s; missing it costs a whole cadence, several of
    /// our turns), switch at the last moment before it instead, on stricter evidence: the
    /// producers after us produced every turn since our misses began, recent
    /// participation ≥ `min_participation`, LIB advancing, every endpoint agreeing
    /// (docs/decision.md, "Deciding before the proposal").
    pub decide_before_proposal: bool,
    /// How long before the proposal block such a switch is decided: room for the push and
    /// for the transaction to be in a block before the proposing one (2 s = 4 slots).
    pub proposal_margin_ms: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            missed_blocks: PRODUCER_REPETITIONS,
            min_participation: 0.8,
            participation_turns: 20,
            confirm_turns: 3,
            lib_stall_secs: 30,
            max_clock_skew_secs: 5,
            cooldown_secs: 180,
            max_switches_per_day: 3,
            failback: Failback::Manual,
            failback_after_secs: 1800,
            pending_grace_secs: 60,
            decide_before_proposal: true,
            proposal_margin_ms: 2_000,
        }
    }
}
