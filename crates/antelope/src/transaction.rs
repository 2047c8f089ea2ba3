//! Transactions: layout, packing, id, signing digest, TAPOS, and the `push_transaction`
//! request body.
//!
//! - `id = sha256(packed_trx)`; signatures never change it.
//! - `digest = sha256(chain_id ‖ packed_trx ‖ cfd_hash)`, where `cfd_hash` is 32 zero
//!   bytes when there is no context-free data (an empty vector counts as none), else
//!   `sha256(packed context_free_data)`.
//! - TAPOS: `ref_block_num` is the low 16 bits of the block number (the first 4 bytes of
//!   the block id, big-endian); `ref_block_prefix` is bytes 8..12 of the id, little-endian.
//!
//! Id and digest are always computed over the uncompressed bytes; [`PackedTransaction`]
//! accepts zlib on input with a cap on the inflated size.

use std::fmt;
use std::io::Read;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::bytes::{DecodeError, Pack, Reader, Unpack, Writer};
use super::keys::PrivateKey;
use super::name::Name;
use super::signature::{sign_digest, Signature};
use super::time::TimePointSec;

/// A 32-byte hash: chain ids, block ids, transaction ids. Text form is lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Checksum256(pub [u8; 32]);

pub type ChainId = Checksum256;
pub type BlockId = Checksum256;
pub type TransactionId = Checksum256;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{input:?} is not a 32-byte hex value (64 hex digits expected): {reason}")]
pub struct Checksum256Error {
    pub input: String,
    pub reason: String,
}

impl Checksum256 {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn hash(data: &[u8]) -> Self {
        Checksum256(Sha256::digest(data).into())
    }

    /// The block number encoded in a block id (first 4 bytes, big-endian).
    pub fn block_num(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }

    /// `(ref_block_num, ref_block_prefix)` for a transaction referencing this block id.
    pub fn tapos(&self) -> (u16, u32) {
        let num = (self.block_num() & 0xffff) as u16;
        let prefix = u32::from_le_bytes([self.0[8], self.0[9], self.0[10], self.0[11]]);
        (num, prefix)
    }
}

impl FromStr for Checksum256 {
    type Err = Checksum256Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| Checksum256Error {
            input: s.chars().take(80).collect(),
            reason,
        };
        let s = s.trim();
        if s.len() != 64 {
            return Err(err(format!("it has {} characters", s.len())));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|e| err(e.to_string()))?;
        Ok(Checksum256(out))
    }
}

impl fmt::Display for Checksum256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Checksum256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum256({self})")
    }
}

impl Serialize for Checksum256 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Checksum256 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Pack for Checksum256 {
    fn pack(&self, w: &mut Writer) {
        w.raw(&self.0)
    }
}

impl Unpack for Checksum256 {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array::<32>().map(Checksum256)
    }
}

/// `actor@permission`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PermissionLevel {
    pub actor: Name,
    pub permission: Name,
}

impl fmt::Display for PermissionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.actor, self.permission)
    }
}

impl Pack for PermissionLevel {
    fn pack(&self, w: &mut Writer) {
        self.actor.pack(w);
        self.permission.pack(w);
    }
}

impl Unpack for PermissionLevel {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PermissionLevel {
            actor: Name::unpack(r)?,
            permission: Name::unpack(r)?,
        })
    }
}

/// One action with its already-serialized data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub account: Name,
    pub name: Name,
    pub authorization: Vec<PermissionLevel>,
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

impl Pack for Action {
    fn pack(&self, w: &mut Writer) {
        self.account.pack(w);
        self.name.pack(w);
        self.authorization.pack(w);
        w.bytes(&self.data);
    }
}

impl Unpack for Action {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Action {
            account: Name::unpack(r)?,
            name: Name::unpack(r)?,
            authorization: Vec::unpack(r)?,
            data: r.bytes()?.to_vec(),
        })
    }
}

/// A transaction extension `(type, data)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub kind: u16,
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

impl Pack for Extension {
    fn pack(&self, w: &mut Writer) {
        w.u16(self.kind);
        w.bytes(&self.data);
    }
}

impl Unpack for Extension {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Extension {
            kind: r.u16()?,
            data: r.bytes()?.to_vec(),
        })
    }
}

