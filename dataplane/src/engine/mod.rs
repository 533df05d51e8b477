//! The engine: packets from a [`PacketSource`] through K compiled
//! scenarios on worker threads, verdicts to sinks in input order. Replay
//! drives it with capture files (or standard input); tests and benches
//! with packets in memory; the TAP bump with its ports (a live pass:
//! [`live`]).
//!
//! ```text
//!             +--> worker 0 (its shards: Plan) -----+
//! source -----+--> worker 1                      ----+--> writer (allowed / dropped pcaps,
//! (reader:    |        ...                           |     in input order)
//!  records,   +--> [its own share, judged here] ----+
//!  shard)     +--> chunk descriptors ----------------+
//! ```
//!
//! - **The reader only finds records.** The source reads big blocks
//!   (reference-counted; [`SharedBlock`]); the reader finds each record,
//!   takes its shard from a fixed-offset look at the headers (`peek.rs`;
//!   anything unusual gets the full parse), and hands the workers batches
//!   of record descriptors (offsets into the block). The workers parse the
//!   frames in full; the writer copies them from the same block. Sources
//!   that do not read into shared blocks have their records copied into
//!   the engine's own blocks.
//! - **Shards own state.** Each packet goes, in batches over bounded
//!   channels, to the worker owning its shard
//!   ([`crate::conntrack::shard_of`]): both directions of a connection meet
//!   the same worker, which owns that shard's connection and flow tables
//!   for every scenario, with no lock. A shard's behaviour depends only on
//!   its own packets in input order, so every output is the same for any
//!   number of workers.
//! - **The reader's share.** With fewer cores than busy threads the
//!   reader's thread judges a share of the shards itself, one more
//!   consumer of its batches (`plan.rs`, [`ReaderShare`]).
//! - **K scenarios per pass.** Each packet is judged against every
//!   scenario; each has its own tracker, counters, rule hits and flow
//!   records ([`ScenarioOutput`]). The pcap outputs follow the first.
//! - **Flow records in bounded memory.** With [`EngineConfig::keep_flows`]
//!   each worker's closed records go through a spool (`spool.rs`) of at
//!   most [`EngineConfig::flow_spool`] records, spilled in sorted runs to
//!   an unnamed temporary file, and merged in order into the
//!   [`FlowSink`] at the end.
//! - **Two scenarios compared** ([`EngineConfig::compare`], `diff`): the
//!   second scenario's flow records also keep what changed between the
//!   two verdicts of their packets, noted by the worker that judged both;
//!   the two scenarios' records, which line up one for one, go to a
//!   [`PairSink`] side by side at the end (`flows/compare.rs`).
//! - **No per-packet allocation or atomic in the hand-off.** Batches and
//!   chunk descriptors go back to the reader to be refilled; a block's
//!   reference count changes once per batch, not per packet.
//! - **Stopping.** [`EngineConfig::stop`] set (by a signal handler) makes
//!   the reader stop within `STOP_EVERY` (64) records, at the next one for
//!   a live source; everything read is judged and written, so the outputs
//!   end at a record boundary, and [`EngineOutput::interrupted`] says so.

mod copies;
pub mod decap;
mod flows;
pub mod live;
mod node_local;
mod peek;
mod plan;
pub mod rule_stats;
pub mod shape;
pub mod source;
pub(crate) mod spool;
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
use crate::parse::{self, Parsed, parse_frame};
use crate::pcap_out::{OutFormat, PcapOut};
use crate::state_table::Keys;
use crate::unjudged;
use crate::warning::{RunWarning, RunWarningCode};
use flows::Extra;

pub use flows::compare::{FlowChange, PairSink};
#[cfg(test)]
pub(crate) use flows::{
    Change as ChangeForSize, Finished as FinishedForSize, FlowState as FlowStateForSize,
};
pub use flows::{Decided, FlowRecord};
pub use live::{Live, ScenarioSet, Snapshot};
pub use plan::{
    AUTO_READER_SHARDS, AUTO_SAMPLE, AUTO_SHARDS_KNOWN, AUTO_SHARDS_NEW, Plan, ReaderShare,
    auto_reader_shards,
};
pub use rule_stats::{AuditFlow, MAX_AUDIT_FLOWS, RuleStat, RuleStats};
pub use source::{CaptureFiles, Frame, MemorySource, PacketSource, RecordSpan, SharedBlock};
pub use spool::SpoolStats;
pub use writer::PcapSink;

pub use worker::StateSizes;
use worker::{OnReader, Worker, new_hist, worker_loop};
use writer::{Out, Writer};

/// Records per chunk (the unit of ordering for the writer); a chunk also
/// ends where its block does.
const CHUNK: usize = 4096;

/// Bytes of the engine's own blocks, for sources whose records are copied
/// (a block grows past this for one larger record).
const OWN_BLOCK: usize = 1 << 20;

/// Records the reader takes between two looks at the stop flag
/// ([`EngineConfig::stop`]): a stop ends the input at most this many
/// records later, still at a record boundary.
const STOP_EVERY: usize = 64;

/// Own blocks kept for reuse.
const SPARE_BLOCKS: usize = 16;

/// Closed flow records held in memory at most per worker and scenario by
/// default (143 bytes each on disk, 160 in memory: 10 MiB).
pub const DEFAULT_FLOW_SPOOL: usize = 64 << 10;

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
    /// With `keep_flows`, closed flow records held in memory at most per
    /// worker and scenario: a full run is sorted and written to a
    /// temporary file, and the runs are merged at the end (at least 1).
    pub flow_spool: usize,
    /// Where those temporary files go (`None`: `$TMPDIR`). They are
    /// unnamed: nothing is left there after the pass, whatever happens.
    pub spool_dir: Option<std::path::PathBuf>,
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
    /// Shards the reader's own thread judges itself ([`ReaderShare`]).
    pub reader_share: ReaderShare,
    /// Count a packet seen on several interfaces once (`--dedup`, see
    /// `engine/copies.rs`).
    pub dedup: bool,
    /// Judge the frame inside each VXLAN record (`--decap vxlan`: an OCI
    /// VTAP's mirror, see `engine/decap.rs`).
    pub decap_vxlan: bool,
    /// Leave out records to or from these prefixes (`--node-local`: a
    /// Kubernetes service range, see `engine/node_local.rs`).
    pub node_local: Vec<ipnet::IpNet>,
    /// Compare two scenarios (exactly two; `diff`): the flow records of
    /// both, with what changed in each flow, go to [`Sinks::pairs`] side by
    /// side (with [`EngineConfig::keep_flows`]; not to a [`FlowSink`] nor
    /// [`ScenarioOutput::flows`]).
    pub compare: bool,
    /// Each scenario's stand-ins, in the order of the scenarios judged
    /// (none past the end): a closed flow record whose drops are owed to
    /// one is counted in [`Counters::stand_in_dropped`] (per record, never
    /// per packet; `crate::stand_in_owed`).
    pub stand_ins: Vec<Option<Arc<crate::stand_in_owed::StandInOwed>>>,
}

/// Connections tracked at once at most, by default: `--max-connections`
/// of `replay` and `diff` (captures and flow logs) and `explain
/// --capture`'s tracking (~100 bytes each, ~400 MB).
pub const DEFAULT_MAX_CONNECTIONS: usize = 4 << 20;

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workers: 1,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_flow_records: 4 << 20,
            keep_flows: false,
            flow_spool: DEFAULT_FLOW_SPOOL,
            spool_dir: None,
            queue_chunks: 8,
            top_flows: 10,
            stop: None,
            rule_stats: false,
            rule_flows: false,
            live: None,
            reader_share: ReaderShare::Auto,
            dedup: false,
            decap_vxlan: false,
            node_local: Vec::new(),
            compare: false,
            stand_ins: Vec::new(),
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

