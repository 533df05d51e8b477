//! Link-layer work of the virtual router, pure functions over byte slices:
//! answering ARP and IPv6 neighbour solicitations, recognising link-scope
//! traffic, rewriting MAC addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Ethernet header length.
pub const ETH_LEN: usize = 14;
/// Ethertype of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// Ethertype of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Ethertype of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86DD;

/// The router's MAC address on every port: locally administered, unicast
/// (`02:` prefix), `zpr` in ASCII.
pub const ROUTER_MAC: [u8; 6] = [0x02, 0x7a, 0x70, 0x72, 0x00, 0x01];

/// What a frame is, for the router, before any judging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An ARP request for `target` from `sender` (who is at `sender_mac`).
    ArpRequest {
        /// Sender protocol address.
        sender: Ipv4Addr,
        /// Sender hardware address.
        sender_mac: [u8; 6],
        /// The address asked for.
        target: Ipv4Addr,
    },
    /// Any other ARP message (replies, gratuitous ARP, probes).
    ArpOther,
    /// An IPv6 neighbour solicitation for `target` from `src` (not `::`).
    NeighborSolicitation {
        /// IPv6 source.
        src: Ipv6Addr,
        /// Source MAC of the frame.
        src_mac: [u8; 6],
        /// The address asked for.
        target: Ipv6Addr,
    },
    /// IPv6 neighbour discovery other than a solicitation the router
    /// answers (router and neighbour advertisements, router solicitations,
    /// redirects, duplicate address detection).
    NeighborDiscovery,
    /// Link-scope traffic the router never forwards: IPv6 from or to a
    /// link-local or multicast address, IPv4 to a multicast or the limited
    /// broadcast address.
    LinkScope,
    /// Something else: left to the IP parser and the judge.
    Other,
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn mac_at(d: &[u8], at: usize) -> Option<[u8; 6]> {
    d.get(at..at + 6)?.try_into().ok()
}

fn v6_at(d: &[u8], at: usize) -> Option<Ipv6Addr> {
    let b: [u8; 16] = d.get(at..at + 16)?.try_into().ok()?;
    Some(Ipv6Addr::from(b))
}

/// Whether an IPv6 address is link-scope (link-local unicast or any
/// multicast) or unspecified.
#[must_use]
pub fn is_v6_link_scope(a: Ipv6Addr) -> bool {
    let s = a.segments()[0];
    (s & 0xffc0) == 0xfe80 || (s & 0xff00) == 0xff00 || a.is_unspecified()
}

/// Classifies an Ethernet frame (untagged; a tagged frame is `Other` and
/// goes to the parser).
#[must_use]
pub fn classify(frame: &[u8]) -> Kind {
    let Some(et) = be16(frame, 12) else {
        return Kind::Other;
    };
    match et {
        ETHERTYPE_ARP => classify_arp(frame).unwrap_or(Kind::ArpOther),
        ETHERTYPE_IPV6 => classify_v6(frame).unwrap_or(Kind::Other),
        ETHERTYPE_IPV4 => {
            let Some(d) = frame.get(ETH_LEN + 16..ETH_LEN + 20) else {
                return Kind::Other;
            };
            let dst = Ipv4Addr::new(d[0], d[1], d[2], d[3]);
            if dst.is_multicast() || dst.is_broadcast() {
                Kind::LinkScope
            } else {
                Kind::Other
            }
        }
        _ => Kind::Other,
    }
}

fn classify_arp(f: &[u8]) -> Option<Kind> {
    let a = f.get(ETH_LEN..ETH_LEN + 28)?;
    // Ethernet / IPv4, hardware length 6, protocol length 4.
    if be16(a, 0)? != 1 || be16(a, 2)? != 0x0800 || a[4] != 6 || a[5] != 4 {
        return Some(Kind::ArpOther);
    }
    let op = be16(a, 6)?;
    let sender_mac = mac_at(a, 8)?;
    let sender = Ipv4Addr::new(a[14], a[15], a[16], a[17]);
    let target = Ipv4Addr::new(a[24], a[25], a[26], a[27]);
    // Probes (sender 0.0.0.0) and gratuitous ARP (sender == target) are
    // never answered: an answer would look like an address conflict.
    if op != 1 || sender.is_unspecified() || sender == target {
        return Some(Kind::ArpOther);
    }
    Some(Kind::ArpRequest {
        sender,
        sender_mac,
        target,
    })
}

