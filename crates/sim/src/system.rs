//! Contract state the simulator keeps: the `eosio` producers, finalizers and finkeys
//! tables, accounts with their permissions and `linkauth` links, and the system-contract
//! actions the failover bot uses (`regproducer`, `regproducer2`, `actfinkey`).
//!
//! Action semantics follow eos-system-contracts (reference §3): `require_auth(producer)`,
//! `url.size() < 512`, a row overwrite of key, url, location and `producer_authority` that
//! keeps votes and unpaid blocks. Simplifications, on purpose:
//! - `regproducer` only updates producers registered at genesis; an unknown producer is an
//!   `eosio_assert_message_exception` (a real contract would register it).
//! - Authorities have keys and account entries, no waits. The authorization rules are
//!   nodeos' own, from [`failover_core::authority`], over [`Account::to_get_account`].
//! - Finalizer keys are opaque `PUB_BLS_…` strings: no BLS math, no proof of possession.
//! - Any other action is refused with an assertion naming it.
//!
//! Rows are rendered through the bundled ABI (serialize, then deserialize), so their JSON
//! follows nodeos's rules (0/1 booleans, legacy `EOS…` keys, 64-bit numbers as strings);
//! `total_votes` is printed with 17 decimals as fc does.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::error::NodeError;
use antelope::abi::eosio_system_abi;
use antelope::{Action, Name, PermissionLevel, PublicKey, TimePoint};

/// The system contract refuses `url.size() >= 512`.
pub const URL_LIMIT: usize = 512;

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
    pub fn is_valid(&self) -> bool {
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
    pub fn to_fc_json(&self) -> Value {
        json!([0, {"threshold": self.threshold, "keys": self.keys_json()}])
    }

    /// ABI form: `["block_signing_authority_v0", {threshold, keys}]`.
    pub fn to_abi_json(&self) -> Value {
        json!(["block_signing_authority_v0", {"threshold": self.threshold, "keys": self.keys_json()}])
    }

    fn from_abi_json(v: &Value) -> Option<Self> {
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

    fn abi_value(&self) -> Value {
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
pub struct FinalizerRow {
    pub finalizer_name: Name,
    pub active_key_id: u64,
    pub active_key_binary: Vec<u8>,
    pub finalizer_key_count: u32,
}

/// A row of `eosio/eosio/finkeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinKeyRow {
    pub id: u64,
    pub finalizer_name: Name,
    pub finalizer_key: String,
    pub finalizer_key_binary: Vec<u8>,
}

/// One permission of an account: weighted keys and other accounts' permissions (no waits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// Empty for `owner`.
    pub parent: Name,
    pub threshold: u32,
    pub keys: Vec<(PublicKey, u16)>,
    /// `actor@permission` entries with their weights.
    pub accounts: Vec<(PermissionLevel, u16)>,
}

/// An account: permissions and `linkauth` links `(code, action) → permission`, where an
/// empty action name is a whole-contract link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: Name,
    pub created: TimePoint,
    pub privileged: bool,
    pub permissions: BTreeMap<Name, Permission>,
    pub links: BTreeMap<(Name, Name), Name>,
}

impl Account {
    /// An account whose `owner` and `active` hold `key`.
    pub fn with_key(name: Name, key: PublicKey, created: TimePoint) -> Self {
        let mut permissions = BTreeMap::new();
        for (perm, parent) in [
            ("owner", Name::default()),
            ("active", Name::literal("owner")),
        ] {
            permissions.insert(
                Name::literal(perm),
                Permission {
                    parent,
                    threshold: 1,
                    keys: vec![(key, 1)],
                    accounts: Vec::new(),
                },
            );
        }
        Account {
            name,
            created,
            privileged: false,
            permissions,
            links: BTreeMap::new(),
        }
    }

