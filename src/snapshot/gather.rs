//! The one-shot reads: one polling round, then reads from the best endpoints, and each data
//! center node's `get_info`. Network I/O only; no private key.

use std::collections::HashSet;

use futures_util::future::join_all;

use super::{Fetched, StatusInputs};
use crate::api::client::{http_client, ClientOptions};
use crate::api::types::GetInfo;
use crate::api::{read_order, ChainClient, Clock, EndpointPool};
use crate::config::{Config, Problem};
use crate::quorum::QuorumView;

/// Why a one-shot gathering could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    /// The HTTP client could not be built (e.g. no TLS roots).
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] crate::api::client::HttpClientError),
}

fn to_fetched<T>(
    pool: &EndpointPool,
    verified: &HashSet<usize>,
    r: Result<(usize, T), Vec<crate::api::ApiError>>,
) -> Fetched<T> {
    match r {
        Ok((k, v)) => Fetched {
            value: Some(v),
            source: Some(pool.client(k).endpoint().to_string()),
            verified: verified.contains(&k),
            error: None,
        },
        Err(errs) if errs.is_empty() => Fetched::failed(
            "not asked: no endpoint is usable (each one's reason is listed under endpoints)".into(),
        ),
        Err(errs) => Fetched::failed(
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
}

/// One polling round for a one-shot command, and how to read after it: the pool, the
/// quorum view, the agreeing endpoints, and the order reads try endpoints in (agreeing
/// ones first, then any other that answered on the right chain).
pub(crate) struct Polled {
    pub pool: EndpointPool,
    pub view: QuorumView,
    pub verified: HashSet<usize>,
    pub order: Vec<usize>,
}

impl Polled {
    pub(crate) async fn round(config: &Config, clock: &dyn Clock) -> Result<Self, GatherError> {
        let mut pool = EndpointPool::from_config(&config.chain).map_err(GatherError::HttpClient)?;
        let view = pool.observe(clock).await;
        let verified = view
            .quorum()
            .map(|q| q.members.iter().copied().collect())
            .unwrap_or_default();
        let order = read_order(&view, true);
        Ok(Polled {
            pool,
            view,
            verified,
            order,
        })
    }

    /// A read's result, with the endpoint that answered and whether it agrees.
    pub(crate) fn fetched<T>(
        &self,
        r: Result<(usize, T), Vec<crate::api::ApiError>>,
    ) -> Fetched<T> {
        to_fetched(&self.pool, &self.verified, r)
    }
}

/// A data center node's `get_info` and when it arrived (Unix ms); `None` without an `api`.
pub type NodeAnswer = Option<(Result<GetInfo, String>, i64)>;

/// Asks each data center's own node (`api`) for `get_info`, concurrently: per data center
/// in config order, `None` without an `api`, else the answer and when it arrived.
pub(crate) fn datacenter_nodes<'a>(
    config: &'a Config,
    clock: &'a dyn Clock,
) -> Result<impl std::future::Future<Output = Vec<NodeAnswer>> + 'a, GatherError> {
    let opts = ClientOptions {
        timeout: config.chain.request_timeout,
        ..ClientOptions::default()
    };
    let http = http_client(&opts).map_err(GatherError::HttpClient)?;
    Ok(join_all(config.datacenters.iter().map(move |d| {
        let client = d
            .api
            .clone()
            .map(|u| ChainClient::new(http.clone(), u, opts.clone()));
        async move {
            let client = client?;
            let r = client.get_info().await.map_err(|e| e.kind.to_string());
            Some((r, clock.now_ms()))
        }
    })))
}

/// Gathers a snapshot with `clock`. Network I/O only; no private key.
pub async fn gather(
    config: &Config,
    warnings: Vec<Problem>,
    clock: &dyn Clock,
) -> Result<StatusInputs, GatherError> {
    let polled = Polled::round(config, clock).await?;
    let (pool, order) = (&polled.pool, &polled.order);
    let me = config.producer.account;
    let want_finalizer = config.datacenters.iter().any(|d| d.finalizer_key.is_some());

    let schedule = pool.first_success(order, |c| c.get_producer_schedule());
    let producer = pool.first_success(order, |c| c.get_producer(me));
    let finalizer = async {
        if !want_finalizer {
            return None;
        }
        Some(
            pool.first_success(order, |c| async move {
                match c.get_finalizer(me).await? {
                    None => Ok(None),
                    Some(f) => Ok(c
                        .get_finalizer_key(f.active_key_id)
                        .await?
                        .map(|k| k.finalizer_key)),
                }
            })
            .await,
        )
    };
    let nodes = datacenter_nodes(config, clock)?;
    let (schedule, producer, finalizer, datacenter_nodes) =
        tokio::join!(schedule, producer, finalizer, nodes);

    Ok(StatusInputs {
        now_ms: clock.now_ms(),
        schedule: polled.fetched(schedule),
        producer: polled.fetched(producer),
        finalizer: finalizer.map(|f| polled.fetched(f)),
        view: polled.view,
        datacenter_nodes,
        config_warnings: warnings,
    })
}
