//! The packet input layer: capture files, frame parsing, output captures
//! and Community IDs. Every fixture is built in the test from its fields.

// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
use common::etherparse_tuple;
use std::net::IpAddr;

use zprsim_control::packet::{L4, Packet};
use zprsim_dataplane::capture::{
    Capture, CaptureError, CaptureFormat, CaptureWarning, FormatError, MAX_CAPLEN, Record,
};
use zprsim_dataplane::community_id::{FlowKey, community_id};
use zprsim_dataplane::parse::{Parsed, linktype, parse_frame};
use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

// ---------------------------------------------------------------- frames

mod build {
    //! Frame builders: each returns the bytes of one header plus payload.

    pub const SRC4: [u8; 4] = [192, 0, 2, 1];
    pub const DST4: [u8; 4] = [198, 51, 100, 7];
    pub const SRC6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    pub const DST6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    pub fn ipv4(proto: u8, opts: &[u8], frag: u16, payload: &[u8]) -> Vec<u8> {
        let ihl = 20 + opts.len();
        assert_eq!(ihl % 4, 0);
        let total = u16::try_from(ihl + payload.len()).unwrap().to_be_bytes();
        let ihl_words = u8::try_from(ihl / 4).unwrap();
        let f = frag.to_be_bytes();
        let mut v = vec![
            0x40 | ihl_words,
            0,
            total[0],
            total[1],
            0x12,
            0x34,
            f[0],
            f[1],
            64,
            proto,
            0,
            0,
        ];
        v.extend_from_slice(&SRC4);
        v.extend_from_slice(&DST4);
        v.extend_from_slice(opts);
        v.extend_from_slice(payload);
        v
    }

    pub fn ipv6(nh: u8, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(payload.len()).unwrap().to_be_bytes();
        let mut v = vec![0x60, 0, 0, 0, len[0], len[1], nh, 64];
        v.extend_from_slice(&SRC6);
        v.extend_from_slice(&DST6);
        v.extend_from_slice(payload);
        v
    }

    /// An IPv6 extension header of `(units + 1) * 8` bytes.
    pub fn ext(nh: u8, units: u8, rest: &[u8]) -> Vec<u8> {
        let mut v = vec![nh, units];
        v.resize((usize::from(units) + 1) * 8, 1);
        v.extend_from_slice(rest);
        v
    }

    pub fn frag6(nh: u8, offset: u16, more: bool, rest: &[u8]) -> Vec<u8> {
        let fo = ((offset << 3) | u16::from(more)).to_be_bytes();
        let mut v = vec![nh, 0, fo[0], fo[1], 0, 0, 0, 42];
        v.extend_from_slice(rest);
        v
    }

    /// A 16-byte AH header (payload length field 2).
    pub fn ah(nh: u8, rest: &[u8]) -> Vec<u8> {
        let mut v = vec![nh, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd];
        v.extend_from_slice(rest);
        v
    }

    pub fn tcp(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&sport.to_be_bytes());
        v.extend_from_slice(&dport.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        v
    }

    pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&sport.to_be_bytes());
        v.extend_from_slice(&dport.to_be_bytes());
        v.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    }

    pub fn icmp(t: u8, c: u8) -> Vec<u8> {
        vec![t, c, 0, 0, 0, 1, 0, 1]
    }

    pub fn gre() -> Vec<u8> {
        vec![0, 0, 0x08, 0x00, 0x45, 0]
    }

    pub fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        v.extend_from_slice(&ethertype.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    /// Ethernet with VLAN tags: `tags` are the tag ethertypes, outermost
    /// first; `inner` is the final ethertype.
    pub fn eth_vlan(tags: &[u16], inner: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        v.extend_from_slice(&tags[0].to_be_bytes());
        for (i, _) in tags.iter().enumerate() {
            v.extend_from_slice(&[0, u8::try_from(10 + i).unwrap()]);
            let next = tags.get(i + 1).copied().unwrap_or(inner);
            v.extend_from_slice(&next.to_be_bytes());
        }
        v.extend_from_slice(payload);
        v
    }

    pub fn sll(protocol: u16, arphrd: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0];
        v.extend_from_slice(&arphrd.to_be_bytes());
        v.extend_from_slice(&[0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        v.extend_from_slice(&protocol.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    pub fn sll2(protocol: u16, arphrd: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&protocol.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 0, 0, 3]);
        v.extend_from_slice(&arphrd.to_be_bytes());
        v.extend_from_slice(&[0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        v.extend_from_slice(payload);
        v
    }

    pub fn null(family: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = family.to_vec();
        v.extend_from_slice(payload);
        v
    }
}

use build::*;

/// A handcrafted frame and what parsing it must give.
struct Case {
    name: &'static str,
    linktype: u32,
    frame: Vec<u8>,
    packet: Packet,
    tcp_flags: u8,
    /// The shortest prefix that still gives `packet`.
    need: usize,
    /// Offset of the TCP flags byte, when there is one.
    flags_at: Option<usize>,
}

fn p4(proto: u8, l4: L4) -> Packet {
    Packet {
        src: IpAddr::from(SRC4),
        dst: IpAddr::from(DST4),
        proto,
        l4,
    }
}

fn p6(proto: u8, l4: L4) -> Packet {
    Packet {
        src: IpAddr::from(SRC6),
        dst: IpAddr::from(DST6),
        proto,
        l4,
    }
}

fn ports(sport: u16, dport: u16) -> L4 {
    L4::Ports { sport, dport }
}

#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    let syn = 0x02;
    let mut v = Vec::new();
    let tcp_case = |name, linktype, frame: Vec<u8>, l4_at: usize, packet: Packet| Case {
        name,
        linktype,
        need: l4_at + 4,
        flags_at: Some(l4_at + 13),
        frame,
        packet,
        tcp_flags: syn,
    };
    v.push(tcp_case(
        "ethernet ipv4 tcp",
        linktype::ETHERNET,
        eth(0x0800, &ipv4(6, &[], 0, &tcp(40000, 443, syn))),
        34,
        p4(6, ports(40000, 443)),
    ));
    v.push(tcp_case(
        "ethernet qinq ipv6 tcp",
        linktype::ETHERNET,
        eth_vlan(&[0x88a8, 0x8100], 0x86dd, &ipv6(6, &tcp(1234, 22, syn))),
        22 + 40,
        p6(6, ports(1234, 22)),
    ));
    v.push(tcp_case(
        "raw ipv4 with options tcp",
        linktype::RAW,
        ipv4(6, &[1, 1, 1, 0], 0, &tcp(5, 6, syn)),
        24,
        p4(6, ports(5, 6)),
    ));
    v.push(tcp_case(
        "raw ipv4 first fragment tcp",
        linktype::IPV4,
        ipv4(6, &[], 0x2000, &tcp(7000, 80, syn)),
        20,
        p4(6, ports(7000, 80)),
    ));
    v.push(tcp_case(
        "ipv6 hop-by-hop routing destination tcp",
        linktype::IPV6,
        ipv6(
            0,
            &[
                ext(43, 0, &[]),
                ext(60, 1, &[]),
                ext(6, 0, &tcp(9, 10, syn)),
            ]
            .concat(),
        ),
        40 + 8 + 16 + 8,
        p6(6, ports(9, 10)),
    ));
    v.push(tcp_case(
        "ipv6 ah tcp",
        linktype::RAW,
        ipv6(51, &ah(6, &tcp(11, 12, syn))),
        56,
        p6(6, ports(11, 12)),
    ));
    v.push(tcp_case(
        "null little-endian ipv4 tcp",
        linktype::NULL,
        null([2, 0, 0, 0], &ipv4(6, &[], 0, &tcp(13, 14, syn))),
        24,
        p4(6, ports(13, 14)),
    ));
    v.push(tcp_case(
        "sll2 ipv6 tcp",
        linktype::LINUX_SLL2,
        sll2(0x86dd, 1, &ipv6(6, &tcp(15, 16, syn))),
        60,
        p6(6, ports(15, 16)),
    ));

    let other = |name, linktype, frame: Vec<u8>, need: usize, packet: Packet| Case {
        name,
        linktype,
        need,
        flags_at: None,
        frame,
        packet,
        tcp_flags: 0,
    };
    v.push(other(
        "ethernet vlan ipv4 udp",
        linktype::ETHERNET,
        eth_vlan(&[0x8100], 0x0800, &ipv4(17, &[], 0, &udp(5353, 53, b"q"))),
        18 + 24,
        p4(17, ports(5353, 53)),
    ));
    v.push(other(
        "ethernet three 0x9100 tags ipv4 icmp",
        linktype::ETHERNET,
        eth_vlan(
            &[0x9100, 0x9100, 0x8100],
            0x0800,
            &ipv4(1, &[], 0, &icmp(8, 0)),
        ),
        26 + 22,
        p4(
            1,
            L4::Icmp {
                icmp_type: 8,
                code: 0,
            },
        ),
    ));
    // Ethernet padding after a short IPv4 packet: total length clips it.
    let mut padded = eth(0x0800, &ipv4(17, &[], 0, &udp(1, 2, &[])));
    padded.resize(60, 0xee);
    v.push(other(
        "ethernet padded ipv4 udp",
        linktype::ETHERNET,
        padded,
        38,
        p4(17, ports(1, 2)),
    ));
    v.push(other(
        "sll ipv4 udp",
        linktype::LINUX_SLL,
        sll(0x0800, 1, &ipv4(17, &[], 0, &udp(67, 68, &[0; 4]))),
        40,
        p4(17, ports(67, 68)),
    ));
    v.push(other(
        "sll vlan ipv6 icmpv6",
        linktype::LINUX_SLL,
        sll(
            0x8100,
            1,
            &[&[0u8, 5, 0x86, 0xdd][..], &ipv6(58, &icmp(135, 0))].concat(),
        ),
        20 + 42,
        p6(
            58,
            L4::Icmp {
                icmp_type: 135,
                code: 0,
            },
        ),
    ));
    v.push(other(
        "dlt 12 raw ipv6 icmpv6",
        linktype::RAW_DLT12,
        ipv6(58, &icmp(128, 0)),
        42,
        p6(
            58,
            L4::Icmp {
                icmp_type: 128,
                code: 0,
            },
        ),
    ));
    v.push(other(
        "dlt 14 raw ipv4 gre",
        linktype::RAW_DLT14,
        ipv4(47, &[], 0, &gre()),
        20,
        p4(47, L4::Opaque),
    ));
    v.push(other(
        "ipv4 non-first fragment udp",
        linktype::ETHERNET,
        eth(0x0800, &ipv4(17, &[], 185, &[1, 2, 3, 4, 5, 6, 7, 8])),
        34,
        p4(17, L4::Fragment),
    ));
    v.push(other(
        "ipv4 last fragment (offset, no MF) udp",
        linktype::IPV4,
        ipv4(17, &[], 0x0001, &[9; 8]),
        20,
        p4(17, L4::Fragment),
    ));
    v.push(other(
        "ipv6 first fragment udp",
        linktype::IPV6,
        ipv6(44, &frag6(17, 0, true, &udp(500, 4500, &[0; 16]))),
        52,
        p6(17, ports(500, 4500)),
    ));
    v.push(other(
        "ipv6 non-first fragment udp",
        linktype::ETHERNET,
        eth(
            0x86dd,
            &ipv6(60, &ext(44, 0, &frag6(17, 100, false, &[0; 16]))),
        ),
        14 + 40 + 8 + 8,
        p6(17, L4::Fragment),
    ));
    v.push(other(
        "ipv4 ah udp",
        linktype::RAW,
        ipv4(51, &[], 0, &ah(17, &udp(4500, 4500, &[]))),
        40,
        p4(17, ports(4500, 4500)),
    ));
    v.push(other(
        "ipv6 esp",
        linktype::IPV6,
        ipv6(50, &[0; 24]),
        40,
        p6(50, L4::Opaque),
    ));
    v.push(other(
        "ipv6 mobility header, no next header",
        linktype::IPV6,
        ipv6(135, &ext(59, 1, &[])),
        56,
        p6(135, L4::Opaque),
    ));
    v.push(other(
        "null big-endian host ipv6 udp",
        linktype::NULL,
        null([0, 0, 0, 24], &ipv6(17, &udp(1, 2, &[]))),
        48,
        p6(17, ports(1, 2)),
    ));
    v.push(other(
        "null darwin ipv6 udp",
        linktype::NULL,
        null([30, 0, 0, 0], &ipv6(17, &udp(3, 4, &[]))),
        48,
        p6(17, ports(3, 4)),
    ));
    v.push(other(
        "loop ipv4 icmp",
        linktype::LOOP,
        null([0, 0, 0, 2], &ipv4(1, &[], 0, &icmp(3, 1))),
        26,
        p4(
            1,
            L4::Icmp {
                icmp_type: 3,
                code: 1,
            },
        ),
    ));
    v.push(other(
        "loop freebsd ipv6 tcp",
        linktype::LOOP,
        null([0, 0, 0, 28], &ipv6(6, &tcp(80, 8080, 0x12))),
        48,
        p6(6, ports(80, 8080)),
    ));
    // The last case carries flags 0x12 but was built with `other`: fix it.
    if let Some(c) = v.last_mut() {
        c.tcp_flags = 0x12;
        c.flags_at = Some(4 + 40 + 13);
    }
    v
}

#[test]
fn full_frames_give_their_fields() {
    for c in cases() {
        let got = parse_frame(c.linktype, &c.frame);
        let Parsed::Ip(meta) = got else {
            panic!("{}: {got:?}", c.name);
        };
        assert_eq!(meta.packet, c.packet, "{}", c.name);
        assert_eq!(meta.tcp_flags, c.tcp_flags, "{}", c.name);
    }
}

#[test]
fn every_prefix_is_judged_or_malformed() {
    let mut checked = 0;
    for c in cases() {
        for len in 0..=c.frame.len() {
            let got = parse_frame(c.linktype, &c.frame[..len]);
            if len < c.need {
                assert!(
                    matches!(got, Parsed::Malformed { offset, .. } if offset <= len),
                    "{} cut at {len}: {got:?}",
                    c.name
                );
            } else {
                let Parsed::Ip(meta) = got else {
                    panic!("{} cut at {len}: {got:?}", c.name);
                };
                assert_eq!(meta.packet, c.packet, "{} cut at {len}", c.name);
                let flags = match c.flags_at {
                    Some(at) if len > at => c.tcp_flags,
                    _ => 0,
                };
                assert_eq!(meta.tcp_flags, flags, "{} cut at {len}", c.name);
            }
            checked += 1;
        }
    }
    assert!(checked > 1400, "{checked} prefixes");
}

#[test]
fn malformed_layers_and_offsets() {
    let m = |layer, offset| Parsed::Malformed { layer, offset };
    // Bad IHL (4 words).
    let mut bad_ihl = ipv4(6, &[], 0, &tcp(1, 2, 0));
    bad_ihl[0] = 0x44;
    assert_eq!(parse_frame(linktype::RAW, &bad_ihl), m("ipv4", 0));
    // Version 6 behind an IPv4 ethertype.
    assert_eq!(
        parse_frame(linktype::ETHERNET, &eth(0x0800, &ipv6(6, &tcp(1, 2, 0)))),
        m("ipv4", 14)
    );
    // Version 4 in a raw IPv6 link type, and version 5 in raw IP.
    assert_eq!(
        parse_frame(linktype::IPV6, &ipv4(6, &[], 0, &tcp(1, 2, 0))),
        m("ipv6", 0)
    );
    let mut v5 = ipv4(6, &[], 0, &tcp(1, 2, 0));
    v5[0] = 0x55;
    assert_eq!(parse_frame(linktype::RAW, &v5), m("ip", 0));
    // Total length under the header length.
    let mut short_total = ipv4(6, &[], 0, &tcp(1, 2, 0));
    short_total[2..4].copy_from_slice(&19u16.to_be_bytes());
    assert_eq!(parse_frame(linktype::RAW, &short_total), m("ipv4", 0));
    // Total length that ends inside the ports, with bytes after it.
    let mut clipped = ipv4(17, &[], 0, &udp(1, 2, &[0; 8]));
    clipped[2..4].copy_from_slice(&22u16.to_be_bytes());
    assert_eq!(parse_frame(linktype::RAW, &clipped), m("udp", 20));
    // TCP data offset under 5 words.
    let mut doff = tcp(1, 2, 0);
    doff[12] = 0x40;
    assert_eq!(
        parse_frame(linktype::RAW, &ipv4(6, &[], 0, &doff)),
        m("tcp", 20)
    );
    // An extension header longer than the payload length says.
    let mut long_ext = ipv6(60, &ext(6, 1, &tcp(1, 2, 0)));
    long_ext[4..6].copy_from_slice(&8u16.to_be_bytes());
    assert_eq!(parse_frame(linktype::RAW, &long_ext), m("ipv6-ext", 40));
    // Exactly MAX_IPV6_EXT extension headers: walked, and the ports read
    // (QA round 25: the walk stopped one short, and 16 was malformed).
    let mut chain = tcp(1, 2, 0);
    for _ in 0..16 {
        chain = ext(if chain.len() == 20 { 6 } else { 60 }, 0, &chain);
    }
    assert!(
        matches!(
            parse_frame(linktype::RAW, &ipv6(60, &chain)),
            Parsed::Ip(m) if m.packet.l4 == L4::Ports { sport: 1, dport: 2 }
        ),
        "{:?}",
        parse_frame(linktype::RAW, &ipv6(60, &chain))
    );
    // More extension headers than the walk allows.
    chain = ext(60, 0, &chain);
    assert!(matches!(
        parse_frame(linktype::RAW, &ipv6(60, &chain)),
        Parsed::Malformed {
            layer: "ipv6-ext",
            ..
        }
    ));
    // Too many VLAN tags.
    let tags = [0x8100u16; 9];
    assert!(matches!(
        parse_frame(
            linktype::ETHERNET,
            &eth_vlan(&tags, 0x0800, &ipv4(6, &[], 0, &tcp(1, 2, 0)))
        ),
        Parsed::Malformed { layer: "vlan", .. }
    ));
    // An empty raw frame.
    assert_eq!(parse_frame(linktype::RAW, &[]), m("ip", 0));
}

#[test]
fn non_ip_and_unsupported_link_types() {
    let arp = eth(0x0806, &[0; 28]);
    assert_eq!(parse_frame(linktype::ETHERNET, &arp), Parsed::NonIp);
    assert_eq!(
        parse_frame(linktype::ETHERNET, &eth(0x88cc, &[0; 20])),
        Parsed::NonIp
    );
    // 802.3 length field (LLC follows).
    assert_eq!(
        parse_frame(linktype::ETHERNET, &eth(0x0026, &[0xaa; 38])),
        Parsed::NonIp
    );
    assert_eq!(
        parse_frame(linktype::ETHERNET, &eth_vlan(&[0x8100], 0x0806, &[0; 28])),
        Parsed::NonIp
    );
    // Linux netlink in SLL and SLL2.
    assert_eq!(
        parse_frame(linktype::LINUX_SLL, &sll(0x0800, 824, &[0; 20])),
        Parsed::NonIp
    );
    assert_eq!(
        parse_frame(linktype::LINUX_SLL2, &sll2(0x0800, 824, &[0; 20])),
        Parsed::NonIp
    );
    // An IP packet on the loopback device (ARPHRD_LOOPBACK, 772) of an
    // `any` capture: never reaches the VCN (QA round twenty-one).
    let syn = ipv4(6, &[], 0, &tcp(1, 2, 0x02));
    assert!(matches!(
        parse_frame(linktype::LINUX_SLL, &sll(0x0800, 1, &syn)),
        Parsed::Ip(_)
    ));
    assert_eq!(
        parse_frame(linktype::LINUX_SLL, &sll(0x0800, 772, &syn)),
        Parsed::NonIp
    );
    assert_eq!(
        parse_frame(linktype::LINUX_SLL2, &sll2(0x0800, 772, &syn)),
        Parsed::NonIp
    );
    // BSD null with the OSI family.
    assert_eq!(
        parse_frame(linktype::NULL, &null([7, 0, 0, 0], &[0; 20])),
        Parsed::NonIp
    );
    for lt in [105, 127, 9, 10, 239, 1 << 16] {
        assert_eq!(parse_frame(lt, &[0; 64]), Parsed::UnsupportedLinkType(lt));
    }
}

#[test]
fn agrees_with_etherparse_on_unfragmented_tcp_and_udp() {
    let mut compared = 0;
    for c in cases() {
        for len in 0..=c.frame.len() {
            let frame = &c.frame[..len];
            if let Some(oracle) = etherparse_tuple(c.linktype, frame) {
                let got = parse_frame(c.linktype, frame);
                assert!(
                    matches!(got, Parsed::Ip(meta) if meta.packet == oracle),
                    "{} cut at {len}: {got:?} vs etherparse {oracle:?}",
                    c.name
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 20, "{compared}");
}

// ---------------------------------------------------------------- captures

mod file {
    //! Capture file builders.

    /// A pcap file: `magic` as written in host terms, `big_endian` order.
    pub fn pcap(
        magic: u32,
        big_endian: bool,
        linktype: u32,
        records: &[(u32, u32, Vec<u8>, u32)],
    ) -> Vec<u8> {
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut f = Vec::new();
        f.extend_from_slice(&w32(magic));
        f.extend_from_slice(&w16(2));
        f.extend_from_slice(&w16(4));
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&w32(65535));
        f.extend_from_slice(&w32(linktype));
        for (sec, frac, data, orig) in records {
            f.extend_from_slice(&w32(*sec));
            f.extend_from_slice(&w32(*frac));
            f.extend_from_slice(&w32(u32::try_from(data.len()).unwrap()));
            f.extend_from_slice(&w32(*orig));
            f.extend_from_slice(data);
        }
        f
    }

    /// A pcapng file under construction.
    pub struct Ng {
        pub big_endian: bool,
        pub bytes: Vec<u8>,
        /// End offset of every block written.
        pub ends: Vec<usize>,
        /// End offsets of packet blocks.
        pub packet_ends: Vec<usize>,
    }

    impl Ng {
        pub fn new(big_endian: bool) -> Ng {
            let mut ng = Ng {
                big_endian,
                bytes: Vec::new(),
                ends: Vec::new(),
                packet_ends: Vec::new(),
            };
            ng.shb();
            ng
        }

        pub fn w32(&self, v: u32) -> [u8; 4] {
            if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }

        pub fn w16(&self, v: u16) -> [u8; 2] {
            if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }

        pub fn block(&mut self, t: u32, body: &[u8]) -> &mut Ng {
            let pad = (4 - body.len() % 4) % 4;
            let total = u32::try_from(12 + body.len() + pad).unwrap();
            let (t, total_b) = (self.w32(t), self.w32(total));
            self.bytes.extend_from_slice(&t);
            self.bytes.extend_from_slice(&total_b);
            self.bytes.extend_from_slice(body);
            self.bytes.extend(std::iter::repeat_n(0, pad));
            self.bytes.extend_from_slice(&total_b);
            self.ends.push(self.bytes.len());
            self
        }

        pub fn shb(&mut self) -> &mut Ng {
            let mut b = self.w32(0x1A2B_3C4D).to_vec();
            b.extend_from_slice(&self.w16(1));
            b.extend_from_slice(&self.w16(0));
            b.extend_from_slice(&[0xff; 8]);
            // An shb_userappl option, then the end of options.
            b.extend_from_slice(&self.w16(4));
            b.extend_from_slice(&self.w16(3));
            b.extend_from_slice(b"zp\0\0");
            b.extend_from_slice(&[0; 4]);
            self.block(0x0A0D_0D0A, &b)
        }

        /// An IDB; `opts` are (code, value) pairs.
        pub fn idb(&mut self, linktype: u16, opts: &[(u16, Vec<u8>)]) -> &mut Ng {
            let mut b = self.w16(linktype).to_vec();
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(&self.w32(0));
            for (code, value) in opts {
                b.extend_from_slice(&self.w16(*code));
                b.extend_from_slice(&self.w16(u16::try_from(value.len()).unwrap()));
                b.extend_from_slice(value);
                b.extend(std::iter::repeat_n(0, (4 - value.len() % 4) % 4));
            }
            if !opts.is_empty() {
                b.extend_from_slice(&[0; 4]);
            }
            self.block(1, &b)
        }

        pub fn epb(&mut self, interface: u32, ts: u64, data: &[u8], orig: u32) -> &mut Ng {
            let mut b = self.w32(interface).to_vec();
            b.extend_from_slice(&self.w32(u32::try_from(ts >> 32).unwrap()));
            b.extend_from_slice(&self.w32(u32::try_from(ts & 0xffff_ffff).unwrap()));
            b.extend_from_slice(&self.w32(u32::try_from(data.len()).unwrap()));
            b.extend_from_slice(&self.w32(orig));
            b.extend_from_slice(data);
            b.extend(std::iter::repeat_n(0, (4 - data.len() % 4) % 4));
            // An opt_comment, then the end of options.
            b.extend_from_slice(&self.w16(1));
            b.extend_from_slice(&self.w16(2));
            b.extend_from_slice(b"hi\0\0");
            b.extend_from_slice(&[0; 4]);
            self.block(6, &b);
            self.packet_ends.push(self.bytes.len());
            self
        }

        /// The obsolete packet block (type 2).
        pub fn pb(&mut self, interface: u16, ts: u64, data: &[u8], orig: u32) -> &mut Ng {
            let mut b = self.w16(interface).to_vec();
            b.extend_from_slice(&self.w16(0));
            b.extend_from_slice(&self.w32(u32::try_from(ts >> 32).unwrap()));
            b.extend_from_slice(&self.w32(u32::try_from(ts & 0xffff_ffff).unwrap()));
            b.extend_from_slice(&self.w32(u32::try_from(data.len()).unwrap()));
            b.extend_from_slice(&self.w32(orig));
            b.extend_from_slice(data);
            self.block(2, &b);
            self.packet_ends.push(self.bytes.len());
            self
        }

        pub fn spb(&mut self, data: &[u8]) -> &mut Ng {
            let mut b = self.w32(u32::try_from(data.len()).unwrap()).to_vec();
            b.extend_from_slice(data);
            self.block(3, &b);
            self.packet_ends.push(self.bytes.len());
            self
        }
    }
}

fn read_all(capture: &Capture) -> (Vec<Record<'_>>, Option<CaptureError>, Vec<CaptureWarning>) {
    let mut records = capture.records();
    let mut out = Vec::new();
    let mut err = None;
    for r in records.by_ref() {
        match r {
            Ok(r) => out.push(r),
            Err(e) => err = Some(e),
        }
    }
    (out, err, records.warnings().to_vec())
}

fn sample_frames() -> Vec<Vec<u8>> {
    vec![
        eth(0x0800, &ipv4(6, &[], 0, &tcp(40000, 443, 2))),
        eth(0x0806, &[0; 28]),
        eth(0x86dd, &ipv6(17, &udp(1, 2, b"abc"))),
    ]
}

#[test]
fn pcap_microsecond_and_nanosecond_in_both_byte_orders() {
    let frames = sample_frames();
    for (magic, ns) in [(0xa1b2_c3d4u32, false), (0xa1b2_3c4d, true)] {
        for big_endian in [false, true] {
            let records: Vec<_> = frames
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    (
                        1_700_000_000 + u32::try_from(i).unwrap(),
                        999_999,
                        f.clone(),
                        1514,
                    )
                })
                .collect();
            let bytes = file::pcap(magic, big_endian, 1, &records);
            let capture = Capture::from_bytes(bytes).unwrap();
            assert_eq!(
                capture.format(),
                CaptureFormat::Pcap {
                    nanosecond: ns,
                    big_endian,
                    linktype: 1,
                    snaplen: 65535
                }
            );
            let (got, err, warnings) = read_all(&capture);
            assert!(err.is_none() && warnings.is_empty());
            assert_eq!(got.len(), 3);
            let mut offset = 24;
            for (i, r) in got.iter().enumerate() {
                assert_eq!(r.data, &frames[i][..]);
                assert_eq!(r.orig_len, 1514);
                assert_eq!(r.linktype, 1);
                assert_eq!(r.offset, offset);
                let frac_ns = if ns { 999_999 } else { 999_999_000 };
                assert_eq!(
                    r.ts_ns,
                    (1_700_000_000 + i as u64) * 1_000_000_000 + frac_ns
                );
                offset += 16 + frames[i].len() as u64;
            }
        }
    }
}

#[test]
fn pcap_link_type_is_masked_like_libpcap() {
    let bytes = file::pcap(
        0xa1b2_c3d4,
        false,
        0x3000_0001,
        &[(1, 0, sample_frames()[0].clone(), 60)],
    );
    let capture = Capture::from_bytes(bytes).unwrap();
    let (got, _, _) = read_all(&capture);
    assert_eq!(got[0].linktype, linktype::ETHERNET);
    assert!(matches!(
        parse_frame(got[0].linktype, got[0].data),
        Parsed::Ip(_)
    ));
}

#[test]
fn caplen_over_snaplen_or_orig_len_is_read() {
    // Snapshot length 65535 in the header; records of 70000 bytes (over
    // it) and of 60 bytes with an original length of 10.
    let big = vec![0xab; 70_000];
    let bytes = file::pcap(
        0xa1b2_c3d4,
        false,
        1,
        &[(1, 0, big.clone(), 70_000), (2, 0, vec![1; 60], 10)],
    );
    let capture = Capture::from_bytes(bytes).unwrap();
    let (got, err, warnings) = read_all(&capture);
    assert!(err.is_none() && warnings.is_empty());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].data.len(), 70_000);
    assert_eq!((got[1].data.len(), got[1].orig_len), (60, 10));
}

