//! Live enforcement between TAP devices: zprsim plays the VCN's virtual
//! router.
//!
//! ```text
//!  TAP port 0 --rx thread--+  bounded queue   +------------------------------------+
//!  TAP port 1 --rx thread--+--------------->  | engine::run (the one replay uses): |--> forwarding sink:
//!     ...   ARP / ND       | full = overload  | reader -> workers (shards) ->      |    TAP of the destination
//!           answered here  |  (TapSource)     | writer, verdicts in input order    |    (MACs rewritten), and
//!                                             +------------------------------------+    the dropped pcap writer
//! ```
//!
//! The packets are judged by [`crate::engine::run`], the engine replay,
//! diff and bench use: the ports are a [`PacketSource`]
//! (`source::TapSource`) and delivery is a [`crate::engine::VerdictSink`]
//! (`forward::Forward`); the engine does not know it has TAPs. The source
//! says when it has nothing ready, so the engine hands a partial batch to
//! the workers at once instead of waiting for a chunk to fill.
//!
//! One receive thread per port reads frames, answers ARP and IPv6
//! neighbour solicitations itself (the router's MAC, [`l2::ROUTER_MAC`],
//! for every address except the asking host's own: the subnet's gateway,
//! and every other address too, which is proxy ARP: hosts in one subnet
//! reach each other through the router, so same-subnet traffic is judged
//! like the rest), drops other link-scope traffic, checks the source
//! address belongs to the port's host (the fabric's source check), and
//! hands IP packets over a bounded queue to the engine. A full queue drops
//! the frame and counts it as `overload`: a device is never left unread.
//! The engine's reader sends each packet to the worker that owns the
//! flow's shard ([`crate::conntrack::shard_of`]): both directions of a
//! connection meet one worker, which owns that shard's connection table,
//! with no lock, and judges exactly as replay does. The sink, on the
//! engine's writer thread, delivers what is allowed to the port holding the
//! destination address, or counts it `undeliverable`.
//!
//! The compiled table, the scenario and the port addresses form one
//! [`Plan`], published with `arc-swap`; its table is published to the
//! workers through the engine's [`Live`] hook, which they load once per
//! batch, so a packet is judged with the old table or the new one, never a
//! mix. Connection tables belong to the workers and survive a new plan.
//! The workers' counters are read through the same hook while the pass
//! runs.
//!
//! In bridge mode ([`Plan::bridge`]) there are two ports and no router:
//! ARP and neighbour discovery pass unjudged (a bump in the wire must let
//! hosts find each other), every IP packet is judged, and what is allowed
//! leaves by the other port unchanged.
//!
//! Everything here works on any [`Link`]; [`sys::TapDevice`] is the real
//! one, and the tests use in-memory links.

mod forward;
pub mod l2;
mod source;
pub mod sys;

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use crossbeam_channel::bounded;
use ipnet::IpNet;
use zprsim_control::compile::Compiled;
use zprsim_control::model::Scenario;

use crate::engine::{
    self, EngineConfig, EngineError, EngineOutput, Live, PacketSource, Sinks, Snapshot,
};
use crate::judge::{Counters, STAGE_MALFORMED};

/// Largest frame read from a device (a TAP without offloads hands over at
/// most MTU + 14 bytes; 64 KiB covers any MTU).
pub const MAX_FRAME: usize = 65_536;

/// A host attached to the router: a VNIC of the scenario by name, or an
/// address no VNIC holds (an unlisted workload in a subnet, or an external
/// client).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A VNIC by name.
    Vnic(String),
    /// An address.
    Address(IpAddr),
}

impl Host {
    /// An address when the text is one, else a VNIC name.
    #[must_use]
    pub fn parse(text: &str) -> Host {
        match text.parse::<IpAddr>() {
            Ok(a) => Host::Address(a),
            Err(_) => Host::Vnic(text.to_owned()),
        }
    }
}

impl Host {
    /// The host in a message: ``VNIC `worker-1` `` or `` `10.0.3.50` ``.
    #[must_use]
    pub fn described(&self) -> String {
        match self {
            Host::Vnic(n) => format!("VNIC `{n}`"),
            Host::Address(a) => format!("`{a}`"),
        }
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Vnic(n) => f.write_str(n),
            Host::Address(a) => write!(f, "{a}"),
        }
    }
}

