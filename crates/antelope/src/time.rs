//! Antelope time types and block-slot arithmetic.
//!
//! Blocks are produced on 500 ms slots counted from 2000-01-01T00:00:00Z; each producer
//! in the active schedule gets 12 consecutive slots (a *turn*), in schedule order. Nodes
//! print times in UTC without a zone suffix (`2018-07-24T05:40:50`, block timestamps with
//! milliseconds `2023-08-04T18:57:16.500`); we accept an optional `Z` and fraction.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use super::bytes::{DecodeError, Pack, Reader, Unpack, Writer};

/// Milliseconds from the Unix epoch to the block timestamp epoch (2000-01-01T00:00:00Z).
pub(crate) const BLOCK_TIMESTAMP_EPOCH_MS: i64 = 946_684_800_000;
/// One block slot.
pub const BLOCK_INTERVAL_MS: i64 = 500;
/// Consecutive slots each scheduled producer gets per turn.
pub const PRODUCER_REPETITIONS: u32 = 12;
/// One producer turn in milliseconds (6 s).
pub const TURN_MS: i64 = PRODUCER_REPETITIONS as i64 * BLOCK_INTERVAL_MS;

/// The round a slot is in: slots are grouped in rounds of one turn ([`PRODUCER_REPETITIONS`]
/// slots) from slot 0, and schedule changes take effect on round boundaries.
pub const fn round_of(slot: u32) -> u32 {
    slot / PRODUCER_REPETITIONS
}

/// First slot of `round`, `None` past the last representable slot.
pub const fn round_start_slot(round: u32) -> Option<u32> {
    round.checked_mul(PRODUCER_REPETITIONS)
}

/// Slots in one rotation of a schedule of `schedule_len` producers (each gets a turn).
/// `None` for an empty schedule, or one too long to count in slots.
pub fn rotation_slots(schedule_len: usize) -> Option<u32> {
    let n = u32::try_from(schedule_len).ok().filter(|n| *n > 0)?;
    n.checked_mul(PRODUCER_REPETITIONS)
}

/// Index into a schedule of `schedule_len` producers of the one scheduled at `slot`
/// (`get_scheduled_producer` in nodeos). `None` for an empty schedule.
pub fn scheduled_index_at(slot: u32, schedule_len: usize) -> Option<usize> {
    let rotation = rotation_slots(schedule_len)?;
    Some(((slot % rotation) / PRODUCER_REPETITIONS) as usize)
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{input:?} is not a valid time: {reason} (expected e.g. 2024-10-23T03:47:55.000)")]
pub struct TimeError {
    pub input: String,
    pub reason: String,
}

/// Parses a node's UTC time text to milliseconds since the Unix epoch.
pub(crate) fn parse_utc_ms(s: &str) -> Result<i64, TimeError> {
    let trimmed = s.trim().trim_end_matches('Z');
    NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|t| t.and_utc().timestamp_millis())
        .map_err(|e| TimeError {
            input: s.to_string(),
            reason: e.to_string(),
        })
}

fn utc_from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Seconds since the Unix epoch (`time_point_sec`), e.g. a transaction's expiration.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TimePointSec(pub u32);

impl TimePointSec {
    pub fn from_unix_secs(secs: u32) -> Self {
        TimePointSec(secs)
    }

    pub fn unix_secs(self) -> u32 {
        self.0
    }
}

impl FromStr for TimePointSec {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, TimeError> {
        let ms = parse_utc_ms(s)?;
        u32::try_from(ms.div_euclid(1000))
            .map(TimePointSec)
            .map_err(|_| TimeError {
                input: s.to_string(),
                reason: "outside the range of time_point_sec (1970..2106)".to_string(),
            })
    }
}

impl fmt::Display for TimePointSec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = utc_from_ms(i64::from(self.0) * 1000);
        write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S"))
    }
}

impl fmt::Debug for TimePointSec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimePointSec({self})")
    }
}

/// Microseconds since the Unix epoch (`time_point`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TimePoint(pub i64);

