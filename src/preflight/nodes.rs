//! The checks on the nodes: the observer's endpoints (the quorum) and each data center's own
//! node (reachable, on our chain, synced).

use super::{CheckInputs, CheckResult};
use crate::config::Config;
use crate::quorum::{QuorumState, QuorumView, Verdict};
use crate::readiness::{node_readiness, NodeVerdict, NotReady};

pub(super) fn check_observer(view: &QuorumView) -> CheckResult {
    let failing: Vec<String> = view
        .endpoints
        .iter()
        .filter(|e| e.verdict != Verdict::Agrees)
        .map(|e| {
            let why = match &e.verdict {
                Verdict::Excluded(r) => r.to_string(),
                _ => "healthy, but no majority agrees".to_string(),
            };
            format!("#{} {}: {why}", e.index + 1, e.label)
        })
        .collect();
    match &view.state {
        QuorumState::Agreed(q) => {
            let head = format!(
                "{} of {} endpoints agree at block {} ({} needed)",
                q.members.len(),
                view.configured,
                q.head.num,
                view.required
            );
            if failing.is_empty() {
                return CheckResult::ok("observer", head);
            }
            let margin = q.members.len() - view.required;
            let risk = if margin == 0 {
                "one more failing endpoint blinds the observer".to_string()
            } else {
                format!("{margin} more may fail before the observer is blind")
            };
            CheckResult::warn(
                "observer",
                format!("{head}, but {}; {risk}", failing.join("; ")),
            )
            .fix("repair or replace the failing endpoint(s) in [chain] endpoints")
        }
        _ if view.other_chain().is_some() => {
            let (expected, got, n) = view.other_chain().expect("checked");
            CheckResult::fail(
                "observer",
                format!(
                    "wrong chain_id: [chain] chain_id is {expected}, but {n} of {} endpoints report chain id {got}",
                    view.configured
                ),
            )
            .fix(format!(
                "if the endpoints serve the chain you mean, set [chain] chain_id = \"{got}\"; otherwise point [chain] endpoints at the chain {expected}"
            ))
        }
        state => CheckResult::fail(
            "observer",
            format!(
                "observer blind ({state}): the daemon never acts without an agreeing majority; failing: {}",
                if failing.is_empty() { "none".to_string() } else { failing.join("; ") }
            ),
        )
        .fix(format!(
            "make at least {} of the {} endpoints in [chain] endpoints healthy, synced and on the configured chain: repair or replace the ones listed",
            view.required, view.configured
        )),
    }
}

pub(super) fn check_datacenters(config: &Config, inputs: &CheckInputs) -> Vec<CheckResult> {
    let quorum = inputs.view.quorum();
    let limits = (&config.chain).into();
    config
        .datacenters
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let name = format!("datacenter.{}", d.name);
            let (Some(api), Some(Some((answer, at)))) = (&d.api, inputs.datacenter_nodes.get(i))
            else {
                return CheckResult::warn(
                    name,
                    "no api configured: this data center's node is not checked, and the daemon would switch to it without knowing whether it is up",
                )
                .fix(format!("set datacenter[{i}].api to the URL of its own nodeos API, e.g. http://10.0.1.5:8888"));
            };
            let r = node_readiness(answer, *at, quorum, &limits);
            let position = || {
                format!(
                    "head {}, {} blocks behind the quorum, head {:.1} s old",
                    r.head_num.unwrap_or_default(),
                    r.lag_blocks.map_or("?".into(), |l| l.to_string()),
                    r.head_age_ms.unwrap_or(0) as f64 / 1000.0
                )
            };
            match &r.verdict {
                NodeVerdict::Ready => CheckResult::ok(
                    name,
                    format!("node {api} is reachable, on the right chain and synced ({})", position()),
                ),
                NodeVerdict::NotReady(why @ NotReady::Unreachable(_)) => {
                    CheckResult::fail(name, format!("node {api} is {why}")).fix(format!(
                        "start nodeos on that host (or fix datacenter[{i}].api); the daemon will not switch to a data center whose node is down"
                    ))
                }
                NodeVerdict::NotReady(why @ NotReady::WrongChain { .. }) => {
                    CheckResult::fail(name, format!("node {api} is {why}"))
                        .fix(format!("point datacenter[{i}].api at this chain's node"))
                }
                NodeVerdict::NotReady(NotReady::Behind { .. } | NotReady::Stale { .. }) => CheckResult::fail(
                    name,
                    format!(
                        "node {api} is not synced ({}; limits: {} blocks, {:.1} s)",
                        position(),
                        config.chain.max_lag_blocks,
                        config.chain.max_head_age.as_secs_f64()
                    ),
                )
                .fix("let the node catch up (check its peers and that it is not replaying); the daemon does not switch to a data center whose node is behind"),
                NodeVerdict::Unjudged => CheckResult::warn(
                    name,
                    format!("node {api} is reachable ({}), but there is no quorum to compare it with", position()),
                )
                .fix("see the observer check"),
            }
        })
        .collect()
}
