//! The endpoint pool: the observer's eyes.
//!
//! Each round the pool asks every configured endpoint for `get_info` concurrently (each
//! call bounded by the client's timeout), then, if heads differ, asks the endpoints above
//! the common height for that block's id, and hands everything to the pure
//! [`quorum::assess`](super::quorum::assess). Per-endpoint health (latency, error streak,
//! request/error counts) is kept between rounds.
//!
//! Reads that need only one answer go through [`EndpointPool::first_success`], which tries
//! endpoints in a given order (normally [`EndpointPool::read_order`]: agreeing endpoints,
//! fastest reader first), asking the next one at once on a failure and after 250 ms of
//! silence, and reports every failure as `endpoint => error`, as lighthouse's
//! `beacon_node_fallback` does. Facts the decision uses are majority reads
//! ([`EndpointPool::agreed`]). Every read but `get_info` feeds the endpoint's read-latency
//! average ([`EndpointPool::timed`]), which orders reads and marks slow readers.

mod reads;
mod round;

use std::future::Future;
use std::time::Duration;

use super::client::{http_client, ChainClient, ClientOptions, HttpClientError};
use super::error::{ApiError, ApiErrorKind};
use super::types::{BlockInfo, ChainId, GetInfo};
use super::url::EndpointUrl;
use crate::quorum::QuorumPolicy;
pub use reads::{read_order, Agreed, Disagreement};

/// `[chain]`, validated: the endpoints and the bounds the pool holds them to.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainConfig {
    pub endpoints: Vec<EndpointUrl>,
    pub chain_id: Option<ChainId>,
    pub request_timeout: Duration,
    pub max_head_age: Duration,
    pub max_clock_ahead: Duration,
    /// A data center's node is "synced" when at most this many blocks behind the quorum.
    pub max_lag_blocks: u32,
}

impl ChainConfig {
    pub fn quorum_policy(&self) -> QuorumPolicy {
        QuorumPolicy {
            configured: self.endpoints.len(),
            chain_id: self.chain_id,
            max_head_age_ms: self.max_head_age.as_millis() as i64,
            max_clock_ahead_ms: self.max_clock_ahead.as_millis() as i64,
        }
    }
}

/// The calls the pool makes; implemented by [`ChainClient`] and by test fakes.
pub trait ChainApi: Send + Sync {
    /// The redacted endpoint URL.
    fn label(&self) -> String;
    fn get_info(&self) -> impl Future<Output = Result<GetInfo, ApiError>> + Send;
    fn get_block_info(&self, num: u32) -> impl Future<Output = Result<BlockInfo, ApiError>> + Send;
}

impl ChainApi for ChainClient {
    fn label(&self) -> String {
        self.endpoint().to_string()
    }

    fn get_info(&self) -> impl Future<Output = Result<GetInfo, ApiError>> + Send {
        ChainClient::get_info(self)
    }

    fn get_block_info(&self, num: u32) -> impl Future<Output = Result<BlockInfo, ApiError>> + Send {
        ChainClient::get_block_info(self, num)
    }
}

/// Counters kept per endpoint across rounds (for logs and metrics).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EndpointHealth {
    /// `get_info` failures in a row (0 after a success).
    pub consecutive_errors: u32,
    pub requests: u64,
    pub errors: u64,
    pub last_latency_ms: Option<u64>,
    pub last_error: Option<ApiErrorKind>,
    /// After failures, not asked again before this time (our clock, Unix ms).
    pub retry_at_ms: Option<i64>,
}

/// Configured endpoints with their health.
pub struct EndpointPool<C = ChainClient> {
    members: Vec<(std::sync::Arc<C>, EndpointHealth)>,
    /// Per endpoint: the moving average (ms) of every read but `get_info`.
    read_ms: Vec<std::sync::Mutex<Option<f64>>>,
    policy: QuorumPolicy,
    /// Longest a probe stage of a round may take (the request timeout).
    stage_timeout: Duration,
}

