//! Alert channels: what each receiver is sent, and sending it.
//!
//! Secrets (a Telegram bot token, Slack/Discord webhook URLs, a PagerDuty routing key, a
//! heartbeat URL) are read from their environment variable or file once, at start, and kept
//! in [`Secret`] or [`EndpointUrl`], whose `Debug`/`Display` redact. A request's URL is
//! built only to be sent; errors are built without it ([`reqwest::Error::without_url`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde_json::json;
use thiserror::Error;
use zeroize::Zeroizing;

use super::lifecycle::{Notification, NotificationKind};
use super::settings::{ChannelConfig, ChannelKind, SecretSource};
use super::Severity;
use crate::api::url::{EndpointUrl, UrlError};

/// A secret string (token, routing key). Never printed; zeroized on drop.
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(s: String) -> Self {
        Secret(Zeroizing::new(s))
    }

    /// The secret itself: only to build a request, never to print.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Why alerts could not start. Names the channel and where the secret was to come from,
/// never the secret.
#[derive(Debug, Error)]
pub enum AlertError {
    #[error("alert channel {channel}: environment variable {var} is not set (or not UTF-8); fix: export it in the service environment, or remove the channel")]
    EnvMissing { channel: String, var: String },
    #[error("alert channel {channel}: cannot read {path}: {source}; fix: create it holding only the secret, readable by the bp-failover user (chmod 600)")]
    FileRead {
        channel: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("alert channel {channel}: {from} is empty")]
    Empty { channel: String, from: String },
    #[error("alert channel {channel}: the URL in {from} is not valid: {error}")]
    BadUrl {
        channel: String,
        from: String,
        error: UrlError,
    },
    #[error("alert channel {channel}: the token in {from} has characters a token cannot have (spaces, '/', '?', '#')")]
    BadToken { channel: String, from: String },
    #[error("cannot build the HTTP client for alerts: {0}")]
    Client(String),
}

/// Why one delivery failed. Holds no URL and no response body.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the receiver answered HTTP {0}")]
    Status(u16),
    #[error("request failed: {0}")]
    Transport(String),
}

impl SendError {
    pub fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            return SendError::Transport("timed out".into());
        }
        let e = e.without_url();
        let mut text = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            text.push_str(": ");
            text.push_str(&s.to_string());
            src = s.source();
        }
        SendError::Transport(text)
    }
}

fn read_secret(channel: &str, src: &SecretSource) -> Result<Zeroizing<String>, AlertError> {
    let text = match src {
        SecretSource::Inline(u) => Zeroizing::new(u.expose().to_string()),
        SecretSource::Env(var) => {
            Zeroizing::new(std::env::var(var).map_err(|_| AlertError::EnvMissing {
                channel: channel.into(),
                var: var.clone(),
            })?)
        }
        SecretSource::File(path) => {
            Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
                AlertError::FileRead {
                    channel: channel.into(),
                    path: path.clone(),
                    source,
                }
            })?)
        }
    };
    let trimmed = Zeroizing::new(text.trim().to_string());
    if trimmed.is_empty() {
        return Err(AlertError::Empty {
            channel: channel.into(),
            from: src.to_string(),
        });
    }
    Ok(trimmed)
}

/// Reads a secret-bearing URL.
pub fn resolve_url(channel: &str, src: &SecretSource) -> Result<EndpointUrl, AlertError> {
    if let SecretSource::Inline(u) = src {
        return Ok(u.clone());
    }
    let text = read_secret(channel, src)?;
    EndpointUrl::parse(&text).map_err(|error| AlertError::BadUrl {
        channel: channel.into(),
        from: src.to_string(),
        error,
    })
}

fn resolve_token(channel: &str, src: &SecretSource) -> Result<Secret, AlertError> {
    let text = read_secret(channel, src)?;
    if !text
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b"/?#%".contains(&b))
    {
        return Err(AlertError::BadToken {
            channel: channel.into(),
            from: src.to_string(),
        });
    }
    Ok(Secret::new(text.to_string()))
}

enum Target {
    Webhook(EndpointUrl),
    Slack(EndpointUrl),
    Discord(EndpointUrl),
    Telegram {
        base: EndpointUrl,
        token: Secret,
        chat_id: String,
    },
    PagerDuty {
        base: EndpointUrl,
        routing_key: Secret,
    },
}

/// A ready channel: its secret read, its receiver known.
pub struct Channel {
    name: String,
    min_severity: Severity,
    target: Target,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, at) = match &self.target {
            Target::Webhook(u) => ("webhook", u),
            Target::Slack(u) => ("slack", u),
            Target::Discord(u) => ("discord", u),
            Target::Telegram { base, .. } => ("telegram", base),
            Target::PagerDuty { base, .. } => ("pagerduty", base),
        };
        f.debug_struct("Channel")
            .field("name", &self.name)
            .field("type", &kind)
            .field("min_severity", &self.min_severity)
            .field("url", at)
            .finish_non_exhaustive()
    }
}

/// One HTTP request to make. Its URL may hold a secret: `Debug` shows the body only.
pub struct Request {
    pub url: Url,
    pub body: serde_json::Value,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("url", &"(redacted)")
            .field("body", &redact_body(&self.body))
            .finish()
    }
}

fn redact_body(v: &serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    if let Some(k) = v.get_mut("routing_key") {
        *k = "(redacted)".into();
    }
    v
}

