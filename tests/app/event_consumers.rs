//! The alert rules and the metrics fed only with events a real daemon emitted on the
//! simulated network: primary down, blind, endpoints disagreeing, a dry run, a manual
//! switch (which is what another observer winning the race looks like too), three
//! observers racing, and a foreign key registered by hand. Each history goes through the
//! alert lifecycle and a fresh [`Metrics`], and the test asserts the severities, the
//! resolutions and the gauges an operator would see.

use crate::sim_common;

use std::time::Duration;

use bp_failover::alerts::{map_event, Lifecycle, Notification, NotificationKind, Severity};
use bp_failover::antelope::PublicKey;
use bp_failover::daemon::Options;
use bp_failover::decision::{state, HoldReason};
use bp_failover::events::{Event, QuorumStatus, SuppressReason};
use bp_failover::metrics::Metrics;
use bp_failover::sim::chain::derive_key;
use bp_failover::state_file;
use sim_common::observers::{names, scenario, Run};
use sim_common::{body, key_switch_tx, observer_key, post, sign, switch_to, tapos, OUR};

const T0: i64 = 1_750_000_000_000;
/// `alerts.resolve_quiet_secs` as the lifecycle is built here.
const QUIET: Duration = Duration::from_secs(900);

/// What an operator receives and scrapes after `events`.
struct Seen {
    notifications: Vec<Notification>,
    lifecycle: Lifecycle,
    metrics: String,
    ready: bool,
}

impl Seen {
    fn of(events: &[Event]) -> Seen {
        let mut lifecycle = Lifecycle::new(OUR, Default::default(), Duration::ZERO, QUIET);
        let metrics = Metrics::new();
        let mut notifications = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let now = T0 + i as i64;
            let json = bp_failover::alerts::event_json(e);
            for m in map_event(e, OUR) {
                notifications.extend(lifecycle.apply(m, now, json.as_ref()));
            }
            metrics.on_event(e);
        }
        Seen {
            notifications,
            lifecycle,
            ready: metrics.is_ready(),
            metrics: metrics.encode(),
        }
    }

    /// Lets the quiet time pass (pulse conditions resolve).
    fn after_quiet(&mut self) -> Vec<Notification> {
        let later = T0 + 10_000_000 + QUIET.as_millis() as i64;
        self.lifecycle.tick(later)
    }

    fn with(&self, kind: NotificationKind, condition: &str) -> Vec<&Notification> {
        self.notifications
            .iter()
            .filter(|n| n.kind == kind && n.condition == condition)
            .collect()
    }

    fn critical(&self) -> Vec<String> {
        self.notifications
            .iter()
            .filter(|n| n.severity == Severity::Critical && n.kind != NotificationKind::Resolved)
            .map(|n| format!("{}: {}", n.condition, n.summary))
            .collect()
    }

    fn line(&self, line: &str) {
        assert!(
            self.metrics.lines().any(|l| l == line),
            "no line {line:?} in:\n{}",
            self.metrics
        );
    }

    fn no_series(&self, needle: &str) {
        assert!(
            !self.metrics.lines().any(|l| l.contains(needle)),
            "unexpected {needle:?} in:\n{}",
            self.metrics
        );
    }

    /// The quorum gauge is one-hot over exactly the `quorum_changed` states.
    fn quorum_gauge(&self, on: QuorumStatus) {
        for s in QuorumStatus::ALL {
            self.line(&format!(
                "bp_failover_quorum_state{{state=\"{}\"}} {}",
                s.as_str(),
                i32::from(s == on)
            ));
        }
        for stray in ["\"blind\"", "\"disagree\""] {
            self.no_series(&format!("bp_failover_quorum_state{{state={stray}"));
        }
    }
}

fn dump(events: &[Event]) -> String {
    format!("{:?}", names(events))
}

