//! When a key change pushed now takes effect: the system contract's schedule cadence and
//! the chain's promotion rules, as a pure prediction.
//!
//! # Model (reference §4)
//! - **Proposal.** The `eosio` contract's `onblock` runs `update_elected_producers` in a
//!   block whose *previous* block's slot is more than [`SCHEDULE_TICK_SLOTS`] past
//!   `global.last_producer_schedule_update`, and sets that field to the previous block's
//!   slot. So with every slot produced, proposals come every 121 slots (~60.5 s). A
//!   transaction in the proposing block itself is too late for it (`onblock` runs first).
//! - **Savanna.** A proposal made in round `R` (12-slot rounds) becomes pending at the
//!   first block of a later round and active at the first block of the round after that
//!   one, provided finality has reached the proposing block, which it normally has
//!   (LIB = head − 2). Normally rounds `R+1` and `R+2`; when our turn is the round after
//!   the proposal and we are down, that round has no block and activation comes a round
//!   later.
//! - **Legacy DPoS.** A proposal becomes pending in the first block whose own LIB has
//!   reached the proposing block, and active in the first block whose own LIB has reached
//!   the block that made it pending (a block's LIB is computed before its promotions).
//!   LIB follows the DPoS rule, replayed on the predicted blocks (see `legacy_active`).
//!
//! Production is what the caller says it is, for past and future slots alike (normally:
//! every slot, but none of our producer's since the outage began); a slot without a block
//! moves the proposal and the LIB-driven steps later, and the prediction follows it.
//!
//! The prediction is checked against the simulator's chain model here and against real
//! nodes in the real-node suite; the daemon reports it with `failover_triggered` and
//! compares it with what the chain did in `schedule_active_confirmed`.

use serde::Serialize;

use crate::observer::schedule::ConsensusMode;
use antelope::time::{
    rotation_slots, round_of, round_start_slot, scheduled_index_at, PRODUCER_REPETITIONS,
};

/// `onblock` proposes when the previous block's slot is more than this past the last
/// update (eos-system-contracts `producer_pay.cpp`).
pub const SCHEDULE_TICK_SLOTS: u32 = 120;

/// Legacy: rotations replayed before the head so the irreversibility rule settles.
const SETTLE_ROTATIONS: u32 = 6;

/// How far ahead a prediction looks before giving up (slots): longer than a legacy
/// promotion with a full 21-producer LIB lag (two ~340-block catch-ups plus a cadence),
/// short enough to stay cheap on any input.
const HORIZON_SLOTS: u32 = 4_000;

/// What the prediction starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainTiming {
    pub mode: ConsensusMode,
    /// `global.last_producer_schedule_update`, as a slot.
    pub last_update_slot: u32,
    /// The newest block's slot.
    pub head_slot: u32,
    /// Producers in the active schedule (legacy irreversibility counts them).
    pub schedule_len: usize,
}

/// When a key change included in the block at `inclusion_slot` (or the first produced
/// block after it) reaches the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Activation {
    /// The block that proposes the new schedule.
    pub proposal_slot: u32,
    /// The first slot in which the new schedule is in force: from it on, our producer's
    /// slots belong to the new key (its node produces them; they were missed before).
    pub active_slot: u32,
}

/// The slot of the next block that will run the contract's schedule update after
/// `after_slot` (exclusive), with the chain at `timing` and blocks only in the slots where
/// `produced` says so. `None` past the horizon (a halted chain).
pub fn next_proposal_slot(
    timing: &ChainTiming,
    after_slot: u32,
    produced: &dyn Fn(u32) -> bool,
) -> Option<u32> {
    // Walk forward from the head, replaying the contract's rule on the predicted blocks.
    let mut last_update = timing.last_update_slot.min(timing.head_slot);
    let mut prev = timing.head_slot;
    let end = timing.head_slot.saturating_add(HORIZON_SLOTS);
    for s in timing.head_slot.saturating_add(1)..=end {
        if !produced(s) {
            continue;
        }
        if prev.saturating_sub(last_update) > SCHEDULE_TICK_SLOTS {
            if s > after_slot {
                return Some(s);
            }
            last_update = prev;
        }
        prev = s;
    }
    None
}

