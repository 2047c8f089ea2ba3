//! The state file on disk: atomic saves, the one-daemon lock, and the manual-switch
//! hand-over file that `failover` leaves for a running daemon. The state itself is typed
//! in `failover_core::decision::state`.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::decision::state::{ManualSwitch, State, StateParseError, STATE_VERSION};

#[derive(Debug, Error)]
pub enum StateError {
    #[error(
        "state directory {} does not exist: create it for the daemon's user \
         (e.g. install -d -m 0700 {}) or fix state.path",
        dir.display(), dir.display()
    )]
    NoDirectory { dir: PathBuf },
    #[error(
        "state file {path} is in use by another bp-failover (pid {pid}, lock {lock}): \
         one daemon per state file; stop that one first, or give this one its own state.path"
    )]
    Locked {
        path: PathBuf,
        lock: PathBuf,
        pid: String,
    },
    #[error("cannot lock {lock}: {source}")]
    Lock {
        lock: PathBuf,
        source: std::io::Error,
    },
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

/// Parses state text (`load` adds the I/O and the file's name).
pub fn parse(text: &str, path: &Path) -> Result<State, StateError> {
    State::parse(text).map_err(|e| match e {
        StateParseError::Corrupt(source) => StateError::Corrupt {
            path: path.to_path_buf(),
            source,
        },
        StateParseError::FutureVersion(found) => StateError::FutureVersion {
            path: path.to_path_buf(),
            found,
        },
    })
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

/// The lock file beside the state file.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// Where `failover` leaves its manual switch for a running daemon (which holds the lock).
pub fn manual_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".manual");
    path.with_file_name(name)
}

/// An exclusive advisory lock on `<state file>.lock` (holding this process's pid),
/// released when dropped or when the process exits, however it exits.
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

/// Takes the state file's lock, or says which process holds it. A missing state
/// directory is its own error.
pub fn try_lock(path: &Path) -> Result<StateLock, StateError> {
    use std::io::{Read, Seek, Write};
    let lock = lock_path(path);
    let dir = match lock.parent() {
        Some(d) if d.as_os_str().is_empty() => Path::new("."),
        Some(d) => d,
        None => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(StateError::NoDirectory {
            dir: dir.to_path_buf(),
        });
    }
    let err = |source| StateError::Lock {
        lock: lock.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(StateError::Locked {
                path: path.to_path_buf(),
                lock,
                pid: if pid.is_empty() {
                    "unknown".into()
                } else {
                    pid.into()
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(err(e)),
    }
    file.set_len(0).map_err(err)?;
    file.rewind().map_err(err)?;
    writeln!(file, "{}", std::process::id()).map_err(err)?;
    Ok(StateLock { _file: file })
}

/// Leaves a manual switch for the running daemon (atomically).
pub fn write_manual(path: &Path, m: &ManualSwitch) -> Result<(), StateError> {
    let p = manual_path(path);
    let text = serde_json::to_string(m).expect("serializes");
    crate::fsutil::write_atomic(&p, text.as_bytes())
        .map_err(|source| StateError::Write { path: p, source })
}

/// Takes (reads and removes) a manual switch left by `failover`, if any. An unreadable
/// file is reported and removed, never fatal.
pub fn take_manual(path: &Path) -> Option<ManualSwitch> {
    let m = peek_manual(path);
    remove_manual(path);
    m
}

/// Reads a manual switch left by `failover` without removing it (the daemon removes it
/// once it has booked it, so a restart in between does not lose it). An unreadable file
/// is reported and removed, never fatal.
pub fn peek_manual(path: &Path) -> Option<ManualSwitch> {
    let p = manual_path(path);
    let text = std::fs::read_to_string(&p).ok()?;
    match serde_json::from_str(&text) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(file = %p.display(), error = %e, "ignoring an unreadable manual switch record");
            remove_manual(path);
            None
        }
    }
}

/// Removes the manual switch record, if any.
pub fn remove_manual(path: &Path) {
    let _ = std::fs::remove_file(manual_path(path));
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
    use crate::antelope::Checksum256;
    use crate::antelope::PublicKey;
    use crate::decision::state::{MsigRecord, PendingSwitch, SwitchRecord};

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
    fn a_version_1_file_still_loads() {
        let p = Path::new("/x/state.json");
        let s = parse(r#"{"version": 1, "switches": [], "pending": null}"#, p).unwrap();
        assert_eq!(s.hold_until_ms, None);
        assert_eq!(s.version, STATE_VERSION);
        let mut s = State::new();
        s.hold_until_ms = Some(42);
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(parse(&text, p).unwrap().hold_until_ms, Some(42));
    }

    #[test]
    fn the_msig_record_round_trips_and_older_files_have_none() {
        let p = Path::new("/x/state.json");
        let s = parse(r#"{"version": 2, "switches": [], "pending": null}"#, p).unwrap();
        assert_eq!(s.msig, None);
        assert!(!serde_json::to_string(&s).unwrap().contains("msig"));
        let mut s = State::new();
        s.msig = Some(MsigRecord {
            proposer: crate::antelope::Name::literal("obs1"),
            proposal_name: crate::antelope::Name::literal("bpf123451234"),
            to_key: PublicKey::NULL,
            ours: true,
            approved: true,
            executed: false,
            expires_ms: 1_800_000,
        });
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(parse(&text, p).unwrap(), s);
    }

    #[test]
    fn one_lock_per_state_file_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let held = try_lock(&path).unwrap();
        let e = try_lock(&path).unwrap_err().to_string();
        assert!(
            e.contains(&format!("pid {}", std::process::id())) && e.contains("state.json.lock"),
            "{e}"
        );
        drop(held);
        assert!(try_lock(&path).is_ok());
        let e = try_lock(&dir.path().join("missing/state.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("state directory") && e.contains("does not exist"),
            "{e}"
        );
    }

    #[test]
    fn a_manual_switch_is_handed_over_once_and_never_automatic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let m = ManualSwitch {
            at_ms: 7,
            from: "primary".into(),
            to: "backup".into(),
            to_key: PublicKey::NULL,
        };
        write_manual(&path, &m).unwrap();
        let taken = take_manual(&path).unwrap();
        assert_eq!(taken, m);
        assert!(take_manual(&path).is_none());
        let mut s = State::new();
        s.record_manual(&taken, None);
        s.record_manual(&taken, None);
        assert_eq!(s.switches.len(), 1);
        assert_eq!(s.automatic_switches_last_day(10), 0);
    }
}
