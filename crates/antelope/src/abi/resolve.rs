//! Building an [`Abi`]: aliases followed, bases put first, every named type checked.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use crate::name::Name;

use super::*;

enum Suffix {
    Vector,
    Optional,
    Array(u32),
}

/// Peels `[]`, `?` and `[N]` suffixes from the right and resolves the base name with `base`.
pub(super) fn resolve_expr<'e>(
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

pub(super) struct Built {
    pub(super) zero_size: Vec<bool>,
    pub(super) structs: Vec<StructInfo>,
    pub(super) variants: Vec<VariantInfo>,
    pub(super) named: HashMap<String, Ty>,
    pub(super) actions: BTreeMap<Name, Entry>,
    pub(super) tables: BTreeMap<Name, Entry>,
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

pub(super) fn ty_zero_size(ty: &Ty, zero_structs: &[bool]) -> bool {
    match ty {
        Ty::Builtin(_) | Ty::Optional(_) | Ty::Vector(_) | Ty::Variant(_) => false,
        Ty::Array(inner, n) => *n == 0 || ty_zero_size(inner, zero_structs),
        Ty::Struct(i) => zero_structs[*i],
    }
}

pub(super) fn build(def: &AbiDef) -> Result<Built, AbiError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::test_support::*;
    use serde_json::json;

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
        let response = include_str!("../../../../fixtures/jungle4_get_abi_eosio_2023.json");
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
}
