//! `zprsim replay SCENARIO FLOWLOG...`: OCI VCN flow-log files instead of
//! captures (detected by content). Each record is judged at the VNIC that
//! logged it (`zprsim_dataplane::flowlog`); the report adds `flow_log` with
//! the agreement matrix of OCI's recorded action against the simulated
//! verdict, the disagreements and the unplaced records.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use zprsim_dataplane::warning::{RunWarning, RunWarningCode, messages};

use serde::Serialize;
use zprsim_control::compile::{Compiled, Config, rule_text};
use zprsim_control::escape::escape;
use zprsim_control::load::Warning;
use zprsim_control::model::Scenario;
use zprsim_control::stopped::StoppedBy;
use zprsim_control::verdict::Verdict;
use zprsim_dataplane::community_id::community_id;
use zprsim_dataplane::flowlog::detect::{Kind, kind_of_path};
use zprsim_dataplane::flowlog::judge::{Agreement, Direction, Judged, Unplaced, record_packet};
use zprsim_dataplane::flowlog::read::{Limits, ReadOutcome, read_paths_until};
use zprsim_dataplane::flowlog::record::{Action, LogRecord};
use zprsim_dataplane::flowlog::spill::{FlowLogSpool, SpillConfig};
use zprsim_dataplane::flowlog::stream::{StreamOutcome, judge_spooled};
use zprsim_dataplane::judge::Totals;
use zprsim_dataplane::output::{OutputFile, OutputState};

use crate::outputs;

use crate::Failure;
use crate::report::{RuleHits, StageCounts};

/// Disagreements and unplaced examples kept in the report.
const MAX_LISTED: usize = 1000;
/// ... and printed in the summary.
const MAX_PRINTED: usize = 10;

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

/// Refuses a JSON input that is a file of an OCI export, not flow logs:
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
    let what = match cli_output(&text) {
        Some(kind) if kind.is_empty() => "an OCI CLI output".to_owned(),
        Some(kind) => format!("an OCI CLI output ({kind})"),
        None if crate::import_looks::text(&String::from_utf8_lossy(&text), false)
            == crate::import_looks::Looks::Ranges =>
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

#[derive(Serialize)]
struct Connections {
    created: u64,
    replies_tracked: u64,
}

#[derive(Serialize)]
struct Simulated {
    verdict: Verdict,
    stage: Option<&'static str>,
    zpr_audit: bool,
    rules: Vec<String>,
    reason: String,
}

/// One judged record, as in `--flows` and the disagreements.
#[derive(Serialize)]
struct RecordOut<'a> {
    file: String,
    line: u64,
    vnic: &'a str,
    vnic_id: &'a str,
    direction: Direction,
    reply: bool,
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    proto: u8,
    /// Null for protocols without ports, as for captures (the contract).
    sport: Option<u16>,
    dport: Option<u16>,
    /// The contract's flow fields, as `replay --flows` writes them for
    /// captures: ICMP type and code as judged (echo request, or reply),
    /// the window start in seconds, the simulated verdict applied to the
    /// record's packets, and the tuple's Community ID.
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    first_ts: f64,
    allowed_packets: u64,
    dropped_packets: u64,
    verdict: Verdict,
    stage: Option<&'static str>,
    community_id: String,
    start_time: u64,
    end_time: u64,
    packets: u64,
    bytes: u64,
    recorded: Action,
    simulated: Simulated,
    agree: bool,
}

#[derive(Serialize)]
struct UnplacedOut<'a> {
    file: String,
    line: u64,
    vnic_id: &'a str,
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    reason: Unplaced,
}

#[derive(Serialize)]
struct FlowLogSection<'a> {
    records: u64,
    judged: u64,
    skipped_nodata: u64,
    skipped_skipdata: u64,
    skipped_malformed: u64,
    /// Entries whose `id` an earlier one had (counted once).
    skipped_duplicate: u64,
    unplaced: u64,
    agreement: Agreement,
    flows: u64,
    flows_at_two_vnics: u64,
    disagreements_total: u64,
    disagreements: Vec<RecordOut<'a>>,
    unplaced_examples: Vec<UnplacedOut<'a>>,
}

