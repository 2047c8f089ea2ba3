//! Producer schedules and which one was in force at a given slot.
//!
//! Legacy DPoS headers carry the version of the schedule that produced them, so a slot is
//! resolved by version. Savanna headers always carry 2^31, so the active schedule is
//! tracked from `get_producer_schedule` and a change is placed on a 12-slot round boundary:
//! the latest boundary consistent with what was observed. Placing it late is the safe
//! error: a miss of the new key blamed on the old one only delays judging the new key,
//! while the opposite could fail over away from a backup that has not had its turn yet.

use std::collections::BTreeMap;
use std::sync::Arc;

use antelope::time::rotation_slots;
use antelope::{BlockTimestamp, Name, PublicKey};

/// Header `schedule_version` of every Savanna block.
pub const SAVANNA_SCHEDULE_VERSION: u32 = 1 << 31;

/// How blocks become final and schedules change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsensusMode {
    Savanna,
    Legacy,
}

impl ConsensusMode {
    pub fn from_header_version(version: u32) -> Self {
        if version == SAVANNA_SCHEDULE_VERSION {
            ConsensusMode::Savanna
        } else {
            ConsensusMode::Legacy
        }
    }

    /// Longest time a key change normally takes to reach the active schedule after the
    /// transaction is included (reference §4): the system contract proposes at most every
    /// ~60.5 s, then Savanna activates 13–24 slots later, legacy DPoS after two LIB
    /// catch-ups (~330 blocks each).
    pub(crate) fn max_promotion_secs(self) -> u64 {
        match self {
            ConsensusMode::Savanna => 73,
            ConsensusMode::Legacy => 400,
        }
    }
}

/// One producer in a schedule with its block signing authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledProducer {
    pub name: Name,
    pub threshold: u32,
    pub keys: Vec<PublicKey>,
}

