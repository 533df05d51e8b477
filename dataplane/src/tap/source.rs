//! The TAP ports as a [`PacketSource`]: one receive thread per port does
//! the link layer (ARP and neighbour discovery answered or passed, the
//! source check), and hands the frames to be judged to the engine over one
//! bounded queue; a full queue drops the frame as `overload`, so a device
//! is never left unread.
//!
//! The engine sees Ethernet frames with timestamps and the port each came
//! from ([`PacketSource::input`]); it never knows they come from TAPs.
//! [`PacketSource::idle`] says `true` when the queue is empty, so the
//! engine hands what it holds to the workers at once.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::capture::Record;
use crate::engine::PacketSource;
use crate::parse::{Parsed, linktype, parse_frame};

use super::{MAX_FRAME, Mode, Shared, l2, mac_u64};

/// How long a blocked receive lasts before the thread looks at the stop
/// flag again.
const POLL_MS: i32 = 100;

/// A frame on its way from a receive thread to the engine.
pub(super) struct RxFrame {
    port: usize,
    ts_ns: u64,
    data: Vec<u8>,
}

/// The engine's side: frames in the order the receive threads queued them.
pub(super) struct TapSource {
    frames: Receiver<RxFrame>,
    /// Buffers go back to the receive threads (no allocation per frame once
    /// the pool holds as many as are in flight).
    pool: Sender<Vec<u8>>,
    current: Option<RxFrame>,
    names: Vec<String>,
}

impl TapSource {
    pub(super) fn new(
        frames: Receiver<RxFrame>,
        pool: Sender<Vec<u8>>,
        names: Vec<String>,
    ) -> TapSource {
        TapSource {
            frames,
            pool,
            current: None,
            names,
        }
    }
}

impl PacketSource for TapSource {
    fn link_types(&mut self) -> Vec<u32> {
        vec![linktype::ETHERNET]
    }

