//! Defects found in the twelfth session's review, as real users would
//! meet them: each test fails on the code before its fix.

use std::path::{Path, PathBuf};

use crate::support::run_in;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
    let scenario = "examples/oke-orders/scenario.toml";
    let want = report_of(scenario, &lines);
    let got = report_of(scenario, &pretty);
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
