//! The fixed-size records `diff` on flow logs sorts outside memory
//! ([`crate::flowlog::sort`]): each compared record's part of its
//! flow, sorted by tuple (then window start and BEFORE's judging order)
//! to build one flow at a time; and each changed flow, sorted as
//! `--flows` lists them.

use std::cmp::Ordering;
use std::net::IpAddr;

use crate::diff::Class;
use crate::flowlog::codec::{get, get_ip, get_u64, put};
use crate::flowlog::sort::{SortRecord, ip_bytes};
use zprsim_control::verdict::{Stage, Verdict};

/// Bytes of a tuple's key ([`key_bytes`]).
pub const KEY: usize = 39;

/// A connection key as bytes whose order groups a tuple's records.
#[must_use]
pub fn key_bytes(k: &crate::conntrack::ConnKey) -> [u8; KEY] {
    let (lo, hi, lp, hp, proto) = k.parts();
    let mut b = [0u8; KEY];
    b[..17].copy_from_slice(&ip_bytes(lo));
    b[17..34].copy_from_slice(&ip_bytes(hi));
    b[34..36].copy_from_slice(&lp.to_be_bytes());
    b[36..38].copy_from_slice(&hp.to_be_bytes());
    b[38] = proto;
    b
}

/// A verdict and stage as one byte: 0 allow, 1 + the stage's place in
/// [`Stage::ALL`] for a drop (255: a drop without a stage, which the
/// judge never gives).
#[must_use]
pub fn side_code(v: Verdict, st: Option<Stage>) -> u8 {
    match (v, st) {
        (Verdict::Allow, _) => 0,
        (Verdict::Drop, Some(s)) => Stage::ALL
            .iter()
            .position(|x| *x == s)
            .and_then(|i| u8::try_from(i + 1).ok())
            .unwrap_or(255),
        (Verdict::Drop, None) => 255,
    }
}

/// BEFORE's code ([`side_code`]) of a part whose record only AFTER
/// places: a VNIC the change adds (since the twenty-ninth session).
pub const ONLY_AFTER: u8 = 254;

/// AFTER's code ([`side_code`]) of a part whose record only BEFORE
/// places: a VNIC the change removes (since the thirtieth session).
pub const ONLY_BEFORE: u8 = 253;

/// The bit of [`Part::vnic`] (and [`Changed::vnics`]) that says the rest
/// is an index into AFTER's VNICs: a VNIC only AFTER has.
pub const AFTER_VNIC: u32 = 1 << 31;

/// The verdict and stage of [`side_code`].
#[must_use]
pub fn side_of(code: u8) -> (Verdict, Option<Stage>) {
    match code {
        0 => (Verdict::Allow, None),
        n => (
            Verdict::Drop,
            Stage::ALL.get(usize::from(n).wrapping_sub(1)).copied(),
        ),
    }
}

/// One compared record's part of its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// Its tuple ([`key_bytes`]).
    pub key: [u8; KEY],
    /// Window start.
    pub start: u64,
    /// Position in BEFORE's judging order (window start, then the tie
    /// rule, then input order): a flow's first part is its opener.
    pub seq: u64,
    /// The record's packets.
    pub packets: u64,
    /// The record's bytes.
    pub bytes: u64,
    /// The record's own direction (the flow's first record is printed):
    /// source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Protocol number.
    pub proto: u8,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// The VNIC that logged it (index into BEFORE's VNICs; into AFTER's,
    /// with [`AFTER_VNIC`], for a VNIC only AFTER has).
    pub vnic: u32,
    /// BEFORE's and AFTER's verdict and stage ([`side_code`]) along the
    /// flow's whole path ([`super::path`]); BEFORE's [`ONLY_AFTER`] when
    /// it does not place the record, AFTER's [`ONLY_BEFORE`] when it
    /// does not.
    pub sides: [u8; 2],
    /// Dropped by both, at another stage or by other rules.
    pub reason_changed: bool,
    /// OCI logged the record `REJECT`.
    pub rejected: bool,
}