#[test]
fn record_over_256_kib_is_an_error_at_its_offset() {
    let first = vec![0; 100];
    let mut bytes = file::pcap(0xa1b2_c3d4, false, 1, &[(1, 0, first, 100)]);
    let bad_at = bytes.len() as u64;
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&(MAX_CAPLEN + 1).to_le_bytes());
    bytes.extend_from_slice(&(MAX_CAPLEN + 1).to_le_bytes());
    bytes.extend_from_slice(&[0; 64]);
    let capture = Capture::from_bytes(bytes).unwrap();
    let (got, err, _) = read_all(&capture);
    assert_eq!(got.len(), 1, "the record before the bad header counts");
    let err = err.unwrap();
    assert_eq!(err.offset(), Some(bad_at));
    assert_eq!(
        err.to_string(),
        format!("byte {bad_at}: captured length 262145 is over the limit of 262144 bytes")
    );

    // Exactly 256 KiB is fine.
    let bytes = file::pcap(0xa1b2_c3d4, false, 1, &[(1, 0, vec![7; 262_144], 262_144)]);
    let capture = Capture::from_bytes(bytes).unwrap();
    let (got, err, _) = read_all(&capture);
    assert!(err.is_none());
    assert_eq!(got[0].data.len(), 262_144);

    // The same in a pcapng enhanced packet block.
    let mut ng = file::Ng::new(false);
    ng.idb(1, &[]);
    let at = ng.bytes.len() as u64;
    let mut body = vec![0u8; 12];
    body.extend_from_slice(&(MAX_CAPLEN + 1).to_le_bytes());
    body.extend_from_slice(&(MAX_CAPLEN + 1).to_le_bytes());
    body.extend_from_slice(&[0; 16]);
    ng.block(6, &body);
    let capture = Capture::from_bytes(ng.bytes).unwrap();
    let (_, err, _) = read_all(&capture);
    let err = err.unwrap();
    assert_eq!(err.offset(), Some(at));
    assert!(matches!(
        err,
        CaptureError::Format {
            kind: FormatError::CaplenTooLarge { caplen: 262_145 },
            ..
        }
    ));
}

