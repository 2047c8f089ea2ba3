//! Block headers and block ids, recomputed from the header itself.
//!
//! A block id is `sha256(pack(block_header))` with its first 4 bytes replaced by the block
//! number, big-endian; the block number is the one embedded in `previous`, plus one
//! (nodeos `block_header::calculate_id`). The producer signature is not hashed. An id
//! recomputed from a header therefore vouches for every header field, `previous` included,
//! so a chain of headers whose recomputed ids match the next block's `previous` up to an id
//! a majority of endpoints agree on cannot have been altered by any one endpoint. The `id`
//! and `block_num` a node sends next to a header are claims: compare [`BlockHeader::id`]
//! with an id vouched for elsewhere, never with the response's own `id`.
//!
//! # Which nodeos reads carry the whole header
//!
//! | read | versions | what the hash needs |
//! |---|---|---|
//! | `get_block` | all | every field; `new_producers` as `null` or `{version, producers:[{producer_name, block_signing_key}]}`; header extensions only **decoded**: `new_protocol_features` (id 0), `new_producer_schedule` (id 1), Spring's `finality_extension` (id 2). Re-encoded here, except a finality extension that carries a finalizer or proposer policy change |
//! | `get_block_header` | Leap ≥ 4.0, Spring | all of it, raw, under `signed_block_header` (`header_extensions` as `[[id, "hex"]]`; `new_producers` omitted when empty) |
//! | `get_raw_block` | Leap ≥ 4.0, Spring | all of it, raw, like `get_block_header` (plus the transactions) |
//! | `get_block_header_state` | Leap ≤ 5 (reversible blocks only), Spring | all of it, raw, under `header` |
//! | `get_block_info` | Leap ≥ 3.1, Spring | **no** `new_producers` and **no** header extensions: hashable only for a block that has neither, and nothing in the response says whether it does; the id comparison tells |
//!
//! Checked on a real Leap v4.1.0 node (`fixtures/leap41_*.json`: a plain block and the block
//! activating `PREACTIVATE_FEATURE`, which carries header extension 0) and against AntelopeIO
//! leap v5.0.3 and spring `chain_plugin.cpp` / `abi_serializer.hpp`; EOS mainnet `get_block`
//! responses of 2018–2020 and `get_block_header_state` headers of Leap (EOS), Spring Savanna
//! (EOS), Telos and WAX are in `fixtures/` and tested below.
//!
//! Parsing is bounded: schedules, extension lists and extension bytes have caps, every
//! number is range-checked, and malformed input is an error naming the field, never a panic.
//!
//! Reading a header from a node's JSON (and writing it back) is in `json`.

use serde_json::{json, Map, Value};
use thiserror::Error;

use super::bytes::{DecodeError, Pack, Reader, Unpack, Writer};
use super::keys::PublicKey;
use super::name::Name;
use super::time::BlockTimestamp;
use super::transaction::{BlockId, Checksum256, Extension};

mod json;

pub use json::BlockJsonError;

/// More producers than any schedule can hold (the protocol limit is 125,
/// `config::max_producers`); leaves room for forks that raise it.
const MAX_SCHEDULE_PRODUCERS: usize = 1024;
/// More header extensions than nodeos defines (ids 0, 1 and 2, each at most once).
const MAX_HEADER_EXTENSIONS: usize = 16;
/// Total bytes of header extension data accepted from one header. A finalizer policy
/// change, the largest extension, is a few KiB for 21 finalizers.
const MAX_HEADER_EXTENSION_BYTES: usize = 1 << 20;
/// More protocol features than one block ever activates.
const MAX_NEW_PROTOCOL_FEATURES: usize = 1024;
/// Keys in one block signing authority.
const MAX_AUTHORITY_KEYS: usize = 64;

const PROTOCOL_FEATURE_ACTIVATION: u16 = 0;
const PRODUCER_SCHEDULE_CHANGE: u16 = 1;
const FINALITY_EXTENSION: u16 = 2;

/// The block number embedded in a block id (`block_header::num_from_id`): its first 4
/// bytes, big-endian.
pub(crate) fn num_from_id(id: &Checksum256) -> u32 {
    id.block_num()
}

/// One entry of a legacy (pre-WTMSIG) producer schedule: `producer_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyProducerKey {
    pub producer_name: Name,
    pub block_signing_key: PublicKey,
}

