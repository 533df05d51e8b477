//! Frame parsing: exactly the fields a decision needs, without allocating.
//!
//! [`parse_frame`] takes a link type and the captured bytes of one frame
//! and returns the addresses, protocol and transport fields
//! ([`zprsim_control::packet::Packet`]) plus the TCP flags byte that
//! connection tracking needs, or says why there are none.
//!
//! ```
//! use zprsim_dataplane::parse::{linktype, parse_frame, Parsed};
//! use zprsim_control::packet::L4;
//! // Raw IPv4, UDP 10.0.0.1:5353 -> 10.0.0.2:53, no payload.
//! let mut frame = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
//! frame.extend_from_slice(&[0x14, 0xe9, 0, 53, 0, 8, 0, 0]);
//! let Parsed::Ip(meta) = parse_frame(linktype::RAW, &frame) else { panic!() };
//! assert_eq!(meta.packet.l4, L4::Ports { sport: 5353, dport: 53 });
//! ```
//!
//! # Why by hand
//!
//! etherparse's `SlicedPacket` costs about 80 ns per packet for a 5-tuple
//! and gives no ports for a first fragment (offset 0, more-fragments set),
//! which the rules need (semantics §3). This parser reads only the fields it
//! needs (see the parse bench in `bench/benches/parse.rs` for its cost).
//! etherparse remains the oracle of the differential tests and the fuzz
//! target.
//!
//! # Rules
//!
//! * Link layers: Ethernet with any stack of up to [`MAX_VLAN_TAGS`]
//!   802.1Q/802.1ad/QinQ tags (0x8100, 0x88a8, 0x9100), Linux cooked SLL
//!   and SLL2, raw IP (LINKTYPE 101, and DLT_RAW as 12 or 14), raw IPv4
//!   (228) and IPv6 (229), BSD null (0, host byte order) and loopback (108,
//!   network byte order) with address families 2 (IPv4) and 24, 28, 30
//!   (IPv6). Other link types give [`Parsed::UnsupportedLinkType`]; frames
//!   that carry no IP (ARP, LLDP, 802.3/LLC, netlink, MACsec), and Linux
//!   cooked frames of the loopback device ([`is_loopback_frame`]), give
//!   [`Parsed::NonIp`].
//! * IPv4: the header (with options) must be present, version 4, IHL at
//!   least 5 and total length at least the header; the payload ends at the
//!   total length (Ethernet padding is ignored) or at the end of the
//!   capture, whichever comes first. One AH header is stepped over.
//! * IPv6: the fixed header must be present; the payload ends at the payload
//!   length or the end of the capture (a payload length of 0, a jumbogram
//!   or an offload capture, runs to the end of the capture); extension
//!   headers (hop-by-hop,
//!   routing, destination options, fragment, AH, mobility, HIP, shim6) are
//!   walked, at most [`MAX_IPV6_EXT`] of them. ESP (50) and no-next-header
//!   (59) end the walk with that protocol; after a mobility, HIP or shim6
//!   header with no next header the protocol is that header's.
//! * Fragments: a first fragment (offset 0) carries the transport header
//!   and yields its ports; a non-first fragment yields
//!   [`L4::Fragment`] with the protocol of the fragment.
//! * Transport: TCP and UDP ports (and the TCP flags byte when captured,
//!   else 0), ICMP and ICMPv6 type and code (protocols 1 and 58); any other
//!   protocol is [`L4::Opaque`].
//! * Truncation: a frame cut short by the snapshot length is judged when the
//!   headers the decision needs are present (through the ports, or the ICMP
//!   type and code); when they are not, it is [`Parsed::Malformed`] with the
//!   layer and the byte offset where that layer starts. A TCP header cut
//!   after the ports and before the flags byte is judged with flags 0 and
//!   [`PacketMeta::tcp_header_cut`] set, which the engine counts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use zprsim_control::packet::{L4, Packet};

/// Link-type numbers (LINKTYPE_ values, as in capture files).
pub mod linktype {
    /// BSD loopback: 4-byte address family in the capturing host's order.
    pub const NULL: u32 = 0;
    /// Ethernet.
    pub const ETHERNET: u32 = 1;
    /// DLT_RAW as most systems number it in files written by old libpcap.
    pub const RAW_DLT12: u32 = 12;
    /// DLT_RAW as OpenBSD numbers it.
    pub const RAW_DLT14: u32 = 14;
    /// Raw IP (version from the first nibble).
    pub const RAW: u32 = 101;
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: u32 = 108;
    /// Linux cooked capture v1.
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: u32 = 276;
}

/// Most VLAN tags stepped over in one Ethernet frame.
pub const MAX_VLAN_TAGS: usize = 8;

/// Most IPv6 extension headers walked in one packet.
pub const MAX_IPV6_EXT: usize = 16;