/// Where a host sits and how it is configured: what `lab up` gives its
/// namespace and what the router answers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPlan {
    /// The host as named on the command line.
    pub host: Host,
    /// What it is: `vnic (pod)`, `unassigned address in subnet pods`,
    /// `external`.
    pub kind: String,
    /// Its addresses with the prefix length of their subnet (32 or 128
    /// for an external address).
    pub addrs: Vec<(IpAddr, u8)>,
    /// Gateway addresses of its subnet (the first host address of each of
    /// the subnet's CIDRs); none for an external host, which gets an
    /// on-link default route.
    pub gateways: Vec<IpAddr>,
}

/// Why the router could not be set up or a new plan not published.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    /// A VNIC name that is not in the scenario.
    #[error("no VNIC named `{0}` in the scenario")]
    UnknownVnic(String),
    /// An address that belongs to a VNIC, given as an address.
    #[error("`{addr}` is an address of VNIC `{vnic}`: attach the VNIC by name")]
    AddressOfVnic {
        /// The address.
        addr: IpAddr,
        /// The VNIC.
        vnic: String,
    },
    /// One host given twice (a VNIC by its name, an address however it
    /// was written: `fd00::1` and `fd00:0::1` are one).
    #[error("{} is attached twice", .0.described())]
    AttachedTwice(Host),
    /// A host with no address.
    #[error("VNIC `{0}` has no private IP")]
    NoAddress(String),
    /// A plan for a different number of ports.
    #[error("the new scenario gives {given} port(s); the router has {ports}")]
    PortCount {
        /// Ports of the plan.
        given: usize,
        /// Ports of the router.
        ports: usize,
    },
    /// A device or output could not be opened or written.
    #[error("{what}: {source}")]
    Io {
        /// What failed (the device or file).
        what: String,
        /// The error.
        source: io::Error,
    },
    /// A thread failed.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The first host address of a CIDR (the OCI subnet gateway), when the
/// CIDR has room for one.
#[must_use]
pub fn gateway_of(net: &IpNet) -> Option<IpAddr> {
    match net {
        IpNet::V4(n) if n.prefix_len() <= 30 => {
            let a = u32::from(n.network()).checked_add(1)?;
            Some(IpAddr::V4(a.into()))
        }
        IpNet::V6(n) if n.prefix_len() <= 126 => {
            let a = u128::from(n.network()).checked_add(1)?;
            Some(IpAddr::V6(a.into()))
        }
        _ => None,
    }
}

/// Where a host sits in the scenario.
///
/// # Errors
/// An unknown VNIC name, a VNIC without addresses, or an address held by
/// a VNIC.
pub fn host_plan(s: &Scenario, host: &Host) -> Result<HostPlan, TapError> {
    match host {
        Host::Vnic(name) => {
            let v = s
                .vnics
                .iter()
                .find(|v| &v.name == name)
                .ok_or_else(|| TapError::UnknownVnic(name.clone()))?;
            if v.private_ips.is_empty() {
                return Err(TapError::NoAddress(name.clone()));
            }
            let subnet = s.subnets.get(v.subnet.index());
            let cidrs: &[IpNet] = subnet.map_or(&[], |sn| &sn.cidrs);
            let addrs = v
                .private_ips
                .iter()
                .map(|a| {
                    let len = cidrs
                        .iter()
                        .find(|c| c.contains(a))
                        .map_or(full_len(*a), IpNet::prefix_len);
                    (*a, len)
                })
                .collect();
            Ok(HostPlan {
                host: host.clone(),
                kind: format!("vnic ({})", v.kind),
                addrs,
                gateways: cidrs.iter().filter_map(gateway_of).collect(),
            })
        }
        Host::Address(a) => {
            if let Some(v) = s.vnics.iter().find(|v| v.private_ips.contains(a)) {
                return Err(TapError::AddressOfVnic {
                    addr: *a,
                    vnic: v.name.clone(),
                });
            }
            match s
                .subnets
                .iter()
                .find(|sn| sn.cidrs.iter().any(|c| c.contains(a)))
            {
                Some(sn) => {
                    let len = sn
                        .cidrs
                        .iter()
                        .find(|c| c.contains(a))
                        .map_or(full_len(*a), IpNet::prefix_len);
                    Ok(HostPlan {
                        host: host.clone(),
                        kind: format!("unassigned address in subnet {}", sn.name),
                        addrs: vec![(*a, len)],
                        gateways: sn.cidrs.iter().filter_map(gateway_of).collect(),
                    })
                }
                None => Ok(HostPlan {
                    host: host.clone(),
                    kind: "external".into(),
                    addrs: vec![(*a, full_len(*a))],
                    gateways: Vec::new(),
                }),
            }
        }
    }
}

