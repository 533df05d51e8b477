//! Flow-log files as users bring them: gzip with trailing junk or cut short, pretty-printed
//! entries one after another, compressed notes among the logs, pzstd frames, files of which
//! nothing could be read.

use std::path::Path;

use serde_json::Value;

use crate::support::{OKE, root, run_in, skippable};

/// A gzip flow log followed by bytes that are no gzip member (a download
/// with trailing junk): the commit that made a cut gzip a warning names
/// "trailing bytes" too. Every whole line before the junk counts, with a
/// warning naming the file, whatever the junk's length.
///
/// From the review of session 8's engine change.
#[test]
fn a_gzip_flow_log_with_trailing_junk_is_read_up_to_the_junk() {
    use std::io::Write;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let log = root.join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    let gz = e.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for junk in [
        &b"\0\0\0"[..],
        b"0123456789abcdef0123456789abcdef",
        b"\x1f\x8b\x08junkjunkjunkjunk",
        &[0u8; 512],
    ] {
        let f = dir.path().join("junk.log.gz");
        let mut bytes = gz.clone();
        bytes.extend_from_slice(junk);
        std::fs::write(&f, &bytes).unwrap();
        let o = std::process::Command::new(assert_cmd::cargo::cargo_bin!("zprsim"))
            .current_dir(&root)
            .args(["replay", "examples/oke-orders/scenario.toml"])
            .arg(&f)
            .args(["--quiet", "--report", "-"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{} junk bytes: {err}", junk.len());
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            r["flow_log"]["records"].as_u64(),
            Some(lines as u64),
            "{} junk bytes",
            junk.len()
        );
        assert!(
            err.contains("junk.log.gz"),
            "{} junk bytes: {err}",
            junk.len()
        );
    }
}

/// A gzip flow log cut before the end of its first line (an object whose
/// download stopped in its first few hundred bytes) beside a whole one:
/// as for a cut later on, a warning naming the file, and the other file's
/// records are judged; it failed the run (exit 2).
///
/// From the review of session 8's engine change.
#[test]
fn a_gzip_flow_log_cut_inside_its_first_line_is_a_warning() {
    use std::io::Write;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let log = "examples/oke-orders/flowlogs/oke-demo.jsonl";
    let text = std::fs::read_to_string(root.join(log)).unwrap();
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    let gz = e.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("early.log.gz");
    std::fs::write(&f, &gz[..60]).unwrap();
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin!("zprsim"))
        .current_dir(&root)
        .args(["replay", "examples/oke-orders/scenario.toml"])
        .arg(&f)
        .args([log, "--quiet", "--report", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["flow_log"]["records"].as_u64(), Some(lines as u64));
    assert!(
        err.contains("early.log.gz") && err.contains("ends early"),
        "{err}"
    );
}

/// Runs `zprsim replay SCENARIO INPUT --quiet --report -` from the
/// repository root; the report, or a panic with stderr.
fn report_of(scenario: &str, input: &Path) -> serde_json::Value {
    let out = run_in(
        root(),
        [
            "replay".as_ref(),
            scenario.as_ref(),
            input.as_os_str(),
            "--quiet".as_ref(),
            "--report".as_ref(),
            "-".as_ref(),
        ],
    );
    assert!(
        out.status.success(),
        "{:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `jq '.data.results[].data' search.json > log.json` and `jq '.[]'
/// log.json`, the usual way to pull entries out of a Logging search or an
/// array, print each entry pretty-printed over many lines, one after the
/// other, with no array around them. zprsim refused that file ("not JSON:
/// trailing characters at line 31 column 1", exit 2): it took the first
/// value for the whole document.
///
/// Found by the twelfth session's review.
#[test]
fn a_flow_log_of_pretty_printed_entries_one_after_another_is_read() {
    let lines = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let pretty = dir.path().join("jq-output.json");
    let text: String = std::fs::read_to_string(&lines)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            serde_json::to_string_pretty(&v).unwrap() + "\n"
        })
        .collect();
    std::fs::write(&pretty, text).unwrap();
    judged_alike(&lines, &pretty);
}

/// `replay` of the OKE example gives the same counts and agreement on the
/// flow log `other` as on `log` (which judges something).
fn judged_alike(log: &Path, other: &Path) {
    let scenario = "examples/oke-orders/scenario.toml";
    let want = report_of(scenario, log);
    let got = report_of(scenario, other);
    assert!(want["flow_log"]["judged"].as_u64().unwrap() > 0);
    for key in ["packets", "bytes", "dropped_by_stage", "flows"] {
        assert_eq!(got[key], want[key], "{key}");
    }
    for key in [
        "records",
        "judged",
        "skipped_nodata",
        "skipped_skipdata",
        "skipped_malformed",
        "unplaced",
        "agreement",
    ] {
        assert_eq!(got["flow_log"][key], want["flow_log"][key], "{key}");
    }
}

/// A flow log written back by pandas (`read_json(lines=True)` then
/// `to_json(orient="records", lines=True)`), or by any tool that holds a
/// column with nulls as floats: the NODATA entries' null `packets` and
/// `bytesOut` make those columns floats, so every data record says
/// `"packets": 6.0`. zprsim skipped every record as malformed with the
/// wrong claim ``field `data.packets`: `6.0` is not a whole number``
/// and judged nothing. A number with a fraction of zero is now read as
/// the whole number it is (every field, times too); `6.5` stays malformed.
///
/// Found by QA round 26 (thirty-fourth session).
#[test]
fn whole_numbers_written_as_floats_are_read_as_whole_numbers() {
    let lines = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let as_floats = |fraction: f64| -> String {
        std::fs::read_to_string(&lines)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                let data = v["logContent"]["data"].as_object_mut().unwrap();
                for key in [
                    "packets",
                    "bytesOut",
                    "startTime",
                    "endTime",
                    "destinationPort",
                ] {
                    if let Some(n) = data.get(key).and_then(Value::as_u64) {
                        #[allow(clippy::cast_precision_loss)]
                        let f = n as f64 + fraction;
                        data.insert(key.to_owned(), serde_json::json!(f));
                    }
                }
                v.to_string() + "\n"
            })
            .collect()
    };
    let floats = dir.path().join("pandas.jsonl");
    std::fs::write(&floats, as_floats(0.0)).unwrap();
    assert!(std::fs::read_to_string(&floats).unwrap().contains(".0,"));
    judged_alike(&lines, &floats);
    let scenario = "examples/oke-orders/scenario.toml";
    // A fraction is still not a whole number.
    let halves = dir.path().join("halves.jsonl");
    std::fs::write(&halves, as_floats(0.5)).unwrap();
    let out = run_in(
        root(),
        [
            "replay".as_ref(),
            scenario.as_ref(),
            halves.as_os_str(),
            "--quiet".as_ref(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "halves.jsonl:2: skipped: field `data.destinationPort`: `6443.5` is not a whole number from 0 to 65535"
        ),
        "{err}"
    );
}

