//! The connection-tracking state of a capture replayed up to one packet,
//! for `explain --capture F --packet N`.
//!
//! Records are read in file order, parsed, and judged with connection
//! tracking by replay's own [`Tracker`] (the same per-shard bounded
//! tables for `--max-connections`, expiry from packet timestamps, the same
//! eviction), so packet N is judged in the context `replay` would give it:
//! a first packet, or a reply of a connection some earlier packet opened
//! ([`Tracker::context_of`] says which, changing nothing).
//! Before that, each record goes through the reader's steps
//! (`engine::shape`: `--decap vxlan`, `--node-local`, `--dedup`), so the
//! records replay leaves out are left out here too, keeping their numbers.

use zprsim_control::compile::Compiled;
use zprsim_control::packet::Packet;
use zprsim_control::verdict::Context;

use std::collections::HashMap;

use crate::capture::RecordStream;
use crate::conntrack;
use crate::engine::shape::{self, Look, Shape};
use crate::judge::{Counters, Tracker};
use crate::parse::{Parsed, parse_frame};
use crate::state_table::StateKey;
use crate::unjudged::{self, Unjudged};

/// Why packet N cannot be explained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The capture, the number or the packet: the message says which
    /// (`error: ` included, the file first where it is about the file).
    #[error("{0}")]
    Input(String),
    /// A bug.
    #[error("{0}")]
    Internal(String),
}

/// Packet N of a capture and the context tracking gives it.
pub struct Found {
    /// The packet.
    pub packet: Packet,
    /// First packet, or reply of a tracked connection.
    pub context: Context,
    /// Its timestamp (ns since the epoch).
    pub ts_ns: u64,
    /// For a reply: the record number of the packet that opened the
    /// connection.
    pub opened_by: Option<u64>,
    /// For a first packet whose connection an earlier packet opened but
    /// tracking no longer holds (evicted to stay within
    /// `--max-connections`, the oldest first, or expired and let go):
    /// that packet's record number.
    pub no_longer_tracked: Option<u64>,
    /// A first packet of a connection the capture starts inside: one only
    /// the answering end sends (a TCP packet with ACK set, an ICMP reply,
    /// a UDP datagram from the server's port:
    /// [`crate::engine::rule_stats::answers_first`]) that no live
    /// connection answers, or the packet that opened its live connection
    /// was such a packet. The replay takes it
    /// as an opener, but which end opened the connection is not known.
    pub mid_flow: bool,
    /// A TCP packet whose flags the capture cut off
    /// ([`crate::parse::PacketMeta::tcp_header_cut`]).
    pub tcp_flags_cut: bool,
}

