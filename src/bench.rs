//! `zprsim bench SCENARIO [--capture FILE... [--dedup] [--decap vxlan]
//! [--node-local CIDR]] [--packets N] [--flows N] [--workers LIST]
//! [--seed S] [--json] [--csv F]`: wiring only; the
//! measurement is `zprsim_dataplane::bench`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use zprsim_dataplane::warning::{RunWarning, messages};

use zprsim_control::compile::{Compiled, Config};
use zprsim_dataplane::bench::{self, BenchConfig, BenchError, LoadError};
use zprsim_dataplane::output::{self, OutputFile, Plan};
use zprsim_dataplane::synth::Allowed;

use crate::{Failure, out};

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario (TOML, or JSON when it ends in `.json`).
    scenario: PathBuf,
    /// Measure on these captures (pcap or pcapng, or gzip or zstd of either; a directory stands for the files under it, a file given twice is read once; read into memory first) instead of synthetic traffic.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    capture: Vec<PathBuf>,
    /// Synthetic packets [default: 1000000].
    #[arg(long, conflicts_with = "capture")]
    packets: Option<u64>,
    /// Synthetic flows [default: packets / 50].
    #[arg(long, conflicts_with = "capture")]
    flows: Option<u64>,
    /// Worker counts, comma-separated [default: 1 and every power of two up to the cores].
    #[arg(long, value_name = "LIST")]
    workers: Option<String>,
    /// Seed of the synthetic traffic.
    #[arg(long, default_value_t = 1, conflicts_with = "capture")]
    seed: u64,
    /// Share of synthetic flows (0 to 1) drawn again until the scenario allows their first packet; the rest are random pairs of hosts.
    #[arg(long, default_value_t = DEFAULT_ALLOWED_SHARE, value_name = "F", value_parser = parse_share, conflicts_with = "capture")]
    allowed_share: f64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Write one CSV row per worker count here.
    #[arg(long, value_name = "F")]
    csv: Option<PathBuf>,
    /// Memory the packets may take, MiB (captures: checked from the file sizes before reading; gzip and standard input are read up to it).
    #[arg(long, default_value_t = 4096, value_name = "MIB")]
    memory_limit: u64,
    #[command(flatten)]
    shaping: crate::flags::CaptureShaping,
    /// What expanding `--capture` left out (files found twice).
    #[arg(skip)]
    input_warnings: Vec<zprsim_dataplane::warning::RunWarning>,
}

impl Args {
    /// Puts the files under each directory among `--capture` in its place
    /// and keeps a file given twice once, as `replay` does.
    ///
    /// # Errors
    /// A directory that cannot be read, holds no file or is past a limit.
    pub fn expand_inputs(&mut self) -> Result<(), Failure> {
        if !self.capture.is_empty() {
            self.input_warnings = crate::replay::expand_dirs(&mut self.capture)?;
        }
        Ok(())
    }
}

/// Share of synthetic flows steered onto allowed paths by default.
const DEFAULT_ALLOWED_SHARE: f64 = 0.8;

/// Most worker threads the engine runs.
const MAX_WORKERS: usize = 64;

/// Parses `--workers`: counts from 1 to 64, comma-separated, each once.
fn parse_workers(s: &str) -> Result<Vec<usize>, Failure> {
    let bad = |why: &str| {
        Failure::Input(format!(
            "error: `--workers {s}`: {why}; expected worker counts from 1 to {MAX_WORKERS}, comma-separated (e.g. `1,2,4`)"
        ))
    };
    let mut v = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let n: usize = part
            .parse()
            .map_err(|_| bad(&format!("`{part}` is not a number")))?;
        if n == 0 || n > MAX_WORKERS {
            return Err(bad(&format!("{n} is out of range")));
        }
        if v.contains(&n) {
            return Err(bad(&format!("{n} is given twice")));
        }
        v.push(n);
    }
    Ok(v)
}

/// 1 and every power of two up to the cores.
fn default_workers() -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut v = vec![1];
    let mut n = 2;
    while n <= cores.min(MAX_WORKERS) {
        v.push(n);
        n *= 2;
    }
    v
}

/// The checked settings.
struct Settings {
    workers: Vec<usize>,
    packets: usize,
    flows: usize,
    limit: u64,
    /// The inputs and outputs, checked; the scenario's policy files are
    /// checked against it once it is loaded.
    plan: Plan,
}

