//! Where the engine's verdicts go in TAP mode: a [`VerdictSink`] that
//! sends each allowed frame out of the port holding its destination (the
//! router, MACs rewritten) or out of the other port (the bridge), and hands
//! dropped and undeliverable frames to the dropped-pcap writer.
//!
//! The sink runs on the engine's writer thread, so frames leave in the
//! order they were read. A device that refuses a frame is counted
//! (`tx_errors`), never an error of the pass. The pcap writer is a thread
//! of its own behind a bounded queue: a full queue loses the record (counted
//! as `dropped_pcap_lost`), never the frame's verdict, and what is written
//! reaches the file every half second, so `tcpdump -r` reads it while the
//! tap runs.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::engine::{Judged, VerdictSink};
use crate::output::{Compression, Encoder};
use crate::parse::{Parsed, linktype, parse_frame};
use crate::pcap_out::{OutFormat, PcapOut};

use super::{Mode, Shared, TapError, l2, u64_mac};

/// What the sink has counted (read live by [`super::Engine::stats`]).
#[derive(Debug, Default)]
pub(super) struct SinkCounters {
    pub(super) forwarded: AtomicU64,
    pub(super) undeliverable: AtomicU64,
    pub(super) tx_errors: AtomicU64,
    pub(super) pcap_lost: AtomicU64,
}

/// A dropped frame for the pcap writer: timestamp and bytes.
pub(super) type PcapItem = (u64, Vec<u8>);

/// The forwarding sink.
pub(super) struct Forward {
    sh: Arc<Shared>,
    pcap: Option<Sender<PcapItem>>,
    /// The frame being sent, MACs rewritten (reused: no allocation per
    /// frame).
    scratch: Vec<u8>,
}

impl Forward {
    pub(super) fn new(sh: Arc<Shared>, pcap: Option<Sender<PcapItem>>) -> Forward {
        Forward {
            sh,
            pcap,
            scratch: Vec::with_capacity(2048),
        }
    }

    fn to_pcap(&self, r: &Judged<'_>) {
        if let Some(tx) = &self.pcap
            && tx.try_send((r.ts_ns, r.data.to_vec())).is_err()
        {
            bump(&self.sh.sink.pcap_lost);
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

impl VerdictSink for Forward {
    fn judged(&mut self, r: &Judged<'_>) -> io::Result<()> {
        let sh = &self.sh;
        if !r.verdicts.first().is_some_and(Option::is_none) {
            self.to_pcap(r);
            return Ok(());
        }
        let plan = sh.plan.load();
        let out = match plan.mode {
            Mode::Bridge => Some(r.input ^ 1),
            Mode::Router => match parse_frame(linktype::ETHERNET, r.data) {
                Parsed::Ip(m) => plan.by_addr.get(&m.packet.dst).copied(),
                _ => None,
            },
        };
        let mac = out.map(|p| sh.host_macs.get(p).map_or(0, |m| m.load(Ordering::Relaxed)));
        match (out, mac) {
            (Some(p), Some(m)) if plan.mode == Mode::Bridge || m != 0 => {
                let frame = if plan.mode == Mode::Router {
                    self.scratch.clear();
                    self.scratch.extend_from_slice(r.data);
                    l2::rewrite_macs(&mut self.scratch, u64_mac(m), l2::ROUTER_MAC);
                    &self.scratch[..]
                } else {
                    r.data
                };
                match sh.links.get(p).map(|l| l.send(frame)) {
                    Some(Ok(())) => {
                        bump(&sh.sink.forwarded);
                        if let Some(pc) = sh.ports.get(p) {
                            bump(&pc.frames_out);
                        }
                    }
                    _ => bump(&sh.sink.tx_errors),
                }
            }
            _ => {
                bump(&sh.sink.undeliverable);
                self.to_pcap(r);
            }
        }
        Ok(())
    }

    fn name(&self) -> String {
        "the TAP devices".into()
    }
}

/// Creates the dropped pcap (Ethernet), gzip or zstd when its name says
/// so, flushed through as it is written ([`Encoder::live`]).
pub(super) fn create_pcap(path: &Path) -> Result<PcapOut<Encoder<File>>, TapError> {
    let err = |source| TapError::Io {
        what: path.display().to_string(),
        source,
    };
    let compression = Compression::of("--dropped", path).map_err(|m| err(io::Error::other(m)))?;
    let f = File::create(path).map_err(err)?;
    let f = Encoder::live(f, compression).map_err(err)?;
    PcapOut::create(f, OutFormat::Pcap { linktype: 1 }).map_err(err)
}

/// Writes dropped frames until the sink is gone; what is written reaches
/// the file at least once a second, so `tcpdump -r` reads it while the tap
/// runs (and it survives the tap dying).
pub(super) fn pcap_loop(
    mut out: PcapOut<Encoder<File>>,
    rx: &Receiver<PcapItem>,
) -> io::Result<u64> {
    const FLUSH_EVERY: Duration = Duration::from_millis(500);
    // The file header reaches the file at once.
    out.flush()?;
    let mut dirty = false;
    let mut last_flush = Instant::now();
    loop {
        match rx.recv_timeout(FLUSH_EVERY) {
            Ok((ts, d)) => {
                let len = u32::try_from(d.len()).unwrap_or(u32::MAX);
                out.write(ts, linktype::ETHERNET, len, &d)?;
                dirty = true;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if dirty && last_flush.elapsed() >= FLUSH_EVERY {
            out.flush()?;
            dirty = false;
            last_flush = Instant::now();
        }
    }
    let n = out.packets();
    out.finish()?.finish()?;
    Ok(n)
}
