//! How a pass splits its 256 shards: worker threads, and the share the
//! reader's own thread judges ([`ReaderShare`]).

use crate::conntrack;

use super::EngineConfig;
use super::live;

/// Whether the reader's thread judges a share of the shards itself, as
/// one more worker fed by the same batches: on a machine with fewer cores
/// than busy threads, two threads doing all the work instead of three
/// fighting for two cores (docs/benchmarks.md, thirteenth pass). Outputs
/// are the same either way (a shard's behaviour depends only on its own
/// packets, in input order, whoever judges them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReaderShare {
    /// [`ReaderShare::Shards`] with [`AUTO_READER_SHARDS`] and one worker
    /// thread fewer than [`EngineConfig::workers`] when that many workers
    /// and the reader would be more threads than the machine has cores
    /// (`available_parallelism`) and `workers` is at least 2; else
    /// [`ReaderShare::Off`]. Never in a live pass (the reader stays
    /// responsive to its ports).
    #[default]
    Auto,
    /// Every shard to a worker thread.
    Off,
    /// This many of the 256 shards (at most 255: a worker thread keeps at
    /// least one) judged on the reader's thread, beside
    /// [`EngineConfig::workers`] worker threads (at most 63 then).
    Shards(u16),
}

/// The reader's shards of 256 under [`ReaderShare::Auto`] (one worker
/// thread beside it) when the pass cannot look at its first packets
/// before judging them (a source whose records are copied one by one:
/// `zprsim bench`'s in-memory inputs, [`super::MemorySource`]; capture
/// files and standard input are looked at). The reader's thread does
/// R per packet plus W for its share f, the worker W for the rest:
/// balanced at f = (W - R) / 2W, with R ~25 ns: 0.31 where W ~65 ns
/// (known dropped flows), 0.36 at ~90 (mostly allowed), 0.45 at ~300
/// (distinct first packets). 112 / 256 = 0.44 keeps the costly case from
/// regressing (measured among 96, 112 and 128: docs/benchmarks.md,
/// thirteenth pass).
pub const AUTO_READER_SHARDS: u16 = 112;

/// Since the twenty-first session the share under [`ReaderShare::Auto`]
/// is chosen from the pass's first packets, once, before any is judged
/// ([`auto_reader_shards`]): what a packet costs the worker depends
/// mostly on whether it opens a connection (a first packet is judged
/// through every layer and opens state, ~200-300 ns; a packet of a known
/// connection is served from its state, ~40-60 ns), and the share of
/// connections among the first packets tells which kind of capture it
/// is (realistic captures 0.03-0.06 of the first 1,024 packets, the
/// distinct capture 1.0). These are the shares that balanced the
/// reader's and the worker's CPU time (`zprsim-baseline --workers 1
/// --reader-shards`, docs/benchmarks.md, the twenty-first session) at
/// the two ends: every packet of a known connection ...
pub const AUTO_SHARDS_KNOWN: u16 = 92;
/// ... and every packet a new connection.
pub const AUTO_SHARDS_NEW: u16 = 112;

/// Packets of the first block [`auto_reader_shards`] looks at at most.
pub const AUTO_SAMPLE: usize = 1024;

/// The reader's shards under [`ReaderShare::Auto`] for a sample of
/// `sampled` packets holding `connections` distinct connections:
/// [`AUTO_SHARDS_KNOWN`] to [`AUTO_SHARDS_NEW`] in proportion to the
/// connections' share (the worker's cost per packet grows linearly with
/// it); [`AUTO_READER_SHARDS`] for an empty sample.
#[must_use]
pub fn auto_reader_shards(sampled: usize, connections: usize) -> u16 {
    if sampled == 0 {
        return AUTO_READER_SHARDS;
    }
    let (lo, hi) = (usize::from(AUTO_SHARDS_KNOWN), usize::from(AUTO_SHARDS_NEW));
    let k = lo + ((hi - lo) * connections.min(sampled) + sampled / 2) / sampled;
    u16::try_from(k).unwrap_or(AUTO_READER_SHARDS)
}

