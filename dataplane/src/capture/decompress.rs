//! Compressed captures, read as the capture they hold: the files of
//! `tcpdump -G 3600 -z gzip` or `-z zstd` (rotated and compressed as they
//! close) and `.pcap.gz` / `.pcap.zst` downloads, as Wireshark and tshark
//! read them (gzip, and zstd since Wireshark 4.2). Decompressed as a
//! stream, never whole, so memory does not grow with the file (a zstd
//! frame may ask for a window of at most 2^27 bytes, zstd's own default
//! bound; a larger one is refused before it is allocated); byte offsets in
//! messages are offsets in the decompressed capture. A compressed input
//! that holds no capture is named as such. xz and bzip2 are still refused
//! with the command that decompresses them
//! ([`super::FormatError::Compressed`]).

use std::io::{self, Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

use super::{CaptureError, FormatError, RecordStream};
use crate::flowlog::detect::GZIP_MAGIC;

pub use crate::sniff::Stream;

/// zstd's frame magic (RFC 8878 §3.1.1, little-endian 0xFD2FB528).
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The magic of a zstd skippable frame (RFC 8878 §3.1.2): its first byte
/// is any of 0x50..=0x5F, then these three. `pzstd` starts its output with
/// one (and one before every frame); `zstd -d` skips them.
pub(crate) const ZSTD_SKIPPABLE_MAGIC_TAIL: [u8; 3] = [0x2a, 0x4d, 0x18];

/// The largest zstd window accepted, as a power of two: zstd's default
/// decoder bound (128 MiB), what `zstd -d` accepts without `--long`.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// A compression a capture is read through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// gzip (RFC 1952), one member or several.
    Gzip,
    /// Zstandard (RFC 8878), one frame or several.
    Zstd,
}

impl Codec {
    /// The codec whose magic `head` starts with.
    #[must_use]
    pub fn of(head: &[u8]) -> Option<Codec> {
        if head.starts_with(&GZIP_MAGIC) {
            Some(Codec::Gzip)
        } else if head.starts_with(&ZSTD_MAGIC)
            || (head.first().is_some_and(|b| b & 0xf0 == 0x50)
                && head.get(1..4) == Some(&ZSTD_SKIPPABLE_MAGIC_TAIL[..]))
        {
            // A zstd frame, or a skippable frame (`pzstd`'s output).
            Some(Codec::Zstd)
        } else {
            None
        }
    }

    /// Its name in messages: `gzip`, `zstd`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
        }
    }

    /// The command that decompresses it to standard output: `zcat`,
    /// `zstdcat`.
    #[must_use]
    pub fn cat(self) -> &'static str {
        match self {
            Codec::Gzip => "zcat",
            Codec::Zstd => "zstdcat",
        }
    }

    /// The decompressed size `whole` (the entire compressed file) says of
    /// itself, to size a buffer once: gzip's last member's `ISIZE` (its
    /// size modulo 2^32: exact for one member under 4 GiB), the content
    /// size of zstd's first frame when it has one; 0 when unknown. Only a
    /// hint: a file can lie, and the reader's cap still holds.
    #[must_use]
    pub fn size_hint(self, whole: &[u8]) -> u64 {
        match self {
            Codec::Gzip => whole
                .len()
                .checked_sub(4)
                .and_then(|at| whole.get(at..))
                .and_then(|t| <[u8; 4]>::try_from(t).ok())
                .map_or(0, |t| u64::from(u32::from_le_bytes(t))),
            Codec::Zstd => zstd::zstd_safe::get_frame_content_size(whole)
                .ok()
                .flatten()
                .unwrap_or(0),
        }
    }

    /// Whether a read error of this codec's decoder is the stream ending
    /// early rather than corrupt data.
    #[must_use]
    pub fn ends_early(self, e: &io::Error) -> bool {
        match self {
            Codec::Gzip => gzip_ends_early(e),
            // Cut inside a frame: the decoder runs out of input. Bytes after
            // a whole frame that are no frame (trailing junk) are refused
            // as the next frame's header ("Unknown frame descriptor").
            Codec::Zstd => {
                e.kind() == io::ErrorKind::UnexpectedEof
                    || e.to_string() == "Unknown frame descriptor"
            }
        }
    }
}

