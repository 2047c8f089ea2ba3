//! `failover --to D` with `[msig]`: the proposal, this observer's approval, and who still
//! has to approve.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use crate::antelope::PrivateKey;
use crate::api::{Clock, EndpointPool, Quorum, SystemClock};
use crate::cli::FailoverArgs;
use crate::config::{Config, Datacenter, MsigConfig};
use crate::daemon::executor::Executor;
use crate::manual::{wait_for_table, ManualRecord};

/// Everything the `[msig]` manual switch needs.
pub(super) struct MsigSwitch<'a> {
    pub(super) config: &'a Config,
    pub(super) msig: &'a MsigConfig,
    pub(super) pool: &'a EndpointPool,
    pub(super) order: &'a [usize],
    pub(super) quorum: &'a Quorum,
    pub(super) target: &'a Datacenter,
    pub(super) from: String,
    pub(super) head_ms: i64,
}

/// `failover --to D` with `[msig]`: proposes and approves the incident's proposal (or
/// approves the one another observer made, after checking it is exactly this switch, and
/// executes it when ours is the k-th approval), then says how many approvals are still
/// needed and from whom. `--dry-run` shows the transaction without pushing it.
pub(super) async fn run_msig(
    args: &FailoverArgs,
    s: MsigSwitch<'_>,
    key: PrivateKey,
) -> anyhow::Result<ExitCode> {
    let me = s.config.producer.account;
    let summary = format!(
        "switch {me}'s block signing key from {} to {} ({}) through eosio.msig as {} ({} of {} observers must approve)",
        s.from, s.target.name, s.target.signing_key, s.msig.observer, s.msig.threshold, s.msig.observers.len()
    );
    if !args.dry_run && !args.yes {
        super::confirm(&summary, &s.target.name)?;
    }
    let record = (!args.dry_run)
        .then(|| ManualRecord::prepare(s.config, s.from.clone(), s.target, SystemClock.now_ms()));
    let mut executor = Executor::new(key);
    let out = crate::daemon::msig::manual(
        &mut executor,
        s.pool,
        s.order,
        s.config,
        s.msig,
        s.target,
        s.quorum,
        s.head_ms,
        args.dry_run,
    )
    .await?;
    let Some(out) = out else {
        println!("nothing to do: the producers table already holds the target key");
        return Ok(ExitCode::SUCCESS);
    };
    if let (Some(r), Some(rec)) = (&record, out.record.clone()) {
        r.commit_msig(s.config, rec);
    }
    for r in &out.rejected {
        eprintln!(
            "CRITICAL: proposal {}/{} is not this switch and is never approved: {}; someone holding {}'s observer key proposes something else",
            r.proposer,
            out.proposal.split('/').nth(1).unwrap_or(""),
            r.reason,
            r.proposer
        );
    }
    let waiting: Vec<String> = out.waiting_for.iter().map(|o| o.to_string()).collect();
    let needed = if out.still_needed == 0 {
        "no more approvals needed".to_string()
    } else {
        format!(
            "{} more approval(s) needed, from any of: {} (each runs `bp-failover failover --to {}`, or its daemon approves when it decides the same switch)",
            out.still_needed,
            waiting.join(", "),
            s.target.name
        )
    };
    let mut result = json!({
        "summary": summary,
        "plan": out.description,
        "proposal": out.proposal,
        "still_needed": out.still_needed,
        "waiting_for": waiting,
        "rejected": out.rejected.iter().map(|r| json!({"proposer": r.proposer.to_string(), "reason": r.reason})).collect::<Vec<_>>(),
        "pushed": out.endpoint.is_some(),
        "executed": out.executed,
        "transaction_id": out.tx_id.map(|t| t.to_string()),
    });
    if args.dry_run {
        if args.json {
            result["summary"] = format!("dry run, not pushed: {summary}").into();
            result["transaction"] = serde_json::to_value(&out.body)?;
            println!("{result}");
        } else {
            println!("dry run, not pushed: {summary}");
            println!("{}; {needed}", out.description);
            if let (Some(id), Some(body)) = (out.tx_id, &out.body) {
                println!("transaction id {id}");
                println!("{}", serde_json::to_string(body)?);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some((endpoint, latency_ms)) = out.endpoint.clone() else {
        // Our approval is already on chain: nothing to push.
        if args.json {
            println!("{result}");
        } else {
            println!("{}; {needed}", out.description);
        }
        return Ok(ExitCode::SUCCESS);
    };
    let tx_id = out.tx_id.unwrap_or_default();
    eprintln!("pushed {tx_id} via {endpoint} in {latency_ms} ms");
    let mut registered = false;
    if out.executed {
        if let Some(r) = record {
            r.commit(s.config, tx_id);
        }
        registered = wait_for_table(
            s.pool,
            s.order,
            me,
            s.target.signing_key,
            Duration::from_secs(20),
        )
        .await;
        result["registered"] = registered.into();
    }
    if args.json {
        println!("{result}");
    } else if out.executed && registered {
        println!(
            "done: {} executed; the producers table holds {}'s key",
            out.proposal, s.target.name
        );
    } else if out.executed {
        println!("pushed {tx_id} (approve and exec of {}), but the producers table does not show the new key yet; check `bp-failover status`", out.proposal);
    } else {
        println!(
            "{}: done; {needed}",
            out.description.replacen("would ", "", 1)
        );
    }
    Ok(if out.executed && !registered {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
