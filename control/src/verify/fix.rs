//! What would open a failing pair of a path that should be open: for each
//! security layer that blocks its witness, the one rule to add, written in
//! the scenario's own TOML, in the first NSG (else, of the security lists,
//! the one fewest subnets share) that layer evaluated at the VNIC. A hint
//! is given only once the witness, judged again by the reference evaluator
//! with the rule added, passes that layer: it is never a guess.
//!
//! The rule is as wide as the path and no wider: its remote side is what
//! the path's selector stands for ([`stands_for`]: every address of its
//! family for `internet`, the label for `service:LABEL`, the CIDR for a
//! CIDR, the subnet's CIDR for `subnet:NAME`, the NSG for `nsg:NAME`),
//! else the witness's address; its ports are the path's destination
//! ports (the witness's ICMP type and code). A rule for the witness's
//! address or port alone would let `verify` pass while the path stays
//! closed, or take a round per VNIC. When the wide rule does not open the
//! layer (an NSG peer across VCNs), the address is tried.
//!
//! The witness is judged again on one scratch copy of the scenario per
//! run ([`Scratch`]): the rule is pushed, the witness judged, the rule
//! popped (or kept while a whole path's hints are gathered, `whole.rs`).
//! The ZPR hints (`zpr_fix.rs`) are proved on the same copy.

use std::net::IpAddr;

use ipnet::IpNet;

use super::selector::{self, Selector};
use super::{Blocked, Probe};
use crate::escape::toml_string;
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
    /// While a path's hints are gathered ([`Scratch::keep`]): the rules and
    /// statements kept on the copy so far, in the order they were added.
    kept: Option<Vec<Kept>>,
    /// What the hints given since the last [`Scratch::take_closed`] say
    /// they leave closed of what a path stands for (a label's CIDR, or
    /// the part of it a longer route rule holds: `route_fix.rs`).
    closed: Vec<String>,
    /// How a reply ZPR drops is opened (`verify --zpr-replies`).
    zpr_replies: super::ZprReplies,
}

/// A rule or statements a hint added and left on the copy while a path's
/// hints are gathered (`whole.rs`), taken out again, last first, by
/// [`Scratch::release`].
#[derive(Debug, Clone)]
pub(super) enum Kept {
    /// The last rule of a target's rules of a direction.
    Rule(Target, Direction),
    /// The last rule of a route table.
    Route(usize),
    /// A route table's rule whose target a hint changed, with the target
    /// it had.
    Retarget {
        table: usize,
        rule: usize,
        old: crate::model::RouteTarget,
    },
    /// The last gateway: one a route hint created (`route_fix.rs`).
    Gateway,
    /// A gateway (by index) that was disabled or blocked traffic, which a
    /// route hint enabled.
    Enabled(usize),
    /// The last route table: one a route hint created for subnet
    /// `subnet` (by index), which had none.
    Table { subnet: usize },
    /// A VNIC (by index) a route hint set to skip the source and
    /// destination check, with the flag it had.
    SkipCheck { vnic: usize, old: Option<bool> },
    /// The last NSG: one a security hint made for VNIC `vnic` (by index),
    /// which had none, in a subnet with no security list; the VNIC's
    /// last NSG.
    Nsg { vnic: usize },
    /// The last `added` statements of a ZPR policy, which the hint created
    /// when `created` (then the last policy).
    Statements {
        policy: usize,
        added: usize,
        created: bool,
    },
    /// A statement (statement `index` of policy `policy`) a reply's hint
    /// made stateful, with the statement it was.
    Stateful {
        policy: usize,
        index: usize,
        old: Box<crate::model::PolicyStatement>,
    },
}

impl Scratch {
    /// No copy yet.
    #[must_use]
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// No copy yet; a reply that drops at ZPR is opened as `zpr_replies`
    /// says.
    #[must_use]
    pub fn with_zpr_replies(zpr_replies: super::ZprReplies) -> Scratch {
        Scratch {
            zpr_replies,
            ..Scratch::default()
        }
    }

