//! The pure chain model: block production on 500 ms slots, producer schedules and their
//! promotion, finality, and the contract state transactions change. No I/O and no clock:
//! the owner advances it slot by slot ([`Chain::advance_to`]).
//!
//! # Model
//! - **Slots and turns.** Slot `s` belongs to `active.producers[(s % (N*12)) / 12]`, in
//!   schedule order (never re-sorted). A slot gets a block iff the node holding a key that
//!   alone satisfies the scheduled producer's authority *in the schedule in force* is up.
//!   For other producers that is "the producer is up". For our producer it is the data
//!   center whose signing key is in the active schedule: after a key switch becomes active
//!   the old data center, even if it is up and still holds its key, produces nothing (a
//!   real chain would reject its blocks).
//! - **Block ids.** Real header hashes: each block has an Antelope [`BlockHeader`]
//!   (timestamp, producer, `confirmed`, `previous`, merkle roots, `schedule_version`, legacy
//!   `new_producers`, Savanna's finality extension) and its id is [`BlockHeader::id`], so
//!   `BlockHeader::from_json` of a served `get_block` reproduces the served id. The merkle
//!   roots are stand-ins: `transaction_mroot` hashes the block's transaction ids,
//!   `action_mroot` hashes `previous ‖ slot ‖ producer ‖ fork salt`, so ids are unique per
//!   fork.
//! - **Schedule tick.** Like `onblock`: when `previous block slot - last update > tick`
//!   (120 slots by default) the contract takes the producers table (genesis order; active
//!   rows with a key; under Savanna only rows with an active finalizer key) and proposes it
//!   if it differs from the newest proposed/pending/active list and is not shorter than the
//!   last proposal. `onblock` runs before the block's transactions, so it sees the tables
//!   as the previous block left them: a transaction accepted now (or a [`Chain::state_mut`]
//!   edit) lands in the next produced block and reaches the update of the block after it.
//! - **Savanna** (default). Headers carry `schedule_version` 2147483648 and `confirmed` 0.
//!   At the first block of a new 12-slot round, pending → active (if its proposal slot is
//!   not after the last final block), then proposed → pending; a newer proposal replaces
//!   a waiting one. So a proposal is active 13–24 slots later. Finality is modelled as
//!   `LIB = head − 2` while at least `2N/3 + 1` of the schedule's finalizers vote (another
//!   producer votes while up; ours while the data center holding its *active finalizer key*
//!   is up); otherwise LIB stalls.
//! - **Legacy DPoS.** Headers carry the active version. LIB follows the legacy
//!   `producer_to_last_produced` / `producer_to_last_implied_irb` rule (the
//!   `(len-1)/3`-th smallest), which gives head − ≈340 blocks with 21 producers (real
//!   chains show 325–336 because of `confirmed` counts, which are not modelled: `confirmed`
//!   is 0). proposed → pending when LIB passes the proposing block (header
//!   `new_producers`), pending → active when LIB passes the block that made it pending,
//!   each checked against the LIB the promoting block itself carries (as Leap does); a
//!   proposal made while another waits is dropped (retried at the next tick).
//!
//! # Simplified or left out
//! - One transaction pool per chain; accepted transactions change state at once and go
//!   into the next produced block (block number and time in the trace are those of the
//!   next slot, as a real node's pending block).
//! - `unpaid_blocks` counts blocks; no rewards, votes never change, no `producers2`.
//! - Blocks older than `blocks_kept` are forgotten (TAPOS against them fails, where a real
//!   node accepts up to 65 536 blocks back).
//! - Two nodes signing with one key (double production) is not modelled: the first up
//!   data center that holds the active key produces.
//!
//! [`BlockHeader`]: antelope::BlockHeader
//! [`BlockHeader::id`]: antelope::BlockHeader::id

mod block;
mod genesis;
mod production;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use antelope::transaction::TransactionId;
use antelope::{BlockId, BlockTimestamp, ChainId, Checksum256, Name, PrivateKey, PublicKey};

use crate::system::SystemState;

pub use block::{Block, KeySwitchRecord, Proposal, Schedule, Schedules, TxRecord};
pub use genesis::{derive_key, ChainSpec};
pub use production::finality_threshold;
use production::LegacyFinality;

/// Header `schedule_version` of every Savanna block (`proper_svnn_schedule_version`).
pub const SAVANNA_SCHEDULE_VERSION: u32 = 1 << 31;
/// Slots per producer turn.
pub const REPETITIONS: u32 = antelope::time::PRODUCER_REPETITIONS;
/// Slots between schedule updates in the system contract (`onblock`).
pub const SCHEDULE_TICK_SLOTS: u32 = 120;
/// nodeos `max-transaction-lifetime` default, seconds.
pub(crate) const MAX_TRX_LIFETIME_SECS: u32 = 3600;

