//! `[policy]`: when to fail over. Defaults and their reasoning live in [`Policy::default`].

use serde::Deserialize;

use super::{Findings, RawConfig};
pub use crate::decision::{Failback, Policy};

/// `[policy]` as written. Defaults come from [`Policy::default`], the one place they and
/// their reasoning live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPolicy {
    pub missed_blocks: u32,
    pub min_participation: f64,
    pub participation_turns: u32,
    pub confirm_turns: u32,
    pub lib_stall_secs: u64,
    pub max_clock_skew_secs: u64,
    pub cooldown_secs: u64,
    pub max_switches_per_day: u32,
    pub failback: String,
    pub failback_after_secs: u64,
    pub pending_grace_secs: u64,
    pub decide_before_proposal: bool,
    pub proposal_margin_ms: u64,
}

impl Default for RawPolicy {
    fn default() -> Self {
        let p = Policy::default();
        RawPolicy {
            missed_blocks: p.missed_blocks,
            min_participation: p.min_participation,
            participation_turns: p.participation_turns,
            confirm_turns: p.confirm_turns,
            lib_stall_secs: p.lib_stall_secs,
            max_clock_skew_secs: p.max_clock_skew_secs,
            cooldown_secs: p.cooldown_secs,
            max_switches_per_day: p.max_switches_per_day,
            failback: "manual".into(),
            failback_after_secs: p.failback_after_secs,
            pending_grace_secs: p.pending_grace_secs,
            decide_before_proposal: p.decide_before_proposal,
            proposal_margin_ms: p.proposal_margin_ms,
        }
    }
}

impl RawConfig {
    pub(super) fn validate_policy(&self, f: &mut Findings) -> Option<Policy> {
        let p = &self.policy;
        let n0 = f.errors.len();
        f.range("policy.missed_blocks", p.missed_blocks, 1, 1_512, "");
        if (1..crate::antelope::time::PRODUCER_REPETITIONS).contains(&p.missed_blocks) {
            f.warn(
                "policy.missed_blocks",
                format!("{} is less than one full turn (12 blocks): a brief hiccup or a late handoff could trigger a failover", p.missed_blocks),
                "use 12 or more",
            );
        }
        if !(p.min_participation > 0.0 && p.min_participation <= 1.0) {
            f.error(
                "policy.min_participation",
                format!("{} is out of range (0, 1]", p.min_participation),
                "set a fraction such as 0.8 (80% of scheduled blocks produced)",
            );
        }
        f.range("policy.lib_stall_secs", p.lib_stall_secs, 5, 3_600, "");
        f.range("policy.cooldown_secs", p.cooldown_secs, 60, 86_400, "");
        f.range(
            "policy.max_switches_per_day",
            p.max_switches_per_day,
            1,
            48,
            "",
        );
        let failback = match p.failback.as_str() {
            "manual" => Some(Failback::Manual),
            "auto" => Some(Failback::Auto),
            other => {
                f.error(
                    "policy.failback",
                    format!("{other:?} is not a failback mode"),
                    "use \"manual\" or \"auto\"",
                );
                None
            }
        };
        f.range(
            "policy.failback_after_secs",
            p.failback_after_secs,
            60,
            7 * 86_400,
            "",
        );
        if failback == Some(Failback::Auto) && p.failback_after_secs < p.cooldown_secs {
            f.error(
                "policy.failback_after_secs",
                format!(
                    "{} is shorter than policy.cooldown_secs ({})",
                    p.failback_after_secs, p.cooldown_secs
                ),
                "set failback_after_secs to at least cooldown_secs",
            );
        }
        f.range(
            "policy.participation_turns",
            p.participation_turns,
            1,
            1_000,
            "",
        );
        f.range("policy.confirm_turns", p.confirm_turns, 1, 100, "");
        f.range(
            "policy.max_clock_skew_secs",
            p.max_clock_skew_secs,
            1,
            600,
            "",
        );
        f.range(
            "policy.pending_grace_secs",
            p.pending_grace_secs,
            0,
            3_600,
            "",
        );
        f.range(
            "policy.proposal_margin_ms",
            p.proposal_margin_ms,
            500,
            30_000,
            "",
        );
        (f.errors.len() == n0).then(|| Policy {
            missed_blocks: p.missed_blocks,
            min_participation: p.min_participation,
            participation_turns: p.participation_turns,
            confirm_turns: p.confirm_turns,
            lib_stall_secs: p.lib_stall_secs,
            max_clock_skew_secs: p.max_clock_skew_secs,
            cooldown_secs: p.cooldown_secs,
            max_switches_per_day: p.max_switches_per_day,
            failback: failback.unwrap_or(Failback::Manual),
            failback_after_secs: p.failback_after_secs,
            pending_grace_secs: p.pending_grace_secs,
            decide_before_proposal: p.decide_before_proposal,
            proposal_margin_ms: p.proposal_margin_ms,
        })
    }
}
