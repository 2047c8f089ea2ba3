//! Slot and turn arithmetic of the benchmarks (pure, unit-tested): which producer a slot
//! belongs to, turn starts, our missed slots, and the slot of the block that first lets the
//! policy decide.

use antelope::time::{BLOCK_INTERVAL_MS, PRODUCER_REPETITIONS};
use antelope::BlockTimestamp;
use failover_core::decision::decide::turns_of_others;
use failover_core::decision::Policy;
use serde::Serialize;

/// Slots in `secs` seconds of chain time (whole slots, rounded down).
pub(crate) fn slots_in(secs: f64) -> u32 {
    (secs * 1000.0 / BLOCK_INTERVAL_MS as f64) as u32
}

/// Blocks per second of chain time.
pub(crate) fn blocks_per_sec() -> f64 {
    1000.0 / BLOCK_INTERVAL_MS as f64
}

/// Index of the producer scheduled at `slot` in an `n`-producer schedule whose order does
/// not change (12 consecutive slots each).
pub(crate) fn scheduled_index(slot: u32, n: usize) -> usize {
    BlockTimestamp(slot).scheduled_index(n).unwrap_or(0)
}

/// The first slot at or after `from` that starts a turn of producer `index`.
pub(crate) fn next_turn_start(from: u32, n: usize, index: usize) -> u32 {
    let mut s = from.div_ceil(PRODUCER_REPETITIONS) * PRODUCER_REPETITIONS;
    while scheduled_index(s, n) != index {
        s += PRODUCER_REPETITIONS;
    }
    s
}

/// Slots of producer `index` in `[from, to)` that have no block. `produced` holds the
/// slots of produced blocks, increasing.
pub(crate) fn missed_slots(produced: &[u32], from: u32, to: u32, n: usize, index: usize) -> u32 {
    (from..to)
        .filter(|&s| scheduled_index(s, n) == index && produced.binary_search(&s).is_err())
        .count() as u32
}

/// The policy as far as the decision moment depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Rule {
    /// `policy.missed_blocks`.
    pub(crate) missed_blocks: u32,
    /// `policy.confirm_turns`, capped at `n − 1` and at least 1
    /// ([`turns_of_others`], the function `decide` uses).
    pub(crate) confirm_turns: u32,
}

impl Rule {
    pub(crate) fn new(policy: &Policy, n: usize) -> Self {
        Rule {
            missed_blocks: policy.missed_blocks.max(1),
            confirm_turns: turns_of_others(policy.confirm_turns, n),
        }
    }

    /// The moment the threshold is knowable, with no confirming turns: the chain's
    /// minimum for a push as soon as `missed_blocks` misses can be seen.
    pub(crate) fn at_threshold(policy: &Policy) -> Self {
        Rule {
            missed_blocks: policy.missed_blocks.max(1),
            confirm_turns: 0,
        }
    }
}