/// The legacy header field `new_producers` (`legacy::producer_schedule_type`): the
/// schedule that became pending in this block, before WTMSIG_BLOCK_SIGNATURES moved it
/// into header extension 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyProducerSchedule {
    pub version: u32,
    pub producers: Vec<LegacyProducerKey>,
}

/// A block header (`block_header`, without the producer signature), in field order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    pub timestamp: BlockTimestamp,
    pub producer: Name,
    pub confirmed: u16,
    pub previous: BlockId,
    pub transaction_mroot: Checksum256,
    pub action_mroot: Checksum256,
    pub schedule_version: u32,
    pub new_producers: Option<LegacyProducerSchedule>,
    /// `(id, data)` pairs in the order the block has them (nodeos requires ascending ids).
    pub header_extensions: Vec<Extension>,
}

impl BlockHeader {
    /// `sha256` of the packed header.
    pub fn digest(&self) -> Checksum256 {
        Checksum256::hash(&self.packed())
    }

    /// The block number: the one embedded in `previous`, plus one (wrapping, as nodeos's
    /// `uint32_t` does).
    pub fn block_num(&self) -> u32 {
        num_from_id(&self.previous).wrapping_add(1)
    }

    /// The block id: [`Self::digest`] with its first 4 bytes replaced by the big-endian
    /// block number.
    pub fn id(&self) -> BlockId {
        let mut id = self.digest();
        id.0[..4].copy_from_slice(&self.block_num().to_be_bytes());
        id
    }
}

impl Pack for LegacyProducerKey {
    fn pack(&self, w: &mut Writer) {
        self.producer_name.pack(w);
        self.block_signing_key.pack(w);
    }
}

impl Unpack for LegacyProducerKey {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LegacyProducerKey {
            producer_name: Name::unpack(r)?,
            block_signing_key: PublicKey::unpack(r)?,
        })
    }
}

impl Pack for LegacyProducerSchedule {
    fn pack(&self, w: &mut Writer) {
        w.u32(self.version);
        self.producers.pack(w);
    }
}

impl Unpack for LegacyProducerSchedule {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LegacyProducerSchedule {
            version: r.u32()?,
            producers: Vec::unpack(r)?,
        })
    }
}

impl Pack for BlockHeader {
    fn pack(&self, w: &mut Writer) {
        self.timestamp.pack(w);
        self.producer.pack(w);
        w.u16(self.confirmed);
        self.previous.pack(w);
        self.transaction_mroot.pack(w);
        self.action_mroot.pack(w);
        w.u32(self.schedule_version);
        match &self.new_producers {
            None => w.bool(false),
            Some(s) => {
                w.bool(true);
                s.pack(w);
            }
        }
        self.header_extensions.pack(w);
    }
}

impl Unpack for BlockHeader {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockHeader {
            timestamp: BlockTimestamp::unpack(r)?,
            producer: Name::unpack(r)?,
            confirmed: r.u16()?,
            previous: Checksum256::unpack(r)?,
            transaction_mroot: Checksum256::unpack(r)?,
            action_mroot: Checksum256::unpack(r)?,
            schedule_version: r.u32()?,
            new_producers: if r.bool()? {
                Some(LegacyProducerSchedule::unpack(r)?)
            } else {
                None
            },
            header_extensions: Vec::unpack(r)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::json::producer_schedule_change;
    use super::*;
    use crate::PrivateKey;
    use proptest::prelude::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Real responses that name the block's id next to its header.
    const WITH_ID: &[&str] = &[
        // EOS mainnet get_block: EOSIO 1.x era, legacy new_producers, mixed transactions.
        "eos-mainnet_get_block_8482113_2018.json",
        "eos-mainnet_get_block_92565371_new_producers_2019.json",
        "eos-mainnet_get_block_124472078_2020.json",
        // get_block_header_state `header`: Leap (EOS), Spring Savanna (EOS), Telos, WAX.
        "eos-mainnet_get_block_header_state_323978187_leap_2023.json",
        "eos-mainnet_get_block_header_state_400838396_spring_savanna_2024.json",
        "telos_get_block_header_state_369358506_2024.json",
        "wax_get_block_header_state_336356138_2024.json",
        // Leap v4.1.0 node: a plain block and one activating a protocol feature
        // (header extension 0, decoded by get_block, raw in get_block_header).
        "leap41_get_block_40.json",
        "leap41_get_block_header_40.json",
        "leap41_get_block_info_40.json",
        "leap41_get_block_26_protocol_feature_activation.json",
        "leap41_get_block_header_26_protocol_feature_activation.json",
        "leap41_get_block_1360_with_transaction.json",
        "leap41_get_block_header_state_head.json",
    ];