/// Sees every flow record of every scenario once the pass is over, in the
/// flow log's order (scenario by scenario; within one, by first packet
/// time, then 5-tuple), one record at a time: the records wait in compact
/// form ([`EngineConfig::keep_flows`]), at most
/// [`EngineConfig::flow_spool`] per worker in memory and the rest in sorted
/// runs in temporary files, and each becomes a [`FlowRecord`] only to be
/// handed here, so a flow log of millions of flows holds neither a
/// [`FlowRecord`] nor a compact record per flow. Given one,
/// [`ScenarioOutput::flows`] stays empty.
pub trait FlowSink: Send {
    /// One record of scenario `scenario` (an index into the scenarios given).
    ///
    /// # Errors
    /// An I/O error ends the pass ([`EngineError::Output`] names the sink).
    fn flow(&mut self, scenario: usize, r: &FlowRecord) -> std::io::Result<()>;

    /// The name messages give the sink.
    fn name(&self) -> String;

    /// The records cannot all be handed over: their temporary file
    /// ([`EngineConfig::flow_spool`]) could not be written or read (a full
    /// disk), and `why` says so. A sink that is an output of its own
    /// abandons it and returns `true`: the pass goes on, as it does when
    /// an output's own write fails (docs/cli.md, "One output fails").
    /// `false` (the default) ends the pass with [`EngineError::Spool`].
    fn abandon(&mut self, why: std::io::Error) -> bool {
        let _ = why;
        false
    }
}

/// Where verdicts go besides the counters: the pcap outputs (records of
/// the first scenario's verdict), any other sink of verdicts in input
/// order, the flow records, and the progress display.
#[derive(Default)]
pub struct Sinks<'a> {
    /// Allowed packets.
    pub allowed: Option<PcapSink>,
    /// Dropped packets.
    pub dropped: Option<PcapSink>,
    /// Every verdict, in input order.
    pub verdicts: Option<&'a mut dyn VerdictSink>,
    /// Every flow record, in order, after the pass (with
    /// [`EngineConfig::keep_flows`]).
    pub flows: Option<&'a mut dyn FlowSink>,
    /// The two scenarios' flow records side by side, in order, after a
    /// compared pass ([`EngineConfig::compare`] and
    /// [`EngineConfig::keep_flows`]).
    pub pairs: Option<&'a mut dyn PairSink>,
    /// Called after each chunk with the bytes read.
    pub progress: Option<Progress<'a>>,
}

/// What one scenario of the pass produced.
#[derive(Debug)]
pub struct ScenarioOutput {
    /// Counters and rule hits.
    pub counters: Counters,
    /// Finished flow records sorted by first timestamp then 5-tuple (only
    /// with [`EngineConfig::keep_flows`], and without a [`FlowSink`]).
    pub flows: Vec<FlowRecord>,
    /// The flows with the most dropped packets.
    pub top_dropped: Vec<FlowRecord>,
    /// Per-rule statistics (only with [`EngineConfig::rule_stats`]).
    pub rule_stats: Option<RuleStats>,
    /// The state tables' sizes at the end of the pass.
    pub state: StateSizes,
    /// What the closed flow records' spools did (with
    /// [`EngineConfig::keep_flows`]).
    pub spool: SpoolStats,
    /// [`EngineConfig::stop`] was set while the flow records were handed
    /// to the [`FlowSink`], after the reading: the sink took only the
    /// first of them, in the flow log's order.
    pub flows_cut: Option<FlowsCut>,
}

/// The flow records a stop left out of the [`FlowSink`]
/// ([`ScenarioOutput::flows_cut`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowsCut {
    /// Records the sink took.
    pub written: u64,
    /// Records the pass finished.
    pub total: u64,
}

/// Everything a pass produced.
#[derive(Debug)]
pub struct EngineOutput {
    /// Per scenario, in the order given.
    pub scenarios: Vec<ScenarioOutput>,
    /// Warnings (truncated files, link types not decoded).
    pub warnings: Vec<RunWarning>,
    /// A fatal read error (input and message naming the byte offset): the
    /// outputs hold everything read before it.
    pub error: Option<String>,
    /// Reading stopped early on request ([`EngineConfig::stop`]).
    pub interrupted: bool,
    /// Seconds of the pass: the packet phase, then each judging unit's
    /// finish of its open flows (on its own thread) and the writer's
    /// drain, to the join of every thread.
    pub duration_s: f64,
    /// Seconds from the pass's start to the end of the last judging unit's
    /// loop over its packets (the reader's share: the end of the reading):
    /// the packet phase proper, without the finish of the flows left open.
    /// A unit's finish that runs while another unit still judges is inside
    /// it.
    pub loops_s: f64,
    /// Per-batch processing time, nanoseconds.
    pub batch_ns: Histogram<u64>,
    /// Per-packet time estimated as each batch's time divided by its size,
    /// recorded once per packet of the batch, nanoseconds.
    pub packet_ns: Histogram<u64>,
    /// Workers used: the worker threads, and the reader's share counted
    /// as one ([`EngineConfig::workers`] under [`ReaderShare::Auto`]).
    pub workers: usize,
    /// How the shards were split.
    pub plan: Plan,
    /// Packets written to the allowed and dropped outputs. An output that
    /// stopped taking writes (a full disk, or its reader left) ends there,
    /// not the pass, and counts the packets flushed through before (at
    /// each chunk's end).
    pub written: (u64, u64),
    /// CPU time of each thread of the pass (where the system tells it).
    pub cpu: ThreadCpu,
    /// Packets handed to each judging unit: the worker threads in order,
    /// then the reader's share when it had one. A shard's packets all go
    /// to one unit, and flows differ in size, so a unit's share of the
    /// packets is not its share of the shards (on the realistic
    /// captures, 0.33 or 0.41 of the packets for 93 of 256 shards:
    /// docs/benchmarks.md, the thirty-fourth session's reader work): what
    /// balances the units' time, or not.
    pub unit_packets: Vec<u64>,
}

/// CPU seconds each thread of a pass ran (Linux: the scheduler's own
/// count, `/proc/thread-self/schedstat`; `None` elsewhere): what limits
/// the pass, whatever else runs on the machine.
#[derive(Debug, Clone, Default)]
pub struct ThreadCpu {
    /// The reader (the calling thread, while it read), its own share's
    /// judging included.
    pub reader_s: Option<f64>,
    /// Of which judging its own share of the shards (wall time of its
    /// batches: the thread's CPU time while judging, short of any time it
    /// was not scheduled), when it had one.
    pub reader_judging_s: Option<f64>,
    /// Each worker thread, its loop over its packets.
    pub workers_s: Vec<Option<f64>>,
    /// Each worker thread's finish of its open flows after its loop.
    pub workers_finish_s: Vec<Option<f64>>,
    /// The reader's share's finish of its open flows (on the reader's
    /// thread, after the reading), when it had a share.
    pub reader_finish_s: Option<f64>,
    /// The writer, when there was one.
    pub writer_s: Option<Option<f64>>,
}

