//! The engine: packets from a [`PacketSource`] through K compiled
//! scenarios on worker threads, verdicts to sinks in input order. Replay
//! drives it with capture files (or standard input); tests and benches
//! with packets in memory; the TAP bump with its ports (a live pass:
//! [`live`]).
//!
//! ```text
//!             +--> worker 0 (shards 0, n, 2n, ...) --+
//! source -----+--> worker 1 (shards 1, n+1, ...)  ---+--> writer (allowed / dropped pcaps,
//! (reader:    |        ...                           |     in input order)
//!  parse,     +--> chunk descriptors + frame bytes --+
//!  shard)
//! ```
//!
//! - **Shards own state.** The reader parses each frame and sends it, in
//!   batches over bounded channels, to the worker owning its shard
//!   ([`crate::conntrack::shard_of`]): both directions of a connection meet
//!   the same worker, which owns that shard's connection and flow tables
//!   for every scenario, with no lock. A shard's behaviour depends only on
//!   its own packets in input order, so every output is the same for any
//!   number of workers.
//! - **K scenarios per pass.** Each packet is judged against every
//!   scenario; each has its own tracker, counters, rule hits and flow
//!   records ([`ScenarioOutput`]). The pcap outputs follow the first.
//! - **No per-packet allocation in the hand-off.** Batches (and the
//!   writer's chunk buffers) go back to the reader to be refilled.
//! - **Stopping.** [`EngineConfig::stop`] set (by a signal handler) makes
//!   the reader stop at the next record; everything read is judged and
//!   written, so the outputs end at a record boundary, and
//!   [`EngineOutput::interrupted`] says so.

mod flows;
pub mod live;
pub mod rule_stats;
pub mod source;
mod worker;
mod writer;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};
use hdrhistogram::Histogram;
use zprsim_control::compile::Compiled;
use zprsim_control::packet::Packet;

use crate::conntrack;
use crate::drop_reason::DropReason;
use crate::judge::Counters;
use crate::parse::{Parsed, parse_frame};
use crate::pcap_out::{OutFormat, PcapOut};

pub use flows::{Decided, FlowRecord};
pub use live::{Live, ScenarioSet, Snapshot};
pub use rule_stats::{AuditFlow, RuleStat, RuleStats};
pub use source::{CaptureFiles, Frame, MemorySource, PacketSource};
pub use writer::PcapSink;

use worker::{Worker, new_hist, worker_loop};
use writer::{Out, Writer};

/// Records per chunk (the unit of ordering for the writer).
const CHUNK: usize = 4096;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Worker threads (1 to 64).
    pub workers: usize,
    /// Connections tracked at most per scenario (over all shards).
    pub max_connections: usize,
    /// Open flow records at most per scenario (over all shards).
    pub max_flow_records: usize,
    /// Keep every finished flow record (for `--flows`).
    pub keep_flows: bool,
    /// Chunks in flight per channel (memory bound: chunks × 4096 packets).
    pub queue_chunks: usize,
    /// How many top dropped flows to keep for the summary.
    pub top_flows: usize,
    /// Set to stop reading (the first SIGINT or SIGTERM).
    pub stop: Option<Arc<AtomicBool>>,
    /// Count packets, flows and first/last times per rule and list the
    /// flows audit would have denied ([`ScenarioOutput::rule_stats`]).
    pub rule_stats: bool,
    /// With `rule_stats`, also count distinct flows per rule and in all
    /// (a hash-set insert per packet and deciding rule: the costly part).
    pub rule_flows: bool,
    /// A pass that runs until its source ends (the TAP bump): tables
    /// replaced and counters read while it runs ([`Live`]).
    pub live: Option<Arc<Live>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workers: 1,
            max_connections: 4 << 20,
            max_flow_records: 4 << 20,
            keep_flows: false,
            queue_chunks: 8,
            top_flows: 10,
            stop: None,
            rule_stats: false,
            rule_flows: false,
            live: None,
        }
    }
}

