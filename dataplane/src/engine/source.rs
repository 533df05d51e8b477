//! Where packets come from: the [`PacketSource`] trait and its
//! implementations for capture files (and standard input, pipes, FIFOs)
//! and for packets held in memory (tests, benches).
//!
//! The engine only calls the trait, so it never knows which source it has.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::capture::{
    CaptureFormat, Record, RecordRef, RecordStream, decompress, pcap_window_records,
};
use crate::warning::{RunWarning, RunWarningCode};

pub use crate::capture::RecordSpan;

/// Records handed out by [`PacketSource::next_shared`]: the
/// reference-counted block they lie in and the input they came from. The
/// engine hands them to its workers and writer as offsets into the block,
/// with no copy.
#[derive(Debug, Clone, Copy)]
pub struct SharedBlock<'a> {
    /// The block ([`RecordSpan::data`] finds each record in it).
    pub block: &'a Arc<Vec<u8>>,
    /// Index of the input the records came from.
    pub input: usize,
}

/// A stream of capture records in input order.
pub trait PacketSource {
    /// The link types the records will have, as far as they are known
    /// before the first record (an output format is chosen from them).
    fn link_types(&mut self) -> Vec<u32>;

    /// Whether records of link types [`PacketSource::link_types`] does not
    /// list may come (a pcapng stream may describe an interface after its
    /// first packet): the outputs are then pcapng, which takes any link
    /// type, not a pcap of the types known at the start.
    fn link_types_may_grow(&self) -> bool {
        false
    }

    /// The next record; `Err` is a read error naming the input and the byte
    /// offset, after which the source yields nothing more.
    fn next_record(&mut self) -> Option<Result<Record<'_>, String>>;

    /// Index of the input the last record came from.
    fn input(&self) -> usize;

    /// The name of input `i`, for messages.
    fn input_name(&self, i: usize) -> String;

    /// Bytes read so far and in all (0 when not known, as for a pipe).
    fn progress(&self) -> (u64, u64);

    /// Warnings found so far (a file cut inside a record), taken out.
    fn take_warnings(&mut self) -> Vec<RunWarning>;

    /// Whether the source has no record ready right now (a live source,
    /// such as a TAP device, about to wait for the next one): the engine
    /// then hands on what it has read, so verdicts do not wait for a full
    /// chunk. Asked after each record of a source that does not share
    /// blocks; files never are idle.
    fn idle(&self) -> bool {
        false
    }

    /// Whether the inputs are read one after the other, each to its end
    /// (capture files), rather than interleaved (TAP ports): then an
    /// input that starts before the one read before it ended is told in
    /// a warning.
    fn sequential(&self) -> bool {
        false
    }

    /// Whether the source reads into reference-counted blocks and yields
    /// its records through [`PacketSource::next_shared`] (then the engine
    /// never calls [`PacketSource::next_record`]). Other sources' records
    /// are copied into the engine's own blocks.
    fn shares_blocks(&self) -> bool {
        false
    }

    /// Appends the next records (at least one, at most `max`, all in one
    /// block and from one input) to `out`, and returns their block; the
    /// same order, errors and end as [`PacketSource::next_record`] (an
    /// error comes after the records before it). Called only when
    /// [`PacketSource::shares_blocks`] says so.
    fn next_shared(
        &mut self,
        out: &mut Vec<RecordSpan>,
        max: usize,
    ) -> Option<Result<SharedBlock<'_>, String>> {
        let _ = (out, max);
        None
    }

    /// Calls `f` with the link type and bytes of the records found in
    /// [`SPREAD_WINDOWS`] windows of [`SPREAD_WINDOW`] bytes spread evenly
    /// over the whole of the inputs, without moving where the source
    /// reads; `false` when the source cannot look ahead so (streams,
    /// gzip; a pcapng file gives no records). The reader chooses its share
    /// of the shards from it: a shard's packets all go to one thread, and
    /// flows differ in size, so the packets of a count of shards are not
    /// that share of the packets (docs/benchmarks.md, the thirty-fourth
    /// session's reader work), and the capture's first packets do not
    /// tell which shards the large flows fall in.
    fn spread_sample(&mut self, f: &mut dyn FnMut(u32, &[u8])) -> bool {
        let _ = f;
        false
    }
}

/// Windows [`PacketSource::spread_sample`] reads: 32 of 64 KiB (2 MiB,
/// ~25,000 records of the realistic captures, a few milliseconds) put the
/// reader's share of the packets within a point of its aim on the
/// quiet run's captures, where 16 missed by up to four.
pub const SPREAD_WINDOWS: u64 = 32;
/// Bytes of each window.
pub const SPREAD_WINDOW: usize = 64 << 10;

