//! `diff`'s JSON outputs (CLI contract): the report (`--report`) and the
//! changed flows' lines (`--flows`).

use serde::Serialize;
use zprsim_control::load::Warning;
use zprsim_control::stopped::StoppedBy;
use zprsim_control::verdict::{Stage, Verdict};

use super::Class;
use super::groups::Group;
use crate::drop_reason::StageCounts;
use crate::engine::FlowRecord;
use crate::judge::{Counters, Totals};

/// Flows by class, `flows` of the `diff` and `flowlog diff` reports.
#[derive(Debug, Serialize, Default)]
pub struct FlowCounts {
    /// Allowed before, dropped after.
    pub would_break: u64,
    /// Dropped before, allowed after.
    pub newly_allowed: u64,
    /// Same outcome, another deciding reason.
    pub reason_changed: u64,
    /// Same outcome and reason.
    pub unchanged: u64,
}

impl FlowCounts {
    /// Whether a flow of a class in `classes` was found: what `--fail-on`
    /// fails on (unchanged flows never count; new and gone paths are not
    /// in these counts: the flow-log report's
    /// `zprsim_dataplane::flowlog::diff::Report::fails_on` counts them).
    pub fn any_of<'a>(&self, classes: impl IntoIterator<Item = &'a Class>) -> bool {
        classes.into_iter().any(|c| match c {
            Class::WouldBreak => self.would_break > 0,
            Class::NewlyAllowed => self.newly_allowed > 0,
            Class::ReasonChanged => self.reason_changed > 0,
            Class::Unchanged | Class::NewPath | Class::GonePath => false,
        })
    }
}

/// Packets by class, `packets` of the `diff` and `flowlog diff` reports.
#[derive(Debug, Serialize)]
pub struct PacketCounts {
    /// Every packet judged.
    pub total: u64,
    /// Packets of flows that would break.
    pub would_break: u64,
    /// Packets of flows newly allowed.
    pub newly_allowed: u64,
}

/// One scenario's counts, `before` and `after` of the report.
#[derive(Debug, Serialize)]
pub struct Side {
    /// The scenario's file, as given.
    pub scenario: String,
    /// Packets allowed and dropped.
    pub packets: Totals,
    /// Their bytes.
    pub bytes: Totals,
    /// Drops by stage.
    pub dropped_by_stage: StageCounts,
    /// The drops owed to what an imported export lacked (since the
    /// twentieth session; [`crate::stand_in_owed`]).
    pub stand_in_drops: crate::stand_in_owed::StandInDrops,
    /// Packets an audit attribute would have denied.
    pub zpr_audit_would_drop: u64,
    /// Live connections this scenario's tracking evicted to stay within
    /// `--max-connections` (the oldest first); see [`eviction_warning`].
    pub connections_evicted: u64,
}

impl Side {
    /// The side of the scenario in `scenario` from its counters.
    #[must_use]
    pub fn of(scenario: String, k: &Counters) -> Side {
        Side {
            scenario,
            packets: k.packets,
            bytes: k.bytes,
            dropped_by_stage: StageCounts::of(k),
            stand_in_drops: crate::stand_in_owed::StandInDrops::of(k),
            zpr_audit_would_drop: k.zpr_audit_would_drop,
            connections_evicted: k.connections_evicted,
        }
    }
}

/// The warning for a compared pass whose connection tracking evicted live
/// connections (`max` is `--max-connections`). Each scenario tracks only
/// what it allowed, so the two evict different connections: a reply
/// whose connection one of them evicted is judged there as a first
/// packet, and its flow can change class because of the bound, not the
/// change (a reply only tracking admits is then "newly allowed" or "would
/// break" with no rule behind it).
#[must_use]
pub fn eviction_warning(
    before: &Side,
    after: &Side,
    max: usize,
) -> Option<crate::warning::RunWarning> {
    let (b, a) = (before.connections_evicted, after.connections_evicted);
    (b > 0 || a > 0).then(|| {
        crate::warning::RunWarning::new(
            crate::warning::RunWarningCode::ConnectionsEvicted,
            format!(
                "connection tracking evicted {b} connection(s) of BEFORE and {a} of AFTER to stay within `--max-connections {max}`: a reply of an evicted connection is judged as a first packet, so a flow may change class because of the bound rather than the change; raise `--max-connections`"
            ),
        )
    })
}

/// The `--report` of `diff` on captures.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The inputs, as given.
    pub captures: Vec<String>,
    /// Flows by class.
    pub flows: FlowCounts,
    /// Packets by class.
    pub packets: PacketCounts,
    /// BEFORE's counts.
    pub before: Side,
    /// AFTER's counts.
    pub after: Side,
    /// Would-break flows grouped by what blocks them after.
    pub would_break: Vec<Group>,
    /// Newly allowed flows grouped by what allows them after.
    pub newly_allowed: Vec<Group>,
    /// The inputs' and the pass's warnings.
    pub warnings: Vec<String>,
    /// The same as objects, in the same order: code, message (the text
    /// of `warnings`), file, byte offset or line.
    pub run_warnings: Vec<crate::warning::RunWarning>,
    /// Both scenarios' own warnings, BEFORE's first (as `check --json`
    /// gives them; each names its file), also printed on standard error.
    pub scenario_warnings: Vec<Warning>,
    /// A read error that ended the input early.
    pub error: Option<String>,
    /// The pass was interrupted: the outputs hold what was judged before.
    pub interrupted: bool,
    /// What stopped it: `"sigint"`, `"sigterm"`, `"temporary-files-full"`
    /// (both scenarios' flow records past the per-worker bound could not
    /// be spooled); `null` when not interrupted.
    pub stopped_by: Option<StoppedBy>,
    /// Records left out as copies of a packet seen on another interface
    /// (`--dedup`; 0 without it).
    pub copies: u64,
    /// Records judged by the frame inside their VXLAN header (`--decap
    /// vxlan`; 0 without it).
    pub decapsulated: u64,
    /// Records left out as traffic that stays on the node
    /// (`--node-local`; 0 without it).
    pub node_local: u64,
    /// Seconds of the packet phase.
    pub duration_s: f64,
    /// Workers used.
    pub workers: usize,
}

/// One scenario's view of a flow in a `--flows` line (of captures and of
/// flow logs).
#[derive(Debug, Serialize)]
pub struct SideFlow {
    /// Allow when every packet was allowed.
    pub verdict: Verdict,
    /// The stage of the first drop.
    pub stage: Option<Stage>,
    /// Packets allowed.
    pub allowed_packets: u64,
    /// Packets dropped.
    pub dropped_packets: u64,
}

impl SideFlow {
    /// A `drop at STAGE` or `allow`, as summaries print it.
    #[must_use]
    pub fn outcome(&self) -> String {
        match self.stage {
            Some(st) => format!("drop at {}", st.as_str()),
            None => "allow".into(),
        }
    }

    pub(crate) fn of(f: &FlowRecord) -> SideFlow {
        SideFlow {
            verdict: f.verdict,
            stage: f.stage,
            allowed_packets: f.allowed_packets,
            dropped_packets: f.dropped_packets,
        }
    }
}

/// A `--flows` line: the flow record (BEFORE's) with its class and both
/// sides.
#[derive(Debug, Serialize)]
pub(crate) struct ChangedFlow<'a> {
    #[serde(flatten)]
    pub(crate) flow: &'a FlowRecord,
    pub(crate) class: Class,
    pub(crate) before: SideFlow,
    pub(crate) after: SideFlow,
}
