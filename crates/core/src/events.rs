//! The event log: what the daemon tells the operator, one event per line.
//!
//! Event names are a public interface (documented in the README; alerts and dashboards
//! key off them): never rename one. With `--log-format json` each event is one JSON object
//! on stdout with `timestamp`, `level`, `event` and the event's fields; the text format
//! carries the same information for humans. Diagnostics from the libraries go to stderr.

use serde::{Serialize, Serializer};

use crate::decision::HoldReason;
pub use crate::observer::schedule::ConsensusMode;
use crate::quorum::QuorumState;
use antelope::{Checksum256, PublicKey};

/// The `state` of `quorum_changed` (and of `status --json`): whether the endpoints agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuorumStatus {
    Agreed,
    EndpointsDisagree,
    ObserverBlind,
}

impl QuorumStatus {
    pub const ALL: [QuorumStatus; 3] = [
        QuorumStatus::Agreed,
        QuorumStatus::EndpointsDisagree,
        QuorumStatus::ObserverBlind,
    ];

    /// The serialized name.
    pub const fn as_str(self) -> &'static str {
        match self {
            QuorumStatus::Agreed => "agreed",
            QuorumStatus::EndpointsDisagree => "endpoints_disagree",
            QuorumStatus::ObserverBlind => "observer_blind",
        }
    }

    pub fn of(state: &QuorumState) -> Self {
        match state {
            QuorumState::Agreed(_) => QuorumStatus::Agreed,
            QuorumState::Disagree { .. } => QuorumStatus::EndpointsDisagree,
            QuorumState::Blind { .. } => QuorumStatus::ObserverBlind,
        }
    }

    /// Why this state matters (alerts, drill).
    pub fn explain(self) -> &'static str {
        match self {
            QuorumStatus::Agreed => "The endpoints agree: the observer sees the chain.",
            QuorumStatus::EndpointsDisagree => {
                SuppressReason::Hold(HoldReason::EndpointsDisagree).explain()
            }
            QuorumStatus::ObserverBlind => {
                SuppressReason::Hold(HoldReason::ObserverBlind).explain()
            }
        }
    }
}

/// The `reason` of `failover_suppressed`: a hold of the decision, or a case the daemon
/// itself recognises after deciding. Serialized as the bare snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressReason {
    /// The decision held back a switch (the [`HoldReason`] names).
    Hold(HoldReason),
    /// The producers table already holds a configured data center's key that this
    /// observer did not push: another observer or an operator switched.
    AlreadySwitched,
    /// `run --dry-run` rehearsed the switch and does not repeat it during the cooldown.
    DryRunRehearsed,
}

impl SuppressReason {
    /// Every reason, for code that must cover them all.
    pub fn all() -> Vec<SuppressReason> {
        let mut v: Vec<SuppressReason> = HoldReason::ALL
            .into_iter()
            .map(SuppressReason::Hold)
            .collect();
        v.push(SuppressReason::AlreadySwitched);
        v.push(SuppressReason::DryRunRehearsed);
        v
    }

    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressReason::Hold(r) => r.as_str(),
            SuppressReason::AlreadySwitched => "already_switched",
            SuppressReason::DryRunRehearsed => "dry_run_rehearsed",
        }
    }

    /// Why holding matters and what to do: one sentence per reason, shared by the alerts
    /// and the drill report.
    pub fn explain(self) -> &'static str {
        use HoldReason as H;
        match self {
            SuppressReason::Hold(r) => match r {
                H::ObserverBlind => "The observer cannot see the chain through a majority of its endpoints, so it cannot tell an outage from its own blindness. If the producer is really down, fail over by hand.",
                H::EndpointsDisagree => "The endpoints report different chains or heads, so this observer may be on a fork and acting on one side could move production to the wrong chain. Check the endpoints; if the producer is really down, fail over by hand.",
                H::UnknownKey => "The producer's key on chain belongs to none of the configured data centers: someone else changed it, or the config is out of date. Nothing will be switched until a configured key is back in the active schedule.",
                H::ClockSkew => "This machine's clock and the chain's head time disagree (wrong clock, stale endpoints or a halted network): missed blocks are not evidence of our outage. Fix the clock (NTP) before trusting any automatic switch.",
                H::LibStalled => "Finality has stopped, so a key change would not take effect until it resumes. Switching now would not help.",
                H::LowParticipation => "Too few other producers are producing: the network is degraded or this observer is on a minority fork. A key switch would not restore production; watch the network.",
                H::InsufficientHistory => "The observer has not watched enough turns of the other producers to tell an outage from a handoff. It will decide once it has.",
                H::Cooldown => "A switch happened recently; switching again now could make data centers trade the key back and forth. If the new data center is down too, act by hand.",
                H::FlapBudget => "The daily limit of automatic switches is reached: something keeps failing. A human must look before any further switch.",
                H::NoReadyBackup => "No backup data center is ready to produce: switching to one would only move the outage. Fix a backup now.",
                H::PendingSchedule => "A key change is already on its way into the active schedule; a second one would race it. Wait for it.",
                H::PendingTransaction => "Our key-switch transaction may still be included; waiting for it or its expiry.",
            },
            SuppressReason::AlreadySwitched => "Another observer or an operator already changed the key to a configured data center: nothing to do but watch it reach the active schedule.",
            SuppressReason::DryRunRehearsed => "Dry run: the switch was rehearsed and nothing was pushed; it is not repeated during the cooldown.",
        }
    }
}