impl SortRecord for Part {
    const SIZE: usize = KEY + 4 * 8 + 2 * 17 + 5 + 4 + 3;

    fn encode(&self, out: &mut [u8]) {
        let mut at = 0;
        put(out, &mut at, &self.key);
        for v in [self.start, self.seq, self.packets, self.bytes] {
            put(out, &mut at, &v.to_le_bytes());
        }
        put(out, &mut at, &ip_bytes(self.src));
        put(out, &mut at, &ip_bytes(self.dst));
        put(out, &mut at, &[self.proto]);
        put(out, &mut at, &self.sport.to_le_bytes());
        put(out, &mut at, &self.dport.to_le_bytes());
        put(out, &mut at, &self.vnic.to_le_bytes());
        put(
            out,
            &mut at,
            &[
                self.sides[0],
                self.sides[1],
                u8::from(self.reason_changed) | u8::from(self.rejected) << 1,
            ],
        );
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let mut at = 0;
        let at = &mut at;
        let key = get::<KEY>(b, at)?;
        let start = get_u64(b, at)?;
        let seq = get_u64(b, at)?;
        let packets = get_u64(b, at)?;
        let bytes = get_u64(b, at)?;
        let src = get_ip(b, at)?;
        let dst = get_ip(b, at)?;
        let [proto] = get::<1>(b, at)?;
        let sport = u16::from_le_bytes(get::<2>(b, at)?);
        let dport = u16::from_le_bytes(get::<2>(b, at)?);
        let vnic = u32::from_le_bytes(get::<4>(b, at)?);
        let [x, y, flags] = get::<3>(b, at)?;
        if flags > 3 {
            return None;
        }
        Some(Part {
            key,
            start,
            seq,
            packets,
            bytes,
            src,
            dst,
            proto,
            sport,
            dport,
            vnic,
            sides: [x, y],
            reason_changed: flags & 1 != 0,
            rejected: flags & 2 != 0,
        })
    }

    fn order(&self, o: &Self) -> Ordering {
        (self.key, self.start, self.seq).cmp(&(o.key, o.start, o.seq))
    }
}

/// VNICs of a changed flow kept in the record; a flow logged at more
/// (VNICs sharing an address) keeps them in memory beside the sort.
pub const INLINE_VNICS: usize = 8;

/// One changed flow, sorted as `--flows` lists them: by its first
/// record's window start, then its addresses, protocol and ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changed {
    /// The first record's window start.
    pub start: u64,
    /// The first record's source address.
    pub src: IpAddr,
    /// Its destination address.
    pub dst: IpAddr,
    /// Protocol number.
    pub proto: u8,
    /// The first record's source port.
    pub sport: u16,
    /// Its destination port.
    pub dport: u16,
    /// Packets of the flow's records.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Records of the flow.
    pub records: u64,
    /// Per side: verdict and stage ([`side_code`]), allowed and dropped
    /// packets.
    pub sides: [(u8, u64, u64); 2],
    /// Its class: would break, newly allowed, reason changed, new path
    /// (its records only AFTER places) or gone path (only BEFORE places
    /// them); one byte in the temporary file ([`class_code`]).
    pub class: Class,
    /// How many VNICs (`u8::MAX`: more than [`INLINE_VNICS`], and
    /// `vnics[0]` indexes the list kept beside).
    pub nvnics: u8,
    /// The VNICs (indices into BEFORE's, or AFTER's with [`AFTER_VNIC`]),
    /// the first `nvnics`.
    pub vnics: [u32; INLINE_VNICS],
}

/// A class as one byte of a sorted record: its place in [`Class::ALL`].
fn class_code(c: Class) -> u8 {
    Class::ALL
        .iter()
        .position(|x| *x == c)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(u8::MAX)
}

/// The class of a byte [`class_code`] wrote (`None`: not one).
fn class_of(b: u8) -> Option<Class> {
    Class::ALL.get(usize::from(b)).copied()
}

impl SortRecord for Changed {
    const SIZE: usize = 8 + 2 * 17 + 5 + 3 * 8 + 2 * 17 + 2 + 4 * INLINE_VNICS;