    fn recorded_id(v: &Value) -> BlockId {
        v["id"].as_str().unwrap().parse().unwrap()
    }

    #[test]
    fn ids_recomputed_from_real_headers_match_the_recorded_ids() {
        for name in WITH_ID {
            let v = fixture(name);
            let h = BlockHeader::from_json(&v).unwrap_or_else(|e| panic!("{name}: {e}"));
            let id = recorded_id(&v);
            assert_eq!(h.id(), id, "{name}");
            assert_eq!(h.block_num(), id.block_num(), "{name}");
            assert_eq!(num_from_id(&id), id.block_num(), "{name}");
            if let Some(n) = v["block_num"].as_u64() {
                assert_eq!(u64::from(h.block_num()), n, "{name}");
            }
        }
    }

    #[test]
    fn real_headers_cover_every_optional_part() {
        let np = BlockHeader::from_json(&fixture(
            "eos-mainnet_get_block_92565371_new_producers_2019.json",
        ))
        .unwrap();
        let s = np.new_producers.as_ref().unwrap();
        assert_eq!((s.version, s.producers.len()), (1535, 21));
        let savanna = BlockHeader::from_json(&fixture(
            "eos-mainnet_get_block_header_state_400838396_spring_savanna_2024.json",
        ))
        .unwrap();
        assert_eq!(savanna.schedule_version, 1 << 31);
        assert_eq!(savanna.header_extensions[0].kind, FINALITY_EXTENSION);
        let pfa = BlockHeader::from_json(&fixture(
            "leap41_get_block_26_protocol_feature_activation.json",
        ))
        .unwrap();
        assert_eq!(pfa.header_extensions.len(), 1);
        assert_eq!(pfa.header_extensions[0].kind, PROTOCOL_FEATURE_ACTIVATION);
    }

    #[test]
    fn get_raw_block_carries_the_same_header_as_get_block_header_and_get_block() {
        for n in ["40", "26_protocol_feature_activation"] {
            let raw = BlockHeader::from_json(&fixture(&format!("leap41_get_raw_block_{n}.json")))
                .unwrap();
            let hdr = fixture(&format!("leap41_get_block_header_{n}.json"));
            assert_eq!(raw.id(), recorded_id(&hdr), "{n}");
            assert_eq!(raw, BlockHeader::from_json(&hdr).unwrap(), "{n}");
            // get_block's decoded extensions re-encode to the raw bytes.
            let decoded =
                BlockHeader::from_json(&fixture(&format!("leap41_get_block_{n}.json"))).unwrap();
            assert_eq!(raw, decoded, "{n}");
        }
    }

    #[test]
    fn get_block_info_lacks_header_extensions_so_its_id_does_not_recompute() {
        let v = fixture("leap41_get_block_info_26_protocol_feature_activation.json");
        let h = BlockHeader::from_json(&v).unwrap();
        assert!(h.header_extensions.is_empty());
        assert_ne!(h.id(), recorded_id(&v));
        assert_eq!(h.block_num(), recorded_id(&v).block_num());
    }

    #[test]
    fn get_block_form_of_a_savanna_finality_extension_re_encodes() {
        // get_block (Spring) shows extension 2 decoded; rebuild that form from the real
        // header and check it hashes to the recorded id.
        let v = fixture("eos-mainnet_get_block_header_state_400838396_spring_savanna_2024.json");
        let mut header = v["header"].clone();
        let obj = header.as_object_mut().unwrap();
        obj.remove("header_extensions");
        obj.insert(
            "finality_extension".into(),
            json!({"qc_claim": {"block_num": 400838395u32, "is_strong_qc": true}}),
        );
        assert_eq!(
            BlockHeader::from_json(&header).unwrap().id(),
            recorded_id(&v)
        );
        // A weak QC claim is a different block.
        header["finality_extension"]["qc_claim"]["is_strong_qc"] = json!(false);
        assert_ne!(
            BlockHeader::from_json(&header).unwrap().id(),
            recorded_id(&v)
        );
        // A policy change cannot be re-encoded from get_block: an error naming the way out.
        header["finality_extension"]["new_proposer_policy_diff"] = json!({"version": 3});
        let e = BlockHeader::from_json(&header).unwrap_err();
        assert_eq!(e.field, "finality_extension.new_proposer_policy_diff");
        assert!(e.to_string().contains("get_block_header"), "{e}");
    }

