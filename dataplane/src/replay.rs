//! Replay: captures through the compiled tables on worker threads.
//!
//! ```text
//!             +--> worker 0 (shards 0, n, 2n, ...) --+
//! reader -----+--> worker 1 (shards 1, n+1, ...)  ---+--> writer (allowed / dropped pcaps,
//! (parse,     |        ...                           |     in input order)
//!  shard)     +--> chunk descriptors ----------------+
//! ```
//!
//! The reader walks the captures in file order, parses every frame and
//! sends it, in batches over bounded crossbeam channels, to the worker that
//! owns its shard ([`crate::conntrack::shard_of`]): both directions of a
//! connection always meet the same worker, which owns that shard's
//! connection table, flow records and counters, with no lock. Every chunk
//! of records gets a descriptor saying which worker judged each record; the
//! writer puts the workers' verdicts back in input order and copies the
//! records, byte for byte, to the allowed and dropped outputs. Counters are
//! sums and flow records are sorted at the end, so every output is the same
//! for any number of workers.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};
use hdrhistogram::Histogram;
use serde::Serialize;
use zprsim_control::compile::Compiled;
use zprsim_control::model::proto;
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Stage, Verdict};

use crate::capture::Capture;
use crate::community_id::FlowKey;
use crate::conntrack::{self, Bounded, SHARDS};
use crate::judge::Tracker;
use crate::parse::{Parsed, parse_frame};
use crate::pcap_out::{OutFormat, PcapOut};

/// Records per chunk (the unit of ordering for the writer).
const CHUNK: usize = 4096;

/// Replay settings.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// Worker threads (at least 1).
    pub workers: usize,
    /// Connections tracked at most (over all shards).
    pub max_connections: usize,
    /// Open flow records at most (over all shards).
    pub max_flow_records: usize,
    /// Keep every finished flow record (for `--flows`).
    pub keep_flows: bool,
    /// Write allowed packets here.
    pub allowed: Option<PathBuf>,
    /// Write dropped packets here.
    pub dropped: Option<PathBuf>,
    /// Chunks in flight per channel (memory bound: chunks × 4096 packets).
    pub queue_chunks: usize,
    /// How many top dropped flows to keep for the summary.
    pub top_flows: usize,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            workers: 1,
            max_connections: 4 << 20,
            max_flow_records: 4 << 20,
            keep_flows: false,
            allowed: None,
            dropped: None,
            queue_chunks: 8,
            top_flows: 10,
        }
    }
}

pub use crate::judge::{Counters, Totals};

/// One flow record of the flow log (CLI contract, `--flows`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowRecord {
    /// Source of the first packet.
    pub src: std::net::IpAddr,
    /// Destination of the first packet.
    pub dst: std::net::IpAddr,
    /// Protocol number.
    pub proto: u8,
    /// Source port of the first packet (TCP/UDP).
    pub sport: Option<u16>,
    /// Destination port of the first packet (TCP/UDP).
    pub dport: Option<u16>,
    /// ICMP type of the first packet.
    pub icmp_type: Option<u8>,
    /// ICMP code of the first packet.
    pub icmp_code: Option<u8>,
    /// Timestamp of the first packet, seconds since the epoch.
    pub first_ts: f64,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Packets allowed.
    pub allowed_packets: u64,
    /// Packets dropped.
    pub dropped_packets: u64,
    /// Verdict of the first packet.
    pub verdict: Verdict,
    /// Stage of the first packet (null if allowed).
    pub stage: Option<Stage>,
    /// Community ID v1, seed 0.
    pub community_id: String,
    #[serde(skip)]
    first_ns: u64,
}

/// Sort key of a flow record: first timestamp, then the 5-tuple.
type SortKey = (
    u64,
    std::net::IpAddr,
    std::net::IpAddr,
    u8,
    Option<u16>,
    Option<u16>,
    Option<u8>,
    Option<u8>,
);