impl FromStr for TimePoint {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, TimeError> {
        let trimmed = s.trim().trim_end_matches('Z');
        NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|t| TimePoint(t.and_utc().timestamp_micros()))
            .map_err(|e| TimeError {
                input: s.to_string(),
                reason: e.to_string(),
            })
    }
}

impl fmt::Display for TimePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = DateTime::from_timestamp_micros(self.0).unwrap_or_default();
        write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S%.3f"))
    }
}

impl fmt::Debug for TimePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimePoint({self})")
    }
}

/// A block slot (`block_timestamp_type`): 500 ms periods since 2000-01-01T00:00:00Z.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct BlockTimestamp(pub u32);

impl BlockTimestamp {
    pub fn slot(self) -> u32 {
        self.0
    }

    /// The slot containing a Unix time in milliseconds, if it is on or after the epoch.
    pub fn from_unix_ms(ms: i64) -> Option<Self> {
        let since = ms.checked_sub(BLOCK_TIMESTAMP_EPOCH_MS)?;
        if since < 0 {
            return None;
        }
        u32::try_from(since / BLOCK_INTERVAL_MS)
            .ok()
            .map(BlockTimestamp)
    }

    /// Start of the slot in Unix milliseconds.
    pub fn unix_ms(self) -> i64 {
        BLOCK_TIMESTAMP_EPOCH_MS + i64::from(self.0) * BLOCK_INTERVAL_MS
    }

    /// First slot of the round (one turn of slots) containing this slot.
    pub fn round_start(self) -> u32 {
        self.0 - self.0 % PRODUCER_REPETITIONS
    }

    /// Index into a schedule of `schedule_len` producers of the one scheduled at this slot
    /// (`get_scheduled_producer` in nodeos). `None` for an empty schedule.
    pub fn scheduled_index(self, schedule_len: usize) -> Option<usize> {
        scheduled_index_at(self.0, schedule_len)
    }
}

impl FromStr for BlockTimestamp {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, TimeError> {
        let ms = parse_utc_ms(s)?;
        BlockTimestamp::from_unix_ms(ms).ok_or_else(|| TimeError {
            input: s.to_string(),
            reason: "before the block timestamp epoch 2000-01-01 or too far ahead".to_string(),
        })
    }
}

impl fmt::Display for BlockTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            utc_from_ms(self.unix_ms()).format("%Y-%m-%dT%H:%M:%S%.3f")
        )
    }
}

impl fmt::Debug for BlockTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockTimestamp({} = {self})", self.0)
    }
}

