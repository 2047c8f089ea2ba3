//! `bp-failover failover --to NAME`: a manual one-shot switch with the daemon's safety
//! checks (quorum, target ready, not already current) and its signing path.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::json;

use crate::api::{read_order, ChainClient, ClientOptions, Clock, EndpointPool, SystemClock};
use crate::cli::FailoverArgs;
use crate::config::{self, Config};
use crate::daemon::executor::{row_key, Executor, SwitchOutcome};
use crate::decision::state::ManualSwitch;
use crate::observer::schedule::ScheduledProducer;
use crate::readiness::{node_readiness, NodeVerdict};
use crate::state_file;
use crate::state_file::{StateError, StateLock};

/// The switch, recorded as manual so no daemon books it against its automatic flap
/// budget: in the state file under its lock when no daemon runs, else handed to the
/// running daemon (which holds the lock) before the push.
struct ManualRecord {
    switch: ManualSwitch,
    lock: Option<StateLock>,
}

impl ManualRecord {
    fn prepare(config: &Config, from: String, target: &config::Datacenter, now_ms: i64) -> Self {
        let path = &config.state.path;
        let switch = ManualSwitch {
            at_ms: now_ms,
            from,
            to: target.name.clone(),
            to_key: target.signing_key,
        };
        let lock = match state_file::try_lock(path) {
            Ok(lock) => Some(lock),
            Err(StateError::Locked { pid, .. }) => {
                match state_file::write_manual(path, &switch) {
                    Ok(()) => eprintln!(
                        "the daemon running on {} (pid {pid}) will record this switch as manual",
                        path.display()
                    ),
                    Err(e) => {
                        eprintln!("warning: cannot record the switch for the running daemon: {e}")
                    }
                }
                None
            }
            Err(e) => {
                eprintln!("warning: the switch is not recorded in the state file: {e}");
                None
            }
        };
        ManualRecord { switch, lock }
    }

    /// `[msig]` mode: writes the proposal as this observer acted on it (`State.msig`, the
    /// record the daemon keeps) into the state file under its lock, so a daemon started
    /// later neither approves it twice nor forgets to cancel it once stale. A running
    /// daemon holds the lock; it reads the approvals from the chain itself.
    fn commit_msig(&self, config: &Config, record: crate::decision::state::MsigRecord) {
        if self.lock.is_none() {
            return;
        }
        let path = &config.state.path;
        let r = state_file::load(path).and_then(|mut s| {
            s.msig = Some(record);
            state_file::save(path, &s)
        });
        if let Err(e) = r {
            eprintln!("warning: the msig proposal is not recorded in the state file: {e}");
        }
    }

    /// After the push was accepted: writes the record into the state file (if we hold
    /// the lock).
    fn commit(self, config: &Config, tx_id: crate::antelope::Checksum256) {
        if self.lock.is_none() {
            return;
        }
        let path = &config.state.path;
        let r = state_file::load(path).and_then(|mut s| {
            s.record_manual(&self.switch, Some(tx_id));
            state_file::save(path, &s)
        });
        if let Err(e) = r {
            eprintln!("warning: the switch is not recorded in the state file: {e}");
        }
    }
}