impl FlowRecord {
    /// Sort key: first timestamp, then the 5-tuple.
    fn sort_key(&self) -> SortKey {
        (
            self.first_ns,
            self.src,
            self.dst,
            self.proto,
            self.sport,
            self.dport,
            self.icmp_type,
            self.icmp_code,
        )
    }

    /// Order for "top dropped flows": most dropped packets first, then sort key.
    fn top_key(&self) -> (std::cmp::Reverse<u64>, SortKey) {
        (std::cmp::Reverse(self.dropped_packets), self.sort_key())
    }
}

/// Everything a replay produced.
#[derive(Debug)]
pub struct ReplayOutput {
    /// Counters.
    pub counters: Counters,
    /// Finished flow records sorted by first timestamp then 5-tuple (only
    /// with [`ReplayConfig::keep_flows`]).
    pub flows: Vec<FlowRecord>,
    /// The flows with the most dropped packets.
    pub top_dropped: Vec<FlowRecord>,
    /// Warnings (truncated files, link types not decoded).
    pub warnings: Vec<String>,
    /// A fatal read error (file and message naming the byte offset): the
    /// outputs hold everything read before it.
    pub error: Option<String>,
    /// Seconds of the packet phase.
    pub duration_s: f64,
    /// Per-batch processing time, nanoseconds.
    pub batch_ns: Histogram<u64>,
    /// Workers used.
    pub workers: usize,
    /// Packets written to the allowed and dropped outputs.
    pub written: (u64, u64),
}

/// Why a replay could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// An output file could not be created or written.
    #[error("{path}: {source}")]
    Output {
        /// The output.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A worker thread failed.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A packet handed to a worker.
#[derive(Debug, Clone, Copy)]
struct Item {
    packet: Packet,
    tcp_flags: u8,
    ts_ns: u64,
    wire_len: u32,
    shard: u16,
}

struct WorkBatch {
    chunk: u64,
    items: Vec<Item>,
}

struct ResultBatch {
    chunk: u64,
    worker: u8,
    codes: Vec<u8>,
}

/// Per chunk, for the writer: which worker judged each record.
struct ChunkDesc {
    chunk: u64,
    file: usize,
    assign: Vec<u8>,
}

const NON_IP: u8 = 255;
const MALFORMED: u8 = 254;
const CODE_ALLOW: u8 = 0;
const CODE_MALFORMED: u8 = 5;

fn stage_code(s: Option<Stage>) -> u8 {
    match s {
        None => CODE_ALLOW,
        Some(Stage::Route) => 1,
        Some(Stage::EgressSecurity) => 2,
        Some(Stage::IngressSecurity) => 3,
        Some(Stage::Zpr) => 4,
    }
}

/// A worker's state: its shards' tables and its counters.
struct Worker {
    compiled: Arc<Compiled>,
    tracker: Tracker,
    flows: Vec<Option<Bounded<FlowKey, FlowState>>>,
    flow_cap: usize,
    counters: Counters,
    finished: Vec<FlowRecord>,
    keep_flows: bool,
    top: Vec<FlowRecord>,
    top_n: usize,
    hist: Histogram<u64>,
}

fn new_hist() -> Histogram<u64> {
    // 1 ns to 100 s, 3 significant digits: bounds are constants, so this cannot fail.
    Histogram::new_with_bounds(1, 100_000_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable_hist()))
}

#[allow(clippy::panic)]
fn unreachable_hist() -> Histogram<u64> {
    panic!("a histogram with constant bounds cannot fail to build")
}

impl Worker {
    fn new(compiled: Arc<Compiled>, cfg: &ReplayConfig) -> Worker {
        let rules = compiled.rule_count();
        Worker {
            compiled,
            tracker: Tracker::new(cfg.max_connections),
            flows: (0..SHARDS).map(|_| None).collect(),
            flow_cap: (cfg.max_flow_records / SHARDS).max(1),
            counters: Counters::with_rules(rules),
            finished: Vec::new(),
            keep_flows: cfg.keep_flows,
            top: Vec::new(),
            top_n: cfg.top_flows,
            hist: new_hist(),
        }
    }

