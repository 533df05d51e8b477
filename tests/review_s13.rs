//! Defects found in the thirteenth session's review, as real users would
//! meet them: each test fails on the code before its fix.

use std::path::Path;

use serde_json::Value;

use crate::gzip_captures::{gz, json_of, part, replay};
use crate::support::run_in;

const OKE: &str = "examples/oke-orders/scenario.toml";
const DEMO: &str = "pcaps/oke-demo.pcap";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `zcat cap-*.pcap.gz | zprsim replay s.toml -`, `cat a.pcap b.pcap`,
/// and `cat a.pcap.gz b.pcap.gz > day.pcap.gz` (what docs/cli.md's "one
/// member or several, `cat a.gz b.gz`" invites for rotated captures) put
/// captures one after the other in one input. The second capture's file
/// header was read as a record (a phantom packet), and the bytes after it
/// as a record header: `captured length 1709283600 is over the limit of
/// 262144 bytes`, exit 2, on every path (file, gzip, standard input,
/// `bench`, `explain`). A header like the first's is now skipped and the
/// records read on, as two files given in order are; one of another kind
/// is refused, naming both and the byte offset.
#[test]
fn captures_one_after_the_other_in_one_input_are_read_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    let (a, b) = (part(&demo, 0, 100), part(&demo, 100, usize::MAX));
    let cat = d.join("cat.pcap");
    std::fs::write(&cat, [a.clone(), b.clone()].concat()).unwrap();
    let gzcat = d.join("cat.pcap.gz");
    std::fs::write(&gzcat, [gz(&a), gz(&b)].concat()).unwrap();
    for workers in ["1", "2"] {
        let plain = replay(d, &[DEMO], &["--workers", workers]);
        assert_eq!(plain.2, Some(0), "{}", plain.3);
        for f in [&cat, &gzcat] {
            let got = replay(d, &[f.to_str().unwrap()], &["--workers", workers]);
            let name = format!("{} ({workers} workers)", f.display());
            assert_eq!(got.2, Some(0), "{name}: {}", got.3);
            assert!(got.0 == plain.0, "{name}: the report differs");
            assert!(got.1 == plain.1, "{name}: allowed packets differ");
        }
    }
    let plain = replay(d, &[DEMO], &[]);
    // Standard input, as `zcat *.pcap.gz |` gives it.
    let o = assert_cmd::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .args(["replay", OKE, "-", "--quiet", "--report", "-"])
        .write_stdin([a.clone(), b.clone()].concat())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["packets"], plain.0["packets"]);
    assert_eq!(s["dropped_by_stage"], plain.0["dropped_by_stage"]);
    // `bench` reads a whole buffer; `explain` numbers records as before
    // (the header is no record).
    let counts = |c: &str| {
        let v = json_of(&["bench", OKE, "--capture", c, "--json", "--workers", "1"]);
        serde_json::json!([v["packets"], v["dropped_by_stage"], v["non_ip"]])
    };
    assert_eq!(counts(cat.to_str().unwrap()), counts(DEMO));
    for n in ["100", "101", "160"] {
        let mut want = json_of(&["explain", OKE, "--capture", DEMO, "--packet", n, "--json"]);
        let c = gzcat.to_str().unwrap();
        let mut got = json_of(&["explain", OKE, "--capture", c, "--packet", n, "--json"]);
        want["capture"] = Value::Null;
        got["capture"] = Value::Null;
        assert_eq!(got, want, "packet {n}");
    }
    // A capture of another kind after the first (big-endian after
    // little-endian) is refused, naming where and both kinds.
    let ns = std::fs::read(root().join("pcaps/nanosecond_be.pcap")).unwrap();
    let mixed = d.join("mixed.pcap");
    std::fs::write(&mixed, [a.clone(), ns].concat()).unwrap();
    let o = run_in(root(), ["replay", OKE, mixed.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("byte {}: another capture's file header", a.len()))
            && err.contains("little-endian")
            && err.contains("big-endian"),
        "{err}"
    );
}

