//! The one-shot gathering layer behind `status` (and the reads `check` shares): a snapshot
//! of what the observer sees.
//!
//! It polls every endpoint once (the same [`EndpointPool`](crate::api::EndpointPool) round
//! the daemon runs), reads the producer schedule, our `producers` row and (when finalizer
//! keys are configured) our active finalizer key from the best endpoint, and asks each data
//! center's own node (`api`) whether it is reachable and synced. The private key is never
//! loaded.
//!
//! The gathering is [`gather`]; turning the answers into a [`StatusSnapshot`] is the pure
//! [`build_snapshot`], and printing is [`render_text`] / [`render_json`], so all three are
//! testable without a network.

use serde::Serialize;

use crate::antelope::BlockTimestamp;
use crate::api::types::{
    AnyKey, ChainId, GetInfo, ProducerRow, ProducerSchedule, ProducerScheduleResponse,
};
use crate::config::{ChainConfig, Config, Problem};
use crate::events::QuorumStatus;
use crate::quorum::{QuorumState, QuorumView, Verdict};
use crate::readiness::{node_readiness, NodeReadiness, ReadinessLimits};

mod gather;
mod render;

pub(crate) use gather::{datacenter_nodes, Polled};
pub use gather::{gather, GatherError, NodeAnswer};
pub use render::{render_json, render_text};

/// The limits a data center's node is judged against, from `[chain]`.
impl From<&ChainConfig> for ReadinessLimits {
    fn from(chain: &ChainConfig) -> Self {
        ReadinessLimits {
            expected_chain: chain.chain_id,
            max_lag_blocks: chain.max_lag_blocks,
            max_head_age_ms: chain.max_head_age.as_millis() as i64,
        }
    }
}

/// A value read from one endpoint, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fetched<T> {
    pub value: Option<T>,
    /// The endpoint that answered (redacted).
    pub source: Option<String>,
    /// True when that endpoint is in the agreeing majority.
    pub verified: bool,
    pub error: Option<String>,
}

impl<T> Fetched<T> {
    pub(crate) fn failed(error: String) -> Self {
        Fetched {
            value: None,
            source: None,
            verified: false,
            error: Some(error),
        }
    }
}

