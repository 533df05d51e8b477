//! Subnets: CIDRs inside their VCN and not overlapping, and the objects
//! they name in the same VCN (and the route table check VNICs share).

use ipnet::IpNet;

use super::addresses::{
    Overlap, Tagged, contained, find_overlap, list_cidrs, parse_cidr, sorted_cidrs,
};
use super::{Ctx, HashMap, HashSet, Kind, Res, Resolver, Warn, id, label, limits, same_vcn};
use crate::ids::{RouteTableId, SecurityListId, VcnId};
use crate::load::raw::{RawScenario, Sp};
use crate::model::Subnet;

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
}

/// The route table `r` (the `route_table` field of `object`, a subnet or
/// a VNIC: `own_word`) names, which must be in `vcn`, its owner's VCN.
#[allow(clippy::too_many_arguments)]
pub(super) fn route_table_in(
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
