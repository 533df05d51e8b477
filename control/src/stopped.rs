//! Why a run ended early: the `"stopped_by"` field of every report that
//! has `"interrupted"`. `"interrupted": true` says the outputs are valid
//! but partial; `stopped_by` says what stopped the run, since a signal is
//! not the only cause (a full disk under the temporary files stops the
//! reading of flow logs the same way, and exits 2, not 130 or 143).
//!
//! ```
//! use zprsim_control::stopped::StoppedBy;
//! assert_eq!(serde_json::to_value(StoppedBy::Sigint).unwrap(), "sigint");
//! assert_eq!(
//!     serde_json::to_value(StoppedBy::TemporaryFilesFull).unwrap(),
//!     "temporary-files-full"
//! );
//! ```

use serde::Serialize;

/// What stopped a run before the end of its input. Serialized in
/// kebab-case; values are added, never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoppedBy {
    /// SIGINT (Ctrl-C): the run exits 130.
    Sigint,
    /// SIGTERM: the run exits 143.
    Sigterm,
    /// The temporary files under the flow records could not be written
    /// (a full disk, a quota, a file size limit): the run exits 2, with a
    /// `temporary-files-full` warning saying where.
    TemporaryFilesFull,
}
