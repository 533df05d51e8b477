//! The route layer's table.

use super::*;
use std::net::IpAddr;

/// What the route layer needs of a source or destination VNIC: its route
/// table, its subnet, and whether an internet gateway carries its IPv4 and
/// its IPv6 traffic (VNICs that differ only there are different keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct RouteVnic {
    /// The table that applies (the VNIC's own, else its subnet's).
    pub table: Option<RouteTableId>,
    /// Its subnet.
    pub subnet: SubnetId,
    /// An internet gateway carries its IPv4 traffic: it may have a public
    /// IP (its subnet allows them, and the VNIC does not say that its
    /// primary private IPv4, this address, has none).
    pub igw_v4: bool,
    /// An internet gateway carries its IPv6 traffic: its subnet does not
    /// prohibit internet ingress, and this address is of a global prefix
    /// (not a ULA, `fc00::/7`, nor in a private IPv6 prefix of its VCN).
    pub igw_v6: bool,
}

impl RouteVnic {
    /// The route layer's view of VNIC `v` at its address `own` (`None`
    /// when the key's node is none of its addresses). `public_ip` speaks
    /// of the primary private IPv4 (the VNIC's first IPv4).
    pub(super) fn of(s: &Scenario, v: VnicId, own: Option<IpAddr>) -> Self {
        let vnic = &s.vnics[v.index()];
        let sn = &s.subnets[vnic.subnet.index()];
        let primary_v4 =
            own.is_some_and(|a| vnic.private_ips.iter().find(|p| p.is_ipv4()) == Some(&a));
        let global_v6 = match own {
            Some(IpAddr::V6(a)) => {
                // Unique local addresses, fc00::/7 (RFC 4193).
                let ula = Pfx {
                    fam: 6,
                    addr: 0xfc00_u128 << 112,
                    len: 7,
                };
                let host = Pfx::host(IpAddr::V6(a));
                !ula.covers(host)
                    && !s.vcns[sn.vcn.index()]
                        .ipv6_private_cidr_blocks
                        .iter()
                        .any(|p| Pfx::from(*p).covers(host))
            }
            _ => true,
        };
        RouteVnic {
            table: s.effective_route_table(v),
            subnet: vnic.subnet,
            igw_v4: !sn.prohibit_public_ip
                && !sn.prohibit_internet_ingress
                && (!primary_v4 || vnic.public_ip != crate::model::PublicIp::Absent),
            igw_v6: !sn.prohibit_internet_ingress && global_v6,
        }
    }
}

/// Whether a VNIC's route rules are not all known: its table is a stand-in
/// (made up by `zprsim import` for one the export lacks), or it has none
/// and its subnet's table is unknown (lost with a made-up subnet).
fn routes_unknown(s: &Scenario, rv: RouteVnic) -> bool {
    table_unknown(s, rv.table, rv.subnet)
}

/// Whether the route rules of a VNIC routing by `table` (its own, else
/// its subnet's), in `subnet`, are not all known ([`routes_unknown`]).
pub(in crate::compile) fn table_unknown(
    s: &Scenario,
    table: Option<RouteTableId>,
    subnet: SubnetId,
) -> bool {
    match table {
        Some(t) => s.route_tables[t.index()].stand_in,
        None => s.subnets[subnet.index()].table_unknown,
    }
}

