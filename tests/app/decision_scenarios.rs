//! Failover scenarios on the pure core: a synthetic chain produced slot by slot, fed
//! through the real observer (tracker, schedule book, stats) into `decide`, with an
//! injected clock, and acted on through the daemon's own transition
//! ([`bp_failover::transition`]). Each test asserts the decision and its reason.

use std::collections::HashSet;

use bp_failover::antelope::{BlockTimestamp, Checksum256, Name, PrivateKey, PublicKey};
use bp_failover::decision::{
    decide, DataCenter, Decision, EndpointView, Failback, HoldReason, Inputs, Policy, Readiness,
    Trigger,
};
use bp_failover::observer::schedule::{
    ConsensusMode, Schedule, ScheduleBook, ScheduledProducer, SAVANNA_SCHEDULE_VERSION,
};
use bp_failover::observer::stats::{
    participation, producer_stats, run_participation, timeline, unconfirmed_misses,
};
use bp_failover::observer::tracker::{BlockHeader, Tracker};
use bp_failover::transition::{
    transition, Input, Intent, Machine, Observed, PushOutcome, Setup, Step,
};

fn key(seed: u8) -> PublicKey {
    PrivateKey::from_bytes(&[seed; 32]).unwrap().public_key()
}

const OURS: &str = "ours";
/// A slot in late 2026.
const START_SLOT: u32 = 1_700_000_016; // a multiple of 12

struct Scenario {
    mode: ConsensusMode,
    names: Vec<Name>,
    other_keys: Vec<PublicKey>,
    dcs: Vec<DataCenter>,
    readiness: Vec<Readiness>,
    policy: Policy,
    /// The daemon's persisted state and memory, stepped by the real transition.
    machine: Machine,
    tracker: Tracker,
    book: ScheduleBook,
    version: u32,
    active_key: PublicKey,
    table_key: PublicKey,
    /// Slot from which a key change in the table becomes active (promotion model).
    promote_at: Option<u32>,
    /// Never promote (the chain is stuck).
    promotion_stuck: bool,
    slot: u32,
    num: u32,
    down: HashSet<Name>,
    dcs_down: HashSet<usize>,
    /// Slots of each of our turns lost to handoff latency.
    handoff_misses: u32,
    endpoints: EndpointView,
    lib_stalled_since: Option<i64>,
    clock_offset_ms: i64,
    halted: bool,
    switches: Vec<(usize, usize)>,
    decisions: Vec<Decision>,
    /// The slot of the contract's next schedule proposal, as the daemon would forecast it.
    next_proposal: Option<u32>,
    /// Some endpoint does not agree with the quorum (the quorum still holds).
    endpoint_outlier: bool,
}

impl Scenario {
    fn new(producers: usize) -> Self {
        assert!(producers >= 2);
        let mut names: Vec<Name> = (0..producers - 1)
            .map(|i| {
                Name::literal(&format!(
                    "prod{}",
                    [
                        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
                        "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z"
                    ][i]
                ))
            })
            .collect();
        // Put ours in the middle of the schedule.
        names.insert(producers / 2, Name::literal(OURS));
        let dcs = vec![
            DataCenter {
                name: "primary".into(),
                signing_key: key(1),
            },
            DataCenter {
                name: "backup".into(),
                signing_key: key(2),
            },
            DataCenter {
                name: "backup2".into(),
                signing_key: key(3),
            },
        ];
        let other_keys = (0..producers).map(|i| key(100 + i as u8)).collect();
        let mut s = Scenario {
            mode: ConsensusMode::Savanna,
            names,
            other_keys,
            readiness: vec![Readiness::Ready; dcs.len()],
            dcs,
            policy: Policy::default(),
            machine: Machine::default(),
            tracker: Tracker::new(4000),
            book: ScheduleBook::default(),
            version: 1,
            active_key: key(1),
            table_key: key(1),
            promote_at: None,
            promotion_stuck: false,
            slot: START_SLOT,
            num: 1000,
            down: HashSet::new(),
            dcs_down: HashSet::new(),
            handoff_misses: 0,
            endpoints: EndpointView::Quorum,
            lib_stalled_since: None,
            clock_offset_ms: 0,
            halted: false,
            switches: vec![],
            decisions: vec![],
            next_proposal: None,
            endpoint_outlier: false,
        };
        s.observe_schedule();
        s
    }

