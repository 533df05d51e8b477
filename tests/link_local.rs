//! IPv6 neighbour discovery and loopback traffic in a replayed capture
//! (QA round twenty-one, F4 and F5; decided in the thirtieth session,
//! docs/semantics.md §2.2): counted in `non_ip` and in `link_local` or
//! `loopback`, never judged, never written to `--allowed`/`--dropped`;
//! what only looks like neighbour discovery is judged.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;
use zprsim_bench::fixtures::{l2, l3, l4};
use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};

/// One IPv6 subnet (`2603:c020:9:1::/64`) with VNICs `a` (`::10`) and `b`
/// (`::20`); its list lets in tcp/443 and lets everything out; no route
/// rule (only the VCN's local routes).
pub(crate) const SCENARIO: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.9.0.0/16", "2603:c020:9::/56"]
[[security_list]]
name = "sl"
vcn = "v"
ingress_security_rules = [{ protocol = "6", source = "::/0", tcp_options = { destination_port_range = { min = 443, max = 443 } } }]
egress_security_rules = [{ protocol = "all", destination = "::/0" }]
[[subnet]]
name = "web"
vcn = "v"
cidr_block = "10.9.1.0/24"
ipv6_cidr_blocks = ["2603:c020:9:1::/64"]
security_lists = ["sl"]
[[vnic]]
name = "a"
subnet = "web"
private_ips = ["10.9.1.10", "2603:c020:9:1::10"]
[[vnic]]
name = "b"
subnet = "web"
private_ips = ["10.9.1.20", "2603:c020:9:1::20"]
"#;

const MAC_A: [u8; 6] = [2, 0, 0, 0, 0, 0x10];
const MAC_B: [u8; 6] = [2, 0, 0, 0, 0, 0x20];

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// An Ethernet frame of an IPv6 packet with this hop limit.
fn eth6(src: Ipv6Addr, dst: Ipv6Addr, hop: u8, proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut ip = l3::ipv6(src, dst, proto, payload);
    ip[7] = hop;
    l2::ether(MAC_B, MAC_A, &[], 0x86dd, &ip)
}

/// ICMPv6 of this type with a 20-byte body (a target address and room).
fn nd(src: Ipv6Addr, dst: Ipv6Addr, hop: u8, kind: u8) -> Vec<u8> {
    eth6(src, dst, hop, 58, &l4::icmp(kind, 0, &[0; 20]))
}

/// Frames of a loopback device (`dumpcap -i lo`: both MACs zero).
fn lo(ip: &[u8]) -> Vec<u8> {
    let et = if ip[0] >> 4 == 4 { 0x0800 } else { 0x86dd };
    l2::ether([0; 6], [0; 6], &[], et, ip)
}

/// The capture: (frame, judged) in order.
fn frames() -> Vec<(Vec<u8>, bool)> {
    let (a, b) = (v6("2603:c020:9:1::10"), v6("2603:c020:9:1::20"));
    let (lla, llb) = (v6("fe80::10"), v6("fe80::20"));
    let syn = |dport| l4::tcp(40000, dport, 1, 0, 0x02, &[]);
    let loop4 = Ipv4Addr::LOCALHOST;
    vec![
        // Neighbour discovery: RS, RA, NS (resolution, DAD, NUD), NA,
        // redirect; MLD (hop limit 1).
        (nd(lla, v6("ff02::2"), 255, 133), false),
        (nd(v6("fe80::1"), v6("ff02::1"), 255, 134), false),
        (nd(lla, v6("ff02::1:ff00:20"), 255, 135), false),
        (
            nd(Ipv6Addr::UNSPECIFIED, v6("ff02::1:ff00:10"), 255, 135),
            false,
        ),
        (nd(a, b, 255, 135), false),
        (nd(llb, lla, 255, 136), false),
        (nd(v6("fe80::1"), a, 255, 137), false),
        (nd(lla, v6("ff02::16"), 1, 143), false),
        // Ordinary IPv6: allowed (443) and denied (22).
        (eth6(a, b, 64, 6, &syn(443)), true),
        (eth6(a, b, 64, 6, &syn(22)), true),
        // Look-alikes: an NS with hop limit 64 (to a unicast address: to
        // `ff02::/16` it stays on its link whatever its hop limit), an NS
        // to another /64.
        (nd(lla, llb, 64, 135), true),
        (nd(a, v6("2603:c020:9:2::30"), 255, 135), true),
        // Loopback: 127.0.0.1, ::1, and `a` to itself on `lo`.
        (
            lo(&l3::ipv4(loop4, loop4, 17, &l4::udp(5353, 53, &[]))),
            false,
        ),
        (
            lo(&l3::ipv6(
                Ipv6Addr::LOCALHOST,
                Ipv6Addr::LOCALHOST,
                6,
                &syn(8080),
            )),
            false,
        ),
        (lo(&l3::ipv6(a, a, 6, &syn(443))), false),
    ]
}

