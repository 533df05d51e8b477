//! The writer: verdicts back in input order, frames copied byte for byte
//! to the allowed and dropped outputs.
//!
//! Each chunk's descriptor holds the block its records lie in (shared with
//! the workers, reference-counted) and each IP or malformed record's place
//! in it, so the writer needs no second pass over the input: standard
//! input and pipes work, and a file that changes while it is read cannot
//! make the outputs disagree with the verdicts.

use std::collections::HashMap;
use std::io::Write;

use crossbeam_channel::{Receiver, Sender};

use crate::pcap_out::{PcapOut, is_record_header};

use crate::drop_reason::DropReason;

use super::{ChunkDesc, EngineError, Judged, MALFORMED, NON_IP, ResultBatch, VerdictSink};

/// A pcap output the engine writes: its name (for messages) and the
/// stream (a temporary file, a file, or standard output).
pub struct PcapSink {
    /// The name messages give it (`--allowed out.pcap`).
    pub name: String,
    /// Where the bytes go.
    pub out: Box<dyn Write + Send>,
    /// Called on the writer's thread once the last record is written and
    /// flushed (at the pass's end, or its interruption's; not when the
    /// output ended early): `replay` syncs its temporary file to disk
    /// there ([`crate::output::OutputFile::sync_ahead`]), so the commit's
    /// `fsync` (3-12 ms on a shared disk, 45-54 ms for 72 MB) overlaps the
    /// rest of the pass's end instead of following it.
    pub on_finish: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for PcapSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapSink")
            .field("name", &self.name)
            .finish()
    }
}

/// An open output: where records go, and its name.
pub(crate) struct Out {
    pub(crate) name: String,
    pub(crate) pcap: PcapOut<Box<dyn Write + Send>>,
    /// Records handed on in full: counted when a chunk's records are
    /// flushed through.
    pub(crate) flushed: u64,
    /// A write failed (a full disk) or the stream's reader left: nothing
    /// more is written to it, the pass goes on, and it counts as written
    /// only the records flushed before ([`Out::flushed`]). The stream
    /// (an [`OutputFile`](crate::output::OutputFile)) knows why.
    pub(crate) ended: bool,
    /// [`PcapSink::on_finish`].
    on_finish: Option<Box<dyn FnOnce() + Send>>,
}

impl Out {
    pub(crate) fn new(
        name: String,
        pcap: PcapOut<Box<dyn Write + Send>>,
        on_finish: Option<Box<dyn FnOnce() + Send>>,
    ) -> Out {
        Out {
            name,
            pcap,
            flushed: 0,
            ended: false,
            on_finish,
        }
    }

    /// An error in `r` ends this output (not the pass).
    fn ends_on<T>(&mut self, r: Result<T, EngineError>) {
        if r.is_err() {
            self.ended = true;
        }
    }

    /// Flushes the chunk's records through; counts them as written.
    fn checkpoint(&mut self) {
        if self.ended {
            return;
        }
        match self.pcap.flush() {
            Ok(()) => self.flushed = self.pcap.packets(),
            Err(_) => self.ended = true,
        }
    }

    /// The records written in full: all of them, or those flushed before
    /// the output ended.
    fn finish(self) -> u64 {
        if self.ended {
            return self.flushed;
        }
        let packets = self.pcap.packets();
        match self.pcap.finish().and_then(|mut w| w.flush()) {
            Ok(()) => {
                if let Some(f) = self.on_finish {
                    f();
                }
                packets
            }
            Err(_) => self.flushed,
        }
    }
}

pub(crate) struct Writer<'a> {
    pub(crate) allowed: Option<Out>,
    pub(crate) dropped: Option<Out>,
    pub(crate) verdicts: Option<&'a mut dyn VerdictSink>,
    /// Scenarios judged: each record has this many codes.
    pub(crate) scenarios: usize,
}

fn failed(o: &Out, source: std::io::Error) -> EngineError {
    EngineError::Output {
        path: o.name.clone(),
        source,
    }
}

/// `o` unless it ended ([`Out::ended`]).
fn live(o: &mut Option<Out>) -> Option<&mut Out> {
    o.as_mut().filter(|o| !o.ended)
}

/// Records of one output that lie back to back in the chunk's block
/// exactly as the output writes them (`PcapOut::record_header`): written
/// in one copy when the run breaks or the chunk ends.
#[derive(Default)]
struct Run {
    from: usize,
    to: usize,
    records: u64,
}

impl Run {
    /// Writes the run (if any) from `block` and empties it.
    fn flush(&mut self, o: &mut Out, block: &[u8]) -> Result<(), EngineError> {
        if self.records > 0 {
            let bytes = block.get(self.from..self.to).unwrap_or_default();
            o.pcap
                .write_verbatim(bytes, self.records)
                .map_err(|e| failed(o, e))?;
        }
        self.records = 0;
        Ok(())
    }
}

