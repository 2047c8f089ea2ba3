//! Satisfaction: whether keys and granted permissions meet a permission's authority,
//! following nested `account@permission` entries (`authority_checker.hpp`).

use super::*;

/// The accounts known to a check, by name.
#[derive(Debug, Clone, Default)]
pub struct Accounts<'a> {
    by_name: BTreeMap<Name, &'a Account>,
}

impl<'a> Accounts<'a> {
    pub fn new(accounts: impl IntoIterator<Item = &'a Account>) -> Self {
        Accounts {
            by_name: accounts.into_iter().map(|a| (a.account_name, a)).collect(),
        }
    }

    pub fn get(&self, name: Name) -> Option<&'a Account> {
        self.by_name.get(&name).copied()
    }

    fn authority(&self, level: &PermissionLevel) -> Lookup<'a> {
        match self.get(level.actor) {
            None => Lookup::Unread,
            Some(a) => match a.permission(level.permission) {
                Some(p) => Lookup::Found(&p.required_auth),
                None => Lookup::Missing,
            },
        }
    }
}

enum Lookup<'a> {
    Found(&'a Authority),
    Missing,
    Unread,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    BeingEvaluated,
    Unsatisfied,
    Satisfied,
}

/// The outcome of weighing one permission's authority against provided keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tally {
    /// Whether the weights reach the threshold.
    pub satisfied: bool,
    /// The sum of every entry that counts (keys provided, nested permissions met).
    pub weight: u32,
    pub threshold: u32,
    /// Provided keys nodeos would mark used (counting stops at the threshold).
    pub used_keys: Vec<PublicKey>,
    /// One line per entry of the top authority: what it contributed and why.
    pub entries: Vec<String>,
    /// Nested permissions of accounts not supplied: fetch them and weigh again.
    pub unread: Vec<PermissionLevel>,
}

struct Checker<'a, 'k> {
    accounts: &'a Accounts<'a>,
    keys: &'k [PublicKey],
    depth_limit: u16,
    cache: BTreeMap<(Name, Name), Status>,
    unread: Vec<PermissionLevel>,
}

/// One weighted entry of an authority, in nodeos' order (heaviest first; on a tie waits,
/// then keys, then accounts).
enum Entry<'a> {
    Account(&'a PermissionLevel, u16),
    Key(PublicKey, u16),
    Wait(u32, u16),
}

struct Weighed {
    satisfied: bool,
    weight: u32,
    used: Vec<PublicKey>,
    lines: Vec<String>,
}

impl<'a> Checker<'a, '_> {
    /// `weight_tally_visitor` on a `permission_level_weight`: whether `level` is met.
    fn level_met(
        &mut self,
        level: &PermissionLevel,
        depth: u16,
        used: &mut Vec<PublicKey>,
    ) -> (bool, String) {
        let key = (level.actor, level.permission);
        match self.cache.get(&key) {
            Some(Status::Satisfied) => return (true, "met".into()),
            Some(Status::Unsatisfied) => return (false, "not met".into()),
            Some(Status::BeingEvaluated) => {
                return (
                    false,
                    "not met (a cycle back to a permission being evaluated)".into(),
                )
            }
            None => {}
        }
        if depth >= self.depth_limit {
            return (
                false,
                format!(
                    "not followed: deeper than max_authority_depth {}",
                    self.depth_limit
                ),
            );
        }
        let auth = match self.accounts.authority(level) {
            Lookup::Found(a) => a,
            Lookup::Missing => return (false, "no such permission: weighs nothing".into()),
            Lookup::Unread => {
                if !self.unread.contains(level) {
                    self.unread.push(level.clone());
                }
                return (false, format!("account {} not read", level.actor));
            }
        };
        self.cache.insert(key, Status::BeingEvaluated);
        let w = self.weigh(auth, depth + 1);
        self.cache.insert(
            key,
            if w.satisfied {
                Status::Satisfied
            } else {
                Status::Unsatisfied
            },
        );
        if w.satisfied {
            used.extend(w.used);
        }
        let text = format!(
            "{} (weight {} of threshold {})",
            if w.satisfied { "met" } else { "not met" },
            w.weight,
            auth.threshold
        );
        (w.satisfied, text)
    }

    /// `authority_checker::satisfied` on an authority at `depth`.
    fn weigh(&mut self, auth: &'a Authority, depth: u16) -> Weighed {
        let mut entries: Vec<(u16, u8, Entry<'a>)> = Vec::new();
        for a in &auth.accounts {
            entries.push((a.weight, 1, Entry::Account(&a.permission, a.weight)));
        }
        for k in &auth.keys {
            // Only K1 keys can be provided by this tool; other key types weigh nothing.
            if let Some(pk) = k.key.as_k1() {
                entries.push((k.weight, 2, Entry::Key(*pk, k.weight)));
            }
        }
        for w in &auth.waits {
            entries.push((w.weight, 3, Entry::Wait(w.wait_sec, w.weight)));
        }
        // Stable: equal (weight, kind) keep their listed order, as in nodeos' multimap.
        entries.sort_by_key(|e| std::cmp::Reverse((e.0, e.1)));
        let mut total = 0u32;
        let mut reached = false;
        let mut used = Vec::new();
        let mut lines = Vec::new();
        for (_, _, e) in &entries {
            let (counts, line, mut keys) = match e {
                Entry::Key(k, w) => {
                    let provided = self.keys.contains(k);
                    let line = format!(
                        "key {k} weight {w}: {}",
                        if provided { "signed" } else { "not signed" }
                    );
                    (
                        provided.then_some(*w),
                        line,
                        if provided { vec![*k] } else { vec![] },
                    )
                }
                Entry::Account(level, w) => {
                    let mut nested = Vec::new();
                    let (met, why) = self.level_met(level, depth, &mut nested);
                    let line = format!("{}@{} weight {w}: {why}", level.actor, level.permission);
                    (met.then_some(*w), line, nested)
                }
                Entry::Wait(secs, w) => (
                    // The delay of a transaction this tool sends is 0.
                    (*secs == 0).then_some(*w),
                    format!("wait {secs} s weight {w}: needs a delayed transaction"),
                    vec![],
                ),
            };
            lines.push(line);
            if let Some(w) = counts {
                total = total.saturating_add(u32::from(w));
                if !reached {
                    used.append(&mut keys);
                }
            }
            if total >= auth.threshold {
                reached = true;
            }
        }
        // nodeos compares after each entry, so an authority without entries is never met.
        let satisfied = reached && !entries.is_empty();
        used.sort();
        used.dedup();
        Weighed {
            satisfied,
            weight: total,
            used: if satisfied { used } else { Vec::new() },
            lines,
        }
    }
}

