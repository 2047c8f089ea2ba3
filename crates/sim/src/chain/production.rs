//! Producing slots: who signs a slot, the system contract's schedule tick, schedule
//! promotion, and finality (Savanna votes or legacy DPoS), as the module docs of
//! [`super`] describe.

use std::collections::HashMap;
use std::sync::Arc;

use antelope::{BlockId, BlockTimestamp, Checksum256, Name, PublicKey};

use super::block::{finality_extension, tx_mroot, Block, Proposal, Schedule, Schedules};
use super::{Chain, Consensus, DcStatus, REPETITIONS, SAVANNA_SCHEDULE_VERSION};
use crate::system::Authority;

/// Legacy DPoS finality bookkeeping.
#[derive(Debug, Clone, Default)]
pub(super) struct LegacyFinality {
    pub(super) last_produced: HashMap<Name, u32>,
    pub(super) last_implied_irb: HashMap<Name, u32>,
    pub(super) proposed_irb: u32,
}

fn dpos_calc(map: &HashMap<Name, u32>, schedule: &Schedule) -> u32 {
    let mut v: Vec<u32> = schedule
        .producers
        .iter()
        .map(|(n, _)| map.get(n).copied().unwrap_or(0))
        .collect();
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[(v.len() - 1) / 3]
}

/// Finalizer votes needed for finality: `2N/3 + 1`.
pub fn finality_threshold(n: usize) -> usize {
    n * 2 / 3 + 1
}

impl Chain {
    // ---- production ---------------------------------------------------------------------

    /// Processes every slot up to and including `target`.
    pub fn advance_to(&mut self, target: u32) {
        while self.slot < target {
            let s = self.slot + 1;
            self.produce_slot(s);
            self.slot = s;
        }
    }

    fn signer_for(
        &self,
        producer: Name,
        authority: &Authority,
    ) -> Option<(PublicKey, Option<usize>)> {
        if producer == self.spec.our_producer {
            self.dcs
                .iter()
                .enumerate()
                .find(|(_, dc)| {
                    dc.status == DcStatus::Up && authority.signable_by(&dc.public_key())
                })
                .map(|(i, dc)| (dc.public_key(), Some(i)))
        } else if self.down.contains(&producer) {
            None
        } else {
            authority
                .keys
                .iter()
                .find(|(k, _)| self.signers.contains_key(k) && authority.signable_by(k))
                .map(|(k, _)| (*k, None))
        }
    }

    /// Whether `producer`'s finalizer votes now.
    fn votes(&self, producer: Name) -> bool {
        if producer == self.spec.our_producer {
            match self.state.active_finalizer_key(producer) {
                Some(active) => self
                    .dcs
                    .iter()
                    .any(|dc| dc.status == DcStatus::Up && dc.finalizer_key == active),
                None => false,
            }
        } else {
            !self.down.contains(&producer) && !self.not_voting.contains(&producer)
        }
    }

    /// Stand-in `action_mroot`, distinct per fork.
    fn action_mroot(&self, previous: &BlockId, slot: u32, producer: Name) -> Checksum256 {
        let mut data = Vec::with_capacity(52);
        data.extend_from_slice(&previous.0);
        data.extend_from_slice(&slot.to_le_bytes());
        data.extend_from_slice(&producer.as_u64().to_le_bytes());
        data.extend_from_slice(&self.fork_salt.to_le_bytes());
        Checksum256::hash(&data)
    }

    /// Legacy: the LIB block `num` in `slot` would carry, its producer's implied
    /// irreversible block set to the parent's proposal (as the block itself will set it).
    fn legacy_lib_of(&self, num: u32, slot: u32, signing: &Schedule) -> u32 {
        let Some(idx) = BlockTimestamp(slot).scheduled_index(signing.producers.len()) else {
            return 0;
        };
        let producer = signing.producers[idx].0;
        let l = &self.legacy;
        let mut v: Vec<u32> = signing
            .producers
            .iter()
            .map(|(n, _)| {
                if *n == producer {
                    l.proposed_irb
                } else {
                    l.last_implied_irb.get(n).copied().unwrap_or(0)
                }
            })
            .collect();
        v.sort_unstable();
        v[(v.len() - 1) / 3].min(num)
    }

