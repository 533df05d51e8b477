//! `diff` on flow logs: what a change would do to the traffic OCI logged.
//!
//! - Every record is judged at its VNIC by both scenarios
//!   ([`crate::flowlog::stream::judge_spooled_pair`], each with its own
//!   tracking across records), one start second at a time: the sides'
//!   counts and agreement with OCI. Each is judged along its flow's whole
//!   path too ([`path`], since the twenty-sixth session); those verdicts,
//!   stages and deciding rules are compared ([`rules`]).
//! - Each compared record's part of its flow ([`sort::Part`]) is sorted by
//!   tuple outside memory past a bound; flows (both directions, every VNIC
//!   that logged them) are then built one at a time and classed as `diff`
//!   classes packet flows, weighted by the records' packets, each
//!   direction counted at one VNIC, a record OCI rejected never would
//!   break ([`flows`]).
//! - The changed flows are sorted as `--flows` lists them
//!   ([`sort::Changed`]) and read back by [`ChangedFlows`]; the report is
//!   [`Report`]. The CLI writes both, prints the summary and decides the
//!   exit code.

mod flows;
mod path;
mod report;
mod rules;
pub mod sort;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use zprsim_control::compile::Compiled;
use zprsim_control::load::Warning;
use zprsim_control::model::Scenario;
use zprsim_control::stopped::StoppedBy;
use zprsim_control::verdict::Verdict;

pub use flows::{ChangedFlow, ChangedFlows, GonePaths, NewPaths};
pub use report::{FlowLogCounts, RejectedByOci, Report, SideOut};

use crate::conntrack::ConnKey;
use crate::diff::{FlowCounts, PacketCounts};
use crate::flowlog::judge::{Judged, record_packet};
use crate::flowlog::read::ReadOutcome;
use crate::flowlog::record::{Action, LogRecord};
use crate::flowlog::sort::Sorter;
use crate::flowlog::spill::{FlowLogSpool, SpillConfig};
use crate::flowlog::stream::{PairEvent, judge_spooled_pair};
use crate::warning::{RunWarning, RunWarningCode, messages};
use flows::{Flow, Tally};
use path::Paths;
use rules::{RuleNumbers, Verdicts};
use sort::{AFTER_VNIC, Changed, ONLY_AFTER, ONLY_BEFORE, Part, key_bytes, side_code};

/// The two scenarios of a flow-log `diff`.
pub struct Scenarios<'s> {
    /// BEFORE and AFTER.
    pub models: [&'s Scenario; 2],
    /// Their compiled tables.
    pub compiled: [&'s Compiled; 2],
    /// Their files as given (the report's `scenario`, messages).
    pub names: [String; 2],
    /// Their own warnings, BEFORE's first.
    pub warnings: Vec<Warning>,
}

/// The inputs of a flow-log `diff`, read.
pub struct Inputs<'a> {
    /// The files, as given (file `i` of a record is `paths[i]`).
    pub paths: &'a [PathBuf],
    /// Warnings about them (a file given twice, read once).
    pub warnings: &'a [RunWarning],
    /// What was read ([`crate::flowlog::read::read_paths_until`]), with
    /// its records in a pair spool ([`FlowLogSpool::new_pair`]).
    pub read: ReadOutcome,
    /// `--flow-log-buffer`, `--max-flow-log-spill`, ...
    pub spill: &'a SpillConfig,
    /// When the run started (the report's `duration_s`).
    pub started: Instant,
    /// Set (by a signal handler) to stop: after the reading, the judging
    /// ends at the next second, and the outputs are of the records
    /// compared before (`interrupted-after-reading`).
    pub stop: Option<&'a AtomicBool>,
}

