//! Flows of a flow-log `diff`, built one at a time from the compared
//! records' parts sorted by tuple ([`Part`]): counted by class, the
//! changed ones kept as fixed-size records ([`Changed`]) and read back as
//! `--flows` lines ([`ChangedFlow`]).

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::Serialize;
use zprsim_control::model::Scenario;
use zprsim_control::verdict::{Stage, Verdict};

use super::sort::{Changed, INLINE_VNICS, Part, side_of};
use crate::community_id::community_id;
use crate::diff::{Class, FlowCounts, SideFlow};
use crate::flowlog::judge::record_packet;
use crate::flowlog::record::{Action, LogRecord};
use crate::flowlog::sort::Sorted;

/// One flow being built from its parts ([`Part`], in tuple order).
pub(super) struct Flow {
    /// Its first part: the first record (window start, then BEFORE's
    /// judging order: the opener of a connection in one window).
    pub(super) first: Part,
    pub(super) records: u64,
    packets: u64,
    bytes: u64,
    /// The VNICs that logged it (BEFORE's indices).
    vnics: BTreeSet<u32>,
    would_break: u64,
    newly_allowed: u64,
    changed: bool,
    /// Per side: verdict and stage of its first dropped record (allow when
    /// none), allowed and dropped packets.
    sides: [(u8, u64, u64); 2],
}

impl Flow {
    /// A flow of its first part.
    pub(super) fn of(p: &Part) -> Flow {
        let mut f = Flow {
            first: *p,
            records: 0,
            packets: 0,
            bytes: 0,
            vnics: BTreeSet::new(),
            would_break: 0,
            newly_allowed: 0,
            changed: false,
            sides: [(0, 0, 0); 2],
        };
        f.add(p);
        f
    }

    /// Adds a part of the same tuple.
    pub(super) fn add(&mut self, p: &Part) {
        self.records += 1;
        self.packets = self.packets.saturating_add(p.packets);
        self.bytes = self.bytes.saturating_add(p.bytes);
        self.vnics.insert(p.vnic);
        let (bok, aok) = (p.sides[0] == 0, p.sides[1] == 0);
        if bok && !aok {
            self.would_break = self.would_break.saturating_add(p.packets);
        }
        if !bok && aok {
            self.newly_allowed = self.newly_allowed.saturating_add(p.packets);
        }
        self.changed |= p.reason_changed;
        for (s, &code) in self.sides.iter_mut().zip(&p.sides) {
            // A flow's verdict on a side: drop (at the stage of its first
            // dropped record, by window start, then judging order) when any
            // record is dropped.
            if code != 0 && s.0 == 0 {
                s.0 = code;
            }
            if code == 0 {
                s.1 = s.1.saturating_add(p.packets);
            } else {
                s.2 = s.2.saturating_add(p.packets);
            }
        }
    }

    /// Counts the flow in its class; its record for `--flows` when it
    /// changed (VNICs past [`INLINE_VNICS`] go to `overflow`).
    pub(super) fn changed_record(
        self,
        counts: &mut FlowCounts,
        overflow: &mut Vec<Vec<u32>>,
    ) -> Option<Changed> {
        let class = if self.would_break > 0 {
            counts.would_break += 1;
            0
        } else if self.newly_allowed > 0 {
            counts.newly_allowed += 1;
            1
        } else if self.changed {
            counts.reason_changed += 1;
            2
        } else {
            counts.unchanged += 1;
            return None;
        };
        let mut vnics = [0u32; INLINE_VNICS];
        let nvnics = if self.vnics.len() <= INLINE_VNICS {
            for (slot, v) in vnics.iter_mut().zip(&self.vnics) {
                *slot = *v;
            }
            u8::try_from(self.vnics.len()).unwrap_or(u8::MAX)
        } else {
            vnics[0] = u32::try_from(overflow.len()).unwrap_or(u32::MAX);
            overflow.push(self.vnics.into_iter().collect());
            u8::MAX
        };
        let p = &self.first;
        Some(Changed {
            start: p.start,
            src: p.src,
            dst: p.dst,
            proto: p.proto,
            sport: p.sport,
            dport: p.dport,
            packets: self.packets,
            bytes: self.bytes,
            records: self.records,
            sides: self.sides,
            class,
            nvnics,
            vnics,
        })
    }
}