pub async fn run(args: FailoverArgs) -> anyhow::Result<ExitCode> {
    let loaded = config::load_with(&args.config.config, &args.config.key_use(false))?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let config = loaded.config;
    let Some(target) = config
        .datacenters
        .iter()
        .find(|d| d.name == args.to)
        .cloned()
    else {
        bail!(
            "no data center named {:?} in the config; configured: {}",
            args.to,
            config
                .datacenters
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let key = config
        .producer
        .key
        .load()
        .context("cannot load the failover key")?;
    let clock = SystemClock;
    let mut pool = EndpointPool::from_config(&config.chain)
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
    let view = pool.observe(&clock).await;
    let Some(quorum) = view.quorum().cloned() else {
        bail!(
            "refusing to switch: {}; run `bp-failover status` to see each endpoint",
            view.state
        );
    };
    let order = read_order(&view, false);
    let me = config.producer.account;
    let row = Executor::producer_row(&pool, &order, me).await?;
    let current = row_key(&row);
    let name_of = |k: Option<crate::antelope::PublicKey>| {
        k.and_then(|k| config.datacenter_for_key(&k).map(|d| d.name.clone()))
            .unwrap_or_else(|| "an unknown key".into())
    };
    if current == Some(target.signing_key) {
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
    let schedule = pool
        .first_success(&order, |c| c.get_producer_schedule())
        .await
        .ok()
        .and_then(|(_, s)| s.active)
        .map(|s| crate::daemon::convert_schedule(&s));
    let active_key = schedule
        .as_ref()
        .and_then(|s| s.get(me))
        .and_then(ScheduledProducer::key);
    if active_key.is_some() && current.is_some() && active_key != current {
        if !args.force {
            bail!(
                "refusing to switch: a key change to {} is already in flight (the producers table \
                 holds it, the active schedule still has {}); wait for it to become active \
                 (`bp-failover status`), or pass --force to switch anyway",
                name_of(current),
                name_of(active_key)
            );
        }
        eprintln!(
            "warning: a key change to {} is already in flight; switching anyway (--force)",
            name_of(current)
        );
    }
    check_ready(&config, &target, &quorum, args.force).await?;
    if let Some(msig) = config.msig.clone() {
        let Some(version) = schedule.as_ref().map(|s| s.version) else {
            bail!("cannot read the active producer schedule from any endpoint: the msig proposal's name depends on its version; retry, or check the endpoints with `bp-failover status`");
        };
        let head_ms = quorum.head.time.map_or(clock.now_ms(), |t| t.unix_ms());
        let switch = MsigSwitch {
            config: &config,
            msig: &msig,
            pool: &pool,
            order: &order,
            quorum: &quorum,
            target: &target,
            from: name_of(current),
            version,
            head_ms,
        };
        return run_msig(&args, switch, key).await;
    }

    let summary = format!(
        "switch {me}'s block signing key from {} to {} ({}) with eosio::{} authorized by {me}@{}; url {:?} and location {} re-sent unchanged",
        name_of(current),
        target.name,
        target.signing_key,
        config.producer.action.name(),
        config.producer.permission,
        row.url,
        row.location
    );
    let mut executor = Executor::new(key);
    let head_ms = quorum.head.time.map_or(clock.now_ms(), |t| t.unix_ms());
    if args.dry_run {
        let out = executor
            .dry_run(&pool, &order, &config, &target, &quorum, head_ms)
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
        confirm(&summary, &target.name)?;
    }
    let record = ManualRecord::prepare(&config, name_of(current), &target, clock.now_ms());
    let started = Instant::now();
    let out = executor
        .switch(
            &pool,
            &order,
            &config,
            &target,
            &quorum,
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
    record.commit(&config, tx_id);
    let registered = wait_for_table(
        &pool,
        &order,
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

/// Everything the `[msig]` manual switch needs.
struct MsigSwitch<'a> {
    config: &'a Config,
    msig: &'a config::MsigConfig,
    pool: &'a EndpointPool,
    order: &'a [usize],
    quorum: &'a crate::api::Quorum,
    target: &'a config::Datacenter,
    from: String,
    version: u32,
    head_ms: i64,
}

/// `failover --to D` with `[msig]`: proposes and approves the incident's proposal (or
/// approves the one another observer made, after checking it is exactly this switch, and
/// executes it when ours is the k-th approval), then says how many approvals are still
/// needed and from whom. `--dry-run` shows the transaction without pushing it.
async fn run_msig(
    args: &FailoverArgs,
    s: MsigSwitch<'_>,
    key: crate::antelope::PrivateKey,
) -> anyhow::Result<ExitCode> {
    let me = s.config.producer.account;
    let summary = format!(
        "switch {me}'s block signing key from {} to {} ({}) through eosio.msig as {} ({} of {} observers must approve)",
        s.from, s.target.name, s.target.signing_key, s.msig.observer, s.msig.threshold, s.msig.observers.len()
    );
    if !args.dry_run && !args.yes {
        confirm(&summary, &s.target.name)?;
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
        s.version,
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

/// Refuses a target whose own node is unreachable or behind, unless forced.
async fn check_ready(
    config: &Config,
    target: &config::Datacenter,
    quorum: &crate::api::Quorum,
    force: bool,
) -> anyhow::Result<()> {
    let Some(api) = &target.api else {
        eprintln!(
            "note: {} has no `api` configured: its node's readiness cannot be checked",
            target.name
        );
        return Ok(());
    };
    let opts = ClientOptions {
        timeout: config.chain.request_timeout,
        ..ClientOptions::default()
    };
    let http = crate::api::client::http_client(&opts).map_err(|e| anyhow::anyhow!(e))?;
    let client = ChainClient::new(http, api.clone(), opts);
    let answer = client.get_info().await.map_err(|e| e.kind.to_string());
    let r = node_readiness(
        &answer,
        SystemClock.now_ms(),
        Some(quorum),
        &(&config.chain).into(),
    );
    let why = match r.verdict {
        NodeVerdict::Ready => return Ok(()),
        NodeVerdict::NotReady(why) => format!("its node {api} is {why}"),
        NodeVerdict::Unjudged => format!("its node {api} is not synced"),
    };
    if force {
        eprintln!(
            "warning: {} does not look ready ({why}); switching anyway (--force)",
            target.name
        );
        Ok(())
    } else {
        bail!(
            "refusing to switch to {}: {why}. A node that cannot produce would miss every block; fix it, or pass --force if you know better",
            target.name
        )
    }
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

async fn wait_for_table(
    pool: &EndpointPool,
    order: &[usize],
    me: crate::antelope::Name,
    key: crate::antelope::PublicKey,
    limit: Duration,
) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(row) = Executor::producer_row(pool, order, me).await {
            if row_key(&row) == Some(key) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}
