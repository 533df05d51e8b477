//! What would open a failing pair of a path that should be open: for each
//! security layer that blocks its witness, the one rule to add, written in
//! the scenario's own TOML, in the first NSG (else the first security
//! list) that layer evaluated at the VNIC. A hint is given only once the
//! witness, judged again by the reference evaluator with the rule added,
//! passes that layer: it is never a guess. The rule is as narrow as the
//! path allows: its remote side is the witness's address, except where
//! that address only stands in for more (`internet`: every address of its
//! family; `service:LABEL`: the label; a CIDR holding no VNIC: the CIDR),
//! and its ports are the path's destination ports (the witness's ICMP type
//! and code). A rule for the witness's address or port alone would let
//! `verify` pass while the path stays closed. Widening it further (to a
//! subnet or an NSG peer) is the user's choice.
//!
//! The witness is judged again on one scratch copy of the scenario per
//! run ([`Scratch`]): the rule is pushed, the witness judged, the rule
//! popped. (Until the fourteenth session each hint cloned the whole
//! scenario.) The ZPR hints (`zpr_fix.rs`) are proved on the same copy.

use std::net::IpAddr;

use ipnet::IpNet;

use super::selector::{self, Selector};
use super::{PathSpec, Probe};
use crate::escape::toml_string;
use crate::eval;
use crate::model::{
    AddressIndex, Direction, Peer, Protocol, RuleOptions, Scenario, SecurityRule, proto,
};
use crate::packet::{L4, Packet};
use crate::verdict::{LayerReport, Outcome, Stage};

/// The copy of a scenario that hints are proved on: made once, at the
/// first hint of a run, and the same as the scenario between hints (each
/// rule or statement added to it is taken out again).
#[derive(Debug, Default)]
pub struct Scratch {
    copy: Option<Scenario>,
}

impl Scratch {
    /// No copy yet.
    #[must_use]
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// The copy, once made.
    #[cfg(test)]
    pub(super) fn copy(&self) -> Option<&Scenario> {
        self.copy.as_ref()
    }

    /// The copy of `s` (made now, the first time).
    pub(super) fn of(&mut self, s: &Scenario) -> &mut Scenario {
        self.copy.get_or_insert_with(|| s.clone())
    }

    /// The copy of `s` with every attribute enforced ([`super::enforced`];
    /// made now, the first time): a scratch used only through this.
    pub(super) fn enforced(&mut self, s: &Scenario) -> &mut Scenario {
        self.copy.get_or_insert_with(|| super::enforced(s))
    }
}

/// The rules that would open `p`, a witness of `path` (`None`: the packet
/// alone, as `explain` judges it), at each blocking security layer of
/// `blocking` (the reports of every layer that blocks it), as text,
/// proved on `scratch`, a copy of `s` ([`Scratch`]); `ix`, when given,
/// the address index of `s` (a rule added changes no address: it indexes
/// the copy too).
#[must_use]
pub fn to_open_on(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    path: Option<&PathSpec>,
    p: &Packet,
    blocking: &[LayerReport],
) -> Vec<String> {
    blocking
        .iter()
        .filter_map(|l| security_fix(scratch, s, ix, path, p, l))
        .collect()
}

/// What `ip`, an address `sel` expands to, stands for when it stands in
/// for more than itself: every address of its family for `internet`, the
/// label for `service:LABEL`, the CIDR for a CIDR holding no VNIC (whose
/// one address is its first host). `None`: the address itself.
pub(super) fn stands_for(s: &Scenario, sel: &Selector, ip: IpAddr) -> Option<Peer> {
    let only = |sel: &Selector| selector::expand(s, sel).contains(&ip);
    match sel {
        Selector::Internet if only(sel) => Some(Peer::Cidr(match ip {
            IpAddr::V4(_) => IpNet::V4(ipnet::Ipv4Net::default()),
            IpAddr::V6(_) => IpNet::V6(ipnet::Ipv6Net::default()),
        })),
        Selector::Service(l) if only(sel) => Some(Peer::Service(*l)),
        Selector::Cidr(net)
            if selector::first_host(*net) == ip
                && !s
                    .vnics
                    .iter()
                    .any(|v| v.private_ips.iter().any(|a| net.contains(a))) =>
        {
            Some(Peer::Cidr(*net))
        }
        Selector::Union(all) => all.iter().find_map(|one| stands_for(s, one, ip)),
        _ => None,
    }
}

/// Where a rule goes: an NSG or a security list, by index.
#[derive(Clone, Copy)]
enum Target {
    Nsg(usize),
    List(usize),
}

