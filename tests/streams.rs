//! `zprsim replay` with the shell's habits: standard input, pipes, FIFOs,
//! `/dev/stdin`, a closed output pipe, Ctrl-C and SIGTERM, and a capture
//! cut while it is read (issue 8).
//!
//! The large capture is the OKE demo repeated 1,000 times (188,000
//! packets), each copy 100,000 s after the last so every copy opens new
//! flows. Signals go through `kill(1)`. Where a run may or may not have
//! finished before the signal or the cut, the test checks the invariant
//! that holds either way, and requires that some runs were caught in the
//! middle.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use zprsim_dataplane::capture::Capture;
use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};

use crate::support::{interrupted_midway, kill};

const SCENARIO: &str = zprsim_bench::fixtures::OKE;
const COPIES: u64 = 1000;
const DEMO_PACKETS: u64 = 188;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn zprsim() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"));
    c.current_dir(root());
    c
}

/// The OKE demo capture, built by the fixture generator (not read from
/// `pcaps/`, which other tests may be rewriting at the same time).
fn demo_bytes() -> Vec<u8> {
    zprsim_bench::fixtures::oke_demo().bytes
}

/// The demo capture repeated `copies` times.
fn big_capture(path: &Path, copies: u64) {
    let demo = Capture::from_bytes(demo_bytes()).unwrap();
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

/// Whole records in a capture file, read with the project's reader, which
/// must find no cut record.
fn records(path: &Path) -> u64 {
    let c = Capture::from_bytes(std::fs::read(path).unwrap()).unwrap();
    let mut recs = c.records();
    let n = recs.by_ref().map(Result::unwrap).count() as u64;
    assert!(
        recs.warnings().is_empty(),
        "{}: {:?}",
        path.display(),
        recs.warnings()
    );
    n
}

/// Packets tcpdump reads from a file, `None` when tcpdump is absent.
/// tcpdump must not call the file truncated.
fn tcpdump(path: &Path) -> Option<u64> {
    let o = Command::new("tcpdump")
        .arg("-r")
        .arg(path)
        .args(["-n", "-q"])
        .output()
        .ok()?;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("truncated"),
        "{}: tcpdump: {err}",
        path.display()
    );
    Some(
        o.stdout
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count() as u64,
    )
}

struct Outs {
    dir: PathBuf,
    tag: String,
}

impl Outs {
    fn new(dir: &Path, tag: &str) -> Outs {
        Outs {
            dir: dir.to_path_buf(),
            tag: tag.into(),
        }
    }
    fn path(&self, what: &str) -> PathBuf {
        self.dir.join(format!("{}-{what}", self.tag))
    }
    fn args(&self) -> Vec<String> {
        let p = |w: &str| self.path(w).display().to_string();
        vec![
            "--allowed".into(),
            p("a.pcap"),
            "--dropped".into(),
            p("d.pcap"),
            "--flows".into(),
            p("f.jsonl"),
            "--report".into(),
            p("r.json"),
        ]
    }
    fn report(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.path("r.json")).unwrap()).unwrap()
    }
    /// The report without timing and the input names.
    fn stable_report(&self) -> Value {
        let mut r = self.report();
        let o = r.as_object_mut().unwrap();
        for k in [
            "compile_s",
            "duration_s",
            "packets_per_second",
            "batch_latency_ns",
            "pcaps",
        ] {
            o.remove(k);
        }
        r
    }
    fn bytes(&self, what: &str) -> Vec<u8> {
        std::fs::read(self.path(what)).unwrap()
    }

    /// The outputs agree with the report: every packet counted was written
    /// (whole records, tcpdump agreeing), every flow line is JSON.
    fn check_consistent(&self, what: &str) -> Value {
        let r = self.report();
        let n = |p: &str| r.pointer(p).and_then(Value::as_u64).unwrap();
        let (a, d) = (n("/packets/allowed"), n("/packets/dropped"));
        assert_eq!(records(&self.path("a.pcap")), a, "{what}");
        assert_eq!(records(&self.path("d.pcap")), d, "{what}");
        assert_eq!(n("/written/allowed"), a, "{what}");
        assert_eq!(n("/written/dropped"), d, "{what}");
        if let Some(t) = tcpdump(&self.path("a.pcap")) {
            assert_eq!(t, a, "{what}: tcpdump on the allowed pcap");
        }
        if let Some(t) = tcpdump(&self.path("d.pcap")) {
            assert_eq!(t, d, "{what}: tcpdump on the dropped pcap");
        }
        let flows = String::from_utf8(self.bytes("f.jsonl")).unwrap();
        let mut in_flows = 0;
        for line in flows.lines() {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: {e}"));
            in_flows += v["packets"].as_u64().unwrap();
        }
        assert_eq!(
            in_flows,
            n("/packets/total") - n("/dropped_by_stage/malformed"),
            "{what}"
        );
        r
    }
}

