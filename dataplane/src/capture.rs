//! Capture files: pcap and pcapng read record by record from a memory map.
//!
//! [`Capture::open`] maps a file (or [`Capture::from_bytes`] takes a buffer),
//! checks that it is pcap or pcapng, and [`Capture::records`] walks it. Each
//! [`Record`] borrows its frame bytes from the map: nothing is copied and
//! nothing is allocated per record.
//!
//! ```
//! use zprsim_dataplane::capture::Capture;
//! // A pcap file header (microseconds, little-endian, Ethernet) and one
//! // 4-byte record.
//! let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
//! file.extend_from_slice(&[0; 8]);
//! file.extend_from_slice(&65535u32.to_le_bytes());
//! file.extend_from_slice(&1u32.to_le_bytes());
//! for field in [7u32, 500, 4, 60] {
//!     file.extend_from_slice(&field.to_le_bytes());
//! }
//! file.extend_from_slice(&[1, 2, 3, 4]);
//! let capture = Capture::from_bytes(file).unwrap();
//! let mut records = capture.records();
//! let record = records.next().unwrap().unwrap();
//! assert_eq!((record.data, record.orig_len, record.ts_ns), (&[1u8, 2, 3, 4][..], 60, 7_000_500_000));
//! assert!(records.next().is_none());
//! assert!(records.warnings().is_empty());
//! ```
//!
//! # What is read
//!
//! The rules follow libpcap (`sf-pcap.c`, `sf-pcapng.c`), so a file yields
//! the records tcpdump would print:
//!
//! * pcap with microsecond (`0xa1b2c3d4`), nanosecond (`0xa1b23c4d`) and
//!   Kuznetzov (`0xa1b2cd34`, 24-byte record headers) magic, in both byte
//!   orders; versions 2.0 to 2.4 and 543.0, with libpcap's swapping of the
//!   captured and original lengths in files older than 2.4.
//! * pcapng with any number of sections and interfaces, in either byte
//!   order, enhanced (EPB), simple (SPB) and obsolete (PB) packet blocks,
//!   `if_tsresol` and `if_tsoffset`. Unlike libpcap, interfaces with
//!   different link types in one file are read (each record carries its
//!   own link type) instead of stopping the file.
//! * A captured length over the snapshot length or over the original length
//!   is not an error, and the frame keeps every captured byte (libpcap cuts
//!   such a frame to the snapshot length; here the bytes go to
//!   `--allowed`/`--dropped` unchanged).
//! * The link type of a pcap header is masked with `0x03FF_FFFF`, as libpcap
//!   does (the upper bits hold an FCS length).
//! * A file that ends inside a record or block ends the iteration with a
//!   [`CaptureWarning::Truncated`]; the records before it count.
//! * A captured length over [`MAX_CAPLEN`] (256 KiB), a pcapng block length
//!   that cannot be right, or a packet for an interface that was never
//!   described is a [`CaptureError`] naming the byte offset, and ends the
//!   iteration.
//!
//! # Why not a crate's iterator
//!
//! pcap-parser 0.17 reads these formats well, but its slice iterators hide
//! the byte offset of a failing block, have no obsolete packet block, parse
//! every EPB's options into a `Vec`, and differ from libpcap on old pcap
//! versions and big-endian Kuznetzov files. The record layouts are a few
//! fixed fields, so they are read here directly; pcap-parser stays as an
//! independent oracle in the tests over real captures.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;

use memmap2::Mmap;

pub mod decompress;
mod sample;
pub(crate) use sample::pcap_window_records;
mod stream;
pub use stream::{RecordRef, RecordSpan, RecordStream};

/// The largest captured length accepted in a record (256 KiB, libpcap's
/// maximum snapshot length for common link types). Larger is an error: the
/// record header cannot be right.
pub const MAX_CAPLEN: u32 = 256 * 1024;

/// libpcap masks the pcap header's link-type field with this (the upper
/// bits carry the FCS length and flags).
pub const LINKTYPE_MASK: u32 = 0x03FF_FFFF;

/// Largest pcapng block accepted (libpcap's `INITIAL_MAX_BLOCKSIZE`).
const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;

/// Largest first section header block (libpcap's `BT_SHB_INSANE_MAX`).
const MAX_FIRST_SHB_LEN: u32 = 1024 * 1024;

const PCAP_MAGIC_US: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NS: u32 = 0xa1b2_3c4d;
const PCAP_MAGIC_KUZNETZOV: u32 = 0xa1b2_cd34;

const BT_SHB: u32 = 0x0A0D_0D0A;
const BT_IDB: u32 = 0x0000_0001;
const BT_PB: u32 = 0x0000_0002;
const BT_SPB: u32 = 0x0000_0003;
const BT_EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

const NS_PER_S: u64 = 1_000_000_000;

/// One packet record of a capture file. Borrows its bytes from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The captured frame bytes, exactly as in the file.
    pub data: &'a [u8],
    /// The length of the frame on the wire (may be less or more than
    /// `data.len()` in odd files).
    pub orig_len: u32,
    /// Timestamp in nanoseconds since the Unix epoch (clamped to the `u64`
    /// range; an SPB, which has no timestamp, repeats the previous one).
    pub ts_ns: u64,
    /// Link type (LINKTYPE_ value, masked as libpcap masks it).
    pub linktype: u32,
    /// Byte offset of the record (pcap record header or pcapng block) in
    /// the file.
    pub offset: u64,
}

/// Something worth telling the user that did not stop the reading of what
/// came before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureWarning {
    /// The file ends inside the record or block that starts at `offset`;
    /// the records before it were read.
    Truncated {
        /// Byte offset where the cut record starts.
        offset: u64,
        /// Bytes that record needs (its header if the header itself is cut).
        needed: u64,
        /// Bytes left in the file from `offset`.
        available: u64,
    },
}

