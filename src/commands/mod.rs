//! One module per command: the glue between the CLI and the library.

pub mod bench;
pub mod check;
pub mod drill;
pub mod failover;
pub mod key;
pub mod run;
pub mod simulate;
pub mod status;
pub mod tx;

use std::process::ExitCode;

use crate::cli::{Cli, Command, TxCommand};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Key(cmd) => key::run(cmd),
        Command::Tx(TxCommand::Regproducer(args)) => tx::regproducer(args),
        Command::Status(args) => runtime()?.block_on(status::run(&args.config.config, args.json)),
        Command::Check(args) => runtime()?.block_on(check::run(&args.config.config, args.json)),
        Command::Run(args) => runtime()?.block_on(run::run(args)),
        Command::Failover(args) => runtime()?.block_on(failover::run(args)),
        Command::Simulate(args) => runtime()?.block_on(simulate::run(args)),
        Command::Drill(args) => runtime()?.block_on(drill::run(args)),
        Command::Bench(args) => runtime()?.block_on(bench::run(args)),
    }
}

/// The async runtime for commands that talk to the network.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}
