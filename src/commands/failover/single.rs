//! `failover --to D` with a single key: signs and pushes the switch (or shows it with
//! `--dry-run`), then watches the producers table.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::antelope::PrivateKey;
use crate::api::{Clock, SystemClock};
use crate::cli::FailoverArgs;
use crate::config::{Config, Datacenter};
use crate::daemon::executor::{Executor, SwitchOutcome};
use crate::manual::{wait_for_table, ManualRecord, Situation};

/// Switches from `from` (the current key's data center) to `target`.
pub(super) async fn switch(
    args: &FailoverArgs,
    config: &Config,
    target: &Datacenter,
    sit: &Situation,
    key: PrivateKey,
    from: String,
) -> anyhow::Result<ExitCode> {
    let me = config.producer.account;
    let clock = SystemClock;
    let summary = format!(
        "switch {me}'s block signing key from {} to {} ({}) with eosio::{} authorized by {me}@{}; url {:?} and location {} re-sent unchanged",
        from.clone(),
        target.name,
        target.signing_key,
        config.producer.action.name(),
        config.producer.permission,
        sit.row.url,
        sit.row.location
    );
    let mut executor = Executor::new(key);
    let head_ms = sit.head_ms(&clock);
    if args.dry_run {
        let out = executor
            .dry_run(&sit.pool, &sit.order, config, target, &sit.quorum, head_ms)
            .await?;
        let SwitchOutcome::DryRun {
            tx_id,
            body,
            validation,
        } = out
        else {
            println!("nothing to do: the producers table already holds the target key");
            return Ok(ExitCode::SUCCESS);
        };
        if args.json {
            let mut v = serde_json::to_value(&body)?;
            if let Some(obj) = v.as_object_mut() {
                obj.insert(
                    "summary".into(),
                    format!("dry run, not pushed: {summary}").into(),
                );
                obj.insert("transaction_id".into(), tx_id.to_string().into());
                obj.insert("validation".into(), validation.into());
            }
            println!("{v}");
        } else {
            println!("dry run, not pushed: {summary}");
            println!("transaction id {tx_id}; {validation}");
            println!("{}", serde_json::to_string(&body)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        super::confirm(&summary, &target.name)?;
    }
    let record = ManualRecord::prepare(config, from, target, clock.now_ms());
    let started = Instant::now();
    let out = executor
        .switch(
            &sit.pool,
            &sit.order,
            config,
            target,
            &sit.quorum,
            &clock,
            |_, _| Ok(()),
            |tx, why, retrying| {
                eprintln!(
                    "push of {} failed{}: {why}",
                    tx.id(),
                    if retrying {
                        " (retrying with a fresh transaction)"
                    } else {
                        ""
                    }
                )
            },
        )
        .await?;
    let (tx_id, endpoint, latency_ms) = match out {
        SwitchOutcome::Pushed {
            tx_id,
            endpoint,
            latency_ms,
            ..
        } => (tx_id, endpoint, latency_ms),
        _ => {
            println!("nothing to do: the producers table already holds the target key");
            return Ok(ExitCode::SUCCESS);
        }
    };
    eprintln!("pushed {tx_id} via {endpoint} in {latency_ms} ms; waiting for the producers table…");
    record.commit(config, tx_id);
    let registered = wait_for_table(
        &sit.pool,
        &sit.order,
        me,
        target.signing_key,
        Duration::from_secs(20),
    )
    .await;
    let mode_note =
        "it becomes active in the schedule ~7–73 s later under Savanna, ~6 min under legacy DPoS; \
                     watch it with `bp-failover status`";
    let result = json!({
        "summary": summary,
        "pushed": true,
        "transaction_id": tx_id.to_string(),
        "endpoint": endpoint,
        "latency_ms": latency_ms,
        "registered": registered,
        "seconds": started.elapsed().as_secs_f64(),
    });
    if args.json {
        println!("{result}");
    } else if registered {
        println!(
            "done: the producers table holds {}'s key after {:.1} s; {mode_note}",
            target.name,
            started.elapsed().as_secs_f64()
        );
    } else {
        println!("pushed {tx_id}, but the producers table does not show the new key yet; check `bp-failover status`");
    }
    Ok(if registered {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
