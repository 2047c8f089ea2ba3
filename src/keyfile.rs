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

/// Reads a private key from an environment variable.
pub fn read_key_env(var: &str) -> Result<PrivateKey, KeyFileError> {
    let value = Zeroizing::new(std::env::var(var).map_err(|_| KeyFileError::EnvMissing {
        var: var.to_string(),
    })?);
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
}