/// Which finality and schedule-promotion rules the chain follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consensus {
    #[default]
    Savanna,
    Legacy,
}

/// The state of one of our data centers' producing node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DcStatus {
    /// Synced; signs our producer's slots when it holds the active key.
    #[default]
    Up,
    /// Off the network: no blocks, its node API unreachable.
    Down,
    /// Reachable but this many blocks behind: it cannot produce (its blocks would be on a
    /// stale fork) and its node API reports the old head.
    Lagging(u32),
}

/// One of our data centers: a producing node with its own signing and finalizer keys.
#[derive(Debug, Clone)]
pub struct DataCenter {
    pub name: String,
    pub key: PrivateKey,
    /// `key`'s public key.
    pub public: PublicKey,
    pub finalizer_key: String,
    pub status: DcStatus,
}

impl DataCenter {
    pub fn public_key(&self) -> PublicKey {
        self.public
    }
}

/// One chain (the network's, a fork of it, or an unrelated one).
#[derive(Debug, Clone)]
pub struct Chain {
    spec: Arc<ChainSpec>,
    fork_salt: u64,
    /// Every block signing key: public → private.
    signers: Arc<HashMap<PublicKey, PrivateKey>>,
    /// Rendered block signatures, one per signing key (see [`Chain::block_signature`]).
    block_signatures: Arc<std::sync::Mutex<HashMap<PublicKey, String>>>,
    observer_key: PrivateKey,
    dcs: Vec<DataCenter>,
    down: BTreeSet<Name>,
    /// Producers that produce but whose finalizers do not vote (Savanna).
    not_voting: BTreeSet<Name>,
    /// Slots our producer loses at the start of each of its turns.
    handoff_misses: u32,
    state: SystemState,
    /// The tables as the last produced block left them, kept while transactions accepted
    /// since then (or direct edits) have changed `state`: the next block's `onblock` runs
    /// before its transactions and sees this (`None`: `state` is unchanged since).
    onblock_state: Option<SystemState>,
    blocks: VecDeque<Block>,
    /// The last slot processed (produced or missed).
    slot: u32,
    lib: u32,
    lib_id: BlockId,
    lib_slot: u32,
    last_schedule_update: u32,
    last_schedule_size: usize,
    legacy: LegacyFinality,
    pending_txs: Vec<Arc<TxRecord>>,
    known_txs: HashMap<TransactionId, u32>,
    switches: Vec<KeySwitchRecord>,
    global_seq: u64,
}

impl Chain {
    /// A copy that continues independently from the current head (a network partition).
    /// Its blocks get different ids from this chain's even for the same slot and producer.
    pub(crate) fn fork(&self, salt: u64) -> Chain {
        let mut c = self.clone();
        c.fork_salt = salt;
        c
    }

    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    pub fn chain_id(&self) -> ChainId {
        self.spec.chain_id
    }

    pub(crate) fn consensus(&self) -> Consensus {
        self.spec.consensus
    }

    pub fn our_producer(&self) -> Name {
        self.spec.our_producer
    }

    /// The observer's key: the `failover` permission of our producer.
    pub fn observer_key(&self) -> &PrivateKey {
        &self.observer_key
    }

    pub fn datacenters(&self) -> &[DataCenter] {
        &self.dcs
    }

    pub fn datacenter_index(&self, name: &str) -> Option<usize> {
        self.dcs.iter().position(|d| d.name == name)
    }

    pub fn set_datacenter(&mut self, index: usize, status: DcStatus) {
        if let Some(dc) = self.dcs.get_mut(index) {
            dc.status = status;
        }
    }

    /// Marks a producer (other than ours, whose liveness is its data centers') up or down.
    pub(crate) fn set_producer_up(&mut self, producer: Name, up: bool) {
        if up {
            self.down.remove(&producer);
        } else {
            self.down.insert(producer);
        }
    }

    /// Whether `producer`'s finalizer (other than ours) withholds its votes while the
    /// producer keeps producing: Savanna finality stalls without blocks stopping.
    pub(crate) fn set_producer_voting(&mut self, producer: Name, voting: bool) {
        if voting {
            self.not_voting.remove(&producer);
        } else {
            self.not_voting.insert(producer);
        }
    }

    /// Another producer re-registers with a new signing key (`regproducer` accepted now),
    /// and signs its blocks with it once a schedule holds it: an unrelated schedule change.
    pub fn rekey_producer(&mut self, producer: Name, key: PrivateKey) {
        let public = key.public_key();
        Arc::make_mut(&mut self.signers).insert(public, key);
        if let Some(row) = self.state_mut().producers.get_mut(&producer) {
            row.producer_key = public;
            row.producer_authority = Some(crate::system::Authority::single(public));
        }
    }

