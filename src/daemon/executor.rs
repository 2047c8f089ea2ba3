//! Acting: build, sign, push and track the key-switch transaction. The only code that
//! uses the private key (one signing chokepoint); dry runs take the same path and stop
//! just before the push, after proving the authorization ([`super::preflight`]), which the
//! node's `compute_transaction` does not check.
//!
//! Before signing it re-reads the producers row (url and location are re-sent byte for
//! byte; if the key already is the target, another observer did it and nothing is sent),
//! serializes with the chain's own `eosio` ABI after checking its layout for the actions
//! matches the bundled one, and takes TAPOS from the quorum LIB. The intent is written to
//! the state file before the push, so a restart neither repeats nor forgets it. The push
//! goes to every agreeing endpoint at once (duplicates are harmless); failures that a
//! fresh transaction can fix (expired, bad reference block, transient) are retried with
//! new TAPOS within a bounded budget.

use std::time::Instant;

use thiserror::Error;

use crate::antelope::abi::{compare_action_types, eosio_system_abi, Abi};
use crate::antelope::{Name, PackedTransaction, PrivateKey, PublicKey, TimePointSec, Transaction};
use crate::api::pool::Agreed;
use crate::api::{ApiError, ChainClient, EndpointPool, ProducerRow};
use crate::config::{Config, Datacenter};
use crate::keyswitch::{sign_checked, KeySwitch, KeySwitchError};
use crate::quorum::Quorum;
use crate::state_file::StateError;

use super::onchain::row_key;
use super::push::{describe, is_duplicate, join_errors, push_all, retryable};

