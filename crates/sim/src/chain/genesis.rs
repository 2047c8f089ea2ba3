//! Building a chain from its spec: the generated keys, the genesis tables and accounts,
//! the first schedule, and the warm-up history.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use antelope::{
    BlockId, BlockTimestamp, ChainId, Checksum256, Name, PrivateKey, PublicKey, TimePoint,
};

use super::block::{finality_extension, Block, Schedule, Schedules};
use super::production::LegacyFinality;
use super::{
    Chain, Consensus, DataCenter, DcStatus, REPETITIONS, SAVANNA_SCHEDULE_VERSION,
    SCHEDULE_TICK_SLOTS,
};
use crate::system::{fake_bls_key, Account, Authority, Permission, ProducerRow, SystemState};

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
    pub(crate) first_block_num: u32,
    /// Slots produced (all producers up) before `genesis_slot`: the history a node has.
    pub warmup_slots: u32,
    pub schedule_tick_slots: u32,
    /// Slots before `genesis_slot` at which the contract last updated the schedule: the
    /// phase of its cadence (default half a tick, so the first tick comes soon).
    pub schedule_update_lag: u32,
    pub(crate) blocks_kept: usize,
    /// Seed for every generated key: the same seed gives the same keys.
    pub seed: String,
}

/// The Jungle4 chain id, a realistic default.
pub(crate) const DEFAULT_CHAIN_ID: &str =
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
                signers.insert(pk, k);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_gives_a_full_history() {
        let mut spec = ChainSpec::new(21, 1_000_000);
        spec.consensus = Consensus::Savanna;
        spec.schedule_tick_slots = 24;
        let c = Chain::new(spec);
        assert_eq!(c.slot(), 1_000_000);
        assert_eq!(c.head().num, 200_000_000 + 2400 - 1);
    }
}
