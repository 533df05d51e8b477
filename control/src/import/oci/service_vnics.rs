//! VNICs of services that the export names by the service's object and by
//! nothing else (since the thirtieth session): a load balancer's or
//! network load balancer's private address (`ip-addresses`), a mount
//! target's private IP (`private-ip-ids`), a cluster's API endpoint
//! (`endpoints.private-endpoint`), a node pool's nodes (`nodes`,
//! `private-ip`). OCI lists such VNICs in no compartment a user exports
//! (no `vnic get`), so the private-IP list (`oci network private-ip list
//! --subnet-id`) is what names them; an entry lost from it leaves the
//! address reading as a free one of its subnet, on whose side no security
//! layer runs and which ZPR does not judge (the balancer's NSG and
//! attributes gone with it). Each such address, or private IP, is
//! evidence that its subnet's VNICs are not all known
//! (`vnics_unknown.rs`), as a compute VNIC attachment is.
//!
//! Firm evidence only: an object whose `lifecycle-state` says it is gone,
//! a public address (a public balancer lists its public address alone:
//! its private one is unknown, so it says nothing), an address that no
//! subnet of the object holds (its subnets said: `subnet-ids`,
//! `subnet-id`, `endpoint-config.subnet-id`; not said, an address is no
//! evidence, since VCNs may reuse addresses), or one that a VNIC or
//! private IP of the export holds.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use serde_json::Value;

use super::inventory::{Inventory, Kept};
use super::json::{g, garr, gs, gstrs, id_of, ocid_type};
use super::kinds::{address, live};
use super::vcn_guess::subnet_blocks;

/// A service's VNIC that nothing of the export but the service names.
pub(super) struct Lost {
    /// The subnet (OCID) it is in; `None`: not said (every subnet).
    pub(super) subnet: Option<String>,
    /// Why, for the warning.
    pub(super) reason: String,
    /// The private IP (OCID) naming it, when that is what the service
    /// gives (a mount target's).
    pub(super) private_ip: Option<String>,
}

/// The addresses the export's VNICs and private IPs hold.
struct Held(HashSet<IpAddr>);

impl Held {
    fn of(inv: &Inventory) -> Held {
        let vnics = inv.vnics.iter().flat_map(|v| {
            gs(v, "private-ip").into_iter().chain(
                garr(v, "ipv6-addresses")
                    .into_iter()
                    .filter_map(Value::as_str),
            )
        });
        let ips = inv.private_ips.iter().filter_map(|p| gs(p, "ip-address"));
        Held(vnics.chain(ips).filter_map(address).collect())
    }
}

/// The services' VNICs of `inv` that nothing else names, in the subnets
/// of `out_subnets` (the scenario's, by `id`).
pub(super) fn lost(inv: &Inventory, out_subnets: &[Value]) -> Vec<Lost> {
    let held = Held::of(inv);
    // The exported subnets' blocks, by OCID (a stand-in's are host blocks
    // of its VNICs' addresses, all held).
    let blocks: HashMap<String, Vec<ipnet::IpNet>> = inv
        .subnets
        .iter()
        .map(|o| (id_of(o), subnet_blocks(o)))
        .collect();
    let holds = |id: &str, ip: IpAddr| {
        blocks
            .get(id)
            .is_some_and(|b| b.iter().any(|n| n.contains(&ip)))
    };
    let mut lost = Vec::new();
    // An address `ip` of a service of subnets `subnets` (OCIDs): lost when
    // one of them holds it and no VNIC or private IP does.
    let at = |subnets: &[String], ip: IpAddr, what: String| -> Option<Lost> {
        if held.0.contains(&ip) {
            return None;
        }
        let s = out_subnets.iter().find_map(|m| {
            let id = m.get("id").and_then(Value::as_str)?;
            (subnets.iter().any(|s| s == id) && holds(id, ip)).then_some(id)
        })?;
        Some(Lost {
            subnet: Some(s.to_owned()),
            reason: format!(
                "{what} has {ip} in it, and the export has no VNIC or private IP holding it"
            ),
            private_ip: None,
        })
    };
    for b in inv.balancers.iter().filter(|b| live(b)) {
        let mut subnets = gstrs(b, "subnet-ids");
        subnets.extend(gs(b, "subnet-id").map(str::to_owned));
        let kind = if ocid_type(&id_of(b)) == Some("networkloadbalancer") {
            "network load balancer"
        } else {
            "load balancer"
        };
        for a in garr(b, "ip-addresses")
            .into_iter()
            .filter_map(Value::as_object)
            .filter(|a| g(a, "is-public").and_then(Value::as_bool) != Some(true))
        {
            if let Some(ip) = gs(a, "ip-address").and_then(address) {
                lost.extend(at(&subnets, ip, format!("{kind} `{}`", id_of(b))));
            }
        }
    }
    let here = inv.seen.iter().filter_map(|(id, (_, kept))| match kept {
        Kept::Here(o) if live(o) => Some((id, o)),
        _ => None,
    });
    let private_ips: HashSet<String> = inv.private_ips.iter().map(id_of).collect();
    for (id, o) in here {
        match ocid_type(id) {
            Some("cluster") => {
                let endpoint = g(o, "endpoints")
                    .and_then(Value::as_object)
                    .and_then(|e| gs(e, "private-endpoint"))
                    .and_then(address);
                let subnet = g(o, "endpoint-config")
                    .and_then(Value::as_object)
                    .and_then(|c| gs(c, "subnet-id"));
                if let (Some(ip), Some(s)) = (endpoint, subnet) {
                    lost.extend(at(
                        &[s.to_owned()],
                        ip,
                        format!("the API endpoint of cluster `{id}`"),
                    ));
                }
            }
            Some("nodepool") => {
                for n in garr(o, "nodes")
                    .into_iter()
                    .filter_map(Value::as_object)
                    .filter(|n| live(n))
                {
                    if let (Some(ip), Some(s)) =
                        (gs(n, "private-ip").and_then(address), gs(n, "subnet-id"))
                    {
                        let node = gs(n, "id").unwrap_or("?");
                        lost.extend(at(
                            &[s.to_owned()],
                            ip,
                            format!("node `{node}` of node pool `{id}`"),
                        ));
                    }
                }
            }
            Some("mounttarget") => {
                let subnet = gs(o, "subnet-id").map(str::to_owned);
                for p in gstrs(o, "private-ip-ids") {
                    if private_ips.contains(&p) {
                        continue;
                    }
                    lost.push(Lost {
                        subnet: subnet.clone(),
                        reason: format!(
                            "mount target `{id}`{} has private IP `{p}`, which the export's private-IP list lacks",
                            if subnet.is_some() { " in it" } else { "" }
                        ),
                        private_ip: Some(p),
                    });
                }
            }
            _ => {}
        }
    }
    lost
}
