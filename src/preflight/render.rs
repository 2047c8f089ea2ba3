//! The report as text for people and as JSON.

use std::fmt::Write as _;

use super::{CheckReport, Status};

// ---------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------

/// One line per check (`ok` / `WARN` / `FAIL`), the fix indented below, then a summary.
pub fn render_text(report: &CheckReport) -> String {
    let mut out = String::new();
    for c in &report.checks {
        let mut lines = c.detail.lines();
        let _ = writeln!(
            out,
            "{:<4}  {}: {}",
            c.status.label(),
            c.name,
            lines.next().unwrap_or("")
        );
        for l in lines {
            let _ = writeln!(out, "        {l}");
        }
        if let Some(fix) = &c.fix {
            let mut lines = fix.lines();
            let _ = writeln!(out, "      fix: {}", lines.next().unwrap_or(""));
            for l in lines {
                let _ = writeln!(out, "           {l}");
            }
        }
    }
    let count = |s: Status| report.checks.iter().filter(|c| c.status == s).count();
    let _ = writeln!(
        out,
        "\n{} checks: {} ok, {} warning(s), {} failed: {}",
        report.checks.len(),
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail),
        if report.passed {
            "PASSED"
        } else {
            "FAILED (failover would not work as configured)"
        }
    );
    out
}

/// The report as one JSON object `{checks: [{name, status, detail, fix}], passed}`.
pub fn render_json(report: &CheckReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