/// Progress: bytes of input read so far, and in all (0 when not known).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// One judged record as a [`VerdictSink`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct Judged<'r> {
    /// Position among the records judged (IP and malformed; non-IP records
    /// are not judged and not numbered), from 0, in input order.
    pub index: u64,
    /// Timestamp, nanoseconds.
    pub ts_ns: u64,
    /// The input it came from ([`PacketSource::input`]: a file, a TAP
    /// port).
    pub input: usize,
    /// Link type.
    pub linktype: u32,
    /// Length on the wire.
    pub orig_len: u32,
    /// The frame's bytes.
    pub data: &'r [u8],
    /// Per scenario, in the order given: `None` allowed, else why dropped.
    pub verdicts: &'r [Option<DropReason>],
}

/// Sees every judged record with its verdict under each scenario, in
/// input order, whatever the number of workers.
pub trait VerdictSink: Send {
    /// One record.
    ///
    /// # Errors
    /// An I/O error ends the pass ([`EngineError::Output`] names the sink).
    fn judged(&mut self, r: &Judged<'_>) -> std::io::Result<()>;

    /// The name messages give the sink.
    fn name(&self) -> String;
}

/// Where verdicts go besides the counters: the pcap outputs (records of
/// the first scenario's verdict), any other sink of verdicts in input
/// order, and the progress display.
#[derive(Default)]
pub struct Sinks<'a> {
    /// Allowed packets.
    pub allowed: Option<PcapSink>,
    /// Dropped packets.
    pub dropped: Option<PcapSink>,
    /// Every verdict, in input order.
    pub verdicts: Option<&'a mut dyn VerdictSink>,
    /// Called after each chunk with the bytes read.
    pub progress: Option<Progress<'a>>,
}

/// What one scenario of the pass produced.
#[derive(Debug)]
pub struct ScenarioOutput {
    /// Counters and rule hits.
    pub counters: Counters,
    /// Finished flow records sorted by first timestamp then 5-tuple (only
    /// with [`EngineConfig::keep_flows`]).
    pub flows: Vec<FlowRecord>,
    /// The flows with the most dropped packets.
    pub top_dropped: Vec<FlowRecord>,
    /// Per-rule statistics (only with [`EngineConfig::rule_stats`]).
    pub rule_stats: Option<RuleStats>,
}

/// Everything a pass produced.
#[derive(Debug)]
pub struct EngineOutput {
    /// Per scenario, in the order given.
    pub scenarios: Vec<ScenarioOutput>,
    /// Warnings (truncated files, link types not decoded).
    pub warnings: Vec<String>,
    /// A fatal read error (input and message naming the byte offset): the
    /// outputs hold everything read before it.
    pub error: Option<String>,
    /// Reading stopped early on request ([`EngineConfig::stop`]).
    pub interrupted: bool,
    /// Seconds of the packet phase.
    pub duration_s: f64,
    /// Per-batch processing time, nanoseconds.
    pub batch_ns: Histogram<u64>,
    /// Per-packet time estimated as each batch's time divided by its size,
    /// recorded once per packet of the batch, nanoseconds.
    pub packet_ns: Histogram<u64>,
    /// Workers used.
    pub workers: usize,
    /// Packets written to the allowed and dropped outputs.
    pub written: (u64, u64),
}

/// Why a pass could not finish.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// An output could not be written.
    #[error("{path}: {source}")]
    Output {
        /// The output.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A thread failed.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A packet handed to a worker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item {
    pub(crate) packet: Packet,
    pub(crate) tcp_flags: u8,
    pub(crate) ts_ns: u64,
    pub(crate) wire_len: u32,
    pub(crate) shard: u16,
}

pub(crate) struct WorkBatch {
    chunk: u64,
    items: Vec<Item>,
}

pub(crate) struct ResultBatch {
    chunk: u64,
    worker: u8,
    codes: Vec<u8>,
}

/// A frame's fields besides its bytes, for the writer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameMeta {
    ts_ns: u64,
    input: u32,
    orig_len: u32,
    linktype: u32,
    len: u32,
}

