//! What a VNIC is (`kind`: `node`, `pod`, `api-endpoint`,
//! `mount-target`), read from objects of OKE and File Storage that say it
//! (since the twenty-first session; before, every VNIC not a load
//! balancer's came back `instance`, where the scenario said `node`):
//!
//! - a cluster (`oci ce cluster list`, `ocid1.cluster.`): its
//!   `endpoints.private-endpoint` (`10.0.0.3:6443`) is the Kubernetes API
//!   endpoint's address: the VNIC whose primary address it is is
//!   `api-endpoint`;
//! - a node pool (`oci ce node-pool get`, `ocid1.nodepool.`): each of its
//!   `nodes` gives its instance (`id`) and primary address (`private-ip`):
//!   the VNIC whose primary address that is is `node`; and a VNIC attached
//!   to one of those instances (`oci compute vnic-attachment list`,
//!   `instance-id`, `vnic-id`, `subnet-id`) in one of the pool's pod
//!   subnets (`node-config-details.node-pool-pod-network-option-details.pod-subnet-ids`,
//!   VCN-native pod networking) that is not the node's primary VNIC is
//!   `pod`;
//! - a mount target (`oci fs mount-target list`, `ocid1.mounttarget.`):
//!   the VNIC of each of its `private-ip-ids` is `mount-target`.
//!
//! Only firm evidence counts: an object whose `lifecycle-state` says it is
//! gone gives none, and a VNIC two pieces of evidence disagree on keeps
//! `instance` (a stand-in VNIC, `unknown`). A stand-in VNIC (private IPs
//! whose VNIC the export lacks: OCI lists the VNICs of a mount target or
//! of a cluster's API endpoint in no compartment a user exports) gets its
//! kind the same way, by its OCID or its first address. The kind is
//! informative: no layer judges by it.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use serde_json::Value;

use super::inventory::{GONE, Inventory, Kept};
use super::json::{Obj, g, garr, gs, gstrs, ocid_type};

/// The kinds the export says, by VNIC OCID and by primary address.
#[derive(Default)]
pub(super) struct Kinds {
    by_vnic: HashMap<String, Option<&'static str>>,
    by_ip: HashMap<IpAddr, Option<&'static str>>,
    /// The objects carrying the `nsg-ids` and `security-attributes` of a
    /// mount target's VNIC (the mount target), by the VNIC's OCID, and of
    /// a cluster's API endpoint (its `endpoint-config`), by the
    /// endpoint's address, with what each is (for warnings).
    owner_by_vnic: HashMap<String, (String, Obj)>,
    owner_by_ip: HashMap<IpAddr, (String, Obj)>,
}

/// `kind`, or `None` (disagreement) where one is already said otherwise.
fn say<K: std::hash::Hash + Eq>(
    m: &mut HashMap<K, Option<&'static str>>,
    k: K,
    kind: &'static str,
) {
    m.entry(k)
        .and_modify(|said| {
            if *said != Some(kind) {
                *said = None;
            }
        })
        .or_insert(Some(kind));
}

/// An address as written, or an endpoint `address:port` (`[v6]:port`).
fn address(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    if let Ok(a) = t.parse() {
        return Some(a);
    }
    if let Some(rest) = t.strip_prefix('[') {
        return rest.split_once(']').and_then(|(a, _)| a.parse().ok());
    }
    t.rsplit_once(':').and_then(|(a, _)| a.parse().ok())
}

fn live(o: &Obj) -> bool {
    gs(o, "lifecycle-state").is_none_or(|s| !GONE.contains(&s))
}

