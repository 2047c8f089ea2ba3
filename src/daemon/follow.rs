//! Following the quorum chain: fetch every block from our last one up to the height the
//! quorum agrees on, in order, and feed the tracker. Forks rewind and re-read; a gap too
//! large to fill (a restart, a long outage of the observer) starts over with a backfill.

use futures_util::future::join_all;

use crate::api::{BlockInfo, ChainApi, EndpointPool};
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

/// Reads block `num`, starting with the endpoint at `start` in `order` (so a batch is
/// spread over the agreeing endpoints) and trying the others on failure. A block whose
/// timestamp is later than `latest_ms` (our clock plus the allowed skew) is refused as
/// that endpoint's error and read elsewhere.
async fn fetch(
    pool: &EndpointPool,
    order: &[usize],
    start: usize,
    num: u32,
    latest_ms: i64,
) -> Result<BlockHeader, String> {
    let n = order.len();
    let rotated: Vec<usize> = (0..n).map(|i| order[(start + i) % n]).collect();
    let mut errors = Vec::new();
    for k in rotated {
        match pool.client(k).get_block_info(num).await {
            Ok(b) if b.block_num != num => errors.push(format!(
                "{}: asked for block {num}, got {}",
                pool.client(k).label(),
                b.block_num
            )),
            Ok(b) if b.timestamp.unix_ms() > latest_ms => errors.push(format!(
                "{}: block {num} is dated {}, ahead of this machine's clock",
                pool.client(k).label(),
                b.timestamp
            )),
            Ok(b) => return Ok(header(b)),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        errors.push("no endpoint to ask".into());
    }
    Err(errors.join("; "))
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
        let fetched = join_all(
            (next..=end)
                .enumerate()
                .map(|(i, n)| fetch(pool, order, i, n, latest_ms)),
        )
        .await;
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
