//! Subnets whose VNICs the export does not all name (`vnics_unknown`,
//! since the twenty-eighth session).
//!
//! A VNIC is known by its `oci network vnic get` or by its private IPs
//! (`oci network private-ip list --subnet-id`, which lists every VNIC's of
//! the subnet: one whose `vnic get` is missing is kept as a stand-in). When
//! both are lost, nothing names the VNIC: its address reads as one no VNIC
//! holds, on whose side no security layer runs and which ZPR does not
//! judge, so the cut export allowed what the whole one (where the VNIC has
//! NSGs and attributes) drops, and dropped what it allows owed to nothing
//! (QA's random cuts, seeds 139 and 315 of 400). The
//! import cannot tell such an address from a free one, so it says which
//! subnets' VNICs are not all known: those whose private IPs the export
//! does not list, or lists with an entry that names no VNIC or no address;
//! those a VNIC attachment (`oci compute vnic-attachment list`, `ATTACHED`
//! or `ATTACHING`) says hold a VNIC that neither a `vnic get` nor a
//! private IP names (one entry lost from the private-IP list with the
//! VNIC's `vnic get`: since the twenty-ninth session); those a service's
//! object says hold a VNIC that nothing else names (a load balancer's
//! private address, a mount target's private IP, a cluster's API
//! endpoint, a node: `service_vnics.rs`, since the thirtieth); and, for IPv6,
//! those with IPv6 blocks holding a VNIC known by its private IPv4 alone
//! (no `vnic get`) whose IPv6 addresses the export does not list (no IPv6
//! list, or one naming none of the subnet's while an exported VNIC of it
//! has some).
//! An address of such a subnet that no VNIC holds is then judged as a VNIC
//! nobody knows: nothing is allowed to or from it (docs/semantics.md,
//! decision 34), and the drops are owed to the export.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Value, json};

use super::inventory::Inventory;
use super::json::{Obj, garr, gs, id_of, ocid_type};

/// Subnets named in one warning at most; the rest are counted.
const NAMED: usize = 5;

/// What to export to know a flagged subnet's VNICs.
enum Fix {
    /// Its private IPs and their VNICs.
    PrivateIps,
    /// This VNIC (a `vnic get`), and the subnet's private IPs.
    Vnic(String),
    /// This VNIC, or the subnet's IPv6 addresses.
    Ipv6(String),
    /// This private IP (a service's VNIC's), and the subnet's private IPs.
    PrivateIp(String),
}

impl Fix {
    /// The words of the fix, for subnet OCID `id` (empty: not known).
    fn text(&self, id: &str) -> String {
        let subnet = if id.is_empty() { "SUBNET" } else { id };
        let ips = format!("`oci network private-ip list --subnet-id {subnet} --all`");
        match self {
            Fix::PrivateIps => {
                format!("export its private IPs ({ips}) and their VNICs (`oci network vnic get`)")
            }
            Fix::Vnic(v) => format!(
                "export the VNIC (`oci network vnic get --vnic-id {v}`) and the subnet's private IPs ({ips})"
            ),
            Fix::PrivateIp(p) => format!(
                "export the private IP (`oci network private-ip get --private-ip-id {p}`) and the subnet's private IPs ({ips}) with their VNICs"
            ),
            Fix::Ipv6(v) => format!(
                "export the VNIC (`oci network vnic get --vnic-id {v}`), or the subnet's IPv6 addresses (`oci network ipv6 list --subnet-id {subnet} --all`)"
            ),
        }
    }
}

/// Whether private IP `p` is an IPv6 address (`oci network ipv6 list`,
/// `ocid1.ipv6.`), not a private IPv4 (`ocid1.privateip.`).
fn is_ipv6(p: &Obj) -> bool {
    ocid_type(&id_of(p)) == Some("ipv6")
}

