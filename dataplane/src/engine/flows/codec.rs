//! The spooled form of a closed flow record ([`Finished`]): 143 bytes,
//! little-endian, fixed layout, read back exactly (`engine/spool.rs`
//! writes and reads it; nothing outside one pass ever sees it).
//!
//! | bytes | field |
//! |---|---|
//! | 0-33 | the key's two addresses: a family byte (4 or 6) and 16 bytes each |
//! | 34-39 | protocol, has-ports flag, the key's two ports |
//! | 40-79 | first and last packet time, bytes, allowed and dropped packets |
//! | 80-84 | transport fields of the first packet: a tag and 4 bytes |
//! | 85-88 | flags (bit 0 `src_is_a`, 1 `both`, 2 `closing`, 3 `first_forward`, 4 `no_conn`), verdict code (the first side's, read from there), two spare bytes |
//! | 89-134 | how the first packet and the first reply were decided: presence, code, audit, five rule ids (stored value, 0 for none) |
//! | 135-142 | the close order ([`Finished::seq`]) |
//! | 143- | the record's [`Extra`] (none for replay; [`super::Change`] for `diff`) |

use zprsim_control::compile::RuleId;
use zprsim_control::packet::L4;

use super::super::spool::Spooled;
use super::{
    CODE, Extra, Finished, FlowState, NO_CONN, NO_REPLY, SRC_IS_A, Side, order, side_byte,
};
use crate::state_table::{Hint, StateKey};

/// Bytes of a record's spooled form before its [`Extra`].
const BASE: usize = 143;

impl<X: Extra> Spooled for Finished<X> {
    const SIZE: usize = BASE + X::SIZE;

    fn encode(&self, out: &mut [u8]) {
        let mut w = Put { b: out, at: 0 };
        let (a, b) = self.key.addrs();
        w.addr(a);
        w.addr(b);
        w.bytes(&[self.key.proto()]);
        match self.key.ports() {
            Some((x, y)) => {
                w.bytes(&[1]);
                w.bytes(&x.to_le_bytes());
                w.bytes(&y.to_le_bytes());
            }
            None => w.bytes(&[0; 5]),
        }
        let st = &self.st;
        for v in [st.first_ns, st.last_ns, st.bytes, st.allowed, st.dropped] {
            w.bytes(&v.to_le_bytes());
        }
        w.l4(st.l4);
        let flags = u8::from(st.src_is_a())
            | u8::from(st.both) << 1
            | u8::from(st.closing) << 2
            | u8::from(st.first_forward) << 3
            | u8::from(st.conn & NO_CONN != 0) << 4;
        w.bytes(&[flags, st.code(), 0, 0]);
        w.side(Some(st.first()));
        w.side(st.reply());
        w.bytes(&self.seq.to_le_bytes());
        debug_assert_eq!(w.at, BASE, "the spooled form fills BASE bytes");
        st.x.encode(&mut w);
        debug_assert_eq!(w.at, Self::SIZE, "the spooled form fills SIZE bytes");
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let mut r = Get { b, at: 0 };
        let a = r.addr()?;
        let bb = r.addr()?;
        let proto = r.u8()?;
        let has_ports = r.u8()?;
        let ports = (r.u16()?, r.u16()?);
        let key = StateKey::new(a, bb, proto, (has_ports == 1).then_some(ports));
        let [first_ns, last_ns, bytes, allowed, dropped] =
            [r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?];
        let l4 = r.l4()?;
        // The verdict code is the first side's, read there.
        let flags = r.u8()?;
        r.u8()?;
        r.u16()?;
        let (src_is_a, both, closing) = (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
        let (first_forward, no_conn) = (flags & 8 != 0, flags & 16 != 0);
        let first = r.side()??;
        let reply = r.side()?;
        let src_is_a = if src_is_a { SRC_IS_A } else { 0 };
        let seq = r.u64()?;
        let x = X::decode(&mut r)?;
        Some(Finished {
            key,
            st: FlowState {
                first_ns,
                last_ns,
                bytes,
                allowed,
                dropped,
                l4,
                first_how: side_byte(&first) | src_is_a,
                first_rules: first.rules,
                reply_how: reply.as_ref().map_or(NO_REPLY, side_byte),
                reply_rules: reply.map_or([None; 5], |s| s.rules),
                first_forward,
                // A closed record holds no connection.
                conn: if no_conn { NO_CONN } else { 0 },
                // Only a hint into a tracker's table, of no use once the
                // record is closed.
                conn_at: Hint::NONE,
                both,
                closing,
                x,
            },
            seq,
        })
    }

    fn order(&self, other: &Self) -> std::cmp::Ordering {
        order(
            (&self.key, &self.st, self.seq),
            (&other.key, &other.st, other.seq),
        )
    }
}

/// Writes a [`Finished`]'s binary form (the buffer is exactly
/// [`Spooled::SIZE`] bytes, so every write fits: bytes past it would be
/// dropped, never a panic).
pub(crate) struct Put<'a> {
    b: &'a mut [u8],
    at: usize,
}