/// Whether a read error of a gzip stream is the stream ending early: cut
/// inside a member (`UnexpectedEof`), or bytes after a whole member that
/// are no gzip member (trailing junk: the decoder then reads them as the
/// next member's header and refuses it; flate2 tells that refusal only by
/// its message).
#[must_use]
fn gzip_ends_early(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof
        || (e.kind() == io::ErrorKind::InvalidInput && e.to_string() == "invalid gzip header")
}

/// Says whether a compressed capture's stream ended early (a file cut, or
/// rotated and not yet finished): the reader then sees the end of the
/// capture there, as it does where a plain file is cut, and the run
/// warns.
#[derive(Debug, Clone)]
pub struct Cut {
    flag: Arc<AtomicBool>,
    /// Bytes of the capture given out before the stream ended.
    at: Arc<AtomicU64>,
    codec: Codec,
}

impl Cut {
    /// The stream ended early.
    #[must_use]
    pub fn happened(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// The compression of the stream.
    #[must_use]
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The warning for capture `name`, whose stream ended early: at the
    /// byte of the capture it holds where the decompressed data ended, the
    /// same whoever reads it (`replay` stops at the last whole record,
    /// `bench` holds every byte).
    #[must_use]
    pub fn warning(&self, name: &str) -> crate::warning::RunWarning {
        let at = self.at.load(Ordering::Relaxed);
        crate::warning::RunWarning::new(
            crate::warning::RunWarningCode::CompressedEndsEarly,
            format!(
                "{name}: the {} stream ends early, at byte {at} of the capture it holds (the file is cut, or was still being written): the records before were read",
                self.codec.name()
            ),
        )
        .file(name)
        .offset(at)
    }
}

/// Adds capture `name`'s warnings to `out`: those its reader found
/// (`found`), or, when its compressed stream ended early (`cut`), that
/// stream's warning instead. A stream that ends early ends the capture it
/// holds inside a record, most often: one warning says so, with the
/// compressed stream's code and offset, not a second one of the record it
/// cut. `replay`'s reader and `bench`'s loader both add them here.
pub fn add_warnings(
    out: &mut Vec<crate::warning::RunWarning>,
    cut: Option<&Cut>,
    name: &str,
    found: impl IntoIterator<Item = crate::warning::RunWarning>,
) {
    match cut.filter(|c| c.happened()) {
        Some(c) => out.push(c.warning(name)),
        None => out.extend(found),
    }
}

/// A decoder whose early end is the end of its output, noted in [`Cut`];
/// its other errors name the codec and the byte of the decompressed
/// capture where they happened (a gzip member whose CRC does not match
/// fails after its last byte: the damaged member ends there).
struct EndsEarly<R> {
    inner: R,
    cut: Cut,
    /// Bytes given out so far.
    out: u64,
}

impl<R: Read> Read for EndsEarly<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Err(e) if self.cut.codec.ends_early(&e) => {
                self.cut.at.store(self.out, Ordering::Relaxed);
                self.cut.flag.store(true, Ordering::Relaxed);
                Ok(0)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            // A frame whose header names a dictionary (`zstd -D`): zstd's
            // own words do not say what to do.
            Err(e) if self.cut.codec == Codec::Zstd && e.to_string() == "Dictionary mismatch" => {
                Err(io::Error::new(
                    e.kind(),
                    "a frame was compressed with a dictionary (`zstd -D DICT`), which zprsim does not have: decompress it with that dictionary first (`zstd -d -D DICT -c FILE | zprsim replay SCENARIO -`)",
                ))
            }
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!(
                    "{}: {e}, at byte {} of the capture it holds",
                    self.cut.codec.name(),
                    self.out
                ),
            )),
            Ok(n) => {
                self.out += n as u64;
                Ok(n)
            }
        }
    }
}

