//! A rollout engineer's week: the import -> policy -> check -> diff ->
//! verify -> explain loop scripted in CI, with pipes and exit codes. Each
//! test runs the binary the way a script does and asserts what the script
//! relies on (the exit status, the files it reads afterwards).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use zprsim_dataplane::capture::Capture;
use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};

const SCENARIO: &str = "examples/oke-orders/scenario.toml";
const PROPOSED: &str = "examples/oke-orders/proposed.toml";
const FLOW_LOG: &str = "examples/oke-orders/flowlogs/oke-demo.jsonl";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn zprsim() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"));
    c.current_dir(root());
    c
}

/// The OKE demo capture repeated `copies` times, each copy 100,000 s after
/// the last so every copy opens new flows.
fn big_capture(path: &Path, copies: u64) {
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

/// The OKE flow log repeated `copies` times (the same records again: enough
/// lines to fill any pipe).
fn big_flow_log(path: &Path, copies: usize) {
    let one = std::fs::read_to_string(root().join(FLOW_LOG)).unwrap();
    // Each copy's entries get ids of their own: entries with the same id
    // are the same entry read twice, and would be skipped.
    let all: String = (0..copies)
        .map(|k| one.replace("\"id\":\"", &format!("\"id\":\"{k}-")))
        .collect();
    std::fs::write(path, all).unwrap();
}

/// Spawns `zprsim ARGS` with standard output piped, reads one line of it,
/// closes the pipe (`| head -1`) and waits: the line, the exit code and
/// standard error.
fn first_line_then_close(args: &[&str]) -> (String, Option<i32>, String) {
    let mut child: Child = zprsim()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    drop(lines);
    let o = child.wait_with_output().unwrap();
    (
        first,
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `| head -1` on a JSON output must not change the exit status a CI gate
/// reads, nor cost the run's other outputs: the reader leaving is not the
/// answer to "did anything drop / break".
#[test]
fn a_closed_output_pipe_keeps_the_exit_status_and_the_other_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pcap");
    big_capture(&big, 200);
    let big = big.to_str().unwrap();
    let report = dir.path().join("r.json");
    let report_s = report.to_str().unwrap();

    // replay --fail-on-drop: the demo drops packets, so exit 1 whoever
    // reads the flow lines; the report file is written in full.
    let (first, code, err) = first_line_then_close(&[
        "replay",
        SCENARIO,
        big,
        "--flows",
        "-",
        "--report",
        report_s,
        "--quiet",
        "--fail-on-drop",
    ]);
    assert!(serde_json::from_str::<Value>(&first).is_ok(), "{first}");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.is_empty(), "{err}");
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["packets"]["total"], 188 * 200);
    assert_eq!(r["interrupted"], false);
    assert!(r["stopped_by"].is_null(), "{r}");
    std::fs::remove_file(&report).unwrap();

    // diff: flows would break, so exit 1 (the default --fail-on).
    let (first, code, err) = first_line_then_close(&[
        "diff", SCENARIO, PROPOSED, big, "--flows", "-", "--report", report_s, "--quiet",
    ]);
    assert!(serde_json::from_str::<Value>(&first).is_ok(), "{first}");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.is_empty(), "{err}");
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["packets"]["total"], 188 * 200);
    std::fs::remove_file(&report).unwrap();
}

#[test]
fn a_closed_output_pipe_ends_a_flow_log_run_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.jsonl");
    big_flow_log(&big, 100);
    let big = big.to_str().unwrap();
    let report = dir.path().join("r.json");
    let report_s = report.to_str().unwrap();

    // `replay FLOWLOG --flows - | head -1`: one line per judged record.
    let (first, code, err) =
        first_line_then_close(&["replay", SCENARIO, big, "--flows", "-", "--quiet"]);
    assert!(serde_json::from_str::<Value>(&first).is_ok(), "{first}");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");

    // With --fail-on-drop and a report beside it: exit 1, report written.
    let (_, code, err) = first_line_then_close(&[
        "replay",
        SCENARIO,
        big,
        "--flows",
        "-",
        "--report",
        report_s,
        "--quiet",
        "--fail-on-drop",
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.is_empty(), "{err}");
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["flow_log"]["records"], 80 * 100);
}