    /// How a reply that drops at ZPR is opened.
    pub(super) fn zpr_replies(&self) -> super::ZprReplies {
        self.zpr_replies
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

    /// From now until [`Scratch::release`], a rule or statement that opens
    /// what it is written for stays on the copy, so that the next pair is
    /// judged with every hint given so far.
    pub(super) fn keep(&mut self) {
        self.kept = Some(Vec::new());
    }

    /// Notes that a hint leaves `what` closed (see `closed`).
    pub(super) fn note_closed(&mut self, what: String) {
        if !self.closed.contains(&what) {
            self.closed.push(what);
        }
    }

    /// What the hints noted as left closed since the last call.
    pub(super) fn take_closed(&mut self) -> Vec<String> {
        std::mem::take(&mut self.closed)
    }

    /// Whether hints stay on the copy ([`Scratch::keep`]).
    pub(super) fn keeping(&self) -> bool {
        self.kept.is_some()
    }

    /// Notes `k`, left on the copy, when hints stay on it; `false` (the
    /// caller takes it out) when they do not.
    pub(super) fn kept(&mut self, k: Kept) -> bool {
        match &mut self.kept {
            Some(all) => {
                all.push(k);
                true
            }
            None => false,
        }
    }

    /// Takes every kept rule and statement out of the copy, last first:
    /// the copy is the scenario again. What was taken, in the order it was
    /// added.
    pub(super) fn release(&mut self) -> Vec<Edit> {
        let (Some(kept), Some(copy)) = (self.kept.take(), self.copy.as_mut()) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(kept.len());
        for k in kept.into_iter().rev() {
            match k {
                Kept::Rule(target, direction) => {
                    if let Some(rule) = rules_of(copy, target, direction).pop() {
                        out.push(Edit::Rule { target, rule });
                    }
                }
                Kept::Route(table) => {
                    if let Some(rule) = copy.route_tables.get_mut(table).and_then(|t| t.rules.pop())
                    {
                        out.push(Edit::Route { table, rule });
                    }
                }
                Kept::Retarget { table, rule, old } => {
                    if let Some(r) = copy
                        .route_tables
                        .get_mut(table)
                        .and_then(|t| t.rules.get_mut(rule))
                    {
                        let target = std::mem::replace(&mut r.target, old);
                        out.push(Edit::Retarget {
                            table,
                            rule,
                            target,
                        });
                    }
                }
                Kept::Gateway => {
                    if let Some(gateway) = copy.gateways.pop() {
                        out.push(Edit::Gateway {
                            at: copy.gateways.len(),
                            gateway,
                        });
                    }
                }
                Kept::Enabled(gateway) => {
                    if let Some(g) = copy.gateways.get_mut(gateway) {
                        g.blocked = true;
                        out.push(Edit::Enable { gateway });
                    }
                }
                Kept::SkipCheck { vnic, old } => {
                    if let Some(v) = copy.vnics.get_mut(vnic) {
                        v.skip_source_dest_check = old;
                        out.push(Edit::SkipCheck { vnic });
                    }
                }
                Kept::Nsg { vnic } => {
                    if let Some(nsg) = unmake_nsg(copy, vnic) {
                        out.push(Edit::Nsg {
                            at: copy.nsgs.len(),
                            nsg,
                            vnic,
                        });
                    }
                }
                Kept::Table { subnet } => {
                    if let Some(table) = copy.route_tables.pop() {
                        if let Some(sn) = copy.subnets.get_mut(subnet) {
                            sn.route_table = None;
                        }
                        out.push(Edit::Table {
                            at: copy.route_tables.len(),
                            table,
                            subnet,
                        });
                    }
                }
                Kept::Statements {
                    policy,
                    added,
                    created,
                } => {
                    let statements =
                        copy.zpr_policies
                            .get_mut(policy)
                            .map_or_else(Vec::new, |pol| {
                                let n = pol.statements.len().saturating_sub(added);
                                pol.statements.split_off(n)
                            });
                    if created {
                        copy.zpr_policies.pop();
                    }
                    out.push(Edit::Statements {
                        policy: (!created).then_some(policy),
                        statements,
                    });
                }
                Kept::Stateful { policy, index, old } => {
                    if let Some(st) = copy
                        .zpr_policies
                        .get_mut(policy)
                        .and_then(|p| p.statements.get_mut(index))
                    {
                        let statement = Box::new(std::mem::replace(st, *old));
                        out.push(Edit::Stateful {
                            policy,
                            index,
                            statement,
                        });
                    }
                }
            }
        }
        out.reverse();
        out
    }

    /// The copy of `s` with every attribute enforced ([`super::enforced`];
    /// made now, the first time): a scratch used only through this.
    pub(super) fn enforced(&mut self, s: &Scenario) -> &mut Scenario {
        self.copy.get_or_insert_with(|| super::enforced(s))
    }
}

/// The rules that would open `b`'s packet at each blocking security layer
/// (the path it stands for, or the packet alone, as `explain` judges it),
/// as text, proved on `scratch`, a copy of the scenario ([`Scratch`]).
#[must_use]
pub(super) fn to_open_on(scratch: &mut Scratch, b: &Blocked<'_>) -> Vec<String> {
    b.blocking
        .iter()
        .filter_map(|l| security_fix(scratch, b, l))
        .collect()
}

/// What `ip`, an address `sel` expands to, stands for when it stands in
/// for more than itself: every address of its family for `internet`, the
/// label for `service:LABEL`, the CIDR for a CIDR (holding VNICs or not:
/// with none, its one address is its first host), the subnet's CIDR that
/// holds `ip` for `subnet:NAME`, the NSG for `nsg:NAME` (a rule can name
/// it as its peer: every VNIC in it, today's and tomorrow's). A hint for
/// the address alone would open one pair of the path per round. `None`:
/// the address itself (`vnic:`, an address, an attribute: ZPR names an
/// attributed VNIC by its attribute, `zpr_fix.rs`).
pub(super) fn stands_for(s: &Scenario, sel: &Selector, ip: IpAddr) -> Option<Peer> {
    let only = |sel: &Selector| selector::expand(s, sel).contains(&ip);
    match sel {
        Selector::Internet if only(sel) => Some(Peer::Cidr(match ip {
            IpAddr::V4(_) => IpNet::V4(ipnet::Ipv4Net::default()),
            IpAddr::V6(_) => IpNet::V6(ipnet::Ipv6Net::default()),
        })),
        Selector::Service(l) if only(sel) => Some(Peer::Service(*l)),
        Selector::Cidr(net) if only(sel) => Some(Peer::Cidr(*net)),
        Selector::Subnet(id) if only(sel) => s.subnets[id.index()]
            .cidrs
            .iter()
            .find(|c| c.contains(&ip))
            .map(|c| Peer::Cidr(c.trunc())),
        Selector::Nsg(id) if only(sel) => Some(Peer::Nsg(*id)),
        Selector::Union(all) => all.iter().find_map(|one| stands_for(s, one, ip)),
        _ => None,
    }
}

/// What a hint adds to the scenario: a security rule, a route rule, or
/// statements to a ZPR policy (by index; `None`: a new policy,
/// [`NEW_POLICY`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// A security rule to add to an NSG or a security list.
    Rule {
        /// Where.
        target: Target,
        /// The rule.
        rule: SecurityRule,
    },
    /// A route rule to add to a route table (by index).
    Route {
        /// The route table.
        table: usize,
        /// The rule.
        rule: crate::model::RouteRule,
    },
    /// A new target for a route table's rule (by index): an added rule of
    /// the same destination would never win over it.
    Retarget {
        /// The route table.
        table: usize,
        /// The rule's index in it.
        rule: usize,
        /// Its new target.
        target: crate::model::RouteTarget,
    },
    /// A gateway to create (since the nineteenth session): a route hint
    /// needs one of a kind the VCN has none of. `at` is its index on the
    /// copy the hint was proved on: the route edits after it name it by
    /// that index ([`apply`] maps it to where it lands).
    Gateway {
        /// Its index on the copy the hint was proved on.
        at: usize,
        /// The gateway.
        gateway: crate::model::Gateway,
    },
    /// A gateway of the scenario (by index) that is disabled or blocks
    /// traffic, to enable (since the nineteenth session): `is_enabled =
    /// true` of an internet gateway, `block_traffic = false` of a NAT or
    /// service gateway.
    Enable {
        /// The gateway.
        gateway: usize,
    },
    /// A route table to create for a subnet that has none, and to give
    /// that subnet (by index; since the nineteenth session). Its rules
    /// follow as [`Edit::Route`]s naming it by `at`, its index on the
    /// copy the hint was proved on.
    Table {
        /// Its index on the copy the hint was proved on.
        at: usize,
        /// The table, without rules.
        table: crate::model::RouteTable,
        /// The subnet whose table it becomes.
        subnet: usize,
    },
    /// An NSG to create for a VNIC (by index) that has none, in a subnet
    /// with no security list, and to give that VNIC (since the
    /// twenty-ninth session). Its rules follow as [`Edit::Rule`]s naming it
    /// by `at`, its index on the copy the hint was proved on.
    Nsg {
        /// Its index on the copy the hint was proved on.
        at: usize,
        /// The NSG, without rules.
        nsg: crate::model::Nsg,
        /// The VNIC whose NSG it becomes.
        vnic: usize,
    },
    /// A VNIC (by index) that a route rule sends to as its next hop (a
    /// private IP) and that checks source and destination, to stop
    /// checking: `skip_source_dest_check = true` (since the twentieth
    /// session).
    SkipCheck {
        /// The VNIC.
        vnic: usize,
    },
    /// Statements to add to a policy.
    Statements {
        /// The policy; `None`: a new one.
        policy: Option<usize>,
        /// The statements.
        statements: Vec<crate::model::PolicyStatement>,
    },
    /// A `connection-state='stateless'` statement to make stateful (since
    /// the twenty-sixth session): its replacement, the same statement
    /// without that condition (`zpr_reply_fix.rs`).
    Stateful {
        /// The policy.
        policy: usize,
        /// The statement's index in it.
        index: usize,
        /// The statement that replaces it.
        statement: Box<crate::model::PolicyStatement>,
    },
}

