//! Helpers shared by the dataplane's integration tests.

use std::net::IpAddr;

use zprsim_control::packet::Packet;
use zprsim_dataplane::parse::linktype;

/// etherparse's view of a frame: the 5-tuple when it finds TCP or UDP in an
/// unfragmented packet, else `None`.
pub fn etherparse_tuple(linktype: u32, frame: &[u8]) -> Option<Packet> {
    use etherparse::{LinkExtSlice, NetSlice, SlicedPacket, TransportSlice};
    let sliced = match linktype {
        linktype::ETHERNET => SlicedPacket::from_ethernet(frame),
        linktype::LINUX_SLL => SlicedPacket::from_linux_sll(frame),
        linktype::RAW | linktype::RAW_DLT12 | linktype::RAW_DLT14 => SlicedPacket::from_ip(frame),
        _ => return None,
    }
    .ok()?;
    if sliced
        .link_exts
        .iter()
        .any(|e| matches!(e, LinkExtSlice::Macsec(_)))
        || sliced.is_ip_payload_fragmented()
    {
        return None;
    }
    let (src, dst) = match sliced.net? {
        NetSlice::Ipv4(v4) => (
            IpAddr::V4(v4.header().source_addr()),
            IpAddr::V4(v4.header().destination_addr()),
        ),
        NetSlice::Ipv6(v6) => (
            IpAddr::V6(v6.header().source_addr()),
            IpAddr::V6(v6.header().destination_addr()),
        ),
        NetSlice::Arp(_) => return None,
    };
    match sliced.transport? {
        TransportSlice::Tcp(t) => {
            Some(Packet::tcp(src, t.source_port(), dst, t.destination_port()))
        }
        TransportSlice::Udp(u) => {
            Some(Packet::udp(src, u.source_port(), dst, u.destination_port()))
        }
        _ => None,
    }
}
