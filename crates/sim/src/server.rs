//! HTTP/1.1 on one listener (hyper): `serve(listener, handler, shutdown)` in the
//! mini-redis shape, so the caller owns the socket (tests bind `127.0.0.1:0`) and the
//! shutdown future. The server knows nothing of the simulated world: it asks a
//! [`Handler`] (the network implements it per listener) whether to accept and what to answer.
//!
//! POST and GET are both accepted on every path (nodeos answers a GET with no body the
//! same as a POST of `{}`); bodies over 1 MiB are refused. A listener whose behaviour is
//! `Down` accepts each connection and closes it at once, and fails requests on connections
//! opened before it went down, so clients see a transport error.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::error::NodeError;

/// What a listener should answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    Json {
        status: u16,
        body: serde_json::Value,
        delay: Duration,
    },
    Raw {
        status: u16,
        body: &'static str,
    },
    /// Close the connection without an answer.
    Close,
    /// Never answer (the connection stays open until the client gives up).
    Hang,
}

/// The world behind one listener, as the server sees it.
pub(crate) trait Handler: Clone + Send + Sync + 'static {
    /// Whether a new connection is dropped at once (the listener is down).
    fn refuses(&self) -> bool;
    /// The answer to a request for `path` with `body`.
    fn request(&self, path: &str, body: &[u8]) -> Reply;
}

/// Largest request body read.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The connection is dropped without an answer.
#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("endpoint is down")
    }
}

impl std::error::Error for Refused {}

/// Serves `handler` on `listener` until `shutdown` resolves.
pub(crate) async fn serve<H: Handler>(
    listener: TcpListener,
    handler: H,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut conns = JoinSet::new();
    let mut backoff = Duration::from_millis(1);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => { backoff = Duration::from_millis(1); stream }
                    Err(e) => {
                        tracing::warn!(cause = %e, "accept failed");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                };
                if handler.refuses() {
                    drop(stream);
                    continue;
                }
                let handler = handler.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| handle(handler.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
    conns.abort_all();
}

fn json_response(status: u16, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

async fn handle<H: Handler>(
    handler: H,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Refused> {
    let path = req.uri().path().to_string();
    if req.method() != Method::POST && req.method() != Method::GET {
        let e = NodeError::not_found();
        return Ok(json_response(e.http, &e.to_json()));
    }
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let e = NodeError::invalid_request("request body too large or unreadable");
            return Ok(json_response(e.http, &e.to_json()));
        }
    };
    let reply = handler.request(&path, &body);
    match reply {
        Reply::Close => Err(Refused),
        Reply::Hang => std::future::pending().await,
        Reply::Raw { status, body } => {
            let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
            *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok(r)
        }
        Reply::Json {
            status,
            body,
            delay,
        } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(json_response(status, &body))
        }
    }
}