impl CaptureWarning {
    /// The warning of input `file` (as named in messages), as a report
    /// carries it.
    #[must_use]
    pub fn run_warning(&self, file: &str) -> crate::warning::RunWarning {
        use crate::warning::{RunWarning, RunWarningCode};
        match self {
            CaptureWarning::Truncated { offset, .. } => {
                RunWarning::new(RunWarningCode::TruncatedRecord, format!("{file}: {self}"))
                    .file(file)
                    .offset(*offset)
            }
        }
    }
}

impl fmt::Display for CaptureWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureWarning::Truncated {
                offset,
                needed,
                available,
            } => write!(
                f,
                "byte {offset}: file ends inside a record ({available} of {needed} bytes present)"
            ),
        }
    }
}

/// Why a capture file cannot be read (further).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The file could not be opened or mapped.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The bytes at `offset` are not what the format allows.
    #[error("byte {offset}: {kind}")]
    Format {
        /// Byte offset of the header or block at fault.
        offset: u64,
        /// What is wrong there.
        kind: FormatError,
    },
}

impl CaptureError {
    /// The byte offset of a format error.
    #[must_use]
    pub fn offset(&self) -> Option<u64> {
        match self {
            CaptureError::Io(_) => None,
            CaptureError::Format { offset, .. } => Some(*offset),
        }
    }
}

/// What is wrong with a capture file's bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Neither pcap nor pcapng magic.
    #[error("not a pcap or pcapng file")]
    NotCapture,
    /// No bytes at all (an empty file, or nothing piped into `-`).
    #[error(
        "empty (0 bytes): nothing to judge (a capture starts with a pcap or pcapng file header, a flow log with its first JSON record); for `-`, nothing was written to standard input"
    )]
    Empty,
    /// An OCI flow-log file (JSON, or gzip of JSON) where a capture is
    /// needed (`explain --capture`, `bench --capture`): decompressing it
    /// would not make it one.
    #[error(
        "an OCI flow-log file, not a pcap or pcapng file: here a capture is needed (`replay` and `diff` read flow logs; `explain` judges one record given by its addresses, protocol and ports: `--src`, `--dst`, `--proto`, `--dport`)"
    )]
    FlowLog,
    /// One of zprsim's own files (a scenario, an expectations file, an
    /// earlier run's report or flow lines) where a capture or flow log is
    /// needed: arguments in the wrong order,
    /// or `replay` taken for `diff` (`zprsim replay s.toml proposed.toml`).
    #[error("{what}, not a pcap or pcapng file: a capture or flow log is needed here ({hint})")]
    OwnText {
        /// What the file is.
        what: &'static str,
        /// Where it goes.
        hint: &'static str,
    },
    /// A compressed file that is not read as a capture or a flow log (xz,
    /// bzip2; and gzip where a flow log is looked for): most likely a
    /// compressed capture, which is to be decompressed first.
    #[error(
        "{format}-compressed data, not a pcap or pcapng file: decompress it first (`{cat} FILE > capture.pcap`, or pipe `{cat} FILE` into `-`)"
    )]
    Compressed {
        /// The compression format.
        format: &'static str,
        /// The command that decompresses it to standard output.
        cat: &'static str,
    },
    /// Compressed data (gzip, zstd) whose content is not a capture.
    #[error(
        "{format}-compressed data that holds neither a pcap nor a pcapng file (a capture compressed with {format} is read as the capture it holds)"
    )]
    CompressedNotCapture {
        /// The compression format.
        format: &'static str,
    },
    /// Compressed data that ends before the header of the capture it
    /// holds is whole.
    #[error(
        "the {format} stream ends early, before the header of the capture it holds is whole (the file is cut, or was still being written)"
    )]
    CompressedEndsEarly {
        /// The compression format.
        format: &'static str,
    },
    /// Compressed data that holds compressed data again (a `.pcap.gz`
    /// that `logrotate` compressed once more).
    #[error(
        "{outer}-compressed data that holds {format}-compressed data (compressed twice): decompress it twice (`{outer_cat} FILE | {cat} > capture.pcap`)"
    )]
    CompressedTwice {
        /// The outer compression format.
        outer: &'static str,
        /// The command that decompresses the outer data.
        outer_cat: &'static str,
        /// The inner compression format.
        format: &'static str,
        /// The command that decompresses the inner data.
        cat: &'static str,
    },
    /// The file ends inside the pcap file header or the first pcapng
    /// section header block.
    #[error("file ends inside the file header")]
    ShortFileHeader,
    /// A pcap version libpcap does not read.
    #[error("unsupported pcap version {major}.{minor}")]
    PcapVersion {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// A pcapng section version libpcap does not read.
    #[error("unsupported pcapng version {major}.{minor}")]
    PcapNgVersion {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// A section header block whose byte-order magic is neither order.
    #[error("pcapng section header has a bad byte-order magic")]
    ByteOrderMagic,
    /// Another capture's file header where a pcap record was expected
    /// (captures one after the other: `cat a.pcap b.pcap`, `zcat
    /// *.pcap.gz`) that differs from the first's, so its records cannot be
    /// read as the first capture's. One like the first is read on.
    #[error(
        "another capture's file header ({second}) after the records of the first ({first}): this input is captures one after the other (`cat a.pcap b.pcap`, `zcat *.pcap.gz`) of different kinds; give them as separate files, which are read in order"
    )]
    Concatenated {
        /// The first capture's kind.
        first: String,
        /// The header found after its records.
        second: String,
    },
    /// A record header whose captured length cannot be right.
    #[error("captured length {caplen} is over the limit of {limit} bytes", limit = MAX_CAPLEN)]
    CaplenTooLarge {
        /// The captured length in the record header.
        caplen: u32,
    },
    /// A pcapng block length under 12, not a multiple of 4, or too large.
    #[error(
        "pcapng block length {len} is not valid (a multiple of 4 from 12 to {max} bytes, as libpcap reads: {max} for {which})"
    )]
    BlockLength {
        /// The block's total length field.
        len: u32,
        /// The largest length accepted for this block.
        max: u32,
        /// Which blocks `max` is for.
        which: &'static str,
    },
    /// A pcapng block whose trailing length differs from its leading one.
    #[error("pcapng block length {head} does not match its trailer {tail}")]
    BlockTrailer {
        /// Leading total length.
        head: u32,
        /// Trailing total length.
        tail: u32,
    },
    /// A pcapng block too short for its fixed fields or its packet data.
    #[error("pcapng {block} block is too short for its contents")]
    BlockTooShort {
        /// The kind of block.
        block: &'static str,
    },
    /// A packet for an interface no interface description block described
    /// (in the current section).
    #[error("packet for interface {interface}, which has no interface description block")]
    UnknownInterface {
        /// The interface id in the packet block.
        interface: u32,
    },
    /// An interface description block option libpcap rejects.
    #[error("interface description block has a bad option: {reason}")]
    BadOption {
        /// What is wrong.
        reason: &'static str,
    },
}