/// The slot of the block that first lets the policy decide, for an outage of producer
/// `index` from slot `from` on: the first block at or after both
/// - the slot after our `missed_blocks`-th consecutive missed slot (misses are only known
///   once a later block shows the gap), and
/// - the last slot of the `confirm_turns`-th complete turn of another producer that began
///   at or after our first missed slot (a turn is complete once the head reaches its last
///   slot).
///
/// `produced` holds the slots of produced blocks (any producer), increasing. The other
/// producers are assumed to produce (participation above the policy's minimum), as in
/// every benchmark run. `None` when the chain does not get that far.
pub(crate) fn decision_slot(
    produced: &[u32],
    n: usize,
    index: usize,
    from: u32,
    rule: Rule,
) -> Option<u32> {
    let head = *produced.last()?;
    let mut first_miss = None;
    let mut misses = 0;
    let mut nth_miss = None;
    for s in from..=head {
        if scheduled_index(s, n) != index {
            continue;
        }
        if produced.binary_search(&s).is_ok() {
            // A block of ours ends the run.
            misses = 0;
            first_miss = None;
            continue;
        }
        first_miss.get_or_insert(s);
        misses += 1;
        if misses == rule.missed_blocks {
            nth_miss = Some(s);
            break;
        }
    }
    let (first_miss, nth_miss) = (first_miss?, nth_miss?);
    if rule.confirm_turns == 0 {
        let i = produced.partition_point(|&s| s <= nth_miss);
        return produced.get(i).copied();
    }
    let mut turn = first_miss.div_ceil(PRODUCER_REPETITIONS);
    let mut counted = 0;
    loop {
        if scheduled_index(turn * PRODUCER_REPETITIONS, n) != index {
            counted += 1;
            if counted >= rule.confirm_turns {
                break;
            }
        }
        turn += 1;
    }
    let confirmed = turn * PRODUCER_REPETITIONS + PRODUCER_REPETITIONS - 1;
    let needed = confirmed.max(nth_miss + 1);
    let i = produced.partition_point(|&s| s < needed);
    produced.get(i).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every slot of `0..end` produced except those of producer `index` from `down` on.
    fn chain_with_outage(n: usize, index: usize, down: u32, end: u32) -> Vec<u32> {
        (0..end)
            .filter(|&s| s < down || scheduled_index(s, n) != index)
            .collect()
    }

    #[test]
    fn slots_of_seconds() {
        assert_eq!(slots_in(6.0), 12);
        assert_eq!(slots_in(60.0), 120);
        assert_eq!(slots_in(0.7), 1);
        assert_eq!(blocks_per_sec(), 2.0);
    }

    #[test]
    fn the_rule_caps_confirming_turns_as_decide_does() {
        let policy = Policy {
            confirm_turns: 3,
            ..Policy::default()
        };
        assert_eq!(Rule::new(&policy, 21).confirm_turns, 3);
        assert_eq!(Rule::new(&policy, 3).confirm_turns, 2);
        assert_eq!(Rule::new(&policy, 1).confirm_turns, 1);
        let none = Policy {
            confirm_turns: 0,
            missed_blocks: 0,
            ..Policy::default()
        };
        assert_eq!(
            Rule::new(&none, 21),
            Rule {
                missed_blocks: 1,
                confirm_turns: 1
            }
        );
        assert_eq!(Rule::at_threshold(&policy).confirm_turns, 0);
    }

    #[test]
    fn turn_starts() {
        // 4 producers: index 1 owns slots 12..24 of every 48.
        assert_eq!(next_turn_start(0, 4, 1), 12);
        assert_eq!(next_turn_start(12, 4, 1), 12);
        assert_eq!(next_turn_start(13, 4, 1), 60);
        assert_eq!(next_turn_start(50, 4, 0), 96);
    }

    #[test]
    fn decision_needs_the_threshold_and_the_confirming_turns() {
        let rule = Rule {
            missed_blocks: 12,
            confirm_turns: 3,
        };
        // Down at our turn start (slot 60): 12 misses 60..71, shown by block 72; then the
        // turns 72, 84 and 96 of the others, complete at slot 107.
        let p = chain_with_outage(4, 1, 60, 200);
        assert_eq!(decision_slot(&p, 4, 1, 60, rule), Some(107));
        // Not there yet while the third turn is running.
        let short: Vec<u32> = p.iter().copied().filter(|s| *s < 107).collect();
        assert_eq!(decision_slot(&short, 4, 1, 60, rule), None);
        // Down 6 slots into our turn: 6 misses, then 6 more in the next turn (108..113),
        // only shown by the next producer's first block at 120.
        let p = chain_with_outage(4, 1, 66, 200);
        assert_eq!(decision_slot(&p, 4, 1, 66, rule), Some(120));
        // A block of ours restarts the run.
        let mut p = chain_with_outage(4, 1, 60, 300);
        p.push(65);
        p.sort_unstable();
        assert_eq!(decision_slot(&p, 4, 1, 60, rule), Some(120));
        // 21 producers (ours at index 10): the confirming turns finish long before our
        // next turn, so the decision is 47 slots after the first miss.
        let first = next_turn_start(1000, 21, 10);
        let p = chain_with_outage(21, 10, first, first + 600);
        let rule = Rule::new(&Policy::default(), 21);
        assert_eq!(decision_slot(&p, 21, 10, first, rule), Some(first + 47));
    }

    #[test]
    fn blocks_lost_counts_our_missed_slots_only() {
        let p = chain_with_outage(4, 1, 66, 300);
        // Our slots 66..72 and 108..120 are missed before 156 (our next turn starts there).
        assert_eq!(missed_slots(&p, 66, 156, 4, 1), 18);
        // Others' slots are never counted, produced or not.
        assert_eq!(missed_slots(&p, 72, 108, 4, 1), 0);
        // Our produced slots are not lost.
        assert_eq!(missed_slots(&p, 0, 66, 4, 1), 0);
        // 21 producers, down at a turn start, backup active before the next turn: one turn.
        let first = next_turn_start(1000, 21, 10);
        let p = chain_with_outage(21, 10, first, first + 600);
        assert_eq!(missed_slots(&p, first, first + 252, 21, 10), 12);
    }
}