fn classify_v6(f: &[u8]) -> Option<Kind> {
    let ip = f.get(ETH_LEN..ETH_LEN + 40)?;
    let nh = ip[6];
    let src = v6_at(ip, 8)?;
    let dst = v6_at(ip, 24)?;
    if nh == 58 {
        let icmp = f.get(ETH_LEN + 40..)?;
        let t = *icmp.first()?;
        // Only what a node would accept as neighbour discovery (hop limit
        // 255, code 0, on the link): a look-alike is judged (bridge) or
        // dropped as link-scope (router), never let through unjudged.
        let code = *icmp.get(1)?;
        if (133..=137).contains(&t) && crate::unjudged::link_local_icmpv6(src, dst, ip[7], t, code)
        {
            if t == 135 && !src.is_unspecified() {
                let target = v6_at(icmp, 8)?;
                return Some(Kind::NeighborSolicitation {
                    src,
                    src_mac: mac_at(f, 6)?,
                    target,
                });
            }
            return Some(Kind::NeighborDiscovery);
        }
    }
    if is_v6_link_scope(src) || is_v6_link_scope(dst) {
        return Some(Kind::LinkScope);
    }
    Some(Kind::Other)
}

/// The ARP reply saying `target` is at [`ROUTER_MAC`], to a request from
/// `sender` at `sender_mac`.
#[must_use]
pub fn arp_reply(sender: Ipv4Addr, sender_mac: [u8; 6], target: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(ETH_LEN + 28);
    f.extend_from_slice(&sender_mac);
    f.extend_from_slice(&ROUTER_MAC);
    f.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 2]);
    f.extend_from_slice(&ROUTER_MAC);
    f.extend_from_slice(&target.octets());
    f.extend_from_slice(&sender_mac);
    f.extend_from_slice(&sender.octets());
    f
}

/// The neighbour advertisement saying `target` is at [`ROUTER_MAC`], to a
/// solicitation from `src` at `src_mac`; `router` sets the R flag.
#[must_use]
pub fn neighbor_advertisement(
    src: Ipv6Addr,
    src_mac: [u8; 6],
    target: Ipv6Addr,
    router: bool,
) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(32);
    let flags = if router { 0xe0 } else { 0x60 }; // R, S, O
    icmp.extend_from_slice(&[136, 0, 0, 0, flags, 0, 0, 0]);
    icmp.extend_from_slice(&target.octets());
    // Target link-layer address option.
    icmp.extend_from_slice(&[2, 1]);
    icmp.extend_from_slice(&ROUTER_MAC);
    let sum = icmpv6_checksum(target, src, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());

    let mut f = Vec::with_capacity(ETH_LEN + 40 + icmp.len());
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&ROUTER_MAC);
    f.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    let plen = u16::try_from(icmp.len()).unwrap_or(0).to_be_bytes();
    f.extend_from_slice(&[0x60, 0, 0, 0, plen[0], plen[1], 58, 255]);
    f.extend_from_slice(&target.octets());
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&icmp);
    f
}

/// The ICMPv6 checksum of `msg` (checksum field zero) from `src` to `dst`.
#[must_use]
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            let hi = u64::from(c[0]) << 8;
            let lo = c.get(1).map_or(0, |x| u64::from(*x));
            sum += hi | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
    add(&len.to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(msg);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}

/// Sets the destination and source MACs of an Ethernet frame (no-op on a
/// frame shorter than a header).
pub fn rewrite_macs(frame: &mut [u8], dst: [u8; 6], src: [u8; 6]) {
    if let Some(h) = frame.get_mut(..12) {
        h[..6].copy_from_slice(&dst);
        h[6..].copy_from_slice(&src);
    }
}

/// The source MAC of a frame, when it is a unicast address.
#[must_use]
pub fn unicast_src_mac(frame: &[u8]) -> Option<[u8; 6]> {
    let m = mac_at(frame, 6)?;
    (m[0] & 1 == 0 && m != [0; 6]).then_some(m)
}

