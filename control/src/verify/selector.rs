//! Endpoint selectors of an expectations file (`from`, `to`, role
//! bindings) and their expansion into addresses.
//!
//! A selector is one of: an IP or CIDR, `vnic:NAME`, `subnet:NAME`,
//! `nsg:NAME`, `attr:NS.KEY:VALUE` (or `attr:KEY:VALUE`, namespace
//! `oracle-zpr`), `kind:KIND` (since the twenty-second session),
//! `service:LABEL`, `internet`. Names are resolved against
//! the scenario when the file is read, so a typo is an error with a
//! position, not a path that silently matches nothing.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::ids::{NsgId, ServiceId, SubnetId, VnicId};
use crate::model::{Attribute, DEFAULT_NAMESPACE, Scenario};

/// A resolved selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    /// One address.
    Addr(IpAddr),
    /// Every VNIC address inside, or the first host address when none.
    Cidr(IpNet),
    /// Every private IP of the VNIC.
    Vnic(VnicId),
    /// Every private IP of every VNIC in the subnet.
    Subnet(SubnetId),
    /// Every private IP of every VNIC in the NSG.
    Nsg(NsgId),
    /// Every private IP of every VNIC carrying the attribute (any mode).
    Attr(Attribute),
    /// Every private IP of every VNIC of the kind (its `kind` field:
    /// `node`, `pod`, `load-balancer`, ...; since the twenty-second
    /// session).
    Kind(String),
    /// The first host address of the label's first CIDR.
    Service(ServiceId),
    /// One public address outside every VCN and service CIDR (and one IPv6
    /// address too when the scenario has IPv6 VCN CIDRs).
    Internet,
    /// The union of several selectors (a pack role bound to a list).
    Union(Vec<Selector>),
}

/// Why a selector text is not a selector of this scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError(pub String);

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn find<T>(items: &[T], name: &str, get: impl Fn(&T) -> &str) -> Option<usize> {
    items.iter().position(|i| get(i) == name)
}

/// As [`find`], then by id (the OCID), as the scenario's own references
/// resolve: a name wins over another object's id.
fn find_or_id<T>(
    items: &[T],
    name: &str,
    get: impl Fn(&T) -> (&str, Option<&str>),
) -> Option<usize> {
    find(items, name, |i| get(i).0).or_else(|| items.iter().position(|i| get(i).1 == Some(name)))
}

/// Parses and resolves one selector.
///
/// # Errors
/// An unknown form, or a name the scenario does not have.
pub fn parse(s: &Scenario, text: &str) -> Result<Selector, SelectorError> {
    // The messages quote the selector as written: escaped, so a line break
    // in an expectations file cannot forge a line of the report.
    resolve(s, text).map_err(|e| SelectorError(crate::escape::escape(&e.0).into_owned()))
}

fn resolve(s: &Scenario, text: &str) -> Result<Selector, SelectorError> {
    let t = text.trim();
    let err = |m: String| Err(SelectorError(m));
    if t == "internet" {
        return Ok(Selector::Internet);
    }
    if let Some((kind, name)) = t.split_once(':') {
        let id_err = |_| SelectorError(format!("too many objects to address `{t}`"));
        match kind {
            "vnic" => {
                return match find_or_id(&s.vnics, name, |v| (&v.name, v.id.as_deref())) {
                    Some(i) => Ok(Selector::Vnic(VnicId::new(i).map_err(id_err)?)),
                    None => err(format!("no VNIC is named `{name}`")),
                };
            }
            "subnet" => {
                return match find_or_id(&s.subnets, name, |v| (&v.name, v.id.as_deref())) {
                    Some(i) => Ok(Selector::Subnet(SubnetId::new(i).map_err(id_err)?)),
                    None => err(format!("no subnet is named `{name}`")),
                };
            }
            "nsg" => {
                return match find_or_id(&s.nsgs, name, |v| (&v.name, v.id.as_deref())) {
                    Some(i) => Ok(Selector::Nsg(NsgId::new(i).map_err(id_err)?)),
                    None => err(format!("no NSG is named `{name}`")),
                };
            }
            "service" => {
                return match find(&s.services, name, |v| &v.name) {
                    Some(i) if s.services[i].cidrs.is_empty() => err(format!(
                        "service label `{name}` has no CIDRs, so no packet can stand for it: a scenario imported without OCI's public IP ranges file has none; import again with `--services RANGES.json` (docs/import.md), or give the label its CIDRs in the scenario's `[services]`"
                    )),
                    Some(i) => Ok(Selector::Service(ServiceId::new(i).map_err(id_err)?)),
                    None => err(format!("no service label is named `{name}`")),
                };
            }
            "attr" => return parse_attr(name).map(Selector::Attr),
            "kind" => return parse_kind(s, name).map(Selector::Kind),
            "role" => {
                return err(format!(
                    "`{t}`: roles are only for the paths of a pack (bind them with `roles` in `[[include]]`)"
                ));
            }
            _ => {}
        }
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(Selector::Addr(ip));
    }
    if let Ok(net) = t.parse::<IpNet>() {
        if net.trunc() != net {
            return err(format!(
                "`{t}` has host bits set (did you mean `{}`?)",
                net.trunc()
            ));
        }
        return Ok(Selector::Cidr(net));
    }
    err(format!(
        "unknown selector `{t}`: expected an IP or CIDR, `vnic:NAME`, `subnet:NAME`, `nsg:NAME`, `attr:NS.KEY:VALUE`, `kind:KIND`, `service:LABEL` or `internet`"
    ))
}