/// `[CRITICAL] producer: summary` and the detail on the next line.
pub fn text(n: &Notification) -> String {
    let sev = n.severity.as_str().to_ascii_uppercase();
    let tag = match n.kind {
        NotificationKind::Raised | NotificationKind::Notice => format!("[{sev}]"),
        NotificationKind::Updated => format!("[{sev} UPDATE]"),
        NotificationKind::Reminder => format!("[{sev} REMINDER]"),
        NotificationKind::Resolved => "[RESOLVED]".to_string(),
    };
    let mut s = format!("{tag} {}: {}", n.producer, n.summary);
    if !n.detail.is_empty() {
        s.push('\n');
        s.push_str(&n.detail);
    }
    s
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The generic webhook's JSON: the alert state and the event that caused it.
pub fn webhook_body(n: &Notification) -> serde_json::Value {
    json!({
        "source": "bp-failover",
        "producer": n.producer,
        "alert": {
            "state": n.kind.as_str(),
            "condition": n.condition,
            "severity": n.severity.as_str(),
            "summary": n.summary,
            "detail": n.detail,
            "dedup_key": n.dedup_key,
            "at": rfc3339(n.at_ms),
            "active_since": n.active_since_ms.map(rfc3339),
            "reminders": n.reminders,
        },
        "text": text(n),
        "event": n.event,
    })
}

fn join_path(base: &EndpointUrl, tail: &str) -> Url {
    let mut url = base.expose().clone();
    let path = format!("{}/{tail}", base.expose().path().trim_end_matches('/'));
    url.set_path(&path);
    url
}

impl Channel {
    /// Reads the channel's secret (environment variable or file).
    pub fn from_config(c: &ChannelConfig) -> Result<Self, AlertError> {
        let name = c.name.as_str();
        let target = match &c.kind {
            ChannelKind::Webhook { url } => Target::Webhook(resolve_url(name, url)?),
            ChannelKind::Slack { url } => Target::Slack(resolve_url(name, url)?),
            ChannelKind::Discord { url } => Target::Discord(resolve_url(name, url)?),
            ChannelKind::Telegram {
                token,
                chat_id,
                api_base,
            } => Target::Telegram {
                base: api_base.clone(),
                token: resolve_token(name, token)?,
                chat_id: chat_id.clone(),
            },
            ChannelKind::PagerDuty {
                routing_key,
                api_base,
            } => Target::PagerDuty {
                base: api_base.clone(),
                routing_key: resolve_token(name, routing_key)?,
            },
        };
        Ok(Channel {
            name: c.name.clone(),
            min_severity: c.min_severity,
            target,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this channel takes the notification at all (severity, and PagerDuty takes
    /// conditions only: a notice has nothing that would ever resolve it).
    pub fn accepts(&self, n: &Notification) -> bool {
        n.severity >= self.min_severity
            && !(matches!(self.target, Target::PagerDuty { .. })
                && n.kind == NotificationKind::Notice)
    }

    /// The request for a notification.
    pub fn request(&self, n: &Notification) -> Request {
        match &self.target {
            Target::Webhook(u) => Request {
                url: u.expose().clone(),
                body: webhook_body(n),
            },
            Target::Slack(u) => Request {
                url: u.expose().clone(),
                body: json!({ "text": truncate(&text(n), 3000) }),
            },
            Target::Discord(u) => Request {
                url: u.expose().clone(),
                // No @everyone/@here/role pings from text that quotes the chain or a node.
                body: json!({
                    "content": truncate(&text(n), 2000),
                    "allowed_mentions": { "parse": [] },
                }),
            },
            Target::Telegram {
                base,
                token,
                chat_id,
            } => Request {
                url: join_path(base, &format!("bot{}/sendMessage", token.expose())),
                body: json!({
                    "chat_id": chat_id,
                    "text": truncate(&text(n), 4000),
                    "disable_web_page_preview": true,
                }),
            },
            Target::PagerDuty { base, routing_key } => {
                let body = if n.kind == NotificationKind::Resolved {
                    json!({
                        "routing_key": routing_key.expose(),
                        "event_action": "resolve",
                        "dedup_key": n.dedup_key,
                    })
                } else {
                    json!({
                        "routing_key": routing_key.expose(),
                        "event_action": "trigger",
                        "dedup_key": n.dedup_key,
                        "client": "bp-failover",
                        "payload": {
                            "summary": truncate(&format!("{}: {}", n.producer, n.summary), 1000),
                            "source": format!("bp-failover/{}", n.producer),
                            "severity": n.severity.as_str(),
                            "component": n.producer,
                            "class": n.condition,
                            "custom_details": {
                                "detail": n.detail,
                                "state": n.kind.as_str(),
                                "event": n.event,
                            },
                        },
                    })
                };
                Request {
                    url: join_path(base, "v2/enqueue"),
                    body,
                }
            }
        }
    }

    /// One attempt. The caller bounds it with a timeout and retries.
    pub async fn send(&self, client: &reqwest::Client, n: &Notification) -> Result<(), SendError> {
        let req = self.request(n);
        let resp = client
            .post(req.url)
            .json(&req.body)
            .send()
            .await
            .map_err(SendError::from_reqwest)?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError::Status(status.as_u16()))
        }
    }
}
