//! Following the quorum chain: fetch every block from our last one up to the height the
//! quorum agrees on, in order, and feed the tracker. Each block is believed only when a
//! strict majority of the configured endpoints serve the same header (id, parent,
//! timestamp, producer, schedule version); the blocks link by `previous` up to the id the
//! quorum agreed on, which the daemon checks at the end. Forks rewind and re-read; a gap too
//! large to fill (a restart, a long outage of the observer) starts over with a backfill.

use futures_util::future::join_all;
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::antelope::{BlockTimestamp, Name};
use crate::api::{BlockId, BlockInfo, ChainApi, EndpointPool};
use crate::observer::tracker::{BlockHeader, Pushed, TrackError, Tracker};

/// How a follow round went.
#[derive(Debug, Default)]
pub struct Followed {
    /// Missed-slot ranges appended this round, with the schedule version of the block
    /// after each gap.
    pub gaps: Vec<(std::ops::Range<u32>, u32)>,
    pub blocks: u32,
    pub rewinds: u32,
    pub restarted: bool,
    pub error: Option<String>,
    /// `(endpoint, what it served)` for blocks that differed from the majority's.
    pub outliers: Vec<(String, String)>,
}

fn header(b: BlockInfo) -> BlockHeader {
    BlockHeader {
        num: b.block_num,
        id: b.id,
        previous: b.previous,
        timestamp: b.timestamp,
        producer: b.producer,
        schedule_version: b.schedule_version,
    }
}

/// How long a block read waits for the remaining endpoints once a majority agrees.
const OUTLIER_GRACE: std::time::Duration = std::time::Duration::from_millis(50);

/// What must be identical in the answers of a majority for a block to be believed: every
/// header field the observer uses, with the id and the link to its parent.
fn content(b: &BlockInfo) -> (u32, BlockId, BlockId, BlockTimestamp, Name, u32, u16) {
    (
        b.block_num,
        b.id,
        b.previous,
        b.timestamp,
        b.producer,
        b.schedule_version,
        b.confirmed,
    )
}

