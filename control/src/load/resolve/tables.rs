//! Route tables, security lists and NSGs with their rules.

use std::net::IpAddr;

use ipnet::IpNet;

use super::addresses::parse_cidr;
use super::rules::{RuleIn, World, resolve_rule};
use super::{Kind, Res, Resolver, Warn, id, label, limits};
use crate::ids::{GatewayId, VcnId, VnicId};
use crate::load::WarningCode;
use crate::model::{
    Direction, GatewayKind, Nsg, RouteDestination, RouteRule, RouteTable, RouteTarget, SecurityList,
};

impl Resolver<'_> {
    /// Reads the route tables and resolves each rule's destination and target.
    pub(super) fn route_tables(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let (gateways, subnets, vnics) = (&self.s.gateways, &self.s.subnets, &self.s.vnics);
        let (rt_vcns, service_ids, ip_owner) = (&self.rt_vcns, &self.service_ids, &self.ip_owner);
        let vcn_names = &self.vcn_names;
        let vcn_name = |v: VcnId| {
            vcn_names
                .get(v.index())
                .map_or("", String::as_str)
                .to_owned()
        };
        let mut route_tables = Vec::new();
        for (ti, t) in raw.route_table.iter().enumerate() {
            let object = label(Kind::RouteTable, &t.name.value);
            let vcn = rt_vcns[ti];
            ctx.warn_past_oci_limit(
                t.name.start(),
                t.route_rules.len(),
                limits::RULES_PER_ROUTE_TABLE,
                |n| format!("{object} has {n} rules"),
            );
            let mut rules = Vec::new();
            for (ri, rule) in t.route_rules.iter().enumerate() {
                let r = &rule.value;
                let path = format!("route_rules[{ri}]");
                let service = match &r.destination_type {
                    None => false,
                    Some(dt) => match dt.value.to_ascii_uppercase().as_str() {
                        "CIDR_BLOCK" => false,
                        "SERVICE_CIDR_BLOCK" => true,
                        _ => {
                            return Err(ctx.err(
                                dt.start(),
                                &object,
                                &format!("{path}.destination_type"),
                                format!(
                                    "`{}` is not `CIDR_BLOCK` or `SERVICE_CIDR_BLOCK`",
                                    dt.value
                                ),
                            ));
                        }
                    },
                };
                let dest_field = format!("{path}.destination");
                let destination = if service {
                    match service_ids.get(&r.destination.value) {
                        Some(&s) => RouteDestination::Service(s),
                        None => {
                            return Err(ctx.err(
                                r.destination.start(),
                                &object,
                                &dest_field,
                                format!(
                                    "service label `{}` is not defined in [services]",
                                    r.destination.value
                                ),
                            ));
                        }
                    }
                } else {
                    RouteDestination::Cidr(
                        parse_cidr(&r.destination.value)
                            .map_err(|m| ctx.err(r.destination.start(), &object, &dest_field, m))?,
                    )
                };
                let ne = &r.network_entity;
                let ne_field = format!("{path}.network_entity");
                let target = if let Some(gi) =
                    ctx.index(Kind::Gateway).and_then(|ix| ix.get(&ne.value))
                {
                    let g = &gateways[gi];
                    if g.vcn != vcn {
                        return Err(ctx.err(
                            ne.start(),
                            &object,
                            &ne_field,
                            format!(
                                "gateway `{}` belongs to vcn `{}`, not to vcn `{}` of this route table",
                                g.name,
                                vcn_name(g.vcn),
                                vcn_name(vcn)
                            ),
                        ));
                    }
                    if service && g.kind != GatewayKind::Service {
                        return Err(ctx.err(
                            ne.start(),
                            &object,
                            &ne_field,
                            format!(
                                "a `SERVICE_CIDR_BLOCK` rule must target a service gateway; `{}` is a {} gateway",
                                g.name,
                                g.kind.as_str()
                            ),
                        ));
                    }
                    // OCI's NAT and service gateways carry IPv4 only
                    // (semantics §2): the console refuses such a rule, and
                    // the engines drop what it would carry.
                    if matches!(destination, RouteDestination::Cidr(IpNet::V6(_)))
                        && matches!(g.kind, GatewayKind::Nat | GatewayKind::Service)
                    {
                        ctx.warn(
                            WarningCode::Ipv4OnlyGateway,
                            ne.start(),
                            format!(
                                "{object}: {path} sends IPv6 `{}` to {} gateway `{}`, which carries IPv4 only: its traffic is dropped (NO_ROUTE); IPv6 leaves a VCN through an internet gateway, a DRG or an LPG",
                                r.destination.value,
                                g.kind.as_str(),
                                g.name
                            ),
                        );
                    }
                    RouteTarget::Gateway(id(GatewayId::new(gi), ctx)?)
                } else if let Ok(ip) = ne.value.trim().parse::<IpAddr>() {
                    let Some(&vi) = ip_owner.get(&ip) else {
                        return Err(ctx.err(
                            ne.start(),
                            &object,
                            &ne_field,
                            format!("no vnic holds private ip `{ip}`"),
                        ));
                    };
                    let owner_vcn = subnets[vnics[vi].subnet.index()].vcn;
                    if owner_vcn != vcn {
                        return Err(ctx.err(
                            ne.start(),
                            &object,
                            &ne_field,
                            format!(
                                "private ip `{ip}` of vnic `{}` is in vcn `{}`, not in vcn `{}` of this route table",
                                vnics[vi].name,
                                vcn_name(owner_vcn),
                                vcn_name(vcn)
                            ),
                        ));
                    }
                    if service {
                        return Err(ctx.err(
                            ne.start(),
                            &object,
                            &ne_field,
                            format!(
                                "a `SERVICE_CIDR_BLOCK` rule must target a service gateway, not private ip `{ip}`"
                            ),
                        ));
                    }
                    RouteTarget::PrivateIp {
                        ip,
                        vnic: id(VnicId::new(vi), ctx)?,
                    }
                } else {
                    // Neither a gateway nor an address: say what it is, if anything.
                    let message = match ctx.what_is(&ne.value) {
                        Some(k) => format!(
                            "`{}` is {}, not a gateway or a private ip",
                            ne.value,
                            k.with_article()
                        ),
                        None => format!(
                            "no gateway has the name or id `{}`, and it is not an ip address",
                            ne.value
                        ),
                    };
                    return Err(ctx.err(ne.start(), &object, &ne_field, message));
                };
                rules.push(RouteRule {
                    destination,
                    target,
                    description: r.description.clone(),
                });
            }
            route_tables.push(RouteTable {
                name: t.name.value.clone(),
                id: t.id.as_ref().map(|x| x.value.clone()),
                vcn,
                rules,
                stand_in: t.stand_in.unwrap_or(false),
            });
        }
        self.s.route_tables = route_tables;
        Ok(())
    }

    /// Reads the security lists.
    pub(super) fn security_lists(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let sl_vcns = &self.sl_vcns;
        let nsg_names: Vec<String> = raw.nsg.iter().map(|n| n.name.value.clone()).collect();
        let world = World {
            services: &self.service_ids,
            nsg_vcns: &self.nsg_vcns,
            nsg_names: &nsg_names,
            vcn_names: &self.vcn_names,
        };
        let mut security_lists = Vec::new();
        for (li, l) in raw.security_list.iter().enumerate() {
            let object = label(Kind::SecurityList, &l.name.value);
            let vcn = sl_vcns[li];
            for (n, dir) in [
                (l.ingress_security_rules.len(), "ingress"),
                (l.egress_security_rules.len(), "egress"),
            ] {
                ctx.warn_past_oci_limit(l.name.start(), n, limits::RULES_PER_LIST_DIRECTION, |n| {
                    format!("{object} has {n} {dir} rules")
                });
            }
            let mut ingress = Vec::new();
            for (i, r) in l.ingress_security_rules.iter().enumerate() {
                let r = &r.value;
                let rin = RuleIn {
                    direction: Direction::Ingress,
                    protocol: &r.protocol,
                    peer: &r.source,
                    peer_field: "source",
                    peer_type: r.source_type.as_ref(),
                    is_stateless: r.is_stateless,
                    tcp: r.tcp_options.as_ref(),
                    udp: r.udp_options.as_ref(),
                    icmp: r.icmp_options.as_ref(),
                    description: r.description.as_ref(),
                    list: "ingress_security_rules",
                    index: i,
                };
                ingress.push(resolve_rule(ctx, &rin, &object, vcn, false, &world)?);
            }
            let mut egress = Vec::new();
            for (i, r) in l.egress_security_rules.iter().enumerate() {
                let r = &r.value;
                let rin = RuleIn {
                    direction: Direction::Egress,
                    protocol: &r.protocol,
                    peer: &r.destination,
                    peer_field: "destination",
                    peer_type: r.destination_type.as_ref(),
                    is_stateless: r.is_stateless,
                    tcp: r.tcp_options.as_ref(),
                    udp: r.udp_options.as_ref(),
                    icmp: r.icmp_options.as_ref(),
                    description: r.description.as_ref(),
                    list: "egress_security_rules",
                    index: i,
                };
                egress.push(resolve_rule(ctx, &rin, &object, vcn, false, &world)?);
            }
            security_lists.push(SecurityList {
                name: l.name.value.clone(),
                id: l.id.as_ref().map(|x| x.value.clone()),
                vcn,
                ingress,
                egress,
                stand_in: l.stand_in.unwrap_or(false),
            });
        }
        self.s.security_lists = security_lists;
        Ok(())
    }

    /// Reads the NSGs.
    pub(super) fn nsgs(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let nsg_names: Vec<String> = raw.nsg.iter().map(|n| n.name.value.clone()).collect();
        let world = World {
            services: &self.service_ids,
            nsg_vcns: &self.nsg_vcns,
            nsg_names: &nsg_names,
            vcn_names: &self.vcn_names,
        };
        let mut nsgs = Vec::new();
        for (ni, n) in raw.nsg.iter().enumerate() {
            let object = label(Kind::Nsg, &n.name.value);
            let vcn = self.nsg_vcns[ni];
            ctx.warn_past_oci_limit(n.name.start(), n.rules.len(), limits::RULES_PER_NSG, |k| {
                format!("{object} has {k} rules")
            });
            let mut rules = Vec::new();
            for (i, rule) in n.rules.iter().enumerate() {
                let r = &rule.value;
                // Formatted for a message only.
                let path = || format!("rules[{i}]");
                let direction = match r.direction.value.to_ascii_uppercase().as_str() {
                    "INGRESS" => Direction::Ingress,
                    "EGRESS" => Direction::Egress,
                    _ => {
                        return Err(ctx.err(
                            r.direction.start(),
                            &object,
                            &format!("{}.direction", path()),
                            format!("`{}` is not `INGRESS` or `EGRESS`", r.direction.value),
                        ));
                    }
                };
                let (peer, peer_type, wrong, peer_field, wrong_field) = match direction {
                    Direction::Ingress => (
                        &r.source,
                        &r.source_type,
                        r.destination.as_ref().or(r.destination_type.as_ref()),
                        "source",
                        "destination",
                    ),
                    Direction::Egress => (
                        &r.destination,
                        &r.destination_type,
                        r.source.as_ref().or(r.source_type.as_ref()),
                        "destination",
                        "source",
                    ),
                };
                if let Some(w) = wrong {
                    return Err(ctx.err(
                        w.start(),
                        &object,
                        &format!("{}.{wrong_field}", path()),
                        format!(
                            "an {} rule takes `{peer_field}`, not `{wrong_field}`",
                            direction.as_str().to_ascii_lowercase()
                        ),
                    ));
                }
                let Some(peer) = peer else {
                    return Err(ctx.err(
                        rule.start(),
                        &object,
                        &path(),
                        format!(
                            "an {} rule needs `{peer_field}`",
                            direction.as_str().to_ascii_lowercase()
                        ),
                    ));
                };
                let rin = RuleIn {
                    direction,
                    protocol: &r.protocol,
                    peer,
                    peer_field,
                    peer_type: peer_type.as_ref(),
                    is_stateless: r.is_stateless,
                    tcp: r.tcp_options.as_ref(),
                    udp: r.udp_options.as_ref(),
                    icmp: r.icmp_options.as_ref(),
                    description: r.description.as_ref(),
                    list: "rules",
                    index: i,
                };
                rules.push(resolve_rule(ctx, &rin, &object, vcn, true, &world)?);
            }
            nsgs.push(Nsg {
                name: n.name.value.clone(),
                id: n.id.as_ref().map(|x| x.value.clone()),
                vcn,
                rules,
                stand_in: n.stand_in.unwrap_or(false),
            });
        }
        self.s.nsgs = nsgs;
        Ok(())
    }
}
