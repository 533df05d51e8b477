//! The reader's look at a frame: its shard from a few fixed offsets, so
//! the full parse ([`crate::parse::parse_frame`]) happens on the workers.
//!
//! [`shard`] reads the common shapes only: Ethernet with at most one
//! 802.1Q tag, IPv4 (any header length, not a fragment, not AH) or IPv6
//! without extension headers, and the TCP or UDP ports, or the ICMP type
//! and code's presence. For those it returns exactly the shard
//! [`crate::conntrack::shard_of`] gives the packet `parse_frame` returns
//! (and `parse_frame` is sure to return a packet, not a malformed or
//! non-IP frame, nor one [`crate::unjudged::classify`] leaves unjudged);
//! anything else is `None`, and the reader parses the frame in full. The
//! tests below hold the two equal on random frames.
//!
//! Why by hand: it is the reader's whole per-packet work besides finding
//! the record, and a general parser (or `parse_frame` plus `shard_of`,
//! which compares `IpAddr`s to order the key) costs several times more.

#[cfg(doc)]
use crate::conntrack::fold;
use crate::conntrack::{SHARDS, mix64};
use crate::parse::linktype;
use crate::unjudged;

/// The shard of the frame's packet, or `None` when the frame is not one
/// of the shapes read here (the caller then parses it in full).
///
/// A few loads at fixed offsets: one bounds check for the Ethernet header
/// (and a tag), one for the IP header, one for the ports; the checks that
/// send a frame to the full parse are folded into one branch each.
/// Inlined into the reader's loop: a call's register saves were a tenth
/// of its cost.
#[inline(always)]
pub(crate) fn shard(lt: u32, d: &[u8]) -> Option<u16> {
    if lt != linktype::ETHERNET {
        return None;
    }
    if let Some(s) = plain_v4(d) {
        return s;
    }
    // Any frame this reads is longer than 18 bytes (14 + a 20-byte IPv4
    // header at least), so one check covers the tag too.
    let e: &[u8; 18] = d.get(..18)?.try_into().ok()?;
    let mut et = u16::from_be_bytes([e[12], e[13]]);
    let mut off = 14;
    if et == 0x8100 {
        et = u16::from_be_bytes([e[16], e[17]]);
        off = 18;
    }
    match et {
        0x0800 => v4(d, off),
        0x86DD => v6(d, off),
        _ => None,
    }
}

/// The most common shape, read with one bounds check and one branch:
/// untagged Ethernet, IPv4 with a 20-byte header, not a later fragment,
/// TCP or UDP, and a frame of at least 48 bytes (every Ethernet frame
/// padded to the minimum is). `Some(shard)` as [`shard`] gives it, or
/// `None` to read the frame the general way.
#[inline(always)]
fn plain_v4(d: &[u8]) -> Option<Option<u16>> {
    let f: &[u8; 48] = d.get(..48)?.try_into().ok()?;
    let shape = u32::from_be_bytes([f[12], f[13], f[14], f[23]]);
    let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
    // The IP payload's end (the ports lie at 34..38, TCP's data offset
    // at 46).
    let end = (14 + total).min(d.len());
    let src = u32::from_be_bytes([f[26], f[27], f[28], f[29]]);
    let dst = u32::from_be_bytes([f[30], f[31], f[32], f[33]]);
    if !matches!(shape, 0x0800_4506 | 0x0800_4511)
        | (f[20] & 0x1f | f[21] != 0)
        | (end < 38)
        | unjudged::may_be_v4(src, dst)
    {
        return None;
    }
    // A host to itself on `lo` (checked only then: rare, so predicted).
    if src == dst && unjudged::zero_macs(d) {
        return None;
    }
    if f[23] == 6 && end > 46 && f[46] >> 4 < 5 {
        return Some(None);
    }
    let sp = u16::from_be_bytes([f[34], f[35]]);
    let dp = u16::from_be_bytes([f[36], f[37]]);
    let forward =
        ((u64::from(src) << 16) | u64::from(sp)) <= ((u64::from(dst) << 16) | u64::from(dp));
    Some(Some(combine(
        u64::from(src),
        u64::from(dst),
        sp,
        dp,
        f[23],
        forward,
    )))
}

#[inline(always)]
fn v4(d: &[u8], off: usize) -> Option<u16> {
    let h: &[u8; 20] = d.get(off..off + 20)?.try_into().ok()?;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let frag = u16::from_be_bytes([h[6], h[7]]) & 0x1fff;
    let src = u32::from_be_bytes([h[12], h[13], h[14], h[15]]);
    let dst = u32::from_be_bytes([h[16], h[17], h[18], h[19]]);
    // Not version 4, a bad header length, a later fragment, or maybe a
    // packet not to judge: the full parse decides (`|`, not `||`: one
    // branch).
    if (h[0] >> 4 != 4)
        | (ihl < 20)
        | (total < ihl)
        | (frag != 0)
        | (d.len() < off + ihl)
        | unjudged::may_be_v4(src, dst)
        | (src == dst && unjudged::zero_macs(d))
    {
        return None;
    }
    let proto = h[9];
    let end = (off + total).min(d.len());
    let (sp, dp) = ports(d, end, off + ihl, proto)?;
    // The key's order: Ipv4Addr orders as its big-endian value, then the
    // port; both in one word.
    let forward =
        ((u64::from(src) << 16) | u64::from(sp)) <= ((u64::from(dst) << 16) | u64::from(dp));
    Some(combine(
        u64::from(src),
        u64::from(dst),
        sp,
        dp,
        proto,
        forward,
    ))
}