/// Nanoseconds this thread has run on a CPU, from the scheduler's count.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// CPU seconds since `t0` (a [`thread_cpu_ns`] reading of this thread).
#[allow(clippy::cast_precision_loss)]
fn cpu_since(t0: Option<u64>) -> Option<f64> {
    let t1 = thread_cpu_ns()?;
    Some(t1.saturating_sub(t0?) as f64 / 1e9)
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
    /// A temporary file of the flow records could not be written or read.
    #[error("flow records' temporary file in {}: {source}; give it room: free space there, or point the flow records elsewhere (they spill beside `--flows`, else beside `--report`, else in `$TMPDIR`)", dir.display())]
    Spool {
        /// Its directory.
        dir: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A thread failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<spool::SpoolError> for EngineError {
    fn from(e: spool::SpoolError) -> Self {
        EngineError::Spool {
            dir: e.dir,
            source: e.source,
        }
    }
}

/// A packet handed to a worker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item {
    pub(crate) packet: Packet,
    pub(crate) tcp_flags: u8,
    /// [`crate::parse::PacketMeta::tcp_header_cut`].
    pub(crate) tcp_header_cut: bool,
    pub(crate) ts_ns: u64,
    pub(crate) wire_len: u32,
    pub(crate) shard: u16,
    /// The packet's flow key and connection key with its direction,
    /// made with the parse.
    pub(crate) keys: Keys,
}

impl Item {
    /// [`crate::parse::PacketMeta::flags`].
    #[inline(always)]
    pub(crate) fn flags(&self) -> Option<u8> {
        (!self.tcp_header_cut).then_some(self.tcp_flags)
    }
}

/// A record's place in its block and its fields.
pub(crate) use crate::capture::RecordSpan as Rec;

/// A record handed to a worker: where it is, its shard and its input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WorkRec {
    rec: Rec,
    shard: u16,
    /// The input the reader read it from (in the padding after `shard`:
    /// the struct stays 32 bytes), so the `tcp-header-cut` warning names
    /// the inputs it counted in (since the twenty-eighth session; read
    /// only for a batch that holds such packets, [`WorkBatch::one_input`]).
    input: u32,
}

impl WorkRec {
    /// The worker's item of this record: its parsed packet `meta` and
    /// `keys`.
    #[inline(always)]
    fn item(&self, meta: &parse::PacketMeta, keys: Keys) -> Item {
        Item {
            packet: meta.packet,
            tcp_flags: meta.tcp_flags,
            tcp_header_cut: meta.tcp_header_cut,
            ts_ns: self.rec.ts_ns,
            wire_len: self.rec.orig_len,
            shard: self.shard,
            keys,
        }
    }
}

// INVARIANT: `input` fits in the padding after `shard`: the batches the
// reader fills per record stay as large as they were.
const _: () = assert!(std::mem::size_of::<WorkRec>() == 32);

/// The records of one chunk a worker owns, as offsets into the chunk's
/// block.
pub(crate) struct WorkBatch {
    chunk: u64,
    block: Arc<Vec<u8>>,
    recs: Vec<WorkRec>,
}

impl WorkBatch {
    /// The input of every record, when they are all of one (a source's
    /// inputs are read one after the other, so a batch's input only grows:
    /// its first and last records tell); `None` for a batch across inputs.
    pub(crate) fn one_input(&self) -> Option<u32> {
        let (first, last) = (self.recs.first()?, self.recs.last()?);
        (first.input == last.input).then_some(first.input)
    }

    /// Calls `f` with the input of each record whose TCP header the
    /// capture cut before its flags ([`Item::tcp_header_cut`]), parsing
    /// the records again: for a batch across inputs that holds such
    /// packets only ([`WorkBatch::one_input`]).
    #[cold]
    #[inline(never)]
    pub(crate) fn header_cut_inputs(&self, mut f: impl FnMut(u32)) {
        for r in &self.recs {
            let data = r.rec.data(&self.block);
            let cut = parse::plain_then(r.rec.linktype, data, |meta, _| meta.tcp_header_cut)
                .unwrap_or_else(|| {
                    matches!(parse_frame(r.rec.linktype, data), Parsed::Ip(m) if m.tcp_header_cut)
                });
            if cut {
                f(r.input);
            }
        }
    }

    /// Parses each record and calls `f` with the packet, in order; `None`
    /// for a frame that is not an IP packet after all, which the reader
    /// never sends (it checked or parsed each one).
    pub(crate) fn each(&self, mut f: impl FnMut(Option<&Item>)) {
        for r in &self.recs {
            let data = r.rec.data(&self.block);
            // The common shape at fixed offsets, its keys straight from
            // the numbers; anything else through the full parse.
            // Inlined into each family's branch of `plain_then`, with
            // `f` (the worker's, inlined in turn): left to the compiler,
            // it was called out of line once `f` was inlined into it.
            let plain = parse::plain_then(
                r.rec.linktype,
                data,
                #[inline(always)]
                |meta, t| f(Some(&r.item(&meta, Keys::plain(&t)))),
            );
            if plain.is_some() {
                continue;
            }
            match parse_frame(r.rec.linktype, data) {
                Parsed::Ip(meta) => f(Some(&r.item(&meta, Keys::of(&meta.packet)))),
                _ => f(None),
            }
        }
    }

    /// Records in the batch.
    pub(crate) fn len(&self) -> usize {
        self.recs.len()
    }

    /// The emptied descriptor list, for the reader to refill (the block is
    /// let go here).
    pub(crate) fn into_recs(self) -> Vec<WorkRec> {
        let mut v = self.recs;
        v.clear();
        v
    }
}

pub(crate) struct ResultBatch {
    chunk: u64,
    worker: u8,
    codes: Vec<u8>,
}

/// Per chunk, for the writer: which worker judged each record, and each
/// record's place in the chunk's block.
#[derive(Default)]
pub(crate) struct ChunkDesc {
    chunk: u64,
    /// A bit per worker that judged a record of the chunk (whose codes
    /// the writer waits for).
    workers: u64,
    /// Per record of the chunk: its worker, [`NON_IP`] or [`MALFORMED`].
    assign: Vec<u8>,
    /// Per record of the chunk, as `assign` (filled when writing): where
    /// it lies, non-IP records too (never written), so the reader copies
    /// its spans in bulk instead of one by one (session 31).
    metas: Vec<Rec>,
    /// The input of each of `metas` ([`Judged::input`]).
    inputs: Vec<u32>,
    block: Option<Arc<Vec<u8>>>,
}

pub(crate) const NON_IP: u8 = 255;
pub(crate) const MALFORMED: u8 = 254;

fn open_out(sink: Option<PcapSink>, format: OutFormat) -> Result<Option<Out>, EngineError> {
    let Some(s) = sink else { return Ok(None) };
    let name = s.name;
    match PcapOut::create(s.out, format) {
        Ok(pcap) => Ok(Some(Out::new(name, pcap, s.on_finish))),
        Err(source) => Err(EngineError::Output { path: name, source }),
    }
}

