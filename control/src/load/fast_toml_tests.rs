//! The fast TOML reader (`fast_toml.rs`) against the `toml` crate: what it
//! takes, it reads exactly as the crate does, spans included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{InOrder, chunks, fast_toml, parse_toml_fast, parse_toml_part, parse_toml_whole};

/// The crate's reading of `part` (at `base` of `text`), rendered.
fn by_crate(part: &str, base: usize, text: &str) -> Option<String> {
    parse_toml_part(part, base, text, "s.toml")
        .ok()
        .map(|r| format!("{r:?}"))
}

/// Checks one text: when the fast reader takes it, the crate reads the
/// same. Returns whether it was taken.
fn same(part: &str, base: usize, text: &str) -> bool {
    match fast_toml::parse(part, base) {
        Some(raw) => {
            assert_eq!(
                Some(format!("{raw:?}")),
                by_crate(part, base, text),
                "text:\n{part}"
            );
            true
        }
        None => false,
    }
}

pub(super) fn repo_scenarios() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    let mut dirs = vec![
        root.join("examples"),
        root.join("tests"),
        root.join("packs"),
    ];
    while let Some(dir) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "toml")
                && let Ok(t) = std::fs::read_to_string(&p)
            {
                out.push((p.display().to_string(), t));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_repositorys_scenarios_read_as_the_crate_reads_them() {
    let mut taken = 0;
    let mut chunks_taken = 0;
    for (_, text) in repo_scenarios() {
        taken += usize::from(same(&text, 0, &text));
        if let Some(ranges) = chunks::split(&text, 1) {
            for r in ranges {
                chunks_taken += usize::from(same(&text[r.clone()], r.start, &text));
            }
        }
    }
    eprintln!("taken whole: {taken}, chunks: {chunks_taken}");
    // Most files open with `[services]` or `[options]` (left to the
    // crate), so few are taken whole; their `[[key]]` chunks are.
    // (The others are expectation files of tests/cases, not scenarios.)
    assert!(taken >= 12 && chunks_taken >= 200, "{taken} {chunks_taken}");
}

#[test]
fn tables_arrays_of_tables_and_their_errors() {
    let ok = "name = \"n\" # c\n\n[services]\n\"osn\" = [\"1.2.3.0/24\",\n # c\n ]\nb = []\n\n\
              [options]\nzpr_only = \"on\"\n[[vcn]]\nname = \"v\"\n\
              security_attributes = { \"n\" = { k = { value = \"x\", mode = \"audit\" } } }\n\
              [[vcn]]\nname = \"w\"\ncidr_blocks = []\nis_zpr_only = false\n";
    assert!(same(ok, 0, ok));
    // Each of these is an error or is outside the subset: never taken.
    for bad in [
        "[services]\na = []\n[services]\nb = []\n",
        "[[services]]\n[services]\n",
        "[options]\n[[options]]\n",
        "services = {}\n[services]\n",
        "vcn = []\n[[vcn]]\nname = \"v\"\n",
        "[ services ]\n",
        "[[ vcn ]]\nname = \"v\"\n",
        "[services.x]\n",
        "[[vcn]]\nname = \"v\"\nname = \"w\"\n",
        "[[vcn]]\nname = \"v\\u0041\"\n",
        "[[vcn]]\nname = \"v\"\r\n",
        "[[vcn]]\nname = 'v'\n",
        "[[vcn]]\nname = \"v\" x\n",
        "[[vcn]]\nname.x = \"v\"\n",
        "[[vcn]]\nsecurity_attributes = { a = { b = { value = \"x\" }, } }\n",
        "[[vcn]]\nsecurity_attributes = { a = { b = { value = \"x\", value = \"y\" } } }\n",
        "[[vcn]]\nname = \"v\"\nbogus = 1\n",
        "[[nsg]]\nname = \"n\"\nvcn = \"v\"\nrules = [{ direction = \"ingress\", protocol = 1.5 }]\n",
        "[[nsg]]\nname = \"n\"\nvcn = \"v\"\nrules = [{ direction = \"ingress\", protocol = 06 }]\n",
        "[[nsg]]\nname = \"n\"\nvcn = \"v\"\nrules = [{ direction = \"ingress\", protocol = 9223372036854775808 }]\n",
    ] {
        assert!(fast_toml::parse(bad, 0).is_none(), "{bad}");
    }
}

/// Every `[[key]]` chunk of the repository's scenarios.
fn repo_chunks() -> Vec<String> {
    let mut out = Vec::new();
    for (_, text) in repo_scenarios() {
        if let Some(ranges) = chunks::split(&text, 1) {
            out.extend(ranges.into_iter().map(|r| text[r].to_owned()));
        }
    }
    out
}

/// Bytes that mean something to TOML, or to the reader's refusals.
const EDITS: &[&str] = &[
    "\"",
    "'",
    "\\",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    ".",
    "#",
    "\n",
    " ",
    "\t",
    "-",
    "+",
    "0",
    "1",
    "9",
    "e",
    "_",
    ":",
    "x",
    "true",
    "false",
    "\r",
    "\u{7f}",
    "\u{1}",
    "é",
    "\"\"\"",
    "a = 1",
    "name",
    "inf",
    "1.5",
    "2024-01-01",
];

/// `text` with `edits` applied: (where, what of [`EDITS`], delete how many
/// bytes).
fn mutate(text: &str, edits: &[(usize, usize, usize)]) -> String {
    mutate_with(text, edits, EDITS)
}

/// `text` with `edits` applied: (where, what of `pieces`, delete how many
/// bytes).
pub(super) fn mutate_with(text: &str, edits: &[(usize, usize, usize)], pieces: &[&str]) -> String {
    let mut t = text.to_owned();
    for &(at, what, del) in edits {
        let mut at = at % (t.len() + 1);
        while !t.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + del % 3).min(t.len());
        while !t.is_char_boundary(end) {
            end += 1;
        }
        t.replace_range(at..end, pieces[what % pieces.len()]);
    }
    t
}

