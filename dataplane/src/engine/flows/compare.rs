//! Two scenarios compared in one pass (`diff`,
//! [`EngineConfig::compare`](crate::engine::EngineConfig::compare)).
//!
//! The two scenarios' flow records line up one for one: both are cut by
//! the same key, the same idle timeouts (from the packets' directions and
//! flags, never their verdicts) and the same per-shard bounds, in the same
//! order. So what changed in a flow is kept in the second scenario's own
//! record ([`Change`], the record's [`Extra`]), noted by the worker, which
//! has both verdicts of each packet at hand ([`super::Flows::note`]); no
//! second parse and no table of its own. The first scenario's records keep
//! nothing more: they are replay's (the worker's first scenario is always
//! `Extra = ()`). At the end the two scenarios'
//! records are merged in the flow log's order side by side, through the
//! engine's bounded spools, and handed in pairs to a [`PairSink`] with what
//! changed ([`FlowChange`]): nothing per flow outlives its hand-over.

use std::net::IpAddr;

use zprsim_control::packet::{L4, Packet};

use super::codec::{Get, Put};
use super::{FlowRecord, Kept, Merge};
use crate::drop_reason::DropReason;
use crate::engine::EngineError;

/// What a flow record keeps beyond its own scenario's counts: nothing (`()`:
/// replay, the TAP bump, no cost), or what changed between two scenarios
/// ([`Change`]).
pub(crate) trait Extra: Copy + Default + std::fmt::Debug + Send + 'static {
    /// Bytes of its spooled form.
    const SIZE: usize;
    /// Whether the pass compares two scenarios (the worker notes each
    /// packet's two verdicts).
    const COMPARES: bool;
    /// Notes one packet of the record: whether it went from the key's `a`,
    /// its transport fields, and its verdict codes under the first and
    /// second scenarios (0 allowed).
    fn note(&mut self, src_is_a: bool, l4: L4, codes: [u8; 2]);
    /// Writes the spooled form (exactly [`Extra::SIZE`] bytes).
    fn encode(&self, w: &mut Put<'_>);
    /// Reads what [`Extra::encode`] wrote.
    fn decode(r: &mut Get<'_>) -> Option<Self>;
    /// Hands a compared pass's kept records (one [`Kept`] per worker: the
    /// first scenario's, which keep nothing more, and per other scenario)
    /// to `sink` in pairs ([`merge_pairs`]); nothing for a pass that does
    /// not compare.
    ///
    /// # Errors
    /// As [`merge_pairs`].
    fn pairs(
        first: Vec<Kept>,
        others: Vec<Vec<Kept<Self>>>,
        sink: &mut dyn PairSink,
    ) -> Result<(), EngineError>;
}

impl Extra for () {
    const SIZE: usize = 0;
    const COMPARES: bool = false;
    #[inline(always)]
    fn note(&mut self, _: bool, _: L4, _: [u8; 2]) {}
    fn encode(&self, _: &mut Put<'_>) {}
    fn decode(_: &mut Get<'_>) -> Option<Self> {
        Some(())
    }
    fn pairs(
        _: Vec<Kept>,
        _: Vec<Vec<Kept<Self>>>,
        _: &mut dyn PairSink,
    ) -> Result<(), EngineError> {
        Ok(())
    }
}

/// A packet of a record as [`Change`] keeps it: its direction and transport
/// fields (the key gives its addresses and protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    src_is_a: bool,
    l4: L4,
}

/// What changed in one flow record between the two scenarios' verdicts of
/// its packets (kept in the second scenario's record).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Change {
    /// Packets allowed by the first scenario and dropped by the second.
    would_break: u64,
    /// Packets dropped by the first and allowed by the second.
    newly_allowed: u64,
    /// A packet dropped by both, by other stages.
    stage_changed: bool,
    /// The first packet that would break.
    breaking: Option<Seen>,
    /// The first packet newly allowed.
    newly: Option<Seen>,
}

impl Extra for Change {
    /// Two counts, a flag, and two packets (presence, direction, tag and
    /// 4 bytes of transport fields each).
    const SIZE: usize = 8 + 8 + 1 + 2 * 7;
    const COMPARES: bool = true;

    #[inline]
    fn note(&mut self, src_is_a: bool, l4: L4, [b, a]: [u8; 2]) {
        let seen = Seen { src_is_a, l4 };
        if b == 0 && a != 0 {
            self.would_break += 1;
            self.breaking.get_or_insert(seen);
        }
        if b != 0 && a == 0 {
            self.newly_allowed += 1;
            self.newly.get_or_insert(seen);
        }
        if b != 0 && a != 0 && a != b {
            self.stage_changed = true;
        }
    }

    fn encode(&self, w: &mut Put<'_>) {
        w.bytes(&self.would_break.to_le_bytes());
        w.bytes(&self.newly_allowed.to_le_bytes());
        w.bytes(&[u8::from(self.stage_changed)]);
        for s in [self.breaking, self.newly] {
            match s {
                Some(s) => {
                    w.bytes(&[1, u8::from(s.src_is_a)]);
                    w.l4(s.l4);
                }
                None => w.bytes(&[0; 7]),
            }
        }
    }

