//! Defects found in the eleventh session's review (branch s13-qa), as real users would
//! meet them: each test fails on the code before its fix.

use std::path::Path;

use serde_json::Value;

use crate::compressed_captures::{gz, json_of, part, replay};
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

/// `diff` with connection tracking past its bound (`--max-connections`,
/// or the default 4,194,304 on a week of captures: established TCP lives
/// a day). Each scenario tracks only what it allowed, so the two evict
/// different connections, and a reply only tracking admits is judged as a
/// first packet on the side that evicted its connection. Here the load
/// balancer's connection to a pod is allowed by both; then 3,000 legacy
/// connections the proposed change drops fill BEFORE's tracker (every
/// shard) and evict it there, not in AFTER; the pod's reply was then
/// "newly allowed", with no rule behind it and no sign in the report.
/// The report now counts each side's evictions and warns.
#[test]
fn a_diff_whose_tracking_evicted_connections_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("evict.pcap");
    evicting_capture(&cap);
    let run = |bound: &str| {
        let o = run_in(
            root(),
            [
                "diff",
                OKE,
                "examples/oke-orders/proposed.toml",
                cap.to_str().unwrap(),
                "--quiet",
                "--fail-on",
                "none",
                "--report",
                "-",
                "--max-connections",
                bound,
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        (r, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (r, err) = run("1");
    let evicted = r["before"]["connections_evicted"].as_u64().unwrap();
    assert!(evicted > 0, "{r}");
    assert_eq!(r["after"]["connections_evicted"].as_u64(), Some(0), "{r}");
    let warned = |w: &str| {
        w.contains(&format!(
            "evicted {evicted} connection(s) of BEFORE and 0 of AFTER"
        )) && w.contains("`--max-connections 1`")
    };
    assert!(
        r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().is_some_and(warned)),
        "{r}"
    );
    assert!(warned(&err), "{err}");
    // Unbounded (the default), nothing is evicted and no warning is given.
    let (r, err) = run("4194304");
    assert_eq!(r["before"]["connections_evicted"].as_u64(), Some(0));
    assert!(!err.contains("evicted"), "{err}");
    assert_eq!(r["flows"]["newly_allowed"].as_u64(), Some(0), "{r}");
}

/// A `.pcap.gz` that `logrotate` (its `compress` option) gzipped once
/// more was "gzip-compressed data that holds neither a pcap nor a pcapng
/// file", true but no help; a pcap after a pcapng (`cat a.pcapng b.pcap`)
/// was "pcapng block length 262146 is not valid", a corrupt file. Each is
/// now named for what it is, with what to do.
#[test]
fn a_capture_compressed_twice_or_a_pcap_after_a_pcapng_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    let twice = d.join("demo.pcap.gz.gz");
    std::fs::write(&twice, gz(&gz(&demo))).unwrap();
    let ng = std::fs::read(root().join("pcaps/two_linktypes.pcapng")).unwrap();
    let after = d.join("ng-then-pcap.pcapng");
    std::fs::write(&after, [ng.clone(), demo.clone()].concat()).unwrap();
    for (f, want) in [
        (
            &twice,
            "byte 0: gzip-compressed data that holds gzip-compressed data (compressed twice): decompress it twice (`zcat FILE | zcat > capture.pcap`)".to_string(),
        ),
        (
            &after,
            format!("byte {}: another capture's file header (pcap, link type 1", ng.len()),
        ),
    ] {
        let o = run_in(root(), ["replay", OKE, f.to_str().unwrap(), "--quiet"]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&want), "{err}");
    }
}

/// The load balancer opens a connection to a pod (allowed by the OKE
/// example and its proposed change), 3,000 legacy connections the change
/// drops follow (every shard of the tracker, so with `--max-connections
/// 1` they evict it in BEFORE only), and the pod answers (packet 3,002), a
/// reply only tracking admits.
fn evicting_capture(path: &Path) {
    use std::net::IpAddr;
    use zprsim_control::packet::Packet;

    use crate::diff::write_capture;
    use crate::replay_oracle::Pkt;

    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let (lb, pod, legacy) = (ip("10.0.1.10"), ip("10.0.10.11"), ip("10.0.20.10"));
    let t0 = 1_709_283_600_000_000_000u64;
    let mut pkts = vec![Pkt {
        p: Packet::tcp(lb, 50_000, pod, 8080),
        flags: 0x02,
        ts: t0,
    }];
    for i in 0..3000u16 {
        pkts.push(Pkt {
            p: Packet::tcp(legacy, 10_000 + i, pod, 8080),
            flags: 0x02,
            ts: t0 + 1_000_000 * (u64::from(i) + 1),
        });
    }
    pkts.push(Pkt {
        p: Packet::tcp(pod, 8080, lb, 50_000),
        flags: 0x12,
        ts: t0 + 5_000_000_000,
    });
    write_capture(path, &pkts);
}

/// `explain --capture F --packet N --max-connections 1` on a reply whose
/// connection tracking evicted said "first packet: no live connection of
/// its flow answers it", as if nothing had opened it; it now names the
/// packet that did and why tracking let it go.
#[test]
fn explain_names_the_opener_of_a_connection_tracking_let_go() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("evict.pcap");
    evicting_capture(&cap);
    let c = cap.to_str().unwrap();
    let bounded = json_of(&[
        "explain",
        OKE,
        "--capture",
        c,
        "--packet",
        "3002",
        "--max-connections",
        "1",
        "--json",
    ]);
    assert_eq!(bounded["reply"], Value::Bool(false), "{bounded}");
    let context = bounded["context"].as_str().unwrap();
    assert!(
        context.contains("no longer holds the connection packet 1 opened")
            && context.contains("`--max-connections 1`"),
        "{context}"
    );
    let unbounded = json_of(&["explain", OKE, "--capture", c, "--packet", "3002", "--json"]);
    assert_eq!(unbounded["reply"], Value::Bool(true), "{unbounded}");
    assert_eq!(unbounded["opened_by"].as_u64(), Some(1), "{unbounded}");
}

/// Flow logs saved in Windows PowerShell 5 (`oci logging-search
/// search-logs ... > log.json`, whose `>` writes UTF-16 with a byte order
/// mark and CRLF) were refused as "byte 0: not a pcap or pcapng file",
/// though `import` reads an export saved the same way. They are read as
/// the UTF-8 file is: the whole document and JSON lines, either byte
/// order, and from standard input.
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
