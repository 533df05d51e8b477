//! Service labels, VCNs, gateways, and the VCN of each route table,
//! security list and NSG.

use ipnet::IpNet;

use super::addresses::{Tagged, find_overlap, parse_cidr};
use super::attributes::parse_attributes;
use super::{HashMap, Kind, Res, Resolver, Warn, id, label, limits};
use crate::ids::{ServiceId, VcnId};
use crate::load::WarningCode;
use crate::load::raw::Sp;
use crate::model::{Gateway, GatewayKind, ServiceLabel, Vcn};

impl Resolver<'_> {
    /// Reads `[services]`.
    pub(super) fn services(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &self.ctx;
        let mut services = Vec::new();
        let mut service_ids: HashMap<String, ServiceId> = HashMap::default();
        if let Some(sv) = &raw.services {
            for (i, (name, cidrs)) in sv.value.0.iter().enumerate() {
                let object = format!("service label `{}`", name.value);
                let mut out = Vec::new();
                for c in cidrs {
                    out.push(parse_cidr(&c.value).map_err(|m| ctx.err(c.start(), &object, "", m))?);
                }
                service_ids.insert(name.value.clone(), id(ServiceId::new(i), ctx)?);
                services.push(ServiceLabel {
                    name: name.value.clone(),
                    cidrs: out,
                });
            }
        }
        self.s.services = services;
        self.service_ids = service_ids;
        Ok(())
    }

    /// Reads the VCNs and checks that no two share an address.
    pub(super) fn vcns(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let mut vcns = Vec::new();
        let mut vcn_blocks: Vec<Tagged<(usize, usize)>> = Vec::new();
        for (vi, v) in raw.vcn.iter().enumerate() {
            let object = label(Kind::Vcn, &v.name.value);
            if v.cidr_blocks.is_empty() && v.ipv6_private_cidr_blocks.is_empty() {
                return Err(ctx.err(
                    v.name.start(),
                    &object,
                    "cidr_blocks",
                    "a vcn needs at least one cidr block".to_owned(),
                ));
            }
            let mut blocks = Vec::new();
            for (bi, c) in v.cidr_blocks.iter().enumerate() {
                let net = parse_cidr(&c.value)
                    .map_err(|m| ctx.err(c.start(), &object, "cidr_blocks", m))?;
                vcn_blocks.push((net, (vi, bi), vcn_blocks.len()));
                blocks.push(net);
            }
            // Private IPv6 prefixes are blocks of the VCN too (an overlap
            // with any block is reported as for `cidr_blocks`).
            let mut private_v6 = Vec::new();
            for (pi, c) in v.ipv6_private_cidr_blocks.iter().enumerate() {
                let field = "ipv6_private_cidr_blocks";
                let net =
                    parse_cidr(&c.value).map_err(|m| ctx.err(c.start(), &object, field, m))?;
                if !matches!(net, IpNet::V6(_)) {
                    return Err(ctx.err(
                        c.start(),
                        &object,
                        field,
                        format!("`{net}` is not an IPv6 prefix: list IPv4 blocks in `cidr_blocks` (an IPv4 address reaches the internet through a public IP, `public_ip`)"),
                    ));
                }
                vcn_blocks.push((net, (vi, v.cidr_blocks.len() + pi), vcn_blocks.len()));
                blocks.push(net);
                private_v6.push(net);
            }
            let mut attribute = None;
            if let Some(a) = &v.security_attributes {
                let attrs = parse_attributes(ctx, a, &object)?;
                if attrs.len() > limits::ATTRIBUTES_PER_VCN {
                    let first = attrs
                        .first()
                        .map(|a| a.attribute.to_string())
                        .unwrap_or_default();
                    ctx.warn(
                        WarningCode::OciLimit,
                        a.start(),
                        format!(
                            "{object} has {} security attributes; OCI allows at most {}: only the first, `{first}`, is used",
                            attrs.len(),
                            limits::ATTRIBUTES_PER_VCN
                        ),
                    );
                }
                attribute = attrs.into_iter().next().map(|a| a.attribute);
            }
            vcns.push(Vcn {
                name: v.name.value.clone(),
                id: v.id.as_ref().map(|s| s.value.clone()),
                cidr_blocks: blocks,
                ipv6_private_cidr_blocks: private_v6,
                attribute,
                is_zpr_only: v.is_zpr_only.unwrap_or(false),
            });
        }
        if let Some(((a, (av, ab)), (b, (bv, bb)))) = find_overlap(&mut vcn_blocks) {
            // Index `bb` runs over `cidr_blocks`, then the private IPv6 ones.
            let (at, field) = raw.vcn.get(bv).map_or((None, "cidr_blocks"), |v| {
                match bb.checked_sub(v.cidr_blocks.len()) {
                    None => (v.cidr_blocks.get(bb).and_then(Sp::start), "cidr_blocks"),
                    Some(p) => (
                        v.ipv6_private_cidr_blocks.get(p).and_then(Sp::start),
                        "ipv6_private_cidr_blocks",
                    ),
                }
            });
            let _ = ab;
            let object = label(Kind::Vcn, &vcns[bv].name);
            let msg = if av == bv {
                format!("cidr block `{b}` overlaps cidr block `{a}` of the same vcn")
            } else {
                format!(
                    "cidr block `{b}` overlaps cidr block `{a}` of vcn `{}`; an address must belong to one vcn",
                    vcns[av].name
                )
            };
            return Err(ctx.err(at, &object, field, msg));
        }
        self.vcn_names = vcns.iter().map(|v| v.name.clone()).collect();
        self.s.vcns = vcns;
        Ok(())
    }

    /// Reads the gateways.
    pub(super) fn gateways(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &self.ctx;
        let mut gateways = Vec::new();
        for g in &raw.gateway {
            let object = label(Kind::Gateway, &g.name.value);
            let vcn = id(
                VcnId::new(ctx.lookup(Kind::Vcn, &g.vcn, &object, "vcn")?),
                ctx,
            )?;
            let kind = match g.kind.value.to_ascii_lowercase().as_str() {
                "internet" => GatewayKind::Internet,
                "nat" => GatewayKind::Nat,
                "service" => GatewayKind::Service,
                "drg" => GatewayKind::Drg,
                "lpg" => GatewayKind::Lpg,
                _ => {
                    return Err(ctx.err(
                        g.kind.start(),
                        &object,
                        "kind",
                        format!(
                            "`{}` is not `internet`, `nat`, `service`, `drg` or `lpg`",
                            g.kind.value
                        ),
                    ));
                }
            };
            // OCI's switches, each on the kinds that have it: a disabled
            // internet gateway, a NAT or service gateway blocking traffic.
            let mut blocked = false;
            for (field, flag, kinds, when_blocked) in [
                ("is_enabled", &g.is_enabled, "internet", false),
                ("block_traffic", &g.block_traffic, "nat` and `service", true),
            ] {
                let Some(flag) = flag else { continue };
                if !kinds.split("` and `").any(|k| k == kind.as_str()) {
                    return Err(ctx.err(
                        flag.start(),
                        &object,
                        field,
                        format!(
                            "`{field}` is a field of `{kinds}` gateways, not of a `{}` gateway",
                            kind.as_str()
                        ),
                    ));
                }
                blocked |= flag.value == when_blocked;
            }
            // A local peering gateway carries traffic only once peered.
            if let Some(st) = &g.peering_status {
                if kind != GatewayKind::Lpg {
                    return Err(ctx.err(
                        st.start(),
                        &object,
                        "peering_status",
                        format!(
                            "`peering_status` is a field of `lpg` gateways, not of a `{}` gateway",
                            kind.as_str()
                        ),
                    ));
                }
                const STATES: [&str; 5] = ["PEERED", "NEW", "PENDING", "REVOKED", "INVALID"];
                let Some(state) = STATES.iter().find(|s| s.eq_ignore_ascii_case(&st.value)) else {
                    return Err(ctx.err(
                        st.start(),
                        &object,
                        "peering_status",
                        format!(
                            "`{}` is not `PEERED`, `NEW`, `PENDING`, `REVOKED` or `INVALID`",
                            st.value
                        ),
                    ));
                };
                blocked |= *state != "PEERED";
            }
            // A stand-in (`zprsim import` made it up for a route rule's
            // target the export lacks) drops every packet whatever its
            // kind: a DRG's has no switch to say so.
            let stand_in = g.stand_in.unwrap_or(false);
            gateways.push(Gateway {
                name: g.name.value.clone(),
                id: g.id.as_ref().map(|s| s.value.clone()),
                vcn,
                kind,
                blocked: blocked || stand_in,
                stand_in,
            });
        }
        self.s.gateways = gateways;
        Ok(())
    }

    /// Finds the VCN of every route table, security list and NSG (subnets
    /// and VNICs need them before the rules are resolved).
    pub(super) fn owners(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &self.ctx;
        let mut rt_vcns = Vec::new();
        for t in &raw.route_table {
            let object = label(Kind::RouteTable, &t.name.value);
            rt_vcns.push(id(
                VcnId::new(ctx.lookup(Kind::Vcn, &t.vcn, &object, "vcn")?),
                ctx,
            )?);
        }
        let mut sl_vcns = Vec::new();
        for s in &raw.security_list {
            let object = label(Kind::SecurityList, &s.name.value);
            sl_vcns.push(id(
                VcnId::new(ctx.lookup(Kind::Vcn, &s.vcn, &object, "vcn")?),
                ctx,
            )?);
        }
        let mut nsg_vcns = Vec::new();
        for n in &raw.nsg {
            let object = label(Kind::Nsg, &n.name.value);
            nsg_vcns.push(id(
                VcnId::new(ctx.lookup(Kind::Vcn, &n.vcn, &object, "vcn")?),
                ctx,
            )?);
        }
        self.rt_vcns = rt_vcns;
        self.sl_vcns = sl_vcns;
        self.nsg_vcns = nsg_vcns;
        Ok(())
    }
}
