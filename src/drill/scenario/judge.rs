//! Judging a run: the outcome on the main chain ([`Scenario::check`]) and the reason on
//! the observers' event histories ([`Scenario::check_events`]), as the module docs of
//! [`super`] describe.

use super::{Expect, Reason, Scenario};
use crate::events::{Event as LogEvent, SuppressReason};
use crate::sim::network::Network;

impl Scenario {
    /// Judges the outcome on `net`'s main chain (see the module docs).
    pub fn check(&self, net: &Network) -> Result<(), String> {
        if let Some(m) = &self.msig {
            let mut left: Vec<(String, usize)> = net.with_chain(|c| {
                c.state()
                    .msig
                    .proposals
                    .iter()
                    .map(|((proposer, _), p)| (proposer.to_string(), p.provided.len()))
                    .collect()
            });
            left.sort();
            if left != m.left {
                return Err(format!(
                    "expected the proposals (proposer, approvals) {:?} left in eosio.msig, got {left:?}",
                    m.left
                ));
            }
        }
        net.with_chain(|c| {
            let changed: Vec<_> = c.key_switches().iter().filter(|s| s.changed).collect();
            let our = c.our_producer();
            let registered = c
                .state()
                .producers
                .get(&our)
                .and_then(|r| r.signing_authority());
            match &self.expect {
                Expect::NoSwitch => {
                    if changed.is_empty() {
                        Ok(())
                    } else {
                        Err(format!(
                            "expected no key switch, got {} (last to {:?})",
                            changed.len(),
                            changed.last().and_then(|s| s.datacenter.clone())
                        ))
                    }
                }
                Expect::Switch { to, count } => {
                    if changed.len() != *count {
                        return Err(format!(
                            "expected {count} key switch(es) to {to}, got {}: {:?}",
                            changed.len(),
                            changed
                                .iter()
                                .map(|s| s.datacenter.clone())
                                .collect::<Vec<_>>()
                        ));
                    }
                    let dc = c
                        .datacenters()
                        .iter()
                        .find(|d| d.name == *to)
                        .ok_or_else(|| format!("no data center named {to}"))?;
                    if !registered.is_some_and(|a| a.signable_by(&dc.public_key())) {
                        return Err(format!("the registered key is not {to}'s"));
                    }
                    let active = c.schedules().active.authority_of(our);
                    if !active.is_some_and(|a| a.signable_by(&dc.public_key())) {
                        return Err(format!(
                            "{to}'s key is registered but not yet in the active schedule"
                        ));
                    }
                    Ok(())
                }
            }
        })
    }

