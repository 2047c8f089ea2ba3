//! `bp-failover run`: the daemon, until SIGINT or SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::alerts::Alerts;
use crate::api::SystemClock;
use crate::cli::RunArgs;
use crate::config;
use crate::daemon::{Daemon, Options};
use crate::diagnostics::init as init_tracing;
use crate::events::EventLog;
use crate::http;
use crate::metrics::Metrics;
use crate::signals::shutdown_signal;

pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    init_tracing(args.log_format);
    let loaded = config::load_with(&args.config.config, &args.config.key_use(false))?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
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
        selfcheck_every: std::time::Duration::from_secs(args.selfcheck_secs),
        ..Options::default()
    };
    let metrics = Metrics::from_config(config.metrics.as_ref());
    // Counters driven by events.
    let mut metric_events = log.subscribe();
    let m = metrics.clone();
    tokio::spawn(async move {
        while let Some(e) = metric_events.recv().await {
            m.on_event(&e);
        }
    });
    let alerts = Alerts::start(
        &config.alerts,
        &config.producer.account.to_string(),
        log.subscribe(),
        metrics.clone(),
        Arc::new(SystemClock),
    )
    .context("cannot start alerts")?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let server = match &config.metrics {
        Some(m) => {
            let listener = http::bind(m.listen).await?;
            Some(tokio::spawn(http::serve(
                listener,
                metrics.clone(),
                stopped(stop_rx.clone()),
            )))
        }
        None => None,
    };
    let daemon = Daemon::new(config, opts, key, Arc::new(SystemClock), log)?.with_metrics(metrics);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let result = daemon.run(stopped(stop_rx)).await;
    alerts.shutdown(std::time::Duration::from_secs(5)).await;
    if let Some(s) = server {
        let _ = s.await;
    }
    result?;
    Ok(ExitCode::SUCCESS)
}