/// A day of Connector Hub objects fetched with a glob: a window with no
/// traffic gives an empty object (or a gzip of nothing, or blank lines).
/// Beside flow logs it is a flow-log file with no records, not "a capture".
#[test]
fn an_empty_file_among_flow_logs_is_a_flow_log_with_no_records() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, b"").unwrap();
    let blank = dir.path().join("blank.log");
    std::fs::write(&blank, b"\n  \r\n\n").unwrap();
    let gz = dir.path().join("nothing.log.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, b"").unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let (empty, blank, gz) = (
        empty.to_str().unwrap(),
        blank.to_str().unwrap(),
        gz.to_str().unwrap(),
    );
    let inputs = [empty, FLOW_LOG, blank, gz];
    // replay --fail-on-drop and diff (default --fail-on would-break): both
    // find what they check for in the OKE flow log, so exit 1.
    let replay = [&["replay", SCENARIO][..], &inputs, &["--fail-on-drop"]].concat();
    let diff = [&["diff", SCENARIO, PROPOSED][..], &inputs].concat();
    for args in [replay, diff] {
        let o = zprsim()
            .args(&args)
            .args(["--report", "-", "--quiet"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{}: {err}", args[0]);
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["flow_log"]["records"], 80, "{}", args[0]);
    }
    // Alone, an empty file is still refused (nothing says what it is).
    let o = zprsim()
        .args(["replay", SCENARIO])
        .arg(empty)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// `diff --flows` lines, by (src, dst, sport, dport).
fn diff_flow_lines(input: &str) -> std::collections::BTreeMap<String, Value> {
    let o = zprsim()
        .args(["diff", SCENARIO, PROPOSED, input, "--flows", "-", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                format!("{} {} {} {}", v["src"], v["dst"], v["sport"], v["dport"]),
                v,
            )
        })
        .collect()
}

/// A script reads `diff --flows` the same way whatever the input: the
/// contract's fields (the replay flow fields plus `class`, `before`,
/// `after`) with the same types and units. On flow logs `first_ts` was
/// nanoseconds (1709283610000000000, beyond what a JSON double holds
/// exactly) where captures give seconds, and `verdict`, `stage`,
/// `allowed_packets`, `dropped_packets` and `community_id` were missing.
#[test]
fn diff_flow_lines_have_the_same_fields_on_flow_logs_and_captures() {
    let pcap = diff_flow_lines("pcaps/oke-demo.pcap");
    let logs = diff_flow_lines(FLOW_LOG);
    assert_eq!(
        pcap.keys().collect::<Vec<_>>(),
        logs.keys().collect::<Vec<_>>()
    );
    for (k, p) in &pcap {
        let l = &logs[k];
        for field in p.as_object().unwrap().keys() {
            assert!(
                l.get(field).is_some(),
                "{k}: flow-log line lacks `{field}`: {l}"
            );
        }
        // Records have whole seconds: the second the capture's flow began.
        let (lt, pt) = (
            l["first_ts"].as_f64().unwrap(),
            p["first_ts"].as_f64().unwrap(),
        );
        assert_eq!(lt, pt.floor(), "{k}");
        for field in ["class", "verdict", "stage", "community_id", "proto"] {
            assert_eq!(l[field], p[field], "{k}: {field}");
        }
        // The first packet's verdict is the before side's.
        assert_eq!(l["verdict"], l["before"]["verdict"], "{k}");
        assert_eq!(l["allowed_packets"], l["before"]["allowed_packets"], "{k}");
    }
}

