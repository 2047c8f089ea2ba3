//! Alerts: config, the lifecycle under a manual clock (raise once, remind, resolve,
//! restart), what each channel is sent, and delivery end to end against receivers on
//! 127.0.0.1, including one that fails and one that never answers. Secrets never print.

use crate::support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bp_failover::alerts::lifecycle::{load_state, save_state};
use bp_failover::alerts::{
    map_event, Alerts, Channel, Lifecycle, Notification, NotificationKind, Severity,
};
use bp_failover::antelope::PublicKey;
use bp_failover::clock::ManualClock;
use bp_failover::config::{self, ChannelKind, Config, SecretSource};
use bp_failover::decision::HoldReason;
use bp_failover::events::{Event, EventLog, QuorumStatus, SuppressReason};
use bp_failover::metrics::Metrics;
use support::{MockServer, Reply};

const T0: i64 = 1_750_000_000_000;
const TOKEN: &str = "123456:SECRET-telegram-token";

fn base_config() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/valid_minimal.toml"),
    )
    .unwrap()
}

fn load(dir: &Path, extra: &str) -> Result<config::Loaded, String> {
    let text = format!(
        "{}\n[state]\npath = \"{}\"\n\n{extra}",
        base_config(),
        dir.join("state.json").display()
    );
    config::load_str(&text, &dir.join("config.toml")).map_err(|e| e.to_string())
}

fn config(dir: &Path, extra: &str) -> Config {
    load(dir, extra).unwrap_or_else(|e| panic!("{e}")).config
}

fn secret_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    p
}

fn blind() -> Event {
    Event::QuorumChanged {
        state: QuorumStatus::ObserverBlind,
        detail: "1 of 3 endpoints usable".into(),
    }
}

fn agreed() -> Event {
    Event::QuorumChanged {
        state: QuorumStatus::Agreed,
        detail: String::new(),
    }
}

fn readiness(ready: bool) -> Event {
    Event::DatacenterReadiness {
        datacenter: "backup".into(),
        ready,
        detail: "head 40 blocks behind".into(),
    }
}

/// Applies an event to a lifecycle at `now`, as the dispatcher does.
fn feed(lc: &mut Lifecycle, e: &Event, now: i64) -> Vec<Notification> {
    let json = bp_failover::alerts::event_json(e).unwrap();
    map_event(e, "mybpaccount1")
        .into_iter()
        .filter_map(|m| lc.apply(m, now, Some(&json)))
        .collect()
}

fn kinds(ns: &[Notification]) -> Vec<(NotificationKind, &str)> {
    ns.iter().map(|n| (n.kind, n.condition.as_str())).collect()
}

fn lifecycle() -> Lifecycle {
    Lifecycle::new(
        "mybpaccount1",
        Default::default(),
        Duration::from_secs(3600),
        Duration::from_secs(900),
    )
}

// ---------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------

#[test]
fn every_channel_type_loads_with_its_secret_source() {
    let tmp = tempfile::tempdir().unwrap();
    secret_file(tmp.path(), "tg.token", TOKEN);
    secret_file(
        tmp.path(),
        "discord.url",
        "https://discord.example/api/webhooks/1/x",
    );
    let c = config(
        tmp.path(),
        r#"
[alerts]
remind_secs = 0
heartbeat_url = "https://hc.example.org/ping/uuid-secret"

[[alerts.channel]]
type = "webhook"
url = "https://alerts.example.org/bp"
min_severity = "info"

[[alerts.channel]]
type = "telegram"
token_file = "tg.token"
chat_id = -1001234567890

[[alerts.channel]]
type = "slack"
url_env = "BP_FAILOVER_TEST_SLACK_URL_UNSET"

[[alerts.channel]]
type = "discord"
url_file = "discord.url"

[[alerts.channel]]
type = "pagerduty"
name = "pd"
token_env = "BP_FAILOVER_TEST_PD_UNSET"
min_severity = "critical"

[metrics]
listen = "127.0.0.1:0"
"#,
    );
    let a = &c.alerts;
    assert_eq!(a.remind, Duration::ZERO);
    assert_eq!(a.resolve_quiet, Duration::from_secs(900));
    assert_eq!(a.state_path, tmp.path().join("alerts.json"));
    let names: Vec<&str> = a.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["webhook", "telegram", "slack", "discord", "pd"]);
    assert_eq!(a.channels[0].min_severity, Severity::Info);
    assert_eq!(a.channels[1].min_severity, Severity::Warning);
    match &a.channels[1].kind {
        ChannelKind::Telegram {
            token,
            chat_id,
            api_base,
        } => {
            assert_eq!(token, &SecretSource::File(tmp.path().join("tg.token")));
            assert_eq!(chat_id, "-1001234567890");
            assert_eq!(api_base.to_string(), "https://api.telegram.org");
        }
        other => panic!("{other:?}"),
    }
    match &a.channels[4].kind {
        ChannelKind::PagerDuty { api_base, .. } => {
            assert_eq!(api_base.to_string(), "https://events.pagerduty.com")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(a.heartbeat.as_ref().unwrap().every, Duration::from_secs(60));
    // Nothing secret in the printed config: the heartbeat URL's path is redacted.
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("uuid-secret") && !shown.contains(TOKEN),
        "{shown}"
    );
    // Without [alerts]: no channel, the defaults.
    let plain = config(tmp.path(), "");
    assert!(plain.alerts.channels.is_empty() && plain.alerts.heartbeat.is_none());
    assert_eq!(plain.alerts.remind, Duration::from_secs(3600));
    assert!(plain.metrics.is_none());
}

