//! What the export holds: each file's objects sorted by their OCID's type
//! (duplicates merged, deleted objects left out), the VCNs kept by
//! `--vcn`, and every object's scenario name by OCID.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::super::ImportError;
use super::super::names::Names;
use super::json::{Obj, g, gs, gstrs, id_of, ocid_type};
use super::vcn_guess;

#[derive(Default)]
pub(super) struct Inventory {
    pub(super) vcns: Vec<Obj>,
    pub(super) subnets: Vec<Obj>,
    pub(super) vnics: Vec<Obj>,
    pub(super) private_ips: Vec<Obj>,
    pub(super) nsgs: Vec<Obj>,
    pub(super) nsg_rules: Vec<(String, Obj)>,
    /// Each NSG rule taken, by (NSG, rule `id`), with the file it came
    /// from and its index in `nsg_rules`.
    pub(super) nsg_rule_ids: HashMap<(String, String), (String, usize)>,
    /// The files each NSG's rules came from, by NSG OCID (named where
    /// the rules are left out).
    pub(super) nsg_rule_files: BTreeMap<String, BTreeSet<String>>,
    /// The NSGs (OCIDs) a rules file of the export names, empty or not:
    /// an exported NSG without one has unknown rules (a stand-in).
    pub(super) nsg_rules_exported: BTreeSet<String>,
    /// A file named for `oci zpr zpr-policy list` said the list is empty
    /// (since the twenty-first session): the tenancy has no ZPR policy.
    pub(super) no_policy_said: bool,
    pub(super) lists: Vec<Obj>,
    pub(super) tables: Vec<Obj>,
    pub(super) gateways: Vec<(&'static str, Obj)>,
    pub(super) drg_attachments: Vec<Obj>,
    /// VNIC attachments (`oci compute vnic-attachment list`): a VNIC
    /// attached to an instance, with its subnet (`vnic-id`, `subnet-id`),
    /// evidence of a VNIC the export may otherwise lack
    /// (`vnics_unknown.rs`), and of pods' VNICs (`kinds.rs`).
    pub(super) vnic_attachments: Vec<Obj>,
    /// A file named for `oci network ipv6 list` (`network-ipv6-list.json`,
    /// as examples/export-oci.sh writes it) was read, empty or not: the
    /// export lists its subnets' IPv6 addresses.
    pub(super) ipv6_list_said: bool,
    /// Load balancers and network load balancers (`oci lb load-balancer
    /// list`, `oci nlb network-load-balancer list`): their NSGs and
    /// security attributes are set on them, not on their VNICs.
    pub(super) balancers: Vec<Obj>,
    pub(super) services: Vec<Obj>,
    pub(super) policies: Vec<Obj>,
    /// Every OCID taken, with the file it came from and where the object
    /// is: its index in its kind's list, or (a kind kept in no list) the
    /// object itself. One copy of each object: a clone of every object
    /// here doubled the import's memory.
    pub(super) seen: BTreeMap<String, (String, Kept)>,
    /// What `--vcn` left out that ZPR statements may name: the `--vcn`
    /// words given, and the `security-attributes` of every VCN, VNIC and
    /// load balancer it left out (`left_out.rs`).
    pub(super) vcn_left_out: Option<(Vec<String>, Vec<Value>)>,
}

impl Inventory {
    /// Objects of every kind held (what `--vcn` counts as left out).
    pub(super) fn objects(&self) -> usize {
        self.vcns.len()
            + self.subnets.len()
            + self.vnics.len()
            + self.private_ips.len()
            + self.nsgs.len()
            + self.nsg_rules.len()
            + self.lists.len()
            + self.tables.len()
            + self.gateways.len()
            + self.drg_attachments.len()
            + self.balancers.len()
    }
}

/// Where [`Inventory::seen`] finds an object.
pub(super) enum Kept {
    /// At this index of its kind's list.
    At(usize),
    /// Here (a kind no list keeps).
    Here(Obj),
}

/// The list an object of OCID type `ty` is kept in.
pub(super) enum ListMut<'a> {
    Objs(&'a mut Vec<Obj>),
    /// Gateways of every kind in one list, each with its kind.
    Gateways(&'static str, &'a mut Vec<(&'static str, Obj)>),
}

impl<'a> ListMut<'a> {
    /// Keeps `o`; returns its index.
    pub(super) fn push(self, o: Obj) -> usize {
        match self {
            ListMut::Objs(v) => {
                v.push(o);
                v.len() - 1
            }
            ListMut::Gateways(kind, v) => {
                v.push((kind, o));
                v.len() - 1
            }
        }
    }

    pub(super) fn get_mut(self, i: usize) -> Option<&'a mut Obj> {
        match self {
            ListMut::Objs(v) => v.get_mut(i),
            ListMut::Gateways(_, v) => v.get_mut(i).map(|(_, o)| o),
        }
    }
}

/// The first key whose value differs between two copies of one object
/// (keys only one of them has are not compared: `vnic get` and
/// `list-vnics` may carry different field sets).
pub(super) fn first_difference<'a>(a: &'a Obj, b: &Obj) -> Option<&'a str> {
    a.iter()
        .find(|(k, v)| b.get(*k).is_some_and(|w| w != *v))
        .map(|(k, _)| k.as_str())
}

