//! Captures read as a stream: buffered reads from any [`Read`], for files,
//! pipes, FIFOs and standard input alike.
//!
//! Why not the memory map [`super::Capture::open`] uses: a file truncated
//! while mapped kills the process with SIGBUS, and pipes cannot be mapped.
//! A buffered read sees a file that shrinks as an early end (a
//! [`CaptureWarning::Truncated`] naming the byte offset) and costs one
//! copy of the bytes, which the measurements in docs/benchmarks.md show
//! is small beside judging them.
//!
//! Memory is bounded: the buffer holds at most one record or block (a
//! pcap record is at most [`MAX_CAPLEN`] bytes plus its header, a pcapng
//! block at most 16 MiB) beyond its initial 1 MiB.
//!
//! **Shared blocks.** The buffer is reference-counted
//! ([`RecordStream::block`]): the engine hands the records of a block to
//! its workers and writer as offsets into it, with no copy per record.
//! While anyone else holds the block, the stream never writes into it:
//! when it needs more bytes it moves to a fresh buffer (a recycled one when
//! all holders have dropped theirs), carrying over only the unread tail (at
//! most one partial record).
//!
//! ```
//! use zprsim_dataplane::capture::RecordStream;
//! let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
//! file.extend_from_slice(&[0; 8]);
//! file.extend_from_slice(&65535u32.to_le_bytes());
//! file.extend_from_slice(&1u32.to_le_bytes());
//! for field in [7u32, 500, 4, 60] {
//!     file.extend_from_slice(&field.to_le_bytes());
//! }
//! file.extend_from_slice(&[1, 2, 3, 4]);
//! let mut records = RecordStream::new(&file[..]).unwrap();
//! let record = records.next_record().unwrap().unwrap();
//! assert_eq!((record.data, record.orig_len, record.ts_ns), (&[1u8, 2, 3, 4][..], 60, 7_000_500_000));
//! assert!(records.next_record().is_none());
//! assert!(records.warnings().is_empty());
//! ```

use std::io::{self, Read};
use std::sync::Arc;

use super::{
    BT_EPB, BT_PB, BT_SHB, BT_SPB, BYTE_ORDER_MAGIC, CaptureError, CaptureWarning, Endian,
    FormatError, Kind, LengthOrder, MAX_BLOCK_LEN, MAX_CAPLEN, MAX_FIRST_SHB_LEN, NS_PER_S,
    NgBlock, NgState, PcapHeader, Record, Stop, detect, file_header_at, may_be_file_header,
};

/// Bytes read per refill.
const BUF_LEN: usize = 1 << 20;

/// Buffers kept for reuse once the engine hands blocks out (each at least
/// [`BUF_LEN`]): enough for the blocks in flight in the engine's queues.
const SPARE_BUFFERS: usize = 16;

enum StreamState {
    Pcap(PcapHeader),
    PcapNg(NgState),
    Done,
}

/// A packet found in the buffer, as indices (so no borrow outlives a
/// refill).
#[derive(Debug, Clone, Copy)]
struct Found {
    start: usize,
    len: usize,
    orig_len: u32,
    ts_ns: u64,
    linktype: u32,
    offset: u64,
}

/// A record's place in [`RecordStream::block`] and its fields
/// ([`RecordStream::next_spans`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordSpan {
    /// Timestamp, nanoseconds.
    pub ts_ns: u64,
    /// Where the frame starts in the block.
    pub start: u32,
    /// Bytes captured.
    pub len: u32,
    /// Length on the wire.
    pub orig_len: u32,
    /// Link type.
    pub linktype: u32,
}

impl RecordSpan {
    /// The frame's bytes in `block` (empty if the span is not in it).
    #[must_use]
    pub fn data<'b>(&self, block: &'b [u8]) -> &'b [u8] {
        let start = self.start as usize;
        block
            .get(start..start + self.len as usize)
            .unwrap_or_default()
    }
}

/// A handle to the record [`RecordStream::next_ref`] found; valid until
/// the next call.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef(Found);

impl RecordRef {
    /// Where the record's bytes lie in [`RecordStream::block`]: the start
    /// and the length.
    #[must_use]
    pub fn span(&self) -> (usize, usize) {
        (self.0.start, self.0.len)
    }
}

