//! Answering a request: which listener it came in on, its counters, the listener's
//! effective behaviour, injected push faults, and the honest answer from the chain the
//! listener's view is on.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::world::{Side, World};
use super::{Behavior, Lie};
use crate::api;
use crate::chain::DcStatus;
use crate::error::NodeError;
use crate::server::Reply;

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

/// Chain methods that submit a transaction.
pub(crate) const PUSH_METHODS: [&str; 3] =
    ["push_transaction", "send_transaction", "send_transaction2"];

pub(super) fn is_push(path: &str) -> bool {
    path.strip_prefix("/v1/chain/")
        .is_some_and(|m| PUSH_METHODS.contains(&m))
}

impl World {
    pub(crate) fn counters(&self, target: Target) -> Counters {
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
    pub(crate) fn refuses(&mut self, target: Target) -> bool {
        let down = self.behavior(target) == Behavior::Down;
        if down {
            if let Some(c) = self.counters_mut(target) {
                c.refused += 1;
            }
        }
        down
    }

    /// Answers one HTTP request.
    pub(crate) fn request(&mut self, target: Target, path: &str, body: &[u8]) -> Reply {
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

    pub(super) fn answer(
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
