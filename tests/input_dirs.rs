//! A directory as an input of `replay` and `diff` stands for the files
//! under it (`zprsim_dataplane::input_dir`): the layout of flow logs
//! downloaded from Object Storage (a tree of `.log.gz` files by date and
//! hour) and of rotated captures.
//!
//! - a tree of flow-log pieces, gzip and plain, gives the report of the
//!   one file they were cut from (`replay` and `diff`);
//! - a directory of captures, with hidden files, a README and an empty file
//!   beside them, gives the report of the capture (and a warning for the
//!   README and the empty file);
//! - a directory with no input file, and an output written into an input
//!   directory over one of its files, are refused (exit 2);
//! - a file given twice (two spellings, or beside its directory) is read
//!   once, with a warning in the report.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use zprsim_bench::fixtures;

use crate::support::run_in;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `zprsim ARGS --report R --quiet` from the project root: the report,
/// without what names the inputs or times the run.
fn report(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r.json");
    let mut all: Vec<&str> = args.to_vec();
    let rs = r.to_str().unwrap();
    all.extend(["--report", rs, "--quiet"]);
    let o = run_in(root(), &all);
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "{all:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut v: Value = serde_json::from_slice(&std::fs::read(&r).unwrap()).unwrap();
    scrub(&mut v);
    v
}

/// Drops input names (and lines within them) and run times, at any depth.
fn scrub(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in [
                "pcaps",
                "captures",
                "file",
                "line",
                "batch_latency_ns",
                "compile_s",
                "duration_s",
                "packets_per_second",
            ] {
                m.remove(k);
            }
            m.values_mut().for_each(scrub);
        }
        Value::Array(a) => a.iter_mut().for_each(scrub),
        _ => {}
    }
}

fn gzip(path: &Path, text: &str) {
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
}

/// The OKE demo flow log cut into pieces laid out as Object Storage keeps
/// them: `<date>T<hour>Z/<n>.log.gz`, one plain piece, and hidden files.
fn flow_log_tree(dir: &Path) {
    let text = std::fs::read_to_string(root().join("examples/oke-orders/flowlogs/oke-demo.jsonl"))
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 10);
    let pieces: Vec<String> = lines
        .chunks(lines.len() / 4 + 1)
        .map(|c| c.join("\n") + "\n")
        .collect();
    for (i, p) in pieces.iter().enumerate() {
        let hour = dir.join(format!("2026-11-29T{:02}:00Z", 10 + i / 2));
        std::fs::create_dir_all(&hour).unwrap();
        if i == 1 {
            std::fs::write(hour.join(format!("{i}.log")), p).unwrap();
        } else {
            gzip(&hour.join(format!("{i}.log.gz")), p);
        }
    }
    std::fs::write(dir.join(".DS_Store"), b"\0\0\0\x01Bud1").unwrap();
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::write(dir.join(".git/HEAD"), b"ref: refs/heads/main\n").unwrap();
}

#[test]
fn a_tree_of_flow_log_pieces_is_the_flow_log_it_was_cut_from() {
    let d = tempfile::tempdir().unwrap();
    flow_log_tree(d.path());
    let tree = d.path().to_str().unwrap();
    let whole = "examples/oke-orders/flowlogs/oke-demo.jsonl";
    let a = report(&["replay", fixtures::OKE, whole]);
    let b = report(&["replay", fixtures::OKE, tree]);
    assert!(a["flow_log"]["judged"].as_u64().unwrap() > 0);
    assert_eq!(a, b);
    let a = report(&[
        "diff",
        fixtures::OKE,
        "examples/oke-orders/proposed.toml",
        whole,
    ]);
    let b = report(&[
        "diff",
        fixtures::OKE,
        "examples/oke-orders/proposed.toml",
        tree,
    ]);
    assert_eq!(a["flows"]["would_break"].as_u64(), Some(1));
    assert_eq!(a, b);
}