/// What a frame is, for the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// An IP packet with the fields a decision needs.
    Ip(PacketMeta),
    /// A frame that carries no IP packet (ARP, LLDP, ...).
    NonIp,
    /// A link type this parser does not decode.
    UnsupportedLinkType(u32),
    /// A frame too short or inconsistent for a decision.
    Malformed {
        /// The layer at fault: `ethernet`, `vlan`, `sll`, `sll2`, `null`,
        /// `ip`, `ipv4`, `ipv6`, `ipv6-ext`, `ipv6-frag`, `ah`, `tcp`,
        /// `udp`, `icmp` or `icmpv6`.
        layer: &'static str,
        /// Byte offset in the frame where that layer starts.
        offset: usize,
    },
}

/// The decision fields of an IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketMeta {
    /// Addresses, protocol and transport fields.
    pub packet: Packet,
    /// The TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, ...); 0 for other
    /// protocols and for TCP headers captured only through the ports.
    pub tcp_flags: u8,
    /// A TCP header that ends, as captured, after the ports and before
    /// the flags byte (a snapshot length of 38-47 bytes on Ethernet and
    /// IPv4, or an IP length that short): judged with `tcp_flags` 0, which
    /// the run says (`tcp-header-cut`, docs/cli.md).
    pub tcp_header_cut: bool,
}

impl PacketMeta {
    /// The TCP flags byte as captured: `None` when the capture cut it off
    /// ([`PacketMeta::tcp_header_cut`]), so nothing is known of them.
    #[must_use]
    pub fn flags(&self) -> Option<u8> {
        (!self.tcp_header_cut).then_some(self.tcp_flags)
    }
}

/// TCP flag bits in [`PacketMeta::tcp_flags`].
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const ARPHRD_NETLINK: u16 = 824;
/// The loopback device's ARPHRD type (`lo`): a Linux cooked frame of it
/// (`tcpdump -i any`) never left the host, so it never reaches the VCN.
const ARPHRD_LOOPBACK: u16 = 772;

/// Whether a frame of link type `lt` was captured on Linux's loopback
/// device (`lo`), as a cooked capture (SLL, SLL2) of the `any` device
/// says by its ARPHRD type: a packet of a host to itself (`127.0.0.1`, a
/// node reaching its own address), which never reaches the VCN. Such a
/// frame parses as [`Parsed::NonIp`]: counted with the frames that are not
/// IP (`non_ip`), never judged (docs/cli.md, `--dedup`).
#[must_use]
pub fn is_loopback_frame(lt: u32, data: &[u8]) -> bool {
    match lt {
        linktype::LINUX_SLL => be16(data, 2) == Some(ARPHRD_LOOPBACK),
        linktype::LINUX_SLL2 => be16(data, 8) == Some(ARPHRD_LOOPBACK),
        _ => false,
    }
}

const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;
const PROTO_AH: u8 = 51;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Net {
    V4,
    V6,
    Either,
}

#[inline]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

#[inline]
fn malformed(layer: &'static str, offset: usize) -> Parsed {
    Parsed::Malformed { layer, offset }
}

/// Where the IP header starts in a frame of this link type, when the
/// frame carries IP (after VLAN tags and the like).
#[must_use]
pub fn ip_start(linktype: u32, data: &[u8]) -> Option<usize> {
    link(linktype, data).ok().map(|(_, off)| off)
}

/// Parses one frame of the given link type (masked LINKTYPE_ value).
/// Never panics and never allocates.
#[must_use]
pub fn parse_frame(linktype: u32, data: &[u8]) -> Parsed {
    match link(linktype, data) {
        Ok((net, off)) => ip(data, off, net),
        Err(p) => p,
    }
}

/// The addresses of a plain packet ([`plain_then`]) as numbers (big-endian
/// values, so they order as `IpAddr` does within a family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlainAddrs {
    /// IPv4 source and destination.
    V4(u32, u32),
    /// IPv6 source and destination.
    V6(u128, u128),
}

/// The numbers of a plain TCP or UDP packet ([`plain_then`]): what the state
/// tables' keys are made of, without going through `IpAddr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plain {
    /// Source and destination.
    pub(crate) addrs: PlainAddrs,
    /// Source port.
    pub(crate) sport: u16,
    /// Destination port.
    pub(crate) dport: u16,
    /// 6 or 17.
    pub(crate) proto: u8,
}

