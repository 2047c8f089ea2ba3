//! Typed nodeos API responses and request bodies.
//!
//! Every response type is parsed defensively: unknown fields are ignored (nodes add fields
//! between versions), 64-bit integers and doubles may be numbers or strings (see
//! [`super::json`]), and keys are parsed from the legacy `EOS…` form nodes print into
//! [`PublicKey`] so they compare by bytes. Keys that are not K1 (R1, WebAuthn) are kept as
//! text in [`AnyKey::Other`] so one exotic key elsewhere in a schedule or account does not
//! make a whole response unusable. Shapes come from real recorded responses in `fixtures/`
//! except where a type's doc says otherwise.
//!
//! Keys, block-signing authorities and producer schedules are in `keys`; accounts and
//! their permissions in `account`.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::json;
use crate::{BlockTimestamp, Name, PublicKey};

mod account;
mod keys;

pub use account::*;
pub use keys::*;

// ---------------------------------------------------------------------------------------
// 32-byte digests: the protocol module's types
// ---------------------------------------------------------------------------------------

pub use crate::transaction::{BlockId, ChainId, TransactionId};

// ---------------------------------------------------------------------------------------
// get_info, blocks
// ---------------------------------------------------------------------------------------

/// `get_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetInfo {
    #[serde(default)]
    pub server_version: String,
    pub chain_id: ChainId,
    #[serde(deserialize_with = "json::u32")]
    pub head_block_num: u32,
    pub head_block_id: BlockId,
    pub head_block_time: BlockTimestamp,
    pub head_block_producer: Name,
    #[serde(deserialize_with = "json::u32")]
    pub last_irreversible_block_num: u32,
    pub last_irreversible_block_id: BlockId,
    /// Leap ≥ 3.1.
    #[serde(default)]
    pub last_irreversible_block_time: Option<BlockTimestamp>,
    #[serde(default)]
    pub server_version_string: Option<String>,
    #[serde(default)]
    pub server_full_version_string: Option<String>,
    #[serde(default, deserialize_with = "json::opt_u32")]
    pub fork_db_head_block_num: Option<u32>,
    #[serde(default, deserialize_with = "json::opt_u32")]
    pub earliest_available_block_num: Option<u32>,
}

impl GetInfo {
    /// Internal consistency of one response: ids embed their block numbers and LIB is not
    /// ahead of head. A node failing this is broken or lying.
    pub fn check(&self) -> Result<(), String> {
        if self.head_block_id.block_num() != self.head_block_num {
            return Err(format!(
                "head_block_id embeds block {} but head_block_num is {}",
                self.head_block_id.block_num(),
                self.head_block_num
            ));
        }
        if self.last_irreversible_block_id.block_num() != self.last_irreversible_block_num {
            return Err(format!(
                "last_irreversible_block_id embeds block {} but last_irreversible_block_num is {}",
                self.last_irreversible_block_id.block_num(),
                self.last_irreversible_block_num
            ));
        }
        if self.last_irreversible_block_num > self.head_block_num {
            return Err(format!(
                "last irreversible block {} is ahead of head {}",
                self.last_irreversible_block_num, self.head_block_num
            ));
        }
        Ok(())
    }

    /// The most specific version text the node gave.
    pub fn version(&self) -> &str {
        self.server_version_string
            .as_deref()
            .unwrap_or(&self.server_version)
    }
}

/// A block header with its id, as returned by `get_block_info` or (a subset of)
/// `get_block`. `get_block`'s `transactions` are skipped without being kept.
///
/// `get_block_info` carries `block_num, ref_block_num, id, timestamp, producer, confirmed,
/// previous, transaction_mroot, action_mroot, schedule_version, producer_signature,
/// ref_block_prefix` (spring `chain_plugin.cpp`; recorded from Leap 4.1 in
/// `fixtures/leap41_get_block_info_40.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockInfo {
    #[serde(deserialize_with = "json::u32")]
    pub block_num: u32,
    pub id: BlockId,
    pub timestamp: BlockTimestamp,
    pub producer: Name,
    #[serde(default, deserialize_with = "json::u16")]
    pub confirmed: u16,
    pub previous: BlockId,
    #[serde(deserialize_with = "json::u32")]
    pub schedule_version: u32,
    #[serde(default, deserialize_with = "json::opt_u32")]
    pub ref_block_prefix: Option<u32>,
    /// Kept as text: a non-K1 signature must not make the header unreadable.
    #[serde(default)]
    pub producer_signature: Option<String>,
    /// Legacy header field carrying a newly pending schedule (pre-WTMSIG).
    #[serde(default)]
    pub new_producers: Option<ProducerSchedule>,
    /// `[[id, "hex"], …]`; absent from `get_block_info`.
    #[serde(default)]
    pub header_extensions: Vec<(u16, String)>,
}

/// The `eosio` `global` singleton, as far as bp-failover reads it: when the system
/// contract last ran `update_elected_producers` (the schedule cadence, reference §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalState {
    pub last_producer_schedule_update: BlockTimestamp,
}

