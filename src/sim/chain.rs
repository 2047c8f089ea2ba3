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

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;

use crate::antelope::transaction::TransactionId;

use super::system::{fake_bls_key, Account, Authority, Permission, ProducerRow, SystemState};
use crate::antelope::block::{LegacyProducerKey, LegacyProducerSchedule};
use crate::antelope::transaction::Extension;
use crate::antelope::{
    BlockHeader, BlockId, BlockTimestamp, ChainId, Checksum256, Name, PackedTransaction,
    PrivateKey, PublicKey, TimePoint, Transaction,
};

/// Header `schedule_version` of every Savanna block (`proper_svnn_schedule_version`).
pub const SAVANNA_SCHEDULE_VERSION: u32 = 1 << 31;
/// Slots per producer turn.
pub const REPETITIONS: u32 = 12;
/// Slots between schedule updates in the system contract (`onblock`).
pub const SCHEDULE_TICK_SLOTS: u32 = 120;
/// nodeos `max-transaction-lifetime` default, seconds.
pub const MAX_TRX_LIFETIME_SECS: u32 = 3600;

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

/// A producer schedule: version and `(producer, block signing authority)` in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub version: u32,
    pub producers: Vec<(Name, Authority)>,
}

impl Schedule {
    fn same_list(&self, other: &[(Name, Authority)]) -> bool {
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
    pub proposed_block: u32,
    pub proposed_slot: u32,
    /// Legacy: the block that made it pending (`schedule_lib_num`).
    pub pending_block: u32,
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
    fn latest(&self) -> &Schedule {
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
    pub action_data: Vec<Value>,
    /// The block it was (or will be) included in, and that block's slot.
    pub block_num: u32,
    pub slot: u32,
    pub net_usage_words: u32,
    /// `global_sequence` of its first action.
    pub first_global_seq: u64,
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
    pub qc_block: u32,
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
    pub fn ref_block_prefix(&self) -> u32 {
        self.id.tapos().1
    }

    /// The block's header; its [`BlockHeader::id`] is [`Block::id`].
    pub fn header(&self) -> BlockHeader {
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
fn tx_mroot(txs: &[Arc<TxRecord>]) -> Checksum256 {
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
fn finality_extension(qc_block: u32) -> Extension {
    let mut data = qc_block.to_le_bytes().to_vec();
    data.extend_from_slice(&[1, 0, 0]);
    Extension { kind: 2, data }
}

/// Everything needed to build a chain.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    pub chain_id: ChainId,
    pub consensus: Consensus,
    /// The schedule, in order; includes `our_producer`.
    pub producers: Vec<Name>,
    pub our_producer: Name,
    /// Our data centers; the first holds the registered key at genesis.
    pub datacenters: Vec<String>,
    /// Custom permission (child of `active`) linked to regproducer, regproducer2 and
    /// actfinkey, holding the observer's key.
    pub failover_permission: Name,
    /// The first slot after warm-up: the chain's "now" when built.
    pub genesis_slot: u32,
    /// Number of the first block.
    pub first_block_num: u32,
    /// Slots produced (all producers up) before `genesis_slot`: the history a node has.
    pub warmup_slots: u32,
    pub schedule_tick_slots: u32,
    /// Slots before `genesis_slot` at which the contract last updated the schedule: the
    /// phase of its cadence (default half a tick, so the first tick comes soon).
    pub schedule_update_lag: u32,
    pub blocks_kept: usize,
    /// Seed for every generated key: the same seed gives the same keys.
    pub seed: String,
}

/// The Jungle4 chain id, a realistic default.
pub const DEFAULT_CHAIN_ID: &str =
    "73e4385a2708e6d7048834fbc1079f2fabb17b3c125b146af438971e90716c4d";

impl ChainSpec {
    /// `n` producers (at least 1) named `produceraaaa`…, with `ourproducer1` in the middle of
    /// the schedule, data centers `primary`, `backup`, `backup2`, starting at `genesis_slot`.
    pub fn new(n: usize, genesis_slot: u32) -> Self {
        let our = Name::literal("ourproducer1");
        let mut producers: Vec<Name> = (0..n.saturating_sub(1))
            .map(|i| {
                let a = b'a' + (i / 26) as u8 % 26;
                let b = b'a' + (i % 26) as u8;
                Name::literal(&format!("producer{}{}", a as char, b as char))
            })
            .collect();
        producers.insert(producers.len() / 2, our);
        ChainSpec {
            chain_id: DEFAULT_CHAIN_ID.parse().unwrap_or_default(),
            consensus: Consensus::Savanna,
            producers,
            our_producer: our,
            datacenters: vec!["primary".into(), "backup".into(), "backup2".into()],
            failover_permission: Name::literal("failover"),
            genesis_slot,
            first_block_num: 200_000_000,
            // Three rotations (legacy LIB needs two), and at least 20 minutes of history for
            // observers that backfill.
            warmup_slots: ((n.max(1) as u32) * REPETITIONS * 3).max(2400),
            schedule_tick_slots: SCHEDULE_TICK_SLOTS,
            schedule_update_lag: SCHEDULE_TICK_SLOTS / 2,
            blocks_kept: 10_000,
            seed: "bp-failover-sim".into(),
        }
    }
}

/// A deterministic private key for `label` under `seed`.
pub fn derive_key(seed: &str, label: &str) -> PrivateKey {
    let mut counter = 0u32;
    loop {
        let h = Checksum256::hash(format!("{seed}/{label}/{counter}").as_bytes());
        if let Ok(k) = PrivateKey::from_bytes(&h.0) {
            return k;
        }
        counter += 1;
    }
}

/// Legacy DPoS finality bookkeeping.
#[derive(Debug, Clone, Default)]
struct LegacyFinality {
    last_produced: HashMap<Name, u32>,
    last_implied_irb: HashMap<Name, u32>,
    proposed_irb: u32,
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

/// One chain (the network's, a fork of it, or an unrelated one).
#[derive(Debug, Clone)]
pub struct Chain {
    spec: Arc<ChainSpec>,
    fork_salt: u64,
    producer_keys: BTreeMap<Name, PrivateKey>,
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
    /// Builds the chain and produces its warm-up history, all producers up, so that it
    /// starts at `spec.genesis_slot` with a LIB and a full TAPOS window.
    pub fn new(spec: ChainSpec) -> Self {
        let seed = spec.seed.clone();
        let genesis_time = TimePoint(
            BlockTimestamp(spec.genesis_slot.saturating_sub(spec.warmup_slots + 7200)).unix_ms()
                * 1000,
        );
        let observer_key = derive_key(&seed, "observer");
        let mut producer_keys = BTreeMap::new();
        let mut signers = HashMap::new();
        let mut state = SystemState::default();
        let dcs: Vec<DataCenter> = spec
            .datacenters
            .iter()
            .map(|name| {
                let key = derive_key(&seed, &format!("dc/{name}"));
                DataCenter {
                    name: name.clone(),
                    public: key.public_key(),
                    key,
                    finalizer_key: fake_bls_key(&format!("{seed}/dc/{name}/bls")),
                    status: DcStatus::Up,
                }
            })
            .collect();
        for (i, &p) in spec.producers.iter().enumerate() {
            let key = if p == spec.our_producer {
                dcs.first()
                    .map(|d| d.public_key())
                    .unwrap_or(PublicKey::NULL)
            } else {
                let k = derive_key(&seed, &format!("producer/{p}"));
                let pk = k.public_key();
                signers.insert(pk, k.clone());
                producer_keys.insert(p, k);
                pk
            };
            state.producers.insert(
                p,
                ProducerRow {
                    owner: p,
                    total_votes: 1.0e17 - (i as f64) * 1.0e15,
                    producer_key: key,
                    is_active: true,
                    url: format!("https://{p}.example.com"),
                    unpaid_blocks: 0,
                    last_claim_time: genesis_time,
                    location: 0,
                    producer_authority: Some(Authority::single(key)),
                },
            );
            let account_key = derive_key(&seed, &format!("account/{p}")).public_key();
            state
                .accounts
                .insert(p, Account::with_key(p, account_key, genesis_time));
            if p == spec.our_producer {
                for dc in &dcs {
                    state.register_finalizer_key(p, dc.finalizer_key.clone());
                }
                let acct = state.accounts.get_mut(&p).expect("inserted above");
                acct.permissions.insert(
                    spec.failover_permission,
                    Permission {
                        parent: Name::literal("active"),
                        threshold: 1,
                        keys: vec![(observer_key.public_key(), 1)],
                        accounts: Vec::new(),
                    },
                );
                for action in ["regproducer", "regproducer2", "actfinkey"] {
                    acct.links.insert(
                        (Name::literal("eosio"), Name::literal(action)),
                        spec.failover_permission,
                    );
                }
            } else {
                state.register_finalizer_key(p, fake_bls_key(&format!("{seed}/producer/{p}")));
            }
        }
        let eosio = Name::literal("eosio");
        let mut eosio_acct = Account::with_key(
            eosio,
            derive_key(&seed, "account/eosio").public_key(),
            genesis_time,
        );
        eosio_acct.privileged = true;
        state.accounts.insert(eosio, eosio_acct);

        let active = Arc::new(Schedule {
            version: 1,
            producers: spec
                .producers
                .iter()
                .filter_map(|p| {
                    let row = state.producers.get(p)?;
                    Some((*p, row.signing_authority()?))
                })
                .collect(),
        });
        let start = spec.genesis_slot.saturating_sub(spec.warmup_slots);
        let first = spec.first_block_num.max(2);
        let mut pre = [0u8; 32];
        pre.copy_from_slice(&Checksum256::hash(&spec.chain_id.0).0);
        pre[..4].copy_from_slice(&(first - 2).to_be_bytes());
        let before_genesis = Checksum256(pre);
        let mut genesis = Block {
            num: first - 1,
            id: BlockId::default(),
            previous: before_genesis,
            slot: start,
            producer: spec.producers.first().copied().unwrap_or(eosio),
            signer: PublicKey::NULL,
            datacenter: None,
            schedule_version: match spec.consensus {
                Consensus::Savanna => SAVANNA_SCHEDULE_VERSION,
                Consensus::Legacy => active.version,
            },
            confirmed: 0,
            lib: first - 1,
            schedules: Arc::new(Schedules {
                active,
                pending: None,
                proposed: None,
            }),
            new_producers: None,
            qc_block: first - 1,
            transactions: Vec::new(),
            transaction_mroot: Checksum256::default(),
            action_mroot: Checksum256::hash(&before_genesis.0),
            header_extensions: match spec.consensus {
                Consensus::Savanna => vec![finality_extension(first - 1)],
                Consensus::Legacy => Vec::new(),
            },
        };
        genesis.id = genesis.header().id();
        let last_schedule_size = genesis.schedules.active.producers.len();
        let mut legacy = LegacyFinality::default();
        for p in &spec.producers {
            legacy.last_produced.insert(*p, first - 1);
            legacy.last_implied_irb.insert(*p, first - 1);
        }
        legacy.proposed_irb = first - 1;
        for dc in &dcs {
            signers.insert(dc.public, dc.key.clone());
        }
        let mut chain = Chain {
            fork_salt: 0,
            producer_keys,
            signers: Arc::new(signers),
            block_signatures: Default::default(),
            observer_key,
            dcs,
            down: BTreeSet::new(),
            not_voting: BTreeSet::new(),
            handoff_misses: 0,
            state,
            lib: genesis.num,
            lib_id: genesis.id,
            lib_slot: genesis.slot,
            blocks: VecDeque::from([genesis]),
            slot: start,
            onblock_state: None,
            last_schedule_update: spec.genesis_slot.saturating_sub(spec.schedule_update_lag),
            last_schedule_size,
            legacy,
            pending_txs: Vec::new(),
            known_txs: HashMap::new(),
            switches: Vec::new(),
            global_seq: 1_000_000,
            spec: Arc::new(spec),
        };
        let genesis_slot = chain.spec.genesis_slot;
        chain.advance_to(genesis_slot);
        chain
    }

    /// A copy that continues independently from the current head (a network partition).
    /// Its blocks get different ids from this chain's even for the same slot and producer.
    pub fn fork(&self, salt: u64) -> Chain {
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

    pub fn consensus(&self) -> Consensus {
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

    /// The data center holding `key`, if any.
    pub fn datacenter_of_key(&self, key: &PublicKey) -> Option<&DataCenter> {
        self.dcs.iter().find(|d| d.public_key() == *key)
    }

    pub fn set_datacenter(&mut self, index: usize, status: DcStatus) {
        if let Some(dc) = self.dcs.get_mut(index) {
            dc.status = status;
        }
    }

    /// Marks a producer (other than ours, whose liveness is its data centers') up or down.
    pub fn set_producer_up(&mut self, producer: Name, up: bool) {
        if up {
            self.down.remove(&producer);
        } else {
            self.down.insert(producer);
        }
    }

    /// Whether `producer`'s finalizer (other than ours) withholds its votes while the
    /// producer keeps producing: Savanna finality stalls without blocks stopping.
    pub fn set_producer_voting(&mut self, producer: Name, voting: bool) {
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
        Arc::make_mut(&mut self.signers).insert(public, key.clone());
        self.producer_keys.insert(producer, key);
        if let Some(row) = self.state_mut().producers.get_mut(&producer) {
            row.producer_key = public;
            row.producer_authority = Some(Authority::single(public));
        }
    }

    /// Our producer loses the first `slots` slots of each of its turns, as when the
    /// previous producer's last blocks reach our node late (a slow handoff).
    pub fn set_handoff_misses(&mut self, slots: u32) {
        self.handoff_misses = slots;
    }

    pub fn is_producer_up(&self, producer: Name) -> bool {
        !self.down.contains(&producer)
    }

    /// The private key behind a block signing key (a producer's or a data center's).
    pub fn private_key_for(&self, key: &PublicKey) -> Option<&PrivateKey> {
        self.signers.get(key)
    }

    /// The `producer_signature` blocks signed by `key` carry: a valid K1 signature by
    /// `key`, over one fixed digest rather than the block's header digest, computed once
    /// per key (signing every block made serving history the slowest part of a test, and
    /// nothing reads the signature beyond its form). `None` for a key the chain does not
    /// hold.
    pub fn block_signature(&self, key: &PublicKey) -> Option<String> {
        let private = self.signers.get(key)?;
        let mut cache = self
            .block_signatures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let sig = cache.entry(*key).or_insert_with(|| {
            let digest = Checksum256::hash(b"bp-failover-sim/producer_signature");
            crate::antelope::sign_digest(private, &digest.0).to_string()
        });
        Some(sig.clone())
    }

    pub fn producer_key(&self, producer: Name) -> Option<&PrivateKey> {
        self.producer_keys.get(&producer)
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
    pub fn pending_block_time(&self) -> BlockTimestamp {
        BlockTimestamp(self.slot + 1)
    }

    pub fn head(&self) -> &Block {
        // Never empty: built with a genesis block and only trimmed from the front while
        // more than `blocks_kept` remain.
        self.blocks.back().expect("a chain always has a head block")
    }

    pub fn lib(&self) -> u32 {
        self.lib
    }

    pub fn lib_id(&self) -> BlockId {
        self.lib_id
    }

    /// The oldest block still kept.
    pub fn oldest(&self) -> &Block {
        self.blocks
            .front()
            .expect("a chain always has a head block")
    }

    pub fn block(&self, num: u32) -> Option<&Block> {
        let first = self.oldest().num;
        let i = num.checked_sub(first)? as usize;
        self.blocks.get(i)
    }

    pub fn block_by_id(&self, id: &BlockId) -> Option<&Block> {
        self.block(id.block_num()).filter(|b| b.id == *id)
    }

    /// Kept blocks from `from` (inclusive) on.
    pub fn blocks_from(&self, from: u32) -> impl Iterator<Item = &Block> {
        let skip = from.saturating_sub(self.oldest().num) as usize;
        self.blocks.iter().skip(skip)
    }

    /// The contract's `global.last_producer_schedule_update`, as a slot.
    pub fn last_schedule_update(&self) -> u32 {
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
    pub fn is_known_tx(&self, id: &TransactionId) -> bool {
        self.known_txs.contains_key(id)
    }

    /// Forgets every accepted transaction id (a copy that never saw them).
    pub fn forget_txs(&mut self) {
        self.known_txs.clear();
    }

    /// The block number and slot the next accepted transaction goes into.
    pub fn pending_block(&self) -> (u32, u32) {
        (self.head().num + 1, self.slot + 1)
    }

    /// Allocates `n` global action sequence numbers.
    pub fn next_global_seq(&mut self, n: usize) -> u64 {
        let first = self.global_seq;
        self.global_seq += n as u64;
        first
    }

    /// Records an accepted transaction: queued for the next block, remembered until it
    /// expires.
    pub fn accept(&mut self, tx: Arc<TxRecord>) {
        self.known_txs.insert(tx.id, tx.trx.expiration.unix_secs());
        self.pending_txs.push(tx);
    }

    /// Records an accepted `regproducer`/`regproducer2` of our producer.
    pub fn record_switch(&mut self, record: KeySwitchRecord) {
        self.switches.push(record);
    }

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
        use crate::decision::cadence::{down_from, predict, ChainTiming};
        use crate::observer::schedule::ConsensusMode;
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

    #[test]
    fn warmup_gives_a_full_history() {
        let c = chain(21, Consensus::Savanna);
        assert_eq!(c.slot(), 1_000_000);
        assert_eq!(c.head().num, 200_000_000 + 2400 - 1);
    }
}
