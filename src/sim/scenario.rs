//! Named failure scenarios: a network (producers, data centers, endpoint behaviours), a
//! script of changes at slots counted from the start, how long to run, how many observers
//! to run against it, and the expected outcome.
//!
//! The outcome is judged on the main chain after `run_slots` ([`Scenario::check`]):
//! - `Switch { to, count }`: exactly `count` accepted key switches *changed* our producer's
//!   registered key (several observers pushing the same key count once), the registered
//!   key is `to`'s, and the active schedule signs with it (the switch took effect);
//! - `NoSwitch`: no accepted transaction changed the key.
//!
//! Slots in scripts scale with the producer count, so scenarios stay meaningful with the
//! 4 producers tests use and the 21 of a real chain. Run lengths assume the observer's
//! default policy (a full missed turn of 12 blocks before failing over).

use super::chain::{finality_threshold, ChainSpec, Consensus, DcStatus, REPETITIONS};
use super::error::NodeError;
use super::network::{
    current_slot, Behavior, Change, Clock, Event, ForkSpec, Network, NetworkSpec,
};

/// What should have happened by the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Switch { to: String, count: usize },
    NoSwitch,
}

/// One scenario, ready to start with [`Network::start`]`(scenario.spec.clone())`.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    pub spec: NetworkSpec,
    /// Observers to run at once against the network.
    pub observers: usize,
    /// Slots to run before checking the outcome.
    pub run_slots: u32,
    pub expect: Expect,
}

/// Knobs shared by every built-in scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub producers: usize,
    pub consensus: Consensus,
    pub schedule_tick_slots: u32,
    /// Slot the network starts at (default: now).
    pub start_slot: u32,
    pub clock: Clock,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            producers: 21,
            consensus: Consensus::Savanna,
            schedule_tick_slots: super::chain::SCHEDULE_TICK_SLOTS,
            start_slot: current_slot(),
            clock: Clock::Manual,
        }
    }
}

/// `(name, description)` of every built-in scenario, the default (`primary-down`) first.
pub fn list() -> Vec<(&'static str, &'static str)> {
    BUILTINS.iter().map(|(n, d, _)| (*n, *d)).collect()
}

/// The built-in scenario called `name`.
pub fn builtin(name: &str, params: &Params) -> Option<Scenario> {
    BUILTINS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(n, d, build)| {
            let mut s = build(&Ctx::new(params));
            s.name = n;
            s.description = d;
            s
        })
}

/// Every built-in scenario.
pub fn all(params: &Params) -> Vec<Scenario> {
    list()
        .iter()
        .filter_map(|(n, _)| builtin(n, params))
        .collect()
}

type Build = fn(&Ctx) -> Scenario;

