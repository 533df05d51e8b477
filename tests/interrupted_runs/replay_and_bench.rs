//! `replay` and `bench` interrupted.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use zprsim_dataplane::capture::Capture;
use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};

use crate::support::{
    demo_log_repeated, interrupted_midway, interrupted_once_output_begins, json_lines, records,
    root,
};

fn zprsim() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"));
    c.current_dir(root());
    c
}

/// The OKE demo capture repeated `copies` times, each copy 100,000 s after
/// the last, so every copy opens flows of its own.
fn demo_repeated(path: &Path, copies: u64) {
    let demo = Capture::from_bytes(zprsim_bench::fixtures::oke_demo().bytes).unwrap();
    let f = std::fs::File::create(path).unwrap();
    let mut out = PcapOut::create(f, OutFormat::Pcap { linktype: 1 }).unwrap();
    for c in 0..copies {
        for r in demo.records() {
            let r = r.unwrap();
            let ts = r.ts_ns + c * 100_000 * 1_000_000_000;
            out.write(ts, r.linktype, r.orig_len, r.data).unwrap();
        }
    }
    out.finish().unwrap();
}

/// Runs `cmd` (its `--flows` the FIFO `fifo`), sends it SIG`sig` once
/// the first byte of its flow lines has come (the flow lines are written
/// after the reading: the tail has begun, and the FIFO holds it until
/// this test reads on), and reads the rest: the run's exit code, its
/// standard error, and the flow lines, each a whole JSON object (their
/// count).
fn signal_once_the_flows_begin(
    cmd: Command,
    fifo: &Path,
    sig: &str,
) -> (Option<i32>, String, String, u64) {
    let (o, text) = interrupted_once_output_begins(cmd, fifo, sig);
    let text = String::from_utf8(text).unwrap();
    let n = json_lines(&text);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        text,
        n,
    )
}

/// Planning 4 (QA, note-s17): a first Ctrl-C after the last packet was read
/// stopped nothing: the tail (merging the flow records and writing
/// `--flows`, 13 s of a 20 s run on 3M packets) ran to its end, exit 0.
/// `--flows` goes to a FIFO this test reads: its first bytes come only once
/// the reading is done (the flow records are written after the pass), and
/// the tail cannot end before the signal, being held by the FIFO. The
/// signal cuts `--flows` at a line; the report says `interrupted` with an
/// `interrupted-after-reading` warning naming what the flow log holds, the
/// other outputs are whole, and the run exits 130 (143 for SIGTERM).
///
/// From the sixteenth session's planning list (note-s17).
#[test]
fn a_signal_after_the_reading_cuts_the_flow_log_at_a_line_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cap = d.join("big.pcap");
    demo_repeated(&cap, 200);
    let all = records(&cap);
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let fifo = d.join(format!("flows-{sig}"));
        let (report, allowed) = (
            d.join(format!("r-{sig}.json")),
            d.join(format!("a-{sig}.pcap")),
        );
        let mut cmd = zprsim();
        cmd.args(["replay", zprsim_bench::fixtures::OKE])
            .arg(&cap)
            .args(["--quiet", "--workers", "2", "--flows"])
            .arg(&fifo)
            .arg("--report")
            .arg(&report)
            .arg("--allowed")
            .arg(&allowed);
        let (got, err, text, written) = signal_once_the_flows_begin(cmd, &fifo, sig);
        assert_eq!(got, Some(code), "SIG{sig}: {err}");
        assert!(text.ends_with('\n'), "SIG{sig}: cut inside a line");
        let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        assert_eq!(r["interrupted"], true, "SIG{sig}");
        assert_eq!(
            r["stopped_by"],
            format!("sig{}", sig.to_lowercase()),
            "SIG{sig}"
        );
        assert!(r["error"].is_null(), "{}", r["error"]);
        let flows = r["flows"].as_u64().unwrap();
        assert!(written < flows, "SIG{sig}: {written} of {flows}");
        // Every packet was read and counted; the allowed pcap holds them.
        let n = |p: &str| r.pointer(p).and_then(Value::as_u64).unwrap();
        assert_eq!(n("/packets/total") + n("/non_ip"), all, "SIG{sig}");
        assert_eq!(records(&allowed), n("/packets/allowed"), "SIG{sig}");
        let w: Vec<&Value> = r["run_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["code"] == "interrupted-after-reading")
            .collect();
        assert_eq!(w.len(), 1, "SIG{sig}: {r:#}");
        let m = w[0]["message"].as_str().unwrap();
        assert!(
            m.contains(&format!(
                "the first {written} of the {flows} flow record(s)"
            )),
            "{m}"
        );
        assert_eq!(w[0]["file"], fifo.display().to_string());
        assert!(
            err.contains(&format!(
                "interrupted after the reading: {all} record(s) judged; `--flows` holds the first {written} of {flows}"
            )),
            "{err}"
        );
    }
}