fn suppress_reasons(events: &[Event]) -> Vec<SuppressReason> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::FailoverSuppressed { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

/// Pushes a regproducer of our producer with `key`, signed by the observer's key, as an
/// operator (or another observer) would.
async fn switch_by_hand(run: &Run, key: PublicKey) {
    let url = run.net.endpoint_urls()[0].clone();
    let mut switch = switch_to(&run.net, "backup");
    switch.signing_key = key;
    let (chain_id, _, _) = tapos(&url).await;
    let tx = key_switch_tx(&url, &switch, 60).await;
    let packed = sign(&tx, &chain_id, &observer_key(&run.net));
    let (status, r) = post(&url, "push_transaction", body(&packed)).await;
    assert_eq!(status, 202, "{r}");
}

fn dc_key(run: &Run, name: &str) -> PublicKey {
    sim_common::dc_key(&run.net, name)
}

/// Steps until `done` holds on observer 0's history; panics after `limit` slots.
async fn run_until(run: &mut Run, limit: u32, what: &str, done: impl Fn(&[Event]) -> bool) {
    let ok = run
        .run_until(limit, |r| done(&r.observers[0].events()))
        .await;
    assert!(
        ok,
        "{what} within {limit} slots: {}",
        dump(&run.observers[0].events())
    );
}

#[tokio::test]
async fn primary_down_pages_once_and_resolves_on_confirmation() {
    let mut run = Run::start(scenario("primary-down", 4)).await;
    run.run_to_end().await;
    let events = run.observers[0].events();
    let seen = Seen::of(&events);
    let raised = seen.with(NotificationKind::Raised, "failover");
    assert_eq!(raised.len(), 1, "{}", dump(&events));
    assert_eq!(raised[0].severity, Severity::Critical);
    assert_eq!(raised[0].summary, "failover triggered: primary -> backup");
    let resolved = seen.with(NotificationKind::Resolved, "failover");
    assert_eq!(resolved.len(), 1, "{}", dump(&events));
    assert!(
        resolved[0]
            .summary
            .contains("backup's key is in the active schedule"),
        "{}",
        resolved[0].summary
    );
    assert!(!seen.lifecycle.is_active("failover"));
    seen.line("bp_failover_switches_total{from=\"primary\",to=\"backup\"} 1");
    seen.line("bp_failover_switches_confirmed_total{datacenter=\"backup\"} 1");
    seen.quorum_gauge(QuorumStatus::Agreed);
    seen.line("bp_failover_observer_ready 1");
    assert!(seen.ready);
    // The primary's misses are booked to the primary.
    let primary = dc_key(&run, "primary");
    assert!(
        seen.metrics.lines().any(|l| l.starts_with(&format!(
            "bp_failover_missed_slots_total{{producer=\"{OUR}\",key=\"{primary}\",datacenter=\"primary\"}}"
        ))),
        "{}",
        seen.metrics
    );
}

#[tokio::test]
async fn after_a_restart_the_primarys_misses_are_still_the_primarys() {
    let mut run = Run::start(scenario("primary-down", 4)).await;
    run.run_to_end().await;
    assert!(run.observers[0]
        .events()
        .iter()
        .any(|e| e.name() == "key_change_confirmed"));
    run.restart(0);
    for _ in 0..12 {
        run.step().await;
    }
    let after = run.observers[0].current_events();
    let booked: Vec<(Option<String>, u32)> = after
        .iter()
        .filter_map(|e| match e {
            Event::MissedSlots {
                datacenter, count, ..
            } => Some((datacenter.clone(), *count)),
            _ => None,
        })
        .collect();
    assert!(
        booked
            .iter()
            .any(|(dc, _)| dc.as_deref() == Some("primary")),
        "the read-back misses are reported: {booked:?}"
    );
    assert!(
        booked.iter().all(|(dc, _)| dc.as_deref() != Some("backup")),
        "the backup produced every slot it held: {booked:?}"
    );
    let seen = Seen::of(&after);
    assert!(
        !seen
            .metrics
            .lines()
            .any(|l| l.starts_with("bp_failover_missed_slots_total")
                && l.contains("datacenter=\"backup\"")),
        "{}",
        seen.metrics
    );
}

#[tokio::test]
async fn a_blind_observer_pages_critical_and_is_not_ready() {
    let mut run = Run::start(scenario("network-halted", 4)).await;
    run.run_to_end().await;
    let events = run.observers[0].events();
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::QuorumChanged {
                state: QuorumStatus::ObserverBlind,
                ..
            }
        )),
        "{}",
        dump(&events)
    );
    let seen = Seen::of(&events);
    let raised = seen.with(NotificationKind::Raised, "quorum");
    let updated = seen.with(NotificationKind::Updated, "quorum");
    let last = updated.last().or(raised.last()).expect("a quorum alert");
    assert_eq!(last.severity, Severity::Critical, "{}", last.summary);
    assert!(last.summary.contains("blind"), "{}", last.summary);
    assert!(seen.lifecycle.is_active("quorum"));
    seen.quorum_gauge(QuorumStatus::ObserverBlind);
    seen.line("bp_failover_observer_ready 0");
    assert!(!seen.ready);
    assert!(seen.with(NotificationKind::Raised, "failover").is_empty());
}

