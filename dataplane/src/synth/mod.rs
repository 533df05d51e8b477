//! Captures generated from a scenario and a seed, for benches, `zprsim
//! bench` and `zprsim-gen`.
//!
//! - [`write_realistic`]: flows between the scenario's VNICs and external
//!   addresses, with TCP handshakes and teardowns, replies, Pareto flow
//!   sizes, a share of IPv6, fragmented UDP and VLAN tags, interleaved in
//!   time;
//! - [`write_distinct_first_packets`]: the worst case, every packet the
//!   first of a new TCP connection.
//!
//! Both write an Ethernet pcap (nanosecond timestamps) to any writer and
//! are reproducible from the seed: the same scenario, configuration and
//! seed give the same bytes.
//!
//! ```
//! use zprsim_dataplane::synth::{SynthConfig, write_realistic};
//! let s = zprsim_control::model::Scenario::default();
//! let cfg = SynthConfig { packets: 1000, flows: 50, ..SynthConfig::default() };
//! let (pcap, stats) = write_realistic(&s, &cfg, Vec::new()).unwrap();
//! assert_eq!(stats.packets, 1000);
//! assert!(pcap.len() > 24 + 1000 * 80);
//! ```

mod frame;

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zprsim_control::compile::Compiled;
use zprsim_control::model::{Peer, RuleOptions, Scenario, proto};
use zprsim_control::packet::Packet;
use zprsim_control::verdict::{Context, Verdict};

use crate::pcap_out::{OutFormat, PcapOut};
use frame::{Frag, Spec, build};

/// How the realistic capture looks.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Packets in all (frames; a fragmented packet counts its fragments).
    pub packets: usize,
    /// Flows.
    pub flows: usize,
    /// Seed.
    pub seed: u64,
    /// Share of flows over IPv6 (when both ends have an IPv6 address).
    pub ipv6_share: f64,
    /// Share of UDP packets sent as two fragments.
    pub fragment_share: f64,
    /// Share of flows whose frames carry an 802.1Q tag.
    pub vlan_share: f64,
    /// Share of the data packets of a flow that go in the reply direction.
    pub reply_share: f64,
    /// Pareto shape of the flow sizes (smaller: heavier tail).
    pub pareto_alpha: f64,
    /// Seconds the capture spans.
    pub duration_s: u64,
    /// Timestamp of the start, nanoseconds since the epoch.
    pub start_ns: u64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            packets: 1_000_000,
            flows: 20_000,
            seed: 1,
            ipv6_share: 0.1,
            fragment_share: 0.02,
            vlan_share: 0.1,
            reply_share: 0.4,
            pareto_alpha: 1.2,
            duration_s: 60,
            start_ns: 1_704_067_200 * 1_000_000_000,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SynthStats {
    /// Frames written.
    pub packets: u64,
    /// Flows.
    pub flows: u64,
    /// Frames in the reply direction.
    pub replies: u64,
    /// IPv6 frames.
    pub ipv6: u64,
    /// Fragments (first and later).
    pub fragments: u64,
    /// Frames with a VLAN tag.
    pub vlan: u64,
}

/// Addresses and ports to draw from.
struct Pools {
    vnic4: Vec<IpAddr>,
    vnic6: Vec<IpAddr>,
    ext4: Vec<IpAddr>,
    ext6: Vec<IpAddr>,
    tcp_ports: Vec<u16>,
    udp_ports: Vec<u16>,
}

/// A host inside `net` (its network address + 1 + `k`, wrapped inside).
fn host_in(net: &ipnet::IpNet, k: u64) -> IpAddr {
    match net {
        ipnet::IpNet::V4(n) => {
            let size = 1u64 << (32 - u32::from(n.prefix_len())).min(31);
            let base = u64::from(u32::from(n.network()));
            let a = base + (1 + k) % size.max(1);
            IpAddr::V4(Ipv4Addr::from(u32::try_from(a & 0xffff_ffff).unwrap_or(0)))
        }
        ipnet::IpNet::V6(n) => {
            let bits = (128 - u32::from(n.prefix_len())).min(63);
            let base = u128::from(n.network());
            IpAddr::V6(Ipv6Addr::from(base + u128::from((1 + k) % (1u64 << bits))))
        }
    }
}