/// Distinct values among `words` (at most [`AUTO_SAMPLE`] of them; the
/// rest are not looked at): an open-addressing set on the stack, nothing
/// allocated.
pub(crate) fn distinct_words(words: impl Iterator<Item = u64>) -> (usize, usize) {
    const SLOTS: usize = 2 * AUTO_SAMPLE;
    let mut set = [0u64; SLOTS];
    let (mut seen, mut distinct) = (0usize, 0usize);
    for w in words.take(AUTO_SAMPLE) {
        seen += 1;
        // 0 marks an empty slot: a word of 0 counts as 1 (a collision of
        // two connections at most, in a cost estimate).
        let w = w.max(1);
        let mut i = usize::try_from(w % SLOTS as u64).unwrap_or(0);
        loop {
            match set.get_mut(i) {
                Some(slot) if *slot == 0 => {
                    *slot = w;
                    distinct += 1;
                    break;
                }
                Some(slot) if *slot == w => break,
                Some(_) => i = (i + 1) % SLOTS,
                None => break,
            }
        }
    }
    (seen, distinct)
}

/// Packets a spread sample ([`super::PacketSource::spread_sample`]) must
/// hold for [`weighted_owners`] to choose the reader's shards from it;
/// with fewer (a small capture) they are spread evenly ([`Plan::owners`]).
pub const SPREAD_MIN: usize = 4096;

/// The owner of each shard as [`Plan::owners`] gives it, but with the
/// units' shares of the sampled packets, not of the shards, at the plan's
/// aim: the reader `reader_shards / 256` of them, each worker thread an
/// equal part of the rest. A shard's packets all go to one unit and flows
/// differ in size (on the quiet run's realistic captures one shard holds
/// 6.5% of the packets), so 93 shards spread evenly held 32.6% of
/// `real10k`'s packets and 41.5% of `realallow10k`'s, against an aim of
/// 36.3%; chosen from `counts` (packets per shard in a sample spread over
/// the capture) they hold 36.4% and 36.7% (docs/benchmarks.md, the
/// thirty-fourth session's reader work).
///
/// Heaviest shard first (ties by index: the same counts give the same
/// owners), each to the unit whose packets so far are the smallest part
/// of its aim. Every shard weighs its count plus a quarter of the mean,
/// so that shards the sample missed (light ones) are dealt out too.
#[must_use]
pub(crate) fn weighted_owners(
    plan: Plan,
    counts: &[u64; conntrack::SHARDS],
) -> [u8; conntrack::SHARDS] {
    let n = plan.threads.max(1);
    let k = u64::try_from(plan.reader_shards.min(conntrack::SHARDS)).unwrap_or(0);
    if k == 0 {
        return plan.owners();
    }
    let reader = u8::try_from(n).unwrap_or(u8::MAX);
    let total: u64 = counts.iter().sum();
    let prior = (total / (4 * conntrack::SHARDS as u64)).max(1);
    let mut order: Vec<(u64, usize)> = counts.iter().map(|&c| c + prior).zip(0..).collect();
    order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    // Aims scaled by 256 n: the reader k n, each worker thread 256 - k.
    let n64 = u64::try_from(n).unwrap_or(1);
    let (aim_reader, aim_worker) = (k * n64, conntrack::SHARDS as u64 - k);
    let mut reader_load = 0u64;
    let mut loads = vec![0u64; n];
    let mut owners = [0u8; conntrack::SHARDS];
    for (w, s) in order {
        let (wi, wl) = loads
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|&(i, l)| (l, i))
            .unwrap_or((0, 0));
        let to_reader = u128::from(reader_load) * u128::from(aim_worker)
            <= u128::from(wl) * u128::from(aim_reader);
        let owner = if to_reader {
            reader_load += w;
            reader
        } else {
            if let Some(l) = loads.get_mut(wi) {
                *l += w;
            }
            u8::try_from(wi).unwrap_or(0)
        };
        if let Some(o) = owners.get_mut(s) {
            *o = owner;
        }
    }
    owners
}

