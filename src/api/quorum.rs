//! The quorum view: what a majority of independent API endpoints agree the chain is.
//!
//! This module is pure: it turns per-endpoint observations (gathered elsewhere, see
//! [`super::pool`]) into a [`QuorumView`]. Times come in the observations; nothing here
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
//! 2. **Common height.** `h` = the lowest head among the healthy endpoints. Each healthy
//!    endpoint contributes its block id at `h`: its head id when its head is `h`, else the
//!    id it returned for block `h` (`get_block_info`, fetched by the pool). An endpoint that
//!    could not give an id at `h` is excluded.
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

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Serialize;

use super::types::{BlockId, ChainId, GetInfo};
use crate::antelope::BlockTimestamp;

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
}

impl fmt::Display for ExclusionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
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
}

/// Step 1: screen each observation. `Ok(())` = healthy.
fn screen(obs: &[Observation], policy: &QuorumPolicy) -> Vec<Result<(), ExclusionReason>> {
    fn consistent(o: &Observation) -> Option<&GetInfo> {
        o.info.as_ref().ok().filter(|i| i.check().is_ok())
    }
    let reference = policy.chain_id.or_else(|| {
        let mut counts: HashMap<ChainId, usize> = HashMap::new();
        for i in obs.iter().filter_map(consistent) {
            *counts.entry(i.chain_id).or_default() += 1;
        }
        counts
            .into_iter()
            .find(|(_, n)| *n >= policy.required())
            .map(|(c, _)| c)
    });
    obs.iter()
        .map(|o| {
            let info = o
                .info
                .as_ref()
                .map_err(|e| ExclusionReason::RequestFailed { error: e.clone() })?;
            info.check()
                .map_err(|detail| ExclusionReason::Inconsistent { detail })?;
            match reference {
                Some(expected) if expected != info.chain_id => {
                    return Err(ExclusionReason::WrongChain {
                        expected,
                        got: info.chain_id,
                    })
                }
                None => return Err(ExclusionReason::ChainUnconfirmed { got: info.chain_id }),
                Some(_) => {}
            }
            let age = o.received_at_ms - info.head_block_time.unix_ms();
            if age > policy.max_head_age_ms {
                return Err(ExclusionReason::Stale {
                    age_ms: age,
                    max_ms: policy.max_head_age_ms,
                });
            }
            if -age > policy.max_clock_ahead_ms {
                return Err(ExclusionReason::AheadOfClock {
                    ahead_ms: -age,
                    max_ms: policy.max_clock_ahead_ms,
                });
            }
            Ok(())
        })
        .collect()
}

/// What the pool must fetch before [`assess`] can compare ids: the common height `h` and
/// the endpoints (indices into `obs`) whose head is above it. `None` when there is nothing
/// to compare (fewer than `Q` healthy endpoints, or all heads equal).
pub fn probe_plan(obs: &[Observation], policy: &QuorumPolicy) -> Option<(u32, Vec<usize>)> {
    let screened = screen(obs, policy);
    let healthy: Vec<(usize, &GetInfo)> = obs
        .iter()
        .zip(&screened)
        .enumerate()
        .filter_map(|(i, (o, s))| {
            s.as_ref()
                .ok()
                .and(o.info.as_ref().ok())
                .map(|inf| (i, inf))
        })
        .collect();
    if healthy.len() < policy.required() {
        return None;
    }
    let h = healthy.iter().map(|(_, i)| i.head_block_num).min()?;
    let need: Vec<usize> = healthy
        .iter()
        .filter(|(_, i)| i.head_block_num != h && i.last_irreversible_block_num != h)
        .map(|(k, _)| *k)
        .collect();
    if need.is_empty() {
        None
    } else {
        Some((h, need))
    }
}

/// k-th largest (1-based) of `values`.
fn kth_largest(mut values: Vec<u32>, k: usize) -> Option<u32> {
    values.sort_unstable_by(|a, b| b.cmp(a));
    values.get(k.checked_sub(1)?).copied()
}

