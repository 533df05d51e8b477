//! The `--report` of `diff` on flow logs (CLI contract).

use std::collections::BTreeSet;

use serde::Serialize;
use zprsim_control::load::Warning;
use zprsim_control::stopped::StoppedBy;

use crate::diff::{Class, FlowCounts, PacketCounts};
use crate::drop_reason::StageCounts;
use crate::flowlog::judge::{Agreement, FlowLogJudgement};
use crate::judge::Totals;
use crate::warning::RunWarning;

use super::flows::{GonePaths, NewPaths};

/// One scenario's side: counts as in the capture diff's report (less its
/// `connections_evicted`), then the flow log's own.
#[derive(Debug, Serialize)]
pub struct SideOut {
    /// The scenario's file, as given.
    pub scenario: String,
    /// Packets allowed and dropped.
    pub packets: Totals,
    /// Their bytes.
    pub bytes: Totals,
    /// Drops by stage.
    pub dropped_by_stage: StageCounts,
    /// The drops owed to what an imported export lacked (since the
    /// twentieth session): `flows` counts the records.
    pub stand_in_drops: crate::stand_in_owed::StandInDrops,
    /// Packets an audit attribute would have denied.
    pub zpr_audit_would_drop: u64,
    /// Records judged.
    pub judged: u64,
    /// Records not placed at a VNIC of the scenario.
    pub unplaced: u64,
    /// The scenario's verdicts against OCI's actions.
    pub agreement: Agreement,
}

impl SideOut {
    /// The side of scenario `scenario` (its file, as given) from its
    /// judgement; `judged` is the count of its judged records (their list
    /// is freed once their verdicts are taken).
    #[must_use]
    pub fn of(scenario: String, j: &FlowLogJudgement, judged: u64) -> SideOut {
        let k = &j.counters;
        SideOut {
            scenario,
            packets: k.packets,
            bytes: k.bytes,
            dropped_by_stage: StageCounts::of(k),
            stand_in_drops: crate::stand_in_owed::StandInDrops::of(k),
            zpr_audit_would_drop: k.zpr_audit_would_drop,
            judged,
            unplaced: j.unplaced.records,
            agreement: j.agreement,
        }
    }
}

/// Flows OCI logged `REJECT` (a record of them, at either end): the
/// packets of those records were dropped today, so they never "would
/// break" whatever the scenarios say (since the twenty-sixth session).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RejectedByOci {
    /// Flows.
    pub flows: u64,
    /// The packets OCI rejected (each direction counted at one VNIC).
    pub packets: u64,
}

/// What was read of the flow logs.
#[derive(Debug, Serialize)]
pub struct FlowLogCounts {
    /// Entries read: the data records (duplicates among them) and the rest.
    pub records: u64,
    /// `NODATA` entries.
    pub skipped_nodata: u64,
    /// `SKIPDATA` entries.
    pub skipped_skipdata: u64,
    /// Entries that could not be read.
    pub skipped_malformed: u64,
    /// Entries whose `id` an earlier one had (counted once).
    pub skipped_duplicate: u64,
}

impl Report {
    /// Whether a flow of a class in `classes` was found: what `--fail-on`
    /// fails on, new and gone paths among them (since the thirtieth
    /// session).
    #[must_use]
    pub fn fails_on(&self, classes: &BTreeSet<Class>) -> bool {
        self.flows.any_of(classes)
            || (classes.contains(&Class::NewPath) && self.new_path.flows > 0)
            || (classes.contains(&Class::GonePath) && self.gone_path.flows > 0)
    }
}

/// The `--report` of `diff` on flow logs.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The inputs, as given.
    pub captures: Vec<String>,
    /// Always `flow-log`.
    pub input_kind: &'static str,
    /// Flows by class.
    pub flows: FlowCounts,
    /// Packets by class (each direction of a flow counted at one VNIC).
    pub packets: PacketCounts,
    /// Flows OCI rejected: their rejected records never "would break".
    pub rejected_by_oci: RejectedByOci,
    /// Flows whose records only AFTER places (VNICs the change adds),
    /// judged by AFTER alone; absent when none (since the twenty-ninth
    /// session: such records were not compared).
    #[serde(skip_serializing_if = "NewPaths::is_empty")]
    pub new_path: NewPaths,
    /// Flows whose records only BEFORE places (VNICs the change
    /// removes), judged by BEFORE alone; absent when none (since the
    /// thirtieth session: such records were not compared).
    #[serde(skip_serializing_if = "GonePaths::is_empty")]
    pub gone_path: GonePaths,
    /// BEFORE's side.
    pub before: SideOut,
    /// AFTER's side.
    pub after: SideOut,
    /// What was read.
    pub flow_log: FlowLogCounts,
    /// Both scenarios' warnings as text, then the run's own.
    pub warnings: Vec<String>,
    /// The same as objects, in the same order: code, message (the text
    /// of `warnings`), file, line.
    pub run_warnings: Vec<RunWarning>,
    /// Both scenarios' own warnings as objects, BEFORE's first (they are
    /// in `warnings` too, as text, as they were before this field).
    pub scenario_warnings: Vec<Warning>,
    /// A SIGINT or SIGTERM stopped the reading: the outputs hold the
    /// records read before it.
    pub interrupted: bool,
    /// What stopped it: `"sigint"`, `"sigterm"` (set by the caller, which
    /// knows the signal), `"temporary-files-full"` (the spool past
    /// `--flow-log-buffer`, or the records sorted by flow, could not be
    /// written); `null` when not interrupted.
    pub stopped_by: Option<StoppedBy>,
    /// Seconds of the run.
    pub duration_s: f64,
    /// Always 1.
    pub workers: usize,
}