    fn encode(&self, out: &mut [u8]) {
        let mut at = 0;
        put(out, &mut at, &self.start.to_le_bytes());
        put(out, &mut at, &ip_bytes(self.src));
        put(out, &mut at, &ip_bytes(self.dst));
        put(out, &mut at, &[self.proto]);
        put(out, &mut at, &self.sport.to_le_bytes());
        put(out, &mut at, &self.dport.to_le_bytes());
        for v in [self.packets, self.bytes, self.records] {
            put(out, &mut at, &v.to_le_bytes());
        }
        for (c, al, dr) in self.sides {
            put(out, &mut at, &[c]);
            put(out, &mut at, &al.to_le_bytes());
            put(out, &mut at, &dr.to_le_bytes());
        }
        put(out, &mut at, &[class_code(self.class), self.nvnics]);
        for v in self.vnics {
            put(out, &mut at, &v.to_le_bytes());
        }
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let mut at = 0;
        let at = &mut at;
        let start = get_u64(b, at)?;
        let src = get_ip(b, at)?;
        let dst = get_ip(b, at)?;
        let proto = get::<1>(b, at)?[0];
        let sport = u16::from_le_bytes(get::<2>(b, at)?);
        let dport = u16::from_le_bytes(get::<2>(b, at)?);
        let packets = get_u64(b, at)?;
        let bytes = get_u64(b, at)?;
        let records = get_u64(b, at)?;
        let mut sides = [(0u8, 0u64, 0u64); 2];
        for s in &mut sides {
            *s = (get::<1>(b, at)?[0], get_u64(b, at)?, get_u64(b, at)?);
        }
        let [class, nvnics] = get::<2>(b, at)?;
        let class = class_of(class)?;
        let mut vnics = [0u32; INLINE_VNICS];
        for v in &mut vnics {
            *v = u32::from_le_bytes(get::<4>(b, at)?);
        }
        Some(Changed {
            start,
            src,
            dst,
            proto,
            sport,
            dport,
            packets,
            bytes,
            records,
            sides,
            class,
            nvnics,
            vnics,
        })
    }

    fn order(&self, o: &Self) -> Ordering {
        (
            self.start, self.src, self.dst, self.proto, self.sport, self.dport,
        )
            .cmp(&(o.start, o.src, o.dst, o.proto, o.sport, o.dport))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parts_and_changed_flows_read_back_as_written() {
        let p = Part {
            key: [7; KEY],
            start: 1,
            seq: 2,
            packets: 3,
            bytes: 4,
            src: "10.0.0.1".parse().unwrap(),
            dst: "fd00::9".parse().unwrap(),
            proto: 6,
            sport: 5,
            dport: 6,
            vnic: 8,
            sides: [0, 3],
            reason_changed: true,
            rejected: true,
        };
        let mut b = vec![0u8; Part::SIZE];
        p.encode(&mut b);
        assert_eq!(Part::decode(&b), Some(p));
        let c = Changed {
            start: 1,
            src: p.src,
            dst: p.dst,
            proto: 17,
            sport: 9,
            dport: 10,
            packets: 11,
            bytes: 12,
            records: 13,
            sides: [(1, 2, 3), (0, 4, 5)],
            class: Class::ReasonChanged,
            nvnics: 3,
            vnics: [1, 2, 3, 0, 0, 0, 0, 9],
        };
        let mut b = vec![0u8; Changed::SIZE];
        c.encode(&mut b);
        assert_eq!(Changed::decode(&b), Some(c));
        // Every class reads back; a byte that is none is a broken record.
        for class in Class::ALL {
            assert_eq!(class_of(class_code(class)), Some(class));
        }
        let class_at = Changed::SIZE - 4 * INLINE_VNICS - 2;
        b[class_at] = 6;
        assert_eq!(Changed::decode(&b), None);
        for st in [None, Some(Stage::Route), Some(Stage::Zpr)] {
            let v = if st.is_some() {
                Verdict::Drop
            } else {
                Verdict::Allow
            };
            assert_eq!(side_of(side_code(v, st)), (v, st));
        }
    }
}
