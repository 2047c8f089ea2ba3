//! What happens after [`decide`](fn@crate::decision::decide): a pure function of the persisted state,
//! what the round observed, the decision, the outcome of the last action, a manual switch
//! handed over, and the time. It returns the new state and the [`Intent`]s the daemon
//! carries out (push a key switch, emit an event, save the state); the daemon only
//! observes, decides, calls [`transition`] and acts.
//!
//! Everything persisted or reported after the decision is decided here: the expiry and
//! the confirmation of a switch in flight, switches recorded as automatic or manual (only
//! automatic ones count against the flap budget), another observer winning the race, the
//! cooldown after a failed or rehearsed switch (persisted, so a restart does not retry at
//! once), the key epochs (which key was in force from which slot), and the first block
//! signed with the new key (only then do blocks come from the new data center).
//!
//! A switch's own life (pushed, pending, confirmed or expired) is in `switch`.

use crate::decision::cadence::Activation;
use crate::events::{Event, Forecast, SuppressReason};
use antelope::time::{BLOCK_INTERVAL_MS, PRODUCER_REPETITIONS};
use antelope::{BlockTimestamp, Checksum256, PublicKey};

use crate::decision::state::{AwaitingBlock, ManualSwitch, PendingSwitch, State, SwitchRecord};
use crate::decision::{DataCenter, Decision, HoldReason, Trigger};

mod switch;

/// A manual switch handed over by `failover` counts only this long after it was made
/// (a stale record, a push that never landed, does not).
const MANUAL_FRESH_MS: i64 = 600_000;

/// The persisted [`State`] and what has already been said, so each change is reported
/// once. Only `state` survives a restart (with the first block awaited after a switch).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Machine {
    pub state: State,
    said: Said,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Said {
    suppressed: Option<(HoldReason, u32)>,
    confirming: Option<(u32, u32)>,
    missing: bool,
    not_scheduled: bool,
    overdue: Option<PublicKey>,
    registered: Option<PublicKey>,
    /// The forecast of the switch in flight: its target key and expected seconds from the
    /// trigger to the schedule in force.
    forecast: Option<(PublicKey, f64)>,
}

impl Machine {
    pub fn new(state: State) -> Self {
        Machine {
            state,
            said: Said::default(),
        }
    }
}

/// What does not change between rounds.
#[derive(Debug, Clone)]
pub struct Setup<'a> {
    /// Our producer's account.
    pub producer: String,
    pub dcs: &'a [DataCenter],
    pub cooldown_ms: i64,
    pub dry_run: bool,
}

/// Our producer's newest followed block, with the signing key the schedule in force at
/// its slot gives our producer (the chain accepted the block, so it is signed with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OurBlock {
    pub num: u32,
    pub key: PublicKey,
}

/// What the round observed, as far as the transition needs it.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Our producer's key in the active schedule.
    pub active_key: Option<PublicKey>,
    /// Our producer's key in the producers table.
    pub table_key: Option<PublicKey>,
    /// Our current run of consecutive missed slots.
    pub missed_now: u32,
    pub our_block: Option<OurBlock>,
}

/// A finished push (or its dry-run rehearsal).
#[derive(Debug, Clone)]
pub enum PushOutcome {
    Pushed {
        tx_id: Checksum256,
        endpoint: String,
        latency_ms: u64,
        attempt: u32,
    },
    /// The producers table already held the target key: nothing was pushed.
    AlreadySwitched,
    DryRun {
        tx_id: Checksum256,
        body: serde_json::Value,
        validation: String,
    },
    Failed(String),
    /// `[msig]`: our approval is on chain and the proposal awaits the other observers'
    /// (already reported): nothing was pushed.
    Waiting,
}

/// What the transition is told.
#[derive(Debug, Clone)]
pub enum Step {
    /// The round's decision. `forecast`: when a switch decided now would take effect
    /// (activation, our slots lost, the current slot), if known.
    Decided {
        decision: Decision,
        observed: Observed,
        /// A switch left by `bp-failover failover` for this daemon (`<state>.manual`).
        manual: Option<ManualSwitch>,
        forecast: Option<(Activation, u32, u32)>,
    },
    /// Our key-switch transaction is signed and about to be pushed: it must be in the
    /// state file first, so a restart neither repeats nor forgets it.
    Signed {
        to: usize,
        /// `None`: `[msig]`, our approval is already on chain (nothing new is pushed).
        tx_id: Option<Checksum256>,
        expires_ms: i64,
    },
    /// A push attempt failed (`retrying`: another attempt follows).
    AttemptFailed {
        tx_id: Checksum256,
        why: String,
        retrying: bool,
    },
    /// The push (or dry run) to data center `to` finished.
    Pushed { to: usize, outcome: PushOutcome },
    /// The active schedule gives our producer `key` from `from_slot` on: recorded (and
    /// saved when new), so a restart books the misses it reads back to the key in force.
    KeyInForce { from_slot: u32, key: PublicKey },
}