/// The container format of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic pcap.
    Pcap {
        /// Nanosecond timestamps (magic `0xa1b23c4d`).
        nanosecond: bool,
        /// Written big-endian.
        big_endian: bool,
        /// Link type of every record (masked).
        linktype: u32,
        /// Snapshot length in the header.
        snaplen: u32,
    },
    /// pcapng (each interface has its own link type).
    PcapNg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(s),
            Endian::Big => u16::from_be_bytes(s),
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u32::from_le_bytes(s),
            Endian::Big => u32::from_be_bytes(s),
        })
    }

    fn i64(self, b: &[u8], at: usize) -> Option<i64> {
        let s: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => i64::from_le_bytes(s),
            Endian::Big => i64::from_be_bytes(s),
        })
    }
}

/// How a pcap file stores its record lengths (libpcap `lengths_swapped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LengthOrder {
    Normal,
    Swapped,
    MaybeSwapped,
}

/// Everything needed to walk a pcap file, from its header.
#[derive(Debug, Clone, Copy)]
struct PcapHeader {
    endian: Endian,
    nanosecond: bool,
    record_header_len: usize,
    lengths: LengthOrder,
    linktype: u32,
    snaplen: u32,
}

impl PcapHeader {
    /// Whether records after `other`'s file header read as this one's
    /// (the snapshot length aside).
    fn reads_as(&self, other: &PcapHeader) -> bool {
        self.endian == other.endian
            && self.nanosecond == other.nanosecond
            && self.record_header_len == other.record_header_len
            && self.lengths == other.lengths
            && self.linktype == other.linktype
    }

    fn describe(&self) -> String {
        let unit = if self.nanosecond {
            "nanosecond"
        } else {
            "microsecond"
        };
        let order = match self.endian {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        };
        format!("pcap, link type {}, {unit}, {order}", self.linktype)
    }
}

/// Whether the first word of a pcap record header (its seconds, read in
/// the file's byte order) could be the start of a file header instead: a
/// pcap magic in either byte order, or a pcapng section header's type.
/// A cheap test for the record walkers' fast paths; [`file_header_at`]
/// decides.
///
/// The word's top byte first, from a table ([`HEADER_TOP_BYTES`]): one
/// load and one branch for almost every record (a record's seconds share
/// their top byte with a magic only in 1997, 2011 and after 2055, which
/// then take the compares), where the seven compares cost ~11
/// instructions a record in the walk (callgrind, session 31: the walk
/// 54 -> 49 a record; a 64-bit mask of the top six bits instead of the
/// table measured 51).
#[inline(always)]
fn may_be_file_header(word: u32) -> bool {
    HEADER_TOP_BYTES[(word >> 24) as usize] && is_header_word(word)
}

/// The seven compares: a pcap magic as written or byte-swapped, or the
/// pcapng section header's type.
#[inline(always)]
fn is_header_word(word: u32) -> bool {
    matches!(
        word,
        PCAP_MAGIC_US | PCAP_MAGIC_NS | PCAP_MAGIC_KUZNETZOV | BT_SHB
    ) || matches!(
        word.swap_bytes(),
        PCAP_MAGIC_US | PCAP_MAGIC_NS | PCAP_MAGIC_KUZNETZOV
    )
}

/// The top bytes of the words [`may_be_file_header`] looks for: each pcap
/// magic as written and byte-swapped, and the pcapng section header's
/// type.
static HEADER_TOP_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let words = [
        PCAP_MAGIC_US,
        PCAP_MAGIC_NS,
        PCAP_MAGIC_KUZNETZOV,
        PCAP_MAGIC_US.swap_bytes(),
        PCAP_MAGIC_NS.swap_bytes(),
        PCAP_MAGIC_KUZNETZOV.swap_bytes(),
        BT_SHB,
    ];
    let mut i = 0;
    while i < words.len() {
        t[(words[i] >> 24) as usize] = true;
        i += 1;
    }
    t
};

/// What to do at a pcap record position `offset` whose bytes `rest` start
/// with another capture's file header (captures one after the other in
/// one input): `Some(Ok(24))`, the bytes to skip, when it is a pcap header
/// whose records read as `h`'s; an error naming both when it is another
/// kind; `None` when `rest` is no file header (a record, read as one).
fn file_header_at(h: &PcapHeader, rest: &[u8], offset: u64) -> Option<Result<usize, CaptureError>> {
    if rest.len() < 24 || !may_be_file_header(Endian::Little.u32(rest, 0)?) {
        return None;
    }
    let second = match detect(rest).ok()? {
        Kind::Pcap(next) if next.reads_as(h) => return Some(Ok(24)),
        Kind::Pcap(next) => next.describe(),
        Kind::PcapNg => "pcapng".to_string(),
    };
    Some(Err(CaptureError::Format {
        offset,
        kind: FormatError::Concatenated {
            first: h.describe(),
            second,
        },
    }))
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Pcap(PcapHeader),
    PcapNg,
}

