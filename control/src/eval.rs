//! The reference evaluator: a slow, obviously correct interpreter of
//! `docs/semantics.md` that reads the scenario's rules directly.
//!
//! It is the oracle the compiled tables are tested against, and the source
//! of the per-layer detail `zprsim explain` prints. Every function here
//! follows one sentence of the semantics; nothing is precomputed, nothing is
//! clever. Speed does not matter here; being easy to check does.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use crate::ids::{RouteTableId, SecurityListId, SubnetId, VcnId, VnicId};
use crate::model::{
    AddressIndex, Attribute, Direction, Peer, Protocol, RouteDestination, RouteTarget, RuleOptions,
    Scenario, SecurityRule, StatementRef, proto,
};
use crate::packet::{L4, Packet};
use crate::verdict::{
    Context, Deciders, Decision, Judgement, LayerReport, Outcome, RuleRef, SecurityRuleDetail,
    Stage, Tracking, Verdict, ZprCheck,
};
use crate::zpl::ast::{ConnectionState, Endpoint as Term, StatementKind};

// Model queries the evaluator shares with the compiler and the CLI live in
// the model; re-exported here so `eval::endpoint_of` and friends still work.
pub use crate::model::{Endpoint, ZprRole, endpoint_of, vcn_containing, vnic_nsgs, zpr_role};

/// The VCN an endpoint belongs to, if any.
#[must_use]
pub fn endpoint_vcn(s: &Scenario, ep: Endpoint) -> Option<VcnId> {
    match ep {
        Endpoint::Vnic(v) => Some(s.vnic_vcn(v)),
        Endpoint::Unassigned(vcn) => Some(vcn),
        Endpoint::External => None,
    }
}

/// The link-local range that never leaves the host.
const LINK_LOCAL: Ipv4Addr = Ipv4Addr::new(169, 254, 0, 0);

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.octets()[..2] == LINK_LOCAL.octets()[..2],
        IpAddr::V6(_) => false,
    }
}

/// Why OCI delivers a packet to or from `ip` to no one (semantics §2.1,
/// decision 35): a multicast address (`224.0.0.0/4`, `ff00::/8`), the
/// limited broadcast address, an address of `0.0.0.0/8` ("this network"),
/// or the last address of an IPv4 subnet CIDR (its broadcast address,
/// which OCI reserves). A VCN carries unicast only. `None` for any other
/// address.
#[must_use]
pub fn undeliverable(s: &Scenario, ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) if v4.is_multicast() => Some(format!(
            "{ip} is a multicast address, and a VCN carries no multicast"
        )),
        IpAddr::V6(v6) if v6.is_multicast() => Some(format!(
            "{ip} is a multicast address, and a VCN carries no multicast"
        )),
        IpAddr::V4(v4) if v4.is_broadcast() => Some(format!(
            "{ip} is the limited broadcast address, and a VCN carries no broadcast"
        )),
        IpAddr::V4(v4) if v4.octets()[0] == 0 => Some(format!(
            "{ip} is in 0.0.0.0/8 (this network), never an address a VCN delivers to or from"
        )),
        IpAddr::V4(_) => s.subnets.iter().find_map(|sn| {
            sn.cidrs.iter().find_map(|c| match c {
                IpNet::V4(n) if n.prefix_len() < 32 && IpAddr::V4(n.broadcast()) == ip => {
                    Some(format!(
                        "{ip} is the broadcast address of subnet `{}` ({c}), which OCI reserves, and a VCN carries no broadcast",
                        sn.name
                    ))
                }
                _ => None,
            })
        }),
        IpAddr::V6(_) => None,
    }
}

/// Why `p` is DHCP between a VNIC and its subnet's virtual router
/// (semantics §2.1, decision 36), or `None`: UDP from port 68 of a VNIC's
/// IPv4 address to port 67 of the first host of an IPv4 CIDR of the
/// VNIC's subnet (4 addresses or more), or from that port 67 back to port
/// 68, when no VNIC holds the router's address. The Networking service
/// answers DHCP itself: no layer applies, as to 169.254.0.0/16. An address
/// the VCN delivers to no one ([`undeliverable`]) is not: route drops it.
#[must_use]
pub fn virtual_router_dhcp(
    s: &Scenario,
    src: Endpoint,
    dst: Endpoint,
    p: &Packet,
) -> Option<String> {
    if p.proto != crate::model::proto::UDP {
        return None;
    }
    let (vnic, router) = match p.l4 {
        L4::Ports {
            sport: 68,
            dport: 67,
        } => (src, p.dst),
        L4::Ports {
            sport: 67,
            dport: 68,
        } => (dst, p.src),
        _ => return None,
    };
    let (Endpoint::Vnic(v), IpAddr::V4(router)) = (vnic, router) else {
        return None;
    };
    if !p.src.is_ipv4()
        || undeliverable(s, p.src).is_some()
        || undeliverable(s, p.dst).is_some()
        || s.vnics
            .iter()
            .any(|x| x.private_ips.contains(&IpAddr::V4(router)))
    {
        return None;
    }
    let sn = &s.subnets[s.vnics[v.index()].subnet.index()];
    sn.cidrs.iter().find_map(|c| match c {
        IpNet::V4(n)
            if n.prefix_len() <= 30
                && u32::from(n.network()).checked_add(1) == Some(u32::from(router)) =>
        {
            Some(format!(
                "DHCP between VNIC `{}` and {router}, the virtual router of its subnet `{}` ({c}): the Networking service answers it, and no security rule, route or ZPR policy applies",
                s.vnics[v.index()].name,
                sn.name
            ))
        }
        _ => None,
    })
}

/// Judges one packet, layer by layer (semantics §2, §2b).
#[must_use]
pub fn evaluate(s: &Scenario, p: &Packet, ctx: Context) -> Decision {
    evaluate_between(s, endpoint_of(s, p.src), endpoint_of(s, p.dst), p, ctx)
}

/// [`evaluate`] with the endpoints found through `index`, built from `s`
/// (the same endpoints as [`endpoint_of`]'s, found faster): for callers
/// that judge many packets against one scenario (`verify`).
#[must_use]
pub fn evaluate_with(s: &Scenario, index: &AddressIndex, p: &Packet, ctx: Context) -> Decision {
    evaluate_between(
        s,
        index.endpoint_of(s, p.src),
        index.endpoint_of(s, p.dst),
        p,
        ctx,
    )
}

/// A packet allowed before any layer (semantics §2.1, items 1 and 2):
/// every layer `NOT_APPLICABLE` for `why`, nothing tracked by security,
/// ZPR left open.
fn before_any_layer(why: &str) -> Decision {
    Decision {
        judgement: allowed(
            Tracking {
                at_src: false,
                at_dst: false,
                zpr: true,
                zpr_audit: true,
            },
            false,
        ),
        deciders: Deciders::default(),
        layers: Stage::ALL
            .iter()
            .map(|st| LayerReport::new(*st, Outcome::NotApplicable).with_reason(why))
            .collect(),
    }
}

