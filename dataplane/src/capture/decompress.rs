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

use std::io::{self, BufRead, Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
        // A file may lie (`ff ff ff ff` at its end): never more than the
        // codec's largest ratio of the compressed bytes (deflate 1032:1;
        // zstd's run-length blocks, 4 bytes for 128 KiB, 32768:1), so a
        // few hundred bytes never reserve hundreds of MiB up front; past
        // a hint, the reading goes on in chunks anyway.
        let ratio = match self {
            Codec::Gzip => 1032,
            Codec::Zstd => 32768,
        };
        let most = u64::try_from(whole.len())
            .unwrap_or(u64::MAX)
            .saturating_mul(ratio);
        let claimed = match self {
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
        };
        claimed.min(most)
    }

    /// What one unit of its stream is called: a gzip `member`, a zstd
    /// `frame`.
    #[must_use]
    pub fn unit(self) -> &'static str {
        match self {
            Codec::Gzip => "member",
            Codec::Zstd => "frame",
        }
    }

    /// Whether a read error of this codec's decoder that ends the stream
    /// ([`Codec::ends_early`]) is bytes after a whole member (frame) that
    /// are no member (trailing bytes, refused as the next one's header),
    /// rather than a stream cut inside one.
    #[must_use]
    pub fn trailing(self, e: &io::Error) -> bool {
        match self {
            Codec::Gzip => e.get_ref().is_some_and(|i| {
                i.downcast_ref::<TrailingBytes>().is_some()
                    || i.downcast_ref::<ZeroPadding>().is_some()
            }),
            Codec::Zstd => e.to_string() == "Unknown frame descriptor",
        }
    }

    /// The byte of the compressed file where the trailing bytes or the
    /// cut member of a stream's early end `e` start, when the decoder
    /// tells ([`Members`]: gzip).
    #[must_use]
    pub fn file_offset(e: &io::Error) -> Option<u64> {
        let i = e.get_ref()?;
        i.downcast_ref::<TrailingBytes>()
            .map(|t| t.at)
            .or_else(|| i.downcast_ref::<ZeroPadding>().map(|z| z.at))
            .or_else(|| i.downcast_ref::<CutMember>().map(|c| c.at))
    }

    /// The zero padding a stream's early end `e` is ([`ZeroPadding`]: zero
    /// bytes from its last whole gzip member to the file's end): where it
    /// starts in the compressed file and how many bytes. A case of
    /// [`Codec::trailing`], told apart so every reader says it alike
    /// ([`padding_text`]).
    #[must_use]
    pub fn padding(e: &io::Error) -> Option<(u64, u64)> {
        e.get_ref()?
            .downcast_ref::<ZeroPadding>()
            .map(|z| (z.at, z.len))
    }

    /// Why the stream ended before its end, for a message: trailing bytes
    /// ([`Codec::trailing`]), or a stream cut inside a member.
    #[must_use]
    pub fn early_end(self, e: &io::Error) -> String {
        let (name, unit) = (self.name(), self.unit());
        if let Some((at, len)) = Codec::padding(e) {
            padding_text(at, len)
        } else if self.trailing(e) {
            let from = Codec::file_offset(e)
                .map_or(String::new(), |at| format!(", from byte {at} of the file,"));
            format!(
                "the bytes after its last whole {name} {unit}{from} are not {name} data (trailing bytes): ignored"
            )
        } else {
            format!(
                "the {name} stream ends early, inside a {unit} ({e}): the file is cut, or was still being written"
            )
        }
    }

    /// What is wrong with `whole`, a whole file of this codec whose
    /// decompression failed, where it is: bytes after its last whole
    /// member that are no member, or a member cut by the file's end.
    /// `None` for other damage (a checksum, corrupt data). Members are
    /// decompressed again to find their ends: called once, after a
    /// failure within the caller's cap.
    #[must_use]
    pub fn damage(self, whole: &[u8]) -> Option<Damage> {
        let mut at = 0usize;
        while let Some(rest) = whole.get(at..).filter(|r| !r.is_empty()) {
            // Zeros to the end after a whole gzip member: padding, as
            // [`Members`] reports it.
            if self == Codec::Gzip && at > 0 && rest.iter().all(|&b| b == 0) {
                return Some(Damage::Padding {
                    at: at as u64,
                    len: rest.len() as u64,
                });
            }
            // The start of gzip's magic and no more: a member cut in its
            // header, as [`Members`] (and `gzip -t`: "unexpected end of
            // file") reads it, not trailing bytes.
            if self == Codec::Gzip && rest.len() < GZIP_MAGIC.len() && GZIP_MAGIC.starts_with(rest)
            {
                return Some(Damage::Cut {
                    at: at as u64,
                    end: whole.len() as u64,
                });
            }
            if Codec::of(rest) != Some(self) {
                return Some(Damage::Trailing {
                    at: at as u64,
                    len: rest.len() as u64,
                });
            }
            let cut = Damage::Cut {
                at: at as u64,
                end: whole.len() as u64,
            };
            let used = match self {
                Codec::Gzip => {
                    let mut d = flate2::bufread::GzDecoder::new(rest);
                    match io::copy(&mut d, &mut io::sink()) {
                        Ok(_) => rest.len() - d.into_inner().len(),
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Some(cut),
                        Err(_) => return None,
                    }
                }
                Codec::Zstd => match zstd::zstd_safe::find_frame_compressed_size(rest) {
                    Ok(n) => n,
                    Err(code) if zstd::zstd_safe::get_error_name(code).starts_with("Src size") => {
                        return Some(cut);
                    }
                    Err(_) => return None,
                },
            };
            if used == 0 {
                return None;
            }
            at += used;
        }
        None
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
/// are no gzip member ([`TrailingBytes`], from [`Members`]).
#[must_use]
fn gzip_ends_early(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof || Codec::Gzip.trailing(e)
}

/// Where a whole compressed file is damaged ([`Codec::damage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// `len` bytes from byte `at` follow the last whole member and are no
    /// member (trailing bytes).
    Trailing {
        /// Where they start (the whole members' length).
        at: u64,
        /// How many.
        len: u64,
    },
    /// `len` zero bytes from byte `at` follow the last whole gzip member
    /// to the file's end: padding ([`ZeroPadding`]), which gzip reads as
    /// the end (a reader warns and reads the members before).
    Padding {
        /// Where they start (the whole members' length).
        at: u64,
        /// How many.
        len: u64,
    },
    /// The member that starts at byte `at` has no end: the file ends at
    /// byte `end` inside it (a cut file).
    Cut {
        /// Where the member starts.
        at: u64,
        /// The file's length.
        end: u64,
    },
}

