//! The state behind every listener: the chains (main, fork, unrelated), each endpoint's
//! behaviour, the data centers' status and side, the liveness flags, the injected faults
//! and the script of changes, and how a change or a slot moves them.

use std::collections::{BTreeSet, VecDeque};

use antelope::{Checksum256, Name};

use super::requests::Counters;
use super::{Behavior, Change, Event, NetworkSpec};
use crate::chain::{Chain, DcStatus};
use crate::error::NodeError;

/// Which chain a data center or a view is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Main,
    Fork,
}

/// The state behind every listener.
#[derive(Debug)]
pub struct World {
    pub(super) main: Chain,
    pub(super) fork: Option<Chain>,
    pub(super) other: Option<Chain>,
    pub(super) behaviors: Vec<Behavior>,
    pub(super) counters: Vec<Counters>,
    pub(super) node_counters: Vec<Counters>,
    pub(super) dc_status: Vec<DcStatus>,
    pub(super) dc_side: Vec<Side>,
    pub(super) fork_producers: BTreeSet<Name>,
    pub(super) producers_down: BTreeSet<Name>,
    pub(super) not_voting: BTreeSet<Name>,
    pub(super) handoff_misses: u32,
    pub(super) hang_pushes: bool,
    pub(super) halted: bool,
    pub(super) push_faults: VecDeque<NodeError>,
    pub(super) events: Vec<Event>,
    pub(super) next_event: usize,
    pub(super) start_slot: u32,
    /// `(index into the main chain's key switches, wall-clock instant)` of each switch
    /// accepted over HTTP: the simulator's accept time, for latency measurements.
    pub(super) switch_accepted_at: Vec<(usize, std::time::Instant)>,
    /// `(endpoint, packed_trx)` of the pushes [`Lie::DropFirstPush`] dropped.
    pub(super) dropped_first: BTreeSet<(usize, String)>,
}

impl World {
    pub(super) fn new(spec: &NetworkSpec) -> Self {
        let main = Chain::new(spec.chain.clone());
        let n_dc = main.datacenters().len();
        let mut events = spec.events.clone();
        events.sort_by_key(|e| e.at);
        let mut w = World {
            start_slot: main.slot(),
            main,
            fork: None,
            other: None,
            behaviors: Vec::new(),
            counters: vec![Counters::default(); spec.endpoints.len()],
            node_counters: vec![Counters::default(); n_dc],
            dc_status: vec![DcStatus::Up; n_dc],
            dc_side: vec![Side::Main; n_dc],
            fork_producers: BTreeSet::new(),
            producers_down: BTreeSet::new(),
            not_voting: BTreeSet::new(),
            handoff_misses: 0,
            hang_pushes: false,
            halted: false,
            push_faults: VecDeque::new(),
            events,
            next_event: 0,
            switch_accepted_at: Vec::new(),
            dropped_first: BTreeSet::new(),
        };
        for (i, b) in spec.endpoints.iter().enumerate() {
            w.behaviors.push(Behavior::Normal);
            w.set_behavior(i, b.clone());
        }
        w.apply_due_events();
        w
    }

    pub fn main(&self) -> &Chain {
        &self.main
    }

    pub(crate) fn main_mut(&mut self) -> &mut Chain {
        &mut self.main
    }

    /// Slots since the network started.
    pub fn elapsed_slots(&self) -> u32 {
        self.main.slot() - self.start_slot
    }

    fn set_behavior(&mut self, i: usize, b: Behavior) {
        let b = match b {
            Behavior::Stale => Behavior::StaleAt(self.main.head().num),
            Behavior::WrongChain => {
                if self.other.is_none() {
                    let mut spec = self.main.spec().clone();
                    spec.chain_id = Checksum256::hash(b"bp-failover-sim/another-chain");
                    spec.seed = format!("{}/another-chain", spec.seed);
                    spec.genesis_slot = self.main.slot();
                    spec.first_block_num /= 2;
                    self.other = Some(Chain::new(spec));
                }
                Behavior::WrongChain
            }
            other => other,
        };
        if let Some(slot) = self.behaviors.get_mut(i) {
            *slot = b;
        }
    }

