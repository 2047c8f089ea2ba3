//! Which events raise, update or resolve which alert conditions. Pure.
//!
//! A *condition* is a named situation that is either active or not (`quorum`,
//! `datacenter_readiness:backup`, `failover`, …). Two kinds:
//! - **state** conditions are cleared by an event (`quorum_changed` back to `agreed`,
//!   `datacenter_readiness` with `ready = true`, `key_change_confirmed`);
//! - **pulse** conditions are reported again and again while they last and have no event
//!   that clears them (`primary_missing`, `failover_suppressed`, `stale_key_signing`,
//!   `pending_overdue`): they resolve after `alerts.resolve_quiet_secs` without a new
//!   report, or earlier when an event shows they are over (our producer's turn with no
//!   miss, a failover).
//!
//! Notices (`daemon_started`, `daemon_stopped`, `dry_run`, …) are one-off messages with no
//! state.

use super::Severity;
use crate::events::Event;

/// What an event does to one condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The condition is active. Sent when it was not; sent again as an update when the
    /// summary or severity changed; otherwise only refreshes it (no message).
    Raise {
        severity: Severity,
        summary: String,
        detail: String,
        /// Reported repeatedly while it lasts (see the module doc).
        pulse: bool,
    },
    /// The condition is over. Sent only if it was active.
    Resolve { note: String },
    /// Resolves the condition with this text if it is active; otherwise sends it as a
    /// notice (e.g. a key change confirmed that another observer triggered).
    ResolveOrNotice {
        severity: Severity,
        summary: String,
        detail: String,
    },
    /// A one-off message.
    Notice {
        severity: Severity,
        summary: String,
        detail: String,
    },
}

/// One action on one condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub condition: String,
    pub action: Action,
}

fn raise(
    condition: impl Into<String>,
    severity: Severity,
    summary: String,
    detail: String,
    pulse: bool,
) -> Mapped {
    Mapped {
        condition: condition.into(),
        action: Action::Raise {
            severity,
            summary,
            detail,
            pulse,
        },
    }
}

fn resolve(condition: impl Into<String>, note: impl Into<String>) -> Mapped {
    Mapped {
        condition: condition.into(),
        action: Action::Resolve { note: note.into() },
    }
}

fn notice(condition: &str, severity: Severity, summary: String, detail: String) -> Mapped {
    Mapped {
        condition: condition.into(),
        action: Action::Notice {
            severity,
            summary,
            detail,
        },
    }
}

/// Why a suppressed failover matters, per `failover_suppressed` reason (the
/// [`crate::decision::HoldReason`] names).
pub fn why_suppressed(reason: &str) -> &'static str {
    match reason {
        "observer_blind" => "The observer cannot see the chain through a majority of its endpoints, so it cannot confirm the outage. If the producer is really down, fail over by hand.",
        "endpoints_disagree" => "The endpoints report different chains or heads, so this observer may be on a fork. Check the endpoints; if the producer is really down, fail over by hand.",
        "unknown_key" => "The producer's key on chain belongs to none of the configured data centers: someone else changed it, or the config is out of date. Nothing will be switched until that is fixed.",
        "clock_skew" => "This machine's clock and the chain's head time disagree (wrong clock or halted network). Fix the clock (NTP) before trusting any automatic switch.",
        "lib_stalled" => "Finality has stopped, so a key change would not take effect until it resumes. Switching now would not help.",
        "low_participation" => "Too few other producers are producing: the network is degraded or this observer is on a minority fork. A key switch would not restore production; watch the network.",
        "insufficient_history" => "The observer has not watched long enough to tell an outage from a handoff. It will decide once it has.",
        "cooldown" => "A switch happened recently; switching again now could flap between data centers. If the new data center is down too, act by hand.",
        "flap_budget" => "The daily limit of automatic switches is reached: something keeps failing. A human must look before any further switch.",
        "no_ready_backup" => "No backup data center is ready to produce: switching to one would not restore production. Fix a backup now.",
        "pending_schedule" => "A key change is already on its way into the active schedule; wait for it.",
        "pending_transaction" => "Our key-switch transaction may still be included; waiting for it or its expiry.",
        _ => "The producer is missing blocks and this observer is not switching: a human should look.",
    }
}

