//! The documentation lists what the binary has: the README's event table is the events
//! the daemon emits, docs/operations.md's metric table is the metrics it exposes, and
//! docs/drill.md's scenario list is `drill --list`'s output and its default drill example is
//! what `drill` prints.

use std::collections::BTreeSet;
use std::process::Command;

use bp_failover::events::Event;
use bp_failover::metrics::METRIC_NAMES;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The lines of the markdown table that follows `heading` (up to the first blank line
/// after it starts).
fn table_after<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?}"));
    text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect()
}

/// Backquoted words in the first column of `rows` that start with `prefix`.
fn first_column_names(rows: &[&str], prefix: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for row in rows {
        let first = row.split('|').nth(1).unwrap_or_default();
        for (i, part) in first.split('`').enumerate() {
            if i % 2 == 1 && part.starts_with(prefix) {
                let name = part.split('{').next().unwrap_or_default();
                names.insert(name.to_string());
            }
        }
    }
    names
}

#[test]
fn the_readme_event_table_is_the_emitted_events() {
    let readme = read("README.md");
    let rows = table_after(&readme, "### The event log");
    let documented = first_column_names(&rows, "");
    let emitted: BTreeSet<String> = Event::NAMES.iter().map(|s| s.to_string()).collect();
    assert_eq!(documented, emitted);
}

#[test]
fn the_operations_metric_table_is_the_exposed_metrics() {
    let ops = read("docs/operations.md");
    let rows = table_after(&ops, "| metric | type | meaning |");
    let documented = first_column_names(&rows, "bp_failover_");
    let exposed: BTreeSet<String> = METRIC_NAMES.iter().map(|s| s.to_string()).collect();
    assert_eq!(documented, exposed);
}

#[test]
fn the_drill_doc_lists_the_scenarios_of_drill_list() {
    let out = Command::new(env!("CARGO_BIN_EXE_bp-failover"))
        .args(["drill", "--list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let listed = String::from_utf8(out.stdout).unwrap();
    let doc = read("docs/drill.md");
    let marker = "`bp-failover drill --list`:\n\n```\n";
    let start = doc.find(marker).expect("the list in docs/drill.md") + marker.len();
    let end = start + doc[start..].find("```").unwrap();
    assert_eq!(&doc[start..end], listed, "docs/drill.md is out of date");
}

/// The `T±x [source]` heads of a drill timeline, in order.
fn timeline_heads(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let (at, rest) = t.split_once(' ')?;
            let at_ok = (at.starts_with("T+") || at.starts_with("T-")) && at.ends_with('s');
            let source = rest.trim_start().split(' ').next()?;
            (at_ok && source.starts_with('[')).then(|| format!("{at} {source}"))
        })
        .collect()
}

/// The report's lines, less those that change from run to run (wall time, transaction id).
fn report_lines(text: &str) -> Vec<String> {
    let start = text.find("Report (").expect("a report");
    text[start..]
        .lines()
        .take_while(|l| !l.starts_with("PASS") && !l.starts_with("FAIL"))
        .filter(|l| {
            !l.trim_start().starts_with("network") && !l.trim_start().starts_with("transaction ")
        })
        .map(str::to_string)
        .collect()
}

/// docs/drill.md's default drill is what `bp-failover drill` prints (it is deterministic in
/// chain time): the scenario's description, the timeline's events in order and time, and
/// the report; its JSON report has the same figures.
#[test]
fn the_drill_doc_example_is_the_default_drills_output() {
    let out = Command::new(env!("CARGO_BIN_EXE_bp-failover"))
        .args(["drill", "--time-scale", "100000"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let ran = String::from_utf8(out.stdout).unwrap();
    let doc = read("docs/drill.md");
    let marker = "$ bp-failover drill\n";
    let start = doc.find(marker).expect("the example in docs/drill.md") + marker.len();
    let example = &doc[start..start + doc[start..].find("```").unwrap()];
    let header = |t: &str| t.split("\n\n").next().unwrap_or_default().to_string();
    assert_eq!(header(example), header(&ran), "the scenario's description");
    assert_eq!(
        timeline_heads(example),
        timeline_heads(&ran),
        "the timeline"
    );
    assert_eq!(report_lines(example), report_lines(&ran), "the report");
    // The JSON example carries the same figures as the text report.
    let marker = "```json\n";
    let start = doc.find(marker).expect("the JSON example") + marker.len();
    let json: serde_json::Value =
        serde_json::from_str(&doc[start..start + doc[start..].find("```").unwrap()]).unwrap();
    let report = report_lines(&ran).join("\n");
    for field in [
        "detection_secs",
        "transaction_pushed_secs",
        "key_registered_secs",
        "key_change_confirmed_secs",
        "first_new_key_block_secs",
    ] {
        let secs = json[field].as_f64().unwrap_or_else(|| panic!("{field}"));
        assert!(
            report.contains(&format!("{secs:.1} s")),
            "{field} {secs} not in {report}"
        );
    }
    let lost: u64 = report
        .split("blocks lost")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("blocks lost in the report");
    assert_eq!(json["blocks_lost"].as_u64(), Some(lost));
}
