//! The `zprsim` command line: wires the control plane and the dataplane.
//!
//! Exit codes (the CLI contract): 0 success; 1 the run worked and found what
//! the command checks for; 2 bad input or usage; 3 an internal error (the
//! compiled table and the reference evaluator disagree). Never a panic.

mod bench;
mod check;
#[cfg(test)]
mod cli_surface;
mod diff;
mod explain;
mod flags;
mod flowlog;
mod flowlog_diff;
mod import;
mod interrupt;
mod lab;
mod leave;
mod outputs;
mod prepare;
mod replay;
mod report;
mod tap;
mod verify;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use zprsim_control::escape::escape_keep_newlines;

/// mimalloc instead of the system allocator: loading a scenario makes
/// millions of small allocations (the TOML parser's tables and strings, the
/// model's names), and glibc's malloc and free cost a fifth of a
/// `check`'s instructions (docs/benchmarks.md, "Start-up"). The packet phase
/// does not allocate per packet, so it does not depend on this choice.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Packet-level enforcement simulator for OCI networks: route tables, NSGs,
/// security lists and Zero Trust Packet Routing.
#[derive(Debug, Parser)]
#[command(name = "zprsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load, validate and compile a scenario; print counts and warnings.
    Check(check::Args),
    /// Judge the first packet of a flow layer by layer, like Network Path Analyzer.
    Explain(explain::Args),
    /// Print the compiled classes and tables (a debug view of the compiler).
    DumpTable(check::DumpArgs),
    /// Replay pcap/pcapng captures through the scenario: what would be dropped, where and why.
    Replay(replay::Args),
    /// Import a network from OCI CLI JSON outputs into a native scenario.
    Import(import::Args),
    /// Play the VCN's virtual router between TAP devices: live enforcement, fail-closed.
    Tap(tap::Args),
    /// A lab of network namespaces behind one `zprsim tap`: up, exec, status, down.
    Lab(lab::Args),
    /// Check that required paths are open and forbidden ones closed (exit 1 if not).
    Verify(verify::Args),
    /// Replay captures against two scenarios: which flows a change would break or newly allow.
    Diff(diff::Args),
    /// Measure how fast this scenario is enforced on this machine, beside the bare stateful loop.
    Bench(bench::Args),
}

/// An error that maps to an exit code. (A small enum rather than `anyhow`:
/// the CLI contract gives bad input and internal errors different codes,
/// and every message here is already rendered for people by the library
/// that found the problem.)
#[derive(Debug)]
pub enum Failure {
    /// Bad input or usage: exit 2.
    Input(String),
    /// A bug: exit 3.
    Internal(String),
    /// A message and the exit status to end with (`lab exec`: 126, 127).
    Exit(u8, String),
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Input(e.to_string())
    }
}

/// Loads the scenario at `path` (named `flag` in messages) and checks the
/// policy files it names against `plan`'s outputs: they are inputs too,
/// known only once the scenario is parsed. Outputs are renamed into place
/// only when a run ends, so a conflict found here still writes nothing.
#[allow(clippy::result_large_err)]
pub(crate) fn load_scenario(
    plan: &zprsim_dataplane::output::Plan,
    flag: &str,
    path: &std::path::Path,
) -> Result<zprsim_control::load::Loaded, Failure> {
    let (loaded, policies) = zprsim_dataplane::scenario_file::load_path_reading(path)?;
    check_policy_files(plan, flag, &policies)?;
    Ok(loaded)
}

/// The policy files a scenario named `flag` names, against `plan`'s
/// outputs ([`load_scenario`]; `prepare::load_and_compile` once its load
/// ends).
#[allow(clippy::result_large_err)]
pub(crate) fn check_policy_files(
    plan: &zprsim_dataplane::output::Plan,
    flag: &str,
    policies: &[std::path::PathBuf],
) -> Result<(), Failure> {
    plan.check_late_inputs(&format!("policy file of {flag}"), policies)
        .map_err(|e| Failure::Input(format!("error: {e}")))
}

fn run() -> Result<ExitCode, Failure> {
    // The matches are kept: they tell a flag given from one defaulted.
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return Ok(ExitCode::from(code));
        }
    };
    let sub = matches.subcommand().map(|(_, m)| m);
    match cli.command {
        Command::Check(a) => check::run(&a),
        Command::Explain(a) => explain::run(&a),
        Command::Replay(mut a) => {
            a.flow_log.given = sub.map(flags::flow_log_flags_given).unwrap_or_default();
            a.expand_inputs()?;
            replay::run(&a)
        }
        Command::Tap(a) => tap::run(&a),
        Command::Import(a) => import::run(&a),
        Command::Lab(a) => lab::run(&a),
        Command::DumpTable(a) => check::dump(&a),
        Command::Verify(a) => verify::run(&a),
        Command::Diff(mut a) => {
            a.flow_log.given = sub.map(flags::flow_log_flags_given).unwrap_or_default();
            a.expand_inputs()?;
            diff::run(&a)
        }
        Command::Bench(mut a) => {
            a.expand_inputs()?;
            bench::run(&a)
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(Failure::Input(msg)) => {
            let msg = escape_keep_newlines(msg.trim_end());
            let _ = writeln!(std::io::stderr(), "{msg}");
            ExitCode::from(2)
        }
        Err(Failure::Exit(code, msg)) => {
            let msg = escape_keep_newlines(msg.trim_end());
            let _ = writeln!(std::io::stderr(), "{msg}");
            ExitCode::from(code)
        }
        Err(Failure::Internal(msg)) => {
            let msg = escape_keep_newlines(msg.trim_end());
            let _ = writeln!(std::io::stderr(), "internal error: {msg}");
            ExitCode::from(3)
        }
    }
}

/// Writes to stderr (warnings, and the summary when stdout carries data),
/// control characters and bidirectional controls escaped; a closed stderr
/// is not worth an error.
pub fn err(text: &str) {
    if !text.is_empty() {
        let text = escape_keep_newlines(text);
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(text.as_bytes()).and_then(|()| e.flush());
    }
}

/// Writes a command's summary to stdout, or to stderr when one of
/// `outputs` is standard output (then stdout carries that data).
pub fn summary_out(text: &str, outputs: &[Option<&std::path::Path>]) -> Result<(), Failure> {
    if outputs
        .iter()
        .flatten()
        .any(|p| zprsim_dataplane::output::is_std(p))
    {
        err(text);
        Ok(())
    } else {
        out(text)
    }
}

/// Writes to stdout; a closed pipe is not an error.
pub fn out(text: &str) -> Result<(), Failure> {
    let mut o = std::io::stdout().lock();
    match o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Input(format!(
            "error: cannot write to standard output: {}",
            zprsim_dataplane::output::io_message(&e)
        ))),
    }
}
