//! Scenarios, policies, expectations files and packs in UTF-16.

use std::path::Path;

use serde_json::Value;

use crate::support::{root, run_in};

/// `text` as UTF-16 without a byte order mark (`iconv -t UTF-16LE`, .NET's
/// `UnicodeEncoding` without one), CRLF line ends.
fn utf16_no_mark(text: &str, big_endian: bool) -> Vec<u8> {
    text.replace('\n', "\r\n")
        .encode_utf16()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

/// UTF-16 without a byte order mark was read as UTF-8, NUL bytes and
/// all: a scenario failed with "scenario.toml:1:2: error: key with no
/// value, expected `=`", a policy file with "expected `in` or `allow`,
/// found `i\u{0}n\u{0}`", a flow log with "not JSON: key must be a
/// string". Text whose first two characters are ASCII beside NUL bytes is
/// now read as UTF-16 of that byte order, as with a mark: the same report
/// as the UTF-8 copies.
///
/// Found by the thirteenth session's review (branch s15-qa).
#[test]
fn utf16_without_a_byte_order_mark_reads_as_its_utf8_copy() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("utf8");
    crate::utf16_inputs::scenarios::oke_files(&plain, &|p, t| std::fs::write(p, t).unwrap());
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let log_text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(plain.join("log.jsonl"), &log_text).unwrap();
    let verify = ["verify", "scenario.toml", "expect.toml", "--json"];
    let replay = [
        "replay",
        "scenario.toml",
        "log.jsonl",
        "--quiet",
        "--report",
        "-",
    ];
    let want = run_in(&plain, verify);
    let want_replay = run_in(&plain, replay);
    assert_eq!(want_replay.status.code(), Some(0));
    let counts = |o: &std::process::Output| {
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        (r["packets"].clone(), r["flow_log"]["agreement"].clone())
    };
    for be in [false, true] {
        let d = dir.path().join(format!("utf16-{be}"));
        crate::utf16_inputs::scenarios::oke_files(&d, &|p, t| {
            std::fs::write(p, utf16_no_mark(t, be)).unwrap();
        });
        std::fs::write(d.join("log.jsonl"), utf16_no_mark(&log_text, be)).unwrap();
        let got = run_in(&d, verify);
        assert_eq!(
            String::from_utf8_lossy(&got.stderr),
            String::from_utf8_lossy(&want.stderr),
            "big-endian: {be}"
        );
        assert_eq!(got.stdout, want.stdout, "big-endian: {be}");
        let got = run_in(&d, replay);
        assert_eq!(
            got.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&got.stderr)
        );
        assert_eq!(counts(&got), counts(&want_replay), "big-endian: {be}");
    }
}

/// `text` as UTF-16 with its byte order mark, as Windows PowerShell 5's
/// `>` writes it (little-endian) or big-endian.
fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut b = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for u in text.encode_utf16() {
        b.extend(if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    b
}

/// The OKE example's scenario, policy file, expectations and the `oke`
/// pack as a file pack, under `dir`, each written by `write`.
pub(crate) fn oke_files(dir: &Path, write: &dyn Fn(&Path, &str)) {
    let ex = root().join("examples/oke-orders");
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    write(&dir.join("scenario.toml"), &read(&ex.join("scenario.toml")));
    write(
        &dir.join("policies/orders.zpl"),
        &read(&ex.join("policies/orders.zpl")),
    );
    let expect = read(&ex.join("expect.toml")).replace("pack = \"oke\"", "pack = \"oke.toml\"");
    assert!(expect.contains("oke.toml"));
    write(&dir.join("expect.toml"), &expect);
    write(&dir.join("oke.toml"), &read(&root().join("packs/oke.toml")));
}

/// A scenario, its policy file, an expectations file and a pack in UTF-16
/// (`oci ... > file` and `Get-Content ... > file` in Windows PowerShell 5)
/// read as their UTF-8 copies do, in either byte order; an error names the
/// line and column of the decoded text, as for the UTF-8 copy (a
/// character outside the BMP before it: two code units, one column). They
/// were refused as "byte 0: the scenario is not UTF-8 text"; only
/// `import` read UTF-16.
///
/// From the thirteenth session's planning list.
#[test]
fn utf16_scenarios_expectations_packs_and_policies_read_as_utf8_ones() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("utf8");
    oke_files(&plain, &|p, t| std::fs::write(p, t).unwrap());
    let want = run_in(&plain, ["verify", "scenario.toml", "expect.toml", "--json"]);
    assert!(
        want.status.success(),
        "{}",
        String::from_utf8_lossy(&want.stderr)
    );
    for be in [false, true] {
        let d = dir.path().join(format!("utf16-{be}"));
        oke_files(&d, &|p, t| std::fs::write(p, utf16(t, be)).unwrap());
        let got = run_in(&d, ["verify", "scenario.toml", "expect.toml", "--json"]);
        assert_eq!(
            String::from_utf8_lossy(&got.stderr),
            String::from_utf8_lossy(&want.stderr),
            "big-endian: {be}"
        );
        assert_eq!(got.stdout, want.stdout, "big-endian: {be}");
        assert_eq!(got.status.code(), want.status.code());
    }
    // An error: the same line and column as in the UTF-8 copy.
    let scenario = std::fs::read_to_string(root().join("examples/oke-orders/scenario.toml"))
        .unwrap()
        .replacen("\n", "\n# 😀 before the error\nnote = \"😀😀\" junk\n", 1);
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("u8.toml"), &scenario).unwrap();
    std::fs::write(bad.join("u16.toml"), utf16(&scenario, false)).unwrap();
    let u8 = run_in(&bad, ["check", "u8.toml"]);
    let u16 = run_in(&bad, ["check", "u16.toml"]);
    assert_eq!(u8.status.code(), Some(2));
    let (e8, e16) = (
        String::from_utf8_lossy(&u8.stderr),
        String::from_utf8_lossy(&u16.stderr),
    );
    assert!(e8.starts_with("u8.toml:3:"), "{e8}");
    assert_eq!(e16.replacen("u16.toml", "u8.toml", 1), e8);
    assert_eq!(u16.status.code(), Some(2));
    // Text that is not UTF-16 after the mark: its byte, named.
    let mut odd = utf16("[[path]]\n", false);
    odd.push(b' ');
    std::fs::write(bad.join("odd.toml"), odd).unwrap();
    let o = run_in(&bad, ["check", "odd.toml"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("byte 20: the scenario is not UTF-16 text"),
        "{err}"
    );
}
