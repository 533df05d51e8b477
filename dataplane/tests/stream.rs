//! The streaming capture reader against the slice reader: the same
//! records, warnings and errors for every fixture, every cut of it, and
//! reads that return a few bytes at a time (pipes).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Read;
use std::path::PathBuf;

use zprsim_dataplane::capture::{Capture, RecordStream};

/// One record as both readers report it.
type Rec = (Vec<u8>, u32, u64, u32, u64);

/// Records, then the warnings and the error, from the slice reader.
fn by_slice(bytes: &[u8]) -> (Vec<Rec>, Vec<String>, Option<String>) {
    let cap = match Capture::from_bytes(bytes.to_vec()) {
        Ok(c) => c,
        Err(e) => return (Vec::new(), Vec::new(), Some(e.to_string())),
    };
    let mut out = Vec::new();
    let mut err = None;
    let mut records = cap.records();
    for r in records.by_ref() {
        match r {
            Ok(r) => out.push((r.data.to_vec(), r.orig_len, r.ts_ns, r.linktype, r.offset)),
            Err(e) => err = Some(e.to_string()),
        }
    }
    let w = records.warnings().iter().map(ToString::to_string).collect();
    (out, w, err)
}

fn by_stream<R: Read>(src: R) -> (Vec<Rec>, Vec<String>, Option<String>) {
    let mut s = match RecordStream::new(src) {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Vec::new(), Some(e.to_string())),
    };
    let mut out = Vec::new();
    let mut err = None;
    while let Some(r) = s.next_record() {
        match r {
            Ok(r) => out.push((r.data.to_vec(), r.orig_len, r.ts_ns, r.linktype, r.offset)),
            Err(e) => err = Some(e.to_string()),
        }
    }
    let w = s.warnings().iter().map(ToString::to_string).collect();
    (out, w, err)
}

/// A reader that hands out at most a few bytes per call, like a slow pipe.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
    calls: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.calls += 1;
        let n = (1 + self.calls % self.step)
            .min(buf.len())
            .min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pcaps");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    assert!(v.len() >= 10, "fixtures not found in {}", dir.display());
    v
}

#[test]
fn stream_equals_slice_reader_on_every_fixture() {
    for (name, bytes) in fixtures() {
        let want = by_slice(&bytes);
        assert!(
            !want.0.is_empty() || want.2.is_some(),
            "{name}: nothing read"
        );
        assert_eq!(by_stream(&bytes[..]), want, "{name}");
        for step in [3, 7, 64] {
            let t = Trickle {
                bytes: &bytes,
                step,
                calls: 0,
            };
            assert_eq!(by_stream(t), want, "{name} in pieces of up to {step} bytes");
        }
    }
}

#[test]
fn stream_equals_slice_reader_on_every_cut() {
    for (name, bytes) in fixtures() {
        // Every cut of the small files; of the large ones, every cut in the
        // first 600 bytes and a stride after it.
        let cuts: Vec<usize> = if bytes.len() <= 4096 {
            (0..=bytes.len()).collect()
        } else {
            (0..600).chain((600..bytes.len()).step_by(97)).collect()
        };
        for cut in cuts {
            let b = &bytes[..cut];
            assert_eq!(by_stream(b), by_slice(b), "{name} cut at {cut}");
        }
    }
}

#[test]
fn link_types_ahead_and_to_end() {
    for (name, bytes) in fixtures() {
        let Ok(cap) = Capture::from_bytes(bytes.clone()) else {
            continue;
        };
        let all = cap.link_types();
        let Ok(s) = RecordStream::new(&bytes[..]) else {
            panic!("{name}: the stream reader refused what the slice reader opened");
        };
        assert_eq!(s.link_types_to_end(), all, "{name}");
        let mut s = RecordStream::new(&bytes[..]).unwrap();
        let ahead = s.link_types_ahead();
        assert!(ahead.iter().all(|lt| all.contains(lt)), "{name}");
        assert!(
            !ahead.is_empty(),
            "{name}: no link type before the first packet"
        );
        // Looking ahead consumed nothing.
        assert_eq!(by_stream(&bytes[..]), by_slice(&bytes), "{name}");
        let first = s.next_record().and_then(Result::ok).map(|r| r.offset);
        let want = cap.records().next().and_then(Result::ok).map(|r| r.offset);
        assert_eq!(first, want, "{name}");
    }
}

