//! Replay: capture files (or standard input) through the compiled tables,
//! with the [engine](crate::engine) and one scenario.
//!
//! This module only opens the inputs and the outputs and hands them to the
//! engine; see [`crate::engine`] for the reader, the workers and the
//! ordered writer.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use hdrhistogram::Histogram;
use zprsim_control::compile::Compiled;

use crate::engine::{self, CaptureFiles, EngineConfig, EngineError, PcapSink, Sinks};

pub use crate::engine::FlowSink;
use crate::output::{OutputFile, OutputState};

pub use crate::engine::{AuditFlow, FlowRecord, Progress, RuleStat, RuleStats, SpoolStats};
pub use crate::judge::{Counters, Totals};

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
    /// Closed flow records held in memory at most per worker before they
    /// are spilled to a temporary file ([`EngineConfig::flow_spool`]).
    pub flow_spool: usize,
    /// Where those temporary files go (`None`: `$TMPDIR`).
    pub spool_dir: Option<PathBuf>,
    /// Write allowed packets here (`-`: standard output).
    pub allowed: Option<PathBuf>,
    /// Write dropped packets here (`-`: standard output).
    pub dropped: Option<PathBuf>,
    /// Chunks in flight per channel (memory bound: chunks × 4096 packets).
    pub queue_chunks: usize,
    /// How many top dropped flows to keep for the summary.
    pub top_flows: usize,
    /// Set to stop reading (the first SIGINT or SIGTERM): what was read is
    /// judged and written, and [`ReplayOutput::interrupted`] says so.
    pub stop: Option<Arc<AtomicBool>>,
    /// Stop reading (as [`ReplayConfig::stop`] does) when the reader of a
    /// pcap output on standard output or a FIFO leaves: for a caller whose
    /// only output that is, as a SIGPIPE would end it.
    pub stop_when_reader_gone: bool,
    /// Rename the pcap outputs into place when the replay ends (true), or
    /// hand them back uncommitted in [`ReplayOutput::outputs`] so the
    /// caller commits them with its other outputs (false).
    pub commit: bool,
    /// Count packets, flows and times per rule, and list the flows audit
    /// would have denied ([`ReplayOutput::rule_stats`]).
    pub rule_stats: bool,
    /// With `rule_stats`, count distinct flows too (costly: see
    /// [`EngineConfig::rule_flows`]).
    pub rule_flows: bool,
    /// Count a packet seen on several interfaces once
    /// ([`EngineConfig::dedup`]).
    pub dedup: bool,
    /// Judge the frames inside VXLAN ([`EngineConfig::decap_vxlan`]).
    pub decap_vxlan: bool,
    /// Leave out traffic of these prefixes ([`EngineConfig::node_local`]).
    pub node_local: Vec<ipnet::IpNet>,
    /// The scenario's stand-ins: drops owed to them are counted
    /// ([`EngineConfig::stand_ins`]).
    pub stand_ins: Option<std::sync::Arc<crate::stand_in_owed::StandInOwed>>,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        let e = EngineConfig::default();
        ReplayConfig {
            workers: e.workers,
            max_connections: e.max_connections,
            max_flow_records: e.max_flow_records,
            keep_flows: e.keep_flows,
            flow_spool: e.flow_spool,
            spool_dir: e.spool_dir,
            allowed: None,
            dropped: None,
            queue_chunks: e.queue_chunks,
            top_flows: e.top_flows,
            stop: None,
            stop_when_reader_gone: false,
            commit: true,
            rule_stats: e.rule_stats,
            rule_flows: e.rule_flows,
            dedup: e.dedup,
            decap_vxlan: e.decap_vxlan,
            node_local: e.node_local,
            stand_ins: None,
        }
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
    /// Per-rule statistics (only with [`ReplayConfig::rule_stats`]).
    pub rule_stats: Option<RuleStats>,
    /// Warnings (truncated files, link types not decoded).
    pub warnings: Vec<crate::warning::RunWarning>,
    /// A fatal read error (file and message naming the byte offset): the
    /// outputs hold everything read before it.
    pub error: Option<String>,
    /// Reading stopped early on request ([`ReplayConfig::stop`]).
    pub interrupted: bool,
    /// [`ReplayConfig::stop`] came after the reading, while the flow
    /// records were written: the flow sink took only the first of them.
    pub flows_cut: Option<crate::engine::FlowsCut>,
    /// Seconds of the packet phase.
    pub duration_s: f64,
    /// Per-batch processing time, nanoseconds.
    pub batch_ns: Histogram<u64>,
    /// Workers used.
    pub workers: usize,
    /// Packets written to the allowed and dropped outputs. An output that
    /// stopped taking writes (a full disk, or its reader left) ends there,
    /// not the pass, and counts the packets flushed through before (at
    /// each chunk's end).
    pub written: (u64, u64),
    /// The pcap outputs, written in full but not renamed into place (only
    /// when [`ReplayConfig::commit`] is false).
    pub outputs: Vec<OutputFile>,
    /// What the closed flow records' spools did (with
    /// [`ReplayConfig::keep_flows`]).
    pub spool: SpoolStats,
}

