//! `bp-failover key public|new`.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::Context;
use zeroize::Zeroizing;

use crate::antelope::{PrivateKey, PublicKey};
use crate::cli::KeyCommand;
use crate::keyfile;

/// Longest stdin we read looking for a key.
const MAX_STDIN_BYTES: u64 = 4096;

pub fn run(cmd: KeyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeyCommand::Public { legacy } => {
            let key = read_key_from_stdin()?;
            println!("{}", format_public(&key.public_key(), legacy));
        }
        KeyCommand::New { out, legacy } => {
            // A missing directory is created private (0700), and said so.
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                if !dir.exists() {
                    create_private_dir(dir)?;
                    eprintln!("created directory {} (mode 0700)", dir.display());
                }
            }
            let key = PrivateKey::generate();
            keyfile::write_new_key_file(&out, &key)?;
            eprintln!("wrote a new private key to {} (mode 0600)", out.display());
            println!("{}", format_public(&key.public_key(), legacy));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create directory {} for the key: {e}; create it yourself (install -d -m 0700 {})",
            dir.display(),
            dir.display()
        )
    })
}

fn format_public(key: &PublicKey, legacy: bool) -> String {
    if legacy {
        key.to_legacy_string()
    } else {
        key.to_k1_string()
    }
}

fn read_key_from_stdin() -> anyhow::Result<PrivateKey> {
    let text = if std::io::stdin().is_terminal() {
        // Typed by a person: read without echo.
        Zeroizing::new(
            rpassword::prompt_password("private key (WIF or PVT_K1_, not echoed): ")
                .context("cannot read the private key from the terminal")?,
        )
    } else {
        let mut text = Zeroizing::new(String::new());
        std::io::stdin()
            .take(MAX_STDIN_BYTES)
            .read_to_string(&mut text)
            .context("cannot read the private key from stdin (is it UTF-8 text?)")?;
        text
    };
    if text.trim().is_empty() {
        anyhow::bail!(
            "stdin is empty: pipe one private key (WIF 5… or PVT_K1_…) into this command"
        );
    }
    keyfile::parse_single_key(&text).context("stdin does not hold one valid private key")
}
