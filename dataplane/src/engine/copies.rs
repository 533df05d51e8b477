//! `--dedup`: one packet seen on several interfaces of a capture counted
//! once.
//!
//! A capture on Linux's `any` device (`tcpdump -i any`, the habit on an
//! OKE node) sees a forwarded packet once per interface it crosses: a
//! pod's packet on the pod's `veth` and again on the node's VNIC, a few
//! microseconds apart, the same IP packet but for the TTL (hop limit) the
//! forwarding lowered and the IPv4 header checksum that follows it. Each
//! copy would be judged and counted as a packet of its own.
//!
//! A record is a **copy** when a record read before it, at most
//! [`WINDOW_NS`] apart in capture time, holds the same IP packet (from the
//! IP header to the end of the captured bytes, with the TTL or hop limit
//! and the IPv4 header checksum left out) and the same original length.
//! Copies are counted ([`crate::judge::Counters::copies`]) and go nowhere
//! else: not judged, not counted as packets, not written to `--allowed`
//! or `--dropped`. The link header (Ethernet, SLL, SLL2 and its interface
//! index, VLAN tags) is not compared: the copies differ there.
//!
//! What is not a copy: a TCP retransmission (200 ms or more later, and a
//! new IPv4 id and TCP timestamp), a packet NAT rewrote on its way (other
//! addresses: a ClusterIP's DNAT), a tunnelled copy (other outer header).
//! What is, as with `editcap -D`: a packet a host really sent twice with
//! the same bytes within 1 ms (over the 752 real-world captures, 22
//! files hold copies, mostly frames captured twice with the same IPv4
//! id; two hold IPv6 RSTs 9 µs apart answering two segments: counted
//! once, with the same verdict).
//!
//! The reader decides, in input order, before packets are shared out, so
//! the outcome is the same for any number of workers. Packets are told
//! apart by two independent 64-bit hashes of those bytes (a false copy
//! needs both to collide between two packets less than a millisecond
//! apart: about 2^-128 per pair). Memory: at most [`MAX_RECENT`] packets
//! remembered (about 6 MiB); past it the oldest is forgotten early.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};

use crate::parse;

/// How far apart in capture time a copy may be from the packet it copies:
/// forwarding inside a host takes microseconds.
pub const WINDOW_NS: u64 = 1_000_000;

/// Packets remembered at most.
pub const MAX_RECENT: usize = 1 << 16;

/// Without `--dedup`: records of Linux's `any` device (SLL, SLL2) looked
/// at for copies, so the report can say `--dedup` is wanted.
pub const PROBE: u32 = 10_000;

/// The reader's view of copies: leaves them out (`--dedup`), or, without
/// it, looks at the first [`PROBE`] records of Linux's `any` device for
/// copies, only to warn (nothing is left out).
#[derive(Debug)]
pub(crate) struct Watch {
    copies: Copies,
    dedup: bool,
    probe_left: u32,
    probed: u32,
    found: u32,
}

impl Watch {
    /// `probe`: the input holds records of Linux's `any` device.
    pub(crate) fn new(dedup: bool, probe: bool) -> Watch {
        Watch {
            copies: Copies::new(),
            dedup,
            probe_left: if probe && !dedup { PROBE } else { 0 },
            probed: 0,
            found: 0,
        }
    }

    /// Whether records still need [`Watch::leave_out`].
    pub(crate) fn active(&self) -> bool {
        self.dedup || self.probe_left > 0
    }

    /// Whether the record is to be left out: a copy, under `--dedup`.
    #[inline]
    pub(crate) fn leave_out(
        &mut self,
        linktype: u32,
        data: &[u8],
        orig_len: u32,
        ts_ns: u64,
    ) -> bool {
        if self.dedup {
            return self.copies.is_copy(linktype, data, orig_len, ts_ns);
        }
        if self.probe_left > 0
            && matches!(
                linktype,
                parse::linktype::LINUX_SLL | parse::linktype::LINUX_SLL2
            )
        {
            self.probe(linktype, data, orig_len, ts_ns);
        }
        false
    }

