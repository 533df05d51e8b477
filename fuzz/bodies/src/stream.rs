//! Any bytes as a capture, read two ways: the memory-mapped reader
//! (`Capture`, what `replay` uses on a regular file) and the stream reader
//! (`RecordStream`, what it uses on a pipe, standard input and gzip), the
//! stream fed in chunks of a size the input chooses. Both are hand-written
//! over the same formats, so each checks the other: the same records
//! (bytes, lengths, timestamps, link types, offsets), the same error at the
//! same place and the same warnings. Then the same bytes gzip- and
//! zstd-compressed through `decompress::records` give the same records
//! again.

use std::io::Read;

use flate2::Compression;
use flate2::write::GzEncoder;
use zprsim_dataplane::capture::{Capture, RecordStream, decompress};

/// A reader that hands out at most `chunk` bytes per read.
struct Chunked {
    data: Vec<u8>,
    at: usize,
    chunk: usize,
}

impl Read for Chunked {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(out.len()).min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// What a reader yielded: the records (or the error that ended them), and
/// the warnings at the end.
#[derive(Debug, PartialEq)]
struct Read2 {
    records: Vec<(Vec<u8>, u32, u64, u32, u64)>,
    error: Option<String>,
    warnings: Vec<String>,
}

fn stream<R: Read>(s: Result<RecordStream<R>, impl std::fmt::Display>) -> Read2 {
    let mut s = match s {
        Ok(s) => s,
        Err(e) => {
            return Read2 {
                records: Vec::new(),
                error: Some(e.to_string()),
                warnings: Vec::new(),
            };
        }
    };
    let mut records = Vec::new();
    let mut error = None;
    while let Some(r) = s.next_record() {
        match r {
            Ok(r) => records.push((r.data.to_vec(), r.orig_len, r.ts_ns, r.linktype, r.offset)),
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let warnings = s.warnings().iter().map(|w| format!("{w:?}")).collect();
    Read2 {
        records,
        error,
        warnings,
    }
}

/// The body of the `stream` fuzz target.
pub fn run(input: &[u8]) {
    let Some((&chunk, data)) = input.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let opened = Capture::from_bytes(data.to_vec());
    let is_open = opened.is_ok();
    let whole = match opened {
        Ok(c) => {
            let mut records = Vec::new();
            let mut error = None;
            let mut it = c.records();
            for r in it.by_ref() {
                match r {
                    Ok(r) => {
                        records.push((r.data.to_vec(), r.orig_len, r.ts_ns, r.linktype, r.offset))
                    }
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                }
            }
            let warnings = it.warnings().iter().map(|w| format!("{w:?}")).collect();
            Read2 {
                records,
                error,
                warnings,
            }
        }
        Err(e) => Read2 {
            records: Vec::new(),
            error: Some(e.to_string()),
            warnings: Vec::new(),
        },
    };
    let streamed = stream(RecordStream::new(Chunked {
        data: data.to_vec(),
        at: 0,
        chunk,
    }));
    assert_eq!(
        whole, streamed,
        "memory-mapped against streamed in chunks of {chunk}"
    );
    // gzip and zstd of the same bytes: the records and warnings of the
    // capture they hold (a file too short for any header is a different
    // error: compressed data that holds no capture).
    if is_open {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        std::io::Write::write_all(&mut gz, data).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::stream::encode_all(data, 1).unwrap();
        for (codec, bytes) in [("gzip", gz), ("zstd", zst)] {
            let r: decompress::Stream = Box::new(Chunked {
                data: bytes,
                at: 0,
                chunk,
            });
            let (s, cut) = match decompress::records(r) {
                Ok((s, cut)) => (Ok(s), cut),
                Err(e) => (Err(e), None),
            };
            let inner = stream(s);
            assert!(cut.is_some_and(|c| !c.happened()), "{codec}");
            assert_eq!(whole, inner, "{codec} in chunks of {chunk}");
        }
    }
}
