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
    self, EngineConfig, EngineOutput, Frame, Judged, MemorySource, ReaderShare, Sinks, VerdictSink,
};

use crate::replay_oracle::{Pkt, frame, reference, traffic};

/// Collects every verdict, checking the order.
#[derive(Default)]
pub(crate) struct Collect {
    pub(crate) verdicts: Vec<Vec<Option<DropReason>>>,
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

pub(crate) fn frames(pkts: &[Pkt]) -> Vec<Frame> {
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
    run_split(scenarios, pkts, workers, max, ReaderShare::Auto)
}

/// [`run`] with the reader's share of the shards given.
fn run_split(
    scenarios: &[Arc<Compiled>],
    pkts: &[Pkt],
    workers: usize,
    max: usize,
    reader_share: ReaderShare,
) -> (EngineOutput, Collect) {
    let mut src = MemorySource::new(frames(pkts));
    let mut sink = Collect::default();
    let cfg = EngineConfig {
        workers,
        keep_flows: true,
        max_connections: max,
        max_flow_records: max,
        reader_share,
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

/// The reference's drop reason for each packet (`None`: allowed).
fn reasons(s: &Scenario, pkts: &[Pkt]) -> Vec<Option<DropReason>> {
    let mut replies_allowed = 0;
    reference(s, pkts, &mut replies_allowed)
        .into_iter()
        .map(|(v, st)| as_reason(v, st))
        .collect()
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
        let after = reasons(&s2, pkts);
        if after != before {
            return Some((s2, after));
        }
    }
    None
}

#[test]
fn k_scenarios_equal_the_reference_packet_by_packet_for_any_worker_count() {
    let seeds = crate::support::seeds("ZPRSIM_ENGINE_SEEDS", 25);
    let mut changed_runs = 0;
    let mut changed_packets = 0;
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(7000 + seed);
        let s = random_scenario(&mut rng);
        let pool = address_pool(&s);
        let pkts = traffic(&mut rng, &s, &pool, 400);
        let want = reasons(&s, &pkts);
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

/// K = 2 on the edge shapes (`Shape::edges` scenarios, edge traffic with
/// ICMP types changing within a tuple and packets exactly at and just past
/// every idle timeout): a scenario and the same without one security rule,
/// 1 to 4 workers, every verdict of each equal to the reference's with a
/// plain tracker. `ZPRSIM_ENGINE_EDGE_SEEDS` runs more seeds.
#[test]
fn k_scenarios_equal_the_reference_on_edge_shapes() {
    use crate::replay_oracle::edge_traffic;
    use zprsim_bench::random::{Shape, random_scenario_shaped};
    let seeds = crate::support::seeds("ZPRSIM_ENGINE_EDGE_SEEDS", 12);
    let shape = Shape::edges();
    let (mut pairs, mut changed, mut icmp, mut boundary) = (0usize, 0usize, 0usize, 0usize);
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(17_000 + seed);
        let s = random_scenario_shaped(&mut rng, &shape);
        let pkts = edge_traffic(&mut rng, &s, &shape, 400, &mut icmp, &mut boundary);
        let want = reasons(&s, &pkts);
        let Some((s2, want2)) = without_one_rule(&mut rng, &s, &pkts, &want) else {
            continue;
        };
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        let c2 = Arc::new(Compiled::new(&s2, &Config::default()).unwrap());
        for workers in 1..=4 {
            let (_, got) = run(&[Arc::clone(&c), Arc::clone(&c2)], &pkts, workers, 4 << 20);
            let g0: Vec<_> = got.verdicts.iter().map(|v| v[0]).collect();
            let g1: Vec<_> = got.verdicts.iter().map(|v| v[1]).collect();
            assert_eq!(g0, want, "seed {seed}, {workers} worker(s): the scenario");
            assert_eq!(
                g1, want2,
                "seed {seed}, {workers} worker(s): one rule removed"
            );
        }
        pairs += 1;
        changed += (0..want.len()).filter(|&i| want[i] != want2[i]).count();
    }
    eprintln!(
        "{pairs} edge scenario pairs, {changed} packets changed by a removed rule, {icmp} ICMP type changes, {boundary} packets at a timeout"
    );
    assert!(pairs * 2 > usize::try_from(seeds).unwrap() && changed > 0 && icmp > 0 && boundary > 0);
}

/// The reader's thread judging a share of the shards itself changes
/// nothing: for K = 1 and 2, with the reader owning no shard, one, a
/// third, half, or all but one (the worker threads then own one shard
/// between them, and some none), beside 1 to 3 worker threads, every
/// verdict equals the reference's and every output equals the plain
/// split's (no share, one worker). Small bounds, so that evictions happen
/// too.
#[test]
fn a_reader_share_of_the_shards_gives_the_plain_split_outputs() {
    let mut evicted = 0;
    for seed in 0..6u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(7500 + seed);
        let s = random_scenario(&mut rng);
        let pool = address_pool(&s);
        let pkts = traffic(&mut rng, &s, &pool, 600);
        let want = reasons(&s, &pkts);
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        for k in [1, 2] {
            let sc: Vec<Arc<Compiled>> = (0..k).map(|_| Arc::clone(&c)).collect();
            let (plain, pgot) = run_split(&sc, &pkts, 1, 4 << 20, ReaderShare::Off);
            let (small, sgot) = run_split(&sc, &pkts, 1, 40, ReaderShare::Off);
            evicted += small.scenarios[0].counters.flows_evicted;
            assert_eq!(plain.plan.reader_shards, 0);
            for v in &pgot.verdicts {
                assert_eq!(v.len(), k);
            }
            let v0: Vec<_> = pgot.verdicts.iter().map(|v| v[0]).collect();
            assert_eq!(v0, want, "seed {seed}, K = {k}: the plain split");
            for shards in [0u16, 1, 85, 128, 255] {
                for workers in 1..=3 {
                    let what =
                        format!("seed {seed}, K = {k}, {workers} worker(s), {shards} shards");
                    let share = ReaderShare::Shards(shards);
                    let (o, got) = run_split(&sc, &pkts, workers, 4 << 20, share);
                    assert_eq!(o.plan.threads, workers, "{what}");
                    assert_eq!(o.plan.reader_shards, usize::from(shards), "{what}");
                    // The reader judged packets of its own (the traffic has
                    // hundreds of flows over the 256 shards).
                    assert_eq!(o.cpu.reader_judging_s.is_some(), shards > 0, "{what}");
                    // The packet phase ends before the pass (each worker
                    // thread then finishes its open flows, timed apart).
                    assert!(o.loops_s <= o.duration_s, "{what}");
                    assert_eq!(o.cpu.workers_finish_s.len(), workers, "{what}");
                    // The reader's share's finish is timed too (where the
                    // system tells a thread's CPU time, as the reader's).
                    assert_eq!(
                        o.cpu.reader_finish_s.is_some(),
                        shards > 0 && o.cpu.reader_s.is_some(),
                        "{what}"
                    );
                    assert_eq!(got.verdicts, pgot.verdicts, "{what}");
                    for (x, y) in plain.scenarios.iter().zip(&o.scenarios) {
                        assert_eq!(x.counters, y.counters, "{what}");
                        assert_eq!(x.flows, y.flows, "{what}");
                        assert_eq!(x.top_dropped, y.top_dropped, "{what}");
                        assert_eq!(
                            (x.state.connections, x.state.flows),
                            (y.state.connections, y.state.flows),
                            "{what}"
                        );
                    }
                    // Without a sink of verdicts (no writer thread: the
                    // codes are not handed on).
                    let mut src = MemorySource::new(frames(&pkts));
                    let cfg = EngineConfig {
                        workers,
                        keep_flows: true,
                        reader_share: share,
                        ..EngineConfig::default()
                    };
                    let bare = engine::run(&sc, &mut src, &cfg, Sinks::default()).unwrap();
                    for (x, y) in plain.scenarios.iter().zip(&bare.scenarios) {
                        assert_eq!(x.counters, y.counters, "{what}, no sink");
                        assert_eq!(x.flows, y.flows, "{what}, no sink");
                    }
                    // Under small bounds (evictions) too.
                    let (o, got) = run_split(&sc, &pkts, workers, 40, share);
                    assert_eq!(got.verdicts, sgot.verdicts, "{what}, small bounds");
                    for (x, y) in small.scenarios.iter().zip(&o.scenarios) {
                        assert_eq!(x.counters, y.counters, "{what}, small bounds");
                        assert_eq!(x.flows, y.flows, "{what}, small bounds");
                    }
                }
            }
        }
    }
    assert!(evicted > 0, "the small bounds evicted nothing");
}

/// Frames as a pcap file's bytes.
fn pcap_of(fr: &[Frame]) -> Vec<u8> {
    use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};
    let mut w = PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).unwrap();
    for f in fr {
        w.write(f.ts_ns, f.linktype, f.orig_len, &f.data).unwrap();
    }
    w.finish().unwrap()
}