/// Per chunk, for the writer: which worker judged each record, and the
/// frames of the IP and malformed records.
#[derive(Default)]
pub(crate) struct ChunkDesc {
    chunk: u64,
    assign: Vec<u8>,
    metas: Vec<FrameMeta>,
    bytes: Vec<u8>,
}

pub(crate) const NON_IP: u8 = 255;
pub(crate) const MALFORMED: u8 = 254;

fn open_out(sink: Option<PcapSink>, format: OutFormat) -> Result<Option<Out>, EngineError> {
    let Some(s) = sink else { return Ok(None) };
    let name = s.name;
    match PcapOut::create(s.out, format) {
        Ok(pcap) => Ok(Some(Out { name, pcap })),
        Err(source) => Err(EngineError::Output { path: name, source }),
    }
}

/// The reader's side of the hand-off.
struct Reader<'s> {
    n: usize,
    txs: Vec<Sender<WorkBatch>>,
    desc_tx: Option<Sender<ChunkDesc>>,
    item_pool: Receiver<Vec<Item>>,
    desc_pool: Receiver<ChunkDesc>,
    batches: Vec<Vec<Item>>,
    desc: ChunkDesc,
    chunk: u64,
    counters: Counters,
    /// Records of link types not decoded, per (input, link type).
    unsupported: HashMap<(usize, u32), u64>,
    warnings: Vec<String>,
    source: &'s mut dyn PacketSource,
}

impl Reader<'_> {
    fn fresh_items(&self) -> Vec<Item> {
        self.item_pool
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK / self.n + 16))
    }

    /// Sends the chunk; `false` when a receiver has gone.
    fn flush(&mut self) -> bool {
        if self.desc.assign.is_empty() {
            return true;
        }
        for w in 0..self.n {
            if self.batches[w].is_empty() {
                continue;
            }
            let fresh = self.fresh_items();
            let items = std::mem::replace(&mut self.batches[w], fresh);
            let b = WorkBatch {
                chunk: self.chunk,
                items,
            };
            if self.txs[w].send(b).is_err() {
                return false;
            }
        }
        let mut next = self.desc_pool.try_recv().unwrap_or_default();
        next.assign.clear();
        next.metas.clear();
        next.bytes.clear();
        next.chunk = self.chunk + 1;
        let d = std::mem::replace(&mut self.desc, next);
        if let Some(tx) = &self.desc_tx
            && tx.send(d).is_err()
        {
            return false;
        }
        self.chunk += 1;
        true
    }

    /// Warnings of the inputs finished so far, then the link types of
    /// `input` not decoded.
    fn input_done(&mut self, input: usize) {
        self.warnings.extend(self.source.take_warnings());
        let mut lts: Vec<(u32, u64)> = self
            .unsupported
            .iter()
            .filter(|((i, _), _)| *i == input)
            .map(|((_, lt), c)| (*lt, *c))
            .collect();
        lts.sort_unstable();
        for (lt, count) in lts {
            self.warnings.push(format!(
                "{}: {count} record(s) of link type {lt}, which zprsim does not decode, counted as non_ip",
                self.source.input_name(input)
            ));
        }
        self.unsupported.retain(|(i, _), _| *i != input);
    }

    /// Reads every record; returns the read error, if any, and whether it
    /// stopped on request.
    fn run(
        &mut self,
        stop: Option<&AtomicBool>,
        progress: Option<Progress<'_>>,
    ) -> (Option<String>, bool) {
        let writing = self.desc_tx.is_some();
        let mut input = 0usize;
        let mut error = None;
        let mut interrupted = false;
        loop {
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                interrupted = true;
                break;
            }
            // A live source with nothing ready: hand over what is held
            // rather than wait for a chunk to fill (latency of the bump).
            if !self.desc.assign.is_empty() && !self.source.record_ready() && !self.flush() {
                break;
            }
            let rec = match self.source.next_record() {
                None => break,
                Some(Ok(r)) => r,
                Some(Err(e)) => {
                    error = Some(e);
                    break;
                }
            };
            let (ts_ns, orig_len, linktype) = (rec.ts_ns, rec.orig_len, rec.linktype);
            let mut unsupported = None;
            let assign = match parse_frame(linktype, rec.data) {
                Parsed::Ip(meta) => {
                    let shard = conntrack::shard_of(&meta.packet);
                    let w = shard % self.n;
                    self.batches[w].push(Item {
                        packet: meta.packet,
                        tcp_flags: meta.tcp_flags,
                        ts_ns,
                        wire_len: orig_len,
                        shard: u16::try_from(shard).unwrap_or(0),
                    });
                    u8::try_from(w).unwrap_or(0)
                }
                Parsed::NonIp => {
                    self.counters.non_ip += 1;
                    NON_IP
                }
                Parsed::UnsupportedLinkType(lt) => {
                    self.counters.non_ip += 1;
                    unsupported = Some(lt);
                    NON_IP
                }
                Parsed::Malformed { .. } => {
                    self.counters.record_malformed(orig_len);
                    MALFORMED
                }
            };
            if writing && assign != NON_IP {
                // Re-borrow: the record still lives in the source's buffer.
                self.desc.metas.push(FrameMeta {
                    ts_ns,
                    input: 0,
                    orig_len,
                    linktype,
                    len: u32::try_from(rec.data.len()).unwrap_or(u32::MAX),
                });
                self.desc.bytes.extend_from_slice(rec.data);
            }
            self.desc.assign.push(assign);
            let now = self.source.input();
            if writing
                && assign != NON_IP
                && let Some(m) = self.desc.metas.last_mut()
            {
                m.input = u32::try_from(now).unwrap_or(u32::MAX);
            }
            if now != input {
                self.input_done(input);
                input = now;
            }
            if let Some(lt) = unsupported {
                *self.unsupported.entry((now, lt)).or_insert(0) += 1;
            }
            if self.desc.assign.len() >= CHUNK {
                if !self.flush() {
                    break;
                }
                if let Some(p) = progress {
                    let (done, total) = self.source.progress();
                    p(done, total);
                }
            }
        }
        let _ = self.flush();
        // The inputs still open: their warnings, and the link types of
        // the last one.
        self.input_done(input);
        if let Some(p) = progress {
            let (done, total) = self.source.progress();
            p(done, total.max(done));
        }
        (error, interrupted)
    }
}