    /// Judges one packet with connection tracking; returns its code.
    fn handle(&mut self, it: &Item) -> u8 {
        let fast = self.tracker.judge(
            &self.compiled,
            &it.packet,
            usize::from(it.shard),
            it.ts_ns,
            it.tcp_flags,
            &mut self.counters,
        );
        self.counters.record(&fast, it.wire_len);
        let j = fast.judgement;
        let allowed = j.verdict == Verdict::Allow;
        let code = stage_code(j.stage);
        self.flow(it, allowed, j.stage);
        code
    }

    fn flow(&mut self, it: &Item, allowed: bool, stage: Option<Stage>) {
        let p = &it.packet;
        let key = FlowKey::of(p);
        let cap = self.flow_cap;
        let table = self.flows[usize::from(it.shard)].get_or_insert_with(|| Bounded::new(cap));
        let fin = it.tcp_flags & (conntrack::TCP_FIN | conntrack::TCP_RST) != 0;
        // One lookup for an open record; an expired one is closed and a new
        // record started.
        let mut done = None;
        if let Some(r) = table.get_mut(&key) {
            if it.ts_ns.saturating_sub(r.last_ns)
                <= conntrack::timeout_ns(p.proto, r.both, r.closing)
            {
                r.packets += 1;
                r.bytes += u64::from(it.wire_len);
                if allowed {
                    r.allowed += 1;
                } else {
                    r.dropped += 1;
                }
                r.last_ns = r.last_ns.max(it.ts_ns);
                // The reverse direction of the first packet: addresses and
                // ports swapped (a packet to itself is never a reply).
                let (first_src, first_dst) = if r.src_is_a {
                    (key.a, key.b)
                } else {
                    (key.b, key.a)
                };
                let reverse = p.src == first_dst
                    && p.dst == first_src
                    && match (p.l4, r.l4) {
                        (
                            L4::Ports { sport, dport },
                            L4::Ports {
                                sport: fs,
                                dport: fd,
                            },
                        ) => sport == fd && dport == fs && !(p.src == first_src && sport == fs),
                        _ => p.src != first_src,
                    };
                r.both |= reverse;
                r.closing |= fin;
                return;
            }
            done = table.remove(&key);
        }
        let st = FlowState {
            first_ns: it.ts_ns,
            last_ns: it.ts_ns,
            packets: 1,
            bytes: u64::from(it.wire_len),
            allowed: u64::from(allowed),
            dropped: u64::from(!allowed),
            l4: p.l4,
            src_is_a: p.src == key.a,
            code: stage_code(stage),
            both: false,
            closing: p.proto == proto::TCP && fin,
        };
        if let Some((k, old)) = table.insert(key, st) {
            self.counters.flows_evicted += 1;
            self.finish_flow(&k, &old);
        }
        if let Some(r) = done {
            self.finish_flow(&key, &r);
        }
    }

    /// Closes a flow record: counted, kept for `--flows`, and considered
    /// for the top dropped flows (Community ID computed only when kept).
    fn finish_flow(&mut self, key: &FlowKey, st: &FlowState) {
        self.counters.flows += 1;
        let need_top = st.dropped > 0 && self.top_n > 0;
        if !self.keep_flows && !need_top {
            return;
        }
        let r = flow_record(key, st);
        if need_top {
            let enters = self.top.len() < self.top_n
                || self
                    .top
                    .last()
                    .is_some_and(|worst| r.top_key() < worst.top_key());
            if enters {
                let at = self.top.partition_point(|x| x.top_key() < r.top_key());
                self.top.insert(at, r.clone());
                self.top.truncate(self.top_n);
            }
        }
        if self.keep_flows {
            let mut r = r;
            r.community_id = key.community_id(0);
            self.finished.push(r);
        }
    }