    fn produce_slot(&mut self, slot: u32) {
        let parent = self.head();
        let (parent_num, parent_slot, parent_id, parent_lib, parent_producer) = (
            parent.num,
            parent.slot,
            parent.id,
            parent.lib,
            parent.producer,
        );
        let mut sched = (*parent.schedules).clone();
        let mut changed = false;
        let mut new_producers = None;
        let num = parent_num + 1;
        let signing = match self.spec.consensus {
            Consensus::Savanna => {
                if slot / REPETITIONS > parent_slot / REPETITIONS {
                    if let Some(p) = &sched.pending {
                        if p.proposed_slot <= self.lib_slot {
                            sched.active = p.schedule.clone();
                            sched.pending = None;
                            changed = true;
                        }
                    }
                    if sched.pending.is_none() {
                        if let Some(p) = sched.proposed.take() {
                            sched.pending = Some(p);
                            changed = true;
                        }
                    }
                }
                sched.active.clone()
            }
            Consensus::Legacy => {
                let signing = sched.active.clone();
                // The LIB this block will carry decides its promotions: Leap computes it
                // first (`pending_block_header_state_legacy::next`, `controller::start_block`).
                let lib = self.legacy_lib_of(num, slot, &signing).max(parent_lib);
                if let Some(p) = &sched.pending {
                    if lib >= p.pending_block {
                        sched.active = p.schedule.clone();
                        sched.pending = None;
                        changed = true;
                    }
                }
                if sched.pending.is_none() {
                    if let Some(mut p) = sched.proposed.take() {
                        if lib >= p.proposed_block {
                            p.pending_block = num;
                            new_producers = Some(p.schedule.clone());
                            sched.pending = Some(p);
                            changed = true;
                        } else {
                            sched.proposed = Some(p);
                        }
                    }
                }
                signing
            }
        };
        let Some(idx) = BlockTimestamp(slot).scheduled_index(signing.producers.len()) else {
            return;
        };
        let (producer, authority) = &signing.producers[idx];
        let producer = *producer;
        if producer == self.spec.our_producer && slot % REPETITIONS < self.handoff_misses {
            return; // lost at the handoff
        }
        let Some((signer, datacenter)) = self.signer_for(producer, authority) else {
            return; // missed slot
        };

        // onblock: pay the previous block's producer, then the schedule tick.
        if let Some(row) = self.state.producers.get_mut(&parent_producer) {
            row.unpaid_blocks += 1;
        }
        if parent_slot.saturating_sub(self.last_schedule_update) > self.spec.schedule_tick_slots {
            self.last_schedule_update = parent_slot;
            if self.update_elected_producers(&mut sched, num, slot) {
                changed = true;
            }
        }

        // Finality.
        let mut qc_block = num.saturating_sub(1);
        match self.spec.consensus {
            Consensus::Savanna => {
                let voters = signing
                    .producers
                    .iter()
                    .filter(|(p, _)| self.votes(*p))
                    .count();
                if voters >= finality_threshold(signing.producers.len()) {
                    self.lib = self.lib.max(num.saturating_sub(2));
                } else {
                    qc_block = self.head().qc_block;
                }
            }
            Consensus::Legacy => {
                let l = &mut self.legacy;
                l.last_implied_irb.insert(producer, l.proposed_irb);
                l.last_produced.insert(producer, num);
                l.proposed_irb = dpos_calc(&l.last_produced, &signing);
                let lib = dpos_calc(&l.last_implied_irb, &signing);
                self.lib = self.lib.max(lib).min(num);
            }
        }

        let transactions = std::mem::take(&mut self.pending_txs);
        self.onblock_state = None;
        let mut block = Block {
            num,
            id: BlockId::default(),
            previous: parent_id,
            slot,
            producer,
            signer,
            datacenter,
            schedule_version: match self.spec.consensus {
                Consensus::Savanna => SAVANNA_SCHEDULE_VERSION,
                Consensus::Legacy => signing.version,
            },
            confirmed: 0,
            lib: self.lib,
            schedules: if changed {
                Arc::new(sched)
            } else {
                self.head().schedules.clone()
            },
            new_producers,
            qc_block,
            transaction_mroot: tx_mroot(&transactions),
            action_mroot: self.action_mroot(&parent_id, slot, producer),
            header_extensions: match self.spec.consensus {
                Consensus::Savanna => vec![finality_extension(qc_block)],
                Consensus::Legacy => Vec::new(),
            },
            transactions,
        };
        block.id = block.header().id();
        self.blocks.push_back(block);
        if let Some((id, slot)) = self.block(self.lib).map(|b| (b.id, b.slot)) {
            self.lib_id = id;
            self.lib_slot = slot;
        }
        while self.blocks.len() > self.spec.blocks_kept.max(2) {
            self.blocks.pop_front();
        }
        let now = BlockTimestamp(slot).unix_ms() / 1000;
        self.known_txs.retain(|_, exp| i64::from(*exp) >= now);
    }