impl Serialize for SuppressReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for SuppressReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for QuorumStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// When a key change decided now takes effect (`decision::cadence`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// The block expected to propose the schedule with the new key (UTC).
    pub proposal_at: String,
    /// When the new key's schedule is expected in force (UTC), and in how many seconds.
    pub active_at: String,
    pub active_in_secs: f64,
    /// Our producer's slots the outage is expected to cost, from its first miss until the
    /// new key's schedule is in force.
    pub expected_lost_blocks: u32,
    /// Decided before the confirming turns were complete, so as to make this proposal.
    pub before_proposal: bool,
}

/// Every event the daemon and the one-shot commands emit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    ObserverStarted {
        producer: String,
        datacenters: Vec<String>,
        endpoints: usize,
        dry_run: bool,
        version: String,
    },
    ObserverStopped {
        reason: String,
    },
    /// The quorum view changed: agreed, disagree or blind (with the pool's sentence).
    QuorumChanged {
        state: QuorumStatus,
        detail: String,
    },
    EndpointUnhealthy {
        endpoint: String,
        reason: String,
    },
    EndpointRecovered {
        endpoint: String,
    },
    /// An agreeing endpoint's answer about chain state (`about`: producers row, schedule,
    /// ABI, …) differs from the majority's, or a block it served failed verification.
    EndpointDisagrees {
        endpoint: String,
        about: String,
        detail: String,
    },
    ConsensusMode {
        mode: ConsensusMode,
    },
    /// Slots of our producer that passed without a block.
    MissedSlots {
        producer: String,
        key: Option<PublicKey>,
        datacenter: Option<String>,
        count: u32,
        consecutive: u32,
        slots: Vec<u32>,
    },
    /// Once per 12-slot turn of our producer, and once per rotation for the network.
    RoundSummary {
        scheduled: String,
        produced: u32,
        missed: u32,
        participation: Option<f64>,
        solo_misses: u32,
        network_misses: u32,
        /// The chain's own counter where it keeps one (Telos `missed_blocks_per_rotation`),
        /// shown beside ours as a cross-check.
        onchain_missed_per_rotation: Option<u32>,
    },
    /// The primary is missing blocks but the threshold is not reached yet.
    PrimaryMissing {
        datacenter: String,
        detail: String,
    },
    DatacenterReadiness {
        datacenter: String,
        ready: bool,
        detail: String,
    },
    /// `dry_run`: the daemon runs with `--dry-run` and will not push.
    FailoverTriggered {
        from: String,
        to: String,
        reason: String,
        missed: u32,
        dry_run: bool,
        /// When the switch is expected to take effect and what the outage will cost;
        /// absent when the contract's schedule cadence is not known.
        #[serde(skip_serializing_if = "Option::is_none")]
        forecast: Option<Forecast>,
    },
    FailoverSuppressed {
        reason: SuppressReason,
        detail: String,
        missed: u32,
    },
    /// The threshold is reached; waiting for other producers' turns to confirm.
    FailoverConfirming {
        missed: u32,
        turns_seen: u32,
        turns_needed: u32,
    },
    DryRunTransaction {
        id: Checksum256,
        to: String,
        body: serde_json::Value,
        validation: String,
    },
    TransactionPushed {
        id: Checksum256,
        endpoint: String,
        latency_ms: u64,
        attempt: u32,
    },
    TransactionFailed {
        id: Option<Checksum256>,
        reason: String,
        retrying: bool,
    },
    /// `[msig]` mode: our approval of the incident's `eosio.msig` proposal is in (with the
    /// proposal itself if we made it, and the execution if ours was the k-th approval).
    MsigApproved {
        proposer: String,
        proposal: String,
        proposed: bool,
        executed: bool,
        approvals: usize,
        threshold: u32,
    },
    /// `[msig]` mode: a proposal under the incident's name is not the switch this observer
    /// would send (someone holding an observer key proposes something else); never approved.
    MsigProposalRejected {
        proposer: String,
        proposal: String,
        reason: String,
    },
    /// The producers table holds the new key (the switch is now on chain).
    KeyRegistered {
        key: PublicKey,
        datacenter: String,
        seconds_since_trigger: f64,
    },
    /// The active schedule carries the new key: the new data center is to sign our
    /// producer's next turn ([`Event::KeyProducing`] says when it did).
    KeyChangeConfirmed {
        key: PublicKey,
        datacenter: String,
        seconds_since_trigger: f64,
        /// What `failover_triggered`'s forecast said this would be.
        #[serde(skip_serializing_if = "Option::is_none")]
        predicted_seconds_since_trigger: Option<f64>,
    },
    /// Our producer's first block since the key change, signed with the new key (the key
    /// the schedule in force at its slot gives our producer): blocks now come from the new
    /// data center.
    KeyProducing {
        key: PublicKey,
        datacenter: String,
        block: u32,
        seconds_since_trigger: f64,
    },
    ScheduleActivated {
        version: u32,
        producers: usize,
        our_key: Option<PublicKey>,
        datacenter: Option<String>,
    },
    PendingOverdue {
        to: String,
        waited_secs: u64,
    },
    /// The old key is still producing after the schedule moved to the new one.
    StaleKeySigning {
        key: PublicKey,
        datacenter: Option<String>,
        block: u32,
    },
    /// The producer is not in the active schedule: nothing to judge.
    NotScheduled {
        producer: String,
    },
    /// The daemon's self-check found its setup unable to carry out a failover: `check` is
    /// `authority`, `registration`, `state_dir` or `resources`.
    SetupInvalid {
        check: String,
        detail: String,
        fix: String,
    },
    /// A self-check passes (at start, and when a failing one is fixed).
    SetupValid {
        check: String,
        detail: String,
    },
}