    /// Liveness of everything on both sides of a partition, from the world's flags.
    /// The first `n` producers other than ours, in schedule order.
    fn first_other_producers(&self, n: usize) -> BTreeSet<Name> {
        let our = self.main.our_producer();
        self.main
            .spec()
            .producers
            .iter()
            .filter(|p| **p != our)
            .take(n)
            .copied()
            .collect()
    }

    fn sync_liveness(&mut self) {
        let our = self.main.our_producer();
        let producers: Vec<Name> = self.main.spec().producers.clone();
        for p in producers.into_iter().filter(|p| *p != our) {
            let up = !self.halted && !self.producers_down.contains(&p);
            let on_fork = self.fork_producers.contains(&p);
            let voting = !self.not_voting.contains(&p);
            self.main
                .set_producer_up(p, up && (self.fork.is_none() || !on_fork));
            self.main.set_producer_voting(p, voting);
            if let Some(f) = &mut self.fork {
                f.set_producer_up(p, up && on_fork);
                f.set_producer_voting(p, voting);
            }
        }
        self.main.set_handoff_misses(self.handoff_misses);
        if let Some(f) = &mut self.fork {
            f.set_handoff_misses(self.handoff_misses);
        }
        for i in 0..self.dc_status.len() {
            let status = if self.halted && self.dc_status[i] == DcStatus::Up {
                DcStatus::Lagging(0)
            } else {
                self.dc_status[i]
            };
            let side = self.dc_side[i];
            let on = |s: Side| if side == s { status } else { DcStatus::Down };
            self.main.set_datacenter(i, on(Side::Main));
            if let Some(f) = &mut self.fork {
                f.set_datacenter(i, on(Side::Fork));
            }
        }
    }

    /// Applies a change now.
    pub(crate) fn apply(&mut self, change: Change) {
        match change {
            Change::Datacenter { name, status } => {
                if let Some(i) = self.main.datacenter_index(&name) {
                    self.dc_status[i] = status;
                }
            }
            Change::Producer { name, up } => {
                if up {
                    self.producers_down.remove(&name);
                } else {
                    self.producers_down.insert(name);
                }
            }
            Change::ProducersDown(n) => {
                self.producers_down = self.first_other_producers(n);
            }
            Change::Halt(on) => self.halted = on,
            Change::Endpoint { index, behavior } => self.set_behavior(index, behavior),
            Change::Split(spec) => {
                self.fork_producers = self.first_other_producers(spec.producers);
                for (i, dc) in self.main.datacenters().iter().enumerate() {
                    self.dc_side[i] = if spec.datacenters.contains(&dc.name) {
                        Side::Fork
                    } else {
                        Side::Main
                    };
                }
                self.fork = Some(self.main.fork(0x5eed_f02c));
            }
            Change::PushFailures(errors) => self.push_faults.extend(errors),
            Change::HangPushes(on) => self.hang_pushes = on,
            Change::VotesWithheld(n) => {
                self.not_voting = self.first_other_producers(n);
            }
            Change::HandoffMisses(slots) => self.handoff_misses = slots,
        }
        self.sync_liveness();
    }

    fn apply_due_events(&mut self) {
        let elapsed = self.elapsed_slots();
        while let Some(e) = self.events.get(self.next_event) {
            if e.at > elapsed {
                break;
            }
            let change = e.change.clone();
            self.next_event += 1;
            self.apply(change);
        }
    }

    /// Advances every chain to `elapsed` slots after the start, applying scripted events
    /// at their slots.
    pub(crate) fn advance_to_elapsed(&mut self, elapsed: u32) {
        while self.elapsed_slots() < elapsed {
            let slot = self.main.slot() + 1;
            // Events for slot s take effect before s is produced.
            let next_elapsed = slot - self.start_slot;
            while let Some(e) = self.events.get(self.next_event) {
                if e.at > next_elapsed {
                    break;
                }
                let change = e.change.clone();
                self.next_event += 1;
                self.apply(change);
            }
            self.main.advance_to(slot);
            if let Some(f) = &mut self.fork {
                f.advance_to(slot);
            }
            if let Some(o) = &mut self.other {
                o.advance_to(slot);
            }
        }
    }

    /// `(index into [`Chain::key_switches`], instant)` of each key switch of our producer
    /// accepted by a listener: the simulator's accept time.
    pub(crate) fn switch_accept_times(&self) -> &[(usize, std::time::Instant)] {
        &self.switch_accepted_at
    }
}
