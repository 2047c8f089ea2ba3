//! The quorum rule (see the parent module): screening, the common height, agreement, and
//! the quorum head and LIB.

use super::*;

/// Step 1: screen each observation. `Ok(())` = healthy.
fn screen(obs: &[Observation], policy: &QuorumPolicy) -> Vec<Result<(), ExclusionReason>> {
    fn consistent(o: &Observation) -> Option<&GetInfo> {
        o.info.as_ref().ok().filter(|i| i.check().is_ok())
    }
    let reference = policy.chain_id.or_else(|| {
        let mut counts: HashMap<ChainId, usize> = HashMap::new();
        for i in obs.iter().filter_map(consistent) {
            *counts.entry(i.chain_id).or_default() += 1;
        }
        counts
            .into_iter()
            .find(|(_, n)| *n >= policy.required())
            .map(|(c, _)| c)
    });
    obs.iter()
        .map(|o| {
            let info = o
                .info
                .as_ref()
                .map_err(|e| ExclusionReason::RequestFailed { error: e.clone() })?;
            info.check()
                .map_err(|detail| ExclusionReason::Inconsistent { detail })?;
            match reference {
                Some(expected) if expected != info.chain_id => {
                    return Err(ExclusionReason::WrongChain {
                        expected,
                        got: info.chain_id,
                    })
                }
                None => return Err(ExclusionReason::ChainUnconfirmed { got: info.chain_id }),
                Some(_) => {}
            }
            let age = o.received_at_ms - info.head_block_time.unix_ms();
            if age > policy.max_head_age_ms {
                return Err(ExclusionReason::Stale {
                    age_ms: age,
                    max_ms: policy.max_head_age_ms,
                });
            }
            if -age > policy.max_clock_ahead_ms {
                return Err(ExclusionReason::AheadOfClock {
                    ahead_ms: -age,
                    max_ms: policy.max_clock_ahead_ms,
                });
            }
            Ok(())
        })
        .collect()
}

/// The heights a quorum may be formed at, best first: every distinct head of a healthy
/// endpoint that at least `Q` healthy endpoints have reached, highest first. The first is
/// the `Q`-th highest head: no endpoint alone can drag it down (a low or ancient head
/// counts for nothing unless a majority is there too) nor push it up (a head nobody else
/// has reached is never a candidate). Empty when fewer than `Q` endpoints are healthy.
pub fn candidate_heights(obs: &[Observation], policy: &QuorumPolicy) -> Vec<u32> {
    let screened = screen(obs, policy);
    let mut heads: Vec<u32> = obs
        .iter()
        .zip(&screened)
        .filter(|(_, s)| s.is_ok())
        .filter_map(|(o, _)| o.info.as_ref().ok().map(|i| i.head_block_num))
        .collect();
    let required = policy.required();
    if heads.len() < required {
        return Vec::new();
    }
    heads.sort_unstable_by(|a, b| b.cmp(a));
    let mut out: Vec<u32> = heads[required - 1..].to_vec();
    out.dedup();
    out
}

/// What the pool must fetch before [`assess_at`] can compare ids at height `h`: the
/// healthy endpoints whose head is above `h` (and whose LIB is not `h`).
pub fn probes_needed(obs: &[Observation], policy: &QuorumPolicy, h: u32) -> Vec<usize> {
    let screened = screen(obs, policy);
    obs.iter()
        .zip(&screened)
        .enumerate()
        .filter(|(_, (_, s))| s.is_ok())
        .filter_map(|(k, (o, _))| o.info.as_ref().ok().map(|i| (k, i)))
        .filter(|(_, i)| i.head_block_num > h && i.last_irreversible_block_num != h)
        .map(|(k, _)| k)
        .collect()
}

/// k-th largest (1-based) of `values`.
fn kth_largest(mut values: Vec<u32>, k: usize) -> Option<u32> {
    values.sort_unstable_by(|a, b| b.cmp(a));
    values.get(k.checked_sub(1)?).copied()
}

/// Steps 1–4: the quorum view of one round, at the highest candidate height.
pub fn assess(obs: &[Observation], policy: &QuorumPolicy) -> QuorumView {
    assess_at(obs, policy, None)
}

