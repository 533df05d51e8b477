//! The project's own capture fixtures (`pcaps/`), built frame by frame.
//!
//! Every fixture is a small, named capture whose bytes depend on nothing
//! but this file: fixed timestamps from [`T0_S`], fixed MAC addresses
//! derived from the IP addresses, no randomness. [`all`] returns them;
//! `zprsim-fixtures DIR` writes them, and a test checks that the committed
//! files in `pcaps/` are exactly what this module builds. `pcaps/README.md`
//! lists every flow of every fixture and the verdict it should get.
//!
//! Frames are built by hand with correct lengths: Ethernet, 802.1Q, QinQ,
//! Linux cooked (SLL, SLL2), raw IP; IPv4 with options and fragments, IPv6
//! with extension headers and fragment headers; TCP with flags, UDP, ICMP,
//! ICMPv6, GRE. IPv4 header checksums are computed; TCP, UDP and ICMP
//! checksums are left zero (nothing here reads them).
//!
//! ```
//! use zprsim_bench::fixtures;
//! let all = fixtures::all();
//! let demo = all.iter().find(|f| f.name == "oke-demo.pcap").unwrap();
//! assert_eq!(demo.scenario, "examples/oke-orders/scenario.toml");
//! assert_eq!(&demo.bytes[..4], &0xa1b2_3c4du32.to_le_bytes());
//! ```

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use zprsim_dataplane::parse::linktype;
use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};

/// Seconds since the epoch of every fixture's first packet
/// (2024-03-01 09:00:00 UTC).
pub const T0_S: u64 = 1_709_283_600;

const NS: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

/// IP protocol numbers used here.
mod ipproto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const GRE: u8 = 47;
    pub const ICMPV6: u8 = 58;
    pub const HOPOPT: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const DSTOPTS: u8 = 60;
}

/// TCP flag bits.
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}
use tcp_flags::{ACK, FIN, PSH, RST, SYN};

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_LLDP: u16 = 0x88cc;

/// Parses an address literal of this file (all are valid literals).
fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// A MAC address derived from an IP address: locally administered, stable.
#[must_use]
pub fn mac_of(a: IpAddr) -> [u8; 6] {
    let o = match a {
        IpAddr::V4(v) => v.octets(),
        IpAddr::V6(v) => {
            let s = v.octets();
            [s[12], s[13], s[14], s[15]]
        }
    };
    [0x02, 0x00, o[0], o[1], o[2], o[3]]
}

/// The MAC of the VCN's virtual router as the fixtures show it.
pub const ROUTER_MAC: [u8; 6] = [0x00, 0x00, 0x17, 0x01, 0x02, 0x03];

fn be16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn be32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn len16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Transport headers.
pub mod l4 {
    use super::{be16, be32};

    /// A TCP segment: 20-byte header (data offset 5), zero checksum.
    #[must_use]
    pub fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(20 + payload.len());
        be16(&mut v, sport);
        be16(&mut v, dport);
        be32(&mut v, seq);
        be32(&mut v, ack);
        v.push(5 << 4);
        v.push(flags);
        be16(&mut v, 64240);
        be16(&mut v, 0);
        be16(&mut v, 0);
        v.extend_from_slice(payload);
        v
    }

    /// A UDP datagram with its length field set, zero checksum.
    #[must_use]
    pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(8 + payload.len());
        be16(&mut v, sport);
        be16(&mut v, dport);
        be16(&mut v, super::len16(8 + payload.len()));
        be16(&mut v, 0);
        v.extend_from_slice(payload);
        v
    }

    /// An ICMP or ICMPv6 message: type, code, zero checksum, then `rest`
    /// (identifier and sequence number for echoes).
    #[must_use]
    pub fn icmp(kind: u8, code: u8, rest: &[u8]) -> Vec<u8> {
        let mut v = vec![kind, code, 0, 0];
        v.extend_from_slice(rest);
        v
    }

    /// An echo body: identifier, sequence, then `n` bytes of pattern.
    #[must_use]
    pub fn echo_body(id: u16, seq: u16, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(4 + n);
        be16(&mut v, id);
        be16(&mut v, seq);
        v.extend((0..n).map(|i| u8::try_from(i % 256).unwrap_or(0)));
        v
    }

    /// GRE (RFC 2784, no options) around a packet of this EtherType.
    #[must_use]
    pub fn gre(ethertype: u16, inner: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0];
        be16(&mut v, ethertype);
        v.extend_from_slice(inner);
        v
    }
}

/// IP headers.
pub mod l3 {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::{be16, be32, len16};

    /// IPv4 fragment fields.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Frag {
        /// Identification.
        pub id: u16,
        /// Offset in bytes (a multiple of 8).
        pub offset: usize,
        /// More fragments.
        pub more: bool,
    }

    fn checksum(h: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for pair in h.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |b| u32::from(*b));
            sum += hi | lo;
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(u16::try_from(sum).unwrap_or(0))
    }

    /// An IPv4 packet with header options (padded to 4 bytes with
    /// end-of-options) and fragment fields; header checksum computed.
    #[must_use]
    pub fn ipv4_full(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        proto: u8,
        options: &[u8],
        frag: Frag,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut opts = options.to_vec();
        while !opts.len().is_multiple_of(4) {
            opts.push(0);
        }
        let hl = 20 + opts.len();
        let mut v = Vec::with_capacity(hl + payload.len());
        v.push(0x40 | u8::try_from(hl / 4).unwrap_or(15));
        v.push(0);
        be16(&mut v, len16(hl + payload.len()));
        be16(&mut v, frag.id);
        let off = u16::try_from(frag.offset / 8).unwrap_or(0x1fff) & 0x1fff;
        be16(&mut v, off | if frag.more { 0x2000 } else { 0 });
        v.push(64);
        v.push(proto);
        be16(&mut v, 0);
        v.extend_from_slice(&src.octets());
        v.extend_from_slice(&dst.octets());
        v.extend_from_slice(&opts);
        let c = checksum(&v);
        v[10..12].copy_from_slice(&c.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    /// An IPv4 packet without options, not fragmented.
    #[must_use]
    pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
        ipv4_full(src, dst, proto, &[], Frag::default(), payload)
    }

    /// An IPv6 extension header of the 8-octet-unit kind (hop-by-hop,
    /// routing, destination options) padded with a PadN option.
    #[derive(Debug, Clone, Copy)]
    pub enum Ext {
        /// Hop-by-hop options (0), with a router-alert option.
        HopByHop,
        /// Destination options (60), PadN only.
        DstOpts,
        /// Routing header (43), type 0, no segments left.
        Routing,
        /// Fragment header (44).
        Fragment {
            /// Offset in bytes (a multiple of 8).
            offset: usize,
            /// More fragments.
            more: bool,
            /// Identification.
            id: u32,
        },
    }

    impl Ext {
        fn number(self) -> u8 {
            match self {
                Ext::HopByHop => super::ipproto::HOPOPT,
                Ext::DstOpts => super::ipproto::DSTOPTS,
                Ext::Routing => super::ipproto::ROUTING,
                Ext::Fragment { .. } => super::ipproto::FRAGMENT,
            }
        }

        fn write(self, next: u8, v: &mut Vec<u8>) {
            v.push(next);
            match self {
                // Router alert (5, len 2, value 0) then PadN of 0 bytes.
                Ext::HopByHop => v.extend_from_slice(&[0, 5, 2, 0, 0, 1, 0]),
                // PadN with 4 bytes of padding.
                Ext::DstOpts => v.extend_from_slice(&[0, 1, 4, 0, 0, 0, 0]),
                // Length 0, type 0, segments left 0, reserved.
                Ext::Routing => v.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]),
                Ext::Fragment { offset, more, id } => {
                    v.push(0);
                    let off = u16::try_from(offset / 8).unwrap_or(0x1fff) << 3;
                    be16(v, off | u16::from(more));
                    be32(v, id);
                }
            }
        }
    }

    /// An IPv6 packet with a chain of extension headers before `proto`.
    #[must_use]
    pub fn ipv6_ext(
        src: Ipv6Addr,
        dst: Ipv6Addr,
        exts: &[Ext],
        proto: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut body = Vec::new();
        for (i, e) in exts.iter().enumerate() {
            let next = exts.get(i + 1).map_or(proto, |n| n.number());
            e.write(next, &mut body);
        }
        body.extend_from_slice(payload);
        let first = exts.first().map_or(proto, |e| e.number());
        let mut v = Vec::with_capacity(40 + body.len());
        be32(&mut v, 0x6000_0000);
        be16(&mut v, len16(body.len()));
        v.push(first);
        v.push(64);
        v.extend_from_slice(&src.octets());
        v.extend_from_slice(&dst.octets());
        v.extend_from_slice(&body);
        v
    }

    /// An IPv6 packet without extension headers.
    #[must_use]
    pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
        ipv6_ext(src, dst, &[], proto, payload)
    }
}

