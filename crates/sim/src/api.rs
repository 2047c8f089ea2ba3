//! The `/v1/chain/*` methods over one chain as one endpoint sees it: request parsing, the
//! read methods, and the transaction methods. Pure over a `&mut Chain`; HTTP, endpoint
//! faults and counters live in [`super::network`] and [`super::server`].
//!
//! Simplifications: `get_table_rows` serves the `eosio` producers, finalizers, finkeys and
//! global (`last_producer_schedule_update` only)
//! tables by primary key only (other `eosio` tables are empty; secondary indexes are
//! refused); table rows and accounts are always current even when the endpoint's head is
//! behind; a transaction pushed through a lagging or stale endpoint is checked against,
//! and applied to, the current chain (the node relays it).

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{json, Value};

use super::chain::Chain;
use super::error::NodeError;
use super::render::{trace_json, TraceStyle, View};
use super::system::SystemState;
use super::verify::{self, Mode};
use antelope::{BlockTimestamp, Name, PackedTransaction};

/// A successful answer: HTTP status and body.
pub(crate) type Answer = Result<(u16, Value), NodeError>;

/// The chain methods this simulator serves.
pub(crate) const METHODS: &[&str] = &[
    "get_info",
    "get_block",
    "get_block_info",
    "get_producer_schedule",
    "get_table_rows",
    "get_account",
    "get_abi",
    "push_transaction",
    "send_transaction",
    "send_transaction2",
    "compute_transaction",
];

/// The bundled ABI document, as `get_abi` returns it.
fn abi_json() -> &'static Value {
    static ABI: OnceLock<Value> = OnceLock::new();
    ABI.get_or_init(|| {
        serde_json::from_str(antelope::abi::EOSIO_SYSTEM_ABI_JSON).unwrap_or(Value::Null)
    })
}

/// The bundled `eosio.msig` ABI document, as `get_abi` returns it.
fn msig_abi_json() -> &'static Value {
    static ABI: OnceLock<Value> = OnceLock::new();
    ABI.get_or_init(|| {
        serde_json::from_str(antelope::msig::EOSIO_MSIG_ABI_JSON).unwrap_or(Value::Null)
    })
}

fn str_param<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

