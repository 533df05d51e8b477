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
//!   gateway or an internet gateway; for a private range (RFC 1918, shared
//!   `100.64.0.0/10`, ULA) a dynamic routing gateway only (on-premises
//!   networks sit behind one; since the twentieth session an existing NAT
//!   gateway is not offered before it; since the nineteenth never a DRG
//!   for the internet: it would take the table's internet traffic
//!   on-premises);
//! - from outside the VCNs to a VNIC: the return path in the destination
//!   VNIC's route table (semantics §1), for what the source stands for,
//!   through an internet gateway, a DRG (another VCN; a private range,
//!   only a DRG) or an LPG (another VCN).
//!
//! NAT is tried first, but for a VNIC that has or may have a public IP
//! (and for IPv6) the internet gateway (since the nineteenth session: it
//! carries both directions, and a NAT rule for the path out beside an
//! internet gateway rule for the path in, of the same destination in the
//! same table, cancel out). An internet gateway opens the route layer only for
//! a VNIC it carries (semantics §2: IPv4 with a public IP; IPv6 outside a
//! subnet that prohibits internet ingress, of a global prefix: not a ULA
//! nor a private prefix of its VCN): the proof judges that. An IPv6
//! address no internet gateway carries, dropped by a rule to one or with
//! no rule for the whole IPv6 internet (`::/0`, a path's `internet`), gets
//! no hint (`eval::ipv6_off_internet_cause`): OCI has no IPv6 NAT, and a DRG
//! there would take the table's internet IPv6 on-premises.
//! When no rule to a gateway of the VCN can be added that wins (a rule
//! of the same destination is there, or a narrower one dropped it), the
//! hint changes that rule's target (the same destination's since the
//! sixteenth session, the narrower one that dropped it since the
//! nineteenth). Since the nineteenth session a hint may also need new
//! objects, said plainly ("needs a new NAT gateway in VCN `v`") and
//! written in the scenario's TOML, each made on the scratch copy and
//! proved there like a rule:
//! - no gateway of the VCN opens it: a new one, of a kind the VCN has
//!   none of ([`fresh_kinds`]: a DRG attachment for another VCN or a
//!   private range, a service gateway for a label, a NAT then an internet
//!   gateway for the internet; never a DRG for the internet), with the
//!   rule to it (or the table's rule retargeted to it);
//! - the VNIC's subnet has no route table (nor has the VNIC): a new table
//!   for the subnet, holding the rule, given to the subnet (not for a
//!   stand-in subnet: its real table is unknown, the note says to export
//!   it).
//!
//! A gateway of the VCN that is disabled or blocks traffic, to which a
//! rule sends the packet, is enabled on the copy before any other gateway
//! is tried (since the nineteenth session: the rule was retargeted to an
//! enabled gateway of the VCN, a DRG for the internet). Before a new
//! gateway, one that is disabled or blocks traffic is enabled with the
//! rule (not an LPG not peered: peering takes the other
//! VCN's too). A kind the VCN has one of gets no second one.
//! A hint for a packet to a VNIC in another VCN writes what the reply
//! needs too when it would still drop at that VCN's route layer: the rule
//! back (and the table or gateway it needs), proved on the copy (since
//! the twentieth session; the nineteenth named it only; [`reply_hint`]).
//! A rule that sends the packet to a private IP whose VNIC checks source
//! and destination gets, first, the hint that sets
//! `skip_source_dest_check = true` on that VNIC, when that opens it
//! (since the twentieth session; [`skip_check`]), inside one VCN too.
//! No hint when neither side is a VNIC, nor inside one VCN (its local
//! routes decide), nor when nothing of the above opens the route layer:
//! only then does the pair "stay closed".

use std::net::IpAddr;

use ipnet::IpNet;

use super::fix::{Kept, Scratch, stands_for};
use super::{Blocked, PathSpec};
use crate::escape::toml_string;
use crate::ids::{GatewayId, RouteTableId};
use crate::model::{
    AddressIndex, Endpoint, Gateway, GatewayKind, Peer, RouteDestination, RouteRule, RouteTable,
    RouteTarget, Scenario, vcn_containing,
};
use crate::packet::Packet;
use crate::verdict::{LayerReport, Outcome, Stage};

/// The route rule that would let `b`'s packet (a witness of its path, or
/// the packet alone) through a route layer that drops it, as hint text;
/// proved on `scratch`, a copy of the scenario (the rule stays on it while
/// hints are kept, [`Scratch::keep`]).
pub(super) fn to_open(scratch: &mut Scratch, b: &Blocked<'_>) -> Option<String> {
    let Blocked { s, ix, path, p, .. } = *b;
    // A path from a service label (`service:LABEL`) to a VNIC: the
    // label's CIDRs first, else the witness's address (since the
    // twentieth session; the late review's L3).
    let text = to_open_one(scratch, b, true)
        .or_else(|| service_of(s, path, p.src).and_then(|_| to_open_one(scratch, b, false)))?;
    Some(text + &reply_hint(scratch, s, ix, p))
}

