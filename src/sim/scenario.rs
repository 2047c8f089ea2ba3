//! Named failure scenarios: a network (producers, data centers, endpoint behaviours), a
//! script of changes at slots counted from the start, how long to run, how many observers
//! to run against it, the expected outcome and the reason the observer should give.
//!
//! The outcome is judged on the main chain after `run_slots` ([`Scenario::check`]):
//! - `Switch { to, count }`: exactly `count` accepted key switches *changed* our producer's
//!   registered key (several observers pushing the same key count once), the registered
//!   key is `to`'s, and the active schedule signs with it (the switch took effect);
//! - `NoSwitch`: no accepted transaction changed the key.
//!
//! The reason is judged on the observers' event histories ([`Scenario::check_events`]):
//! the trigger of the switches, the `reason` of `failover_suppressed`, the quorum state
//! (a hold for want of a quorum is reported by `quorum_changed` only), or nothing at all.
//!
//! Slots in scripts scale with the producer count, so scenarios stay meaningful with the
//! 4 producers tests use and the 21 of a real chain. Run lengths assume the observer's
//! default policy (a full missed turn of 12 blocks before failing over).

use super::chain::{finality_threshold, ChainSpec, Consensus, DcStatus, REPETITIONS};
use super::config::{msig_observer_key, ConfigOptions, MsigOptions};
use super::error::NodeError;
use super::network::{
    current_slot, Behavior, Change, Clock, Event, ForkSpec, Network, NetworkSpec,
};
use crate::antelope::msig::{self, Incident};
use crate::antelope::{Name, PermissionLevel, TimePoint, TimePointSec};
use crate::decision::HoldReason;
use crate::decision::Policy;
use crate::events::{Event as LogEvent, QuorumStatus, SuppressReason};

/// What should have happened by the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Switch { to: String, count: usize },
    NoSwitch,
}

/// What the observers should say about the outcome, judged on their event histories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The active key missed its slots: `failover_triggered` to the expected data center
    /// (the last trigger of at least one observer), and no observer triggered more
    /// distinct switches than expected.
    Triggered,
    /// A switch was due and held back: `failover_suppressed` with this `reason`, and no
    /// `failover_triggered`.
    Suppressed(HoldReason),
    /// Nothing could be judged: `quorum_changed` to this state (`observer_blind`,
    /// `endpoints_disagree`), and no `failover_triggered`.
    Quorum(QuorumStatus),
    /// Nothing to act on: no `failover_triggered`, `failover_confirming` nor
    /// `failover_suppressed`.
    Healthy,
    /// k-of-n: an observer triggered a switch and approved its proposal, and no approval
    /// executed it (too few observers agreed): `failover_triggered`, `msig_approved`, none
    /// with `executed`.
    Unapproved,
    /// k-of-n: as [`Reason::Triggered`], and a proposal for something else under the
    /// incident's name was reported (`msig_proposal_rejected`).
    ForeignRejected,
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
    pub reason: Reason,
    /// k-of-n observers through `eosio.msig`, or `None` (each observer holds the key).
    pub msig: Option<MsigSetup>,
}

/// k-of-n observers through `eosio.msig`: observer `i` has its own account `obs{i+1}` and
/// key ([`msig_observer_key`]), and our producer's switching permission is `threshold` of
/// their `active` permissions ([`Scenario::prepare`]).
///
/// Judged on the chain too ([`Scenario::check`]): the proposals left in `eosio.msig`'s
/// tables at the end, and their approvals, are exactly `left` (executed proposals are gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsigSetup {
    pub threshold: u32,
    /// Observers that run: the first `running` of [`Scenario::observers`]; the others
    /// hold a key on chain and never start.
    pub running: usize,
    /// Endpoints (indices into the spec's) each observer reads; empty: all.
    pub endpoints: Vec<Vec<usize>>,
    /// A proposal made before the run, under the name the honest observers would derive
    /// for the primary's failure.
    pub injected: Option<Injected>,
    /// `(proposer, approvals)` of every proposal left at the end, sorted.
    pub left: Vec<(String, usize)>,
}

/// See [`MsigSetup::injected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// The last observer's key (stolen) proposes a switch of our producer to that
    /// observer's own key.
    Foreign,
    /// The first observer's key, its host confused (its own wrong view of the network),
    /// proposes the switch to the backup and approves it, while the primary is healthy.
    Confused,
}