pub struct Input<'a> {
    pub now_ms: i64,
    pub setup: &'a Setup<'a>,
    pub step: Step,
}

/// What the daemon must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Emit(Event),
    /// Write the state file (it changed).
    Save,
    /// Build, sign and push the key switch to data center `to` (`dry_run`: build and
    /// validate only), then report the outcome with [`Step::Pushed`].
    Push {
        to: usize,
        dry_run: bool,
    },
    /// The push found the target key already in the producers table.
    TableHolds(PublicKey),
    /// Remove the manual switch handed over (it was recorded, or is stale).
    ConsumeManual,
}

/// The decision as acted on: a switch is held for the cooldown after a failed attempt
/// or a dry-run rehearsal (persisted in `hold_until_ms`).
pub fn gate(d: Decision, state: &State, now_ms: i64, dry_run: bool) -> Decision {
    match (&d, state.hold_until_ms) {
        (Decision::Switch { trigger, .. }, Some(until)) if now_ms < until => {
            let detail = if dry_run {
                "dry run: the switch was rehearsed; not repeating it during the cooldown"
            } else {
                "the last attempt to switch failed; not retrying during the cooldown"
            };
            Decision::Hold {
                reason: HoldReason::Cooldown,
                detail: detail.into(),
                trigger: Some(trigger.clone()),
            }
        }
        _ => d,
    }
}

/// The pure transition: the new machine and what to do.
pub fn transition(m: &Machine, input: &Input<'_>) -> (Machine, Vec<Intent>) {
    let mut t = Tx {
        m: m.clone(),
        out: Vec::new(),
        setup: input.setup,
        now: input.now_ms,
    };
    match &input.step {
        Step::Decided {
            decision,
            observed,
            manual,
            forecast,
        } => t.decided(decision, observed, manual.as_ref(), *forecast),
        Step::Signed {
            to,
            tx_id,
            expires_ms,
        } => {
            let dc = &t.setup.dcs[*to];
            t.m.state.pending = Some(PendingSwitch {
                to: dc.name.clone(),
                to_key: dc.signing_key,
                since_ms: t.now,
                tx_id: *tx_id,
                expires_ms: Some(*expires_ms),
                ours: true,
            });
        }
        Step::AttemptFailed {
            tx_id,
            why,
            retrying,
        } => t.emit(Event::TransactionFailed {
            id: Some(*tx_id),
            reason: why.clone(),
            retrying: *retrying,
        }),
        Step::Pushed { to, outcome } => t.pushed(*to, outcome),
        Step::KeyInForce { from_slot, key } => {
            t.m.state.observe_key(*from_slot, *key);
        }
    }
    let saved = t.m.state != m.state;
    let Tx {
        m: next, mut out, ..
    } = t;
    if saved {
        // Before the push: the state (a hold, a record) is on disk before anything leaves.
        let at = out
            .iter()
            .position(|i| matches!(i, Intent::Push { .. }))
            .unwrap_or(out.len());
        out.insert(at, Intent::Save);
    }
    (next, out)
}

struct Tx<'a> {
    m: Machine,
    out: Vec<Intent>,
    setup: &'a Setup<'a>,
    now: i64,
}

