//! `zprsim-baseline`: the engine beside the bare stateful loop
//! (`zprsim_dataplane::baseline`) on the same capture, in the same run, so
//! every rate is also a ratio to what this machine can do.
//!
//! ```text
//! zprsim-baseline /tmp/large.toml /tmp/real.pcap --workers 1,2 --runs 3
//! ```
//!
//! The capture is read into memory first; the engine reads it as a stream
//! (a copy per record, as from a file) and judges every packet with
//! connection tracking, counters, rule hits and flow records (no output
//! files, or with `--write` allowed and dropped pcaps thrown away). Each
//! figure is the median of the runs.
//!
//! The engine's rate is its packet phase: from the pass's start to the end
//! of the last judging unit's loop over its packets, the span the bare loop
//! (which has no flows to end) is timed over, and every rate of
//! docs/benchmarks.md before the thirty-first session. Each unit then ends
//! its open flows (flow records finished and spooled) on its own thread:
//! that finish is reported on its own line: the wall time from the packet
//! phase's end to the join of every thread (the units' finish, and the
//! writer's drain with `--write`), the judging units' CPU time for the
//! finish (the worker threads' and the reader's share's, apart), and the
//! whole pass's rate.
//! Beside each rate: the CPU time per
//! packet of the reader, the workers (summed) and the writer, from the
//! scheduler's own count, which says what limits the engine even on a
//! shared machine. With `--reader-shards` the reader's thread judges that
//! many of the 256 shards itself (`auto`: what `zprsim replay` does, `off`:
//! none; a list runs each, worker count by worker count, alternated), and
//! the reader's figure shows what of it went to judging.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use zprsim_control::compile::{Compiled, Config};
use zprsim_dataplane::baseline::bare_loop;
use zprsim_dataplane::engine::{self, CaptureFiles, EngineConfig, PcapSink, ReaderShare, Sinks};

/// The allocator `zprsim` itself uses (src/main.rs), so the engine measured
/// here sets up its tables and buffers the way `zprsim replay` does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "zprsim-baseline",
    about = "The engine beside the bare stateful loop"
)]
struct Args {
    /// The scenario.
    scenario: PathBuf,
    /// The capture (pcap or pcapng).
    capture: PathBuf,
    /// Worker counts to run the engine with.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    workers: Vec<usize>,
    /// Runs of each (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Keep every flow record (as `--flows` does).
    #[arg(long)]
    keep_flows: bool,
    /// Write the allowed and dropped packets (to nowhere), so the writer
    /// runs as with `--allowed` and `--dropped`.
    #[arg(long)]
    write: bool,
    /// Shards of 256 the reader's thread judges itself beside the worker
    /// threads: `auto` (as `zprsim replay`), `off`, or a number; a list
    /// runs each with every worker count.
    #[arg(long, value_delimiter = ',', default_value = "auto", value_parser = share)]
    reader_shards: Vec<ReaderShare>,
}

