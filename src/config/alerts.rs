//! `[alerts]` and `[[alerts.channel]]`: the alert channels, the heartbeat and delivery
//! settings. The validated form is the alerts layer's own [`AlertsConfig`] (alerts does
//! not import config); secrets are named by [`SecretSource`], never held.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{default, resolve, valid_env_name, Findings};
pub use crate::alerts::settings::{
    AlertsConfig, ChannelConfig, ChannelKind, HeartbeatConfig, SecretSource,
};
pub use crate::alerts::Severity;
use crate::api::url::EndpointUrl;

/// `[alerts]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAlerts {
    pub remind_secs: u64,
    pub resolve_quiet_secs: u64,
    pub timeout_ms: u64,
    pub retries: u32,
    pub backoff_ms: u64,
    pub queue_len: usize,
    pub heartbeat_url: Option<String>,
    pub heartbeat_url_env: Option<String>,
    pub heartbeat_url_file: Option<PathBuf>,
    pub heartbeat_secs: u64,
    #[serde(rename = "channel")]
    pub channels: Vec<RawChannel>,
}

impl Default for RawAlerts {
    fn default() -> Self {
        RawAlerts {
            remind_secs: default::remind_secs(),
            resolve_quiet_secs: default::resolve_quiet_secs(),
            timeout_ms: default::alert_timeout_ms(),
            retries: default::alert_retries(),
            backoff_ms: default::alert_backoff_ms(),
            queue_len: default::alert_queue_len(),
            heartbeat_url: None,
            heartbeat_url_env: None,
            heartbeat_url_file: None,
            heartbeat_secs: default::heartbeat_secs(),
            channels: Vec::new(),
        }
    }
}

/// One `[[alerts.channel]]` as written. One flat table for every type, so validation can
/// say which key does not belong to which type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChannel {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default::min_severity")]
    pub min_severity: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub url_env: Option<String>,
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub chat_id: Option<RawChatId>,
    #[serde(default)]
    pub api_base: Option<String>,
}

/// A Telegram chat id: a number (`-1001234567890`) or a channel's `@username`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawChatId {
    Number(i64),
    Text(String),
}

/// `[alerts]` absent: defaults, no channel, no heartbeat.
pub(super) fn disabled(state_path: PathBuf) -> AlertsConfig {
    let d = RawAlerts::default();
    AlertsConfig {
        channels: Vec::new(),
        remind: Duration::from_secs(d.remind_secs),
        resolve_quiet: Duration::from_secs(d.resolve_quiet_secs),
        timeout: Duration::from_millis(d.timeout_ms),
        retries: d.retries,
        backoff: Duration::from_millis(d.backoff_ms),
        queue_len: d.queue_len,
        heartbeat: None,
        state_path,
    }
}

/// Checks one secret given as an environment variable or a file. Problems that only
/// matter when the daemon starts (variable unset, file missing or readable by others) are
/// warnings: `status` and the other commands never send alerts.
fn secret_source(
    f: &mut Findings,
    base: &Path,
    path_env: &str,
    env: Option<&String>,
    path_file: &str,
    file: Option<&PathBuf>,
) -> Option<SecretSource> {
    match (env, file) {
        (Some(_), Some(_)) => {
            f.error(
                path_env,
                format!("and {path_file} are both set"),
                "keep exactly one of them",
            );
            None
        }
        (Some(var), None) => {
            if !valid_env_name(var) {
                f.error(
                    path_env,
                    format!("{var:?} is not a valid environment variable name"),
                    "use letters, digits and '_', e.g. BP_FAILOVER_TELEGRAM_TOKEN",
                );
                return None;
            }
            if std::env::var_os(var).is_none() {
                f.warn(
                    path_env,
                    format!("{var} is not set in this environment; the daemon will refuse to start its alerts"),
                    format!("export {var} in the service environment"),
                );
            }
            Some(SecretSource::Env(var.clone()))
        }
        (None, Some(file)) => {
            let p = resolve(base, file);
            match std::fs::metadata(&p) {
                Err(e) => f.warn(
                    path_file,
                    format!(
                        "cannot read {}: {e}; the daemon will refuse to start its alerts",
                        p.display()
                    ),
                    format!(
                        "create {} holding only the secret, then chmod 600 it",
                        p.display()
                    ),
                ),
                Ok(meta) => {
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::PermissionsExt;
                        let mode = meta.permissions().mode() & 0o777;
                        if mode & 0o077 != 0 {
                            f.warn(
                                path_file,
                                format!(
                                    "{} has mode {mode:04o}: group or others can read the secret",
                                    p.display()
                                ),
                                format!("chmod 600 {}", p.display()),
                            );
                        }
                    }
                    #[cfg(not(unix))]
                    let _ = meta;
                }
            }
            Some(SecretSource::File(p))
        }
        (None, None) => None,
    }
}

