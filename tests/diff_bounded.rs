//! The engine's compared pass (`diff` on captures,
//! `EngineConfig::compare`) in bounded memory: a flood of distinct flows
//! with replies and timeouts crossed, judged by a random scenario and the
//! same with rules removed. With each worker's closed records bounded to a
//! few (spilled in sorted runs and merged) the pairs handed over equal the
//! unbounded run's, for 1 to 3 workers; with the open flow records bounded
//! too (evictions counted, alike in both scenarios) the pairs still line
//! up, equal for any number of workers and spool bound; and in every run
//! the changed packets the pairs carry are exactly those the two verdicts
//! of each packet (the engine's verdict sink) say changed.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zprsim_bench::random::{address_pool, random_packet, random_scenario};
use zprsim_bench::scale::to_toml;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::load;
use zprsim_control::model::proto;
use zprsim_control::packet::{L4, Packet};
use zprsim_dataplane::engine::{
    self, EngineConfig, EngineOutput, FlowChange, FlowRecord, Judged, MemorySource, PairSink,
    Sinks, VerdictSink,
};

use crate::diff::remove_one;
use crate::engine::frames;
use crate::replay_oracle::{Pkt, reference, traffic};

#[derive(Default)]
struct Pairs(Vec<(FlowRecord, FlowRecord, FlowChange)>);

impl PairSink for Pairs {
    fn pair(&mut self, b: &FlowRecord, a: &FlowRecord, c: &FlowChange) -> std::io::Result<()> {
        self.0.push((b.clone(), a.clone(), *c));
        Ok(())
    }

    fn name(&self) -> String {
        "pairs".into()
    }
}

/// Packets allowed before and dropped after, and the reverse, from each
/// packet's two verdicts.
#[derive(Default)]
struct Changed(u64, u64);

impl VerdictSink for Changed {
    fn judged(&mut self, r: &Judged<'_>) -> std::io::Result<()> {
        if let [b, a] = r.verdicts {
            self.0 += u64::from(b.is_none() && a.is_some());
            self.1 += u64::from(b.is_some() && a.is_none());
        }
        Ok(())
    }

    fn name(&self) -> String {
        "verdicts".into()
    }
}

struct Run {
    pairs: Vec<(FlowRecord, FlowRecord, FlowChange)>,
    out: EngineOutput,
}

fn run(c: &[Arc<Compiled>; 2], pkts: &[Pkt], workers: usize, spool: usize, open: usize) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut src = MemorySource::new(frames(pkts));
    let cfg = EngineConfig {
        workers,
        keep_flows: true,
        compare: true,
        max_flow_records: open,
        max_connections: open,
        flow_spool: spool,
        spool_dir: Some(dir.path().to_path_buf()),
        ..EngineConfig::default()
    };
    let (mut pairs, mut changed) = (Pairs::default(), Changed::default());
    let sinks = Sinks {
        pairs: Some(&mut pairs),
        verdicts: Some(&mut changed),
        ..Sinks::default()
    };
    let out = engine::run(
        &[Arc::clone(&c[0]), Arc::clone(&c[1])],
        &mut src,
        &cfg,
        sinks,
    )
    .unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a spool file was left"
    );
    // Every packet is in one flow record: the pairs carry every change.
    let (wb, na) = pairs.0.iter().fold((0, 0), |(w, n), (_, _, c)| {
        (w + c.would_break, n + c.newly_allowed)
    });
    assert_eq!((wb, na), (changed.0, changed.1), "changed packets");
    let judged = pkts.len() as u64;
    assert_eq!(pairs.0.iter().map(|p| p.0.packets).sum::<u64>(), judged);
    for (b, a, c) in &pairs.0 {
        assert_eq!((b.src, b.dst, b.packets), (a.src, a.dst, a.packets));
        assert_eq!(
            (c.first.src, c.first.dst, c.first.proto),
            (b.src, b.dst, b.proto)
        );
        assert!(
            c.would_break <= b.allowed_packets.min(a.dropped_packets),
            "{b:?} {a:?} {c:?}"
        );
        assert!(
            c.newly_allowed <= b.dropped_packets.min(a.allowed_packets),
            "{b:?} {a:?} {c:?}"
        );
        assert_eq!(c.breaking.is_some(), c.would_break > 0);
        assert_eq!(c.newly.is_some(), c.newly_allowed > 0);
        assert_eq!(c.first_verdicts[0].is_none(), b.stage.is_none());
        assert_eq!(c.first_verdicts[1].is_none(), a.stage.is_none());
    }
    assert!(
        out.scenarios.iter().all(|s| s.flows.is_empty()),
        "handed over, not kept"
    );
    Run {
        pairs: pairs.0,
        out,
    }
}