impl Put<'_> {
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        if let Some(d) = self.b.get_mut(self.at..self.at + v.len()) {
            d.copy_from_slice(v);
        }
        self.at += v.len();
    }

    /// A family byte (4 or 6) and 16 address bytes.
    fn addr(&mut self, a: std::net::IpAddr) {
        match a {
            std::net::IpAddr::V4(v) => {
                self.bytes(&[4]);
                self.bytes(&v.octets());
                self.bytes(&[0; 12]);
            }
            std::net::IpAddr::V6(v) => {
                self.bytes(&[6]);
                self.bytes(&v.octets());
            }
        }
    }

    /// Transport fields: a tag and 4 bytes.
    pub(crate) fn l4(&mut self, l4: L4) {
        match l4 {
            L4::Ports { sport, dport } => {
                self.bytes(&[0]);
                self.bytes(&sport.to_le_bytes());
                self.bytes(&dport.to_le_bytes());
            }
            L4::Icmp { icmp_type, code } => self.bytes(&[1, icmp_type, code, 0, 0]),
            L4::Opaque => self.bytes(&[2, 0, 0, 0, 0]),
            L4::Fragment => self.bytes(&[3, 0, 0, 0, 0]),
        }
    }

    /// A presence byte, the code, the audit flag and five stored rule ids.
    fn side(&mut self, s: Option<Side>) {
        match s {
            Some(s) => {
                self.bytes(&[1, s.code, u8::from(s.audit)]);
                for r in s.rules {
                    self.bytes(&r.map_or(0, |r| r.raw() + 1).to_le_bytes());
                }
            }
            None => self.bytes(&[0; 23]),
        }
    }
}

/// Reads what [`Put`] wrote (`None` past the end or on a bad tag).
pub(crate) struct Get<'a> {
    b: &'a [u8],
    at: usize,
}