/// Dispatches `method` (the last path segment) with a parsed JSON body.
/// `head` is the endpoint's head block number (`None`: the live head).
pub(crate) fn call(chain: &mut Chain, head: Option<u32>, method: &str, body: &Value) -> Answer {
    let view = match head {
        Some(n) => View::at(chain, n),
        None => View::live(chain),
    };
    let ok = |v: Value| Ok((200, v));
    match method {
        "get_info" => ok(view.get_info()),
        "get_block" => {
            let key = body
                .get("block_num_or_id")
                .ok_or_else(|| NodeError::invalid_request("missing field block_num_or_id"))?;
            let b = view.find_block(key)?;
            ok(view.get_block(b))
        }
        "get_block_info" => {
            let num = body
                .get("block_num")
                .and_then(|v| {
                    v.as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| NodeError::invalid_request("block_num must be a uint32"))?;
            let b = view
                .block(num)
                .ok_or_else(|| NodeError::unknown_block(&num.to_string()))?;
            ok(view.get_block_info(b))
        }
        "get_producer_schedule" => ok(view.get_producer_schedule()),
        "get_table_rows" => ok(get_table_rows(
            chain.state(),
            chain.last_schedule_update(),
            body,
        )?),
        "get_account" => {
            let name = str_param(body, "account_name").unwrap_or("");
            let acct = name
                .parse::<Name>()
                .ok()
                .and_then(|n| chain.state().accounts.get(&n))
                .ok_or_else(|| NodeError::unknown_account(name))?;
            ok(acct.to_json(view.head.num, &view.head.timestamp().to_string()))
        }
        "get_abi" => {
            let name = str_param(body, "account_name").unwrap_or("");
            match name.parse::<Name>().ok() {
                Some(n) if n == Name::literal("eosio") => {
                    ok(json!({"account_name": "eosio", "abi": abi_json()}))
                }
                // eosio.msig is deployed on every simulated chain (see sim::msig).
                Some(n) if n == antelope::msig::MSIG_ACCOUNT => {
                    ok(json!({"account_name": n, "abi": msig_abi_json()}))
                }
                Some(n) if chain.state().accounts.contains_key(&n) => {
                    ok(json!({"account_name": n}))
                }
                _ => Err(NodeError::account_query(name)),
            }
        }
        "push_transaction" => push(chain, body, TraceStyle::Nested),
        "send_transaction" => push(chain, body, TraceStyle::Flat),
        "send_transaction2" => send_transaction2(chain, body),
        "compute_transaction" => {
            let packed = packed_param(body.get("transaction"))?;
            let rec = verify::process(chain, &packed, Mode::DryRun)?;
            ok(trace_json(&rec, TraceStyle::Flat))
        }
        _ => Err(NodeError::not_found()),
    }
}

fn packed_param(v: Option<&Value>) -> Result<PackedTransaction, NodeError> {
    let v = v.ok_or_else(|| NodeError::invalid_request("missing field transaction"))?;
    PackedTransaction::deserialize(v).map_err(|e| NodeError::packed_transaction(e.to_string()))
}

fn push(chain: &mut Chain, body: &Value, style: TraceStyle) -> Answer {
    let packed = packed_param(Some(body))?;
    let rec = verify::process(chain, &packed, Mode::Push)?;
    Ok((202, trace_json(&rec, style)))
}

fn send_transaction2(chain: &mut Chain, body: &Value) -> Answer {
    let failure_trace = body
        .get("return_failure_trace")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if body.get("retry_trx").and_then(Value::as_bool) == Some(true) {
        return Err(NodeError::unsupported_retry());
    }
    let packed = packed_param(body.get("transaction"))?;
    match verify::process(chain, &packed, Mode::Push) {
        Ok(rec) => Ok((202, trace_json(&rec, TraceStyle::Flat))),
        // Failures before execution (decoding, signatures, duplicates) throw; the others
        // come back as a 2xx failure trace when asked for.
        Err(e) if failure_trace && e.in_trace() => {
            let id = packed.id().map(|i| i.to_string()).unwrap_or_default();
            let (block_num, slot) = chain.pending_block();
            Ok((202, failure_trace_json(&id, block_num, slot, &e)))
        }
        Err(e) => Err(e),
    }
}

/// A `processed` trace carrying `except`.
pub(crate) fn failure_trace_json(id: &str, block_num: u32, slot: u32, e: &NodeError) -> Value {
    json!({
        "transaction_id": id,
        "processed": {
            "id": id,
            "block_num": block_num,
            "block_time": BlockTimestamp(slot).to_string(),
            "producer_block_id": null,
            "receipt": null,
            "elapsed": 0,
            "net_usage": 0,
            "scheduled": false,
            "action_traces": [],
            "account_ram_delta": null,
            "except": e.to_except_json(),
            "error_code": null,
        },
    })
}

/// A table bound: a decimal u64 first, then a name (nodeos's order, reference §6).
fn parse_bound(v: Option<&Value>) -> Result<Option<u64>, NodeError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| NodeError::table_query(format!("invalid bound {n}"))),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .parse::<u64>()
            .ok()
            .or_else(|| s.parse::<Name>().ok().map(Name::as_u64))
            .map(Some)
            .ok_or_else(|| NodeError::table_query(format!("Invalid bound {s:?}"))),
        Some(other) => Err(NodeError::table_query(format!("invalid bound {other}"))),
    }
}

fn bool_param(body: &Value, key: &str) -> bool {
    match body.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    }
}

