//! `zprsim replay SCENARIO PCAP... [--workers N] [--report FILE.json]
//! [--flows FILE.jsonl] [--allowed OUT.pcap] [--dropped OUT.pcap] [--quiet]`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use zprsim_dataplane::warning::{RunWarning, RunWarningCode};

use serde::Serialize;
use zprsim_dataplane::input_dir;
use zprsim_dataplane::output::{self, OutputFile, OutputState, Plan};
use zprsim_dataplane::replay::{self, ReplayConfig};
use zprsim_dataplane::report::flow_line::FlowLines;
use zprsim_dataplane::stand_in_owed::StandInOwed;

use crate::Failure;
use crate::interrupt::Interrupt;
use crate::outputs;

/// Arguments of `replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario (TOML, or JSON when it ends in `.json`).
    scenario: PathBuf,
    /// Captures (pcap or pcapng, or gzip or zstd of one), read in this order as one stream; or OCI flow-log files (JSON, gzip, zstd). A directory stands for the files under it, in name order.
    #[arg(required = true)]
    pcaps: Vec<PathBuf>,
    /// Warnings of [`Args::expand_inputs`] (inputs read once).
    #[arg(skip)]
    input_warnings: Vec<RunWarning>,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Write the JSON report here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the flow log (JSON lines) here.
    #[arg(long)]
    flows: Option<PathBuf>,
    /// Write the allowed packets here, byte for byte, in input order.
    #[arg(long)]
    allowed: Option<PathBuf>,
    /// Write the dropped packets here, byte for byte, in input order.
    #[arg(long)]
    dropped: Option<PathBuf>,
    /// No summary and no progress bar.
    #[arg(long)]
    quiet: bool,
    /// Connections tracked at most (1 to 2^30), also the bound on open flow
    /// records: spread over 256 shards of at least one entry each, so below
    /// 256 it acts as 256.
    #[arg(long, default_value_t = zprsim_dataplane::engine::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    #[command(flatten)]
    pub(crate) flow_log: crate::flags::FlowLogLimits,
    /// Exit 1 when any packet was dropped (for CI jobs replaying a known-good capture).
    #[arg(long)]
    fail_on_drop: bool,
    #[command(flatten)]
    shaping: crate::flags::CaptureShaping,
}

/// A failure to write `flag`'s output. (A closed pipe on standard output
/// is none: [`OutputFile`] discards the rest of that output and the run
/// goes on to its other outputs and its exit status.)
fn write_error(out: &OutputFile, e: &std::io::Error) -> Failure {
    Failure::Input(format!(
        "error: {} `{}`: {}",
        out.flag(),
        out.path().display(),
        output::io_message(e)
    ))
}

fn write_json_file<T: Serialize>(out: &mut OutputFile, v: &T) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    out.write_all(b"\n")
}

/// The `interrupted-after-reading` warning of a flow log `f` that a signal
/// after the reading cut.
fn flows_cut_warning(f: &OutputFile, cut: zprsim_dataplane::engine::FlowsCut) -> RunWarning {
    let path = zprsim_dataplane::output::shown(f.path());
    RunWarning::new(
        RunWarningCode::InterruptedAfterReading,
        format!(
            "--flows `{path}`: a signal came after the reading, while it was written: it holds the first {} of the {} flow record(s), in its order; the counts and the other outputs are of every record read",
            cut.written, cut.total
        ),
    )
    .file(path)
}

/// The most connections `--max-connections` takes (the tables are sized
/// from it up front).
const MAX_CONNECTIONS: usize = 1 << 30;