/// A flood: `n` packets, most the first of a flow of their own (TCP and
/// UDP with fresh source ports), the rest replies and repeats of earlier
/// flows with idle gaps that cross the timeouts ([`traffic`]).
fn flood(rng: &mut ChaCha8Rng, s: &zprsim_control::model::Scenario, n: usize) -> Vec<Pkt> {
    let pool = address_pool(s);
    let mut pkts = traffic(rng, s, &pool, n / 5);
    let mut ts = pkts.last().map_or(0, |p| p.ts);
    for i in 0..n - pkts.len() {
        let mut p: Packet = random_packet(rng, &pool);
        if let L4::Ports { dport, .. } = p.l4
            && (p.proto == proto::TCP || p.proto == proto::UDP)
        {
            let sport = 1024 + u16::try_from(i % 60_000).unwrap();
            p.l4 = L4::Ports { sport, dport };
        }
        ts += rng.random_range(0..1_000_000);
        pkts.push(Pkt { p, flags: 0x02, ts });
    }
    pkts
}

#[test]
fn a_compared_pass_in_bounded_memory_equals_the_unbounded_one() {
    let mut meaningful = 0;
    for seed in 0..4u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(52_000 + seed);
        let s = random_scenario(&mut rng);
        let sb = load::from_toml_str(&to_toml(&s), "b").unwrap().scenario;
        let pkts = flood(&mut rng, &sb, 12_000);
        // Removals the reference says change a packet of a sample (every
        // tenth packet), so the flood has changed flows.
        let sample: Vec<Pkt> = pkts.iter().step_by(10).copied().collect();
        let sample = sample.as_slice();
        let mut n = 0;
        let mut now = reference(&sb, sample, &mut n);
        let mut after = s.clone();
        for _ in 0..16 {
            let mut a = after.clone();
            if remove_one(&mut rng, &mut a).is_none() {
                break;
            }
            let sa = load::from_toml_str(&to_toml(&a), "a").unwrap().scenario;
            let va = reference(&sa, sample, &mut n);
            if va != now {
                (after, now) = (a, va);
            }
        }
        let sa = load::from_toml_str(&to_toml(&after), "a").unwrap().scenario;
        let c = [
            Arc::new(Compiled::new(&sb, &Config::default()).unwrap()),
            Arc::new(Compiled::new(&sa, &Config::default()).unwrap()),
        ];
        let want = run(&c, &pkts, 1, usize::MAX, 1 << 20);
        let flows = want.pairs.len();
        assert!(flows > 8_000, "{flows} flows");
        assert!(want.out.scenarios.iter().all(|s| s.spool.runs == 0));
        meaningful += usize::from(
            want.pairs
                .iter()
                .any(|(_, _, c)| c.would_break + c.newly_allowed > 0),
        );
        for workers in 1..=3 {
            let got = run(&c, &pkts, workers, 16, 1 << 20);
            assert!(
                got.pairs == want.pairs,
                "seed {seed}, {workers} worker(s), spool 16"
            );
            for s in &got.out.scenarios {
                assert!(s.spool.runs > 0 && s.spool.peak <= 16, "{:?}", s.spool);
            }
        }
        // Open records bounded to one per shard: evicted (alike in both
        // scenarios), the pairs still line up, whatever the workers and
        // the spool.
        let evicting = run(&c, &pkts, 1, usize::MAX, 1);
        let [b, a] = evicting.out.scenarios.as_slice() else {
            panic!("two scenarios")
        };
        assert!(
            b.counters.flows_evicted > 1_000,
            "{}",
            b.counters.flows_evicted
        );
        assert_eq!(b.counters.flows_evicted, a.counters.flows_evicted);
        assert!(b.state.flows <= 256, "{:?}", b.state);
        assert!(evicting.pairs.len() > flows, "evicted flows are cut short");
        for workers in 2..=3 {
            let got = run(&c, &pkts, workers, 16, 1);
            assert!(
                got.pairs == evicting.pairs,
                "seed {seed}, {workers} worker(s), evicting"
            );
        }
    }
    assert!(meaningful >= 2, "only {meaningful} seeds had changed flows");
}
