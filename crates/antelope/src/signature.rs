//! K1 signatures: `SIG_K1_…` text, canonical signing, and public key recovery.
//!
//! nodeos still refuses signatures that are not *canonical* (fc `is_canonical`): r and s
//! must each be below 2^255 and carry no leading zero byte unless the next byte's high
//! bit is set. [`sign_digest`] reproduces fc/keosd exactly: RFC 6979 (HMAC-SHA256, no
//! extra data), taking the (counter+1)-th generator output as the nonce, counter starting
//! at 1 and rising until the signature is canonical. Any canonical signature is valid;
//! matching keosd byte for byte makes the output reproducible and testable against real
//! signed transactions.

use std::fmt;
use std::str::FromStr;

use k256::ecdsa::hazmat::SignPrimitive;
use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, VerifyingKey};
use k256::elliptic_curve::PrimeField;
use k256::{FieldBytes, Scalar};
use rfc6979::HmacDrbg;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::bytes::{DecodeError, Pack, Reader, Unpack, Writer};
use super::keys::{decode_ripemd, encode_ripemd, KeyError, PrivateKey, PublicKey};

/// A 65-byte compact K1 signature: `header ‖ r ‖ s`, header = 27 + 4 + recovery id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 65]);

impl Signature {
    pub fn from_bytes(bytes: [u8; 65]) -> Self {
        Signature(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 65] {
        &self.0
    }

    /// fc's `is_canonical`, the rule nodeos enforces on every signature it recovers.
    pub fn is_canonical(&self) -> bool {
        let c = &self.0;
        c[1] & 0x80 == 0
            && !(c[1] == 0 && c[2] & 0x80 == 0)
            && c[33] & 0x80 == 0
            && !(c[33] == 0 && c[34] & 0x80 == 0)
    }

    /// Recovers the signer's public key from a sha256 digest, as nodeos does (it accepts
    /// header bytes 27..=34 and uses `(header - 27) & 3` as the recovery id).
    pub fn recover(&self, digest: &[u8; 32]) -> Result<PublicKey, RecoverError> {
        let header = self.0[0];
        if !(27..=34).contains(&header) {
            return Err(RecoverError::Header(header));
        }
        if !self.is_canonical() {
            return Err(RecoverError::NotCanonical);
        }
        let recid = (header - 27) & 3;
        let sig = EcdsaSignature::from_slice(&self.0[1..]).map_err(|_| RecoverError::Invalid)?;
        // libsecp256k1 recovery accepts high-S; k256 does not, so normalise first
        // (negating s flips the parity of the recovered R).
        let (sig, recid) = match sig.normalize_s() {
            Some(low) => (low, recid ^ 1),
            None => (sig, recid),
        };
        let recid = RecoveryId::from_byte(recid).ok_or(RecoverError::Invalid)?;
        let vk = VerifyingKey::recover_from_prehash(digest, &sig, recid)
            .map_err(|_| RecoverError::Invalid)?;
        Ok(PublicKey::from_verifying_key(&vk))
    }
}

/// Why a signature does not yield a public key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoverError {
    #[error("signature header byte {0} is outside 27..=34")]
    Header(u8),
    #[error("signature is not canonical (nodeos rejects it: \"is_canonical( c ): signature is not canonical\")")]
    NotCanonical,
    #[error("signature does not recover to a public key for this digest")]
    Invalid,
}

/// Signs a sha256 digest the way fc/keosd does, so the result is deterministic and
/// canonical.
pub fn sign_digest(key: &PrivateKey, digest: &[u8; 32]) -> Signature {
    let secret = Zeroizing::new(key.signing_key().to_bytes());
    let scalar = key.signing_key().as_nonzero_scalar();
    let z = FieldBytes::from(*digest);
    for counter in 1u32.. {
        let mut drbg = HmacDrbg::<Sha256>::new(&secret, digest, &[]);
        let mut k_bytes = Zeroizing::new([0u8; 32]);
        for _ in 0..=counter {
            drbg.fill_bytes(&mut k_bytes[..]);
        }
        let k: Option<Scalar> = Scalar::from_repr((*k_bytes).into()).into();
        let Some(k) = k else { continue };
        if bool::from(k.is_zero()) {
            continue;
        }
        let Ok((sig, Some(recid))) = scalar.try_sign_prehashed(k, &z) else {
            continue;
        };
        let mut out = [0u8; 65];
        out[0] = 27 + 4 + recid.to_byte();
        out[1..].copy_from_slice(&sig.to_bytes());
        let sig = Signature(out);
        if sig.is_canonical() {
            return sig;
        }
    }
    unreachable!("a canonical signature is found with overwhelming probability within a few tries")
}

impl FromStr for Signature {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const WHAT: &str = "signature";
        let s = s.trim();
        if s.starts_with("SIG_R1_") {
            return Err(KeyError::UnsupportedCurve {
                what: WHAT,
                curve: "R1 (secp256r1)",
            });
        }
        if s.starts_with("SIG_WA_") {
            return Err(KeyError::UnsupportedCurve {
                what: WHAT,
                curve: "WebAuthn",
            });
        }
        let Some(rest) = s.strip_prefix("SIG_K1_") else {
            return Err(KeyError::Format {
                what: WHAT,
                expected: "SIG_K1_…",
            });
        };
        let bytes = decode_ripemd::<65>(rest, b"K1", WHAT)?;
        Ok(Signature(*bytes))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIG_K1_{}", encode_ripemd(&self.0, b"K1"))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl Pack for Signature {
    fn pack(&self, w: &mut Writer) {
        w.varuint32(0);
        w.raw(&self.0);
    }
}