/// A directory of downloaded flow logs with one compressed file that is
/// not JSON (a compressed note or export beside the logs): the run was
/// refused, rightly, but named that file "a capture", which sent the user
/// looking for a capture that is not there. A text file named beside flow
/// logs was "a capture" too.
///
/// Found by the twelfth session's review.
#[test]
fn a_compressed_or_text_file_among_flow_logs_is_not_called_a_capture() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::copy(
        root().join("examples/oke-orders/flowlogs/oke-demo.jsonl"),
        logs.join("a.jsonl"),
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"bucket inventory, not a log\n").unwrap();
    std::fs::write(logs.join("notes.txt.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a log\n").unwrap();
    // A gzip capture is a capture (read as one since the tenth session).
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&std::fs::read(root().join("pcaps/oke-demo.pcap")).unwrap())
        .unwrap();
    let caps = dir.path().join("caps");
    std::fs::create_dir(&caps).unwrap();
    std::fs::write(caps.join("c.pcap.gz"), gz.finish().unwrap()).unwrap();
    let s = root().join("examples/oke-orders/scenario.toml");
    for (input, what) in [
        (
            caps,
            "c.pcap.gz` is a capture and the other inputs are flow logs",
        ),
        (
            logs.clone(),
            "notes.txt.gz` is compressed data but not flow logs and the other inputs are flow logs",
        ),
        (
            dir.path().join("notes.txt"),
            "notes.txt` is neither a capture nor flow logs and the other inputs are flow logs",
        ),
    ] {
        let out = run_in(
            dir.path(),
            [
                "replay".as_ref(),
                s.as_os_str(),
                logs.join("a.jsonl").as_os_str(),
                input.as_os_str(),
                "--quiet".as_ref(),
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(what), "{err}");
    }
}

