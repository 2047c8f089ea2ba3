//! Blocks, producer schedules and their proposals, and the records of accepted
//! transactions and key switches.

use std::sync::Arc;

use serde_json::Value;

use antelope::block::{LegacyProducerKey, LegacyProducerSchedule};
use antelope::transaction::{Extension, TransactionId};
use antelope::{
    BlockHeader, BlockId, BlockTimestamp, Checksum256, Name, PackedTransaction, PublicKey,
    Transaction,
};

use crate::system::Authority;

/// A producer schedule: version and `(producer, block signing authority)` in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub version: u32,
    pub producers: Vec<(Name, Authority)>,
}

impl Schedule {
    pub(super) fn same_list(&self, other: &[(Name, Authority)]) -> bool {
        self.producers == other
    }

    /// The authority `producer` signs with under this schedule.
    pub fn authority_of(&self, producer: Name) -> Option<&Authority> {
        self.producers
            .iter()
            .find(|(n, _)| *n == producer)
            .map(|(_, a)| a)
    }
}

/// A schedule on its way to becoming active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub schedule: Arc<Schedule>,
    /// Block and slot of the proposal (`proposal_time` under Savanna).
    pub(crate) proposed_block: u32,
    pub proposed_slot: u32,
    /// Legacy: the block that made it pending (`schedule_lib_num`).
    pub(crate) pending_block: u32,
}

/// Active, pending and proposed schedules as of some block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedules {
    pub active: Arc<Schedule>,
    pub pending: Option<Proposal>,
    pub proposed: Option<Proposal>,
}

impl Schedules {
    /// The newest list in flight or in force (proposal comparisons use it).
    pub(super) fn latest(&self) -> &Schedule {
        self.proposed
            .as_ref()
            .or(self.pending.as_ref())
            .map_or(&self.active, |p| &p.schedule)
    }
}

/// A transaction accepted by the chain.
#[derive(Debug, Clone)]
pub struct TxRecord {
    pub id: TransactionId,
    pub packed: PackedTransaction,
    pub trx: Transaction,
    /// ABI-decoded data of each action (`null` when the ABI is unknown).
    pub(crate) action_data: Vec<Value>,
    /// The block it was (or will be) included in, and that block's slot.
    pub block_num: u32,
    pub slot: u32,
    pub net_usage_words: u32,
    /// `global_sequence` of its first action.
    pub(crate) first_global_seq: u64,
}

/// An accepted key switch of our producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySwitchRecord {
    pub tx_id: TransactionId,
    pub block_num: u32,
    pub slot: u32,
    pub authority: Authority,
    /// The data center holding the new key, if any.
    pub datacenter: Option<String>,
    /// Whether the registered authority actually changed.
    pub changed: bool,
}

/// One block.
#[derive(Debug, Clone)]
pub struct Block {
    pub num: u32,
    pub id: BlockId,
    pub previous: BlockId,
    pub slot: u32,
    pub producer: Name,
    /// The key that signed it.
    pub signer: PublicKey,
    /// Index of our data center that produced it (our producer's blocks only).
    pub datacenter: Option<usize>,
    pub schedule_version: u32,
    pub confirmed: u16,
    /// LIB as of this block.
    pub lib: u32,
    /// Schedules as of this block.
    pub schedules: Arc<Schedules>,
    /// Legacy: the schedule that became pending in this block.
    pub new_producers: Option<Arc<Schedule>>,
    /// Savanna: the block this block's QC claim points at.
    pub(crate) qc_block: u32,
    pub transactions: Vec<Arc<TxRecord>>,
    /// Stand-in merkle roots (see the module docs).
    pub transaction_mroot: Checksum256,
    pub action_mroot: Checksum256,
    /// Header extensions: Savanna's finality extension, none on legacy chains.
    pub header_extensions: Vec<Extension>,
}

impl Block {
    pub fn timestamp(&self) -> BlockTimestamp {
        BlockTimestamp(self.slot)
    }

    /// `ref_block_prefix` as get_block reports it.
    pub(crate) fn ref_block_prefix(&self) -> u32 {
        self.id.tapos().1
    }

    /// The block's header; its [`BlockHeader::id`] is [`Block::id`].
    pub(crate) fn header(&self) -> BlockHeader {
        BlockHeader {
            timestamp: self.timestamp(),
            producer: self.producer,
            confirmed: self.confirmed,
            previous: self.previous,
            transaction_mroot: self.transaction_mroot,
            action_mroot: self.action_mroot,
            schedule_version: self.schedule_version,
            new_producers: self.new_producers.as_ref().map(|s| LegacyProducerSchedule {
                version: s.version,
                producers: s
                    .producers
                    .iter()
                    .map(|(n, a)| LegacyProducerKey {
                        producer_name: *n,
                        block_signing_key: a.keys.first().map_or(PublicKey::NULL, |(k, _)| *k),
                    })
                    .collect(),
            }),
            header_extensions: self.header_extensions.clone(),
        }
    }
}

/// Stand-in `transaction_mroot`: the hash of the transaction ids (zero without any).
pub(super) fn tx_mroot(txs: &[Arc<TxRecord>]) -> Checksum256 {
    if txs.is_empty() {
        return Checksum256::default();
    }
    let mut data = Vec::with_capacity(32 * txs.len());
    for t in txs {
        data.extend_from_slice(&t.id.0);
    }
    Checksum256::hash(&data)
}

/// Savanna `finality_extension`: `qc_claim{u32 block_num, bool strong}`, no policy diffs.
pub(super) fn finality_extension(qc_block: u32) -> Extension {
    let mut data = qc_block.to_le_bytes().to_vec();
    data.extend_from_slice(&[1, 0, 0]);
    Extension { kind: 2, data }
}