/// The common frames, read at fixed offsets: Ethernet with at most one
/// 802.1Q tag, then IPv4 with a 20-byte header (not a later fragment) or
/// IPv6 (no extension header), then TCP or UDP with the ports inside the
/// IP payload. `Some` with exactly what [`parse_frame`] returns for the
/// frame (and its numbers); `None` for anything else, which
/// [`parse_frame`] then reads (the tests hold the two equal on random
/// frames).
///
/// The engine's worker calls it (as [`plain_then`]) before
/// [`parse_frame`]: a few bounds
/// checks and branches instead of the general walk (link type, tag loop,
/// version, AH, extension headers, transport match), and the keys made
/// from the numbers: about 90 fewer instructions a packet on the
/// realistic capture under callgrind (docs/benchmarks.md, tenth pass).
/// The reader's peek (`engine/peek.rs`) reads the same shapes for the
/// shard. This form, for tests.
#[cfg(test)]
pub(crate) fn plain(lt: u32, d: &[u8]) -> Option<(PacketMeta, Plain)> {
    plain_then(lt, d, |m, t| (m, t))
}

/// `plain` (the form the tests call), handing its result to `k` in each
/// family's branch: with `k` inlined into both, an IPv4 packet's fields
/// never share registers with an IPv6 packet's 128-bit addresses (the
/// engine's worker calls it; the merged form cost ~20 instructions a
/// packet, docs/benchmarks.md, eleventh pass).
#[inline(always)]
pub(crate) fn plain_then<R>(
    lt: u32,
    d: &[u8],
    k: impl FnOnce(PacketMeta, Plain) -> R,
) -> Option<R> {
    if lt != linktype::ETHERNET {
        return None;
    }
    let e: &[u8; 18] = d.get(..18)?.try_into().ok()?;
    let (et, off) = match u16::from_be_bytes([e[12], e[13]]) {
        0x8100 => (u16::from_be_bytes([e[16], e[17]]), 18),
        et => (et, 14),
    };
    match et {
        ETHERTYPE_IPV4 => plain_v4(d, off).map(|(m, t)| k(m, t)),
        ETHERTYPE_IPV6 => plain_v6(d, off).map(|(m, t)| k(m, t)),
        _ => None,
    }
}

/// [`plain_then`]'s IPv4 header at `off`.
#[inline(always)]
fn plain_v4(d: &[u8], off: usize) -> Option<(PacketMeta, Plain)> {
    // Through the ports (a 20-byte header).
    let h: &[u8; 24] = d.get(off..off + 24)?.try_into().ok()?;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    // The IP payload's end; at least the ports' end, which also makes the
    // total length at least the header's.
    let end = (off + total).min(d.len());
    let proto = h[9];
    if (h[0] != 0x45) | (h[6] & 0x1f | h[7] != 0) | (end < off + 24) | !matches!(proto, 6 | 17) {
        return None;
    }
    let tcp_flags = tcp_flags_at(d, off + 20, end, proto)?;
    let (src, dst) = (
        u32::from_be_bytes([h[12], h[13], h[14], h[15]]),
        u32::from_be_bytes([h[16], h[17], h[18], h[19]]),
    );
    let t = Plain {
        addrs: PlainAddrs::V4(src, dst),
        sport: u16::from_be_bytes([h[20], h[21]]),
        dport: u16::from_be_bytes([h[22], h[23]]),
        proto,
    };
    Some((
        plain_meta(
            IpAddr::V4(Ipv4Addr::from(src)),
            IpAddr::V4(Ipv4Addr::from(dst)),
            &t,
            tcp_flags,
        ),
        t,
    ))
}

/// [`plain_then`]'s IPv6 header at `off`.
#[inline(always)]
fn plain_v6(d: &[u8], off: usize) -> Option<(PacketMeta, Plain)> {
    // The fixed header and the ports.
    let h: &[u8; 44] = d.get(off..off + 44)?.try_into().ok()?;
    let payload_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    // A zero payload length runs to the end of the capture, as in `ipv6`.
    let end = if payload_len == 0 {
        d.len()
    } else {
        (off + 40 + payload_len).min(d.len())
    };
    let proto = h[6];
    if (h[0] >> 4 != 6) | (end < off + 44) | !matches!(proto, 6 | 17) {
        return None;
    }
    let tcp_flags = tcp_flags_at(d, off + 40, end, proto)?;
    let word = |i: usize| {
        let mut b = [0u8; 16];
        b.copy_from_slice(h.get(i..i + 16).unwrap_or(&[0; 16]));
        u128::from_be_bytes(b)
    };
    let (src, dst) = (word(8), word(24));
    let t = Plain {
        addrs: PlainAddrs::V6(src, dst),
        sport: u16::from_be_bytes([h[40], h[41]]),
        dport: u16::from_be_bytes([h[42], h[43]]),
        proto,
    };
    Some((
        plain_meta(
            IpAddr::V6(Ipv6Addr::from(src)),
            IpAddr::V6(Ipv6Addr::from(dst)),
            &t,
            tcp_flags,
        ),
        t,
    ))
}

