//! `replay` and `diff` interrupted while a scenario loads or compiles.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{kill, root};

/// A scenario's text after `pad` bytes of TOML comments: longer than a
/// pipe holds, so once a write of it returns the run is reading it.
fn padded_scenario(pad: usize) -> Vec<u8> {
    let mut text = Vec::new();
    while text.len() < pad {
        text.extend_from_slice(b"# padding: the scenario comes after these comments\n");
    }
    text.extend(std::fs::read(root().join("tests/cases/scenarios/routing.toml")).unwrap());
    text
}

/// Runs `args` (a scenario on standard input, `-`) with outputs in `d`:
/// writes the scenario's first part, sends SIG`sig`, and waits for the run
/// to end without the rest of its scenario. A run that still waits for
/// it after a generous delay (only without the fix: it stopped only once
/// its scenario was compiled) is given the rest with a syntax error at
/// its end, so it ends with exit 2, not 130: the outcome tells, never
/// the time taken.
fn interrupted_while_loading(args: &[&str], sig: &str) -> std::process::Output {
    let text = padded_scenario(512 * 1024);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"))
        .current_dir(root())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Half the scenario: its comments only. Once this returns, the run
    // has read all but a pipe buffer of it: it is loading.
    stdin.write_all(&text[..256 * 1024]).unwrap();
    kill(sig, child.id());
    let late = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = stdin.write_all(b"\n[[[ the rest came late\n");
    });
    let out = child.wait_with_output().unwrap();
    drop(late);
    out
}

fn report(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The report and the outputs of a run stopped while `flag` loaded.
fn assert_stopped_while_loading(
    out: &std::process::Output,
    code: i32,
    r: &Value,
    flag: &str,
    stopped_by: &str,
) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(
        stderr.contains("interrupted while the scenario"),
        "{stderr}"
    );
    assert_eq!(r["interrupted"], true, "{r}");
    assert_eq!(r["stopped_by"], stopped_by, "{r}");
    let w = r["run_warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == "interrupted-while-loading")
        .unwrap_or_else(|| panic!("no `interrupted-while-loading` warning: {r}"));
    // The report's `warnings` holds the same text (docs/cli.md, "Warnings
    // are data").
    assert!(
        r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| *t == w["message"]),
        "{r}"
    );
    assert_eq!(
        w["message"],
        format!(
            "a signal came while {flag} `-` was loaded or compiled: nothing was judged, every output is empty, and the report names none of its rules"
        )
    );
}

/// QA round 25's B3: a first signal while `replay` loaded or compiled
/// its scenario took effect once the compile ended (about 20 s on the
/// quiet run's 68 MB `beyond.toml`). It now ends the run at once: the
/// scenario here never finishes arriving, yet the run ends with exit 130,
/// every output a valid empty file and the report `interrupted`.
#[test]
fn a_signal_while_replay_loads_its_scenario_ends_the_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let [rep, flows, allowed] = ["r.json", "f.jsonl", "ok.pcap"].map(|n| d.join(n));
    let out = interrupted_while_loading(
        &[
            "replay",
            "-",
            "pcaps/oke-demo.pcap",
            "--report",
            rep.to_str().unwrap(),
            "--flows",
            flows.to_str().unwrap(),
            "--allowed",
            allowed.to_str().unwrap(),
        ],
        "INT",
    );
    let r = report(&rep);
    assert_stopped_while_loading(&out, 130, &r, "SCENARIO", "sigint");
    assert_eq!(r["packets"]["total"], 0, "{r}");
    assert_eq!(r["rules"].as_array().map_or(0, Vec::len), 0, "{r}");
    assert_eq!(std::fs::read(&flows).unwrap(), b"");
    assert_eq!(crate::support::records(&allowed), 0);
}

/// The same for `replay` of flow logs (SIGTERM: exit 143).
#[test]
fn a_signal_while_replay_of_flow_logs_loads_its_scenario_ends_the_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let [rep, flows] = ["r.json", "f.jsonl"].map(|n| d.join(n));
    let out = interrupted_while_loading(
        &[
            "replay",
            "-",
            "examples/oke-orders/flowlogs/oke-demo.jsonl",
            "--report",
            rep.to_str().unwrap(),
            "--flows",
            flows.to_str().unwrap(),
        ],
        "TERM",
    );
    let r = report(&rep);
    assert_stopped_while_loading(&out, 143, &r, "SCENARIO", "sigterm");
    assert_eq!(r["flow_log"]["records"], 0, "{r}");
    assert_eq!(std::fs::read(&flows).unwrap(), b"");
}

/// The same for `diff`, on captures and on flow logs: BEFORE comes on
/// standard input, AFTER is never loaded.
#[test]
fn a_signal_while_diff_loads_a_scenario_ends_the_run_at_once() {
    for input in [
        "pcaps/oke-demo.pcap",
        "examples/oke-orders/flowlogs/oke-demo.jsonl",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let [rep, flows] = ["r.json", "f.jsonl"].map(|n| d.join(n));
        let out = interrupted_while_loading(
            &[
                "diff",
                "-",
                "tests/cases/scenarios/routing.toml",
                input,
                "--report",
                rep.to_str().unwrap(),
                "--flows",
                flows.to_str().unwrap(),
            ],
            "INT",
        );
        let r = report(&rep);
        assert_stopped_while_loading(&out, 130, &r, "BEFORE", "sigint");
        assert_eq!(std::fs::read(&flows).unwrap(), b"", "{input}");
    }
}
