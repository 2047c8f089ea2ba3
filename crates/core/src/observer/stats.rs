//! What the window of blocks says: each slot's producer and key, our producer's misses,
//! and how much of the rest of the schedule is producing (participation).
//!
//! A slot is *resolved* when the schedule in force at it is known and, for a produced
//! block, names the block's actual producer. Unresolved slots never count as misses of
//! ours: counting fewer misses delays a failover, counting wrong ones could cause one.

use serde::Serialize;

use super::schedule::{Schedule, ScheduleBook, ScheduledProducer};
use super::tracker::Tracker;
use antelope::time::{round_of, round_start_slot, BLOCK_INTERVAL_MS, PRODUCER_REPETITIONS};
use antelope::{BlockTimestamp, Name, PublicKey};

/// One slot of the observed chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot<'a> {
    pub slot: u32,
    pub produced: bool,
    /// Who was scheduled, with the signing authority in force; `None` if unresolved.
    pub scheduled: Option<&'a ScheduledProducer>,
    /// Whether that authority is known to have been in force (not just the order).
    pub key_known: bool,
}

/// Every slot from the first block in the window to the head, in order.
pub fn timeline<'a>(tracker: &'a Tracker, book: &'a ScheduleBook) -> Vec<Slot<'a>> {
    let mut out = Vec::new();
    let mut prev_slot: Option<u32> = None;
    for block in tracker.blocks() {
        let slot = block.timestamp.slot();
        if let Some(prev) = prev_slot {
            for missed in prev + 1..slot {
                let scheduled = book
                    .resolve(missed, block.schedule_version)
                    .and_then(|s| s.scheduled_at(missed));
                out.push(Slot {
                    slot: missed,
                    produced: false,
                    scheduled,
                    key_known: book.keys_known(missed, block.schedule_version),
                });
            }
        }
        let scheduled = book
            .resolve(slot, block.schedule_version)
            .and_then(|s| s.scheduled_at(slot))
            .filter(|p| p.name == block.producer);
        out.push(Slot {
            slot,
            produced: true,
            scheduled,
            key_known: book.keys_known(slot, block.schedule_version),
        });
        prev_slot = Some(slot);
    }
    out
}

/// Our producer's recent record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProducerStats {
    /// Our scheduled slots missed since our last produced block, all under one key.
    pub consecutive_missed: u32,
    /// The key in force during that run of misses.
    pub consecutive_key: Option<PublicKey>,
    /// First and last slot of the run.
    pub run_slots: Option<(u32, u32)>,
    /// Misses in our most recent turn seen.
    pub last_turn_missed: u32,
    pub window_missed: u32,
    pub window_produced: u32,
    pub last_produced_slot: Option<u32>,
    /// Blocks produced by other producers since the run of misses began.
    pub others_produced_during_run: u32,
    /// Slots whose schedule is unknown (they end a run of misses).
    pub unresolved_slots: u32,
}

pub fn producer_stats(slots: &[Slot<'_>], producer: Name) -> ProducerStats {
    let mut st = ProducerStats::default();
    let mut run_open = true;
    let mut last_turn: Option<u32> = None;
    for s in slots.iter().rev() {
        let Some(p) = s.scheduled else {
            st.unresolved_slots += 1;
            run_open = false;
            continue;
        };
        if p.name != producer {
            if run_open && s.produced && st.consecutive_missed > 0 {
                st.others_produced_during_run += 1;
            }
            continue;
        }
        let turn = round_of(s.slot);
        if last_turn.is_none() {
            last_turn = Some(turn);
        }
        if s.produced {
            st.window_produced += 1;
            st.last_produced_slot = st.last_produced_slot.or(Some(s.slot));
            run_open = false;
            continue;
        }
        st.window_missed += 1;
        if last_turn == Some(turn) {
            st.last_turn_missed += 1;
        }
        if run_open && !s.key_known {
            // Which key missed this slot is unknown: it cannot extend any key's run.
            run_open = false;
        }
        if run_open {
            let key = p.key();
            if st.consecutive_missed > 0 && key != st.consecutive_key {
                run_open = false;
                continue;
            }
            st.consecutive_key = key;
            st.consecutive_missed += 1;
            st.run_slots = Some(match st.run_slots {
                None => (s.slot, s.slot),
                Some((_, last)) => (s.slot, last),
            });
        }
    }
    if st.consecutive_missed == 0 {
        st.others_produced_during_run = 0;
    }
    st
}

/// How many of the other producers' recent turns produced at least one block.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Participation {
    pub turns: u32,
    pub turns_produced: u32,
    /// Share of slots (all producers, ours included) that had a block, same window.
    pub slots: u32,
    pub slots_produced: u32,
    /// Producers whose latest turn in the window had no block.
    pub silent: Vec<Name>,
}

