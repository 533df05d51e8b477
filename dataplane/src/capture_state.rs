//! The connection-tracking state of a capture replayed up to one packet,
//! for `explain --capture F --packet N`.
//!
//! Records are read in file order, parsed, and judged with connection
//! tracking exactly as `replay` does (the dataplane's `conntrack` pieces:
//! per-shard bounded tables of the default `--max-connections`, expiry
//! from packet timestamps, the same eviction), so packet N is judged in
//! the context `replay` would give it: a first packet, or a reply of a
//! connection some earlier packet opened. The loop mirrors
//! `judge::Tracker::judge`, which does not say which context it used.
//! Before that, each record goes through the reader's steps
//! (`engine::shape`: `--decap vxlan`, `--node-local`, `--dedup`), so the
//! records replay leaves out are left out here too, keeping their numbers.

use zprsim_control::compile::Compiled;
use zprsim_control::packet::Packet;
use zprsim_control::verdict::{Context, Verdict};

use crate::capture::RecordStream;
use crate::conntrack::{self, Bounded, Conn, ConnKey, SHARDS};
use crate::engine::shape::{self, Look, Shape};
use crate::parse::{Parsed, parse_frame};

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

/// Connections tracked at most, over all shards: `replay`'s default.
const MAX_CONNECTIONS: usize = crate::engine::DEFAULT_MAX_CONNECTIONS;

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
}

struct Entry {
    conn: Conn,
    opened_by: u64,
}

/// Replays `capture` through `compiled` up to record `n` (1-based, every
/// record counted, as Wireshark numbers frames) and returns record `n`.
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
) -> Result<Found, Failure> {
    if n == 0 {
        return Err(Failure::Input(
            "error: `--packet 0`: packets are numbered from 1".into(),
        ));
    }
    let cap = (MAX_CONNECTIONS / SHARDS).max(1);
    let mut shards: Vec<Option<Bounded<ConnKey, Entry>>> = (0..SHARDS).map(|_| None).collect();
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
        let meta = match parse_frame(linktype, data) {
            Parsed::Ip(m) => m,
            other if index == n => {
                let what = match other {
                    Parsed::NonIp => "not an IP packet (ARP, LLDP, ...)".to_owned(),
                    Parsed::UnsupportedLinkType(t) => {
                        format!("of link type {t}, which zprsim does not decode")
                    }
                    Parsed::Malformed { layer, offset } => {
                        format!(
                            "malformed: its {layer} header at byte {offset} of the frame is cut short or inconsistent"
                        )
                    }
                    Parsed::Ip(_) => String::new(),
                };
                return Err(Failure::Input(format!(
                    "{file}: error: packet {n} (byte offset {}) is {what}",
                    rec.offset
                )));
            }
            _ => continue,
        };
        let p = meta.packet;
        let (ctx, opened_by, slot) = match ConnKey::of(&p) {
            None => (Context::First, None, None),
            Some((key, forward)) => {
                let shard = conntrack::shard_of(&p) % SHARDS;
                let table = shards
                    .get_mut(shard)
                    .ok_or_else(|| Failure::Internal("shard out of range".into()))?
                    .get_or_insert_with(|| Bounded::new(cap));
                let mut live = None;
                if let Some(e) = table.get_mut(&key) {
                    if e.conn.expired(p.proto, rec.ts_ns) {
                        table.remove(&key);
                    } else {
                        let reply = forward != e.conn.initiator_forward;
                        live = Some((
                            if reply {
                                Context::Reply(e.conn.tracking)
                            } else {
                                Context::First
                            },
                            e.opened_by,
                        ));
                    }
                }
                match live {
                    Some((ctx, by)) => (ctx, Some(by), Some((key, forward, true))),
                    None => (Context::First, None, Some((key, forward, false))),
                }
            }
        };
        if index == n {
            return Ok(Found {
                packet: p,
                context: ctx,
                ts_ns: rec.ts_ns,
                opened_by: matches!(ctx, Context::Reply(_))
                    .then_some(opened_by)
                    .flatten(),
            });
        }
        let fast = compiled.judge(&p, ctx);
        if fast.judgement.verdict != Verdict::Allow {
            continue;
        }
        if let Some((key, forward, existing)) = slot {
            let shard = conntrack::shard_of(&p) % SHARDS;
            let Some(Some(table)) = shards.get_mut(shard) else {
                continue;
            };
            if existing {
                if let Some(e) = table.get_mut(&key) {
                    e.conn.touch(rec.ts_ns, forward, meta.tcp_flags);
                }
            } else {
                let conn = conntrack::new_conn(
                    fast.judgement.tracking,
                    forward,
                    rec.ts_ns,
                    meta.tcp_flags,
                );
                table.insert(
                    key,
                    Entry {
                        conn,
                        opened_by: index,
                    },
                );
            }
        }
    }
    Err(Failure::Input(format!(
        "error: `--packet {n}`: `{file}` has {index} record(s)"
    )))
}
