//! `zprsim diff BEFORE AFTER CAPTURE... [--workers N] [--report F.json]
//! [--flows F.jsonl] [--fail-on KINDS] [--quiet]`: what a change would do to
//! recorded traffic.
//!
//! The wiring only: arguments, files, the engine's compared pass
//! ([`EngineConfig::compare`]) into [`DiffSink`] (the classes, groups and
//! `--flows` lines, `zprsim_dataplane::diff`), the report, the summary and
//! the exit code. Flow logs go to `flowlog_diff`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use zprsim_dataplane::warning::{RunWarning, RunWarningCode, messages};

use zprsim_control::compile::Compiled;
use zprsim_dataplane::diff::{
    Class, DiffSink, FlowsOut, PacketCounts, Report, Side, eviction_warning,
};
use zprsim_dataplane::engine::{self, CaptureFiles, EngineConfig, EngineError, Sinks};
use zprsim_dataplane::output::{OutputFile, Plan};

use crate::Failure;
use crate::interrupt::Interrupt;
use crate::outputs;
use crate::report;

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario as it is.
    before: PathBuf,
    /// The scenario as proposed.
    after: PathBuf,
    /// Captures (pcap or pcapng, or gzip of one) or flow logs, read in this order as one stream. A directory stands for the files under it, in name order.
    #[arg(required = true)]
    captures: Vec<PathBuf>,
    /// Warnings of [`Args::expand_inputs`] (inputs read once, `--fail-on` with no class).
    #[arg(skip)]
    input_warnings: Vec<RunWarning>,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Write the JSON report here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the changed flows (JSON lines) here.
    #[arg(long)]
    flows: Option<PathBuf>,
    /// Exit 1 when a flow of one of these classes exists (comma list of
    /// would-break, newly-allowed, reason-changed, and for flow logs
    /// new-path, gone-path; `none` for a run that never exits 1).
    #[arg(long, default_value = "would-break")]
    fail_on: String,
    /// No summary and no progress bar.
    #[arg(long)]
    quiet: bool,
    /// Connections tracked at most per scenario (1 to 2^30): spread over 256
    /// shards of at least one entry each, so below 256 it acts as 256.
    #[arg(long, default_value_t = zprsim_dataplane::engine::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    #[command(flatten)]
    pub(crate) flow_log: crate::flags::FlowLogLimits,
    #[command(flatten)]
    shaping: crate::flags::CaptureShaping,
}

impl Args {
    /// Puts the files under each directory among the inputs in its place.
    ///
    /// # Errors
    /// A directory that cannot be read, holds no file or is past a limit.
    pub fn expand_inputs(&mut self) -> Result<(), Failure> {
        self.input_warnings = crate::replay::expand_dirs(&mut self.captures)?;
        // An empty list (an unset variable in `--fail-on "$KINDS"`) turns
        // the gate off as `none` does: kept, and said, since a CI job would
        // otherwise pass whatever breaks.
        // The same scenario file twice (`diff "$A" "$A"`): said, not refused
        // (comparing a scenario with itself is a fair check of the tool).
        if same_file(&self.before, &self.after) {
            self.input_warnings.insert(
                0,
                RunWarning::new(
                    RunWarningCode::SameScenarios,
                    format!(
                        "{} and {} are the same file: nothing can change, so this run never exits 1",
                        self.before.display(),
                        self.after.display(),
                    ),
                ),
            );
        }
        if self.fail_on.split(',').all(|t| t.trim().is_empty()) {
            self.input_warnings.insert(
                0,
                RunWarning::new(
                    RunWarningCode::FailOnEmpty,
                    "`--fail-on` names no class: this run never exits 1 (write `--fail-on none` to mean it)",
                ),
            );
        }
        Ok(())
    }
}

/// Whether `a` and `b` are the same file (one device and inode: the same
/// path, a link) whose `file =` policies are read from the same directory.
/// Not files of the same bytes: a scenario reads its policy files beside
/// it, so two copies in two directories may differ; and so may one file
/// named from two directories (a link elsewhere, or `-` and `/dev/stdin`,
/// whose policies are read from the working directory).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    use zprsim_dataplane::input_dir::file_id;
    use zprsim_dataplane::scenario_file::directory_of;
    let dir = |p: &std::path::Path| {
        let d = directory_of(p);
        let d = if d.as_os_str().is_empty() {
            std::path::PathBuf::from(".")
        } else {
            d
        };
        std::fs::metadata(d).ok().map(|m| (m.dev(), m.ino()))
    };
    file_id(a).is_some_and(|x| file_id(b) == Some(x)) && dir(a).is_some_and(|d| dir(b) == Some(d))
}