impl Inventory {
    /// The list objects of OCID type `ty` are kept in (`None`: DRGs,
    /// instances, clusters...: kept in [`Inventory::seen`] alone).
    pub(super) fn list_mut(&mut self, ty: &str) -> Option<ListMut<'_>> {
        let objs = |v| Some(ListMut::Objs(v));
        let gateway = |kind, v| Some(ListMut::Gateways(kind, v));
        match ty {
            "vcn" => objs(&mut self.vcns),
            "subnet" => objs(&mut self.subnets),
            "vnic" => objs(&mut self.vnics),
            // `oci network ipv6 list` objects have a private IP's shape
            // (`ip-address`, `vnic-id`): a VNIC's IPv6 addresses where no
            // `vnic get` (with its `ipv6-addresses`) was exported.
            "privateip" | "ipv6" => objs(&mut self.private_ips),
            "networksecuritygroup" => objs(&mut self.nsgs),
            "securitylist" => objs(&mut self.lists),
            "routetable" => objs(&mut self.tables),
            "internetgateway" => gateway("internet", &mut self.gateways),
            "natgateway" => gateway("nat", &mut self.gateways),
            "servicegateway" => gateway("service", &mut self.gateways),
            "localpeeringgateway" => gateway("lpg", &mut self.gateways),
            "drgattachment" => objs(&mut self.drg_attachments),
            "vnicattachment" => objs(&mut self.vnic_attachments),
            "loadbalancer" | "networkloadbalancer" => objs(&mut self.balancers),
            "service" => objs(&mut self.services),
            "zprpolicy" => objs(&mut self.policies),
            _ => None,
        }
    }

    pub(super) fn add(&mut self, file: &str, o: Obj, warnings: &mut Vec<String>) {
        let id = id_of(&o);
        if g(&o, "direction").is_some() && ocid_type(&id).is_none() {
            // The file's own name, without the folders above it.
            let nsg = file
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .strip_prefix("network-nsg-rules-list.")
                .and_then(|f| f.strip_suffix(".json"))
                .unwrap_or_default();
            if !nsg.is_empty() {
                self.nsg_rule_files
                    .entry(nsg.to_owned())
                    .or_default()
                    .insert(file.to_owned());
            }
            if nsg.is_empty() {
                warnings.push(format!(
                    "`{file}`: NSG rule `{id}` left out: the file name does not name its NSG (`network-nsg-rules-list.<NSG OCID>.json`)"
                ));
            } else if !id.is_empty()
                && let Some((first_file, at)) = self.nsg_rule_ids.get(&(nsg.to_owned(), id.clone()))
                && first_file != file
            {
                // The same rule from another file (two snapshots of one
                // export under DIR): once, as the console numbers it; a
                // different rule under one id is kept as first seen. (Within
                // one file every rule counts: ids are unique per NSG in
                // OCI's output, not always in hand-made or generated ones.)
                if self.nsg_rules.get(*at).is_none_or(|(_, r)| *r != o) {
                    warnings.push(format!(
                        "`{file}`: NSG `{nsg}` rule `{id}` appears again with other fields; the first, from `{first_file}`, is kept"
                    ));
                }
            } else {
                if !id.is_empty() {
                    self.nsg_rule_ids
                        .entry((nsg.to_owned(), id.clone()))
                        .or_insert((file.to_owned(), self.nsg_rules.len()));
                }
                self.nsg_rules.push((nsg.to_owned(), o));
            }
            return;
        }
        // The same object from two commands (`vnic get`, `list-vnics`): once.
        // Two different objects under one OCID: the first is kept, loudly.
        // (An empty id is never in `seen`.)
        if let Some((first_file, kept)) = self.seen.get(&id) {
            let first_file = first_file.clone();
            let at = match kept {
                Kept::At(i) => Some(*i),
                Kept::Here(_) => None,
            };
            let ty = ocid_type(&id).unwrap_or_default();
            let first = match at {
                Some(i) => self.list_mut(ty).and_then(|l| l.get_mut(i)),
                None => match self.seen.get_mut(&id) {
                    Some((_, Kept::Here(o))) => Some(o),
                    _ => None,
                },
            };
            let Some(first) = first else {
                return;
            };
            if let Some(key) = first_difference(first, &o) {
                warnings.push(format!(
                    "`{file}`: OCID `{id}` appears again with another `{key}`; the first, from `{first_file}`, is kept"
                ));
                return;
            }
            // The copies agree: the keys only this one has are taken
            // too (an older `list-vnics` lacks `security-attributes`;
            // keeping only its copy would drop them, a wider scenario).
            let extra: Vec<(String, Value)> = o
                .into_iter()
                .filter(|(k, _)| !first.contains_key(k))
                .collect();
            first.extend(extra);
            return;
        }
        let Some(ty) = ocid_type(&id) else {
            warnings.push(format!(
                "`{file}`: an object without an OCID `id` was left out"
            ));
            return;
        };
        // List commands print deleted objects for a while: a subnet
        // recreated with the same CIDR then overlapped its old self and the
        // whole export was refused.
        if let Some(state) = gs(&o, "lifecycle-state").filter(|s| GONE.contains(s)) {
            let name = gs(&o, "display-name")
                .or_else(|| gs(&o, "name"))
                .map_or_else(String::new, |n| format!(" `{n}`"));
            warnings.push(format!(
                "`{file}`: {ty}{name} (`{id}`) is {state}; left out"
            ));
            return;
        }
        let kept = match self.list_mut(ty) {
            Some(l) => Kept::At(l.push(o)),
            None => Kept::Here(o),
        };
        self.seen.insert(id, (file.to_owned(), kept));
    }
}