/// [`evaluate`] between the packet's endpoints `src` and `dst`.
fn evaluate_between(
    s: &Scenario,
    src: Endpoint,
    dst: Endpoint,
    p: &Packet,
    ctx: Context,
) -> Decision {
    let mut layers: Vec<LayerReport> = Vec::with_capacity(4);
    let mut deciders = Deciders::default();

    // Checked before any layer: 169.254.0.0/16 never leaves the host, and
    // DHCP with the subnet's virtual router.
    if is_link_local(p.src) || is_link_local(p.dst) {
        return before_any_layer("traffic to or from 169.254.0.0/16 never leaves the host");
    }
    if let Some(why) = virtual_router_dhcp(s, src, dst, p) {
        return before_any_layer(&why);
    }

    // 1. route
    let route = route_layer(s, src, dst, p, ctx);
    deciders.route = route.decider;
    let route_ok = route.ok;
    layers.push(route.report);
    if !route_ok {
        return dropped(layers, deciders, Stage::Route);
    }

    // 2. egress security at the source VNIC
    let mut tracking = Tracking {
        at_src: false,
        at_dst: false,
        zpr: true,
        zpr_audit: true,
    };
    match src {
        Endpoint::Vnic(v) => {
            let tracked = matches!(ctx, Context::Reply(t) if t.at_dst);
            let r = security_layer(s, v, Direction::Egress, p, p.dst, dst, tracked);
            deciders.egress = r.decider;
            tracking.at_src = r.track;
            let ok = r.ok;
            layers.push(r.report);
            if !ok {
                return dropped(layers, deciders, Stage::EgressSecurity);
            }
        }
        _ => {
            let (report, denied) = no_vnic_layer(s, src, p.src, Stage::EgressSecurity);
            layers.push(report);
            if denied {
                return dropped(layers, deciders, Stage::EgressSecurity);
            }
        }
    }

    // 3. ingress security at the destination VNIC
    match dst {
        Endpoint::Vnic(v) => {
            let tracked = matches!(ctx, Context::Reply(t) if t.at_src);
            let r = security_layer(s, v, Direction::Ingress, p, p.src, src, tracked);
            deciders.ingress = r.decider;
            tracking.at_dst = r.track;
            let ok = r.ok;
            layers.push(r.report);
            if !ok {
                return dropped(layers, deciders, Stage::IngressSecurity);
            }
        }
        _ => {
            let (report, denied) = no_vnic_layer(s, dst, p.dst, Stage::IngressSecurity);
            layers.push(report);
            if denied {
                return dropped(layers, deciders, Stage::IngressSecurity);
            }
        }
    }

    // 4. zpr
    let z = zpr_layer(s, src, dst, p, ctx);
    deciders.zpr_egress = z.egress_decider;
    deciders.zpr_ingress = z.ingress_decider;
    tracking.zpr = z.track_enforce;
    tracking.zpr_audit = z.track_audit;
    let ok = z.ok;
    let audit = z.audit_would_deny;
    layers.push(z.report);
    if !ok {
        let mut d = dropped(layers, deciders, Stage::Zpr);
        d.judgement.zpr_audit = audit;
        return d;
    }
    // Tracking matters only for first packets; keep it normalised otherwise.
    if matches!(ctx, Context::Reply(_)) {
        tracking = Tracking::default();
    }
    Decision {
        judgement: allowed(tracking, audit),
        deciders,
        layers,
    }
}

fn allowed(tracking: Tracking, zpr_audit: bool) -> Judgement {
    Judgement {
        verdict: Verdict::Allow,
        stage: None,
        zpr_audit,
        tracking,
    }
}

fn dropped(mut layers: Vec<LayerReport>, deciders: Deciders, stage: Stage) -> Decision {
    for later in Stage::ALL.iter().filter(|st| **st > stage) {
        layers.push(
            LayerReport::new(*later, Outcome::NotEvaluated)
                .with_reason(format!("{} denied", stage.as_str())),
        );
    }
    Decision {
        judgement: Judgement {
            verdict: Verdict::Drop,
            stage: Some(stage),
            zpr_audit: false,
            tracking: Tracking::default(),
        },
        deciders,
        layers,
    }
}

// ---------------------------------------------------------------- route --

struct LayerResult {
    ok: bool,
    decider: Option<RuleRef>,
    report: LayerReport,
}

/// The winner of a longest-prefix match over a route table plus the
/// implicit local routes of a VCN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RouteMatch {
    /// The implicit local route of the VCN.
    Local,
    /// A static rule, by index.
    Static(u32),
}

/// Longest-prefix match of `ip` over `table`'s static rules and the local
/// routes of `vcn`. At equal prefix length a static rule beats the local
/// route; among static rules the first written wins.
fn route_lookup(
    s: &Scenario,
    table: Option<RouteTableId>,
    vcn: VcnId,
    ip: IpAddr,
) -> Option<RouteMatch> {
    let mut best: Option<(u8, RouteMatch)> = None;
    let mut consider = |len: u8, m: RouteMatch| {
        let better = match best {
            None => true,
            Some((blen, bm)) => {
                // Longer prefix first; at equal length a static rule beats
                // the local route, and the first written static rule wins.
                len > blen
                    || (len == blen
                        && match (m, bm) {
                            (RouteMatch::Static(_), RouteMatch::Local) => true,
                            (RouteMatch::Static(a), RouteMatch::Static(b)) => a < b,
                            _ => false,
                        })
            }
        };
        if better {
            best = Some((len, m));
        }
    };
    for c in &s.vcns[vcn.index()].cidr_blocks {
        if c.contains(&ip) {
            consider(c.prefix_len(), RouteMatch::Local);
        }
    }
    if let Some(t) = table {
        for (i, rule) in s.route_tables[t.index()].rules.iter().enumerate() {
            let Ok(index) = u32::try_from(i) else {
                continue;
            };
            let prefixes: &[IpNet] = match &rule.destination {
                RouteDestination::Cidr(c) => std::slice::from_ref(c),
                RouteDestination::Service(l) => s.service_cidrs(*l),
            };
            for c in prefixes {
                if c.contains(&ip) {
                    consider(c.prefix_len(), RouteMatch::Static(index));
                }
            }
        }
    }
    best.map(|(_, m)| m)
}

fn target_text(s: &Scenario, t: &RouteTarget) -> String {
    match t {
        RouteTarget::Gateway(g) => {
            let g = &s.gateways[g.index()];
            format!("{} gateway `{}`", g.kind.as_str(), g.name)
        }
        RouteTarget::PrivateIp { ip, vnic } => {
            format!("private IP {ip} (VNIC `{}`)", s.vnics[vnic.index()].name)
        }
    }
}

/// Why no internet gateway carries the IPv6 traffic of a VNIC at one of
/// its addresses (semantics §2), without the text: what
/// [`ipv6_off_internet_cause`] finds, cheaply, and [`ipv6_off_internet`]
/// words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffInternet {
    /// Its subnet prohibits internet ingress (a private subnet).
    PrivateSubnet,
    /// A unique local address (`fc00::/7`).
    UniqueLocal,
    /// In this private IPv6 prefix of its VCN (`ipv6_private_cidr_blocks`).
    PrivatePrefix(IpNet),
}

/// Whether, and why, no internet gateway carries the IPv6 traffic of VNIC
/// `vnic` at its address `own` ([`OffInternet`]); `None` for an IPv4
/// address, or an IPv6 address the internet reaches. Allocates nothing:
/// the predicate for callers that judge many addresses.
#[must_use]
pub fn ipv6_off_internet_cause(s: &Scenario, vnic: VnicId, own: IpAddr) -> Option<OffInternet> {
    let IpAddr::V6(a) = own else {
        return None;
    };
    let sn = &s.subnets[s.vnics[vnic.index()].subnet.index()];
    if sn.prohibit_internet_ingress {
        Some(OffInternet::PrivateSubnet)
    } else if a.segments()[0] & 0xfe00 == 0xfc00 {
        Some(OffInternet::UniqueLocal)
    } else {
        s.vcns[sn.vcn.index()]
            .ipv6_private_cidr_blocks
            .iter()
            .find(|p| p.contains(&own))
            .map(|p| OffInternet::PrivatePrefix(*p))
    }
}