    /// The contract's `update_elected_producers`: proposes the current table's list when it
    /// differs from the newest one. Returns whether a proposal was recorded.
    fn update_elected_producers(&mut self, sched: &mut Schedules, num: u32, slot: u32) -> bool {
        let savanna = self.spec.consensus == Consensus::Savanna;
        // `onblock` runs before the block's transactions: it sees the tables as the last
        // block left them.
        let state = self.onblock_state.as_ref().unwrap_or(&self.state);
        let list: Vec<(Name, Authority)> = self
            .spec
            .producers
            .iter()
            .filter_map(|p| {
                let row = state.producers.get(p)?;
                if !row.is_active || (savanna && state.active_finalizer_key(*p).is_none()) {
                    return None;
                }
                Some((*p, row.signing_authority()?))
            })
            .collect();
        if list.len() < self.last_schedule_size || sched.latest().same_list(&list) {
            return false;
        }
        if !savanna && sched.proposed.is_some() {
            return false; // set_proposed_producers returns -1 while one waits
        }
        self.last_schedule_size = list.len();
        let version = sched.latest().version + 1;
        sched.proposed = Some(Proposal {
            schedule: Arc::new(Schedule {
                version,
                producers: list,
            }),
            proposed_block: num,
            proposed_slot: slot,
            pending_block: 0,
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ChainSpec;

    fn chain(n: usize, consensus: Consensus) -> Chain {
        let mut spec = ChainSpec::new(n, 1_000_000);
        spec.consensus = consensus;
        spec.schedule_tick_slots = 24;
        Chain::new(spec)
    }

    #[test]
    fn slots_follow_schedule_order_and_ids_link() {
        let mut c = chain(4, Consensus::Savanna);
        c.advance_to(1_000_100);
        let order = c.schedules().active.producers.clone();
        for b in c.blocks_from(c.head().num - 50) {
            let idx = ((b.slot % (4 * 12)) / 12) as usize;
            assert_eq!(b.producer, order[idx].0, "slot {}", b.slot);
            assert_eq!(b.id.block_num(), b.num);
            assert_eq!(c.block(b.num - 1).unwrap().id, b.previous);
        }
        assert_eq!(c.lib(), c.head().num - 2);
        assert_eq!(c.head().schedule_version, SAVANNA_SCHEDULE_VERSION);
    }

    #[test]
    fn down_producer_misses_and_lib_stalls_below_threshold() {
        let mut c = chain(4, Consensus::Savanna);
        let victim = c.schedules().active.producers[0].0;
        c.set_producer_up(victim, false);
        let before = c.head().num;
        c.advance_to(c.slot() + 48);
        assert_eq!(c.head().num - before, 36, "one turn of 12 missed");
        assert_eq!(c.lib(), c.head().num - 2, "3 of 4 still finalize");
        let second = c.schedules().active.producers[2].0;
        c.set_producer_up(second, false);
        let lib = c.lib();
        c.advance_to(c.slot() + 48);
        assert_eq!(c.lib(), lib, "2 of 4 cannot finalize");
    }

    #[test]
    fn handoff_misses_lose_the_start_of_each_of_our_turns() {
        let mut c = chain(4, Consensus::Savanna);
        let our = c.our_producer();
        c.set_handoff_misses(2);
        let from = c.head().num;
        c.advance_to(c.slot() + 48 * 3);
        let ours: Vec<u32> = c
            .blocks_from(from + 1)
            .filter(|b| b.producer == our)
            .map(|b| b.slot % 12)
            .collect();
        assert_eq!(ours.len(), 10 * 3, "10 of 12 slots per turn");
        assert!(ours.iter().all(|&s| s >= 2), "{ours:?}");
        assert_eq!(c.lib(), c.head().num - 2);
    }

    #[test]
    fn withheld_votes_stall_finality_while_blocks_flow() {
        let mut c = chain(4, Consensus::Savanna);
        let producers: Vec<Name> = c.schedules().active.producers.iter().map(|p| p.0).collect();
        let others: Vec<Name> = producers
            .into_iter()
            .filter(|p| *p != c.our_producer())
            .collect();
        c.set_producer_voting(others[0], false);
        c.advance_to(c.slot() + 48);
        assert_eq!(c.lib(), c.head().num - 2, "3 of 4 still finalize");
        c.set_producer_voting(others[1], false);
        let (lib, head) = (c.lib(), c.head().num);
        c.advance_to(c.slot() + 48);
        assert_eq!(c.head().num - head, 48, "every slot still gets a block");
        assert_eq!(c.lib(), lib, "2 of 4 votes cannot finalize");
    }

    #[test]
    fn legacy_lib_lags_about_two_thirds_rotations() {
        let mut c = chain(21, Consensus::Legacy);
        c.advance_to(c.slot() + 21 * 12 * 2);
        let lag = c.head().num - c.lib();
        assert!((320..=370).contains(&lag), "lag {lag}");
        assert_ne!(c.head().schedule_version, SAVANNA_SCHEDULE_VERSION);
    }

    /// A key change accepted while the head is the block before the contract's schedule
    /// update is in the proposing block, after its `onblock`: that proposal does not carry
    /// it, the next one (121 slots later) does.
    #[test]
    fn a_change_in_the_proposing_block_waits_for_the_next_update() {
        let mut c = chain(4, Consensus::Savanna);
        let our = c.our_producer();
        let backup = c.datacenters()[1].public_key();
        let tick = c.spec().schedule_tick_slots;
        while c.head().slot - c.last_schedule_update() <= tick {
            c.advance_to(c.slot() + 1);
        }
        let row = c.state_mut().producers.get_mut(&our).unwrap();
        row.producer_key = backup;
        row.producer_authority = Some(Authority::single(backup));
        let before = c.head().slot;
        c.advance_to(c.slot() + 1);
        assert_eq!(c.head().slot, before + 1, "every producer is up");
        assert_eq!(
            c.last_schedule_update(),
            before,
            "this block ran the update"
        );
        let carries_backup = |c: &Chain| {
            let s = c.schedules();
            [&s.proposed, &s.pending].into_iter().flatten().any(|p| {
                p.schedule
                    .authority_of(our)
                    .is_some_and(|a| a.signable_by(&backup))
            })
        };
        assert!(!carries_backup(&c), "onblock ran before the transaction");
        c.advance_to(before + tick + 1);
        assert!(!carries_backup(&c), "no update before the next tick");
        c.advance_to(before + tick + 2);
        assert!(carries_backup(&c), "the next update proposes it");
    }

    /// Measured on real nodeos v4.1 (tests/realnode.rs, 5 producers of 12 slots, all up):
    /// LIB trailed the head by 63–70 blocks (reference §10: 61–72 with one down).
    #[test]
    fn legacy_lib_lag_with_5_producers_matches_the_real_node() {
        let mut c = chain(5, Consensus::Legacy);
        c.advance_to(c.slot() + 5 * 12 * 4);
        let mut lags = Vec::new();
        for _ in 0..60 {
            c.advance_to(c.slot() + 1);
            lags.push(c.head().num - c.lib());
        }
        let (lo, hi) = (*lags.iter().min().unwrap(), *lags.iter().max().unwrap());
        assert!(lo >= 60 && hi <= 72, "lag {lo}..={hi}");
    }

    #[test]
    fn legacy_promotion_waits_for_lib_twice() {
        let mut c = chain(4, Consensus::Legacy);
        let our = c.our_producer();
        let backup = c.datacenters()[1].public_key();
        let row = c.state_mut().producers.get_mut(&our).unwrap();
        row.producer_key = backup;
        row.producer_authority = Some(Authority::single(backup));
        let (mut proposed, mut pending, mut active) = (None, None, None);
        for _ in 0..2000 {
            c.advance_to(c.slot() + 1);
            let s = c.schedules().clone();
            if proposed.is_none() {
                proposed = s.proposed.as_ref().map(|p| p.proposed_block);
            }
            if pending.is_none() {
                if let Some(p) = &s.pending {
                    // The block's own LIB (computed before its promotions) passed it.
                    let b = c.block(p.pending_block).unwrap();
                    assert!(b.lib >= p.proposed_block);
                    assert!(c.block(p.pending_block - 1).unwrap().lib < p.proposed_block);
                    assert!(b.new_producers.is_some(), "the pending block carries it");
                    pending = Some(p.pending_block);
                }
            }
            if s.active
                .authority_of(our)
                .is_some_and(|a| a.signable_by(&backup))
            {
                active = Some(c.head().num);
                break;
            }
        }
        let (p, q, a) = (proposed.unwrap(), pending.unwrap(), active.unwrap());
        assert!(p < q && q < a);
        assert!(
            c.block(a).unwrap().lib >= q && c.block(a - 1).unwrap().lib < q,
            "active in the first block whose LIB passed the pending block"
        );
        // The header version moves to the new schedule's from the next block on.
        c.advance_to(c.slot() + 2);
        assert_eq!(c.head().schedule_version, 2);
    }

    /// The pure prediction (`decision::cadence`) against this model: our producer down, the
    /// key switched in the table at many phases of the contract's cadence; the predicted
    /// proposal and first block under the new schedule must be the model's.
    #[test]
    fn cadence_prediction_matches_the_model() {
        use failover_core::decision::cadence::{down_from, predict, ChainTiming};
        use failover_core::observer::schedule::ConsensusMode;
        for (consensus, mode, n) in [
            (Consensus::Savanna, ConsensusMode::Savanna, 21),
            (Consensus::Legacy, ConsensusMode::Legacy, 21),
            (Consensus::Savanna, ConsensusMode::Savanna, 4),
            (Consensus::Legacy, ConsensusMode::Legacy, 5),
        ] {
            for phase in (0..121).step_by(11) {
                let mut spec = ChainSpec::new(n, 1_000_000);
                spec.consensus = consensus;
                let mut c = Chain::new(spec);
                let our = c.our_producer();
                let index = c
                    .schedules()
                    .active
                    .producers
                    .iter()
                    .position(|p| p.0 == our)
                    .unwrap();
                let backup = c.datacenters()[1].public_key();
                // Let legacy LIB settle, then take our producer down.
                c.advance_to(c.slot() + phase + (n as u32) * 12 * 3);
                c.set_datacenter(0, DcStatus::Down);
                let down = c.slot() + 1;
                c.advance_to(c.slot() + 30);
                let timing = ChainTiming {
                    mode,
                    last_update_slot: c.last_schedule_update(),
                    head_slot: c.head().slot,
                    schedule_len: n,
                };
                let predicted = predict(&timing, c.slot(), &down_from(n, index, down)).unwrap();
                // The table changes now: the transaction is in the next produced block.
                let row = c.state_mut().producers.get_mut(&our).unwrap();
                row.producer_key = backup;
                row.producer_authority = Some(Authority::single(backup));
                let (mut proposed, mut active) = (None, None);
                for _ in 0..4_000 {
                    c.advance_to(c.slot() + 1);
                    let b = c.head();
                    if b.slot != c.slot() {
                        continue;
                    }
                    let s = &b.schedules;
                    if proposed.is_none() {
                        proposed = [&s.proposed, &s.pending]
                            .into_iter()
                            .flatten()
                            .find(|p| {
                                p.schedule
                                    .authority_of(our)
                                    .is_some_and(|a| a.signable_by(&backup))
                            })
                            .map(|p| p.proposed_slot);
                    }
                    // The first block signed under a schedule that gives us the backup key
                    // (every producer is up but our primary, so every slot from it on has
                    // a block: the backup's node produces ours).
                    let signing = c.block(b.num - 1).map(|p| p.schedules.clone());
                    let signed_under_new = match consensus {
                        Consensus::Savanna => s
                            .active
                            .authority_of(our)
                            .is_some_and(|a| a.signable_by(&backup)),
                        Consensus::Legacy => signing.is_some_and(|p| {
                            p.active
                                .authority_of(our)
                                .is_some_and(|a| a.signable_by(&backup))
                        }),
                    };
                    if signed_under_new {
                        active = Some(b.slot);
                        break;
                    }
                }
                let what = format!("{consensus:?} n={n} phase={phase} predicted {predicted:?}");
                assert_eq!(Some(predicted.proposal_slot), proposed, "proposal, {what}");
                assert_eq!(Some(predicted.active_slot), active, "activation, {what}");
            }
        }
    }
}