/// The reader's side of the hand-off.
struct Reader<'s, X: Extra> {
    /// Worker threads.
    n: usize,
    /// The worker of each shard ([`Plan::owners`], looked up: a division
    /// per packet was the reader's largest single cost).
    worker_of: [u8; conntrack::SHARDS],
    txs: Vec<Sender<WorkBatch>>,
    /// The reader's own share of the shards, judged on its thread.
    own: Option<OnReader<X>>,
    /// How the shards are split (the reader's share as chosen).
    plan: Plan,
    /// Whether the reader's share is still to be chosen from the first
    /// block's packets ([`plan::auto_reader_shards`]).
    adapt: bool,
    desc_tx: Option<Sender<ChunkDesc>>,
    rec_pool: Receiver<Vec<WorkRec>>,
    desc_pool: Receiver<ChunkDesc>,
    batches: Vec<Vec<WorkRec>>,
    /// Records handed to each unit so far ([`EngineOutput::unit_packets`]),
    /// counted a batch at a time.
    handed: Vec<u64>,
    desc: ChunkDesc,
    chunk: u64,
    /// The block the current chunk's records lie in: the source's (shared
    /// blocks) or the reader's own, filled by copying (other sources).
    block: Option<Arc<Vec<u8>>>,
    /// Whether the source shares its blocks.
    shared: bool,
    /// The reader's own blocks handed out earlier, reused once free.
    spare: Vec<Arc<Vec<u8>>>,
    counters: Counters,
    /// Copies of a packet seen on several interfaces: left out with
    /// `--dedup`, else looked for to warn ([`copies`]).
    copies: copies::Watch,
    /// `--decap vxlan` ([`decap`]), and the records that were not VXLAN.
    decap_vxlan: bool,
    not_vxlan: u64,
    /// `--node-local` ([`node_local`]).
    node_local: node_local::NodeLocal,
    /// Records of link types not decoded, per (input, link type).
    unsupported: HashMap<(usize, u32), u64>,
    /// Malformed records captured shorter than the packet was (cut by
    /// the capture's snapshot length), per input.
    cut: HashMap<usize, u64>,
    warnings: Vec<RunWarning>,
    source: &'s mut dyn PacketSource,
}

/// An own block nobody else holds (a spare one whose holders have let go,
/// else a new one), empty.
fn take_free(spare: &mut Vec<Arc<Vec<u8>>>) -> Arc<Vec<u8>> {
    let free = spare.iter_mut().position(|b| Arc::get_mut(b).is_some());
    let mut b = match free {
        Some(i) => spare.swap_remove(i),
        None => Arc::new(Vec::with_capacity(OWN_BLOCK)),
    };
    if let Some(v) = Arc::get_mut(&mut b) {
        v.clear();
    }
    b
}

