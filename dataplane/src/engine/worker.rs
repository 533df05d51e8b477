//! A worker: the shards it owns, judged against every scenario of the
//! pass, each with its own tracker, counters, rule hits and flow records.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use hdrhistogram::Histogram;
use zprsim_control::compile::Compiled;

use crate::drop_reason::DropReason;
use crate::judge::{Counters, Tracker};

use crate::state_table::{self, KeyHasher};

use super::flows::{FlowRecord, Flows, Kept, Side};
use super::rule_stats::RuleTally;
use super::{EngineConfig, Item, ResultBatch, WorkBatch, WorkRec};

/// One scenario's state in one worker.
struct Judge {
    compiled: Arc<Compiled>,
    tracker: Tracker,
    flows: Flows,
    counters: Counters,
    /// Per-rule packets, flows and times (with [`EngineConfig::rule_stats`]).
    rules: Option<RuleTally>,
}

/// A worker's state: for each scenario, its shards' tables and counters.
pub(crate) struct Worker {
    judges: Vec<Judge>,
    hasher: KeyHasher,
    pub(crate) hist: Histogram<u64>,
    /// Per packet: each batch's time over its size, counted once per packet.
    pub(crate) packet_hist: Histogram<u64>,
}

/// What one scenario's state tables held and allocated at the end of a
/// pass (before the open flow records were closed), summed over workers:
/// the figures the memory bound is about (docs/architecture.md, "State
/// tables").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateSizes {
    /// Connection entries held.
    pub connections: usize,
    /// Connection table index slots allocated (8 bytes each).
    pub connection_slots: usize,
    /// Connection entries allocated room for.
    pub connection_room: usize,
    /// Open flow records held.
    pub flows: usize,
    /// Flow table index slots allocated.
    pub flow_slots: usize,
    /// Flow records allocated room for.
    pub flow_room: usize,
}

impl StateSizes {
    pub(crate) fn add(&mut self, o: &StateSizes) {
        self.connections += o.connections;
        self.connection_slots += o.connection_slots;
        self.connection_room += o.connection_room;
        self.flows += o.flows;
        self.flow_slots += o.flow_slots;
        self.flow_room += o.flow_room;
    }
}

/// What a worker hands back at the end, per scenario.
pub(crate) struct WorkerResult {
    pub(crate) sizes: Vec<StateSizes>,
    pub(crate) per_scenario: Vec<(Counters, Kept, Vec<FlowRecord>)>,
    pub(crate) rules: Vec<Option<RuleTally>>,
    pub(crate) hist: Histogram<u64>,
    pub(crate) packet_hist: Histogram<u64>,
}

pub(crate) fn new_hist() -> Histogram<u64> {
    // 1 ns to 100 s, 3 significant digits: bounds are constants, so this cannot fail.
    Histogram::new_with_bounds(1, 100_000_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable_hist()))
}

#[allow(clippy::panic)]
fn unreachable_hist() -> Histogram<u64> {
    panic!("a histogram with constant bounds cannot fail to build")
}

impl Worker {
    pub(crate) fn new(scenarios: &[Arc<Compiled>], cfg: &EngineConfig) -> Worker {
        Worker {
            judges: scenarios
                .iter()
                .map(|c| Judge {
                    compiled: Arc::clone(c),
                    tracker: Tracker::with_memo(cfg.max_connections),
                    flows: Flows::new(cfg.max_flow_records, cfg.keep_flows, cfg.top_flows),
                    counters: Counters::with_rules(c.rule_count()),
                    rules: cfg.rule_stats.then(|| {
                        RuleTally::new(c.rule_count(), cfg.max_flow_records, cfg.rule_flows)
                    }),
                })
                .collect(),
            hasher: KeyHasher::default(),
            hist: new_hist(),
            packet_hist: new_hist(),
        }
    }