#[tokio::test]
async fn disagreeing_endpoints_warn_without_a_switch() {
    let mut run = Run::start(scenario("endpoints-disagree", 4)).await;
    run.run_to_end().await;
    let events = run.observers[0].events();
    let seen = Seen::of(&events);
    let warned = seen
        .notifications
        .iter()
        .filter(|n| n.condition == "quorum" && n.summary == "chain endpoints disagree")
        .count();
    assert!(warned >= 1, "{}", dump(&events));
    assert!(seen
        .notifications
        .iter()
        .filter(|n| n.summary == "chain endpoints disagree")
        .all(|n| n.severity == Severity::Warning));
    assert!(seen.with(NotificationKind::Raised, "failover").is_empty());
    // No stray quorum series, whatever the state at the end.
    seen.no_series("bp_failover_quorum_state{state=\"disagree\"}");
    seen.no_series("bp_failover_quorum_state{state=\"blind\"}");
}

#[tokio::test]
async fn a_dry_run_is_marked_never_critical_and_resolves() {
    let opts = Options {
        dry_run: true,
        ..Options::default()
    };
    let mut run = Run::start_with(scenario("primary-down", 4), opts).await;
    run.run_to_end().await;
    let events = run.observers[0].events();
    assert!(
        suppress_reasons(&events).contains(&SuppressReason::DryRunRehearsed),
        "{}",
        dump(&events)
    );
    assert!(!suppress_reasons(&events).contains(&SuppressReason::Hold(HoldReason::Cooldown)));
    let mut seen = Seen::of(&events);
    assert_eq!(seen.critical(), Vec::<String>::new(), "{}", dump(&events));
    let raised = seen.with(NotificationKind::Raised, "dry_run_failover");
    assert_eq!(raised.len(), 1);
    assert!(
        raised[0].summary.starts_with("[DRY RUN]"),
        "{}",
        raised[0].summary
    );
    let later = seen.after_quiet();
    assert!(
        later
            .iter()
            .any(|n| n.kind == NotificationKind::Resolved && n.condition == "dry_run_failover"),
        "{later:?}"
    );
    // A rehearsal is not a switch.
    seen.no_series("bp_failover_switches_total{");

    // The cooldown after the rehearsal survives a restart: no second rehearsal at once.
    let until = run.observers[0]
        .state_on_disk()
        .expect("state file reads")
        .hold_until_ms;
    assert!(until.is_some(), "the hold is persisted");
    run.restart(0);
    for _ in 0..24 {
        run.step().await;
    }
    let after = run.observers[0].current_events();
    assert!(
        !after.iter().any(|e| e.name() == "dry_run_transaction"),
        "{}",
        dump(&after)
    );
}

#[tokio::test]
async fn a_manual_switch_is_info_not_a_page() {
    let mut run = Run::start(scenario("healthy", 4)).await;
    run_until(&mut run, 400, "a turn of ours", |h| {
        h.iter().any(|e| e.name() == "round_summary")
    })
    .await;
    // As `bp-failover failover` does while a daemon holds the state file.
    let now = bp_failover::api::Clock::now_ms(&run.net.shared());
    let state_path = run.observers[0].dir.join("state.json");
    state_file::write_manual(
        &state_path,
        &state::ManualSwitch {
            at_ms: now,
            from: "primary".into(),
            to: "backup".into(),
            to_key: dc_key(&run, "backup"),
        },
    )
    .unwrap();
    switch_by_hand(&run, dc_key(&run, "backup")).await;
    run_until(&mut run, 400, "key_change_confirmed", |h| {
        h.iter().any(|e| e.name() == "key_change_confirmed")
    })
    .await;
    let events = run.observers[0].events();
    assert!(
        suppress_reasons(&events).contains(&SuppressReason::AlreadySwitched),
        "{}",
        dump(&events)
    );
    let seen = Seen::of(&events);
    assert_eq!(seen.critical(), Vec::<String>::new());
    let told = seen.with(NotificationKind::Notice, "already_switched");
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].severity, Severity::Info);
    seen.no_series("bp_failover_switches_total{");
    // Booked as manual: the flap budget does not count it.
    let st = run.observers[0].state_on_disk().expect("state file reads");
    assert_eq!(st.switches.len(), 1, "{st:?}");
    assert!(!st.switches[0].automatic, "{st:?}");
}

