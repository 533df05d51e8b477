//! DHCP between a VNIC and its subnet's virtual router (docs/semantics.md
//! §2.1, decision 36): UDP from port 68 of a VNIC's IPv4 address to port
//! 67 of the first host of one of its subnet's IPv4 CIDRs (the address
//! OCI gives the subnet's virtual router), and from that port 67 back to
//! port 68, is allowed before any layer and tracked by none, as traffic to
//! or from 169.254.0.0/16 is: the Networking service answers DHCP itself,
//! no security rule applies to it, and flow logs leave it out.
//!
//! Compiled as a class flag on every subnet's first host
//! ([`ClassInfo::VIRTUAL_ROUTER`], which also keeps it out of the
//! subnet's other addresses' class) and the sorted list of every (VNIC
//! address, router address) pair, read by [`Compiled::judge`] only for a
//! UDP packet between ports 67 and 68 with a flagged end. The flag is
//! tested first: it is all but never set on random traffic, so the test
//! is one predicted branch (testing the protocol first cost 0.5
//! mispredicted branches a judgement on a random mix of protocols,
//! callgrind, docs/benchmarks.md). The reference
//! evaluator asks the scenario directly (`eval::virtual_router_dhcp`); the
//! differential tests hold the two equal.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use super::prefix::Pfx;
use super::table::{ClassInfo, Compiled, Fast, exempt};
use crate::model::{Scenario, proto};
use crate::packet::{L4, Packet};

/// The DHCP server's port (RFC 2131 §4.1).
const SERVER: u16 = 67;
/// The DHCP client's port.
const CLIENT: u16 = 68;

/// The (VNIC address, router address) pairs of a scenario, each as one
/// `u64` (`vnic << 32 | router`), sorted.
#[derive(Debug, Clone, Default)]
pub(super) struct VirtualRouters {
    pairs: Vec<u64>,
}

impl VirtualRouters {
    /// The pairs of `s`: every IPv4 address of a VNIC (the first VNIC that
    /// holds it, as [`crate::model::endpoint_of`] picks) with the first
    /// host of each IPv4 CIDR of its subnet of 4 addresses or more, unless
    /// a VNIC holds that address (then it is the VNIC, not the router).
    ///
    /// Made in address order, so the list comes out sorted without a sort
    /// of the pairs: the VNICs' IPv4 addresses with their positions are
    /// sorted once (an address held twice keeps its first VNIC; the same
    /// sorted list answers "held by a VNIC" by binary search) and each
    /// subnet's routers are listed once, sorted. Built on the main thread
    /// after the compile's two halves, on the path to a replay's first
    /// packet: with hash sets of every address (SipHash) and a router list
    /// per VNIC it was 17.4 M instructions on the 10k-VNIC scenario
    /// (callgrind, docs/benchmarks.md, the thirty-fourth session).
    pub(super) fn new(s: &Scenario) -> VirtualRouters {
        // (address, VNIC position), sorted: by address, then file order.
        let mut held: Vec<(u32, usize)> = s
            .vnics
            .iter()
            .enumerate()
            .flat_map(|(i, v)| {
                v.private_ips.iter().filter_map(move |ip| match ip {
                    IpAddr::V4(a) => Some((u32::from(*a), i)),
                    IpAddr::V6(_) => None,
                })
            })
            .collect();
        held.sort_unstable();
        let is_held = |r: u32| held.binary_search_by(|&(a, _)| a.cmp(&r)).is_ok();
        let routers: Vec<Vec<u32>> = s
            .subnets
            .iter()
            .map(|sn| {
                let mut r: Vec<u32> = sn
                    .cidrs
                    .iter()
                    .filter_map(router_of)
                    .map(u32::from)
                    .filter(|r| !is_held(*r))
                    .collect();
                r.sort_unstable();
                r.dedup();
                r
            })
            .collect();
        let mut pairs = Vec::with_capacity(held.len());
        let mut last: Option<u32> = None;
        for &(a, i) in &held {
            if last == Some(a) {
                continue;
            }
            // A VNIC whose subnet is not in the scenario does not take
            // the address (the next VNIC holding it may).
            let Some(rs) = s.vnics.get(i).and_then(|v| routers.get(v.subnet.index())) else {
                continue;
            };
            last = Some(a);
            let a = u64::from(a) << 32;
            // INVARIANT: addresses strictly increase from one VNIC
            // address to the next, and `rs` is sorted without repeats, so
            // `pairs` is sorted without repeats (what `holds` searches).
            pairs.extend(rs.iter().map(|r| a | u64::from(*r)));
        }
        VirtualRouters { pairs }
    }

    /// Whether `vnic` is a VNIC address and `router` its subnet's virtual
    /// router.
    fn holds(&self, vnic: Ipv4Addr, router: Ipv4Addr) -> bool {
        let key = u64::from(u32::from(vnic)) << 32 | u64::from(u32::from(router));
        self.pairs.binary_search(&key).is_ok()
    }

    /// Bytes of the list.
    pub(super) fn bytes(&self) -> usize {
        8 * self.pairs.len()
    }
}

/// The host prefix of every IPv4 subnet block's first address (blocks of
/// 4 addresses or more): the class of one that no VNIC holds gets
/// [`ClassInfo::VIRTUAL_ROUTER`].
pub(super) fn hosts(s: &Scenario) -> Vec<Pfx> {
    s.subnets
        .iter()
        .flat_map(|sn| sn.cidrs.iter())
        .filter_map(router_of)
        .map(|r| Pfx::host(IpAddr::V4(r)))
        .collect()
}

/// The virtual router's address of subnet block `c`: its first host, for
/// an IPv4 block of 4 addresses or more.
fn router_of(c: &IpNet) -> Option<Ipv4Addr> {
    match c {
        IpNet::V4(n) if n.prefix_len() <= 30 => {
            Some(Ipv4Addr::from(u32::from(n.network()).wrapping_add(1)))
        }
        _ => None,
    }
}

/// Whether `p` may be DHCP between a client and a server: UDP from port
/// 68 to 67 or from 67 to 68.
#[inline(always)]
pub(super) fn may_be_dhcp(p: &Packet) -> bool {
    p.proto == proto::UDP
        && matches!(
            p.l4,
            L4::Ports {
                sport: CLIENT,
                dport: SERVER
            } | L4::Ports {
                sport: SERVER,
                dport: CLIENT
            }
        )
}

impl Compiled {
    /// The judgement of `p` when it is DHCP between a VNIC and its
    /// subnet's virtual router (allowed, no layer, untracked), else
    /// `None`. An address in 169.254.0.0/16 or one the VCN delivers to no
    /// one decides first, as in the reference evaluator; `a` and `b` are
    /// the source's and destination's class flags.
    #[cold]
    #[inline(never)]
    pub(super) fn virtual_router_dhcp(&self, p: &Packet, a: u32, b: u32) -> Option<Fast> {
        if (a | b) & ClassInfo::VIRTUAL_ROUTER == 0
            || (a | b) & (ClassInfo::EXEMPT | ClassInfo::UNDELIVERABLE) != 0
        {
            return None;
        }
        let (IpAddr::V4(src), IpAddr::V4(dst), L4::Ports { sport, .. }) = (p.src, p.dst, p.l4)
        else {
            return None;
        };
        let (vnic, router) = if sport == CLIENT {
            (src, dst)
        } else {
            (dst, src)
        };
        self.routers.holds(vnic, router).then(exempt)
    }
}

#[cfg(test)]
#[path = "virtual_router_tests.rs"]
mod tests;
