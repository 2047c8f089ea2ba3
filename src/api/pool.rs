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

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::client::{http_client, ChainClient, ClientOptions, HttpClientError};
use super::error::{ApiError, ApiErrorKind};
use crate::clock::Clock;
use crate::quorum::{
    assess, assess_at, candidate_heights, probes_needed, BlockRef, ExclusionReason, Observation,
    QuorumPolicy, QuorumView, Verdict,
};

/// Candidate heights tried per round before the round is called a disagreement.
const MAX_HEIGHTS_TRIED: usize = 3;
use super::types::{BlockInfo, ChainId, GetInfo};
use super::url::EndpointUrl;

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

/// A state read a majority answered identically.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreed<T> {
    pub value: T,
    /// Indices of the endpoints in the majority.
    pub members: Vec<usize>,
    /// `(endpoint, what it said instead)` for each endpoint that answered otherwise.
    pub outliers: Vec<(String, String)>,
}

/// No majority: what each group said, and the endpoints outside the largest group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct Disagreement {
    pub detail: String,
    pub outliers: Vec<String>,
}

/// One endpoint's `get_info` in a round: the answer, its latency (ms) and when it
/// arrived (our clock, Unix ms).
type Answer = (Result<GetInfo, ApiError>, u64, i64);

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

/// First wait after a failed `get_info`; doubled per further failure up to
/// [`MAX_BACKOFF_MS`]. A dead or failing endpoint costs a few requests a minute, not
/// several a second (public endpoints ban clients that hammer them).
const BASE_BACKOFF_MS: i64 = 500;
const MAX_BACKOFF_MS: i64 = 8_000;

/// The wait after `errors` failures in a row.
fn backoff_ms(errors: u32) -> i64 {
    let doublings = errors.saturating_sub(1).min(16);
    BASE_BACKOFF_MS
        .saturating_mul(1i64 << doublings)
        .min(MAX_BACKOFF_MS)
}

/// Weight of a new sample in the read-latency average.
const READ_EWMA_ALPHA: f64 = 0.2;
/// Added to the time a failed read took: an endpoint that fails fast is not fast.
const READ_ERROR_PENALTY_MS: f64 = 500.0;
/// An endpoint reads slowly when its average is above twice the fastest's plus this.
const SLOW_READ_MARGIN_MS: f64 = 50.0;

/// Records a read's duration into an endpoint's average when dropped: when the read
/// completes, and also when it is abandoned (a hedged or late read cut off), so that an
/// endpoint that is only ever cut off still shows at least the time it was given.
struct ReadTimer<'a> {
    ewma: &'a std::sync::Mutex<Option<f64>>,
    started: Instant,
    penalty_ms: f64,
}

