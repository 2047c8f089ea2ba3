//! The lies of [`Lie`]: an honest answer, altered.

use serde_json::Value;

use super::requests::{is_push, Target};
use super::world::World;
use super::{Behavior, Lie};
use crate::api;
use crate::error::NodeError;

impl World {
    /// An honest answer, altered by `lie`.
    pub(super) fn lie(
        &mut self,
        target: Target,
        lie: &Lie,
        path: &str,
        body: &[u8],
    ) -> api::Answer {
        let method = path.strip_prefix("/v1/chain/").unwrap_or("");
        let drop_push = match (lie, target) {
            (Lie::DropPushes, _) => true,
            (Lie::DropFirstPush, Target::Endpoint(i)) if is_push(path) => {
                let trx = serde_json::from_slice::<Value>(body)
                    .ok()
                    .and_then(|v| v["packed_trx"].as_str().map(str::to_string))
                    .unwrap_or_default();
                self.dropped_first.insert((i, trx))
            }
            _ => false,
        };
        if drop_push && is_push(path) {
            // Executed on a copy of the chain: a real-looking trace, nothing applied.
            // It keeps no record either: the same transaction is acknowledged again.
            let saved = self.main.clone();
            self.main.forget_txs();
            let answer = self.answer(target, &Behavior::Normal, path, body);
            self.main = saved;
            return answer;
        }
        if *lie == Lie::FailBlockReads
            && matches!(method, "get_block" | "get_block_info" | "get_block_header")
        {
            return Err(NodeError::unknown_block(
                "(this endpoint fails every block read)",
            ));
        }
        let (status, mut v) = self.answer(target, &Behavior::Normal, path, body)?;
        match (lie, method) {
            (Lie::LowHead(_) | Lie::OldHead(_), "get_info") => {
                let live = self.main.head().num;
                let n = match lie {
                    Lie::LowHead(n) => (*n).min(live),
                    Lie::OldHead(back) => live.saturating_sub(*back).max(1),
                    _ => live,
                };
                let fresh = v["head_block_time"].clone();
                let (_, mut old) = api::call(&mut self.main, Some(n), "get_info", &Value::Null)?;
                old["head_block_time"] = fresh;
                v = old;
            }
            (Lie::ProducerKey(key), "get_table_rows") => {
                if let Some(rows) = v.get_mut("rows").and_then(Value::as_array_mut) {
                    for row in rows.iter_mut().filter(|r| r.get("producer_key").is_some()) {
                        row["producer_key"] = Value::String(key.clone());
                        if let Some(o) = row.as_object_mut() {
                            o.remove("producer_authority");
                        }
                    }
                }
            }
            (Lie::ScheduleWithout(name), "get_producer_schedule") => {
                if let Some(ps) = v
                    .pointer_mut("/active/producers")
                    .and_then(Value::as_array_mut)
                {
                    ps.retain(|p| p["producer_name"].as_str() != Some(&name.to_string()));
                }
            }
            (Lie::HideProducer(p), "get_block_info" | "get_block")
                if v["producer"].as_str() == Some(&p.to_string()) =>
            {
                v["producer"] = Value::String("eosio".into());
            }
            (Lie::SkipSlots(p), "get_block_info" | "get_block")
                if v["producer"].as_str() == Some(&p.to_string()) =>
            {
                let later = v["timestamp"]
                    .as_str()
                    .and_then(|t| t.parse::<antelope::BlockTimestamp>().ok())
                    .map(|t| {
                        antelope::BlockTimestamp(t.0.saturating_add(crate::chain::REPETITIONS))
                    });
                if let Some(t) = later {
                    v["timestamp"] = Value::String(t.to_string());
                }
            }
            (Lie::Unlinked, "get_block_info" | "get_block") => {
                let other = v["previous"]
                    .as_str()
                    .and_then(|t| t.parse::<antelope::Checksum256>().ok())
                    .map(|mut id| {
                        id.0[31] ^= 0xff;
                        id
                    });
                if let Some(id) = other {
                    v["previous"] = Value::String(id.to_string());
                }
            }
            (Lie::FlapSchedule, "get_producer_schedule") => {
                let slot = self.main.slot();
                if let Some(active) = v.get_mut("active") {
                    let version = active["version"].as_u64().unwrap_or(0);
                    active["version"] = Value::from(version.saturating_add(u64::from(slot)));
                    if slot % 2 == 1 {
                        if let Some(ps) = active.get_mut("producers").and_then(Value::as_array_mut)
                        {
                            ps.rotate_left(1);
                        }
                    }
                }
            }
            (Lie::WrongAbi, "get_abi") => {
                if let Some(structs) = v.pointer_mut("/abi/structs").and_then(Value::as_array_mut) {
                    for st in structs.iter_mut().filter(|st| st["name"] == "regproducer") {
                        if let Some(fields) = st.get_mut("fields").and_then(Value::as_array_mut) {
                            fields.reverse();
                        }
                    }
                }
            }
            _ => {}
        }
        Ok((status, v))
    }
}