#[tokio::test]
async fn observers_that_lose_the_race_do_not_page() {
    let mut run = Run::start(scenario("three-observers", 4)).await;
    run.run_to_end().await;
    for (i, events) in run.histories().iter().enumerate() {
        let seen = Seen::of(events);
        // Exactly one failover page per observer at most; never a critical suppression.
        assert!(
            seen.critical()
                .iter()
                .all(|c| !c.starts_with("failover_suppressed")),
            "observer {i}: {:?}",
            seen.critical()
        );
        for n in seen.with(NotificationKind::Notice, "already_switched") {
            assert_eq!(n.severity, Severity::Info);
        }
    }
}

#[tokio::test]
async fn a_foreign_key_pages_until_a_configured_key_is_active_again() {
    let mut run = Run::start(scenario("healthy", 4)).await;
    run.run_until(200, |r| {
        r.observers[0]
            .events()
            .iter()
            .any(|e| e.name() == "round_summary")
    })
    .await;
    let foreign = derive_key("edges-test", "foreign").public_key();
    switch_by_hand(&run, foreign).await;
    run_until(&mut run, 400, "the foreign key active", |h| {
        h.iter().any(
            |e| matches!(e, Event::ScheduleActivated { our_key: Some(k), .. } if *k == foreign),
        )
    })
    .await;
    // Two more full turns of ours pass under the foreign key.
    let rotation = 4 * 12;
    for _ in 0..rotation * 2 + 12 {
        run.step().await;
    }
    let events = run.observers[0].events();
    let unknown: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            Event::FailoverSuppressed {
                reason: SuppressReason::Hold(HoldReason::UnknownKey),
                missed,
                ..
            } => Some(*missed),
            _ => None,
        })
        .collect();
    assert!(
        unknown.iter().filter(|m| **m >= 12).count() >= 2,
        "full turns missed under the foreign key are reported: {unknown:?} {}",
        dump(&events)
    );
    let seen = Seen::of(&events);
    assert!(seen.lifecycle.is_active("unknown_key"), "{}", dump(&events));
    assert!(seen
        .with(NotificationKind::Resolved, "unknown_key")
        .is_empty());
    assert_eq!(
        seen.with(NotificationKind::Raised, "unknown_key")[0].severity,
        Severity::Critical
    );

    // A configured key back in the active schedule ends it.
    let primary = dc_key(&run, "primary");
    switch_by_hand(&run, primary).await;
    run_until(&mut run, 400, "the primary key active", |h| {
        h.iter().any(
            |e| matches!(e, Event::ScheduleActivated { our_key: Some(k), .. } if *k == primary),
        )
    })
    .await;
    let events = run.observers[0].events();
    let seen = Seen::of(&events);
    assert!(
        !seen.lifecycle.is_active("unknown_key"),
        "{}",
        dump(&events)
    );
    assert_eq!(
        seen.with(NotificationKind::Resolved, "unknown_key").len(),
        1
    );
}

#[tokio::test]
async fn an_unregistered_producer_is_asked_for_again_slowly() {
    let mut run = Run::start(scenario("healthy", 4)).await;
    for _ in 0..4 {
        run.step().await;
    }
    run.net.with_chain_mut(|c| {
        let our = c.our_producer();
        c.state_mut().producers.remove(&our);
    });
    for _ in 0..4 {
        run.step().await;
    }
    let table_reads =
        |run: &Run| -> u64 { (0..3).map(|i| run.net.requests(i, "get_table_rows")).sum() };
    let before = table_reads(&run);
    // 40 slots = 20 s of chain time: the daemon ticks 40 times.
    for _ in 0..40 {
        run.step().await;
    }
    let reads = table_reads(&run) - before;
    assert!(
        reads <= 3,
        "{reads} producers-table reads in 40 ticks while the producer is not registered"
    );
}
