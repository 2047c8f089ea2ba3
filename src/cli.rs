//! Command-line interface. Parsing only: every command's work lives in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::antelope::{ChainId, Checksum256, Name, PublicKey, TimePointSec};
use crate::keyswitch::RegAction;

/// Keeps an Antelope block producer producing when its primary data center fails, by
/// switching its on-chain signing key to a healthy backup.
#[derive(Debug, Parser)]
#[command(name = "bp-failover", version = crate::VERSION_LONG, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Private and public key utilities.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Build and sign transactions.
    #[command(subcommand)]
    Tx(TxCommand),
    /// One-shot snapshot: endpoints, quorum, schedule, our key on chain, data centers.
    Status(StatusArgs),
    /// Prove the setup: config, key, permission and links, registration, finalizer keys,
    /// ABI, endpoints and data center nodes; prints the cleos command that fixes each
    /// failure. Exit code 1 when a check fails.
    Check(CheckArgs),
    /// The daemon: watch the chain and switch the signing key when the policy says so.
    Run(RunArgs),
    /// Switch the signing key to data center NAME now (manual one-shot failover).
    Failover(FailoverArgs),
    /// Send a test message, marked [TEST], to every configured alert channel now, and say
    /// which delivered. Exit code 1 when one did not.
    TestAlert(TestAlertArgs),
    /// Serve a simulated Antelope network playing a failure scenario, and write a config
    /// for `bp-failover run` against it. Runs until SIGINT or SIGTERM.
    Simulate(SimulateArgs),
    /// Rehearse a failover end to end with no config and no network: a simulated network
    /// and the real daemon in one process, narrated, then a report. Exit code 1 when the
    /// outcome is not the scenario's expected one.
    Drill(DrillArgs),
}

/// Built-in scenario names (`bp-failover drill --list`).
fn scenario_name(s: &str) -> Result<String, String> {
    let names: Vec<&str> = crate::drill::scenario::list()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    if names.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "unknown scenario; known: {} (descriptions: bp-failover drill --list)",
            names.join(", ")
        ))
    }
}

/// A time scale: a finite number above 0.
fn time_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err("expected a number above 0 (1 = real time, 20 = twenty times faster)".into()),
    }
}

/// Knobs of the simulated network shared by `simulate` and `drill`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Simulated network")]
pub struct SimNetworkArgs {
    /// The built-in scenario to play (`bp-failover drill --list`).
    #[arg(long, value_name = "NAME", default_value = "primary-down", value_parser = scenario_name)]
    pub scenario: String,
    /// Producers in the schedule (21 on a real chain).
    #[arg(long, value_name = "N", default_value_t = 21,
          value_parser = clap::value_parser!(u16).range(4..=100))]
    pub producers: u16,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub network: SimNetworkArgs,
    /// Address of the first listener: the endpoints and the data centers' nodes get
    /// consecutive ports from it, or each its own free port with port 0. A non-loopback
    /// address exposes the simulator to the network (a warning is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Chain time runs this many times faster than the wall clock. Keep the default 1 to
    /// run `bp-failover run` against it: the daemon reads the wall clock, and a chain
    /// running ahead of it looks like clock skew, which holds every failover.
    #[arg(long, value_name = "X", default_value_t = 1.0, value_parser = time_scale)]
    pub time_scale: f64,
    /// Directory for config.toml, failover.key (mode 0600) and state.json; created if
    /// missing, kept afterwards (default: a new temporary directory, removed on exit).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    #[command(flatten)]
    pub network: SimNetworkArgs,
    /// List the scenarios with a one-line description and exit.
    #[arg(long)]
    pub list: bool,
    /// Chain time runs this many times faster than the wall clock (the daemon reads
    /// chain time, so its decisions are the same at any speed).
    #[arg(long, value_name = "X", default_value_t = 20.0, value_parser = time_scale)]
    pub time_scale: f64,
    /// Print the report as one JSON object instead of the narration.
    #[arg(long)]
    pub json: bool,
    /// Keep the generated config, key file and state in DIR (created if missing) instead
    /// of a temporary directory removed at the end.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FailoverArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The configured data center to switch to.
    #[arg(long, value_name = "NAME")]
    pub to: String,
    /// Build, sign and validate, but do not push.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Switch even if the target's own node does not look ready.
    #[arg(long)]
    pub force: bool,
    /// Print one JSON object on stdout (with --dry-run: the push_transaction body plus a
    /// `summary` field).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Do everything, signing included, but never push: log the transaction instead.
    #[arg(long)]
    pub dry_run: bool,
    /// Event log format on stdout.
    #[arg(long, value_enum, default_value_t = crate::events::LogFormat::Text)]
    pub log_format: crate::events::LogFormat,
    /// Also log per-slot events (missed_slots, round_summary).
    #[arg(short, long)]
    pub verbose: bool,
    /// Seconds between setup self-checks (authority, registration, state directory,
    /// CPU/NET); they also run at start.
    #[arg(long, value_name = "SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(10..=86400))]
    pub selfcheck_secs: u64,
}

/// `-c/--config`, shared by every command that reads the config file.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Configuration file (TOML).
    #[arg(short, long, value_name = "FILE", env = crate::config::CONFIG_ENV,
          default_value = crate::config::DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// Read the failover key from this file instead of the config's key_file/key_env
    /// (e.g. from a shell when key_file is the systemd credential path).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