/// Why no internet gateway carries the IPv6 traffic of VNIC `vnic` at
/// its address `own`, when none does (semantics §2): its subnet prohibits
/// internet ingress, or the internet does not route `own` (a unique local
/// address, `fc00::/7`, or one in a private IPv6 prefix of its VCN).
/// `None` for an IPv4 address, or an IPv6 address the internet reaches
/// ([`ipv6_off_internet_cause`] says which without the text).
#[must_use]
pub fn ipv6_off_internet(s: &Scenario, vnic: VnicId, own: IpAddr) -> Option<String> {
    let cause = ipv6_off_internet_cause(s, vnic, own)?;
    let v = &s.vnics[vnic.index()];
    let sn = &s.subnets[v.subnet.index()];
    let vcn = &s.vcns[sn.vcn.index()];
    Some(match cause {
        OffInternet::PrivateSubnet => format!(
            "which carries no IPv6 traffic of subnet `{}`: it prohibits internet ingress (`prohibit_internet_ingress = true`, a private subnet), and OCI has no NAT for IPv6: its IPv6 reaches the internet from a public subnet only, or through a DRG to a network that egresses",
            sn.name
        ),
        OffInternet::UniqueLocal => format!(
            "which carries no traffic of `{own}`: a unique local address (`fc00::/7`) is not routed on the internet; give VNIC `{}` an address of a global prefix (Oracle's or BYOIPv6)",
            v.name
        ),
        OffInternet::PrivatePrefix(p) => format!(
            "which carries no traffic of `{own}`: it lies in `{p}`, a private IPv6 prefix of VCN `{}` (`ipv6_private_cidr_blocks`), which the internet does not route; give VNIC `{}` an address of a global prefix (Oracle's or BYOIPv6)",
            vcn.name, v.name
        ),
    })
}

/// Why a route target drops every packet of VNIC `vnic`, when it does: a
/// disabled internet gateway, a NAT or service gateway blocking traffic, a
/// local peering gateway not peered, a private IP whose VNIC checks source
/// and destination, an internet gateway for a VNIC that cannot use it
/// (IPv4: no public IP; IPv6: [`ipv6_off_internet`]). `own` is the
/// VNIC's address in the packet: `public_ip` speaks of its primary private
/// IPv4 only (semantics §2).
fn blocked_text(s: &Scenario, t: &RouteTarget, vnic: VnicId, own: IpAddr) -> Option<String> {
    let v4 = own.is_ipv4();
    // OCI's NAT and service gateways carry IPv4 only.
    if let RouteTarget::Gateway(g) = t
        && !v4
        && !s.gateways[g.index()].blocked
        && matches!(
            s.gateways[g.index()].kind,
            crate::model::GatewayKind::Nat | crate::model::GatewayKind::Service
        )
    {
        return Some(
            "which carries no IPv6 traffic (OCI's NAT and service gateways are IPv4 only; IPv6 leaves a VCN through an internet gateway, a DRG or an LPG)"
                .to_owned(),
        );
    }
    if let RouteTarget::Gateway(g) = t
        && s.gateways[g.index()].kind == crate::model::GatewayKind::Internet
        && !s.gateways[g.index()].blocked
    {
        let v = &s.vnics[vnic.index()];
        let sn = &s.subnets[v.subnet.index()];
        let why = if !v4 {
            ipv6_off_internet(s, vnic, own)
        } else if sn.prohibit_public_ip || sn.prohibit_internet_ingress {
            Some(format!(
                "which carries only the traffic of VNICs with a public IP, and subnet `{}` prohibits them ({}): route the internet through a NAT gateway",
                sn.name,
                if sn.prohibit_public_ip {
                    "`prohibit_public_ip = true`"
                } else {
                    "`prohibit_internet_ingress = true`, a private subnet"
                }
            ))
        } else if v.public_ip == crate::model::PublicIp::Absent
            && v.private_ips.iter().find(|a| a.is_ipv4()) == Some(&own)
        {
            Some(format!(
                "which carries only the traffic of VNICs with a public IP, and VNIC `{}` has none (`public_ip = false`): give it one, or route the internet through a NAT gateway",
                v.name
            ))
        } else {
            None
        };
        if why.is_some() {
            return why;
        }
    }
    match t {
        RouteTarget::PrivateIp { vnic, .. }
            if s.vnics[vnic.index()].skip_source_dest_check == Some(false) =>
        {
            Some(
                "whose VNIC checks source and destination (`skip_source_dest_check = false`): it drops what is not addressed to it",
            )
        }
        // A gateway `zprsim import` made up for a target the export lacks
        // is blocked (the least it could allow); it is not the network's.
        RouteTarget::Gateway(g) if s.gateways[g.index()].blocked && s.gateways[g.index()].stand_in => {
            Some(
                "a stand-in for a gateway the export lacks (`stand_in = true`; its kind and state are unknown, so no traffic passes it): export the VCN's gateways",
            )
        }
        RouteTarget::Gateway(g) if s.gateways[g.index()].blocked => {
            Some(match s.gateways[g.index()].kind {
                crate::model::GatewayKind::Internet => {
                    "which is disabled (`is_enabled = false`): no traffic passes it"
                }
                crate::model::GatewayKind::Lpg => {
                    "which is not peered (`peering_status` is not `PEERED`): no traffic passes it"
                }
                _ => "which blocks traffic (`block_traffic = true`): no traffic passes it",
            })
        }
        _ => None,
    }
    .map(str::to_owned)
}

fn destination_text(s: &Scenario, d: &RouteDestination) -> String {
    match d {
        RouteDestination::Cidr(c) => c.to_string(),
        RouteDestination::Service(l) => s.services[l.index()].name.clone(),
    }
}

/// The report of a packet the implicit local route of `vcn` forwards.
fn forwarded_locally(s: &Scenario, mut report: LayerReport, vcn: VcnId) -> LayerResult {
    report.outcome = Outcome::Forwarded;
    report.destination = Some("local".into());
    report.target = Some(format!("VCN `{}`", s.vcns[vcn.index()].name));
    LayerResult {
        ok: true,
        decider: None,
        report,
    }
}

/// Notes the static rule `i` of table `t` in the report; returns the rule
/// and its reference.
fn note_static<'s>(
    s: &'s Scenario,
    report: &mut LayerReport,
    t: RouteTableId,
    i: u32,
) -> (&'s crate::model::RouteRule, Option<RuleRef>) {
    let rule = &s.route_tables[t.index()].rules[i as usize];
    report.route_rule = Some(i);
    report.destination = Some(destination_text(s, &rule.destination));
    report.target = Some(target_text(s, &rule.target));
    (rule, Some(RuleRef::Route { table: t, index: i }))
}

/// What would route the traffic of VNIC `vnic` at its address `own`
/// with an address outside its VCN, when it has no route table: one
/// with a rule for it; for an address outside every VCN (the internet,
/// or a network behind a DRG) from an IPv6 address no internet gateway
/// carries (a ULA, a private prefix's, a private subnet's: semantics §2),
/// a rule to a DRG only, and why not to an internet gateway.
/// `remote_vcn`: the VCN holding the other end, if any.
fn no_table_advice(s: &Scenario, vnic: VnicId, own: IpAddr, remote_vcn: Option<VcnId>) -> String {
    match ipv6_off_internet(s, vnic, own).filter(|_| remote_vcn.is_none()) {
        Some(why) => format!(
            "give it one (`route_table = ...`) with a rule for it to a DRG, for a network behind one; not to an internet gateway, {why}"
        ),
        None => "give it one (`route_table = ...`) with a rule for it".to_owned(),
    }
}