    #[test]
    fn decoded_producer_schedule_change_re_encodes_like_the_raw_extension() {
        // No real block with extension 1 was recorded; check that the get_block form and
        // the raw form built from the same real schedule agree, byte by byte.
        let s = fixture("jungle4_get_producer_schedule_2023.json")["active"].clone();
        let ext = producer_schedule_change(&s).unwrap();
        let mut r = Reader::new(&ext);
        assert_eq!(r.u32().unwrap(), s["version"].as_u64().unwrap() as u32);
        let n = r.varuint32().unwrap() as usize;
        assert_eq!(n, s["producers"].as_array().unwrap().len());
        for p in s["producers"].as_array().unwrap() {
            let name = Name::unpack(&mut r).unwrap();
            assert_eq!(name.to_string(), p["producer_name"].as_str().unwrap());
            assert_eq!(r.varuint32().unwrap(), 0);
            let a = &p["authority"][1];
            assert_eq!(
                u64::from(r.u32().unwrap()),
                a["threshold"].as_u64().unwrap()
            );
            let keys = a["keys"].as_array().unwrap();
            assert_eq!(r.varuint32().unwrap() as usize, keys.len());
            for k in keys {
                let key = PublicKey::unpack(&mut r).unwrap();
                assert_eq!(key, k["key"].as_str().unwrap().parse().unwrap());
                assert_eq!(u64::from(r.u16().unwrap()), k["weight"].as_u64().unwrap());
            }
        }
        r.finish().unwrap();
        let mut block = fixture("leap41_get_block_40.json");
        block["new_producer_schedule"] = s.clone();
        let decoded = BlockHeader::from_json(&block).unwrap();
        let mut raw = fixture("leap41_get_block_header_40.json");
        raw["signed_block_header"]["header_extensions"] = json!([[1, hex::encode(&ext)]]);
        assert_eq!(decoded, BlockHeader::from_json(&raw).unwrap());
    }