impl Damage {
    /// The message for file `name` of `codec`: what is wrong, where, and
    /// what to do.
    #[must_use]
    pub fn message(&self, codec: Codec, name: &str) -> String {
        let (c, unit) = (codec.name(), codec.unit());
        match *self {
            Damage::Trailing { at, len } => format!(
                "byte {at}: the {len} byte(s) after its last whole {c} {unit} are not {c} data (trailing bytes; the {at} byte(s) before them decompress whole): remove them (`head -c {at} {name} > fixed`), or export it again"
            ),
            Damage::Padding { at, len } => format!(
                "byte {at}: the {len} byte(s) after its last whole {c} {unit} are zeros (padding, which gzip ignores; the {at} byte(s) before them decompress whole): remove them (`head -c {at} {name} > fixed`), or export it again"
            ),
            Damage::Cut { at, end } => format!(
                "byte {end}: the {c} data is cut: the {unit} that starts at byte {at} has no end where the file ends (byte {end}): the file is cut, or was still being written; export it again"
            ),
        }
    }
}

/// Says whether a compressed capture's stream ended early (a file cut, or
/// rotated and not yet finished): the reader then sees the end of the
/// capture there, as it does where a plain file is cut, and the run
/// warns.
#[derive(Debug, Clone)]
pub struct Cut {
    flag: Arc<AtomicBool>,
    /// The stream ended at bytes after a whole member that are none
    /// ([`Codec::trailing`]), not inside a member.
    trailing: Arc<AtomicBool>,
    /// The byte of the compressed file where the trailing bytes or the cut
    /// member start, when the decoder tells ([`Codec::file_offset`];
    /// `u64::MAX` when not).
    file_at: Arc<AtomicU64>,
    /// Bytes of the capture given out before the stream ended.
    at: Arc<AtomicU64>,
    /// The zero bytes of padding the stream ended at ([`Codec::padding`];
    /// `u64::MAX` when it ended otherwise).
    padding: Arc<AtomicU64>,
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
        let (c, unit) = (self.codec.name(), self.codec.unit());
        let file_at = self.file_at.load(Ordering::Relaxed);
        let known = file_at != u64::MAX;
        let padding = self.padding.load(Ordering::Relaxed);
        let message = if padding != u64::MAX {
            format!(
                "{name}: {}; the capture it holds ends before them, at byte {at}, and the records before were read",
                padding_text(file_at, padding)
            )
        } else if self.trailing.load(Ordering::Relaxed) {
            let from = if known {
                format!(", from byte {file_at} of the file,")
            } else {
                String::new()
            };
            format!(
                "{name}: the bytes after its last whole {c} {unit}{from} are not {c} data (trailing bytes: a file rotated while another write began, or something appended): ignored; the capture it holds ends before them, at byte {at}, and the records before were read"
            )
        } else {
            let inside = if known {
                format!("the {unit} that starts at byte {file_at} of the file")
            } else {
                format!("a {unit}")
            };
            format!(
                "{name}: the {c} stream ends early, inside {inside}, at byte {at} of the capture it holds (the file is cut, or was still being written): the records before were read"
            )
        };
        crate::warning::RunWarning::new(
            crate::warning::RunWarningCode::CompressedEndsEarly,
            message,
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
                let trailing = self.cut.codec.trailing(&e);
                self.cut.trailing.store(trailing, Ordering::Relaxed);
                let file_at = Codec::file_offset(&e).unwrap_or(u64::MAX);
                self.cut.file_at.store(file_at, Ordering::Relaxed);
                let padding = Codec::padding(&e).map_or(u64::MAX, |(_, len)| len);
                self.cut.padding.store(padding, Ordering::Relaxed);
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
        trailing: Arc::default(),
        file_at: Arc::new(AtomicU64::new(u64::MAX)),
        at: Arc::default(),
        padding: Arc::new(AtomicU64::new(u64::MAX)),
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
    Gzip(Members<R>),
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
            Codec::Gzip => Decoder::Gzip(Members::new(r)),
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
        // An earlier run's report or flow lines, written compressed: named
        // as what it holds.
        e @ CaptureError::Format {
            kind:
                FormatError::OwnText {
                    what: crate::input_dir::OUR_OUTPUT,
                    ..
                },
            ..
        } => e,
        CaptureError::Format {
            offset,
            kind: FormatError::NotCapture | FormatError::Empty | FormatError::OwnText { .. },
        } => CaptureError::Format {
            offset,
            kind: FormatError::CompressedNotCapture {
                format: codec.name(),
            },
        },
        e => e,
    }
}

