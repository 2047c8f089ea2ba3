//! `bp-failover simulate`: a built-in failure scenario served as a standalone simulated
//! network, with a ready-to-use config for `bp-failover run`/`status`/`check` against it.
//!
//! The network's endpoints and data-center nodes listen on `--listen`'s address (loopback
//! unless the user names another address, which gets a warning). The config, the
//! observer's key (a fresh one, mode 0600) and the state file go into `--out` or a new
//! temporary directory that is removed on exit. The scenario's script runs from the start:
//! a daemon started later still sees the incident through its backfill of recent blocks.
//!
//! Chain time is slot time. With `--time-scale` ≠ 1 it runs ahead of the wall clock, and a
//! separately started daemon (which reads the wall clock) holds every failover as clock
//! skew: that is why the default is 1. `bp-failover drill` is the fast, self-contained
//! version, with the daemon reading chain time.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::run::{init_tracing, shutdown_signal};
use crate::cli::{SimNetworkArgs, SimulateArgs};
use crate::drill::scenario::{self, Params};
use crate::drill::{render_config, ConfigOptions, Expect, Scenario};
use crate::events::LogFormat;
use crate::sim::chain::REPETITIONS;
use crate::sim::network::current_slot;
use crate::sim::{Clock, Consensus, Network};

pub async fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    init_tracing(LogFormat::Text);
    let scenario = build_scenario(
        &args.network,
        Clock::RealTime {
            time_scale: args.time_scale,
        },
    )?;
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "bp-failover: warning: listening on {}, which is not loopback: anyone who can reach \
             this host can read the simulated chain and push transactions to it (a simulation: \
             no real chain or key is at stake)",
            args.listen.ip()
        );
    }
    let (dir, temp) = output_dir(args.out.as_deref(), "bp-failover-sim-")?;
    let net = Network::start_on(scenario.spec.clone(), args.listen)
        .await
        .context("cannot start the simulated network")?;
    scenario
        .prepare(&net)
        .map_err(|e| anyhow::anyhow!("cannot set up the scenario's k-of-n observers: {e}"))?;
    // In k-of-n mode: the first observer's config (the chain waits for the others).
    let config_path = write_config(&net, &scenario.config_options(0, &dir))?;

    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "bp-failover simulate: scenario {}\n  {}",
        scenario.name, scenario.description
    )?;
    for (label, text) in network_lines(&scenario, &net) {
        writeln!(out, "  {label:<11} {text}")?;
    }
    writeln!(
        out,
        "  {:<11} {}",
        "expected",
        expect_text(&scenario.expect)
    )?;
    if args.time_scale != 1.0 {
        writeln!(
            out,
            "note: chain time runs ×{} ahead of the wall clock; `bp-failover run` reads the wall \
             clock and will hold every failover as clock skew. Use the default --time-scale 1 \
             to run the daemon against this network, or `bp-failover drill` for a fast one.",
            args.time_scale
        )?;
    }
    writeln!(out, "config: {}", config_path.display())?;
    writeln!(out, "run: bp-failover run -c {}", config_path.display())?;
    writeln!(
        out,
        "serving until Ctrl-C or SIGTERM{}",
        if temp.is_some() {
            "; the directory is removed then"
        } else {
            ""
        }
    )?;
    drop(out);

    shutdown_signal().await;
    let switches = net.key_switches().iter().filter(|s| s.changed).count();
    println!(
        "stopping after {:.0} s of chain time: {} key change(s) on chain; {}",
        f64::from(net.elapsed_slots()) / 2.0,
        switches,
        match scenario.check(&net) {
            Ok(()) => "the scenario's expected outcome is met".to_string(),
            Err(e) => format!("not (yet) the scenario's expected outcome: {e}"),
        }
    );
    net.shutdown().await;
    drop(temp);
    Ok(ExitCode::SUCCESS)
}

/// The scenario `args` names, on `clock`, with fresh keys (a new random seed: the
/// observer's key is not the one derivable from the source).
pub(crate) fn build_scenario(args: &SimNetworkArgs, clock: Clock) -> anyhow::Result<Scenario> {
    let params = Params {
        producers: usize::from(args.producers),
        start_slot: current_slot(),
        clock,
        ..Params::default()
    };
    let mut s = scenario::builtin(&args.scenario, &params)
        .with_context(|| format!("unknown scenario {:?}", args.scenario))?;
    s.spec.chain.seed = format!("bp-failover-sim/{}", fresh_seed());
    Ok(s)
}