/// Writes one record to `o`: added to `run` when the block holds it as
/// the output would write it (its header right before the frame, and
/// right after the run's end), else the run first, then the record.
/// `pcap_lt` is the output's link type when it is classic pcap
/// ([`PcapOut::pcap_linktype`](crate::pcap_out::PcapOut::pcap_linktype),
/// looked up once per chunk).
#[inline]
fn put(
    o: &mut Out,
    run: &mut Run,
    block: &[u8],
    m: &super::Rec,
    pcap_lt: Option<u32>,
) -> Result<(), EngineError> {
    let start = m.start as usize;
    let end = start + m.len as usize;
    // What `PcapOut::record_header` would give, compared without its
    // division (`is_record_header`): the record's link type the file's,
    // and the 16 bytes before the frame its header, as written.
    let verbatim = pcap_lt == Some(m.linktype)
        && end <= block.len()
        && start
            .checked_sub(16)
            .and_then(|from| block.get(from..start))
            .and_then(|h| h.first_chunk::<16>())
            .is_some_and(|h| is_record_header(h, m.ts_ns, m.orig_len, m.len));
    if verbatim {
        if run.records > 0 && run.to == start - 16 {
            run.to = end;
            run.records += 1;
        } else {
            run.flush(o, block)?;
            *run = Run {
                from: start - 16,
                to: end,
                records: 1,
            };
        }
        return Ok(());
    }
    run.flush(o, block)?;
    o.pcap
        .write(m.ts_ns, m.linktype, m.orig_len, m.data(block))
        .map_err(|e| failed(o, e))
}

/// [`first_verdicts`]' values: the record is allowed by the first
/// scenario, dropped (or malformed, or its code missing: never allowed),
/// or left out (its worker gave no codes for the chunk: cannot happen).
const ALLOWED: u8 = 0;
const DROPPED: u8 = 1;
const LEFT: u8 = 2;
/// A record that is not IP (written by no output).
const NOT_JUDGED: u8 = 3;

/// One chunk's verdict codes: each judging worker's, read in the order
/// of its records.
#[derive(Clone)]
struct ChunkCodes<'c> {
    of: [&'c [u8]; 64],
    read: [usize; 64],
    /// [`ChunkDesc::workers`].
    needed: u64,
    /// Codes per record (the scenarios).
    k: usize,
}

impl<'c> ChunkCodes<'c> {
    fn new(cursors: &'c [Option<Vec<u8>>], needed: u64, k: usize) -> Self {
        let mut of: [&[u8]; 64] = [&[]; 64];
        for (w, c) in cursors.iter().enumerate().take(64) {
            if let Some(v) = c {
                of[w] = v;
            }
        }
        ChunkCodes {
            of,
            read: [0; 64],
            needed,
            k,
        }
    }

    /// The codes of the next record assigned `a` (a worker, or
    /// [`MALFORMED`]: none); `None` for a worker the chunk does not wait
    /// for (cannot happen). A worker that gave too few codes gives none.
    #[inline(always)]
    fn take(&mut self, a: u8) -> Option<&'c [u8]> {
        if a == MALFORMED {
            return Some(&[]);
        }
        if a >= 64 || self.needed & (1 << a) == 0 {
            return None;
        }
        let w = usize::from(a & 63);
        let i = self.read[w];
        self.read[w] = i + self.k;
        Some(self.of[w].get(i..i + self.k).unwrap_or_default())
    }
}

/// Into `out`, for each record of the chunk (`assign`), whether the
/// first scenario allowed it ([`ALLOWED`], [`DROPPED`], [`LEFT`], or
/// [`NOT_JUDGED`] for a record that is not IP); returns how many were
/// judged (IP or malformed, and not left out).
fn first_verdicts(assign: &[u8], mut codes: ChunkCodes<'_>, out: &mut Vec<u8>) -> u64 {
    out.clear();
    out.reserve(assign.len());
    let mut left = 0u64;
    for &a in assign {
        if a == NON_IP {
            left += 1;
            out.push(NOT_JUDGED);
            continue;
        }
        let v = match codes.take(a) {
            // Allowed by the first scenario; a code missing or a
            // malformed record: dropped, never allowed.
            Some(c) => match c.first() {
                Some(c) if DropReason::of_code(*c).is_none() => ALLOWED,
                _ => DROPPED,
            },
            None => {
                left += 1;
                LEFT
            }
        };
        out.push(v);
    }
    out.len() as u64 - left
}