#[test]
fn mutated_scenarios_are_read_as_the_crate_reads_them_or_left_to_it() {
    use proptest::strategy::{Strategy, ValueTree};
    let chunks = repo_chunks();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (
        0..chunks.len(),
        proptest::collection::vec((0usize..4096, 0usize..64, 0usize..3), 1..4),
    );
    let (mut taken, mut runs) = (0, 0);
    for _ in 0..20_000 {
        let (i, edits) = strategy.new_tree(&mut runner).unwrap().current();
        let text = mutate(&chunks[i], &edits);
        // Alone, and after another chunk (spans shifted).
        taken += usize::from(same(&text, 0, &text));
        let two = format!("{}{text}", chunks[(i + 1) % chunks.len()]);
        let base = two.len() - text.len();
        same(&two[base..], base, &two);
        runs += 1;
    }
    // Not all refused: many edits keep the text in the subset (a changed
    // name, number or spacing).
    assert!(taken * 20 >= runs, "only {taken} of {runs} taken");
}

/// The scale presets (too large to keep in the repository), every chunk
/// at the production size: `ZPRSIM_CHUNK_FILES=/tmp/wide.toml,/tmp/large.toml
/// cargo test -p zprsim-control --release fast_reader_on_files -- --ignored`.
#[test]
#[ignore = "needs generated scenario files"]
fn fast_reader_on_files() {
    let files = std::env::var("ZPRSIM_CHUNK_FILES").expect("ZPRSIM_CHUNK_FILES");
    for path in files.split(',') {
        let text = std::fs::read_to_string(path).unwrap();
        let ranges = chunks::split(&text, 16 << 10).unwrap();
        let n = ranges.len();
        let taken = ranges
            .into_iter()
            .filter(|r| same(&text[r.clone()], r.start, &text))
            .count();
        eprintln!("{path}: {taken} of {n} chunks taken");
        assert!(taken + 1 >= n, "{path}: {taken} of {n}");
    }
}

/// Pieces a text may hold before and between `[[key]]` chunks.
const TOPS: &[&str] = &[
    "name = \"n\"\n",
    "[services]\n\"osn\" = [\"134.70.0.0/17\"]\n",
    "[options]\nzpr_only = \"on\"\n",
    "options = { zpr_only = \"on\" }\n",
    "vcn = []\n",
    "# a comment\n\n",
    "x = [\n[[1]],\n]\n",
];