/// The capture `bytes` (a file's, from memory) judged against `sc` with
/// `workers` and `reader_share`, flow records kept: its output and every
/// verdict.
fn run_capture(
    sc: &[Arc<Compiled>],
    bytes: &[u8],
    workers: usize,
    reader_share: ReaderShare,
) -> (EngineOutput, Collect) {
    let mut src = engine::CaptureFiles::from_bytes("capture", bytes.to_vec()).unwrap();
    let mut sink = Collect::default();
    let cfg = EngineConfig {
        workers,
        keep_flows: true,
        reader_share,
        ..EngineConfig::default()
    };
    let sinks = Sinks {
        verdicts: Some(&mut sink),
        ..Sinks::default()
    };
    let o = engine::run(sc, &mut src, &cfg, sinks).unwrap();
    assert!(o.error.is_none() && !o.interrupted);
    (o, sink)
}

/// Since the twenty-first session [`ReaderShare::Auto`] chooses the
/// reader's share from the connections among the first packets of a
/// capture file, once, before judging any: the distinct first packets get
/// [`engine::AUTO_SHARDS_NEW`], traffic of repeated connections fewer
/// shards, and either way every output equals the plain split's (no
/// share, one worker, packets from memory). The workers are as many as
/// the cores, so that `Auto` gives the reader a share on any machine.
#[test]
fn an_auto_share_chosen_from_the_first_packets_gives_the_plain_split_outputs() {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let workers = cores.clamp(2, 63);
    let mut shares = Vec::new();
    for seed in 0..3u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(7600 + seed);
        let s = random_scenario(&mut rng);
        let pool = address_pool(&s);
        let repeated = traffic(&mut rng, &s, &pool, 1500);
        let base = repeated.first().map_or(0, |k| k.ts);
        let distinct: Vec<Pkt> = (0..1500u16)
            .map(|i| {
                let a = pool[usize::from(i) % pool.len()];
                let b = pool[(usize::from(i) / pool.len() + 1) % pool.len()];
                let b = if a.is_ipv4() == b.is_ipv4() { b } else { a };
                Pkt {
                    p: zprsim_control::packet::Packet::tcp(a, 1024 + i, b, 80),
                    flags: 0x02,
                    ts: base + u64::from(i) * 1000,
                }
            })
            .collect();
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        let sc = [Arc::clone(&c)];
        let mut got_shares = Vec::new();
        for (what, pkts) in [("repeated", &repeated), ("distinct", &distinct)] {
            let bytes = pcap_of(&frames(pkts));
            let run_file = |workers, share| run_capture(&sc, &bytes, workers, share);
            let (plain, pgot) = run_file(1, ReaderShare::Off);
            let (o, got) = run_file(workers, ReaderShare::Auto);
            let what = format!("seed {seed}, {what}");
            assert_eq!(plain.plan.reader_shards, 0, "{what}");
            assert_eq!(o.plan.threads, workers - 1, "{what}");
            assert_eq!(got.verdicts.len(), pkts.len(), "{what}");
            assert_eq!(got.verdicts, pgot.verdicts, "{what}");
            for (x, y) in plain.scenarios.iter().zip(&o.scenarios) {
                assert_eq!(x.counters, y.counters, "{what}");
                assert_eq!(x.flows, y.flows, "{what}");
                assert_eq!(x.top_dropped, y.top_dropped, "{what}");
            }
            got_shares.push(o.plan.reader_shards);
        }
        shares.push(got_shares);
    }
    let new = usize::from(engine::AUTO_SHARDS_NEW);
    let known = usize::from(engine::AUTO_SHARDS_KNOWN);
    for s in &shares {
        assert_eq!(s[1], new, "{shares:?}: distinct first packets");
        assert!(
            known < s[0] && s[0] < new,
            "{shares:?}: repeated connections"
        );
    }
}