    /// The account's permissions and links as `get_account` reports them, the input of
    /// [`failover_core::authority`] (nodeos' rules, shared with `check` and the dry runs).
    pub fn to_get_account(&self) -> antelope::chain_api::Account {
        use antelope::chain_api::{
            Account as Api, Authority as ApiAuth, KeyWeight, LinkedAction, Permission as ApiPerm,
        };
        let any = Name::literal("eosio.any");
        let link = |(code, action): &(Name, Name)| LinkedAction {
            account: *code,
            action: (!action.is_empty()).then_some(*action),
        };
        let permissions = self
            .permissions
            .iter()
            .map(|(name, p)| ApiPerm {
                perm_name: *name,
                parent: p.parent,
                required_auth: ApiAuth {
                    threshold: p.threshold,
                    keys: p
                        .keys
                        .iter()
                        .map(|(k, w)| KeyWeight {
                            key: antelope::chain_api::AnyKey::K1(*k),
                            weight: *w,
                        })
                        .collect(),
                    accounts: p
                        .accounts
                        .iter()
                        .map(|(l, w)| antelope::chain_api::PermissionLevelWeight {
                            permission: antelope::chain_api::PermissionLevel {
                                actor: l.actor,
                                permission: l.permission,
                            },
                            weight: *w,
                        })
                        .collect(),
                    waits: Vec::new(),
                },
                linked_actions: Some(
                    self.links
                        .iter()
                        .filter(|(_, perm)| *perm == name)
                        .map(|(k, _)| link(k))
                        .collect(),
                ),
            })
            .collect();
        Api {
            account_name: self.name,
            permissions,
            eosio_any_linked_actions: Some(
                self.links
                    .iter()
                    .filter(|(_, perm)| **perm == any)
                    .map(|(k, _)| link(k))
                    .collect(),
            ),
            cpu_limit: None,
            net_limit: None,
            total_resources: None,
        }
    }

    /// `get_account` JSON, shaped like the recorded Jungle4/EOS responses.
    pub fn to_json(&self, head_block_num: u32, head_block_time: &str) -> Value {
        let permissions: Vec<Value> = self
            .permissions
            .iter()
            .map(|(name, p)| {
                let linked: Vec<Value> = self
                    .links
                    .iter()
                    .filter(|(_, perm)| *perm == name)
                    .map(|((code, action), _)| {
                        if action.is_empty() {
                            json!({"account": code})
                        } else {
                            json!({"account": code, "action": action})
                        }
                    })
                    .collect();
                json!({
                    "perm_name": name,
                    "parent": if p.parent.is_empty() { String::new() } else { p.parent.to_string() },
                    "required_auth": {
                        "threshold": p.threshold,
                        "keys": p.keys.iter()
                            .map(|(k, w)| json!({"key": k.to_legacy_string(), "weight": w}))
                            .collect::<Vec<_>>(),
                        "accounts": p.accounts.iter()
                            .map(|(l, w)| json!({"permission": {"actor": l.actor, "permission": l.permission}, "weight": w}))
                            .collect::<Vec<_>>(),
                        "waits": [],
                    },
                    "linked_actions": linked,
                })
            })
            .collect();
        let limit = |used: u64, max: u64| {
            json!({
                "used": used,
                "available": max - used,
                "max": max,
                "last_usage_update_time": head_block_time,
                "current_used": used,
            })
        };
        json!({
            "account_name": self.name,
            "head_block_num": head_block_num,
            "head_block_time": head_block_time,
            "privileged": self.privileged,
            "last_code_update": "1970-01-01T00:00:00.000",
            "created": self.created.to_string(),
            "core_liquid_balance": "1000.0000 EOS",
            "ram_quota": 13477,
            "net_weight": 1010000,
            "cpu_weight": 500010000,
            "net_limit": limit(4426, 1557106),
            "cpu_limit": limit(7047, 143264232),
            "ram_usage": 3750,
            "permissions": permissions,
            "total_resources": {
                "owner": self.name,
                "net_weight": "101.0000 EOS",
                "cpu_weight": "50001.0000 EOS",
                "ram_bytes": 12077,
            },
            "self_delegated_bandwidth": null,
            "refund_request": null,
            "voter_info": null,
            "rex_info": null,
            "subjective_cpu_bill_limit": {
                "used": 0, "available": 0, "max": 0,
                "last_usage_update_time": "2000-01-01T00:00:00.000",
                "current_used": 0,
            },
            "eosio_any_linked_actions": self
                .links
                .iter()
                .filter(|(_, perm)| **perm == Name::literal("eosio.any"))
                .map(|((code, action), _)| {
                    if action.is_empty() {
                        json!({"account": code})
                    } else {
                        json!({"account": code, "action": action})
                    }
                })
                .collect::<Vec<_>>(),
        })
    }
}