fn full_len(a: IpAddr) -> u8 {
    if a.is_ipv4() { 32 } else { 128 }
}

/// Router or bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The VCN's virtual router between one port per host.
    Router,
    /// A transparent bump between two ports.
    Bridge,
}

#[derive(Debug, Clone)]
struct PortPlan {
    label: String,
    addrs: Vec<IpAddr>,
    gateways: Vec<IpAddr>,
}

/// Everything a packet is judged and delivered with: the scenario, its
/// compiled table and the ports' addresses. Immutable once published.
#[derive(Debug)]
pub struct Plan {
    scenario: Scenario,
    compiled: Arc<Compiled>,
    mode: Mode,
    ports: Vec<PortPlan>,
    by_addr: HashMap<IpAddr, usize>,
    generation: u64,
}

impl Plan {
    /// A router plan: one port per host, in order.
    ///
    /// # Errors
    /// See [`host_plan`]; a host attached twice.
    pub fn router(
        scenario: Scenario,
        compiled: Compiled,
        hosts: &[Host],
    ) -> Result<Plan, TapError> {
        let mut ports = Vec::with_capacity(hosts.len());
        let mut by_addr = HashMap::new();
        for (i, h) in hosts.iter().enumerate() {
            let hp = host_plan(&scenario, h)?;
            for (a, _) in &hp.addrs {
                if by_addr.insert(*a, i).is_some() {
                    // Only the same host twice shares an address: a VNIC's
                    // address given as one is refused by `host_plan`, and
                    // the loader keeps two VNICs from one address.
                    return Err(TapError::AttachedTwice(h.clone()));
                }
            }
            ports.push(PortPlan {
                label: h.to_string(),
                addrs: hp.addrs.iter().map(|(a, _)| *a).collect(),
                gateways: hp.gateways,
            });
        }
        Ok(Plan {
            scenario,
            compiled: Arc::new(compiled),
            mode: Mode::Router,
            ports,
            by_addr,
            generation: 0,
        })
    }

    /// A bridge plan: two ports, the scenario's hosts behind either side.
    #[must_use]
    pub fn bridge(scenario: Scenario, compiled: Compiled) -> Plan {
        let port = |label: &str| PortPlan {
            label: label.into(),
            addrs: Vec::new(),
            gateways: Vec::new(),
        };
        Plan {
            scenario,
            compiled: Arc::new(compiled),
            mode: Mode::Bridge,
            ports: vec![port("side a"), port("side b")],
            by_addr: HashMap::new(),
            generation: 0,
        }
    }

    /// The scenario.
    #[must_use]
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The compiled table.
    #[must_use]
    pub fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    /// Router or bridge.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// How many plans were published before this one (0 for the first).
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Number of ports.
    #[must_use]
    pub fn port_count(&self) -> usize {
        self.ports.len()
    }
}

/// One side of a port: where frames come from and go to.
pub trait Link: Send + Sync {
    /// Waits up to `timeout_ms` for a frame; `Ok(None)` when none came.
    ///
    /// # Errors
    /// A device error.
    fn recv(&self, buf: &mut [u8], timeout_ms: i32) -> io::Result<Option<usize>>;
    /// Sends one frame.
    ///
    /// # Errors
    /// A device error (a TAP whose link is down answers `EIO`).
    fn send(&self, frame: &[u8]) -> io::Result<()>;
    /// The MAC address of the host behind the link, when the device knows
    /// it (a TAP's own address is the one its host sends from).
    fn host_mac(&self) -> Option<[u8; 6]> {
        None
    }
}

impl Link for sys::TapDevice {
    fn recv(&self, buf: &mut [u8], timeout_ms: i32) -> io::Result<Option<usize>> {
        sys::TapDevice::recv(self, buf, timeout_ms)
    }
    fn send(&self, frame: &[u8]) -> io::Result<()> {
        sys::TapDevice::send(self, frame)
    }
    fn host_mac(&self) -> Option<[u8; 6]> {
        sys::interface_mac(self.name())
    }
}