    #[cold]
    #[inline(never)]
    fn probe(&mut self, linktype: u32, data: &[u8], orig_len: u32, ts_ns: u64) {
        self.probe_left -= 1;
        self.probed += 1;
        self.found += u32::from(self.copies.is_copy(linktype, data, orig_len, ts_ns));
    }

    /// Without `--dedup`, when at least one in 20 of the records of
    /// Linux's `any` device looked at were copies (a forwarded packet is
    /// usually one in two or three; a host that really sends the same
    /// bytes twice within 1 ms, as two RSTs answering two segments, is
    /// rare): the warning that says so.
    pub(crate) fn warning(&self) -> Option<crate::warning::RunWarning> {
        (self.found > 0 && self.found * 20 >= self.probed).then(|| {
            crate::warning::RunWarning::new(
                crate::warning::RunWarningCode::AnyDeviceCopies,
                format!(
                    "{} of the first {} record(s) captured on Linux's `any` device (SLL/SLL2) hold the same IP packet as one read less than 1 ms before (TTL aside): a packet forwarded between interfaces is captured once per interface, and each copy was judged and counted; --dedup counts it once",
                    self.found, self.probed
                ),
            )
        })
    }
}

/// A packet's identity: two independent hashes of its compared bytes,
/// and its original length.
type Key = (u64, u64, u32);

/// The packets of the last [`WINDOW_NS`], in reading order, each with a
/// tag of the caller's: nothing for the engine, the record number for
/// `explain --capture --dedup` (which packet a copy copies).
#[derive(Debug)]
pub(crate) struct Copies<T = ()> {
    seen: HashMap<Key, (u64, T), ahash::RandomState>,
    order: VecDeque<(Key, u64)>,
    hashers: [ahash::RandomState; 2],
}

impl Copies {
    /// Whether the record (`linktype`, captured `data`, original length,
    /// time) is a copy of one read less than [`WINDOW_NS`] before; if not,
    /// it is remembered. Records that are not IP are never copies.
    #[inline]
    pub(crate) fn is_copy(
        &mut self,
        linktype: u32,
        data: &[u8],
        orig_len: u32,
        ts_ns: u64,
    ) -> bool {
        self.copy_of(linktype, data, orig_len, ts_ns, ()).is_some()
    }
}

impl<T: Copy> Copies<T> {
    pub(crate) fn new() -> Copies<T> {
        // Fixed seeds: the same decisions in every run.
        Copies {
            seen: HashMap::with_capacity_and_hasher(
                1024,
                ahash::RandomState::with_seeds(1, 2, 3, 4),
            ),
            order: VecDeque::with_capacity(1024),
            hashers: [
                ahash::RandomState::with_seeds(0x5a, 0x11, 0x7e, 0x33),
                ahash::RandomState::with_seeds(0x91, 0xc4, 0x08, 0xe2),
            ],
        }
    }

    /// The tag of the record this one copies (`linktype`, captured
    /// `data`, original length, time): one read less than [`WINDOW_NS`]
    /// before holding the same IP packet. If it is no copy, `None`, and it
    /// is remembered with `tag`. Records that are not IP are never copies.
    pub(crate) fn copy_of(
        &mut self,
        linktype: u32,
        data: &[u8],
        orig_len: u32,
        ts_ns: u64,
        tag: T,
    ) -> Option<T> {
        let key = self.key(linktype, data, orig_len)?;
        // Forget what is out of the window (capture time goes forward
        // within a file; a later file may start earlier: then the cap
        // alone forgets).
        while let Some(&(k, t)) = self.order.front() {
            if t.saturating_add(WINDOW_NS) >= ts_ns && self.order.len() < MAX_RECENT {
                break;
            }
            self.order.pop_front();
            if self.seen.get(&k).map(|e| e.0) == Some(t) {
                self.seen.remove(&k);
            }
        }
        if let Some(&(t, first)) = self.seen.get(&key)
            && t.abs_diff(ts_ns) <= WINDOW_NS
        {
            return Some(first);
        }
        self.seen.insert(key, (ts_ns, tag));
        self.order.push_back((key, ts_ns));
        None
    }

