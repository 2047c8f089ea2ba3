//! The manual switch (`bp-failover failover --to NAME`) with the daemon's safety checks:
//! the target exists, the endpoints agree ([`Situation::observe`]), the target is not
//! already current, no key change is in flight ([`in_flight`]), and the target's own node
//! is ready ([`target_readiness`]); after the push, [`wait_for_table`] watches the
//! producers table and `ManualRecord` writes the switch into the state file as manual.
//! Signing and pushing are the daemon's executor's; printing and prompting are the
//! command's.

use std::time::{Duration, Instant};

use crate::antelope::{Name, PublicKey};
use crate::api::client::http_client;
use crate::api::types::ProducerRow;
use crate::api::{read_order, ChainClient, ClientOptions, Clock, EndpointPool, Quorum};
use crate::config::{Config, Datacenter};
use crate::daemon::executor::{ExecError, Executor};
use crate::daemon::onchain::row_key;
use crate::observer::schedule::{Schedule, ScheduledProducer};
use crate::readiness::{node_readiness, NodeVerdict};

mod record;

pub(crate) use record::ManualRecord;

/// Why a manual switch is refused before anything is signed.
#[derive(Debug, thiserror::Error)]
pub enum ManualError {
    #[error("no data center named {name:?} in the config; configured: {configured}")]
    UnknownTarget { name: String, configured: String },
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] crate::api::client::HttpClientError),
    /// The endpoints do not agree (the quorum state's text).
    #[error("refusing to switch: {0}; run `bp-failover status` to see each endpoint")]
    NoQuorum(String),
    #[error(transparent)]
    ProducerRow(#[from] ExecError),
    #[error(transparent)]
    InFlight(#[from] InFlight),
    #[error(
        "refusing to switch to {target}: {why}. A node that cannot produce would miss every block; fix it, or pass --force if you know better"
    )]
    NotReady { target: String, why: String },
}

