//! `zprsim verify SCENARIO EXPECT.toml [--json] [--junit F.xml] [--fail-on-hints-open] [--zpr-replies HOW]`: are the
//! required paths open and the forbidden ones closed? Reading and judging
//! are in `zprsim_control::verify`; this file reads the files, prints, and
//! writes the JUnit report.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::verify::{self, Limits, PathResult, Report, RunError};
use zprsim_dataplane::input::{self, CappedError};
use zprsim_dataplane::output::{self, OutputFile, Plan};
use zprsim_dataplane::scenario_file::FsFiles;

use crate::{Failure, out};

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario (TOML, or JSON when it ends in `.json`).
    scenario: PathBuf,
    /// The expectations file: `[[path]]` tables and `[[include]]` packs.
    expect: PathBuf,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
    /// Write a JUnit XML report (one test case per path; `-` for standard output).
    #[arg(long, value_name = "F.xml")]
    junit: Option<PathBuf>,
    /// Exit 1 when every path's hints added at once would open a path
    /// that should be closed (`hints_together`), for CI gates on rollouts.
    #[arg(long)]
    fail_on_hints_open: bool,
    /// How the hint opens a reply that ZPR drops because the connection is
    /// allowed by `connection-state='stateless'` statements: `stateful`
    /// (remove that condition from the statement) or `stateless` (add a
    /// stateless statement for the reply's direction).
    #[arg(long, value_enum, value_name = "HOW", default_value = "stateful")]
    zpr_replies: ZprRepliesArg,
}

/// `--zpr-replies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ZprRepliesArg {
    /// Make the stateless statement that allowed the connection stateful.
    Stateful,
    /// Add a stateless statement for the reply's direction.
    Stateless,
}

impl From<ZprRepliesArg> for verify::ZprReplies {
    fn from(a: ZprRepliesArg) -> Self {
        match a {
            ZprRepliesArg::Stateful => verify::ZprReplies::Stateful,
            ZprRepliesArg::Stateless => verify::ZprReplies::Stateless,
        }
    }
}

/// `--fail-on-hints-open`'s verdict: why the run fails on the hints
/// together (`fail_on_hints_open` in `--json`, a test case in `--junit`).
#[derive(Debug, serde::Serialize)]
struct HintsGate {
    /// The gate fails the run (exit 1).
    failed: bool,
    /// Paths that should be closed and that the hints together would open.
    opened: Vec<String>,
    /// Paths that should be open, pass today, and that the hints together
    /// would close (a route hint taking over their traffic).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    closed: Vec<String>,
    /// Why, in a sentence.
    why: String,
}

/// Every path of `paths` judged on `s`, then every path's hints together
/// (do they open a path that must stay closed?), until `stop` says so:
/// the report, and whether the stop came after the paths were judged
/// (during the hints together, or after them: `hints_together` is then
/// left out or whole). A stop anywhere makes the report `interrupted`:
/// the run exits 130 or 143, and the contract ties that to `"interrupted":
/// true`, which a stop during the hints together left `false` (note-s18).
///
/// # Errors
/// As [`verify::run_until`] and [`verify::together`].
fn judge(
    s: &zprsim_control::model::Scenario,
    compiled: &Compiled,
    config: &Config,
    paths: &[verify::PathSpec],
    limits: &Limits,
    stop: &dyn Fn() -> bool,
    zpr_replies: verify::ZprReplies,
) -> Result<(Report, bool), RunError> {
    let mut report = verify::run_until_with(s, compiled, paths, limits, stop, zpr_replies)?;
    report.hints_together = verify::together(s, config, paths, &report, limits, stop)?;
    let after_paths = !report.interrupted && stop();
    report.interrupted |= after_paths;
    Ok((report, after_paths))
}

