//! The defects of the sixteenth session's planning list (note-s17, "For
//! planning" items 4, 6 and 8), as users met them: each test fails on the
//! code before its fix.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use zprsim_dataplane::capture::Capture;
use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

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

pub(crate) fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

fn kill(sig: &str, pid: u32) {
    let s = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(s.success());
}

/// Lines of `text`, each a whole JSON object (panics on one that is not).
fn json_lines(text: &str) -> u64 {
    let mut n = 0;
    for l in text.lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v.is_object(), "{l}");
        n += 1;
    }
    n
}

/// Whole records in a capture file (none cut).
fn records(path: &Path) -> u64 {
    let c = Capture::from_bytes(std::fs::read(path).unwrap()).unwrap();
    let mut recs = c.records();
    let n = recs.by_ref().map(Result::unwrap).count() as u64;
    assert!(recs.warnings().is_empty(), "{:?}", recs.warnings());
    n
}

/// Runs `cmd` (its `--flows` the FIFO `fifo`, made here), sends it
/// SIG`sig` once the first byte of its flow lines has come (the flow lines
/// are written after the reading: the tail has begun, and the FIFO holds
/// it until this test reads on), and reads the rest: the run's exit code,
/// its standard error, and the flow lines, each a whole JSON object (their
/// count).
fn signal_once_the_flows_begin(
    mut cmd: Command,
    fifo: &Path,
    sig: &str,
) -> (Option<i32>, String, String, u64) {
    mkfifo(fifo);
    let child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = std::fs::File::open(fifo).unwrap();
    let mut text = vec![0u8; 1];
    lines.read_exact(&mut text).unwrap();
    kill(sig, child.id());
    lines.read_to_end(&mut text).unwrap();
    let o = child.wait_with_output().unwrap();
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

/// The OKE demo's flow log repeated `copies` times, each copy 100,000 s
/// after the last (times and ids moved).
pub(crate) fn demo_log_repeated(copies: u64) -> String {
    let demo = std::fs::read_to_string(root().join("examples/oke-orders/flowlogs/oke-demo.jsonl"))
        .unwrap();
    let mut out = String::new();
    for c in 0..copies {
        let shift = c * 100_000;
        for (i, line) in demo.lines().enumerate() {
            let mut v: Value = serde_json::from_str(line).unwrap();
            let d = &mut v["logContent"]["data"];
            for k in ["startTime", "endTime"] {
                if let Some(t) = d[k].as_u64() {
                    d[k] = (t + shift).into();
                }
            }
            if let Some(t) = v["datetime"].as_u64() {
                v["datetime"] = (t + shift * 1000).into();
            }
            v["logContent"]["id"] = format!("00000000-0000-4000-8000-{c:06}{i:06}").into();
            out.push_str(&v.to_string());
            out.push('\n');
        }
    }
    out
}

/// Planning 4, flow logs: a first signal while the records spilled past
/// `--flow-log-buffer` were merged and judged (after the reading) stopped
/// nothing. It now ends the judging between two seconds: the report and
/// `--flows` hold exactly the records judged, and say so. `--flows` is a
/// FIFO again: its first bytes come once the judging has begun, which is
/// after the reading.
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

/// 3,000 distinct flow-log records of one VNIC of `AUDITED_WEB`, one a
/// second, in `d/log.jsonl`, with the scenario as `d/s.toml`.
fn web_log_in(d: &Path, n: u16) {
    use crate::planning_s16::{AUDITED_WEB, CLIENT, WEB, record};
    std::fs::write(d.join("s.toml"), AUDITED_WEB).unwrap();
    let log: String = (0..n)
        .map(|i| {
            record(
                "ocid1.vnic.oc1..web1",
                (CLIENT, WEB),
                6,
                Some((40000 + i, 443)),
                1_700_000_000 + u64::from(i),
            )
        })
        .collect();
    std::fs::write(d.join("log.jsonl"), log).unwrap();
}

/// The report's warnings of `code`.
pub(crate) fn warnings_of<'r>(r: &'r Value, code: &str) -> Vec<&'r Value> {
    r["run_warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == code)
        .collect()
}