#[test]
fn not_a_capture_is_an_error_at_byte_zero() {
    for bytes in [b"hello, world, this is text".to_vec(), vec![0xd4, 0xc3]] {
        let err = Capture::from_bytes(bytes).unwrap_err();
        assert_eq!(err.to_string(), "byte 0: not a pcap or pcapng file");
    }
    // No bytes at all is named as such (an empty file, nothing piped in).
    let err = Capture::from_bytes(Vec::new()).unwrap_err();
    assert!(matches!(
        err,
        CaptureError::Format {
            kind: FormatError::Empty,
            offset: 0
        }
    ));
    // pcap magic with version 1.0.
    let mut old = file::pcap(0xa1b2_c3d4, false, 1, &[]);
    old[4] = 1;
    let err = Capture::from_bytes(old).unwrap_err();
    assert_eq!(err.to_string(), "byte 0: unsupported pcap version 1.4");
}

#[test]
fn every_truncation_of_a_pcap_is_a_count_or_an_error() {
    for big_endian in [false, true] {
        let records: Vec<_> = sample_frames()
            .into_iter()
            .map(|f| (5, 6, f, 1500))
            .collect();
        let bytes = file::pcap(0xa1b2_3c4d, big_endian, 1, &records);
        let mut boundaries = vec![24];
        for (_, _, f, _) in &records {
            boundaries.push(boundaries.last().unwrap() + 16 + f.len());
        }
        for len in 0..=bytes.len() {
            let Ok(capture) = Capture::from_bytes(bytes[..len].to_vec()) else {
                assert!(len < 24, "open failed at {len}");
                continue;
            };
            let (got, err, warnings) = read_all(&capture);
            assert!(err.is_none(), "{len}: {err:?}");
            let complete = boundaries.iter().filter(|&&b| b <= len).count() - 1;
            assert_eq!(got.len(), complete, "{len}");
            assert_eq!(warnings.is_empty(), boundaries.contains(&len), "{len}");
            if let Some(CaptureWarning::Truncated { offset, .. }) = warnings.first() {
                assert_eq!(usize::try_from(*offset).unwrap(), boundaries[complete]);
            }
        }
    }
}

