//! Report: every change said once, as an [`Event`], and the gauges for `/metrics`.

use super::{Analysis, Daemon};
use crate::antelope::PublicKey;
use crate::decision::Readiness;
use crate::events::{Event, QuorumStatus};
use crate::observer::stats::ProducerStats;
use crate::quorum::{QuorumView, Verdict};

impl Daemon {
    pub(super) fn update_gauges(&self, view: &QuorumView, now: i64, analysis: &Analysis) {
        let m = &self.metrics;
        m.tick();
        m.set_observer_ready(!view.is_blind());
        for e in &view.endpoints {
            if let Some(url) = self.config.chain.endpoints.get(e.index) {
                let healthy = matches!(e.verdict, Verdict::Agrees | Verdict::Healthy);
                m.set_endpoint(url, healthy, Some(e.latency_ms));
            }
        }
        if let Some(q) = view.quorum() {
            m.set_lib_lag(q.head.num.saturating_sub(q.lib.num));
        }
        m.set_consecutive_missed(analysis.stats.consecutive_missed);
        m.set_participation(analysis.participation.ratio());
        m.set_pending_age(
            self.machine
                .state
                .pending
                .as_ref()
                .map(|p| (now - p.since_ms) as f64 / 1000.0),
        );
        for (dc, r) in self.dcs.iter().zip(&self.readiness) {
            if !matches!(r, Readiness::Unknown) {
                m.set_readiness(&dc.name, matches!(r, Readiness::Ready));
            }
        }
    }

    pub(super) fn report_view(&mut self, view: &QuorumView) {
        let state = QuorumStatus::of(&view.state);
        if self.said.quorum != Some(state) {
            self.said.quorum = Some(state);
            self.log.emit(Event::QuorumChanged {
                state,
                detail: view.state.to_string(),
            });
        }
        self.said.endpoints_ok.resize(view.endpoints.len(), None);
        for e in &view.endpoints {
            let ok = matches!(e.verdict, Verdict::Agrees | Verdict::Healthy);
            let before = self.said.endpoints_ok[e.index];
            if before != Some(ok) {
                self.said.endpoints_ok[e.index] = Some(ok);
                match &e.verdict {
                    Verdict::Excluded(reason) => self.log.emit(Event::EndpointUnhealthy {
                        endpoint: e.label.clone(),
                        reason: reason.to_string(),
                    }),
                    _ if before.is_some() => self.log.emit(Event::EndpointRecovered {
                        endpoint: e.label.clone(),
                    }),
                    _ => {}
                }
            }
        }
    }

    /// Reports, once until it agrees again, each endpoint whose answer about `about`
    /// differed from the majority's.
    pub(super) fn note_agreement(
        &mut self,
        about: &str,
        members: &[usize],
        outliers: &[(String, String)],
    ) {
        for &k in members {
            let label = self.pool.client(k).endpoint().to_string();
            self.said.disagreeing.remove(&(label, about.to_string()));
        }
        for (endpoint, detail) in outliers {
            self.report_outlier(endpoint, about, detail);
        }
    }

    /// `endpoint_disagrees`, once until that endpoint agrees about `about` again.
    pub(super) fn report_outlier(&mut self, endpoint: &str, about: &str, detail: &str) {
        if self
            .said
            .disagreeing
            .insert((endpoint.to_string(), about.to_string()))
        {
            self.log.emit(Event::EndpointDisagrees {
                endpoint: endpoint.to_string(),
                about: about.to_string(),
                detail: detail.to_string(),
            });
        }
    }

    /// No majority for `about`: the decision holds (`endpoints_disagree`) until one forms.
    pub(super) fn note_disagreement(&mut self, about: &str, d: crate::api::pool::Disagreement) {
        for endpoint in &d.outliers {
            self.report_outlier(endpoint, about, &d.detail);
        }
        self.disagreement
            .insert(about.to_string(), format!("{about}: {}", d.detail));
    }

    /// Our missed slots from this round's newly appended gaps, as one event.
    pub(super) fn report_gaps(&self, gaps: &[(std::ops::Range<u32>, u32)], stats: &ProducerStats) {
        let me = self.config.producer.account;
        let mut slots = Vec::new();
        let mut key = None;
        for (range, version) in gaps {
            for slot in range.clone() {
                let p = self
                    .book
                    .resolve(slot, *version)
                    .and_then(|s| s.scheduled_at(slot));
                if let Some(p) = p.filter(|p| p.name == me) {
                    slots.push(slot);
                    // Before this run first saw the schedule, only the producer order is
                    // known: the key comes from what earlier runs recorded.
                    key = if self.book.keys_known(slot, *version) {
                        p.key()
                    } else {
                        self.machine.state.key_at(slot)
                    };
                }
            }
        }
        if slots.is_empty() {
            return;
        }
        self.log.emit(Event::MissedSlots {
            producer: me.to_string(),
            key,
            datacenter: key.and_then(|k| self.dc_name(&k)),
            count: slots.len() as u32,
            consecutive: stats.consecutive_missed,
            slots,
        });
    }

    pub(super) fn dc_name(&self, key: &PublicKey) -> Option<String> {
        self.dcs
            .iter()
            .find(|d| d.signing_key == *key)
            .map(|d| d.name.clone())
    }
}