fn wait(child: Child) -> (Option<i32>, String) {
    let o = child.wait_with_output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn stdin_pipes_fifos_and_dev_stdin_replay_like_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo.pcap");
    std::fs::write(&demo, demo_bytes()).unwrap();
    let file = Outs::new(dir.path(), "file");
    let o = zprsim()
        .args(["replay", SCENARIO])
        .arg(&demo)
        .args(["--quiet", "--workers", "2"])
        .args(file.args())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let same = |other: &Outs, how: &str| {
        for w in ["a.pcap", "d.pcap", "f.jsonl"] {
            assert!(file.bytes(w) == other.bytes(w), "{how}: {w} differs");
        }
        assert_eq!(file.stable_report(), other.stable_report(), "{how}");
    };

    // `cat x.pcap | zprsim replay s.toml -`, and `/dev/stdin` on a pipe.
    for (tag, input) in [("dash", "-"), ("devstdin", "/dev/stdin")] {
        let outs = Outs::new(dir.path(), tag);
        let mut cat = Command::new("cat")
            .arg(&demo)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let child = zprsim()
            .args(["replay", SCENARIO, input, "--quiet", "--workers", "2"])
            .args(outs.args())
            .stdin(Stdio::from(cat.stdout.take().unwrap()))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (code, err) = wait(child);
        cat.wait().unwrap();
        assert_eq!(code, Some(0), "{tag}: {err}");
        same(&outs, tag);
    }

    // A FIFO, written by another process.
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let outs = Outs::new(dir.path(), "fifo");
    let child = zprsim()
        .args(["replay", SCENARIO])
        .arg(&fifo)
        .args(["--quiet", "--workers", "2"])
        .args(outs.args())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let writer = Command::new("sh")
        .arg("-c")
        .arg(format!("cat '{}' > '{}'", demo.display(), fifo.display()))
        .status()
        .unwrap();
    assert!(writer.success());
    let (code, err) = wait(child);
    assert_eq!(code, Some(0), "fifo: {err}");
    same(&outs, "fifo");

    // Standard input twice is refused before anything is written.
    let o = zprsim()
        .args(["replay", SCENARIO, "-", "-", "--quiet"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("standard input can be used once"),
        "{err}"
    );
}

#[test]
fn flow_logs_on_stdin_a_pipe_or_a_fifo_replay_like_the_file() {
    // The kind of a stream (capture or flow logs) is told from its first
    // bytes, which are then given back to the reader: nothing is lost.
    let dir = tempfile::tempdir().unwrap();
    let logs = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let plain = std::fs::read(&logs).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let run = |input: &str, stdin: Option<&[u8]>, tag: &str| -> String {
        let report = dir.path().join(format!("{tag}.json"));
        let mut child = zprsim()
            .args(["replay", SCENARIO, input, "--quiet", "--report"])
            .arg(&report)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(bytes) = stdin {
            let mut w = child.stdin.take().unwrap();
            w.write_all(bytes).unwrap();
        }
        let (code, err) = wait(child);
        assert_eq!(code, Some(0), "{tag}: {err}");
        let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        // What was judged (not where it came from, nor how long it took).
        let keep = [
            "input_kind",
            "packets",
            "bytes",
            "dropped_by_stage",
            "flows",
            "rules_hit",
        ];
        let mut out: Vec<String> = keep.iter().map(|k| format!("{k}={}", r[*k])).collect();
        for k in ["records", "judged", "skipped_nodata", "unplaced"] {
            out.push(format!("{k}={}", r["flow_log"][k]));
        }
        out.join("\n")
    };
    let file = run(logs.to_str().unwrap(), None, "file");
    assert!(
        file.contains("input_kind=\"flow-log\"") && file.contains("judged=77"),
        "the file is read as flow logs: {file}"
    );
    assert_eq!(run("-", Some(&plain), "dash"), file, "flow logs on stdin");
    assert_eq!(run("-", Some(&gz), "gzip"), file, "gzip flow logs on stdin");

    let fifo = dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (f2, body) = (fifo.clone(), plain.clone());
    let writer = std::thread::spawn(move || std::fs::write(&f2, &body).unwrap());
    assert_eq!(run(fifo.to_str().unwrap(), None, "fifo"), file, "a FIFO");
    writer.join().unwrap();
}

#[test]
fn a_closed_output_pipe_ends_quietly_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pcap");
    big_capture(&big, 200);
    // `--flows - | head -1`: 6,400 flow lines, far more than a pipe holds.
    let mut child = zprsim()
        .args(["replay", SCENARIO])
        .arg(&big)
        .args(["--flows", "-", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    drop(lines);
    let v: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v["proto"], 6);
    let (code, err) = wait(child);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");

    // The same for a pcap on standard output.
    let mut child = zprsim()
        .args(["replay", SCENARIO])
        .arg(&big)
        .args(["--allowed", "-", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    let (code, err) = wait(child);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
    // A nanosecond pcap header.
    assert_eq!(head[..4], [0x4d, 0x3c, 0xb2, 0xa1]);
}

/// `replay` of `bytes` through a pipe into `outs`, sent SIG`sig` once the
/// first `cut` bytes are written, then `pause`, then the rest
/// ([`interrupted_midway`]: zprsim sees the stop flag at its next record
/// and stops reading). Its exit code and standard error.
fn replay_piped_with_signal(
    outs: &Outs,
    bytes: &[u8],
    cut: usize,
    sig: &str,
    pause: Duration,
) -> (Option<i32>, String) {
    let mut cmd = zprsim();
    cmd.args(["replay", SCENARIO, "-", "--quiet", "--workers", "2"])
        .args(outs.args());
    let (o, _) = interrupted_midway(cmd, bytes, cut, sig, pause);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn sigint_and_sigterm_stop_cleanly_at_several_points() {
    // The capture comes through a pipe that this test fills, so the signal
    // lands while zprsim is reading whatever the machine's speed: a timed
    // signal against a file was flaky (a fast run had finished already).
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pcap");
    big_capture(&big, 400);
    let bytes = std::fs::read(&big).unwrap();
    let all = 400 * DEMO_PACKETS;
    for (i, (sig, code, percent)) in [
        ("INT", 130, 15),
        ("TERM", 143, 35),
        ("INT", 130, 55),
        ("TERM", 143, 75),
        ("INT", 130, 95),
    ]
    .into_iter()
    .enumerate()
    {
        let outs = Outs::new(dir.path(), &format!("run{i}"));
        // Cut inside a record.
        let cut = bytes.len() * percent / 100 + 7;
        let (got, err) =
            replay_piped_with_signal(&outs, &bytes, cut, sig, Duration::from_millis(100));
        let what = format!("SIG{sig} after {percent}% of the capture");
        assert_eq!(got, Some(code), "{what}: {err}");
        let r = outs.check_consistent(&what);
        assert_eq!(r["interrupted"], true, "{what}");
        assert_eq!(
            r["stopped_by"],
            format!("sig{}", sig.to_lowercase()),
            "{what}"
        );
        let total = r["packets"]["total"].as_u64().unwrap();
        assert!(total > 0 && total < all, "{what}: {total}");
        assert!(err.contains("interrupted:"), "{what}: {err}");
    }
}

#[test]
fn an_interrupt_while_reading_a_pipe_ends_at_a_record_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pcap");
    big_capture(&big, 400);
    let bytes = std::fs::read(&big).unwrap();
    let outs = Outs::new(dir.path(), "pipe");
    // Outputs of an earlier run: every one is replaced by this run's
    // (partial, and saying so), none left stale beside the new ones.
    for w in ["a.pcap", "d.pcap", "f.jsonl", "r.json"] {
        std::fs::write(outs.path(w), b"an earlier run").unwrap();
    }
    // Half the capture, cut in the middle of a record.
    let half = bytes.len() / 2 + 7;
    let (code, err) =
        replay_piped_with_signal(&outs, &bytes, half, "INT", Duration::from_millis(300));
    assert_eq!(code, Some(130), "{err}");
    let r = outs.check_consistent("SIGINT on a pipe");
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["stopped_by"], "sigint");
    let total = r["packets"]["total"].as_u64().unwrap();
    assert!(total > 0 && total < 400 * DEMO_PACKETS, "{total}");
    assert!(r["error"].is_null(), "{}", r["error"]);
}

/// `diff` of the OKE example against its proposed change on the large
/// capture through a pipe, SIGINT half-way: exit 130, and both outputs
/// are whole, partial and say so: the report marks itself interrupted,
/// counts fewer packets than the capture holds, and its changed flows are
/// the `--flows` lines, each a whole JSON object (the flow records are
/// handed over after the pass, so an interrupt cuts the input, never a
/// line).
#[test]
fn an_interrupted_diff_writes_whole_partial_outputs_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pcap");
    big_capture(&big, 400);
    let bytes = std::fs::read(&big).unwrap();
    let (report, flows) = (dir.path().join("r.json"), dir.path().join("f.jsonl"));
    for p in [&report, &flows] {
        std::fs::write(p, b"an earlier run").unwrap();
    }
    let proposed = "examples/oke-orders/proposed.toml";
    let mut cmd = zprsim();
    cmd.args(["diff", SCENARIO, proposed, "-", "--quiet", "--workers", "2"])
        .arg("--report")
        .arg(&report)
        .arg("--flows")
        .arg(&flows);
    let half = bytes.len() / 2 + 7;
    let (o, _) = interrupted_midway(cmd, &bytes, half, "INT", Duration::from_millis(300));
    let (code, err) = (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted:"), "{err}");
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["stopped_by"], "sigint");
    assert!(r["error"].is_null(), "{}", r["error"]);
    let total = r["packets"]["total"].as_u64().unwrap();
    assert!(total > 0 && total < 400 * DEMO_PACKETS, "{total}");
    let lines: Vec<Value> = std::fs::read_to_string(&flows)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let f = &r["flows"];
    let n = |k: &str| f[k].as_u64().unwrap();
    assert_eq!(
        n("would_break") + n("newly_allowed") + n("reason_changed"),
        lines.len() as u64
    );
    // Each copy of the demo has one flow that would break: some copies
    // were judged, not all.
    let wb = lines.iter().filter(|l| l["class"] == "would-break").count() as u64;
    assert_eq!(wb, n("would_break"));
    assert!((1..400).contains(&wb), "{wb}");
}

#[test]
fn a_capture_cut_while_it_is_read_warns_with_the_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pcap");
    big_capture(&big, COPIES);
    let all = COPIES * DEMO_PACKETS;
    let len = std::fs::metadata(&big).unwrap().len();
    let mut cut_seen = 0;
    for (i, after_ms) in [150u64, 400, 800].into_iter().enumerate() {
        let input = dir.path().join(format!("cut{i}.pcap"));
        std::fs::copy(&big, &input).unwrap();
        let outs = Outs::new(dir.path(), &format!("cut{i}"));
        let child = zprsim()
            .args(["replay", SCENARIO])
            .arg(&input)
            .args(["--quiet", "--workers", "2"])
            .args(outs.args())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(after_ms));
        // Cut inside a record, 60 % of the way.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&input)
            .unwrap();
        f.set_len(len * 3 / 5 + 5).unwrap();
        drop(f);
        let (code, err) = wait(child);
        let what = format!("cut after {after_ms} ms");
        // Never a signal (SIGBUS), never an error exit.
        assert_eq!(code, Some(0), "{what}: {err}");
        let r = outs.check_consistent(&what);
        let total = r["packets"]["total"].as_u64().unwrap();
        let warnings = r["warnings"].as_array().unwrap();
        if total < all {
            cut_seen += 1;
            assert_eq!(warnings.len(), 1, "{what}: {warnings:?}");
            let w = warnings[0].as_str().unwrap();
            assert!(w.contains(&format!("cut{i}.pcap: byte ")), "{what}: {w}");
        } else {
            assert!(warnings.is_empty(), "{what}: {warnings:?}");
        }
    }
    assert!(
        cut_seen >= 1,
        "no replay was still reading when its file was cut"
    );
}