/// Router settings.
#[derive(Debug, Clone)]
pub struct TapConfig {
    /// Worker threads (1 to 64).
    pub workers: usize,
    /// Frames waiting for the engine at most, per worker (the queue holds
    /// `queue × workers`); beyond, frames are dropped as `overload`.
    pub queue: usize,
    /// Connections tracked at most (over all shards).
    pub max_connections: usize,
    /// Write dropped frames here (pcap, Ethernet).
    pub dropped: Option<PathBuf>,
    /// Frames queued for the dropped pcap at most; beyond, a dropped frame
    /// is still dropped but not written (counted).
    pub pcap_queue: usize,
}

impl Default for TapConfig {
    fn default() -> Self {
        TapConfig {
            workers: 1,
            queue: 1024,
            max_connections: 1 << 20,
            dropped: None,
            pcap_queue: 4096,
        }
    }
}

#[derive(Debug, Default)]
struct PortCounters {
    frames_in: AtomicU64,
    bytes_in: AtomicU64,
    frames_out: AtomicU64,
    non_ip: AtomicU64,
    link_local: AtomicU64,
    answered: AtomicU64,
    overload: AtomicU64,
    spoofed: AtomicU64,
    malformed: AtomicU64,
    malformed_bytes: AtomicU64,
    rx_errors: AtomicU64,
}
/// Counters of one port.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortStats {
    /// The host (or side) behind the port.
    pub host: String,
    /// The device.
    pub iface: String,
    /// Frames read from the device.
    pub frames_in: u64,
    /// Frames written to the device (delivered, and ARP/ND answers).
    pub frames_out: u64,
}

/// Everything the router has counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapStats {
    /// Judged packets, as replay counts them (`non_ip` and `malformed`
    /// included); rule hits count since the last published plan.
    pub counters: Counters,
    /// Frames read from every device.
    pub frames: u64,
    /// ARP, neighbour discovery and other link-scope frames, handled by
    /// the router (or passed by the bridge), never judged.
    pub link_local: u64,
    /// ARP replies and neighbour advertisements the router sent.
    pub answered: u64,
    /// Frames dropped because a worker's queue was full.
    pub overload: u64,
    /// IP packets whose source is not an address of the port's host
    /// (the fabric's source check), dropped unjudged.
    pub spoofed: u64,
    /// Allowed packets delivered to a device.
    pub forwarded: u64,
    /// Allowed packets no attached host holds the destination of (or
    /// whose host's MAC is not known yet), dropped.
    pub undeliverable: u64,
    /// Allowed packets a device refused (link down), dropped.
    pub tx_errors: u64,
    /// Read errors of the devices.
    pub rx_errors: u64,
    /// Dropped frames not written to the pcap because its queue was full.
    pub pcap_lost: u64,
    /// Connections in the tables now.
    pub connections_tracked: u64,
    /// Plans published after the first.
    pub generation: u64,
    /// Per port.
    pub ports: Vec<PortStats>,
}

/// What the receive threads, the sink and the handle share.
struct Shared {
    plan: ArcSwap<Plan>,
    links: Vec<Arc<dyn Link>>,
    names: Vec<String>,
    host_macs: Vec<AtomicU64>,
    ports: Vec<PortCounters>,
    sink: forward::SinkCounters,
    stop: AtomicBool,
    start: Instant,
    /// Wall clock at `start`, nanoseconds since the epoch.
    start_wall_ns: u64,
    workers: usize,
}

impl Shared {
    /// A frame's timestamp: the wall clock at start plus the monotonic time
    /// since, so it never goes back (connection timeouts) and reads as a
    /// date (the dropped pcap).
    fn now_ns(&self) -> u64 {
        let since = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.start_wall_ns.saturating_add(since)
    }
}

/// The running router.
pub struct Engine {
    shared: Arc<Shared>,
    live: Arc<Live>,
    rx: Vec<JoinHandle<()>>,
    run: Option<JoinHandle<Result<EngineOutput, EngineError>>>,
    pcap: Option<JoinHandle<io::Result<u64>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("ports", &self.shared.names)
            .field("workers", &self.shared.workers)
            .finish_non_exhaustive()
    }
}

fn mac_u64(m: [u8; 6]) -> u64 {
    let mut b = [0u8; 8];
    b[2..].copy_from_slice(&m);
    u64::from_be_bytes(b)
}