impl Pools {
    fn of(s: &Scenario) -> Pools {
        let mut p = Pools {
            vnic4: Vec::new(),
            vnic6: Vec::new(),
            ext4: Vec::new(),
            ext6: Vec::new(),
            tcp_ports: Vec::new(),
            udp_ports: Vec::new(),
        };
        for v in &s.vnics {
            for ip in &v.private_ips {
                if ip.is_ipv4() {
                    p.vnic4.push(*ip);
                } else {
                    p.vnic6.push(*ip);
                }
            }
        }
        let rules = s.nsgs.iter().flat_map(|n| n.rules.iter()).chain(
            s.security_lists
                .iter()
                .flat_map(|l| l.ingress.iter().chain(&l.egress)),
        );
        let mut k = 0u64;
        for r in rules {
            if let Peer::Cidr(net) = r.peer
                && net.prefix_len() > 0
            {
                let a = host_in(&net, k);
                k += 1;
                if a.is_ipv4() {
                    p.ext4.push(a);
                } else {
                    p.ext6.push(a);
                }
            }
            if let RuleOptions::Ports { dst: Some(d), .. } = r.options {
                p.tcp_ports.push(d.min);
                p.udp_ports.push(d.min);
            }
        }
        // External hosts no rule names, and common services.
        for i in 0..64u8 {
            p.ext4.push(IpAddr::V4(Ipv4Addr::new(203, 0, 113, i)));
            p.ext6.push(IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0xff,
                0,
                0,
                0,
                0,
                u16::from(i),
            )));
        }
        p.tcp_ports
            .extend([443, 80, 22, 5432, 6443, 8080, 3306, 9092]);
        p.udp_ports.extend([53, 123, 4789, 514]);
        p.tcp_ports.sort_unstable();
        p.tcp_ports.dedup();
        p.udp_ports.sort_unstable();
        p.udp_ports.dedup();
        p
    }

    fn pick(v: &[IpAddr], rng: &mut ChaCha8Rng) -> Option<IpAddr> {
        (!v.is_empty()).then(|| v[rng.random_range(0..v.len())])
    }

    /// Two ends of a flow: east-west between VNICs mostly, some from and
    /// to external addresses.
    fn ends(&self, v6: bool, rng: &mut ChaCha8Rng) -> (IpAddr, IpAddr) {
        // IPv6 where VNICs have it (or where there are no VNICs at all).
        let (vn, ext) = if v6 && (!self.vnic6.is_empty() || self.vnic4.is_empty()) {
            (&self.vnic6, &self.ext6)
        } else {
            (&self.vnic4, &self.ext4)
        };
        let roll = rng.random_range(0..10);
        let a = Self::pick(vn, rng);
        let b = Self::pick(vn, rng);
        let e = Self::pick(ext, rng).unwrap_or(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1)));
        match (roll, a, b) {
            (0..=6, Some(a), Some(b)) => (a, b),
            (7 | 8, _, Some(b)) => (e, b),
            (_, Some(a), _) => (a, e),
            _ => (e, e),
        }
    }
}

/// One flow of the realistic capture.
#[derive(Debug, Clone, Copy)]
struct Flow {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
    packets: u32,
    start_ns: u64,
    gap_ns: u64,
    vlan: Option<u16>,
    frag: bool,
    /// Seed of the flow's own draws (directions).
    seed: u64,
}

/// Pareto(xm = 1, alpha) by inversion.
fn pareto(rng: &mut ChaCha8Rng, alpha: f64) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    u.powf(-1.0 / alpha.max(0.01))
}

/// Steers a share of the flows onto paths the compiled tables allow.
#[derive(Clone, Copy)]
pub struct Allowed<'c> {
    /// The scenario's compiled tables.
    pub compiled: &'c Compiled,
    /// Share of flows (0 to 1) whose ends, protocol and port are drawn
    /// from the paths the tables allow (when any was found).
    pub share: f64,
}

impl Allowed<'_> {
    /// Paths drawn, each judged once, to find the allowed ones: a strict
    /// policy allows few random pairs, so this many draws find a pool of
    /// allowed paths where single flows drawn again a few times would not.
    pub const CANDIDATES: usize = 1 << 16;
}

impl std::fmt::Debug for Allowed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Allowed")
            .field("share", &self.share)
            .finish_non_exhaustive()
    }
}

/// The ends, protocol and destination port of a flow.
fn draw_path(pools: &Pools, cfg: &SynthConfig, rng: &mut ChaCha8Rng) -> (IpAddr, IpAddr, u8, u16) {
    let v6 = rng.random_bool(cfg.ipv6_share.clamp(0.0, 1.0));
    let (src, dst) = pools.ends(v6, rng);
    let roll = rng.random_range(0..100);
    let (proto, dport) = if roll < 80 {
        (
            proto::TCP,
            pools.tcp_ports[rng.random_range(0..pools.tcp_ports.len())],
        )
    } else if roll < 95 {
        (
            proto::UDP,
            pools.udp_ports[rng.random_range(0..pools.udp_ports.len())],
        )
    } else if src.is_ipv4() {
        (proto::ICMP, 0)
    } else {
        (proto::ICMPV6, 0)
    };
    (src, dst, proto, dport)
}

