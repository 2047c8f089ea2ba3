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

use serde_json::{json, Map, Value};
use thiserror::Error;

use super::bytes::{DecodeError, Pack, Reader, Unpack, Writer};
use super::keys::PublicKey;
use super::name::Name;
use super::time::BlockTimestamp;
use super::transaction::{BlockId, Checksum256, Extension};

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
pub fn num_from_id(id: &Checksum256) -> u32 {
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

    /// The header from a nodeos block read: the body of `get_block`, `get_raw_block` or
    /// `get_block_info`, or of `get_block_header` (the header is taken from
    /// `signed_block_header`) or `get_block_header_state` (from `header`). Other fields
    /// (`id`, `block_num`, `producer_signature`, transactions) are ignored. See the module
    /// docs for what each read carries: a `get_block_info` body parses, but its id only
    /// matches for a block without `new_producers` and header extensions.
    pub fn from_json(v: &Value) -> Result<Self, BlockJsonError> {
        let obj = v.as_object().ok_or_else(|| {
            BlockJsonError::new("(body)", format!("is {}, not an object", json_kind(v)))
        })?;
        if !obj.contains_key("previous") {
            for wrapper in ["signed_block_header", "header"] {
                if let Some(inner) = obj.get(wrapper).and_then(Value::as_object) {
                    return Self::from_object(inner);
                }
            }
        }
        Self::from_object(obj)
    }

    fn from_object(obj: &Map<String, Value>) -> Result<Self, BlockJsonError> {
        let f = Fields(obj);
        let header_extensions = match obj.get("header_extensions") {
            Some(v) => raw_extensions(v)?,
            None => decoded_extensions(obj)?,
        };
        Ok(BlockHeader {
            timestamp: f.parsed("timestamp")?,
            producer: f.parsed("producer")?,
            confirmed: f.uint("confirmed")?,
            previous: f.parsed("previous")?,
            transaction_mroot: f.parsed("transaction_mroot")?,
            action_mroot: f.parsed("action_mroot")?,
            schedule_version: f.uint("schedule_version")?,
            new_producers: match obj.get("new_producers") {
                None | Some(Value::Null) => None,
                Some(v) => Some(legacy_schedule(v)?),
            },
            header_extensions,
        })
    }

    /// The header as nodeos's fc reflection writes it (the `signed_block_header` of
    /// `get_block_header`, without the signature): extensions raw, `new_producers`
    /// omitted when empty, keys in the legacy `EOS…` form.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("timestamp".into(), json!(self.timestamp.to_string()));
        obj.insert("producer".into(), json!(self.producer.to_string()));
        obj.insert("confirmed".into(), json!(self.confirmed));
        obj.insert("previous".into(), json!(self.previous.to_string()));
        obj.insert(
            "transaction_mroot".into(),
            json!(self.transaction_mroot.to_string()),
        );
        obj.insert("action_mroot".into(), json!(self.action_mroot.to_string()));
        obj.insert("schedule_version".into(), json!(self.schedule_version));
        if let Some(s) = &self.new_producers {
            let producers: Vec<Value> = s
                .producers
                .iter()
                .map(|p| {
                    json!({
                        "producer_name": p.producer_name.to_string(),
                        "block_signing_key": p.block_signing_key.to_legacy_string(),
                    })
                })
                .collect();
            obj.insert(
                "new_producers".into(),
                json!({ "version": s.version, "producers": producers }),
            );
        }
        let exts: Vec<Value> = self
            .header_extensions
            .iter()
            .map(|e| json!([e.kind, hex::encode(&e.data)]))
            .collect();
        obj.insert("header_extensions".into(), Value::Array(exts));
        Value::Object(obj)
    }
}

/// Why a block header could not be read from a node's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "block header field `{field}` {problem}; the endpoint sent a malformed or unsupported block"
)]
pub struct BlockJsonError {
    /// Path of the offending field, e.g. `new_producers.producers[3].block_signing_key`.
    pub field: String,
    pub problem: String,
}