    fn finish(mut self) -> (Counters, Vec<FlowRecord>, Vec<FlowRecord>, Histogram<u64>) {
        for s in 0..SHARDS {
            if let Some(mut t) = self.flows[s].take() {
                for (k, r) in t.drain_ordered() {
                    self.finish_flow(&k, &r);
                }
            }
        }
        for r in &mut self.top {
            r.community_id = key_of(r).community_id(0);
        }
        (self.counters, self.finished, self.top, self.hist)
    }
}

/// An open flow record, compact: the key holds the addresses and protocol.
#[derive(Debug, Clone, Copy)]
struct FlowState {
    first_ns: u64,
    last_ns: u64,
    packets: u64,
    bytes: u64,
    allowed: u64,
    dropped: u64,
    /// Transport fields of the first packet.
    l4: L4,
    /// The first packet went from the key's `a` to its `b`.
    src_is_a: bool,
    /// Verdict code of the first packet (0 allowed, else its stage + 1).
    code: u8,
    both: bool,
    closing: bool,
}

fn flow_record(key: &FlowKey, st: &FlowState) -> FlowRecord {
    let (src, dst) = if st.src_is_a {
        (key.a, key.b)
    } else {
        (key.b, key.a)
    };
    let (sport, dport, icmp_type, icmp_code) = match st.l4 {
        L4::Ports { sport, dport } => (Some(sport), Some(dport), None, None),
        L4::Icmp { icmp_type, code } => (None, None, Some(icmp_type), Some(code)),
        L4::Opaque | L4::Fragment => (None, None, None, None),
    };
    FlowRecord {
        src,
        dst,
        proto: key.proto,
        sport,
        dport,
        icmp_type,
        icmp_code,
        first_ts: ns_to_s(st.first_ns),
        packets: st.packets,
        bytes: st.bytes,
        allowed_packets: st.allowed,
        dropped_packets: st.dropped,
        verdict: if st.code == CODE_ALLOW {
            Verdict::Allow
        } else {
            Verdict::Drop
        },
        stage: code_stage(st.code),
        community_id: String::new(),
        first_ns: st.first_ns,
    }
}

fn code_stage(code: u8) -> Option<Stage> {
    match code {
        1 => Some(Stage::Route),
        2 => Some(Stage::EgressSecurity),
        3 => Some(Stage::IngressSecurity),
        4 => Some(Stage::Zpr),
        _ => None,
    }
}

fn key_of(r: &FlowRecord) -> FlowKey {
    let ports = match (r.sport, r.dport, r.icmp_type, r.icmp_code) {
        (Some(s), Some(d), _, _) => Some((s, d)),
        (_, _, Some(t), Some(c)) => Some((u16::from(t), u16::from(c))),
        _ => None,
    };
    FlowKey::new(r.src, r.dst, r.proto, ports)
}

fn trim_top(v: &mut Vec<FlowRecord>, n: usize) {
    v.sort_by_key(FlowRecord::top_key);
    v.truncate(n);
}

#[allow(clippy::cast_precision_loss)]
fn ns_to_s(ns: u64) -> f64 {
    // Whole seconds and the fraction separately, so microseconds survive.
    (ns / 1_000_000_000) as f64 + (ns % 1_000_000_000) as f64 / 1e9
}

