//! `zprsim diff BEFORE AFTER FLOWLOG...`: what a change would do to the
//! traffic OCI logged. Every record is judged at its VNIC by both
//! scenarios (`zprsim_dataplane::flowlog::judge`, each with its own
//! tracking across records); records are grouped into flows by their tuple
//! (both directions, every VNIC that logged them) and each flow is classed
//! as `diff` classes packet flows, weighted by the records' packets.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::load::Warning;
use zprsim_control::model::Scenario;
use zprsim_control::verdict::{Stage, Verdict};
use zprsim_dataplane::community_id::community_id;
use zprsim_dataplane::conntrack::ConnKey;
use zprsim_dataplane::flowlog::judge::{Agreement, FlowLogJudgement, Judged, record_packet};
use zprsim_dataplane::flowlog::read::{Limits, ReadOutcome, read_path_until};
use zprsim_dataplane::flowlog::record::LogRecord;
use zprsim_dataplane::flowlog::spill::{FlowLogSpool, SpillConfig};
use zprsim_dataplane::flowlog::stream::{PairEvent, judge_spooled_pair};
use zprsim_dataplane::judge::Totals;
use zprsim_dataplane::output::OutputFile;

use crate::Failure;
use crate::report::{FlowCounts, PacketCounts, StageCounts};
use zprsim_dataplane::diff::Class;
use zprsim_dataplane::flowlog::diff_sort::{
    Changed, INLINE_VNICS, Part, key_bytes, side_code, side_of,
};
use zprsim_dataplane::flowlog::sort::Sorter;

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
    pub input_warnings: &'a [String],
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

#[derive(Serialize)]
struct SideOut {
    scenario: String,
    packets: Totals,
    bytes: Totals,
    dropped_by_stage: StageCounts,
    zpr_audit_would_drop: u64,
    judged: u64,
    unplaced: u64,
    agreement: Agreement,
}

#[derive(Serialize)]
struct FlowLogCounts {
    records: u64,
    skipped_nodata: u64,
    skipped_skipdata: u64,
    skipped_malformed: u64,
    /// Entries whose `id` an earlier one had (counted once).
    skipped_duplicate: u64,
}

#[derive(Serialize)]
struct Report {
    captures: Vec<String>,
    input_kind: &'static str,
    flows: FlowCounts,
    packets: PacketCounts,
    before: SideOut,
    after: SideOut,
    flow_log: FlowLogCounts,
    warnings: Vec<String>,
    /// Both scenarios' own warnings as objects, BEFORE's first (they are
    /// in `warnings` too, as text, as they were before this field).
    scenario_warnings: Vec<Warning>,
    interrupted: bool,
    duration_s: f64,
    workers: usize,
}

#[derive(Serialize, Clone, Copy)]
struct SideFlow {
    verdict: Verdict,
    stage: Option<Stage>,
    allowed_packets: u64,
    dropped_packets: u64,
}

/// One changed flow, as `diff --flows` writes it: the fields of a capture
/// diff's line (the replay flow fields, with `verdict`, `stage` and the
/// packet counts of the before side, as there), then the flow log's own.
#[derive(Serialize)]
struct ChangedFlow {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    /// Seconds since the epoch, as in every other flow line (the first
    /// record's window start).
    first_ts: f64,
    packets: u64,
    bytes: u64,
    allowed_packets: u64,
    dropped_packets: u64,
    verdict: Verdict,
    stage: Option<Stage>,
    community_id: String,
    records: u64,
    vnics: Vec<String>,
    class: Class,
    before: SideFlow,
    after: SideFlow,
}

/// Deciding rules as numbers shared by both scenarios: two are the same
/// rule when their contents are ([`zprsim_dataplane::diff::rule_content`], as the
/// capture diff compares them: container by `id` and the rule's text, not
/// its position), whichever scenario's ids they have.
#[derive(Default)]
struct RuleNames(HashMap<String, u32>);

/// No rule in that slot of [`Rules`].
const NO_RULE: u32 = u32::MAX;

/// A record's deciding rules as [`RuleNames`] numbers, in layer order,
/// packed to the front ([`NO_RULE`] after the last): equal exactly when
/// the lists of texts are. 20 bytes a record and side, where the texts
/// were a `Vec<String>` (~140 bytes with two rules).
type Rules = [u32; 5];

