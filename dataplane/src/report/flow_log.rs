//! `replay`'s report on OCI flow logs: counts, the agreement of OCI's
//! recorded action with the simulated verdict, the disagreements and the
//! unplaced records; a judged record as `--flows` writes it; the summary.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;
use zprsim_control::compile::{Compiled, RuleId, RuleText};
use zprsim_control::escape::escape;
use zprsim_control::load::Warning;
use zprsim_control::model::Scenario;
use zprsim_control::stopped::StoppedBy;
use zprsim_control::verdict::Verdict;

use super::{RuleHits, StageCounts};
use crate::community_id::{CommunityId, FlowKey};
use crate::flowlog::judge::{Agreement, Direction, Judged, Unplaced, record_packet};
use crate::flowlog::read::ReadOutcome;
use crate::flowlog::record::{Action, LogRecord};
use crate::flowlog::stream::StreamOutcome;
use crate::judge::Totals;
use crate::warning::{RunWarning, RunWarningCode, messages};

/// Disagreements and unplaced examples kept in the report.
pub const MAX_LISTED: usize = 1000;
/// ... and printed in the summary.
const MAX_PRINTED: usize = 10;

#[derive(Serialize)]
struct Connections {
    created: u64,
    replies_tracked: u64,
}

#[derive(Serialize)]
struct Simulated<'a> {
    verdict: Verdict,
    stage: Option<&'static str>,
    zpr_audit: bool,
    rules: RuleNames<'a>,
    #[serde(serialize_with = "shown")]
    reason: Reason<'a>,
}

/// Serializes `t` as the string it displays, written as it is formatted
/// (no `String` made: serde_json's `collect_str`).
fn shown<T: std::fmt::Display, S: serde::Serializer>(t: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

/// A flow-log input file's name as a record names it (`file`): the path
/// as given, written where it is needed (no `String` per record).
#[derive(Clone, Copy)]
struct FileName<'a>(Option<&'a Path>);

impl std::fmt::Display for FileName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(p) => p.display().fmt(f),
            None => Ok(()),
        }
    }
}

/// Why a record was judged as it was (`simulated.reason`), written where
/// it is needed (no `String` per record): the VNIC's name, and what
/// decided.
struct Reason<'a> {
    vnic: &'a str,
    why: Why,
    /// A listed disagreement's route reason from the reference evaluator
    /// ([`Ctx::disagreement`]); never for `--flows`.
    more: Option<String>,
}

/// What decided a record ([`Reason`]).
#[derive(Clone, Copy)]
enum Why {
    /// Allowed as a reply of a tracked connection.
    Reply,
    /// Allowed, at the VNIC's side.
    Allowed(&'static str),
    /// An ingress record dropped at route.
    NoRouteBack,
    /// Dropped at route.
    NoRoute,
    /// Dropped by ZPR, at the VNIC's side.
    Zpr(&'static str),
    /// Dropped by the security rules of that stage.
    Security(&'static str),
}

impl std::fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.vnic;
        match self.why {
            Why::Reply => write!(f, "reply of a connection tracked at `{v}`")?,
            Why::Allowed(side) => write!(f, "allowed at `{v}` ({side})")?,
            Why::NoRouteBack => write!(
                f,
                "no route back from `{v}` to the source (the return path its route table must give)"
            )?,
            Why::NoRoute => write!(f, "no route from `{v}` for this packet")?,
            Why::Zpr(side) => write!(f, "the ZPR {side} check at `{v}` fails")?,
            Why::Security(stage) => write!(
                f,
                "no {stage} rule of `{v}` (its NSGs and security lists) allows it"
            )?,
        }
        match &self.more {
            Some(m) => write!(f, ": {m}"),
            None => Ok(()),
        }
    }
}

/// The deciding rules of a record's judgement (route, egress, ingress, ZPR
/// egress, ZPR ingress; those that decided), written as a list of their
/// names borrowed from the run's [`RuleText`]: no `Vec<String>` per
/// record.
struct RuleNames<'a> {
    names: &'a RuleText,
    ids: [Option<RuleId>; 5],
}

impl Serialize for RuleNames<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.ids
                .iter()
                .flatten()
                .filter_map(|id| self.names.get(*id)),
        )
    }
}