/// Where [`CaptureFiles::spread_sample`] reads.
enum Spread {
    /// Regular uncompressed files and their sizes, opened again to read
    /// the windows.
    Files(Vec<(PathBuf, u64)>),
    /// A capture given in memory: its file header and its windows, cut
    /// when it was given (its bytes then belong to the stream).
    Held {
        head: Vec<u8>,
        windows: Vec<Vec<u8>>,
    },
}

impl Spread {
    /// The offset of window `i` of `SPREAD_WINDOWS` in `total` bytes: the
    /// middle of its share.
    fn offset(i: u64, total: u64) -> u64 {
        let at = u128::from(total) * u128::from(2 * i + 1) / u128::from(2 * SPREAD_WINDOWS);
        u64::try_from(at).unwrap_or(0)
    }

    /// The length of each window in `total` bytes: [`SPREAD_WINDOW`], or
    /// less in a small capture, so that no record is counted twice.
    fn window_len(total: u64) -> usize {
        usize::try_from(total / SPREAD_WINDOWS).map_or(SPREAD_WINDOW, |n| n.min(SPREAD_WINDOW))
    }

    /// The windows of `bytes`, an in-memory capture.
    fn held(bytes: &[u8]) -> Spread {
        let total = bytes.len() as u64;
        let len = Spread::window_len(total);
        let windows = (0..SPREAD_WINDOWS)
            .filter_map(|i| {
                let at = usize::try_from(Spread::offset(i, total)).ok()?;
                bytes.get(at..bytes.len().min(at + len)).map(<[u8]>::to_vec)
            })
            .collect();
        Spread::Held {
            head: bytes.get(..24).unwrap_or_default().to_vec(),
            windows,
        }
    }

    /// Each window's records to `f`; `false` when there is nothing to
    /// read.
    fn sample(&self, f: &mut dyn FnMut(u32, &[u8])) -> bool {
        match self {
            Spread::Held { head, windows } => {
                for w in windows {
                    pcap_window_records(head, w, f);
                }
                !windows.is_empty()
            }
            Spread::Files(files) => {
                let total: u64 = files.iter().map(|(_, n)| n).sum();
                if total == 0 {
                    return false;
                }
                let mut buf = vec![0u8; Spread::window_len(total)];
                let mut head = [0u8; 24];
                for i in 0..SPREAD_WINDOWS {
                    // The file the window falls in, and where in it.
                    let mut at = Spread::offset(i, total);
                    let Some((path, _)) = files.iter().find(|(_, n)| {
                        let inside = at < *n;
                        if !inside {
                            at -= n;
                        }
                        inside
                    }) else {
                        continue;
                    };
                    // A file that cannot be read again (gone, cut) only
                    // leaves its windows out of the sample.
                    if let Some(n) = read_window(path, at, &mut head, &mut buf) {
                        pcap_window_records(&head, buf.get(..n).unwrap_or_default(), f);
                    }
                }
                true
            }
        }
    }
}

/// Reads the file header of `path` into `head` and up to `buf.len()`
/// bytes from `at` into `buf`; the bytes read, `None` on an error.
fn read_window(path: &Path, at: u64, head: &mut [u8; 24], buf: &mut [u8]) -> Option<usize> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    file.read_exact(head).ok()?;
    file.seek(SeekFrom::Start(at)).ok()?;
    let mut n = 0;
    while n < buf.len() {
        match file.read(buf.get_mut(n..)?) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(n)
}

/// A boxed reader the file source reads from.
type Reader = Box<dyn Read + Send>;

/// How one input is held before it is read.
enum Pending {
    /// A regular file, opened again when its turn comes.
    File(PathBuf),
    /// A stream (standard input, a pipe, a FIFO), opened once.
    Stream(RecordStream<Reader>),
}

/// Capture files read one after the other as one stream, with buffered
/// reads (never a memory map: a file cut while it is read ends early with a
/// warning naming the byte offset). `-` is standard input; pipes, FIFOs,
/// `/dev/stdin` and `<(...)` are read as streams.
pub struct CaptureFiles {
    names: Vec<String>,
    /// Size of each regular file when it was opened.
    sizes: Vec<Option<u64>>,
    /// Of each gzip input: whether its stream ended early.
    cuts: Vec<Option<decompress::Cut>>,
    /// Some input read as a stream (standard input, a pipe, gzip) is
    /// pcapng, whose link types are known only up to its first packet.
    ng_stream: bool,
    pending: Vec<Option<Pending>>,
    current: Option<(usize, RecordStream<Reader>)>,
    /// Index of the next input to open.
    next: usize,
    link_types: Vec<u32>,
    warnings: Vec<RunWarning>,
    done_bytes: u64,
    total_bytes: u64,
    failed: bool,
    /// A read error to report after the records before it.
    pending_error: Option<String>,
    /// Where [`PacketSource::spread_sample`] reads.
    spread: Spread,
}

