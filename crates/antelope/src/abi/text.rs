//! Text forms: how nodeos prints and parses integers, times, symbols and assets.

use std::str::FromStr;

use chrono::DateTime;
use serde_json::Value;

use crate::time::TimePoint;

use super::*;

// ---------------------------------------------------------------------------------------------
// Text forms
// ---------------------------------------------------------------------------------------------

/// nodeos prints 64-bit integers as JSON strings once `|v| > 0xffffffff` (fc `json.cpp`).
pub(super) fn int64_json(v: i128) -> Value {
    if v.unsigned_abs() > 0xffff_ffff {
        Value::String(v.to_string())
    } else {
        Value::from(v as i64)
    }
}

/// `2024-01-02T03:04:05.500` like nodeos; with six fraction digits when the value is not a
/// whole millisecond (nodeos would drop them). `None` if the result would not parse back.
pub(super) fn format_time_point(us: i64) -> Option<String> {
    let t = DateTime::from_timestamp_micros(us)?;
    let format = if us.rem_euclid(1000) == 0 {
        "%Y-%m-%dT%H:%M:%S%.3f"
    } else {
        "%Y-%m-%dT%H:%M:%S%.6f"
    };
    let text = t.format(format).to_string();
    (TimePoint::from_str(&text).ok()? == TimePoint(us)).then_some(text)
}

pub(super) fn parse_symbol_code(text: &str) -> Result<u64, String> {
    if text.is_empty() || text.len() > 7 || !text.bytes().all(|c| c.is_ascii_uppercase()) {
        return Err("a symbol code is 1 to 7 uppercase letters A-Z".to_string());
    }
    Ok(text
        .bytes()
        .enumerate()
        .fold(0u64, |acc, (i, c)| acc | u64::from(c) << (8 * i)))
}

pub(super) fn symbol_code_text(code: u64) -> Result<String, String> {
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

pub(super) fn parse_symbol(text: &str) -> Result<u64, String> {
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

pub(super) fn symbol_text(sym: u64) -> Result<String, String> {
    let precision = (sym & 0xff) as u8;
    if precision > MAX_PRECISION {
        return Err(format!("precision {precision} exceeds {MAX_PRECISION}"));
    }
    Ok(format!("{precision},{}", symbol_code_text(sym >> 8)?))
}

/// nodeos `asset::from_string`: the precision is the number of digits after the point.
pub(super) fn parse_asset(text: &str) -> Result<(i64, u64), String> {
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

pub(super) fn asset_text(amount: i64, sym: u64) -> Result<String, String> {
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

pub(super) fn is_decimal_integer(text: &str) -> bool {
    let digits = text
        .strip_prefix('-')
        .or_else(|| text.strip_prefix('+'))
        .unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
}

/// Caps echoed input in error messages.
pub(super) fn truncate(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

pub(super) fn describe_json(v: &Value) -> String {
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
    use crate::abi::test_support::*;
    use serde_json::json;

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
}