#[derive(Serialize)]
struct Report<'a> {
    scenario: String,
    pcaps: Vec<String>,
    input_kind: &'static str,
    packets: Totals,
    bytes: Totals,
    dropped_by_stage: StageCounts,
    /// Drops owed to stand-ins (since the twentieth session): `flows`
    /// counts the flow-log records.
    stand_in_drops: zprsim_dataplane::stand_in_owed::StandInDrops,
    zpr_audit_would_drop: u64,
    flows: u64,
    non_ip: u64,
    /// As in the capture report; always 0 here (no packets to compare).
    copies: u64,
    /// As in the capture report; always 0 here.
    decapsulated: u64,
    /// As in the capture report; always 0 here.
    node_local: u64,
    warnings: Vec<String>,
    /// `warnings` as objects (code, message, file, line), in the same
    /// order.
    run_warnings: Vec<RunWarning>,
    /// The scenario's own warnings (as `check --json` gives them), also
    /// printed on standard error.
    scenario_warnings: &'a [Warning],
    /// A SIGINT or SIGTERM stopped the reading: the counts are of the
    /// records read before it, and every output holds exactly those.
    interrupted: bool,
    /// What stopped it: `"sigint"`, `"sigterm"`, `"temporary-files-full"`
    /// (the spool past `--flow-log-buffer` could not be written); `null`
    /// when not interrupted.
    stopped_by: Option<StoppedBy>,
    connections: Connections,
    rules_hit: Vec<RuleHits>,
    rules_unused: Vec<String>,
    /// The flows an `audit` attribute would have denied, as in the
    /// capture report (`replay`'s rule report), with the statements that
    /// keep them open once enforced.
    zpr_audit_flows: crate::report::AuditFlows,
    flow_log: FlowLogSection<'a>,
    compile_s: f64,
    duration_s: f64,
    packets_per_second: f64,
    workers: usize,
}

struct Ctx<'a> {
    s: &'a Scenario,
    /// The scenario's load warnings.
    warnings: &'a [Warning],
    c: &'a Compiled,
    files: &'a [PathBuf],
}

impl<'a> Ctx<'a> {
    fn file(&self, r: &LogRecord) -> String {
        self.files
            .get(r.file as usize)
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }

    /// A disagreement as listed: [`Ctx::record`], and for a record dropped
    /// at route the reference evaluator's route reason after the short one
    /// (since the nineteenth session): "no route from `a`" read as a table
    /// without a rule where the table sends `::/0` to an internet gateway
    /// that does not carry the VNIC's unique local address. Only the few
    /// listed are judged again; `--flows` keeps the short reason.
    fn disagreement(&self, r: &LogRecord, j: &Judged) -> RecordOut<'a> {
        let mut out = self.record(r, j);
        if j.fast.judgement.stage == Some(zprsim_control::verdict::Stage::Route) {
            let ctx = if j.reply {
                zprsim_control::verdict::Context::Reply(zprsim_control::verdict::Tracking::default())
            } else {
                zprsim_control::verdict::Context::First
            };
            let d = zprsim_control::eval::evaluate(self.s, &record_packet(r, j.reply), ctx);
            if d.judgement.stage == Some(zprsim_control::verdict::Stage::Route)
                && let Some(why) = d.layers.first().and_then(|l| l.reason.as_deref())
            {
                let _ = write!(out.simulated.reason, ": {why}");
            }
        }
        out
    }

    fn record(&self, r: &LogRecord, j: &Judged) -> RecordOut<'a> {
        let v = &self.s.vnics[j.vnic];
        let jd = j.fast.judgement;
        let allowed = jd.verdict == Verdict::Allow;
        let rules: Vec<String> = j
            .fast
            .rules
            .iter()
            .flatten()
            .filter_map(|id| self.c.rule_ref(*id))
            .map(|rr| rule_text(self.s, rr))
            .collect();
        let side = match j.direction {
            Direction::Egress => "egress",
            Direction::Ingress => "ingress",
        };
        let reason = match jd.stage {
            None if j.reply => format!("reply of a connection tracked at `{}`", v.name),
            None => format!("allowed at `{}` ({side})", v.name),
            Some(st) => match st {
                // An ingress record dropped at route: its source is no
                // VNIC, and `a`'s table has no way back to it.
                zprsim_control::verdict::Stage::Route if j.direction == Direction::Ingress => {
                    format!(
                        "no route back from `{}` to the source (the return path its route table must give)",
                        v.name
                    )
                }
                zprsim_control::verdict::Stage::Route => {
                    format!("no route from `{}` for this packet", v.name)
                }
                zprsim_control::verdict::Stage::Zpr => {
                    format!("the ZPR {side} check at `{}` fails", v.name)
                }
                other => format!(
                    "no {} rule of `{}` (its NSGs and security lists) allows it",
                    other.as_str(),
                    v.name
                ),
            },
        };
        // As judged: an ICMP reply record is an echo reply, whose Community
        // ID is its request's.
        let packet = record_packet(r, j.reply);
        let (sport, dport, icmp_type, icmp_code) = packet.l4.fields();
        let stage = jd.stage.map(zprsim_control::verdict::Stage::as_str);
        RecordOut {
            file: self.file(r),
            line: r.line,
            vnic: &v.name,
            vnic_id: v.id.as_deref().unwrap_or_default(),
            direction: j.direction,
            reply: j.reply,
            src: r.src,
            dst: r.dst,
            proto: r.proto,
            sport,
            dport,
            icmp_type,
            icmp_code,
            #[allow(clippy::cast_precision_loss)] // epoch seconds: exact below 2^53
            first_ts: r.start as f64,
            allowed_packets: if allowed { r.packets } else { 0 },
            dropped_packets: if allowed { 0 } else { r.packets },
            verdict: jd.verdict,
            stage,
            community_id: community_id(&packet),
            start_time: r.start,
            end_time: r.end,
            packets: r.packets,
            bytes: r.bytes,
            recorded: r.action,
            simulated: Simulated {
                verdict: jd.verdict,
                stage,
                zpr_audit: jd.zpr_audit,
                rules,
                reason,
            },
            agree: allowed == (r.action == Action::Accept),
        }
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
    let loaded = crate::load_scenario(a.plan, "SCENARIO", a.scenario)?;
    let s = &loaded.scenario;
    let compiled = Compiled::new(s, &Config::default()).map_err(|e| {
        Failure::Input(format!(
            "{}: error: {e}",
            zprsim_dataplane::output::shown(a.scenario)
        ))
    })?;
    let compile_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let limits = read_limits(a.max_records);
    let mut read = ReadOutcome::spilling(FlowLogSpool::new(s, a.spill.clone()));
    read_paths_until(a.inputs, &limits, Some(&interrupt.stop), &mut read)
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    let cx = Ctx {
        s,
        warnings: &loaded.warnings,
        c: &compiled,
        files: a.inputs,
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
    let mut r = report(a, &cx, &read, &st, &disagreements, compile_s, duration_s);
    r.stopped_by = interrupt.cause(r.interrupted, read.temp_full);
    // The flow log first: when it cannot be written (a full disk) it is
    // abandoned and the report, written after it, names it.
    let flows_file = flows_out.map(|(_, f)| f);
    let mut extra = outputs::reader_gone(flows_file.iter().filter(|_| a.report.is_some()));
    let failed = outputs::commit_each(flows_file);
    extra.extend(failed.iter().cloned());
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

/// The records judged otherwise than OCI did: how many, and the first.
struct Disagreements<'a> {
    total: u64,
    first: &'a [(LogRecord, Judged)],
}

