//! Metrics and health over HTTP on 127.0.0.1: names, labels and values as scraped,
//! `/healthz` and `/readyz` transitions under a manual clock, errors, shutdown, the
//! `[metrics]` config and the version string.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bp_failover::antelope::PublicKey;
use bp_failover::api::url::EndpointUrl;
use bp_failover::clock::ManualClock;
use bp_failover::config;
use bp_failover::decision::{Decision, HoldReason};
use bp_failover::events::{Event, QuorumStatus};
use bp_failover::http;
use bp_failover::metrics::{Metrics, METRIC_NAMES};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const T0: i64 = 1_750_000_000_000;
const PRIMARY_KEY: &str = "PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs";

struct Server {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(metrics: Metrics) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(http::serve(listener, metrics, async {
        let _ = rx.await;
    }));
    Server {
        base,
        stop: Some(tx),
        task,
    }
}

async fn get(url: &str) -> (u16, String, String) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, r.text().await.unwrap())
}

fn has_line(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "no line {line:?} in:\n{text}"
    );
}

#[tokio::test]
async fn scraped_metrics_have_the_documented_names_labels_and_values() {
    let m = Metrics::new();
    let server = start(m.clone()).await;
    let key: PublicKey = PRIMARY_KEY.parse().unwrap();
    for _ in 0..2 {
        m.on_event(&Event::MissedSlots {
            producer: "mybpaccount1".into(),
            key: Some(key),
            datacenter: Some("primary".into()),
            count: 3,
            consecutive: 6,
            slots: vec![1, 2, 3],
        });
    }
    m.set_consecutive_missed(7);
    m.set_participation(Some(0.95));
    m.set_lib_lag(4);
    let secret_endpoint =
        EndpointUrl::parse("https://api.example.org/v1/TOKENSECRET/?key=QUERYSECRET").unwrap();
    m.set_endpoint(&secret_endpoint, false, Some(250));
    m.set_endpoint(
        &EndpointUrl::parse("http://127.0.0.1:8888").unwrap(),
        true,
        Some(20),
    );
    m.set_decision(&Decision::Hold {
        reason: HoldReason::LowParticipation,
        detail: "only 60%".into(),
        trigger: None,
    });
    m.on_event(&Event::FailoverTriggered {
        from: "primary".into(),
        to: "backup".into(),
        reason: "missed".into(),
        missed: 12,
        dry_run: false,
        forecast: None,
    });
    m.on_event(&Event::TransactionPushed {
        id: bp_failover::antelope::Checksum256([1; 32]),
        endpoint: "http://127.0.0.1:8888".into(),
        latency_ms: 850,
        attempt: 1,
    });
    m.on_event(&Event::KeyChangeConfirmed {
        key,
        datacenter: "backup".into(),
        seconds_since_trigger: 40.0,
        predicted_seconds_since_trigger: None,
    });
    m.set_pending_age(Some(12.5));
    m.set_readiness("backup", false);
    m.alert_delivery("slack", "sent");
    m.on_event(&Event::DatacenterReadiness {
        datacenter: "primary".into(),
        ready: true,
        detail: String::new(),
    });
    m.on_event(&Event::QuorumChanged {
        state: QuorumStatus::EndpointsDisagree,
        detail: String::new(),
    });
    m.on_event(&Event::SetupValid {
        check: "authority".into(),
        detail: String::new(),
    });
    m.on_event(&Event::EndpointDisagrees {
        endpoint: "http://127.0.0.1:8888".into(),
        about: "producers_row".into(),
        detail: String::new(),
    });
    m.on_event(&Event::SetupValid {
        check: "authority".into(),
        detail: String::new(),
    });

    let (status, ctype, text) = get(&format!("{}/metrics", server.base)).await;
    assert_eq!(status, 200);
    assert_eq!(ctype, http::OPENMETRICS_CONTENT_TYPE);
    for name in METRIC_NAMES {
        let family = name.trim_end_matches("_total");
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{name}:\n{text}"
        );
    }
    has_line(
        &text,
        &format!("bp_failover_missed_slots_total{{producer=\"mybpaccount1\",key=\"{PRIMARY_KEY}\",datacenter=\"primary\"}} 6"),
    );
    has_line(&text, "bp_failover_consecutive_missed 7");
    has_line(&text, "bp_failover_setup_valid{check=\"authority\"} 1");
    has_line(&text, "bp_failover_participation_ratio{} 0.95");
    has_line(&text, "bp_failover_lib_lag_blocks 4");
    has_line(
        &text,
        "bp_failover_endpoint_up{endpoint=\"https://api.example.org/…\"} 0",
    );
    has_line(
        &text,
        "bp_failover_endpoint_up{endpoint=\"http://127.0.0.1:8888\"} 1",
    );
    has_line(
        &text,
        "bp_failover_endpoint_latency_seconds{endpoint=\"https://api.example.org/…\"} 0.25",
    );
    has_line(
        &text,
        "bp_failover_endpoint_request_duration_seconds_count{endpoint=\"http://127.0.0.1:8888\"} 1",
    );
    has_line(&text, "bp_failover_decision_state{state=\"hold\"} 1");
    for other in [
        "healthy",
        "confirming",
        "pending",
        "switch",
        "not_scheduled",
    ] {
        has_line(
            &text,
            &format!("bp_failover_decision_state{{state=\"{other}\"}} 0"),
        );
    }
    has_line(
        &text,
        "bp_failover_hold_reason{reason=\"low_participation\"} 1",
    );
    has_line(
        &text,
        "bp_failover_quorum_state{state=\"endpoints_disagree\"} 1",
    );
    has_line(&text, "bp_failover_quorum_state{state=\"agreed\"} 0");
    has_line(
        &text,
        "bp_failover_switches_total{from=\"primary\",to=\"backup\"} 1",
    );
    has_line(
        &text,
        "bp_failover_switches_confirmed_total{datacenter=\"backup\"} 1",
    );
    has_line(&text, "bp_failover_last_push_latency_seconds 0.85");
    has_line(&text, "bp_failover_transactions_pushed_total 1");
    // Present at 0 before any failure, so rate() and alerts on it work from the start.
    has_line(
        &text,
        "bp_failover_transactions_failed_total{retrying=\"false\"} 0",
    );
    has_line(
        &text,
        "bp_failover_alert_deliveries_total{channel=\"slack\",outcome=\"sent\"} 1",
    );
    has_line(&text, "bp_failover_pending_switch_age_seconds{} 12.5");
    has_line(
        &text,
        "bp_failover_datacenter_ready{datacenter=\"backup\"} 0",
    );
    has_line(
        &text,
        "bp_failover_datacenter_ready{datacenter=\"primary\"} 1",
    );
    has_line(&text, "bp_failover_events_total{event=\"missed_slots\"} 2");
    has_line(
        &text,
        &format!(
            "bp_failover_build_info{{version=\"{}\",commit=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            bp_failover::GIT_COMMIT
        ),
    );
    assert_eq!(text.lines().last(), Some("# EOF"));
    assert!(
        !text.contains("SECRET"),
        "an endpoint secret reached /metrics:\n{text}"
    );

    // Unknown values disappear instead of reading 0; a new decision clears the reason.
    m.set_participation(None);
    m.set_pending_age(None);
    m.set_decision_state("healthy");
    let (_, _, text) = get(&format!("{}/metrics", server.base)).await;
    assert!(!text.contains("bp_failover_participation_ratio{"), "{text}");
    assert!(
        !text.contains("bp_failover_pending_switch_age_seconds{"),
        "{text}"
    );
    assert!(!text.contains("bp_failover_hold_reason{"), "{text}");
    has_line(&text, "bp_failover_decision_state{state=\"healthy\"} 1");
    has_line(&text, "bp_failover_decision_state{state=\"hold\"} 0");
    stop(server).await;
}

