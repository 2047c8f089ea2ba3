//! Prometheus metrics and the liveness/readiness the HTTP endpoints report.
//!
//! One [`Metrics`] (cheap to clone, shared) is updated by the daemon in two ways:
//! - [`Metrics::on_event`] with every [`Event`] it emits: counters (missed slots, switches,
//!   pushes, events by name) and the gauges events carry (readiness, endpoint up/down,
//!   quorum state, last push latency);
//! - setters for what the loop measures each round ([`Metrics::set_consecutive_missed`],
//!   [`Metrics::set_participation`], [`Metrics::set_lib_lag`], [`Metrics::set_endpoint`],
//!   [`Metrics::set_decision`], [`Metrics::set_pending_age`], [`Metrics::set_readiness`]),
//!   and [`Metrics::tick`] once per loop iteration, which `/healthz` checks.
//!
//! The registry is this struct's own (no global state), so tests make as many as they want.
//! Text is OpenMetrics (`prometheus-client`). Every name starts with `bp_failover_`; the
//! list is in [`METRIC_NAMES`] and `deploy/grafana-dashboard.json` uses them. Labels never
//! hold secrets: endpoints are labelled with their redacted URL (`scheme://host:port/…`),
//! so two endpoints on one host with different secret paths share a label.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::api::url::EndpointUrl;
use crate::clock::{Clock, SystemClock};
use crate::decision::Decision;
use crate::events::{Event, QuorumStatus};

/// `/healthz` limit without a `[metrics]` section (`healthz_max_age_secs`).
pub(crate) const DEFAULT_HEALTHZ_MAX_AGE_SECS: u64 = 30;

/// `[metrics]`, validated (built by the config; this layer does not import it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub listen: SocketAddr,
    /// `/healthz` answers 503 when the loop has not run for this long.
    pub healthz_max_age: Duration,
}

/// The `state` label values of `bp_failover_decision_state`.
pub const DECISION_STATES: [&str; 6] = [
    "healthy",
    "confirming",
    "pending",
    "hold",
    "switch",
    "not_scheduled",
];

/// The `state` label values of `bp_failover_quorum_state` (the `quorum_changed` states).
pub const QUORUM_STATES: [&str; 3] = [
    QuorumStatus::ALL[0].as_str(),
    QuorumStatus::ALL[1].as_str(),
    QuorumStatus::ALL[2].as_str(),
];

/// Every metric family exposed (as scraped: counters end in `_total`).
pub const METRIC_NAMES: &[&str] = &[
    "bp_failover_build_info",
    "bp_failover_missed_slots_total",
    "bp_failover_consecutive_missed",
    "bp_failover_participation_ratio",
    "bp_failover_lib_lag_blocks",
    "bp_failover_endpoint_up",
    "bp_failover_endpoint_latency_seconds",
    "bp_failover_endpoint_request_duration_seconds",
    "bp_failover_endpoint_disagreements_total",
    "bp_failover_decision_state",
    "bp_failover_hold_reason",
    "bp_failover_quorum_state",
    "bp_failover_switches_total",
    "bp_failover_switches_confirmed_total",
    "bp_failover_pending_switch_age_seconds",
    "bp_failover_last_push_latency_seconds",
    "bp_failover_transactions_pushed_total",
    "bp_failover_transactions_failed_total",
    "bp_failover_datacenter_ready",
    "bp_failover_events_total",
    "bp_failover_loop_last_run_timestamp_seconds",
    "bp_failover_observer_ready",
    "bp_failover_alerts_active",
    "bp_failover_alert_deliveries_total",
    "bp_failover_setup_valid",
];

type FGauge = Gauge<f64, AtomicU64>;