impl Drop for ReadTimer<'_> {
    fn drop(&mut self) {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0 + self.penalty_ms;
        if let Ok(mut e) = self.ewma.lock() {
            *e = Some(match *e {
                None => ms,
                Some(old) => old + READ_EWMA_ALPHA * (ms - old),
            });
        }
    }
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

    /// Runs read `fut` on endpoint `k`, adding its duration to the endpoint's read-latency
    /// average (also when the read is dropped unfinished; a failure adds a penalty).
    pub async fn timed<T>(
        &self,
        k: usize,
        fut: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let Some(ewma) = self.read_ms.get(k) else {
            return fut.await;
        };
        let mut timer = ReadTimer {
            ewma,
            started: Instant::now(),
            penalty_ms: 0.0,
        };
        let r = fut.await;
        if r.is_err() {
            timer.penalty_ms = READ_ERROR_PENALTY_MS;
        }
        drop(timer);
        r
    }

    /// The moving average of endpoint `k`'s reads other than `get_info` (ms), once it has
    /// made one.
    pub fn read_latency_ms(&self, k: usize) -> Option<f64> {
        self.read_ms
            .get(k)
            .and_then(|m| m.lock().ok().and_then(|e| *e))
    }

    /// The endpoints of `order` whose reads are slow next to the fastest's (average above
    /// twice the fastest plus 50 ms): asked only when the others cannot answer.
    pub fn slow_readers(&self, order: &[usize]) -> Vec<usize> {
        let lat: Vec<(usize, f64)> = order
            .iter()
            .filter_map(|&k| self.read_latency_ms(k).map(|l| (k, l)))
            .collect();
        let fastest = lat.iter().map(|l| l.1).fold(f64::INFINITY, f64::min);
        lat.into_iter()
            .filter(|&(_, l)| l > 2.0 * fastest + SLOW_READ_MARGIN_MS)
            .map(|(k, _)| k)
            .collect()
    }

    /// [`read_order`], each class ordered by read latency (every read but `get_info`,
    /// see [`Self::read_latency_ms`]; `get_info` latency until an endpoint has read).
    pub fn read_order(&self, view: &QuorumView, include_unverified: bool) -> Vec<usize> {
        read_order_by(view, include_unverified, |k, get_info_ms| {
            self.read_latency_ms(k).unwrap_or(get_info_ms as f64)
        })
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

    /// One polling round: every endpoint's `get_info` (each bounded by the request
    /// timeout), then the assessment. For one-shot commands.
    pub async fn observe(&mut self, clock: &dyn Clock) -> QuorumView {
        self.observe_round(clock, None).await
    }

    /// A polling round for the daemon: it closes `grace` after a quorum of endpoints has
    /// answered, so one slow endpoint cannot hold every round (and the decision) back to
    /// the request timeout. An endpoint still silent then counts as failed this round.
    pub async fn observe_fast(&mut self, clock: &dyn Clock, grace: Duration) -> QuorumView {
        self.observe_round(clock, Some(grace)).await
    }

    async fn observe_round(&mut self, clock: &dyn Clock, grace: Option<Duration>) -> QuorumView {
        let required = self.policy.required();
        let now_ms = clock.now_ms();
        let mut pending: FuturesUnordered<_> = self
            .members
            .iter()
            .enumerate()
            .map(|(k, (c, h))| async move {
                if let Some(at) = h.retry_at_ms.filter(|&at| now_ms < at) {
                    let e = ApiError::new(
                        c.label(),
                        "get_info",
                        ApiErrorKind::Transport(format!(
                            "not asked: backing off for {} ms after {} failure(s) in a row ({})",
                            at - now_ms,
                            h.consecutive_errors,
                            h.last_error
                                .as_ref()
                                .map_or_else(|| "no detail".to_string(), ApiErrorKind::to_string)
                        )),
                    );
                    return (k, Err(e), 0, now_ms);
                }
                let t0 = Instant::now();
                let r = c.get_info().await;
                (k, r, t0.elapsed().as_millis() as u64, clock.now_ms())
            })
            .collect();
        let mut answers: Vec<Option<Answer>> = (0..self.members.len()).map(|_| None).collect();
        let mut ok = 0usize;
        let mut deadline: Option<tokio::time::Instant> = None;
        let started = Instant::now();
        loop {
            let next = match deadline {
                None => pending.next().await,
                Some(d) => tokio::time::timeout_at(d, pending.next())
                    .await
                    .ok()
                    .flatten(),
            };
            let Some((k, r, latency_ms, at)) = next else {
                break;
            };
            if r.is_ok() {
                ok += 1;
                if let (Some(g), None) = (grace, deadline) {
                    if ok >= required {
                        deadline = Some(tokio::time::Instant::now() + g);
                    }
                }
            }
            answers[k] = Some((r, latency_ms, at));
        }
        drop(pending);
        let cut: Vec<bool> = answers.iter().map(Option::is_none).collect();
        let round: Vec<Answer> = answers
            .into_iter()
            .enumerate()
            .map(|(k, a)| {
                a.unwrap_or_else(|| {
                    let waited = started.elapsed().as_millis() as u64;
                    let label = self.members[k].0.label();
                    (
                        Err(ApiError::new(
                            label,
                            "get_info",
                            ApiErrorKind::Transport(format!(
                                "no answer {} ms after a majority of endpoints had answered (slower than the rest)",
                                grace.unwrap_or_default().as_millis()
                            )),
                        )),
                        waited,
                        clock.now_ms(),
                    )
                })
            })
            .collect();

        let mut obs: Vec<Observation> = Vec::with_capacity(round.len());
        for (k, (r, latency_ms, received_at_ms)) in round.into_iter().enumerate() {
            let (client, health) = &mut self.members[k];
            let skipped = health.retry_at_ms.is_some_and(|at| now_ms < at);
            let cut_by_grace = !skipped && cut[k];
            let info = match r {
                _ if skipped => Err(health
                    .last_error
                    .as_ref()
                    .map(ApiErrorKind::to_string)
                    .unwrap_or_default()),
                Ok(i) => {
                    health.requests += 1;
                    health.last_latency_ms = Some(latency_ms);
                    health.consecutive_errors = 0;
                    health.last_error = None;
                    health.retry_at_ms = None;
                    Ok(i)
                }
                Err(e) => {
                    health.requests += 1;
                    health.last_latency_ms = Some(latency_ms);
                    health.consecutive_errors = health.consecutive_errors.saturating_add(1);
                    health.errors += 1;
                    // Slower than the rest is not failing: it is asked again next round.
                    health.retry_at_ms = (!cut_by_grace)
                        .then(|| now_ms.saturating_add(backoff_ms(health.consecutive_errors)));
                    let text = e.kind.to_string();
                    tracing::warn!(endpoint = %client.label(), error = %text, "get_info failed");
                    health.last_error = Some(e.kind);
                    Err(text)
                }
            };
            obs.push(Observation {
                index: k,
                label: client.label(),
                info,
                received_at_ms,
                latency_ms,
                consecutive_errors: health.consecutive_errors,
                probe: None,
            });
        }

        // The highest height a majority vouch for; if they split there (one endpoint lying
        // about the block at that height), the next lower candidates.
        let candidates = candidate_heights(&obs, &self.policy);
        let mut first: Option<QuorumView> = None;
        // The whole probe stage (every height tried) takes at most one request timeout.
        let stage_deadline = tokio::time::Instant::now() + self.stage_timeout;
        for &height in candidates.iter().take(MAX_HEIGHTS_TRIED) {
            let need = probes_needed(&obs, &self.policy, height);
            let probes = self
                .probe(&need, height, stage_deadline, grace, required, obs.len())
                .await;
            for o in obs.iter_mut() {
                o.probe = None;
            }
            for (k, r) in probes {
                let health = &mut self.members[k].1;
                health.requests += 1;
                obs[k].probe = Some(match r {
                    Ok(b) => Ok(BlockRef {
                        num: b.block_num,
                        id: b.id,
                        time: Some(b.timestamp),
                    }),
                    Err(e) => {
                        health.errors += 1;
                        Err(e.kind.to_string())
                    }
                });
            }
            let view = assess_at(&obs, &self.policy, Some(height));
            if view.quorum().is_some() {
                tracing::debug!(state = %view.state, "quorum assessed");
                return view;
            }
            first.get_or_insert(view);
        }
        let view = first.unwrap_or_else(|| assess(&obs, &self.policy));
        tracing::debug!(state = %view.state, "quorum assessed");
        view
    }

    /// Block `height`'s id from each endpoint in `need`, concurrently, until
    /// `stage_deadline`; in a fast round (`grace` set), the stage closes `grace` after
    /// enough endpoints have answered for a majority at that height (those not probed
    /// vouch with their own head). Endpoints cut off get an error.
    async fn probe(
        &self,
        need: &[usize],
        height: u32,
        stage_deadline: tokio::time::Instant,
        grace: Option<Duration>,
        required: usize,
        endpoints: usize,
    ) -> Vec<(usize, Result<BlockInfo, ApiError>)> {
        let mut pending: FuturesUnordered<_> = need
            .iter()
            .map(|&k| {
                let client = &self.members[k].0;
                async move { (k, self.timed(k, client.get_block_info(height)).await) }
            })
            .collect();
        let mut out = Vec::with_capacity(need.len());
        let unprobed = endpoints.saturating_sub(need.len());
        let mut ok = 0usize;
        let mut deadline = stage_deadline;
        loop {
            match tokio::time::timeout_at(deadline, pending.next()).await {
                Ok(Some((k, r))) => {
                    ok += usize::from(r.is_ok());
                    out.push((k, r));
                    if let Some(g) = grace {
                        if unprobed + ok >= required {
                            deadline = deadline.min(tokio::time::Instant::now() + g);
                        }
                    }
                }
                Ok(None) => break,
                Err(_) => break,
            }
        }
        drop(pending);
        for &k in need {
            if !out.iter().any(|(j, _)| *j == k) {
                out.push((
                    k,
                    Err(ApiError::new(
                        self.members[k].0.label(),
                        "get_block_info",
                        ApiErrorKind::Transport(format!(
                            "no answer for block {height} before the round's probe stage closed"
                        )),
                    )),
                ));
            }
        }
        out
    }

    /// A state read that a strict majority of the **configured** endpoints must answer
    /// identically (compared by `key`, a projection of the fields that matter). Every
    /// endpoint in `order` is asked at once; the read closes `grace` after a majority has
    /// formed (so a slow endpoint costs at most that), or when all have answered. Returns
    /// the majority's answer and the endpoints that answered differently.
    pub async fn agreed<'a, T, K, F, Fut>(
        &'a self,
        order: &[usize],
        grace: Duration,
        f: F,
        key: impl Fn(&T) -> K,
    ) -> Result<Agreed<T>, Disagreement>
    where
        K: PartialEq + std::fmt::Debug,
        F: Fn(&'a C) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let required = self.policy.required();
        let mut pending: FuturesUnordered<_> = order
            .iter()
            .filter_map(|&k| self.members.get(k).map(|(c, _)| (k, c)))
            .map(|(k, c)| {
                let fut = self.timed(k, f(c));
                async move { (k, fut.await) }
            })
            .collect();
        // (key, value of the first answer, members)
        let mut groups: Vec<(K, T, Vec<usize>)> = Vec::new();
        let mut errors: Vec<String> = Vec::new();
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let next = match deadline {
                None => pending.next().await,
                Some(d) => tokio::time::timeout_at(d, pending.next())
                    .await
                    .ok()
                    .flatten(),
            };
            let Some((k, r)) = next else { break };
            match r {
                Ok(v) => {
                    let kv = key(&v);
                    match groups.iter_mut().find(|g| g.0 == kv) {
                        Some(g) => g.2.push(k),
                        None => groups.push((kv, v, vec![k])),
                    }
                }
                Err(e) => errors.push(e.to_string()),
            }
            if deadline.is_none() && groups.iter().any(|g| g.2.len() >= required) {
                deadline = Some(tokio::time::Instant::now() + grace);
            }
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.2.len()));
        let label = |k: usize| self.members[k].0.label();
        let describe = |g: &(K, T, Vec<usize>)| {
            let mut text = format!("{:?}", g.0);
            if text.len() > 160 {
                let cut = (0..=160)
                    .rev()
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(0);
                text.truncate(cut);
                text.push('…');
            }
            format!(
                "{} said {text}",
                g.2.iter().map(|&k| label(k)).collect::<Vec<_>>().join(", ")
            )
        };
        match groups.first() {
            Some(g) if g.2.len() >= required => {
                let outliers = groups[1..]
                    .iter()
                    .flat_map(|o| o.2.iter().map(|&k| (label(k), describe(o))))
                    .collect();
                let mut groups = groups;
                let (_, value, members) = groups.swap_remove(0);
                Ok(Agreed {
                    value,
                    members,
                    outliers,
                })
            }
            _ => {
                let mut parts: Vec<String> = groups.iter().map(describe).collect();
                parts.extend(errors);
                Err(Disagreement {
                    detail: format!(
                        "no {required} of {} endpoints gave the same answer: {}",
                        self.policy.configured,
                        if parts.is_empty() {
                            "no endpoint to ask".to_string()
                        } else {
                            parts.join("; ")
                        }
                    ),
                    outliers: if groups.len() > 1 {
                        groups[1..]
                            .iter()
                            .flat_map(|o| o.2.iter().map(|&k| label(k)))
                            .collect()
                    } else {
                        Vec::new()
                    },
                })
            }
        }
    }

    /// Tries `f` on the endpoints in `order` until one succeeds: the next endpoint is asked
    /// at once when one fails, and also when one has not answered within [`HEDGE_AFTER`]
    /// (a slow endpoint costs that, not the request timeout). Returns the index of the
    /// endpoint that answered, or every `(endpoint, error)` on failure.
    pub async fn first_success<'a, T, F, Fut>(
        &'a self,
        order: &[usize],
        f: F,
    ) -> Result<(usize, T), Vec<ApiError>>
    where
        F: Fn(&'a C) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let f = &f;
        let ask = |k: usize, client: &'a C| async move { (k, self.timed(k, f(client)).await) };
        let mut rest = order
            .iter()
            .filter_map(|&k| self.members.get(k).map(|(c, _)| (k, &**c)));
        let mut pending = FuturesUnordered::new();
        let mut errors = Vec::new();
        loop {
            if pending.is_empty() {
                match rest.next() {
                    Some((k, c)) => pending.push(ask(k, c)),
                    None => return Err(errors),
                }
            }
            match tokio::time::timeout(HEDGE_AFTER, pending.next()).await {
                Err(_) => {
                    if let Some((k, c)) = rest.next() {
                        pending.push(ask(k, c));
                    }
                }
                Ok(None) => {}
                Ok(Some((k, Ok(v)))) => return Ok((k, v)),
                Ok(Some((_, Err(e)))) => {
                    errors.push(e);
                    if let Some((k, c)) = rest.next() {
                        pending.push(ask(k, c));
                    }
                }
            }
        }
    }
}

