//! Multicast and broadcast (QA round 22 B7; decided in the thirty-first
//! session, docs/semantics.md §2.1 and §2.2, decision 35): a capture's
//! packets that stay on their link (mDNS, LLMNR, IGMP, DHCP's broadcast,
//! IPv6 link-scope groups) are counted in `link_local`, not judged;
//! routable multicast and a subnet's broadcast address are judged and drop
//! at route, even where the tables would allow them; `explain` refuses the
//! first kind as an end and explains the second.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use tempfile::TempDir;
use zprsim_bench::fixtures::{l2, l3, l4};

/// `a` (10.1.1.10, fd00:1:0:1::10) sends 0/0 and ::/0 to an internet
/// gateway, with every rule open: without decision 35, multicast and
/// broadcast were allowed.
const SCENARIO: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.1.0.0/16", "fd00:1::/48"]
[[gateway]]
name = "igw"
vcn = "v"
kind = "internet"
[[route_table]]
name = "rt"
vcn = "v"
route_rules = [{ destination = "0.0.0.0/0", network_entity = "igw" }, { destination = "::/0", network_entity = "igw" }]
[[security_list]]
name = "sl"
vcn = "v"
ingress_security_rules = [{ protocol = "all", source = "0.0.0.0/0" }, { protocol = "all", source = "::/0" }]
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }, { protocol = "all", destination = "::/0" }]
[[subnet]]
name = "s"
vcn = "v"
cidr_block = "10.1.1.0/24"
ipv6_cidr_blocks = ["fd00:1:0:1::/64"]
route_table = "rt"
security_lists = ["sl"]
[[vnic]]
name = "a"
subnet = "s"
private_ips = ["10.1.1.10", "fd00:1:0:1::10"]
public_ip = "129.146.1.1"
"#;

const A4: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 10);

fn ip4(dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    l3::ipv4(A4, Ipv4Addr::from(dst), proto, payload)
}

/// The capture: (frame, judged) in order.
fn frames() -> Vec<(Vec<u8>, bool)> {
    let eth4 = |ip: Vec<u8>| {
        l2::ether(
            [1, 0, 0x5e, 0, 0, 1],
            [2, 0, 0, 0, 0, 0x10],
            &[],
            0x0800,
            &ip,
        )
    };
    let udp = |sp, dp| l4::udp(sp, dp, b"q");
    let a6: Ipv6Addr = "fd00:1:0:1::10".parse().unwrap();
    vec![
        // Stay on the link: mDNS, LLMNR, an IGMPv3 report, an IGMPv2
        // report to its (routable) group, DHCP's discover, a broadcast.
        (eth4(ip4([224, 0, 0, 251], 17, &udp(5353, 5353))), false),
        (eth4(ip4([224, 0, 0, 252], 17, &udp(40000, 5355))), false),
        (
            eth4(ip4([224, 0, 0, 22], 2, &[0x22, 0, 0, 0, 0, 0, 0, 0])),
            false,
        ),
        (
            eth4(ip4([239, 1, 2, 3], 2, &[0x16, 0, 0, 0, 239, 1, 2, 3])),
            false,
        ),
        (
            eth4(l3::ipv4(
                Ipv4Addr::UNSPECIFIED,
                Ipv4Addr::BROADCAST,
                17,
                &udp(68, 67),
            )),
            false,
        ),
        (eth4(ip4([255; 4], 17, &udp(40000, 9))), false),
        // IPv6 mDNS.
        (
            l2::ether(
                [0x33, 0x33, 0, 0, 0, 0xfb],
                [2, 0, 0, 0, 0, 0x10],
                &[],
                0x86dd,
                &l3::ipv6(a6, "ff02::fb".parse().unwrap(), 17, &udp(5353, 5353)),
            ),
            false,
        ),
        // Judged: SSDP (routable scope), the subnet's broadcast address
        // (NetBIOS), both dropped at route; a unicast packet, allowed.
        (eth4(ip4([239, 255, 255, 250], 17, &udp(40000, 1900))), true),
        (eth4(ip4([10, 1, 1, 255], 17, &udp(137, 137))), true),
        (eth4(ip4([192, 0, 2, 7], 17, &udp(40000, 53))), true),
    ]
}

fn write_capture(path: &Path) {
    crate::link_local::write_frames(path, &frames());
}

#[test]
fn link_scope_packets_are_counted_and_routable_multicast_drops_at_route() {
    let t = TempDir::new().unwrap();
    std::fs::write(t.path().join("s.toml"), SCENARIO).unwrap();
    write_capture(&t.path().join("m.pcap"));
    let judged = frames().iter().filter(|(_, j)| *j).count();
    for workers in ["1", "3"] {
        let o = crate::support::run_in(
            t.path(),
            [
                "replay",
                "s.toml",
                "m.pcap",
                "--quiet",
                "--report",
                "r.json",
                "--workers",
                workers,
                "--dropped",
                "no.pcap",
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r = crate::support::report(t.path(), "r.json");
        assert_eq!(r["packets"]["total"], judged, "{r:#}");
        assert_eq!(r["packets"]["allowed"], 1, "{r:#}");
        assert_eq!(r["dropped_by_stage"]["route"], 2, "{r:#}");
        assert_eq!(r["link_local"], 7, "{r:#}");
        assert_eq!(r["non_ip"], 7, "{r:#}");
        assert_eq!(crate::support::records(&t.path().join("no.pcap")), 2);
    }
    let explain = |n: &str| {
        crate::support::run_in(
            t.path(),
            ["explain", "s.toml", "--capture", "m.pcap", "--packet", n],
        )
    };
    let o = explain("1");
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("-> 224.0.0.251) is a link-scope packet"), "{e}");
    for (n, why) in [
        (
            "8",
            "239.255.255.250 is a multicast address, and a VCN carries no multicast",
        ),
        (
            "9",
            "10.1.1.255 is the broadcast address of subnet `s` (10.1.1.0/24)",
        ),
    ] {
        let o = explain(n);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("DROP at route") && out.contains(why),
            "{n}: {out}"
        );
    }
}

