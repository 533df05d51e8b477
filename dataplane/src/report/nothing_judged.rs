//! The `nothing-judged` warning of `replay` and `diff` (docs/cli.md,
//! "Warnings are data"): captures holding no packet to judge, flow logs
//! holding no data record. The summary's zeros alone read as a clean run;
//! a user who typed the wrong file is told (since the twenty-sixth
//! session). The run still exits as its judgements say (0 for `replay`,
//! `diff` never 1): an empty capture is a valid one, not bad input.

use std::path::PathBuf;

use crate::judge::Counters;
use crate::output::shown;
use crate::warning::{RunWarning, RunWarningCode};

/// "the capture `a`" / "the captures `a`, `b`", with the verb's ending.
fn named(what: &str, files: &[PathBuf]) -> (String, &'static str) {
    let list: Vec<String> = files.iter().map(|f| format!("`{}`", shown(f))).collect();
    if list.len() == 1 {
        (format!("the {what} {}", list.join(", ")), "s")
    } else {
        (format!("the {what}s {}", list.join(", ")), "")
    }
}

/// The warning: `what` of `files` hold no `none` ("packet", "record");
/// where `counts` (each a number and what it counts) say some entries
/// were read, none of them a `judgeable` one, with those counted.
fn warning(
    what: &str,
    files: &[PathBuf],
    none: &str,
    judgeable: &str,
    counts: &[(u64, &str)],
) -> RunWarning {
    let (them, s) = named(what, files);
    let read: Vec<String> = counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}"))
        .collect();
    let message = if read.is_empty() {
        format!("{them} hold{s} no {none}: nothing was judged")
    } else {
        format!(
            "{them} hold{s} no {judgeable} to judge ({}): nothing was judged",
            read.join(", ")
        )
    };
    RunWarning::new(RunWarningCode::NothingJudged, message)
}

/// The warning of a capture pass over `files` that judged no packet
/// (`k`): none when it judged one, or when it was stopped (`stopped`: the
/// report says so).
pub fn capture(files: &[PathBuf], k: &Counters, stopped: bool) -> Option<RunWarning> {
    (k.packets.total == 0 && !stopped).then(|| {
        warning(
            "capture",
            files,
            "packet",
            "packet",
            &[
                (k.non_ip.saturating_sub(k.link_local + k.loopback), "not IP"),
                (
                    k.link_local,
                    "link-scope (neighbour discovery, MLD, IGMP, link-local multicast, broadcast)",
                ),
                (k.loopback, "loopback"),
                (k.copies, "copies left out by `--dedup`"),
                (k.node_local, "node-local (`--node-local`)"),
            ],
        )
    })
}

/// What a flow-log pass over `files` judged and skipped.
pub struct FlowLogCounts {
    /// Records judged.
    pub judged: u64,
    /// Records at no VNIC of the scenario (`nothing-placed` says those).
    pub unplaced: u64,
    /// NODATA and SKIPDATA entries.
    pub quality: u64,
    /// Entries that could not be read.
    pub malformed: u64,
}

/// The warning of a flow-log pass over `files` that judged no record and
/// read none to place: none when it judged one, when `nothing-placed`
/// says why (records at no VNIC of the scenario), or when it was stopped.
pub fn flow_log(files: &[PathBuf], n: &FlowLogCounts, stopped: bool) -> Option<RunWarning> {
    (n.judged == 0 && n.unplaced == 0 && !stopped).then(|| {
        warning(
            "flow log",
            files,
            "record",
            "data record",
            &[
                (n.quality, "NODATA or SKIPDATA"),
                (n.malformed, "malformed"),
            ],
        )
    })
}
