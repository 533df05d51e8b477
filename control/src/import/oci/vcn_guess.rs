//! The VCN of a subnet whose `vcn-id` names none (absent, blank, not a
//! VCN OCID: a cut or garbled export), from what the export says of it:
//! its blocks, and else the VCNs of its route table, security lists and
//! its VNICs' NSGs (since the twenty-second session; the blocks alone
//! decided, and a subnet without blocks was never placed).

use std::collections::BTreeSet;

use super::inventory::Inventory;
use super::json::{Obj, gs, gstrs, id_of};

/// What the export says of a subnet's VCN.
pub(super) enum Guess {
    /// The one VCN (OCID), and by what.
    One(String, &'static str),
    /// None: why.
    Unknown(&'static str),
    /// Several VCNs hold its blocks (OCIDs), and nothing else tells them
    /// apart.
    Several(Vec<String>),
}

/// A subnet's blocks, each parsed (one that is no block left out).
pub(super) fn subnet_blocks(o: &Obj) -> Vec<ipnet::IpNet> {
    ["cidr-block", "ipv6-cidr-block"]
        .iter()
        .filter_map(|k| gs(o, k).map(str::to_owned))
        .chain(gstrs(o, "ipv4-cidr-blocks"))
        .chain(gstrs(o, "ipv6-cidr-blocks"))
        .filter_map(|c| c.parse().ok())
        .collect()
}

/// A VCN's blocks, each parsed.
fn vcn_blocks(o: &Obj) -> Vec<ipnet::IpNet> {
    super::vcn_blocks::VCN_BLOCK_KEYS
        .iter()
        .flat_map(|k| gs(o, k).map(str::to_owned).into_iter().chain(gstrs(o, k)))
        .filter_map(|c| c.parse().ok())
        .collect()
}

/// The VCNs (OCIDs, of `inv`'s) that the route table, security lists and
/// VNICs' NSGs of subnet `o` belong to.
fn evidence(inv: &Inventory, o: &Obj) -> BTreeSet<String> {
    let id = id_of(o);
    let vcn_of = |objs: &[Obj], wanted: &[String]| -> Vec<String> {
        objs.iter()
            .filter(|x| wanted.contains(&id_of(x)))
            .filter_map(|x| gs(x, "vcn-id").map(str::to_owned))
            .collect()
    };
    let mut out: BTreeSet<String> = BTreeSet::new();
    let table: Vec<String> = gs(o, "route-table-id")
        .map(str::to_owned)
        .into_iter()
        .collect();
    out.extend(vcn_of(&inv.tables, &table));
    out.extend(vcn_of(&inv.lists, &gstrs(o, "security-list-ids")));
    let nsgs: Vec<String> = inv
        .vnics
        .iter()
        .filter(|v| gs(v, "subnet-id") == Some(id.as_str()))
        .flat_map(|v| gstrs(v, "nsg-ids"))
        .collect();
    out.extend(vcn_of(&inv.nsgs, &nsgs));
    let held: BTreeSet<String> = inv.vcns.iter().map(id_of).collect();
    out.retain(|v| held.contains(v));
    out
}

/// The VCN (of `inv`'s) of subnet `o`, whose `vcn-id` names none: the one
/// VCN holding every block of it; else, among the VCNs holding them (all,
/// when it has no block), the one VCN its route table, security lists
/// and VNICs' NSGs belong to, all of them agreeing.
pub(super) fn guess(inv: &Inventory, o: &Obj) -> Guess {
    let blocks = subnet_blocks(o);
    let holding: Vec<String> = if blocks.is_empty() {
        inv.vcns.iter().map(id_of).collect()
    } else {
        inv.vcns
            .iter()
            .filter(|v| {
                let nets = vcn_blocks(v);
                blocks.iter().all(|b| nets.iter().any(|n| n.contains(b)))
            })
            .map(id_of)
            .collect()
    };
    if !blocks.is_empty() && holding.len() == 1 {
        return Guess::One(holding[0].clone(), "its blocks lie in");
    }
    let said = evidence(inv, o);
    if said.len() == 1
        && let Some(v) = said.iter().next()
        && holding.contains(v)
    {
        return Guess::One(
            v.clone(),
            "its blocks do not decide, and its route table, security lists and VNICs' NSGs are all of",
        );
    }
    if blocks.is_empty() {
        return Guess::Unknown(
            "it has no CIDR block to place it by, and its route table, security lists and VNICs' NSGs name no one exported VCN",
        );
    }
    if holding.is_empty() {
        return Guess::Unknown("no exported VCN holds its blocks");
    }
    Guess::Several(holding)
}