/// Link layers.
pub mod l2 {
    use super::{be16, be32};

    /// An Ethernet II frame, with optional VLAN tags (`(tpid, vid)`,
    /// outermost first), padded to 60 bytes when `pad` is set.
    #[must_use]
    pub fn ether(
        dst: [u8; 6],
        src: [u8; 6],
        tags: &[(u16, u16)],
        ethertype: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut v = Vec::with_capacity(14 + 4 * tags.len() + payload.len());
        v.extend_from_slice(&dst);
        v.extend_from_slice(&src);
        for (tpid, vid) in tags {
            be16(&mut v, *tpid);
            be16(&mut v, vid & 0x0fff);
        }
        be16(&mut v, ethertype);
        v.extend_from_slice(payload);
        v
    }

    /// Pads a frame with zeros to the Ethernet minimum of 60 bytes.
    #[must_use]
    pub fn pad60(mut v: Vec<u8>) -> Vec<u8> {
        if v.len() < 60 {
            v.resize(60, 0);
        }
        v
    }

    /// A Linux cooked capture (SLL v1) header: packet type (0 to us, 4
    /// outgoing), ARPHRD_ETHER, the sender's MAC.
    #[must_use]
    pub fn sll(packet_type: u16, src: [u8; 6], protocol: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(16 + payload.len());
        be16(&mut v, packet_type);
        be16(&mut v, 1);
        be16(&mut v, 6);
        v.extend_from_slice(&src);
        v.extend_from_slice(&[0, 0]);
        be16(&mut v, protocol);
        v.extend_from_slice(payload);
        v
    }

    /// A Linux cooked capture v2 (SLL2) header.
    #[must_use]
    pub fn sll2(
        packet_type: u8,
        ifindex: u32,
        src: [u8; 6],
        protocol: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut v = Vec::with_capacity(20 + payload.len());
        be16(&mut v, protocol);
        be16(&mut v, 0);
        be32(&mut v, ifindex);
        be16(&mut v, 1);
        v.push(packet_type);
        v.push(6);
        v.extend_from_slice(&src);
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    }
}

/// One record of a fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    /// Timestamp, nanoseconds since the epoch.
    pub ts_ns: u64,
    /// Link type.
    pub linktype: u32,
    /// Length on the wire (more than `data.len()` for a snaplen-cut frame).
    pub orig_len: u32,
    /// Captured bytes.
    pub data: Vec<u8>,
}

/// How a packet is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II, source and destination MACs from the addresses (the
    /// virtual router's MAC for external addresses).
    Ether,
    /// Ethernet with these VLAN tags `(tpid, vid)`, outermost first.
    Vlan(&'static [(u16, u16)]),
    /// Linux cooked capture v1.
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// Raw IP (LINKTYPE_RAW).
    Raw,
}

impl Link {
    /// The link type of records framed this way.
    #[must_use]
    pub fn linktype(self) -> u32 {
        match self {
            Link::Ether | Link::Vlan(_) => linktype::ETHERNET,
            Link::Sll => linktype::LINUX_SLL,
            Link::Sll2 => linktype::LINUX_SLL2,
            Link::Raw => linktype::RAW,
        }
    }
}

/// A trace being written: records in time order plus helpers that build
/// whole conversations.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The records so far.
    pub recs: Vec<Rec>,
    /// The framing of packets added with [`Trace::ip`].
    pub link: Link,
    next_id: u16,
}

/// A TCP conversation's sequence numbers.
#[derive(Debug, Clone, Copy)]
pub struct Tcp {
    /// Client address.
    pub client: IpAddr,
    /// Server address.
    pub server: IpAddr,
    /// Client port.
    pub sport: u16,
    /// Server port.
    pub dport: u16,
    cseq: u32,
    sseq: u32,
}

fn ip_packet(src: IpAddr, dst: IpAddr, proto: u8, payload: &[u8], id: u16) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => l3::ipv4_full(
            s,
            d,
            proto,
            &[],
            l3::Frag {
                id,
                ..l3::Frag::default()
            },
            payload,
        ),
        (IpAddr::V6(s), IpAddr::V6(d)) => l3::ipv6(s, d, proto, payload),
        // Mixed families do not occur in this file; keep the source's.
        (IpAddr::V4(s), IpAddr::V6(_)) => l3::ipv4(s, Ipv4Addr::UNSPECIFIED, proto, payload),
        (IpAddr::V6(s), IpAddr::V4(_)) => l3::ipv6(s, Ipv6Addr::UNSPECIFIED, proto, payload),
    }
}

fn is_private(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.is_private(),
        IpAddr::V6(v) => (v.segments()[0] & 0xfe00) == 0xfc00,
    }
}

impl Trace {
    /// An empty trace framing packets this way.
    #[must_use]
    pub fn new(link: Link) -> Trace {
        Trace {
            recs: Vec::new(),
            link,
            next_id: 1,
        }
    }

    /// Adds a frame as it is (any link type).
    pub fn frame(&mut self, ts_ns: u64, linktype: u32, data: Vec<u8>) {
        let orig_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.recs.push(Rec {
            ts_ns,
            linktype,
            orig_len,
            data,
        });
    }

    /// Frames an IP packet (its bytes from [`l3`]) with the trace's link.
    #[must_use]
    pub fn framed(&self, src: IpAddr, dst: IpAddr, packet: &[u8]) -> Vec<u8> {
        let ethertype = if src.is_ipv4() { ETH_IPV4 } else { ETH_IPV6 };
        let smac = if is_private(src) {
            mac_of(src)
        } else {
            ROUTER_MAC
        };
        let dmac = if is_private(dst) {
            mac_of(dst)
        } else {
            ROUTER_MAC
        };
        match self.link {
            Link::Ether => l2::ether(dmac, smac, &[], ethertype, packet),
            Link::Vlan(tags) => l2::ether(dmac, smac, tags, ethertype, packet),
            Link::Sll => l2::sll(if is_private(src) { 4 } else { 0 }, smac, ethertype, packet),
            Link::Sll2 => l2::sll2(
                if is_private(src) { 4 } else { 0 },
                2,
                smac,
                ethertype,
                packet,
            ),
            Link::Raw => packet.to_vec(),
        }
    }

    /// Adds an IP packet (already built) framed with the trace's link.
    pub fn packet(&mut self, ts_ns: u64, src: IpAddr, dst: IpAddr, packet: &[u8]) {
        let f = self.framed(src, dst, packet);
        self.frame(ts_ns, self.link.linktype(), f);
    }

    /// Adds an IP packet carrying `l4` (protocol `proto`).
    pub fn ip(&mut self, ts_ns: u64, src: IpAddr, dst: IpAddr, proto: u8, l4: &[u8]) {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let p = ip_packet(src, dst, proto, l4, id);
        self.packet(ts_ns, src, dst, &p);
    }

    /// Adds one UDP datagram.
    pub fn udp(&mut self, ts_ns: u64, src: IpAddr, dst: IpAddr, ports: (u16, u16), len: usize) {
        let payload = pattern(len);
        self.ip(
            ts_ns,
            src,
            dst,
            ipproto::UDP,
            &l4::udp(ports.0, ports.1, &payload),
        );
    }

    /// Adds an ICMP (IPv4) or ICMPv6 (IPv6) echo request and, when
    /// `reply_after_ms` is set, its reply; `count` times, one second apart.
    pub fn ping(
        &mut self,
        ts_ns: u64,
        src: IpAddr,
        dst: IpAddr,
        count: u16,
        reply_after_ms: Option<u64>,
    ) {
        let (proto, req, rep) = if src.is_ipv4() {
            (ipproto::ICMP, 8, 0)
        } else {
            (ipproto::ICMPV6, 128, 129)
        };
        let id = 0x4242;
        for seq in 1..=count {
            let t = ts_ns + u64::from(seq - 1) * NS;
            let body = l4::echo_body(id, seq, 56);
            self.ip(t, src, dst, proto, &l4::icmp(req, 0, &body));
            if let Some(ms) = reply_after_ms {
                self.ip(t + ms * MS, dst, src, proto, &l4::icmp(rep, 0, &body));
            }
        }
    }

