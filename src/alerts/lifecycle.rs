//! The alert lifecycle: raise once, remind while active, resolve when it clears. Pure
//! (time is a parameter), plus the atomic file that carries it across restarts.
//!
//! After a restart the active conditions are read back, so a condition still active is not
//! announced a second time, a reminder keeps its schedule, and the event that clears a
//! condition raised before the restart still resolves it. A missing file is an empty
//! state; an unreadable or corrupt one is logged and replaced by an empty state: the worst
//! outcome is one duplicate alert, never a silenced one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::rules::{Action, Mapped};
use super::Severity;

pub const ALERT_STATE_VERSION: u32 = 1;

/// One active condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveAlert {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub pulse: bool,
    pub raised_at_ms: i64,
    /// When a message about it last went out (raise, update or reminder).
    pub last_sent_ms: i64,
    /// When an event last reported it.
    pub last_seen_ms: i64,
    pub reminders: u32,
}

/// What survives a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertState {
    pub version: u32,
    pub active: BTreeMap<String, ActiveAlert>,
}

impl Default for AlertState {
    fn default() -> Self {
        AlertState {
            version: ALERT_STATE_VERSION,
            active: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// The condition became active.
    Raised,
    /// Still active, but its summary or severity changed.
    Updated,
    /// Still active after `remind_secs`.
    Reminder,
    /// Over.
    Resolved,
    /// A one-off message with no condition state.
    Notice,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Raised => "raised",
            NotificationKind::Updated => "updated",
            NotificationKind::Reminder => "reminder",
            NotificationKind::Resolved => "resolved",
            NotificationKind::Notice => "notice",
        }
    }
}

/// A message to deliver. Channels render it; the generic webhook sends it as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    pub kind: NotificationKind,
    pub condition: String,
    /// For a resolution, the severity of what it resolves (so it reaches the same channels).
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub producer: String,
    /// `bp-failover/<producer>/<condition>`: the same on every observer of this producer, so
    /// PagerDuty (and any receiver) can merge their reports.
    pub dedup_key: String,
    pub at_ms: i64,
    /// When the condition became active (`None` for a notice).
    pub active_since_ms: Option<i64>,
    pub reminders: u32,
    /// The event that caused it (as in the event log), if any.
    pub event: Option<serde_json::Value>,
}

/// The alert state machine.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    producer: String,
    state: AlertState,
    remind_ms: i64,
    quiet_ms: i64,
    /// Changed since the last [`Lifecycle::take_dirty`].
    dirty: bool,
}

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub fn dedup_key(producer: &str, condition: &str) -> String {
    format!("bp-failover/{producer}/{condition}")
}

impl Lifecycle {
    /// `remind` zero: never remind. `resolve_quiet`: how long a pulse condition stays
    /// active without a new report.
    pub fn new(
        producer: &str,
        state: AlertState,
        remind: std::time::Duration,
        resolve_quiet: std::time::Duration,
    ) -> Self {
        Lifecycle {
            producer: producer.to_string(),
            state,
            remind_ms: ms(remind),
            quiet_ms: ms(resolve_quiet),
            dirty: false,
        }
    }

    pub fn producer(&self) -> &str {
        &self.producer
    }

    pub fn state(&self) -> &AlertState {
        &self.state
    }

    pub fn is_active(&self, condition: &str) -> bool {
        self.state.active.contains_key(condition)
    }

