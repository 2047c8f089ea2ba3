//! The alerts layer's settings, built by the config from `[alerts]` (this layer does not
//! import the config).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::Severity;
use crate::api::url::EndpointUrl;

/// Where a secret (token or secret-bearing URL) comes from. Never the secret itself, except
/// a URL written in the file, which is kept as a redacting [`EndpointUrl`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A URL written in the config file (allowed for the generic webhook and the heartbeat).
    Inline(EndpointUrl),
    /// The name of an environment variable holding it.
    Env(String),
    /// A file holding it (surrounding whitespace is trimmed).
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Inline(u) => write!(f, "{u}"),
            SecretSource::Env(v) => write!(f, "environment variable {v}"),
            SecretSource::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

/// `[alerts]`, validated. See `config.example.toml` for the meaning of each key.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    pub channels: Vec<ChannelConfig>,
    /// Reminder interval for a condition still active; zero: never remind.
    pub remind: Duration,
    /// A condition reported only while it lasts (no event clears it) resolves after this
    /// long without a new report.
    pub resolve_quiet: Duration,
    /// Per attempt of one delivery.
    pub timeout: Duration,
    /// Attempts after the first.
    pub retries: u32,
    /// Delay before the first retry; doubled for each further retry.
    pub backoff: Duration,
    /// Notifications waiting per channel; past that new ones are dropped (and logged).
    pub queue_len: usize,
    pub heartbeat: Option<HeartbeatConfig>,
    /// The alert lifecycle state: `alerts.json` beside `[state] path`.
    pub state_path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatConfig {
    pub url: SecretSource,
    pub every: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    /// Unique; used in logs and metrics (never a secret).
    pub name: String,
    pub min_severity: Severity,
    pub kind: ChannelKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind {
    /// JSON POST of the alert and the event that caused it.
    Webhook { url: SecretSource },
    /// Slack incoming webhook.
    Slack { url: SecretSource },
    /// Discord webhook.
    Discord { url: SecretSource },
    /// `POST {api_base}/bot<token>/sendMessage`.
    Telegram {
        token: SecretSource,
        chat_id: String,
        api_base: EndpointUrl,
    },
    /// PagerDuty Events API v2, `POST {api_base}/v2/enqueue`.
    PagerDuty {
        routing_key: SecretSource,
        api_base: EndpointUrl,
    },
}

impl ChannelKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::Slack { .. } => "slack",
            ChannelKind::Discord { .. } => "discord",
            ChannelKind::Telegram { .. } => "telegram",
            ChannelKind::PagerDuty { .. } => "pagerduty",
        }
    }
}
