//! SIGINT and SIGTERM for long runs (`replay`, `tap`): the first asks the
//! run to stop cleanly (stop reading, drain, finish every output at a
//! record boundary, report what was judged); a second exits at once with
//! the signal's status.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::Failure;

use zprsim_control::stopped::StoppedBy;
use zprsim_dataplane::tap::sys::{SIGINT, SIGTERM};

/// The flags the handlers set.
#[derive(Debug, Clone)]
pub struct Interrupt {
    /// Set by the first signal.
    pub stop: Arc<AtomicBool>,
    /// The signal that set it.
    which: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Installs the handlers.
    pub fn install() -> Result<Interrupt, Failure> {
        let stop = Arc::new(AtomicBool::new(false));
        let which = Arc::new(AtomicUsize::new(0));
        let err = |e: std::io::Error| Failure::Input(format!("error: cannot handle signals: {e}"));
        for sig in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as the earlier signal
            // left it: only a second signal exits here.
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&stop))
                .map_err(err)?;
            // The first signal's number (a second one exits above before
            // it could overwrite it).
            signal_hook::flag::register_usize(sig, Arc::clone(&which), sig_usize(sig))
                .map_err(err)?;
            signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(err)?;
        }
        Ok(Interrupt { stop, which })
    }

    /// Whether a signal asked the run to stop.
    pub fn requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether a signal (not the run itself) set [`Interrupt::stop`].
    pub fn signalled(&self) -> bool {
        self.which.load(Ordering::Relaxed) != 0
    }

    /// The signal that asked the run to stop, as reports name it
    /// (`"stopped_by"`); none when no signal came.
    pub fn stopped_by(&self) -> Option<StoppedBy> {
        match self.which.load(Ordering::Relaxed) {
            w if w == sig_usize(SIGINT) => Some(StoppedBy::Sigint),
            w if w == sig_usize(SIGTERM) => Some(StoppedBy::Sigterm),
            _ => None,
        }
    }

    /// What a report's `"stopped_by"` says: nothing when the run was not
    /// `interrupted`; else the temporary files when they filled
    /// (`temp_full`: the run exits 2, whatever signal came too), else the
    /// signal.
    pub fn cause(&self, interrupted: bool, temp_full: bool) -> Option<StoppedBy> {
        if !interrupted {
            None
        } else if temp_full {
            Some(StoppedBy::TemporaryFilesFull)
        } else {
            self.stopped_by()
        }
    }

    /// The exit status for an interrupted run: 130 (SIGINT) or 143
    /// (SIGTERM).
    pub fn exit_code(&self) -> u8 {
        match self.which.load(Ordering::Relaxed) {
            w if w == sig_usize(SIGTERM) => 143,
            _ => 130,
        }
    }
}

fn sig_usize(sig: i32) -> usize {
    usize::try_from(sig).unwrap_or(0)
}
