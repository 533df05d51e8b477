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
//!
//! Evidence by address is keyed by VCN and address (since the
//! twenty-sixth session): two VCNs may reuse an address (every VCN on
//! 10.0.0.0/16), and a stand-in VNIC of one took the `endpoint-config`
//! NSGs and attributes of a cluster's API endpoint in another, more than
//! the whole export allows it. A cluster's VCN is its `vcn-id` (else its
//! `endpoint-config`'s subnet's), a node's its `subnet-id`'s (else its
//! pool's cluster's); one whose VCN the import does not hold says nothing.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use serde_json::Value;

use super::inventory::{GONE, Inventory, Kept};
use super::json::{Obj, g, garr, gs, gstrs, ocid_type};

/// A VCN (its name in the import) and an address of it.
type VcnIp = (String, IpAddr);

/// The kinds the export says, by VNIC OCID and by VCN and primary address.
#[derive(Default)]
pub(super) struct Kinds {
    by_vnic: HashMap<String, Option<&'static str>>,
    by_ip: HashMap<VcnIp, Option<&'static str>>,
    /// The objects carrying the `nsg-ids` and `security-attributes` of a
    /// mount target's VNIC (the mount target), by the VNIC's OCID, and of
    /// a cluster's API endpoint (its `endpoint-config`), by the
    /// endpoint's VCN and address, with what each is (for warnings).
    owner_by_vnic: HashMap<String, (String, Obj)>,
    owner_by_ip: HashMap<VcnIp, (String, Obj)>,
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
pub(super) fn address(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    if let Ok(a) = t.parse() {
        return Some(a);
    }
    if let Some(rest) = t.strip_prefix('[') {
        return rest.split_once(']').and_then(|(a, _)| a.parse().ok());
    }
    t.rsplit_once(':').and_then(|(a, _)| a.parse().ok())
}

/// Whether the export's object `o` is not gone (its `lifecycle-state`).
pub(super) fn live(o: &Obj) -> bool {
    gs(o, "lifecycle-state").is_none_or(|s| !GONE.contains(&s))
}

/// Where the import holds the VCN of an object: the names of its VCNs
/// and subnets by OCID, and each subnet's VCN by the subnet's name.
pub(super) struct VcnOf<'a> {
    pub(super) vcn: &'a HashMap<String, String>,
    pub(super) subnet: &'a HashMap<String, String>,
    pub(super) subnet_vcn: &'a HashMap<String, String>,
}

impl VcnOf<'_> {
    /// The VCN (name) of the subnet of OCID `id`, if the import holds it.
    fn of_subnet(&self, id: &str) -> Option<String> {
        self.subnet
            .get(id)
            .and_then(|n| self.subnet_vcn.get(n))
            .cloned()
    }

    /// The VCN (name) of a cluster: its `vcn-id`; not given, its
    /// endpoint's subnet's (`endpoint-config.subnet-id`). A `vcn-id` the
    /// import does not hold is another VCN's: none.
    fn of_cluster(&self, o: &Obj) -> Option<String> {
        match gs(o, "vcn-id").map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => self.vcn.get(v).cloned(),
            None => g(o, "endpoint-config")
                .and_then(Value::as_object)
                .and_then(|c| gs(c, "subnet-id"))
                .and_then(|s| self.of_subnet(s)),
        }
    }
}

