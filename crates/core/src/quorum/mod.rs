//! The quorum view: what a majority of independent API endpoints agree the chain is.
//!
//! This module is pure: it turns per-endpoint observations (gathered elsewhere, see
//! the app's `api::pool`) into a [`QuorumView`]. Times come in the observations; nothing here
//! reads a clock or the network.
//!
//! # The rule
//!
//! Let `N` be the number of **configured** endpoints and `Q = ⌊N/2⌋ + 1` (a strict
//! majority of `N`). The observer sees the chain only when at least `Q` endpoints are
//! *healthy* and report the *same block id at a common height*.
//!
//! 1. **Screening.** An endpoint is excluded, with an [`ExclusionReason`], when its
//!    `get_info` failed or was inconsistent; when it is on the wrong chain (its chain id
//!    differs from the configured `chain_id`, or — with none configured — from the chain id
//!    that at least `Q` endpoints report; if no chain id reaches `Q`, none can be trusted);
//!    when its head is older than `max_head_age_ms` at the moment its answer arrived
//!    (stale); or when its head is more than `max_clock_ahead_ms` ahead of our clock.
//! 2. **Common height.** `h` = the highest head that at least `Q` healthy endpoints have
//!    reached (the `Q`-th highest healthy head; [`candidate_heights`]). One endpoint can
//!    neither drag it down (a low or ancient head, even with a fresh timestamp, is
//!    outvoted) nor push it up. Each healthy endpoint at or above `h` contributes its block
//!    id at `h`: its head id when its head is `h`, else the id it returned for block `h`
//!    (`get_block_info`, fetched by the pool). An endpoint that could not give an id at `h`
//!    is excluded; one below `h` stays healthy but does not vote. When no id at `h` reaches
//!    `Q`, the pool tries the next lower candidate height (at most three per round).
//! 3. **Agreement.** The endpoints are grouped by their id at `h`. If one group has at least
//!    `Q` members, the state is [`QuorumState::Agreed`] and the members of other groups are
//!    excluded as forked. Otherwise, if at least `Q` endpoints gave an id, the state is
//!    [`QuorumState::Disagree`]; if fewer did, [`QuorumState::Blind`].
//! 4. **Quorum head and LIB.** The agreed head is block `h` with the agreed id (verified by
//!    `Q` endpoints). `best_head_num` is the highest head at least `Q` agreeing endpoints
//!    have reached (claimed, not id-verified beyond `h`). The quorum LIB is the highest LIB
//!    at least `Q` agreeing endpoints report, capped at `h`; since the agreeing endpoints
//!    share every block up to `h` (ids chain through `previous`), its id is agreed too.
//!
//! Consequences, by `N`:
//! - `N = 1`: `Q = 1`. The one endpoint is believed if healthy. Nothing is cross-checked:
//!   a lying or forked endpoint cannot be detected (config validation warns).
//! - `N = 2`: `Q = 2`. Both must be healthy and agree. One endpoint down or disagreeing
//!   makes the observer blind: with two sources there is no way to tell which is right,
//!   and acting on one unverified source is exactly what the quorum is for. Two endpoints
//!   buy cross-checking but no fault tolerance (config validation warns).
//! - `N = 3`: `Q = 2`. One endpoint may be down, stale, lying or forked.
//! - `N = 5`: `Q = 3`. Two may fail.
//! - Even `N ≥ 4` tolerates no more failures than `N − 1`; a tie (2 vs 2) is `Disagree`.
//!
//! The majority is of the *configured* endpoints, not of those answering: otherwise two
//! endpoints going down would let the third decide alone.
//!
//! Limits: endpoints are assumed independent (a shared upstream or load balancer counts
//! once in reality but `k` times here; config validation warns about repeated hosts), and
//! a majority of endpoints colluding or sharing one faulty upstream defeats the check.
//!
//! The types are here; the rule itself (screening, candidate heights, probes, agreement)
//! is in `assess`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;

use antelope::chain_api::{BlockId, ChainId, GetInfo};
use antelope::BlockTimestamp;

mod assess;