impl<X: Extra> Reader<'_, X> {
    fn fresh_recs(&self) -> Vec<WorkRec> {
        self.rec_pool
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK / self.n + 16))
    }

    /// Sends the chunk; `false` when a receiver has gone.
    fn flush(&mut self) -> bool {
        if self.desc.assign.is_empty() {
            return true;
        }
        let block = match &self.block {
            Some(b) => Arc::clone(b),
            None => Arc::new(Vec::new()),
        };
        // The workers the writer waits for: those given records (the
        // reader's share among them).
        self.desc.workers = self
            .batches
            .iter()
            .enumerate()
            .filter(|(w, b)| *w < 64 && !b.is_empty())
            .fold(0, |m, (w, _)| m | 1 << w);
        for (h, b) in self.handed.iter_mut().zip(&self.batches) {
            *h += b.len() as u64;
        }
        for w in 0..self.n {
            if self.batches[w].is_empty() {
                continue;
            }
            let fresh = self.fresh_recs();
            let recs = std::mem::replace(&mut self.batches[w], fresh);
            let b = WorkBatch {
                chunk: self.chunk,
                block: Arc::clone(&block),
                recs,
            };
            if self.txs[w].send(b).is_err() {
                return false;
            }
        }
        // The reader's own share, once the worker threads have theirs.
        if let Some(own) = &mut self.own
            && let Some(batch) = self.batches.get_mut(usize::from(own.id))
            && !batch.is_empty()
        {
            let b = WorkBatch {
                chunk: self.chunk,
                block: Arc::clone(&block),
                recs: std::mem::take(batch),
            };
            let (recs, ok) = own.judge(b);
            *batch = recs;
            if !ok {
                return false;
            }
        }
        let mut next = self.desc_pool.try_recv().unwrap_or_default();
        next.assign.clear();
        next.metas.clear();
        next.inputs.clear();
        next.block = None;
        next.chunk = self.chunk + 1;
        let mut d = std::mem::replace(&mut self.desc, next);
        if let Some(tx) = &self.desc_tx {
            d.block = Some(block);
            if tx.send(d).is_err() {
                return false;
            }
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
        let name = self.source.input_name(input);
        for (lt, count) in lts {
            self.warnings.push(
                RunWarning::new(
                    RunWarningCode::UnknownLinkType,
                    format!(
                        "{name}: {count} record(s) of link type {lt}, which zprsim does not decode, counted as non_ip"
                    ),
                )
                .file(&name),
            );
        }
        self.unsupported.retain(|(i, _), _| *i != input);
        if let Some(count) = self.cut.remove(&input) {
            self.warnings.push(
                RunWarning::new(
                    RunWarningCode::SnapshotLength,
                    format!(
                        "{name}: {count} record(s) counted as malformed were captured shorter than the packet (cut by the capture's snapshot length before their headers ended): capture with a larger snapshot length (`tcpdump -s 0`, the default of recent tcpdump) to judge them"
                    ),
                )
                .file(&name),
            );
        }
    }

    /// Inputs read one after the other are replayed in the order given;
    /// one that starts more than a second before the input read before it
    /// ended (rotated captures given out of order, or two captures of one
    /// time span) makes connection tracking see time go back: a warning
    /// says so.
    fn check_order(&mut self, before: usize, end_ns: u64, now: usize, first_ns: u64) {
        const SLACK_NS: u64 = 1_000_000_000;
        if !self.source.sequential() || first_ns.saturating_add(SLACK_NS) >= end_ns {
            return;
        }
        let back = end_ns - first_ns;
        let name = self.source.input_name(now);
        self.warnings.push(
            RunWarning::new(
                RunWarningCode::InputsOutOfOrder,
                format!(
                    "{name}: starts {}.{:03} s before {} ended, and inputs are replayed in the order given: connection tracking saw time go back (give rotated captures in time order; merge captures of one time span with `mergecap` first)",
                    back / 1_000_000_000,
                    back % 1_000_000_000 / 1_000_000,
                    self.source.input_name(before),
                ),
            )
            .file(name),
        );
    }

    /// The next record of a source that does not share blocks, copied
    /// into the current own block (a full block ends the chunk first);
    /// `Err(None)` at the end, `Err(Some(e))` on a read error, and
    /// `Ok(None)` when a receiver has gone.
    fn next_copied(&mut self) -> Result<Option<Rec>, Option<String>> {
        let to_u32 = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        // Other sources: the record is copied into an own block. The
        // current chunk's records are in `self.block`, which nobody else
        // holds until the chunk is sent; an empty chunk starts a block
        // (the last one again, when nobody else holds it any more).
        let chunk_empty = self.desc.assign.is_empty();
        if chunk_empty {
            let reuse = self.block.as_mut().and_then(Arc::get_mut);
            match reuse {
                Some(v) => v.clear(),
                None => {
                    let fresh = take_free(&mut self.spare);
                    if let Some(old) = self.block.replace(fresh)
                        && self.spare.len() < SPARE_BLOCKS
                        && old.capacity() <= 2 * OWN_BLOCK
                    {
                        self.spare.push(old);
                    }
                }
            }
        }
        let (rec, switch) = match self.source.next_record() {
            None => return Err(None),
            Some(Err(e)) => return Err(Some(e)),
            Some(Ok(r)) => {
                let used = self.block.as_ref().map_or(0, |b| b.len());
                // A full block ends the chunk: this record starts the next
                // block (it cannot be copied later: it is the source's).
                let mut switch = (!chunk_empty && used + r.data.len() > OWN_BLOCK)
                    .then(|| take_free(&mut self.spare));
                let target = match &mut switch {
                    Some(b) => Some(b),
                    None => self.block.as_mut(),
                };
                let Some(v) = target.and_then(Arc::get_mut) else {
                    return Err(Some(
                        "internal error: a block in use was to be written".into(),
                    ));
                };
                let start = v.len();
                v.extend_from_slice(r.data);
                let rec = Rec {
                    ts_ns: r.ts_ns,
                    start: to_u32(start),
                    len: to_u32(r.data.len()),
                    orig_len: r.orig_len,
                    linktype: r.linktype,
                };
                (rec, switch)
            }
        };
        if let Some(b) = switch {
            if !self.flush() {
                return Ok(None);
            }
            if let Some(old) = self.block.replace(b)
                && self.spare.len() < SPARE_BLOCKS
                && old.capacity() <= 2 * OWN_BLOCK
            {
                self.spare.push(old);
            }
        }
        Ok(Some(rec))
    }

    /// The records of `spans`, all in `block` (the current one): each
    /// classified, to its worker's batch, and to the chunk (with its place
    /// and input, for the writer, when `WRITING`). Returns `false` when
    /// `stop` was seen before the last of them (the records before it are
    /// taken; it is looked at every [`STOP_EVERY`] records).
    ///
    /// The hot loop of the reader: per record a fixed-offset peek
    /// (`peek.rs`), a table lookup for the worker, and stores into
    /// descriptor arrays reused from chunk to chunk (the chunk's are
    /// reserved here once per call; the workers' batches keep the capacity
    /// they grew to), so nothing grows in steady state.
    fn take_all<const WRITING: bool, const WATCHING: bool>(
        &mut self,
        block: &[u8],
        spans: &[Rec],
        input: usize,
        stop: Option<&AtomicBool>,
    ) -> bool {
        let n = spans.len();
        self.desc.assign.reserve(n);
        if WRITING {
            self.desc.metas.reserve(n);
            self.desc.inputs.reserve(n);
        }
        let input32 = u32::try_from(input).unwrap_or(u32::MAX);
        for (k, group) in spans.chunks(STOP_EVERY).enumerate() {
            if k > 0 && stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                return false;
            }
            // The writer's places of the group's records, in bulk (each
            // record's own when it may change below).
            if WRITING && !WATCHING {
                self.desc.metas.extend_from_slice(group);
                let to = self.desc.inputs.len() + group.len();
                self.desc.inputs.resize(to, input32);
            }
            for rec in group {
                let watched;
                let rec = if WATCHING {
                    let as_read = *rec;
                    match self.watch(as_read, block) {
                        Some(r) => {
                            watched = r;
                            &watched
                        }
                        None => {
                            // Left out (a copy, node-local): counted, and
                            // nothing else: the writer sees it as a record
                            // that is not IP.
                            self.desc.assign.push(NON_IP);
                            if WRITING {
                                self.desc.metas.push(as_read);
                                self.desc.inputs.push(input32);
                            }
                            continue;
                        }
                    }
                } else {
                    rec
                };
                let data = rec.data(block);
                let assign = match peek::shard(rec.linktype, data) {
                    Some(shard) => self.send_to_worker(*rec, shard, input32),
                    None => self.take_slow(*rec, data, input),
                };
                if WRITING && WATCHING {
                    // The inner frame of a decapsulated record.
                    self.desc.metas.push(*rec);
                    self.desc.inputs.push(input32);
                }
                self.desc.assign.push(assign);
            }
        }
        true
    }

    /// `--decap vxlan`, `--node-local` and `--dedup` on one record: the
    /// record to judge (its inner frame when it is VXLAN), or `None` for
    /// a record left out (counted). [`shape::Shape`] takes the same steps
    /// in the same order for `explain --capture` (keep them alike).
    #[inline(never)]
    fn watch(&mut self, rec: Rec, block: &[u8]) -> Option<Rec> {
        let mut rec = rec;
        if self.decap_vxlan {
            match decap::decap(&rec, rec.data(block)) {
                Some(inner) => {
                    rec = inner;
                    self.counters.decapsulated += 1;
                }
                None => self.not_vxlan += 1,
            }
        }
        if self.node_local.holds(rec.linktype, rec.data(block)) {
            self.counters.node_local += 1;
            return None;
        }
        if self
            .copies
            .leave_out(rec.linktype, rec.data(block), rec.orig_len, rec.ts_ns)
        {
            self.counters.copies += 1;
            return None;
        }
        Some(rec)
    }

    /// Whether records are looked at before their shard: `--decap`,
    /// `--dedup`, or copies still looked for in an `any`-device capture.
    /// Otherwise [`Reader::take_all`] runs without those steps (measured:
    /// 28 instructions a record more with them, callgrind).
    fn watching(&self) -> bool {
        self.decap_vxlan || self.node_local.active() || self.copies.active()
    }

    /// The reader's share under [`ReaderShare::Auto`], from the
    /// connections among the first records (at most
    /// [`plan::AUTO_SAMPLE`]), before any record is handed on: so every
    /// shard has one owner for the whole pass, and the outputs are those
    /// of any other share.
    #[cold]
    #[inline(never)]
    fn choose_share(&mut self, block: &[u8], spans: &[Rec]) {
        let words = spans
            .iter()
            .filter_map(|r| match parse_frame(r.linktype, r.data(block)) {
                Parsed::Ip(meta) => Some(conntrack::shard_word(&meta.packet)),
                _ => None,
            });
        let (seen, connections) = plan::distinct_words(words);
        self.plan = self
            .plan
            .with_reader_shards(plan::auto_reader_shards(seen, connections));
        self.worker_of = self.plan.owners();
        // Which shards: by their packets across the whole capture, where
        // the source can tell ([`PacketSource::spread_sample`]), so that
        // the reader's share of the packets is its share of the shards.
        let mut counts = [0u64; conntrack::SHARDS];
        let mut sampled = 0usize;
        let spread = self.source.spread_sample(&mut |lt, d| {
            let shard = peek::shard(lt, d)
                .map(usize::from)
                .or_else(|| match parse_frame(lt, d) {
                    Parsed::Ip(meta) => Some(conntrack::shard_of(&meta.packet)),
                    _ => None,
                });
            if let Some(c) = shard.and_then(|s| counts.get_mut(s)) {
                *c += 1;
                sampled += 1;
            }
        });
        if spread && sampled >= plan::SPREAD_MIN {
            self.worker_of = plan::weighted_owners(self.plan, &counts);
            self.plan.reader_shards = plan::reader_count(self.plan, &self.worker_of);
        }
    }

    /// An IP record of `shard`, read from `input`, to its worker's batch;
    /// returns the worker.
    #[inline]
    fn send_to_worker(&mut self, rec: Rec, shard: u16, input: u32) -> u8 {
        let w = self.worker_of[usize::from(shard) % conntrack::SHARDS];
        if let Some(b) = self.batches.get_mut(usize::from(w)) {
            b.push(WorkRec { rec, shard, input });
        }
        w
    }

    /// A record the peek does not read: the full parse decides.
    #[cold]
    #[inline(never)]
    fn take_slow(&mut self, rec: Rec, data: &[u8], input: usize) -> u8 {
        let parsed = parse_frame(rec.linktype, data);
        // The one classification explain and the summary use too (cooked
        // `lo` frames included).
        if let Some(why) = unjudged::classify_frame(rec.linktype, data, &parsed) {
            self.counters.count_unjudged(why);
            return NON_IP;
        }
        match parsed {
            Parsed::Ip(meta) => {
                let shard = u16::try_from(conntrack::shard_of(&meta.packet)).unwrap_or(0);
                self.send_to_worker(rec, shard, u32::try_from(input).unwrap_or(u32::MAX))
            }
            Parsed::NonIp => {
                self.counters.non_ip += 1;
                NON_IP
            }
            Parsed::UnsupportedLinkType(lt) => {
                self.counters.non_ip += 1;
                *self.unsupported.entry((input, lt)).or_insert(0) += 1;
                NON_IP
            }
            Parsed::Malformed { .. } => {
                self.counters.record_malformed(rec.orig_len);
                if u32::try_from(data.len()).is_ok_and(|n| n < rec.orig_len) {
                    *self.cut.entry(input).or_insert(0) += 1;
                }
                MALFORMED
            }
        }
    }

    /// The next records into `spans`, all in `self.block` (a new block
    /// ends the chunk first), and their input; `Err(None)` at the end or
    /// when a receiver has gone, `Err(Some(e))` on a read error.
    fn next_records(&mut self, spans: &mut Vec<Rec>) -> Result<usize, Option<String>> {
        spans.clear();
        if !self.shared {
            return match self.next_copied() {
                Ok(Some(r)) => {
                    spans.push(r);
                    Ok(self.source.input())
                }
                Ok(None) => Err(None),
                Err(e) => Err(e),
            };
        }
        let room = CHUNK.saturating_sub(self.desc.assign.len()).max(1);
        let (new_block, input) = match self.source.next_shared(spans, room) {
            None => return Err(None),
            Some(Err(e)) => return Err(Some(e)),
            Some(Ok(b)) => {
                let same = self.block.as_ref().is_some_and(|x| Arc::ptr_eq(x, b.block));
                ((!same).then(|| Arc::clone(b.block)), b.input)
            }
        };
        if let Some(b) = new_block {
            if !self.flush() {
                return Err(None);
            }
            self.block = Some(b);
        }
        Ok(input)
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
        let mut spans: Vec<Rec> = Vec::with_capacity(CHUNK);
        // The input of the last chunk and its last record's time (one
        // read per chunk, for [`Reader::check_order`]).
        let mut last_ts: Option<(usize, u64)> = None;
        'read: loop {
            if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                interrupted = true;
                break;
            }
            let now = match self.next_records(&mut spans) {
                Ok(i) => i,
                Err(e) => {
                    error = e;
                    break;
                }
            };
            if now != input {
                self.input_done(input);
                if let (Some((before, end)), Some(first)) = (last_ts, spans.first()) {
                    self.check_order(before, end, now, first.ts_ns);
                }
                input = now;
            }
            if let Some(r) = spans.last() {
                last_ts = Some((now, r.ts_ns));
            }
            // The block is moved out for the loop (no reference count
            // change) and back.
            let block = self.block.take();
            let bytes = block.as_deref().map_or(&[][..], Vec::as_slice);
            if std::mem::take(&mut self.adapt) && self.chunk == 0 && self.desc.assign.is_empty() {
                self.choose_share(bytes, &spans);
            }
            let whole = if writing {
                if self.watching() {
                    self.take_all::<true, true>(bytes, &spans, now, stop)
                } else {
                    self.take_all::<true, false>(bytes, &spans, now, stop)
                }
            } else if self.watching() {
                self.take_all::<false, true>(bytes, &spans, now, stop)
            } else {
                self.take_all::<false, false>(bytes, &spans, now, stop)
            };
            self.block = block;
            if !whole {
                interrupted = true;
                break 'read;
            }
            // A live source with nothing more ready: hand on what is read.
            if !self.shared && self.source.idle() && !self.flush() {
                break;
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
        self.warnings.extend(self.copies.warning());
        if self.not_vxlan > 0 {
            self.warnings.push(RunWarning::new(
                RunWarningCode::NotVxlan,
                format!(
                    "--decap vxlan: {} record(s) were not VXLAN on UDP {} and were judged as captured",
                    self.not_vxlan,
                    decap::VXLAN_PORT
                ),
            ));
        }
        if let Some(p) = progress {
            let (done, total) = self.source.progress();
            p(done, total.max(done));
        }
        (error, interrupted)
    }
}

