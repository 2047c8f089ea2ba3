//! Accounts (`get_account`), their permissions and linked actions, and `get_abi`.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionLevel {
    pub actor: Name,
    pub permission: Name,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionLevelWeight {
    pub permission: PermissionLevel,
    #[serde(deserialize_with = "json::u16")]
    pub weight: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitWeight {
    #[serde(deserialize_with = "json::u32")]
    pub wait_sec: u32,
    #[serde(deserialize_with = "json::u16")]
    pub weight: u16,
}

/// A permission's required authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authority {
    #[serde(deserialize_with = "json::u32")]
    pub threshold: u32,
    #[serde(default)]
    pub keys: Vec<KeyWeight>,
    #[serde(default)]
    pub accounts: Vec<PermissionLevelWeight>,
    #[serde(default)]
    pub waits: Vec<WaitWeight>,
}

/// A `linkauth` entry; `action` absent = every action of `account`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedAction {
    pub account: Name,
    #[serde(default)]
    pub action: Option<Name>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub perm_name: Name,
    pub parent: Name,
    pub required_auth: Authority,
    /// Leap ≥ 3.1; `None` on older nodes (links unknown, not "no links").
    #[serde(default)]
    pub linked_actions: Option<Vec<LinkedAction>>,
}

/// `get_account` (the fields this tool uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub account_name: Name,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    #[serde(default)]
    pub eosio_any_linked_actions: Option<Vec<LinkedAction>>,
    /// CPU (µs) the account can use now; absent when the node does not report it.
    #[serde(default)]
    pub cpu_limit: Option<ResourceLimit>,
    /// NET (bytes) the account can use now.
    #[serde(default)]
    pub net_limit: Option<ResourceLimit>,
    /// The account's own staked weights ("1000.0000 EOS"): they carry the core symbol.
    #[serde(default)]
    pub total_resources: Option<TotalResources>,
}

/// `cpu_limit` / `net_limit` of `get_account`; `-1` = unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceLimit {
    #[serde(deserialize_with = "json::i64")]
    pub available: i64,
    #[serde(deserialize_with = "json::i64")]
    pub max: i64,
}

/// `total_resources` of `get_account` (the fields this tool uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalResources {
    #[serde(default)]
    pub cpu_weight: Option<String>,
}

impl Account {
    pub fn permission(&self, name: Name) -> Option<&Permission> {
        self.permissions.iter().find(|p| p.perm_name == name)
    }
}

/// `get_abi`; `abi` is absent when the account has no contract.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GetAbi {
    pub account_name: Name,
    #[serde(default)]
    pub abi: Option<serde_json::Value>,
}
