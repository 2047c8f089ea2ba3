//! What must survive a restart: the switches made (for the cooldown and the flap budget)
//! and a switch in flight, so a restart in the middle of a failover neither repeats nor
//! forgets it.
//!
//! The file is JSON, written atomically (temp file, fsync, rename, fsync of the folder).
//! A corrupt file or one written by a newer version is an error, never a silent reset.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use antelope::{Checksum256, PublicKey};

/// 2 added `hold_until_ms` and `key_epochs` (and later, defaulted, `msig`); version 1 files
/// load unchanged (they default to none).
pub const STATE_VERSION: u32 = 2;
/// How many past switches are kept (the flap budget needs only the last day's).
const MAX_RECORDS: usize = 64;
const DAY_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchRecord {
    pub at_ms: i64,
    pub from: String,
    pub to: String,
    pub to_key: PublicKey,
    pub automatic: bool,
    pub reason: String,
    pub tx_id: Option<Checksum256>,
}

/// A key change pushed (or seen on chain) and not yet in the active schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingSwitch {
    pub to: String,
    pub to_key: PublicKey,
    /// When the switch was decided (or first seen, if another observer made it).
    pub since_ms: i64,
    /// Our transaction, if we pushed one.
    pub tx_id: Option<Checksum256>,
    /// Its expiration; until then it may still be included.
    pub expires_ms: Option<i64>,
    /// Whether we made it (false: another observer or an operator did).
    pub ours: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub version: u32,
    pub switches: Vec<SwitchRecord>,
    pub pending: Option<PendingSwitch>,
    /// No automatic switch before this time: after a failed attempt or a dry-run
    /// rehearsal, so a restart does not retry at once.
    #[serde(default)]
    pub hold_until_ms: Option<i64>,
    /// Our producer's signing key in the active schedule, from which slot (the newest
    /// last): a restart still books the misses it reads back to the key in force then.
    #[serde(default)]
    pub key_epochs: Vec<KeyEpoch>,
    /// `[msig]` mode: the incident's proposal this observer proposed or approved (absent in
    /// files written before it, and without `[msig]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msig: Option<MsigRecord>,
    /// A confirmed key change whose first block has not been seen yet: a restart before
    /// that block still reports `key_producing` (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_block: Option<AwaitingBlock>,
}

/// A key change in force whose first block signed with the new key is awaited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwaitingBlock {
    pub key: PublicKey,
    pub datacenter: String,
    /// When the switch was decided (Unix ms).
    pub since_ms: i64,
}

/// The `eosio.msig` proposal of the incident in progress, as this observer acted on it: a
/// restart neither approves it twice nor forgets to cancel it once stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsigRecord {
    /// The proposal's scope (the observer account that proposed it).
    pub proposer: antelope::Name,
    pub proposal_name: antelope::Name,
    /// The key it registers.
    pub to_key: PublicKey,
    /// Whether this observer proposed it (only the proposer may cancel it before expiry).
    pub ours: bool,
    /// Whether our approval is in (pushed and accepted).
    pub approved: bool,
    /// Whether we executed it.
    pub executed: bool,
    /// When the proposed transaction expires (Unix ms).
    pub expires_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEpoch {
    pub from_slot: u32,
    pub key: PublicKey,
}

/// Key epochs kept (a restart reads back minutes, not days).
const MAX_KEY_EPOCHS: usize = 16;

impl State {
    pub fn new() -> Self {
        State {
            version: STATE_VERSION,
            ..State::default()
        }
    }

    pub fn record_switch(&mut self, record: SwitchRecord) {
        self.switches.push(record);
        if self.switches.len() > MAX_RECORDS {
            let excess = self.switches.len() - MAX_RECORDS;
            self.switches.drain(..excess);
        }
    }

    /// Records that `key` is our key in the active schedule from `from_slot`; returns
    /// whether that is new.
    pub(crate) fn observe_key(&mut self, from_slot: u32, key: PublicKey) -> bool {
        if self.key_epochs.last().is_some_and(|e| e.key == key) {
            return false;
        }
        self.key_epochs.push(KeyEpoch { from_slot, key });
        if self.key_epochs.len() > MAX_KEY_EPOCHS {
            self.key_epochs.remove(0);
        }
        true
    }

