//! Captures as users take them, beyond one interface of one host.
//!
//! `--dedup`: a capture on Linux's `any` device (`tcpdump -i any` on an
//! OKE node) holds a forwarded packet once per interface it crossed. The
//! demo capture is turned into such a capture, each IP packet followed
//! 15 µs later by its forwarded copy (TTL or hop limit one less, header
//! checksum changed, on an SLL2 interface), and replayed with and without
//! `--dedup`.
//!
//! `--decap vxlan`: an OCI VTAP mirrors its source's frames to its target
//! inside VXLAN. The demo wrapped so is judged as the demo.

use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;
use zprsim_dataplane::capture::Capture;
use zprsim_dataplane::parse;
use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};

const SLL2: u32 = 276;

/// The demo capture, as `pcaps/oke-demo.pcap` holds it.
pub(crate) fn demo(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("demo.pcap");
    std::fs::write(&p, zprsim_bench::fixtures::oke_demo().bytes).unwrap();
    p
}

/// An SLL2 frame (interface `ifindex`, outgoing) of this IP packet.
pub(crate) fn sll2(ifindex: u8, ip: &[u8]) -> Vec<u8> {
    // Protocol, reserved, interface index, ARPHRD_ETHER, outgoing,
    // address length 6, address.
    let proto: [u8; 2] = if ip[0] >> 4 == 4 {
        [8, 0]
    } else {
        [0x86, 0xdd]
    };
    let mut frame = vec![proto[0], proto[1], 0, 0, 0, 0, 0, ifindex, 0, 1, 4, 6];
    frame.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0, 0]);
    frame.extend_from_slice(ip);
    frame
}

/// The demo with each IP record followed by its forwarded copy on an SLL2
/// interface; returns how many copies it holds.
pub(crate) fn with_copies(demo: &Path, out: &Path) -> u64 {
    copies_of(demo, out, false)
}

/// As [`with_copies`]; `cooked`: the originals on an SLL2 interface too,
/// as the whole of a `tcpdump -i any` capture is.
pub(crate) fn copies_of(demo: &Path, out: &Path, cooked: bool) -> u64 {
    let c = Capture::from_bytes(std::fs::read(demo).unwrap()).unwrap();
    let f = std::fs::File::create(out).unwrap();
    let lts: &[u32] = if cooked { &[SLL2] } else { &[1, SLL2] };
    let mut w = PcapOut::create(f, OutFormat::for_link_types(lts)).unwrap();
    let mut copies = 0;
    for r in c.records() {
        let r = r.unwrap();
        let Some(at) = parse::ip_start(r.linktype, r.data) else {
            // Not IP: as it is, or left out of an all-SLL2 capture.
            if !cooked {
                w.write(r.ts_ns, r.linktype, r.orig_len, r.data).unwrap();
            }
            continue;
        };
        let orig = r.orig_len - u32::try_from(at).unwrap() + 20;
        if cooked {
            w.write(r.ts_ns, SLL2, orig, &sll2(3, &r.data[at..]))
                .unwrap();
        } else {
            w.write(r.ts_ns, r.linktype, r.orig_len, r.data).unwrap();
        }
        let mut ip = r.data[at..].to_vec();
        match ip.first().map(|b| b >> 4) {
            Some(4) if ip.len() >= 20 => {
                ip[8] = ip[8].wrapping_sub(1);
                ip[10] ^= 0x01;
            }
            Some(6) if ip.len() >= 40 => ip[7] = ip[7].wrapping_sub(1),
            _ => continue,
        }
        w.write(r.ts_ns + 15_000, SLL2, orig, &sll2(7, &ip))
            .unwrap();
        copies += 1;
    }
    w.finish().unwrap();
    copies
}

