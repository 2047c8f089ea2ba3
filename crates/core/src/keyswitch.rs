//! The key-switch transaction: `eosio::regproducer` (or `regproducer2`) carrying the
//! target data center's signing key and the producer's *current* url and location, and,
//! when a finalizer key is given, `eosio::actfinkey` in the same transaction so block
//! production and finalizer voting move together.
//!
//! `regproducer` overwrites `url` and `location` (WAX and Telos order the schedule by
//! location), so callers pass the values read from the producers table, byte for byte.
//! Action data is serialized with an ABI (the chain's own, or the bundled one), never
//! by hand. Pure code: the caller supplies TAPOS, expiration and the key.

use serde_json::json;
use thiserror::Error;

use antelope::abi::{Abi, AbiError};
use antelope::{
    Action, BlockId, ChainId, Name, PackedTransaction, PermissionLevel, PrivateKey, PublicKey,
    TimePointSec, Transaction,
};

/// The system contract refuses `url.size() >= 512` ("url too long").
pub(crate) const MAX_URL_BYTES: usize = 511;

/// Which system-contract action switches the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegAction {
    /// `regproducer(producer, producer_key, url, location)`.
    #[default]
    Regproducer,
    /// `regproducer2(producer, producer_authority, url, location)`.
    Regproducer2,
}

impl RegAction {
    pub fn name(self) -> Name {
        match self {
            RegAction::Regproducer => Name::literal("regproducer"),
            RegAction::Regproducer2 => Name::literal("regproducer2"),
        }
    }
}

#[derive(Debug, Error)]
pub enum KeySwitchError {
    #[error("the new signing key is the null key (EOS1111…): that unregisters the producer, it does not switch it")]
    NullKey,
    #[error("url is {0} bytes; the system contract refuses {max} or more ({max_plus} bytes)", max = MAX_URL_BYTES + 1, max_plus = MAX_URL_BYTES + 1)]
    UrlTooLong(usize),
    #[error("cannot serialize eosio::{action} with the ABI: {source}")]
    Abi { action: Name, source: AbiError },
    #[error("finalizer key {0:?} is not a BLS public key: expected PUB_BLS_… as `spring-util bls create key` prints it")]
    FinalizerKey(String),
    #[error("self-check failed: signature {index} does not recover to the signing key {expected}; nothing was produced")]
    SelfCheck { index: usize, expected: PublicKey },
}

/// Everything that goes into the key-switch transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySwitch {
    pub producer: Name,
    pub permission: Name,
    pub action: RegAction,
    pub signing_key: PublicKey,
    pub url: String,
    pub location: u16,
    /// A registered BLS finalizer key (`PUB_BLS_…`) to activate with `actfinkey`.
    pub finalizer_key: Option<String>,
}

impl KeySwitch {
    fn auth(&self) -> Vec<PermissionLevel> {
        vec![PermissionLevel {
            actor: self.producer,
            permission: self.permission,
        }]
    }

    /// The action data as ABI JSON.
    pub(crate) fn reg_data(&self) -> serde_json::Value {
        let key = self.signing_key.to_k1_string();
        match self.action {
            RegAction::Regproducer => json!({
                "producer": self.producer,
                "producer_key": key,
                "url": self.url,
                "location": self.location,
            }),
            RegAction::Regproducer2 => json!({
                "producer": self.producer,
                "producer_authority": ["block_signing_authority_v0", {
                    "threshold": 1,
                    "keys": [{"key": key, "weight": 1}],
                }],
                "url": self.url,
                "location": self.location,
            }),
        }
    }

    /// The actions, serialized with `abi` (the `eosio` contract's).
    pub fn actions(&self, abi: &Abi) -> Result<Vec<Action>, KeySwitchError> {
        if self.signing_key.is_null() {
            return Err(KeySwitchError::NullKey);
        }
        if self.url.len() > MAX_URL_BYTES {
            return Err(KeySwitchError::UrlTooLong(self.url.len()));
        }
        let eosio = Name::literal("eosio");
        let serialize = |action: Name, data: &serde_json::Value| {
            abi.serialize_action(action, data)
                .map_err(|source| KeySwitchError::Abi { action, source })
        };
        let reg = self.action.name();
        let mut actions = vec![Action {
            account: eosio,
            name: reg,
            authorization: self.auth(),
            data: serialize(reg, &self.reg_data())?,
        }];
        if let Some(fin) = &self.finalizer_key {
            if !fin.starts_with("PUB_BLS_") || fin.len() < 16 {
                return Err(KeySwitchError::FinalizerKey(fin.clone()));
            }
            let act = Name::literal("actfinkey");
            actions.push(Action {
                account: eosio,
                name: act,
                authorization: self.auth(),
                data: serialize(
                    act,
                    &json!({"finalizer_name": self.producer, "finalizer_key": fin}),
                )?,
            });
        }
        Ok(actions)
    }

    pub fn transaction(
        &self,
        abi: &Abi,
        ref_block: &BlockId,
        expiration: TimePointSec,
    ) -> Result<Transaction, KeySwitchError> {
        Ok(Transaction::new(ref_block, expiration, self.actions(abi)?))
    }
}

/// Signs `tx` and checks, before anything leaves this process, that the signature is
/// canonical and recovers to `key`'s public key.
pub fn sign_checked(
    tx: &Transaction,
    chain_id: &ChainId,
    key: &PrivateKey,
) -> Result<PackedTransaction, KeySwitchError> {
    let body = tx.sign(chain_id, &[key]);
    let digest = tx.signing_digest(chain_id);
    let expected = key.public_key();
    for (index, sig) in body.signatures.iter().enumerate() {
        if sig.recover(&digest).ok() != Some(expected) {
            return Err(KeySwitchError::SelfCheck { index, expected });
        }
    }
    Ok(body)
}
