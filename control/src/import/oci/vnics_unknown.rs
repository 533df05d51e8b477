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
//! does not list, or lists with an entry that names no VNIC or no address.
//! An address of such a subnet that no VNIC holds is then judged as a VNIC
//! nobody knows: nothing is allowed to or from it (docs/semantics.md,
//! decision 34), and the drops are owed to the export.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::inventory::Inventory;
use super::json::{gs, id_of};

/// Subnets named in one warning at most; the rest are counted.
const NAMED: usize = 5;

/// Sets `vnics_unknown = true` on each subnet of `out_subnets` (exported
/// or made up, by OCID) whose VNICs `inv` does not all name, with a
/// warning naming the subnet and the commands that fill the gap.
pub(super) fn flag(inv: &Inventory, out_subnets: &mut [Value], warnings: &mut Vec<String>) {
    // No private IP at all while a VNIC has one: the list was not exported
    // (or is empty by mistake); every subnet's VNICs are unknown.
    let any_private_ip = inv.vnics.iter().any(|v| gs(v, "private-ip").is_some());
    if inv.private_ips.is_empty() && any_private_ip {
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
    // reason found.
    let mut why: Vec<(String, String)> = Vec::new();
    let mut flagged: BTreeSet<String> = BTreeSet::new();
    let mut say = |subnet: &str, reason: String| {
        if flagged.insert(subnet.to_owned()) {
            why.push((subnet.to_owned(), reason));
        }
    };
    let listed_subnets: BTreeSet<&str> = inv
        .private_ips
        .iter()
        .filter_map(|p| gs(p, "subnet-id"))
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
            );
        }
    }
    let mut everywhere: Option<String> = None;
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
        let subnet = gs(p, "subnet-id").or_else(|| {
            gs(p, "vnic-id").and_then(|v| {
                inv.vnics
                    .iter()
                    .find(|o| id_of(o) == v)
                    .and_then(|o| gs(o, "subnet-id"))
            })
        });
        match subnet {
            Some(s) => say(s, reason),
            None => {
                everywhere.get_or_insert(reason);
            }
        }
    }
    for m in out_subnets.iter_mut().filter_map(Value::as_object_mut) {
        let id = m.get("id").and_then(Value::as_str).unwrap_or_default();
        let reason = match why.iter().find(|(s, _)| s == id) {
            Some((_, r)) => r.clone(),
            None => match &everywhere {
                Some(r) => format!("{r}, and of no subnet said"),
                None => continue,
            },
        };
        let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
        let command = if id.is_empty() {
            "`oci network private-ip list --subnet-id SUBNET --all`".to_owned()
        } else {
            format!("`oci network private-ip list --subnet-id {id} --all`")
        };
        let said = if id.is_empty() {
            format!("subnet `{name}`")
        } else {
            format!("subnet `{name}` (`{id}`)")
        };
        warnings.push(format!(
            "{said}: {reason}; its VNICs are not all known, so an address of it that no exported VNIC holds may be a VNIC the export lacks: kept with `vnics_unknown = true`, and everything to and from such an address drops at its security layer (owed to the export): export its private IPs ({command}) and their VNICs (`oci network vnic get`)"
        ));
        m.insert("vnics_unknown".into(), json!(true));
    }
}

/// The first [`NAMED`] names quoted, then how many more.
fn listed(names: &[&str]) -> String {
    let mut t: Vec<String> = names.iter().take(NAMED).map(|n| format!("`{n}`")).collect();
    if names.len() > NAMED {
        t.push(format!("and {} more", names.len() - NAMED));
    }
    t.join(", ")
}