/// Reads every record as the engine does: a handle, its span in the shared
/// block, and a clone of the block kept until the end (so the stream must
/// never write into a block someone holds).
fn by_shared_blocks<R: Read>(src: R) -> (Vec<Rec>, usize) {
    let mut s = RecordStream::new(src).unwrap();
    let mut held = Vec::new();
    let mut spans = Vec::new();
    while let Some(r) = s.next_ref() {
        let Ok(r) = r else { break };
        let rec = s.get(r);
        let block = s.block();
        if !held
            .last()
            .is_some_and(|b| std::sync::Arc::ptr_eq(b, block))
        {
            held.push(std::sync::Arc::clone(block));
        }
        let (start, len) = r.span();
        assert_eq!(&block[start..start + len], rec.data);
        spans.push((
            held.len() - 1,
            start,
            len,
            rec.orig_len,
            rec.ts_ns,
            rec.linktype,
            rec.offset,
        ));
    }
    // Read back at the end: every held block still has its records.
    let out = spans
        .iter()
        .map(|&(b, start, len, orig, ts, lt, off)| {
            (held[b][start..start + len].to_vec(), orig, ts, lt, off)
        })
        .collect();
    (out, held.len())
}

#[test]
fn shared_blocks_stay_intact_while_held() {
    // The fixtures one after another, as a capture of its own: big enough
    // for several blocks.
    let (_, demo) = fixtures()
        .into_iter()
        .find(|(n, _)| n.ends_with("oke-demo.pcap"))
        .unwrap();
    let mut big = demo.clone();
    for _ in 0..80 {
        big.extend_from_slice(&demo[24..]);
    }
    let want = by_slice(&big).0;
    assert!(want.len() > 10_000);
    let (got, blocks) = by_shared_blocks(&big[..]);
    assert_eq!(got, want);
    assert!(blocks >= 3, "{blocks} block(s)");
    let t = Trickle {
        bytes: &big,
        step: 4000,
        calls: 0,
    };
    let (got, blocks) = by_shared_blocks(t);
    assert_eq!(got, want, "in pieces");
    assert!(blocks >= 3, "{blocks} block(s)");
    for (name, bytes) in fixtures() {
        let want = by_slice(&bytes).0;
        let t = Trickle {
            bytes: &bytes,
            step: 7,
            calls: 0,
        };
        assert_eq!(by_shared_blocks(t).0, want, "{name}");
    }
}

/// Records as the engine's reader takes them: runs of spans in one block.
fn by_spans<R: Read>(src: R, max: usize) -> (Vec<Rec>, Option<String>) {
    let mut s = match RecordStream::new(src) {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Some(e.to_string())),
    };
    let mut out = Vec::new();
    let mut spans = Vec::new();
    loop {
        spans.clear();
        let err = s.next_spans(&mut spans, max);
        let block = std::sync::Arc::clone(s.block());
        for r in &spans {
            out.push((r.data(&block).to_vec(), r.orig_len, r.ts_ns, r.linktype));
        }
        if let Some(e) = err {
            return (
                out.into_iter()
                    .map(|(d, o, t, l)| (d, o, t, l, 0))
                    .collect(),
                Some(e.to_string()),
            );
        }
        if spans.is_empty() {
            break;
        }
        assert!(spans.len() <= max);
    }
    (
        out.into_iter()
            .map(|(d, o, t, l)| (d, o, t, l, 0))
            .collect(),
        None,
    )
}

