//! Transaction checks as a node makes them, in nodeos's order, then execution.
//!
//! Order (producer_plugin, then controller and transaction_context):
//! 1. decode the packed transaction (`packed_transaction_type_exception` 3010010);
//! 2. recover signing keys, refusing non-canonical signatures (`assert_exception` 10);
//! 3. duplicate id (`tx_duplicate` 3040008, HTTP 409); `delay_sec` must be 0;
//! 4. expiration against the pending block time: `expired_tx_exception` 3040005,
//!    `tx_exp_too_far_exception` 3040006 (more than 3600 s ahead);
//! 5. TAPOS: `ref_block_num`/`ref_block_prefix` must match the newest kept block with those
//!    low 16 bits on this chain (`invalid_ref_block_exception` 3040007);
//! 6. authorization: actors and permissions must exist; each declared permission must be
//!    the action's minimum permission (linkauth, reference §7) or an ancestor of it
//!    (`irrelevant_auth_exception` 3090005); its keys and threshold must be met by the
//!    recovered keys (`unsatisfied_authorization` 3090003); every signature must be used
//!    (`tx_irrelevant_sig` 3090006);
//! 7. execute each action on a copy of the state (`eosio` and `eosio.msig`, whose `exec`
//!    runs the proposed `eosio` actions in place; ABI-decoded; contract asserts are
//!    `eosio_assert_message_exception` 3050003, `require_auth` is `missing_auth_exception`
//!    3090004) and commit only if all succeed.
//!
//! A dry run (`compute_transaction`) skips steps 2, 3 and the key part of 6 and never
//! commits. A wrong chain id needs no check of its own: signatures then recover to other
//! keys and step 6 fails with 3090003, as on a real node.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use super::chain::{Chain, KeySwitchRecord, TxRecord, MAX_TRX_LIFETIME_SECS};
use super::error::NodeError;
use super::system::{level, Effect};
use antelope::abi::eosio_system_abi;
use antelope::msig::{eosio_msig_abi, MSIG_ACCOUNT};
use antelope::{Name, PackedTransaction, PublicKey, RecoverError, TimePoint};
use failover_core::authority::{self, Accounts, Refusal};

/// Whether the transaction is pushed or only computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `push_transaction`, `send_transaction`, `send_transaction2`.
    Push,
    /// `compute_transaction`: no signatures, no state change.
    DryRun,
}