impl Participation {
    /// `None` until at least one complete turn has been seen.
    pub fn ratio(&self) -> Option<f64> {
        (self.turns > 0).then(|| f64::from(self.turns_produced) / f64::from(self.turns))
    }
}

/// Participation over the last `max_turns` complete turns of producers other than
/// `exclude`. A turn is complete when all 12 of its slots lie inside the window.
pub fn participation(slots: &[Slot<'_>], exclude: Name, max_turns: u32) -> Participation {
    let mut part = Participation::default();
    let (Some(first), Some(last)) = (slots.first(), slots.last()) else {
        return part;
    };
    let mut seen: Vec<Name> = Vec::new();
    // Walk complete turns backwards from the newest.
    let mut end = slots.len();
    while end > 0 && part.turns < max_turns {
        let turn = round_of(slots[end - 1].slot);
        let mut start = end;
        while start > 0 && round_of(slots[start - 1].slot) == turn {
            start -= 1;
        }
        let chunk = &slots[start..end];
        end = start;
        let complete = round_start_slot(turn).is_some_and(|turn_first| {
            turn_first >= first.slot && turn_first + PRODUCER_REPETITIONS - 1 <= last.slot
        });
        if !complete {
            continue;
        }
        // Every slot of a turn has the same scheduled producer; take a resolved one.
        let Some(p) = chunk.iter().find_map(|s| s.scheduled) else {
            continue;
        };
        part.slots += chunk.len() as u32;
        part.slots_produced += chunk.iter().filter(|s| s.produced).count() as u32;
        if p.name == exclude {
            continue;
        }
        part.turns += 1;
        if chunk.iter().any(|s| s.produced) {
            part.turns_produced += 1;
        } else if !seen.contains(&p.name) {
            part.silent.push(p.name);
        }
        seen.push(p.name);
    }
    part
}

/// Participation over the other producers' turns that began after our run of misses
/// did: is the rest of the network producing *now*, while we are not?
pub fn run_participation(
    slots: &[Slot<'_>],
    stats: &ProducerStats,
    exclude: Name,
) -> Participation {
    match stats.run_slots {
        Some((first, _)) => {
            let from = slots.partition_point(|s| s.slot < first);
            participation(&slots[from..], exclude, u32::MAX)
        }
        None => Participation::default(),
    }
}

/// Our scheduled slots after the head block whose time has passed (with a one-slot
/// grace for propagation): misses the chain has not confirmed yet, because no later
/// block exists. Only for early warnings, never for the trigger.
pub fn unconfirmed_misses(schedule: &Schedule, producer: Name, head_slot: u32, now_ms: i64) -> u32 {
    let Some(now_slot) = BlockTimestamp::from_unix_ms(now_ms - 2 * BLOCK_INTERVAL_MS) else {
        return 0;
    };
    let limit = head_slot.saturating_add(2 * schedule.rotation_slots());
    (head_slot.saturating_add(1)..=now_slot.slot().min(limit))
        .filter(|&s| schedule.scheduled_at(s).is_some_and(|p| p.name == producer))
        .count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::schedule::{ConsensusMode, Schedule};
    use crate::observer::tracker::tests::{block, id};
    use crate::observer::tracker::BlockHeader;
    use antelope::PrivateKey;

    fn key(seed: u8) -> PublicKey {
        PrivateKey::from_bytes(&[seed; 32]).unwrap().public_key()
    }

    fn sched(version: u32, names: &[&str], ours_key: PublicKey) -> Schedule {
        Schedule {
            version,
            producers: names
                .iter()
                .enumerate()
                .map(|(i, n)| ScheduledProducer {
                    name: Name::literal(n),
                    threshold: 1,
                    keys: vec![if *n == "ours" {
                        ours_key
                    } else {
                        key(100 + i as u8)
                    }],
                })
                .collect(),
        }
    }

    /// Builds a chain over `slots` where `up(slot, producer)` says whether a block exists.
    fn chain(s: &Schedule, slots: std::ops::Range<u32>, up: impl Fn(u32, &str) -> bool) -> Tracker {
        let mut t = Tracker::new(100_000);
        let mut num = 1;
        for slot in slots {
            let p = s.scheduled_at(slot).unwrap().name;
            if up(slot, &p.to_string()) {
                let b = BlockHeader {
                    producer: p,
                    schedule_version: s.version,
                    ..block(num, slot, 0)
                };
                t.push(b).unwrap();
                num += 1;
            }
        }
        t
    }

    fn book(mode: ConsensusMode, s: &Schedule) -> ScheduleBook {
        let mut b = ScheduleBook::default();
        b.observe_active(mode, s, 0);
        b
    }

    const FOUR: &[&str] = &["a", "b", "ours", "d"];

    #[test]
    fn consecutive_misses_span_turns_and_reset_on_a_block() {
        let k = key(1);
        let s = sched(5, FOUR, k);
        // "ours" has slots 24..36 of each 48-slot rotation. Down from slot 30 on.
        let t = chain(&s, 0..48 * 3, |slot, p| p != "ours" || slot < 30);
        let b = book(ConsensusMode::Legacy, &s);
        let tl = timeline(&t, &b);
        let st = producer_stats(&tl, Name::literal("ours"));
        // Turn 1: slots 30..36 (6), turns 2 and 3: 12 each.
        assert_eq!(st.consecutive_missed, 30);
        assert_eq!(st.consecutive_key, Some(k));
        assert_eq!(st.run_slots, Some((30, 48 * 2 + 35)));
        assert_eq!(st.last_turn_missed, 12);
        assert_eq!(st.last_produced_slot, Some(29));
        assert!(st.others_produced_during_run > 0);
    }

    #[test]
    fn handoff_misses_never_accumulate() {
        let s = sched(5, FOUR, key(1));
        // The first two slots of every one of our turns are lost to latency.
        let t = chain(&s, 0..48 * 10, |slot, p| p != "ours" || slot % 12 >= 2);
        let bk = book(ConsensusMode::Legacy, &s);
        let tl = timeline(&t, &bk);
        let st = producer_stats(&tl, Name::literal("ours"));
        assert_eq!(st.consecutive_missed, 0);
        assert!(st.window_missed >= 18);
        let part = participation(&tl, Name::literal("ours"), 12);
        assert_eq!(part.ratio(), Some(1.0));
    }

    #[test]
    fn participation_counts_other_producers_turns() {
        let s = sched(5, FOUR, key(1));
        // "b" and "d" are down: 1 of 3 others produce.
        let t = chain(&s, 0..48 * 4 + 1, |_, p| p == "a" || p == "ours");
        let bk = book(ConsensusMode::Legacy, &s);
        let tl = timeline(&t, &bk);
        let part = participation(&tl, Name::literal("ours"), 6);
        assert_eq!(part.turns, 6);
        assert_eq!(part.turns_produced, 2);
        let mut silent: Vec<String> = part.silent.iter().map(|n| n.to_string()).collect();
        silent.sort();
        assert_eq!(silent, ["b", "d"]);
    }

    #[test]
    fn incomplete_turns_and_empty_windows_do_not_count() {
        let s = sched(5, FOUR, key(1));
        let t = chain(&s, 5..20, |_, _| true);
        let bk = book(ConsensusMode::Legacy, &s);
        let tl = timeline(&t, &bk);
        // Slots 5..19: turn 0 starts before the window, turn 1 ends after it.
        assert_eq!(participation(&tl, Name::literal("ours"), 10).turns, 0);
        assert_eq!(participation(&[], Name::literal("ours"), 10).ratio(), None);
    }

    #[test]
    fn unknown_schedule_never_counts_as_our_miss() {
        let s = sched(5, FOUR, key(1));
        let t = chain(&s, 0..48 * 2, |_, p| p != "ours");
        // The book knows another version only.
        let other = sched(6, FOUR, key(1));
        let bk = book(ConsensusMode::Legacy, &other);
        let tl = timeline(&t, &bk);
        let st = producer_stats(&tl, Name::literal("ours"));
        assert_eq!(st.consecutive_missed, 0);
        assert!(st.unresolved_slots > 0);
    }

    #[test]
    fn a_key_change_ends_the_run_of_the_old_key() {
        let old = key(1);
        let new = key(2);
        let s_old = sched(1, FOUR, old);
        let s_new = sched(2, FOUR, new);
        // Savanna: the new schedule is seen at slot 60 (round 5); ours is down throughout.
        let t = chain(&s_old, 0..48 * 3, |_, p| p != "ours");
        // Rewrite versions as Savanna.
        let mut sav = Tracker::new(100_000);
        for b in t.blocks() {
            sav.push(BlockHeader {
                schedule_version: crate::observer::schedule::SAVANNA_SCHEDULE_VERSION,
                ..b.clone()
            })
            .unwrap();
        }
        let mut b = ScheduleBook::default();
        b.observe_active(ConsensusMode::Savanna, &s_old, 10);
        b.observe_active(ConsensusMode::Savanna, &s_new, 60);
        let tl = timeline(&sav, &b);
        let st = producer_stats(&tl, Name::literal("ours"));
        // From slot 60 on, our turns (72..84, 120..132) are the new key's.
        assert_eq!(st.consecutive_key, Some(new));
        assert_eq!(st.consecutive_missed, 24);
        let _ = id(1, 0);
    }

    #[test]
    fn misses_from_before_the_first_schedule_observation_count_for_no_key() {
        // Savanna: our producer was down for two rotations before this observer started
        // (a restart mid-failover); the schedule it first sees may already hold a new key.
        let s = sched(1, FOUR, key(2));
        let t = chain(&s, 0..48 * 3, |slot, p| p != "ours" || slot >= 48 * 2 + 36);
        let mut sav = Tracker::new(100_000);
        for b in t.blocks() {
            sav.push(BlockHeader {
                schedule_version: crate::observer::schedule::SAVANNA_SCHEDULE_VERSION,
                ..b.clone()
            })
            .unwrap();
        }
        let mut b = ScheduleBook::default();
        b.observe_active(ConsensusMode::Savanna, &s, 48 * 2 + 30);
        let tl = timeline(&sav, &b);
        let st = producer_stats(&tl, Name::literal("ours"));
        // Observed at slot 126: keys are known from its round (120..132, 12 misses);
        // slots 24..36 and 72..84 were missed before that and count for no key.
        assert_eq!(st.consecutive_missed, 12);
        assert_eq!(st.run_slots, Some((120, 131)));
        assert_eq!(
            st.window_missed, 36,
            "still visible as misses, just not any key's"
        );
        // Participation does not need keys: the order is enough.
        let part = participation(&tl, Name::literal("ours"), 20);
        assert_eq!(part.ratio(), Some(1.0));
    }

    #[test]
    fn run_participation_looks_only_at_turns_after_the_run_began() {
        let s = sched(5, FOUR, key(1));
        // Ours down from slot 48 (its turn is 72..84); b and d go down with it.
        let t = chain(&s, 0..48 * 4, |slot, p| slot < 48 || p == "a");
        let bk = book(ConsensusMode::Legacy, &s);
        let tl = timeline(&t, &bk);
        let ours = Name::literal("ours");
        let st = producer_stats(&tl, ours);
        let whole = participation(&tl, ours, 20);
        let run = run_participation(&tl, &st, ours);
        assert!(whole.ratio().unwrap() > run.ratio().unwrap());
        assert_eq!(run.turns_produced, 2, "only a produced since the outage");
    }

    #[test]
    fn unconfirmed_misses_count_our_passed_slots_after_the_head() {
        let s = sched(5, FOUR, key(1));
        // Ours has slots 24..36; head at 25; now is slot 30 plus change.
        let now = BlockTimestamp(30).unix_ms() + 100;
        // Grace of two slots: slots 26..=28 have surely passed.
        assert_eq!(unconfirmed_misses(&s, Name::literal("ours"), 25, now), 3);
        assert_eq!(unconfirmed_misses(&s, Name::literal("a"), 25, now), 0);
        assert_eq!(unconfirmed_misses(&s, Name::literal("ours"), 40, now), 0);
    }
}
