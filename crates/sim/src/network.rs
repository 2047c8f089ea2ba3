//! A running simulated network: the chain (plus, when asked for, a minority fork of it and
//! an unrelated chain), several API endpoints over it whose views can differ, one node API
//! per data center, request counters, injected faults, and the clock.
//!
//! Time: with [`Clock::RealTime`] a task advances one slot every `500 ms / time_scale`
//! (on `tokio::time`, so a test can `pause()` and `advance()`); with [`Clock::Manual`]
//! the owner calls [`Network::step`]. Chain time is slot time: with a time scale above 1
//! block timestamps run ahead of the wall clock, so clients should read
//! [`Network::chain_now_ms`] as their clock.
//!
//! Endpoints (each its own `127.0.0.1:0` listener) behave as their [`Behavior`] says; a
//! data center's node endpoint follows the data center's [`DcStatus`]: up → live view of
//! the chain it is on, lagging → that many blocks behind, down → connections closed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::api;
use super::chain::{Chain, ChainSpec, DcStatus, KeySwitchRecord};
use super::error::NodeError;
use super::server::{self, Reply};
use antelope::{BlockTimestamp, Checksum256, Name};

/// How an API endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Behavior {
    /// The live chain.
    #[default]
    Normal,
    /// Frozen at the head it had when this behaviour was set.
    Stale,
    /// Frozen at this block number.
    StaleAt(u32),
    /// This many blocks behind the head.
    Lag(u32),
    /// Serves an unrelated chain with another chain id (and other block ids).
    WrongChain,
    /// Serves the minority fork once [`Change::Split`] happened (the main chain before).
    Fork,
    /// Accepts connections and closes them at once.
    Down,
    /// HTTP 503 with an empty body.
    Unavailable,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// Like `Normal`, but every answer is delayed.
    Slow(Duration),
    /// Answers `get_info` honestly (so it counts as agreeing) and lies in one way.
    Lie(Lie),
}

/// The lies of [`Behavior::Lie`]: an endpoint trying to make an observer switch a healthy
/// producer, or keep it from switching a dead one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lie {
    /// `get_info` reports block `n` as the head, with the live head's (fresh) timestamp.
    LowHead(u32),
    /// `get_info` reports the block this many blocks back as the head, with a fresh time.
    OldHead(u32),
    /// Every `eosio/producers` row carries this key (legacy text) as its signing key.
    ProducerKey(String),
    /// The active schedule leaves this producer out.
    ScheduleWithout(Name),
    /// `get_abi` for `eosio` lays out `regproducer` with its fields reversed.
    WrongAbi,
    /// Pushes are acknowledged as executed and never applied (nor remembered: the same
    /// transaction is acknowledged again, as by a node that never saw it).
    DropPushes,
    /// The first push of each transaction to this endpoint is acknowledged as executed and
    /// dropped, as [`Lie::DropPushes`]; a later push of the same transaction is honest. A
    /// node that lost a transaction on its way to the producers: only a re-push gets it in.
    DropFirstPush,
    /// `get_info` answers at once, everything else this late.
    SlowReads(Duration),
    /// Blocks of this producer are served as another producer's (same id and links).
    HideProducer(Name),
    /// Blocks of this producer are served dated one turn (12 slots) later, with their real
    /// ids and `previous` links, so its slots look missed (issue 10's first attack).
    SkipSlots(Name),
    /// Every block is served with a `previous` that is not its parent's id (the real one
    /// with its last byte changed), keeping its own id: blocks that do not link.
    Unlinked,
    /// The active schedule changes with every slot (a new version, the order rotated on
    /// odd slots); every endpoint with this lie serves the same one in the same slot. For
    /// soaking the observer's memory, not for correctness.
    FlapSchedule,
    /// Every block read (`get_block`, `get_block_info`, `get_block_header`) fails with
    /// `unknown_block_exception`, the rest is honest. For measuring the observer's backoff.
    FailBlockReads,
}

/// How time moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clock {
    /// Only [`Network::step`] advances slots.
    Manual,
    /// One slot per `500 ms / time_scale`.
    RealTime { time_scale: f64 },
}