fn two_interface_pcapng(big_endian: bool) -> (file::Ng, Vec<Vec<u8>>) {
    let eth_frame = sample_frames()[0].clone();
    let raw_frame = ipv6(17, &udp(7, 8, &[]));
    let mut ng = file::Ng::new(big_endian);
    ng.idb(1, &[]);
    // Raw IP, millisecond resolution, timestamps 1000 s after the epoch.
    let offset = if big_endian {
        1000i64.to_be_bytes()
    } else {
        1000i64.to_le_bytes()
    };
    ng.idb(101, &[(9, vec![3]), (14, offset.to_vec())]);
    ng.epb(0, 1_700_000_000_123_456, &eth_frame, 60);
    ng.block(0x0000_0bad, &[1, 2, 3, 4, 5]); // unknown block: skipped
    ng.epb(1, 5_500, &raw_frame, 48);
    ng.spb(&eth_frame);
    ng.pb(1, 7, &raw_frame, 48);
    // A second section: interface ids start again; binary resolution 2^-10.
    ng.shb();
    ng.idb(113, &[(9, vec![0x80 | 10])]);
    let sll_frame = sll(0x0800, 1, &ipv4(17, &[], 0, &udp(1, 2, &[])));
    ng.epb(0, 2048 + 512, &sll_frame, 44);
    (ng, vec![eth_frame, raw_frame, sll_frame])
}