fn check_args(a: &Args) -> Result<(BTreeSet<Class>, Plan), Failure> {
    crate::replay::check_engine_bounds(a.workers, a.max_connections)?;
    a.flow_log.check()?;
    let mut fail_on = BTreeSet::new();
    let none = a.fail_on.trim() == "none";
    for t in a
        .fail_on
        .split(',')
        .filter(|t| !none && !t.trim().is_empty())
    {
        fail_on.insert(Class::parse(t).ok_or_else(|| {
            Failure::Input(format!(
                "error: `--fail-on {}`: `{}` is not a class; expected `would-break`, `newly-allowed`, `reason-changed`, `new-path` or `gone-path` (or `none` alone)",
                a.fail_on,
                t.trim()
            ))
        })?);
    }
    let mut plan = Plan::new();
    plan.input("BEFORE", &a.before).input("AFTER", &a.after);
    for c in &a.captures {
        plan.input("CAPTURE", c);
    }
    for (flag, path) in [("--report", &a.report), ("--flows", &a.flows)] {
        if let Some(p) = path {
            plan.output(flag, p);
        }
    }
    if !a.quiet {
        plan.standard_output();
    }
    plan.check()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    Ok((fail_on, plan))
}

/// The usage error of a flow-log-only class in `--fail-on` (`new-path`,
/// `gone-path`) when the inputs are captures: such a gate can never fire,
/// and a CI job written for flow logs would pass on captures without a
/// word (as the flow-log-only flags are refused,
/// [`crate::replay::refuse_flow_log_flags`]).
///
/// # Errors
/// When `classes` holds a class only flow logs have.
fn refuse_flow_log_classes(given: &str, classes: &BTreeSet<Class>) -> Result<(), Failure> {
    let only: Vec<String> = classes
        .iter()
        .filter(|c| c.flow_logs_only())
        .map(|c| format!("`{}`", c.name()))
        .collect();
    if only.is_empty() {
        return Ok(());
    }
    let (named, verb) = if only.len() == 1 {
        (only.join(""), "is a class")
    } else {
        (only.join(" and "), "are classes")
    };
    Err(Failure::Input(format!(
        "error: `--fail-on {given}`: {named} {verb} of flow-log input only (a VNIC one scenario lacks), and the inputs are captures: the gate could never fire"
    )))
}

/// Loads and compiles one side, or an empty scenario when a first signal
/// came first (`stopped`: [`crate::prepare`]).
fn load(
    interrupt: &Interrupt,
    plan: &Plan,
    flag: &str,
    path: &std::path::Path,
) -> Result<(zprsim_control::load::Loaded, Arc<Compiled>, bool), Failure> {
    let p = crate::prepare::load_and_compile(
        interrupt,
        plan,
        flag,
        path,
        crate::prepare::Compile::Serial,
    )?;
    Ok((p.loaded, Arc::new(p.compiled), p.stopped))
}