fn route_layer(
    s: &Scenario,
    src: Endpoint,
    dst: Endpoint,
    p: &Packet,
    ctx: Context,
) -> LayerResult {
    let mut report = LayerReport::new(Stage::Route, Outcome::NoRoute);
    let fail = |mut report: LayerReport, reason: String| {
        report.outcome = Outcome::NoRoute;
        report.reason = Some(reason);
        LayerResult {
            ok: false,
            decider: None,
            report,
        }
    };

    // Multicast and broadcast: delivered to no one, whatever the tables say.
    if let Some(why) = undeliverable(s, p.dst).or_else(|| undeliverable(s, p.src)) {
        return fail(report, why);
    }

    // Neither side is a VNIC: the packet never crosses a modeled VNIC.
    if !matches!(src, Endpoint::Vnic(_)) && !matches!(dst, Endpoint::Vnic(_)) {
        return fail(report, "neither side is a VNIC of the scenario".into());
    }

    if let Endpoint::Vnic(v) = src {
        let subnet = &s.subnets[s.vnics[v.index()].subnet.index()];
        if subnet.cidrs.iter().any(|c| c.contains(&p.dst)) {
            report.outcome = Outcome::Direct;
            report.reason = Some(format!(
                "same subnet `{}`: delivered without a lookup",
                subnet.name
            ));
            return LayerResult {
                ok: true,
                decider: None,
                report,
            };
        }
        let vcn = subnet.vcn;
        let table = s.effective_route_table(v);
        report.route_table = table.map(|t| s.route_tables[t.index()].name.clone());
        let dst_vcn = endpoint_vcn(s, dst);
        match route_lookup(s, table, vcn, p.dst) {
            None => fail(
                report,
                match table {
                    Some(_) => format!("no rule matches {}", p.dst),
                    // Not "give it one": its real table is unknown.
                    None if subnet.table_unknown => format!(
                        "no rule matches {}: stand-in subnet `{}` has no route table here, since the export lacks it (only the VCN's local routes are known); {}",
                        p.dst,
                        subnet.name,
                        export_routes(s, v)
                    ),
                    None => format!(
                        "no rule matches {}: subnet `{}` has no route table (nor has the VNIC), so only the VCN's local routes apply; {}",
                        p.dst,
                        subnet.name,
                        no_table_advice(s, v, p.src, dst_vcn)
                    ),
                },
            ),
            // The VNIC's routes are unknown (a stand-in table, or a
            // stand-in subnet's lost one): its real table may send an
            // address of its VCN outside its subnet to a private IP that
            // drops it, or to a gateway that blocks traffic (decision 33,
            // since the twentieth session).
            Some(RouteMatch::Local) if let Some(what) = unknown_routes(s, v) => {
                report.destination = Some("local".into());
                report.target = Some(format!("VCN `{}`", s.vcns[vcn.index()].name));
                fail(
                    report,
                    format!(
                        "the route for {} is in {what}, which the export lacks: only the VCN's local routes are known, and a longer rule of the real one may send {} to a private IP that drops it or to a gateway that blocks traffic (intra-VCN routing); {}",
                        p.dst,
                        p.dst,
                        export_routes(s, v)
                    ),
                )
            }
            Some(RouteMatch::Local) => forwarded_locally(s, report, vcn),
            Some(RouteMatch::Static(i)) => {
                let Some(t) = table else {
                    return fail(report, "internal: static match without a table".into());
                };
                let (rule, decider) = note_static(s, &mut report, t, i);
                if let Some(why) = blocked_text(s, &rule.target, v, p.src) {
                    let mut r = fail(
                        report,
                        format!(
                            "rule #{i} sends to the {}, {why}",
                            target_text(s, &rule.target)
                        ),
                    );
                    r.decider = decider;
                    return r;
                }
                // A destination inside another VCN needs a DRG, an LPG or a private IP.
                if let Some(dv) = dst_vcn.filter(|dv| *dv != vcn) {
                    let reaches = match &rule.target {
                        RouteTarget::Gateway(g) => s.gateways[g.index()].kind.reaches_other_vcn(),
                        RouteTarget::PrivateIp { .. } => true,
                    };
                    if !reaches {
                        let mut r = fail(
                            report,
                            format!(
                                "rule #{i} sends to the {}, which does not reach VCN `{}`",
                                target_text(s, &rule.target),
                                s.vcns[dv.index()].name
                            ),
                        );
                        r.decider = decider;
                        return r;
                    }
                }
                report.outcome = Outcome::Forwarded;
                LayerResult {
                    ok: true,
                    decider,
                    report,
                }
            }
        }
    } else {
        // The source is external or an unassigned VCN address: model the return
        // path in the destination VNIC's route table.
        let Endpoint::Vnic(d) = dst else {
            return fail(report, "neither side is a VNIC of the scenario".into());
        };
        // From an address of the destination's own subnet (an address no
        // VNIC of the scenario holds): delivered in the subnet, as the
        // other way round, without a route table (the mid-session
        // review's L2, twentieth session: a stand-in table dropped it).
        let subnet = &s.subnets[s.vnics[d.index()].subnet.index()];
        if subnet.cidrs.iter().any(|c| c.contains(&p.src)) {
            report.outcome = Outcome::Direct;
            report.reason = Some(format!(
                "same subnet `{}`: delivered without a lookup",
                subnet.name
            ));
            return LayerResult {
                ok: true,
                decider: None,
                report,
            };
        }
        let vcn = s.vnic_vcn(d);
        let table = s.effective_route_table(d);
        report.route_table = table.map(|t| s.route_tables[t.index()].name.clone());
        let reply = matches!(ctx, Context::Reply(_));
        match route_lookup(s, table, vcn, p.src) {
            None => fail(
                report,
                match table {
                    Some(_) => format!(
                        "no rule of the destination's route table matches the source {}",
                        p.src
                    ),
                    None if s.subnets[s.vnics[d.index()].subnet.index()].table_unknown => format!(
                        "the destination's stand-in subnet `{}` has no route table here, since the export lacks it, so no known return path for the source {} (only the VCN's local routes are known); {}",
                        s.subnets[s.vnics[d.index()].subnet.index()].name,
                        p.src,
                        export_routes(s, d)
                    ),
                    None => format!(
                        "the destination's subnet `{}` has no route table (nor has the VNIC), so no return path for the source {} (only the VCN's local routes apply); {}",
                        s.subnets[s.vnics[d.index()].subnet.index()].name,
                        p.src,
                        no_table_advice(s, d, p.dst, endpoint_vcn(s, src))
                    ),
                },
            ),
            Some(RouteMatch::Local) if let Some(what) = unknown_routes(s, d) => {
                report.destination = Some("local".into());
                report.target = Some(format!("VCN `{}`", s.vcns[vcn.index()].name));
                fail(
                    report,
                    format!(
                        "the return path for {} is in {what}, which the export lacks: only the VCN's local routes are known, and a longer rule of the real one may send {} to a gateway or private IP that admits replies only, or to a gateway that blocks traffic; {}",
                        p.src,
                        p.src,
                        export_routes(s, d)
                    ),
                )
            }
            Some(RouteMatch::Local) => forwarded_locally(s, report, vcn),
            Some(RouteMatch::Static(i)) => {
                let Some(t) = table else {
                    return fail(report, "internal: static match without a table".into());
                };
                let (rule, decider) = note_static(s, &mut report, t, i);
                if let Some(why) = blocked_text(s, &rule.target, d, p.dst) {
                    let mut r = fail(
                        report,
                        format!(
                            "the return path for {} is rule #{i} to the {}, {why}",
                            p.src,
                            target_text(s, &rule.target)
                        ),
                    );
                    r.decider = decider;
                    return r;
                }
                let admits = match &rule.target {
                    RouteTarget::Gateway(g) => s.gateways[g.index()].kind.admits_inbound(),
                    RouteTarget::PrivateIp { .. } => false,
                };
                if admits || reply {
                    report.outcome = Outcome::Forwarded;
                    if !admits {
                        report.reason = Some("a reply comes back the way its request left".into());
                    }
                    LayerResult {
                        ok: true,
                        decider,
                        report,
                    }
                } else {
                    let mut r = fail(
                        report,
                        format!(
                            "the return path for {} is rule #{i} to the {}, which admits replies only",
                            p.src,
                            target_text(s, &rule.target)
                        ),
                    );
                    r.decider = decider;
                    r
                }
            }
        }
    }
}