/// When a key change included at or after `inclusion_slot` becomes active. `None` past
/// the horizon.
pub fn predict(
    timing: &ChainTiming,
    inclusion_slot: u32,
    produced: &dyn Fn(u32) -> bool,
) -> Option<Activation> {
    // The transaction lands in the first produced block at or after `inclusion_slot`;
    // a proposal in that very block (or earlier) does not carry it.
    let included = (inclusion_slot..inclusion_slot.saturating_add(HORIZON_SLOTS))
        .find(|&s| s > timing.head_slot && produced(s))?;
    let proposal_slot = next_proposal_slot(timing, included, produced)?;
    let active_slot = match timing.mode {
        ConsensusMode::Savanna => {
            // One promotion step per block that starts a new round: the first block in a
            // later round than the proposal makes it pending, and the first slot of the
            // round after that block's activates it and is signed under it (if that slot is
            // ours, the new key's node produces it). A round with no block at all (our
            // whole turn missed) therefore delays it by a round.
            let from = round_start_slot(round_of(proposal_slot).checked_add(1)?)?;
            let end = timing.head_slot.saturating_add(HORIZON_SLOTS);
            let pending = (from..=end).find(|&s| produced(s))?;
            round_start_slot(round_of(pending).checked_add(1)?)?
        }
        ConsensusMode::Legacy => legacy_active(timing, proposal_slot, produced)?,
    };
    Some(Activation {
        proposal_slot,
        active_slot,
    })
}

/// Legacy promotion, replaying the DPoS irreversibility rule on the predicted blocks.
///
/// Each block records, for its producer, the block number the producer last proposed as
/// irreversible (`proposed_irb`, itself the `(n−1)/3`-th smallest "last produced" block);
/// LIB is the `(n−1)/3`-th smallest of those. So LIB trails by about two thirds of a
/// rotation twice (≈ 340 blocks with 21 producers), and more while a producer is down: its
/// entries freeze. Replaying from a few rotations back settles the rule whatever it
/// started from. (`confirmed` counts, which real producers send and which shorten the lag
/// a little, are not modelled: the prediction errs late.)
fn legacy_active(
    timing: &ChainTiming,
    proposal_slot: u32,
    produced: &dyn Fn(u32) -> bool,
) -> Option<u32> {
    let n = timing.schedule_len;
    if n == 0 {
        return None;
    }
    let rotation = rotation_slots(n)?;
    let start = timing
        .head_slot
        .saturating_sub(SETTLE_ROTATIONS.saturating_mul(rotation));
    let end = timing.head_slot.saturating_add(HORIZON_SLOTS);
    let at = (n - 1) / 3;
    let calc = |v: &[u32]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v[at]
    };
    let mut last_produced = vec![0u32; n];
    let mut implied = vec![0u32; n];
    let (mut proposed_irb, mut lib, mut num) = (0u32, 0u32, 0u32);
    let mut proposal_num = None;
    let mut pending_num = None;
    for s in start..=end {
        if !produced(s) {
            continue;
        }
        num += 1;
        // The LIB this block carries decides its promotions: Leap computes it first, with
        // the producer's implied irreversible block set to its parent's proposal
        // (`pending_block_header_state_legacy::next`, and `controller::start_block` for
        // proposed → pending). The real node showed it: a rule on the parent's LIB
        // activated one slot late.
        let p = scheduled_index_at(s, n)?;
        implied[p] = proposed_irb;
        lib = lib.max(calc(&implied)).min(num);
        match (proposal_num, pending_num) {
            // This block promotes the schedule, still signed under the old one: the new
            // schedule is in force from the next slot on.
            (Some(_), Some(pending)) if lib >= pending => return s.checked_add(1),
            (Some(b), None) if lib >= b => pending_num = Some(num),
            _ => {}
        }
        if s == proposal_slot {
            proposal_num = Some(num);
        }
        last_produced[p] = num;
        proposed_irb = calc(&last_produced);
    }
    None
}

/// Slots of producer `index` (in an `n`-producer schedule) in `[from, to)`: the blocks an
/// outage of that producer from `from` costs when the backup takes over at `to`.
pub fn our_slots_between(from: u32, to: u32, n: usize, index: usize) -> u32 {
    let Some(rotation) = rotation_slots(n) else {
        return 0;
    };
    if index >= n || to <= from {
        return 0;
    }
    // Count whole rotations at once, then the remainder slot by slot (at most one rotation).
    let span = to - from;
    let whole = span / rotation;
    let rest = (from + whole * rotation..to)
        .filter(|&s| scheduled_index_at(s, n) == Some(index))
        .count() as u32;
    whole * PRODUCER_REPETITIONS + rest
}