/// The TCP flags byte of a plain packet whose transport header starts at
/// `pos` and whose IP payload ends at `end` (0 for UDP, or when the capture
/// stops before it), and whether the capture stops before it
/// ([`PacketMeta::tcp_header_cut`]); `None` for a data offset under 5
/// words, which [`parse_frame`] calls malformed.
#[inline(always)]
fn tcp_flags_at(d: &[u8], pos: usize, end: usize, proto: u8) -> Option<(u8, bool)> {
    if proto != PROTO_TCP {
        return Some((0, false));
    }
    let within = |i: usize| d.get(i).copied().filter(|_| i < end);
    if within(pos + 12).is_some_and(|b| b >> 4 < 5) {
        return None;
    }
    let flags = within(pos + 13);
    Some((flags.unwrap_or(0), flags.is_none()))
}

#[inline(always)]
fn plain_meta(
    src: IpAddr,
    dst: IpAddr,
    t: &Plain,
    (tcp_flags, tcp_header_cut): (u8, bool),
) -> PacketMeta {
    PacketMeta {
        packet: Packet {
            src,
            dst,
            proto: t.proto,
            l4: L4::Ports {
                sport: t.sport,
                dport: t.dport,
            },
        },
        tcp_flags,
        tcp_header_cut,
    }
}

/// Finds the network layer: its family and offset.
fn link(lt: u32, data: &[u8]) -> Result<(Net, usize), Parsed> {
    match lt {
        linktype::ETHERNET => {
            let Some(et) = be16(data, 12) else {
                return Err(malformed("ethernet", 0));
            };
            ethertype(data, 14, et)
        }
        linktype::LINUX_SLL => {
            if data.len() < 16 {
                return Err(malformed("sll", 0));
            }
            if be16(data, 2) == Some(ARPHRD_NETLINK) || is_loopback_frame(lt, data) {
                return Err(Parsed::NonIp);
            }
            ethertype(data, 16, be16(data, 14).unwrap_or(0))
        }
        linktype::LINUX_SLL2 => {
            if data.len() < 20 {
                return Err(malformed("sll2", 0));
            }
            if be16(data, 8) == Some(ARPHRD_NETLINK) || is_loopback_frame(lt, data) {
                return Err(Parsed::NonIp);
            }
            ethertype(data, 20, be16(data, 0).unwrap_or(0))
        }
        linktype::RAW | linktype::RAW_DLT12 | linktype::RAW_DLT14 => Ok((Net::Either, 0)),
        linktype::IPV4 => Ok((Net::V4, 0)),
        linktype::IPV6 => Ok((Net::V6, 0)),
        linktype::NULL | linktype::LOOP => {
            let Some(b) = data.get(0..4) else {
                return Err(malformed("null", 0));
            };
            let raw = [b[0], b[1], b[2], b[3]];
            let family = if lt == linktype::LOOP {
                u32::from_be_bytes(raw)
            } else {
                // Host byte order of the capturing machine: libpcap and
                // tcpdump take a value with high bits set as the other order.
                let le = u32::from_le_bytes(raw);
                if le & 0xFFFF_0000 != 0 {
                    le.swap_bytes()
                } else {
                    le
                }
            };
            match family {
                2 => Ok((Net::V4, 4)),
                24 | 28 | 30 => Ok((Net::V6, 4)),
                _ => Err(Parsed::NonIp),
            }
        }
        other => Err(Parsed::UnsupportedLinkType(other)),
    }
}

/// Steps over VLAN tags from `off`, where the ethertype `et` applies.
fn ethertype(data: &[u8], mut off: usize, mut et: u16) -> Result<(Net, usize), Parsed> {
    for _ in 0..=MAX_VLAN_TAGS {
        match et {
            ETHERTYPE_IPV4 => return Ok((Net::V4, off)),
            ETHERTYPE_IPV6 => return Ok((Net::V6, off)),
            0x8100 | 0x88a8 | 0x9100 => {
                let Some(inner) = be16(data, off + 2) else {
                    return Err(malformed("vlan", off));
                };
                et = inner;
                off += 4;
            }
            _ => return Err(Parsed::NonIp),
        }
    }
    Err(malformed("vlan", off))
}

fn ip(data: &[u8], off: usize, net: Net) -> Parsed {
    let version = data.get(off).map(|b| b >> 4);
    match (net, version) {
        (Net::V4 | Net::Either, Some(4)) => ipv4(data, off),
        (Net::V6 | Net::Either, Some(6)) => ipv6(data, off),
        (Net::V4, _) => malformed("ipv4", off),
        (Net::V6, _) => malformed("ipv6", off),
        (Net::Either, _) => malformed("ip", off),
    }
}