impl Kinds {
    /// The kinds said by the export's clusters, node pools, VNIC
    /// attachments and mount targets; `vcns` places each in its VCN. A
    /// cluster with a private endpoint whose VCN is not said is told in
    /// `warnings`.
    pub(super) fn said(inv: &Inventory, vcns: &VcnOf<'_>, warnings: &mut Vec<String>) -> Kinds {
        let mut k = Kinds::default();
        let mut node_instances: HashSet<String> = HashSet::new();
        let mut node_ips: HashSet<VcnIp> = HashSet::new();
        let mut pod_subnets: HashSet<String> = HashSet::new();
        let attachments = inv.vnic_attachments.iter().filter(|o| live(o));
        let mut mount_target_ips: Vec<String> = Vec::new();
        let mut mount_targets: HashMap<String, (String, Obj)> = HashMap::new();
        let here = || {
            inv.seen.iter().filter_map(|(id, (_, kept))| match kept {
                Kept::Here(o) if live(o) => Some((id, o)),
                _ => None,
            })
        };
        // Each cluster's VCN, for its node pools' nodes.
        let mut cluster_vcn: HashMap<&str, String> = HashMap::new();
        for (id, o) in here() {
            if ocid_type(id) != Some("cluster") {
                continue;
            }
            let vcn = vcns.of_cluster(o);
            if let Some(v) = &vcn {
                cluster_vcn.insert(id.as_str(), v.clone());
            }
            let Some(a) = g(o, "endpoints")
                .and_then(Value::as_object)
                .and_then(|e| gs(e, "private-endpoint"))
                .and_then(address)
            else {
                continue;
            };
            let Some(vcn) = vcn else {
                if gs(o, "vcn-id").is_none_or(|v| v.trim().is_empty()) {
                    warnings.push(format!(
                        "cluster `{id}`: its `vcn-id` is not given (nor an `endpoint-config` subnet of the export): its API endpoint `{a}` is given no kind, NSGs or attributes (an address may be another VCN's too)"
                    ));
                }
                continue;
            };
            say(&mut k.by_ip, (vcn.clone(), a), "api-endpoint");
            // Its endpoint's NSGs and attributes (`oci ce cluster get`'s
            // `endpoint-config`): none said when the export lacks the
            // object (`cluster list` may).
            let config = g(o, "endpoint-config")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            k.owner_by_ip.insert(
                (vcn, a),
                (format!("cluster `{id}`'s `endpoint-config`"), config),
            );
        }
        for (id, o) in here() {
            match ocid_type(id) {
                Some("nodepool") => {
                    let pool_vcn = gs(o, "cluster-id").and_then(|c| cluster_vcn.get(c));
                    for n in garr(o, "nodes").into_iter().filter_map(Value::as_object) {
                        if !live(n) {
                            continue;
                        }
                        let vcn = gs(n, "subnet-id")
                            .and_then(|s| vcns.of_subnet(s))
                            .or_else(|| pool_vcn.cloned());
                        if let (Some(a), Some(vcn)) = (gs(n, "private-ip").and_then(address), vcn) {
                            say(&mut k.by_ip, (vcn.clone(), a), "node");
                            node_ips.insert((vcn, a));
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
        let primary: HashMap<&str, Option<VcnIp>> = inv
            .vnics
            .iter()
            .filter_map(|v| {
                let at = gs(v, "subnet-id")
                    .and_then(|s| vcns.of_subnet(s))
                    .zip(gs(v, "private-ip").and_then(address));
                gs(v, "id").map(|id| (id, at))
            })
            .collect();
        for a in attachments {
            let (Some(instance), Some(vnic), Some(subnet)) =
                (gs(a, "instance-id"), gs(a, "vnic-id"), gs(a, "subnet-id"))
            else {
                continue;
            };
            let is_nodes_primary = primary
                .get(vnic)
                .and_then(Option::as_ref)
                .is_some_and(|at| node_ips.contains(at));
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
    /// OCID `id` in VCN `vcn` holding `ips` (a mount target, a cluster's
    /// `endpoint-config`), with what it is, when it is one of those, by
    /// its OCID or one of its addresses in its VCN.
    pub(super) fn owner_of_stand_in(
        &self,
        id: &str,
        vcn: &str,
        ips: &[String],
    ) -> Option<&(String, Obj)> {
        self.owner_by_vnic.get(id).or_else(|| {
            ips.iter()
                .filter_map(|a| address(a))
                .find_map(|a| self.owner_by_ip.get(&(vcn.to_owned(), a)))
        })
    }

    /// The kind the export says of VNIC `o` of VCN `vcn` (its OCID, else
    /// its primary address there), if it says one and agrees with itself.
    pub(super) fn of_vnic(&self, o: &Obj, vcn: &str) -> Option<&'static str> {
        let by_vnic = gs(o, "id").and_then(|id| self.by_vnic.get(id));
        let by_ip = gs(o, "private-ip")
            .and_then(address)
            .and_then(|a| self.by_ip.get(&(vcn.to_owned(), a)));
        match (by_vnic, by_ip) {
            (Some(a), Some(b)) if a != b => None,
            (Some(a), _) => *a,
            (None, Some(b)) => *b,
            (None, None) => None,
        }
    }

    /// The kind the export says of a stand-in VNIC of OCID `id` in VCN
    /// `vcn` holding the addresses `ips`: by its OCID or any of its
    /// addresses there, when they agree.
    pub(super) fn of_stand_in(&self, id: &str, vcn: &str, ips: &[String]) -> Option<&'static str> {
        // Each piece of evidence: `None` where it disagrees with itself.
        let evidence: Vec<Option<&'static str>> = self
            .by_vnic
            .get(id)
            .into_iter()
            .chain(
                ips.iter()
                    .filter_map(|a| address(a))
                    .filter_map(|a| self.by_ip.get(&(vcn.to_owned(), a))),
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
}