/// The policy a hint creates when the scenario has none.
pub const NEW_POLICY: &str = "zpr-hints";

/// The empty policy named [`NEW_POLICY`] that hints create when no policy
/// names an attribute of either end.
#[must_use]
pub fn new_policy() -> crate::model::ZprPolicy {
    crate::model::ZprPolicy {
        name: NEW_POLICY.into(),
        id: None,
        statements: Vec::new(),
        file: None,
        stand_in: false,
    }
}

/// Adds `edits`, one path's hints, to `s` (statements for a new policy
/// all go to one policy named [`NEW_POLICY`]; a gateway or route table
/// to create, to the end of its list, and the route edits that name it
/// follow it there).
pub fn apply(s: &mut Scenario, edits: &[Edit]) {
    apply_all(s, [edits]);
}

/// Adds the edits of several lists, each proved on a copy of its own
/// (every path's hints, `together.rs`), to `s`; how many distinct edits
/// that makes. A gateway or route table created names its index on the
/// copy its list was proved on, which two lists may give to different
/// objects: each list's are mapped to where they land, so two lists that
/// create the same object (same name, VCN and kind) create it once, and
/// an edit that another list made already (after the mapping) is made
/// once.
pub fn apply_all<'a>(s: &mut Scenario, lists: impl IntoIterator<Item = &'a [Edit]>) -> usize {
    use std::collections::HashMap;
    let mut made: Vec<Edit> = Vec::new();
    let mut count = 0usize;
    for edits in lists {
        // Index on the list's copy -> index in `s`.
        let mut gateways: HashMap<usize, usize> = HashMap::new();
        let mut tables: HashMap<usize, usize> = HashMap::new();
        let mut nsgs: HashMap<usize, usize> = HashMap::new();
        let gateway = |gateways: &HashMap<usize, usize>, t: &crate::model::RouteTarget| match t {
            crate::model::RouteTarget::Gateway(g) => gateways
                .get(&g.index())
                .and_then(|&i| crate::ids::GatewayId::new(i).ok())
                .map_or_else(|| t.clone(), crate::model::RouteTarget::Gateway),
            other => other.clone(),
        };
        for e in edits {
            let e = match e {
                Edit::Gateway { at, gateway: g } => {
                    let i = made_once(&mut s.gateways, g, &mut count, |x| {
                        x.name == g.name && x.vcn == g.vcn && x.kind == g.kind
                    });
                    gateways.insert(*at, i);
                    continue;
                }
                Edit::Table { at, table, subnet } => {
                    let i = made_once(&mut s.route_tables, table, &mut count, |x| {
                        x.name == table.name && x.vcn == table.vcn
                    });
                    if let (Some(sn), Ok(id)) =
                        (s.subnets.get_mut(*subnet), crate::ids::RouteTableId::new(i))
                    {
                        sn.route_table = Some(id);
                    }
                    tables.insert(*at, i);
                    continue;
                }
                Edit::Nsg { at, nsg, vnic } => {
                    let i = made_once(&mut s.nsgs, nsg, &mut count, |x| {
                        x.name == nsg.name && x.vcn == nsg.vcn
                    });
                    if let (Some(v), Ok(id)) = (s.vnics.get_mut(*vnic), crate::ids::NsgId::new(i))
                        && !v.nsgs.contains(&id)
                    {
                        v.nsgs.push(id);
                    }
                    nsgs.insert(*at, i);
                    continue;
                }
                Edit::Rule {
                    target: Target::Nsg(i),
                    rule,
                } => Edit::Rule {
                    target: Target::Nsg(nsgs.get(i).copied().unwrap_or(*i)),
                    rule: rule.clone(),
                },
                Edit::Route { table, rule } => Edit::Route {
                    table: tables.get(table).copied().unwrap_or(*table),
                    rule: crate::model::RouteRule {
                        target: gateway(&gateways, &rule.target),
                        ..rule.clone()
                    },
                },
                Edit::Retarget {
                    table,
                    rule,
                    target,
                } => Edit::Retarget {
                    table: tables.get(table).copied().unwrap_or(*table),
                    rule: *rule,
                    target: gateway(&gateways, target),
                },
                other => other.clone(),
            };
            if made.contains(&e) {
                continue;
            }
            apply_one(s, &e);
            made.push(e);
            count += 1;
        }
    }
    count
}

