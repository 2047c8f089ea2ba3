//! The manual switch in the state file: recorded as manual so no daemon books it against
//! its automatic flap budget.

use crate::antelope::Checksum256;
use crate::config::{self, Config};
use crate::decision::state::{ManualSwitch, MsigRecord};
use crate::state_file::{self, StateError, StateLock};

/// The switch, recorded as manual so no daemon books it against its automatic flap
/// budget: in the state file under its lock when no daemon runs, else handed to the
/// running daemon (which holds the lock) before the push.
pub(crate) struct ManualRecord {
    switch: ManualSwitch,
    lock: Option<StateLock>,
}

impl ManualRecord {
    pub(crate) fn prepare(
        config: &Config,
        from: String,
        target: &config::Datacenter,
        now_ms: i64,
    ) -> Self {
        let path = &config.state.path;
        let switch = ManualSwitch {
            at_ms: now_ms,
            from,
            to: target.name.clone(),
            to_key: target.signing_key,
        };
        let lock = match state_file::try_lock(path) {
            Ok(lock) => Some(lock),
            Err(StateError::Locked { pid, .. }) => {
                match state_file::write_manual(path, &switch) {
                    Ok(()) => eprintln!(
                        "the daemon running on {} (pid {pid}) will record this switch as manual",
                        path.display()
                    ),
                    Err(e) => {
                        eprintln!("warning: cannot record the switch for the running daemon: {e}")
                    }
                }
                None
            }
            Err(e) => {
                eprintln!("warning: the switch is not recorded in the state file: {e}");
                None
            }
        };
        ManualRecord { switch, lock }
    }

    /// `[msig]` mode: writes the proposal as this observer acted on it (`State.msig`, the
    /// record the daemon keeps) into the state file under its lock, so a daemon started
    /// later neither approves it twice nor forgets to cancel it once stale. A running
    /// daemon holds the lock; it reads the approvals from the chain itself.
    pub(crate) fn commit_msig(&self, config: &Config, record: MsigRecord) {
        if self.lock.is_none() {
            return;
        }
        let path = &config.state.path;
        let r = state_file::load(path).and_then(|mut s| {
            s.msig = Some(record);
            state_file::save(path, &s)
        });
        if let Err(e) = r {
            eprintln!("warning: the msig proposal is not recorded in the state file: {e}");
        }
    }

    /// After the push was accepted: writes the record into the state file (if we hold
    /// the lock).
    pub(crate) fn commit(self, config: &Config, tx_id: Checksum256) {
        if self.lock.is_none() {
            return;
        }
        let path = &config.state.path;
        let r = state_file::load(path).and_then(|mut s| {
            s.record_manual(&self.switch, Some(tx_id));
            state_file::save(path, &s)
        });
        if let Err(e) = r {
            eprintln!("warning: the switch is not recorded in the state file: {e}");
        }
    }
}
