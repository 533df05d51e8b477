//! `zprsim verify SCENARIO EXPECT.toml [--json] [--junit F.xml] [--fail-on-hints-open] [--zpr-replies HOW]`: are the
//! required paths open and the forbidden ones closed? Reading, judging,
//! the summary and the JUnit XML are in `zprsim_control::verify`; this file
//! reads the files, prints, and writes the JUnit report.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use zprsim_control::compile::{Compiled, Config};
use zprsim_control::verify::{self, Limits, RunError};
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
    let job = verify::Job {
        scenario: s,
        compiled: &compiled,
        paths: &paths,
        limits: &limits,
        stop: &stop,
    };
    let (mut report, stopped_after_paths) =
        verify::run_with_together(&job, &config, a.zpr_replies.into()).map_err(run_err)?;
    report.stopped_by = interrupt.cause(report.interrupted, false);
    // `--junit` is written first; when it cannot be (a full disk) it is
    // abandoned, the result still goes to standard output, and the run
    // exits 2 naming it.
    let gate = a
        .fail_on_hints_open
        .then(|| verify::hints_gate(&report, stopped_after_paths))
        .flatten();
    let mut failed = Vec::new();
    if let Some(j) = &a.junit {
        let xml = verify::junit(&report, &file, gate.as_ref())
            .map_err(|e| Failure::Internal(format!("cannot write the JUnit XML: {e}")))?;
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
        let mut t = verify::summary(&report, &a.scenario, &file);
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
