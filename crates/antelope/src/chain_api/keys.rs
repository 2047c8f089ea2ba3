//! Keys, block-signing authorities and producer schedules, as nodes report them.

use super::*;

/// A public key as a node reports it: K1 (parsed, compared by bytes) or another curve
/// (kept as text, never equal to a K1 key).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum AnyKey {
    K1(PublicKey),
    Other(String),
}

impl AnyKey {
    pub fn as_k1(&self) -> Option<&PublicKey> {
        match self {
            AnyKey::K1(k) => Some(k),
            AnyKey::Other(_) => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, AnyKey::K1(k) if k.is_null())
    }
}

impl PartialEq<PublicKey> for AnyKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.as_k1() == Some(other)
    }
}

impl FromStr for AnyKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.starts_with("EOS") || s.starts_with("PUB_K1_") {
            s.parse::<PublicKey>()
                .map(AnyKey::K1)
                .map_err(|e| e.to_string())
        } else if s.starts_with("PUB_") && s.len() <= 512 && s.is_ascii() {
            Ok(AnyKey::Other(s.to_string()))
        } else {
            Err(format!("{:?} is not a public key", json::truncate(s)))
        }
    }
}

impl fmt::Display for AnyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyKey::K1(k) => write!(f, "{k}"),
            AnyKey::Other(s) => f.write_str(s),
        }
    }
}

impl fmt::Debug for AnyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AnyKey({self})")
    }
}

impl Serialize for AnyKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AnyKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyWeight {
    pub key: AnyKey,
    #[serde(deserialize_with = "json::u16")]
    pub weight: u16,
}

/// `block_signing_authority_v0`: the keys a producer's blocks may be signed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockSigningAuthority {
    pub threshold: u32,
    pub keys: Vec<KeyWeight>,
}

impl BlockSigningAuthority {
    /// The authority `regproducer` builds from one key.
    pub fn single(key: AnyKey) -> Self {
        BlockSigningAuthority {
            threshold: 1,
            keys: vec![KeyWeight { key, weight: 1 }],
        }
    }

    /// The one signing key, when the authority is a plain single-key authority that key
    /// alone satisfies (the only form `regproducer` writes).
    pub fn single_key(&self) -> Option<&AnyKey> {
        match self.keys.as_slice() {
            [kw] if self.threshold > 0 && u32::from(kw.weight) >= self.threshold => Some(&kw.key),
            _ => None,
        }
    }

    /// True when `key` alone satisfies the authority.
    pub fn satisfied_by(&self, key: &PublicKey) -> bool {
        self.threshold > 0
            && self
                .keys
                .iter()
                .any(|kw| kw.key == *key && u32::from(kw.weight) >= self.threshold)
    }
}

#[derive(Deserialize)]
struct AuthorityV0 {
    #[serde(deserialize_with = "json::u32")]
    threshold: u32,
    keys: Vec<KeyWeight>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum VariantTag {
    Index(u64),
    Name(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawAuthority {
    /// `[0, {…}]` (fc variant, by index) or `["block_signing_authority_v0", {…}]` (ABI).
    Tagged(VariantTag, AuthorityV0),
    /// `{threshold, keys}` without a tag (lenient).
    Bare(AuthorityV0),
}

impl<'de> Deserialize<'de> for BlockSigningAuthority {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawAuthority::deserialize(d).map_err(|_| {
            de::Error::custom(
                "expected a block signing authority: [0, {threshold, keys}] or \
                 [\"block_signing_authority_v0\", {threshold, keys}]",
            )
        })?;
        let v0 = match raw {
            RawAuthority::Tagged(VariantTag::Index(0), v0) => v0,
            RawAuthority::Tagged(VariantTag::Name(n), v0) if n == "block_signing_authority_v0" => {
                v0
            }
            RawAuthority::Tagged(_, _) => {
                return Err(de::Error::custom(
                    "unknown block signing authority variant (only v0 is known)",
                ))
            }
            RawAuthority::Bare(v0) => v0,
        };
        Ok(BlockSigningAuthority {
            threshold: v0.threshold,
            keys: v0.keys,
        })
    }
}

/// One producer in a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProducerAuthority {
    pub producer_name: Name,
    pub authority: BlockSigningAuthority,
}

#[derive(Deserialize)]
struct RawProducerAuthority {
    producer_name: Name,
    #[serde(default)]
    authority: Option<BlockSigningAuthority>,
    /// EOSIO < 2.0 schedules and legacy block headers (`new_producers`).
    #[serde(default)]
    block_signing_key: Option<AnyKey>,
    #[serde(default)]
    producer_key: Option<AnyKey>,
}

impl<'de> Deserialize<'de> for ProducerAuthority {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawProducerAuthority::deserialize(d)?;
        let authority = match (raw.authority, raw.block_signing_key.or(raw.producer_key)) {
            (Some(a), _) => a,
            (None, Some(k)) => BlockSigningAuthority::single(k),
            (None, None) => {
                return Err(de::Error::custom(format!(
                    "schedule entry for {} has neither `authority` nor `block_signing_key`",
                    raw.producer_name
                )))
            }
        };
        Ok(ProducerAuthority {
            producer_name: raw.producer_name,
            authority,
        })
    }
}