/// Judges every packet of `source` against each of `scenarios` (at least
/// one) and feeds the sinks.
///
/// # Errors
/// When an output cannot be written or a thread fails. A source that
/// cannot be read to its end is not an error here: everything read is
/// judged and written, and [`EngineOutput::error`] says where and why.
#[allow(clippy::too_many_lines)]
pub fn run(
    scenarios: &[Arc<Compiled>],
    source: &mut dyn PacketSource,
    cfg: &EngineConfig,
    sinks: Sinks<'_>,
) -> Result<EngineOutput, EngineError> {
    if scenarios.is_empty() {
        return Err(EngineError::Internal("no scenario to judge against".into()));
    }
    let n = cfg.workers.clamp(1, 64);
    let q = cfg.queue_chunks.max(1);
    let mut link_types = source.link_types();
    link_types.sort_unstable();
    link_types.dedup();
    let format = OutFormat::for_link_types(&link_types);
    let writer = Writer {
        allowed: open_out(sinks.allowed, format)?,
        dropped: open_out(sinks.dropped, format)?,
        verdicts: sinks.verdicts,
        scenarios: scenarios.len(),
    };
    let writing = writer.allowed.is_some() || writer.dropped.is_some() || writer.verdicts.is_some();

    let t0 = Instant::now();
    let (res_tx, res_rx) = bounded::<ResultBatch>(q * n);
    let (desc_tx, desc_rx) = bounded::<ChunkDesc>(q * 2);
    let (item_back_tx, item_back_rx) = bounded::<Vec<Item>>(q * n + 2 * n);
    let (desc_back_tx, desc_back_rx) = bounded::<ChunkDesc>(q * 2 + 2);
    let progress = sinks.progress;
    let stop = cfg.stop.clone();
    let outcome = std::thread::scope(|scope| -> Result<_, EngineError> {
        let mut txs: Vec<Sender<WorkBatch>> = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for id in 0..n {
            let (tx, rx) = bounded::<WorkBatch>(q);
            txs.push(tx);
            let w = Worker::new(scenarios, cfg);
            let results = writing.then(|| res_tx.clone());
            let back = item_back_tx.clone();
            let id8 = u8::try_from(id).unwrap_or(u8::MAX);
            handles.push(scope.spawn(move || worker_loop(w, id8, rx, results, back)));
        }
        drop(res_tx);
        drop(item_back_tx);
        let writer_handle =
            writing.then(|| scope.spawn(move || writer.run(desc_rx, res_rx, desc_back_tx)));

        let mut reader = Reader {
            n,
            txs,
            desc_tx: writing.then_some(desc_tx),
            item_pool: item_back_rx,
            desc_pool: desc_back_rx,
            batches: (0..n).map(|_| Vec::with_capacity(CHUNK / n + 16)).collect(),
            desc: ChunkDesc::default(),
            chunk: 0,
            counters: Counters::default(),
            unsupported: HashMap::new(),
            warnings: Vec::new(),
            source,
        };
        let (error, interrupted) = reader.run(stop.as_deref(), progress);
        let Reader {
            txs,
            desc_tx,
            counters,
            warnings,
            ..
        } = reader;
        drop(txs);
        drop(desc_tx);
        let mut workers = Vec::with_capacity(n);
        for h in handles {
            workers.push(
                h.join()
                    .map_err(|_| EngineError::Internal("a worker thread panicked".into()))?,
            );
        }
        let written = match writer_handle {
            Some(h) => h
                .join()
                .map_err(|_| EngineError::Internal("the writer thread panicked".into()))??,
            None => (0, 0),
        };
        Ok((workers, written, counters, warnings, error, interrupted))
    })?;
    let (workers, written, reader_counters, warnings, error, interrupted) = outcome;
    let duration_s = t0.elapsed().as_secs_f64();

    let mut outs: Vec<ScenarioOutput> = scenarios
        .iter()
        .map(|_| ScenarioOutput {
            counters: reader_counters.clone(),
            flows: Vec::new(),
            top_dropped: Vec::new(),
            rule_stats: None,
        })
        .collect();
    let mut hist = new_hist();
    let mut tallies: Vec<Vec<rule_stats::RuleTally>> =
        scenarios.iter().map(|_| Vec::new()).collect();
    let mut packet_hist = new_hist();
    let mut results: Vec<_> = workers.into_iter().map(Worker::finish).collect();
    for r in &mut results {
        for (t, rt) in tallies.iter_mut().zip(std::mem::take(&mut r.rules)) {
            t.extend(rt);
        }
    }
    for (k, o) in outs.iter_mut().enumerate() {
        let n: usize = results
            .iter()
            .filter_map(|r| r.per_scenario.get(k))
            .map(|(_, f, _)| f.len())
            .sum();
        o.flows.reserve_exact(n);
    }
    for r in results {
        for (o, (c, f, t)) in outs.iter_mut().zip(r.per_scenario) {
            o.counters.add(&c);
            if o.flows.is_empty() {
                // One worker's records: moved, not copied.
                let room = o.flows.capacity();
                o.flows = f;
                o.flows.reserve_exact(room.saturating_sub(o.flows.len()));
            } else {
                o.flows.extend(f);
            }
            o.top_dropped.extend(t);
        }
        let _ = hist.add(&r.hist);
        let _ = packet_hist.add(&r.packet_hist);
    }
    for (o, t) in outs.iter_mut().zip(tallies) {
        if cfg.rule_stats {
            o.rule_stats = Some(rule_stats::merge(t));
        }
        o.flows.sort_by_key(FlowRecord::sort_key);
        flows::trim_top(&mut o.top_dropped, cfg.top_flows);
    }
    Ok(EngineOutput {
        scenarios: outs,
        warnings,
        error,
        interrupted,
        duration_s,
        batch_ns: hist,
        packet_ns: packet_hist,
        workers: n,
        written,
    })
}