/// The distinct paths among [`Allowed::CANDIDATES`] draws whose first
/// packet (source port 49152: few rules name source ports) the tables
/// allow, in the order found.
fn allowed_paths(pools: &Pools, cfg: &SynthConfig, c: &Compiled) -> Vec<(IpAddr, IpAddr, u8, u16)> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x616c_6c6f_7765_6421);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for _ in 0..Allowed::CANDIDATES {
        let path = draw_path(pools, cfg, &mut rng);
        let (src, dst, pr, dport) = path;
        let p = match pr {
            proto::TCP => Packet::tcp(src, 49_152, dst, dport),
            proto::UDP => Packet::udp(src, 49_152, dst, dport),
            _ => Packet::icmp(src, dst, if src.is_ipv4() { 8 } else { 128 }, 0),
        };
        if c.judge(&p, Context::First).judgement.verdict == Verdict::Allow && seen.insert(path) {
            out.push(path);
        }
    }
    out
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
fn flows(s: &Scenario, cfg: &SynthConfig, allowed: Option<Allowed<'_>>) -> Vec<Flow> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x7379_6e74_6866_6c77);
    let pools = Pools::of(s);
    let n = cfg.flows.max(1);
    let raw: Vec<f64> = (0..n)
        .map(|_| pareto(&mut rng, cfg.pareto_alpha).min(1e6))
        .collect();
    let sum: f64 = raw.iter().sum();
    let scale = cfg.packets as f64 / sum.max(1.0);
    let span = cfg.duration_s.max(1) * 1_000_000_000;
    let steer = allowed.map(|a| {
        (
            a.share.clamp(0.0, 1.0),
            allowed_paths(&pools, cfg, a.compiled),
        )
    });
    let mut out = Vec::with_capacity(n);
    for (i, r) in raw.into_iter().enumerate() {
        let packets = ((r * scale).round() as u32).max(1);
        let (src, dst, proto, dport) = draw_path(&pools, cfg, &mut rng);
        // Later flows start later; a flow lasts what its packets need.
        let start_ns = rng.random_range(0..span);
        let gap_ns = rng.random_range(20_000..5_000_000);
        let mut flow = Flow {
            src,
            dst,
            proto,
            sport: rng.random_range(32_768..61_000),
            dport,
            packets,
            start_ns: cfg.start_ns + start_ns,
            gap_ns,
            vlan: rng
                .random_bool(cfg.vlan_share.clamp(0.0, 1.0))
                .then(|| rng.random_range(1..4095)),
            frag: proto == proto::UDP && rng.random_bool(cfg.fragment_share.clamp(0.0, 1.0)),
            seed: cfg.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i as u64,
        };
        // Only with `allowed`: the draws without it stay as they were.
        if let Some((share, paths)) = &steer
            && !paths.is_empty()
            && rng.random_bool(*share)
        {
            let (src, dst, proto, dport) = paths[rng.random_range(0..paths.len())];
            flow.src = src;
            flow.dst = dst;
            flow.proto = proto;
            flow.dport = dport;
            flow.frag = proto == proto::UDP && flow.frag;
        }
        out.push(flow);
    }
    // Trim or pad the largest flow so the total is exact.
    let total: i64 = out.iter().map(|f| i64::from(f.packets)).sum();
    let want = i64::try_from(cfg.packets).unwrap_or(i64::MAX);
    if let Some(big) = out.iter_mut().max_by_key(|f| f.packets) {
        let fixed = i64::from(big.packets) + want - total;
        big.packets = u32::try_from(fixed.max(1)).unwrap_or(1);
    }
    out
}

/// Packet `k` of `f`: direction, TCP flags (or ICMP type), fragment.
fn packet_of(f: &Flow, k: u32, rng: &mut ChaCha8Rng, reply_share: f64) -> (bool, u8) {
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const PSH_ACK: u8 = 0x18;
    const FIN_ACK: u8 = 0x11;
    let n = f.packets;
    match f.proto {
        proto::TCP => match k {
            0 => (false, SYN),
            1 => (true, SYN | ACK),
            2 => (false, ACK),
            _ if n >= 7 && k == n - 3 => (false, FIN_ACK),
            _ if n >= 7 && k == n - 2 => (true, FIN_ACK),
            _ if n >= 7 && k == n - 1 => (false, ACK),
            _ => (rng.random_bool(reply_share), PSH_ACK),
        },
        proto::UDP => (
            k % 2 == 1 && rng.random_bool((reply_share * 2.0).min(1.0)),
            0,
        ),
        _ => {
            let reply = k % 2 == 1;
            let v4 = f.src.is_ipv4();
            let t = match (v4, reply) {
                (true, false) => 8,
                (true, true) => 0,
                (false, false) => 128,
                (false, true) => 129,
            };
            (reply, t)
        }
    }
}