impl Kinds {
    /// The kinds said by the export's clusters, node pools, VNIC
    /// attachments and mount targets.
    pub(super) fn said(inv: &Inventory) -> Kinds {
        let mut k = Kinds::default();
        let mut node_instances: HashSet<String> = HashSet::new();
        let mut node_ips: HashSet<IpAddr> = HashSet::new();
        let mut pod_subnets: HashSet<String> = HashSet::new();
        let mut attachments: Vec<&Obj> = Vec::new();
        let mut mount_target_ips: Vec<String> = Vec::new();
        let mut mount_targets: HashMap<String, (String, Obj)> = HashMap::new();
        for (id, (_, kept)) in &inv.seen {
            let Kept::Here(o) = kept else { continue };
            if !live(o) {
                continue;
            }
            match ocid_type(id) {
                Some("cluster") => {
                    if let Some(a) = g(o, "endpoints")
                        .and_then(Value::as_object)
                        .and_then(|e| gs(e, "private-endpoint"))
                        .and_then(address)
                    {
                        say(&mut k.by_ip, a, "api-endpoint");
                        // Its endpoint's NSGs and attributes (`oci ce
                        // cluster get`'s `endpoint-config`): none said when
                        // the export lacks the object (`cluster list` may).
                        let config = g(o, "endpoint-config")
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        k.owner_by_ip
                            .insert(a, (format!("cluster `{id}`'s `endpoint-config`"), config));
                    }
                }
                Some("nodepool") => {
                    for n in garr(o, "nodes").into_iter().filter_map(Value::as_object) {
                        if !live(n) {
                            continue;
                        }
                        if let Some(a) = gs(n, "private-ip").and_then(address) {
                            say(&mut k.by_ip, a, "node");
                            node_ips.insert(a);
                        }
                        if let Some(i) = gs(n, "id") {
                            node_instances.insert(i.to_owned());
                        }
                    }
                    if let Some(d) = g(o, "node-config-details")
                        .and_then(Value::as_object)
                        .and_then(|d| g(d, "node-pool-pod-network-option-details"))
                        .and_then(Value::as_object)
                    {
                        pod_subnets.extend(gstrs(d, "pod-subnet-ids"));
                    }
                }
                Some("vnicattachment") => attachments.push(o),
                Some("mounttarget") => {
                    for p in gstrs(o, "private-ip-ids") {
                        mount_targets.insert(p.clone(), (id.clone(), o.clone()));
                        mount_target_ips.push(p);
                    }
                }
                _ => {}
            }
        }
        // A node's secondary VNIC in a pod subnet: a pod's.
        let primary: HashMap<&str, Option<IpAddr>> = inv
            .vnics
            .iter()
            .filter_map(|v| gs(v, "id").map(|id| (id, gs(v, "private-ip").and_then(address))))
            .collect();
        for a in attachments {
            let (Some(instance), Some(vnic), Some(subnet)) =
                (gs(a, "instance-id"), gs(a, "vnic-id"), gs(a, "subnet-id"))
            else {
                continue;
            };
            let is_nodes_primary = primary
                .get(vnic)
                .copied()
                .flatten()
                .is_some_and(|ip| node_ips.contains(&ip));
            if node_instances.contains(instance)
                && pod_subnets.contains(subnet)
                && !is_nodes_primary
            {
                say(&mut k.by_vnic, vnic.to_owned(), "pod");
            }
        }
        if !mount_target_ips.is_empty() {
            let wanted: HashSet<&str> = mount_target_ips.iter().map(String::as_str).collect();
            for p in &inv.private_ips {
                if gs(p, "id").is_some_and(|id| wanted.contains(id))
                    && let Some(v) = gs(p, "vnic-id")
                {
                    say(&mut k.by_vnic, v.to_owned(), "mount-target");
                    if let Some((mt, o)) = gs(p, "id").and_then(|id| mount_targets.get(id)) {
                        k.owner_by_vnic
                            .insert(v.to_owned(), (format!("mount target `{mt}`"), o.clone()));
                    }
                }
            }
        }
        k
    }

    /// The object carrying the NSGs and attributes of a stand-in VNIC of
    /// OCID `id` holding `ips` (a mount target, a cluster's
    /// `endpoint-config`), with what it is, when it is one of those, by
    /// its OCID or one of its addresses.
    pub(super) fn owner_of_stand_in(&self, id: &str, ips: &[String]) -> Option<&(String, Obj)> {
        self.owner_by_vnic.get(id).or_else(|| {
            ips.iter()
                .filter_map(|a| address(a))
                .find_map(|a| self.owner_by_ip.get(&a))
        })
    }

    /// The kind the export says of VNIC `o` (its OCID, else its primary
    /// address), if it says one and agrees with itself.
    pub(super) fn of_vnic(&self, o: &Obj) -> Option<&'static str> {
        self.of(gs(o, "id"), gs(o, "private-ip"))
    }

    /// The kind the export says of a stand-in VNIC of OCID `id` holding
    /// the addresses `ips`: by its OCID or any of its addresses, when
    /// they agree.
    pub(super) fn of_stand_in(&self, id: &str, ips: &[String]) -> Option<&'static str> {
        // Each piece of evidence: `None` where it disagrees with itself.
        let evidence: Vec<Option<&'static str>> = self
            .by_vnic
            .get(id)
            .into_iter()
            .chain(
                ips.iter()
                    .filter_map(|a| address(a))
                    .filter_map(|a| self.by_ip.get(&a)),
            )
            .copied()
            .collect();
        let first = *evidence.first()?;
        evidence
            .iter()
            .all(|k| *k == first)
            .then_some(first)
            .flatten()
    }

    /// The kind the export says of the VNIC of OCID `id` whose primary
    /// (or, for a stand-in, first) address is `ip`.
    pub(super) fn of(&self, id: Option<&str>, ip: Option<&str>) -> Option<&'static str> {
        let by_vnic = id.and_then(|id| self.by_vnic.get(id));
        let by_ip = ip.and_then(address).and_then(|a| self.by_ip.get(&a));
        match (by_vnic, by_ip) {
            (Some(a), Some(b)) if a != b => None,
            (Some(a), _) => *a,
            (None, Some(b)) => *b,
            (None, None) => None,
        }
    }
}
