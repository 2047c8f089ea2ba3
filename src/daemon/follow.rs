//! Following the quorum chain: fetch every block from our last one up to the height the
//! quorum agrees on, in order, and feed the tracker. Forks rewind and re-read; a gap too
//! large to fill (a restart, a long outage of the observer) starts over with a backfill.

use futures_util::future::join_all;

use crate::api::{ApiError, BlockInfo, EndpointPool};
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

async fn fetch(pool: &EndpointPool, order: &[usize], num: u32) -> Result<BlockHeader, String> {
    pool.first_success(order, |c| c.get_block_info(num))
        .await
        .map(|(_, b)| header(b))
        .map_err(|errs: Vec<ApiError>| {
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })
}

/// Brings `tracker` up to block `target`, reading from the endpoints in `order`.
pub async fn follow(
    tracker: &mut Tracker,
    pool: &EndpointPool,
    order: &[usize],
    target: u32,
    backfill: u32,
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
    let mut next = tracker
        .head()
        .map_or(target.saturating_sub(backfill).max(1), |h| h.num + 1);
    while next <= target {
        let end = (next + BATCH - 1).min(target);
        let fetched = join_all((next..=end).map(|n| fetch(pool, order, n))).await;
        let mut advanced = false;
        for r in fetched {
            let block = match r {
                Ok(b) => b,
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
            next = tracker.head().map_or(end + 1, |h| h.num + 1);
            out.error = None;
        }
    }
    out
}