async fn stop(mut server: Server) {
    let _ = server.stop.take().unwrap().send(());
    tokio::time::timeout(Duration::from_secs(2), &mut server.task)
        .await
        .expect("serve returns after shutdown")
        .unwrap();
}

#[tokio::test]
async fn healthz_follows_the_loop_and_readyz_the_observer() {
    let clock = Arc::new(ManualClock::new(T0));
    let m = Metrics::with_clock(clock.clone(), Duration::from_secs(30));
    let server = start(m.clone()).await;
    let healthz = format!("{}/healthz", server.base);
    let readyz = format!("{}/readyz", server.base);

    let (s, _, body) = get(&healthz).await;
    assert_eq!((s, body.starts_with("starting")), (200, true), "{body}");
    clock.advance(31_000);
    let (s, _, body) = get(&healthz).await;
    assert_eq!(s, 503, "{body}");
    assert!(body.contains("has not run"), "{body}");
    m.tick();
    assert_eq!(get(&healthz).await.0, 200);
    clock.advance(30_000);
    assert_eq!(get(&healthz).await.0, 200, "exactly at the limit");
    clock.advance(1_000);
    let (s, _, body) = get(&healthz).await;
    assert_eq!(s, 503);
    assert!(
        body.starts_with("stale: the loop last ran 31.0 s ago"),
        "{body}"
    );
    m.tick();
    assert_eq!(get(&healthz).await.0, 200);

    assert_eq!(get(&readyz).await.0, 503, "not ready before the first look");
    m.on_event(&Event::QuorumChanged {
        state: QuorumStatus::Agreed,
        detail: String::new(),
    });
    assert_eq!(get(&readyz).await.0, 200);
    m.on_event(&Event::QuorumChanged {
        state: QuorumStatus::ObserverBlind,
        detail: "0/3".into(),
    });
    let (s, _, body) = get(&readyz).await;
    assert_eq!(s, 503);
    assert!(body.contains("blind"), "{body}");
    m.set_observer_ready(true);
    assert_eq!(get(&readyz).await.0, 200);
    // A failing self-check makes it not ready until that check passes again.
    m.set_setup_valid("state_dir", false);
    let (s, _, body) = get(&readyz).await;
    assert_eq!(s, 503);
    assert!(body.contains("self-check fails (state_dir)"), "{body}");
    m.set_setup_valid("state_dir", true);
    assert_eq!(get(&readyz).await.0, 200);
    let metrics = get(&format!("{}/metrics", server.base)).await.2;
    has_line(&metrics, "bp_failover_observer_ready 1");
    has_line(
        &metrics,
        &format!(
            "bp_failover_loop_last_run_timestamp_seconds {:?}",
            (T0 + 62_000) as f64 / 1000.0
        ),
    );
    stop(server).await;
}