enum Backing {
    Map(Mmap),
    Owned(Vec<u8>),
}

/// An opened capture file (memory-mapped, or a buffer handed in).
pub struct Capture {
    backing: Backing,
    kind: Kind,
}

impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capture")
            .field("len", &self.bytes().len())
            .field("format", &self.format())
            .finish()
    }
}

impl Capture {
    /// Opens and maps a capture file and checks its file header.
    ///
    /// # Errors
    /// An I/O error, or a [`FormatError`] at offset 0 when the file is not
    /// pcap or pcapng.
    pub fn open(path: &Path) -> Result<Capture, CaptureError> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let backing = if len == 0 {
            Backing::Owned(Vec::new())
        } else {
            // SAFETY: the map is read-only and private to this process. It
            // is only sound while no one truncates or rewrites the file
            // during the replay; capture files handed to the simulator are
            // inputs nobody writes to, which is the documented assumption
            // of every mmap-based reader (ripgrep, pcap tools). A file that
            // cannot be mapped (a pipe) is read into memory instead.
            #[allow(unsafe_code)]
            let map = unsafe { Mmap::map(&file) };
            match map {
                Ok(map) => Backing::Map(map),
                Err(_) => Backing::Owned(std::fs::read(path)?),
            }
        };
        Capture::with_backing(backing)
    }

    /// Takes a capture file already in memory (tests, fuzzing, stdin).
    ///
    /// # Errors
    /// A [`FormatError`] at offset 0 when the bytes are not pcap or pcapng.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Capture, CaptureError> {
        Capture::with_backing(Backing::Owned(bytes))
    }

    fn with_backing(backing: Backing) -> Result<Capture, CaptureError> {
        let bytes = match &backing {
            Backing::Map(m) => &m[..],
            Backing::Owned(v) => &v[..],
        };
        let kind = detect(bytes)?;
        Ok(Capture { backing, kind })
    }

    /// The whole file.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        match &self.backing {
            Backing::Map(m) => m,
            Backing::Owned(v) => v,
        }
    }

    /// The container format.
    #[must_use]
    pub fn format(&self) -> CaptureFormat {
        format_of(self.kind)
    }

    /// The records, in file order.
    #[must_use]
    pub fn records(&self) -> Records<'_> {
        Records::with_kind(self.bytes(), self.kind)
    }

    /// The distinct link types the file declares: the pcap header's, or
    /// those of every pcapng interface description block up to the first
    /// error or cut. Cheap (skips packet blocks by their length); lets a
    /// caller choose an output format before reading the records.
    #[must_use]
    pub fn link_types(&self) -> Vec<u32> {
        let mut out = Vec::new();
        match self.kind {
            Kind::Pcap(h) => out.push(h.linktype),
            Kind::PcapNg => {
                let mut walker = NgWalker::new(self.bytes());
                while let Some(Ok(block)) = walker.next_block() {
                    if let NgBlock::Interface(lt) = block
                        && !out.contains(&lt)
                    {
                        out.push(lt);
                    }
                }
            }
        }
        out
    }
}

/// The public description of a file's format.
fn format_of(kind: Kind) -> CaptureFormat {
    match kind {
        Kind::Pcap(h) => CaptureFormat::Pcap {
            nanosecond: h.nanosecond,
            big_endian: h.endian == Endian::Big,
            linktype: h.linktype,
            snaplen: h.snaplen,
        },
        Kind::PcapNg => CaptureFormat::PcapNg,
    }
}

/// Why bytes that are neither a capture nor a flow log are not a capture:
/// compressed (named, with the command that decompresses it), or not.
fn not_capture_kind(bytes: &[u8]) -> FormatError {
    if let Some(codec) = decompress::Codec::of(bytes) {
        return FormatError::Compressed {
            format: codec.name(),
            cat: codec.cat(),
        };
    }
    [
        (&b"\xfd7zXZ\x00"[..], "xz", "xzcat"),
        (b"BZh", "bzip2", "bzcat"),
    ]
    .iter()
    .find(|(magic, ..)| bytes.starts_with(magic))
    .map_or_else(
        || {
            use crate::scenario_file::{OwnText, own_text};
            let head = bytes.get(..crate::sniff::HEAD).unwrap_or(bytes);
            match own_text(&String::from_utf8_lossy(head)) {
                Some(OwnText::Scenario) => FormatError::OwnText {
                    what: "a scenario (it has `[[vcn]]`, `[[subnet]]` or the like)",
                    hint: "the scenario goes first; two scenarios are compared with `zprsim diff BEFORE AFTER CAPTURE...`",
                },
                Some(OwnText::Expectations) => FormatError::OwnText {
                    what: "an expectations file (it has `[[path]]` or `[[include]]`)",
                    hint: "expectations are checked with `zprsim verify SCENARIO EXPECT`",
                },
                None => FormatError::NotCapture,
            }
        },
        |&(_, format, cat)| FormatError::Compressed { format, cat },
    )
}

/// Whether a file starting with `head` is something `replay` reads or
/// names precisely: a capture (or a pcap with a header it refuses, which
/// the reader names), a compressed file, or flow logs. False for text and
/// anything else without a capture's magic.
#[must_use]
pub fn is_input_like(head: &[u8]) -> bool {
    !matches!(
        detect(head),
        Err(CaptureError::Format {
            kind: FormatError::NotCapture | FormatError::Empty | FormatError::OwnText { .. },
            ..
        })
    )
}