impl ScheduledProducer {
    /// The single signing key, when the authority is the usual one key.
    pub fn key(&self) -> Option<PublicKey> {
        match self.keys.as_slice() {
            [k] => Some(*k),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub version: u32,
    /// In schedule order (never re-sorted: the order decides the slots).
    pub producers: Vec<ScheduledProducer>,
}

impl Schedule {
    pub fn scheduled_at(&self, slot: u32) -> Option<&ScheduledProducer> {
        BlockTimestamp(slot)
            .scheduled_index(self.producers.len())
            .map(|i| &self.producers[i])
    }

    pub fn position(&self, name: Name) -> Option<usize> {
        self.producers.iter().position(|p| p.name == name)
    }

    pub fn get(&self, name: Name) -> Option<&ScheduledProducer> {
        self.producers.iter().find(|p| p.name == name)
    }

    /// Slots in one full rotation.
    pub fn rotation_slots(&self) -> u32 {
        rotation_slots(self.producers.len()).unwrap_or(0)
    }
}

/// Every schedule seen, and when each was in force.
#[derive(Debug, Clone, Default)]
pub struct ScheduleBook {
    by_version: BTreeMap<u32, Arc<Schedule>>,
    /// Savanna: first slot → schedule in force from that slot on.
    epochs: BTreeMap<u32, Arc<Schedule>>,
    /// Savanna: head slot of the latest observation of the active schedule.
    last_seen_slot: Option<u32>,
    /// Savanna: first slot whose signing keys are known. Before the first observation
    /// only the producer order can be assumed (a key change may have happened while
    /// this observer was not watching); the first schedule seen was surely in force
    /// from the start of the round it was seen in.
    keys_known_from: Option<u32>,
}

impl ScheduleBook {
    /// Records the active schedule as reported at head slot `head_slot`.
    pub fn observe_active(&mut self, mode: ConsensusMode, schedule: &Schedule, head_slot: u32) {
        match mode {
            ConsensusMode::Legacy => self.observe_version(schedule),
            ConsensusMode::Savanna => {
                let current = self.epochs.values().next_back();
                if current.map(|s| s.as_ref()) != Some(schedule) {
                    let boundary = BlockTimestamp(head_slot).round_start();
                    // Never earlier than a slot at which the old schedule was still reported.
                    let first = match (current, self.last_seen_slot) {
                        (Some(_), Some(seen)) => boundary.max(seen.saturating_add(1)),
                        _ => 0,
                    };
                    self.epochs.insert(first, Arc::new(schedule.clone()));
                }
                if self.keys_known_from.is_none() {
                    self.keys_known_from = Some(BlockTimestamp(head_slot).round_start());
                }
                self.last_seen_slot =
                    Some(self.last_seen_slot.map_or(head_slot, |s| s.max(head_slot)));
            }
        }
    }

    /// Records a schedule by version (legacy active or pending schedules).
    pub fn observe_version(&mut self, schedule: &Schedule) {
        self.by_version
            .entry(schedule.version)
            .or_insert_with(|| Arc::new(schedule.clone()));
    }

    /// The schedule in force at `slot` for a block whose header carries `header_version`.
    pub fn resolve(&self, slot: u32, header_version: u32) -> Option<&Arc<Schedule>> {
        if header_version == SAVANNA_SCHEDULE_VERSION {
            self.epochs.range(..=slot).next_back().map(|(_, s)| s)
        } else {
            self.by_version.get(&header_version)
        }
    }

    /// Whether the signing keys of the schedule resolved for `slot` are known to have
    /// been in force then (always under legacy DPoS, where the header names the version).
    pub fn keys_known(&self, slot: u32, header_version: u32) -> bool {
        header_version != SAVANNA_SCHEDULE_VERSION
            || self.keys_known_from.is_some_and(|from| slot >= from)
    }

    /// Forgets what cannot matter any more: epochs and versions older than `slot`'s.
    pub fn prune_before(&mut self, slot: u32, oldest_version_in_use: Option<u32>) {
        if let Some((&keep, _)) = self.epochs.range(..=slot).next_back() {
            self.epochs = self.epochs.split_off(&keep);
        }
        if let Some(v) = oldest_version_in_use {
            self.by_version = self.by_version.split_off(&v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn schedule(version: u32, names: &[&str]) -> Schedule {
        Schedule {
            version,
            producers: names
                .iter()
                .map(|n| ScheduledProducer {
                    name: Name::literal(n),
                    threshold: 1,
                    keys: vec![],
                })
                .collect(),
        }
    }

    #[test]
    fn scheduled_producer_uses_schedule_order() {
        let s = schedule(1, &["zeta", "alpha", "mid"]);
        assert_eq!(s.scheduled_at(0).unwrap().name, Name::literal("zeta"));
        assert_eq!(s.scheduled_at(11).unwrap().name, Name::literal("zeta"));
        assert_eq!(s.scheduled_at(12).unwrap().name, Name::literal("alpha"));
        assert_eq!(s.scheduled_at(35).unwrap().name, Name::literal("mid"));
        assert_eq!(s.scheduled_at(36).unwrap().name, Name::literal("zeta"));
        assert!(schedule(1, &[]).scheduled_at(5).is_none());
    }

    #[test]
    fn savanna_change_lands_on_the_latest_round_boundary() {
        let a = schedule(1, &["a"]);
        let b = schedule(2, &["b"]);
        let mut book = ScheduleBook::default();
        book.observe_active(ConsensusMode::Savanna, &a, 1000);
        book.observe_active(ConsensusMode::Savanna, &a, 1003);
        // First seen at slot 1013: boundary 1008 (after 1003, the last slot A was seen).
        book.observe_active(ConsensusMode::Savanna, &b, 1013);
        let v = SAVANNA_SCHEDULE_VERSION;
        assert_eq!(book.resolve(1007, v).unwrap().version, 1);
        assert_eq!(book.resolve(1008, v).unwrap().version, 2);
        // Slots before any observation resolve to the first schedule, by producer order
        // only: their keys are not known.
        assert_eq!(book.resolve(5, v).unwrap().version, 1);
        assert!(!book.keys_known(5, v));
        assert!(
            book.keys_known(996, v),
            "round of the first observation (slot 1000)"
        );
        assert!(!book.keys_known(995, v));
        assert!(book.keys_known(5, 7), "legacy headers name the version");
    }

    #[test]
    fn savanna_change_never_precedes_a_slot_where_the_old_one_was_seen() {
        let mut book = ScheduleBook::default();
        book.observe_active(ConsensusMode::Savanna, &schedule(1, &["a"]), 1010);
        book.observe_active(ConsensusMode::Savanna, &schedule(2, &["b"]), 1013);
        let v = SAVANNA_SCHEDULE_VERSION;
        assert_eq!(book.resolve(1010, v).unwrap().version, 1);
        assert_eq!(book.resolve(1011, v).unwrap().version, 2);
    }

    #[test]
    fn legacy_resolves_by_header_version() {
        let mut book = ScheduleBook::default();
        book.observe_active(ConsensusMode::Legacy, &schedule(7, &["a"]), 1);
        book.observe_version(&schedule(8, &["b"]));
        assert_eq!(
            book.resolve(1, 7).unwrap().producers[0].name,
            Name::literal("a")
        );
        assert_eq!(
            book.resolve(1, 8).unwrap().producers[0].name,
            Name::literal("b")
        );
        assert!(book.resolve(1, 9).is_none());
        book.prune_before(0, Some(8));
        assert!(book.resolve(1, 7).is_none());
    }
}