/// `transaction_header` + `transaction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub expiration: TimePointSec,
    pub ref_block_num: u16,
    pub ref_block_prefix: u32,
    /// Units of 8 bytes; 0 = no transaction-level cap.
    pub max_net_usage_words: u32,
    /// 0 = no transaction-level cap.
    pub max_cpu_usage_ms: u8,
    /// Must be 0: nodes refuse delayed transactions from the API.
    pub delay_sec: u32,
    pub context_free_actions: Vec<Action>,
    pub actions: Vec<Action>,
    pub transaction_extensions: Vec<Extension>,
}

impl Transaction {
    /// A transaction with TAPOS from `ref_block` that expires at `expiration`.
    pub fn new(ref_block: &BlockId, expiration: TimePointSec, actions: Vec<Action>) -> Self {
        let (ref_block_num, ref_block_prefix) = ref_block.tapos();
        Transaction {
            expiration,
            ref_block_num,
            ref_block_prefix,
            max_net_usage_words: 0,
            max_cpu_usage_ms: 0,
            delay_sec: 0,
            context_free_actions: Vec::new(),
            actions,
            transaction_extensions: Vec::new(),
        }
    }

    pub fn id(&self) -> TransactionId {
        Checksum256::hash(&self.packed())
    }

    /// The digest every signature signs, with no context-free data.
    pub fn signing_digest(&self, chain_id: &ChainId) -> [u8; 32] {
        signing_digest(chain_id, &self.packed(), &[])
    }

    /// Signs with each key (in order) and returns the request body for `push_transaction`.
    pub fn sign(&self, chain_id: &ChainId, keys: &[&PrivateKey]) -> PackedTransaction {
        let packed_trx = self.packed();
        let digest = signing_digest(chain_id, &packed_trx, &[]);
        PackedTransaction {
            signatures: keys.iter().map(|k| sign_digest(k, &digest)).collect(),
            compression: Compression::None,
            packed_context_free_data: Vec::new(),
            packed_trx,
        }
    }
}

/// `sha256(chain_id ‖ packed_trx ‖ cfd_hash)`; `context_free_data` is the list of
/// per-action context-free data blobs (empty for every transaction this tool builds).
pub fn signing_digest(
    chain_id: &ChainId,
    packed_trx: &[u8],
    context_free_data: &[Vec<u8>],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(chain_id.0);
    h.update(packed_trx);
    if context_free_data.is_empty() {
        h.update([0u8; 32]);
    } else {
        let mut w = Writer::new();
        w.len_prefix(context_free_data.len());
        for blob in context_free_data {
            w.bytes(blob);
        }
        h.update(Sha256::digest(w.as_slice()));
    }
    h.finalize().into()
}

impl Pack for Transaction {
    fn pack(&self, w: &mut Writer) {
        self.expiration.pack(w);
        w.u16(self.ref_block_num);
        w.u32(self.ref_block_prefix);
        w.varuint32(self.max_net_usage_words);
        w.u8(self.max_cpu_usage_ms);
        w.varuint32(self.delay_sec);
        self.context_free_actions.pack(w);
        self.actions.pack(w);
        self.transaction_extensions.pack(w);
    }
}

impl Unpack for Transaction {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Transaction {
            expiration: TimePointSec::unpack(r)?,
            ref_block_num: r.u16()?,
            ref_block_prefix: r.u32()?,
            max_net_usage_words: r.varuint32()?,
            max_cpu_usage_ms: r.u8()?,
            delay_sec: r.varuint32()?,
            context_free_actions: Vec::unpack(r)?,
            actions: Vec::unpack(r)?,
            transaction_extensions: Vec::unpack(r)?,
        })
    }
}

/// `compression` of a packed transaction. We always send `None` (written as `0`);
/// on input nodes and libraries use `0`/`1` or `"none"`/`"zlib"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    Zlib,
}

impl Serialize for Compression {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(match self {
            Compression::None => 0,
            Compression::Zlib => 1,
        })
    }
}

impl<'de> Deserialize<'de> for Compression {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) if n.as_u64() == Some(0) => Ok(Compression::None),
            serde_json::Value::Number(n) if n.as_u64() == Some(1) => Ok(Compression::Zlib),
            serde_json::Value::String(s) if s == "none" || s == "0" => Ok(Compression::None),
            serde_json::Value::String(s) if s == "zlib" || s == "1" => Ok(Compression::Zlib),
            other => Err(serde::de::Error::custom(format!(
                "compression must be 0, 1, \"none\" or \"zlib\", got {other}"
            ))),
        }
    }
}

