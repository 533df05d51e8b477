//! `zprsim bench`: how fast the engine enforces one scenario on this
//! machine, beside the bare stateful loop on the same packets.
//!
//! The packets are held in memory first ([`load_captures`] or
//! [`synthesize`]), so neither the disk nor the generator is measured.
//! [`measure`] then runs, on the same packets:
//!
//! - the bare stateful loop ([`crate::baseline::bare_loop`]) three times,
//!   keeping the median: what a packet costs at least on this machine;
//! - the engine once per worker count, with connection tracking, counters,
//!   rule hits and flow records, and no output files: packets per second
//!   of the packet phase, per-packet latency percentiles (each batch's
//!   time divided by its size, counted once per packet of the batch: an
//!   estimate, not a measurement of single packets), connections and flows
//!   tracked.
//!
//! Every run must give the same verdicts (the engine's outputs do not
//! depend on the number of workers); a difference is an internal error.
//!
//! ```
//! use std::sync::Arc;
//! use zprsim_control::compile::{Compiled, Config};
//! use zprsim_dataplane::bench::{BenchConfig, measure, synth_config, synthesize};
//! let s = zprsim_control::model::Scenario::default();
//! let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
//! let (traffic, _) = synthesize(&s, &synth_config(&s, 2000, 40, 7), None, 1 << 30).unwrap();
//! let cfg = BenchConfig { workers: vec![1, 2], ..BenchConfig::default() };
//! let r = measure(&c, &traffic, &cfg, None).unwrap();
//! assert_eq!(r.counters.packets.total, 2000);
//! assert_eq!(r.runs.len(), 2);
//! assert!(r.runs[0].packets_per_second > 0.0);
//! ```

mod load;
mod memory;
pub mod report;
mod source;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use zprsim_control::compile::Compiled;

use crate::baseline::bare_loop;
use crate::engine::{self, EngineConfig, Progress, Sinks};
use crate::judge::Counters;

pub use load::{LoadError, SYNTH_BYTES_PER_PACKET, load_captures, synth_config, synthesize};
pub use memory::peak_rss_bytes;

/// One capture held in memory.
#[derive(Debug, Clone)]
pub struct Input {
    /// Its name, for messages.
    pub name: String,
    /// The whole file.
    pub bytes: Vec<u8>,
    /// Records in it.
    pub records: u64,
    /// Link types of its records.
    pub link_types: Vec<u32>,
}

/// The packets of a benchmark, in memory.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    /// The captures, read in this order as one stream.
    pub inputs: Vec<Input>,
    /// Warnings found while loading (a file cut inside a record).
    pub warnings: Vec<crate::warning::RunWarning>,
}

impl Traffic {
    /// Bytes held.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.inputs.iter().map(|i| i.bytes.len() as u64).sum()
    }

    /// Records held.
    #[must_use]
    pub fn records(&self) -> u64 {
        self.inputs.iter().map(|i| i.records).sum()
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Worker counts, one engine run each, in this order.
    pub workers: Vec<usize>,
    /// Connections tracked at most (over all shards).
    pub max_connections: usize,
    /// Runs of the bare loop (the median is kept).
    pub baseline_runs: usize,
    /// The reader's steps of `replay --dedup`, `--decap vxlan` and
    /// `--node-local` (see [`EngineConfig`]): the engine runs judge what
    /// `replay` with those flags would (the bare loop sees every record
    /// as captured).
    pub dedup: bool,
    /// `--decap vxlan`.
    pub decap_vxlan: bool,
    /// `--node-local` prefixes.
    pub node_local: Vec<ipnet::IpNet>,
    /// Set to stop measuring (the first SIGINT or SIGTERM): the runs
    /// finished before it are kept, the one it cut is not, and
    /// [`BenchResult::interrupted`] says so.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            workers: vec![1],
            max_connections: EngineConfig::default().max_connections,
            baseline_runs: 3,
            dedup: false,
            decap_vxlan: false,
            node_local: Vec::new(),
            stop: None,
        }
    }
}

