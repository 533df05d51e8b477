//! Judging spooled records ([`super::spill`]) in bounded memory, with the
//! results [`super::judge::judge_records`] gives on the same records.
//!
//! The runs are merged back in window-start order, then input order, and
//! taken one start second at a time (a *group*, at most
//! [`super::spill::SpillConfig::max_group`] records): within a group, an
//! entry whose `id` an earlier one of the group had is a duplicate (a
//! duplicate entry has its copy's `startTime`, so this is the reader's
//! rule, which keys on id and start); unplaced records are counted; the
//! tie rule ranks the placed ones ([`super::judge::openers`], which only
//! ever compares records of one second) and they are judged by
//! [`super::judge::judge_one`], in the order `judge_records` gives.
//!
//! What is held besides the group: the connections tracked at each VNIC,
//! each dropped at the first second that starts after it went idle past
//! its timeout ([`super::live`]), so the table holds the live ones, at
//! most `max_connections`; the distinct (tuple, VNIC) pairs that count `flows` and
//! `flows_at_two_vnics`, in a set of at most half the record buffer,
//! spilled as sorted runs when full and counted by a merge at the end;
//! the first unplaced records (a heap of the earliest in input order).

use std::collections::{BinaryHeap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use zprsim_control::compile::Compiled;

use super::judge::{
    Direction, FlowLogJudgement, Judged, NS, Unplaced, Weight, judge_one, openers, rank,
};
use super::live::Live;
use super::record::LogRecord;
use super::spill::{FlowLogSpool, Placed, Spilled};
use crate::conntrack::ConnKey;
use crate::engine::spool::{Merge, Spool, SpoolError, Spooled};
use crate::judge::Counters;

/// What judging the spooled records gave.
#[derive(Debug, Clone, Default)]
pub struct StreamOutcome {
    /// Counters, agreement, unplaced weights, flows, as
    /// [`super::judge::judge_records`] gives them (its `judged` and
    /// `unplaced_records` lists stay empty: see `judged` and
    /// `unplaced_examples`).
    pub judgement: FlowLogJudgement,
    /// Data records read (duplicates included).
    pub records: u64,
    /// Records judged.
    pub judged: u64,
    /// The first unplaced records in input order (at most the number
    /// asked for), each with its reason; a record's `vnic` is its OCID.
    pub unplaced_examples: Vec<(LogRecord, Unplaced)>,
    /// Entries skipped as duplicates.
    pub duplicates: u64,
    /// The first of them in input order: file index and line.
    pub first_duplicate: Option<(u32, u64)>,
    /// What the spilling did.
    pub stats: StreamStats,
    /// The flows' temporary file could not be written (a full disk):
    /// `judgement.flows` counts the flows it held before, a lower bound,
    /// and this says so (a `temporary-files-full` warning: the run exits 2
    /// with its outputs written).
    pub flows_full: Option<String>,
    /// The stop flag given to [`judge_spooled`] was set while the records
    /// were merged and judged (a signal after the reading): judging ended
    /// before the records starting in this second (records are judged in
    /// time order), and everything here is of the records judged.
    pub stopped_before: Option<u64>,
}

/// What the spilled path did (for tests and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Sorted runs of records written to the temporary file.
    pub runs: u64,
    /// Bytes of temporary files for records and OCIDs.
    pub spilled_bytes: u64,
    /// Records of the largest start-second group.
    pub largest_group: usize,
    /// Tracked connections dropped once idle past their timeout.
    pub connections_dropped: u64,
    /// The most tracked connections held at once.
    pub peak_connections: usize,
    /// Sorted runs of (tuple, VNIC) pairs written.
    pub flow_runs: u64,
}

/// A tuple and a VNIC, as bytes whose order groups a tuple's pairs:
/// lower and higher address (family byte and 16 bytes each), their ports,
/// protocol, then the VNIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowPair([u8; FlowPair::SIZE]);

/// Bytes of the tuple in a [`FlowPair`].
const TUPLE: usize = 39;

impl FlowPair {
    const SIZE: usize = TUPLE + 4;

