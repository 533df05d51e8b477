//! Addresses a VCN delivers no packet to or from (docs/semantics.md §2.1,
//! decision 35): multicast (`224.0.0.0/4`, `ff00::/8`), the limited
//! broadcast address, `0.0.0.0/8` ("this network") and the last address
//! of every IPv4 subnet block (its broadcast address, which OCI reserves).
//! Compiled as prefixes of the tree: every node they cover gets
//! `ClassInfo::UNDELIVERABLE`, and a packet with such an address on either
//! side drops at route before any table is read. The reference evaluator
//! asks the same of the address directly (`eval::undeliverable`); the
//! differential tests hold the two equal.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::super::prefix::Pfx;
use crate::model::Scenario;

/// The prefixes: the fixed ranges, then each IPv4 subnet block's last
/// address (a /32 block is one address, no broadcast).
pub(super) fn prefixes(s: &Scenario) -> Vec<Pfx> {
    let fixed = [
        (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8),
        (IpAddr::V4(Ipv4Addr::new(224, 0, 0, 0)), 4),
        (IpAddr::V4(Ipv4Addr::BROADCAST), 32),
        (IpAddr::V6(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0)), 8),
    ];
    let mut out: Vec<Pfx> = fixed
        .iter()
        .filter_map(|(a, len)| IpNet::new(*a, *len).ok().map(Pfx::from))
        .collect();
    for sn in &s.subnets {
        for c in &sn.cidrs {
            if let IpNet::V4(n) = c
                && n.prefix_len() < 32
            {
                out.push(Pfx::host(IpAddr::V4(n.broadcast())));
            }
        }
    }
    out
}
