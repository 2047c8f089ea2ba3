//! The documentation lists what the binary has: the README's event table is the events
//! the daemon emits, docs/operations.md's metric table is the metrics it exposes, and
//! docs/drill.md's scenario list is `drill --list`'s output.

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