fn check_args(a: &Args) -> Result<Settings, Failure> {
    let mut workers = match &a.workers {
        Some(s) => parse_workers(s)?,
        None => default_workers(),
    };
    // Scaling is over one worker: it is always measured, first.
    if !workers.contains(&1) {
        workers.insert(0, 1);
    }
    // Checked here: clap's `requires = "capture"` let `bench --packets
    // 100 --dedup` through (tried, clap 4.6).
    if a.capture.is_empty()
        && let Some(flag) = a.shaping.first_given()
    {
        return Err(Failure::Input(format!(
            "error: `{flag}` needs `--capture`: it looks at captured packets, and synthetic traffic holds none of the kind"
        )));
    }
    let packets = a.packets.unwrap_or(1_000_000);
    if packets == 0 {
        return Err(Failure::Input(
            "error: `--packets 0`: expected at least 1 packet".into(),
        ));
    }
    let packets = usize::try_from(packets)
        .map_err(|_| Failure::Input(format!("error: `--packets {packets}`: too many packets")))?;
    let flows = a.flows.map_or(Ok((packets / 50).max(1)), |f| {
        usize::try_from(f).map_err(|_| Failure::Input(format!("error: `--flows {f}`: too many")))
    })?;
    if flows == 0 || flows > packets {
        return Err(Failure::Input(format!(
            "error: `--flows {flows}`: expected 1 to the number of packets ({packets})"
        )));
    }
    if a.memory_limit == 0 {
        return Err(Failure::Input(
            "error: `--memory-limit 0`: expected at least 1 MiB".into(),
        ));
    }
    let limit = a.memory_limit.saturating_mul(1 << 20);
    if a.json && a.csv.as_deref().is_some_and(output::is_std) {
        return Err(Failure::Input(
            "error: `--json` and `--csv -` both write to standard output; give `--csv` a file"
                .into(),
        ));
    }
    let mut plan = Plan::new();
    plan.input("SCENARIO", &a.scenario);
    for p in &a.capture {
        plan.input("--capture", p);
    }
    if let Some(p) = &a.csv {
        plan.output("--csv", p);
    }
    plan.standard_output();
    plan.check()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    Ok(Settings {
        workers,
        packets,
        flows,
        limit,
        plan,
    })
}

fn load_error(e: LoadError) -> Failure {
    Failure::Input(format!("error: {e}"))
}