/// All contract state of one chain.
#[derive(Debug, Clone, Default)]
pub struct SystemState {
    pub producers: BTreeMap<Name, ProducerRow>,
    pub finalizers: BTreeMap<Name, FinalizerRow>,
    pub finkeys: BTreeMap<u64, FinKeyRow>,
    pub accounts: BTreeMap<Name, Account>,
    /// `eosio.msig`'s proposals and approvals.
    pub msig: super::msig::MsigState,
}

/// What an applied action changed, for the caller's bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A producer's signing authority was (re)written.
    Registered {
        producer: Name,
        authority: Authority,
    },
    /// A finalizer's active key changed.
    FinalizerActivated { finalizer: Name, key: String },
}

fn field<'a>(data: &'a Value, name: &str) -> Result<&'a Value, NodeError> {
    data.get(name)
        .ok_or_else(|| NodeError::assert_message(&format!("missing field {name}")))
}

fn name_field(data: &Value, name: &str) -> Result<Name, NodeError> {
    field(data, name)?
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| NodeError::assert_message(&format!("invalid name in {name}")))
}

fn str_field<'a>(data: &'a Value, name: &str) -> Result<&'a str, NodeError> {
    field(data, name)?
        .as_str()
        .ok_or_else(|| NodeError::assert_message(&format!("invalid string in {name}")))
}

pub(super) fn check(cond: bool, msg: &str) -> Result<(), NodeError> {
    if cond {
        Ok(())
    } else {
        Err(NodeError::assert_message(msg))
    }
}

/// `require_auth(account)`: some declared authorization of the action has that actor.
pub(super) fn require_auth(action: &Action, account: Name) -> Result<(), NodeError> {
    if action.authorization.iter().any(|l| l.actor == account) {
        Ok(())
    } else {
        Err(NodeError::missing_auth(account))
    }
}

/// Renders `value` as a row of ABI type `ty` the way nodeos prints it (`json: true`), or as
/// hex of its binary form (`json: false`).
pub fn abi_row(ty: &str, value: &Value, as_json: bool) -> Value {
    let abi = eosio_system_abi();
    // Every row is built here from typed state, so the round trip cannot fail unless the
    // bundled ABI changes; fall back to the input rather than panic.
    match abi.serialize(ty, value) {
        Ok(bytes) if !as_json => Value::String(hex::encode(bytes)),
        Ok(bytes) => abi
            .deserialize(ty, &bytes)
            .unwrap_or_else(|_| value.clone()),
        Err(_) => value.clone(),
    }
}

impl SystemState {
    /// The producers row as nodeos prints it.
    pub fn producer_json(row: &ProducerRow, as_json: bool) -> Value {
        let mut v = abi_row("producer_info", &row.abi_value(), as_json);
        if as_json {
            v["total_votes"] = Value::String(format!("{:.17}", row.total_votes));
        }
        v
    }