#[inline(always)]
fn v6(d: &[u8], off: usize) -> Option<u16> {
    let h: &[u8; 40] = d.get(off..off + 40)?.try_into().ok()?;
    if h[0] >> 4 != 6 {
        return None;
    }
    let payload_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let nh = h[6];
    if matches!(nh, 0 | 43 | 44 | 51 | 59 | 60 | 135 | 139 | 140) {
        return None;
    }
    let word = |i: usize| {
        u64::from_be_bytes([
            h[i],
            h[i + 1],
            h[i + 2],
            h[i + 3],
            h[i + 4],
            h[i + 5],
            h[i + 6],
            h[i + 7],
        ])
    };
    let (s_hi, s_lo, d_hi, d_lo) = (word(8), word(16), word(24), word(32));
    if unjudged::may_be_v6(nh, h[7], (s_hi, s_lo), (d_hi, d_lo))
        || (s_hi == d_hi && s_lo == d_lo && unjudged::zero_macs(d))
    {
        return None;
    }
    let end = if payload_len == 0 {
        d.len()
    } else {
        (off + 40 + payload_len).min(d.len())
    };
    let (sp, dp) = ports(d, end, off + 40, nh)?;
    // Ipv6Addr orders as its big-endian value.
    let forward = (s_hi, s_lo, sp) <= (d_hi, d_lo, dp);
    Some(combine(
        fold6(s_hi, s_lo),
        fold6(d_hi, d_lo),
        sp,
        dp,
        nh,
        forward,
    ))
}

/// [`fold`] of an IPv6 address given as its two big-endian halves.
#[inline]
fn fold6(hi: u64, lo: u64) -> u64 {
    hi ^ lo.rotate_left(32) ^ 0x6a09_e667_f3bc_c909
}

/// The ports the connection key uses (0 for ICMP and other protocols),
/// or `None` where `parse_frame` would call the transport header
/// malformed. The IP payload ends at `end` (at most `d.len()`).
#[inline]
fn ports(d: &[u8], end: usize, pos: usize, proto: u8) -> Option<(u16, u16)> {
    match proto {
        6 | 17 => {
            if pos + 4 > end {
                return None;
            }
            let p: &[u8; 4] = d.get(pos..pos + 4)?.try_into().ok()?;
            // A TCP data offset below 5 words, where the header holds it.
            if proto == 6 && pos + 12 < end && d.get(pos + 12).is_some_and(|b| b >> 4 < 5) {
                return None;
            }
            Some((
                u16::from_be_bytes([p[0], p[1]]),
                u16::from_be_bytes([p[2], p[3]]),
            ))
        }
        1 | 58 => (pos + 2 <= end).then_some((0, 0)),
        51 => None,
        _ => Some((0, 0)),
    }
}

