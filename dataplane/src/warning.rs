//! The run's own warnings as data (docs/cli.md, "Warnings are data"):
//! what a pass found in its inputs that it read past (a capture cut inside
//! a record, a gzip stream that ends early, a malformed flow-log entry, a
//! file found twice, ...). Each has a code (stable, for scripts), the
//! message for people and, where it has them, the file and the byte
//! offset or line.
//!
//! Reports carry them twice: as the strings of `warnings` (the contract's
//! field, unchanged) and as objects in `run_warnings`, in the same order,
//! `warnings[i]` being `run_warnings[i].message`.
//!
//! ```
//! use zprsim_dataplane::warning::{RunWarning, RunWarningCode};
//! let w = RunWarning::new(RunWarningCode::TruncatedRecord, "a.pcap: byte 40: file ends inside a record")
//!     .file("a.pcap")
//!     .offset(40);
//! let json = serde_json::to_value(&w).unwrap();
//! assert_eq!(json["code"], "truncated-record");
//! assert_eq!(json["offset"], 40);
//! assert!(json.get("line").is_none());
//! ```

use std::fmt;

use serde::Serialize;
use zprsim_control::load::Warning;
use zprsim_control::warning::WarningCode;

/// What kind of run warning it is: written in kebab-case; codes are added,
/// never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunWarningCode {
    /// A capture ends inside a record or block: the records before it
    /// were read.
    TruncatedRecord,
    /// A compressed stream (a gzip or zstd capture's or flow log's)
    /// ends early: what came before was read.
    CompressedEndsEarly,
    /// A regular file ended before the size it had when opened.
    FileChanged,
    /// Records of a link type zprsim does not decode, counted as non-IP.
    UnknownLinkType,
    /// Records cut by the capture's snapshot length before their headers
    /// ended, counted as malformed.
    SnapshotLength,
    /// An input starts before the one read before it ended.
    InputsOutOfOrder,
    /// Copies of one packet on Linux's `any` device, each judged
    /// (without `--dedup`).
    AnyDeviceCopies,
    /// `--decap vxlan`: records that were not VXLAN, judged as captured.
    NotVxlan,
    /// A directory given holds an earlier run's output: skipped.
    EarlierOutputSkipped,
    /// `--allowed` or `--dropped` is written inside a directory given as
    /// input: a later run over that directory reads it as a capture.
    OutputInInputDirectory,
    /// A directory given holds a file that is neither a capture nor flow
    /// logs (or more of them than are named): skipped.
    UnknownFileSkipped,
    /// A directory given holds empty or blank files: skipped.
    BlankFileSkipped,
    /// A file given (or found) twice: read once.
    SameFile,
    /// A flow-log entry that could not be read (or more of them than are
    /// listed): skipped.
    MalformedEntry,
    /// Flow-log entries with the `id` of an earlier one: counted once.
    DuplicateEntry,
    /// More NODATA and SKIPDATA entries than their ids are kept for
    /// ([`crate::flowlog::read::MAX_QUALITY_IDS`]): later ones are counted
    /// without looking for a copy read before (since the twentieth
    /// session).
    QualityEntriesUnchecked,
    /// Flow-log entries whose `data.version` is not `2`, the one schema
    /// version OCI documents: read with version 2's fields (since QA
    /// round 24: before, without a word).
    OtherSchemaVersion,
    /// No flow-log record was placed at a VNIC of the scenario.
    NothingPlaced,
    /// `diff`: flow-log records one scenario places and the other does
    /// not: not compared.
    PlacedByOneSide,
    /// `diff --fail-on` names no class: the run never exits 1.
    FailOnEmpty,
    /// `diff` on captures: connection tracking evicted connections to stay
    /// within `--max-connections`, so a flow may change class because of
    /// the bound.
    ConnectionsEvicted,
    /// `bench`: the bare loop looked up fewer packets than the engine (it
    /// parses whole Ethernet frames only).
    BaselinePartial,
    /// An output could not be written (a full disk): abandoned (its
    /// temporary file removed, its target untouched) while the run's other
    /// outputs and its report were written; the run exits 2.
    OutputFailed,
    /// The reader of an output on standard output or a FIFO left
    /// (`| head -1`) while other outputs remained: the rest of that output
    /// was not written, the run went on for the others.
    OutputReaderGone,
    /// The temporary files under flow-log records (`--flow-log-buffer`)
    /// could not be written (a full disk): the reading stopped there, as a
    /// Ctrl-C stops it, the records read before were judged, every output
    /// holds exactly those (the report says `interrupted`), and the run
    /// exits 2. The message names the directory and what to do.
    TemporaryFilesFull,
    /// A SIGINT or SIGTERM came after the last record was read, during the
    /// run's tail: what was left of it stopped at a record boundary (the
    /// rest of `--flows`; flow logs: the spilled records not yet judged),
    /// the report says `interrupted`, and the run exits 130 or 143. The
    /// message says what the outputs hold.
    InterruptedAfterReading,
    /// `replay` and `diff`: a SIGINT or SIGTERM came while a scenario was
    /// loaded or compiled: nothing was judged, every output is empty, the
    /// report names no rule; the run exits 130 or 143 (since the
    /// thirty-fourth session; before, the signal waited for the compile).
    InterruptedWhileLoading,
    /// `diff`: BEFORE and AFTER are the same file: nothing can change (a
    /// CI job whose variable named the scenario twice would pass its gate
    /// whatever breaks).
    SameScenarios,
    /// `replay` and `diff`: the captures hold no packet to judge, or the
    /// flow logs no data record (a wrong or empty file): the summary's
    /// zeros judged nothing (since the twenty-sixth session).
    NothingJudged,
    /// TCP packets captured through their ports but not their flags (the
    /// snapshot length ends inside the TCP header): judged without flags
    /// (since the twenty-sixth session).
    TcpHeaderCut,
    /// A scenario's own warning, where a report's `warnings` holds it as
    /// text (`diff` on flow logs, `tap`): its code.
    Scenario(WarningCode),
}

