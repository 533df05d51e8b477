//! Flows of a flow-log `diff`, built one at a time from the compared
//! records' parts sorted by tuple ([`Part`]): counted by class, the
//! changed ones kept as fixed-size records ([`Changed`]) and read back as
//! `--flows` lines ([`ChangedFlow`]).

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::Serialize;
use zprsim_control::model::Scenario;
use zprsim_control::verdict::{Stage, Verdict};

use super::report::RejectedByOci;
use super::sort::{AFTER_VNIC, Changed, INLINE_VNICS, ONLY_AFTER, ONLY_BEFORE, Part, side_of};
use crate::community_id::community_id;
use crate::diff::{Class, FlowCounts, PacketCounts, SideFlow};
use crate::flowlog::judge::record_packet;
use crate::flowlog::record::{Action, LogRecord};
use crate::flowlog::sort::Sorted;

/// One VNIC's records of one direction of a flow: a flow logged at both
/// ends has each direction's packets in two views, counted once.
#[derive(Debug, Clone, Copy, Default)]
struct View {
    vnic: u32,
    /// The direction of the flow's first record.
    forward: bool,
    packets: u64,
    bytes: u64,
    /// Packets of records OCI logged `REJECT`.
    rejected: u64,
    /// Packets allowed before and dropped after, of records OCI logged
    /// `ACCEPT` (a rejected record's packets were dropped today).
    would_break: u64,
    newly_allowed: u64,
    /// Per side: allowed and dropped packets.
    sides: [(u64, u64); 2],
    /// Which scenarios place its records.
    placed: Placed,
}

/// Which scenarios place a record: both, or one alone (a VNIC the
/// change removes, or adds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Placed {
    #[default]
    Both,
    /// BEFORE alone: a VNIC the change removes (since the thirtieth
    /// session).
    Before,
    /// AFTER alone: a VNIC the change adds (since the twenty-ninth).
    After,
}

impl Placed {
    fn of(p: &Part) -> Placed {
        if p.sides[0] == ONLY_AFTER {
            Placed::After
        } else if p.sides[1] == ONLY_BEFORE {
            Placed::Before
        } else {
            Placed::Both
        }
    }
}

/// Adds `packets` to a side's allowed or dropped ones by its code
/// ([`super::sort::side_code`]); `first` takes the code of the first
/// dropped one.
fn count_side(first: &mut u8, s: &mut (u64, u64), code: u8, packets: u64) {
    if code != 0 && *first == 0 {
        *first = code;
    }
    if code == 0 {
        s.0 = s.0.saturating_add(packets);
    } else {
        s.1 = s.1.saturating_add(packets);
    }
}

/// One flow being built from its parts ([`Part`], in tuple order).
pub(super) struct Flow {
    /// Its first part: the first record (window start, then BEFORE's
    /// judging order: the opener of a connection in one window).
    pub(super) first: Part,
    pub(super) records: u64,
    /// The VNICs that logged it (BEFORE's indices).
    vnics: BTreeSet<u32>,
    /// Each VNIC's view of each direction (one or two VNICs, mostly).
    views: Vec<View>,
    changed: bool,
    /// OCI logged a record of it `REJECT`.
    rejected: bool,
    /// Per side: verdict and stage of its first dropped record (allow
    /// when none).
    codes: [u8; 2],
    /// Whether some record of it is placed by both scenarios, by BEFORE
    /// alone, by AFTER alone ([`Placed`] as an index). A record both
    /// place makes its class theirs, the records one alone places left
    /// out of its counts; else a record AFTER alone places makes it a new
    /// path (since the twenty-ninth session): AFTER's alone; else it is a
    /// gone path (since the thirtieth): BEFORE's alone.
    placed: [bool; 3],
    /// BEFORE's verdict and stage of its first dropped record BEFORE
    /// alone places (a gone path's BEFORE code), and AFTER's of its first
    /// AFTER alone places (a new path's AFTER code).
    one_side_codes: [u8; 2],
}

