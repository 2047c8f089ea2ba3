//! Alerts: the daemon's events, turned into messages to people, off the decision loop.
//!
//! **Mechanism.** [`Alerts::start`] spawns one *dispatcher* task fed by
//! [`crate::events::EventLog::subscribe`], one *worker* task per channel, and the heartbeat.
//! The dispatcher maps each event to alert conditions ([`rules`]), runs the lifecycle
//! ([`lifecycle`]: raise once, remind every `remind_secs` while active, resolve when it
//! clears), saves that state atomically when it changes, and hands each resulting
//! notification to the channels whose `min_severity` it meets, through a bounded queue per
//! channel (`try_send`: a full queue drops the notification with a warning, it never
//! waits). A worker sends one notification at a time with a timeout per attempt and a
//! bounded number of retries with exponential backoff; then it logs a warning naming the
//! channel (never its URL or token) and moves on. A slow or dead receiver therefore delays
//! only its own channel, and nothing here can block the decision loop: the loop only
//! pushes into an unbounded channel.
//!
//! **Heartbeat.** With `heartbeat_url`, a GET every `heartbeat_secs` while the decision
//! loop is alive ([`Metrics::health`]): a dead-man service (healthchecks.io style) alerts
//! when the pings stop, whether the process died, hung, or lost its network.
//!
//! **Limits.** Delivery is at most once per attempt budget: a notification still queued or
//! in flight when the process is killed is lost (a graceful [`Alerts::shutdown`] flushes
//! within its grace period). Several observers of one producer each send their own
//! messages; only PagerDuty merges them (same `dedup_key`). An alert state file that
//! cannot be read is replaced by an empty state (at worst one duplicate message).

pub mod channels;
pub mod lifecycle;
pub mod rules;
pub mod settings;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use channels::{AlertError, Channel, Secret, SendError};
pub use lifecycle::{AlertState, Lifecycle, Notification, NotificationKind};
pub use rules::{map_event, Action, Mapped};
pub use settings::{AlertsConfig, ChannelConfig, ChannelKind, HeartbeatConfig, SecretSource};

use crate::api::url::EndpointUrl;
use crate::clock::Clock;
use crate::events::Event;
use crate::metrics::Metrics;

/// How often reminders and quiet conditions are checked.
const TICK: Duration = Duration::from_secs(1);
/// Saves that only refresh `last_seen` (no message) happen at most this often.
const LAZY_SAVE_MS: i64 = 15_000;
/// Longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            _ => Err(()),
        }
    }
}

/// The running alert tasks.
pub struct Alerts {
    stop: Option<oneshot::Sender<()>>,
    dispatcher: JoinHandle<()>,
    workers: Vec<JoinHandle<()>>,
    heartbeat: Option<JoinHandle<()>>,
}

impl fmt::Debug for Alerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Alerts")
            .field("channels", &self.workers.len())
            .field("heartbeat", &self.heartbeat.is_some())
            .finish()
    }
}

struct Route {
    channel: Arc<Channel>,
    queue: mpsc::Sender<Arc<Notification>>,
}

#[derive(Clone, Copy)]
struct Delivery {
    timeout: Duration,
    retries: u32,
    backoff: Duration,
}

impl Alerts {
    /// Reads every channel's secret, loads the alert state and spawns the tasks (call
    /// inside a tokio runtime). Fails, naming the channel, when a secret cannot be read:
    /// the daemon should then refuse to start rather than run with silent alerts.
    ///
    /// `producer` is our producer account (dedup keys; recognising its turns). `clock`
    /// gives the lifecycle's time (the system clock in the daemon).
    pub fn start(
        config: &AlertsConfig,
        producer: &str,
        events: mpsc::UnboundedReceiver<Event>,
        metrics: Metrics,
        clock: Arc<dyn Clock>,
    ) -> Result<Alerts, AlertError> {
        let channels = config
            .channels
            .iter()
            .map(Channel::from_config)
            .collect::<Result<Vec<_>, _>>()?;
        let heartbeat_url = match &config.heartbeat {
            Some(h) => Some((channels::resolve_url("heartbeat", &h.url)?, h.every)),
            None => None,
        };
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bp-failover/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AlertError::Client(SendError::from_reqwest(e).to_string()))?;

