//! Diagnostics (library warnings and errors, via `tracing`) on stderr.
//!
//! Text: colour only when stderr is a terminal and `NO_COLOR` is unset (journald and
//! files get plain text). JSON: the event log's layout, one object per line starting with
//! `timestamp`, `level` (lowercase), `event` (always `diagnostic`), then `target`,
//! `message` and the fields.
//!
//! Targets are module paths (no `tracing` call sets `target:`), so one filter catches a
//! layer: `BP_FAILOVER_LOG=bp_failover=debug` the app, `bp_failover::api=debug` its chain
//! reads, `antelope_sim=debug` the simulated network.

use std::io::{IsTerminal, Write};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::events::LogFormat;

/// Whether text diagnostics may carry ANSI colour.
pub fn use_color(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Installs the diagnostics subscriber (once; later calls do nothing). The filter comes
/// from `BP_FAILOVER_LOG` (default `warn`).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BP_FAILOVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    match format {
        LogFormat::Json => {
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(JsonLines)
                .try_init();
        }
        LogFormat::Text => {
            let color = use_color(
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            );
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .with_ansi(color)
                .try_init();
        }
    }
}

/// One diagnostic as a JSON object in the event log's layout.
pub fn json_line(
    timestamp: &str,
    level: &tracing::Level,
    target: &str,
    fields: serde_json::Map<String, serde_json::Value>,
) -> String {
    let mut obj = serde_json::Map::new();
    obj.insert("timestamp".into(), timestamp.into());
    obj.insert("level".into(), level.as_str().to_ascii_lowercase().into());
    obj.insert("event".into(), "diagnostic".into());
    obj.insert("target".into(), target.into());
    if let Some(m) = fields.get("message") {
        obj.insert("message".into(), m.clone());
    }
    for (k, v) in fields {
        if k != "message" {
            obj.entry(k).or_insert(v);
        }
    }
    serde_json::Value::Object(obj).to_string()
}

struct JsonLines;

#[derive(Default)]
struct Fields(serde_json::Map<String, serde_json::Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
}

impl<S: tracing::Subscriber> Layer<S> for JsonLines {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let meta = event.metadata();
        let line = json_line(&now, meta.level(), meta.target(), fields.0);
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_color(true, None));
        assert!(!use_color(false, None), "journald, pipes, files");
        assert!(!use_color(true, Some(std::ffi::OsStr::new("1"))));
        assert!(
            use_color(true, Some(std::ffi::OsStr::new(""))),
            "NO_COLOR set but empty"
        );
    }

    #[test]
    fn json_diagnostics_have_the_event_log_layout() {
        let mut f = serde_json::Map::new();
        f.insert("error".into(), "timeout".into());
        f.insert("message".into(), "reading our producers row".into());
        let line = json_line(
            "2026-01-01T00:00:00.000Z",
            &tracing::Level::WARN,
            "bp_failover::daemon",
            f,
        );
        assert!(line.starts_with(
            r#"{"timestamp":"2026-01-01T00:00:00.000Z","level":"warn","event":"diagnostic","target":"bp_failover::daemon","message":"reading our producers row""#
        ), "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["error"], "timeout");
    }

    /// One target scheme: every `tracing` call takes its module path as target, so
    /// `bp_failover=debug` (or `antelope_sim=…`) catches all of a crate. A hand-written
    /// target (`target: "daemon"`) would escape that filter.
    #[test]
    fn no_tracing_call_sets_its_own_target() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let needle = concat!("target", ": ");
        let mut dirs = vec![root.join("src")];
        for c in std::fs::read_dir(root.join("crates")).unwrap() {
            dirs.push(c.unwrap().path().join("src"));
        }
        let mut offenders = Vec::new();
        let mut seen = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    seen += 1;
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (i, line) in text.lines().enumerate() {
                        let Some(rest) = line.trim_start().strip_prefix(needle) else {
                            let inline = line.contains(&format!("!({needle}"));
                            if inline {
                                offenders.push(format!("{}:{}", path.display(), i + 1));
                            }
                            continue;
                        };
                        // `target: "name",` / `target: CONST,` on its own line in a macro.
                        let value = rest.trim_end();
                        if value.ends_with(',')
                            && (value.starts_with('"')
                                || value
                                    .bytes()
                                    .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b','))
                        {
                            offenders.push(format!("{}:{}", path.display(), i + 1));
                        }
                    }
                }
            }
        }
        assert!(seen > 50, "scanned only {seen} files");
        assert!(
            offenders.is_empty(),
            "tracing calls with a hand-written target (drop it; the module path is the target): {offenders:?}"
        );
    }
}
