//! ABI-driven serialization: contract-ABI JSON values to Antelope binary and back.
//!
//! Mechanism. `AbiDef` is the serde model of an ABI document (`eosio::abi/1.x`).
//! `Abi::from_def` resolves it once into an index-linked type graph and validates it:
//! - aliases are followed, with cycle detection;
//! - each struct's `base` fields are put first;
//! - every type named anywhere must exist;
//! - `$` (binary extension) may only be the last suffix of a trailing struct field.
//!
//! [`Abi::serialize`] and [`Abi::deserialize`] then walk that graph, with the rules of nodeos's
//! `abi_serializer` (AntelopeIO/spring `libraries/chain/abi_serializer.cpp`):
//! - `T[]` is a varuint32 count then the elements. `T[N]` is exactly N elements with no prefix.
//!   `T?` is a presence byte. A variant is a varuint32 index then the alternative.
//! - A struct is its fields in order. JSON gives it as an object keyed by field name, or as an
//!   array of field values. Unknown keys are rejected, so a typo cannot silently become a default.
//!   A missing `T?` field counts as null, as in nodeos.
//! - A `T$` field may be omitted (missing key, or `null` when `T` is not itself optional). Once one
//!   is omitted every later one must be too. Omission is only allowed where the data ends: in the
//!   last field at every nesting level, never inside a vector or fixed array.
//!
//! JSON input accepts what real nodes print. Every integer and float may be a number or a
//! string. `bool` may be `true`/`false` or `0`/`1`. A variant may be `["type", value]` (ABI form)
//! or `[index, value]` (fc form, as in `get_producer_schedule`). Output follows nodeos:
//! - `bool` prints as `0`/`1`.
//! - 64-bit integers print as strings when `|v| > 0xffffffff`; 128-bit integers always do.
//! - Floats print as strings. We use the shortest text that round-trips, where fc uses
//!   `%.17f`, so the value is the same but the digits can differ.
//! - Variants print as `["type", value]`, K1 keys in legacy `EOS…` form, and bytes and checksums
//!   as lowercase hex. `float128` prints as `0x` + 32 hex digits.
//!
//! Limits:
//! - Only K1 keys and signatures are supported; R1/WebAuthn data is an error.
//! - `bls_*` builtins (Spring) are not supported.
//! - NaN payloads are not preserved.
//! - Nesting is capped at `MAX_DEPTH` (32) levels.
//! - A decode may produce at most one vector/array element per input byte plus 1024. Only
//!   elements that take no bytes (empty structs) can reach this limit, so it guards against a
//!   few bytes standing for billions of them.
//! - Binary ABIs (`get_raw_abi`) are not parsed.
//!
//! Deserialization never panics on hostile bytes: every read goes through [`Reader`](crate::bytes::Reader), and
//! trailing bytes are an error. All of this is pure code with no I/O.
//!
//! Layout: `def` the serde model of the document, `resolve` building the type graph,
//! `encode` JSON → binary, `decode` binary → JSON, `text` the text forms of integers,
//! times, symbols and assets, `compare` the layout comparison of two ABIs.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde_json::Value;
use thiserror::Error;

use super::bytes::DecodeError;
use super::name::{Name, NameError};

/// Maximum nesting depth of a value: every struct, variant, vector, optional, fixed array and
/// the builtin at the leaf counts as one level. It also caps alias chains and suffix stacks in
/// an ABI. nodeos's `abi_serializer::max_recursion_depth` is 32 as well.
pub(crate) const MAX_DEPTH: usize = 32;

/// Vector and array elements a decode may produce beyond one per input byte; only elements
/// that encode to zero bytes (empty structs) can use them.
const ZERO_SIZE_ALLOWANCE: usize = 1024;

/// Largest asset amount nodeos accepts, `2^62 - 1`.
const MAX_ASSET_AMOUNT: i64 = (1 << 62) - 1;
/// Largest symbol precision nodeos accepts.
const MAX_PRECISION: u8 = 18;

mod compare;
mod decode;
mod def;
mod encode;
mod resolve;
#[cfg(test)]
mod test_support;
mod text;

