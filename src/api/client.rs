//! The typed nodeos HTTP client for one endpoint.
//!
//! Every call is a `POST /v1/<api>/<method>` with a JSON body, bounded by a total timeout
//! (connect + send + whole body) and a body-size cap enforced while reading (the
//! `Content-Length` header is only used to fail early, never trusted). The bytes are then
//! interpreted by the pure [`decode_response`]: a nodeos error body becomes a typed
//! [`NodeError`] whatever the HTTP status, a 2xx body is parsed into the expected type, and
//! a 2xx transaction trace with `processed.except` set is a failure. Nothing here panics on
//! any response.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use super::error::{sanitize, ApiError, ApiErrorKind, NodeError, NodeErrorKind};
use super::types::*;
use super::url::EndpointUrl;
use crate::antelope::Name;

/// Largest response body accepted by default (4 MiB). A `get_info` is ~1 KiB, the eosio
/// ABI ~25 KiB; anything near this is a misbehaving endpoint.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Largest `get_block` body accepted (only used as the fallback for nodes without
/// `get_block_info`): a full block with its transactions in JSON can reach several MiB.
pub const MAX_GET_BLOCK_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Default total time for one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Total time for one call: connect, send, and read the whole body.
    pub timeout: Duration,
    /// Body-size cap for every method except the `get_block` fallback.
    pub max_body_bytes: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: DEFAULT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

const BLOCK_INFO_UNKNOWN: u8 = 0;
const BLOCK_INFO_YES: u8 = 1;
const BLOCK_INFO_NO: u8 = 2;

/// A client for one nodeos endpoint.
#[derive(Debug)]
pub struct ChainClient {
    http: reqwest::Client,
    endpoint: EndpointUrl,
    opts: ClientOptions,
    /// Whether `get_block_info` exists on this node (learned on first use).
    block_info: AtomicU8,
    /// The newest push method this node serves (learned on first use of [`ChainClient::send`]).
    send_method: AtomicU8,
}

const SEND2: u8 = 0;
const SEND: u8 = 1;
const PUSH: u8 = 2;

