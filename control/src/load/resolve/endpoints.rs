//! Subnets and VNICs: addresses inside their VCN or subnet and held once,
//! and the objects they name in the same VCN.

use std::net::IpAddr;

use ipnet::IpNet;

use super::addresses::{
    Overlap, Tagged, contained, find_overlap, list_cidrs, parse_cidr, parse_ip, sorted_cidrs,
};
use super::attributes::parse_attributes;
use super::{Ctx, HashMap, HashSet, Kind, Res, Resolver, id, label, label_into, limits, same_vcn};
use crate::ids::{NsgId, RouteTableId, SecurityListId, SubnetId, VcnId};
use crate::load::WarningCode;
use crate::load::raw::{RawPublicIp, RawScenario, Sp};
use crate::model::{PublicIp, Subnet, Vnic};

impl Resolver<'_> {
    /// Reads the subnets: CIDRs inside their VCN and not overlapping, route
    /// table and security lists of the same VCN.
    pub(super) fn subnets(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let vcns = &self.s.vcns;
        let vcn_sorted: Vec<Vec<IpNet>> =
            vcns.iter().map(|v| sorted_cidrs(&v.cidr_blocks)).collect();
        let (rt_vcns, sl_vcns) = (&self.rt_vcns, &self.sl_vcns);
        let vcn_names = &self.vcn_names;
        let vcn_name = |v: VcnId| {
            vcn_names
                .get(v.index())
                .map_or("", String::as_str)
                .to_owned()
        };
        let mut subnets = Vec::new();
        let mut subnet_cidrs: Vec<Tagged<(usize, usize)>> = Vec::new();
        // Per subnet, per block (in `cidrs` order): where it was written.
        let mut cidr_fields: Vec<Vec<(Option<usize>, &'static str)>> = Vec::new();
        for (si, s) in raw.subnet.iter().enumerate() {
            let object = label(Kind::Subnet, &s.name.value);
            let vcn = id(
                VcnId::new(ctx.lookup(Kind::Vcn, &s.vcn, &object, "vcn")?),
                ctx,
            )?;
            let vcn_blocks = &vcns[vcn.index()].cidr_blocks;
            let mut cidrs = Vec::new();
            let first = parse_cidr(&s.cidr_block.value)
                .map_err(|m| ctx.err(s.cidr_block.start(), &object, "cidr_block", m))?;
            let mut all: Vec<(IpNet, &Sp<String>, &'static str)> =
                vec![(first, &s.cidr_block, "cidr_block")];
            for (field, list, v6) in [
                ("ipv4_cidr_blocks", &s.ipv4_cidr_blocks, false),
                ("ipv6_cidr_blocks", &s.ipv6_cidr_blocks, true),
            ] {
                for c in list {
                    let net =
                        parse_cidr(&c.value).map_err(|m| ctx.err(c.start(), &object, field, m))?;
                    if matches!(net, IpNet::V6(_)) != v6 {
                        return Err(ctx.err(
                            c.start(),
                            &object,
                            field,
                            format!(
                                "`{}` is not an {} cidr block",
                                c.value,
                                if v6 { "ipv6" } else { "ipv4" }
                            ),
                        ));
                    }
                    // OCI lists the primary block among `ipv4-cidr-blocks`.
                    if !v6 && net == first {
                        continue;
                    }
                    all.push((net, c, field));
                }
            }
            for (ci, (net, src, field)) in all.iter().enumerate() {
                if !contained(&vcn_sorted[vcn.index()], net) {
                    return Err(ctx.err(
                        src.start(),
                        &object,
                        field,
                        format!(
                            "cidr block `{net}` is outside the cidr blocks of vcn `{}` ({})",
                            vcn_name(vcn),
                            list_cidrs(vcn_blocks)
                        ),
                    ));
                }
                subnet_cidrs.push((*net, (si, ci), subnet_cidrs.len()));
                cidrs.push(*net);
            }
            cidr_fields.push(
                all.iter()
                    .map(|(_, src, field)| (src.start(), *field))
                    .collect(),
            );
            let route_table = match &s.route_table {
                Some(r) => Some(route_table_in(
                    ctx, raw, rt_vcns, vcn_names, vcn, r, &object, "subnet",
                )?),
                None => None,
            };
            let mut security_lists = Vec::new();
            let mut seen = HashSet::default();
            for r in &s.security_lists {
                let i = ctx.lookup(Kind::SecurityList, r, &object, "security_lists")?;
                same_vcn(
                    ctx,
                    sl_vcns[i],
                    vcn,
                    Kind::SecurityList,
                    &raw.security_list[i].name.value,
                    r,
                    &object,
                    "security_lists",
                    vcn_names,
                    "subnet",
                )?;
                let sid = id(SecurityListId::new(i), ctx)?;
                if !seen.insert(sid) {
                    return Err(ctx.err(
                        r.start(),
                        &object,
                        "security_lists",
                        format!(
                            "security list `{}` is listed twice",
                            raw.security_list[i].name.value
                        ),
                    ));
                }
                security_lists.push(sid);
            }
            ctx.warn_past_oci_limit(
                s.security_lists
                    .first()
                    .and_then(Sp::start)
                    .or(s.name.start()),
                security_lists.len(),
                limits::SECURITY_LISTS_PER_SUBNET,
                |n| format!("{object} has {n} security lists"),
            );
            let stand_in = s.stand_in.unwrap_or(false);
            // Not given (a scenario written before the twentieth
            // session): what `stand_in` with no list (no table) meant then.
            let lists_unknown = s
                .security_lists_unknown
                .unwrap_or(stand_in && security_lists.is_empty());
            let table_unknown = s
                .route_table_unknown
                .unwrap_or(stand_in && route_table.is_none());
            subnets.push(Subnet {
                name: s.name.value.clone(),
                id: s.id.as_ref().map(|x| x.value.clone()),
                vcn,
                cidrs,
                route_table,
                security_lists,
                prohibit_public_ip: s.prohibit_public_ip.unwrap_or(false),
                prohibit_internet_ingress: s.prohibit_internet_ingress.unwrap_or(false),
                stand_in,
                lists_unknown,
                table_unknown,
                vnics_unknown: s.vnics_unknown.unwrap_or(false),
            });
        }
        // Overlapping subnets: group by VCN so neighbours are compared within one VCN.
        {
            let mut by_vcn: HashMap<VcnId, Vec<Tagged<(usize, usize)>>> = HashMap::default();
            for item in &subnet_cidrs {
                by_vcn.entry(subnets[item.1.0].vcn).or_default().push(*item);
            }
            let mut found: Option<Overlap<(usize, usize)>> = None;
            for items in by_vcn.values_mut() {
                if let Some(o) = find_overlap(items) {
                    // Keep the overlap whose later element comes first in the file.
                    if found.as_ref().is_none_or(|f| (o.1).1 < (f.1).1) {
                        found = Some(o);
                    }
                }
            }
            if let Some(((a, (sa, _)), (b, (sb, cb)))) = found {
                let s = &raw.subnet[sb];
                let (at, field) = cidr_fields
                    .get(sb)
                    .and_then(|f| f.get(cb))
                    .copied()
                    .unwrap_or((s.cidr_block.start(), "cidr_block"));
                let msg = if sa == sb {
                    format!("cidr block `{b}` overlaps cidr block `{a}` of the same subnet")
                } else {
                    format!(
                        "cidr block `{b}` overlaps cidr block `{a}` of subnet `{}`",
                        subnets[sa].name
                    )
                };
                return Err(ctx.err(at, &label(Kind::Subnet, &s.name.value), field, msg));
            }
        }
        self.s.subnets = subnets;
        Ok(())
    }

    /// Reads the VNICs: addresses inside their subnet and held once, NSGs and
    /// route table of the same VCN.
    pub(super) fn vnics(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let subnets = &self.s.subnets;
        // Subnet CIDRs were checked not to overlap: `contained` may search them.
        let subnet_sorted: Vec<Vec<IpNet>> =
            subnets.iter().map(|s| sorted_cidrs(&s.cidrs)).collect();
        let (rt_vcns, nsg_vcns) = (&self.rt_vcns, &self.nsg_vcns);
        let vcn_names = &self.vcn_names;
        let mut vnics = Vec::with_capacity(raw.vnic.len());
        // At least one address per vnic.
        let mut ip_owner: HashMap<IpAddr, usize> =
            HashMap::with_capacity_and_hasher(raw.vnic.len(), ahash::RandomState::default());
        // One buffer for every vnic's label (10^4 and more of them): built
        // by pushes, not `format!`, as `label` would.
        let mut object = String::new();
        // One set for every vnic's nsgs, emptied for each: not a new
        // set (its seed and first allocation) per vnic.
        let mut seen = HashSet::default();
        for (ni, v) in raw.vnic.iter().enumerate() {
            label_into(&mut object, Kind::Vnic, &v.name.value);
            let si = ctx.lookup(Kind::Subnet, &v.subnet, &object, "subnet")?;
            let subnet = &subnets[si];
            let vcn = subnet.vcn;
            if v.private_ips.is_empty() {
                return Err(ctx.err(
                    v.name.start(),
                    &object,
                    "private_ips",
                    "a vnic needs at least one private ip".to_owned(),
                ));
            }
            let mut ips = Vec::with_capacity(v.private_ips.len());
            for p in &v.private_ips {
                let ip = parse_ip(&p.value)
                    .map_err(|m| ctx.err(p.start(), &object, "private_ips", m))?;
                if !contained(&subnet_sorted[si], &IpNet::from(ip)) {
                    return Err(ctx.err(
                        p.start(),
                        &object,
                        "private_ips",
                        format!(
                            "address `{ip}` is outside subnet `{}` ({})",
                            subnet.name,
                            list_cidrs(&subnet.cidrs)
                        ),
                    ));
                }
                if let Some(&other) = ip_owner.get(&ip) {
                    let msg = if other == ni {
                        format!("address `{ip}` is listed twice")
                    } else {
                        format!(
                            "address `{ip}` is already held by vnic `{}`",
                            raw.vnic[other].name.value
                        )
                    };
                    return Err(ctx.err(p.start(), &object, "private_ips", msg));
                }
                ip_owner.insert(ip, ni);
                if let Some((what, block)) = reserved(&subnet.cidrs, ip) {
                    let drops = if what == LAST {
                        "; every packet to or from it drops at route, as a broadcast address (docs/semantics.md §2.1)"
                    } else {
                        ""
                    };
                    ctx.warn(
                        WarningCode::ReservedAddress,
                        p.start(),
                        format!(
                            "{object}: address `{ip}` is {what} of block {block} of subnet `{}`, which OCI reserves: no VNIC can hold it{drops}",
                            subnet.name
                        ),
                    );
                }
                ips.push(ip);
            }
            let mut nsgs = Vec::with_capacity(v.nsgs.len());
            seen.clear();
            for r in &v.nsgs {
                let i = ctx.lookup(Kind::Nsg, r, &object, "nsgs")?;
                same_vcn(
                    ctx,
                    nsg_vcns[i],
                    vcn,
                    Kind::Nsg,
                    &raw.nsg[i].name.value,
                    r,
                    &object,
                    "nsgs",
                    vcn_names,
                    "vnic",
                )?;
                let nid = id(NsgId::new(i), ctx)?;
                if !seen.insert(nid) {
                    return Err(ctx.err(
                        r.start(),
                        &object,
                        "nsgs",
                        format!("nsg `{}` is listed twice", raw.nsg[i].name.value),
                    ));
                }
                nsgs.push(nid);
            }
            ctx.warn_past_oci_limit(
                v.nsgs.first().and_then(Sp::start).or(v.name.start()),
                nsgs.len(),
                limits::NSGS_PER_VNIC,
                |n| format!("{object} is in {n} nsgs"),
            );
            let mut attributes = Vec::new();
            if let Some(a) = &v.security_attributes {
                let attrs = parse_attributes(ctx, a, &object)?;
                ctx.warn_past_oci_limit(a.start(), attrs.len(), limits::ATTRIBUTES_PER_VNIC, |n| {
                    format!("{object} has {n} security attributes")
                });
                attributes = attrs;
            }
            let route_table = match &v.route_table {
                Some(r) => Some(route_table_in(
                    ctx, raw, rt_vcns, vcn_names, vcn, r, &object, "vnic",
                )?),
                None => None,
            };
            let public_ip = match &v.public_ip {
                None => PublicIp::Unknown,
                Some(p) => {
                    let given = match &p.value {
                        RawPublicIp::Flag(false) => PublicIp::Absent,
                        RawPublicIp::Flag(true) => PublicIp::Present(None),
                        RawPublicIp::Address(a) => match a.parse::<std::net::Ipv4Addr>() {
                            Ok(a) => PublicIp::Present(Some(a)),
                            Err(_) => {
                                return Err(ctx.err(
                                    p.start(),
                                    &object,
                                    "public_ip",
                                    format!(
                                        "`{a}` is not an IPv4 address (give the VNIC's public IPv4 address, `true` or `false`)"
                                    ),
                                ));
                            }
                        },
                    };
                    // OCI refuses a public IP on a VNIC of a private subnet.
                    if matches!(given, PublicIp::Present(_))
                        && (subnet.prohibit_public_ip || subnet.prohibit_internet_ingress)
                    {
                        return Err(ctx.err(
                            p.start(),
                            &object,
                            "public_ip",
                            format!(
                                "subnet `{}` prohibits public IPs on its VNICs (`{}`), so this VNIC cannot have one",
                                subnet.name,
                                if subnet.prohibit_public_ip {
                                    "prohibit_public_ip = true"
                                } else {
                                    "prohibit_internet_ingress = true"
                                }
                            ),
                        ));
                    }
                    // OCI gives public IPs to private IPv4 addresses.
                    if matches!(given, PublicIp::Present(_)) && !ips.iter().any(IpAddr::is_ipv4) {
                        ctx.warn(
                            WarningCode::PublicIpWithoutIpv4,
                            p.start(),
                            format!(
                                "{object}: `public_ip` gives it a public IP, but it has no private IPv4 address for one to belong to (OCI gives public IPs to private IPv4s): it changes nothing"
                            ),
                        );
                    }
                    given
                }
            };
            vnics.push(Vnic {
                name: v.name.value.clone(),
                id: v.id.as_ref().map(|x| x.value.clone()),
                subnet: id(SubnetId::new(si), ctx)?,
                private_ips: ips,
                nsgs,
                attributes,
                route_table,
                kind: v.kind.clone().unwrap_or_else(|| "instance".to_owned()),
                kind_said: v.kind.is_some(),
                skip_source_dest_check: v.skip_source_dest_check,
                public_ip,
                stand_in: v.stand_in.unwrap_or(false),
            });
        }
        self.s.vnics = vnics;
        self.ip_owner = ip_owner;
        Ok(())
    }
}

/// The last address of an IPv4 block, in [`reserved`]'s words.
const LAST: &str = "the last address (its broadcast address)";

/// Whether `ip` is an address OCI reserves in one of `cidrs` (its
/// subnet's blocks): the first two of an IPv4 block (the network's and
/// the virtual router's) and the last ([`LAST`]); which, and the block.
fn reserved(cidrs: &[IpNet], ip: IpAddr) -> Option<(&'static str, IpNet)> {
    let IpAddr::V4(v4) = ip else { return None };
    cidrs.iter().find_map(|c| match c {
        IpNet::V4(n) if n.prefix_len() <= 30 && n.contains(&v4) => {
            let off = u32::from(v4) - u32::from(n.network());
            let what = if off == 0 {
                "the first address (the network's)"
            } else if off == 1 {
                "the second address (the virtual router's)"
            } else if v4 == n.broadcast() {
                LAST
            } else {
                return None;
            };
            Some((what, *c))
        }
        _ => None,
    })
}

/// The route table `r` (the `route_table` field of `object`, a subnet or
/// a VNIC: `own_word`) names, which must be in `vcn`, its owner's VCN.
#[allow(clippy::too_many_arguments)]
fn route_table_in(
    ctx: &Ctx<'_>,
    raw: &RawScenario,
    rt_vcns: &[VcnId],
    vcn_names: &[String],
    vcn: VcnId,
    r: &Sp<String>,
    object: &str,
    own_word: &str,
) -> Res<RouteTableId> {
    let i = ctx.lookup(Kind::RouteTable, r, object, "route_table")?;
    same_vcn(
        ctx,
        rt_vcns[i],
        vcn,
        Kind::RouteTable,
        &raw.route_table[i].name.value,
        r,
        object,
        "route_table",
        vcn_names,
        own_word,
    )?;
    id(RouteTableId::new(i), ctx)
}