/// `zprsim replay` in `dir` with these extra arguments: its report.
pub(crate) fn replay(dir: &Path, capture: &str, extra: &[&str]) -> Value {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/scenario.toml");
    let mut args = vec![
        "replay".to_owned(),
        scenario.display().to_string(),
        capture.to_owned(),
        "--quiet".to_owned(),
        "--report".to_owned(),
        "r.json".to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let o = crate::support::run_in(dir, &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap()
}

/// What a report says about the traffic (no paths, times or rates).
pub(crate) fn counts(r: &Value) -> Value {
    let mut v = serde_json::Map::new();
    for k in [
        "packets",
        "bytes",
        "dropped_by_stage",
        "zpr_audit_would_drop",
        "flows",
        "non_ip",
        "connections",
        "rules_hit",
        "top_dropped_flows",
        "rules",
    ] {
        v.insert(k.into(), r[k].clone());
    }
    Value::Object(v)
}

/// Every record of a capture: (time, bytes).
pub(crate) fn frames(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let c = Capture::from_bytes(std::fs::read(path).unwrap()).unwrap();
    c.records()
        .map(|r| {
            let r = r.unwrap();
            (r.ts_ns, r.data.to_vec())
        })
        .collect()
}

#[test]
fn a_capture_on_every_interface_counts_each_packet_once_with_dedup() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    demo(d);
    let n = with_copies(&d.join("demo.pcap"), &d.join("any.pcapng"));
    assert!(n > 100, "{n}");

    let plain = replay(d, "demo.pcap", &["--allowed", "plain-allowed.pcap"]);
    // The demo holds no copy of its own: --dedup leaves it as it is.
    let demo_dedup = replay(d, "demo.pcap", &["--dedup"]);
    assert_eq!(demo_dedup["copies"], 0);
    assert_eq!(counts(&demo_dedup), counts(&plain));

    // Without --dedup every copy is a packet of its own; a capture that
    // is not all of Linux's `any` device is not looked at for copies.
    let twice = replay(d, "any.pcapng", &[]);
    assert_eq!(twice["copies"], 0);
    assert_eq!(twice["warnings"], serde_json::json!([]));
    assert_eq!(
        twice["packets"]["total"].as_u64().unwrap(),
        plain["packets"]["total"].as_u64().unwrap() + n
    );

    // With it, the same counts as the capture of one interface, for any
    // number of workers, and the same allowed packets written.
    for workers in ["1", "3"] {
        let once = replay(
            d,
            "any.pcapng",
            &[
                "--dedup",
                "--workers",
                workers,
                "--allowed",
                "allowed.pcapng",
            ],
        );
        assert_eq!(once["copies"].as_u64(), Some(n), "{workers} workers");
        assert_eq!(counts(&once), counts(&plain), "{workers} workers");
        assert_eq!(
            frames(&d.join("allowed.pcapng")),
            frames(&d.join("plain-allowed.pcap"))
        );
    }
}

#[test]
fn dedup_is_refused_on_flow_logs_and_diff_takes_it() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders");
    // Each capture-only flag, with flow logs, on replay and on diff: a
    // usage error before anything is read. (This check once named a file
    // that does not exist and was skipped.)
    let logs = examples.join("flowlogs/oke-demo.jsonl");
    let scenario = examples.join("scenario.toml");
    for flag in [
        &["--dedup"][..],
        &["--decap", "vxlan"],
        &["--node-local", "10.96.0.0/16"],
    ] {
        for cmd in [&["replay"][..], &["diff", scenario.to_str().unwrap()]] {
            let mut args: Vec<&str> = cmd.to_vec();
            args.extend([scenario.to_str().unwrap(), logs.to_str().unwrap()]);
            args.extend(flag);
            let o = crate::support::run_in(d, &args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("need captures"), "{args:?}: {err}");
        }
    }
    demo(d);
    let n = with_copies(&d.join("demo.pcap"), &d.join("any.pcapng"));
    let o = crate::support::run_in(
        d,
        [
            "diff".as_ref(),
            scenario.as_os_str(),
            scenario.as_os_str(),
            "any.pcapng".as_ref(),
            "--dedup".as_ref(),
            "--quiet".as_ref(),
            "--report".as_ref(),
            "d.json".as_ref(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&std::fs::read(d.join("d.json")).unwrap()).unwrap();
    assert_eq!(r["copies"].as_u64(), Some(n));
    let plain = replay(d, "demo.pcap", &[]);
    assert_eq!(r["packets"]["total"], plain["packets"]["total"]);
}

/// A whole `tcpdump -i any` capture (every record SLL2) replayed without
/// `--dedup`: the copies are judged, and the report says `--dedup` would
/// count each packet once. The same capture with `--dedup` warns nothing.
#[test]
fn a_capture_of_the_any_device_with_copies_says_dedup_is_wanted() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    demo(d);
    let n = copies_of(&d.join("demo.pcap"), &d.join("any.pcap"), true);
    let r = replay(d, "any.pcap", &[]);
    assert_eq!(r["packets"]["total"].as_u64(), Some(2 * n));
    let w = r["warnings"].to_string();
    assert!(
        w.contains(&format!("{n} of the first {} record(s)", 2 * n)) && w.contains("--dedup"),
        "{w}"
    );
    let r = replay(d, "any.pcap", &["--dedup"]);
    assert_eq!(r["packets"]["total"].as_u64(), Some(n));
    assert_eq!(r["copies"].as_u64(), Some(n));
    assert_eq!(r["warnings"], serde_json::json!([]));
}

/// The demo as a VTAP's target captures it: each frame inside outer
/// Ethernet, IPv4 from the VTAP's source host to the target, UDP 4789,
/// VXLAN (VNI 42); plus one frame of the target's own traffic (SSH).
pub(crate) fn vtap_capture(demo: &Path, out: &Path) -> u64 {
    let c = Capture::from_bytes(std::fs::read(demo).unwrap()).unwrap();
    let f = std::fs::File::create(out).unwrap();
    let mut w = PcapOut::create(f, OutFormat::for_link_types(&[1])).unwrap();
    let mut n = 0;
    for r in c.records() {
        let r = r.unwrap();
        let inner = r.data;
        let udp_len = u16::try_from(inner.len() + 16).unwrap();
        let ip_len = udp_len + 20;
        let mut frame = vec![2, 0, 0, 0, 0, 9, 2, 0, 0, 0, 0, 8, 0x08, 0x00];
        frame.extend_from_slice(&[0x45, 0]);
        frame.extend_from_slice(&ip_len.to_be_bytes());
        frame.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 200, 5, 10, 0, 200, 9]);
        frame.extend_from_slice(&[0xd4, 0x31, 0x12, 0xb5]);
        frame.extend_from_slice(&udp_len.to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0x08, 0, 0, 0, 0, 0, 42, 0]);
        frame.extend_from_slice(inner);
        let extra = u32::try_from(frame.len() - inner.len()).unwrap();
        w.write(r.ts_ns, 1, r.orig_len + extra, &frame).unwrap();
        n += 1;
    }
    // The target's own SSH session: not VXLAN, judged as captured.
    let mut ssh = vec![2, 0, 0, 0, 0, 9, 2, 0, 0, 0, 0, 8, 0x08, 0x00];
    ssh.extend_from_slice(&[
        0x45, 0, 0, 40, 0, 2, 0x40, 0, 64, 6, 0, 0, 10, 0, 200, 7, 10, 0, 200, 9,
    ]);
    ssh.extend_from_slice(&[
        0xc3, 0x50, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 0xff, 0xff, 0, 0, 0, 0,
    ]);
    w.write(4_000_000_000_000_000_000, 1, 54, &ssh).unwrap();
    w.finish().unwrap();
    n
}