/// The VNIC kinds scenario-format.md names and `zprsim import oci` sets
/// (docs/import.md, "VNIC kinds"): a `kind:` selector naming one of them
/// is accepted even where no VNIC of the scenario has it (the path then
/// fails, matching no endpoint, as an attribute renamed does).
pub const KINDS: [&str; 7] = [
    "instance",
    "node",
    "pod",
    "load-balancer",
    "mount-target",
    "api-endpoint",
    "unknown",
];

/// The notes of a path whose selectors `sides` include `kind:NAME`
/// matching VNICs whose `kind` the scenario does not say (read as
/// `instance`; `zprsim import` writes it only where the export says it):
/// the selector may bind a node or a pod (since the twenty-sixth session).
pub(super) fn kind_notes<'a>(
    s: &Scenario,
    sides: impl IntoIterator<Item = &'a Selector>,
) -> Vec<String> {
    fn kinds<'b>(sel: &'b Selector, out: &mut Vec<&'b str>) {
        match sel {
            Selector::Kind(k) if !out.contains(&k.as_str()) => out.push(k),
            Selector::Union(all) => all.iter().for_each(|one| kinds(one, out)),
            _ => {}
        }
    }
    let mut named = Vec::new();
    for sel in sides {
        kinds(sel, &mut named);
    }
    named
        .into_iter()
        .filter_map(|k| {
            let unsaid: Vec<&str> = s
                .vnics
                .iter()
                .filter(|v| v.kind == k && !v.kind_said)
                .map(|v| v.name.as_str())
                .collect();
            let first = unsaid.first()?;
            Some(format!(
                "`kind:{k}` binds {} VNIC(s) whose kind the scenario does not say (`kind` absent, read as `{k}`), `{first}` the first: they may be nodes, pods or others; set `kind` where you know it (`zprsim import` writes it where the export says it: a node pool, a cluster, a mount target) or name them by subnet, NSG or attribute",
                unsaid.len()
            ))
        })
        .collect()
}

