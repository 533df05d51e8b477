//! IP packets no VCN layer ever sees, so they are counted, never judged:
//! IPv6 neighbour discovery (the VCN's virtual router answers it, as it
//! answers ARP), packets that stay on their link (link-local multicast,
//! limited broadcast, IGMP: [`zprsim_control::link_scope`]) and a host's
//! packets to itself (captured on a loopback device). docs/semantics.md
//! §2.2 gives the decisions and their sources.
//!
//! The reader asks [`classify`] of every packet it parses in full; its
//! fixed-offset peek (`engine/peek.rs`) hands every frame that could be one
//! of these to the full parse ([`may_be_v4`], [`may_be_v6`],
//! [`zero_macs`]), so the common frames pay a few compares and no branch.

use std::net::{IpAddr, Ipv6Addr};

use zprsim_control::link_scope;
use zprsim_control::model::proto;
use zprsim_control::packet::{L4, Packet};

use crate::parse::{Parsed, ip_start, linktype};

/// Why an IP packet is not judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unjudged {
    /// IPv6 neighbour discovery and the other link-scope ICMPv6 messages
    /// that must arrive with hop limit 255 (`link_local` in the report).
    LinkLocal,
    /// A packet of a host to itself (`loopback` in the report).
    Loopback,
}

impl Unjudged {
    /// Every kind, in the report's order.
    pub const ALL: [Unjudged; 2] = [Unjudged::LinkLocal, Unjudged::Loopback];

    /// One packet of this kind, in words (`explain --capture`: "packet N
    /// is ...").
    #[must_use]
    pub const fn one(self) -> &'static str {
        match self {
            Unjudged::LinkLocal => {
                "a link-scope packet (IPv6 neighbour discovery or MLD, IGMP, to a link-local multicast group or the broadcast address), which the VCN's virtual router handles or delivers to no one"
            }
            Unjudged::Loopback => {
                "a packet of a host to itself (127.0.0.0/8, ::1, or captured on a loopback device), which never reaches the VCN"
            }
        }
    }

    /// Packets of this kind counted, in words (`replay`'s summary: "of
    /// them N ...").
    #[must_use]
    pub const fn counted(self) -> &'static str {
        match self {
            Unjudged::LinkLocal => {
                "link-scope packet(s) (IPv6 neighbour discovery, MLD, IGMP, link-local multicast, broadcast), which the VCN's virtual router handles or delivers to no one"
            }
            Unjudged::Loopback => {
                "loopback packet(s) (a host to itself: 127.0.0.0/8, ::1, a loopback device), which never reach the VCN"
            }
        }
    }
}

/// A frame that carries no IP packet, in words (counted in `non_ip`).
pub const NOT_IP: &str = "not an IP packet (ARP, LLDP, ...)";

/// A Linux cooked capture's frame of the loopback device, in words: it
/// parses as not IP ([`crate::parse::is_loopback_frame`]), and
/// [`classify_frame`] makes it [`Unjudged::Loopback`].
pub const LOOPBACK_DEVICE: &str = "captured on the loopback device (`lo`): a packet of the host to itself, which never reaches the VCN";

/// Why a frame of link type `lt`, parsed as `parsed`, is not judged:
/// [`classify`] for an IP packet, and [`Unjudged::Loopback`] for a Linux
/// cooked capture's frame of the loopback device (which the parser
/// leaves not IP, by its ARPHRD type); `None` for a packet to judge and
/// for the other frames that are not IP (counted in `non_ip` alone).
#[must_use]
pub fn classify_frame(lt: u32, data: &[u8], parsed: &Parsed) -> Option<Unjudged> {
    match parsed {
        Parsed::Ip(m) => classify(lt, data, &m.packet),
        Parsed::NonIp if crate::parse::is_loopback_frame(lt, data) => Some(Unjudged::Loopback),
        _ => None,
    }
}

/// Multicast listener discovery (MLD, RFC 2710, RFC 3810: query,
/// reports, done), sent from a link-local address with hop limit 1.
#[must_use]
pub fn is_mld_type(t: u8) -> bool {
    matches!(t, 130..=132 | 143)
}