fn write_capture(path: &Path) {
    write_frames(path, &frames());
}

/// Writes `frames` (Ethernet, 1 ms apart) as a pcap at `path`.
pub(crate) fn write_frames(path: &Path, frames: &[(Vec<u8>, bool)]) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = PcapOut::create(f, OutFormat::for_link_types(&[1])).unwrap();
    for (i, (fr, _)) in frames.iter().enumerate() {
        let len = u32::try_from(fr.len()).unwrap();
        w.write(1_709_283_600_000_000_000 + i as u64 * 1_000_000, 1, len, fr)
            .unwrap();
    }
    w.finish().unwrap();
}

fn replay(dir: &Path, workers: &str) -> Value {
    let o = crate::support::run_in(
        dir,
        [
            "replay",
            "s.toml",
            "nd.pcap",
            "--quiet",
            "--report",
            "r.json",
            "--workers",
            workers,
            "--allowed",
            "ok.pcap",
            "--dropped",
            "no.pcap",
            "--flows",
            "f.jsonl",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    crate::support::report(dir, "r.json")
}

#[test]
fn neighbour_discovery_and_loopback_are_counted_not_judged() {
    let t = TempDir::new().unwrap();
    std::fs::write(t.path().join("s.toml"), SCENARIO).unwrap();
    write_capture(&t.path().join("nd.pcap"));
    let judged = frames().iter().filter(|(_, j)| *j).count();
    for workers in ["1", "3"] {
        let r = replay(t.path(), workers);
        assert_eq!(r["packets"]["total"], judged, "{}", r["packets"]);
        // 443 allowed; 22 at ingress; the look-alike with hop limit 64
        // at route (neither side a VNIC), the one to another /64 allowed
        // (an address of the VCN no VNIC holds, out through `sl`).
        let flows = std::fs::read_to_string(t.path().join("f.jsonl")).unwrap();
        assert_eq!(r["packets"]["allowed"], 2, "{flows}");
        assert_eq!(r["dropped_by_stage"]["route"], 1, "{flows}");
        assert_eq!(crate::support::json_lines(&flows), 4, "{flows}");
        assert_eq!(r["link_local"], 8, "{r:#}");
        assert_eq!(r["loopback"], 3, "{r:#}");
        assert_eq!(r["non_ip"], 11, "{r:#}");
        // The outputs hold the judged packets only.
        assert_eq!(crate::support::records(&t.path().join("ok.pcap")), 2);
        assert_eq!(crate::support::records(&t.path().join("no.pcap")), 2);
    }
    // The summary says each kind in the words `explain` uses for one.
    let o = crate::support::run_in(t.path(), ["replay", "s.toml", "nd.pcap"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    for line in [
        "  of them 8 link-scope packet(s) (IPv6 neighbour discovery, MLD, IGMP, link-local multicast, broadcast), which the VCN's virtual router handles or delivers to no one: not judged\n",
        "  of them 3 loopback packet(s) (a host to itself: 127.0.0.0/8, ::1, a loopback device), which never reach the VCN: not judged\n",
    ] {
        assert!(out.contains(line), "{out}");
    }
}

#[test]
fn explain_capture_refuses_neighbour_discovery_and_judges_a_look_alike() {
    let t = TempDir::new().unwrap();
    std::fs::write(t.path().join("s.toml"), SCENARIO).unwrap();
    write_capture(&t.path().join("nd.pcap"));
    let explain = |n: &str| {
        crate::support::run_in(
            t.path(),
            ["explain", "s.toml", "--capture", "nd.pcap", "--packet", n],
        )
    };
    let o = explain("3");
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert_eq!(
        e,
        "nd.pcap: error: packet 3 (fe80::10 -> ff02::1:ff00:20) is a link-scope packet (IPv6 neighbour discovery or MLD, IGMP, to a link-local multicast group or the broadcast address), which the VCN's virtual router handles or delivers to no one: not judged (counted in `non_ip`, as `replay` counts it)\n"
    );
    let o = explain("13");
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert_eq!(
        e,
        "nd.pcap: error: packet 13 (127.0.0.1 -> 127.0.0.1) is a packet of a host to itself (127.0.0.0/8, ::1, or captured on a loopback device), which never reaches the VCN: not judged (counted in `non_ip`, as `replay` counts it)\n"
    );
    // Packet 11 (hop limit 64) only looks like neighbour discovery.
    let o = explain("11");
    assert!(
        o.status.success() || o.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("DROP at route"), "{out}");
}