#[test]
fn a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let outs = Outs::new(dir.path(), "twice");
    std::fs::write(outs.path("r.json"), b"an earlier run").unwrap();
    let mut child = zprsim()
        .args(["replay", SCENARIO, "-", "--quiet"])
        .args(outs.args())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The file header and one record: once written, zprsim is reading (its
    // handlers are installed), then it waits for more input.
    let demo = demo_bytes();
    let first_record =
        24 + 16 + usize::try_from(u32::from_le_bytes(demo[32..36].try_into().unwrap())).unwrap();
    stdin.write_all(&demo[..first_record]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // The first signal asks for a clean stop, which waits for the blocked
    // read; the second ends the process at once, input still open.
    kill("INT", child.id());
    std::thread::sleep(Duration::from_millis(300));
    kill("INT", child.id());
    let status = child.wait().unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(130));
    // Nothing was committed: the earlier report is untouched and no output
    // appeared. (An exit at once runs no destructor, so the temporary
    // files beside the targets stay; docs/cli.md says so.)
    assert_eq!(
        std::fs::read(outs.path("r.json")).unwrap(),
        b"an earlier run"
    );
    assert!(!outs.path("a.pcap").exists());
}

/// Hidden files (the outputs' temporaries are `.NAME.XXXX.tmp`) in `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