fn share(s: &str) -> Result<ReaderShare, String> {
    match s {
        "auto" => Ok(ReaderShare::Auto),
        "off" => Ok(ReaderShare::Off),
        k => k
            .parse()
            .map(ReaderShare::Shards)
            .map_err(|_| format!("{k}: auto, off or a number of shards (0-255)")),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[allow(clippy::cast_precision_loss)]
fn run(a: &Args) -> Result<(), String> {
    let loaded =
        zprsim_dataplane::scenario_file::load_path(&a.scenario).map_err(|e| e.to_string())?;
    let compiled =
        Arc::new(Compiled::new(&loaded.scenario, &Config::default()).map_err(|e| e.to_string())?);
    let bytes = std::fs::read(&a.capture).map_err(|e| format!("{}: {e}", a.capture.display()))?;
    let runs = a.runs.max(1);
    let mut bare = Vec::new();
    let mut packets = 0u64;
    let mut new_flows = 0u64;
    for _ in 0..runs {
        let b = bare_loop(&compiled, &bytes, 4 << 20).map_err(|e| e.to_string())?;
        packets = b.packets;
        new_flows = b.new_flows;
        bare.push(b.packets as f64 / b.seconds.max(1e-9));
    }
    let bare = median(bare);
    println!(
        "capture {}: {packets} IP packets, {new_flows} flows; scenario {}",
        a.capture.display(),
        a.scenario.display()
    );
    println!("bare stateful loop: {:.2} Mpps", bare / 1e6);
    let mut one = None;
    for &w in &a.workers {
        for &rs in &a.reader_shards {
            let (mut rates, mut whole, mut finish, mut finish_cpu, mut reader_finish) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let (mut reader, mut judging, mut workers, mut busiest, mut writer) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut plan = None;
            let mut unit_packets = Vec::new();
            for _ in 0..runs {
                let mut src = CaptureFiles::from_bytes("capture", bytes.clone())?;
                let cfg = EngineConfig {
                    workers: w,
                    keep_flows: a.keep_flows,
                    reader_share: rs,
                    ..EngineConfig::default()
                };
                let nowhere = |name: &str| PcapSink {
                    name: name.into(),
                    out: Box::new(std::io::sink()),
                    on_finish: None,
                };
                let sinks = Sinks {
                    allowed: a.write.then(|| nowhere("allowed")),
                    dropped: a.write.then(|| nowhere("dropped")),
                    ..Sinks::default()
                };
                let o = engine::run(&[Arc::clone(&compiled)], &mut src, &cfg, sinks)
                    .map_err(|e| e.to_string())?;
                let k = &o.scenarios[0].counters;
                let records = (k.packets.total + k.non_ip) as f64;
                rates.push(records / o.loops_s.max(1e-9));
                whole.push(records / o.duration_s.max(1e-9));
                finish.push((o.duration_s - o.loops_s).max(0.0) * 1e3);
                let per = |s: f64| s * 1e9 / records.max(1.0);
                finish_cpu.push(o.cpu.workers_finish_s.iter().flatten().sum::<f64>() * 1e3);
                reader_finish.push(o.cpu.reader_finish_s.unwrap_or(0.0) * 1e3);
                plan = Some(o.plan);
                unit_packets = o.unit_packets;
                reader.push(o.cpu.reader_s.map_or(f64::NAN, per));
                judging.push(o.cpu.reader_judging_s.map_or(0.0, per));
                let ws: Vec<f64> = o
                    .cpu
                    .workers_s
                    .iter()
                    .map(|c| c.map_or(f64::NAN, per))
                    .collect();
                workers.push(ws.iter().sum());
                busiest.push(ws.iter().copied().fold(0.0, f64::max));
                writer.push(o.cpu.writer_s.flatten().map_or(0.0, per));
            }
            let r = median(rates);
            let per_worker = r / w as f64;
            let scaling = match one {
                Some(o) => format!(", {:.2}x one worker", r / o),
                None => String::new(),
            };
            if w == 1 && one.is_none() {
                one = Some(r);
            }
            let split = plan.map_or(String::new(), |p| {
                // The reader's share of the packets, which its share of
                // the shards does not fix (flows differ in size).
                let packets = match unit_packets.last() {
                    Some(&own) if p.reader_shards > 0 => format!(
                        " ({:.1}% of the packets)",
                        100.0 * own as f64 / (unit_packets.iter().sum::<u64>().max(1)) as f64
                    ),
                    _ => String::new(),
                };
                format!(
                    "{} thread(s), reader's shards {}/256{packets}",
                    p.threads, p.reader_shards
                )
            });
            println!(
                "engine, {w} worker(s) [{split}]: {:.2} Mpps ({:.2} Mpps per worker, {:.2} of the bare loop per worker{scaling})",
                r / 1e6,
                per_worker / 1e6,
                per_worker / bare,
            );
            println!(
                "  CPU ns per packet: reader {:.1} (judging {:.1}), worker threads {:.1} (busiest {:.1}), writer {:.1}",
                median(reader),
                median(judging),
                median(workers),
                median(busiest),
                median(writer)
            );
            println!(
                "  finish of open flows: {:.1} ms from the packet phase's end to the join (the units' finish{}); CPU for it: worker threads {:.1} ms, reader's share {:.1} ms; with it {:.2} Mpps",
                median(finish),
                if a.write { ", the writer's drain" } else { "" },
                median(finish_cpu),
                median(reader_finish),
                median(whole) / 1e6,
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zprsim-baseline: error: {e}");
            ExitCode::FAILURE
        }
    }
}
