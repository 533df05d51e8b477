//! `explain`'s inputs: a capture from standard input, ICMP of each family, the opener of a
//! connection tracking let go.

use assert_cmd::Command;
use serde_json::Value;

use crate::compressed_captures::json_of;
use crate::support::{OKE, cli, evicting_capture, root, run_in};

/// Found in review.
#[test]
fn explain_reads_the_capture_from_standard_input() {
    let dir = root().join("examples/oke-orders");
    let pcap = root().join("pcaps/oke-demo.pcap");
    let bytes = std::fs::read(&pcap).unwrap();
    let by_file = cli(
        &dir,
        &[
            "explain",
            "scenario.toml",
            "--capture",
            pcap.to_str().unwrap(),
            "--packet",
            "3",
            "--json",
        ],
    );
    assert_eq!(by_file.status.code(), Some(0));
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(&dir)
        .args([
            "explain",
            "scenario.toml",
            "--capture",
            "-",
            "--packet",
            "3",
            "--json",
        ])
        .write_stdin(bytes.clone())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let a: serde_json::Value = serde_json::from_slice(&by_file.stdout).unwrap();
    let mut b: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(b["capture"], "-");
    b["capture"] = a["capture"].clone();
    assert_eq!(a, b);
    // past the end: the count of records, from a stream as from a file
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(&dir)
        .args([
            "explain",
            "scenario.toml",
            "--capture",
            "-",
            "--packet",
            "99999",
        ])
        .write_stdin(bytes.clone())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "error: `--packet 99999`: `-` has 190 record(s)\n"
    );
    assert_eq!(std::fs::read(&pcap).unwrap(), bytes);
}

/// `explain --proto icmpv6` between IPv4 addresses (or `icmp` between
/// IPv6 ones) judged a packet no VNIC sends and answered allow or drop by
/// rules of the wrong family; flow-log records and `verify` refuse that
/// pairing. And two dual-stack VNICs named on both sides stood for their
/// first (IPv4) addresses, so `--proto icmpv6` explained ICMPv6 over IPv4.
///
/// Found by the twelfth session's review.
#[test]
fn explain_keeps_icmp_on_ipv4_and_icmpv6_on_ipv6() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.1.0.0/16", "fd00:1::/48"]

[[security_list]]
name = "open"
vcn = "v"
ingress_security_rules = [{ protocol = "all", source = "0.0.0.0/0" }, { protocol = "58", source = "::/0" }]
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }, { protocol = "all", destination = "::/0" }]

[[subnet]]
name = "s"
vcn = "v"
cidr_block = "10.1.1.0/24"
ipv6_cidr_blocks = ["fd00:1:0:1::/64"]
security_lists = ["open"]

[[vnic]]
name = "a"
subnet = "s"
private_ips = ["10.1.1.10", "fd00:1:0:1::10"]

[[vnic]]
name = "b"
subnet = "s"
private_ips = ["10.1.1.11", "fd00:1:0:1::11"]
"#,
    )
    .unwrap();
    let explain = |src: &str, dst: &str, proto: &str| {
        run_in(
            dir.path(),
            [
                "explain", "s.toml", "--src", src, "--dst", dst, "--proto", proto, "--json",
            ],
        )
    };
    for (src, dst, proto, want) in [
        (
            "10.1.1.10",
            "10.1.1.11",
            "icmpv6",
            "error: `--proto icmpv6` between IPv4 addresses (`10.1.1.10`, `10.1.1.11`): ICMPv6 travels over IPv6; for IPv4 write `--proto icmp`",
        ),
        (
            "fd00:1:0:1::10",
            "b",
            "1",
            "error: `--proto 1` between IPv6 addresses (`fd00:1:0:1::10`, `fd00:1:0:1::11`): ICMP travels over IPv4; for IPv6 write `--proto icmpv6`",
        ),
    ] {
        let out = explain(src, dst, proto);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end(), want);
    }
    // Named by VNIC, each side stands for its address of the family.
    for (proto, src, dst) in [
        ("icmpv6", "fd00:1:0:1::10", "fd00:1:0:1::11"),
        ("icmp", "10.1.1.10", "10.1.1.11"),
    ] {
        let out = explain("a", "b", proto);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(e["packet"]["src"], src, "{proto}");
        assert_eq!(e["packet"]["dst"], dst, "{proto}");
        assert_eq!(e["verdict"], "allow", "{proto}");
    }
}

/// `explain --capture F --packet N --max-connections 1` on a reply whose
/// connection tracking evicted said "first packet: no live connection of
/// its flow answers it", as if nothing had opened it; it now names the
/// packet that did and why tracking let it go.
///
/// Found by the eleventh session's review (branch s13-qa).
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

/// An IPv6 packet was named `tcp 2603:c020:9:1::10:49152 ->
/// 2603:c020:9:1::20:22`: `2603:c020:9:1::20:22` is itself an IPv6
/// address, so the port could not be told from the address, and copied
/// into `--dst` it named another one. Addresses with a port are written as
/// `SocketAddr` writes them now: IPv6 in brackets, IPv4 unchanged.
///
/// Found by QA round twenty-two (thirtieth session, branch s30-qa).
#[test]
fn an_ipv6_address_with_a_port_is_written_in_brackets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), crate::link_local::SCENARIO).unwrap();
    let first_line = |src: &str, dst: &str| {
        let o = run_in(
            dir.path(),
            [
                "explain", "s.toml", "--src", src, "--dst", dst, "--proto", "tcp", "--dport", "22",
            ],
        );
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        out.lines().next().unwrap_or_default().to_owned()
    };
    assert_eq!(
        first_line("2603:c020:9:1::10", "2603:c020:9:1::20"),
        "tcp [2603:c020:9:1::10]:49152 -> [2603:c020:9:1::20]:22: DROP at ingress-security"
    );
    assert_eq!(
        first_line("10.9.1.10", "10.9.1.20"),
        "tcp 10.9.1.10:49152 -> 10.9.1.20:22: DROP at egress-security"
    );
}

/// `explain` refuses a loopback end, as `replay` does not judge captured
/// loopback packets (QA round 22, B4: `--src 127.0.0.1` was judged as an
/// external address with a NAT return-path reason).
#[test]
fn explain_refuses_a_loopback_end() {
    let explain = |src: &str, dst: &str| {
        cli(
            &root(),
            &[
                "explain", OKE, "--src", src, "--dst", dst, "--proto", "tcp", "--dport", "443",
            ],
        )
    };
    for (src, dst, flag) in [
        ("127.0.0.1", "10.0.10.11", "--src 127.0.0.1"),
        ("10.0.10.11", "127.3.2.1", "--dst 127.3.2.1"),
        ("::1", "fd00::1", "--src ::1"),
    ] {
        let out = explain(src, dst);
        assert_eq!(out.status.code(), Some(2), "{src} -> {dst}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("`{flag}` is a loopback address")),
            "{src} -> {dst}: {err}"
        );
    }
    // An ordinary external address is still judged.
    let out = explain("203.0.113.7", "10.0.10.11");
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
