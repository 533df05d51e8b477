//! Reading a whole input file under a size limit: `-` is standard input,
//! and the limit holds for what is read, not for what the file system
//! reports (a FIFO, `/dev/zero` or a growing file says 0 bytes or less than
//! it gives).

use std::io::Read;
use std::path::Path;

use crate::output::is_std;

/// Why a capped read failed.
#[derive(Debug)]
pub enum CappedError {
    /// The file could not be opened or read.
    Io(std::io::Error),
    /// It holds more than the limit.
    TooLong,
}

/// Reads all of `path` (`-`: standard input), at most `max` bytes: one
/// byte more is read to tell a file that is too long.
///
/// # Errors
/// When it cannot be read, or holds more than `max` bytes.
pub fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, CappedError> {
    let mut bytes = Vec::new();
    let take = max.saturating_add(1);
    if is_std(path) {
        std::io::stdin()
            .lock()
            .take(take)
            .read_to_end(&mut bytes)
            .map_err(CappedError::Io)?;
    } else {
        let file = std::fs::File::open(path).map_err(CappedError::Io)?;
        // Sized once from the file's length (capped): growing from empty
        // copied a 2.4 MB scenario about twice over and faulted in every
        // doubling (~12% of `check`'s page faults).
        if let Ok(meta) = file.metadata() {
            bytes.reserve(usize::try_from(meta.len().min(take)).unwrap_or(0));
        }
        file.take(take)
            .read_to_end(&mut bytes)
            .map_err(CappedError::Io)?;
    }
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
        return Err(CappedError::TooLong);
    }
    Ok(bytes)
}
