//! What would open a failing pair of a path that should be open: for each
//! security layer that blocks its witness, the one rule to add, written in
//! the scenario's own TOML, in the first NSG (else the first security
//! list) that layer evaluated at the VNIC. A hint is given only once the
//! witness, judged again by the reference evaluator with the rule added,
//! passes that layer: it is never a guess. The rule is as narrow as the
//! witness (its one remote address, protocol and destination port or ICMP
//! type and code); widening it to a subnet or an NSG peer is the user's
//! choice.
//!
//! The witness is judged again on one scratch copy of the scenario per
//! run ([`Scratch`]): the rule is pushed, the witness judged, the rule
//! popped. (Until the fourteenth session each hint cloned the whole
//! scenario.)

use std::net::IpAddr;

use ipnet::IpNet;

use crate::eval;
use crate::model::{
    AddressIndex, Direction, Peer, PortRange, Protocol, RuleOptions, Scenario, SecurityRule, proto,
};
use crate::packet::{L4, Packet};
use crate::verdict::{LayerReport, Outcome, Stage};

/// The copy of a scenario that hints are proved on: made once, at the
/// first hint of a run, and the same as the scenario between hints (each
/// rule added to it is taken out again).
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
    fn of(&mut self, s: &Scenario) -> &mut Scenario {
        self.copy.get_or_insert_with(|| s.clone())
    }
}

/// The rules that would open `p` at each blocking security layer of
/// `blocking` (the reports of every layer that blocks it), as text,
/// proved on `scratch`, a copy of `s` ([`Scratch`]); `ix`, when given,
/// the address index of `s` (a rule added changes no address: it indexes
/// the copy too).
#[must_use]
pub fn to_open_on(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
    blocking: &[LayerReport],
) -> Vec<String> {
    blocking
        .iter()
        .filter_map(|l| security_fix(scratch, s, ix, p, l))
        .collect()
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
    let remote = match direction {
        Direction::Ingress => p.src,
        Direction::Egress => p.dst,
    };
    let host = IpNet::from(remote);
    let options = match (p.proto, p.l4) {
        (proto::TCP | proto::UDP, L4::Ports { dport, .. }) => RuleOptions::Ports {
            src: None,
            dst: Some(PortRange {
                min: dport,
                max: dport,
            }),
        },
        (proto::ICMP | proto::ICMPV6, L4::Icmp { icmp_type, code }) => RuleOptions::Icmp {
            icmp_type,
            code: Some(code),
        },
        _ => RuleOptions::None,
    };
    let rule = SecurityRule {
        direction,
        protocol: Protocol::Number(p.proto),
        peer: Peer::Cidr(host),
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
    let body = format!(
        "protocol = \"{}\", {side} = \"{}\"{opts}",
        p.proto,
        cidr_text(remote)
    );
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

fn cidr_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}/32"),
        IpAddr::V6(a) => format!("{a}/128"),
    }
}