pub use compare::compare_action_types;
use def::AbiDef;
use resolve::{build, resolve_expr, ty_zero_size};
use text::*;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why an ABI could not be built, or a value could not be (de)serialized with it. Value errors
/// carry a `path` such as `regproducer2.producer_authority[1].keys[0].weight`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AbiError {
    #[error("abi json is malformed: {reason}")]
    Json { reason: String },
    #[error("get_abi response for account {account:?} has no abi: the account has no contract")]
    NoAbi { account: String },
    #[error("unsupported abi version {version:?}: expected eosio::abi/1.x")]
    Version { version: String },
    #[error("{context}: unknown type {type_name:?}")]
    UnknownType { context: String, type_name: String },
    #[error("{context}: invalid type {type_name:?}: {reason}")]
    InvalidType {
        context: String,
        type_name: String,
        reason: String,
    },
    #[error("{what} {name:?} is defined twice or redefines a built-in type")]
    Duplicate { what: &'static str, name: String },
    #[error("circular definition: {chain}")]
    Cycle { chain: String },
    #[error("{context}: {cause}")]
    InvalidName { context: String, cause: NameError },
    #[error("the abi has no action {action}")]
    UnknownAction { action: Name },
    #[error("the abi has no table {table}")]
    UnknownTable { table: Name },
    #[error("{path}: missing field")]
    MissingField { path: String },
    #[error("{path}: unknown field {field:?} (expected one of: {expected})")]
    UnknownField {
        path: String,
        field: String,
        expected: String,
    },
    #[error("{path}: expected {expected}, got {got}")]
    WrongType {
        path: String,
        expected: String,
        got: String,
    },
    #[error("{path}: {value} is out of range for {type_name} ({range})")]
    OutOfRange {
        path: String,
        value: String,
        type_name: &'static str,
        range: String,
    },
    #[error("{path}: invalid {type_name} {value:?}: {reason}")]
    InvalidValue {
        path: String,
        type_name: &'static str,
        value: String,
        reason: String,
    },
    #[error(
        "{path}: binary extension field is present after the omitted extension field {absent:?}; \
         once one is omitted all later ones must be omitted too"
    )]
    ExtensionOrder { path: String, absent: String },
    #[error(
        "{path}: binary extension field can only be omitted at the very end of the data, \
         not inside a vector, array or non-final field"
    )]
    ExtensionNotTrailing { path: String },
    #[error("{path}: value nests deeper than {limit} levels")]
    TooDeep { path: String, limit: usize },
    #[error("{path}: {cause}")]
    Decode { path: String, cause: DecodeError },
    #[error("{path}: layout differs: bundled abi has {ours}, chain abi has {theirs}")]
    LayoutMismatch {
        path: String,
        ours: String,
        theirs: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Resolved types
// ---------------------------------------------------------------------------------------------

macro_rules! builtins {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// The types nodeos's `abi_serializer` knows without an ABI definition.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        enum Builtin { $($variant),* }

        impl Builtin {
            #[cfg(test)]
            const ALL: &'static [Builtin] = &[$(Builtin::$variant),*];

            fn name(self) -> &'static str {
                match self { $(Builtin::$variant => $name),* }
            }

            fn from_name(s: &str) -> Option<Self> {
                match s { $($name => Some(Builtin::$variant),)* _ => None }
            }
        }
    };
}

builtins! {
    Bool => "bool",
    Int8 => "int8",
    Uint8 => "uint8",
    Int16 => "int16",
    Uint16 => "uint16",
    Int32 => "int32",
    Uint32 => "uint32",
    Int64 => "int64",
    Uint64 => "uint64",
    Int128 => "int128",
    Uint128 => "uint128",
    Varint32 => "varint32",
    Varuint32 => "varuint32",
    Float32 => "float32",
    Float64 => "float64",
    Float128 => "float128",
    TimePoint => "time_point",
    TimePointSec => "time_point_sec",
    BlockTimestamp => "block_timestamp_type",
    Name => "name",
    Bytes => "bytes",
    String => "string",
    Checksum160 => "checksum160",
    Checksum256 => "checksum256",
    Checksum512 => "checksum512",
    PublicKey => "public_key",
    Signature => "signature",
    Symbol => "symbol",
    SymbolCode => "symbol_code",
    Asset => "asset",
    ExtendedAsset => "extended_asset",
}

/// A fully resolved type: aliases are gone, structs and variants are indices into [`Abi`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ty {
    Builtin(Builtin),
    Struct(usize),
    Variant(usize),
    Vector(Box<Ty>),
    Optional(Box<Ty>),
    Array(Box<Ty>, u32),
}

#[derive(Debug, Clone)]
struct FieldInfo {
    name: String,
    /// The type as written in the ABI, `$` included.
    declared: String,
    ty: Ty,
    /// Declared with a trailing `$`.
    extension: bool,
}

