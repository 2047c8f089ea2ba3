//! A switch's own life: deciding it, the outcome of its push, and waiting for it to take
//! effect (confirmed, superseded or expired).

use super::*;

impl Tx<'_> {
    pub(super) fn pending(
        &mut self,
        to: usize,
        ours: bool,
        overdue: bool,
        waited_secs: u64,
        obs: &Observed,
        manual: Option<&ManualSwitch>,
    ) {
        let now = self.now;
        let to_key = self.setup.dcs[to].signing_key;
        let known = self
            .m
            .state
            .pending
            .as_ref()
            .is_some_and(|p| p.to_key == to_key);
        if !known {
            // Someone else (another observer, an operator) changed the key. An operator's
            // `failover` left its record for us: book it as manual.
            if let Some(m) = manual {
                if m.to_key == to_key && now - m.at_ms < MANUAL_FRESH_MS {
                    self.m.state.record_manual(m, None);
                }
                self.out.push(Intent::ConsumeManual);
            }
            self.m.state.pending = Some(PendingSwitch {
                to: self.dc(to),
                to_key,
                since_ms: now,
                tx_id: None,
                expires_ms: None,
                ours: false,
            });
            self.emit(Event::FailoverSuppressed {
                reason: SuppressReason::AlreadySwitched,
                detail: format!("the producers table already holds {}'s key: another observer or an operator switched; waiting for the schedule", self.dc(to)),
                missed: 0,
            });
        }
        if self.m.said.registered != Some(to_key) {
            self.m.said.registered = Some(to_key);
            let since = self.m.state.pending.as_ref().map_or(now, |p| p.since_ms);
            // Recorded once, even across restarts (the record is persisted).
            let recorded = self.m.state.switches.last().is_some_and(|r| {
                r.to_key == to_key
                    && (r.at_ms == since
                        || !r.automatic && (0..MANUAL_FRESH_MS).contains(&(since - r.at_ms)))
            });
            if !recorded {
                let record = SwitchRecord {
                    at_ms: since,
                    from: obs
                        .active_key
                        .and_then(|k| self.dc_name(&k))
                        .unwrap_or_default(),
                    to: self.dc(to),
                    to_key,
                    automatic: true,
                    reason: if ours {
                        "ours".into()
                    } else {
                        "observed on chain".into()
                    },
                    tx_id: self.m.state.pending.as_ref().and_then(|p| p.tx_id),
                };
                self.m.state.record_switch(record);
            }
            if ours || known {
                self.emit(Event::KeyRegistered {
                    key: to_key,
                    datacenter: self.dc(to),
                    seconds_since_trigger: (now - since) as f64 / 1000.0,
                });
            }
        }
        if overdue && self.m.said.overdue != Some(to_key) {
            self.m.said.overdue = Some(to_key);
            self.emit(Event::PendingOverdue {
                to: self.dc(to),
                waited_secs,
            });
        }
    }

    pub(super) fn switch(
        &mut self,
        from: usize,
        to: usize,
        trigger: &Trigger,
        forecast: Option<(Activation, u32, u32)>,
    ) {
        let (reason, missed) = match trigger {
            Trigger::MissedBlocks { missed, solo, .. } => (
                format!(
                    "{} consecutive slots missed{}",
                    missed,
                    if *solo {
                        " while the rest of the network produced"
                    } else {
                        ""
                    }
                ),
                *missed,
            ),
            Trigger::Failback { ready_secs } => (
                format!("failback: the primary has been ready for {ready_secs} s"),
                0,
            ),
        };
        let before_proposal = matches!(
            trigger,
            Trigger::MissedBlocks {
                before_proposal: Some(_),
                ..
            }
        );
        let forecast = forecast.map(|(a, lost, now_slot)| {
            let at = |slot: u32| BlockTimestamp(slot).to_string();
            let in_secs = f64::from(a.active_slot.saturating_sub(now_slot))
                * BLOCK_INTERVAL_MS as f64
                / 1000.0;
            Forecast {
                proposal_at: at(a.proposal_slot),
                active_at: at(a.active_slot),
                active_in_secs: in_secs,
                expected_lost_blocks: lost,
                before_proposal,
            }
        });
        self.m.said.forecast = forecast
            .as_ref()
            .map(|f| (self.setup.dcs[to].signing_key, f.active_in_secs));
        self.emit(Event::FailoverTriggered {
            from: self.dc(from),
            to: self.dc(to),
            reason: if before_proposal {
                format!("{reason}; decided before the confirming turns were complete to make the next schedule proposal")
            } else {
                reason
            },
            missed,
            dry_run: self.setup.dry_run,
            forecast,
        });
        self.out.push(Intent::Push {
            to,
            dry_run: self.setup.dry_run,
        });
    }

    pub(super) fn pushed(&mut self, to: usize, outcome: &PushOutcome) {
        let to_key = self.setup.dcs[to].signing_key;
        let dry_run = self.setup.dry_run;
        match outcome {
            PushOutcome::Pushed {
                tx_id,
                endpoint,
                latency_ms,
                attempt,
            } => self.emit(Event::TransactionPushed {
                id: *tx_id,
                endpoint: endpoint.clone(),
                latency_ms: *latency_ms,
                attempt: *attempt,
            }),
            PushOutcome::Waiting => {}
            PushOutcome::AlreadySwitched => {
                if !dry_run {
                    self.out.push(Intent::TableHolds(to_key));
                }
            }
            PushOutcome::DryRun {
                tx_id,
                body,
                validation,
            } => self.emit(Event::DryRunTransaction {
                id: *tx_id,
                to: self.dc(to),
                body: body.clone(),
                validation: validation.clone(),
            }),
            PushOutcome::Failed(why) => {
                // Nothing of ours is in flight any more: a pending entry without an
                // accepted transaction would block the next decision until it expires.
                if !dry_run
                    && self
                        .m
                        .state
                        .pending
                        .as_ref()
                        .is_some_and(|p| p.ours && p.to_key == to_key)
                {
                    self.m.state.pending = None;
                }
                self.emit(Event::TransactionFailed {
                    id: None,
                    reason: why.clone(),
                    retrying: false,
                });
                // Do not hammer the chain with a switch it refuses: wait a cooldown.
                self.hold_for_cooldown();
            }
        }
        // A rehearsal is not repeated during the cooldown either.
        if dry_run {
            self.hold_for_cooldown();
        }
    }
}