/// Why a switch could not be carried out.
#[derive(Debug, Error)]
pub enum ExecError {
    #[error("cannot read the producers row of {producer}: {detail}")]
    ProducerRow { producer: Name, detail: String },
    #[error("{producer} is not a registered producer (no row in eosio/producers): register it first with regproducer")]
    NotRegistered { producer: Name },
    #[error("cannot fetch the eosio ABI from any endpoint: {0}")]
    AbiFetch(String),
    #[error("the chain's eosio ABI is unusable: {0}")]
    AbiParse(String),
    #[error(
        "the chain's eosio ABI lays out eosio::{action} differently from the bundled one ({detail}); \
         refusing to sign bytes the contract may read differently"
    )]
    AbiMismatch { action: Name, detail: String },
    #[error(transparent)]
    Build(#[from] KeySwitchError),
    #[error("no endpoint accepted the transaction: {0}")]
    Rejected(String),
    /// The intent could not be saved before the push; nothing was pushed.
    #[error("no endpoint accepted the transaction: {}", with_causes(.0))]
    NotSaved(#[source] StateError),
    #[error(transparent)]
    Unauthorized(#[from] Box<super::preflight::AuthFailure>),
    #[error("cannot read the incident's eosio.msig proposal: {0}")]
    MsigRead(String),
    #[error("dry run: compute_transaction rejected it: {0}")]
    DryRunRejected(String),
}

/// `e` and its causes, `: `-separated.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// What an attempt to switch did.
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchOutcome {
    /// The producers table already holds the target key.
    AlreadySwitched,
    /// Dry run: built and signed, validated where the node could, not pushed.
    DryRun {
        tx_id: crate::antelope::Checksum256,
        body: PackedTransaction,
        validation: String,
    },
    /// Accepted by `endpoint`.
    Pushed {
        tx_id: crate::antelope::Checksum256,
        expires_ms: i64,
        endpoint: String,
        latency_ms: u64,
        attempt: u32,
    },
}

/// The last transaction pushed, kept to check afterwards that every endpoint that
/// acknowledged it really took it ([`Executor::audit_push`]).
struct InFlight {
    body: PackedTransaction,
    /// Endpoints (indices) that answered the push with an acceptance, filled in by the
    /// push tasks as they finish.
    acked: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
    audited: bool,
    /// When it expires (unix ms): no re-push after.
    expires_ms: i64,
    /// When it was last sent (clock ms).
    sent_ms: i64,
    /// Re-pushes so far.
    repushes: u32,
}

/// How long a pushed transaction may stay off chain before it is sent again (several
/// blocks: a node that took it has relayed it by then).
pub(crate) const REPUSH_AFTER_MS: i64 = 3_000;

/// Signs and pushes key switches; caches the chain's ABI.
pub struct Executor {
    key: PrivateKey,
    abi: Option<Abi>,
    in_flight: Option<InFlight>,
    /// Endpoints caught acknowledging pushes they dropped: their acceptance alone does not
    /// count as the push being accepted.
    push_demoted: std::collections::HashSet<usize>,
    /// Seconds from head block time to expiration.
    pub expire_secs: u32,
    /// Builds tried before giving up on one switch.
    pub max_attempts: u32,
}

impl Executor {
    /// Endpoints caught acknowledging a push and dropping it: their acceptance alone no
    /// longer counts.
    pub(crate) fn push_demoted(&self) -> &std::collections::HashSet<usize> {
        &self.push_demoted
    }

    pub fn new(key: PrivateKey) -> Self {
        Executor {
            key,
            abi: None,
            in_flight: None,
            push_demoted: Default::default(),
            expire_secs: 60,
            max_attempts: 3,
        }
    }

    pub fn signer(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The target's finalizer key if `actfinkey` should carry it: registered for the
    /// producer and not already active. The contract rejects activating an active key or
    /// an unregistered one, and that would fail the whole switch; block production
    /// matters more than finalizer voting, so in those cases the key switch goes alone.
    async fn finalizer_to_activate(
        pool: &EndpointPool,
        order: &[usize],
        producer: Name,
        key: &str,
    ) -> Option<String> {
        let active = pool
            .first_success(order, |c| c.get_active_finalizer_key(producer))
            .await;
        if let Ok((_, Some(active))) = &active {
            if active == key {
                return None;
            }
        }
        match pool
            .first_success(order, |c| c.get_finalizer_keys_of(producer))
            .await
        {
            Ok((_, rows)) if rows.iter().any(|r| r.finalizer_key == key) => Some(key.to_string()),
            Ok(_) => {
                tracing::warn!(%producer, key, "finalizer key not registered (regfinkey); switching the block signing key without actfinkey");
                None
            }
            Err(errs) => {
                tracing::warn!(%producer, error = %join_errors(&errs), "cannot read finkeys; switching the block signing key without actfinkey");
                None
            }
        }
    }

    /// Fetches and checks the chain's ABI ahead of need. Returns the majority and the
    /// endpoints that served another layout.
    pub async fn prepare(
        &mut self,
        pool: &EndpointPool,
        order: &[usize],
        actions: &[Name],
    ) -> Result<Agreed<()>, ExecError> {
        self.refresh_abi(pool, order, actions).await
    }

    /// Reads our producers row as a strict majority of the configured endpoints report it
    /// (compared by [`row_fingerprint`]).
    pub async fn producer_row(
        pool: &EndpointPool,
        order: &[usize],
        producer: Name,
    ) -> Result<ProducerRow, ExecError> {
        Self::producer_row_agreed(pool, order, producer)
            .await
            .map(|a| a.value)
    }

    /// [`Self::producer_row`] with the majority's members and the outliers.
    pub async fn producer_row_agreed(
        pool: &EndpointPool,
        order: &[usize],
        producer: Name,
    ) -> Result<Agreed<ProducerRow>, ExecError> {
        let agreed = pool
            .agreed(
                order,
                READ_GRACE,
                |c| c.get_producer(producer),
                |row| row.as_ref().map(row_fingerprint),
            )
            .await
            .map_err(|d| ExecError::ProducerRow {
                producer,
                detail: d.detail,
            })?;
        match agreed.value {
            Some(row) => Ok(Agreed {
                value: row,
                members: agreed.members,
                outliers: agreed.outliers,
            }),
            None => Err(ExecError::NotRegistered { producer }),
        }
    }

    /// Fetches the chain's `eosio` ABI again and keeps it if a majority of endpoints serve
    /// one with the same layout for `actions` and it matches the bundled one; otherwise the
    /// ABI held so far is kept (an ABI is never cached on one endpoint's word).
    pub async fn refresh_abi(
        &mut self,
        pool: &EndpointPool,
        order: &[usize],
        actions: &[Name],
    ) -> Result<Agreed<()>, ExecError> {
        let fetched = pool
            .agreed(
                order,
                READ_GRACE,
                |c| async move {
                    c.get_abi(Name::literal("eosio"))
                        .await
                        .map(|v| Abi::from_json_str(&v.to_string()).map_err(|e| e.to_string()))
                },
                |abi| abi_fingerprint(abi, actions),
            )
            .await
            .map_err(|d| ExecError::AbiFetch(d.detail))?;
        let abi = fetched.value.map_err(ExecError::AbiParse)?;
        check_layout(&abi, actions)?;
        self.abi = Some(abi);
        Ok(Agreed {
            value: (),
            members: fetched.members,
            outliers: fetched.outliers,
        })
    }

    /// The chain's eosio ABI, checked against the bundled one for the actions we send.
    async fn abi(
        &mut self,
        pool: &EndpointPool,
        order: &[usize],
        actions: &[Name],
    ) -> Result<&Abi, ExecError> {
        if self.abi.is_none() {
            self.refresh_abi(pool, order, actions).await?;
        }
        let abi = self.abi.as_ref().expect("set above");
        check_layout(abi, actions)?;
        Ok(abi)
    }

    /// Builds and signs the switch to `target` with TAPOS from the quorum LIB.
    #[allow(clippy::too_many_arguments)]
    async fn build(
        &mut self,
        pool: &EndpointPool,
        order: &[usize],
        config: &Config,
        row: &ProducerRow,
        target: &Datacenter,
        quorum: &Quorum,
        head_time_ms: i64,
        ref_block: &crate::antelope::BlockId,
    ) -> Result<(Transaction, PackedTransaction, i64), ExecError> {
        let actions = self
            .switch_actions(pool, order, config, row, target)
            .await?;
        let expires_ms = head_time_ms + i64::from(self.expire_secs) * 1000;
        self.sign(actions, quorum, ref_block, expires_ms)
            .map(|(tx, body)| (tx, body, expires_ms))
    }

    /// The key switch's actions to `target` as this observer would send them: authorized by
    /// the producer's switching permission, url and location from `row` byte for byte,
    /// `actfinkey` where [`Self::finalizer_to_activate`] says so, serialized with the
    /// chain's checked ABI.
    pub(crate) async fn switch_actions(
        &mut self,
        pool: &EndpointPool,
        order: &[usize],
        config: &Config,
        row: &ProducerRow,
        target: &Datacenter,
    ) -> Result<Vec<crate::antelope::Action>, ExecError> {
        let finalizer_key = match &target.finalizer_key {
            Some(k) => Self::finalizer_to_activate(pool, order, config.producer.account, k).await,
            None => None,
        };
        let switch = KeySwitch {
            producer: config.producer.account,
            permission: config.producer.permission,
            action: config.producer.action,
            signing_key: target.signing_key,
            url: row.url.clone(),
            location: row.location,
            finalizer_key,
        };
        let mut names = vec![switch.action.name()];
        if switch.finalizer_key.is_some() {
            names.push(Name::literal("actfinkey"));
        }
        let abi = self.abi(pool, order, &names).await?;
        Ok(switch.actions(abi)?)
    }

    /// `actions` as a transaction referencing `ref_block` and expiring at `expires_ms`,
    /// signed with this host's key (and the signature checked).
    pub(crate) fn sign(
        &self,
        actions: Vec<crate::antelope::Action>,
        quorum: &Quorum,
        ref_block: &crate::antelope::BlockId,
        expires_ms: i64,
    ) -> Result<(Transaction, PackedTransaction), ExecError> {
        let expiration =
            TimePointSec::from_unix_secs(u32::try_from(expires_ms / 1000).unwrap_or(u32::MAX));
        let tx = Transaction::new(ref_block, expiration, actions);
        let body = sign_checked(&tx, &quorum.chain_id, &self.key)?;
        Ok((tx, body))
    }

    /// Dry run: build and sign, verify the authorization locally with nodeos' rules (the
    /// signer's key, the permission and its links, read from the chain), then let
    /// `compute_transaction` check resources and execution where offered. Fails with the
    /// reason and the fix when the real push would fail.
    #[allow(clippy::too_many_arguments)]
    pub async fn dry_run(
        &mut self,
        pool: &EndpointPool,
        order: &[usize],
        config: &Config,
        target: &Datacenter,
        quorum: &Quorum,
        head_time_ms: i64,
    ) -> Result<SwitchOutcome, ExecError> {
        let row = Self::producer_row(pool, order, config.producer.account).await?;
        if row_key(&row) == Some(target.signing_key) {
            return Ok(SwitchOutcome::AlreadySwitched);
        }
        let (tx, body, _) = self
            .build(
                pool,
                order,
                config,
                &row,
                target,
                quorum,
                head_time_ms,
                &quorum.lib.id,
            )
            .await?;
        // compute_transaction does not check signatures (reference §10): prove the
        // authorization here first, from the accounts as the chain holds them.
        let declared = crate::authority::Declared::of(&tx.actions);
        let verified = super::preflight::verify_authority(pool, order, &declared, self.signer())
            .await
            .map_err(Box::new)?;
        let registered = format!(
            "{} is a registered producer (url {:?}, location {})",
            config.producer.account, row.url, row.location
        );
        let computed = match pool
            .first_success(order, |c| c.compute_transaction(&body))
            .await
        {
            Ok((k, _)) => format!(
                "compute_transaction on {} accepted it (resources and execution only: it does not verify signatures)",
                pool.client(k).endpoint()
            ),
            Err(errs) if errs.iter().all(ApiError::is_unsupported) => {
                "no endpoint offers compute_transaction: resources and execution not checked by a node".into()
            }
            Err(errs) => return Err(ExecError::DryRunRejected(join_errors(&errs))),
        };
        let validation = format!("{verified}; {registered}; {computed}");
        Ok(SwitchOutcome::DryRun {
            tx_id: tx.id(),
            body,
            validation,
        })
    }

    /// Builds, signs and pushes the switch. `before_push` runs once per built transaction,
    /// before it leaves this process (the caller persists its intent there).
    #[allow(clippy::too_many_arguments)]
    pub async fn switch(
        &mut self,
        pool: &EndpointPool,
        order: &[usize],
        config: &Config,
        target: &Datacenter,
        quorum: &Quorum,
        clock: &dyn crate::api::Clock,
        mut before_push: impl FnMut(&Transaction, i64) -> Result<(), StateError>,
        mut on_failure: impl FnMut(&Transaction, &str, bool),
    ) -> Result<SwitchOutcome, ExecError> {
        let row = Self::producer_row(pool, order, config.producer.account).await?;
        if row_key(&row) == Some(target.signing_key) {
            return Ok(SwitchOutcome::AlreadySwitched);
        }
        let mut last_error = String::new();
        for attempt in 1..=self.max_attempts {
            // The first build references the quorum LIB; a retry references the agreed
            // head instead (in case the LIB is what a node objected to) and takes its
            // expiration from the clock, since the head time seen is now older.
            let (base_ms, ref_block) = if attempt == 1 {
                (
                    quorum.head.time.map_or(clock.now_ms(), |t| t.unix_ms()),
                    &quorum.lib.id,
                )
            } else {
                (clock.now_ms(), &quorum.head.id)
            };
            let (tx, body, expires_ms) = self
                .build(
                    pool, order, config, &row, target, quorum, base_ms, ref_block,
                )
                .await?;
            before_push(&tx, expires_ms).map_err(ExecError::NotSaved)?;
            let started = Instant::now();
            let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            match push_all(pool, order, &body, &self.push_demoted, acked.clone()).await {
                Ok(endpoint) => {
                    self.in_flight = Some(InFlight {
                        body: body.clone(),
                        acked,
                        audited: false,
                        expires_ms,
                        sent_ms: clock.now_ms(),
                        repushes: 0,
                    });
                    return Ok(SwitchOutcome::Pushed {
                        tx_id: tx.id(),
                        expires_ms,
                        endpoint,
                        latency_ms: started.elapsed().as_millis() as u64,
                        attempt,
                    });
                }
                Err(errs) => {
                    let again = errs.iter().any(retryable) && attempt < self.max_attempts;
                    last_error = join_errors(&errs);
                    on_failure(&tx, &last_error, again);
                    if !again {
                        break;
                    }
                }
            }
        }
        Err(ExecError::Rejected(last_error))
    }

    /// While the switch is not on chain (the caller checks the majority's producers row),
    /// sends the same signed transaction again to every endpoint in `order`, at most every
    /// [`REPUSH_AFTER_MS`] and only before it expires: an endpoint that acknowledged it
    /// may have lost it on its way to the producers. Idempotent: a node that has it
    /// answers `tx_duplicate`. The sends run in the background (each bounded by the
    /// request timeout); acknowledgements join the push audit. Returns the re-push's
    /// number when one was sent.
    pub fn repush(&mut self, pool: &EndpointPool, order: &[usize], now_ms: i64) -> Option<u32> {
        let f = self.in_flight.as_mut().filter(|f| !f.audited)?;
        if now_ms >= f.expires_ms || now_ms.saturating_sub(f.sent_ms) < REPUSH_AFTER_MS {
            return None;
        }
        f.sent_ms = now_ms;
        f.repushes = f.repushes.saturating_add(1);
        tracing::info!(
            repush = f.repushes,
            endpoints = order.len(),
            expires_in_ms = f.expires_ms - now_ms,
            "the key switch is not on chain yet: pushing the same signed transaction again"
        );
        for &k in order {
            let client: std::sync::Arc<ChainClient> = pool.shared_client(k);
            let body = f.body.clone();
            let acked = f.acked.clone();
            tokio::spawn(async move {
                match client.send(&body).await {
                    Ok(_) => {
                        if let Ok(mut a) = acked.lock() {
                            if !a.contains(&k) {
                                a.push(k);
                            }
                        }
                    }
                    Err(e) if is_duplicate(&e) => {}
                    Err(e) => {
                        tracing::debug!(error = %describe(&e), "re-push refused")
                    }
                }
            });
        }
        Some(f.repushes)
    }

    /// Once the switch is on chain (a majority's producers row holds the new key), sends
    /// the same signed transaction again to every endpoint that acknowledged it. A node
    /// that took it answers `tx_duplicate` (nodeos keeps the ids of unexpired
    /// transactions); one that acknowledges it again never applied it: it dropped the
    /// push. Returns `(endpoint, what it did)` for each such endpoint, demoted for pushes
    /// from then on (its acceptance alone no longer counts). Runs once per push; every
    /// re-send is bounded by the request timeout and they run concurrently.
    pub async fn audit_push(&mut self, pool: &EndpointPool) -> Vec<(String, String)> {
        let Some(f) = self.in_flight.as_mut().filter(|f| !f.audited) else {
            return Vec::new();
        };
        f.audited = true;
        let acked: Vec<usize> = f.acked.lock().map(|a| a.clone()).unwrap_or_default();
        let body = &f.body;
        let answers = futures_util::future::join_all(
            acked
                .iter()
                .map(|&k| async move { (k, pool.client(k).send(body).await) }),
        )
        .await;
        let mut dropped = Vec::new();
        for (k, r) in answers {
            let label = pool.client(k).endpoint().to_string();
            match r {
                Ok(_) => {
                    tracing::warn!(endpoint = %label, "acknowledged a transaction already on chain as new: it dropped our push; demoted for pushes");
                    self.push_demoted.insert(k);
                    dropped.push((
                        label,
                        "acknowledged the key switch (HTTP 200 with a transaction id), and                          acknowledged it again as new once a majority showed it on chain:                          it never applied the push (dropped it)"
                            .to_string(),
                    ));
                }
                Err(e) if is_duplicate(&e) => {
                    self.push_demoted.remove(&k);
                }
                Err(e) => {
                    tracing::debug!(endpoint = %label, error = %describe(&e), "push audit inconclusive");
                }
            }
        }
        dropped
    }
}

/// How long a state read waits for the remaining endpoints once a majority agrees.
pub(crate) const READ_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

/// The fields of a producers row a switch depends on (the key, whether it is active, and
/// the url and location re-sent byte for byte); counters that move with every block are
/// left out so endpoints a block apart still agree.
pub fn row_fingerprint(row: &ProducerRow) -> (String, bool, String, u16) {
    (
        format!("{:?} {:?}", row.producer_key, row.producer_authority),
        row.is_active,
        row.url.clone(),
        row.location,
    )
}

/// An ABI's layout of `actions` against the bundled one: equal for ABIs that serialize
/// those actions the same way (and for ABIs failing the same way).
fn abi_fingerprint(abi: &Result<Abi, String>, actions: &[Name]) -> Vec<Result<(), String>> {
    match abi {
        Ok(abi) => actions
            .iter()
            .map(|&a| compare_action_types(eosio_system_abi(), abi, a).map_err(|e| e.to_string()))
            .collect(),
        Err(e) => vec![Err(e.clone())],
    }
}

fn check_layout(abi: &Abi, actions: &[Name]) -> Result<(), ExecError> {
    for &action in actions {
        compare_action_types(eosio_system_abi(), abi, action).map_err(|e| {
            ExecError::AbiMismatch {
                action,
                detail: e.to_string(),
            }
        })?;
    }
    Ok(())
}
