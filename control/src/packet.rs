//! What a decision needs to know about a packet: addresses, protocol and the
//! transport fields, already extracted by the dataplane's parser (or given
//! on the command line).

use std::fmt;
use std::net::IpAddr;

use crate::model::proto;

/// Transport-layer fields of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4 {
    /// TCP or UDP with both ports.
    Ports {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
    },
    /// ICMP or ICMPv6 with type and code.
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
    },
    /// A protocol without ports or types (GRE, ESP, ...); also an ICMP
    /// packet whose type is not known (a flow-log record's, for what
    /// keeps its flow open): rules and statements with an ICMP-type
    /// condition do not match it, so one that does names no type.
    Opaque,
    /// A non-first IP fragment: no transport header at all. Rules and
    /// statements with a port or ICMP-type condition do not match it.
    Fragment,
}

impl L4 {
    /// The fields a flow record names, each `None` where the transport has
    /// none: source port, destination port, ICMP type, ICMP code.
    #[must_use]
    pub fn fields(self) -> (Option<u16>, Option<u16>, Option<u8>, Option<u8>) {
        match self {
            L4::Ports { sport, dport } => (Some(sport), Some(dport), None, None),
            L4::Icmp { icmp_type, code } => (None, None, Some(icmp_type), Some(code)),
            L4::Opaque | L4::Fragment => (None, None, None, None),
        }
    }
}

/// The packet fields every layer decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Packet {
    /// Source address (as seen at the VNIC, after any NAT).
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IANA protocol number.
    pub proto: u8,
    /// Transport fields.
    pub l4: L4,
}

impl Packet {
    /// A TCP packet.
    #[must_use]
    pub fn tcp(src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> Self {
        Packet {
            src,
            dst,
            proto: proto::TCP,
            l4: L4::Ports { sport, dport },
        }
    }

    /// A UDP packet.
    #[must_use]
    pub fn udp(src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> Self {
        Packet {
            src,
            dst,
            proto: proto::UDP,
            l4: L4::Ports { sport, dport },
        }
    }

    /// An ICMP (IPv4) or ICMPv6 (IPv6) packet, by the address family of `src`.
    #[must_use]
    pub fn icmp(src: IpAddr, dst: IpAddr, icmp_type: u8, code: u8) -> Self {
        let proto = if src.is_ipv6() {
            proto::ICMPV6
        } else {
            proto::ICMP
        };
        Packet {
            src,
            dst,
            proto,
            l4: L4::Icmp { icmp_type, code },
        }
    }

    /// The same flow seen in the other direction (ports swapped; ICMP
    /// fields kept as they are).
    #[must_use]
    pub fn reversed(self) -> Self {
        let l4 = match self.l4 {
            L4::Ports { sport, dport } => L4::Ports {
                sport: dport,
                dport: sport,
            },
            other => other,
        };
        Packet {
            src: self.dst,
            dst: self.src,
            proto: self.proto,
            l4,
        }
    }

    /// The reply to this packet as the first of a flow: [`Packet::reversed`],
    /// and an ICMP echo request answered by an echo reply (ICMP 8 -> 0,
    /// ICMPv6 128 -> 129); other ICMP types kept.
    #[must_use]
    pub fn reply(self) -> Self {
        let mut r = self.reversed();
        if let L4::Icmp { icmp_type, code } = r.l4 {
            let t = match (self.proto, icmp_type) {
                (crate::model::proto::ICMP, 8) => 0,
                (crate::model::proto::ICMPV6, 128) => 129,
                (_, t) => t,
            };
            r.l4 = L4::Icmp { icmp_type: t, code };
        }
        r
    }

    /// Destination port, when the packet has one.
    #[must_use]
    pub fn dport(&self) -> Option<u16> {
        match self.l4 {
            L4::Ports { dport, .. } => Some(dport),
            _ => None,
        }
    }

    /// Source port, when the packet has one.
    #[must_use]
    pub fn sport(&self) -> Option<u16> {
        match self.l4 {
            L4::Ports { sport, .. } => Some(sport),
            _ => None,
        }
    }
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.proto {
            proto::TCP => "tcp".to_string(),
            proto::UDP => "udp".to_string(),
            proto::ICMP => "icmp".to_string(),
            proto::ICMPV6 => "icmpv6".to_string(),
            n => format!("proto {n}"),
        };
        match self.l4 {
            L4::Ports { sport, dport } => {
                // `SocketAddr` writes an IPv6 address in brackets
                // (`[2603:c020::20]:22`, RFC 5952 §6): bare, its port read
                // as the address's last group.
                let (s, d) = (
                    std::net::SocketAddr::new(self.src, sport),
                    std::net::SocketAddr::new(self.dst, dport),
                );
                write!(f, "{name} {s} -> {d}")
            }
            L4::Icmp { icmp_type, code } => {
                write!(
                    f,
                    "{name} {} -> {} type {icmp_type} code {code}",
                    self.src, self.dst
                )
            }
            L4::Opaque => write!(f, "{name} {} -> {}", self.src, self.dst),
            L4::Fragment => write!(
                f,
                "{name} {} -> {} (non-first fragment)",
                self.src, self.dst
            ),
        }
    }
}
