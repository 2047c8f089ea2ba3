//! Errors of the chain API client.
//!
//! An [`ApiError`] names the endpoint (redacted, see [`super::EndpointUrl`]) and the API
//! method, then says what went wrong in an [`ApiErrorKind`]. nodeos error bodies
//! (`{"code","message","error":{"code","name","what","details":[…]}}`) become a
//! [`NodeError`] classified by `error.code`/`error.name` — never by HTTP status, because
//! transaction endpoints return nearly every failure as a 500 — into a [`NodeErrorKind`]
//! that carries a plain-language explanation and fix.

use std::fmt;

use serde::Deserialize;
use thiserror::Error;

use crate::antelope::json;

/// A failed API call: which endpoint, which method, what happened.
#[derive(Debug, Clone, Error)]
#[error("{endpoint} {method}: {kind}")]
pub struct ApiError {
    /// The endpoint, redacted.
    pub endpoint: String,
    pub method: &'static str,
    pub kind: ApiErrorKind,
}

impl ApiError {
    pub fn new(endpoint: impl fmt::Display, method: &'static str, kind: ApiErrorKind) -> Self {
        ApiError {
            endpoint: endpoint.to_string(),
            method,
            kind,
        }
    }

    /// The nodeos error, for a node-reported or in-trace failure.
    pub fn node_error(&self) -> Option<&NodeError> {
        match &self.kind {
            ApiErrorKind::Node { error, .. } | ApiErrorKind::TransactionFailed(error) => {
                Some(error)
            }
            _ => None,
        }
    }

    /// True when the node does not serve this API method at all.
    pub fn is_unsupported(&self) -> bool {
        matches!(self.kind, ApiErrorKind::Unsupported { .. })
            || self
                .node_error()
                .is_some_and(|e| e.kind == NodeErrorKind::UnsupportedFeature)
    }
}

/// What went wrong with one call.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ApiErrorKind {
    #[error(
        "no answer within {ms} ms (raise [chain] request_timeout_ms if the endpoint is just slow)"
    )]
    Timeout { ms: u64 },
    #[error("request failed: {0}")]
    Transport(String),
    #[error("response body is larger than the {limit}-byte limit; the endpoint is misbehaving")]
    TooLarge { limit: usize },
    #[error("HTTP {status} with a body that is not a nodeos error: {snippet:?}")]
    Http { status: u16, snippet: String },
    #[error(
        "not an Antelope node: HTTP {status} with an HTML page instead of the chain API's JSON \
         (is the URL the node's HTTP API, e.g. http://host:8888, rather than a website?)"
    )]
    NotAntelope { status: u16 },
    #[error("the node does not serve this method (HTTP {status}); it is too old or the API plugin is off")]
    Unsupported { status: u16 },
    #[error("malformed response: {0}")]
    Malformed(String),
    #[error("node error (HTTP {status}): {error}")]
    Node { status: u16, error: Box<NodeError> },
    #[error("transaction failed: {0}")]
    TransactionFailed(Box<NodeError>),
}

/// A classified nodeos error.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeError {
    /// `error.code` (fc exception code), e.g. 3040005.
    pub code: i64,
    /// `error.name`, e.g. `expired_tx_exception`.
    pub name: String,
    /// `error.what`, e.g. "Expired Transaction".
    pub what: String,
    /// `error.details[].message`, as sent (sanitised and truncated).
    pub details: Vec<String>,
    pub kind: NodeErrorKind,
}

/// The common nodeos failures, each with a plain-language explanation
/// ([`NodeErrorKind::explain`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeErrorKind {
    /// 3040005
    Expired,
    /// 3040006
    ExpirationTooFar,
    /// 3040007
    InvalidRefBlock,
    /// 3040008
    Duplicate,
    /// 3090004
    MissingAuth,
    /// 3090005
    IrrelevantAuth,
    /// 3090003
    UnsatisfiedAuth,
    /// 3080004 (and 3081001 leeway deadline)
    CpuExhausted,
    /// 3080002
    NetExhausted,
    /// 3080001
    RamExhausted,
    /// 3100002
    UnknownBlock,
    /// code 10 with `is_canonical` in the details
    NonCanonicalSignature,
    /// 3050003, with the contract's message (e.g. "url too long")
    Assert(String),
    /// `unknown key` lookups (e.g. a nonexistent account, code 0) and account_query (3060002)
    NotFound,
    /// `unsupported_feature` (e.g. send_transaction2 retry without storage configured)
    UnsupportedFeature,
    Other,
}

