//! A bounded spool of finished records: an external sort in one
//! temporary file.
//!
//! Records are pushed in any order into an in-memory run of at most
//! `bound` records; a full run is sorted (by [`Spooled::order`], a total
//! order) and appended to the spool's temporary file in a fixed-size binary
//! form ([`Spooled::SIZE`] bytes each). At the end, [`Spool::finish`]
//! sorts the last run and hands back one [`Cursor`] per run, which the
//! caller merges (with its own further runs) through a heap of their heads.
//! So the records held in memory are at most `bound` while the pass runs,
//! and at most `FAN_IN × READ_BLOCK` (+ the last run) per spool while they
//! are merged: past `FAN_IN` runs, the oldest are first merged into longer
//! runs in the same file (or, when that file cannot grow, a full disk,
//! every run is handed back as it is and read fewer records at a time, the
//! blocks together as bounded).
//!
//! The file is unnamed (`tempfile::tempfile_in`: `O_TMPFILE`, or created
//! and unlinked at once), so it is gone when the spool and its cursors are
//! dropped, and also when the process is interrupted or killed: nothing is
//! left behind to remove. An I/O error (a full disk) is kept, the records
//! of that run are held in memory still, every later one is dropped, and
//! [`Spool::finish`] returns the error: the caller reports it, never a
//! partial flow log as if it were whole. A caller that stops at the error
//! (the flow-log reader: its records are the run's input) takes it with
//! [`Spool::recover`] and reads back what the spool holds, as a stopped
//! run's.
//!
//! Written here rather than taken from a crate: the external-sort crates
//! (`extsort`, `external_sort`, `extsort-lily`) sort an iterator they pull
//! from to its end, writing one named file per run in a temporary
//! directory (left behind by a kill); here records are pushed one at a
//! time from a worker's packet loop, the runs of all workers are merged
//! together by the caller, and the file must vanish even on `SIGKILL`.

use std::cmp::Ordering;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A record the spool can hold: a fixed-size binary form and a total order.
pub(crate) trait Spooled: Copy {
    /// Bytes of the binary form.
    const SIZE: usize;
    /// Writes the binary form into `out` (exactly [`Self::SIZE`] bytes).
    fn encode(&self, out: &mut [u8]);
    /// Reads a binary form written by [`Self::encode`]; `None` if it is
    /// not one.
    fn decode(b: &[u8]) -> Option<Self>;
    /// The order runs are sorted and merged in (total: equal only for
    /// records that are the same).
    fn order(&self, other: &Self) -> Ordering;
}

/// Records read from a run's part of the file at a time.
const READ_BLOCK: usize = 256;

/// Records encoded before one write.
const WRITE_BLOCK: usize = 256;

/// File runs handed back at most: past this, [`Spool::finish`] first
/// merges the oldest runs into longer ones (appended to the file), so the
/// final merge reads at most `FAN_IN × READ_BLOCK` records at a time
/// whatever the number of records and the bound. When that merge cannot be
/// written (a full disk), every run is handed back as it is, each read
/// [`merge_block`] records at a time.
pub(crate) const FAN_IN: usize = 128;

/// Records read from each of `runs` file runs at a time: [`READ_BLOCK`] up
/// to [`FAN_IN`] runs, then less, so the blocks together stay within
/// `FAN_IN × READ_BLOCK` records (one a run at the least: the runs' list,
/// held already, bounds those).
fn merge_block(runs: usize) -> usize {
    (FAN_IN * READ_BLOCK / runs.max(1)).clamp(1, READ_BLOCK)
}

/// What a spool did (summed or maxed over workers by the engine).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// The most records one spool held in memory at once (each worker's
    /// spool is bounded by [`super::EngineConfig::flow_spool`]).
    pub peak: usize,
    /// Records written to temporary files.
    pub spilled: u64,
    /// Sorted runs written to temporary files.
    pub runs: u64,
}

impl SpoolStats {
    /// Adds another spool's figures: counts summed, peak the larger.
    pub(crate) fn add(&mut self, o: &SpoolStats) {
        self.peak = self.peak.max(o.peak);
        self.spilled += o.spilled;
        self.runs += o.runs;
    }
}

/// A spool's I/O error, with the directory its file was in.
#[derive(Debug)]
pub struct SpoolError {
    /// The directory of the temporary file.
    pub dir: PathBuf,
    /// The error.
    pub source: io::Error,
}