// ------------------------------------------------------------- security --

/// Whether a rule's protocol and options match the packet (semantics §3).
#[must_use]
pub fn rule_matches_service(rule: &SecurityRule, p: &Packet) -> bool {
    match rule.protocol {
        Protocol::All => return true,
        Protocol::Number(n) if n != p.proto => return false,
        Protocol::Number(_) => {}
    }
    match rule.options {
        RuleOptions::None => true,
        RuleOptions::Ports { src, dst } => match p.l4 {
            L4::Ports { sport, dport } => {
                src.is_none_or(|r| r.contains(sport)) && dst.is_none_or(|r| r.contains(dport))
            }
            // No ports (non-first fragment): only a rule without port conditions matches.
            _ => src.is_none() && dst.is_none(),
        },
        RuleOptions::Icmp { icmp_type, code } => match p.l4 {
            L4::Icmp {
                icmp_type: t,
                code: c,
            } => t == icmp_type && code.is_none_or(|x| x == c),
            _ => false,
        },
    }
}

/// Whether a rule's remote side matches the peer (address or NSG membership).
#[must_use]
pub fn rule_matches_peer(
    s: &Scenario,
    rule: &SecurityRule,
    peer_ip: IpAddr,
    peer: Endpoint,
) -> bool {
    match &rule.peer {
        Peer::Cidr(c) => c.contains(&peer_ip),
        Peer::Service(l) => s.service_cidrs(*l).iter().any(|c| c.contains(&peer_ip)),
        Peer::Nsg(n) => match peer {
            Endpoint::Vnic(w) => s.vnics[w.index()].nsgs.contains(n),
            _ => false,
        },
    }
}

/// A short readable form of a rule.
#[must_use]
pub fn describe_rule(s: &Scenario, r: &SecurityRule) -> String {
    let proto = match r.protocol {
        Protocol::All => "all".to_string(),
        Protocol::Number(proto::TCP) => "tcp".into(),
        Protocol::Number(proto::UDP) => "udp".into(),
        Protocol::Number(proto::ICMP) => "icmp".into(),
        Protocol::Number(proto::ICMPV6) => "icmpv6".into(),
        Protocol::Number(n) => format!("proto {n}"),
    };
    let dir = match r.direction {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    let peer = match &r.peer {
        Peer::Cidr(c) => c.to_string(),
        Peer::Service(l) => format!("service `{}`", s.services[l.index()].name),
        Peer::Nsg(n) => format!("nsg `{}`", s.nsgs[n.index()].name),
    };
    let mut out = format!(
        "{} {proto} {dir} {peer}",
        r.direction.as_str().to_lowercase()
    );
    match r.options {
        RuleOptions::None => {}
        RuleOptions::Ports { src, dst } => {
            let range = |r: crate::model::PortRange| {
                if r.min == r.max {
                    r.min.to_string()
                } else {
                    format!("{}-{}", r.min, r.max)
                }
            };
            if let Some(sr) = src {
                out.push_str(&format!(" sport {}", range(sr)));
            }
            if let Some(dr) = dst {
                out.push_str(&format!(" dport {}", range(dr)));
            }
        }
        RuleOptions::Icmp { icmp_type, code } => {
            out.push_str(&format!(" type {icmp_type}"));
            if let Some(c) = code {
                out.push_str(&format!(" code {c}"));
            }
        }
    }
    out.push_str(if r.stateless {
        " (stateless)"
    } else {
        " (stateful)"
    });
    out
}

/// One rule of a VNIC's union of NSGs and security lists, in evaluation order.
struct UnionRule<'a> {
    rule: &'a SecurityRule,
    rref: RuleRef,
    kind: &'static str,
    group: &'a str,
    index: u32,
}

/// The rules of one direction that apply at a VNIC: its NSGs first (in
/// order), then its subnet's security lists (in order).
fn union_rules(s: &Scenario, v: VnicId, dir: Direction) -> Vec<UnionRule<'_>> {
    let vnic = &s.vnics[v.index()];
    let mut out = Vec::new();
    for n in &vnic.nsgs {
        let nsg = &s.nsgs[n.index()];
        for (i, rule) in nsg.rules.iter().enumerate() {
            let Ok(index) = u32::try_from(i) else {
                continue;
            };
            if rule.direction == dir {
                out.push(UnionRule {
                    rule,
                    rref: RuleRef::Nsg { nsg: *n, index },
                    kind: "nsg",
                    group: &nsg.name,
                    index,
                });
            }
        }
    }
    for l in &s.subnets[vnic.subnet.index()].security_lists {
        let list = &s.security_lists[l.index()];
        let rules = match dir {
            Direction::Ingress => &list.ingress,
            Direction::Egress => &list.egress,
        };
        for (i, rule) in rules.iter().enumerate() {
            let Ok(index) = u32::try_from(i) else {
                continue;
            };
            out.push(UnionRule {
                rule,
                rref: RuleRef::SecurityList {
                    list: *l,
                    direction: dir.into(),
                    index,
                },
                kind: "security_list",
                group: &list.name,
                index,
            });
        }
    }
    out
}

struct SecurityResult {
    ok: bool,
    track: bool,
    decider: Option<RuleRef>,
    report: LayerReport,
}

/// Security check at VNIC `v` in direction `dir`; `peer_ip`/`peer` is the
/// other side of the packet. `tracked`: the packet is a reply of a
/// connection tracked at this VNIC.
fn security_layer(
    s: &Scenario,
    v: VnicId,
    dir: Direction,
    p: &Packet,
    peer_ip: IpAddr,
    peer: Endpoint,
    tracked: bool,
) -> SecurityResult {
    let stage = match dir {
        Direction::Egress => Stage::EgressSecurity,
        Direction::Ingress => Stage::IngressSecurity,
    };
    let vnic = &s.vnics[v.index()];
    let mut report = LayerReport::new(stage, Outcome::Denied);
    report.vnic = Some(vnic.name.clone());
    report.nsgs_evaluated = vnic
        .nsgs
        .iter()
        .map(|n| s.nsgs[n.index()].name.clone())
        .collect();
    report.security_lists_evaluated = s.subnets[vnic.subnet.index()]
        .security_lists
        .iter()
        .map(|l| s.security_lists[l.index()].name.clone())
        .collect();
    if tracked {
        report.outcome = Outcome::AllowedTracked;
        report.reason = Some("reply of a connection tracked at this VNIC".into());
        return SecurityResult {
            ok: true,
            track: false,
            decider: None,
            report,
        };
    }
    let rules = union_rules(s, v, dir);
    let matching: Vec<&UnionRule<'_>> = rules
        .iter()
        .filter(|u| rule_matches_service(u.rule, p) && rule_matches_peer(s, u.rule, peer_ip, peer))
        .collect();
    let Some(first) = matching.first() else {
        report.reason = Some(if rules.is_empty() {
            format!(
                "VNIC `{}` has no {} rules: it allows nothing",
                vnic.name,
                dir.as_str().to_lowercase()
            )
        } else {
            format!("no {} rule matches", dir.as_str().to_lowercase())
        });
        return SecurityResult {
            ok: false,
            track: false,
            decider: None,
            report,
        };
    };
    let any_stateful = matching.iter().any(|u| !u.rule.stateless);
    let any_stateless = matching.iter().any(|u| u.rule.stateless);
    // Stateless wins: if both match, the packet passes and nothing is
    // tracked. Rules the scenario lacks (stand-ins) may hold a matching
    // stateless one: then nothing is tracked either.
    let unknown = unknown_rules(s, v);
    let track = any_stateful && !any_stateless && unknown.is_none();
    report.outcome = Outcome::Allowed;
    report.tracked = Some(track);
    report.rule = Some(SecurityRuleDetail {
        kind: first.kind,
        name: first.group.to_string(),
        index: first.index,
        rule: describe_rule(s, first.rule),
        stateless: first.rule.stateless,
    });
    if any_stateful && any_stateless {
        // Name the stateless rule: the one shown is the first match, which
        // may be the stateful one, and the reader looks for the other.
        let other = if first.rule.stateless {
            None
        } else {
            matching.iter().find(|u| u.rule.stateless)
        };
        report.reason = Some(match other {
            Some(u) => format!(
                "stateful and stateless rules match: stateless wins, not tracked (the stateless one: {} `{}` rule #{}: {})",
                if u.kind == "nsg" {
                    "NSG"
                } else {
                    "security list"
                },
                u.group,
                u.index,
                describe_rule(s, u.rule)
            ),
            None => "stateful and stateless rules match: stateless wins, not tracked".into(),
        });
    } else if any_stateful && let Some(what) = unknown {
        report.reason = Some(format!("not tracked: {what}"));
    }
    SecurityResult {
        ok: true,
        track,
        decider: Some(first.rref),
        report,
    }
}

