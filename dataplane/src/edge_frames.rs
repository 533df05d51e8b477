//! Random frames at the edges of the shapes the fixed-offset readers take
//! (the reader's shard peek, `engine/peek.rs`, and the worker's plain parse,
//! `parse::plain`): both are held equal to [`crate::parse::parse_frame`]
//! on these, so one generator draws the edges both must get right.

use rand::Rng;

/// A random Ethernet frame, each deciding field drawn from its edges:
/// tags (none, one, two; 802.1Q, 802.1ad, 0x9100), ethertypes (ARP, random,
/// the other family's), IP versions that disagree with the ethertype, IPv4
/// header lengths 4-15 words, later fragments, total or payload lengths
/// that end before, inside and past the ports (IPv6 payload length 0 too),
/// protocols with and without ports (extension headers, random ones), TCP
/// data offsets below 5, ICMP type and code, addresses from a small pool
/// (equal addresses and either order) or random, padding, frames cut short.
pub(crate) fn frame<R: Rng>(r: &mut R) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    r.fill(&mut f[..]);
    for _ in 0..[0usize, 0, 0, 1, 1, 2][r.random_range(0..6)] {
        let t = [0x8100u16, 0x8100, 0x88a8, 0x9100][r.random_range(0..4)];
        f.extend_from_slice(&t.to_be_bytes());
        f.extend_from_slice(&r.random::<u16>().to_be_bytes());
    }
    let v6 = r.random_bool(0.35);
    let et: u16 = match r.random_range(0..20) {
        0 => 0x0806,
        1 => r.random(),
        2 if v6 => 0x0800,
        2 => 0x86DD,
        _ if v6 => 0x86DD,
        _ => 0x0800,
    };
    f.extend_from_slice(&et.to_be_bytes());
    let protos = [
        6u8, 17, 6, 17, 6, 17, 6, 17, 1, 58, 51, 47, 0, 43, 44, 59, 60, 135,
    ];
    let proto = if r.random_bool(0.05) {
        r.random()
    } else {
        protos[r.random_range(0..protos.len())]
    };
    let l4_len = [0usize, 1, 2, 3, 4, 8, 12, 13, 14, 20, 20, 20][r.random_range(0..12)];
    let mut l4 = vec![0u8; l4_len];
    r.fill(&mut l4[..]);
    if l4_len > 12 && r.random_bool(0.8) {
        l4[12] = 0x50 | (l4[12] & 0x0f);
    }
    // Ports 0 (and ICMP type and code 0, 1, 2).
    if l4_len >= 4 && r.random_bool(0.3) {
        l4[0] = 0;
        l4[1] = [0u8, 0, 1, 2][r.random_range(0..4)];
        l4[2] = 0;
        l4[3] = [0u8, 1, 2][r.random_range(0..3)];
    }
    let pooled = r.random_bool(0.5);
    let pool = |r: &mut R| -> u8 { [1u8, 2, 3, 200][r.random_range(0..4)] };
    if v6 {
        let mut h = vec![0u8; 40];
        r.fill(&mut h[..]);
        h[0] = if r.random_bool(0.95) { 0x60 } else { 0x45 };
        let pl = match r.random_range(0..5) {
            0 => 0,
            1 => r.random_range(0..30),
            _ => l4_len,
        };
        h[4..6].copy_from_slice(&u16::try_from(pl).unwrap_or(0).to_be_bytes());
        h[6] = proto;
        if pooled {
            h[8..40].fill(0);
            h[8] = 0xfd;
            h[23] = pool(r);
            h[24] = 0xfd;
            h[39] = pool(r);
        }
        f.extend_from_slice(&h);
    } else {
        let ihl = [5u8, 5, 5, 5, 5, 6, 4, 15][r.random_range(0..8)];
        let mut h = vec![0u8; usize::from(ihl).max(5) * 4];
        r.fill(&mut h[..]);
        h[0] = if r.random_bool(0.95) { 0x40 } else { 0x60 } | ihl;
        let hl = usize::from(ihl) * 4;
        let total = match r.random_range(0..5) {
            0 => r.random_range(0..40),
            1 => r.random_range(0..1500),
            _ => hl + l4_len,
        };
        h[2..4].copy_from_slice(&u16::try_from(total).unwrap_or(0).to_be_bytes());
        // Mostly not a later fragment (DF kept as drawn); else as drawn.
        if r.random_bool(0.85) {
            h[6] &= 0x40;
            h[7] = 0;
        }
        h[9] = proto;
        if pooled {
            h[12..16].copy_from_slice(&[10, 0, 0, pool(r)]);
            h[16..20].copy_from_slice(&[10, 0, 0, pool(r)]);
        }
        f.extend_from_slice(&h);
    }
    f.extend_from_slice(&l4);
    if r.random_bool(0.25) {
        f.extend_from_slice(&[0u8; 6]);
    }
    if r.random_bool(0.15) {
        let cut = r.random_range(0..=f.len());
        f.truncate(cut);
    }
    f
}