/// Per-packet latency percentiles, nanoseconds (batch time / batch size).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
}

/// One engine run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Worker threads.
    pub workers: usize,
    /// Seconds of the packet phase.
    pub duration_s: f64,
    /// IP packets judged per second, all workers together.
    pub packets_per_second: f64,
    /// `packets_per_second` over the workers.
    pub per_worker_pps: f64,
    /// `packets_per_second` over that of the run with one worker.
    pub scaling: f64,
    /// `per_worker_pps` over the bare loop's rate.
    pub fraction_of_baseline: f64,
    /// Per-packet latency percentiles.
    pub latency_ns: Latency,
    /// Batches the workers judged.
    pub batches: u64,
    /// Connections created.
    pub connections: u64,
    /// Flow records.
    pub flows: u64,
}

/// The bare stateful loop on the same packets.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Baseline {
    /// Packets per second (median of the runs).
    pub packets_per_second: f64,
    /// IP packets it looked up (Ethernet frames only: it parses nothing
    /// else).
    pub packets: u64,
    /// Flows it inserted.
    pub new_flows: u64,
}

/// Everything measured.
#[derive(Debug, Clone)]
pub struct BenchResult {
    /// Verdicts and counters of one pass (every run gives the same).
    pub counters: Counters,
    /// One per worker count, in the order asked.
    pub runs: Vec<Run>,
    /// The bare loop.
    pub baseline: Baseline,
    /// Peak resident memory of the process so far, where known.
    pub peak_memory_bytes: Option<u64>,
    /// The engine's warnings of the first run (records that were not
    /// VXLAN under `--decap vxlan`, copies found without `--dedup`).
    pub warnings: Vec<crate::warning::RunWarning>,
    /// [`BenchConfig::stop`] ended the measuring: `runs` holds those
    /// finished before it (maybe none, and no bare loop either: then
    /// `baseline` is zeros).
    pub interrupted: bool,
}

/// Why a benchmark could not finish.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The engine failed, or two runs disagree (a bug).
    #[error("{0}")]
    Internal(String),
    /// The packets could not be read.
    #[error("{0}")]
    Input(String),
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[allow(clippy::cast_precision_loss)]
fn rate(n: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    }
}

/// Runs the bare loop over every input, `runs` times; the median rate.
///
/// # Errors
/// An input is not a capture.
pub fn baseline(
    compiled: &Compiled,
    traffic: &Traffic,
    runs: usize,
) -> Result<Baseline, BenchError> {
    // Pre-sized for every record a new flow: nothing grows in the loop.
    let slots = usize::try_from(traffic.records().saturating_mul(2)).unwrap_or(usize::MAX >> 1);
    let mut rates = Vec::new();
    let mut b = Baseline::default();
    for _ in 0..runs.max(1) {
        let (mut packets, mut flows, mut seconds) = (0u64, 0u64, 0f64);
        for i in &traffic.inputs {
            let r = bare_loop(compiled, &i.bytes, slots)
                .map_err(|e| BenchError::Input(format!("{}: {e}", i.name)))?;
            packets += r.packets;
            flows += r.new_flows;
            seconds += r.seconds;
            // Keep the loop's result alive.
            std::hint::black_box(r.checksum);
        }
        b.packets = packets;
        b.new_flows = flows;
        rates.push(rate(packets, seconds));
    }
    b.packets_per_second = median(rates);
    Ok(b)
}

