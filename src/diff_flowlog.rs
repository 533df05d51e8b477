//! `zprsim diff BEFORE AFTER FLOWLOG...`: OCI VCN flow logs instead of
//! captures (detected by content, as `replay` does). Every record is judged
//! at the VNIC that logged it against each scenario, each with its own
//! connection tracking (`judge_records` once per scenario); the records of
//! one flow (its Community ID key, both directions) are classified as a
//! capture's packets are, weighted by the records' `packets`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;
use zprsim_control::compile::{Compiled, Config, rule_text};
use zprsim_control::model::Scenario;
use zprsim_control::verdict::{RuleRef, Stage, Verdict};
use zprsim_dataplane::community_id::FlowKey;
use zprsim_dataplane::flowlog::detect::is_flow_log_path;
use zprsim_dataplane::flowlog::judge::{Direction, Judged, judge_records, record_packet};
use zprsim_dataplane::flowlog::read::{Limits, ReadOutcome, read_path};
use zprsim_dataplane::flowlog::record::LogRecord;
use zprsim_dataplane::output::{self, OutputFile};
use zprsim_dataplane::scenario_file;

use crate::diff::{
    Args, Class, FlowCounts, Group, PacketCounts, Report, Side, add_group, endpoint_name,
    rule_content, sorted, summary,
};
use crate::report::StageCounts;
use crate::{Failure, out};

/// `flow_log` of the diff report: the records and how each scenario
/// placed them (a record whose VNIC is in one scenario only is judged by
/// that one alone and not classified).
#[derive(Debug, Serialize)]
pub(crate) struct Section {
    records: u64,
    skipped_nodata: u64,
    skipped_skipdata: u64,
    skipped_malformed: u64,
    judged_both: u64,
    judged_before_only: u64,
    judged_after_only: u64,
}

/// If the inputs are flow logs, runs the diff on them and returns the exit
/// code; `None` when they are captures. Mixing the two is a usage error.
///
/// # Errors
/// Bad input or usage.
pub(crate) fn diff_if_flow_logs(
    a: &Args,
    fail_on: &BTreeSet<Class>,
) -> Result<Option<ExitCode>, Failure> {
    let kinds: Vec<bool> = a
        .captures
        .iter()
        .map(|p| is_flow_log_path(p).unwrap_or(false))
        .collect();
    if !kinds.iter().any(|k| *k) {
        return Ok(None);
    }
    if let Some(i) = kinds.iter().position(|k| !*k) {
        return Err(Failure::Input(format!(
            "error: `{}` is a capture and the other inputs are flow logs: give one kind per run",
            a.captures[i].display()
        )));
    }
    run(a, fail_on).map(Some)
}

fn load(path: &Path) -> Result<(zprsim_control::load::Loaded, Compiled), Failure> {
    let loaded = scenario_file::load_path(path)?;
    let c = Compiled::new(&loaded.scenario, &Config::default())
        .map_err(|e| Failure::Input(format!("{}: error: {e}", path.display())))?;
    Ok((loaded, c))
}

/// What changed in one flow, over its records judged by both scenarios.
#[derive(Debug, Default)]
struct FlowDiff {
    /// Index of the first record (input order of judging).
    first: usize,
    records: u64,
    packets: u64,
    bytes: u64,
    would_break: u64,
    newly_allowed: u64,
    reason_changed: bool,
    before_allowed: u64,
    before_dropped: u64,
    after_allowed: u64,
    after_dropped: u64,
    /// The first record that would break, and the first newly allowed one:
    /// (record, before, after).
    breaking: Option<(usize, Judged, Judged)>,
    newly: Option<(usize, Judged, Judged)>,
    /// The first record's judgements.
    first_pair: Option<(Judged, Judged)>,
}

/// One changed flow of `--flows`.
#[derive(Serialize)]
struct ChangedFlow {
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    proto: u8,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    first_ts: f64,
    records: u64,
    packets: u64,
    bytes: u64,
    community_id: String,
    class: Class,
    before: SideFlow,
    after: SideFlow,
}

