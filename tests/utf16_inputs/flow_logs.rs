//! Flow logs saved in UTF-16, plain or compressed.

use std::path::Path;

use serde_json::Value;

use crate::support::{OKE, ex, root, run_in};

/// Flow logs saved in Windows PowerShell 5 (`oci logging-search
/// search-logs ... > log.json`, whose `>` writes UTF-16 with a byte order
/// mark and CRLF) were refused as "byte 0: not a pcap or pcapng file",
/// though `import` reads an export saved the same way. They are read as
/// the UTF-8 file is: the whole document and JSON lines, either byte
/// order, and from standard input.
///
/// Found by the eleventh session's review (branch s13-qa).
#[test]
fn flow_logs_powershell_saved_in_utf16_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let utf16 = |text: &str, be: bool| {
        let mut b = if be {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for u in text.replace('\n', "\r\n").encode_utf16() {
            b.extend(if be { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        b
    };
    let report = |input: &Path| {
        let o = run_in(
            root(),
            [
                "replay".as_ref(),
                OKE.as_ref(),
                input.as_os_str(),
                "--quiet".as_ref(),
                "--report".as_ref(),
                "-".as_ref(),
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        serde_json::json!([
            v["packets"],
            v["flow_log"]["records"],
            v["flow_log"]["judged"],
            v["warnings"]
        ])
    };
    for name in ["oke-demo.json", "oke-demo.jsonl"] {
        let plain = root().join("examples/oke-orders/flowlogs").join(name);
        let want = report(&plain);
        assert!(want[1].as_u64().is_some_and(|n| n > 0), "{want}");
        let text = std::fs::read_to_string(&plain).unwrap();
        for be in [false, true] {
            let f = d.join(format!("{be}-{name}"));
            std::fs::write(&f, utf16(&text, be)).unwrap();
            assert_eq!(report(&f), want, "{name}, big-endian {be}");
        }
        let o = assert_cmd::Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(root())
            .args(["replay", OKE, "-", "--quiet", "--report", "-"])
            .write_stdin(utf16(&text, false))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["packets"], want[0], "{name} on standard input");
    }
}

/// UTF-16 text of `text`, little- or big-endian, with or without the
/// byte order mark.
fn utf16(text: &str, be: bool, mark: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if mark {
        out.extend_from_slice(if be { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] });
    }
    for u in text.encode_utf16() {
        out.extend_from_slice(&if be { u.to_be_bytes() } else { u.to_le_bytes() });
    }
    out
}

/// A flow log Windows PowerShell saved (UTF-16) and then compressed
/// (`gzip`, `zstd`) was refused: "not JSON: key must be a string at line
/// 1 column 2" without a byte order mark, "not UTF-8 text" with one,
/// though the same file uncompressed is read (fourteenth session) and the
/// directory reader already took it for a flow log. The text inside gzip
/// and zstd is now read as UTF-16 as an uncompressed file's is, from a
/// file, a directory or standard input.
///
/// Found by the fourteenth session's review (branch s16-qa).
#[test]
fn a_compressed_utf16_flow_log_reads_as_its_utf8_copy() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = ex("examples/oke-orders/scenario.toml");
    let log = std::fs::read_to_string(root().join("examples/oke-orders/flowlogs/oke-demo.jsonl"))
        .unwrap();
    let report = |input: &str, stdin: Option<Vec<u8>>| {
        let mut c = assert_cmd::Command::cargo_bin("zprsim").unwrap();
        c.current_dir(d)
            .args(["replay", &s, input, "--quiet", "--report", "r.json"]);
        if let Some(b) = stdin {
            c.write_stdin(b);
        }
        let o = c.output().unwrap();
        assert!(
            o.status.success(),
            "{input}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
        (
            v["packets"].clone(),
            v["flows"].clone(),
            v["flow_log"]["records"].clone(),
        )
    };
    std::fs::write(d.join("plain.jsonl"), &log).unwrap();
    let want = report("plain.jsonl", None);
    assert!(want.2.as_u64().unwrap() > 0);
    for (be, mark) in [(false, false), (false, true), (true, false), (true, true)] {
        let text = utf16(&log, be, mark);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&text[..], 3).unwrap();
        std::fs::write(d.join("log.jsonl.gz"), &gz).unwrap();
        std::fs::write(d.join("log.jsonl.zst"), &zst).unwrap();
        assert_eq!(
            report("log.jsonl.gz", None),
            want,
            "gzip be {be} mark {mark}"
        );
        assert_eq!(
            report("log.jsonl.zst", None),
            want,
            "zstd be {be} mark {mark}"
        );
        assert_eq!(report("-", Some(gz)), want, "stdin be {be} mark {mark}");
        std::fs::create_dir_all(d.join("logs")).unwrap();
        std::fs::write(
            d.join("logs/a.jsonl.gz"),
            std::fs::read(d.join("log.jsonl.gz")).unwrap(),
        )
        .unwrap();
        assert_eq!(report("logs", None), want, "directory be {be} mark {mark}");
    }
}