/// Checks `packed` against `chain` and, in [`Mode::Push`], applies it.
pub(crate) fn process(
    chain: &mut Chain,
    packed: &PackedTransaction,
    mode: Mode,
) -> Result<Arc<TxRecord>, NodeError> {
    let trx = packed
        .transaction()
        .map_err(|e| NodeError::packed_transaction(e.to_string()))?;
    let trx_bytes = packed
        .trx_bytes()
        .map_err(|e| NodeError::packed_transaction(e.to_string()))?;
    let id = antelope::Checksum256::hash(&trx_bytes);

    let mut keys = BTreeSet::new();
    if mode == Mode::Push {
        let digest = packed
            .signing_digest(&chain.chain_id())
            .map_err(|e| NodeError::packed_transaction(e.to_string()))?;
        for sig in &packed.signatures {
            match sig.recover(&digest) {
                Ok(k) => {
                    keys.insert(k);
                }
                Err(RecoverError::NotCanonical) => return Err(NodeError::not_canonical()),
                Err(e) => {
                    return Err(NodeError::transaction(format!(
                        "unable to reconstruct public key from signature: {e}"
                    )))
                }
            }
        }
        if chain.is_known_tx(&id) {
            return Err(NodeError::duplicate(&id.to_string()));
        }
    }
    if trx.delay_sec != 0 {
        return Err(NodeError::transaction("transaction cannot be delayed"));
    }
    if trx.actions.is_empty() {
        return Err(NodeError::no_action());
    }
    if !trx.context_free_actions.is_empty() {
        return Err(NodeError::transaction(
            "the simulator does not run context-free actions",
        ));
    }

    // Expiration against the pending block's time.
    let pending = chain.pending_block_time();
    let pending_ms = pending.unix_ms();
    let exp_ms = i64::from(trx.expiration.unix_secs()) * 1000;
    if exp_ms < pending_ms {
        return Err(NodeError::expired(
            &trx.expiration.to_string(),
            &pending.to_string(),
        ));
    }
    if exp_ms > pending_ms + i64::from(MAX_TRX_LIFETIME_SECS) * 1000 {
        return Err(NodeError::exp_too_far(
            &trx.expiration.to_string(),
            &pending.to_string(),
        ));
    }

    // TAPOS: the block_summary slot for ref_block_num holds the newest block with those
    // low 16 bits.
    let head = chain.head().num;
    let n = (head & !0xffff) | u32::from(trx.ref_block_num);
    let n = if n > head {
        n.checked_sub(0x1_0000)
    } else {
        Some(n)
    };
    let candidate = n.and_then(|n| chain.block(n));
    match candidate {
        Some(b) if b.ref_block_prefix() == trx.ref_block_prefix => {}
        _ => return Err(NodeError::invalid_ref_block()),
    }

    // Authorization: nodeos' rules from failover_core::authority over the accounts as get_account
    // reports them.
    let views: Vec<_> = chain
        .state()
        .accounts
        .values()
        .map(|a| a.to_get_account())
        .collect();
    let accounts = Accounts::new(views.iter());
    let provided: Vec<PublicKey> = keys.iter().copied().collect();
    let mut used = BTreeSet::<PublicKey>::new();
    for action in &trx.actions {
        if action.authorization.is_empty() {
            return Err(NodeError::no_auths());
        }
        for decl in &action.authorization {
            if accounts.get(decl.actor).is_none() {
                return Err(NodeError::unknown_authority(format!(
                    "action's authorizing actor '{}' does not exist",
                    decl.actor
                )));
            }
            let declared = antelope::chain_api::PermissionLevel {
                actor: decl.actor,
                permission: decl.permission,
            };
            match authority::check_relevance(&accounts, &declared, action.account, action.name) {
                Ok(_) => {}
                Err(Refusal::Irrelevant { min, .. }) => {
                    let min = min.required().unwrap_or(Name::literal("active"));
                    return Err(NodeError::irrelevant_auth(decl, &level(decl.actor, min)));
                }
                Err(_) => {
                    return Err(NodeError::unknown_authority(format!(
                        "action's authorizations include a non-existent permission: \
                         {{\"actor\":\"{}\",\"permission\":\"{}\"}}",
                        decl.actor, decl.permission
                    )));
                }
            }
            if mode == Mode::Push {
                let tally = authority::weigh(
                    &accounts,
                    &declared,
                    &provided,
                    authority::MAX_AUTHORITY_DEPTH,
                );
                match tally {
                    Some(t) if t.satisfied => used.extend(t.used_keys),
                    _ => {
                        let provided: Vec<String> =
                            keys.iter().map(|k| k.to_legacy_string()).collect();
                        return Err(NodeError::unsatisfied(decl, &provided));
                    }
                }
            }
        }
    }
    if mode == Mode::Push && used.len() < keys.len() {
        let extra: Vec<String> = keys
            .difference(&used)
            .map(|k| format!("\"{}\"", k.to_legacy_string()))
            .collect();
        return Err(NodeError {
            code: 3090006,
            name: "tx_irrelevant_sig",
            what: "An irrelevant signature was included",
            message: format!(
                "transaction bears irrelevant signatures from these keys: [{}]",
                extra.join(",")
            ),
            method: "check_authorization",
            file: "authorization_manager.cpp",
            ..NodeError::transaction("")
        });
    }

    // Execution on a copy of the state.
    let eosio = Name::literal("eosio");
    let abi = eosio_system_abi();
    let mut state = chain.state().clone();
    let mut data_json = Vec::with_capacity(trx.actions.len());
    let mut effects = Vec::new();
    let now = TimePoint(pending_ms * 1000);
    for action in &trx.actions {
        if action.account == MSIG_ACCOUNT {
            let data: Value = eosio_msig_abi()
                .deserialize_action(action.name, &action.data)
                .map_err(|_| NodeError::assert_message("read"))?;
            // `exec` releases the proposed actions; they run here, with the proposal's
            // authorization already checked by the contract.
            for inner in state.apply_msig(action, now)? {
                if inner.account != eosio {
                    return Err(NodeError::assert_message(&format!(
                        "the simulator only runs eosio actions, not {}::{}",
                        inner.account, inner.name
                    )));
                }
                let data: Value = abi
                    .deserialize_action(inner.name, &inner.data)
                    .map_err(|_| NodeError::assert_message("read"))?;
                if let Some(effect) = state.apply(&inner, &data)? {
                    effects.push(effect);
                }
            }
            data_json.push(data);
            continue;
        }
        if action.account != eosio {
            return Err(NodeError::assert_message(&format!(
                "the simulator only runs eosio and eosio.msig actions, not {}::{}",
                action.account, action.name
            )));
        }
        let data: Value = abi
            .deserialize_action(action.name, &action.data)
            .map_err(|_| NodeError::assert_message("read"))?;
        if let Some(effect) = state.apply(action, &data)? {
            effects.push(effect);
        }
        data_json.push(data);
    }

    let (block_num, slot) = chain.pending_block();
    let record = Arc::new(TxRecord {
        id,
        packed: packed.clone(),
        trx,
        action_data: data_json,
        block_num,
        slot,
        net_usage_words: (trx_bytes.len() as u32 + 8 + 65 * packed.signatures.len() as u32)
            .div_ceil(8),
        first_global_seq: 0,
    });
    if mode == Mode::DryRun {
        return Ok(record);
    }
    let our = chain.our_producer();
    let switches: Vec<KeySwitchRecord> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Registered {
                producer,
                authority,
            } if *producer == our => {
                let old = chain
                    .state()
                    .producers
                    .get(producer)
                    .and_then(|r| r.signing_authority());
                let dc = chain
                    .datacenters()
                    .iter()
                    .find(|d| authority.signable_by(&d.public_key()))
                    .map(|d| d.name.clone());
                Some(KeySwitchRecord {
                    tx_id: id,
                    block_num,
                    slot,
                    authority: authority.clone(),
                    datacenter: dc,
                    changed: old.as_ref() != Some(authority),
                })
            }
            _ => None,
        })
        .collect();
    *chain.state_mut() = state;
    for s in switches {
        chain.record_switch(s);
    }
    let mut record = Arc::try_unwrap(record).unwrap_or_else(|a| (*a).clone());
    record.first_global_seq = chain.next_global_seq(record.trx.actions.len());
    let record = Arc::new(record);
    chain.accept(record.clone());
    Ok(record)
}
