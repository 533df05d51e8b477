//! Packets that stay on their link: to a link-local multicast group, to
//! the limited broadcast address, or IGMP. No router forwards them, and on
//! OCI the only other end of a VNIC's link is the VCN's virtual router,
//! which delivers neither multicast nor broadcast; no route table,
//! security rule or ZPR policy can name them. `replay` counts captured
//! ones as `link_local`, not judged, and `explain` refuses them as ends
//! (docs/semantics.md §2.2, decision 35). Multicast beyond the link (a
//! routable group such as `239.255.255.250`) is judged, and drops at route
//! ([`crate::eval::undeliverable`]).

use std::net::IpAddr;

/// IGMP's protocol number (RFC 1112, RFC 2236, RFC 3376).
pub const IGMP: u8 = 2;

/// Why a packet of `protocol` to `dst` never leaves its link, or `None`:
///
/// * IPv4 `224.0.0.0/24`, the local network control block (mDNS
///   `224.0.0.251`, LLMNR `224.0.0.252`, IGMPv3 reports `224.0.0.22`,
///   VRRP, OSPF): RFC 5771 §4, never forwarded;
/// * `255.255.255.255`, the limited broadcast (DHCP): RFC 919 §7, never
///   forwarded;
/// * IGMP to any multicast group (sent with TTL 1, RFC 2236 §2);
/// * IPv6 multicast of interface-local or link-local scope (`ff01::/16`,
///   `ff02::/16`, with any flags: mDNS `ff02::fb`, DHCPv6 `ff02::1:2`,
///   LLMNR `ff02::1:3`): RFC 4291 §2.7, never forwarded past its scope.
#[must_use]
pub fn link_scope(dst: IpAddr, protocol: u8) -> Option<&'static str> {
    match dst {
        IpAddr::V4(d) if d.is_broadcast() => Some("the limited broadcast address"),
        IpAddr::V4(d) if d.octets()[..3] == [224, 0, 0] => {
            Some("a link-local multicast group (224.0.0.0/24)")
        }
        IpAddr::V4(d) if d.is_multicast() && protocol == IGMP => {
            Some("IGMP, which stays on its link")
        }
        IpAddr::V6(d) if d.is_multicast() && matches!(d.segments()[0] & 0x000f, 0..=2) => {
            Some("a link-scope IPv6 multicast group (ff02::/16)")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn link_scope_ends_and_routable_ones() {
        for (d, p) in [
            ("224.0.0.251", 17),
            ("224.0.0.252", 17),
            ("224.0.0.22", IGMP),
            ("224.0.0.18", 112),
            ("255.255.255.255", 17),
            ("239.255.255.250", IGMP),
            ("ff02::fb", 17),
            ("ff02::1:2", 17),
            ("ff12::1234", 17),
            ("ff01::1", 58),
        ] {
            assert!(link_scope(a(d), p).is_some(), "{d} {p}");
        }
        for (d, p) in [
            ("239.255.255.250", 17),
            ("224.0.1.1", 17),
            ("10.0.1.255", 17),
            ("0.0.0.0", 17),
            ("ff05::1:3", 17),
            ("ff0e::1", 17),
            ("fe80::1", 17),
            ("10.0.0.1", IGMP),
        ] {
            assert!(link_scope(a(d), p).is_none(), "{d} {p}");
        }
    }
}
