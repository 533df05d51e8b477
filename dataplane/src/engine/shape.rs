//! What the reader does to one record under `--decap vxlan`,
//! `--node-local` and `--dedup`, one record at a time, saying why: for
//! `explain --capture F --packet N`, which must judge packet N exactly as
//! `replay` with the same flags would, and say which earlier packet a copy
//! copies.
//!
//! The steps and their order are the reader's ([`super::Reader`]'s
//! `watch`): the VXLAN record opened first, then the node-local prefixes
//! on what is left, then the copies on what is still left (a node-local
//! record is not remembered as a packet a later one may copy). Both use
//! the same pieces ([`decap::vxlan_inner`], [`NodeLocal`], [`Copies`]);
//! `tests/capture_shapes.rs` checks explain against replay on the demo
//! capture with copies, ClusterIP twins and VTAP frames.

use ipnet::IpNet;

use super::copies::Copies;
use super::decap;
use super::node_local::NodeLocal;

/// What becomes of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// Judged: as captured (`inner: None`), or by the frame inside its
    /// VXLAN header, an Ethernet frame starting at byte `inner` of the
    /// record.
    Judge {
        /// Where the inner Ethernet frame starts (`--decap vxlan`).
        inner: Option<usize>,
    },
    /// Left out: an address in a `--node-local` prefix (of the inner
    /// frame starting at byte `inner`, when it was VXLAN).
    NodeLocal {
        /// Where the inner Ethernet frame starts (`--decap vxlan`).
        inner: Option<usize>,
    },
    /// Left out by `--dedup`: the same IP packet as record `packet` (its
    /// number, as given to [`Shape::look`]), read `ts_ns` (capture time)
    /// before it at most 1 ms earlier.
    CopyOf {
        /// The number of the record it copies.
        packet: u64,
        /// That record's capture time (ns since the epoch).
        ts_ns: u64,
    },
}

/// The reader's steps for one capture read in order.
#[derive(Debug)]
pub struct Shape {
    decap_vxlan: bool,
    node_local: NodeLocal,
    /// `--dedup`: the packets of the last millisecond, tagged with their
    /// record number and time.
    copies: Option<Copies<(u64, u64)>>,
}

impl Shape {
    /// The steps of `replay --decap vxlan` (when `decap_vxlan`),
    /// `--node-local` (each of `node_local`) and `--dedup` (when `dedup`).
    #[must_use]
    pub fn new(decap_vxlan: bool, node_local: &[IpNet], dedup: bool) -> Shape {
        Shape {
            decap_vxlan,
            node_local: NodeLocal::new(node_local),
            copies: dedup.then(Copies::new),
        }
    }

    /// What becomes of the next record of the capture: numbered `number`
    /// (any numbering; a copy reports the number of the record it
    /// copies), of this link type, captured bytes, original length and
    /// capture time. Records must be given in the order read.
    pub fn look(
        &mut self,
        linktype: u32,
        data: &[u8],
        orig_len: u32,
        ts_ns: u64,
        number: u64,
    ) -> Look {
        let inner = if self.decap_vxlan {
            decap::vxlan_inner(linktype, data)
        } else {
            None
        };
        // As `decap::decap` makes the inner record: Ethernet, the bytes
        // from the inner frame on, the original length less the outer
        // headers.
        let (lt, bytes, orig) = match inner.and_then(|at| Some((at, data.get(at..)?))) {
            Some((at, d)) => (
                crate::parse::linktype::ETHERNET,
                d,
                orig_len.saturating_sub(u32::try_from(at).unwrap_or(u32::MAX)),
            ),
            None => (linktype, data, orig_len),
        };
        if self.node_local.holds(lt, bytes) {
            return Look::NodeLocal { inner };
        }
        if let Some(c) = &mut self.copies
            && let Some((packet, ts)) = c.copy_of(lt, bytes, orig, ts_ns, (number, ts_ns))
        {
            return Look::CopyOf { packet, ts_ns: ts };
        }
        Look::Judge { inner }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::linktype;

    /// An Ethernet IPv4 TCP frame from 10.0.0.1 to `dst` with this TTL.
    fn frame(dst: [u8; 4], ttl: u8) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 9, 0x40, 0, ttl, 6, 0, ttl, 10, 0, 0, 1]);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&[
            0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        f
    }

    #[test]
    fn a_copy_names_the_record_it_copies_and_a_node_local_record_is_not_remembered() {
        let e = linktype::ETHERNET;
        let nets = ["10.96.0.0/16".parse().unwrap_or_else(|_| unreachable!())];
        let mut s = Shape::new(false, &nets, true);
        let a = frame([10, 0, 0, 2], 64);
        assert_eq!(s.look(e, &a, 54, 1_000, 1), Look::Judge { inner: None });
        assert_eq!(
            s.look(e, &frame([10, 0, 0, 2], 63), 54, 9_000, 2),
            Look::CopyOf {
                packet: 1,
                ts_ns: 1_000
            }
        );
        // A copy of a copy still names the first.
        assert_eq!(
            s.look(e, &frame([10, 0, 0, 2], 62), 54, 12_000, 3),
            Look::CopyOf {
                packet: 1,
                ts_ns: 1_000
            }
        );
        // Node-local: left out, and not remembered, so the same bytes
        // again are node-local, not a copy.
        let local = frame([10, 96, 0, 10], 64);
        assert_eq!(
            s.look(e, &local, 54, 20_000, 4),
            Look::NodeLocal { inner: None }
        );
        assert_eq!(
            s.look(e, &local, 54, 21_000, 5),
            Look::NodeLocal { inner: None }
        );
        // Without --dedup nothing is a copy.
        let mut plain = Shape::new(false, &[], false);
        assert_eq!(plain.look(e, &a, 54, 1_000, 1), Look::Judge { inner: None });
        assert_eq!(plain.look(e, &a, 54, 1_001, 2), Look::Judge { inner: None });
    }
}