/// Planning 4, flow logs: a first signal while the records spilled past
/// `--flow-log-buffer` were merged and judged (after the reading) stopped
/// nothing. It now ends the judging between two seconds: the report and
/// `--flows` hold exactly the records judged, and say so. `--flows` is a
/// FIFO again: its first bytes come once the judging has begun, which is
/// after the reading.
///
/// From the sixteenth session's planning list (note-s17).
#[test]
fn a_signal_while_spilled_flow_log_records_are_judged_ends_the_judging() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("log.jsonl");
    std::fs::write(&log, demo_log_repeated(100)).unwrap();
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let fifo = d.join(format!("flows-{sig}"));
        let report = d.join(format!("r-{sig}.json"));
        let mut cmd = zprsim();
        cmd.args(["replay", zprsim_bench::fixtures::OKE])
            .arg(&log)
            .args(["--quiet", "--flow-log-buffer", "64", "--flows"])
            .arg(&fifo)
            .arg("--report")
            .arg(&report)
            .env("TMPDIR", d);
        let (got, err, _, written) = signal_once_the_flows_begin(cmd, &fifo, sig);
        assert_eq!(got, Some(code), "SIG{sig}: {err}");
        let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        let n = |p: &str| r.pointer(p).and_then(Value::as_u64).unwrap();
        assert_eq!(r["interrupted"], true, "SIG{sig}");
        assert_eq!(
            r["stopped_by"],
            format!("sig{}", sig.to_lowercase()),
            "SIG{sig}"
        );
        assert_eq!(n("/flow_log/judged"), written, "SIG{sig}");
        assert!(written < n("/flow_log/records"), "SIG{sig}: {r:#}");
        let w: Vec<&Value> = r["run_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["code"] == "interrupted-after-reading")
            .collect();
        assert_eq!(w.len(), 1, "SIG{sig}: {r:#}");
        assert!(
            err.contains("interrupted after the reading:"),
            "SIG{sig}: {err}"
        );
    }
}

/// Planning 8 (documented in `7df8950`): `bench` on SIGINT exited at once
/// with nothing written, the runs already measured lost. A first signal
/// now stops the measuring: the runs finished before it are printed (the
/// JSON report and `--csv`), marked `"interrupted": true` with the runs
/// asked, and the exit is 130 (143 for SIGTERM). The capture comes on
/// standard input, more than a pipe's buffer of it: once the test's write
/// returns, `bench` is reading it (its handler installed before), and the
/// signal lands before any run is measured, so none is (a count that does
/// not depend on the machine's speed).
///
/// From the sixteenth session's planning list (note-s17).
#[test]
fn bench_on_a_signal_prints_what_it_measured_marked_partial() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("cap.pcap");
    demo_repeated(&cap, 100);
    let bytes = std::fs::read(&cap).unwrap();
    assert!(bytes.len() > 4 * 65536);
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let csv = dir.path().join(format!("b-{sig}.csv"));
        let mut cmd = zprsim();
        cmd.args(["bench", zprsim_bench::fixtures::OKE, "--capture", "-"])
            .args(["--workers", "1,2,3", "--json", "--csv"])
            .arg(&csv);
        let half = bytes.len() / 2;
        let (o, rest) = interrupted_midway(cmd, &bytes, half, sig, Duration::ZERO);
        // `bench` reads its capture whole before it measures.
        assert!(rest, "SIG{sig}: the rest of the capture was not read");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "SIG{sig}: {err}");
        let r: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("SIG{sig}: {e}: {}", String::from_utf8_lossy(&o.stdout)));
        assert_eq!(r["interrupted"], true, "SIG{sig}");
        assert_eq!(
            r["stopped_by"],
            format!("sig{}", sig.to_lowercase()),
            "SIG{sig}"
        );
        assert_eq!(r["runs_asked"], 3, "SIG{sig}");
        let runs = r["runs"].as_array().unwrap().len();
        assert!(runs < 3, "SIG{sig}: {runs}");
        assert!(
            err.contains(&format!("interrupted: {runs} of 3 run(s) measured")),
            "SIG{sig}: {err}"
        );
        // The CSV is whole: its header and one row a run measured.
        let text = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(text.lines().count(), 1 + runs, "SIG{sig}: {text}");
        assert!(text.ends_with('\n'));
    }
}