pub use assess::{assess, assess_at, candidate_heights, probes_needed};

/// What the quorum computation needs from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumPolicy {
    /// `N`: the number of configured endpoints.
    pub configured: usize,
    /// Expected chain id, if configured.
    pub chain_id: Option<ChainId>,
    /// Exclude an endpoint whose head is older than this when its answer arrives.
    pub max_head_age_ms: i64,
    /// Exclude an endpoint whose head is further than this ahead of our clock.
    pub max_clock_ahead_ms: i64,
}

impl QuorumPolicy {
    /// `Q = ⌊N/2⌋ + 1`.
    pub fn required(&self) -> usize {
        self.configured / 2 + 1
    }
}

/// A block, by number and id, with its timestamp when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BlockRef {
    pub num: u32,
    pub id: BlockId,
    pub time: Option<BlockTimestamp>,
}

/// One endpoint's answers in one polling round.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Position in the configured list.
    pub index: usize,
    /// The redacted endpoint URL.
    pub label: String,
    /// `get_info`, or why it failed.
    pub info: Result<GetInfo, String>,
    /// Our clock (Unix ms) when the `get_info` answer was complete.
    pub received_at_ms: i64,
    pub latency_ms: u64,
    /// Failed rounds in a row, including this one.
    pub consecutive_errors: u32,
    /// The block at the common height, when the pool asked for it.
    pub probe: Option<Result<BlockRef, String>>,
}

/// Why an endpoint does not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ExclusionReason {
    RequestFailed {
        error: String,
    },
    Inconsistent {
        detail: String,
    },
    WrongChain {
        expected: ChainId,
        got: ChainId,
    },
    ChainUnconfirmed {
        got: ChainId,
    },
    Stale {
        age_ms: i64,
        max_ms: i64,
    },
    AheadOfClock {
        ahead_ms: i64,
        max_ms: i64,
    },
    NoBlockAtHeight {
        height: u32,
        error: String,
    },
    Forked {
        height: u32,
        id: BlockId,
        quorum_id: BlockId,
    },
    /// Its head cannot be on the majority's chain: dated too late for its height.
    OffChain {
        num: u32,
        time: BlockTimestamp,
        height: u32,
        quorum_time: BlockTimestamp,
    },
}

impl fmt::Display for ExclusionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Said once: the client's own error usually says it already.
            ExclusionReason::RequestFailed { error } if error.contains("request failed") => {
                write!(f, "{error}")
            }
            ExclusionReason::RequestFailed { error } => write!(f, "request failed: {error}"),
            ExclusionReason::Inconsistent { detail } => {
                write!(f, "inconsistent get_info: {detail}")
            }
            ExclusionReason::WrongChain { expected, got } => write!(
                f,
                "wrong chain: reports chain id {got}, expected {expected}"
            ),
            ExclusionReason::ChainUnconfirmed { got } => write!(
                f,
                "chain id {got} is not reported by a majority of endpoints and no [chain] chain_id is configured"
            ),
            ExclusionReason::Stale { age_ms, max_ms } => write!(
                f,
                "stale: head is {:.1} s old (limit {:.1} s)",
                *age_ms as f64 / 1000.0,
                *max_ms as f64 / 1000.0
            ),
            ExclusionReason::AheadOfClock { ahead_ms, max_ms } => write!(
                f,
                "head is {:.1} s ahead of this machine's clock (limit {:.1} s): fix NTP here or there",
                *ahead_ms as f64 / 1000.0,
                *max_ms as f64 / 1000.0
            ),
            ExclusionReason::NoBlockAtHeight { height, error } => {
                write!(f, "could not read block {height} to compare: {error}")
            }
            ExclusionReason::Forked {
                height,
                id,
                quorum_id,
            } => write!(
                f,
                "on another fork: block {height} is {} here, {} on the majority",
                short(id),
                short(quorum_id)
            ),
            ExclusionReason::OffChain {
                num,
                time,
                height,
                quorum_time,
            } => write!(
                f,
                "on another fork (or lying): its head block {num} is dated {time}, but the \
                 majority's block {height} is dated {quorum_time}: {} blocks cannot fit between them",
                height.saturating_sub(*num)
            ),
        }
    }
}

