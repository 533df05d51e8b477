//! Live enforcement between TAP devices: zprsim plays the VCN's virtual
//! router.
//!
//! ```text
//!  TAP port 0 --rx thread--+                      +--> worker 0 --+--> TAP of the destination
//!  TAP port 1 --rx thread--+--(shard of the flow)--+--> worker 1 --+    (MACs rewritten)
//!     ...   ARP / ND       |   bounded queues:     |     ...       +--> dropped pcap writer
//!           answered here  |   full = `overload`   |                    (bounded, best effort)
//! ```
//!
//! One receive thread per port reads frames, answers ARP and IPv6
//! neighbour solicitations itself (the router's MAC, [`l2::ROUTER_MAC`],
//! for every address except the asking host's own: the subnet's gateway,
//! and every other address too, which is proxy ARP: hosts in one subnet
//! reach each other through the router, so same-subnet traffic is judged
//! like the rest), drops other link-scope traffic, checks the source
//! address belongs to the port's host (the fabric's source check), and
//! hands IP packets over a bounded queue to the worker that owns the
//! flow's shard ([`crate::conntrack::shard_of`]): both directions of a
//! connection meet one worker, which owns that shard's connection table,
//! with no lock. A full queue drops the frame and counts it as `overload`:
//! nothing waits without limit. Workers judge with
//! [`crate::judge::Tracker`], exactly as replay does, and deliver what is
//! allowed to the port holding the destination address, or count it
//! `undeliverable`.
//!
//! The compiled table, the scenario and the port addresses form one
//! [`Plan`], published with `arc-swap`: every packet loads the plan once,
//! so it sees the old one or the new one, never a mix. Connection tables
//! belong to the workers and survive a new plan.
//!
//! In bridge mode ([`Plan::bridge`]) there are two ports and no router:
//! ARP and neighbour discovery pass unjudged (a bump in the wire must let
//! hosts find each other), every IP packet is judged, and what is allowed
//! leaves by the other port unchanged.
//!
//! Everything here works on any [`Link`]; [`sys::TapDevice`] is the real
//! one, and the tests use in-memory links.

pub mod l2;
pub mod sys;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use ipnet::IpNet;
use zprsim_control::compile::Compiled;
use zprsim_control::model::Scenario;
use zprsim_control::verdict::Verdict;

use crate::conntrack::shard_of;
use crate::judge::{Counters, STAGE_MALFORMED, Tracker};
use crate::parse::{PacketMeta, Parsed, linktype, parse_frame};
use crate::pcap_out::{OutFormat, PcapOut};

/// Largest frame read from a device (a TAP without offloads hands over at
/// most MTU + 14 bytes; 64 KiB covers any MTU).
pub const MAX_FRAME: usize = 65_536;

/// How long a blocked receive or queue wait lasts before the thread looks
/// at the stop flag again.
const POLL_MS: i32 = 100;

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
    /// Two hosts with one address.
    #[error("`{0}` is attached twice")]
    DuplicateAddress(IpAddr),
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
    compiled: Compiled,
    mode: Mode,
    ports: Vec<PortPlan>,
    by_addr: HashMap<IpAddr, usize>,
    generation: u64,
}