/// `r` decompressed when it starts with the magic of a [`Codec`], else `r`
/// as it is; with, when compressed, what says whether its stream ended
/// early. Reads (and gives back) its first four bytes.
///
/// # Errors
/// Those of reading the first bytes, or of setting up the zstd decoder.
pub fn decompressed(mut r: Stream) -> io::Result<(Stream, Option<Cut>)> {
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let back: Stream = Box::new(Cursor::new(head[..n].to_vec()).chain(r));
    let Some(codec) = Codec::of(&head[..n]) else {
        return Ok((back, None));
    };
    let cut = Cut {
        flag: Arc::default(),
        at: Arc::default(),
        codec,
    };
    let inner = Decoder::new(codec, back)?;
    let r = EndsEarly {
        inner,
        cut: cut.clone(),
        out: 0,
    };
    Ok((Box::new(r), Some(cut)))
}

/// `r` (compressed with `codec`, its magic included) decompressed as a
/// stream: a zstd frame that asks for a window over zstd's default bound
/// (2^27 bytes) is refused before the window is allocated. The capture
/// and flow-log readers both decompress through it.
pub enum Decoder<R: Read> {
    /// gzip, one member or several.
    Gzip(MultiGzDecoder<R>),
    /// zstd, one frame or several.
    Zstd(zstd::stream::read::Decoder<'static, io::BufReader<R>>),
}

impl<R: Read> Decoder<R> {
    /// `r` decompressed with `codec`.
    ///
    /// # Errors
    /// Those of setting up the zstd decoder.
    pub fn new(codec: Codec, r: R) -> io::Result<Decoder<R>> {
        Ok(match codec {
            Codec::Gzip => Decoder::Gzip(MultiGzDecoder::new(r)),
            Codec::Zstd => {
                let mut d = zstd::stream::read::Decoder::new(r)?;
                d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
                Decoder::Zstd(d)
            }
        })
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

/// The records of `r`, a capture or a compressed one; when compressed,
/// with what says whether its stream ended early.
///
/// # Errors
/// As [`RecordStream::new`]; compressed data that does not hold a capture
/// is [`FormatError::CompressedNotCapture`], and one that ends early,
/// before the capture's header is whole,
/// [`FormatError::CompressedEndsEarly`].
pub fn records(r: Stream) -> Result<(RecordStream<Stream>, Option<Cut>), CaptureError> {
    let (r, cut) = decompressed(r)?;
    match RecordStream::new(r) {
        Ok(s) => Ok((s, cut)),
        Err(e) => Err(match &cut {
            Some(c) if c.happened() && matches!(e, CaptureError::Format { .. }) => {
                CaptureError::Format {
                    offset: 0,
                    kind: FormatError::CompressedEndsEarly {
                        format: c.codec().name(),
                    },
                }
            }
            Some(c) => inside(c.codec(), e),
            None => e,
        }),
    }
}

/// An error of reading the start of the capture a compressed file holds,
/// told as such: content that is no capture is
/// [`FormatError::CompressedNotCapture`], compressed content
/// [`FormatError::CompressedTwice`]; a read error named the codec and
/// its byte as it was read ([`decompressed`]).
#[must_use]
pub fn inside(codec: Codec, e: CaptureError) -> CaptureError {
    match e {
        CaptureError::Format {
            offset,
            kind: FormatError::Compressed { format, cat },
        } => CaptureError::Format {
            offset,
            kind: FormatError::CompressedTwice {
                outer: codec.name(),
                outer_cat: codec.cat(),
                format,
                cat,
            },
        },
        CaptureError::Format {
            offset,
            kind: FormatError::NotCapture | FormatError::Empty,
        } => CaptureError::Format {
            offset,
            kind: FormatError::CompressedNotCapture {
                format: codec.name(),
            },
        },
        e => e,
    }
}