/// What a file starting with `head` is, when its first bytes say it is a
/// capture (or a pcap header the reader refuses), a compressed file or
/// JSON: words for a message about a file given in the wrong place (a
/// capture where the scenario goes). `None` for anything else.
#[must_use]
pub fn kind_name(head: &[u8]) -> Option<&'static str> {
    // A compressed capture is read as the capture it holds
    // (`decompress`): named so.
    if let Some(codec) = decompress::Codec::of(head) {
        use std::io::Read as _;
        let mut inner = Vec::with_capacity(64);
        // A head cut inside the stream ends the decoder early; what came out
        // before it is enough.
        if let Ok((r, _)) = decompress::decompressed(Box::new(std::io::Cursor::new(head.to_vec())))
        {
            let _ = r.take(64).read_to_end(&mut inner);
        }
        match (codec, detect(&inner)) {
            (decompress::Codec::Gzip, Ok(Kind::Pcap(_))) => {
                return Some("a gzip-compressed pcap capture");
            }
            (decompress::Codec::Gzip, Ok(Kind::PcapNg)) => {
                return Some("a gzip-compressed pcapng capture");
            }
            (decompress::Codec::Zstd, Ok(Kind::Pcap(_))) => {
                return Some("a zstd-compressed pcap capture");
            }
            (decompress::Codec::Zstd, Ok(Kind::PcapNg)) => {
                return Some("a zstd-compressed pcapng capture");
            }
            _ => {}
        }
    }
    match detect(head) {
        Ok(Kind::Pcap(_)) => Some("a pcap capture"),
        Ok(Kind::PcapNg) => Some("a pcapng capture"),
        Err(CaptureError::Format { kind, .. }) => match kind {
            FormatError::NotCapture | FormatError::Empty | FormatError::OwnText { .. } => None,
            FormatError::FlowLog => Some("JSON"),
            FormatError::Compressed { .. } => Some("compressed data"),
            _ => Some("a capture"),
        },
        Err(_) => None,
    }
}

/// Recognises the file header.
fn detect(bytes: &[u8]) -> Result<Kind, CaptureError> {
    let not_capture = || CaptureError::Format {
        offset: 0,
        kind: if bytes.is_empty() {
            FormatError::Empty
        } else if crate::flowlog::detect::is_flow_log(bytes) {
            if crate::input_dir::is_our_output(&crate::flowlog::detect::decompressed(bytes)) {
                // An earlier run's `--report` or `--flows` is no OCI flow log.
                FormatError::OwnText {
                    what: crate::input_dir::OUR_OUTPUT,
                    hint: "give the captures that run read; `jq` reads the report and the flow lines",
                }
            } else {
                FormatError::FlowLog
            }
        } else {
            not_capture_kind(bytes)
        },
    };
    let magic_le = Endian::Little.u32(bytes, 0).ok_or_else(not_capture)?;
    if magic_le == BT_SHB {
        // libpcap: "not pcapng" unless the byte-order magic is right.
        let bom = Endian::Little.u32(bytes, 8).ok_or_else(not_capture)?;
        if bom != BYTE_ORDER_MAGIC && bom.swap_bytes() != BYTE_ORDER_MAGIC {
            return Err(not_capture());
        }
        return Ok(Kind::PcapNg);
    }
    let endian = match magic_le {
        PCAP_MAGIC_US | PCAP_MAGIC_NS | PCAP_MAGIC_KUZNETZOV => Endian::Little,
        m if matches!(
            m.swap_bytes(),
            PCAP_MAGIC_US | PCAP_MAGIC_NS | PCAP_MAGIC_KUZNETZOV
        ) =>
        {
            Endian::Big
        }
        _ => return Err(not_capture()),
    };
    let short = || CaptureError::Format {
        offset: 0,
        kind: FormatError::ShortFileHeader,
    };
    let magic = endian.u32(bytes, 0).ok_or_else(short)?;
    let major = endian.u16(bytes, 4).ok_or_else(short)?;
    let minor = endian.u16(bytes, 6).ok_or_else(short)?;
    let snaplen = endian.u32(bytes, 16).ok_or_else(short)?;
    let linktype = endian.u32(bytes, 20).ok_or_else(short)?;
    if !((major == 2 && minor <= 4) || (major == 543 && minor == 0)) {
        return Err(CaptureError::Format {
            offset: 0,
            kind: FormatError::PcapVersion { major, minor },
        });
    }
    let lengths = match (major, minor) {
        (2, m) if m < 3 => LengthOrder::Swapped,
        (2, 3) => LengthOrder::MaybeSwapped,
        (543, _) => LengthOrder::Swapped,
        _ => LengthOrder::Normal,
    };
    Ok(Kind::Pcap(PcapHeader {
        endian,
        nanosecond: magic == PCAP_MAGIC_NS,
        record_header_len: if magic == PCAP_MAGIC_KUZNETZOV {
            24
        } else {
            16
        },
        lengths,
        linktype: linktype & LINKTYPE_MASK,
        snaplen,
    }))
}

/// Per-interface state of a pcapng section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second (`if_tsresol`, default 10^6).
    units_per_s: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_s: i64,
    /// Snapshot length as libpcap adjusts it (0 or too large: the maximum).
    snaplen: u32,
}

/// A pcapng block, as far as the reader cares.
enum NgBlock<'a> {
    /// A section header, interface description or other block (skipped).
    Other,
    /// An interface description with this link type was added.
    Interface(u32),
    /// A packet.
    Packet(Record<'a>),
}