    /// A named edit of a block's JSON.
    type Edit = (&'static str, fn(&mut Value));

    /// Field edits a liar could make; each must change the id.
    fn mutations() -> Vec<Edit> {
        vec![
            ("timestamp", |h| {
                let t: BlockTimestamp = h["timestamp"].as_str().unwrap().parse().unwrap();
                h["timestamp"] = json!(BlockTimestamp(t.0 + 1).to_string());
            }),
            ("producer", |h| h["producer"] = json!("liarliarliar")),
            ("confirmed", |h| {
                h["confirmed"] = json!(h["confirmed"].as_u64().unwrap() ^ 1)
            }),
            ("previous", |h| flip_hex(&mut h["previous"], 40)),
            ("transaction_mroot", |h| {
                flip_hex(&mut h["transaction_mroot"], 63)
            }),
            ("action_mroot", |h| flip_hex(&mut h["action_mroot"], 0)),
            ("schedule_version", |h| {
                h["schedule_version"] = json!(h["schedule_version"].as_u64().unwrap() ^ 1)
            }),
            ("new_producers", |h| {
                if h["new_producers"].is_object() {
                    h["new_producers"]["producers"]
                        .as_array_mut()
                        .unwrap()
                        .pop();
                } else {
                    h["new_producers"] = json!({"version": 1, "producers": []});
                }
            }),
            ("header_extensions", |h| {
                let exts = h["header_extensions"].as_array_mut().unwrap();
                if exts.is_empty() {
                    exts.push(json!([0, "00"]));
                } else {
                    exts[0][1] = json!(format!("{}00", exts[0][1].as_str().unwrap()));
                }
            }),
        ]
    }

    fn flip_hex(v: &mut Value, at: usize) {
        let mut s: Vec<u8> = v.as_str().unwrap().bytes().collect();
        s[at] = if s[at] == b'0' { b'1' } else { b'0' };
        *v = json!(String::from_utf8(s).unwrap());
    }

    #[test]
    fn changing_any_header_field_changes_the_id() {
        for name in WITH_ID {
            let v = fixture(name);
            // The raw form of the header, so every field (extensions too) can be edited.
            let original = BlockHeader::from_json(&v).unwrap();
            let id = recorded_id(&v);
            for (field, mutate) in mutations() {
                let mut h = original.to_json();
                mutate(&mut h);
                let changed = BlockHeader::from_json(&h).unwrap();
                assert_ne!(changed, original, "{name}: {field} edit had no effect");
                assert_ne!(changed.id(), id, "{name}: {field}");
            }
        }
    }

    #[test]
    fn producer_signature_and_claimed_id_are_not_hashed() {
        let mut v = fixture("eos-mainnet_get_block_124472078_2020.json");
        let id = recorded_id(&v);
        v["producer_signature"] = json!("SIG_K1_whatever");
        v["id"] = json!("00".repeat(32));
        v["block_num"] = json!(1);
        assert_eq!(BlockHeader::from_json(&v).unwrap().id(), id);
    }

    fn field_error(v: &Value) -> String {
        BlockHeader::from_json(v).unwrap_err().field
    }

    #[test]
    fn hostile_json_is_an_error_naming_the_field() {
        let base = fixture("eos-mainnet_get_block_92565371_new_producers_2019.json");
        for field in [
            "timestamp",
            "producer",
            "confirmed",
            "previous",
            "transaction_mroot",
            "action_mroot",
            "schedule_version",
        ] {
            let mut v = base.clone();
            v.as_object_mut().unwrap().remove(field);
            assert_eq!(field_error(&v), field, "missing");
            for wrong in [json!(null), json!([1]), json!({}), json!(-1), json!("X!")] {
                let mut v = base.clone();
                v[field] = wrong.clone();
                assert_eq!(field_error(&v), field, "{field} = {wrong}");
            }
        }
        let cases: Vec<Edit> = vec![
            ("confirmed", |v| v["confirmed"] = json!(65536)),
            ("schedule_version", |v| {
                v["schedule_version"] = json!(1u64 << 32)
            }),
            ("schedule_version", |v| v["schedule_version"] = json!(1.5)),
            ("new_producers", |v| v["new_producers"] = json!("x")),
            ("new_producers.version", |v| {
                v["new_producers"]
                    .as_object_mut()
                    .unwrap()
                    .remove("version");
            }),
            ("new_producers.producers[2].block_signing_key", |v| {
                v["new_producers"]["producers"][2]["block_signing_key"] = json!("EOS1")
            }),
            ("new_producers.producers[0].producer_name", |v| {
                v["new_producers"]["producers"][0]["producer_name"] = json!("NOT A NAME")
            }),
            ("new_producers.producers", |v| {
                let p = v["new_producers"]["producers"][0].clone();
                v["new_producers"]["producers"] = json!(vec![p; MAX_SCHEDULE_PRODUCERS + 1]);
            }),
            ("header_extensions", |v| {
                v["header_extensions"] = json!(vec![json!([0, ""]); MAX_HEADER_EXTENSIONS + 1])
            }),
            ("header_extensions", |v| {
                let big = "00".repeat(MAX_HEADER_EXTENSION_BYTES / 2 + 1);
                v["header_extensions"] = json!([[0, big.clone()], [1, big]])
            }),
            ("header_extensions[0][0]", |v| {
                v["header_extensions"] = json!([[65536, ""]])
            }),
            ("header_extensions[0][1]", |v| {
                v["header_extensions"] = json!([[0, "0g"]])
            }),
            ("header_extensions[0][1]", |v| {
                v["header_extensions"] = json!([[0, 5]])
            }),
            ("header_extensions[0]", |v| {
                v["header_extensions"] = json!([[0]])
            }),
            ("header_extensions", |v| v["header_extensions"] = json!({})),
            ("new_protocol_features[0].feature_digest", |v| {
                v["new_protocol_features"] = json!([{"feature_digest": "abc"}])
            }),
            ("new_protocol_features", |v| {
                v["new_protocol_features"] = json!(vec![json!({}); MAX_NEW_PROTOCOL_FEATURES + 1])
            }),
            ("new_producer_schedule.producers[0].authority", |v| {
                v["new_producer_schedule"] = json!({"version": 1, "producers": [
                    {"producer_name": "a", "authority": [1, {"threshold": 1, "keys": []}]}]})
            }),
            (
                "new_producer_schedule.producers[0].authority[1].keys[0].weight",
                |v| {
                    v["new_producer_schedule"] = json!({"version": 1, "producers": [
                    {"producer_name": "a", "authority": [0, {"threshold": 1, "keys": [
                        {"key": "EOS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV",
                         "weight": 70000}]}]}]})
                },
            ),
            ("finality_extension.qc_claim.is_strong_qc", |v| {
                v["finality_extension"] = json!({"qc_claim": {"block_num": 1, "is_strong_qc": 1}})
            }),
        ];
        for (field, mutate) in cases {
            let mut v = base.clone();
            mutate(&mut v);
            let e = BlockHeader::from_json(&v).unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert!(e.to_string().len() < 400, "message stays short: {e}");
        }
        assert_eq!(field_error(&json!([1, 2])), "(body)");
        assert_eq!(field_error(&json!({"signed_block_header": 5})), "timestamp");
    }

    fn header_strategy() -> impl Strategy<Value = BlockHeader> {
        let key = any::<[u8; 32]>()
            .prop_filter_map("valid secret", |b| PrivateKey::from_bytes(&b).ok())
            .prop_map(|k| k.public_key());
        let schedule = (
            any::<u32>(),
            prop::collection::vec((any::<u64>().prop_map(Name::from_u64), key), 0..4),
        )
            .prop_map(|(version, ps)| LegacyProducerSchedule {
                version,
                producers: ps
                    .into_iter()
                    .map(|(producer_name, block_signing_key)| LegacyProducerKey {
                        producer_name,
                        block_signing_key,
                    })
                    .collect(),
            });
        let ext = (any::<u16>(), prop::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(kind, data)| Extension { kind, data });
        let digest = any::<[u8; 32]>().prop_map(Checksum256);
        (
            (any::<u32>(), any::<u64>(), any::<u16>(), digest.clone()),
            (digest.clone(), digest, any::<u32>()),
            prop::option::of(schedule),
            prop::collection::vec(ext, 0..4),
        )
            .prop_map(
                |((ts, prod, conf, prev), (tm, am, sv), np, exts)| BlockHeader {
                    timestamp: BlockTimestamp(ts),
                    producer: Name::from_u64(prod),
                    confirmed: conf,
                    previous: prev,
                    transaction_mroot: tm,
                    action_mroot: am,
                    schedule_version: sv,
                    new_producers: np,
                    header_extensions: exts,
                },
            )
    }

    proptest! {
        #[test]
        fn headers_round_trip_through_bytes_and_json(h in header_strategy()) {
            let bytes = h.packed();
            prop_assert_eq!(&BlockHeader::unpack_all(&bytes).unwrap(), &h);
            for cut in 0..bytes.len() {
                prop_assert!(BlockHeader::unpack_all(&bytes[..cut]).is_err());
            }
            let back = BlockHeader::from_json(&h.to_json()).unwrap();
            prop_assert_eq!(&back, &h);
            prop_assert_eq!(back.id(), h.id());
            prop_assert_eq!(h.id().block_num(), h.block_num());
            prop_assert_eq!(&h.id().0[4..], &h.digest().0[4..]);
        }

        #[test]
        fn any_json_in_any_field_never_panics(
            field in prop::sample::select(vec![
                "timestamp", "producer", "confirmed", "previous", "transaction_mroot",
                "action_mroot", "schedule_version", "new_producers", "header_extensions",
                "new_protocol_features", "new_producer_schedule", "finality_extension",
            ]),
            value in arbitrary_json(),
        ) {
            let mut v = fixture("leap41_get_block_header_26_protocol_feature_activation.json");
            v["signed_block_header"][field] = value.clone();
            let _ = BlockHeader::from_json(&v);
            let mut v = fixture("eos-mainnet_get_block_92565371_new_producers_2019.json");
            v[field] = value;
            let _ = BlockHeader::from_json(&v);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = BlockHeader::unpack_all(&data);
        }
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            "[0-9a-fA-Z.]{0,70}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "version",
                            "producers",
                            "producer_name",
                            "block_signing_key",
                            "authority",
                            "threshold",
                            "keys",
                            "key",
                            "weight",
                            "qc_claim",
                            "block_num",
                            "is_strong_qc",
                            "feature_digest",
                        ]),
                        inner
                    ),
                    0..4
                )
                .prop_map(|kv| Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
            ]
        })
    }
}
