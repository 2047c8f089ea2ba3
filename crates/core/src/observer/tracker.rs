//! Follows the quorum chain block by block and keeps a window of produced blocks.
//!
//! Missed slots are not stored: they are the gaps between consecutive blocks (block n's
//! `previous` is block n−1's id, and every slot strictly between their timestamps had no
//! block). Keeping only blocks makes reorgs simple (drop the abandoned blocks and the gaps
//! go with them) and lets a schedule change learned late re-attribute past slots, because
//! every statistic is derived from the window when asked for.

use std::collections::VecDeque;

use thiserror::Error;

use antelope::{BlockId, BlockTimestamp, Name};

/// The header fields the observer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    pub num: u32,
    pub id: BlockId,
    pub previous: BlockId,
    pub timestamp: BlockTimestamp,
    pub producer: Name,
    pub schedule_version: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// The first block, or the first after a reset: nothing before it is known.
    Started,
    /// Appended to the chain; `missed` are the slots skipped since the previous block.
    Appended { missed: std::ops::Range<u32> },
    /// Already known with the same id.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TrackError {
    #[error("block {got} does not follow block {head}: fetch block {expected} first")]
    Gap { head: u32, expected: u32, got: u32 },
    #[error("block {num} does not link to the known block {parent_num}: fork; re-read from block {rewind_to}")]
    Fork {
        num: u32,
        parent_num: u32,
        rewind_to: u32,
    },
    #[error("block {num} has slot {slot}, not after its parent's slot {parent_slot}: invalid chain data")]
    SlotNotIncreasing {
        num: u32,
        slot: u32,
        parent_slot: u32,
    },
}

#[derive(Debug, Clone)]
pub struct Tracker {
    blocks: VecDeque<BlockHeader>,
    /// Blocks older than this many slots behind the head are dropped.
    window_slots: u32,
}

impl Tracker {
    pub fn new(window_slots: u32) -> Self {
        Tracker {
            blocks: VecDeque::new(),
            window_slots,
        }
    }

    pub fn head(&self) -> Option<&BlockHeader> {
        self.blocks.back()
    }

    pub fn first(&self) -> Option<&BlockHeader> {
        self.blocks.front()
    }

