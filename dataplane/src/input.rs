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

/// Text of a file read whole: UTF-8 (a byte order mark kept, for the
/// reader to skip), or UTF-16 with its byte order mark, which Windows
/// PowerShell 5's `>` writes (`oci network vcn list ... > vcns.json`).
/// `std`'s `decode_utf16` does the decoding; no crate is needed for it.
///
/// # Errors
/// The byte offset where the text stops being UTF-8 (or UTF-16), and which.
pub fn text_of(bytes: Vec<u8>) -> Result<String, String> {
    let utf16 = |be: bool| {
        let units = bytes[2..].chunks(2).map(|c| match (c, be) {
            ([a, b], true) => u16::from_be_bytes([*a, *b]),
            ([a, b], false) => u16::from_le_bytes([*a, *b]),
            // An odd last byte: not a code unit.
            _ => 0xDC00,
        });
        let mut out = String::with_capacity(bytes.len() / 2);
        for (i, c) in char::decode_utf16(units).enumerate() {
            match c {
                Ok(c) => out.push(c),
                Err(_) => {
                    return Err(format!(
                        "byte {}: not UTF-16 text (the file starts with a UTF-16 byte order mark)",
                        2 + 2 * i
                    ));
                }
            }
        }
        Ok(out)
    };
    match bytes.get(..2) {
        Some([0xFF, 0xFE]) => utf16(false),
        Some([0xFE, 0xFF]) => utf16(true),
        _ => String::from_utf8(bytes)
            .map_err(|e| format!("byte {}: not UTF-8 text", e.utf8_error().valid_up_to())),
    }
}
