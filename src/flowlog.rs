//! `zprsim replay SCENARIO FLOWLOG...`: OCI VCN flow-log files instead of
//! captures (detected by content). Each record is judged at the VNIC that
//! logged it (`zprsim_dataplane::flowlog`); the report adds `flow_log` with
//! the agreement matrix of OCI's recorded action against the simulated
//! verdict, the disagreements and the unplaced records.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use zprsim_control::compile::RuleText;
use zprsim_control::verdict::Verdict;
use zprsim_dataplane::flowlog::detect::{Kind, kind_of_path};
use zprsim_dataplane::flowlog::judge::Judged;
use zprsim_dataplane::flowlog::read::{Limits, ReadOutcome, read_paths_until};
use zprsim_dataplane::flowlog::record::{Action, LogRecord};
use zprsim_dataplane::flowlog::spill::{FlowLogSpool, SpillConfig};
use zprsim_dataplane::flowlog::stream::judge_spooled;
use zprsim_dataplane::output::{OutputFile, OutputState};
use zprsim_dataplane::report::flow_log::{Ctx, Disagreements, MAX_LISTED, report, summary};
use zprsim_dataplane::warning::RunWarning;

use crate::Failure;
use crate::outputs;

/// What `replay` hands over.
pub struct Inputs<'a> {
    /// The command's inputs and outputs, checked (the scenario's policy
    /// files are checked against it once it is loaded).
    pub plan: &'a zprsim_dataplane::output::Plan,
    /// The scenario file.
    pub scenario: &'a Path,
    /// The inputs given.
    pub inputs: &'a [PathBuf],
    /// Warnings about the inputs (a file given twice, read once).
    pub input_warnings: &'a [RunWarning],
    /// `--max-flow-log-records`.
    pub max_records: usize,
    /// `--flow-log-buffer`, `--max-flow-log-spill`, `--max-flow-log-group`.
    pub spill: SpillConfig,
    /// `--report`.
    pub report: Option<&'a Path>,
    /// `--flows`.
    pub flows: Option<&'a Path>,
    /// `--allowed` or `--dropped` was given.
    pub packet_outputs: bool,
    /// A flag that looks at captured packets (`--dedup`, `--decap`,
    /// `--node-local`) was given.
    pub capture_flags: bool,
    /// `--quiet`.
    pub quiet: bool,
    /// `--fail-on-drop`: exit 1 when a record's packets were dropped.
    pub fail_on_drop: bool,
}

/// If the inputs are flow-log files, judges them and returns the exit
/// code; `None` when they are captures. Mixing the two is a usage error.
///
/// # Errors
/// Bad input or usage.
pub fn replay_if_flow_logs(a: &Inputs<'_>) -> Result<Option<ExitCode>, Failure> {
    if !are_flow_logs(a.inputs)? {
        return Ok(None);
    }
    if a.packet_outputs {
        return Err(Failure::Input(
            "error: `--allowed` and `--dropped` need captures: flow logs hold no packets".into(),
        ));
    }
    refuse_capture_flags(a.capture_flags)?;
    // `replay` has checked every input and output (`output::Plan`).
    run(a).map(Some)
}

/// The usage error of a flag that looks at captured packets (`--dedup`,
/// `--decap`, `--node-local`) given with flow logs (`replay`, `diff`).
///
/// # Errors
/// When `given`.
pub fn refuse_capture_flags(given: bool) -> Result<(), Failure> {
    if given {
        return Err(Failure::Input(
            "error: `--dedup`, `--decap` and `--node-local` need captures: they look at captured packets, and flow logs hold none".into(),
        ));
    }
    Ok(())
}

