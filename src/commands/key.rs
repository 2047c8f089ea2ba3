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
            let key = PrivateKey::generate();
            keyfile::write_new_key_file(&out, &key)?;
            eprintln!("wrote a new private key to {} (mode 0600)", out.display());
            println!("{}", format_public(&key.public_key(), legacy));
        }
    }
    Ok(ExitCode::SUCCESS)
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
