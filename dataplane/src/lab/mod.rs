//! `zprsim lab`'s effects: network namespaces, one per host of a scenario,
//! behind one `zprsim tap`, and the state file that names them.
//!
//! Everything the lab makes is named from a fixed prefix (`zl` unless
//! `ZPRSIM_LAB_PREFIX` says otherwise, [`prefix`]): namespace
//! `zl-<n>-<host>` and TAP device `zlt<n>` for host number `n`. The names,
//! the tap's pid and its file paths are written to a state file
//! (`state.json` in the state directory, see [`lab_dir`]) *before* anything
//! is created, so `status`, `exec`, `reload` and `down` work from any
//! process, and `down` removes everything by name ([`teardown`]) even after
//! a crash of the tap or of `up` itself.
//!
//! The state directory is the user's own (mode 0700): `ZPRSIM_LAB_DIR`,
//! else `$XDG_RUNTIME_DIR/zprsim-lab`, else `/run/user/UID/zprsim-lab`,
//! else `/tmp/zprsim-lab-UID`. `up` empties it of a previous lab's files
//! before it starts ([`claim`]), and `down` shows a final report only when
//! this lab's tap wrote it ([`written_by`]).
//!
//! The binary's `lab.rs` parses the command line, starts the tap (itself,
//! as `zprsim tap`) and prints; this module does the rest.

mod command;
mod net;
mod state;

pub use command::unrunnable;
pub use net::{add_devices, configure_host, tap_alive, teardown};
pub use state::{
    LAB_FILES, LabHost, State, claim, ensure_lab_dir, find_host, lab_dir, prefix, read_json,
    read_state, sanitize, state_path, write_state, written_by,
};

/// Why a lab step failed, in words (the binary prints it after `error: `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LabError(pub String);

impl LabError {
    fn new(message: impl Into<String>) -> Self {
        LabError(message.into())
    }
}