/// Walks pcapng blocks of a slice, keeping the section and interface state.
struct NgWalker<'a> {
    buf: &'a [u8],
    st: NgState,
}

/// The section and interface state of a pcapng walk, apart from the bytes,
/// so the slice walker and the streaming reader share it.
#[derive(Debug, Clone)]
struct NgState {
    /// File offset of the next block.
    pos: u64,
    endian: Endian,
    interfaces: Vec<Interface>,
    sections: u64,
    last_ts_ns: u64,
}

/// What stopped a walk: an error or the end of the bytes inside a block.
enum Stop {
    Error(CaptureError),
    Truncated(CaptureWarning),
}

impl<'a> NgWalker<'a> {
    fn new(buf: &'a [u8]) -> Self {
        NgWalker {
            buf,
            st: NgState::new(),
        }
    }

    /// The next block, `None` at the end of the file.
    fn next_block(&mut self) -> Option<Result<NgBlock<'a>, Stop>> {
        // INVARIANT: pos <= buf.len(); every block advances pos by its
        // length, which is at least 12, so the walk ends.
        let at = usize::try_from(self.st.pos).ok()?;
        let rest = self.buf.get(at..)?;
        if rest.is_empty() {
            return None;
        }
        Some(self.st.block(rest))
    }
}

impl NgState {
    fn new() -> Self {
        NgState {
            pos: 0,
            endian: Endian::Little,
            interfaces: Vec::new(),
            sections: 0,
            last_ts_ns: 0,
        }
    }

    fn error(&self, kind: FormatError) -> Stop {
        Stop::Error(CaptureError::Format {
            offset: self.pos,
            kind,
        })
    }

    fn truncated(&self, needed: u64, available: usize) -> Stop {
        let available = available as u64;
        if self.sections == 0 {
            // Cut inside the first section header: libpcap cannot open it.
            return Stop::Error(CaptureError::Format {
                offset: 0,
                kind: FormatError::ShortFileHeader,
            });
        }
        Stop::Truncated(CaptureWarning::Truncated {
            offset: self.pos,
            needed,
            available,
        })
    }