/// ICMPv6 types a node accepts only with hop limit 255, proof that no
/// router forwarded them: router solicitation and advertisement,
/// neighbour solicitation and advertisement, redirect (RFC 4861 §6.1.1,
/// §6.1.2, §7.1.1, §7.1.2, §8.1), inverse neighbour discovery (RFC 3122,
/// 141 and 142) and SEND's certification path messages (RFC 3971, 148 and
/// 149).
#[must_use]
pub fn is_hop_limit_255_type(t: u8) -> bool {
    matches!(t, 133..=137 | 141 | 142 | 148 | 149)
}

/// Whether an IPv6 address is link-scope for this purpose: link-local
/// unicast (`fe80::/10`), link-local multicast (`ff02::/16`, the
/// solicited-node and all-nodes groups), or unspecified (`::`, the source
/// of duplicate address detection).
fn link_scope(a: Ipv6Addr) -> bool {
    let s = a.segments()[0];
    (s & 0xffc0) == 0xfe80 || s == 0xff02 || a.is_unspecified()
}

/// Whether two IPv6 addresses share their /64, the prefix length of every
/// OCI IPv6 subnet: on one link (neighbour unreachability detection
/// between two global addresses of one subnet).
fn same_64(a: Ipv6Addr, b: Ipv6Addr) -> bool {
    a.segments()[..4] == b.segments()[..4]
}

/// Whether the frame was captured on a loopback device by its link layer:
/// Linux `lo` as Ethernet (`dumpcap -i lo`: both MAC addresses zero) or
/// BSD `lo0` (DLT_NULL, DLT_LOOP). Linux cooked captures of `lo` parse as
/// not IP already ([`crate::parse::is_loopback_frame`]).
fn loopback_link(lt: u32, data: &[u8]) -> bool {
    match lt {
        linktype::ETHERNET => zero_macs(data),
        linktype::NULL | linktype::LOOP => true,
        _ => false,
    }
}

/// Why the packet `p`, parsed from `data` of link type `lt`, is not
/// judged; `None` for a packet to judge.
///
/// * [`Unjudged::Loopback`]: an address in `127.0.0.0/8` or `::1` on
///   either side, which no VCN carries; or
///   source equal to destination in a frame of a loopback device (a host
///   reaching its own VNIC address over `lo`).
/// * [`Unjudged::LinkLocal`]: a packet to a link-scope destination
///   ([`link_scope::link_scope`]: `224.0.0.0/24`, `255.255.255.255`, IGMP, `ff02::/16`);
///   or ICMPv6 of a [`is_hop_limit_255_type`] type,
///   code 0, hop limit 255, from or to a link-scope address (`fe80::/10`,
///   `ff02::/16`, `::`) or between two addresses of one /64. The same type
///   with another hop limit, another code, or between global addresses of
///   two /64s is judged: no node would accept it as neighbour discovery.
///   Also MLD ([`is_mld_type`]) from a link-local address (or `::`) with
///   hop limit 1, which no router forwards.
#[must_use]
pub fn classify(lt: u32, data: &[u8], p: &Packet) -> Option<Unjudged> {
    if p.src.is_loopback() || p.dst.is_loopback() || (p.src == p.dst && loopback_link(lt, data)) {
        return Some(Unjudged::Loopback);
    }
    if link_scope::link_scope(p.dst, p.proto).is_some() {
        return Some(Unjudged::LinkLocal);
    }
    let (IpAddr::V6(src), IpAddr::V6(dst)) = (p.src, p.dst) else {
        return None;
    };
    let L4::Icmp { icmp_type, code } = p.l4 else {
        return None;
    };
    if p.proto != proto::ICMPV6 {
        return None;
    }
    let hop_limit = *data.get(ip_start(lt, data)? + 7)?;
    link_local_icmpv6(src, dst, hop_limit, icmp_type, code).then_some(Unjudged::LinkLocal)
}