/// Whether `inputs` are flow-log files (`replay`, `diff`): some input is
/// one, and every other is one too or blank (an empty Connector Hub
/// object: no records). `false` when none is: they go to the capture
/// reader, which also names a file that cannot be opened.
///
/// # Errors
/// A capture among flow logs: one kind per run.
pub fn are_flow_logs(inputs: &[PathBuf]) -> Result<bool, Failure> {
    // A file that cannot be opened is left to the capture reader's message.
    let kinds: Vec<Kind> = inputs
        .iter()
        .map(|p| kind_of_path(p).unwrap_or(Kind::Capture))
        .collect();
    if !kinds.contains(&Kind::FlowLog) {
        return Ok(false);
    }
    for (p, _) in inputs
        .iter()
        .zip(&kinds)
        .filter(|(_, k)| **k == Kind::FlowLog)
    {
        not_an_export_file(p)?;
    }
    if let Some(i) = kinds.iter().position(|k| *k == Kind::Capture) {
        // Named too, the flow-log file: found in a directory of captures
        // (a report or `--flows` written there by an earlier run) it is
        // what to move.
        let log = kinds.iter().position(|k| *k == Kind::FlowLog).unwrap_or(i);
        // What it is, as its first bytes say: a gzip of something else
        // than JSON (a compressed text among downloaded logs) is no
        // capture, and a file that is neither is named so.
        let head = zprsim_dataplane::sniff::head(&inputs[i]).unwrap_or_default();
        let what = match zprsim_dataplane::capture::kind_name(&head) {
            Some("compressed data") => "compressed data but not flow logs",
            Some(_) => "a capture",
            None => {
                use zprsim_dataplane::capture::{Capture, CaptureError, FormatError};
                // A scenario or an expectations file: named as where a
                // capture goes alone (by its first 4 KiB: the sniffed head
                // of a text ends at its first line).
                let head = zprsim_dataplane::scenario_file::head_of(&inputs[i]).unwrap_or(head);
                if let Err(CaptureError::Format {
                    kind: k @ FormatError::OwnText { .. },
                    ..
                }) = Capture::from_bytes(head)
                {
                    return Err(Failure::Input(format!(
                        "error: `{}`: {k}",
                        zprsim_dataplane::output::shown(&inputs[i])
                    )));
                }
                "neither a capture nor flow logs"
            }
        };
        return Err(Failure::Input(format!(
            "error: `{}` is {what} and the other inputs are flow logs (`{}` reads as one): give one kind per run",
            zprsim_dataplane::output::shown(&inputs[i]),
            zprsim_dataplane::output::shown(&inputs[log])
        )));
    }
    Ok(true)
}

/// Refuses a JSON input that is a file of an OCI export, not flow logs
/// (or a report or flow lines zprsim wrote, `--report`, `--flows`):
/// an OCI CLI output (`vnics.json`, gzip or zstd too: any compressed JSON
/// reads as flow logs by its kind) or OCI's public IP ranges file, named
/// for what it is and the command that takes it, instead of a flow-log
/// parse error. Looked at in the file's head ([`sniff::head`], kept for
/// the reader), decompressed and bounded.
///
/// [`sniff::head`]: zprsim_dataplane::sniff::head
fn not_an_export_file(p: &Path) -> Result<(), Failure> {
    use zprsim_dataplane::flowlog::detect::{cli_output, decompressed};
    let Ok(head) = zprsim_dataplane::sniff::head(p) else {
        return Ok(());
    };
    let codec = zprsim_dataplane::capture::decompress::Codec::of(&head);
    let text = decompressed(&head);
    if zprsim_dataplane::input_dir::is_our_output(&text) {
        // `--flows` is "the flow log" of docs/cli.md: given back as one, it
        // read as flow logs whose every entry was malformed.
        return Err(Failure::Input(format!(
            "error: `{}` {}{}, not OCI flow-log records: give the captures or the OCI flow logs that run read (`jq` reads the report and the flow lines)",
            zprsim_dataplane::output::shown(p),
            compressed(codec),
            zprsim_dataplane::input_dir::OUR_OUTPUT,
        )));
    }
    let what = match cli_output(&text) {
        Some(kind) if kind.is_empty() => "an OCI CLI output".to_owned(),
        Some(kind) => format!("an OCI CLI output ({kind})"),
        None if zprsim_dataplane::import_looks::text(&String::from_utf8_lossy(&text), false)
            == zprsim_dataplane::import_looks::Looks::Ranges =>
        {
            return Err(Failure::Input(format!(
                "error: `{}` {}OCI's public IP ranges file, not flow-log records: it is for `zprsim import oci DIR --services {}`",
                zprsim_dataplane::output::shown(p),
                compressed(codec),
                zprsim_dataplane::output::shown(p),
            )));
        }
        None => return Ok(()),
    };
    Err(Failure::Input(format!(
        "error: `{}` {}{what}, not flow-log records: give the directory of the CLI outputs to `zprsim import oci DIR -o scenario.toml` (it reads gzip and zstd too), and the flow logs to `zprsim replay scenario.toml LOGS`",
        zprsim_dataplane::output::shown(p),
        compressed(codec),
    )))
}

/// "is " or "is gzip data; decompressed, it is ", as `import` says it.
fn compressed(codec: Option<zprsim_dataplane::capture::decompress::Codec>) -> String {
    match codec {
        Some(c) => format!("is {} data; decompressed, it is ", c.name()),
        None => "is ".into(),
    }
}

fn io_err(p: &Path, e: &dyn std::fmt::Display) -> Failure {
    Failure::Input(format!(
        "error: {}: {e}",
        zprsim_dataplane::output::shown(p)
    ))
}