pub(super) fn validate_alerts(
    a: &RawAlerts,
    base: &Path,
    state_path: PathBuf,
    f: &mut Findings,
) -> Option<AlertsConfig> {
    let n0 = f.errors.len();
    if a.remind_secs != 0 {
        f.range(
            "alerts.remind_secs",
            a.remind_secs,
            60,
            7 * 86_400,
            " (0 turns reminders off)",
        );
    }
    f.range(
        "alerts.resolve_quiet_secs",
        a.resolve_quiet_secs,
        60,
        86_400,
        "",
    );
    f.range("alerts.timeout_ms", a.timeout_ms, 100, 60_000, "");
    f.range("alerts.retries", a.retries, 0, 10, "");
    f.range("alerts.backoff_ms", a.backoff_ms, 10, 60_000, "");
    f.range("alerts.queue_len", a.queue_len, 1, 10_000, "");
    f.range("alerts.heartbeat_secs", a.heartbeat_secs, 10, 3_600, "");

    let heartbeat_given = [
        a.heartbeat_url.is_some(),
        a.heartbeat_url_env.is_some(),
        a.heartbeat_url_file.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    let heartbeat = if heartbeat_given > 1 {
        f.error(
            "alerts.heartbeat_url",
            "is given more than once (heartbeat_url, heartbeat_url_env, heartbeat_url_file)",
            "keep exactly one of them",
        );
        None
    } else if let Some(text) = &a.heartbeat_url {
        match EndpointUrl::parse(text) {
            Ok(u) => Some(SecretSource::Inline(u)),
            Err(e) => {
                f.error(
                    "alerts.heartbeat_url",
                    e.to_string(),
                    "write the ping URL of your dead-man service, e.g. https://hc-ping.com/<uuid>",
                );
                None
            }
        }
    } else {
        secret_source(
            f,
            base,
            "alerts.heartbeat_url_env",
            a.heartbeat_url_env.as_ref(),
            "alerts.heartbeat_url_file",
            a.heartbeat_url_file.as_ref(),
        )
    };

    let mut channels = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for (i, c) in a.channels.iter().enumerate() {
        let at = |k: &str| format!("alerts.channel[{i}].{k}");
        let n1 = f.errors.len();
        let kind = c.kind.as_str();
        let is_url_kind = matches!(kind, "webhook" | "slack" | "discord");
        let is_token_kind = matches!(kind, "telegram" | "pagerduty");
        if !is_url_kind && !is_token_kind {
            f.error(
                at("type"),
                format!("{kind:?} is not a channel type"),
                "use \"webhook\", \"telegram\", \"slack\", \"discord\" or \"pagerduty\"",
            );
            continue;
        }
        let name = c.name.clone().unwrap_or_else(|| kind.to_string());
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            f.error(
                at("name"),
                format!("{name:?} is not a valid channel name"),
                "use 1-64 letters, digits, '-', '_' or '.'",
            );
        } else if let Some(j) = names.insert(name.clone(), i) {
            f.error(
                at("name"),
                format!("{name:?} is also the name of alerts.channel[{j}] (a channel without a name is named after its type)"),
                "give each channel a unique name = \"…\"",
            );
        }
        let min_severity = match c.min_severity.parse::<Severity>() {
            Ok(s) => Some(s),
            Err(_) => {
                f.error(
                    at("min_severity"),
                    format!("{:?} is not a severity", c.min_severity),
                    "use \"info\", \"warning\" or \"critical\"",
                );
                None
            }
        };
        // Keys that do not belong to this type.
        let foreign: Vec<&str> = [
            ("url", c.url.is_some() && !is_url_kind),
            ("url_env", c.url_env.is_some() && !is_url_kind),
            ("url_file", c.url_file.is_some() && !is_url_kind),
            ("token_env", c.token_env.is_some() && !is_token_kind),
            ("token_file", c.token_file.is_some() && !is_token_kind),
            ("chat_id", c.chat_id.is_some() && kind != "telegram"),
            ("api_base", c.api_base.is_some() && !is_token_kind),
        ]
        .into_iter()
        .filter_map(|(k, bad)| bad.then_some(k))
        .collect();
        for k in foreign {
            let fix = if is_url_kind {
                "a webhook, slack or discord channel takes url (webhook only), url_env or url_file"
            } else if kind == "telegram" {
                "a telegram channel takes token_env or token_file, chat_id and optionally api_base"
            } else {
                "a pagerduty channel takes token_env or token_file (the routing key) and optionally api_base"
            };
            f.error(at(k), format!("does not apply to a {kind} channel"), fix);
        }
        let secret = if is_url_kind {
            let given = [c.url.is_some(), c.url_env.is_some(), c.url_file.is_some()]
                .iter()
                .filter(|x| **x)
                .count();
            if given != 1 {
                f.error(
                    at("url"),
                    if given == 0 {
                        "is missing: set one of url, url_env or url_file".to_string()
                    } else {
                        "is given more than once (url, url_env, url_file)".to_string()
                    },
                    if kind == "webhook" {
                        "keep exactly one of url, url_env and url_file"
                    } else {
                        "keep exactly one of url_env and url_file (the webhook URL is a secret)"
                    },
                );
                None
            } else if let Some(text) = &c.url {
                if kind != "webhook" {
                    f.error(
                        at("url"),
                        format!("holds the {kind} webhook URL, which is a secret (anyone with it can post to your channel), in the config file"),
                        format!("move it to an environment variable (url_env = \"BP_FAILOVER_{}_URL\") or a file only bp-failover can read (url_file)", kind.to_ascii_uppercase()),
                    );
                    None
                } else {
                    match EndpointUrl::parse(text) {
                        Ok(u) => {
                            if u.has_credentials() {
                                f.warn(
                                    at("url"),
                                    format!("{u} carries credentials in the config file"),
                                    "move the URL to url_env or url_file",
                                );
                            }
                            Some(SecretSource::Inline(u))
                        }
                        Err(e) => {
                            f.error(at("url"), e.to_string(), "write the receiver's URL, e.g. https://alerts.example.org/bp-failover");
                            None
                        }
                    }
                }
            } else {
                secret_source(
                    f,
                    base,
                    &at("url_env"),
                    c.url_env.as_ref(),
                    &at("url_file"),
                    c.url_file.as_ref(),
                )
            }
        } else {
            let s = secret_source(
                f,
                base,
                &at("token_env"),
                c.token_env.as_ref(),
                &at("token_file"),
                c.token_file.as_ref(),
            );
            if s.is_none() && c.token_env.is_none() && c.token_file.is_none() {
                f.error(
                    at("token_env"),
                    if kind == "telegram" {
                        "is missing: a telegram channel needs the bot token"
                    } else {
                        "is missing: a pagerduty channel needs the integration's routing key"
                    },
                    "set token_env = \"VAR\" or token_file = \"/path\"",
                );
            }
            s
        };
        let api_base = if is_token_kind {
            let text = c.api_base.as_deref().unwrap_or(if kind == "telegram" {
                default::telegram_api()
            } else {
                default::pagerduty_api()
            });
            match EndpointUrl::parse(text) {
                Ok(u) => {
                    if !u.is_https() && !u.is_loopback() {
                        f.warn(at("api_base"), format!("{u} is plain http: the {kind} token would cross the network unencrypted"), "use https://");
                    }
                    Some(u)
                }
                Err(e) => {
                    f.error(
                        at("api_base"),
                        e.to_string(),
                        "remove api_base to use the public API",
                    );
                    None
                }
            }
        } else {
            None
        };
        let chat_id = match &c.chat_id {
            Some(RawChatId::Number(n)) => Some(n.to_string()),
            Some(RawChatId::Text(t)) if !t.trim().is_empty() => Some(t.trim().to_string()),
            Some(RawChatId::Text(_)) => {
                f.error(
                    at("chat_id"),
                    "is empty",
                    "set the chat's numeric id (e.g. -1001234567890) or @channelname",
                );
                None
            }
            None => {
                if kind == "telegram" {
                    f.error(
                        at("chat_id"),
                        "is missing",
                        "set the chat's numeric id (e.g. -1001234567890) or @channelname",
                    );
                }
                None
            }
        };
        if f.errors.len() != n1 {
            continue;
        }
        let (Some(secret), Some(min_severity)) = (secret, min_severity) else {
            continue;
        };
        let kind = match (kind, api_base) {
            ("webhook", _) => ChannelKind::Webhook { url: secret },
            ("slack", _) => ChannelKind::Slack { url: secret },
            ("discord", _) => ChannelKind::Discord { url: secret },
            ("telegram", Some(api_base)) => ChannelKind::Telegram {
                token: secret,
                chat_id: chat_id.unwrap_or_default(),
                api_base,
            },
            (_, Some(api_base)) => ChannelKind::PagerDuty {
                routing_key: secret,
                api_base,
            },
            (_, None) => continue,
        };
        channels.push(ChannelConfig {
            name,
            min_severity,
            kind,
        });
    }
    (f.errors.len() == n0).then(|| AlertsConfig {
        channels,
        remind: Duration::from_secs(a.remind_secs),
        resolve_quiet: Duration::from_secs(a.resolve_quiet_secs),
        timeout: Duration::from_millis(a.timeout_ms),
        retries: a.retries,
        backoff: Duration::from_millis(a.backoff_ms),
        queue_len: a.queue_len,
        heartbeat: heartbeat.map(|url| HeartbeatConfig {
            url,
            every: Duration::from_secs(a.heartbeat_secs),
        }),
        state_path,
    })
}
