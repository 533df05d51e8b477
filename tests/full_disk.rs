//! Outputs and temporary files on a full disk: the other outputs and the report are written,
//! the failed one is named, the run ends with its outputs partial.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{AUDITED_WEB, ex, json_lines, report, root, run_in, stderr_of, warnings_of};

fn json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The report's `output-failed` warnings: (file, message).
fn failed_outputs(report: &Value) -> Vec<(String, String)> {
    report["run_warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "output-failed")
        .map(|w| {
            (
                w["file"].as_str().unwrap().to_owned(),
                w["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A full disk under one output (`/dev/full`, which fails every write with
/// ENOSPC, as a full tmpfs does) abandons that output only: the others and
/// the report are written, the report and stderr name the failed output
/// and why, and the run exits 2. Before, the first failed write ended the
/// run with no report and no other output.
///
/// From the fourteenth session's planning list.
#[test]
fn a_full_disk_under_one_output_leaves_the_others_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let check = |out: &std::process::Output, report: &Path, flag: &str| {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        let r = json(report);
        let failed = failed_outputs(&r);
        assert_eq!(failed.len(), 1, "{r}");
        assert_eq!(failed[0].0, "/dev/full");
        assert!(failed[0].1.contains(flag), "{}", failed[0].1);
        assert!(
            failed[0].1.contains("No space left on device"),
            "{}",
            failed[0].1
        );
        // Said once on stderr, by the run's error.
        let said = format!("error: {flag} `/dev/full`: No space left on device\n");
        assert!(err.ends_with(&said), "{err}");
        assert_eq!(err.matches("No space left").count(), 1, "{err}");
        r
    };

    // replay on a capture: the allowed packets on a full disk.
    let (report, flows, dropped) = (d.join("r.json"), d.join("f.jsonl"), d.join("d.pcap"));
    let out = run_in(
        d,
        [
            "replay",
            &ex("examples/oke-orders/scenario.toml"),
            &ex("pcaps/oke-demo.pcap"),
            "--allowed",
            "/dev/full",
            "--dropped",
            dropped.to_str().unwrap(),
            "--flows",
            flows.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
            "--quiet",
        ],
    );
    let r = check(&out, &report, "--allowed");
    // Nothing of the abandoned output counts as written; the other does.
    assert_eq!(r["written"]["allowed"], 0);
    assert!(r["written"]["dropped"].as_u64().unwrap() > 0);
    assert!(std::fs::read_to_string(&flows).unwrap().lines().count() > 0);
    assert!(std::fs::metadata(&dropped).unwrap().len() > 24);

    // replay on flow logs: the flow lines on a full disk.
    let report = d.join("r2.json");
    let out = run_in(
        d,
        [
            "replay",
            &ex("examples/oke-orders/scenario.toml"),
            &ex("examples/oke-orders/flowlogs/oke-demo.jsonl"),
            "--flows",
            "/dev/full",
            "--report",
            report.to_str().unwrap(),
            "--quiet",
        ],
    );
    check(&out, &report, "--flows");

    // diff on a capture and on flow logs.
    for (i, input) in [
        "pcaps/oke-demo.pcap",
        "examples/oke-orders/flowlogs/oke-demo.jsonl",
    ]
    .into_iter()
    .enumerate()
    {
        let report = d.join(format!("d{i}.json"));
        let out = run_in(
            d,
            [
                "diff",
                &ex("examples/oke-orders/scenario.toml"),
                &ex("examples/oke-orders/proposed.toml"),
                &ex(input),
                "--flows",
                "/dev/full",
                "--report",
                report.to_str().unwrap(),
                "--fail-on",
                "",
                "--quiet",
            ],
        );
        check(&out, &report, "--flows");
    }

    // The report itself on a full disk: the flow log is still written.
    let flows = d.join("f3.jsonl");
    let out = run_in(
        d,
        [
            "replay",
            &ex("examples/oke-orders/scenario.toml"),
            &ex("pcaps/oke-demo.pcap"),
            "--flows",
            flows.to_str().unwrap(),
            "--report",
            "/dev/full",
            "--quiet",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--report `/dev/full`: No space left on device"),
        "{err}"
    );
    assert!(std::fs::read_to_string(&flows).unwrap().lines().count() > 0);

    // verify: `--junit` on a full disk; the JSON result still comes out.
    let out = run_in(
        d,
        [
            "verify",
            &ex("examples/oke-orders/scenario.toml"),
            &ex("examples/oke-orders/expect.toml"),
            "--json",
            "--junit",
            "/dev/full",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--junit `/dev/full`: No space left on device"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["paths"].as_array().is_some_and(|p| !p.is_empty()));
}

/// The same with a file on a file system that refuses to grow it (`ulimit
/// -f`, SIGXFSZ ignored, as a full tmpfs refuses a write): the output's
/// temporary file beside its target is removed, the target keeps its old
/// contents, and the report (small enough) is written and says why.
///
/// From the fourteenth session's planning list.
#[test]
fn an_output_refused_mid_write_leaves_its_target_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join("pcaps/oke-demo.pcap")).unwrap();
    let mut big = demo[..24].to_vec();
    for _ in 0..50 {
        big.extend_from_slice(&demo[24..]);
    }
    std::fs::write(d.join("big.pcap"), &big).unwrap();
    std::fs::write(d.join("a.pcap"), b"old").unwrap();
    let zprsim = assert_cmd::cargo::cargo_bin!("zprsim");
    // 400 blocks: 200 KB (512-byte blocks) or 400 KB (1 KiB): the report
    // fits, the allowed packets (about 1 MB) do not.
    let script = format!(
        "trap '' XFSZ; ulimit -f 400; exec '{}' replay '{}' big.pcap --allowed a.pcap --report r.json --quiet",
        zprsim.display(),
        ex("examples/oke-orders/scenario.toml")
    );
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(d)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: --allowed `a.pcap`: "), "{err}");
    assert_eq!(std::fs::read(d.join("a.pcap")).unwrap(), b"old");
    let r = json(&d.join("r.json"));
    assert_eq!(failed_outputs(&r).len(), 1, "{r}");
    assert_eq!(r["written"]["allowed"], 0);
    let mut names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["a.pcap", "big.pcap", "r.json"],
        "a temporary file was left"
    );
}

/// `bench --json` and `verify --json` with their other output on a full
/// disk: the JSON result says which output failed (`run_warnings`, code
/// `output-failed`), as `replay`'s report does; before, only stderr said
/// it (fourteenth session, the last note's planning list).
///
/// From the fourteenth session's planning list.
#[test]
fn the_json_results_of_bench_and_verify_name_the_output_that_failed() {
    let t = tempfile::tempdir().unwrap();
    for args in [
        vec![
            "bench",
            "examples/oke-orders/scenario.toml",
            "--packets",
            "2000",
            "--workers",
            "1",
            "--json",
            "--csv",
            "/dev/full",
        ],
        vec![
            "verify",
            "examples/oke-orders/scenario.toml",
            "examples/oke-orders/expect.toml",
            "--json",
            "--junit",
            "/dev/full",
        ],
    ] {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if a.starts_with("examples/") {
                    ex(a)
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        let out = run_in(t.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.matches("/dev/full").count(), 1, "said once: {err}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let failed = failed_outputs(&v);
        assert_eq!(failed.len(), 1, "{args:?}: {v}");
        assert_eq!(failed[0].0, "/dev/full");
        assert!(
            failed[0].1.contains("No space left on device"),
            "{failed:?}"
        );
    }
}

/// Planning item 8: the bounded spool of `replay --flows`'s records
/// (65,536 per worker in memory, the rest in sorted runs in a temporary
/// file) on a file system that refuses to grow its file (`ulimit -f`,
/// SIGXFSZ ignored, as a full tmpfs refuses a write) ended the run with
/// "error: flow records' temporary file in …: File too large" and no
/// report. Now only `--flows` is abandoned: nothing of it is written, the
/// report is, with an `output-failed` warning saying why, stderr says it
/// once, and the run exits 2 (as when the output's own write fails).
///
/// From the fifteenth session's planning list.
#[test]
fn a_full_disk_under_the_flow_records_spool_abandons_only_the_flows_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), AUDITED_WEB).unwrap();
    // 70,000 distinct UDP flows: past one worker's 65,536 records in
    // memory, a run of ~10 MB is written.
    std::fs::write(d.join("many.pcap"), crate::full_disk::udp_flows(70_000)).unwrap();
    std::fs::create_dir(d.join("tmp")).unwrap();
    let zprsim = assert_cmd::cargo::cargo_bin!("zprsim");
    // `--flows -`: the spool is in `$TMPDIR`; 400 blocks (200 or 400 KB)
    // hold the report, not the spool's run.
    let script = format!(
        "trap '' XFSZ; ulimit -f 400; TMPDIR=tmp exec '{}' replay s.toml many.pcap --flows - --report r.json --quiet",
        zprsim.display()
    );
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(d)
        .output()
        .unwrap();
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty(), "a partial flow log was written");
    let said = "error: --flows `-`: its flow records' temporary file in tmp: ";
    assert!(err.starts_with(said), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let r = report(d, "r.json");
    assert_eq!(r["packets"]["total"], 70_000, "{r:#}");
    let failed: Vec<&Value> = r["run_warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "output-failed")
        .collect();
    assert_eq!(failed.len(), 1, "{r:#}");
    assert_eq!(failed[0]["file"], "-");
    let m = failed[0]["message"].as_str().unwrap();
    assert!(m.contains("its flow records' temporary file in tmp"), "{m}");
    // The temporary file is unnamed: nothing is left.
    assert_eq!(std::fs::read_dir(d.join("tmp")).unwrap().count(), 0);
}

/// Runs `zprsim ARGS` in `d` with `TMPDIR` a 64 KiB tmpfs of a mount
/// namespace of its own (`unshare -m`, as root); `None` when it cannot be
/// mounted here (not root, no `unshare`): the caller skips.
pub(crate) fn with_tiny_tmpdir(d: &Path, args: &[&str]) -> Option<std::process::Output> {
    crate::full_disk::with_small_tmpdir("64k", d, args)
}

/// A full disk under the flow-log records spilled past
/// `--flow-log-buffer` (a 64 KiB tmpfs as `TMPDIR`) ended `replay` and
/// `diff` with "error: cannot use a temporary file in DIR: No space left
/// on device", and no report or flow lines at all. The reading now stops
/// there, as a Ctrl-C stops it: the records read before are judged, the
/// report and `--flows` are written, valid, and say `interrupted` with a
/// `temporary-files-full` warning, and the run exits 2 with a message
/// naming the directory, what fills it and what to do. `diff` builds its
/// report from its records sorted by flow, in the same directory: when
/// that cannot be written either, it ends before any output is opened
/// (none is left), with the same kind of message.
///
/// From the fourteenth session's planning list (note-s16).
#[test]
fn a_full_disk_under_spilled_flow_log_records_ends_the_run_with_its_outputs_partial() {
    use crate::support::{AUDITED_WEB, CLIENT, WEB, record};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), AUDITED_WEB).unwrap();
    // 3,000 distinct records (127 bytes each spilled: ~380 KB).
    let n = 3000u16;
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
    let tiny = d.join("tiny");
    let runs: [&[&str]; 2] = [
        &[
            "replay",
            "s.toml",
            "log.jsonl",
            "--flow-log-buffer",
            "16",
            "--report",
            "r.json",
            "--flows",
            "f.jsonl",
            "--quiet",
        ],
        &[
            "diff",
            "s.toml",
            "s.toml",
            "log.jsonl",
            "--flow-log-buffer",
            "16",
            "--report",
            "r.json",
            "--flows",
            "f.jsonl",
            "--fail-on",
            "none",
            "--quiet",
        ],
    ];
    for args in runs {
        let _ = std::fs::remove_file(d.join("r.json"));
        let _ = std::fs::remove_file(d.join("f.jsonl"));
        let Some(o) = with_tiny_tmpdir(d, args) else {
            eprintln!("skipped: a tmpfs cannot be mounted here (unshare -m, as root)");
            return;
        };
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(2), "{}: {err}", args[0]);
        let said = format!(
            "the temporary files in {} could not be written",
            tiny.display()
        );
        assert!(err.contains("error: ") && err.contains(&said), "{err}");
        assert!(
            err.contains("No space left on device")
                && err.contains("past `--flow-log-buffer`")
                && err.contains("TMPDIR=")
                && err.contains("a larger `--flow-log-buffer`"),
            "{err}"
        );
        if args[0] == "diff" && !d.join("r.json").exists() {
            // `diff`'s report is built from its records sorted by flow, in
            // the same directory: with it still full, the run ends before
            // any output is opened, and leaves none (nor a temporary).
            assert!(
                err.contains("`diff`'s flow-log records, sorted by flow"),
                "{err}"
            );
            let names: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert!(
                !names
                    .iter()
                    .any(|n| n.contains("f.jsonl") || n.contains("r.json")),
                "{names:?}"
            );
            continue;
        }
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
        assert_eq!(r["interrupted"], true, "{}: {r}", args[0]);
        assert_eq!(r["stopped_by"], "temporary-files-full", "{}: {r}", args[0]);
        let records = r["flow_log"]["records"].as_u64().unwrap();
        assert!(records > 0 && records < u64::from(n), "{}: {r}", args[0]);
        let full: Vec<&serde_json::Value> = r["run_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["code"] == "temporary-files-full")
            .collect();
        assert!(!full.is_empty(), "{r}");
        assert!(full[0]["message"].as_str().unwrap().contains(&said), "{r}");
        // The flow lines are whole lines of JSON.
        let flows = std::fs::read_to_string(d.join("f.jsonl")).unwrap();
        for l in flows.lines() {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
        if args[0] == "replay" {
            assert_eq!(flows.lines().count() as u64, records, "{r}");
        }
    }
}

/// 3,000 distinct flow-log records of one VNIC of `AUDITED_WEB`, one a
/// second, in `d/log.jsonl`, with the scenario as `d/s.toml`.
fn web_log_in(d: &Path, n: u16) {
    use crate::support::{AUDITED_WEB, CLIENT, WEB, record};
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

/// Planning 8 (the review, note-s17): a full disk under spilled flow-log
/// records ended well, but not with a tiny `--flow-log-buffer`: past 128
/// sorted runs, handing them back first merges the oldest into longer
/// runs, written to the same full disk, and the run ended with an error
/// and no outputs. Those runs are now merged in memory (a block of records
/// per run, the blocks together bounded as before), so the run ends as a
/// full disk ends it with fewer runs: partial outputs, exit 2.
///
/// From the sixteenth session's planning list (note-s17).
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
    let Some(o) = crate::full_disk::with_tiny_tmpdir(d, &args) else {
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
///
/// From the sixteenth session's planning list (note-s17).
#[test]
fn diff_on_a_full_disk_ends_with_its_outputs_partial() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 3000u16;
    web_log_in(d, n);
    // AFTER enforces what BEFORE audits: every flow would break.
    let after = crate::support::AUDITED_WEB.replace("mode = \"audit\"", "mode = \"enforce\"");
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
        let Some(o) = crate::full_disk::with_tiny_tmpdir(d, &args) else {
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

/// Runs `zprsim ARGS` in `d` with `TMPDIR` a tmpfs of `size` (as `mount -o
/// size=` takes it) of a mount namespace of its own (`unshare -m`, as
/// root); `None` when it cannot be mounted here (not root, no `unshare`):
/// the caller skips.
pub(crate) fn with_small_tmpdir(size: &str, d: &Path, args: &[&str]) -> Option<Output> {
    let tiny = d.join("tiny");
    std::fs::create_dir_all(&tiny).unwrap();
    let mount = format!("mount -t tmpfs -o size={size} tmpfs \"$0\"");
    let probe = Command::new("unshare")
        .args(["-m", "sh", "-c", &mount, tiny.to_str()?])
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    let zprsim = assert_cmd::cargo::cargo_bin!("zprsim");
    let mut cmd = Command::new("unshare");
    cmd.args([
        "-m",
        "sh",
        "-c",
        &format!("{mount} && TMPDIR=\"$0\" exec \"$@\""),
    ])
    .arg(&tiny)
    .arg(zprsim)
    .args(args)
    .current_dir(d);
    Some(cmd.output().unwrap())
}

/// A capture of `n` UDP flows from the client to the web server of
/// [`crate::support::AUDITED_WEB`], one packet each, 1 ms apart.
pub(crate) fn udp_flows(n: u32) -> Vec<u8> {
    use crate::replay_oracle::{Pkt, frame};
    use crate::support::{CLIENT, WEB};
    use zprsim_control::packet::Packet;
    use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};
    let mut w = PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).unwrap();
    for i in 0..n {
        let k = Pkt {
            p: Packet::udp(
                CLIENT.parse().unwrap(),
                u16::try_from(1024 + i % 60_000).unwrap(),
                WEB.parse().unwrap(),
                u16::try_from(1000 + i / 60_000).unwrap(),
            ),
            flags: 0,
            ts: 1_700_000_000_000_000_000 + u64::from(i) * 1_000_000,
        };
        let f = frame(&k);
        w.write(k.ts, 1, u32::try_from(f.len()).unwrap(), &f)
            .unwrap();
    }
    w.finish().unwrap()
}

/// Planning 4 (note-s18): `diff` on a capture whose flow records outgrow
/// memory (65,536 per worker and scenario) and the disk under their
/// temporary files ended with "error: flow records' temporary file in …:
/// No space left on device" and no report. Now it ends as `replay` and
/// `diff` on flow logs do: the report is written, valid, partial
/// (`"interrupted": true`), its counts of every packet, its flows of the
/// records both scenarios' files kept (the first that ended), with a
/// `temporary-files-full` warning; stderr says it once, naming the
/// directory, what fills it and what to do; exit 2. A 25 MiB tmpfs takes
/// the first run of both scenarios (~21 MB), not the second.
///
/// From the seventeenth session's planning list (note-s18).
#[test]
fn diff_on_captures_on_a_full_disk_ends_with_its_outputs_partial() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), crate::support::AUDITED_WEB).unwrap();
    // AFTER enforces what BEFORE audits: every flow would break.
    let after = crate::support::AUDITED_WEB.replace("mode = \"audit\"", "mode = \"enforce\"");
    std::fs::write(d.join("after.toml"), after).unwrap();
    let n = 140_000u32;
    std::fs::write(d.join("many.pcap"), udp_flows(n)).unwrap();
    // `--report -`: the records spill in `$TMPDIR` (no output file to
    // put them beside).
    let args = [
        "diff",
        "s.toml",
        "after.toml",
        "many.pcap",
        "--report",
        "-",
        "--fail-on",
        "none",
        "--quiet",
    ];
    let Some(o) = with_small_tmpdir("25m", d, &args) else {
        eprintln!("skipped: a tmpfs cannot be mounted here (unshare -m, as root)");
        return;
    };
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let tiny = d.join("tiny");
    let said = format!(
        "error: the temporary files in {} could not be written (No space left on device)",
        tiny.display()
    );
    assert!(err.starts_with(&said), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("both scenarios' flow records") && err.contains("TMPDIR=/var/tmp"),
        "{err}"
    );
    let r: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("no report ({e}): {err}"));
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["stopped_by"], "temporary-files-full");
    assert_eq!(r["packets"]["total"], u64::from(n), "{r:#}");
    assert_eq!(r["before"]["packets"]["allowed"], u64::from(n), "{r:#}");
    let f = &r["flows"];
    let classified: u64 = [
        "would_break",
        "newly_allowed",
        "reason_changed",
        "unchanged",
    ]
    .iter()
    .map(|k| f[*k].as_u64().unwrap())
    .sum();
    assert_eq!(f["would_break"].as_u64(), Some(classified), "{f}");
    assert!(classified > 0 && classified < u64::from(n), "{f}");
    assert_eq!(r["packets"]["would_break"].as_u64(), Some(classified));
    let full: Vec<&Value> = crate::support::warnings_of(&r, "temporary-files-full");
    assert_eq!(full.len(), 1, "{r:#}");
    let m = full[0]["message"].as_str().unwrap();
    let first = format!("are the first {classified} of the {n} flow record(s)");
    assert!(m.contains(&first), "{m}");
    // The temporary files are unnamed: nothing is left.
    assert_eq!(std::fs::read_dir(&tiny).unwrap().count(), 0);
}
