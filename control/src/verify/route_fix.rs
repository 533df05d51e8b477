//! What would open a pair the route table drops: the route rule to add to
//! the source VNIC's route table, in the scenario's own TOML. As with the
//! security and ZPR hints (`fix.rs`, `zpr_fix.rs`), a hint is given only
//! once the witness, judged again by the reference evaluator with the rule
//! added, passes the route layer: it is never a guess.
//!
//! Which gateway should carry the traffic is the network's design, so the
//! rule is the first that works among the gateways of the source's VCN
//! that can reach the destination, and the hint names the others that
//! would work too:
//! - a destination in another VCN (a VNIC or an address of its CIDRs): that
//!   VCN's CIDR block holding it, through a dynamic routing gateway or a
//!   local peering gateway;
//! - a destination in a service label's CIDRs: the label, through a service
//!   gateway;
//! - any other address: what the path's selector stands for (every address
//!   of its family for `internet`, a CIDR), else the address, through a NAT
//!   gateway, an internet gateway or a dynamic routing gateway (on-premises
//!   networks sit behind one);
//! - from outside the VCNs to a VNIC: the return path in the destination
//!   VNIC's route table (semantics §1), for what the source stands for,
//!   through an internet gateway, a DRG or an LPG.
//!
//! NAT is tried first. An internet gateway opens the route layer only for
//! a VNIC it carries (semantics §2: IPv4 with a public IP, IPv6 outside a
//! subnet that prohibits internet ingress): the proof judges that.
//! No hint when neither side is a VNIC, the VNIC has no route table, or no
//! gateway of its VCN opens the route layer; nor when the table already
//! has a rule for the same destination (an added rule of equal prefix
//! never wins: the fix is to change that rule's target, which hints do
//! not write).

use std::net::IpAddr;

use ipnet::IpNet;

use super::PathSpec;
use super::fix::{Kept, Scratch, stands_for};
use crate::escape::toml_string;
use crate::ids::{GatewayId, RouteTableId};
use crate::model::{
    AddressIndex, Endpoint, GatewayKind, Peer, RouteDestination, RouteRule, RouteTarget, Scenario,
    vcn_containing,
};
use crate::packet::Packet;
use crate::verdict::{LayerReport, Outcome, Stage};

/// The route rule that would let `p` (a witness of `path`, or the packet
/// alone) through a route layer that drops it in `blocking`, as hint text;
/// proved on `scratch`, a copy of `s` (the rule stays on it while hints
/// are kept, [`Scratch::keep`]).
pub(super) fn to_open(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    path: Option<&PathSpec>,
    p: &Packet,
    blocking: &[LayerReport],
) -> Option<String> {
    blocking
        .iter()
        .find(|l| l.layer == Stage::Route && l.outcome == Outcome::NoRoute)?;
    let endpoint = |ip: IpAddr| super::endpoint_at(s, ix, ip);
    // What the remote side stands for in the path (`internet`, a CIDR),
    // else its address.
    let wide = |ip: IpAddr, sel: Option<&super::Selector>| {
        sel.and_then(|sel| stands_for(s, sel, ip))
            .and_then(|peer| match peer {
                Peer::Cidr(net) => Some(net),
                _ => None,
            })
            .unwrap_or_else(|| IpNet::from(ip))
    };
    let (v, destination, kinds): (_, RouteDestination, &[GatewayKind]) =
        match (endpoint(p.src), endpoint(p.dst)) {
            (Endpoint::Vnic(v), _) => {
                let vcn = s.vnic_vcn(v);
                match vcn_containing(s, p.dst) {
                    Some(dv) if dv != vcn => (
                        v,
                        RouteDestination::Cidr(
                            s.vcns[dv.index()]
                                .cidr_blocks
                                .iter()
                                .find(|c| c.contains(&p.dst))
                                .copied()?,
                        ),
                        &[GatewayKind::Drg, GatewayKind::Lpg],
                    ),
                    // Inside the source's own VCN the implicit local route
                    // decides.
                    Some(_) => return None,
                    None => match s
                        .services
                        .iter()
                        .position(|l| l.cidrs.iter().any(|c| c.contains(&p.dst)))
                    {
                        Some(l) => (
                            v,
                            RouteDestination::Service(crate::ids::ServiceId::new(l).ok()?),
                            &[GatewayKind::Service],
                        ),
                        None => (
                            v,
                            RouteDestination::Cidr(wide(p.dst, path.map(|x| &x.to))),
                            &[GatewayKind::Nat, GatewayKind::Internet, GatewayKind::Drg],
                        ),
                    },
                }
            }
            // From outside the VCN: the return path, in the destination's
            // table (semantics §1: an internet gateway, a DRG or an LPG).
            // An LPG only for an address of another VCN: OCI routes no
            // internet traffic through a peering (no transit to an
            // internet gateway), though the model's return path would
            // take it.
            (_, Endpoint::Vnic(v)) => (
                v,
                RouteDestination::Cidr(wide(p.src, path.map(|x| &x.from))),
                if vcn_containing(s, p.src).is_some() {
                    &[GatewayKind::Internet, GatewayKind::Drg, GatewayKind::Lpg]
                } else {
                    &[GatewayKind::Internet, GatewayKind::Drg]
                },
            ),
            _ => return None,
        };
    let table = s.effective_route_table(v)?;
    let vcn = s.vnic_vcn(v);
    let candidates: Vec<GatewayId> = kinds
        .iter()
        .flat_map(|k| {
            s.gateways
                .iter()
                .enumerate()
                .filter(move |(_, g)| g.vcn == vcn && g.kind == *k && !g.blocked)
                .filter_map(|(i, _)| GatewayId::new(i).ok())
        })
        .collect();
    let rule = |g: GatewayId| RouteRule {
        destination: destination.clone(),
        target: RouteTarget::Gateway(g),
        description: None,
    };
    let mut works = candidates
        .iter()
        .copied()
        .filter(|&g| opens(scratch, s, ix, p, table, rule(g)));
    let Some(first) = works.next() else {
        return retarget(scratch, s, ix, p, table, &destination, &candidates);
    };
    let others: Vec<String> = works
        .map(|g| format!("`{}`", s.gateways[g.index()].name))
        .collect();
    // Proved above; written again, to stay when hints stay on the copy
    // (only after the others were judged without it).
    if scratch.keeping() {
        scratch.of(s).route_tables[table.index()]
            .rules
            .push(rule(first));
        scratch.kept(Kept::Route(table.index()));
    }
    let dest = match &destination {
        RouteDestination::Cidr(net) => format!("destination = \"{net}\""),
        RouteDestination::Service(l) => format!(
            "destination = {}, destination_type = \"SERVICE_CIDR_BLOCK\"",
            toml_string(&s.services[l.index()].name)
        ),
    };
    let mut text = format!(
        "{}: add to route table `{}`: {{ {dest}, network_entity = {} }}",
        Stage::Route.as_str(),
        s.route_tables[table.index()].name,
        toml_string(&s.gateways[first.index()].name)
    );
    if !others.is_empty() {
        text.push_str(&format!(" (or through {})", others.join(", ")));
    }
    Some(text)
}