/// Judges the records read by both scenarios, builds and classes their
/// flows: the report and the changed flows in `--flows` order.
///
/// # Errors
/// A limit of temporary files, a temporary file that cannot be used, or
/// records of which the scenarios have none in common to compare.
pub fn compare<'s>(
    s: &Scenarios<'s>,
    mut i: Inputs<'_>,
) -> Result<(Report, ChangedFlows<'s>), String> {
    let [sb, sa] = s.models;
    let [cb, ca] = s.compiled;
    let spool = i
        .read
        .spool
        .take()
        .unwrap_or_else(|| FlowLogSpool::new_pair(sb, sa, i.spill.clone()));
    let name = |f: u32| {
        i.paths
            .get(f as usize)
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    // Each record is judged by both scenarios (each with its own tracking
    // and tie order), one start second at a time: BEFORE's verdicts of the
    // second wait here for AFTER's, and a record only one of them placed
    // is counted at the second's end.
    let mut numbers = RuleNumbers::new(sb, sa);
    // BEFORE's verdict, VNIC, record and judging position of each record
    // of the second (the record kept for one AFTER does not place). The position orders a flow's parts: BEFORE judges a
    // second's records by the tie rule (the opener of a connection whose
    // two directions one window holds first, docs/semantics.md §6.4),
    // then input order, so a flow is named by its opener as `replay`
    // takes it, not by whichever of its records OCI wrote first.
    let mut waiting: HashMap<usize, (Verdicts, u32, LogRecord, u64)> = HashMap::new();
    let mut judged_before = 0u64;
    // Each compared record's part of its flow, sorted by tuple outside
    // memory past the buffer: flows are then built one at a time.
    let spill_dir = i.spill.dir.as_deref();
    // Half the record buffer: the records' last run is still in memory
    // while these are made.
    let part_buffer = (i.spill.buffer / 2).max(1);
    let mut parts: Sorter<Part> = Sorter::new(part_buffer, i.spill.max_spill, spill_dir);
    let spill_limit = |r: &LogRecord, max: u64| {
        format!(
            "{}:{}: the flow-log records need more than {} MiB of temporary files (the limit, `--max-flow-log-spill`)",
            name(r.file),
            r.line,
            max >> 20
        )
    };
    // Records one scenario places and the other does not (a VNIC without
    // the record's `id` on one side): said; those only AFTER places (a
    // VNIC the change adds) are judged by AFTER alone, as new paths
    // (since the twenty-ninth session), those only BEFORE places (a VNIC
    // the change removes) by BEFORE alone, as gone paths (since the
    // thirtieth).
    let (mut compared, mut one_side) = (0u64, [(0u64, 0u64); 2]);
    // Judging positions of the records only AFTER places: after BEFORE's
    // of the same window start.
    let mut after_seq = 1u64 << 62;
    // The parts' temporary file full (a full disk): the comparing stops
    // there, as a Ctrl-C stops the reading; the judging ends at the next
    // second (`stop`), and the flows are of the records compared before.
    let mut parts_full: Option<String> = None;
    let stop = AtomicBool::new(false);
    // `b` `None`: a record only AFTER places; `af` `None`: only BEFORE.
    let mut pair = |r: &LogRecord,
                    seq: u64,
                    vnic: u32,
                    b: Option<&Verdicts>,
                    af: Option<&Verdicts>|
     -> Result<(), String> {
        if parts_full.is_some() {
            return Ok(());
        }
        let both = b.is_some() && af.is_some();
        let Some((key, _)) = ConnKey::of(&record_packet(r, false)) else {
            compared += u64::from(both);
            return Ok(());
        };
        let before = b.map_or(ONLY_AFTER, |b| side_code(b.0, b.1));
        let after = af.map_or(ONLY_BEFORE, |a| side_code(a.0, a.1));
        let reason_changed = b.zip(af).is_some_and(|(b, af)| {
            b.0 != Verdict::Allow && af.0 != Verdict::Allow && (b.1 != af.1 || b.2 != af.2)
        });
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
                sides: [before, after],
                reason_changed,
                rejected: r.action == Action::Reject,
            })
            .map_err(|max| spill_limit(r, max))?;
        if parts.failed() {
            parts_full = parts.recover(crate::flowlog::sort::SORTED_BY_FLOW).map(|m| {
                format!(
                    "{}:{}: {m}; the comparing stopped there (a Ctrl-C's way): the flows and packets are of the {compared} flow-log record(s) compared before it",
                    name(r.file),
                    r.line
                )
            });
            stop.store(true, Ordering::Relaxed);
            return Ok(());
        }
        compared += u64::from(both);
        Ok(())
    };
    // A signal after the reading (one during it stopped the reading, and
    // what was read is judged whole) ends the judging at the next second,
    // as `replay` does.
    let tail_stop = i.stop.filter(|_| !i.read.stopped);
    let signalled = || tail_stop.is_some_and(|t| t.load(Ordering::Relaxed));
    // Drops owed to each scenario's stand-ins, per judged record (its
    // packets; since the twentieth session).
    let owed = [
        crate::stand_in_owed::StandInOwed::new(sb, cb),
        crate::stand_in_owed::StandInOwed::new(sa, ca),
    ];
    let mut owed = owed
        .each_ref()
        .map(|o| o.as_ref().map(crate::stand_in_owed::RecordsOwed::new));
    let mut owed_counts = [(0u64, 0u64); 2];
    // Each record judged along its flow's whole path too, by each
    // scenario: the flows are classed by those verdicts, the sides'
    // counts (agreement with OCI) by the VNIC's own.
    let mut paths = [cb, ca].map(|c| Paths::new(c, i.spill.max_connections));
    let mut path_verdicts = |side: usize,
                             s: &Scenario,
                             c: &Compiled,
                             r: &LogRecord,
                             x: &Judged|
     -> Result<Verdicts, String> {
        let fast = match paths.get_mut(side).map(|p| p.judge(r)) {
            Some(Err(max)) => {
                return Err(crate::flowlog::stream::too_many_connections(
                    &name(r.file),
                    r,
                    max,
                ));
            }
            Some(Ok(Some(f))) => f,
            _ => x.fast,
        };
        Ok(numbers.verdicts(side, s, c, &fast))
    };
    let [mut ob, mut oa] = judge_spooled_pair([cb, ca], spool, &name, Some(&stop), |ev| {
        if signalled() {
            stop.store(true, Ordering::Relaxed);
        }
        if let PairEvent::Judged(side, r, x) = &ev
            && let (Some(Some(o)), Some(stage)) = (owed.get_mut(*side), x.fast.judgement.stage)
        {
            let p = record_packet(r, x.reply);
            let (records, packets) =
                o.dropped(r.start, r.packets, x.vnic, &p, stage, x.fast.rules[0]);
            if let Some(c) = owed_counts.get_mut(*side) {
                c.0 = c.0.saturating_add(packets);
                c.1 += records;
            }
        }
        match ev {
            PairEvent::Judged(0, r, x) => {
                let v = path_verdicts(0, sb, cb, r, x)?;
                let vnic = u32::try_from(x.vnic).unwrap_or(u32::MAX);
                judged_before += 1;
                waiting.insert(x.record, (v, vnic, r.clone(), judged_before));
            }
            PairEvent::Judged(_, r, x) => {
                let v = path_verdicts(1, sa, ca, r, x)?;
                match waiting.remove(&x.record) {
                    Some((b, vnic, _, at)) => pair(r, at, vnic, Some(&b), Some(&v))?,
                    None => {
                        one_side[1].0 += 1;
                        one_side[1].1 = one_side[1].1.saturating_add(r.packets);
                        let vnic = u32::try_from(x.vnic).unwrap_or(u32::MAX >> 1) | AFTER_VNIC;
                        after_seq += 1;
                        pair(r, after_seq, vnic, None, Some(&v))?;
                    }
                }
            }
            PairEvent::SecondEnd => {
                // The records only BEFORE places: gone paths, in BEFORE's
                // judging order (a full temporary file names the same one
                // every run).
                let mut gone: Vec<_> = waiting.drain().map(|(_, w)| w).collect();
                gone.sort_unstable_by_key(|w| w.3);
                for (b, vnic, r, at) in gone {
                    one_side[0].0 += 1;
                    one_side[0].1 = one_side[0].1.saturating_add(r.packets);
                    pair(&r, at, vnic, Some(&b), None)?;
                }
            }
        }
        Ok(())
    })?;
    for (o, (packets, records)) in [&mut ob, &mut oa].into_iter().zip(owed_counts) {
        o.judgement.counters.stand_in_dropped = packets;
        o.judgement.counters.stand_in_dropped_flows = records;
    }
    let read = &mut i.read;
    // The spool's duplicates, and the NODATA and SKIPDATA entries the
    // reading found read twice.
    read.duplicates = ob.duplicates + read.quality_duplicates;
    read.first_duplicate = match (ob.first_duplicate, read.first_quality_duplicate) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
    .map(|(f, line)| (name(f), line));
    // Stopped by a signal in the judging (not by the parts' full disk).
    let cut_before = ob.stopped_before.filter(|_| parts_full.is_none());
    // A signal after the judging (one in it cut the judging, and what was
    // judged is grouped whole) ends the grouping at a flow's end.
    let group_stop = || cut_before.is_none() && parts_full.is_none() && signalled();
    let grouped = group_flows(parts, part_buffer, i.spill, [sb, sa], &group_stop)?;
    let (counts, packets, rejected_by_oci) = (grouped.counts, grouped.packets, grouped.rejected);
    let (new_path, gone_path) = (grouped.new_path, grouped.gone_path);
    let (changed, changed_full) = (grouped.changed, grouped.full);
    let temp_full = read.temp_full || parts_full.is_some();
    let stopped = temp_full || read.stopped || cut_before.is_some() || grouped.stopped.is_some();
    if compared == 0 && one_side != [(0, 0); 2] && !stopped {
        let (placed_by, none_by) = if one_side[0].0 > 0 {
            (&s.names[0], &s.names[1])
        } else {
            (&s.names[1], &s.names[0])
        };
        return Err(format!(
            "`{none_by}` places none of the {} flow-log record(s) `{placed_by}` places: none of its VNICs has the `id` (OCID) a record names, so nothing was compared; give its VNICs their `id`s (`zprsim import oci` sets them)",
            one_side[0].0.max(one_side[1].0),
        ));
    }
    let mut warnings: Vec<RunWarning> = s.warnings.iter().map(RunWarning::of_scenario).collect();
    for (n, side) in ["BEFORE", "AFTER"].into_iter().enumerate() {
        let (records, packets) = one_side[n];
        if records > 0 {
            let what = if n == 0 {
                "judged by BEFORE alone, as gone paths (`gone_path` in the report, class `gone-path` in `--flows`)"
            } else {
                "judged by AFTER alone, as new paths (`new_path` in the report, class `new-path` in `--flows`)"
            };
            warnings.push(RunWarning::new(
                RunWarningCode::PlacedByOneSide,
                format!(
                    "{records} flow-log record(s) ({packets} packets) are placed by {side} only (the other scenario has no VNIC with their `id`): {what}"
                ),
            ));
        }
    }
    warnings.extend(i.warnings.iter().cloned());
    warnings.extend(read.problems.iter().cloned());
    warnings.extend(read.unlisted_warning());
    warnings.extend(read.duplicate_warning());
    warnings.extend(read.version_warning());
    warnings.extend(cut_before.map(|second| {
        RunWarning::new(
            RunWarningCode::InterruptedAfterReading,
            format!(
                "a signal came after the reading, while the records were judged in time order: {} of the {} data record(s) read were compared, those that start before {second} (Unix seconds); the report and `--flows` hold exactly those",
                ob.judged, ob.records
            ),
        )
    }));
    warnings.extend(grouped.stopped.map(|parts| {
        RunWarning::new(
            RunWarningCode::InterruptedAfterReading,
            format!(
                "a signal came after the judging, while the compared records were grouped into flows (in the order of their addresses and ports): the judging is of all {compared} flow-log record(s) compared, the flows and their packets of {parts} of them (each flow counted is whole, the rest are not counted); the report's flows, packets and `--flows` hold exactly those"
            ),
        )
    }));
    // The flows' temporary file full: said once (both sides count alike).
    warnings.extend(
        ob.flows_full
            .as_ref()
            .or(oa.flows_full.as_ref())
            .map(|m| RunWarning::new(RunWarningCode::TemporaryFilesFull, m.clone())),
    );
    warnings.extend(
        [parts_full, changed_full]
            .into_iter()
            .flatten()
            .map(|m| RunWarning::new(RunWarningCode::TemporaryFilesFull, m)),
    );
    let report = Report {
        captures: i.paths.iter().map(|p| p.display().to_string()).collect(),
        input_kind: "flow-log",
        flows: counts,
        packets,
        rejected_by_oci,
        new_path,
        gone_path,
        before: SideOut::of(s.names[0].clone(), &ob.judgement, ob.judged),
        after: SideOut::of(s.names[1].clone(), &oa.judgement, oa.judged),
        flow_log: FlowLogCounts {
            // The data records read (duplicates among them) and the rest.
            records: ob.records
                + read.nodata
                + read.skipdata
                + read.malformed
                + read.quality_duplicates,
            skipped_nodata: read.nodata,
            skipped_skipdata: read.skipdata,
            skipped_malformed: read.malformed,
            skipped_duplicate: read.duplicates,
        },
        warnings: messages(&warnings),
        run_warnings: warnings,
        scenario_warnings: s.warnings.clone(),
        // A full disk under the spool stopped the reading (or under the
        // parts, the comparing) as a Ctrl-C does: the outputs hold the
        // records read (compared) before (`temporary-files-full`).
        interrupted: stopped,
        stopped_by: temp_full.then_some(StoppedBy::TemporaryFilesFull),
        duration_s: i.started.elapsed().as_secs_f64(),
        workers: 1,
    };
    Ok((report, changed))
}