#[test]
fn a_directory_of_captures_is_its_captures_in_name_order() {
    let d = tempfile::tempdir().unwrap();
    let cap = std::fs::read(root().join("pcaps/oke-demo.pcap")).unwrap();
    std::fs::create_dir_all(d.path().join("rotated")).unwrap();
    std::fs::write(d.path().join("rotated/00.pcap"), &cap).unwrap();
    std::fs::write(d.path().join(".00.pcap.swp"), b"not a capture").unwrap();
    std::fs::write(d.path().join("rotated/README"), b"tcpdump -G 3600\n").unwrap();
    std::fs::write(d.path().join("rotated/01.pcap"), b"").unwrap();
    let dir = d.path().to_str().unwrap();
    let (a, none) = warnings(&["replay", fixtures::OKE, "pcaps/oke-demo.pcap"]);
    let (b, w) = warnings(&["replay", fixtures::OKE, dir]);
    assert_eq!(a["packets"]["total"].as_u64(), Some(188));
    assert_eq!(a, b);
    assert!(none.is_empty(), "{none:?}");
    // The README and the empty file beside the capture: skipped, said.
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].contains("README`: neither a capture nor flow logs"),
        "{w:?}"
    );
    assert!(w[1].contains("1 empty or blank file"), "{w:?}");
}

#[test]
fn an_empty_directory_and_an_output_over_a_file_inside_one_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let empty = d.path().join("empty");
    std::fs::create_dir_all(empty.join(".hidden")).unwrap();
    let o = run_in(
        root(),
        ["replay", fixtures::OKE, empty.to_str().unwrap(), "--quiet"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no capture or flow-log file"), "{err}");
    // A report written into the directory over one of its files: that file
    // is an input, and stays as it was.
    flow_log_tree(d.path());
    let inside = d.path().join("2026-11-29T10:00Z/0.log.gz");
    let before = std::fs::read(&inside).unwrap();
    let o = run_in(
        root(),
        [
            "replay",
            fixtures::OKE,
            d.path().to_str().unwrap(),
            "--report",
            inside.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&inside).unwrap(), before);
}

/// The warnings of a report, as text.
fn warnings(args: &[&str]) -> (Value, Vec<String>) {
    let mut r = report(args);
    let w = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    r.as_object_mut().unwrap().remove("warnings");
    r.as_object_mut().unwrap().remove("run_warnings");
    (r, w)
}

#[test]
fn a_file_given_twice_is_read_once_with_a_warning() {
    // A capture under two spellings: 188 packets, not 376.
    let cap = "pcaps/oke-demo.pcap";
    let (once, none) = warnings(&["replay", fixtures::OKE, cap]);
    let (twice, w) = warnings(&[
        "replay",
        fixtures::OKE,
        cap,
        "./pcaps/../pcaps/oke-demo.pcap",
    ]);
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(twice["packets"]["total"].as_u64(), Some(188));
    assert_eq!(once, twice);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("same file") && w[0].contains("read once"),
        "{w:?}"
    );
    // A flow-log directory and a file inside it, for `diff`.
    let d = tempfile::tempdir().unwrap();
    flow_log_tree(d.path());
    let tree = d.path().to_str().unwrap();
    let inside = d.path().join("2026-11-29T10:00Z/1.log");
    let diff = ["diff", fixtures::OKE, "examples/oke-orders/proposed.toml"];
    let (a, _) = warnings(&[&diff[..], &[tree]].concat());
    let (b, w) = warnings(&[&diff[..], &[tree, inside.to_str().unwrap()]].concat());
    assert_eq!(a, b);
    assert_eq!(
        w.iter().filter(|w| w.contains("same file")).count(),
        1,
        "{w:?}"
    );
    // And for a capture `diff`.
    let (a, _) = warnings(&[&diff[..], &[cap]].concat());
    let (b, w) = warnings(&[&diff[..], &[cap, cap]].concat());
    assert_eq!(a, b);
    assert_eq!(w.len(), 1, "{w:?}");
}

/// `replay - cap.pcap < cap.pcap`: standard input is that file, read once.
#[test]
fn standard_input_redirected_from_a_file_given_too_is_read_once() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path().join("r.json");
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("zprsim"))
        .current_dir(root())
        .args([
            "replay",
            fixtures::OKE,
            "-",
            "pcaps/oke-demo.pcap",
            "--quiet",
            "--report",
        ])
        .arg(&r)
        .stdin(std::fs::File::open(root().join("pcaps/oke-demo.pcap")).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&r).unwrap()).unwrap();
    assert_eq!(v["packets"]["total"].as_u64(), Some(188));
    let w = v["warnings"].to_string();
    assert!(w.contains("same file as `-`"), "{w}");
}
