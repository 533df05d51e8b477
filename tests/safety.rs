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

    /// Runs `zprsim ARGS` with `input` on standard input.
    fn zprsim_stdin(&self, args: &[&str], input: &[u8]) -> Out {
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(self.dir.path())
            .args(args)
            .write_stdin(input.to_vec())
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

/// A full disk under one output abandons that output alone (docs/cli.md,
/// "One output fails"; this test said "commits none" until the fifteenth
/// session, when the report beside a failed flow log was kept back too):
/// the report is written and names it, and the run exits 2.
#[test]
fn a_full_disk_on_one_output_abandons_that_one_only() {
    let s = Scratch::new();
    s.write("r.json", b"last run");
    // The report alone: the summary still comes out, the error after it.
    let o = s.zprsim(&["replay", "s.toml", "b.pcap", "--report", "/dev/full"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("--report `/dev/full`: No space left on device"),
        "{}",
        o.stderr
    );
    assert!(o.stdout.contains("packets"), "{}", o.stdout);
    let o = s.zprsim(&[
        "replay",
        "s.toml",
        "b.pcap",
        "--report",
        "r.json",
        "--flows",
        "/dev/full",
    ]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("--flows `/dev/full`: No space left on device"),
        "{}",
        o.stderr
    );
    let r: serde_json::Value = serde_json::from_slice(&s.read("r.json")).unwrap();
    assert_eq!(r["run_warnings"][0]["code"], "output-failed", "{r}");
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

// Defect 9: untrusted names.

#[test]
fn names_with_control_or_bidi_characters_are_load_errors_at_the_character() {
    let s = Scratch::new();
    let vcn = |name: &str| format!("[[vcn]]\nname = \"{name}\"\ncidr_blocks = [\"10.0.0.0/16\"]\n");
    for (name, file, shown, kind) in [
        (
            "web\u{202e}1",
            "bidi.toml",
            "web\\u{202e}1",
            "a bidirectional control",
        ),
        (
            "web\\u202e1",
            "bidi2.toml",
            "web\\u{202e}1",
            "a bidirectional control",
        ),
        (
            "a\\nforged: ok",
            "nl.toml",
            "a\\nforged: ok",
            "a line break",
        ),
        (
            "bell\\u0007",
            "bel.toml",
            "bell\\u{7}",
            "a control character",
        ),
    ] {
        s.write(file, vcn(name).as_bytes());
        let o = s.zprsim(&["check", file]);
        assert_eq!(o.code, 2, "{file}: {}", o.stderr);
        assert!(
            o.stderr.starts_with(&format!("{file}:2:")),
            "{file}: {}",
            o.stderr
        );
        assert!(
            o.stderr.contains(&format!("in vcn `{shown}`")),
            "{}",
            o.stderr
        );
        assert!(o.stderr.contains(kind), "{}", o.stderr);
        assert_eq!(o.stderr.lines().count(), 1, "a forged line: {}", o.stderr);
        assert!(!o.stderr.contains('\u{202e}') && !o.stderr.contains('\u{7}'));
        assert_eq!(o.stdout, "");
    }
    // Raw, the character itself is placed: `name = "web` is 10 characters.
    let o = s.zprsim(&["check", "bidi.toml"]);
    assert!(
        o.stderr.starts_with("bidi.toml:2:12: error: "),
        "{}",
        o.stderr
    );
    // JSON too.
    s.write(
        "n.json",
        b"{\"vcn\": [{\"name\": \"ab\\u0007\", \"cidr_blocks\": [\"10.0.0.0/16\"]}]}",
    );
    let o = s.zprsim(&["check", "n.json"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .starts_with("n.json:1:22: error: in vcn `ab\\u{7}`"),
        "{}",
        o.stderr
    );
}

#[test]
fn an_unknown_reference_is_shown_escaped() {
    let s = Scratch::new();
    s.write(
        "r.toml",
        b"[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n[[subnet]]\nname = \"s\"\nvcn = \"v\\u001b[2Jx\"\ncidr_block = \"10.0.0.0/24\"\n",
    );
    let o = s.zprsim(&["check", "r.toml"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("v\\u{1b}[2Jx"), "{}", o.stderr);
    assert!(!o.stderr.contains('\u{1b}'), "{}", o.stderr);
}

// Defect 7: JSON syntax errors report the real column.

#[test]
fn json_syntax_errors_report_the_real_column() {
    let s = Scratch::new();
    for (text, at) in [
        (&b"{\"vcn\": [\n"[..], "e.json:1:10: error: "),
        (
            b"{\"vcn\": [\n  {\"name\": \"a\" \"x\"}]}",
            "e.json:2:16: error: ",
        ),
        (b"{\"vcn\": [\n\n", "e.json:2:1: error: "),
        // Columns count characters, not bytes.
        (
            "{\"name\": \"\u{e9}\u{e9}\", !}".as_bytes(),
            "e.json:1:16: error: ",
        ),
    ] {
        s.write("e.json", text);
        let o = s.zprsim(&["check", "e.json"]);
        assert_eq!(o.code, 2);
        assert!(o.stderr.starts_with(at), "{at}: {}", o.stderr);
        assert!(!o.stderr.contains(":0:"), "{}", o.stderr);
    }
}

// Defect 10: typos pass silently.

#[test]
fn typos_are_warned_or_answered_with_did_you_mean() {
    let s = Scratch::new();
    let base = std::fs::read_to_string(root().join("tests/cases/scenarios/zpr.toml")).unwrap();
    let (attr, typo) = ("app:web", "app:wbe");
    let statement =
        "allow app:web endpoints to connect to app:api endpoints with protocol='tcp/8080'";
    assert!(base.contains(statement));
    s.write(
        "z.toml",
        base.replacen(statement, &statement.replacen(attr, typo, 1), 1)
            .as_bytes(),
    );
    let o = s.zprsim(&["check", "z.toml", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let w: Vec<&serde_json::Value> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "unknown-attribute")
        .collect();
    assert_eq!(w.len(), 1, "{}", r["warnings"]);
    let m = w[0]["message"].as_str().unwrap();
    assert!(m.contains(&format!("`{typo}`")), "{m}");
    assert!(m.contains(&format!("did you mean `{attr}`?")), "{m}");
    assert!(w[0]["line"].as_u64().is_some());
    // An empty scenario is not "ok" without a word.
    s.write("empty.toml", b"# nothing yet\n");
    let o = s.zprsim(&["check", "empty.toml"]);
    assert_eq!(o.code, 0);
    assert!(
        o.stderr.contains("warning: the scenario is empty"),
        "{}",
        o.stderr
    );
    // Field names and references.
    s.write(
        "f.toml",
        b"[[vcn]]\nname = \"v\"\ncidr_block = \"10.0.0.0/16\"\n",
    );
    let o = s.zprsim(&["check", "f.toml"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.starts_with(
            "f.toml:3:1: error: unknown field `cidr_block`; did you mean `cidr_blocks`?"
        ),
        "{}",
        o.stderr
    );
}

// `-` wherever a file is taken: the scenario too.

#[test]
fn the_scenario_can_come_from_standard_input_once() {
    let s = Scratch::new();
    let text = s.read("s.toml");
    let o = s.zprsim_stdin(&["check", "-", "--json"], &text);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(r["scenario"], "-");
    assert!(r["vnics"].as_u64().unwrap() > 0);
    let file = s.zprsim(&["replay", "s.toml", "b.pcap", "--report", "-", "--quiet"]);
    let piped = s.zprsim_stdin(
        &["replay", "-", "b.pcap", "--report", "-", "--quiet"],
        &text,
    );
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&file.stdout).unwrap(),
        serde_json::from_str(&piped.stdout).unwrap(),
    );
    assert_eq!(a["packets"], b["packets"]);
    assert_eq!(a["dropped_by_stage"], b["dropped_by_stage"]);
    // Standard input read twice is refused before anything is read.
    s.refused(
        &["replay", "-", "-"],
        &["SCENARIO and PCAP both use `-`: standard input can be used once"],
    );
}

#[test]
fn lab_bounds_are_checked_not_replaced() {
    let s = Scratch::new();
    s.refused(
        &["lab", "up", "s.toml", "web", "--queue", "0"],
        &["`--queue 0`: expected at least 1"],
    );
    s.refused(
        &["lab", "up", "s.toml", "web", "--workers", "0"],
        &["`--workers 0`: expected 1 to 64"],
    );
}
