//! Whether a data center's own node could take over: reachable, on our chain, and synced
//! with the quorum (head within `max_lag_blocks` and fresh).
//!
//! This is the one place readiness is judged: [`node_readiness`] turns a node's `get_info`
//! answer into a [`NodeReadiness`] whose [`verdict`](NodeReadiness::verdict) every caller
//! (`check`, `status`, `failover`, the daemon) reads, and [`NotReady`] is its one wording.

use std::fmt;

use serde::Serialize;

use crate::decision::Readiness;
use crate::quorum::Quorum;
use antelope::chain_api::{ChainId, GetInfo};

/// What "synced" means: the limits a node is judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadinessLimits {
    /// The configured chain id; without one, the quorum's.
    pub expected_chain: Option<ChainId>,
    /// At most this many blocks behind the quorum's best head.
    pub max_lag_blocks: u32,
    /// A head at most this old (ms) when the answer arrived.
    pub max_head_age_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeReadiness {
    pub reachable: bool,
    pub error: Option<String>,
    pub chain_ok: Option<bool>,
    pub head_num: Option<u32>,
    pub lag_blocks: Option<i64>,
    pub head_age_ms: Option<i64>,
    /// Head within `max_lag_blocks` of the quorum and fresh; `None` without a quorum.
    pub synced: Option<bool>,
    /// The judgement the fields above add up to (not serialized: the fields say it).
    #[serde(skip)]
    pub verdict: NodeVerdict,
}

/// A node's readiness, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeVerdict {
    /// Reachable, on our chain, and synced with the quorum.
    Ready,
    /// Reachable, but there is no quorum to compare it with.
    Unjudged,
    NotReady(NotReady),
}

/// Why a node cannot take over. Its `Display` is the one wording of the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// No `get_info` answer (the error's text).
    Unreachable(String),
    WrongChain {
        reported: ChainId,
        expected: ChainId,
    },
    /// More than `max_lag_blocks` behind the quorum's best head.
    Behind { lag_blocks: i64 },
    /// Its head is older than `max_head_age_ms`.
    Stale {
        head_age_ms: i64,
        max_head_age_ms: i64,
    },
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReady::Unreachable(e) => write!(f, "unreachable: {e}"),
            NotReady::WrongChain { reported, expected } => write!(
                f,
                "on the wrong chain: it reports chain id {reported}, expected {expected}"
            ),
            NotReady::Behind { lag_blocks } => write!(f, "{lag_blocks} blocks behind the quorum"),
            NotReady::Stale {
                head_age_ms,
                max_head_age_ms,
            } => write!(
                f,
                "stale: head is {:.1} s old (limit {:.1} s)",
                *head_age_ms as f64 / 1000.0,
                *max_head_age_ms as f64 / 1000.0
            ),
        }
    }
}

impl NodeVerdict {
    /// What the decision core is told: [`Readiness::Unknown`] when unjudged.
    pub fn readiness(&self) -> Readiness {
        match self {
            NodeVerdict::Ready => Readiness::Ready,
            NodeVerdict::Unjudged => Readiness::Unknown,
            NodeVerdict::NotReady(why) => Readiness::NotReady(why.to_string()),
        }
    }
}