/// The index in `list` of the object `made` an edit creates: the one
/// `same` finds there (another list created it already), else `made`,
/// pushed and counted in `count`.
fn made_once<T: Clone>(
    list: &mut Vec<T>,
    made: &T,
    count: &mut usize,
    same: impl Fn(&T) -> bool,
) -> usize {
    list.iter().position(same).unwrap_or_else(|| {
        list.push(made.clone());
        *count += 1;
        list.len() - 1
    })
}

/// Adds one rule, target or statements to `s`.
fn apply_one(s: &mut Scenario, e: &Edit) {
    match e {
        Edit::Rule { target, rule } => rules_of(s, *target, rule.direction).push(rule.clone()),
        Edit::Route { table, rule } => {
            if let Some(t) = s.route_tables.get_mut(*table) {
                t.rules.push(rule.clone());
            }
        }
        Edit::Retarget {
            table,
            rule,
            target,
        } => {
            if let Some(r) = s
                .route_tables
                .get_mut(*table)
                .and_then(|t| t.rules.get_mut(*rule))
            {
                r.target = target.clone();
            }
        }
        Edit::Enable { gateway } => {
            if let Some(g) = s.gateways.get_mut(*gateway) {
                g.blocked = false;
            }
        }
        Edit::SkipCheck { vnic } => {
            if let Some(v) = s.vnics.get_mut(*vnic) {
                v.skip_source_dest_check = Some(true);
            }
        }
        // Made by `apply_all`, which maps the edits after them.
        Edit::Gateway { .. } | Edit::Table { .. } | Edit::Nsg { .. } => {}
        Edit::Statements { policy, statements } => {
            let at = match policy {
                Some(i) if *i < s.zpr_policies.len() => *i,
                _ => match s.zpr_policies.iter().position(|p| p.name == NEW_POLICY) {
                    Some(i) => i,
                    None => {
                        s.zpr_policies.push(new_policy());
                        s.zpr_policies.len() - 1
                    }
                },
            };
            s.zpr_policies[at]
                .statements
                .extend(statements.iter().cloned());
        }
        Edit::Stateful {
            policy,
            index,
            statement,
        } => {
            if let Some(st) = s
                .zpr_policies
                .get_mut(*policy)
                .and_then(|p| p.statements.get_mut(*index))
            {
                st.clone_from(&**statement);
            }
        }
    }
}

