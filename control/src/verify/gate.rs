//! `verify --fail-on-hints-open`: every path judged, then every path's
//! hints added at once ([`run_with_together`]), and the gate on what those
//! hints together would open or close ([`hints_gate`]).

use crate::compile::Config;

use super::{Job, Report, RunError, ZprReplies};

/// `--fail-on-hints-open`'s verdict: why the run fails on the hints
/// together (`fail_on_hints_open` in `--json`, a test case in `--junit`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HintsGate {
    /// The gate fails the run (exit 1).
    pub failed: bool,
    /// Paths that should be closed and that the hints together would open.
    pub opened: Vec<String>,
    /// Paths that should be open, pass today, and that the hints together
    /// would close (a route hint taking over their traffic).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<String>,
    /// Why, in a sentence.
    pub why: String,
}

/// Every path of `job` judged, then every path's hints together
/// (do they open a path that must stay closed?), until its `stop` says so:
/// the report, and whether the stop came after the paths were judged
/// (during the hints together, or after them: `hints_together` is then
/// left out or whole). A stop anywhere makes the report `interrupted`:
/// the run exits 130 or 143, and the contract ties that to `"interrupted":
/// true`, which a stop during the hints together left `false` (note-s18).
///
/// # Errors
/// As [`super::run_until_with`] and [`super::together`].
pub fn run_with_together(
    job: &Job<'_>,
    config: &Config,
    zpr_replies: ZprReplies,
) -> Result<(Report, bool), RunError> {
    let mut report = super::run_until_with(job, zpr_replies)?;
    report.hints_together = super::together(job, config, &report)?;
    let after_paths = !report.interrupted && (job.stop)();
    report.interrupted |= after_paths;
    Ok((report, after_paths))
}

