//! Whether a data center's own node could take over: reachable, on our chain, and synced
//! with the quorum (head within `max_lag_blocks` and fresh).

use serde::Serialize;

use crate::quorum::Quorum;
use antelope::chain_api::{ChainId, GetInfo};

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
}

/// Readiness of a data center's own node, judged against the quorum.
pub fn node_readiness(
    answer: &Result<GetInfo, String>,
    received_at_ms: i64,
    quorum: Option<&Quorum>,
    expected_chain: Option<ChainId>,
    max_lag_blocks: u32,
    max_head_age_ms: i64,
) -> NodeReadiness {
    match answer {
        Err(e) => NodeReadiness {
            reachable: false,
            error: Some(e.clone()),
            chain_ok: None,
            head_num: None,
            lag_blocks: None,
            head_age_ms: None,
            synced: Some(false),
        },
        Ok(info) => {
            let expected = expected_chain.or(quorum.map(|q| q.chain_id));
            let chain_ok = expected.map(|c| c == info.chain_id);
            let age = received_at_ms - info.head_block_time.unix_ms();
            let lag = quorum.map(|q| i64::from(q.best_head_num) - i64::from(info.head_block_num));
            let synced = match (quorum, chain_ok, lag) {
                (Some(_), Some(true), Some(lag)) => {
                    Some(lag <= i64::from(max_lag_blocks) && age <= max_head_age_ms)
                }
                (_, Some(false), _) => Some(false),
                _ => None,
            };
            NodeReadiness {
                reachable: true,
                error: None,
                chain_ok,
                head_num: Some(info.head_block_num),
                lag_blocks: lag,
                head_age_ms: Some(age),
                synced,
            }
        }
    }
}