/// Readiness of a data center's own node, judged against the quorum: its `get_info`
/// answer (or the error's text), when the answer arrived (Unix ms), and the limits.
pub fn node_readiness(
    answer: &Result<GetInfo, String>,
    received_at_ms: i64,
    quorum: Option<&Quorum>,
    limits: &ReadinessLimits,
) -> NodeReadiness {
    let info = match answer {
        Err(e) => {
            return NodeReadiness {
                reachable: false,
                error: Some(e.clone()),
                chain_ok: None,
                head_num: None,
                lag_blocks: None,
                head_age_ms: None,
                synced: Some(false),
                verdict: NodeVerdict::NotReady(NotReady::Unreachable(e.clone())),
            }
        }
        Ok(info) => info,
    };
    let expected = limits.expected_chain.or(quorum.map(|q| q.chain_id));
    let chain_ok = expected.map(|c| c == info.chain_id);
    let age = received_at_ms - info.head_block_time.unix_ms();
    let lag = quorum.map(|q| i64::from(q.best_head_num) - i64::from(info.head_block_num));
    let behind = lag.filter(|&l| l > i64::from(limits.max_lag_blocks));
    let stale = age > limits.max_head_age_ms;
    let verdict = match (expected, chain_ok, quorum, lag) {
        (Some(expected), Some(false), _, _) => NodeVerdict::NotReady(NotReady::WrongChain {
            reported: info.chain_id,
            expected,
        }),
        (_, Some(true), Some(_), Some(_)) => match behind {
            Some(lag_blocks) => NodeVerdict::NotReady(NotReady::Behind { lag_blocks }),
            None if stale => NodeVerdict::NotReady(NotReady::Stale {
                head_age_ms: age,
                max_head_age_ms: limits.max_head_age_ms,
            }),
            None => NodeVerdict::Ready,
        },
        _ => NodeVerdict::Unjudged,
    };
    NodeReadiness {
        reachable: true,
        error: None,
        chain_ok,
        head_num: Some(info.head_block_num),
        lag_blocks: lag,
        head_age_ms: Some(age),
        synced: match verdict {
            NodeVerdict::Ready => Some(true),
            NodeVerdict::NotReady(_) => Some(false),
            NodeVerdict::Unjudged => None,
        },
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::BlockRef;

    /// A real Jungle4 `get_info` (Spring 1.2.0-rc3): head 209671574 at 2025-06-23T14:08:39.
    fn jungle4() -> GetInfo {
        let path = format!(
            "{}/../../fixtures/jungle4_get_info_spring120rc3_savanna_2025.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn quorum_at(info: &GetInfo, best_head_num: u32) -> Quorum {
        let head = BlockRef {
            num: info.head_block_num,
            id: info.head_block_id,
            time: Some(info.head_block_time),
        };
        Quorum {
            chain_id: info.chain_id,
            head,
            best_head_num,
            lib: head,
            members: vec![0, 1],
        }
    }

    const LIMITS: ReadinessLimits = ReadinessLimits {
        expected_chain: None,
        max_lag_blocks: 10,
        max_head_age_ms: 5_000,
    };

    #[test]
    fn a_synced_node_is_ready() {
        let info = jungle4();
        let at = info.head_block_time.unix_ms() + 500;
        let q = quorum_at(&info, info.head_block_num + 10);
        let r = node_readiness(&Ok(info), at, Some(&q), &LIMITS);
        assert_eq!(r.verdict, NodeVerdict::Ready);
        assert_eq!(
            (r.synced, r.lag_blocks, r.head_age_ms),
            (Some(true), Some(10), Some(500))
        );
        assert_eq!(r.verdict.readiness(), Readiness::Ready);
    }

    #[test]
    fn each_reason_has_one_wording() {
        let info = jungle4();
        let t = info.head_block_time.unix_ms();
        let q = quorum_at(&info, info.head_block_num + 40);
        let behind = node_readiness(&Ok(info.clone()), t, Some(&q), &LIMITS);
        assert_eq!(
            behind.verdict,
            NodeVerdict::NotReady(NotReady::Behind { lag_blocks: 40 })
        );
        assert_eq!(
            behind.verdict.readiness(),
            Readiness::NotReady("40 blocks behind the quorum".into())
        );

        let q = quorum_at(&info, info.head_block_num);
        let stale = node_readiness(&Ok(info.clone()), t + 45_000, Some(&q), &LIMITS);
        assert_eq!(stale.synced, Some(false));
        let NodeVerdict::NotReady(why) = &stale.verdict else {
            panic!("{:?}", stale.verdict)
        };
        assert_eq!(why.to_string(), "stale: head is 45.0 s old (limit 5.0 s)");

        let other: ChainId = "aca376f206b8fc25a6ed44dbdc66547c36c6c33e3a119ffbeaef943642f0e906"
            .parse()
            .unwrap();
        let wrong = ReadinessLimits {
            expected_chain: Some(other),
            ..LIMITS
        };
        let r = node_readiness(&Ok(info.clone()), t, Some(&q), &wrong);
        assert_eq!((r.chain_ok, r.synced), (Some(false), Some(false)));
        assert_eq!(
            r.verdict,
            NodeVerdict::NotReady(NotReady::WrongChain {
                reported: info.chain_id,
                expected: other
            })
        );
        let NodeVerdict::NotReady(why) = &r.verdict else {
            unreachable!()
        };
        assert_eq!(
            why.to_string(),
            format!(
                "on the wrong chain: it reports chain id {}, expected {other}",
                info.chain_id
            )
        );

        let down = node_readiness(&Err("connection refused".into()), t, Some(&q), &LIMITS);
        assert!(!down.reachable);
        assert_eq!(
            down.verdict.readiness(),
            Readiness::NotReady("unreachable: connection refused".into())
        );
    }

    #[test]
    fn without_a_quorum_a_reachable_node_is_not_judged() {
        let info = jungle4();
        let t = info.head_block_time.unix_ms();
        let r = node_readiness(&Ok(info), t, None, &LIMITS);
        assert!(r.reachable);
        assert_eq!((r.synced, r.lag_blocks), (None, None));
        assert_eq!(r.verdict, NodeVerdict::Unjudged);
        assert_eq!(r.verdict.readiness(), Readiness::Unknown);
    }

    #[test]
    fn the_verdict_is_not_serialized() {
        let info = jungle4();
        let t = info.head_block_time.unix_ms();
        let r = node_readiness(&Ok(info), t, None, &LIMITS);
        let v = serde_json::to_value(&r).unwrap();
        assert!(v.get("verdict").is_none(), "{v}");
        assert_eq!(v["reachable"], true);
    }
}
