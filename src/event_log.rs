//! Where events go: stdout (text or JSON lines), a writer, or memory, with subscribers
//! (alerts, metrics) and a history for tests. The events themselves are typed in
//! `failover_core::events`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::events::{Event, Level};

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
    use crate::decision::HoldReason;
    use crate::events::SuppressReason;

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
            reason: SuppressReason::Hold(HoldReason::LowParticipation),
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