    fn of(key: &ConnKey, vnic: usize) -> FlowPair {
        let (lo, hi, lp, hp, proto) = key.parts();
        let mut b = [0u8; FlowPair::SIZE];
        let ip = |ip: IpAddr, out: &mut [u8]| match ip {
            IpAddr::V4(a) => {
                out[0] = 4;
                out[1..5].copy_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                out[0] = 6;
                out[1..17].copy_from_slice(&a.octets());
            }
        };
        ip(lo, &mut b[..17]);
        ip(hi, &mut b[17..34]);
        b[34..36].copy_from_slice(&lp.to_be_bytes());
        b[36..38].copy_from_slice(&hp.to_be_bytes());
        b[38] = proto;
        b[TUPLE..].copy_from_slice(&u32::try_from(vnic).unwrap_or(u32::MAX).to_be_bytes());
        FlowPair(b)
    }
}

impl Spooled for FlowPair {
    const SIZE: usize = FlowPair::SIZE;
    fn encode(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.0);
    }
    fn decode(b: &[u8]) -> Option<Self> {
        Some(FlowPair(b.try_into().ok()?))
    }
    fn order(&self, o: &Self) -> std::cmp::Ordering {
        self.0.cmp(&o.0)
    }
}

/// The distinct (tuple, VNIC) pairs: a set of at most `cap`, emptied into
/// a spool when full.
struct FlowSet {
    set: HashSet<FlowPair, ahash::RandomState>,
    cap: usize,
    spool: Spool<FlowPair>,
}

impl FlowSet {
    fn add(&mut self, p: FlowPair) {
        if self.set.len() >= self.cap && !self.set.contains(&p) {
            for x in self.set.drain() {
                self.spool.push(x);
            }
        }
        self.set.insert(p);
    }

    /// Distinct tuples, and those with two or more VNICs; runs written;
    /// when the temporary file could not be written (a full disk), the
    /// counts are of the pairs it held before (a lower bound), and the
    /// error says so.
    fn count(mut self) -> Result<(u64, u64, u64, Option<SpoolError>), SpoolError> {
        for x in self.set.drain() {
            self.spool.push(x);
        }
        let full = self.spool.recover();
        let runs = self.spool.stats().runs;
        let mut m = Merge::new(self.spool.finish()?);
        let (mut flows, mut two) = (0u64, 0u64);
        let mut prev: Option<FlowPair> = None;
        let mut counted_two = false;
        while let Some(p) = m.next_record()? {
            match prev {
                Some(q) if q.0[..TUPLE] == p.0[..TUPLE] => {
                    if q != p && !counted_two {
                        two += 1;
                        counted_two = true;
                    }
                }
                _ => {
                    flows += 1;
                    counted_two = false;
                }
            }
            prev = Some(p);
        }
        Ok((flows, two, runs, full))
    }
}

/// An unplaced record kept as an example, ordered by input order.
#[derive(Clone, Copy)]
struct Example(Spilled, Unplaced);

impl PartialEq for Example {
    fn eq(&self, o: &Self) -> bool {
        self.0.seq == o.0.seq
    }
}
impl Eq for Example {}
impl PartialOrd for Example {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Example {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.seq.cmp(&o.0.seq)
    }
}

fn spool_error(e: &SpoolError) -> String {
    e.message(
        "the flow-log records read past `--flow-log-buffer`, and the flows counted past half of it",
        "a larger `--flow-log-buffer`",
    )
}

/// The state carried from one start second to the next.
struct Judging<'a> {
    compiled: &'a Compiled,
    /// Whose rules the tie rule asks which direction opens
    /// ([`openers`]): `compiled`, or of a pair the first scenario's (the
    /// traffic accepted today), so that both judge one order.
    tie: &'a Compiled,
    /// Which placement of the records this scenario's is (0, or 1 of a pair).
    side: usize,
    vnic_ids: &'a [Arc<str>],
    out: StreamOutcome,
    /// The connections tracked at each VNIC (at most `--max-connections`).
    live: Live,
    flows: FlowSet,
    examples: BinaryHeap<Example>,
    max_examples: usize,
    ids: HashSet<[u8; 16], ahash::RandomState>,
    /// Input position of `out.first_duplicate`.
    first_dup_seq: Option<u64>,
    file_name: &'a dyn Fn(u32) -> String,
}