/// The flows of [`group_flows`].
struct Grouped<'s> {
    counts: FlowCounts,
    packets: PacketCounts,
    rejected: RejectedByOci,
    new_path: NewPaths,
    gone_path: GonePaths,
    changed: ChangedFlows<'s>,
    /// Their temporary file full (a full disk): the message.
    full: Option<String>,
    /// Stopped by a signal: the parts grouped, in whole flows.
    stopped: Option<u64>,
}

/// Flows, one at a time from the parts sorted by tuple (then window start
/// and BEFORE's judging order: the first part is the flow's first record, a side's
/// first dropped part gives its stage), counted by class; the changed ones
/// sorted outside memory as `--flows` lists them. When their temporary
/// file cannot be written (a full disk), every flow is still counted and
/// `--flows` lists those kept before: the message says so. `stop` (a
/// signal), looked at as each flow ends, ends the grouping there: the
/// flows counted are whole.
fn group_flows<'s>(
    parts: Sorter<Part>,
    buffer: usize,
    spill: &SpillConfig,
    [before, after]: [&'s Scenario; 2],
    stop: &dyn Fn() -> bool,
) -> Result<Grouped<'s>, String> {
    let mut counts = FlowCounts::default();
    let mut packets = PacketCounts {
        total: 0,
        would_break: 0,
        newly_allowed: 0,
    };
    let mut rejected = RejectedByOci::default();
    let mut new_path = NewPaths::default();
    let mut gone_path = GonePaths::default();
    let mut changed: Sorter<Changed> = Sorter::new(buffer, spill.max_spill, spill.dir.as_deref());
    let mut overflow: Vec<Vec<u32>> = Vec::new();
    let mut sorted = parts.finish()?;
    let mut flow: Option<Flow> = None;
    let (mut kept, mut full) = (0u64, false);
    let (mut grouped, mut stopped) = (0u64, None);
    let mut tally = Tally {
        flows: &mut counts,
        packets: &mut packets,
        rejected: &mut rejected,
        new_path: &mut new_path,
        gone_path: &mut gone_path,
    };
    let mut end = |f: Flow, t: &mut Tally<'_>| -> Result<(), String> {
        let Some(c) = f.changed_record(t, &mut overflow) else {
            return Ok(());
        };
        if full {
            return Ok(());
        }
        changed.push(c).map_err(|max| {
            format!(
                "the changed flows need more than {} MiB of temporary files (the limit, `--max-flow-log-spill`)",
                max >> 20
            )
        })?;
        full = changed.failed();
        kept += u64::from(!full);
        Ok(())
    };
    while let Some(p) = sorted.next_record()? {
        match &mut flow {
            Some(f) if f.first.key == p.key => f.add(&p),
            _ => {
                if let Some(f) = flow.take() {
                    grouped += f.records;
                    end(f, &mut tally)?;
                }
                if stop() {
                    stopped = Some(grouped);
                    break;
                }
                flow = Some(Flow::of(&p));
            }
        }
    }
    if let Some(f) = flow.take() {
        end(f, &mut tally)?;
    }
    let full = changed.recover("`diff`'s changed flows, sorted as `--flows` lists them").map(|m| {
        format!(
            "{m}; the changed flows past it are counted but not listed: `--flows` lists {kept} of the {} changed flow(s)",
            counts.would_break
                + counts.newly_allowed
                + counts.reason_changed
                + new_path.flows
                + gone_path.flows
        )
    });
    Ok(Grouped {
        counts,
        packets,
        rejected,
        new_path,
        gone_path,
        changed: ChangedFlows {
            before,
            after,
            sorted: changed.finish()?,
            overflow,
        },
        full,
        stopped,
    })
}