impl MsigSetup {
    pub fn observer(i: usize) -> Name {
        Name::literal(&format!("obs{}", i + 1))
    }
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

impl Scenario {
    /// Judges the outcome on `net`'s main chain (see the module docs).
    pub fn check(&self, net: &Network) -> Result<(), String> {
        if let Some(m) = &self.msig {
            let mut left: Vec<(String, usize)> = net.with_chain(|c| {
                c.state()
                    .msig
                    .proposals
                    .iter()
                    .map(|((proposer, _), p)| (proposer.to_string(), p.provided.len()))
                    .collect()
            });
            left.sort();
            if left != m.left {
                return Err(format!(
                    "expected the proposals (proposer, approvals) {:?} left in eosio.msig, got {left:?}",
                    m.left
                ));
            }
        }
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

impl Scenario {
    /// Observers to start: all, or in k-of-n mode the running ones.
    pub fn running_observers(&self) -> usize {
        self.msig
            .as_ref()
            .map_or(self.observers, |m| m.running.min(self.observers))
    }

    /// The config options of observer `i`, files in `dir`: in k-of-n mode its `[msig]`
    /// section and endpoints.
    pub fn config_options(&self, i: usize, dir: &std::path::Path) -> ConfigOptions {
        let mut opts = ConfigOptions::new(dir);
        if let Some(m) = &self.msig {
            opts.endpoints = m.endpoints.get(i).filter(|e| !e.is_empty()).cloned();
            opts.msig = Some(MsigOptions {
                observer: MsigSetup::observer(i),
                threshold: m.threshold,
                observers: (0..self.observers).map(MsigSetup::observer).collect(),
            });
        }
        opts
    }

    /// Sets up the chain for k-of-n mode (observer accounts, the threshold permission, the
    /// foreign proposal); nothing otherwise. Call once, after [`Network::start`].
    pub fn prepare(&self, net: &Network) -> Result<(), String> {
        let Some(m) = &self.msig else { return Ok(()) };
        net.with_chain_mut(|c| {
            let seed = c.spec().seed.clone();
            let observers: Vec<_> = (0..self.observers)
                .map(|i| {
                    let o = MsigSetup::observer(i);
                    (o, msig_observer_key(&seed, o).public_key())
                })
                .collect();
            let our = c.our_producer();
            let perm = c.spec().failover_permission;
            let now = TimePoint(c.head().timestamp().unix_ms() * 1000);
            c.state_mut()
                .set_msig_observers(our, perm, m.threshold, &observers, now)?;
            let Some(injected) = m.injected else {
                return Ok(());
            };
            // Under the name the honest observers derive for this incident: a switch to the
            // stolen key's own key, or the confused observer's switch to the backup.
            let (proposer, proposer_key) = match injected {
                Injected::Foreign => *observers.last().ok_or("no observers")?,
                Injected::Confused => *observers.first().ok_or("no observers")?,
            };
            let key_of = |name: &str| {
                c.datacenters()
                    .iter()
                    .find(|d| d.name == name)
                    .map(|d| d.public_key())
                    .ok_or_else(|| format!("no data center named {name}"))
            };
            let row = c
                .state()
                .producers
                .get(&our)
                .ok_or("our producer is not registered")?;
            let name = Incident {
                producer: our,
                target_key: key_of("backup")?,
                replaced_key: key_of("primary")?,
            }
            .proposal_name();
            let switch = crate::keyswitch::KeySwitch {
                producer: our,
                permission: perm,
                action: crate::keyswitch::RegAction::Regproducer,
                signing_key: match injected {
                    Injected::Foreign => proposer_key,
                    Injected::Confused => key_of("backup")?,
                },
                url: row.url.clone(),
                location: row.location,
                finalizer_key: None,
            };
            let actions = switch
                .actions(crate::antelope::abi::eosio_system_abi())
                .map_err(|e| e.to_string())?;
            let expires = TimePointSec::from_unix_secs(
                u32::try_from(now.0 / 1_000_000).unwrap_or(u32::MAX) + 3600,
            );
            let trx = msig::proposed_transaction(expires, actions);
            let level = |actor| PermissionLevel {
                actor,
                permission: Name::literal("active"),
            };
            let requested: Vec<_> = observers.iter().map(|(o, _)| level(*o)).collect();
            let mut actions = vec![msig::propose(level(proposer), name, &requested, &trx)
                .map_err(|e| e.to_string())?];
            if injected == Injected::Confused {
                actions.push(
                    msig::approve(proposer, name, level(proposer), None)
                        .map_err(|e| e.to_string())?,
                );
            }
            for a in &actions {
                c.state_mut()
                    .apply_msig(a, now)
                    .map_err(|e| format!("the injected proposal: {e:?}"))?;
            }
            Ok(())
        })
    }

    /// Judges the reason on the event histories of every observer that ran (see
    /// [`Reason`]); `histories[i]` is one observer's (or one run of it), oldest first.
    pub fn check_events(&self, histories: &[Vec<LogEvent>]) -> Result<(), String> {
        let all = || histories.iter().flatten();
        let named = |name: &str| all().filter(|e| e.name() == name).count();
        let triggered = named("failover_triggered");
        let suppressed: Vec<SuppressReason> = all()
            .filter_map(|e| match e {
                LogEvent::FailoverSuppressed { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect();
        let no_trigger = || {
            if triggered == 0 {
                Ok(())
            } else {
                Err(format!("expected no failover_triggered, got {triggered}"))
            }
        };
        let approvals = || {
            all().filter_map(|e| match e {
                LogEvent::MsigApproved { executed, .. } => Some(*executed),
                _ => None,
            })
        };
        match &self.reason {
            Reason::Unapproved => {
                if triggered == 0 {
                    return Err("expected failover_triggered".into());
                }
                if approvals().next().is_none() {
                    return Err("expected msig_approved".into());
                }
                if approvals().any(|executed| executed) {
                    return Err("expected no msig_approved that executes".into());
                }
                Ok(())
            }
            Reason::ForeignRejected => {
                if named("msig_proposal_rejected") == 0 {
                    return Err("expected msig_proposal_rejected".into());
                }
                Scenario {
                    reason: Reason::Triggered,
                    ..self.clone()
                }
                .check_events(histories)
            }
            Reason::Triggered => {
                let (to, count) = match &self.expect {
                    Expect::Switch { to, count } => (to.as_str(), *count),
                    Expect::NoSwitch => return Err("a trigger expected without a switch".into()),
                };
                let mut last_to_target = false;
                for h in histories {
                    let mut targets: Vec<&str> = h
                        .iter()
                        .filter_map(|e| match e {
                            LogEvent::FailoverTriggered { to, .. } => Some(to.as_str()),
                            _ => None,
                        })
                        .collect();
                    targets.dedup();
                    if targets.len() > count {
                        return Err(format!(
                            "an observer triggered {} switches ({targets:?}), expected {count}",
                            targets.len()
                        ));
                    }
                    last_to_target |= targets.last() == Some(&to);
                }
                if last_to_target {
                    Ok(())
                } else {
                    Err(format!("no observer reported failover_triggered to {to}"))
                }
            }
            Reason::Suppressed(reason) => {
                no_trigger()?;
                if suppressed.contains(&SuppressReason::Hold(*reason)) {
                    Ok(())
                } else {
                    Err(format!(
                        "expected failover_suppressed reason={}, got {suppressed:?}",
                        reason.as_str()
                    ))
                }
            }
            Reason::Quorum(state) => {
                no_trigger()?;
                let seen = all()
                    .any(|e| matches!(e, LogEvent::QuorumChanged { state: s, .. } if s == state));
                if seen {
                    Ok(())
                } else {
                    Err(format!("expected quorum_changed state={}", state.as_str()))
                }
            }
            Reason::Healthy => {
                for name in [
                    "failover_triggered",
                    "failover_confirming",
                    "failover_suppressed",
                ] {
                    let n = named(name);
                    if n > 0 {
                        return Err(format!("expected a quiet observer, got {n} {name}"));
                    }
                }
                Ok(())
            }
        }
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

    #[test]
    fn reasons_are_judged_on_the_event_histories() {
        let p = Params {
            producers: 4,
            start_slot: 1_000_000,
            ..Params::default()
        };
        let get = |name| builtin(name, &p).unwrap();
        let trig = |to: &str| LogEvent::FailoverTriggered {
            from: "primary".into(),
            to: to.into(),
            reason: "12 consecutive slots missed".into(),
            missed: 12,
            dry_run: false,
            forecast: None,
        };
        let held = |reason: HoldReason| LogEvent::FailoverSuppressed {
            reason: SuppressReason::Hold(reason),
            detail: String::new(),
            missed: 12,
        };
        let quorum = |state: QuorumStatus| LogEvent::QuorumChanged {
            state,
            detail: String::new(),
        };

        let down = get("primary-down");
        assert!(down.check_events(&[vec![trig("backup")]]).is_ok());
        // Two observers both triggering the same switch is one switch.
        assert!(down
            .check_events(&[vec![trig("backup")], vec![trig("backup")]])
            .is_ok());
        assert!(down.check_events(&[vec![]]).is_err());
        assert!(down.check_events(&[vec![trig("backup2")]]).is_err());
        assert!(down
            .check_events(&[vec![trig("backup"), trig("backup2")]])
            .is_err());
        let both = get("primary-and-backup-down");
        assert!(both
            .check_events(&[vec![
                trig("backup"),
                held(HoldReason::Cooldown),
                trig("backup2")
            ]])
            .is_ok());

        let stalled = get("lib-stalled");
        assert!(stalled
            .check_events(&[vec![
                held(HoldReason::ClockSkew),
                held(HoldReason::LibStalled)
            ]])
            .is_ok());
        assert!(stalled
            .check_events(&[vec![held(HoldReason::ClockSkew)]])
            .is_err());
        assert!(stalled
            .check_events(&[vec![held(HoldReason::LibStalled), trig("backup")]])
            .is_err());

        let halted = get("network-halted");
        assert!(halted
            .check_events(&[vec![
                quorum(QuorumStatus::Agreed),
                quorum(QuorumStatus::ObserverBlind)
            ]])
            .is_ok());
        assert!(halted
            .check_events(&[vec![quorum(QuorumStatus::Agreed)]])
            .is_err());

        let healthy = get("healthy");
        assert!(healthy
            .check_events(&[vec![quorum(QuorumStatus::Agreed)]])
            .is_ok());
        assert!(healthy
            .check_events(&[vec![held(HoldReason::Cooldown)]])
            .is_err());
    }
}
