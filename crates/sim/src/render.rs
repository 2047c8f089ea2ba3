//! Chain API response bodies, shaped like the recorded ones in `fixtures/`.
//!
//! - `get_info`: the Spring 1.2 key set (`jungle4_get_info_spring120rc3_savanna_2025.json`).
//! - `get_block`: legacy chains print the EOSIO/Leap key set
//!   (`eos-mainnet_get_block_124472078_2020.json`); Savanna chains print the Spring header
//!   (`header_extensions` with the finality extension, no `new_producers`, as in the
//!   recorded Savanna header) plus `id`, `block_num`, `ref_block_prefix`, `transactions`.
//! - `get_block_info`: spring `chain_plugin.cpp` (no recording exists).
//! - `get_producer_schedule`: fc form `authority: [0, {…}]`.
//! - transaction traces: `jungle4_send_transaction_202_custom_permission_2024.json`.
//!
//! Block ids are real header hashes: `BlockHeader::from_json` of a `get_block` body
//! recomputes the served `id` (`get_block_info` lacks the header extensions, so for
//! Savanna blocks it does not, as on a real node). Not real: `producer_signature` is a
//! valid K1 signature by the block's signing key, but over one fixed digest rather than
//! the header digest ([`Chain::block_signature`]); merkle roots are stand-in hashes.
//!
//! A [`View`] is a chain as one endpoint sees it: its head may be behind the real head
//! (lagging or stale endpoints), and everything rendered is as of that head.

use serde_json::{json, Value};

use super::chain::{Block, Chain, Consensus, Proposal, Schedule, TxRecord};
use super::error::NodeError;
use antelope::{BlockTimestamp, Checksum256};

/// A chain seen at a given head.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) chain: &'a Chain,
    pub(crate) head: &'a Block,
}

impl<'a> View<'a> {
    pub(crate) fn live(chain: &'a Chain) -> Self {
        View {
            chain,
            head: chain.head(),
        }
    }

    /// The chain as of block `num` (clamped to the kept range).
    pub(crate) fn at(chain: &'a Chain, num: u32) -> Self {
        let num = num.clamp(chain.oldest().num, chain.head().num);
        View {
            chain,
            head: chain.block(num).unwrap_or(chain.head()),
        }
    }

    pub(crate) fn block(&self, num: u32) -> Option<&'a Block> {
        (num <= self.head.num)
            .then(|| self.chain.block(num))
            .flatten()
    }

    fn lib(&self) -> (u32, String, String) {
        let lib = self.head.lib;
        match self.chain.block(lib) {
            Some(b) => (lib, b.id.to_string(), b.timestamp().to_string()),
            None if lib == self.chain.lib() => (
                lib,
                self.chain.lib_id().to_string(),
                self.chain.oldest().timestamp().to_string(),
            ),
            None => (
                lib,
                Checksum256::default().to_string(),
                self.chain.oldest().timestamp().to_string(),
            ),
        }
    }

    pub(crate) fn get_info(&self) -> Value {
        let (lib, lib_id, lib_time) = self.lib();
        let (short, version) = match self.chain.consensus() {
            Consensus::Savanna => ("14092132", "v1.2.0"),
            Consensus::Legacy => ("2cb7b1ec", "v5.0.3"),
        };
        json!({
            "server_version": short,
            "chain_id": self.chain.chain_id().to_string(),
            "head_block_num": self.head.num,
            "last_irreversible_block_num": lib,
            "last_irreversible_block_id": lib_id,
            "head_block_id": self.head.id.to_string(),
            "head_block_time": self.head.timestamp().to_string(),
            "head_block_producer": self.head.producer,
            "virtual_block_cpu_limit": 200000000,
            "virtual_block_net_limit": 1048576000,
            "block_cpu_limit": 200000,
            "block_net_limit": 1048576,
            "server_version_string": version,
            "fork_db_head_block_num": self.head.num,
            "fork_db_head_block_id": self.head.id.to_string(),
            "server_full_version_string": format!("{version}-bp-failover-sim"),
            "total_cpu_weight": "120570311364597",
            "total_net_weight": "117540044345254",
            "earliest_available_block_num": self.chain.oldest().num,
            "last_irreversible_block_time": lib_time,
        })
    }

    /// Finds a block by number or id text, as `get_block` accepts.
    pub(crate) fn find_block(&self, num_or_id: &Value) -> Result<&'a Block, NodeError> {
        let text = match num_or_id {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_string(),
            other => return Err(NodeError::unknown_block(&other.to_string())),
        };
        let found = if text.len() == 64 {
            text.parse::<Checksum256>()
                .ok()
                .and_then(|id| self.block(id.block_num()).filter(|b| b.id == id))
        } else {
            text.parse::<u32>().ok().and_then(|n| self.block(n))
        };
        found.ok_or_else(|| NodeError::unknown_block(&text))
    }

    fn signature(&self, b: &Block) -> String {
        self.chain.block_signature(&b.signer).unwrap_or_else(|| {
            "SIG_K1_111111111111111111111111111111111111111111111111111111111111111116uk5ne"
                .to_string()
        })
    }

    /// The header fields of `b` ([`Block::header`], so that `BlockHeader::from_json` of
    /// them reproduces `b.id`) plus `producer_signature`. Legacy chains print
    /// `new_producers` (`null` when empty) and no `header_extensions`, as EOSIO/Leap
    /// `get_block` does for blocks without extensions; Savanna chains print the raw
    /// `header_extensions` and no `new_producers`.
    fn header_fields(&self, b: &Block) -> serde_json::Map<String, Value> {
        let mut m = match b.header().to_json() {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        match self.chain.consensus() {
            Consensus::Legacy => {
                if b.header_extensions.is_empty() {
                    m.remove("header_extensions");
                }
                m.entry("new_producers").or_insert(Value::Null);
            }
            Consensus::Savanna => {
                m.remove("new_producers");
            }
        }
        m.insert("producer_signature".into(), json!(self.signature(b)));
        m
    }

    pub(crate) fn get_block(&self, b: &Block) -> Value {
        let mut m = self.header_fields(b);
        m.insert(
            "transactions".into(),
            Value::Array(b.transactions.iter().map(|t| block_tx_json(t)).collect()),
        );
        m.insert("id".into(), json!(b.id.to_string()));
        m.insert("block_num".into(), json!(b.num));
        m.insert("ref_block_prefix".into(), json!(b.ref_block_prefix()));
        Value::Object(m)
    }

    pub(crate) fn get_block_info(&self, b: &Block) -> Value {
        let h = self.header_fields(b);
        json!({
            "block_num": b.num,
            "ref_block_num": b.num & 0xffff,
            "id": b.id.to_string(),
            "timestamp": h["timestamp"],
            "producer": h["producer"],
            "confirmed": h["confirmed"],
            "previous": h["previous"],
            "transaction_mroot": h["transaction_mroot"],
            "action_mroot": h["action_mroot"],
            "schedule_version": h["schedule_version"],
            "producer_signature": h["producer_signature"],
            "ref_block_prefix": b.ref_block_prefix(),
        })
    }

    pub(crate) fn get_producer_schedule(&self) -> Value {
        let s = &self.head.schedules;
        let proposal = |p: &Option<Proposal>| {
            p.as_ref()
                .map_or(Value::Null, |p| schedule_json(&p.schedule))
        };
        json!({
            "active": schedule_json(&s.active),
            "pending": proposal(&s.pending),
            "proposed": match self.chain.consensus() {
                Consensus::Savanna => Value::Null,
                Consensus::Legacy => proposal(&s.proposed),
            },
        })
    }
}

