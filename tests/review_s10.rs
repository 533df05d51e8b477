//! Session 10 review: claims of `--dedup` and `--decap vxlan` checked
//! where the session's own tests did not reach (standard input).

use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

use crate::capture_shapes::{counts, demo, frames, replay, vtap_capture, with_copies};

/// `zprsim replay` of the OKE example reading `capture` from standard
/// input (`-`), with these extra arguments: its report.
fn replay_stdin(dir: &Path, capture: &str, extra: &[&str]) -> Value {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/scenario.toml");
    let mut args = vec![
        "replay".to_owned(),
        scenario.display().to_string(),
        "-".to_owned(),
        "--quiet".to_owned(),
        "--report".to_owned(),
        "r.json".to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let o = assert_cmd::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(dir)
        .args(&args)
        .write_stdin(std::fs::read(dir.join(capture)).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap()
}

/// A capture of every interface read from a pipe, with `--dedup`: the
/// same copies, counts and allowed packets as the file, for any workers.
#[test]
fn dedup_on_standard_input_reads_as_the_file_does() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    demo(d);
    let n = with_copies(&d.join("demo.pcap"), &d.join("any.pcapng"));
    let file = replay(
        d,
        "any.pcapng",
        &["--dedup", "--allowed", "file-allowed.pcapng"],
    );
    assert_eq!(file["copies"].as_u64(), Some(n));
    for workers in ["1", "3"] {
        let piped = replay_stdin(
            d,
            "any.pcapng",
            &[
                "--dedup",
                "--workers",
                workers,
                "--allowed",
                "allowed.pcapng",
            ],
        );
        assert_eq!(piped["copies"], file["copies"], "{workers} workers");
        assert_eq!(counts(&piped), counts(&file), "{workers} workers");
        assert_eq!(
            frames(&d.join("allowed.pcapng")),
            frames(&d.join("file-allowed.pcapng")),
            "{workers} workers"
        );
    }
}

/// A VTAP capture read from a pipe, with `--decap vxlan`: judged as the
/// file is.
#[test]
fn decap_on_standard_input_reads_as_the_file_does() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    demo(d);
    let n = vtap_capture(&d.join("demo.pcap"), &d.join("vtap.pcap"));
    let file = replay(
        d,
        "vtap.pcap",
        &["--decap", "vxlan", "--allowed", "file-inner.pcap"],
    );
    assert_eq!(file["decapsulated"].as_u64(), Some(n));
    for workers in ["1", "2"] {
        let piped = replay_stdin(
            d,
            "vtap.pcap",
            &[
                "--decap",
                "vxlan",
                "--workers",
                workers,
                "--allowed",
                "inner.pcap",
            ],
        );
        assert_eq!(piped["decapsulated"], file["decapsulated"]);
        assert_eq!(counts(&piped), counts(&file), "{workers} workers");
        assert_eq!(
            frames(&d.join("inner.pcap")),
            frames(&d.join("file-inner.pcap")),
            "{workers} workers"
        );
    }
}