/// Planning 8 (the review, note-s17): a full disk under spilled flow-log
/// records ended well, but not with a tiny `--flow-log-buffer`: past 128
/// sorted runs, handing them back first merges the oldest into longer
/// runs, written to the same full disk, and the run ended with an error
/// and no outputs. Those runs are now merged in memory (a block of records
/// per run, the blocks together bounded as before), so the run ends as a
/// full disk ends it with fewer runs: partial outputs, exit 2.
#[test]
fn a_full_disk_past_128_spilled_runs_still_ends_with_partial_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 3000u16;
    web_log_in(d, n);
    let tiny = d.join("tiny");
    let args = [
        "replay",
        "s.toml",
        "log.jsonl",
        "--flow-log-buffer",
        "2",
        "--report",
        "r.json",
        "--flows",
        "f.jsonl",
        "--quiet",
    ];
    let Some(o) = crate::planning_s17::with_tiny_tmpdir(d, &args) else {
        eprintln!("skipped: a tmpfs cannot be mounted here (unshare -m, as root)");
        return;
    };
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "the temporary files in {} could not be written",
            tiny.display()
        )),
        "{err}"
    );
    let r: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
    let fl = &r["flow_log"];
    assert_eq!(r["interrupted"], true, "{fl}");
    assert_eq!(r["stopped_by"], "temporary-files-full", "{fl}");
    let records = fl["records"].as_u64().unwrap();
    // More than 128 runs of 2 records were written before the disk filled.
    assert!(records > 2 * 128 && records < u64::from(n), "{fl}");
    let full = warnings_of(&r, "temporary-files-full");
    assert!(
        full[0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("hold the {records} data record(s) read before it")),
        "{full:?}"
    );
    let flows = std::fs::read_to_string(d.join("f.jsonl")).unwrap();
    assert_eq!(json_lines(&flows), records, "{fl}");
    assert_eq!(fl["judged"].as_u64().unwrap(), records, "{fl}");
}

