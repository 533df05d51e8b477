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

use crate::pcap_out::PcapOut;

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
fn put(
    o: &mut Out,
    run: &mut Run,
    block: &[u8],
    m: &super::Rec,
    data: &[u8],
) -> Result<(), EngineError> {
    let start = m.start as usize;
    let verbatim = data.len() == m.len as usize
        && start >= 16
        && o.pcap
            .record_header(m.ts_ns, m.linktype, m.orig_len, m.len)
            .is_some_and(|h| block.get(start - 16..start) == Some(h.as_slice()));
    if verbatim {
        if run.records > 0 && run.to == start - 16 {
            run.to = start + data.len();
            run.records += 1;
        } else {
            run.flush(o, block)?;
            *run = Run {
                from: start - 16,
                to: start + data.len(),
                records: 1,
            };
        }
        return Ok(());
    }
    run.flush(o, block)?;
    o.pcap
        .write(m.ts_ns, m.linktype, m.orig_len, data)
        .map_err(|e| failed(o, e))
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
        // Each worker's codes of the current chunk and the read position
        // in them, by worker id (the engine has at most 64 workers).
        let mut cursors: Vec<Option<(Vec<u8>, usize)>> = Vec::new();
        let mut verdicts: Vec<Option<DropReason>> = Vec::new();
        let mut judged = 0u64;
        let mut runs = (Run::default(), Run::default());
        for d in descs {
            // Wait for every worker that judged a record of this chunk: a
            // bit per worker, not a sorted list of the chunk's records.
            let mut needed = 0u64;
            for &a in &d.assign {
                if a < 64 {
                    needed |= 1 << a;
                }
            }
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
                if let Some((v, _)) = c.take() {
                    let _ = codes_back.try_send(v);
                }
            }
            for w in 0..64u8 {
                if needed & (1 << w) != 0 {
                    let v = pending.remove(&(d.chunk, w)).unwrap_or_default();
                    let w = usize::from(w);
                    if cursors.len() <= w {
                        cursors.resize_with(w + 1, || None);
                    }
                    cursors[w] = Some((v, 0));
                }
            }
            let k = self.scenarios.max(1);
            let mut frame = 0usize;
            let block: &[u8] = d.block.as_deref().map_or(&[], Vec::as_slice);
            for a in &d.assign {
                if *a == NON_IP {
                    continue;
                }
                let Some(m) = d.metas.get(frame) else { break };
                let at = frame;
                frame += 1;
                let codes: &[u8] = match *a {
                    MALFORMED => &[],
                    w => {
                        let Some(Some((v, i))) = cursors.get_mut(usize::from(w)) else {
                            continue;
                        };
                        let c = v.get(*i..*i + k).unwrap_or_default();
                        *i += k;
                        c
                    }
                };
                // Allowed by the first scenario; a code missing (cannot
                // happen) or a malformed record: dropped, never allowed.
                let allowed = codes
                    .first()
                    .is_some_and(|c| DropReason::of_code(*c).is_none());
                let (out, run) = if allowed {
                    (&mut self.allowed, &mut runs.0)
                } else {
                    (&mut self.dropped, &mut runs.1)
                };
                if let Some(o) = live(out) {
                    let r = put(o, run, block, m, m.data(block));
                    o.ends_on(r);
                }
                if let Some(sink) = self.verdicts.as_deref_mut() {
                    let input = d.inputs.get(at).copied().unwrap_or(0);
                    let data = m.data(block);
                    verdicts.clear();
                    verdicts.extend(codes.iter().map(|c| DropReason::of_code(*c)));
                    verdicts.resize(k, Some(DropReason::Malformed));
                    let j = Judged {
                        index: judged,
                        ts_ns: m.ts_ns,
                        input: usize::try_from(input).unwrap_or(usize::MAX),
                        linktype: m.linktype,
                        orig_len: m.orig_len,
                        data,
                        verdicts: &verdicts,
                    };
                    sink.judged(&j).map_err(|source| EngineError::Output {
                        path: sink.name(),
                        source,
                    })?;
                }
                judged += 1;
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