/// Shards `owners` gives the reader (id `plan.threads`).
#[must_use]
pub(crate) fn reader_count(plan: Plan, owners: &[u8; conntrack::SHARDS]) -> usize {
    let reader = u8::try_from(plan.threads.max(1)).unwrap_or(u8::MAX);
    owners.iter().filter(|&&o| o == reader).count()
}

/// How a pass splits its shards: worker threads, and shards the reader
/// judges itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Worker threads.
    pub threads: usize,
    /// Shards (of 256) judged on the reader's thread.
    pub reader_shards: usize,
}

impl Plan {
    /// The plan of `cfg` on a machine of `cores` cores.
    #[must_use]
    pub fn of(cfg: &EngineConfig, cores: usize) -> Plan {
        let n = cfg.workers.clamp(1, live::MAX_WORKERS);
        let off = Plan {
            threads: n,
            reader_shards: 0,
        };
        if cfg.live.is_some() {
            return off;
        }
        match cfg.reader_share {
            ReaderShare::Off => off,
            ReaderShare::Auto if n >= 2 && n + 1 > cores => Plan {
                threads: n - 1,
                reader_shards: usize::from(AUTO_READER_SHARDS),
            },
            ReaderShare::Auto => off,
            ReaderShare::Shards(0) => off,
            ReaderShare::Shards(k) => Plan {
                threads: n.min(live::MAX_WORKERS - 1),
                reader_shards: usize::from(k).min(conntrack::SHARDS - 1),
            },
        }
    }

    /// This plan with the reader judging `k` shards instead (when it
    /// judges some at all).
    #[must_use]
    pub(crate) fn with_reader_shards(self, k: u16) -> Plan {
        if self.reader_shards == 0 {
            return self;
        }
        Plan {
            reader_shards: usize::from(k).clamp(1, conntrack::SHARDS - 1),
            ..self
        }
    }