impl std::fmt::Debug for CaptureFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureFiles")
            .field("inputs", &self.names)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// Whether `path` names standard input.
#[must_use]
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The records of `path` (a capture, or gzip of one: read as the capture
/// it holds), with, for gzip, what says whether its stream ended early.
fn open_stream(path: &Path) -> Result<(RecordStream<Reader>, Option<decompress::Cut>), String> {
    let name = crate::output::shown(path);
    // A stream whose head was looked at (flow logs or a capture?) gets it
    // back from `sniff`, in front of the rest.
    let reader: Reader = crate::sniff::open(path).map_err(|e| {
        if is_stdin(path) {
            format!("standard input: {e}")
        } else {
            format!("{name}: {e}")
        }
    })?;
    decompress::records(reader).map_err(|e| format!("{name}: {e}"))
}

impl CaptureFiles {
    /// Opens every input (so a missing or unreadable one is found before
    /// anything is read or written) and learns the link types: every
    /// interface of a regular file, those before the first packet of a
    /// stream. At most one input may be standard input.
    ///
    /// # Errors
    /// The first input that cannot be opened or is not a capture, as
    /// ``PATH: message``.
    pub fn open(paths: &[PathBuf]) -> Result<CaptureFiles, String> {
        if paths.iter().filter(|p| is_stdin(p)).count() > 1 {
            return Err("`-` (standard input) can be read only once".into());
        }
        let mut pending = Vec::with_capacity(paths.len());
        let mut sizes = Vec::with_capacity(paths.len());
        let mut link_types = Vec::new();
        let mut total_bytes = 0u64;
        let mut cuts = Vec::with_capacity(paths.len());
        let mut ng_stream = false;
        let mut spread = Vec::new();
        for path in paths {
            let meta = (!is_stdin(path)).then(|| std::fs::metadata(path));
            let regular = matches!(&meta, Some(Ok(m)) if m.is_file());
            let (mut s, cut) = open_stream(path)?;
            let gz = cut.is_some();
            cuts.push(cut);
            // A regular file is opened again when its turn comes (not held
            // open with its buffer: a directory of rotated captures). A
            // gzip file's size is not the capture's, and its link types
            // are those before its first packet, as for standard input
            // (finding them all would decompress it twice).
            let size = match (&meta, gz) {
                (Some(Ok(m)), false) if regular => Some(m.len()),
                _ => None,
            };
            sizes.push(size);
            total_bytes += size.unwrap_or(0);
            match (regular, gz) {
                (true, false) => {
                    link_types.extend(s.link_types_to_end());
                    pending.push(Some(Pending::File(path.clone())));
                    spread.push((path.clone(), size.unwrap_or(0)));
                }
                (true, true) => {
                    ng_stream |= s.format() == CaptureFormat::PcapNg;
                    link_types.extend(s.link_types_ahead());
                    pending.push(Some(Pending::File(path.clone())));
                }
                (false, _) => {
                    ng_stream |= s.format() == CaptureFormat::PcapNg;
                    link_types.extend(s.link_types_ahead());
                    pending.push(Some(Pending::Stream(s)));
                }
            }
        }
        link_types.sort_unstable();
        link_types.dedup();
        Ok(CaptureFiles {
            names: paths.iter().map(|p| p.display().to_string()).collect(),
            sizes,
            cuts,
            ng_stream,
            pending,
            current: None,
            next: 0,
            link_types,
            warnings: Vec::new(),
            done_bytes: 0,
            total_bytes,
            failed: false,
            pending_error: None,
            spread: Spread::Files(spread),
        })
    }

    /// A capture held in memory, read as a stream (benches, `zprsim bench`).
    ///
    /// # Errors
    /// The bytes are not a capture.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<CaptureFiles, String> {
        let total = bytes.len() as u64;
        let spread = Spread::held(&bytes);
        let reader: Reader = Box::new(std::io::Cursor::new(bytes));
        let mut s = RecordStream::new(reader).map_err(|e| format!("{name}: {e}"))?;
        let mut link_types = s.link_types_ahead();
        link_types.sort_unstable();
        link_types.dedup();
        Ok(CaptureFiles {
            names: vec![name.to_owned()],
            sizes: vec![Some(total)],
            cuts: vec![None],
            ng_stream: false,
            pending: vec![Some(Pending::Stream(s))],
            current: None,
            next: 0,
            link_types,
            warnings: Vec::new(),
            done_bytes: 0,
            total_bytes: total,
            failed: false,
            pending_error: None,
            spread,
        })
    }

    /// Opens the next input; `false` at the end or on an error (recorded).
    fn advance(&mut self) -> Result<bool, String> {
        self.close_current(true);
        let i = self.next;
        let Some(slot) = self.pending.get_mut(i) else {
            return Ok(false);
        };
        self.next += 1;
        let s = match slot.take() {
            Some(Pending::Stream(s)) => s,
            Some(Pending::File(p)) => {
                let (s, cut) = open_stream(&p)?;
                if let Some(c) = self.cuts.get_mut(i) {
                    *c = cut;
                }
                s
            }
            None => return Ok(false),
        };
        self.current = Some((i, s));
        Ok(true)
    }
}