/// Production while our producer (`index` of `n`) is down from slot `from` on: every
/// slot has a block but ours from `from`.
pub fn down_from(n: usize, index: usize, from: u32) -> impl Fn(u32) -> bool {
    let n = n.max(1);
    move |s: u32| s < from || scheduled_index_at(s, n) != Some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every(_: u32) -> bool {
        true
    }

    fn timing(mode: ConsensusMode, last_update: u32, head: u32, n: usize) -> ChainTiming {
        ChainTiming {
            mode,
            last_update_slot: last_update,
            head_slot: head,
            schedule_len: n,
        }
    }

    #[test]
    fn proposals_come_every_121_slots_when_every_slot_is_produced() {
        let t = timing(ConsensusMode::Savanna, 1_000, 1_050, 4);
        // Previous block 1121 > 1000 + 120: the block at 1122 proposes.
        assert_eq!(next_proposal_slot(&t, 1_050, &every), Some(1_122));
        // After it, last update = 1121, next at 1243.
        assert_eq!(next_proposal_slot(&t, 1_122, &every), Some(1_243));
        assert_eq!(next_proposal_slot(&t, 1_200, &every), Some(1_243));
    }

    #[test]
    fn a_gap_before_the_tick_moves_the_proposal_to_the_second_block_after_it() {
        // Slots 1115..1127 have no block: the block at 1127's previous is 1114 (too early),
        // so the block after it (1128, previous 1127) proposes.
        let t = timing(ConsensusMode::Savanna, 1_000, 1_050, 4);
        let gap = |s: u32| !(1_115..1_127).contains(&s);
        assert_eq!(next_proposal_slot(&t, 1_050, &gap), Some(1_128));
    }

    #[test]
    fn a_transaction_in_the_proposing_block_waits_for_the_next_cadence() {
        let t = timing(ConsensusMode::Savanna, 1_000, 1_050, 4);
        let a = predict(&t, 1_121, &every).unwrap();
        assert_eq!(a.proposal_slot, 1_122);
        let b = predict(&t, 1_122, &every).unwrap();
        assert_eq!(b.proposal_slot, 1_243);
    }

    #[test]
    fn savanna_activates_at_the_first_block_two_rounds_after_the_proposal() {
        let t = timing(ConsensusMode::Savanna, 1_000, 1_050, 4);
        let a = predict(&t, 1_060, &every).unwrap();
        // 1122 is in round 93 (1116..1128): active at 95 * 12 = 1140.
        assert_eq!(
            a,
            Activation {
                proposal_slot: 1_122,
                active_slot: 1_140
            }
        );
        // Round 94 (1128..1140) without a block: pending only at 1140, active at 1152.
        let hole = |s: u32| !(1_128..1_140).contains(&s);
        assert_eq!(predict(&t, 1_060, &hole).unwrap().active_slot, 1_152);
    }

    #[test]
    fn legacy_activates_after_lib_passes_the_proposal_then_the_pending_block() {
        // 4 producers, all up: LIB is the 2nd smallest implied irreversible block, itself
        // the 2nd smallest last-produced block when proposed: each catch-up takes two to
        // four turns, and promotion needs two catch-ups.
        let t = timing(ConsensusMode::Legacy, 5_000, 5_050, 4);
        let a = predict(&t, 5_060, &every).unwrap();
        assert_eq!(a.proposal_slot, 5_122);
        let lag = a.active_slot - a.proposal_slot;
        assert!(
            (2 * 24..=2 * 48).contains(&lag),
            "two LIB catch-ups, {lag} slots"
        );
        // Our producer (index 1) down from slot 4_900: its frozen entries lengthen the lag.
        let down = |s: u32| s < 4_900 || (s % 48) / 12 != 1;
        let b = predict(&t, 5_060, &down).unwrap();
        assert!(b.active_slot > a.active_slot, "{b:?} vs {a:?}");
    }

    #[test]
    fn our_slots_are_counted_exactly() {
        // 4 producers, we are index 1: slots 12..24, 60..72, ...
        assert_eq!(our_slots_between(0, 48, 4, 1), 12);
        assert_eq!(our_slots_between(18, 61, 4, 1), 6 + 1);
        assert_eq!(our_slots_between(0, 48 * 10 + 13, 4, 1), 121);
        assert_eq!(our_slots_between(50, 40, 4, 1), 0);
        assert_eq!(our_slots_between(0, 100, 0, 0), 0);
        assert_eq!(our_slots_between(0, 100, 4, 4), 0);
        let brute = |f: u32, t: u32| (f..t).filter(|s| (s % 48) / 12 == 1).count() as u32;
        for (f, t) in [(0, 1000), (13, 777), (59, 60), (100, 3001)] {
            assert_eq!(our_slots_between(f, t, 4, 1), brute(f, t));
        }
    }

    #[test]
    fn hostile_inputs_stay_bounded() {
        let t = timing(ConsensusMode::Legacy, u32::MAX, u32::MAX - 3, 21);
        assert_eq!(predict(&t, u32::MAX, &every), None);
        let never = |_: u32| false;
        let t = timing(ConsensusMode::Savanna, 0, 5, 0);
        assert_eq!(predict(&t, 6, &never), None);
        assert_eq!(our_slots_between(0, u32::MAX, 21, 20), {
            let rot = 21 * 12;
            let whole = u32::MAX / rot;
            whole * 12
                + (whole * rot..u32::MAX)
                    .filter(|s| (s % rot) / 12 == 20)
                    .count() as u32
        });
    }
}