/// Since the thirty-fourth session [`ReaderShare::Auto`] picks the
/// reader's shards from packets sampled across the whole capture file
/// (`PacketSource::spread_sample`) once it holds enough of them, so that
/// the reader's share of the packets is its aim whatever the flows'
/// sizes: any owners give the plain split's outputs, and each unit's
/// packets are counted (`EngineOutput::unit_packets`).
#[test]
fn an_auto_share_weighted_by_a_spread_sample_gives_the_plain_split_outputs() {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let workers = cores.clamp(2, 63);
    let mut rng = ChaCha8Rng::seed_from_u64(3400);
    let s = random_scenario(&mut rng);
    let pool = address_pool(&s);
    // Enough packets that the sample holds more than `SPREAD_MIN`.
    let pkts = traffic(&mut rng, &s, &pool, 12_000);
    let bytes = pcap_of(&frames(&pkts));
    let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
    let sc = [Arc::clone(&c)];
    let run_file = |workers, share| run_capture(&sc, &bytes, workers, share);
    let (plain, pgot) = run_file(1, ReaderShare::Off);
    let (o, got) = run_file(workers, ReaderShare::Auto);
    assert_eq!(o.plan.threads, workers - 1);
    assert_eq!(got.verdicts, pgot.verdicts);
    for (x, y) in plain.scenarios.iter().zip(&o.scenarios) {
        assert_eq!(x.counters, y.counters);
        assert_eq!(x.flows, y.flows);
        assert_eq!(x.top_dropped, y.top_dropped);
    }
    // Every IP packet handed to one unit, the reader's share last.
    let judged = plain.scenarios[0].counters.packets.total;
    assert_eq!(plain.unit_packets, vec![judged]);
    assert_eq!(o.unit_packets.len(), workers);
    assert_eq!(o.unit_packets.iter().sum::<u64>(), judged);
    let reader = *o.unit_packets.last().unwrap() as f64 / judged as f64;
    let aim = o.plan.reader_shards as f64 / 256.0;
    assert!((reader - aim).abs() < 0.05, "reader {reader} for {aim}");
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

/// Distinct flows made on the fly (never held as a list): flow `i` is a
/// TCP SYN between two addresses of the scenario's pool with ports unique
/// to `i`, 1 µs after the previous one, so nothing expires and only the
/// bounds limit what stays open.
struct Flood {
    pool: Vec<std::net::IpAddr>,
    n: u64,
    i: u64,
    buf: Vec<u8>,
}

impl Flood {
    fn pkt(&self, i: u64) -> Pkt {
        let len = self.pool.len() as u64;
        let mut src = self.pool[usize::try_from(i % len).unwrap()];
        let dst = self.pool[usize::try_from((i / len + 1) % len).unwrap()];
        if src.is_ipv4() != dst.is_ipv4() {
            src = dst;
        }
        // (sport, dport, addresses) differs for every i below 2^32.
        let sport = u16::try_from(1024 + i % 60_000).unwrap();
        let dport = u16::try_from(1 + (i / 60_000) % 65_000).unwrap();
        Pkt {
            p: zprsim_control::packet::Packet::tcp(src, sport, dst, dport),
            flags: 0x02,
            ts: 1_700_000_000_000_000_000 + i * 1000,
        }
    }
}

impl engine::PacketSource for Flood {
    fn link_types(&mut self) -> Vec<u32> {
        vec![1]
    }
    fn next_record(&mut self) -> Option<Result<zprsim_dataplane::capture::Record<'_>, String>> {
        if self.i == self.n {
            return None;
        }
        let k = self.pkt(self.i);
        self.i += 1;
        self.buf = frame(&k);
        Some(Ok(zprsim_dataplane::capture::Record {
            data: &self.buf,
            orig_len: u32::try_from(self.buf.len()).unwrap(),
            ts_ns: k.ts,
            linktype: 1,
            offset: 0,
        }))
    }
    fn input(&self) -> usize {
        0
    }
    fn input_name(&self, _i: usize) -> String {
        "flood".into()
    }
    fn progress(&self) -> (u64, u64) {
        (self.i, self.n)
    }
    fn take_warnings(&mut self) -> Vec<zprsim_dataplane::warning::RunWarning> {
        Vec::new()
    }
}