impl PacketSource for CaptureFiles {
    fn link_types(&mut self) -> Vec<u32> {
        self.link_types.clone()
    }

    fn link_types_may_grow(&self) -> bool {
        self.ng_stream
    }

    fn next_record(&mut self) -> Option<Result<Record<'_>, String>> {
        match self.next_ref()? {
            Ok(r) => {
                let (_, s) = self.current.as_ref()?;
                Some(Ok(s.get(r)))
            }
            Err(e) => Some(Err(e)),
        }
    }

    fn shares_blocks(&self) -> bool {
        true
    }

    fn sequential(&self) -> bool {
        true
    }

    fn next_shared(
        &mut self,
        out: &mut Vec<RecordSpan>,
        max: usize,
    ) -> Option<Result<SharedBlock<'_>, String>> {
        if let Some(e) = self.pending_error.take() {
            self.advance_past_end();
            return Some(Err(e));
        }
        if self.failed {
            return None;
        }
        loop {
            let before = out.len();
            let read = self
                .current
                .as_mut()
                .map(|(i, s)| (*i, s.next_spans(out, max)));
            if let Some((i, err)) = read {
                let got = out.len() > before;
                if let Some(e) = err {
                    self.failed = true;
                    let msg = format!("{}: {e}", self.names[i]);
                    if !got {
                        // Keep the warnings and bytes of the failed input.
                        self.advance_past_end();
                        return Some(Err(msg));
                    }
                    // The records before the error first.
                    self.pending_error = Some(msg);
                }
                if got {
                    let (i, s) = self.current.as_ref()?;
                    return Some(Ok(SharedBlock {
                        block: s.block(),
                        input: *i,
                    }));
                }
            }
            match self.advance() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }

    fn input(&self) -> usize {
        self.current
            .as_ref()
            .map_or(self.next.saturating_sub(1), |(i, _)| *i)
    }

    fn input_name(&self, i: usize) -> String {
        self.names.get(i).cloned().unwrap_or_default()
    }

    fn progress(&self) -> (u64, u64) {
        let now = self.current.as_ref().map_or(0, |(_, s)| s.offset());
        (self.done_bytes + now, self.total_bytes)
    }

    fn take_warnings(&mut self) -> Vec<RunWarning> {
        std::mem::take(&mut self.warnings)
    }

    fn spread_sample(&mut self, f: &mut dyn FnMut(u32, &[u8])) -> bool {
        self.spread.sample(f)
    }
}