    fn legacy(mut self) -> Self {
        self.mode = ConsensusMode::Legacy;
        self.book = ScheduleBook::default();
        self.observe_schedule();
        self
    }

    fn schedule(&self) -> Schedule {
        Schedule {
            version: self.version,
            producers: self
                .names
                .iter()
                .enumerate()
                .map(|(i, n)| ScheduledProducer {
                    name: *n,
                    threshold: 1,
                    keys: vec![if n.to_string() == OURS {
                        self.active_key
                    } else {
                        self.other_keys[i]
                    }],
                })
                .collect(),
        }
    }

    fn observe_schedule(&mut self) {
        let s = self.schedule();
        self.book.observe_active(self.mode, &s, self.slot);
    }

    fn rotation(&self) -> u32 {
        self.names.len() as u32 * 12
    }

    /// The data center holding the active key (none if the key is foreign).
    fn ours_dc(&self) -> Option<usize> {
        self.dcs
            .iter()
            .position(|d| d.signing_key == self.active_key)
    }

    fn now_ms(&self) -> i64 {
        BlockTimestamp(self.slot).unix_ms() + 400 + self.clock_offset_ms
    }

    /// Produces (or not) the block of the current slot, then decides, then acts.
    fn step(&mut self) {
        let s = self.schedule();
        let p = s.scheduled_at(self.slot).unwrap();
        let is_ours = p.name.to_string() == OURS;
        let up = if is_ours {
            self.ours_dc().is_none_or(|dc| !self.dcs_down.contains(&dc))
                && self.slot % 12 >= self.handoff_misses
        } else {
            !self.down.contains(&p.name)
        };
        if up && !self.halted {
            let prev = self
                .tracker
                .head()
                .map(|b| b.id)
                .unwrap_or(Checksum256([0; 32]));
            let mut id = [0u8; 32];
            id[..4].copy_from_slice(&self.num.to_be_bytes());
            id[4..8].copy_from_slice(&self.slot.to_be_bytes());
            let version = match self.mode {
                ConsensusMode::Savanna => SAVANNA_SCHEDULE_VERSION,
                ConsensusMode::Legacy => self.version,
            };
            self.tracker
                .push(BlockHeader {
                    num: self.num,
                    id: Checksum256(id),
                    previous: prev,
                    timestamp: BlockTimestamp(self.slot),
                    producer: p.name,
                    schedule_version: version,
                })
                .unwrap();
            self.num += 1;
        }
        // Promotion of a key change.
        if let Some(at) = self.promote_at {
            if self.slot >= at && !self.promotion_stuck {
                self.active_key = self.table_key;
                self.version += 1;
                self.promote_at = None;
            }
        }
        // The observer polls the schedule after each slot.
        let s = self.schedule();
        if self.mode == ConsensusMode::Legacy {
            self.book.observe_version(&s);
        }
        self.book.observe_active(self.mode, &s, self.slot);

        let d = self.decide();
        self.act(&d);
        self.decisions.push(d);
        self.slot += 1;
    }