/// A `kind:NAME` selector's kind: one of [`KINDS`] or one a VNIC of `s`
/// has; else an error naming the near one (a typo: `nodes`, `loadbalancer`)
/// and the kinds there are.
fn parse_kind(s: &Scenario, name: &str) -> Result<String, SelectorError> {
    let mut known: Vec<&str> = KINDS.to_vec();
    for v in &s.vnics {
        if !known.contains(&v.kind.as_str()) {
            known.push(&v.kind);
        }
    }
    if known.contains(&name) {
        return Ok(name.to_owned());
    }
    // The nearest kind, by the loader's own measure of a typo.
    let near = crate::load::lint::closest(name, known.iter().copied())
        .map(|k| format!("; did you mean `kind:{k}`?"))
        .unwrap_or_default();
    Err(SelectorError(format!(
        "`kind:{name}`: no VNIC is of kind `{name}`{near} (kinds: {})",
        known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

fn parse_attr(text: &str) -> Result<Attribute, SelectorError> {
    let bad = || {
        SelectorError(format!(
            "`attr:{text}` is not an attribute: expected `attr:NS.KEY:VALUE` or `attr:KEY:VALUE`"
        ))
    };
    let (left, value) = text.split_once(':').ok_or_else(bad)?;
    let (ns, key) = match left.split_once('.') {
        Some((ns, key)) => (ns, key),
        None => (DEFAULT_NAMESPACE, left),
    };
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if !ok(ns) || !ok(key) || value.is_empty() {
        return Err(bad());
    }
    Ok(Attribute::new(ns, key, value))
}

/// The first host address of a prefix: the network address + 1 where the
/// prefix has room for it (IPv4 shorter than /31, IPv6 shorter than /127),
/// else the network address.
#[must_use]
pub fn first_host(net: IpNet) -> IpAddr {
    match net {
        IpNet::V4(n) if n.prefix_len() < 31 => {
            IpAddr::V4(Ipv4Addr::from(u32::from(n.network()).wrapping_add(1)))
        }
        IpNet::V6(n) if n.prefix_len() < 127 => {
            IpAddr::V6(Ipv6Addr::from(u128::from(n.network()).wrapping_add(1)))
        }
        n => n.network(),
    }
}

/// The addresses `internet` stands for in this scenario: one public IPv4
/// address outside every VCN and service CIDR, and one IPv6 address when
/// any VCN has an IPv6 CIDR. Candidates are well-known public resolvers,
/// then a scan of 100.0.0.0/8-like space; the first free one wins.
#[must_use]
pub fn internet_addresses(s: &Scenario) -> Vec<IpAddr> {
    let taken = |ip: &IpAddr| {
        s.vcns
            .iter()
            .flat_map(|v| v.cidr_blocks.iter())
            .chain(s.services.iter().flat_map(|l| l.cidrs.iter()))
            .any(|c| c.contains(ip))
    };
    let mut out = Vec::new();
    let v4 = [
        Ipv4Addr::new(8, 8, 8, 8),
        Ipv4Addr::new(1, 1, 1, 1),
        Ipv4Addr::new(9, 9, 9, 9),
    ]
    .into_iter()
    .map(IpAddr::V4)
    .chain((11u8..=99).map(|a| IpAddr::V4(Ipv4Addr::new(a, 1, 2, 3))))
    .find(|ip| !taken(ip));
    out.extend(v4);
    if s.vcns
        .iter()
        .flat_map(|v| v.cidr_blocks.iter())
        .any(|c| matches!(c, IpNet::V6(_)))
    {
        let v6 = (0u16..256)
            .map(|i| IpAddr::V6(Ipv6Addr::new(0x2001, 0x4860, i, 0, 0, 0, 0, 0x8888)))
            .find(|ip| !taken(ip));
        out.extend(v6);
    }
    out
}

/// Expands a selector into addresses, without duplicates, in scenario order.
#[must_use]
pub fn expand(s: &Scenario, sel: &Selector) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    expand_into(s, sel, &mut out);
    // ahash, as in `group.rs` (SipHash was 5% of a 1,000-node verify);
    // the order kept is the first appearance's, whatever its keys.
    let mut seen: std::collections::HashSet<IpAddr, std::hash::BuildHasherDefault<ahash::AHasher>> =
        std::collections::HashSet::with_capacity_and_hasher(out.len(), Default::default());
    out.retain(|ip| seen.insert(*ip));
    out
}

fn expand_into(s: &Scenario, sel: &Selector, out: &mut Vec<IpAddr>) {
    let vnics_where = |out: &mut Vec<IpAddr>, keep: &dyn Fn(usize) -> bool| {
        for (i, v) in s.vnics.iter().enumerate() {
            if keep(i) {
                out.extend(v.private_ips.iter().copied());
            }
        }
    };
    match sel {
        Selector::Addr(ip) => out.push(*ip),
        Selector::Cidr(net) => {
            let before = out.len();
            for v in &s.vnics {
                out.extend(v.private_ips.iter().filter(|ip| net.contains(*ip)));
            }
            if out.len() == before {
                out.push(first_host(*net));
            }
        }
        Selector::Vnic(v) => out.extend(s.vnics[v.index()].private_ips.iter().copied()),
        Selector::Subnet(sub) => vnics_where(out, &|i| s.vnics[i].subnet == *sub),
        Selector::Nsg(n) => vnics_where(out, &|i| s.vnics[i].nsgs.contains(n)),
        Selector::Attr(a) => vnics_where(out, &|i| {
            s.vnics[i].attributes.iter().any(|sa| sa.attribute == *a)
        }),
        Selector::Kind(k) => vnics_where(out, &|i| s.vnics[i].kind == *k),
        Selector::Service(l) => {
            // The contract's address is the first host of the label's first
            // CIDR. A label that also has CIDRs of the other family adds the
            // first host of its first CIDR of that family, as `internet`
            // adds an IPv6 address: otherwise an IPv6-only VNIC paired with
            // a dual-stack label would give no pair at all.
            let cidrs = &s.services[l.index()].cidrs;
            if let Some(first) = cidrs.first() {
                out.push(first_host(*first));
                let v4 = matches!(first, IpNet::V4(_));
                if let Some(other) = cidrs.iter().find(|c| matches!(c, IpNet::V4(_)) != v4) {
                    out.push(first_host(*other));
                }
            }
        }
        Selector::Internet => out.extend(internet_addresses(s)),
        Selector::Union(all) => {
            for one in all {
                expand_into(s, one, out);
            }
        }
    }
}
