//! The run's own warnings as data (docs/cli.md, "Warnings are data"): every
//! code comes from a real input, in a report's `run_warnings`, beside
//! `warnings` (strings) in the same order, `warnings[i]` being
//! `run_warnings[i].message`; with the file and the byte offset or line
//! where it has one; and the field is there, empty, when there are none.
//! (`file-changed` needs a file cut while it is read: the dataplane's
//! `engine::source` tests make one; `output-reader-gone` a reader that
//! leaves a pipe: `streams::a_closed_output_pipe_beside_a_report_is_counted_honestly`.)

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use zprsim_dataplane::warning::RunWarningCode;

const OKE: &str = "examples/oke-orders/scenario.toml";
const PROPOSED: &str = "examples/oke-orders/proposed.toml";
const DEMO: &str = "pcaps/oke-demo.pcap";
const LOG: &str = "examples/oke-orders/flowlogs/oke-demo.jsonl";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `zprsim ARGS --report R` run in the repository: the report. `bench`
/// gives its report on standard output (`--json`).
fn report(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r.json");
    let mut cmd = assert_cmd::Command::cargo_bin("zprsim").unwrap();
    cmd.current_dir(root()).args(args);
    let bench = args.first() == Some(&"bench");
    if !bench {
        cmd.arg("--quiet").arg("--report").arg(&r);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    if bench {
        serde_json::from_slice(&o.stdout).unwrap()
    } else {
        serde_json::from_slice(&std::fs::read(&r).unwrap()).unwrap()
    }
}

/// The report's `run_warnings`, checked against its `warnings` (one
/// object each, same order, the same text) and against the codes.
fn run_warnings(r: &Value) -> Vec<Value> {
    let texts = r["warnings"].as_array().expect("`warnings`");
    let objects = r["run_warnings"].as_array().expect("`run_warnings`");
    assert_eq!(objects.len(), texts.len(), "{r:#}");
    let known: BTreeSet<&str> = RunWarningCode::ALL.iter().map(|c| c.as_str()).collect();
    for (o, t) in objects.iter().zip(texts) {
        assert_eq!(&o["message"], t, "{o}");
        let code = o["code"].as_str().unwrap();
        assert!(
            known.contains(code) || r.get("scenario_warnings").is_some(),
            "{code}"
        );
        for k in o.as_object().unwrap().keys() {
            assert!(
                ["code", "message", "file", "offset", "line", "column"].contains(&k.as_str()),
                "{o}"
            );
        }
    }
    objects.clone()
}

/// The warning of `code` in `r` (exactly one).
fn one(r: &Value, code: &str) -> Value {
    let all = run_warnings(r);
    let of: Vec<&Value> = all.iter().filter(|w| w["code"] == code).collect();
    assert_eq!(of.len(), 1, "{code}: {all:#?}");
    of[0].clone()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every run code, each from an input that gives it; the whole list is
/// covered (`file-changed` and `output-reader-gone` aside, see the
/// module's docs).
#[test]
fn every_run_warning_code_comes_from_a_real_input() {
    let t = tempfile::tempdir().unwrap();
    let tmp = t.path();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut saw = |w: &Value| {
        seen.insert(w["code"].as_str().unwrap().to_owned());
    };

    // Captures.
    let w = one(
        &report(&["replay", OKE, "pcaps/truncated_file.pcap"]),
        "truncated-record",
    );
    assert_eq!(w["file"], "pcaps/truncated_file.pcap");
    assert_eq!(w["offset"], 234);
    saw(&w);
    let w = one(
        &report(&["replay", OKE, "pcaps/truncated_records.pcap"]),
        "snapshot-length",
    );
    assert_eq!(w["file"], "pcaps/truncated_records.pcap");
    saw(&w);
    // `tcpdump -s 40`: the TCP headers cut after the ports.
    let cut40 = tmp.join("cut40.pcap");
    let (bytes, _) =
        crate::capture_formats::snapped(&std::fs::read(root().join(DEMO)).unwrap(), 40);
    std::fs::write(&cut40, bytes).unwrap();
    let w = one(&report(&["replay", OKE, s(&cut40)]), "tcp-header-cut");
    assert_eq!(w["file"], s(&cut40));
    saw(&w);
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    let gz = gzip(&demo);
    let cut = tmp.join("cut.pcap.gz");
    std::fs::write(&cut, &gz[..gz.len() - 200]).unwrap();
    let w = one(&report(&["replay", OKE, s(&cut)]), "compressed-ends-early");
    assert_eq!(w["file"], s(&cut));
    assert!(w["offset"].as_u64().unwrap() < demo.len() as u64, "{w}");
    saw(&w);
    // A pcap of link type 147 (user-defined): not decoded.
    let mut odd = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    odd.extend_from_slice(&[0; 8]);
    odd.extend_from_slice(&65535u32.to_le_bytes());
    odd.extend_from_slice(&147u32.to_le_bytes());
    odd.extend_from_slice(&[0, 0, 0x65, 0x65, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0]);
    odd.extend_from_slice(&[1, 2, 3, 4]);
    let odd_path = tmp.join("odd.pcap");
    std::fs::write(&odd_path, &odd).unwrap();
    let w = one(&report(&["replay", OKE, s(&odd_path)]), "unknown-link-type");
    assert_eq!(w["file"], s(&odd_path));
    saw(&w);
    // The demo twice (two files): the second starts before the first ended.
    let (a, b) = (tmp.join("a.pcap"), tmp.join("b.pcap"));
    std::fs::write(&a, &demo).unwrap();
    std::fs::write(&b, &demo).unwrap();
    let w = one(
        &report(&["replay", OKE, s(&a), s(&b)]),
        "inputs-out-of-order",
    );
    assert_eq!(w["file"], s(&b));
    saw(&w);
    let copies = tmp.join("copies.pcap");
    crate::capture_shapes::copies_of(&root().join(DEMO), &copies, true);
    saw(&one(
        &report(&["replay", OKE, s(&copies)]),
        "any-device-copies",
    ));
    saw(&one(
        &report(&["replay", OKE, DEMO, "--decap", "vxlan"]),
        "not-vxlan",
    ));
    let w = one(
        &report(&["replay", OKE, DEMO, "./pcaps/../pcaps/oke-demo.pcap"]),
        "same-file",
    );
    assert_eq!(w["file"], "./pcaps/../pcaps/oke-demo.pcap");
    saw(&w);

    // Directories given.
    let d = tmp.join("dir");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("00.pcap"), &demo).unwrap();
    std::fs::write(d.join("README"), b"tcpdump -G 3600\n").unwrap();
    std::fs::write(d.join("01.pcap"), b"").unwrap();
    // An earlier run's report, written into the directory.
    let o = crate::support::run_in(
        root(),
        [
            "replay",
            OKE,
            DEMO,
            "--quiet",
            "--report",
            s(&d.join("02.json")),
        ],
    );
    assert!(o.status.success());
    let r = report(&["replay", OKE, s(&d)]);
    for code in [
        "unknown-file-skipped",
        "blank-file-skipped",
        "earlier-output-skipped",
    ] {
        let w = one(&r, code);
        if code != "blank-file-skipped" {
            assert!(w["file"].as_str().unwrap().starts_with(s(&d)), "{w}");
        }
        saw(&w);
    }
    // A packet output written inside that directory: the next run over it
    // would read it as a capture.
    let inside = d.join("allowed.pcap");
    let r = report(&["replay", OKE, s(&d), "--allowed", s(&inside)]);
    let w = one(&r, "output-in-input-directory");
    assert_eq!(w["file"], s(&inside));
    saw(&w);

    // Flow logs.
    let log = std::fs::read_to_string(root().join(LOG)).unwrap();
    let lines = log.lines().count() as u64;
    let bad = tmp.join("bad.jsonl");
    std::fs::write(&bad, format!("{log}not json\n")).unwrap();
    let w = one(&report(&["replay", OKE, s(&bad)]), "malformed-entry");
    assert_eq!(
        (&w["file"], &w["line"]),
        (&Value::from(s(&bad)), &Value::from(lines + 1))
    );
    saw(&w);
    let w = one(
        &report(&[
            "replay",
            OKE,
            LOG,
            "examples/oke-orders/flowlogs/oke-demo.jsonl.gz",
        ]),
        "duplicate-entry",
    );
    assert_eq!(w["file"], "examples/oke-orders/flowlogs/oke-demo.jsonl.gz");
    assert!(w["line"].as_u64().unwrap() >= 1, "{w}");
    saw(&w);
    // Entries of a schema version OCI does not document (QA round 24: read
    // without a word): lines 2 and 3 of the demo log as version "3" and 3,
    // counted in one warning at the first, by replay and by diff; "2" and
    // 2 say nothing.
    let mut versions = String::new();
    for (i, l) in log.lines().enumerate() {
        let l = match i {
            1 => l.replacen(r#""version":"2""#, r#""version":"3""#, 1),
            2 => l.replacen(r#""version":"2""#, r#""version":3"#, 1),
            3 => l.replacen(r#""version":"2""#, r#""version":2"#, 1),
            _ => l.to_owned(),
        };
        versions.push_str(&l);
        versions.push('\n');
    }
    let v3 = tmp.join("v3.jsonl");
    std::fs::write(&v3, &versions).unwrap();
    for args in [
        vec!["replay", OKE, s(&v3)],
        vec!["diff", OKE, PROPOSED, s(&v3)],
    ] {
        let w = one(&report(&args), "other-schema-version");
        assert_eq!(
            (&w["file"], &w["line"]),
            (&Value::from(s(&v3)), &Value::from(2))
        );
        assert_eq!(
            w["message"],
            format!(
                "{}:2: 2 flow-log entries of `data.version` other than 2 (the first: `3`); zprsim knows OCI's version 2 only and read them with its fields: check that the fields still mean what they did",
                s(&v3)
            )
        );
        saw(&w);
    }
    assert!(
        crate::support::warnings_of(&report(&["replay", OKE, LOG]), "other-schema-version")
            .is_empty()
    );
    let gz = gzip(log.as_bytes());
    let cut = tmp.join("cut.jsonl.gz");
    std::fs::write(&cut, &gz[..gz.len() - 100]).unwrap();
    let w = one(&report(&["replay", OKE, s(&cut)]), "compressed-ends-early");
    assert!(w["line"].as_u64().unwrap() > 1, "{w}");
    let stranger = tmp.join("stranger.jsonl");
    let theirs: String = log
        .lines()
        .filter(|l| l.contains("notinthescenario"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!theirs.is_empty());
    std::fs::write(&stranger, theirs).unwrap();
    saw(&one(
        &report(&["replay", OKE, s(&stranger)]),
        "nothing-placed",
    ));
    // A capture of no packet (its header only).
    let empty = tmp.join("empty.pcap");
    let mut header = Vec::new();
    for w in [
        0xa1b2_c3d4u32.to_le_bytes().as_slice(),
        &2u16.to_le_bytes(),
        &4u16.to_le_bytes(),
    ] {
        header.extend_from_slice(w);
    }
    for w in [0u32, 0, 65535, 1] {
        header.extend_from_slice(&w.to_le_bytes());
    }
    std::fs::write(&empty, header).unwrap();
    saw(&one(&report(&["replay", OKE, s(&empty)]), "nothing-judged"));
    // AFTER without worker-1's id (its policy files beside it).
    std::fs::create_dir(tmp.join("policies")).unwrap();
    for e in std::fs::read_dir(root().join("examples/oke-orders/policies")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), tmp.join("policies").join(e.file_name())).unwrap();
    }
    let one_sided = tmp.join("one-sided.toml");
    std::fs::write(
        &one_sided,
        std::fs::read_to_string(root().join(PROPOSED))
            .unwrap()
            .replace("okeordersworker1\"", "okeordersworkerX\""),
    )
    .unwrap();
    saw(&one(
        &report(&["diff", OKE, s(&one_sided), LOG]),
        "placed-by-one-side",
    ));

    // Flags, bounds and `bench`.
    saw(&one(
        &report(&["diff", OKE, PROPOSED, DEMO, "--fail-on", ""]),
        "fail-on-empty",
    ));
    saw(&one(&report(&["diff", OKE, OKE, DEMO]), "same-scenarios"));
    // A link beside the file (its policies read from the same directory;
    // a link elsewhere reads others:
    // scenario_loading::one_scenario_named_from_two_directories_*).
    let copy = tmp.join("copy.toml");
    std::fs::copy(root().join(OKE), &copy).unwrap();
    let link = tmp.join("link.toml");
    std::fs::hard_link(&copy, &link).unwrap();
    saw(&one(
        &report(&["diff", s(&copy), s(&link), DEMO]),
        "same-scenarios",
    ));
    // Two files, even of the same bytes, are not said to be one: each
    // reads its policy files beside it (the review: a copy whose policy
    // changed broke 4 flows under the warning). Nor are two that differ.
    for after in [s(&copy), PROPOSED] {
        assert!(
            !report(&["diff", OKE, after, DEMO])
                .to_string()
                .contains("same-scenarios"),
            "{after}"
        );
    }
    saw(&one(
        &report(&["diff", OKE, PROPOSED, DEMO, "--max-connections", "1"]),
        "connections-evicted",
    ));
    saw(&one(
        &report(&["bench", OKE, "--capture", "pcaps/linux_sll.pcap", "--json"]),
        "baseline-partial",
    ));

    // An output on a full disk (`/dev/full`): exit 2, the report says so.
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("r.json");
    let o = assert_cmd::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .args([
            "replay",
            OKE,
            DEMO,
            "--quiet",
            "--allowed",
            "/dev/full",
            "--report",
        ])
        .arg(&r)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    saw(&one(
        &serde_json::from_slice(&std::fs::read(&r).unwrap()).unwrap(),
        "output-failed",
    ));

    // `output-reader-gone` needs a reader that leaves a pipe:
    // streams::a_closed_output_pipe_beside_a_report_is_counted_honestly.
    // `temporary-files-full` a full tmpfs (mounted as root):
    // full_disk::a_full_disk_under_spilled_flow_log_records_*.
    // `interrupted-after-reading` a signal in the run's tail:
    // interrupted_runs::replay_and_bench::a_signal_after_the_reading_*.
    // `interrupted-while-loading` a signal while a scenario loads:
    // interrupted_runs::loading::*.
    // `quality-entries-unchecked` 917,504 NODATA entries: a unit test with
    // a small bound (flowlog::read::tests::past_the_quality_id_bound_*).
    let all: BTreeSet<String> = RunWarningCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .filter(|c| {
            ![
                "file-changed",
                "output-reader-gone",
                "temporary-files-full",
                "interrupted-after-reading",
                "interrupted-while-loading",
                "quality-entries-unchecked",
            ]
            .contains(&c.as_str())
        })
        .collect();
    assert_eq!(seen, all);
}

/// Where a report's `warnings` holds a scenario's warnings as text (`diff`
/// on flow logs), their objects carry the scenario warning's own code,
/// file and line.
#[test]
fn scenario_warnings_among_warnings_keep_their_code() {
    let r = report(&[
        "diff",
        "examples/docs/warn.toml",
        "examples/docs/warn.toml",
        LOG,
    ]);
    let all = run_warnings(&r);
    let scenario = r["scenario_warnings"].as_array().unwrap();
    assert!(!scenario.is_empty());
    // BEFORE's, then AFTER's: the first ones of `warnings`.
    for (w, s) in all.iter().zip(scenario) {
        assert_eq!(w["code"], s["code"]);
        assert_eq!(w["file"], s["file"]);
        assert_eq!(w["line"], s["line"]);
    }
}

/// No warning: `run_warnings` is there, empty, in every report that has it.
#[test]
fn run_warnings_is_an_empty_list_without_warnings() {
    for args in [
        vec!["replay", OKE, DEMO],
        vec!["replay", OKE, LOG],
        vec!["diff", OKE, PROPOSED, DEMO],
        vec!["diff", OKE, PROPOSED, LOG],
        vec!["bench", OKE, "--capture", DEMO, "--json"],
    ] {
        let r = report(&args);
        assert_eq!(r["run_warnings"], Value::Array(Vec::new()), "{args:?}");
        assert_eq!(r["warnings"], Value::Array(Vec::new()), "{args:?}");
    }
}