/// Sets a one-hot gauge family: every known state 0, then `on` (if any) 1.
fn one_hot(family: &Family<StateLabel, Gauge>, states: &[&str], on: Option<&str>) {
    for s in states {
        family
            .get_or_create(&StateLabel { state: (*s).into() })
            .set(0);
    }
    if let Some(on) = on {
        family
            .get_or_create(&StateLabel { state: on.into() })
            .set(1);
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MissedLabels {
    producer: String,
    key: String,
    datacenter: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabel {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DatacenterLabel {
    datacenter: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SwitchLabels {
    from: String,
    to: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabel {
    event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RetryingLabel {
    retrying: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    channel: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    commit: String,
}

/// A family with no labels, used for gauges that are absent while unknown.
type Optional = Family<Vec<(String, String)>, FGauge>;

fn latency_histogram() -> Histogram {
    Histogram::new([0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
}

struct Handles {
    missed_slots: Family<MissedLabels, Counter>,
    consecutive_missed: Gauge,
    participation: Optional,
    lib_lag: Gauge,
    endpoint_up: Family<EndpointLabel, Gauge>,
    endpoint_disagreements: Family<EndpointLabel, Counter>,
    endpoint_latency: Family<EndpointLabel, FGauge>,
    endpoint_duration: Family<EndpointLabel, Histogram, fn() -> Histogram>,
    decision_state: Family<StateLabel, Gauge>,
    hold_reason: Family<ReasonLabel, Gauge>,
    quorum_state: Family<StateLabel, Gauge>,
    switches: Family<SwitchLabels, Counter>,
    switches_confirmed: Family<DatacenterLabel, Counter>,
    pending_age: Optional,
    last_push_latency: FGauge,
    pushed: Counter,
    failed: Family<RetryingLabel, Counter>,
    ready: Family<DatacenterLabel, Gauge>,
    events: Family<EventLabel, Counter>,
    loop_last_run: FGauge,
    observer_ready: Gauge,
    alerts_active: Gauge,
    deliveries: Family<DeliveryLabels, Counter>,
    setup_valid: Family<CheckLabel, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabel {
    check: String,
}

struct Inner {
    registry: Registry,
    m: Handles,
    clock: Arc<dyn Clock>,
    started_ms: i64,
    health_max_age_ms: i64,
    /// `i64::MIN`: never.
    last_tick_ms: AtomicI64,
    ready: AtomicBool,
    /// Self-checks failing now (`setup_invalid` without a later `setup_valid`).
    setup_failing: Mutex<BTreeSet<String>>,
}

/// The daemon's metrics and health. Clones share everything.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// What `/healthz` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub ok: bool,
    pub message: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// System clock, `/healthz` limit 30 s.
    pub fn new() -> Self {
        Self::with_clock(
            Arc::new(SystemClock),
            Duration::from_secs(DEFAULT_HEALTHZ_MAX_AGE_SECS),
        )
    }

    /// With the `[metrics]` section's limit (the default without one).
    pub fn from_config(config: Option<&MetricsConfig>) -> Self {
        match config {
            Some(c) => Self::with_clock(Arc::new(SystemClock), c.healthz_max_age),
            None => Self::new(),
        }
    }

    /// With an injected clock (tests) and the `/healthz` limit.
    pub fn with_clock(clock: Arc<dyn Clock>, healthz_max_age: Duration) -> Self {
        let mut r = Registry::with_prefix("bp_failover");
        let m = Handles {
            missed_slots: Family::default(),
            consecutive_missed: Gauge::default(),
            participation: Family::default(),
            lib_lag: Gauge::default(),
            endpoint_up: Family::default(),
            endpoint_disagreements: Family::default(),
            endpoint_latency: Family::default(),
            endpoint_duration: Family::new_with_constructor(latency_histogram),
            decision_state: Family::default(),
            hold_reason: Family::default(),
            quorum_state: Family::default(),
            switches: Family::default(),
            switches_confirmed: Family::default(),
            pending_age: Family::default(),
            last_push_latency: FGauge::default(),
            pushed: Counter::default(),
            failed: Family::default(),
            ready: Family::default(),
            events: Family::default(),
            loop_last_run: FGauge::default(),
            observer_ready: Gauge::default(),
            alerts_active: Gauge::default(),
            deliveries: Family::default(),
            setup_valid: Family::default(),
        };
        let build: Family<BuildLabels, Gauge> = Family::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").into(),
                commit: crate::GIT_COMMIT.into(),
            })
            .set(1);
        r.register(
            "build_info",
            "Version and git commit of this binary (always 1)",
            build,
        );
        r.register(
            "missed_slots",
            "Scheduled slots of our producer that passed without a block, by signing key",
            m.missed_slots.clone(),
        );
        r.register(
            "consecutive_missed",
            "Consecutive scheduled slots the active key has missed (the failover threshold counts these)",
            m.consecutive_missed.clone(),
        );
        r.register(
            "participation_ratio",
            "Share of the other producers' recent scheduled blocks that were produced (absent while unknown)",
            m.participation.clone(),
        );
        r.register(
            "lib_lag_blocks",
            "Head block minus last irreversible block, as the quorum sees it",
            m.lib_lag.clone(),
        );
        r.register(
            "endpoint_up",
            "1 when the chain endpoint is healthy and usable in the quorum, else 0",
            m.endpoint_up.clone(),
        );
        r.register(
            "endpoint_latency_seconds",
            "Latency of the endpoint's last answered request",
            m.endpoint_latency.clone(),
        );
        r.register(
            "endpoint_request_duration_seconds",
            "Latency of requests to the endpoint",
            m.endpoint_duration.clone(),
        );
        r.register(
            "decision_state",
            "The current decision, one-hot by state",
            m.decision_state.clone(),
        );
        r.register(
            "hold_reason",
            "While the decision is hold: 1 for its reason (absent otherwise)",
            m.hold_reason.clone(),
        );
        r.register(
            "quorum_state",
            "The endpoint quorum, one-hot: agreed, disagree or blind",
            m.quorum_state.clone(),
        );
        r.register(
            "switches",
            "Key switches triggered (failover_triggered), by data center",
            m.switches.clone(),
        );
        r.register(
            "switches_confirmed",
            "Key switches seen in the active schedule (key_change_confirmed), by new data center",
            m.switches_confirmed.clone(),
        );
        r.register(
            "pending_switch_age_seconds",
            "Age of the key change waiting to reach the active schedule (absent when none)",
            m.pending_age.clone(),
        );
        r.register(
            "last_push_latency_seconds",
            "Time the last accepted key-switch push took",
            m.last_push_latency.clone(),
        );
        r.register(
            "transactions_pushed",
            "Key-switch transactions accepted by an endpoint",
            m.pushed.clone(),
        );
        r.register(
            "transactions_failed",
            "Key-switch transaction failures; retrying=\"false\" means given up",
            m.failed.clone(),
        );
        r.register(
            "datacenter_ready",
            "1 when the data center's node can take over (reachable, synced), else 0",
            m.ready.clone(),
        );
        r.register("events", "Events emitted, by name", m.events.clone());
        r.register(
            "endpoint_disagreements",
            "Answers of an endpoint that differed from the majority's (state reads, blocks)",
            m.endpoint_disagreements.clone(),
        );
        r.register(
            "loop_last_run_timestamp_seconds",
            "Unix time of the decision loop's last iteration",
            m.loop_last_run.clone(),
        );
        r.register(
            "observer_ready",
            "1 when the observer can see the chain (not blind), else 0",
            m.observer_ready.clone(),
        );
        r.register(
            "alerts_active",
            "Alert conditions currently active",
            m.alerts_active.clone(),
        );
        r.register(
            "alert_deliveries",
            "Alert deliveries by channel and outcome (sent, failed, dropped)",
            m.deliveries.clone(),
        );
        r.register(
            "setup_valid",
            "1 while the daemon's self-check passes, 0 while it fails, by check (authority, registration, state_dir, resources)",
            m.setup_valid.clone(),
        );
        one_hot(&m.decision_state, &DECISION_STATES, None);
        for retrying in ["true", "false"] {
            m.failed
                .get_or_create(&RetryingLabel {
                    retrying: retrying.into(),
                })
                .inc_by(0);
        }
        one_hot(&m.quorum_state, &QUORUM_STATES, None);
        let started_ms = clock.now_ms();
        Metrics {
            inner: Arc::new(Inner {
                registry: r,
                m,
                clock,
                started_ms,
                health_max_age_ms: i64::try_from(healthz_max_age.as_millis()).unwrap_or(i64::MAX),
                last_tick_ms: AtomicI64::new(i64::MIN),
                ready: AtomicBool::new(false),
                setup_failing: Mutex::new(BTreeSet::new()),
            }),
        }
    }

    fn m(&self) -> &Handles {
        &self.inner.m
    }

    /// Counters and event-carried gauges. Call with every event the daemon emits.
    pub fn on_event(&self, event: &Event) {
        let m = self.m();
        m.events
            .get_or_create(&EventLabel {
                event: event.name().into(),
            })
            .inc();
        match event {
            Event::MissedSlots {
                producer,
                key,
                datacenter,
                count,
                consecutive,
                ..
            } => {
                m.missed_slots
                    .get_or_create(&MissedLabels {
                        producer: producer.clone(),
                        key: key
                            .map(|k| k.to_string())
                            .unwrap_or_else(|| "unknown".into()),
                        datacenter: datacenter.clone().unwrap_or_else(|| "unknown".into()),
                    })
                    .inc_by(u64::from(*count));
                m.consecutive_missed.set(i64::from(*consecutive));
            }
            Event::DatacenterReadiness {
                datacenter, ready, ..
            } => self.set_readiness(datacenter, *ready),
            Event::EndpointUnhealthy { endpoint, .. } => {
                m.endpoint_up
                    .get_or_create(&EndpointLabel {
                        endpoint: endpoint.clone(),
                    })
                    .set(0);
            }
            Event::EndpointDisagrees { endpoint, .. } => {
                m.endpoint_disagreements
                    .get_or_create(&EndpointLabel {
                        endpoint: endpoint.clone(),
                    })
                    .inc();
            }
            Event::EndpointRecovered { endpoint } => {
                m.endpoint_up
                    .get_or_create(&EndpointLabel {
                        endpoint: endpoint.clone(),
                    })
                    .set(1);
            }
            Event::QuorumChanged { state, .. } => {
                self.set_quorum_state(*state);
            }
            Event::SetupInvalid { check, .. } => self.set_setup_valid(check, false),
            Event::SetupValid { check, .. } => self.set_setup_valid(check, true),
            // A rehearsal is not a switch.
            Event::FailoverTriggered { dry_run: true, .. } => {}
            Event::FailoverTriggered { from, to, .. } => {
                m.switches
                    .get_or_create(&SwitchLabels {
                        from: from.clone(),
                        to: to.clone(),
                    })
                    .inc();
            }
            Event::KeyChangeConfirmed { datacenter, .. } => {
                m.switches_confirmed
                    .get_or_create(&DatacenterLabel {
                        datacenter: datacenter.clone(),
                    })
                    .inc();
            }
            Event::TransactionPushed { latency_ms, .. } => {
                m.pushed.inc();
                m.last_push_latency.set(*latency_ms as f64 / 1000.0);
            }
            Event::TransactionFailed { retrying, .. } => {
                m.failed
                    .get_or_create(&RetryingLabel {
                        retrying: retrying.to_string(),
                    })
                    .inc();
            }
            _ => {}
        }
    }

    /// Records that the decision loop ran (for `/healthz` and the heartbeat).
    pub fn tick(&self) {
        let now = self.inner.clock.now_ms();
        self.inner.last_tick_ms.store(now, Ordering::SeqCst);
        self.m().loop_last_run.set(now as f64 / 1000.0);
    }

    pub fn set_consecutive_missed(&self, n: u32) {
        self.m().consecutive_missed.set(i64::from(n));
    }

    /// `None` while unknown (the series disappears rather than reading 0).
    pub fn set_participation(&self, ratio: Option<f64>) {
        let p = &self.m().participation;
        match ratio {
            Some(r) if r.is_finite() => {
                p.get_or_create(&Vec::new()).set(r);
            }
            _ => p.clear(),
        }
    }

    pub fn set_lib_lag(&self, blocks: u32) {
        self.m().lib_lag.set(i64::from(blocks));
    }

    /// One endpoint's health after a round; `latency_ms` of its answer, if it answered.
    /// Labelled with the redacted URL.
    pub fn set_endpoint(&self, endpoint: &EndpointUrl, healthy: bool, latency_ms: Option<u64>) {
        let label = EndpointLabel {
            endpoint: endpoint.redacted().to_string(),
        };
        let m = self.m();
        m.endpoint_up.get_or_create(&label).set(i64::from(healthy));
        if let Some(ms) = latency_ms {
            let secs = ms as f64 / 1000.0;
            m.endpoint_latency.get_or_create(&label).set(secs);
            m.endpoint_duration.get_or_create(&label).observe(secs);
        }
    }

    /// Sets the one-hot decision state by name (one of [`DECISION_STATES`]; another name
    /// gets its own series). Clears the hold reason.
    pub fn set_decision_state(&self, state: &str) {
        one_hot(&self.m().decision_state, &DECISION_STATES, Some(state));
        self.set_hold_reason(None);
    }

    /// The decision's state and, for a hold, its reason.
    pub fn set_decision(&self, d: &Decision) {
        self.set_decision_state(decision_state_name(d));
        if let Decision::Hold { reason, .. } = d {
            self.set_hold_reason(Some(reason.as_str()));
        }
    }

    fn set_hold_reason(&self, reason: Option<&str>) {
        let fam = &self.m().hold_reason;
        // Zero the reasons seen so far; a family cannot be iterated, so clear and recreate.
        fam.clear();
        if let Some(r) = reason {
            fam.get_or_create(&ReasonLabel { reason: r.into() }).set(1);
        }
    }

    fn set_quorum_state(&self, state: QuorumStatus) {
        one_hot(&self.m().quorum_state, &QUORUM_STATES, Some(state.as_str()));
        self.set_observer_ready(state != QuorumStatus::ObserverBlind);
    }

    /// Seconds since the pending key change was decided or first seen; `None` when none.
    pub fn set_pending_age(&self, secs: Option<f64>) {
        let p = &self.m().pending_age;
        match secs {
            Some(s) if s.is_finite() => {
                p.get_or_create(&Vec::new()).set(s);
            }
            _ => p.clear(),
        }
    }

    pub fn set_readiness(&self, datacenter: &str, ready: bool) {
        self.m()
            .ready
            .get_or_create(&DatacenterLabel {
                datacenter: datacenter.into(),
            })
            .set(i64::from(ready));
    }

    /// `/readyz`: whether the observer can see the chain. Also set from `quorum_changed`
    /// events (`observer_blind` → false, anything else → true).
    pub fn set_observer_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::SeqCst);
        self.m().observer_ready.set(i64::from(ready));
    }

    /// A self-check's result: the gauge, and `/readyz` is 503 while any fails.
    pub fn set_setup_valid(&self, check: &str, valid: bool) {
        self.m()
            .setup_valid
            .get_or_create(&CheckLabel {
                check: check.into(),
            })
            .set(i64::from(valid));
        let mut failing = self
            .inner
            .setup_failing
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if valid {
            failing.remove(check);
        } else {
            failing.insert(check.to_string());
        }
    }

    /// `/readyz`: the observer sees the chain and no self-check fails.
    pub fn is_ready(&self) -> bool {
        self.readiness().0
    }

    /// `/readyz` with its one-line reason.
    pub fn readiness(&self) -> (bool, String) {
        if !self.inner.ready.load(Ordering::SeqCst) {
            return (
                false,
                "not ready: the observer is blind (no quorum of endpoints) or has not looked yet"
                    .into(),
            );
        }
        let failing = self
            .inner
            .setup_failing
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if failing.is_empty() {
            (true, "ready: the observer sees the chain".into())
        } else {
            let names: Vec<&str> = failing.iter().map(String::as_str).collect();
            (
                false,
                format!(
                    "not ready: the setup self-check fails ({}): a failover may fail; see the setup_invalid event for the fix",
                    names.join(", ")
                ),
            )
        }
    }

    /// Used by the alerts task.
    pub fn set_alerts_active(&self, n: usize) {
        self.m()
            .alerts_active
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Used by the alerts task: `outcome` is `sent`, `failed` or `dropped`.
    pub fn alert_delivery(&self, channel: &str, outcome: &str) {
        self.m()
            .deliveries
            .get_or_create(&DeliveryLabels {
                channel: channel.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// `/healthz`: the loop ran within the limit. Before the first iteration the process
    /// counts as healthy for one limit after start (it is starting up).
    pub fn health(&self) -> Health {
        let now = self.inner.clock.now_ms();
        let limit = self.inner.health_max_age_ms;
        let last = self.inner.last_tick_ms.load(Ordering::SeqCst);
        if last == i64::MIN {
            let up = now.saturating_sub(self.inner.started_ms);
            return if up <= limit {
                Health {
                    ok: true,
                    message: format!(
                        "starting: the loop has not run yet ({} s since start)",
                        up / 1000
                    ),
                }
            } else {
                Health {
                    ok: false,
                    message: format!(
                        "the loop has not run in the {} s since start (limit {} s)",
                        up / 1000,
                        limit / 1000
                    ),
                }
            };
        }
        let age = now.saturating_sub(last);
        let secs = age as f64 / 1000.0;
        if age <= limit {
            Health {
                ok: true,
                message: format!("ok: the loop ran {secs:.1} s ago"),
            }
        } else {
            Health {
                ok: false,
                message: format!(
                    "stale: the loop last ran {secs:.1} s ago (limit {} s)",
                    limit / 1000
                ),
            }
        }
    }

    /// OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry);
        out
    }
}

/// The `state` label for a decision.
pub fn decision_state_name(d: &Decision) -> &'static str {
    match d {
        Decision::NotScheduled => "not_scheduled",
        Decision::Healthy { .. } => "healthy",
        Decision::Pending { .. } => "pending",
        Decision::Confirming { .. } => "confirming",
        Decision::Hold { .. } => "hold",
        Decision::Switch { .. } => "switch",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn text_has(m: &Metrics, s: &str) -> bool {
        m.encode().contains(s)
    }

    #[test]
    fn every_listed_name_is_exposed() {
        let m = Metrics::new();
        m.set_participation(Some(0.9));
        m.set_pending_age(Some(3.0));
        m.set_endpoint(
            &EndpointUrl::parse("http://127.0.0.1:1").unwrap(),
            true,
            Some(5),
        );
        m.set_readiness("backup", true);
        m.set_decision(&Decision::Hold {
            reason: crate::decision::HoldReason::Cooldown,
            detail: String::new(),
            trigger: None,
        });
        m.alert_delivery("slack", "sent");
        for e in [
            Event::MissedSlots {
                producer: "bp".into(),
                key: None,
                datacenter: None,
                count: 2,
                consecutive: 2,
                slots: vec![1, 2],
            },
            Event::FailoverTriggered {
                from: "primary".into(),
                to: "backup".into(),
                reason: "missed".into(),
                missed: 12,
                dry_run: false,
                forecast: None,
            },
            Event::KeyChangeConfirmed {
                key: crate::antelope::PublicKey::NULL,
                datacenter: "backup".into(),
                seconds_since_trigger: 40.0,
                predicted_seconds_since_trigger: None,
            },
            Event::TransactionFailed {
                id: None,
                reason: "x".into(),
                retrying: true,
            },
            Event::EndpointDisagrees {
                endpoint: "http://127.0.0.1:8888".into(),
                about: "producers_row".into(),
                detail: "x".into(),
            },
            Event::SetupInvalid {
                check: "resources".into(),
                detail: "x".into(),
                fix: "y".into(),
            },
        ] {
            m.on_event(&e);
        }
        assert!(
            text_has(&m, "bp_failover_setup_valid{check=\"resources\"} 0"),
            "a failing self-check is 0"
        );
        let text = m.encode();
        assert!(
            text.contains("bp_failover_hold_reason{reason=\"cooldown\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("bp_failover_decision_state{state=\"hold\"} 1"),
            "{text}"
        );
        for name in METRIC_NAMES {
            assert!(
                text.contains(&format!("# TYPE {}", name.trim_end_matches("_total"))),
                "{name} missing:\n{text}"
            );
        }
    }

    #[test]
    fn health_follows_the_clock() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let m = Metrics::with_clock(clock.clone(), Duration::from_secs(30));
        assert!(m.health().ok, "starting");
        clock.advance(31_000);
        assert!(!m.health().ok, "never ran");
        m.tick();
        assert!(m.health().ok);
        clock.advance(30_000);
        assert!(m.health().ok);
        clock.advance(1);
        let h = m.health();
        assert!(!h.ok && h.message.contains("stale"), "{h:?}");
    }
}