    /// Whether the state changed since the last call (then it should be saved).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    fn note(
        &self,
        kind: NotificationKind,
        condition: &str,
        (severity, summary, detail): (Severity, String, String),
        now_ms: i64,
        active: Option<&ActiveAlert>,
        event: Option<&serde_json::Value>,
    ) -> Notification {
        Notification {
            kind,
            condition: condition.to_string(),
            severity,
            summary,
            detail,
            producer: self.producer.clone(),
            dedup_key: dedup_key(&self.producer, condition),
            at_ms: now_ms,
            active_since_ms: active.map(|a| a.raised_at_ms),
            reminders: active.map_or(0, |a| a.reminders),
            event: event.cloned(),
        }
    }

    /// Applies one mapped action. `event` is the JSON of the event that caused it.
    pub fn apply(
        &mut self,
        m: Mapped,
        now_ms: i64,
        event: Option<&serde_json::Value>,
    ) -> Option<Notification> {
        let cond = m.condition;
        match m.action {
            Action::Notice {
                severity,
                summary,
                detail,
            } => Some(self.note(
                NotificationKind::Notice,
                &cond,
                (severity, summary, detail),
                now_ms,
                None,
                event,
            )),
            Action::Raise {
                severity,
                summary,
                detail,
                pulse,
            } => {
                self.dirty = true;
                if let Some(a) = self.state.active.get_mut(&cond) {
                    a.last_seen_ms = now_ms;
                    a.detail = detail.clone();
                    a.pulse = pulse;
                    if a.summary == summary && a.severity == severity {
                        return None;
                    }
                    a.summary = summary.clone();
                    a.severity = severity;
                    a.last_sent_ms = now_ms;
                    let a = a.clone();
                    return Some(self.note(
                        NotificationKind::Updated,
                        &cond,
                        (severity, summary, detail),
                        now_ms,
                        Some(&a),
                        event,
                    ));
                }
                let a = ActiveAlert {
                    severity,
                    summary: summary.clone(),
                    detail: detail.clone(),
                    pulse,
                    raised_at_ms: now_ms,
                    last_sent_ms: now_ms,
                    last_seen_ms: now_ms,
                    reminders: 0,
                };
                let n = self.note(
                    NotificationKind::Raised,
                    &cond,
                    (severity, summary, detail),
                    now_ms,
                    Some(&a),
                    event,
                );
                self.state.active.insert(cond, a);
                Some(n)
            }
            Action::Resolve { note } => {
                let a = self.state.active.remove(&cond)?;
                self.dirty = true;
                Some(self.note(
                    NotificationKind::Resolved,
                    &cond,
                    (a.severity, format!("resolved: {}", a.summary), note),
                    now_ms,
                    Some(&a),
                    event,
                ))
            }
            Action::ResolveOrNotice {
                severity,
                summary,
                detail,
            } => match self.state.active.remove(&cond) {
                Some(a) => {
                    self.dirty = true;
                    Some(self.note(
                        NotificationKind::Resolved,
                        &cond,
                        (a.severity, summary, detail),
                        now_ms,
                        Some(&a),
                        event,
                    ))
                }
                None => Some(self.note(
                    NotificationKind::Notice,
                    &cond,
                    (severity, summary, detail),
                    now_ms,
                    None,
                    event,
                )),
            },
        }
    }

    /// Reminders that are due and pulse conditions gone quiet. Call periodically.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Notification> {
        let mut out = Vec::new();
        let quiet: Vec<String> = self
            .state
            .active
            .iter()
            .filter(|(_, a)| a.pulse && now_ms.saturating_sub(a.last_seen_ms) >= self.quiet_ms)
            .map(|(c, _)| c.clone())
            .collect();
        for cond in quiet {
            if let Some(a) = self.state.active.remove(&cond) {
                self.dirty = true;
                let mins = now_ms.saturating_sub(a.last_seen_ms) / 60_000;
                out.push(self.note(
                    NotificationKind::Resolved,
                    &cond,
                    (
                        a.severity,
                        format!("resolved: {}", a.summary),
                        format!("not reported for {mins} min; assumed over"),
                    ),
                    now_ms,
                    Some(&a),
                    None,
                ));
            }
        }
        if self.remind_ms > 0 {
            let due: Vec<String> = self
                .state
                .active
                .iter()
                .filter(|(_, a)| now_ms.saturating_sub(a.last_sent_ms) >= self.remind_ms)
                .map(|(c, _)| c.clone())
                .collect();
            for cond in due {
                let Some(a) = self.state.active.get_mut(&cond) else {
                    continue;
                };
                a.reminders += 1;
                a.last_sent_ms = now_ms;
                let a = a.clone();
                self.dirty = true;
                let mins = now_ms.saturating_sub(a.raised_at_ms) / 60_000;
                out.push(self.note(
                    NotificationKind::Reminder,
                    &cond,
                    (
                        a.severity,
                        a.summary.clone(),
                        format!(
                            "{} (still active after {}h {:02}m)",
                            a.detail,
                            mins / 60,
                            mins % 60
                        ),
                    ),
                    now_ms,
                    Some(&a),
                    None,
                ));
            }
        }
        out
    }
}

#[derive(Debug, Error)]
pub enum AlertStateError {
    #[error("cannot read alert state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("alert state file {path} is corrupt or from another version ({message})")]
    Corrupt { path: PathBuf, message: String },
    #[error("cannot write alert state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads the alert state; a missing file is an empty state.
pub fn load_state(path: &Path) -> Result<AlertState, AlertStateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(AlertState::default()),
        Err(source) => {
            return Err(AlertStateError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let state: AlertState = serde_json::from_str(&text).map_err(|e| AlertStateError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if state.version != ALERT_STATE_VERSION {
        return Err(AlertStateError::Corrupt {
            path: path.to_path_buf(),
            message: format!("version {}, expected {ALERT_STATE_VERSION}", state.version),
        });
    }
    Ok(state)
}

/// Writes the alert state atomically: temp file, fsync, rename, fsync of the folder.
pub fn save_state(path: &Path, state: &AlertState) -> Result<(), AlertStateError> {
    let write_err = |source| AlertStateError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut text = serde_json::to_string_pretty(state).map_err(|e| write_err(e.into()))?;
    text.push('\n');
    crate::fsutil::write_atomic(path, text.as_bytes()).map_err(write_err)
}