    fn decide(&self) -> Decision {
        let tl = timeline(&self.tracker, &self.book);
        let ours = Name::literal(OURS);
        let stats = producer_stats(&tl, ours);
        let part = participation(&tl, ours, self.policy.participation_turns);
        let run_part = run_participation(&tl, &stats, ours);
        let head = self.tracker.head();
        let head_time = head.map(|b| b.timestamp.unix_ms()).unwrap_or(0);
        let now = self.now_ms();
        let unconfirmed = head.map_or(0, |h| {
            unconfirmed_misses(&self.schedule(), ours, h.timestamp.slot(), now)
        });
        let inputs = Inputs {
            now_ms: now,
            endpoints: self.endpoints.clone(),
            mode: self.mode,
            head_time_ms: head_time,
            lib_advanced_at_ms: self.lib_stalled_since.unwrap_or(now),
            schedule_len: self.names.len(),
            active_key: Some(self.active_key),
            table_key: Some(self.table_key),
            stats: &stats,
            unconfirmed_missed: unconfirmed,
            participation: &part,
            run_participation: &run_part,
            readiness: &self.readiness,
            primary_ready_since_ms: (!self.dcs_down.contains(&0)).then_some(0),
            next_proposal_slot: self.next_proposal,
            all_endpoints_agree: self.endpoints == EndpointView::Quorum && !self.endpoint_outlier,
        };
        decide(&inputs, &self.dcs, &self.policy, &self.machine.state)
    }

    /// The daemon's act step: the real transition; its push goes through a simplified
    /// executor (signed, accepted and in the producers table at once).
    fn act(&mut self, d: &Decision) {
        let now = self.now_ms();
        let setup = Setup {
            producer: OURS.into(),
            dcs: &self.dcs,
            cooldown_ms: self.policy.cooldown_secs as i64 * 1000,
            dry_run: false,
        };
        let run = |m: &Machine, step: Step| {
            transition(
                m,
                &Input {
                    now_ms: now,
                    setup: &setup,
                    step,
                },
            )
        };
        let observed = Observed {
            active_key: Some(self.active_key),
            table_key: Some(self.table_key),
            missed_now: 0,
            our_block: None,
        };
        let (mut m, intents) = run(
            &self.machine,
            Step::Decided {
                decision: d.clone(),
                observed,
                manual: None,
                forecast: None,
            },
        );
        let mut pushed = Vec::new();
        for i in intents {
            let Intent::Push { to, .. } = i else {
                continue;
            };
            let tx_id = Checksum256([self.switches.len() as u8 + 1; 32]);
            let signed = Step::Signed {
                to,
                tx_id: Some(tx_id),
                expires_ms: now + 60_000,
            };
            let (next, _) = run(&m, signed);
            let outcome = PushOutcome::Pushed {
                tx_id,
                endpoint: "simplified".into(),
                latency_ms: 0,
                attempt: 1,
            };
            let (next, _) = run(&next, Step::Pushed { to, outcome });
            m = next;
            pushed.push(to);
        }
        self.machine = m;
        for to in pushed {
            let Decision::Switch { from, .. } = d else {
                panic!("a push without a switch: {d:?}");
            };
            self.table_key = self.dcs[to].signing_key;
            self.schedule_promotion();
            self.switches.push((*from, to));
        }
    }

    /// Savanna: proposed within ~60 s (here: next 12-slot boundary after 20 slots),
    /// active two rounds later. Legacy: ~6 minutes.
    fn schedule_promotion(&mut self) {
        let delay = match self.mode {
            ConsensusMode::Savanna => 20 + 24,
            ConsensusMode::Legacy => 720,
        };
        let at = self.slot + delay;
        self.promote_at = Some(at - at % 12);
    }

    fn run(&mut self, slots: u32) -> &mut Self {
        for _ in 0..slots {
            self.step();
        }
        self
    }

    /// Runs until our producer's turn is about to start.
    fn run_to_our_turn(&mut self) -> &mut Self {
        let pos = self
            .names
            .iter()
            .position(|n| n.to_string() == OURS)
            .unwrap() as u32;
        while (self.slot % self.rotation()) / 12 != pos || !self.slot.is_multiple_of(12) {
            self.step();
        }
        self
    }

    fn warm_up(&mut self) -> &mut Self {
        let r = self.rotation();
        self.run(r + 12);
        self.run_to_our_turn()
    }

    fn holds(&self) -> Vec<HoldReason> {
        let mut out: Vec<HoldReason> = vec![];
        for d in &self.decisions {
            if let Decision::Hold { reason, .. } = d {
                if out.last() != Some(reason) {
                    out.push(*reason);
                }
            }
        }
        out
    }

