//! The honest baseline: the bare stateful loop every number of the engine
//! is compared with (docs/benchmarks.md).
//!
//! Over a capture held in memory: walk the records, parse Ethernet (one
//! VLAN tag), IPv4 or IPv6 and the TCP or UDP ports by hand, probe one
//! pre-sized open-addressing table keyed by the symmetric 5-tuple, and for
//! a new flow insert it after two longest-prefix lookups
//! ([`Compiled::address_class`]) and one probe of a second table keyed by
//! the two classes. No verdict, no counters, no outputs: what a packet
//! costs at least on this machine.

use std::time::Instant;

use zprsim_control::compile::Compiled;

use crate::capture::Records;

/// What the loop saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bare {
    /// Records walked.
    pub records: u64,
    /// IP packets with ports or not (looked up).
    pub packets: u64,
    /// Flows inserted.
    pub new_flows: u64,
    /// Seconds of the loop.
    pub seconds: f64,
    /// A value the loop computed, so nothing is optimised away.
    pub checksum: u64,
}

/// An open-addressing table of 64-bit keys (0 is empty), linear probing.
struct Table {
    keys: Vec<u64>,
    mask: usize,
}

impl Table {
    /// A table of at least `slots` slots, every page of it already
    /// touched: `vec![0; n]` is lazily mapped zero memory, whose page
    /// faults would otherwise land in the timed loop on the first run and
    /// not on later runs that reuse the allocator's memory. The loop
    /// measures the packets, not the kernel's page faults.
    fn with_slots(slots: usize) -> Table {
        let n = slots.next_power_of_two().max(1024);
        let mut keys = vec![0; n];
        // Writing (not reading) each page maps it; the value stays 0.
        for page in keys.chunks_mut(4096 / std::mem::size_of::<u64>()) {
            if let Some(first) = page.first_mut() {
                *first = std::hint::black_box(0);
            }
        }
        Table { keys, mask: n - 1 }
    }

    /// Finds or inserts `k`; true when it was new. A full table stops
    /// inserting (the caller sizes it).
    #[inline]
    fn probe_insert(&mut self, k: u64) -> bool {
        let k = k | 1;
        // The high bits spread better after the multiply below.
        #[allow(clippy::cast_possible_truncation)]
        let mut i = (k.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 20) as usize & self.mask;
        for _ in 0..=self.mask {
            let slot = self.keys[i];
            if slot == k {
                return false;
            }
            if slot == 0 {
                self.keys[i] = k;
                return true;
            }
            i = (i + 1) & self.mask;
        }
        false
    }
}

#[inline]
fn mix(a: u64, b: u64) -> u64 {
    (a ^ b.rotate_left(29)).wrapping_mul(0xff51_afd7_ed55_8ccd)
}

#[inline]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

/// Parses one frame by hand: (symmetric flow hash, source, destination).
#[inline]
fn parse(d: &[u8]) -> Option<(u64, std::net::IpAddr, std::net::IpAddr)> {
    let mut at = 12;
    let mut ethertype = be16(d, at)?;
    if ethertype == 0x8100 {
        at += 4;
        ethertype = be16(d, at)?;
    }
    at += 2;
    let (src, dst, proto, l4) = match ethertype {
        0x0800 => {
            let ihl = usize::from(d.get(at)? & 0x0f) * 4;
            let proto = *d.get(at + 9)?;
            let s: [u8; 4] = d.get(at + 12..at + 16)?.try_into().ok()?;
            let t: [u8; 4] = d.get(at + 16..at + 20)?.try_into().ok()?;
            let frag = be16(d, at + 6)? & 0x1fff != 0;
            let l4 = if frag { None } else { Some(at + ihl) };
            (
                std::net::IpAddr::from(s),
                std::net::IpAddr::from(t),
                proto,
                l4,
            )
        }
        0x86dd => {
            let proto = *d.get(at + 6)?;
            let s: [u8; 16] = d.get(at + 8..at + 24)?.try_into().ok()?;
            let t: [u8; 16] = d.get(at + 24..at + 40)?.try_into().ok()?;
            (
                std::net::IpAddr::from(s),
                std::net::IpAddr::from(t),
                proto,
                Some(at + 40),
            )
        }
        _ => return None,
    };
    let (sp, dp) = match (proto, l4) {
        (6 | 17, Some(o)) => (be16(d, o)?, be16(d, o + 2)?),
        _ => (0, 0),
    };
    let ha = addr_hash(src) ^ u64::from(sp);
    let hb = addr_hash(dst) ^ u64::from(dp);
    let (lo, hi) = if ha <= hb { (ha, hb) } else { (hb, ha) };
    Some((mix(mix(lo, hi), u64::from(proto)), src, dst))
}

#[inline]
fn addr_hash(a: std::net::IpAddr) -> u64 {
    match a {
        std::net::IpAddr::V4(x) => u64::from(u32::from(x)) << 16,
        std::net::IpAddr::V6(x) => {
            let v = u128::from(x);
            #[allow(clippy::cast_possible_truncation)]
            let (h, l) = ((v >> 64) as u64, v as u64);
            mix(h, l)
        }
    }
}

/// Runs the bare loop over a capture file held in `capture` with a flow
/// table of `flow_slots` slots (pre-sized: nothing grows in the loop).
///
/// # Errors
/// The bytes are not a capture.
pub fn bare_loop(
    compiled: &Compiled,
    capture: &[u8],
    flow_slots: usize,
) -> Result<Bare, crate::capture::CaptureError> {
    let mut flows = Table::with_slots(flow_slots);
    let mut pairs = Table::with_slots(1 << 16);
    let mut out = Bare::default();
    let t0 = Instant::now();
    for r in Records::from_slice(capture)? {
        let Ok(r) = r else { break };
        out.records += 1;
        // Ethernet only (LINKTYPE_ETHERNET): other link layers are not
        // parsed, rather than misread.
        if r.linktype != 1 {
            continue;
        }
        let Some((h, src, dst)) = parse(r.data) else {
            continue;
        };
        out.packets += 1;
        if flows.probe_insert(h) {
            out.new_flows += 1;
            let cs = compiled.address_class(src);
            let cd = compiled.address_class(dst);
            let fresh = pairs.probe_insert((u64::from(cs.raw()) << 32) | u64::from(cd.raw()));
            out.checksum = out
                .checksum
                .wrapping_add(u64::from(fresh) + u64::from(cs.raw()));
        }
    }
    out.seconds = t0.elapsed().as_secs_f64();
    Ok(out)
}