fn ipv4(data: &[u8], off: usize) -> Parsed {
    let Some(h) = data.get(off..off + 20) else {
        return malformed("ipv4", off);
    };
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if ihl < 20 || total < ihl || data.len() < off + ihl {
        return malformed("ipv4", off);
    }
    let src = IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19]));
    let mut proto = h[9];
    let frag_offset = u16::from_be_bytes([h[6], h[7]]) & 0x1fff;
    if frag_offset != 0 {
        return fragment(src, dst, proto);
    }
    // The payload ends at the total length or the end of the capture.
    let end = (off + total).min(data.len());
    let mut pos = off + ihl;
    if proto == PROTO_AH {
        let Some(len) = ah_len(data, pos, end) else {
            return malformed("ah", pos);
        };
        proto = data[pos];
        pos += len;
    }
    transport(&data[..end], pos, proto, src, dst)
}

/// Length of the AH header at `pos` when it lies within `end`.
#[inline]
fn ah_len(data: &[u8], pos: usize, end: usize) -> Option<usize> {
    let n = *data.get(pos + 1)?;
    let len = (usize::from(n) + 2) * 4;
    (pos + len <= end).then_some(len)
}

fn ipv6(data: &[u8], off: usize) -> Parsed {
    let Some(h) = data.get(off..off + 40) else {
        return malformed("ipv6", off);
    };
    let payload_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let mut nh = h[6];
    let src = IpAddr::V6(Ipv6Addr::from(
        <[u8; 16]>::try_from(&h[8..24]).unwrap_or([0; 16]),
    ));
    let dst = IpAddr::V6(Ipv6Addr::from(
        <[u8; 16]>::try_from(&h[24..40]).unwrap_or([0; 16]),
    ));
    // A zero payload length is a jumbogram (RFC 2675) or a segmentation
    // offload capture (Linux BIG TCP strips the jumbo option): the payload
    // runs to the end of the capture, as etherparse and Wireshark read it.
    let end = if payload_len == 0 {
        data.len()
    } else {
        (off + 40 + payload_len).min(data.len())
    };
    let mut pos = off + 40;
    let mut last_ext: Option<u8> = None;
    // One pass more than the headers walked: after the last of
    // MAX_IPV6_EXT extension headers the transport is still read (QA
    // round 25: a chain of exactly 16 was malformed, 15 was the limit).
    for walked in 0..=MAX_IPV6_EXT {
        if walked == MAX_IPV6_EXT && matches!(nh, 0 | 43 | 60 | 135 | 139 | 140 | 44 | PROTO_AH) {
            return malformed("ipv6-ext", pos);
        }
        match nh {
            0 | 43 | 60 | 135 | 139 | 140 => {
                let Some(n) = data.get(pos + 1).filter(|_| pos + 2 <= end) else {
                    return malformed("ipv6-ext", pos);
                };
                let len = (usize::from(*n) + 1) * 8;
                if pos + len > end {
                    return malformed("ipv6-ext", pos);
                }
                if matches!(nh, 135 | 139 | 140) {
                    last_ext = Some(nh);
                }
                nh = data[pos];
                pos += len;
            }
            44 => {
                if pos + 8 > end {
                    return malformed("ipv6-frag", pos);
                }
                let next = data[pos];
                let frag_offset = u16::from_be_bytes([data[pos + 2], data[pos + 3]]) >> 3;
                if frag_offset != 0 {
                    return fragment(src, dst, next);
                }
                nh = next;
                pos += 8;
            }
            PROTO_AH => {
                let Some(len) = ah_len(data, pos, end) else {
                    return malformed("ah", pos);
                };
                nh = data[pos];
                pos += len;
            }
            59 => {
                let proto = last_ext.unwrap_or(59);
                return Parsed::Ip(PacketMeta {
                    packet: Packet {
                        src,
                        dst,
                        proto,
                        l4: L4::Opaque,
                    },
                    tcp_flags: 0,
                    tcp_header_cut: false,
                });
            }
            _ => return transport(&data[..end], pos, nh, src, dst),
        }
    }
    malformed("ipv6-ext", pos)
}

#[inline]
fn fragment(src: IpAddr, dst: IpAddr, proto: u8) -> Parsed {
    Parsed::Ip(PacketMeta {
        packet: Packet {
            src,
            dst,
            proto,
            l4: L4::Fragment,
        },
        tcp_flags: 0,
        tcp_header_cut: false,
    })
}

