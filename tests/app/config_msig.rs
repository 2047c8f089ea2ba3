//! `[msig]` (k-of-n observers through eosio.msig): a valid section loads; each mistake is an
//! error naming the key and the fix; risky thresholds are warnings.

use std::path::Path;

use bp_failover::antelope::{Name, PermissionLevel};
use bp_failover::config::{self, KeySource};

/// valid_minimal.toml without its producer key, plus `msig`.
fn text(producer_key: bool, msig: &str) -> String {
    let base = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/valid_minimal.toml"),
    )
    .unwrap();
    let base = if producer_key {
        base
    } else {
        base.replace("key_env = \"BP_FAILOVER_TEST_KEY\"\n", "")
    };
    format!("{base}\n{msig}")
}

const MSIG: &str = r#"[msig]
observer = "observer2@active"
key_env = "BP_FAILOVER_TEST_OBSERVER_KEY"
threshold = 2
observers = ["observer1@active", "observer2@active", "observer3@bpfailover"]
"#;

fn load(text: &str) -> Result<config::Loaded, String> {
    config::load_str(text, Path::new("config.toml")).map_err(|e| e.to_string())
}

fn level(actor: &str, permission: &str) -> PermissionLevel {
    PermissionLevel {
        actor: Name::literal(actor),
        permission: Name::literal(permission),
    }
}

#[test]
fn a_valid_msig_section_loads_with_this_observers_key() {
    let loaded = load(&text(false, MSIG)).unwrap();
    let c = &loaded.config;
    let m = c.msig.as_ref().unwrap();
    assert_eq!(m.observer, level("observer2", "active"));
    assert_eq!(m.threshold, 2);
    assert_eq!(
        m.observers,
        [
            level("observer1", "active"),
            level("observer2", "active"),
            level("observer3", "bpfailover")
        ]
    );
    // The key this host signs with is the observer's, from [msig].
    assert_eq!(
        c.producer.key,
        KeySource::Env("BP_FAILOVER_TEST_OBSERVER_KEY".into())
    );
    // The switching permission is still [producer]'s.
    assert_eq!(c.producer.permission, Name::literal("failover"));
    // Without [msig], nothing changes.
    assert!(load(&text(true, "")).unwrap().config.msig.is_none());
}

#[test]
fn each_mistake_names_the_key_and_the_fix() {
    let cases: &[(&str, bool, &str, &[&str])] = &[
        (
            "a producer key as well",
            true,
            MSIG,
            &[
                "producer.key_env: is set, but with [msig]",
                "fix: move this observer's own key to [msig] key_file",
            ],
        ),
        (
            "no observer key",
            false,
            &MSIG.replace("key_env = \"BP_FAILOVER_TEST_OBSERVER_KEY\"\n", ""),
            &["msig: has neither key_file nor key_env"],
        ),
        (
            "both key sources",
            false,
            &MSIG.replace("threshold", "key_file = \"x.key\"\nthreshold"),
            &["msig.key_file: and msig.key_env are both set"],
        ),
        (
            "not listed",
            false,
            &MSIG.replace(
                "observer = \"observer2@active\"",
                "observer = \"observer4@active\"",
            ),
            &[
                "msig.observer: observer4@active is not in msig.observers",
                "fix: add \"observer4@active\"",
            ],
        ),
        (
            "no permission",
            false,
            &MSIG.replace(
                "observer = \"observer2@active\"",
                "observer = \"observer2\"",
            ),
            &[
                "msig.observer: \"observer2\" is not account@permission",
                "fix: write it as account@permission",
            ],
        ),
        (
            "bad name",
            false,
            &MSIG.replace("\"observer3@bpfailover\"", "\"Observer3@active\""),
            &["msig.observers[2]: \"Observer3\" is not a valid account name"],
        ),
        (
            "twice",
            false,
            &MSIG.replace("\"observer3@bpfailover\"", "\"observer1@active\""),
            &["msig.observers[2]: observer1@active is listed twice"],
        ),
        (
            "threshold 0",
            false,
            &MSIG.replace("threshold = 2", "threshold = 0"),
            &["msig.threshold: 0 is out of range 1..=3", "2 is a majority"],
        ),
        (
            "threshold above n",
            false,
            &MSIG.replace("threshold = 2", "threshold = 4"),
            &["msig.threshold: 4 is out of range 1..=3"],
        ),
        (
            "one observer",
            false,
            &MSIG.replace(
                "[\"observer1@active\", \"observer2@active\", \"observer3@bpfailover\"]",
                "[\"observer2@active\"]",
            ),
            &["msig.observers: lists 1 observer(s); k-of-n needs at least 2"],
        ),
    ];
    for (what, producer_key, msig, needles) in cases {
        let err = load(&text(*producer_key, msig))
            .map(|_| ())
            .expect_err(what);
        for n in *needles {
            assert!(err.contains(n), "{what}: missing {n:?} in:\n{err}");
        }
    }
    // An unknown key is a syntax error naming it.
    let err = load(&text(
        false,
        &MSIG.replace("threshold", "treshold = 2\nthreshold"),
    ))
    .map(|_| ())
    .unwrap_err();
    assert!(err.contains("treshold"), "{err}");
}

#[test]
fn risky_thresholds_are_warnings() {
    let warnings = |k: &str| -> Vec<String> {
        load(&text(false, &MSIG.replace("threshold = 2", k)))
            .unwrap()
            .warnings
            .iter()
            .map(|w| w.to_string())
            .collect()
    };
    let one = warnings("threshold = 1");
    assert!(
        one.iter()
            .any(|w| w.contains("msig.threshold: is 1: any single observer can switch")),
        "{one:?}"
    );
    let all = warnings("threshold = 3");
    assert!(
        all.iter()
            .any(|w| w.contains("msig.threshold: is 3, every observer")),
        "{all:?}"
    );
    assert!(!warnings("threshold = 2")
        .iter()
        .any(|w| w.contains("msig.threshold")));
}

#[test]
fn the_example_msig_section_uncommented_is_valid() {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"))
            .unwrap();
    let start = example
        .find("# [msig]\n")
        .expect("the example has an [msig] section");
    let section: String = example[start..]
        .lines()
        .filter(|l| !l.starts_with("# # "))
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let loaded = config::load_str_with(
        &text(false, &section),
        Path::new("config.toml"),
        &config::KeyUse::read_only(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let m = loaded.config.msig.unwrap();
    assert_eq!((m.threshold, m.observers.len()), (2, 3));
    assert_eq!(m.observer, level("observer1", "active"));
}