#[derive(Debug, Clone)]
struct StructInfo {
    name: String,
    /// Base fields first, then the struct's own.
    fields: Vec<FieldInfo>,
}

#[derive(Debug, Clone)]
struct VariantInfo {
    name: String,
    /// Alternative names as written in the ABI, with their resolved types.
    alternatives: Vec<(String, Ty)>,
}

#[derive(Debug, Clone)]
struct Entry {
    type_name: String,
    ty: Ty,
}

/// A validated ABI, ready to serialize and deserialize values.
#[derive(Debug, Clone)]
pub struct Abi {
    def: AbiDef,
    structs: Vec<StructInfo>,
    variants: Vec<VariantInfo>,
    /// Every struct, variant and alias name, resolved.
    named: HashMap<String, Ty>,
    actions: BTreeMap<Name, Entry>,
    tables: BTreeMap<Name, Entry>,
    /// Per struct: whether it can encode to zero bytes (no fields, or only extensions and
    /// zero-size fields). Vectors of such elements cannot be bounded by the input length.
    zero_size: Vec<bool>,
}
impl Abi {
    /// Resolves and validates an ABI document.
    pub(crate) fn from_def(def: AbiDef) -> Result<Abi, AbiError> {
        if !def.version.starts_with("eosio::abi/1.") {
            return Err(AbiError::Version {
                version: def.version.clone(),
            });
        }
        let built = build(&def)?;
        Ok(Abi {
            def,
            structs: built.structs,
            variants: built.variants,
            named: built.named,
            actions: built.actions,
            tables: built.tables,
            zero_size: built.zero_size,
        })
    }

    /// Parses and validates a bare ABI document or a `get_abi` response.
    pub fn from_json_str(text: &str) -> Result<Abi, AbiError> {
        Abi::from_def(AbiDef::from_json_str(text)?)
    }

    /// The document this ABI was built from.
    #[cfg(test)]
    pub(crate) fn def(&self) -> &AbiDef {
        &self.def
    }

    pub fn version(&self) -> &str {
        &self.def.version
    }

    /// The type an action's data has, as written in the ABI.
    #[cfg(test)]
    pub(crate) fn action_type(&self, action: Name) -> Option<&str> {
        self.actions.get(&action).map(|e| e.type_name.as_str())
    }

    /// The row type of a table, as written in the ABI.
    pub fn table_type(&self, table: Name) -> Option<&str> {
        self.tables.get(&table).map(|e| e.type_name.as_str())
    }

    /// Serializes `value` as `type_name`, which can be any type expression of this ABI
    /// (`producer_info`, `name[]`, `block_signing_authority`…).
    pub fn serialize(&self, type_name: &str, value: &Value) -> Result<Vec<u8>, AbiError> {
        let ty = self.resolve_type(type_name)?;
        self.encode(&ty, type_name, value)
    }

    /// Serializes an action's data with the type the ABI declares for it.
    pub fn serialize_action(&self, action: Name, data: &Value) -> Result<Vec<u8>, AbiError> {
        let entry = self
            .actions
            .get(&action)
            .ok_or(AbiError::UnknownAction { action })?;
        self.encode(&entry.ty, &action.to_string(), data)
    }

    /// Decodes `bytes` as `type_name`. All of `bytes` must be consumed.
    pub fn deserialize(&self, type_name: &str, bytes: &[u8]) -> Result<Value, AbiError> {
        let ty = self.resolve_type(type_name)?;
        self.decode(&ty, type_name, bytes)
    }

    /// Decodes an action's data with the type the ABI declares for it.
    pub fn deserialize_action(&self, action: Name, bytes: &[u8]) -> Result<Value, AbiError> {
        let entry = self
            .actions
            .get(&action)
            .ok_or(AbiError::UnknownAction { action })?;
        self.decode(&entry.ty, &action.to_string(), bytes)
    }

    /// Decodes a table row with the row type the ABI declares for the table.
    pub fn deserialize_table_row(&self, table: Name, bytes: &[u8]) -> Result<Value, AbiError> {
        let entry = self
            .tables
            .get(&table)
            .ok_or(AbiError::UnknownTable { table })?;
        self.decode(&entry.ty, &entry.type_name, bytes)
    }

    fn resolve_type(&self, type_name: &str) -> Result<Ty, AbiError> {
        const CONTEXT: &str = "requested type";
        resolve_expr(type_name, CONTEXT, &mut |name| {
            self.named
                .get(name)
                .cloned()
                .ok_or_else(|| AbiError::UnknownType {
                    context: CONTEXT.to_string(),
                    type_name: name.to_string(),
                })
        })
    }