impl Judging<'_> {
    fn weight_unplaced(&mut self, x: &Spilled, why: Unplaced) {
        let w: &mut Weight = &mut self.out.judgement.unplaced;
        w.records += 1;
        w.packets = w.packets.saturating_add(x.packets);
        w.bytes = w.bytes.saturating_add(x.bytes);
        if self.max_examples > 0 {
            self.examples.push(Example(*x, why));
            if self.examples.len() > self.max_examples {
                self.examples.pop();
            }
        }
    }

    /// One start second's records, in input order.
    fn group(
        &mut self,
        g: &[Spilled],
        each: &mut impl FnMut(&LogRecord, &Judged) -> Result<(), String>,
    ) -> Result<(), String> {
        let Some(first) = g.first() else {
            return Ok(());
        };
        self.out.stats.largest_group = self.out.stats.largest_group.max(g.len());
        let start_ns = first.start.saturating_mul(NS);
        // Every connection idle past its timeout at this second's start
        // is dropped: the table then holds exactly the live ones.
        self.out.stats.connections_dropped += self.live.expire(start_ns);
        self.ids.clear();
        let mut keep: Vec<(LogRecord, usize, Direction, u64)> = Vec::with_capacity(g.len());
        for x in g {
            if let Some(id) = x.id
                && !self.ids.insert(id)
            {
                self.out.duplicates += 1;
                if self.first_dup_seq.is_none_or(|s| x.seq < s) {
                    self.first_dup_seq = Some(x.seq);
                    self.out.first_duplicate = Some((x.file, x.line));
                }
                continue;
            }
            let (vnic, placed) = x.placement(self.side);
            match placed {
                Placed::Not(why) => self.weight_unplaced(x, why),
                Placed::At(dir) => {
                    let v = vnic as usize;
                    let ocid = self
                        .vnic_ids
                        .get(v)
                        .cloned()
                        .unwrap_or_else(|| Arc::from(""));
                    keep.push((x.record(ocid), v, dir, x.seq));
                }
            }
        }
        let opener = openers(
            self.tie,
            keep.iter().enumerate().map(|(i, k)| (i, k.1, k.2)),
            |i| &keep[i].0,
        );
        // (rank, input order, guessed): input order is unique, so the
        // sort never compares `guessed`.
        let mut order: Vec<(u8, usize, bool)> = keep
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let (rank, guessed) = rank(&opener, &k.0, k.1);
                (rank, i, guessed)
            })
            .collect();
        drop(opener);
        order.sort_unstable();
        for (_, i, guessed) in order {
            let (r, v, dir, seq) = &keep[i];
            let before = self.live.conns.len();
            let Some((key, reply, fast)) = judge_one(
                self.compiled,
                &mut self.live.conns,
                &mut self.out.judgement,
                r,
                (*v, *dir),
                guessed,
            ) else {
                continue;
            };
            // The table holds live connections only: past the bound, an
            // error, not memory without end.
            if self.live.conns.len() > before && !self.live.opened(*v, key) {
                return Err(too_many_connections(
                    &(self.file_name)(r.file),
                    r,
                    self.live.max(),
                ));
            }
            self.flows.add(FlowPair::of(&key, *v));
            self.out.judged += 1;
            each(
                r,
                &Judged {
                    record: usize::try_from(*seq).unwrap_or(usize::MAX),
                    vnic: *v,
                    direction: *dir,
                    reply,
                    fast,
                },
            )?;
        }
        self.out.stats.peak_connections =
            self.out.stats.peak_connections.max(self.live.conns.len());
        Ok(())
    }
}

/// Judges the records of `spool` against `compiled` (built from the
/// scenario the spool placed them with), calling `each` with every judged
/// record in judging order; keeps the first `max_examples` unplaced
/// records. `stop` set ends the judging at the next second's records
/// ([`StreamOutcome::stopped_before`]). `file_name` names a file index in messages. A [`Judged`]'s
/// `record` is the record's position among the data records read
/// (duplicates included), there being no list of records to index.
///
/// # Errors
/// A start second with more than [`super::spill::SpillConfig::max_group`]
/// records, more than `max_connections` live connections, a temporary file that cannot be written or read, or an error
/// of `each` (returned as it is).
pub fn judge_spooled(
    compiled: &Compiled,
    spool: FlowLogSpool,
    max_examples: usize,
    file_name: &dyn Fn(u32) -> String,
    stop: Option<&AtomicBool>,
    mut each: impl FnMut(&LogRecord, &Judged) -> Result<(), String>,
) -> Result<StreamOutcome, String> {
    let (stats, records, cfg, placers, ocids) = open(spool);
    let vnic_ids = placers
        .into_iter()
        .next()
        .map(|p| p.vnic_ids)
        .unwrap_or_default();
    let mut j = Judging::new(compiled, 0, &vnic_ids, &cfg, max_examples, file_name);
    let stopped_before = merge_groups(records, &cfg, file_name, stop, |g| j.group(g, &mut each))?;
    let mut out = j.finish(stats)?;
    out.stopped_before = stopped_before;
    let mut examples: Vec<Example> = j.examples.into_vec();
    examples.sort_unstable();
    for Example(x, why) in examples {
        let ocid: Arc<str> = match why {
            Unplaced::UnknownVnic => Arc::from(
                ocids
                    .get(x.ocid)
                    .map_err(|e| format!("cannot read a temporary file: {e}"))?,
            ),
            Unplaced::NotTheVnicsAddress => vnic_ids
                .get(x.vnic as usize)
                .cloned()
                .unwrap_or_else(|| Arc::from("")),
        };
        out.unplaced_examples.push((x.record(ocid), why));
    }
    Ok(out)
}