/// Why a replay could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// An input could not be opened or is not a capture.
    #[error("{0}")]
    Input(String),
    /// An output could not be created or renamed into place (the message
    /// names the flag and the path).
    #[error("{0}")]
    OutputFile(String),
    /// An output could not be written.
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

impl From<EngineError> for ReplayError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Output { path, source } => ReplayError::Output { path, source },
            EngineError::Spool { dir, source } => ReplayError::Output {
                path: format!("flow records' temporary file in {}", dir.display()),
                source,
            },
            EngineError::Internal(m) => ReplayError::Internal(m),
        }
    }
}

/// An output shared with the engine's writer thread and taken back when
/// the pass ends, to be committed. (The lock is taken once per buffer of
/// the pcap writer, 256 KiB, not per packet.) Once the file stops taking
/// writes (a full disk, or its reader left: [`OutputState`]) every write
/// is an error, so the engine ends that output and counts only what went
/// through; the file itself says why when it is committed.
#[derive(Clone)]
struct Shared {
    file: Arc<Mutex<OutputFile>>,
    /// Set when the reader of this output left
    /// ([`ReplayConfig::stop_when_reader_gone`]).
    stop: Option<Arc<AtomicBool>>,
}

impl Shared {
    fn with<T>(
        &self,
        op: impl FnOnce(&mut OutputFile) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let mut f = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let r = op(&mut f)?;
        match f.state() {
            OutputState::Open => Ok(r),
            OutputState::ReaderGone => {
                if let Some(stop) = &self.stop {
                    stop.store(true, Ordering::Relaxed);
                }
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            OutputState::Failed => Err(std::io::Error::other("the output failed")),
        }
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.with(|f| f.write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.with(|f| f.write_all(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.with(Write::flush)
    }
}

/// Opens a pcap output through [`OutputFile`] (a temporary file beside
/// the target, renamed on commit; `-` is standard output). All output
/// opening of replay is here.
fn create_out(
    flag: &str,
    path: &Path,
    stop: Option<Arc<AtomicBool>>,
) -> Result<(PcapSink, Shared), ReplayError> {
    let name = crate::output::shown(path);
    let f = OutputFile::create(flag, path)
        .map_err(|e| ReplayError::OutputFile(e.message().to_owned()))?;
    let shared = Shared {
        file: Arc::new(Mutex::new(f)),
        stop,
    };
    let ahead = Arc::clone(&shared.file);
    let sink = PcapSink {
        name: format!("{flag} `{name}`"),
        out: Box::new(shared.clone()),
        // The commit's `fsync` started on the writer's thread as soon as
        // the last record is written, while the pass ends.
        on_finish: Some(Box::new(move || {
            ahead
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .sync_ahead();
        })),
    };
    Ok((sink, shared))
}

/// Takes an output back from the engine.
fn take_back(s: Shared) -> Result<OutputFile, ReplayError> {
    Arc::try_unwrap(s.file)
        .map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner))
        .map_err(|_| ReplayError::Internal("an output is still in use after the pass".into()))
}

/// Replays captures in file order through the compiled tables.
///
/// # Errors
/// When an input cannot be opened or is not a capture (before any output
/// is created), when an output cannot be written, or when a thread fails.
/// A capture that stops being readable part way is not an error here:
/// reading stops, everything read so far is judged and written, and
/// [`ReplayOutput::error`] says where and why.
pub fn replay(
    compiled: Arc<Compiled>,
    inputs: &[PathBuf],
    cfg: &ReplayConfig,
    progress: Option<Progress<'_>>,
) -> Result<ReplayOutput, ReplayError> {
    replay_with_flows(compiled, inputs, cfg, progress, None)
}

/// [`replay`], handing the flow records (with [`ReplayConfig::keep_flows`])
/// to `flows` in order instead of returning them in
/// [`ReplayOutput::flows`]: they are then never all held as
/// [`FlowRecord`]s at once.
///
/// # Errors
/// As [`replay`]; an error of the flow sink is [`ReplayError::Output`].
pub fn replay_with_flows<'a>(
    compiled: Arc<Compiled>,
    inputs: &[PathBuf],
    cfg: &ReplayConfig,
    progress: Option<Progress<'a>>,
    flows: Option<&'a mut dyn FlowSink>,
) -> Result<ReplayOutput, ReplayError> {
    let mut source = CaptureFiles::open(inputs).map_err(ReplayError::Input)?;
    let gone_stop = cfg.stop.clone().filter(|_| cfg.stop_when_reader_gone);
    let allowed = cfg
        .allowed
        .as_deref()
        .map(|p| create_out("--allowed", p, gone_stop.clone()))
        .transpose()?;
    let dropped = cfg
        .dropped
        .as_deref()
        .map(|p| create_out("--dropped", p, gone_stop.clone()))
        .transpose()?;
    let mut shared = Vec::new();
    let mut sink = |o: Option<(PcapSink, Shared)>| {
        o.map(|(sink, s)| {
            shared.push(s);
            sink
        })
    };
    let sinks = Sinks {
        allowed: sink(allowed),
        dropped: sink(dropped),
        verdicts: None,
        flows,
        pairs: None,
        progress,
    };
    let ecfg = EngineConfig {
        workers: cfg.workers,
        max_connections: cfg.max_connections,
        max_flow_records: cfg.max_flow_records,
        keep_flows: cfg.keep_flows,
        flow_spool: cfg.flow_spool,
        spool_dir: cfg.spool_dir.clone(),
        queue_chunks: cfg.queue_chunks,
        top_flows: cfg.top_flows,
        stop: cfg.stop.clone(),
        rule_stats: cfg.rule_stats,
        rule_flows: cfg.rule_flows,
        live: None,
        reader_share: engine::ReaderShare::Auto,
        dedup: cfg.dedup,
        decap_vxlan: cfg.decap_vxlan,
        node_local: cfg.node_local.clone(),
        compare: false,
        stand_ins: vec![cfg.stand_ins.clone()],
    };
    let o = engine::run(&[compiled], &mut source, &ecfg, sinks)?;
    let mut outputs = Vec::with_capacity(shared.len());
    for s in shared {
        outputs.push(take_back(s)?);
    }
    if cfg.commit {
        for f in outputs.drain(..) {
            f.commit()
                .map_err(|e| ReplayError::OutputFile(e.message().to_owned()))?;
        }
    }
    let mut scenarios = o.scenarios.into_iter();
    let s = scenarios
        .next()
        .ok_or_else(|| ReplayError::Internal("the engine returned no scenario".into()))?;
    Ok(ReplayOutput {
        counters: s.counters,
        flows: s.flows,
        top_dropped: s.top_dropped,
        spool: s.spool,
        rule_stats: s.rule_stats,
        warnings: o.warnings,
        error: o.error,
        interrupted: o.interrupted,
        flows_cut: s.flows_cut,
        duration_s: o.duration_s,
        batch_ns: o.batch_ns,
        workers: o.workers,
        written: o.written,
        outputs,
    })
}