fn short(id: &BlockId) -> String {
    let s = id.to_string();
    format!("{}…", &s[..16])
}

/// One endpoint's standing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Healthy and in the agreeing majority.
    Agrees,
    /// Passed screening, but no majority formed.
    Healthy,
    /// Does not count, and why.
    Excluded(ExclusionReason),
}

/// One endpoint in the view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointAssessment {
    pub index: usize,
    pub label: String,
    pub verdict: Verdict,
    pub head: Option<BlockRef>,
    pub lib: Option<BlockRef>,
    /// `received_at − head_block_time`; negative when the head is ahead of our clock.
    pub head_age_ms: Option<i64>,
    pub latency_ms: u64,
    pub consecutive_errors: u32,
    pub chain_id: Option<ChainId>,
    pub server_version: Option<String>,
}

/// What a majority agrees on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quorum {
    pub chain_id: ChainId,
    /// The block at the common height, with the id `Q` endpoints agree on.
    pub head: BlockRef,
    /// The highest head at least `Q` agreeing endpoints have reached.
    pub best_head_num: u32,
    /// The quorum LIB (≤ `head.num`).
    pub lib: BlockRef,
    /// Indices of the agreeing endpoints.
    pub members: Vec<usize>,
}

/// Endpoints that returned the same id at the common height.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForkGroup {
    pub id: BlockId,
    pub members: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum QuorumState {
    Agreed(Quorum),
    /// Enough endpoints are healthy but they are split: no id at `height` has `Q` votes.
    Disagree {
        height: u32,
        groups: Vec<ForkGroup>,
        required: usize,
    },
    /// Fewer than `Q` endpoints are healthy.
    Blind {
        healthy: usize,
        required: usize,
    },
}

impl fmt::Display for QuorumState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuorumState::Agreed(q) => write!(
                f,
                "agreed: block {} ({}) by {} endpoints, LIB {}",
                q.head.num,
                short(&q.head.id),
                q.members.len(),
                q.lib.num
            ),
            QuorumState::Disagree {
                height,
                groups,
                required,
            } => {
                write!(f, "endpoints disagree at block {height}:")?;
                for g in groups {
                    let names: Vec<String> =
                        g.members.iter().map(|i| format!("#{}", i + 1)).collect();
                    write!(f, " {} says {};", names.join(","), short(&g.id))?;
                }
                write!(f, " {required} must agree")
            }
            QuorumState::Blind { healthy, required } => write!(
                f,
                "observer blind: {healthy} healthy endpoint(s), {required} needed"
            ),
        }
    }
}

/// The result of one round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuorumView {
    pub configured: usize,
    pub required: usize,
    pub endpoints: Vec<EndpointAssessment>,
    pub state: QuorumState,
}

impl QuorumView {
    pub fn quorum(&self) -> Option<&Quorum> {
        match &self.state {
            QuorumState::Agreed(q) => Some(q),
            _ => None,
        }
    }

    /// True when no majority view exists (disagreement or too few healthy endpoints).
    pub fn is_blind(&self) -> bool {
        self.quorum().is_none()
    }

    /// When at least a quorum of endpoints agree on one chain id that differs from the
    /// configured one: `(configured, reported, how many report it)`. Then the config's
    /// `chain_id` is the likely mistake, not the endpoints.
    pub fn other_chain(&self) -> Option<(ChainId, ChainId, usize)> {
        let mut seen: Option<(ChainId, ChainId)> = None;
        let mut n = 0;
        for e in &self.endpoints {
            if let Verdict::Excluded(ExclusionReason::WrongChain { expected, got }) = &e.verdict {
                match seen {
                    None => seen = Some((*expected, *got)),
                    Some((_, g)) if g != *got => return None,
                    _ => {}
                }
                n += 1;
            }
        }
        let (expected, got) = seen?;
        (self.quorum().is_none() && n >= self.required).then_some((expected, got, n))
    }
}