/// Review (s6): `replay` now ends through `leave` (`libc::_exit`: no
/// destructor runs after it). On each path that reaches it -- a whole run
/// with `--fail-on-drop` (exit 1), the flow log on standard output (a
/// pipe, with the summary moved to stderr), `--quiet` without `--report`
/// (no report built), an interrupt (exit 143) -- every output is whole and
/// consistent with the report, the flow log on the pipe is byte for byte
/// the file's, and no temporary file is left beside the outputs.
#[test]
fn every_path_through_leave_commits_every_output_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("cap.pcap");
    big_capture(&cap, 40);
    let cap_s = cap.display().to_string();
    // Whole, to files, failing on drops.
    let outs = Outs::new(dir.path(), "file");
    let o = zprsim()
        .args([
            "replay",
            SCENARIO,
            &cap_s,
            "--fail-on-drop",
            "--workers",
            "2",
        ])
        .args(outs.args())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let r = outs.check_consistent("--fail-on-drop");
    assert!(r["packets"]["dropped"].as_u64().unwrap() > 0);
    assert_eq!(o.status.code(), Some(1), "{err}");
    // The summary, printed before `leave`, is whole on the pipe.
    let summary = String::from_utf8_lossy(&o.stdout);
    assert!(
        summary.ends_with('\n') && summary.lines().count() > 3,
        "{summary}"
    );
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    // The flow log on standard output: the same bytes as the file.
    let o = zprsim()
        .args(["replay", SCENARIO, &cap_s, "--flows", "-", "--fail-on-drop"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(o.stdout, outs.bytes("f.jsonl"), "--flows -");
    assert!(String::from_utf8_lossy(&o.stderr).contains("packets"));
    // `--quiet` without `--report`: nothing on stdout, the exit code from
    // the engine's counters.
    let o = zprsim()
        .args(["replay", SCENARIO, &cap_s, "--quiet", "--fail-on-drop"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    // Interrupted: 143 and consistent outputs, nothing left behind.
    let big = dir.path().join("big.pcap");
    big_capture(&big, 400);
    let bytes = std::fs::read(&big).unwrap();
    let outs = Outs::new(dir.path(), "term");
    let cut = bytes.len() / 2 + 7;
    let (got, err) =
        replay_piped_with_signal(&outs, &bytes, cut, "TERM", Duration::from_millis(100));
    assert_eq!(got, Some(143), "{err}");
    let r = outs.check_consistent("SIGTERM");
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["stopped_by"], "sigterm");
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

/// Waits for `child` at most `limit` (a guard against a hang, not a timing
/// assertion): its exit code, or `None` after killing it.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<Option<i32>> {
    let t0 = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s.code());
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `replay - --allowed - | head -c 100` with standard output the only
/// output: when its reader leaves, the run ends as a SIGPIPE would end it
/// (exit 0, nothing on stderr) instead of judging the rest of the input.
/// The input here never ends (a writer that keeps writing records), so
/// the build before, which judged on, never ended.
#[test]
fn a_closed_output_pipe_that_was_the_only_output_ends_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pcap");
    big_capture(&big, 50);
    let bytes = std::fs::read(&big).unwrap();
    let mut child = zprsim()
        .args(["replay", SCENARIO, "-", "--allowed", "-", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // The header once, then the records again and again until zprsim
        // leaves (the write meets a closed pipe).
        if stdin.write_all(&bytes).is_err() {
            return;
        }
        while stdin.write_all(&bytes[24..]).is_ok() {}
    });
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    let code = wait_at_most(&mut child, Duration::from_secs(120));
    writer.join().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(
        code,
        Some(Some(0)),
        "the run did not end when its only reader left: {err}"
    );
    assert!(err.is_empty(), "{err}");
}

/// `replay --allowed - --report r.json | head -c 100`: the report is still
/// wanted, so the run goes on to the end, but the report counts as
/// written only the packets handed to standard output before its reader
/// left, and warns (`output-reader-gone`). Before, `written.allowed`
/// counted every allowed packet, none of them written after the first
/// pipe buffer.
#[test]
fn a_closed_output_pipe_beside_a_report_is_counted_honestly() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pcap");
    big_capture(&big, 200);
    let report = dir.path().join("r.json");
    let mut child = zprsim()
        .args(["replay", SCENARIO])
        .arg(&big)
        .args(["--allowed", "-", "--quiet", "--report"])
        .arg(&report)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    let (code, err) = wait(child);
    assert_eq!(code, Some(0), "{err}");
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let allowed = r["packets"]["allowed"].as_u64().unwrap();
    let written = r["written"]["allowed"].as_u64().unwrap();
    assert!(allowed > 10_000, "{allowed}");
    assert!(written < allowed / 2, "written {written} of {allowed}");
    let gone: Vec<&Value> = r["run_warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "output-reader-gone")
        .collect();
    assert_eq!(gone.len(), 1, "{r}");
    assert_eq!(gone[0]["file"], "-");
    // The user's own `| head`: said in the report, not on stderr.
    assert!(err.is_empty(), "{err}");
}
