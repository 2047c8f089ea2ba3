//! The built-in scenarios: each one's network, script of changes, run length, expected
//! outcome and reason, built from [`Params`].

use super::{Expect, Injected, MsigSetup, Params, Reason, Scenario};
use crate::decision::{HoldReason, Policy};
use crate::events::QuorumStatus;
use crate::sim::chain::{finality_threshold, ChainSpec, Consensus, DcStatus, REPETITIONS};
use crate::sim::error::NodeError;
use crate::sim::network::{Behavior, Change, Event, ForkSpec, NetworkSpec};

pub(super) type Build = fn(&Ctx) -> Scenario;

pub(super) const BUILTINS: &[(&str, &str, Build)] = &[
    (
        "primary-down",
        "The primary data center goes dark early in the run; the backup is synced. The \
         observer should switch the key to the backup once, and the backup then produces.",
        |c| {
            let mut s = c.base(3);
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.expect = Expect::Switch {
                to: "backup".into(),
                count: 1,
            };
            s.reason = Reason::Triggered;
            s
        },
    ),
    (
        "healthy",
        "Everything works for several rotations. Nothing must happen.",
        |c| {
            let mut s = c.base(3);
            s.reason = Reason::Healthy;
            s
        },
    ),
    (
        "primary-and-backup-down",
        "The primary goes dark; once the backup holds the key it goes dark too. The observer \
         switches to the backup, holds through the cooldown, then switches to backup2: two \
         key changes.",
        |c| {
            let mut s = c.base(3);
            let backup_down = s.run_slots;
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.spec
                .events
                .push(c.dc_at(backup_down, "backup", DcStatus::Down));
            // The second switch waits for the cooldown from the first decision, made
            // before `backup_down`; then the schedule tick and activation, and a margin.
            s.run_slots = backup_down
                + c.cooldown_slots()
                + c.params.schedule_tick_slots
                + 2 * REPETITIONS
                + c.rotation();
            s.expect = Expect::Switch {
                to: "backup2".into(),
                count: 2,
            };
            s.reason = Reason::Triggered;
            s
        },
    ),
    (
        "handoff-misses",
        "Savanna: our producer loses the first 2 slots of every one of its turns (the \
         previous producer's last blocks reach it late). The misses reset at our next \
         block and never add up: no switch, not even a warning.",
        |c| {
            let mut s = c.base(3);
            s.spec.events.push(Event {
                at: 0,
                change: Change::HandoffMisses(2),
            });
            s.run_slots += c.rotation() * 2;
            s.reason = Reason::Healthy;
            s
        },
    ),
    (
        "legacy-primary-down",
        "Legacy DPoS: the primary dies and the switch to the backup takes minutes to become \
         active (LIB must pass the proposal twice). Our producer keeps missing turns during \
         the handoff; the observer must report the change pending and neither push again \
         nor switch to backup2 meanwhile.",
        |c| {
            let mut s = c.base(3);
            s.spec.chain.consensus = Consensus::Legacy;
            s.spec.chain.warmup_slots = s.spec.chain.warmup_slots.max(c.rotation() * 4);
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            // LIB lags about 2 × (2N/3+1) turns; two promotions need twice that.
            s.run_slots = c.rotation() * 5 + 4 * REPETITIONS * finality_threshold(c.n) as u32;
            s.expect = Expect::Switch {
                to: "backup".into(),
                count: 1,
            };
            s.reason = Reason::Triggered;
            s
        },
    ),
    (
        "minority-fork",
        "A third of the producers split off onto a minority fork that our data centers are \
         not on, and two of the observer's three endpoints follow that fork, where our \
         producer looks dead. Most other producers are silent there too: low \
         participation, no switch.",
        |c| {
            let mut s = c.base(3);
            s.spec.endpoints[1] = Behavior::Fork;
            s.spec.endpoints[2] = Behavior::Fork;
            s.spec.events.push(Event {
                at: c.early(),
                change: Change::Split(ForkSpec {
                    producers: c.minority(),
                    datacenters: vec![],
                }),
            });
            s.reason = Reason::Suppressed(HoldReason::LowParticipation);
            s
        },
    ),
    (
        "fork-endpoint",
        "A third of the producers split off onto a minority fork; one of the observer's \
         three endpoints follows it, where our producer looks dead. The majority sees us \
         producing: the fork endpoint is excluded, no switch.",
        |c| {
            let mut s = c.base(3);
            s.spec.endpoints[2] = Behavior::Fork;
            s.spec.events.push(Event {
                at: c.early(),
                change: Change::Split(ForkSpec {
                    producers: c.minority(),
                    datacenters: vec![],
                }),
            });
            s.reason = Reason::Healthy;
            s
        },
    ),
    (
        "network-halted",
        "Every producer stops (a chain-wide halt). Our missed blocks are not our outage: no \
         switch; the endpoints go stale and the observer reports itself blind.",
        |c| {
            let mut s = c.base(3);
            s.spec.events.push(Event {
                at: c.early(),
                change: Change::Halt(true),
            });
            s.reason = Reason::Quorum(QuorumStatus::ObserverBlind);
            s
        },
    ),
    (
        "lib-stalled",
        "Enough finalizers stop voting that finality stalls (fewer than 2N/3+1 votes) while \
         every other producer still produces; then our primary dies. A key change cannot \
         take effect without finality: no switch.",
        |c| {
            let mut s = c.base(3);
            s.spec.events.push(Event {
                at: 0,
                change: Change::VotesWithheld(c.n + 1 - finality_threshold(c.n)),
            });
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.reason = Reason::Suppressed(HoldReason::LibStalled);
            s
        },
    ),
    (
        "endpoints-disagree",
        "The network splits in halves: one endpoint follows each half (our primary is on \
         the fork half), the third lags. No quorum of endpoints agrees on a chain where we \
         are missing blocks: no switch.",
        |c| {
            let mut s = c.base(3);
            s.spec.endpoints[1] = Behavior::Fork;
            s.spec.endpoints[2] = Behavior::Lag(REPETITIONS * 2);
            s.spec.events.push(Event {
                at: c.early(),
                change: Change::Split(ForkSpec {
                    producers: c.n / 2,
                    datacenters: vec!["primary".into()],
                }),
            });
            s.reason = Reason::Quorum(QuorumStatus::EndpointsDisagree);
            s
        },
    ),
    (
        "stale-endpoint",
        "One of three endpoints freezes (its head stops moving), then the primary dies. The \
         two live endpoints are a majority: switch to the backup once.",
        |c| {
            let mut s = c.base(3);
            s.spec.events.push(Event {
                at: REPETITIONS,
                change: Change::Endpoint {
                    index: 1,
                    behavior: Behavior::Stale,
                },
            });
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.expect = Expect::Switch {
                to: "backup".into(),
                count: 1,
            };
            s.reason = Reason::Triggered;
            s
        },
    ),
    (
        "wrong-chain",
        "One of three endpoints serves another chain (other chain id, other blocks); the \
         primary dies. The endpoint must be ignored and the switch made through the others.",
        |c| {
            let mut s = c.base(3);
            s.spec.endpoints[2] = Behavior::WrongChain;
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.expect = Expect::Switch {
                to: "backup".into(),
                count: 1,
            };
            s.reason = Reason::Triggered;
            s
        },
    ),
    (
        "backup-not-ready",
        "The backup's node is far behind (not synced) when the primary dies; backup2 is \
         ready. The observer should skip the backup and switch to backup2.",
        |c| {
            let mut s = c.base(3);
            s.spec
                .events
                .push(c.dc_at(0, "backup", DcStatus::Lagging(REPETITIONS * 50)));
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.expect = Expect::Switch {
                to: "backup2".into(),
                count: 1,
            };
            s.reason = Reason::Triggered;
            s
        },
    ),
    (
        "no-ready-backup",
        "Two data centers only: the backup's node is far behind (not synced) when the \
         primary dies. Switching to a node that cannot produce helps nobody: no switch.",
        |c| {
            let mut s = c.base(3);
            s.spec.chain.datacenters.truncate(2);
            s.spec
                .events
                .push(c.dc_at(0, "backup", DcStatus::Lagging(REPETITIONS * 50)));
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.reason = Reason::Suppressed(HoldReason::NoReadyBackup);
            s
        },
    ),
    (
        "tx-rejected-then-retried",
        "The primary dies; the first push of the key switch fails on every endpoint with a \
         transient tx_cpu_usage_exceeded (3080004). The observer retries with a fresh \
         transaction and the switch lands once.",
        |c| {
            let mut s = c.base(3);
            let endpoints = s.spec.endpoints.len();
            s.spec.events.push(Event {
                at: 0,
                change: Change::PushFailures(vec![NodeError::cpu_exceeded(); endpoints]),
            });
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.expect = Expect::Switch {
                to: "backup".into(),
                count: 1,
            };
            s.reason = Reason::Triggered;
            s
        },
    ),
    (
        "three-observers",
        "Three observers watch the same producer when the primary dies. They may each push, \
         but they must agree: one key change, to the backup, and no flapping over a run \
         that lasts well past the cooldown.",
        |c| {
            let mut s = c.base(3);
            s.observers = 3;
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.run_slots += c.cooldown_slots() + c.rotation() * 2;
            s.expect = Expect::Switch {
                to: "backup".into(),
                count: 1,
            };
            s.reason = Reason::Triggered;
            s
        },
    ),
    (
        "msig-one-observer",
        "k-of-n: three observers through eosio.msig, 2 approvals needed, and only one \
         observer runs when the primary dies. It proposes the switch and approves it; one \
         approval of two executes nothing: no switch.",
        |c| {
            let mut s = c.msig(3);
            if let Some(m) = &mut s.msig {
                m.running = 1;
                m.left = vec![("obs1".into(), 1)];
            }
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.reason = Reason::Unapproved;
            s
        },
    ),
    (
        "msig-two-of-three",
        "k-of-n: three observers through eosio.msig, 2 approvals needed, when the primary \
         dies. They converge on one proposal; the second approval executes it: one key \
         change, to the backup, and no proposal left.",
        |c| {
            let mut s = c.msig(3);
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.expect = Expect::Switch {
                to: "backup".into(),
                count: 1,
            };
            s.reason = Reason::Triggered;
            s
        },
    ),
    (
        "msig-confused-observer",
        "k-of-n: the producer is healthy, and one observer with a wrong view of the network \
         (a lying endpoint, a partition of its own) has proposed the switch to the backup \
         and approved it. The two others see a healthy producer and never approve: no \
         switch, the proposal stays with its one approval.",
        |c| {
            let mut s = c.msig(3);
            if let Some(m) = &mut s.msig {
                m.running = 3;
                m.injected = Some(Injected::Confused);
                m.left = vec![("obs1".into(), 1)];
            }
            s.reason = Reason::Healthy;
            s
        },
    ),
    (
        "msig-foreign-proposal",
        "k-of-n: before the primary dies, a stolen observer key (obs3's, that observer \
         stopped) proposes under the incident's name a switch to its own key. The honest \
         observers report it and never approve it, and switch to the backup through their \
         own proposal.",
        |c| {
            let mut s = c.msig(3);
            if let Some(m) = &mut s.msig {
                m.running = 2;
                m.injected = Some(Injected::Foreign);
                m.left = vec![("obs3".into(), 0)];
            }
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.expect = Expect::Switch {
                to: "backup".into(),
                count: 1,
            };
            s.reason = Reason::ForeignRejected;
            s
        },
    ),
];