/// Steps 1–4 at height `h` (one of [`candidate_heights`]; `None` = the first).
pub fn assess_at(obs: &[Observation], policy: &QuorumPolicy, height: Option<u32>) -> QuorumView {
    let required = policy.required();
    let screened = screen(obs, policy);

    let mut endpoints: Vec<EndpointAssessment> = obs
        .iter()
        .zip(&screened)
        .map(|(o, s)| {
            let info = o.info.as_ref().ok();
            EndpointAssessment {
                index: o.index,
                label: o.label.clone(),
                verdict: match s {
                    Ok(()) => Verdict::Healthy,
                    Err(r) => Verdict::Excluded(r.clone()),
                },
                head: info.map(|i| BlockRef {
                    num: i.head_block_num,
                    id: i.head_block_id,
                    time: Some(i.head_block_time),
                }),
                lib: info.map(|i| BlockRef {
                    num: i.last_irreversible_block_num,
                    id: i.last_irreversible_block_id,
                    time: i.last_irreversible_block_time,
                }),
                head_age_ms: info.map(|i| o.received_at_ms - i.head_block_time.unix_ms()),
                latency_ms: o.latency_ms,
                consecutive_errors: o.consecutive_errors,
                chain_id: info.map(|i| i.chain_id),
                server_version: info.map(|i| i.version().to_string()),
            }
        })
        .collect();

    let healthy: Vec<usize> = (0..obs.len()).filter(|&k| screened[k].is_ok()).collect();
    let Some(h) = height.or_else(|| candidate_heights(obs, policy).first().copied()) else {
        return QuorumView {
            configured: policy.configured,
            required,
            endpoints,
            state: QuorumState::Blind {
                healthy: healthy.len(),
                required,
            },
        };
    };

    // Step 2: each healthy endpoint's block at h.
    let mut at_h: BTreeMap<usize, BlockRef> = BTreeMap::new();
    for &k in &healthy {
        let (head, lib) = (endpoints[k].head, endpoints[k].lib);
        if head.is_some_and(|b| b.num < h) {
            // Behind the height a majority reached: it cannot vouch for it, but is not
            // wrong either (it stays `Healthy`, outside the agreeing set).
            continue;
        }
        let found = match (head, lib) {
            (Some(b), _) if b.num == h => Ok(b),
            (_, Some(b)) if b.num == h => Ok(b),
            _ => match &obs[k].probe {
                Some(Ok(b)) if b.num == h => Ok(*b),
                Some(Ok(b)) => Err(format!("asked for block {h}, got {}", b.num)),
                Some(Err(e)) => Err(e.clone()),
                None => Err("not fetched".to_string()),
            },
        };
        match found {
            Ok(b) => {
                at_h.insert(k, b);
            }
            Err(error) => {
                endpoints[k].verdict =
                    Verdict::Excluded(ExclusionReason::NoBlockAtHeight { height: h, error })
            }
        }
    }

    // Step 3: group by id.
    let mut groups: BTreeMap<BlockId, Vec<usize>> = BTreeMap::new();
    for (&k, b) in &at_h {
        groups.entry(b.id).or_default().push(k);
    }
    let mut groups: Vec<ForkGroup> = groups
        .into_iter()
        .map(|(id, members)| ForkGroup { id, members })
        .collect();
    groups.sort_by(|a, b| b.members.len().cmp(&a.members.len()).then(a.id.cmp(&b.id)));

    let best = groups
        .first()
        .filter(|g| g.members.len() >= required)
        .cloned();
    let Some(best) = best else {
        let voters = at_h.len();
        let state = if voters >= required {
            QuorumState::Disagree {
                height: h,
                groups: groups
                    .into_iter()
                    .map(|g| ForkGroup {
                        id: g.id,
                        members: g.members.iter().map(|&k| obs[k].index).collect(),
                    })
                    .collect(),
                required,
            }
        } else {
            QuorumState::Blind {
                healthy: voters,
                required,
            }
        };
        return QuorumView {
            configured: policy.configured,
            required,
            endpoints,
            state,
        };
    };

    for (&k, b) in &at_h {
        endpoints[k].verdict = if b.id == best.id {
            Verdict::Agrees
        } else {
            Verdict::Excluded(ExclusionReason::Forked {
                height: h,
                id: b.id,
                quorum_id: best.id,
            })
        };
    }

    // Step 4: head, best head, LIB.
    let members = &best.members;
    // The block's time as a majority of the members claim it at least: one member alone
    // cannot make the agreed head look fresher than it is.
    let head_time = {
        let mut times: Vec<BlockTimestamp> = members.iter().filter_map(|k| at_h[k].time).collect();
        times.sort_unstable_by(|a, b| b.cmp(a));
        times
            .get(required.min(times.len()).saturating_sub(1))
            .copied()
    };
    let head = BlockRef {
        num: h,
        id: best.id,
        time: head_time,
    };
    // An endpoint below `h` claims a head time: blocks are at least a slot apart, so its
    // head cannot be younger than the agreed head's time less one slot per block between.
    if let Some(t_h) = head_time {
        for &k in &healthy {
            let Some(b) = endpoints[k].head.filter(|b| b.num < h) else {
                continue;
            };
            let Some(t) = b.time else { continue };
            let latest = i64::from(t_h.slot()) - i64::from(h - b.num);
            if i64::from(t.slot()) > latest {
                endpoints[k].verdict = Verdict::Excluded(ExclusionReason::OffChain {
                    num: b.num,
                    time: t,
                    height: h,
                    quorum_time: t_h,
                });
            }
        }
    }
    let heads: Vec<u32> = members
        .iter()
        .filter_map(|&k| endpoints[k].head.map(|b| b.num))
        .collect();
    let best_head_num = kth_largest(heads, required).unwrap_or(h).max(h);
    let libs: Vec<u32> = members
        .iter()
        .filter_map(|&k| endpoints[k].lib.map(|b| b.num))
        .collect();
    let lib_num = kth_largest(libs, required).unwrap_or(0).min(h);
    let lib = if lib_num == h {
        head
    } else {
        members
            .iter()
            .filter_map(|&k| endpoints[k].lib)
            .find(|b| b.num == lib_num)
            .unwrap_or(head)
    };
    let chain_id = members
        .iter()
        .find_map(|&k| endpoints[k].chain_id)
        .or(policy.chain_id)
        .unwrap_or(antelope::Checksum256([0; 32]));

    QuorumView {
        configured: policy.configured,
        required,
        state: QuorumState::Agreed(Quorum {
            chain_id,
            head,
            best_head_num,
            lib,
            members: members.iter().map(|&k| obs[k].index).collect(),
        }),
        endpoints,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use antelope::Name;
    use proptest::prelude::*;

    /// The pool's first try: the first candidate height ([`candidate_heights`]) and the
    /// endpoints to probe there; `None` when there is nothing to compare.
    fn probe_plan(obs: &[Observation], policy: &QuorumPolicy) -> Option<(u32, Vec<usize>)> {
        let h = *candidate_heights(obs, policy).first()?;
        let need = probes_needed(obs, policy, h);
        (!need.is_empty()).then_some((h, need))
    }

    const CHAIN: ChainId = antelope::Checksum256([0x73; 32]);
    const OTHER_CHAIN: ChainId = antelope::Checksum256([0x10; 32]);
    /// Unix ms of block 1000's timestamp in these tests.
    const T1000: i64 = 1_700_000_000_000;

    fn id(num: u32, fork: u8) -> BlockId {
        let mut b = [fork; 32];
        b[..4].copy_from_slice(&num.to_be_bytes());
        antelope::Checksum256(b)
    }

    fn time_of(num: u32) -> BlockTimestamp {
        BlockTimestamp::from_unix_ms(T1000 + (i64::from(num) - 1000) * 500).unwrap()
    }

    fn info(chain: ChainId, head: u32, fork: u8, lib: u32) -> GetInfo {
        GetInfo {
            server_version: "x".into(),
            chain_id: chain,
            head_block_num: head,
            head_block_id: id(head, fork),
            head_block_time: time_of(head),
            head_block_producer: Name::literal("eosio"),
            last_irreversible_block_num: lib,
            last_irreversible_block_id: id(lib, 0),
            last_irreversible_block_time: Some(time_of(lib)),
            server_version_string: Some("v5.0.0".into()),
            server_full_version_string: None,
            fork_db_head_block_num: None,
            earliest_available_block_num: None,
        }
    }

    /// A round of observations built fluently.
    struct Round {
        obs: Vec<Observation>,
        policy: QuorumPolicy,
        /// Our clock when answers arrive.
        now: i64,
    }

    impl Round {
        fn new() -> Self {
            Round {
                obs: vec![],
                policy: QuorumPolicy {
                    configured: 0,
                    chain_id: Some(CHAIN),
                    max_head_age_ms: 30_000,
                    max_clock_ahead_ms: 2_000,
                },
                now: time_of(1010).unix_ms() + 300,
            }
        }
        fn unconfigured_chain(mut self) -> Self {
            self.policy.chain_id = None;
            self
        }
        fn push(mut self, info: Result<GetInfo, String>) -> Self {
            let k = self.obs.len();
            self.obs.push(Observation {
                index: k,
                label: format!("http://127.0.0.1:{}", 9000 + k),
                info,
                received_at_ms: self.now,
                latency_ms: 10 + k as u64,
                consecutive_errors: 0,
                probe: None,
            });
            self.policy.configured = self.obs.len();
            self
        }
        /// A healthy-looking endpoint at `head` on `fork` (0 = main chain).
        fn node(self, head: u32, fork: u8) -> Self {
            self.push(Ok(info(CHAIN, head, fork, head - 5)))
        }
        fn node_lib(self, head: u32, lib: u32) -> Self {
            self.push(Ok(info(CHAIN, head, 0, lib)))
        }
        fn chain(self, chain: ChainId, head: u32) -> Self {
            self.push(Ok(info(chain, head, 0, head - 5)))
        }
        fn down(self) -> Self {
            self.push(Err("connection refused".into()))
        }
        fn stale(self, head: u32) -> Self {
            self.push(Ok(info(CHAIN, head - 100, 0, head - 105)))
        }
        fn received_at(mut self, k: usize, ms: i64) -> Self {
            self.obs[k].received_at_ms = ms;
            self
        }
        /// Answers probes the way a real node would: block `h` on each endpoint's fork.
        fn probe_all(mut self, fork_at_h: &[(usize, u8)]) -> Self {
            if let Some((h, need)) = probe_plan(&self.obs, &self.policy) {
                for k in need {
                    let fork = fork_at_h
                        .iter()
                        .find(|(i, _)| *i == k)
                        .map(|(_, f)| *f)
                        .unwrap_or(0);
                    self.obs[k].probe = Some(Ok(BlockRef {
                        num: h,
                        id: id(h, fork),
                        time: Some(time_of(h)),
                    }));
                }
            }
            self
        }
        fn probe_fail(mut self, k: usize) -> Self {
            self.obs[k].probe = Some(Err("timed out".into()));
            self
        }
        fn view(&self) -> QuorumView {
            assess(&self.obs, &self.policy)
        }
    }

    fn agreed(v: &QuorumView) -> &Quorum {
        match &v.state {
            QuorumState::Agreed(q) => q,
            other => panic!("expected agreement, got {other}"),
        }
    }

    fn reason(v: &QuorumView, k: usize) -> &ExclusionReason {
        match &v.endpoints[k].verdict {
            Verdict::Excluded(r) => r,
            other => panic!("endpoint {k} not excluded: {other:?}"),
        }
    }

    #[test]
    fn majority_rule_is_strict_majority_of_configured() {
        let req = |n| {
            QuorumPolicy {
                configured: n,
                chain_id: None,
                max_head_age_ms: 1,
                max_clock_ahead_ms: 1,
            }
            .required()
        };
        assert_eq!(
            [req(1), req(2), req(3), req(4), req(5), req(7)],
            [1, 2, 2, 3, 3, 4]
        );
    }

    #[test]
    fn one_endpoint_healthy_is_believed() {
        let v = Round::new().node(1010, 0).view();
        let q = agreed(&v);
        assert_eq!(
            (q.head.num, q.head.id, q.lib.num),
            (1010, id(1010, 0), 1005)
        );
        assert_eq!(q.members, vec![0]);
        assert_eq!(v.endpoints[0].verdict, Verdict::Agrees);
    }

    #[test]
    fn one_endpoint_down_is_blind() {
        let v = Round::new().down().view();
        assert_eq!(
            v.state,
            QuorumState::Blind {
                healthy: 0,
                required: 1
            }
        );
        assert!(v.is_blind());
        assert!(matches!(
            reason(&v, 0),
            ExclusionReason::RequestFailed { .. }
        ));
    }

    #[test]
    fn two_endpoints_need_both() {
        let v = Round::new().node(1010, 0).node(1010, 0).view();
        assert_eq!(agreed(&v).members, vec![0, 1]);

        let v = Round::new().node(1010, 0).down().view();
        assert_eq!(
            v.state,
            QuorumState::Blind {
                healthy: 1,
                required: 2
            }
        );

        let v = Round::new().node(1010, 0).stale(1010).view();
        assert_eq!(
            v.state,
            QuorumState::Blind {
                healthy: 1,
                required: 2
            }
        );

        let v = Round::new().node(1010, 0).node(1010, 7).view();
        assert!(
            matches!(v.state, QuorumState::Disagree { height: 1010, ref groups, required: 2 } if groups.len() == 2)
        );
        assert_eq!(v.endpoints[0].verdict, Verdict::Healthy);
    }

    #[test]
    fn three_endpoints_same_head() {
        let v = Round::new()
            .node(1010, 0)
            .node(1010, 0)
            .node(1010, 0)
            .view();
        let q = agreed(&v);
        assert_eq!(q.members, vec![0, 1, 2]);
        assert_eq!(q.head.time, Some(time_of(1010)));
        assert_eq!(q.chain_id, CHAIN);
    }

    #[test]
    fn three_endpoints_different_heights_compare_at_the_highest_a_majority_reached() {
        let r = Round::new().node(1008, 0).node(1009, 0).node(1010, 0);
        assert_eq!(candidate_heights(&r.obs, &r.policy), vec![1009, 1008]);
        assert_eq!(probe_plan(&r.obs, &r.policy), Some((1009, vec![2])));
        // Without the probe, the higher endpoint cannot vote.
        let v = r.view();
        assert_eq!(
            v.state,
            QuorumState::Blind {
                healthy: 1,
                required: 2
            }
        );
        assert!(matches!(
            reason(&v, 2),
            ExclusionReason::NoBlockAtHeight { height: 1009, .. }
        ));

        let v = Round::new()
            .node(1008, 0)
            .node(1009, 0)
            .node(1010, 0)
            .probe_all(&[])
            .view();
        let q = agreed(&v);
        assert_eq!((q.head.num, q.head.id), (1009, id(1009, 0)));
        assert_eq!(q.best_head_num, 1009);
        assert_eq!(q.members, vec![1, 2]);
        // Behind the majority's height: not wrong, just not voting.
        assert_eq!(v.endpoints[0].verdict, Verdict::Healthy);
    }

    #[test]
    fn a_low_or_ancient_head_cannot_drag_the_quorum_down() {
        // A liar reporting head 1000 (or a head far back with a fresh timestamp).
        let mut r = Round::new().node(1010, 0).node(1010, 0);
        let mut low = info(CHAIN, 1000, 0, 995);
        low.head_block_time = time_of(1010);
        r = r.push(Ok(low));
        let v = r.view();
        let q = agreed(&v);
        assert_eq!((q.head.num, q.members.clone()), (1010, vec![0, 1]));
        assert_eq!(q.head.time, Some(time_of(1010)));
        // Block 1000 cannot be dated like block 1010: the liar is named.
        assert!(reason(&v, 2).to_string().contains("cannot fit"));
        // Among five, two liars low cannot either.
        let v = Round::new()
            .node(1010, 0)
            .stale(1010)
            .node(1010, 0)
            .push(Ok(info(CHAIN, 1001, 0, 990)))
            .node(1010, 0)
            .view();
        assert_eq!(agreed(&v).head.num, 1010);
    }

    #[test]
    fn a_high_head_cannot_push_the_quorum_up_and_a_lie_there_falls_back() {
        let r = Round::new().node(1009, 0).node(1010, 0).push(Ok({
            // A head far above everyone's, with a fresh timestamp.
            let mut i = info(CHAIN, 1010, 0, 1005);
            i.head_block_num = 4_000_000_000;
            i.head_block_id = id(4_000_000_000, 0);
            i
        }));
        assert_eq!(candidate_heights(&r.obs, &r.policy), vec![1010, 1009]);
        // The high endpoint, probed at 1010, lies: no majority at 1010 …
        let mut r = r;
        r.obs[2].probe = Some(Ok(BlockRef {
            num: 1010,
            id: id(1010, 7),
            time: None,
        }));
        assert!(matches!(
            assess_at(&r.obs, &r.policy, Some(1010)).state,
            QuorumState::Disagree { height: 1010, .. }
        ));
        // … the next candidate height, probed on both higher endpoints, agrees.
        r.obs[1].probe = Some(Ok(BlockRef {
            num: 1009,
            id: id(1009, 0),
            time: None,
        }));
        r.obs[2].probe = Some(Ok(BlockRef {
            num: 1009,
            id: id(1009, 7),
            time: None,
        }));
        let v = assess_at(&r.obs, &r.policy, Some(1009));
        let q = agreed(&v);
        assert_eq!((q.head.num, q.members.clone()), (1009, vec![0, 1]));
        assert!(matches!(reason(&v, 2), ExclusionReason::Forked { .. }));
    }

    #[test]
    fn one_member_cannot_make_the_agreed_head_look_fresher() {
        let mut r = Round::new().node(1010, 0).node(1010, 0).node(1010, 0);
        for k in 0..3 {
            if let Ok(i) = r.obs[k].info.as_mut() {
                i.head_block_time = time_of(1010 - k as u32);
            }
        }
        // Times claimed for the same id: 1010, 1009, 1008 → a majority vouch for ≥ 1009.
        assert_eq!(agreed(&r.view()).head.time, Some(time_of(1009)));
    }

    #[test]
    fn three_endpoints_one_forked() {
        let v = Round::new()
            .node(1010, 0)
            .node(1010, 0)
            .node(1010, 9)
            .view();
        let q = agreed(&v);
        assert_eq!(q.members, vec![0, 1]);
        assert!(matches!(
            reason(&v, 2),
            ExclusionReason::Forked { height: 1010, .. }
        ));
        assert!(reason(&v, 2).to_string().contains("another fork"));
    }

    #[test]
    fn minority_fork_below_the_majority_height_is_left_out() {
        // Endpoint 0 is behind *and* on a fork; the others agree at their own height.
        let v = Round::new()
            .node(1008, 4)
            .node(1010, 0)
            .node(1010, 0)
            .probe_all(&[])
            .view();
        let q = agreed(&v);
        assert_eq!((q.head.num, q.head.id), (1010, id(1010, 0)));
        assert_eq!(q.members, vec![1, 2]);
        assert_eq!(q.best_head_num, 1010);
        assert_eq!(v.endpoints[0].verdict, Verdict::Healthy);
    }

    #[test]
    fn three_endpoints_all_different_disagree() {
        let v = Round::new()
            .node(1010, 1)
            .node(1010, 2)
            .node(1010, 3)
            .view();
        match &v.state {
            QuorumState::Disagree {
                height,
                groups,
                required,
            } => {
                assert_eq!((*height, groups.len(), *required), (1010, 3, 2));
            }
            other => panic!("{other}"),
        }
        assert!(v
            .to_owned()
            .state
            .to_string()
            .starts_with("endpoints disagree at block 1010"));
    }

    #[test]
    fn three_endpoints_two_down_is_blind() {
        let v = Round::new().node(1010, 0).down().down().view();
        assert_eq!(
            v.state,
            QuorumState::Blind {
                healthy: 1,
                required: 2
            }
        );
        assert!(v.state.to_string().contains("observer blind"));
    }

    #[test]
    fn three_endpoints_one_stale_one_ahead() {
        let r = Round::new().node(1010, 0).node(1010, 0).stale(1010);
        let v = r.view();
        assert_eq!(agreed(&v).members, vec![0, 1]);
        assert!(
            matches!(reason(&v, 2), ExclusionReason::Stale { age_ms, max_ms: 30_000 } if *age_ms == 50_300)
        );

        // Our clock is 5 s behind endpoint 1's head.
        let now = time_of(1010).unix_ms() - 5_000;
        let v = Round::new()
            .node(1010, 0)
            .node(1010, 0)
            .node(1010, 0)
            .received_at(1, now)
            .view();
        assert!(matches!(
            reason(&v, 1),
            ExclusionReason::AheadOfClock {
                ahead_ms: 5_000,
                ..
            }
        ));
        assert_eq!(agreed(&v).members, vec![0, 2]);
        // Up to the limit is fine (blocks are produced just before their timestamp).
        let v = Round::new()
            .node(1010, 0)
            .received_at(0, time_of(1010).unix_ms() - 2_000)
            .view();
        assert_eq!(agreed(&v).members, vec![0]);
    }

    #[test]
    fn wrong_chain_against_configuration() {
        let v = Round::new()
            .node(1010, 0)
            .chain(OTHER_CHAIN, 1010)
            .node(1010, 0)
            .view();
        assert_eq!(agreed(&v).members, vec![0, 2]);
        assert!(matches!(
            reason(&v, 1),
            ExclusionReason::WrongChain {
                expected: CHAIN,
                got: OTHER_CHAIN
            }
        ));
        // Majority on the wrong chain still loses to the configured id.
        let v = Round::new()
            .chain(OTHER_CHAIN, 1010)
            .chain(OTHER_CHAIN, 1010)
            .node(1010, 0)
            .view();
        assert_eq!(
            v.state,
            QuorumState::Blind {
                healthy: 1,
                required: 2
            }
        );
    }

    #[test]
    fn wrong_chain_against_majority_when_unconfigured() {
        let v = Round::new()
            .unconfigured_chain()
            .chain(OTHER_CHAIN, 1010)
            .node(1010, 0)
            .node(1010, 0)
            .view();
        assert_eq!(agreed(&v).chain_id, CHAIN);
        assert!(matches!(
            reason(&v, 0),
            ExclusionReason::WrongChain {
                expected: CHAIN,
                ..
            }
        ));

        // No chain id reaches a majority: none can be trusted.
        let v = Round::new()
            .unconfigured_chain()
            .chain(OTHER_CHAIN, 1010)
            .node(1010, 0)
            .chain(antelope::Checksum256([1; 32]), 1010)
            .view();
        assert_eq!(
            v.state,
            QuorumState::Blind {
                healthy: 0,
                required: 2
            }
        );
        assert!(matches!(
            reason(&v, 1),
            ExclusionReason::ChainUnconfirmed { .. }
        ));
    }

    #[test]
    fn inconsistent_get_info_is_excluded() {
        let mut bad = info(CHAIN, 1010, 0, 1005);
        bad.head_block_num = 1011; // id says 1010
        let v = Round::new()
            .push(Ok(bad))
            .node(1010, 0)
            .node(1010, 0)
            .view();
        assert!(matches!(
            reason(&v, 0),
            ExclusionReason::Inconsistent { .. }
        ));
        let mut bad = info(CHAIN, 1010, 0, 1005);
        bad.last_irreversible_block_num = 1020;
        bad.last_irreversible_block_id = id(1020, 0);
        let v = Round::new().push(Ok(bad)).view();
        assert!(v.is_blind());
    }

    #[test]
    fn failed_probe_excludes_only_that_endpoint() {
        let v = Round::new()
            .node(1009, 0)
            .node(1010, 0)
            .node(1010, 0)
            .node(1012, 0)
            .node(1012, 0)
            .probe_all(&[])
            .probe_fail(4)
            .view();
        assert_eq!(agreed(&v).members, vec![1, 2, 3]);
        assert!(reason(&v, 4)
            .to_string()
            .contains("could not read block 1010"));
        // A probe answering the wrong height counts as no answer.
        let mut r = Round::new()
            .node(1008, 0)
            .node(1010, 0)
            .node(1011, 0)
            .probe_all(&[]);
        r.obs[2].probe = Some(Ok(BlockRef {
            num: 1009,
            id: id(1009, 0),
            time: None,
        }));
        assert_eq!(
            r.view().state,
            QuorumState::Blind {
                healthy: 1,
                required: 2
            }
        );
    }

    #[test]
    fn four_endpoints_tie_is_disagreement() {
        let v = Round::new()
            .node(1010, 0)
            .node(1010, 0)
            .node(1010, 5)
            .node(1010, 5)
            .view();
        assert!(matches!(v.state, QuorumState::Disagree { required: 3, .. }));
        let v = Round::new()
            .node(1010, 0)
            .node(1010, 0)
            .node(1010, 0)
            .node(1010, 5)
            .view();
        assert_eq!(agreed(&v).members, vec![0, 1, 2]);
    }

    #[test]
    fn five_endpoints() {
        let v = Round::new()
            .node(1010, 0)
            .node(1010, 0)
            .node(1010, 0)
            .node(1010, 5)
            .node(1010, 5)
            .view();
        assert_eq!(agreed(&v).members, vec![0, 1, 2]);
        assert!(matches!(reason(&v, 4), ExclusionReason::Forked { .. }));

        let v = Round::new()
            .node(1010, 0)
            .node(1010, 0)
            .node(1010, 5)
            .node(1010, 5)
            .down()
            .view();
        assert!(matches!(v.state, QuorumState::Disagree { required: 3, .. }));

        let v = Round::new()
            .node(1010, 0)
            .node(1010, 0)
            .down()
            .stale(1010)
            .down()
            .view();
        assert_eq!(
            v.state,
            QuorumState::Blind {
                healthy: 2,
                required: 3
            }
        );
    }

    #[test]
    fn lib_is_the_highest_reached_by_a_majority_capped_at_the_common_height() {
        let v = Round::new()
            .node_lib(1010, 990)
            .node_lib(1010, 995)
            .node_lib(1010, 999)
            .view();
        let q = agreed(&v);
        assert_eq!((q.lib.num, q.lib.id), (995, id(995, 0)));

        // A LIB no majority reached does not count.
        let v = Round::new()
            .node_lib(1010, 990)
            .node_lib(1010, 1009)
            .node_lib(1010, 1009)
            .view();
        assert_eq!(agreed(&v).lib.num, 1009);
        let v = Round::new()
            .node_lib(1010, 990)
            .node_lib(1010, 991)
            .node_lib(1010, 1009)
            .view();
        assert_eq!(agreed(&v).lib.num, 991);
    }

    #[test]
    fn probe_plan_skips_when_nothing_to_compare() {
        let r = Round::new().node(1010, 0).node(1010, 0).node(1010, 0);
        assert_eq!(probe_plan(&r.obs, &r.policy), None);
        let r = Round::new()
            .node(1010, 0)
            .down()
            .node(1012, 0)
            .stale(1010)
            .down();
        assert_eq!(
            probe_plan(&r.obs, &r.policy),
            None,
            "2 healthy of 5 cannot form a quorum"
        );
        // An endpoint whose LIB is the common height needs no probe.
        let r = Round::new().node(1008, 0).node_lib(1010, 1008);
        assert_eq!(probe_plan(&r.obs, &r.policy), None);
        assert_eq!(agreed(&r.view()).members, vec![0, 1]);
    }

    #[test]
    fn exclusion_reasons_read_well() {
        let texts = [
            ExclusionReason::Stale {
                age_ms: 45_000,
                max_ms: 30_000,
            }
            .to_string(),
            ExclusionReason::AheadOfClock {
                ahead_ms: 3_000,
                max_ms: 2_000,
            }
            .to_string(),
            ExclusionReason::WrongChain {
                expected: CHAIN,
                got: OTHER_CHAIN,
            }
            .to_string(),
        ];
        assert_eq!(texts[0], "stale: head is 45.0 s old (limit 30.0 s)");
        assert!(texts[1].contains("NTP"));
        assert!(texts[2].starts_with("wrong chain: reports chain id 1010"));
    }

    /// (chain ok, head, fork, lib distance) or down; answer age; probe (none / failed / block).
    type ArbObservation = (Option<(bool, u32, u8, u32)>, i64, Option<Option<(u32, u8)>>);

    fn arb_observation() -> impl Strategy<Value = ArbObservation> {
        (
            proptest::option::of((any::<bool>(), 1000u32..1020, 0u8..3, 0u32..25)),
            -5_000i64..60_000,
            proptest::option::of(proptest::option::of((1000u32..1020, 0u8..3))),
        )
    }

    proptest! {
        #[test]
        fn assess_is_total_and_consistent(
            raw in proptest::collection::vec(arb_observation(), 1..7),
            configured_chain in any::<bool>(),
        ) {
            let mut r = Round::new();
            if !configured_chain {
                r = r.unconfigured_chain();
            }
            for (k, (info_spec, age, probe)) in raw.iter().enumerate() {
                r = match info_spec {
                    None => r.down(),
                    Some((right_chain, head, fork, lib_back)) => {
                        let chain = if *right_chain { CHAIN } else { OTHER_CHAIN };
                        r.push(Ok(info(chain, *head, *fork, head.saturating_sub(*lib_back))))
                    }
                };
                let head_ms = r.obs[k].info.as_ref().map(|i| i.head_block_time.unix_ms()).unwrap_or(0);
                r.obs[k].received_at_ms = head_ms + age;
                r.obs[k].probe = probe.map(|p| match p {
                    Some((n, f)) => Ok(BlockRef { num: n, id: id(n, f), time: None }),
                    None => Err("x".into()),
                });
            }
            let v = r.view();
            let agrees = v.endpoints.iter().filter(|e| e.verdict == Verdict::Agrees).count();
            match &v.state {
                QuorumState::Agreed(q) => {
                    prop_assert!(q.members.len() >= v.required);
                    prop_assert_eq!(q.members.len(), agrees);
                    prop_assert!(q.lib.num <= q.head.num);
                    prop_assert!(q.best_head_num >= q.head.num);
                    prop_assert_eq!(q.head.id.block_num(), q.head.num);
                    for &m in &q.members {
                        prop_assert!(v.endpoints[m].head.unwrap().num >= q.head.num);
                    }
                }
                QuorumState::Disagree { groups, .. } => {
                    prop_assert_eq!(agrees, 0);
                    prop_assert!(groups.iter().all(|g| g.members.len() < v.required));
                    prop_assert!(groups.iter().map(|g| g.members.len()).sum::<usize>() >= v.required);
                }
                QuorumState::Blind { healthy, required } => {
                    prop_assert_eq!(agrees, 0);
                    prop_assert!(healthy < required);
                }
            }
        }
    }
}