/// Reads block `num` from every endpoint in `order` at once and believes it when a strict
/// majority of the configured endpoints (`required`) return the same header; no single
/// endpoint's block is ever taken on its word. Answers for another height or dated later
/// than `latest_ms` (our clock plus the allowed skew) count as that endpoint's error.
/// Endpoints that served a different header are returned as outliers.
async fn fetch(
    pool: &EndpointPool,
    order: &[usize],
    num: u32,
    latest_ms: i64,
    required: usize,
) -> Result<(BlockHeader, Vec<(String, String)>), String> {
    let mut pending: FuturesUnordered<_> = order
        .iter()
        .map(|&k| async move { (k, pool.client(k).get_block_info(num).await) })
        .collect();
    let mut groups: Vec<(BlockInfo, Vec<usize>)> = Vec::new();
    let mut errors = Vec::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut agreed: Option<usize> = None;
    loop {
        let next = match deadline {
            None => pending.next().await,
            Some(d) => tokio::time::timeout_at(d, pending.next())
                .await
                .ok()
                .flatten(),
        };
        let Some((k, r)) = next else { break };
        let label = pool.client(k).label();
        match r {
            Ok(b) if b.block_num != num => errors.push(format!(
                "{label}: asked for block {num}, got {}",
                b.block_num
            )),
            Ok(b) if b.timestamp.unix_ms() > latest_ms => errors.push(format!(
                "{label}: block {num} is dated {}, ahead of this machine's clock",
                b.timestamp
            )),
            Ok(b) => {
                let c = content(&b);
                match groups.iter_mut().find(|(g, _)| content(g) == c) {
                    Some((_, members)) => members.push(k),
                    None => groups.push((b, vec![k])),
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
        if agreed.is_none() {
            agreed = groups.iter().position(|(_, m)| m.len() >= required);
            if agreed.is_some() {
                // A moment more for the others, to name any that served another block.
                deadline = Some(tokio::time::Instant::now() + OUTLIER_GRACE);
            }
        }
    }
    if let Some(pos) = agreed {
        {
            let (block, _) = groups.swap_remove(pos);
            let outliers = groups
                .iter()
                .flat_map(|(b, members)| {
                    members.iter().map(move |&k| {
                        (
                            pool.client(k).label(),
                            format!(
                                "block {num}: served id {} dated {} by {}, the majority's is {} dated {} by {}",
                                b.id, b.timestamp, b.producer, block.id, block.timestamp, block.producer
                            ),
                        )
                    })
                })
                .collect();
            return Ok((header(block), outliers));
        }
    }
    let mut parts: Vec<String> = groups
        .iter()
        .map(|(b, m)| {
            let names: Vec<String> = m.iter().map(|&k| pool.client(k).label()).collect();
            format!("{} served id {}", names.join(", "), b.id)
        })
        .collect();
    parts.extend(errors);
    if parts.is_empty() {
        parts.push("no endpoint to ask".into());
    }
    Err(format!(
        "block {num}: no {required} endpoints served the same header: {}",
        parts.join("; ")
    ))
}

/// Brings `tracker` up to block `target`, reading from the endpoints in `order`. Blocks
/// dated after `latest_ms` are refused.
pub async fn follow(
    tracker: &mut Tracker,
    pool: &EndpointPool,
    order: &[usize],
    target: u32,
    backfill: u32,
    latest_ms: i64,
) -> Followed {
    const BATCH: u32 = 16;
    const MAX_REWINDS: u32 = 32;
    let mut out = Followed::default();
    if let Some(h) = tracker.head() {
        if h.num >= target {
            return out;
        }
        if target - h.num > backfill {
            tracker.reset();
            out.restarted = true;
        }
    }
    let mut next = match tracker.head() {
        None => target.saturating_sub(backfill).max(1),
        Some(h) => match h.num.checked_add(1) {
            Some(n) => n,
            None => return out,
        },
    };
    while next <= target {
        let end = next.saturating_add(BATCH - 1).min(target);
        let required = pool.policy().required();
        let fetched =
            join_all((next..=end).map(|n| fetch(pool, order, n, latest_ms, required))).await;
        let mut advanced = false;
        for r in fetched {
            let block = match r {
                Ok((b, outliers)) => {
                    out.outliers.extend(outliers);
                    b
                }
                Err(e) if tracker.is_empty() && next < target && out.blocks == 0 => {
                    // A node with less history than the backfill: start closer to the head.
                    next += (target - next).div_ceil(2);
                    out.error = Some(e);
                    advanced = false;
                    break;
                }
                Err(e) => {
                    out.error = Some(e);
                    return out;
                }
            };
            let schedule_version = block.schedule_version;
            match tracker.push(block) {
                Ok(Pushed::Appended { missed }) => {
                    out.blocks += 1;
                    if !missed.is_empty() {
                        out.gaps.push((missed, schedule_version));
                    }
                    advanced = true;
                }
                Ok(Pushed::Started) => {
                    out.blocks += 1;
                    advanced = true;
                }
                Ok(Pushed::Duplicate) => {}
                Err(TrackError::Fork { rewind_to, .. }) => {
                    out.rewinds += 1;
                    if out.rewinds > MAX_REWINDS {
                        tracker.reset();
                        out.restarted = true;
                        out.error = Some("the chain keeps switching forks; starting over".into());
                        return out;
                    }
                    next = rewind_to.max(1);
                    if tracker.is_empty() {
                        next = target.saturating_sub(backfill).max(1);
                    }
                    advanced = false;
                    break;
                }
                Err(TrackError::Gap { .. }) | Err(TrackError::SlotNotIncreasing { .. }) => {
                    // Inconsistent answers from the endpoints: start over next round.
                    tracker.reset();
                    out.restarted = true;
                    out.error =
                        Some("endpoints returned blocks that do not chain; starting over".into());
                    return out;
                }
            }
        }
        if advanced {
            match tracker
                .head()
                .map_or(end.checked_add(1), |h| h.num.checked_add(1))
            {
                Some(n) => next = n,
                None => break,
            }
            out.error = None;
        }
    }
    out
}