/// `n` distinct flows through tables bounded to `max` entries (per
/// scenario), with the flow log kept (`--flows`) through a spool of at
/// most `spool` records per worker: every flow is counted once and handed
/// to the flow sink once, in order; every one not open at the end was
/// evicted; the tables' index and entry room never pass what the bound
/// allows (the state table's size formula, docs/architecture.md); the
/// spools never held more than `spool` records, all but their last runs
/// went to temporary files, and none is left.
fn flood(n: u64, max: usize, workers: usize, spool: usize) -> engine::ScenarioOutput {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let s = random_scenario(&mut rng);
    let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut src = Flood {
        pool: address_pool(&s),
        n,
        i: 0,
        buf: Vec::new(),
    };
    let cfg = EngineConfig {
        workers,
        max_connections: max,
        max_flow_records: max,
        rule_stats: true,
        rule_flows: true,
        keep_flows: true,
        flow_spool: spool,
        spool_dir: Some(dir.path().to_path_buf()),
        ..EngineConfig::default()
    };
    let mut sink = crate::spool::FloodSink::new();
    let sinks = Sinks {
        flows: Some(sink.sink()),
        ..Sinks::default()
    };
    let o = engine::run(&[c], &mut src, &cfg, sinks).unwrap();
    let out = o.scenarios.into_iter().next().unwrap();
    assert_eq!(sink.records(), n, "one flow log line per flow");
    assert!(out.flows.is_empty(), "handed to the sink, not kept");
    let sp = out.spool;
    assert!(sp.peak <= spool, "{sp:?}");
    assert!(sp.spilled >= n - (workers * spool) as u64, "{sp:?}");
    assert!(sp.runs >= sp.spilled / spool as u64, "{sp:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let (k, st) = (&out.counters, &out.state);
    let per_shard = (max / 256).max(1);
    assert_eq!(k.packets.total, n);
    assert_eq!(k.flows, n, "one record per flow");
    assert!(st.flows <= 256 * per_shard, "{st:?}");
    assert_eq!(k.flows_evicted, n - st.flows as u64, "{st:?}");
    assert!(st.connections <= 256 * per_shard, "{st:?}");
    assert_eq!(
        k.connections_evicted,
        k.connections - st.connections as u64,
        "{k:?}"
    );
    // Each shard: two sub-tables (IPv4, IPv6), each at most
    // next_power_of_two(2 × cap) index slots and room for cap entries.
    let slots = 256 * 2 * (2 * per_shard).next_power_of_two();
    let room = 256 * 2 * per_shard;
    assert!(
        st.flow_slots <= slots && st.connection_slots <= slots,
        "{st:?}"
    );
    assert!(st.flow_room <= room && st.connection_room <= room, "{st:?}");
    // The rule statistics' flow sets are bounded by the same figure, per
    // shard, whatever the number of workers.
    let rs = out.rule_stats.as_ref().unwrap();
    assert!(!rs.flows_exact);
    assert!(rs.flows <= (256 * per_shard) as u64, "{}", rs.flows);
    out
}

#[test]
fn a_flood_of_distinct_flows_stays_within_the_bounds_500k() {
    let one = flood(500_000, 10_000, 1, 4096);
    assert!(one.counters.flows_evicted > 480_000);
    let two = flood(500_000, 10_000, 2, 4096);
    assert_eq!(one.counters, two.counters);
    assert_eq!(one.state, two.state);
    // Past their bound too, the rule statistics count the same flows.
    let (r1, r2) = (one.rule_stats.unwrap(), two.rule_stats.unwrap());
    assert_eq!(r1.flows, r2.flows);
    assert!(r1.flows > 0);
    assert_eq!(r1.rules, r2.rules);
}

/// The 5M-flow flood (about a minute in a debug build: run it with
/// `cargo test --release --test tests engine::a_flood -- --ignored`;
/// docs/benchmarks.md gives its result).
#[test]
#[ignore = "5M packets: slow in debug builds; run in release"]
fn a_flood_of_distinct_flows_stays_within_the_bounds_5m() {
    let o = flood(5_000_000, 10_000, 2, 10_000);
    assert!(o.counters.flows_evicted > 4_980_000);
}

/// The flow log of every fixture, written through the flow sink from
/// compact records, equals the one recorded from the engine that kept
/// every [`engine::FlowRecord`] in memory and sorted them at the end
/// (`tests/recorded/flows/`, written by `zprsim replay SCENARIO
/// pcaps/NAME --flows` before the state tables changed), byte for byte,
/// with 1 and 3 workers.
#[test]
fn flow_logs_equal_the_recorded_all_in_memory_ones() {
    use assert_cmd::Command;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for f in zprsim_bench::fixtures::all() {
        let want = std::fs::read(
            root.join("tests/recorded/flows")
                .join(format!("{}.jsonl", f.name)),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        for workers in [1, 3] {
            let out = dir.path().join(format!("{}.{workers}.jsonl", f.name));
            Command::cargo_bin("zprsim")
                .unwrap()
                .current_dir(root)
                .args([
                    "replay",
                    f.scenario,
                    &format!("pcaps/{}", f.name),
                    "--quiet",
                ])
                .args(["--workers", &workers.to_string()])
                .arg("--flows")
                .arg(&out)
                .timeout(std::time::Duration::from_secs(60))
                .output()
                .unwrap();
            let got = std::fs::read(&out).unwrap();
            assert!(
                got == want,
                "{}: flow log with {workers} worker(s) differs",
                f.name
            );
        }
        checked += 1;
    }
    assert!(checked >= 16, "{checked} fixtures");
}

/// A flow record serves the verdicts of its dropped first packets while
/// its scenario holds no connection under its key (the worker's one-probe
/// path): a TCP or UDP flow dropped one way whose other way is allowed
/// must switch to the connection as soon as the other way opens one, and
/// the reuse must stop at the idle timeout. Pairs found in random
/// scenarios; every verdict equals the reference's, for 1 and 2 workers
/// and with tables small enough to evict.
#[test]
fn dropped_flows_served_from_their_record_switch_to_a_connection_opened_the_other_way() {
    use zprsim_bench::random::random_packet;
    use zprsim_control::eval;
    use zprsim_control::packet::L4;
    use zprsim_control::verdict::Context;
    let first = |s: &Scenario, p: &zprsim_control::packet::Packet| {
        eval::evaluate(s, p, Context::First).judgement.verdict
    };
    let (mut pairs, mut telling) = (0, 0);
    for seed in 0..200u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(9100 + seed);
        let s = random_scenario(&mut rng);
        let pool = address_pool(&s);
        // Dropped as a first packet one way, allowed the other way.
        let Some(p) = (0..400).map(|_| random_packet(&mut rng, &pool)).find(|p| {
            matches!(p.l4, L4::Ports { .. })
                && first(&s, p) == Verdict::Drop
                && first(&s, &p.reversed()) == Verdict::Allow
        }) else {
            continue;
        };
        pairs += 1;
        let r = p.reversed();
        let ns = 1_000_000_000u64;
        let mut ts = 1_700_000_000 * ns;
        let mut pkts = Vec::new();
        // Dropped twice (the second from the record), the other way opens
        // a connection, then both ways again; after an idle gap past every
        // timeout, the same again.
        for round in 0..2 {
            for (q, gap) in [(p, 1), (p, 1), (r, 1), (p, 1), (r, 1), (p, 1), (p, 1)] {
                ts += gap * 1000;
                pkts.push(Pkt {
                    p: q,
                    flags: 0x10,
                    ts,
                });
            }
            if round == 0 {
                ts += 100_000 * ns;
            }
        }
        let want = reasons(&s, &pkts);
        assert!(want[0].is_some() && want[1].is_some() && want[2].is_none());
        // The case meant: once the other way opened a connection, the first
        // way passes as its reply where its first packets were dropped.
        telling += usize::from(want[3].is_none());
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        for (workers, max) in [(1, 4 << 20), (2, 4 << 20), (1, 256), (2, 256)] {
            let (_, got) = run(&[Arc::clone(&c)], &pkts, workers, max);
            let v: Vec<_> = got.verdicts.iter().map(|v| v[0]).collect();
            assert_eq!(v, want, "seed {seed}, {workers} worker(s), max {max}");
        }
    }
    assert!(
        pairs >= 5 && telling >= 3,
        "too few flows dropped one way and allowed the other: {pairs} ({telling} passing as replies)"
    );
}

/// Review (s5): the worker judges a batch through its prefetch ring only
/// while new flows are common, and a batch after one of known flows
/// packet by packet without the ring. The traffic above is ~40% new flows
/// in one 4096-record chunk, so only the ring ran; here a first chunk of
/// mostly repeated flows turns the ring off for the next batches, fresh
/// traffic turns it on again, and every packet's verdict still equals the
/// reference's for 1 to 3 workers.
#[test]
fn batches_with_and_without_the_prefetch_ring_equal_the_reference() {
    for seed in 0..3u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(9100 + seed);
        let s = random_scenario(&mut rng);
        let pool = address_pool(&s);
        // New flows, then the same packets again and again (known flows:
        // the ring goes off), then fresh traffic (it comes back on).
        let first = traffic(&mut rng, &s, &pool, 300);
        let mut pkts = first.clone();
        let mut ts = pkts.last().map_or(0, |k| k.ts);
        while pkts.len() < 3 * 4096 {
            for k in &first {
                ts += 1_000_000;
                pkts.push(Pkt { ts, ..*k });
            }
        }
        let fresh = traffic(&mut rng, &s, &pool, 6000);
        let shift = ts + 1 - fresh[0].ts;
        pkts.extend(fresh.iter().map(|k| Pkt {
            ts: k.ts + shift,
            ..*k
        }));
        // And known flows once more.
        let mut ts = pkts.last().map_or(0, |k| k.ts);
        for k in fresh.iter().take(300).cycle().take(5000) {
            ts += 1_000_000;
            pkts.push(Pkt { ts, ..*k });
        }
        let want = reasons(&s, &pkts);
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        for workers in 1..=3 {
            let (_, got) = run(&[Arc::clone(&c)], &pkts, workers, 4 << 20);
            let g: Vec<_> = got.verdicts.iter().map(|v| v[0]).collect();
            assert_eq!(g.len(), want.len());
            if let Some(i) = (0..g.len()).find(|&i| g[i] != want[i]) {
                panic!(
                    "seed {seed}, {workers} worker(s): packet {i} of {}: {:?}, reference {:?}",
                    g.len(),
                    g[i],
                    want[i]
                );
            }
        }
    }
}

