//! Binary → JSON.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::bytes::{DecodeError, Reader, Unpack};
use crate::keys::PublicKey;
use crate::name::Name;
use crate::signature::Signature;
use crate::time::{BlockTimestamp, TimePoint, TimePointSec};

use super::*;

impl Abi {
    pub(super) fn decode(&self, ty: &Ty, root: &str, bytes: &[u8]) -> Result<Value, AbiError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::test_support::*;
    use serde_json::json;

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
}
