//! Frames for the generator: Ethernet (optionally one 802.1Q tag), IPv4
//! (header checksum set) or IPv6, then TCP, UDP or ICMP, padded to 64
//! bytes. Written into a reused buffer.

use std::net::{IpAddr, Ipv6Addr};

use zprsim_control::model::proto;

/// What a frame carries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) proto: u8,
    pub(crate) sport: u16,
    pub(crate) dport: u16,
    /// TCP flags; ICMP type for ICMP.
    pub(crate) flags: u8,
    pub(crate) vlan: Option<u16>,
    pub(crate) frag: Frag,
    /// Varies the MACs, the IP id and the TCP sequence number.
    pub(crate) seq: u32,
}

/// Fragmentation of the IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frag {
    /// Not fragmented.
    No,
    /// The first fragment (transport header present, more fragments).
    First,
    /// A later fragment (offset 1480 bytes, no transport header).
    Later,
}

const MIN_FRAME: usize = 64;

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V6(x) => x,
        IpAddr::V4(x) => x.to_ipv6_mapped(),
    }
}

fn checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0)
}

/// Writes the frame of `s` into `f` (cleared first).
pub(crate) fn build(s: &Spec, f: &mut Vec<u8>) {
    f.clear();
    let m = s.seq.to_be_bytes();
    f.extend_from_slice(&[0x02, 0x00, 0x5e, m[1], m[2], m[3]]);
    f.extend_from_slice(&[0x02, 0x00, 0x5f, m[3], m[2], m[1]]);
    if let Some(vid) = s.vlan {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    let mut l4 = [0u8; 20];
    let l4_len = match (s.frag, s.proto) {
        (Frag::Later, _) => {
            // Payload bytes only.
            8
        }
        (_, proto::TCP) => {
            l4[0..2].copy_from_slice(&s.sport.to_be_bytes());
            l4[2..4].copy_from_slice(&s.dport.to_be_bytes());
            l4[4..8].copy_from_slice(&s.seq.to_be_bytes());
            l4[12] = 5 << 4;
            l4[13] = s.flags;
            l4[14..16].copy_from_slice(&64240u16.to_be_bytes());
            20
        }
        (_, proto::UDP) => {
            l4[0..2].copy_from_slice(&s.sport.to_be_bytes());
            l4[2..4].copy_from_slice(&s.dport.to_be_bytes());
            l4[4..6].copy_from_slice(&8u16.to_be_bytes());
            8
        }
        _ => {
            // ICMP echo: type, code 0, checksum, id, sequence.
            l4[0] = s.flags;
            l4[4..6].copy_from_slice(&s.sport.to_be_bytes());
            l4[6..8].copy_from_slice(&s.dport.to_be_bytes());
            8
        }
    };
    match (s.src, s.dst) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            f.extend_from_slice(&0x0800u16.to_be_bytes());
            let mut h = [0u8; 20];
            h[0] = 0x45;
            let total = u16::try_from(20 + l4_len).unwrap_or(20);
            h[2..4].copy_from_slice(&total.to_be_bytes());
            h[4..6].copy_from_slice(&m[2..4]);
            let frag: u16 = match s.frag {
                Frag::No => 0x4000,
                Frag::First => 0x2000,
                Frag::Later => 185,
            };
            h[6..8].copy_from_slice(&frag.to_be_bytes());
            h[8] = 64;
            h[9] = s.proto;
            h[12..16].copy_from_slice(&a.octets());
            h[16..20].copy_from_slice(&b.octets());
            let sum = checksum(&h);
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            f.extend_from_slice(&h);
        }
        (a, b) => {
            f.extend_from_slice(&0x86DDu16.to_be_bytes());
            let fragmented = s.frag != Frag::No;
            let ext = if fragmented { 8 } else { 0 };
            let mut h = [0u8; 40];
            h[0] = 0x60;
            let plen = u16::try_from(ext + l4_len).unwrap_or(0);
            h[4..6].copy_from_slice(&plen.to_be_bytes());
            h[6] = if fragmented { 44 } else { s.proto };
            h[7] = 64;
            h[8..24].copy_from_slice(&v6(a).octets());
            h[24..40].copy_from_slice(&v6(b).octets());
            f.extend_from_slice(&h);
            if fragmented {
                let mut fh = [0u8; 8];
                fh[0] = s.proto;
                let off: u16 = match s.frag {
                    Frag::Later => 185 << 3,
                    _ => 1,
                };
                fh[2..4].copy_from_slice(&off.to_be_bytes());
                fh[4..8].copy_from_slice(&s.seq.to_be_bytes());
                f.extend_from_slice(&fh);
            }
        }
    }
    f.extend_from_slice(&l4[..l4_len]);
    if f.len() < MIN_FRAME {
        f.resize(MIN_FRAME, 0);
    }
}
