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
/// thread beside it). The reader's thread does R per packet plus W for
/// its share f, the worker W for the rest: balanced at f = (W - R) / 2W,
/// with R ~25 ns: 0.31 where W ~65 ns (known dropped flows), 0.36 at ~90
/// (mostly allowed), 0.45 at ~300 (distinct first packets). 112 / 256 =
/// 0.44 keeps the costly case from regressing and still takes most of the
/// gain in the cheap ones (measured among 96, 112 and 128:
/// docs/benchmarks.md, thirteenth pass).
pub const AUTO_READER_SHARDS: u16 = 112;

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
