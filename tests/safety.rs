//! Issue 8: no command line destroys a file it was given, outputs are
//! transactions, and the CLI fits the shell. One test per defect; each
//! asserts the inputs' bytes are unchanged, the exit code and the message.

use std::path::PathBuf;
use std::time::Duration;

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory holding copies of a scenario and captures.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let s = Scratch {
            dir: tempfile::tempdir().unwrap(),
        };
        s.copy("tests/cases/scenarios/security.toml", "s.toml");
        s.copy("pcaps/oke-demo.pcap", "a.pcap");
        s.copy("pcaps/tcp_allowed_with_replies.pcap", "b.pcap");
        s
    }

    fn copy(&self, from: &str, to: &str) {
        std::fs::copy(root().join(from), self.path(to)).unwrap();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path(name), bytes).unwrap();
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// Every file of the directory with its bytes.
    fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let bytes = std::fs::read(e.path()).unwrap_or_default();
                (e.file_name().to_string_lossy().into_owned(), bytes)
            })
            .collect();
        v.sort();
        v
    }

    /// Runs `zprsim ARGS` in the directory.
    fn zprsim(&self, args: &[&str]) -> Out {
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(self.dir.path())
            .args(args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Runs `ARGS`, expects exit 2 with every word of `message` on stderr,
    /// nothing on stdout and no file of the directory changed.
    fn refused(&self, args: &[&str], message: &[&str]) {
        let before = self.snapshot();
        let o = self.zprsim(args);
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.starts_with("error: "), "{args:?}: {}", o.stderr);
        for m in message {
            assert!(o.stderr.contains(m), "{args:?}: no `{m}` in {}", o.stderr);
        }
        assert_eq!(o.stdout, "", "{args:?}: a summary before the error");
        let after = self.snapshot();
        let names = |s: &[(String, Vec<u8>)]| s.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&after),
            names(&before),
            "{args:?}: files added or removed"
        );
        for ((name, b), (_, a)) in before.iter().zip(&after) {
            assert!(a == b, "{args:?}: `{name}` changed");
        }
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

// Defect 1: an output path equal to an input destroys the input.

#[test]
fn an_output_equal_to_an_input_is_refused_before_anything_is_written() {
    let s = Scratch::new();
    s.refused(
        &[
            "replay",
            "s.toml",
            "a.pcap",
            "b.pcap",
            "--allowed",
            "b.pcap",
            "--report",
            "r.json",
        ],
        &["--allowed `b.pcap` is the same file as PCAP `b.pcap`"],
    );
    s.refused(
        &["replay", "s.toml", "a.pcap", "--allowed", "a.pcap"],
        &["--allowed `a.pcap`", "PCAP `a.pcap`"],
    );
    s.refused(
        &["replay", "s.toml", "a.pcap", "--report", "a.pcap"],
        &["--report `a.pcap`", "PCAP `a.pcap`"],
    );
    s.refused(
        &["replay", "s.toml", "a.pcap", "--flows", "s.toml"],
        &["--flows `s.toml` is the same file as SCENARIO `s.toml`"],
    );
    // Another spelling of the same file is the same file.
    s.refused(
        &["replay", "s.toml", "a.pcap", "--dropped", "./a.pcap"],
        &["--dropped `./a.pcap`", "PCAP `a.pcap`"],
    );
    std::fs::hard_link(s.path("a.pcap"), s.path("link.pcap")).unwrap();
    s.refused(
        &["replay", "s.toml", "a.pcap", "--dropped", "link.pcap"],
        &["--dropped `link.pcap`", "PCAP `a.pcap`"],
    );
}

#[test]
fn two_outputs_of_one_file_are_refused() {
    let s = Scratch::new();
    s.refused(
        &[
            "replay",
            "s.toml",
            "a.pcap",
            "--allowed",
            "x",
            "--dropped",
            "x",
        ],
        &["--allowed `x` and --dropped `x` are the same file"],
    );
    s.write("x", b"an old output");
    s.refused(
        &[
            "replay", "s.toml", "a.pcap", "--report", "x", "--flows", "x",
        ],
        &["--report `x` and --flows `x` are the same file"],
    );
    s.refused(
        &[
            "replay", "s.toml", "a.pcap", "--report", "-", "--flows", "-",
        ],
        &["--report and --flows both use `-`"],
    );
}

// Defect 2: outputs opened first and checked last.

#[test]
fn a_missing_input_touches_no_output() {
    let s = Scratch::new();
    for f in ["r.json", "f.jsonl", "ok.pcap", "drop.pcap"] {
        s.write(f, b"last run's results");
    }
    s.refused(
        &[
            "replay",
            "s.toml",
            "missing.pcap",
            "a.pcap",
            "--report",
            "r.json",
            "--flows",
            "f.jsonl",
            "--allowed",
            "ok.pcap",
            "--dropped",
            "drop.pcap",
        ],
        &["PCAP `missing.pcap`: No such file or directory"],
    );
}

#[test]
fn an_unwritable_output_is_found_before_the_replay() {
    let s = Scratch::new();
    s.refused(
        &[
            "replay",
            "s.toml",
            "a.pcap",
            "--report",
            "/nonexistent/r.json",
        ],
        &["--report `/nonexistent/r.json`: directory `/nonexistent`"],
    );
    // A bad `--flows` beside a good `--report`: no report at all (never
    // one that says `"error": null` with exit 2).
    s.refused(
        &[
            "replay",
            "s.toml",
            "a.pcap",
            "--report",
            "r.json",
            "--flows",
            "/nonexistent/f.jsonl",
        ],
        &["--flows `/nonexistent/f.jsonl`"],
    );
    assert!(!s.path("r.json").exists());
    std::fs::create_dir(s.path("d")).unwrap();
    s.refused(
        &["replay", "s.toml", "a.pcap", "--flows", "d"],
        &["--flows `d` is a directory"],
    );
    s.refused(
        &["replay", "s.toml", "a.pcap", "--report", "/proc/r.json"],
        &["--report `/proc/r.json`: cannot write in `/proc`"],
    );
}