impl ConfigArg {
    /// How a command that signs (`read_only` false) or not uses the key.
    pub fn key_use(&self, read_only: bool) -> crate::config::KeyUse {
        crate::config::KeyUse {
            read_only,
            key_file: self.key_file.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print one JSON object `{checks: [{name, status, detail, fix}], passed}` instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TestAlertArgs {
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Read one private key (WIF or PVT_K1_) from stdin and print its public key.
    Public {
        /// Print the legacy EOS… form instead of PUB_K1_….
        #[arg(long)]
        legacy: bool,
    },
    /// Generate a new private key into a new file (mode 0600) and print its public key.
    New {
        /// File to create; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Print the legacy EOS… form instead of PUB_K1_….
        #[arg(long)]
        legacy: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TxCommand {
    /// Build and sign the key-switch transaction (regproducer or regproducer2).
    Regproducer(RegproducerArgs),
}

#[derive(Debug, Args)]
pub struct RegproducerArgs {
    /// Build without any network access (air-gapped signing). Required: the online
    /// form reads TAPOS, url and location from the chain and is `failover`.
    #[arg(long, required = true)]
    pub offline: bool,
    /// Chain id (64 hex digits), as `get_info` reports it.
    #[arg(long, value_name = "HEX")]
    pub chain_id: ChainId,
    /// Id of a recent block (ideally the last irreversible one) for TAPOS.
    #[arg(long, value_name = "HEX")]
    pub ref_block_id: Checksum256,
    /// The producer account.
    #[arg(long, value_name = "NAME")]
    pub producer: Name,
    /// The permission of the producer that signs (linked to eosio::regproducer).
    #[arg(long, value_name = "PERM")]
    pub permission: Name,
    /// File holding the private key of that permission (WIF or PVT_K1_, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub key_file: PathBuf,
    /// The new block signing key (PUB_K1_… or EOS…).
    #[arg(long, value_name = "PUBKEY")]
    pub signing_key: PublicKey,
    /// The producer's url, exactly as the producers table holds it (regproducer overwrites it).
    #[arg(long)]
    pub url: String,
    /// The producer's location, exactly as the producers table holds it.
    #[arg(long, value_name = "N")]
    pub location: u16,
    /// Seconds from now (local clock) until the transaction expires; at most 3600.
    #[arg(long, value_name = "N", default_value_t = 300,
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub expire_secs: u32,
    /// Exact expiration time in UTC (e.g. 2026-11-21T12:00:00) instead of --expire-secs,
    /// for a signing machine whose clock is not trusted.
    #[arg(long, value_name = "TIME", conflicts_with = "expire_secs")]
    pub expiration: Option<TimePointSec>,
    /// Also activate this registered BLS finalizer key (PUB_BLS_…) with eosio::actfinkey
    /// in the same transaction (Savanna chains).
    #[arg(long, value_name = "PUB_BLS")]
    pub finalizer_key: Option<String>,
    /// Action to use.
    #[arg(long, value_parser = reg_action(), default_value = "regproducer")]
    pub action: RegAction,
}

/// `--action`: the key-switch action's name (the library type stays free of clap).
fn reg_action() -> impl clap::builder::TypedValueParser<Value = RegAction> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["regproducer", "regproducer2"]).map(|s| {
        if s == "regproducer2" {
            RegAction::Regproducer2
        } else {
            RegAction::Regproducer
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("bp-failover").chain(args.iter().copied()))
    }

    const TX: &[&str] = &[
        "tx",
        "regproducer",
        "--offline",
        "--chain-id",
        "aca376f206b8fc25a6ed44dbdc66547c36c6c33e3a119ffbeaef943642f0e906",
        "--ref-block-id",
        "00816d41e41f1462acb648b810b20f152d944fabd79aaff31c9f50102e4e5db9",
        "--producer",
        "producer.d",
        "--permission",
        "failover",
        "--key-file",
        "k",
        "--signing-key",
        "EOS6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeABhJRin",
        "--url",
        "https://example.org",
        "--location",
        "0",
    ];

    #[test]
    fn tx_regproducer_parses_with_defaults() {
        let cli = parse(TX).unwrap();
        let Command::Tx(TxCommand::Regproducer(a)) = cli.command else {
            panic!()
        };
        assert_eq!(a.expire_secs, 300);
        assert_eq!(a.action, RegAction::Regproducer);
        assert_eq!(a.producer.to_string(), "producer.d");
    }

    #[test]
    fn bad_values_are_rejected_by_the_parser() {
        let with = |flag: &str, value: &str| {
            let mut v: Vec<&str> = TX.to_vec();
            let i = v.iter().position(|a| *a == flag).unwrap();
            v[i + 1] = value;
            parse(&v).unwrap_err().to_string()
        };
        assert!(with("--producer", "Bad.Name").contains("uppercase"));
        assert!(with("--signing-key", "PUB_R1_x").contains("K1"));
        assert!(with("--chain-id", "abc").contains("64 hex"));
        assert!(with("--location", "70000").contains("70000"));
        let mut long: Vec<&str> = TX.to_vec();
        long.extend(["--expire-secs", "3601"]);
        assert!(parse(&long).unwrap_err().to_string().contains("3601"));
        long.truncate(TX.len());
        long.extend(["--expire-secs", "60", "--expiration", "2026-01-01T00:00:00"]);
        assert!(parse(&long)
            .unwrap_err()
            .to_string()
            .contains("cannot be used with"));
        let no_offline: Vec<&str> = TX.iter().copied().filter(|a| *a != "--offline").collect();
        assert!(parse(&no_offline)
            .unwrap_err()
            .to_string()
            .contains("--offline"));
    }
}
