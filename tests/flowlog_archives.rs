//! Flow logs as OCI archives them in Object Storage: two downloads of one
//! bucket (an object still being written), quality entries read twice or
//! past their bound, long-lived flows across out-of-order files, and a
//! flow log of another tenancy.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use crate::support::{Run, diff_run, root, run_in, zprsim};

/// A bucket of flow logs as `oci os object bulk-download` leaves it:
/// Connector Hub objects (`<connector OCID>/<start>_<end>.<n>.log.gz`,
/// gzip of JSON lines) of the OKE example's log, the last still being
/// written (cut inside its gzip member), and a second download of the
/// same bucket beside it with that object whole.
fn two_downloads(dir: &Path) -> (PathBuf, PathBuf) {
    use std::io::Write;
    let log = std::fs::read_to_string(root().join("examples/oke-orders/flowlogs/oke-demo.jsonl"))
        .unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let gz = |part: &[&str]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for l in part {
            writeln!(e, "{l}").unwrap();
        }
        e.finish().unwrap()
    };
    let names = [
        "20240301T085800Z_20240301T090000Z.0.log.gz",
        "20240301T090000Z_20240301T090200Z.0.log.gz",
        "20240301T090200Z_20240301T090400Z.0.log.gz",
        "20240301T090400Z_20240301T090600Z.0.log.gz",
    ];
    let mut roots = Vec::new();
    for d in ["download-1", "download-2"] {
        let at = dir
            .join(d)
            .join("flowlogs/ocid1.serviceconnector.oc1.iad.aaaa");
        std::fs::create_dir_all(&at).unwrap();
        for (i, chunk) in lines.chunks(lines.len().div_ceil(4)).enumerate() {
            let mut bytes = gz(chunk);
            if d == "download-1" && i == 3 {
                bytes.truncate(bytes.len() / 2);
            }
            std::fs::write(at.join(names[i]), bytes).unwrap();
        }
        roots.push(dir.join(d));
    }
    (roots[0].clone(), roots[1].clone())
}

/// Check 3: `replay` and `diff` on two downloads of one bucket of flow logs
/// (one object cut, still being written in the first) judge every record
/// once: the same packets, verdicts, agreement and classes as the one log
/// they were cut from, with a warning naming the cut object and one
/// counting the duplicates (77 judged, 65 duplicates skipped: the 64 data
/// records and, since the next test's fix, the NODATA entry).
///
/// Found by QA round fifteen (twentieth session, branch s22-qa).
#[test]
fn two_downloads_of_a_bucket_judge_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let (d1, d2) = two_downloads(dir.path());
    let one = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let scenario = root().join("examples/oke-orders/scenario.toml");
    let proposed = root().join("examples/oke-orders/proposed.toml");
    let replay = |inputs: &[&Path], report: &Path| -> (i32, String, Value) {
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(dir.path())
            .arg("replay")
            .arg(&scenario)
            .args(inputs)
            .arg("--quiet")
            .arg("--report")
            .arg(report)
            .output()
            .unwrap();
        let r = serde_json::from_str(&std::fs::read_to_string(report).unwrap_or_default())
            .unwrap_or(Value::Null);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            r,
        )
    };
    let (c1, _, whole) = replay(&[&one], &dir.path().join("a.json"));
    let (c2, err, both) = replay(&[&d1, &d2], &dir.path().join("b.json"));
    assert_eq!((c1, c2), (0, 0), "{err}");
    for k in ["packets", "bytes", "dropped_by_stage", "flows"] {
        assert_eq!(whole[k], both[k], "{k}");
    }
    for k in ["judged", "agreement", "unplaced", "disagreements_total"] {
        assert_eq!(whole["flow_log"][k], both["flow_log"][k], "flow_log.{k}");
    }
    assert!(err.contains("download-1/flowlogs/ocid1.serviceconnector.oc1.iad.aaaa/20240301T090400Z_20240301T090600Z.0.log.gz:6: the gzip stream ends early"), "{err}");
    assert!(
        err.contains("flow-log entries skipped: an earlier entry has the same `id`"),
        "{err}"
    );
    // diff on the two downloads: the classes of diff on the one log.
    let a = diff_run(dir.path(), &scenario, &proposed, &[&one], &["--quiet"]);
    let b = diff_run(dir.path(), &scenario, &proposed, &[&d1, &d2], &["--quiet"]);
    assert_eq!((a.code, b.code), (1, 1), "{}", b.stderr);
    assert_eq!(a.report["flows"], b.report["flows"]);
    assert_eq!(a.report["packets"], b.report["packets"]);
    let key = |r: &Run| -> BTreeSet<String> {
        r.flows
            .iter()
            .map(|f| format!("{} {}", f["community_id"], f["class"]))
            .collect()
    };
    assert_eq!(key(&a), key(&b));
}

