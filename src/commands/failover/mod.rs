//! `bp-failover failover --to NAME`: a manual one-shot switch with the daemon's safety
//! checks (quorum, target ready, not already current; [`crate::manual`]) and its signing
//! path: `single` with one key, `msig` with `[msig]`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context};
use serde_json::json;

use crate::api::SystemClock;
use crate::cli::FailoverArgs;
use crate::config;
use crate::manual::{self, ManualError, Situation, TargetReadiness};

mod msig;
mod single;

pub async fn run(args: FailoverArgs) -> anyhow::Result<ExitCode> {
    let loaded = config::load_with(&args.config.config, &args.config.key_use(false))?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let config = loaded.config;
    let target = manual::target(&config, &args.to)?;
    let key = config
        .producer
        .key
        .load()
        .context("cannot load the failover key")?;
    let clock = SystemClock;
    let sit = Situation::observe(&config, &clock).await?;
    let me = config.producer.account;
    if sit.current == Some(target.signing_key) {
        let msg = format!(
            "{me} already has {}'s key ({}) in the producers table: nothing to do",
            target.name, target.signing_key
        );
        if args.json {
            println!("{}", json!({"summary": msg, "pushed": false}));
        } else {
            println!("{msg}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let schedule = sit.active_schedule().await;
    if let Some(f) = manual::in_flight(&config, sit.current, schedule.as_ref()) {
        if !args.force {
            return Err(f.into());
        }
        eprintln!(
            "warning: a key change to {} is already in flight; switching anyway (--force)",
            f.to
        );
    }
    match manual::target_readiness(&config, &target, &sit.quorum, &clock).await? {
        TargetReadiness::Ready => {}
        TargetReadiness::Unchecked => eprintln!(
            "note: {} has no `api` configured: its node's readiness cannot be checked",
            target.name
        ),
        TargetReadiness::NotReady(why) if args.force => eprintln!(
            "warning: {} does not look ready ({why}); switching anyway (--force)",
            target.name
        ),
        TargetReadiness::NotReady(why) => {
            return Err(ManualError::NotReady {
                target: target.name.clone(),
                why,
            }
            .into())
        }
    }
    let from = manual::name_of(&config, sit.current);
    let Some(msig) = config.msig.clone() else {
        return single::switch(&args, &config, &target, &sit, key, from).await;
    };
    let switch = msig::MsigSwitch {
        config: &config,
        msig: &msig,
        pool: &sit.pool,
        order: &sit.order,
        quorum: &sit.quorum,
        target: &target,
        from,
        head_ms: sit.head_ms(&clock),
    };
    msig::run_msig(&args, switch, key).await
}

fn confirm(summary: &str, name: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to switch without confirmation: stdin is not a terminal; pass --yes to confirm non-interactively");
    }
    eprintln!("About to {summary}.");
    eprint!("Type the data center name ({name}) to confirm: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() != name {
        bail!("not confirmed: nothing was sent");
    }
    Ok(())
}