    /// Waits for the next frame; the end comes when every receive thread
    /// has stopped and the queue is empty, so every frame read is judged.
    fn next_record(&mut self) -> Option<Result<Record<'_>, String>> {
        if let Some(done) = self.current.take() {
            let _ = self.pool.try_send(done.data);
        }
        let f = self.current.insert(self.frames.recv().ok()?);
        Some(Ok(Record {
            data: &f.data,
            orig_len: u32::try_from(f.data.len()).unwrap_or(u32::MAX),
            ts_ns: f.ts_ns,
            linktype: linktype::ETHERNET,
            offset: 0,
        }))
    }

    fn idle(&self) -> bool {
        self.frames.is_empty()
    }

    fn input(&self) -> usize {
        self.current.as_ref().map_or(0, |f| f.port)
    }

    fn input_name(&self, i: usize) -> String {
        self.names.get(i).cloned().unwrap_or_default()
    }

    fn progress(&self) -> (u64, u64) {
        (0, 0)
    }

    fn take_warnings(&mut self) -> Vec<crate::warning::RunWarning> {
        Vec::new()
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// Reads one port until told to stop: answers ARP and neighbour
/// solicitations (router) or passes them across (bridge), drops other
/// link-scope traffic and spoofed sources, counts non-IP frames, and
/// queues the rest (IP and malformed) for the engine.
pub(super) fn rx_loop(sh: &Shared, port: usize, queue: &Sender<RxFrame>, pool: &Receiver<Vec<u8>>) {
    let mut buf = vec![0u8; MAX_FRAME];
    // A buffer back from a frame the full queue refused.
    let mut spare: Option<Vec<u8>> = None;
    let Some(link) = sh.links.get(port) else {
        return;
    };
    let Some(pc) = sh.ports.get(port) else { return };
    while !sh.stop.load(Ordering::Relaxed) {
        let len = match link.recv(&mut buf, POLL_MS) {
            Ok(Some(len)) => len.min(buf.len()),
            Ok(None) => continue,
            Err(_) => {
                bump(&pc.rx_errors);
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let frame = &buf[..len];
        bump(&pc.frames_in);
        pc.bytes_in
            .fetch_add(u64::try_from(len).unwrap_or(0), Ordering::Relaxed);
        let plan = sh.plan.load();
        let kind = l2::classify(frame);
        if plan.mode == Mode::Router {
            if let Some(m) = l2::unicast_src_mac(frame)
                && let Some(h) = sh.host_macs.get(port)
            {
                let v = mac_u64(m);
                if h.load(Ordering::Relaxed) != v {
                    h.store(v, Ordering::Relaxed);
                }
            }
            let Some(own) = plan.ports.get(port) else {
                return;
            };
            let reply = match kind {
                l2::Kind::ArpRequest {
                    sender,
                    sender_mac,
                    target,
                } => (!own.addrs.contains(&IpAddr::V4(target)))
                    .then(|| l2::arp_reply(sender, sender_mac, target)),
                l2::Kind::NeighborSolicitation {
                    src,
                    src_mac,
                    target,
                } => (!own.addrs.contains(&IpAddr::V6(target)) && !target.is_unspecified()).then(
                    || {
                        let router = own.gateways.contains(&IpAddr::V6(target));
                        l2::neighbor_advertisement(src, src_mac, target, router)
                    },
                ),
                _ => None,
            };
            if kind != l2::Kind::Other {
                bump(&pc.link_local);
                if let Some(r) = reply
                    && link.send(&r).is_ok()
                {
                    bump(&pc.answered);
                    bump(&pc.frames_out);
                }
                continue;
            }
        } else {
            match kind {
                l2::Kind::Other => {}
                l2::Kind::LinkScope => {
                    bump(&pc.link_local);
                    continue;
                }
                _ => {
                    // ARP and neighbour discovery cross the bump unjudged.
                    bump(&pc.link_local);
                    let other = port ^ 1;
                    if let (Some(l), Some(oc)) = (sh.links.get(other), sh.ports.get(other))
                        && l.send(frame).is_ok()
                    {
                        bump(&oc.frames_out);
                    }
                    continue;
                }
            }
        }
        let malformed = match parse_frame(linktype::ETHERNET, frame) {
            Parsed::Ip(meta) => {
                if plan.mode == Mode::Router
                    && !plan
                        .ports
                        .get(port)
                        .is_some_and(|p| p.addrs.contains(&meta.packet.src))
                {
                    bump(&pc.spoofed);
                    continue;
                }
                false
            }
            Parsed::NonIp | Parsed::UnsupportedLinkType(_) => {
                bump(&pc.non_ip);
                continue;
            }
            // Judged (dropped as malformed) by the engine, which hands it
            // to the dropped pcap; counted here, per port, once queued.
            Parsed::Malformed { .. } => true,
        };
        let mut data = spare
            .take()
            .or_else(|| pool.try_recv().ok())
            .unwrap_or_else(|| Vec::with_capacity(2048));
        data.clear();
        data.extend_from_slice(frame);
        let f = RxFrame {
            port,
            ts_ns: sh.now_ns(),
            data,
        };
        match queue.try_send(f) {
            Ok(()) => {
                if malformed {
                    bump(&pc.malformed);
                    pc.malformed_bytes
                        .fetch_add(u64::try_from(len).unwrap_or(0), Ordering::Relaxed);
                }
            }
            Err(TrySendError::Full(f)) => {
                bump(&pc.overload);
                spare = Some(f.data);
            }
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

/// Keeps `sh` alive in a receive thread.
pub(super) fn spawn_rx(
    sh: &Arc<Shared>,
    port: usize,
    queue: &Sender<RxFrame>,
    pool: &Receiver<Vec<u8>>,
) -> impl FnOnce() + Send + 'static {
    let sh = Arc::clone(sh);
    let queue = queue.clone();
    let pool = pool.clone();
    move || rx_loop(&sh, port, &queue, &pool)
}