/// The rules of `target` in `s` that a rule of `direction` goes to.
fn rules_of(s: &mut Scenario, target: Target, direction: Direction) -> &mut Vec<SecurityRule> {
    match target {
        Target::Nsg(i) => &mut s.nsgs[i].rules,
        Target::List(i) => match direction {
            Direction::Ingress => &mut s.security_lists[i].ingress,
            Direction::Egress => &mut s.security_lists[i].egress,
        },
    }
}

fn security_fix(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    path: Option<&PathSpec>,
    p: &Packet,
    l: &LayerReport,
) -> Option<String> {
    let direction = match l.layer {
        Stage::IngressSecurity => Direction::Ingress,
        Stage::EgressSecurity => Direction::Egress,
        _ => return None,
    };
    if !matches!(l.outcome, Outcome::Denied) {
        return None;
    }
    let target = l
        .nsgs_evaluated
        .first()
        .and_then(|n| s.nsgs.iter().position(|x| x.name == *n))
        .map(Target::Nsg)
        .or_else(|| {
            l.security_lists_evaluated
                .first()
                .and_then(|n| s.security_lists.iter().position(|x| x.name == *n))
                .map(Target::List)
        })?;
    let (remote, remote_sel) = match direction {
        Direction::Ingress => (p.src, path.map(|x| &x.from)),
        Direction::Egress => (p.dst, path.map(|x| &x.to)),
    };
    let peer = remote_sel
        .and_then(|sel| stands_for(s, sel, remote))
        .unwrap_or(Peer::Cidr(IpNet::from(remote)));
    let options = match (p.proto, p.l4, path.map(|x| x.probe)) {
        // Every port the path should reach, not the witness's alone.
        (proto::TCP | proto::UDP, L4::Ports { .. }, Some(Probe::Ports { dport, .. })) => {
            RuleOptions::Ports {
                src: None,
                dst: Some(dport),
            }
        }
        (proto::TCP | proto::UDP, L4::Ports { dport, .. }, _) => RuleOptions::Ports {
            src: None,
            dst: Some(crate::model::PortRange {
                min: dport,
                max: dport,
            }),
        },
        (proto::ICMP | proto::ICMPV6, L4::Icmp { icmp_type, code }, _) => RuleOptions::Icmp {
            icmp_type,
            code: Some(code),
        },
        _ => RuleOptions::None,
    };
    let rule = SecurityRule {
        direction,
        protocol: Protocol::Number(p.proto),
        peer: peer.clone(),
        stateless: false,
        options,
        description: None,
    };
    // The rule added, the witness judged again: the hint stands only if it
    // opens this layer. Then the rule is taken out: the copy is the
    // scenario again.
    rules_of(scratch.of(s), target, direction).push(rule);
    let fixed: &Scenario = scratch.of(s);
    let reports = match ix {
        Some(ix) => eval::every_layer_with(fixed, ix, p),
        None => eval::every_layer(fixed, p),
    };
    rules_of(scratch.of(s), target, direction).pop();
    let still = reports
        .iter()
        .any(|r| r.layer == l.layer && matches!(r.outcome, Outcome::Denied));
    if still {
        return None;
    }
    let (dir, side) = match direction {
        Direction::Ingress => ("INGRESS", "source"),
        Direction::Egress => ("EGRESS", "destination"),
    };
    let opts = match options {
        RuleOptions::Ports { dst: Some(r), .. } => {
            let key = if p.proto == proto::TCP {
                "tcp_options"
            } else {
                "udp_options"
            };
            format!(
                ", {key} = {{ destination_port_range = {{ min = {}, max = {} }} }}",
                r.min, r.max
            )
        }
        RuleOptions::Icmp {
            icmp_type,
            code: Some(c),
        } => format!(", icmp_options = {{ type = {icmp_type}, code = {c} }}"),
        _ => String::new(),
    };
    // Names as TOML strings: one holding `"` or `\\` pastes as written.
    let remote_text = match peer {
        Peer::Service(l) => format!(
            "{side} = {}, {side}_type = \"SERVICE_CIDR_BLOCK\"",
            toml_string(&s.services[l.index()].name)
        ),
        Peer::Cidr(net) => format!("{side} = \"{net}\""),
        Peer::Nsg(n) => format!(
            "{side} = {}, {side}_type = \"NETWORK_SECURITY_GROUP\"",
            toml_string(&s.nsgs[n.index()].name)
        ),
    };
    let body = format!("protocol = \"{}\", {remote_text}{opts}", p.proto);
    Some(match target {
        Target::Nsg(i) => format!(
            "{}: add to NSG `{}`: {{ direction = \"{dir}\", {body} }}",
            l.layer.as_str(),
            s.nsgs[i].name
        ),
        Target::List(i) => format!(
            "{}: add to security list `{}` ({}_security_rules): {{ {body} }}",
            l.layer.as_str(),
            s.security_lists[i].name,
            dir.to_ascii_lowercase()
        ),
    })
}
