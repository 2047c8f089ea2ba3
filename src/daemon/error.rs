//! Why the daemon cannot start or stop cleanly.

use std::path::PathBuf;

use crate::api::client::HttpClientError;
use crate::state_file::StateError;

/// Why [`Daemon::new`](super::Daemon::new) or [`Daemon::run`](super::Daemon::run) failed.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] HttpClientError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(
        "the state directory {} is not writable ({source}): the state is saved before every \
         push; fix its permissions or free disk space, or set [state] path elsewhere",
        dir.display()
    )]
    StateDirNotWritable {
        dir: PathBuf,
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;
    use crate::daemon::executor::ExecError;

    #[test]
    fn a_state_directory_that_cannot_be_written_is_named_with_the_fix_and_keeps_its_cause() {
        let e = DaemonError::StateDirNotWritable {
            dir: PathBuf::from("/var/lib/bp"),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        };
        assert_eq!(
            e.to_string(),
            "the state directory /var/lib/bp is not writable (denied): the state is saved \
             before every push; fix its permissions or free disk space, or set [state] path \
             elsewhere"
        );
        assert_eq!(e.source().map(|s| s.to_string()).as_deref(), Some("denied"));
    }

    #[test]
    fn a_state_error_reads_as_itself_and_an_unsaved_push_keeps_its_former_text() {
        let state = || StateError::NoDirectory {
            dir: PathBuf::from("/nope"),
        };
        let e = DaemonError::from(state());
        assert_eq!(e.to_string(), state().to_string());
        // The text the push failure had when it was an `anyhow` chain (`{:#}`): the
        // message, then each cause.
        let pushed = ExecError::NotSaved(StateError::Read {
            path: PathBuf::from("/s/state.json"),
            source: std::io::Error::other("disk gone"),
        });
        assert_eq!(
            pushed.to_string(),
            "no endpoint accepted the transaction: cannot read state file /s/state.json: \
             disk gone: disk gone"
        );
        assert!(pushed.source().is_some());
    }
}