#[test]
fn a_good_run_replaces_old_outputs_and_leaves_no_temporary_file() {
    let s = Scratch::new();
    s.write("r.json", b"old");
    s.write("f.jsonl", b"old");
    let o = s.zprsim(&[
        "replay", "s.toml", "b.pcap", "--report", "r.json", "--flows", "f.jsonl", "--quiet",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r: serde_json::Value = serde_json::from_slice(&s.read("r.json")).unwrap();
    assert!(r["packets"]["total"].as_u64().unwrap() > 0);
    assert!(r["error"].is_null());
    assert!(
        String::from_utf8(s.read("f.jsonl"))
            .unwrap()
            .lines()
            .count()
            > 0
    );
    let names: Vec<String> = s.snapshot().into_iter().map(|f| f.0).collect();
    assert_eq!(names, ["a.pcap", "b.pcap", "f.jsonl", "r.json", "s.toml"]);
}

// Defect 5 (the CLI's part): `-` is standard output, never a file named `-`.

#[test]
fn dash_writes_the_report_or_flow_log_to_standard_output() {
    let s = Scratch::new();
    let o = s.zprsim(&["replay", "s.toml", "b.pcap", "--report", "-"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert!(r["packets"]["total"].as_u64().unwrap() > 0);
    // The summary moved to stderr, so stdout is pure JSON.
    assert!(o.stderr.contains("replayed "), "{}", o.stderr);
    assert!(!s.path("-").exists());
    let o = s.zprsim(&["replay", "s.toml", "b.pcap", "--flows", "-", "--quiet"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stdout.is_empty());
    for line in o.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["community_id"].is_string());
    }
    assert!(!o.stderr.contains("replayed "), "quiet: {}", o.stderr);
    assert!(!s.path("-").exists());
}

// Defect 7 (replay's part): bounds that were silently replaced.

#[test]
fn zero_and_out_of_range_bounds_are_usage_errors() {
    let s = Scratch::new();
    s.refused(
        &["replay", "s.toml", "a.pcap", "--max-connections", "0"],
        &["`--max-connections 0`: expected 1 to 1073741824"],
    );
    s.refused(
        &[
            "replay",
            "s.toml",
            "a.pcap",
            "--max-connections",
            "1073741825",
        ],
        &["`--max-connections 1073741825`"],
    );
    s.refused(
        &["replay", "s.toml", "a.pcap", "--workers", "0"],
        &["`--workers 0`: expected 1 to 64"],
    );
}

// Defect 8: warnings on stderr, even with `--quiet`.

#[test]
fn warnings_go_to_stderr_even_when_quiet() {
    let s = Scratch::new();
    s.copy("pcaps/truncated_file.pcap", "t.pcap");
    for quiet in [false, true] {
        let mut args = vec!["replay", "s.toml", "t.pcap"];
        if quiet {
            args.push("--quiet");
        }
        let o = s.zprsim(&args);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert!(
            o.stderr.contains("warning: ") && o.stderr.contains("file ends inside a record"),
            "quiet {quiet}: {}",
            o.stderr
        );
        assert!(!o.stdout.contains("warning"), "{}", o.stdout);
        assert_eq!(o.stdout.is_empty(), quiet, "{}", o.stdout);
    }
}

// `--fail-on-drop` for CI jobs.

#[test]
fn fail_on_drop_exits_1_when_a_packet_was_dropped() {
    let s = Scratch::new();
    let o = s.zprsim(&["replay", "s.toml", "a.pcap", "--quiet", "--fail-on-drop"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let o = s.zprsim(&["replay", "s.toml", "a.pcap", "--quiet", "--report", "-"]);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert!(r["packets"]["dropped"].as_u64().unwrap() > 0);
    // A capture with no drop passes.
    let o = s.zprsim(&[
        "replay",
        "s.toml",
        "b.pcap",
        "--report",
        "-",
        "--fail-on-drop",
    ]);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let dropped = r["packets"]["dropped"].as_u64().unwrap();
    assert_eq!(o.code, i32::from(dropped > 0), "{}", o.stderr);
}

// Defect 8: warnings are data.

#[test]
fn check_prints_warnings_as_objects_in_json_and_on_stderr_in_text() {
    let s = Scratch::new();
    let o = s.zprsim(&["check", "s.toml", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let w = r["warnings"].as_array().unwrap();
    assert!(!w.is_empty());
    let first = &w[0];
    assert_eq!(first["code"], "option-ignored", "{first}");
    assert_eq!(first["file"], "s.toml");
    assert!(first["line"].as_u64().unwrap() > 0);
    assert!(first["column"].as_u64().unwrap() > 0);
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("does not fit protocol"),
        "{first}"
    );
    let o = s.zprsim(&["check", "s.toml"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stdout.contains("warning:"), "{}", o.stdout);
    assert!(
        o.stdout.contains(&format!("{} warning(s)", w.len())),
        "{}",
        o.stdout
    );
    assert_eq!(
        o.stderr.matches(": warning: ").count(),
        w.len(),
        "{}",
        o.stderr
    );
    assert!(o.stderr.starts_with("s.toml:"), "{}", o.stderr);
}