/// Writes the realistic capture of `s` (see the module documentation).
///
/// # Errors
/// I/O errors from the writer.
pub fn write_realistic<W: Write>(
    s: &Scenario,
    cfg: &SynthConfig,
    out: W,
) -> io::Result<(W, SynthStats)> {
    write_realistic_allowed(s, cfg, None, out)
}

/// As [`write_realistic`], with a share of the flows steered onto paths
/// the compiled tables allow ([`Allowed`]): traffic that looks like a
/// network running its policy rather than random pairs of hosts, most of
/// which a strict policy drops. `None` is [`write_realistic`].
///
/// # Errors
/// I/O errors from the writer.
pub fn write_realistic_allowed<W: Write>(
    s: &Scenario,
    cfg: &SynthConfig,
    allowed: Option<Allowed<'_>>,
    out: W,
) -> io::Result<(W, SynthStats)> {
    let flows = flows(s, cfg, allowed);
    // Every packet as (timestamp, flow, index), in time order.
    let mut order: Vec<(u64, u32, u32)> = Vec::with_capacity(cfg.packets);
    for (i, f) in flows.iter().enumerate() {
        let fi = u32::try_from(i).unwrap_or(u32::MAX);
        for k in 0..f.packets {
            order.push((f.start_ns + u64::from(k) * f.gap_ns, fi, k));
        }
    }
    order.sort_unstable();
    let mut rngs: Vec<Option<ChaCha8Rng>> = vec![None; flows.len()];
    let mut w = PcapOut::create(out, OutFormat::Pcap { linktype: 1 })?;
    let mut st = SynthStats {
        flows: flows.len() as u64,
        ..SynthStats::default()
    };
    let mut buf = Vec::with_capacity(128);
    for (n, (ts, fi, k)) in order.into_iter().enumerate() {
        let f = &flows[fi as usize];
        let rng = rngs[fi as usize].get_or_insert_with(|| ChaCha8Rng::seed_from_u64(f.seed));
        let (reply, flags) = packet_of(f, k, rng, cfg.reply_share);
        let (src, dst, sport, dport) = if reply {
            (f.dst, f.src, f.dport, f.sport)
        } else {
            (f.src, f.dst, f.sport, f.dport)
        };
        let (sport, dport) = if proto::is_icmp(f.proto) {
            // Echo id and sequence.
            (f.sport, u16::try_from(k & 0xffff).unwrap_or(0))
        } else {
            (sport, dport)
        };
        let frags: &[Frag] = if f.frag && !reply && k > 0 {
            &[Frag::First, Frag::Later]
        } else {
            &[Frag::No]
        };
        for frag in frags {
            if st.packets >= cfg.packets as u64 {
                break;
            }
            let spec = Spec {
                src,
                dst,
                proto: f.proto,
                sport,
                dport,
                flags,
                vlan: f.vlan,
                frag: *frag,
                seq: u32::try_from(n & 0xffff_ffff).unwrap_or(0),
            };
            build(&spec, &mut buf);
            let len = u32::try_from(buf.len()).unwrap_or(0);
            w.write(ts, 1, len, &buf)?;
            st.packets += 1;
            st.replies += u64::from(reply);
            st.ipv6 += u64::from(src.is_ipv6());
            st.fragments += u64::from(*frag != Frag::No);
            st.vlan += u64::from(f.vlan.is_some());
        }
    }
    // Fragments may have taken the place of the last packets; pad with
    // packets of the first flow so the count is exact.
    let mut k = 0u32;
    while st.packets < cfg.packets as u64 {
        let Some(f) = flows.first() else { break };
        let spec = Spec {
            src: f.src,
            dst: f.dst,
            proto: f.proto,
            sport: f.sport,
            dport: f.dport,
            flags: 0x10,
            vlan: f.vlan,
            frag: Frag::No,
            seq: k,
        };
        build(&spec, &mut buf);
        let len = u32::try_from(buf.len()).unwrap_or(0);
        let ts = cfg.start_ns + cfg.duration_s.max(1) * 1_000_000_000 + u64::from(k) * 1000;
        w.write(ts, 1, len, &buf)?;
        st.packets += 1;
        k += 1;
    }
    Ok((w.finish()?, st))
}