/// Flow-log files of which not one entry could be read (every entry
/// malformed: another export's JSON, a wrong `jq` filter) ran with
/// warnings and exit 0, so `diff --fail-on would-break` passed on no
/// evidence while a garbage capture exits 2 (QA). Now exit 2, naming the
/// count and the first problem; blank files (a window with no traffic)
/// and files with some good entries are read as before.
///
/// Found by the twelfth session's review.
#[test]
fn flow_logs_of_which_nothing_could_be_read_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"bad\": 1}\n{\"bad\": 2}\n").unwrap();
    let blank = dir.path().join("blank.jsonl");
    std::fs::write(&blank, "\n\n").unwrap();
    let good = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let s = root().join("examples/oke-orders/scenario.toml");
    let after = root().join("examples/oke-orders/proposed.toml");
    // Only bad entries (also beside a blank file): exit 2; beside a file
    // of good entries, the bad ones are skipped with a warning, as before.
    for (inputs, code) in [
        (vec![&bad], 2),
        (vec![&blank, &bad], 2),
        (vec![&good, &bad], 0),
        (vec![&blank, &good], 0),
    ] {
        for cmd in [
            vec!["replay".as_ref(), s.as_os_str()],
            vec![
                "diff".as_ref(),
                s.as_os_str(),
                after.as_os_str(),
                "--fail-on".as_ref(),
                "none".as_ref(),
            ],
        ] {
            let mut args = cmd.clone();
            args.extend(inputs.iter().map(|p| p.as_os_str()));
            args.push("--quiet".as_ref());
            let o = run_in(dir.path(), &args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(code), "{cmd:?} {inputs:?}: {err}");
            assert_eq!(
                err.contains(
                    "no flow-log entry could be read: 2 entries skipped as malformed; the first: "
                ),
                code == 2,
                "{err}"
            );
        }
    }
}

/// pzstd's skippable frame before a zstd flow log (re-read of the
/// session): the head sniffer and the scenario check knew only zstd's own
/// magic, so the file was decided on its first byte (`P`) and refused as
/// "an OCI flow-log file, not a pcap" although flow logs were wanted.
///
/// Found by the twelfth session's review (branch s14-qa).
#[test]
fn a_pzstd_flow_log_is_read_as_its_zstd_copy() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::read(root().join("examples/oke-orders/flowlogs/oke-demo.jsonl")).unwrap();
    let frame = zstd::stream::encode_all(&log[..], 3).unwrap();
    let plain = dir.path().join("log.jsonl.zst");
    std::fs::write(&plain, &frame).unwrap();
    let pz = dir.path().join("pz.jsonl.zst");
    std::fs::write(&pz, [skippable(0, 4, 7), frame].concat()).unwrap();
    let report = |f: &Path| {
        let r = dir.path().join("r.json");
        let o = run_in(
            root(),
            [
                "replay",
                OKE,
                f.to_str().unwrap(),
                "--quiet",
                "--report",
                r.to_str().unwrap(),
            ],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: Value = serde_json::from_slice(&std::fs::read(&r).unwrap()).unwrap();
        (
            v["input_kind"].clone(),
            v["packets"].clone(),
            v["flow_log"]["agreement"].clone(),
        )
    };
    let want = report(&plain);
    assert_eq!(want.0, "flow-log");
    assert_eq!(report(&pz), want);
}