/// Whether an ICMPv6 message of this type and code, from `src` to `dst`
/// with this hop limit, is link-scope control traffic
/// ([`Unjudged::LinkLocal`], as [`classify`] describes it). The TAP
/// bridge asks the same before it lets a frame cross unjudged.
#[must_use]
pub fn link_local_icmpv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    icmp_type: u8,
    code: u8,
) -> bool {
    if code != 0 {
        return false;
    }
    if is_hop_limit_255_type(icmp_type) {
        hop_limit == 255 && (link_scope(src) || link_scope(dst) || same_64(src, dst))
    } else {
        is_mld_type(icmp_type) && hop_limit == 1 && link_scope(src) && src.segments()[0] != 0xff02
    }
}

/// Whether an IPv4 packet from `src` to `dst` (big-endian values) may be
/// [`Unjudged`]: for the reader's peek, which leaves such a frame to the
/// full parse. With `src == dst` on [`zero_macs`], a superset of
/// [`classify`]'s IPv4 cases on Ethernet (every destination from
/// `224.0.0.0` up: multicast, IGMP, broadcast); branch-free.
#[inline(always)]
#[must_use]
pub(crate) fn may_be_v4(src: u32, dst: u32) -> bool {
    (src >> 24 == 127) | (dst >> 24 == 127) | (dst >= 0xe000_0000)
}

/// As [`may_be_v4`] for an IPv6 packet of next header `nh` and hop limit
/// `hop` from `src` to `dst` (each address as its two big-endian
/// halves): ICMPv6 with hop limit 255 or 1, `::1` on either side, or a
/// multicast destination.
#[inline(always)]
#[must_use]
pub(crate) fn may_be_v6(nh: u8, hop: u8, src: (u64, u64), dst: (u64, u64)) -> bool {
    (nh == proto::ICMPV6 && (hop == 255 || hop == 1))
        | (src == (0, 1))
        | (dst == (0, 1))
        | (dst.0 >> 56 == 0xff)
}

