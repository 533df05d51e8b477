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
    if is_std(path) {
        return read_capped_from(std::io::stdin().lock(), max, 0);
    }
    let file = std::fs::File::open(path).map_err(CappedError::Io)?;
    // Sized once from the file's length (capped): growing from empty
    // copied a 2.4 MB scenario about twice over and faulted in every
    // doubling (~12% of `check`'s page faults).
    let len = file.metadata().map_or(0, |m| m.len());
    read_capped_from(file, max, len)
}

/// All of `r`, at most `max` bytes: one byte more is read to tell a
/// stream that is too long (a decompressor's output, `import`'s). `hint`:
/// its length when known, to size the buffer once (0: unknown).
///
/// # Errors
/// When it cannot be read, or holds more than `max` bytes.
pub fn read_capped_from(mut r: impl Read, max: u64, hint: u64) -> Result<Vec<u8>, CappedError> {
    let take = usize::try_from(max.saturating_add(1)).unwrap_or(usize::MAX);
    // `read_to_end` alone doubles its buffer, past the cap too: a
    // decompression bomb refused at 256 MiB held 512 MiB (539 MB
    // resident), and every buffer outgrown stays resident a while under
    // mimalloc. So: one buffer of the size hinted, read to it and no
    // further; past it (no hint, or a wrong one) chunks of a fixed size,
    // joined once the end is seen within the cap. A stream over the cap
    // holds at most the cap (and a chunk); one within it, its bytes and
    // at most their copy while they are joined.
    // A hint the allocator cannot give (a memory limit) is no hint.
    let mut first = Vec::new();
    if first
        .try_reserve_exact(usize::try_from(hint).unwrap_or(0).min(take))
        .is_err()
    {
        first = Vec::new();
    }
    let hinted = first.capacity();
    let mut held = read_into(&mut r, &mut first, hinted)?;

    let mut more: Vec<Vec<u8>> = Vec::new();
    if held == hinted {
        loop {
            let room = CHUNK.min(take - held);
            if room == 0 {
                break;
            }
            let mut c = Vec::with_capacity(room);
            let n = read_into(&mut r, &mut c, room)?;
            held += n;
            if n > 0 {
                more.push(c);
            }
            if n < room {
                break;
            }
        }
    }
    if u64::try_from(held).unwrap_or(u64::MAX) > max {
        return Err(CappedError::TooLong);
    }
    if more.is_empty() {
        return Ok(first);
    }
    let mut bytes = Vec::with_capacity(held);
    bytes.append(&mut first);
    drop(first);
    for c in more {
        bytes.extend_from_slice(&c);
    }
    Ok(bytes)
}

/// `bytes` (a whole file compressed with `codec`) decompressed, refused
/// as soon as more than `cap` bytes come out (one byte past it is read to
/// tell): a decompression bomb holds at most the cap (and a chunk), its
/// buffer sized once from the size the file says of itself
/// ([`Codec::size_hint`]). `import`'s CLI outputs and scenarios are read
/// through it.
///
/// # Errors
/// When it does not decompress ([`CappedError::Io`]: [`Codec::damage`]
/// says where), or holds more than `cap` bytes.
pub fn decompressed_capped(
    codec: crate::capture::decompress::Codec,
    bytes: &[u8],
    cap: u64,
) -> Result<Vec<u8>, CappedError> {
    let d = crate::capture::decompress::Decoder::new(codec, bytes).map_err(CappedError::Io)?;
    read_capped_from(d, cap, codec.size_hint(bytes))
}

/// Reads at most `room` bytes of `r` into `buf` (its capacity, reserved
/// by the caller, so it does not grow): the bytes read, fewer at the end.
fn read_into(r: &mut impl Read, buf: &mut Vec<u8>, room: usize) -> Result<usize, CappedError> {
    r.by_ref()
        .take(u64::try_from(room).unwrap_or(u64::MAX))
        .read_to_end(buf)
        .map_err(CappedError::Io)
}

/// Bytes of each chunk [`read_capped_from`] reads past its hint.
const CHUNK: usize = 4 << 20;

/// Where a file stops being text, and in which encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotText {
    /// Byte offset in the file (the byte order mark counted).
    pub byte: u64,
    /// The file reads as UTF-16 ([`utf16_start`]: a byte order mark, or
    /// ASCII characters each beside a NUL byte).
    pub utf16: bool,
}

