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
use crate::capture::RecordSpan;

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

/// The frame a record is judged by, given where its [`Look`] says the
/// inner frame starts: (link type, bytes) of the inner Ethernet frame, or
/// of the record as captured.
#[must_use]
pub fn frame(inner: Option<usize>, linktype: u32, data: &[u8]) -> (u32, &[u8]) {
    match inner.and_then(|at| data.get(at..)) {
        Some(d) => (crate::parse::linktype::ETHERNET, d),
        None => (linktype, data),
    }
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
        // The record as a span of its own bytes, opened as the reader
        // opens it (`decap::decap`: Ethernet, the bytes from the inner
        // frame on, the original length less the outer headers).
        let whole = RecordSpan {
            ts_ns,
            start: 0,
            len: u32::try_from(data.len()).unwrap_or(u32::MAX),
            orig_len,
            linktype,
        };
        let opened = if self.decap_vxlan {
            decap::decap(&whole, data)
        } else {
            None
        };
        let rec = opened.unwrap_or(whole);
        let (lt, bytes, orig) = (rec.linktype, rec.data(data), rec.orig_len);
        let inner = opened.and_then(|r| usize::try_from(r.start).ok());
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

    /// `frame` inside outer Ethernet, IPv4, UDP to 4789 and VXLAN: what a
    /// VTAP sends.
    fn vxlan(inner: &[u8]) -> Vec<u8> {
        let udp_len = u16::try_from(inner.len() + 16).unwrap_or(0);
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        f.extend_from_slice(&(udp_len + 20).to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 200, 5, 10, 0, 200, 9]);
        f.extend_from_slice(&[0xd4, 0x31, 0x12, 0xb5]);
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0x08, 0, 0, 0, 0, 0, 42, 0]);
        f.extend_from_slice(inner);
        f
    }

    fn vxlan_frame_start(data: &[u8]) -> Option<usize> {
        decap::vxlan_inner(linktype::ETHERNET, data)
    }

    /// Records the engine judged: (time, bytes).
    #[derive(Default)]
    struct Seen(Vec<(u64, Vec<u8>)>);

    impl crate::engine::VerdictSink for Seen {
        fn judged(&mut self, r: &crate::engine::Judged<'_>) -> std::io::Result<()> {
            self.0.push((r.ts_ns, r.data.to_vec()));
            Ok(())
        }

        fn name(&self) -> String {
            "seen".into()
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// On random streams of IP records (repeats with a lower TTL
        /// microseconds or milliseconds later, node-local addresses, VXLAN
        /// frames), the records [`Shape`] judges are exactly the records
        /// the engine's reader judges with the same flags, in order, for
        /// 1 and 2 workers: explain and replay leave out the same records.
        #[test]
        fn shape_leaves_out_what_the_reader_leaves_out(
            picks in proptest::collection::vec((0usize..6, 0u8..4, 0u64..3_000_000, proptest::prelude::any::<bool>()), 1..120),
            dedup in proptest::prelude::any::<bool>(),
            decap in proptest::prelude::any::<bool>(),
            local in proptest::prelude::any::<bool>(),
        ) {
            let dsts = [[10, 0, 0, 2], [10, 0, 0, 3], [10, 96, 0, 10], [10, 0, 1, 7], [10, 96, 3, 1], [192, 0, 2, 1]];
            let mut frames = Vec::new();
            let mut ts = 1_000_000_000u64;
            for (d, ttl_down, gap, wrap) in picks {
                // Gaps: under 1 ms (a copy's), around it, well past it.
                ts += gap % 1_500_000;
                let f = frame(dsts[d], 64 - ttl_down);
                let data = if wrap { vxlan(&f) } else { f };
                let orig_len = u32::try_from(data.len()).unwrap_or(0);
                frames.push(crate::engine::Frame { ts_ns: ts, linktype: linktype::ETHERNET, orig_len, data });
            }
            let nets: Vec<IpNet> = if local {
                vec!["10.96.0.0/16".parse().unwrap_or_else(|_| unreachable!())]
            } else {
                Vec::new()
            };
            let mut shape = Shape::new(decap, &nets, dedup);
            let mut want = Vec::new();
            // Records left out as node-local, as copies; records opened.
            let mut counts = (0u64, 0u64, 0u64);
            for (i, f) in frames.iter().enumerate() {
                let look = shape.look(f.linktype, &f.data, f.orig_len, f.ts_ns, i as u64 + 1);
                let inner = match look {
                    Look::Judge { inner } => {
                        want.push((f.ts_ns, f.data[inner.unwrap_or(0)..].to_vec()));
                        inner
                    }
                    Look::NodeLocal { inner } => {
                        counts.0 += 1;
                        inner
                    }
                    Look::CopyOf { .. } => {
                        counts.1 += 1;
                        // A copy was opened before it was found one.
                        decap.then(|| vxlan_frame_start(&f.data)).flatten()
                    }
                };
                counts.2 += u64::from(inner.is_some());
            }
            let c = std::sync::Arc::new(
                zprsim_control::compile::Compiled::new(
                    &zprsim_control::model::Scenario::default(),
                    &zprsim_control::compile::Config::default(),
                )
                .unwrap_or_else(|_| unreachable!()),
            );
            for workers in [1, 2] {
                let cfg = crate::engine::EngineConfig {
                    workers,
                    dedup,
                    decap_vxlan: decap,
                    node_local: nets.clone(),
                    ..crate::engine::EngineConfig::default()
                };
                let mut seen = Seen::default();
                let mut src = crate::engine::MemorySource::new(frames.clone());
                let sinks = crate::engine::Sinks { verdicts: Some(&mut seen), ..crate::engine::Sinks::default() };
                let o = crate::engine::run(&[std::sync::Arc::clone(&c)], &mut src, &cfg, sinks);
                let Ok(o) = o else {
                    return Err(proptest::test_runner::TestCaseError::fail("the engine failed"));
                };
                proptest::prop_assert_eq!(&seen.0, &want, "{} worker(s)", workers);
                let k = &o.scenarios[0].counters;
                proptest::prop_assert_eq!((k.node_local, k.copies, k.decapsulated), counts);
            }
        }
    }
}
