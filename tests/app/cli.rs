//! The real binary, run as a user would: `key public`, `key new`, `tx regproducer --offline`.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use bp_failover::antelope::{ChainId, PackedTransaction, PublicKey};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bp-failover");

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_key(dir: &Path, name: &str, key: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{key}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn key_public_prints_both_forms_for_every_vector_key() {
    let v = fixture("vector_keys_k1.json");
    for k in v["keys"].as_array().unwrap().iter().take(4) {
        for input in [&k["private_wif"], &k["private_pvt_k1"]] {
            let out = run(
                &["key", "public"],
                &format!("{}\n", input.as_str().unwrap()),
            );
            assert!(out.status.success(), "{}", text(&out.stderr));
            assert_eq!(
                text(&out.stdout),
                format!("{}\n", k["public_pub_k1"].as_str().unwrap())
            );
            let out = run(&["key", "public", "--legacy"], input.as_str().unwrap());
            assert_eq!(
                text(&out.stdout),
                format!("{}\n", k["public_legacy_eos"].as_str().unwrap())
            );
        }
    }
}

#[test]
fn key_public_rejects_bad_input_without_echoing_it() {
    let bad = "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zxx";
    for input in [
        bad,
        "",
        "PVT_R1_abc",
        "not a key at all",
        "\u{0}\u{1}garbage",
    ] {
        let out = run(&["key", "public"], input);
        assert_eq!(out.status.code(), Some(1), "input {input:?}");
        let err = text(&out.stderr);
        assert!(err.starts_with("bp-failover: error: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        if !input.is_empty() {
            assert!(!err.contains(input), "input echoed: {err}");
        }
        assert!(out.stdout.is_empty());
    }
    let err = text(&run(&["key", "public"], bad).stderr);
    assert!(err.contains("checksum"), "{err}");
}

#[test]
fn key_new_writes_a_private_file_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("failover.key");
    let p = path.to_str().unwrap();
    let out = run(&["key", "new", "--out", p], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(printed.starts_with("PUB_K1_"));
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let contents = std::fs::read_to_string(&path).unwrap();
    assert!(contents.starts_with("PVT_K1_"));
    assert!(!printed.contains(contents.trim()) && !text(&out.stderr).contains(contents.trim()));
    // The printed public key is the file's.
    let again = run(&["key", "public"], &contents);
    assert_eq!(text(&again.stdout), printed);
    // Never overwritten.
    let second = run(&["key", "new", "--out", p], "");
    assert_eq!(second.status.code(), Some(1));
    assert!(text(&second.stderr).contains("refusing to overwrite"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), contents);
}

#[test]
fn key_new_creates_a_missing_directory_private() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("etc/bp-failover");
    let path = sub.join("failover.key");
    let out = run(&["key", "new", "--out", path.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("created directory"));
    let mode = std::fs::metadata(&sub).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert!(path.exists());
}

/// The Yosemite regproducer's values, signed offline by producer.d's published key.
fn yosemite_args(key_file: &str) -> Vec<String> {
    let v = fixture("vector_tx_regproducer_yosemite_2018.json");
    let data = &v["recorded"]["transaction"]["actions"][0]["data"];
    [
        "tx",
        "regproducer",
        "--offline",
        "--chain-id",
        v["recorded"]["chain_id"].as_str().unwrap(),
        "--ref-block-id",
        "00816d41e41f1462acb648b810b20f152d944fabd79aaff31c9f50102e4e5db9",
        "--producer",
        "producer.d",
        "--permission",
        "failover",
        "--key-file",
        key_file,
        "--signing-key",
        data["producer_key"].as_str().unwrap(),
        "--url",
        data["url"].as_str().unwrap(),
        "--location",
        "1",
        "--expiration",
        "2018-07-24T05:40:50",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn tx_regproducer_offline_builds_the_real_action_bytes_and_a_valid_signature() {
    let v = fixture("vector_tx_regproducer_yosemite_2018.json");
    let dir = tempfile::tempdir().unwrap();
    let wif = v["recorded"]["published_test_keys"]["producer.d"]["private_wif"]
        .as_str()
        .unwrap();
    let key_file = write_key(dir.path(), "k", wif);
    let args = yosemite_args(&key_file);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "one JSON object on one line");
    let body: PackedTransaction = serde_json::from_str(&stdout).unwrap();
    let tx = body.transaction().unwrap();
    assert_eq!(tx.expiration.to_string(), "2018-07-24T05:40:50");
    assert_eq!(tx.ref_block_num, 27969);
    assert_eq!(tx.ref_block_prefix, 3091773100);
    assert_eq!(tx.delay_sec, 0);
    assert_eq!(tx.actions.len(), 1);
    let action = &tx.actions[0];
    assert_eq!(action.name.to_string(), "regproducer");
    assert_eq!(action.authorization[0].to_string(), "producer.d@failover");
    // Byte-for-byte the action data of the real recorded regproducer.
    let hex_data = v["recorded"]["transaction"]["actions"][0]["hex_data"]
        .as_str()
        .unwrap();
    assert_eq!(hex::encode(&action.data), hex_data);
    // The signature is canonical and recovers to the signer.
    let chain_id: ChainId = v["recorded"]["chain_id"].as_str().unwrap().parse().unwrap();
    let digest = body.signing_digest(&chain_id).unwrap();
    let signer: PublicKey = v["recorded"]["published_test_keys"]["producer.d"]["public"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(body.signatures[0].is_canonical());
    assert_eq!(body.signatures[0].recover(&digest).unwrap(), signer);
    // Deterministic: the same inputs give the same bytes.
    let again = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), "");
    assert_eq!(text(&again.stdout), stdout);
    // The summary names the id; stdout and stderr never hold the key.
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&tx.id().to_string()), "{stderr}");
    assert!(!stderr.contains(wif) && !stdout.contains(wif));
}