        let state = match lifecycle::load_state(&config.state_path) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "starting with no active alerts; at worst one alert is repeated");
                AlertState::default()
            }
        };
        let lifecycle = Lifecycle::new(producer, state, config.remind, config.resolve_quiet);
        metrics.set_alerts_active(lifecycle.state().active.len());

        let delivery = Delivery {
            timeout: config.timeout,
            retries: config.retries,
            backoff: config.backoff,
        };
        let mut routes = Vec::new();
        let mut workers = Vec::new();
        for ch in channels {
            let ch = Arc::new(ch);
            let (tx, rx) = mpsc::channel(config.queue_len.max(1));
            workers.push(tokio::spawn(worker(
                ch.clone(),
                rx,
                client.clone(),
                delivery,
                metrics.clone(),
            )));
            routes.push(Route {
                channel: ch,
                queue: tx,
            });
        }
        let heartbeat = heartbeat_url.map(|(url, every)| {
            tokio::spawn(heartbeat_loop(url, every, client.clone(), metrics.clone()))
        });
        let (stop_tx, stop_rx) = oneshot::channel();
        let dispatcher = tokio::spawn(dispatch(
            events,
            lifecycle,
            routes,
            config.state_path.clone(),
            clock,
            metrics,
            stop_rx,
        ));
        Ok(Alerts {
            stop: Some(stop_tx),
            dispatcher,
            workers,
            heartbeat,
        })
    }

    /// Stops: handles the events already received (emit `observer_stopped` before calling
    /// this, so it is announced), saves the state, and gives the channels up to `grace` to
    /// deliver what is queued; then abandons the rest.
    pub async fn shutdown(mut self, grace: Duration) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let deadline = tokio::time::Instant::now() + grace;
        let _ = tokio::time::timeout_at(deadline, &mut self.dispatcher).await;
        self.dispatcher.abort();
        for w in &mut self.workers {
            if tokio::time::timeout_at(deadline, &mut *w).await.is_err() {
                tracing::warn!("alerts still queued at shutdown were not delivered");
            }
            w.abort();
        }
    }
}

async fn save(path: &Path, state: AlertState) {
    let path2 = path.to_path_buf();
    let r = tokio::task::spawn_blocking(move || lifecycle::save_state(&path2, &state)).await;
    match r {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "alert state not saved; after a restart an active alert may be sent again")
        }
        Err(e) => tracing::warn!(error = %e, "alert state save task failed"),
    }
}

