//! Ending a one-shot command without tearing down what it built.

use std::io::Write;

/// Ends the process with `code` once standard output and standard error are
/// flushed, without running destructors or the allocator's exit hook.
///
/// Why: after `replay` of the 10k-VNIC scenario had renamed its outputs into
/// place and printed its summary, 5-11 ms went to freeing the compiled
/// tables, the engine's output and the report one allocation at a time, and
/// to mimalloc's exit hook (`mi_process_done` collects every heap and hands
/// each free segment back with `madvise`, hundreds of calls) --
/// memory the kernel reclaims at exit anyway (docs/benchmarks.md, "The
/// whole command's start and end").
/// `std::process::exit` would still run the exit hook; `_exit` does not.
///
/// Call it only when every output is complete (committed: flushed, synced
/// and renamed into place) and no other thread writes anything the user
/// reads: what a thread still running does is cut off.
pub fn leave(code: u8) -> ! {
    // Rust's stdout is line-buffered and flushed by `exit`, which `_exit`
    // skips; standard error is unbuffered, flushed for form's sake. A
    // closed pipe is not worth an error here, as at a normal exit.
    let _ = std::io::stdout().lock().flush();
    let _ = std::io::stderr().lock().flush();
    #[allow(unsafe_code)]
    // SAFETY: `_exit` takes no pointers and never returns; it ends every
    // thread at once. What it skips (destructors, `atexit` handlers) only
    // frees memory here: the outputs were committed by the caller and the
    // standard streams flushed above.
    unsafe {
        libc::_exit(i32::from(code))
    }
}