impl NodeErrorKind {
    /// What the failure means and what to do about it.
    pub fn explain(&self) -> Option<String> {
        let s = match self {
            NodeErrorKind::Expired => "the transaction expired before a block included it; rebuild it with a fresh expiration (head time + 30..120 s) and check this machine's clock",
            NodeErrorKind::ExpirationTooFar => "the expiration is more than the chain's maximum lifetime (usually 1 hour) ahead of head; use head time + 30..120 s",
            NodeErrorKind::InvalidRefBlock => "the TaPoS reference block is not on this node's fork or is older than 65 536 blocks; take ref_block_num/prefix from a recent irreversible block",
            NodeErrorKind::Duplicate => "an identical transaction was already accepted; it may already be on chain, check the producers table before retrying",
            NodeErrorKind::MissingAuth => "the action requires an authorization the transaction does not declare; declare producer@permission as configured",
            NodeErrorKind::IrrelevantAuth => "the declared permission is not linked to this action; run `linkauth` for eosio::regproducer (and regproducer2) to the failover permission, or fix [producer] permission",
            NodeErrorKind::UnsatisfiedAuth => "the signatures do not satisfy the declared permission; the key in key_file/key_env is not in that permission's authority",
            NodeErrorKind::CpuExhausted => "the account ran out of CPU; stake or rent CPU (powerup) for the producer account",
            NodeErrorKind::NetExhausted => "the account ran out of NET; stake or rent NET (powerup) for the producer account",
            NodeErrorKind::RamExhausted => "the account ran out of RAM; buy RAM for the producer account",
            NodeErrorKind::UnknownBlock => "the node does not have the requested block (not yet produced, pruned, or on another fork)",
            NodeErrorKind::NonCanonicalSignature => "the node rejected a non-canonical signature; this is a signer bug, report it",
            NodeErrorKind::Assert(msg) => return Some(format!("the contract refused the action: {msg}")),
            NodeErrorKind::NotFound => "the node does not know the requested account, table row or key; check the name",
            NodeErrorKind::UnsupportedFeature => "the node does not support this feature or is not configured for it",
            NodeErrorKind::Other => return None,
        };
        Some(s.to_string())
    }
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.name)?;
        if let Some(d) = self.details.first() {
            write!(f, ": {d}")?;
        } else if !self.what.is_empty() {
            write!(f, ": {}", self.what)?;
        }
        if let Some(why) = self.kind.explain() {
            write!(f, " ({why})")?;
        }
        Ok(())
    }
}

/// Text from a node goes into logs and terminals: keep it printable and short.
pub(crate) fn sanitize(s: &str, max_chars: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max_chars)
        .collect();
    if s.chars().count() > max_chars {
        out.push('…');
    }
    out
}

#[derive(Deserialize)]
struct RawErrorBody {
    #[serde(default)]
    #[allow(dead_code)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
    error: RawError,
}

#[derive(Deserialize)]
struct RawError {
    #[serde(deserialize_with = "json::i64")]
    code: i64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    what: String,
    #[serde(default)]
    details: Vec<RawDetail>,
}

#[derive(Deserialize)]
struct RawDetail {
    #[serde(default)]
    message: String,
}

impl NodeError {
    pub fn new(code: i64, name: &str, what: &str, details: Vec<String>) -> Self {
        let name = sanitize(name, 80);
        let what = sanitize(what, 200);
        let details: Vec<String> = details.iter().take(8).map(|d| sanitize(d, 500)).collect();
        let kind = classify(code, &name, &details);
        NodeError {
            code,
            name,
            what,
            details,
            kind,
        }
    }

    /// Parses a nodeos error body; `None` if the body is not one.
    pub fn from_body(body: &[u8]) -> Option<(Option<String>, NodeError)> {
        let raw: RawErrorBody = serde_json::from_slice(body).ok()?;
        let details = raw.error.details.into_iter().map(|d| d.message).collect();
        Some((
            raw.message.map(|m| sanitize(&m, 200)),
            NodeError::new(raw.error.code, &raw.error.name, &raw.error.what, details),
        ))
    }

    /// Parses an fc exception object as found in `processed.except`:
    /// `{"code","name","message","stack":[{"format","data":{…}}]}`.
    pub fn from_except(v: &serde_json::Value) -> NodeError {
        let code = v.get("code").and_then(value_i64).unwrap_or(0);
        let name = v
            .get("name")
            .and_then(|x| x.as_str())
            .unwrap_or("exception");
        let what = v.get("message").and_then(|x| x.as_str()).unwrap_or("");
        let mut details = Vec::new();
        if let Some(stack) = v.get("stack").and_then(|s| s.as_array()) {
            for entry in stack.iter().take(8) {
                if let Some(fmt) = entry.get("format").and_then(|f| f.as_str()) {
                    details.push(substitute(fmt, entry.get("data")));
                }
            }
        }
        NodeError::new(code, name, what, details)
    }
}