/// Runs `bench`.
pub fn run(a: &Args) -> Result<ExitCode, Failure> {
    let p = check_args(a)?;
    // A spinner while loading, compiling and preparing the packets, then
    // a bar over the measured runs.
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_message("loading and compiling the scenario");
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    });
    let t0 = Instant::now();
    let loaded = crate::load_scenario(&p.plan, "SCENARIO", &a.scenario)?;
    let load_s = t0.elapsed().as_secs_f64();
    let s = &loaded.scenario;
    a.shaping.check_node_local(s, &a.scenario)?;
    let t1 = Instant::now();
    let compiled = Arc::new(Compiled::new(s, &Config::default()).map_err(|e| {
        Failure::Input(format!(
            "{}: error: {e}",
            zprsim_dataplane::output::shown(&a.scenario)
        ))
    })?);
    let compile_s = t1.elapsed().as_secs_f64();
    let table_bytes = compiled.stats().table_bytes;
    // A first Ctrl-C from here on (the packets loaded or synthesized, then
    // measured) stops the measuring once they are ready: the runs finished
    // before it are given, marked partial. A second exits at once.
    let interrupt = crate::interrupt::Interrupt::install()?;

    if let Some(b) = &bar {
        b.set_message(if a.capture.is_empty() {
            format!("synthesizing {} packets", p.packets)
        } else {
            "reading the captures into memory".to_string()
        });
    }
    let (traffic, synth) = if a.capture.is_empty() {
        let cfg = bench::synth_config(s, p.packets, p.flows, a.seed);
        let allowed = Allowed {
            compiled: &compiled,
            share: a.allowed_share,
        };
        let (t, st) = bench::synthesize(s, &cfg, Some(allowed), p.limit).map_err(load_error)?;
        (t, Some(st))
    } else {
        // `--capture` was expanded as `replay` expands its inputs
        // (`expand_inputs`): a directory stands for its files, and a file
        // given twice is read once with its `same-file` warning; before,
        // `bench` refused directories and measured such a file twice.
        let mut t = bench::load_captures(&a.capture, p.limit).map_err(load_error)?;
        t.warnings.splice(0..0, a.input_warnings.iter().cloned());
        (t, None)
    };

    if let Some(b) = &bar {
        b.disable_steady_tick();
        b.set_style(
            indicatif::ProgressStyle::with_template("{prefix} {bar:40} {percent}% eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_prefix("measuring");
        b.set_length(traffic.bytes().max(1));
        b.set_position(0);
    }
    let progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    let cfg = BenchConfig {
        workers: p.workers,
        dedup: a.shaping.dedup,
        decap_vxlan: a.shaping.vxlan(),
        node_local: a.shaping.node_local.clone(),
        stop: Some(Arc::clone(&interrupt.stop)),
        ..BenchConfig::default()
    };
    let r = bench::measure(&compiled, &traffic, &cfg, Some(&progress)).map_err(|e| match e {
        BenchError::Input(m) => Failure::Input(format!("error: {m}")),
        BenchError::Internal(m) => Failure::Internal(m),
    })?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }

    let mut warnings: Vec<RunWarning> = traffic.warnings.clone();
    warnings.extend(r.warnings.iter().cloned());
    warnings.extend(bench::report::baseline_warning(&r));
    let setup = bench::report::Setup {
        scenario: &a.scenario,
        captures: &a.capture,
        seed: a.seed,
        allowed_share: a.allowed_share,
        load_s,
        compile_s,
        table_bytes,
        runs_asked: cfg.workers.len(),
    };
    let mut rep = bench::report::report(&setup, &traffic, synth, &r, warnings);
    rep.stopped_by = interrupt.cause(rep.interrupted, false);
    // Opened only now (the plan checked it up front): a run stopped by
    // Ctrl-C leaves nothing beside the target.
    let mut csv_out = a
        .csv
        .as_ref()
        .map(|f| OutputFile::create("--csv", f))
        .transpose()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    if let Some(f) = csv_out.as_mut() {
        let res = f
            .write_all(bench::report::csv(&rep).as_bytes())
            .and_then(|()| f.flush());
        if let Err(e) = res {
            return Err(Failure::Input(format!(
                "error: --csv `{}`: {}",
                f.path().display(),
                output::io_message(&e)
            )));
        }
    }
    // A `--csv` that cannot be written (a full disk) is abandoned; the
    // result still goes to standard output, and the run exits 2 naming it.
    let failed = crate::outputs::commit_each(csv_out);
    crate::report::print_warnings(&loaded.warnings, &rep.warnings);
    // Said in the JSON report too, as `replay`'s says it (stderr says it
    // once, as the run's error: `outputs::failure`).
    rep.warnings.extend(messages(&failed));
    rep.run_warnings.extend(failed.iter().cloned());
    if a.json {
        let text = serde_json::to_string_pretty(&rep)
            .map_err(|e| Failure::Internal(format!("cannot render the report: {e}")))?;
        out(&format!("{text}\n"))?;
    } else if a.csv.as_deref().is_some_and(output::is_std) {
        crate::err(&bench::report::table(&rep));
    } else {
        out(&bench::report::table(&rep))?;
    }
    crate::outputs::failure(&failed)?;
    if rep.interrupted {
        crate::err(&format!(
            "interrupted: {} of {} run(s) measured; the output holds those\n",
            rep.runs.len(),
            rep.runs_asked
        ));
        return Ok(ExitCode::from(interrupt.exit_code()));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--allowed-share`: a number from 0 to 1. Checked here, where clap
/// still has the text given, so the error quotes it: read as a float
/// first, `nan` was echoed as `NaN` and `infinity` as `inf` (QA round 24).
fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(
            "expected a share from 0 to 1, a decimal number such as 0.8 (not NaN nor an infinity)"
                .to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn worker_lists() {
        assert_eq!(parse_workers("1,2,4").unwrap(), vec![1, 2, 4]);
        assert_eq!(parse_workers(" 2 , 1").unwrap(), vec![2, 1]);
        for bad in ["0", "1,,2", "65", "a", "1,1", ""] {
            assert!(parse_workers(bad).is_err(), "{bad}");
        }
        let d = default_workers();
        assert_eq!(d[0], 1);
        assert!(d.windows(2).all(|w| w[1] == w[0] * 2));
    }
}
