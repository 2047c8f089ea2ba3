//! serde helpers for nodeos JSON.
//!
//! nodeos (fc `json::to_string`) writes 64-bit integers whose magnitude exceeds
//! `0xffffffff`, and *every* double, as JSON strings (`"total_votes":"123.5"`), while small
//! values stay numbers. It also writes `bool` fields of contract tables as `0`/`1`. The
//! helpers here accept every form for every field, so a value that crosses the threshold
//! between two polls does not break parsing. None of them panic on any input.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};

/// An integer as nodeos writes it: a JSON number or a decimal string.
struct IntVisitor<T>(PhantomData<T>);

impl<'de, T> Visitor<'de> for IntVisitor<T>
where
    T: TryFrom<i128>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "an integer (number or decimal string) that fits {}",
            std::any::type_name::<T>()
        )
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(i128::from(v)).map_err(|_| E::custom(format!("{v} is out of range")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::try_from(i128::from(v)).map_err(|_| E::custom(format!("{v} is out of range")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Err(E::custom(format!("{v} is not an integer")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        let n: i128 = v
            .trim()
            .parse()
            .map_err(|_| E::custom(format!("{:?} is not an integer", truncate(v))))?;
        T::try_from(n).map_err(|_| E::custom(format!("{n} is out of range")))
    }
}

/// A double as nodeos writes it: a JSON number or a string (also `"inf"`/`"nan"`, which fc
/// can emit; those are rejected).
struct FloatVisitor;

impl Visitor<'_> for FloatVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number (JSON number or decimal string)")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        let n: f64 = v
            .trim()
            .parse()
            .map_err(|_| E::custom(format!("{:?} is not a number", truncate(v))))?;
        if n.is_finite() {
            Ok(n)
        } else {
            Err(E::custom(format!(
                "{:?} is not a finite number",
                truncate(v)
            )))
        }
    }
}

/// A bool as contract tables write it: `true`/`false`, `0`/`1`, or `"0"`/`"1"`.
struct BoolVisitor;

impl Visitor<'_> for BoolVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a boolean (true/false or 0/1)")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::custom(format!("{v} is not a boolean (0 or 1)"))),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::custom(format!("{v} is not a boolean (0 or 1)"))),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.trim() {
            "0" | "false" => Ok(false),
            "1" | "true" => Ok(true),
            _ => Err(E::custom(format!("{:?} is not a boolean", truncate(v)))),
        }
    }
}

pub(crate) fn truncate(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

macro_rules! int_fns {
    ($($name:ident, $opt:ident: $ty:ty;)*) => {$(
        /// Deserializes this integer type from a JSON number or decimal string.
        pub fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            d.deserialize_any(IntVisitor::<$ty>(PhantomData))
        }

        /// As the non-optional helper; `null` or a missing field (with `#[serde(default)]`)
        /// gives `None`.
        pub fn $opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$ty>, D::Error> {
            struct Opt;
            impl<'de> Visitor<'de> for Opt {
                type Value = Option<$ty>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an integer or null")
                }
                fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                    Ok(None)
                }
                fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                    Ok(None)
                }
                fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                    $name(d).map(Some)
                }
            }
            d.deserialize_option(Opt)
        }
    )*};
}

int_fns! {
    u16, opt_u16: u16;
    u32, opt_u32: u32;
    u64, opt_u64: u64;
    i64, opt_i64: i64;
}

/// Deserializes a double from a JSON number or string.
pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(FloatVisitor)
}

/// Deserializes a bool from `true`/`false`/`0`/`1`.
pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(BoolVisitor)
}

/// `more` in `get_table_rows` is a bool; in `get_producers` it is a string holding the next
/// lower bound (empty when done). Both map to "there are more rows".
pub(crate) fn more_flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct More;
    impl Visitor<'_> for More {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a boolean or a string")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            Ok(!v.is_empty())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
            Ok(v != 0)
        }
        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
    }
    d.deserialize_any(More)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct T {
        #[serde(deserialize_with = "super::u64")]
        a: u64,
        #[serde(deserialize_with = "super::u32")]
        b: u32,
        #[serde(deserialize_with = "super::f64")]
        c: f64,
        #[serde(deserialize_with = "super::bool")]
        d: bool,
        #[serde(default, deserialize_with = "super::opt_u32")]
        e: Option<u32>,
    }

    #[test]
    fn numbers_and_strings_are_both_accepted() {
        let t: T =
            serde_json::from_str(r#"{"a":"46438068615642343","b":7,"c":"1.5e3","d":1,"e":null}"#)
                .unwrap();
        assert_eq!(t.a, 46_438_068_615_642_343);
        assert_eq!(t.b, 7);
        assert_eq!(t.c, 1500.0);
        assert!(t.d);
        assert_eq!(t.e, None);
        let t: T =
            serde_json::from_str(r#"{"a":5,"b":"4294967295","c":2,"d":false,"e":"9"}"#).unwrap();
        assert_eq!(
            (t.a, t.b, t.c, t.d, t.e),
            (5, u32::MAX, 2.0, false, Some(9))
        );
        let t: T = serde_json::from_str(r#"{"a":5,"b":1,"c":2.25,"d":"0"}"#).unwrap();
        assert_eq!((t.c, t.d, t.e), (2.25, false, None));
    }

    #[test]
    fn out_of_range_and_garbage_are_errors() {
        for bad in [
            r#"{"a":-1,"b":1,"c":1,"d":1}"#,
            r#"{"a":1,"b":"4294967296","c":1,"d":1}"#,
            r#"{"a":1,"b":1.5,"c":1,"d":1}"#,
            r#"{"a":"x","b":1,"c":1,"d":1}"#,
            r#"{"a":1,"b":1,"c":"nan","d":1}"#,
            r#"{"a":1,"b":1,"c":"inf","d":1}"#,
            r#"{"a":1,"b":1,"c":1,"d":2}"#,
            r#"{"a":1,"b":1,"c":1,"d":"yes"}"#,
            r#"{"a":[],"b":1,"c":1,"d":1}"#,
        ] {
            assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
        }
    }
}
