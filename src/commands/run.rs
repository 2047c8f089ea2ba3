//! `bp-failover run`: the daemon, until SIGINT or SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::api::SystemClock;
use crate::cli::RunArgs;
use crate::config;
use crate::daemon::{Daemon, Options};
use crate::events::{EventLog, LogFormat};

pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    init_tracing(args.log_format);
    let loaded = config::load(&args.config.config)?;
    for w in &loaded.warnings {
        tracing::warn!(target: "config", "{w}");
    }
    let config = loaded.config;
    let key = config
        .producer
        .key
        .load()
        .context("cannot load the failover key")?;
    let log = EventLog::stdout(args.log_format, args.verbose);
    let opts = Options {
        dry_run: args.dry_run,
        ..Options::default()
    };
    let daemon = Daemon::new(config, opts, key, Arc::new(SystemClock), log)?;
    daemon.run(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Diagnostics go to stderr, in the event log's format.
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BP_FAILOVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
