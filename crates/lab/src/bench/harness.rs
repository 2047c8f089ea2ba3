//! Plumbing the benchmarks share: placing our producer and its outage, the daemon's
//! config for a simulated network, an event recorder, and a wall-clock stepper.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use antelope::PrivateKey;
use antelope_sim::chain::{Chain, ChainSpec, DcStatus};
use antelope_sim::network::{Change, Event as SimEvent, Network};
use anyhow::Context;
use bp_failover::config::Config;
use bp_failover::drill::lockstep::{Lockstep, Pace, Ticking};
use bp_failover::drill::{render_config, ConfigOptions};
use tokio::sync::watch;

/// Puts our producer at `index` of the schedule (the order others keep).
pub(crate) fn place_ours(spec: &mut ChainSpec, index: usize) {
    let our = spec.our_producer;
    spec.producers.retain(|p| *p != our);
    let index = index.min(spec.producers.len());
    spec.producers.insert(index, our);
}

pub(crate) fn our_index(spec: &ChainSpec) -> usize {
    spec.producers
        .iter()
        .position(|p| *p == spec.our_producer)
        .unwrap_or(0)
}

pub(crate) fn outage_event(genesis: u32, slot: u32) -> SimEvent {
    SimEvent {
        at: slot - genesis,
        change: Change::Datacenter {
            name: "primary".into(),
            status: DcStatus::Down,
        },
    }
}

/// Writes the network's config (and the observer's key) into `dir`; returns the loaded
/// config and key.
pub(crate) fn daemon_config(net: &Network, dir: &Path) -> anyhow::Result<(Config, PrivateKey)> {
    let text = render_config(net, &ConfigOptions::new(dir))?;
    let path = dir.join("config.toml");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    let loaded = bp_failover::config::load(&path)?;
    let key = bp_failover::keyfile::read_key_file(&dir.join("failover.key"))?;
    Ok((loaded.config, key))
}

/// Records every event line the daemon writes, with the instant it was written.
#[derive(Clone, Default)]
pub(crate) struct Recorder(Arc<Mutex<Recorded>>);

#[derive(Default)]
struct Recorded {
    partial: Vec<u8>,
    events: Vec<(Instant, serde_json::Value)>,
}

impl Recorder {
    pub(crate) fn first(&self, event: &str) -> Option<(Instant, serde_json::Value)> {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.events.iter().find(|(_, v)| v["event"] == event).cloned()
    }
}

impl Write for Recorder {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let now = Instant::now();
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.partial.extend_from_slice(b);
        while let Some(end) = g.partial.iter().position(|c| *c == b'\n') {
            let line: Vec<u8> = g.partial.drain(..=end).collect();
            if let Ok(v) = serde_json::from_slice(&line) {
                g.events.push((now, v));
            }
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Steps a manual-clock network at each wall-clock slot boundary (block `s` appears at
/// `s`'s start time, like a time scale of 1 aligned to the system clock) and records the
/// instant each slot was processed: the drill's and the tests' lockstep harness, paced by
/// the wall clock, with no observer of its own (the benchmarked daemon runs freely).
pub(crate) async fn drive(
    net: Arc<Network>,
    produced_at: Arc<Mutex<HashMap<u32, Instant>>>,
    stop: watch::Receiver<bool>,
) {
    let mut pacer = Lockstep::new(net, Pace::WallClock, Ticking::Rotating);
    pacer
        .run(stopped(stop), move |slot| {
            produced_at
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(slot, Instant::now());
        })
        .await;
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `later − earlier` in milliseconds, negative when `later` is earlier.
pub(crate) fn ms_between(earlier: Instant, later: Instant) -> f64 {
    match later.checked_duration_since(earlier) {
        Some(d) => ms(d),
        None => -ms(earlier.duration_since(later)),
    }
}

/// Produced block slots at or after `from`, increasing.
pub(crate) fn produced_from(chain: &Chain, from: u32) -> Vec<u32> {
    chain
        .blocks_from(chain.oldest().num)
        .map(|b| b.slot)
        .filter(|s| *s >= from)
        .collect()
}