/// A network partition: some producers and data centers follow a minority fork.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ForkSpec {
    /// How many producers other than ours go to the fork (the first ones in schedule order).
    pub producers: usize,
    /// Our data centers on the fork side.
    pub datacenters: Vec<String>,
}

/// A change to the network, applied at once or from a scripted slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Datacenter {
        name: String,
        status: DcStatus,
    },
    Producer {
        name: Name,
        up: bool,
    },
    /// The first `n` producers other than ours (schedule order) stop (`n` = 0: all back).
    ProducersDown(usize),
    /// No block at all is produced while set (every producer and data center).
    Halt(bool),
    Endpoint {
        index: usize,
        behavior: Behavior,
    },
    Split(ForkSpec),
    /// The next pushes (any endpoint) fail with these errors, in order.
    PushFailures(Vec<NodeError>),
    /// While set, pushes (any endpoint) are counted, never applied and never answered:
    /// the connection stays open until the client gives up, as when the observer's
    /// transaction is lost on its way (or the observer dies mid-push).
    HangPushes(bool),
    /// The first `n` producers other than ours (schedule order) keep producing but their
    /// finalizers stop voting (`n` = 0: all vote again): Savanna finality stalls while
    /// blocks still flow.
    VotesWithheld(usize),
    /// Our producer loses the first `slots` slots of each of its turns (a slow handoff:
    /// the previous producer's last blocks reach our node late).
    HandoffMisses(u32),
}

/// In plain words, for narration (`endpoint #1` is the first).
impl std::fmt::Display for Behavior {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Behavior::Normal => f.write_str("serves the live chain"),
            Behavior::Stale => f.write_str("freezes (its head stops moving)"),
            Behavior::StaleAt(n) => write!(f, "is frozen at block {n}"),
            Behavior::Lag(n) => write!(f, "lags {n} blocks behind the head"),
            Behavior::WrongChain => f.write_str("serves another chain (other chain id)"),
            Behavior::Fork => f.write_str("follows the minority fork (once there is one)"),
            Behavior::Down => f.write_str("is down (connections closed)"),
            Behavior::Unavailable => f.write_str("answers HTTP 503"),
            Behavior::Garbage => f.write_str("answers with a body that is not JSON"),
            Behavior::Slow(d) => write!(f, "answers {} ms late", d.as_millis()),
            Behavior::Lie(l) => match l {
                Lie::LowHead(n) => write!(f, "lies: its head is block {n} (fresh timestamp)"),
                Lie::OldHead(n) => write!(f, "lies: its head is {n} blocks back (fresh timestamp)"),
                Lie::ProducerKey(k) => write!(f, "lies: every producers row holds {k}"),
                Lie::ScheduleWithout(p) => write!(f, "lies: {p} is not in the active schedule"),
                Lie::WrongAbi => {
                    f.write_str("lies: serves an eosio ABI with regproducer reordered")
                }
                Lie::DropPushes => f.write_str("lies: acknowledges pushes and drops them"),
                Lie::DropFirstPush => {
                    f.write_str("acknowledges the first push of a transaction and drops it")
                }
                Lie::FlapSchedule => f.write_str("serves a schedule that changes every slot"),
                Lie::FailBlockReads => f.write_str("fails every block read"),
                Lie::HideProducer(p) => {
                    write!(f, "lies: serves {p}'s blocks as another producer's")
                }
                Lie::SkipSlots(p) => {
                    write!(f, "lies: serves {p}'s blocks dated one turn later")
                }
                Lie::Unlinked => f.write_str("lies: serves blocks that do not link"),
                Lie::SlowReads(d) => write!(
                    f,
                    "answers get_info at once and everything else {} ms late",
                    d.as_millis()
                ),
            },
        }
    }
}