/// Judges every packet of `source` against each of `scenarios` (at least
/// one; exactly two with [`EngineConfig::compare`]) and feeds the sinks.
///
/// # Errors
/// When an output cannot be written or a thread fails. A source that
/// cannot be read to its end is not an error here: everything read is
/// judged and written, and [`EngineOutput::error`] says where and why.
pub fn run(
    scenarios: &[Arc<Compiled>],
    source: &mut dyn PacketSource,
    cfg: &EngineConfig,
    sinks: Sinks<'_>,
) -> Result<EngineOutput, EngineError> {
    if scenarios.is_empty() {
        return Err(EngineError::Internal("no scenario to judge against".into()));
    }
    if cfg.compare {
        if scenarios.len() != 2 {
            return Err(EngineError::Internal(
                "a compared pass takes exactly two scenarios".into(),
            ));
        }
        return run_with::<flows::Change>(scenarios, source, cfg, sinks);
    }
    run_with::<()>(scenarios, source, cfg, sinks)
}

/// [`run`] with flow records keeping `X` ([`Extra`]).
#[allow(clippy::too_many_lines)]
fn run_with<X: Extra>(
    scenarios: &[Arc<Compiled>],
    source: &mut dyn PacketSource,
    cfg: &EngineConfig,
    sinks: Sinks<'_>,
) -> Result<EngineOutput, EngineError> {
    let Some((first, others)) = scenarios.split_first() else {
        return Err(EngineError::Internal("no scenario to judge against".into()));
    };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let plan = Plan::of(cfg, cores);
    let n = plan.threads;
    let owned = usize::from(plan.reader_shards > 0);
    // Judging units: the worker threads and the reader's share.
    let m = n + owned;
    let q = cfg.queue_chunks.max(1);
    let mut link_types = source.link_types();
    if cfg.decap_vxlan {
        // Inner frames are Ethernet, whatever the outer link type.
        link_types.push(crate::parse::linktype::ETHERNET);
    }
    link_types.sort_unstable();
    link_types.dedup();
    let format = if source.link_types_may_grow() {
        OutFormat::PcapNg
    } else {
        OutFormat::for_link_types(&link_types)
    };
    let writer = Writer {
        allowed: open_out(sinks.allowed, format)?,
        dropped: open_out(sinks.dropped, format)?,
        verdicts: sinks.verdicts,
        scenarios: scenarios.len(),
    };
    let writing = writer.allowed.is_some() || writer.dropped.is_some() || writer.verdicts.is_some();

    let t0 = Instant::now();
    // Room for every unit's codes of a chunk: the reader sends its own
    // before the chunk's descriptor, which the writer waits for.
    let (res_tx, res_rx) = bounded::<ResultBatch>(q * m);
    let (desc_tx, desc_rx) = bounded::<ChunkDesc>(q * 2);
    let (item_back_tx, item_back_rx) = bounded::<Vec<WorkRec>>(q * n + 2 * n);
    let (desc_back_tx, desc_back_rx) = bounded::<ChunkDesc>(q * 2 + 2);
    // The workers' verdict codes, emptied by the writer, back for reuse.
    let (codes_back_tx, codes_back_rx) = bounded::<Vec<u8>>(q * m + 2 * m);
    let progress = sinks.progress;
    let sinks_flows = sinks.flows;
    let sinks_pairs = sinks.pairs;
    let stop = cfg.stop.clone();
    let outcome = std::thread::scope(|scope| -> Result<_, EngineError> {
        let mut txs: Vec<Sender<WorkBatch>> = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for id in 0..n {
            let (tx, rx) = bounded::<WorkBatch>(q);
            txs.push(tx);
            let results = writing.then(|| res_tx.clone());
            let back = item_back_tx.clone();
            let codes_pool = codes_back_rx.clone();
            let id8 = u8::try_from(id).unwrap_or(u8::MAX);
            handles.push(scope.spawn(move || {
                // Built on its own thread, beside the reader's first
                // blocks: its tables, memo and histograms (~1 MB zeroed,
                // ~250 page faults each) were set up one worker after the
                // other on the main thread before the first record was
                // read (docs/benchmarks.md, the twenty-ninth session).
                let w = Worker::<X>::new(first, others, cfg);
                let t = thread_cpu_ns();
                let w = worker_loop(w, id8, rx, results, back, codes_pool);
                let looped = t0.elapsed();
                let cpu = cpu_since(t);
                let t = thread_cpu_ns();
                // Its open flows finished here, beside the other units'
                // (after the join, on the main thread, one unit after the
                // other, they were ~11 M instructions at the pass's end
                // on the 10k-VNIC capture: docs/benchmarks.md, the
                // thirtieth session).
                let f = w.finish();
                (f, cpu, cpu_since(t), looped)
            }));
        }
        let own = (owned > 0).then(|| {
            OnReader::new(
                Worker::<X>::new(first, others, cfg),
                u8::try_from(n).unwrap_or(u8::MAX),
                writing.then(|| res_tx.clone()),
                codes_back_rx.clone(),
            )
        });
        drop(res_tx);
        drop(item_back_tx);
        let writer_handle = writing.then(|| {
            scope.spawn(move || {
                let t = thread_cpu_ns();
                let r = writer.run(desc_rx, res_rx, desc_back_tx, codes_back_tx);
                r.map(|w| (w, cpu_since(t)))
            })
        });

        let mut reader = Reader {
            n,
            worker_of: plan.owners(),
            txs,
            own,
            plan,
            adapt: cfg.reader_share == ReaderShare::Auto
                && plan.reader_shards > 0
                && source.shares_blocks(),
            desc_tx: writing.then_some(desc_tx),
            rec_pool: item_back_rx,
            desc_pool: desc_back_rx,
            batches: (0..m).map(|_| Vec::with_capacity(CHUNK / m + 16)).collect(),
            handed: vec![0; m],
            desc: ChunkDesc::default(),
            chunk: 0,
            block: None,
            shared: source.shares_blocks(),
            spare: Vec::new(),
            counters: Counters::default(),
            copies: copies::Watch::new(
                cfg.dedup,
                link_types.iter().any(|&lt| {
                    matches!(
                        lt,
                        crate::parse::linktype::LINUX_SLL | crate::parse::linktype::LINUX_SLL2
                    )
                }),
            ),
            decap_vxlan: cfg.decap_vxlan,
            not_vxlan: 0,
            node_local: node_local::NodeLocal::new(&cfg.node_local),
            unsupported: HashMap::new(),
            cut: HashMap::new(),
            warnings: Vec::new(),
            source,
        };
        let t = thread_cpu_ns();
        let (error, interrupted) = reader.run(stop.as_deref(), progress);
        let reader_cpu = cpu_since(t);
        let mut looped = t0.elapsed();
        let Reader {
            txs,
            desc_tx,
            own,
            counters,
            warnings,
            plan,
            handed,
            ..
        } = reader;
        drop(txs);
        drop(desc_tx);
        // Each unit's result ([`Worker::finish`]), the reader's share first.
        let mut workers = Vec::with_capacity(m);
        let mut cpu = ThreadCpu {
            reader_s: reader_cpu,
            reader_judging_s: None,
            workers_s: Vec::with_capacity(n),
            workers_finish_s: Vec::with_capacity(n),
            reader_finish_s: None,
            writer_s: None,
        };
        if let Some(o) = own {
            #[allow(clippy::cast_precision_loss)]
            let s = o.worker.busy_ns as f64 / 1e9;
            cpu.reader_judging_s = Some(s);
            // Finished while the worker threads judge their last batches.
            let t = thread_cpu_ns();
            workers.push(o.worker.finish());
            cpu.reader_finish_s = cpu_since(t);
        }
        for h in handles {
            let (w, c, f, l) = h
                .join()
                .map_err(|_| EngineError::Internal("a worker thread panicked".into()))?;
            workers.push(w);
            cpu.workers_s.push(c);
            cpu.workers_finish_s.push(f);
            looped = looped.max(l);
        }
        let written = match writer_handle {
            Some(h) => {
                let (w, c) = h
                    .join()
                    .map_err(|_| EngineError::Internal("the writer thread panicked".into()))??;
                cpu.writer_s = Some(c);
                w
            }
            None => (0, 0),
        };
        Ok((
            workers,
            written,
            counters,
            warnings,
            error,
            interrupted,
            cpu,
            (plan, handed),
            looped,
        ))
    })?;
    let (workers, written, reader_counters, warnings, error, interrupted, cpu, split, looped) =
        outcome;
    // The split, and the packets each unit judged.
    let (plan, unit_packets) = split;
    let duration_s = t0.elapsed().as_secs_f64();

    let mut outs: Vec<ScenarioOutput> = scenarios
        .iter()
        .map(|_| ScenarioOutput {
            counters: reader_counters.clone(),
            flows: Vec::new(),
            top_dropped: Vec::new(),
            rule_stats: None,
            state: StateSizes::default(),
            spool: SpoolStats::default(),
            flows_cut: None,
        })
        .collect();
    let mut hist = new_hist();
    let mut tallies: Vec<Vec<rule_stats::RuleTally>> =
        scenarios.iter().map(|_| Vec::new()).collect();
    let mut packet_hist = new_hist();
    let mut results = workers;
    let mut warnings = warnings;
    warnings.extend(tcp_header_cut_warnings(
        results.iter().map(|r| r.tcp_header_cut.as_slice()),
        |i| source.input_name(i),
    ));
    let closed = results.iter().map(|r| r.first.0.flows).sum();
    warnings.extend(spool_cut_warning(
        results.iter_mut().filter_map(|r| r.cut.take()),
        closed,
        cfg.flow_spool,
    ));
    for r in &mut results {
        for (t, rt) in tallies.iter_mut().zip(std::mem::take(&mut r.rules)) {
            t.extend(rt);
        }
    }
    // Each scenario's kept records, one per worker: the first scenario's
    // (which keep nothing more, [`Worker`]) and the others'.
    let mut kept_first: Vec<flows::Kept> = Vec::with_capacity(results.len());
    let mut kept: Vec<Vec<flows::Kept<X>>> = others.iter().map(|_| Vec::new()).collect();
    for r in results {
        for (o, z) in outs.iter_mut().zip(&r.sizes) {
            o.state.add(z);
        }
        let mut o = outs.iter_mut();
        if let Some(o) = o.next() {
            o.add_ended(&mut kept_first, r.first);
        }
        for ((o, k), e) in o.zip(&mut kept).zip(r.others) {
            o.add_ended(k, e);
        }
        let _ = hist.add(&r.hist);
        let _ = packet_hist.add(&r.packet_hist);
    }
    for (o, t) in outs.iter_mut().zip(tallies) {
        if cfg.rule_stats {
            o.rule_stats = Some(rule_stats::merge(t));
        }
        flows::trim_top(&mut o.top_dropped, cfg.top_flows);
    }
    if X::COMPARES {
        // A compared pass: both scenarios' records, side by side, to the
        // pairs.
        if let Some(sink) = sinks_pairs {
            X::pairs(kept_first, kept, sink)?;
        }
    } else {
        let mut flow_sink = sinks_flows;
        // A stop during the reading ended it, and every record of what was
        // read is written; one after it (a signal in the tail) cuts them.
        let stop = cfg.stop.as_deref().filter(|_| !interrupted);
        let mut o = outs.iter_mut();
        if let Some(o) = o.next() {
            o.take_flows(0, kept_first, &mut flow_sink, stop)?;
        }
        for (i, (o, k)) in o.zip(kept).enumerate() {
            o.take_flows(i + 1, k, &mut flow_sink, stop)?;
        }
    }
    Ok(EngineOutput {
        scenarios: outs,
        warnings,
        error,
        interrupted,
        duration_s,
        loops_s: looped.as_secs_f64(),
        batch_ns: hist,
        packet_ns: packet_hist,
        workers: m,
        plan,
        written,
        cpu,
        unit_packets,
    })
}