/// What opens the reply of `p`, a first packet of `path` (or the packet
/// alone) that passes on `scratch` and whose reply drops at the route
/// layer there (since the twenty-second session): the answer's VNIC has
/// no route back to the initiator (asymmetric routing: a cross-VCN or
/// on-premises initiator whose requests come in by a route the answer's
/// table lacks). The hint is the route rule back in the reply's table,
/// written as for a first packet (the reply from a VNIC is routed as a
/// first packet is, semantics.md §2b): the initiator's VCN block through
/// a DRG or LPG, a private range through a DRG, with the gateway or
/// table it needs; the remote side is what the path's `from` stands for.
/// Proved on `scratch`: the reply's route layer passes with it, and the
/// caller judges both packets again. `None` when the reply does not drop
/// at route, its source is not a VNIC, or nothing opens it.
pub(super) fn reply_to_open(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: &AddressIndex,
    path: Option<&PathSpec>,
    p: &Packet,
) -> Option<String> {
    let back = p.reply();
    let Endpoint::Vnic(y) = super::endpoint_at(s, Some(ix), back.src) else {
        return None;
    };
    let (_, r) = super::first_and_reply(scratch.of(s), Some(ix), p)?;
    if r.judgement.stage != Some(Stage::Route) {
        return None;
    }
    // The reply's route layer, judged as a first packet's (the same for a
    // reply from a VNIC).
    let layers = super::layers_of(scratch.of(s), Some(ix), &back);
    // The path turned around: the reply goes to what `from` stands for.
    let turned = path.map(|x| PathSpec {
        from: x.to.clone(),
        to: x.from.clone(),
        from_text: x.to_text.clone(),
        to_text: x.from_text.clone(),
        ..x.clone()
    });
    let turned = Blocked {
        s,
        ix: Some(ix),
        path: turned.as_ref(),
        p: &back,
        blocking: &layers,
    };
    let hint = to_open_one(scratch, &turned, false)?;
    Some(format!(
        "route: for the reply from `{}` ({} -> {}), {}",
        s.vnics[y.index()].name,
        back.src,
        back.dst,
        hint.strip_prefix("route: ").unwrap_or(&hint)
    ))
}

/// The service label the source side of `path` stands for at `ip`, and
/// its CIDR holding `ip`.
fn service_of(s: &Scenario, path: Option<&PathSpec>, ip: IpAddr) -> Option<(usize, IpNet)> {
    match stands_for(s, &path?.from, ip)? {
        Peer::Service(l) => s.services[l.index()]
            .cidrs
            .iter()
            .find(|c| c.contains(&ip))
            .map(|c| (l.index(), *c)),
        _ => None,
    }
}