/// The conditions an event touches, in order. `producer` is our producer account (to
/// recognise its own `round_summary`).
pub fn map_event(event: &Event, producer: &str) -> Vec<Mapped> {
    use Severity::{Critical, Info, Warning};
    match event {
        Event::ObserverStarted {
            producer,
            datacenters,
            endpoints,
            dry_run,
            version,
        } => vec![notice(
            "daemon_started",
            Info,
            format!(
                "bp-failover {version} started watching {producer}{}",
                if *dry_run { " (dry run: it will not push)" } else { "" }
            ),
            format!(
                "data centers in failover order: {}; {endpoints} chain endpoint(s)",
                datacenters.join(", ")
            ),
        )],
        Event::ObserverStopped { reason } => vec![notice(
            "daemon_stopped",
            Info,
            format!("bp-failover stopped: {reason}"),
            "No automatic failover happens until it runs again.".into(),
        )],
        Event::QuorumChanged { state, detail } if state == "agreed" => {
            vec![resolve("quorum", "the endpoints agree again; the observer sees the chain")]
        }
        Event::QuorumChanged { state, detail } => {
            let (severity, summary) = match state.as_str() {
                "blind" => (
                    Critical,
                    "observer is blind: a majority of its chain endpoints cannot be used".to_string(),
                ),
                "disagree" => (Warning, "chain endpoints disagree".to_string()),
                other => (Warning, format!("endpoint quorum is {other}")),
            };
            vec![raise(
                "quorum",
                severity,
                summary,
                format!("{detail}. While this lasts no automatic failover can happen: the observer cannot tell an outage from its own view being wrong."),
                false,
            )]
        }
        Event::EndpointUnhealthy { endpoint, reason } => vec![raise(
            format!("endpoint:{endpoint}"),
            Info,
            format!("endpoint {endpoint} is unhealthy"),
            reason.clone(),
            false,
        )],
        Event::EndpointRecovered { endpoint } => {
            vec![resolve(format!("endpoint:{endpoint}"), "the endpoint is healthy again")]
        }
        Event::PrimaryMissing { datacenter, detail } => vec![raise(
            "primary_missing",
            Warning,
            format!("{datacenter} is missing blocks (failover threshold not reached yet)"),
            detail.clone(),
            true,
        )],
        Event::RoundSummary {
            scheduled, missed, ..
        } if scheduled == producer && *missed == 0 => vec![
            resolve("primary_missing", "our producer produced a full turn again"),
            resolve("failover_suppressed", "our producer produced a full turn again"),
        ],
        Event::DatacenterReadiness {
            datacenter,
            ready: true,
            ..
        } => vec![resolve(
            format!("datacenter_readiness:{datacenter}"),
            format!("data center {datacenter} is ready again"),
        )],
        Event::DatacenterReadiness {
            datacenter,
            ready: false,
            detail,
        } => vec![raise(
            format!("datacenter_readiness:{datacenter}"),
            Warning,
            format!("data center {datacenter} is not ready to produce"),
            format!("{detail}. A failover to it would not restore production: fix it before it is needed."),
            false,
        )],
        Event::FailoverTriggered {
            from,
            to,
            reason,
            missed,
            forecast,
        } => vec![
            raise(
                "failover",
                Critical,
                format!("failover triggered: {from} -> {to}"),
                format!(
                    "{reason} ({missed} missed blocks). Watching for the new key to reach the active schedule{}.",
                    forecast.as_ref().map_or(String::new(), |f| format!(
                        ", expected at {} UTC (in {:.0} s), with {} of our blocks lost in all",
                        f.active_at, f.active_in_secs, f.expected_lost_blocks
                    ))
                ),
                false,
            ),
            resolve("primary_missing", format!("superseded by the failover to {to}")),
            resolve("failover_suppressed", format!("superseded by the failover to {to}")),
        ],
        Event::FailoverSuppressed {
            reason,
            detail,
            missed,
        } => vec![raise(
            "failover_suppressed",
            Critical,
            format!("failover suppressed: {reason}"),
            format!("{detail} ({missed} missed blocks). {}", why_suppressed(reason)),
            true,
        )],
        Event::DryRunTransaction { to, .. } => vec![notice(
            "dry_run",
            Warning,
            format!("dry run: would switch the key to {to}"),
            "Nothing was pushed (dry run). The producer is still on the failing key.".into(),
        )],
        Event::TransactionFailed {
            reason,
            retrying: false,
            ..
        } => vec![
            raise(
                "failover_failed",
                Critical,
                "failover FAILED: the key-switch transaction was not accepted".into(),
                format!("{reason}. The producer is still on the failing key: switch it by hand (bp-failover tx regproducer)."),
                false,
            ),
            resolve("failover", "the key-switch transaction failed (see failover_failed)"),
        ],
        Event::KeyRegistered { datacenter, .. } => vec![
            resolve("failover_failed", format!("the producers table now holds {datacenter}'s key")),
            notice(
                "key_registered",
                Info,
                format!("producers table now holds {datacenter}'s key"),
                "Waiting for it to enter the active schedule.".into(),
            ),
        ],
        Event::KeyChangeConfirmed {
            key,
            datacenter,
            seconds_since_trigger,
            predicted_seconds_since_trigger,
        } => vec![
            Mapped {
                condition: "failover".into(),
                action: Action::ResolveOrNotice {
                    severity: Warning,
                    summary: format!("key change confirmed: blocks now come from {datacenter}"),
                    detail: format!(
                        "{key} is in the active schedule, {seconds_since_trigger:.0} s after the trigger{}.",
                        predicted_seconds_since_trigger.map_or(String::new(), |p| format!(" (forecast: {p:.0} s)"))
                    ),
                },
            },
            resolve("failover_failed", format!("blocks now come from {datacenter}")),
            resolve("pending_overdue", format!("blocks now come from {datacenter}")),
        ],
        Event::ScheduleActivated {
            our_key: Some(_), ..
        } => vec![resolve("not_scheduled", "our producer is in the active schedule again")],
        Event::PendingOverdue { to, waited_secs } => vec![raise(
            "pending_overdue",
            Critical,
            format!("key change to {to} is overdue"),
            format!("Waited {waited_secs} s and the new key is still not in the active schedule: check finality (LIB) and the producers table."),
            true,
        )],
        Event::StaleKeySigning {
            key,
            datacenter,
            block,
        } => vec![raise(
            "stale_key_signing",
            Critical,
            format!(
                "old key still signing after the switch{}",
                datacenter.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
            ),
            format!("Block {block} was signed with {key}. The old data center's node is still producing: stop it there before any failback, or two nodes may produce with one key."),
            true,
        )],
        Event::NotScheduled { producer } => vec![raise(
            "not_scheduled",
            Warning,
            format!("{producer} is not in the active schedule"),
            "There are no slots to watch until it is scheduled again.".into(),
            false,
        )],
        Event::ConsensusMode { .. }
        | Event::MissedSlots { .. }
        | Event::RoundSummary { .. }
        | Event::FailoverConfirming { .. }
        | Event::TransactionPushed { .. }
        | Event::TransactionFailed { .. }
        | Event::ScheduleActivated { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_raises_and_resolves() {
        let blind = map_event(
            &Event::QuorumChanged {
                state: "blind".into(),
                detail: "1/3 usable".into(),
            },
            "bp",
        );
        assert_eq!(blind.len(), 1);
        assert_eq!(blind[0].condition, "quorum");
        assert!(matches!(
            blind[0].action,
            Action::Raise {
                severity: Severity::Critical,
                ..
            }
        ));
        let agreed = map_event(
            &Event::QuorumChanged {
                state: "agreed".into(),
                detail: String::new(),
            },
            "bp",
        );
        assert!(matches!(agreed[0].action, Action::Resolve { .. }));
    }

    #[test]
    fn every_hold_reason_has_its_own_sentence() {
        let fallback = why_suppressed("?");
        for r in crate::decision::HoldReason::ALL {
            assert_ne!(why_suppressed(r.as_str()), fallback, "{}", r.as_str());
        }
    }

    #[test]
    fn only_a_final_transaction_failure_alerts() {
        let retrying = Event::TransactionFailed {
            id: None,
            reason: "timeout".into(),
            retrying: true,
        };
        assert!(map_event(&retrying, "bp").is_empty());
        let last = Event::TransactionFailed {
            id: None,
            reason: "missing authority".into(),
            retrying: false,
        };
        assert_eq!(map_event(&last, "bp")[0].condition, "failover_failed");
    }

    #[test]
    fn our_clean_turn_clears_primary_missing_but_anothers_does_not() {
        let ours = Event::RoundSummary {
            scheduled: "bp".into(),
            produced: 12,
            missed: 0,
            participation: Some(1.0),
            solo_misses: 0,
            network_misses: 0,
            onchain_missed_per_rotation: None,
        };
        assert_eq!(map_event(&ours, "bp").len(), 2);
        assert!(map_event(&ours, "other").is_empty());
    }
}