/// The gate of `--fail-on-hints-open` on `r`; `None` when a Ctrl-C
/// (`stopped`) left the hints together unjudged (the run exits 130 and
/// its outputs are partial). The hints together not judged because the
/// copy does not compile fail it: the gate cannot say they are safe. No
/// hints at all pass it.
fn hints_gate(r: &Report, stopped: bool) -> Option<HintsGate> {
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

/// Reads the expectations file (`-`: standard input), refusing one longer
/// than `max` bytes before reading more than one byte past it.
fn read_expect(path: &Path, file: &str, max: usize) -> Result<String, Failure> {
    let bytes =
        input::read_capped(path, u64::try_from(max).unwrap_or(u64::MAX)).map_err(|e| match e {
            CappedError::Io(e) => Failure::Input(format!(
                "{file}: error: cannot read the expectations: {}",
                zprsim_dataplane::output::io_message(&e)
            )),
            CappedError::TooLong => Failure::Input(format!(
                "{file}: error: the expectations file is longer than {max} bytes (the limit)"
            )),
        })?;
    // UTF-16 too (Windows PowerShell 5's `>`): positions in later errors
    // are the decoded text's.
    input::text_of(bytes)
        .map_err(|e| Failure::Input(format!("{file}: error: {}", e.of("the expectations file"))))
}

/// Failing pairs printed per path in the summary (JSON has up to 100).
const PAIRS_SHOWN: usize = 3;

/// Runs `verify`.
pub fn run(a: &Args) -> Result<ExitCode, Failure> {
    if a.json && a.junit.as_deref().is_some_and(output::is_std) {
        return Err(Failure::Input(
            "error: `--json` and `--junit -` would both write to standard output".into(),
        ));
    }
    // Every input and output checked before any work.
    let mut plan = Plan::new();
    plan.input("SCENARIO", &a.scenario)
        .input("EXPECT", &a.expect);
    if let Some(j) = &a.junit {
        plan.output("--junit", j);
    }
    plan.standard_output();
    plan.check()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    let loaded = crate::load_scenario(&plan, "SCENARIO", &a.scenario)?;
    let s = &loaded.scenario;
    let config = Config::default();
    let compiled = Compiled::new(s, &config).map_err(|e| {
        Failure::Input(format!(
            "{}: error: {e}",
            zprsim_dataplane::output::shown(&a.scenario)
        ))
    })?;
    let limits = Limits::default();
    let file = a.expect.display().to_string();
    // A file that does not read as expectations and whose first bytes say
    // what it is instead (a scenario, a capture, flow logs) is named so.
    let misplaced = |e: Failure| match zprsim_dataplane::scenario_file::not_expectations(&a.expect)
    {
        Some(what) => Failure::Input(format!(
            "{file}: error: {what}, not an expectations file: `zprsim verify SCENARIO EXPECT.toml` checks the paths EXPECT.toml lists (docs/verify.md); to see what a change to a scenario does to traffic: `zprsim diff BEFORE AFTER CAPTURE...`"
        )),
        None => e,
    };
    let text = read_expect(&a.expect, &file, limits.max_file_bytes).map_err(misplaced)?;
    let packs = FsFiles::new(zprsim_dataplane::scenario_file::directory_of(&a.expect));
    let paths = verify::read(s, &text, &file, &packs, &limits).map_err(|e| misplaced(e.into()))?;
    // The pack files EXPECT includes are inputs too.
    plan.check_late_inputs("pack file of EXPECT", &packs.paths_read())
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    // From here on a Ctrl-C stops the run between pairs, and the paths
    // judged whole are written, said to be partial.
    let interrupt = crate::interrupt::Interrupt::install()?;
    let stop = || interrupt.stop.load(std::sync::atomic::Ordering::Relaxed);
    let run_err = |e| match e {
        RunError::Limit(m) => Failure::Input(m),
        RunError::Disagree(m) => Failure::Internal(m),
    };
    let (mut report, stopped_after_paths) = judge(
        s,
        &compiled,
        &config,
        &paths,
        &limits,
        &stop,
        a.zpr_replies.into(),
    )
    .map_err(run_err)?;
    report.stopped_by = interrupt.cause(report.interrupted, false);
    // `--junit` is written first; when it cannot be (a full disk) it is
    // abandoned, the result still goes to standard output, and the run
    // exits 2 naming it.
    let gate = a
        .fail_on_hints_open
        .then(|| hints_gate(&report, stopped_after_paths))
        .flatten();
    let mut failed = Vec::new();
    if let Some(j) = &a.junit {
        let xml = junit(&report, &file, gate.as_ref())?;
        let mut f =
            OutputFile::create("--junit", j).map_err(|e| Failure::Input(format!("error: {e}")))?;
        f.write_all(xml.as_bytes()).map_err(|e| {
            Failure::Input(format!(
                "error: --junit `{}`: {}",
                j.display(),
                output::io_message(&e)
            ))
        })?;
        failed = crate::outputs::commit_each([f]);
    }
    let mut warnings = String::new();
    for w in &loaded.warnings {
        let _ = writeln!(warnings, "{w}");
    }
    crate::err(&warnings);
    if a.json {
        // An output that failed is said in the result too, as `replay`'s
        // and `bench`'s reports say it (`run_warnings`, only then).
        let mut v = serde_json::to_value(&report)?;
        if let (false, Some(m)) = (failed.is_empty(), v.as_object_mut()) {
            m.insert("run_warnings".into(), serde_json::to_value(&failed)?);
        }
        if let (Some(g), Some(m)) = (&gate, v.as_object_mut()) {
            m.insert("fail_on_hints_open".into(), serde_json::to_value(g)?);
        }
        let mut t = serde_json::to_string_pretty(&v)?;
        t.push('\n');
        out(&t)?;
    } else if !a.junit.as_deref().is_some_and(output::is_std) {
        let mut t = summary(&report, &a.scenario, &file);
        if let Some(g) = gate.as_ref().filter(|g| g.failed) {
            let _ = writeln!(t, "--fail-on-hints-open: FAIL: {}", g.why);
        }
        out(&t)?;
    }
    crate::outputs::failure(&failed)?;
    if stopped_after_paths {
        // Stopped while judging every path's hints together (or just
        // after): each path is whole, `hints_together` is left out when
        // it was not finished.
        if report.hints_together.is_none() {
            crate::err(
                "interrupted: every path judged; the check of every path's hints together was not finished, and the outputs leave it out\n",
            );
        } else {
            crate::err("interrupted: every path judged, and every path's hints together\n");
        }
        return Ok(ExitCode::from(interrupt.exit_code()));
    }
    if report.interrupted {
        crate::err(&format!(
            "interrupted: {} of {} path(s) judged; every output holds exactly those\n",
            report.paths.len(),
            paths.len()
        ));
        return Ok(ExitCode::from(interrupt.exit_code()));
    }
    Ok(if report.failed == 0 && !gate.is_some_and(|g| g.failed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The human summary.
fn summary(r: &Report, scenario: &Path, file: &str) -> String {
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
            verify::Scope::All => "",
            verify::Scope::Network => ", network layers",
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
            let verdict = match f.stage {
                Some(st) => format!("DROP at {}", st.as_str()),
                None => "ALLOW".into(),
            };
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

fn failure_text(p: &PathResult) -> (String, String) {
    if let Some(e) = &p.error {
        return (e.clone(), e.clone());
    }
    let message = format!(
        "{} of {} pair(s) fail: expected {}",
        p.failed_pairs,
        p.pairs,
        p.expect.as_str()
    );
    let mut body = String::new();
    for n in &p.stand_ins {
        let _ = writeln!(body, "stand-in: {n}");
    }
    for f in &p.failed {
        let verdict = match f.stage {
            Some(st) => format!("DROP at {}", st.as_str()),
            None => "ALLOW".into(),
        };
        let _ = writeln!(body, "{}: {verdict}", f.packet);
        if let Some(runs) = staged_runs(f) {
            let _ = writeln!(body, "  failing ports: {runs}");
        } else if !f.failing_ports.is_empty() {
            let _ = writeln!(body, "  failing ports: {}", f.failing_ports.join(", "));
        }
        let _ = writeln!(body, "  {}", f.rule);
        for b in &f.blocked_by {
            let _ = writeln!(body, "  blocked by: {b}");
        }
        for o in &f.to_open {
            let _ = writeln!(body, "  to open: {o}");
        }
    }
    if let Some(head) = whole_head(p) {
        let _ = writeln!(body, "{head}");
        for o in &p.to_open {
            let _ = writeln!(body, "  to open: {o}");
        }
    }
    if let Some(why) = &p.why {
        let _ = writeln!(body, "why it matters: {why}");
    }
    (message, body)
}

/// The note of a path that `audit` attributes would deny once enforced,
/// with its witness and what keeps it open, for JUnit's `system-out`.
fn audit_text(p: &PathResult) -> String {
    let mut t = format!(
        "{} allowed probe(s) would be denied once `audit` attributes are enforced\n",
        p.audit_would_deny
    );
    if let Some(w) = &p.audit_witness {
        let _ = writeln!(t, "{}: {}", w.packet, w.rule);
    }
    let keep = match &p.audit_witness {
        Some(w) if p.to_keep_open.is_empty() => &w.to_open,
        _ => &p.to_keep_open,
    };
    for o in keep {
        let _ = writeln!(t, "to keep it open: {o}");
    }
    t
}

/// What every path's hints, added at once, do (`hints_together`).
fn together_text(h: &verify::Together) -> String {
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
fn whole_head(p: &PathResult) -> Option<String> {
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
        n => format!(
            " ({})",
            zprsim_control::verify::stay_closed_of(n, p.to_open_left_replies)
        ),
    };
    Some(format!("to open {checked}, together{left}:"))
}

/// A JUnit `<failure message=".." type="..">body</failure>`.
fn failure_element(
    w: &mut Writer<Vec<u8>>,
    message: &str,
    kind: &str,
    body: &str,
) -> std::io::Result<()> {
    let mut f = BytesStart::new("failure");
    f.push_attribute(("message", message));
    f.push_attribute(("type", kind));
    w.write_event(Event::Start(f))?;
    w.write_event(Event::Text(BytesText::new(body)))?;
    w.write_event(Event::End(BytesEnd::new("failure")))?;
    Ok(())
}

/// The JUnit XML report: one `<testsuite>` named after the expectations
/// file, one `<testcase>` per path (`classname` the pack, or `verify` for
/// the file's own paths), `<failure>` with the witness packets, `<skipped>`
/// for skipped paths. The element and attribute names are those of the
/// JUnit schema CI systems read (Jenkins, GitLab, GitHub actions).
fn junit(r: &Report, file: &str, gate: Option<&HintsGate>) -> Result<String, Failure> {
    let xml_err = |e: std::io::Error| Failure::Internal(format!("cannot write the JUnit XML: {e}"));
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(xml_err)?;
    // `--fail-on-hints-open` adds a test case of its own.
    let gate_failed = usize::from(gate.is_some_and(|g| g.failed));
    let tests = (r.paths.len() + usize::from(gate.is_some())).to_string();
    let failures = (r.failed + gate_failed).to_string();
    let skipped = r.skipped.to_string();
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", "zprsim verify"));
    suites.push_attribute(("tests", tests.as_str()));
    suites.push_attribute(("failures", failures.as_str()));
    suites.push_attribute(("errors", "0"));
    w.write_event(Event::Start(suites)).map_err(xml_err)?;
    let mut suite = BytesStart::new("testsuite");
    suite.push_attribute(("name", file));
    suite.push_attribute(("tests", tests.as_str()));
    suite.push_attribute(("failures", failures.as_str()));
    suite.push_attribute(("errors", "0"));
    suite.push_attribute(("skipped", skipped.as_str()));
    w.write_event(Event::Start(suite)).map_err(xml_err)?;
    if r.interrupted {
        // A stopped run: its test cases are the paths judged whole.
        w.write_event(Event::Start(BytesStart::new("properties")))
            .map_err(xml_err)?;
        let mut prop = BytesStart::new("property");
        prop.push_attribute(("name", "interrupted"));
        prop.push_attribute(("value", "true"));
        w.write_event(Event::Empty(prop)).map_err(xml_err)?;
        if let Some(by) = r.stopped_by {
            let by = serde_json::to_value(by).unwrap_or_default();
            let mut prop = BytesStart::new("property");
            prop.push_attribute(("name", "stopped_by"));
            prop.push_attribute(("value", by.as_str().unwrap_or_default()));
            w.write_event(Event::Empty(prop)).map_err(xml_err)?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))
            .map_err(xml_err)?;
    }
    for p in &r.paths {
        let class = match p.name.split_once('/') {
            Some((pack, _)) => format!("verify.{pack}"),
            None => "verify".to_owned(),
        };
        let mut tc = BytesStart::new("testcase");
        tc.push_attribute(("name", p.name.as_str()));
        tc.push_attribute(("classname", class.as_str()));
        if p.ok && !p.skipped && p.audit_would_deny == 0 {
            w.write_event(Event::Empty(tc)).map_err(xml_err)?;
            continue;
        }
        if p.ok && !p.skipped {
            // Passing today, but enforcing `audit` attributes would deny
            // some of it: said in the case's output, so a CI gate on the
            // rollout sees it (the case still passes: it is open today).
            w.write_event(Event::Start(tc)).map_err(xml_err)?;
            w.write_event(Event::Start(BytesStart::new("system-out")))
                .map_err(xml_err)?;
            w.write_event(Event::Text(BytesText::new(&audit_text(p))))
                .map_err(xml_err)?;
            w.write_event(Event::End(BytesEnd::new("system-out")))
                .map_err(xml_err)?;
            w.write_event(Event::End(BytesEnd::new("testcase")))
                .map_err(xml_err)?;
            continue;
        }
        w.write_event(Event::Start(tc)).map_err(xml_err)?;
        if p.skipped {
            let mut sk = BytesStart::new("skipped");
            sk.push_attribute(("message", "skipped by the expectations file"));
            w.write_event(Event::Empty(sk)).map_err(xml_err)?;
        } else {
            let (message, body) = failure_text(p);
            failure_element(&mut w, &message, "path", &body).map_err(xml_err)?;
        }
        w.write_event(Event::End(BytesEnd::new("testcase")))
            .map_err(xml_err)?;
    }
    if let Some(g) = gate {
        let mut tc = BytesStart::new("testcase");
        // The name stays as CI systems have recorded it; the failure's
        // message says whether paths open or close.
        tc.push_attribute(("name", "hints together open no path that should be closed"));
        tc.push_attribute(("classname", "verify.fail-on-hints-open"));
        if g.failed {
            w.write_event(Event::Start(tc)).map_err(xml_err)?;
            let body = r
                .hints_together
                .as_ref()
                .map(together_text)
                .unwrap_or_default();
            failure_element(&mut w, &g.why, "hints-open", &body).map_err(xml_err)?;
            w.write_event(Event::End(BytesEnd::new("testcase")))
                .map_err(xml_err)?;
        } else {
            w.write_event(Event::Empty(tc)).map_err(xml_err)?;
        }
    }
    w.write_event(Event::End(BytesEnd::new("testsuite")))
        .map_err(xml_err)?;
    w.write_event(Event::End(BytesEnd::new("testsuites")))
        .map_err(xml_err)?;
    let mut text = String::from_utf8(w.into_inner())
        .map_err(|e| Failure::Internal(format!("the JUnit XML is not UTF-8: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// A pair's failing runs, each with its own stage and reply flag, when
/// they are not all alike (since the twenty-second session; the late
/// review's L2: one stage was printed for every failing port):
/// `1-99: DROP at ingress-security; 100-200: reply DROP at route`.
/// `None` when every run drops alike (the ports are printed as before).
fn staged_runs(f: &zprsim_control::verify::PairFailure) -> Option<String> {
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
                let verdict = match r.stage {
                    Some(st) => format!("DROP at {}", st.as_str()),
                    None => "ALLOW".into(),
                };
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// Planning 5 (note-s18): a Ctrl-C while every path's hints were
    /// judged together exited 130, and the JSON said `"interrupted":
    /// false`. No output comes between the paths and that check, so the
    /// stop is placed by counting the calls to `stop`: a run of the paths
    /// alone makes `k`; a stop from call `k + 1` on falls in the check.
    #[test]
    fn a_stop_during_the_hints_together_says_interrupted() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let s = zprsim_dataplane::scenario_file::load_path(
            &root.join("examples/oke-orders/scenario.toml"),
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .scenario;
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
        let packs = FsFiles::new(root.to_path_buf());
        let paths =
            verify::read(&s, text, "e.toml", &packs, &limits).unwrap_or_else(|e| panic!("{e}"));
        let calls = Cell::new(0u64);
        let count = || {
            calls.set(calls.get() + 1);
            false
        };
        let whole = verify::run_until(&s, &compiled, &paths, &limits, &count)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let k = calls.get();
        assert!(!whole.interrupted && whole.failed == 1);
        // Unstopped: the check runs (and calls `stop`).
        calls.set(0);
        let (r, after) = judge(
            &s,
            &compiled,
            &config,
            &paths,
            &limits,
            &count,
            verify::ZprReplies::default(),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
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
        let (r, after) = judge(
            &s,
            &compiled,
            &config,
            &paths,
            &limits,
            &stop_in_check,
            verify::ZprReplies::default(),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(after && r.hints_together.is_none());
        assert_eq!(r.paths.len(), 1, "every path judged");
        assert!(
            r.interrupted,
            "a stop in the hints together says interrupted"
        );
        let v = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(v["interrupted"], true);
    }
}
