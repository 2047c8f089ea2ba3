//! Following the quorum chain: read every block from our last one up to the head the
//! quorum agrees on and feed the tracker, believing only blocks verified by hash.
//!
//! Blocks are verified backwards from the agreed head: the header of the head block must
//! recompute ([`crate::antelope::BlockHeader::id`]) to the head id a strict majority of the
//! endpoints reported, and each block below must recompute to the `previous` the verified
//! block above it names. One endpoint's header per block is enough (reads are spread over
//! the agreeing endpoints, a slow one hedged after [`HEDGE_AFTER`]): a header that does not
//! recompute to the expected id is that endpoint's lie or fork, reported as an outlier,
//! demoted for reads ([`ReadDemotions`]) and re-read elsewhere. Where no endpoint gives a
//! header that hashes (`get_block` missing, or a header this build cannot re-encode), the
//! block falls back to a strict majority serving the same header ([`fetch`]), whose id must
//! still be the expected one. No block is ever taken on one endpoint's word.
//!
//! Forks rewind and re-read; a gap too large to fill (a restart, a long outage of the
//! observer) starts over with a backfill.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::antelope::{BlockTimestamp, Name};
use crate::api::pool::Disagreement;
use crate::api::{ApiError, ApiErrorKind, BlockId, BlockInfo, ChainApi, EndpointPool};
use crate::observer::tracker::{BlockHeader, Pushed, TrackError, Tracker};

/// Why a follow stopped short of the agreed head: a block no endpoint gave verifiably.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FollowError {
    /// No endpoint gave block `num`'s header verifiably and no majority agrees on it;
    /// `header_errors` are the failed full-header reads before, one per endpoint.
    #[error("block {num}: {source}{}", full_headers(.header_errors))]
    Disagreement {
        num: u32,
        source: Disagreement,
        header_errors: Vec<String>,
    },
    /// A majority agrees on block `num`, but not on the id the verified chain names.
    #[error("block {num}: the majority serve id {majority}, but the verified chain above names {expected}")]
    WrongId {
        num: u32,
        majority: BlockId,
        expected: BlockId,
    },
}

fn full_headers(errors: &[String]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!("; full headers: {}", errors.join("; "))
    }
}

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

/// Reads block `num` from every endpoint in `order` at once ([`EndpointPool::agreed`])
/// and believes it when a strict majority of the configured endpoints return the same
/// header; no single endpoint's block is ever taken on its word. An answer dated later
/// than `latest_ms` (our clock plus the allowed skew) counts as that endpoint's error
/// (one for another height already is, in the client). Endpoints that served a
/// different header are returned as outliers.
async fn fetch(
    pool: &EndpointPool,
    order: &[usize],
    num: u32,
    latest_ms: i64,
) -> Result<(BlockHeader, Vec<(String, String)>), FollowError> {
    let agreed = pool
        .agreed(
            order,
            OUTLIER_GRACE,
            |c| async move {
                let b = c.get_block_info(num).await?;
                if b.timestamp.unix_ms() > latest_ms {
                    return Err(ApiError::new(
                        c.label(),
                        "get_block_info",
                        ApiErrorKind::Malformed(format!(
                            "block {num} is dated {}, ahead of this machine's clock",
                            b.timestamp
                        )),
                    ));
                }
                Ok(b)
            },
            content,
        )
        .await
        .map_err(|source| FollowError::Disagreement {
            num,
            source,
            header_errors: Vec::new(),
        })?;
    let outliers = agreed
        .outliers
        .into_iter()
        .map(|(endpoint, said)| (endpoint, format!("block {num}: {said}, not the majority's")))
        .collect();
    Ok((header(agreed.value), outliers))
}

/// Another endpoint is asked for the same block when the first has not answered by then.
const HEDGE_AFTER: Duration = Duration::from_millis(250);
/// Follow rounds an endpoint that served an unverifiable block stays last in read order.
const DEMOTION_ROUNDS: u64 = 240;
/// Blocks read at once.
const BATCH: u32 = 16;

/// Most follow rounds an endpoint whose block reads fail is left out (32 rounds: 8 s at
/// the default 250 ms poll).
const MAX_BACKOFF_ROUNDS: u64 = 32;

/// Endpoints that served a block failing verification: tried last for block reads for
/// [`DEMOTION_ROUNDS`] follow rounds. Endpoints whose block reads fail: not asked for
/// blocks for 1, 2, 4, … up to [`MAX_BACKOFF_ROUNDS`] rounds after each round with a
/// failure (public endpoints ban clients that hammer them).
#[derive(Debug, Default)]
pub struct ReadDemotions {
    round: u64,
    until: HashMap<usize, u64>,
    /// Per endpoint: (rounds in a row with a failed block read, the last such round, the
    /// first round it is asked again).
    failing: HashMap<usize, (u32, u64, u64)>,
}

