//! Capture files read ahead on a thread of their own while the caller does
//! something else first (`zprsim replay` loads and compiles the scenario):
//! the first blocks of the capture are read from the file and their records
//! found in the meantime, on a core the load and compile leave idle, and
//! the engine takes them from memory when it starts ([`ReadAhead`]).
//!
//! Only the first input is read ahead, and at most a bound of bytes of it;
//! nothing is judged or written before the engine runs, and what the engine
//! sees is exactly what it would have read itself: the same records in the
//! same blocks, the same warnings when the input ends, the same error at
//! the same place.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crate::capture::{Record, RecordSpan};
use crate::warning::RunWarning;

use super::source::{CaptureFiles, PacketSource, SharedBlock};

/// Bytes of blocks `zprsim replay` reads ahead at most while the scenario
/// compiles (40% of a 1M-packet capture of 64-byte frames; released as
/// the engine takes the records, before its state tables grow).
pub const READ_AHEAD_BYTES: usize = 32 << 20;

/// Records asked for at a time while reading ahead (the engine's chunk).
const AHEAD_RECORDS: usize = super::CHUNK;

/// What the thread read: the source, positioned after it, and its records.
struct Read {
    files: CaptureFiles,
    /// Runs of records, each in one block of one input, in order.
    runs: VecDeque<Run>,
    /// The source ended (`Some(None)`) or failed (`Some(Some(e))`) while
    /// it was read ahead: that comes after the runs.
    end: Option<Option<String>>,
}

/// Records of one block, as [`PacketSource::next_shared`] gave them.
struct Run {
    block: Arc<Vec<u8>>,
    spans: Vec<RecordSpan>,
    /// Those handed out so far.
    taken: usize,
    input: usize,
}

/// Capture files opened and read ahead on a thread from
/// [`ReadAhead::start`]; [`ReadAhead::finish`] waits for that thread and
/// gives the source to hand to the engine.
pub struct ReadAhead {
    thread: Option<JoinHandle<Result<Read, String>>>,
    stop: Arc<AtomicBool>,
}

impl ReadAhead {
    /// Opens `paths` ([`CaptureFiles::open`]) and reads the first input's
    /// records ahead, at most `max_bytes` of blocks, on a thread of its
    /// own.
    #[must_use]
    pub fn start(paths: Vec<PathBuf>, max_bytes: usize) -> ReadAhead {
        let stop = Arc::new(AtomicBool::new(false));
        let halt = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("zprsim-ahead".into())
            .spawn(move || read_ahead(&paths, max_bytes, &halt))
            .ok();
        ReadAhead { thread, stop }
    }

    /// Stops reading ahead and gives the source: the records read so far
    /// first, then the rest of the inputs.
    ///
    /// # Errors
    /// An input could not be opened or is not a capture, as
    /// [`CaptureFiles::open`] says it.
    pub fn finish(mut self, paths: &[PathBuf]) -> Result<AheadSource, String> {
        self.stop.store(true, Ordering::Relaxed);
        let read = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r?,
            // No thread could be started (or it failed): read from the start.
            Some(Err(_)) | None => Read {
                files: CaptureFiles::open(paths)?,
                runs: VecDeque::new(),
                end: None,
            },
        };
        Ok(AheadSource {
            read,
            current: None,
            input: 0,
        })
    }
}

impl Drop for ReadAhead {
    /// Not finished (the caller failed first): the thread stops at its
    /// next block and is left to end on its own.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The thread's work: open, then read the first input's records until
/// `max_bytes` of blocks are held, the input ends, or `stop` is set.
fn read_ahead(paths: &[PathBuf], max_bytes: usize, stop: &AtomicBool) -> Result<Read, String> {
    let mut files = CaptureFiles::open(paths)?;
    let mut runs: VecDeque<Run> = VecDeque::new();
    let mut held = 0usize;
    let mut end = None;
    let mut spans = Vec::with_capacity(AHEAD_RECORDS);
    while held < max_bytes && !stop.load(Ordering::Relaxed) {
        spans.clear();
        match files.next_shared(&mut spans, AHEAD_RECORDS) {
            None => {
                end = Some(None);
                break;
            }
            Some(Err(e)) => {
                end = Some(Some(e));
                break;
            }
            Some(Ok(SharedBlock { block, input })) => {
                let same = runs
                    .back()
                    .is_some_and(|r| Arc::ptr_eq(&r.block, block) && r.input == input);
                // The spans count too (24 bytes a record: with small
                // frames, half as much again as the blocks; the
                // mid-session review's L5).
                held += std::mem::size_of_val(spans.as_slice());
                match runs.back_mut() {
                    Some(r) if same => r.spans.extend_from_slice(&spans),
                    _ => {
                        held += block.len();
                        runs.push_back(Run {
                            block: Arc::clone(block),
                            spans: std::mem::replace(&mut spans, Vec::with_capacity(AHEAD_RECORDS)),
                            taken: 0,
                            input,
                        });
                    }
                }
                // The next input's warnings would come out of order:
                // the engine reads on from here.
                if input > 0 {
                    break;
                }
            }
        }
    }
    Ok(Read { files, runs, end })
}

/// The source [`ReadAhead::finish`] gives: the records read ahead, then
/// the capture files read on as usual.
pub struct AheadSource {
    read: Read,
    /// The block of the records handed out last from memory.
    current: Option<Arc<Vec<u8>>>,
    /// The input of the records handed out last.
    input: usize,
}

impl PacketSource for AheadSource {
    fn link_types(&mut self) -> Vec<u32> {
        self.read.files.link_types()
    }

    fn link_types_may_grow(&self) -> bool {
        self.read.files.link_types_may_grow()
    }