impl CaptureFiles {
    /// The next record of the current input (opening the next inputs as
    /// they end), as a handle into the current stream.
    fn next_ref(&mut self) -> Option<Result<RecordRef, String>> {
        if self.failed {
            return None;
        }
        loop {
            if let Some((i, s)) = &mut self.current {
                match s.next_ref() {
                    Some(Ok(r)) => return Some(Ok(r)),
                    Some(Err(e)) => {
                        self.failed = true;
                        let msg = format!("{}: {e}", self.names[*i]);
                        // Keep the warnings and bytes of the failed input.
                        self.advance_past_end();
                        return Some(Err(msg));
                    }
                    None => {}
                }
            }
            match self.advance() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }

    /// Closes the current input (its warnings kept) without opening more.
    fn advance_past_end(&mut self) {
        self.close_current(false);
        self.next = self.pending.len();
    }

    /// Closes the current input: its warnings, and one more when a
    /// regular file ended before the size it had when opened (it was cut
    /// while it was read). No such check after a read error, which says
    /// where reading stopped already.
    fn close_current(&mut self, check_size: bool) {
        let Some((i, s)) = self.current.take() else {
            return;
        };
        let name = &self.names[i];
        decompress::add_warnings(
            &mut self.warnings,
            self.cuts.get(i).and_then(Option::as_ref),
            name,
            s.warnings().iter().map(|w| w.run_warning(name)),
        );
        let end = s.offset();
        if check_size
            && s.warnings().is_empty()
            && let Some(Some(size)) = self.sizes.get(i)
            && end < *size
        {
            self.warnings.push(
                RunWarning::new(
                    RunWarningCode::FileChanged,
                    format!(
                        "{name}: byte {end}: the file ends here but had {size} bytes when opened; it changed while it was read"
                    ),
                )
                .file(name)
                .offset(end),
            );
        }
        self.done_bytes += end;
    }
}

/// One frame held in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Timestamp, nanoseconds since the epoch.
    pub ts_ns: u64,
    /// Link type (`parse::linktype`).
    pub linktype: u32,
    /// Length on the wire.
    pub orig_len: u32,
    /// The bytes captured.
    pub data: Vec<u8>,
}

/// Frames held in memory, for tests and benches.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    frames: Vec<Frame>,
    pos: usize,
    bytes: u64,
    /// Raise this flag at the n-th record asked for: a Ctrl-C in the
    /// middle of a pass, for tests ([`MemorySource::stopping_after`]).
    stop: Option<(usize, Arc<AtomicBool>)>,
    /// Records asked for so far.
    asked: usize,
}

impl MemorySource {
    /// A source of these frames, in this order.
    #[must_use]
    pub fn new(frames: Vec<Frame>) -> MemorySource {
        MemorySource {
            frames,
            ..MemorySource::default()
        }
    }

    /// The same source, which raises `stop` when the `after`-th record is
    /// asked for (what an interrupt does to a pass that reads a file).
    #[must_use]
    pub fn stopping_after(mut self, after: usize, stop: Arc<AtomicBool>) -> MemorySource {
        self.stop = Some((after, stop));
        self
    }
}

impl PacketSource for MemorySource {
    fn link_types(&mut self) -> Vec<u32> {
        let mut v: Vec<u32> = self.frames.iter().map(|f| f.linktype).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn next_record(&mut self) -> Option<Result<Record<'_>, String>> {
        self.asked += 1;
        if let Some((after, stop)) = &self.stop
            && self.asked >= *after
        {
            stop.store(true, Ordering::Relaxed);
        }
        let f = self.frames.get(self.pos)?;
        let offset = self.bytes;
        self.pos += 1;
        self.bytes += f.data.len() as u64;
        Some(Ok(Record {
            data: &f.data,
            orig_len: f.orig_len,
            ts_ns: f.ts_ns,
            linktype: f.linktype,
            offset,
        }))
    }

    fn input(&self) -> usize {
        0
    }

    fn input_name(&self, _i: usize) -> String {
        "memory".into()
    }

    fn progress(&self) -> (u64, u64) {
        let total = self.frames.iter().map(|f| f.data.len() as u64).sum();
        (self.bytes, total)
    }

    fn take_warnings(&mut self) -> Vec<RunWarning> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::warning::RunWarningCode;

    /// A capture cut at a record boundary after it was opened (rotated or
    /// rewritten while it was read): the records before the cut are read,
    /// and a `file-changed` warning names the file and the byte it ended
    /// at.
    #[test]
    fn a_file_cut_after_it_was_opened_warns_that_it_changed() {
        let demo = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../pcaps/oke-demo.pcap"
        ))
        .unwrap();
        let first = u32::from_le_bytes(demo[32..36].try_into().unwrap()) as usize;
        let cut = 24 + 16 + first;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.pcap");
        std::fs::write(&p, &demo).unwrap();
        let mut src = CaptureFiles::open(std::slice::from_ref(&p)).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(cut as u64)
            .unwrap();
        let mut n = 0;
        while let Some(r) = src.next_record() {
            r.unwrap();
            n += 1;
        }
        assert_eq!(n, 1);
        let w = src.take_warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].code, RunWarningCode::FileChanged);
        assert_eq!(w[0].offset, Some(cut as u64));
        assert_eq!(w[0].file.as_deref(), Some(p.display().to_string().as_str()));
        assert!(
            w[0].message.contains("it changed while it was read"),
            "{w:?}"
        );
    }
}
