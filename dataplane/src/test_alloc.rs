//! The unit tests' allocator: the system's, counting the bytes each thread
//! holds and the most it held since [`reset`], so a test can bound what a
//! reader holds at once (a buffer grown by doubling holds its old and new
//! blocks while it moves: counted so, whatever `realloc` does in place),
//! and the allocations each thread made ([`allocations`]), so a test can
//! say that a path allocates nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static HELD: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|a| a.set(a.get().saturating_add(1)));
}

fn grow(n: usize) {
    let _ = HELD.try_with(|h| {
        let now = h.get().saturating_add(n);
        h.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn shrink(n: usize) {
    let _ = HELD.try_with(|h| h.set(h.get().saturating_sub(n)));
}

// SAFETY: every call is passed to `System` unchanged, with the layout it
// was given; the counters are thread-locals of `Cell<usize>` with a const
// initializer (no allocation, no destructor), reached with `try_with`.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        grow(layout.size());
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The new block counted before the old one is let go.
        count();
        grow(new_size);
        shrink(layout.size());
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Starts a measure on this thread: the peak is what it holds now.
pub fn reset() {
    let now = HELD.with(Cell::get);
    PEAK.with(|p| p.set(now));
}

/// The most this thread held since [`reset`], over what it held then.
#[must_use]
pub fn peak_since(start: usize) -> usize {
    PEAK.with(Cell::get).saturating_sub(start)
}

/// What this thread holds now.
#[must_use]
pub fn held() -> usize {
    HELD.with(Cell::get)
}

/// Allocations (and reallocations) this thread made so far.
#[must_use]
pub fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}