    /// The worker of each shard: the reader's `reader_shards` spread evenly
    /// over the 256 (id `threads`), the rest dealt in turn to the worker
    /// threads (ids `0..threads`).
    pub(crate) fn owners(&self) -> [u8; conntrack::SHARDS] {
        let (n, k) = (self.threads.max(1), self.reader_shards);
        let reader = u8::try_from(n).unwrap_or(u8::MAX);
        let mut owners = [0u8; conntrack::SHARDS];
        let mut next = 0usize;
        for (s, o) in owners.iter_mut().enumerate() {
            // Shard s is the reader's when k * s / 256 steps up at s + 1:
            // k of the 256, evenly apart.
            *o = if k * (s + 1) / conntrack::SHARDS == k * s / conntrack::SHARDS {
                next += 1;
                u8::try_from((next - 1) % n).unwrap_or(0)
            } else {
                reader
            };
        }
        owners
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn cfg(workers: usize, reader_share: ReaderShare) -> EngineConfig {
        EngineConfig {
            workers,
            reader_share,
            ..EngineConfig::default()
        }
    }

    fn plan(threads: usize, reader_shards: usize) -> Plan {
        Plan {
            threads,
            reader_shards,
        }
    }

    #[test]
    fn auto_takes_a_share_only_when_the_threads_exceed_the_cores() {
        let auto = |w, cores| Plan::of(&cfg(w, ReaderShare::Auto), cores);
        let k = usize::from(AUTO_READER_SHARDS);
        assert_eq!(auto(1, 1), plan(1, 0), "one worker keeps its meaning");
        assert_eq!(auto(1, 2), plan(1, 0));
        assert_eq!(auto(2, 2), plan(1, k));
        assert_eq!(auto(2, 3), plan(2, 0));
        assert_eq!(auto(4, 2), plan(3, k));
        assert_eq!(auto(4, 8), plan(4, 0));
        assert_eq!(auto(0, 2), plan(1, 0), "workers clamped to 1");
        assert_eq!(auto(500, 2), plan(63, k), "and to 64");
        let off = |w, cores| Plan::of(&cfg(w, ReaderShare::Off), cores);
        assert_eq!(off(2, 2), plan(2, 0));
        let shards = |w, k| Plan::of(&cfg(w, ReaderShare::Shards(k)), 2);
        assert_eq!(shards(1, 0), plan(1, 0));
        assert_eq!(shards(1, 255), plan(1, 255));
        assert_eq!(shards(2, 1000), plan(2, 255), "a thread keeps a shard");
        assert_eq!(shards(64, 10), plan(63, 10), "ids stay below 64");
    }

    /// Packets per shard with a few large flows: Pareto-like, one shard
    /// holding several percent of them, as in the realistic captures.
    fn lumpy(seed: u64) -> [u64; conntrack::SHARDS] {
        let mut c = [0u64; conntrack::SHARDS];
        let mut x = seed;
        for (i, slot) in c.iter_mut().enumerate() {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (x >> 33) % 1000 + 1;
            // Heavy tail: a few shards 5-20x the common ones.
            *slot = 100 + 2000 / u + u64::from(i % 7 == 0);
        }
        c
    }

    fn share(owners: &[u8; conntrack::SHARDS], counts: &[u64; conntrack::SHARDS], unit: u8) -> f64 {
        let total: u64 = counts.iter().sum();
        let mine: u64 = owners
            .iter()
            .zip(counts)
            .filter(|(o, _)| **o == unit)
            .map(|(_, c)| c)
            .sum();
        mine as f64 / total as f64
    }

    #[test]
    fn weighted_owners_give_each_unit_its_aim_of_the_packets() {
        for seed in 1..40 {
            let counts = lumpy(seed);
            let heaviest = *counts.iter().max().unwrap() as f64 / counts.iter().sum::<u64>() as f64;
            for (threads, k) in [(1, 93), (1, 112), (2, 80), (3, 64)] {
                let p = plan(threads, k);
                let owners = weighted_owners(p, &counts);
                assert!(owners.iter().all(|&o| usize::from(o) <= threads));
                let aim = k as f64 / 256.0;
                let got = share(&owners, &counts, u8::try_from(threads).unwrap());
                // Within the heaviest shard's weight (the greedy's bound),
                // where the even spread misses by far more on some seeds.
                assert!(
                    (got - aim).abs() <= heaviest.max(0.01),
                    "{seed} {threads} {k}: {got} for {aim}"
                );
                for w in 0..threads {
                    let got = share(&owners, &counts, u8::try_from(w).unwrap());
                    let aim = (1.0 - aim) / threads as f64;
                    assert!(
                        (got - aim).abs() <= heaviest.max(0.01),
                        "worker {w}: {got} for {aim}"
                    );
                }
                assert_eq!(
                    reader_count(p, &owners),
                    owners
                        .iter()
                        .filter(|&&o| usize::from(o) == threads)
                        .count()
                );
                assert_eq!(
                    weighted_owners(p, &counts),
                    owners,
                    "the same counts, the same owners"
                );
            }
        }
        // The even spread, on the same counts, misses the aim by more
        // than the weighted choice on some seed (else the test holds
        // nothing the even spread does not).
        let worst_even = (1..40)
            .map(|seed| {
                let counts = lumpy(seed);
                (share(&plan(1, 93).owners(), &counts, 1) - 93.0 / 256.0).abs()
            })
            .fold(0.0, f64::max);
        let worst_weighted = (1..40)
            .map(|seed| {
                let counts = lumpy(seed);
                (share(&weighted_owners(plan(1, 93), &counts), &counts, 1) - 93.0 / 256.0).abs()
            })
            .fold(0.0, f64::max);
        assert!(
            worst_weighted < worst_even / 2.0,
            "{worst_weighted} vs {worst_even}"
        );
    }

    #[test]
    fn weighted_owners_without_a_share_are_the_plain_split() {
        let counts = lumpy(3);
        assert_eq!(weighted_owners(plan(2, 0), &counts), plan(2, 0).owners());
        // No packets sampled: every shard weighs the same, and the reader
        // gets its count of them.
        let owners = weighted_owners(plan(1, 93), &[0; conntrack::SHARDS]);
        assert_eq!(reader_count(plan(1, 93), &owners), 93);
    }

    #[test]
    fn the_auto_share_grows_with_the_connections_among_the_first_packets() {
        let (known, new) = (AUTO_SHARDS_KNOWN, AUTO_SHARDS_NEW);
        assert_eq!(auto_reader_shards(0, 0), AUTO_READER_SHARDS, "no sample");
        assert_eq!(auto_reader_shards(1024, 0), known);
        assert_eq!(auto_reader_shards(1024, 1024), new);
        assert_eq!(auto_reader_shards(10, 99), new, "at most the sample");
        let mut last = known;
        for c in 0..=1024 {
            let k = auto_reader_shards(1024, c);
            assert!(k >= last && k <= new, "{c}: {k}");
            last = k;
        }
        // A realistic capture's first packets (~5% connections).
        assert_eq!(auto_reader_shards(1024, 51), known + 1);
    }

    #[test]
    fn distinct_words_counts_each_word_once_within_the_sample() {
        let words = [5u64, 7, 5, 0, 1, 7, 2048 + 5, 5];
        // 0 and 1 count as one; 5 and 2048 + 5 share a slot, not a count.
        assert_eq!(distinct_words(words.into_iter()), (8, 4));
        let many = (0..5000u64).map(|i| i * 2048);
        assert_eq!(distinct_words(many), (AUTO_SAMPLE, AUTO_SAMPLE));
        let same = std::iter::repeat_n(42u64, 5000);
        assert_eq!(distinct_words(same), (AUTO_SAMPLE, 1));
        assert_eq!(distinct_words(std::iter::empty()), (0, 0));
    }

    #[test]
    fn with_reader_shards_keeps_a_plan_without_a_share() {
        assert_eq!(plan(2, 0).with_reader_shards(100), plan(2, 0));
        assert_eq!(plan(1, 112).with_reader_shards(93), plan(1, 93));
        assert_eq!(plan(1, 112).with_reader_shards(0), plan(1, 1));
        assert_eq!(plan(1, 112).with_reader_shards(999), plan(1, 255));
    }

    #[test]
    fn a_live_pass_never_gives_the_reader_a_share() {
        let live = Some(Arc::new(live::Live::new(Vec::new())));
        for share in [ReaderShare::Auto, ReaderShare::Shards(128)] {
            let c = EngineConfig {
                live: live.clone(),
                ..cfg(2, share)
            };
            assert_eq!(Plan::of(&c, 1), plan(2, 0), "{share:?}");
        }
    }

    #[test]
    fn the_reader_owns_its_shards_spread_and_the_threads_share_the_rest() {
        for threads in 1..=5 {
            for k in [0, 1, 2, 85, 96, 128, 200, 255] {
                let p = plan(threads, k);
                let owners = p.owners();
                let reader = u8::try_from(threads).unwrap();
                let mine: Vec<usize> = (0..conntrack::SHARDS)
                    .filter(|s| owners[*s] == reader)
                    .collect();
                assert_eq!(mine.len(), k, "{threads} threads, {k}");
                // Evenly apart: no gap between two of the reader's shards
                // (wrapping round) more than one over the even spacing.
                if k > 0 {
                    let spacing = conntrack::SHARDS.div_ceil(k);
                    for w in mine.windows(2) {
                        assert!(w[1] - w[0] <= spacing, "{threads} threads, {k}: {w:?}");
                    }
                }
                let mut per = vec![0usize; threads];
                for o in owners {
                    assert!(o <= reader);
                    if o < reader {
                        per[usize::from(o)] += 1;
                    }
                }
                let (lo, hi) = (per.iter().min().unwrap(), per.iter().max().unwrap());
                assert!(hi - lo <= 1, "{threads} threads, {k}: {per:?}");
            }
        }
    }
}