/// Helpers for building scenarios from [`Params`].
pub(super) struct Ctx {
    n: usize,
    params: Params,
}

impl Ctx {
    pub(super) fn new(params: &Params) -> Self {
        Ctx {
            n: params.producers.max(1),
            params: *params,
        }
    }

    fn rotation(&self) -> u32 {
        self.n as u32 * REPETITIONS
    }

    /// Two turns in: after the observer has seen a few healthy blocks.
    fn early(&self) -> u32 {
        REPETITIONS * 2
    }

    fn dc_at(&self, at: u32, name: &str, status: DcStatus) -> Event {
        Event {
            at,
            change: Change::Datacenter {
                name: name.into(),
                status,
            },
        }
    }

    fn base(&self, endpoints: usize) -> Scenario {
        let mut chain = ChainSpec::new(self.n, self.params.start_slot);
        chain.consensus = self.params.consensus;
        chain.schedule_tick_slots = self.params.schedule_tick_slots;
        Scenario {
            name: "",
            description: "",
            spec: NetworkSpec {
                chain,
                endpoints: vec![Behavior::Normal; endpoints],
                clock: self.params.clock,
                events: Vec::new(),
            },
            observers: 1,
            // Detection (up to a rotation plus a turn), the schedule tick, Savanna
            // activation (≤ 24 slots), and a rotation for the new data center to produce.
            run_slots: self.rotation() * 3 + self.params.schedule_tick_slots + 2 * REPETITIONS,
            expect: Expect::NoSwitch,
            reason: Reason::Healthy,
            msig: None,
        }
    }

    /// 2-of-3 observers through `eosio.msig`, all running, all reading every endpoint.
    fn msig(&self, endpoints: usize) -> Scenario {
        let mut s = self.base(endpoints);
        s.observers = 3;
        s.msig = Some(MsigSetup {
            threshold: 2,
            running: 3,
            endpoints: Vec::new(),
            injected: None,
            left: Vec::new(),
        });
        s
    }

    /// Producers other than ours that follow a minority fork: about a third.
    fn minority(&self) -> usize {
        (self.n / 3).saturating_sub(1).max(1)
    }

    /// The default policy's cooldown between two switches, in slots.
    fn cooldown_slots(&self) -> u32 {
        u32::try_from(Policy::default().cooldown_secs * 2).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn every_builtin_builds_with_4_and_21_producers() {
        for n in [4, 21] {
            let p = Params {
                producers: n,
                start_slot: 1_000_000,
                ..Params::default()
            };
            let all = all(&p);
            assert_eq!(all.len(), list().len());
            for s in all {
                assert!(!s.description.is_empty(), "{}", s.name);
                assert!(s.run_slots > 0);
            }
        }
        assert_eq!(list()[0].0, "primary-down");
        assert!(builtin("nope", &Params::default()).is_none());
    }
}