impl RunWarningCode {
    /// Every run code (scenario codes aside: scenario-format.md lists them).
    pub const ALL: [RunWarningCode; 30] = [
        RunWarningCode::TruncatedRecord,
        RunWarningCode::CompressedEndsEarly,
        RunWarningCode::FileChanged,
        RunWarningCode::UnknownLinkType,
        RunWarningCode::SnapshotLength,
        RunWarningCode::InputsOutOfOrder,
        RunWarningCode::AnyDeviceCopies,
        RunWarningCode::NotVxlan,
        RunWarningCode::EarlierOutputSkipped,
        RunWarningCode::OutputInInputDirectory,
        RunWarningCode::UnknownFileSkipped,
        RunWarningCode::BlankFileSkipped,
        RunWarningCode::SameFile,
        RunWarningCode::MalformedEntry,
        RunWarningCode::DuplicateEntry,
        RunWarningCode::QualityEntriesUnchecked,
        RunWarningCode::OtherSchemaVersion,
        RunWarningCode::NothingPlaced,
        RunWarningCode::PlacedByOneSide,
        RunWarningCode::FailOnEmpty,
        RunWarningCode::ConnectionsEvicted,
        RunWarningCode::BaselinePartial,
        RunWarningCode::OutputFailed,
        RunWarningCode::OutputReaderGone,
        RunWarningCode::TemporaryFilesFull,
        RunWarningCode::InterruptedAfterReading,
        RunWarningCode::InterruptedWhileLoading,
        RunWarningCode::SameScenarios,
        RunWarningCode::NothingJudged,
        RunWarningCode::TcpHeaderCut,
    ];