/// Writes `bytes` as the output of `flag` through [`OutputFile`] (a
/// temporary file beside the target, renamed into place on commit).
fn open_write(flag: &str, path: &Path, bytes: &[u8]) -> Result<OutputFile, Failure> {
    let mut f =
        OutputFile::create(flag, path).map_err(|e| Failure::Input(format!("error: {e}")))?;
    f.write_all(bytes).map_err(|e| io_err(path, &e))?;
    Ok(f)
}

fn run(a: &Inputs<'_>) -> Result<ExitCode, Failure> {
    // Before anything slow: a Ctrl-C from here on stops the reading at a
    // line, and what was read is judged and written (as `replay` does).
    let interrupt = crate::interrupt::Interrupt::install()?;
    let t0 = Instant::now();
    // A first signal while the scenario loads or compiles ends the run at
    // once, with an empty scenario's (`crate::prepare`): no record is read.
    let prepared = crate::prepare::load_and_compile(
        &interrupt,
        a.plan,
        "SCENARIO",
        a.scenario,
        crate::prepare::Compile::Serial,
    )?;
    let stopped_loading = prepared.stopped;
    let (loaded, compiled) = (prepared.loaded, prepared.compiled);
    let s = &loaded.scenario;
    let compile_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let limits = read_limits(a.max_records);
    let mut read = ReadOutcome::spilling(FlowLogSpool::new(s, a.spill.clone()));
    // Stopped before the scenario was ready: nothing is read or judged.
    if stopped_loading {
        read.stopped = true;
    } else {
        read_paths_until(a.inputs, &limits, Some(&interrupt.stop), &mut read)
            .map_err(|e| Failure::Input(format!("error: {e}")))?;
    }
    // Every rule's name, made once: a record's line borrows them.
    let names = RuleText::new(s, &compiled);
    let cx = Ctx {
        s,
        scenario: a.scenario,
        warnings: &loaded.warnings,
        c: &compiled,
        names: &names,
        files: a.inputs,
        input_warnings: a.input_warnings,
    };
    // `--flows` is streamed to its temporary file as records are judged
    // (renamed into place with the report, at the end); the disagreements
    // listed are the first in judging order.
    let mut flows_out = match a.flows {
        Some(p) => Some((p, open_write("--flows", p, &[])?)),
        None => None,
    };
    let mut disagreeing: Vec<(LogRecord, Judged)> = Vec::new();
    let mut disagreements_total = 0u64;
    let spool = read
        .spool
        .take()
        .unwrap_or_else(|| FlowLogSpool::new(s, a.spill.clone()));
    let name = |f: u32| {
        a.inputs
            .get(f as usize)
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    // A signal from here on (after the reading) ends the judging between
    // two seconds: merging and judging records spilled past
    // `--flow-log-buffer` is most of a long run's tail.
    let stop = Some(&*interrupt.stop).filter(|_| !read.stopped && !read.temp_full);
    // Drops owed to stand-ins, counted per judged record (its packets).
    let owed = zprsim_dataplane::stand_in_owed::StandInOwed::new(s, &compiled);
    let mut owed = owed
        .as_ref()
        .map(zprsim_dataplane::stand_in_owed::RecordsOwed::new);
    let (mut owed_packets, mut owed_records) = (0u64, 0u64);
    let mut st = judge_spooled(&compiled, spool, MAX_LISTED, &name, stop, |r, jr| {
        if let (Some(o), Some(stage)) = (&mut owed, jr.fast.judgement.stage) {
            let p = zprsim_dataplane::flowlog::judge::record_packet(r, jr.reply);
            let (records, packets) =
                o.dropped(r.start, r.packets, jr.vnic, &p, stage, jr.fast.rules[0]);
            owed_packets = owed_packets.saturating_add(packets);
            owed_records += records;
        }
        if let Some((p, f)) = flows_out
            .as_mut()
            .filter(|(_, f)| f.state() == OutputState::Open)
        {
            f.write_json_line(&cx.record(r, jr))
                .map_err(|e| format!("{}: {e}", zprsim_dataplane::output::shown(p)))?;
        }
        let allowed = jr.fast.judgement.verdict == Verdict::Allow;
        if allowed != (r.action == Action::Accept) {
            disagreements_total += 1;
            if disagreeing.len() < MAX_LISTED {
                disagreeing.push((r.clone(), *jr));
            }
        }
        Ok(())
    })
    .map_err(|e| Failure::Input(format!("error: {e}")))?;
    st.judgement.counters.stand_in_dropped = owed_packets;
    st.judgement.counters.stand_in_dropped_flows = owed_records;
    // The spool's duplicates, and the NODATA and SKIPDATA entries the
    // reading found read twice (the first duplicate named is the first
    // of either, in input order).
    read.duplicates = st.duplicates + read.quality_duplicates;
    read.first_duplicate = match (st.first_duplicate, read.first_quality_duplicate) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
    .map(|(f, line)| (name(f), line));
    let j = &st.judgement;
    // Records, none of them placed, by a scenario whose VNICs have no
    // `id` at all (written by hand): nothing can ever be judged, and a
    // `--fail-on-drop` gate would pass having judged nothing. (With ids,
    // logs of VNICs outside the scenario are reported as unplaced, and a
    // warning says when no record was placed.)
    if st.judged == 0
        && j.unplaced.records > 0
        && !read.stopped
        && !read.temp_full
        && s.vnics.iter().all(|v| v.id.is_none())
    {
        return Err(Failure::Input(format!(
            "error: `{}` places none of the {} flow-log record(s): none of its VNICs has an `id` (the OCID a record names), so nothing was judged; give its VNICs their `id`s (`zprsim import oci` sets them)",
            a.scenario.display(),
            j.unplaced.records
        )));
    }
    let duration_s = t1.elapsed().as_secs_f64();
    let disagreements = Disagreements {
        total: disagreements_total,
        first: &disagreeing,
    };
    let mut r = report(&cx, &read, &st, &disagreements, compile_s, duration_s);
    r.stopped_by = interrupt.cause(r.interrupted, read.temp_full);
    // The flow log first: when it cannot be written (a full disk) it is
    // abandoned and the report, written after it, names it.
    let flows_file = flows_out.map(|(_, f)| f);
    let mut extra = outputs::reader_gone(flows_file.iter().filter(|_| a.report.is_some()));
    let failed = outputs::commit_each(flows_file);
    extra.extend(failed.iter().cloned());
    if stopped_loading {
        extra.push(crate::prepare::stopped_warning("SCENARIO", a.scenario));
    }
    r.warnings.extend(extra.iter().map(|w| w.message.clone()));
    r.run_warnings.extend(extra);
    let mut report_failed = Vec::new();
    if let Some(p) = a.report {
        let mut text = serde_json::to_vec_pretty(&r).map_err(|e| io_err(p, &e))?;
        text.push(b'\n');
        report_failed = outputs::commit_each([open_write("--report", p, &text)?]);
    }
    // Warnings go to stderr, even with `--quiet`.
    crate::report::print_warnings(&loaded.warnings, &outputs::for_stderr(&r.run_warnings));
    if !a.quiet {
        crate::summary_out(&summary(&r), &[a.report, a.flows])?;
    }
    let full = outputs::temp_full(&r.run_warnings);
    outputs::failure(&[full, failed, report_failed].concat())?;
    if st.stopped_before.is_some() {
        crate::err(&format!(
            "interrupted after the reading: {} of {} flow-log record(s) judged (in time order); every output holds exactly those\n",
            st.judged, st.records
        ));
        return Ok(ExitCode::from(interrupt.exit_code()));
    }
    if stopped_loading {
        crate::err(
            "interrupted while the scenario was loaded or compiled: nothing was judged; every output is empty\n",
        );
        return Ok(ExitCode::from(interrupt.exit_code()));
    }
    if read.stopped {
        crate::err(&format!(
            "interrupted: {} flow-log record(s) read; every output holds exactly those\n",
            r.flow_log.records
        ));
        return Ok(ExitCode::from(interrupt.exit_code()));
    }
    Ok(ExitCode::from(u8::from(
        a.fail_on_drop && r.packets.dropped > 0,
    )))
}

/// The environment variable that lowers the bound of NODATA/SKIPDATA
/// entries kept to find one read twice ([`Limits::max_quality_ids`],
/// 917,504), for tests only: the `quality-entries-unchecked` warning is
/// otherwise reached from the CLI only through 917,505 entries
/// (docs/testing.md). A number below the default lowers it; anything else
/// is ignored.
pub const MAX_QUALITY_IDS_VAR: &str = "ZPRSIM_TEST_MAX_QUALITY_IDS";

/// The flow-log reader's limits of `replay` and `diff`: `max_records`
/// records, the other bounds their defaults (the quality-id bound lowered
/// by [`MAX_QUALITY_IDS_VAR`] in tests).
pub fn read_limits(max_records: usize) -> Limits {
    let d = Limits::default();
    let quality = std::env::var(MAX_QUALITY_IDS_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n < d.max_quality_ids)
        .unwrap_or(d.max_quality_ids);
    Limits {
        max_records,
        max_quality_ids: quality,
        ..d
    }
}