#[test]
fn parts_read_apart_join_as_the_whole_text_reads() {
    use proptest::strategy::{Strategy, ValueTree};
    let chunks = repo_chunks();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let piece = (
        0..chunks.len() + TOPS.len(),
        proptest::collection::vec((0usize..4096, 0usize..64, 0usize..3), 0..2),
        proptest::bool::weighted(0.8),
    );
    let strategy = (proptest::collection::vec(piece, 1..6), 1usize..400);
    let (mut taken, mut runs) = (0, 0);
    for _ in 0..5_000 {
        let (pieces, target) = strategy.new_tree(&mut runner).unwrap().current();
        let mut text = String::new();
        for (i, edits, clean) in pieces {
            let base = chunks
                .get(i)
                .map_or_else(|| TOPS[i - chunks.len()], String::as_str);
            text += &if clean {
                base.to_owned()
            } else {
                mutate(base, &edits)
            };
        }
        runs += 1;
        if let Some(raw) = parse_toml_fast(&text, target, &InOrder) {
            let whole = parse_toml_whole(&text, "s.toml")
                .ok()
                .map(|r| format!("{r:?}"));
            assert_eq!(
                Some(format!("{raw:?}")),
                whole,
                "target {target}, text:\n{text}"
            );
            taken += 1;
        }
    }
    assert!(taken * 10 >= runs, "only {taken} of {runs} taken");
}

/// The fuzz target's check holds on the repository's scenarios.
#[test]
fn the_fuzz_targets_check_holds_on_the_repositorys_scenarios() {
    for (path, text) in repo_scenarios() {
        assert!(super::fast_readers_agree(&text), "{path}");
    }
}

/// A part with more values than a document may hold is left to the crate
/// (memory stays bounded whatever the text); one value fewer is taken.
#[test]
fn a_part_past_the_node_limit_is_left_to_the_crate() {
    let with = |n: usize| {
        format!(
            "[[vcn]]\nname = \"v\"\ncidr_blocks = [{}\"a\"]\n",
            "\"a\",".repeat(n - 1)
        )
    };
    // Nodes: the root, the array of tables, the table, the name, the array
    // and its `n` strings.
    let fits = super::arena::MAX_NODES - 5;
    assert!(fast_toml::parse(&with(fits), 0).is_some());
    assert!(fast_toml::parse(&with(fits + 1), 0).is_none());
    let json = |n: usize| {
        format!(
            "{{\"vcn\": [{{\"name\": \"v\", \"cidr_blocks\": [{}\"a\"]}}]}}",
            "\"a\",".repeat(n - 1)
        )
    };
    // A batch's nodes: the strings, the array, the name, the table, the
    // batch's array and its root.
    let fits = super::arena::MAX_NODES - 5;
    assert!(super::fast_json::parse(&json(fits)).is_some());
    assert!(super::fast_json::parse(&json(fits + 1)).is_none());
}

/// Many header keys (every one but a raw scenario's dozen fields is
/// refused anyway) or many root keys with headers after them: the reader
/// gives up in time linear in the text. It looked each header's key up in
/// every key before it (and in every root key), quadratic: 40,000 `[kN]`
/// headers (300 KB) took 18 s in a debug build where the crate takes
/// 0.2 s; this text (about 1.5 MB each) took many minutes. No timing is
/// asserted: before the fix this test does not finish.
#[test]
fn many_header_keys_are_refused_in_linear_time() {
    let n = 150_000;
    let mut headers = String::from("name = \"x\"\n");
    let mut roots = String::new();
    for i in 0..n {
        headers.push_str(&format!("[k{i}]\n"));
        roots.push_str(&format!("r{i} = 1\n"));
    }
    for i in 0..n {
        roots.push_str(&format!("[[k{i}]]\n"));
    }
    assert!(fast_toml::parse(&headers, 0).is_none());
    assert!(fast_toml::parse(&roots, 0).is_none());
}

/// A document's arrays stay within [`MAX_NODES`](super::arena::MAX_NODES)
/// entries whatever the text's length, reserved room included: they were
/// reserved in proportion to the text (a 256 MiB part reserved ~1.6 GB,
/// which a host that does not overcommit refuses: an abort).
#[test]
fn a_long_part_reserves_no_more_than_the_node_limit() {
    let max = super::arena::MAX_NODES;
    let text = "# a comment line of forty bytes or so..\n".repeat(200_000);
    let (doc, _) = fast_toml::read(&text, 0).unwrap();
    assert!(doc.nodes.capacity() <= max, "{}", doc.nodes.capacity());
    assert!(doc.items.capacity() <= max, "{}", doc.items.capacity());
    assert!(doc.entries.capacity() <= max, "{}", doc.entries.capacity());
}
