//! What the chain API's answers mean for our producer, shared by the daemon and the
//! one-shot commands (`status`, `check`, `failover`): the key a producers row holds, and
//! the active schedule as the observer models it.

use crate::antelope::PublicKey;
use crate::api::ProducerRow;
use crate::observer::schedule::{Schedule, ScheduledProducer};

/// The single K1 signing key of a producers row, if it has exactly one.
pub fn row_key(row: &ProducerRow) -> Option<PublicKey> {
    row.signing_key().and_then(|k| k.as_k1().copied())
}

/// The API's schedule as the observer's: K1 keys only (others cannot be ours).
pub fn convert_schedule(s: &crate::api::ProducerSchedule) -> Schedule {
    Schedule {
        version: s.version,
        producers: s
            .producers
            .iter()
            .map(|p| ScheduledProducer {
                name: p.producer_name,
                threshold: p.authority.threshold,
                keys: p
                    .authority
                    .keys
                    .iter()
                    .filter_map(|kw| kw.key.as_k1().copied())
                    .collect(),
            })
            .collect(),
    }
}