/// [`to_open`] without the reply's hint. `label`: for a packet from an
/// address a path's `service:LABEL` stands for, to a VNIC, the return
/// path's rules are for the label's CIDRs of the address's family (one
/// rule each, the one holding the address first), not the address alone
/// (since the twentieth session: a `/32` of the witness let `verify`
/// pass while the label's other addresses stayed closed). A label's own
/// rule (`SERVICE_CIDR_BLOCK`) targets a service gateway only, which
/// admits replies only, so the CIDRs are written as CIDR rules.
fn to_open_one(scratch: &mut Scratch, b: &Blocked<'_>, label: bool) -> Option<String> {
    let Blocked {
        s,
        ix,
        path,
        p,
        blocking,
    } = *b;
    let route = blocking
        .iter()
        .find(|l| l.layer == Stage::Route && l.outcome == Outcome::NoRoute)?;
    let endpoint = |ip: IpAddr| super::endpoint_at(s, ix, ip);
    if let Some(hint) = skip_check(scratch, s, ix, p, route) {
        return Some(hint);
    }
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
    let (v, destination, kinds): (_, RouteDestination, Vec<GatewayKind>) =
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
                        vec![GatewayKind::Drg, GatewayKind::Lpg],
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
                            vec![GatewayKind::Service],
                        ),
                        None => {
                            let net = wide(p.dst, path.map(|x| &x.to));
                            (v, RouteDestination::Cidr(net), outward(s, v, p.src, &net))
                        }
                    },
                }
            }
            // From outside the VCN: the return path, in the destination's
            // table (semantics §1: an internet gateway, a DRG or an LPG).
            // An LPG only for an address of another VCN: OCI routes no
            // internet traffic through a peering (no transit to an
            // internet gateway), though the model's return path would
            // take it.
            // Nor a DRG for an internet address (since the nineteenth
            // session): the table's internet traffic would go on-premises.
            (_, Endpoint::Vnic(v)) => {
                let net = match service_of(s, path, p.src).filter(|_| label) {
                    Some((_, c)) => c,
                    None => wide(p.src, path.map(|x| &x.from)),
                };
                // An address of the VNIC's own VCN is reached by the
                // local routes (a rule for it may target a private IP only,
                // and inside the subnet nothing is routed): no gateway
                // opens it. Where the layer drops it, the VNIC's table is a
                // stand-in, which gets no hint (the mid-session review's
                // M1, twentieth session).
                let own_vcn = s.vnic_vcn(v);
                if vcn_containing(s, p.src) == Some(own_vcn) {
                    return None;
                }
                // An address of another VCN comes through a DRG or a
                // local peering, never an internet gateway: the reply to
                // it would drop at route (since the twentieth session,
                // when `verify` judges a TCP path's replies; before, the
                // internet gateway came first).
                let kinds = if vcn_containing(s, p.src).is_some() {
                    vec![GatewayKind::Drg, GatewayKind::Lpg]
                } else if private(&net) {
                    // A private range comes from behind a DRG, not from
                    // the internet (since the twentieth session).
                    vec![GatewayKind::Drg]
                } else {
                    vec![GatewayKind::Internet]
                };
                (v, RouteDestination::Cidr(net), kinds)
            }
            _ => return None,
        };
    let vcn = s.vnic_vcn(v);
    // A rule to a stand-in gateway (`zprsim import` made it up for a
    // target the export lacks) dropped it: what the real target is, and
    // whether it carries the packet, is unknown. No hint (since the
    // nineteenth session: it was enabled, or the rule retargeted away
    // from it); the stand-in note says what to export.
    if let Some(t) = scratch.of(s).effective_route_table(v) {
        let copy = scratch.of(s);
        let stand_in = route
            .route_rule
            .and_then(|i| copy.route_tables[t.index()].rules.get(i as usize))
            .is_some_and(|r| {
                matches!(r.target, RouteTarget::Gateway(g) if copy.gateways[g.index()].stand_in)
            });
        if stand_in {
            return None;
        }
    }
    // A stand-in table (made up by `zprsim import` for one the export
    // lacks) gets no rule: its real rules are unknown, and a rule added
    // to it would be lost when the real table is imported; the stand-in
    // note says what to export (the mid-session review's M1, twentieth
    // session: the reply's rule back and outward rules went into it).
    // Read on the copy: a table or gateway an earlier pair's hint created
    // is there while a path's hints are kept (`whole.rs`).
    let today = scratch.of(s).effective_route_table(v);
    if today.is_some_and(|t| scratch.of(s).route_tables[t.index()].stand_in) {
        return None;
    }
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
    let to_igw = today.is_some_and(|t| {
        let copy = scratch.of(s);
        route
            .route_rule
            .and_then(|i| copy.route_tables[t.index()].rules.get(i as usize))
            .is_some_and(|r| {
                matches!(r.target, RouteTarget::Gateway(g)
                    if copy.gateways[g.index()].kind == GatewayKind::Internet)
            })
    });
    // Likewise where no rule matches and the hint would route the whole
    // IPv6 internet (a path's `internet`): only a DRG would open the model's
    // route layer, and it would send the table's internet IPv6 on-premises.
    let every_v6 =
        matches!(&destination, RouteDestination::Cidr(IpNet::V6(n)) if n.prefix_len() == 0);
    if (to_igw || every_v6) && crate::eval::ipv6_off_internet_cause(s, v, own).is_some() {
        return None;
    }
    // A VNIC whose subnet has no route table (nor has the VNIC): a new
    // table for the subnet, made on the copy now and taken away again
    // unless a rule in it opens the layer. Not for a stand-in subnet: its
    // real table is unknown, and the stand-in note says to export it.
    let subnet = s.vnics[v.index()].subnet;
    let (table, new_table) = match today {
        Some(t) => (t, None),
        None => {
            if s.subnets[subnet.index()].table_unknown {
                return None;
            }
            let copy = scratch.of(s);
            let t = RouteTableId::new(copy.route_tables.len()).ok()?;
            let name = unique(&format!("{}-rt", s.subnets[subnet.index()].name), |n| {
                copy.route_tables.iter().any(|x| x.name == n)
            });
            copy.route_tables.push(RouteTable {
                name,
                id: None,
                vcn,
                rules: Vec::new(),
                stand_in: false,
            });
            copy.subnets[subnet.index()].route_table = Some(t);
            (t, Some(subnet.index()))
        }
    };
    let candidates: Vec<GatewayId> = {
        let copy = scratch.of(s);
        kinds
            .iter()
            .flat_map(|k| {
                copy.gateways
                    .iter()
                    .enumerate()
                    .filter(move |(_, g)| g.vcn == vcn && g.kind == *k && !g.blocked)
                    .filter_map(|(i, _)| GatewayId::new(i).ok())
            })
            .collect()
    };
    // The rule that dropped it, when one did: retargeted when no rule of
    // the destination is there to be (a narrower rule to the wrong
    // gateway, which an added rule never wins over).
    let matched = route.route_rule.map(|i| i as usize);
    // A gateway of the VCN of those kinds that is disabled or blocks
    // traffic, enabled on the copy (alone, when a rule already sends the
    // packet to it; else with the rule), and disabled again unless that
    // opens it. Not a local peering gateway: peering takes the other
    // VCN's too. Alone before any other gateway is tried (since the
    // nineteenth session): the rule to a disabled gateway of the right
    // kind is the network's design, and retargeting it would send all
    // the table's traffic of that destination elsewhere.
    let off: Vec<GatewayId> = {
        let copy = scratch.of(s);
        kinds
            .iter()
            .filter(|k| **k != GatewayKind::Lpg)
            .flat_map(|k| {
                copy.gateways
                    .iter()
                    .enumerate()
                    .filter(move |(_, g)| g.vcn == vcn && g.kind == *k && g.blocked && !g.stand_in)
                    .filter_map(|(i, _)| GatewayId::new(i).ok())
            })
            .collect()
    };
    let mut found = enable(scratch, s, ix, p, table, &destination, matched, &off, true);
    if found.is_none() {
        found = first_that_opens(scratch, s, ix, p, table, &destination, matched, &candidates)
            .map(|f| (f, Via::Existing));
    }
    if found.is_none() {
        found = enable(scratch, s, ix, p, table, &destination, matched, &off, false);
    }
    // No gateway of the VCN opens it: a new one, of the first kind that
    // opens it of those the remote side calls for ([`fresh_kinds`]) and
    // the VCN has none of, made on the copy and taken away again unless
    // it opens it. Not of a kind the VCN has one of (OCI allows one
    // internet gateway, one service gateway, one DRG attachment per VCN).
    if found.is_none() {
        for k in fresh_kinds(
            s,
            vcn,
            remote,
            own == p.src,
            public(s, v, own),
            &destination,
        ) {
            let copy = scratch.of(s);
            // A stand-in gateway of the VCN may be of any kind: none
            // beside it (since the nineteenth session).
            if copy
                .gateways
                .iter()
                .any(|g| g.vcn == vcn && (g.kind == k || g.stand_in))
            {
                continue;
            }
            let Ok(g) = GatewayId::new(copy.gateways.len()) else {
                break;
            };
            let name = unique(&format!("{}-{}", s.vcns[vcn.index()].name, short(k)), |n| {
                copy.gateways.iter().any(|x| x.name == n)
            });
            copy.gateways.push(Gateway {
                name,
                id: None,
                vcn,
                kind: k,
                blocked: false,
                stand_in: false,
            });
            if let Some(f) = first_that_opens(scratch, s, ix, p, table, &destination, matched, &[g])
            {
                found = Some((f, Via::New));
                break;
            }
            scratch.of(s).gateways.pop();
        }
    }
    let Some(((first, how, others), via)) = found else {
        if let Some(sn) = new_table {
            let copy = scratch.of(s);
            copy.route_tables.pop();
            copy.subnets[sn].route_table = None;
        }
        return None;
    };
    let rule = RouteRule {
        destination: destination.clone(),
        target: RouteTarget::Gateway(first),
        description: None,
    };
    // What the change would close: nothing for a new table, which no VNIC
    // used (with none, only the VCN's local routes apply, which a rule for
    // an address outside the VCN never beats), nor for a gateway enabled
    // alone (what its rules send to it was dropped).
    // "Today" is without the gateway a hint enables: it is disabled while
    // judged, enabled with the change.
    let enabled = via == Via::Enabled;
    if enabled {
        scratch.of(s).gateways[first.index()].blocked = true;
    }
    let closes = if new_table.is_some() {
        String::new()
    } else {
        match &how {
            How::AsIs => String::new(),
            How::Add => closes(scratch, s, ix, p, v, remote, table, &mut |copy, on| {
                copy.gateways[first.index()].blocked = enabled && !on;
                let rules = &mut copy.route_tables[table.index()].rules;
                if on {
                    rules.push(rule.clone());
                } else {
                    rules.pop();
                }
            }),
            How::Retarget { at, old } => {
                closes(scratch, s, ix, p, v, remote, table, &mut |copy, on| {
                    copy.gateways[first.index()].blocked = enabled && !on;
                    copy.route_tables[table.index()].rules[*at].target = if on {
                        RouteTarget::Gateway(first)
                    } else {
                        old.clone()
                    };
                })
            }
        }
    };
    if enabled {
        scratch.of(s).gateways[first.index()].blocked = false;
    }
    let text = hint_text(
        scratch.of(s),
        table,
        &destination,
        first,
        &how,
        &others,
        new_table,
        via,
    );
    // The label's other CIDRs of the family (a path from `service:LABEL`):
    // the same rule for each, proved for its first host, after the rule
    // for the witness's (kept or taken out with it, below).
    let extras: Vec<RouteRule> = match (&how, service_of(s, path, p.src).filter(|_| label)) {
        (How::Add, Some((l, held))) => s.services[l]
            .cidrs
            .iter()
            .filter(|c| **c != held && c.addr().is_ipv4() == held.addr().is_ipv4())
            .map(|c| RouteRule {
                destination: RouteDestination::Cidr(*c),
                target: RouteTarget::Gateway(first),
                description: None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut extra_text = String::new();
    let mut proved: Vec<RouteRule> = Vec::new();
    for r in extras {
        let RouteDestination::Cidr(c) = r.destination else {
            continue;
        };
        let q = Packet {
            src: super::selector::first_host(c),
            ..*p
        };
        if opens(scratch, s, ix, &q, table, r.clone()) {
            let copy = scratch.of(s);
            extra_text.push_str(&format!(
                "; then add to route table `{}`: {{ destination = \"{c}\", network_entity = {} }}",
                copy.route_tables[table.index()].name,
                toml_string(&copy.gateways[first.index()].name)
            ));
            proved.push(r);
        } else {
            // Not opened by such a rule (a longer rule of the table, to
            // another target, wins for its first host): said, not left
            // out in silence (the late review's M2, twentieth session).
            extra_text.push_str(&format!(
                "; the label's {c} is not opened by this hint (from {}: a rule of route table `{}` for it stays first; `zprsim explain` it)",
                q.src,
                scratch.of(s).route_tables[table.index()].name
            ));
            scratch.note_closed(c.to_string());
        }
    }
    // A part of a CIDR the hint opens that a longer rule of the table, to
    // another target, holds stays closed too, wherever it lies in the
    // CIDR (its first host judged with the hint's rules in place): said,
    // and noted, so that every path's hints together do not claim the path
    // passes (the late review's M2 rest, since the twenty-first session:
    // the path's pairs judge one address of the label).
    if let (How::Add, RouteDestination::Cidr(_), true) = (
        &how,
        &destination,
        service_of(s, path, p.src).is_some() && label,
    ) {
        let mine: Vec<RouteRule> = std::iter::once(rule.clone())
            .chain(proved.iter().cloned())
            .collect();
        let copy = scratch.of(s);
        let before = copy.route_tables[table.index()].rules.len();
        let theirs: Vec<(usize, IpNet)> = copy.route_tables[table.index()]
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.target != RouteTarget::Gateway(first))
            .filter_map(|(i, r)| match r.destination {
                RouteDestination::Cidr(d) => Some((i, d)),
                RouteDestination::Service(_) => None,
            })
            .collect();
        copy.route_tables[table.index()]
            .rules
            .extend(mine.iter().cloned());
        for r in &mine {
            let RouteDestination::Cidr(c) = r.destination else {
                continue;
            };
            for &(i, d) in &theirs {
                if d.prefix_len() <= c.prefix_len() || !c.contains(&d) {
                    continue;
                }
                let q = Packet {
                    src: super::selector::first_host(d),
                    ..*p
                };
                if !route_passes(scratch.of(s), ix, &q) {
                    extra_text.push_str(&format!(
                        "; but {d} of the label's {c} stays closed (from {}: rule #{i} of route table `{}` for it, a longer match, sends it elsewhere; `zprsim explain` it)",
                        q.src,
                        scratch.of(s).route_tables[table.index()].name
                    ));
                    scratch.note_closed(format!("{d} of {c}"));
                }
            }
        }
        scratch.of(s).route_tables[table.index()]
            .rules
            .truncate(before);
    }
    let text = text + &extra_text + &closes;
    // Proved above; made again, to stay when hints stay on the copy (only
    // after the others were judged without it): the table and gateway
    // first, taken away last.
    if scratch.keeping() {
        if let Some(subnet) = new_table {
            scratch.kept(Kept::Table { subnet });
        }
        match via {
            Via::New => {
                scratch.kept(Kept::Gateway);
            }
            Via::Enabled => {
                scratch.kept(Kept::Enabled(first.index()));
            }
            Via::Existing => {}
        }
        let copy = scratch.of(s);
        match how {
            How::AsIs => {}
            How::Add => {
                copy.route_tables[table.index()].rules.push(rule);
                scratch.kept(Kept::Route(table.index()));
                for r in proved {
                    scratch.of(s).route_tables[table.index()].rules.push(r);
                    scratch.kept(Kept::Route(table.index()));
                }
            }
            How::Retarget { at, .. } => {
                let old = std::mem::replace(
                    &mut copy.route_tables[table.index()].rules[at].target,
                    RouteTarget::Gateway(first),
                );
                scratch.kept(Kept::Retarget {
                    table: table.index(),
                    rule: at,
                    old,
                });
            }
        }
    } else {
        let copy = scratch.of(s);
        match via {
            Via::New => {
                copy.gateways.pop();
            }
            Via::Enabled => copy.gateways[first.index()].blocked = true,
            Via::Existing => {}
        }
        if let Some(sn) = new_table {
            copy.route_tables.pop();
            copy.subnets[sn].route_table = None;
        }
    }
    Some(text)
}

/// When the rule that dropped `p` (route layer `route`) sends to a
/// private IP whose VNIC checks source and destination
/// (`skip_source_dest_check = false`: OCI drops what is not addressed to
/// it), the hint that sets `skip_source_dest_check = true` on that VNIC,
/// when that lets `p` through the route layer on `scratch` (since the
/// twentieth session: the rule was retargeted to a gateway, or a new one
/// made, routing around the appliance the network sends the traffic
/// through). Kept on the copy while a path's hints are gathered. Not for
/// a stand-in VNIC (its real flag is unknown; the stand-in note says what
/// to export), nor when the flag alone does not open it (a first packet
/// from outside: a private IP admits replies only).
fn skip_check(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
    route: &LayerReport,
) -> Option<String> {
    // The VNIC whose table the lookup read: the source, else (the return
    // path) the destination.
    let reader = match (
        super::endpoint_at(s, ix, p.src),
        super::endpoint_at(s, ix, p.dst),
    ) {
        (Endpoint::Vnic(v), _) | (_, Endpoint::Vnic(v)) => v,
        _ => return None,
    };
    let copy = scratch.of(s);
    let t = copy.effective_route_table(reader)?;
    let i = route.route_rule?;
    let RouteTarget::PrivateIp { ip, vnic: w } =
        copy.route_tables[t.index()].rules.get(i as usize)?.target
    else {
        return None;
    };
    let hop = &copy.vnics[w.index()];
    if hop.skip_source_dest_check != Some(false) || hop.stand_in {
        return None;
    }
    copy.vnics[w.index()].skip_source_dest_check = Some(true);
    if !route_passes(scratch.of(s), ix, p) {
        scratch.of(s).vnics[w.index()].skip_source_dest_check = Some(false);
        return None;
    }
    let copy = scratch.of(s);
    let text = format!(
        "{}: set skip_source_dest_check = true in [[vnic]] `{}` (private IP {ip}, the next hop of rule #{i} of route table `{}`: it drops what is not addressed to it)",
        Stage::Route.as_str(),
        copy.vnics[w.index()].name,
        copy.route_tables[t.index()].name
    );
    if !scratch.kept(Kept::SkipCheck {
        vnic: w.index(),
        old: Some(false),
    }) {
        scratch.of(s).vnics[w.index()].skip_source_dest_check = Some(false);
    }
    Some(text)
}

/// For a packet from a VNIC to a VNIC in another VCN whose route hint was
/// just given (the change kept on `scratch`, or taken out again: the
/// reply's route layer reads the other VCN's table and gateways only, which
/// the hint does not touch), what opens its reply's route layer too, as a
/// sentence to append to the hint; empty when the reply passes. Since the
/// twentieth session the rule back is written, proved on the copy as the
/// first packet's is ([`to_open_one`] on the reply: a rule to a DRG or LPG
/// of that VCN for the source VCN's block, with the table or gateway it
/// needs), and kept with the hint while a path's hints are gathered;
/// before, the hint named the rule back and left it to the user (the late
/// review's F6). When nothing opens the reply, the sentence says that it
/// would still drop.
fn reply_hint(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
) -> String {
    let (Endpoint::Vnic(x), Endpoint::Vnic(y)) = (
        super::endpoint_at(s, ix, p.src),
        super::endpoint_at(s, ix, p.dst),
    ) else {
        return String::new();
    };
    let vcn = s.vnic_vcn(x);
    if s.vnic_vcn(y) == vcn {
        return String::new();
    }
    let back = p.reversed();
    let layers = super::layers_of(scratch.of(s), ix, &back);
    if !layers
        .iter()
        .any(|r| r.layer == Stage::Route && r.outcome == Outcome::NoRoute)
    {
        return String::new();
    }
    let vn = &s.vnics[y.index()];
    let back_alone = Blocked {
        s,
        ix,
        path: None,
        p: &back,
        blocking: &layers,
    };
    match to_open_one(scratch, &back_alone, false) {
        Some(hint) => format!(
            "; for the reply from `{}` ({} -> {}), {}",
            vn.name,
            back.src,
            back.dst,
            hint.strip_prefix("route: ").unwrap_or(&hint)
        ),
        // A stand-in table gets no rule (`to_open_one`): say so, not that
        // no rule opens it (the late review's L1, twentieth session).
        None if let Some(t) = scratch
            .of(s)
            .effective_route_table(y)
            .filter(|t| scratch.of(s).route_tables[t.index()].stand_in) =>
        {
            format!(
                "; the reply from `{}` ({} -> {}) would still drop at route: VNIC `{}`'s route table `{}` is a stand-in `zprsim import` made up for one the export lacks, and no hint goes into one (export it and import again)",
                vn.name,
                back.src,
                back.dst,
                vn.name,
                scratch.of(s).route_tables[t.index()].name
            )
        }
        None => {
            let back_to = s.vcns[vcn.index()]
                .cidr_blocks
                .iter()
                .find(|c| c.contains(&p.src))
                .map_or_else(|| p.src.to_string(), ToString::to_string);
            format!(
                "; the reply from `{}` ({} -> {}) would still drop at route, and no rule back for {back_to} in VNIC `{}`'s route table (VCN `{}`) opens it (`zprsim explain` the reply)",
                vn.name,
                back.src,
                back.dst,
                vn.name,
                s.vcns[s.vnic_vcn(y).index()].name
            )
        }
    }
}

/// What opens the layer: the gateway, how, and the others that would.
type Opened = (GatewayId, How, Vec<GatewayId>);

/// The first of the disabled gateways `off` that opens the route layer
/// for `p` once enabled on `scratch`: `alone`, as the table is (a rule
/// sends it there); else with a rule to it ([`first_that_opens`]). The
/// gateway stays enabled on the copy when it does.
#[allow(clippy::too_many_arguments)]
fn enable(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
    table: RouteTableId,
    destination: &RouteDestination,
    matched: Option<usize>,
    off: &[GatewayId],
    alone: bool,
) -> Option<(Opened, Via)> {
    for &g in off {
        scratch.of(s).gateways[g.index()].blocked = false;
        let f = if alone {
            route_passes(scratch.of(s), ix, p).then(|| (g, How::AsIs, Vec::new()))
        } else {
            first_that_opens(scratch, s, ix, p, table, destination, matched, &[g])
        };
        if let Some(f) = f {
            return Some((f, Via::Enabled));
        }
        scratch.of(s).gateways[g.index()].blocked = true;
    }
    None
}

/// Private ranges (RFC 1918, shared `100.64.0.0/10`, unique local IPv6):
/// on-premises networks sit behind a DRG.
const PRIVATE: [&str; 5] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

/// Whether `net` lies in a private range ([`PRIVATE`]).
fn private(net: &IpNet) -> bool {
    PRIVATE
        .iter()
        .filter_map(|r| r.parse::<IpNet>().ok())
        .any(|r| r.contains(net))
}

/// Whether the internet gateway is tried before a NAT gateway for VNIC
/// `v` at `own`: an IPv6 address (OCI has no IPv6 NAT), or a VNIC that
/// has or may have a public IP (not `public_ip = false`, nor in a subnet
/// that prohibits them). Since the nineteenth session: an internet
/// gateway carries both directions, a NAT gateway new connections out
/// only, so the return path of the same table needed the internet
/// gateway, and the two hints cancelled out.
fn public(s: &Scenario, v: crate::ids::VnicId, own: IpAddr) -> bool {
    let u = &s.vnics[v.index()];
    let sn = &s.subnets[u.subnet.index()];
    own.is_ipv6()
        || (u.public_ip != crate::model::PublicIp::Absent
            && !sn.prohibit_public_ip
            && !sn.prohibit_internet_ingress)
}

/// The gateway kinds a route hint may send VNIC `v`'s traffic from `own`
/// to `net` (an address outside the VCNs, not a service label's) through:
/// for a private range a DRG only (on-premises; since the twentieth
/// session not a NAT or internet gateway, which take it to the internet;
/// since the nineteenth never a DRG for the internet, whose traffic it
/// would take on-premises); else a NAT then an internet gateway, the
/// internet gateway first for a VNIC that may have a public IP
/// ([`public`]).
fn outward(s: &Scenario, v: crate::ids::VnicId, own: IpAddr, net: &IpNet) -> Vec<GatewayKind> {
    if private(net) {
        // Since the twentieth session a DRG only: an existing NAT
        // gateway was offered first, and it takes the traffic to the
        // internet, which routes no private address.
        vec![GatewayKind::Drg]
    } else if public(s, v, own) {
        vec![GatewayKind::Internet, GatewayKind::Nat]
    } else {
        vec![GatewayKind::Nat, GatewayKind::Internet]
    }
}

/// Which gateway a route hint sends the packet to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// One of the VCN's, as it is.
    Existing,
    /// One of the VCN's that is disabled or blocks traffic, enabled.
    Enabled,
    /// A new one.
    New,
}