impl Get<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let v = self.b.get(self.at..self.at + N)?.try_into().ok()?;
        self.at += N;
        Some(v)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }

    /// What [`Put::l4`] wrote (`None` on a bad tag).
    pub(crate) fn l4(&mut self) -> Option<L4> {
        let tag = self.u8()?;
        Some(match tag {
            0 => L4::Ports {
                sport: self.u16()?,
                dport: self.u16()?,
            },
            1 => {
                let (icmp_type, code) = (self.u8()?, self.u8()?);
                self.u16()?;
                L4::Icmp { icmp_type, code }
            }
            2 | 3 => {
                self.u16()?;
                self.u16()?;
                if tag == 2 { L4::Opaque } else { L4::Fragment }
            }
            _ => return None,
        })
    }

    fn addr(&mut self) -> Option<std::net::IpAddr> {
        let fam = self.u8()?;
        let b: [u8; 16] = self.take()?;
        match fam {
            4 => Some(std::net::IpAddr::from([b[0], b[1], b[2], b[3]])),
            6 => Some(std::net::IpAddr::from(b)),
            _ => None,
        }
    }

    /// `Some(None)` for an absent side, `None` for a bad one.
    fn side(&mut self) -> Option<Option<Side>> {
        let present = self.u8()?;
        let (code, audit) = (self.u8()?, self.u8()?);
        let mut rules = [None; 5];
        for r in &mut rules {
            *r = RuleId::from_stored(u32::from_le_bytes(self.take()?));
        }
        match present {
            0 => Some(None),
            // A code past what a side's byte holds is not one written.
            1 if code <= CODE => Some(Some(Side {
                code,
                audit: audit == 1,
                rules,
            })),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::Change;
    use super::super::flow_key;
    use super::super::flow_record;
    use super::*;
    use std::net::IpAddr;

    fn side(code: u8, audit: bool, r: usize) -> Side {
        Side {
            code,
            audit,
            rules: [
                RuleId::new(r).ok(),
                None,
                RuleId::new(r + 7).ok(),
                None,
                RuleId::new(1 << 27).ok(),
            ],
        }
    }

    /// What changed in a record (`diff`'s [`Change`]), from `n`: none,
    /// one side or both of its first breaking and newly allowed packets,
    /// counts past 32 bits, a stage change or not.
    fn change(n: u64, l4: L4) -> Change {
        let mut c = Change::default();
        if !n.is_multiple_of(3) {
            c.note(n.is_multiple_of(2), l4, [0, 4]);
            for _ in 0..n % 5 {
                c.note(true, L4::Opaque, [0, 2]);
            }
        }
        if n % 4 != 1 {
            c.note(!n.is_multiple_of(2), L4::Fragment, [3, 0]);
        }
        if n.is_multiple_of(7) {
            c.note(true, l4, [2, 3]);
        }
        c
    }

    /// Every kind of key (IPv4, IPv6, mixed families, with and without
    /// ports) and transport field, with and without a reply, with what
    /// changed in it (`diff`), reads back from its spooled form as the
    /// same record.
    #[test]
    fn a_finished_record_reads_back_from_its_spooled_form() {
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let v4b: IpAddr = "192.168.7.9".parse().unwrap();
        let v6: IpAddr = "2001:db8::5".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let keys = [
            StateKey::new(v4, v4b, 6, Some((40000, 443))),
            StateKey::new(v6, mapped, 17, Some((53, 1))),
            StateKey::new(v4, v6, 1, Some((8, 0))),
            StateKey::new(v6, v4, 50, None),
        ];
        let l4s = [
            L4::Ports {
                sport: 40000,
                dport: 443,
            },
            L4::Icmp {
                icmp_type: 8,
                code: 3,
            },
            L4::Opaque,
            L4::Fragment,
        ];
        let mut n = 0u64;
        for key in keys {
            for l4 in l4s {
                for reply in [None, Some(side(3, true, 9))] {
                    n += 1;
                    let f = Finished {
                        key,
                        st: FlowState {
                            first_ns: 1_700_000_000_123_456_789 + n,
                            last_ns: u64::MAX - n,
                            bytes: 1 << 40,
                            allowed: n,
                            dropped: 7,
                            l4,
                            first_how: side_byte(&side(
                                u8::try_from(n % 7).unwrap(),
                                n.is_multiple_of(3),
                                2,
                            )) | if n.is_multiple_of(2) { SRC_IS_A } else { 0 },
                            first_rules: side(0, false, 2).rules,
                            reply_how: reply.as_ref().map_or(NO_REPLY, side_byte),
                            reply_rules: reply.map_or([None; 5], |s| s.rules),
                            first_forward: n.is_multiple_of(5),
                            conn: if n.is_multiple_of(7) { NO_CONN } else { 0 },
                            conn_at: Hint::NONE,
                            both: n.is_multiple_of(3),
                            closing: n.is_multiple_of(4),
                            x: change(n, l4s[usize::try_from(n).unwrap() % 4]),
                        },
                        seq: n * 1_000_003,
                    };
                    let mut buf = vec![0xAA; Finished::<Change>::SIZE];
                    f.encode(&mut buf);
                    let g = Finished::<Change>::decode(&buf).unwrap();
                    assert_eq!(g.st.x, f.st.x);
                    assert_eq!(g.key, f.key);
                    assert_eq!(g.seq, f.seq);
                    assert_eq!(
                        (
                            g.st.last_ns,
                            g.st.both,
                            g.st.closing,
                            g.st.first_forward,
                            g.st.conn
                        ),
                        (
                            f.st.last_ns,
                            f.st.both,
                            f.st.closing,
                            f.st.first_forward,
                            f.st.conn
                        )
                    );
                    let k = flow_key(&f.key);
                    assert_eq!(flow_record(&k, &g.st), flow_record(&k, &f.st));
                    assert_eq!(g.order(&f), std::cmp::Ordering::Equal);
                }
            }
        }
        // A bad tag is refused, not misread.
        let mut buf = vec![0; Finished::<()>::SIZE];
        assert!(Finished::<()>::decode(&buf).is_none());
        buf.truncate(10);
        assert!(Finished::<()>::decode(&buf).is_none());
    }
}
