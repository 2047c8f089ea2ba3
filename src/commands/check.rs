//! `bp-failover check`: runs the preflight checks ([`crate::preflight`]) and prints them.
//!
//! Exit code: `0` when no check fails (warnings allowed),
//! [`EXIT_FAILED`](crate::preflight::EXIT_FAILED) otherwise.

use std::path::Path;
use std::process::ExitCode;

use crate::api::SystemClock;
use crate::config;
use crate::preflight::{config_failure, evaluate, gather, render_json, render_text, CheckReport};

/// `bp-failover check [-c CONFIG] [--json]`.
pub async fn run(config_path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    run_with(config_path, &config::KeyUse::read_only(), json).await
}

/// As [`run`], with `--key-file`. A key that does not load is reported by the `key`
/// check; everything else is still checked.
pub async fn run_with(
    config_path: &Path,
    key: &config::KeyUse,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (report, who) = match config::load_with(config_path, key) {
        Err(e) => (config_failure(&e), String::new()),
        Ok(loaded) => {
            let inputs = gather(&loaded.config, loaded.warnings.clone(), &SystemClock).await?;
            let report = CheckReport::new(evaluate(&loaded.config, &inputs));
            (report, format!(" {}", loaded.config.producer.account))
        }
    };
    if json {
        println!("{}", render_json(&report));
    } else {
        println!(
            "bp-failover check{who} (config {})\n",
            config_path.display()
        );
        print!("{}", render_text(&report));
    }
    Ok(report.exit_code())
}