/// Where a rule goes: an NSG or a security list, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// An NSG.
    Nsg(usize),
    /// A security list.
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

/// Whether `rule`, added to `target` on `scratch`, lets `p` through layer
/// `l`. The rule is taken out again (the copy is the scenario again),
/// unless hints stay on the copy ([`Scratch::keep`]) and it opened the
/// layer; then `new_nsg`, the VNIC whose NSG [`make_nsg`] made `target`,
/// notes that NSG as kept first (taken away after its rule).
#[allow(clippy::too_many_arguments)]
fn opens(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
    l: &LayerReport,
    target: Target,
    rule: SecurityRule,
    new_nsg: Option<usize>,
) -> bool {
    let direction = rule.direction;
    rules_of(scratch.of(s), target, direction).push(rule);
    let reports = super::layers_of(scratch.of(s), ix, p);
    let still = reports
        .iter()
        .any(|r| r.layer == l.layer && matches!(r.outcome, Outcome::Denied));
    let kept = !still
        && scratch.keeping()
        && new_nsg.is_none_or(|vnic| scratch.kept(Kept::Nsg { vnic }))
        && scratch.kept(Kept::Rule(target, direction));
    if !kept {
        rules_of(scratch.of(s), target, direction).pop();
    }
    !still
}

fn security_fix(scratch: &mut Scratch, b: &Blocked<'_>, l: &LayerReport) -> Option<String> {
    let Blocked { s, ix, path, p, .. } = *b;
    let direction = match l.layer {
        Stage::IngressSecurity => Direction::Ingress,
        Stage::EgressSecurity => Direction::Egress,
        _ => return None,
    };
    if !matches!(l.outcome, Outcome::Denied) {
        return None;
    }
    let (target, new_nsg) = target_of(scratch, s, ix, p, l, direction)?;
    let (remote, remote_sel) = match direction {
        Direction::Ingress => (p.src, path.map(|x| &x.from)),
        Direction::Egress => (p.dst, path.map(|x| &x.to)),
    };
    // What the path's remote side stands for, else (or when that cannot be
    // written there: a security list names no NSG) the address itself.
    let own = Peer::Cidr(IpNet::from(remote));
    // An NSG peer only in an NSG of its own VCN: a security list names no
    // NSG, and OCI (and the loader) refuse a rule naming an NSG of another
    // VCN (since the twenty-first session; the hint pasted was refused by
    // `check`, found pasting the hints' text in the property tests).
    let target_vcn = {
        let copy = scratch.of(s);
        match target {
            Target::Nsg(i) => copy.nsgs[i].vcn,
            Target::List(i) => copy.security_lists[i].vcn,
        }
    };
    let wide = remote_sel
        .and_then(|sel| stands_for(s, sel, remote))
        .filter(|peer| match (peer, target) {
            (Peer::Nsg(_), Target::List(_)) => false,
            (Peer::Nsg(n), Target::Nsg(_)) => s.nsgs[n.index()].vcn == target_vcn,
            _ => true,
        });
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
    let rule = wide
        .into_iter()
        .chain(std::iter::once(own))
        .find_map(|peer| {
            let rule = SecurityRule {
                direction,
                protocol: Protocol::Number(p.proto),
                peer,
                stateless: false,
                options,
                description: None,
            };
            opens(scratch, s, ix, p, l, target, rule.clone(), new_nsg).then_some(rule)
        });
    let copy = scratch.of(s);
    let text = rule.as_ref().map(|rule| match new_nsg {
        Some(vnic) => new_nsg_text(copy, target, vnic, rule),
        None => rule_text(copy, target, rule),
    });
    // The NSG made for it stays only with its rule, while hints stay.
    if let Some(vnic) = new_nsg
        && (text.is_none() || !scratch.keeping())
    {
        unmake_nsg(scratch.of(s), vnic);
    }
    text
}