/// How a route hint opens the layer.
#[derive(Debug, Clone)]
enum How {
    /// As the table is: a rule already sends it to the gateway (enabled).
    AsIs,
    /// A rule added to the table.
    Add,
    /// The table's rule `at`, of the same destination, given a new target
    /// (it had `old`).
    Retarget { at: usize, old: RouteTarget },
}

/// The first of `candidates` that opens the route layer for `p` on
/// `scratch` with a rule to it for `destination` added to `table`, with
/// the others that would too; else, when the table already has a rule
/// for `destination` (an added rule of equal prefix never wins: the first
/// one written does), the first that opens it as that rule's target
/// instead, and the others; else the same for `matched`, the rule that
/// dropped `p` (a narrower one, which an added rule never wins over;
/// since the nineteenth session). The usual case of the second: a private
/// subnet's `0.0.0.0/0` to an internet gateway, which carries none of its
/// VNICs' traffic, where a NAT gateway would. The copy is as it was after.
#[allow(clippy::too_many_arguments)]
fn first_that_opens(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
    table: RouteTableId,
    destination: &RouteDestination,
    matched: Option<usize>,
    candidates: &[GatewayId],
) -> Option<(GatewayId, How, Vec<GatewayId>)> {
    let rule = |g: GatewayId| RouteRule {
        destination: destination.clone(),
        target: RouteTarget::Gateway(g),
        description: None,
    };
    let mut works: Vec<GatewayId> = Vec::new();
    for &g in candidates {
        if opens(scratch, s, ix, p, table, rule(g)) {
            works.push(g);
        }
    }
    if let Some((&first, others)) = works.split_first() {
        return Some((first, How::Add, others.to_vec()));
    }
    let rules = &scratch.of(s).route_tables[table.index()].rules;
    let same = rules.iter().position(|r| &r.destination == destination);
    let matched = matched.filter(|&i| i < rules.len() && Some(i) != same);
    for at in same.into_iter().chain(matched) {
        let old = scratch.of(s).route_tables[table.index()].rules[at]
            .target
            .clone();
        let set = |scratch: &mut Scratch, target: RouteTarget| {
            std::mem::replace(
                &mut scratch.of(s).route_tables[table.index()].rules[at].target,
                target,
            )
        };
        // Never away from a stand-in gateway: its real kind is unknown.
        if matches!(old, RouteTarget::Gateway(o) if scratch.of(s).gateways[o.index()].stand_in) {
            continue;
        }
        // A service label's rule targets a service gateway only (OCI's
        // `SERVICE_CIDR_BLOCK`; the loader refuses any other target):
        // since the twentieth session it is not retargeted to another
        // kind (a host of a label's /32 CIDR, from outside, got "change
        // rule #0 (osn -> service gateway `sgw`) to network_entity =
        // \"igw\"", which `check` refused).
        let label = matches!(
            scratch.of(s).route_tables[table.index()].rules[at].destination,
            RouteDestination::Service(_)
        );
        for &g in candidates {
            if old == RouteTarget::Gateway(g)
                || (label && scratch.of(s).gateways[g.index()].kind != GatewayKind::Service)
            {
                continue;
            }
            let was = set(scratch, RouteTarget::Gateway(g));
            if route_passes(scratch.of(s), ix, p) {
                works.push(g);
            }
            set(scratch, was);
        }
        if let Some((&first, others)) = works.split_first() {
            return Some((first, How::Retarget { at, old }, others.to_vec()));
        }
    }
    None
}