/// A `BufRead` counting the bytes consumed: where a gzip decoder is in the
/// compressed file.
struct Counted<B> {
    inner: B,
    consumed: u64,
}

impl<B: BufRead> Read for Counted<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.inner.fill_buf()?;
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<B: BufRead> BufRead for Counted<B> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.consumed += n as u64;
        self.inner.consume(n);
    }
}

/// Bytes after a whole gzip member that are not one (`at`: the byte of
/// the compressed file where they start), as [`Members`] refuses them.
#[derive(Debug)]
pub struct TrailingBytes {
    /// Where they start.
    pub at: u64,
}

impl std::fmt::Display for TrailingBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bytes that are not a gzip member follow the last whole one, from byte {} of the file",
            self.at
        )
    }
}

impl std::error::Error for TrailingBytes {}

/// Zero bytes from the end of the last whole gzip member to the file's
/// end (`len` of them, from byte `at`): padding (a tape block, a
/// preallocated or zero-filled file), which GNU gzip reads as the end
/// ("trailing zero bytes ignored"). [`Members`] ends there with this
/// error, a case of [`Codec::trailing`] told apart ([`Codec::padding`]),
/// so each reader warns with [`padding_text`] and keeps what came before.
#[derive(Debug)]
pub struct ZeroPadding {
    /// Where they start.
    pub at: u64,
    /// How many.
    pub len: u64,
}

impl std::fmt::Display for ZeroPadding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&padding_text(self.at, self.len))
    }
}

impl std::error::Error for ZeroPadding {}

/// What every reader says of [`ZeroPadding`] (`replay`'s warnings on
/// captures and flow logs, `import`'s): how many zero bytes, from which
/// byte of the file, and that they are ignored.
#[must_use]
pub fn padding_text(at: u64, len: u64) -> String {
    format!(
        "the {len} byte(s) after its last whole gzip member, from byte {at} of the file, are zeros (padding, which gzip ignores too): ignored"
    )
}