/// Replays `capture` through `compiled` up to record `n` (1-based, every
/// record counted, as Wireshark numbers frames), tracking at most
/// `max_connections` connections as `replay --max-connections` does, and
/// returns record `n`.
/// Each record first goes through `shape`, the reader's steps of `replay`
/// with the same flags: with `--decap vxlan` a VXLAN record is judged by
/// its inner frame; a node-local record or (`--dedup`) a copy is not
/// judged and leaves no tracking state, as in `replay`.
///
/// # Errors
/// `n` is 0 or past the last record, or record `n` is not judged: not an
/// IP packet, node-local, or a copy (the message names the record it
/// copies).
pub fn packet_n<R: std::io::Read>(
    capture: &mut RecordStream<R>,
    file: &str,
    compiled: &Compiled,
    n: u64,
    shape: &mut Shape,
    max_connections: usize,
) -> Result<Found, Failure> {
    if n == 0 {
        return Err(Failure::Input(
            "error: `--packet 0`: packets are numbered from 1".into(),
        ));
    }
    // Replay's own tracker (no memo: verdicts are the same with or
    // without it), and beside it the record number that opened each
    // connection it holds, which explain reports for a reply.
    let mut tracker = Tracker::new(max_connections);
    let mut counters = Counters::default();
    // (and whether that packet was mid-flow: `answers_first`)
    let mut opened: HashMap<StateKey, (u64, usize, bool)> = HashMap::new();
    let mut index: u64 = 0;
    while let Some(rec) = capture.next_record() {
        let rec = rec.map_err(|e| Failure::Input(format!("{file}: error: {e}")))?;
        index += 1;
        let inner = match shape.look(rec.linktype, rec.data, rec.orig_len, rec.ts_ns, index) {
            Look::Judge { inner } => inner,
            Look::NodeLocal { inner } if index == n => {
                let (lt, data) = shape::frame(inner, rec.linktype, rec.data);
                let what = match parse_frame(lt, data) {
                    Parsed::Ip(m) => format!(" ({} -> {})", m.packet.src, m.packet.dst),
                    _ => String::new(),
                };
                return Err(Failure::Input(format!(
                    "{file}: error: packet {n}{what} is to or from a `--node-local` prefix: left out, as `replay` leaves it out, so it is not judged"
                )));
            }
            Look::CopyOf { packet, ts_ns } if index == n => {
                // Capture times may go back within 1 ms: "apart", not
                // "after".
                let apart = match rec.ts_ns.abs_diff(ts_ns) {
                    0..1_000 => "less than 1 µs".to_owned(),
                    ns => format!("{} µs", ns / 1_000),
                };
                return Err(Failure::Input(format!(
                    "{file}: error: packet {n} is a copy of packet {packet}, {apart} apart (the same IP packet, TTL aside, captured on another interface): `--dedup` leaves it out, as `replay --dedup` does, so it is not judged; explain packet {packet}"
                )));
            }
            Look::NodeLocal { .. } | Look::CopyOf { .. } => continue,
        };
        let (linktype, data) = shape::frame(inner, rec.linktype, rec.data);
        let parsed = parse_frame(linktype, data);
        let kind = unjudged::classify_frame(linktype, data, &parsed);
        let meta = match parsed {
            Parsed::Ip(m) if kind.is_none() => m,
            other if index == n => {
                return Err(Failure::Input(format!(
                    "{file}: error: packet {n} {}",
                    not_judged(&other, kind, rec.offset)
                )));
            }
            _ => continue,
        };
        let p = meta.packet;
        let shard = conntrack::shard_of(&p);
        let (ctx, key) = tracker.context_of(&p, shard, rec.ts_ns);
        if index == n {
            let opener = key.and_then(|k| {
                opened
                    .get(&k)
                    .map(|&(at, s, mid)| (at, tracker.holds(&k, s), mid))
            });
            let (opened_by, no_longer_tracked) = match (ctx, opener) {
                (Context::Reply(_), Some((at, ..))) => (Some(at), None),
                (Context::First, Some((at, false, _))) => (None, Some(at)),
                _ => (None, None),
            };
            let mid_flow = ctx == Context::First
                && match opener {
                    Some((_, true, mid)) => mid,
                    _ => crate::engine::rule_stats::answers_first(&p, meta.flags()),
                };
            return Ok(Found {
                packet: p,
                context: ctx,
                ts_ns: rec.ts_ns,
                opened_by,
                no_longer_tracked,
                mid_flow,
                tcp_flags_cut: meta.tcp_header_cut,
            });
        }
        let created = counters.connections;
        tracker.judge(
            compiled,
            &p,
            shard,
            rec.ts_ns,
            meta.tcp_flags,
            &mut counters,
        );
        if counters.connections != created
            && let Some(k) = key
        {
            let mid = crate::engine::rule_stats::answers_first(&p, meta.flags());
            opened.insert(k, (index, shard, mid));
            // Forget the openers of connections the tracker no longer
            // holds (evicted or expired and removed), so this map stays
            // within a constant factor of the tracker's bound.
            if opened.len() > 2 * tracker.len() + 4096 {
                opened.retain(|k, &mut (_, s, _)| tracker.holds(k, s));
            }
        }
    }
    Err(Failure::Input(format!(
        "error: `--packet {n}`: `{file}` has {index} record(s)"
    )))
}

/// Why a packet that is not judged (by `parsed`, of the unjudged `kind`
/// if any, at byte offset `offset` of the capture) cannot be explained:
/// the rest of "packet N ...". The words for each kind are
/// [`crate::unjudged`]'s, as `replay`'s summary's.
fn not_judged(parsed: &Parsed, kind: Option<Unjudged>, offset: u64) -> String {
    const COUNTED: &str = "not judged (counted in `non_ip`, as `replay` counts it)";
    match (parsed, kind) {
        (Parsed::Ip(m), Some(why)) => format!(
            "({} -> {}) is {}: {COUNTED}",
            m.packet.src,
            m.packet.dst,
            why.one()
        ),
        (Parsed::NonIp, Some(_)) => format!(
            "(byte offset {offset}) is {}, so it is {COUNTED}",
            unjudged::LOOPBACK_DEVICE
        ),
        (Parsed::NonIp, None) => format!("(byte offset {offset}) is {}", unjudged::NOT_IP),
        (Parsed::UnsupportedLinkType(t), _) => {
            format!("(byte offset {offset}) is of link type {t}, which zprsim does not decode")
        }
        (Parsed::Malformed { layer, offset: at }, _) => format!(
            "(byte offset {offset}) is malformed: its {layer} header at byte {at} of the frame is cut short or inconsistent"
        ),
        // Judged: not asked.
        (Parsed::Ip(_), None) => String::new(),
    }
}