/// Where the rule for layer `l` (of `direction`) of `p` goes, on the
/// copy; with the VNIC (by index) whose NSG [`make_nsg`] made for it.
fn target_of(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
    l: &LayerReport,
    direction: Direction,
) -> Option<(Target, Option<usize>)> {
    // The VNIC's first NSG. A stand-in (`zprsim import` made it for one the
    // export lacks) takes no rule: its real rules are unknown, and the
    // stand-in note says to export it. Looked up on the copy: an NSG a
    // kept hint made (below) is evaluated there too.
    let copy = scratch.of(s);
    let found = l
        .nsgs_evaluated
        .iter()
        .filter_map(|n| copy.nsgs.iter().position(|x| x.name == *n))
        .find(|&i| !copy.nsgs[i].stand_in)
        .map(Target::Nsg)
        .or_else(|| {
            // Of the VNIC's subnet's lists, the one fewest subnets share
            // (the first of those): a rule there opens what the path asks
            // for every VNIC of the subnet, and for the fewest others.
            l.security_lists_evaluated
                .iter()
                .filter_map(|n| copy.security_lists.iter().position(|x| x.name == *n))
                .filter(|&i| !copy.security_lists[i].stand_in)
                .min_by_key(|&i| {
                    copy.subnets
                        .iter()
                        .filter(|sn| sn.security_lists.iter().any(|id| id.index() == i))
                        .count()
                })
                .map(Target::List)
        });
    // None there: a VNIC with no NSG in a subnet with no security list
    // allows nothing, and gets a new NSG of its own for the rule (since
    // the twenty-ninth session; it got no hint), made on the copy now and
    // taken away again unless the rule opens the layer.
    match found {
        Some(t) => Some((t, None)),
        None => {
            let ip = match direction {
                Direction::Ingress => p.dst,
                Direction::Egress => p.src,
            };
            let (i, vnic) = make_nsg(scratch.of(s), ix, ip, s.nsgs.len())?;
            Some((Target::Nsg(i), vnic))
        }
    }
}

