//! Loading and compiling a scenario so that a first signal need not wait
//! for it (`replay` and `diff`, on captures and on flow logs).
//!
//! Why a thread of its own rather than checks inside the loader and the
//! compiler: the scenario's reading (a FIFO or a pipe may block in it),
//! its decompression, parse, resolution and compile are a dozen loops in
//! two crates, and a first signal must end the run within a fraction of a
//! second in every one of them (QA round 25: 20 s on the 68 MB
//! `beyond.toml` of the quiet run). Here the caller waits for the work or
//! for the signal, whichever comes first; on a signal the work is left to
//! the process's end (nothing it does is seen by the user: it writes no
//! file and prints nothing) and the run goes on with an empty scenario,
//! so every output is the valid empty file of an interrupted run.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zprsim_control::compile::{CompileError, Compiled, Config};
use zprsim_control::load::{LoadError, Loaded};
use zprsim_control::model::Scenario;
use zprsim_dataplane::output::Plan;
use zprsim_dataplane::scenario_file::{self, Threads};
use zprsim_dataplane::warning::{RunWarning, RunWarningCode};

use crate::Failure;
use crate::interrupt::Interrupt;

/// How often the caller looks at the stop flag while the scenario loads:
/// the longest a first signal waits (the flag has no way to wake it).
const POLL: Duration = Duration::from_millis(20);

/// A loaded and compiled scenario, or an empty one when a first signal
/// came before it was ready.
pub(crate) struct Prepared {
    /// The scenario as loaded (empty when `stopped`).
    pub loaded: Loaded,
    /// Its compiled tables (an empty scenario's when `stopped`).
    pub compiled: Compiled,
    /// A first signal came while the scenario was loaded or compiled: no
    /// packet or record may be judged against `compiled`.
    pub stopped: bool,
}

/// How the compile runs: on both cores (`replay`'s `Compiled::new_with`)
/// or on one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compile {
    Parallel,
    Serial,
}

type Work = Result<
    (
        Loaded,
        Vec<std::path::PathBuf>,
        Result<Compiled, CompileError>,
    ),
    LoadError,
>;

/// Loads the scenario at `path` (named `flag` in messages) and compiles
/// it, unless a first signal comes first (then `stopped`, at once: the
/// loading is not waited for). The policy files it names are checked
/// against `plan`'s outputs ([`crate::check_policy_files`]).
///
/// # Errors
/// The scenario does not load or compile, or a policy file is an output.
#[allow(clippy::result_large_err)]
pub(crate) fn load_and_compile(
    interrupt: &Interrupt,
    plan: &Plan,
    flag: &str,
    path: &Path,
    compile: Compile,
) -> Result<Prepared, Failure> {
    if interrupt.requested() {
        return stopped();
    }
    let owned = path.to_path_buf();
    let work = move || -> Work {
        let (loaded, policies) = scenario_file::load_path_reading(&owned)?;
        let compiled = match compile {
            Compile::Parallel => {
                Compiled::new_with(&loaded.scenario, &Config::default(), &Threads::available())
            }
            Compile::Serial => Compiled::new(&loaded.scenario, &Config::default()),
        };
        Ok((loaded, policies, compiled))
    };
    let done = match unless_stopped(&interrupt.stop, work) {
        Waited::Done(done) => done,
        Waited::Stopped => return stopped(),
        Waited::Lost => {
            return Err(Failure::Internal(format!(
                "loading {flag} `{}` ended without a result",
                zprsim_dataplane::output::shown(path)
            )));
        }
    };
    let (loaded, policies, compiled) = done.map_err(|e| Failure::Input(e.to_string()))?;
    crate::check_policy_files(plan, flag, &policies)?;
    let compiled = compiled.map_err(|e| {
        Failure::Input(format!(
            "{}: error: {e}",
            zprsim_dataplane::output::shown(path)
        ))
    })?;
    Ok(Prepared {
        loaded,
        compiled,
        stopped: false,
    })
}

/// What [`unless_stopped`] got.
enum Waited<T> {
    Done(T),
    Stopped,
    /// The thread ended without a result: it panicked (the panic's
    /// message is on standard error already).
    Lost,
}

/// Runs `work` on a thread of its own and returns what it returns, or
/// [`Waited::Stopped`] as soon as `stop` is set before it has (the thread
/// is then left to run until the process ends). When no thread can be
/// started, `work` runs here and is waited for.
fn unless_stopped<T: Send + 'static>(
    stop: &AtomicBool,
    work: impl FnOnce() -> T + Send + 'static,
) -> Waited<T> {
    let (tx, rx) = mpsc::sync_channel(1);
    // Shared so that a thread that cannot start leaves the work here.
    let cell = Arc::new(Mutex::new(Some(work)));
    let theirs = Arc::clone(&cell);
    let job = move || {
        let work = theirs.lock().ok().and_then(|mut w| w.take());
        if let Some(work) = work {
            // The receiver is gone only when the run went on without it.
            let _ = tx.send(work());
        }
    };
    let spawned = std::thread::Builder::new()
        .name("zprsim-scenario".to_owned())
        .spawn(job);
    if spawned.is_err() {
        let work = cell.lock().ok().and_then(|mut w| w.take());
        return work.map_or(Waited::Lost, |work| Waited::Done(work()));
    }
    loop {
        match rx.recv_timeout(POLL) {
            Ok(done) => return Waited::Done(done),
            Err(RecvTimeoutError::Timeout) => {
                if stop.load(Ordering::Relaxed) {
                    return Waited::Stopped;
                }
            }
            Err(RecvTimeoutError::Disconnected) => return Waited::Lost,
        }
    }
}

#[allow(clippy::result_large_err)]
fn stopped() -> Result<Prepared, Failure> {
    let scenario = Scenario::default();
    let compiled = Compiled::new(&scenario, &Config::default())
        .map_err(|e| Failure::Internal(format!("an empty scenario did not compile: {e}")))?;
    Ok(Prepared {
        loaded: Loaded {
            scenario,
            warnings: Vec::new(),
        },
        compiled,
        stopped: true,
    })
}

/// The warning of a run stopped before its scenario was ready: what the
/// outputs hold and why the report names no rule.
pub(crate) fn stopped_warning(flag: &str, path: &Path) -> RunWarning {
    let shown = zprsim_dataplane::output::shown(path);
    RunWarning::new(
        RunWarningCode::InterruptedWhileLoading,
        format!(
            "a signal came while {flag} `{shown}` was loaded or compiled: nothing was judged, every output is empty, and the report names none of its rules"
        ),
    )
    .file(shown)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]

    use super::*;

    /// The wait ends on the flag while the work still runs (here: until
    /// the test lets it go), gives the work's result when it ends first,
    /// and tells a work that panicked from one that was stopped (a bug,
    /// exit 3, not an interrupted run).
    #[test]
    fn the_wait_ends_on_the_flag_on_the_result_or_on_a_panic() {
        let set = AtomicBool::new(true);
        let (go, held) = mpsc::channel::<()>();
        let w = unless_stopped(&set, move || held.recv().is_ok());
        assert!(matches!(w, Waited::Stopped));
        drop(go);
        let clear = AtomicBool::new(false);
        assert!(matches!(unless_stopped(&clear, || 7), Waited::Done(7)));
        let lost = unless_stopped(&clear, || -> u8 { panic!("planted") });
        assert!(matches!(lost, Waited::Lost));
    }
}