/// A record's verdict, stage and deciding rules under one scenario.
type Verdicts = (Verdict, Option<Stage>, Rules);

/// `x`'s verdict, stage and rules as [`RuleNames`] numbers (`known`
/// caches each rule id's number for this scenario: a rule's text is made
/// and looked up once, not once a record).
fn verdicts(
    s: &Scenario,
    c: &Compiled,
    x: &Judged,
    names: &mut RuleNames,
    known: &mut HashMap<u32, u32>,
    by_id: bool,
) -> Verdicts {
    let mut rules = [NO_RULE; 5];
    let texts = x.fast.rules.iter().flatten().filter_map(|id| {
        let r = c.rule_ref(*id)?;
        let next = u32::try_from(names.0.len()).unwrap_or(NO_RULE - 1);
        Some(*known.entry(id.raw()).or_insert_with(|| {
            *names
                .0
                .entry(zprsim_dataplane::diff::rule_content(s, r, by_id))
                .or_insert(next)
        }))
    });
    for (slot, t) in rules.iter_mut().zip(texts) {
        *slot = t;
    }
    (x.fast.judgement.verdict, x.fast.judgement.stage, rules)
}

/// One flow being built from its parts ([`Part`], in tuple order).
struct Flow {
    /// Its first part: the first record (window start, input order).
    first: Part,
    records: u64,
    packets: u64,
    bytes: u64,
    /// The VNICs that logged it (BEFORE's indices).
    vnics: BTreeSet<u32>,
    would_break: u64,
    newly_allowed: u64,
    changed: bool,
    /// Per side: verdict and stage of its first dropped record (allow when
    /// none), allowed and dropped packets.
    sides: [(u8, u64, u64); 2],
}

impl Flow {
    fn of(p: &Part) -> Flow {
        let mut f = Flow {
            first: *p,
            records: 0,
            packets: 0,
            bytes: 0,
            vnics: BTreeSet::new(),
            would_break: 0,
            newly_allowed: 0,
            changed: false,
            sides: [(0, 0, 0); 2],
        };
        f.add(p);
        f
    }

    fn add(&mut self, p: &Part) {
        self.records += 1;
        self.packets = self.packets.saturating_add(p.packets);
        self.bytes = self.bytes.saturating_add(p.bytes);
        self.vnics.insert(p.vnic);
        let (bok, aok) = (p.sides[0] == 0, p.sides[1] == 0);
        if bok && !aok {
            self.would_break = self.would_break.saturating_add(p.packets);
        }
        if !bok && aok {
            self.newly_allowed = self.newly_allowed.saturating_add(p.packets);
        }
        self.changed |= p.reason_changed;
        for (s, &code) in self.sides.iter_mut().zip(&p.sides) {
            // A flow's verdict on a side: drop (at the stage of its first
            // dropped record, by window start, then input order) when any
            // record is dropped.
            if code != 0 && s.0 == 0 {
                s.0 = code;
            }
            if code == 0 {
                s.1 = s.1.saturating_add(p.packets);
            } else {
                s.2 = s.2.saturating_add(p.packets);
            }
        }
    }

    /// Counts the flow in its class; its record for `--flows` when it
    /// changed (VNICs past [`INLINE_VNICS`] go to `overflow`).
    fn changed_record(
        self,
        counts: &mut FlowCounts,
        overflow: &mut Vec<Vec<u32>>,
    ) -> Option<Changed> {
        let class = if self.would_break > 0 {
            counts.would_break += 1;
            0
        } else if self.newly_allowed > 0 {
            counts.newly_allowed += 1;
            1
        } else if self.changed {
            counts.reason_changed += 1;
            2
        } else {
            counts.unchanged += 1;
            return None;
        };
        let mut vnics = [0u32; INLINE_VNICS];
        let nvnics = if self.vnics.len() <= INLINE_VNICS {
            for (slot, v) in vnics.iter_mut().zip(&self.vnics) {
                *slot = *v;
            }
            u8::try_from(self.vnics.len()).unwrap_or(u8::MAX)
        } else {
            vnics[0] = u32::try_from(overflow.len()).unwrap_or(u32::MAX);
            overflow.push(self.vnics.into_iter().collect());
            u8::MAX
        };
        let p = &self.first;
        Some(Changed {
            start: p.start,
            src: p.src,
            dst: p.dst,
            proto: p.proto,
            sport: p.sport,
            dport: p.dport,
            packets: self.packets,
            bytes: self.bytes,
            records: self.records,
            sides: self.sides,
            class,
            nvnics,
            vnics,
        })
    }
}