/// The engine's bounds as `replay` and `diff` take them: `--workers` 1 to
/// 64, `--max-connections` 1 to [`MAX_CONNECTIONS`].
pub(crate) fn check_engine_bounds(workers: usize, max_connections: usize) -> Result<(), Failure> {
    if workers == 0 || workers > 64 {
        return Err(Failure::Input(format!(
            "error: `--workers {workers}`: expected 1 to 64"
        )));
    }
    if max_connections == 0 || max_connections > MAX_CONNECTIONS {
        return Err(Failure::Input(format!(
            "error: `--max-connections {max_connections}`: expected 1 to {MAX_CONNECTIONS}"
        )));
    }
    Ok(())
}

impl Args {
    /// Puts the files under each directory among the inputs in its place.
    ///
    /// # Errors
    /// A directory that cannot be read, holds no file or is past a limit.
    pub fn expand_inputs(&mut self) -> Result<(), Failure> {
        let inside = input_dir::outputs_inside(
            &self.pcaps,
            &[("--allowed", &self.allowed), ("--dropped", &self.dropped)],
        );
        self.input_warnings = expand_dirs(&mut self.pcaps)?;
        self.input_warnings.extend(inside);
        Ok(())
    }
}

/// Each directory among `inputs` replaced by the files under it, and a
/// file found twice kept once ([`zprsim_dataplane::input_dir`]), for
/// `replay` and `diff`; returns a warning per file left out.
pub(crate) fn expand_dirs(inputs: &mut Vec<PathBuf>) -> Result<Vec<RunWarning>, Failure> {
    let e = input_dir::expand(inputs, input_dir::Limits::default())
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    *inputs = e.paths;
    Ok(e.warnings)
}

/// Checks the flags and every input and output before any work: bounds,
/// then [`Plan`] (no output is an input or another output; every output
/// directory is writable; `-` once per side).
fn check_args(a: &Args) -> Result<Plan, Failure> {
    check_engine_bounds(a.workers, a.max_connections)?;
    a.flow_log.check()?;
    let mut plan = Plan::new();
    plan.input("SCENARIO", &a.scenario);
    for p in &a.pcaps {
        plan.input("PCAP", p);
    }
    for (flag, path) in [
        ("--report", &a.report),
        ("--flows", &a.flows),
        ("--allowed", &a.allowed),
        ("--dropped", &a.dropped),
    ] {
        if let Some(p) = path {
            plan.output(flag, p);
        }
    }
    if !a.quiet {
        plan.standard_output();
    }
    plan.check()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    Ok(plan)
}

/// Opens an optional output through [`OutputFile`]: nothing at its path
/// changes before the run ends well.
fn open_output(flag: &str, path: Option<&PathBuf>) -> Result<Option<OutputFile>, Failure> {
    path.map(|p| OutputFile::create(flag, p))
        .transpose()
        .map_err(|e| Failure::Input(format!("error: {e}")))
}

