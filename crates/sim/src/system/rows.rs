//! The `eosio` table rows the simulator keeps (producers, finalizers, finkeys) and the
//! block signing authority of a producer.

use serde_json::{json, Value};

use antelope::{Name, PublicKey, TimePoint};

/// A `block_signing_authority_v0`: threshold and weighted keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Authority {
    pub threshold: u32,
    pub keys: Vec<(PublicKey, u16)>,
}

impl Authority {
    pub fn single(key: PublicKey) -> Self {
        Authority {
            threshold: 1,
            keys: vec![(key, 1)],
        }
    }

    /// The contract's `is_valid`: non-zero threshold reachable by the weights, keys sorted
    /// and unique, no zero weight.
    pub(crate) fn is_valid(&self) -> bool {
        let sum: u64 = self.keys.iter().map(|(_, w)| u64::from(*w)).sum();
        self.threshold > 0
            && sum >= u64::from(self.threshold)
            && self.keys.iter().all(|(_, w)| *w > 0)
            && self.keys.windows(2).all(|p| p[0].0 < p[1].0)
    }

    /// Whether `key` alone can sign for this authority.
    pub fn signable_by(&self, key: &PublicKey) -> bool {
        self.keys
            .iter()
            .any(|(k, w)| k == key && u32::from(*w) >= self.threshold)
    }

    fn keys_json(&self) -> Value {
        Value::Array(
            self.keys
                .iter()
                .map(|(k, w)| json!({"key": k.to_legacy_string(), "weight": w}))
                .collect(),
        )
    }

    /// fc form, as in `get_producer_schedule`: `[0, {threshold, keys}]`.
    pub(crate) fn to_fc_json(&self) -> Value {
        json!([0, {"threshold": self.threshold, "keys": self.keys_json()}])
    }

    /// ABI form: `["block_signing_authority_v0", {threshold, keys}]`.
    pub(crate) fn to_abi_json(&self) -> Value {
        json!(["block_signing_authority_v0", {"threshold": self.threshold, "keys": self.keys_json()}])
    }

    pub(super) fn from_abi_json(v: &Value) -> Option<Self> {
        let body = v.get(1)?;
        let threshold = u32::try_from(body.get("threshold")?.as_u64()?).ok()?;
        let keys = body
            .get("keys")?
            .as_array()?
            .iter()
            .map(|k| {
                let key: PublicKey = k.get("key")?.as_str()?.parse().ok()?;
                let weight = u16::try_from(k.get("weight")?.as_u64()?).ok()?;
                Some((key, weight))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Authority { threshold, keys })
    }
}

/// A row of `eosio/eosio/producers`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerRow {
    pub owner: Name,
    pub total_votes: f64,
    pub producer_key: PublicKey,
    pub is_active: bool,
    pub url: String,
    pub unpaid_blocks: u32,
    pub last_claim_time: TimePoint,
    pub location: u16,
    pub producer_authority: Option<Authority>,
}

impl ProducerRow {
    /// The contract's `get_producer_authority()`: the authority when set with a non-zero
    /// threshold, else the single `producer_key` (None for the null key).
    pub fn signing_authority(&self) -> Option<Authority> {
        match &self.producer_authority {
            Some(a) if a.threshold > 0 => Some(a.clone()),
            _ if self.producer_key.is_null() => None,
            _ => Some(Authority::single(self.producer_key)),
        }
    }

    pub(super) fn abi_value(&self) -> Value {
        let mut v = json!({
            "owner": self.owner,
            "total_votes": self.total_votes,
            "producer_key": self.producer_key.to_legacy_string(),
            "is_active": self.is_active,
            "url": self.url,
            "unpaid_blocks": self.unpaid_blocks,
            "last_claim_time": self.last_claim_time.to_string(),
            "location": self.location,
        });
        if let Some(a) = &self.producer_authority {
            v["producer_authority"] = a.to_abi_json();
        }
        v
    }
}

/// A row of `eosio/eosio/finalizers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FinalizerRow {
    pub finalizer_name: Name,
    pub active_key_id: u64,
    pub active_key_binary: Vec<u8>,
    pub finalizer_key_count: u32,
}

/// A row of `eosio/eosio/finkeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FinKeyRow {
    pub id: u64,
    pub finalizer_name: Name,
    pub finalizer_key: String,
    pub finalizer_key_binary: Vec<u8>,
}