    /// Our key in force at `slot`, as recorded (`None` before the first record).
    pub fn key_at(&self, slot: u32) -> Option<PublicKey> {
        self.key_epochs
            .iter()
            .rev()
            .find(|e| e.from_slot <= slot)
            .map(|e| e.key)
    }

    pub(crate) fn last_switch(&self) -> Option<&SwitchRecord> {
        self.switches.last()
    }

    pub(crate) fn automatic_switches_since(&self, since_ms: i64) -> usize {
        self.switches
            .iter()
            .filter(|s| s.automatic && s.at_ms >= since_ms)
            .count()
    }

    pub fn automatic_switches_last_day(&self, now_ms: i64) -> usize {
        self.automatic_switches_since(now_ms - DAY_MS)
    }
}

/// Why state text does not parse (the app's state file adds the file's name).
#[derive(Debug, Error)]
pub enum StateParseError {
    #[error("{0}")]
    Corrupt(serde_json::Error),
    #[error("version {0} is newer than this program's {STATE_VERSION}")]
    FutureVersion(u32),
}

impl State {
    /// Parses persisted state text: an older version loads (missing fields take their
    /// defaults), a newer one is refused rather than misread.
    pub fn parse(text: &str) -> Result<State, StateParseError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        let v: VersionOnly = serde_json::from_str(text).map_err(StateParseError::Corrupt)?;
        if v.version > STATE_VERSION {
            return Err(StateParseError::FutureVersion(v.version));
        }
        let mut state: State = serde_json::from_str(text).map_err(StateParseError::Corrupt)?;
        state.version = STATE_VERSION;
        Ok(state)
    }
}

/// A switch made by hand with `bp-failover failover` while a daemon held the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualSwitch {
    pub at_ms: i64,
    pub from: String,
    pub to: String,
    pub to_key: PublicKey,
}

impl State {
    /// Records a manual switch (not counted in the flap budget) unless already recorded.
    pub fn record_manual(&mut self, m: &ManualSwitch, tx_id: Option<Checksum256>) {
        let known = self
            .switches
            .iter()
            .any(|r| r.to_key == m.to_key && r.at_ms == m.at_ms);
        if !known {
            self.record_switch(SwitchRecord {
                at_ms: m.at_ms,
                from: m.from.clone(),
                to: m.to.clone(),
                to_key: m.to_key,
                automatic: false,
                reason: "manual (bp-failover failover)".into(),
                tx_id,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at_ms: i64, automatic: bool) -> SwitchRecord {
        SwitchRecord {
            at_ms,
            from: "primary".into(),
            to: "backup".into(),
            to_key: PublicKey::NULL,
            automatic,
            reason: "test".into(),
            tx_id: None,
        }
    }

    #[test]
    fn key_epochs_answer_which_key_was_in_force() {
        let a = PublicKey::NULL;
        let b: PublicKey = "PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs"
            .parse()
            .unwrap();
        let mut s = State::new();
        assert!(s.observe_key(100, a));
        assert!(!s.observe_key(200, a), "same key, no new epoch");
        assert!(s.observe_key(300, b));
        assert_eq!(s.key_at(99), None);
        assert_eq!(s.key_at(250), Some(a));
        assert_eq!(s.key_at(300), Some(b));
        for i in 0..40 {
            s.observe_key(400 + i, if i % 2 == 0 { a } else { b });
        }
        assert_eq!(s.key_epochs.len(), MAX_KEY_EPOCHS);
    }

    #[test]
    fn flap_budget_counts_automatic_switches_of_the_last_day() {
        let mut s = State::new();
        s.record_switch(record(0, true));
        s.record_switch(record(DAY_MS / 2, false));
        s.record_switch(record(DAY_MS, true));
        assert_eq!(s.automatic_switches_last_day(DAY_MS + 1), 1);
        assert_eq!(s.automatic_switches_last_day(DAY_MS), 2);
        for i in 0..100 {
            s.record_switch(record(i, true));
        }
        assert_eq!(s.switches.len(), MAX_RECORDS);
    }
}