    /// A type as text, with struct and variant names (aliases are already resolved).
    fn describe(&self, ty: &Ty) -> String {
        match ty {
            Ty::Builtin(b) => b.name().to_string(),
            Ty::Struct(i) => self.structs[*i].name.clone(),
            Ty::Variant(i) => self.variants[*i].name.clone(),
            Ty::Vector(inner) => format!("{}[]", self.describe(inner)),
            Ty::Optional(inner) => format!("{}?", self.describe(inner)),
            Ty::Array(inner, n) => format!("{}[{n}]", self.describe(inner)),
        }
    }
}

/// The bundled eosio system contract ABI document, as a node's `get_abi` serves it.
pub const EOSIO_SYSTEM_ABI_JSON: &str = include_str!("../../abi/eosio.system.abi.json");

/// The bundled eosio system contract ABI (`abi/eosio.system.abi.json`: Jungle4's 2023 ABI plus
/// the Savanna finalizer-key actions and tables, see `abi/README.md`).
pub fn eosio_system_abi() -> &'static Abi {
    static ABI: OnceLock<Abi> = OnceLock::new();
    ABI.get_or_init(|| {
        // Compiled-in, and parsed by the tests: failing here is a build defect, not bad input.
        Abi::from_json_str(EOSIO_SYSTEM_ABI_JSON)
            .unwrap_or_else(|e| panic!("bundled eosio.system abi is invalid: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::test_support::*;
    use crate::bytes::{Reader, Unpack};
    use crate::signature::Signature;
    use crate::time::{BlockTimestamp, TimePointSec};
    use chrono::DateTime;
    use proptest::prelude::*;
    use serde_json::json;
    use serde_json::Map;

    const TOKEN_ABI: &str = r#"{
        "version": "eosio::abi/1.1",
        "structs": [{"name": "transfer", "base": "", "fields": [
            {"name": "from", "type": "name"}, {"name": "to", "type": "name"},
            {"name": "quantity", "type": "asset"}, {"name": "memo", "type": "string"}]}],
        "actions": [{"name": "transfer", "type": "transfer", "ricardian_contract": ""}]
    }"#;

    // ---- real vectors --------------------------------------------------------------------

    #[test]
    fn yosemite_regproducer_vector_round_trips() {
        let v = fixture!("vector_tx_regproducer_yosemite_2018.json");
        let action = &v["recorded"]["transaction"]["actions"][0];
        let data = &action["data"];
        let expected = hex::decode(action["hex_data"].as_str().unwrap()).unwrap();
        assert_eq!(
            sys().serialize_action(name("regproducer"), data).unwrap(),
            expected
        );
        assert_eq!(sys().serialize("regproducer", data).unwrap(), expected);
        let decoded = sys()
            .deserialize_action(name("regproducer"), &expected)
            .unwrap();
        assert_eq!(&decoded, data);
        assert_eq!(decoded["producer_key"], YOSEMITE_KEY);

        // The PUB_K1 form of the same key gives the same bytes; output is still legacy.
        let mut k1 = data.clone();
        k1["producer_key"] = json!("PUB_K1_66ABHVyT25wYUd2suW6JtbrwLrUdPFVDA1vjU8ttU289enpr9y");
        assert_eq!(
            sys().serialize_action(name("regproducer"), &k1).unwrap(),
            expected
        );
    }

    #[test]
    fn regproducer2_accepts_both_variant_forms_with_identical_bytes() {
        let authority = json!({"threshold": 1, "keys": [{"key": YOSEMITE_KEY, "weight": 1}]});
        let by_name = json!({
            "producer": "producer.d",
            "producer_authority": ["block_signing_authority_v0", authority],
            "url": "http://producerd.io",
            "location": 1
        });
        let mut by_index = by_name.clone();
        by_index["producer_authority"] = json!([0, authority]);
        let a = sys()
            .serialize_action(name("regproducer2"), &by_name)
            .unwrap();
        let b = sys()
            .serialize_action(name("regproducer2"), &by_index)
            .unwrap();
        assert_eq!(a, b);

        // By hand, reference §1.5.
        let expected = [
            "00400257219de8ad", // producer.d
            "00",               // variant index: block_signing_authority_v0
            "01000000",         // threshold u32
            "01",               // keys: one key_weight
            "00029e315fcbb95274a7b8ff1e8cf20016a646c917771849ae5cf37af5c8ef18a682", // K1 key
            "0100",             // weight u16
            "13687474703a2f2f70726f6475636572642e696f", // url
            "0100",             // location u16
        ]
        .concat();
        assert_eq!(hex::encode(&a), expected);
        // Output uses the ABI (type name) form.
        assert_eq!(
            sys().deserialize_action(name("regproducer2"), &a).unwrap(),
            by_name
        );
    }

    #[test]
    fn real_producer_schedule_authorities_round_trip() {
        let schedule = fixture!("jungle4_get_producer_schedule_2023.json");
        let producers = schedule["active"]["producers"].as_array().unwrap();
        assert_eq!(producers.len(), 21);
        for p in producers {
            let fc_form = &p["authority"];
            assert_eq!(fc_form[0], 0);
            let bytes = sys().serialize("block_signing_authority", fc_form).unwrap();
            let decoded = sys()
                .deserialize("block_signing_authority", &bytes)
                .unwrap();
            assert_eq!(decoded[0], "block_signing_authority_v0");
            assert_eq!(decoded[1], fc_form[1], "{}", p["producer_name"]);
            assert_eq!(
                sys()
                    .serialize("block_signing_authority", &decoded)
                    .unwrap(),
                bytes
            );
        }
    }

    #[test]
    fn producer_info_rows_with_and_without_the_extension() {
        // Telos-style input: doubles and big integers as strings, bools as 0/1.
        let row = json!({
            "owner": "producer.d",
            "total_votes": "123.45",
            "producer_key": YOSEMITE_KEY,
            "is_active": 1,
            "url": "http://producerd.io",
            "unpaid_blocks": "5",
            "last_claim_time": "2024-01-02T03:04:05.500",
            "location": 1
        });
        let bytes = sys().serialize("producer_info", &row).unwrap();
        assert_eq!(bytes, producer_row_bytes(false));
        let decoded = sys()
            .deserialize_table_row(name("producers"), &bytes)
            .unwrap();
        assert_eq!(decoded["total_votes"], "123.45");
        assert_eq!(decoded["is_active"], 1);
        assert_eq!(decoded["unpaid_blocks"], 5);
        assert_eq!(decoded["last_claim_time"], "2024-01-02T03:04:05.500");
        assert!(decoded.get("producer_authority").is_none());
        // Null also means "absent" for a non-optional extension field.
        let mut null_ext = row.clone();
        null_ext["producer_authority"] = Value::Null;
        assert_eq!(sys().serialize("producer_info", &null_ext).unwrap(), bytes);

        let mut with = row.clone();
        with["is_active"] = json!(true);
        with["total_votes"] = json!(123.45);
        with["producer_authority"] =
            json!([0, {"threshold": 1, "keys": [{"key": YOSEMITE_KEY, "weight": 1}]}]);
        let bytes = sys().serialize("producer_info", &with).unwrap();
        assert_eq!(bytes, producer_row_bytes(true));
        let decoded = sys().deserialize("producer_info", &bytes).unwrap();
        assert_eq!(
            decoded["producer_authority"],
            json!(["block_signing_authority_v0", {"threshold": 1, "keys": [{"key": YOSEMITE_KEY, "weight": 1}]}])
        );
        assert_eq!(sys().serialize("producer_info", &decoded).unwrap(), bytes);
    }

    /// The actions of a packed transaction: (account, name, data).
    fn actions_of(packed: &[u8]) -> Vec<(Name, Name, Vec<u8>)> {
        let mut r = Reader::new(packed);
        r.u32().unwrap();
        r.u16().unwrap();
        r.u32().unwrap();
        r.varuint32().unwrap();
        r.u8().unwrap();
        r.varuint32().unwrap();
        let mut out = Vec::new();
        for _ in 0..2 {
            for _ in 0..r.varuint32().unwrap() {
                let account = Name::unpack(&mut r).unwrap();
                let action = Name::unpack(&mut r).unwrap();
                for _ in 0..r.varuint32().unwrap() {
                    r.u64().unwrap();
                    r.u64().unwrap();
                }
                out.push((account, action, r.bytes().unwrap().to_vec()));
            }
        }
        assert_eq!(r.varuint32().unwrap(), 0, "transaction extensions");
        r.finish().unwrap();
        out
    }

    #[test]
    fn real_token_transfers_decode_and_reencode() {
        let token = Abi::from_json_str(TOKEN_ABI).unwrap();
        let mut checked = 0;
        let mainnet = fixture!("vector_tx_eos_mainnet_from_blocks.json");
        let jungle = fixture!("vector_tx_jungle4_custom_permission_zlib_2024.json");
        let packed: Vec<String> = mainnet["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["recorded_packed_trx"].as_str().unwrap().to_string())
            .chain(jungle["transactions"].as_array().unwrap().iter().map(|t| {
                t["derived"]["packed_trx_uncompressed_hex"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }))
            .collect();
        for trx in &packed {
            for (account, action, data) in actions_of(&hex::decode(trx).unwrap()) {
                if action != name("transfer") {
                    continue;
                }
                let decoded = token.deserialize_action(action, &data).unwrap();
                assert_eq!(
                    token.serialize_action(action, &decoded).unwrap(),
                    data,
                    "{account}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 100, "only {checked} transfers");

        let first = &jungle["transactions"][0]["derived"]["transaction_decoded"]["actions"][0];
        let data = hex::decode(first["data"].as_str().unwrap()).unwrap();
        let decoded = token.deserialize_action(name("transfer"), &data).unwrap();
        assert_eq!(decoded["from"], "wharfkit1111");
        assert_eq!(decoded["quantity"], "0.1337 EOS");
        assert_eq!(decoded["memo"], "testing after login");
    }

    // ---- properties ----------------------------------------------------------------------

    const EVERYTHING_ABI: &str = r#"{
        "version": "eosio::abi/1.2",
        "types": [{"new_type_name": "alias_u32", "type": "uint32"},
                  {"new_type_name": "inner_list", "type": "inner[]"}],
        "variants": [{"name": "choice", "types": ["uint8", "inner", "string"]}],
        "structs": [
            {"name": "inner", "base": "", "fields": [{"name": "a", "type": "uint8"}]},
            {"name": "base_part", "base": "", "fields": [{"name": "f_bool", "type": "bool"}]},
            {"name": "everything", "base": "base_part", "fields": [
                {"name": "f_int8", "type": "int8"}, {"name": "f_uint8", "type": "uint8"},
                {"name": "f_int16", "type": "int16"}, {"name": "f_uint16", "type": "uint16"},
                {"name": "f_int32", "type": "int32"}, {"name": "f_uint32", "type": "uint32"},
                {"name": "f_int64", "type": "int64"}, {"name": "f_uint64", "type": "uint64"},
                {"name": "f_int128", "type": "int128"}, {"name": "f_uint128", "type": "uint128"},
                {"name": "f_varint32", "type": "varint32"}, {"name": "f_varuint32", "type": "varuint32"},
                {"name": "f_float32", "type": "float32"}, {"name": "f_float64", "type": "float64"},
                {"name": "f_float128", "type": "float128"},
                {"name": "f_time_point", "type": "time_point"},
                {"name": "f_time_point_sec", "type": "time_point_sec"},
                {"name": "f_block_timestamp_type", "type": "block_timestamp_type"},
                {"name": "f_name", "type": "name"}, {"name": "f_bytes", "type": "bytes"},
                {"name": "f_string", "type": "string"},
                {"name": "f_checksum160", "type": "checksum160"},
                {"name": "f_checksum256", "type": "checksum256"},
                {"name": "f_checksum512", "type": "checksum512"},
                {"name": "f_public_key", "type": "public_key"},
                {"name": "f_signature", "type": "signature"},
                {"name": "f_symbol", "type": "symbol"}, {"name": "f_symbol_code", "type": "symbol_code"},
                {"name": "f_asset", "type": "asset"}, {"name": "f_extended_asset", "type": "extended_asset"},
                {"name": "v_vec", "type": "int32[]"}, {"name": "v_opt", "type": "string?"},
                {"name": "v_opt_vec", "type": "uint16[]?"}, {"name": "v_vec_opt", "type": "uint8?[]"},
                {"name": "v_choice", "type": "choice"}, {"name": "v_arr", "type": "uint16[3]"},
                {"name": "v_alias", "type": "alias_u32"}, {"name": "v_inner_list", "type": "inner_list"},
                {"name": "ext1", "type": "uint32$"}, {"name": "ext2", "type": "inner?$"}
            ]}
        ]
    }"#;

    fn everything() -> &'static Abi {
        static ABI: OnceLock<Abi> = OnceLock::new();
        ABI.get_or_init(|| Abi::from_json_str(EVERYTHING_ABI).unwrap())
    }

    #[test]
    fn property_test_struct_covers_every_builtin() {
        let def = &everything().def().structs[2];
        for b in Builtin::ALL {
            if *b == Builtin::Bool {
                continue; // in the base struct
            }
            let field = format!("f_{}", b.name());
            assert!(
                def.fields
                    .iter()
                    .any(|f| f.name == field && f.type_name == b.name()),
                "{field}"
            );
        }
    }

    fn number_or_string<T: ToString + Into<Value>>(x: T, as_string: bool) -> Value {
        if as_string {
            Value::String(x.to_string())
        } else {
            x.into()
        }
    }

    fn int<T: Arbitrary + ToString + Into<Value> + 'static>() -> BoxedStrategy<Value> {
        (any::<T>(), any::<bool>())
            .prop_map(|(x, s)| number_or_string(x, s))
            .boxed()
    }

    fn float<T: Arbitrary + ToString + Into<Value> + Copy + 'static>(
        finite: fn(T) -> bool,
    ) -> BoxedStrategy<Value> {
        (any::<T>(), any::<bool>())
            .prop_map(move |(x, s)| number_or_string(x, s || !finite(x)))
            .boxed()
    }

    fn hex_of(len: usize) -> BoxedStrategy<Value> {
        (proptest::collection::vec(any::<u8>(), len), any::<bool>())
            .prop_map(|(b, upper)| {
                let h = hex::encode(b);
                Value::String(if upper { h.to_uppercase() } else { h })
            })
            .boxed()
    }

    fn code() -> impl Strategy<Value = String> {
        "[A-Z]{1,7}"
    }

    fn asset() -> BoxedStrategy<Value> {
        (-MAX_ASSET_AMOUNT..=MAX_ASSET_AMOUNT, 0u64..=18, code())
            .prop_map(|(amount, p, c)| {
                let sym = p | parse_symbol_code(&c).unwrap() << 8;
                Value::String(asset_text(amount, sym).unwrap())
            })
            .boxed()
    }

    fn keys() -> Vec<Value> {
        let v = fixture!("vector_keys_k1.json");
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|k| [k["public_legacy_eos"].clone(), k["public_pub_k1"].clone()])
            .collect()
    }

    fn inner() -> BoxedStrategy<Value> {
        any::<u8>().prop_map(|a| json!({"a": a})).boxed()
    }

    fn everything_value() -> impl Strategy<Value = Value> {
        let u128_json = (any::<u128>(), any::<bool>())
            .prop_map(|(x, s)| match u64::try_from(x) {
                Ok(small) if !s => json!(small),
                _ => Value::String(x.to_string()),
            })
            .boxed();
        let i128_json = any::<i128>()
            .prop_map(|x| Value::String(x.to_string()))
            .boxed();
        let fields: Vec<(&str, BoxedStrategy<Value>)> = vec![
            (
                "f_bool",
                prop_oneof![
                    any::<bool>().prop_map(Value::from),
                    (0u8..=1).prop_map(Value::from)
                ]
                .boxed(),
            ),
            ("f_int8", int::<i8>()),
            ("f_uint8", int::<u8>()),
            ("f_int16", int::<i16>()),
            ("f_uint16", int::<u16>()),
            ("f_int32", int::<i32>()),
            ("f_uint32", int::<u32>()),
            ("f_int64", int::<i64>()),
            ("f_uint64", int::<u64>()),
            ("f_int128", i128_json),
            ("f_uint128", u128_json),
            ("f_varint32", int::<i32>()),
            ("f_varuint32", int::<u32>()),
            ("f_float32", float::<f32>(f32::is_finite)),
            ("f_float64", float::<f64>(f64::is_finite)),
            (
                "f_float128",
                (hex_of(16), any::<bool>())
                    .prop_map(|(h, p)| {
                        if p {
                            Value::String(format!("0x{}", h.as_str().unwrap()))
                        } else {
                            h
                        }
                    })
                    .boxed(),
            ),
            (
                "f_time_point",
                (-30_610_224_000_000_000i64..253_402_300_799_999_999)
                    .prop_map(|us| {
                        let t = DateTime::from_timestamp_micros(us).unwrap();
                        Value::String(t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
                    })
                    .boxed(),
            ),
            (
                "f_time_point_sec",
                any::<u32>()
                    .prop_map(|s| Value::String(TimePointSec(s).to_string()))
                    .boxed(),
            ),
            (
                "f_block_timestamp_type",
                any::<u32>()
                    .prop_map(|s| Value::String(BlockTimestamp(s).to_string()))
                    .boxed(),
            ),
            (
                "f_name",
                any::<u64>()
                    .prop_map(|n| Value::String(Name::from_u64(n).to_string()))
                    .boxed(),
            ),
            (
                "f_bytes",
                proptest::collection::vec(any::<u8>(), 0..40)
                    .prop_map(|b| Value::String(hex::encode(b)))
                    .boxed(),
            ),
            ("f_string", any::<String>().prop_map(Value::String).boxed()),
            ("f_checksum160", hex_of(20)),
            ("f_checksum256", hex_of(32)),
            ("f_checksum512", hex_of(64)),
            ("f_public_key", proptest::sample::select(keys()).boxed()),
            (
                "f_signature",
                proptest::collection::vec(any::<u8>(), 65)
                    .prop_map(|b| {
                        Value::String(Signature::from_bytes(b.try_into().unwrap()).to_string())
                    })
                    .boxed(),
            ),
            (
                "f_symbol",
                (0u8..=18, code())
                    .prop_map(|(p, c)| Value::String(format!("{p},{c}")))
                    .boxed(),
            ),
            ("f_symbol_code", code().prop_map(Value::String).boxed()),
            ("f_asset", asset()),
            (
                "f_extended_asset",
                (asset(), any::<u64>())
                    .prop_map(
                        |(q, c)| json!({"quantity": q, "contract": Name::from_u64(c).to_string()}),
                    )
                    .boxed(),
            ),
            (
                "v_vec",
                proptest::collection::vec(any::<i32>(), 0..5)
                    .prop_map(|v| json!(v))
                    .boxed(),
            ),
            (
                "v_opt",
                proptest::option::of(any::<String>())
                    .prop_map(|v| json!(v))
                    .boxed(),
            ),
            (
                "v_opt_vec",
                proptest::option::of(proptest::collection::vec(any::<u16>(), 0..4))
                    .prop_map(|v| json!(v))
                    .boxed(),
            ),
            (
                "v_vec_opt",
                proptest::collection::vec(proptest::option::of(any::<u8>()), 0..4)
                    .prop_map(|v| json!(v))
                    .boxed(),
            ),
            (
                "v_choice",
                prop_oneof![
                    any::<u8>().prop_map(|x| json!(["uint8", x])),
                    any::<u8>().prop_map(|x| json!([0, x])),
                    inner().prop_map(|x| json!(["inner", x])),
                    inner().prop_map(|x| json!([1, x])),
                    any::<String>().prop_map(|x| json!(["string", x])),
                ]
                .boxed(),
            ),
            ("v_arr", any::<[u16; 3]>().prop_map(|v| json!(v)).boxed()),
            ("v_alias", int::<u32>()),
            (
                "v_inner_list",
                proptest::collection::vec(inner(), 0..3)
                    .prop_map(Value::Array)
                    .boxed(),
            ),
        ];
        let (names, strategies): (Vec<&str>, Vec<BoxedStrategy<Value>>) =
            fields.into_iter().unzip();
        let extensions = (0u8..4, any::<u32>(), proptest::option::of(inner()));
        (strategies, extensions).prop_map(move |(values, (ext, x, y))| {
            let mut map: Map<String, Value> =
                names.iter().map(|n| n.to_string()).zip(values).collect();
            if ext >= 1 {
                map.insert("ext1".into(), json!(x));
            }
            if ext >= 2 {
                map.insert("ext2".into(), y.unwrap_or(Value::Null));
            }
            Value::Object(map)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn every_builtin_round_trips(value in everything_value()) {
            let a = everything();
            let bytes = a.serialize("everything", &value).unwrap();
            let decoded = a.deserialize("everything", &bytes).unwrap();
            let again = a.serialize("everything", &decoded).unwrap();
            prop_assert_eq!(&bytes, &again);
            prop_assert_eq!(a.deserialize("everything", &again).unwrap(), decoded);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            for ty in ["producer_info", "regproducer2", "block_signing_authority", "last_prop_finalizers_info"] {
                let _ = sys().deserialize(ty, &data);
            }
            let _ = everything().deserialize("everything", &data);
        }

        #[test]
        fn mutated_real_encodings_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut data = producer_row_bytes(true);
            for (i, byte) in edits {
                let at = i.index(data.len());
                data[at] = byte;
            }
            let keep = cut.index(data.len() + 1);
            if let Ok(v) = sys().deserialize("producer_info", &data[..keep]) {
                // Whatever decodes must also encode (possibly refused, never a panic).
                let _ = sys().serialize("producer_info", &v);
            }
        }
    }
}