    /// Judges the reason on the event histories of every observer that ran (see
    /// [`Reason`]); `histories[i]` is one observer's (or one run of it), oldest first.
    pub fn check_events(&self, histories: &[Vec<LogEvent>]) -> Result<(), String> {
        let all = || histories.iter().flatten();
        let named = |name: &str| all().filter(|e| e.name() == name).count();
        let triggered = named("failover_triggered");
        let suppressed: Vec<SuppressReason> = all()
            .filter_map(|e| match e {
                LogEvent::FailoverSuppressed { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect();
        let no_trigger = || {
            if triggered == 0 {
                Ok(())
            } else {
                Err(format!("expected no failover_triggered, got {triggered}"))
            }
        };
        let approvals = || {
            all().filter_map(|e| match e {
                LogEvent::MsigApproved { executed, .. } => Some(*executed),
                _ => None,
            })
        };
        match &self.reason {
            Reason::Unapproved => {
                if triggered == 0 {
                    return Err("expected failover_triggered".into());
                }
                if approvals().next().is_none() {
                    return Err("expected msig_approved".into());
                }
                if approvals().any(|executed| executed) {
                    return Err("expected no msig_approved that executes".into());
                }
                Ok(())
            }
            Reason::ForeignRejected => {
                if named("msig_proposal_rejected") == 0 {
                    return Err("expected msig_proposal_rejected".into());
                }
                Scenario {
                    reason: Reason::Triggered,
                    ..self.clone()
                }
                .check_events(histories)
            }
            Reason::Triggered => {
                let (to, count) = match &self.expect {
                    Expect::Switch { to, count } => (to.as_str(), *count),
                    Expect::NoSwitch => return Err("a trigger expected without a switch".into()),
                };
                let mut last_to_target = false;
                for h in histories {
                    let mut targets: Vec<&str> = h
                        .iter()
                        .filter_map(|e| match e {
                            LogEvent::FailoverTriggered { to, .. } => Some(to.as_str()),
                            _ => None,
                        })
                        .collect();
                    targets.dedup();
                    if targets.len() > count {
                        return Err(format!(
                            "an observer triggered {} switches ({targets:?}), expected {count}",
                            targets.len()
                        ));
                    }
                    last_to_target |= targets.last() == Some(&to);
                }
                if last_to_target {
                    Ok(())
                } else {
                    Err(format!("no observer reported failover_triggered to {to}"))
                }
            }
            Reason::Suppressed(reason) => {
                no_trigger()?;
                if suppressed.contains(&SuppressReason::Hold(*reason)) {
                    Ok(())
                } else {
                    Err(format!(
                        "expected failover_suppressed reason={}, got {suppressed:?}",
                        reason.as_str()
                    ))
                }
            }
            Reason::Quorum(state) => {
                no_trigger()?;
                let seen = all()
                    .any(|e| matches!(e, LogEvent::QuorumChanged { state: s, .. } if s == state));
                if seen {
                    Ok(())
                } else {
                    Err(format!("expected quorum_changed state={}", state.as_str()))
                }
            }
            Reason::Healthy => {
                for name in [
                    "failover_triggered",
                    "failover_confirming",
                    "failover_suppressed",
                ] {
                    let n = named(name);
                    if n > 0 {
                        return Err(format!("expected a quiet observer, got {n} {name}"));
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    #[test]
    fn reasons_are_judged_on_the_event_histories() {
        let p = Params {
            producers: 4,
            start_slot: 1_000_000,
            ..Params::default()
        };
        let get = |name| builtin(name, &p).unwrap();
        let trig = |to: &str| LogEvent::FailoverTriggered {
            from: "primary".into(),
            to: to.into(),
            reason: "12 consecutive slots missed".into(),
            missed: 12,
            dry_run: false,
            forecast: None,
        };
        let held = |reason: HoldReason| LogEvent::FailoverSuppressed {
            reason: SuppressReason::Hold(reason),
            detail: String::new(),
            missed: 12,
        };
        let quorum = |state: QuorumStatus| LogEvent::QuorumChanged {
            state,
            detail: String::new(),
        };

        let down = get("primary-down");
        assert!(down.check_events(&[vec![trig("backup")]]).is_ok());
        // Two observers both triggering the same switch is one switch.
        assert!(down
            .check_events(&[vec![trig("backup")], vec![trig("backup")]])
            .is_ok());
        assert!(down.check_events(&[vec![]]).is_err());
        assert!(down.check_events(&[vec![trig("backup2")]]).is_err());
        assert!(down
            .check_events(&[vec![trig("backup"), trig("backup2")]])
            .is_err());
        let both = get("primary-and-backup-down");
        assert!(both
            .check_events(&[vec![
                trig("backup"),
                held(HoldReason::Cooldown),
                trig("backup2")
            ]])
            .is_ok());

        let stalled = get("lib-stalled");
        assert!(stalled
            .check_events(&[vec![
                held(HoldReason::ClockSkew),
                held(HoldReason::LibStalled)
            ]])
            .is_ok());
        assert!(stalled
            .check_events(&[vec![held(HoldReason::ClockSkew)]])
            .is_err());
        assert!(stalled
            .check_events(&[vec![held(HoldReason::LibStalled), trig("backup")]])
            .is_err());

        let halted = get("network-halted");
        assert!(halted
            .check_events(&[vec![
                quorum(QuorumStatus::Agreed),
                quorum(QuorumStatus::ObserverBlind)
            ]])
            .is_ok());
        assert!(halted
            .check_events(&[vec![quorum(QuorumStatus::Agreed)]])
            .is_err());

        let healthy = get("healthy");
        assert!(healthy
            .check_events(&[vec![quorum(QuorumStatus::Agreed)]])
            .is_ok());
        assert!(healthy
            .check_events(&[vec![held(HoldReason::Cooldown)]])
            .is_err());
    }
}