/// In plain words, for narration.
impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Datacenter { name, status } => match status {
                DcStatus::Up => write!(f, "data center {name} is up and synced"),
                DcStatus::Down => write!(
                    f,
                    "data center {name} goes dark: its node stops producing and its API is unreachable"
                ),
                DcStatus::Lagging(n) => write!(
                    f,
                    "data center {name}'s node is {n} blocks behind (not synced: it cannot produce)"
                ),
            },
            Change::Producer { name, up: true } => write!(f, "producer {name} is back"),
            Change::Producer { name, up: false } => write!(f, "producer {name} stops producing"),
            Change::ProducersDown(0) => f.write_str("every other producer is back"),
            Change::ProducersDown(n) => write!(f, "{n} other producers stop producing"),
            Change::Halt(true) => f.write_str("the whole network halts: no producer makes blocks"),
            Change::Halt(false) => f.write_str("the network resumes"),
            Change::Endpoint { index, behavior } => {
                write!(f, "API endpoint #{} {behavior}", index + 1)
            }
            Change::Split(spec) => {
                write!(
                    f,
                    "network partition: {} other producer{} split off onto a minority fork",
                    spec.producers,
                    if spec.producers == 1 { "" } else { "s" }
                )?;
                if spec.datacenters.is_empty() {
                    f.write_str(" (none of our data centers follows them)")
                } else {
                    write!(f, ", with our data center(s) {}", spec.datacenters.join(", "))
                }
            }
            Change::PushFailures(errors) => {
                let names: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{} ({})", e.name, e.code))
                    .collect();
                write!(f, "the next push(es) will fail with {}", names.join(", then "))
            }
            Change::HangPushes(true) => {
                f.write_str("pushed transactions are lost: nodes never answer or apply them")
            }
            Change::HangPushes(false) => f.write_str("pushed transactions go through again"),
            Change::VotesWithheld(0) => f.write_str("every finalizer votes again"),
            Change::VotesWithheld(n) => write!(
                f,
                "{n} other producers keep producing but stop voting: finality stalls"
            ),
            Change::HandoffMisses(0) => f.write_str("handoffs are clean again"),
            Change::HandoffMisses(n) => write!(
                f,
                "our producer loses the first {n} slot(s) of each turn at the handoff"
            ),
        }
    }
}

/// A change at a slot counted from the network's start (slot 0 = start).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: u32,
    pub change: Change,
}

/// Everything needed to start a network.
#[derive(Debug, Clone)]
pub struct NetworkSpec {
    pub chain: ChainSpec,
    /// One API endpoint per entry, with its initial behaviour.
    pub endpoints: Vec<Behavior>,
    pub clock: Clock,
    pub events: Vec<Event>,
}

impl NetworkSpec {
    /// `producers` producers, `endpoints` normal endpoints, manual clock, starting now.
    pub fn new(producers: usize, endpoints: usize) -> Self {
        NetworkSpec {
            chain: ChainSpec::new(producers, current_slot()),
            endpoints: vec![Behavior::Normal; endpoints],
            clock: Clock::Manual,
            events: Vec::new(),
        }
    }
}

/// The slot of the system clock now.
pub fn current_slot() -> u32 {
    BlockTimestamp::from_unix_ms(chrono::Utc::now().timestamp_millis())
        .map_or(0, BlockTimestamp::slot)
}

#[derive(Debug, Error)]
pub enum SimError {
    #[error("cannot bind a listener: {0}")]
    Bind(std::io::Error),
    #[error("time_scale must be a finite number above 0, got {0}")]
    TimeScale(f64),
}

/// Which listener a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// API endpoint `i`.
    Endpoint(usize),
    /// The node API of data center `i`.
    Node(usize),
}

/// Request counters of one listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests answered (including errors), by path.
    pub by_path: BTreeMap<String, u64>,
    /// Connections closed at once because the endpoint was down.
    pub refused: u64,
}

impl Counters {
    pub fn total(&self) -> u64 {
        self.by_path.values().sum()
    }

    pub fn get(&self, path: &str) -> u64 {
        let key = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/v1/chain/{path}")
        };
        self.by_path.get(&key).copied().unwrap_or(0)
    }
}

/// Which chain a data center or a view is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Main,
    Fork,
}