impl Builder<'_> {
    pub(super) fn build_route(
        &self,
        keys: &[(Option<NodeId>, Option<RouteVnic>)],
        vcn_marks: &[Option<VcnId>],
    ) -> Result<Vec<u32>, CompileError> {
        let s = self.s;
        let tree = &self.tree;
        let n = keys.len();
        let cells = n.saturating_mul(n);
        if cells.saturating_mul(4) > self.cfg.max_table_bytes {
            return Err(CompileError::TooLarge {
                given: cells.saturating_mul(4),
                limit: self.cfg.max_table_bytes,
            });
        }
        // Static prefixes of each table: node -> lowest rule index.
        let mut statics: Vec<HashMap<NodeId, u32>> = Vec::with_capacity(s.route_tables.len());
        for t in &s.route_tables {
            let mut m: HashMap<NodeId, u32> = HashMap::default();
            for (i, r) in t.rules.iter().enumerate() {
                let Ok(index) = u32::try_from(i) else {
                    continue;
                };
                let ps: Vec<Pfx> = match &r.destination {
                    RouteDestination::Cidr(c) => vec![Pfx::from(*c)],
                    RouteDestination::Service(l) => {
                        s.service_cidrs(*l).iter().map(|c| Pfx::from(*c)).collect()
                    }
                };
                for p in ps {
                    if let Some(node) = tree.find(p) {
                        m.entry(node).or_insert(index);
                    }
                }
            }
            statics.push(m);
        }
        let vcn_of_region =
            |r: Option<NodeId>| r.and_then(|r| tree.chain(r).find_map(|a| vcn_marks[a as usize]));
        // The longest-prefix winner for an address whose deepest
        // route-relevant node is `region`: `Local`, a static rule (with its
        // cell bits' rule id), or nothing.
        enum Hit<'r> {
            Local,
            Static(u32, &'r RouteTarget),
        }
        // Every route rule by its position over all tables, for the memo.
        let mut table_start: Vec<usize> = Vec::with_capacity(s.route_tables.len());
        let mut static_rules: Vec<(u32, &RouteTarget)> = Vec::new();
        for (t, table) in s.route_tables.iter().enumerate() {
            table_start.push(static_rules.len());
            let Ok(tid) = RouteTableId::new(t) else {
                continue;
            };
            for (i, r) in table.rules.iter().enumerate() {
                let Ok(index) = u32::try_from(i) else {
                    continue;
                };
                let id = self.route_rule_gid.get(&(tid, index)).copied().unwrap_or(0) + 1;
                static_rules.push((id, &r.target));
            }
        }
        // The winner as a memo cell: 0 nothing, 1 local, 2 + the rule's
        // position in `static_rules`.
        let lookup = |table: Option<RouteTableId>, vcn: VcnId, region: Option<NodeId>| -> u32 {
            let Some(region) = region else { return 0 };
            for a in tree.chain(region) {
                if let Some(t) = table
                    && let Some(&i) = statics[t.index()].get(&a)
                {
                    let at = table_start[t.index()] + i as usize;
                    return u32::try_from(at).map_or(0, |x| x.saturating_add(2));
                }
                if vcn_marks[a as usize] == Some(vcn) {
                    return 1;
                }
            }
            0
        };
        let hit = |m: u32| -> Option<Hit<'_>> {
            match m {
                0 => None,
                1 => Some(Hit::Local),
                k => static_rules
                    .get((k - 2) as usize)
                    .map(|&(id, target)| Hit::Static(id, target)),
            }
        };
        // The lookup depends on the key's (table, VCN) and the other key's
        // region only: done once per distinct (table, VCN) and key, not per
        // cell (a few route tables, hundreds of keys). At most as many
        // cells as the table itself, whose size was checked above.
        let mut memo_of: HashMap<(Option<RouteTableId>, VcnId), usize> = HashMap::default();
        let mut memo: Vec<Vec<u32>> = Vec::new();
        let key_memo: Vec<Option<usize>> = keys
            .iter()
            .map(|(_, vnic)| {
                let RouteVnic { table, subnet, .. } = (*vnic)?;
                let vcn = s.subnets[subnet.index()].vcn;
                let next = memo.len();
                Some(*memo_of.entry((table, vcn)).or_insert_with(|| {
                    memo.push(keys.iter().map(|(r, _)| lookup(table, vcn, *r)).collect());
                    next
                }))
            })
            .collect();
        // Each key's VCN as a destination, and each subnet's prefixes.
        let dst_vcns: Vec<Option<VcnId>> = keys
            .iter()
            .map(|(region, vnic)| match vnic {
                Some(rv) => Some(s.subnets[rv.subnet.index()].vcn),
                None => vcn_of_region(*region),
            })
            .collect();
        let subnet_pfx: Vec<Vec<Pfx>> = s
            .subnets
            .iter()
            .map(|sn| sn.cidrs.iter().map(|c| Pfx::from(*c)).collect())
            .collect();
        // A disabled or blocking gateway, an internet gateway for a VNIC
        // it does not carry (IPv4 without a public IP; IPv6 of a subnet
        // that prohibits internet ingress, or a ULA or private-prefix
        // address: `RouteVnic::igw_v6`), or a NAT or service gateway for
        // IPv6 (they carry IPv4 only): its rule decides, and nothing
        // passes.
        let blocked = |target: &RouteTarget, rv: &RouteVnic, v4: bool| match target {
            RouteTarget::Gateway(g) => {
                use crate::model::GatewayKind;
                let g = &s.gateways[g.index()];
                g.blocked
                    || match g.kind {
                        GatewayKind::Internet => !(if v4 { rv.igw_v4 } else { rv.igw_v6 }),
                        GatewayKind::Nat | GatewayKind::Service => !v4,
                        GatewayKind::Drg | GatewayKind::Lpg => false,
                    }
            }
            RouteTarget::PrivateIp { vnic, .. } => {
                s.vnics[vnic.index()].skip_source_dest_check == Some(false)
            }
        };
        const PASS: u32 = RouteEntry::FIRST_OK | RouteEntry::REPLY_OK;
        const FORWARDED: u32 = 1 << 30;
        const DIRECT: u32 = 2 << 30;
        let mut out = vec![0u32; cells];
        let v4 = |r: Option<NodeId>| r.is_some_and(|r| tree.nodes[r as usize].fam == 4);
        for (ai, (a_region, a_vnic)) in keys.iter().enumerate() {
            let a_memo = key_memo[ai].map(|m| &memo[m]);
            for (bi, (b_region, b_vnic)) in keys.iter().enumerate() {
                let cell = match (a_vnic, b_vnic) {
                    (None, None) => 0,
                    // From a VNIC: same subnet is direct; else the LPM over its
                    // table and VCN, and another VCN needs a DRG, LPG or private IP.
                    (Some(rv), _) => {
                        let subnet = rv.subnet;
                        let sn = &s.subnets[subnet.index()];
                        let direct = b_region.is_some_and(|r| {
                            subnet_pfx[subnet.index()]
                                .iter()
                                .any(|p| p.covers(tree.nodes[r as usize]))
                        });
                        let dst_vcn = dst_vcns[bi];
                        match a_memo.and_then(|m| hit(m[bi])) {
                            _ if direct => PASS | DIRECT,
                            None => 0,
                            // A table the export lacks may send an address
                            // of the VCN outside the subnet to a private IP
                            // that drops it, or a gateway that blocks
                            // (since the twentieth session).
                            Some(Hit::Local) if routes_unknown(s, *rv) => 0,
                            Some(Hit::Local) => PASS | FORWARDED,
                            Some(Hit::Static(id, target)) if blocked(target, rv, v4(*b_region)) => {
                                id
                            }
                            Some(Hit::Static(id, target)) => {
                                let reaches = match target {
                                    RouteTarget::Gateway(g) => {
                                        s.gateways[g.index()].kind.reaches_other_vcn()
                                    }
                                    RouteTarget::PrivateIp { .. } => true,
                                };
                                if dst_vcn.is_some_and(|d| d != sn.vcn) && !reaches {
                                    id
                                } else {
                                    id | PASS | FORWARDED
                                }
                            }
                        }
                    }
                    // From outside to a VNIC: the return path in its table; NAT
                    // and service gateways and private IPs admit replies only.
                    // From an address of its own subnet: direct, as the
                    // other way round (since the twentieth session).
                    (None, Some(b_rv)) => match key_memo[bi].and_then(|m| hit(memo[m][ai])) {
                        _ if a_region.is_some_and(|r| {
                            subnet_pfx[b_rv.subnet.index()]
                                .iter()
                                .any(|p| p.covers(tree.nodes[r as usize]))
                        }) =>
                        {
                            PASS | DIRECT
                        }
                        None => 0,
                        // A table the export lacks may hold a longer rule for
                        // the source that admits replies only, or none.
                        Some(Hit::Local) if routes_unknown(s, *b_rv) => 0,
                        Some(Hit::Local) => PASS | FORWARDED,
                        Some(Hit::Static(id, target)) if blocked(target, b_rv, v4(*a_region)) => id,
                        Some(Hit::Static(id, target)) => {
                            let admits = match target {
                                RouteTarget::Gateway(g) => {
                                    s.gateways[g.index()].kind.admits_inbound()
                                }
                                RouteTarget::PrivateIp { .. } => false,
                            };
                            let first = if admits { RouteEntry::FIRST_OK } else { 0 };
                            id | first | RouteEntry::REPLY_OK | FORWARDED
                        }
                    },
                };
                out[ai * n + bi] = cell;
            }
        }
        Ok(out)
    }
}
