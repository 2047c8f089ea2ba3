//! The report as text tables (the default output).

use antelope::time::BLOCK_INTERVAL_MS;

use super::report::Report;
use super::ENDPOINTS;

fn verdict(ok: bool) -> &'static str {
    if ok {
        "meets target"
    } else {
        "MISSES TARGET"
    }
}

fn opt(v: Option<u32>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

pub(crate) fn text(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let m = &r.machine;
    let _ = writeln!(
        o,
        "bp-failover bench {} ({} build), {} CPU{}{}",
        m.version,
        if m.release_build { "release" } else { "debug" },
        m.cpus,
        if m.cpus == 1 { "" } else { "s" },
        m.cpu_model
            .as_ref()
            .map_or(String::new(), |c| format!(" ({c})"))
    );
    if let Some(l) = &r.latency {
        let _ = writeln!(
            o,
            "\n1. Decision-to-push latency: {} incidents, {}-producer {} schedule, time scale {}, poll {} ms, {} at a time",
            l.incidents, l.producers, l.consensus, l.time_scale, l.poll_interval_ms, l.parallel
        );
        if let Some(ms) = l.slow_endpoint_ms {
            let _ = writeln!(
                o,
                "   degraded: endpoint {ENDPOINTS} of {ENDPOINTS} answers every request after {ms} ms"
            );
        }
        let _ = writeln!(
            o,
            "   {:<44} {:>8} {:>8} {:>8} {:>8}",
            "(ms)", "min", "median", "p90", "max"
        );
        let rows = [
            ("decision block → switch accepted", &l.decision_to_accept_ms),
            (
                "  decision block → failover_triggered",
                &l.decision_to_trigger_ms,
            ),
            ("  failover_triggered → accepted", &l.trigger_to_accept_ms),
            (
                "  push round trip (transaction_pushed)",
                &l.push_round_trip_ms,
            ),
        ];
        for (name, s) in rows {
            if let Some(s) = s {
                let _ = writeln!(
                    o,
                    "   {name:<44} {:>8.0} {:>8.0} {:>8.0} {:>8.0}",
                    s.min, s.median, s.p90, s.max
                );
            }
        }
        let _ = writeln!(
            o,
            "   target: median ≤ {:.0} ms, max ≤ {:.0} ms: {}",
            l.target_median_ms,
            l.target_max_ms,
            verdict(l.meets_target)
        );
        for f in &l.failed {
            let _ = writeln!(o, "   failed incident: {f}");
        }
    }
    if let Some(b) = &r.blocks {
        let _ = writeln!(
            o,
            "\n2. Blocks lost per primary outage: {} producers, time scale {}, schedule tick {} slots, missed_blocks {}, confirm_turns {}",
            b.producers, b.time_scale, b.schedule_tick_slots, b.rule.missed_blocks, b.rule.confirm_turns
        );
        let _ = writeln!(
            o,
            "   slots after the first missed slot ({BLOCK_INTERVAL_MS} ms each); daemon / minimum (a push the instant {} misses are knowable)",
            b.minimum_rule.missed_blocks
        );
        let _ = writeln!(
            o,
            "   {:<9} {:>6} {:>5} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
            "consensus",
            "offset",
            "tick",
            "lost",
            "decision",
            "accepted",
            "proposed",
            "active",
            "1st backup"
        );
        for s in &b.incidents {
            let pair = |a: Option<u32>, b: Option<u32>| format!("{} / {}", opt(a), opt(b));
            let (d, mn) = (&s.daemon, &s.minimum);
            let _ = writeln!(
                o,
                "   {:<9} {:>6} {:>5} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
                s.consensus,
                s.outage_offset,
                s.next_tick_after_outage,
                pair(d.lost, mn.lost),
                pair(d.decision, mn.decision),
                pair(d.accepted, mn.accepted),
                pair(d.proposed, mn.proposed),
                pair(d.active, mn.active),
                pair(d.first_backup_block, mn.first_backup_block),
            );
            if let Some(e) = &s.error {
                let _ = writeln!(o, "   error: {e}");
            }
        }
        let _ = writeln!(
            o,
            "   daemon loses exactly the minimum in {} of {} outages: {}",
            b.at_minimum,
            b.incidents.len(),
            if b.meets_minimum { "yes" } else { "NO" }
        );
    }
    if let Some(c) = &r.cost {
        let _ = writeln!(
            o,
            "\n3. Cost of watching {} producers at {} blocks/s on {} endpoints (+{} data center nodes), {:.0} s after {} s warm-up",
            c.producers, c.blocks_per_sec, c.endpoints, c.datacenter_nodes, c.window_secs, c.warmup_secs
        );
        let _ = writeln!(
            o,
            "   CPU          {:>6.2} % of one core ({:.2} s; {:.2} % since start)   target ≤ {} %",
            c.cpu_percent_of_one_core,
            c.cpu_seconds,
            c.cpu_percent_since_start,
            c.target_cpu_percent
        );
        let _ = writeln!(
            o,
            "   peak RSS     {:>6.1} MiB (VmHWM; {:.1} MiB at the end)   target ≤ {} MiB",
            c.peak_rss_mib, c.rss_mib_at_end, c.target_rss_mib
        );
        let _ = writeln!(
            o,
            "   requests     {:>6.1} /s to the endpoints and nodes; failovers: {}",
            c.requests_per_sec, c.failovers
        );
        let per: Vec<String> = c
            .requests_per_sec_by_endpoint
            .iter()
            .map(|r| format!("{r:.1}"))
            .collect();
        let _ = writeln!(o, "   per endpoint {} /s", per.join(", "));
        let paths: Vec<String> = c
            .requests_per_sec_by_path
            .iter()
            .map(|(p, r)| format!("{} {r:.2}", p.trim_start_matches("/v1/chain/")))
            .collect();
        let _ = writeln!(
            o,
            "   by path      {} (/s, all endpoints)",
            paths.join(", ")
        );
        let _ = writeln!(o, "   {}", verdict(c.meets_target));
    }
    let _ = writeln!(o, "\nran for {:.0} s", r.elapsed_secs);
    o
}