// ------------------------------------------------------------------ zpr --

fn has_attribute(s: &Scenario, ep: Endpoint, a: &Attribute) -> bool {
    match ep {
        Endpoint::Vnic(v) => s.vnics[v.index()]
            .attributes
            .iter()
            .any(|x| &x.attribute == a),
        _ => false,
    }
}

fn vcn_attribute(s: &Scenario, ep: Endpoint) -> Option<&Attribute> {
    endpoint_vcn(s, ep).and_then(|v| s.vcns[v.index()].attribute.as_ref())
}

/// Whether an endpoint term matches an endpoint, for a form-A statement
/// scoped to `scope` (semantics §4.3).
fn term_matches(s: &Scenario, term: &Term, ep: Endpoint, ip: IpAddr, scope: VcnId) -> bool {
    match term {
        Term::Attribute(a) => {
            matches!(ep, Endpoint::Vnic(v) if s.vnic_vcn(v) == scope) && has_attribute(s, ep, a)
        }
        Term::Cidr(c) => c.contains(&ip),
        Term::AllEndpoints => s.vcns[scope.index()]
            .cidr_blocks
            .iter()
            .any(|c| c.contains(&ip)),
        Term::OsnServices => s
            .services
            .iter()
            .any(|l| l.cidrs.iter().any(|c| c.contains(&ip))),
    }
}

/// Whether a statement's conditions match the packet.
#[must_use]
pub fn conditions_match(stmt: &crate::zpl::ast::Statement, p: &Packet) -> bool {
    conditions_hold(&stmt.conditions(), p)
}

/// Whether flattened conditions match the packet: the protocol (and the
/// destination port, when ports are given), and the ICMP type and code,
/// which only ICMP and ICMPv6 packets can satisfy.
#[must_use]
pub fn conditions_hold(c: &crate::zpl::ast::Conditions, p: &Packet) -> bool {
    if let Some(spec) = &c.protocol {
        if spec.protocol != p.proto {
            return false;
        }
        if !spec.ports.is_empty() {
            let Some(dport) = p.dport() else { return false };
            if !spec.ports.iter().any(|r| r.contains(dport)) {
                return false;
            }
        }
    }
    if c.icmp_type.is_some() || c.icmp_code.is_some() {
        let L4::Icmp { icmp_type, code } = p.l4 else {
            return false;
        };
        if !proto::is_icmp(p.proto) {
            return false;
        }
        if c.icmp_type.is_some_and(|t| t != icmp_type) || c.icmp_code.is_some_and(|x| x != code) {
            return false;
        }
    }
    true
}

/// Which check of a flow a statement is tried for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Egress,
    Ingress,
}

/// Whether a statement satisfies one check of the flow `src -> dst`.
fn statement_allows(
    s: &Scenario,
    stmt: &crate::zpl::ast::Statement,
    check: Check,
    src: Endpoint,
    dst: Endpoint,
    p: &Packet,
) -> bool {
    if !conditions_match(stmt, p) {
        return false;
    }
    match &stmt.kind {
        StatementKind::Scoped {
            vcn,
            src: st,
            dst: dt,
        } => {
            let checked = match check {
                Check::Egress => src,
                Check::Ingress => dst,
            };
            let Some(scope) = endpoint_vcn(s, checked) else {
                return false;
            };
            if s.vcns[scope.index()].attribute.as_ref() != Some(&vcn.node) {
                return false;
            }
            term_matches(s, &st.node, src, p.src, scope)
                && term_matches(s, &dt.node, dst, p.dst, scope)
        }
        StatementKind::CrossVcn {
            src: sa,
            src_vcn,
            dst: da,
            dst_vcn,
        } => {
            vcn_attribute(s, src) == Some(&src_vcn.node)
                && vcn_attribute(s, dst) == Some(&dst_vcn.node)
                && has_attribute(s, src, &sa.node)
                && has_attribute(s, dst, &da.node)
        }
    }
}

/// The statements that allow one check of the flow `src -> dst`, in
/// policy order, each with whether it is stateful.
fn allowing(
    s: &Scenario,
    check: Check,
    src: Endpoint,
    dst: Endpoint,
    p: &Packet,
) -> Vec<(StatementRef, bool)> {
    s.statements()
        .filter(|(_, st)| statement_allows(s, &st.statement, check, src, dst, p))
        .map(|(r, st)| {
            (
                r,
                st.statement.conditions().state == ConnectionState::Stateful,
            )
        })
        .collect()
}

/// The statements that allow the egress check (`egress`) or the ingress
/// check of packet `p` from `src` to `dst`, in policy order (the first is
/// the one a report names), each with whether it is stateful: the check
/// tracks the connection when one is (semantics.md section 6.1). Empty
/// when none allows it.
#[must_use]
pub fn zpr_check_statements(
    s: &Scenario,
    egress: bool,
    src: Endpoint,
    dst: Endpoint,
    p: &Packet,
) -> Vec<(StatementRef, bool)> {
    let check = if egress {
        Check::Egress
    } else {
        Check::Ingress
    };
    allowing(s, check, src, dst, p)
}

struct CheckResult {
    ok: bool,
    stateful: bool,
    decider: Option<StatementRef>,
    detail: ZprCheck,
}

