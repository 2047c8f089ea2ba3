//! `bp-failover-lab`: developer tools kept out of the operator's binary (`bench`).
//! `drill` and `simulate` stay in `bp-failover`: they are what an operator rehearses with.

mod bench;
mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| match cli.command {
            cli::Command::Bench(args) => rt.block_on(bench::run(args)),
        });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!(
                "bp-failover-lab: error: {}",
                bp_failover::commands::error_line(&err)
            );
            ExitCode::from(1)
        }
    }
}
