//! The operations HTTP server: `/metrics`, `/healthz`, `/readyz`.
//!
//! - `GET /metrics`: every metric, OpenMetrics text.
//! - `GET /healthz`: 200 while the decision loop has run within `[metrics]
//!   healthz_max_age_secs` (or the process is within that long of starting), else 503. For
//!   liveness probes, container HEALTHCHECKs and systemd watchdogs: a 503 means restart me.
//! - `GET /readyz`: 200 while the observer can see the chain (not blind) and the daemon's
//!   self-check passes (`setup_invalid` without a later `setup_valid`), else 503 with the
//!   reason. Not a reason to restart: blind usually means the endpoints are down, and a
//!   failing self-check needs a fix on chain or on disk, not a new process.
//!
//! Built directly on hyper 1.x (already in the dependency tree through reqwest) for three
//! fixed routes. Defensive limits: at most [`MAX_CONNECTIONS`] at once (more are closed at
//! once), request headers must arrive within 5 s, and a connection lives at most 60 s.
//! Request bodies are never read. Nothing here holds a secret: endpoint labels are redacted.
//!
//! As mini-redis does, [`serve`] takes a bound listener and a shutdown future, so tests
//! bind `127.0.0.1:0` and stop it whenever they like.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::metrics::Metrics;

pub const MAX_CONNECTIONS: usize = 32;
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Error)]
pub enum HttpError {
    #[error("cannot listen on {addr} for /metrics and /healthz: {source}; fix: free the port or change [metrics] listen")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Binds the `[metrics] listen` address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, HttpError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })
}

/// Serves until `shutdown` completes, then closes every connection and returns.
pub async fn serve(listener: TcpListener, metrics: Metrics, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut conns = JoinSet::new();
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        // Reap finished connection tasks.
        while conns.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(x) => {
                backoff = Duration::from_millis(10);
                x
            }
            Err(e) => {
                // Usually out of file descriptors: wait instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "too many connections; closing this one");
            continue;
        };
        let metrics = metrics.clone();
        conns.spawn(async move {
            let _permit = permit;
            let svc = service_fn(move |req| {
                let metrics = metrics.clone();
                async move { Ok::<_, Infallible>(handle(&req, &metrics)) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), svc);
            match tokio::time::timeout(CONNECTION_LIFETIME, conn).await {
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "connection error")
                }
                Err(_) => {
                    tracing::debug!(%peer, "connection closed after its lifetime")
                }
                Ok(Ok(())) => {}
            }
        });
    }
    conns.shutdown().await;
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

const TEXT: &str = "text/plain; charset=utf-8";

/// Routes one request. Pure apart from reading `metrics`.
pub fn handle<B>(req: &Request<B>, metrics: &Metrics) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = response(StatusCode::METHOD_NOT_ALLOWED, TEXT, "method not allowed\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match req.uri().path() {
        "/metrics" => response(StatusCode::OK, OPENMETRICS_CONTENT_TYPE, metrics.encode()),
        "/healthz" => {
            let h = metrics.health();
            let status = if h.ok {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            response(status, TEXT, format!("{}\n", h.message))
        }
        "/readyz" => {
            let (ready, why) = metrics.readiness();
            let status = if ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            response(status, TEXT, format!("{why}\n"))
        }
        "/" => response(
            StatusCode::OK,
            TEXT,
            concat!(
                "bp-failover ",
                env!("CARGO_PKG_VERSION"),
                "\n/metrics  Prometheus (OpenMetrics)\n/healthz  200 while the loop runs\n/readyz   200 while the observer is not blind and the self-check passes\n"
            ),
        ),
        _ => response(StatusCode::NOT_FOUND, TEXT, "not found\n"),
    }
}