/// Everything `status` gathered, before interpretation.
#[derive(Debug, Clone)]
pub struct StatusInputs {
    pub now_ms: i64,
    pub view: QuorumView,
    pub schedule: Fetched<ProducerScheduleResponse>,
    /// `Some(None)` inside: the account has no producers row.
    pub producer: Fetched<Option<ProducerRow>>,
    /// Fetched only when a data center has a `finalizer_key`.
    pub finalizer: Option<Fetched<Option<String>>>,
    /// Per data center, in config order: its node's `get_info` and when it arrived.
    pub datacenter_nodes: Vec<Option<(Result<GetInfo, String>, i64)>>,
    pub config_warnings: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusSnapshot {
    pub observed_at: String,
    pub producer: String,
    pub configured_chain_id: Option<ChainId>,
    pub blind: bool,
    pub quorum: QuorumReport,
    pub endpoints: Vec<EndpointReport>,
    pub schedule: ScheduleReport,
    pub registration: RegistrationReport,
    pub finalizer: Option<FinalizerReport>,
    pub datacenters: Vec<DatacenterReport>,
    pub notes: Vec<String>,
    pub config_warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuorumReport {
    /// `agreed`, `endpoints_disagree` or `observer_blind` (as in `quorum_changed`).
    pub state: QuorumStatus,
    pub summary: String,
    pub configured: usize,
    pub required: usize,
    pub head_num: Option<u32>,
    pub head_id: Option<String>,
    pub head_time: Option<BlockTimestamp>,
    pub best_head_num: Option<u32>,
    pub lib_num: Option<u32>,
    pub lib_id: Option<String>,
    pub chain_id: Option<ChainId>,
    /// 1-based endpoint numbers.
    pub members: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointReport {
    /// 1-based position in `[chain] endpoints`.
    pub number: usize,
    pub url: String,
    /// `agrees`, `healthy` or `excluded`.
    pub status: &'static str,
    pub reason: Option<String>,
    pub head_num: Option<u32>,
    pub lib_num: Option<u32>,
    /// Quorum best head minus this endpoint's head.
    pub lag_blocks: Option<i64>,
    pub head_age_ms: Option<i64>,
    pub latency_ms: u64,
    pub server_version: Option<String>,
    pub consecutive_errors: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleEntryReport {
    pub version: u32,
    pub producers: usize,
    /// 1-based position of our producer; `None` when not scheduled.
    pub position: Option<usize>,
    pub key: Option<String>,
    /// The configured data center holding `key`, or `unknown key`.
    pub datacenter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleReport {
    pub active: Option<ScheduleEntryReport>,
    pub pending: Option<ScheduleEntryReport>,
    pub proposed: Option<ScheduleEntryReport>,
    pub source: Option<String>,
    pub verified: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegistrationReport {
    pub registered: Option<bool>,
    pub is_active: Option<bool>,
    pub key: Option<String>,
    pub datacenter: Option<String>,
    pub url: Option<String>,
    pub location: Option<u16>,
    pub unpaid_blocks: Option<u32>,
    /// Telos' own count of our missed blocks this rotation: a cross-check of ours.
    pub onchain_missed_per_rotation: Option<u32>,
    pub source: Option<String>,
    pub verified: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalizerReport {
    pub active_key: Option<String>,
    pub datacenter: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatacenterReport {
    pub name: String,
    /// `primary` or `backup`.
    pub role: &'static str,
    pub signing_key: String,
    /// Its key is the one registered in the producers table.
    pub registered: bool,
    /// Its key is the one in the active schedule.
    pub scheduled: bool,
    pub api: Option<String>,
    pub node: Option<NodeReadiness>,
}

const UNKNOWN_KEY: &str = "unknown key";

fn key_owner(config: &Config, key: &AnyKey) -> String {
    key.as_k1()
        .and_then(|k| config.datacenter_for_key(k))
        .map(|d| d.name.clone())
        .unwrap_or_else(|| UNKNOWN_KEY.to_string())
}

fn schedule_entry(config: &Config, s: &ProducerSchedule) -> ScheduleEntryReport {
    let me = config.producer.account;
    let pos = s.position(me);
    let key = pos.and_then(|i| s.producers[i].authority.single_key().cloned());
    ScheduleEntryReport {
        version: s.version,
        producers: s.producers.len(),
        position: pos.map(|i| i + 1),
        datacenter: match (&key, pos) {
            (Some(k), _) => Some(key_owner(config, k)),
            (None, Some(_)) => Some("multi-key authority".into()),
            (None, None) => None,
        },
        key: key.map(|k| k.to_string()),
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Interprets what `status` gathered. Pure.
pub fn build_snapshot(config: &Config, inputs: &StatusInputs) -> StatusSnapshot {
    let view = &inputs.view;
    let quorum = view.quorum();
    let mut notes = Vec::new();

    let state = QuorumStatus::of(&view.state);
    let members = match &view.state {
        QuorumState::Agreed(q) => q.members.iter().map(|i| i + 1).collect(),
        _ => vec![],
    };
    let quorum_report = QuorumReport {
        state,
        summary: view.state.to_string(),
        configured: view.configured,
        required: view.required,
        head_num: quorum.map(|q| q.head.num),
        head_id: quorum.map(|q| q.head.id.to_string()),
        head_time: quorum.and_then(|q| q.head.time),
        best_head_num: quorum.map(|q| q.best_head_num),
        lib_num: quorum.map(|q| q.lib.num),
        lib_id: quorum.map(|q| q.lib.id.to_string()),
        chain_id: quorum.map(|q| q.chain_id),
        members,
    };

    let endpoints = view
        .endpoints
        .iter()
        .map(|e| {
            let (status, reason) = match &e.verdict {
                Verdict::Agrees => ("agrees", None),
                Verdict::Healthy => ("healthy", None),
                Verdict::Excluded(r) => ("excluded", Some(r.to_string())),
            };
            EndpointReport {
                number: e.index + 1,
                url: e.label.clone(),
                status,
                reason,
                head_num: e.head.map(|b| b.num),
                lib_num: e.lib.map(|b| b.num),
                lag_blocks: match (quorum, e.head) {
                    (Some(q), Some(h)) => Some(i64::from(q.best_head_num) - i64::from(h.num)),
                    _ => None,
                },
                head_age_ms: e.head_age_ms,
                latency_ms: e.latency_ms,
                server_version: e.server_version.clone(),
                consecutive_errors: e.consecutive_errors,
            }
        })
        .collect();

    let sched = &inputs.schedule;
    let active = sched.value.as_ref().and_then(|s| s.active.as_ref());
    let schedule = ScheduleReport {
        active: active.map(|s| schedule_entry(config, s)),
        pending: sched
            .value
            .as_ref()
            .and_then(|s| s.pending.as_ref())
            .map(|s| schedule_entry(config, s)),
        proposed: sched
            .value
            .as_ref()
            .and_then(|s| s.proposed.as_ref())
            .map(|s| schedule_entry(config, s)),
        source: sched.source.clone(),
        verified: sched.verified,
        error: sched.error.clone(),
    };
    let scheduled_key: Option<AnyKey> = active
        .and_then(|s| s.get(config.producer.account))
        .and_then(|p| p.authority.single_key().cloned());
    if let Some(a) = &schedule.active {
        if a.position.is_none() {
            notes.push(format!(
                "{} is not in the active schedule (version {}): it produces no blocks now",
                config.producer.account, a.version
            ));
        }
    }
    for (label, entry) in [
        ("pending", &schedule.pending),
        ("proposed", &schedule.proposed),
    ] {
        if let (Some(e), Some(a)) = (entry, &schedule.active) {
            if e.key != a.key {
                notes.push(format!(
                    "a {label} schedule (version {}) changes our key to {} ({}): a key switch is in flight",
                    e.version,
                    e.key.as_deref().unwrap_or("none"),
                    e.datacenter.as_deref().unwrap_or("not scheduled")
                ));
            }
        }
    }

    let prod = &inputs.producer;
    let row = prod.value.as_ref().and_then(|r| r.as_ref());
    let registered_key = row.and_then(|r| r.signing_key());
    let registration = RegistrationReport {
        registered: prod.value.as_ref().map(|r| r.is_some()),
        is_active: row.map(|r| r.is_active),
        key: registered_key.as_ref().map(|k| k.to_string()),
        datacenter: registered_key.as_ref().map(|k| key_owner(config, k)),
        url: row.map(|r| r.url.clone()),
        location: row.map(|r| r.location),
        unpaid_blocks: row.map(|r| r.unpaid_blocks),
        onchain_missed_per_rotation: row.and_then(|r| r.missed_blocks_per_rotation),
        source: prod.source.clone(),
        verified: prod.verified,
        error: prod.error.clone(),
    };
    if let Some((expected, got, n)) = view.other_chain() {
        notes.insert(
            0,
            format!(
                "wrong chain_id: [chain] chain_id is {expected}, but {n} of {} endpoints report chain id {got}; if they serve the chain you mean, set chain_id = \"{got}\"",
                view.configured
            ),
        );
    }
    if registration.registered == Some(false) {
        notes.push(format!(
            "{} has no row in the eosio producers table: it is not a registered producer",
            config.producer.account
        ));
    }
    if registration.is_active == Some(false) {
        notes.push(format!(
            "{} is registered but not active (unregprod or kicked): it will not be scheduled",
            config.producer.account
        ));
    }
    if registration.datacenter.as_deref() == Some(UNKNOWN_KEY) {
        notes.push("the key registered on chain belongs to no configured data center".into());
    }
    if let (Some(r), Some(s)) = (&registered_key, &scheduled_key) {
        if r != s {
            notes.push(format!(
                "the registered key ({}) differs from the key in the active schedule ({}): a switch is in flight or the schedule has not been updated yet",
                key_owner(config, r),
                key_owner(config, s)
            ));
        }
    }
    if !sched.verified && sched.value.is_some() || !prod.verified && prod.value.is_some() {
        notes.push("some chain data came from an endpoint outside an agreeing majority: treat it as unverified".into());
    }

    let finalizer = inputs.finalizer.as_ref().map(|f| {
        let key = f.value.clone().flatten();
        FinalizerReport {
            datacenter: key.as_ref().map(|k| {
                config
                    .datacenters
                    .iter()
                    .find(|d| d.finalizer_key.as_deref() == Some(k.as_str()))
                    .map(|d| d.name.clone())
                    .unwrap_or_else(|| UNKNOWN_KEY.to_string())
            }),
            active_key: key,
            error: f.error.clone(),
        }
    });

    let datacenters = config
        .datacenters
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let node = inputs
                .datacenter_nodes
                .get(i)
                .and_then(|n| n.as_ref())
                .map(|(answer, at)| node_readiness(answer, *at, quorum, &(&config.chain).into()));
            DatacenterReport {
                name: d.name.clone(),
                role: if i == 0 { "primary" } else { "backup" },
                signing_key: d.signing_key.to_string(),
                registered: registered_key.as_ref().is_some_and(|k| *k == d.signing_key),
                scheduled: scheduled_key.as_ref().is_some_and(|k| *k == d.signing_key),
                api: d.api.as_ref().map(|u| u.to_string()),
                node,
            }
        })
        .collect();

    StatusSnapshot {
        observed_at: rfc3339(inputs.now_ms),
        producer: config.producer.account.to_string(),
        configured_chain_id: config.chain.chain_id,
        blind: view.is_blind(),
        quorum: quorum_report,
        endpoints,
        schedule,
        registration,
        finalizer,
        datacenters,
        notes,
        config_warnings: inputs
            .config_warnings
            .iter()
            .map(|w| w.to_string())
            .collect(),
    }
}