/// Header `schedule_version` of every Savanna block (`1 << 31`).
pub const SAVANNA_SCHEDULE_VERSION: u32 = 1 << 31;

impl BlockInfo {
    pub fn check(&self) -> Result<(), String> {
        if self.id.block_num() != self.block_num {
            return Err(format!(
                "block id embeds block {} but block_num is {}",
                self.id.block_num(),
                self.block_num
            ));
        }
        if self.block_num > 0 && self.previous.block_num() != self.block_num - 1 {
            return Err(format!(
                "previous id embeds block {}, expected {}",
                self.previous.block_num(),
                self.block_num - 1
            ));
        }
        Ok(())
    }

    /// True for a block produced under Savanna consensus.
    pub fn is_savanna(&self) -> bool {
        self.schedule_version == SAVANNA_SCHEDULE_VERSION
    }
}

// ---------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------

/// `get_table_rows` result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TableRows<T> {
    pub rows: Vec<T>,
    #[serde(default, deserialize_with = "json::more_flag")]
    pub more: bool,
    #[serde(default)]
    pub next_key: String,
}

/// A row of `eosio/eosio/producers` (reference-contract layout; Telos adds fields, some of
/// which are captured as options).
///
/// No real row carrying `producer_authority` was recorded; that field's shape follows the
/// `producer_info` ABI in `fixtures/jungle4_get_abi_eosio_2023.json` (a
/// `block_signing_authority$` binary extension, written as an ABI variant
/// `["block_signing_authority_v0", {…}]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProducerRow {
    pub owner: Name,
    #[serde(deserialize_with = "json::f64")]
    pub total_votes: f64,
    pub producer_key: AnyKey,
    #[serde(deserialize_with = "json::bool")]
    pub is_active: bool,
    #[serde(default)]
    pub url: String,
    #[serde(default, deserialize_with = "json::u32")]
    pub unpaid_blocks: u32,
    #[serde(default)]
    pub last_claim_time: Option<String>,
    #[serde(default, deserialize_with = "json::u16")]
    pub location: u16,
    #[serde(default)]
    pub producer_authority: Option<BlockSigningAuthority>,
    /// Telos only.
    #[serde(default, deserialize_with = "json::opt_u32")]
    pub missed_blocks_per_rotation: Option<u32>,
    /// Telos only.
    #[serde(default, deserialize_with = "json::opt_u32")]
    pub lifetime_produced_blocks: Option<u32>,
    /// Telos only.
    #[serde(default, deserialize_with = "json::opt_u32")]
    pub lifetime_missed_blocks: Option<u32>,
}

impl ProducerRow {
    /// The authority the contract schedules (`get_producer_authority()`): the
    /// `producer_authority` extension when present with a non-zero threshold, else the
    /// single `producer_key`.
    pub fn effective_authority(&self) -> BlockSigningAuthority {
        match &self.producer_authority {
            Some(a) if a.threshold > 0 => a.clone(),
            _ => BlockSigningAuthority::single(self.producer_key.clone()),
        }
    }

    /// The single registered signing key, if the authority is a single key.
    pub fn signing_key(&self) -> Option<AnyKey> {
        self.effective_authority().single_key().cloned()
    }
}

/// A row of `eosio/eosio/finalizers` (Savanna system contracts): the producer's active
/// finalizer key id and its binary form. The text key is in `finkeys` (see
/// [`FinalizerKeyRow`]). Shape from eos-system-contracts `finalizer_info`; no recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizerRow {
    pub finalizer_name: Name,
    #[serde(deserialize_with = "json::u64")]
    pub active_key_id: u64,
    #[serde(default)]
    pub active_key_binary: String,
    #[serde(default, deserialize_with = "json::u32")]
    pub finalizer_key_count: u32,
}

/// A row of `eosio/eosio/finkeys`. Shape from eos-system-contracts `finalizer_key_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizerKeyRow {
    #[serde(deserialize_with = "json::u64")]
    pub id: u64,
    pub finalizer_name: Name,
    pub finalizer_key: String,
}

// ---------------------------------------------------------------------------------------
// Transactions
// ---------------------------------------------------------------------------------------

/// The body of `push_transaction`/`send_transaction` and the `transaction` field of
/// `send_transaction2`/`compute_transaction`: the protocol module's type, exactly the four
/// fields nodes take.
pub use crate::transaction::PackedTransaction;

/// `send_transaction2` request body (Leap ≥ 3.1).
#[derive(Debug, Clone, Serialize)]
pub struct SendTransaction2Request<'a> {
    pub return_failure_trace: bool,
    pub retry_trx: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_trx_num_blocks: Option<u16>,
    pub transaction: &'a PackedTransaction,
}

/// `processed.receipt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceReceipt {
    pub status: String,
    #[serde(default, deserialize_with = "json::opt_u32")]
    pub cpu_usage_us: Option<u32>,
    #[serde(default, deserialize_with = "json::opt_u32")]
    pub net_usage_words: Option<u32>,
}

