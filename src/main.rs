use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = bp_failover::cli::Cli::parse();
    match bp_failover::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!(
                "bp-failover: error: {}",
                bp_failover::commands::error_line(&err)
            );
            ExitCode::from(1)
        }
    }
}