fn get_table_rows(
    state: &SystemState,
    last_schedule_update: u32,
    body: &Value,
) -> Result<Value, NodeError> {
    let code = str_param(body, "code").unwrap_or("");
    let table = str_param(body, "table").unwrap_or("");
    let scope = str_param(body, "scope").unwrap_or("");
    if code == "eosio.msig" {
        let as_json = bool_param(body, "json");
        let rows = scope
            .parse::<Name>()
            .ok()
            .and_then(|scope| state.msig_rows(table, scope, as_json));
        let Some(rows) = rows else {
            return Err(NodeError::table_query(format!(
                "Table {table} is not specified in the ABI"
            )));
        };
        return select_rows(rows, body);
    }
    if code != "eosio" {
        return Err(NodeError::table_query(format!(
            "Table {table} is not specified in the ABI of {code}"
        )));
    }
    let Some(table_name) = table.parse::<Name>().ok() else {
        return Err(NodeError::table_query(format!(
            "Invalid table name {table:?}"
        )));
    };
    if antelope::abi::eosio_system_abi()
        .table_type(table_name)
        .is_none()
    {
        return Err(NodeError::table_query(format!(
            "Table {table} is not specified in the ABI"
        )));
    }
    match str_param(body, "index_position").unwrap_or("") {
        "" | "1" | "primary" => {}
        other => {
            return Err(NodeError::table_query(format!(
                "the simulator serves primary-key lookups only (index_position {other:?})"
            )))
        }
    }
    let as_json = bool_param(body, "json");
    let rows: Vec<(u64, Name, Value)> = if scope != "eosio" {
        Vec::new()
    } else {
        match table {
            "producers" => state
                .producers
                .values()
                .map(|r| {
                    (
                        r.owner.as_u64(),
                        r.owner,
                        SystemState::producer_json(r, as_json),
                    )
                })
                .collect(),
            "finalizers" => state
                .finalizers
                .values()
                .map(|r| {
                    (
                        r.finalizer_name.as_u64(),
                        r.finalizer_name,
                        SystemState::finalizer_json(r, as_json),
                    )
                })
                .collect(),
            "finkeys" => state
                .finkeys
                .values()
                .map(|r| (r.id, r.finalizer_name, SystemState::finkey_json(r, as_json)))
                .collect(),
            // The singleton, keyed by its table name; only the fields the model keeps.
            "global" => {
                let global = Name::literal("global");
                let when = BlockTimestamp(last_schedule_update).to_string();
                vec![(
                    global.as_u64(),
                    Name::literal("eosio"),
                    json!({
                        "last_producer_schedule_update": when,
                        "last_producer_schedule_size": state.producers.values().filter(|r| r.is_active).count(),
                    }),
                )]
            }
            _ => Vec::new(),
        }
    };
    select_rows(rows, body)
}

/// Bounds, order, limit and `show_payer` applied to `(primary key, payer, row)` rows.
fn select_rows(rows: Vec<(u64, Name, Value)>, body: &Value) -> Result<Value, NodeError> {
    let show_payer = bool_param(body, "show_payer");
    let reverse = bool_param(body, "reverse");
    let lower = parse_bound(body.get("lower_bound"))?.unwrap_or(0);
    let upper = parse_bound(body.get("upper_bound"))?.unwrap_or(u64::MAX);
    let limit = body
        .get("limit")
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .unwrap_or(10) as usize;

    let mut selected: Vec<&(u64, Name, Value)> = rows
        .iter()
        .filter(|(k, _, _)| *k >= lower && *k <= upper)
        .collect();
    if reverse {
        selected.reverse();
    }
    let more = selected.len() > limit;
    let next_key = selected
        .get(limit)
        .map(|(k, _, _)| {
            if str_param(body, "key_type") == Some("name") {
                Name::from_u64(*k).to_string()
            } else {
                k.to_string()
            }
        })
        .unwrap_or_default();
    let out: Vec<Value> = selected
        .into_iter()
        .take(limit)
        .map(|(_, payer, v)| {
            if show_payer {
                json!({"data": v, "payer": payer})
            } else {
                v.clone()
            }
        })
        .collect();
    Ok(json!({"rows": out, "more": more, "next_key": next_key}))
}