/// The records of a capture read from a stream, in order.
///
/// [`RecordStream::next_record`] lends each record from the buffer, so the
/// next call reuses it: nothing is allocated per record.
pub struct RecordStream<R> {
    src: R,
    /// The current block; shared with the engine's workers and writer
    /// while they hold records of it (then never written to).
    buf: Arc<Vec<u8>>,
    /// Earlier blocks, reused once nobody else holds them.
    spare: Vec<Arc<Vec<u8>>>,
    /// Unread bytes are `buf[lo..hi]`.
    lo: usize,
    hi: usize,
    /// File offset of `buf[lo]`.
    base: u64,
    eof: bool,
    state: StreamState,
    format: Kind,
    warnings: Vec<CaptureWarning>,
    records: u64,
}

impl<R> std::fmt::Debug for RecordStream<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordStream")
            .field("offset", &self.base)
            .field("records", &self.records)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl<R: Read> RecordStream<R> {
    /// Reads the file header from `src`.
    ///
    /// # Errors
    /// An I/O error, or a [`FormatError`] at offset 0 when the stream is not
    /// pcap or pcapng.
    pub fn new(src: R) -> Result<RecordStream<R>, CaptureError> {
        let mut s = RecordStream {
            src,
            buf: Arc::new(vec![0; BUF_LEN]),
            spare: Vec::new(),
            lo: 0,
            hi: 0,
            base: 0,
            eof: false,
            state: StreamState::Done,
            format: Kind::PcapNg,
            warnings: Vec::new(),
            records: 0,
        };
        s.fill(24)?;
        let kind = match detect(&s.buf[..s.hi]) {
            // Text that is no capture: a scenario or an expectations file
            // is named by a line that may come after a page of comments
            // (`zprsim replay s.toml - < proposed.toml`), looked for in
            // the first [`crate::sniff::HEAD`] bytes, as in a file's
            // (standard input gave the first read's bytes only).
            Err(CaptureError::Format {
                kind: FormatError::NotCapture,
                ..
            }) if s.hi < crate::sniff::HEAD => {
                s.fill(crate::sniff::HEAD)?;
                detect(&s.buf[..s.hi.min(crate::sniff::HEAD)])?
            }
            r => r?,
        };
        s.format = kind;
        s.state = match kind {
            Kind::Pcap(h) => {
                s.consume(24);
                StreamState::Pcap(h)
            }
            Kind::PcapNg => StreamState::PcapNg(NgState::new()),
        };
        Ok(s)
    }

    /// The container format.
    #[must_use]
    pub fn format(&self) -> super::CaptureFormat {
        super::format_of(self.format)
    }

    /// Why reading stopped before the end of the stream, if it did without
    /// an error (a stream cut inside a record).
    #[must_use]
    pub fn warnings(&self) -> &[CaptureWarning] {
        &self.warnings
    }

    /// Records yielded so far.
    #[must_use]
    pub fn records_read(&self) -> u64 {
        self.records
    }

    /// Bytes of the stream consumed so far (the offset of the next record).
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.base
    }

    /// The block the last record lies in (its `start` is an offset into
    /// it). A clone keeps the bytes alive; the stream then reads on into
    /// another buffer.
    #[must_use]
    pub fn block(&self) -> &Arc<Vec<u8>> {
        &self.buf
    }

    /// Makes at least `need` unread bytes available unless the stream ends
    /// first; returns how many are.
    fn fill(&mut self, need: usize) -> io::Result<usize> {
        while self.hi - self.lo < need && !self.eof {
            if Arc::get_mut(&mut self.buf).is_none() {
                self.fresh_block(need);
            } else if self.lo + need > self.buf.len() {
                let (lo, hi) = (self.lo, self.hi);
                let buf = Arc::make_mut(&mut self.buf);
                buf.copy_within(lo..hi, 0);
                self.hi -= self.lo;
                self.lo = 0;
                if need > buf.len() {
                    // Bounded by the callers: a record header plus
                    // MAX_CAPLEN, or a pcapng block of at most MAX_BLOCK_LEN.
                    buf.resize(need, 0);
                }
            }
            // Unique here (a fresh block or one nobody else holds), so
            // `make_mut` never copies.
            let (hi, buf) = (self.hi, Arc::make_mut(&mut self.buf));
            match self.src.read(&mut buf[hi..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.hi += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.hi - self.lo)
    }

    /// Moves the unread bytes to a buffer nobody else holds (a spare one
    /// when some holder has let go, else a new one), of at least `need`
    /// bytes; the shared one is kept as a spare.
    fn fresh_block(&mut self, need: usize) {
        let free = self
            .spare
            .iter_mut()
            .position(|b| Arc::get_mut(b).is_some());
        let mut next = match free {
            Some(i) => self.spare.swap_remove(i),
            None => Arc::new(vec![0; BUF_LEN]),
        };
        let unread = self.buf.get(self.lo..self.hi).unwrap_or_default();
        let len = next.len().max(need).max(unread.len());
        let b = Arc::make_mut(&mut next);
        if b.len() < len {
            b.resize(len, 0);
        }
        b[..unread.len()].copy_from_slice(unread);
        self.hi -= self.lo;
        self.lo = 0;
        let old = std::mem::replace(&mut self.buf, next);
        // A buffer grown for one large pcapng block is not kept: spares
        // stay at the usual size, so memory stays bounded by what is in
        // flight.
        if self.spare.len() < SPARE_BUFFERS && old.len() <= BUF_LEN {
            self.spare.push(old);
        }
    }

    fn consume(&mut self, n: usize) {
        self.lo += n;
        self.base += n as u64;
    }

    fn cut(&mut self, needed: u64, available: usize) {
        self.warnings.push(CaptureWarning::Truncated {
            offset: self.base,
            needed,
            available: available as u64,
        });
        self.state = StreamState::Done;
    }

    /// The next record, `None` at the end; at most one `Err`, after which
    /// the stream is finished.
    pub fn next_record(&mut self) -> Option<Result<Record<'_>, CaptureError>> {
        match self.next_ref()? {
            Ok(r) => Some(Ok(self.get(r))),
            Err(e) => Some(Err(e)),
        }
    }

    /// Like [`RecordStream::next_record`], but returns a handle to the
    /// record ([`RecordStream::get`] reads it), so a caller can decide what
    /// to do next before borrowing the buffer.
    pub fn next_ref(&mut self) -> Option<Result<RecordRef, CaptureError>> {
        let found = match &self.state {
            StreamState::Done => return None,
            StreamState::Pcap(h) => {
                let h = *h;
                self.next_pcap(h)
            }
            StreamState::PcapNg(_) => self.next_ng(),
        };
        match found {
            Ok(Some(f)) => {
                self.records += 1;
                Some(Ok(RecordRef(f)))
            }
            Ok(None) => {
                self.state = StreamState::Done;
                None
            }
            Err(e) => {
                self.state = StreamState::Done;
                Some(Err(e))
            }
        }
    }

    /// Appends to `out` the next records, at most `max` (at least one
    /// unless the stream has ended), all lying in one block
    /// ([`RecordStream::block`], read after this call): it stops before a
    /// record that would need a read. Returns the error that ended the
    /// stream, after the records before it.
    pub fn next_spans(&mut self, out: &mut Vec<RecordSpan>, max: usize) -> Option<CaptureError> {
        let mut first = true;
        while out.len() < max {
            if !first {
                self.pcap_run(out, max);
                if out.len() >= max || !self.next_is_buffered() {
                    break;
                }
            }
            first = false;
            match self.next_ref() {
                None => break,
                Some(Err(e)) => return Some(e),
                Some(Ok(RecordRef(f))) => out.push(RecordSpan {
                    ts_ns: f.ts_ns,
                    start: u32::try_from(f.start).unwrap_or(u32::MAX),
                    len: u32::try_from(f.len).unwrap_or(0),
                    orig_len: f.orig_len,
                    linktype: f.linktype,
                }),
            }
        }
        None
    }

    /// The pcap records that lie whole in the buffer, read in one tight
    /// loop (what [`RecordStream::next_ref`] does for each, without its
    /// refill checks): it stops at the first record that needs a read or
    /// is in error, which `next_ref` then handles.
    ///
    /// Per record: one bounds check for the 16-byte header, one for the
    /// frame, and a store into `out`, which is reserved once beforehand.
    fn pcap_run(&mut self, out: &mut Vec<RecordSpan>, max: usize) {
        let StreamState::Pcap(h) = self.state else {
            return;
        };
        let room = max.saturating_sub(out.len());
        if room == 0 {
            return;
        }
        out.reserve(room);
        let buf = self.buf.get(..self.hi).unwrap_or_default();
        let walk = match (h.endian, h.lengths) {
            (Endian::Little, LengthOrder::Normal) => walk_pcap::<false, 0>,
            (Endian::Little, LengthOrder::Swapped) => walk_pcap::<false, 1>,
            (Endian::Little, LengthOrder::MaybeSwapped) => walk_pcap::<false, 2>,
            (Endian::Big, LengthOrder::Normal) => walk_pcap::<true, 0>,
            (Endian::Big, LengthOrder::Swapped) => walk_pcap::<true, 1>,
            (Endian::Big, LengthOrder::MaybeSwapped) => walk_pcap::<true, 2>,
        };
        let before = out.len();
        let lo = walk(buf, self.lo, &h, out, room);
        self.records += (out.len() - before) as u64;
        self.base += (lo - self.lo) as u64;
        self.lo = lo;
    }

    /// Whether the next record (pcap) or packet block (pcapng) lies whole
    /// in the buffer, so reading it reads nothing from the source.
    fn next_is_buffered(&self) -> bool {
        let rest = self.buf.get(self.lo..self.hi).unwrap_or_default();
        match &self.state {
            StreamState::Done => false,
            StreamState::Pcap(h) => {
                // Perhaps another capture's file header (captures one after
                // the other): no record, and the record after it may need a
                // read, which would move the bytes of the records already
                // taken into this batch. `next_ref` decides, first in the
                // next batch.
                if Endian::Little.u32(rest, 0).is_some_and(may_be_file_header) {
                    return false;
                }
                let hl = h.record_header_len;
                let (Some(a), Some(b)) = (h.endian.u32(rest, 8), h.endian.u32(rest, 12)) else {
                    return false;
                };
                let swap = match h.lengths {
                    LengthOrder::Normal => false,
                    LengthOrder::Swapped => true,
                    LengthOrder::MaybeSwapped => a > b,
                };
                let caplen = if swap { b } else { a };
                // An impossible length is an error found without a read.
                caplen > MAX_CAPLEN || rest.len() >= hl + caplen as usize
            }
            StreamState::PcapNg(st) => {
                let Some(len) = ng_block_len(st, rest) else {
                    return false;
                };
                let ty = st.endian.u32(rest, 0);
                matches!(ty, Some(BT_EPB | BT_PB | BT_SPB)) && rest.len() >= len
            }
        }
    }

    /// The record a handle from the last [`RecordStream::next_ref`] names.
    /// (A stale handle reads whatever the buffer holds now, within bounds.)
    #[must_use]
    pub fn get(&self, r: RecordRef) -> Record<'_> {
        let f = r.0;
        let data = self.buf.get(f.start..f.start + f.len).unwrap_or_default();
        Record {
            data,
            orig_len: f.orig_len,
            ts_ns: f.ts_ns,
            linktype: f.linktype,
            offset: f.offset,
        }
    }

    fn next_pcap(&mut self, h: PcapHeader) -> Result<Option<Found>, CaptureError> {
        let hl = h.record_header_len;
        // Captures one after the other: the next one's header is skipped.
        loop {
            let head = self.fill(4)?;
            let first = Endian::Little.u32(&self.buf[self.lo..self.hi], 0);
            if head < 4 || !first.is_some_and(may_be_file_header) {
                break;
            }
            self.fill(24)?;
            match file_header_at(&h, &self.buf[self.lo..self.hi], self.base) {
                Some(Ok(n)) => self.consume(n),
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        let avail = self.fill(hl)?;
        if avail == 0 {
            return Ok(None);
        }
        if avail < hl {
            self.cut(hl as u64, avail);
            return Ok(None);
        }
        let rest = &self.buf[self.lo..self.hi];
        let e = h.endian;
        let (Some(sec), Some(frac), Some(a), Some(b)) = (
            e.u32(rest, 0),
            e.u32(rest, 4),
            e.u32(rest, 8),
            e.u32(rest, 12),
        ) else {
            self.cut(hl as u64, avail);
            return Ok(None);
        };
        let swap = match h.lengths {
            LengthOrder::Normal => false,
            LengthOrder::Swapped => true,
            LengthOrder::MaybeSwapped => a > b,
        };
        let (caplen, orig_len) = if swap { (b, a) } else { (a, b) };
        if caplen > MAX_CAPLEN {
            return Err(CaptureError::Format {
                offset: self.base,
                kind: FormatError::CaplenTooLarge { caplen },
            });
        }
        let end = hl + caplen as usize;
        let avail = self.fill(end)?;
        if avail < end {
            self.cut(end as u64, avail);
            return Ok(None);
        }
        let frac_ns = if h.nanosecond {
            u64::from(frac)
        } else {
            u64::from(frac) * 1000
        };
        let found = Found {
            start: self.lo + hl,
            len: caplen as usize,
            orig_len,
            ts_ns: u64::from(sec) * NS_PER_S + frac_ns,
            linktype: h.linktype,
            offset: self.base,
        };
        self.consume(end);
        Ok(Some(found))
    }

    /// Makes the whole block at the read position available (as far as
    /// the stream has it) when its header gives a plausible length.
    fn fill_block(&mut self, st: &NgState) -> io::Result<usize> {
        let avail = self.fill(12)?;
        match ng_block_len(st, &self.buf[self.lo..self.hi]) {
            Some(len) => self.fill(len),
            None => Ok(avail),
        }
    }

    fn next_ng(&mut self) -> Result<Option<Found>, CaptureError> {
        loop {
            let StreamState::PcapNg(st) = &mut self.state else {
                return Ok(None);
            };
            // The state moves out while the buffer fills (both are fields).
            let mut ng = std::mem::replace(st, NgState::new());
            let avail = self.fill_block(&ng)?;
            if avail == 0 {
                return Ok(None);
            }
            let before = ng.pos;
            let rest = &self.buf[self.lo..self.hi];
            let outcome = match ng.block(rest) {
                Ok(NgBlock::Packet(r)) => {
                    // Index of the frame in the buffer (the slice lies
                    // inside `rest`).
                    let start = self.lo + (r.data.as_ptr() as usize - rest.as_ptr() as usize);
                    Ok(Some(Found {
                        start,
                        len: r.data.len(),
                        orig_len: r.orig_len,
                        ts_ns: r.ts_ns,
                        linktype: r.linktype,
                        offset: r.offset,
                    }))
                }
                Ok(_) => Ok(None),
                Err(stop) => Err(stop),
            };
            let used = usize::try_from(ng.pos - before).unwrap_or(0);
            match outcome {
                Ok(found) => {
                    self.state = StreamState::PcapNg(ng);
                    // The frame stays in the buffer until the next call:
                    // consuming only moves the read position.
                    self.consume(used);
                    if let Some(f) = found {
                        return Ok(Some(f));
                    }
                }
                Err(Stop::Error(e)) => return Err(e),
                Err(Stop::Truncated(w)) => {
                    self.warnings.push(w);
                    return Ok(None);
                }
            }
        }
    }

    /// The link types of the interfaces described before the first packet
    /// (pcapng), or the file header's (pcap), read ahead without consuming
    /// anything. A pcapng stream may describe more interfaces later, so
    /// the engine writes pcapng outputs for it
    /// (`PacketSource::link_types_may_grow`).
    pub fn link_types_ahead(&mut self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut ng = match &self.state {
            StreamState::Pcap(h) => return vec![h.linktype],
            StreamState::Done => return out,
            StreamState::PcapNg(st) => st.clone(),
        };
        // Walk a copy of the state over the buffer, growing it as needed,
        // at most MAX_BLOCK_LEN ahead.
        let mut ahead = 0usize;
        while ahead < MAX_BLOCK_LEN as usize {
            let Ok(avail) = self.fill(ahead + 12) else {
                break;
            };
            if avail <= ahead {
                break;
            }
            let rest = &self.buf[self.lo + ahead..self.hi];
            let len = match ng_block_len(&ng, rest) {
                Some(len) => len,
                None => break,
            };
            if self.fill(ahead + len).is_err() {
                break;
            }
            let rest = &self.buf[self.lo + ahead..self.hi];
            let before = ng.pos;
            match ng.block(rest) {
                Ok(NgBlock::Interface(lt)) => {
                    if !out.contains(&lt) {
                        out.push(lt);
                    }
                }
                Ok(NgBlock::Packet(_)) | Err(_) => break,
                Ok(NgBlock::Other) => {}
            }
            ahead += usize::try_from(ng.pos - before).unwrap_or(usize::MAX / 2);
        }
        out
    }

    /// Every link type the rest of the stream declares (consumes it): the
    /// pcap header's, or those of every pcapng interface description block
    /// up to the first error or cut.
    pub fn link_types_to_end(mut self) -> Vec<u32> {
        let mut out = Vec::new();
        if let StreamState::Pcap(h) = &self.state {
            return vec![h.linktype];
        }
        while let StreamState::PcapNg(st) = &mut self.state {
            let mut ng = std::mem::replace(st, NgState::new());
            match self.fill_block(&ng) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
            let before = ng.pos;
            let rest = &self.buf[self.lo..self.hi];
            match ng.block(rest) {
                Ok(NgBlock::Interface(lt)) => {
                    if !out.contains(&lt) {
                        out.push(lt);
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
            let used = usize::try_from(ng.pos - before).unwrap_or(0);
            self.state = StreamState::PcapNg(ng);
            self.consume(used);
        }
        out
    }
}

/// The length of the pcapng block at the start of `rest`, when its header
/// is there and the length plausible.
fn ng_block_len(st: &NgState, rest: &[u8]) -> Option<usize> {
    let raw_type = Endian::Little.u32(rest, 0)?;
    let bom = Endian::Little.u32(rest, 8)?;
    let is_shb = raw_type == BT_SHB;
    let e = if !is_shb {
        st.endian
    } else if bom.swap_bytes() == BYTE_ORDER_MAGIC {
        Endian::Big
    } else {
        Endian::Little
    };
    let max = if is_shb && st.sections == 0 {
        MAX_FIRST_SHB_LEN
    } else {
        MAX_BLOCK_LEN
    };
    e.u32(rest, 4)
        .filter(|len| (12..=max).contains(len))
        .map(|len| len as usize)
}

/// [`RecordStream::pcap_run`]'s loop for one byte order (`BIG`) and one
/// [`LengthOrder`] (`LENGTHS`: 0 normal, 1 swapped, 2 maybe swapped), so
/// neither is decided per record: appends to `out` (reserved for `room`
/// more) the whole records of `buf` from `lo`, and returns where the
/// first one not taken starts.
#[inline]
fn walk_pcap<const BIG: bool, const LENGTHS: u8>(
    buf: &[u8],
    mut lo: usize,
    h: &PcapHeader,
    out: &mut Vec<RecordSpan>,
    room: usize,
) -> usize {
    let word = |b: [u8; 4]| {
        if BIG {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let hl = h.record_header_len;
    let unit: u64 = if h.nanosecond { 1 } else { 1000 };
    let linktype = h.linktype;
    for _ in 0..room {
        let Some(head) = buf.get(lo..lo + 16) else {
            break;
        };
        let w = |i: usize| word([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        if may_be_file_header(w(0)) {
            // Perhaps the next capture's header: `next_ref` decides.
            break;
        }
        let (a, b) = (w(8), w(12));
        let swap = match LENGTHS {
            0 => false,
            1 => true,
            _ => a > b,
        };
        let (caplen, orig_len) = if swap { (b, a) } else { (a, b) };
        let end = lo + hl + caplen as usize;
        if caplen > MAX_CAPLEN || end > buf.len() {
            break;
        }
        out.push(RecordSpan {
            ts_ns: u64::from(w(0)) * NS_PER_S + u64::from(w(4)) * unit,
            start: u32::try_from(lo + hl).unwrap_or(u32::MAX),
            len: caplen,
            orig_len,
            linktype,
        });
        lo = end;
    }
    lo
}