impl SpoolError {
    /// What a user is told: the directory, the system's reason, what the
    /// file holds (`what`), and what to do (`memory`: how to hold more in
    /// memory instead, e.g. "a larger `--flow-log-buffer`").
    #[must_use]
    pub fn message(&self, what: &str, memory: &str) -> String {
        let dir = crate::output::shown(&self.dir);
        format!(
            "the temporary files in {dir} could not be written or read ({}): they hold {what}; give them room: free space in {dir}, set TMPDIR to a directory with more (`TMPDIR=/var/tmp zprsim ...`), or hold more in memory with {memory}",
            crate::output::io_message(&self.source)
        )
    }
}

/// Records waiting to be merged: at most `bound` in memory, the rest in
/// sorted runs in one unnamed temporary file.
pub(crate) struct Spool<T> {
    mem: Vec<T>,
    bound: usize,
    dir: PathBuf,
    file: Option<Arc<File>>,
    /// Each run's first record and length, in records.
    runs: Vec<(u64, u64)>,
    /// Records in the file.
    end: u64,
    buf: Vec<u8>,
    error: Option<io::Error>,
    stats: SpoolStats,
}

impl<T: Spooled> Spool<T> {
    /// A spool holding at most `bound` records (at least 1) in memory,
    /// spilling to a file in `dir` (`None`: the system's temporary
    /// directory, `$TMPDIR`).
    pub(crate) fn new(bound: usize, dir: Option<&Path>) -> Spool<T> {
        Spool {
            mem: Vec::new(),
            bound: bound.max(1),
            dir: dir.map_or_else(std::env::temp_dir, Path::to_path_buf),
            file: None,
            runs: Vec::new(),
            end: 0,
            buf: Vec::new(),
            error: None,
            stats: SpoolStats::default(),
        }
    }

    /// Adds a record; a full in-memory run is sorted and written first.
    pub(crate) fn push(&mut self, r: T) {
        if self.error.is_some() {
            return;
        }
        if self.mem.len() >= self.bound
            && let Err(e) = self.spill()
        {
            // The run that failed stays in memory (bounded as before), for
            // a caller that stops here ([`Spool::recover`]).
            self.error = Some(e);
            return;
        }
        self.mem.push(r);
        self.stats.peak = self.stats.peak.max(self.mem.len());
    }

    /// Whether the next [`Spool::push`] writes a run first (the in-memory
    /// run is full): a caller bounding the bytes written checks before it.
    pub(crate) fn full(&self) -> bool {
        self.mem.len() >= self.bound
    }

    /// Whether a write failed: the last [`Spool::push`] and every later
    /// one kept nothing.
    pub(crate) fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// The write error (a full disk), taken, with the spool made as it was
    /// before the failed write: the runs written before it, and the run
    /// that failed in memory. [`Spool::finish`] then hands them back (a
    /// stopped run's records). `None` when no write failed. When the file
    /// cannot be cut back to its whole runs, that error stays, and
    /// [`Spool::finish`] returns it.
    pub(crate) fn recover(&mut self) -> Option<SpoolError> {
        let source = self.error.take()?;
        if let Err(e) = self.cut_back() {
            self.error = Some(e);
        }
        Some(SpoolError {
            dir: self.dir.clone(),
            source,
        })
    }

    /// Cuts the file back to its whole runs: a failed write may have left
    /// part of a run past them, and later writes (merges) append at the
    /// file's position.
    fn cut_back(&self) -> io::Result<()> {
        use std::io::{Seek, SeekFrom};
        let Some(f) = &self.file else {
            return Ok(());
        };
        let whole = self.end.saturating_mul(T::SIZE as u64);
        let mut w: &File = f;
        f.set_len(whole)
            .and_then(|()| w.seek(SeekFrom::Start(whole)))
            .map(|_| ())
    }

    /// Records held: in the file's runs and in memory (before
    /// [`Spool::finish`], the first this many pushed; after a failed write
    /// and [`Spool::recover`], those pushed before it).
    pub(crate) fn held(&self) -> u64 {
        self.end + self.mem.len() as u64
    }