/// Runs `diff`.
#[allow(clippy::too_many_lines)]
pub fn run(a: &Args) -> Result<ExitCode, Failure> {
    let (fail_on, plan) = check_args(a)?;
    // Flow-log files instead of captures: judged record by record.
    if let Some(code) = crate::flowlog_diff::diff_if_flow_logs(&crate::flowlog_diff::Inputs {
        plan: &plan,
        before: &a.before,
        after: &a.after,
        inputs: &a.captures,
        input_warnings: &a.input_warnings,
        max_records: a.flow_log.max_flow_log_records,
        spill: a.flow_log.spill(a.max_connections),
        report: a.report.as_deref(),
        flows: a.flows.as_deref(),
        fail_on: &fail_on,
        capture_flags: a.shaping.any(),
        quiet: a.quiet,
    })? {
        return Ok(code);
    }
    a.flow_log.refuse_given()?;
    refuse_flow_log_classes(&a.fail_on, &fail_on)?;
    let interrupt = Interrupt::install()?;
    let report_out = a
        .report
        .as_ref()
        .map(|p| OutputFile::create("--report", p))
        .transpose()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    let mut flows_out = a
        .flows
        .as_ref()
        .map(|p| OutputFile::create("--flows", p))
        .transpose()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    let (lb, cb, stopped_b) = load(&interrupt, &plan, "BEFORE", &a.before)?;
    let (la, ca, stopped_a) = load(&interrupt, &plan, "AFTER", &a.after)?;
    // The first side a signal cut (the other one was then not loaded).
    let stopped_loading = if stopped_b {
        Some(("BEFORE", &a.before))
    } else if stopped_a {
        Some(("AFTER", &a.after))
    } else {
        None
    };
    a.shaping.check_node_local(&lb.scenario, &a.before)?;
    a.shaping.check_node_local(&la.scenario, &a.after)?;
    let mut source =
        CaptureFiles::open(&a.captures).map_err(|e| Failure::Input(format!("error: {e}")))?;
    let cfg = EngineConfig {
        workers: a.workers,
        max_connections: a.max_connections,
        max_flow_records: a.max_connections,
        keep_flows: true,
        compare: true,
        // Runs of closed flow records spill beside the flow log, else
        // beside the report (where the user has room for outputs), else in
        // `$TMPDIR`, as `replay` does.
        spool_dir: flows_out
            .as_ref()
            .and_then(OutputFile::scratch_dir)
            .or_else(|| report_out.as_ref().and_then(OutputFile::scratch_dir)),
        stop: Some(Arc::clone(&interrupt.stop)),
        dedup: a.shaping.dedup,
        decap_vxlan: a.shaping.vxlan(),
        node_local: a.shaping.node_local.clone(),
        // Drops owed to each scenario's stand-ins, counted as each flow
        // record closes.
        stand_ins: vec![
            zprsim_dataplane::stand_in_owed::StandInOwed::new(&lb.scenario, &cb).map(Arc::new),
            zprsim_dataplane::stand_in_owed::StandInOwed::new(&la.scenario, &ca).map(Arc::new),
        ],
        ..EngineConfig::default()
    };
    let flows_name = |f: &OutputFile| format!("--flows `{}`", f.path().display());
    let lines = flows_out.as_mut().map(|f| {
        let name = flows_name(f);
        FlowsOut::new(f, name)
    });
    let mut sink = DiffSink::new((&lb.scenario, &cb), (&la.scenario, &ca), lines);
    let show_progress = !a.quiet && std::io::stderr().is_terminal();
    let bar = report::progress_bar(show_progress);
    let progress = |done: u64, total: u64| report::progress_to(bar.as_ref(), done, total);
    let sinks = Sinks {
        pairs: Some(&mut sink),
        progress: Some(&progress),
        ..Sinks::default()
    };
    let o = engine::run(
        &[Arc::clone(&cb), Arc::clone(&ca)],
        &mut source,
        &cfg,
        sinks,
    )
    .map_err(|e| match e {
        EngineError::Internal(m) => Failure::Internal(m),
        other => Failure::Input(format!("error: {other}")),
    })?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let classified = sink
        .finish()
        .map_err(|(name, e)| Failure::Input(format!("error: {name}: {e}")))?;
    let [before, after] = o.scenarios.as_slice() else {
        return Err(Failure::Internal(
            "the engine returned another number of scenarios".into(),
        ));
    };
    let before_side = Side::of(a.before.display().to_string(), &before.counters);
    let after_side = Side::of(a.after.display().to_string(), &after.counters);
    let evicted = eviction_warning(&before_side, &after_side, a.max_connections);
    // The flow log first: when it cannot be written (a full disk) it is
    // abandoned and the report, written after it, names it.
    let gone = outputs::reader_gone(flows_out.iter().filter(|_| report_out.is_some()));
    let failed = outputs::commit_each(flows_out);
    let run_warnings: Vec<RunWarning> = a
        .input_warnings
        .iter()
        .chain(&o.warnings)
        .cloned()
        .chain(evicted)
        .chain(gone)
        .chain(failed.iter().cloned())
        .chain(stopped_loading.map(|(flag, p)| crate::prepare::stopped_warning(flag, p)))
        .chain(zprsim_dataplane::report::nothing_judged::capture(
            &a.captures,
            &before.counters,
            o.interrupted || o.error.is_some(),
        ))
        .collect();
    // A full disk under the flow records cut the flows compared (a
    // `temporary-files-full` warning says which): partial, as a stop.
    let temp_full = !outputs::temp_full(&o.warnings).is_empty();
    let r = Report {
        captures: a.captures.iter().map(|p| p.display().to_string()).collect(),
        packets: PacketCounts {
            total: before.counters.packets.total,
            would_break: classified.packets_would_break,
            newly_allowed: classified.packets_newly_allowed,
        },
        flows: classified.flows,
        before: before_side,
        after: after_side,
        would_break: classified.would_break,
        newly_allowed: classified.newly_allowed,
        warnings: messages(&run_warnings),
        run_warnings,
        scenario_warnings: lb.warnings.iter().chain(&la.warnings).cloned().collect(),
        error: o.error.clone(),
        interrupted: o.interrupted || temp_full,
        stopped_by: interrupt.cause(o.interrupted || temp_full, temp_full),
        copies: before.counters.copies,
        decapsulated: before.counters.decapsulated,
        node_local: before.counters.node_local,
        duration_s: o.duration_s,
        workers: o.workers,
    };
    let mut report_failed = Vec::new();
    if let Some(mut f) = report_out {
        let res = serde_json::to_writer_pretty(&mut f, &r)
            .map_err(std::io::Error::from)
            .and_then(|()| f.write_all(b"\n"));
        if let Err(e) = res {
            return Err(Failure::Input(format!(
                "error: --report `{}`: {e}",
                f.path().display()
            )));
        }
        report_failed = outputs::commit_each([f]);
    }
    report::print_warnings(
        lb.warnings.iter().chain(&la.warnings),
        &outputs::for_stderr(&r.run_warnings),
    );
    if !a.quiet {
        crate::summary_out(&summary(a, &r), &[a.report.as_deref(), a.flows.as_deref()])?;
    }
    let full = outputs::temp_full(&r.run_warnings);
    outputs::failure(&[full, failed, report_failed].concat())?;
    if let Some(e) = &o.error {
        return Err(Failure::Input(format!("error: {e}")));
    }
    if o.interrupted {
        crate::err(if stopped_loading.is_some() {
            "interrupted while the scenarios were loaded or compiled: nothing was judged; every output is empty\n"
        } else {
            "interrupted: the outputs hold the packets judged before it\n"
        });
        return Ok(ExitCode::from(interrupt.exit_code()));
    }
    Ok(if r.flows.any_of(&fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Groups printed in the summary (the report has them all).
const GROUPS_SHOWN: usize = 10;

fn summary(a: &Args, r: &Report) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "diff {} -> {} on {} packet(s), {} flow(s)",
        a.before.display(),
        a.after.display(),
        r.packets.total,
        r.flows.would_break + r.flows.newly_allowed + r.flows.reason_changed + r.flows.unchanged
    );
    let _ = writeln!(
        t,
        "  would break     {:>8} flow(s) {:>10} packet(s)",
        r.flows.would_break, r.packets.would_break
    );
    let _ = writeln!(
        t,
        "  newly allowed   {:>8} flow(s) {:>10} packet(s)",
        r.flows.newly_allowed, r.packets.newly_allowed
    );
    let _ = writeln!(t, "  reason changed  {:>8} flow(s)", r.flows.reason_changed);
    let _ = writeln!(t, "  unchanged       {:>8} flow(s)", r.flows.unchanged);
    for (name, s) in [("before", &r.before), ("after", &r.after)] {
        let _ = writeln!(
            t,
            "  {name:<6} allowed {}, dropped {} ({})",
            s.packets.allowed,
            s.packets.dropped,
            s.dropped_by_stage.line()
        );
        if let Some(line) = s.stand_in_drops.line(s.packets.dropped) {
            let _ = writeln!(t, "         {line}");
        }
    }
    for (title, groups, before_label) in [
        (
            "would break, by what blocks them after:",
            &r.would_break,
            "allowed before by",
        ),
        (
            "newly allowed, by what allows them after:",
            &r.newly_allowed,
            "blocked before by",
        ),
    ] {
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(t, "{title}");
        for g in groups.iter().take(GROUPS_SHOWN) {
            let _ = writeln!(
                t,
                "  {} flow(s), {} packet(s): {}",
                g.flows, g.packets, g.reason
            );
            let before: Vec<&str> = g.before.iter().map(String::as_str).collect();
            let _ = writeln!(t, "      {before_label}: {}", before.join("; "));
            for (pair, n) in g.endpoints.iter().take(5) {
                let _ = writeln!(t, "      {pair}: {n} flow(s)");
            }
            if g.endpoints.len() > 5 {
                let _ = writeln!(
                    t,
                    "      ... {} more endpoint pair(s)",
                    g.endpoints.len() - 5
                );
            }
        }
        if groups.len() > GROUPS_SHOWN {
            let _ = writeln!(
                t,
                "  ... {} more group(s) in the report",
                groups.len() - GROUPS_SHOWN
            );
        }
    }
    t
}