/// `replay` and `diff` of a flow log holding no record (`[]`, an export of
/// a quiet hour, or the wrong file) printed a summary of zeros and exited
/// 0 without a word; one of NODATA entries only likewise. They now warn
/// `nothing-judged`, on stderr and in the report, and still exit 0. A log
/// whose records are at no VNIC of the scenario says `nothing-placed`
/// instead (not both); one with records judged says neither.
#[test]
fn a_flow_log_of_no_record_says_nothing_was_judged() {
    let t = crate::support::oke_copy();
    let dir = t.path();
    let log = std::fs::read_to_string(dir.join("flowlogs/oke-demo.jsonl")).unwrap();
    let nodata: String = log
        .lines()
        .filter(|l| l.contains("\"NODATA\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let n = nodata.lines().count();
    assert!(n > 0);
    std::fs::write(dir.join("none.json"), "[]").unwrap();
    std::fs::write(dir.join("nodata.jsonl"), &nodata).unwrap();
    let cases = [
        (
            "none.json",
            "the flow log `none.json` holds no record: nothing was judged".to_owned(),
        ),
        (
            "nodata.jsonl",
            format!(
                "the flow log `nodata.jsonl` holds no data record to judge ({n} NODATA or SKIPDATA): nothing was judged"
            ),
        ),
    ];
    let codes = |cmd: &[&str]| -> (Vec<String>, String) {
        let mut args = cmd.to_vec();
        args.extend(["--report", "r.json"]);
        let o = run_in(dir, &args);
        assert_eq!(o.status.code(), Some(0), "{cmd:?}");
        let r: Value = serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap();
        let ws = r["run_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["code"] != "same-scenarios")
            .map(|w| {
                format!(
                    "{}: {}",
                    w["code"].as_str().unwrap(),
                    w["message"].as_str().unwrap()
                )
            })
            .collect();
        (ws, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    for (file, said) in &cases {
        for cmd in [
            vec!["replay", "scenario.toml", file],
            vec!["diff", "scenario.toml", "scenario.toml", file],
        ] {
            let (ws, err) = codes(&cmd);
            assert_eq!(ws, [format!("nothing-judged: {said}")], "{cmd:?}");
            assert!(
                err.contains(&format!("warning: {said}\n")),
                "{cmd:?}: {err}"
            );
        }
    }
    // Records of another tenancy: `nothing-placed` says it, alone.
    let theirs: String = log
        .lines()
        .filter(|l| l.contains("notinthescenario"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("theirs.jsonl"), theirs).unwrap();
    let (ws, _) = codes(&["replay", "scenario.toml", "theirs.jsonl"]);
    assert_eq!(ws.len(), 1, "{ws:?}");
    assert!(ws[0].starts_with("nothing-placed: "), "{ws:?}");
    // Records judged: neither.
    let (ws, _) = codes(&["replay", "scenario.toml", "flowlogs/oke-demo.jsonl"]);
    assert!(!ws.iter().any(|w| w.contains("nothing")), "{ws:?}");
}

/// Every flow-log form whose first key is `data`, as docs/flow-logs.md
/// lists them, is read as the flow log it is: `oci logging-search
/// search-logs` output (keys sorted, as the CLI prints them, and not), the
/// lines of `jq -c '.data.results[]'`, and bare `logContent` entries whose
/// record's keys come in another order. Each was refused as "an OCI CLI
/// output" (exit 2): the check that tells an export file from flow logs
/// looked only at the record's first key.
///
/// Found by the twenty-seventh session's QA (a regression of `562c2be`).
#[test]
fn every_flow_log_form_starting_with_data_is_read_as_flow_logs() {
    let lines = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let entries: Vec<serde_json::Value> = std::fs::read_to_string(&lines)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let wrapped: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| serde_json::json!({ "data": e }))
        .collect();
    // A bare `logContent` whose record's keys are written last to first
    // (`version` .. `action`), by hand: serde_json sorts a map's keys.
    let reordered: String = entries
        .iter()
        .map(|e| {
            let content = e["logContent"].as_object().unwrap();
            let record = content["data"].as_object().unwrap();
            let data: Vec<String> = record
                .iter()
                .rev()
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(k.as_str())))
                .collect();
            let rest: Vec<String> = content
                .iter()
                .filter(|(k, _)| k.as_str() != "data")
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(k.as_str())))
                .collect();
            format!("{{\"data\":{{{}}},{}}}\n", data.join(","), rest.join(","))
        })
        .collect();
    let forms: [(&str, String); 4] = [
        (
            "search-sorted.json",
            serde_json::to_string_pretty(&serde_json::json!({ "data": {
                "fields": null,
                "results": wrapped,
                "summary": { "field-count": null, "result-count": wrapped.len() },
            }}))
            .unwrap(),
        ),
        (
            // The order the API gives: `results` first.
            "search.json",
            format!(
                "{{\"data\": {{\"results\": {}}}}}",
                serde_json::to_string(&wrapped).unwrap()
            ),
        ),
        (
            "jq-c.jsonl",
            wrapped.iter().map(|w| format!("{w}\n")).collect(),
        ),
        ("bare-reordered.jsonl", reordered),
    ];
    let dir = tempfile::tempdir().unwrap();
    let scenario = "examples/oke-orders/scenario.toml";
    let want = report_of(scenario, &lines);
    assert!(want["flow_log"]["judged"].as_u64().unwrap() > 0);
    for (name, text) in forms {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let got = report_of(scenario, &path);
        for key in ["packets", "dropped_by_stage", "flows"] {
            assert_eq!(got[key], want[key], "{name}: {key}");
        }
        for key in ["records", "judged", "skipped_nodata", "agreement"] {
            assert_eq!(got["flow_log"][key], want["flow_log"][key], "{name}: {key}");
        }
    }
}
