//! The docs held to the program: every `--fail-on` value they write is
//! accepted, the outputs shown after `sh` blocks are what the commands
//! print, every top-level key of `verify --json` is documented, and the
//! rollout page's pack include verifies as written; the classes
//! `diff` takes beyond the shared contract are listed as awaiting approval.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use crate::support::{oke_copy, root, zprsim};

/// The docs' pages, README first.
fn doc_pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// Check 2 (docs drift): every `--fail-on VALUE` the docs write in prose
/// with a literal value is one `diff` takes. The docs test runs only the
/// commands of code blocks and checks flag names, not the values written in
/// prose; docs/rollout.md told users "Exit 1 with `--fail-on broken`",
/// which exits 2 (`broken` is not a class).
///
/// Found by QA round fifteen (twentieth session, branch s22-qa).
#[test]
fn every_fail_on_value_the_docs_write_is_accepted() {
    let mut values: BTreeSet<(String, String)> = BTreeSet::new();
    for page in doc_pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        for (i, _) in text.match_indices("--fail-on ") {
            let rest = &text[i + "--fail-on ".len()..];
            let v: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '-' || *c == ',')
                .collect();
            // Placeholders (KINDS) and variables are not values.
            if !v.is_empty() && !v.ends_with('-') {
                values.insert((v, name.clone()));
            }
        }
    }
    assert!(values.len() >= 2, "{values:?}");
    let mut bad = Vec::new();
    for (v, page) in &values {
        // `new-path` and `gone-path` are classes of flow-log input only
        // (on captures a usage error since the thirty-first session).
        let input = if v.contains("new-path") || v.contains("gone-path") {
            "examples/oke-orders/flowlogs/oke-demo.jsonl.gz"
        } else {
            "pcaps/oke-demo.pcap"
        };
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(root())
            .args([
                "diff",
                "examples/oke-orders/rollout.toml",
                "examples/oke-orders/scenario.toml",
                input,
                "--quiet",
                "--fail-on",
                v,
            ])
            .output()
            .unwrap();
        if o.status.code() == Some(2) {
            bad.push(format!(
                "{page}: `--fail-on {v}`: {}",
                String::from_utf8_lossy(&o.stderr).trim_end()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Check 2 (docs drift): the outputs the pages show in a `text` block
/// right after a `sh` block of `zprsim` commands (README's quick start,
/// docs/diff.md, docs/flow-logs.md, docs/verify.md, ...) are what the
/// commands print. The docs test runs the commands of `console` blocks
/// with their output, and only flags and files of `sh` blocks: these
/// outputs, the first numbers a user compares, were checked by nobody
/// (they all matched at this commit). Every line of the `text` block but
/// elided ones (`...`) must be a line of the output, and a block with no
/// elided line must show every line of the output; the commands run in a
/// copy of `examples/` and `pcaps/` with the debug binary first on `PATH`.
///
/// Found by QA round fifteen (twentieth session, branch s22-qa).
#[test]
fn the_outputs_shown_after_sh_blocks_are_what_the_commands_print() {
    let clone = tempfile::tempdir().unwrap();
    for d in ["examples", "pcaps"] {
        copy_tree(&root().join(d), &clone.path().join(d));
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_zprsim"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut checked = 0;
    let mut problems = Vec::new();
    for page in doc_pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        let blocks = fenced_blocks(&text);
        for w in blocks.windows(2) {
            let ((lang, _, end, body), (next, start, _, shown)) = (&w[0], &w[1]);
            let runs_zprsim = body.iter().any(|l| {
                l.trim_start().starts_with("zprsim ") || l.contains("cargo run --release --")
            });
            // A text block close below (prose between is fine) and a block
            // of commands that need nothing but this repository.
            if !matches!(lang.as_str(), "sh" | "bash")
                || next != "text"
                || !runs_zprsim
                || start - end > 16
                || body
                    .iter()
                    .any(|l| l.contains("/tmp/") || l.contains("valgrind"))
            {
                continue;
            }
            let script: Vec<String> = body
                .iter()
                .filter(|l| {
                    let t = l.trim_start();
                    !t.starts_with("cargo build")
                        && !t.starts_with("export PATH")
                        && !t.starts_with("cargo test")
                })
                .map(|l| l.replace("cargo run --release --", "zprsim"))
                .collect();
            let o = std::process::Command::new("bash")
                .arg("-c")
                .arg(script.join("\n"))
                .current_dir(clone.path())
                .env("PATH", &path)
                .output()
                .unwrap();
            let real = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            let lines: HashSet<&str> = real.lines().map(str::trim).collect();
            checked += 1;
            for l in shown
                .iter()
                .filter(|l| !l.trim().is_empty() && !l.contains("..."))
            {
                if !lines.contains(l.trim()) {
                    problems.push(format!(
                        "{name}:{start}: the page shows `{}`; the commands print:\n{real}",
                        l.trim_end()
                    ));
                    break;
                }
            }
            // A block that elides nothing shows the whole output: a line
            // the commands print that it lacks is drift too (README's
            // explain example lacked its `to open:` line; since the
            // twenty-eighth session).
            let shown_lines: HashSet<&str> = shown.iter().map(|l| l.trim()).collect();
            if !shown.iter().any(|l| l.contains("..."))
                && let Some(l) = real
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !shown_lines.contains(l))
            {
                problems.push(format!(
                    "{name}:{start}: the commands print `{l}`, which the page, eliding nothing, does not show; they print:\n{real}"
                ));
            }
        }
    }
    assert!(checked >= 6, "only {checked} outputs checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The fenced blocks of a Markdown page: (language, first line, last line,
/// body lines), lines counted from 1.
fn fenced_blocks(text: &str) -> Vec<(String, usize, usize, Vec<String>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(lang) = lines[i].strip_prefix("```") {
            let mut j = i + 1;
            while j < lines.len() && !lines[j].starts_with("```") {
                j += 1;
            }
            let body = lines[i + 1..j.min(lines.len())]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            out.push((lang.trim().to_owned(), i + 1, j + 1, body));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// Check 2 (docs drift): every top-level key `verify --json` writes is in
/// docs/verify.md's list of them (`stopped_by`, written since the
/// nineteenth session, was not).
///
/// Found by QA round fifteen (twentieth session, branch s22-qa).
#[test]
fn every_top_level_key_of_verify_json_is_documented() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &root().join("examples/oke-orders"),
        &dir.path().join("oke-orders"),
    );
    let scenario = dir.path().join("oke-orders/scenario.toml");
    let text = std::fs::read_to_string(&scenario).unwrap();
    // The load balancer's egress to the NodePorts removed, as in
    // docs/verify.md: a failing path with hints.
    let broken: String = text
        .lines()
        .filter(|l| !(l.contains("destination = \"nodes-nsg\"") && l.contains("min = 30000")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(broken, text);
    std::fs::write(&scenario, broken).unwrap();
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(dir.path().join("oke-orders"))
        .args(["verify", "scenario.toml", "expect.toml", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let docs = std::fs::read_to_string(root().join("docs/verify.md")).unwrap();
    let line = docs
        .lines()
        .find(|l| l.starts_with("- `--json`: one object, `{"))
        .unwrap();
    let listed = &line[line.find('{').unwrap()..line.find('}').unwrap()];
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert!(keys.len() >= 6, "{keys:?}");
    for k in keys {
        assert!(
            listed.split(", ").any(|x| x.trim_start_matches('{') == k),
            "`{k}` is not in docs/verify.md's list: {listed}"
        );
    }
}

/// Journey (d), step 4 of docs/rollout.md: "Add the packs of Oracle's
/// documented required paths (`[[include]] pack = "oke"`, ...)". Added as
/// written, `verify` refused the file (exit 2: "pack `oke` path
/// `workers-to-api-6443` needs role `workers`: bind it"). The page now
/// shows the include with its roles; that block, appended to
/// `rollout-expect.toml`, verifies the rollout scenario: 31 paths ok.
///
/// Found by QA round seventeen (twenty-second session, branch s24-qa).
#[test]
fn the_rollout_pages_pack_include_verifies_as_written() {
    let page = std::fs::read_to_string(root().join("docs/rollout.md")).unwrap();
    let block = page
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("pack = \"oke\""))
        .expect("docs/rollout.md shows the oke pack's include as a ```toml block");
    let dir = oke_copy();
    let d = dir.path();
    let expect = std::fs::read_to_string(d.join("rollout-expect.toml")).unwrap();
    std::fs::write(d.join("with-pack.toml"), format!("{expect}\n{block}")).unwrap();
    let o = zprsim()
        .current_dir(d)
        .args(["verify", "rollout.toml", "with-pack.toml"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("path(s):") && out.contains(" 0 failed"),
        "{out}"
    );
}

/// The classes `diff` takes beyond the shared contract's four are listed
/// in docs/cli.md's "Extensions awaiting approval" (the contract is
/// read-only in this repository: a new class must be listed there until
/// the contract takes it). The classes are read from `diff`'s own usage
/// error, which names every one.
#[test]
fn every_diff_class_beyond_the_contract_is_listed_as_awaiting_approval() {
    const CONTRACT: [&str; 4] = [
        "would-break",
        "newly-allowed",
        "reason-changed",
        "unchanged",
    ];
    let o = zprsim()
        .args([
            "diff",
            "examples/oke-orders/scenario.toml",
            "examples/oke-orders/proposed.toml",
            "pcaps/oke-demo.pcap",
            "--fail-on",
            "nothing",
        ])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    let expected = e.split("expected ").nth(1).unwrap_or_default();
    let classes: Vec<&str> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| *c != "none")
        .collect();
    assert!(classes.len() >= 3, "{e}");
    let cli = std::fs::read_to_string(root().join("docs/cli.md")).unwrap();
    let section = cli
        .split("## Extensions awaiting approval")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_default();
    assert!(!section.is_empty(), "docs/cli.md has no such section");
    for c in classes.iter().filter(|c| !CONTRACT.contains(c)) {
        assert!(
            section.contains(&format!("`{c}`")),
            "`{c}` is not listed in docs/cli.md's extensions awaiting approval"
        );
    }
}
