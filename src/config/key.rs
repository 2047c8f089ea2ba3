//! The failover key's source: a key file (checked for permissions, never read here) or
//! an environment variable. Only commands that sign read the key ([`KeySource::load`]).

use std::path::{Path, PathBuf};

use super::{resolve, Findings};
use crate::antelope::PrivateKey;
use crate::keyfile::{self, KeyFileError};

/// Where the signing key comes from. Never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    Env(String),
}

/// The key source of `[{sec}]` (`producer`, or `msig` in k-of-n mode), or `--key-file`
/// when given.
pub(super) fn key_source(
    f: &mut Findings,
    base: &Path,
    sec: &str,
    key_file: &Option<PathBuf>,
    key_env: &Option<String>,
) -> Option<KeySource> {
    let overridden = f.key.key_file.clone();
    match (key_file, key_env) {
        _ if overridden.is_some() => {
            let path = overridden.unwrap_or_default();
            match check_key_file(&path) {
                Ok(()) => Some(KeySource::File(path)),
                Err((message, fix)) if f.key.read_only => {
                    f.warn(
                        "--key-file",
                        format!("{message}; commands that sign will fail"),
                        fix,
                    );
                    Some(KeySource::File(path))
                }
                Err((message, fix)) => {
                    f.error("--key-file", message, fix);
                    None
                }
            }
        }
        (Some(_), Some(_)) => {
            f.error(
                format!("{sec}.key_file"),
                format!("and {sec}.key_env are both set"),
                "keep exactly one of them",
            );
            None
        }
        (None, None) => {
            f.error(
                sec,
                "has neither key_file nor key_env",
                "set key_file = \"/etc/bp-failover/failover.key\" (then chmod 600 it) or key_env = \"BP_FAILOVER_KEY\"",
            );
            None
        }
        (Some(file), None) => {
            let path = resolve(base, file);
            match check_key_file(&path) {
                Ok(()) => Some(KeySource::File(path)),
                // Read-only commands do not need the key: they still run.
                Err((message, fix)) if f.key.read_only => {
                    f.warn(
                        format!("{sec}.key_file"),
                        format!("{message}; commands that sign will fail"),
                        format!("{fix} (or pass --key-file)"),
                    );
                    Some(KeySource::File(path))
                }
                Err((message, fix)) => {
                    f.error(
                        format!("{sec}.key_file"),
                        message,
                        format!("{fix} (or pass --key-file)"),
                    );
                    None
                }
            }
        }
        (None, Some(var)) => {
            let valid = !var.is_empty()
                && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !var.as_bytes()[0].is_ascii_digit();
            if !valid {
                f.error(
                    format!("{sec}.key_env"),
                    format!("{var:?} is not a valid environment variable name"),
                    "use letters, digits and '_', e.g. BP_FAILOVER_KEY",
                );
                None
            } else {
                if std::env::var_os(var).is_none() {
                    f.warn(
                        format!("{sec}.key_env"),
                        format!(
                            "{var} is not set in this environment; commands that sign will fail"
                        ),
                        format!("export {var} in the service environment"),
                    );
                }
                Some(KeySource::Env(var.clone()))
            }
        }
    }
}

/// Checks a key file without reading its content: it exists, is a regular file, grants no
/// permission to group or others, and can be opened by this user.
/// Checks the key file without reading the key: `(message, fix)` on failure.
fn check_key_file(path: &Path) -> Result<(), (String, String)> {
    let shown = path.display();
    keyfile::open_key_file(path).map(drop).map_err(|e| {
        if let KeyFileError::Permissions { mode, .. } = e {
            return (
                format!("key file {shown} has mode {mode:04o}: group or others may access the private key"),
                format!("chmod 600 {shown}"),
            );
        }
        let fix = match &e {
            KeyFileError::Permissions { .. } => format!("chmod 600 {shown}"),
            KeyFileError::Read { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                format!("chown {shown} to the user running bp-failover and chmod 600 {shown}")
            }
            KeyFileError::Read { .. } => format!(
                "create {shown} holding the failover private key (WIF or PVT_K1_…), then chmod 600 {shown}"
            ),
            _ => "point key_file at the file holding the private key".to_string(),
        };
        (e.to_string(), fix)
    })
}

impl KeySource {
    /// Reads and parses the private key. Only commands that sign call this.
    pub fn load(&self) -> Result<PrivateKey, KeyFileError> {
        match self {
            KeySource::File(path) => keyfile::read_key_file(path),
            KeySource::Env(var) => keyfile::read_key_env(var),
        }
    }
}