fn run_check(
    s: &Scenario,
    check: Check,
    role: ZprRole,
    src: Endpoint,
    dst: Endpoint,
    p: &Packet,
    tracked: bool,
) -> CheckResult {
    let checked = match check {
        Check::Egress => src,
        Check::Ingress => dst,
    };
    let name = match checked {
        Endpoint::Vnic(v) => s.vnics[v.index()].name.clone(),
        _ => String::new(),
    };
    let mut detail = ZprCheck {
        check: match check {
            Check::Egress => "egress",
            Check::Ingress => "ingress",
        },
        endpoint: name.clone(),
        mode: if role == ZprRole::Audited {
            "audit"
        } else {
            "enforce"
        },
        outcome: Outcome::Denied,
        policy: None,
        statement_index: None,
        statement: None,
        reason: None,
    };
    if tracked {
        detail.outcome = Outcome::AllowedTracked;
        detail.reason = Some("reply of a connection allowed by stateful statements".into());
        return CheckResult {
            ok: true,
            stateful: true,
            decider: None,
            detail,
        };
    }
    let matching = allowing(s, check, src, dst, p);
    if let Some((first, _)) = matching.first() {
        let st = s.statement(*first);
        detail.outcome = Outcome::Allowed;
        detail.policy = Some(s.zpr_policies[first.policy.index()].name.clone());
        detail.statement_index = Some(first.index);
        detail.statement = Some(st.text.clone());
        let stateful = matching.iter().any(|(_, sf)| *sf);
        return CheckResult {
            ok: true,
            stateful,
            decider: Some(*first),
            detail,
        };
    }
    // Failed: MISSING_POLICY when no statement names an attribute the checked
    // endpoint carries; DENIED otherwise.
    let named = s.statements().any(|(_, st)| {
        st.statement
            .endpoint_attributes()
            .any(|a| has_attribute(s, checked, a))
    });
    let vcn_attr = vcn_attribute(s, checked);
    detail.outcome = if named {
        Outcome::Denied
    } else {
        Outcome::MissingPolicy
    };
    detail.reason = Some(match (vcn_attr, named) {
        (None, _) => {
            let vcn = endpoint_vcn(s, checked)
                .map(|v| s.vcns[v.index()].name.clone())
                .unwrap_or_default();
            format!("VCN `{vcn}` has no security attribute: no form A statement can allow `{name}`")
        }
        (Some(_), false) => format!("no statement names an attribute of `{name}`"),
        (Some(_), true) => "statements name its attributes, but none allows this packet".into(),
    });
    if role == ZprRole::Audited {
        detail.outcome = Outcome::AuditWouldDeny;
    }
    CheckResult {
        ok: false,
        stateful: false,
        decider: None,
        detail,
    }
}

struct ZprResult {
    ok: bool,
    audit_would_deny: bool,
    track_enforce: bool,
    track_audit: bool,
    egress_decider: Option<RuleRef>,
    ingress_decider: Option<RuleRef>,
    report: LayerReport,
}

fn zpr_layer(s: &Scenario, src: Endpoint, dst: Endpoint, p: &Packet, ctx: Context) -> ZprResult {
    let roles = [
        (Check::Egress, zpr_role(s, src)),
        (Check::Ingress, zpr_role(s, dst)),
    ];
    let mut report = LayerReport::new(Stage::Zpr, Outcome::NotApplicable);
    let mut res = ZprResult {
        ok: true,
        audit_would_deny: false,
        track_enforce: true,
        track_audit: true,
        egress_decider: None,
        ingress_decider: None,
        report: LayerReport::new(Stage::Zpr, Outcome::NotApplicable),
    };
    let mut first_enforced_failure: Option<Outcome> = None;
    let mut any_enforced = false;
    let mut all_enforced_tracked = true;
    for (check, role) in roles {
        if role == ZprRole::None {
            continue;
        }
        let tracked = match ctx {
            Context::Reply(t) => match role {
                ZprRole::Enforced => t.zpr,
                _ => t.zpr_audit,
            },
            Context::First => false,
        };
        let r = run_check(s, check, role, src, dst, p, tracked);
        let decider = r.decider.map(RuleRef::Statement);
        match check {
            Check::Egress => res.egress_decider = decider,
            Check::Ingress => res.ingress_decider = decider,
        }
        match role {
            ZprRole::Enforced => {
                any_enforced = true;
                res.track_enforce &= r.ok && r.stateful;
                all_enforced_tracked &= r.detail.outcome == Outcome::AllowedTracked;
                if !r.ok && first_enforced_failure.is_none() {
                    first_enforced_failure = Some(r.detail.outcome);
                }
            }
            _ => {
                res.track_audit &= r.ok && r.stateful;
                if !r.ok {
                    res.audit_would_deny = true;
                }
            }
        }
        report.checks.push(r.detail);
    }
    report.outcome = if let Some(o) = first_enforced_failure {
        res.ok = false;
        o
    } else if res.audit_would_deny {
        Outcome::AuditWouldDeny
    } else if any_enforced && all_enforced_tracked {
        Outcome::AllowedTracked
    } else if any_enforced {
        Outcome::Allowed
    } else {
        Outcome::NotApplicable
    };
    if !res.ok || res.audit_would_deny {
        report.policies_evaluated = s.zpr_policies.iter().map(|p| p.name.clone()).collect();
    }
    if report.checks.is_empty() {
        report.reason = Some("no endpoint carries a security attribute".into());
    }
    res.report = report;
    res
}

/// Why VNIC `d`'s route rules are not all known, if they are not: the
/// table that applies is a stand-in (`zprsim import` made it up for one the
/// export lacks), or it has none and its subnet is a stand-in (its table
/// was lost with it). Only the VCN's local routes are known then, and the
/// real table may hold a longer rule for an address inside the VCN (to a
/// private IP, a NAT or service gateway) that admits replies only, or to
/// a gateway that blocks traffic: a packet from such an address (not a
/// VNIC) has no known return path.
pub(crate) fn unknown_routes(s: &Scenario, d: VnicId) -> Option<String> {
    match s.effective_route_table(d) {
        Some(t) if s.route_tables[t.index()].stand_in => Some(format!(
            "stand-in route table `{}`",
            s.route_tables[t.index()].name
        )),
        Some(_) => None,
        None => {
            let sn = &s.subnets[s.vnics[d.index()].subnet.index()];
            sn.table_unknown
                .then(|| format!("the route table of stand-in subnet `{}`", sn.name))
        }
    }
}

/// What to export for VNIC `v`'s unknown routes ([`unknown_routes`]):
/// the table, when its OCID is known; else the object that names it (the
/// stand-in VNIC, whose `vnic get` names its own table, or the stand-in
/// subnet).
fn export_routes(s: &Scenario, v: VnicId) -> String {
    let vnic = &s.vnics[v.index()];
    let sn = &s.subnets[vnic.subnet.index()];
    let table = s
        .effective_route_table(v)
        .map(|t| &s.route_tables[t.index()]);
    match (table.and_then(|t| t.id.as_deref()), &vnic.id, &sn.id) {
        (Some(id), _, _) => format!("export it (`oci network route-table get --rt-id {id}`)"),
        (None, Some(id), _) if table.is_some() && vnic.stand_in => format!(
            "export the VNIC, which names it (`oci network vnic get --vnic-id {id}`), and its table"
        ),
        (None, _, Some(id)) if table.is_none() => format!(
            "export the subnet, which names it (`oci network subnet get --subnet-id {id}`), and its table"
        ),
        _ => "export it".to_owned(),
    }
}

/// What a stand-in may hold, in the words of a layer's reason.
fn may_hold(what: &str) -> String {
    format!("{what} may hold a stateless rule that matches (stateless wins); export it")
}