const BUILTINS: &[(&str, &str, Build)] = &[
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
            s
        },
    ),
    (
        "healthy",
        "Everything works for several rotations. Nothing must happen.",
        |c| {
            let mut s = c.base(3);
            s.expect = Expect::NoSwitch;
            s
        },
    ),
    (
        "primary-and-backup-down",
        "Both data centers (there is no third) go dark. Switching to a dead node helps \
         nobody: no switch.",
        |c| {
            let mut s = c.base(3);
            s.spec.chain.datacenters.truncate(2);
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.spec
                .events
                .push(c.dc_at(c.early(), "backup", DcStatus::Down));
            s.expect = Expect::NoSwitch;
            s
        },
    ),
    (
        "handoff-misses",
        "Legacy DPoS: the primary dies and the switch to the backup takes minutes to become \
         active (LIB must pass the proposal twice). Our producer keeps missing turns during \
         the handoff; the observer must not switch again (to backup2) meanwhile.",
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
            s
        },
    ),
    (
        "minority-fork",
        "A third of the producers split off onto a minority fork that our data centers are \
         not on; one of three endpoints follows that fork, where our producer looks dead. \
         The majority sees us producing: no switch.",
        |c| {
            let mut s = c.base(3);
            s.spec.endpoints[2] = Behavior::Fork;
            s.spec.events.push(Event {
                at: c.early(),
                change: Change::Split(ForkSpec {
                    producers: (c.n / 3).saturating_sub(1).max(1),
                    datacenters: vec![],
                }),
            });
            s.expect = Expect::NoSwitch;
            s
        },
    ),
    (
        "network-halted",
        "Every producer stops (a chain-wide halt). Our missed blocks are not our outage: no \
         switch.",
        |c| {
            let mut s = c.base(3);
            s.spec.events.push(Event {
                at: c.early(),
                change: Change::Halt(true),
            });
            s.expect = Expect::NoSwitch;
            s
        },
    ),
    (
        "lib-stalled",
        "Our primary dies together with enough other producers that finality stalls \
         (fewer than 2N/3+1 finalizers). Low participation: no switch.",
        |c| {
            let mut s = c.base(3);
            let others_down = (c.n - 1).saturating_sub(c.n * 2 / 3);
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.spec.events.push(Event {
                at: c.early(),
                change: Change::ProducersDown(others_down),
            });
            s.expect = Expect::NoSwitch;
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
            s.expect = Expect::NoSwitch;
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
            s
        },
    ),
    (
        "tx-rejected-then-retried",
        "The primary dies; the first push of the key switch fails with a transient \
         tx_cpu_usage_exceeded (3080004). The observer retries and the switch lands once.",
        |c| {
            let mut s = c.base(3);
            s.spec.events.push(Event {
                at: 0,
                change: Change::PushFailures(vec![NodeError::cpu_exceeded()]),
            });
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.expect = Expect::Switch {
                to: "backup".into(),
                count: 1,
            };
            s
        },
    ),
    (
        "three-observers",
        "Three observers watch the same producer when the primary dies. They may each push, \
         but they must agree: one key change, to the backup, and no flapping.",
        |c| {
            let mut s = c.base(3);
            s.observers = 3;
            s.spec
                .events
                .push(c.dc_at(c.early(), "primary", DcStatus::Down));
            s.expect = Expect::Switch {
                to: "backup".into(),
                count: 1,
            };
            s
        },
    ),
];

/// Helpers for building scenarios from [`Params`].
struct Ctx {
    n: usize,
    params: Params,
}

impl Ctx {
    fn new(params: &Params) -> Self {
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
        }
    }
}

impl Scenario {
    /// Judges the outcome on `net`'s main chain (see the module docs).
    pub fn check(&self, net: &Network) -> Result<(), String> {
        net.with_chain(|c| {
            let changed: Vec<_> = c.key_switches().iter().filter(|s| s.changed).collect();
            let our = c.our_producer();
            let registered = c
                .state()
                .producers
                .get(&our)
                .and_then(|r| r.signing_authority());
            match &self.expect {
                Expect::NoSwitch => {
                    if changed.is_empty() {
                        Ok(())
                    } else {
                        Err(format!(
                            "expected no key switch, got {} (last to {:?})",
                            changed.len(),
                            changed.last().and_then(|s| s.datacenter.clone())
                        ))
                    }
                }
                Expect::Switch { to, count } => {
                    if changed.len() != *count {
                        return Err(format!(
                            "expected {count} key switch(es) to {to}, got {}: {:?}",
                            changed.len(),
                            changed
                                .iter()
                                .map(|s| s.datacenter.clone())
                                .collect::<Vec<_>>()
                        ));
                    }
                    let dc = c
                        .datacenters()
                        .iter()
                        .find(|d| d.name == *to)
                        .ok_or_else(|| format!("no data center named {to}"))?;
                    if !registered.is_some_and(|a| a.signable_by(&dc.public_key())) {
                        return Err(format!("the registered key is not {to}'s"));
                    }
                    let active = c.schedules().active.authority_of(our);
                    if !active.is_some_and(|a| a.signable_by(&dc.public_key())) {
                        return Err(format!(
                            "{to}'s key is registered but not yet in the active schedule"
                        ));
                    }
                    Ok(())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