    /// Starts a TCP conversation (nothing is added yet).
    #[must_use]
    pub fn tcp(client: IpAddr, server: IpAddr, sport: u16, dport: u16) -> Tcp {
        let seed = u32::from(sport).wrapping_mul(2_654_435_761) ^ u32::from(dport);
        Tcp {
            client,
            server,
            sport,
            dport,
            cseq: seed,
            sseq: seed.rotate_left(16) ^ 0x5a5a_5a5a,
        }
    }

    /// Adds one TCP segment from the client (`to_server`) or the server.
    pub fn seg(&mut self, ts_ns: u64, c: &mut Tcp, to_server: bool, flags: u8, len: usize) {
        let payload = pattern(len);
        let syn_fin = u32::from(flags & (SYN | FIN) != 0);
        let advance = u32::try_from(len).unwrap_or(0) + syn_fin;
        let has_ack = flags & ACK != 0;
        let (src, dst, sp, dp, seq, ackno) = if to_server {
            let s = c.cseq;
            c.cseq = c.cseq.wrapping_add(advance);
            let a = if has_ack { c.sseq } else { 0 };
            (c.client, c.server, c.sport, c.dport, s, a)
        } else {
            let s = c.sseq;
            c.sseq = c.sseq.wrapping_add(advance);
            let a = if has_ack { c.cseq } else { 0 };
            (c.server, c.client, c.dport, c.sport, s, a)
        };
        self.ip(
            ts_ns,
            src,
            dst,
            ipproto::TCP,
            &l4::tcp(sp, dp, seq, ackno, flags, &payload),
        );
    }

    /// A whole TCP connection, 10 packets over about 60 ms: handshake,
    /// a request and its response (each acknowledged), FIN from the
    /// client, FIN from the server, last ACK.
    pub fn tcp_session(
        &mut self,
        ts_ns: u64,
        client: IpAddr,
        server: IpAddr,
        ports: (u16, u16),
        sizes: (usize, usize),
    ) {
        let mut c = Trace::tcp(client, server, ports.0, ports.1);
        let steps: [(bool, u8, usize); 10] = [
            (true, SYN, 0),
            (false, SYN | ACK, 0),
            (true, ACK, 0),
            (true, PSH | ACK, sizes.0),
            (false, ACK, 0),
            (false, PSH | ACK, sizes.1),
            (true, ACK, 0),
            (true, FIN | ACK, 0),
            (false, FIN | ACK, 0),
            (true, ACK, 0),
        ];
        for (i, (to_server, flags, len)) in steps.into_iter().enumerate() {
            self.seg(ts_ns + i as u64 * 6 * MS, &mut c, to_server, flags, len);
        }
    }

    /// A connection attempt that gets no answer: a SYN and two
    /// retransmissions, 1 s and 3 s later.
    pub fn tcp_attempt(&mut self, ts_ns: u64, client: IpAddr, server: IpAddr, ports: (u16, u16)) {
        let c = Trace::tcp(client, server, ports.0, ports.1);
        for dt in [0, NS, 3 * NS] {
            // A retransmission repeats the sequence number.
            let mut again = c;
            self.seg(ts_ns + dt, &mut again, true, SYN, 0);
        }
    }

    /// Sorts the records by timestamp (stable: equal times keep their
    /// order of insertion).
    pub fn sort(&mut self) {
        self.recs.sort_by_key(|r| r.ts_ns);
    }
}

/// `n` bytes of a fixed printable pattern.
fn pattern(n: usize) -> Vec<u8> {
    const P: &[u8] = b"zprsim fixture payload 0123456789 ";
    (0..n).map(|i| P[i % P.len()]).collect()
}

/// Nanoseconds of fixture time at `s` seconds plus `ms` milliseconds.
#[must_use]
pub fn at(s: u64, ms: u64) -> u64 {
    (T0_S + s) * NS + ms * MS
}

/// A fixture: a file name in `pcaps/`, the scenario to replay it against
/// (relative to the repository root) and its bytes.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// File name, e.g. `oke-demo.pcap`.
    pub name: &'static str,
    /// Scenario path relative to the repository root.
    pub scenario: &'static str,
    /// One line on what it holds.
    pub about: &'static str,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// Scenario of most topic fixtures (narrow security rules, no ZPR).
pub const SECURITY: &str = "tests/cases/scenarios/security.toml";
/// The OKE example.
pub const OKE: &str = "examples/oke-orders/scenario.toml";

/// Writes records as classic little-endian nanosecond pcap with
/// [`PcapOut`] (all records must share one link type).
fn pcap(recs: &[Rec]) -> Vec<u8> {
    let lt = recs.first().map_or(linktype::ETHERNET, |r| r.linktype);
    write_with(recs, OutFormat::Pcap { linktype: lt })
}

fn write_with(recs: &[Rec], format: OutFormat) -> Vec<u8> {
    let run = || -> io::Result<Vec<u8>> {
        let mut out = PcapOut::create(Vec::new(), format)?;
        for r in recs {
            out.write(r.ts_ns, r.linktype, r.orig_len, &r.data)?;
        }
        out.finish()
    };
    // Writing to a Vec fails only on a link type mismatch, which the
    // builders below never produce.
    run().unwrap_or_default()
}

/// Byte order of a hand-written classic pcap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Big,
    Little,
}