    fn last_hold_with_trigger(&self) -> Option<(HoldReason, String)> {
        self.decisions.iter().rev().find_map(|d| match d {
            Decision::Hold {
                reason,
                detail,
                trigger: Some(_),
            } => Some((*reason, detail.clone())),
            _ => None,
        })
    }
}

#[test]
fn healthy_network_never_switches() {
    let mut s = Scenario::new(21);
    s.warm_up();
    let r = s.rotation();
    s.run(r * 5);
    assert!(s.switches.is_empty());
    assert!(matches!(
        s.decisions.last(),
        Some(Decision::Healthy {
            current: 0,
            warning: None
        })
    ));
}

#[test]
fn primary_down_one_turn_switches_to_backup_after_three_confirming_turns() {
    let mut s = Scenario::new(21);
    s.warm_up();
    s.dcs_down.insert(0);
    let before = s.decisions.len();
    s.run(13);
    // The threshold is reached; the rest of the network must be seen producing.
    assert!(matches!(
        s.decisions.last(),
        Some(Decision::Confirming {
            current: 0,
            missed: 12,
            turns_seen: 0,
            turns_needed: 3
        })
    ));
    assert!(s.switches.is_empty());
    s.run(34);
    assert!(s.switches.is_empty(), "two confirming turns are not enough");
    s.run(1);
    assert_eq!(s.switches, vec![(0, 1)]);
    let sw = s.decisions[before..]
        .iter()
        .find(|d| matches!(d, Decision::Switch { .. }))
        .unwrap();
    let Decision::Switch {
        trigger:
            Trigger::MissedBlocks {
                missed,
                solo,
                key: k,
                before_proposal: None,
            },
        ..
    } = sw
    else {
        panic!("{sw:?}")
    };
    assert_eq!(*missed, 12);
    assert!(*solo, "others kept producing: a solo outage");
    assert_eq!(*k, key(1));
}

/// The slot of the outage's switch, if any, and whether it was decided before the
/// confirming turns were complete.
fn switch_slot(s: &Scenario, from_decision: usize, outage: u32) -> Option<(u32, bool)> {
    s.decisions[from_decision..]
        .iter()
        .position(|d| matches!(d, Decision::Switch { .. }))
        .map(|i| {
            let early = matches!(
                &s.decisions[from_decision + i],
                Decision::Switch {
                    trigger: Trigger::MissedBlocks {
                        before_proposal: Some(_),
                        ..
                    },
                    ..
                }
            );
            (outage + i as u32, early)
        })
}

/// Primary down at the start of our turn (slot T) on 21 producers: the threshold is known
/// at T+12 and the three confirming turns end at T+47. A schedule proposal at `proposal`
/// (relative to T) inside that window would be missed by waiting.
fn early_case(proposal: u32, tweak: impl FnOnce(&mut Scenario)) -> Option<(u32, bool)> {
    let mut s = Scenario::new(21);
    s.warm_up();
    let outage = s.slot;
    s.next_proposal = Some(outage + proposal);
    tweak(&mut s);
    s.dcs_down.insert(0);
    let before = s.decisions.len();
    s.run(60);
    switch_slot(&s, before, outage).map(|(slot, early)| (slot - outage, early))
}

#[test]
fn a_proposal_inside_the_confirming_wait_is_made_by_switching_at_the_last_moment() {
    // Proposal at T+30, margin 2 s = 4 slots: the switch is decided at T+26 with one
    // complete confirming turn (T+12..T+23) instead of at T+47.
    assert_eq!(early_case(30, |_| {}), Some((26, true)));
    // No proposal in sight: the confirming turns decide, as before.
    assert_eq!(early_case(200, |_| {}), Some((47, false)));
    // A proposal the confirming turns reach in time anyway: no early switch.
    assert_eq!(early_case(56, |_| {}), Some((47, false)));
}