fn report<'a>(
    a: &Inputs<'_>,
    cx: &Ctx<'a>,
    read: &'a ReadOutcome,
    st: &'a StreamOutcome,
    dis: &Disagreements<'_>,
    compile_s: f64,
    duration_s: f64,
) -> Report<'a> {
    let j = &st.judgement;
    let k = &j.counters;
    let (hits, unused) = crate::report::rule_hits(cx.s, cx.c, k);
    let mut warnings = a.input_warnings.to_vec();
    warnings.extend(read.problems.iter().cloned());
    warnings.extend(read.duplicate_warning());
    warnings.extend(nothing_placed(st.judged, j.unplaced.records));
    warnings.extend(crate::nothing_judged::flow_log(
        a.inputs,
        &crate::nothing_judged::FlowLogCounts {
            judged: st.judged,
            unplaced: j.unplaced.records,
            quality: read.nodata + read.skipdata,
            malformed: read.malformed,
        },
        read.stopped || read.temp_full || st.stopped_before.is_some(),
    ));
    warnings.extend(read.unlisted_warning());
    warnings.extend(st.stopped_before.map(|second| {
        RunWarning::new(
            RunWarningCode::InterruptedAfterReading,
            format!(
                "a signal came after the reading, while the records were judged in time order: {} of the {} data record(s) read were judged, those that start before {second} (Unix seconds); the report and every output hold exactly those",
                st.judged, st.records
            ),
        )
    }));
    warnings.extend(
        st.flows_full
            .as_ref()
            .map(|m| RunWarning::new(RunWarningCode::TemporaryFilesFull, m.clone())),
    );
    let unplaced_examples = st
        .unplaced_examples
        .iter()
        .take(MAX_LISTED)
        .map(|(r, reason)| {
            let reason = *reason;
            UnplacedOut {
                file: cx.file(r),
                line: r.line,
                vnic_id: &r.vnic,
                src: r.src,
                dst: r.dst,
                reason,
            }
        })
        .collect();
    Report {
        scenario: a.scenario.display().to_string(),
        pcaps: a.inputs.iter().map(|p| p.display().to_string()).collect(),
        input_kind: "flow-log",
        packets: k.packets,
        bytes: k.bytes,
        dropped_by_stage: StageCounts::of(k),
        stand_in_drops: zprsim_dataplane::stand_in_owed::StandInDrops::of(k),
        zpr_audit_would_drop: k.zpr_audit_would_drop,
        flows: j.flows,
        non_ip: 0,
        copies: 0,
        decapsulated: 0,
        node_local: 0,
        warnings: messages(&warnings),
        run_warnings: warnings,
        scenario_warnings: cx.warnings,
        // A full disk under the spool stopped the reading as a Ctrl-C does:
        // the outputs hold the records read before (`temporary-files-full`).
        interrupted: read.stopped || read.temp_full || st.stopped_before.is_some(),
        // Set by the caller, which knows the signal.
        stopped_by: None,
        connections: Connections {
            created: k.connections,
            replies_tracked: k.replies_tracked,
        },
        rules_hit: hits,
        rules_unused: unused,
        zpr_audit_flows: crate::report::AuditFlows {
            untracked_records: j.audit.untracked,
            ..crate::report::audit_flows(cx.s, &j.audit.sorted(), crate::replay::AUDIT_LISTED)
        },
        flow_log: FlowLogSection {
            // The data records read (duplicates among them) and the rest.
            records: st.records
                + read.nodata
                + read.skipdata
                + read.malformed
                + read.quality_duplicates,
            judged: st.judged,
            skipped_nodata: read.nodata,
            skipped_skipdata: read.skipdata,
            skipped_malformed: read.malformed,
            skipped_duplicate: read.duplicates,
            unplaced: j.unplaced.records,
            agreement: j.agreement,
            flows: j.flows,
            flows_at_two_vnics: j.flows_at_two_vnics,
            disagreements_total: dis.total,
            disagreements: dis
                .first
                .iter()
                .map(|(r, x)| cx.disagreement(r, x))
                .collect(),
            unplaced_examples,
        },
        compile_s,
        duration_s,
        packets_per_second: crate::report::rate(k.packets.total, duration_s),
        workers: 1,
    }
}

/// A protocol as summaries name it (`tcp`, `proto 47`).
pub(crate) fn proto_name(p: u8) -> String {
    match p {
        6 => "tcp".into(),
        17 => "udp".into(),
        1 => "icmp".into(),
        58 => "icmpv6".into(),
        n => format!("proto {n}"),
    }
}

