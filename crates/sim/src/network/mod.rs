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

mod lie;
mod requests;
mod spec;
mod world;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::chain::{Chain, DcStatus, KeySwitchRecord};
use crate::error::NodeError;
use crate::server::{self, Reply};
use antelope::BlockTimestamp;

use requests::PUSH_METHODS;
pub use requests::{Counters, Target};
pub use spec::{current_slot, Behavior, Change, Clock, Event, ForkSpec, Lie, NetworkSpec};
pub use world::World;

#[derive(Debug, Error)]
pub enum SimError {
    #[error("cannot bind a listener: {0}")]
    Bind(std::io::Error),
    #[error("time_scale must be a finite number above 0, got {0}")]
    TimeScale(f64),
}

/// The world behind a lock, shared by listeners, the clock task and the owner.
#[derive(Debug, Clone)]
pub struct Shared(Arc<Mutex<World>>);

impl Shared {
    /// Locks the world; a panic in another holder does not make it unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, World> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Unix milliseconds of the main chain's current slot.
    pub(crate) fn chain_now_ms(&self) -> i64 {
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
        })
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