/// Weighs `level`'s authority against `keys` as nodeos does with `depth_limit`
/// ([`MAX_AUTHORITY_DEPTH`] by default).
pub fn weigh(
    accounts: &Accounts<'_>,
    level: &PermissionLevel,
    keys: &[PublicKey],
    depth_limit: u16,
) -> Option<Tally> {
    weigh_with_permissions(accounts, level, keys, &[], depth_limit)
}

/// [`weigh`] with `permissions` granted outright, as a contract's
/// `check_transaction_authorization(trx, keys, permissions)` does (`eosio.msig` passes the
/// requested levels on `propose` and the provided approvals on `exec`): nodeos seeds its
/// checker's cache with them as satisfied, so a nested `actor@permission` entry that is one
/// of them counts without being weighed, and so does `level` itself.
pub fn weigh_with_permissions(
    accounts: &Accounts<'_>,
    level: &PermissionLevel,
    keys: &[PublicKey],
    permissions: &[PermissionLevel],
    depth_limit: u16,
) -> Option<Tally> {
    let account = accounts.get(level.actor)?;
    let auth = &account.permission(level.permission)?.required_auth;
    let mut cache = BTreeMap::new();
    for p in permissions {
        cache.insert((p.actor, p.permission), Status::Satisfied);
    }
    if permissions.contains(level) {
        return Some(Tally {
            satisfied: true,
            threshold: auth.threshold,
            entries: vec![format!("{}@{} granted", level.actor, level.permission)],
            ..Tally::default()
        });
    }
    let mut c = Checker {
        accounts,
        keys,
        depth_limit,
        cache,
        unread: Vec::new(),
    };
    // nodeos enters the top permission as a nested entry at depth 0.
    let w = if depth_limit == 0 {
        Weighed {
            satisfied: false,
            weight: 0,
            used: Vec::new(),
            lines: vec!["not followed: max_authority_depth is 0".into()],
        }
    } else {
        c.cache
            .insert((level.actor, level.permission), Status::BeingEvaluated);
        c.weigh(auth, 1)
    };
    Some(Tally {
        satisfied: w.satisfied,
        weight: w.weight,
        threshold: auth.threshold,
        used_keys: w.used,
        entries: w.lines,
        unread: c.unread,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lvl(actor: &str, perm: &str) -> PermissionLevel {
        PermissionLevel {
            actor: actor.parse().unwrap(),
            permission: perm.parse().unwrap(),
        }
    }

    /// `ourbp@failover` = 2 of obs1..3@active, as recorded on a real chain.
    #[test]
    fn granted_levels_count_like_eosio_msig_approvals() {
        let path = format!(
            "{}/../../fixtures/msig/leap41_msig_get_account_ourbp.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let ourbp: Account = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let accounts = Accounts::new([&ourbp]);
        let failover = lvl("ourbp", "failover");
        let weigh = |granted: &[PermissionLevel]| {
            weigh_with_permissions(&accounts, &failover, &[], granted, MAX_AUTHORITY_DEPTH).unwrap()
        };
        // The observers' own accounts are not supplied: granted levels need no lookup.
        let one = weigh(&[lvl("obs1", "active")]);
        assert!(!one.satisfied);
        assert_eq!((one.weight, one.threshold), (1, 2));
        let two = weigh(&[lvl("obs1", "active"), lvl("obs3", "active")]);
        assert!(two.satisfied, "{:?}", two.entries);
        assert!(two.used_keys.is_empty());
        // Another permission of an observer is not its active.
        assert!(!weigh(&[lvl("obs1", "owner"), lvl("obs2", "owner")]).satisfied);
        // The level itself, granted, is met outright.
        assert!(weigh(std::slice::from_ref(&failover)).satisfied);
        // Without grants it is the keys-only weigh.
        assert_eq!(
            weigh(&[]),
            weigh_with_permissions(&accounts, &failover, &[], &[], MAX_AUTHORITY_DEPTH).unwrap()
        );
        assert!(!weigh(&[]).satisfied);
    }
}
