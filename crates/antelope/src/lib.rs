//! Antelope protocol primitives: names, binary encoding, keys, signatures, ABI-driven
//! serialization and transactions. Pure code: no I/O, no clock, no global state.

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