/// `replay --flows` on flow logs: one line per record (docs/flow-logs.md),
/// with the contract's flow fields beside the record's own, so a script's
/// `select(.verdict == "drop")` or join on `community_id` works whatever
/// the input. They were missing: such a filter silently matched nothing.
#[test]
fn flow_log_replay_lines_carry_the_contracts_flow_fields() {
    let lines = |input: &str| -> Vec<Value> {
        let o = zprsim()
            .args(["replay", SCENARIO, input, "--flows", "-", "--quiet"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        crate::support::json_values(&String::from_utf8(o.stdout).unwrap())
    };
    let pcap = lines("pcaps/oke-demo.pcap");
    let ids: std::collections::BTreeMap<String, Value> = pcap
        .iter()
        .map(|v| {
            (
                format!("{} {} {} {}", v["src"], v["dst"], v["sport"], v["dport"]),
                v["community_id"].clone(),
            )
        })
        .collect();
    let logs = lines(FLOW_LOG);
    assert_eq!(logs.len(), 77);
    let mut joined = 0;
    let mut portless = 0;
    for l in &logs {
        for field in [
            "src",
            "dst",
            "proto",
            "sport",
            "dport",
            "icmp_type",
            "icmp_code",
            "first_ts",
            "packets",
            "bytes",
            "allowed_packets",
            "dropped_packets",
            "verdict",
            "stage",
            "community_id",
        ] {
            assert!(l.get(field).is_some(), "lacks `{field}`: {l}");
        }
        // Ports as captures write them: numbers for TCP and UDP, null for
        // protocols without ports (the contract's `--flows`).
        let ports = matches!(l["proto"].as_u64(), Some(6 | 17));
        assert_eq!(l["sport"].is_u64(), ports, "{l}");
        assert_eq!(l["dport"].is_null(), !ports, "{l}");
        portless += usize::from(!ports);
        assert_eq!(l["verdict"], l["simulated"]["verdict"], "{l}");
        assert_eq!(l["stage"], l["simulated"]["stage"], "{l}");
        assert_eq!(l["first_ts"].as_f64(), l["start_time"].as_f64(), "{l}");
        let (a, d) = (l["allowed_packets"].as_u64(), l["dropped_packets"].as_u64());
        assert_eq!(
            a.unwrap() + d.unwrap(),
            l["packets"].as_u64().unwrap(),
            "{l}"
        );
        assert_eq!(a.unwrap() > 0, l["verdict"] == "allow", "{l}");
        if let Some(id) = ids.get(&format!(
            "{} {} {} {}",
            l["src"], l["dst"], l["sport"], l["dport"]
        )) {
            assert_eq!(&l["community_id"], id, "{l}");
            joined += 1;
        }
    }
    assert!(joined > 20, "{joined} records joined a capture flow");
    assert!(portless > 0, "no ICMP record in {FLOW_LOG}");
}

/// `oci ... list` without `--all` prints one page and `opc-next-page`.
/// A ZPR policy list cut that way imports without a dangling reference
/// (nothing points at a policy): the scenario silently lacks policies and
/// every `diff` against it is wrong. The importer says so.
#[test]
fn import_warns_about_an_export_of_one_page_of_a_longer_list() {
    let mut files = crate::support::oke_export();
    let clean = zprsim_control::import::oci::import(&files, None).unwrap();
    assert!(
        !clean.warnings.iter().any(|w| w.contains("opc-next-page")),
        "{:?}",
        clean.warnings
    );
    for (name, next) in [
        ("zpr-zpr-policy-list.json", "opc-next-page"),
        ("network-nsg-list.json", "opcNextPage"),
    ] {
        let mut v: Value = serde_json::from_str(&files[name]).unwrap();
        v[next] = Value::from("AAAApage2");
        files.insert(name.to_owned(), v.to_string());
        let imported = zprsim_control::import::oci::import(&files, None).unwrap();
        assert!(
            imported
                .warnings
                .iter()
                .any(|w| w.contains(name) && w.contains("--all")),
            "{name}: {:?}",
            imported.warnings
        );
    }
}

/// The loop's last step on a flow-log diff: `explain --capture` given the
/// flow log. The gzip one was "gzip-compressed data ... decompress it
/// first (`zcat FILE > capture.pcap`)", advice that cannot work; both say
/// what the file is and what to do instead.
#[test]
fn explain_on_a_flow_log_says_it_is_one() {
    for input in [FLOW_LOG, "examples/oke-orders/flowlogs/oke-demo.jsonl.gz"] {
        let o = zprsim()
            .args(["explain", SCENARIO, "--capture", input, "--packet", "3"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("an OCI flow-log file"), "{err}");
        assert!(err.contains("--src"), "{err}");
        assert!(!err.contains("zcat"), "{err}");
    }
}

/// `diff BEFORE AFTER FLOWLOG` where AFTER's VNICs lack the `id`s the
/// records name (a hand-edited copy, a re-import that lost them): no record
/// was compared, and the gate said "0 would break", exit 0. Nothing
/// compared is bad input; some records placed by one side only is a
/// warning naming how many.
#[test]
fn a_flow_log_diff_whose_after_places_no_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let proposed = std::fs::read_to_string(root().join(PROPOSED)).unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::copy(
        root().join("examples/oke-orders/policies/orders.zpl"),
        dir.path().join("policies/orders.zpl"),
    )
    .unwrap();
    let without = |keep: &dyn Fn(&str) -> bool| -> String {
        proposed
            .lines()
            .filter(|l| !l.starts_with("id = \"ocid1.vnic.") || keep(l))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let no_ids = dir.path().join("no-ids.toml");
    std::fs::write(&no_ids, without(&|_| false)).unwrap();
    let o = zprsim()
        .args(["diff", SCENARIO])
        .arg(&no_ids)
        .args([FLOW_LOG, "--quiet"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no-ids.toml") && err.contains("`id`"), "{err}");

    // One VNIC's id gone (worker-2): the rest is compared, with a warning.
    let one = dir.path().join("one.toml");
    std::fs::write(&one, without(&|l| !l.contains("okeordersworker2"))).unwrap();
    let o = zprsim()
        .args(["diff", SCENARIO])
        .arg(&one)
        .args([FLOW_LOG, "--quiet", "--report", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let warned = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("placed by BEFORE only"));
    assert!(warned, "{}", r["warnings"]);
    assert!(err.contains("placed by BEFORE only"), "{err}");
}

/// The same for `replay`: a scenario without the VNIC `id`s judged none of
/// the records, and `--fail-on-drop` passed (exit 0, nothing on stderr
/// with `--quiet`).
#[test]
fn a_flow_log_replay_that_places_no_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let scenario: String = std::fs::read_to_string(root().join(SCENARIO))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("id = \"ocid1.vnic."))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = dir.path().join("no-ids.toml");
    std::fs::write(&path, scenario).unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::copy(
        root().join("examples/oke-orders/policies/orders.zpl"),
        dir.path().join("policies/orders.zpl"),
    )
    .unwrap();
    let o = zprsim()
        .arg("replay")
        .arg(&path)
        .args([FLOW_LOG, "--quiet", "--fail-on-drop"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("places none of the 78"), "{err}");
    // With ids, records of VNICs outside the scenario are unplaced: a
    // warning (even with --quiet) when none was placed, exit 0.
    let other = dir.path().join("other.jsonl");
    let line = std::fs::read_to_string(root().join(FLOW_LOG))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .replace("okeordersworker1", "elsewhere");
    std::fs::write(&other, line).unwrap();
    let o = zprsim()
        .args(["replay", SCENARIO])
        .arg(&other)
        .args(["--quiet", "--fail-on-drop"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("nothing was judged"), "{err}");
    // A log of nothing but NODATA records is no such case.
    let nodata = dir.path().join("nodata.jsonl");
    let first = std::fs::read_to_string(root().join(FLOW_LOG)).unwrap();
    std::fs::write(&nodata, first.lines().next().unwrap()).unwrap();
    let o = zprsim()
        .arg("replay")
        .arg(&path)
        .arg(&nodata)
        .args(["--quiet", "--fail-on-drop"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A Connector Hub object cut by an interrupted download: the gzip stream
/// ends early. As for a capture that ends inside a record, that is a
/// warning naming the file, and the whole lines before the cut count; it
/// failed the whole run (exit 2, no report) over one bad object of a day.
#[test]
fn a_cut_gzip_flow_log_is_a_warning_and_its_lines_before_the_cut_count() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join(FLOW_LOG))
        .unwrap()
        .repeat(50);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut e, text.as_bytes()).unwrap();
    let gz = e.finish().unwrap();
    let cut = dir.path().join("cut.log.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let o = zprsim()
        .args(["replay", SCENARIO])
        .arg(&cut)
        .args([FLOW_LOG, "--quiet", "--report", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let records = r["flow_log"]["records"].as_u64().unwrap();
    // Some of the cut file's 4,000 lines, and all 80 of the whole one.
    assert!(records > 80 + 100 && records < 80 + 4000, "{records}");
    assert_eq!(
        r["flow_log"]["skipped_malformed"], 0,
        "a cut line is no record"
    );
    let warned = r["warnings"].as_array().unwrap().iter().any(|w| {
        w.as_str().unwrap().contains("cut.log.gz") && w.as_str().unwrap().contains("ends early")
    });
    assert!(warned, "{}", r["warnings"]);
    assert!(err.contains("ends early"), "{err}");
}

/// The flow-log diff's summary names protocols as every other summary
/// does (`tcp`), not `proto 6`.
#[test]
fn the_flow_log_diff_summary_names_the_protocol() {
    let o = zprsim()
        .args(["diff", SCENARIO, PROPOSED, FLOW_LOG])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("would break: tcp 10.0.20.10:44100 -> 10.0.10.11:8080"),
        "{out}"
    );
    assert!(!out.contains("proto 6"), "{out}");
}

/// `explain`'s layer lines end without blanks (the ZPR line had 11
/// trailing spaces), so `grep -x`, `diff` and editors see what is shown.
#[test]
fn explain_lines_have_no_trailing_blanks() {
    let o = zprsim()
        .args([
            "explain",
            SCENARIO,
            "--src",
            "10.0.10.21",
            "--dst",
            "10.0.30.10",
        ])
        .args(["--proto", "tcp", "--dport", "2049"])
        .output()
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("\n  zpr               MISSING_POLICY\n"),
        "{out}"
    );
    for l in out.lines() {
        assert_eq!(l, l.trim_end(), "{out}");
    }
}

/// A disagreement or an unplaced record names the VNIC by its OCID
/// (`vnic_id`), and so does the console: `explain --src OCID` takes it as
/// the scenario's own references do (by name or id).
#[test]
fn explain_takes_a_vnic_by_its_ocid() {
    let run = |src: &str| {
        zprsim()
            .args(["explain", SCENARIO, "--src", src, "--dst", "10.0.0.5"])
            .args(["--proto", "tcp", "--dport", "6443", "--json"])
            .output()
            .unwrap()
    };
    let by_name = run("worker-1");
    let by_id = run("ocid1.vnic.oc1.iad.okeordersworker1");
    assert_eq!(
        by_id.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&by_id.stderr)
    );
    assert_eq!(by_id.stdout, by_name.stdout);
    let nothing = run("ocid1.vnic.oc1.iad.nosuch");
    let err = String::from_utf8_lossy(&nothing.stderr);
    assert_eq!(nothing.status.code(), Some(2));
    assert!(
        err.contains("no VNIC is named `ocid1.vnic.oc1.iad.nosuch`"),
        "{err}"
    );
}

/// `verify`'s `vnic:`, `subnet:` and `nsg:` selectors take the object's id
/// (OCID) too, as the scenario's own references do: an imported tenancy's
/// expectations can be written from the console's OCIDs.
#[test]
fn verify_selectors_take_an_ocid() {
    let dir = tempfile::tempdir().unwrap();
    let imported = dir.path().join("imported.toml");
    let o = zprsim()
        .args(["import", "oci", "examples/oke-orders/oci-export", "-o"])
        .arg(&imported)
        .args([
            "--services",
            "examples/oke-orders/oci-public-ip-ranges.json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&imported).unwrap();
    let id_of = |kind: &str, name: &str| -> String {
        // The `id` line of the `[[kind]]` table whose name is `name`.
        let at = text
            .split(&format!("[[{kind}]]\n"))
            .find(|t| t.contains(&format!("name = \"{name}\"\n")))
            .unwrap();
        at.lines()
            .find_map(|l| l.strip_prefix("id = \""))
            .unwrap()
            .trim_end_matches('"')
            .to_owned()
    };
    let expect = |from: &str, to: &str| {
        format!(
            "[[path]]\nname = \"p\"\nfrom = \"{from}\"\nto = \"{to}\"\nproto = \"tcp\"\ndport = 6443\nexpect = \"allow\"\n"
        )
    };
    let run = |body: String| {
        let p = dir.path().join("e.toml");
        std::fs::write(&p, body).unwrap();
        let o = zprsim()
            .arg("verify")
            .arg(&imported)
            .arg(&p)
            .arg("--json")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(0), "{err}");
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        v["paths"][0]["pairs"].clone()
    };
    let by_name = run(expect("subnet:workers", "vnic:k8s-api-endpoint"));
    let by_id = run(expect(
        &format!("subnet:{}", id_of("subnet", "workers")),
        &format!("vnic:{}", id_of("vnic", "k8s-api-endpoint")),
    ));
    assert_eq!(by_id, by_name);
    let by_nsg = run(expect(
        &format!("nsg:{}", id_of("nsg", "nodes-nsg")),
        "vnic:k8s-api-endpoint",
    ));
    assert_eq!(
        by_nsg,
        run(expect("nsg:nodes-nsg", "vnic:k8s-api-endpoint"))
    );
}

/// `import oci DIR -o scenario.json` wrote TOML into a file every other
/// command reads as JSON (by its name): `check` then failed at 1:1 with
/// "expected value". Refused before anything is read or written.
#[test]
fn import_refuses_a_json_name_for_its_toml_output() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["scenario.json", "S.JSON"] {
        let out = dir.path().join(name);
        let o = zprsim()
            .args(["import", "oci", "examples/oke-orders/oci-export", "-o"])
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(".toml"), "{err}");
        assert!(!out.exists());
    }
}

/// The scenario's own warnings reach the JSON report of `replay` (on a
/// capture and on flow logs) and of `diff`, as `check --json` gives them:
/// a CI job that keeps only the report sees them.
#[test]
fn reports_carry_the_scenarios_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let warn = "examples/docs/warn.toml";
    let json = |args: &[&str]| -> Value {
        let report = dir.path().join("r.json");
        let o = zprsim()
            .args(args)
            .arg("--report")
            .arg(&report)
            .arg("--quiet")
            .output()
            .unwrap();
        assert!(o.status.code().is_some_and(|c| c < 2), "{args:?}: {o:?}");
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap()
    };
    let check = zprsim().args(["check", warn, "--json"]).output().unwrap();
    let expected: Value = serde_json::from_slice(&check.stdout).unwrap();
    let expected = &expected["warnings"];
    assert!(
        expected.as_array().is_some_and(|w| w.len() >= 3),
        "{expected}"
    );
    let r = json(&["replay", warn, "pcaps/oke-demo.pcap"]);
    assert_eq!(&r["scenario_warnings"], expected);
    let r = json(&["diff", warn, warn, "pcaps/oke-demo.pcap"]);
    let one = expected.as_array().unwrap();
    let both: Vec<Value> = one.iter().chain(one).cloned().collect();
    assert_eq!(r["scenario_warnings"], Value::Array(both.clone()));
    let r = json(&["diff", warn, warn, FLOW_LOG]);
    assert_eq!(r["scenario_warnings"], Value::Array(both));
    // No warnings: an empty list, not a missing field.
    let r = json(&["replay", SCENARIO, FLOW_LOG]);
    assert_eq!(r["scenario_warnings"], Value::Array(Vec::new()));
}

/// `replay` of `input` (a capture or a flow log) with `scenario` (a TOML
/// text) in a directory holding `zpl` as `policies/orders.zpl`: its
/// report.
fn replay_input_with(scenario: &str, zpl: &str, input: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::write(dir.path().join("scenario.toml"), scenario).unwrap();
    std::fs::write(dir.path().join("policies/orders.zpl"), zpl).unwrap();
    let o = zprsim()
        .arg("replay")
        .arg(dir.path().join("scenario.toml"))
        .arg(input)
        .arg("--report")
        .arg(dir.path().join("r.json"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap()
}

#[test]
fn replay_names_the_statements_that_keep_audited_flows_open_and_they_do() {
    keeps_audited_flows_open("pcaps/oke-demo.pcap");
}

#[test]
fn flow_log_replay_names_the_statements_that_keep_audited_flows_open_and_they_do() {
    keeps_audited_flows_open(FLOW_LOG);
}

fn keeps_audited_flows_open(input: &str) {
    // billing in audit mode: the demo's flows to and from billing would be
    // denied once enforced. replay names, per listed flow, the statement
    // that keeps it open, and the distinct statements; with them appended
    // to the policy file they name and billing enforced, exactly those
    // flows' packets stop being dropped at ZPR.
    let toml = std::fs::read_to_string(root().join(SCENARIO)).unwrap();
    let zpl =
        std::fs::read_to_string(root().join("examples/oke-orders/policies/orders.zpl")).unwrap();
    let enforce = "security_attributes = { app = { workload = { value = \"billing\" } } }";
    let audit =
        "security_attributes = { app = { workload = { value = \"billing\", mode = \"audit\" } } }";
    assert!(toml.contains(enforce));
    let r = replay_input_with(&toml.replacen(enforce, audit, 1), &zpl, input);
    let a = &r["zpr_audit_flows"];
    let listed = a["listed"].as_array().unwrap();
    assert!(!listed.is_empty());
    // A flow open today gets its statement; one another check already
    // drops gets none (there is nothing to keep open).
    let (mut audited, mut open, mut open_flows) = (0, 0, 0u64);
    for f in listed {
        let packets = f["packets"].as_u64().unwrap();
        audited += packets;
        match f["verdict"].as_str().unwrap() {
            "allow" => {
                assert!(f["to_keep_open"].is_string(), "{f}");
                open += packets;
                open_flows += 1;
            }
            _ => assert!(f.get("to_keep_open").is_none(), "{f}"),
        }
    }
    assert!(open_flows > 0 && open_flows < listed.len() as u64, "{a:#}");
    let statements = a["statements"].as_array().unwrap();
    let prefix = "zpr: add to ZPR policy `orders` (in ";
    let mut added = zpl.clone();
    for k in statements {
        let h = k["to_keep_open"].as_str().unwrap();
        assert!(h.starts_with(prefix), "{h}");
        let text = h.split_once(": \"").unwrap().1.strip_suffix('"').unwrap();
        added.push_str(&format!("{text}\n"));
    }
    let flows: u64 = statements
        .iter()
        .map(|k| k["flows"].as_u64().unwrap())
        .sum();
    assert_eq!(flows, open_flows);
    let zpr = |r: &Value| r["dropped_by_stage"]["zpr"].as_u64().unwrap();
    let before = replay_input_with(&toml, &zpl, input);
    let after = replay_input_with(&toml, &added, input);
    // Every audited packet is in a listed flow, and enforcing with the
    // statements drops none of those open today.
    assert_eq!(r["zpr_audit_would_drop"].as_u64().unwrap(), audited);
    assert_eq!(zpr(&before) - zpr(&after), open);
    // Nothing is audited any more: no flow, no statement.
    assert_eq!(after["zpr_audit_flows"]["total"], 0);
    assert_eq!(
        after["zpr_audit_flows"]["statements"],
        serde_json::json!([])
    );
}

/// Journey (d), step 5 of docs/rollout.md on flow logs: the statement
/// added and billing enforced, "`diff` from the rollout scenario to the
/// new one must show nothing that would break". On the demo capture it
/// shows nothing; on the demo flow logs it showed the billing pod's NFS
/// flow as "would break ... before allow, after drop at zpr" (exit 1),
/// the flow OCI logged REJECT and step 2's `replay` calls "dropped today
/// by another check" (the mount target's): its only record is billing's
/// egress, and a record was judged at its VNIC alone. Since the
/// twenty-sixth session `diff` on flow logs judges each flow along its
/// whole path (the mount target's drop included) and never counts a
/// record OCI rejected as would break: the gate passes on both.
///
/// Found by QA round seventeen (twenty-second session, branch s24-qa).
#[test]
fn the_rollout_gate_on_flow_logs_passes_once_the_statements_are_added() {
    let dir = crate::support::oke_copy();
    let d = dir.path();
    let rollout = std::fs::read_to_string(d.join("rollout.toml")).unwrap();
    let enforced = rollout.replace(
        r#"value = "billing", mode = "audit" }"#,
        r#"value = "billing" }"#,
    );
    assert_ne!(rollout, enforced);
    std::fs::write(d.join("enforced.toml"), enforced).unwrap();
    let mut zpl = std::fs::read_to_string(d.join("policies/orders.zpl")).unwrap();
    zpl.push_str("in network.vcn:backend VCN allow '10.0.20.10/32' to connect to app.workload:billing endpoints with protocol='tcp/8080'\n");
    std::fs::write(d.join("policies/orders.zpl"), zpl).unwrap();
    for input in [
        crate::support::root().join("pcaps/oke-demo.pcap"),
        d.join("flowlogs/oke-demo.jsonl"),
    ] {
        let o = crate::support::zprsim()
            .current_dir(d)
            .args(["diff", "rollout.toml", "enforced.toml"])
            .arg(&input)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            input.display(),
            String::from_utf8_lossy(&o.stdout)
        );
    }
}