#[test]
fn a_vtap_capture_is_judged_as_the_mirrored_traffic_with_decap_vxlan() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    demo(d);
    let n = vtap_capture(&d.join("demo.pcap"), &d.join("vtap.pcap"));
    let plain = replay(d, "demo.pcap", &["--allowed", "plain-allowed.pcap"]);

    // As captured: n + 1 packets, the mirror a single flow.
    let mirror = replay(d, "vtap.pcap", &[]);
    assert_eq!(mirror["packets"]["total"].as_u64(), Some(n + 1));
    assert_eq!(mirror["decapsulated"], 0);

    for workers in ["1", "2"] {
        let r = replay(
            d,
            "vtap.pcap",
            &[
                "--decap",
                "vxlan",
                "--workers",
                workers,
                "--allowed",
                "inner.pcap",
            ],
        );
        assert_eq!(r["decapsulated"].as_u64(), Some(n));
        // The demo's verdicts, plus the one SSH packet judged as captured.
        assert_eq!(
            r["packets"]["total"].as_u64(),
            plain["packets"]["total"].as_u64().map(|t| t + 1)
        );
        // The SSH packet is between two unassigned addresses of the VCN:
        // dropped at route ("neither side is a VNIC").
        let stage = |x: &Value, k: &str| x["dropped_by_stage"][k].as_u64().unwrap();
        assert_eq!(stage(&r, "route"), stage(&plain, "route") + 1);
        for k in ["egress-security", "ingress-security", "zpr", "malformed"] {
            assert_eq!(stage(&r, k), stage(&plain, k), "{k}");
        }
        assert_eq!(r["flows"].as_u64(), plain["flows"].as_u64().map(|f| f + 1));
        let w = r["warnings"].to_string();
        assert!(w.contains("1 record(s) were not VXLAN on UDP 4789"), "{w}");
        // The allowed inner frames are the demo's allowed frames.
        let inner: Vec<_> = frames(&d.join("inner.pcap"))
            .into_iter()
            .filter(|(ts, _)| *ts < 4_000_000_000_000_000_000)
            .collect();
        assert_eq!(
            inner,
            frames(&d.join("plain-allowed.pcap")),
            "{workers} workers"
        );
    }
}