    /// Judges one packet against every scenario; pushes each verdict code
    /// ([`DropReason::code`]) to `codes` when given.
    fn handle(&mut self, it: &Item, mut codes: Option<&mut Vec<u8>>) {
        // The keys and their hashes, once for every scenario, the
        // connection and flow tables and the rule statistics (for TCP and
        // UDP the connection key is the flow key: one hash).
        let (fkey, conn) = state_table::packet_keys(&it.packet);
        let fh = self.hasher.hash(&fkey);
        let conn = conn.map(|(k, forward)| {
            let h = if k == fkey { fh } else { self.hasher.hash(&k) };
            (k, forward, h)
        });
        for j in &mut self.judges {
            let fast = j.tracker.judge_keyed(
                &j.compiled,
                &it.packet,
                usize::from(it.shard),
                it.ts_ns,
                it.tcp_flags,
                &mut j.counters,
                conn,
            );
            j.counters.record(&fast, it.wire_len);
            if let Some(t) = &mut j.rules {
                t.packet(&it.packet, it.ts_ns, &fast, fh);
            }
            let code = DropReason::code(fast.judgement.stage.map(DropReason::of_stage));
            j.flows
                .packet(it, fkey, fh, Side::of(code, &fast), &mut j.counters);
            if let Some(c) = codes.as_deref_mut() {
                c.push(code);
            }
        }
    }

    pub(crate) fn finish(self) -> WorkerResult {
        let mut rules = Vec::with_capacity(self.judges.len());
        let mut sizes = Vec::with_capacity(self.judges.len());
        let per_scenario = self
            .judges
            .into_iter()
            .map(|mut j| {
                let (connection_slots, connection_room) = j.tracker.allocated();
                let (flows, flow_slots, flow_room) = j.flows.sizes();
                sizes.push(StateSizes {
                    connections: j.tracker.len(),
                    connection_slots,
                    connection_room,
                    flows,
                    flow_slots,
                    flow_room,
                });
                let (flows, top) = j.flows.finish(&mut j.counters);
                rules.push(j.rules);
                (j.counters, flows, top)
            })
            .collect();
        WorkerResult {
            sizes,
            per_scenario,
            rules,
            hist: self.hist,
            packet_hist: self.packet_hist,
        }
    }
}

/// A worker's loop: parse and judge each batch, hand the codes to the
/// writer, and send the emptied batch back to the reader for reuse.
pub(crate) fn worker_loop(
    mut w: Worker,
    id: u8,
    rx: Receiver<WorkBatch>,
    results: Option<Sender<ResultBatch>>,
    recycle: Sender<Vec<WorkRec>>,
) -> Worker {
    let mut spare_codes: Vec<Vec<u8>> = Vec::new();
    let k = w.judges.len();
    for batch in rx {
        let t0 = Instant::now();
        let mut codes = spare_codes.pop().unwrap_or_default();
        codes.clear();
        let want = results.is_some();
        batch.each(|it| match it {
            Some(it) => w.handle(it, want.then_some(&mut codes)),
            // Not an IP packet after all (the reader checked: cannot
            // happen): dropped, never allowed, so the codes stay aligned.
            None if want => codes.extend(std::iter::repeat_n(
                DropReason::code(Some(DropReason::Malformed)),
                k,
            )),
            None => {}
        });
        let ns = u64::try_from(t0.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        let _ = w.hist.record(ns.min(100_000_000_000));
        let len = batch.len() as u64;
        if let Some(per) = ns.checked_div(len) {
            let _ = w.packet_hist.record_n(per.clamp(1, 100_000_000_000), len);
        }
        let chunk = batch.chunk;
        let _ = recycle.try_send(batch.into_recs());
        match &results {
            Some(tx) => {
                if tx
                    .send(ResultBatch {
                        chunk,
                        worker: id,
                        codes,
                    })
                    .is_err()
                {
                    break;
                }
            }
            None => spare_codes.push(codes),
        }
    }
    w
}