    pub fn finalizer_json(row: &FinalizerRow, as_json: bool) -> Value {
        abi_row(
            "finalizer_info",
            &json!({
                "finalizer_name": row.finalizer_name,
                "active_key_id": row.active_key_id,
                "active_key_binary": hex::encode(&row.active_key_binary),
                "finalizer_key_count": row.finalizer_key_count,
            }),
            as_json,
        )
    }

    pub fn finkey_json(row: &FinKeyRow, as_json: bool) -> Value {
        abi_row(
            "finalizer_key_info",
            &json!({
                "id": row.id,
                "finalizer_name": row.finalizer_name,
                "finalizer_key": row.finalizer_key,
                "finalizer_key_binary": hex::encode(&row.finalizer_key_binary),
            }),
            as_json,
        )
    }

    /// Registers a finalizer key (genesis setup; `regfinkey` without its checks). The first
    /// key of a finalizer becomes its active key.
    pub fn register_finalizer_key(&mut self, finalizer: Name, key: String) -> u64 {
        let id = self.finkeys.keys().next_back().map_or(0, |k| k + 1);
        let binary = bls_binary(&key);
        self.finkeys.insert(
            id,
            FinKeyRow {
                id,
                finalizer_name: finalizer,
                finalizer_key: key,
                finalizer_key_binary: binary.clone(),
            },
        );
        let row = self
            .finalizers
            .entry(finalizer)
            .or_insert_with(|| FinalizerRow {
                finalizer_name: finalizer,
                active_key_id: id,
                active_key_binary: binary,
                finalizer_key_count: 0,
            });
        row.finalizer_key_count += 1;
        id
    }

    /// The active finalizer key text of `finalizer`, if any.
    pub fn active_finalizer_key(&self, finalizer: Name) -> Option<&str> {
        let row = self.finalizers.get(&finalizer)?;
        self.finkeys
            .get(&row.active_key_id)
            .map(|k| k.finalizer_key.as_str())
    }

    /// Applies one `eosio` action whose data was already decoded with the ABI.
    pub fn apply(&mut self, action: &Action, data: &Value) -> Result<Option<Effect>, NodeError> {
        match action.name.to_string().as_str() {
            "regproducer" => {
                let producer = name_field(data, "producer")?;
                require_auth(action, producer)?;
                let key: PublicKey = str_field(data, "producer_key")?
                    .parse()
                    .map_err(|_| NodeError::assert_message("invalid public key"))?;
                check(!key.is_null(), "public key should not be the default value")?;
                self.register(producer, Authority::single(key), data)
            }
            "regproducer2" => {
                let producer = name_field(data, "producer")?;
                require_auth(action, producer)?;
                let authority = Authority::from_abi_json(field(data, "producer_authority")?)
                    .ok_or_else(|| NodeError::assert_message("invalid producer authority"))?;
                check(authority.is_valid(), "invalid producer authority")?;
                self.register(producer, authority, data)
            }
            "actfinkey" => {
                let finalizer = name_field(data, "finalizer_name")?;
                require_auth(action, finalizer)?;
                let key = str_field(data, "finalizer_key")?;
                check(
                    key.starts_with("PUB_BLS_"),
                    &format!("finalizer key does not start with PUB_BLS_: {key}"),
                )?;
                let Some(row) = self.finalizers.get(&finalizer) else {
                    return Err(NodeError::assert_message(&format!(
                        "finalizer {finalizer} has not registered any finalizer keys"
                    )));
                };
                let Some(fk) = self.finkeys.values().find(|k| k.finalizer_key == key) else {
                    return Err(NodeError::assert_message(&format!(
                        "finalizer key was not registered: {key}"
                    )));
                };
                check(
                    fk.finalizer_name == finalizer,
                    &format!("finalizer key was not registered by the finalizer: {key}"),
                )?;
                check(
                    fk.id != row.active_key_id,
                    &format!("finalizer key was already active: {key}"),
                )?;
                let (id, binary) = (fk.id, fk.finalizer_key_binary.clone());
                if let Some(row) = self.finalizers.get_mut(&finalizer) {
                    row.active_key_id = id;
                    row.active_key_binary = binary;
                }
                Ok(Some(Effect::FinalizerActivated {
                    finalizer,
                    key: key.to_string(),
                }))
            }
            other => Err(NodeError::assert_message(&format!(
                "the simulator does not implement eosio::{other}"
            ))),
        }
    }