/// `get_producer_schedule` form of a schedule.
pub(crate) fn schedule_json(s: &Schedule) -> Value {
    json!({
        "version": s.version,
        "producers": s.producers.iter().map(|(n, a)| json!({
            "producer_name": n,
            "authority": a.to_fc_json(),
        })).collect::<Vec<_>>(),
    })
}

fn action_json(t: &TxRecord, i: usize) -> Value {
    let a = &t.trx.actions[i];
    json!({
        "account": a.account,
        "name": a.name,
        "authorization": a.authorization.iter()
            .map(|l| json!({"actor": l.actor, "permission": l.permission}))
            .collect::<Vec<_>>(),
        "data": t.action_data.get(i).cloned().unwrap_or(Value::Null),
        "hex_data": hex::encode(&a.data),
    })
}

fn block_tx_json(t: &TxRecord) -> Value {
    json!({
        "status": "executed",
        "cpu_usage_us": 150,
        "net_usage_words": t.net_usage_words,
        "trx": {
            "id": t.id.to_string(),
            "signatures": t.packed.signatures.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "compression": "none",
            "packed_context_free_data": "",
            "context_free_data": [],
            "packed_trx": hex::encode(t.packed.trx_bytes().unwrap_or_default()),
            "transaction": {
                "expiration": t.trx.expiration.to_string(),
                "ref_block_num": t.trx.ref_block_num,
                "ref_block_prefix": t.trx.ref_block_prefix,
                "max_net_usage_words": t.trx.max_net_usage_words,
                "max_cpu_usage_ms": t.trx.max_cpu_usage_ms,
                "delay_sec": t.trx.delay_sec,
                "context_free_actions": [],
                "actions": (0..t.trx.actions.len()).map(|i| action_json(t, i)).collect::<Vec<_>>(),
            },
        },
    })
}

/// How action traces are nested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TraceStyle {
    /// `push_transaction`: each action trace has `inline_traces`.
    Nested,
    /// `send_transaction`, `send_transaction2`, `compute_transaction`: flat.
    Flat,
}