#[test]
fn pcapng_sections_interfaces_and_packet_blocks() {
    for big_endian in [false, true] {
        let (ng, frames) = two_interface_pcapng(big_endian);
        let capture = Capture::from_bytes(ng.bytes.clone()).unwrap();
        assert_eq!(capture.format(), CaptureFormat::PcapNg);
        assert_eq!(capture.link_types(), vec![1, 101, 113]);
        let (got, err, warnings) = read_all(&capture);
        assert!(err.is_none() && warnings.is_empty(), "{err:?} {warnings:?}");
        let summary: Vec<_> = got
            .iter()
            .map(|r| (r.linktype, r.data, r.orig_len, r.ts_ns))
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, &frames[0][..], 60, 1_700_000_000_123_456_000),
                (101, &frames[1][..], 48, 1_005_500_000_000),
                // SPB: no timestamp (the previous one), captured = original.
                (
                    1,
                    &frames[0][..],
                    u32::try_from(frames[0].len()).unwrap(),
                    1_005_500_000_000
                ),
                (101, &frames[1][..], 48, 1_000_007_000_000),
                (113, &frames[2][..], 44, 2_500_000_000),
            ]
        );
        let offsets: Vec<u64> = got.iter().map(|r| r.offset).collect();
        let starts: Vec<u64> = ng
            .packet_ends
            .iter()
            .map(|&end| *ng.ends.iter().rev().find(|&&e| e < end).unwrap() as u64)
            .collect();
        assert_eq!(offsets, starts);
        for r in &got {
            assert!(matches!(
                parse_frame(r.linktype, r.data),
                Parsed::Ip(_) | Parsed::NonIp
            ));
        }
    }
}

#[test]
fn every_truncation_of_a_pcapng_is_a_count_or_an_error() {
    for big_endian in [false, true] {
        let (ng, _) = two_interface_pcapng(big_endian);
        let first_shb_end = ng.ends[0];
        for len in 0..=ng.bytes.len() {
            let Ok(capture) = Capture::from_bytes(ng.bytes[..len].to_vec()) else {
                assert!(len < 12, "open failed at {len}");
                continue;
            };
            let (got, err, warnings) = read_all(&capture);
            if len < first_shb_end {
                assert!(
                    matches!(
                        err,
                        Some(CaptureError::Format {
                            offset: 0,
                            kind: FormatError::ShortFileHeader
                        })
                    ),
                    "{len}: {err:?}"
                );
                continue;
            }
            assert!(err.is_none(), "{len}: {err:?}");
            let complete = ng.packet_ends.iter().filter(|&&e| e <= len).count();
            assert_eq!(got.len(), complete, "{len}");
            assert_eq!(warnings.is_empty(), ng.ends.contains(&len), "{len}");
        }
    }
}

#[test]
fn pcapng_errors_name_their_offset() {
    // A packet for an interface never described.
    let mut ng = file::Ng::new(false);
    ng.idb(1, &[]);
    let at = ng.bytes.len() as u64;
    ng.epb(3, 0, &[0; 20], 20);
    let err = read_all(&Capture::from_bytes(ng.bytes).unwrap()).1.unwrap();
    assert_eq!(err.offset(), Some(at));
    assert_eq!(
        err.to_string(),
        format!("byte {at}: packet for interface 3, which has no interface description block")
    );

    // A trailer that disagrees with the header.
    let mut ng = file::Ng::new(false);
    ng.idb(1, &[]);
    let at = ng.bytes.len();
    ng.epb(0, 0, &[0; 20], 20);
    let end = ng.bytes.len();
    ng.bytes[end - 4] ^= 4;
    let err = read_all(&Capture::from_bytes(ng.bytes).unwrap()).1.unwrap();
    assert_eq!(err.offset(), Some(at as u64));
    assert!(matches!(
        err,
        CaptureError::Format {
            kind: FormatError::BlockTrailer { .. },
            ..
        }
    ));

    // A block length that is not a multiple of 4.
    let mut ng = file::Ng::new(false);
    let at = ng.bytes.len();
    ng.idb(1, &[]);
    ng.bytes[at + 4] = 21;
    let err = read_all(&Capture::from_bytes(ng.bytes).unwrap()).1.unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "byte {at}: pcapng block length 21 is not valid (a multiple of 4 from 12 to 16777216 bytes, as libpcap reads: 16777216 for a block)"
        )
    );

    // A repeated if_tsresol (libpcap refuses the file).
    let mut ng = file::Ng::new(false);
    let at = ng.bytes.len() as u64;
    ng.idb(1, &[(9, vec![6]), (9, vec![9])]);
    let err = read_all(&Capture::from_bytes(ng.bytes).unwrap()).1.unwrap();
    assert_eq!(err.offset(), Some(at));

    // A section of an unknown major version.
    let mut ng = file::Ng::new(true);
    ng.bytes[12] = 2;
    let err = read_all(&Capture::from_bytes(ng.bytes).unwrap()).1.unwrap();
    assert_eq!(err.to_string(), "byte 0: unsupported pcapng version 513.0");
}

#[test]
fn kuznetzov_and_swapped_length_pcaps() {
    // Kuznetzov magic: 24-byte record headers, big-endian.
    let frame = sample_frames()[0].clone();
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_cd34u32.to_be_bytes());
    f.extend_from_slice(&[
        0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1,
    ]);
    f.extend_from_slice(&3u32.to_be_bytes());
    f.extend_from_slice(&4u32.to_be_bytes());
    f.extend_from_slice(&u32::try_from(frame.len()).unwrap().to_be_bytes());
    f.extend_from_slice(&u32::try_from(frame.len()).unwrap().to_be_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&frame);
    let capture = Capture::from_bytes(f).unwrap();
    let (got, err, warnings) = read_all(&capture);
    assert!(err.is_none() && warnings.is_empty());
    assert_eq!(
        (got.len(), got[0].data, got[0].ts_ns),
        (1, &frame[..], 3_000_004_000)
    );

    // Version 2.2: captured and original lengths are stored swapped.
    let mut old = file::pcap(0xa1b2_c3d4, false, 1, &[]);
    old[6] = 2;
    old.extend_from_slice(&[0; 8]);
    old.extend_from_slice(&1514u32.to_le_bytes()); // original length first
    old.extend_from_slice(&4u32.to_le_bytes());
    old.extend_from_slice(&[1, 2, 3, 4]);
    let capture = Capture::from_bytes(old).unwrap();
    let (got, err, _) = read_all(&capture);
    assert!(err.is_none());
    assert_eq!((got[0].data.len(), got[0].orig_len), (4, 1514));
}