/// A new NSG, with no rule, for the VNIC of `ip` on `copy` when that VNIC
/// has no NSG and its subnet no security list (and neither is a stand-in
/// nor unknown: the stand-in note says to export them): its index and the
/// VNIC's. Named `VNIC-nsg` (`-2`, ... when taken), in the VNIC's VCN,
/// and the VNIC's one NSG. Where a hint kept on the copy made it one
/// already (an NSG past the scenario's `nsgs`: its egress hint, then its
/// ingress, for a packet to itself), that NSG, and no VNIC: the hint that
/// made it says so.
fn make_nsg(
    copy: &mut Scenario,
    ix: Option<&AddressIndex>,
    ip: IpAddr,
    nsgs: usize,
) -> Option<(usize, Option<usize>)> {
    let crate::model::Endpoint::Vnic(v) = super::endpoint_at(copy, ix, ip) else {
        return None;
    };
    let vnic = &copy.vnics[v.index()];
    let subnet = &copy.subnets[vnic.subnet.index()];
    if let Some(made) = vnic.nsgs.iter().find(|n| n.index() >= nsgs) {
        return Some((made.index(), None));
    }
    if !vnic.nsgs.is_empty()
        || !subnet.security_lists.is_empty()
        || vnic.stand_in
        || subnet.stand_in
        || crate::eval::unknown_rules(copy, v).is_some()
    {
        return None;
    }
    let vcn = subnet.vcn;
    let name = super::route_fix::unique(&format!("{}-nsg", vnic.name), |n| {
        copy.nsgs.iter().any(|x| x.name == n)
    });
    let id = crate::ids::NsgId::new(copy.nsgs.len()).ok()?;
    copy.nsgs.push(crate::model::Nsg {
        name,
        id: None,
        vcn,
        rules: Vec::new(),
        stand_in: false,
    });
    copy.vnics[v.index()].nsgs.push(id);
    Some((id.index(), Some(v.index())))
}

/// Takes the NSG [`make_nsg`] made for VNIC `vnic` (the copy's last) off
/// the copy again.
fn unmake_nsg(copy: &mut Scenario, vnic: usize) -> Option<crate::model::Nsg> {
    copy.vnics.get_mut(vnic)?.nsgs.pop();
    copy.nsgs.pop()
}