impl ReadDemotions {
    fn read_failed(&mut self, k: usize) {
        let round = self.round;
        let e = self.failing.entry(k).or_insert((0, u64::MAX, 0));
        if e.1 != round {
            e.0 = e.0.saturating_add(1);
            e.1 = round;
            let wait = (1u64 << e.0.saturating_sub(1).min(6)).min(MAX_BACKOFF_ROUNDS);
            e.2 = round.saturating_add(wait);
        }
    }

    fn read_ok(&mut self, k: usize) {
        self.failing.remove(&k);
    }

    /// Whether `k` is left out of block reads this round (backing off after failures).
    fn backing_off(&self, k: usize) -> bool {
        self.failing.get(&k).is_some_and(|e| e.2 > self.round)
    }

    /// Whether the block reads of every endpoint in `order` have been failing.
    fn all_failing(&self, order: &[usize]) -> bool {
        order.iter().all(|k| self.failing.contains_key(k))
    }

    fn demote(&mut self, k: usize) {
        self.until
            .insert(k, self.round.saturating_add(DEMOTION_ROUNDS));
    }

    fn is_demoted(&self, k: usize) -> bool {
        self.until.get(&k).is_some_and(|&u| u > self.round)
    }

    fn next_round(&mut self) {
        self.round = self.round.saturating_add(1);
        let round = self.round;
        self.until.retain(|_, u| *u > round);
    }

    /// `order` with demoted endpoints moved last and `slow` readers (see
    /// [`EndpointPool::slow_readers`]) just before them, rotated by `num` among the others
    /// so that consecutive blocks go to different endpoints.
    fn candidates(
        &self,
        order: &[usize],
        num: u32,
        excluded: &[usize],
        slow: &[usize],
    ) -> Vec<usize> {
        let (ok, bad): (Vec<usize>, Vec<usize>) = order
            .iter()
            .copied()
            .filter(|k| !excluded.contains(k) && !self.backing_off(*k))
            .partition(|&k| !self.is_demoted(k));
        let (mut good, slow): (Vec<usize>, Vec<usize>) =
            ok.into_iter().partition(|k| !slow.contains(k));
        if !good.is_empty() {
            let shift = num as usize % good.len();
            good.rotate_left(shift);
        }
        good.extend(slow);
        good.extend(bad);
        good
    }
}

/// A header read from one endpoint, with the id recomputed from it.
struct Read {
    endpoint: usize,
    header: BlockHeader,
}

/// What [`read_header`] got: the first usable header, and every failed read on the way.
struct Outcome {
    read: Option<Read>,
    errors: Vec<(usize, String)>,
}

/// Reads the header of block `num` from the first of `candidates` to answer with one that
/// parses, is for `num` and is not dated after `latest_ms`; the next candidate is asked
/// too each [`HEDGE_AFTER`] without an answer, and at once when a read fails. Nothing is
/// verified here.
async fn read_header(
    pool: &EndpointPool,
    candidates: &[usize],
    num: u32,
    latest_ms: i64,
) -> Outcome {
    let ask =
        |k: usize| async move { (k, pool.timed(k, pool.client(k).get_block_header(num)).await) };
    let mut rest = candidates.iter().copied();
    let mut pending = FuturesUnordered::new();
    let mut errors = Vec::new();
    loop {
        if pending.is_empty() {
            match rest.next() {
                Some(k) => pending.push(ask(k)),
                None => return Outcome { read: None, errors },
            }
        }
        let next = match tokio::time::timeout(HEDGE_AFTER, pending.next()).await {
            Ok(next) => next,
            Err(_) => {
                // Silent so far: ask the next candidate too.
                if let Some(k) = rest.next() {
                    pending.push(ask(k));
                }
                continue;
            }
        };
        let Some((k, r)) = next else { continue };
        match r {
            Ok(h) if h.timestamp.unix_ms() > latest_ms => errors.push((
                k,
                format!(
                    "{}: block {num} is dated {}, ahead of this machine's clock",
                    pool.client(k).label(),
                    h.timestamp
                ),
            )),
            Ok(h) => {
                return Outcome {
                    read: Some(Read {
                        endpoint: k,
                        header: BlockHeader {
                            num: h.block_num(),
                            id: h.id(),
                            previous: h.previous,
                            timestamp: h.timestamp,
                            producer: h.producer,
                            schedule_version: h.schedule_version,
                        },
                    }),
                    errors,
                }
            }
            Err(e) => errors.push((k, e.to_string())),
        }
        // A failed read: the next candidate at once.
        if let Some(k) = rest.next() {
            pending.push(ask(k));
        }
    }
}