/// Why VNIC `v`'s security rules are not all known, if they are not (the
/// reason nothing is tracked there, as the layer report says it): a
/// stand-in NSG or security list (`zprsim import` made it up for one the
/// export lacks), a stand-in VNIC without NSGs (they were lost with it),
/// or a stand-in subnet without security lists (likewise); or one of its
/// NSGs has a stateless rule naming an NSG of a VCN with a stand-in VNIC
/// without NSGs (it may be a member). What is missing may hold (or match)
/// a stateless rule, so nothing is tracked at the VNIC.
pub(crate) fn unknown_rules(s: &Scenario, v: VnicId) -> Option<String> {
    let vnic = &s.vnics[v.index()];
    let subnet = &s.subnets[vnic.subnet.index()];
    if let Some(n) = vnic
        .nsgs
        .iter()
        .map(|n| &s.nsgs[n.index()])
        .find(|n| n.stand_in)
    {
        return Some(may_hold(&format!("stand-in NSG `{}`", n.name)));
    }
    if let Some(l) = subnet
        .security_lists
        .iter()
        .map(|l| &s.security_lists[l.index()])
        .find(|l| l.stand_in)
    {
        return Some(may_hold(&format!("stand-in security list `{}`", l.name)));
    }
    if vnic.stand_in && vnic.nsgs.is_empty() {
        return Some(may_hold(&format!(
            "stand-in VNIC `{}`'s unknown NSGs",
            vnic.name
        )));
    }
    if subnet.lists_unknown {
        return Some(may_hold(&format!(
            "stand-in subnet `{}`'s unknown security lists",
            subnet.name
        )));
    }
    // A stateless rule naming an NSG whose members are not all known: a
    // stand-in VNIC without NSGs in that NSG's VCN may be one of them, and
    // then the rule matches it (the reviewer's H1 of the nineteenth
    // session: the reply passed an egress check the network denies).
    // The rules first, then (only if there is one) the VNICs once: per
    // judgement the scan is rules + VNICs, not rules x VNICs (`verify`
    // judges tens of thousands of pairs on 10k-VNIC scenarios).
    let named: Vec<(&str, &crate::model::Nsg)> = vnic
        .nsgs
        .iter()
        .map(|n| &s.nsgs[n.index()])
        .flat_map(|nsg| {
            nsg.rules.iter().filter_map(move |r| match r.peer {
                Peer::Nsg(named) if r.stateless => {
                    Some((nsg.name.as_str(), &s.nsgs[named.index()]))
                }
                _ => None,
            })
        })
        .collect();
    if named.is_empty() {
        return None;
    }
    // The first stand-in VNIC without NSGs of each VCN.
    let mut stand_in_of: Vec<Option<&str>> = vec![None; s.vcns.len()];
    for y in s.vnics.iter().filter(|y| y.stand_in && y.nsgs.is_empty()) {
        stand_in_of[s.subnets[y.subnet.index()].vcn.index()].get_or_insert(y.name.as_str());
    }
    named.into_iter().find_map(|(nsg, named)| {
        stand_in_of[named.vcn.index()].map(|y| {
            format!(
                "a stateless rule of NSG `{nsg}` names NSG `{}`, whose members may include stand-in VNIC `{y}` (its NSGs unknown), and stateless wins; export that VNIC",
                named.name
            )
        })
    })
}

/// The subnet whose VNICs are not all known (`vnics_unknown`) that holds
/// `ip`, when endpoint `ep` (`ip`'s) is no VNIC: the address may be a VNIC
/// the export lacks (docs/semantics.md, decision 34). Read off the
/// subnets' blocks on every call, nothing precomputed (the compiler has its
/// own reading, `compile/build/vnics_unknown.rs`).
#[must_use]
pub fn vnics_unknown_at(s: &Scenario, ep: Endpoint, ip: IpAddr) -> Option<SubnetId> {
    if !matches!(ep, Endpoint::Unassigned(_)) {
        return None;
    }
    s.subnets
        .iter()
        .position(|sn| sn.vnics_unknown && sn.cidrs.iter().any(|c| c.contains(&ip)))
        .and_then(|i| SubnetId::new(i).ok())
}

/// The security layer (`stage`) at endpoint `ep` (address `ip`) that is no
/// VNIC, as [`evaluate`] reports it, and whether it denies: skipped, or
/// [`lost_vnic_layer`].
fn no_vnic_layer(s: &Scenario, ep: Endpoint, ip: IpAddr, stage: Stage) -> (LayerReport, bool) {
    match lost_vnic_layer(s, ep, ip, stage) {
        Some(denied) => (denied, true),
        None => {
            let side = if stage == Stage::EgressSecurity {
                "source"
            } else {
                "destination"
            };
            let skipped = LayerReport::new(stage, Outcome::Skipped)
                .with_reason(format!("the {side} is not a VNIC"));
            (skipped, false)
        }
    }
}

/// The security layer (`stage`) at endpoint `ep` (address `ip`) that is no
/// VNIC but may be one the export lacks ([`vnics_unknown_at`]): it denies,
/// first packets and replies alike (nothing is tracked at a VNIC nobody
/// knows, and its NSGs and attributes are unknown: the least it could
/// allow is nothing). `None` for any other endpoint.
fn lost_vnic_layer(s: &Scenario, ep: Endpoint, ip: IpAddr, stage: Stage) -> Option<LayerReport> {
    let sn = &s.subnets[vnics_unknown_at(s, ep, ip)?.index()];
    let list = match &sn.id {
        Some(id) => format!("`oci network private-ip list --subnet-id {id} --all`"),
        None => "`oci network private-ip list --subnet-id SUBNET --all`".to_owned(),
    };
    Some(LayerReport::new(stage, Outcome::Denied).with_reason(format!(
        "{ip} may be a VNIC the export lacks: no VNIC holds it, and subnet `{}` does not know all its VNICs (`vnics_unknown = true`), so its NSGs and security attributes are unknown and nothing is allowed to or from it; export the subnet's private IPs ({list}) and their VNICs (`oci network vnic get`)",
        sn.name
    )))
}

/// The security lists that apply to a VNIC.
#[must_use]
pub fn vnic_security_lists(s: &Scenario, v: VnicId) -> &[SecurityListId] {
    &s.subnets[s.vnics[v.index()].subnet.index()].security_lists
}

/// Every layer judged on its own, as if the layers before it had allowed
/// the packet (a first packet): what `verify` reports as "blocked by" for a
/// path that should be open. `evaluate` stops at the first layer that
/// denies; this runs all four, so a packet that the route and ZPR both
/// block shows both. Returns one report per layer, in pipeline order;
/// traffic to or from 169.254.0.0/16 gets four `NOT_APPLICABLE` reports.
#[must_use]
pub fn every_layer(s: &Scenario, p: &Packet) -> Vec<LayerReport> {
    every_layer_between(s, endpoint_of(s, p.src), endpoint_of(s, p.dst), p)
}

/// [`every_layer`] with the endpoints found through `index`, built from
/// `s` (see [`evaluate_with`]).
#[must_use]
pub fn every_layer_with(s: &Scenario, index: &AddressIndex, p: &Packet) -> Vec<LayerReport> {
    every_layer_between(
        s,
        index.endpoint_of(s, p.src),
        index.endpoint_of(s, p.dst),
        p,
    )
}

fn every_layer_between(s: &Scenario, src: Endpoint, dst: Endpoint, p: &Packet) -> Vec<LayerReport> {
    if is_link_local(p.src) || is_link_local(p.dst) {
        return Stage::ALL
            .iter()
            .map(|st| LayerReport::new(*st, Outcome::NotApplicable))
            .collect();
    }
    if let Some(why) = virtual_router_dhcp(s, src, dst, p) {
        return Stage::ALL
            .iter()
            .map(|st| LayerReport::new(*st, Outcome::NotApplicable).with_reason(why.clone()))
            .collect();
    }
    vec![
        route_layer(s, src, dst, p, Context::First).report,
        match src {
            Endpoint::Vnic(v) => {
                security_layer(s, v, Direction::Egress, p, p.dst, dst, false).report
            }
            _ => lost_vnic_layer(s, src, p.src, Stage::EgressSecurity)
                .unwrap_or_else(|| LayerReport::new(Stage::EgressSecurity, Outcome::Skipped)),
        },
        match dst {
            Endpoint::Vnic(v) => {
                security_layer(s, v, Direction::Ingress, p, p.src, src, false).report
            }
            _ => lost_vnic_layer(s, dst, p.dst, Stage::IngressSecurity)
                .unwrap_or_else(|| LayerReport::new(Stage::IngressSecurity, Outcome::Skipped)),
        },
        zpr_layer(s, src, dst, p, Context::First).report,
    ]
}