fn summary(r: &Report<'_>) -> String {
    let mut t = String::new();
    let f = &r.flow_log;
    let _ = writeln!(
        t,
        "judged {} flow-log record(s) ({} packets, {} bytes) against {}",
        f.judged, r.packets.total, r.bytes.total, r.scenario
    );
    let _ = writeln!(
        t,
        "  allowed {:>10} packets  {:>12} bytes",
        r.packets.allowed, r.bytes.allowed
    );
    let _ = writeln!(
        t,
        "  dropped {:>10} packets  {:>12} bytes",
        r.packets.dropped, r.bytes.dropped
    );
    let _ = writeln!(t, "  drops by stage: {}", r.dropped_by_stage.line());
    if let Some(line) = r.stand_in_drops.line(r.packets.dropped) {
        let _ = writeln!(t, "  {}", line.replace(" flow(s))", " record(s))"));
    }
    let _ = writeln!(
        t,
        "  records: {} read, {} judged, {} NODATA, {} SKIPDATA, {} malformed, {} unplaced",
        f.records, f.judged, f.skipped_nodata, f.skipped_skipdata, f.skipped_malformed, f.unplaced
    );
    let _ = writeln!(
        t,
        "  {} flow(s), {} logged at two VNICs; {} connection(s) tracked",
        f.flows, f.flows_at_two_vnics, r.connections.created
    );
    let _ = writeln!(
        t,
        "agreement (OCI action / simulated verdict):   records     packets        bytes"
    );
    let a = &f.agreement;
    for (name, w) in [
        ("ACCEPT / allow", a.accept_allow),
        ("ACCEPT / drop ", a.accept_drop),
        ("REJECT / allow", a.reject_allow),
        ("REJECT / drop ", a.reject_drop),
    ] {
        let _ = writeln!(
            t,
            "  {name}                             {:>9} {:>11} {:>12}",
            w.records, w.packets, w.bytes
        );
    }
    if f.disagreements_total > 0 {
        let _ = writeln!(t, "disagreements ({}):", f.disagreements_total);
        for d in f.disagreements.iter().take(MAX_PRINTED) {
            let ports = match (d.sport, d.dport) {
                (Some(s), Some(p)) => format!("{}:{} -> {}:{}", d.src, s, d.dst, p),
                _ => format!("{} -> {}", d.src, d.dst),
            };
            let verdict = match d.simulated.stage {
                Some(st) => format!("drop at {st}"),
                None => "allow".into(),
            };
            let _ = writeln!(
                t,
                "  {}:{}: {} {ports} {} at `{}`: OCI {}, zprsim {verdict}: {}",
                escape(&d.file),
                d.line,
                proto_name(d.proto),
                if d.direction == Direction::Egress {
                    "egress"
                } else {
                    "ingress"
                },
                d.vnic,
                match d.recorded {
                    Action::Accept => "ACCEPT",
                    Action::Reject => "REJECT",
                },
                d.simulated.reason
            );
        }
    }
    if f.unplaced > 0 {
        let _ = writeln!(t, "unplaced records ({}):", f.unplaced);
        for u in f.unplaced_examples.iter().take(MAX_PRINTED) {
            let why = match u.reason {
                // The OCID and file name come from input: escaped.
                Unplaced::UnknownVnic => format!("no VNIC has id `{}`", escape(u.vnic_id)),
                Unplaced::NotTheVnicsAddress => format!(
                    "neither {} nor {} is an address of VNIC `{}`",
                    u.src,
                    u.dst,
                    escape(u.vnic_id)
                ),
            };
            let _ = writeln!(t, "  {}:{}: {why}", escape(&u.file), u.line);
        }
    }
    t.push_str(&crate::report::audit_section(&r.zpr_audit_flows, 10));
    t
}

/// The `nothing-placed` warning of a flow-log pass that judged nothing
/// because none of its `unplaced` records was logged at a VNIC of the
/// scenario (a flow log of another tenancy, VNIC ids not the tenancy's):
/// `replay` and, since the twenty-second session, `diff`, whose
/// `--fail-on` gate would otherwise pass on nothing without a word.
pub(crate) fn nothing_placed(judged: u64, unplaced: u64) -> Option<RunWarning> {
    (judged == 0 && unplaced > 0).then(|| {
        RunWarning::new(
            RunWarningCode::NothingPlaced,
            format!(
                "none of the {unplaced} flow-log record(s) was placed at a VNIC of the scenario: nothing was judged"
            ),
        )
    })
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