/// Reads the transport fields at `pos`; `data` ends where the IP payload
/// ends.
#[inline]
fn transport(data: &[u8], pos: usize, proto: u8, src: IpAddr, dst: IpAddr) -> Parsed {
    let (l4, tcp_flags, tcp_header_cut) = match proto {
        PROTO_TCP | PROTO_UDP => {
            let (Some(sport), Some(dport)) = (be16(data, pos), be16(data, pos + 2)) else {
                return malformed(if proto == PROTO_TCP { "tcp" } else { "udp" }, pos);
            };
            let (mut flags, mut cut) = (0, false);
            if proto == PROTO_TCP {
                // A data offset under 5 words is no TCP header; when the
                // capture stops before it, the ports are enough (the
                // flags are said missing).
                if data.get(pos + 12).is_some_and(|b| b >> 4 < 5) {
                    return malformed("tcp", pos);
                }
                let byte = data.get(pos + 13).copied();
                (flags, cut) = (byte.unwrap_or(0), byte.is_none());
            }
            (L4::Ports { sport, dport }, flags, cut)
        }
        PROTO_ICMP | PROTO_ICMPV6 => {
            let (Some(&icmp_type), Some(&code)) = (data.get(pos), data.get(pos + 1)) else {
                return malformed(
                    if proto == PROTO_ICMP {
                        "icmp"
                    } else {
                        "icmpv6"
                    },
                    pos,
                );
            };
            (L4::Icmp { icmp_type, code }, 0, false)
        }
        _ => (L4::Opaque, 0, false),
    };
    Parsed::Ip(PacketMeta {
        packet: Packet {
            src,
            dst,
            proto,
            l4,
        },
        tcp_flags,
        tcp_header_cut,
    })
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::edge_frames::frame;

    /// Whenever [`plain`] reads a frame, it returns what [`parse_frame`]
    /// does, and its numbers are the packet's.
    #[test]
    fn the_plain_path_is_the_full_parse() {
        let mut r = ChaCha8Rng::seed_from_u64(21);
        let (mut plain4, mut plain6, mut ip) = (0u32, 0u32, 0u32);
        for _ in 0..300_000 {
            let f = frame(&mut r);
            let lt = if r.random_bool(0.03) {
                linktype::RAW
            } else {
                linktype::ETHERNET
            };
            let full = parse_frame(lt, &f);
            ip += u32::from(matches!(full, Parsed::Ip(_)));
            let Some((meta, t)) = plain(lt, &f) else {
                continue;
            };
            assert_eq!(full, Parsed::Ip(meta), "{f:02x?}");
            let (src, dst) = match t.addrs {
                PlainAddrs::V4(a, b) => {
                    plain4 += 1;
                    (IpAddr::V4(Ipv4Addr::from(a)), IpAddr::V4(Ipv4Addr::from(b)))
                }
                PlainAddrs::V6(a, b) => {
                    plain6 += 1;
                    (IpAddr::V6(Ipv6Addr::from(a)), IpAddr::V6(Ipv6Addr::from(b)))
                }
            };
            let ports = L4::Ports {
                sport: t.sport,
                dport: t.dport,
            };
            assert_eq!(
                meta.packet,
                Packet {
                    src,
                    dst,
                    proto: t.proto,
                    l4: ports,
                }
            );
        }
        // Both families take the plain path, and not every IP frame does.
        assert!(
            plain4 > 10_000 && plain6 > 10_000,
            "{plain4} {plain6} of {ip}"
        );
        assert!(plain4 + plain6 < ip, "{plain4} {plain6} of {ip}");
    }

    #[test]
    fn a_plain_tcp_frame_keeps_its_flags() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 2, 10, 0, 0, 1]);
        f.extend_from_slice(&[0x1f, 0x90, 0x30, 0x39, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x12]);
        f.extend_from_slice(&[0; 6]);
        let (meta, t) = plain(linktype::ETHERNET, &f).expect("plain");
        assert_eq!(Parsed::Ip(meta), parse_frame(linktype::ETHERNET, &f));
        assert_eq!(meta.tcp_flags, 0x12);
        assert_eq!((t.sport, t.dport, t.proto), (8080, 12345, 6));
        // One tag is read; a later fragment, or two tags, go to the full
        // parse.
        let mut tagged = f[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0x00, 0, 5]);
        tagged.extend_from_slice(&f[12..]);
        let (m, _) = plain(linktype::ETHERNET, &tagged).expect("one tag");
        assert_eq!(Parsed::Ip(m), parse_frame(linktype::ETHERNET, &tagged));
        let mut frag = f.clone();
        frag[21] = 0x10;
        assert_eq!(plain(linktype::ETHERNET, &frag), None);
        let mut twice = f[..12].to_vec();
        twice.extend_from_slice(&[0x81, 0x00, 0, 5, 0x81, 0x00, 0, 6]);
        twice.extend_from_slice(&f[12..]);
        assert_eq!(plain(linktype::ETHERNET, &twice), None);
        assert!(matches!(
            parse_frame(linktype::ETHERNET, &twice),
            Parsed::Ip(_)
        ));
    }
}

/// Review (s5): [`plain`] against [`parse_frame`] on hand-made odd frames,
/// each cut at every length and padded past its IP length.
#[cfg(test)]
mod plain_review_tests {
    use super::*;

