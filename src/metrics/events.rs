//! The event consumer: counters and the gauges events carry.

use super::families::*;
use super::Metrics;
use crate::events::Event;

impl Metrics {
    /// Counters and event-carried gauges. Call with every event the daemon emits.
    pub fn on_event(&self, event: &Event) {
        let m = self.m();
        m.events
            .get_or_create(&EventLabel {
                event: event.name().into(),
            })
            .inc();
        match event {
            Event::MissedSlots {
                producer,
                key,
                datacenter,
                count,
                consecutive,
                ..
            } => {
                m.missed_slots
                    .get_or_create(&MissedLabels {
                        producer: producer.clone(),
                        key: key
                            .map(|k| k.to_string())
                            .unwrap_or_else(|| "unknown".into()),
                        datacenter: datacenter.clone().unwrap_or_else(|| "unknown".into()),
                    })
                    .inc_by(u64::from(*count));
                m.consecutive_missed.set(i64::from(*consecutive));
            }
            Event::DatacenterReadiness {
                datacenter, ready, ..
            } => self.set_readiness(datacenter, *ready),
            Event::EndpointUnhealthy { endpoint, .. } => {
                m.endpoint_up
                    .get_or_create(&EndpointLabel {
                        endpoint: endpoint.clone(),
                    })
                    .set(0);
            }
            Event::EndpointDisagrees { endpoint, .. } => {
                m.endpoint_disagreements
                    .get_or_create(&EndpointLabel {
                        endpoint: endpoint.clone(),
                    })
                    .inc();
            }
            Event::EndpointRecovered { endpoint } => {
                m.endpoint_up
                    .get_or_create(&EndpointLabel {
                        endpoint: endpoint.clone(),
                    })
                    .set(1);
            }
            Event::QuorumChanged { state, .. } => {
                self.set_quorum_state(*state);
            }
            Event::SetupInvalid { check, .. } => self.set_setup_valid(check, false),
            Event::SetupValid { check, .. } => self.set_setup_valid(check, true),
            // A rehearsal is not a switch.
            Event::FailoverTriggered { dry_run: true, .. } => {}
            Event::FailoverTriggered { from, to, .. } => {
                m.switches
                    .get_or_create(&SwitchLabels {
                        from: from.clone(),
                        to: to.clone(),
                    })
                    .inc();
            }
            Event::KeyChangeConfirmed { datacenter, .. } => {
                m.switches_confirmed
                    .get_or_create(&DatacenterLabel {
                        datacenter: datacenter.clone(),
                    })
                    .inc();
            }
            Event::TransactionPushed { latency_ms, .. } => {
                m.pushed.inc();
                m.last_push_latency.set(*latency_ms as f64 / 1000.0);
            }
            Event::TransactionFailed { retrying, .. } => {
                m.failed
                    .get_or_create(&RetryingLabel {
                        retrying: retrying.to_string(),
                    })
                    .inc();
            }
            _ => {}
        }
    }
}