    /// The block at the start of `rest` (the bytes from [`NgState::pos`]
    /// on); advances `pos` past it.
    fn block<'a>(&mut self, rest: &'a [u8]) -> Result<NgBlock<'a>, Stop> {
        let header_need = 12u64;
        let Some(raw_type) = Endian::Little.u32(rest, 0) else {
            return Err(self.truncated(header_need, rest.len()));
        };
        let is_shb = raw_type == BT_SHB;
        if is_shb {
            // The section header sets the byte order for what follows.
            let Some(bom) = Endian::Little.u32(rest, 8) else {
                return Err(self.truncated(header_need, rest.len()));
            };
            self.endian = if bom == BYTE_ORDER_MAGIC {
                Endian::Little
            } else if bom.swap_bytes() == BYTE_ORDER_MAGIC {
                Endian::Big
            } else {
                return Err(self.error(FormatError::ByteOrderMagic));
            };
        }
        let e = self.endian;
        let (Some(btype), Some(len)) = (e.u32(rest, 0), e.u32(rest, 4)) else {
            return Err(self.truncated(header_need, rest.len()));
        };
        let (max, which) = if is_shb && self.sections == 0 {
            (MAX_FIRST_SHB_LEN, "the first section header block")
        } else {
            (MAX_BLOCK_LEN, "a block")
        };
        if len < 12 || len % 4 != 0 || len > max {
            // A pcap file after the pcapng sections (`cat a.pcapng b.pcap`):
            // its version reads as a block length that is never valid.
            if let Ok(Kind::Pcap(next)) = detect(rest) {
                return Err(self.error(FormatError::Concatenated {
                    first: "pcapng".to_string(),
                    second: next.describe(),
                }));
            }
            return Err(self.error(FormatError::BlockLength { len, max, which }));
        }
        let len_usize = len as usize;
        if rest.len() < len_usize {
            return Err(self.truncated(u64::from(len), rest.len()));
        }
        let tail = e.u32(rest, len_usize - 4).unwrap_or(0);
        if tail != len {
            return Err(self.error(FormatError::BlockTrailer { head: len, tail }));
        }
        let body = &rest[8..len_usize - 4];
        let out = match btype {
            BT_SHB => self.section_header(body)?,
            BT_IDB => self.interface(body)?,
            BT_EPB => self.packet(body, PacketBlock::Enhanced)?,
            BT_PB => self.packet(body, PacketBlock::Obsolete)?,
            BT_SPB => self.packet(body, PacketBlock::Simple)?,
            _ => NgBlock::Other,
        };
        self.pos += u64::from(len);
        Ok(out)
    }

    fn section_header<'a>(&mut self, body: &[u8]) -> Result<NgBlock<'a>, Stop> {
        let e = self.endian;
        let (Some(major), Some(minor)) = (e.u16(body, 4), e.u16(body, 6)) else {
            return Err(self.error(FormatError::BlockTooShort {
                block: "section header",
            }));
        };
        if body.len() < 16 {
            return Err(self.error(FormatError::BlockTooShort {
                block: "section header",
            }));
        }
        // libpcap opens 1.0 and 1.2 files and then accepts any 1.x section.
        if major != 1 || (self.sections == 0 && minor != 0 && minor != 2) {
            return Err(self.error(FormatError::PcapNgVersion { major, minor }));
        }
        self.sections += 1;
        self.interfaces.clear();
        Ok(NgBlock::Other)
    }

    fn interface<'a>(&mut self, body: &[u8]) -> Result<NgBlock<'a>, Stop> {
        let e = self.endian;
        let (Some(linktype), Some(snaplen)) = (e.u16(body, 0), e.u32(body, 4)) else {
            return Err(self.error(FormatError::BlockTooShort {
                block: "interface description",
            }));
        };
        let (units_per_s, offset_s) = idb_options(e, &body[8..])
            .map_err(|reason| self.error(FormatError::BadOption { reason }))?;
        let snaplen = if snaplen == 0 || snaplen > MAX_CAPLEN {
            MAX_CAPLEN
        } else {
            snaplen
        };
        let linktype = u32::from(linktype);
        self.interfaces.push(Interface {
            linktype,
            units_per_s,
            offset_s,
            snaplen,
        });
        Ok(NgBlock::Interface(linktype))
    }

    fn packet<'a>(&mut self, body: &'a [u8], kind: PacketBlock) -> Result<NgBlock<'a>, Stop> {
        let e = self.endian;
        let name = kind.name();
        let short = || FormatError::BlockTooShort { block: name };
        let (interface, ts, caplen, orig_len, data_at) = match kind {
            PacketBlock::Enhanced | PacketBlock::Obsolete => {
                let interface = if kind == PacketBlock::Enhanced {
                    e.u32(body, 0)
                } else {
                    e.u16(body, 0).map(u32::from)
                };
                let fields = (
                    interface,
                    e.u32(body, 4),
                    e.u32(body, 8),
                    e.u32(body, 12),
                    e.u32(body, 16),
                );
                let (Some(interface), Some(hi), Some(lo), Some(caplen), Some(orig)) = fields else {
                    return Err(self.error(short()));
                };
                (
                    interface,
                    Some((u64::from(hi) << 32) | u64::from(lo)),
                    caplen,
                    orig,
                    20usize,
                )
            }
            PacketBlock::Simple => {
                let Some(orig) = e.u32(body, 0) else {
                    return Err(self.error(short()));
                };
                // No captured length: the original length, cut to the
                // snapshot length and to what the block holds.
                let snap = self.interfaces.first().map_or(MAX_CAPLEN, |i| i.snaplen);
                let room = u32::try_from(body.len() - 4).unwrap_or(u32::MAX);
                (0, None, orig.min(snap).min(room), orig, 4usize)
            }
        };
        let Some(iface) = self.interfaces.get(interface as usize).copied() else {
            return Err(self.error(FormatError::UnknownInterface { interface }));
        };
        if caplen > MAX_CAPLEN {
            return Err(self.error(FormatError::CaplenTooLarge { caplen }));
        }
        let Some(data) = body.get(data_at..data_at + caplen as usize) else {
            return Err(self.error(short()));
        };
        let ts_ns = match ts {
            Some(t) => ng_ts_ns(t, iface.units_per_s, iface.offset_s),
            None => self.last_ts_ns,
        };
        self.last_ts_ns = ts_ns;
        Ok(NgBlock::Packet(Record {
            data,
            orig_len,
            ts_ns,
            linktype: iface.linktype,
            offset: self.pos,
        }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PacketBlock {
    Enhanced,
    Obsolete,
    Simple,
}

impl PacketBlock {
    fn name(self) -> &'static str {
        match self {
            PacketBlock::Enhanced => "enhanced packet",
            PacketBlock::Obsolete => "packet",
            PacketBlock::Simple => "simple packet",
        }
    }
}

/// Reads `if_tsresol` and `if_tsoffset` from IDB options, rejecting what
/// libpcap's `process_idb_options` rejects.
fn idb_options(e: Endian, mut opts: &[u8]) -> Result<(u64, i64), &'static str> {
    let mut units_per_s = 1_000_000u64;
    let mut offset_s = 0i64;
    let (mut saw_resol, mut saw_offset) = (false, false);
    while !opts.is_empty() {
        let (Some(code), Some(len)) = (e.u16(opts, 0), e.u16(opts, 2)) else {
            return Err("option header cut short");
        };
        let padded = (usize::from(len) + 3) & !3;
        let Some(value) = opts.get(4..4 + padded) else {
            return Err("option value cut short");
        };
        match code {
            0 => {
                if len != 0 {
                    return Err("end-of-options with a length");
                }
                break;
            }
            IF_TSRESOL => {
                if len != 1 || saw_resol {
                    return Err("if_tsresol repeated or not one byte");
                }
                saw_resol = true;
                let v = value[0];
                units_per_s = if v & 0x80 != 0 {
                    let shift = v & 0x7f;
                    if shift > 63 {
                        return Err("if_tsresol too fine");
                    }
                    1u64 << shift
                } else {
                    if v > 19 {
                        return Err("if_tsresol too fine");
                    }
                    10u64.pow(u32::from(v))
                };
            }
            IF_TSOFFSET => {
                if len != 8 || saw_offset {
                    return Err("if_tsoffset repeated or not eight bytes");
                }
                saw_offset = true;
                offset_s = e.i64(value, 0).unwrap_or(0);
            }
            _ => {}
        }
        opts = &opts[4 + padded..];
    }
    Ok((units_per_s, offset_s))
}

/// Clamps a nanosecond count into `u64`.
fn clamp_ns(ns: i128) -> u64 {
    u64::try_from(ns.max(0)).unwrap_or(u64::MAX)
}

/// A pcapng timestamp (in `units_per_s` since `offset_s`) in nanoseconds.
fn ng_ts_ns(t: u64, units_per_s: u64, offset_s: i64) -> u64 {
    let units = u128::from(units_per_s.max(1));
    let t = u128::from(t);
    let secs = t / units;
    let frac_ns = (t % units) * u128::from(NS_PER_S) / units;
    // secs < 2^64 and frac_ns < 10^9, so the sum fits an i128.
    let total = i128::try_from(secs).unwrap_or(i128::MAX / 4) * i128::from(NS_PER_S)
        + i128::try_from(frac_ns).unwrap_or(0)
        + i128::from(offset_s) * i128::from(NS_PER_S);
    clamp_ns(total)
}