/// The records of `metas` whose verdict is `want`, in order, to `o`.
fn write_records(
    o: &mut Out,
    run: &mut Run,
    block: &[u8],
    metas: &[super::Rec],
    verdicts: &[u8],
    want: u8,
) -> Result<(), EngineError> {
    let lt = o.pcap.pcap_linktype();
    for (m, v) in metas.iter().zip(verdicts) {
        if *v == want {
            put(o, run, block, m, lt)?;
        }
    }
    Ok(())
}

impl Writer<'_> {
    pub(crate) fn run(
        mut self,
        descs: Receiver<ChunkDesc>,
        results: Receiver<ResultBatch>,
        recycle: Sender<ChunkDesc>,
        codes_back: Sender<Vec<u8>>,
    ) -> Result<(u64, u64), EngineError> {
        let mut pending: HashMap<(u64, u8), Vec<u8>> = HashMap::new();
        let mut results_open = true;
        // Each worker's codes of the current chunk, by worker id (the
        // engine has at most 64 workers).
        let mut cursors: Vec<Option<Vec<u8>>> = Vec::new();
        let mut verdicts: Vec<Option<DropReason>> = Vec::new();
        let mut judged = 0u64;
        let mut runs = (Run::default(), Run::default());
        // The chunk's verdicts, by record ([`first_verdicts`]).
        let mut firsts: Vec<u8> = Vec::new();
        for d in descs {
            // Wait for every worker that judged a record of this chunk: a
            // bit per worker (the reader's, [`ChunkDesc::workers`]), not a
            // sorted list of the chunk's records.
            let needed = d.workers;
            let waits = |p: &HashMap<(u64, u8), Vec<u8>>| {
                (0..64u8).any(|w| needed & (1 << w) != 0 && !p.contains_key(&(d.chunk, w)))
            };
            while results_open && waits(&pending) {
                match results.recv() {
                    Ok(r) => {
                        pending.insert((r.chunk, r.worker), r.codes);
                    }
                    Err(_) => results_open = false,
                }
            }
            // Last chunk's codes go back to the workers for reuse.
            for c in &mut cursors {
                if let Some(v) = c.take() {
                    let _ = codes_back.try_send(v);
                }
            }
            for w in 0..64u8 {
                if needed & (1 << w) != 0 {
                    // No codes (a worker that failed): its records have
                    // none, and are dropped below.
                    let v = pending.remove(&(d.chunk, w)).unwrap_or_default();
                    let w = usize::from(w);
                    if cursors.len() <= w {
                        cursors.resize_with(w + 1, || None);
                    }
                    cursors[w] = Some(v);
                }
            }
            let k = self.scenarios.max(1);
            let codes = ChunkCodes::new(&cursors, needed, k);
            let block: &[u8] = d.block.as_deref().map_or(&[], Vec::as_slice);
            // The first scenario's verdict of each record, then each
            // output's records in one pass of its own.
            let n = first_verdicts(&d.assign, codes.clone(), &mut firsts);
            for (o, run, want) in [
                (&mut self.allowed, &mut runs.0, ALLOWED),
                (&mut self.dropped, &mut runs.1, DROPPED),
            ] {
                if let Some(o) = live(o) {
                    let r = write_records(o, run, block, &d.metas, &firsts, want);
                    o.ends_on(r);
                }
            }
            if let Some(sink) = self.verdicts.as_deref_mut() {
                let mut codes = codes;
                for (at, &a) in d.assign.iter().enumerate() {
                    if a == NON_IP {
                        continue;
                    }
                    let Some(m) = d.metas.get(at) else { break };
                    let Some(codes) = codes.take(a) else { continue };
                    let input = d.inputs.get(at).copied().unwrap_or(0);
                    verdicts.clear();
                    verdicts.extend(codes.iter().map(|c| DropReason::of_code(*c)));
                    verdicts.resize(k, Some(DropReason::Malformed));
                    let j = Judged {
                        index: judged,
                        ts_ns: m.ts_ns,
                        input: usize::try_from(input).unwrap_or(usize::MAX),
                        linktype: m.linktype,
                        orig_len: m.orig_len,
                        data: m.data(block),
                        verdicts: &verdicts,
                    };
                    sink.judged(&j).map_err(|source| EngineError::Output {
                        path: sink.name(),
                        source,
                    })?;
                    judged += 1;
                }
            } else {
                judged += n;
            }
            // The runs lie in this chunk's block: out before it goes.
            for (o, run) in [
                (&mut self.allowed, &mut runs.0),
                (&mut self.dropped, &mut runs.1),
            ] {
                if let Some(o) = live(o) {
                    let r = run.flush(o, block);
                    o.ends_on(r);
                    o.checkpoint();
                }
            }
            let mut d = d;
            // Let the block go, so the reader can reuse it.
            d.block = None;
            let _ = recycle.try_send(d);
        }
        Ok((
            self.allowed.take().map_or(0, Out::finish),
            self.dropped.take().map_or(0, Out::finish),
        ))
    }
}
