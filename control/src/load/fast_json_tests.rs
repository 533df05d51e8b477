//! The fast JSON reader (`fast_json.rs`) against serde_json: what it takes,
//! it reads exactly as serde_json does, spans included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::fast_toml_tests::{mutate_with, repo_scenarios};
use super::{fast_json, parse_json_serde};

/// Checks one text: when the fast reader takes it, serde_json reads the
/// same. Returns whether it was taken.
fn same(text: &str) -> bool {
    match fast_json::parse(text) {
        Some(raw) => {
            let by_serde = parse_json_serde(text, "s.json")
                .ok()
                .map(|r| format!("{r:?}"));
            assert_eq!(Some(format!("{raw:?}")), by_serde, "text:\n{text}");
            true
        }
        None => false,
    }
}

/// The repository's TOML scenarios as JSON, pretty and compact.
fn repo_json() -> Vec<String> {
    let mut out = Vec::new();
    for (_, text) in repo_scenarios() {
        let Ok(v) = toml::from_str::<toml::Value>(&text) else {
            continue;
        };
        out.push(serde_json::to_string_pretty(&v).unwrap());
        out.push(serde_json::to_string(&v).unwrap());
    }
    out
}

#[test]
fn the_repositorys_scenarios_as_json_read_as_serde_json_reads_them() {
    let texts = repo_json();
    let taken = texts.iter().filter(|t| same(t)).count();
    // The expectation files of tests/cases are not scenarios.
    assert!(taken >= 24, "{taken} of {}", texts.len());
}

/// Bytes that mean something to JSON, or to the reader's refusals.
const EDITS: &[&str] = &[
    "\"",
    "\\",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    ".",
    " ",
    "\n",
    "\r",
    "\t",
    "-",
    "+",
    "0",
    "1",
    "9",
    "e",
    "E",
    "null",
    "true",
    "false",
    "\u{7f}",
    "\u{1}",
    "é",
    "\"a\": 1,",
    "\"name\"",
    "1.5",
    "-0",
    "99999999999999999999",
    "/*",
];

#[test]
fn mutated_json_is_read_as_serde_json_reads_it_or_left_to_it() {
    use proptest::strategy::{Strategy, ValueTree};
    // Mutations of the scenarios the reader takes whole (not of the
    // repository's other TOML files, expectations and packs, which it
    // leaves to serde_json as they are): so the share taken below does not
    // move with how many of those the repository holds.
    let texts: Vec<String> = repo_json()
        .into_iter()
        .filter(|t| t.len() < 20_000 && same(t))
        .collect();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (
        0..texts.len(),
        proptest::collection::vec((0usize..20_000, 0usize..64, 0usize..3), 1..3),
    );
    let (mut taken, mut runs) = (0, 0);
    for _ in 0..5_000 {
        let (i, edits) = strategy.new_tree(&mut runner).unwrap().current();
        taken += usize::from(same(&mutate_with(&texts[i], &edits, EDITS)));
        runs += 1;
    }
    assert!(taken * 20 >= runs, "only {taken} of {runs} taken");
}

#[test]
fn json_the_reader_must_leave_to_serde_json() {
    for bad in [
        r#"{"name": "a", "name": "b"}"#,
        r#"{"name": "a\u0041"}"#,
        r#"{"name": null}"#,
        r#"{"options": {"max_statements_per_policy": -0}}"#,
        r#"{"options": {"max_statements_per_policy": 1.0}}"#,
        r#"{"options": {"max_statements_per_policy": 01}}"#,
        r#"{"options": ["on", 5]}"#,
        r#"{"name": "a",}"#,
        r#"{"name": "a"} x"#,
        r#"{"bogus": 1}"#,
        r#"{"name": []}"#,
        r#"{"vcn": [], "vcn": []}"#,
        r#"{"vcn": [{"name": "v"}, 5]}"#,
        r#"{"vcn": [{"name": "v"},]}"#,
        r#"{"vcn": [{"name": "v"} {"name": "w"}]}"#,
        r#"{"vcn": [{"name": "v"]}]}"#,
        r#"{"vcn": [{"name": "v"}}"#,
        r#"{"name": "a" "vcn": []}"#,
    ] {
        assert!(fast_json::parse(bad).is_none(), "{bad}");
    }
    assert!(same(
        r#" {"name": "a", "options": {"max_statements_per_policy": -3}} "#
    ));
    assert!(same(r#"{"vcn": [], "name": "a", "vnic": []}"#));
    assert!(same("{}"));
}

/// Top-level arrays longer than a batch: read in several batches, joined
/// as serde_json reads the whole array.
#[test]
fn long_arrays_read_in_batches_as_serde_json_reads_them() {
    let mut taken = 0;
    for text in repo_json() {
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let Some(root) = v.as_object_mut() else {
            continue;
        };
        for value in root.values_mut() {
            if let Some(a) = value.as_array_mut() {
                let one = a.clone();
                for _ in 0..40 {
                    a.extend(one.iter().cloned());
                }
            }
        }
        let long = serde_json::to_string_pretty(&v).unwrap();
        if long.len() > 2 * fast_json::BATCH_BYTES {
            taken += usize::from(same(&long));
        }
    }
    assert!(taken >= 10, "{taken}");
}

/// The scale presets as JSON (too large to keep in the repository):
/// `ZPRSIM_JSON_FILES=/tmp/wide.json,/tmp/large.json cargo test -p
/// zprsim-control --release fast_json_reader_on_files -- --ignored`.
#[test]
#[ignore = "needs generated scenario files"]
fn fast_json_reader_on_files() {
    let files = std::env::var("ZPRSIM_JSON_FILES").expect("ZPRSIM_JSON_FILES");
    for path in files.split(',') {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(same(&text), "{path} not taken");
    }
}