fn u64_mac(v: u64) -> [u8; 6] {
    let b = v.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Engine {
    /// Starts the router on `links` (named for reports), one per port of
    /// `plan`, in order: a receive thread per port, and
    /// [`crate::engine::run`] on a thread of its own with the ports as its
    /// source and the forwarding sink.
    ///
    /// # Errors
    /// A plan and link count that differ, or a dropped pcap that cannot be
    /// created.
    pub fn start(
        plan: Plan,
        links: Vec<(String, Arc<dyn Link>)>,
        cfg: &TapConfig,
    ) -> Result<Engine, TapError> {
        if links.len() != plan.ports.len() {
            return Err(TapError::PortCount {
                given: plan.ports.len(),
                ports: links.len(),
            });
        }
        let n = cfg.workers.clamp(1, 64);
        let pcap_out = match &cfg.dropped {
            Some(p) => Some(forward::create_pcap(p)?),
            None => None,
        };
        let (names, links): (Vec<String>, Vec<Arc<dyn Link>>) = links.into_iter().unzip();
        let host_macs = links
            .iter()
            .map(|l| AtomicU64::new(l.host_mac().map_or(0, mac_u64)))
            .collect();
        let compiled = Arc::clone(&plan.compiled);
        let shared = Arc::new(Shared {
            ports: (0..links.len()).map(|_| PortCounters::default()).collect(),
            plan: ArcSwap::from_pointee(plan),
            links,
            names: names.clone(),
            host_macs,
            sink: forward::SinkCounters::default(),
            stop: AtomicBool::new(false),
            start: Instant::now(),
            start_wall_ns: wall_ns(),
            workers: n,
        });
        let (pcap_tx, pcap) = match pcap_out {
            Some(out) => {
                let (tx, rx) = bounded::<forward::PcapItem>(cfg.pcap_queue.max(1));
                let h = spawn("zprsim-pcap", move || forward::pcap_loop(out, &rx))?;
                (Some(tx), Some(h))
            }
            None => (None, None),
        };
        let depth = cfg.queue.max(1).saturating_mul(n);
        let (frame_tx, frame_rx) = bounded::<source::RxFrame>(depth);
        // Room for every buffer in flight: queued, held by the engine's
        // reader, and refused by a full queue.
        let (pool_tx, pool_rx) = bounded::<Vec<u8>>(depth.saturating_add(64));
        let live = Arc::new(Live::new(vec![Arc::clone(&compiled)]));
        let ecfg = EngineConfig {
            workers: n,
            max_connections: cfg.max_connections,
            max_flow_records: cfg.max_connections,
            keep_flows: false,
            // A live pass: few chunks in flight (each up to 4,096 frames).
            queue_chunks: 2,
            top_flows: 0,
            stop: None,
            live: Some(Arc::clone(&live)),
            ..EngineConfig::default()
        };
        let mut source = source::TapSource::new(frame_rx, pool_tx, names);
        let mut sink = forward::Forward::new(Arc::clone(&shared), pcap_tx);
        let run = spawn("zprsim-engine", move || {
            let src: &mut dyn PacketSource = &mut source;
            let sinks = Sinks {
                verdicts: Some(&mut sink),
                ..Sinks::default()
            };
            engine::run(&[compiled], src, &ecfg, sinks)
        })?;
        let mut rx = Vec::with_capacity(shared.links.len());
        for port in 0..shared.links.len() {
            let f = source::spawn_rx(&shared, port, &frame_tx, &pool_rx);
            match spawn(&format!("zprsim-rx{port}"), f) {
                Ok(h) => rx.push(h),
                Err(e) => {
                    // Stop what started: the engine ends with the queue.
                    shared.stop.store(true, Ordering::Relaxed);
                    drop(frame_tx);
                    for h in rx {
                        let _ = h.join();
                    }
                    let _ = run.join();
                    return Err(e);
                }
            }
        }
        // The engine's source ends when every receive thread has.
        drop(frame_tx);
        Ok(Engine {
            shared,
            live,
            rx,
            run: Some(run),
            pcap,
        })
    }

    /// Publishes a new plan: packets read after this see it; connections
    /// stay tracked.
    ///
    /// # Errors
    /// A plan for another number of ports, or of another mode.
    pub fn publish(&self, mut plan: Plan) -> Result<u64, TapError> {
        let old = self.shared.plan.load();
        if plan.ports.len() != old.ports.len() || plan.mode != old.mode {
            return Err(TapError::PortCount {
                given: plan.ports.len(),
                ports: old.ports.len(),
            });
        }
        plan.generation = old.generation + 1;
        let g = plan.generation;
        let compiled = Arc::clone(&plan.compiled);
        self.shared.plan.store(Arc::new(plan));
        // One scenario in the pass, one in the set: cannot be refused.
        self.live
            .publish(vec![compiled])
            .map_err(|e| TapError::Internal(e.to_string()))?;
        Ok(g)
    }

    /// The plan in force.
    #[must_use]
    pub fn plan(&self) -> Arc<Plan> {
        self.shared.plan.load_full()
    }

    /// The counters now (the workers' are at most 100 ms old).
    #[must_use]
    pub fn stats(&self) -> TapStats {
        self.collect(&self.live.snapshots())
    }

    fn collect(&self, snaps: &[Snapshot]) -> TapStats {
        let sh = &self.shared;
        let plan = sh.plan.load();
        let mut c = Counters::with_rules(plan.compiled.rule_count());
        let ld = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut s = TapStats {
            counters: Counters::default(),
            frames: 0,
            link_local: 0,
            answered: 0,
            overload: 0,
            spoofed: 0,
            forwarded: ld(&sh.sink.forwarded),
            undeliverable: ld(&sh.sink.undeliverable),
            tx_errors: ld(&sh.sink.tx_errors),
            rx_errors: 0,
            pcap_lost: ld(&sh.sink.pcap_lost),
            connections_tracked: 0,
            generation: plan.generation,
            ports: Vec::new(),
        };
        for w in snaps {
            // One scenario per pass: the first.
            let Some(wc) = w.counters.first() else {
                continue;
            };
            let mut wc = wc.clone();
            if w.generation != plan.generation {
                wc.rule_hits.clear();
            }
            c.add(&wc);
            s.connections_tracked += w.tracked.first().copied().unwrap_or(0);
        }
        for (i, p) in sh.ports.iter().enumerate() {
            // Malformed frames are counted by the receive threads (the
            // engine's own count of them is not read here).
            let malformed = ld(&p.malformed);
            let mbytes = ld(&p.malformed_bytes);
            c.packets.total += malformed;
            c.packets.dropped += malformed;
            c.bytes.total += mbytes;
            c.bytes.dropped += mbytes;
            c.dropped_by_stage[STAGE_MALFORMED] += malformed;
            c.non_ip += ld(&p.non_ip);
            s.frames += ld(&p.frames_in);
            s.link_local += ld(&p.link_local);
            s.answered += ld(&p.answered);
            s.overload += ld(&p.overload);
            s.spoofed += ld(&p.spoofed);
            s.rx_errors += ld(&p.rx_errors);
            s.ports.push(PortStats {
                host: plan
                    .ports
                    .get(i)
                    .map(|p| p.label.clone())
                    .unwrap_or_default(),
                iface: sh.names.get(i).cloned().unwrap_or_default(),
                frames_in: ld(&p.frames_in),
                frames_out: ld(&p.frames_out),
            });
        }
        s.counters = c;
        s
    }

    /// Stops every thread (every frame read is judged and delivered
    /// first), finishes the dropped pcap and returns the final counters.
    ///
    /// # Errors
    /// A thread that panicked, or the pcap that could not be written.
    pub fn stop(mut self) -> Result<TapStats, TapError> {
        self.shared.stop.store(true, Ordering::Relaxed);
        for h in std::mem::take(&mut self.rx) {
            h.join()
                .map_err(|_| TapError::Internal("a receive thread panicked".into()))?;
        }
        if let Some(h) = self.run.take() {
            h.join()
                .map_err(|_| TapError::Internal("the engine thread panicked".into()))?
                .map_err(|e| TapError::Internal(e.to_string()))?;
        }
        if let Some(h) = self.pcap.take() {
            h.join()
                .map_err(|_| TapError::Internal("the pcap thread panicked".into()))?
                .map_err(|source| TapError::Io {
                    what: "the dropped pcap".into(),
                    source,
                })?;
        }
        // Every worker published its counters as it ended.
        Ok(self.collect(&self.live.snapshots()))
    }
}

impl Drop for Engine {
    /// An engine dropped without [`Engine::stop`] still stops its threads
    /// (they end on their own once the receive threads see the flag).
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>, TapError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|source| TapError::Io {
            what: "cannot start a thread".into(),
            source,
        })
}

#[cfg(test)]
mod tests;