#[test]
fn the_early_switch_needs_the_stricter_evidence() {
    // Disabled by policy.
    let off = early_case(30, |s| s.policy.decide_before_proposal = false);
    assert_eq!(off, Some((47, false)));
    // One endpoint out of the agreement.
    let outlier = early_case(30, |s| s.endpoint_outlier = true);
    assert_eq!(outlier, Some((47, false)));
    // The threshold is known at T+12, when the producer after us has produced one block:
    // a proposal at T+16 is made by switching then.
    assert_eq!(early_case(16, |_| {}), Some((12, true)));
    assert_eq!(early_case(14, |_| {}), Some((12, true)));
    // A proposal at T+13: a push at T+12 lands in the proposing block at the earliest.
    assert_eq!(early_case(13, |_| {}), Some((47, false)));
    // LIB stopped when our blocks did.
    let stalled = early_case(30, |s| s.lib_stalled_since = Some(s.now_ms()));
    assert!(!matches!(stalled, Some((_, true))), "{stalled:?}");
    // The producer after us is down too: a turn since our misses without blocks.
    let next_down = early_case(30, |s| {
        let ours = s.names.iter().position(|n| n.to_string() == OURS).unwrap();
        let next = s.names[(ours + 1) % s.names.len()];
        s.down.insert(next);
    });
    assert!(
        !matches!(next_down, Some((_, true))),
        "no early switch while a turn since our misses was silent: {next_down:?}"
    );
}

/// The case the confirming wait protects against, with a proposal inside it: a partition
/// that starts as our blocks stop, leaving this observer on a minority fork with the two
/// producers after us. Their turns look healthy, but finality stops with the partition
/// (a minority cannot finalize), so the early switch's LIB test refuses, and the
/// confirming turns then show the silence.
#[test]
fn a_minority_partition_with_a_proposal_in_sight_does_not_switch_early() {
    let mut s = Scenario::new(21);
    s.warm_up();
    let outage = s.slot;
    s.next_proposal = Some(outage + 30);
    let ours = s.names.iter().position(|n| n.to_string() == OURS).unwrap();
    let n = s.names.len();
    let beyond: Vec<Name> = (3..n).map(|k| s.names[(ours + k) % n]).collect();
    s.down.extend(beyond);
    s.dcs_down.insert(0);
    s.lib_stalled_since = Some(s.now_ms());
    let r = s.rotation();
    s.run(r);
    assert!(s.switches.is_empty(), "{:?}", s.holds());
}

#[test]
fn primary_down_for_many_turns_switches_once_then_backup_produces() {
    let mut s = Scenario::new(21);
    s.warm_up();
    s.dcs_down.insert(0);
    let r = s.rotation();
    s.run(r * 4);
    assert_eq!(s.switches, vec![(0, 1)]);
    assert_eq!(s.active_key, key(2));
    assert!(matches!(
        s.decisions.last(),
        Some(Decision::Healthy { current: 1, .. })
    ));
    // While the change was in flight the decision said so.
    assert!(s.decisions.iter().any(|d| matches!(
        d,
        Decision::Pending {
            to: 1,
            ours: true,
            overdue: false,
            ..
        }
    )));
    assert!(s.machine.state.pending.is_none(), "confirmed and cleared");
}

#[test]
fn handoff_misses_every_turn_never_trigger() {
    let mut s = Scenario::new(21);
    s.handoff_misses = 2;
    s.warm_up();
    let r = s.rotation();
    s.run(r * 10);
    assert!(s.switches.is_empty());
    assert!(s
        .decisions
        .iter()
        .all(|d| matches!(d, Decision::Healthy { warning: None, .. })));
}

#[test]
fn warning_before_the_threshold() {
    let mut s = Scenario::new(21);
    s.warm_up();
    s.dcs_down.insert(0);
    // Within our own turn no later block confirms the misses yet: the clock does.
    s.run(9);
    let Some(Decision::Healthy {
        warning: Some(w), ..
    }) = s.decisions.last()
    else {
        panic!("{:?}", s.decisions.last())
    };
    assert!(
        w.contains("missed 7 consecutive slots (7 unconfirmed"),
        "{w}"
    );
}

