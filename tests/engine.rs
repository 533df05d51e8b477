//! The engine with packets in memory and K scenarios per pass.
//!
//! Random scenarios and flows with replies and idle gaps across the
//! timeouts (the generator of `replay_oracle`), judged in one pass against
//! K = 1 and K = 2 scenarios with 1, 2, 3 and 4 workers:
//!
//! - every packet's verdict under each scenario (from a [`VerdictSink`],
//!   in input order) equals the reference evaluator's with its own plain
//!   connection tracker;
//! - a scenario against itself gives identical per-scenario counters, rule
//!   hits and flow records;
//! - a scenario with one rule removed changes exactly the packets (and the
//!   flows) the reference says;
//! - every output is the same for any number of workers.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zprsim_bench::random::{address_pool, random_scenario};
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::model::Scenario;
use zprsim_control::verdict::{Stage, Verdict};
use zprsim_dataplane::drop_reason::DropReason;
use zprsim_dataplane::engine::{
    self, EngineConfig, EngineOutput, Frame, Judged, MemorySource, Sinks, VerdictSink,
};

use crate::replay_oracle::{Pkt, frame, reference, traffic};

/// Collects every verdict, checking the order.
#[derive(Default)]
struct Collect {
    verdicts: Vec<Vec<Option<DropReason>>>,
    ts: Vec<u64>,
}

impl VerdictSink for Collect {
    fn judged(&mut self, r: &Judged<'_>) -> std::io::Result<()> {
        assert_eq!(r.index, self.verdicts.len() as u64, "out of order");
        self.verdicts.push(r.verdicts.to_vec());
        self.ts.push(r.ts_ns);
        Ok(())
    }
    fn name(&self) -> String {
        "collect".into()
    }
}

fn frames(pkts: &[Pkt]) -> Vec<Frame> {
    pkts.iter()
        .map(|k| {
            let data = frame(k);
            Frame {
                ts_ns: k.ts,
                linktype: 1,
                orig_len: u32::try_from(data.len()).unwrap(),
                data,
            }
        })
        .collect()
}

fn run(
    scenarios: &[Arc<Compiled>],
    pkts: &[Pkt],
    workers: usize,
    max: usize,
) -> (EngineOutput, Collect) {
    let mut src = MemorySource::new(frames(pkts));
    let mut sink = Collect::default();
    let cfg = EngineConfig {
        workers,
        keep_flows: true,
        max_connections: max,
        max_flow_records: max,
        ..EngineConfig::default()
    };
    let o = engine::run(
        scenarios,
        &mut src,
        &cfg,
        Sinks {
            verdicts: Some(&mut sink),
            ..Sinks::default()
        },
    )
    .unwrap();
    assert!(o.error.is_none() && !o.interrupted);
    (o, sink)
}

fn as_reason(v: Verdict, st: Option<Stage>) -> Option<DropReason> {
    match v {
        Verdict::Allow => None,
        Verdict::Drop => Some(st.map_or(DropReason::Malformed, DropReason::of_stage)),
    }
}

/// The scenario without one security rule (NSG or security list), chosen
/// so that the reference judges some packet differently; `None` if no
/// such rule was found.
fn without_one_rule(
    rng: &mut ChaCha8Rng,
    s: &Scenario,
    pkts: &[Pkt],
    before: &[Option<DropReason>],
) -> Option<(Scenario, Vec<Option<DropReason>>)> {
    let mut candidates: Vec<(usize, usize, usize)> = Vec::new();
    for (i, n) in s.nsgs.iter().enumerate() {
        candidates.extend((0..n.rules.len()).map(|j| (0, i, j)));
    }
    for (i, l) in s.security_lists.iter().enumerate() {
        candidates.extend((0..l.ingress.len()).map(|j| (1, i, j)));
        candidates.extend((0..l.egress.len()).map(|j| (2, i, j)));
    }
    for _ in 0..20 {
        if candidates.is_empty() {
            return None;
        }
        let (kind, i, j) = candidates.swap_remove(rng.random_range(0..candidates.len()));
        let mut s2 = s.clone();
        match kind {
            0 => drop(s2.nsgs[i].rules.remove(j)),
            1 => drop(s2.security_lists[i].ingress.remove(j)),
            _ => drop(s2.security_lists[i].egress.remove(j)),
        }
        let mut n = 0;
        let after: Vec<_> = reference(&s2, pkts, &mut n)
            .into_iter()
            .map(|(v, st)| as_reason(v, st))
            .collect();
        if after != before {
            return Some((s2, after));
        }
    }
    None
}