impl BlockJsonError {
    fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        BlockJsonError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// What kind of JSON value `v` is, for error messages (never the value itself, which may
/// be huge).
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most 64 characters of a string from the network, for error messages.
fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Typed access to an object's fields, with errors naming the path.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Result<&'a Value, BlockJsonError> {
        self.0
            .get(name)
            .ok_or_else(|| BlockJsonError::new(name, "is missing"))
    }

    fn str(&self, name: &str) -> Result<&'a str, BlockJsonError> {
        let v = self.get(name)?;
        v.as_str()
            .ok_or_else(|| BlockJsonError::new(name, format!("is {}, not a string", json_kind(v))))
    }

    fn parsed<T>(&self, name: &str) -> Result<T, BlockJsonError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        let s = self.str(name)?;
        s.parse().map_err(|e: T::Err| {
            BlockJsonError::new(name, format!("{:?} does not parse: {e}", shorten(s)))
        })
    }

    /// An unsigned integer: a JSON number or a decimal string (nodeos writes values above
    /// `0xffffffff` as strings), range-checked for `T`.
    fn uint<T: TryFrom<u64>>(&self, name: &str) -> Result<T, BlockJsonError> {
        uint_value(self.get(name)?, name)
    }

    fn array(&self, name: &str, max: usize) -> Result<&'a Vec<Value>, BlockJsonError> {
        array_value(self.get(name)?, name, max)
    }

    fn object(&self, name: &str) -> Result<Fields<'a>, BlockJsonError> {
        object_value(self.get(name)?, name)
    }
}

fn uint_value<T: TryFrom<u64>>(v: &Value, path: &str) -> Result<T, BlockJsonError> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if s.len() <= 20 => s.parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        BlockJsonError::new(
            path,
            format!("is {}, not an unsigned integer", json_kind(v)),
        )
    })?;
    T::try_from(n).map_err(|_| {
        BlockJsonError::new(
            path,
            format!("{n} is out of range for {}", std::any::type_name::<T>()),
        )
    })
}

fn array_value<'a>(v: &'a Value, path: &str, max: usize) -> Result<&'a Vec<Value>, BlockJsonError> {
    let a = v
        .as_array()
        .ok_or_else(|| BlockJsonError::new(path, format!("is {}, not an array", json_kind(v))))?;
    if a.len() > max {
        return Err(BlockJsonError::new(
            path,
            format!("has {} entries, more than the {max} accepted", a.len()),
        ));
    }
    Ok(a)
}

fn object_value<'a>(v: &'a Value, path: &str) -> Result<Fields<'a>, BlockJsonError> {
    v.as_object()
        .map(Fields)
        .ok_or_else(|| BlockJsonError::new(path, format!("is {}, not an object", json_kind(v))))
}

fn at(path: &str, i: usize, field: &str) -> String {
    format!("{path}[{i}].{field}")
}

/// `{version, producers: [{producer_name, block_signing_key}]}`.
fn legacy_schedule(v: &Value) -> Result<LegacyProducerSchedule, BlockJsonError> {
    const PATH: &str = "new_producers";
    let f = object_value(v, PATH)?;
    let version = f.uint("version").map_err(|e| nested(PATH, e))?;
    let list = f
        .array("producers", MAX_SCHEDULE_PRODUCERS)
        .map_err(|e| nested(PATH, e))?;
    let mut producers = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let path = "new_producers.producers";
        let p = object_value(p, &format!("{path}[{i}]"))?;
        producers.push(LegacyProducerKey {
            producer_name: nested_parse(&p, "producer_name", &at(path, i, "producer_name"))?,
            block_signing_key: nested_parse(
                &p,
                "block_signing_key",
                &at(path, i, "block_signing_key"),
            )?,
        });
    }
    Ok(LegacyProducerSchedule { version, producers })
}

/// Re-roots an error from a nested [`Fields`] under `path`.
fn nested(path: &str, e: BlockJsonError) -> BlockJsonError {
    BlockJsonError::new(format!("{path}.{}", e.field), e.problem)
}

