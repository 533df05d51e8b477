//! `verify`'s summary for people: each path's status, its failing pairs
//! with their deciding layer and hints, and every path's hints together.

use std::fmt::Write as _;
use std::path::Path;

use super::{PairFailure, PathResult, Report, Scope, Together};

/// Failing pairs printed per path in the summary (JSON has up to 100).
const PAIRS_SHOWN: usize = 3;

/// The human summary.
#[must_use]
pub fn summary(r: &Report, scenario: &Path, file: &str) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "verify {file} against {}", scenario.display());
    for p in &r.paths {
        let status = if p.skipped {
            "skip"
        } else if p.ok {
            "ok"
        } else {
            "FAIL"
        };
        let scope = match p.scope {
            Scope::All => "",
            Scope::Network => ", network layers",
        };
        let _ = write!(
            t,
            "  {status:<4}  {}: {} -> {}, expect {}{scope}",
            p.name,
            p.from,
            p.to,
            p.expect.as_str()
        );
        if !p.skipped {
            let _ = write!(t, " ({} pair(s)", p.pairs);
            if p.failed_pairs > 0 {
                let _ = write!(t, ", {} failing", p.failed_pairs);
            }
            t.push(')');
        }
        t.push('\n');
        if p.audit_would_deny > 0 {
            let _ = writeln!(
                t,
                "        note: {} allowed probe(s) would be denied once `audit` attributes are enforced",
                p.audit_would_deny
            );
            if let Some(w) = &p.audit_witness {
                let _ = writeln!(t, "        {}: {}", w.packet, w.rule);
                for o in &w.to_open {
                    let _ = writeln!(t, "          to keep it open: {o}");
                }
                if p.to_keep_open != w.to_open || p.to_keep_open_left > 0 {
                    let left = match p.to_keep_open_left {
                        0 => String::new(),
                        n => format!(" ({n} pair(s) no statement keeps open)"),
                    };
                    let _ = writeln!(
                        t,
                        "        to keep the {} pair(s) checked open once enforced, together{left}:",
                        p.to_keep_open_checked
                    );
                    for o in &p.to_keep_open {
                        let _ = writeln!(t, "          to keep it open: {o}");
                    }
                }
            }
        }
        if let Some(e) = &p.error {
            let _ = writeln!(t, "        {e}");
        }
        // Before the hints: they may add rules for an object the export
        // lacks.
        for n in &p.notes {
            let _ = writeln!(t, "        note: {n}");
        }
        for n in &p.stand_ins {
            let _ = writeln!(t, "        stand-in: {n}");
        }
        for f in p.failed.iter().take(PAIRS_SHOWN) {
            let verdict = verdict_text(f.stage);
            let _ = write!(t, "        {}: {verdict}", f.packet);
            if let Some(runs) = staged_runs(f) {
                let _ = write!(t, " (failing ports {runs})");
            } else if f.failing_ports.len() > 1
                || f.failing_ports.first().is_some_and(|x| x.contains('-'))
            {
                let _ = write!(t, " (failing ports {})", f.failing_ports.join(", "));
            }
            t.push('\n');
            let _ = writeln!(t, "          {}", f.rule);
            if f.blocked_by.len() > 1 {
                let _ = writeln!(
                    t,
                    "          blocked by {} layers; also:",
                    f.blocked_by.len()
                );
                for b in f.blocked_by.iter().filter(|b| **b != f.rule) {
                    let _ = writeln!(t, "            {b}");
                }
            }
            for o in &f.to_open {
                let _ = writeln!(t, "          to open: {o}");
            }
        }
        let more = p.failed_pairs.saturating_sub(PAIRS_SHOWN as u64);
        if more > 0 {
            let _ = writeln!(
                t,
                "        ... and {more} more failing pair(s) (`--json` lists them)"
            );
        }
        if let Some(head) = whole_head(p) {
            let _ = writeln!(t, "        {head}");
            for o in &p.to_open {
                let _ = writeln!(t, "          to open: {o}");
            }
        }
        if !p.ok
            && let Some(why) = &p.why
        {
            let _ = writeln!(t, "        why it matters: {why}");
        }
    }
    if let Some(h) = &r.hints_together {
        t.push_str(&together_text(h));
    }
    let total = r.paths.len();
    let _ = writeln!(
        t,
        "{total} path(s): {} ok, {} failed, {} skipped",
        total - r.failed - r.skipped,
        r.failed,
        r.skipped
    );
    t
}

