//! The snapshot as text for people and as JSON.

use std::fmt::Write as _;

use super::{ScheduleEntryReport, StatusSnapshot};

fn secs(ms: i64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_string(), |x| x.to_string())
}

fn schedule_line(out: &mut String, label: &str, e: &Option<ScheduleEntryReport>, me: &str) {
    match e {
        None => {
            let _ = writeln!(out, "  {label}: none");
        }
        Some(e) => {
            let _ = write!(
                out,
                "  {label}: version {}, {} producers; ",
                e.version, e.producers
            );
            match e.position {
                Some(p) => {
                    let _ = writeln!(
                        out,
                        "{me} at position {p}, key {} ({})",
                        opt(&e.key),
                        opt(&e.datacenter)
                    );
                }
                None => {
                    let _ = writeln!(out, "{me} not scheduled");
                }
            }
        }
    }
}

/// The human-readable snapshot.
pub fn render_text(s: &StatusSnapshot) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "bp-failover status for {} at {}",
        s.producer, s.observed_at
    );
    let q = &s.quorum;
    let _ = writeln!(
        out,
        "\nquorum: {} ({} of {} endpoints must agree)",
        q.summary, q.required, q.configured
    );
    if let (Some(h), Some(l)) = (q.head_num, q.lib_num) {
        let _ = writeln!(
            out,
            "  head {h} {}  best head {}  LIB {l} {}",
            opt(&q.head_id),
            opt(&q.best_head_num),
            opt(&q.lib_id)
        );
    }
    if s.blind {
        let _ = writeln!(
            out,
            "  OBSERVER BLIND: no failover decision can be made from this view"
        );
    }

    let _ = writeln!(out, "\nendpoints:");
    for e in &s.endpoints {
        let _ = write!(out, "  #{} {}  {}", e.number, e.url, e.status);
        if let Some(r) = &e.reason {
            let _ = write!(out, ": {r}");
        }
        let _ = writeln!(out);
        if e.head_num.is_some() {
            let _ = writeln!(
                out,
                "      head {}  LIB {}  lag {}  age {}  {} ms  {}",
                opt(&e.head_num),
                opt(&e.lib_num),
                e.lag_blocks.map_or("-".into(), |l| format!("{l} blocks")),
                e.head_age_ms.map_or("-".into(), secs),
                e.latency_ms,
                opt(&e.server_version)
            );
        } else {
            let _ = writeln!(
                out,
                "      {} ms, {} error(s) in a row",
                e.latency_ms, e.consecutive_errors
            );
        }
    }

    let sc = &s.schedule;
    let _ = writeln!(
        out,
        "\nschedule{}:",
        match (&sc.source, sc.verified) {
            (Some(src), true) => format!(" (from {src})"),
            (Some(src), false) => format!(" (from {src}, UNVERIFIED)"),
            _ => String::new(),
        }
    );
    if let Some(err) = &sc.error {
        let _ = writeln!(out, "  unavailable: {err}");
    } else {
        schedule_line(&mut out, "active", &sc.active, &s.producer);
        schedule_line(&mut out, "pending", &sc.pending, &s.producer);
        schedule_line(&mut out, "proposed", &sc.proposed, &s.producer);
    }

    let r = &s.registration;
    let _ = writeln!(out, "\nregistration (eosio producers table):");
    if let Some(err) = &r.error {
        let _ = writeln!(out, "  unavailable: {err}");
    } else if r.registered == Some(false) {
        let _ = writeln!(out, "  not registered");
    } else {
        let _ = writeln!(
            out,
            "  {}, key {} ({}), url {}, location {}",
            if r.is_active == Some(true) {
                "active"
            } else {
                "INACTIVE"
            },
            opt(&r.key),
            opt(&r.datacenter),
            opt(&r.url),
            opt(&r.location)
        );
        if let Some(m) = r.onchain_missed_per_rotation {
            let _ = writeln!(
                out,
                "  on-chain counter (Telos missed_blocks_per_rotation): {m}; bp-failover counts misses itself and shows this only as a cross-check"
            );
        }
    }
    if let Some(f) = &s.finalizer {
        match (&f.error, &f.active_key) {
            (Some(e), _) => {
                let _ = writeln!(out, "  finalizer key: unavailable: {e}");
            }
            (None, Some(k)) => {
                let _ = writeln!(out, "  finalizer key: {k} ({})", opt(&f.datacenter));
            }
            (None, None) => {
                let _ = writeln!(out, "  finalizer key: none registered");
            }
        }
    }

    let _ = writeln!(out, "\ndata centers:");
    for d in &s.datacenters {
        let mut marks = Vec::new();
        if d.registered {
            marks.push("registered on chain");
        }
        if d.scheduled {
            marks.push("in active schedule");
        }
        let _ = writeln!(
            out,
            "  {} ({})  {}{}",
            d.name,
            d.role,
            d.signing_key,
            if marks.is_empty() {
                String::new()
            } else {
                format!("  <- {}", marks.join(", "))
            }
        );
        match (&d.api, &d.node) {
            (Some(api), Some(n)) if !n.reachable => {
                let _ = writeln!(out, "      node {api}: UNREACHABLE: {}", opt(&n.error));
            }
            (Some(api), Some(n)) => {
                let sync = match n.synced {
                    Some(true) => "synced",
                    Some(false) => "NOT SYNCED",
                    None => "sync unknown (no quorum)",
                };
                let chain = if n.chain_ok == Some(false) {
                    ", WRONG CHAIN"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "      node {api}: reachable, {sync}{chain} (head {}, {} behind, age {})",
                    opt(&n.head_num),
                    n.lag_blocks.map_or("-".into(), |l| format!("{l} blocks")),
                    n.head_age_ms.map_or("-".into(), secs)
                );
            }
            _ => {
                let _ = writeln!(out, "      node: no api configured");
            }
        }
    }

    if !s.notes.is_empty() {
        let _ = writeln!(out, "\nnotes:");
        for n in &s.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
    out
}

/// The snapshot as one JSON object.
pub fn render_json(s: &StatusSnapshot) -> String {
    serde_json::to_string_pretty(s).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