fn nested_parse<T>(f: &Fields<'_>, name: &str, path: &str) -> Result<T, BlockJsonError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    f.parsed(name)
        .map_err(|e| BlockJsonError::new(path, e.problem))
}

/// `header_extensions` as fc writes it: `[[id, "hex"], …]`.
fn raw_extensions(v: &Value) -> Result<Vec<Extension>, BlockJsonError> {
    const PATH: &str = "header_extensions";
    let list = array_value(v, PATH, MAX_HEADER_EXTENSIONS)?;
    let mut total = 0usize;
    let mut out = Vec::with_capacity(list.len());
    for (i, e) in list.iter().enumerate() {
        let path = format!("{PATH}[{i}]");
        let pair = match e.as_array() {
            Some(p) if p.len() == 2 => p,
            _ => {
                return Err(BlockJsonError::new(
                    path,
                    "is not an [id, \"hex\"] pair".to_string(),
                ))
            }
        };
        let kind_id: u16 = uint_value(&pair[0], &format!("{path}[0]"))?;
        let hex_text = pair[1].as_str().ok_or_else(|| {
            BlockJsonError::new(
                format!("{path}[1]"),
                format!("is {}, not a hex string", json_kind(&pair[1])),
            )
        })?;
        total = total.saturating_add(hex_text.len() / 2);
        if total > MAX_HEADER_EXTENSION_BYTES {
            return Err(BlockJsonError::new(
                PATH,
                format!("holds more than the {MAX_HEADER_EXTENSION_BYTES} bytes accepted"),
            ));
        }
        let data = hex::decode(hex_text)
            .map_err(|e| BlockJsonError::new(format!("{path}[1]"), format!("is not hex: {e}")))?;
        out.push(Extension {
            kind: kind_id,
            data,
        });
    }
    Ok(out)
}

/// The header extensions `get_block` shows decoded, packed back into `(id, bytes)` in
/// ascending id order, as nodeos stores them.
fn decoded_extensions(obj: &Map<String, Value>) -> Result<Vec<Extension>, BlockJsonError> {
    let mut out = Vec::new();
    if let Some(v) = obj.get("new_protocol_features") {
        out.push(Extension {
            kind: PROTOCOL_FEATURE_ACTIVATION,
            data: protocol_features(v)?,
        });
    }
    if let Some(v) = obj.get("new_producer_schedule") {
        out.push(Extension {
            kind: PRODUCER_SCHEDULE_CHANGE,
            data: producer_schedule_change(v)?,
        });
    }
    if let Some(v) = obj.get("finality_extension") {
        out.push(Extension {
            kind: FINALITY_EXTENSION,
            data: finality_extension(v)?,
        });
    }
    Ok(out)
}

/// `new_protocol_features: [{feature_digest}]` → `protocol_feature_activation`
/// (`vector<digest_type>`).
fn protocol_features(v: &Value) -> Result<Vec<u8>, BlockJsonError> {
    const PATH: &str = "new_protocol_features";
    let list = array_value(v, PATH, MAX_NEW_PROTOCOL_FEATURES)?;
    let mut w = Writer::new();
    w.len_prefix(list.len());
    for (i, item) in list.iter().enumerate() {
        let f = object_value(item, &format!("{PATH}[{i}]"))?;
        let digest: Checksum256 =
            nested_parse(&f, "feature_digest", &at(PATH, i, "feature_digest"))?;
        digest.pack(&mut w);
    }
    Ok(w.into_bytes())
}