/// The `tcp-header-cut` warnings: per input (`name` names it), the TCP
/// packets captured through their ports but not their flags, judged with
/// none; `counts` are the judging units' counts per input index. One
/// warning per input that had any, in input order, naming it as the other
/// per-file warnings do (since the twenty-eighth session: one for the run,
/// naming none).
fn tcp_header_cut_warnings<'a>(
    counts: impl Iterator<Item = &'a [u64]>,
    name: impl Fn(usize) -> String,
) -> Vec<RunWarning> {
    let mut per_input: Vec<u64> = Vec::new();
    for c in counts {
        if per_input.len() < c.len() {
            per_input.resize(c.len(), 0);
        }
        for (total, n) in per_input.iter_mut().zip(c) {
            *total += n;
        }
    }
    per_input
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, count)| {
            let name = name(i);
            RunWarning::new(
                RunWarningCode::TcpHeaderCut,
                format!(
                    "{name}: {count} TCP packet(s) were captured through their ports but not their TCP flags (the capture's snapshot length, or their IP length, ends inside the TCP header) and were judged without flags: a FIN or RST among them did not shorten its connection's timeout, and an ACK did not mark a connection seen from its middle; capture with a larger snapshot length (`tcpdump -s 0`, or at least 54 bytes on Ethernet and IPv4) to read them"
                ),
            )
            .file(name)
        })
        .collect()
}