#[test]
fn tx_regproducer2_and_actfinkey() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = write_key(
        dir.path(),
        "k",
        "5HsDW4pNKWDA91WcBuNNXT8sL5soVhXLHqZU7ZZqJzJC1YghXjT",
    );
    let mut args = yosemite_args(&key_file);
    args.extend(["--action", "regproducer2"].map(String::from));
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body: PackedTransaction = serde_json::from_str(&text(&out.stdout)).unwrap();
    let action = &body.transaction().unwrap().actions[0];
    assert_eq!(action.name.to_string(), "regproducer2");
    // name | variant 0 | threshold 1 | 1 key | key (K1) | weight 1 | url | location
    let expected = concat!(
        "00400257219de8ad",
        "00",
        "01000000",
        "01",
        "00029e315fcbb95274a7b8ff1e8cf20016a646c917771849ae5cf37af5c8ef18a682",
        "0100",
        "13687474703a2f2f70726f6475636572642e696f",
        "0100"
    );
    assert_eq!(hex::encode(&action.data), expected);

    // With a finalizer key, actfinkey rides in the same transaction, same authorization.
    let fin = "PUB_BLS_qVbh4IjYZpRGo8U_0spBUM-u-r_G0fMo4MzLZRsKWmm5uyeQTp74YFaMN9IDWPoVVT5rj_Tw1gvps6K9_OZ6sabkJJzug3uGfOKSxjVUuQo5d6Cr3W2nm8OFBnJcxiQ2";
    args.extend(["--finalizer-key", fin].map(String::from));
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body: PackedTransaction = serde_json::from_str(&text(&out.stdout)).unwrap();
    let tx = body.transaction().unwrap();
    assert_eq!(tx.actions.len(), 2);
    assert_eq!(tx.actions[1].name.to_string(), "actfinkey");
    assert_eq!(tx.actions[1].authorization, tx.actions[0].authorization);
    let mut w = bp_failover::antelope::Writer::new();
    w.raw(&hex::decode("00400257219de8ad").unwrap());
    w.string(fin); // 136 bytes: a two-byte varuint length (88 01)
    assert_eq!(tx.actions[1].data, w.into_bytes());
    assert_eq!(&tx.actions[1].data[8..10], &[0x88, 0x01]);

    // A K1 key where a BLS key belongs is refused.
    let i = args.iter().position(|a| a == "--finalizer-key").unwrap();
    args[i + 1] = "PUB_K1_66ABHVyT25wYUd2suW6JtbrwLrUdPFVDA1vjU8ttU289enpr9y".into();
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), "");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not a BLS public key"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn tx_regproducer_refuses_bad_inputs_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = write_key(
        dir.path(),
        "k",
        "5HsDW4pNKWDA91WcBuNNXT8sL5soVhXLHqZU7ZZqJzJC1YghXjT",
    );
    let base = yosemite_args(&key_file);
    let with = |flag: &str, value: &str| {
        let mut a = base.clone();
        let i = a.iter().position(|x| x == flag).unwrap();
        a[i + 1] = value.to_string();
        let out = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), "");
        assert!(!out.status.success());
        assert!(out.stdout.is_empty());
        text(&out.stderr)
    };
    assert!(with("--url", &"x".repeat(512)).contains("url"));
    assert!(with(
        "--signing-key",
        "EOS1111111111111111111111111111111114T1Anm"
    )
    .contains("null key"));
    assert!(with("--producer", "Producer").contains("uppercase"));
    assert!(with("--key-file", "/nonexistent/key").contains("/nonexistent/key"));
    // A world-readable key file is refused with the fix.
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&base.iter().map(String::as_str).collect::<Vec<_>>(), "");
    assert!(text(&out.stderr).contains("chmod 600"));
}