/// Writes `n` TCP SYNs, each the first packet of a new connection (the
/// worst case for connection tracking and flow records), between the
/// scenario's VNICs and external addresses, 1-20 µs apart.
///
/// # Errors
/// I/O errors from the writer.
pub fn write_distinct_first_packets<W: Write>(
    s: &Scenario,
    n: usize,
    seed: u64,
    out: W,
) -> io::Result<W> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6469_7374_696e_6374);
    let pools = Pools::of(s);
    let mut w = PcapOut::create(out, OutFormat::Pcap { linktype: 1 })?;
    let mut buf = Vec::with_capacity(128);
    let mut ts = SynthConfig::default().start_ns;
    for i in 0..n {
        let (src, dst) = pools.ends(false, &mut rng);
        // Distinct (sport, dport) for every i below 2^32: every packet
        // opens a new connection even between the same two ends.
        let i32_ = u32::try_from(i & 0xffff_ffff).unwrap_or(0);
        let sport = u16::try_from(i32_ & 0xffff).unwrap_or(0);
        let dport = pools.tcp_ports
            [usize::try_from(i32_ >> 16).unwrap_or(0) % pools.tcp_ports.len()]
        .wrapping_add(u16::try_from(i32_ >> 16).unwrap_or(0) / 1024);
        ts += rng.random_range(1_000..20_000);
        let spec = Spec {
            src,
            dst,
            proto: proto::TCP,
            sport,
            dport,
            flags: 0x02,
            vlan: None,
            frag: Frag::No,
            seq: i32_,
        };
        build(&spec, &mut buf);
        let len = u32::try_from(buf.len()).unwrap_or(0);
        w.write(ts, 1, len, &buf)?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::capture::Capture;
    use crate::parse::{Parsed, parse_frame};

    #[test]
    fn realistic_capture_has_what_it_promises_and_is_reproducible() {
        let s = Scenario::default();
        let cfg = SynthConfig {
            packets: 20_000,
            flows: 400,
            fragment_share: 0.3,
            ..SynthConfig::default()
        };
        let (a, st) = write_realistic(&s, &cfg, Vec::new()).unwrap();
        let (b, _) = write_realistic(&s, &cfg, Vec::new()).unwrap();
        assert_eq!(a, b, "the same seed gives the same bytes");
        let (c, _) = write_realistic(
            &s,
            &SynthConfig {
                seed: 2,
                ..cfg.clone()
            },
            Vec::new(),
        )
        .unwrap();
        assert_ne!(a, c);
        assert_eq!(st.packets, 20_000);
        let cap = Capture::from_bytes(a).unwrap();
        let (mut n, mut ip, mut syn, mut fin, mut frags, mut v6) = (0, 0, 0, 0, 0, 0);
        let mut last = 0;
        for r in cap.records() {
            let r = r.unwrap();
            assert!(r.ts_ns >= last, "time order");
            last = r.ts_ns;
            n += 1;
            if let Parsed::Ip(m) = parse_frame(r.linktype, r.data) {
                ip += 1;
                syn += u32::from(m.tcp_flags == 0x02);
                fin += u32::from(m.tcp_flags & 0x01 != 0);
                frags += u32::from(m.packet.l4 == zprsim_control::packet::L4::Fragment);
                v6 += u32::from(m.packet.src.is_ipv6());
            }
        }
        assert_eq!(n, 20_000);
        assert_eq!(ip, n, "every frame parses");
        assert!(syn > 200 && fin > 50, "handshakes {syn}, teardowns {fin}");
        assert!(frags > 10, "fragments {frags}");
        assert!(v6 > 100, "ipv6 {v6}");
        assert!(st.replies * 5 > st.packets, "replies {}", st.replies);
        assert!(st.vlan > 0);
    }

    #[test]
    fn distinct_first_packets_are_distinct() {
        let s = Scenario::default();
        let bytes = write_distinct_first_packets(&s, 70_000, 3, Vec::new()).unwrap();
        let cap = Capture::from_bytes(bytes).unwrap();
        let mut keys = std::collections::HashSet::new();
        for r in cap.records() {
            let r = r.unwrap();
            let Parsed::Ip(m) = parse_frame(r.linktype, r.data) else {
                panic!("not IP");
            };
            assert_eq!(m.tcp_flags, 0x02);
            keys.insert(crate::conntrack::ConnKey::of(&m.packet).unwrap().0);
        }
        assert_eq!(keys.len(), 70_000);
    }
}