/// The gate of `--fail-on-hints-open` on `r`; `None` when a Ctrl-C
/// (`stopped`) left the hints together unjudged (the run exits 130 and
/// its outputs are partial). The hints together not judged because the
/// copy does not compile fail it: the gate cannot say they are safe. No
/// hints at all pass it.
#[must_use]
pub fn hints_gate(r: &Report, stopped: bool) -> Option<HintsGate> {
    let gate = |failed: bool, opened: Vec<String>, closed: Vec<String>, why: String| {
        Some(HintsGate {
            failed,
            opened,
            closed,
            why,
        })
    };
    let h = match &r.hints_together {
        None if r.interrupted || stopped => return None,
        None => {
            return gate(
                false,
                Vec::new(),
                Vec::new(),
                "no path has hints".to_owned(),
            );
        }
        Some(h) => h,
    };
    if let Some(e) = &h.error {
        return gate(
            true,
            Vec::new(),
            Vec::new(),
            format!("every path's hints together could not be judged: {e}"),
        );
    }
    let mut why = Vec::new();
    if !h.opened.is_empty() {
        why.push(format!(
            "would open {} path(s) that should be closed: {}",
            h.opened.len(),
            h.opened.join(", ")
        ));
    }
    if !h.closed.is_empty() {
        why.push(format!(
            "would close {} path(s) that should be open and pass today: {}",
            h.closed.len(),
            h.closed.join(", ")
        ));
    }
    if why.is_empty() {
        return gate(
            false,
            Vec::new(),
            Vec::new(),
            "every path's hints added at once open no path that should be closed and close none that should be open".to_owned(),
        );
    }
    gate(
        true,
        h.opened.clone(),
        h.closed.clone(),
        format!("every path's hints added at once {}", why.join("; and ")),
    )
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::path::PathBuf;

    use super::*;
    use crate::compile::Compiled;
    use crate::load::{Format, SourceFiles, load_str};
    use crate::model::Scenario;
    use crate::verify::{self, Limits};

    /// The example's files (its ZPL policies), read from the repository.
    struct Examples;

    impl SourceFiles for Examples {
        fn read(&self, relative_path: &str) -> Result<String, String> {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/oke-orders");
            std::fs::read_to_string(dir.join(relative_path)).map_err(|e| e.to_string())
        }
    }

    fn oke_orders() -> Scenario {
        let text = Examples
            .read("scenario.toml")
            .unwrap_or_else(|e| panic!("{e}"));
        load_str(&text, "scenario.toml", Format::Toml, &Examples)
            .unwrap_or_else(|e| panic!("{e}"))
            .scenario
    }

    /// Planning 5 (note-s18): a Ctrl-C while every path's hints were
    /// judged together exited 130, and the JSON said `"interrupted":
    /// false`. No output comes between the paths and that check, so the
    /// stop is placed by counting the calls to `stop`: a run of the paths
    /// alone makes `k`; a stop from call `k + 1` on falls in the check.
    #[test]
    fn a_stop_during_the_hints_together_says_interrupted() {
        let s = oke_orders();
        let config = Config::default();
        let compiled = Compiled::new(&s, &config).unwrap_or_else(|e| panic!("{e}"));
        // A path that fails today, so it has hints to judge together.
        let text = r#"
[[path]]
name = "billing-to-orders-data"
from = "attr:app.workload:billing"
to = "attr:storage.dataset:orders-fss"
proto = "tcp"
dport = 2049
expect = "allow"
"#;
        let limits = Limits::default();
        let paths =
            verify::read(&s, text, "e.toml", &Examples, &limits).unwrap_or_else(|e| panic!("{e}"));
        let calls = Cell::new(0u64);
        let count = || {
            calls.set(calls.get() + 1);
            false
        };
        let job = verify::Job {
            scenario: &s,
            compiled: &compiled,
            paths: &paths,
            limits: &limits,
            stop: &count,
        };
        let whole = verify::run_until(&job).unwrap_or_else(|e| panic!("{e:?}"));
        let k = calls.get();
        assert!(!whole.interrupted && whole.failed == 1);
        let judged = |stop: &dyn Fn() -> bool| {
            run_with_together(
                &verify::Job { stop, ..job },
                &config,
                verify::ZprReplies::default(),
            )
            .unwrap_or_else(|e| panic!("{e:?}"))
        };
        // Unstopped: the check runs (and calls `stop`).
        calls.set(0);
        let (r, after) = judged(&count);
        assert!(!r.interrupted && !after && r.hints_together.is_some());
        assert!(
            calls.get() > k + 1,
            "the check never asks: {} calls",
            calls.get()
        );
        calls.set(0);
        let stop_in_check = || {
            calls.set(calls.get() + 1);
            calls.get() > k
        };
        let (r, after) = judged(&stop_in_check);
        assert!(after && r.hints_together.is_none());
        assert_eq!(r.paths.len(), 1, "every path judged");
        assert!(
            r.interrupted,
            "a stop in the hints together says interrupted"
        );
        let v = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(v["interrupted"], true);
    }

    fn report(together: Option<verify::Together>, interrupted: bool) -> Report {
        Report {
            paths: Vec::new(),
            failed: 0,
            skipped: 0,
            internet: Vec::new(),
            interrupted,
            stopped_by: None,
            hints_together: together,
        }
    }

    fn together(opened: &[&str], closed: &[&str], error: Option<&str>) -> verify::Together {
        let names = |v: &[&str]| v.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        verify::Together {
            hints: 2,
            still_failing: Vec::new(),
            opened: names(opened),
            closed: names(closed),
            partly_closed: Vec::new(),
            error: error.map(str::to_owned),
        }
    }

    /// The gate: no hints pass, a stop leaves it unsaid, hints not judged
    /// fail, and what the hints open or close is named in `why`.
    #[test]
    fn the_hints_gate_fails_on_what_the_hints_open_or_close_or_could_not_judge() {
        let none = hints_gate(&report(None, false), false).unwrap_or_else(|| panic!("no gate"));
        assert!(!none.failed);
        assert_eq!(none.why, "no path has hints");
        assert_eq!(hints_gate(&report(None, true), false), None);
        assert_eq!(hints_gate(&report(None, false), true), None);
        let safe = hints_gate(&report(Some(together(&[], &[], None)), false), false);
        assert!(safe.is_some_and(|g| !g.failed && g.opened.is_empty()));
        let bad = hints_gate(
            &report(Some(together(&[], &[], Some("too big"))), false),
            false,
        )
        .unwrap_or_else(|| panic!("no gate"));
        assert!(bad.failed);
        assert_eq!(
            bad.why,
            "every path's hints together could not be judged: too big"
        );
        let open = hints_gate(
            &report(Some(together(&["db-closed"], &["web"], None)), false),
            false,
        )
        .unwrap_or_else(|| panic!("no gate"));
        assert!(open.failed);
        assert_eq!(open.opened, ["db-closed"]);
        assert_eq!(open.closed, ["web"]);
        assert_eq!(
            open.why,
            "every path's hints added at once would open 1 path(s) that should be closed: db-closed; and would close 1 path(s) that should be open and pass today: web"
        );
        // The JUnit report has a test case for the gate, failed, with its
        // reason as the message.
        let r = report(Some(together(&["db-closed"], &[], None)), false);
        let g = hints_gate(&r, false);
        let xml = verify::junit(&r, "e.toml", g.as_ref()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            xml.contains(r#"<testsuites name="zprsim verify" tests="1" failures="1" errors="0">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"classname="verify.fail-on-hints-open""#),
            "{xml}"
        );
        assert!(
            xml.contains("would open 1 path(s) that should be closed: db-closed"),
            "{xml}"
        );
        // The summary ends with the hints together and the counts.
        let t = verify::summary(&r, std::path::Path::new("s.toml"), "e.toml");
        assert!(t.starts_with("verify e.toml against s.toml\n"), "{t}");
        assert!(t.contains("; WARNING: they would open 1 path(s) that should be closed: db-closed (narrow those hints before applying them)\n"), "{t}");
        assert!(t.ends_with("0 path(s): 0 ok, 0 failed, 0 skipped\n"), "{t}");
    }
}