/// The `lifecycle-state`s of an object that is deleted or being deleted
/// (networking objects: `TERMINATING`, `TERMINATED`; ZPR policies:
/// `DELETING`, `DELETED`; attachments: `DETACHING`, `DETACHED`): not part
/// of the network, so not imported.
pub(super) const GONE: [&str; 6] = [
    "TERMINATING",
    "TERMINATED",
    "DELETING",
    "DELETED",
    "DETACHING",
    "DETACHED",
];

/// The page token of an OCI CLI list printed without `--all` (CLI
/// `opc-next-page`, REST `opcNextPage`): more objects exist than the file
/// holds.
pub(super) fn next_page(v: &Value) -> Option<&str> {
    ["opc-next-page", "opcNextPage"]
        .iter()
        .find_map(|k| v.get(*k)?.as_str())
        .filter(|p| !p.is_empty())
}

pub(super) fn items(v: Value) -> Vec<Value> {
    let v = match v {
        Value::Object(mut o) if o.contains_key("data") => o.remove("data").unwrap_or(Value::Null),
        other => other,
    };
    match v {
        Value::Array(a) => a,
        Value::Object(mut o) => {
            for k in ["items", "security-rules", "securityRules"] {
                if let Some(Value::Array(a)) = o.remove(k) {
                    return a;
                }
            }
            vec![Value::Object(o)]
        }
        _ => Vec::new(),
    }
}

/// Keeps the VCNs named in `names` (display name or OCID) and the objects
/// in them; the others are left out with one warning counting them
/// (they are not missing: the user chose them out).
/// Gives a VNIC that names no subnet (no `subnet-id`, a cut export) the
/// subnet its private IPs name (`private-ip list` gives each IP's
/// `subnet-id`), before `--vcn` sorts VNICs by their subnet: placed by its
/// addresses alone, a VNIC of a left-out VCN whose blocks overlap a kept
/// one's landed in the kept VCN (the review of the eighteenth session).
pub(super) fn subnets_from_private_ips(inv: &mut Inventory, warnings: &mut Vec<String>) {
    if inv.vnics.iter().all(|v| gs(v, "subnet-id").is_some()) {
        return;
    }
    let mut of_vnic: HashMap<&str, &str> = HashMap::new();
    for p in &inv.private_ips {
        if let (Some(v), Some(s)) = (gs(p, "vnic-id"), gs(p, "subnet-id")) {
            of_vnic.entry(v).or_insert(s);
        }
    }
    for v in &mut inv.vnics {
        if gs(v, "subnet-id").is_none()
            && let Some(s) = of_vnic.get(id_of(v).as_str())
        {
            warnings.push(format!(
                "VNIC `{}`: it names no subnet (no `subnet-id`); its private IPs name subnet `{s}`, taken as its own",
                id_of(v)
            ));
            v.insert("subnet-id".into(), Value::String((*s).to_owned()));
        }
    }
}