/// `conntrack::shard_of`'s hash of the key in canonical order (lower
/// address and port first).
#[inline]
fn combine(fs: u64, fd: u64, sp: u16, dp: u16, proto: u8, forward: bool) -> u16 {
    let (lo, hi, lp, hp) = if forward {
        (fs, fd, sp, dp)
    } else {
        (fd, fs, dp, sp)
    };
    let ports = (u64::from(lp) << 24) | (u64::from(hp) << 8) | u64::from(proto);
    let h = lo ^ hi.rotate_left(29) ^ ports.rotate_left(47);
    // The top byte of the mixed word: below SHARDS (256).
    const _: () = assert!(SHARDS == 256);
    u16::from(mix64(h).to_be_bytes()[0])
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::conntrack::shard_of;
    use crate::edge_frames::frame;
    use crate::parse::{Parsed, parse_frame};

    #[test]
    fn the_fast_shard_is_shard_of_the_full_parse() {
        let mut r = ChaCha8Rng::seed_from_u64(10);
        let (mut fast, mut ip) = (0u32, 0u32);
        for _ in 0..200_000 {
            let f = frame(&mut r);
            let lt = if r.random_bool(0.02) {
                linktype::RAW
            } else {
                linktype::ETHERNET
            };
            let full = parse_frame(lt, &f);
            if matches!(full, Parsed::Ip(_)) {
                ip += 1;
            }
            let Some(s) = shard(lt, &f) else { continue };
            fast += 1;
            let Parsed::Ip(m) = full else {
                panic!("fast shard {s} for a frame parse_frame calls {full:?}: {f:02x?}");
            };
            assert_eq!(usize::from(s), shard_of(&m.packet), "{f:02x?} {m:?}");
            assert_eq!(unjudged::classify(lt, &f, &m.packet), None, "{f:02x?}");
        }
        // Most IP frames take the fast path, and the others occur.
        assert!(fast > ip / 2, "{fast} of {ip}");
        assert!(fast < ip, "{fast} of {ip}");
    }

    /// Frames of the shape [`plain_v4`] reads, with its edges drawn
    /// often: IP total lengths that end before, inside and after the
    /// ports and the TCP data offset, data offsets below 5, fragments.
    #[test]
    fn the_plain_ipv4_path_is_shard_of_the_full_parse() {
        let mut r = ChaCha8Rng::seed_from_u64(11);
        let (mut plain, mut rejected) = (0u32, 0u32);
        for _ in 0..100_000 {
            let len = r.random_range(48..90);
            let mut f = vec![0u8; len];
            r.fill(&mut f[..]);
            f[12..15].copy_from_slice(&[0x08, 0x00, 0x45]);
            f[23] = [6u8, 17, 6, 17, 1][r.random_range(0..5)];
            let total: u16 = match r.random_range(0..4) {
                0 => r.random_range(0..40),
                _ => u16::try_from(len - 14).unwrap_or(0),
            };
            f[16..18].copy_from_slice(&total.to_be_bytes());
            if r.random_bool(0.8) {
                f[20] &= 0x40;
                f[21] = 0;
            }
            if r.random_bool(0.5) {
                f.copy_within(30..34, 26);
            }
            let full = parse_frame(linktype::ETHERNET, &f);
            match plain_v4(&f) {
                Some(Some(s)) => {
                    plain += 1;
                    let Parsed::Ip(m) = full else {
                        panic!("plain shard {s} for a frame parse_frame calls {full:?}: {f:02x?}");
                    };
                    assert_eq!(usize::from(s), shard_of(&m.packet), "{f:02x?}");
                }
                Some(None) => rejected += 1,
                None => {}
            }
            // Whatever path it takes, the peek agrees with the full parse.
            if let Some(s) = shard(linktype::ETHERNET, &f) {
                let Parsed::Ip(m) = full else {
                    panic!("fast shard {s} for a frame parse_frame calls {full:?}: {f:02x?}");
                };
                assert_eq!(usize::from(s), shard_of(&m.packet), "{f:02x?}");
                let lt = linktype::ETHERNET;
                assert_eq!(unjudged::classify(lt, &f, &m.packet), None, "{f:02x?}");
            }
        }
        assert!(plain > 30_000, "{plain}");
        assert!(rejected > 1_000, "{rejected}");
    }

    /// Review: frames cut by a snaplen shorter than the packet (the IP
    /// total length past the captured bytes), first fragments (MF set)
    /// and TCP data offsets at byte 46 or cut off, none of which the
    /// plain-IPv4 test above draws: the peek still agrees with the full
    /// parse on every frame it reads.
    #[test]
    fn the_plain_ipv4_path_agrees_on_frames_cut_by_a_snaplen() {
        let mut r = ChaCha8Rng::seed_from_u64(12);
        let mut plain = 0u32;
        for _ in 0..100_000 {
            let len = r.random_range(48..70);
            let mut f = vec![0u8; len];
            r.fill(&mut f[..]);
            f[12..15].copy_from_slice(&[0x08, 0x00, 0x45]);
            f[23] = [6u8, 17][r.random_range(0..2)];
            let total: u16 = r.random_range(u16::try_from(len - 14).unwrap_or(0)..1500);
            f[16..18].copy_from_slice(&total.to_be_bytes());
            f[20] = [0u8, 0x20, 0x40, 0x60][r.random_range(0..4)];
            f[21] = 0;
            if r.random_bool(0.5) {
                f[46] = 0x50 | (f[46] & 0x0f);
            }
            let full = parse_frame(linktype::ETHERNET, &f);
            if let Some(s) = shard(linktype::ETHERNET, &f) {
                plain += 1;
                let Parsed::Ip(m) = full else {
                    panic!("shard {s} for a frame parse_frame calls {full:?}: {f:02x?}");
                };
                assert_eq!(usize::from(s), shard_of(&m.packet), "{f:02x?}");
            }
        }
        assert!(plain > 30_000, "{plain}");
    }

    #[test]
    fn common_frames_take_the_fast_path() {
        let mut tcp = vec![0u8; 12];
        tcp.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0]);
        tcp.extend_from_slice(&[10, 0, 0, 2, 10, 0, 0, 1]);
        tcp.extend_from_slice(&[0x1f, 0x90, 0x30, 0x39, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02]);
        tcp.extend_from_slice(&[0; 6]);
        let Parsed::Ip(m) = parse_frame(linktype::ETHERNET, &tcp) else {
            panic!("not IP")
        };
        assert_eq!(
            shard(linktype::ETHERNET, &tcp).map(usize::from),
            Some(shard_of(&m.packet))
        );
        // A second fragment is left to the full parse.
        let mut frag = tcp.clone();
        frag[21] = 0x10;
        assert_eq!(shard(linktype::ETHERNET, &frag), None);
    }
}