/// A producer schedule (`{version, producers}`), in schedule order (never re-sort it: slot
/// assignment follows this order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerSchedule {
    #[serde(deserialize_with = "json::u32")]
    pub version: u32,
    pub producers: Vec<ProducerAuthority>,
}

impl ProducerSchedule {
    /// 0-based position of `producer` in the schedule.
    pub fn position(&self, producer: Name) -> Option<usize> {
        self.producers
            .iter()
            .position(|p| p.producer_name == producer)
    }

    pub fn get(&self, producer: Name) -> Option<&ProducerAuthority> {
        self.producers.iter().find(|p| p.producer_name == producer)
    }
}

/// `get_producer_schedule`. `active` is always set by real nodes; `pending`/`proposed` are
/// `null` unless a change is in flight (under Savanna `proposed` is always null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerScheduleResponse {
    #[serde(default)]
    pub active: Option<ProducerSchedule>,
    #[serde(default)]
    pub pending: Option<ProducerSchedule>,
    #[serde(default)]
    pub proposed: Option<ProducerSchedule>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_key_compares_with_public_key_by_bytes() {
        let k1 = "EOS6XXTaRpWhPwnb7CTV9zVsCBrvCpYMMPSk8E8hsJxhf6VFW9DYN";
        let pk: PublicKey = k1.parse().unwrap();
        let any: AnyKey = pk.to_k1_string().parse().unwrap();
        assert_eq!(any, pk);
        let r1: AnyKey = "PUB_R1_6FPFZqw5ahYrR9jD96yDbbDNTdKtNqRbze6oTDLntrsANgQKZu"
            .parse()
            .unwrap();
        assert!(r1 != pk && r1.as_k1().is_none());
        assert!("EOS6XXTaRpWhPwnb7CTV9zVsCBrvCpYMMPSk8E8hsJxhf6VFW9DYM"
            .parse::<AnyKey>()
            .is_err());
        assert!("hello".parse::<AnyKey>().is_err());
    }

    #[test]
    fn authority_accepts_index_name_and_bare_forms() {
        let key = "EOS6XXTaRpWhPwnb7CTV9zVsCBrvCpYMMPSk8E8hsJxhf6VFW9DYN";
        for text in [
            format!(r#"[0,{{"threshold":1,"keys":[{{"key":"{key}","weight":1}}]}}]"#),
            format!(
                r#"["block_signing_authority_v0",{{"threshold":"1","keys":[{{"key":"{key}","weight":"1"}}]}}]"#
            ),
            format!(r#"{{"threshold":1,"keys":[{{"key":"{key}","weight":1}}]}}"#),
        ] {
            let a: BlockSigningAuthority = serde_json::from_str(&text).unwrap();
            assert_eq!(
                a.single_key().unwrap().to_string(),
                key.parse::<PublicKey>().unwrap().to_string()
            );
        }
        assert!(serde_json::from_str::<BlockSigningAuthority>(&format!(
            r#"[1,{{"threshold":1,"keys":[{{"key":"{key}","weight":1}}]}}]"#
        ))
        .is_err());
        // Two keys, threshold 2: no single key.
        let a: BlockSigningAuthority = serde_json::from_str(&format!(
            r#"[0,{{"threshold":2,"keys":[{{"key":"{key}","weight":1}},{{"key":"{key}","weight":1}}]}}]"#
        ))
        .unwrap();
        assert!(a.single_key().is_none());
    }
}
