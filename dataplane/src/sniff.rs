//! Looking at the first bytes of an input that can be read only once.
//!
//! Whether an input is a capture or flow logs is decided from its first
//! bytes. A regular file is simply opened twice. Standard input, a pipe, a
//! FIFO or `<(...)` cannot be read again, so the bytes looked at are kept
//! here, with the open stream, and the reader that opens the input later
//! ([`open`]) gets them back in front of the rest of the stream: nothing is
//! lost, and the stream is opened once.
//!
//! The process holds at most one kept head per input path, a few KiB each
//! (zstd: up to its first block, at most [`ZSTD_HEAD`]); the lock is taken
//! once per input at start-up, never per packet.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::output::is_std;

/// A readable input.
pub type Stream = Box<dyn Read + Send>;

/// Bytes looked at, at most.
pub const HEAD: usize = 4096;

/// Bytes looked at, at most, when they start a zstd frame: its first
/// block, which may be up to 128 KiB compressed (RFC 8878 §3.1.1.2.4),
/// after its headers. zstd writes nothing out before a block is whole, so
/// the first [`HEAD`] bytes of a large frame decompress to nothing.
pub const ZSTD_HEAD: usize = (128 << 10) + 64;

/// Heads looked at and their open streams, by input path.
static KEPT: Mutex<Vec<(PathBuf, Vec<u8>, Stream)>> = Mutex::new(Vec::new());

/// Whether `path` is read as a stream (standard input, a pipe, a FIFO, a
/// character device), not a regular file that can be opened again.
#[must_use]
pub fn is_stream(path: &Path) -> bool {
    is_std(path) || std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

/// Opens `path` afresh: `-` is standard input (a descriptor of its own, so
/// the reader does its own buffering).
fn open_fresh(path: &Path) -> std::io::Result<Stream> {
    if is_std(path) {
        use std::os::fd::AsFd;
        let fd = std::io::stdin().as_fd().try_clone_to_owned()?;
        Ok(Box::new(File::from(fd)))
    } else {
        Ok(Box::new(File::open(path)?))
    }
}

/// Whether `head` says enough to tell a capture from flow logs: a first
/// byte that is neither blank, a byte-order mark nor gzip's or zstd's
/// magic (they are decided from what they decompress to, so gzip takes the
/// whole head, zstd up to its first whole block: [`zstd_decided`]).
fn decided(head: &[u8]) -> bool {
    use crate::capture::decompress::{Codec, ZSTD_MAGIC, ZSTD_SKIPPABLE_MAGIC_TAIL};
    // A zstd frame, or `pzstd`'s skippable frame before it ([`Codec::of`]).
    if Codec::of(head) == Some(Codec::Zstd) {
        return zstd_decided(head);
    }
    let skippable_start = head.first().is_some_and(|b| b & 0xf0 == 0x50)
        && ZSTD_SKIPPABLE_MAGIC_TAIL.starts_with(&head[1.min(head.len())..]);
    if !head.is_empty() && (ZSTD_MAGIC.starts_with(head) || skippable_start) {
        return false;
    }
    let b = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match b.iter().find(|c| !c.is_ascii_whitespace()) {
        Some(0x1f) | None => false,
        Some(0xEF) => b.len() >= 3,
        Some(_) => true,
    }
}

/// Whether the head of a zstd frame decompresses to something (looked at
/// when its length reaches a power of two, from [`HEAD`] on: the work is
/// twice the head's at most).
fn zstd_decided(head: &[u8]) -> bool {
    if head.len() < HEAD || !head.len().is_power_of_two() {
        return false;
    }
    let Ok(mut d) =
        crate::capture::decompress::Decoder::new(crate::capture::decompress::Codec::Zstd, head)
    else {
        return true;
    };
    let mut one = [0u8; 1];
    // The head ends inside the first block: not yet. Another error (a
    // window over the bound, corrupt data) decides: the reader names it.
    match d.read(&mut one) {
        Ok(n) => n > 0,
        Err(e) => e.kind() != std::io::ErrorKind::UnexpectedEof,
    }
}

/// The most bytes looked at for a head that starts so.
fn head_max(head: &[u8]) -> usize {
    use crate::capture::decompress::Codec;
    if Codec::of(head) == Some(Codec::Zstd) {
        ZSTD_HEAD
    } else {
        HEAD
    }
}

/// The first bytes of `path` (up to [`HEAD`]; [`ZSTD_HEAD`] for zstd;
/// fewer at its end, or as soon
/// as they tell a capture from flow logs, so a live pipe is not waited on
/// for a whole head). A stream's bytes are kept for [`open`].
///
/// # Errors
/// When it cannot be opened or read.
pub fn head(path: &Path) -> std::io::Result<Vec<u8>> {
    let stream = is_stream(path);
    if stream {
        let kept = KEPT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, h, _)) = kept.iter().find(|(p, ..)| p == path) {
            return Ok(h.clone());
        }
    }
    let mut r = open_fresh(path)?;
    let mut head = Vec::with_capacity(HEAD);
    let mut buf = [0u8; 512];
    while head.len() < head_max(&head) && !decided(&head) {
        // Up to the next power of two at most, where a zstd head is
        // looked at.
        let to_pow2 = if head.len() < HEAD {
            usize::MAX
        } else {
            (head.len() + 1).next_power_of_two() - head.len()
        };
        let want = buf.len().min(head_max(&head) - head.len()).min(to_pow2);
        match r.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if stream {
        KEPT.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((path.to_path_buf(), head.clone(), r));
    }
    Ok(head)
}

