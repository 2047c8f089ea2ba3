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

mod judge;
mod table;

use super::config::{msig_observer_key, ConfigOptions, MsigOptions};
use crate::antelope::msig::{self, Incident};
use crate::antelope::{Name, PermissionLevel, TimePoint, TimePointSec};
use crate::decision::HoldReason;
use crate::events::QuorumStatus;
use crate::sim::chain::Consensus;
use crate::sim::network::{current_slot, Clock, Network, NetworkSpec};

use table::{Ctx, BUILTINS};

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
            schedule_tick_slots: crate::sim::chain::SCHEDULE_TICK_SLOTS,
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
}
