//! One module per command: the glue between the CLI and the library.

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
        Command::Status(args) => runtime()?.block_on(status::run_with(
            &args.config.config,
            &args.config.key_use(true),
            args.json,
        )),
        Command::Check(args) => runtime()?.block_on(check::run_with(
            &args.config.config,
            &args.config.key_use(true),
            args.json,
        )),
        Command::Run(args) => runtime()?.block_on(run::run(args)),
        Command::Failover(args) => runtime()?.block_on(failover::run(args)),
        Command::TestAlert(args) => runtime()?.block_on(test_alert(args)),
        Command::Simulate(args) => runtime()?.block_on(simulate::run(args)),
        Command::Drill(args) => runtime()?.block_on(drill::run(args)),
    }
}

/// `bp-failover test-alert`: a marked test message to every alert channel.
async fn test_alert(args: crate::cli::TestAlertArgs) -> anyhow::Result<ExitCode> {
    let loaded = crate::config::load_with(&args.config.config, &args.config.key_use(true))?;
    let config = loaded.config;
    if config.alerts.channels.is_empty() {
        anyhow::bail!(
            "no [[alerts.channel]] in {}: nothing to test (see config.example.toml)",
            args.config.config.display()
        );
    }
    let now = crate::api::Clock::now_ms(&crate::api::SystemClock);
    let results =
        crate::alerts::send_test(&config.alerts, &config.producer.account.to_string(), now).await?;
    let mut ok = true;
    for (name, r) in &results {
        match r {
            Ok(()) => println!("ok      {name}: test message delivered"),
            Err(e) => {
                ok = false;
                println!("FAILED  {name}: {e}");
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// An error and its causes on one line, each cause said once: a cause whose text the
/// message already carries (an error that prints its source) is not repeated.
pub fn error_line(err: &anyhow::Error) -> String {
    let mut out = err.to_string();
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(": ");
            out.push_str(&c);
        }
    }
    out
}

/// The async runtime for commands that talk to the network.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = crate::state_file::StateError::Read {
            path: "/x/state.json".into(),
            source: io,
        };
        let line = error_line(&anyhow::Error::new(e).context("cannot start"));
        assert_eq!(line.matches("entity not found").count(), 1, "{line}");
        assert!(
            line.starts_with("cannot start: cannot read state file /x/state.json"),
            "{line}"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_line(&plain), "outer: inner");
    }
}
