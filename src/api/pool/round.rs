//! One polling round: every endpoint's `get_info`, the block-id probes above the common
//! height, and the assessment; per-endpoint health and back-off between rounds.

use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::{next_before, ChainApi, EndpointPool};
use crate::api::error::{ApiError, ApiErrorKind};
use crate::api::types::{BlockInfo, GetInfo};
use crate::clock::Clock;
use crate::quorum::{
    assess, assess_at, candidate_heights, probes_needed, BlockRef, Observation, QuorumView,
};

/// Candidate heights tried per round before the round is called a disagreement.
const MAX_HEIGHTS_TRIED: usize = 3;

/// One endpoint's `get_info` in a round: the answer, its latency (ms) and when it
/// arrived (our clock, Unix ms).
type Answer = (Result<GetInfo, ApiError>, u64, i64);

/// First wait after a failed `get_info`; doubled per further failure up to
/// [`MAX_BACKOFF_MS`]. A dead or failing endpoint costs a few requests a minute, not
/// several a second (public endpoints ban clients that hammer them).
const BASE_BACKOFF_MS: i64 = 500;
pub(super) const MAX_BACKOFF_MS: i64 = 8_000;

/// The wait after `errors` failures in a row.
pub(super) fn backoff_ms(errors: u32) -> i64 {
    let doublings = errors.saturating_sub(1).min(16);
    BASE_BACKOFF_MS
        .saturating_mul(1i64 << doublings)
        .min(MAX_BACKOFF_MS)
}

impl<C: ChainApi> EndpointPool<C> {
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
            let next = next_before(&mut pending, deadline).await;
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
}
