//! Proves, before and without pushing, that the signer's key would authorize the key
//! switch: reads the accounts involved (ours, then any account whose permission ours
//! names, as far as nodeos would follow) and applies nodeos' rules from
//! [`crate::authority`]. `compute_transaction` cannot do this: it does not check
//! signatures (reference §10).

use thiserror::Error;

use crate::antelope::{Name, PublicKey};
use crate::api::types::Account;
use crate::api::{ApiError, EndpointPool};
use crate::authority::{self, Accounts, Declared, Refusal};

/// At most this many accounts are read for one check (ours and those it names).
const MAX_ACCOUNTS: usize = 8;

/// Why the authorization could not be verified, with the fix.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("authorization NOT verified: {reason}; fix: {fix}")]
pub struct AuthFailure {
    pub reason: String,
    pub fix: String,
    /// The refusal nodeos would give, when the accounts were read.
    pub refusal: Option<Refusal>,
}

/// Why an account could not be read: no endpoint to ask, or each endpoint's failure.
#[derive(Debug, Error)]
enum ReadAccountError {
    #[error("no endpoint to ask")]
    NoEndpoint,
    #[error("{}", join_errors(.0))]
    Failed(Vec<ApiError>),
}

fn join_errors(errors: &[ApiError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reads `name`'s account from the first endpoint in `order` that answers.
async fn read_account(
    pool: &EndpointPool,
    order: &[usize],
    name: Name,
) -> Result<Account, ReadAccountError> {
    match pool.first_success(order, |c| c.get_account(name)).await {
        Ok((_, a)) => Ok(a),
        Err(errs) if errs.is_empty() => Err(ReadAccountError::NoEndpoint),
        Err(errs) => Err(ReadAccountError::Failed(errs)),
    }
}

/// Verifies that `signer` alone authorizes every declared authorization, as nodeos would.
/// On success, one sentence saying what was verified.
pub(crate) async fn verify_authority(
    pool: &EndpointPool,
    order: &[usize],
    declared: &[Declared],
    signer: PublicKey,
) -> Result<String, AuthFailure> {
    let mut read: Vec<Account> = Vec::new();
    let mut tried: Vec<Name> = Vec::new();
    let mut wanted: Vec<Name> = declared.iter().map(|d| d.level.actor).collect();
    let key_text = signer.to_string();
    loop {
        for name in std::mem::take(&mut wanted) {
            if tried.contains(&name) || tried.len() >= MAX_ACCOUNTS {
                continue;
            }
            tried.push(name);
            match read_account(pool, order, name).await {
                Ok(a) => read.push(a),
                // Our own account must be read; a nested one that cannot be is reported
                // as not read by the rules.
                Err(e) if declared.iter().any(|d| d.level.actor == name) => {
                    return Err(AuthFailure {
                        reason: format!("cannot read account {name}: {e}"),
                        fix: format!(
                            "check that the account {name} exists on this chain and that an endpoint answers get_account"
                        ),
                        refusal: None,
                    })
                }
                Err(e) => {
                    tracing::warn!(account = %name, error = %e, "cannot read an account named in our permission")
                }
            }
        }
        let accounts = Accounts::new(read.iter());
        match authority::check_transaction(&accounts, declared, &[signer]) {
            Ok(lines) => return Ok(format!("authorization verified: {}", lines.join("; "))),
            Err(Refusal::Unsatisfied { ref tally, .. })
                if tally
                    .unread
                    .iter()
                    .any(|l| !tried.contains(&l.actor) && tried.len() < MAX_ACCOUNTS) =>
            {
                wanted = tally.unread.iter().map(|l| l.actor).collect();
            }
            Err(r) => {
                return Err(AuthFailure {
                    reason: format!("signing with {key_text}: {r}"),
                    fix: authority::fix(&r, &accounts, &key_text),
                    refusal: Some(r),
                })
            }
        }
    }
}