macro_rules! text_serde {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
text_serde!(TimePointSec, TimePoint, BlockTimestamp);

impl Pack for TimePointSec {
    fn pack(&self, w: &mut Writer) {
        w.u32(self.0)
    }
}
impl Unpack for TimePointSec {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u32().map(TimePointSec)
    }
}
impl Pack for BlockTimestamp {
    fn pack(&self, w: &mut Writer) {
        w.u32(self.0)
    }
}
impl Unpack for BlockTimestamp {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u32().map(BlockTimestamp)
    }
}
impl Pack for TimePoint {
    fn pack(&self, w: &mut Writer) {
        w.i64(self.0)
    }
}
impl Unpack for TimePoint {
    fn unpack(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.i64().map(TimePoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn slot_math_matches_real_headers() {
        let v: Value = serde_json::from_str(include_str!(
            "../../../fixtures/vector_encodings_and_slot_math.json"
        ))
        .unwrap();
        let cases = v["slot_math_checked_against_real_headers"]
            .as_array()
            .unwrap();
        assert_eq!(cases.len(), 3);
        for c in cases {
            let ts: BlockTimestamp = c["timestamp"].as_str().unwrap().parse().unwrap();
            assert_eq!(u64::from(ts.slot()), c["slot"].as_u64().unwrap());
            let n = c["schedule_size"].as_u64().unwrap() as usize;
            assert_eq!(
                ts.scheduled_index(n).unwrap() as u64,
                c["index_in_schedule"].as_u64().unwrap()
            );
            assert_eq!(
                u64::from(ts.slot() - ts.round_start()),
                c["position_in_round_0_11"].as_u64().unwrap()
            );
            assert_eq!(ts.to_string(), c["timestamp"].as_str().unwrap());
            assert_eq!(
                round_start_slot(round_of(ts.slot())),
                Some(ts.round_start())
            );
            let rotation = rotation_slots(n).unwrap();
            assert_eq!(rotation, n as u32 * 12);
            // The same producer's turn comes round again one rotation later.
            assert_eq!(
                scheduled_index_at(ts.slot() + rotation, n),
                ts.scheduled_index(n)
            );
        }
    }

    #[test]
    fn rounds_turns_and_rotations_are_twelve_half_second_slots() {
        assert_eq!(TURN_MS, 6_000);
        assert_eq!((round_of(0), round_of(11), round_of(12)), (0, 0, 1));
        assert_eq!(round_start_slot(3), Some(36));
        assert_eq!(round_start_slot(u32::MAX), None);
        assert_eq!(rotation_slots(0), None);
        assert_eq!(rotation_slots(21), Some(252));
        assert_eq!(rotation_slots(usize::MAX), None);
        // 4 producers: slots 12..24 are the second one's, slot 48 starts over.
        assert_eq!(scheduled_index_at(23, 4), Some(1));
        assert_eq!(scheduled_index_at(24, 4), Some(2));
        assert_eq!(scheduled_index_at(48, 4), Some(0));
        assert_eq!(scheduled_index_at(7, 0), None);
    }

    #[test]
    fn scheduled_producer_comes_from_the_real_schedule() {
        // The EOS Leap header-state fixture: the producer named in the header is the one
        // the slot math picks from the active schedule, in schedule order.
        let v: Value = serde_json::from_str(include_str!(
            "../../../fixtures/eos-mainnet_get_block_header_state_323978187_leap_2023.json"
        ))
        .unwrap();
        let ts: BlockTimestamp = v["header"]["timestamp"].as_str().unwrap().parse().unwrap();
        let producers = v["active_schedule"]["producers"].as_array().unwrap();
        let idx = ts.scheduled_index(producers.len()).unwrap();
        assert_eq!(producers[idx]["producer_name"], v["header"]["producer"]);
    }

    #[test]
    fn time_point_sec_round_trips_node_text() {
        let t: TimePointSec = "2018-07-24T05:40:50".parse().unwrap();
        assert_eq!(t.0, 0x5b56bbe2); // packed as e2bb565b in the real regproducer
        assert_eq!(t.to_string(), "2018-07-24T05:40:50");
        assert_eq!("2018-07-24T05:40:50Z".parse::<TimePointSec>().unwrap(), t);
        assert_eq!(
            "2018-07-24T05:40:50.000".parse::<TimePointSec>().unwrap(),
            t
        );
        assert!("yesterday".parse::<TimePointSec>().is_err());
        assert!("1960-01-01T00:00:00".parse::<TimePointSec>().is_err());
    }

    #[test]
    fn block_timestamps_before_epoch_or_malformed_are_errors() {
        assert!("1999-12-31T23:59:59.500".parse::<BlockTimestamp>().is_err());
        assert_eq!(
            "2000-01-01T00:00:00.000"
                .parse::<BlockTimestamp>()
                .unwrap()
                .0,
            0
        );
        assert_eq!(
            "2000-01-01T00:00:00.999"
                .parse::<BlockTimestamp>()
                .unwrap()
                .0,
            1
        );
        assert!("2000-13-01T00:00:00".parse::<BlockTimestamp>().is_err());
        assert_eq!(BlockTimestamp(5).scheduled_index(0), None);
    }

    #[test]
    fn time_point_keeps_microseconds() {
        let t: TimePoint = "2023-08-04T18:57:16.500".parse().unwrap();
        assert_eq!(t.0 % 1_000_000, 500_000);
        assert_eq!(t.to_string(), "2023-08-04T18:57:16.500");
    }
}
