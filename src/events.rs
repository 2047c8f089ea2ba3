//! The event log: what the daemon tells the operator, one event per line.
//!
//! Event names are a public interface (documented in the README; alerts and dashboards
//! key off them): never rename one. With `--log-format json` each event is one JSON object
//! on stdout with `timestamp`, `level`, `event` and the event's fields; the text format
//! carries the same information for humans. Diagnostics from the libraries go to stderr.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::antelope::{Checksum256, PublicKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// When a key change decided now takes effect (`decision::cadence`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// The block expected to propose the schedule with the new key (UTC).
    pub proposal_at: String,
    /// When the new key's schedule is expected in force (UTC), and in how many seconds.
    pub active_at: String,
    pub active_in_secs: f64,
    /// Our producer's slots the outage is expected to cost, from its first miss until the
    /// new key's schedule is in force.
    pub expected_lost_blocks: u32,
    /// Decided before the confirming turns were complete, so as to make this proposal.
    pub before_proposal: bool,
}

/// Every event the daemon and the one-shot commands emit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    ObserverStarted {
        producer: String,
        datacenters: Vec<String>,
        endpoints: usize,
        dry_run: bool,
        version: String,
    },
    ObserverStopped {
        reason: String,
    },
    /// The quorum view changed: agreed, disagree or blind (with the pool's sentence).
    QuorumChanged {
        state: String,
        detail: String,
    },
    EndpointUnhealthy {
        endpoint: String,
        reason: String,
    },
    EndpointRecovered {
        endpoint: String,
    },
    ConsensusMode {
        mode: String,
    },
    /// Slots of our producer that passed without a block.
    MissedSlots {
        producer: String,
        key: Option<PublicKey>,
        datacenter: Option<String>,
        count: u32,
        consecutive: u32,
        slots: Vec<u32>,
    },
    /// Once per 12-slot turn of our producer, and once per rotation for the network.
    RoundSummary {
        scheduled: String,
        produced: u32,
        missed: u32,
        participation: Option<f64>,
        solo_misses: u32,
        network_misses: u32,
        /// The chain's own counter where it keeps one (Telos `missed_blocks_per_rotation`),
        /// shown beside ours as a cross-check.
        onchain_missed_per_rotation: Option<u32>,
    },
    /// The primary is missing blocks but the threshold is not reached yet.
    PrimaryMissing {
        datacenter: String,
        detail: String,
    },
    DatacenterReadiness {
        datacenter: String,
        ready: bool,
        detail: String,
    },
    FailoverTriggered {
        from: String,
        to: String,
        reason: String,
        missed: u32,
        /// When the switch is expected to take effect and what the outage will cost;
        /// absent when the contract's schedule cadence is not known.
        #[serde(skip_serializing_if = "Option::is_none")]
        forecast: Option<Forecast>,
    },
    FailoverSuppressed {
        reason: String,
        detail: String,
        missed: u32,
    },
    /// The threshold is reached; waiting for other producers' turns to confirm.
    FailoverConfirming {
        missed: u32,
        turns_seen: u32,
        turns_needed: u32,
    },
    DryRunTransaction {
        id: Checksum256,
        to: String,
        body: serde_json::Value,
        validation: String,
    },
    TransactionPushed {
        id: Checksum256,
        endpoint: String,
        latency_ms: u64,
        attempt: u32,
    },
    TransactionFailed {
        id: Option<Checksum256>,
        reason: String,
        retrying: bool,
    },
    /// The producers table holds the new key (the switch is now on chain).
    KeyRegistered {
        key: PublicKey,
        datacenter: String,
        seconds_since_trigger: f64,
    },
    /// The active schedule carries the new key: blocks come from the new data center.
    KeyChangeConfirmed {
        key: PublicKey,
        datacenter: String,
        seconds_since_trigger: f64,
        /// What `failover_triggered`'s forecast said this would be.
        #[serde(skip_serializing_if = "Option::is_none")]
        predicted_seconds_since_trigger: Option<f64>,
    },
    ScheduleActivated {
        version: u32,
        producers: usize,
        our_key: Option<PublicKey>,
        datacenter: Option<String>,
    },
    PendingOverdue {
        to: String,
        waited_secs: u64,
    },
    /// The old key is still producing after the schedule moved to the new one.
    StaleKeySigning {
        key: PublicKey,
        datacenter: Option<String>,
        block: u32,
    },
    /// The producer is not in the active schedule: nothing to judge.
    NotScheduled {
        producer: String,
    },
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::ObserverStarted { .. } => "observer_started",
            Event::ObserverStopped { .. } => "observer_stopped",
            Event::QuorumChanged { .. } => "quorum_changed",
            Event::EndpointUnhealthy { .. } => "endpoint_unhealthy",
            Event::EndpointRecovered { .. } => "endpoint_recovered",
            Event::ConsensusMode { .. } => "consensus_mode",
            Event::MissedSlots { .. } => "missed_slots",
            Event::RoundSummary { .. } => "round_summary",
            Event::PrimaryMissing { .. } => "primary_missing",
            Event::DatacenterReadiness { .. } => "datacenter_readiness",
            Event::FailoverTriggered { .. } => "failover_triggered",
            Event::FailoverSuppressed { .. } => "failover_suppressed",
            Event::FailoverConfirming { .. } => "failover_confirming",
            Event::DryRunTransaction { .. } => "dry_run_transaction",
            Event::TransactionPushed { .. } => "transaction_pushed",
            Event::TransactionFailed { .. } => "transaction_failed",
            Event::KeyRegistered { .. } => "key_registered",
            Event::KeyChangeConfirmed { .. } => "key_change_confirmed",
            Event::ScheduleActivated { .. } => "schedule_activated",
            Event::PendingOverdue { .. } => "pending_overdue",
            Event::StaleKeySigning { .. } => "stale_key_signing",
            Event::NotScheduled { .. } => "not_scheduled",
        }
    }

    pub fn level(&self) -> Level {
        match self {
            Event::MissedSlots { .. } | Event::RoundSummary { .. } => Level::Debug,
            Event::EndpointUnhealthy { .. }
            | Event::PrimaryMissing { .. }
            | Event::FailoverSuppressed { .. }
            | Event::NotScheduled { .. } => Level::Warn,
            Event::DatacenterReadiness { ready: false, .. } => Level::Warn,
            Event::QuorumChanged { state, .. } if state != "agreed" => Level::Warn,
            Event::FailoverTriggered { .. }
            | Event::TransactionFailed { .. }
            | Event::PendingOverdue { .. }
            | Event::StaleKeySigning { .. } => Level::Error,
            _ => Level::Info,
        }
    }

    /// One line for humans.
    pub fn text(&self) -> String {
        let fields = serde_json::to_value(self).unwrap_or_default();
        let mut parts = Vec::new();
        if let Some(obj) = fields.as_object() {
            for (k, v) in obj {
                if k == "event" || k == "body" {
                    continue;
                }
                let shown = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                parts.push(format!("{k}={shown}"));
            }
        }
        format!("{} {}", self.name(), parts.join(" "))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Where events go. Cloneable; every clone writes to the same place.
#[derive(Clone)]
pub struct EventLog {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    format: LogFormat,
    min_level: Level,
    out: Box<dyn Write + Send>,
    subscribers: Vec<tokio::sync::mpsc::UnboundedSender<Event>>,
    /// Kept in memory for tests and the drill report.
    history: Option<Vec<Event>>,
}

impl EventLog {
    pub fn stdout(format: LogFormat, verbose: bool) -> Self {
        Self::to_writer(format, verbose, Box::new(std::io::stdout()))
    }

    pub fn to_writer(format: LogFormat, verbose: bool, out: Box<dyn Write + Send>) -> Self {
        EventLog {
            inner: Arc::new(Mutex::new(Inner {
                format,
                min_level: if verbose { Level::Debug } else { Level::Info },
                out,
                subscribers: Vec::new(),
                history: None,
            })),
        }
    }

    /// Keeps no output, only the history (tests).
    pub fn memory() -> Self {
        let log = Self::to_writer(LogFormat::Json, true, Box::new(std::io::sink()));
        log.lock().history = Some(Vec::new());
        log
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Receives every event from now on (alerts, the drill narrator).
    pub fn subscribe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.lock().subscribers.push(tx);
        rx
    }

    pub fn history(&self) -> Vec<Event> {
        self.lock().history.clone().unwrap_or_default()
    }

    pub fn emit(&self, event: Event) {
        let mut inner = self.lock();
        inner.subscribers.retain(|s| s.send(event.clone()).is_ok());
        if let Some(h) = inner.history.as_mut() {
            h.push(event.clone());
        }
        let level = event.level();
        if level < inner.min_level {
            return;
        }
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let line = match inner.format {
            LogFormat::Json => {
                let mut v = serde_json::to_value(&event).unwrap_or_default();
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("timestamp".into(), now.into());
                    obj.insert(
                        "level".into(),
                        serde_json::to_value(level).unwrap_or_default(),
                    );
                }
                // Keys in a stable order: timestamp, level, event, then the fields.
                let mut ordered = serde_json::Map::new();
                if let Some(obj) = v.as_object_mut() {
                    for k in ["timestamp", "level", "event"] {
                        if let Some(x) = obj.remove(k) {
                            ordered.insert(k.into(), x);
                        }
                    }
                    ordered.extend(std::mem::take(obj));
                }
                serde_json::Value::Object(ordered).to_string()
            }
            LogFormat::Text => format!(
                "{now} {:5} {}",
                format!("{level:?}").to_uppercase(),
                event.text()
            ),
        };
        let _ = writeln!(inner.out, "{line}");
        let _ = inner.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_have_timestamp_level_event_first() {
        let buf = Buf::default();
        let log = EventLog::to_writer(LogFormat::Json, false, Box::new(buf.clone()));
        log.emit(Event::FailoverSuppressed {
            reason: "low_participation".into(),
            detail: "only 3/20".into(),
            missed: 12,
        });
        log.emit(Event::MissedSlots {
            producer: "x".into(),
            key: None,
            datacenter: None,
            count: 1,
            consecutive: 1,
            slots: vec![5],
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "debug events are hidden unless verbose");
        assert!(lines[0].starts_with("{\"timestamp\":"), "{}", lines[0]);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["level"], "warn");
        assert_eq!(v["event"], "failover_suppressed");
        assert_eq!(v["reason"], "low_participation");
        assert_eq!(v["missed"], 12);
    }

    #[test]
    fn names_match_the_serialized_tag() {
        let e = Event::KeyChangeConfirmed {
            key: PublicKey::NULL,
            datacenter: "backup".into(),
            seconds_since_trigger: 40.5,
            predicted_seconds_since_trigger: None,
        };
        assert_eq!(serde_json::to_value(&e).unwrap()["event"], e.name());
        assert!(e.text().starts_with("key_change_confirmed "));
    }

    #[tokio::test]
    async fn subscribers_and_history_see_every_event() {
        let log = EventLog::memory();
        let mut rx = log.subscribe();
        log.emit(Event::ObserverStopped {
            reason: "signal".into(),
        });
        assert_eq!(rx.recv().await.unwrap().name(), "observer_stopped");
        assert_eq!(log.history().len(), 1);
    }
}