/// Every flow record (packets, bytes, allowed and dropped counts, first
/// packet's tuple, time and verdict) equals a plain model of the flow log
/// written from semantics §2b: one record per Community ID flow key, closed
/// when its next packet comes after the idle timeout (which depends on
/// whether a reply came and on FIN or RST), over the reference's verdicts.
/// Random scenarios and flows with replies, FINs and idle gaps across every
/// timeout, so most dropped packets take the worker's record path
/// (`Flows::known_drop`), which updates the record's counters, "both ways"
/// and "closing" itself; 1 and 3 workers.
#[test]
fn flow_records_equal_a_plain_model_of_the_flow_log() {
    use std::collections::HashMap;
    use std::net::IpAddr;
    use zprsim_control::packet::L4;
    use zprsim_dataplane::community_id::FlowKey;
    use zprsim_dataplane::conntrack;

    struct Open {
        first_ns: u64,
        last_ns: u64,
        src: IpAddr,
        dst: IpAddr,
        l4: L4,
        packets: u64,
        bytes: u64,
        allowed: u64,
        dropped: u64,
        verdict: Verdict,
        both: bool,
        closing: bool,
    }
    // What a record is compared on: tuple, first time, counts, verdict.
    type Row = (
        u64,
        IpAddr,
        IpAddr,
        u8,
        Option<(u16, u16)>,
        Option<(u8, u8)>,
        [u64; 4],
        Verdict,
    );
    let ns_to_s = |ns: u64| (ns / 1_000_000_000) as f64 + (ns % 1_000_000_000) as f64 / 1e9;
    // The first time as the flow log has it (seconds, `f64`), by its bits.
    let row = |o: &Open, first_s: f64, proto: u8| -> Row {
        let (ports, icmp) = match o.l4 {
            L4::Ports { sport, dport } => (Some((sport, dport)), None),
            L4::Icmp { icmp_type, code } => (None, Some((icmp_type, code))),
            L4::Opaque | L4::Fragment => (None, None),
        };
        (
            first_s.to_bits(),
            o.src,
            o.dst,
            proto,
            ports,
            icmp,
            [o.packets, o.bytes, o.allowed, o.dropped],
            o.verdict,
        )
    };
    let (mut served, mut both_ways, mut split) = (0, 0, 0);
    for seed in 0..12u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(9300 + seed);
        let s = random_scenario(&mut rng);
        let pool = address_pool(&s);
        // Fifty flows at a time, each packet one of them either way
        // (mostly the first packet's), short gaps with some past every
        // timeout (UDP 30 s and 180 s, TCP 60 s and 120 s after FIN or
        // RST); a flow is sometimes replaced by a new one.
        let mut flows: Vec<zprsim_control::packet::Packet> = (0..50)
            .map(|_| zprsim_bench::random::random_packet(&mut rng, &pool))
            .collect();
        let ns = 1_000_000_000u64;
        let mut ts = 1_700_000_000 * ns;
        let mut pkts = Vec::with_capacity(3000);
        for _ in 0..3000 {
            ts += match rng.random_range(0..40) {
                0 => 40 * ns,
                1 => 70 * ns,
                2 => 130 * ns,
                3 => 200 * ns,
                _ => rng.random_range(0..ns / 10),
            };
            let i = rng.random_range(0..flows.len());
            if rng.random_bool(0.02) {
                flows[i] = zprsim_bench::random::random_packet(&mut rng, &pool);
            }
            let p = if rng.random_bool(0.3) {
                flows[i].reversed()
            } else {
                flows[i]
            };
            let flags = match rng.random_range(0..40) {
                0 => 0x01,
                1 => 0x04,
                _ => 0x10,
            };
            pkts.push(Pkt { p, flags, ts });
        }
        let verdicts = reasons(&s, &pkts);
        let lens: Vec<u64> = frames(&pkts)
            .iter()
            .map(|f| u64::from(f.orig_len))
            .collect();
        // The model.
        let mut open: HashMap<FlowKey, Open> = HashMap::new();
        let mut want: Vec<Row> = Vec::new();
        for ((k, v), len) in pkts.iter().zip(&verdicts).zip(&lens) {
            let p = &k.p;
            let key = FlowKey::of(p);
            // Only a TCP header carries the flags (not a later fragment's
            // frame).
            let fin = p.proto == 6
                && matches!(p.l4, L4::Ports { .. })
                && k.flags & (conntrack::TCP_FIN | conntrack::TCP_RST) != 0;
            let allowed = v.is_none();
            if let Some(o) = open.get_mut(&key)
                && k.ts.saturating_sub(o.last_ns)
                    <= conntrack::timeout_ns(p.proto, o.both, o.closing)
            {
                o.packets += 1;
                o.bytes += len;
                o.allowed += u64::from(allowed);
                o.dropped += u64::from(!allowed);
                o.last_ns = o.last_ns.max(k.ts);
                if !o.both && conntrack::reverses(p, o.src, o.dst, o.l4) {
                    o.both = true;
                    both_ways += 1;
                }
                o.closing |= fin;
                served += usize::from(!allowed);
                continue;
            }
            if let Some(o) = open.remove(&key) {
                want.push(row(&o, ns_to_s(o.first_ns), key.proto));
                split += 1;
            }
            open.insert(
                key,
                Open {
                    first_ns: k.ts,
                    last_ns: k.ts,
                    src: p.src,
                    dst: p.dst,
                    l4: p.l4,
                    packets: 1,
                    bytes: *len,
                    allowed: u64::from(allowed),
                    dropped: u64::from(!allowed),
                    verdict: if allowed {
                        Verdict::Allow
                    } else {
                        Verdict::Drop
                    },
                    both: false,
                    closing: p.proto == 6 && fin,
                },
            );
        }
        want.extend(
            open.iter()
                .map(|(key, o)| row(o, ns_to_s(o.first_ns), key.proto)),
        );
        want.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        for workers in [1, 3] {
            let (o, _) = run(&[Arc::clone(&c)], &pkts, workers, 4 << 20);
            let mut got: Vec<Row> = o.scenarios[0]
                .flows
                .iter()
                .map(|r| {
                    let l4 = match (r.sport, r.dport, r.icmp_type, r.icmp_code) {
                        (Some(sport), Some(dport), _, _) => L4::Ports { sport, dport },
                        (_, _, Some(icmp_type), Some(code)) => L4::Icmp { icmp_type, code },
                        _ => L4::Opaque,
                    };
                    row(
                        &Open {
                            first_ns: 0,
                            last_ns: 0,
                            src: r.src,
                            dst: r.dst,
                            l4,
                            packets: r.packets,
                            bytes: r.bytes,
                            allowed: r.allowed_packets,
                            dropped: r.dropped_packets,
                            verdict: r.verdict,
                            both: false,
                            closing: false,
                        },
                        r.first_ts,
                        r.proto,
                    )
                })
                .collect();
            got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            if got != want {
                // The records that differ, not two lists of thousands.
                let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
                let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
                panic!(
                    "seed {seed}, {workers} worker(s): engine only {extra:#?}\nmodel only {missing:#?}"
                );
            }
        }
    }
    // The cases meant: dropped packets of open records, records both ways,
    // records closed by an idle gap and opened again.
    assert!(
        served > 5_000 && both_ways > 500 && split > 200,
        "served {served}, both ways {both_ways}, split {split}"
    );
}