/// What the spool did, taken before its records are merged: data records,
/// runs, bytes.
type SpoolFigures = (u64, u64, u64);

/// The spool's parts, its runs finished.
fn open(
    spool: FlowLogSpool,
) -> (
    SpoolFigures,
    Spool<Spilled>,
    super::spill::SpillConfig,
    Vec<super::spill::Placer>,
    super::spill::OcidStore,
) {
    let figures = (spool.records(), spool.runs(), spool.spilled_bytes());
    let FlowLogSpool {
        spool: records,
        cfg,
        placers,
        ocids,
        ..
    } = spool;
    (figures, records, cfg, placers, ocids)
}

/// Merges the runs and hands each start second's records, in input
/// order, to `group`, until `stop` is set: then the second whose records
/// were not handed over (looked at between two seconds).
fn merge_groups(
    records: Spool<Spilled>,
    cfg: &super::spill::SpillConfig,
    file_name: &dyn Fn(u32) -> String,
    stop: Option<&AtomicBool>,
    mut group: impl FnMut(&[Spilled]) -> Result<(), String>,
) -> Result<Option<u64>, String> {
    let mut merge = Merge::new(records.finish().map_err(|e| spool_error(&e))?);
    let mut g: Vec<Spilled> = Vec::new();
    while let Some(x) = merge.next_record().map_err(|e| spool_error(&e))? {
        if g.first().is_some_and(|f| f.start != x.start) {
            group(&g)?;
            g.clear();
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                return Ok(Some(x.start));
            }
        }
        if g.len() >= cfg.max_group {
            return Err(format!(
                "{}:{}: more than {} flow-log records start in the second {} (the limit, `--max-flow-log-group`: one second's records are held at once for the tie rule and to find duplicates)",
                file_name(x.file),
                x.line,
                cfg.max_group,
                x.start
            ));
        }
        g.push(x);
    }
    group(&g)?;
    Ok(None)
}

impl<'a> Judging<'a> {
    fn new(
        compiled: &'a Compiled,
        side: usize,
        vnic_ids: &'a [Arc<str>],
        cfg: &super::spill::SpillConfig,
        max_examples: usize,
        file_name: &'a dyn Fn(u32) -> String,
    ) -> Judging<'a> {
        let cap = (cfg.buffer / 2).max(1);
        Judging {
            compiled,
            tie: compiled,
            side,
            vnic_ids,
            out: StreamOutcome {
                judgement: FlowLogJudgement {
                    counters: Counters::with_rules(compiled.rule_count()),
                    ..FlowLogJudgement::default()
                },
                ..StreamOutcome::default()
            },
            live: Live::new(cfg.max_connections),
            flows: FlowSet {
                set: HashSet::default(),
                cap,
                spool: Spool::new(cap, cfg.dir.as_deref()),
            },
            examples: BinaryHeap::new(),
            max_examples,
            ids: HashSet::default(),
            first_dup_seq: None,
            file_name,
        }
    }

    /// The outcome but for the unplaced examples: the flows counted.
    fn finish(&mut self, (read, runs, bytes): SpoolFigures) -> Result<StreamOutcome, String> {
        let mut out = std::mem::take(&mut self.out);
        let flows = std::mem::replace(
            &mut self.flows,
            FlowSet {
                set: HashSet::default(),
                cap: 1,
                spool: Spool::new(1, None),
            },
        );
        let (n, two, flow_runs, full) = flows.count().map_err(|e| spool_error(&e))?;
        out.flows_full = full.map(|e| {
            format!(
                "{}; the flow count ({n}) is of the flows counted before it, a lower bound",
                e.message(
                    "the flows counted past half of `--flow-log-buffer`",
                    "a larger `--flow-log-buffer`"
                )
            )
        });
        out.judgement.flows = n;
        out.judgement.flows_at_two_vnics = two;
        out.judgement.counters.flows = n;
        out.records = read;
        out.stats.runs = runs;
        out.stats.spilled_bytes = bytes;
        out.stats.flow_runs = flow_runs;
        Ok(out)
    }
}