impl NotText {
    /// The message naming the file as `what` (`the scenario`).
    #[must_use]
    pub fn of(&self, what: &str) -> String {
        self.message(Some(what))
    }

    /// The one wording of both forms: `byte N: [WHAT is ]not UTF-8 text`,
    /// and for UTF-16 why it was read as such.
    fn message(&self, what: Option<&str>) -> String {
        let (is, it) = match what {
            Some(w) => (format!("{w} is "), "it"),
            None => (String::new(), "the file"),
        };
        if self.utf16 {
            format!(
                "byte {}: {is}not UTF-16 text ({it} starts as UTF-16 text does)",
                self.byte
            )
        } else {
            format!("byte {}: {is}not UTF-8 text", self.byte)
        }
    }
}

impl std::fmt::Display for NotText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(None))
    }
}

impl std::error::Error for NotText {}

/// Text of a file read whole: UTF-8 (a byte order mark kept, for the
/// reader to skip), or UTF-16 with its byte order mark, which Windows
/// PowerShell 5's `>` writes (`oci network vcn list ... > vcns.json`),
/// decoded by [`Utf16Reader`], the decoder flow logs read as a stream.
/// Every text file a user writes or exports is read through it: the
/// scenario (TOML or JSON) and its policy files, `verify`'s expectations
/// and packs, `import`'s exports. Positions in later errors (line and
/// column) are the decoded text's, as an editor shows the file.
///
/// # Errors
/// The byte offset where the text stops being UTF-8 (or UTF-16), and which.
pub fn text_of(bytes: Vec<u8>) -> Result<String, NotText> {
    match utf16_start(&bytes) {
        Some((big_endian, mark)) => {
            let mut out = String::with_capacity(bytes.len() / 2);
            Utf16Reader::starting_at(&bytes[mark..], big_endian, mark as u64)
                .read_to_string(&mut out)
                .map_err(|e| {
                    e.get_ref()
                        .and_then(|i| i.downcast_ref::<NotText>())
                        .copied()
                        .unwrap_or(NotText {
                            byte: mark as u64,
                            utf16: true,
                        })
                })?;
            Ok(out)
        }
        None => String::from_utf8(bytes).map_err(|e| NotText {
            byte: e.utf8_error().valid_up_to() as u64,
            utf16: false,
        }),
    }
}

/// The byte order of UTF-16 text and the length of its byte order mark
/// (2, or 0 without one), or `None` for UTF-8. Without a mark, text is
/// UTF-16 when its first two characters are ASCII, each beside a NUL byte
/// (`[a, 0, b, 0]` little-endian, `[0, a, 0, b]` big-endian), as `iconv -t
/// UTF-16LE` or .NET's `UnicodeEncoding` without a mark write it: read as
/// UTF-8, its NUL bytes gave a parse error at column 2 of line 1 ("key
/// with no value"), and none of the text inputs starts with a NUL.
#[must_use]
pub fn utf16_start(head: &[u8]) -> Option<(bool, usize)> {
    if let Some(be) = utf16_order(head) {
        return Some((be, 2));
    }
    let text = |c: &u8| c.is_ascii_graphic() || c.is_ascii_whitespace();
    match head.get(..4)? {
        [a, 0, b, 0] if text(a) && text(b) => Some((false, 0)),
        [0, a, 0, b] if text(a) && text(b) => Some((true, 0)),
        _ => None,
    }
}

/// The byte order of UTF-16 text that starts with a byte order mark
/// (`FF FE`: little-endian, as Windows PowerShell 5's `>` writes; `FE FF`:
/// big-endian), or `None`.
fn utf16_order(head: &[u8]) -> Option<bool> {
    match head.get(..2) {
        Some([0xFF, 0xFE]) => Some(false),
        Some([0xFE, 0xFF]) => Some(true),
        _ => None,
    }
}