    /// The compared bytes' identity, or `None` for a record that is not IP.
    fn key(&self, linktype: u32, data: &[u8], orig_len: u32) -> Option<Key> {
        let start = parse::ip_start(linktype, data)?;
        let ip = data.get(start..)?;
        // The bytes left out: IPv4 TTL (8) and header checksum (10-11),
        // IPv6 hop limit (7).
        let skip: &[usize] = match ip.first()? >> 4 {
            4 => &[8, 10, 11],
            6 => &[7],
            _ => return None,
        };
        let mut hs = [
            self.hashers[0].build_hasher(),
            self.hashers[1].build_hasher(),
        ];
        let mut from = 0;
        for &i in skip {
            if let Some(part) = ip.get(from..i.min(ip.len())) {
                hs.iter_mut().for_each(|h| h.write(part));
            }
            from = i + 1;
        }
        if let Some(rest) = ip.get(from..) {
            hs.iter_mut().for_each(|h| h.write(rest));
        }
        let [a, b] = hs;
        // The IP packet's own original length: the link headers differ.
        let ip_len = orig_len.saturating_sub(u32::try_from(start).unwrap_or(u32::MAX));
        Some((a.finish(), b.finish(), ip_len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::linktype;

    /// An Ethernet frame (VLAN-tagged when `vlan`) of an IPv4 TCP packet
    /// with this TTL and IPv4 id.
    fn frame(ttl: u8, id: u16, vlan: bool) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
        }
        f.extend_from_slice(&[0x08, 0x00]);
        let mut ip = vec![
            0x45, 0, 0, 40, 0, 0, 0x40, 0, ttl, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip[4..6].copy_from_slice(&id.to_be_bytes());
        // A checksum that changes with the TTL, as a router's would.
        ip[10] = ttl;
        ip.extend_from_slice(&[
            0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        f.extend_from_slice(&ip);
        f
    }

    #[test]
    fn a_forwarded_copy_within_the_window_is_a_copy_and_nothing_else_is() {
        let mut c = Copies::new();
        let e = linktype::ETHERNET;
        let a = frame(64, 1, false);
        assert!(!c.is_copy(e, &a, 54, 1_000));
        // Forwarded: TTL and checksum lower, VLAN tag on this interface
        // (4 bytes more on the wire).
        let fwd = frame(63, 1, true);
        assert!(c.is_copy(e, &fwd, 58, 1_000 + 20_000));
        // The same bytes once the window has passed: a packet of its own.
        assert!(!c.is_copy(e, &a, 54, 1_000 + WINDOW_NS + 30_000));
        // Another IPv4 id: another packet.
        assert!(!c.is_copy(e, &frame(64, 2, false), 54, 2_000_000));
        // Another original length: another packet.
        assert!(!c.is_copy(e, &frame(64, 3, false), 54, 3_000_000));
        assert!(!c.is_copy(e, &frame(64, 3, false), 1500, 3_000_100));
        // Not IP: never a copy.
        assert!(!c.is_copy(e, &[0u8; 60], 60, 4_000_000));
        assert!(!c.is_copy(e, &[0u8; 60], 60, 4_000_001));
    }

    #[test]
    fn memory_stays_bounded_whatever_the_times() {
        let mut c = Copies::new();
        let mut copies = 0;
        for i in 0..MAX_RECENT + 5000 {
            // Every packet distinct (id, then original length past 2^16
            // ids), all at the same time: the window never empties.
            let f = frame(64, u16::try_from(i % 65_536).unwrap_or(0), false);
            let orig = 54 + u32::try_from(i >> 16).unwrap_or(0);
            copies += usize::from(c.is_copy(linktype::ETHERNET, &f, orig, 7));
        }
        assert_eq!(copies, 0);
        // Past the bound the oldest are forgotten: exactly the bound held.
        assert_eq!(c.order.len(), MAX_RECENT);
        assert_eq!(c.seen.len(), MAX_RECENT);
    }
}
