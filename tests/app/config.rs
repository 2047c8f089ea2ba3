//! Configuration: the example parses, every kind of invalid file fails with a message
//! naming the key and the fix, key files are checked for permissions, secrets stay out of
//! errors.

use std::path::{Path, PathBuf};

use bp_failover::antelope::Name;
use bp_failover::config::{self, Failback, KeySource, RegAction};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config")
}

fn load_case(name: &str) -> Result<config::Loaded, String> {
    config::load(&dir().join(format!("{name}.toml"))).map_err(|e| e.to_string())
}

#[cfg(unix)]
fn key_file(dir: &Path, mode: u32, content: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("failover.key");
    std::fs::write(&p, content).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

#[cfg(unix)]
#[test]
fn the_example_config_is_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let key = key_file(
        tmp.path(),
        0o600,
        "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zFu\n",
    );
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"))
            .unwrap()
            .replace("/etc/bp-failover/failover.key", key.to_str().unwrap());
    let loaded =
        config::load_str(&text, &tmp.path().join("config.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;
    assert_eq!(c.chain.endpoints.len(), 3);
    assert_eq!(c.chain.quorum_policy().required(), 2);
    assert_eq!(c.chain.request_timeout.as_millis(), 1500);
    assert_eq!(c.producer.account, Name::literal("mybpaccount1"));
    assert_eq!(c.producer.permission, Name::literal("failover"));
    assert_eq!(c.producer.action, RegAction::Regproducer);
    assert_eq!(c.producer.key, KeySource::File(key.clone()));
    assert_eq!(
        c.datacenters
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        ["primary", "backup"]
    );
    assert_eq!(
        c.datacenters[0].api.as_ref().unwrap().to_string(),
        "http://10.0.1.5:8888"
    );
    assert_eq!(c.policy.missed_blocks, 12);
    assert_eq!(c.policy.failback, Failback::Manual);
    assert_eq!(
        c.state.path,
        PathBuf::from("/var/lib/bp-failover/state.json")
    );
    // The key loads from the file, and its public key is known.
    let pk = c.producer.key.load().unwrap().public_key();
    assert_eq!(
        pk.to_string(),
        "PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs"
    );
    assert_eq!(c.datacenter_for_key(&pk).unwrap().name, "primary");
}

#[test]
fn minimal_config_takes_documented_defaults() {
    let loaded = load_case("valid_minimal").unwrap();
    let c = &loaded.config;
    assert_eq!(c.chain.max_head_age.as_millis(), 30_000);
    assert_eq!(c.chain.max_clock_ahead.as_millis(), 2_000);
    assert_eq!(c.chain.max_lag_blocks, 10);
    assert_eq!(c.policy.min_participation, 0.8);
    assert_eq!(c.policy, bp_failover::decision::Policy::default());
    assert_eq!(
        c.producer.key,
        KeySource::Env("BP_FAILOVER_TEST_KEY".into())
    );
    // Keys given as EOS… and PUB_K1_… are the same type, compared by bytes.
    assert_eq!(
        c.datacenters[1].signing_key.to_string(),
        "PUB_K1_87DUhBcZrLhyFfBVDyu1iWZJUGURqbk6CQxwv5g6iWUD2X45Hv"
    );
    // The unset key variable is a warning, not an error (status never needs the key).
    assert!(
        loaded.warnings.iter().any(|w| w.path == "producer.key_env"),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn each_invalid_config_names_the_key_and_the_fix() {
    let cases: &[(&str, &[&str])] = &[
        ("unknown_key", &["unknown field `chainid`", "chain_id"]),
        ("unknown_section", &["unknown field `notifications`"]),
        (
            "unknown_datacenter_key",
            &["unknown field `signing_key_file`"],
        ),
        ("wrong_type", &["request_timeout_ms", "invalid type"]),
        (
            "duplicate_datacenter_name",
            &[
                "datacenter[1].name",
                "repeats datacenter[0].name",
                "fix: give each data center a unique name",
            ],
        ),
        (
            "duplicate_signing_key",
            &[
                "datacenter[1].signing_key",
                "same key as datacenter[0]",
                "double production",
            ],
        ),
        (
            "malformed_signing_key",
            &["datacenter[1].signing_key", "checksum", "fix:"],
        ),
        ("malformed_account", &["producer.account", "uppercase"]),
        (
            "malformed_endpoint",
            &["chain.endpoints[1]", "scheme \"ftp\""],
        ),
        ("empty_endpoints", &["chain.endpoints: is empty"]),
        (
            "duplicate_endpoint",
            &[
                "chain.endpoints[2]: repeats chain.endpoints[1]",
                "vote twice",
            ],
        ),
        ("malformed_chain_id", &["chain.chain_id", "64 hex"]),
        (
            "bad_policy",
            &[
                "policy.missed_blocks",
                "policy.min_participation",
                "policy.failback",
                "policy.max_switches_per_day",
                "4 problem(s)",
            ],
        ),
        (
            "head_age_too_small",
            &["chain.max_head_age_ms", "blind", "above 7500"],
        ),
        ("both_key_sources", &["producer.key_file", "both set"]),
        (
            "no_key_source",
            &["producer: has neither key_file nor key_env", "chmod 600"],
        ),
        (
            "one_datacenter",
            &["datacenter: has 1 entry", "primary and at least one backup"],
        ),
        (
            "malformed_finalizer_key",
            &["datacenter[1].finalizer_key", "base64url"],
        ),
        (
            "unknown_action",
            &["producer.action", "\"unregprod\"", "regproducer2"],
        ),
        (
            "failback_before_cooldown",
            &["policy.failback_after_secs", "cooldown_secs"],
        ),
    ];
    for (name, needles) in cases {
        let err = match load_case(name) {
            Ok(_) => panic!("{name}: loaded"),
            Err(e) => e,
        };
        assert!(
            err.contains(&format!("{name}.toml")),
            "{name}: the file is named: {err}"
        );
        for n in *needles {
            assert!(err.contains(n), "{name}: missing {n:?} in:\n{err}");
        }
    }
}

#[test]
fn every_test_config_file_is_covered() {
    let files = std::fs::read_dir(dir()).unwrap().count();
    assert_eq!(
        files, 21,
        "add new files to each_invalid_config_names_the_key_and_the_fix"
    );
}

#[test]
fn warnings_for_risky_but_allowed_choices() {
    let text = std::fs::read_to_string(dir().join("valid_minimal.toml"))
        .unwrap()
        .replace(r#"permission = "failover""#, r#"permission = "active""#)
        .replace(r#", "https://b.example.net""#, "")
        .replace(
            r#""http://127.0.0.1:8888""#,
            r#""https://a.example.org:8443""#,
        )
        .replace("chain_id =", "# chain_id =");
    let loaded = config::load_str(&text, Path::new("x/config.toml")).unwrap();
    let all: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
    let has = |needle: &str| all.iter().any(|w| w.contains(needle));
    assert!(
        has("producer.permission: is \"active\": WARNING"),
        "{all:#?}"
    );
    assert!(has("chain.endpoints: has two endpoints"), "{all:#?}");
    assert!(has("chain.endpoints[1]: is on the same host"), "{all:#?}");
    assert!(has("chain.chain_id: is not set"), "{all:#?}");
}

#[test]
fn a_missing_config_file_says_how_to_point_at_one() {
    let e = config::load(Path::new("/nonexistent/bp.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/nonexistent/bp.toml") && e.contains("BP_FAILOVER_CONFIG"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn key_file_permissions_and_existence_are_checked_before_anything_else() {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(dir().join("valid_minimal.toml")).unwrap();
    let with_file = |f: &str| {
        base.replace(
            r#"key_env = "BP_FAILOVER_TEST_KEY""#,
            &format!("key_file = {f:?}"),
        )
    };
    let cfg = tmp.path().join("config.toml");

    // Relative to the config file's directory, mode 644: refused with the chmod fix.
    key_file(
        tmp.path(),
        0o644,
        "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zFu",
    );
    let e = config::load_str(&with_file("failover.key"), &cfg)
        .unwrap_err()
        .to_string();
    let shown = tmp.path().join("failover.key").display().to_string();
    assert!(
        e.contains("producer.key_file") && e.contains("mode 0644"),
        "{e}"
    );
    assert!(e.contains(&format!("fix: chmod 600 {shown}")), "{e}");
    assert!(!e.contains("5KQvfs"), "the key never appears: {e}");
    for mode in [0o640, 0o604, 0o660, 0o700 | 0o001] {
        key_file(tmp.path(), mode, "x");
        assert!(
            config::load_str(&with_file("failover.key"), &cfg).is_err(),
            "mode {mode:o}"
        );
    }
    key_file(tmp.path(), 0o400, "x");
    assert!(
        config::load_str(&with_file("failover.key"), &cfg).is_ok(),
        "0400 is fine"
    );

    let e = config::load_str(&with_file("missing.key"), &cfg)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot read key file") && e.contains("chmod 600"),
        "{e}"
    );
    let e = config::load_str(&with_file("."), &cfg)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a regular file"), "{e}");
}

#[cfg(unix)]
#[test]
fn loading_the_key_never_echoes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let p = key_file(
        tmp.path(),
        0o600,
        "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zFX",
    );
    let e = KeySource::File(p).load().unwrap_err().to_string();
    assert!(
        e.contains("does not hold one valid private key") && !e.contains("5KQvfs"),
        "{e}"
    );

    let var = "BP_FAILOVER_TEST_KEY_LOAD";
    let e = KeySource::Env(var.into()).load().unwrap_err().to_string();
    assert!(e.contains(var) && e.contains("export"), "{e}");
    // SAFETY of set_var: this test is the only user of this variable.
    std::env::set_var(
        var,
        " PVT_K1_2be6BwD56MHeVD4P95bRLdnP3oB3P4QRAXAsSKh4N8Xu6d4Aux\n",
    );
    let k = KeySource::Env(var.into()).load().unwrap();
    assert_eq!(
        k.public_key().to_string(),
        "PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs"
    );
    assert!(!format!("{k:?}").contains("2be6Bw"));
}

#[test]
fn config_and_its_debug_hold_no_secret_from_urls() {
    let text = std::fs::read_to_string(dir().join("valid_minimal.toml"))
        .unwrap()
        .replace(
            "https://a.example.org",
            "https://me:S3CRET@a.example.org/?apikey=T0KEN",
        );
    let loaded = config::load_str(&text, Path::new("config.toml")).unwrap();
    let shown = format!("{:?}", loaded.config);
    assert!(
        !shown.contains("S3CRET") && !shown.contains("T0KEN"),
        "{shown}"
    );
    // The full URL is still there for requests.
    assert!(loaded.config.chain.endpoints[1]
        .expose()
        .as_str()
        .contains("T0KEN"));
}

/// The systemd unit's key path does not exist in an operator's shell, and a key file may
/// be 0644 by mistake: read-only commands still load the config (with a warning), signing
/// commands refuse and name `--key-file`, and `--key-file` replaces the config's key.
#[cfg(unix)]
#[test]
fn read_only_commands_do_not_need_the_key_and_key_file_overrides_it() {
    use bp_failover::config::KeyUse;
    let tmp = tempfile::tempdir().unwrap();
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"))
            .unwrap()
            .replace(
                "/etc/bp-failover/failover.key",
                "/run/credentials/bp-failover.service/failover.key",
            );
    let path = tmp.path().join("config.toml");
    let read_only = KeyUse {
        read_only: true,
        key_file: None,
    };
    let loaded = config::load_str_with(&example, &path, &read_only).unwrap();
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.path == "producer.key_file" && w.message.contains("commands that sign")),
        "{:?}",
        loaded.warnings
    );
    let e = config::load_str_with(&example, &path, &KeyUse::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("producer.key_file") && e.contains("--key-file"),
        "{e}"
    );

    let key = key_file(
        tmp.path(),
        0o600,
        "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zFu\n",
    );
    let signing = KeyUse {
        read_only: false,
        key_file: Some(key.clone()),
    };
    let loaded = config::load_str_with(&example, &path, &signing).unwrap();
    assert_eq!(loaded.config.producer.key, KeySource::File(key.clone()));

    // A shared (0644) key file: status still runs; run and failover refuse.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let shared = KeyUse {
        read_only: true,
        key_file: Some(key.clone()),
    };
    assert!(config::load_str_with(&example, &path, &shared).is_ok());
    let e = config::load_str_with(&example, &path, &signing)
        .unwrap_err()
        .to_string();
    assert!(e.contains("mode 0644"), "{e}");
}
