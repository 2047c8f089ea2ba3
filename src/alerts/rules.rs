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
use crate::decision::HoldReason;
use crate::events::{Event, QuorumStatus, SuppressReason};

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

/// The condition of a failover rehearsed by `run --dry-run`.
pub const DRY_RUN_FAILOVER: &str = "dry_run_failover";

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
        Event::QuorumChanged { state, detail } => {
            let (severity, summary) = match state {
                QuorumStatus::Agreed => {
                    return vec![resolve(
                        "quorum",
                        "the endpoints agree again; the observer sees the chain",
                    )]
                }
                QuorumStatus::ObserverBlind => (
                    Critical,
                    "observer is blind: a majority of its chain endpoints cannot be used",
                ),
                QuorumStatus::EndpointsDisagree => (Warning, "chain endpoints disagree"),
            };
            vec![raise(
                "quorum",
                severity,
                summary.to_string(),
                format!(
                    "{detail}. While this lasts no automatic failover can happen. {}",
                    state.explain()
                ),
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
        Event::EndpointDisagrees {
            endpoint,
            about,
            detail,
        } => vec![raise(
            format!("endpoint:{endpoint}"),
            Warning,
            format!("endpoint {endpoint} disagrees with the majority about {about}"),
            format!("{detail}. Its answers are outvoted; check whether it is lying, forked or broken."),
            false,
        )],
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
            resolve(DRY_RUN_FAILOVER, "[DRY RUN] our producer produced a full turn again"),
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
            dry_run: true,
            ..
        } => vec![raise(
            DRY_RUN_FAILOVER,
            Warning,
            format!("[DRY RUN] failover would be triggered: {from} -> {to}"),
            format!("{reason} ({missed} missed blocks). Dry run: nothing is pushed; the producer stays on the failing key. Resolves on a full turn of ours or after quiet time."),
            true,
        )],
        Event::FailoverTriggered {
            from,
            to,
            reason,
            missed,
            dry_run: false,
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
            reason: SuppressReason::AlreadySwitched,
            detail,
            ..
        } => vec![
            notice(
                "already_switched",
                Info,
                "key already switched by another observer or an operator".into(),
                format!("{detail}. {}", SuppressReason::AlreadySwitched.explain()),
            ),
            resolve("primary_missing", "the key was switched by someone else"),
            resolve("failover_suppressed", "the key was switched by someone else"),
        ],
        // The rehearsal is already reported by the dry-run failover alert.
        Event::FailoverSuppressed {
            reason: SuppressReason::DryRunRehearsed,
            ..
        } => Vec::new(),
        // Not a pulse: it lasts until a configured key is back in the active schedule,
        // whatever our producer does meanwhile under the foreign key.
        Event::FailoverSuppressed {
            reason: reason @ SuppressReason::Hold(HoldReason::UnknownKey),
            detail,
            missed,
        } => vec![raise(
            "unknown_key",
            Critical,
            if *missed > 0 {
                format!("producer key unknown to this observer; {missed} blocks missed under it")
            } else {
                "producer key unknown to this observer".to_string()
            },
            format!("{detail}. {}", reason.explain()),
            false,
        )],
        Event::FailoverSuppressed {
            reason,
            detail,
            missed,
        } => vec![raise(
            "failover_suppressed",
            Critical,
            format!("failover suppressed: {reason}"),
            format!("{detail} ({missed} missed blocks). {}", reason.explain()),
            true,
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
                    summary: format!("key change confirmed: {datacenter}'s key is in the active schedule"),
                    detail: format!(
                        "{key} is in the active schedule, {seconds_since_trigger:.0} s after the trigger{}. {datacenter} is to sign our producer's next turn: a notice follows when its first block is seen.",
                        predicted_seconds_since_trigger.map_or(String::new(), |p| format!(" (forecast: {p:.0} s)"))
                    ),
                },
            },
            resolve("failover_failed", format!("{datacenter}'s key is in the active schedule")),
            resolve("pending_overdue", format!("{datacenter}'s key is in the active schedule")),
            resolve("unknown_key", format!("the active schedule carries {datacenter}'s key")),
        ],
        Event::KeyProducing {
            datacenter,
            block,
            seconds_since_trigger,
            ..
        } => vec![notice(
            "key_producing",
            Info,
            format!("blocks now come from {datacenter}"),
            format!("block {block} is our producer's first signed with {datacenter}'s key, {seconds_since_trigger:.0} s after the trigger."),
        )],
        Event::ScheduleActivated {
            our_key: Some(_),
            datacenter,
            ..
        } => {
            let mut v = vec![resolve(
                "not_scheduled",
                "our producer is in the active schedule again",
            )];
            if let Some(dc) = datacenter {
                v.push(resolve(
                    "unknown_key",
                    format!("the active schedule carries {dc}'s key again"),
                ));
            }
            v
        }
        Event::PendingOverdue { to, waited_secs } => vec![raise(
            "pending_overdue",
            Critical,
            format!("key change to {to} is overdue"),
            format!("Waited {waited_secs} s and the new key is still not in the active schedule: check finality (LIB) and the producers table."),
            true,
        )],
        Event::MsigProposalRejected {
            proposer,
            proposal,
            reason,
        } => vec![raise(
            "msig_proposal_rejected",
            Critical,
            format!("foreign eosio.msig proposal {proposer}/{proposal}: someone holding {proposer}'s observer key proposes a different key switch"),
            format!("It is not the switch this observer would send: {reason}. It is never approved. Rotate {proposer}'s observer key and cancel the proposal (cleos multisig cancel {proposer} {proposal} {proposer})."),
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
        Event::SetupInvalid { check, detail, fix } => vec![raise(
            format!("setup:{check}"),
            Critical,
            format!("setup invalid: the {check} self-check fails"),
            format!("{detail}. Fix: {fix}. Until this is fixed a failover may fail when it is needed."),
            false,
        )],
        Event::SetupValid { check, .. } => vec![resolve(
            format!("setup:{check}"),
            format!("the {check} self-check passes again"),
        )],
        Event::ConsensusMode { .. }
        | Event::MissedSlots { .. }
        | Event::RoundSummary { .. }
        | Event::FailoverConfirming { .. }
        | Event::TransactionPushed { .. }
        | Event::MsigApproved { .. }
        | Event::TransactionFailed { .. }
        | Event::DryRunTransaction { .. }
        | Event::ScheduleActivated { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn severity(m: &Mapped) -> Option<Severity> {
        match &m.action {
            Action::Raise { severity, .. }
            | Action::Notice { severity, .. }
            | Action::ResolveOrNotice { severity, .. } => Some(*severity),
            Action::Resolve { .. } => None,
        }
    }

    #[test]
    fn blind_is_critical_disagree_a_warning_agreed_resolves() {
        let q = |state| {
            map_event(
                &Event::QuorumChanged {
                    state,
                    detail: "1/3 usable".into(),
                },
                "bp",
            )
        };
        let blind = q(QuorumStatus::ObserverBlind);
        assert_eq!(blind.len(), 1);
        assert_eq!(blind[0].condition, "quorum");
        assert_eq!(severity(&blind[0]), Some(Severity::Critical));
        assert_eq!(
            severity(&q(QuorumStatus::EndpointsDisagree)[0]),
            Some(Severity::Warning)
        );
        assert!(matches!(
            q(QuorumStatus::Agreed)[0].action,
            Action::Resolve { .. }
        ));
    }

    #[test]
    fn blocks_are_said_to_come_from_the_backup_only_on_its_first_block() {
        let key = crate::antelope::PublicKey::NULL;
        let text = |m: &[Mapped]| -> String {
            m.iter()
                .filter_map(|m| match &m.action {
                    Action::Raise {
                        summary, detail, ..
                    }
                    | Action::Notice {
                        summary, detail, ..
                    }
                    | Action::ResolveOrNotice {
                        summary, detail, ..
                    } => Some(format!("{summary} {detail}")),
                    Action::Resolve { .. } => None,
                })
                .collect()
        };
        let confirmed = map_event(
            &Event::KeyChangeConfirmed {
                key,
                datacenter: "backup".into(),
                seconds_since_trigger: 12.5,
                predicted_seconds_since_trigger: None,
            },
            "bp",
        );
        assert!(
            !text(&confirmed).to_lowercase().contains("come from"),
            "{}",
            text(&confirmed)
        );
        let producing = map_event(
            &Event::KeyProducing {
                key,
                datacenter: "backup".into(),
                block: 42,
                seconds_since_trigger: 120.0,
            },
            "bp",
        );
        assert_eq!(producing.len(), 1);
        assert_eq!(severity(&producing[0]), Some(Severity::Info));
        let t = text(&producing);
        assert!(
            t.contains("blocks now come from backup") && t.contains("block 42"),
            "{t}"
        );
    }

    #[test]
    fn every_suppress_reason_has_its_own_sentence() {
        let all = SuppressReason::all();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.explain(), b.explain(), "{a} / {b}");
                assert_ne!(a.as_str(), b.as_str());
            }
        }
    }

    fn suppressed(reason: SuppressReason) -> Vec<Mapped> {
        map_event(
            &Event::FailoverSuppressed {
                reason,
                detail: "d".into(),
                missed: 12,
            },
            "bp",
        )
    }

    #[test]
    fn losing_the_race_is_info_and_ends_the_missing_alerts() {
        let m = suppressed(SuppressReason::AlreadySwitched);
        assert_eq!(severity(&m[0]), Some(Severity::Info));
        assert!(m.iter().all(|m| severity(m) != Some(Severity::Critical)));
        assert!(m
            .iter()
            .any(|m| m.condition == "failover_suppressed"
                && matches!(m.action, Action::Resolve { .. })));
    }

    #[test]
    fn a_real_hold_is_a_critical_pulse() {
        let m = suppressed(SuppressReason::Hold(HoldReason::LowParticipation));
        assert!(matches!(
            m[0].action,
            Action::Raise {
                severity: Severity::Critical,
                pulse: true,
                ..
            }
        ));
    }

    #[test]
    fn unknown_key_lasts_until_a_configured_key_is_active() {
        let m = suppressed(SuppressReason::Hold(HoldReason::UnknownKey));
        assert_eq!(m[0].condition, "unknown_key");
        assert!(matches!(m[0].action, Action::Raise { pulse: false, .. }));
        let clean = Event::RoundSummary {
            scheduled: "bp".into(),
            produced: 12,
            missed: 0,
            participation: Some(1.0),
            solo_misses: 0,
            network_misses: 0,
            onchain_missed_per_rotation: None,
        };
        assert!(map_event(&clean, "bp")
            .iter()
            .all(|m| m.condition != "unknown_key"));
        let foreign = Event::ScheduleActivated {
            version: 3,
            producers: 21,
            our_key: Some(crate::antelope::PublicKey::NULL),
            datacenter: None,
        };
        assert!(map_event(&foreign, "bp")
            .iter()
            .all(|m| m.condition != "unknown_key"));
        let ours = Event::ScheduleActivated {
            version: 4,
            producers: 21,
            our_key: Some(crate::antelope::PublicKey::NULL),
            datacenter: Some("primary".into()),
        };
        assert!(map_event(&ours, "bp")
            .iter()
            .any(|m| m.condition == "unknown_key" && matches!(m.action, Action::Resolve { .. })));
    }

    #[test]
    fn a_dry_run_trigger_is_marked_not_critical_and_resolves_on_a_clean_turn() {
        let m = map_event(
            &Event::FailoverTriggered {
                from: "primary".into(),
                to: "backup".into(),
                reason: "12 consecutive slots missed".into(),
                missed: 12,
                dry_run: true,
                forecast: None,
            },
            "bp",
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].condition, DRY_RUN_FAILOVER);
        match &m[0].action {
            Action::Raise {
                severity, summary, ..
            } => {
                assert!(summary.starts_with("[DRY RUN]"), "{summary}");
                assert_ne!(*severity, Severity::Critical);
            }
            other => panic!("{other:?}"),
        }
        assert!(suppressed(SuppressReason::DryRunRehearsed).is_empty());
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
        assert_eq!(map_event(&ours, "bp").len(), 3);
        assert!(map_event(&ours, "other").is_empty());
    }
}