/// What a flow adds to the report's counts: its class, its packets (each
/// direction counted at one VNIC), and whether OCI rejected some of it.
pub(super) struct Tally<'a> {
    pub(super) flows: &'a mut FlowCounts,
    pub(super) packets: &'a mut PacketCounts,
    pub(super) rejected: &'a mut RejectedByOci,
    pub(super) new_path: &'a mut NewPaths,
    pub(super) gone_path: &'a mut GonePaths,
}

/// Flows whose records only AFTER places, at VNICs the change adds (the
/// report's `new_path`; since the twenty-ninth session): judged by AFTER
/// alone, each direction counted at one VNIC. A flow some record of which
/// BEFORE alone places too (a VNIC replaced by another) is one of these:
/// it still has a path after.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct NewPaths {
    /// Flows.
    pub flows: u64,
    /// Of those, flows AFTER drops some packets of.
    pub dropped_flows: u64,
    /// Their packets.
    pub packets: u64,
    /// Of those, the packets AFTER drops.
    pub dropped_packets: u64,
}

impl NewPaths {
    /// No new path.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.flows == 0
    }
}

/// Flows whose records only BEFORE places, at VNICs the change removes
/// (the report's `gone_path`; since the thirtieth session): judged by
/// BEFORE alone, each direction counted at one VNIC. AFTER has no VNIC
/// for them: what BEFORE allows of them is traffic the change ends.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct GonePaths {
    /// Flows.
    pub flows: u64,
    /// Of those, flows BEFORE allows some packets of.
    pub allowed_flows: u64,
    /// Their packets.
    pub packets: u64,
    /// Of those, the packets BEFORE allows.
    pub allowed_packets: u64,
}

impl GonePaths {
    /// No gone path.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.flows == 0
    }
}

impl Flow {
    /// A flow of its first part.
    pub(super) fn of(p: &Part) -> Flow {
        let mut f = Flow {
            first: *p,
            records: 0,
            vnics: BTreeSet::new(),
            views: Vec::new(),
            changed: false,
            rejected: false,
            codes: [0; 2],
            placed: [false; 3],
            one_side_codes: [0; 2],
        };
        f.add(p);
        f
    }

    /// Adds a part of the same tuple.
    pub(super) fn add(&mut self, p: &Part) {
        self.records += 1;
        self.vnics.insert(p.vnic);
        self.changed |= p.reason_changed;
        let placed = Placed::of(p);
        if let Some(x) = self.placed.get_mut(placed as usize) {
            *x = true;
        }
        self.rejected |= p.rejected && placed == Placed::Both;
        let f = &self.first;
        let forward = p.src == f.src && p.dst == f.dst && p.sport == f.sport;
        let at = match self
            .views
            .iter()
            .position(|v| v.vnic == p.vnic && v.forward == forward && v.placed == placed)
        {
            Some(i) => i,
            None => {
                self.views.push(View {
                    vnic: p.vnic,
                    forward,
                    placed,
                    ..View::default()
                });
                self.views.len() - 1
            }
        };
        let Some(v) = self.views.get_mut(at) else {
            return;
        };
        v.packets = v.packets.saturating_add(p.packets);
        v.bytes = v.bytes.saturating_add(p.bytes);
        if placed != Placed::Both {
            // One side's verdict alone: nothing to break or newly allow.
            let side = usize::from(placed == Placed::After);
            if let (Some(first), Some(s), Some(&c)) = (
                self.one_side_codes.get_mut(side),
                v.sides.get_mut(side),
                p.sides.get(side),
            ) {
                count_side(first, s, c, p.packets);
            }
            return;
        }
        let (bok, aok) = (p.sides[0] == 0, p.sides[1] == 0);
        if p.rejected {
            v.rejected = v.rejected.saturating_add(p.packets);
        } else if bok && !aok {
            v.would_break = v.would_break.saturating_add(p.packets);
        }
        if !bok && aok {
            v.newly_allowed = v.newly_allowed.saturating_add(p.packets);
        }
        for ((code, s), &c) in self.codes.iter_mut().zip(&mut v.sides).zip(&p.sides) {
            // A flow's verdict on a side: drop (at the stage of its first
            // dropped record, by window start, then judging order) when any
            // record is dropped.
            count_side(code, s, c, p.packets);
        }
    }