/// One judged record, as in `--flows` and the disagreements. Writing it
/// allocates nothing: the file name, the reason and the Community ID are
/// formatted as they are written (`dataplane/tests/no_alloc.rs`, "a
/// flow-log record's line").
#[derive(Serialize)]
pub struct RecordOut<'a> {
    #[serde(serialize_with = "shown")]
    file: FileName<'a>,
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
    community_id: CommunityId,
    start_time: u64,
    end_time: u64,
    packets: u64,
    bytes: u64,
    recorded: Action,
    simulated: Simulated<'a>,
    agree: bool,
}

#[derive(Serialize)]
struct UnplacedOut<'a> {
    #[serde(serialize_with = "shown")]
    file: FileName<'a>,
    line: u64,
    vnic_id: &'a str,
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    reason: Unplaced,
}

/// The report's `flow_log`: what was read, judged and left out, and the
/// agreement with OCI's action.
#[derive(Serialize)]
pub struct FlowLogSection<'a> {
    /// Records read.
    pub records: u64,
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

/// `replay`'s report on flow logs (`--report`, and the summary's source).
#[derive(Serialize)]
pub struct Report<'a> {
    scenario: String,
    pcaps: Vec<String>,
    input_kind: &'static str,
    /// Packets allowed and dropped.
    pub packets: Totals,
    bytes: Totals,
    dropped_by_stage: StageCounts,
    /// Drops owed to stand-ins (since the twentieth session): `flows`
    /// counts the flow-log records.
    stand_in_drops: crate::stand_in_owed::StandInDrops,
    zpr_audit_would_drop: u64,
    flows: u64,
    non_ip: u64,
    /// As in the capture report; always 0 here (no packets to compare).
    copies: u64,
    /// As in the capture report; always 0 here.
    decapsulated: u64,
    /// As in the capture report; always 0 here.
    node_local: u64,
    /// The run's warnings' messages.
    pub warnings: Vec<String>,
    /// `warnings` as objects (code, message, file, line), in the same
    /// order.
    pub run_warnings: Vec<RunWarning>,
    /// The scenario's own warnings (as `check --json` gives them), also
    /// printed on standard error.
    scenario_warnings: &'a [Warning],
    /// A SIGINT or SIGTERM stopped the reading: the counts are of the
    /// records read before it, and every output holds exactly those.
    pub interrupted: bool,
    /// What stopped it: `"sigint"`, `"sigterm"`, `"temporary-files-full"`
    /// (the spool past `--flow-log-buffer` could not be written); `null`
    /// when not interrupted.
    pub stopped_by: Option<StoppedBy>,
    connections: Connections,
    rules_hit: Vec<RuleHits>,
    rules_unused: Vec<String>,
    /// The flows an `audit` attribute would have denied, as in the
    /// capture report (`replay`'s rule report), with the statements that
    /// keep them open once enforced.
    zpr_audit_flows: super::AuditFlows,
    /// The flow-log section.
    pub flow_log: FlowLogSection<'a>,
    compile_s: f64,
    duration_s: f64,
    packets_per_second: f64,
    workers: usize,
}

/// What the flow-log report is of: the scenario and its compiled tables,
/// the inputs.
pub struct Ctx<'a> {
    /// The scenario.
    pub s: &'a Scenario,
    /// The scenario's file, as given.
    pub scenario: &'a Path,
    /// The scenario's load warnings.
    pub warnings: &'a [Warning],
    /// Its compiled tables.
    pub c: &'a Compiled,
    /// Their rules' names ([`RuleText::new`] of `s` and `c`).
    pub names: &'a RuleText,
    /// The flow-log files, in the order given (a record's `file` indexes them).
    pub files: &'a [PathBuf],
    /// Warnings about the inputs (a file given twice, read once).
    pub input_warnings: &'a [RunWarning],
}