/// Check 3, the quality entries: a NODATA or SKIPDATA entry read twice (two
/// downloads of a bucket, a `.jsonl` beside its `.gz`) was counted twice,
/// where docs/flow-logs.md says an entry whose `id` and `startTime` an
/// earlier entry had is skipped and counted in `skipped_duplicate`: two
/// copies of the OKE log gave 2 NODATA, 2 SKIPDATA and 78 duplicates (of 80
/// entries), and the warning named the first data duplicate (line 2), not
/// the first duplicate (line 1). Data records are found again in the spool
/// one second at a time; quality entries never reach it, so the reading
/// keeps their keys (at most `MAX_QUALITY_IDS`). `replay` and `diff`.
///
/// Found by QA round fifteen (twentieth session, branch s22-qa).
#[test]
fn a_quality_entry_read_twice_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let copy = dir.path().join("copy.jsonl");
    std::fs::copy(&log, &copy).unwrap();
    let report = dir.path().join("r.json");
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .arg("replay")
        .arg(root().join("examples/oke-orders/scenario.toml"))
        .arg(&log)
        .arg(&copy)
        .arg("--quiet")
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("copy.jsonl:1: 80 flow-log entries skipped"),
        "{err}"
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let f = &r["flow_log"];
    let counts = |f: &Value| {
        (
            f["records"].clone(),
            f["skipped_nodata"].clone(),
            f["skipped_skipdata"].clone(),
            f["skipped_duplicate"].clone(),
        )
    };
    let want = (
        Value::from(160),
        Value::from(1),
        Value::from(1),
        Value::from(80),
    );
    assert_eq!(counts(f), want, "{f:#}");
    // diff counts them alike.
    let oke = root().join("examples/oke-orders/scenario.toml");
    let proposed = root().join("examples/oke-orders/proposed.toml");
    let d = diff_run(dir.path(), &oke, &proposed, &[&log, &copy], &["--quiet"]);
    assert_eq!(d.code, 1, "{}", d.stderr);
    assert_eq!(counts(&d.report["flow_log"]), want, "{:#}", d.report);
}

/// One OCI flow-log data entry (JSON line) of a TCP record logged at
/// `vnic`, its window the minute from `start`.
fn log_entry(
    n: u64,
    start: u64,
    (src, sport): (&str, u16),
    (dst, dport): (&str, u16),
    vnic: &str,
) -> String {
    serde_json::json!({
        "datetime": start * 1000,
        "logContent": {
            "data": {
                "action": "ACCEPT", "bytesOut": 100, "destinationAddress": dst,
                "destinationPort": dport, "endTime": start + 59, "flowid": format!("{n:08x}"),
                "packets": 1, "protocol": 6, "protocolName": "TCP", "sourceAddress": src,
                "sourcePort": sport, "startTime": start, "status": "OK", "version": "2"
            },
            "id": format!("00000000-0000-4000-8000-{n:012}"),
            "oracle": {"vnicocid": vnic, "vnicsubnetocid": ""},
            "source": "-", "specversion": "1.0", "time": "2024-03-01T09:00:00.000Z",
            "type": "com.oraclecloud.vcn.flowlogs.DataEvent"
        }
    })
    .to_string()
}