    /// Each direction's packets as one VNIC saw them, summed over the
    /// directions: the view with the most packets that would break (views
    /// that disagree never hide a break: a connection logged at one end
    /// only, hours from another logged at the other end, is in one view
    /// alone), then the most packets, then the most OCI rejected (a
    /// window logged `ACCEPT` at the source and `REJECT` at the
    /// destination was dropped today), then the first.
    fn counted(&self) -> View {
        let mut sum = View::default();
        let kind = self.kind();
        for forward in [true, false] {
            let mut best: Option<&View> = None;
            // A flow both scenarios place counts their views; a new path,
            // AFTER's alone; a gone path, BEFORE's alone.
            for v in self
                .views
                .iter()
                .filter(|v| v.forward == forward && v.placed == kind)
            {
                if best.is_none_or(|b| {
                    (v.would_break, v.packets, v.rejected) > (b.would_break, b.packets, b.rejected)
                }) {
                    best = Some(v);
                }
            }
            let Some(v) = best else { continue };
            sum.packets = sum.packets.saturating_add(v.packets);
            sum.bytes = sum.bytes.saturating_add(v.bytes);
            sum.rejected = sum.rejected.saturating_add(v.rejected);
            sum.would_break = sum.would_break.saturating_add(v.would_break);
            sum.newly_allowed = sum.newly_allowed.saturating_add(v.newly_allowed);
            for (s, x) in sum.sides.iter_mut().zip(v.sides) {
                s.0 = s.0.saturating_add(x.0);
                s.1 = s.1.saturating_add(x.1);
            }
        }
        sum
    }

    /// Which of its records count ([`Flow::placed`]): those both
    /// scenarios place when there are any, else those AFTER alone places
    /// (a new path), else BEFORE's (a gone path).
    fn kind(&self) -> Placed {
        match self.placed {
            [true, ..] => Placed::Both,
            [_, _, true] => Placed::After,
            _ => Placed::Before,
        }
    }