/// Planning 8 (note-s17): `diff` of flow logs on a full disk ended with
/// "error: ... `diff`'s flow-log records, sorted by flow ..." and no
/// report: the records it compares are sorted by flow in the same
/// temporary directory as the records read. The comparing now stops there
/// as a Ctrl-C stops the reading (the judging at the next second): the
/// report and `--flows` are written, valid, with `"interrupted": true` and
/// a `temporary-files-full` warning naming the directory, what fills it
/// and what to do, and the run exits 2 (as `replay` since `d8bd0cb`).
#[test]
fn diff_on_a_full_disk_ends_with_its_outputs_partial() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 3000u16;
    web_log_in(d, n);
    // AFTER enforces what BEFORE audits: every flow would break.
    let after = crate::planning_s16::AUDITED_WEB.replace("mode = \"audit\"", "mode = \"enforce\"");
    std::fs::write(d.join("after.toml"), after).unwrap();
    let tiny = d.join("tiny");
    for buffer in ["16", "1000"] {
        let _ = std::fs::remove_file(d.join("r.json"));
        let _ = std::fs::remove_file(d.join("f.jsonl"));
        let args = [
            "diff",
            "s.toml",
            "after.toml",
            "log.jsonl",
            "--flow-log-buffer",
            buffer,
            "--report",
            "r.json",
            "--flows",
            "f.jsonl",
            "--fail-on",
            "none",
            "--quiet",
        ];
        let Some(o) = crate::planning_s17::with_tiny_tmpdir(d, &args) else {
            eprintln!("skipped: a tmpfs cannot be mounted here (unshare -m, as root)");
            return;
        };
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{buffer}: {err}");
        let said = format!(
            "the temporary files in {} could not be written",
            tiny.display()
        );
        assert!(
            err.contains(&said) && err.contains("TMPDIR="),
            "{buffer}: {err}"
        );
        let r: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap())
            .unwrap_or_else(|e| panic!("{buffer}: no report ({e}): {err}"));
        assert_eq!(r["interrupted"], true, "{buffer}");
        assert_eq!(r["stopped_by"], "temporary-files-full", "{buffer}");
        let full = warnings_of(&r, "temporary-files-full");
        let says = |what: &str| {
            full.iter()
                .filter(|w| w["message"].as_str().unwrap().contains(what))
                .count()
        };
        // The flows are of the records compared, each one that would
        // break, listed in `--flows` as whole lines.
        let flows = std::fs::read_to_string(d.join("f.jsonl")).unwrap();
        let listed = json_lines(&flows);
        let wb = r["flows"]["would_break"].as_u64().unwrap();
        assert!(wb > 0 && wb < u64::from(n), "{buffer}: {}", r["flows"]);
        if buffer == "16" {
            // The records sorted by flow could not be written: the
            // comparing stopped there.
            assert_eq!(
                says("sorted by flow to build its flows"),
                1,
                "{buffer}: {full:?}"
            );
            assert_eq!(says("the comparing stopped there"), 1, "{full:?}");
            assert_eq!(listed, wb, "{buffer}");
        } else {
            // Those fit; the changed flows, sorted for `--flows`, did not:
            // every flow is counted, the first ones listed.
            let m = format!("`--flows` lists {listed} of the {wb} changed flow(s)");
            assert_eq!(says(&m), 1, "{buffer}: {full:?}");
            assert_eq!(says("`diff`'s changed flows, sorted as"), 1, "{full:?}");
            assert!(listed < wb, "{buffer}: {listed} of {wb}");
        }
        assert_eq!(r["packets"]["total"].as_u64().unwrap(), 2 * wb, "{buffer}");
    }
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Planning 8 (note-s17): `replay` (and `diff`) given a gzipped OCI CLI
/// output (`oci network private-ip list ... | gzip > ips.json.gz`) took it
/// for flow logs (`detect::kind` takes any compressed JSON for one), and
/// the user read "no flow-log entry could be read: ... not a flow-log
/// entry". The decompressed head is looked at: the file is named for what
/// it is, with the command that takes it; a compressed flow log is still
/// one.
#[test]
fn replay_given_a_compressed_cli_output_says_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::planning_s16::oke_export_in(d);
    let exp = |f: &str| std::fs::read(d.join("exp").join(f)).unwrap();
    std::fs::write(
        d.join("ips.json.gz"),
        gzip(&exp("network-private-ip-list.json")),
    )
    .unwrap();
    std::fs::write(
        d.join("vnic.json.zst"),
        zstd::stream::encode_all(&exp("network-vnic-get-0.json")[..], 3).unwrap(),
    )
    .unwrap();
    std::fs::write(d.join("vcns.json"), exp("network-vcn-list.json")).unwrap();
    let ranges =
        std::fs::read(root().join("examples/oke-orders/oci-public-ip-ranges.json")).unwrap();
    std::fs::write(d.join("ranges.json.gz"), gzip(&ranges)).unwrap();
    let log = std::fs::read(root().join("examples/oke-orders/flowlogs/oke-demo.jsonl")).unwrap();
    std::fs::write(d.join("log.jsonl.gz"), gzip(&log)).unwrap();
    let scenario = root().join("examples/oke-orders/scenario.toml");
    let scenario = scenario.to_str().unwrap();
    let import =
        "give the directory of the CLI outputs to `zprsim import oci DIR -o scenario.toml`";
    for (file, says, then) in [
        (
            "ips.json.gz",
            "is gzip data; decompressed, it is an OCI CLI output (private IP list), not flow-log records",
            import,
        ),
        (
            "vnic.json.zst",
            "is zstd data; decompressed, it is an OCI CLI output (VNIC), not flow-log records",
            import,
        ),
        (
            "vcns.json",
            "is an OCI CLI output (VCN list), not flow-log records",
            import,
        ),
        (
            "ranges.json.gz",
            "is gzip data; decompressed, it is OCI's public IP ranges file, not flow-log records",
            "it is for `zprsim import oci DIR --services ranges.json.gz`",
        ),
    ] {
        for cmd in [
            &["replay", scenario, file][..],
            &["diff", scenario, scenario, "log.jsonl.gz", file][..],
        ] {
            let out = crate::support::run_in(d, cmd);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
            assert!(
                err.contains(&format!("error: `{file}` {says}")) && err.contains(then),
                "{cmd:?}: {err}"
            );
            assert!(!err.contains("flow-log entry"), "{cmd:?}: {err}");
        }
    }
    // A gzipped flow log is still one.
    let out = crate::support::run_in(d, ["replay", scenario, "log.jsonl.gz", "--quiet"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Planning 8 (note-s17): an export whose VCNs reuse one CIDR (every
/// console wizard offers `10.0.0.0/16`), with a VNIC whose subnet is of
/// the VCN not exported in full, was refused ("its address lies in subnet
/// S, which is") without naming the way out `import` has for overlapping
/// VCNs: `--vcn NAME`. The refusal now names the other VCN holding the
/// address, and that way out works.
#[test]
fn a_contradicting_partial_export_names_vcn_as_a_way_out() {
    use zprsim_control::import::oci;
    let mut files = crate::support::oke_export();
    // A second VCN on the same blocks, exported without its subnets.
    let vcns = "network-vcn-list.json";
    let mut list: Value = serde_json::from_str(&files[vcns]).unwrap();
    let mut twin = list["data"][0].clone();
    twin["id"] = "ocid1.vcn.oc1.iad.twin".into();
    twin["display-name"] = "twin-vcn".into();
    let first = list["data"][0]["display-name"].as_str().unwrap().to_owned();
    list["data"].as_array_mut().unwrap().push(twin);
    files.insert(vcns.into(), list.to_string());
    // A VNIC of that VCN's subnet, which the export lacks, at an address
    // the exported VCN's subnet holds too.
    let file = "network-vnic-get-0.json";
    let mut v: Value = serde_json::from_str(&files[file]).unwrap();
    v["data"]["subnet-id"] = "ocid1.subnet.oc1.iad.oftwin".into();
    let name = v["data"]["display-name"].as_str().unwrap().to_owned();
    files.insert(file.into(), v.to_string());
    let e = oci::import(&files, None).unwrap_err().to_string();
    assert!(
        e.contains(&format!("`{name}`")) && e.contains("lies in subnet"),
        "{e}"
    );
    assert!(
        e.contains(&format!(
            "; 2 VCNs hold that address (their blocks overlap): if the VNIC is of one that subnet `api` is not in, import that VCN alone (`--vcn {first}` or `--vcn twin-vcn`)"
        )),
        "{e}"
    );
    // The way out named works: the VNIC is kept in a stand-in of the VCN.
    let one = oci::import_vcns(&files, None, &["twin-vcn".into()]).unwrap();
    assert!(one.toml.contains(&name), "{}", one.toml);
    // Without a second VCN holding the address, no `--vcn` is offered:
    // keeping one VCN would change nothing.
    let mut files = crate::support::oke_export();
    let mut v: Value = serde_json::from_str(&files[file]).unwrap();
    v["data"]["subnet-id"] = "ocid1.subnet.oc1.iad.elsewhere".into();
    files.insert(file.into(), v.to_string());
    let e = oci::import(&files, None).unwrap_err().to_string();
    assert!(e.contains("lies in subnet") && !e.contains("--vcn"), "{e}");
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
#[test]
fn bench_on_a_signal_prints_what_it_measured_marked_partial() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("cap.pcap");
    demo_repeated(&cap, 100);
    let bytes = std::fs::read(&cap).unwrap();
    assert!(bytes.len() > 4 * 65536);
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let csv = dir.path().join(format!("b-{sig}.csv"));
        let mut child = zprsim()
            .args(["bench", zprsim_bench::fixtures::OKE, "--capture", "-"])
            .args(["--workers", "1,2,3", "--json", "--csv"])
            .arg(&csv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let half = bytes.len() / 2;
        stdin.write_all(&bytes[..half]).unwrap();
        kill(sig, child.id());
        stdin.write_all(&bytes[half..]).unwrap();
        drop(stdin);
        let o = child.wait_with_output().unwrap();
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