/// Largest transaction we inflate from zlib (nodeos' default `max-transaction-size` is
/// far below this); a larger one is refused rather than exhausting memory.
pub(crate) const MAX_INFLATED_TRX_BYTES: usize = 1024 * 1024;

/// Why a packed transaction could not be decoded.
#[derive(Debug, Error)]
pub enum PackedTransactionError {
    #[error("zlib data in {field} is corrupt: {source}")]
    Zlib {
        field: &'static str,
        source: std::io::Error,
    },
    #[error("{field} inflates to more than {MAX_INFLATED_TRX_BYTES} bytes")]
    TooLarge { field: &'static str },
    #[error("{field} does not decode: {source}")]
    Decode {
        field: &'static str,
        source: DecodeError,
    },
}

/// The body of `push_transaction` / `send_transaction`:
/// `{"signatures":[…],"compression":0,"packed_context_free_data":"","packed_trx":"<hex>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackedTransaction {
    pub signatures: Vec<Signature>,
    pub compression: Compression,
    #[serde(with = "hex_bytes")]
    pub packed_context_free_data: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub packed_trx: Vec<u8>,
}

impl PackedTransaction {
    fn inflate(&self, data: &[u8], field: &'static str) -> Result<Vec<u8>, PackedTransactionError> {
        match self.compression {
            Compression::None => Ok(data.to_vec()),
            Compression::Zlib => {
                let mut out = Vec::new();
                flate2::read::ZlibDecoder::new(data)
                    .take(MAX_INFLATED_TRX_BYTES as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|source| PackedTransactionError::Zlib { field, source })?;
                if out.len() > MAX_INFLATED_TRX_BYTES {
                    return Err(PackedTransactionError::TooLarge { field });
                }
                Ok(out)
            }
        }
    }

    /// The uncompressed transaction bytes (what the id and digest are computed over).
    pub fn trx_bytes(&self) -> Result<Vec<u8>, PackedTransactionError> {
        self.inflate(&self.packed_trx, "packed_trx")
    }

    /// The context-free data blobs; an absent or empty field means none.
    pub fn context_free_data(&self) -> Result<Vec<Vec<u8>>, PackedTransactionError> {
        if self.packed_context_free_data.is_empty() {
            return Ok(Vec::new());
        }
        let raw = self.inflate(&self.packed_context_free_data, "packed_context_free_data")?;
        let mut r = Reader::new(&raw);
        let decode = |source| PackedTransactionError::Decode {
            field: "packed_context_free_data",
            source,
        };
        let count = r.len_prefix(1).map_err(decode)?;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(r.bytes().map_err(decode)?.to_vec());
        }
        r.finish().map_err(decode)?;
        Ok(out)
    }

    pub fn transaction(&self) -> Result<Transaction, PackedTransactionError> {
        Transaction::unpack_all(&self.trx_bytes()?).map_err(|source| {
            PackedTransactionError::Decode {
                field: "packed_trx",
                source,
            }
        })
    }

    pub fn id(&self) -> Result<TransactionId, PackedTransactionError> {
        Ok(Checksum256::hash(&self.trx_bytes()?))
    }

    pub fn signing_digest(&self, chain_id: &ChainId) -> Result<[u8; 32], PackedTransactionError> {
        Ok(signing_digest(
            chain_id,
            &self.trx_bytes()?,
            &self.context_free_data()?,
        ))
    }
}