/// Runs `replay`.
pub fn run(a: &Args) -> Result<ExitCode, Failure> {
    let plan = check_args(a)?;
    // Flow-log files instead of captures: judged record by record.
    if let Some(code) = crate::flowlog::replay_if_flow_logs(&crate::flowlog::Inputs {
        plan: &plan,
        scenario: &a.scenario,
        inputs: &a.pcaps,
        input_warnings: &a.input_warnings,
        max_records: a.flow_log.max_flow_log_records,
        spill: a.flow_log.spill(a.max_connections),
        report: a.report.as_deref(),
        flows: a.flows.as_deref(),
        packet_outputs: a.allowed.is_some() || a.dropped.is_some(),
        capture_flags: a.shaping.any(),
        quiet: a.quiet,
        fail_on_drop: a.fail_on_drop,
    })? {
        return Ok(code);
    }
    a.flow_log.refuse_given()?;
    // Before anything slow: a Ctrl-C from here on ends the run cleanly.
    let interrupt = Interrupt::install()?;
    let report_out = open_output("--report", a.report.as_ref())?;
    let mut flows_out = open_output("--flows", a.flows.as_ref())?;
    // Standard output is the only output, and no exit status depends on
    // the whole input: when its reader leaves, nothing is left to do.
    let only_stdout = a.report.is_none()
        && !a.fail_on_drop
        && [&a.allowed, &a.dropped, &a.flows]
            .into_iter()
            .flatten()
            .all(|p| output::is_std(p));
    let t0 = Instant::now();
    // Never dropped: the process ends with this run, and freeing the
    // scenario's ~10^5 small allocations one by one at the end cost ~18 M
    // instructions (~5 ms on the 10k-VNIC scenario) after the last packet.
    // A first signal while it loads or compiles ends the run at once, with
    // an empty scenario's (`crate::prepare`).
    let prepared = crate::prepare::load_and_compile(
        &interrupt,
        &plan,
        "SCENARIO",
        &a.scenario,
        crate::prepare::Compile::Parallel,
    )?;
    let stopped_loading = prepared.stopped;
    let loaded = std::mem::ManuallyDrop::new(prepared.loaded);
    let s = &loaded.scenario;
    a.shaping.check_node_local(s, &a.scenario)?;
    let compiled = Arc::new(prepared.compiled);
    let compile_s = t0.elapsed().as_secs_f64();
    let cfg = ReplayConfig {
        workers: a.workers,
        max_connections: a.max_connections,
        max_flow_records: a.max_connections,
        keep_flows: a.flows.is_some(),
        // Runs of closed flow records spilled beside the flow log (that
        // file system has room for it); `$TMPDIR` for standard output.
        // Beside the flow log, or `$TMPDIR` (`None`) when it is written in place.
        spool_dir: flows_out.as_ref().and_then(OutputFile::scratch_dir),
        allowed: a.allowed.clone(),
        dropped: a.dropped.clone(),
        stop: Some(Arc::clone(&interrupt.stop)),
        stop_when_reader_gone: only_stdout,
        // The pcaps are renamed into place with the report and flow log.
        commit: false,
        // Rule statistics feed the report and the summary only (its audit
        // flows and unused rules): a `--quiet` run without `--report`
        // skips their per-packet work.
        rule_stats: a.report.is_some() || !a.quiet,
        // Flows per rule are in the report only, and cost a hash insert
        // per packet and rule: counted only when it is asked for.
        rule_flows: a.report.is_some(),
        dedup: a.shaping.dedup,
        decap_vxlan: a.shaping.vxlan(),
        node_local: a.shaping.node_local.clone(),
        // Drops owed to stand-ins, counted as each flow record closes.
        stand_ins: StandInOwed::new(s, &compiled).map(Arc::new),
        ..ReplayConfig::default()
    };
    let show_progress = !a.quiet && std::io::stderr().is_terminal();
    let bar = crate::report::progress_bar(show_progress);
    let progress = |done: u64, total: u64| crate::report::progress_to(bar.as_ref(), done, total);
    let mut lines = flows_out
        .as_mut()
        .map(|out| FlowLines::new(out, s, &compiled));
    let replayed = replay::replay_with_flows(
        Arc::clone(&compiled),
        &a.pcaps,
        &cfg,
        Some(&progress),
        lines
            .as_mut()
            .map(|l| l as &mut dyn zprsim_dataplane::replay::FlowSink),
    );
    let flows_error = lines.and_then(FlowLines::into_error);
    let mut o = match replayed {
        Ok(o) => o,
        Err(e) => return Err(Failure::Input(format!("error: {e}"))),
    };
    o.warnings.splice(0..0, a.input_warnings.iter().cloned());
    if stopped_loading {
        o.warnings
            .push(crate::prepare::stopped_warning("SCENARIO", &a.scenario));
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    // The flow log and the pcaps first: one that cannot be written (a full
    // disk) is abandoned, the others are renamed into place, and the
    // report (written last) names it. Interrupted or not: what was judged
    // is written in full, and the report says whether it is all of the
    // input.
    let pcaps = std::mem::take(&mut o.outputs);
    let reader_left = pcaps
        .iter()
        .chain(&flows_out)
        .any(|f| f.state() == OutputState::ReaderGone);
    if reader_left && only_stdout && !interrupt.signalled() {
        // Standard output was the only output and its reader left: the
        // run ends as a SIGPIPE would end it, quietly, with what the
        // reader took (`replay ... --allowed - | head -c 100`).
        crate::leave::leave(0);
    }
    // An abandoned output holds nothing.
    for f in pcaps.iter().filter(|f| f.state() == OutputState::Failed) {
        if f.flag() == "--allowed" {
            o.written.0 = 0;
        } else {
            o.written.1 = 0;
        }
    }
    if let Some(f) = flows_out.as_mut()
        && let Some(e) = flows_error
    {
        return Err(write_error(f, &e));
    }
    let mut run_warnings = outputs::reader_gone(pcaps.iter().chain(&flows_out));
    // A signal after the reading cut `--flows` (the tail's long part): the
    // run ends as an interrupted one, its flow log a valid prefix.
    if let (Some(cut), Some(f)) = (o.flows_cut, flows_out.as_ref()) {
        o.interrupted = true;
        run_warnings.push(flows_cut_warning(f, cut));
    }
    let failed = outputs::commit_each(pcaps.into_iter().chain(flows_out));
    run_warnings.extend(failed.iter().cloned());
    run_warnings.extend(zprsim_dataplane::report::nothing_judged::capture(
        &a.pcaps,
        &o.counters,
        o.interrupted || o.error.is_some(),
    ));
    o.warnings.extend(run_warnings);
    // The report feeds `--report` and the summary only: a `--quiet` run
    // without `--report` skips it (the top dropped flows' reasons are
    // re-judged by the reference evaluator, every rule's text is formatted).
    let r = (a.report.is_some() || !a.quiet).then(|| {
        zprsim_dataplane::report::replay::report(
            &a.scenario,
            &a.pcaps,
            &loaded,
            &compiled,
            &o,
            compile_s,
            interrupt.cause(o.interrupted, false),
        )
    });
    let mut report_failed = Vec::new();
    if let Some(mut f) = report_out {
        if let Some(r) = &r
            && let Err(e) = write_json_file(&mut f, r)
        {
            return Err(write_error(&f, &e));
        }
        report_failed = outputs::commit_each([f]);
    }
    // Warnings go to stderr, even with `--quiet`.
    crate::report::print_warnings(&loaded.warnings, &outputs::for_stderr(&o.warnings));
    if let Some(r) = r.as_ref().filter(|_| !a.quiet) {
        let outputs = [&a.report, &a.flows, &a.allowed, &a.dropped].map(|p| p.as_deref());
        crate::summary_out(&zprsim_dataplane::report::replay::summary(r), &outputs)?;
    }
    outputs::failure(&[failed, report_failed].concat())?;
    let k = &o.counters;
    if let Some(e) = &o.error {
        return Err(Failure::Input(format!("error: {e}")));
    }
    let code = if o.interrupted {
        let judged = k.packets.total + k.non_ip + k.copies + k.node_local;
        crate::err(&match o.flows_cut {
            _ if stopped_loading => "interrupted while the scenario was loaded or compiled: nothing was judged; every output is empty\n".to_owned(),
            Some(cut) => format!(
                "interrupted after the reading: {judged} record(s) judged; `--flows` holds the first {} of {} flow record(s), the other outputs all of them\n",
                cut.written, cut.total
            ),
            None => format!(
                "interrupted: {judged} record(s) judged; every output holds exactly those\n"
            ),
        });
        interrupt.exit_code()
    } else {
        u8::from(a.fail_on_drop && k.packets.dropped > 0)
    };
    // Every output is committed and the summary printed: end here rather
    // than free the compiled tables, the engine's output and the report
    // (and run the allocator's exit hook) only for the process to exit.
    crate::leave::leave(code)
}