impl Unpack for Signature {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = r.offset();
        match r.varuint32()? {
            0 => Ok(Signature(r.array::<65>()?)),
            other => Err(DecodeError::Invalid {
                what: "signature",
                offset,
                detail: format!("signature type {other} (only K1 = 0 is supported)"),
            }),
        }
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn hex32(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn reproduces_real_keosd_signatures_byte_for_byte() {
        let v: Value = serde_json::from_str(include_str!(
            "../../../fixtures/vector_tx_regproducer_yosemite_2018.json"
        ))
        .unwrap();
        let digest = hex32(v["derived"]["signing_digest"].as_str().unwrap());
        let sigs = v["derived"]["signatures"].as_array().unwrap();
        assert_eq!(sigs.len(), 2);
        for s in sigs {
            let key = PrivateKey::parse(s["signer_private_key_wif"].as_str().unwrap()).unwrap();
            let expected: Signature = s["signature"].as_str().unwrap().parse().unwrap();
            assert_eq!(
                hex::encode(expected.as_bytes()),
                s["signature_hex_65"].as_str().unwrap()
            );
            let ours = sign_digest(&key, &digest);
            assert_eq!(ours, expected);
            assert_eq!(ours.to_string(), s["signature"].as_str().unwrap());
            let recovered = ours.recover(&digest).unwrap();
            assert_eq!(
                recovered.to_legacy_string(),
                s["recovered_public_key_legacy"].as_str().unwrap()
            );
        }
    }

    #[test]
    fn real_mainnet_signatures_recover_to_recorded_keys() {
        let v: Value = serde_json::from_str(include_str!(
            "../../../fixtures/vector_tx_eos_mainnet_from_blocks.json"
        ))
        .unwrap();
        let txs = v["transactions"].as_array().expect("transactions array");
        let mut checked = 0;
        for tx in txs {
            let digest = hex32(tx["derived_signing_digest"].as_str().unwrap());
            let key: PublicKey = tx["derived_recovered_public_key_legacy"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            let sigs = tx["recorded_signatures"].as_array().unwrap();
            let sig: Signature = sigs[0].as_str().unwrap().parse().unwrap();
            assert_eq!(
                sig.is_canonical(),
                tx["derived_signature_is_canonical"].as_bool().unwrap()
            );
            assert_eq!(sig.recover(&digest).unwrap(), key);
            checked += 1;
        }
        assert!(checked >= 13, "checked {checked}");
    }

    #[test]
    fn canonical_rule_matches_fc() {
        let mut b = [0u8; 65];
        b[0] = 31;
        b[1] = 0x01;
        b[33] = 0x01;
        assert!(Signature(b).is_canonical());
        b[1] = 0x80; // r >= 2^255
        assert!(!Signature(b).is_canonical());
        b[1] = 0x00;
        b[2] = 0x7f; // leading zero without the next high bit
        assert!(!Signature(b).is_canonical());
        b[2] = 0x80; // leading zero is fine when the next byte's high bit is set
        assert!(Signature(b).is_canonical());
        b[33] = 0x80; // s >= 2^255
        assert!(!Signature(b).is_canonical());
    }

    #[test]
    fn non_canonical_and_malformed_signatures_are_refused() {
        let mut b = [0u8; 65];
        b[0] = 31;
        b[1] = 0x80;
        assert_eq!(
            Signature(b).recover(&[1; 32]),
            Err(RecoverError::NotCanonical)
        );
        b[0] = 40;
        assert_eq!(
            Signature(b).recover(&[1; 32]),
            Err(RecoverError::Header(40))
        );
        assert!(matches!(
            "SIG_R1_x".parse::<Signature>(),
            Err(KeyError::UnsupportedCurve { .. })
        ));
        assert!(matches!(
            "SIG_K1_abc".parse::<Signature>(),
            Err(KeyError::Length { .. })
        ));
        assert!(matches!(
            "abc".parse::<Signature>(),
            Err(KeyError::Format { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn sign_then_recover_gives_the_signer(secret in any::<[u8; 32]>(), digest in any::<[u8; 32]>()) {
            let Ok(key) = PrivateKey::from_bytes(&secret) else { return Ok(()) };
            let sig = sign_digest(&key, &digest);
            prop_assert!(sig.is_canonical());
            prop_assert!((31..=34).contains(&sig.as_bytes()[0]));
            prop_assert_eq!(sig.recover(&digest).unwrap(), key.public_key());
            // Text round trip.
            let text = sig.to_string();
            prop_assert_eq!(text.parse::<Signature>().unwrap(), sig);
            // A different digest recovers someone else (or nothing).
            let mut other = digest;
            other[0] ^= 1;
            prop_assert_ne!(sig.recover(&other).ok(), Some(key.public_key()));
        }
    }
}