    /// Keeps only the first `n` records pushed ([`Spool::held`] of another
    /// spool given the same records, which failed): the file's runs past
    /// them dropped (the file cut back), and those in memory. Every run
    /// holds consecutive pushes (runs are written whole, `bound` records
    /// each), so this cuts between runs or in the last one, in memory, in
    /// push order; `false` (nothing changed) when `n` falls inside a file
    /// run.
    pub(crate) fn keep_first(&mut self, n: u64) -> bool {
        if n >= self.held() {
            return true;
        }
        let whole = self
            .runs
            .iter()
            .scan(0u64, |at, &(_, len)| {
                *at += len;
                Some(*at)
            })
            .take_while(|&end| end <= n)
            .count();
        let in_file: u64 = self.runs[..whole].iter().map(|&(_, len)| len).sum();
        let rest = n - in_file;
        // Past the file's whole runs, only the run in memory (in push
        // order: a run a failed write sorted is whole, `n` a multiple of
        // `bound` then) may be cut.
        if rest > 0 && whole < self.runs.len() {
            return false;
        }
        self.runs.truncate(whole);
        self.end = in_file;
        self.mem
            .truncate(usize::try_from(rest).unwrap_or(usize::MAX));
        // Later writes (merges) append at the file's position: when it
        // cannot be cut back, [`Spool::finish`] says so.
        if let Err(e) = self.cut_back() {
            self.error = Some(e);
        }
        true
    }

    /// The most records held in memory.
    pub(crate) fn bound(&self) -> usize {
        self.bound
    }

    /// What the spool did so far.
    pub(crate) fn stats(&self) -> SpoolStats {
        self.stats
    }

    /// Sorts the in-memory run and appends it to the file.
    fn spill(&mut self) -> io::Result<()> {
        self.mem.sort_unstable_by(T::order);
        let file = match &self.file {
            Some(f) => Arc::clone(f),
            None => {
                let f = Arc::new(tempfile::tempfile_in(&self.dir)?);
                self.file = Some(Arc::clone(&f));
                f
            }
        };
        let mut w: &File = &file;
        self.buf
            .resize(T::SIZE * WRITE_BLOCK.min(self.mem.len()), 0);
        for chunk in self.mem.chunks(WRITE_BLOCK) {
            let bytes = &mut self.buf[..chunk.len() * T::SIZE];
            for (r, out) in chunk.iter().zip(bytes.chunks_exact_mut(T::SIZE)) {
                r.encode(out);
            }
            w.write_all(bytes)?;
        }
        let n = self.mem.len() as u64;
        self.runs.push((self.end, n));
        self.end += n;
        self.stats.spilled += n;
        self.stats.runs += 1;
        self.mem.clear();
        Ok(())
    }

    /// Merges the file runs `group` into one run appended to the file.
    fn merge_runs(&mut self, group: &[(u64, u64)]) -> io::Result<()> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let Some(file) = self.file.clone() else {
            return Ok(());
        };
        let dir = Arc::new(PathBuf::new());
        let mut cursors: Vec<Cursor<T>> = Vec::with_capacity(group.len());
        for &(first, len) in group {
            let mut c = Cursor::File(FileRun::new(&file, &dir, first, len));
            c.fill()?;
            cursors.push(c);
        }
        let mut heap = BinaryHeap::with_capacity(cursors.len());
        for (i, c) in cursors.iter_mut().enumerate() {
            if let Some(r) = c.take_head() {
                heap.push(Reverse(Head(r, i)));
            }
        }
        let mut w: &File = &file;
        self.buf.clear();
        let mut n = 0u64;
        while let Some(Reverse(Head(r, i))) = heap.pop() {
            let at = self.buf.len();
            self.buf.resize(at + T::SIZE, 0);
            r.encode(&mut self.buf[at..]);
            n += 1;
            if self.buf.len() >= WRITE_BLOCK * T::SIZE {
                w.write_all(&self.buf)?;
                self.buf.clear();
            }
            if let Some(c) = cursors.get_mut(i) {
                c.advance().map_err(|e| e.source)?;
                if let Some(next) = c.take_head() {
                    heap.push(Reverse(Head(next, i)));
                }
            }
        }
        w.write_all(&self.buf)?;
        self.buf.clear();
        self.runs.push((self.end, n));
        self.end += n;
        Ok(())
    }

    /// The sorted runs: the ones in the file, then the last in-memory one
    /// (empty runs left out).
    ///
    /// # Errors
    /// The first I/O error writing or reading the file.
    pub(crate) fn finish(mut self) -> Result<Vec<Cursor<T>>, SpoolError> {
        let dir = std::mem::take(&mut self.dir);
        let fail = |source| SpoolError {
            dir: dir.clone(),
            source,
        };
        if let Some(e) = self.error.take() {
            return Err(fail(e));
        }
        while self.runs.len() > FAN_IN {
            let group: Vec<(u64, u64)> = self.runs[..FAN_IN].to_vec();
            if self.merge_runs(&group).is_err() {
                // The merged run could not be written (the disk that
                // stopped a recovered spool is full still): cut the file
                // back to its whole runs and hand every run back as it is,
                // each read a smaller block at a time ([`merge_block`]).
                self.cut_back().map_err(fail)?;
                break;
            }
            self.runs.drain(..FAN_IN);
        }
        let block = merge_block(self.runs.len());
        let mut out = Vec::with_capacity(self.runs.len() + 1);
        if let Some(file) = &self.file {
            let dir = Arc::new(dir.clone());
            for &(first, len) in &self.runs {
                let mut c = Cursor::File(FileRun::new(file, &dir, first, len).block(block));
                c.fill().map_err(fail)?;
                out.push(c);
            }
        }
        if !self.mem.is_empty() {
            self.mem.sort_unstable_by(T::order);
            out.push(Cursor::Mem(std::mem::take(&mut self.mem), 0));
        }
        Ok(out)
    }
}

