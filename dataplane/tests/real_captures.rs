//! Reads every real capture under `ZPRSIM_CAPTURES` (default: the
//! project's corpus beside the workspace) whole: the record count must be Wireshark's (and libpcap's, see
//! `tests/data/real-capture-counts.tsv`) and pcap-parser's, every frame
//! parses without a panic, and the parser agrees with etherparse on every
//! unfragmented TCP and UDP packet. Reports itself skipped when the folder
//! is absent (a fresh clone).

// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
use common::etherparse_tuple;
use std::collections::{BTreeMap, HashMap};

use std::path::{Path, PathBuf};

use pcap_parser::{PcapBlockOwned, PcapError, create_reader};

use zprsim_dataplane::capture::Capture;
use zprsim_dataplane::parse::{Parsed, parse_frame};

const DEFAULT_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/captures");
const COUNTS: &str = include_str!("data/real-capture-counts.tsv");

fn capture_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            capture_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| matches!(e.to_str(), Some("pcap" | "pcapng" | "cap" | "trace")))
        {
            out.push(path);
        }
    }
}

/// pcap-parser's record count (its streaming reader, as an independent
/// oracle), or its error.
fn pcap_parser_count(data: &[u8]) -> Result<u64, String> {
    let mut reader = create_reader(1 << 20, data).map_err(|e| format!("{e:?}"))?;
    let mut n = 0;
    loop {
        match reader.next() {
            Ok((consumed, block)) => {
                match block {
                    PcapBlockOwned::Legacy(_) => n += 1,
                    PcapBlockOwned::NG(b) if b.is_data_block() => n += 1,
                    _ => {}
                }
                reader.consume(consumed);
            }
            Err(PcapError::Eof) => return Ok(n),
            Err(PcapError::Incomplete(_)) => {
                if reader.reader_exhausted() {
                    return Ok(n);
                }
                reader.refill().map_err(|e| format!("{e:?}"))?;
            }
            Err(e) => return Err(format!("after {n} records: {e:?}")),
        }
    }
}

#[test]
fn every_real_capture_reads_whole() {
    let dir = std::env::var("ZPRSIM_CAPTURES").unwrap_or_else(|_| DEFAULT_ROOT.to_owned());
    let root = Path::new(&dir);
    if !root.is_dir() {
        // Straight to stderr, not `eprintln!`: the test harness captures the
        // macros, so the skip shows in the normal test output.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("SKIPPED every_real_capture_reads_whole: no captures in `{dir}` (set ZPRSIM_CAPTURES)\n").as_bytes(),
        );
        return;
    }
    let expected: HashMap<&str, u64> = COUNTS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(p, n)| (p, n.parse().unwrap()))
        .collect();
    let mut files = Vec::new();
    capture_files(root, &mut files);
    assert!(!files.is_empty());

    let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut records_total, mut compared, mut listed) = (0u64, 0u64, 0usize);
    let mut failures = Vec::new();
    for path in &files {
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let capture = match Capture::open(path) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{rel}: {e}"));
                continue;
            }
        };
        let mut records = capture.records();
        let mut n = 0u64;
        for record in records.by_ref() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{rel}: {e}"));
                    break;
                }
            };
            n += 1;
            let parsed = parse_frame(record.linktype, record.data);
            let kind = match parsed {
                Parsed::Ip(_) => "ip",
                Parsed::NonIp => "non-ip",
                Parsed::UnsupportedLinkType(_) => "unsupported link type",
                Parsed::Malformed { .. } => "malformed",
            };
            *outcomes.entry(kind).or_default() += 1;
            if let Some(oracle) = etherparse_tuple(record.linktype, record.data) {
                compared += 1;
                if !matches!(parsed, Parsed::Ip(m) if m.packet == oracle) {
                    failures.push(format!(
                        "{rel} record at byte {}: {parsed:?}, etherparse {oracle:?}",
                        record.offset
                    ));
                }
            }
        }
        for w in records.warnings() {
            eprintln!("{rel}: warning: {w}");
        }
        records_total += n;
        if let Some(&want) = expected.get(rel.as_str()) {
            listed += 1;
            if n != want {
                failures.push(format!("{rel}: {n} records, capinfos counts {want}"));
            }
        }
        match pcap_parser_count(capture.bytes()) {
            Ok(m) if m == n => {}
            other => failures.push(format!("{rel}: {n} records, pcap-parser {other:?}")),
        }
    }
    eprintln!(
        "{} files ({listed} with a known count), {records_total} records, {outcomes:?}, \
         {compared} compared with etherparse",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