/// The kinds of gateway a route hint may create, in the order tried, for
/// traffic of VNIC in VCN `vcn` with `remote` (`outbound`: the VNIC
/// sends it; else it is the return path to it) through a rule for
/// `destination`: a DRG for another VCN (its attachment; an LPG needs a
/// peer there too) or an address of a private range (RFC 1918, shared
/// `100.64.0.0/10`, a unique local IPv6 address: on-premises networks sit
/// behind one); a service gateway for a service label; for any other
/// address, a NAT gateway then an internet gateway (`internet_first`:
/// the other way round, [`public`]), or for its return path an internet
/// gateway. Never a DRG for the internet, new or existing: it would send
/// the table's internet traffic on-premises or nowhere.
fn fresh_kinds(
    s: &Scenario,
    vcn: crate::ids::VcnId,
    remote: IpAddr,
    outbound: bool,
    internet_first: bool,
    destination: &RouteDestination,
) -> Vec<GatewayKind> {
    match (vcn_containing(s, remote), destination) {
        (Some(dv), _) if dv == vcn => Vec::new(),
        (Some(_), _) => vec![GatewayKind::Drg],
        (None, RouteDestination::Service(_)) => vec![GatewayKind::Service],
        (None, RouteDestination::Cidr(net)) => {
            if private(net) {
                vec![GatewayKind::Drg]
            } else if outbound && internet_first {
                vec![GatewayKind::Internet, GatewayKind::Nat]
            } else if outbound {
                vec![GatewayKind::Nat, GatewayKind::Internet]
            } else {
                vec![GatewayKind::Internet]
            }
        }
    }
}

