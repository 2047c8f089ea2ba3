//! Antelope protocol primitives. Pure code: no I/O, no clock, no global state.
//!
//! - [`name`]: account, permission and action names (a `u64`).
//! - [`bytes`]: the binary encoding (`fc::raw`): [`Pack`], [`Unpack`], varints.
//! - [`json`]: serde helpers for the JSON nodes write (64-bit integers as strings…).
//! - [`keys`], [`signature`]: K1 keys in their text forms, signing and key recovery.
//! - [`time`]: time types and the only slot/turn arithmetic (500 ms slots, 12-slot turns,
//!   rounds, rotations, the scheduled producer of a slot).
//! - [`abi`]: ABI-driven serialization (the document, its resolved type graph, JSON ↔ binary,
//!   layout comparison) and the bundled `eosio.system` ABI.
//! - [`transaction`]: transactions, their id, signing digest and TAPOS.
//! - [`block`]: block headers and ids recomputed from them, from any nodeos block read.
//! - [`chain_api`]: the typed nodeos API responses and request bodies.
//! - [`msig`]: the `eosio.msig` contract's actions and tables, and proposal names.

pub mod abi;
pub mod block;
pub mod bytes;
pub mod chain_api;
pub mod json;
pub mod keys;
pub mod msig;
pub mod name;
pub mod signature;
pub mod time;
pub mod transaction;

pub use abi::{compare_action_types, eosio_system_abi, Abi, AbiError};
pub use block::{BlockHeader, BlockJsonError};
pub use bytes::{DecodeError, Pack, Reader, Unpack, Writer};
pub use keys::{KeyError, PrivateKey, PublicKey};
pub use name::{Name, NameError};
pub use signature::{sign_digest, RecoverError, Signature};
pub use time::{BlockTimestamp, TimePoint, TimePointSec};
pub use transaction::{
    Action, BlockId, ChainId, Checksum256, PackedTransaction, PermissionLevel, Transaction,
};