    fn register(
        &mut self,
        producer: Name,
        authority: Authority,
        data: &Value,
    ) -> Result<Option<Effect>, NodeError> {
        let url = str_field(data, "url")?;
        check(url.len() < URL_LIMIT, "url too long")?;
        let location = field(data, "location")?
            .as_u64()
            .and_then(|l| u16::try_from(l).ok())
            .ok_or_else(|| NodeError::assert_message("invalid location"))?;
        let Some(row) = self.producers.get_mut(&producer) else {
            return Err(NodeError::assert_message(&format!(
                "producer {producer} is not registered (the simulator only updates producers \
                 registered at genesis)"
            )));
        };
        row.producer_key = if authority.keys.len() == 1 {
            authority.keys[0].0
        } else {
            PublicKey::NULL
        };
        row.is_active = true;
        row.url = url.to_string();
        row.location = location;
        row.producer_authority = Some(authority.clone());
        Ok(Some(Effect::Registered {
            producer,
            authority,
        }))
    }
}

/// The 96 "binary" bytes the simulator stores for a finalizer key: decoded from the
/// base64url text when it is our own format, else a hash stand-in.
fn bls_binary(key: &str) -> Vec<u8> {
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
pub fn base64url_encode(data: &[u8]) -> String {
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

/// The permission level text nodeos uses in messages: `actor@permission`.
pub fn level(actor: Name, permission: Name) -> PermissionLevel {
    PermissionLevel { actor, permission }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules' input is what the simulated get_account serves: links (exact,
    /// whole-contract, eosio.any) and keys come out the same both ways.
    #[test]
    fn get_account_json_and_the_rules_input_agree() {
        let key = antelope::PrivateKey::from_bytes(&[7; 32])
            .unwrap()
            .public_key();
        let mut acct = Account::with_key(Name::literal("bp"), key, TimePoint(0));
        acct.permissions.insert(
            Name::literal("failover"),
            Permission {
                parent: Name::literal("active"),
                threshold: 1,
                keys: vec![(key, 1)],
                accounts: Vec::new(),
            },
        );
        let eosio = Name::literal("eosio");
        acct.links.insert(
            (eosio, Name::literal("regproducer")),
            Name::literal("failover"),
        );
        acct.links.insert(
            (Name::literal("eosio.token"), Name::default()),
            Name::literal("active"),
        );
        acct.links.insert(
            (eosio, Name::literal("voteproducer")),
            Name::literal("eosio.any"),
        );
        acct.permissions
            .get_mut(&Name::literal("active"))
            .unwrap()
            .accounts = vec![(level(Name::literal("ops"), Name::literal("active")), 1)];
        let served: antelope::chain_api::Account =
            serde_json::from_value(acct.to_json(1, "2026-01-01T00:00:00.000")).unwrap();
        let view = acct.to_get_account();
        assert_eq!(served.permissions, view.permissions);
        assert_eq!(
            served.eosio_any_linked_actions,
            view.eosio_any_linked_actions
        );
        use failover_core::authority::{minimum_permission, MinPerm};
        assert_eq!(
            minimum_permission(&view, eosio, Name::literal("regproducer")),
            MinPerm::Exact(Name::literal("failover"))
        );
        assert_eq!(
            minimum_permission(&view, eosio, Name::literal("voteproducer")),
            MinPerm::Any
        );
        assert_eq!(
            minimum_permission(
                &view,
                Name::literal("eosio.token"),
                Name::literal("transfer")
            ),
            MinPerm::WholeContract(Name::literal("active"))
        );
    }

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
