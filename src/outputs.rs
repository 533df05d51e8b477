//! Finishing a command's outputs when one of them cannot be written (a
//! full disk): that one is abandoned, the others are still renamed into
//! place, and the run says which failed and why (docs/cli.md, "One output
//! fails").

use zprsim_dataplane::output::{OutputFile, OutputState, shown};
use zprsim_dataplane::warning::{RunWarning, RunWarningCode};

use crate::Failure;

/// What an `output-failed` warning adds to the output's own error, for the
/// report (stderr says the error alone, once: [`failure`]).
const NOT_WRITTEN: &str = ": this output was not written; the others were";

/// Commits each of `files`. One that cannot be finished (a write failed
/// earlier, or its sync or rename fails) is abandoned: its temporary file
/// is removed and its target keeps its old contents. Each such output is
/// an `output-failed` warning naming it, for the report and stderr.
pub(crate) fn commit_each(files: impl IntoIterator<Item = OutputFile>) -> Vec<RunWarning> {
    let mut failed = Vec::new();
    for f in files {
        let path = shown(f.path());
        if let Err(e) = f.commit() {
            failed.push(
                RunWarning::new(RunWarningCode::OutputFailed, format!("{e}{NOT_WRITTEN}"))
                    .file(path),
            );
        }
    }
    failed
}

/// An `output-reader-gone` warning for each of `files` whose reader left
/// (standard output or a FIFO, `| head -1`), for a run that went on for
/// its other outputs: the rest of that output was judged but not written.
pub(crate) fn reader_gone<'a>(files: impl IntoIterator<Item = &'a OutputFile>) -> Vec<RunWarning> {
    files
        .into_iter()
        .filter(|f| f.state() == OutputState::ReaderGone)
        .map(|f| {
            let path = shown(f.path());
            RunWarning::new(
                RunWarningCode::OutputReaderGone,
                format!(
                    "{} `{path}`: its reader left before the end: the rest of it was not written (the other outputs were)",
                    f.flag()
                ),
            )
            .file(path)
        })
        .collect()
}

/// The run's warnings as stderr shows them: an output that failed is said
/// once, by the run's error ([`failure`]), a reader that left its pipe
/// is the user's own `| head`, said in the report only, and a signal after
/// the reading by the run's `interrupted` line.
pub(crate) fn for_stderr(warnings: &[RunWarning]) -> Vec<&RunWarning> {
    warnings
        .iter()
        .filter(|w| {
            !matches!(
                w.code,
                RunWarningCode::OutputFailed
                    | RunWarningCode::OutputReaderGone
                    | RunWarningCode::TemporaryFilesFull
                    | RunWarningCode::InterruptedAfterReading
                    | RunWarningCode::InterruptedWhileLoading
            )
        })
        .collect()
}

/// The `temporary-files-full` warnings of `warnings`: the run ends with
/// them as its error ([`failure`]), after its outputs were written.
pub(crate) fn temp_full(warnings: &[RunWarning]) -> Vec<RunWarning> {
    warnings
        .iter()
        .filter(|w| w.code == RunWarningCode::TemporaryFilesFull)
        .cloned()
        .collect()
}

/// The run's end when outputs failed ([`commit_each`]): exit 2, one
/// `error:` line for each, naming its flag and path and why.
pub(crate) fn failure(failed: &[RunWarning]) -> Result<(), Failure> {
    if failed.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = failed
        .iter()
        .map(|w| {
            let m = w.message.strip_suffix(NOT_WRITTEN).unwrap_or(&w.message);
            format!("error: {m}")
        })
        .collect();
    Err(Failure::Input(lines.join("\n")))
}