/// A changed flow as `--flows` writes it, from its sorted record.
fn changed_flow(s: &Scenario, c: &Changed, overflow: &[Vec<u32>]) -> ChangedFlow {
    let r = LogRecord {
        file: 0,
        line: 0,
        vnic: std::sync::Arc::from(""),
        action: zprsim_dataplane::flowlog::record::Action::Accept,
        src: c.src,
        dst: c.dst,
        proto: c.proto,
        sport: c.sport,
        dport: c.dport,
        packets: c.packets,
        bytes: c.bytes,
        start: c.start,
        end: c.start,
    };
    let p = record_packet(&r, false);
    let (sport, dport, icmp_type, icmp_code) = p.l4.fields();
    let side = |n: usize| {
        let (code, allowed, dropped) = c.sides[n];
        let (verdict, stage) = side_of(code);
        SideFlow {
            verdict,
            stage,
            allowed_packets: allowed,
            dropped_packets: dropped,
        }
    };
    let indices: &[u32] = if c.nvnics == u8::MAX {
        overflow
            .get(c.vnics[0] as usize)
            .map_or(&[][..], Vec::as_slice)
    } else {
        c.vnics.get(..usize::from(c.nvnics)).unwrap_or_default()
    };
    let vnics: BTreeSet<String> = indices
        .iter()
        .filter_map(|&i| s.vnics.get(i as usize)?.id.clone())
        .collect();
    let (before, after) = (side(0), side(1));
    ChangedFlow {
        src: c.src,
        dst: c.dst,
        proto: c.proto,
        sport,
        dport,
        icmp_type,
        icmp_code,
        #[allow(clippy::cast_precision_loss)] // epoch seconds: exact below 2^53
        first_ts: c.start as f64,
        packets: c.packets,
        bytes: c.bytes,
        allowed_packets: before.allowed_packets,
        dropped_packets: before.dropped_packets,
        verdict: before.verdict,
        stage: before.stage,
        community_id: community_id(&p),
        records: c.records,
        vnics: vnics.into_iter().collect(),
        class: match c.class {
            0 => Class::WouldBreak,
            1 => Class::NewlyAllowed,
            _ => Class::ReasonChanged,
        },
        before,
        after,
    }
}

/// A scenario's side of the report; `judged` is the count of its judged
/// records (their list is freed once their verdicts are taken).
fn side_out(path: &Path, j: &FlowLogJudgement, judged: u64) -> SideOut {
    let k = &j.counters;
    SideOut {
        scenario: path.display().to_string(),
        packets: k.packets,
        bytes: k.bytes,
        dropped_by_stage: StageCounts::of(k),
        zpr_audit_would_drop: k.zpr_audit_would_drop,
        judged,
        unplaced: j.unplaced.records,
        agreement: j.agreement,
    }
}

fn load(
    plan: &zprsim_dataplane::output::Plan,
    flag: &str,
    p: &Path,
) -> Result<(Scenario, Compiled, Vec<Warning>), Failure> {
    let loaded = crate::load_scenario(plan, flag, p)?;
    let c = Compiled::new(&loaded.scenario, &Config::default())
        .map_err(|e| Failure::Input(format!("{}: error: {e}", p.display())))?;
    Ok((loaded.scenario, c, loaded.warnings))
}