/// Serde for byte strings as lowercase hex.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(&s).map_err(|e| serde::de::Error::custom(format!("invalid hex: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PublicKey;
    use proptest::prelude::*;
    use serde_json::Value;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn yosemite_tx(v: &Value) -> Transaction {
        let t = &v["recorded"]["transaction"];
        let a = &t["actions"][0];
        Transaction {
            expiration: t["expiration"].as_str().unwrap().parse().unwrap(),
            ref_block_num: t["ref_block_num"].as_u64().unwrap() as u16,
            ref_block_prefix: t["ref_block_prefix"].as_u64().unwrap() as u32,
            max_net_usage_words: 0,
            max_cpu_usage_ms: 0,
            delay_sec: 0,
            context_free_actions: vec![],
            actions: vec![Action {
                account: a["account"].as_str().unwrap().parse().unwrap(),
                name: a["name"].as_str().unwrap().parse().unwrap(),
                authorization: serde_json::from_value(a["authorization"].clone()).unwrap(),
                data: hex::decode(a["hex_data"].as_str().unwrap()).unwrap(),
            }],
            transaction_extensions: vec![],
        }
    }

    #[test]
    fn real_regproducer_packs_ids_and_signs_byte_for_byte() {
        let v = fixture("vector_tx_regproducer_yosemite_2018.json");
        let rec = &v["recorded"];
        let tx = yosemite_tx(&v);
        let packed = rec["packed_transaction"]["packed_trx"].as_str().unwrap();
        assert_eq!(hex::encode(tx.packed()), packed);
        assert_eq!(
            tx.id().to_string(),
            rec["get_transaction_id"].as_str().unwrap()
        );
        let chain_id: ChainId = rec["chain_id"].as_str().unwrap().parse().unwrap();
        let digest = tx.signing_digest(&chain_id);
        assert_eq!(
            hex::encode(digest),
            v["derived"]["signing_digest"].as_str().unwrap()
        );

        // Signed by both published keys, in the recorded order: the exact recorded body.
        let keys = &rec["published_test_keys"];
        let producer =
            PrivateKey::parse(keys["producer.d"]["private_wif"].as_str().unwrap()).unwrap();
        let eosio = PrivateKey::parse(keys["eosio"]["private_wif"].as_str().unwrap()).unwrap();
        let body = tx.sign(&chain_id, &[&producer, &eosio]);
        let recorded: PackedTransaction =
            serde_json::from_value(rec["packed_transaction"].clone()).unwrap();
        assert_eq!(body, recorded);
        // And it decodes back.
        assert_eq!(recorded.transaction().unwrap(), tx);
    }

    #[test]
    fn push_body_has_exactly_the_four_fields() {
        let v = fixture("vector_tx_regproducer_yosemite_2018.json");
        let tx = yosemite_tx(&v);
        let key = PrivateKey::generate();
        let body = serde_json::to_value(tx.sign(&Checksum256([7; 32]), &[&key])).unwrap();
        let obj = body.as_object().unwrap();
        let mut keys: Vec<_> = obj.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "compression",
                "packed_context_free_data",
                "packed_trx",
                "signatures"
            ]
        );
        assert_eq!(obj["compression"], 0);
        assert_eq!(obj["packed_context_free_data"], "");
        assert!(obj["signatures"][0]
            .as_str()
            .unwrap()
            .starts_with("SIG_K1_"));
    }

    #[test]
    fn real_zlib_transactions_decode_and_recover() {
        let v = fixture("vector_tx_jungle4_custom_permission_zlib_2024.json");
        let chain_id: ChainId = v["chain_id"].as_str().unwrap().parse().unwrap();
        let expected_key: PublicKey = v["published_test_key"]["public_legacy"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let txs = v["transactions"].as_array().unwrap();
        assert_eq!(txs.len(), 2);
        for t in txs {
            let body: PackedTransaction =
                serde_json::from_value(t["request_body_verbatim"].clone()).unwrap();
            assert_eq!(body.compression, Compression::Zlib);
            let d = &t["derived"];
            assert_eq!(
                hex::encode(body.trx_bytes().unwrap()),
                d["packed_trx_uncompressed_hex"].as_str().unwrap()
            );
            assert!(body.context_free_data().unwrap().is_empty());
            assert_eq!(
                body.id().unwrap().to_string(),
                t["response_transaction_id"].as_str().unwrap()
            );
            let digest = body.signing_digest(&chain_id).unwrap();
            assert_eq!(hex::encode(digest), d["signing_digest"].as_str().unwrap());
            // Re-encoding the decoded transaction gives back the same bytes.
            let tx = body.transaction().unwrap();
            assert_eq!(tx.packed(), body.trx_bytes().unwrap());
            let recovered: Vec<PublicKey> = body
                .signatures
                .iter()
                .map(|s| s.recover(&digest).unwrap())
                .collect();
            assert!(recovered.contains(&expected_key));
        }
    }

    #[test]
    fn real_mainnet_transactions_round_trip_with_recorded_ids() {
        let v = fixture("vector_tx_eos_mainnet_from_blocks.json");
        let chain_id: ChainId = v["chain_id"].as_str().unwrap().parse().unwrap();
        let txs = v["transactions"].as_array().unwrap();
        assert!(txs.len() >= 13);
        for t in txs {
            let bytes = hex::decode(t["recorded_packed_trx"].as_str().unwrap()).unwrap();
            let tx = Transaction::unpack_all(&bytes).unwrap();
            assert_eq!(tx.packed(), bytes);
            assert_eq!(tx.id().to_string(), t["recorded_id"].as_str().unwrap());
            let h = &t["recorded_header"];
            assert_eq!(tx.expiration.to_string(), h["expiration"].as_str().unwrap());
            assert_eq!(
                u64::from(tx.ref_block_prefix),
                h["ref_block_prefix"].as_u64().unwrap()
            );
            assert_eq!(
                hex::encode(tx.signing_digest(&chain_id)),
                t["derived_signing_digest"].as_str().unwrap()
            );
        }
    }

    #[test]
    fn tapos_matches_recorded_blocks() {
        let v = fixture("vector_encodings_and_slot_math.json");
        for c in v["block_id_to_tapos"].as_array().unwrap() {
            let id: BlockId = c["block_id"].as_str().unwrap().parse().unwrap();
            assert_eq!(
                u64::from(id.block_num()),
                c["block_num_from_first_4_bytes_be"].as_u64().unwrap()
            );
            let (num, prefix) = id.tapos();
            assert_eq!(u64::from(num), c["ref_block_num_u16"].as_u64().unwrap());
            assert_eq!(
                u64::from(prefix),
                c["ref_block_prefix_u32_le_bytes_8_12"].as_u64().unwrap()
            );
        }
        // And against the recorded get_block response itself.
        let b = fixture("eos-mainnet_get_block_8482113_2018.json");
        let id: BlockId = b["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            u64::from(id.tapos().1),
            b["ref_block_prefix"].as_u64().unwrap()
        );
    }

    #[test]
    fn context_free_data_changes_the_digest() {
        let chain = Checksum256([1; 32]);
        let none = signing_digest(&chain, b"trx", &[]);
        let some = signing_digest(&chain, b"trx", &[b"cfd".to_vec()]);
        assert_ne!(none, some);
    }

    #[test]
    fn bad_bodies_are_errors() {
        assert!("00ff".parse::<Checksum256>().is_err());
        assert!("zz".repeat(32).parse::<Checksum256>().is_err());
        let bad: Result<PackedTransaction, _> = serde_json::from_str(
            r#"{"signatures":[],"compression":2,"packed_context_free_data":"","packed_trx":""}"#,
        );
        assert!(bad.is_err());
        let garbage = PackedTransaction {
            signatures: vec![],
            compression: Compression::Zlib,
            packed_context_free_data: vec![],
            packed_trx: vec![1, 2, 3],
        };
        assert!(matches!(
            garbage.trx_bytes(),
            Err(PackedTransactionError::Zlib { .. })
        ));
    }

    #[test]
    fn zlib_bomb_is_refused() {
        use flate2::{write::ZlibEncoder, Compression as Level};
        use std::io::Write;
        let mut enc = ZlibEncoder::new(Vec::new(), Level::best());
        enc.write_all(&vec![0u8; MAX_INFLATED_TRX_BYTES + 10])
            .unwrap();
        let body = PackedTransaction {
            signatures: vec![],
            compression: Compression::Zlib,
            packed_context_free_data: vec![],
            packed_trx: enc.finish().unwrap(),
        };
        assert!(matches!(
            body.trx_bytes(),
            Err(PackedTransactionError::TooLarge { .. })
        ));
    }

    proptest! {
        #[test]
        fn truncated_or_mutated_transactions_never_panic(cut in 0usize..200, flip in 0usize..200, bit in 0u8..8) {
            let v = fixture("vector_tx_regproducer_yosemite_2018.json");
            let mut bytes = hex::decode(v["recorded"]["packed_transaction"]["packed_trx"].as_str().unwrap()).unwrap();
            let n = bytes.len();
            if cut < n {
                prop_assert!(Transaction::unpack_all(&bytes[..cut]).is_err());
            }
            bytes[flip % n] ^= 1 << bit;
            let _ = Transaction::unpack_all(&bytes);
        }
    }
}