impl EndpointPool<ChainClient> {
    /// Clients for every `[chain] endpoints` entry, sharing one connection pool.
    pub fn from_config(chain: &ChainConfig) -> Result<Self, HttpClientError> {
        let opts = ClientOptions {
            timeout: chain.request_timeout,
            ..ClientOptions::default()
        };
        let http = http_client(&opts)?;
        let clients = chain
            .endpoints
            .iter()
            .map(|u| ChainClient::new(http.clone(), u.clone(), opts.clone()))
            .collect();
        let mut pool = EndpointPool::new(clients, chain.quorum_policy());
        pool.stage_timeout = chain.request_timeout;
        Ok(pool)
    }
}

impl<C: ChainApi> EndpointPool<C> {
    /// `policy.configured` is set to the number of clients.
    pub fn new(clients: Vec<C>, mut policy: QuorumPolicy) -> Self {
        policy.configured = clients.len();
        EndpointPool {
            read_ms: clients.iter().map(|_| Default::default()).collect(),
            members: clients
                .into_iter()
                .map(|c| (std::sync::Arc::new(c), EndpointHealth::default()))
                .collect(),
            policy,
            stage_timeout: ClientOptions::default().timeout,
        }
    }

    /// Sets the longest a probe stage may take (normally `request_timeout_ms`).
    pub fn with_stage_timeout(mut self, timeout: Duration) -> Self {
        self.stage_timeout = timeout;
        self
    }

    pub fn policy(&self) -> &QuorumPolicy {
        &self.policy
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn client(&self, index: usize) -> &C {
        &self.members[index].0
    }

    /// The client at `index`, shareable with a spawned task (a push that must finish
    /// after the caller has moved on).
    pub fn shared_client(&self, index: usize) -> std::sync::Arc<C> {
        self.members[index].0.clone()
    }

    pub fn health(&self, index: usize) -> &EndpointHealth {
        &self.members[index].1
    }
}

/// The next finished read of `pending`, or `None` once all are done or `deadline` (when
/// set) has passed: the rounds stop waiting for stragglers after the first answers.
async fn next_before<S>(pending: &mut S, deadline: Option<tokio::time::Instant>) -> Option<S::Item>
where
    S: futures_util::Stream + Unpin,
{
    use futures_util::StreamExt;
    match deadline {
        None => pending.next().await,
        Some(d) => tokio::time::timeout_at(d, pending.next())
            .await
            .ok()
            .flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::round::{backoff_ms, MAX_BACKOFF_MS};
    use super::*;
    use crate::quorum::{
        BlockRef, EndpointAssessment, ExclusionReason, QuorumState, QuorumView, Verdict,
    };

    fn ep(index: usize, latency_ms: u64, verdict: Verdict, answered: bool) -> EndpointAssessment {
        EndpointAssessment {
            index,
            label: String::new(),
            verdict,
            head: answered.then_some(BlockRef {
                num: 1,
                id: crate::antelope::Checksum256([0; 32]),
                time: None,
            }),
            lib: None,
            head_age_ms: None,
            latency_ms,
            consecutive_errors: 0,
            chain_id: None,
            server_version: None,
        }
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(
            (1..=7).map(backoff_ms).collect::<Vec<_>>(),
            vec![500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000]
        );
        assert_eq!(backoff_ms(u32::MAX), MAX_BACKOFF_MS);
    }

    #[test]
    fn reads_prefer_the_fast_majority_and_never_the_wrong_chain() {
        let stale = Verdict::Excluded(ExclusionReason::Stale {
            age_ms: 1,
            max_ms: 0,
        });
        let wrong = Verdict::Excluded(ExclusionReason::WrongChain {
            expected: crate::antelope::Checksum256([1; 32]),
            got: crate::antelope::Checksum256([2; 32]),
        });
        let failed = Verdict::Excluded(ExclusionReason::RequestFailed { error: "x".into() });
        let view = QuorumView {
            configured: 6,
            required: 4,
            endpoints: vec![
                ep(0, 50, Verdict::Agrees, true),
                ep(1, 10, stale, true),
                ep(2, 20, Verdict::Agrees, true),
                ep(3, 5, wrong, true),
                ep(4, 1, failed, false),
                ep(5, 99, Verdict::Healthy, true),
            ],
            state: QuorumState::Blind {
                healthy: 0,
                required: 4,
            },
        };
        assert_eq!(read_order(&view, false), vec![2, 0, 5]);
        assert_eq!(read_order(&view, true), vec![2, 0, 5, 1]);
    }
}