/// Whole records in the capture `bytes` (none cut).
fn records_in(bytes: Vec<u8>) -> u64 {
    let c = Capture::from_bytes(bytes).unwrap();
    let mut recs = c.records();
    let n = recs.by_ref().map(Result::unwrap).count() as u64;
    assert!(recs.warnings().is_empty(), "{:?}", recs.warnings());
    n
}

/// A first Ctrl-C leaves every output named `.gz` or `.zst` a whole
/// stream (gzip's trailer, zstd's last block written): `gzip -dc` and
/// `zstd -dc` read each to its end, and what they hold is the partial
/// output the report says it is, whether the signal came while the
/// capture was read (the pcaps and the report partial) or while the flow
/// lines were written after it (`--flows` a FIFO named `.gz`, cut at a
/// line).
///
/// Asked by the twenty-eighth session's brief (compressed outputs).
#[test]
fn a_signal_leaves_compressed_outputs_whole_streams() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cap = d.join("big.pcap");
    demo_repeated(&cap, 200);
    let bytes = std::fs::read(&cap).unwrap();
    let all = records(&cap);
    // While the capture is read, from a pipe, half of it written.
    let outs = ["r.json.gz", "f.jsonl.zst", "a.pcap.gz", "d.pcap.zst"].map(|n| d.join(n));
    let mut cmd = zprsim();
    cmd.args(["replay", zprsim_bench::fixtures::OKE, "-", "--quiet"])
        .args(["--workers", "2", "--report"])
        .arg(&outs[0])
        .arg("--flows")
        .arg(&outs[1])
        .arg("--allowed")
        .arg(&outs[2])
        .arg("--dropped")
        .arg(&outs[3]);
    let half = bytes.len() / 2 + 7;
    let (o, _) = interrupted_midway(cmd, &bytes, half, "INT", Duration::from_millis(300));
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let [report, flows, allowed, dropped] = outs.map(|p| crate::support::read_back(&p));
    let r: Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["stopped_by"], "sigint");
    let n = |p: &str| r.pointer(p).and_then(Value::as_u64).unwrap();
    assert!(
        n("/packets/total") > 0 && n("/packets/total") < all,
        "{r:#}"
    );
    assert_eq!(json_lines(&String::from_utf8(flows).unwrap()), n("/flows"));
    assert_eq!(records_in(allowed), n("/packets/allowed"));
    assert_eq!(records_in(dropped), n("/packets/dropped"));

    // After the reading, `--flows` a FIFO named `.gz`.
    let fifo = d.join("flows.jsonl.gz");
    let report = d.join("after.json.zst");
    let mut cmd = zprsim();
    cmd.args(["replay", zprsim_bench::fixtures::OKE])
        .arg(&cap)
        .args(["--quiet", "--flows"])
        .arg(&fifo)
        .arg("--report")
        .arg(&report);
    let (o, gz) = interrupted_once_output_begins(cmd, &fifo, "INT");
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let copy = d.join("copy.jsonl.gz");
    std::fs::write(&copy, &gz).unwrap();
    let text = String::from_utf8(crate::support::read_back(&copy)).unwrap();
    assert!(text.ends_with('\n'), "cut inside a line");
    let r: Value = serde_json::from_slice(&crate::support::read_back(&report)).unwrap();
    assert_eq!(r["interrupted"], true);
    let written = json_lines(&text);
    assert!(written < r["flows"].as_u64().unwrap(), "{written}");
    let w = crate::support::warnings_of(&r, "interrupted-after-reading");
    assert_eq!(w.len(), 1, "{r:#}");
    assert!(
        w[0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("the first {written} of the")),
        "{}",
        w[0]["message"]
    );
}
