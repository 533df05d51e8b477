//! Community ID v1 flow hashes, as Zeek and Suricata write them.
//!
//! Spec: <https://github.com/corelight/community-id-spec>. The hash input is
//! the seed (2 bytes), the two addresses, the protocol, a zero byte and, for
//! TCP, UDP, SCTP, ICMP and ICMPv6, two 16-bit "ports", all in network
//! byte order, with the endpoints ordered so the smaller address (then
//! port) comes first. ICMP types map to port pairs the way Zeek does:
//! a request and its reply (echo, timestamp, information, router and
//! neighbour discovery, ...) become `(type, counterpart type)` and share an
//! ID; other types are one-way `(type, code)` and are never reordered. The
//! result is `1:` + base64 of the SHA-1 digest.
//!
//! [`FlowKey`] is that ordered tuple; it is also the key under which the
//! replay groups packets into flow records.
//!
//! ```
//! use zprsim_dataplane::community_id::community_id;
//! use zprsim_control::packet::Packet;
//! let p = Packet::tcp("1.2.3.4".parse().unwrap(), 1122, "5.6.7.8".parse().unwrap(), 3344);
//! assert_eq!(community_id(&p), "1:wCb3OG7yAFWelaUydu0D+125CLM=");
//! assert_eq!(community_id(&p.reversed()), "1:wCb3OG7yAFWelaUydu0D+125CLM=");
//! ```

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};
use zprsim_control::packet::{L4, Packet};

const PROTO_ICMP: u8 = 1;
const PROTO_ICMPV6: u8 = 58;

/// The ordered tuple a Community ID hashes: equal for both directions of a
/// flow (and for an ICMP request and its reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// The first endpoint's address (the smaller one unless one-way).
    pub a: IpAddr,
    /// The second endpoint's address.
    pub b: IpAddr,
    /// IANA protocol number.
    pub proto: u8,
    /// Ports (or ICMP port equivalents) of `a` and `b`, for protocols that
    /// have them.
    pub ports: Option<(u16, u16)>,
}

/// Zeek's ICMPv4 request/reply pairs (`ICMP4_counterpart`).
pub(crate) fn icmp4_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        8 => 0,   // echo -> echo reply
        0 => 8,   // echo reply -> echo
        13 => 14, // timestamp
        14 => 13,
        15 => 16, // information
        16 => 15,
        10 => 9, // router solicitation -> advertisement
        9 => 10,
        17 => 18, // address mask
        18 => 17,
        _ => return None,
    })
}

/// Zeek's ICMPv6 request/reply pairs (`ICMP6_counterpart`).
pub(crate) fn icmp6_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        128 => 129, // echo request -> reply
        129 => 128,
        133 => 134, // router solicitation -> advertisement
        134 => 133,
        135 => 136, // neighbour solicitation -> advertisement
        136 => 135,
        130 => 131, // multicast listener query -> report
        131 => 130,
        139 => 140, // node information query -> response ("who are you")
        140 => 139,
        144 => 145, // home agent address discovery request -> reply
        145 => 144,
        _ => return None,
    })
}

fn addr_bytes(a: &IpAddr) -> ([u8; 16], usize) {
    match a {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            (b, 4)
        }
        IpAddr::V6(v6) => (v6.octets(), 16),
    }
}

impl FlowKey {
    /// The key of a raw tuple: `ports` are the source and destination ports
    /// for TCP, UDP and SCTP, or the type and code for ICMP and ICMPv6;
    /// `None` for other protocols.
    #[must_use]
    pub fn new(src: IpAddr, dst: IpAddr, proto: u8, ports: Option<(u16, u16)>) -> FlowKey {
        let (ports, one_way) = match (proto, ports) {
            (PROTO_ICMP | PROTO_ICMPV6, Some((icmp_type, code))) => {
                let counterpart = u8::try_from(icmp_type).ok().and_then(|t| {
                    if proto == PROTO_ICMP {
                        icmp4_counterpart(t)
                    } else {
                        icmp6_counterpart(t)
                    }
                });
                match counterpart {
                    Some(c) => (Some((icmp_type, u16::from(c))), false),
                    None => (Some((icmp_type, code)), true),
                }
            }
            (_, p) => (p, false),
        };
        let (sb, sl) = addr_bytes(&src);
        let (db, dl) = addr_bytes(&dst);
        let (sa, da) = (&sb[..sl], &db[..dl]);
        let ordered = one_way || sa < da || (sa == da && ports.is_some_and(|(s, d)| s < d));
        if ordered {
            FlowKey {
                a: src,
                b: dst,
                proto,
                ports,
            }
        } else {
            FlowKey {
                a: dst,
                b: src,
                proto,
                ports: ports.map(|(s, d)| (d, s)),
            }
        }
    }

    /// The key of a parsed packet. TCP and UDP use their ports and ICMP its
    /// type and code; a non-first fragment and other protocols hash without
    /// ports (zprsim's parser gives SCTP no ports, so it hashes as a
    /// port-less protocol here; use [`FlowKey::new`] with its ports to match
    /// Zeek for SCTP).
    #[must_use]
    pub fn of(packet: &Packet) -> FlowKey {
        let ports = match packet.l4 {
            L4::Ports { sport, dport } => Some((sport, dport)),
            L4::Icmp { icmp_type, code } => Some((u16::from(icmp_type), u16::from(code))),
            L4::Opaque | L4::Fragment => None,
        };
        FlowKey::new(packet.src, packet.dst, packet.proto, ports)
    }

    /// The Community ID v1 string with the given seed.
    #[must_use]
    pub fn community_id(&self, seed: u16) -> String {
        CommunityId(self.digest(seed)).to_string()
    }

    /// The Community ID v1 with the given seed, held in 20 bytes (a flow
    /// log of a million flows keeps a million of them).
    #[must_use]
    pub fn community_id_compact(&self, seed: u16) -> CommunityId {
        CommunityId(self.digest(seed))
    }

    fn digest(&self, seed: u16) -> [u8; 20] {
        let mut h = Sha1::new();
        h.update(seed.to_be_bytes());
        let (ab, al) = addr_bytes(&self.a);
        let (bb, bl) = addr_bytes(&self.b);
        h.update(&ab[..al]);
        h.update(&bb[..bl]);
        h.update([self.proto, 0]);
        if let Some((a, b)) = self.ports {
            h.update(a.to_be_bytes());
            h.update(b.to_be_bytes());
        }
        h.finalize().into()
    }
}

/// A Community ID v1 (the SHA-1 digest); displays and serializes as the
/// string Zeek and Suricata write (`1:` and the digest in base64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CommunityId(pub [u8; 20]);

impl std::fmt::Display for CommunityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Encoded on the stack: the flow log writes one per flow record,
        // and a `String` each was the writer's only allocation per record.
        // 20 bytes of SHA-1 are 28 characters of padded base64.
        let mut buf = [0u8; 28];
        let n = STANDARD
            .encode_slice(self.0, &mut buf)
            .map_err(|_| std::fmt::Error)?;
        let text = std::str::from_utf8(buf.get(..n).ok_or(std::fmt::Error)?)
            .map_err(|_| std::fmt::Error)?;
        f.write_str("1:")?;
        f.write_str(text)
    }
}

impl serde::Serialize for CommunityId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The Community ID (v1, seed 0) of a packet's flow.
#[must_use]
pub fn community_id(packet: &Packet) -> String {
    FlowKey::of(packet).community_id(0)
}