/// The error of a record that finds more than `max` connections live
/// (`--max-connections`); `file` names its file.
pub(super) fn too_many_connections(file: &str, r: &LogRecord, max: usize) -> String {
    format!(
        "{file}:{}: more than {max} connections live at once (the limit, `--max-connections`)",
        r.line
    )
}

/// What [`judge_spooled_pair`] hands over, in order: each start second's
/// records judged by the first scenario, then by the second, then the
/// end of the second.
pub enum PairEvent<'r> {
    /// A record judged by scenario `0` or `1`.
    Judged(usize, &'r LogRecord, &'r Judged),
    /// Every record of one start second was judged by both.
    SecondEnd,
}

/// As [`judge_spooled`], for a spool of [`FlowLogSpool::new_pair`]: every
/// record judged by both scenarios (`compiled[0]` placing by the first
/// placement, `compiled[1]` by the second), each with its own tracking,
/// in the tie order `compiled[0]`'s rules give ([`openers`]); no unplaced examples; `stop` as for [`judge_spooled`].
///
/// # Errors
/// As [`judge_spooled`].
pub fn judge_spooled_pair(
    compiled: [&Compiled; 2],
    spool: FlowLogSpool,
    file_name: &dyn Fn(u32) -> String,
    stop: Option<&AtomicBool>,
    mut each: impl FnMut(PairEvent<'_>) -> Result<(), String>,
) -> Result<[StreamOutcome; 2], String> {
    let (stats, records, cfg, placers, _) = open(spool);
    let ids: Vec<Vec<Arc<str>>> = placers.into_iter().map(|p| p.vnic_ids).collect();
    let second = ids.get(1).or(ids.first()).map_or(&[][..], Vec::as_slice);
    let first = ids.first().map_or(&[][..], Vec::as_slice);
    let mut a = Judging::new(compiled[0], 0, first, &cfg, 0, file_name);
    let mut b = Judging::new(compiled[1], 1, second, &cfg, 0, file_name);
    // The second scenario never picks its own opener: the reply its rules
    // alone let open would turn the dropped request into that reply's
    // reply, and hide it.
    b.tie = compiled[0];
    let stopped_before = merge_groups(records, &cfg, file_name, stop, |g| {
        a.group(g, &mut |r, j| each(PairEvent::Judged(0, r, j)))?;
        b.group(g, &mut |r, j| each(PairEvent::Judged(1, r, j)))?;
        each(PairEvent::SecondEnd)
    })?;
    let (mut oa, mut ob) = (a.finish(stats)?, b.finish(stats)?);
    oa.stopped_before = stopped_before;
    ob.stopped_before = stopped_before;
    Ok([oa, ob])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key(port: u16) -> ConnKey {
        let p = zprsim_control::packet::Packet {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            proto: 6,
            l4: zprsim_control::packet::L4::Ports {
                sport: port,
                dport: 80,
            },
        };
        ConnKey::of(&p).unwrap().0
    }

    /// Distinct tuples and those at two or more VNICs, whatever the set's
    /// room (pairs repeated across spilled runs, a tuple at three VNICs).
    #[test]
    fn flows_are_counted_across_runs() {
        let pairs = [
            (1, 0),
            (2, 0),
            (1, 1),
            (3, 2),
            (1, 2),
            (2, 0),
            (1, 0),
            (3, 2),
            (4, 1),
            (4, 1),
        ];
        for cap in [1, 2, 3, 100] {
            let dir = tempfile::tempdir().unwrap();
            let mut f = FlowSet {
                set: HashSet::default(),
                cap,
                spool: Spool::new(cap, Some(dir.path())),
            };
            for (k, v) in pairs {
                f.add(FlowPair::of(&key(k), v));
            }
            let (flows, two, _, full) = f.count().unwrap();
            assert!(full.is_none());
            assert_eq!((flows, two), (4, 1), "cap {cap}");
        }
    }
}