/// Sets `vnics_unknown = true` on each subnet of `out_subnets` (exported
/// or made up, by OCID) whose VNICs `inv` does not all name, with a
/// warning naming the subnet and the commands that fill the gap.
pub(super) fn flag(inv: &Inventory, out_subnets: &mut [Value], warnings: &mut Vec<String>) {
    // No private IPv4 at all while a VNIC has one: the list was not
    // exported (or is empty by mistake); every subnet's VNICs are unknown.
    // (The IPv6 list says no VNIC's private IPv4.)
    let any_private_ip = inv.vnics.iter().any(|v| gs(v, "private-ip").is_some());
    if inv.private_ips.iter().all(is_ipv6) && any_private_ip {
        let names: Vec<&str> = out_subnets
            .iter()
            .filter_map(|m| m.get("name").and_then(Value::as_str))
            .collect();
        if names.is_empty() {
            return;
        }
        warnings.push(format!(
            "the export lists no private IP, while its VNICs have some: the VNICs of its {} subnet(s) ({}) are not all known (a VNIC whose `vnic get` is missing too is named by nothing), so an address of them that no exported VNIC holds may be a VNIC the export lacks; each is kept with `vnics_unknown = true`, and everything to and from such an address drops at its security layer (owed to the export): export the private IPs (`oci network private-ip list --subnet-id SUBNET --all` for each subnet) and their VNICs (`oci network vnic get`)",
            names.len(),
            listed(&names)
        ));
        for m in out_subnets.iter_mut().filter_map(Value::as_object_mut) {
            m.insert("vnics_unknown".into(), json!(true));
        }
        return;
    }
    // Per subnet (by OCID): why its VNICs are not all known, the first
    // reason found, and what to export.
    let mut why: Vec<(String, String, Fix)> = Vec::new();
    let mut flagged: BTreeSet<String> = BTreeSet::new();
    let mut say = |subnet: &str, reason: String, fix: Fix| {
        if flagged.insert(subnet.to_owned()) {
            why.push((subnet.to_owned(), reason, fix));
        }
    };
    // A private IP's subnet: its `subnet-id`, else its VNIC's (an export
    // trimmed by hand or by `--query` may leave `subnet-id` out).
    let vnic_subnet: HashMap<String, &str> = inv
        .vnics
        .iter()
        .filter_map(|v| Some((id_of(v), gs(v, "subnet-id")?)))
        .collect();
    let subnet_of = |p| subnet_of(p, &vnic_subnet);
    let listed_subnets: BTreeSet<&str> = inv
        .private_ips
        .iter()
        .filter(|p| !is_ipv6(p))
        .filter_map(subnet_of)
        .collect();
    for v in &inv.vnics {
        if let (Some(subnet), Some(ip)) = (gs(v, "subnet-id"), gs(v, "private-ip"))
            && !listed_subnets.contains(subnet)
        {
            say(
                subnet,
                format!(
                    "the export lists none of its private IPs, while VNIC `{}` has {ip}",
                    id_of(v)
                ),
                Fix::PrivateIps,
            );
        }
    }
    let mut everywhere: Option<(String, Fix)> = None;
    for p in &inv.private_ips {
        // `vnic-id` null is a reserved IP assigned to no VNIC; absent, the
        // export does not say whose it is.
        let vnic_said = p.contains_key("vnic-id") || p.contains_key("vnicId");
        let reason = match (vnic_said, gs(p, "vnic-id"), gs(p, "ip-address")) {
            (false, _, Some(a)) => format!("its private IP {a} (`{}`) names no VNIC", id_of(p)),
            (_, Some(v), None) => format!(
                "private IP `{}` of VNIC `{v}` gives no address (no `ip-address`)",
                id_of(p)
            ),
            _ => continue,
        };
        match subnet_of(p) {
            Some(s) => say(s, reason, Fix::PrivateIps),
            None => {
                everywhere.get_or_insert((reason, Fix::PrivateIps));
            }
        }
    }
    let exported: HashSet<&str> = inv.vnics.iter().filter_map(|v| gs(v, "id")).collect();
    // A VNIC attached to an instance (`oci compute vnic-attachment
    // list`) that neither a `vnic get` nor a private IP names: both were
    // lost (one entry cut from a list the export otherwise has), and its
    // addresses read as free ones of its subnet (since the
    // twenty-ninth session). An attachment whose state is not
    // `ATTACHED` or `ATTACHING` attaches nothing.
    let named: HashSet<&str> = exported
        .iter()
        .copied()
        .chain(inv.private_ips.iter().filter_map(|p| gs(p, "vnic-id")))
        .collect();
    for a in &inv.vnic_attachments {
        if gs(a, "lifecycle-state").is_some_and(|s| {
            !["ATTACHED", "ATTACHING"]
                .iter()
                .any(|t| s.eq_ignore_ascii_case(t))
        }) {
            continue;
        }
        let Some(v) = gs(a, "vnic-id").filter(|v| !named.contains(v)) else {
            continue;
        };
        let subnet = gs(a, "subnet-id");
        let reason = format!(
            "VNIC `{v}` is attached to an instance{} (VNIC attachment `{}`), and the export has neither its `vnic get` nor a private IP of it",
            if subnet.is_some() { " in it" } else { "" },
            id_of(a)
        );
        match subnet {
            Some(s) => say(s, reason, Fix::Vnic(v.to_owned())),
            None => {
                everywhere.get_or_insert((reason, Fix::Vnic(v.to_owned())));
            }
        }
    }
    // A service's VNIC (a balancer's, a mount target's, an API
    // endpoint's, a node's) that only the service's object names: its
    // entry lost from the private-IP list (since the thirtieth session).
    for l in super::service_vnics::lost(inv, out_subnets) {
        let fix = l.private_ip.map_or(Fix::PrivateIps, Fix::PrivateIp);
        match l.subnet {
            Some(s) => say(&s, l.reason, fix),
            None => {
                everywhere.get_or_insert((l.reason, fix));
            }
        }
    }
    // IPv6: a VNIC known by its private IPv4 alone (no `vnic get`, whose
    // `ipv6-addresses` says its IPv6 addresses) in a subnet with IPv6
    // blocks, while the export does not list the subnet's IPv6 addresses
    // (no IPv6 list at all, or one naming none of the subnet's while an
    // exported VNIC of it has some): its IPv6 addresses read as free ones
    // of the subnet (since the twenty-ninth session).
    let v6_subnets: HashSet<String> = out_subnets
        .iter()
        .filter(|m| has_ipv6_blocks(m))
        .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let v6_listed: BTreeSet<&str> = inv
        .private_ips
        .iter()
        .filter(|p| is_ipv6(p))
        .filter_map(subnet_of)
        .collect();
    let v6_list = inv.ipv6_list_said || !v6_listed.is_empty();
    let v6_used: BTreeSet<&str> = inv
        .vnics
        .iter()
        .filter(|v| !garr(v, "ipv6-addresses").is_empty())
        .filter_map(|v| gs(v, "subnet-id"))
        .collect();
    for p in inv.private_ips.iter().filter(|p| !is_ipv6(p)) {
        let (Some(v), Some(s)) = (gs(p, "vnic-id"), subnet_of(p)) else {
            continue;
        };
        if exported.contains(v) || !v6_subnets.contains(s) || v6_listed.contains(s) {
            continue;
        }
        let reason = if !v6_list {
            format!(
                "it has IPv6 blocks and the export lists no IPv6 address (no `network-ipv6-list.json`), while VNIC `{v}` is known by its private IPs alone (no `vnic get`, which gives its IPv6 addresses)"
            )
        } else if v6_used.contains(s) {
            format!(
                "the export's IPv6 list names none of its addresses while an exported VNIC of it has some, and VNIC `{v}` is known by its private IPs alone (no `vnic get`, which gives its IPv6 addresses)"
            )
        } else {
            continue;
        };
        say(s, reason, Fix::Ipv6(v.to_owned()));
    }
    for m in out_subnets.iter_mut().filter_map(Value::as_object_mut) {
        let id = m.get("id").and_then(Value::as_str).unwrap_or_default();
        let (reason, fix) = match why.iter().find(|(s, ..)| s == id) {
            Some((_, r, f)) => (r.clone(), f),
            None => match &everywhere {
                Some((r, f)) => (format!("{r}, and of no subnet said"), f),
                None => continue,
            },
        };
        let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
        let said = if id.is_empty() {
            format!("subnet `{name}`")
        } else {
            format!("subnet `{name}` (`{id}`)")
        };
        warnings.push(format!(
            "{said}: {reason}; its VNICs are not all known, so an address of it that no exported VNIC holds may be a VNIC the export lacks: kept with `vnics_unknown = true`, and everything to and from such an address drops at its security layer (owed to the export): {}",
            fix.text(id)
        ));
        m.insert("vnics_unknown".into(), json!(true));
    }
}

/// Whether scenario subnet `m` has an IPv6 block: `ipv6_cidr_blocks`, or
/// an IPv6 `cidr_block` (an IPv6-only subnet).
fn has_ipv6_blocks(m: &Value) -> bool {
    m.get("ipv6_cidr_blocks")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
        || m.get("cidr_block")
            .and_then(Value::as_str)
            .is_some_and(|c| c.contains(':'))
}

/// A private IP's subnet: its `subnet-id`, else its VNIC's (`vnic_subnet`,
/// by VNIC OCID).
fn subnet_of<'a>(p: &'a Obj, vnic_subnet: &HashMap<String, &'a str>) -> Option<&'a str> {
    gs(p, "subnet-id").or_else(|| gs(p, "vnic-id").and_then(|v| vnic_subnet.get(v).copied()))
}

/// The first [`NAMED`] names quoted, then how many more.
fn listed(names: &[&str]) -> String {
    let mut t: Vec<String> = names.iter().take(NAMED).map(|n| format!("`{n}`")).collect();
    if names.len() > NAMED {
        t.push(format!("and {} more", names.len() - NAMED));
    }
    t.join(", ")
}
