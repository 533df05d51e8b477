//! A link-type selector byte and a frame: parsing must not panic, a
//! malformed layer must start inside the frame, and for unfragmented TCP
//! and UDP packets that etherparse parses strictly the 5-tuple must agree
//! with etherparse's.

use std::net::IpAddr;

use zprsim_control::packet::Packet;
use zprsim_dataplane::parse::{Parsed, linktype, parse_frame};

/// The link types the first byte selects (byte modulo the length); the
/// regression test in dataplane/tests/input.rs uses the same table.
const LINKTYPES: [u32; 11] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105];

fn etherparse_tuple(lt: u32, frame: &[u8]) -> Option<Packet> {
    use etherparse::{LinkExtSlice, NetSlice, SlicedPacket, TransportSlice};
    let sliced = match lt {
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
        NetSlice::Ipv4(h) => (
            IpAddr::V4(h.header().source_addr()),
            IpAddr::V4(h.header().destination_addr()),
        ),
        NetSlice::Ipv6(h) => (
            IpAddr::V6(h.header().source_addr()),
            IpAddr::V6(h.header().destination_addr()),
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

/// The body of the `parse_frame` fuzz target.
pub fn run(data: &[u8]) {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let lt = LINKTYPES[usize::from(selector) % LINKTYPES.len()];
    let parsed = parse_frame(lt, frame);
    if let Parsed::Malformed { offset, .. } = parsed {
        assert!(offset <= frame.len());
    }
    if let Some(oracle) = etherparse_tuple(lt, frame) {
        assert!(
            matches!(parsed, Parsed::Ip(m) if m.packet == oracle),
            "ours {parsed:?}, etherparse {oracle:?}"
        );
    }
}
