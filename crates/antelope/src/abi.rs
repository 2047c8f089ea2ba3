//! ABI-driven serialization: contract-ABI JSON values to Antelope binary and back.
//!
//! Mechanism. [`AbiDef`] is the serde model of an ABI document (`eosio::abi/1.x`).
//! [`Abi::from_def`] resolves it once into an index-linked type graph and validates it:
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
//! - Nesting is capped at [`MAX_DEPTH`] levels.
//! - A decode may produce at most one vector/array element per input byte plus 1024. Only
//!   elements that take no bytes (empty structs) can reach this limit, so it guards against a
//!   few bytes standing for billions of them.
//! - Binary ABIs (`get_raw_abi`) are not parsed.
//!
//! Deserialization never panics on hostile bytes: every read goes through [`Reader`], and
//! trailing bytes are an error. All of this is pure code with no I/O.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use super::bytes::{DecodeError, Pack, Reader, Unpack, Writer};
use super::keys::PublicKey;
use super::name::{Name, NameError};
use super::signature::Signature;
use super::time::{BlockTimestamp, TimePoint, TimePointSec};

/// Maximum nesting depth of a value: every struct, variant, vector, optional, fixed array and
/// the builtin at the leaf counts as one level. It also caps alias chains and suffix stacks in
/// an ABI. nodeos's `abi_serializer::max_recursion_depth` is 32 as well.
pub const MAX_DEPTH: usize = 32;

/// Vector and array elements a decode may produce beyond one per input byte; only elements
/// that encode to zero bytes (empty structs) can use them.
const ZERO_SIZE_ALLOWANCE: usize = 1024;

/// Largest asset amount nodeos accepts, `2^62 - 1`.
const MAX_ASSET_AMOUNT: i64 = (1 << 62) - 1;
/// Largest symbol precision nodeos accepts.
const MAX_PRECISION: u8 = 18;

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
// Serde model of the ABI document
// ---------------------------------------------------------------------------------------------

/// An ABI document as JSON. Unknown top-level sections (`kv_tables`, `calls`, comments…) are
/// kept in [`AbiDef::other`]. The sections we interpret are strict: unknown keys inside them
/// are an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbiDef {
    pub version: String,
    #[serde(default)]
    pub types: Vec<TypeDef>,
    #[serde(default)]
    pub structs: Vec<StructDef>,
    #[serde(default)]
    pub actions: Vec<ActionDef>,
    #[serde(default)]
    pub tables: Vec<TableDef>,
    #[serde(default)]
    pub variants: Vec<VariantDef>,
    #[serde(default)]
    pub ricardian_clauses: Vec<Value>,
    #[serde(default)]
    pub error_messages: Vec<Value>,
    #[serde(default)]
    pub abi_extensions: Vec<Value>,
    #[serde(default)]
    pub action_results: Vec<Value>,
    /// Top-level sections this crate does not interpret, kept verbatim.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeDef {
    pub new_type_name: String,
    #[serde(rename = "type")]
    pub type_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructDef {
    pub name: String,
    #[serde(default)]
    pub base: String,
    pub fields: Vec<FieldDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionDef {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default)]
    pub ricardian_contract: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDef {
    pub name: String,
    #[serde(default)]
    pub index_type: String,
    #[serde(default)]
    pub key_names: Vec<String>,
    #[serde(default)]
    pub key_types: Vec<String>,
    #[serde(rename = "type")]
    pub type_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantDef {
    pub name: String,
    pub types: Vec<String>,
}

impl AbiDef {
    /// Parses a bare ABI document or a `get_abi` response (`{"account_name", "abi"}`).
    pub fn from_json_str(text: &str) -> Result<AbiDef, AbiError> {
        let value: Value = serde_json::from_str(text).map_err(|e| AbiError::Json {
            reason: e.to_string(),
        })?;
        AbiDef::from_json_value(value)
    }

    /// Like [`AbiDef::from_json_str`], from an already parsed JSON value.
    pub fn from_json_value(mut value: Value) -> Result<AbiDef, AbiError> {
        let Some(obj) = value.as_object_mut() else {
            return Err(AbiError::Json {
                reason: format!("expected an object, got {}", describe_json(&value)),
            });
        };
        if !obj.contains_key("version") && obj.contains_key("account_name") {
            let account = obj
                .get("account_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            match obj.remove("abi") {
                Some(abi) if !abi.is_null() => value = abi,
                _ => return Err(AbiError::NoAbi { account }),
            }
        }
        serde_json::from_value(value).map_err(|e| AbiError::Json {
            reason: e.to_string(),
        })
    }
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

enum Suffix {
    Vector,
    Optional,
    Array(u32),
}

/// Peels `[]`, `?` and `[N]` suffixes from the right and resolves the base name with `base`.
fn resolve_expr<'e>(
    expr: &'e str,
    context: &str,
    base: &mut dyn FnMut(&'e str) -> Result<Ty, AbiError>,
) -> Result<Ty, AbiError> {
    let invalid = |reason: &str| AbiError::InvalidType {
        context: context.to_string(),
        type_name: expr.to_string(),
        reason: reason.to_string(),
    };
    let mut suffixes = Vec::new();
    let mut rest = expr;
    loop {
        if suffixes.len() > MAX_DEPTH {
            return Err(invalid("too many suffixes"));
        }
        if rest.ends_with('$') {
            return Err(invalid(
                "the binary extension suffix `$` is only allowed once, at the end of a struct field type",
            ));
        }
        if let Some(inner) = rest.strip_suffix("[]") {
            suffixes.push(Suffix::Vector);
            rest = inner;
        } else if let Some(inner) = rest.strip_suffix('?') {
            suffixes.push(Suffix::Optional);
            rest = inner;
        } else if let Some(inner) = rest.strip_suffix(']') {
            let Some(open) = inner.rfind('[') else {
                return Err(invalid("unbalanced `]`"));
            };
            let digits = &inner[open + 1..];
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid("a fixed array size must be a decimal number"));
            }
            let n: u32 = digits
                .parse()
                .map_err(|_| invalid("fixed array size does not fit in u32"))?;
            suffixes.push(Suffix::Array(n));
            rest = &inner[..open];
        } else {
            break;
        }
    }
    if rest.is_empty() {
        return Err(invalid("empty type name"));
    }
    let mut ty = match Builtin::from_name(rest) {
        Some(b) => Ty::Builtin(b),
        None => base(rest)?,
    };
    for suffix in suffixes.into_iter().rev() {
        ty = match suffix {
            Suffix::Vector => Ty::Vector(Box::new(ty)),
            Suffix::Optional => Ty::Optional(Box::new(ty)),
            Suffix::Array(n) => Ty::Array(Box::new(ty), n),
        };
    }
    Ok(ty)
}

#[derive(Clone, Copy)]
enum Kind<'d> {
    Struct(usize),
    Variant(usize),
    Alias(&'d str),
}

struct Builder<'d> {
    kinds: HashMap<&'d str, Kind<'d>>,
    alias_cache: HashMap<&'d str, Ty>,
    alias_stack: Vec<&'d str>,
}

impl<'d> Builder<'d> {
    fn resolve(&mut self, expr: &'d str, context: &str) -> Result<Ty, AbiError> {
        resolve_expr(expr, context, &mut |name| self.resolve_base(name, context))
    }

    fn resolve_base(&mut self, name: &'d str, context: &str) -> Result<Ty, AbiError> {
        match self.kinds.get(name).copied() {
            Some(Kind::Struct(i)) => Ok(Ty::Struct(i)),
            Some(Kind::Variant(i)) => Ok(Ty::Variant(i)),
            Some(Kind::Alias(target)) => {
                if let Some(ty) = self.alias_cache.get(name) {
                    return Ok(ty.clone());
                }
                if self.alias_stack.contains(&name) {
                    let mut chain: Vec<&str> = self.alias_stack.clone();
                    chain.push(name);
                    return Err(AbiError::Cycle {
                        chain: format!("type alias {}", chain.join(" -> ")),
                    });
                }
                if self.alias_stack.len() >= MAX_DEPTH {
                    return Err(AbiError::InvalidType {
                        context: context.to_string(),
                        type_name: name.to_string(),
                        reason: format!("alias chain longer than {MAX_DEPTH}"),
                    });
                }
                self.alias_stack.push(name);
                let resolved = self.resolve(target, &format!("type alias {name}"));
                self.alias_stack.pop();
                let ty = resolved?;
                self.alias_cache.insert(name, ty.clone());
                Ok(ty)
            }
            None => Err(AbiError::UnknownType {
                context: context.to_string(),
                type_name: name.to_string(),
            }),
        }
    }
}

struct Built {
    zero_size: Vec<bool>,
    structs: Vec<StructInfo>,
    variants: Vec<VariantInfo>,
    named: HashMap<String, Ty>,
    actions: BTreeMap<Name, Entry>,
    tables: BTreeMap<Name, Entry>,
}