/// The hint of `rule` in the NSG `target` that [`make_nsg`] made on
/// `copy` for VNIC `vnic` (by index): the NSG to add, with the rule, and
/// the VNIC's `nsgs` to set, as a route hint says a new route table
/// (`route_fix.rs`).
fn new_nsg_text(copy: &Scenario, target: Target, vnic: usize, rule: &SecurityRule) -> String {
    let (Target::Nsg(i), Some(v)) = (target, copy.vnics.get(vnic)) else {
        return rule_text(copy, target, rule);
    };
    let nsg = &copy.nsgs[i];
    let (stage, d, body) = rule_parts(copy, rule);
    format!(
        "{}: needs a new NSG for VNIC `{}` (it has none, and its subnet `{}` no security list): add [[nsg]]: {{ name = {}, vcn = {}, rules = [{{ direction = \"{d}\", {body} }}] }}; then set nsgs = [{}] in [[vnic]] `{}`",
        stage.as_str(),
        v.name,
        copy.subnets[v.subnet.index()].name,
        toml_string(&nsg.name),
        toml_string(&copy.vcns[nsg.vcn.index()].name),
        toml_string(&nsg.name),
        v.name
    )
}

/// A security rule hint: `rule` in the scenario's TOML, where it goes
/// (`ingress-security: add to NSG ...` or `... add to security list ...
/// (ingress_security_rules): ...`), for the stateful rules of
/// `security_fix` and the stateless rules back of `reply_fix.rs`.
pub(super) fn rule_text(s: &Scenario, target: Target, r: &SecurityRule) -> String {
    let (stage, d, body) = rule_parts(s, r);
    match target {
        Target::Nsg(i) => format!(
            "{}: add to NSG `{}`: {{ direction = \"{d}\", {body} }}",
            stage.as_str(),
            s.nsgs[i].name
        ),
        Target::List(i) => format!(
            "{}: add to security list `{}` ({}_security_rules): {{ {body} }}",
            stage.as_str(),
            s.security_lists[i].name,
            d.to_ascii_lowercase()
        ),
    }
}

/// The layer of security rule `r`, its direction as an NSG rule writes it
/// (`INGRESS`, `EGRESS`), and its fields but the direction in the
/// scenario's TOML (`protocol = ..., source = ..., ...`).
fn rule_parts(s: &Scenario, r: &SecurityRule) -> (Stage, &'static str, String) {
    let (d, side, stage) = match r.direction {
        Direction::Ingress => ("INGRESS", "source", Stage::IngressSecurity),
        Direction::Egress => ("EGRESS", "destination", Stage::EgressSecurity),
    };
    let protocol = match r.protocol {
        Protocol::All => "all".to_owned(),
        Protocol::Number(n) => n.to_string(),
    };
    // Names as TOML strings: one holding `"` or `\\` pastes as written.
    let remote = match &r.peer {
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
    let range = |x: crate::model::PortRange| format!("{{ min = {}, max = {} }}", x.min, x.max);
    let opts = match (r.protocol, r.options) {
        (Protocol::Number(n), RuleOptions::Ports { src, dst })
            if src.is_some() || dst.is_some() =>
        {
            let key = if n == proto::TCP {
                "tcp_options"
            } else {
                "udp_options"
            };
            let mut parts = Vec::new();
            if let Some(x) = dst {
                parts.push(format!("destination_port_range = {}", range(x)));
            }
            if let Some(x) = src {
                parts.push(format!("source_port_range = {}", range(x)));
            }
            format!(", {key} = {{ {} }}", parts.join(", "))
        }
        (Protocol::Number(_), RuleOptions::Icmp { icmp_type, code }) => match code {
            Some(c) => format!(", icmp_options = {{ type = {icmp_type}, code = {c} }}"),
            None => format!(", icmp_options = {{ type = {icmp_type} }}"),
        },
        _ => String::new(),
    };
    let stateless = if r.stateless {
        ", is_stateless = true"
    } else {
        ""
    };
    let body = format!("protocol = \"{protocol}\", {remote}{stateless}{opts}");
    (stage, d, body)
}