fn fresh_seed() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// `out` (created, absolute) or a new temporary directory (removed when the guard drops).
pub(crate) fn output_dir(
    out: Option<&Path>,
    prefix: &str,
) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match out {
        Some(d) => {
            std::fs::create_dir_all(d)
                .with_context(|| format!("cannot create directory {}", d.display()))?;
            let abs = std::fs::canonicalize(d)
                .with_context(|| format!("cannot resolve directory {}", d.display()))?;
            Ok((abs, None))
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .context("cannot create a temporary directory")?;
            let abs = std::fs::canonicalize(t.path()).unwrap_or_else(|_| t.path().to_path_buf());
            Ok((abs, Some(t)))
        }
    }
}

/// Writes `dir/failover.key` (0600) and `dir/config.toml` for `net`; neither may exist.
pub(crate) fn write_config(net: &Network, opts: &ConfigOptions) -> anyhow::Result<PathBuf> {
    let dir = &opts.dir;
    let text = render_config(net, opts).with_context(|| {
        format!(
            "cannot write the key file into {} (pass an empty --out directory)",
            dir.display()
        )
    })?;
    let path = dir.join("config.toml");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| {
            format!(
                "cannot create {} (pass an empty --out directory)",
                path.display()
            )
        })?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// What should happen, in words.
pub(crate) fn expect_text(e: &Expect) -> String {
    match e {
        Expect::NoSwitch => "no switch: the signing key must stay where it is".into(),
        Expect::Switch { to, count: 1 } => format!("one key switch, to {to}"),
        Expect::Switch { to, count } => format!("{count} key switches, ending on {to}"),
    }
}

/// The network's description, as `(label, text)` rows: chain, schedule, endpoints, our
/// data centers, the script.
pub(crate) fn network_lines(s: &Scenario, net: &Network) -> Vec<(&'static str, String)> {
    let spec = &s.spec.chain;
    let n = spec.producers.len();
    let position = spec
        .producers
        .iter()
        .position(|p| *p == spec.our_producer)
        .map_or(0, |i| i + 1);
    let turn_secs = f64::from(REPETITIONS) / 2.0;
    let rotation_secs = n as f64 * turn_secs;
    let mut lines = vec![
        ("chain", format!(
            "{n} producers, {}, a block every 0.5 s, chain id {}…",
            match spec.consensus {
                Consensus::Savanna => "Savanna consensus (a new schedule takes effect within seconds of being proposed)",
                Consensus::Legacy => "legacy DPoS consensus (a new schedule takes effect only after LIB passes it twice: minutes)",
            },
            &spec.chain_id.to_string()[..12]
        )),
        ("schedule", format!(
            "each producer signs {REPETITIONS} blocks in a row (a {turn_secs:.0} s turn); a rotation \
             takes {rotation_secs:.0} s; {} is {} of {n}; the system contract refreshes the schedule \
             every {:.0} s",
            spec.our_producer,
            ordinal(position),
            f64::from(spec.schedule_tick_slots) / 2.0
        )),
        ("producer", format!(
            "{}, whose key switches are signed by {}@{} (a fresh key, linked to the key-registration actions only)",
            spec.our_producer, spec.our_producer, spec.failover_permission
        )),
    ];
    let urls = net.endpoint_urls();
    for (i, (url, b)) in urls.iter().zip(&s.spec.endpoints).enumerate() {
        let label = if i == 0 { "endpoints" } else { "" };
        lines.push((label, format!("#{} {url}  {b}", i + 1)));
    }
    let nodes = net.node_urls();
    let keys = net.with_chain(|c| {
        c.datacenters()
            .iter()
            .map(|d| (d.name.clone(), d.public_key()))
            .collect::<Vec<_>>()
    });
    for (i, (name, key)) in keys.iter().enumerate() {
        let label = if i == 0 { "datacenters" } else { "" };
        let url = nodes
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, u)| u.as_str());
        let role = if i == 0 {
            "registered key, producing"
        } else {
            "standby"
        };
        lines.push((
            label,
            format!("{name:<8} {} node {url} ({role})", key.to_k1_string()),
        ));
    }
    let mut events = s.spec.events.clone();
    events.sort_by_key(|e| e.at);
    if events.is_empty() {
        lines.push(("script", "nothing happens".into()));
    }
    for (i, e) in events.iter().enumerate() {
        let label = if i == 0 { "script" } else { "" };
        lines.push((
            label,
            format!(
                "{:>8}  {}",
                format!("+{:.1} s", f64::from(e.at) / 2.0),
                e.change
            ),
        ));
    }
    lines
}

/// 1st, 2nd, 3rd, 4th, … 11th, 12th, 13th, 21st.
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            got,
            ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]
        );
    }
}