impl<'a> Ctx<'a> {
    fn file(&self, r: &LogRecord) -> FileName<'a> {
        FileName(self.files.get(r.file as usize).map(PathBuf::as_path))
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
                out.simulated.reason.more = Some(why.to_string());
            }
        }
        out
    }

    /// A judged record as `--flows` writes it.
    #[must_use]
    pub fn record(&self, r: &LogRecord, j: &Judged) -> RecordOut<'a> {
        let v = &self.s.vnics[j.vnic];
        let jd = j.fast.judgement;
        let allowed = jd.verdict == Verdict::Allow;
        let rules = RuleNames {
            names: self.names,
            ids: j.fast.rules,
        };
        let side = match j.direction {
            Direction::Egress => "egress",
            Direction::Ingress => "ingress",
        };
        let why = match jd.stage {
            None if j.reply => Why::Reply,
            None => Why::Allowed(side),
            Some(st) => match st {
                // An ingress record dropped at route: its source is no
                // VNIC, and `a`'s table has no way back to it.
                zprsim_control::verdict::Stage::Route if j.direction == Direction::Ingress => {
                    Why::NoRouteBack
                }
                zprsim_control::verdict::Stage::Route => Why::NoRoute,
                zprsim_control::verdict::Stage::Zpr => Why::Zpr(side),
                other => Why::Security(other.as_str()),
            },
        };
        let reason = Reason {
            vnic: &v.name,
            why,
            more: None,
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
            community_id: FlowKey::of(&packet).community_id_compact(0),
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

/// The records judged otherwise than OCI did: how many, and the first.
pub struct Disagreements<'a> {
    /// How many.
    pub total: u64,
    /// The first ([`MAX_LISTED`] at most), in judging order.
    pub first: &'a [(LogRecord, Judged)],
}

/// The report of a flow-log replay: what the reading (`read`) and the
/// judging (`st`) found, the disagreements with OCI's action.
#[must_use]
pub fn report<'a>(
    cx: &Ctx<'a>,
    read: &'a ReadOutcome,
    st: &'a StreamOutcome,
    dis: &Disagreements<'_>,
    compile_s: f64,
    duration_s: f64,
) -> Report<'a> {
    let j = &st.judgement;
    let k = &j.counters;
    let (hits, unused) = super::rule_hits(cx.s, cx.c, k);
    let mut warnings = cx.input_warnings.to_vec();
    warnings.extend(read.problems.iter().cloned());
    warnings.extend(read.duplicate_warning());
    warnings.extend(read.version_warning());
    warnings.extend(nothing_placed(st.judged, j.unplaced.records));
    warnings.extend(super::nothing_judged::flow_log(
        cx.files,
        &super::nothing_judged::FlowLogCounts {
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
        scenario: cx.scenario.display().to_string(),
        pcaps: cx.files.iter().map(|p| p.display().to_string()).collect(),
        input_kind: "flow-log",
        packets: k.packets,
        bytes: k.bytes,
        dropped_by_stage: StageCounts::of(k),
        stand_in_drops: crate::stand_in_owed::StandInDrops::of(k),
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
        zpr_audit_flows: super::AuditFlows {
            untracked_records: j.audit.untracked,
            ..super::audit_flows(cx.s, &j.audit.sorted(), super::replay::AUDIT_LISTED)
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
        packets_per_second: super::rate(k.packets.total, duration_s),
        workers: 1,
    }
}

/// The summary `replay` prints for flow logs.
#[must_use]
pub fn summary(r: &Report<'_>) -> String {
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
                (Some(s), Some(p)) => format!(
                    "{} -> {}",
                    SocketAddr::new(d.src, s),
                    SocketAddr::new(d.dst, p)
                ),
                _ => format!("{} -> {}", d.src, d.dst),
            };
            let verdict = match d.simulated.stage {
                Some(st) => format!("drop at {st}"),
                None => "allow".into(),
            };
            let _ = writeln!(
                t,
                "  {}:{}: {} {ports} {} at `{}`: OCI {}, zprsim {verdict}: {}",
                escape(&d.file.to_string()),
                d.line,
                super::proto_name(d.proto),
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
            let _ = writeln!(t, "  {}:{}: {why}", escape(&u.file.to_string()), u.line);
        }
    }
    t.push_str(&super::audit_section(&r.zpr_audit_flows, 10));
    t
}

/// The `nothing-placed` warning of a flow-log pass that judged nothing
/// because none of its `unplaced` records was logged at a VNIC of the
/// scenario (a flow log of another tenancy, VNIC ids not the tenancy's):
/// `replay` and, since the twenty-second session, `diff`, whose
/// `--fail-on` gate would otherwise pass on nothing without a word.
#[must_use]
pub fn nothing_placed(judged: u64, unplaced: u64) -> Option<RunWarning> {
    (judged == 0 && unplaced > 0).then(|| {
        RunWarning::new(
            RunWarningCode::NothingPlaced,
            format!(
                "none of the {unplaced} flow-log record(s) was placed at a VNIC of the scenario: nothing was judged"
            ),
        )
    })
}
