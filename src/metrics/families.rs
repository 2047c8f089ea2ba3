//! The metric families: their names, labels and help texts, registered once per
//! [`super::Metrics`].

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::events::QuorumStatus;

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

pub(super) type FGauge = Gauge<f64, AtomicU64>;

/// Sets a one-hot gauge family: every known state 0, then `on` (if any) 1.
pub(super) fn one_hot(family: &Family<StateLabel, Gauge>, states: &[&str], on: Option<&str>) {
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
pub(super) struct MissedLabels {
    pub(super) producer: String,
    pub(super) key: String,
    pub(super) datacenter: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct EndpointLabel {
    pub(super) endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct StateLabel {
    pub(super) state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ReasonLabel {
    pub(super) reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct DatacenterLabel {
    pub(super) datacenter: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct SwitchLabels {
    pub(super) from: String,
    pub(super) to: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct EventLabel {
    pub(super) event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct RetryingLabel {
    pub(super) retrying: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct DeliveryLabels {
    pub(super) channel: String,
    pub(super) outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct BuildLabels {
    pub(super) version: String,
    pub(super) commit: String,
}

/// A family with no labels, used for gauges that are absent while unknown.
pub(super) type Optional = Family<Vec<(String, String)>, FGauge>;

pub(super) fn latency_histogram() -> Histogram {
    Histogram::new([0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
}

pub(super) struct Handles {
    pub(super) missed_slots: Family<MissedLabels, Counter>,
    pub(super) consecutive_missed: Gauge,
    pub(super) participation: Optional,
    pub(super) lib_lag: Gauge,
    pub(super) endpoint_up: Family<EndpointLabel, Gauge>,
    pub(super) endpoint_disagreements: Family<EndpointLabel, Counter>,
    pub(super) endpoint_latency: Family<EndpointLabel, FGauge>,
    pub(super) endpoint_duration: Family<EndpointLabel, Histogram, fn() -> Histogram>,
    pub(super) decision_state: Family<StateLabel, Gauge>,
    pub(super) hold_reason: Family<ReasonLabel, Gauge>,
    pub(super) quorum_state: Family<StateLabel, Gauge>,
    pub(super) switches: Family<SwitchLabels, Counter>,
    pub(super) switches_confirmed: Family<DatacenterLabel, Counter>,
    pub(super) pending_age: Optional,
    pub(super) last_push_latency: FGauge,
    pub(super) pushed: Counter,
    pub(super) failed: Family<RetryingLabel, Counter>,
    pub(super) ready: Family<DatacenterLabel, Gauge>,
    pub(super) events: Family<EventLabel, Counter>,
    pub(super) loop_last_run: FGauge,
    pub(super) observer_ready: Gauge,
    pub(super) alerts_active: Gauge,
    pub(super) deliveries: Family<DeliveryLabels, Counter>,
    pub(super) setup_valid: Family<CheckLabel, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct CheckLabel {
    pub(super) check: String,
}

/// A registry (prefix `bp_failover`) with every family of [`METRIC_NAMES`], and the
/// handles that update them.
pub(super) fn register() -> (Registry, Handles) {
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
    (r, m)
}
