//! The fixes: `cleos` commands with the real names and keys, quoted for a shell.

use crate::antelope::{Name, PublicKey};
use crate::authority;
use crate::snapshot::Fetched;

// ---------------------------------------------------------------------------------------
// cleos commands
// ---------------------------------------------------------------------------------------

/// `s` as one shell word.
pub(super) fn sh(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

pub(super) fn owner() -> Name {
    Name::literal("owner")
}

pub(super) fn active() -> Name {
    Name::literal("active")
}

pub(super) fn eosio() -> Name {
    Name::literal("eosio")
}

pub(super) fn cleos_link(acct: Name, action: Name, perm: Name) -> String {
    authority::cleos_link(acct, eosio(), action, perm)
}

pub(super) fn cleos_regproducer(acct: Name, key: &PublicKey, url: &str, location: &str) -> String {
    format!("cleos system regproducer {acct} {key} {url} {location} -p {acct}@active")
}

pub(super) fn cleos_regfinkey(acct: Name, key: &str) -> String {
    format!(
        "cleos push action eosio regfinkey '[\"{acct}\",\"{key}\",\"SIG_BLS_<proof of possession>\"]' -p {acct}@active"
    )
}

pub(super) fn cleos_actfinkey(acct: Name, key: &str) -> String {
    format!("cleos push action eosio actfinkey '[\"{acct}\",\"{key}\"]' -p {acct}@active")
}

pub(super) const POP_NOTE: &str = "the proof of possession (SIG_BLS_…) is printed with the key by `spring-util bls create key`; for a key already on the node, take it from where the key was made";

/// The signer's public key as text for a fix, or a placeholder when it did not load.
pub(super) fn signer_text(signer: &Result<PublicKey, String>) -> String {
    match signer {
        Ok(k) => k.to_string(),
        Err(_) => "<failover public key>".to_string(),
    }
}

/// Says where a read came from when it was not from an agreeing endpoint.
pub(super) fn provenance<T>(f: &Fetched<T>) -> String {
    match (&f.source, f.verified) {
        (Some(src), false) => {
            format!(" (read from {src}, outside an agreeing majority of endpoints: unverified)")
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::sh;

    #[test]
    fn urls_are_quoted_for_the_shell() {
        assert_eq!(sh("https://bp.example/x_y-z"), "https://bp.example/x_y-z");
        assert_eq!(sh(""), "''");
        assert_eq!(sh("https://a b"), "'https://a b'");
        assert_eq!(sh("it's"), r"'it'\''s'");
        assert_eq!(sh("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