    fn next_record(&mut self) -> Option<Result<Record<'_>, String>> {
        // Never called: this source shares its blocks.
        None
    }

    fn input(&self) -> usize {
        if self.read.runs.is_empty() && self.read.end.is_none() {
            self.read.files.input()
        } else {
            self.input
        }
    }

    fn input_name(&self, i: usize) -> String {
        self.read.files.input_name(i)
    }

    fn progress(&self) -> (u64, u64) {
        self.read.files.progress()
    }

    fn take_warnings(&mut self) -> Vec<RunWarning> {
        self.read.files.take_warnings()
    }

    fn sequential(&self) -> bool {
        true
    }

    fn shares_blocks(&self) -> bool {
        true
    }

    fn next_shared(
        &mut self,
        out: &mut Vec<RecordSpan>,
        max: usize,
    ) -> Option<Result<SharedBlock<'_>, String>> {
        if let Some(run) = self.read.runs.front_mut() {
            let rest = run.spans.get(run.taken..).unwrap_or_default();
            let n = rest.len().min(max.max(1));
            out.extend_from_slice(rest.get(..n).unwrap_or_default());
            run.taken += n;
            self.input = run.input;
            let block = Arc::clone(&run.block);
            if run.taken >= run.spans.len() {
                self.read.runs.pop_front();
            }
            let block = self.current.insert(block);
            return Some(Ok(SharedBlock {
                block,
                input: self.input,
            }));
        }
        // Released: the source reuses a block once nobody holds it.
        self.current = None;
        match self.read.end.take() {
            Some(None) => None,
            Some(Some(e)) => Some(Err(e)),
            None => self.read.files.next_shared(out, max),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// What the engine makes of a source: its chunks (a chunk ends when
    /// it holds [`super::super::CHUNK`] records or the block changes, and
    /// `next_shared` is asked for at most the chunk's room), each with its
    /// input, record count and a digest of the records' times and bytes;
    /// then the error, and the warnings.
    type Seen = (Vec<(usize, usize, u64)>, Option<String>, Vec<String>);

    fn drain(src: &mut dyn PacketSource) -> Seen {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut chunks = Vec::new();
        let mut error = None;
        let mut spans = Vec::new();
        let mut last: Option<Arc<Vec<u8>>> = None;
        // The chunk being filled: input, records, digest.
        let mut open: Option<(usize, usize, DefaultHasher)> = None;
        loop {
            spans.clear();
            let room = super::super::CHUNK - open.as_ref().map_or(0, |c| c.1);
            match src.next_shared(&mut spans, room) {
                None => break,
                Some(Err(e)) => {
                    error = Some(e);
                    break;
                }
                Some(Ok(b)) => {
                    if !last.as_ref().is_some_and(|l| Arc::ptr_eq(l, b.block))
                        && let Some((i, n, h)) = open.take()
                    {
                        chunks.push((i, n, h.finish()));
                    }
                    last = Some(Arc::clone(b.block));
                    let c = open.get_or_insert_with(|| (b.input, 0, DefaultHasher::new()));
                    for r in &spans {
                        (b.input, r.ts_ns, r.data(b.block)).hash(&mut c.2);
                    }
                    c.1 += spans.len();
                    if c.1 >= super::super::CHUNK
                        && let Some((i, n, h)) = open.take()
                    {
                        chunks.push((i, n, h.finish()));
                    }
                }
            }
        }
        if let Some((i, n, h)) = open.take() {
            chunks.push((i, n, h.finish()));
        }
        let warnings = src
            .take_warnings()
            .iter()
            .map(|w| w.message.clone())
            .collect();
        (chunks, error, warnings)
    }

    /// A capture of `copies` times the records of `pcap`.
    fn repeated(pcap: &[u8], copies: usize) -> Vec<u8> {
        let mut v = pcap[..24].to_vec();
        for _ in 0..copies {
            v.extend_from_slice(&pcap[24..]);
        }
        v
    }

    /// Read ahead by any amount (none, one block, part of the first
    /// input, all of it), the engine gets what it gets from the files
    /// themselves: the same records in the same blocks and calls, the
    /// same inputs, the same warning of a capture cut inside a record and
    /// the same error of one that is not a capture.
    #[test]
    fn the_engine_sees_the_same_records_blocks_and_warnings_however_much_is_read_ahead() {
        let demo = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../pcaps/oke-demo.pcap"
        ))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        // Three blocks and more (1 MiB each), then a capture cut inside
        // its last record.
        let big = repeated(&demo, (3 << 20) / demo.len() + 1);
        let a = dir.path().join("a.pcap");
        std::fs::write(&a, &big).unwrap();
        let b = dir.path().join("b.pcap");
        std::fs::write(&b, &demo[..demo.len() - 7]).unwrap();
        let c = dir.path().join("c.pcap");
        std::fs::write(&c, b"not a capture at all, not even close").unwrap();
        for paths in [vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]] {
            let direct = drain(&mut CaptureFiles::open(&paths).unwrap());
            assert!(direct.0.len() > 3, "several blocks");
            assert!(!direct.2.is_empty(), "the cut capture warns");
            for max in [0, 1, 1 << 20, 2 << 20, 64 << 20] {
                let mut src = ReadAhead::start(paths.clone(), max).finish(&paths).unwrap();
                assert_eq!(drain(&mut src), direct, "{max} bytes ahead");
            }
        }
        // An input that is not a capture: the same error, from `finish`.
        let bad = vec![a.clone(), c.clone()];
        let direct = CaptureFiles::open(&bad).err().unwrap();
        let ahead = ReadAhead::start(bad.clone(), 1 << 20).finish(&bad).err();
        assert_eq!(ahead, Some(direct));
    }
}