/// The hint's text: the rule to add to `table` in `copy` (or the rule of
/// its to retarget, `how`) for `destination` through gateway `first`, the
/// others that would do too, and, first, the table (for subnet
/// `new_table`) and gateway (`via` [`Via::New`]) it needs created, or
/// the gateway it needs enabled ([`Via::Enabled`]), which `copy` holds.
#[allow(clippy::too_many_arguments)]
fn hint_text(
    copy: &Scenario,
    table: RouteTableId,
    destination: &RouteDestination,
    first: GatewayId,
    how: &How,
    others: &[GatewayId],
    new_table: Option<usize>,
    via: Via,
) -> String {
    let new_gateway = via == Via::New;
    let t = &copy.route_tables[table.index()];
    let g = &copy.gateways[first.index()];
    let entity = toml_string(&g.name);
    let dest = match destination {
        RouteDestination::Cidr(net) => format!("destination = \"{net}\""),
        RouteDestination::Service(l) => format!(
            "destination = {}, destination_type = \"SERVICE_CIDR_BLOCK\"",
            toml_string(&copy.services[l.index()].name)
        ),
    };
    let vcn = &copy.vcns[g.vcn.index()].name;
    let gateway = format!(
        "add [[gateway]]: {{ name = {entity}, vcn = {}, kind = \"{}\" }}",
        toml_string(vcn),
        g.kind.as_str()
    );
    let mut needs: Vec<String> = Vec::new();
    let mut make: Vec<String> = Vec::new();
    if let Some(sn) = new_table {
        needs.push(format!(
            "a new route table for subnet `{}`",
            copy.subnets[sn].name
        ));
    }
    if new_gateway {
        needs.push(format!("a new {} in VCN `{vcn}`", kind_words(g.kind)));
        make.push(gateway);
    }
    if via == Via::Enabled {
        // The loader's fields: `is_enabled` of an internet gateway,
        // `block_traffic` of a NAT or service gateway.
        let (words, field) = match g.kind {
            GatewayKind::Internet => ("enabled", "is_enabled = true"),
            _ => ("to let traffic through", "block_traffic = false"),
        };
        needs.push(format!("{} `{}` {words}", kind_words(g.kind), g.name));
        make.push(format!("set {field} in [[gateway]] `{}`", g.name));
    }
    let mut text = format!("{}: ", Stage::Route.as_str());
    if !needs.is_empty() {
        text.push_str(&format!("needs {}: ", needs.join(" and ")));
    }
    match (new_table, how) {
        (Some(sn), _) => {
            make.push(format!(
                "add [[route_table]]: {{ name = {}, vcn = {}, route_rules = [{{ {dest}, network_entity = {entity} }}] }}",
                toml_string(&t.name),
                toml_string(&copy.vcns[t.vcn.index()].name)
            ));
            make.push(format!(
                "then set route_table = {} in subnet `{}`",
                toml_string(&t.name),
                copy.subnets[sn].name
            ));
        }
        (None, How::AsIs) => {}
        (None, How::Add) => make.push(format!(
            "{}add to route table `{}`: {{ {dest}, network_entity = {entity} }}",
            if via == Via::Existing { "" } else { "then " },
            t.name
        )),
        (None, How::Retarget { at, old }) => {
            let now = match old {
                RouteTarget::Gateway(o) => format!(
                    "{} gateway `{}`",
                    copy.gateways[o.index()].kind.as_str(),
                    copy.gateways[o.index()].name
                ),
                RouteTarget::PrivateIp { ip, .. } => format!("private IP {ip}"),
            };
            // The rule's own destination: the path's, or a narrower one.
            let short = match t.rules.get(*at).map_or(destination, |r| &r.destination) {
                RouteDestination::Cidr(net) => net.to_string(),
                RouteDestination::Service(l) => copy.services[l.index()].name.clone(),
            };
            make.push(format!(
                "{}in route table `{}`, change rule #{at} ({short} -> {now}) to network_entity = {entity}",
                if via == Via::Existing { "" } else { "then " },
                t.name
            ));
        }
    }
    // The other gateways that would do, after the step that writes the
    // rule (a new table's is the one before last: its subnet set after).
    if !others.is_empty() {
        let names: Vec<String> = others
            .iter()
            .map(|g| format!("`{}`", copy.gateways[g.index()].name))
            .collect();
        let alt = match how {
            How::Add | How::AsIs => format!(" (or through {})", names.join(", ")),
            How::Retarget { .. } => format!(" (or {})", names.join(", ")),
        };
        let at = make
            .len()
            .saturating_sub(1 + usize::from(new_table.is_some()));
        if let Some(step) = make.get_mut(at) {
            step.push_str(&alt);
        }
    }
    text.push_str(&make.join("; "));
    text
}