#[test]
fn minority_fork_holds_for_low_participation() {
    let mut s = Scenario::new(21);
    s.warm_up();
    // On the chain this observer sees, 14 of 20 other producers are absent.
    let others: Vec<Name> = s
        .names
        .iter()
        .copied()
        .filter(|n| n.to_string() != OURS)
        .collect();
    s.down.extend(others.into_iter().take(14));
    s.dcs_down.insert(0);
    let r = s.rotation();
    s.run(r * 2);
    assert!(s.switches.is_empty());
    let (reason, detail) = s.last_hold_with_trigger().unwrap();
    assert_eq!(reason, HoldReason::LowParticipation);
    assert!(detail.contains("minority fork"), "{detail}");
}

#[test]
fn halted_network_never_switches() {
    let mut s = Scenario::new(21);
    s.warm_up();
    // The whole network stops for a minute, our producer included.
    s.halted = true;
    s.run(120);
    // Blocks resume; the gap spans everyone's slots, ours among them.
    s.halted = false;
    let r = s.rotation();
    s.run(r * 2);
    assert!(s.switches.is_empty(), "{:?}", s.holds());
    assert!(matches!(
        s.decisions.last(),
        Some(Decision::Healthy { current: 0, .. })
    ));
}

#[test]
fn halted_network_with_our_node_down_waits_for_the_network_to_recover() {
    let mut s = Scenario::new(21);
    s.warm_up();
    s.halted = true;
    s.dcs_down.insert(0);
    s.run(120);
    s.halted = false;
    s.run(60);
    assert!(
        s.switches.is_empty(),
        "no switch while the restart gap dominates"
    );
    let (reason, _) = s.last_hold_with_trigger().unwrap();
    assert_eq!(reason, HoldReason::LowParticipation);
    // Once the others have produced a full window since, our outage is ours alone.
    let r = s.rotation();
    s.run(r * 2);
    assert_eq!(s.switches, vec![(0, 1)]);
}

#[test]
fn lib_stalled_holds() {
    let mut s = Scenario::new(21);
    s.warm_up();
    s.lib_stalled_since = Some(s.now_ms() - 31_000);
    s.dcs_down.insert(0);
    s.run(13 + 36);
    assert!(s.switches.is_empty());
    assert_eq!(
        s.last_hold_with_trigger().unwrap().0,
        HoldReason::LibStalled
    );
}

#[test]
fn endpoints_disagree_or_blind_hold_without_judging() {
    let mut s = Scenario::new(21);
    s.warm_up();
    s.dcs_down.insert(0);
    s.endpoints = EndpointView::Disagree("2 endpoints on different forks".into());
    s.run(24);
    s.endpoints = EndpointView::Blind("no endpoint answered".into());
    s.run(24);
    assert!(s.switches.is_empty());
    assert_eq!(
        s.holds(),
        vec![HoldReason::EndpointsDisagree, HoldReason::ObserverBlind]
    );
}

#[test]
fn clock_skew_holds() {
    // Our clock 12 s fast: the head looks 12 s old, beyond 5 s + one turn.
    let mut s = Scenario::new(21);
    s.warm_up();
    s.clock_offset_ms = 12_000;
    s.dcs_down.insert(0);
    s.run(13 + 36);
    assert!(s.switches.is_empty());
    let (reason, detail) = s.last_hold_with_trigger().unwrap();
    assert_eq!(reason, HoldReason::ClockSkew);
    assert!(detail.contains("behind the local clock"), "{detail}");

    // Our clock 6 s slow: the head is ahead of it, which only a wrong clock explains.
    let mut s = Scenario::new(21);
    s.warm_up();
    s.clock_offset_ms = -6_000;
    s.dcs_down.insert(0);
    s.run(13 + 36);
    assert!(s.switches.is_empty());
    let (reason, detail) = s.last_hold_with_trigger().unwrap();
    assert_eq!(reason, HoldReason::ClockSkew);
    assert!(detail.contains("ahead of the local clock"), "{detail}");
}

