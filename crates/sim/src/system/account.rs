//! Accounts: permissions and `linkauth` links, served as nodeos' `get_account` and fed
//! to the core's authorization rules.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use antelope::{Name, PermissionLevel, PublicKey, TimePoint};

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
    pub(crate) fn with_key(name: Name, key: PublicKey, created: TimePoint) -> Self {
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
    pub(crate) fn to_get_account(&self) -> antelope::chain_api::Account {
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
    pub(crate) fn to_json(&self, head_block_num: u32, head_block_time: &str) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::level;

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
}