/// Steps 1–4: the quorum view of one round.
pub fn assess(obs: &[Observation], policy: &QuorumPolicy) -> QuorumView {
    let required = policy.required();
    let screened = screen(obs, policy);

    let mut endpoints: Vec<EndpointAssessment> = obs
        .iter()
        .zip(&screened)
        .map(|(o, s)| {
            let info = o.info.as_ref().ok();
            EndpointAssessment {
                index: o.index,
                label: o.label.clone(),
                verdict: match s {
                    Ok(()) => Verdict::Healthy,
                    Err(r) => Verdict::Excluded(r.clone()),
                },
                head: info.map(|i| BlockRef {
                    num: i.head_block_num,
                    id: i.head_block_id,
                    time: Some(i.head_block_time),
                }),
                lib: info.map(|i| BlockRef {
                    num: i.last_irreversible_block_num,
                    id: i.last_irreversible_block_id,
                    time: i.last_irreversible_block_time,
                }),
                head_age_ms: info.map(|i| o.received_at_ms - i.head_block_time.unix_ms()),
                latency_ms: o.latency_ms,
                consecutive_errors: o.consecutive_errors,
                chain_id: info.map(|i| i.chain_id),
                server_version: info.map(|i| i.version().to_string()),
            }
        })
        .collect();

    let healthy: Vec<usize> = (0..obs.len()).filter(|&k| screened[k].is_ok()).collect();
    let Some(h) = healthy
        .iter()
        .filter_map(|&k| endpoints[k].head.map(|b| b.num))
        .min()
    else {
        return QuorumView {
            configured: policy.configured,
            required,
            endpoints,
            state: QuorumState::Blind {
                healthy: 0,
                required,
            },
        };
    };

    // Step 2: each healthy endpoint's block at h.
    let mut at_h: BTreeMap<usize, BlockRef> = BTreeMap::new();
    for &k in &healthy {
        let (head, lib) = (endpoints[k].head, endpoints[k].lib);
        let found = match (head, lib) {
            (Some(b), _) if b.num == h => Ok(b),
            (_, Some(b)) if b.num == h => Ok(b),
            _ => match &obs[k].probe {
                Some(Ok(b)) if b.num == h => Ok(*b),
                Some(Ok(b)) => Err(format!("asked for block {h}, got {}", b.num)),
                Some(Err(e)) => Err(e.clone()),
                None => Err("not fetched".to_string()),
            },
        };
        match found {
            Ok(b) => {
                at_h.insert(k, b);
            }
            Err(error) => {
                endpoints[k].verdict =
                    Verdict::Excluded(ExclusionReason::NoBlockAtHeight { height: h, error })
            }
        }
    }

    // Step 3: group by id.
    let mut groups: BTreeMap<BlockId, Vec<usize>> = BTreeMap::new();
    for (&k, b) in &at_h {
        groups.entry(b.id).or_default().push(k);
    }
    let mut groups: Vec<ForkGroup> = groups
        .into_iter()
        .map(|(id, members)| ForkGroup { id, members })
        .collect();
    groups.sort_by(|a, b| b.members.len().cmp(&a.members.len()).then(a.id.cmp(&b.id)));

    let best = groups
        .first()
        .filter(|g| g.members.len() >= required)
        .cloned();
    let Some(best) = best else {
        let voters = at_h.len();
        let state = if voters >= required {
            QuorumState::Disagree {
                height: h,
                groups: groups
                    .into_iter()
                    .map(|g| ForkGroup {
                        id: g.id,
                        members: g.members.iter().map(|&k| obs[k].index).collect(),
                    })
                    .collect(),
                required,
            }
        } else {
            QuorumState::Blind {
                healthy: voters,
                required,
            }
        };
        return QuorumView {
            configured: policy.configured,
            required,
            endpoints,
            state,
        };
    };

    for (&k, b) in &at_h {
        endpoints[k].verdict = if b.id == best.id {
            Verdict::Agrees
        } else {
            Verdict::Excluded(ExclusionReason::Forked {
                height: h,
                id: b.id,
                quorum_id: best.id,
            })
        };
    }

    // Step 4: head, best head, LIB.
    let members = &best.members;
    let head_time = members.iter().find_map(|k| at_h[k].time);
    let head = BlockRef {
        num: h,
        id: best.id,
        time: head_time,
    };
    let heads: Vec<u32> = members
        .iter()
        .filter_map(|&k| endpoints[k].head.map(|b| b.num))
        .collect();
    let best_head_num = kth_largest(heads, required).unwrap_or(h).max(h);
    let libs: Vec<u32> = members
        .iter()
        .filter_map(|&k| endpoints[k].lib.map(|b| b.num))
        .collect();
    let lib_num = kth_largest(libs, required).unwrap_or(0).min(h);
    let lib = if lib_num == h {
        head
    } else {
        members
            .iter()
            .filter_map(|&k| endpoints[k].lib)
            .find(|b| b.num == lib_num)
            .unwrap_or(head)
    };
    let chain_id = members
        .iter()
        .find_map(|&k| endpoints[k].chain_id)
        .or(policy.chain_id)
        .unwrap_or(ChainId([0; 32]));

    QuorumView {
        configured: policy.configured,
        required,
        state: QuorumState::Agreed(Quorum {
            chain_id,
            head,
            best_head_num,
            lib,
            members: members.iter().map(|&k| obs[k].index).collect(),
        }),
        endpoints,
    }
}