    /// Counts the flow in its class and its packets; its record for
    /// `--flows` when it changed (VNICs past [`INLINE_VNICS`] go to
    /// `overflow`). The packets of a record OCI rejected were dropped
    /// today: never "would break" (the flow is counted in `rejected`). A
    /// flow is its tuple over the whole log, connections hours apart among
    /// it: one rejected does not make another's accepted packets dropped
    /// today.
    pub(super) fn changed_record(
        self,
        t: &mut Tally<'_>,
        overflow: &mut Vec<Vec<u32>>,
    ) -> Option<Changed> {
        let n = self.counted();
        let kind = self.kind();
        t.packets.total = t.packets.total.saturating_add(n.packets);
        match kind {
            Placed::Both => {}
            Placed::After => {
                let np = &mut *t.new_path;
                np.flows += 1;
                np.packets = np.packets.saturating_add(n.packets);
                np.dropped_packets = np.dropped_packets.saturating_add(n.sides[1].1);
                np.dropped_flows += u64::from(self.one_side_codes[1] != 0);
            }
            Placed::Before => {
                let gp = &mut *t.gone_path;
                gp.flows += 1;
                gp.packets = gp.packets.saturating_add(n.packets);
                gp.allowed_packets = gp.allowed_packets.saturating_add(n.sides[0].0);
                gp.allowed_flows += u64::from(n.sides[0].0 > 0);
            }
        }
        if self.rejected {
            t.rejected.flows += 1;
            t.rejected.packets = t.rejected.packets.saturating_add(n.rejected);
        }
        t.packets.would_break = t.packets.would_break.saturating_add(n.would_break);
        t.packets.newly_allowed = t.packets.newly_allowed.saturating_add(n.newly_allowed);
        let counts = &mut *t.flows;
        let class = if kind == Placed::After {
            Class::NewPath
        } else if kind == Placed::Before {
            Class::GonePath
        } else if n.would_break > 0 {
            counts.would_break += 1;
            Class::WouldBreak
        } else if n.newly_allowed > 0 {
            counts.newly_allowed += 1;
            Class::NewlyAllowed
        } else if self.changed {
            counts.reason_changed += 1;
            Class::ReasonChanged
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
        let codes = match kind {
            Placed::Both => self.codes,
            Placed::After => [ONLY_AFTER, self.one_side_codes[1]],
            Placed::Before => [self.one_side_codes[0], ONLY_BEFORE],
        };
        let side = |i: usize| (codes[i], n.sides[i].0, n.sides[i].1);
        Some(Changed {
            start: p.start,
            src: p.src,
            dst: p.dst,
            proto: p.proto,
            sport: p.sport,
            dport: p.dport,
            packets: n.packets,
            bytes: n.bytes,
            records: self.records,
            sides: [side(0), side(1)],
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
    /// Packets of the flow's records, each direction counted at one VNIC
    /// (a flow logged at both ends is not counted twice).
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// BEFORE's allowed packets (a new path's: AFTER's).
    pub allowed_packets: u64,
    /// BEFORE's dropped packets (a new path's: AFTER's).
    pub dropped_packets: u64,
    /// BEFORE's verdict (a new path's: AFTER's).
    pub verdict: Verdict,
    /// BEFORE's stage (a new path's: AFTER's).
    pub stage: Option<Stage>,
    /// The Community ID of the first record's tuple.
    pub community_id: String,
    /// Records of the flow.
    pub records: u64,
    /// The VNICs that logged it (their `id`s).
    pub vnics: Vec<String>,
    /// Its class.
    pub class: Class,
    /// BEFORE's view; `null` for a new path (only AFTER places its
    /// records).
    pub before: Option<SideFlow>,
    /// AFTER's view; `null` for a gone path (only BEFORE places its
    /// records: a VNIC the change removes).
    pub after: Option<SideFlow>,
}

/// The changed flows in `--flows` order, read back from their sort.
pub struct ChangedFlows<'s> {
    /// BEFORE: its VNICs name the flows' VNICs.
    pub(super) before: &'s Scenario,
    /// AFTER: its VNICs name those only it has ([`AFTER_VNIC`]).
    pub(super) after: &'s Scenario,
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
            .map(|c| changed_flow([self.before, self.after], &c, &self.overflow)))
    }
}

/// A changed flow as `--flows` writes it, from its sorted record.
fn changed_flow(s: [&Scenario; 2], c: &Changed, overflow: &[Vec<u32>]) -> ChangedFlow {
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
        .filter_map(|&i| {
            let (side, i) = if i & AFTER_VNIC == 0 {
                (s[0], i)
            } else {
                (s[1], i & !AFTER_VNIC)
            };
            side.vnics.get(i as usize)?.id.clone()
        })
        .collect();
    // A new path has no before: its line's own verdict and packets are
    // AFTER's. A gone path has no after.
    let (new_path, gone_path) = (c.class == Class::NewPath, c.class == Class::GonePath);
    let (before, after) = (side(0), side(1));
    let own = if new_path { &after } else { &before };
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
        allowed_packets: own.allowed_packets,
        dropped_packets: own.dropped_packets,
        verdict: own.verdict,
        stage: own.stage,
        community_id: community_id(&p),
        records: c.records,
        vnics: vnics.into_iter().collect(),
        class: c.class,
        before: (!new_path).then_some(before),
        after: (!gone_path).then_some(after),
    }
}