/// `explain --capture --packet N --decap vxlan` on the VTAP capture
/// explains the demo's packet N: the same packet, context and layers.
#[test]
fn explain_opens_the_vtap_frame_too() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    demo(d);
    vtap_capture(&d.join("demo.pcap"), &d.join("vtap.pcap"));
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/scenario.toml");
    let explain = |capture: &str, n: u64, extra: &[&str]| {
        let mut args = vec![
            "explain".to_owned(),
            scenario.display().to_string(),
            "--capture".to_owned(),
            capture.to_owned(),
            "--packet".to_owned(),
            n.to_string(),
            "--json".to_owned(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let o = crate::support::run_in(d, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut v: Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_object_mut().unwrap().remove("capture");
        v
    };
    let mut differs = 0;
    for n in [1, 2, 3, 20, 57, 120, 188] {
        let want = explain("demo.pcap", n, &[]);
        assert_eq!(
            explain("vtap.pcap", n, &["--decap", "vxlan"]),
            want,
            "packet {n}"
        );
        differs += usize::from(explain("vtap.pcap", n, &[]) != want);
    }
    // Without --decap it is the mirror that is explained.
    assert_eq!(differs, 7);
}

/// `--node-local`: a capture on a node holds a pod's packets to a
/// service's ClusterIP (before kube-proxy rewrites them) beside the
/// rewritten ones. The demo with a ClusterIP twin before each IPv4
/// packet of a pod: with `--node-local 10.96.0.0/16` the same counts as
/// the demo; without it, the twins are judged (and routed out of the VCN).
#[test]
fn node_local_leaves_out_the_cluster_ip_side_of_a_node_capture() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    demo(d);
    let c = Capture::from_bytes(std::fs::read(d.join("demo.pcap")).unwrap()).unwrap();
    let f = std::fs::File::create(d.join("node.pcap")).unwrap();
    let mut w = PcapOut::create(f, OutFormat::for_link_types(&[1])).unwrap();
    let mut twins = 0u64;
    for r in c.records() {
        let r = r.unwrap();
        if let Some(at) = parse::ip_start(r.linktype, r.data)
            && r.data[at] >> 4 == 4
            && r.data.len() >= at + 20
        {
            let mut twin = r.data.to_vec();
            twin[at + 16..at + 20].copy_from_slice(&[10, 96, 0, 10]);
            w.write(r.ts_ns.saturating_sub(5_000), 1, r.orig_len, &twin)
                .unwrap();
            twins += 1;
        }
        w.write(r.ts_ns, r.linktype, r.orig_len, r.data).unwrap();
    }
    w.finish().unwrap();
    assert!(twins > 50);
    let plain = replay(d, "demo.pcap", &[]);
    let judged = replay(d, "node.pcap", &[]);
    assert_eq!(
        judged["packets"]["total"].as_u64(),
        plain["packets"]["total"].as_u64().map(|t| t + twins)
    );
    for workers in ["1", "2"] {
        let r = replay(
            d,
            "node.pcap",
            &["--node-local", "10.96.0.0/16", "--workers", workers],
        );
        assert_eq!(r["node_local"].as_u64(), Some(twins));
        assert_eq!(counts(&r), counts(&plain), "{workers} workers");
    }
    // A prefix that is not one: a usage error.
    let o = crate::support::run_in(
        d,
        [
            "replay",
            "../x.toml",
            "node.pcap",
            "--node-local",
            "10.96.0.0/99",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("neither a CIDR"));
}

/// `diff --decap vxlan` on a VTAP's capture tells what the change does to
/// the mirrored traffic: the changed flows (`--flows`) are those of the
/// demo itself, and the target's own SSH packet is one more unchanged flow.
/// A guard for `diff` as the engine's compared pass, whose oracle
/// (`tests/diff_oracle.rs`) has no VXLAN capture; the build before that
/// change gives the same `--flows` on this capture (checked by hand).
#[test]
fn diff_with_decap_vxlan_compares_the_mirrored_traffic() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    demo(d);
    let n = vtap_capture(&d.join("demo.pcap"), &d.join("vtap.pcap"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let diff = |capture: &str, extra: &[&str]| {
        let mut args = vec![
            "diff".to_owned(),
            root.join("examples/oke-orders/scenario.toml")
                .display()
                .to_string(),
            root.join("examples/oke-orders/proposed.toml")
                .display()
                .to_string(),
            capture.to_owned(),
            "--quiet".to_owned(),
            "--fail-on".to_owned(),
            "none".to_owned(),
            "--report".to_owned(),
            "d.json".to_owned(),
            "--flows".to_owned(),
            "d.jsonl".to_owned(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let o = crate::support::run_in(d, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r: Value = serde_json::from_slice(&std::fs::read(d.join("d.json")).unwrap()).unwrap();
        (r, std::fs::read_to_string(d.join("d.jsonl")).unwrap())
    };
    let (plain, plain_flows) = diff("demo.pcap", &[]);
    assert!(
        !plain_flows.is_empty(),
        "the demo's change has changed flows"
    );
    for workers in ["1", "2"] {
        let (r, flows) = diff("vtap.pcap", &["--decap", "vxlan", "--workers", workers]);
        assert_eq!(flows, plain_flows, "{workers} worker(s)");
        assert_eq!(r["decapsulated"].as_u64(), Some(n));
        assert_eq!(r["flows"]["would_break"], plain["flows"]["would_break"]);
        assert_eq!(r["flows"]["newly_allowed"], plain["flows"]["newly_allowed"]);
        assert_eq!(
            r["flows"]["reason_changed"],
            plain["flows"]["reason_changed"]
        );
        let unchanged = |x: &Value| x["flows"]["unchanged"].as_u64().unwrap();
        assert_eq!(unchanged(&r), unchanged(&plain) + 1);
        assert_eq!(r["would_break"], plain["would_break"]);
    }
}

/// `zprsim replay` of the OKE example reading `capture` from standard
/// input (`-`), with these extra arguments: its report.
fn replay_stdin(dir: &Path, capture: &str, extra: &[&str]) -> Value {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/scenario.toml");
    let mut args = vec![
        "replay".to_owned(),
        scenario.display().to_string(),
        "-".to_owned(),
        "--quiet".to_owned(),
        "--report".to_owned(),
        "r.json".to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let o = assert_cmd::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(dir)
        .args(&args)
        .write_stdin(std::fs::read(dir.join(capture)).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap()
}

/// A capture of every interface read from a pipe, with `--dedup`: the
/// same copies, counts and allowed packets as the file, for any workers.
///
/// From the session 10 review.
#[test]
fn dedup_on_standard_input_reads_as_the_file_does() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    demo(d);
    let n = with_copies(&d.join("demo.pcap"), &d.join("any.pcapng"));
    let file = replay(
        d,
        "any.pcapng",
        &["--dedup", "--allowed", "file-allowed.pcapng"],
    );
    assert_eq!(file["copies"].as_u64(), Some(n));
    for workers in ["1", "3"] {
        let piped = replay_stdin(
            d,
            "any.pcapng",
            &[
                "--dedup",
                "--workers",
                workers,
                "--allowed",
                "allowed.pcapng",
            ],
        );
        assert_eq!(piped["copies"], file["copies"], "{workers} workers");
        assert_eq!(counts(&piped), counts(&file), "{workers} workers");
        assert_eq!(
            frames(&d.join("allowed.pcapng")),
            frames(&d.join("file-allowed.pcapng")),
            "{workers} workers"
        );
    }
}

/// A VTAP capture read from a pipe, with `--decap vxlan`: judged as the
/// file is.
///
/// From the session 10 review.
#[test]
fn decap_on_standard_input_reads_as_the_file_does() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    demo(d);
    let n = vtap_capture(&d.join("demo.pcap"), &d.join("vtap.pcap"));
    let file = replay(
        d,
        "vtap.pcap",
        &["--decap", "vxlan", "--allowed", "file-inner.pcap"],
    );
    assert_eq!(file["decapsulated"].as_u64(), Some(n));
    for workers in ["1", "2"] {
        let piped = replay_stdin(
            d,
            "vtap.pcap",
            &[
                "--decap",
                "vxlan",
                "--workers",
                workers,
                "--allowed",
                "inner.pcap",
            ],
        );
        assert_eq!(piped["decapsulated"], file["decapsulated"]);
        assert_eq!(counts(&piped), counts(&file), "{workers} workers");
        assert_eq!(
            frames(&d.join("inner.pcap")),
            frames(&d.join("file-inner.pcap")),
            "{workers} workers"
        );
    }
}

/// An SLL2 frame of this IP packet, incoming, on interface `ifindex` of
/// ARPHRD type `hatype` (1 Ethernet, 772 loopback).
fn sll2_on(hatype: u16, ifindex: u8, ip: &[u8]) -> Vec<u8> {
    let proto: [u8; 2] = if ip[0] >> 4 == 4 {
        [8, 0]
    } else {
        [0x86, 0xdd]
    };
    let [h0, h1] = hatype.to_be_bytes();
    let mut frame = vec![proto[0], proto[1], 0, 0, 0, 0, 0, ifindex, h0, h1, 0, 6];
    frame.extend_from_slice(&[0; 8]);
    frame.extend_from_slice(ip);
    frame
}

/// QA round twenty-one: `tcpdump -i any` on a node (the usual habit,
/// docs/cli.md `--dedup`) captures the loopback device too, whose frames
/// never reach the VCN: a node's kubelet reached at its own address, a
/// ping of 127.0.0.1 (the real-world `linux_dlt_sll2.pcap` holds 4 such
/// frames). They were judged: the node's own 10250 dropped at ZPR (with a
/// hint to open every node's 10250 to every node), 127.0.0.1 at route,
/// and `--fail-on-drop` failed on traffic no VCN layer sees. A Linux
/// cooked frame (SLL, SLL2) of ARPHRD_LOOPBACK is now counted with the
/// frames that are not IP, as `non_ip`, and never judged.
#[test]
fn frames_of_the_loopback_device_in_an_any_capture_are_not_judged() {
    use std::net::Ipv4Addr;
    use zprsim_bench::fixtures::{l3, l4};
    let t = TempDir::new().unwrap();
    let node = Ipv4Addr::new(10, 0, 2, 11);
    let api = Ipv4Addr::new(10, 0, 0, 5);
    let lo = Ipv4Addr::LOCALHOST;
    let syn =
        |src, dst, sport, dport| l3::ipv4(src, dst, 6, &l4::tcp(sport, dport, 1, 0, 0x02, &[]));
    let frames = [
        sll2_on(772, 1, &syn(node, node, 40000, 10250)),
        sll2_on(772, 1, &l3::ipv4(lo, lo, 1, &l4::icmp(8, 0, &[0, 1, 0, 1]))),
        sll2_on(1, 2, &syn(node, api, 41000, 6443)),
    ];
    let path = t.path().join("any.pcap");
    let f = std::fs::File::create(&path).unwrap();
    let mut w = PcapOut::create(f, OutFormat::for_link_types(&[SLL2])).unwrap();
    for (i, fr) in frames.iter().enumerate() {
        let len = u32::try_from(fr.len()).unwrap();
        w.write(
            1_709_283_600_000_000_000 + i as u64 * 1_000_000,
            SLL2,
            len,
            fr,
        )
        .unwrap();
    }
    w.finish().unwrap();
    let r = replay(t.path(), "any.pcap", &["--fail-on-drop"]);
    assert_eq!(r["packets"]["total"], 1, "{}", r["packets"]);
    assert_eq!(r["packets"]["dropped"], 0, "{}", r["packets"]);
    assert_eq!(r["non_ip"], 2);
    // explain --capture refuses such a frame, saying why.
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/scenario.toml");
    let o = crate::support::zprsim()
        .current_dir(t.path())
        .arg("explain")
        .arg(&scenario)
        .args(["--capture", "any.pcap", "--packet", "1"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("packet 1 (byte offset 24) is captured on the loopback device"),
        "{e}"
    );
}