/// Blocks verified so far in one follow call: a contiguous run ending at the agreed head,
/// each recomputing to the id the block above names as `previous`.
struct Verified {
    blocks: BTreeMap<u32, BlockHeader>,
    /// The lowest verified block's number and the id its parent must have.
    low: u32,
    expected: BlockId,
}

impl Verified {
    fn new(target: u32, target_id: BlockId) -> Self {
        Verified {
            blocks: BTreeMap::new(),
            low: target.saturating_add(1),
            expected: target_id,
        }
    }

    fn accept(&mut self, h: BlockHeader) {
        self.low = h.num;
        self.expected = h.previous;
        self.blocks.insert(h.num, h);
    }
}

/// Extends `verified` down to block `to` (one batch at a time, top down). Stops at the
/// first block no endpoint gives verifiably and no majority agrees on.
async fn verify_down(
    pool: &EndpointPool,
    order: &[usize],
    verified: &mut Verified,
    to: u32,
    latest_ms: i64,
    demotions: &mut ReadDemotions,
    out: &mut Followed,
) -> Result<(), FollowError> {
    while verified.low > to {
        let hi = verified.low - 1;
        // While every endpoint's block reads fail, one block at a time.
        let batch = if demotions.all_failing(order) {
            1
        } else {
            BATCH
        };
        let lo = hi.saturating_sub(batch - 1).max(to);
        let slow = pool.slow_readers(order);
        let reads = join_all((lo..=hi).rev().map(|n| {
            let candidates = demotions.candidates(order, n, &[], &slow);
            async move { read_header(pool, &candidates, n, latest_ms).await }
        }))
        .await;
        for o in &reads {
            for &(k, _) in &o.errors {
                demotions.read_failed(k);
            }
            if let Some(r) = &o.read {
                demotions.read_ok(r.endpoint);
            }
        }
        for (n, first) in (lo..=hi).rev().zip(reads) {
            let block = verify_one(
                pool,
                order,
                verified.expected,
                n,
                first,
                latest_ms,
                demotions,
                out,
            )
            .await?;
            verified.accept(block);
        }
    }
    Ok(())
}

/// Verifies block `n` against `expected` (the id the verified block above names as its
/// parent, or the agreed head id): the first read, then reads from other endpoints, then a
/// strict majority of endpoints serving the same header.
#[allow(clippy::too_many_arguments)]
async fn verify_one(
    pool: &EndpointPool,
    order: &[usize],
    expected: BlockId,
    n: u32,
    first: Outcome,
    latest_ms: i64,
    demotions: &mut ReadDemotions,
    out: &mut Followed,
) -> Result<BlockHeader, FollowError> {
    let mut tried: Vec<usize> = Vec::new();
    let mut read = first;
    let mut errors = Vec::new();
    loop {
        errors.extend(read.errors.into_iter().map(|(_, e)| e));
        match read.read {
            Some(r) if r.header.id == expected => return Ok(r.header),
            Some(r) => {
                let label = pool.client(r.endpoint).label();
                tracing::warn!(endpoint = %label, num = n, "block header does not hash to the id the verified chain names; demoting the endpoint for reads");
                out.outliers.push((
                    label,
                    format!(
                        "block {n}: served a header dated {} by {} that hashes to {}, not to {} which the verified chain above names",
                        r.header.timestamp, r.header.producer, r.header.id, expected
                    ),
                ));
                demotions.demote(r.endpoint);
                tried.push(r.endpoint);
            }
            None => break,
        }
        let candidates = demotions.candidates(order, n, &tried, &pool.slow_readers(order));
        if candidates.is_empty() {
            break;
        }
        read = read_header(pool, &candidates, n, latest_ms).await;
        for &(k, _) in &read.errors {
            demotions.read_failed(k);
        }
    }
    // No endpoint gave a header that hashes to the expected id: a majority of the
    // endpoints that could not give a header must agree. One whose header failed the hash
    // does not count: its claimed id would vouch for content it altered.
    let others: Vec<usize> = order
        .iter()
        .copied()
        .filter(|k| !tried.contains(k) && !demotions.backing_off(*k))
        .collect();
    let (block, outliers) = fetch(pool, &others, n, latest_ms)
        .await
        .map_err(|e| match e {
            FollowError::Disagreement { num, source, .. } => FollowError::Disagreement {
                num,
                source,
                header_errors: errors,
            },
            e => e,
        })?;
    out.outliers.extend(outliers);
    if block.id != expected {
        return Err(FollowError::WrongId {
            num: n,
            majority: block.id,
            expected,
        });
    }
    Ok(block)
}