/// The state behind every listener.
#[derive(Debug)]
pub struct World {
    main: Chain,
    fork: Option<Chain>,
    other: Option<Chain>,
    behaviors: Vec<Behavior>,
    counters: Vec<Counters>,
    node_counters: Vec<Counters>,
    dc_status: Vec<DcStatus>,
    dc_side: Vec<Side>,
    fork_producers: BTreeSet<Name>,
    producers_down: BTreeSet<Name>,
    not_voting: BTreeSet<Name>,
    handoff_misses: u32,
    hang_pushes: bool,
    halted: bool,
    push_faults: VecDeque<NodeError>,
    events: Vec<Event>,
    next_event: usize,
    start_slot: u32,
    /// `(index into the main chain's key switches, wall-clock instant)` of each switch
    /// accepted over HTTP: the simulator's accept time, for latency measurements.
    switch_accepted_at: Vec<(usize, std::time::Instant)>,
    /// `(endpoint, packed_trx)` of the pushes [`Lie::DropFirstPush`] dropped.
    dropped_first: BTreeSet<(usize, String)>,
}

impl World {
    fn new(spec: &NetworkSpec) -> Self {
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

    pub fn main_mut(&mut self) -> &mut Chain {
        &mut self.main
    }

    pub fn fork(&self) -> Option<&Chain> {
        self.fork.as_ref()
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
    pub fn apply(&mut self, change: Change) {
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
    pub fn advance_to_elapsed(&mut self, elapsed: u32) {
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
    pub fn switch_accept_times(&self) -> &[(usize, std::time::Instant)] {
        &self.switch_accepted_at
    }

    pub fn counters(&self, target: Target) -> Counters {
        match target {
            Target::Endpoint(i) => self.counters.get(i).cloned().unwrap_or_default(),
            Target::Node(i) => self.node_counters.get(i).cloned().unwrap_or_default(),
        }
    }

    fn counters_mut(&mut self, target: Target) -> Option<&mut Counters> {
        match target {
            Target::Endpoint(i) => self.counters.get_mut(i),
            Target::Node(i) => self.node_counters.get_mut(i),
        }
    }

    /// The effective behaviour of a listener now.
    fn behavior(&self, target: Target) -> Behavior {
        match target {
            Target::Endpoint(i) => self.behaviors.get(i).cloned().unwrap_or(Behavior::Down),
            Target::Node(i) => match self.dc_status.get(i) {
                Some(DcStatus::Up) => Behavior::Normal,
                Some(DcStatus::Lagging(n)) => Behavior::Lag(*n),
                _ => Behavior::Down,
            },
        }
    }

    /// Whether a new connection to `target` is closed at once.
    pub fn refuses(&mut self, target: Target) -> bool {
        let down = self.behavior(target) == Behavior::Down;
        if down {
            if let Some(c) = self.counters_mut(target) {
                c.refused += 1;
            }
        }
        down
    }

    /// Answers one HTTP request.
    pub fn request(&mut self, target: Target, path: &str, body: &[u8]) -> Reply {
        let behavior = self.behavior(target);
        if behavior == Behavior::Down {
            if let Some(c) = self.counters_mut(target) {
                c.refused += 1;
            }
            return Reply::Close;
        }
        if let Some(c) = self.counters_mut(target) {
            *c.by_path.entry(path.to_string()).or_default() += 1;
        }
        match behavior {
            Behavior::Unavailable => {
                return Reply::Raw {
                    status: 503,
                    body: "",
                }
            }
            Behavior::Garbage => {
                return Reply::Raw {
                    status: 200,
                    body: "{\"head_block_num\": 12, \"chain_id\": <html>",
                }
            }
            _ => {}
        }
        if self.hang_pushes && is_push(path) {
            return Reply::Hang;
        }
        let delay = match &behavior {
            Behavior::Slow(d) => *d,
            Behavior::Lie(Lie::SlowReads(d)) if path != "/v1/chain/get_info" => *d,
            _ => Duration::ZERO,
        };
        let switches = self.main.key_switches().len();
        let answer = match &behavior {
            Behavior::Lie(lie) => self.lie(target, lie, path, body),
            _ => self.answer(target, &behavior, path, body),
        };
        let accepted = switches..self.main.key_switches().len();
        if !accepted.is_empty() {
            let now = std::time::Instant::now();
            self.switch_accepted_at.extend(accepted.map(|i| (i, now)));
        }
        let (status, body) = match answer {
            Ok(ok) => ok,
            Err(e) => (e.http, e.to_json()),
        };
        Reply::Json {
            status,
            body,
            delay,
        }
    }

    fn answer(
        &mut self,
        target: Target,
        behavior: &Behavior,
        path: &str,
        body: &[u8],
    ) -> api::Answer {
        let Some(method) = path
            .strip_prefix("/v1/chain/")
            .filter(|m| api::METHODS.contains(m))
        else {
            return Err(NodeError::not_found());
        };
        let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(body).map_err(|e| {
                NodeError::invalid_request(format!(
                    "Unable to parse valid input from POST body: {e}"
                ))
            })?
        };
        if is_push(path) {
            if let Some(e) = self.push_faults.pop_front() {
                return Err(e);
            }
        }
        let side = match target {
            Target::Node(i) => self.dc_side.get(i).copied().unwrap_or(Side::Main),
            Target::Endpoint(_) => Side::Main,
        };
        let (chain, head) = match behavior {
            Behavior::WrongChain => match self.other.as_mut() {
                Some(c) => (c, None),
                None => (&mut self.main, None),
            },
            Behavior::Fork => match self.fork.as_mut() {
                Some(c) => (c, None),
                None => (&mut self.main, None),
            },
            _ => {
                let chain = match (side, self.fork.as_mut()) {
                    (Side::Fork, Some(f)) => f,
                    _ => &mut self.main,
                };
                let head = match behavior {
                    Behavior::StaleAt(n) => Some(*n),
                    Behavior::Lag(n) => Some(chain.head().num.saturating_sub(*n)),
                    _ => None,
                };
                (chain, head)
            }
        };
        api::call(chain, head, method, &body)
    }
}

impl World {
    /// An honest answer, altered by `lie`.
    fn lie(&mut self, target: Target, lie: &Lie, path: &str, body: &[u8]) -> api::Answer {
        let method = path.strip_prefix("/v1/chain/").unwrap_or("");
        let drop_push = match (lie, target) {
            (Lie::DropPushes, _) => true,
            (Lie::DropFirstPush, Target::Endpoint(i)) if is_push(path) => {
                let trx = serde_json::from_slice::<Value>(body)
                    .ok()
                    .and_then(|v| v["packed_trx"].as_str().map(str::to_string))
                    .unwrap_or_default();
                self.dropped_first.insert((i, trx))
            }
            _ => false,
        };
        if drop_push && is_push(path) {
            // Executed on a copy of the chain: a real-looking trace, nothing applied.
            // It keeps no record either: the same transaction is acknowledged again.
            let saved = self.main.clone();
            self.main.forget_txs();
            let answer = self.answer(target, &Behavior::Normal, path, body);
            self.main = saved;
            return answer;
        }
        if *lie == Lie::FailBlockReads
            && matches!(method, "get_block" | "get_block_info" | "get_block_header")
        {
            return Err(NodeError::unknown_block(
                "(this endpoint fails every block read)",
            ));
        }
        let (status, mut v) = self.answer(target, &Behavior::Normal, path, body)?;
        match (lie, method) {
            (Lie::LowHead(_) | Lie::OldHead(_), "get_info") => {
                let live = self.main.head().num;
                let n = match lie {
                    Lie::LowHead(n) => (*n).min(live),
                    Lie::OldHead(back) => live.saturating_sub(*back).max(1),
                    _ => live,
                };
                let fresh = v["head_block_time"].clone();
                let (_, mut old) = api::call(&mut self.main, Some(n), "get_info", &Value::Null)?;
                old["head_block_time"] = fresh;
                v = old;
            }
            (Lie::ProducerKey(key), "get_table_rows") => {
                if let Some(rows) = v.get_mut("rows").and_then(Value::as_array_mut) {
                    for row in rows.iter_mut().filter(|r| r.get("producer_key").is_some()) {
                        row["producer_key"] = Value::String(key.clone());
                        if let Some(o) = row.as_object_mut() {
                            o.remove("producer_authority");
                        }
                    }
                }
            }
            (Lie::ScheduleWithout(name), "get_producer_schedule") => {
                if let Some(ps) = v
                    .pointer_mut("/active/producers")
                    .and_then(Value::as_array_mut)
                {
                    ps.retain(|p| p["producer_name"].as_str() != Some(&name.to_string()));
                }
            }
            (Lie::HideProducer(p), "get_block_info" | "get_block")
                if v["producer"].as_str() == Some(&p.to_string()) =>
            {
                v["producer"] = Value::String("eosio".into());
            }
            (Lie::SkipSlots(p), "get_block_info" | "get_block")
                if v["producer"].as_str() == Some(&p.to_string()) =>
            {
                let later = v["timestamp"]
                    .as_str()
                    .and_then(|t| t.parse::<antelope::BlockTimestamp>().ok())
                    .map(|t| {
                        antelope::BlockTimestamp(t.0.saturating_add(super::chain::REPETITIONS))
                    });
                if let Some(t) = later {
                    v["timestamp"] = Value::String(t.to_string());
                }
            }
            (Lie::Unlinked, "get_block_info" | "get_block") => {
                let other = v["previous"]
                    .as_str()
                    .and_then(|t| t.parse::<antelope::Checksum256>().ok())
                    .map(|mut id| {
                        id.0[31] ^= 0xff;
                        id
                    });
                if let Some(id) = other {
                    v["previous"] = Value::String(id.to_string());
                }
            }
            (Lie::FlapSchedule, "get_producer_schedule") => {
                let slot = self.main.slot();
                if let Some(active) = v.get_mut("active") {
                    let version = active["version"].as_u64().unwrap_or(0);
                    active["version"] = Value::from(version.saturating_add(u64::from(slot)));
                    if slot % 2 == 1 {
                        if let Some(ps) = active.get_mut("producers").and_then(Value::as_array_mut)
                        {
                            ps.rotate_left(1);
                        }
                    }
                }
            }
            (Lie::WrongAbi, "get_abi") => {
                if let Some(structs) = v.pointer_mut("/abi/structs").and_then(Value::as_array_mut) {
                    for st in structs.iter_mut().filter(|st| st["name"] == "regproducer") {
                        if let Some(fields) = st.get_mut("fields").and_then(Value::as_array_mut) {
                            fields.reverse();
                        }
                    }
                }
            }
            _ => {}
        }
        Ok((status, v))
    }
}

/// The world behind a lock, shared by listeners, the clock task and the owner.
#[derive(Debug, Clone)]
pub struct Shared(Arc<Mutex<World>>);

impl Shared {
    /// Locks the world; a panic in another holder does not make it unusable.
    pub fn lock(&self) -> MutexGuard<'_, World> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Unix milliseconds of the main chain's current slot.
    pub fn chain_now_ms(&self) -> i64 {
        BlockTimestamp(self.lock().main().slot()).unix_ms()
    }
}

/// Chain time as the project's [`failover_core::clock::Clock`]: observers run against a time-scaled
/// or manually stepped network read this instead of the system clock.
impl failover_core::clock::Clock for Shared {
    fn now_ms(&self) -> i64 {
        self.chain_now_ms()
    }
}

/// One listener's view of the world: what [`server::serve`] asks.
#[derive(Clone)]
struct Listener {
    world: Shared,
    target: Target,
}

impl server::Handler for Listener {
    fn refuses(&self) -> bool {
        self.world.lock().refuses(self.target)
    }

    fn request(&self, path: &str, body: &[u8]) -> Reply {
        self.world.lock().request(self.target, path, body)
    }
}

/// A started network. Dropping it stops every task.
#[derive(Debug)]
pub struct Network {
    shared: Shared,
    endpoints: Vec<SocketAddr>,
    nodes: Vec<(String, SocketAddr)>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    clock: Clock,
}

impl Network {
    /// Builds the chain, binds one `127.0.0.1:0` listener per endpoint and per data
    /// center, and starts serving (and the clock, for [`Clock::RealTime`]).
    pub async fn start(spec: NetworkSpec) -> Result<Network, SimError> {
        Self::start_on(spec, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// As [`Network::start`], with the listeners on `listen`'s address: every one on port
    /// 0 (the system picks) when `listen`'s port is 0, else on consecutive ports from it,
    /// the endpoints first, then the data centers' nodes.
    pub async fn start_on(spec: NetworkSpec, listen: SocketAddr) -> Result<Network, SimError> {
        if let Clock::RealTime { time_scale } = spec.clock {
            if !(time_scale.is_finite() && time_scale > 0.0) {
                return Err(SimError::TimeScale(time_scale));
            }
        }
        let world = World::new(&spec);
        let dc_names: Vec<String> = world
            .main()
            .datacenters()
            .iter()
            .map(|d| d.name.clone())
            .collect();
        let shared = Shared(Arc::new(Mutex::new(world)));
        let (tx, rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut endpoints = Vec::new();
        let mut nodes = Vec::new();
        let mut targets: Vec<Target> = (0..spec.endpoints.len()).map(Target::Endpoint).collect();
        targets.extend((0..dc_names.len()).map(Target::Node));
        for (i, target) in targets.into_iter().enumerate() {
            let addr = listener_addr(listen, i)?;
            let listener = TcpListener::bind(addr).await.map_err(|e| {
                SimError::Bind(std::io::Error::new(e.kind(), format!("{addr}: {e}")))
            })?;
            let addr = listener.local_addr().map_err(SimError::Bind)?;
            match target {
                Target::Endpoint(_) => endpoints.push(addr),
                Target::Node(i) => nodes.push((dc_names[i].clone(), addr)),
            }
            let listener_world = Listener {
                world: shared.clone(),
                target,
            };
            tasks.spawn(server::serve(
                listener,
                listener_world,
                wait_for(rx.clone()),
            ));
        }
        if let Clock::RealTime { time_scale } = spec.clock {
            tasks.spawn(run_clock(shared.clone(), time_scale, wait_for(rx.clone())));
        }
        Ok(Network {
            shared,
            endpoints,
            nodes,
            shutdown: tx,
            tasks,
            clock: spec.clock,
        })
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// `http://127.0.0.1:PORT` of each API endpoint, in spec order.
    pub fn endpoint_urls(&self) -> Vec<String> {
        self.endpoints.iter().map(url_of).collect()
    }

    /// `(data center, http://127.0.0.1:PORT)` of each data center's node API.
    pub fn node_urls(&self) -> Vec<(String, String)> {
        self.nodes
            .iter()
            .map(|(n, a)| (n.clone(), url_of(a)))
            .collect()
    }

    /// A handle on the world (also a [`failover_core::clock::Clock`] reading chain time).
    pub fn shared(&self) -> Shared {
        self.shared.clone()
    }

    /// The world, locked. Keep the guard short: listeners wait for it.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.shared.lock()
    }

    /// Reads the main chain.
    pub fn with_chain<R>(&self, f: impl FnOnce(&Chain) -> R) -> R {
        f(self.world().main())
    }

    /// Changes the main chain directly (tests).
    pub fn with_chain_mut<R>(&self, f: impl FnOnce(&mut Chain) -> R) -> R {
        f(self.world().main_mut())
    }

    /// Advances `slots` slots (any clock).
    pub fn step(&self, slots: u32) {
        let mut w = self.world();
        let target = w.elapsed_slots() + slots;
        w.advance_to_elapsed(target);
    }

    /// Slots since the start.
    pub fn elapsed_slots(&self) -> u32 {
        self.world().elapsed_slots()
    }

    pub fn apply(&self, change: Change) {
        self.world().apply(change);
    }

    pub fn set_endpoint(&self, index: usize, behavior: Behavior) {
        self.apply(Change::Endpoint { index, behavior });
    }

    pub fn set_datacenter(&self, name: &str, status: DcStatus) {
        self.apply(Change::Datacenter {
            name: name.to_string(),
            status,
        });
    }

    /// The next pushes fail with these errors, in order.
    pub fn inject_push_failures(&self, errors: Vec<NodeError>) {
        self.apply(Change::PushFailures(errors));
    }

    pub fn counters(&self, target: Target) -> Counters {
        self.world().counters(target)
    }

    /// Requests endpoint `i` answered on `path` (`"get_info"` or a full path).
    pub fn requests(&self, endpoint: usize, path: &str) -> u64 {
        self.counters(Target::Endpoint(endpoint)).get(path)
    }

    /// Transaction submissions (every push method) answered or held by every endpoint
    /// and data-center node.
    pub fn push_requests(&self) -> u64 {
        let w = self.world();
        let all = (0..w.counters.len())
            .map(Target::Endpoint)
            .chain((0..w.node_counters.len()).map(Target::Node));
        all.map(|t| {
            let c = w.counters(t);
            PUSH_METHODS.iter().map(|m| c.get(m)).sum::<u64>()
        })
        .sum()
    }

    /// Accepted key switches of our producer on the main chain.
    pub fn key_switches(&self) -> Vec<KeySwitchRecord> {
        self.with_chain(|c| c.key_switches().to_vec())
    }

    /// `(index into [`Network::key_switches`], instant)` of each key switch accepted over
    /// HTTP (switches made by changing the chain directly are not timed).
    pub fn key_switch_times(&self) -> Vec<(usize, std::time::Instant)> {
        self.world().switch_accept_times().to_vec()
    }

    /// Unix milliseconds of the main chain's current slot: the clock clients should use
    /// when the time scale is not 1.
    pub fn chain_now_ms(&self) -> i64 {
        self.shared.chain_now_ms()
    }

    /// Stops every listener and the clock, and waits for them.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.tasks.abort_all();
    }
}

/// The address of the `i`-th listener under `listen` (see [`Network::start_on`]).
fn listener_addr(listen: SocketAddr, i: usize) -> Result<SocketAddr, SimError> {
    if listen.port() == 0 {
        return Ok(listen);
    }
    u16::try_from(i)
        .ok()
        .and_then(|i| listen.port().checked_add(i))
        .map(|port| SocketAddr::new(listen.ip(), port))
        .ok_or_else(|| {
            SimError::Bind(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not enough ports above {listen}"),
            ))
        })
}

/// `http://ADDR` of a listener; an unspecified address (`0.0.0.0`, `::`) is reached
/// through loopback.
fn url_of(a: &SocketAddr) -> String {
    let mut a = *a;
    if a.ip().is_unspecified() {
        a.set_ip(match a {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{a}")
}

/// Chain methods that submit a transaction.
pub const PUSH_METHODS: [&str; 3] = ["push_transaction", "send_transaction", "send_transaction2"];

fn is_push(path: &str) -> bool {
    path.strip_prefix("/v1/chain/")
        .is_some_and(|m| PUSH_METHODS.contains(&m))
}

/// Resolves when the watch says stop (or its sender is gone).
async fn wait_for(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

async fn run_clock(shared: Shared, time_scale: f64, shutdown: impl Future<Output = ()>) {
    let period = Duration::from_secs_f64(0.5 / time_scale);
    let start = tokio::time::Instant::now();
    let base = shared.lock().elapsed_slots();
    tokio::pin!(shutdown);
    let mut n: u32 = 1;
    loop {
        let next = start + period.mul_f64(f64::from(n));
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep_until(next) => {}
        }
        let due = (start.elapsed().as_secs_f64() / period.as_secs_f64()) as u32;
        shared.lock().advance_to_elapsed(base + due);
        n = due + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_take_consecutive_ports_or_port_0() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert_eq!(listener_addr(any, 5).unwrap(), any);
        let base: SocketAddr = "127.0.0.1:8000".parse().unwrap();
        assert_eq!(listener_addr(base, 0).unwrap(), base);
        assert_eq!(
            listener_addr(base, 5).unwrap(),
            "127.0.0.1:8005".parse().unwrap()
        );
        let top: SocketAddr = "127.0.0.1:65535".parse().unwrap();
        assert!(listener_addr(top, 1).is_err());
    }

    #[test]
    fn urls_of_unspecified_addresses_go_through_loopback() {
        assert_eq!(
            url_of(&"0.0.0.0:80".parse().unwrap()),
            "http://127.0.0.1:80"
        );
        assert_eq!(url_of(&"[::]:80".parse().unwrap()), "http://[::1]:80");
        assert_eq!(
            url_of(&"192.0.2.7:80".parse().unwrap()),
            "http://192.0.2.7:80"
        );
    }
}