/// The configured data center named `name`.
pub fn target(config: &Config, name: &str) -> Result<Datacenter, ManualError> {
    let found = config.datacenters.iter().find(|d| d.name == name);
    found.cloned().ok_or_else(|| ManualError::UnknownTarget {
        name: name.to_string(),
        configured: config
            .datacenters
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The data center holding `key`, or `an unknown key`.
pub fn name_of(config: &Config, key: Option<PublicKey>) -> String {
    key.and_then(|k| config.datacenter_for_key(&k).map(|d| d.name.clone()))
        .unwrap_or_else(|| "an unknown key".into())
}

/// One polling round and our producers row, as the endpoints agree on it.
pub struct Situation {
    pub pool: EndpointPool,
    pub quorum: Quorum,
    /// The order reads and pushes try endpoints in.
    pub order: Vec<usize>,
    pub row: ProducerRow,
    /// The key in our producers row.
    pub current: Option<PublicKey>,
}

impl Situation {
    /// Refuses without an agreeing majority (the daemon never acts without one).
    pub async fn observe(config: &Config, clock: &dyn Clock) -> Result<Self, ManualError> {
        let mut pool = EndpointPool::from_config(&config.chain).map_err(ManualError::HttpClient)?;
        let view = pool.observe(clock).await;
        let Some(quorum) = view.quorum().cloned() else {
            return Err(ManualError::NoQuorum(view.state.to_string()));
        };
        let order = read_order(&view, false);
        let row = Executor::producer_row(&pool, &order, config.producer.account).await?;
        let current = row_key(&row);
        Ok(Situation {
            pool,
            quorum,
            order,
            row,
            current,
        })
    }

    /// The active producer schedule, if any endpoint answers.
    pub async fn active_schedule(&self) -> Option<Schedule> {
        self.pool
            .first_success(&self.order, |c| c.get_producer_schedule())
            .await
            .ok()
            .and_then(|(_, s)| s.active)
            .map(|s| crate::daemon::onchain::convert_schedule(&s))
    }

    /// The quorum head's time, else `clock`'s now (Unix ms).
    pub fn head_ms(&self, clock: &dyn Clock) -> i64 {
        self.quorum
            .head
            .time
            .map_or(clock.now_ms(), |t| t.unix_ms())
    }
}

/// A key change already in flight: the producers table holds another key than the active
/// schedule. Names the data centers holding each.
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to switch: a key change to {to} is already in flight (the producers table \
     holds it, the active schedule still has {active}); wait for it to become active \
     (`bp-failover status`), or pass --force to switch anyway"
)]
pub struct InFlight {
    pub to: String,
    pub active: String,
}

/// The key change in flight, if the producers table (`current`) and the active schedule
/// disagree.
pub fn in_flight(
    config: &Config,
    current: Option<PublicKey>,
    schedule: Option<&Schedule>,
) -> Option<InFlight> {
    let active = schedule
        .and_then(|s| s.get(config.producer.account))
        .and_then(ScheduledProducer::key);
    (active.is_some() && current.is_some() && active != current).then(|| InFlight {
        to: name_of(config, current),
        active: name_of(config, active),
    })
}

/// Whether the target's own node could take over.
pub enum TargetReadiness {
    /// No `api` configured: it cannot be checked.
    Unchecked,
    Ready,
    /// Why not, e.g. `its node URL is 40 blocks behind the quorum`.
    NotReady(String),
}

/// Asks the target's own node (`api`) for `get_info` and judges it against `quorum`.
pub async fn target_readiness(
    config: &Config,
    target: &Datacenter,
    quorum: &Quorum,
    clock: &dyn Clock,
) -> Result<TargetReadiness, ManualError> {
    let Some(api) = &target.api else {
        return Ok(TargetReadiness::Unchecked);
    };
    let opts = ClientOptions {
        timeout: config.chain.request_timeout,
        ..ClientOptions::default()
    };
    let http = http_client(&opts).map_err(ManualError::HttpClient)?;
    let client = ChainClient::new(http, api.clone(), opts);
    let answer = client.get_info().await.map_err(|e| e.kind.to_string());
    let r = node_readiness(
        &answer,
        clock.now_ms(),
        Some(quorum),
        &(&config.chain).into(),
    );
    let why = match r.verdict {
        NodeVerdict::Ready => return Ok(TargetReadiness::Ready),
        NodeVerdict::NotReady(why) => format!("its node {api} is {why}"),
        NodeVerdict::Unjudged => format!("its node {api} is not synced"),
    };
    Ok(TargetReadiness::NotReady(why))
}

/// Watches our producers row until it holds `key` (true) or `limit` passes (false).
pub async fn wait_for_table(
    pool: &EndpointPool,
    order: &[usize],
    me: Name,
    key: PublicKey,
    limit: Duration,
) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(row) = Executor::producer_row(pool, order, me).await {
            if row_key(&row) == Some(key) {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::observer::schedule::ScheduledProducer;

    /// Published test keys (`fixtures/vector_keys_k1.json`).
    const PRIMARY: &str = "PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs";
    const BACKUP: &str = "PUB_K1_87DUhBcZrLhyFfBVDyu1iWZJUGURqbk6CQxwv5g6iWUD2X45Hv";

    fn config() -> Config {
        let text = format!(
            r#"
[chain]
endpoints = ["http://127.0.0.1:1"]

[producer]
account = "mybpaccount1"
permission = "failover"
key_env = "BP_FAILOVER_MANUAL_UNIT_TEST_UNSET"

[[datacenter]]
name = "primary"
signing_key = "{PRIMARY}"

[[datacenter]]
name = "backup"
signing_key = "{BACKUP}"
"#
        );
        crate::config::load_str(&text, Path::new("config.toml"))
            .unwrap()
            .config
    }

    fn schedule_with(key: &str) -> Schedule {
        Schedule {
            version: 3,
            producers: vec![ScheduledProducer {
                name: Name::literal("mybpaccount1"),
                threshold: 1,
                keys: vec![key.parse().unwrap()],
            }],
        }
    }

    #[test]
    fn an_unknown_target_names_the_configured_ones() {
        let c = config();
        assert_eq!(target(&c, "backup").unwrap().name, "backup");
        let e = target(&c, "backup2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "no data center named \"backup2\" in the config; configured: primary, backup"
        );
    }

    #[test]
    fn a_key_change_in_flight_names_both_data_centers() {
        let c = config();
        let primary: PublicKey = PRIMARY.parse().unwrap();
        let backup: PublicKey = BACKUP.parse().unwrap();
        let s = schedule_with(PRIMARY);
        assert!(in_flight(&c, Some(primary), Some(&s)).is_none());
        assert!(in_flight(&c, Some(backup), None).is_none());
        assert!(in_flight(&c, None, Some(&s)).is_none());
        let f = in_flight(&c, Some(backup), Some(&s)).unwrap();
        assert_eq!((f.to.as_str(), f.active.as_str()), ("backup", "primary"));
        let text = ManualError::from(f).to_string();
        assert!(
            text.starts_with("refusing to switch: a key change to backup is already in flight (the producers table holds it, the active schedule still has primary)"),
            "{text}"
        );
        let other = schedule_with("PUB_K1_7tgwU6E7pAUQJgqEJt66Yi8cWvanTUW8ZfBjeXeJBQvhYTBFvY");
        let f = in_flight(&c, Some(backup), Some(&other));
        assert_eq!(f.map(|f| f.active), Some("an unknown key".into()));
    }
}