    /// Our producer loses the first `slots` slots of each of its turns, as when the
    /// previous producer's last blocks reach our node late (a slow handoff).
    pub(crate) fn set_handoff_misses(&mut self, slots: u32) {
        self.handoff_misses = slots;
    }

    /// The `producer_signature` blocks signed by `key` carry: a valid K1 signature by
    /// `key`, over one fixed digest rather than the block's header digest, computed once
    /// per key (signing every block made serving history the slowest part of a test, and
    /// nothing reads the signature beyond its form). `None` for a key the chain does not
    /// hold.
    pub(crate) fn block_signature(&self, key: &PublicKey) -> Option<String> {
        let private = self.signers.get(key)?;
        let mut cache = self
            .block_signatures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let sig = cache.entry(*key).or_insert_with(|| {
            let digest = Checksum256::hash(b"bp-failover-sim/producer_signature");
            antelope::sign_digest(private, &digest.0).to_string()
        });
        Some(sig.clone())
    }

    pub fn state(&self) -> &SystemState {
        &self.state
    }

    /// The tables, to change as a transaction accepted now would: the change is in the
    /// next produced block, after its `onblock`, so that block's schedule update does not
    /// see it yet (the block after it does).
    pub fn state_mut(&mut self) -> &mut SystemState {
        if self.onblock_state.is_none() {
            self.onblock_state = Some(self.state.clone());
        }
        &mut self.state
    }

    /// The last slot processed.
    pub fn slot(&self) -> u32 {
        self.slot
    }

    /// Block time of the block being built (the next slot): the reference time of
    /// expiration checks.
    pub(crate) fn pending_block_time(&self) -> BlockTimestamp {
        BlockTimestamp(self.slot + 1)
    }

    pub fn head(&self) -> &Block {
        // Never empty: built with a genesis block and only trimmed from the front while
        // more than `blocks_kept` remain.
        self.blocks.back().expect("a chain always has a head block")
    }

    pub(crate) fn lib(&self) -> u32 {
        self.lib
    }

    pub(crate) fn lib_id(&self) -> BlockId {
        self.lib_id
    }

    /// The oldest block still kept.
    pub fn oldest(&self) -> &Block {
        self.blocks
            .front()
            .expect("a chain always has a head block")
    }

    pub(crate) fn block(&self, num: u32) -> Option<&Block> {
        let first = self.oldest().num;
        let i = num.checked_sub(first)? as usize;
        self.blocks.get(i)
    }

    /// Kept blocks from `from` (inclusive) on.
    pub fn blocks_from(&self, from: u32) -> impl Iterator<Item = &Block> {
        let skip = from.saturating_sub(self.oldest().num) as usize;
        self.blocks.iter().skip(skip)
    }

    /// The contract's `global.last_producer_schedule_update`, as a slot.
    pub(crate) fn last_schedule_update(&self) -> u32 {
        self.last_schedule_update
    }

    pub fn schedules(&self) -> &Schedules {
        &self.head().schedules
    }

    /// Accepted key switches of our producer, oldest first.
    pub fn key_switches(&self) -> &[KeySwitchRecord] {
        &self.switches
    }

    /// The producer scheduled at `slot` under the head's active schedule.
    pub fn scheduled_producer(&self, slot: u32) -> Option<Name> {
        let active = &self.schedules().active;
        let i = BlockTimestamp(slot).scheduled_index(active.producers.len())?;
        Some(active.producers[i].0)
    }

    // ---- transactions -------------------------------------------------------------------

    /// Whether `id` was accepted and has not expired yet.
    pub(crate) fn is_known_tx(&self, id: &TransactionId) -> bool {
        self.known_txs.contains_key(id)
    }

    /// Forgets every accepted transaction id (a copy that never saw them).
    pub(crate) fn forget_txs(&mut self) {
        self.known_txs.clear();
    }

    /// The block number and slot the next accepted transaction goes into.
    pub(crate) fn pending_block(&self) -> (u32, u32) {
        (self.head().num + 1, self.slot + 1)
    }

    /// Allocates `n` global action sequence numbers.
    pub(crate) fn next_global_seq(&mut self, n: usize) -> u64 {
        let first = self.global_seq;
        self.global_seq += n as u64;
        first
    }

    /// Records an accepted transaction: queued for the next block, remembered until it
    /// expires.
    pub(crate) fn accept(&mut self, tx: Arc<TxRecord>) {
        self.known_txs.insert(tx.id, tx.trx.expiration.unix_secs());
        self.pending_txs.push(tx);
    }

    /// Records an accepted `regproducer`/`regproducer2` of our producer.
    pub(crate) fn record_switch(&mut self, record: KeySwitchRecord) {
        self.switches.push(record);
    }
}