#[test]
fn a_head_as_old_as_one_dead_turn_is_not_clock_skew() {
    // Our clock 9 s fast (within 5 s + one 6 s turn): not mistaken for skew.
    let mut s = Scenario::new(21);
    s.warm_up();
    s.clock_offset_ms = 9_000;
    s.dcs_down.insert(0);
    s.run(13 + 36);
    assert_eq!(s.switches, vec![(0, 1)]);
}

#[test]
fn key_change_pending_longer_than_expected_is_overdue() {
    let mut s = Scenario::new(21);
    s.warm_up();
    s.promotion_stuck = true;
    s.dcs_down.insert(0);
    let r = s.rotation();
    s.run(r * 2);
    assert_eq!(
        s.switches.len(),
        1,
        "misses of the old key do not re-trigger"
    );
    let Some(Decision::Pending {
        overdue,
        waited_secs,
        ..
    }) = s.decisions.last()
    else {
        panic!("{:?}", s.decisions.last())
    };
    assert!(*overdue && *waited_secs > 73 + 60, "{waited_secs}");
}

#[test]
fn primary_and_backup_down_goes_to_backup2() {
    let mut s = Scenario::new(21);
    s.warm_up();
    s.dcs_down.extend([0, 1]);
    let r = s.rotation();
    s.run(r * 5);
    assert_eq!(s.switches, vec![(0, 1), (1, 2)]);
    assert_eq!(s.active_key, key(3));
    assert!(matches!(
        s.decisions.last(),
        Some(Decision::Healthy { current: 2, .. })
    ));
}

#[test]
fn no_ready_backup_holds_and_not_ready_ones_are_skipped() {
    let mut s = Scenario::new(21);
    s.readiness = vec![
        Readiness::Ready,
        Readiness::NotReady("head 900 blocks behind".into()),
        Readiness::NotReady("unreachable".into()),
    ];
    s.warm_up();
    s.dcs_down.insert(0);
    s.run(13 + 36);
    assert!(s.switches.is_empty());
    let (reason, detail) = s.last_hold_with_trigger().unwrap();
    assert_eq!(reason, HoldReason::NoReadyBackup);
    assert!(
        detail.contains("backup (head 900 blocks behind)"),
        "{detail}"
    );
    // backup2 becomes ready: it is chosen over the unready backup.
    s.readiness[2] = Readiness::Ready;
    s.run(24);
    assert_eq!(s.switches, vec![(0, 2)]);
}

#[test]
fn another_observer_already_switched() {
    let mut s = Scenario::new(21);
    s.warm_up();
    s.dcs_down.insert(0);
    // Another observer's transaction lands before ours would.
    s.table_key = key(2);
    s.schedule_promotion();
    let r = s.rotation();
    s.run(r * 2);
    assert!(s.switches.is_empty(), "we never push");
    assert!(s.decisions.iter().any(|d| matches!(
        d,
        Decision::Pending {
            to: 1,
            ours: false,
            ..
        }
    )));
    assert_eq!(s.active_key, key(2));
}

#[test]
fn restart_mid_failover_neither_repeats_nor_forgets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let mut s = Scenario::new(21);
    s.warm_up();
    s.dcs_down.insert(0);
    s.run(13 + 37);
    assert_eq!(s.switches.len(), 1);
    // Our transaction is pushed but, at the restart, not yet in the table.
    s.table_key = key(1);
    s.promote_at = None;
    bp_failover::state_file::save(&path, &s.machine.state).unwrap();
    // Restart: fresh observer memory, state from disk.
    s.machine = Machine::new(bp_failover::state_file::load(&path).unwrap());
    s.tracker = Tracker::new(4000);
    s.decisions.clear();
    s.run(40);
    assert_eq!(
        s.switches.len(),
        1,
        "no second push while ours may still be included"
    );
    assert!(
        s.holds().contains(&HoldReason::PendingTransaction),
        "{:?}",
        s.holds()
    );
    // It lands: the table shows it, then the schedule.
    s.table_key = key(2);
    s.schedule_promotion();
    let r = s.rotation();
    s.run(r * 2);
    assert_eq!(s.switches.len(), 1);
    assert_eq!(s.active_key, key(2));
}