/// `new_producer_schedule: {version, producers: [{producer_name, authority: [0,
/// {threshold, keys: [{key, weight}]}]}]}` → `producer_schedule_change_extension`
/// (`producer_authority_schedule`).
fn producer_schedule_change(v: &Value) -> Result<Vec<u8>, BlockJsonError> {
    const PATH: &str = "new_producer_schedule";
    let f = object_value(v, PATH)?;
    let version: u32 = f.uint("version").map_err(|e| nested(PATH, e))?;
    let list = f
        .array("producers", MAX_SCHEDULE_PRODUCERS)
        .map_err(|e| nested(PATH, e))?;
    let mut w = Writer::new();
    w.u32(version);
    w.len_prefix(list.len());
    let path = "new_producer_schedule.producers";
    for (i, p) in list.iter().enumerate() {
        let p = object_value(p, &format!("{path}[{i}]"))?;
        let name: Name = nested_parse(&p, "producer_name", &at(path, i, "producer_name"))?;
        name.pack(&mut w);
        let auth_path = at(path, i, "authority");
        let auth = p
            .array("authority", 2)
            .map_err(|e| BlockJsonError::new(&auth_path, e.problem))?;
        let (tag, body) = match auth.as_slice() {
            [tag, body] => (tag, body),
            _ => {
                return Err(BlockJsonError::new(
                    auth_path,
                    "is not a [variant, {threshold, keys}] pair",
                ))
            }
        };
        let tag: u32 = match tag {
            Value::String(s) if s == "block_signing_authority_v0" => 0,
            other => uint_value(other, &format!("{auth_path}[0]"))?,
        };
        if tag != 0 {
            return Err(BlockJsonError::new(
                auth_path,
                format!("has variant {tag}; only block_signing_authority_v0 (0) exists"),
            ));
        }
        let body_path = format!("{auth_path}[1]");
        let body = object_value(body, &body_path)?;
        w.varuint32(0);
        let threshold: u32 = body.uint("threshold").map_err(|e| nested(&body_path, e))?;
        w.u32(threshold);
        let keys = body
            .array("keys", MAX_AUTHORITY_KEYS)
            .map_err(|e| nested(&body_path, e))?;
        w.len_prefix(keys.len());
        for (k, kw) in keys.iter().enumerate() {
            let kw_path = format!("{body_path}.keys[{k}]");
            let kw = object_value(kw, &kw_path)?;
            let key: PublicKey = nested_parse(&kw, "key", &format!("{kw_path}.key"))?;
            key.pack(&mut w);
            let weight: u16 = kw.uint("weight").map_err(|e| nested(&kw_path, e))?;
            w.u16(weight);
        }
    }
    Ok(w.into_bytes())
}

/// Spring's `finality_extension: {qc_claim: {block_num, is_strong_qc},
/// new_finalizer_policy_diff?, new_proposer_policy_diff?}`. Only the common form without
/// policy changes is re-encoded; a block carrying one must be read where its extensions
/// come raw (`get_block_header`, `get_raw_block`).
fn finality_extension(v: &Value) -> Result<Vec<u8>, BlockJsonError> {
    const PATH: &str = "finality_extension";
    let f = object_value(v, PATH)?;
    for diff in ["new_finalizer_policy_diff", "new_proposer_policy_diff"] {
        if f.0.get(diff).is_some_and(|d| !d.is_null()) {
            return Err(BlockJsonError::new(
                format!("{PATH}.{diff}"),
                "is present: get_block shows it only decoded and it is not re-encoded here; \
                 read this block with get_block_header or get_raw_block",
            ));
        }
    }
    let qc_path = "finality_extension.qc_claim";
    let qc = f.object("qc_claim").map_err(|e| nested(PATH, e))?;
    let block_num: u32 = qc.uint("block_num").map_err(|e| nested(qc_path, e))?;
    let strong = qc.get("is_strong_qc").map_err(|e| nested(qc_path, e))?;
    let strong = strong.as_bool().ok_or_else(|| {
        BlockJsonError::new(
            format!("{qc_path}.is_strong_qc"),
            format!("is {}, not a boolean", json_kind(strong)),
        )
    })?;
    let mut w = Writer::new();
    w.u32(block_num);
    w.bool(strong);
    w.u8(0); // no new_finalizer_policy_diff
    w.u8(0); // no new_proposer_policy_diff
    Ok(w.into_bytes())
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
