//! What must survive a restart: the switches made (for the cooldown and the flap budget)
//! and a switch in flight, so a restart in the middle of a failover neither repeats nor
//! forgets it.
//!
//! The file is JSON, written atomically (temp file, fsync, rename, fsync of the folder).
//! A corrupt file or one written by a newer version is an error, never a silent reset.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::antelope::{Checksum256, PublicKey};

pub const STATE_VERSION: u32 = 1;
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
}

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

    pub fn last_switch(&self) -> Option<&SwitchRecord> {
        self.switches.last()
    }

    pub fn automatic_switches_since(&self, since_ms: i64) -> usize {
        self.switches
            .iter()
            .filter(|s| s.automatic && s.at_ms >= since_ms)
            .count()
    }

    pub fn automatic_switches_last_day(&self, now_ms: i64) -> usize {
        self.automatic_switches_since(now_ms - DAY_MS)
    }
}

#[derive(Debug, Error)]
pub enum StateError {
    #[error("cannot read state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "state file {path} is corrupt ({source}); it records past switches and any switch in \
         flight, so it is not reset silently: inspect it, and move it away only if no switch is in progress"
    )]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "state file {path} has version {found}, newer than this program's {STATE_VERSION}: \
         run the newer bp-failover, or move the file away if you are downgrading on purpose"
    )]
    FutureVersion { path: PathBuf, found: u32 },
    #[error("cannot write state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Parses state text (pure; `load` adds the I/O).
pub fn parse(text: &str, path: &Path) -> Result<State, StateError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        version: u32,
    }
    let corrupt = |source| StateError::Corrupt {
        path: path.to_path_buf(),
        source,
    };
    let v: VersionOnly = serde_json::from_str(text).map_err(corrupt)?;
    if v.version > STATE_VERSION {
        return Err(StateError::FutureVersion {
            path: path.to_path_buf(),
            found: v.version,
        });
    }
    serde_json::from_str(text).map_err(corrupt)
}

/// Loads the state; a missing file is a fresh state.
pub fn load(path: &Path) -> Result<State, StateError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::new()),
        Err(source) => Err(StateError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes the state atomically: a reader sees the old file or the new one, never a mix.
pub fn save(path: &Path, state: &State) -> Result<(), StateError> {
    let mut text = serde_json::to_string_pretty(state).expect("state serializes");
    text.push('\n');
    crate::fsutil::write_atomic(path, text.as_bytes()).map_err(|source| StateError::Write {
        path: path.to_path_buf(),
        source,
    })
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
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(load(&path).unwrap(), State::new());
        let mut s = State::new();
        s.record_switch(record(5, true));
        s.pending = Some(PendingSwitch {
            to: "backup".into(),
            to_key: PublicKey::NULL,
            since_ms: 5,
            tx_id: Some(Checksum256([9; 32])),
            expires_ms: Some(60_005),
            ours: true,
        });
        save(&path, &s).unwrap();
        assert_eq!(load(&path).unwrap(), s);
        // Overwrite keeps working (rename over an existing file).
        s.pending = None;
        save(&path, &s).unwrap();
        assert_eq!(load(&path).unwrap(), s);
    }

    #[test]
    fn corrupt_and_future_files_are_errors() {
        let p = Path::new("/var/lib/x/state.json");
        let e = parse("{not json", p).unwrap_err().to_string();
        assert!(
            e.contains("corrupt") && e.contains("/var/lib/x/state.json"),
            "{e}"
        );
        let e = parse(r#"{"version": 99, "switches": [], "pending": null}"#, p).unwrap_err();
        assert!(matches!(e, StateError::FutureVersion { found: 99, .. }));
        let e = parse(
            r#"{"version": 1, "switches": [], "pending": null, "x": 1}"#,
            p,
        );
        assert!(matches!(e, Err(StateError::Corrupt { .. })));
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