/// UTF-16 text read as UTF-8, as a stream: for inputs read line by line
/// rather than whole (flow logs that `oci logging-search search-logs ... >
/// log.json` wrote in Windows PowerShell 5). Built past the byte order
/// mark; text that is not UTF-16 (a lone surrogate, an odd last byte) is
/// an `InvalidData` error naming its byte offset in the file.
pub struct Utf16Reader<R> {
    inner: R,
    big_endian: bool,
    /// Decoded bytes not yet given out: `out[at..]`.
    out: Vec<u8>,
    at: usize,
    /// The first byte of a code unit whose second is still to come, and
    /// its file offset.
    odd: Option<(u8, u64)>,
    /// A high surrogate whose low one is still to come, and its offset.
    high: Option<(u16, u64)>,
    /// File offset of the next byte read from `inner`.
    offset: u64,
}

impl<R: Read> Utf16Reader<R> {
    /// Reads `inner`, UTF-16 in this byte order, from byte `offset` of
    /// the file (the length of its byte order mark: [`utf16_start`]).
    pub fn starting_at(inner: R, big_endian: bool, offset: u64) -> Utf16Reader<R> {
        Utf16Reader {
            inner,
            big_endian,
            out: Vec::new(),
            at: 0,
            odd: None,
            high: None,
            offset,
        }
    }