#[test]
fn spans_equal_the_slice_reader_on_every_fixture_and_cut() {
    for (name, bytes) in fixtures() {
        let strip = |(v, _, e): (Vec<Rec>, Vec<String>, Option<String>)| {
            (
                v.into_iter()
                    .map(|(d, o, t, l, _)| (d, o, t, l, 0))
                    .collect::<Vec<_>>(),
                e,
            )
        };
        let cuts: Vec<usize> = if bytes.len() <= 4096 {
            (0..=bytes.len()).collect()
        } else {
            (0..600)
                .chain((600..bytes.len()).step_by(997))
                .chain([bytes.len()])
                .collect()
        };
        for cut in cuts {
            let b = &bytes[..cut];
            let want = strip(by_slice(b));
            for max in [1, 5, 4096] {
                assert_eq!(by_spans(b, max), want, "{name} cut at {cut}, runs of {max}");
            }
            let t = Trickle {
                bytes: b,
                step: 7,
                calls: 0,
            };
            assert_eq!(by_spans(t, 64), want, "{name} cut at {cut} in pieces");
        }
    }
}

/// A pcap file in every header form the record walk has a loop for:
/// both byte orders, microseconds and nanoseconds, 16- and 24-byte
/// (Kuznetzov) record headers, and versions 2.2 (lengths swapped), 2.3
/// (swapped where the captured length exceeds the wire length) and 2.4;
/// records cut short (captured < wire length) and whole, so a swap shows.
fn pcap_variant(big: bool, magic: u32, major: u16, minor: u16) -> Vec<u8> {
    let u16b = |x: u16| {
        if big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    };
    let u32b = |x: u32| {
        if big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    };
    let mut f = Vec::new();
    f.extend_from_slice(&u32b(magic));
    f.extend_from_slice(&u16b(major));
    f.extend_from_slice(&u16b(minor));
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&u32b(65535));
    f.extend_from_slice(&u32b(1));
    let swapped = major == 2 && minor < 3;
    for i in 0..300u32 {
        let cap = 14 + (i * 7) % 90;
        let orig = if i % 3 == 0 { cap } else { cap + 1 + i % 50 };
        // Version 2.3 files from old writers may hold either order.
        let swap = swapped || (minor == 3 && i % 2 == 0);
        let (a, b) = if swap { (orig, cap) } else { (cap, orig) };
        f.extend_from_slice(&u32b(1_700_000_000 + i));
        f.extend_from_slice(&u32b(i * 1000 + 7));
        f.extend_from_slice(&u32b(a));
        f.extend_from_slice(&u32b(b));
        if magic == 0xa1b2_cd34 {
            f.extend_from_slice(&[0; 8]);
        }
        f.extend((0..cap).map(|k| u8::try_from((k + i) % 251).unwrap()));
    }
    f
}

#[test]
fn spans_equal_the_slice_reader_in_every_byte_order_and_length_order() {
    let mut forms = 0;
    for big in [false, true] {
        for magic in [0xa1b2_c3d4u32, 0xa1b2_3c4d, 0xa1b2_cd34] {
            for (major, minor) in [(2u16, 2u16), (2, 3), (2, 4)] {
                let bytes = pcap_variant(big, magic, major, minor);
                let (want, warnings, err) = by_slice(&bytes);
                assert_eq!(want.len(), 300, "{big} {magic:x} {major}.{minor}");
                assert!(warnings.is_empty() && err.is_none(), "{warnings:?} {err:?}");
                // Captured length first, whatever the stored order.
                assert!(want.iter().all(|r| r.0.len() <= r.1 as usize));
                let want: Vec<Rec> = want
                    .into_iter()
                    .map(|(d, o, t, l, _)| (d, o, t, l, 0))
                    .collect();
                for max in [1, 7, 4096] {
                    let t = Trickle {
                        bytes: &bytes,
                        step: 1500,
                        calls: 0,
                    };
                    assert_eq!(
                        by_spans(t, max),
                        (want.clone(), None),
                        "{big} {magic:x} {major}.{minor}, runs of {max}"
                    );
                    assert_eq!(by_spans(&bytes[..], max), (want.clone(), None));
                }
                forms += 1;
            }
        }
    }
    assert_eq!(forms, 18);
}