    fn eth(tags: &[u16], et: u16) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        for &t in tags {
            f.extend_from_slice(&t.to_be_bytes());
            f.extend_from_slice(&[0, 7]);
        }
        f.extend_from_slice(&et.to_be_bytes());
        f
    }

    fn l4(proto: u8, sport: u16, dport: u16, doff: u8) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(&sport.to_be_bytes());
        t.extend_from_slice(&dport.to_be_bytes());
        if proto == 6 {
            t.extend_from_slice(&[0; 8]);
            t.extend_from_slice(&[doff << 4, 0x12, 0, 0, 0, 0, 0, 0]);
        } else {
            t.extend_from_slice(&[0, 8, 0, 0]);
        }
        t
    }

    /// IPv4 with `ihl` words (options zero), `total` (None: exact), the
    /// flags/offset word, then `payload`.
    fn v4(ihl: u8, total: Option<u16>, frag: u16, proto: u8, payload: &[u8]) -> Vec<u8> {
        let hl = usize::from(ihl.max(5)) * 4;
        let mut h = vec![0u8; hl];
        h[0] = 0x40 | ihl;
        let t = total.unwrap_or(u16::try_from(hl + payload.len()).unwrap_or(0));
        h[2..4].copy_from_slice(&t.to_be_bytes());
        h[6..8].copy_from_slice(&frag.to_be_bytes());
        h[8] = 64;
        h[9] = proto;
        h[12..16].copy_from_slice(&[10, 0, 0, 2]);
        h[16..20].copy_from_slice(&[10, 0, 0, 1]);
        h.extend_from_slice(payload);
        h
    }

    /// IPv6 with payload length `pl` (None: exact), next header `nh`.
    fn v6(pl: Option<u16>, nh: u8, payload: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 40];
        h[0] = 0x60;
        let p = pl.unwrap_or(u16::try_from(payload.len()).unwrap_or(0));
        h[4..6].copy_from_slice(&p.to_be_bytes());
        h[6] = nh;
        h[7] = 64;
        h[8] = 0xfd;
        h[23] = 2;
        h[24] = 0xfd;
        h[39] = 1;
        h.extend_from_slice(payload);
        h
    }

    fn cat(a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut v = a.to_vec();
        v.extend_from_slice(b);
        v
    }

    /// `plain` agrees with the full parse on `f`, on every prefix of it and
    /// with 32 bytes of trailer; returns whether it read `f` itself.
    fn agrees(f: &[u8]) -> bool {
        for lt in [linktype::ETHERNET, linktype::RAW, linktype::LINUX_SLL] {
            let mut padded = f.to_vec();
            padded.extend_from_slice(&[0xee; 32]);
            for g in [f, &padded[..]] {
                for cut in 0..=g.len() {
                    let d = &g[..cut];
                    if let Some((m, _)) = plain(lt, d) {
                        assert_eq!(Parsed::Ip(m), parse_frame(lt, d), "{lt} {d:02x?}");
                    }
                }
            }
        }
        plain(linktype::ETHERNET, f).is_some()
    }

    #[test]
    fn the_plain_path_agrees_with_the_full_parse_on_odd_frames() {
        let tcp = l4(6, 40000, 443, 5);
        let udp = l4(17, 53, 0, 0);
        let zero = l4(6, 0, 0, 5);
        let mut read = 0;
        let mut cases: Vec<(Vec<u8>, bool)> = Vec::new();
        for tags in [
            &[][..],
            &[0x8100],
            &[0x8100, 0x8100],
            &[0x88a8],
            &[0x9100, 0x8100],
        ] {
            let plain_tags = tags.len() <= 1 && tags.first().is_none_or(|&t| t == 0x8100);
            let e4 = eth(tags, 0x0800);
            let e6 = eth(tags, 0x86DD);
            // Plain shapes (the MF flag with offset 0 is a first fragment).
            for (p, l) in [(6, &tcp), (17, &udp), (6, &zero)] {
                cases.push((cat(&e4, &v4(5, None, 0, p, l)), plain_tags));
                cases.push((cat(&e4, &v4(5, None, 0x4000, p, l)), plain_tags));
                cases.push((cat(&e4, &v4(5, None, 0x2000, p, l)), plain_tags));
                cases.push((cat(&e6, &v6(None, p, l)), plain_tags));
                cases.push((cat(&e6, &v6(Some(0), p, l)), plain_tags));
            }
            // Not plain: options, IHL under 5, later fragments, short and
            // long total lengths, extension headers, AH, data offset < 5.
            cases.push((cat(&e4, &v4(6, None, 0, 6, &tcp)), false));
            cases.push((cat(&e4, &v4(4, None, 0, 6, &tcp)), false));
            cases.push((cat(&e4, &v4(5, None, 0x0001, 6, &tcp)), false));
            cases.push((cat(&e4, &v4(5, None, 0x2001, 17, &udp)), false));
            cases.push((cat(&e4, &v4(5, Some(0), 0, 6, &tcp)), false));
            cases.push((cat(&e4, &v4(5, Some(19), 0, 6, &tcp)), false));
            cases.push((cat(&e4, &v4(5, Some(22), 0, 6, &tcp)), false));
            cases.push((cat(&e4, &v4(5, Some(24), 0, 6, &tcp)), plain_tags));
            cases.push((cat(&e4, &v4(5, Some(33), 0, 6, &tcp)), plain_tags));
            cases.push((cat(&e4, &v4(5, Some(65535), 0, 6, &tcp)), plain_tags));
            cases.push((cat(&e4, &v4(5, None, 0, 6, &l4(6, 1, 2, 4))), false));
            cases.push((cat(&e4, &v4(5, None, 0, 6, &l4(6, 1, 2, 0))), false));
            cases.push((
                cat(
                    &e4,
                    &v4(
                        5,
                        None,
                        0,
                        51,
                        &cat(&[6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &tcp),
                    ),
                ),
                false,
            ));
            cases.push((cat(&e4, &v4(5, None, 0, 1, &[8, 0, 0, 0])), false));
            cases.push((cat(&e6, &v6(Some(2), 6, &tcp)), false));
            cases.push((cat(&e6, &v6(Some(4), 6, &tcp)), plain_tags));
            cases.push((
                cat(&e6, &v6(None, 0, &cat(&[6, 0, 1, 4, 0, 0, 0, 0], &tcp))),
                false,
            ));
            cases.push((
                cat(&e6, &v6(None, 44, &cat(&[6, 0, 0, 0, 0, 0, 0, 1], &tcp))),
                false,
            ));
            cases.push((
                cat(&e6, &v6(None, 44, &cat(&[17, 0, 0, 8, 0, 0, 0, 1], &udp))),
                false,
            ));
            cases.push((cat(&e6, &v6(None, 58, &[128, 0, 0, 0])), false));
            cases.push((cat(&e6, &v6(None, 6, &l4(6, 1, 2, 3))), false));
            // An IPv4 ethertype over an IPv6 header and the reverse.
            cases.push((cat(&e4, &v6(None, 6, &tcp)), false));
            cases.push((cat(&e6, &v4(5, None, 0, 6, &tcp)), false));
        }
        for (f, want) in &cases {
            let got = agrees(f);
            assert_eq!(got, *want, "{f:02x?}");
            read += usize::from(got);
        }
        assert!(read > 20, "{read}");
    }

    /// A frame cut by the snapshot length inside its TCP header, after the
    /// ports (38-47 bytes of Ethernet, IPv4 and TCP; 58-67 with IPv6): the
    /// packet with flags 0 and [`PacketMeta::tcp_header_cut`] set, on the
    /// plain path and the full parse alike (and the tagged and raw ones);
    /// cut before the ports, malformed; with the flags, or UDP, no cut.
    #[test]
    fn a_tcp_header_cut_before_its_flags_is_said() {
        let tcp = l4(6, 40000, 443, 5);
        let udp = l4(17, 40000, 53, 0);
        let frames = [
            (eth(&[], 0x0800), v4(5, None, 0, 6, &tcp), 34),
            (eth(&[0x8100], 0x0800), v4(5, None, 0, 6, &tcp), 38),
            (eth(&[], 0x0800), v4(6, None, 0, 6, &tcp), 38),
            (eth(&[], 0x86dd), v6(None, 6, &tcp), 54),
        ];
        for (e, ip, at) in &frames {
            let f = cat(e, ip);
            for lt in [linktype::ETHERNET, linktype::RAW] {
                let (f, at) = if lt == linktype::RAW {
                    (&f[e.len()..], at - e.len())
                } else {
                    (&f[..], *at)
                };
                for cut in at..=f.len() {
                    let got = parse_frame(lt, &f[..cut]);
                    if cut < at + 4 {
                        assert!(
                            matches!(got, Parsed::Malformed { layer: "tcp", .. }),
                            "{cut}: {got:?}"
                        );
                        continue;
                    }
                    let Parsed::Ip(m) = got else {
                        panic!("{cut}: {got:?}")
                    };
                    let flags_cut = cut <= at + 13;
                    assert_eq!(m.tcp_header_cut, flags_cut, "{cut} of {f:02x?}");
                    assert_eq!(m.tcp_flags, if flags_cut { 0 } else { 0x12 }, "{cut}");
                    if let Some((p, _)) = plain(lt, &f[..cut]) {
                        assert_eq!(Parsed::Ip(p), got, "{cut}");
                    }
                }
            }
        }
        for cut in 38..=42 {
            let f = cat(&eth(&[], 0x0800), &v4(5, None, 0, 17, &udp));
            let Parsed::Ip(m) = parse_frame(linktype::ETHERNET, &f[..cut]) else {
                panic!("{cut}")
            };
            assert!(!m.tcp_header_cut);
        }
    }
}