enum State<'a> {
    Pcap(PcapHeader),
    PcapNg(NgWalker<'a>),
    Done,
}

/// Iterator over the records of a capture, in file order.
///
/// Yields `Ok(Record)` per packet, at most one `Err` (after which it is
/// finished), and records the reason reading stopped early in
/// [`Records::warnings`]. Use it with `while let Some(r) = records.next()`
/// (or `by_ref()`) to look at the warnings afterwards.
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    state: State<'a>,
    warnings: Vec<CaptureWarning>,
    records: u64,
}

impl fmt::Debug for Records<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records")
            .field("pos", &self.pos)
            .field("records", &self.records)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl<'a> Records<'a> {
    /// Reads a capture file held in a slice (no copy).
    ///
    /// # Errors
    /// As [`Capture::from_bytes`].
    pub fn from_slice(buf: &'a [u8]) -> Result<Records<'a>, CaptureError> {
        Ok(Records::with_kind(buf, detect(buf)?))
    }

    fn with_kind(buf: &'a [u8], kind: Kind) -> Records<'a> {
        let (pos, state) = match kind {
            Kind::Pcap(h) => (24, State::Pcap(h)),
            Kind::PcapNg => (0, State::PcapNg(NgWalker::new(buf))),
        };
        Records {
            buf,
            pos,
            state,
            warnings: Vec::new(),
            records: 0,
        }
    }

    /// Why reading stopped before the end of the file, if it did without an
    /// error (a file cut inside a record).
    #[must_use]
    pub fn warnings(&self) -> &[CaptureWarning] {
        &self.warnings
    }

    /// Records yielded so far.
    #[must_use]
    pub fn records_read(&self) -> u64 {
        self.records
    }

    fn next_pcap(&mut self, h: PcapHeader) -> Option<Result<Record<'a>, CaptureError>> {
        let mut offset = self.pos as u64;
        let mut rest = self.buf.get(self.pos..)?;
        // Captures one after the other: the next one's header is skipped.
        while let Some(skip) = file_header_at(&h, rest, offset) {
            match skip {
                Ok(n) => {
                    self.pos += n;
                    offset = self.pos as u64;
                    rest = self.buf.get(self.pos..)?;
                }
                Err(e) => {
                    self.state = State::Done;
                    return Some(Err(e));
                }
            }
        }
        if rest.is_empty() {
            return None;
        }
        let e = h.endian;
        let hl = h.record_header_len;
        let (Some(sec), Some(frac), Some(a), Some(b)) = (
            e.u32(rest, 0),
            e.u32(rest, 4),
            e.u32(rest, 8),
            e.u32(rest, 12),
        ) else {
            return self.cut(offset, hl as u64, rest.len());
        };
        if rest.len() < hl {
            return self.cut(offset, hl as u64, rest.len());
        }
        let swap = match h.lengths {
            LengthOrder::Normal => false,
            LengthOrder::Swapped => true,
            LengthOrder::MaybeSwapped => a > b,
        };
        let (caplen, orig_len) = if swap { (b, a) } else { (a, b) };
        if caplen > MAX_CAPLEN {
            self.state = State::Done;
            return Some(Err(CaptureError::Format {
                offset,
                kind: FormatError::CaplenTooLarge { caplen },
            }));
        }
        let end = hl + caplen as usize;
        let Some(data) = rest.get(hl..end) else {
            return self.cut(offset, end as u64, rest.len());
        };
        self.pos += end;
        let frac_ns = if h.nanosecond {
            u64::from(frac)
        } else {
            u64::from(frac) * 1000
        };
        Some(Ok(Record {
            data,
            orig_len,
            ts_ns: u64::from(sec) * NS_PER_S + frac_ns,
            linktype: h.linktype,
            offset,
        }))
    }

    fn cut(
        &mut self,
        offset: u64,
        needed: u64,
        available: usize,
    ) -> Option<Result<Record<'a>, CaptureError>> {
        self.warnings.push(CaptureWarning::Truncated {
            offset,
            needed,
            available: available as u64,
        });
        self.state = State::Done;
        None
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = match &mut self.state {
            State::Done => return None,
            State::Pcap(h) => {
                let h = *h;
                self.next_pcap(h)
            }
            State::PcapNg(walker) => loop {
                match walker.next_block() {
                    None => break None,
                    Some(Ok(NgBlock::Packet(r))) => break Some(Ok(r)),
                    Some(Ok(_)) => {}
                    Some(Err(Stop::Error(e))) => break Some(Err(e)),
                    Some(Err(Stop::Truncated(w))) => {
                        self.warnings.push(w);
                        break None;
                    }
                }
            },
        };
        match &item {
            Some(Ok(_)) => self.records += 1,
            Some(Err(_)) | None => self.state = State::Done,
        }
        item
    }
}

impl std::iter::FusedIterator for Records<'_> {}

#[cfg(test)]
mod file_header_tests {
    use super::*;

    #[test]
    fn every_file_header_word_is_seen() {
        for w in [PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAP_MAGIC_KUZNETZOV] {
            assert!(may_be_file_header(w), "{w:#x}");
            assert!(may_be_file_header(w.swap_bytes()), "{w:#x} swapped");
        }
        assert!(may_be_file_header(BT_SHB));
        // A table that left one magic's top byte out would miss its words.
        assert_eq!(HEADER_TOP_BYTES.iter().filter(|&&b| b).count(), 5);
        // A magic's top byte alone is not a header: the compares decide.
        for w in [
            PCAP_MAGIC_US ^ 1,
            PCAP_MAGIC_NS.swap_bytes() ^ 0x100,
            BT_SHB ^ 0x10,
        ] {
            assert!(!may_be_file_header(w), "{w:#x}");
        }
    }
}