/// `explain --src/--dst`: a link-scope end is refused (exit 2), as replay
/// does not judge it; multicast past the link, a subnet's broadcast
/// address and 0.0.0.0 are explained as drops at route with their reason
/// (exit 0), where the tables alone allowed them.
#[test]
fn explain_refuses_link_scope_ends_and_drops_other_multicast_and_broadcast_at_route() {
    let t = TempDir::new().unwrap();
    std::fs::write(t.path().join("s.toml"), SCENARIO).unwrap();
    let explain = |src: &str, dst: &str, proto: &str| {
        let mut args = vec![
            "explain", "s.toml", "--src", src, "--dst", dst, "--proto", proto,
        ];
        if proto == "udp" {
            args.extend(["--dport", "5353"]);
        }
        crate::support::run_in(t.path(), args)
    };
    for (dst, what) in [
        (
            "224.0.0.251",
            "is a link-local multicast group (224.0.0.0/24)",
        ),
        ("255.255.255.255", "is the limited broadcast address"),
    ] {
        let o = explain("a", dst, "udp");
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains(&format!("`--dst {dst}` {what}")), "{e}");
    }
    let o = explain("fd00:1:0:1::10", "ff02::1", "icmpv6");
    assert_eq!(o.status.code(), Some(2));
    let o = explain("a", "239.1.1.1", "2");
    assert_eq!(o.status.code(), Some(2), "IGMP");
    for (src, dst, why) in [
        ("a", "239.1.1.1", "239.1.1.1 is a multicast address"),
        (
            "a",
            "10.1.1.255",
            "10.1.1.255 is the broadcast address of subnet `s`",
        ),
        ("a", "0.0.0.0", "0.0.0.0 is in 0.0.0.0/8"),
        ("0.0.0.0", "a", "0.0.0.0 is in 0.0.0.0/8"),
        (
            "fd00:1:0:1::10",
            "ff05::1:3",
            "ff05::1:3 is a multicast address",
        ),
    ] {
        let o = explain(src, dst, "udp");
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{dst}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            out.contains("DROP at route") && out.contains(why),
            "{dst}: {out}"
        );
    }
    // A unicast address past the gateway is still allowed.
    let out = explain("a", "192.0.2.7", "udp");
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ALLOW"));
}

/// The corpus's mDNS captures (`/work/shared/captures/zeek/dns/mdns*.pcap`,
/// a desktop's mDNS over IPv4 and IPv6 and its IGMP and MLD): 21 drops at
/// route before, nothing judged now. Skipped without the corpus.
#[test]
fn the_corpus_mdns_captures_judge_nothing() {
    let dir = std::env::var_os("ZPRSIM_CAPTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures"),
        Into::into,
    );
    let files: Vec<_> = ["zeek/dns/mdns.pcap", "zeek/dns/mdns-no-assoc.pcap"]
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.is_file())
        .collect();
    if files.is_empty() {
        eprintln!("SKIPPED: no mDNS capture under {}", dir.display());
        return;
    }
    let t = TempDir::new().unwrap();
    std::fs::write(t.path().join("s.toml"), SCENARIO).unwrap();
    for f in files {
        let o = crate::support::run_in(
            t.path(),
            [
                "replay",
                "s.toml",
                f.to_str().unwrap(),
                "--quiet",
                "--report",
                "r.json",
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r = crate::support::report(t.path(), "r.json");
        assert_eq!(r["packets"]["total"], 0, "{}: {r:#}", f.display());
        assert!(r["link_local"].as_u64().unwrap_or(0) > 0, "{r:#}");
    }
}

/// A VNIC at an address OCI reserves (the first two and the last of an
/// IPv4 block) loads with a `reserved-address` warning naming it; the last
/// one also says its packets drop at route (QA round 23).
#[test]
fn a_vnic_at_a_reserved_address_is_a_warning() {
    let t = TempDir::new().unwrap();
    for (ip, what) in [
        (
            "10.1.1.255",
            "the last address (its broadcast address) of block 10.1.1.0/24 of subnet `s`, which OCI reserves: no VNIC can hold it; every packet to or from it drops at route",
        ),
        (
            "10.1.1.0",
            "the first address (the network's) of block 10.1.1.0/24",
        ),
        (
            "10.1.1.1",
            "the second address (the virtual router's) of block 10.1.1.0/24",
        ),
    ] {
        let s =
            format!("{SCENARIO}[[vnic]]\nname = \"b\"\nsubnet = \"s\"\nprivate_ips = [\"{ip}\"]\n");
        std::fs::write(t.path().join("s.toml"), s).unwrap();
        let o = crate::support::run_in(t.path(), ["check", "s.toml"]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{e}");
        assert!(
            e.contains(&format!("warning: vnic `b`: address `{ip}` is {what}")),
            "{e}"
        );
        let o = crate::support::run_in(t.path(), ["check", "s.toml", "--json"]);
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let codes: Vec<_> = j["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| w["code"] == "reserved-address")
            .collect();
        assert_eq!(codes.len(), 1, "{j}");
    }
    // Another address of the block: no warning.
    let s = format!(
        "{SCENARIO}[[vnic]]\nname = \"b\"\nsubnet = \"s\"\nprivate_ips = [\"10.1.1.254\"]\n"
    );
    std::fs::write(t.path().join("s.toml"), s).unwrap();
    let o = crate::support::run_in(t.path(), ["check", "s.toml"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{e}");
    assert!(!e.contains("reserved"), "{e}");
}
