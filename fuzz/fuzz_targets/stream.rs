//! Any bytes as a capture, read two ways: the memory-mapped reader
//! (`Capture`, what `replay` uses on a regular file) and the stream reader
//! (`RecordStream`, what it uses on a pipe, standard input and gzip), the
//! stream fed in chunks of a size the input chooses. Both are hand-written
//! over the same formats, so each checks the other: the same records
//! (bytes, lengths, timestamps, link types, offsets), the same error at the
//! same place and the same warnings. Then the same bytes gzip- and
//! zstd-compressed through `decompress::records` give the same records
//! again.
//! The body lives in `fuzz/bodies/src/stream.rs`, shared with the stable
//! smoke run CI makes (`fuzz/bodies/tests/smoke.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zprsim_fuzz_bodies::stream::run(data));