/// The runs of [`Spool::finish`] merged into one sorted sequence, through
/// a heap of their heads (ties by run: the order is the runs' order, then
/// the earlier run).
pub(crate) struct Merge<T> {
    runs: Vec<Cursor<T>>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<Head<T>>>,
}

impl<T: Spooled> Merge<T> {
    /// The merge of `runs`.
    pub(crate) fn new(runs: Vec<Cursor<T>>) -> Merge<T> {
        let mut heap = std::collections::BinaryHeap::with_capacity(runs.len());
        for (i, c) in runs.iter().enumerate() {
            if let Some(r) = c.take_head() {
                heap.push(std::cmp::Reverse(Head(r, i)));
            }
        }
        Merge { runs, heap }
    }

    /// The next record in order (`None`: every run is read).
    ///
    /// # Errors
    /// Reading a run's file failed.
    pub(crate) fn next_record(&mut self) -> Result<Option<T>, SpoolError> {
        let Some(std::cmp::Reverse(Head(r, i))) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(c) = self.runs.get_mut(i) {
            c.advance()?;
            if let Some(next) = c.take_head() {
                self.heap.push(std::cmp::Reverse(Head(next, i)));
            }
        }
        Ok(Some(r))
    }
}

/// A run of a spool's file being read, a block of records at a time.
pub(crate) struct FileRun<T> {
    file: Arc<File>,
    /// The file's directory, for messages.
    dir: Arc<PathBuf>,
    /// The next record of the run to read from the file.
    next: u64,
    end: u64,
    /// Records read at a time (at most [`READ_BLOCK`]).
    per_read: usize,
    block: Vec<T>,
    pos: usize,
    raw: Vec<u8>,
}

impl<T> FileRun<T> {
    /// The run of `len` records from record `first` of `file`, nothing read yet.
    fn new(file: &Arc<File>, dir: &Arc<PathBuf>, first: u64, len: u64) -> FileRun<T> {
        FileRun {
            file: Arc::clone(file),
            dir: Arc::clone(dir),
            next: first,
            end: first + len,
            per_read: READ_BLOCK,
            block: Vec::new(),
            pos: 0,
            raw: Vec::new(),
        }
    }

    /// The same, read `n` records at a time (1 to [`READ_BLOCK`]).
    fn block(mut self, n: usize) -> FileRun<T> {
        self.per_read = n.clamp(1, READ_BLOCK);
        self
    }
}

/// One sorted run of a spool, read in order.
pub(crate) enum Cursor<T> {
    /// The last run, still in memory, and the position in it.
    Mem(Vec<T>, usize),
    /// A run in the file.
    File(FileRun<T>),
}

/// A run's head in the merge of [`Spool::merge_runs`]: ordered by the
/// record, then by run (equal records never come from two runs: the order
/// is total).
struct Head<T>(T, usize);

impl<T: Spooled> PartialEq for Head<T> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl<T: Spooled> Eq for Head<T> {}

impl<T: Spooled> PartialOrd for Head<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl<T: Spooled> Ord for Head<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.order(&o.0).then(self.1.cmp(&o.1))
    }
}

impl<T: Spooled> Cursor<T> {
    /// A copy of the head, for [`Spool::merge_runs`].
    fn take_head(&self) -> Option<T> {
        self.head().copied()
    }

    /// The run's next record (`None`: the run is over).
    pub(crate) fn head(&self) -> Option<&T> {
        match self {
            Cursor::Mem(v, i) => v.get(*i),
            Cursor::File(f) => f.block.get(f.pos),
        }
    }

    /// Records not yet moved past.
    pub(crate) fn remaining(&self) -> usize {
        match self {
            Cursor::Mem(v, i) => v.len().saturating_sub(*i),
            Cursor::File(f) => {
                f.block.len().saturating_sub(f.pos)
                    + usize::try_from(f.end - f.next).unwrap_or(usize::MAX)
            }
        }
    }

