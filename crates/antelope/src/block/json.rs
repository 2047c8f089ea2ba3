//! A block header from a node's JSON, and back: raw or decoded header extensions, bounded
//! and checked field by field.

use super::*;

impl BlockHeader {
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
pub(super) fn producer_schedule_change(v: &Value) -> Result<Vec<u8>, BlockJsonError> {
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
