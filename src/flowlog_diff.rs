//! `zprsim diff BEFORE AFTER FLOWLOG...`: what a change would do to the
//! traffic OCI logged ([`zprsim_dataplane::flowlog::diff`] judges, groups
//! and classes): arguments, files, the summary and the exit code.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use zprsim_control::compile::Compiled;
use zprsim_control::load::Warning;
use zprsim_control::model::Scenario;
use zprsim_control::stopped::StoppedBy;
use zprsim_dataplane::diff::{Class, SideFlow};
use zprsim_dataplane::flowlog::diff::{ChangedFlow, Report, Scenarios, compare};
use zprsim_dataplane::flowlog::read::{ReadOutcome, read_paths_until};
use zprsim_dataplane::flowlog::spill::{FlowLogSpool, SpillConfig};
use zprsim_dataplane::output::OutputFile;

use crate::outputs;
use zprsim_dataplane::warning::RunWarningCode;

use crate::Failure;

/// Changed flows the summary lists.
const SUMMARY_FLOWS: usize = 20;

/// What `diff` hands over.
pub struct Inputs<'a> {
    /// The command's inputs and outputs, checked (the scenarios' policy
    /// files are checked against it once they are loaded).
    pub plan: &'a zprsim_dataplane::output::Plan,
    /// The scenario as it is.
    pub before: &'a Path,
    /// The scenario as proposed.
    pub after: &'a Path,
    /// The inputs given.
    pub inputs: &'a [PathBuf],
    /// Warnings about the inputs (a file given twice, read once).
    pub input_warnings: &'a [zprsim_dataplane::warning::RunWarning],
    /// `--max-flow-log-records`.
    pub max_records: usize,
    /// `--flow-log-buffer`, `--max-flow-log-spill`, `--max-flow-log-group`,
    /// `--max-connections`.
    pub spill: SpillConfig,
    /// `--report`.
    pub report: Option<&'a Path>,
    /// `--flows`.
    pub flows: Option<&'a Path>,
    /// `--fail-on`.
    pub fail_on: &'a BTreeSet<Class>,
    /// A flag that looks at captured packets was given
    /// ([`crate::flowlog::refuse_capture_flags`]).
    pub capture_flags: bool,
    /// `--quiet`.
    pub quiet: bool,
}

/// If the inputs are flow-log files, diffs them and returns the exit code;
/// `None` when they are captures. Mixing the two is a usage error.
///
/// # Errors
/// Bad input or usage.
pub fn diff_if_flow_logs(a: &Inputs<'_>) -> Result<Option<ExitCode>, Failure> {
    if !crate::flowlog::are_flow_logs(a.inputs)? {
        return Ok(None);
    }
    crate::flowlog::refuse_capture_flags(a.capture_flags)?;
    run(a).map(Some)
}

/// Loads and compiles one side, or an empty scenario when a first signal
/// came first (`stopped`: [`crate::prepare`]).
fn load(
    interrupt: &crate::interrupt::Interrupt,
    plan: &zprsim_dataplane::output::Plan,
    flag: &str,
    p: &Path,
) -> Result<(Scenario, Compiled, Vec<Warning>, bool), Failure> {
    let prepared = crate::prepare::load_and_compile(
        interrupt,
        plan,
        flag,
        p,
        crate::prepare::Compile::Serial,
    )?;
    let stopped = prepared.stopped;
    let loaded = prepared.loaded;
    Ok((loaded.scenario, prepared.compiled, loaded.warnings, stopped))
}