/// Whether an address is IPv4.
#[must_use]
pub fn family_matches(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arp_request(sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
        let mac = [2, 0, 0, 0, 0, 9];
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&mac);
        f.extend_from_slice(&sender);
        f.extend_from_slice(&[0; 6]);
        f.extend_from_slice(&target);
        f
    }

    #[test]
    fn arp_request_is_recognised_and_answered() {
        let f = arp_request([10, 0, 1, 10], [10, 0, 1, 1]);
        let Kind::ArpRequest {
            sender,
            sender_mac,
            target,
        } = classify(&f)
        else {
            panic!("not a request: {:?}", classify(&f));
        };
        assert_eq!(target, Ipv4Addr::new(10, 0, 1, 1));
        let r = arp_reply(sender, sender_mac, target);
        assert_eq!(r.len(), 42);
        assert_eq!(&r[0..6], &[2, 0, 0, 0, 0, 9]);
        assert_eq!(&r[20..22], &[0, 2]);
        assert_eq!(&r[22..28], &ROUTER_MAC);
        assert_eq!(&r[28..32], &[10, 0, 1, 1]);
        assert_eq!(&r[38..42], &[10, 0, 1, 10]);
        // etherparse agrees it is an ARP reply.
        let p = etherparse::SlicedPacket::from_ethernet(&r).unwrap();
        assert!(matches!(p.net, Some(etherparse::NetSlice::Arp(_))));
    }

    #[test]
    fn probes_and_gratuitous_arp_are_not_answered() {
        assert_eq!(
            classify(&arp_request([0, 0, 0, 0], [10, 0, 1, 1])),
            Kind::ArpOther
        );
        assert_eq!(
            classify(&arp_request([10, 0, 1, 10], [10, 0, 1, 10])),
            Kind::ArpOther
        );
        // Every prefix of a request is classified without a panic.
        let f = arp_request([10, 0, 1, 10], [10, 0, 1, 1]);
        for n in 0..f.len() {
            let _ = classify(&f[..n]);
        }
    }

    #[test]
    fn neighbor_advertisement_checksum_verifies() {
        let src: Ipv6Addr = "fd00:77:1::10".parse().unwrap();
        let target: Ipv6Addr = "fd00:77:1::1".parse().unwrap();
        let f = neighbor_advertisement(src, [2, 0, 0, 0, 0, 9], target, true);
        // The checksum over the message including its checksum is zero.
        let icmp = &f[ETH_LEN + 40..];
        assert_ne!(&icmp[2..4], &[0, 0]);
        // Summing the message with its checksum in place gives all ones.
        assert_eq!(icmpv6_checksum(target, src, icmp), 0);
        assert_eq!(icmp[0], 136);
        assert_eq!(icmp[4] & 0x80, 0x80);
        let p = etherparse::SlicedPacket::from_ethernet(&f).unwrap();
        let Some(etherparse::TransportSlice::Icmpv6(i)) = p.transport else {
            panic!("not icmpv6")
        };
        assert_eq!(i.icmp_type().type_u8(), 136);
    }

    fn icmpv6(src: &str, dst: &str, hop: u8, t: u8) -> Vec<u8> {
        let (src, dst): (Ipv6Addr, Ipv6Addr) = (src.parse().unwrap(), dst.parse().unwrap());
        let mut f = vec![0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0, 9, 0x86, 0xdd];
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, 24, 58, hop]);
        f.extend_from_slice(&src.octets());
        f.extend_from_slice(&dst.octets());
        f.extend_from_slice(&[t, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&dst.octets());
        f
    }

    /// QA round twenty-two (thirtieth session): any ICMPv6 of types
    /// 133-137 was neighbour discovery to the bridge, which lets it cross
    /// unjudged: a type-135 packet with hop limit 64 to a global address
    /// in another /64 crossed the bump without a verdict, carrying what it
    /// liked. Only what a node would accept as neighbour discovery is so
    /// now; the rest is judged, or dropped as link-scope.
    #[test]
    fn only_real_neighbour_discovery_crosses_unjudged() {
        let ns = icmpv6("fd00:77:1::10", "ff02::1:ff00:1", 255, 135);
        assert!(matches!(classify(&ns), Kind::NeighborSolicitation { .. }));
        let ra = icmpv6("fe80::1", "ff02::1", 255, 134);
        assert_eq!(classify(&ra), Kind::NeighborDiscovery);
        let forged = icmpv6("fd00:77:1::10", "fd00:77:2::20", 64, 135);
        assert_eq!(classify(&forged), Kind::Other);
        let forged = icmpv6("fd00:77:1::10", "fd00:77:2::20", 255, 135);
        assert_eq!(classify(&forged), Kind::Other);
        let forged = icmpv6("fe80::1", "ff02::1", 64, 134);
        assert_eq!(classify(&forged), Kind::LinkScope);
    }

    #[test]
    fn link_scope_ipv6_is_recognised() {
        assert!(is_v6_link_scope("fe80::1".parse().unwrap()));
        assert!(is_v6_link_scope("ff02::2".parse().unwrap()));
        assert!(!is_v6_link_scope("fd00::1".parse().unwrap()));
    }
}