/// Whether a frame's first 12 bytes (an Ethernet frame's MAC addresses)
/// are all zero, as a capture of Linux's `lo` has them: for the reader's
/// peek, asked only of a packet from an address to itself (zero MACs
/// alone are common in synthetic captures, which keep the fast path).
#[inline(always)]
#[must_use]
pub(crate) fn zero_macs(d: &[u8]) -> bool {
    d.get(..12).is_some_and(|m| m.iter().all(|b| *b == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6_frame(src: Ipv6Addr, dst: Ipv6Addr, hop: u8, icmp_type: u8, code: u8) -> Vec<u8> {
        let mut f = vec![0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0, 9, 0x86, 0xdd];
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, 24, 58, hop]);
        f.extend_from_slice(&src.octets());
        f.extend_from_slice(&dst.octets());
        f.extend_from_slice(&[icmp_type, code, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&[0; 16]);
        f
    }

    fn judged_as(f: &[u8]) -> Option<Unjudged> {
        let crate::parse::Parsed::Ip(m) = crate::parse::parse_frame(linktype::ETHERNET, f) else {
            panic!("not IP: {f:02x?}");
        };
        classify(linktype::ETHERNET, f, &m.packet)
    }

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// A Linux cooked frame (SLL, SLL2) of UDP from 10.0.0.1 to 10.0.0.2
    /// on a device of ARPHRD type `arphrd`.
    fn cooked(lt: u32, arphrd: u16) -> Vec<u8> {
        let (mut f, arphrd_at, proto_at) = if lt == linktype::LINUX_SLL {
            (vec![0u8; 16], 2, 14)
        } else {
            (vec![0u8; 20], 8, 0)
        };
        f[arphrd_at..arphrd_at + 2].copy_from_slice(&arphrd.to_be_bytes());
        f[proto_at..proto_at + 2].copy_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        // UDP from port 1000 to 53, no payload.
        f.extend_from_slice(&[0x03, 0xe8, 0, 53, 0, 8, 0, 0]);
        f
    }

    /// A cooked frame of `lo` (ARPHRD 772) is not IP to the parser and
    /// loopback here, whatever its addresses; the same packet from an
    /// Ethernet device (ARPHRD 1) is judged; ARP is not IP and no
    /// unjudged kind (counted in `non_ip` alone).
    #[test]
    fn cooked_loopback_frames_are_loopback_other_non_ip_frames_no_kind() {
        for lt in [linktype::LINUX_SLL, linktype::LINUX_SLL2] {
            let lo = cooked(lt, 772);
            let parsed = crate::parse::parse_frame(lt, &lo);
            assert!(matches!(parsed, Parsed::NonIp), "{lt}");
            assert_eq!(classify_frame(lt, &lo, &parsed), Some(Unjudged::Loopback));
            let eth = cooked(lt, 1);
            let parsed = crate::parse::parse_frame(lt, &eth);
            assert!(matches!(parsed, Parsed::Ip(_)), "{lt}");
            assert_eq!(classify_frame(lt, &eth, &parsed), None);
        }
        let mut arp = vec![0xffu8; 12];
        arp.extend_from_slice(&[0x08, 0x06]);
        arp.extend_from_slice(&[0; 28]);
        let parsed = crate::parse::parse_frame(linktype::ETHERNET, &arp);
        assert!(matches!(parsed, Parsed::NonIp));
        assert_eq!(classify_frame(linktype::ETHERNET, &arp, &parsed), None);
    }

    #[test]
    fn neighbour_discovery_is_link_local() {
        let host = a("2603:c020:1:1::10");
        let ll = a("fe80::200:ff:fe00:9");
        for (src, dst, t) in [
            (ll, a("ff02::1:ff00:20"), 135), // NS, address resolution
            (Ipv6Addr::UNSPECIFIED, a("ff02::1:ff00:10"), 135), // DAD
            (host, a("2603:c020:1:1::20"), 135), // NUD, one /64
            (a("2603:c020:1:1::20"), host, 136), // NA to it
            (ll, a("ff02::2"), 133),         // RS
            (a("fe80::1"), a("ff02::1"), 134), // RA
            (a("fe80::1"), host, 137),       // redirect
            (ll, a("ff02::1"), 141),         // inverse ND
        ] {
            let f = v6_frame(src, dst, 255, t, 0);
            assert_eq!(judged_as(&f), Some(Unjudged::LinkLocal), "{src} {dst} {t}");
        }
        for (src, t) in [(ll, 143), (Ipv6Addr::UNSPECIFIED, 143), (a("fe80::1"), 130)] {
            let f = v6_frame(src, a("ff02::16"), 1, t, 0);
            assert_eq!(judged_as(&f), Some(Unjudged::LinkLocal), "{src} {t}");
        }
    }

    #[test]
    fn what_only_looks_like_neighbour_discovery_is_judged() {
        let host = a("2603:c020:1:1::10");
        for f in [
            // Hop limit 64: forwarded, or never accepted as ND (to a
            // unicast address: to `ff02::/16` it stays on its link, and is
            // link-local by its destination alone).
            v6_frame(a("fe80::1"), a("fe80::2"), 64, 135, 0),
            // Between global addresses of two /64s (off-link).
            v6_frame(host, a("2603:c020:1:2::10"), 255, 135, 0),
            // Code 1.
            v6_frame(a("fe80::1"), a("fe80::2"), 255, 134, 1),
            // Echo request with hop limit 255 to a link-local address.
            v6_frame(a("fe80::1"), a("fe80::2"), 255, 128, 0),
            // MLD report with hop limit 255 to a unicast address.
            v6_frame(a("fe80::1"), host, 255, 143, 0),
            // MLD report from a global address to a site-scope group.
            v6_frame(host, a("ff05::16"), 1, 143, 0),
        ] {
            assert_eq!(judged_as(&f), None, "{f:02x?}");
        }
    }

    #[test]
    fn loopback_addresses_and_a_host_to_itself_on_lo() {
        let lo = v6_frame(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, 64, 128, 0);
        assert_eq!(judged_as(&lo), Some(Unjudged::Loopback));
        let own = a("2603:c020:1:1::10");
        let mut to_self = v6_frame(own, own, 64, 128, 0);
        // Not on a loopback device (real MACs): judged.
        assert_eq!(judged_as(&to_self), None);
        to_self[..12].fill(0);
        assert_eq!(judged_as(&to_self), Some(Unjudged::Loopback));
        // IPv4, raw and BSD null.
        let mut v4 = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 10, 0, 0, 2,
        ];
        v4.extend_from_slice(&[0x14, 0xe9, 0, 53, 0, 8, 0, 0]);
        let crate::parse::Parsed::Ip(m) = crate::parse::parse_frame(linktype::RAW, &v4) else {
            panic!()
        };
        assert_eq!(
            classify(linktype::RAW, &v4, &m.packet),
            Some(Unjudged::Loopback)
        );
        v4[12] = 10;
        v4[15] = 2;
        let crate::parse::Parsed::Ip(m) = crate::parse::parse_frame(linktype::RAW, &v4) else {
            panic!()
        };
        assert_eq!(classify(linktype::RAW, &v4, &m.packet), None);
        let mut null = vec![2, 0, 0, 0];
        null.extend_from_slice(&v4);
        assert_eq!(
            classify(linktype::NULL, &null, &m.packet),
            Some(Unjudged::Loopback)
        );
    }

    #[test]
    fn the_peek_tests_cover_every_unjudged_packet() {
        let word = |a: Ipv6Addr| {
            let o = a.octets();
            (
                u64::from_be_bytes(o[..8].try_into().unwrap()),
                u64::from_be_bytes(o[8..].try_into().unwrap()),
            )
        };
        let (own, one) = (word(a("2603:c020:1:1::10")), word(Ipv6Addr::LOCALHOST));
        assert!(may_be_v6(58, 255, own, own));
        assert!(may_be_v6(58, 1, own, own));
        assert!(may_be_v6(6, 64, one, own));
        assert!(may_be_v6(6, 64, own, one));
        assert!(!may_be_v6(58, 64, own, own));
        assert!(!may_be_v6(6, 255, own, own));
        let mut f = v6_frame(a("::2"), a("::2"), 64, 128, 0);
        assert!(!zero_macs(&f));
        f[..12].fill(0);
        assert!(zero_macs(&f));
        assert!(!zero_macs(&f[..11]));
        assert!(may_be_v4(0x7f00_0001, 0x0a00_0002));
        assert!(may_be_v4(0x0a00_0002, 0x7f00_0001));
        assert!(!may_be_v4(0x0a00_0001, 0x0a00_0002));
        assert!(may_be_v4(0x0a00_0001, 0xe000_00fb));
        assert!(may_be_v4(0, u32::MAX));
        assert!(may_be_v6(17, 255, own, word(a("ff02::fb"))));
    }

    fn v4_frame(src: [u8; 4], dst: [u8; 4], proto: u8) -> Vec<u8> {
        let mut f = vec![1, 0, 0x5e, 0, 0, 0xfb, 2, 0, 0, 0, 0, 9, 0x08, 0];
        f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 1, proto, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&[0x14, 0xe9, 0x14, 0xe9, 0, 8, 0, 0]);
        f
    }

    #[test]
    fn link_scope_multicast_broadcast_and_igmp_are_link_local() {
        let host = [10, 0, 2, 7];
        for (src, dst, proto) in [
            (host, [224, 0, 0, 251], 17), // mDNS
            (host, [224, 0, 0, 252], 17), // LLMNR
            (host, [224, 0, 0, 22], 2),   // IGMPv3 report
            (host, [239, 1, 2, 3], 2),    // IGMPv2 report to its group
            ([0, 0, 0, 0], [255; 4], 17), // DHCP discover
            (host, [255; 4], 17),
        ] {
            let f = v4_frame(src, dst, proto);
            assert_eq!(judged_as(&f), Some(Unjudged::LinkLocal), "{dst:?} {proto}");
        }
        for (dst, proto) in [
            ([239, 255, 255, 250], 17), // SSDP: routable scope, judged
            ([10, 0, 2, 255], 17),      // a subnet's broadcast: judged
            ([10, 0, 2, 8], 2),         // IGMP to a unicast address
        ] {
            assert_eq!(judged_as(&v4_frame(host, dst, proto)), None, "{dst:?}");
        }
        let mut mdns6 = v6_frame(a("fd00::10"), a("ff02::fb"), 255, 0, 0);
        mdns6[20] = 17;
        assert_eq!(judged_as(&mdns6), Some(Unjudged::LinkLocal));
        let mut site = v6_frame(a("fd00::10"), a("ff05::1:3"), 255, 0, 0);
        site[20] = 17;
        assert_eq!(judged_as(&site), None);
    }
}