/// The `{transaction_id, processed}` body of a successful push.
pub(crate) fn trace_json(t: &TxRecord, style: TraceStyle) -> Value {
    let block_time = BlockTimestamp(t.slot).to_string();
    let id = t.id.to_string();
    let traces: Vec<Value> = (0..t.trx.actions.len())
        .map(|i| {
            let a = &t.trx.actions[i];
            let seq = t.first_global_seq + i as u64;
            let mut v = json!({
                "action_ordinal": i + 1,
                "creator_action_ordinal": 0,
                "closest_unnotified_ancestor_action_ordinal": 0,
                "receipt": {
                    "receiver": a.account,
                    "act_digest": Checksum256::hash(&a.data).to_string(),
                    "global_sequence": seq,
                    "recv_sequence": seq / 2,
                    "auth_sequence": a.authorization.iter()
                        .map(|l| json!([l.actor, seq / 3]))
                        .collect::<Vec<_>>(),
                    "code_sequence": 3,
                    "abi_sequence": 4,
                },
                "receiver": a.account,
                "act": action_json(t, i),
                "context_free": false,
                "elapsed": 47,
                "console": "",
                "trx_id": id,
                "block_num": t.block_num,
                "block_time": block_time,
                "producer_block_id": null,
                "account_ram_deltas": [],
                "except": null,
                "error_code": null,
                "return_value_hex_data": "",
            });
            if style == TraceStyle::Nested {
                v["inline_traces"] = json!([]);
            }
            v
        })
        .collect();
    json!({
        "transaction_id": id,
        "processed": {
            "id": id,
            "block_num": t.block_num,
            "block_time": block_time,
            "producer_block_id": null,
            "receipt": {
                "status": "executed",
                "cpu_usage_us": 150,
                "net_usage_words": t.net_usage_words,
            },
            "elapsed": 150,
            "net_usage": t.net_usage_words * 8,
            "scheduled": false,
            "action_traces": traces,
            "account_ram_delta": null,
            "except": null,
            "error_code": null,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::chain::ChainSpec;
    use super::super::system::Authority;
    use super::*;
    use antelope::BlockHeader;

    fn chain(n: usize, consensus: Consensus) -> Chain {
        let mut spec = ChainSpec::new(n, 1_000_000);
        spec.consensus = consensus;
        spec.schedule_tick_slots = 24;
        Chain::new(spec)
    }

    /// Every block `get_block` serves recomputes to the id it is served with, and links to
    /// the previous block's; returns how many blocks carried `new_producers`.
    fn assert_served_ids_recompute(c: &Chain) -> usize {
        let view = View::live(c);
        let mut with_schedule = 0;
        let mut previous = None;
        for b in c.blocks_from(c.oldest().num) {
            let body = view.get_block(b);
            let header = BlockHeader::from_json(&body).expect("get_block parses");
            let served: Checksum256 = body["id"].as_str().unwrap().parse().unwrap();
            assert_eq!(header.id(), served, "block {}", b.num);
            assert_eq!(served, b.id);
            if let Some(p) = previous {
                assert_eq!(header.previous, p, "block {} links", b.num);
            }
            previous = Some(served);
            if header.new_producers.is_some() {
                with_schedule += 1;
                assert!(body["new_producers"].is_object());
            }
            // get_block_info has no header extensions: it recomputes exactly when the
            // block has none and no new_producers.
            let info = BlockHeader::from_json(&view.get_block_info(b)).unwrap();
            assert_eq!(
                info.id() == b.id,
                b.header_extensions.is_empty() && b.new_producers.is_none(),
                "block {}",
                b.num
            );
        }
        with_schedule
    }

    #[test]
    fn served_savanna_blocks_recompute_to_their_ids() {
        let mut c = chain(4, Consensus::Savanna);
        c.advance_to(c.slot() + 100);
        assert_served_ids_recompute(&c);
        assert!(!c.head().header_extensions.is_empty(), "finality extension");
    }

    #[test]
    fn served_legacy_blocks_recompute_to_their_ids_including_new_producers() {
        let mut c = chain(4, Consensus::Legacy);
        let our = c.our_producer();
        let backup = c.datacenters()[1].public_key();
        let row = c.state_mut().producers.get_mut(&our).unwrap();
        row.producer_key = backup;
        row.producer_authority = Some(Authority::single(backup));
        let mut found = 0;
        for _ in 0..40 {
            c.advance_to(c.slot() + 50);
            found += assert_served_ids_recompute(&c);
            if found > 0 {
                break;
            }
        }
        assert!(
            found > 0,
            "a block with new_producers was served and checked"
        );
    }

    #[test]
    fn forks_get_distinct_ids_for_the_same_slot_and_producer() {
        let c = chain(4, Consensus::Savanna);
        let (mut a, mut b) = (c.fork(1), c.fork(2));
        a.advance_to(c.slot() + 1);
        b.advance_to(c.slot() + 1);
        let (ha, hb) = (a.head(), b.head());
        assert_eq!(
            (ha.num, ha.slot, ha.producer),
            (hb.num, hb.slot, hb.producer)
        );
        assert_ne!(ha.id, hb.id);
        assert_eq!(ha.header().id(), ha.id);
        assert_eq!(hb.header().id(), hb.id);
    }
}
