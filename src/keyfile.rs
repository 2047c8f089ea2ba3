//! Reading and writing the failover private key.
//!
//! The key lives in a file of its own (mode 0600) or an environment variable, never in
//! the config. Errors name the file or variable and the fix, never the key text.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;
use zeroize::Zeroizing;

use crate::antelope::{KeyError, PrivateKey};

/// A key file larger than this is not a key file.
const MAX_KEY_FILE_BYTES: u64 = 4096;

#[derive(Debug, Error)]
pub enum KeyFileError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "key file {path} is readable or writable by group or others (mode {mode:04o}): \
         run `chmod 600 {path}`"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("key file {path} is not a regular file: point it at the file holding the private key")]
    NotAFile { path: PathBuf },
    #[error("key file {path} is larger than {MAX_KEY_FILE_BYTES} bytes: it is not a key file")]
    TooLarge { path: PathBuf },
    #[error("key file {path} does not hold one valid private key: {source}")]
    Parse { path: PathBuf, source: KeyError },
    #[error("environment variable {var} is not set: export it or use key_file instead")]
    EnvMissing { var: String },
    #[error("environment variable {var} does not hold one valid private key: {source}")]
    EnvParse { var: String, source: KeyError },
    #[error(
        "refusing to overwrite {path}: it already exists; choose another path or remove it first"
    )]
    Exists { path: PathBuf },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Parses exactly one key from text (surrounding whitespace allowed).
pub fn parse_single_key(text: &str) -> Result<PrivateKey, KeyError> {
    let trimmed = text.trim();
    if trimmed.split_whitespace().nth(1).is_some() {
        return Err(KeyError::Format {
            what: "private key",
            expected: "a single key, but the input holds several words",
        });
    }
    PrivateKey::parse(trimmed)
}

/// Opens a key file and checks it is a regular, small file only its owner may access,
/// without reading the key (config validation uses this before anything else runs).
pub fn open_key_file(path: &Path) -> Result<std::fs::File, KeyFileError> {
    let read_err = |source| KeyFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    // Checked before opening: opening a FIFO blocks until something writes to it.
    if !std::fs::metadata(path).map_err(read_err)?.is_file() {
        return Err(KeyFileError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let file = std::fs::File::open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(KeyFileError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    check_owner_only(path, &meta)?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyFileError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

/// Reads a private key from a file that only its owner may read.
pub fn read_key_file(path: &Path) -> Result<PrivateKey, KeyFileError> {
    let read_err = |source| KeyFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = open_key_file(path)?;
    for w in key_file_warnings(path) {
        tracing::warn!("{w}");
    }
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read_err)?;
    parse_single_key(&text).map_err(|source| KeyFileError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(unix)]
fn check_owner_only(path: &Path, meta: &std::fs::Metadata) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), KeyFileError> {
    Ok(())
}

/// What is risky about where a key file lives, as sentences naming the fix: a file owned
/// by another user (who can replace it), or a directory others can write to (anyone can
/// swap the file).
#[cfg(unix)]
pub fn key_file_warnings(path: &Path) -> Vec<String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut out = Vec::new();
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    if let (Ok(meta), Some(me)) = (std::fs::metadata(path), me) {
        if meta.uid() != me {
            out.push(format!(
                "key file {} is owned by uid {}, not by the user running bp-failover (uid {me}): \
                 that user can replace the key; chown it to this user",
                path.display(),
                meta.uid()
            ));
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if let Ok(meta) = std::fs::metadata(&dir) {
        if meta.permissions().mode() & 0o002 != 0 {
            out.push(format!(
                "key file {} is in {}, a directory anyone can write to: anyone can swap the \
                 file; move it to a directory only this user can write",
                path.display(),
                dir.display()
            ));
        }
    }
    out
}

#[cfg(not(unix))]
pub fn key_file_warnings(_path: &Path) -> Vec<String> {
    Vec::new()
}

/// Reads a private key from an environment variable, then removes the variable from this
/// process's environment (child processes and `/proc/PID/environ` readers of the
/// inherited copy aside, the key is not kept there).
pub fn read_key_env(var: &str) -> Result<PrivateKey, KeyFileError> {
    let value = Zeroizing::new(std::env::var(var).map_err(|_| KeyFileError::EnvMissing {
        var: var.to_string(),
    })?);
    std::env::remove_var(var);
    parse_single_key(&value).map_err(|source| KeyFileError::EnvParse {
        var: var.to_string(),
        source,
    })
}

/// Writes `key` as `PVT_K1_…` to a new file with mode 0600; never overwrites.
pub fn write_new_key_file(path: &Path, key: &PrivateKey) -> Result<(), KeyFileError> {
    let write_err = |source| KeyFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            write_err(e)
        }
    })?;
    let mut text = key.to_pvt_k1_string();
    text.push('\n');
    file.write_all(text.as_bytes()).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const WIF: &str = "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zFu";

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn reads_a_private_file_and_refuses_a_shared_one() {
        let dir = tempfile::tempdir().unwrap();
        let good = write(dir.path(), "good.key", &format!("{WIF}\n"), 0o600);
        assert!(read_key_file(&good).is_ok());
        let shared = write(dir.path(), "shared.key", WIF, 0o644);
        let err = read_key_file(&shared).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        assert!(err.contains("0644"), "{err}");
        assert!(!err.contains(WIF));
    }

    #[test]
    fn errors_name_the_file_but_never_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut bad = WIF.to_string();
        bad.pop();
        bad.push('x');
        let path = write(dir.path(), "bad.key", &bad, 0o600);
        let err = read_key_file(&path).unwrap_err().to_string();
        assert!(err.contains("bad.key") && err.contains("checksum"), "{err}");
        assert!(!err.contains(&bad));

        let two = write(dir.path(), "two.key", &format!("{WIF}\n{WIF}\n"), 0o600);
        assert!(read_key_file(&two)
            .unwrap_err()
            .to_string()
            .contains("single key"));

        let missing = read_key_file(&dir.path().join("nope.key"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope.key"), "{missing}");
    }

    #[test]
    fn new_key_file_is_0600_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.key");
        let key = PrivateKey::generate();
        write_new_key_file(&path, &key).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_key_file(&path).unwrap().public_key(), key.public_key());
        let again = write_new_key_file(&path, &PrivateKey::generate()).unwrap_err();
        assert!(matches!(again, KeyFileError::Exists { .. }));
        // The original key is intact.
        assert_eq!(read_key_file(&path).unwrap().public_key(), key.public_key());
    }

    #[test]
    fn a_fifo_is_refused_at_once_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.key");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let (tx, rx) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(read_key_file(&path).map(drop).map_err(|e| e.to_string()));
        });
        let r = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("reading a FIFO key file must not hang");
        let err = r.unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
    }

    #[test]
    fn warns_about_a_directory_anyone_can_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "k.key", WIF, 0o600);
        assert!(key_file_warnings(&path).is_empty());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let w = key_file_warnings(&path);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("anyone can write"), "{w:?}");
        assert!(!w[0].contains(WIF));
    }

    #[test]
    fn key_env_is_removed_after_reading() {
        let var = "BP_FAILOVER_KEYFILE_UNIT_TEST_KEY";
        std::env::set_var(var, WIF);
        assert!(read_key_env(var).is_ok());
        assert!(std::env::var_os(var).is_none());
        assert!(matches!(
            read_key_env(var),
            Err(KeyFileError::EnvMissing { .. })
        ));
    }
}