fn worker_loop(
    mut w: Worker,
    id: u8,
    rx: Receiver<WorkBatch>,
    results: Option<Sender<ResultBatch>>,
) -> Worker {
    for batch in rx {
        let t0 = Instant::now();
        let mut codes = Vec::with_capacity(if results.is_some() {
            batch.items.len()
        } else {
            0
        });
        for it in &batch.items {
            let c = w.handle(it);
            if results.is_some() {
                codes.push(c);
            }
        }
        let ns = u64::try_from(t0.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        let _ = w.hist.record(ns.min(100_000_000_000));
        if let Some(tx) = &results
            && tx
                .send(ResultBatch {
                    chunk: batch.chunk,
                    worker: id,
                    codes,
                })
                .is_err()
        {
            break;
        }
    }
    w
}

/// The writer: verdicts back in input order, records copied to the outputs.
struct Writer {
    inputs: Vec<PathBuf>,
    allowed: Option<PcapOut<BufWriter<File>>>,
    dropped: Option<PcapOut<BufWriter<File>>>,
    allowed_path: String,
    dropped_path: String,
}

impl Writer {
    fn run(
        mut self,
        descs: Receiver<ChunkDesc>,
        results: Receiver<ResultBatch>,
    ) -> Result<(u64, u64), ReplayError> {
        let mut pending: HashMap<(u64, u8), Vec<u8>> = HashMap::new();
        let mut results_open = true;
        let mut descs = descs.into_iter().peekable();
        while let Some(first) = descs.peek() {
            let file = first.file;
            let path = &self.inputs[file];
            let cap = Capture::open(path)
                .map_err(|e| ReplayError::Internal(format!("{}: {e}", path.display())))?;
            let mut records = cap.records();
            while let Some(d) = descs.next_if(|d| d.file == file) {
                // Wait for every worker that judged a record of this chunk.
                let mut needed: Vec<u8> = d
                    .assign
                    .iter()
                    .copied()
                    .filter(|a| *a < MALFORMED)
                    .collect();
                needed.sort_unstable();
                needed.dedup();
                while results_open && needed.iter().any(|w| !pending.contains_key(&(d.chunk, *w))) {
                    match results.recv() {
                        Ok(r) => {
                            pending.insert((r.chunk, r.worker), r.codes);
                        }
                        Err(_) => results_open = false,
                    }
                }
                let mut cursors: HashMap<u8, (Vec<u8>, usize)> = HashMap::new();
                for w in needed {
                    let v = pending.remove(&(d.chunk, w)).unwrap_or_default();
                    cursors.insert(w, (v, 0));
                }
                for a in &d.assign {
                    let Some(Ok(rec)) = records.next() else { break };
                    let allowed = match *a {
                        NON_IP => continue,
                        MALFORMED => false,
                        w => {
                            let Some((v, i)) = cursors.get_mut(&w) else {
                                continue;
                            };
                            let code = v.get(*i).copied().unwrap_or(CODE_MALFORMED);
                            *i += 1;
                            code == CODE_ALLOW
                        }
                    };
                    let (out, path) = if allowed {
                        (&mut self.allowed, &self.allowed_path)
                    } else {
                        (&mut self.dropped, &self.dropped_path)
                    };
                    if let Some(o) = out {
                        o.write_record(&rec).map_err(|source| ReplayError::Output {
                            path: path.clone(),
                            source,
                        })?;
                    }
                }
            }
        }
        let mut counts = (0, 0);
        if let Some(o) = self.allowed.take() {
            counts.0 = o.packets();
            o.finish().map_err(|source| ReplayError::Output {
                path: self.allowed_path.clone(),
                source,
            })?;
        }
        if let Some(o) = self.dropped.take() {
            counts.1 = o.packets();
            o.finish().map_err(|source| ReplayError::Output {
                path: self.dropped_path.clone(),
                source,
            })?;
        }
        Ok(counts)
    }
}

fn create_out(path: &Path, format: OutFormat) -> Result<PcapOut<BufWriter<File>>, ReplayError> {
    let err = |source| ReplayError::Output {
        path: path.display().to_string(),
        source,
    };
    let f = File::create(path).map_err(err)?;
    PcapOut::create(BufWriter::new(f), format).map_err(err)
}

/// Progress: bytes of input read so far, and in all.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Replays captures in file order through the compiled tables.
///
/// # Errors
/// When an output cannot be written or a thread fails. A capture that
/// cannot be read (or stops being readable) is not an error here: reading
/// stops, everything read so far is judged and written, and
/// [`ReplayOutput::error`] says where and why.
#[allow(clippy::too_many_lines)]
pub fn replay(
    compiled: Arc<Compiled>,
    inputs: &[PathBuf],
    cfg: &ReplayConfig,
    progress: Option<Progress<'_>>,
) -> Result<ReplayOutput, ReplayError> {
    let n = cfg.workers.clamp(1, 64);
    let mut warnings: Vec<String> = Vec::new();
    let mut error: Option<String> = None;

    // Output format from the link types every input declares.
    let mut link_types: Vec<u32> = Vec::new();
    let mut total_bytes = 0u64;
    for path in inputs {
        if let Ok(c) = Capture::open(path) {
            link_types.extend(c.link_types());
            total_bytes += c.bytes().len() as u64;
        }
    }
    link_types.sort_unstable();
    link_types.dedup();
    let format = OutFormat::for_link_types(&link_types);
    let writing = cfg.allowed.is_some() || cfg.dropped.is_some();
    let writer = if writing {
        Some(Writer {
            inputs: inputs.to_vec(),
            allowed: cfg
                .allowed
                .as_deref()
                .map(|p| create_out(p, format))
                .transpose()?,
            dropped: cfg
                .dropped
                .as_deref()
                .map(|p| create_out(p, format))
                .transpose()?,
            allowed_path: cfg
                .allowed
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            dropped_path: cfg
                .dropped
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        })
    } else {
        None
    };

    let t0 = Instant::now();
    let (res_tx, res_rx) = bounded::<ResultBatch>(cfg.queue_chunks.max(1) * n);
    let (desc_tx, desc_rx) = bounded::<ChunkDesc>(cfg.queue_chunks.max(1) * 2);
    let mut reader_counters = Counters::default();
    let outcome = std::thread::scope(|scope| -> Result<_, ReplayError> {
        let mut txs: Vec<Sender<WorkBatch>> = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for id in 0..n {
            let (tx, rx) = bounded::<WorkBatch>(cfg.queue_chunks.max(1));
            txs.push(tx);
            let w = Worker::new(Arc::clone(&compiled), cfg);
            let results = writing.then(|| res_tx.clone());
            let id8 = u8::try_from(id).unwrap_or(u8::MAX);
            handles.push(scope.spawn(move || worker_loop(w, id8, rx, results)));
        }
        drop(res_tx);
        let writer_handle = writer.map(|w| scope.spawn(move || w.run(desc_rx, res_rx)));

        // The reader.
        let mut chunk_id = 0u64;
        let mut done_bytes = 0u64;
        'files: for (fi, path) in inputs.iter().enumerate() {
            let cap = match Capture::open(path) {
                Ok(c) => c,
                Err(e) => {
                    error = Some(format!("{}: {e}", path.display()));
                    break 'files;
                }
            };
            let mut records = cap.records();
            let mut batches: Vec<Vec<Item>> =
                (0..n).map(|_| Vec::with_capacity(CHUNK / n + 16)).collect();
            let mut assign: Vec<u8> = Vec::with_capacity(CHUNK);
            let mut unsupported: HashMap<u32, u64> = HashMap::new();
            let flush =
                |batches: &mut Vec<Vec<Item>>, assign: &mut Vec<u8>, chunk_id: &mut u64| -> bool {
                    if assign.is_empty() {
                        return true;
                    }
                    for (w, b) in batches.iter_mut().enumerate() {
                        if !b.is_empty() {
                            let items = std::mem::replace(b, Vec::with_capacity(CHUNK / n + 16));
                            if txs[w]
                                .send(WorkBatch {
                                    chunk: *chunk_id,
                                    items,
                                })
                                .is_err()
                            {
                                return false;
                            }
                        }
                    }
                    if writing {
                        let a = std::mem::replace(assign, Vec::with_capacity(CHUNK));
                        if desc_tx
                            .send(ChunkDesc {
                                chunk: *chunk_id,
                                file: fi,
                                assign: a,
                            })
                            .is_err()
                        {
                            return false;
                        }
                    } else {
                        assign.clear();
                    }
                    *chunk_id += 1;
                    true
                };
            loop {
                let rec = match records.next() {
                    None => break,
                    Some(Ok(r)) => r,
                    Some(Err(e)) => {
                        error = Some(format!("{}: {e}", path.display()));
                        break;
                    }
                };
                match parse_frame(rec.linktype, rec.data) {
                    Parsed::Ip(meta) => {
                        let shard = conntrack::shard_of(&meta.packet);
                        let w = shard % n;
                        batches[w].push(Item {
                            packet: meta.packet,
                            tcp_flags: meta.tcp_flags,
                            ts_ns: rec.ts_ns,
                            wire_len: rec.orig_len,
                            shard: u16::try_from(shard).unwrap_or(0),
                        });
                        assign.push(u8::try_from(w).unwrap_or(0));
                    }
                    Parsed::NonIp => {
                        reader_counters.non_ip += 1;
                        assign.push(NON_IP);
                    }
                    Parsed::UnsupportedLinkType(lt) => {
                        reader_counters.non_ip += 1;
                        *unsupported.entry(lt).or_insert(0) += 1;
                        assign.push(NON_IP);
                    }
                    Parsed::Malformed { .. } => {
                        let c = &mut reader_counters;
                        c.packets.total += 1;
                        c.packets.dropped += 1;
                        c.bytes.total += u64::from(rec.orig_len);
                        c.bytes.dropped += u64::from(rec.orig_len);
                        c.dropped_by_stage[4] += 1;
                        assign.push(MALFORMED);
                    }
                }
                if assign.len() >= CHUNK {
                    if !flush(&mut batches, &mut assign, &mut chunk_id) {
                        break 'files;
                    }
                    if let Some(p) = progress {
                        p(done_bytes + rec.offset, total_bytes);
                    }
                }
            }
            if !flush(&mut batches, &mut assign, &mut chunk_id) {
                break 'files;
            }
            done_bytes += cap.bytes().len() as u64;
            if let Some(p) = progress {
                p(done_bytes, total_bytes);
            }
            for w in records.warnings() {
                warnings.push(format!("{}: {w}", path.display()));
            }
            let mut lts: Vec<_> = unsupported.into_iter().collect();
            lts.sort_unstable();
            for (lt, count) in lts {
                warnings.push(format!(
                    "{}: {count} record(s) of link type {lt}, which zprsim does not decode, counted as non_ip",
                    path.display()
                ));
            }
            if error.is_some() {
                break 'files;
            }
        }
        drop(txs);
        drop(desc_tx);
        let mut workers = Vec::with_capacity(n);
        for h in handles {
            workers.push(
                h.join()
                    .map_err(|_| ReplayError::Internal("a worker thread panicked".into()))?,
            );
        }
        let written = match writer_handle {
            Some(h) => h
                .join()
                .map_err(|_| ReplayError::Internal("the writer thread panicked".into()))??,
            None => (0, 0),
        };
        Ok((workers, written))
    })?;
    let (workers, written) = outcome;
    let duration_s = t0.elapsed().as_secs_f64();

    let mut counters = reader_counters;
    let mut flows = Vec::new();
    let mut top = Vec::new();
    let mut hist = new_hist();
    for w in workers {
        let (c, f, t, h) = w.finish();
        counters.add(&c);
        flows.extend(f);
        top.extend(t);
        let _ = hist.add(&h);
    }
    flows.sort_by_key(FlowRecord::sort_key);
    trim_top(&mut top, cfg.top_flows);
    Ok(ReplayOutput {
        counters,
        flows,
        top_dropped: top,
        warnings,
        error,
        duration_s,
        batch_ns: hist,
        workers: n,
        written,
    })
}