#[test]
fn k_scenarios_equal_the_reference_packet_by_packet_for_any_worker_count() {
    let seeds: u64 = std::env::var("ZPRSIM_ENGINE_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    let mut changed_runs = 0;
    let mut changed_packets = 0;
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(7000 + seed);
        let s = random_scenario(&mut rng);
        let pool = address_pool(&s);
        let pkts = traffic(&mut rng, &s, &pool, 400);
        let mut n = 0;
        let want: Vec<_> = reference(&s, &pkts, &mut n)
            .into_iter()
            .map(|(v, st)| as_reason(v, st))
            .collect();
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());

        // K = 1, then the scenario against itself.
        let (one, got1) = run(&[Arc::clone(&c)], &pkts, 1, 4 << 20);
        let v1: Vec<_> = got1.verdicts.iter().map(|v| v[0]).collect();
        assert_eq!(v1, want, "seed {seed}: K = 1");
        assert_eq!(got1.ts, pkts.iter().map(|k| k.ts).collect::<Vec<_>>());
        let (twice, got2) = run(&[Arc::clone(&c), Arc::clone(&c)], &pkts, 2, 4 << 20);
        for v in &got2.verdicts {
            assert_eq!(v[0], v[1], "seed {seed}: a scenario against itself");
        }
        let (a, b) = (&twice.scenarios[0], &twice.scenarios[1]);
        assert_eq!(a.counters, b.counters, "seed {seed}");
        assert_eq!(a.flows, b.flows, "seed {seed}");
        assert_eq!(a.counters, one.scenarios[0].counters, "seed {seed}");
        assert_eq!(a.flows, one.scenarios[0].flows, "seed {seed}");

        // One rule removed: exactly the packets the reference says change.
        let Some((s2, want2)) = without_one_rule(&mut rng, &s, &pkts, &want) else {
            continue;
        };
        let c2 = Arc::new(Compiled::new(&s2, &Config::default()).unwrap());
        let mut first: Option<(EngineOutput, Collect)> = None;
        for workers in 1..=4 {
            let (o, got) = run(&[Arc::clone(&c), Arc::clone(&c2)], &pkts, workers, 4 << 20);
            let g0: Vec<_> = got.verdicts.iter().map(|v| v[0]).collect();
            let g1: Vec<_> = got.verdicts.iter().map(|v| v[1]).collect();
            assert_eq!(g0, want, "seed {seed}, {workers} worker(s): the scenario");
            assert_eq!(
                g1, want2,
                "seed {seed}, {workers} worker(s): one rule removed"
            );
            let differ = |x: &[Option<DropReason>], y: &[Option<DropReason>]| -> Vec<usize> {
                (0..x.len()).filter(|i| x[*i] != y[*i]).collect()
            };
            assert_eq!(differ(&g0, &g1), differ(&want, &want2), "seed {seed}");
            // The flows whose first-packet verdict changed are among the
            // flows of the packets that changed.
            if let Some((f, fgot)) = &first {
                assert_eq!(
                    fgot.verdicts, got.verdicts,
                    "seed {seed}, {workers} workers"
                );
                for (x, y) in f.scenarios.iter().zip(&o.scenarios) {
                    assert_eq!(x.counters, y.counters, "seed {seed}, {workers} workers");
                    assert_eq!(x.flows, y.flows, "seed {seed}, {workers} workers");
                    assert_eq!(x.top_dropped, y.top_dropped, "seed {seed}");
                }
            } else {
                changed_runs += 1;
                changed_packets += differ(&want, &want2).len();
                let (x, y) = (&o.scenarios[0].counters, &o.scenarios[1].counters);
                assert_ne!(
                    (x.packets, x.dropped_by_stage),
                    (y.packets, y.dropped_by_stage),
                    "seed {seed}: a changed verdict changes the counts"
                );
                first = Some((o, got));
            }
        }
    }
    eprintln!("{changed_runs} scenario pairs, {changed_packets} packets changed by a removed rule");
    assert!(
        changed_runs * 2 > usize::try_from(seeds).unwrap(),
        "too few seeds where removing a rule changed anything: {changed_runs}"
    );
}

#[test]
fn flow_and_connection_tables_stay_bounded_under_a_flood() {
    // 200,000 distinct flows through tables bounded to 256 entries per
    // scenario (one per shard): every flow still gets exactly one record,
    // the evictions are counted, and the result is the same for 1 and 3
    // workers.
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let s = random_scenario(&mut rng);
    let pool = address_pool(&s);
    let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
    let n = 200_000u32;
    let base = 1_700_000_000u64 * 1_000_000_000;
    let pkts: Vec<Pkt> = (0..n)
        .map(|i| {
            let src = pool[usize::try_from(i).unwrap() % pool.len()];
            let dst = pool[(usize::try_from(i).unwrap() / pool.len() + 1) % pool.len()];
            // (sport, dport) differs for every i: every flow is new.
            let sport = u16::try_from(1024 + i % 60_000).unwrap();
            let dport = u16::try_from(1 + i / 60_000).unwrap();
            let p = if src.is_ipv4() == dst.is_ipv4() {
                zprsim_control::packet::Packet::tcp(src, sport, dst, dport)
            } else {
                zprsim_control::packet::Packet::tcp(src, sport, src, dport)
            };
            Pkt {
                p,
                flags: 0x02,
                ts: base + u64::from(i) * 1000,
            }
        })
        .collect();
    let mut flows = std::collections::HashSet::new();
    for k in &pkts {
        flows.insert(zprsim_dataplane::community_id::FlowKey::of(&k.p));
    }
    let (o1, _) = run(&[Arc::clone(&c)], &pkts, 1, 256);
    let (o3, _) = run(&[Arc::clone(&c)], &pkts, 3, 256);
    let k1 = &o1.scenarios[0].counters;
    assert_eq!(k1, &o3.scenarios[0].counters);
    assert_eq!(o1.scenarios[0].flows, o3.scenarios[0].flows);
    assert_eq!(k1.flows, flows.len() as u64);
    assert_eq!(o1.scenarios[0].flows.len(), flows.len());
    // At most 256 open at a time: all but those were evicted.
    assert!(
        k1.flows_evicted >= flows.len() as u64 - 256,
        "{}",
        k1.flows_evicted
    );
    if k1.connections > 256 {
        assert!(k1.connections_evicted >= k1.connections - 256);
    }
}