/// The parts of a transaction trace this tool reads. Action traces are not kept.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TransactionTrace {
    pub id: TransactionId,
    #[serde(default, deserialize_with = "json::opt_u32")]
    pub block_num: Option<u32>,
    #[serde(default)]
    pub block_time: Option<BlockTimestamp>,
    #[serde(default)]
    pub receipt: Option<TraceReceipt>,
    #[serde(default, deserialize_with = "json::opt_i64")]
    pub elapsed: Option<i64>,
    /// An fc exception object when the transaction failed.
    #[serde(default)]
    pub except: Option<serde_json::Value>,
    #[serde(default)]
    pub error_code: Option<serde_json::Value>,
}

/// The 2xx answer of the push family and of `compute_transaction`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PushResponse {
    pub transaction_id: TransactionId,
    pub processed: TransactionTrace,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../../fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn block_id_helpers_match_recorded_block() {
        let b: BlockInfo =
            serde_json::from_str(&fixture("eos-mainnet_get_block_8482113_2018.json")).unwrap();
        assert_eq!(b.id.block_num(), 8_482_113);
        assert_eq!(b.id.tapos().1, 3_091_773_100);
        assert_eq!(b.ref_block_prefix, Some(3_091_773_100));
        b.check().unwrap();
        assert!("00".parse::<BlockId>().is_err());
        assert!("zz".repeat(32).parse::<BlockId>().is_err());
    }

    #[test]
    fn real_get_block_info_parses() {
        let b: BlockInfo = serde_json::from_str(&fixture("leap41_get_block_info_40.json")).unwrap();
        assert_eq!((b.block_num, b.id.block_num()), (40, 40));
        assert_eq!(b.ref_block_prefix, Some(b.id.tapos().1));
        b.check().unwrap();
    }

    #[test]
    fn packed_transaction_accepts_named_compression_and_writes_numbers() {
        let v: PackedTransaction = serde_json::from_str(
            r#"{"signatures":[],"compression":"zlib","packed_context_free_data":"","packed_trx":"00"}"#,
        )
        .unwrap();
        assert_eq!(v.compression, crate::transaction::Compression::Zlib);
        let v: PackedTransaction = serde_json::from_str(
            r#"{"signatures":[],"compression":"none","packed_context_free_data":"","packed_trx":"00"}"#,
        )
        .unwrap();
        assert_eq!(v.compression, crate::transaction::Compression::None);
        assert_eq!(
            serde_json::to_string(&PackedTransaction {
                signatures: vec![],
                compression: crate::transaction::Compression::None,
                packed_context_free_data: vec![],
                packed_trx: vec![1, 2],
            })
            .unwrap(),
            r#"{"signatures":[],"compression":0,"packed_context_free_data":"","packed_trx":"0102"}"#
        );
        for bad in [
            r#"{"signatures":[],"compression":2,"packed_context_free_data":"","packed_trx":"00"}"#,
            r#"{"signatures":[],"compression":"gzip","packed_context_free_data":"","packed_trx":"00"}"#,
            r#"{"signatures":[],"compression":0,"packed_context_free_data":"","packed_trx":"00","x":1}"#,
        ] {
            assert!(
                serde_json::from_str::<PackedTransaction>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn producer_row_prefers_authority_extension() {
        // Built from the ABI shape (no real recording has producer_authority).
        let old = "EOS6XXTaRpWhPwnb7CTV9zVsCBrvCpYMMPSk8E8hsJxhf6VFW9DYN";
        let new = "EOS6RMS3nvoN9StPzZizve6WdovaDkE5KkEcCDXW7LbepyAioMiK6";
        let row: ProducerRow = serde_json::from_str(&format!(
            r#"{{"owner":"mybpaccount1","total_votes":"12345678901234.5","producer_key":"{old}",
            "is_active":1,"url":"https://bp.example","unpaid_blocks":17,
            "last_claim_time":"2024-01-01T00:00:00.000","location":840,
            "producer_authority":["block_signing_authority_v0",{{"threshold":1,"keys":[{{"key":"{new}","weight":1}}]}}]}}"#
        ))
        .unwrap();
        assert!(row.is_active);
        assert_eq!(row.location, 840);
        assert_eq!(
            row.signing_key().unwrap(),
            new.parse::<PublicKey>().unwrap()
        );
        // Threshold 0 (never set): fall back to producer_key.
        let row: ProducerRow = serde_json::from_str(&format!(
            r#"{{"owner":"mybpaccount1","total_votes":0,"producer_key":"{old}","is_active":0,"url":"","unpaid_blocks":0,"location":0,
            "producer_authority":["block_signing_authority_v0",{{"threshold":0,"keys":[]}}]}}"#
        ))
        .unwrap();
        assert!(!row.is_active);
        assert_eq!(
            row.signing_key().unwrap(),
            old.parse::<PublicKey>().unwrap()
        );
        // The null key written by unregprod.
        let row: ProducerRow = serde_json::from_str(
            r#"{"owner":"mybpaccount1","total_votes":"0.0","producer_key":"EOS1111111111111111111111111111111114T1Anm","is_active":0,"url":"","unpaid_blocks":0,"location":0}"#,
        )
        .unwrap();
        assert!(row.producer_key.is_null());
    }
}