#[test]
fn unset_secrets_are_warnings_and_wrong_keys_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let loaded = load(
        tmp.path(),
        r#"
[[alerts.channel]]
type = "telegram"
token_env = "BP_FAILOVER_TEST_TG_UNSET"
chat_id = "@ops"
"#,
    )
    .unwrap();
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.path == "alerts.channel[0].token_env"
                && w.message.contains("BP_FAILOVER_TEST_TG_UNSET is not set")),
        "{:?}",
        loaded.warnings
    );

    let e = load(
        tmp.path(),
        r#"
[alerts]
remind_secs = 5

[[alerts.channel]]
type = "slack"
url = "https://hooks.slack.com/services/T0/B0/SECRETPATH"

[[alerts.channel]]
type = "telegram"
token_env = "X"

[[alerts.channel]]
type = "slack"
url_env = "Y"
token_env = "Z"

[[alerts.channel]]
type = "sms"

[[alerts.channel]]
type = "webhook"
url = "https://a.example.org"
min_severity = "loud"
"#,
    )
    .unwrap_err();
    for want in [
        "alerts.remind_secs: 5 is out of range 60..=604800 (0 turns reminders off)",
        "alerts.channel[0].url: holds the slack webhook URL, which is a secret",
        "fix: move it to an environment variable (url_env = \"BP_FAILOVER_SLACK_URL\")",
        "alerts.channel[1].chat_id: is missing",
        "alerts.channel[2].name: \"slack\" is also the name of alerts.channel[0]",
        "alerts.channel[2].token_env: does not apply to a slack channel",
        "alerts.channel[3].type: \"sms\" is not a channel type",
        "alerts.channel[4].min_severity: \"loud\" is not a severity",
    ] {
        assert!(e.contains(want), "missing {want:?} in:\n{e}");
    }
    assert!(!e.contains("SECRETPATH"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Lifecycle, manual clock
// ---------------------------------------------------------------------------------------

#[test]
fn raise_once_remind_while_active_resolve_once() {
    let mut lc = lifecycle();
    let n = feed(&mut lc, &blind(), T0);
    assert_eq!(kinds(&n), [(NotificationKind::Raised, "quorum")]);
    assert_eq!(n[0].severity, Severity::Critical);
    assert_eq!(n[0].dedup_key, "bp-failover/mybpaccount1/quorum");
    assert_eq!(n[0].event.as_ref().unwrap()["event"], "quorum_changed");
    // Reported again: no second message.
    assert!(feed(&mut lc, &blind(), T0 + 10_000).is_empty());
    assert!(lc.tick(T0 + 3_599_999).is_empty());
    let r = lc.tick(T0 + 3_600_000);
    assert_eq!(kinds(&r), [(NotificationKind::Reminder, "quorum")]);
    assert_eq!(r[0].reminders, 1);
    assert!(
        r[0].detail.contains("still active after 1h 00m"),
        "{}",
        r[0].detail
    );
    assert!(lc.tick(T0 + 3_600_001).is_empty());
    assert_eq!(lc.tick(T0 + 7_200_000)[0].reminders, 2);
    let done = feed(&mut lc, &agreed(), T0 + 7_300_000);
    assert_eq!(kinds(&done), [(NotificationKind::Resolved, "quorum")]);
    // A resolution reaches the channels the alert reached: same severity.
    assert_eq!(done[0].severity, Severity::Critical);
    assert_eq!(done[0].active_since_ms, Some(T0));
    assert!(feed(&mut lc, &agreed(), T0 + 7_400_000).is_empty());
    assert!(lc.tick(T0 + 20_000_000).is_empty());
}

#[test]
fn a_changed_condition_is_sent_as_an_update() {
    let mut lc = lifecycle();
    let disagree = Event::QuorumChanged {
        state: QuorumStatus::EndpointsDisagree,
        detail: "two heads".into(),
    };
    assert_eq!(feed(&mut lc, &disagree, T0)[0].severity, Severity::Warning);
    let up = feed(&mut lc, &blind(), T0 + 1000);
    assert_eq!(kinds(&up), [(NotificationKind::Updated, "quorum")]);
    assert_eq!(up[0].severity, Severity::Critical);
    // The reminder clock restarts from the update.
    assert!(lc.tick(T0 + 3_600_000).is_empty());
    assert_eq!(lc.tick(T0 + 3_601_000).len(), 1);
}

#[test]
fn readiness_alerts_between_incidents_and_resolves_when_ready() {
    let mut lc = lifecycle();
    assert!(
        feed(&mut lc, &readiness(true), T0).is_empty(),
        "ready: nothing to say"
    );
    let n = feed(&mut lc, &readiness(false), T0 + 1);
    assert_eq!(
        kinds(&n),
        [(NotificationKind::Raised, "datacenter_readiness:backup")]
    );
    assert!(
        n[0].detail.contains("would not restore production"),
        "{}",
        n[0].detail
    );
    // It is a state condition: no quiet auto-resolve, only reminders.
    let later = lc.tick(T0 + 3_600_001);
    assert_eq!(
        kinds(&later),
        [(NotificationKind::Reminder, "datacenter_readiness:backup")]
    );
    assert_eq!(
        kinds(&feed(&mut lc, &readiness(true), T0 + 3_700_000)),
        [(NotificationKind::Resolved, "datacenter_readiness:backup")]
    );
}

#[test]
fn pulse_conditions_resolve_when_quiet_or_on_a_clean_turn() {
    let mut lc = lifecycle();
    let missing = Event::PrimaryMissing {
        datacenter: "primary".into(),
        detail: "6 of 12 slots missed".into(),
    };
    assert_eq!(feed(&mut lc, &missing, T0).len(), 1);
    assert!(feed(&mut lc, &missing, T0 + 500_000).is_empty());
    // Quiet for resolve_quiet (900 s) after the last report.
    assert!(lc.tick(T0 + 500_000 + 899_999).is_empty());
    let q = lc.tick(T0 + 500_000 + 900_000);
    assert_eq!(kinds(&q), [(NotificationKind::Resolved, "primary_missing")]);
    assert!(q[0].detail.contains("assumed over"), "{}", q[0].detail);

    // A turn of ours with no miss resolves it at once; another producer's does not.
    feed(&mut lc, &missing, T0 + 2_000_000);
    let summary = |who: &str| Event::RoundSummary {
        scheduled: who.into(),
        produced: 12,
        missed: 0,
        participation: Some(1.0),
        solo_misses: 0,
        network_misses: 0,
        onchain_missed_per_rotation: None,
    };
    assert!(feed(&mut lc, &summary("otherbp"), T0 + 2_000_001).is_empty());
    assert_eq!(
        kinds(&feed(&mut lc, &summary("mybpaccount1"), T0 + 2_000_002)),
        [(NotificationKind::Resolved, "primary_missing")]
    );
}

#[test]
fn failover_is_raised_then_resolved_by_the_confirmation() {
    let mut lc = lifecycle();
    feed(
        &mut lc,
        &Event::PrimaryMissing {
            datacenter: "primary".into(),
            detail: String::new(),
        },
        T0,
    );
    feed(
        &mut lc,
        &Event::FailoverSuppressed {
            reason: SuppressReason::Hold(HoldReason::LowParticipation),
            detail: "only 60% of blocks produced".into(),
            missed: 12,
        },
        T0 + 1,
    );
    let n = feed(
        &mut lc,
        &Event::FailoverTriggered {
            from: "primary".into(),
            to: "backup".into(),
            reason: "12 consecutive missed".into(),
            missed: 12,
            dry_run: false,
            forecast: None,
        },
        T0 + 2,
    );
    assert_eq!(
        kinds(&n),
        [
            (NotificationKind::Raised, "failover"),
            (NotificationKind::Resolved, "primary_missing"),
            (NotificationKind::Resolved, "failover_suppressed"),
        ]
    );
    assert_eq!(n[0].summary, "failover triggered: primary -> backup");
    let confirmed = Event::KeyChangeConfirmed {
        key: PublicKey::NULL,
        datacenter: "backup".into(),
        seconds_since_trigger: 41.0,
        predicted_seconds_since_trigger: None,
    };
    let c = feed(&mut lc, &confirmed, T0 + 41_000);
    assert_eq!(kinds(&c), [(NotificationKind::Resolved, "failover")]);
    assert!(
        c[0].summary
            .contains("backup's key is in the active schedule"),
        "{}",
        c[0].summary
    );
    // Confirmed without a failover of ours (another observer did it): a notice.
    let again = feed(&mut lc, &confirmed, T0 + 50_000);
    assert_eq!(kinds(&again), [(NotificationKind::Notice, "failover")]);
    assert!(lc.state().active.is_empty());
}

#[test]
fn suppression_says_why_it_matters_and_a_final_push_failure_is_critical() {
    let mut lc = lifecycle();
    let n = feed(
        &mut lc,
        &Event::FailoverSuppressed {
            reason: SuppressReason::Hold(HoldReason::NoReadyBackup),
            detail: "backup is 900 blocks behind".into(),
            missed: 24,
        },
        T0,
    );
    assert_eq!(n[0].severity, Severity::Critical);
    assert_eq!(n[0].summary, "failover suppressed: no_ready_backup");
    assert!(n[0]
        .detail
        .contains("switching to one would only move the outage"));
    let f = feed(
        &mut lc,
        &Event::TransactionFailed {
            id: None,
            reason: "missing authority".into(),
            retrying: false,
        },
        T0 + 1,
    );
    assert_eq!(kinds(&f), [(NotificationKind::Raised, "failover_failed")]);
    assert!(f[0].detail.contains("switch it by hand"));
}

#[test]
fn the_state_file_carries_alerts_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("alerts.json");
    let mut lc = lifecycle();
    feed(&mut lc, &blind(), T0);
    assert!(lc.take_dirty());
    save_state(&path, lc.state()).unwrap();

    // "Restart": a new lifecycle from the file.
    let mut lc = Lifecycle::new(
        "mybpaccount1",
        load_state(&path).unwrap(),
        Duration::from_secs(3600),
        Duration::from_secs(900),
    );
    assert!(lc.is_active("quorum"));
    assert!(
        feed(&mut lc, &blind(), T0 + 60_000).is_empty(),
        "no duplicate"
    );
    // The reminder keeps the schedule of the first raise.
    assert_eq!(lc.tick(T0 + 3_600_000).len(), 1);
    assert_eq!(
        kinds(&feed(&mut lc, &agreed(), T0 + 3_700_000)),
        [(NotificationKind::Resolved, "quorum")]
    );
    // Missing file: empty; corrupt file: an error (the service then starts empty).
    assert!(load_state(&tmp.path().join("none.json"))
        .unwrap()
        .active
        .is_empty());
    std::fs::write(&path, "{nope").unwrap();
    assert!(load_state(&path)
        .unwrap_err()
        .to_string()
        .contains("corrupt"));
}

// ---------------------------------------------------------------------------------------
// What each channel is sent
// ---------------------------------------------------------------------------------------

fn channel(dir: &Path, toml: &str) -> Channel {
    let c = config(dir, toml);
    Channel::from_config(&c.alerts.channels[0]).unwrap_or_else(|e| panic!("{e}"))
}

fn one(e: &Event) -> Notification {
    feed(&mut lifecycle(), e, T0).remove(0)
}

#[test]
fn telegram_request_carries_the_token_only_in_its_url() {
    let tmp = tempfile::tempdir().unwrap();
    secret_file(tmp.path(), "tg.token", &format!("{TOKEN}\n"));
    let ch = channel(
        tmp.path(),
        r#"
[[alerts.channel]]
type = "telegram"
name = "tg"
token_file = "tg.token"
chat_id = "@ops"
api_base = "http://127.0.0.1:9/tg"
"#,
    );
    let req = ch.request(&one(&blind()));
    assert_eq!(
        req.url.as_str(),
        format!("http://127.0.0.1:9/tg/bot{TOKEN}/sendMessage")
    );
    assert_eq!(req.body["chat_id"], "@ops");
    let text = req.body["text"].as_str().unwrap();
    assert!(
        text.starts_with("[CRITICAL] mybpaccount1: observer is blind"),
        "{text}"
    );
    for shown in [format!("{ch:?}"), format!("{req:?}")] {
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}

#[test]
fn pagerduty_triggers_and_resolves_with_one_dedup_key_per_producer_and_condition() {
    let tmp = tempfile::tempdir().unwrap();
    secret_file(tmp.path(), "pd.key", "R0UTINGKEYSECRET");
    let ch = channel(
        tmp.path(),
        r#"
[[alerts.channel]]
type = "pagerduty"
token_file = "pd.key"
min_severity = "warning"
"#,
    );
    let mut lc = lifecycle();
    let raised = feed(&mut lc, &blind(), T0).remove(0);
    let req = ch.request(&raised);
    assert_eq!(req.url.as_str(), "https://events.pagerduty.com/v2/enqueue");
    assert_eq!(req.body["routing_key"], "R0UTINGKEYSECRET");
    assert_eq!(req.body["event_action"], "trigger");
    assert_eq!(req.body["dedup_key"], "bp-failover/mybpaccount1/quorum");
    assert_eq!(req.body["payload"]["severity"], "critical");
    assert_eq!(req.body["payload"]["class"], "quorum");
    assert!(!format!("{req:?}").contains("R0UTINGKEYSECRET"));
    let resolved = feed(&mut lc, &agreed(), T0 + 1).remove(0);
    let req = ch.request(&resolved);
    assert_eq!(req.body["event_action"], "resolve");
    assert_eq!(req.body["dedup_key"], "bp-failover/mybpaccount1/quorum");
    // Notices never page (nothing would resolve them); info is below warning.
    let started = one(&Event::ObserverStarted {
        producer: "mybpaccount1".into(),
        datacenters: vec!["primary".into(), "backup".into()],
        endpoints: 3,
        dry_run: false,
        version: "0.1.0".into(),
    });
    assert!(!ch.accepts(&started));
    assert!(ch.accepts(&raised) && ch.accepts(&resolved));
}

#[test]
fn webhook_slack_and_discord_bodies() {
    let tmp = tempfile::tempdir().unwrap();
    let n = one(&readiness(false));
    let hook = channel(
        tmp.path(),
        "[[alerts.channel]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\nmin_severity = \"critical\"\n",
    );
    let b = hook.request(&n).body;
    assert_eq!(b["source"], "bp-failover");
    assert_eq!(b["alert"]["state"], "raised");
    assert_eq!(b["alert"]["condition"], "datacenter_readiness:backup");
    assert_eq!(b["alert"]["severity"], "warning");
    assert_eq!(b["event"]["event"], "datacenter_readiness");
    assert_eq!(b["event"]["ready"], false);
    assert!(
        !hook.accepts(&n),
        "warning is below this channel's critical"
    );

    secret_file(
        tmp.path(),
        "slack.url",
        "https://hooks.slack.example/services/T/B/SLACKSECRET",
    );
    let slack = channel(
        tmp.path(),
        "[[alerts.channel]]\ntype = \"slack\"\nurl_file = \"slack.url\"\n",
    );
    let req = slack.request(&n);
    assert!(req.url.as_str().ends_with("/SLACKSECRET"));
    assert!(req.body["text"]
        .as_str()
        .unwrap()
        .starts_with("[WARNING] mybpaccount1: data center backup is not ready"));
    assert!(!format!("{slack:?}").contains("SLACKSECRET"));

    secret_file(
        tmp.path(),
        "discord.url",
        "https://discord.example/api/webhooks/1/DISCORDSECRET",
    );
    let discord = channel(
        tmp.path(),
        "[[alerts.channel]]\ntype = \"discord\"\nurl_file = \"discord.url\"\n",
    );
    let body = discord.request(&n).body;
    assert!(body["content"].as_str().unwrap().contains("not ready"));
    assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
}

#[test]
fn a_bad_secret_fails_start_naming_the_channel_but_not_the_secret() {
    let tmp = tempfile::tempdir().unwrap();
    secret_file(tmp.path(), "slack.url", "not a url SLACKSECRET");
    let c = config(
        tmp.path(),
        "[[alerts.channel]]\ntype = \"slack\"\nname = \"ops\"\nurl_file = \"slack.url\"\n",
    );
    let e = Channel::from_config(&c.alerts.channels[0])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("alert channel ops: the URL in file "), "{e}");
    assert!(!e.contains("SLACKSECRET"), "{e}");

    secret_file(tmp.path(), "tg.token", "12:has space SECRET");
    let c = config(
        tmp.path(),
        "[[alerts.channel]]\ntype = \"telegram\"\ntoken_file = \"tg.token\"\nchat_id = 1\n",
    );
    let e = Channel::from_config(&c.alerts.channels[0])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("alert channel telegram") && !e.contains("SECRET"),
        "{e}"
    );

    let c = config(tmp.path(), "[[alerts.channel]]\ntype = \"telegram\"\ntoken_env = \"BP_FAILOVER_TEST_TG_UNSET\"\nchat_id = 1\n");
    let e = Channel::from_config(&c.alerts.channels[0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("BP_FAILOVER_TEST_TG_UNSET is not set"), "{e}");
}

// ---------------------------------------------------------------------------------------
// End to end on 127.0.0.1
// ---------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuf {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

async fn wait_until(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn ok_server() -> support::Handler {
    Arc::new(|_, _| Reply::Json(200, "{\"ok\":true}".into()))
}

fn states(server: &MockServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|(_, b)| b["alert"]["state"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn a_failing_and_a_hanging_receiver_do_not_hold_up_the_others() {
    let logs = LogBuf::default();
    let sub = tracing_subscriber::fmt()
        .with_writer({
            let l = logs.clone();
            move || l.clone()
        })
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _guard = tracing::subscriber::set_default(sub);

    let good = MockServer::start(ok_server()).await;
    let failing = MockServer::start(Arc::new(|_, _| Reply::Json(500, "{}".into()))).await;
    let hanging = MockServer::start(Arc::new(|_, _| {
        Reply::Slow(
            Duration::from_secs(3600),
            Box::new(Reply::Json(200, "{}".into())),
        )
    }))
    .await;
    let tmp = tempfile::tempdir().unwrap();
    secret_file(tmp.path(), "tg.token", TOKEN);
    let c = config(
        tmp.path(),
        &format!(
            r#"
[alerts]
timeout_ms = 300
retries = 2
backoff_ms = 10
queue_len = 2

[[alerts.channel]]
type = "webhook"
name = "good"
url = "{}/hook"

[[alerts.channel]]
type = "telegram"
name = "tg"
token_file = "tg.token"
chat_id = 42
api_base = "{}"

[[alerts.channel]]
type = "webhook"
name = "hang"
url = "{}/hook"
"#,
            good.url, failing.url, hanging.url
        ),
    );
    let metrics = Metrics::new();
    let log = EventLog::memory();
    let alerts = Alerts::start(
        &c.alerts,
        "mybpaccount1",
        log.subscribe(),
        metrics.clone(),
        Arc::new(ManualClock::new(T0)),
    )
    .unwrap();

    let started = Instant::now();
    // Paced by the good receiver, so its own queue never fills.
    let events = [
        blind(),
        agreed(),
        blind(),
        agreed(),
        readiness(false),
        readiness(true),
    ];
    for (i, e) in events.into_iter().enumerate() {
        log.emit(e);
        wait_until("the good receiver", Duration::from_secs(5), || {
            good.requests().len() == i + 1
        })
        .await;
    }
    // It got all six while the hanging one would have needed about 1 s for each (the
    // bound leaves room for a loaded machine and still fails if they were serialized).
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        states(&good),
        ["raised", "resolved", "raised", "resolved", "raised", "resolved"]
    );
    // Each channel has a queue of 2: what arrives while it is full is dropped, never
    // waited for. The failing one gets a first attempt plus two retries for each of the
    // others, then gives up on it.
    let count = |channel: &str, outcome: &str| -> u64 {
        let key = format!(
            "bp_failover_alert_deliveries_total{{channel=\"{channel}\",outcome=\"{outcome}\"}} "
        );
        metrics
            .encode()
            .lines()
            .find_map(|l| l.strip_prefix(&key).map(|v| v.parse().unwrap()))
            .unwrap_or(0)
    };
    wait_until(
        "the failing receiver's retries",
        Duration::from_secs(15),
        || count("tg", "failed") + count("tg", "dropped") == 6,
    )
    .await;
    let tg_path = format!("/bot{TOKEN}/sendMessage");
    let failed = count("tg", "failed");
    assert!(failed >= 3, "{failed}");
    assert_eq!(failing.hits(&tg_path) as u64, 3 * failed);
    assert_eq!(count("good", "sent"), 6);
    assert_eq!(count("good", "dropped"), 0);
    // The hanging one holds at most one in flight and two queued; the rest were dropped.
    assert!(count("hang", "dropped") >= 3, "{}", metrics.encode());
    assert_eq!(count("hang", "sent"), 0);

    // The event loop is not held up either: a new event is still delivered promptly.
    log.emit(blind());
    wait_until("a later alert", Duration::from_secs(5), || {
        good.requests().len() == 7
    })
    .await;

    let t = Instant::now();
    alerts.shutdown(Duration::from_millis(300)).await;
    assert!(t.elapsed() < Duration::from_secs(5), "shutdown is bounded");

    let logs = logs.text();
    assert!(logs.contains("alert not delivered"), "{logs}");
    assert!(logs.contains("channel=tg"), "{logs}");
    assert!(logs.contains("HTTP 500"), "{logs}");
    assert!(logs.contains("alert queue full"), "{logs}");
    assert!(logs.contains("channel=hang"), "{logs}");
    assert!(
        !logs.contains("SECRET"),
        "a token reached the logs:\n{logs}"
    );
}

#[tokio::test]
async fn a_restart_neither_repeats_nor_forgets_an_alert() {
    let good = MockServer::start(ok_server()).await;
    let tmp = tempfile::tempdir().unwrap();
    let c = config(
        tmp.path(),
        &format!(
            "[[alerts.channel]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n",
            good.url
        ),
    );
    let clock = Arc::new(ManualClock::new(T0));

    let log = EventLog::memory();
    let alerts = Alerts::start(
        &c.alerts,
        "mybpaccount1",
        log.subscribe(),
        Metrics::new(),
        clock.clone(),
    )
    .unwrap();
    log.emit(blind());
    wait_until("the raise", Duration::from_secs(10), || {
        good.requests().len() == 1
    })
    .await;
    alerts.shutdown(Duration::from_secs(10)).await;
    let saved = std::fs::read_to_string(tmp.path().join("alerts.json")).unwrap();
    assert!(saved.contains("\"quorum\""), "{saved}");

    // The process restarts; the observer is still blind, then recovers.
    clock.advance(60_000);
    let log = EventLog::memory();
    let alerts = Alerts::start(
        &c.alerts,
        "mybpaccount1",
        log.subscribe(),
        Metrics::new(),
        clock.clone(),
    )
    .unwrap();
    log.emit(blind());
    log.emit(agreed());
    wait_until("the resolution", Duration::from_secs(10), || {
        good.requests().len() == 2
    })
    .await;
    alerts.shutdown(Duration::from_secs(10)).await;
    assert_eq!(states(&good), ["raised", "resolved"]);
    let body = &good.requests()[1].1;
    assert_eq!(body["alert"]["active_since"], "2025-06-15T15:06:40Z");
}

#[tokio::test]
async fn a_reminder_goes_out_when_the_manual_clock_passes_remind_secs() {
    let good = MockServer::start(ok_server()).await;
    let tmp = tempfile::tempdir().unwrap();
    let c = config(
        tmp.path(),
        &format!("[alerts]\nremind_secs = 3600\n[[alerts.channel]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n", good.url),
    );
    let clock = Arc::new(ManualClock::new(T0));
    let log = EventLog::memory();
    let alerts = Alerts::start(
        &c.alerts,
        "mybpaccount1",
        log.subscribe(),
        Metrics::new(),
        clock.clone(),
    )
    .unwrap();
    log.emit(readiness(false));
    wait_until("the raise", Duration::from_secs(10), || {
        good.requests().len() == 1
    })
    .await;
    clock.advance(3_600_000);
    // Any event (or the 1 s tick) runs the lifecycle clock.
    log.emit(Event::ConsensusMode {
        mode: bp_failover::events::ConsensusMode::Savanna,
    });
    wait_until("the reminder", Duration::from_secs(10), || {
        good.requests().len() == 2
    })
    .await;
    alerts.shutdown(Duration::from_secs(10)).await;
    let r = &good.requests()[1].1;
    assert_eq!(r["alert"]["state"], "reminder");
    assert_eq!(r["alert"]["reminders"], 1);
    assert_eq!(r["event"], serde_json::Value::Null);
}

#[tokio::test]
async fn the_heartbeat_pings_only_while_the_loop_runs() {
    let hc = MockServer::start(ok_server()).await;
    let tmp = tempfile::tempdir().unwrap();
    let c = config(
        tmp.path(),
        &format!(
            "[alerts]\nheartbeat_url = \"{}/ping/uuid\"\nheartbeat_secs = 10\n",
            hc.url
        ),
    );
    // A loop that ran just now: the first ping goes out at once.
    let clock = Arc::new(ManualClock::new(T0));
    let metrics = Metrics::with_clock(clock.clone(), Duration::from_secs(30));
    metrics.tick();
    let alerts = Alerts::start(
        &c.alerts,
        "mybpaccount1",
        EventLog::memory().subscribe(),
        metrics.clone(),
        clock.clone(),
    )
    .unwrap();
    wait_until("the ping", Duration::from_secs(10), || {
        hc.hits("/ping/uuid") == 1
    })
    .await;
    alerts.shutdown(Duration::from_millis(100)).await;

    // A loop that stopped 31 s ago: no ping, so the dead-man service alerts.
    clock.advance(31_000);
    assert!(!metrics.health().ok);
    let alerts = Alerts::start(
        &c.alerts,
        "mybpaccount1",
        EventLog::memory().subscribe(),
        metrics.clone(),
        clock,
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    alerts.shutdown(Duration::from_millis(100)).await;
    assert_eq!(hc.hits("/ping/uuid"), 1);
}

#[tokio::test]
async fn an_unreadable_alert_state_starts_empty() {
    let good = MockServer::start(ok_server()).await;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("alerts.json"), "{not json").unwrap();
    let c = config(
        tmp.path(),
        &format!(
            "[[alerts.channel]]\ntype = \"webhook\"\nurl = \"{}/hook\"\n",
            good.url
        ),
    );
    let log = EventLog::memory();
    let alerts = Alerts::start(
        &c.alerts,
        "mybpaccount1",
        log.subscribe(),
        Metrics::new(),
        Arc::new(ManualClock::new(T0)),
    )
    .unwrap();
    log.emit(blind());
    wait_until("the raise", Duration::from_secs(10), || {
        good.requests().len() == 1
    })
    .await;
    alerts.shutdown(Duration::from_secs(10)).await;
    // Rewritten whole and valid.
    assert!(load_state(&tmp.path().join("alerts.json"))
        .unwrap()
        .active
        .contains_key("quorum"));
}

#[test]
fn a_dry_runs_signed_transaction_is_never_sent() {
    let e = Event::DryRunTransaction {
        id: bp_failover::antelope::Checksum256([7; 32]),
        to: "backup".into(),
        body: serde_json::json!({"signatures": ["SIG_K1_pushable"], "packed_trx": "00"}),
        validation: "ok".into(),
    };
    // The dry-run failover alert already says it; the transaction adds no message.
    assert!(feed(&mut lifecycle(), &e, T0).is_empty());
    // And the event carried by any notification never holds the signed body.
    let ev = bp_failover::alerts::event_json(&e).unwrap();
    assert_eq!(ev["event"], "dry_run_transaction");
    assert_eq!(ev["to"], "backup");
    assert!(ev.get("body").is_none());
    assert!(!serde_json::to_string(&ev)
        .unwrap()
        .contains("SIG_K1_pushable"));
}

#[tokio::test]
async fn test_alert_reaches_every_channel_marked_and_names_a_failing_one() {
    let good = MockServer::start(ok_server()).await;
    let pd = MockServer::start(Arc::new(|_, _| {
        Reply::Json(202, "{\"status\":\"success\"}".into())
    }))
    .await;
    let failing = MockServer::start(Arc::new(|_, _| Reply::Json(500, "{}".into()))).await;
    let tmp = tempfile::tempdir().unwrap();
    secret_file(tmp.path(), "pd.key", "R0UTINGKEY0000000000000000000000");
    let c = config(
        tmp.path(),
        &format!(
            r#"
[alerts]
timeout_ms = 500

[[alerts.channel]]
type = "webhook"
name = "hook"
url = "{}/hook"
min_severity = "critical"

[[alerts.channel]]
type = "pagerduty"
name = "pd"
token_file = "pd.key"
api_base = "{}"

[[alerts.channel]]
type = "webhook"
name = "broken"
url = "{}/hook"
"#,
            good.url, pd.url, failing.url
        ),
    );
    let results = bp_failover::alerts::send_test(&c.alerts, "mybpaccount1", T0)
        .await
        .unwrap();
    let names: Vec<&str> = results.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["hook", "pd", "broken"]);
    assert!(results[0].1.is_ok() && results[1].1.is_ok(), "{results:?}");
    assert!(results[2].1.is_err());
    let hook = good.requests();
    assert_eq!(hook.len(), 1);
    assert!(hook[0].1.to_string().contains("[TEST]"), "{}", hook[0].1);
    // PagerDuty: a test incident, resolved at once.
    let actions: Vec<String> = pd
        .requests()
        .iter()
        .map(|(_, b)| b["event_action"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(actions, ["trigger", "resolve"]);
}