#[test]
fn four_producer_schedule() {
    let mut s = Scenario::new(4);
    s.warm_up();
    s.dcs_down.insert(0);
    // 12 misses, then the 3 other producers' turns confirm.
    s.run(12 + 35);
    assert!(s.switches.is_empty());
    s.run(1);
    assert_eq!(s.switches, vec![(0, 1)]);
}

#[test]
fn schedule_change_during_an_outage_keeps_attribution_right() {
    let mut s = Scenario::new(21).legacy();
    s.warm_up();
    s.dcs_down.insert(0);
    s.run(6);
    // A new schedule version (another producer replaced) mid-outage, same key for us.
    s.names[0] = Name::literal("newcomer");
    s.version += 1;
    s.run(7 + 37);
    assert_eq!(s.switches, vec![(0, 1)]);
    let Some(Trigger::MissedBlocks { missed, .. }) = s.decisions.iter().find_map(|d| match d {
        Decision::Switch { trigger, .. } => Some(trigger.clone()),
        _ => None,
    }) else {
        panic!()
    };
    assert_eq!(
        missed, 12,
        "the misses span both schedule versions under one key"
    );
}

#[test]
fn legacy_promotion_takes_minutes_and_is_not_overdue() {
    let mut s = Scenario::new(21).legacy();
    s.warm_up();
    s.dcs_down.insert(0);
    s.run(50 + 600);
    assert_eq!(s.switches, vec![(0, 1)]);
    assert!(matches!(
        s.decisions.last(),
        Some(Decision::Pending { overdue: false, .. })
    ));
    s.run(200);
    assert_eq!(s.active_key, key(2));
}

#[test]
fn cooldown_and_flap_budget() {
    let mut s = Scenario::new(21);
    s.policy.cooldown_secs = 3600;
    s.warm_up();
    s.dcs_down.extend([0, 1]);
    let r = s.rotation();
    s.run(r * 3);
    assert_eq!(s.switches, vec![(0, 1)]);
    assert_eq!(s.last_hold_with_trigger().unwrap().0, HoldReason::Cooldown);

    let mut s = Scenario::new(21);
    s.policy.max_switches_per_day = 1;
    s.warm_up();
    s.dcs_down.extend([0, 1]);
    s.run(r * 3);
    assert_eq!(s.switches, vec![(0, 1)]);
    let (reason, detail) = s.last_hold_with_trigger().unwrap();
    assert_eq!(reason, HoldReason::FlapBudget);
    assert!(detail.contains("bp-failover failover"), "{detail}");
}

#[test]
fn failback_is_manual_by_default_and_automatic_when_asked() {
    let mut s = Scenario::new(21);
    s.warm_up();
    s.dcs_down.insert(0);
    let r = s.rotation();
    s.run(r * 2);
    s.dcs_down.clear();
    s.run(r * 3);
    assert_eq!(s.switches, vec![(0, 1)], "manual: stays on the backup");

    let mut s = Scenario::new(21);
    s.policy.failback = Failback::Auto;
    s.policy.failback_after_secs = 0;
    s.policy.cooldown_secs = 60;
    s.warm_up();
    s.dcs_down.insert(0);
    s.run(13 + 37);
    s.dcs_down.clear();
    s.run(r * 2);
    assert_eq!(s.switches, vec![(0, 1), (1, 0)]);
    assert!(matches!(
        s.decisions.last(),
        Some(Decision::Healthy { current: 0, .. })
    ));
}

#[test]
fn unknown_chain_key_is_never_acted_on() {
    let mut s = Scenario::new(21);
    s.warm_up();
    s.active_key = key(77);
    s.table_key = key(77);
    s.run(30);
    assert!(s.switches.is_empty());
    assert_eq!(s.holds(), vec![HoldReason::UnknownKey]);
}
