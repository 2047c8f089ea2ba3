//! What a network is started from and changed by: endpoint behaviours and lies, the
//! clock, partitions, scripted changes, and their narration.

use std::time::Duration;

use antelope::{BlockTimestamp, Name};

use crate::chain::{ChainSpec, DcStatus};
use crate::error::NodeError;

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
    /// Only [`Network::step`](super::Network::step) advances slots.
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
