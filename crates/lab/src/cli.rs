//! Command-line interface of the lab binary. Parsing only.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Developer tools for bp-failover, kept out of the operator's binary.
#[derive(Debug, Parser)]
#[command(name = "bp-failover-lab", version = bp_failover::VERSION_LONG, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Benchmarks against the simulated network on 127.0.0.1: decision-to-push latency,
    /// blocks lost per primary outage, and the daemon's CPU and memory while watching
    /// (docs/benchmarks.md). Takes several minutes; run a release build.
    Bench(BenchArgs),
}

/// Which benchmark `bench --only` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BenchKind {
    /// Decision-to-push latency at real time (4 producers).
    Latency,
    /// Our slots missed per primary outage against the minimum (21 producers).
    Blocks,
    /// CPU share and peak RSS of `bp-failover run` watching 21 producers.
    Cost,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Incidents of the latency benchmark.
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) incidents: u32,
    /// Run only this benchmark.
    #[arg(long, value_enum)]
    pub(crate) only: Option<BenchKind>,
    /// Print one JSON object instead of tables (progress goes to stderr).
    #[arg(long)]
    pub(crate) json: bool,
    /// Latency incidents run at once, each on its own network with our producer at a
    /// different schedule position, so their decisions are 6 s apart.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=4))]
    pub(crate) parallel: u32,
    /// Latency benchmark under degradation: the third endpoint answers every request after
    /// MS milliseconds (above `request_timeout_ms`, 1500, its requests time out).
    #[arg(long, value_name = "MS")]
    pub(crate) slow_endpoint: Option<u64>,
    /// Time scale of the blocks-lost runs (the daemon's intervals are scaled alike, its
    /// HTTP and signing time is not: above 1 it counts as more slots than on a real chain).
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    pub(crate) time_scale: f64,
    /// Blocks-lost outages run at once (each on its own network).
    #[arg(long, value_name = "N", default_value_t = 22,
          value_parser = clap::value_parser!(u32).range(1..=32))]
    pub(crate) blocks_parallel: u32,
    /// Seconds the cost benchmark samples the daemon, after a 15 s warm-up.
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(5..))]
    pub(crate) cost_secs: u64,
    /// Cost benchmark soak: every endpoint serves an active schedule that changes every
    /// slot (memory must stay bounded).
    #[arg(long)]
    pub(crate) flap_schedule: bool,
    /// Cost benchmark with every endpoint failing every block read (`get_info` and state
    /// reads honest): measures the request rate under the observer's backoff.
    #[arg(long)]
    pub(crate) fail_block_reads: bool,
    /// The product binary the cost benchmark runs as `PATH run` (default: `bp-failover`
    /// beside this executable, as `cargo build --release` leaves it).
    #[arg(long, value_name = "PATH")]
    pub(crate) daemon_bin: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn bench_flags_parse() {
        let cli = Cli::try_parse_from([
            "bp-failover-lab",
            "bench",
            "--only",
            "cost",
            "--cost-secs",
            "5",
            "--daemon-bin",
            "/x/bp-failover",
        ])
        .unwrap();
        let Command::Bench(a) = cli.command;
        assert_eq!(a.only, Some(BenchKind::Cost));
        assert_eq!(a.cost_secs, 5);
        assert_eq!(a.daemon_bin, Some(PathBuf::from("/x/bp-failover")));
        assert!(Cli::try_parse_from(["bp-failover-lab", "bench", "--cost-secs", "4"]).is_err());
        assert!(Cli::try_parse_from(["bp-failover-lab", "bench", "--parallel", "5"]).is_err());
    }
}