/// Journey (b): a node's connection to the API endpoint logged for 30
/// hours, a record an hour at both ends in both directions, the later
/// half in a file given first (records out of order across files); and
/// two connections whose API side answers once more after a silence: 21
/// hours after its last record (within the day of TCP's established
/// timeout, docs/flow-logs.md "Tracking across records": a reply,
/// allowed) and 25 hours after (past it: judged as a first packet, which
/// ZPR drops at the API's egress check, as `explain` says of it). Every
/// record's judgement is the same as with all of them in one file in
/// order. Held on main (this session's QA); kept as a regression test.
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
fn long_lived_flows_across_out_of_order_files_keep_their_replies_for_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (node, api) = ("10.0.2.11", "10.0.0.5");
    let (node_id, api_id) = (
        "ocid1.vnic.oc1.iad.okeordersworker1",
        "ocid1.vnic.oc1.iad.okeordersk8sapiendpoint",
    );
    let t0 = 1_709_283_600u64;
    let mut n = 0;
    let mut entries: Vec<(u64, String)> = Vec::new();
    let mut conn =
        |hours: &[u64], replies_only: &[u64], sport: u16, entries: &mut Vec<(u64, String)>| {
            for &h in hours.iter().chain(replies_only) {
                let t = t0 + h * 3600;
                let fwd = !replies_only.contains(&h);
                for (from, to, vnic, is_fwd) in [
                    ((node, sport), (api, 6443), node_id, true),
                    ((node, sport), (api, 6443), api_id, true),
                    ((api, 6443), (node, sport), api_id, false),
                    ((api, 6443), (node, sport), node_id, false),
                ] {
                    if is_fwd && !fwd {
                        continue;
                    }
                    n += 1;
                    entries.push((t, log_entry(n, t, from, to, vnic)));
                }
            }
        };
    conn(&(0..30).collect::<Vec<_>>(), &[], 45000, &mut entries);
    conn(&[0, 1, 2], &[23], 46000, &mut entries);
    conn(&[0, 1, 2], &[27], 46001, &mut entries);
    let lines = |keep: &dyn Fn(u64) -> bool| -> String {
        entries
            .iter()
            .filter(|(t, _)| keep(*t))
            .map(|(_, e)| format!("{e}\n"))
            .collect()
    };
    let half = t0 + 15 * 3600;
    std::fs::write(d.join("late.jsonl"), lines(&|t| t >= half)).unwrap();
    std::fs::write(d.join("early.jsonl"), lines(&|t| t < half)).unwrap();
    let mut sorted = entries.clone();
    sorted.sort_by_key(|(t, _)| *t);
    std::fs::write(
        d.join("inorder.jsonl"),
        sorted
            .iter()
            .map(|(_, e)| format!("{e}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let scenario = root().join("examples/oke-orders/scenario.toml");
    let run = |inputs: &[&str], tag: &str| -> Vec<Value> {
        let flows = format!("{tag}-flows.jsonl");
        let mut args = vec!["replay".to_string(), scenario.to_str().unwrap().to_string()];
        args.extend(inputs.iter().map(|s| s.to_string()));
        args.extend(["--flows".into(), flows.clone(), "--quiet".into()]);
        let o = run_in(d, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut v = crate::support::json_lines_of(&d.join(&flows));
        v.sort_by_key(|f| {
            (
                f["start_time"].as_u64(),
                f["vnic"].to_string(),
                f["src"].to_string(),
                f["sport"].as_u64(),
            )
        });
        v
    };
    let split = run(&["late.jsonl", "early.jsonl"], "split");
    let inorder = run(&["inorder.jsonl"], "inorder");
    let judged = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|f| {
                format!(
                    "{} {} {}:{} -> {}:{} {} {} {}",
                    f["start_time"],
                    f["vnic"],
                    f["src"],
                    f["sport"],
                    f["dst"],
                    f["dport"],
                    f["verdict"],
                    f["stage"],
                    f["reply"]
                )
            })
            .collect()
    };
    assert_eq!(judged(&split), judged(&inorder));
    assert_eq!(split.len(), 30 * 4 + 2 * (3 * 4 + 2));
    for f in &split {
        let late_reply = f["dport"] == 46001 && f["start_time"] == t0 + 27 * 3600;
        let day_reply = f["dport"] == 46000 && f["start_time"] == t0 + 23 * 3600;
        if late_reply {
            assert_eq!(
                (&f["verdict"], &f["stage"], &f["reply"]),
                (
                    &Value::from("drop"),
                    &Value::from("zpr"),
                    &Value::from(false)
                ),
                "{f}"
            );
        } else {
            assert_eq!(f["verdict"], "allow", "{f}");
        }
        if day_reply {
            assert_eq!(f["reply"], true, "{f}");
        }
    }
}

/// Planning item 5's other half: `quality-entries-unchecked` reached from
/// the CLI at the real bound (917,504; the CI test with the test-only
/// `ZPRSIM_TEST_MAX_QUALITY_IDS` knob is
/// `quality_entries_unchecked_from_the_cli_with_the_test_bound` below): this test pipes 917,505 NODATA entries (162 MB, written
/// as they are read, never on disk) into `replay -`: the report's warning
/// names line 917,505. 27-41 s in a debug build on a shared 2-core
/// machine (14 s of CPU), hence ignored in CI; the unit test
/// `flowlog::read::tests::past_the_quality_id_bound_one_warning_says_they_are_unchecked`
/// holds the rule with a bound of 2.
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
#[ignore = "slow: 917,505 entries through a pipe, 27-41 s in a debug build"]
fn quality_entries_unchecked_from_the_cli_through_a_pipe() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("zprsim"))
        .current_dir(dir.path())
        .args([
            "replay",
            root()
                .join("examples/oke-orders/scenario.toml")
                .to_str()
                .unwrap(),
            "-",
            "--report",
            "r.json",
            "--quiet",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = std::io::BufWriter::new(child.stdin.take().unwrap());
    for i in 0..917_505u64 {
        writeln!(
            stdin,
            r#"{{"logContent":{{"data":{{"status":"NODATA","startTime":1709283480,"endTime":1709283539,"version":"2"}},"id":"q{i}","oracle":{{"vnicocid":"ocid1.vnic.oc1.iad.okeordersworker2"}}}}}}"#
        )
        .unwrap();
    }
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    let w: Vec<&Value> = r["run_warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "quality-entries-unchecked")
        .collect();
    assert_eq!(w.len(), 1, "{r}");
    assert_eq!(w[0]["line"], 917_505);
}

/// Planning 5 (c): `quality-entries-unchecked` from the CLI in CI. The
/// test-only `ZPRSIM_TEST_MAX_QUALITY_IDS` lowers the bound of NODATA
/// and SKIPDATA keys (917,504) to 3: of 5 entries, the 4th is named, for
/// `replay` and `diff`; a copy of the file given too counts its first 3
/// entries once (found read twice) and the 2 past the bound twice
/// (unchecked): 7 NODATA, as docs/flow-logs.md says. Without the knob nothing
/// warns. (The full-size path stays in
/// `quality_entries_unchecked_from_the_cli_through_a_pipe` above,
/// ignored: 917,505 entries.)
///
/// Found by QA round seventeen (twenty-second session, branch s24-qa).
#[test]
fn quality_entries_unchecked_from_the_cli_with_the_test_bound() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut log = String::new();
    for i in 0..5 {
        log.push_str(&format!(
            r#"{{"logContent":{{"data":{{"status":"NODATA","startTime":1709283480,"endTime":1709283539,"version":"2"}},"id":"q{i}","oracle":{{"vnicocid":"ocid1.vnic.oc1.iad.okeordersworker2"}}}}}}"#
        ));
        log.push('\n');
    }
    std::fs::write(d.join("q.jsonl"), log).unwrap();
    let oke = root().join("examples/oke-orders/scenario.toml");
    let proposed = root().join("examples/oke-orders/proposed.toml");
    let run = |bound: Option<&str>, args: &[&str]| -> Value {
        let mut c = zprsim();
        c.current_dir(d).args(args);
        if let Some(b) = bound {
            c.env("ZPRSIM_TEST_MAX_QUALITY_IDS", b);
        } else {
            c.env_remove("ZPRSIM_TEST_MAX_QUALITY_IDS");
        }
        let o = c.output().unwrap();
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap()
    };
    let lines = |r: &Value| -> Vec<Value> {
        r["run_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["code"] == "quality-entries-unchecked")
            .map(|w| w["line"].clone())
            .collect()
    };
    let oke = oke.to_str().unwrap();
    let proposed = proposed.to_str().unwrap();
    let replay = ["replay", oke, "q.jsonl", "--report", "r.json", "--quiet"];
    let diff = ["diff", oke, proposed, "q.jsonl", "--report", "r.json"];
    for args in [&replay[..], &diff[..]] {
        assert_eq!(lines(&run(None, args)), Vec::<Value>::new(), "{args:?}");
        assert_eq!(
            lines(&run(Some("3"), args)),
            vec![Value::from(4)],
            "{args:?}"
        );
        // A bound above the default, or not a number, changes nothing.
        assert_eq!(
            lines(&run(Some("x"), args)),
            Vec::<Value>::new(),
            "{args:?}"
        );
    }
    std::fs::copy(d.join("q.jsonl"), d.join("copy.jsonl")).unwrap();
    let twice = run(
        Some("3"),
        &[
            "replay",
            oke,
            "q.jsonl",
            "copy.jsonl",
            "--report",
            "r.json",
            "--quiet",
        ],
    );
    assert_eq!(lines(&twice), vec![Value::from(4)], "{twice}");
    let f = &twice["flow_log"];
    assert_eq!(
        (&f["skipped_nodata"], &f["skipped_duplicate"]),
        (&Value::from(7), &Value::from(3)),
        "{twice}"
    );
}

/// Journey (c): a flow-log file of another tenancy (the demo log with
/// every VNIC OCID changed, so no record is at a VNIC of the scenario).
/// `replay` warns `nothing-placed` ("nothing was judged"); `diff` said
/// only "diffed 0 flow-log record(s)" and "(78 unplaced)" in its summary,
/// with no run warning, and exited 0: its `--fail-on would-break` gate
/// passed on nothing without a word. Since the twenty-second session it
/// gives the same `nothing-placed` warning, on stderr and in the report.
///
/// Found by QA round seventeen (twenty-second session, branch s24-qa).
#[test]
fn diff_on_a_flow_log_of_another_tenancy_says_nothing_was_judged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let oke = root().join("examples/oke-orders");
    let log = std::fs::read_to_string(oke.join("flowlogs/oke-demo.jsonl")).unwrap();
    std::fs::write(
        d.join("other.jsonl"),
        log.replace("okeorders", "othertenancy"),
    )
    .unwrap();
    let s = oke.join("scenario.toml");
    let p = oke.join("proposed.toml");
    let mut argss: Vec<Vec<&std::ffi::OsStr>> = vec![vec![
        "replay".as_ref(),
        s.as_os_str(),
        "other.jsonl".as_ref(),
        "--report".as_ref(),
        "r.json".as_ref(),
        "--quiet".as_ref(),
    ]];
    argss.push(vec![
        "diff".as_ref(),
        s.as_os_str(),
        p.as_os_str(),
        "other.jsonl".as_ref(),
        "--report".as_ref(),
        "r.json".as_ref(),
    ]);
    for args in argss {
        let o = zprsim().current_dir(d).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {stderr}");
        let r: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
        let codes: Vec<&Value> = r["run_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| &w["code"])
            .collect();
        assert!(
            codes.contains(&&Value::from("nothing-placed")),
            "{args:?}: {codes:?}"
        );
        assert!(
            stderr
                .contains("none of the 78 flow-log record(s) was placed at a VNIC of the scenario"),
            "{args:?}: {stderr}"
        );
    }
}
