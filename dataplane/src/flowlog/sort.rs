//! An external sort of fixed-size records for flow-log `diff`
//! (its flows grouped by tuple, its changed flows in output order): the
//! engine's spool (`engine/spool.rs`: sorted runs in one unnamed temporary
//! file past a bound of records in memory) behind a public trait.

use std::cmp::Ordering;
use std::path::Path;

use crate::engine::spool::{FAN_IN, Merge, Spool, SpoolError, Spooled};

/// A record a [`Sorter`] can hold: a fixed-size binary form and a total
/// order.
pub trait SortRecord: Copy {
    /// Bytes of the binary form.
    const SIZE: usize;
    /// Writes the binary form into `out` (exactly [`Self::SIZE`] bytes).
    fn encode(&self, out: &mut [u8]);
    /// Reads a form written by [`Self::encode`]; `None` if it is not one.
    fn decode(b: &[u8]) -> Option<Self>;
    /// The order (total: equal only for records that are the same).
    fn order(&self, other: &Self) -> Ordering;
}

pub use super::codec::{ip_bytes, ip_from};

#[derive(Clone, Copy)]
struct W<T>(T);

impl<T: SortRecord> Spooled for W<T> {
    const SIZE: usize = T::SIZE;
    fn encode(&self, out: &mut [u8]) {
        self.0.encode(out);
    }
    fn decode(b: &[u8]) -> Option<Self> {
        T::decode(b).map(W)
    }
    fn order(&self, o: &Self) -> Ordering {
        self.0.order(&o.0)
    }
}

/// Records pushed in any order, read back sorted: at most `bound` in
/// memory, the rest in sorted runs of an unnamed temporary file, whose
/// bytes are checked against a limit before each run is written.
pub struct Sorter<T> {
    spool: Spool<W<T>>,
    max_bytes: u64,
}

/// What a sorter's temporary file holds, as its errors say (`diff`'s
/// records sorted by flow; the changed flows say their own).
pub(crate) const SORTED_BY_FLOW: &str =
    "`diff`'s flow-log records, sorted by flow to build its flows past `--flow-log-buffer`";

fn spool_error(e: &SpoolError) -> String {
    e.message(SORTED_BY_FLOW, "a larger `--flow-log-buffer`")
}

impl<T: SortRecord> Sorter<T> {
    /// A sorter holding at most `bound` records (at least 1) in memory,
    /// writing at most `max_bytes` to a temporary file in `dir` (`None`:
    /// `$TMPDIR`).
    #[must_use]
    pub fn new(bound: usize, max_bytes: u64, dir: Option<&Path>) -> Sorter<T> {
        Sorter {
            spool: Spool::new(bound, dir),
            max_bytes,
        }
    }

    /// Adds a record.
    ///
    /// # Errors
    /// The run it would write takes the file past the limit (counting the
    /// records twice past 128 runs, for the merges that rewrite them):
    /// the limit's bytes.
    pub fn push(&mut self, r: T) -> Result<(), u64> {
        if self.spool.full() {
            let st = self.spool.stats();
            let bytes = (st.spilled + self.spool.bound() as u64) * T::SIZE as u64;
            let bytes = if st.runs + 1 > FAN_IN as u64 {
                2 * bytes
            } else {
                bytes
            };
            if bytes > self.max_bytes {
                return Err(self.max_bytes);
            }
        }
        self.spool.push(W(r));
        Ok(())
    }

    /// Whether a run could not be written (a full disk): the record of
    /// the failed [`Sorter::push`] and every later one was kept out; see
    /// [`Sorter::recover`].
    #[must_use]
    pub fn failed(&self) -> bool {
        self.spool.failed()
    }

    /// After a failed write: the message (the directory, `what` fills it,
    /// what to do), with the sorter made as it was before that write, so
    /// [`Sorter::finish`] gives back the records pushed before it. `None`
    /// when no write failed.
    pub fn recover(&mut self, what: &str) -> Option<String> {
        self.spool
            .recover()
            .map(|e| e.message(what, "a larger `--flow-log-buffer`"))
    }

    /// Sorted runs written so far.
    #[must_use]
    pub fn runs(&self) -> u64 {
        self.spool.stats().runs
    }

    /// The records, sorted.
    ///
    /// # Errors
    /// The temporary file could not be written or read.
    pub fn finish(self) -> Result<Sorted<T>, String> {
        Ok(Sorted {
            merge: Merge::new(self.spool.finish().map_err(|e| spool_error(&e))?),
        })
    }
}

/// The records of a [`Sorter`], in order.
pub struct Sorted<T> {
    merge: Merge<W<T>>,
}

impl<T: SortRecord> Sorted<T> {
    /// The next record (`None` at the end).
    ///
    /// # Errors
    /// The temporary file could not be read.
    pub fn next_record(&mut self) -> Result<Option<T>, String> {
        self.merge
            .next_record()
            .map(|r| r.map(|w| w.0))
            .map_err(|e| spool_error(&e))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct R(u32);

    impl SortRecord for R {
        const SIZE: usize = 4;
        fn encode(&self, out: &mut [u8]) {
            out.copy_from_slice(&self.0.to_le_bytes());
        }
        fn decode(b: &[u8]) -> Option<Self> {
            Some(R(u32::from_le_bytes(b.try_into().ok()?)))
        }
        fn order(&self, o: &Self) -> Ordering {
            self.0.cmp(&o.0)
        }
    }

    #[test]
    fn sorts_past_its_bound_and_refuses_past_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let input: Vec<u32> = (0..500u32).map(|i| (i * 7919) % 1009).collect();
        let mut s = Sorter::new(3, u64::MAX, Some(dir.path()));
        for &x in &input {
            s.push(R(x)).unwrap();
        }
        assert!(s.runs() > 128);
        let mut out = Vec::new();
        let mut sorted = s.finish().unwrap();
        while let Some(R(x)) = sorted.next_record().unwrap() {
            out.push(x);
        }
        let mut want = input.clone();
        want.sort_unstable();
        assert_eq!(out, want);
        // Room for two runs of 3 records, not three.
        let mut s = Sorter::new(3, 2 * 3 * 4, Some(dir.path()));
        let pushed = (0..20).take_while(|&i| s.push(R(i)).is_ok()).count();
        assert_eq!(pushed, 9);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