    /// The code as written in JSON (`truncated-record`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RunWarningCode::TruncatedRecord => "truncated-record",
            RunWarningCode::CompressedEndsEarly => "compressed-ends-early",
            RunWarningCode::FileChanged => "file-changed",
            RunWarningCode::UnknownLinkType => "unknown-link-type",
            RunWarningCode::SnapshotLength => "snapshot-length",
            RunWarningCode::InputsOutOfOrder => "inputs-out-of-order",
            RunWarningCode::AnyDeviceCopies => "any-device-copies",
            RunWarningCode::NotVxlan => "not-vxlan",
            RunWarningCode::EarlierOutputSkipped => "earlier-output-skipped",
            RunWarningCode::OutputInInputDirectory => "output-in-input-directory",
            RunWarningCode::UnknownFileSkipped => "unknown-file-skipped",
            RunWarningCode::BlankFileSkipped => "blank-file-skipped",
            RunWarningCode::SameFile => "same-file",
            RunWarningCode::MalformedEntry => "malformed-entry",
            RunWarningCode::DuplicateEntry => "duplicate-entry",
            RunWarningCode::QualityEntriesUnchecked => "quality-entries-unchecked",
            RunWarningCode::OtherSchemaVersion => "other-schema-version",
            RunWarningCode::NothingPlaced => "nothing-placed",
            RunWarningCode::PlacedByOneSide => "placed-by-one-side",
            RunWarningCode::FailOnEmpty => "fail-on-empty",
            RunWarningCode::ConnectionsEvicted => "connections-evicted",
            RunWarningCode::BaselinePartial => "baseline-partial",
            RunWarningCode::OutputFailed => "output-failed",
            RunWarningCode::OutputReaderGone => "output-reader-gone",
            RunWarningCode::TemporaryFilesFull => "temporary-files-full",
            RunWarningCode::InterruptedAfterReading => "interrupted-after-reading",
            RunWarningCode::InterruptedWhileLoading => "interrupted-while-loading",
            RunWarningCode::SameScenarios => "same-scenarios",
            RunWarningCode::NothingJudged => "nothing-judged",
            RunWarningCode::TcpHeaderCut => "tcp-header-cut",
            RunWarningCode::Scenario(c) => c.as_str(),
        }
    }
}

impl fmt::Display for RunWarningCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RunWarningCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One warning of a run: `{code, message, file?, offset?, line?}` in JSON
/// (fields without a value left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunWarning {
    /// What kind of warning.
    pub code: RunWarningCode,
    /// The text, exactly as in the report's `warnings`.
    pub message: String,
    /// The file it concerns, as named in the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Byte offset in that file (a capture's, decompressed for gzip).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// 1-based line in that file (a flow log's, a scenario's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based column on that line (a flow-log entry that is not JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
}

impl RunWarning {
    /// A warning of kind `code` saying `message`, of no file.
    #[must_use]
    pub fn new(code: RunWarningCode, message: impl Into<String>) -> RunWarning {
        RunWarning {
            code,
            message: message.into(),
            file: None,
            offset: None,
            line: None,
            column: None,
        }
    }

    /// The same, of file `file`.
    #[must_use]
    pub fn file(mut self, file: impl Into<String>) -> RunWarning {
        self.file = Some(file.into());
        self
    }

    /// The same, at byte `offset`.
    #[must_use]
    pub fn offset(mut self, offset: u64) -> RunWarning {
        self.offset = Some(offset);
        self
    }

    /// The same, at line `line`.
    #[must_use]
    pub fn line(mut self, line: u64) -> RunWarning {
        self.line = Some(line);
        self
    }

    /// The same, at column `column` of its line.
    #[must_use]
    pub fn column(mut self, column: u64) -> RunWarning {
        self.column = Some(column);
        self
    }

    /// A scenario's warning as a report's `warnings` holds it (its text,
    /// `FILE:LINE:COL: warning: MESSAGE`), with its code, file and line.
    #[must_use]
    pub fn of_scenario(w: &Warning) -> RunWarning {
        RunWarning {
            code: RunWarningCode::Scenario(w.code),
            message: w.to_string(),
            file: Some(w.file.clone()),
            offset: None,
            line: w.line.map(u64::from),
            column: w.column.map(u64::from),
        }
    }
}

impl fmt::Display for RunWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The messages of `warnings`, in order: a report's `warnings`.
#[must_use]
pub fn messages(warnings: &[RunWarning]) -> Vec<String> {
    warnings.iter().map(|w| w.message.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every run code is kebab-case, once, and none is a scenario code
    /// (a report's objects mix both).
    #[test]
    fn run_codes_are_distinct_kebab_case_and_not_scenario_codes() {
        let scenario = WarningCode::ALL;
        let mut seen = std::collections::HashSet::new();
        for c in RunWarningCode::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{s}"
            );
            assert!(scenario.iter().all(|w| w.as_str() != s), "{s}");
            assert_eq!(serde_json::to_value(c).ok(), Some(s.into()));
        }
        let w = RunWarningCode::Scenario(WarningCode::OciLimit);
        assert_eq!(w.as_str(), "oci-limit");
    }
}
