//! How the look-ups index their tables: [`Checked`] (every index checked:
//! any caller, any table) or [`Trusted`] (no bounds check: only the
//! judgement of a [`super::Compiled`], whose every index the tables'
//! invariants prove, and `valid.rs` checked those at construction).
//!
//! Why: slice bounds checks were 94 instructions of a `small` judgement's
//! 568 (16.6%, callgrind, docs/benchmarks.md, the thirty-third session's
//! judgement work). The look-ups are written once, generic over the
//! reader, so the checked and the trusted paths cannot drift apart.

/// A way to read `s[i]`.
pub(super) trait Read {
    /// `&s[i]`.
    ///
    /// # Safety
    /// [`Trusted`]: `i < s.len()`. [`Checked`]: none (it panics out of
    /// bounds, as indexing does).
    #[allow(unsafe_code)]
    unsafe fn at<T>(s: &[T], i: usize) -> &T;
}

/// Indexing with its bounds check.
pub(super) enum Checked {}

impl Read for Checked {
    #[inline(always)]
    #[allow(unsafe_code)]
    unsafe fn at<T>(s: &[T], i: usize) -> &T {
        &s[i]
    }
}

/// Indexing without a bounds check in release builds (checked by a debug
/// assertion in debug builds and tests).
pub(super) enum Trusted {}

impl Read for Trusted {
    #[inline(always)]
    #[allow(unsafe_code)]
    unsafe fn at<T>(s: &[T], i: usize) -> &T {
        debug_assert!(i < s.len(), "trusted read {i} of {}", s.len());
        // SAFETY: `i < s.len()` is this function's contract.
        unsafe { s.get_unchecked(i) }
    }
}
