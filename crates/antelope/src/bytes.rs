//! Antelope binary encoding (`fc::raw`): little-endian integers, LEB128 `varuint32`,
//! length-prefixed strings and byte arrays.
//!
//! [`Writer`] never fails. [`Reader`] works over untrusted bytes: every read checks the
//! remaining length first, so truncated or oversized input is an error, never a panic.

use thiserror::Error;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error(
        "input truncated: needed {needed} more bytes at offset {offset}, only {remaining} left"
    )]
    Truncated {
        needed: usize,
        offset: usize,
        remaining: usize,
    },
    #[error("varuint32 at offset {offset} is longer than 5 bytes or exceeds u32")]
    VarintOverflow { offset: usize },
    #[error("length {len} at offset {offset} exceeds the {remaining} bytes left")]
    LengthTooLarge {
        len: u64,
        offset: usize,
        remaining: usize,
    },
    #[error("string at offset {offset} is not valid UTF-8")]
    InvalidUtf8 { offset: usize },
    #[error("{count} trailing bytes after the end of the value")]
    TrailingBytes { count: usize },
    #[error("invalid {what} at offset {offset}: {detail}")]
    Invalid {
        what: &'static str,
        offset: usize,
        detail: String,
    },
}

/// Append-only encoder.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    pub fn u16(&mut self, v: u16) {
        self.raw(&v.to_le_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.raw(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.raw(&v.to_le_bytes());
    }

    pub(crate) fn u128(&mut self, v: u128) {
        self.raw(&v.to_le_bytes());
    }

    pub(crate) fn i8(&mut self, v: i8) {
        self.raw(&v.to_le_bytes());
    }

    pub(crate) fn i16(&mut self, v: i16) {
        self.raw(&v.to_le_bytes());
    }

    pub fn i32(&mut self, v: i32) {
        self.raw(&v.to_le_bytes());
    }

    pub fn i64(&mut self, v: i64) {
        self.raw(&v.to_le_bytes());
    }

    pub(crate) fn i128(&mut self, v: i128) {
        self.raw(&v.to_le_bytes());
    }

    pub(crate) fn f32(&mut self, v: f32) {
        self.raw(&v.to_le_bytes());
    }

    pub fn f64(&mut self, v: f64) {
        self.raw(&v.to_le_bytes());
    }

    /// LEB128, least-significant group first, at most 5 bytes.
    pub(crate) fn varuint32(&mut self, mut v: u32) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(byte);
                return;
            }
            self.buf.push(byte | 0x80);
        }
    }

    /// Zig-zag encoded `varint32` (`fc::signed_int`).
    pub(crate) fn varint32(&mut self, v: i32) {
        self.varuint32(((v << 1) ^ (v >> 31)) as u32);
    }

    /// A length prefix. Lengths above `u32::MAX` cannot be encoded; callers only pass
    /// in-memory buffers, which this crate never builds that large.
    pub(crate) fn len_prefix(&mut self, len: usize) {
        let len = u32::try_from(len).expect("collection longer than u32::MAX elements");
        self.varuint32(len);
    }

    pub fn bytes(&mut self, v: &[u8]) {
        self.len_prefix(v.len());
        self.raw(v);
    }

    pub fn string(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
}

/// Bounds-checked decoder over a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

macro_rules! read_le {
    ($($name:ident: $ty:ty),* $(,)?) => {
        $(
            pub fn $name(&mut self) -> Result<$ty, DecodeError> {
                let bytes = self.array::<{ std::mem::size_of::<$ty>() }>()?;
                Ok(<$ty>::from_le_bytes(bytes))
            }
        )*
    };
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Current offset from the start of the input.
    pub fn offset(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Succeeds only if every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { count }),
        }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated {
                needed: n,
                offset: self.pos,
                remaining: self.remaining(),
            });
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    read_le!(
        u8: u8, u16: u16, u32: u32, u64: u64, u128: u128,
        i8: i8, i16: i16, i32: i32, i64: i64, i128: i128,
        f32: f32, f64: f64,
    );

    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        let offset = self.pos;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DecodeError::Invalid {
                what: "bool",
                offset,
                detail: format!("byte {other:#04x} is neither 0 nor 1"),
            }),
        }
    }

    pub(crate) fn varuint32(&mut self) -> Result<u32, DecodeError> {
        let offset = self.pos;
        let mut value: u64 = 0;
        for i in 0..5 {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return u32::try_from(value).map_err(|_| DecodeError::VarintOverflow { offset });
            }
        }
        Err(DecodeError::VarintOverflow { offset })
    }

    pub(crate) fn varint32(&mut self) -> Result<i32, DecodeError> {
        let v = self.varuint32()?;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// A length prefix for `elem_min_size`-byte (or larger) elements; rejects lengths that
    /// cannot fit in what is left, so a hostile prefix cannot make us allocate.
    pub(crate) fn len_prefix(&mut self, elem_min_size: usize) -> Result<usize, DecodeError> {
        let offset = self.pos;
        let len = self.varuint32()? as usize;
        if len.saturating_mul(elem_min_size.max(1)) > self.remaining() {
            return Err(DecodeError::LengthTooLarge {
                len: len as u64,
                offset,
                remaining: self.remaining(),
            });
        }
        Ok(len)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.len_prefix(1)?;
        self.take(len)
    }

    pub fn string(&mut self) -> Result<String, DecodeError> {
        let offset = self.pos;
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::InvalidUtf8 { offset })
    }
}