// ---------------------------------------------------------------- output

fn tool(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Packet count of a file as libpcap (tcpdump) reads it.
fn tcpdump_count(path: &std::path::Path) -> Option<u64> {
    let tcpdump = tool("tcpdump")?;
    let out = std::process::Command::new(tcpdump)
        .arg("--count")
        .arg("-r")
        .arg(path)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "tcpdump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Packet count of a file as Wireshark's reader (capinfos) reads it.
fn capinfos_count(path: &std::path::Path) -> Option<u64> {
    let capinfos = tool("capinfos")?;
    let out = std::process::Command::new(capinfos)
        .args(["-c", "-M"])
        .arg(path)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "capinfos: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("Number of packets:"))
        .and_then(|n| n.trim().parse().ok())
}

#[test]
fn pcap_output_round_trips_byte_for_byte() {
    let (ng, _) = two_interface_pcapng(false);
    let input = Capture::from_bytes(ng.bytes).unwrap();
    let (records, _, _) = read_all(&input);
    let ethernet: Vec<_> = records.iter().filter(|r| r.linktype == 1).collect();

    // One link type: classic nanosecond pcap.
    let format = OutFormat::for_link_types(&[1, 1]);
    assert_eq!(format, OutFormat::Pcap { linktype: 1 });
    let mut out = PcapOut::create(Vec::new(), format).unwrap();
    for r in &ethernet {
        out.write_record(r).unwrap();
    }
    assert_eq!(out.packets(), 2);
    let bytes = out.finish().unwrap();
    let back = Capture::from_bytes(bytes.clone()).unwrap();
    assert_eq!(
        back.format(),
        CaptureFormat::Pcap {
            nanosecond: true,
            big_endian: false,
            linktype: 1,
            snaplen: 262_144
        }
    );
    let (got, err, warnings) = read_all(&back);
    assert!(err.is_none() && warnings.is_empty());
    let strip = |r: &Record<'_>| (r.data.to_vec(), r.orig_len, r.ts_ns, r.linktype);
    assert_eq!(
        got.iter().map(strip).collect::<Vec<_>>(),
        ethernet.iter().map(|r| strip(r)).collect::<Vec<_>>()
    );
    // A record of another link type is refused.
    let mut out = PcapOut::create(Vec::new(), format).unwrap();
    assert!(out.write(0, 101, 4, &[0x45, 0, 0, 4]).is_err());

    // Several link types: pcapng, one interface each.
    let format = OutFormat::for_link_types(&input.link_types());
    assert_eq!(format, OutFormat::PcapNg);
    let mut out = PcapOut::create(Vec::new(), format).unwrap();
    for r in &records {
        out.write_record(r).unwrap();
    }
    let ng_bytes = out.finish().unwrap();
    let back = Capture::from_bytes(ng_bytes.clone()).unwrap();
    assert_eq!(back.link_types(), vec![1, 101, 113]);
    let (got, err, warnings) = read_all(&back);
    assert!(err.is_none() && warnings.is_empty());
    assert_eq!(
        got.iter().map(strip).collect::<Vec<_>>(),
        records.iter().map(strip).collect::<Vec<_>>()
    );

    // Other readers: libpcap (tcpdump) for the pcap, Wireshark's reader
    // (capinfos) for both (libpcap refuses pcapng interfaces of different
    // link types).
    let dir = tempfile::tempdir().unwrap();
    let pcap_path = dir.path().join("allowed.pcap");
    let ng_path = dir.path().join("dropped.pcapng");
    std::fs::write(&pcap_path, &bytes).unwrap();
    std::fs::write(&ng_path, &ng_bytes).unwrap();
    match tcpdump_count(&pcap_path) {
        Some(n) => assert_eq!(n, 2),
        None => eprintln!("SKIPPED tcpdump check: tcpdump is not installed"),
    }
    match (capinfos_count(&pcap_path), capinfos_count(&ng_path)) {
        (Some(a), Some(b)) => assert_eq!((a, b), (2, 5)),
        _ => eprintln!("SKIPPED capinfos check: capinfos is not installed"),
    }
}

#[test]
fn empty_output_is_a_valid_capture() {
    let bytes = PcapOut::create(Vec::new(), OutFormat::for_link_types(&[]))
        .unwrap()
        .finish()
        .unwrap();
    let capture = Capture::from_bytes(bytes).unwrap();
    assert_eq!(read_all(&capture).0.len(), 0);
    let bytes = PcapOut::create(Vec::new(), OutFormat::PcapNg)
        .unwrap()
        .finish()
        .unwrap();
    let capture = Capture::from_bytes(bytes).unwrap();
    let (got, err, warnings) = read_all(&capture);
    assert!(got.is_empty() && err.is_none() && warnings.is_empty());
}

// ---------------------------------------------------------------- community id

/// Rows of the spec's baseline table (baseline/README.md, default seed)
/// and of baseline/baseline_deflt.json (corelight/community-id-spec):
/// protocol, source, destination, source port (or ICMP type), destination
/// port (or ICMP code), expected ID.
type BaselineRow = (
    u8,
    &'static str,
    &'static str,
    Option<(u16, u16)>,
    &'static str,
);

#[rustfmt::skip]
const BASELINE: &[BaselineRow] = &[
    (6, "1.2.3.4", "5.6.7.8", Some((1122, 3344)), "1:wCb3OG7yAFWelaUydu0D+125CLM="),
    (6, "5.6.7.8", "1.2.3.4", Some((3344, 1122)), "1:wCb3OG7yAFWelaUydu0D+125CLM="),
    (17, "1.2.3.4", "5.6.7.8", Some((1122, 3344)), "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="),
    (17, "5.6.7.8", "1.2.3.4", Some((3344, 1122)), "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="),
    (132, "1.2.3.4", "5.6.7.8", Some((1122, 3344)), "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="),
    (132, "5.6.7.8", "1.2.3.4", Some((3344, 1122)), "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="),
    (1, "1.2.3.4", "5.6.7.8", Some((8, 0)), "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="),
    (1, "5.6.7.8", "1.2.3.4", Some((0, 0)), "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="),
    (1, "1.2.3.4", "5.6.7.8", Some((11, 0)), "1:f/YiSyWqczrTgfUCZlBUnvHRcPk="),
    (58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", Some((128, 0)), "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="),
    (58, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", Some((129, 0)), "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="),
    (58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", Some((146, 0)), "1:fYC8+pz24E+EhANP1EZhpX0Dw10="),
    (46, "1.2.3.4", "5.6.7.8", None, "1:ikv3kmf89luf73WPz1jOs49S768="),
    (46, "5.6.7.8", "1.2.3.4", None, "1:ikv3kmf89luf73WPz1jOs49S768="),
    (46, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", None, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0="),
    (46, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", None, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0="),
    // baseline_deflt.json
    (58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", Some((135, 0)), "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="),
    (58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", Some((136, 0)), "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="),
    (58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", Some((135, 0)), "1:zavyT/cezQr1fmImYCwYnMXbgck="),
    (58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", Some((136, 0)), "1:zavyT/cezQr1fmImYCwYnMXbgck="),
    (58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", Some((3, 0)), "1:2ObVBgIn28oZvibYZhZMBgh7WdQ="),
    (58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", Some((1, 4)), "1:hLZd0XGWojozrvxqE0dWB1iM6R0="),
    (58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", Some((128, 0)), "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="),
    (58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", Some((129, 0)), "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="),
    (58, "fe80::200:86ff:fe05:80da", "ff02::2", Some((133, 0)), "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0="),
    (58, "fe80::260:97ff:fe07:69ea", "ff02::1", Some((134, 0)), "1:pkvHqCL88/tg1k4cPigmZXUtL00="),
    (1, "192.168.0.89", "192.168.0.1", Some((8, 0)), "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),
    (1, "192.168.0.1", "192.168.0.89", Some((0, 0)), "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),
    (1, "10.0.0.1", "10.0.0.2", Some((11, 0)), "1:YHxtAirCG//0OzkcVAukqKQN9xM="),
    (6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", Some((63943, 25)), "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="),
    (6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", Some((25, 63943)), "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="),
    (132, "192.168.170.8", "192.168.170.56", Some((7, 7)), "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="),
    (132, "192.168.170.56", "192.168.170.8", Some((7, 7)), "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="),
    (6, "128.232.110.120", "66.35.250.204", Some((34855, 80)), "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
    (6, "66.35.250.204", "128.232.110.120", Some((80, 34855)), "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
    (17, "192.168.1.52", "8.8.8.8", Some((54585, 53)), "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
    (17, "8.8.8.8", "192.168.1.52", Some((53, 54585)), "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
    (46, "10.1.12.1", "10.1.12.2", None, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="),
    (46, "10.1.12.2", "10.1.12.1", None, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="),
];

#[test]
fn community_id_matches_the_spec_baselines() {
    for &(proto, src, dst, ports, want) in BASELINE {
        let key = FlowKey::new(ip(src), ip(dst), proto, ports);
        assert_eq!(
            key.community_id(0),
            want,
            "{proto} {src} -> {dst} {ports:?}"
        );
    }
    // Seed 1 (baseline README, second table).
    let key = FlowKey::new(ip("1.2.3.4"), ip("5.6.7.8"), 6, Some((1122, 3344)));
    assert_eq!(key.community_id(1), "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=");
    let key = FlowKey::new(ip("1.2.3.4"), ip("5.6.7.8"), 1, Some((11, 0)));
    assert_eq!(key.community_id(1), "1:1DD7cWGC/Yg91YGsQeni8du3pIA=");
}

#[test]
fn community_id_of_parsed_packets() {
    let echo = Packet::icmp(ip("192.168.0.89"), ip("192.168.0.1"), 8, 0);
    let reply = Packet::icmp(ip("192.168.0.1"), ip("192.168.0.89"), 0, 0);
    assert_eq!(community_id(&echo), "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    assert_eq!(FlowKey::of(&echo), FlowKey::of(&reply));
    // One-way types are never reordered: the reverse is another flow.
    let te = Packet::icmp(ip("10.0.0.1"), ip("10.0.0.2"), 11, 0);
    assert_eq!(community_id(&te), "1:YHxtAirCG//0OzkcVAukqKQN9xM=");
    assert_ne!(
        FlowKey::of(&te),
        FlowKey::of(&Packet::icmp(ip("10.0.0.2"), ip("10.0.0.1"), 11, 0))
    );
    // A non-first fragment hashes like a port-less protocol.
    let frag = Packet {
        src: ip("10.1.12.1"),
        dst: ip("10.1.12.2"),
        proto: 46,
        l4: L4::Fragment,
    };
    assert_eq!(community_id(&frag), "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=");
    // Equal addresses: the ports decide the order.
    let a = Packet::tcp(ip("10.0.0.1"), 80, ip("10.0.0.1"), 1234);
    assert_eq!(FlowKey::of(&a), FlowKey::of(&a.reversed()));
    assert_eq!(FlowKey::of(&a).ports, Some((80, 1234)));
}

// ---------------------------------------------------------------- regressions

/// The link types the parse_frame fuzz target's first byte selects (byte
/// modulo the length); fuzz/fuzz_targets/parse_frame.rs has the same table.
const FUZZ_LINKTYPES: [u32; 11] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105];

/// Inputs on which a fuzz target once failed (dataplane/tests/regressions):
/// `capture-*` files are capture files, `frame-*` files are a link-type
/// selector byte followed by a frame, as the fuzz targets take them. Each
/// must read without a panic, and a frame must agree with etherparse.
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        if name.starts_with("capture-") {
            if let Ok(capture) = Capture::from_bytes(bytes) {
                let (records, _, _) = read_all(&capture);
                for r in records {
                    let _ = parse_frame(r.linktype, r.data);
                }
            }
        } else if let Some((&selector, frame)) = bytes.split_first() {
            let lt = FUZZ_LINKTYPES[usize::from(selector) % FUZZ_LINKTYPES.len()];
            let got = parse_frame(lt, frame);
            if let Some(oracle) = etherparse_tuple(lt, frame) {
                assert!(
                    matches!(got, Parsed::Ip(m) if m.packet == oracle),
                    "{name}: {got:?} vs {oracle:?}"
                );
            }
        }
        seen += 1;
    }
    assert!(seen > 0);
}

#[test]
fn ipv6_zero_payload_length_runs_to_the_end_of_the_capture() {
    // A jumbogram or an offload (BIG TCP) capture: payload length 0.
    let mut frame = ipv6(17, &udp(53, 5353, &[0; 8]));
    frame[4..6].copy_from_slice(&[0, 0]);
    let Parsed::Ip(meta) = parse_frame(linktype::IPV6, &frame) else {
        panic!("{:?}", parse_frame(linktype::IPV6, &frame));
    };
    assert_eq!(meta.packet, p6(17, ports(53, 5353)));
    // Cut before the ports it is still malformed.
    assert_eq!(
        parse_frame(linktype::IPV6, &frame[..42]),
        Parsed::Malformed {
            layer: "udp",
            offset: 40
        }
    );
}
