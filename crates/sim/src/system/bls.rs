//! Finalizer keys as opaque `PUB_BLS_…` text: deterministic fake keys and the 96 bytes
//! stored for a key (unpadded base64url, as Spring prints them). No BLS math.

/// The 96 "binary" bytes the simulator stores for a finalizer key: decoded from the
/// base64url text when it is our own format, else a hash stand-in.
pub(super) fn bls_binary(key: &str) -> Vec<u8> {
    let body = key.strip_prefix("PUB_BLS_").unwrap_or(key);
    base64url_decode(body).unwrap_or_else(|| {
        let mut out = Vec::with_capacity(96);
        let mut h = antelope::Checksum256::hash(body.as_bytes());
        while out.len() < 96 {
            out.extend_from_slice(&h.0);
            h = antelope::Checksum256::hash(&h.0);
        }
        out.truncate(96);
        out
    })
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url, as Spring prints BLS keys.
pub(crate) fn base64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(B64URL[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for c in text.bytes() {
        let v = B64URL.iter().position(|&x| x == c)? as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    (out.len() == 96).then_some(out)
}

/// A deterministic, syntactically plausible `PUB_BLS_…` key derived from `seed`.
pub fn fake_bls_key(seed: &str) -> String {
    let mut bytes = Vec::with_capacity(96);
    let mut h = antelope::Checksum256::hash(seed.as_bytes());
    while bytes.len() < 96 {
        bytes.extend_from_slice(&h.0);
        h = antelope::Checksum256::hash(&h.0);
    }
    bytes.truncate(96);
    format!("PUB_BLS_{}", base64url_encode(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_96_bytes() {
        let key = fake_bls_key("x");
        assert!(key.starts_with("PUB_BLS_"));
        let bin = bls_binary(&key);
        assert_eq!(bin.len(), 96);
        assert_eq!(
            format!("PUB_BLS_{}", base64url_encode(&bin)),
            key,
            "decode inverts encode"
        );
    }
}
