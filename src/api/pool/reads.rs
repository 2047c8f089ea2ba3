//! Reads beyond the round: majority reads ([`EndpointPool::agreed`]), first-answer reads
//! ([`EndpointPool::first_success`], hedged), and the read-latency averages that order
//! them ([`EndpointPool::read_order`]).

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::{next_before, ChainApi, EndpointPool};
use crate::api::error::ApiError;
use crate::quorum::{ExclusionReason, QuorumView, Verdict};

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

impl<C: ChainApi> EndpointPool<C> {
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
            let next = next_before(&mut pending, deadline).await;
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