/// A gzip member cut by the end of its file (`at`: the byte where it
/// starts), with the decoder's words.
#[derive(Debug)]
struct CutMember {
    at: u64,
    why: String,
}

impl std::fmt::Display for CutMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, in the member that starts at byte {} of the file",
            self.why, self.at
        )
    }
}

impl std::error::Error for CutMember {}

/// gzip's members one after another (several are valid gzip: `cat a.gz
/// b.gz`, `pigz`, rotated logs), as flate2's `MultiGzDecoder` reads them,
/// but telling where the stream ends wrong: bytes after a whole member
/// that are not one ([`TrailingBytes`], with their offset; flate2 says
/// "invalid gzip header", or "unexpected end of file" for fewer than 10
/// of them, as for a cut member), and a member cut by the file's end
/// (`UnexpectedEof`, naming the byte where it starts).
pub struct Members<R: Read> {
    state: Member<R>,
}

enum Member<R: Read> {
    Between(Counted<io::BufReader<R>>),
    In(
        Box<flate2::bufread::GzDecoder<Counted<io::BufReader<R>>>>,
        u64,
    ),
    /// Zeros after a whole member, from byte `.1`: padding if they last
    /// to the end.
    Zeros(Counted<io::BufReader<R>>, u64),
    Done,
}

impl<R: Read> Members<R> {
    fn new(r: R) -> Members<R> {
        Members {
            state: Member::Between(Counted {
                // flate2's `MultiGzDecoder` reads through 32 KiB too: an
                // 8 KiB buffer cost 5% of a replay of a .gz capture.
                inner: io::BufReader::with_capacity(32 * 1024, r),
                consumed: 0,
            }),
        }
    }
}