/// The words for a gateway of kind `k` to create.
fn kind_words(k: GatewayKind) -> &'static str {
    match k {
        GatewayKind::Internet => "internet gateway",
        GatewayKind::Nat => "NAT gateway",
        GatewayKind::Service => "service gateway",
        GatewayKind::Drg => "DRG attachment",
        GatewayKind::Lpg => "local peering gateway",
    }
}

/// The suffix of a new gateway's name (`VCN-igw`).
fn short(k: GatewayKind) -> &'static str {
    match k {
        GatewayKind::Internet => "igw",
        GatewayKind::Nat => "nat",
        GatewayKind::Service => "sgw",
        GatewayKind::Drg => "drg",
        GatewayKind::Lpg => "lpg",
    }
}

/// `base`, else `base-2`, `base-3`, ...: the first name `taken` does not
/// hold.
pub(super) fn unique(base: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut name = base.to_owned();
    let mut i = 2u64;
    while taken(&name) {
        name = format!("{base}-{i}");
        i += 1;
    }
    name
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
/// Since the twentieth session what it opens besides is named too: the
/// first packets from `remote` to the VNICs of the table in subnets
/// other than `own`'s that it drops today and passes with the change (the
/// late review's L4: an internet gateway route for one subnet's VNIC
/// opened the internet's new connections to another subnet's public
/// VNICs, silently).
#[allow(clippy::too_many_arguments)]
fn closes(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
    own: crate::ids::VnicId,
    remote: IpAddr,
    table: RouteTableId,
    change: &mut dyn FnMut(&mut Scenario, bool),
) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut looks: Vec<Packet> = Vec::new();
    // Which VNICs use `table` is read on the copy: a table an earlier
    // pair's hint created is there only.
    let copy = scratch.of(s);
    for (i, u) in s.vnics.iter().enumerate() {
        let Ok(id) = crate::ids::VnicId::new(i) else {
            break;
        };
        if copy.effective_route_table(id) != Some(table) {
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
    let own_subnet = s.vnics[own.index()].subnet;
    // New connections into a VNIC of another subnet: what the change
    // exposes (new connections out of one are what a shared table is
    // for, and a NAT gateway's rule opens them for every subnet).
    let elsewhere = |q: &Packet| {
        q.src == remote
            && matches!(super::endpoint_at(s, ix, q.dst),
                Endpoint::Vnic(u) if s.vnics[u.index()].subnet != own_subnet)
    };
    let (passing, failing): (Vec<Packet>, Vec<Packet>) = looks
        .into_iter()
        .partition(|q| route_passes(scratch.of(s), ix, q));
    let failing: Vec<Packet> = failing.into_iter().filter(|q| elsewhere(q)).collect();
    change(scratch.of(s), true);
    let closed: Vec<Packet> = passing
        .into_iter()
        .filter(|q| !route_passes(scratch.of(s), ix, q))
        .collect();
    let opened: Vec<Packet> = failing
        .into_iter()
        .filter(|q| route_passes(scratch.of(s), ix, q))
        .collect();
    change(scratch.of(s), false);
    if closed.is_empty() && opened.is_empty() {
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
    let items = |qs: &[Packet]| {
        let mut items: Vec<String> = qs
            .iter()
            .take(3)
            .map(|q| format!("{} -> {}", name(q.src), name(q.dst)))
            .collect();
        if qs.len() > 3 {
            items.push(format!("and {} more", qs.len() - 3));
        }
        items.join(", ")
    };
    let t = &scratch.of(s).route_tables[table.index()].name;
    let mut out = String::new();
    if !closed.is_empty() {
        out.push_str(&format!(
            "; but route table `{t}` is shared: with this change its route layer would drop new connections {} (they pass today)",
            items(&closed)
        ));
    }
    if !opened.is_empty() {
        out.push_str(&format!(
            "; and route table `{t}` is shared with other subnets: this change also opens its route layer to new connections {} (they drop today)",
            items(&opened)
        ));
    }
    out
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