#[derive(Serialize)]
struct SideFlow {
    verdict: Verdict,
    stage: Option<Stage>,
    allowed_packets: u64,
    dropped_packets: u64,
}

fn side_of(d: Direction) -> &'static str {
    match d {
        Direction::Egress => "egress",
        Direction::Ingress => "ingress",
    }
}

/// The rules and statements that decided a record, by name and text.
fn rules_of(s: &Scenario, c: &Compiled, j: &Judged) -> Vec<String> {
    let mut v: Vec<String> = j
        .fast
        .rules
        .iter()
        .flatten()
        .filter_map(|id| c.rule_ref(*id))
        .map(|r| match r {
            RuleRef::Statement(st) => format!("{}: {}", rule_text(s, r), s.statement(st).text),
            other => rule_text(s, other),
        })
        .collect();
    v.dedup();
    v
}

/// Why a record was dropped, at the VNIC that logged it.
fn drop_text(s: &Scenario, j: &Judged) -> String {
    let vnic = s.vnics.get(j.vnic).map_or("", |v| v.name.as_str());
    let side = side_of(j.direction);
    match j.fast.judgement.stage {
        Some(Stage::Route) => format!("route: no route from `{vnic}` for this packet"),
        Some(Stage::Zpr) => format!("zpr: the ZPR {side} check at `{vnic}` fails"),
        Some(st) => format!(
            "{}: no {side} rule of `{vnic}` (its NSGs and security lists) allows it",
            st.as_str()
        ),
        None => format!("allowed at `{vnic}` ({side})"),
    }
}

/// The rules of a judgement by content, to compare across scenarios.
fn contents(s: &Scenario, c: &Compiled, j: &Judged) -> Vec<Option<String>> {
    j.fast
        .rules
        .iter()
        .map(|r| r.and_then(|id| c.rule_ref(id)).map(|r| rule_content(s, r)))
        .collect()
}