/// Measures the engine on `traffic` for each worker count of `cfg`, and
/// the bare loop beside it. `progress` is called with (bytes done, bytes
/// in all) over every run together.
///
/// # Errors
/// An engine failure, a capture that cannot be read, or runs whose
/// verdicts differ.
pub fn measure(
    compiled: &Arc<Compiled>,
    traffic: &Traffic,
    cfg: &BenchConfig,
    progress: Option<Progress<'_>>,
) -> Result<BenchResult, BenchError> {
    let stopped = || {
        cfg.stop
            .as_deref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed))
    };
    let mut interrupted = stopped();
    let base = if interrupted {
        Baseline::default()
    } else {
        baseline(compiled, traffic, cfg.baseline_runs)?
    };
    let total = traffic.bytes();
    let all = total.saturating_mul(cfg.workers.len() as u64);
    let mut runs: Vec<Run> = Vec::with_capacity(cfg.workers.len());
    let mut first: Option<Counters> = None;
    let mut warnings = Vec::new();
    for (k, &w) in cfg.workers.iter().enumerate() {
        if interrupted || stopped() {
            interrupted = true;
            break;
        }
        let before = total.saturating_mul(k as u64);
        let step = |done: u64, _: u64| {
            if let Some(p) = progress {
                p(before + done, all);
            }
        };
        let ecfg = EngineConfig {
            workers: w,
            max_connections: cfg.max_connections,
            max_flow_records: cfg.max_connections,
            dedup: cfg.dedup,
            decap_vxlan: cfg.decap_vxlan,
            node_local: cfg.node_local.clone(),
            stop: cfg.stop.clone(),
            ..EngineConfig::default()
        };
        let mut src = source::SliceSource::new(&traffic.inputs);
        let sinks = Sinks {
            progress: Some(&step),
            ..Sinks::default()
        };
        let o = engine::run(&[Arc::clone(compiled)], &mut src, &ecfg, sinks)
            .map_err(|e| BenchError::Internal(e.to_string()))?;
        if let Some(e) = o.error {
            return Err(BenchError::Input(e));
        }
        // A run the stop cut measured part of the packets: not kept.
        if o.interrupted {
            interrupted = true;
            break;
        }
        if k == 0 {
            warnings = o.warnings;
        }
        let Some(out) = o.scenarios.into_iter().next() else {
            return Err(BenchError::Internal("the engine gave no result".into()));
        };
        let c = out.counters;
        if let Some(f) = &first {
            same_verdicts(f, &c, cfg.workers[0], w)?;
        }
        let pps = rate(c.packets.total, o.duration_s);
        #[allow(clippy::cast_precision_loss)]
        let per_worker = pps / o.workers.max(1) as f64;
        let h = &o.packet_ns;
        runs.push(Run {
            workers: o.workers,
            duration_s: o.duration_s,
            packets_per_second: pps,
            per_worker_pps: per_worker,
            scaling: 0.0,
            fraction_of_baseline: if base.packets_per_second > 0.0 {
                per_worker / base.packets_per_second
            } else {
                0.0
            },
            latency_ns: Latency {
                p50: h.value_at_quantile(0.5),
                p90: h.value_at_quantile(0.9),
                p99: h.value_at_quantile(0.99),
                p999: h.value_at_quantile(0.999),
            },
            batches: o.batch_ns.len(),
            connections: c.connections,
            flows: c.flows,
        });
        if first.is_none() {
            first = Some(c);
        }
    }
    let one = runs
        .iter()
        .find(|r| r.workers == 1)
        .map(|r| r.packets_per_second);
    for r in &mut runs {
        r.scaling = match one {
            Some(o) if o > 0.0 => r.packets_per_second / o,
            _ => 0.0,
        };
    }
    Ok(BenchResult {
        counters: first.unwrap_or_default(),
        runs,
        baseline: base,
        peak_memory_bytes: peak_rss_bytes(),
        warnings,
        interrupted,
    })
}

/// Every run judges the same packets the same way, whatever the workers.
fn same_verdicts(a: &Counters, b: &Counters, wa: usize, wb: usize) -> Result<(), BenchError> {
    if a.packets == b.packets
        && a.dropped_by_stage == b.dropped_by_stage
        && (a.copies, a.decapsulated, a.node_local) == (b.copies, b.decapsulated, b.node_local)
        && a.connections == b.connections
        && a.flows == b.flows
    {
        Ok(())
    } else {
        Err(BenchError::Internal(format!(
            "the verdicts with {wa} and {wb} worker(s) differ: {:?} against {:?}",
            a.packets, b.packets
        )))
    }
}