impl<R: Read> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match std::mem::replace(&mut self.state, Member::Done) {
                Member::Done => return Ok(0),
                Member::In(mut d, at) => match d.read(buf) {
                    Ok(0) => self.state = Member::Between(d.into_inner()),
                    Ok(n) => {
                        self.state = Member::In(d, at);
                        return Ok(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        let why = e.to_string();
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            CutMember { at, why },
                        ));
                    }
                    // A member after the first whose header is refused:
                    // bytes that start as gzip's magic, and are not.
                    Err(e)
                        if at > 0
                            && e.kind() == io::ErrorKind::InvalidInput
                            && e.to_string() == "invalid gzip header" =>
                    {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            TrailingBytes { at },
                        ));
                    }
                    Err(e) => {
                        // Kept, so that a read retried after `Interrupted`
                        // goes on where it was (the state was taken above).
                        self.state = Member::In(d, at);
                        return Err(e);
                    }
                },
                Member::Between(mut b) => {
                    let at = b.consumed;
                    let avail = match b.fill_buf() {
                        Ok(a) => a,
                        Err(e) => {
                            self.state = Member::Between(b);
                            return Err(e);
                        }
                    };
                    if avail.is_empty() {
                        return Ok(0);
                    }
                    if at > 0 && avail.first() == Some(&0) {
                        self.state = Member::Zeros(b, at);
                        continue;
                    }
                    // The next member's magic, as far as it is there (one
                    // byte of it: a member cut in its header).
                    let magic = avail.iter().zip(GZIP_MAGIC).all(|(a, m)| *a == m);
                    if !magic {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            TrailingBytes { at },
                        ));
                    }
                    self.state = Member::In(Box::new(flate2::bufread::GzDecoder::new(b)), at);
                }
                Member::Zeros(mut b, at) => {
                    let zeros = match b.fill_buf() {
                        Ok(a) => a.iter().position(|&x| x != 0).map_or(Ok(a.len()), Err),
                        Err(e) => {
                            // Kept: a retried read counts on from here.
                            self.state = Member::Zeros(b, at);
                            return Err(e);
                        }
                    };
                    match zeros {
                        Ok(0) => {
                            let len = b.consumed - at;
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                ZeroPadding { at, len },
                            ));
                        }
                        Ok(n) => {
                            b.consume(n);
                            self.state = Member::Zeros(b, at);
                        }
                        // A byte that is not zero: none of it is padding.
                        Err(_) => {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                TrailingBytes { at },
                            ));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Members;
    use std::io::{self, Read, Write};

    /// Hands out `bytes`, and once, at byte `at`, an `Interrupted` error.
    struct Hiccup {
        bytes: Vec<u8>,
        pos: usize,
        at: usize,
        done: bool,
    }

    impl Read for Hiccup {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.done && self.pos == self.at {
                self.done = true;
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            let end = if self.done { self.bytes.len() } else { self.at };
            let n = buf.len().min(end - self.pos);
            buf[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// A size the file claims (gzip's `ISIZE`, here `ff ff ff ff`) is
    /// believed up to deflate's largest ratio only (the review: 303 bytes
    /// reserved 256 MiB up front and aborted under a memory limit).
    #[test]
    fn a_claimed_size_is_capped_by_the_compressed_length() {
        let mut lie = gzip(b"{}");
        let n = lie.len();
        lie[n - 4..].copy_from_slice(&[0xff; 4]);
        let hint = super::Codec::Gzip.size_hint(&lie);
        assert_eq!(hint, u64::try_from(n).unwrap() * 1032);
        // A true claim under the cap is kept.
        assert_eq!(super::Codec::Gzip.size_hint(&gzip(b"{}")), 2);
    }

    /// Zeros from the last member to the end are reported as padding,
    /// with where they start and how many (also when a read in them is
    /// interrupted), apart from other trailing bytes: a byte that is not
    /// zero among them makes them all trailing bytes, from the padding's
    /// start. [`super::Codec::damage`] (`import`) finds the same. A lone
    /// `0x1f` after a member is a member cut in its header for both, as
    /// for `gzip -t` ("unexpected end of file"); `import` said "1
    /// trailing byte" and `replay` a cut member.
    #[test]
    fn zero_padding_is_told_apart_and_a_lone_magic_byte_is_a_cut_member() {
        use super::{Codec, Damage};
        let data = b"{\"data\": []}".repeat(100);
        let z = gzip(&data);
        let end = z.len() as u64;
        let mut padded = z.clone();
        padded.extend([0u8; 512]);
        for at in [padded.len(), z.len() + 100] {
            let r = Hiccup {
                bytes: padded.clone(),
                pos: 0,
                at,
                done: false,
            };
            let mut out = Vec::new();
            let mut m = Members::new(r);
            let e = loop {
                match m.read_to_end(&mut out) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break e,
                    Ok(n) => panic!("read {n} without the padding's report"),
                }
            };
            assert_eq!(out, data);
            assert_eq!(Codec::padding(&e), Some((end, 512)), "{e}");
            assert!(Codec::Gzip.trailing(&e) && Codec::Gzip.ends_early(&e));
            assert_eq!(Codec::file_offset(&e), Some(end));
            assert_eq!(
                Codec::Gzip.early_end(&e),
                super::padding_text(end, 512),
                "the flow-log reader's words"
            );
        }
        assert_eq!(
            Codec::Gzip.damage(&padded),
            Some(Damage::Padding { at: end, len: 512 })
        );
        let mut dirty = padded.clone();
        dirty[z.len() + 300] = 7;
        let e = Members::new(&dirty[..])
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(Codec::padding(&e), None);
        assert_eq!(Codec::file_offset(&e), Some(end), "{e}");
        assert!(matches!(
            Codec::Gzip.damage(&dirty),
            Some(Damage::Trailing { at, len: 512 }) if at == end
        ));
        let mut lone = z.clone();
        lone.push(0x1f);
        let e = Members::new(&lone[..])
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        assert_eq!(Codec::file_offset(&e), Some(end));
        assert_eq!(
            Codec::Gzip.damage(&lone),
            Some(Damage::Cut {
                at: end,
                end: end + 1
            })
        );
    }

    /// A read interrupted between two members, or inside one, is retried
    /// where it was (`read_to_end` retries): nothing is lost.
    #[test]
    fn an_interrupted_read_loses_no_member() {
        let a: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let b: Vec<u8> = (0..100_000u32).map(|i| (i % 13) as u8).collect();
        let first = gzip(&a);
        let mut bytes = first.clone();
        bytes.extend(gzip(&b));
        for at in [first.len(), first.len() / 2] {
            let r = Hiccup {
                bytes: bytes.clone(),
                pos: 0,
                at,
                done: false,
            };
            let mut out = Vec::new();
            Members::new(r).read_to_end(&mut out).unwrap();
            assert_eq!(out.len(), a.len() + b.len(), "interrupted at byte {at}");
            assert!(out.starts_with(&a) && out.ends_with(&b));
        }
    }
}