/// Review (s6): the counters of packets served from their flow record
/// (`Flows::known_drop`, counted by `Counters::record_drop` rather than
/// `Counters::record`) equal counts over the reference's decisions:
/// packets and bytes allowed and dropped, drops by stage, audit
/// would-drops; K = 2 (the scenario beside itself), 1 to 3 workers; and
/// with tables of 16 (evictions) every worker count gives the same
/// counters and flows.
#[test]
fn counters_of_packets_served_from_their_flow_record_equal_the_reference() {
    use crate::replay_oracle::reference_decisions;
    use zprsim_control::packet::L4;
    let mut repeated_drops = 0;
    for seed in 0..10u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(8800 + seed);
        let s = random_scenario(&mut rng);
        let pool = address_pool(&s);
        // The reference's traffic (replies to allowed openers), then
        // thirty flows picked again and again either way with gaps past
        // the timeouts (most of them dropped: packets the record serves).
        let mut pkts = traffic(&mut rng, &s, &pool, 300);
        let flows: Vec<_> = (0..30)
            .map(|_| zprsim_bench::random::random_packet(&mut rng, &pool))
            .collect();
        let ns = 1_000_000_000u64;
        let mut ts = pkts.last().map_or(0, |k| k.ts);
        for _ in 0..900 {
            ts += match rng.random_range(0..30) {
                0 => 40 * ns,
                1 => 70 * ns,
                2 => 200 * ns,
                _ => rng.random_range(0..ns / 10),
            };
            let f = flows[rng.random_range(0..flows.len())];
            let p = if rng.random_bool(0.3) {
                f.reversed()
            } else {
                f
            };
            let flags = if rng.random_bool(0.05) { 0x01 } else { 0x10 };
            pkts.push(Pkt { p, flags, ts });
        }
        let lens: Vec<u64> = frames(&pkts)
            .iter()
            .map(|f| u64::from(f.orig_len))
            .collect();
        let mut n = 0;
        let decisions = reference_decisions(&s, &pkts, &mut n);
        let (mut total, mut dropped, mut bytes, mut bytes_dropped) = (0u64, 0u64, 0u64, 0u64);
        let mut by_stage = [0u64; DropReason::COUNT];
        let mut audit = 0u64;
        let mut seen = std::collections::HashSet::new();
        for ((k, d), len) in pkts.iter().zip(&decisions).zip(&lens) {
            total += 1;
            bytes += len;
            let j = d.judgement;
            if j.verdict == Verdict::Drop {
                dropped += 1;
                bytes_dropped += len;
                let r = as_reason(j.verdict, j.stage).unwrap();
                by_stage[r.index()] += 1;
                let key = zprsim_dataplane::community_id::FlowKey::of(&k.p);
                if matches!(k.p.l4, L4::Ports { .. }) && !seen.insert(key) {
                    repeated_drops += 1;
                }
            }
            audit += u64::from(j.zpr_audit);
        }
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        for workers in 1..=3 {
            let (o, _) = run(&[Arc::clone(&c), Arc::clone(&c)], &pkts, workers, 4 << 20);
            for sc in &o.scenarios {
                let k = &sc.counters;
                let ctx = format!("seed {seed}, {workers} worker(s)");
                assert_eq!(
                    (k.packets.total, k.packets.dropped),
                    (total, dropped),
                    "{ctx}"
                );
                assert_eq!(
                    (k.bytes.total, k.bytes.dropped),
                    (bytes, bytes_dropped),
                    "{ctx}"
                );
                assert_eq!(k.dropped_by_stage, by_stage, "{ctx}");
                assert_eq!(k.zpr_audit_would_drop, audit, "{ctx}");
            }
        }
        let (one, _) = run(&[Arc::clone(&c), Arc::clone(&c)], &pkts, 1, 16);
        assert!(one.scenarios[0].counters.flows_evicted > 0, "seed {seed}");
        for workers in 2..=3 {
            let (o, _) = run(&[Arc::clone(&c), Arc::clone(&c)], &pkts, workers, 16);
            for (x, y) in one.scenarios.iter().zip(&o.scenarios) {
                assert_eq!(
                    x.counters, y.counters,
                    "seed {seed}, {workers} workers, max 16"
                );
                assert_eq!(x.flows, y.flows, "seed {seed}, {workers} workers, max 16");
            }
        }
    }
    // Dropped TCP and UDP packets of a flow seen before: what the record
    // path serves (when the record is still open).
    assert!(repeated_drops > 300, "{repeated_drops}");
}