    pub fn blocks(&self) -> impl DoubleEndedIterator<Item = &BlockHeader> + ExactSizeIterator {
        self.blocks.iter()
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    pub fn get(&self, num: u32) -> Option<&BlockHeader> {
        let first = self.blocks.front()?.num;
        self.blocks.get(num.checked_sub(first)? as usize)
    }

    pub fn reset(&mut self) {
        self.blocks.clear();
    }

    /// Drops every block numbered `num` or higher.
    pub(crate) fn rewind_to(&mut self, num: u32) {
        while self.blocks.back().is_some_and(|b| b.num >= num) {
            self.blocks.pop_back();
        }
    }

    /// Adds the next block of the chain. On a fork the abandoned blocks are dropped and
    /// the caller re-reads from the block named in the error.
    pub fn push(&mut self, block: BlockHeader) -> Result<Pushed, TrackError> {
        let Some(head) = self.blocks.back().cloned() else {
            self.blocks.push_back(block);
            return Ok(Pushed::Started);
        };
        if block.num <= head.num {
            if self.get(block.num).is_some_and(|b| b.id == block.id) {
                return Ok(Pushed::Duplicate);
            }
            // A different block at a known height: the chain switched forks.
            let rewind_to = block.num.saturating_sub(1);
            self.rewind_to(rewind_to);
            return Err(TrackError::Fork {
                num: block.num,
                parent_num: rewind_to,
                rewind_to,
            });
        }
        if head.num.checked_add(1) != Some(block.num) {
            return Err(TrackError::Gap {
                head: head.num,
                expected: head.num.saturating_add(1),
                got: block.num,
            });
        }
        if block.previous != head.id {
            let rewind_to = head.num;
            self.rewind_to(rewind_to);
            return Err(TrackError::Fork {
                num: block.num,
                parent_num: head.num,
                rewind_to,
            });
        }
        if block.timestamp.slot() <= head.timestamp.slot() {
            return Err(TrackError::SlotNotIncreasing {
                num: block.num,
                slot: block.timestamp.slot(),
                parent_slot: head.timestamp.slot(),
            });
        }
        // Only the part of a gap inside the window can matter (a block dated far ahead
        // must not make anyone walk billions of slots).
        let missed = (head.timestamp.slot() + 1)
            .max(block.timestamp.slot().saturating_sub(self.window_slots))
            ..block.timestamp.slot();
        let head_slot = block.timestamp.slot();
        self.blocks.push_back(block);
        while self.blocks.len() > 1
            && self
                .blocks
                .front()
                .is_some_and(|b| head_slot - b.timestamp.slot() > self.window_slots)
        {
            self.blocks.pop_front();
        }
        Ok(Pushed::Appended { missed })
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use antelope::Checksum256;

    pub fn id(num: u32, fork: u8) -> BlockId {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&num.to_be_bytes());
        b[31] = fork;
        Checksum256(b)
    }

    pub fn block(num: u32, slot: u32, fork: u8) -> BlockHeader {
        BlockHeader {
            num,
            id: id(num, fork),
            previous: id(num - 1, fork),
            timestamp: BlockTimestamp(slot),
            producer: Name::literal("a"),
            schedule_version: 1,
        }
    }

    #[test]
    fn gaps_between_blocks_are_missed_slots() {
        let mut t = Tracker::new(1000);
        assert_eq!(t.push(block(10, 100, 0)), Ok(Pushed::Started));
        assert_eq!(
            t.push(block(11, 101, 0)),
            Ok(Pushed::Appended { missed: 101..101 })
        );
        assert_eq!(
            t.push(block(12, 105, 0)),
            Ok(Pushed::Appended { missed: 102..105 })
        );
        assert_eq!(t.push(block(12, 105, 0)), Ok(Pushed::Duplicate));
        assert_eq!(t.head().unwrap().num, 12);
    }

    #[test]
    fn a_missing_block_number_is_a_gap_not_a_miss() {
        let mut t = Tracker::new(1000);
        t.push(block(10, 100, 0)).unwrap();
        assert!(matches!(
            t.push(block(12, 102, 0)),
            Err(TrackError::Gap { expected: 11, .. })
        ));
        assert_eq!(t.head().unwrap().num, 10);
    }

    #[test]
    fn forks_rewind_and_replay() {
        let mut t = Tracker::new(1000);
        for n in 10..=13 {
            t.push(block(n, 90 + n, 0)).unwrap();
        }
        // Another fork's block 13 (built on our 12) replaces ours.
        let other13 = BlockHeader {
            previous: id(12, 0),
            ..block(13, 104, 1)
        };
        assert!(matches!(
            t.push(other13.clone()),
            Err(TrackError::Fork { rewind_to: 12, .. })
        ));
        assert_eq!(t.head().unwrap().num, 11);
        // Caller re-reads 12 and 13 from the quorum.
        t.push(block(12, 102, 0)).unwrap();
        assert_eq!(t.push(other13), Ok(Pushed::Appended { missed: 103..104 }));
        // A block 14 whose parent is not our 13 is a fork too.
        assert!(matches!(
            t.push(block(14, 105, 2)),
            Err(TrackError::Fork { rewind_to: 13, .. })
        ));
    }

    #[test]
    fn slots_must_increase() {
        let mut t = Tracker::new(1000);
        t.push(block(10, 100, 0)).unwrap();
        assert!(matches!(
            t.push(block(11, 100, 0)),
            Err(TrackError::SlotNotIncreasing { .. })
        ));
    }

    #[test]
    fn window_drops_old_blocks() {
        let mut t = Tracker::new(10);
        for n in 1..=30 {
            t.push(block(n, n, 0)).unwrap();
        }
        assert_eq!(t.first().unwrap().num, 20);
        assert_eq!(t.get(25).unwrap().num, 25);
        assert!(t.get(5).is_none());
    }
}
