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
//! a VNIC it carries (semantics §2: IPv4 with a public IP; IPv6 outside a
//! subnet that prohibits internet ingress, of a global prefix: not a ULA
//! nor a private prefix of its VCN): the proof judges that. An IPv6
//! address no internet gateway carries, dropped by a rule to one or with
//! no rule for the whole IPv6 internet (`::/0`, a path's `internet`), gets
//! no hint (`eval::ipv6_off_internet_cause`): OCI has no IPv6 NAT, and a DRG
//! there would take the table's internet IPv6 on-premises.
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
    let route = blocking
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
    // The VNIC `v`'s address in `p`, and the one at the other end.
    let (own, remote) = if endpoint(p.src) == Endpoint::Vnic(v) {
        (p.src, p.dst)
    } else {
        (p.dst, p.src)
    };
    // An IPv6 address no internet gateway carries (a private subnet's, a
    // ULA, a private prefix's: semantics §2), dropped by a rule to an
    // internet gateway: no rule opens the internet to it (OCI has no IPv6
    // NAT), and a DRG in the gateway's place would send the table's
    // internet IPv6 on-premises. The route reason says what to do.
    let to_igw = route
        .route_rule
        .and_then(|i| s.route_tables[table.index()].rules.get(i as usize))
        .is_some_and(|r| {
            matches!(r.target, RouteTarget::Gateway(g)
                if s.gateways[g.index()].kind == GatewayKind::Internet)
        });
    // Likewise where no rule matches and the hint would route the whole
    // IPv6 internet (a path's `internet`): only a DRG would open the model's
    // route layer, and it would send the table's internet IPv6 on-premises.
    let every_v6 =
        matches!(&destination, RouteDestination::Cidr(IpNet::V6(n)) if n.prefix_len() == 0);
    if (to_igw || every_v6) && crate::eval::ipv6_off_internet_cause(s, v, own).is_some() {
        return None;
    }
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
        return retarget(scratch, s, ix, p, remote, table, &destination, &candidates);
    };
    let others: Vec<String> = works
        .map(|g| format!("`{}`", s.gateways[g.index()].name))
        .collect();
    let closes = closes(scratch, s, ix, p, remote, table, &mut |copy, on| {
        let rules = &mut copy.route_tables[table.index()].rules;
        if on {
            rules.push(rule(first));
        } else {
            rules.pop();
        }
    });
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
    text.push_str(&closes);
    Some(text)
}

/// When the table already has a rule for `destination` (an added rule of
/// equal prefix never wins: the first one written does), the gateway that
/// rule should target instead: the first of `candidates` that opens the
/// route layer for `p`, proved on `scratch` as an added rule is. The usual
/// case: a private subnet's `0.0.0.0/0` to an internet gateway, which
/// carries none of its VNICs' traffic, where a NAT gateway would.
#[allow(clippy::too_many_arguments)]
fn retarget(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
    remote: IpAddr,
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
    let closes = closes(scratch, s, ix, p, remote, table, &mut |copy, on| {
        copy.route_tables[table.index()].rules[at].target = if on {
            RouteTarget::Gateway(first)
        } else {
            old.clone()
        };
    });
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
    text.push_str(&closes);
    Some(text)
}

/// At most this many addresses of a shared table are judged by [`closes`].
const SHARED_LOOKS: usize = 64;

/// What a route hint's `change` to `table` would close besides what it
/// opens, as a sentence to append to the hint (empty when nothing). A
/// route table is shared by every VNIC whose table it is, and the rule
/// carries their traffic with `remote` too: a NAT gateway for a public
/// subnet's VNIC takes new connections from the internet away (it admits
/// replies only), an internet gateway drops a private VNIC's traffic. For
/// the addresses of the VNICs using `table`, one per (subnet, primary
/// IPv4 without a public IP, IPv6 no internet gateway carries), what the
/// route layer reads of an address, at most [`SHARED_LOOKS`], the first
/// packets between it and `remote`, both ways, shaped as `p`, go through
/// the route layer on the copy without the change and with it
/// (`change(copy, true)` makes it, `false` undoes it): those it passes
/// without and drops with are named. "Today" is the copy: with the hints
/// given so far for the same path when they are kept ([`Scratch::keep`]).
/// The route layer alone is judged: ports do not matter to it, and what a
/// security rule would drop anyway is still a route the change closes.
fn closes(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
    remote: IpAddr,
    table: RouteTableId,
    change: &mut dyn FnMut(&mut Scenario, bool),
) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut looks: Vec<Packet> = Vec::new();
    for (i, u) in s.vnics.iter().enumerate() {
        let Ok(id) = crate::ids::VnicId::new(i) else {
            break;
        };
        if s.effective_route_table(id) != Some(table) {
            continue;
        }
        let primary = u.private_ips.iter().find(|a| a.is_ipv4()).copied();
        for &a in u
            .private_ips
            .iter()
            .filter(|a| a.is_ipv4() == remote.is_ipv4())
        {
            let key = (
                u.subnet,
                Some(a) == primary && u.public_ip == crate::model::PublicIp::Absent,
                crate::eval::ipv6_off_internet_cause(s, id, a).is_some(),
            );
            if looks.len() >= 2 * SHARED_LOOKS || !seen.insert(key) {
                continue;
            }
            for (src, dst) in [(a, remote), (remote, a)] {
                let q = Packet { src, dst, ..*p };
                if q != *p {
                    looks.push(q);
                }
            }
        }
    }
    let passing: Vec<Packet> = looks
        .into_iter()
        .filter(|q| route_passes(scratch.of(s), ix, q))
        .collect();
    change(scratch.of(s), true);
    let closed: Vec<Packet> = passing
        .into_iter()
        .filter(|q| !route_passes(scratch.of(s), ix, q))
        .collect();
    change(scratch.of(s), false);
    if closed.is_empty() {
        return String::new();
    }
    let name = |ip: IpAddr| match super::endpoint_at(s, ix, ip) {
        Endpoint::Vnic(u) => {
            let u = &s.vnics[u.index()];
            format!(
                "`{}` at {ip} (subnet `{}`)",
                u.name,
                s.subnets[u.subnet.index()].name
            )
        }
        _ => ip.to_string(),
    };
    let mut items: Vec<String> = closed
        .iter()
        .take(3)
        .map(|q| format!("{} -> {}", name(q.src), name(q.dst)))
        .collect();
    if closed.len() > 3 {
        items.push(format!("and {} more", closed.len() - 3));
    }
    format!(
        "; but route table `{}` is shared: with this change its route layer would drop new connections {} (they pass today)",
        s.route_tables[table.index()].name,
        items.join(", ")
    )
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
