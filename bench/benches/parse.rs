//! Frame parsing cost: `parse_frame` against etherparse's `SlicedPacket`
//! (the oracle of the tests) on the same mix of frames, and reading the
//! mix back from an in-memory pcap (record walk plus parse).
//!
//! The mix, 1024 frames in a repeating pattern: Ethernet IPv4 TCP, 802.1Q
//! IPv4 UDP, QinQ IPv6 TCP, IPv6 with hop-by-hop and destination options
//! then UDP, an IPv4 first fragment, an IPv4 non-first fragment, ICMP
//! echo, ARP.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zprsim_dataplane::capture::Records;
use zprsim_dataplane::parse::{Parsed, parse_frame};

const FRAMES: usize = 1024;

fn ipv4(proto: u8, frag: u16, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len())
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    let f = frag.to_be_bytes();
    let mut v = vec![
        0x45, 0, total[0], total[1], 0, 1, f[0], f[1], 64, proto, 0, 0,
    ];
    v.extend_from_slice(&[10, 0, 1, 10, 10, 0, 2, 20]);
    v.extend_from_slice(payload);
    v
}

fn ipv6(nh: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len())
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    let mut v = vec![0x60, 0, 0, 0, len[0], len[1], nh, 64];
    v.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    v.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    v.extend_from_slice(payload);
    v
}

fn eth(tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    for t in tags {
        v.extend_from_slice(&t.to_be_bytes());
        v.extend_from_slice(&[0, 42]);
    }
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn tcp(sport: u16, dport: u16) -> Vec<u8> {
    let mut v = sport.to_be_bytes().to_vec();
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    v.extend_from_slice(&[0xab; 40]);
    v
}

fn udp(sport: u16, dport: u16) -> Vec<u8> {
    let mut v = sport.to_be_bytes().to_vec();
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&[0, 40, 0, 0]);
    v.extend_from_slice(&[0xcd; 32]);
    v
}

fn mix() -> Vec<Vec<u8>> {
    let mut ext = vec![60, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop -> destination options
    ext.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]); // destination options -> UDP
    ext.extend_from_slice(&udp(5353, 53));
    let pattern = [
        eth(&[], 0x0800, &ipv4(6, 0, &tcp(40000, 443))),
        eth(&[0x8100], 0x0800, &ipv4(17, 0, &udp(5000, 53))),
        eth(&[0x88a8, 0x8100], 0x86dd, &ipv6(6, &tcp(1234, 22))),
        eth(&[], 0x86dd, &ipv6(0, &ext)),
        eth(&[], 0x0800, &ipv4(17, 0x2000, &udp(500, 4500))),
        eth(&[], 0x0800, &ipv4(17, 185, &[0; 64])),
        eth(&[], 0x0800, &ipv4(1, 0, &[8, 0, 0, 0, 0, 1, 0, 1])),
        eth(&[], 0x0806, &[0; 28]),
    ];
    (0..FRAMES)
        .map(|i| pattern[i % pattern.len()].clone())
        .collect()
}

fn pcap_of(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut f = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    f.extend_from_slice(&262_144u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    for (i, fr) in frames.iter().enumerate() {
        let len = u32::try_from(fr.len()).unwrap_or(u32::MAX);
        f.extend_from_slice(&u32::try_from(i).unwrap_or(0).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&len.to_le_bytes());
        f.extend_from_slice(&len.to_le_bytes());
        f.extend_from_slice(fr);
    }
    f
}

fn parse(c: &mut Criterion) {
    let frames = mix();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(FRAMES as u64));
    g.bench_function("parse_frame", |b| {
        b.iter(|| {
            let mut ip = 0u32;
            for f in &frames {
                if let Parsed::Ip(m) = parse_frame(1, black_box(f)) {
                    ip += u32::from(m.packet.proto);
                }
            }
            ip
        });
    });
    g.bench_function("etherparse_sliced", |b| {
        b.iter(|| {
            let mut n = 0u32;
            for f in &frames {
                if let Ok(p) = etherparse::SlicedPacket::from_ethernet(black_box(f)) {
                    n += u32::from(p.transport.is_some());
                }
            }
            n
        });
    });
    let file = pcap_of(&frames);
    g.bench_function("pcap_records_and_parse", |b| {
        b.iter(|| {
            let mut n = 0u32;
            if let Ok(records) = Records::from_slice(black_box(&file)) {
                for r in records.flatten() {
                    n += u32::from(matches!(parse_frame(r.linktype, r.data), Parsed::Ip(_)));
                }
            }
            n
        });
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
