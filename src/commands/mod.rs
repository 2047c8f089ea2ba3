//! One module per command: the glue between the CLI and the library.

pub mod key;
pub mod tx;

use std::process::ExitCode;

use crate::cli::{Cli, Command, TxCommand};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Key(cmd) => key::run(cmd),
        Command::Tx(TxCommand::Regproducer(args)) => tx::regproducer(args),
    }
}