fn run(a: &Inputs<'_>) -> Result<ExitCode, Failure> {
    let fail = |e: &dyn std::fmt::Display| Failure::Input(format!("error: {e}"));
    // Before anything slow: a Ctrl-C from here on stops the reading at a
    // line, and what was read is judged and written (as `diff` does).
    let interrupt = crate::interrupt::Interrupt::install()?;
    let started = std::time::Instant::now();
    let (sb, cb, wb, stopped_b) = load(&interrupt, a.plan, "BEFORE", a.before)?;
    let (sa, ca, wa, stopped_a) = load(&interrupt, a.plan, "AFTER", a.after)?;
    // The first side a signal cut (the other one was then not loaded).
    let stopped_loading = if stopped_b {
        Some(("BEFORE", a.before))
    } else if stopped_a {
        Some(("AFTER", a.after))
    } else {
        None
    };
    let limits = crate::flowlog::read_limits(a.max_records);
    let mut read = ReadOutcome::spilling(FlowLogSpool::new_pair(&sb, &sa, a.spill.clone()));
    // Stopped before the scenarios were ready: nothing is read or judged.
    if stopped_loading.is_some() {
        read.stopped = true;
    } else {
        read_paths_until(a.inputs, &limits, Some(&interrupt.stop), &mut read)
            .map_err(|e| fail(&e))?;
    }
    let stopped = read.stopped;
    let scenarios = Scenarios {
        models: [&sb, &sa],
        compiled: [&cb, &ca],
        names: [a.before, a.after].map(|p| p.display().to_string()),
        warnings: wb.into_iter().chain(wa).collect(),
    };
    let (report, mut sorted) = compare(
        &scenarios,
        zprsim_dataplane::flowlog::diff::Inputs {
            paths: a.inputs,
            warnings: a.input_warnings,
            read,
            spill: &a.spill,
            started,
            stop: Some(&interrupt.stop),
        },
    )
    .map_err(|e| fail(&e))?;
    // The changed flows in `--flows` order, streamed there; the summary
    // shows the first 20. A first signal from here on (one before stopped
    // the reading, the judging or the grouping, whose outputs are then
    // written whole) ends `--flows` at a line.
    let signalled_before = interrupt.requested();
    let mut flows_out = match a.flows {
        Some(p) => Some(OutputFile::create("--flows", p).map_err(|e| fail(&e))?),
        None => None,
    };
    let mut changed: Vec<ChangedFlow> = Vec::new();
    let total = report.flows.would_break
        + report.flows.newly_allowed
        + report.flows.reason_changed
        + report.new_path.flows
        + report.gone_path.flows;
    let mut listed = 0u64;
    let mut cut = None;
    while flows_out.is_some() || changed.len() < SUMMARY_FLOWS {
        let Some(c) = sorted.next_flow().map_err(|e| fail(&e))? else {
            break;
        };
        if flows_out.is_some() && !signalled_before && interrupt.requested() {
            cut = flows_out.as_ref().map(|f| {
                let path = zprsim_dataplane::output::shown(f.path());
                zprsim_dataplane::warning::RunWarning::new(
                    RunWarningCode::InterruptedAfterReading,
                    format!(
                        "--flows `{path}`: a signal came after the judging, while it was written: it lists the first {listed} of the {total} changed flow(s), in its order; the report's counts are of every flow-log record compared"
                    ),
                )
                .file(path)
            });
            break;
        }
        // `--flows` no longer open (its reader left): `listed` counts what
        // it holds, and once the summary is full nothing is left to do.
        let open = flows_out
            .as_ref()
            .is_some_and(|f| f.state() == zprsim_dataplane::output::OutputState::Open);
        if let Some(f) = flows_out.as_mut().filter(|_| open) {
            f.write_json_line(&c).map_err(|e| fail(&e))?;
            listed += 1;
        }
        if changed.len() < SUMMARY_FLOWS {
            changed.push(c);
        } else if !open {
            break;
        }
    }
    // The flow log first: when it cannot be written (a full disk) it is
    // abandoned and the report, written after it, names it.
    let mut report = report;
    report.interrupted |= cut.is_some();
    // The comparison said whether the temporary files stopped it; the
    // signal is known here.
    report.stopped_by = interrupt.cause(
        report.interrupted,
        report.stopped_by == Some(StoppedBy::TemporaryFilesFull),
    );
    let mut extra: Vec<_> = cut.into_iter().collect();
    extra.extend(stopped_loading.map(|(flag, p)| crate::prepare::stopped_warning(flag, p)));
    extra.extend(zprsim_dataplane::report::flow_log::nothing_placed(
        report.before.judged,
        report.before.unplaced,
    ));
    extra.extend(zprsim_dataplane::report::nothing_judged::flow_log(
        a.inputs,
        &zprsim_dataplane::report::nothing_judged::FlowLogCounts {
            judged: report.before.judged,
            unplaced: report.before.unplaced,
            quality: report.flow_log.skipped_nodata + report.flow_log.skipped_skipdata,
            malformed: report.flow_log.skipped_malformed,
        },
        report.interrupted,
    ));
    extra.extend(outputs::reader_gone(
        flows_out.iter().filter(|_| a.report.is_some()),
    ));
    let failed = outputs::commit_each(flows_out);
    extra.extend(failed.iter().cloned());
    report
        .warnings
        .extend(extra.iter().map(|w| w.message.clone()));
    report.run_warnings.extend(extra);
    let mut report_failed = Vec::new();
    if let Some(p) = a.report {
        let mut f = OutputFile::create("--report", p).map_err(|e| fail(&e))?;
        serde_json::to_writer_pretty(&mut f, &report).map_err(|e| fail(&e))?;
        f.write_all(b"\n").map_err(|e| fail(&e))?;
        report_failed = outputs::commit_each([f]);
    }
    // The scenarios' warnings print as the other commands print them
    // (`FILE:LINE:COL: warning: ...`, already in their text); the run's own
    // with `warning: ` before them.
    let (scenario, run): (Vec<_>, Vec<_>) = outputs::for_stderr(&report.run_warnings)
        .into_iter()
        .partition(|w| matches!(w.code, RunWarningCode::Scenario(_)));
    crate::report::print_warnings(
        scenario.iter().map(|w| w.message.as_str()),
        &run.iter().map(|w| w.message.as_str()).collect::<Vec<_>>(),
    );
    if !a.quiet {
        crate::summary_out(&summary(&report, &changed), &[a.report, a.flows])?;
    }
    let full = outputs::temp_full(&report.run_warnings);
    outputs::failure(&[full, failed, report_failed].concat())?;
    if stopped {
        crate::err(if stopped_loading.is_some() {
            "interrupted while the scenarios were loaded or compiled: nothing was judged; every output is empty\n"
        } else {
            "interrupted: the outputs hold the flow-log records read before it\n"
        });
        return Ok(ExitCode::from(interrupt.exit_code()));
    }
    if let Some(w) = report
        .run_warnings
        .iter()
        .find(|w| w.code == RunWarningCode::InterruptedAfterReading)
    {
        crate::err(&format!("interrupted after the reading: {}\n", w.message));
        return Ok(ExitCode::from(interrupt.exit_code()));
    }
    Ok(if report.fails_on(a.fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn summary(r: &Report, changed: &[ChangedFlow]) -> String {
    let mut t = String::new();
    let f = &r.flows;
    let _ = writeln!(
        t,
        "diffed {} flow-log record(s) ({} packets): {} -> {}",
        r.before.judged, r.packets.total, r.before.scenario, r.after.scenario
    );
    let _ = writeln!(
        t,
        "  flows: {} would break, {} newly allowed, {} reason changed, {} unchanged",
        f.would_break, f.newly_allowed, f.reason_changed, f.unchanged
    );
    let _ = writeln!(
        t,
        "  packets: {} would break, {} newly allowed",
        r.packets.would_break, r.packets.newly_allowed
    );
    let np = &r.new_path;
    if np.flows > 0 {
        let _ = writeln!(
            t,
            "  new paths: {} flow(s) ({} packets) only AFTER places (VNICs the change adds), judged by AFTER alone: {} dropped ({} packets)",
            np.flows, np.packets, np.dropped_flows, np.dropped_packets
        );
    }
    let gp = &r.gone_path;
    if gp.flows > 0 {
        let _ = writeln!(
            t,
            "  gone paths: {} flow(s) ({} packets) only BEFORE places (VNICs the change removes), judged by BEFORE alone: {} allowed ({} packets) have no VNIC after",
            gp.flows, gp.packets, gp.allowed_flows, gp.allowed_packets
        );
    }
    let x = &r.rejected_by_oci;
    if x.flows > 0 {
        let _ = writeln!(
            t,
            "  rejected by OCI: {} flow(s) ({} packets): dropped today, never counted as would break",
            x.flows, x.packets
        );
    }
    for (name, side) in [("before", &r.before), ("after", &r.after)] {
        let a = &side.agreement;
        let _ = writeln!(
            t,
            "  {name}: agrees with OCI on {} of {} record(s) ({} unplaced)",
            a.accept_allow.records + a.reject_drop.records,
            side.judged,
            side.unplaced
        );
        if let Some(line) = side.stand_in_drops.line(side.packets.dropped) {
            let _ = writeln!(t, "    {}", line.replace(" flow(s))", " record(s))"));
        }
    }
    for c in changed.iter().take(SUMMARY_FLOWS) {
        let ports = match (c.sport, c.dport) {
            (Some(s), Some(d)) => format!(
                "{} -> {}",
                SocketAddr::new(c.src, s),
                SocketAddr::new(c.dst, d)
            ),
            _ => format!("{} -> {}", c.src, c.dst),
        };
        let _ = writeln!(
            t,
            "  {}: {} {ports} ({} packets): before {}, after {}",
            c.class.words(),
            zprsim_dataplane::report::proto_name(c.proto),
            c.packets,
            c.before
                .as_ref()
                .map_or_else(|| "no VNIC".to_owned(), SideFlow::outcome),
            c.after
                .as_ref()
                .map_or_else(|| "no VNIC".to_owned(), SideFlow::outcome)
        );
    }
    t
}
