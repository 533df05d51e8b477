//! Review of session 9's changes: the rule statistics' per-shard bounds
//! (`ShardRoom`), directory inputs (`input_dir`) and the flow-log judging
//! order (`judge.rs`'s in-place sort).

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zprsim_bench::random::{address_pool, random_scenario};
use zprsim_control::compile::{Compiled, Config};
use zprsim_dataplane::engine::{
    self, EngineConfig, EngineOutput, Live, MemorySource, ReaderShare, Sinks,
};

use crate::engine::frames;
use crate::replay_oracle::{Pkt, traffic};

/// How one pass splits its shards.
#[derive(Debug, Clone, Copy)]
enum Split {
    Workers(usize, ReaderShare),
    Live(usize),
}

fn rule_pass(
    scenarios: &[Arc<Compiled>],
    pkts: &[Pkt],
    split: Split,
    bound: usize,
    rule_flows: bool,
) -> EngineOutput {
    let mut src = MemorySource::new(frames(pkts));
    let (workers, reader_share, live) = match split {
        Split::Workers(w, s) => (w, s, None),
        Split::Live(w) => (
            w,
            ReaderShare::Off,
            Some(Arc::new(Live::new(scenarios.to_vec()))),
        ),
    };
    let cfg = EngineConfig {
        workers,
        keep_flows: true,
        max_connections: 4 << 20,
        max_flow_records: bound,
        rule_stats: true,
        rule_flows,
        top_flows: 50,
        reader_share,
        live,
        ..EngineConfig::default()
    };
    let o = engine::run(scenarios, &mut src, &cfg, Sinks::default()).unwrap();
    assert!(o.error.is_none() && !o.interrupted);
    o
}

/// Traffic of many flows, with bursts (a packet repeated at once, so the
/// tally's `last` shortcut is taken, also on flows of a full shard).
fn bursty(rng: &mut ChaCha8Rng, pkts: Vec<Pkt>) -> Vec<Pkt> {
    let mut out = Vec::with_capacity(pkts.len() * 2);
    for k in pkts {
        out.push(k);
        if rng.random_bool(0.3) {
            for i in 0..rng.random_range(1..4) {
                out.push(Pkt { ts: k.ts + i, ..k });
            }
        }
    }
    out
}

/// The rule statistics (flows, pairs, audit list, exactness) are the same
/// for any split of the shards (1 to 4 workers, the reader judging 1, 85
/// or 255 shards, a live pass), K = 1 and 2, with and without flow counts,
/// under bounds from 1 (1 a shard) to 1024 (4 a shard) and unbounded.
/// Past the bound the counts are lower bounds of the unbounded ones, and
/// at most 256 x the per-shard room.
#[test]
fn rule_stats_are_the_same_for_any_split_past_their_per_shard_bound() {
    let (mut inexact, mut audited, mut exact_small) = (0, 0, 0);
    for seed in 0..3u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(9900 + seed);
        let s = random_scenario(&mut rng);
        let s2 = random_scenario(&mut rng);
        let pool = address_pool(&s);
        let pkts = traffic(&mut rng, &s, &pool, 900);
        let pkts = bursty(&mut rng, pkts);
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        let c2 = Arc::new(Compiled::new(&s2, &Config::default()).unwrap());
        for k in [1usize, 2] {
            let sc: Vec<Arc<Compiled>> = [&c, &c2].into_iter().take(k).cloned().collect();
            for rule_flows in [true, false] {
                let full = rule_pass(
                    &sc,
                    &pkts,
                    Split::Workers(1, ReaderShare::Off),
                    4 << 20,
                    rule_flows,
                );
                for bound in [1usize, 255, 256, 511, 512, 1024, 4 << 20] {
                    let base = rule_pass(
                        &sc,
                        &pkts,
                        Split::Workers(1, ReaderShare::Off),
                        bound,
                        rule_flows,
                    );
                    let per_shard = (bound / 256).max(1) as u64;
                    for (i, (o, f)) in base.scenarios.iter().zip(&full.scenarios).enumerate() {
                        let (r, rf) = (
                            o.rule_stats.as_ref().unwrap(),
                            f.rule_stats.as_ref().unwrap(),
                        );
                        let what = format!(
                            "seed {seed}, K = {k}, flows {rule_flows}, bound {bound}, scenario {i}"
                        );
                        assert!(r.flows <= 256 * per_shard, "{what}: {}", r.flows);
                        assert!(r.audit.len() as u64 <= 256 * per_shard, "{what}");
                        assert!(r.flows <= rf.flows, "{what}");
                        assert_eq!(r.packets, rf.packets, "{what}");
                        for (x, y) in r.rules.iter().zip(&rf.rules) {
                            assert!(x.flows <= y.flows, "{what}");
                            assert_eq!(x.packets, y.packets, "{what}");
                            assert_eq!((x.first_ns, x.last_ns), (y.first_ns, y.last_ns), "{what}");
                        }
                        if r.flows_exact {
                            assert_eq!(format!("{r:?}"), format!("{rf:?}"), "{what}");
                            exact_small += usize::from(bound < 4 << 20);
                        } else {
                            inexact += 1;
                        }
                        audited += usize::from(!r.audit.is_empty());
                    }
                    for split in [
                        Split::Workers(2, ReaderShare::Off),
                        Split::Workers(3, ReaderShare::Off),
                        Split::Workers(4, ReaderShare::Off),
                        Split::Workers(1, ReaderShare::Shards(1)),
                        Split::Workers(2, ReaderShare::Shards(85)),
                        Split::Workers(1, ReaderShare::Shards(255)),
                        Split::Live(3),
                    ] {
                        let o = rule_pass(&sc, &pkts, split, bound, rule_flows);
                        for (i, (x, y)) in base.scenarios.iter().zip(&o.scenarios).enumerate() {
                            assert_eq!(
                                format!("{:?}", x.rule_stats),
                                format!("{:?}", y.rule_stats),
                                "seed {seed}, K = {k}, flows {rule_flows}, bound {bound}, \
                                 {split:?}, scenario {i}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(inexact > 20, "{inexact}: the bounds were hardly reached");
    assert!(exact_small > 0, "no small bound was exact");
    assert!(audited > 0, "no audit flows: the audit map is untested");
}