impl Plan {
    /// A router plan: one port per host, in order.
    ///
    /// # Errors
    /// See [`host_plan`]; an address attached twice.
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
                    return Err(TapError::DuplicateAddress(*a));
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
            compiled,
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
            compiled,
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
    /// Frames queued per worker at most; beyond, frames are dropped as
    /// `overload`.
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

/// What a worker has counted, published every 100 ms.
#[derive(Debug, Clone, Default)]
struct WorkerSnap {
    counters: Counters,
    generation: u64,
    forwarded: u64,
    undeliverable: u64,
    tx_errors: u64,
    pcap_lost: u64,
    tracked: u64,
}

struct Shared {
    plan: ArcSwap<Plan>,
    links: Vec<Arc<dyn Link>>,
    names: Vec<String>,
    host_macs: Vec<AtomicU64>,
    ports: Vec<PortCounters>,
    snaps: Vec<Mutex<WorkerSnap>>,
    stop: AtomicBool,
    start: Instant,
    workers: usize,
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

/// A frame on its way to a worker.
struct Frame {
    port: usize,
    data: Vec<u8>,
    meta: PacketMeta,
    shard: usize,
    ts_ns: u64,
}

/// The running router.
pub struct Engine {
    shared: Arc<Shared>,
    rx: Vec<JoinHandle<()>>,
    workers: Vec<JoinHandle<WorkerSnap>>,
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
    /// `plan`, in order.
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
            Some(p) => Some(create_pcap(p)?),
            None => None,
        };
        let (names, links): (Vec<String>, Vec<Arc<dyn Link>>) = links.into_iter().unzip();
        let host_macs = links
            .iter()
            .map(|l| AtomicU64::new(l.host_mac().map_or(0, mac_u64)))
            .collect();
        let shared = Arc::new(Shared {
            ports: (0..links.len()).map(|_| PortCounters::default()).collect(),
            plan: ArcSwap::from_pointee(plan),
            links,
            names,
            host_macs,
            snaps: (0..n).map(|_| Mutex::new(WorkerSnap::default())).collect(),
            stop: AtomicBool::new(false),
            start: Instant::now(),
            workers: n,
        });
        let (pcap_tx, pcap) = match pcap_out {
            Some(out) => {
                let (tx, rx) = bounded::<(u64, Vec<u8>)>(cfg.pcap_queue.max(1));
                let h = spawn("zprsim-pcap", move || pcap_loop(out, &rx))?;
                (Some(tx), Some(h))
            }
            None => (None, None),
        };
        let mut txs = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        for id in 0..n {
            let (tx, rx) = bounded::<Frame>(cfg.queue.max(1));
            txs.push(tx);
            let sh = Arc::clone(&shared);
            let pc = pcap_tx.clone();
            let max = cfg.max_connections;
            workers.push(spawn(&format!("zprsim-w{id}"), move || {
                worker_loop(&sh, id, &rx, pc.as_ref(), max)
            })?);
        }
        let mut rx = Vec::with_capacity(shared.links.len());
        for port in 0..shared.links.len() {
            let sh = Arc::clone(&shared);
            let txs = txs.clone();
            let pc = pcap_tx.clone();
            rx.push(spawn(&format!("zprsim-rx{port}"), move || {
                rx_loop(&sh, port, &txs, pc.as_ref());
            })?);
        }
        Ok(Engine {
            shared,
            rx,
            workers,
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
        self.shared.plan.store(Arc::new(plan));
        Ok(g)
    }

    /// The plan in force.
    #[must_use]
    pub fn plan(&self) -> Arc<Plan> {
        self.shared.plan.load_full()
    }

    /// The counters now (workers publish theirs every 100 ms).
    #[must_use]
    pub fn stats(&self) -> TapStats {
        let snaps: Vec<WorkerSnap> = self
            .shared
            .snaps
            .iter()
            .map(|m| m.lock().map(|g| g.clone()).unwrap_or_default())
            .collect();
        self.collect(&snaps)
    }

    fn collect(&self, snaps: &[WorkerSnap]) -> TapStats {
        let sh = &self.shared;
        let plan = sh.plan.load();
        let mut c = Counters::with_rules(plan.compiled.rule_count());
        let mut s = TapStats {
            counters: Counters::default(),
            frames: 0,
            link_local: 0,
            answered: 0,
            overload: 0,
            spoofed: 0,
            forwarded: 0,
            undeliverable: 0,
            tx_errors: 0,
            rx_errors: 0,
            pcap_lost: 0,
            connections_tracked: 0,
            generation: plan.generation,
            ports: Vec::new(),
        };
        for w in snaps {
            let mut wc = w.counters.clone();
            if w.generation != plan.generation {
                wc.rule_hits.clear();
            }
            c.add(&wc);
            s.forwarded += w.forwarded;
            s.undeliverable += w.undeliverable;
            s.tx_errors += w.tx_errors;
            s.pcap_lost += w.pcap_lost;
            s.connections_tracked += w.tracked;
        }
        let ld = |a: &AtomicU64| a.load(Ordering::Relaxed);
        for (i, p) in sh.ports.iter().enumerate() {
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

    /// Stops every thread, finishes the dropped pcap and returns the final
    /// counters.
    ///
    /// # Errors
    /// A thread that panicked, or the pcap that could not be written.
    pub fn stop(self) -> Result<TapStats, TapError> {
        self.shared.stop.store(true, Ordering::Relaxed);
        for h in self.rx {
            h.join()
                .map_err(|_| TapError::Internal("a receive thread panicked".into()))?;
        }
        let mut snaps = Vec::with_capacity(self.workers.len());
        for h in self.workers {
            snaps.push(
                h.join()
                    .map_err(|_| TapError::Internal("a worker thread panicked".into()))?,
            );
        }
        if let Some(h) = self.pcap {
            h.join()
                .map_err(|_| TapError::Internal("the pcap thread panicked".into()))?
                .map_err(|source| TapError::Io {
                    what: "the dropped pcap".into(),
                    source,
                })?;
        }
        let shared = Arc::clone(&self.shared);
        let e = Engine {
            shared,
            rx: Vec::new(),
            workers: Vec::new(),
            pcap: None,
        };
        Ok(e.collect(&snaps))
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

fn create_pcap(path: &Path) -> Result<PcapOut<BufWriter<File>>, TapError> {
    let err = |source| TapError::Io {
        what: path.display().to_string(),
        source,
    };
    let f = File::create(path).map_err(err)?;
    PcapOut::create(BufWriter::new(f), OutFormat::Pcap { linktype: 1 }).map_err(err)
}

/// Writes dropped frames; what is written reaches the file at least once a
/// second, so `tcpdump -r` reads it while the tap runs (and it survives
/// the tap dying).
fn pcap_loop(mut out: PcapOut<BufWriter<File>>, rx: &Receiver<(u64, Vec<u8>)>) -> io::Result<u64> {
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
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        if dirty && last_flush.elapsed() >= FLUSH_EVERY {
            out.flush()?;
            dirty = false;
            last_flush = Instant::now();
        }
    }
    let n = out.packets();
    out.finish()?;
    Ok(n)
}

fn to_pcap(pcap: Option<&Sender<(u64, Vec<u8>)>>, data: Vec<u8>) -> bool {
    match pcap {
        Some(tx) => tx.try_send((wall_ns(), data)).is_ok(),
        None => true,
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// Reads one port until told to stop.
fn rx_loop(sh: &Shared, port: usize, txs: &[Sender<Frame>], pcap: Option<&Sender<(u64, Vec<u8>)>>) {
    let mut buf = vec![0u8; MAX_FRAME];
    let link = &sh.links[port];
    let pc = &sh.ports[port];
    let n = txs.len().max(1);
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
            if let Some(m) = l2::unicast_src_mac(frame) {
                let v = mac_u64(m);
                if sh.host_macs[port].load(Ordering::Relaxed) != v {
                    sh.host_macs[port].store(v, Ordering::Relaxed);
                }
            }
            let own = &plan.ports[port];
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
                    if let Some(l) = sh.links.get(other)
                        && l.send(frame).is_ok()
                    {
                        bump(&sh.ports[other].frames_out);
                    }
                    continue;
                }
            }
        }
        match parse_frame(linktype::ETHERNET, frame) {
            Parsed::Ip(meta) => {
                if plan.mode == Mode::Router && !plan.ports[port].addrs.contains(&meta.packet.src) {
                    bump(&pc.spoofed);
                    continue;
                }
                let shard = shard_of(&meta.packet);
                let f = Frame {
                    port,
                    data: frame.to_vec(),
                    meta,
                    shard,
                    ts_ns: u64::try_from(sh.start.elapsed().as_nanos()).unwrap_or(u64::MAX),
                };
                match txs[shard % n].try_send(f) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => bump(&pc.overload),
                    Err(TrySendError::Disconnected(_)) => return,
                }
            }
            Parsed::NonIp | Parsed::UnsupportedLinkType(_) => bump(&pc.non_ip),
            Parsed::Malformed { .. } => {
                bump(&pc.malformed);
                pc.malformed_bytes
                    .fetch_add(u64::try_from(len).unwrap_or(0), Ordering::Relaxed);
                let _ = to_pcap(pcap, frame.to_vec());
            }
        }
    }
}

/// Judges and delivers until every receive thread is gone.
fn worker_loop(
    sh: &Shared,
    id: usize,
    rx: &Receiver<Frame>,
    pcap: Option<&Sender<(u64, Vec<u8>)>>,
    max_connections: usize,
) -> WorkerSnap {
    let mut tracker = Tracker::new(max_connections);
    let mut w = WorkerSnap::default();
    let mut last = Instant::now();
    let publish = |w: &mut WorkerSnap, tracker: &Tracker| {
        w.tracked = u64::try_from(tracker.len()).unwrap_or(u64::MAX);
        if let Ok(mut g) = sh.snaps[id].lock() {
            g.clone_from(w);
        }
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(mut f) => {
                let plan = sh.plan.load();
                if w.generation != plan.generation || w.counters.rule_hits.is_empty() {
                    w.generation = plan.generation;
                    w.counters.rule_hits = vec![0; plan.compiled.rule_count()];
                }
                let fast = tracker.judge(
                    &plan.compiled,
                    &f.meta.packet,
                    f.shard,
                    f.ts_ns,
                    f.meta.tcp_flags,
                    &mut w.counters,
                );
                w.counters
                    .record(&fast, u32::try_from(f.data.len()).unwrap_or(u32::MAX));
                if fast.judgement.verdict == Verdict::Allow {
                    let out = match plan.mode {
                        Mode::Bridge => Some(f.port ^ 1),
                        Mode::Router => plan.by_addr.get(&f.meta.packet.dst).copied(),
                    };
                    let mac =
                        out.map(|p| sh.host_macs.get(p).map_or(0, |m| m.load(Ordering::Relaxed)));
                    match (out, mac) {
                        (Some(p), Some(m)) if plan.mode == Mode::Bridge || m != 0 => {
                            if plan.mode == Mode::Router {
                                l2::rewrite_macs(&mut f.data, u64_mac(m), l2::ROUTER_MAC);
                            }
                            match sh.links.get(p).map(|l| l.send(&f.data)) {
                                Some(Ok(())) => {
                                    w.forwarded += 1;
                                    bump(&sh.ports[p].frames_out);
                                }
                                _ => w.tx_errors += 1,
                            }
                        }
                        _ => {
                            w.undeliverable += 1;
                            if !to_pcap(pcap, f.data) {
                                w.pcap_lost += 1;
                            }
                        }
                    }
                } else if !to_pcap(pcap, f.data) {
                    w.pcap_lost += 1;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last.elapsed() >= Duration::from_millis(100) {
            publish(&mut w, &tracker);
            last = Instant::now();
        }
    }
    publish(&mut w, &tracker);
    w
}

#[cfg(test)]
mod tests;
