//! The user-facing defects of the fourteenth session's planning list, as
//! users met them: each test fails on the code before its fix.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::run_in;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ex(p: &str) -> String {
    root().join(p).display().to_string()
}

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