fn run(a: &Inputs<'_>) -> Result<ExitCode, Failure> {
    // Before anything slow: a Ctrl-C from here on stops the reading at a
    // line, and what was read is judged and written (as `diff` does).
    let interrupt = crate::interrupt::Interrupt::install()?;
    let t0 = std::time::Instant::now();
    let (sb, cb, wb) = load(a.plan, "BEFORE", a.before)?;
    let (sa, ca, wa) = load(a.plan, "AFTER", a.after)?;
    let limits = Limits {
        max_records: a.max_records,
        ..Limits::default()
    };
    let mut read = ReadOutcome::spilling(FlowLogSpool::new_pair(&sb, &sa, a.spill.clone()));
    for (i, p) in a.inputs.iter().enumerate() {
        let idx = u32::try_from(i).unwrap_or(u32::MAX);
        read_path_until(p, idx, &limits, Some(&interrupt.stop), &mut read)
            .map_err(|e| Failure::Input(format!("error: {e}")))?;
        if read.stopped {
            break;
        }
    }
    read.end_reading();
    if let Some(m) = read.nothing_readable() {
        return Err(Failure::Input(format!("error: {m}")));
    }
    let spool = read
        .spool
        .take()
        .unwrap_or_else(|| FlowLogSpool::new_pair(&sb, &sa, a.spill.clone()));
    let name = |f: u32| {
        a.inputs
            .get(f as usize)
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    // Each record is judged by both scenarios (each with its own tracking
    // and tie order), one start second at a time: BEFORE's verdicts of the
    // second wait here for AFTER's, and a record only one of them placed
    // is counted at the second's end.
    let mut names = RuleNames::default();
    let by_id = zprsim_dataplane::diff::ids_compared(&sb, &sa);
    let mut known: [HashMap<u32, u32>; 2] = [HashMap::new(), HashMap::new()];
    let mut waiting: HashMap<usize, (Verdicts, u32, u64)> = HashMap::new();
    // Each compared record's part of its flow, sorted by tuple outside
    // memory past the buffer: flows are then built one at a time.
    let spill_dir = a.spill.dir.as_deref();
    // Half the record buffer: the records' last run is still in memory
    // while these are made.
    let part_buffer = (a.spill.buffer / 2).max(1);
    let mut parts: Sorter<Part> = Sorter::new(part_buffer, a.spill.max_spill, spill_dir);
    let spill_limit = |r: &LogRecord, max: u64| {
        format!(
            "{}:{}: the flow-log records need more than {} MiB of temporary files (the limit, `--max-flow-log-spill`)",
            name(r.file),
            r.line,
            max >> 20
        )
    };
    let (mut pk_break, mut pk_newly, mut pk_total) = (0u64, 0u64, 0u64);
    // Records one scenario places and the other does not (a VNIC without
    // the record's `id` on one side): not compared, and said.
    let (mut compared, mut one_side) = (0u64, [(0u64, 0u64); 2]);
    let mut pair = |r: &LogRecord, seq: u64, vnic: u32, b: &Verdicts, af: &Verdicts| {
        compared += 1;
        let Some((key, _)) = ConnKey::of(&record_packet(r, false)) else {
            return Ok(());
        };
        pk_total = pk_total.saturating_add(r.packets);
        let (bok, aok) = (b.0 == Verdict::Allow, af.0 == Verdict::Allow);
        if bok && !aok {
            pk_break = pk_break.saturating_add(r.packets);
        }
        if !bok && aok {
            pk_newly = pk_newly.saturating_add(r.packets);
        }
        parts
            .push(Part {
                key: key_bytes(&key),
                start: r.start,
                seq,
                packets: r.packets,
                bytes: r.bytes,
                src: r.src,
                dst: r.dst,
                proto: r.proto,
                sport: r.sport,
                dport: r.dport,
                vnic,
                sides: [side_code(b.0, b.1), side_code(af.0, af.1)],
                reason_changed: !bok && !aok && (b.1 != af.1 || b.2 != af.2),
            })
            .map_err(|max| spill_limit(r, max))
    };
    let [ob, oa] = judge_spooled_pair([&cb, &ca], spool, &name, |ev| {
        match ev {
            PairEvent::Judged(0, r, x) => {
                let v = verdicts(&sb, &cb, x, &mut names, &mut known[0], by_id);
                let vnic = u32::try_from(x.vnic).unwrap_or(u32::MAX);
                waiting.insert(x.record, (v, vnic, r.packets));
            }
            PairEvent::Judged(_, r, x) => {
                let v = verdicts(&sa, &ca, x, &mut names, &mut known[1], by_id);
                match waiting.remove(&x.record) {
                    Some((b, vnic, _)) => pair(r, x.record as u64, vnic, &b, &v)?,
                    None => {
                        one_side[1].0 += 1;
                        one_side[1].1 = one_side[1].1.saturating_add(r.packets);
                    }
                }
            }
            PairEvent::SecondEnd => {
                // The packets of BEFORE-only records: kept with them.
                for (_, (_, _, packets)) in waiting.drain() {
                    one_side[0].0 += 1;
                    one_side[0].1 = one_side[0].1.saturating_add(packets);
                }
            }
        }
        Ok(())
    })
    .map_err(|e| Failure::Input(format!("error: {e}")))?;
    read.duplicates = ob.duplicates;
    read.first_duplicate = ob
        .first_duplicate
        .map(|(f, line)| format!("{}:{line}", name(f)));
    let (jb, nb, ja, na) = (&ob.judgement, ob.judged, &oa.judgement, oa.judged);
    // Flows, one at a time from the parts sorted by tuple (then window
    // start and input order: the first part is the flow's first record,
    // a side's first dropped part gives its stage); the changed ones
    // sorted outside memory as `--flows` lists them.
    let mut counts = FlowCounts::default();
    let mut changed_sorter: Sorter<Changed> =
        Sorter::new(part_buffer, a.spill.max_spill, spill_dir);
    let mut overflow: Vec<Vec<u32>> = Vec::new();
    {
        let mut sorted = parts
            .finish()
            .map_err(|e| Failure::Input(format!("error: {e}")))?;
        let mut flow: Option<Flow> = None;
        let mut end = |f: Flow, counts: &mut FlowCounts| -> Result<(), Failure> {
            let Some(c) = f.changed_record(counts, &mut overflow) else {
                return Ok(());
            };
            changed_sorter.push(c).map_err(|max| {
                Failure::Input(format!(
                    "error: the changed flows need more than {} MiB of temporary files (the limit, `--max-flow-log-spill`)",
                    max >> 20
                ))
            })
        };
        while let Some(p) = sorted
            .next_record()
            .map_err(|e| Failure::Input(format!("error: {e}")))?
        {
            match &mut flow {
                Some(f) if f.first.key == p.key => f.add(&p),
                _ => {
                    if let Some(f) = flow.take() {
                        end(f, &mut counts)?;
                    }
                    flow = Some(Flow::of(&p));
                }
            }
        }
        if let Some(f) = flow.take() {
            end(f, &mut counts)?;
        }
    }
    if compared == 0 && one_side != [(0, 0); 2] && !read.stopped {
        let (placed_by, none_by) = if one_side[0].0 > 0 {
            (a.before, a.after)
        } else {
            (a.after, a.before)
        };
        return Err(Failure::Input(format!(
            "error: `{}` places none of the {} flow-log record(s) `{}` places: none of its VNICs has the `id` (OCID) a record names, so nothing was compared; give its VNICs their `id`s (`zprsim import oci` sets them)",
            none_by.display(),
            one_side[0].0.max(one_side[1].0),
            placed_by.display(),
        )));
    }
    let scenario_warnings: Vec<Warning> = wb.into_iter().chain(wa).collect();
    let mut warnings: Vec<String> = scenario_warnings.iter().map(ToString::to_string).collect();
    for (n, side) in ["BEFORE", "AFTER"].into_iter().enumerate() {
        let (records, packets) = one_side[n];
        if records > 0 {
            warnings.push(format!(
                "{records} flow-log record(s) ({packets} packets) are placed by {side} only (the other scenario has no VNIC with their `id`): they are not compared"
            ));
        }
    }
    warnings.extend(a.input_warnings.iter().cloned());
    warnings.extend(read.problems.iter().cloned());
    warnings.extend(read.unlisted_warning());
    warnings.extend(read.duplicate_warning());
    let report = Report {
        captures: a.inputs.iter().map(|p| p.display().to_string()).collect(),
        input_kind: "flow-log",
        flows: counts,
        packets: PacketCounts {
            total: pk_total,
            would_break: pk_break,
            newly_allowed: pk_newly,
        },
        before: side_out(a.before, jb, nb),
        after: side_out(a.after, ja, na),
        flow_log: FlowLogCounts {
            // The data records read (duplicates among them) and the rest.
            records: ob.records + read.nodata + read.skipdata + read.malformed,
            skipped_nodata: read.nodata,
            skipped_skipdata: read.skipdata,
            skipped_malformed: read.malformed,
            skipped_duplicate: read.duplicates,
        },
        warnings,
        scenario_warnings,
        interrupted: read.stopped,
        duration_s: t0.elapsed().as_secs_f64(),
        workers: 1,
    };
    let fail = |e: &dyn std::fmt::Display| Failure::Input(format!("error: {e}"));
    // The changed flows in `--flows` order, streamed there; the summary
    // shows the first 20.
    let mut flows_out = match a.flows {
        Some(p) => Some(OutputFile::create("--flows", p).map_err(|e| fail(&e))?),
        None => None,
    };
    let mut changed: Vec<ChangedFlow> = Vec::new();
    let mut sorted = changed_sorter.finish().map_err(|e| fail(&e))?;
    while let Some(c) = sorted.next_record().map_err(|e| fail(&e))? {
        if flows_out.is_none() && changed.len() >= SUMMARY_FLOWS {
            break;
        }
        let c = changed_flow(&sb, &c, &overflow);
        if let Some(f) = &mut flows_out {
            serde_json::to_writer(&mut *f, &c).map_err(|e| fail(&e))?;
            f.write_all(b"\n").map_err(|e| fail(&e))?;
        }
        if changed.len() < SUMMARY_FLOWS {
            changed.push(c);
        }
    }
    let mut outputs = Vec::new();
    if let Some(p) = a.report {
        let mut f = OutputFile::create("--report", p).map_err(|e| fail(&e))?;
        serde_json::to_writer_pretty(&mut f, &report).map_err(|e| fail(&e))?;
        f.write_all(b"\n").map_err(|e| fail(&e))?;
        outputs.push(f);
    }
    outputs.extend(flows_out);
    for f in outputs {
        f.commit().map_err(|e| fail(&e))?;
    }
    let mut w = String::new();
    for x in &report.warnings {
        let _ = writeln!(w, "warning: {}", zprsim_control::escape::escape(x));
    }
    crate::err(&w);
    if !a.quiet {
        crate::summary_out(&summary(&report, &changed), &[a.report, a.flows])?;
    }
    if read.stopped {
        crate::err("interrupted: the outputs hold the flow-log records read before it\n");
        return Ok(ExitCode::from(interrupt.exit_code()));
    }
    let hit = [
        (Class::WouldBreak, report.flows.would_break),
        (Class::NewlyAllowed, report.flows.newly_allowed),
        (Class::ReasonChanged, report.flows.reason_changed),
    ]
    .iter()
    .any(|(c, n)| *n > 0 && a.fail_on.contains(c));
    Ok(if hit {
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
    for (name, side) in [("before", &r.before), ("after", &r.after)] {
        let a = &side.agreement;
        let _ = writeln!(
            t,
            "  {name}: agrees with OCI on {} of {} record(s) ({} unplaced)",
            a.accept_allow.records + a.reject_drop.records,
            side.judged,
            side.unplaced
        );
    }
    for c in changed.iter().take(SUMMARY_FLOWS) {
        let ports = match (c.sport, c.dport) {
            (Some(s), Some(d)) => format!("{}:{s} -> {}:{d}", c.src, c.dst),
            _ => format!("{} -> {}", c.src, c.dst),
        };
        let side = |s: &SideFlow| match s.stage {
            Some(st) => format!("drop at {}", st.as_str()),
            None => "allow".into(),
        };
        let class = match c.class {
            Class::WouldBreak => "would break",
            Class::NewlyAllowed => "newly allowed",
            Class::ReasonChanged => "reason changed",
            Class::Unchanged => "unchanged",
        };
        let _ = writeln!(
            t,
            "  {class}: {} {ports} ({} packets): before {}, after {}",
            crate::flowlog::proto_name(c.proto),
            c.packets,
            side(&c.before),
            side(&c.after)
        );
    }
    t
}