/// What every path's hints, added at once, do (`hints_together`).
#[must_use]
pub fn together_text(h: &Together) -> String {
    let head = format!(
        "with every path's hints added ({} rule(s) and statement(s), new gateways, route tables and gateways enabled included)",
        h.hints
    );
    if let Some(e) = &h.error {
        return format!("{head}: not judged: {e}\n");
    }
    let mut t = String::new();
    if h.still_failing.is_empty() && h.partly_closed.is_empty() {
        let _ = write!(t, "{head}: every path that should be open passes");
    } else if h.still_failing.is_empty() {
        // Since the twenty-first session: a path whose pairs pass while
        // its hints leave part of what it stands for closed is not said to
        // pass (the late review's M2).
        let _ = write!(
            t,
            "{head}: every path that should be open passes where it is judged, but part of what {} of them stand(s) for stays closed: {}",
            h.partly_closed.len(),
            h.partly_closed.join(", ")
        );
    } else {
        let _ = write!(
            t,
            "{head}: {} path(s) that should be open still fail: {}",
            h.still_failing.len(),
            h.still_failing.join(", ")
        );
        if !h.partly_closed.is_empty() {
            let _ = write!(
                t,
                "; part of what {} more stand(s) for stays closed: {}",
                h.partly_closed.len(),
                h.partly_closed.join(", ")
            );
        }
    }
    if !h.closed.is_empty() {
        let _ = write!(
            t,
            "; WARNING: {} path(s) that should be open and pass today would fail: {} (a route hint takes over their traffic, or changes the rule that carries it)",
            h.closed.len(),
            h.closed.join(", ")
        );
    }
    if h.opened.is_empty() {
        t.push_str("; no path that should be closed opens\n");
    } else {
        let _ = writeln!(
            t,
            "; WARNING: they would open {} path(s) that should be closed: {} (narrow those hints before applying them)",
            h.opened.len(),
            h.opened.join(", ")
        );
    }
    t
}

/// The line before a path's hints for every failing pair (`to_open`), when
/// they say more than its first pair's: how many pairs they were checked
/// on, and how many they leave closed.
pub(super) fn whole_head(p: &PathResult) -> Option<String> {
    let first = p.failed.first().map_or(&[][..], |f| &f.to_open[..]);
    if p.to_open.is_empty()
        || (p.to_open == first && p.to_open_left == 0 && p.to_open_checked == p.failed_pairs)
    {
        return None;
    }
    let checked = if p.to_open_checked < p.failed_pairs {
        format!(
            "the first {} of the {} failing pairs",
            p.to_open_checked, p.failed_pairs
        )
    } else {
        format!("all {} failing pairs", p.failed_pairs)
    };
    let left = match p.to_open_left {
        0 => String::new(),
        n => format!(" ({})", super::stay_closed_of(n, p.to_open_left_replies)),
    };
    Some(format!("to open {checked}, together{left}:"))
}

/// A failing probe's verdict: `DROP at STAGE`, or `ALLOW` (a path that
/// should be closed).
pub(super) fn verdict_text(stage: Option<crate::verdict::Stage>) -> String {
    match stage {
        Some(st) => format!("DROP at {}", st.as_str()),
        None => "ALLOW".into(),
    }
}

/// A pair's failing runs, each with its own stage and reply flag, when
/// they are not all alike (since the twenty-second session; the late
/// review's L2: one stage was printed for every failing port):
/// `1-99: DROP at ingress-security; 100-200: reply DROP at route`.
/// `None` when every run drops alike (the ports are printed as before).
pub(super) fn staged_runs(f: &PairFailure) -> Option<String> {
    let first = f.failing_runs.first()?;
    if f.failing_runs
        .iter()
        .all(|r| r.stage == first.stage && r.reply == first.reply)
    {
        return None;
    }
    Some(
        f.failing_runs
            .iter()
            .map(|r| {
                let verdict = verdict_text(r.stage);
                if r.reply {
                    format!("{}: reply {verdict}", r.ports)
                } else {
                    format!("{}: {verdict}", r.ports)
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
    )
}
