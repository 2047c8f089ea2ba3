//! `bp-failover status`: a one-shot snapshot of what the observer sees (gathered and built by
//! [`crate::snapshot`]), printed as text or JSON.
//!
//! Exit code: `0` when a majority of endpoints agree, [`EXIT_BLIND`] when the observer is
//! blind (endpoints disagree or too few are healthy). Configuration and other errors are
//! returned as `Err` for the caller to report.

use std::path::Path;
use std::process::ExitCode;

use crate::api::SystemClock;
use crate::config;
use crate::snapshot::{build_snapshot, gather, render_json, render_text, StatusSnapshot};

/// Exit code when the observer is blind.
pub const EXIT_BLIND: u8 = 1;

/// The exit code for a snapshot.
pub fn exit_code(s: &StatusSnapshot) -> ExitCode {
    if s.blind {
        ExitCode::from(EXIT_BLIND)
    } else {
        ExitCode::SUCCESS
    }
}

/// `bp-failover status [-c CONFIG] [--json]`.
pub async fn run(config_path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    run_with(config_path, &config::KeyUse::read_only(), json).await
}

/// As [`run`], with `--key-file` (status never needs the key itself).
pub async fn run_with(
    config_path: &Path,
    key: &config::KeyUse,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let loaded = config::load_with(config_path, key)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let inputs = gather(&loaded.config, loaded.warnings.clone(), &SystemClock).await?;
    let snapshot = build_snapshot(&loaded.config, &inputs);
    if json {
        println!("{}", render_json(&snapshot));
    } else {
        print!("{}", render_text(&snapshot));
    }
    Ok(exit_code(&snapshot))
}