/// When the table already has a rule for `destination` (an added rule of
/// equal prefix never wins: the first one written does), the gateway that
/// rule should target instead: the first of `candidates` that opens the
/// route layer for `p`, proved on `scratch` as an added rule is. The usual
/// case: a private subnet's `0.0.0.0/0` to an internet gateway, which
/// carries none of its VNICs' traffic, where a NAT gateway would.
fn retarget(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
    table: RouteTableId,
    destination: &RouteDestination,
    candidates: &[GatewayId],
) -> Option<String> {
    let t = &s.route_tables[table.index()];
    let at = t.rules.iter().position(|r| &r.destination == destination)?;
    let old = t.rules[at].target.clone();
    let set = |scratch: &mut Scratch, target: RouteTarget| {
        std::mem::replace(
            &mut scratch.of(s).route_tables[table.index()].rules[at].target,
            target,
        )
    };
    let mut works = candidates.iter().copied().filter(|&g| {
        if old == RouteTarget::Gateway(g) {
            return false;
        }
        let was = set(scratch, RouteTarget::Gateway(g));
        let ok = route_passes(scratch.of(s), ix, p);
        set(scratch, was);
        ok
    });
    let first = works.next()?;
    let others: Vec<String> = works
        .map(|g| format!("`{}`", s.gateways[g.index()].name))
        .collect();
    // Proved above; set again, to stay when hints stay on the copy.
    if scratch.keeping() {
        let old = set(scratch, RouteTarget::Gateway(first));
        scratch.kept(Kept::Retarget {
            table: table.index(),
            rule: at,
            old,
        });
    }
    let now = match &old {
        RouteTarget::Gateway(g) => format!(
            "{} gateway `{}`",
            s.gateways[g.index()].kind.as_str(),
            s.gateways[g.index()].name
        ),
        RouteTarget::PrivateIp { ip, .. } => format!("private IP {ip}"),
    };
    let dest = match destination {
        RouteDestination::Cidr(net) => net.to_string(),
        RouteDestination::Service(l) => s.services[l.index()].name.clone(),
    };
    let mut text = format!(
        "{}: in route table `{}`, change rule #{at} ({dest} -> {now}) to network_entity = {}",
        Stage::Route.as_str(),
        t.name,
        toml_string(&s.gateways[first.index()].name)
    );
    if !others.is_empty() {
        text.push_str(&format!(" (or {})", others.join(", ")));
    }
    Some(text)
}

/// Whether `rule`, added to `table` on `scratch`, lets `p` through the
/// route layer; taken out again after.
fn opens(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
    table: RouteTableId,
    rule: RouteRule,
) -> bool {
    scratch.of(s).route_tables[table.index()].rules.push(rule);
    let ok = route_passes(scratch.of(s), ix, p);
    scratch.of(s).route_tables[table.index()].rules.pop();
    ok
}

/// Whether the route layer of `s` lets `p` through (the proof of a route
/// hint, made on the scratch copy).
fn route_passes(s: &Scenario, ix: Option<&AddressIndex>, p: &Packet) -> bool {
    !super::layers_of(s, ix, p)
        .iter()
        .any(|r| r.layer == Stage::Route && r.outcome == Outcome::NoRoute)
}