    fn bad(at: u64) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            NotText {
                byte: at,
                utf16: true,
            },
        )
    }

    /// Decodes the next bytes of `inner` into `out`; false at its end.
    fn refill(&mut self) -> std::io::Result<bool> {
        let mut raw = [0u8; 16 << 10];
        let n = loop {
            match self.inner.read(&mut raw) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                r => break r?,
            }
        };
        self.out.clear();
        self.at = 0;
        if n == 0 {
            return match (self.odd, self.high) {
                (None, None) => Ok(false),
                (Some((_, at)), _) | (None, Some((_, at))) => Err(Self::bad(at)),
            };
        }
        for &byte in &raw[..n] {
            let pos = self.offset;
            self.offset += 1;
            let Some((first, at)) = self.odd.take() else {
                self.odd = Some((byte, pos));
                continue;
            };
            let unit = if self.big_endian {
                u16::from_be_bytes([first, byte])
            } else {
                u16::from_le_bytes([first, byte])
            };
            let code = match (self.high.take(), unit) {
                (None, 0xD800..=0xDBFF) => {
                    self.high = Some((unit, at));
                    continue;
                }
                (None, 0xDC00..=0xDFFF) => return Err(Self::bad(at)),
                (None, u) => u32::from(u),
                (Some((h, _)), 0xDC00..=0xDFFF) => {
                    0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(unit) - 0xDC00)
                }
                (Some((_, h_at)), _) => return Err(Self::bad(h_at)),
            };
            let c = char::from_u32(code).ok_or_else(|| Self::bad(at))?;
            let mut utf8 = [0u8; 4];
            self.out
                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
        Ok(true)
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.out.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod utf16_tests {
    use super::*;

    fn utf16(text: &str, be: bool) -> Vec<u8> {
        let mut b = if be {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for u in text.encode_utf16() {
            b.extend(if be { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        b
    }

    /// Read through a reader that gives one byte at a time, so code units
    /// and surrogate pairs are cut across reads.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(out)) => {
                    *out = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn utf16_reads_as_utf8_in_either_order_and_across_reads() {
        let text = "{\"a\": \"é 😀 ☃\"}\r\n[1]\n";
        for be in [false, true] {
            let bytes = utf16(text, be);
            assert_eq!(utf16_order(&bytes), Some(be));
            let mut got = String::new();
            Utf16Reader::starting_at(Trickle(&bytes[2..]), be, 2)
                .read_to_string(&mut got)
                .unwrap_or_default();
            assert_eq!(got, text);
        }
        // A lone low surrogate at byte 4 (after the mark and one unit).
        let bad = [0xFF, 0xFE, b'{', 0, 0x00, 0xDC];
        let e = Utf16Reader::starting_at(&bad[2..], false, 2)
            .read_to_end(&mut Vec::new())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("byte 4: not UTF-16"), "{e}");
        // An odd last byte.
        let odd = [0xFF, 0xFE, b'{', 0, b'}'];
        assert!(
            Utf16Reader::starting_at(&odd[2..], false, 2)
                .read_to_end(&mut Vec::new())
                .is_err()
        );
        assert_eq!(utf16_order(b"{}"), None);
    }

    /// A file read whole decodes as the stream does, and an error after a
    /// character outside the BMP (two code units) names its own byte: it
    /// was counted as one unit, so the offset came out 2 bytes short.
    #[test]
    fn text_of_utf16_names_the_byte_after_a_surrogate_pair() {
        let mut bytes = utf16("😀", false);
        bytes.extend([0x00, 0xDC]);
        assert_eq!(
            text_of(bytes).unwrap_err().to_string(),
            "byte 6: not UTF-16 text (the file starts as UTF-16 text does)"
        );
        let text = "{\"a\": \"é 😀\"}\n";
        assert_eq!(text_of(utf16(text, true)).as_deref(), Ok(text));
        let mut odd = utf16("{}", false);
        odd.push(b' ');
        assert_eq!(
            text_of(odd).unwrap_err().to_string(),
            "byte 6: not UTF-16 text (the file starts as UTF-16 text does)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::NotText;

    /// Both forms of the message, from one wording.
    #[test]
    fn not_text_says_the_same_with_and_without_a_name() {
        let utf8 = NotText {
            byte: 13,
            utf16: false,
        };
        let utf16 = NotText {
            byte: 20,
            utf16: true,
        };
        assert_eq!(utf8.to_string(), "byte 13: not UTF-8 text");
        assert_eq!(
            utf8.of("the scenario"),
            "byte 13: the scenario is not UTF-8 text"
        );
        assert_eq!(
            utf16.to_string(),
            "byte 20: not UTF-16 text (the file starts as UTF-16 text does)"
        );
        assert_eq!(
            utf16.of("the scenario"),
            "byte 20: the scenario is not UTF-16 text (it starts as UTF-16 text does)"
        );
    }
}

#[cfg(test)]
mod capped_tests {
    use std::io::Read as _;

    use super::{CappedError, read_capped_from};
    use crate::capture::decompress::Codec;

    /// The most this thread holds while `f` runs, over what it held before.
    fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let start = crate::test_alloc::held();
        crate::test_alloc::reset();
        let out = f();
        (out, crate::test_alloc::peak_since(start))
    }

    /// Planning 5 (note-s18): a stream past the cap held twice the cap (a
    /// buffer doubled past it, and its old block while it moved): a 256
    /// MiB gzip bomb peaked near 800 MB. It now holds the cap and no more,
    /// hinted or not; one within it, its bytes (hint right) or at most
    /// twice them (no hint: chunks joined).
    #[test]
    fn a_capped_read_holds_about_the_cap_not_twice_it() {
        let cap: u64 = 10 << 20;
        let slack = 64 << 10;
        let over = || std::io::repeat(b' ').take(3 * cap);
        for hint in [0, cap / 3, 3 * cap] {
            let (r, peak) = peak_of(|| read_capped_from(over(), cap, hint));
            assert!(matches!(r, Err(CappedError::TooLong)), "hint {hint}");
            let most = usize::try_from(cap).unwrap() + slack;
            assert!(
                peak <= most,
                "hint {hint}: {peak} bytes held for a cap of {cap}"
            );
        }
        let len = usize::try_from(cap).unwrap() - 7;
        let data: Vec<u8> = (0..len)
            .map(|i| u8::try_from(i % 251).unwrap_or(0))
            .collect();
        for (hint, most) in [
            (len, len + slack),
            (0, 2 * len + slack),
            (100, 2 * len + slack),
        ] {
            let (r, peak) = peak_of(|| read_capped_from(&data[..], cap, hint as u64));
            assert!(r.ok().as_ref() == Some(&data), "hint {hint}");
            assert!(peak <= most, "hint {hint}: {peak} bytes held for {len}");
        }
    }

    /// A gzip file says its size (`ISIZE`), a zstd frame may: the hint.
    #[test]
    fn a_compressed_file_hints_its_size() {
        use std::io::Write as _;
        let data = vec![b'x'; 100_000];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap_or_default();
        let gz = gz.finish().unwrap_or_default();
        assert_eq!(Codec::Gzip.size_hint(&gz), 100_000);
        let zst = zstd::bulk::compress(&data, 1).unwrap_or_default();
        assert_eq!(Codec::Zstd.size_hint(&zst), 100_000);
        assert_eq!(Codec::Gzip.size_hint(&[0x1f]), 0);
    }
}
