//! Replay: capture files (or standard input) through the compiled tables,
//! with the [engine](crate::engine) and one scenario.
//!
//! This module only opens the inputs and the outputs and hands them to the
//! engine; see [`crate::engine`] for the reader, the workers and the
//! ordered writer.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use hdrhistogram::Histogram;
use zprsim_control::compile::Compiled;

use crate::engine::{self, CaptureFiles, EngineConfig, EngineError, PcapSink, Sinks};

pub use crate::engine::{FlowRecord, Progress};
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
}

impl Default for ReplayConfig {
    fn default() -> Self {
        let e = EngineConfig::default();
        ReplayConfig {
            workers: e.workers,
            max_connections: e.max_connections,
            max_flow_records: e.max_flow_records,
            keep_flows: e.keep_flows,
            allowed: None,
            dropped: None,
            queue_chunks: e.queue_chunks,
            top_flows: e.top_flows,
            stop: None,
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
    /// Warnings (truncated files, link types not decoded).
    pub warnings: Vec<String>,
    /// A fatal read error (file and message naming the byte offset): the
    /// outputs hold everything read before it.
    pub error: Option<String>,
    /// Reading stopped early on request ([`ReplayConfig::stop`]).
    pub interrupted: bool,
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
    /// An input could not be opened or is not a capture.
    #[error("{0}")]
    Input(String),
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

impl From<EngineError> for ReplayError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Output { path, source } => ReplayError::Output { path, source },
            EngineError::Internal(m) => ReplayError::Internal(m),
        }
    }
}

/// Opens an output: `-` is standard output, anything else a new file.
/// (All output opening of replay is here, so that the switch to
/// transactional outputs is one change.)
fn create_out(path: &Path) -> Result<PcapSink, ReplayError> {
    let name = path.display().to_string();
    let out: Box<dyn Write + Send> = if path.as_os_str() == "-" {
        Box::new(std::io::stdout())
    } else {
        Box::new(File::create(path).map_err(|source| ReplayError::Output {
            path: name.clone(),
            source,
        })?)
    };
    Ok(PcapSink { name, out })
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
    let mut source = CaptureFiles::open(inputs).map_err(ReplayError::Input)?;
    let sinks = Sinks {
        allowed: cfg.allowed.as_deref().map(create_out).transpose()?,
        dropped: cfg.dropped.as_deref().map(create_out).transpose()?,
        verdicts: None,
        progress,
    };
    let ecfg = EngineConfig {
        workers: cfg.workers,
        max_connections: cfg.max_connections,
        max_flow_records: cfg.max_flow_records,
        keep_flows: cfg.keep_flows,
        queue_chunks: cfg.queue_chunks,
        top_flows: cfg.top_flows,
        stop: cfg.stop.clone(),
    };
    let o = engine::run(&[compiled], &mut source, &ecfg, sinks)?;
    let mut scenarios = o.scenarios.into_iter();
    let s = scenarios
        .next()
        .ok_or_else(|| ReplayError::Internal("the engine returned no scenario".into()))?;
    Ok(ReplayOutput {
        counters: s.counters,
        flows: s.flows,
        top_dropped: s.top_dropped,
        warnings: o.warnings,
        error: o.error,
        interrupted: o.interrupted,
        duration_s: o.duration_s,
        batch_ns: o.batch_ns,
        workers: o.workers,
        written: o.written,
    })
}