fn route(routes: &[Route], n: Notification, metrics: &Metrics) {
    tracing::info!(
        condition = %n.condition,
        state = n.kind.as_str(),
        severity = %n.severity,
        summary = %n.summary,
        "alert"
    );
    let n = Arc::new(n);
    for r in routes {
        if !r.channel.accepts(&n) {
            continue;
        }
        match r.queue.try_send(n.clone()) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics.alert_delivery(r.channel.name(), "dropped");
                tracing::warn!(
                    channel = %r.channel.name(),
                    condition = %n.condition,
                    "alert queue full (receiver slow or down); alert dropped"
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

async fn dispatch(
    mut events: mpsc::UnboundedReceiver<Event>,
    mut lc: Lifecycle,
    routes: Vec<Route>,
    state_path: PathBuf,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    mut stop: oneshot::Receiver<()>,
) {
    let producer = lc.producer().to_string();
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_save_ms = clock.now_ms();
    let mut unsaved = false;
    let mut stopping = false;
    loop {
        let mut sent = Vec::new();
        tokio::select! {
            biased;
            _ = &mut stop, if !stopping => {
                stopping = true;
                while let Ok(e) = events.try_recv() {
                    sent.extend(handle_event(&mut lc, &e, &producer, clock.now_ms()));
                }
            }
            e = events.recv(), if !stopping => match e {
                Some(e) => sent.extend(handle_event(&mut lc, &e, &producer, clock.now_ms())),
                None => stopping = true,
            },
            _ = interval.tick(), if !stopping => {}
        }
        let now = clock.now_ms();
        sent.extend(lc.tick(now));
        unsaved |= lc.take_dirty();
        let any = !sent.is_empty();
        for n in sent {
            route(&routes, n, &metrics);
        }
        metrics.set_alerts_active(lc.state().active.len());
        if unsaved && (any || stopping || now.saturating_sub(last_save_ms) >= LAZY_SAVE_MS) {
            save(&state_path, lc.state().clone()).await;
            last_save_ms = now;
            unsaved = false;
        }
        if stopping {
            break;
        }
    }
    // Dropping `routes` closes the queues: each worker ends once its queue is delivered.
}

fn handle_event(lc: &mut Lifecycle, e: &Event, producer: &str, now_ms: i64) -> Vec<Notification> {
    let mapped = map_event(e, producer);
    if mapped.is_empty() {
        return Vec::new();
    }
    let json = event_json(e);
    mapped
        .into_iter()
        .filter_map(|m| lc.apply(m, now_ms, json.as_ref()))
        .collect()
}

/// The event as sent to receivers: as in the event log, less a dry run's signed
/// transaction (`body`). Not a secret once pushed, but a dry run's was *not* pushed: anyone
/// reading the webhook could push it before it expires and switch the key.
/// Sends one test message, marked `[TEST]`, to every configured channel now (no state, no
/// queue): each channel's name and whether it was delivered. A channel that takes no
/// notices (PagerDuty) gets a test incident that is resolved at once.
pub async fn send_test(
    config: &AlertsConfig,
    producer: &str,
    now_ms: i64,
) -> Result<Vec<(String, Result<(), String>)>, AlertError> {
    let channels = config
        .channels
        .iter()
        .map(Channel::from_config)
        .collect::<Result<Vec<_>, _>>()?;
    let client = reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("bp-failover/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AlertError::Client(SendError::from_reqwest(e).to_string()))?;
    let message = |kind: NotificationKind| Notification {
        kind,
        condition: "test_alert".into(),
        severity: Severity::Critical,
        summary: format!("[TEST] bp-failover test alert for {producer}: no action needed"),
        detail: "Sent by `bp-failover test-alert` to check this channel delivers.".into(),
        producer: producer.to_string(),
        dedup_key: lifecycle::dedup_key(producer, "test_alert"),
        at_ms: now_ms,
        active_since_ms: None,
        reminders: 0,
        event: None,
    };
    let mut out = Vec::new();
    for ch in &channels {
        let notice = message(NotificationKind::Notice);
        let r = if ch.accepts(&notice) {
            ch.send(&client, &notice).await
        } else {
            let mut raised = message(NotificationKind::Raised);
            raised.active_since_ms = Some(now_ms);
            match ch.send(&client, &raised).await {
                Ok(()) => ch.send(&client, &message(NotificationKind::Resolved)).await,
                Err(e) => Err(e),
            }
        };
        out.push((ch.name().to_string(), r.map_err(|e| e.to_string())));
    }
    Ok(out)
}

pub fn event_json(e: &Event) -> Option<serde_json::Value> {
    let mut v = serde_json::to_value(e).ok()?;
    if let Some(obj) = v.as_object_mut() {
        obj.remove("body");
    }
    Some(v)
}

async fn worker(
    ch: Arc<Channel>,
    mut rx: mpsc::Receiver<Arc<Notification>>,
    client: reqwest::Client,
    d: Delivery,
    metrics: Metrics,
) {
    while let Some(n) = rx.recv().await {
        let mut delay = d.backoff;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let err = match tokio::time::timeout(d.timeout, ch.send(&client, &n)).await {
                Ok(Ok(())) => {
                    metrics.alert_delivery(ch.name(), "sent");
                    break;
                }
                Ok(Err(e)) => e,
                Err(_) => SendError::Timeout(d.timeout),
            };
            if attempt > d.retries {
                metrics.alert_delivery(ch.name(), "failed");
                tracing::warn!(
                    channel = %ch.name(),
                    condition = %n.condition,
                    attempts = attempt,
                    error = %err,
                    "alert not delivered; giving up on this one"
                );
                break;
            }
            tracing::debug!(channel = %ch.name(), attempt, error = %err, "alert delivery failed; retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_BACKOFF);
        }
    }
}

async fn heartbeat_loop(
    url: EndpointUrl,
    every: Duration,
    client: reqwest::Client,
    metrics: Metrics,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let health = metrics.health();
        if !health.ok {
            tracing::warn!(reason = %health.message, "heartbeat withheld: the decision loop is not running");
            continue;
        }
        let result = client.get(url.expose().clone()).send().await;
        let outcome = match result {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(SendError::Status(r.status().as_u16())),
            Err(e) => Err(SendError::from_reqwest(e)),
        };
        match outcome {
            Ok(()) => metrics.alert_delivery("heartbeat", "sent"),
            Err(e) => {
                metrics.alert_delivery("heartbeat", "failed");
                tracing::warn!(heartbeat = %url, error = %e, "heartbeat ping failed");
            }
        }
    }
}