/// The `temporary-files-full` warning of a compared pass whose spools a
/// full disk stopped (`cuts`, one per worker that met it; `total` records
/// closed over all workers): what the files hold, what to do, and which
/// flows the pairs hold (the first each worker closed; the counts are of
/// every packet).
fn spool_cut_warning(
    cuts: impl Iterator<Item = flows::SpoolCut>,
    total: u64,
    bound: usize,
) -> Option<RunWarning> {
    let mut first: Option<spool::SpoolError> = None;
    let mut left_out = 0u64;
    for c in cuts {
        left_out += c.total.saturating_sub(c.kept);
        first.get_or_insert(c.error);
    }
    let e = first?;
    let dir = crate::output::shown(&e.dir);
    Some(RunWarning::new(
        RunWarningCode::TemporaryFilesFull,
        format!(
            "the temporary files in {dir} could not be written ({}): they hold both scenarios' flow records past the {bound} per worker held in memory, to be compared; the flows compared (classes, groups, `--flows`) are the first {} of the {total} flow record(s), in the order they ended, and the packet counts are of every packet read; give them room: free space in {dir}, or point them elsewhere (they are written beside `--flows`, else beside `--report`, else in `$TMPDIR`: `TMPDIR=/var/tmp zprsim diff ...`)",
            crate::output::io_message(&e.source),
            total.saturating_sub(left_out),
        ),
    ))
}

impl ScenarioOutput {
    /// Adds one worker's end of this scenario ([`worker::Ended`]): its
    /// counters, spool figures and top dropped flows here, its kept records
    /// to `kept`.
    fn add_ended<X: Extra>(&mut self, kept: &mut Vec<flows::Kept<X>>, (c, f, t): worker::Ended<X>) {
        self.counters.add(&c);
        self.spool.add(&f.spool);
        kept.push(f);
        self.top_dropped.extend(t);
    }

    /// Hands this scenario's (`i`) kept records, one [`flows::Kept`] per
    /// worker, to `flow_sink` in the flow log's order, or to
    /// [`ScenarioOutput::flows`] without a sink. `stop` set (a signal after
    /// the reading) ends the sink's records at the next one
    /// ([`ScenarioOutput::flows_cut`]): writing and merging them is most of
    /// a long run's tail.
    ///
    /// # Errors
    /// The sink's error, or a spool's the sink does not take
    /// ([`FlowSink::abandon`]).
    fn take_flows<X: Extra>(
        &mut self,
        i: usize,
        kept: Vec<flows::Kept<X>>,
        flow_sink: &mut Option<&mut dyn FlowSink>,
        stop: Option<&AtomicBool>,
    ) -> Result<(), EngineError> {
        let total = kept.iter().map(flows::Kept::len).sum::<usize>();
        if flow_sink.is_none() {
            self.flows.reserve_exact(total);
        }
        let mut written = 0u64;
        // Only a sink is cut: the records kept in memory cost no output.
        let stop = stop.filter(|_| flow_sink.is_some());
        let stopped = || stop.is_some_and(|s| s.load(Ordering::Relaxed));
        let mut emit = |r: FlowRecord| -> Result<(), EngineError> {
            written += 1;
            match flow_sink.as_deref_mut() {
                Some(sink) => sink.flow(i, &r).map_err(|source| EngineError::Output {
                    path: sink.name(),
                    source,
                }),
                None => {
                    self.flows.push(r);
                    Ok(())
                }
            }
        };
        let merged = flows::merge_ordered(kept, &stopped, &mut emit);
        if let Ok(true) = merged {
            self.flows_cut = Some(FlowsCut {
                written,
                total: total as u64,
            });
        }
        match merged.map(|_| ()) {
            // The records' temporary file failed (a full disk): a sink
            // that is an output of its own is abandoned, not the pass.
            Err(EngineError::Spool { dir, source }) => {
                let why = std::io::Error::new(
                    source.kind(),
                    format!(
                        "its flow records' temporary file in {}: {}",
                        crate::output::shown(&dir),
                        crate::output::io_message(&source)
                    ),
                );
                if !flow_sink.as_deref_mut().is_some_and(|s| s.abandon(why)) {
                    return Err(EngineError::Spool { dir, source });
                }
                Ok(())
            }
            r => r,
        }
    }
}
