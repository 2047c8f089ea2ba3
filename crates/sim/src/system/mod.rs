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
//!   nodeos' own, from [`failover_core::authority`], over `Account::to_get_account`.
//! - Finalizer keys are opaque `PUB_BLS_…` strings: no BLS math, no proof of possession.
//! - Any other action is refused with an assertion naming it.
//!
//! Rows are rendered through the bundled ABI (serialize, then deserialize), so their JSON
//! follows nodeos's rules (0/1 booleans, legacy `EOS…` keys, 64-bit numbers as strings);
//! `total_votes` is printed with 17 decimals as fc does.

mod account;
mod bls;
mod rows;

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::error::NodeError;
use antelope::abi::{eosio_system_abi, Abi};
use antelope::{Action, Name, PermissionLevel, PublicKey};

pub use account::{Account, Permission};
use bls::bls_binary;
pub use bls::fake_bls_key;
pub use rows::{Authority, ProducerRow};
use rows::{FinKeyRow, FinalizerRow};

/// The system contract refuses `url.size() >= 512`.
pub(crate) const URL_LIMIT: usize = 512;

/// All contract state of one chain.
#[derive(Debug, Clone, Default)]
pub struct SystemState {
    pub producers: BTreeMap<Name, ProducerRow>,
    pub(crate) finalizers: BTreeMap<Name, FinalizerRow>,
    pub(crate) finkeys: BTreeMap<u64, FinKeyRow>,
    pub accounts: BTreeMap<Name, Account>,
    /// `eosio.msig`'s proposals and approvals.
    pub msig: crate::msig::MsigState,
}

/// What an applied action changed, for the caller's bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
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

/// Renders `value` as a row of ABI type `ty` of the system contract the way nodeos prints
/// it (`json: true`), or as hex of its binary form (`json: false`).
pub(crate) fn abi_row(ty: &str, value: &Value, as_json: bool) -> Value {
    contract_row(eosio_system_abi(), ty, value, as_json)
}

/// Renders `value` as a row of ABI type `ty` of the contract whose ABI is `abi`, as
/// [`abi_row`] does for the system contract.
pub(crate) fn contract_row(abi: &Abi, ty: &str, value: &Value, as_json: bool) -> Value {
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
    pub(crate) fn producer_json(row: &ProducerRow, as_json: bool) -> Value {
        let mut v = abi_row("producer_info", &row.abi_value(), as_json);
        if as_json {
            v["total_votes"] = Value::String(format!("{:.17}", row.total_votes));
        }
        v
    }

    pub(crate) fn finalizer_json(row: &FinalizerRow, as_json: bool) -> Value {
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

    pub(crate) fn finkey_json(row: &FinKeyRow, as_json: bool) -> Value {
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
    pub(crate) fn register_finalizer_key(&mut self, finalizer: Name, key: String) -> u64 {
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
    pub(crate) fn apply(
        &mut self,
        action: &Action,
        data: &Value,
    ) -> Result<Option<Effect>, NodeError> {
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

/// The permission level text nodeos uses in messages: `actor@permission`.
pub(crate) fn level(actor: Name, permission: Name) -> PermissionLevel {
    PermissionLevel { actor, permission }
}