    fn decode(r: &mut Get<'_>) -> Option<Self> {
        let (would_break, newly_allowed) = (r.u64()?, r.u64()?);
        let stage_changed = r.u8()? == 1;
        let mut seen = [None; 2];
        for s in &mut seen {
            let (present, src_is_a) = (r.u8()?, r.u8()?);
            let l4 = r.l4()?;
            *s = (present == 1).then_some(Seen {
                src_is_a: src_is_a == 1,
                l4,
            });
        }
        Some(Change {
            would_break,
            newly_allowed,
            stage_changed,
            breaking: seen[0],
            newly: seen[1],
        })
    }

    fn pairs(
        first: Vec<Kept>,
        others: Vec<Vec<Kept<Self>>>,
        sink: &mut dyn PairSink,
    ) -> Result<(), EngineError> {
        let mut k = others.into_iter();
        match (k.next(), k.next()) {
            (Some(after), None) => merge_pairs(first, after, sink),
            _ => Err(EngineError::Internal(
                "a compared pass takes exactly two scenarios".into(),
            )),
        }
    }
}

/// What changed in one flow between the two scenarios of a compared pass,
/// as a [`PairSink`] gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowChange {
    /// The flow's first packet.
    pub first: Packet,
    /// The first packet's verdict under each scenario (`None` allowed).
    pub first_verdicts: [Option<DropReason>; 2],
    /// Packets allowed by the first scenario and dropped by the second.
    pub would_break: u64,
    /// Packets dropped by the first scenario and allowed by the second.
    pub newly_allowed: u64,
    /// Some packet was dropped by both, by other stages.
    pub stage_changed: bool,
    /// The first packet that would break, if one does.
    pub breaking: Option<Packet>,
    /// The first packet newly allowed, if one is.
    pub newly: Option<Packet>,
}

/// Sees the flow records of a compared pass
/// ([`EngineConfig::compare`](crate::engine::EngineConfig::compare)) once
/// the pass is over, in the flow log's order, each record of the first
/// scenario with the second's record of the same packets and what changed.
pub trait PairSink: Send {
    /// One flow.
    ///
    /// # Errors
    /// An I/O error ends the pass ([`EngineError::Output`] names the sink).
    fn pair(
        &mut self,
        before: &FlowRecord,
        after: &FlowRecord,
        change: &FlowChange,
    ) -> std::io::Result<()>;

    /// The name messages give the sink.
    fn name(&self) -> String;
}

/// The packet `s` of a record keyed by addresses `(a, b)` and `proto`.
fn packet((a, b): (IpAddr, IpAddr), proto: u8, s: Seen) -> Packet {
    let (src, dst) = if s.src_is_a { (a, b) } else { (b, a) };
    Packet {
        src,
        dst,
        proto,
        l4: s.l4,
    }
}

/// Hands the two scenarios' kept records to `sink` in pairs, in the flow
/// log's order ([`Merge`] of each, side by side).
///
/// # Errors
/// The sink's error, a spool's, or records that do not line up (an
/// internal error: they are cut alike by construction).
pub(crate) fn merge_pairs(
    before: Vec<Kept>,
    after: Vec<Kept<Change>>,
    sink: &mut dyn PairSink,
) -> Result<(), EngineError> {
    let (mut mb, mut ma) = (Merge::new(before)?, Merge::new(after)?);
    loop {
        let (fb, fa) = match (mb.next()?, ma.next()?) {
            (None, None) => return Ok(()),
            (Some(b), Some(a)) => (b, a),
            _ => {
                return Err(EngineError::Internal(
                    "the two scenarios' flow records do not line up: one ran out first".into(),
                ));
            }
        };
        let (rb, ra) = (fb.record(), fa.record());
        if fb.key != fa.key
            || rb.sort_key() != ra.sort_key()
            || rb.packets != ra.packets
            || fb.seq != fa.seq
        {
            return Err(EngineError::Internal(format!(
                "the two scenarios' flow records do not line up at {} -> {}",
                rb.src, rb.dst
            )));
        }
        let addrs = fb.key.addrs();
        let proto = fb.key.proto();
        let first = packet(
            addrs,
            proto,
            Seen {
                src_is_a: fb.st.src_is_a(),
                l4: fb.st.l4,
            },
        );
        let c = fa.st.x;
        let change = FlowChange {
            first,
            first_verdicts: [
                DropReason::of_code(fb.st.code()),
                DropReason::of_code(fa.st.code()),
            ],
            would_break: c.would_break,
            newly_allowed: c.newly_allowed,
            stage_changed: c.stage_changed,
            breaking: c.breaking.map(|s| packet(addrs, proto, s)),
            newly: c.newly.map(|s| packet(addrs, proto, s)),
        };
        sink.pair(&rb, &ra, &change)
            .map_err(|source| EngineError::Output {
                path: sink.name(),
                source,
            })?;
    }
}
