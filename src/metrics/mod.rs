//! Prometheus metrics and the liveness/readiness the HTTP endpoints report.
//!
//! One [`Metrics`] (cheap to clone, shared) is updated by the daemon in two ways:
//! - [`Metrics::on_event`] with every [`Event`](crate::events::Event) it emits: counters (missed slots, switches,
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

mod events;
mod families;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::registry::Registry;

use crate::api::url::EndpointUrl;
use crate::clock::{Clock, SystemClock};
use crate::decision::Decision;
use crate::events::QuorumStatus;
use families::*;
pub use families::{DECISION_STATES, METRIC_NAMES, QUORUM_STATES};

/// `/healthz` limit without a `[metrics]` section (`healthz_max_age_secs`).
pub(crate) const DEFAULT_HEALTHZ_MAX_AGE_SECS: u64 = 30;

/// `[metrics]`, validated (built by the config; this layer does not import it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub listen: SocketAddr,
    /// `/healthz` answers 503 when the loop has not run for this long.
    pub healthz_max_age: Duration,
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
        let (r, m) = families::register();
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
    use crate::events::Event;

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