/// A classic pcap written by hand (for what [`PcapOut`] does not write:
/// big-endian files, microsecond timestamps, a small snapshot length).
fn pcap_by_hand(recs: &[Rec], order: Order, nanos: bool, snaplen: u32) -> Vec<u8> {
    let w32 = |v: &mut Vec<u8>, x: u32| match order {
        Order::Big => v.extend_from_slice(&x.to_be_bytes()),
        Order::Little => v.extend_from_slice(&x.to_le_bytes()),
    };
    let w16 = |v: &mut Vec<u8>, x: u16| match order {
        Order::Big => v.extend_from_slice(&x.to_be_bytes()),
        Order::Little => v.extend_from_slice(&x.to_le_bytes()),
    };
    let mut v = Vec::new();
    w32(&mut v, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    w16(&mut v, 2);
    w16(&mut v, 4);
    w32(&mut v, 0);
    w32(&mut v, 0);
    w32(&mut v, snaplen);
    w32(&mut v, recs.first().map_or(1, |r| r.linktype));
    for r in recs {
        let secs = u32::try_from(r.ts_ns / NS).unwrap_or(u32::MAX);
        let frac = r.ts_ns % NS;
        let frac = if nanos { frac } else { frac / 1000 };
        w32(&mut v, secs);
        w32(&mut v, u32::try_from(frac).unwrap_or(0));
        w32(&mut v, u32::try_from(r.data.len()).unwrap_or(u32::MAX));
        w32(&mut v, r.orig_len);
        v.extend_from_slice(&r.data);
    }
    v
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap_or(Ipv6Addr::UNSPECIFIED)
}

/// Every fixture, in the order of `pcaps/README.md`.
#[must_use]
pub fn all() -> Vec<Fixture> {
    vec![
        oke_demo(),
        tcp_allowed_with_replies(),
        udp_reply_after_timeout(),
        stateless_rules(),
        fragments_ipv4(),
        fragments_ipv6(),
        vlan_qinq(),
        ipv6_ext_headers(),
        linux_sll(),
        raw_ip(),
        truncated_records(),
        truncated_file(),
        two_linktypes(),
        corrupt(),
        non_ip(),
        nanosecond_be(),
    ]
}

/// Writes every fixture into `dir` and returns the paths written.
///
/// # Errors
/// I/O errors creating or writing a file.
pub fn write_all(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for f in all() {
        let p = dir.join(f.name);
        std::fs::write(&p, &f.bytes)?;
        written.push(p);
    }
    Ok(written)
}

// ---------------------------------------------------------------------------
// The OKE demo: a morning of traffic after ZPR was switched on.

/// `oke-demo.pcap`: the OKE example's traffic, one scene per row of
/// `pcaps/README.md`.
#[must_use]
pub fn oke_demo() -> Fixture {
    let customer = ip("198.51.100.7");
    let customer2 = ip("198.51.100.23");
    let scanner = ip("203.0.113.50");
    let lb = ip("10.0.1.10");
    let api = ip("10.0.0.5");
    let w1 = ip("10.0.2.11");
    let w2 = ip("10.0.2.12");
    let pod1 = ip("10.0.10.11");
    let pod2 = ip("10.0.10.12");
    let billing = ip("10.0.10.21");
    let legacy = ip("10.0.20.10");
    let fss = ip("10.0.30.10");
    let osn = ip("134.70.1.1");
    let google = ip("8.8.8.8");
    let metadata = ip("169.254.169.254");

    let mut t = Trace::new(Link::Ether);
    // Scene 1 (t = 0 s): the cluster at work. Nodes talk to the control
    // plane, the API server reaches a kubelet, a node pulls from Object
    // Storage through the service gateway.
    t.tcp_session(at(0, 0), w1, api, (40100, 6443), (320, 1800));
    t.tcp_session(at(0, 100), w1, api, (40101, 12250), (200, 200));
    t.tcp_session(at(0, 200), api, w2, (40200, 10250), (150, 900));
    t.tcp_session(at(0, 300), w1, osn, (40300, 443), (517, 1400));
    // The node's ARP for its gateway (not IP: counted as non_ip).
    t.frame(
        at(0, 400),
        linktype::ETHERNET,
        arp(mac_of(w1), w1, ip("10.0.2.1"), false),
    );
    t.frame(
        at(0, 401),
        linktype::ETHERNET,
        arp(ROUTER_MAC, ip("10.0.2.1"), w1, true),
    );

    // Scene 2 (t = 2 s): customers buy things. Internet -> load balancer
    // on 443, the balancer -> orders-api pods on 8080, a pod -> its File
    // Storage (NFS) and the portmapper over UDP, with its reply.
    t.tcp_session(at(2, 0), customer, lb, (51000, 443), (517, 1400));
    t.tcp_session(at(2, 10), lb, pod1, (41000, 8080), (400, 1200));
    t.tcp_session(at(2, 100), customer2, lb, (52000, 443), (517, 1400));
    t.tcp_session(at(2, 110), lb, pod2, (41001, 8080), (400, 1200));
    t.tcp_session(at(2, 200), pod1, fss, (800, 2049), (256, 4096));
    t.udp(at(2, 300), pod1, fss, (900, 111), 56);
    t.udp(at(2, 301), fss, pod1, (111, 900), 28);
    // The pod resolves a name through the VCN resolver and reads instance
    // metadata: 169.254.0.0/16 never leaves the host.
    t.udp(at(2, 400), pod1, metadata, (33000, 53), 40);
    t.udp(at(2, 401), metadata, pod1, (53, 33000), 72);
    t.udp(at(2, 402), pod1, metadata, (33001, 53), 40);
    t.udp(at(2, 403), metadata, pod1, (53, 33001), 88);
    t.tcp_session(at(2, 500), pod1, metadata, (42000, 80), (120, 600));
    t.ping(at(3, 0), pod1, metadata, 3, Some(1));

    // Scene 3 (t = 10 s): the first findings of the rollout.
    // The newly tagged billing pods have no statement yet: MISSING_POLICY.
    t.tcp_attempt(at(10, 0), lb, billing, (41500, 8080));
    t.tcp_attempt(at(10, 100), billing, fss, (43000, 2049));
    t.tcp_attempt(at(10, 200), legacy, billing, (44000, 8080));
    // Equal attributes allow nothing: pod to pod is not in the policy.
    t.tcp_attempt(at(10, 300), pod1, pod2, (45000, 8080));
    // Nodes may not reach the internet under ZPR, even though the NAT
    // route and workers-sl allow it.
    t.tcp_attempt(at(10, 400), w1, google, (46000, 443));
    // The transitional CIDR statement keeps the legacy VM working.
    t.tcp_session(at(11, 0), legacy, pod1, (44100, 8080), (300, 700));

    // Scene 4 (t = 20 s): what the older layers stop before ZPR is asked.
    // A scanner: plain HTTP to the balancer (lb-sl), straight to a pod
    // (no route back through the NAT gateway).
    t.tcp_attempt(at(20, 0), scanner, lb, (60000, 80));
    t.tcp_attempt(at(20, 100), scanner, pod1, (60001, 8080));
    // A pod tries SSH to File Storage (pods-nsg egress); a node asks an
    // outside resolver (workers-sl egress); a node pings the API endpoint
    // (nodes-nsg has no ICMP): egress-security.
    t.tcp_attempt(at(20, 200), pod1, fss, (47000, 22));
    t.udp(at(20, 300), w1, google, (34000, 53), 40);
    t.udp(at(21, 300), w1, google, (34000, 53), 40);
    t.ping(at(20, 400), w1, api, 3, None);
    // The legacy VM mounts File Storage by address: fss-nsg admits only
    // members of pods-nsg (ingress-security).
    t.tcp_attempt(at(20, 500), legacy, fss, (48000, 2049));

    // Scene 5 (t = 30 s): an idle timeout. The pod asks the portmapper
    // again; the answer comes 35 s later, after the 30 s UDP timeout of a
    // one-way flow: it is judged as a first packet from the mount target,
    // and no rule lets the mount target send first (egress-security).
    t.udp(at(30, 0), pod1, fss, (901, 111), 56);
    t.udp(at(65, 0), fss, pod1, (111, 901), 28);
    // A reply within the timeout still passes.
    t.udp(at(66, 0), pod1, fss, (902, 111), 56);
    t.udp(at(66, 29_000), fss, pod1, (111, 902), 28);

    // Scene 6 (t = 100 s): the customers come back; established paths keep
    // working.
    t.tcp_session(at(100, 0), customer, lb, (51001, 443), (517, 1400));
    t.tcp_session(at(100, 10), lb, pod2, (41002, 8080), (400, 1200));
    t.tcp_session(at(100, 20), pod2, fss, (801, 2049), (256, 4096));
    t.sort();
    Fixture {
        name: "oke-demo.pcap",
        scenario: OKE,
        about: "the OKE example's traffic: a morning after ZPR was switched on",
        bytes: pcap(&t.recs),
    }
}

/// An ARP request (`is_reply` false) or reply, padded to 60 bytes.
fn arp(sender_mac: [u8; 6], sender: IpAddr, target: IpAddr, is_reply: bool) -> Vec<u8> {
    let mut v = Vec::new();
    be16(&mut v, 1);
    be16(&mut v, ETH_IPV4);
    v.push(6);
    v.push(4);
    be16(&mut v, if is_reply { 2 } else { 1 });
    v.extend_from_slice(&sender_mac);
    let o = |a: IpAddr| match a {
        IpAddr::V4(x) => x.octets(),
        IpAddr::V6(_) => [0; 4],
    };
    v.extend_from_slice(&o(sender));
    v.extend_from_slice(&if is_reply { mac_of(target) } else { [0; 6] });
    v.extend_from_slice(&o(target));
    let dst = if is_reply { mac_of(target) } else { [0xff; 6] };
    l2::pad60(l2::ether(dst, sender_mac, &[], ETH_ARP, &v))
}

// ---------------------------------------------------------------------------
// Topic fixtures over tests/cases/scenarios/security.toml:
//   cli-1 10.0.1.10 / 2603:c020:5:1::10 (cli-nsg), cli-2 10.0.1.11 / 2603:c020:5:1::11,
//   srv-1 10.0.2.10 (srv-nsg), srv-2 10.0.2.11, srv-3 10.0.2.12, bare-1 10.0.3.10.

fn cli1() -> IpAddr {
    ip("10.0.1.10")
}
fn cli2() -> IpAddr {
    ip("10.0.1.11")
}
fn srv1() -> IpAddr {
    ip("10.0.2.10")
}
fn srv2() -> IpAddr {
    ip("10.0.2.11")
}

/// `tcp_allowed_with_replies.pcap`.
#[must_use]
pub fn tcp_allowed_with_replies() -> Fixture {
    let mut t = Trace::new(Link::Ether);
    // 1. cli-1 -> srv-1 tcp/5432: a whole connection, allowed both ways
    //    (front-sl egress #0, srv-nsg ingress #0 from cli-nsg; replies
    //    tracked).
    t.tcp_session(at(0, 0), cli1(), srv1(), (50000, 5432), (100, 2000));
    // 2. cli-2 -> srv-1 tcp/5432: srv-nsg admits cli-nsg members only, and
    //    the server's answer without a connection is dropped too.
    let mut c = Trace::tcp(cli2(), srv1(), 50001, 5432);
    t.seg(at(1, 0), &mut c, true, SYN, 0);
    t.seg(at(1, 1), &mut c, false, SYN | ACK, 0);
    // 3. cli-1 -> srv-1 tcp/6379: reset by the server; the RST passes as a
    //    reply, then the connection is closing (2 min timeout): a late
    //    segment from the server 150 s later is judged as a first packet
    //    and dropped at srv-1's egress.
    let mut c = Trace::tcp(cli1(), srv1(), 50002, 6379);
    t.seg(at(2, 0), &mut c, true, SYN, 0);
    t.seg(at(2, 1), &mut c, false, RST | ACK, 0);
    t.seg(at(152, 0), &mut c, false, ACK, 10);
    // 4. cli-1 -> srv-1 tcp/5432, an established connection left idle for
    //    an hour (under the 1 day timeout): the server's data still passes.
    let mut c = Trace::tcp(cli1(), srv1(), 50003, 5432);
    t.seg(at(3, 0), &mut c, true, SYN, 0);
    t.seg(at(3, 1), &mut c, false, SYN | ACK, 0);
    t.seg(at(3, 2), &mut c, true, ACK, 0);
    t.seg(at(3603, 0), &mut c, false, PSH | ACK, 64);
    t.seg(at(3603, 1), &mut c, true, ACK, 0);
    // 5. A half-open connection: SYN answered only after 61 s (over the
    //    1 minute timeout of a one-way TCP connection): dropped.
    let mut c = Trace::tcp(cli1(), srv1(), 50004, 5432);
    t.seg(at(4, 0), &mut c, true, SYN, 0);
    t.seg(at(65, 0), &mut c, false, SYN | ACK, 0);
    t.sort();
    Fixture {
        name: "tcp_allowed_with_replies.pcap",
        scenario: SECURITY,
        about: "TCP connections: replies tracked, a refused client, RST, idle timeouts",
        bytes: pcap(&t.recs),
    }
}

/// `udp_reply_after_timeout.pcap`.
#[must_use]
pub fn udp_reply_after_timeout() -> Fixture {
    let mut t = Trace::new(Link::Ether);
    // cli-1 -> srv-1 udp: front-sl egress #5, srv-nsg ingress #2 (both
    // stateful). Nothing lets srv-1 send first.
    // 1. A reply after 29 s: tracked, allowed.
    t.udp(at(0, 0), cli1(), srv1(), (40000, 7000), 32);
    t.udp(at(29, 0), srv1(), cli1(), (7000, 40000), 32);
    // 2. A reply after 31 s: the one-way connection expired after 30 s;
    //    judged as srv-1's first packet: egress-security.
    t.udp(at(1, 0), cli1(), srv1(), (40001, 7000), 32);
    t.udp(at(32, 0), srv1(), cli1(), (7000, 40001), 32);
    // 3. Seen both ways, then 170 s of silence (under 3 min): allowed;
    //    then 181 s more: expired, dropped.
    t.udp(at(2, 0), cli1(), srv1(), (40002, 7000), 32);
    t.udp(at(2, 5), srv1(), cli1(), (7000, 40002), 32);
    t.udp(at(172, 0), srv1(), cli1(), (7000, 40002), 32);
    t.udp(at(353, 0), srv1(), cli1(), (7000, 40002), 32);
    // 4. The client's request after a gap is a new connection: allowed,
    //    and its reply too.
    t.udp(at(400, 0), cli1(), srv1(), (40001, 7000), 32);
    t.udp(at(400, 1), srv1(), cli1(), (7000, 40001), 32);
    t.sort();
    Fixture {
        name: "udp_reply_after_timeout.pcap",
        scenario: SECURITY,
        about: "UDP replies before and after the 30 s and 3 min idle timeouts",
        bytes: pcap(&t.recs),
    }
}

/// `stateless_rules.pcap`.
#[must_use]
pub fn stateless_rules() -> Fixture {
    let mut t = Trace::new(Link::Ether);
    // 1. cli-1 -> srv-2 tcp/8010: stateless at srv-2 (back-sl ingress #6);
    //    its replies pass by back-sl egress #0 (stateless, sport 8010-8019)
    //    and cli-1's tracked connection (front-sl egress #7 is stateful).
    t.tcp_session(at(0, 0), cli1(), srv2(), (50010, 8010), (100, 300));
    // 2. cli-1 -> srv-2 tcp/8020: stateless ingress, no rule for the reply:
    //    every server packet is dropped at srv-2's egress.
    t.tcp_session(at(1, 0), cli1(), srv2(), (50020, 8020), (100, 300));
    // 3. cli-1 -> srv-2 tcp/9000: stateless on both sides (front-sl egress
    //    #10, back-sl ingress #9); replies by back-sl egress #1 and
    //    front-sl ingress #2.
    t.tcp_session(at(2, 0), cli1(), srv2(), (50030, 9000), (100, 300));
    // 4. cli-1 -> srv-2 tcp/8050: "stateless wins" at cli-1 (front-sl
    //    egress #7 stateful and #9 stateless both match), so nothing is
    //    tracked there; srv-2 tracks (back-sl ingress #8). Replies leave
    //    srv-2 as tracked and are dropped at cli-1's ingress.
    t.tcp_session(at(3, 0), cli1(), srv2(), (50040, 8050), (100, 300));
    t.sort();
    Fixture {
        name: "stateless_rules.pcap",
        scenario: SECURITY,
        about: "stateless security rules: replies by rule, by tracking, or dropped",
        bytes: pcap(&t.recs),
    }
}

/// Splits an IP payload into fragments of at most `size` bytes (a
/// multiple of 8 except the last).
fn chunks(payload: &[u8], size: usize) -> Vec<(usize, bool, &[u8])> {
    let mut v = Vec::new();
    let mut off = 0;
    while off < payload.len() {
        let end = (off + size).min(payload.len());
        v.push((off, end < payload.len(), &payload[off..end]));
        off = end;
    }
    v
}

/// `fragments_ipv4.pcap`.
#[must_use]
pub fn fragments_ipv4() -> Fixture {
    let mut t = Trace::new(Link::Ether);
    let (c1, s1, s2) = (v4("10.0.1.10"), v4("10.0.2.10"), v4("10.0.2.11"));
    let frag = |t: &mut Trace, ts: u64, src: Ipv4Addr, dst: Ipv4Addr, id: u16, udp: &[u8]| {
        for (i, (offset, more, part)) in chunks(udp, 1480).into_iter().enumerate() {
            let p = l3::ipv4_full(
                src,
                dst,
                ipproto::UDP,
                &[],
                l3::Frag { id, offset, more },
                part,
            );
            t.packet(ts + i as u64 * 10_000, IpAddr::V4(src), IpAddr::V4(dst), &p);
        }
    };
    // 1. cli-1 -> srv-1 udp/7000, 4000 bytes in 3 fragments: front-sl
    //    egress #5 and srv-nsg ingress #2 have no port condition, so every
    //    fragment passes.
    frag(
        &mut t,
        at(0, 0),
        c1,
        s1,
        0x1001,
        &l4::udp(40000, 7000, &pattern(4000)),
    );
    // 2. cli-1 -> srv-2 udp/53, 3000 bytes in 3 fragments: back-sl ingress
    //    #2 names port 53: the first fragment (with ports) passes, the two
    //    later ones (no ports) are dropped at ingress-security.
    frag(
        &mut t,
        at(1, 0),
        c1,
        s2,
        0x1002,
        &l4::udp(40001, 53, &pattern(3000)),
    );
    // 3. cli-1 -> srv-1 tcp/5432 in 2 fragments, with IPv4 options (router
    //    alert) on each: the first passes, the second has no ports and
    //    every TCP rule on the path names ports: egress-security.
    let seg = l4::tcp(50000, 5432, 1, 0, SYN, &pattern(1600));
    for (i, (offset, more, part)) in chunks(&seg, 1472).into_iter().enumerate() {
        let p = l3::ipv4_full(
            c1,
            s1,
            ipproto::TCP,
            &[0x94, 4, 0, 0],
            l3::Frag {
                id: 0x1003,
                offset,
                more,
            },
            part,
        );
        t.packet(at(2, i as u64), IpAddr::V4(c1), IpAddr::V4(s1), &p);
    }
    // 4. A lone non-first fragment of ICMP (cli-1 -> srv-2): back-sl
    //    ingress #1 asks for type 8, which a fragment without its ICMP
    //    header cannot show.
    let p = l3::ipv4_full(
        c1,
        s2,
        ipproto::ICMP,
        &[],
        l3::Frag {
            id: 0x1004,
            offset: 1480,
            more: false,
        },
        &pattern(100),
    );
    t.packet(at(3, 0), IpAddr::V4(c1), IpAddr::V4(s2), &p);
    // 5. An unfragmented packet with a record-route option (IHL 15):
    //    cli-1 -> srv-1 udp/7000, allowed.
    let mut rr = vec![7, 39, 4];
    rr.extend_from_slice(&[0; 36]);
    let p = l3::ipv4_full(
        c1,
        s1,
        ipproto::UDP,
        &rr,
        l3::Frag::default(),
        &l4::udp(40002, 7000, &pattern(20)),
    );
    t.packet(at(4, 0), IpAddr::V4(c1), IpAddr::V4(s1), &p);
    t.sort();
    Fixture {
        name: "fragments_ipv4.pcap",
        scenario: SECURITY,
        about: "IPv4 fragments: first fragments with ports, later ones without; IPv4 options",
        bytes: pcap(&t.recs),
    }
}

/// `fragments_ipv6.pcap`.
#[must_use]
pub fn fragments_ipv6() -> Fixture {
    let mut t = Trace::new(Link::Ether);
    let c1 = v6("2603:c020:5:1::10");
    let c2 = v6("2603:c020:5:1::11");
    let ext = v6("2001:db8::443");
    let frag6 =
        |t: &mut Trace, ts: u64, src: Ipv6Addr, dst: Ipv6Addr, proto: u8, id: u32, l4b: &[u8]| {
            for (i, (offset, more, part)) in chunks(l4b, 1448).into_iter().enumerate() {
                let p = l3::ipv6_ext(
                    src,
                    dst,
                    &[l3::Ext::Fragment { offset, more, id }],
                    proto,
                    part,
                );
                t.packet(ts + i as u64 * 10_000, IpAddr::V6(src), IpAddr::V6(dst), &p);
            }
        };
    // 1. cli-1 -> internet tcp/443, 3000 bytes in 3 fragments: the first
    //    passes (front-sl egress #2), the later ones carry no ports and are
    //    dropped at egress-security.
    frag6(
        &mut t,
        at(0, 0),
        c1,
        ext,
        ipproto::TCP,
        0xa1,
        &l4::tcp(50000, 443, 1, 0, PSH | ACK, &pattern(3000)),
    );
    // 2. cli-1 -> cli-2 echo request of 2000 bytes in 2 fragments (front-sl
    //    egress #3 and ingress #1, icmpv6 type 128): the first passes.
    frag6(
        &mut t,
        at(1, 0),
        c1,
        c2,
        ipproto::ICMPV6,
        0xa2,
        &l4::icmp(128, 0, &l4::echo_body(7, 1, 2000)),
    );
    // 3. A single "atomic" fragment (offset 0, no more fragments) of
    //    cli-1 -> cli-2 tcp/443: a whole packet with ports, allowed.
    let seg = l4::tcp(50001, 443, 1, 0, SYN, &[]);
    let p = l3::ipv6_ext(
        c1,
        c2,
        &[l3::Ext::Fragment {
            offset: 0,
            more: false,
            id: 0xa3,
        }],
        ipproto::TCP,
        &seg,
    );
    t.packet(at(2, 0), IpAddr::V6(c1), IpAddr::V6(c2), &p);
    // 4. The fragment header behind a hop-by-hop header: cli-1 -> internet
    //    udp/53 (no rule for IPv6 UDP): egress-security, both fragments.
    let dg = l4::udp(40000, 53, &pattern(1600));
    for (i, (offset, more, part)) in chunks(&dg, 1448).into_iter().enumerate() {
        let p = l3::ipv6_ext(
            c1,
            ext,
            &[
                l3::Ext::HopByHop,
                l3::Ext::Fragment {
                    offset,
                    more,
                    id: 0xa4,
                },
            ],
            ipproto::UDP,
            part,
        );
        t.packet(at(3, i as u64), IpAddr::V6(c1), IpAddr::V6(ext), &p);
    }
    t.sort();
    Fixture {
        name: "fragments_ipv6.pcap",
        scenario: SECURITY,
        about: "IPv6 fragment headers: first fragments with ports, later ones without",
        bytes: pcap(&t.recs),
    }
}

/// `vlan_qinq.pcap`.
#[must_use]
pub fn vlan_qinq() -> Fixture {
    const DOT1Q: &[(u16, u16)] = &[(ETH_VLAN, 100)];
    const QINQ: &[(u16, u16)] = &[(ETH_QINQ, 300), (ETH_VLAN, 100)];
    const Q9100: &[(u16, u16)] = &[(0x9100, 20), (ETH_VLAN, 100)];
    let mut t = Trace::new(Link::Vlan(DOT1Q));
    // 1. 802.1Q: cli-1 -> srv-1 tcp/5432, a whole connection: allowed.
    t.tcp_session(at(0, 0), cli1(), srv1(), (50000, 5432), (64, 128));
    // 2. QinQ (802.1ad outer, 802.1Q inner): cli-1 -> srv-1 tcp/6379
    //    (cli-nsg egress #0 to srv-nsg; srv-nsg ingress #1): allowed.
    t.link = Link::Vlan(QINQ);
    t.tcp_session(at(1, 0), cli1(), srv1(), (50001, 6379), (64, 128));
    // 3. QinQ with the old 0x9100 outer tag: cli-2 -> srv-1 tcp/6379:
    //    cli-2 has no NSG and front-sl has no rule for 6379:
    //    egress-security.
    t.link = Link::Vlan(Q9100);
    t.tcp_attempt(at(2, 0), cli2(), srv1(), (50002, 6379));
    // 4. 802.1Q: cli-1 -> srv-2 icmp echo with replies (front-sl egress #4,
    //    back-sl ingress #1 type 8): allowed, replies tracked.
    t.link = Link::Vlan(DOT1Q);
    t.ping(at(3, 0), cli1(), srv2(), 2, Some(1));
    t.sort();
    Fixture {
        name: "vlan_qinq.pcap",
        scenario: SECURITY,
        about: "802.1Q, 802.1ad QinQ and 0x9100 double tags",
        bytes: pcap(&t.recs),
    }
}

/// `ipv6_ext_headers.pcap`.
#[must_use]
pub fn ipv6_ext_headers() -> Fixture {
    let mut t = Trace::new(Link::Ether);
    let c1 = v6("2603:c020:5:1::10");
    let c2 = v6("2603:c020:5:1::11");
    let ext = v6("2001:db8::443");
    let send = |t: &mut Trace,
                ts: u64,
                src: Ipv6Addr,
                dst: Ipv6Addr,
                exts: &[l3::Ext],
                proto: u8,
                l4b: &[u8]| {
        let p = l3::ipv6_ext(src, dst, exts, proto, l4b);
        t.packet(ts, IpAddr::V6(src), IpAddr::V6(dst), &p);
    };
    use l3::Ext::{DstOpts, HopByHop, Routing};
    // 1. cli-1 -> internet tcp/443 behind hop-by-hop, routing and
    //    destination options; the answer has a destination options header:
    //    allowed both ways (front-sl egress #2; reply routed back through
    //    the internet gateway, tracked).
    send(
        &mut t,
        at(0, 0),
        c1,
        ext,
        &[HopByHop, Routing, DstOpts],
        ipproto::TCP,
        &l4::tcp(50000, 443, 1, 0, SYN, &[]),
    );
    send(
        &mut t,
        at(0, 20),
        ext,
        c1,
        &[DstOpts],
        ipproto::TCP,
        &l4::tcp(443, 50000, 9, 2, SYN | ACK, &[]),
    );
    send(
        &mut t,
        at(0, 21),
        c1,
        ext,
        &[DstOpts],
        ipproto::TCP,
        &l4::tcp(50000, 443, 2, 10, ACK, &[]),
    );
    // 2. cli-2 -> cli-1 ICMPv6 echo behind a hop-by-hop header, with reply
    //    (front-sl egress #3, ingress #1): allowed.
    send(
        &mut t,
        at(1, 0),
        c2,
        c1,
        &[HopByHop],
        ipproto::ICMPV6,
        &l4::icmp(128, 0, &l4::echo_body(9, 1, 32)),
    );
    send(
        &mut t,
        at(1, 1),
        c1,
        c2,
        &[HopByHop],
        ipproto::ICMPV6,
        &l4::icmp(129, 0, &l4::echo_body(9, 1, 32)),
    );
    // 3. cli-1 -> internet tcp/80 behind destination options: front-sl
    //    allows only 443 over IPv6: egress-security.
    send(
        &mut t,
        at(2, 0),
        c1,
        ext,
        &[DstOpts],
        ipproto::TCP,
        &l4::tcp(50001, 80, 1, 0, SYN, &[]),
    );
    // 4. An internet host opens tcp/443 to cli-1 through the routing header
    //    (front-sl ingress #0 from ::/0, route back via igw): allowed.
    send(
        &mut t,
        at(3, 0),
        ext,
        c1,
        &[Routing],
        ipproto::TCP,
        &l4::tcp(51000, 443, 1, 0, SYN, &[]),
    );
    // 5. An MLD report (ICMPv6 143) behind hop-by-hop router alert, as
    //    hosts send them: ICMPv6 type 143 is not allowed: egress-security.
    send(
        &mut t,
        at(4, 0),
        c1,
        v6("ff02::16"),
        &[HopByHop],
        ipproto::ICMPV6,
        &l4::icmp(143, 0, &[0, 0, 0, 0]),
    );
    t.sort();
    Fixture {
        name: "ipv6_ext_headers.pcap",
        scenario: SECURITY,
        about: "IPv6 hop-by-hop, routing and destination options headers",
        bytes: pcap(&t.recs),
    }
}

/// `linux_sll.pcap` (SLL v1).
#[must_use]
pub fn linux_sll() -> Fixture {
    let mut t = Trace::new(Link::Sll);
    // 1. cli-2 -> srv-2 tcp/22 from port 50000 (front-sl egress #8, back-sl
    //    ingress #4 asks sport 1024-65535): a whole connection, allowed.
    t.tcp_session(at(0, 0), cli2(), srv2(), (50000, 22), (40, 400));
    // 2. The same from port 1000: back-sl ingress #4 does not match:
    //    ingress-security.
    t.tcp_attempt(at(1, 0), cli2(), srv2(), (1000, 22));
    // 3. An IPv6 packet: cli-1 -> internet tcp/443: allowed.
    let c = v6("2603:c020:5:1::10");
    let p = l3::ipv6(
        c,
        v6("2001:db8::443"),
        ipproto::TCP,
        &l4::tcp(50001, 443, 1, 0, SYN, &[]),
    );
    t.packet(at(2, 0), IpAddr::V6(c), ip("2001:db8::443"), &p);
    // 4. An ARP frame in cooked form: non-IP.
    let a = arp(mac_of(cli2()), cli2(), ip("10.0.1.1"), false);
    t.frame(
        at(3, 0),
        linktype::LINUX_SLL,
        l2::sll(4, mac_of(cli2()), ETH_ARP, &a[14..42]),
    );
    t.sort();
    Fixture {
        name: "linux_sll.pcap",
        scenario: SECURITY,
        about: "Linux cooked capture (SLL): IPv4, IPv6 and ARP",
        bytes: pcap(&t.recs),
    }
}

/// `raw_ip.pcap` (LINKTYPE_RAW, microsecond timestamps, written by hand).
#[must_use]
pub fn raw_ip() -> Fixture {
    let mut t = Trace::new(Link::Raw);
    // 1. cli-1 -> srv-1 ICMP echo, 3 with replies (front-sl egress #4,
    //    back-sl ingress #1): allowed.
    t.ping(at(0, 0), cli1(), srv1(), 3, Some(2));
    // 2. GRE cli-1 -> srv-2 carrying an inner IPv4 packet (front-sl egress
    //    #6, back-sl ingress #3): allowed; srv-2's GRE back is a reply of
    //    the tracked tuple: allowed.
    let inner = l3::ipv4(
        v4("192.168.0.1"),
        v4("192.168.0.2"),
        ipproto::UDP,
        &l4::udp(1, 2, b"hi"),
    );
    t.ip(
        at(4, 0),
        cli1(),
        srv2(),
        ipproto::GRE,
        &l4::gre(ETH_IPV4, &inner),
    );
    t.ip(
        at(4, 1),
        srv2(),
        cli1(),
        ipproto::GRE,
        &l4::gre(ETH_IPV4, &inner),
    );
    // 3. IPv6: cli-1 -> internet echo (front-sl egress #3) with reply.
    t.ping(
        at(5, 0),
        ip("2603:c020:5:1::10"),
        ip("2001:db8::1"),
        1,
        Some(30),
    );
    // 4. srv-1 -> cli-1 udp/53 (no egress rule at srv-1 for UDP):
    //    egress-security.
    t.udp(at(6, 0), srv1(), cli1(), (5353, 53), 30);
    // 5. bare-1 (no rules at all) -> srv-1 tcp/5432: egress-security.
    t.tcp_attempt(at(7, 0), ip("10.0.3.10"), srv1(), (50000, 5432));
    t.sort();
    Fixture {
        name: "raw_ip.pcap",
        scenario: SECURITY,
        about: "raw IP link type (IPv4 and IPv6), ICMP, GRE; microsecond timestamps",
        bytes: pcap_by_hand(&t.recs, Order::Little, false, 65535),
    }
}

/// `truncated_records.pcap`: snapshot length 64, frames cut by it.
#[must_use]
pub fn truncated_records() -> Fixture {
    let mut t = Trace::new(Link::Ether);
    // 1. cli-1 -> srv-1 tcp/5432 with 1000 bytes of data, cut at 64 bytes:
    //    the ports are there: judged (allowed, srv-nsg ingress #0).
    t.ip(
        at(0, 0),
        cli1(),
        srv1(),
        ipproto::TCP,
        &l4::tcp(50000, 5432, 1, 0, SYN, &pattern(1000)),
    );
    // 2. cli-1 -> srv-2 tcp/8020, cut at 64 bytes: judged (back-sl ingress
    //    #7, allowed).
    t.ip(
        at(0, 1),
        cli1(),
        srv2(),
        ipproto::TCP,
        &l4::tcp(50001, 8020, 1, 0, SYN, &pattern(1000)),
    );
    // 3. A frame cut at 24 bytes, inside the IPv4 header: malformed.
    // 4. A frame cut at 36 bytes: IPv4 header present, TCP ports cut:
    //    malformed.
    // 5. IPv4 with 40 bytes of options, cut at 64 bytes (inside the
    //    options): malformed.
    // 6. IPv6 cut at 40 bytes (inside the fixed header): malformed.
    t.ip(
        at(1, 0),
        cli1(),
        srv1(),
        ipproto::TCP,
        &l4::tcp(50002, 5432, 1, 0, SYN, &pattern(200)),
    );
    t.ip(
        at(1, 1),
        cli1(),
        srv1(),
        ipproto::TCP,
        &l4::tcp(50003, 5432, 1, 0, SYN, &pattern(200)),
    );
    let p = l3::ipv4_full(
        v4("10.0.1.10"),
        v4("10.0.2.10"),
        ipproto::UDP,
        &[1; 40],
        l3::Frag::default(),
        &l4::udp(40000, 7000, &pattern(100)),
    );
    t.packet(at(1, 2), cli1(), srv1(), &p);
    let c = v6("2603:c020:5:1::10");
    let p = l3::ipv6(
        c,
        v6("2001:db8::443"),
        ipproto::TCP,
        &l4::tcp(50004, 443, 1, 0, SYN, &pattern(64)),
    );
    t.packet(at(1, 3), IpAddr::V6(c), ip("2001:db8::443"), &p);
    // 7. An ICMP echo cut right after type and code (38 bytes): judged
    //    (front-sl egress #4, back-sl ingress #1): allowed.
    t.ip(
        at(2, 0),
        cli1(),
        srv2(),
        ipproto::ICMP,
        &l4::icmp(8, 0, &l4::echo_body(1, 1, 200)),
    );
    let cuts = [64usize, 64, 24, 36, 64, 40, 38];
    for (r, cut) in t.recs.iter_mut().zip(cuts) {
        r.data.truncate(cut);
    }
    Fixture {
        name: "truncated_records.pcap",
        scenario: SECURITY,
        about: "records cut by the snapshot length: judged when the ports are there, else malformed",
        bytes: pcap_by_hand(&t.recs, Order::Little, true, 64),
    }
}

/// `truncated_file.pcap`: the file ends inside the fourth record.
#[must_use]
pub fn truncated_file() -> Fixture {
    let mut t = Trace::new(Link::Ether);
    // 1-3. cli-1 -> srv-1 tcp/5432: SYN, SYN-ACK, ACK: allowed.
    let mut c = Trace::tcp(cli1(), srv1(), 50000, 5432);
    t.seg(at(0, 0), &mut c, true, SYN, 0);
    t.seg(at(0, 1), &mut c, false, SYN | ACK, 0);
    t.seg(at(0, 2), &mut c, true, ACK, 0);
    // 4. Data from the client, cut 30 bytes into its frame by the end of
    //    the file.
    t.seg(at(0, 3), &mut c, true, PSH | ACK, 500);
    let mut bytes = pcap(&t.recs);
    let last = t.recs.last().map_or(0, |r| r.data.len());
    bytes.truncate(bytes.len() - last + 30);
    Fixture {
        name: "truncated_file.pcap",
        scenario: SECURITY,
        about: "the file ends inside a record: a warning, the records before it count",
        bytes,
    }
}

/// `two_linktypes.pcapng`: an Ethernet interface and a raw IP interface.
#[must_use]
pub fn two_linktypes() -> Fixture {
    let mut t = Trace::new(Link::Ether);
    // Interface 0 (Ethernet): cli-1 -> srv-1 tcp/5432 handshake.
    let mut c = Trace::tcp(cli1(), srv1(), 50000, 5432);
    t.seg(at(0, 0), &mut c, true, SYN, 0);
    t.seg(at(0, 1), &mut c, false, SYN | ACK, 0);
    // Interface 1 (raw IP): the rest of the same connection, seen on a
    // tunnel: it continues the tracked connection.
    t.link = Link::Raw;
    t.seg(at(0, 2), &mut c, true, ACK, 0);
    t.seg(at(0, 3), &mut c, true, PSH | ACK, 100);
    t.seg(at(0, 4), &mut c, false, ACK, 0);
    // Raw IP: cli-2 -> srv-1 tcp/5432: ingress-security.
    t.tcp_attempt(at(1, 0), cli2(), srv1(), (50001, 5432));
    // Ethernet again: srv-2 -> cli-1 icmp echo (no egress ICMP at back-sl):
    // egress-security.
    t.link = Link::Ether;
    t.ping(at(2, 0), srv2(), cli1(), 1, None);
    t.sort();
    Fixture {
        name: "two_linktypes.pcapng",
        scenario: SECURITY,
        about: "pcapng with an Ethernet and a raw IP interface",
        bytes: write_with(&t.recs, OutFormat::PcapNg),
    }
}

/// `corrupt.pcap`: good records, then a record header claiming 300000
/// captured bytes, then more good records that are never read.
#[must_use]
pub fn corrupt() -> Fixture {
    Fixture {
        name: "corrupt.pcap",
        scenario: SECURITY,
        about: "a record header with a captured length over 256 KiB after three good records",
        bytes: corrupt_parts().0,
    }
}

/// The byte offset of the bad record header in `corrupt.pcap`.
#[must_use]
pub fn corrupt_offset() -> u64 {
    corrupt_parts().1
}

fn corrupt_parts() -> (Vec<u8>, u64) {
    let mut t = Trace::new(Link::Ether);
    // 1-3. cli-1 -> srv-1 tcp/5432 SYN, SYN-ACK (allowed); cli-2 -> srv-1
    //      SYN (ingress-security).
    let mut c = Trace::tcp(cli1(), srv1(), 50000, 5432);
    t.seg(at(0, 0), &mut c, true, SYN, 0);
    t.seg(at(0, 1), &mut c, false, SYN | ACK, 0);
    let mut d = Trace::tcp(cli2(), srv1(), 50001, 5432);
    t.seg(at(0, 2), &mut d, true, SYN, 0);
    let mut bytes = pcap(&t.recs);
    let offset = bytes.len() as u64;
    // The bad record header.
    let secs = u32::try_from(T0_S + 1).unwrap_or(0);
    for field in [secs, 0, 300_000, 300_000] {
        bytes.extend_from_slice(&field.to_le_bytes());
    }
    bytes.extend_from_slice(&pattern(64));
    // A good record after it, which must not be read.
    let mut after = Trace::new(Link::Ether);
    after.seg(at(2, 0), &mut c, true, ACK, 0);
    let tail = pcap(&after.recs);
    bytes.extend_from_slice(tail.get(24..).unwrap_or_default());
    (bytes, offset)
}

/// `non_ip.pcap`: ARP, LLDP, spanning tree and IPv6 neighbour discovery
/// among IP packets.
#[must_use]
pub fn non_ip() -> Fixture {
    let mut t = Trace::new(Link::Ether);
    // ARP who-has and is-at (non-IP).
    t.frame(
        at(0, 0),
        linktype::ETHERNET,
        arp(mac_of(cli1()), cli1(), srv1(), false),
    );
    t.frame(
        at(0, 1),
        linktype::ETHERNET,
        arp(mac_of(srv1()), srv1(), cli1(), true),
    );
    // cli-1 -> srv-1 tcp/5432 session (IP, allowed).
    t.tcp_session(at(0, 10), cli1(), srv1(), (50000, 5432), (10, 10));
    // LLDP (non-IP).
    let mut lldp = Vec::new();
    lldp.extend_from_slice(&[0x02, 0x07, 0x04]);
    lldp.extend_from_slice(&mac_of(cli1()));
    lldp.extend_from_slice(&[0x04, 0x05, 0x07, b'e', b't', b'h', b'0']);
    lldp.extend_from_slice(&[0x06, 0x02, 0x00, 0x78]);
    lldp.extend_from_slice(&[0x00, 0x00]);
    t.frame(
        at(1, 0),
        linktype::ETHERNET,
        l2::pad60(l2::ether(
            [0x01, 0x80, 0xc2, 0, 0, 0x0e],
            mac_of(cli1()),
            &[],
            ETH_LLDP,
            &lldp,
        )),
    );
    // An 802.3 frame with LLC (spanning tree BPDU): length field, non-IP.
    let mut bpdu = vec![0x42, 0x42, 0x03];
    bpdu.extend_from_slice(&[0; 35]);
    t.frame(
        at(1, 1),
        linktype::ETHERNET,
        l2::pad60(l2::ether(
            [0x01, 0x80, 0xc2, 0, 0, 0],
            mac_of(srv1()),
            &[],
            38,
            &bpdu,
        )),
    );
    // ARP inside a VLAN tag (non-IP).
    let a = arp(mac_of(cli2()), cli2(), srv1(), false);
    t.frame(
        at(1, 2),
        linktype::ETHERNET,
        l2::ether(
            [0xff; 6],
            mac_of(cli2()),
            &[(ETH_VLAN, 100)],
            ETH_ARP,
            &a[14..42],
        ),
    );
    // cli-2 -> srv-1 tcp/5432 (IP, ingress-security).
    t.tcp_attempt(at(2, 0), cli2(), srv1(), (50001, 5432));
    t.sort();
    Fixture {
        name: "non_ip.pcap",
        scenario: SECURITY,
        about: "ARP, LLDP and 802.3/LLC frames among IP: counted as non_ip",
        bytes: pcap(&t.recs),
    }
}

/// `nanosecond_be.pcap`: big-endian, nanosecond timestamps, with UDP
/// replies on each side of the 30 s timeout by one nanosecond.
#[must_use]
pub fn nanosecond_be() -> Fixture {
    let mut t = Trace::new(Link::Ether);
    let ns = |s: u64, n: u64| (T0_S + s) * NS + n;
    // 1. cli-1 -> srv-1 udp; the reply exactly 30 s later (the gap does not
    //    exceed the timeout): allowed.
    t.udp(ns(0, 123_456_789), cli1(), srv1(), (40000, 7000), 16);
    t.udp(ns(30, 123_456_789), srv1(), cli1(), (7000, 40000), 16);
    // 2. The same, with the reply 30 s and 1 ns later: dropped at srv-1's
    //    egress (judged as a first packet).
    t.udp(ns(1, 999_999_999), cli1(), srv1(), (40001, 7000), 16);
    t.udp(ns(32, 0), srv1(), cli1(), (7000, 40001), 16);
    // 3. A TCP connection starting 1 ns after a whole second: allowed.
    t.tcp_session(ns(3, 1), cli1(), srv1(), (50000, 5432), (8, 8));
    t.sort();
    Fixture {
        name: "nanosecond_be.pcap",
        scenario: SECURITY,
        about: "big-endian pcap with nanosecond timestamps; UDP timeout to the nanosecond",
        bytes: pcap_by_hand(&t.recs, Order::Big, true, 262_144),
    }
}