/// Opens `path` for reading: a stream whose head was looked at ([`head`])
/// gives that head first, then the rest; anything else is opened afresh.
///
/// # Errors
/// When it cannot be opened.
pub fn open(path: &Path) -> std::io::Result<Stream> {
    let mut kept = KEPT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(i) = kept.iter().position(|(p, ..)| p == path) {
        let (_, head, rest) = kept.swap_remove(i);
        return Ok(Box::new(Cursor::new(head).chain(rest)));
    }
    drop(kept);
    open_fresh(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_head_is_decided_by_its_first_telling_byte() {
        assert!(decided(b"\xd4\xc3\xb2\xa1"));
        assert!(decided(b"  {"));
        assert!(decided(b"\xEF\xBB\xBF["));
        assert!(!decided(b"  \n"));
        assert!(!decided(b"\x1f\x8b\x08"));
        assert!(!decided(b""));
        // zstd: decided once its head decompresses to something.
        let small = zstd::stream::encode_all(&b"{}"[..], 3).unwrap();
        assert!(!decided(&small));
        assert!(!decided(&small[..1]));
        let big: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let big = zstd::stream::encode_all(&big[..], 3).unwrap();
        assert!(big.len() > 3 * HEAD);
        assert!(!decided(&big[..HEAD]));
        let first = (HEAD..=ZSTD_HEAD)
            .filter(|n| n.is_power_of_two())
            .find(|&n| decided(&big[..n]));
        assert!(first.is_some_and(|n| n > HEAD), "{first:?}");
    }

    #[test]
    fn a_fifo_looked_at_gives_its_whole_content_once_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let body: Vec<u8> = (0..20_000u32)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        let (f2, b2) = (fifo.clone(), body.clone());
        let writer = std::thread::spawn(move || {
            std::fs::write(&f2, &b2).unwrap();
        });
        assert!(is_stream(&fifo));
        let h = head(&fifo).unwrap();
        // The first byte (0) tells a capture: the head stops there.
        assert!(!h.is_empty() && body.starts_with(&h));
        // Looked at again: the same head, nothing more consumed.
        assert_eq!(head(&fifo).unwrap(), h);
        let mut all = Vec::new();
        open(&fifo).unwrap().read_to_end(&mut all).unwrap();
        writer.join().unwrap();
        assert_eq!(all, body);
    }
}