/// A type with a fixed Antelope binary encoding.
pub trait Pack {
    fn pack(&self, w: &mut Writer);

    fn packed(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.pack(&mut w);
        w.into_bytes()
    }
}

/// A type that decodes from its Antelope binary encoding.
pub trait Unpack: Sized {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a whole buffer; trailing bytes are an error.
    fn unpack_all(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::unpack(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

impl<T: Pack> Pack for Vec<T> {
    fn pack(&self, w: &mut Writer) {
        w.len_prefix(self.len());
        for item in self {
            item.pack(w);
        }
    }
}

impl<T: Unpack> Unpack for Vec<T> {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = r.len_prefix(1)?;
        (0..len).map(|_| T::unpack(r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(include_str!(
            "../../../fixtures/vector_encodings_and_slot_math.json"
        ))
        .unwrap()
    }

    #[test]
    fn varuint32_matches_vectors() {
        let v = vectors();
        let cases = v["varuint32"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let value = case["value"].as_u64().unwrap() as u32;
            let expected = hex::decode(case["hex"].as_str().unwrap()).unwrap();
            let mut w = Writer::new();
            w.varuint32(value);
            assert_eq!(w.as_slice(), expected.as_slice(), "encode {value}");
            let mut r = Reader::new(&expected);
            assert_eq!(r.varuint32().unwrap(), value);
            r.finish().unwrap();
        }
    }

    #[test]
    fn varuint32_rejects_overlong_and_overflow() {
        // Six bytes with continuation bits.
        let mut r = Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
        assert!(matches!(
            r.varuint32(),
            Err(DecodeError::VarintOverflow { .. })
        ));
        // Five bytes whose value exceeds u32.
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x1f]);
        assert!(matches!(
            r.varuint32(),
            Err(DecodeError::VarintOverflow { .. })
        ));
        // Truncated in the middle.
        let mut r = Reader::new(&[0x80, 0x80]);
        assert!(matches!(r.varuint32(), Err(DecodeError::Truncated { .. })));
    }

    #[test]
    fn truncated_reads_are_errors() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(
            r.u32(),
            Err(DecodeError::Truncated {
                needed: 4,
                offset: 0,
                remaining: 3
            })
        );
        assert_eq!(r.u16().unwrap(), 0x0201);
        assert!(r.u16().is_err());
        assert_eq!(r.u8().unwrap(), 3);
        assert!(r.u8().is_err());
    }

    #[test]
    fn hostile_length_prefix_does_not_allocate() {
        // Claims 0xffffffff bytes follow.
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
        assert!(matches!(r.bytes(), Err(DecodeError::LengthTooLarge { .. })));
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(matches!(
            Vec::<u8>::unpack(&mut r),
            Err(DecodeError::LengthTooLarge { .. })
        ));
    }

    #[test]
    fn bool_and_utf8_are_validated() {
        assert!(Reader::new(&[2]).bool().is_err());
        assert!(Reader::new(&[1]).bool().unwrap());
        assert!(matches!(
            Reader::new(&[2, 0xc3, 0x28]).string(),
            Err(DecodeError::InvalidUtf8 { .. })
        ));
    }

    #[test]
    fn trailing_bytes_are_reported() {
        assert_eq!(
            u8::unpack_all(&[1, 2]),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
    }

    impl Pack for u8 {
        fn pack(&self, w: &mut Writer) {
            w.u8(*self)
        }
    }
    impl Unpack for u8 {
        fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
            r.u8()
        }
    }

    proptest! {
        #[test]
        fn varuint32_round_trips(v: u32) {
            let mut w = Writer::new();
            w.varuint32(v);
            prop_assert!(w.len() <= 5);
            let mut r = Reader::new(w.as_slice());
            prop_assert_eq!(r.varuint32().unwrap(), v);
            prop_assert!(r.finish().is_ok());
        }

        #[test]
        fn varint32_round_trips(v: i32) {
            let mut w = Writer::new();
            w.varint32(v);
            prop_assert_eq!(Reader::new(w.as_slice()).varint32().unwrap(), v);
        }

        #[test]
        fn strings_round_trip(s in ".*") {
            let mut w = Writer::new();
            w.string(&s);
            let bytes = w.into_bytes();
            prop_assert_eq!(Reader::new(&bytes).string().unwrap(), s);
            // Every strict prefix is rejected, never a panic.
            for cut in 0..bytes.len() {
                prop_assert!(Reader::new(&bytes[..cut]).string().is_err());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(data: Vec<u8>) {
            let mut r = Reader::new(&data);
            let _ = r.string();
            let mut r = Reader::new(&data);
            let _ = Vec::<u8>::unpack(&mut r);
            let mut r = Reader::new(&data);
            let _ = (r.varuint32(), r.u64(), r.bool());
        }
    }
}