#[tokio::test]
async fn other_paths_and_methods_are_refused_and_shutdown_closes_the_port() {
    let server = start(Metrics::new()).await;
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/nope", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = client
        .post(format!("{}/metrics", server.base))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["allow"], "GET, HEAD");
    let r = client
        .head(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "");
    let (s, _, body) = get(&format!("{}/", server.base)).await;
    assert_eq!(s, 200);
    assert!(body.contains("/healthz"), "{body}");
    // A client that sends garbage gets an error, and the server keeps serving.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = server.base.trim_start_matches("http://").to_string();
        let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
        sock.write_all(b"\x00\x01garbage\r\n\r\n").await.unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), sock.read_to_end(&mut buf)).await;
    }
    assert_eq!(get(&format!("{}/healthz", server.base)).await.0, 200);

    let base = server.base.clone();
    stop(server).await;
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err());
}

#[tokio::test]
async fn bind_errors_name_the_address_and_the_fix() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap();
    let e = http::bind(addr).await.unwrap_err().to_string();
    assert!(
        e.contains(&addr.to_string()) && e.contains("[metrics] listen"),
        "{e}"
    );
}

fn load(extra: &str) -> Result<config::Loaded, String> {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/valid_minimal.toml"),
    )
    .unwrap();
    config::load_str(&format!("{base}\n{extra}"), &tmp.path().join("c.toml"))
        .map_err(|e| e.to_string())
}

#[test]
fn metrics_config_is_checked() {
    let c = load("[metrics]\nlisten = \"127.0.0.1:9810\"\n").unwrap();
    let mc = c.config.metrics.unwrap();
    assert_eq!(mc.listen.to_string(), "127.0.0.1:9810");
    assert_eq!(mc.healthz_max_age, Duration::from_secs(30));
    assert!(!c.warnings.iter().any(|w| w.path.starts_with("metrics")));

    let c = load("[metrics]\nlisten = \"0.0.0.0:9810\"\nhealthz_max_age_secs = 60\n").unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.path == "metrics.listen" && w.message.contains("reachable from other hosts")),
        "{:?}",
        c.warnings
    );

    let e = load("[metrics]\nlisten = \"localhost:9810\"\nhealthz_max_age_secs = 1\n").unwrap_err();
    assert!(
        e.contains("metrics.listen: \"localhost:9810\" is not an IP address and port"),
        "{e}"
    );
    assert!(
        e.contains("metrics.healthz_max_age_secs: 1 is out of range 5..=3600"),
        "{e}"
    );
    let e = load("[metrics]\nport = 9810\n").unwrap_err();
    assert!(e.contains("unknown field `port`"), "{e}");
}

#[test]
fn the_long_version_carries_the_commit() {
    let v = bp_failover::VERSION_LONG;
    let inner = v
        .strip_prefix(concat!(env!("CARGO_PKG_VERSION"), " ("))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(inner, bp_failover::GIT_COMMIT);
    assert!(
        inner == "unknown" || (inner.len() >= 7 && inner.bytes().all(|b| b.is_ascii_hexdigit())),
        "{v}"
    );
}

/// Every `bp_failover_*` name the sample dashboard queries is one the daemon exposes.
#[test]
fn the_grafana_dashboard_uses_only_exposed_metric_names() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana-dashboard.json");
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut exprs = Vec::new();
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    for a in dash["annotations"]["list"].as_array().unwrap() {
        exprs.push(a["expr"].as_str().unwrap().to_string());
    }
    assert!(exprs.len() > 15);
    let mut used = std::collections::BTreeSet::new();
    for e in &exprs {
        let mut rest = e.as_str();
        while let Some(i) = rest.find("bp_failover_") {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(tail.len());
            used.insert(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    for name in &used {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|f| METRIC_NAMES.contains(f))
            .unwrap_or(name);
        assert!(
            METRIC_NAMES.contains(&family),
            "the dashboard queries {name}, which is not exposed"
        );
    }
    // And it shows the core ones.
    for must in [
        "bp_failover_decision_state",
        "bp_failover_consecutive_missed",
        "bp_failover_missed_slots_total",
        "bp_failover_participation_ratio",
        "bp_failover_datacenter_ready",
        "bp_failover_endpoint_up",
        "bp_failover_switches_total",
    ] {
        assert!(used.contains(must), "{must} not on the dashboard");
    }
}