/// Brings `tracker` up to block `target`, whose id a strict majority of the endpoints
/// reported as `target_id`, reading from the endpoints in `order`. Every block pushed is
/// verified by hash back from `target_id` (see the module docs). Blocks dated after
/// `latest_ms` are refused.
#[allow(clippy::too_many_arguments)]
pub async fn follow(
    tracker: &mut Tracker,
    pool: &EndpointPool,
    order: &[usize],
    target: u32,
    target_id: BlockId,
    backfill: u32,
    latest_ms: i64,
    demotions: &mut ReadDemotions,
) -> Followed {
    const MAX_REWINDS: u32 = 32;
    demotions.next_round();
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
    let mut verified = Verified::new(target, target_id);
    loop {
        if let Err(e) = verify_down(
            pool,
            order,
            &mut verified,
            next,
            latest_ms,
            demotions,
            &mut out,
        )
        .await
        {
            out.error = Some(e.to_string());
            if !(tracker.is_empty() && out.blocks == 0 && verified.low <= target) {
                return out;
            }
            // A node with less history than the backfill: start from the lowest block
            // verified.
        }
        let start = verified.low.max(next);
        let mut rewound = false;
        for n in start..=target {
            let Some(block) = verified.blocks.get(&n).cloned() else {
                break;
            };
            let schedule_version = block.schedule_version;
            match tracker.push(block) {
                Ok(Pushed::Appended { missed }) => {
                    out.blocks += 1;
                    if !missed.is_empty() {
                        out.gaps.push((missed, schedule_version));
                    }
                }
                Ok(Pushed::Started) => out.blocks += 1,
                Ok(Pushed::Duplicate) => {}
                Err(TrackError::Fork { .. }) => {
                    out.rewinds += 1;
                    if out.rewinds > MAX_REWINDS {
                        tracker.reset();
                        out.restarted = true;
                        out.error = Some("the chain keeps switching forks; starting over".into());
                        return out;
                    }
                    next = match tracker.head() {
                        Some(h) => h.num.saturating_add(1),
                        None => target.saturating_sub(backfill).max(1),
                    };
                    rewound = true;
                    break;
                }
                Err(TrackError::Gap { .. }) | Err(TrackError::SlotNotIncreasing { .. }) => {
                    // Verified blocks that do not chain with the tracked ones.
                    tracker.reset();
                    out.restarted = true;
                    out.error = Some(
                        "verified blocks do not chain with the blocks followed; starting over"
                            .into(),
                    );
                    return out;
                }
            }
        }
        if !rewound {
            if tracker.head().is_some_and(|h| h.num == target) {
                out.error = None;
            }
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_block_reads_back_off_exponentially_per_endpoint() {
        let mut d = ReadDemotions::default();
        let order = [0, 1, 2];
        // Rounds in which endpoint 1 is asked while its reads keep failing.
        let mut asked = Vec::new();
        for _ in 0..200 {
            d.next_round();
            let c = d.candidates(&order, 0, &[], &[]);
            if c.contains(&1) {
                asked.push(d.round);
                // Several failures in one round count once.
                d.read_failed(1);
                d.read_failed(1);
            }
            assert!(c.contains(&0) && c.contains(&2), "others are unaffected");
        }
        let gaps: Vec<u64> = asked.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(&gaps[..7], &[1, 2, 4, 8, 16, 32, 32]);
        assert!(gaps.iter().all(|&g| g <= MAX_BACKOFF_ROUNDS));
        assert!(!d.all_failing(&order));
        d.read_failed(0);
        d.read_failed(2);
        assert!(d.all_failing(&order));
        // One success and it is asked again at once.
        d.read_ok(1);
        assert!(d.candidates(&order, 0, &[], &[]).contains(&1));
    }

    #[test]
    fn reads_rotate_over_endpoints_and_demoted_ones_go_last_until_they_expire() {
        let mut d = ReadDemotions::default();
        d.next_round();
        let order = [0, 1, 2];
        assert_eq!(d.candidates(&order, 0, &[], &[]), vec![0, 1, 2]);
        assert_eq!(d.candidates(&order, 1, &[], &[]), vec![1, 2, 0]);
        assert_eq!(d.candidates(&order, 5, &[2], &[]), vec![1, 0]);
        // A slow reader is never asked first, whatever the block.
        assert_eq!(d.candidates(&order, 0, &[], &[0]), vec![1, 2, 0]);
        assert_eq!(d.candidates(&order, 1, &[], &[0]), vec![2, 1, 0]);
        d.demote(1);
        assert_eq!(d.candidates(&order, 0, &[], &[]), vec![0, 2, 1]);
        assert_eq!(d.candidates(&order, 1, &[], &[]), vec![2, 0, 1]);
        assert_eq!(d.candidates(&order, 1, &[1], &[]), vec![2, 0]);
        assert_eq!(d.candidates(&order, 1, &[], &[2]), vec![0, 2, 1]);
        for _ in 0..DEMOTION_ROUNDS {
            d.next_round();
        }
        assert_eq!(d.candidates(&order, 1, &[], &[]), vec![1, 2, 0]);
    }
}