fn declare<'d>(
    kinds: &mut HashMap<&'d str, Kind<'d>>,
    name: &'d str,
    kind: Kind<'d>,
    what: &'static str,
) -> Result<(), AbiError> {
    if Builtin::from_name(name).is_some() || kinds.insert(name, kind).is_some() {
        return Err(AbiError::Duplicate {
            what,
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Resolves the action or table list of an ABI into a map keyed by name.
fn entries<'d>(
    b: &mut Builder<'d>,
    list: impl Iterator<Item = (&'d str, &'d str)>,
    what: &'static str,
) -> Result<BTreeMap<Name, Entry>, AbiError> {
    let mut out = BTreeMap::new();
    for (name, type_name) in list {
        let key = Name::from_str(name).map_err(|cause| AbiError::InvalidName {
            context: format!("{what} name"),
            cause,
        })?;
        let ty = b.resolve(type_name, &format!("{what} {name}"))?;
        let entry = Entry {
            type_name: type_name.to_string(),
            ty,
        };
        if out.insert(key, entry).is_some() {
            return Err(AbiError::Duplicate {
                what,
                name: name.to_string(),
            });
        }
    }
    Ok(out)
}

/// Least fixpoint of "every field is an extension or zero-size"; cycles count as non-empty.
fn zero_size_structs(structs: &[StructInfo]) -> Vec<bool> {
    let mut zero = vec![false; structs.len()];
    loop {
        let mut changed = false;
        for (i, s) in structs.iter().enumerate() {
            if !zero[i]
                && s.fields
                    .iter()
                    .all(|f| f.extension || ty_zero_size(&f.ty, &zero))
            {
                zero[i] = true;
                changed = true;
            }
        }
        if !changed {
            return zero;
        }
    }
}

fn ty_zero_size(ty: &Ty, zero_structs: &[bool]) -> bool {
    match ty {
        Ty::Builtin(_) | Ty::Optional(_) | Ty::Vector(_) | Ty::Variant(_) => false,
        Ty::Array(inner, n) => *n == 0 || ty_zero_size(inner, zero_structs),
        Ty::Struct(i) => zero_structs[*i],
    }
}

fn build(def: &AbiDef) -> Result<Built, AbiError> {
    let mut kinds = HashMap::new();
    for (i, s) in def.structs.iter().enumerate() {
        declare(&mut kinds, &s.name, Kind::Struct(i), "struct")?;
    }
    for (i, v) in def.variants.iter().enumerate() {
        declare(&mut kinds, &v.name, Kind::Variant(i), "variant")?;
    }
    for t in &def.types {
        declare(
            &mut kinds,
            &t.new_type_name,
            Kind::Alias(&t.type_name),
            "type alias",
        )?;
    }
    let mut b = Builder {
        kinds,
        alias_cache: HashMap::new(),
        alias_stack: Vec::new(),
    };

    let mut named = HashMap::new();
    for t in &def.types {
        let ty = b.resolve_base(&t.new_type_name, &format!("type alias {}", t.new_type_name))?;
        named.insert(t.new_type_name.clone(), ty);
    }

    let mut variants = Vec::with_capacity(def.variants.len());
    for (i, v) in def.variants.iter().enumerate() {
        let context = format!("variant {}", v.name);
        let mut alternatives = Vec::with_capacity(v.types.len());
        for t in &v.types {
            alternatives.push((t.clone(), b.resolve(t, &context)?));
        }
        variants.push(VariantInfo {
            name: v.name.clone(),
            alternatives,
        });
        named.insert(v.name.clone(), Ty::Variant(i));
    }

    // Each struct's own fields, then its base, then the flattened field list.
    let mut own = Vec::with_capacity(def.structs.len());
    let mut bases = Vec::with_capacity(def.structs.len());
    for s in &def.structs {
        let mut fields = Vec::with_capacity(s.fields.len());
        for f in &s.fields {
            let context = format!("{}.{}", s.name, f.name);
            let (expr, extension) = match f.type_name.strip_suffix('$') {
                Some(inner) => (inner, true),
                None => (f.type_name.as_str(), false),
            };
            fields.push(FieldInfo {
                name: f.name.clone(),
                declared: f.type_name.clone(),
                ty: b.resolve(expr, &context)?,
                extension,
            });
        }
        own.push(fields);
        if s.base.is_empty() {
            bases.push(None);
            continue;
        }
        let context = format!("base of struct {}", s.name);
        match b.resolve(&s.base, &context)? {
            Ty::Struct(j) => bases.push(Some(j)),
            _ => {
                return Err(AbiError::InvalidType {
                    context,
                    type_name: s.base.clone(),
                    reason: "a base must be a struct".to_string(),
                })
            }
        }
    }
    let mut structs = Vec::with_capacity(def.structs.len());
    for (i, s) in def.structs.iter().enumerate() {
        let mut chain = vec![i];
        let mut seen = HashSet::from([i]);
        let mut current = i;
        while let Some(next) = bases[current] {
            chain.push(next);
            if !seen.insert(next) {
                let names: Vec<&str> = chain
                    .iter()
                    .map(|j| def.structs[*j].name.as_str())
                    .collect();
                return Err(AbiError::Cycle {
                    chain: format!("struct base {}", names.join(" -> ")),
                });
            }
            current = next;
        }
        let fields: Vec<FieldInfo> = chain
            .iter()
            .rev()
            .flat_map(|j| own[*j].iter().cloned())
            .collect();
        let mut names = HashSet::new();
        let mut first_extension: Option<&str> = None;
        for f in &fields {
            if !names.insert(f.name.as_str()) {
                return Err(AbiError::Duplicate {
                    what: "field",
                    name: format!("{}.{}", s.name, f.name),
                });
            }
            if f.extension {
                first_extension.get_or_insert(&f.name);
            } else if let Some(ext) = first_extension {
                return Err(AbiError::InvalidType {
                    context: format!("{}.{}", s.name, f.name),
                    type_name: f.declared.clone(),
                    reason: format!(
                        "a field without `$` cannot follow the binary extension field {ext:?}"
                    ),
                });
            }
        }
        structs.push(StructInfo {
            name: s.name.clone(),
            fields,
        });
        named.insert(s.name.clone(), Ty::Struct(i));
    }

    let actions = entries(
        &mut b,
        def.actions
            .iter()
            .map(|a| (a.name.as_str(), a.type_name.as_str())),
        "action",
    )?;
    let tables = entries(
        &mut b,
        def.tables
            .iter()
            .map(|t| (t.name.as_str(), t.type_name.as_str())),
        "table",
    )?;
    Ok(Built {
        zero_size: zero_size_structs(&structs),
        structs,
        variants,
        named,
        actions,
        tables,
    })
}

impl Abi {
    /// Resolves and validates an ABI document.
    pub fn from_def(def: AbiDef) -> Result<Abi, AbiError> {
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
    pub fn def(&self) -> &AbiDef {
        &self.def
    }

    pub fn version(&self) -> &str {
        &self.def.version
    }

    /// The type an action's data has, as written in the ABI.
    pub fn action_type(&self, action: Name) -> Option<&str> {
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

    fn encode(&self, ty: &Ty, root: &str, value: &Value) -> Result<Vec<u8>, AbiError> {
        let mut enc = Encoder {
            abi: self,
            out: Writer::new(),
            path: root.to_string(),
            depth: 0,
        };
        enc.value(ty, value, true)?;
        Ok(enc.out.into_bytes())
    }

    fn decode(&self, ty: &Ty, root: &str, bytes: &[u8]) -> Result<Value, AbiError> {
        let mut dec = Decoder {
            abi: self,
            r: Reader::new(bytes),
            path: root.to_string(),
            depth: 0,
            elements_left: bytes.len().saturating_add(ZERO_SIZE_ALLOWANCE),
        };
        let value = dec.value(ty)?;
        dec.r.finish().map_err(|cause| AbiError::Decode {
            path: root.to_string(),
            cause,
        })?;
        Ok(value)
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
pub const EOSIO_SYSTEM_ABI_JSON: &str = include_str!("../abi/eosio.system.abi.json");

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

// ---------------------------------------------------------------------------------------------
// Layout comparison
// ---------------------------------------------------------------------------------------------

/// Checks that `theirs` (e.g. fetched from a chain) encodes `action` exactly like `ours` (the
/// bundled ABI). Field names, field order, extension markers and resolved types are compared
/// recursively. Struct, variant and alias *names* are not compared, because they do not
/// affect the bytes. The error path names the first difference. Variant alternatives appear
/// as `<k>`, e.g. `regproducer2.producer_authority<0>.keys`.
pub fn compare_action_types(ours: &Abi, theirs: &Abi, action: Name) -> Result<(), AbiError> {
    let a = ours
        .actions
        .get(&action)
        .ok_or(AbiError::UnknownAction { action })?;
    let Some(b) = theirs.actions.get(&action) else {
        return Err(AbiError::LayoutMismatch {
            path: action.to_string(),
            ours: format!("action type {}", a.type_name),
            theirs: "no such action".to_string(),
        });
    };
    let mut cmp = Comparer {
        ours,
        theirs,
        path: action.to_string(),
        seen: HashSet::new(),
        depth: 0,
    };
    cmp.ty(&a.ty, &b.ty)
}

struct Comparer<'a> {
    ours: &'a Abi,
    theirs: &'a Abi,
    path: String,
    /// (is_variant, our index, their index) pairs already being compared.
    seen: HashSet<(bool, usize, usize)>,
    depth: usize,
}

impl Comparer<'_> {
    fn mismatch(&self, ours: String, theirs: String) -> AbiError {
        AbiError::LayoutMismatch {
            path: self.path.clone(),
            ours,
            theirs,
        }
    }

    fn fields(abi: &Abi, s: &StructInfo) -> String {
        let list: Vec<String> = s
            .fields
            .iter()
            .map(|f| {
                let ext = if f.extension { "$" } else { "" };
                format!("{} {}{ext}", f.name, abi.describe(&f.ty))
            })
            .collect();
        format!("fields ({})", list.join(", "))
    }

    fn ty(&mut self, a: &Ty, b: &Ty) -> Result<(), AbiError> {
        if self.depth >= MAX_DEPTH {
            return Err(AbiError::TooDeep {
                path: self.path.clone(),
                limit: MAX_DEPTH,
            });
        }
        self.depth += 1;
        let result = self.ty_inner(a, b);
        self.depth -= 1;
        result
    }

    fn ty_inner(&mut self, a: &Ty, b: &Ty) -> Result<(), AbiError> {
        let (ours, theirs) = (self.ours, self.theirs);
        match (a, b) {
            (Ty::Builtin(x), Ty::Builtin(y)) if x == y => Ok(()),
            (Ty::Vector(x), Ty::Vector(y)) | (Ty::Optional(x), Ty::Optional(y)) => self.ty(x, y),
            (Ty::Array(x, n), Ty::Array(y, m)) if n == m => self.ty(x, y),
            (Ty::Struct(i), Ty::Struct(j)) => {
                if !self.seen.insert((false, *i, *j)) {
                    return Ok(());
                }
                let (sa, sb) = (&ours.structs[*i], &theirs.structs[*j]);
                let same_shape = sa.fields.len() == sb.fields.len()
                    && sa
                        .fields
                        .iter()
                        .zip(&sb.fields)
                        .all(|(x, y)| x.name == y.name && x.extension == y.extension);
                if !same_shape {
                    return Err(self.mismatch(Self::fields(ours, sa), Self::fields(theirs, sb)));
                }
                for (fa, fb) in sa.fields.iter().zip(&sb.fields) {
                    let len = self.path.len();
                    self.path.push('.');
                    self.path.push_str(&fa.name);
                    self.ty(&fa.ty, &fb.ty)?;
                    self.path.truncate(len);
                }
                Ok(())
            }
            (Ty::Variant(i), Ty::Variant(j)) => {
                if !self.seen.insert((true, *i, *j)) {
                    return Ok(());
                }
                let (va, vb) = (&ours.variants[*i], &theirs.variants[*j]);
                if va.alternatives.len() != vb.alternatives.len() {
                    return Err(self.mismatch(
                        format!("{} alternatives", va.alternatives.len()),
                        format!("{} alternatives", vb.alternatives.len()),
                    ));
                }
                for (k, ((_, ta), (_, tb))) in
                    va.alternatives.iter().zip(&vb.alternatives).enumerate()
                {
                    let len = self.path.len();
                    let _ = write!(self.path, "<{k}>");
                    self.ty(ta, tb)?;
                    self.path.truncate(len);
                }
                Ok(())
            }
            _ => Err(self.mismatch(ours.describe(a), theirs.describe(b))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON → binary
// ---------------------------------------------------------------------------------------------

struct Encoder<'a> {
    abi: &'a Abi,
    out: Writer,
    path: String,
    depth: usize,
}

impl Encoder<'_> {
    fn wrong_type(&self, expected: impl Into<String>, got: &Value) -> AbiError {
        AbiError::WrongType {
            path: self.path.clone(),
            expected: expected.into(),
            got: describe_json(got),
        }
    }

    fn invalid(&self, type_name: &'static str, value: &str, reason: impl Into<String>) -> AbiError {
        AbiError::InvalidValue {
            path: self.path.clone(),
            type_name,
            value: truncate(value),
            reason: reason.into(),
        }
    }

    fn out_of_range(&self, b: Builtin, value: &str, range: String) -> AbiError {
        AbiError::OutOfRange {
            path: self.path.clone(),
            value: truncate(value),
            type_name: b.name(),
            range,
        }
    }

    fn push_field(&mut self, name: &str) -> usize {
        let len = self.path.len();
        self.path.push('.');
        self.path.push_str(name);
        len
    }

    fn push_index(&mut self, i: usize) -> usize {
        let len = self.path.len();
        let _ = write!(self.path, "[{i}]");
        len
    }

    fn value(&mut self, ty: &Ty, v: &Value, trailing: bool) -> Result<(), AbiError> {
        if self.depth >= MAX_DEPTH {
            return Err(AbiError::TooDeep {
                path: self.path.clone(),
                limit: MAX_DEPTH,
            });
        }
        self.depth += 1;
        let result = self.value_inner(ty, v, trailing);
        self.depth -= 1;
        result
    }

    fn value_inner(&mut self, ty: &Ty, v: &Value, trailing: bool) -> Result<(), AbiError> {
        match ty {
            Ty::Builtin(b) => self.builtin(*b, v),
            Ty::Optional(inner) => {
                if v.is_null() {
                    self.out.u8(0);
                    Ok(())
                } else {
                    self.out.u8(1);
                    self.value(inner, v, trailing)
                }
            }
            Ty::Vector(inner) => {
                let Value::Array(items) = v else {
                    return Err(self.wrong_type("an array", v));
                };
                self.len_prefix(items.len(), "vector")?;
                self.elements(inner, items)
            }
            Ty::Array(inner, n) => match v {
                Value::Array(items) if items.len() == *n as usize => self.elements(inner, items),
                _ => Err(self.wrong_type(format!("an array of exactly {n} items"), v)),
            },
            Ty::Struct(i) => self.structure(*i, v, trailing),
            Ty::Variant(i) => self.variant(*i, v, trailing),
        }
    }

    fn len_prefix(&mut self, len: usize, what: &'static str) -> Result<(), AbiError> {
        let n = u32::try_from(len).map_err(|_| AbiError::InvalidValue {
            path: self.path.clone(),
            type_name: what,
            value: format!("length {len}"),
            reason: "longer than u32::MAX".to_string(),
        })?;
        self.out.varuint32(n);
        Ok(())
    }

    fn elements(&mut self, inner: &Ty, items: &[Value]) -> Result<(), AbiError> {
        for (i, item) in items.iter().enumerate() {
            let len = self.push_index(i);
            self.value(inner, item, false)?;
            self.path.truncate(len);
        }
        Ok(())
    }

    fn structure(&mut self, idx: usize, v: &Value, trailing: bool) -> Result<(), AbiError> {
        let abi = self.abi;
        let st = &abi.structs[idx];
        let field_list = || {
            let names: Vec<&str> = st.fields.iter().map(|f| f.name.as_str()).collect();
            names.join(", ")
        };
        let (given, is_object): (Vec<Option<&Value>>, bool) = match v {
            Value::Object(map) => {
                if let Some(key) = map
                    .keys()
                    .find(|k| !st.fields.iter().any(|f| &f.name == *k))
                {
                    return Err(AbiError::UnknownField {
                        path: self.path.clone(),
                        field: truncate(key),
                        expected: field_list(),
                    });
                }
                (st.fields.iter().map(|f| map.get(&f.name)).collect(), true)
            }
            Value::Array(items) if items.len() <= st.fields.len() => {
                ((0..st.fields.len()).map(|i| items.get(i)).collect(), false)
            }
            _ => {
                return Err(self.wrong_type(
                    format!(
                    "an object with the fields of {} ({}) or an array of at most {} field values",
                    st.name,
                    field_list(),
                    st.fields.len()
                ),
                    v,
                ))
            }
        };
        let last = st.fields.len().saturating_sub(1);
        let mut omitted: Option<&str> = None;
        for (i, (f, given)) in st.fields.iter().zip(given).enumerate() {
            let len = self.push_field(&f.name);
            // An extension field is absent when missing, or when null and its type is not
            // itself optional (for `T?$`, null means "present, empty").
            let present = match given {
                Some(Value::Null) if f.extension && !matches!(f.ty, Ty::Optional(_)) => None,
                other => other,
            };
            match present {
                Some(value) => {
                    if let Some(absent) = omitted {
                        return Err(AbiError::ExtensionOrder {
                            path: self.path.clone(),
                            absent: absent.to_string(),
                        });
                    }
                    self.value(&f.ty, value, trailing && i == last)?;
                }
                None if f.extension => {
                    if !trailing {
                        return Err(AbiError::ExtensionNotTrailing {
                            path: self.path.clone(),
                        });
                    }
                    omitted.get_or_insert(&f.name);
                }
                // nodeos reads a missing optional field of an object as null.
                None if is_object && matches!(f.ty, Ty::Optional(_)) => self.out.u8(0),
                None => {
                    return Err(AbiError::MissingField {
                        path: self.path.clone(),
                    })
                }
            }
            self.path.truncate(len);
        }
        Ok(())
    }

    fn variant(&mut self, idx: usize, v: &Value, trailing: bool) -> Result<(), AbiError> {
        let abi = self.abi;
        let var = &abi.variants[idx];
        let type_list = || {
            let names: Vec<&str> = var.alternatives.iter().map(|(n, _)| n.as_str()).collect();
            names.join(", ")
        };
        let items = match v {
            Value::Array(items) if items.len() == 2 => items,
            _ => {
                return Err(self.wrong_type(
                    format!(
                        "a two-item array [type name or index, value] for variant {} (types: {})",
                        var.name,
                        type_list()
                    ),
                    v,
                ))
            }
        };
        let len = self.push_index(0);
        let index = match &items[0] {
            Value::String(name) => var
                .alternatives
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| {
                    self.invalid(
                        "variant type",
                        name,
                        format!(
                            "not a type of variant {} (expected one of: {})",
                            var.name,
                            type_list()
                        ),
                    )
                })?,
            Value::Number(n) => n
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .filter(|i| *i < var.alternatives.len())
                .ok_or_else(|| AbiError::OutOfRange {
                    path: self.path.clone(),
                    value: n.to_string(),
                    type_name: "variant index",
                    range: match var.alternatives.len() {
                        0 => format!("variant {} has no types", var.name),
                        n => format!("0 to {} for variant {}", n - 1, var.name),
                    },
                })?,
            other => {
                return Err(self.wrong_type("a variant type name or index", other));
            }
        };
        self.path.truncate(len);
        let tag =
            u32::try_from(index).map_err(|_| self.invalid("variant index", "", "too large"))?;
        self.out.varuint32(tag);
        let len = self.push_index(1);
        self.value(&var.alternatives[index].1, &items[1], trailing)?;
        self.path.truncate(len);
        Ok(())
    }

    fn text<'v>(&self, v: &'v Value, b: Builtin) -> Result<&'v str, AbiError> {
        v.as_str()
            .ok_or_else(|| self.wrong_type(format!("a string ({})", b.name()), v))
    }

    fn parsed<T>(&self, v: &Value, b: Builtin) -> Result<T, AbiError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let text = self.text(v, b)?;
        text.parse::<T>()
            .map_err(|e| self.invalid(b.name(), text, e.to_string()))
    }

    fn int_text<'v>(&self, v: &'v Value, b: Builtin) -> Result<Cow<'v, str>, AbiError> {
        match v {
            Value::Number(n) => Ok(Cow::Owned(n.to_string())),
            Value::String(s) => Ok(Cow::Borrowed(s.as_str())),
            other => Err(self.wrong_type(
                format!("an integer ({}) as a number or a decimal string", b.name()),
                other,
            )),
        }
    }

    fn int(&self, v: &Value, b: Builtin, min: i128, max: i128) -> Result<i128, AbiError> {
        let text = self.int_text(v, b)?;
        match text.parse::<i128>() {
            Ok(x) if (min..=max).contains(&x) => Ok(x),
            Ok(_) => Err(self.out_of_range(b, &text, format!("{min} to {max}"))),
            Err(_) if is_decimal_integer(&text) => {
                Err(self.out_of_range(b, &text, format!("{min} to {max}")))
            }
            Err(_) => Err(self.invalid(b.name(), &text, "not a decimal integer")),
        }
    }

    fn uint128(&self, v: &Value) -> Result<u128, AbiError> {
        let b = Builtin::Uint128;
        let text = self.int_text(v, b)?;
        match text.parse::<u128>() {
            Ok(x) => Ok(x),
            Err(_) if is_decimal_integer(&text) => {
                Err(self.out_of_range(b, &text, format!("0 to {}", u128::MAX)))
            }
            Err(_) => Err(self.invalid(b.name(), &text, "not a decimal integer")),
        }
    }

    fn float(&self, v: &Value, b: Builtin) -> Result<f64, AbiError> {
        match v {
            Value::Number(n) => n.as_f64().ok_or_else(|| {
                self.invalid(b.name(), &n.to_string(), "not representable as a float")
            }),
            Value::String(s) => s
                .parse::<f64>()
                .map_err(|_| self.invalid(b.name(), s, "not a number")),
            other => Err(self.wrong_type(
                format!("a number ({}) or a numeric string", b.name()),
                other,
            )),
        }
    }

    fn float32(&self, v: &Value) -> Result<f32, AbiError> {
        let b = Builtin::Float32;
        let wide = self.float(v, b)?;
        // Parse text directly as f32 so the rounding is correct; numbers arrive as f64.
        let narrow = match v {
            Value::String(s) => s.parse::<f32>().unwrap_or(wide as f32),
            _ => wide as f32,
        };
        if narrow.is_infinite() && wide.is_finite() {
            return Err(self.out_of_range(b, &wide.to_string(), format!("±{}", f32::MAX)));
        }
        Ok(narrow)
    }

    fn boolean(&self, v: &Value) -> Result<bool, AbiError> {
        match v {
            Value::Bool(x) => Ok(*x),
            Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
            Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
            Value::String(s) if s == "0" || s == "false" => Ok(false),
            Value::String(s) if s == "1" || s == "true" => Ok(true),
            other => Err(self.wrong_type("a bool (true/false or 0/1)", other)),
        }
    }

    fn hex_fixed(&self, v: &Value, b: Builtin, len: usize) -> Result<Vec<u8>, AbiError> {
        let text = self.text(v, b)?;
        let digits = match b {
            Builtin::Float128 => text.strip_prefix("0x").unwrap_or(text),
            _ => text,
        };
        let data = hex::decode(digits)
            .map_err(|e| self.invalid(b.name(), text, format!("not hex: {e}")))?;
        if data.len() != len {
            return Err(self.invalid(
                b.name(),
                text,
                format!("{} bytes, expected {len}", data.len()),
            ));
        }
        Ok(data)
    }

    fn builtin(&mut self, b: Builtin, v: &Value) -> Result<(), AbiError> {
        use Builtin as B;
        match b {
            B::Bool => {
                let x = self.boolean(v)?;
                self.out.bool(x);
            }
            B::Int8 => {
                let x = self.int(v, b, i8::MIN.into(), i8::MAX.into())?;
                self.out.i8(x as i8);
            }
            B::Uint8 => {
                let x = self.int(v, b, 0, u8::MAX.into())?;
                self.out.u8(x as u8);
            }
            B::Int16 => {
                let x = self.int(v, b, i16::MIN.into(), i16::MAX.into())?;
                self.out.i16(x as i16);
            }
            B::Uint16 => {
                let x = self.int(v, b, 0, u16::MAX.into())?;
                self.out.u16(x as u16);
            }
            B::Int32 => {
                let x = self.int(v, b, i32::MIN.into(), i32::MAX.into())?;
                self.out.i32(x as i32);
            }
            B::Uint32 => {
                let x = self.int(v, b, 0, u32::MAX.into())?;
                self.out.u32(x as u32);
            }
            B::Int64 => {
                let x = self.int(v, b, i64::MIN.into(), i64::MAX.into())?;
                self.out.i64(x as i64);
            }
            B::Uint64 => {
                let x = self.int(v, b, 0, u64::MAX.into())?;
                self.out.u64(x as u64);
            }
            B::Int128 => {
                let x = self.int(v, b, i128::MIN, i128::MAX)?;
                self.out.i128(x);
            }
            B::Uint128 => {
                let x = self.uint128(v)?;
                self.out.u128(x);
            }
            B::Varint32 => {
                let x = self.int(v, b, i32::MIN.into(), i32::MAX.into())?;
                self.out.varint32(x as i32);
            }
            B::Varuint32 => {
                let x = self.int(v, b, 0, u32::MAX.into())?;
                self.out.varuint32(x as u32);
            }
            B::Float32 => {
                let x = self.float32(v)?;
                self.out.f32(x);
            }
            B::Float64 => {
                let x = self.float(v, b)?;
                self.out.f64(x);
            }
            B::Float128 => {
                let data = self.hex_fixed(v, b, 16)?;
                self.out.raw(&data);
            }
            B::TimePoint => self.parsed::<TimePoint>(v, b)?.pack(&mut self.out),
            B::TimePointSec => self.parsed::<TimePointSec>(v, b)?.pack(&mut self.out),
            B::BlockTimestamp => self.parsed::<BlockTimestamp>(v, b)?.pack(&mut self.out),
            B::Name => self.parsed::<Name>(v, b)?.pack(&mut self.out),
            B::Bytes => {
                let text = self.text(v, b)?;
                let data = hex::decode(text)
                    .map_err(|e| self.invalid(b.name(), text, format!("not hex: {e}")))?;
                self.len_prefix(data.len(), "bytes")?;
                self.out.raw(&data);
            }
            B::String => {
                let text = self.text(v, b)?;
                self.len_prefix(text.len(), "string")?;
                self.out.raw(text.as_bytes());
            }
            B::Checksum160 => {
                let data = self.hex_fixed(v, b, 20)?;
                self.out.raw(&data);
            }
            B::Checksum256 => {
                let data = self.hex_fixed(v, b, 32)?;
                self.out.raw(&data);
            }
            B::Checksum512 => {
                let data = self.hex_fixed(v, b, 64)?;
                self.out.raw(&data);
            }
            B::PublicKey => self.parsed::<PublicKey>(v, b)?.pack(&mut self.out),
            B::Signature => self.parsed::<Signature>(v, b)?.pack(&mut self.out),
            B::Symbol => {
                let text = self.text(v, b)?;
                let sym = parse_symbol(text).map_err(|e| self.invalid(b.name(), text, e))?;
                self.out.u64(sym);
            }
            B::SymbolCode => {
                let text = self.text(v, b)?;
                let code = parse_symbol_code(text).map_err(|e| self.invalid(b.name(), text, e))?;
                self.out.u64(code);
            }
            B::Asset => {
                let text = self.text(v, b)?;
                let (amount, sym) =
                    parse_asset(text).map_err(|e| self.invalid(b.name(), text, e))?;
                self.out.i64(amount);
                self.out.u64(sym);
            }
            B::ExtendedAsset => self.extended_asset(v)?,
        }
        Ok(())
    }

    fn extended_asset(&mut self, v: &Value) -> Result<(), AbiError> {
        let (quantity, contract) = match v {
            Value::Object(map) => {
                if let Some(key) = map.keys().find(|k| *k != "quantity" && *k != "contract") {
                    return Err(AbiError::UnknownField {
                        path: self.path.clone(),
                        field: truncate(key),
                        expected: "quantity, contract".to_string(),
                    });
                }
                (map.get("quantity"), map.get("contract"))
            }
            Value::Array(items) if items.len() == 2 => (items.first(), items.get(1)),
            other => {
                return Err(self.wrong_type(
                    "an extended_asset object {\"quantity\": \"1.0000 EOS\", \"contract\": \"eosio.token\"}",
                    other,
                ))
            }
        };
        for (field, value, b) in [
            ("quantity", quantity, Builtin::Asset),
            ("contract", contract, Builtin::Name),
        ] {
            let len = self.push_field(field);
            let Some(value) = value else {
                return Err(AbiError::MissingField {
                    path: self.path.clone(),
                });
            };
            self.builtin(b, value)?;
            self.path.truncate(len);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// binary → JSON
// ---------------------------------------------------------------------------------------------

struct Decoder<'a, 'b> {
    abi: &'a Abi,
    r: Reader<'b>,
    path: String,
    depth: usize,
    /// Vector and array elements still allowed: one per input byte plus
    /// [`ZERO_SIZE_ALLOWANCE`], so zero-size elements cannot multiply without bound.
    elements_left: usize,
}

fn decode_err(path: &str, cause: DecodeError) -> AbiError {
    AbiError::Decode {
        path: path.to_string(),
        cause,
    }
}

impl Decoder<'_, '_> {
    fn invalid(&self, what: &'static str, offset: usize, detail: String) -> AbiError {
        decode_err(
            &self.path,
            DecodeError::Invalid {
                what,
                offset,
                detail,
            },
        )
    }

    fn value(&mut self, ty: &Ty) -> Result<Value, AbiError> {
        if self.depth >= MAX_DEPTH {
            return Err(AbiError::TooDeep {
                path: self.path.clone(),
                limit: MAX_DEPTH,
            });
        }
        self.depth += 1;
        let result = self.value_inner(ty);
        self.depth -= 1;
        result
    }

    fn value_inner(&mut self, ty: &Ty) -> Result<Value, AbiError> {
        let abi = self.abi;
        match ty {
            Ty::Builtin(b) => self.builtin(*b),
            Ty::Optional(inner) => {
                let offset = self.r.offset();
                match self.r.u8().map_err(|e| decode_err(&self.path, e))? {
                    0 => Ok(Value::Null),
                    1 => self.value(inner),
                    other => Err(self.invalid(
                        "optional flag",
                        offset,
                        format!("byte {other:#04x} is neither 0 nor 1"),
                    )),
                }
            }
            Ty::Vector(inner) => {
                let offset = self.r.offset();
                let n = self.r.varuint32().map_err(|e| decode_err(&self.path, e))? as usize;
                if n > self.r.remaining() && !ty_zero_size(inner, &abi.zero_size) {
                    return Err(decode_err(
                        &self.path,
                        DecodeError::LengthTooLarge {
                            len: n as u64,
                            offset,
                            remaining: self.r.remaining(),
                        },
                    ));
                }
                self.elements(inner, n)
            }
            Ty::Array(inner, n) => self.elements(inner, *n as usize),
            Ty::Struct(i) => {
                let st = &abi.structs[*i];
                let mut map = Map::new();
                for f in &st.fields {
                    if f.extension && self.r.is_empty() {
                        break;
                    }
                    let len = self.path.len();
                    self.path.push('.');
                    self.path.push_str(&f.name);
                    let v = self.value(&f.ty)?;
                    self.path.truncate(len);
                    map.insert(f.name.clone(), v);
                }
                Ok(Value::Object(map))
            }
            Ty::Variant(i) => {
                let var = &abi.variants[*i];
                let offset = self.r.offset();
                let index = self.r.varuint32().map_err(|e| decode_err(&self.path, e))?;
                let Some((name, ty)) = var.alternatives.get(index as usize) else {
                    return Err(self.invalid(
                        "variant index",
                        offset,
                        format!(
                            "{index}, but variant {} has {} types",
                            var.name,
                            var.alternatives.len()
                        ),
                    ));
                };
                let len = self.path.len();
                self.path.push_str("[1]");
                let v = self.value(ty)?;
                self.path.truncate(len);
                Ok(Value::Array(vec![Value::String(name.clone()), v]))
            }
        }
    }

    fn elements(&mut self, inner: &Ty, n: usize) -> Result<Value, AbiError> {
        if n > self.elements_left {
            return Err(self.invalid(
                "element count",
                self.r.offset(),
                format!(
                    "{n} more elements exceed the limit of one per input byte plus {ZERO_SIZE_ALLOWANCE}"
                ),
            ));
        }
        self.elements_left -= n;
        let mut items = Vec::with_capacity(n.min(1024));
        for i in 0..n {
            let len = self.path.len();
            let _ = write!(self.path, "[{i}]");
            items.push(self.value(inner)?);
            self.path.truncate(len);
        }
        Ok(Value::Array(items))
    }

    fn builtin(&mut self, b: Builtin) -> Result<Value, AbiError> {
        use Builtin as B;
        macro_rules! rd {
            ($e:expr) => {
                $e.map_err(|e| decode_err(&self.path, e))?
            };
        }
        let offset = self.r.offset();
        Ok(match b {
            B::Bool => Value::from(u8::from(rd!(self.r.bool()))),
            B::Int8 => Value::from(rd!(self.r.i8())),
            B::Uint8 => Value::from(rd!(self.r.u8())),
            B::Int16 => Value::from(rd!(self.r.i16())),
            B::Uint16 => Value::from(rd!(self.r.u16())),
            B::Int32 => Value::from(rd!(self.r.i32())),
            B::Uint32 => Value::from(rd!(self.r.u32())),
            B::Int64 => int64_json(i128::from(rd!(self.r.i64()))),
            B::Uint64 => int64_json(i128::from(rd!(self.r.u64()))),
            B::Int128 => Value::String(rd!(self.r.i128()).to_string()),
            B::Uint128 => Value::String(rd!(self.r.u128()).to_string()),
            B::Varint32 => Value::from(rd!(self.r.varint32())),
            B::Varuint32 => Value::from(rd!(self.r.varuint32())),
            B::Float32 => Value::String(rd!(self.r.f32()).to_string()),
            B::Float64 => Value::String(rd!(self.r.f64()).to_string()),
            B::Float128 => Value::String(format!("0x{}", hex::encode(rd!(self.r.array::<16>())))),
            B::TimePoint => {
                let t = rd!(TimePoint::unpack(&mut self.r));
                Value::String(format_time_point(t.0).ok_or_else(|| {
                    self.invalid(
                        "time_point",
                        offset,
                        format!("{} µs is outside the supported date range", t.0),
                    )
                })?)
            }
            B::TimePointSec => Value::String(rd!(TimePointSec::unpack(&mut self.r)).to_string()),
            B::BlockTimestamp => {
                Value::String(rd!(BlockTimestamp::unpack(&mut self.r)).to_string())
            }
            B::Name => Value::String(rd!(Name::unpack(&mut self.r)).to_string()),
            B::Bytes => Value::String(hex::encode(rd!(self.r.bytes()))),
            B::String => Value::String(rd!(self.r.string())),
            B::Checksum160 => Value::String(hex::encode(rd!(self.r.array::<20>()))),
            B::Checksum256 => Value::String(hex::encode(rd!(self.r.array::<32>()))),
            B::Checksum512 => Value::String(hex::encode(rd!(self.r.array::<64>()))),
            B::PublicKey => Value::String(rd!(PublicKey::unpack(&mut self.r)).to_legacy_string()),
            B::Signature => Value::String(rd!(Signature::unpack(&mut self.r)).to_string()),
            B::Symbol => {
                let sym = rd!(self.r.u64());
                Value::String(symbol_text(sym).map_err(|e| self.invalid("symbol", offset, e))?)
            }
            B::SymbolCode => {
                let code = rd!(self.r.u64());
                Value::String(
                    symbol_code_text(code).map_err(|e| self.invalid("symbol_code", offset, e))?,
                )
            }
            B::Asset => self.asset()?,
            B::ExtendedAsset => {
                let quantity = self.asset()?;
                let contract = rd!(Name::unpack(&mut self.r));
                let mut map = Map::new();
                map.insert("quantity".to_string(), quantity);
                map.insert("contract".to_string(), Value::String(contract.to_string()));
                Value::Object(map)
            }
        })
    }

    fn asset(&mut self) -> Result<Value, AbiError> {
        let offset = self.r.offset();
        let amount = self.r.i64().map_err(|e| decode_err(&self.path, e))?;
        let sym = self.r.u64().map_err(|e| decode_err(&self.path, e))?;
        asset_text(amount, sym)
            .map(Value::String)
            .map_err(|e| self.invalid("asset", offset, e))
    }
}

// ---------------------------------------------------------------------------------------------
// Text forms
// ---------------------------------------------------------------------------------------------

/// nodeos prints 64-bit integers as JSON strings once `|v| > 0xffffffff` (fc `json.cpp`).
fn int64_json(v: i128) -> Value {
    if v.unsigned_abs() > 0xffff_ffff {
        Value::String(v.to_string())
    } else {
        Value::from(v as i64)
    }
}

/// `2024-01-02T03:04:05.500` like nodeos; with six fraction digits when the value is not a
/// whole millisecond (nodeos would drop them). `None` if the result would not parse back.
fn format_time_point(us: i64) -> Option<String> {
    let t = DateTime::from_timestamp_micros(us)?;
    let format = if us.rem_euclid(1000) == 0 {
        "%Y-%m-%dT%H:%M:%S%.3f"
    } else {
        "%Y-%m-%dT%H:%M:%S%.6f"
    };
    let text = t.format(format).to_string();
    (TimePoint::from_str(&text).ok()? == TimePoint(us)).then_some(text)
}

fn parse_symbol_code(text: &str) -> Result<u64, String> {
    if text.is_empty() || text.len() > 7 || !text.bytes().all(|c| c.is_ascii_uppercase()) {
        return Err("a symbol code is 1 to 7 uppercase letters A-Z".to_string());
    }
    Ok(text
        .bytes()
        .enumerate()
        .fold(0u64, |acc, (i, c)| acc | u64::from(c) << (8 * i)))
}

fn symbol_code_text(code: u64) -> Result<String, String> {
    let bytes = code.to_le_bytes();
    let len = bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len());
    if len == 0
        || len > 7
        || bytes[len..].iter().any(|&c| c != 0)
        || !bytes[..len].iter().all(u8::is_ascii_uppercase)
    {
        return Err(format!(
            "{code:#018x} is not a symbol code (1 to 7 letters A-Z, zero padded)"
        ));
    }
    Ok(bytes[..len].iter().map(|&c| char::from(c)).collect())
}

fn parse_symbol(text: &str) -> Result<u64, String> {
    let (precision, code) = text
        .split_once(',')
        .ok_or("expected \"<precision>,<CODE>\" such as \"4,EOS\"")?;
    let precision: u8 = precision
        .trim()
        .parse()
        .ok()
        .filter(|p| *p <= MAX_PRECISION)
        .ok_or(format!(
            "precision must be a number from 0 to {MAX_PRECISION}"
        ))?;
    Ok(u64::from(precision) | parse_symbol_code(code.trim())? << 8)
}

fn symbol_text(sym: u64) -> Result<String, String> {
    let precision = (sym & 0xff) as u8;
    if precision > MAX_PRECISION {
        return Err(format!("precision {precision} exceeds {MAX_PRECISION}"));
    }
    Ok(format!("{precision},{}", symbol_code_text(sym >> 8)?))
}

/// nodeos `asset::from_string`: the precision is the number of digits after the point.
fn parse_asset(text: &str) -> Result<(i64, u64), String> {
    const FORMAT: &str = "expected \"<amount> <SYMBOL>\" such as \"1.0000 EOS\"";
    let (amount, code) = text.trim().split_once(' ').ok_or(FORMAT)?;
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if int_part.is_empty()
        || (digits.contains('.') && frac_part.is_empty())
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return Err(format!(
            "amount {amount:?} is not a decimal number; {FORMAT}"
        ));
    }
    let precision = frac_part.len();
    if precision > usize::from(MAX_PRECISION) {
        return Err(format!(
            "{precision} decimal places, at most {MAX_PRECISION} are allowed"
        ));
    }
    let out_of_range = || format!("amount is outside ±{MAX_ASSET_AMOUNT} units");
    let magnitude: u128 = format!("{int_part}{frac_part}")
        .parse()
        .map_err(|_| out_of_range())?;
    let magnitude = i64::try_from(magnitude)
        .ok()
        .filter(|m| *m <= MAX_ASSET_AMOUNT)
        .ok_or_else(out_of_range)?;
    let sym = precision as u64 | parse_symbol_code(code.trim())? << 8;
    Ok((if negative { -magnitude } else { magnitude }, sym))
}

fn asset_text(amount: i64, sym: u64) -> Result<String, String> {
    if !(-MAX_ASSET_AMOUNT..=MAX_ASSET_AMOUNT).contains(&amount) {
        return Err(format!("amount {amount} is outside ±{MAX_ASSET_AMOUNT}"));
    }
    let symbol = symbol_text(sym)?;
    let (precision, code) = symbol.split_once(',').unwrap_or(("0", &symbol));
    let precision: u32 = precision.parse().unwrap_or(0);
    let sign = if amount < 0 { "-" } else { "" };
    let magnitude = amount.unsigned_abs();
    if precision == 0 {
        return Ok(format!("{sign}{magnitude} {code}"));
    }
    let scale = 10u64.pow(precision);
    Ok(format!(
        "{sign}{}.{:0width$} {code}",
        magnitude / scale,
        magnitude % scale,
        width = precision as usize
    ))
}

fn is_decimal_integer(text: &str) -> bool {
    let digits = text
        .strip_prefix('-')
        .or_else(|| text.strip_prefix('+'))
        .unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
}

/// Caps echoed input in error messages.
fn truncate(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn describe_json(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {:?}", truncate(s)),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    macro_rules! fixture {
        ($name:literal) => {
            serde_json::from_str::<Value>(include_str!(concat!("../../../fixtures/", $name)))
                .unwrap()
        };
    }

    fn name(s: &str) -> Name {
        Name::literal(s)
    }

    fn sys() -> &'static Abi {
        eosio_system_abi()
    }

    fn abi(json: Value) -> Abi {
        Abi::from_def(AbiDef::from_json_value(json).unwrap()).unwrap()
    }

    fn abi_err(json: Value) -> AbiError {
        Abi::from_def(AbiDef::from_json_value(json).unwrap()).unwrap_err()
    }

    const TOKEN_ABI: &str = r#"{
        "version": "eosio::abi/1.1",
        "structs": [{"name": "transfer", "base": "", "fields": [
            {"name": "from", "type": "name"}, {"name": "to", "type": "name"},
            {"name": "quantity", "type": "asset"}, {"name": "memo", "type": "string"}]}],
        "actions": [{"name": "transfer", "type": "transfer", "ricardian_contract": ""}]
    }"#;

    const YOSEMITE_KEY: &str = "EOS66ABHVyT25wYUd2suW6JtbrwLrUdPFVDA1vjU8ttU289d2DPvJ";

    // ---- the bundled ABI and ABI parsing -------------------------------------------------

    #[test]
    fn bundled_abi_is_jungle4_unchanged_plus_savanna_additions() {
        let original =
            AbiDef::from_json_value(fixture!("jungle4_get_abi_eosio_2023.json")).unwrap();
        let bundled = sys().def();
        assert_eq!(bundled.version, original.version);
        assert_eq!(bundled.types, original.types);
        assert_eq!(bundled.variants, original.variants);
        // Every original entry is kept verbatim, in order, at the start of its section.
        assert_eq!(
            bundled.structs[..original.structs.len()],
            original.structs[..]
        );
        assert_eq!(
            bundled.actions[..original.actions.len()],
            original.actions[..]
        );
        assert_eq!(bundled.tables[..original.tables.len()], original.tables[..]);
        assert_eq!(bundled.structs.len(), original.structs.len() + 10);
        assert_eq!(bundled.actions.len(), original.actions.len() + 4);
        assert_eq!(bundled.tables.len(), original.tables.len() + 4);

        for (action, ty) in [
            ("regproducer", "regproducer"),
            ("regproducer2", "regproducer2"),
            ("regfinkey", "regfinkey"),
            ("actfinkey", "actfinkey"),
            ("delfinkey", "delfinkey"),
            ("switchtosvnn", "switchtosvnn"),
        ] {
            assert_eq!(sys().action_type(name(action)), Some(ty), "{action}");
        }
        for (table, ty) in [
            ("producers", "producer_info"),
            ("finalizers", "finalizer_info"),
            ("finkeys", "finalizer_key_info"),
            ("lastpropfins", "last_prop_finalizers_info"),
            ("finkeyidgen", "fin_key_id_generator_info"),
        ] {
            assert_eq!(sys().table_type(name(table)), Some(ty), "{table}");
        }
        // Spot-check a Savanna shape end to end.
        let data = json!({"finalizer_name": "producer.d", "finalizer_key": "PUB_BLS_x", "proof_of_possession": "SIG_BLS_y"});
        let bytes = sys().serialize_action(name("regfinkey"), &data).unwrap();
        assert_eq!(
            hex::encode(&bytes),
            [
                "00400257219de8ad",     // producer.d
                "095055425f424c535f78", // "PUB_BLS_x"
                "095349475f424c535f79", // "SIG_BLS_y"
            ]
            .concat()
        );
        assert_eq!(
            sys().deserialize_action(name("regfinkey"), &bytes).unwrap(),
            data
        );
        let row = json!({"key_id": 7, "fin_authority": {"description": "producer.d", "weight": 1, "public_key": "abcd"}});
        let bytes = sys().serialize("finalizer_auth_info", &row).unwrap();
        assert_eq!(
            hex::encode(&bytes),
            [
                "0700000000000000",       // key_id
                "0a70726f64756365722e64", // description
                "0100000000000000",       // weight
                "02abcd",                 // public_key bytes
            ]
            .concat()
        );
        assert_eq!(
            sys()
                .serialize_action(name("switchtosvnn"), &json!({}))
                .unwrap(),
            Vec::<u8>::new()
        );
    }

    #[test]
    fn parses_get_abi_responses_and_bare_abis() {
        let response = include_str!("../../../fixtures/jungle4_get_abi_eosio_2023.json");
        let from_response = Abi::from_json_str(response).unwrap();
        let bare = fixture!("jungle4_get_abi_eosio_2023.json")["abi"].to_string();
        let from_bare = Abi::from_json_str(&bare).unwrap();
        assert_eq!(from_response.def(), from_bare.def());
        assert_eq!(from_bare.version(), "eosio::abi/1.2");
        assert_eq!(
            from_bare.action_type(name("regproducer2")),
            Some("regproducer2")
        );

        assert_eq!(
            AbiDef::from_json_str(r#"{"account_name":"nocontract"}"#).unwrap_err(),
            AbiError::NoAbi {
                account: "nocontract".into()
            }
        );
        // Unknown top-level sections are tolerated and kept.
        let lenient = AbiDef::from_json_value(json!({
            "version": "eosio::abi/1.3", "____comment": "generated", "kv_tables": {}, "calls": [],
            "structs": [{"name": "s", "fields": [{"name": "a", "type": "uint8"}]}]
        }))
        .unwrap();
        assert!(lenient.other.contains_key("kv_tables") && lenient.other.contains_key("calls"));
        Abi::from_def(lenient).unwrap();
        // The sections we use are strict.
        let strict = AbiDef::from_json_value(json!({
            "version": "eosio::abi/1.2",
            "structs": [{"name": "s", "base": "", "fields": [{"name": "a", "typ": "uint8"}]}]
        }));
        assert!(matches!(strict, Err(AbiError::Json { .. })), "{strict:?}");
        let version = Abi::from_json_str(r#"{"version":"eosio::abi/2.0"}"#).unwrap_err();
        assert_eq!(
            version.to_string(),
            "unsupported abi version \"eosio::abi/2.0\": expected eosio::abi/1.x"
        );
    }

    #[test]
    fn invalid_abis_are_rejected_with_the_culprit_named() {
        let base = |structs: Value, types: Value| json!({"version": "eosio::abi/1.2", "types": types, "structs": structs});
        let e = abi_err(base(
            json!([{"name": "regproducer", "base": "", "fields": [{"name": "producer_key", "type": "pubkey"}]}]),
            json!([]),
        ));
        assert_eq!(
            e.to_string(),
            "regproducer.producer_key: unknown type \"pubkey\""
        );
        let e = abi_err(base(
            json!([{"name": "s", "base": "", "fields": [{"name": "v", "type": "nope[]?"}]}]),
            json!([]),
        ));
        assert_eq!(
            e,
            AbiError::UnknownType {
                context: "s.v".into(),
                type_name: "nope".into()
            }
        );

        let e = abi_err(base(
            json!([]),
            json!([{"new_type_name": "a", "type": "b[]"}, {"new_type_name": "b", "type": "a?"}]),
        ));
        assert!(
            matches!(&e, AbiError::Cycle { chain } if chain.contains("a -> b -> a")),
            "{e}"
        );

        let e = abi_err(base(
            json!([{"name": "x", "base": "y", "fields": []}, {"name": "y", "base": "x", "fields": []}]),
            json!([]),
        ));
        assert!(
            matches!(&e, AbiError::Cycle { chain } if chain.contains("x -> y -> x")),
            "{e}"
        );

        let e = abi_err(base(
            json!([{"name": "s", "base": "", "fields": [{"name": "a", "type": "uint8$"}, {"name": "b", "type": "uint8"}]}]),
            json!([]),
        ));
        assert!(
            e.to_string()
                .starts_with("s.b: invalid type \"uint8\": a field without `$`"),
            "{e}"
        );

        let e = abi_err(base(
            json!([]),
            json!([{"new_type_name": "t", "type": "uint8$"}]),
        ));
        assert!(matches!(e, AbiError::InvalidType { .. }), "{e}");

        let e = abi_err(base(
            json!([{"name": "s", "base": "", "fields": []}, {"name": "s", "base": "", "fields": []}]),
            json!([]),
        ));
        assert_eq!(
            e,
            AbiError::Duplicate {
                what: "struct",
                name: "s".into()
            }
        );
        let e = abi_err(base(
            json!([]),
            json!([{"new_type_name": "asset", "type": "string"}]),
        ));
        assert_eq!(
            e,
            AbiError::Duplicate {
                what: "type alias",
                name: "asset".into()
            }
        );

        let e = abi_err(
            json!({"version": "eosio::abi/1.2", "actions": [{"name": "Bad", "type": "uint8"}]}),
        );
        assert!(matches!(e, AbiError::InvalidName { .. }), "{e}");
        let e = abi_err(
            json!({"version": "eosio::abi/1.2", "tables": [{"name": "t", "type": "missing"}]}),
        );
        assert_eq!(e.to_string(), "table t: unknown type \"missing\"");
    }

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

    fn producer_row_bytes(with_authority: bool) -> Vec<u8> {
        let key: PublicKey = YOSEMITE_KEY.parse().unwrap();
        let mut w = Writer::new();
        name("producer.d").pack(&mut w);
        w.f64(123.45);
        key.pack(&mut w);
        w.u8(1);
        w.string("http://producerd.io");
        w.u32(5);
        w.i64(1_704_164_645_500_000); // 2024-01-02T03:04:05.500
        w.u16(1);
        if with_authority {
            w.varuint32(0);
            w.u32(1);
            w.varuint32(1);
            key.pack(&mut w);
            w.u16(1);
        }
        w.into_bytes()
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

    // ---- JSON forms ----------------------------------------------------------------------

    #[test]
    fn integer_float_and_bool_json_forms() {
        let a = sys();
        let round = |ty: &str, v: Value| a.deserialize(ty, &a.serialize(ty, &v).unwrap()).unwrap();
        assert_eq!(
            round("uint64", json!(0xffff_ffffu64)),
            json!(0xffff_ffffu64)
        );
        assert_eq!(
            round("uint64", json!(0x1_0000_0000u64)),
            json!("4294967296")
        );
        assert_eq!(
            round("uint64", json!("18446744073709551615")),
            json!("18446744073709551615")
        );
        assert_eq!(
            round("int64", json!(-0xffff_ffffi64)),
            json!(-0xffff_ffffi64)
        );
        assert_eq!(
            round("int64", json!(-0x1_0000_0000i64)),
            json!("-4294967296")
        );
        assert_eq!(round("uint128", json!(5)), json!("5"));
        assert_eq!(round("uint32", json!("7")), json!(7));
        assert_eq!(
            round("float64", json!("46438068615642343.5")),
            json!("46438068615642344")
        );
        assert_eq!(round("float64", json!(0.1)), json!("0.1"));
        assert_eq!(round("float32", json!("0.1")), json!("0.1"));
        assert_eq!(round("bool", json!(true)), json!(1));
        assert_eq!(round("bool", json!(0)), json!(0));
        assert_eq!(round("varint32", json!(-3)), json!(-3));
        assert_eq!(
            round("float128", json!("0x0102030405060708090a0b0c0d0e0f10")),
            json!("0x0102030405060708090a0b0c0d0e0f10")
        );
        assert_eq!(
            round("checksum256", json!("AB".repeat(32))),
            json!("ab".repeat(32))
        );
        assert_eq!(round("bytes", json!("")), json!(""));
        assert_eq!(
            round("name[]", json!(["eosio", "", "a.b"])),
            json!(["eosio", "", "a.b"])
        );
        assert_eq!(round("uint8?", Value::Null), Value::Null);
        assert_eq!(a.serialize("varint32", &json!(-1)).unwrap(), vec![1]);
        assert_eq!(a.serialize("uint16", &json!(258)).unwrap(), vec![2, 1]);
    }

    #[test]
    fn time_asset_and_symbol_text_forms() {
        let a = sys();
        let round = |ty: &str, v: &str| {
            let bytes = a.serialize(ty, &json!(v)).unwrap();
            (hex::encode(&bytes), a.deserialize(ty, &bytes).unwrap())
        };
        assert_eq!(
            round("time_point_sec", "2018-07-24T05:40:50"),
            ("e2bb565b".into(), json!("2018-07-24T05:40:50"))
        );
        assert_eq!(
            round("time_point", "1970-01-01T00:00:00.000001").1,
            json!("1970-01-01T00:00:00.000001")
        );
        assert_eq!(
            round("time_point", "2024-01-02T03:04:05.5").1,
            json!("2024-01-02T03:04:05.500")
        );
        assert_eq!(
            round("block_timestamp_type", "2000-01-01T00:00:00.500"),
            ("01000000".into(), json!("2000-01-01T00:00:00.500"))
        );
        assert_eq!(
            round("symbol", "4,EOS"),
            ("04454f5300000000".into(), json!("4,EOS"))
        );
        assert_eq!(
            round("symbol_code", "EOS"),
            ("454f530000000000".into(), json!("EOS"))
        );
        assert_eq!(
            round("asset", "1.0000 EOS"),
            (
                "102700000000000004454f5300000000".into(),
                json!("1.0000 EOS")
            )
        );
        assert_eq!(round("asset", "-0.0001 EOS").1, json!("-0.0001 EOS"));
        assert_eq!(
            round("asset", "5 SYS"),
            (
                ["0500000000000000", "00", "53595300000000"].concat(),
                json!("5 SYS")
            )
        );
        assert_eq!(
            round("asset", "4611686018427387903 ABCDEFG").1,
            json!("4611686018427387903 ABCDEFG")
        );
        assert_eq!(
            round("asset", "0.000000000000000001 X").1,
            json!("0.000000000000000001 X")
        );
        let ext = json!({"quantity": "1.0000 EOS", "contract": "eosio.token"});
        let bytes = a.serialize("extended_asset", &ext).unwrap();
        assert_eq!(
            hex::encode(&bytes),
            "102700000000000004454f530000000000a6823403ea3055"
        );
        assert_eq!(a.deserialize("extended_asset", &bytes).unwrap(), ext);
        assert_eq!(
            a.serialize("extended_asset", &json!(["1.0000 EOS", "eosio.token"]))
                .unwrap(),
            bytes
        );
    }

    // ---- rejections ----------------------------------------------------------------------

    fn regproducer2_input() -> Value {
        json!({
            "producer": "producer.d",
            "producer_authority": [0, {"threshold": 1, "keys": [{"key": YOSEMITE_KEY, "weight": 1}]}],
            "url": "",
            "location": 0
        })
    }

    #[test]
    fn bad_values_are_rejected_with_their_path() {
        let a = sys();
        let rp2 = name("regproducer2");

        let mut v = regproducer2_input();
        v["producer_authority"][1]["keys"][0]
            .as_object_mut()
            .unwrap()
            .remove("weight");
        let e = a.serialize_action(rp2, &v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "regproducer2.producer_authority[1].keys[0].weight: missing field"
        );

        let mut v = regproducer2_input();
        v["lcoation"] = json!(1);
        let e = a.serialize_action(rp2, &v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "regproducer2: unknown field \"lcoation\" (expected one of: producer, producer_authority, url, location)"
        );

        let mut v = regproducer2_input();
        v["producer_authority"][1]["keys"][0]["weight"] = json!(70000);
        let e = a.serialize_action(rp2, &v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "regproducer2.producer_authority[1].keys[0].weight: 70000 is out of range for uint16 (0 to 65535)"
        );
        let e = a.serialize("uint8", &json!("300")).unwrap_err();
        assert!(
            matches!(&e, AbiError::OutOfRange { value, type_name: "uint8", .. } if value == "300"),
            "{e}"
        );
        assert!(matches!(
            a.serialize("uint64", &json!(-1)),
            Err(AbiError::OutOfRange { .. })
        ));
        assert!(matches!(
            a.serialize("uint128", &json!("-1")),
            Err(AbiError::OutOfRange { .. })
        ));
        assert!(matches!(
            a.serialize("int32", &json!(1.5)),
            Err(AbiError::InvalidValue { .. })
        ));
        assert!(matches!(
            a.serialize("int32", &json!("0x10")),
            Err(AbiError::InvalidValue { .. })
        ));
        assert!(matches!(
            a.serialize("float32", &json!("1e39")),
            Err(AbiError::OutOfRange { .. })
        ));
        assert!(matches!(
            a.serialize("bool", &json!(2)),
            Err(AbiError::WrongType { .. })
        ));
        assert!(matches!(
            a.serialize("uint8", &json!(true)),
            Err(AbiError::WrongType { .. })
        ));

        let mut v = regproducer2_input();
        v["producer_authority"][1]["keys"][0]["key"] =
            json!("EOS66ABHVyT25wYUd2suW6JtbrwLrUdPFVDA1vjU8ttU289d2DPvK");
        let e = a.serialize_action(rp2, &v).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "regproducer2.producer_authority[1].keys[0].key: invalid public_key \"EOS66AB"
            ),
            "{e}"
        );
        assert!(e.contains("wrong checksum"), "{e}");
        let e = a
            .serialize("public_key", &json!("PUB_BLS_abc"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("BLS12-381"), "{e}");

        for bad in [
            "1.0000",
            "1.0000 eos",
            "1. EOS",
            ".5 EOS",
            "1.0000 TOOLONGX",
            "4611686018427387904 A",
            "0.0000000000000000001 A",
            "1e3 EOS",
            "- 1 EOS",
            "99999999999999999999999999999999999999999 A",
        ] {
            let e = a.serialize("asset", &json!(bad)).unwrap_err();
            assert!(
                matches!(
                    e,
                    AbiError::InvalidValue {
                        type_name: "asset",
                        ..
                    }
                ),
                "{bad}: {e}"
            );
        }
        for bad in ["EOS", "19,EOS", "4,", "4,eos", "x,EOS"] {
            assert!(a.serialize("symbol", &json!(bad)).is_err(), "{bad}");
        }
        assert!(a
            .serialize("name", &json!("Producer"))
            .unwrap_err()
            .to_string()
            .contains("uppercase"));
        assert!(a.serialize("checksum256", &json!("00")).is_err());
        assert!(a.serialize("time_point_sec", &json!("yesterday")).is_err());

        let mut v = regproducer2_input();
        v["producer_authority"] = json!(["block_signing_authority_v1", {}]);
        let e = a.serialize_action(rp2, &v).unwrap_err().to_string();
        assert!(
            e.starts_with("regproducer2.producer_authority[0]: invalid variant type"),
            "{e}"
        );
        v["producer_authority"] = json!([1, {}]);
        let e = a.serialize_action(rp2, &v).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "regproducer2.producer_authority[0]: 1 is out of range for variant index"
            ),
            "{e}"
        );
        v["producer_authority"] = json!({"threshold": 1, "keys": []});
        assert!(matches!(
            a.serialize_action(rp2, &v),
            Err(AbiError::WrongType { .. })
        ));

        assert_eq!(
            a.serialize("nosuchtype", &json!(1)).unwrap_err(),
            AbiError::UnknownType {
                context: "requested type".into(),
                type_name: "nosuchtype".into()
            }
        );
        assert_eq!(
            a.serialize_action(name("nosuchaction"), &json!({}))
                .unwrap_err(),
            AbiError::UnknownAction {
                action: name("nosuchaction")
            }
        );
    }

    #[test]
    fn binary_extension_rules_are_enforced() {
        let a = abi(json!({
            "version": "eosio::abi/1.2",
            "structs": [
                {"name": "s", "base": "", "fields": [
                    {"name": "a", "type": "uint8"}, {"name": "x", "type": "uint8$"},
                    {"name": "y", "type": "uint16?$"}]},
                {"name": "outer", "base": "", "fields": [
                    {"name": "inner", "type": "s"}, {"name": "tail", "type": "uint8"}]},
                {"name": "list", "base": "", "fields": [{"name": "items", "type": "s[]"}]}
            ]
        }));
        let enc = |ty: &str, v: Value| a.serialize(ty, &v).map(hex::encode);
        assert_eq!(enc("s", json!({"a": 1})).unwrap(), "01");
        assert_eq!(enc("s", json!({"a": 1, "x": 2})).unwrap(), "0102");
        assert_eq!(
            enc("s", json!({"a": 1, "x": 2, "y": null})).unwrap(),
            "010200"
        );
        assert_eq!(
            enc("s", json!({"a": 1, "x": 2, "y": 3})).unwrap(),
            "0102010300"
        );
        assert_eq!(enc("s", json!([1, 2])).unwrap(), "0102");
        assert_eq!(
            a.serialize("s", &json!({"a": 1, "y": 3})).unwrap_err(),
            AbiError::ExtensionOrder {
                path: "s.y".into(),
                absent: "x".into()
            }
        );
        assert_eq!(
            a.serialize("outer", &json!({"inner": {"a": 1}, "tail": 0}))
                .unwrap_err(),
            AbiError::ExtensionNotTrailing {
                path: "outer.inner.x".into()
            }
        );
        assert_eq!(
            a.serialize("list", &json!({"items": [{"a": 1}]}))
                .unwrap_err(),
            AbiError::ExtensionNotTrailing {
                path: "list.items[0].x".into()
            }
        );
        assert_eq!(
            enc("list", json!({"items": [{"a": 1, "x": 2, "y": null}]})).unwrap(),
            "01010200"
        );

        // Decoding stops at the end of the data and omits the remaining extension fields.
        assert_eq!(a.deserialize("s", &[1]).unwrap(), json!({"a": 1}));
        assert_eq!(
            a.deserialize("s", &[1, 2]).unwrap(),
            json!({"a": 1, "x": 2})
        );
        assert_eq!(
            a.deserialize("s", &[1, 2, 0]).unwrap(),
            json!({"a": 1, "x": 2, "y": null})
        );
        assert!(a.deserialize("s", &[]).is_err());
        assert!(a.deserialize("s", &[1, 2, 1, 3]).is_err());
    }

    #[test]
    fn truncated_real_encodings_fail_at_every_cut() {
        let v = fixture!("vector_tx_regproducer_yosemite_2018.json");
        let hex_data = v["recorded"]["transaction"]["actions"][0]["hex_data"]
            .as_str()
            .unwrap();
        let regproducer = hex::decode(hex_data).unwrap();
        let rp2 = sys()
            .serialize_action(name("regproducer2"), &regproducer2_input())
            .unwrap();
        for (ty, full) in [("regproducer", &regproducer), ("regproducer2", &rp2)] {
            for cut in 0..full.len() {
                let e = sys().deserialize(ty, &full[..cut]).unwrap_err();
                assert!(matches!(e, AbiError::Decode { .. }), "{ty} cut {cut}: {e}");
            }
        }
        // A producers row is complete either without or with its extension, never in between.
        let full = producer_row_bytes(true);
        let without = producer_row_bytes(false).len();
        for cut in 0..full.len() {
            let result = sys().deserialize("producer_info", &full[..cut]);
            assert_eq!(result.is_ok(), cut == without, "cut {cut}: {result:?}");
        }
    }

    #[test]
    fn trailing_bytes_and_bad_tags_are_rejected() {
        let v = fixture!("vector_tx_regproducer_yosemite_2018.json");
        let hex_data = v["recorded"]["transaction"]["actions"][0]["hex_data"]
            .as_str()
            .unwrap();
        let mut bytes = hex::decode(hex_data).unwrap();
        bytes.push(0);
        assert_eq!(
            sys()
                .deserialize_action(name("regproducer"), &bytes)
                .unwrap_err(),
            AbiError::Decode {
                path: "regproducer".into(),
                cause: DecodeError::TrailingBytes { count: 1 }
            }
        );
        let mut rp2 = sys()
            .serialize_action(name("regproducer2"), &regproducer2_input())
            .unwrap();
        rp2[8] = 1; // variant index 1 does not exist
        let e = sys()
            .deserialize_action(name("regproducer2"), &rp2)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("regproducer2.producer_authority: invalid variant index at offset 8"),
            "{e}"
        );
        assert!(sys().deserialize("bool", &[2]).is_err());
        assert!(sys().deserialize("uint8?", &[2, 0]).is_err());
        assert!(sys()
            .deserialize("symbol", &hex::decode("04656f7300000000").unwrap())
            .is_err());
        assert!(sys()
            .deserialize("symbol_code", &hex::decode("45004f0000000000").unwrap())
            .is_err());
        assert!(sys()
            .deserialize(
                "asset",
                &hex::decode("ffffffffffffff7f04454f5300000000").unwrap()
            )
            .is_err());
        assert!(sys().deserialize("public_key", &[1; 34]).is_err());
        assert!(sys()
            .deserialize("time_point", &i64::MAX.to_le_bytes())
            .is_err());
    }

    #[test]
    fn hostile_nesting_and_lengths_are_bounded() {
        let a = abi(json!({
            "version": "eosio::abi/1.2",
            "structs": [
                {"name": "node", "base": "", "fields": [{"name": "children", "type": "node[]"}]},
                {"name": "empty", "base": "", "fields": []}
            ]
        }));
        // 1000 levels of one child each: refused at the depth limit, no stack overflow.
        let mut deep = vec![1u8; 1000];
        deep.push(0);
        assert!(matches!(
            a.deserialize("node", &deep),
            Err(AbiError::TooDeep { .. })
        ));
        // (Kept to 100 levels: serde_json drops a Value recursively.)
        let mut value = json!({"children": []});
        for _ in 0..100 {
            value = json!({"children": [value]});
        }
        assert!(matches!(
            a.serialize("node", &value),
            Err(AbiError::TooDeep { .. })
        ));
        assert_eq!(
            a.deserialize("node", &[1, 0]).unwrap(),
            json!({"children": [{"children": []}]})
        );

        // Zero-size elements cannot multiply: 101 bytes may not describe 100 × 100 objects.
        let mut bomb = vec![100u8];
        bomb.extend([100u8; 100]);
        let e = a.deserialize("empty[][]", &bomb).unwrap_err();
        assert!(
            matches!(
                e,
                AbiError::Decode {
                    cause: DecodeError::Invalid {
                        what: "element count",
                        ..
                    },
                    ..
                }
            ),
            "{e}"
        );
        assert!(a
            .deserialize("empty[]", &[0xff, 0xff, 0xff, 0xff, 0x0f])
            .is_err());
        assert_eq!(a.deserialize("empty[]", &[3]).unwrap(), json!([{}, {}, {}]));
        assert_eq!(a.deserialize("empty[0][]", &[2]).unwrap(), json!([[], []]));
        // Elements that need bytes are still bounded by what is left.
        assert!(matches!(
            a.deserialize("node[]", &[2, 0]),
            Err(AbiError::Decode {
                cause: DecodeError::LengthTooLarge { .. },
                ..
            })
        ));
    }

    #[test]
    fn fixed_arrays_have_no_length_prefix() {
        let a = sys();
        assert_eq!(
            a.serialize("uint16[3]", &json!([1, 2, 3])).unwrap(),
            vec![1, 0, 2, 0, 3, 0]
        );
        assert_eq!(
            a.deserialize("uint16[3]", &[1, 0, 2, 0, 3, 0]).unwrap(),
            json!([1, 2, 3])
        );
        assert!(matches!(
            a.serialize("uint16[3]", &json!([1, 2])),
            Err(AbiError::WrongType { .. })
        ));
        assert_eq!(
            a.serialize("int32[]?", &json!([7])).unwrap(),
            vec![1, 1, 7, 0, 0, 0]
        );
        assert_eq!(
            a.serialize("int32?[]", &json!([null, 7])).unwrap(),
            vec![2, 0, 1, 7, 0, 0, 0]
        );
    }

    // ---- layout comparison ---------------------------------------------------------------

    #[test]
    fn compare_action_types_accepts_same_layouts_and_names_differences() {
        let chain = Abi::from_json_str(include_str!(
            "../../../fixtures/jungle4_get_abi_eosio_2023.json"
        ))
        .unwrap();
        for action in [
            "regproducer",
            "regproducer2",
            "unregprod",
            "linkauth",
            "updateauth",
        ] {
            compare_action_types(sys(), &chain, name(action)).unwrap();
        }

        let modified = |edit: &dyn Fn(&mut Value)| {
            let mut v = fixture!("jungle4_get_abi_eosio_2023.json")["abi"].clone();
            edit(&mut v);
            Abi::from_def(AbiDef::from_json_value(v).unwrap()).unwrap()
        };
        let set_field = |v: &mut Value, s: &str, f: usize, key: &str, new: &str| {
            let st = v["structs"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|x| x["name"] == s)
                .unwrap();
            st["fields"][f][key] = json!(new);
        };

        let wider = modified(&|v| set_field(v, "regproducer", 3, "type", "uint32"));
        assert_eq!(
            compare_action_types(sys(), &wider, name("regproducer")).unwrap_err(),
            AbiError::LayoutMismatch {
                path: "regproducer.location".into(),
                ours: "uint16".into(),
                theirs: "uint32".into()
            }
        );
        let renamed = modified(&|v| set_field(v, "key_weight", 1, "name", "wt"));
        let e = compare_action_types(sys(), &renamed, name("regproducer2"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("regproducer2.producer_authority<0>.keys: layout differs"),
            "{e}"
        );
        assert!(
            e.contains("weight uint16") && e.contains("wt uint16"),
            "{e}"
        );
        // An alias renamed but resolving to the same layout is fine.
        let aliased = modified(&|v| {
            v["types"]
                .as_array_mut()
                .unwrap()
                .push(json!({"new_type_name": "loc_t", "type": "uint16"}));
            set_field(v, "regproducer", 3, "type", "loc_t");
        });
        compare_action_types(sys(), &aliased, name("regproducer")).unwrap();
        let missing = modified(&|v| {
            v["actions"]
                .as_array_mut()
                .unwrap()
                .retain(|a| a["name"] != "regproducer");
        });
        assert!(matches!(
            compare_action_types(sys(), &missing, name("regproducer")),
            Err(AbiError::LayoutMismatch { .. })
        ));
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