    /// Moves past the head.
    ///
    /// # Errors
    /// Reading the file failed, or it did not hold what was written.
    pub(crate) fn advance(&mut self) -> Result<(), SpoolError> {
        match self {
            Cursor::Mem(_, i) => {
                *i += 1;
                Ok(())
            }
            Cursor::File(f) => {
                f.pos += 1;
                if f.pos < f.block.len() {
                    return Ok(());
                }
                let dir = Arc::clone(&f.dir);
                self.fill().map_err(|source| SpoolError {
                    dir: dir.as_ref().clone(),
                    source,
                })
            }
        }
    }

    /// Reads a file run's next block (nothing once the run is read).
    fn fill(&mut self) -> io::Result<()> {
        let Cursor::File(f) = self else {
            return Ok(());
        };
        f.block.clear();
        f.pos = 0;
        let n = usize::try_from((f.end - f.next).min(f.per_read as u64)).unwrap_or(f.per_read);
        if n == 0 {
            f.raw = Vec::new();
            f.block = Vec::new();
            return Ok(());
        }
        f.raw.resize(n * T::SIZE, 0);
        f.file.read_exact_at(&mut f.raw, f.next * T::SIZE as u64)?;
        for b in f.raw.chunks_exact(T::SIZE) {
            let r = T::decode(b).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a spooled record could not be read back",
                )
            })?;
            f.block.push(r);
        }
        f.next += n as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct R(u64, u32);

    impl Spooled for R {
        const SIZE: usize = 12;
        fn encode(&self, out: &mut [u8]) {
            out[..8].copy_from_slice(&self.0.to_le_bytes());
            out[8..12].copy_from_slice(&self.1.to_le_bytes());
        }
        fn decode(b: &[u8]) -> Option<Self> {
            Some(R(
                u64::from_le_bytes(b.get(..8)?.try_into().ok()?),
                u32::from_le_bytes(b.get(8..12)?.try_into().ok()?),
            ))
        }
        fn order(&self, o: &Self) -> Ordering {
            (self.0, self.1).cmp(&(o.0, o.1))
        }
    }

    fn drain(mut runs: Vec<Cursor<R>>) -> Vec<R> {
        let mut out = Vec::new();
        loop {
            let best = runs
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.head().map(|h| (*h, i)))
                .min_by(|a, b| a.0.order(&b.0));
            let Some((r, i)) = best else { break };
            out.push(r);
            runs[i].advance().unwrap();
        }
        out
    }

    #[test]
    fn runs_merge_to_the_sorted_input_for_any_bound() {
        // Pseudo-random keys with repeats, pushed out of order.
        let input: Vec<R> = (0..2000u64)
            .map(|i| R((i * 7919) % 613, u32::try_from(i % 5).unwrap()))
            .collect();
        let mut want = input.clone();
        want.sort_unstable_by(R::order);
        for bound in [1, 3, 255, 256, 257, 1999, 2000, 5000] {
            let dir = tempfile::tempdir().unwrap();
            let mut s = Spool::new(bound, Some(dir.path()));
            for r in &input {
                s.push(*r);
                assert!(s.stats().peak <= bound);
            }
            let st = s.stats();
            assert_eq!(st.runs, (input.len() as u64 - 1) / bound as u64);
            assert_eq!(st.spilled, st.runs * bound as u64);
            let runs = s.finish().unwrap();
            // Past FAN_IN runs, the oldest were merged first.
            assert!(runs.len() <= FAN_IN + 1, "{}", runs.len());
            assert_eq!(
                runs.iter().map(Cursor::remaining).sum::<usize>(),
                input.len()
            );
            assert_eq!(drain(runs), want, "bound {bound}");
            // The file is unnamed: nothing in the directory, during or after.
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }
    }

    #[test]
    fn an_unwritable_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no such directory");
        let mut s = Spool::new(2, Some(&missing));
        for i in 0..10 {
            s.push(R(i, 0));
        }
        assert!(s.stats().peak <= 2);
        let e = s.finish().err().unwrap();
        assert_eq!(e.dir, missing);
        assert_eq!(e.source.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn nothing_spilled_means_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("never made");
        let mut s = Spool::new(100, Some(&missing));
        for i in (0..100).rev() {
            s.push(R(i, 0));
        }
        let runs = s.finish().unwrap();
        assert_eq!(drain(runs), (0..100).map(|i| R(i, 0)).collect::<Vec<_>>());
    }
}
