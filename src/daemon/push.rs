//! Sending a transaction: to every agreeing endpoint at once, which failures are worth a
//! fresh attempt, and how a node's refusal is told to the operator.

use crate::antelope::PackedTransaction;
use crate::api::{ApiError, ApiErrorKind, ChainClient, EndpointPool, NodeErrorKind};

/// Things a push can be retried after, with a freshly built transaction.
pub(super) fn retryable(e: &ApiError) -> bool {
    match e.node_error().map(|n| &n.kind) {
        Some(
            NodeErrorKind::Expired
            | NodeErrorKind::ExpirationTooFar
            | NodeErrorKind::InvalidRefBlock
            | NodeErrorKind::CpuExhausted
            | NodeErrorKind::NetExhausted,
        ) => true,
        Some(_) => false,
        None => matches!(
            e.kind,
            ApiErrorKind::Timeout { .. }
                | ApiErrorKind::Transport(_)
                | ApiErrorKind::Http { .. }
                | ApiErrorKind::NotAntelope { .. }
        ),
    }
}

pub(super) fn is_duplicate(e: &ApiError) -> bool {
    e.node_error()
        .is_some_and(|n| n.kind == NodeErrorKind::Duplicate)
}

/// Describes an error for the operator: the node's code and the plain-language fix.
pub fn describe(e: &ApiError) -> String {
    match e.node_error() {
        Some(n) => match n.kind.explain() {
            Some(why) => format!("{} ({} {}): {why}", e.endpoint, n.code, n.name),
            None => format!(
                "{} ({} {}): {}",
                e.endpoint,
                n.code,
                n.name,
                n.details.join("; ")
            ),
        },
        None => e.to_string(),
    }
}

/// Pushes to every endpoint in `order` at once; the first acceptance (or a duplicate,
/// meaning an identical transaction is already in) from an endpoint not in `demoted` is
/// returned, and the pushes to the other endpoints carry on in the background: one
/// endpoint that acknowledges a push and drops it cannot keep the transaction off the
/// chain. A demoted endpoint's acceptance counts only when no other endpoint accepts.
/// Every endpoint that acknowledges is added to `acked` (also after the return).
pub(crate) async fn push_all(
    pool: &EndpointPool,
    order: &[usize],
    body: &PackedTransaction,
    demoted: &std::collections::HashSet<usize>,
    acked: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
) -> Result<String, Vec<ApiError>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(order.len().max(1));
    for &k in order {
        let client: std::sync::Arc<ChainClient> = pool.shared_client(k);
        let body = body.clone();
        let tx = tx.clone();
        let acked = acked.clone();
        tokio::spawn(async move {
            let r = client.send(&body).await;
            if r.is_ok() {
                if let Ok(mut a) = acked.lock() {
                    a.push(k);
                }
            }
            let _ = tx.send((k, client.endpoint().to_string(), r)).await;
        });
    }
    drop(tx);
    let mut errors = Vec::new();
    let mut held: Option<String> = None;
    while let Some((k, endpoint, r)) = rx.recv().await {
        match r {
            Ok(_) if demoted.contains(&k) => {
                held.get_or_insert(endpoint);
            }
            Ok(_) => return Ok(endpoint),
            Err(e) if is_duplicate(&e) => return Ok(endpoint),
            Err(e) => errors.push(e),
        }
    }
    held.ok_or(errors)
}

pub(crate) fn join_errors(errs: &[ApiError]) -> String {
    if errs.is_empty() {
        return "no endpoint to ask".into();
    }
    errs.iter().map(describe).collect::<Vec<_>>().join("; ")
}