/// One changed flow, as `diff --flows` writes it: the fields of a capture
/// diff's line (the replay flow fields, with `verdict`, `stage` and the
/// packet counts of the before side, as there), then the flow log's own.
#[derive(Debug, Serialize)]
pub struct ChangedFlow {
    /// The first record's source address.
    pub src: IpAddr,
    /// Its destination address.
    pub dst: IpAddr,
    /// Protocol number.
    pub proto: u8,
    /// Source port (protocols with ports).
    pub sport: Option<u16>,
    /// Destination port.
    pub dport: Option<u16>,
    /// ICMP type (ICMP).
    pub icmp_type: Option<u8>,
    /// ICMP code.
    pub icmp_code: Option<u8>,
    /// Seconds since the epoch, as in every other flow line (the first
    /// record's window start).
    pub first_ts: f64,
    /// Packets of the flow's records.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// BEFORE's allowed packets.
    pub allowed_packets: u64,
    /// BEFORE's dropped packets.
    pub dropped_packets: u64,
    /// BEFORE's verdict.
    pub verdict: Verdict,
    /// BEFORE's stage.
    pub stage: Option<Stage>,
    /// The Community ID of the first record's tuple.
    pub community_id: String,
    /// Records of the flow.
    pub records: u64,
    /// The VNICs that logged it (their `id`s).
    pub vnics: Vec<String>,
    /// Its class.
    pub class: Class,
    /// BEFORE's view.
    pub before: SideFlow,
    /// AFTER's view.
    pub after: SideFlow,
}

/// The changed flows in `--flows` order, read back from their sort.
pub struct ChangedFlows<'s> {
    /// BEFORE: its VNICs name the flows' VNICs.
    pub(super) before: &'s Scenario,
    pub(super) sorted: Sorted<Changed>,
    /// VNIC lists of flows logged at more than [`INLINE_VNICS`].
    pub(super) overflow: Vec<Vec<u32>>,
}

impl ChangedFlows<'_> {
    /// The next changed flow (`None` after the last).
    ///
    /// # Errors
    /// The temporary file could not be read.
    pub fn next_flow(&mut self) -> Result<Option<ChangedFlow>, String> {
        Ok(self
            .sorted
            .next_record()?
            .map(|c| changed_flow(self.before, &c, &self.overflow)))
    }
}

/// A changed flow as `--flows` writes it, from its sorted record.
fn changed_flow(s: &Scenario, c: &Changed, overflow: &[Vec<u32>]) -> ChangedFlow {
    let r = LogRecord {
        file: 0,
        line: 0,
        vnic: std::sync::Arc::from(""),
        action: Action::Accept,
        src: c.src,
        dst: c.dst,
        proto: c.proto,
        sport: c.sport,
        dport: c.dport,
        packets: c.packets,
        bytes: c.bytes,
        start: c.start,
        end: c.start,
    };
    let p = record_packet(&r, false);
    let (sport, dport, icmp_type, icmp_code) = p.l4.fields();
    let side = |n: usize| {
        let (code, allowed, dropped) = c.sides[n];
        let (verdict, stage) = side_of(code);
        SideFlow {
            verdict,
            stage,
            allowed_packets: allowed,
            dropped_packets: dropped,
        }
    };
    let indices: &[u32] = if c.nvnics == u8::MAX {
        overflow
            .get(c.vnics[0] as usize)
            .map_or(&[][..], Vec::as_slice)
    } else {
        c.vnics.get(..usize::from(c.nvnics)).unwrap_or_default()
    };
    let vnics: BTreeSet<String> = indices
        .iter()
        .filter_map(|&i| s.vnics.get(i as usize)?.id.clone())
        .collect();
    let (before, after) = (side(0), side(1));
    ChangedFlow {
        src: c.src,
        dst: c.dst,
        proto: c.proto,
        sport,
        dport,
        icmp_type,
        icmp_code,
        #[allow(clippy::cast_precision_loss)] // epoch seconds: exact below 2^53
        first_ts: c.start as f64,
        packets: c.packets,
        bytes: c.bytes,
        allowed_packets: before.allowed_packets,
        dropped_packets: before.dropped_packets,
        verdict: before.verdict,
        stage: before.stage,
        community_id: community_id(&p),
        records: c.records,
        vnics: vnics.into_iter().collect(),
        class: match c.class {
            0 => Class::WouldBreak,
            1 => Class::NewlyAllowed,
            _ => Class::ReasonChanged,
        },
        before,
        after,
    }
}