impl Event {
    /// Every event name, in the order of the README's event table.
    pub const NAMES: [&'static str; 28] = [
        "observer_started",
        "observer_stopped",
        "quorum_changed",
        "endpoint_unhealthy",
        "endpoint_recovered",
        "endpoint_disagrees",
        "consensus_mode",
        "missed_slots",
        "round_summary",
        "primary_missing",
        "datacenter_readiness",
        "failover_confirming",
        "failover_triggered",
        "failover_suppressed",
        "dry_run_transaction",
        "transaction_pushed",
        "transaction_failed",
        "msig_approved",
        "msig_proposal_rejected",
        "key_registered",
        "key_change_confirmed",
        "key_producing",
        "schedule_activated",
        "pending_overdue",
        "stale_key_signing",
        "not_scheduled",
        "setup_invalid",
        "setup_valid",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Event::ObserverStarted { .. } => "observer_started",
            Event::ObserverStopped { .. } => "observer_stopped",
            Event::QuorumChanged { .. } => "quorum_changed",
            Event::EndpointUnhealthy { .. } => "endpoint_unhealthy",
            Event::EndpointRecovered { .. } => "endpoint_recovered",
            Event::EndpointDisagrees { .. } => "endpoint_disagrees",
            Event::ConsensusMode { .. } => "consensus_mode",
            Event::MissedSlots { .. } => "missed_slots",
            Event::RoundSummary { .. } => "round_summary",
            Event::PrimaryMissing { .. } => "primary_missing",
            Event::DatacenterReadiness { .. } => "datacenter_readiness",
            Event::FailoverTriggered { .. } => "failover_triggered",
            Event::FailoverSuppressed { .. } => "failover_suppressed",
            Event::FailoverConfirming { .. } => "failover_confirming",
            Event::DryRunTransaction { .. } => "dry_run_transaction",
            Event::TransactionPushed { .. } => "transaction_pushed",
            Event::TransactionFailed { .. } => "transaction_failed",
            Event::MsigApproved { .. } => "msig_approved",
            Event::MsigProposalRejected { .. } => "msig_proposal_rejected",
            Event::KeyRegistered { .. } => "key_registered",
            Event::KeyChangeConfirmed { .. } => "key_change_confirmed",
            Event::KeyProducing { .. } => "key_producing",
            Event::ScheduleActivated { .. } => "schedule_activated",
            Event::PendingOverdue { .. } => "pending_overdue",
            Event::StaleKeySigning { .. } => "stale_key_signing",
            Event::NotScheduled { .. } => "not_scheduled",
            Event::SetupInvalid { .. } => "setup_invalid",
            Event::SetupValid { .. } => "setup_valid",
        }
    }

    pub fn level(&self) -> Level {
        match self {
            Event::MissedSlots { .. } | Event::RoundSummary { .. } => Level::Debug,
            Event::FailoverSuppressed {
                reason: SuppressReason::AlreadySwitched | SuppressReason::DryRunRehearsed,
                ..
            }
            | Event::FailoverTriggered { dry_run: true, .. } => Level::Info,
            Event::EndpointUnhealthy { .. }
            | Event::EndpointDisagrees { .. }
            | Event::PrimaryMissing { .. }
            | Event::FailoverSuppressed { .. }
            | Event::NotScheduled { .. } => Level::Warn,
            Event::DatacenterReadiness { ready: false, .. } => Level::Warn,
            Event::QuorumChanged { state, .. } if *state != QuorumStatus::Agreed => Level::Warn,
            Event::FailoverTriggered { .. }
            | Event::TransactionFailed { .. }
            | Event::PendingOverdue { .. }
            | Event::StaleKeySigning { .. }
            | Event::MsigProposalRejected { .. }
            | Event::SetupInvalid { .. } => Level::Error,
            _ => Level::Info,
        }
    }

    /// One line for humans.
    pub fn text(&self) -> String {
        let fields = serde_json::to_value(self).unwrap_or_default();
        let mut parts = Vec::new();
        if let Some(obj) = fields.as_object() {
            for (k, v) in obj {
                if k == "event" || k == "body" {
                    continue;
                }
                let shown = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                parts.push(format!("{k}={shown}"));
            }
        }
        format!("{} {}", self.name(), parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_serialized_tag() {
        let e = Event::KeyChangeConfirmed {
            key: PublicKey::NULL,
            datacenter: "backup".into(),
            seconds_since_trigger: 40.5,
            predicted_seconds_since_trigger: None,
        };
        assert_eq!(serde_json::to_value(&e).unwrap()["event"], e.name());
        assert!(e.text().starts_with("key_change_confirmed "));
    }

    /// One of each variant: a new event fails to compile here until it is listed.
    fn one_of_each() -> Vec<Event> {
        let k = PublicKey::NULL;
        let id = Checksum256([0; 32]);
        let s = String::new;
        let all = vec![
            Event::ObserverStarted {
                producer: s(),
                datacenters: vec![],
                endpoints: 1,
                dry_run: false,
                version: s(),
            },
            Event::ObserverStopped { reason: s() },
            Event::QuorumChanged {
                state: QuorumStatus::Agreed,
                detail: s(),
            },
            Event::EndpointUnhealthy {
                endpoint: s(),
                reason: s(),
            },
            Event::EndpointRecovered { endpoint: s() },
            Event::EndpointDisagrees {
                endpoint: s(),
                about: s(),
                detail: s(),
            },
            Event::ConsensusMode {
                mode: ConsensusMode::Savanna,
            },
            Event::MissedSlots {
                producer: s(),
                key: None,
                datacenter: None,
                count: 1,
                consecutive: 1,
                slots: vec![],
            },
            Event::RoundSummary {
                scheduled: s(),
                produced: 0,
                missed: 0,
                participation: None,
                solo_misses: 0,
                network_misses: 0,
                onchain_missed_per_rotation: None,
            },
            Event::PrimaryMissing {
                datacenter: s(),
                detail: s(),
            },
            Event::DatacenterReadiness {
                datacenter: s(),
                ready: true,
                detail: s(),
            },
            Event::FailoverConfirming {
                missed: 0,
                turns_seen: 0,
                turns_needed: 0,
            },
            Event::FailoverTriggered {
                from: s(),
                to: s(),
                reason: s(),
                missed: 0,
                dry_run: false,
                forecast: None,
            },
            Event::FailoverSuppressed {
                reason: SuppressReason::AlreadySwitched,
                detail: s(),
                missed: 0,
            },
            Event::DryRunTransaction {
                id,
                to: s(),
                body: serde_json::Value::Null,
                validation: s(),
            },
            Event::TransactionPushed {
                id,
                endpoint: s(),
                latency_ms: 0,
                attempt: 1,
            },
            Event::TransactionFailed {
                id: None,
                reason: s(),
                retrying: false,
            },
            Event::MsigApproved {
                proposer: s(),
                proposal: s(),
                proposed: true,
                executed: false,
                approvals: 1,
                threshold: 2,
            },
            Event::MsigProposalRejected {
                proposer: s(),
                proposal: s(),
                reason: s(),
            },
            Event::KeyRegistered {
                key: k,
                datacenter: s(),
                seconds_since_trigger: 0.0,
            },
            Event::KeyChangeConfirmed {
                key: k,
                datacenter: s(),
                seconds_since_trigger: 0.0,
                predicted_seconds_since_trigger: None,
            },
            Event::KeyProducing {
                key: k,
                datacenter: s(),
                block: 0,
                seconds_since_trigger: 0.0,
            },
            Event::ScheduleActivated {
                version: 1,
                producers: 1,
                our_key: None,
                datacenter: None,
            },
            Event::PendingOverdue {
                to: s(),
                waited_secs: 0,
            },
            Event::StaleKeySigning {
                key: k,
                datacenter: None,
                block: 0,
            },
            Event::NotScheduled { producer: s() },
            Event::SetupInvalid {
                check: s(),
                detail: s(),
                fix: s(),
            },
            Event::SetupValid {
                check: s(),
                detail: s(),
            },
        ];
        for e in &all {
            // Exhaustive: adding a variant breaks this match.
            match e {
                Event::ObserverStarted { .. }
                | Event::ObserverStopped { .. }
                | Event::QuorumChanged { .. }
                | Event::EndpointUnhealthy { .. }
                | Event::EndpointRecovered { .. }
                | Event::ConsensusMode { .. }
                | Event::MissedSlots { .. }
                | Event::RoundSummary { .. }
                | Event::PrimaryMissing { .. }
                | Event::DatacenterReadiness { .. }
                | Event::FailoverConfirming { .. }
                | Event::FailoverTriggered { .. }
                | Event::FailoverSuppressed { .. }
                | Event::DryRunTransaction { .. }
                | Event::TransactionPushed { .. }
                | Event::TransactionFailed { .. }
                | Event::MsigApproved { .. }
                | Event::MsigProposalRejected { .. }
                | Event::KeyRegistered { .. }
                | Event::KeyChangeConfirmed { .. }
                | Event::KeyProducing { .. }
                | Event::ScheduleActivated { .. }
                | Event::PendingOverdue { .. }
                | Event::StaleKeySigning { .. }
                | Event::NotScheduled { .. }
                | Event::EndpointDisagrees { .. }
                | Event::SetupInvalid { .. }
                | Event::SetupValid { .. } => {}
            }
        }
        all
    }

    #[test]
    fn names_lists_every_event_once_in_its_serialized_form() {
        let all = one_of_each();
        let names: Vec<&str> = all.iter().map(Event::name).collect();
        assert_eq!(names, Event::NAMES);
        for e in &all {
            assert_eq!(serde_json::to_value(e).unwrap()["event"], e.name());
        }
    }

    #[test]
    fn typed_payloads_serialize_to_the_documented_words() {
        let q = Event::QuorumChanged {
            state: QuorumStatus::ObserverBlind,
            detail: String::new(),
        };
        assert_eq!(serde_json::to_value(&q).unwrap()["state"], "observer_blind");
        for s in QuorumStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for r in SuppressReason::all() {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert_eq!(
            serde_json::to_value(SuppressReason::Hold(HoldReason::UnknownKey)).unwrap(),
            "unknown_key"
        );
        let m = Event::ConsensusMode {
            mode: ConsensusMode::Legacy,
        };
        assert_eq!(serde_json::to_value(&m).unwrap()["mode"], "legacy");
    }
}
