//! JSON → binary.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::str::FromStr;

use serde_json::Value;

use crate::bytes::{Pack, Writer};
use crate::keys::PublicKey;
use crate::name::Name;
use crate::signature::Signature;
use crate::time::{BlockTimestamp, TimePoint, TimePointSec};

use super::*;

impl Abi {
    pub(super) fn encode(&self, ty: &Ty, root: &str, value: &Value) -> Result<Vec<u8>, AbiError> {
        let mut enc = Encoder {
            abi: self,
            out: Writer::new(),
            path: root.to_string(),
            depth: 0,
        };
        enc.value(ty, value, true)?;
        Ok(enc.out.into_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::test_support::*;
    use serde_json::json;

    // ---- rejections ----------------------------------------------------------------------
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
}