#[allow(clippy::too_many_lines)]
fn run(a: &Args, fail_on: &BTreeSet<Class>) -> Result<ExitCode, Failure> {
    let (lb, cb) = load(&a.before)?;
    let (la, ca) = load(&a.after)?;
    let (sb, sa) = (&lb.scenario, &la.scenario);
    let t0 = Instant::now();
    let limits = Limits::default();
    let mut read = ReadOutcome::default();
    for (i, p) in a.captures.iter().enumerate() {
        let idx = u32::try_from(i).unwrap_or(u32::MAX);
        read_path(p, idx, &limits, &mut read).map_err(|e| Failure::Input(format!("error: {e}")))?;
    }
    let records: &[LogRecord] = &read.records;
    // Each scenario with its own placement and tracking.
    let jb = judge_records(&cb, sb, records);
    let ja = judge_records(&ca, sa, records);
    let after_of: HashMap<usize, Judged> = ja.judged.iter().map(|j| (j.record, *j)).collect();
    let before_set: BTreeSet<usize> = jb.judged.iter().map(|j| j.record).collect();
    let mut section = Section {
        records: records.len() as u64,
        skipped_nodata: read.nodata,
        skipped_skipdata: read.skipdata,
        skipped_malformed: read.malformed,
        judged_both: 0,
        judged_before_only: 0,
        judged_after_only: ja
            .judged
            .iter()
            .filter(|j| !before_set.contains(&j.record))
            .count() as u64,
    };
    let mut flows: BTreeMap<FlowKey, FlowDiff> = BTreeMap::new();
    let (mut pk_break, mut pk_newly, mut pk_total) = (0u64, 0u64, 0u64);
    for (order, b) in jb.judged.iter().enumerate() {
        let Some(af) = after_of.get(&b.record) else {
            section.judged_before_only += 1;
            continue;
        };
        section.judged_both += 1;
        let r = &records[b.record];
        let key = FlowKey::of(&record_packet(r, false));
        let f = flows.entry(key).or_insert_with(|| FlowDiff {
            first: order,
            ..FlowDiff::default()
        });
        let (ok_b, ok_a) = (
            b.fast.judgement.verdict == Verdict::Allow,
            af.fast.judgement.verdict == Verdict::Allow,
        );
        f.records += 1;
        f.packets = f.packets.saturating_add(r.packets);
        f.bytes = f.bytes.saturating_add(r.bytes);
        pk_total = pk_total.saturating_add(r.packets);
        let add = |x: &mut u64| *x = x.saturating_add(r.packets);
        if ok_b {
            add(&mut f.before_allowed);
        } else {
            add(&mut f.before_dropped);
        }
        if ok_a {
            add(&mut f.after_allowed);
        } else {
            add(&mut f.after_dropped);
        }
        if f.first_pair.is_none() {
            f.first_pair = Some((*b, *af));
        }
        if ok_b && !ok_a {
            add(&mut f.would_break);
            pk_break = pk_break.saturating_add(r.packets);
            f.breaking.get_or_insert((b.record, *b, *af));
        } else if !ok_b && ok_a {
            add(&mut f.newly_allowed);
            pk_newly = pk_newly.saturating_add(r.packets);
            f.newly.get_or_insert((b.record, *b, *af));
        } else if b.fast.judgement.stage != af.fast.judgement.stage
            || contents(sb, &cb, b) != contents(sa, &ca, af)
        {
            f.reason_changed = true;
        }
    }
    let mut counts = FlowCounts::default();
    let mut wb: BTreeMap<String, Group> = BTreeMap::new();
    let mut na: BTreeMap<String, Group> = BTreeMap::new();
    let mut changed: Vec<(usize, ChangedFlow)> = Vec::new();
    for (key, f) in &flows {
        let class = if f.would_break > 0 {
            Class::WouldBreak
        } else if f.newly_allowed > 0 {
            Class::NewlyAllowed
        } else if f.reason_changed {
            Class::ReasonChanged
        } else {
            Class::Unchanged
        };
        let Some((fb, fa)) = f.first_pair else {
            continue;
        };
        let first_rec = &records[fb.record];
        let pair = format!(
            "{} -> {}",
            endpoint_name(sb, first_rec.src),
            endpoint_name(sb, first_rec.dst)
        );
        match class {
            Class::WouldBreak => {
                counts.would_break += 1;
                if let Some((_, b, af)) = f.breaking {
                    let mut before = rules_of(sb, &cb, &b);
                    if before.is_empty() {
                        before.push(if b.reply {
                            "a tracked connection (a reply)".to_owned()
                        } else {
                            "the local route; no security rule or ZPR statement applies".to_owned()
                        });
                    }
                    add_group(&mut wb, drop_text(sa, &af), f.would_break, before, pair);
                }
            }
            Class::NewlyAllowed => {
                counts.newly_allowed += 1;
                if let Some((_, b, af)) = f.newly {
                    let by = rules_of(sa, &ca, &af);
                    let reason = if af.reply {
                        "allowed as a reply of a connection tracked after the change".to_owned()
                    } else if by.is_empty() {
                        "allowed by the local route; no security rule or ZPR statement applies"
                            .to_owned()
                    } else {
                        format!("allowed by {}", by.join(", "))
                    };
                    add_group(
                        &mut na,
                        reason,
                        f.newly_allowed,
                        vec![drop_text(sb, &b)],
                        pair,
                    );
                }
            }
            Class::ReasonChanged => counts.reason_changed += 1,
            Class::Unchanged => counts.unchanged += 1,
        }
        if class != Class::Unchanged {
            let p = fb.packet;
            let (sport, dport, icmp_type, icmp_code) = match p.l4 {
                zprsim_control::packet::L4::Ports { sport, dport } => {
                    (Some(sport), Some(dport), None, None)
                }
                zprsim_control::packet::L4::Icmp { icmp_type, code } => {
                    (None, None, Some(icmp_type), Some(code))
                }
                _ => (None, None, None, None),
            };
            #[allow(clippy::cast_precision_loss)]
            let first_ts = first_rec.start as f64;
            changed.push((
                f.first,
                ChangedFlow {
                    src: p.src,
                    dst: p.dst,
                    proto: p.proto,
                    sport,
                    dport,
                    icmp_type,
                    icmp_code,
                    first_ts,
                    records: f.records,
                    packets: f.packets,
                    bytes: f.bytes,
                    community_id: key.community_id(0),
                    class,
                    before: SideFlow {
                        verdict: fb.fast.judgement.verdict,
                        stage: fb.fast.judgement.stage,
                        allowed_packets: f.before_allowed,
                        dropped_packets: f.before_dropped,
                    },
                    after: SideFlow {
                        verdict: fa.fast.judgement.verdict,
                        stage: fa.fast.judgement.stage,
                        allowed_packets: f.after_allowed,
                        dropped_packets: f.after_dropped,
                    },
                },
            ));
        }
    }
    // Lines in judging order of each flow's first record (window start).
    changed.sort_by_key(|(i, _)| *i);
    let mut warnings: Vec<String> = read.problems.clone();
    if section.judged_before_only + section.judged_after_only > 0 {
        warnings.push(format!(
            "{} record(s) judged by one scenario only (their VNIC is in the other by `id`, or not): not classified",
            section.judged_before_only + section.judged_after_only
        ));
    }
    let side = |path: &Path, k: &zprsim_dataplane::judge::Counters| Side {
        scenario: path.display().to_string(),
        packets: k.packets,
        bytes: k.bytes,
        dropped_by_stage: StageCounts::of(k),
        zpr_audit_would_drop: k.zpr_audit_would_drop,
    };
    let r = Report {
        captures: a.captures.iter().map(|p| p.display().to_string()).collect(),
        flows: counts,
        packets: PacketCounts {
            total: pk_total,
            would_break: pk_break,
            newly_allowed: pk_newly,
        },
        before: side(&a.before, &jb.counters),
        after: side(&a.after, &ja.counters),
        would_break: sorted(wb),
        newly_allowed: sorted(na),
        warnings,
        error: None,
        interrupted: false,
        duration_s: t0.elapsed().as_secs_f64(),
        workers: 1,
        flow_log: Some(section),
    };
    let mut outputs = Vec::new();
    if let Some(p) = &a.flows {
        let mut text = Vec::new();
        for (_, c) in &changed {
            serde_json::to_writer(&mut text, c)?;
            text.push(b'\n');
        }
        outputs.push(write_out("--flows", p, &text)?);
    }
    if let Some(p) = &a.report {
        let mut text = serde_json::to_vec_pretty(&r)?;
        text.push(b'\n');
        outputs.push(write_out("--report", p, &text)?);
    }
    for f in outputs {
        f.commit()
            .map_err(|e| Failure::Input(format!("error: {e}")))?;
    }
    let mut w = String::new();
    for x in lb.warnings.iter().chain(&la.warnings) {
        let _ = writeln!(w, "{x}");
    }
    for x in &r.warnings {
        let _ = writeln!(w, "warning: {x}");
    }
    crate::err(&w);
    if !a.quiet {
        let text = summary(a, &r);
        if [&a.report, &a.flows]
            .iter()
            .any(|p| p.as_deref().is_some_and(output::is_std))
        {
            crate::err(&text);
        } else {
            out(&text)?;
        }
    }
    let found = |c: &Class| match c {
        Class::WouldBreak => r.flows.would_break > 0,
        Class::NewlyAllowed => r.flows.newly_allowed > 0,
        Class::ReasonChanged => r.flows.reason_changed > 0,
        Class::Unchanged => false,
    };
    Ok(if fail_on.iter().any(found) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes `bytes` as the output of `flag` beside its target (renamed into
/// place on commit).
fn write_out(flag: &str, path: &Path, bytes: &[u8]) -> Result<OutputFile, Failure> {
    let mut f =
        OutputFile::create(flag, path).map_err(|e| Failure::Input(format!("error: {e}")))?;
    f.write_all(bytes)
        .map_err(|e| Failure::Input(format!("error: {flag} `{}`: {e}", path.display())))?;
    Ok(f)
}
