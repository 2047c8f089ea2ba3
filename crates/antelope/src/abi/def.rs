//! The serde model of an ABI document (`eosio::abi/1.x`), as nodes serve it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;

// ---------------------------------------------------------------------------------------------
// Serde model of the ABI document
// ---------------------------------------------------------------------------------------------

/// An ABI document as JSON. Unknown top-level sections (`kv_tables`, `calls`, comments…) are
/// kept in [`AbiDef::other`]. The sections we interpret are strict: unknown keys inside them
/// are an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AbiDef {
    pub version: String,
    #[serde(default)]
    pub types: Vec<TypeDef>,
    #[serde(default)]
    pub structs: Vec<StructDef>,
    #[serde(default)]
    pub actions: Vec<ActionDef>,
    #[serde(default)]
    pub tables: Vec<TableDef>,
    #[serde(default)]
    pub variants: Vec<VariantDef>,
    #[serde(default)]
    pub ricardian_clauses: Vec<Value>,
    #[serde(default)]
    pub error_messages: Vec<Value>,
    #[serde(default)]
    pub abi_extensions: Vec<Value>,
    #[serde(default)]
    pub action_results: Vec<Value>,
    /// Top-level sections this crate does not interpret, kept verbatim.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TypeDef {
    pub new_type_name: String,
    #[serde(rename = "type")]
    pub type_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldDef {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StructDef {
    pub name: String,
    #[serde(default)]
    pub base: String,
    pub fields: Vec<FieldDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionDef {
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default)]
    pub ricardian_contract: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TableDef {
    pub name: String,
    #[serde(default)]
    pub index_type: String,
    #[serde(default)]
    pub key_names: Vec<String>,
    #[serde(default)]
    pub key_types: Vec<String>,
    #[serde(rename = "type")]
    pub type_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VariantDef {
    pub name: String,
    pub types: Vec<String>,
}

impl AbiDef {
    /// Parses a bare ABI document or a `get_abi` response (`{"account_name", "abi"}`).
    pub fn from_json_str(text: &str) -> Result<AbiDef, AbiError> {
        let value: Value = serde_json::from_str(text).map_err(|e| AbiError::Json {
            reason: e.to_string(),
        })?;
        AbiDef::from_json_value(value)
    }

    /// Like [`AbiDef::from_json_str`], from an already parsed JSON value.
    pub(crate) fn from_json_value(mut value: Value) -> Result<AbiDef, AbiError> {
        let Some(obj) = value.as_object_mut() else {
            return Err(AbiError::Json {
                reason: format!("expected an object, got {}", describe_json(&value)),
            });
        };
        if !obj.contains_key("version") && obj.contains_key("account_name") {
            let account = obj
                .get("account_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            match obj.remove("abi") {
                Some(abi) if !abi.is_null() => value = abi,
                _ => return Err(AbiError::NoAbi { account }),
            }
        }
        serde_json::from_value(value).map_err(|e| AbiError::Json {
            reason: e.to_string(),
        })
    }
}