impl Tx<'_> {
    fn emit(&mut self, e: Event) {
        self.out.push(Intent::Emit(e));
    }

    fn dc(&self, i: usize) -> String {
        self.setup.dcs[i].name.clone()
    }

    fn dc_name(&self, key: &PublicKey) -> Option<String> {
        self.setup
            .dcs
            .iter()
            .find(|d| d.signing_key == *key)
            .map(|d| d.name.clone())
    }

    /// No automatic switch for a cooldown; persisted, so a restart does not retry at once.
    fn hold_for_cooldown(&mut self) {
        self.m.state.hold_until_ms = Some(self.now + self.setup.cooldown_ms);
    }

    fn decided(
        &mut self,
        d: &Decision,
        obs: &Observed,
        manual: Option<&ManualSwitch>,
        forecast: Option<(Activation, u32, u32)>,
    ) {
        let now = self.now;
        // A transaction of ours that expired without reaching the table failed. Reported
        // as soon as the decision stops waiting for it, so before any re-push.
        if let Some(p) = self.m.state.pending.clone() {
            let in_table = obs.table_key == Some(p.to_key);
            if p.ours && !in_table && p.expires_ms.is_some_and(|e| now > e) {
                self.emit(Event::TransactionFailed {
                    id: p.tx_id,
                    reason: format!(
                        "expired at {} without appearing in the producers table",
                        p.expires_ms.unwrap_or(0)
                    ),
                    retrying: false,
                });
                self.m.state.pending = None;
            }
        }
        // The active schedule carries the pending key: the switch is complete.
        if let Some(p) = self.m.state.pending.clone() {
            if obs.active_key == Some(p.to_key) {
                let predicted = self
                    .m
                    .said
                    .forecast
                    .take()
                    .filter(|(k, _)| *k == p.to_key)
                    .map(|(_, secs)| secs);
                self.emit(Event::KeyChangeConfirmed {
                    key: p.to_key,
                    datacenter: p.to.clone(),
                    seconds_since_trigger: (now - p.since_ms) as f64 / 1000.0,
                    predicted_seconds_since_trigger: predicted,
                });
                self.m.state.awaiting_block = Some(AwaitingBlock {
                    key: p.to_key,
                    datacenter: p.to.clone(),
                    since_ms: p.since_ms,
                });
                self.m.state.pending = None;
                self.m.said.overdue = None;
            }
        }
        // Blocks come from the new data center once one is seen signed with its key.
        if let (Some(a), Some(b)) = (&self.m.state.awaiting_block, obs.our_block) {
            if b.key == a.key {
                let e = Event::KeyProducing {
                    key: a.key,
                    datacenter: a.datacenter.clone(),
                    block: b.num,
                    seconds_since_trigger: (now - a.since_ms) as f64 / 1000.0,
                };
                self.m.state.awaiting_block = None;
                self.emit(e);
            }
        }
        if !matches!(d, Decision::Hold { .. }) {
            self.m.said.suppressed = None;
        }
        if !matches!(d, Decision::Confirming { .. }) {
            self.m.said.confirming = None;
        }
        match d {
            Decision::NotScheduled => {
                if !self.m.said.not_scheduled {
                    self.m.said.not_scheduled = true;
                    self.emit(Event::NotScheduled {
                        producer: self.setup.producer.clone(),
                    });
                }
            }
            Decision::Healthy { current, warning } => {
                self.m.said.not_scheduled = false;
                match warning {
                    Some(w) if !self.m.said.missing => {
                        self.m.said.missing = true;
                        self.emit(Event::PrimaryMissing {
                            datacenter: self.dc(*current),
                            detail: w.clone(),
                        });
                    }
                    Some(_) => {}
                    None => self.m.said.missing = false,
                }
            }
            Decision::Pending {
                to,
                ours,
                overdue,
                waited_secs,
            } => self.pending(*to, *ours, *overdue, *waited_secs, obs, manual),
            Decision::Confirming {
                missed,
                turns_seen,
                turns_needed,
                ..
            } => {
                if self.m.said.confirming != Some(((*missed).min(1), *turns_seen)) {
                    self.m.said.confirming = Some(((*missed).min(1), *turns_seen));
                    self.emit(Event::FailoverConfirming {
                        missed: *missed,
                        turns_seen: *turns_seen,
                        turns_needed: *turns_needed,
                    });
                }
            }
            Decision::Hold {
                reason,
                detail,
                trigger,
            } => self.hold(*reason, detail, trigger.as_ref(), obs.missed_now),
            Decision::Switch { from, to, trigger } => self.switch(*from, *to, trigger, forecast),
        }
    }

    fn hold(
        &mut self,
        reason: HoldReason,
        detail: &str,
        trigger: Option<&Trigger>,
        now_missed: u32,
    ) {
        let missed = match trigger {
            Some(Trigger::MissedBlocks { missed, .. }) => *missed,
            _ if reason == HoldReason::UnknownKey => now_missed,
            _ => 0,
        };
        let quiet = matches!(
            reason,
            HoldReason::ObserverBlind | HoldReason::EndpointsDisagree
        ) && trigger.is_none();
        // Under a foreign key, each further full turn missed is reported again.
        let new_turn_missed = |said: (HoldReason, u32)| {
            reason == HoldReason::UnknownKey
                && missed / PRODUCER_REPETITIONS > said.1 / PRODUCER_REPETITIONS
        };
        let changed = match self.m.said.suppressed {
            Some(said) => said.0 != reason || new_turn_missed(said),
            None => true,
        };
        if !quiet && changed {
            self.m.said.suppressed = Some((reason, missed));
            // The cooldown after a dry-run rehearsal is not a real hold.
            let rehearsed = self.setup.dry_run
                && reason == HoldReason::Cooldown
                && self
                    .m
                    .state
                    .hold_until_ms
                    .is_some_and(|until| self.now < until);
            self.emit(Event::FailoverSuppressed {
                reason: if rehearsed {
                    SuppressReason::DryRunRehearsed
                } else {
                    SuppressReason::Hold(reason)
                },
                detail: detail.to_string(),
                missed,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    //! The daemon's state machine, scenario by scenario, with an injected clock: the real
    //! [`decide`](crate::decision::decide) where a decision matters, then the transition.

    use super::*;
    use crate::decision::{decide, EndpointView, Inputs, Policy, Readiness};
    use crate::observer::schedule::ConsensusMode;
    use crate::observer::stats::{Participation, ProducerStats};
    use antelope::PrivateKey;

    /// 2026-12-01T12:00:00Z.
    const T0: i64 = 1_796_126_400_000;
    const COOLDOWN_MS: i64 = 180_000;

    fn key(seed: u8) -> PublicKey {
        PrivateKey::from_bytes(&[seed; 32]).unwrap().public_key()
    }

    fn dcs() -> Vec<DataCenter> {
        ["primary", "backup", "backup2"]
            .iter()
            .enumerate()
            .map(|(i, n)| DataCenter {
                name: n.to_string(),
                signing_key: key(i as u8 + 1),
            })
            .collect()
    }

    fn setup(dcs: &[DataCenter], dry_run: bool) -> Setup<'_> {
        Setup {
            producer: "ourproducer1".into(),
            dcs,
            cooldown_ms: COOLDOWN_MS,
            dry_run,
        }
    }

    fn step(m: &Machine, s: &Setup<'_>, now_ms: i64, step: Step) -> (Machine, Vec<Intent>) {
        transition(
            m,
            &Input {
                now_ms,
                setup: s,
                step,
            },
        )
    }

    fn decided(
        m: &Machine,
        s: &Setup<'_>,
        now: i64,
        decision: Decision,
        observed: Observed,
        manual: Option<ManualSwitch>,
    ) -> (Machine, Vec<Intent>) {
        let step_ = Step::Decided {
            decision,
            observed,
            manual,
            forecast: None,
        };
        step(m, s, now, step_)
    }

    fn observed(active: usize, table: usize) -> Observed {
        Observed {
            active_key: Some(key(active as u8 + 1)),
            table_key: Some(key(table as u8 + 1)),
            missed_now: 0,
            our_block: None,
        }
    }

    fn events(intents: &[Intent]) -> Vec<&Event> {
        intents
            .iter()
            .filter_map(|i| match i {
                Intent::Emit(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    fn names(intents: &[Intent]) -> Vec<&'static str> {
        events(intents).iter().map(|e| e.name()).collect()
    }

    fn pushes(intents: &[Intent]) -> usize {
        intents
            .iter()
            .filter(|i| matches!(i, Intent::Push { .. }))
            .count()
    }

    /// What the real `decide` says with data center `active`'s key in force and our
    /// producer down for two turns while the other 20 produce (the table holds `table`).
    fn decide_down(state: &State, now: i64, active: usize, table: usize) -> Decision {
        let stats = ProducerStats {
            consecutive_missed: 24,
            consecutive_key: Some(key(active as u8 + 1)),
            others_produced_during_run: 240,
            ..ProducerStats::default()
        };
        let part = Participation {
            turns: 20,
            turns_produced: 20,
            ..Participation::default()
        };
        let run = Participation {
            turns: 3,
            turns_produced: 3,
            ..Participation::default()
        };
        let readiness = vec![Readiness::Ready; 3];
        let inputs = Inputs {
            now_ms: now,
            endpoints: EndpointView::Quorum,
            mode: ConsensusMode::Savanna,
            head_time_ms: now,
            lib_advanced_at_ms: now,
            schedule_len: 21,
            active_key: Some(key(active as u8 + 1)),
            table_key: Some(key(table as u8 + 1)),
            stats: &stats,
            unconfirmed_missed: 0,
            participation: &part,
            run_participation: &run,
            readiness: &readiness,
            primary_ready_since_ms: None,
            next_proposal_slot: None,
            all_endpoints_agree: true,
        };
        let d = decide(&inputs, &dcs(), &Policy::default(), state);
        gate(d, state, now, false)
    }

    fn tx(n: u8) -> Checksum256 {
        Checksum256([n; 32])
    }

    /// Primary down: the push, our transaction saved before it leaves, its outcome.
    fn push_to_backup(m: &Machine, s: &Setup<'_>, now: i64) -> Machine {
        let d = decide_down(&m.state, now, 0, 0);
        assert!(
            matches!(d, Decision::Switch { from: 0, to: 1, .. }),
            "{d:?}"
        );
        let (m, out) = decided(m, s, now, d, observed(0, 0), None);
        assert_eq!(names(&out), ["failover_triggered"]);
        assert_eq!(
            out.last(),
            Some(&Intent::Push {
                to: 1,
                dry_run: false
            })
        );
        let (m, out) = step(
            &m,
            s,
            now,
            Step::Signed {
                to: 1,
                tx_id: Some(tx(7)),
                expires_ms: now + 60_000,
            },
        );
        assert_eq!(out, [Intent::Save], "saved before the push");
        let p = m.state.pending.clone().expect("pending before the push");
        assert!(p.ours && p.to_key == key(2) && p.tx_id == Some(tx(7)));
        let (m, out) = step(
            &m,
            s,
            now,
            Step::Pushed {
                to: 1,
                outcome: PushOutcome::Pushed {
                    tx_id: tx(7),
                    endpoint: "http://127.0.0.1:1".into(),
                    latency_ms: 5,
                    attempt: 1,
                },
            },
        );
        assert_eq!(names(&out), ["transaction_pushed"]);
        m
    }

    #[test]
    fn primary_down_pushes_then_the_table_and_the_schedule_confirm_it() {
        let dcs = dcs();
        let s = setup(&dcs, false);
        let m = push_to_backup(&Machine::default(), &s, T0);
        // While our transaction may still land, the decision waits: no second push.
        let d = decide_down(&m.state, T0 + 1_000, 0, 0);
        assert!(
            matches!(
                d,
                Decision::Hold {
                    reason: HoldReason::PendingTransaction,
                    ..
                }
            ),
            "{d:?}"
        );
        let (m, out) = decided(&m, &s, T0 + 1_000, d, observed(0, 0), None);
        assert_eq!(pushes(&out), 0);
        // The table holds the key: recorded once as our automatic switch.
        let d = decide_down(&m.state, T0 + 3_000, 0, 1);
        assert!(
            matches!(
                d,
                Decision::Pending {
                    to: 1,
                    ours: true,
                    ..
                }
            ),
            "{d:?}"
        );
        let (m, out) = decided(&m, &s, T0 + 3_000, d.clone(), observed(0, 1), None);
        assert_eq!(names(&out), ["key_registered"]);
        assert!(out.contains(&Intent::Save));
        let r = m.state.last_switch().expect("recorded");
        assert!(r.automatic && r.at_ms == T0 && r.tx_id == Some(tx(7)) && r.from == "primary");
        let (m, out) = decided(&m, &s, T0 + 3_500, d, observed(0, 1), None);
        assert!(out.is_empty(), "said once: {out:?}");
        assert_eq!(m.state.switches.len(), 1);
        // The schedule carries it: confirmed, nothing pending, and the cooldown follows
        // from the record.
        let (m, out) = decided(
            &m,
            &s,
            T0 + 90_000,
            Decision::Healthy {
                current: 1,
                warning: None,
            },
            observed(1, 1),
            None,
        );
        assert_eq!(names(&out), ["key_change_confirmed"]);
        assert!(m.state.pending.is_none() && out.contains(&Intent::Save));
        let d = decide_down(&m.state, T0 + 100_000, 1, 1);
        assert!(
            matches!(
                d,
                Decision::Hold {
                    reason: HoldReason::Cooldown,
                    ..
                }
            ),
            "{d:?}"
        );
        assert_eq!(m.state.automatic_switches_last_day(T0 + 100_000), 1);
    }

    #[test]
    fn blocks_come_from_the_backup_only_once_a_block_under_its_key_is_seen() {
        let dcs = dcs();
        let s = setup(&dcs, false);
        let mut m = Machine::default();
        m.state.pending = Some(PendingSwitch {
            to: "backup".into(),
            to_key: key(2),
            since_ms: T0,
            tx_id: Some(tx(1)),
            expires_ms: Some(T0 + 60_000),
            ours: true,
        });
        let healthy = Decision::Healthy {
            current: 1,
            warning: None,
        };
        let mut obs = observed(1, 1);
        // The last block of ours was still the primary's.
        obs.our_block = Some(OurBlock {
            num: 100,
            key: key(1),
        });
        let (m, out) = decided(&m, &s, T0 + 90_000, healthy.clone(), obs.clone(), None);
        assert_eq!(names(&out), ["key_change_confirmed"]);
        let (m, out) = decided(&m, &s, T0 + 95_000, healthy.clone(), obs.clone(), None);
        assert!(names(&out).is_empty(), "no block under the new key yet");
        obs.our_block = Some(OurBlock {
            num: 300,
            key: key(2),
        });
        let (m, out) = decided(&m, &s, T0 + 120_000, healthy.clone(), obs.clone(), None);
        match events(&out)[..] {
            [Event::KeyProducing {
                key: k,
                datacenter,
                block: 300,
                seconds_since_trigger,
            }] => {
                assert_eq!((*k, datacenter.as_str()), (key(2), "backup"));
                assert_eq!(*seconds_since_trigger, 120.0);
            }
            ref other => panic!("{other:?}"),
        }
        let (_, out) = decided(&m, &s, T0 + 121_000, healthy, obs, None);
        assert!(out.is_empty(), "said once");
    }

    /// Issue 12: a daemon restarted between the confirmation and the backup's first block
    /// (the state saved, written to a file and read back) still reports `key_producing`;
    /// a file written before the field existed loads with nothing awaited.
    #[test]
    fn key_producing_survives_a_restart_before_the_first_block() {
        let dcs = dcs();
        let s = setup(&dcs, false);
        let mut m = Machine::default();
        m.state.pending = Some(PendingSwitch {
            to: "backup".into(),
            to_key: key(2),
            since_ms: T0,
            tx_id: Some(tx(1)),
            expires_ms: Some(T0 + 60_000),
            ours: true,
        });
        let healthy = Decision::Healthy {
            current: 1,
            warning: None,
        };
        let mut obs = observed(1, 1);
        obs.our_block = Some(OurBlock {
            num: 100,
            key: key(1),
        });
        let (m, out) = decided(&m, &s, T0 + 90_000, healthy.clone(), obs.clone(), None);
        assert_eq!(names(&out), ["key_change_confirmed"]);
        assert!(out.contains(&Intent::Save), "{out:?}");
        // Restart: only the persisted state survives.
        let saved = serde_json::to_string(&m.state).unwrap();
        let restarted = Machine::new(State::parse(&saved).unwrap());
        obs.our_block = Some(OurBlock {
            num: 300,
            key: key(2),
        });
        let (m, out) = decided(&restarted, &s, T0 + 120_000, healthy.clone(), obs, None);
        match events(&out)[..] {
            [Event::KeyProducing {
                key: k,
                datacenter,
                block: 300,
                ..
            }] => assert_eq!((*k, datacenter.as_str()), (key(2), "backup")),
            ref other => panic!("{other:?}"),
        }
        assert!(m.state.awaiting_block.is_none() && out.contains(&Intent::Save));
        let old = State::parse(r#"{"version": 1, "switches": [], "pending": null}"#).unwrap();
        assert_eq!(old.awaiting_block, None);
    }

    #[test]
    fn another_observer_winning_is_info_and_recorded_once() {
        let dcs = dcs();
        let s = setup(&dcs, false);
        let d = decide_down(&State::new(), T0, 0, 1);
        assert!(
            matches!(
                d,
                Decision::Pending {
                    to: 1,
                    ours: false,
                    ..
                }
            ),
            "{d:?}"
        );
        let (m, out) = decided(&Machine::default(), &s, T0, d.clone(), observed(0, 1), None);
        match events(&out)[..] {
            [e @ Event::FailoverSuppressed {
                reason: SuppressReason::AlreadySwitched,
                ..
            }] => assert_eq!(e.level(), crate::events::Level::Info),
            ref other => panic!("{other:?}"),
        }
        assert_eq!(pushes(&out), 0);
        let p = m.state.pending.as_ref().unwrap();
        assert!(!p.ours && p.tx_id.is_none());
        // Another observer's automatic switch counts against the shared flap budget (the
        // observers run one policy), but is not ours.
        let r = m.state.last_switch().unwrap();
        assert!(r.automatic && r.reason == "observed on chain" && r.tx_id.is_none());
        let (m, out) = decided(&m, &s, T0 + 500, d, observed(0, 1), None);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(m.state.switches.len(), 1);
    }

    #[test]
    fn a_manual_switch_handed_over_is_manual_and_outside_the_flap_budget() {
        let dcs = dcs();
        let s = setup(&dcs, false);
        let manual = ManualSwitch {
            at_ms: T0 - 5_000,
            from: "primary".into(),
            to: "backup".into(),
            to_key: key(2),
        };
        let d = Decision::Pending {
            to: 1,
            ours: false,
            overdue: false,
            waited_secs: 0,
        };
        let (m, out) = decided(
            &Machine::default(),
            &s,
            T0,
            d.clone(),
            observed(0, 1),
            Some(manual.clone()),
        );
        assert!(out.contains(&Intent::ConsumeManual));
        assert_eq!(m.state.switches.len(), 1, "{:?}", m.state.switches);
        let r = m.state.last_switch().unwrap();
        assert!(!r.automatic && r.at_ms == manual.at_ms, "{r:?}");
        assert_eq!(m.state.automatic_switches_last_day(T0), 0);
        // A stale record (a push that never landed) does not make a later switch manual.
        let stale = ManualSwitch {
            at_ms: T0 - MANUAL_FRESH_MS - 1,
            ..manual
        };
        let (m, out) = decided(&Machine::default(), &s, T0, d, observed(0, 1), Some(stale));
        assert!(out.contains(&Intent::ConsumeManual), "consumed anyway");
        assert_eq!(m.state.automatic_switches_last_day(T0), 1);
    }

    #[test]
    fn a_restart_mid_pending_neither_pushes_again_nor_records_twice() {
        let dcs = dcs();
        let s = setup(&dcs, false);
        let m = push_to_backup(&Machine::default(), &s, T0);
        let d = decide_down(&m.state, T0 + 3_000, 0, 1);
        let (m, _) = decided(&m, &s, T0 + 3_000, d, observed(0, 1), None);
        // Restart: only the persisted state comes back.
        let text = serde_json::to_string(&m.state).unwrap();
        let reloaded = Machine::new(serde_json::from_str(&text).unwrap());
        let now = T0 + 10_000;
        let d = decide_down(&reloaded.state, now, 0, 1);
        assert!(
            matches!(
                d,
                Decision::Pending {
                    to: 1,
                    ours: true,
                    ..
                }
            ),
            "{d:?}"
        );
        let (after, out) = decided(&reloaded, &s, now, d, observed(0, 1), None);
        assert_eq!(pushes(&out), 0);
        assert_eq!(names(&out), ["key_registered"], "ours, not someone else's");
        assert_eq!(after.state.switches.len(), 1, "not recorded twice");
        // Restarted before the table showed it: still no second push while it may land.
        let m = push_to_backup(&Machine::default(), &s, T0);
        let reloaded = Machine::new(m.state.clone());
        let d = decide_down(&reloaded.state, T0 + 2_000, 0, 0);
        let (_, out) = decided(&reloaded, &s, T0 + 2_000, d, observed(0, 0), None);
        assert_eq!(pushes(&out), 0);
        assert_eq!(names(&out), ["failover_suppressed"]);
    }

    #[test]
    fn an_expired_transaction_of_ours_is_failed_and_cleared() {
        let dcs = dcs();
        let s = setup(&dcs, false);
        let m = push_to_backup(&Machine::default(), &s, T0);
        let d = decide_down(&m.state, T0 + 61_000, 0, 0);
        let (m, out) = decided(&m, &s, T0 + 61_000, d.clone(), observed(0, 0), None);
        assert!(m.state.pending.is_none());
        assert_eq!(
            out.first().and_then(|i| match i {
                Intent::Emit(e) => Some(e.name()),
                _ => None,
            }),
            Some("transaction_failed"),
            "reported before any re-push"
        );
        assert!(out.contains(&Intent::Save));
        // The decision was taken on the old state (pending): the next round pushes again.
        let d = decide_down(&m.state, T0 + 61_500, 0, 0);
        assert!(matches!(d, Decision::Switch { to: 1, .. }), "{d:?}");
    }

    #[test]
    fn a_refused_push_holds_a_persisted_cooldown() {
        let dcs = dcs();
        let s = setup(&dcs, false);
        let d = decide_down(&State::new(), T0, 0, 0);
        let (m, _) = decided(&Machine::default(), &s, T0, d, observed(0, 0), None);
        let (m, _) = step(
            &m,
            &s,
            T0,
            Step::Signed {
                to: 1,
                tx_id: Some(tx(3)),
                expires_ms: T0 + 60_000,
            },
        );
        let (m, out) = step(
            &m,
            &s,
            T0,
            Step::Pushed {
                to: 1,
                outcome: PushOutcome::Failed("missing authority".into()),
            },
        );
        assert_eq!(names(&out), ["transaction_failed"]);
        assert!(out.contains(&Intent::Save));
        assert!(m.state.pending.is_none());
        assert_eq!(m.state.hold_until_ms, Some(T0 + COOLDOWN_MS));
        // Reloaded from disk, the hold is still there; it ends with the cooldown.
        let reloaded = Machine::new(m.state.clone());
        let d = decide_down(&reloaded.state, T0 + 10_000, 0, 0);
        assert!(
            matches!(
                d,
                Decision::Hold {
                    reason: HoldReason::Cooldown,
                    ..
                }
            ),
            "{d:?}"
        );
        let (_, out) = decided(&reloaded, &s, T0 + 10_000, d, observed(0, 0), None);
        assert!(matches!(
            events(&out)[..],
            [Event::FailoverSuppressed {
                reason: SuppressReason::Hold(HoldReason::Cooldown),
                ..
            }]
        ));
        let d = decide_down(&reloaded.state, T0 + COOLDOWN_MS, 0, 0);
        assert!(matches!(d, Decision::Switch { to: 1, .. }), "{d:?}");
    }

    #[test]
    fn the_flap_budget_counts_automatic_switches_only_and_holds() {
        let dcs = dcs();
        let s = setup(&dcs, false);
        let mut m = Machine::default();
        let day = 24 * 3600 * 1000;
        // Three automatic switches (ours, via the table), an hour apart.
        for n in 0..3 {
            let now = T0 - day / 2 + n * 3_600_000;
            let (from, to) = if n % 2 == 0 { (0, 1) } else { (1, 0) };
            let (next, _) = decided(
                &m,
                &s,
                now,
                Decision::Pending {
                    to,
                    ours: false,
                    overdue: false,
                    waited_secs: 0,
                },
                observed(from, to),
                None,
            );
            let (next, _) = decided(
                &next,
                &s,
                now + 60_000,
                Decision::Healthy {
                    current: to,
                    warning: None,
                },
                observed(to, to),
                None,
            );
            m = next;
        }
        assert_eq!(m.state.automatic_switches_last_day(T0), 3);
        let m = Machine::new(m.state.clone());
        let d = decide_down(&m.state, T0, 1, 1);
        assert!(
            matches!(
                d,
                Decision::Hold {
                    reason: HoldReason::FlapBudget,
                    ..
                }
            ),
            "{d:?}"
        );
        let (m2, out) = decided(&m, &s, T0, d.clone(), observed(1, 1), None);
        assert_eq!(names(&out), ["failover_suppressed"]);
        assert_eq!(pushes(&out), 0);
        let (_, out) = decided(&m2, &s, T0 + 500, d, observed(1, 1), None);
        assert!(out.is_empty(), "said once");
        // Had one of them been manual, the budget would allow this switch.
        let mut manual = m.state.clone();
        manual.switches[0].automatic = false;
        let d = decide_down(&manual, T0, 1, 1);
        assert!(
            matches!(
                d,
                Decision::Switch { from: 1, to: 0, .. } | Decision::Switch { from: 1, to: 2, .. }
            ),
            "{d:?}"
        );
    }

    #[test]
    fn a_dry_run_rehearses_once_and_persists_no_switch() {
        let dcs = dcs();
        let s = setup(&dcs, true);
        let d = decide_down(&State::new(), T0, 0, 0);
        let (m, out) = decided(&Machine::default(), &s, T0, d, observed(0, 0), None);
        match events(&out)[..] {
            [Event::FailoverTriggered { dry_run: true, .. }] => {}
            ref other => panic!("{other:?}"),
        }
        assert_eq!(
            out.last(),
            Some(&Intent::Push {
                to: 1,
                dry_run: true
            })
        );
        let (m, out) = step(
            &m,
            &s,
            T0,
            Step::Pushed {
                to: 1,
                outcome: PushOutcome::DryRun {
                    tx_id: tx(9),
                    body: serde_json::json!({}),
                    validation: "ok".into(),
                },
            },
        );
        assert_eq!(names(&out), ["dry_run_transaction"]);
        assert!(m.state.switches.is_empty() && m.state.pending.is_none());
        assert_eq!(m.state.hold_until_ms, Some(T0 + COOLDOWN_MS));
        // Not repeated during the cooldown; said as a rehearsal, not a real hold.
        let d = gate(
            decide_down(&m.state, T0 + 1_000, 0, 0),
            &m.state,
            T0 + 1_000,
            true,
        );
        let (_, out) = decided(&m, &s, T0 + 1_000, d, observed(0, 0), None);
        assert_eq!(pushes(&out), 0);
        assert!(matches!(
            events(&out)[..],
            [Event::FailoverSuppressed {
                reason: SuppressReason::DryRunRehearsed,
                ..
            }]
        ));
    }

    #[test]
    fn a_new_key_in_force_is_saved_once() {
        let dcs = dcs();
        let s = setup(&dcs, false);
        let seen =
            |m: &Machine, from_slot, k| step(m, &s, T0, Step::KeyInForce { from_slot, key: k });
        let (m, out) = seen(&Machine::default(), 120, key(1));
        assert_eq!(out, [Intent::Save]);
        let (m, out) = seen(&m, 132, key(1));
        assert!(out.is_empty(), "the same key: nothing new");
        let (m, out) = seen(&m, 240, key(2));
        assert_eq!(out, [Intent::Save]);
        assert_eq!(m.state.key_at(200), Some(key(1)));
        assert_eq!(m.state.key_at(240), Some(key(2)));
    }

    #[test]
    fn the_state_is_saved_before_a_push_leaves() {
        let dcs = dcs();
        let s = setup(&dcs, false);
        // An expired transaction of ours is cleared in the same round that pushes again.
        let mut m = push_to_backup(&Machine::default(), &s, T0);
        m.state.hold_until_ms = None;
        let d = Decision::Switch {
            from: 0,
            to: 1,
            trigger: Trigger::MissedBlocks {
                missed: 24,
                key: key(1),
                solo: true,
                before_proposal: None,
            },
        };
        let (m, out) = decided(&m, &s, T0 + 61_000, d, observed(0, 0), None);
        let save = out.iter().position(|i| *i == Intent::Save).expect("saved");
        let push = out
            .iter()
            .position(|i| matches!(i, Intent::Push { .. }))
            .expect("pushed");
        assert!(save < push, "{out:?}");
        assert!(m.state.pending.is_none());
    }
}