fn value_i64(v: &serde_json::Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// fc formats: `assertion failure with message: ${s}` + `data: {"s": "url too long"}`.
fn substitute(format: &str, data: Option<&serde_json::Value>) -> String {
    let mut out = format.chars().take(1000).collect::<String>();
    if let Some(obj) = data.and_then(|d| d.as_object()) {
        for (k, v) in obj.iter().take(16) {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out = out.replace(&format!("${{{k}}}"), &sanitize(&text, 300));
        }
    }
    out
}

fn classify(code: i64, name: &str, details: &[String]) -> NodeErrorKind {
    let details_have = |needle: &str| details.iter().any(|d| d.contains(needle));
    match code {
        3040005 => NodeErrorKind::Expired,
        3040006 => NodeErrorKind::ExpirationTooFar,
        3040007 => NodeErrorKind::InvalidRefBlock,
        3040008 => NodeErrorKind::Duplicate,
        3090004 => NodeErrorKind::MissingAuth,
        3090005 => NodeErrorKind::IrrelevantAuth,
        3090003 => NodeErrorKind::UnsatisfiedAuth,
        3080004 | 3081001 => NodeErrorKind::CpuExhausted,
        3080002 => NodeErrorKind::NetExhausted,
        3080001 => NodeErrorKind::RamExhausted,
        3100002 => NodeErrorKind::UnknownBlock,
        3060002 => NodeErrorKind::NotFound,
        3050003 => {
            let msg = details
                .first()
                .map(|d| {
                    d.strip_prefix("assertion failure with message: ")
                        .unwrap_or(d)
                        .to_string()
                })
                .unwrap_or_default();
            NodeErrorKind::Assert(msg)
        }
        10 if details_have("is_canonical") => NodeErrorKind::NonCanonicalSignature,
        _ if name == "unsupported_feature" => NodeErrorKind::UnsupportedFeature,
        0 if details_have("unknown key") => NodeErrorKind::NotFound,
        _ => NodeErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn recorded_error_bodies_are_classified() {
        let cases = [
            (
                "eos-mainnet_error_400_unknown_block_get_block_header_state.json",
                3100002,
                NodeErrorKind::UnknownBlock,
            ),
            (
                "error_500_signature_not_canonical_2022.json",
                10,
                NodeErrorKind::NonCanonicalSignature,
            ),
            (
                "jungle4_error_400_account_query_get_raw_abi_2024.json",
                3060002,
                NodeErrorKind::NotFound,
            ),
            (
                "jungle4_error_500_get_account_nonexistent.json",
                0,
                NodeErrorKind::NotFound,
            ),
            (
                "jungle4_error_500_irrelevant_auth_compute_transaction_2024.json",
                3090005,
                NodeErrorKind::IrrelevantAuth,
            ),
        ];
        for (file, code, kind) in cases {
            let (_, e) = NodeError::from_body(&fixture(file)).unwrap();
            assert_eq!(e.code, code, "{file}");
            assert_eq!(e.kind, kind, "{file}");
            if kind != NodeErrorKind::Other {
                assert!(e.to_string().contains('('), "{file}: {e}");
            }
        }
        let (_, e) = NodeError::from_body(&fixture(
            "jungle4_error_500_irrelevant_auth_compute_transaction_2024.json",
        ))
        .unwrap();
        let shown = e.to_string();
        assert!(
            shown.contains("linkauth") && shown.contains("minimum authority"),
            "{shown}"
        );
    }

    #[test]
    fn synthetic_codes_are_classified() {
        for (code, kind) in [
            (3040005, NodeErrorKind::Expired),
            (3040006, NodeErrorKind::ExpirationTooFar),
            (3040007, NodeErrorKind::InvalidRefBlock),
            (3040008, NodeErrorKind::Duplicate),
            (3090004, NodeErrorKind::MissingAuth),
            (3090003, NodeErrorKind::UnsatisfiedAuth),
            (3080004, NodeErrorKind::CpuExhausted),
            (3080002, NodeErrorKind::NetExhausted),
            (3080001, NodeErrorKind::RamExhausted),
            (12345, NodeErrorKind::Other),
        ] {
            let body = format!(
                r#"{{"code":500,"message":"Internal Service Error","error":{{"code":"{code}","name":"x","what":"y","details":[]}}}}"#
            );
            let (_, e) = NodeError::from_body(body.as_bytes()).unwrap();
            assert_eq!(e.kind, kind, "{code}");
        }
        let (_, e) = NodeError::from_body(
            br#"{"code":500,"message":"Internal Service Error","error":{"code":3050003,"name":"eosio_assert_message_exception","what":"eosio_assert_message assertion failure","details":[{"message":"assertion failure with message: url too long","file":"cf_system.cpp","line_number":14,"method":"eosio_assert"}]}}"#,
        )
        .unwrap();
        assert_eq!(e.kind, NodeErrorKind::Assert("url too long".into()));
        assert!(e
            .to_string()
            .contains("the contract refused the action: url too long"));
    }

    #[test]
    fn except_objects_are_read() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"code":3050003,"name":"eosio_assert_message_exception","message":"eosio_assert_message assertion failure","stack":[{"context":{},"format":"assertion failure with message: ${s}","data":{"s":"url too long"}}]}"#,
        )
        .unwrap();
        let e = NodeError::from_except(&v);
        assert_eq!(e.kind, NodeErrorKind::Assert("url too long".into()));
    }

    #[test]
    fn node_text_is_sanitized() {
        let s = sanitize("a\u{1b}[31mred\nline", 100);
        assert!(!s.contains('\u{1b}') && !s.contains('\n'));
        assert_eq!(sanitize(&"x".repeat(10), 4), "xxxx…");
    }
}