/// The HTTP client could not be built (its TLS backend or the system's configuration).
/// Prints reqwest's message, without any URL.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0)]
pub struct HttpClientError(#[source] reqwest::Error);

/// A `reqwest` client suited to nodeos APIs: rustls, no redirects (configure the final
/// URL; a redirect could carry credentials elsewhere), no proxy from the environment.
pub fn http_client(opts: &ClientOptions) -> Result<reqwest::Client, HttpClientError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(opts.timeout)
        .timeout(opts.timeout)
        .no_proxy()
        .user_agent(concat!("bp-failover/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| HttpClientError(e.without_url()))
}

impl ChainClient {
    /// A client sharing `http`'s connection pool.
    pub fn new(http: reqwest::Client, endpoint: EndpointUrl, opts: ClientOptions) -> Self {
        ChainClient {
            http,
            endpoint,
            opts,
            block_info: AtomicU8::new(BLOCK_INFO_UNKNOWN),
            send_method: AtomicU8::new(SEND2),
        }
    }

    pub fn endpoint(&self) -> &EndpointUrl {
        &self.endpoint
    }

    /// `Some(false)` once this endpoint was found to lack `get_block_info`.
    pub fn supports_block_info(&self) -> Option<bool> {
        match self.block_info.load(Ordering::Relaxed) {
            BLOCK_INFO_YES => Some(true),
            BLOCK_INFO_NO => Some(false),
            _ => None,
        }
    }

    fn transport(&self, e: reqwest::Error) -> ApiErrorKind {
        transport(e, self.opts.timeout)
    }

    fn err(&self, method: &'static str, kind: ApiErrorKind) -> ApiError {
        ApiError::new(&self.endpoint, method, kind)
    }

    /// POSTs `body` and returns the status and the size-capped body bytes.
    async fn call_raw<B: Serialize + ?Sized>(
        &self,
        api: &str,
        method: &'static str,
        body: &B,
        limit: usize,
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let url = self.endpoint.api_url(api, method);
        let fut = async {
            let mut resp = self
                .http
                .post(url)
                .json(body)
                .send()
                .await
                .map_err(|e| self.err(method, self.transport(e)))?;
            let status = resp.status().as_u16();
            if resp.content_length().is_some_and(|n| n > limit as u64) {
                return Err(self.err(method, ApiErrorKind::TooLarge { limit }));
            }
            let mut buf = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| self.err(method, self.transport(e)))?
            {
                if buf.len() + chunk.len() > limit {
                    return Err(self.err(method, ApiErrorKind::TooLarge { limit }));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok((status, buf))
        };
        match tokio::time::timeout(self.opts.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(self.err(
                method,
                ApiErrorKind::Timeout {
                    ms: self.opts.timeout.as_millis() as u64,
                },
            )),
        }
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: &'static str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.call_limited("chain", method, body, self.opts.max_body_bytes)
            .await
    }

    async fn call_limited<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        api: &str,
        method: &'static str,
        body: &B,
        limit: usize,
    ) -> Result<T, ApiError> {
        let (status, bytes) = self.call_raw(api, method, body, limit).await?;
        decode_response(status, &bytes).map_err(|k| self.err(method, k))
    }

    /// `get_info`, checked for internal consistency.
    pub async fn get_info(&self) -> Result<GetInfo, ApiError> {
        let info: GetInfo = self.call("get_info", &json!({})).await?;
        info.check()
            .map_err(|e| self.err("get_info", ApiErrorKind::Malformed(e)))?;
        Ok(info)
    }

    /// The header of block `num` via `get_block_info`, falling back to `get_block` on nodes
    /// without it (detected once per endpoint from a 404 / unknown-endpoint answer).
    pub async fn get_block_info(&self, num: u32) -> Result<BlockInfo, ApiError> {
        if self.block_info.load(Ordering::Relaxed) != BLOCK_INFO_NO {
            match self
                .call::<_, BlockInfo>("get_block_info", &json!({ "block_num": num }))
                .await
            {
                Ok(b) => {
                    self.block_info.store(BLOCK_INFO_YES, Ordering::Relaxed);
                    return self.checked_block(b, num, "get_block_info");
                }
                Err(e) if e.is_unsupported() => {
                    tracing::info!(
                        endpoint = %self.endpoint,
                        "get_block_info not served; falling back to get_block for this endpoint"
                    );
                    self.block_info.store(BLOCK_INFO_NO, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        self.get_block(num).await
    }

    /// `get_block` (header fields only are kept).
    pub async fn get_block(&self, num: u32) -> Result<BlockInfo, ApiError> {
        let limit = self.opts.max_body_bytes.max(MAX_GET_BLOCK_BODY_BYTES);
        let b: BlockInfo = self
            .call_limited(
                "chain",
                "get_block",
                &json!({ "block_num_or_id": num.to_string() }),
                limit,
            )
            .await?;
        self.checked_block(b, num, "get_block")
    }

    /// The whole header of block `num` from `get_block` (every nodeos version serves it
    /// there; `get_block_info` lacks `new_producers` and the header extensions), for
    /// recomputing its id. The response's own `id` is not returned: it is a claim, and the
    /// caller compares [`crate::antelope::BlockHeader::id`] with an id vouched for
    /// elsewhere.
    pub async fn get_block_header(
        &self,
        num: u32,
    ) -> Result<crate::antelope::BlockHeader, ApiError> {
        let limit = self.opts.max_body_bytes.max(MAX_GET_BLOCK_BODY_BYTES);
        let body: serde_json::Value = self
            .call_limited(
                "chain",
                "get_block",
                &json!({ "block_num_or_id": num.to_string() }),
                limit,
            )
            .await?;
        let header = crate::antelope::BlockHeader::from_json(&body)
            .map_err(|e| self.err("get_block", ApiErrorKind::Malformed(e.to_string())))?;
        if header.block_num() != num {
            return Err(self.err(
                "get_block",
                ApiErrorKind::Malformed(format!(
                    "asked for block {num}, got a header of block {}",
                    header.block_num()
                )),
            ));
        }
        Ok(header)
    }

    fn checked_block(
        &self,
        b: BlockInfo,
        num: u32,
        method: &'static str,
    ) -> Result<BlockInfo, ApiError> {
        b.check()
            .map_err(|e| self.err(method, ApiErrorKind::Malformed(e)))?;
        if b.block_num != num {
            return Err(self.err(
                method,
                ApiErrorKind::Malformed(format!("asked for block {num}, got {}", b.block_num)),
            ));
        }
        Ok(b)
    }

    pub async fn get_producer_schedule(&self) -> Result<ProducerScheduleResponse, ApiError> {
        self.call("get_producer_schedule", &json!({})).await
    }

    /// `get_table_rows` with `json: true`.
    pub async fn get_table_rows<T: DeserializeOwned>(
        &self,
        query: &TableQuery,
    ) -> Result<TableRows<T>, ApiError> {
        self.call("get_table_rows", query).await
    }

    /// One row of a table keyed by a name (`producers`, `finalizers`): the bound is passed
    /// as the name's decimal u64, which nodes never misread (reference §6).
    async fn row_by_name<T: DeserializeOwned>(
        &self,
        table: &str,
        key: Name,
        key_of: impl Fn(&T) -> Name,
    ) -> Result<Option<T>, ApiError> {
        let q = TableQuery::by_primary_key("eosio", "eosio", table, key.as_u64());
        let rows: TableRows<T> = self.get_table_rows(&q).await?;
        Ok(rows.rows.into_iter().find(|r| key_of(r) == key))
    }

    /// The `eosio` `global` singleton (primary key = the table's name).
    pub async fn get_global_state(&self) -> Result<Option<GlobalState>, ApiError> {
        let global = Name::literal("global");
        let q = TableQuery::by_primary_key("eosio", "eosio", "global", global.as_u64());
        let rows: TableRows<GlobalState> = self.get_table_rows(&q).await?;
        Ok(rows.rows.into_iter().next())
    }

    /// The `eosio` `producers` row of `owner`, if registered.
    pub async fn get_producer(&self, owner: Name) -> Result<Option<ProducerRow>, ApiError> {
        self.row_by_name("producers", owner, |r: &ProducerRow| r.owner)
            .await
    }

    /// The `eosio` `finalizers` row of `owner` (Savanna system contracts).
    pub async fn get_finalizer(&self, owner: Name) -> Result<Option<FinalizerRow>, ApiError> {
        self.row_by_name("finalizers", owner, |r: &FinalizerRow| r.finalizer_name)
            .await
    }

    /// The `eosio` `finkeys` row with id `id` (the text form of a finalizer key).
    pub async fn get_finalizer_key(&self, id: u64) -> Result<Option<FinalizerKeyRow>, ApiError> {
        let q = TableQuery::by_primary_key("eosio", "eosio", "finkeys", id);
        let rows: TableRows<FinalizerKeyRow> = self.get_table_rows(&q).await?;
        Ok(rows.rows.into_iter().find(|r| r.id == id))
    }

    /// `owner`'s rows in the `eosio` `finkeys` table (secondary index 2, `byfinname`).
    pub async fn get_finalizer_keys_of(
        &self,
        owner: Name,
    ) -> Result<Vec<FinalizerKeyRow>, ApiError> {
        let mut q = TableQuery::by_primary_key("eosio", "eosio", "finkeys", owner.as_u64());
        q.index_position = "2".into();
        q.key_type = "i64".into();
        q.limit = 100;
        let rows: TableRows<FinalizerKeyRow> = self.get_table_rows(&q).await?;
        Ok(rows
            .rows
            .into_iter()
            .filter(|r| r.finalizer_name == owner)
            .collect())
    }

    /// `owner`'s active finalizer key (text form), if it has one.
    pub async fn get_active_finalizer_key(&self, owner: Name) -> Result<Option<String>, ApiError> {
        match self.get_finalizer(owner).await? {
            None => Ok(None),
            Some(r) => Ok(self
                .get_finalizer_key(r.active_key_id)
                .await?
                .map(|k| k.finalizer_key)),
        }
    }

    pub async fn get_account(&self, account: Name) -> Result<Account, ApiError> {
        self.call("get_account", &json!({ "account_name": account }))
            .await
    }

    /// The raw ABI JSON of `account` (the ABI module parses it).
    pub async fn get_abi(&self, account: Name) -> Result<serde_json::Value, ApiError> {
        let r: GetAbi = self
            .call("get_abi", &json!({ "account_name": account }))
            .await?;
        match r.abi {
            Some(v) if v.is_object() => Ok(v),
            _ => Err(self.err(
                "get_abi",
                ApiErrorKind::Malformed(format!("account {account} has no ABI")),
            )),
        }
    }

    /// `chain/push_transaction`.
    pub async fn push_transaction(
        &self,
        trx: &PackedTransaction,
    ) -> Result<PushResponse, ApiError> {
        self.push("chain", "push_transaction", trx).await
    }

    /// `chain/send_transaction` (EOSIO ≥ 1.8).
    pub async fn send_transaction(
        &self,
        trx: &PackedTransaction,
    ) -> Result<PushResponse, ApiError> {
        self.push("chain", "send_transaction", trx).await
    }

    /// `chain/send_transaction2` (Leap ≥ 3.1) with a failure trace and no node-side retry.
    pub async fn send_transaction2(
        &self,
        trx: &PackedTransaction,
    ) -> Result<PushResponse, ApiError> {
        let body = SendTransaction2Request {
            return_failure_trace: true,
            retry_trx: false,
            retry_trx_num_blocks: None,
            transaction: trx,
        };
        self.push("chain", "send_transaction2", &body).await
    }

    /// `chain/compute_transaction` (Leap ≥ 3.1): a dry run of resources and execution.
    /// Signatures and key weights are NOT checked (seen on a real node, reference §10);
    /// links and missing permissions are. Authorization is proven by [`crate::authority`].
    pub async fn compute_transaction(
        &self,
        trx: &PackedTransaction,
    ) -> Result<PushResponse, ApiError> {
        self.push(
            "chain",
            "compute_transaction",
            &json!({ "transaction": trx }),
        )
        .await
    }

    /// Submits with the newest method the node serves: `send_transaction2` (failure trace,
    /// no node-side retry), else `send_transaction`, else `push_transaction`. A method the
    /// node answers 404 for was not executed, so falling back cannot submit twice; the
    /// choice is remembered for this endpoint.
    pub async fn send(&self, trx: &PackedTransaction) -> Result<PushResponse, ApiError> {
        loop {
            let method = self.send_method.load(Ordering::Relaxed);
            let r = match method {
                SEND2 => self.send_transaction2(trx).await,
                SEND => self.send_transaction(trx).await,
                _ => return self.push_transaction(trx).await,
            };
            match r {
                Err(e) if matches!(e.kind, ApiErrorKind::Unsupported { .. }) => {
                    tracing::info!(endpoint = %self.endpoint, method = e.method, "not served; falling back to an older push method");
                    self.send_method
                        .store(if method == SEND2 { SEND } else { PUSH }, Ordering::Relaxed);
                }
                other => return other,
            }
        }
    }

    async fn push<B: Serialize + ?Sized>(
        &self,
        api: &str,
        method: &'static str,
        body: &B,
    ) -> Result<PushResponse, ApiError> {
        let r: PushResponse = self
            .call_limited(api, method, body, self.opts.max_body_bytes)
            .await?;
        check_trace(&r)
            .map_err(|e| self.err(method, ApiErrorKind::TransactionFailed(Box::new(e))))?;
        Ok(r)
    }
}

/// A 2xx trace can still be a failure (`return_failure_trace`): `except` set, or a receipt
/// status other than `executed`.
pub fn check_trace(r: &PushResponse) -> Result<(), NodeError> {
    if let Some(except) = r.processed.except.as_ref().filter(|e| !e.is_null()) {
        return Err(NodeError::from_except(except));
    }
    match &r.processed.receipt {
        Some(rc) if rc.status != "executed" => Err(NodeError::new(
            0,
            "receipt_status",
            &format!("transaction status is {:?}", sanitize(&rc.status, 40)),
            vec![],
        )),
        _ => Ok(()),
    }
}

fn transport(e: reqwest::Error, timeout: Duration) -> ApiErrorKind {
    // `without_url`: the URL may carry credentials.
    let e = e.without_url();
    if e.is_timeout() {
        return ApiErrorKind::Timeout {
            ms: timeout.as_millis() as u64,
        };
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    ApiErrorKind::Transport(sanitize(&msg, 300))
}

/// Interprets an HTTP answer: the pure part of every call.
///
/// - a nodeos error body, whatever the status (404 without an unknown-block code means the
///   method does not exist on that node) → [`ApiErrorKind::Node`] / `Unsupported`;
/// - a non-2xx status otherwise → `Http` (or `Unsupported` for 404);
/// - a 2xx body that does not parse as `T` → `Malformed`.
pub fn decode_response<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ApiErrorKind> {
    let ok = (200..300).contains(&status);
    if !ok {
        if let Some((_, err)) = NodeError::from_body(body) {
            if status == 404 && err.kind != NodeErrorKind::UnknownBlock {
                return Err(ApiErrorKind::Unsupported { status });
            }
            return Err(ApiErrorKind::Node {
                status,
                error: Box::new(err),
            });
        }
        if status == 404 {
            return Err(ApiErrorKind::Unsupported { status });
        }
        if looks_like_html(body) {
            return Err(ApiErrorKind::NotAntelope { status });
        }
        return Err(ApiErrorKind::Http {
            status,
            snippet: sanitize(&String::from_utf8_lossy(&body[..body.len().min(200)]), 200),
        });
    }
    serde_json::from_slice(body).map_err(|e| {
        // A 2xx body that is a nodeos error is still an error.
        if let Some((_, err)) = NodeError::from_body(body) {
            return ApiErrorKind::Node {
                status,
                error: Box::new(err),
            };
        }
        if looks_like_html(body) {
            return ApiErrorKind::NotAntelope { status };
        }
        ApiErrorKind::Malformed(sanitize(&e.to_string(), 300))
    })
}

/// A body that is an HTML page (a website, a login portal, a proxy's error page).
fn looks_like_html(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(64)]).to_ascii_lowercase();
    let head = head.trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html") || head.starts_with("<head")
}

/// A `get_table_rows` request (`json: true`, decimal bounds).
#[derive(Debug, Clone, Serialize)]
pub struct TableQuery {
    pub json: bool,
    pub code: String,
    pub scope: String,
    pub table: String,
    pub lower_bound: String,
    pub upper_bound: String,
    pub limit: u32,
    pub key_type: String,
    pub index_position: String,
    pub encode_type: String,
    pub reverse: bool,
    pub show_payer: bool,
}

impl TableQuery {
    /// Rows whose primary key equals `key` (passed as a decimal u64).
    pub fn by_primary_key(code: &str, scope: &str, table: &str, key: u64) -> Self {
        TableQuery {
            json: true,
            code: code.into(),
            scope: scope.into(),
            table: table.into(),
            lower_bound: key.to_string(),
            upper_bound: key.to_string(),
            limit: 1,
            key_type: String::new(),
            index_position: String::new(),
            encode_type: "dec".into(),
            reverse: false,
            show_payer: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_query_uses_decimal_name_bounds() {
        let q = TableQuery::by_primary_key(
            "eosio",
            "eosio",
            "producers",
            Name::literal("eosio").as_u64(),
        );
        let v = serde_json::to_value(&q).unwrap();
        assert_eq!(v["lower_bound"], "6138663577826885632");
        assert_eq!(v["upper_bound"], "6138663577826885632");
        assert_eq!(v["json"], true);
        assert_eq!(v["encode_type"], "dec");
    }

    #[test]
    fn decode_maps_statuses() {
        assert!(matches!(
            decode_response::<GetInfo>(404, b"<html>nope</html>"),
            Err(ApiErrorKind::Unsupported { status: 404 })
        ));
        assert!(matches!(
            decode_response::<GetInfo>(404, br#"{"code":404,"message":"Not Found","error":{"code":0,"name":"exception","what":"unspecified","details":[{"message":"Unknown Endpoint"}]}}"#),
            Err(ApiErrorKind::Unsupported { status: 404 })
        ));
        assert!(matches!(
            decode_response::<BlockInfo>(400, br#"{"code":400,"message":"Unknown Block","error":{"code":3100002,"name":"unknown_block_exception","what":"Unknown block","details":[]}}"#),
            Err(ApiErrorKind::Node { status: 400, .. })
        ));
        assert!(matches!(
            decode_response::<GetInfo>(502, b"bad gateway"),
            Err(ApiErrorKind::Http { status: 502, .. })
        ));
        assert!(matches!(
            decode_response::<GetInfo>(200, b"{\"chain_id\":"),
            Err(ApiErrorKind::Malformed(_))
        ));
        // A website where the node's API should be: named, not dumped.
        let page =
            b"\n<!DOCTYPE html><html><head><title>Welcome</title></head><body>hi</body></html>";
        for status in [200, 500] {
            let e = decode_response::<GetInfo>(status, page).unwrap_err();
            assert!(matches!(e, ApiErrorKind::NotAntelope { .. }), "{e:?}");
            let text = e.to_string();
            assert!(
                text.starts_with("not an Antelope node") && !text.contains("<html"),
                "{text}"
            );
        }
    }
}