/// A read that has not answered by then is also asked of the next endpoint.
const HEDGE_AFTER: Duration = Duration::from_millis(250);

/// Endpoint indices in the order reads should try them: agreeing endpoints (fastest
/// first), then healthy ones, then — only if `include_unverified` — any other endpoint
/// that answered, except one on the wrong chain. Blind or split observers should not trust
/// reads; callers decide.
pub fn read_order(view: &QuorumView, include_unverified: bool) -> Vec<usize> {
    read_order_by(view, include_unverified, |_, get_info_ms| {
        get_info_ms as f64
    })
}

/// [`read_order`] with each class ordered by `latency(index, get_info latency)`.
fn read_order_by(
    view: &QuorumView,
    include_unverified: bool,
    latency: impl Fn(usize, u64) -> f64,
) -> Vec<usize> {
    let rank = |v: &Verdict| match v {
        Verdict::Agrees => Some(0),
        Verdict::Healthy => Some(1),
        Verdict::Excluded(ExclusionReason::WrongChain { .. }) => None,
        Verdict::Excluded(_) if include_unverified => Some(2),
        Verdict::Excluded(_) => None,
    };
    let mut order: Vec<(usize, f64, usize)> = view
        .endpoints
        .iter()
        .filter(|e| e.head.is_some() || matches!(e.verdict, Verdict::Agrees | Verdict::Healthy))
        .filter_map(|e| rank(&e.verdict).map(|r| (r, latency(e.index, e.latency_ms), e.index)))
        .collect();
    order.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
    order.into_iter().map(|(_, _, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::{EndpointAssessment, QuorumState};

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