pub(super) fn keep_vcns(
    inv: &mut Inventory,
    names: &[String],
    warnings: &mut Vec<String>,
) -> Result<(), ImportError> {
    for n in names {
        if !inv
            .vcns
            .iter()
            .any(|v| id_of(v) == *n || gs(v, "display-name") == Some(n.as_str()))
        {
            return Err(ImportError {
                file: "--vcn".into(),
                line: None,
                column: None,
                message: format!("no VCN in the export has the display name or OCID `{n}`"),
            });
        }
    }
    let before = inv.objects();
    let mut attributes: Vec<Value> = Vec::new();
    // Subnets and VNICs of the whole export: a VNIC whose subnet is none
    // of them, and a private IP whose VNIC is none of them, are kept for
    // the import to place by their addresses (stand-ins, `missing.rs`),
    // as without `--vcn`.
    let all_subnets: BTreeSet<String> = inv.subnets.iter().map(id_of).collect();
    let all_vnics: BTreeSet<String> = inv.vnics.iter().map(id_of).collect();
    let all_nsgs: BTreeSet<String> = inv.nsgs.iter().map(id_of).collect();
    // Each subnet whose `vcn-id` names no VCN: its VCN among all of the
    // export's (below).
    let mut guesses: HashMap<String, vcn_guess::Guess> = inv
        .subnets
        .iter()
        .filter(|o| !gs(o, "vcn-id").is_some_and(|v| v.starts_with("ocid1.vcn.")))
        .map(|o| (id_of(o), vcn_guess::guess(inv, o)))
        .collect();
    inv.vcns.retain(|v| {
        let kept = names
            .iter()
            .any(|n| id_of(v) == *n || gs(v, "display-name") == Some(n.as_str()));
        if !kept && let Some(a) = g(v, "security-attributes") {
            attributes.push(a.clone());
        }
        kept
    });
    let vcn_ids: BTreeSet<String> = inv.vcns.iter().map(id_of).collect();
    let in_vcn = |o: &Obj| gs(o, "vcn-id").is_some_and(|v| vcn_ids.contains(v));
    // A subnet whose `vcn-id` names no VCN (a cut export) is placed by
    // what the export says of its VCN ([`vcn_guess::guess`], among every
    // VCN of the export, those left out included): kept when that is a
    // VCN kept, left out when it is one left out, kept when nothing says
    // (the import places its VNICs by their addresses, since the
    // twenty-first session). When the blocks of VCNs kept and left out
    // both hold it (they overlap) and nothing else tells them apart, the
    // import is refused, naming it and its VNICs: kept in a kept VCN, its
    // VNICs' NSGs would hold for addresses that may be no VNIC's there;
    // left out, their addresses would be unassigned ones, on whose side
    // no security layer runs (since the twenty-second session: such a
    // subnet with blocks was left out with its VNICs).
    let mut refused = Vec::new();
    let mut keep_subnet: BTreeSet<String> = BTreeSet::new();
    for o in &inv.subnets {
        let id = id_of(o);
        if in_vcn(o) {
            keep_subnet.insert(id);
            continue;
        }
        let Some(guess) = guesses.remove(&id) else {
            continue;
        };
        match guess {
            vcn_guess::Guess::One(v, _) => {
                if vcn_ids.contains(&v) {
                    keep_subnet.insert(id);
                }
            }
            vcn_guess::Guess::Unknown(_) => {
                keep_subnet.insert(id);
            }
            vcn_guess::Guess::Several(vs) => {
                if !vs.iter().any(|v| vcn_ids.contains(v)) {
                    continue;
                }
                let vnics: Vec<String> = inv
                    .vnics
                    .iter()
                    .filter(|v| gs(v, "subnet-id") == Some(id.as_str()))
                    .map(|v| {
                        format!(
                            "`{}`",
                            gs(v, "display-name").map_or_else(|| id_of(v), str::to_owned)
                        )
                    })
                    .chain(
                        inv.private_ips
                            .iter()
                            .filter(|p| gs(p, "subnet-id") == Some(id.as_str()))
                            .filter(|p| {
                                !inv.vnics
                                    .iter()
                                    .any(|v| gs(p, "vnic-id") == Some(id_of(v).as_str()))
                            })
                            .filter_map(|p| gs(p, "vnic-id").map(|v| format!("`{v}`"))),
                    )
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                if vnics.is_empty() {
                    continue;
                }
                let names: Vec<String> = inv
                    .vcns
                    .iter()
                    .filter(|v| vs.contains(&id_of(v)))
                    .map(|v| {
                        format!(
                            "`{}`",
                            gs(v, "display-name").map_or_else(|| id_of(v), str::to_owned)
                        )
                    })
                    .collect();
                refused.push(format!(
                    "subnet `{}` (`{id}`): its `vcn-id` names no VCN, and its blocks lie in {} VCNs ({}), of which `--vcn` keeps some and leaves out others; nothing else the export holds tells which is its own, so its VNIC(s) {} can be neither kept (their NSGs would hold for addresses that may be no VNIC's there) nor left out (their addresses would be unassigned ones, on whose side no security layer runs): export the subnet again (`oci network subnet get --subnet-id {id}`)",
                    gs(o, "display-name").unwrap_or_default(),
                    vs.len(),
                    names.join(", "),
                    vnics.join(", ")
                ));
            }
        }
    }
    if !refused.is_empty() {
        return Err(ImportError {
            file: "--vcn".into(),
            line: None,
            column: None,
            message: refused.join("; "),
        });
    }
    inv.subnets.retain(|o| keep_subnet.contains(&id_of(o)));
    inv.nsgs.retain(in_vcn);
    inv.lists.retain(in_vcn);
    inv.tables.retain(in_vcn);
    inv.gateways.retain(|(_, o)| in_vcn(o));
    inv.drg_attachments.retain(|o| {
        g(o, "network-details")
            .and_then(Value::as_object)
            .and_then(|d| gs(d, "id"))
            .or_else(|| gs(o, "vcn-id"))
            .is_some_and(|v| vcn_ids.contains(v))
    });
    let subnet_ids: BTreeSet<String> = inv.subnets.iter().map(id_of).collect();
    let in_subnet = |o: &Obj| gs(o, "subnet-id").is_some_and(|s| subnet_ids.contains(s));
    inv.vnics.retain(|o| {
        let kept = in_subnet(o) || gs(o, "subnet-id").is_none_or(|s| !all_subnets.contains(s));
        if !kept && let Some(a) = g(o, "security-attributes") {
            attributes.push(a.clone());
        }
        kept
    });
    let vnic_ids: BTreeSet<String> = inv.vnics.iter().map(id_of).collect();
    inv.private_ips.retain(|p| match gs(p, "vnic-id") {
        // Of a VNIC the export lacks: kept in a kept subnet, and where its
        // subnet is missing too (the import places it by its addresses).
        Some(v) => {
            vnic_ids.contains(v)
                || (!all_vnics.contains(v)
                    && (in_subnet(p)
                        || gs(p, "subnet-id").is_none_or(|s| !all_subnets.contains(s))))
        }
        None => in_subnet(p),
    });
    // The rules of an NSG the whole export does not list are kept: a
    // VNIC of a kept VCN naming it gets them on its stand-in.
    let nsg_ids: BTreeSet<String> = inv.nsgs.iter().map(id_of).collect();
    inv.nsg_rules
        .retain(|(n, _)| nsg_ids.contains(n) || !all_nsgs.contains(n));
    inv.balancers.retain(|b| {
        let kept = gstrs(b, "subnet-ids")
            .iter()
            .map(String::as_str)
            .chain(gs(b, "subnet-id"))
            .any(|s| subnet_ids.contains(s));
        if !kept && let Some(a) = g(b, "security-attributes") {
            attributes.push(a.clone());
        }
        kept
    });
    inv.vcn_left_out = Some((names.to_vec(), attributes));
    let after = inv.objects();
    if before > after {
        warnings.push(format!(
            "--vcn: {} object(s) of the other VCNs left out",
            before - after
        ));
    }
    Ok(())
}

/// Names per kind, by OCID.
#[derive(Default)]
pub(super) struct Index {
    pub(super) vcn: HashMap<String, String>,
    pub(super) subnet: HashMap<String, String>,
    pub(super) nsg: HashMap<String, String>,
    pub(super) list: HashMap<String, String>,
    pub(super) table: HashMap<String, String>,
    pub(super) gateway: HashMap<String, String>,
    /// (DRG OCID, VCN OCID) to the attachment's gateway name.
    pub(super) drg: HashMap<(String, String), String>,
    pub(super) private_ip: HashMap<String, String>,
    pub(super) vcn_default_table: HashMap<String, String>,
}

pub(super) fn name_all(
    objs: &[Obj],
    kind: &str,
    key: &str,
    map: &mut HashMap<String, String>,
) -> Vec<String> {
    let mut names = Names::default();
    objs.iter()
        .map(|o| {
            let id = id_of(o);
            let n = names.take_for(gs(o, key).unwrap_or_default(), kind, &id);
            map.insert(id, n.clone());
            n
        })
        .collect()
}
