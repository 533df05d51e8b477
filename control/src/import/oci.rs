//! OCI CLI JSON to the native scenario.
//!
//! Every `*.json` file is read as CLI output: the `data` of the envelope,
//! a list, a collection (`items`) or one object. What each object is comes
//! from its OCID (`ocid1.vcn.`, `ocid1.subnet.`, ...): the content wins
//! over the file name. NSG rules carry no OCID of their NSG; it comes from
//! the file name `network-nsg-rules-list.<NSG OCID>.json`. Keys are read in
//! kebab-case (the CLI) or camelCase (REST); missing and extra keys are
//! tolerated. Every reference is resolved by OCID; what cannot be is a
//! warning naming the object and the OCID, and the reference is left out.

/// The first line of every scenario `import` writes: how `import` knows a
/// file it may overwrite (`zprsim import oci DIR -o FILE`).
pub const HEADER: &str = "# Imported from OCI CLI JSON by `zprsim import oci`.";

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use super::missing::{MissingSubnets, Placed};
use super::names::Names;
use super::stand_in_rules::{Container, StandInRules};
use super::{Files, ImportError, Imported};

type Obj = Map<String, Value>;

fn camel(kebab: &str) -> String {
    let mut out = String::with_capacity(kebab.len());
    let mut up = false;
    for c in kebab.chars() {
        if c == '-' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A field by its kebab-case name, or its camelCase form; null is absent.
fn g<'a>(o: &'a Obj, kebab: &str) -> Option<&'a Value> {
    o.get(kebab)
        .or_else(|| o.get(&camel(kebab)))
        .filter(|v| !v.is_null())
}

/// The text without a leading UTF-8 byte order mark, which Windows tools
/// (PowerShell's `Out-File -Encoding utf8`, Notepad) write and JSON does
/// not allow.
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// A string field; an empty (or blank) string is absent, as null is
/// (`"route-table-id": ""` names no table: read as a reference, it made a
/// stand-in with an empty id, which the scenario refuses).
fn gs<'a>(o: &'a Obj, kebab: &str) -> Option<&'a str> {
    g(o, kebab)
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
}

fn garr<'a>(o: &'a Obj, kebab: &str) -> Vec<&'a Value> {
    g(o, kebab)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn gstrs(o: &Obj, kebab: &str) -> Vec<String> {
    garr(o, kebab)
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn id_of(o: &Obj) -> String {
    gs(o, "id").unwrap_or_default().to_owned()
}

/// The resource type of an OCID: `vcn` in `ocid1.vcn.oc1...`.
fn ocid_type(id: &str) -> Option<&str> {
    let mut parts = id.split('.');
    (parts.next() == Some("ocid1"))
        .then(|| parts.next())
        .flatten()
}

/// The short tail of an OCID for fallback names.
/// The stand-in route table (no rule: only the VCN's local routes) kept
/// for table `t` of VCN `vcn`, which the export lacks: made once per
/// (table, VCN), marked `stand_in`, named apart from every table.
fn stand_in_table(
    made: &mut BTreeMap<(String, String), String>,
    names: &mut Names,
    out_tables: &mut Vec<Value>,
    t: &str,
    vcn: &str,
) -> String {
    made.entry((t.to_owned(), vcn.to_owned()))
        .or_insert_with(|| {
            let n = names.take("", &format!("missing-{}", tail(t)));
            out_tables.push(
                json!({ "name": n, "id": t, "vcn": vcn, "route_rules": [], "stand_in": true }),
            );
            n
        })
        .clone()
}

pub(super) fn tail(id: &str) -> String {
    let t: String = id
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .chars()
        .rev()
        .take(6)
        .collect();
    t.chars().rev().collect()
}

#[derive(Default)]
struct Inventory {
    vcns: Vec<Obj>,
    subnets: Vec<Obj>,
    vnics: Vec<Obj>,
    private_ips: Vec<Obj>,
    nsgs: Vec<Obj>,
    nsg_rules: Vec<(String, Obj)>,
    /// Each NSG rule taken, by (NSG, rule `id`), with the file it came
    /// from and its index in `nsg_rules`.
    nsg_rule_ids: HashMap<(String, String), (String, usize)>,
    lists: Vec<Obj>,
    tables: Vec<Obj>,
    gateways: Vec<(&'static str, Obj)>,
    drg_attachments: Vec<Obj>,
    /// Load balancers and network load balancers (`oci lb load-balancer
    /// list`, `oci nlb network-load-balancer list`): their NSGs and
    /// security attributes are set on them, not on their VNICs.
    balancers: Vec<Obj>,
    services: Vec<Obj>,
    policies: Vec<Obj>,
    /// Every OCID taken, with the file it came from and where the object
    /// is: its index in its kind's list, or (a kind kept in no list) the
    /// object itself. One copy of each object: a clone of every object
    /// here doubled the import's memory.
    seen: BTreeMap<String, (String, Kept)>,
}

impl Inventory {
    /// Objects of every kind held (what `--vcn` counts as left out).
    fn objects(&self) -> usize {
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
enum Kept {
    /// At this index of its kind's list.
    At(usize),
    /// Here (a kind no list keeps).
    Here(Obj),
}

/// The list an object of OCID type `ty` is kept in.
enum ListMut<'a> {
    Objs(&'a mut Vec<Obj>),
    /// Gateways of every kind in one list, each with its kind.
    Gateways(&'static str, &'a mut Vec<(&'static str, Obj)>),
}

impl<'a> ListMut<'a> {
    /// Keeps `o`; returns its index.
    fn push(self, o: Obj) -> usize {
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

    fn get_mut(self, i: usize) -> Option<&'a mut Obj> {
        match self {
            ListMut::Objs(v) => v.get_mut(i),
            ListMut::Gateways(_, v) => v.get_mut(i).map(|(_, o)| o),
        }
    }
}

/// The first key whose value differs between two copies of one object
/// (keys only one of them has are not compared: `vnic get` and
/// `list-vnics` may carry different field sets).
fn first_difference<'a>(a: &'a Obj, b: &Obj) -> Option<&'a str> {
    a.iter()
        .find(|(k, v)| b.get(*k).is_some_and(|w| w != *v))
        .map(|(k, _)| k.as_str())
}

impl Inventory {
    /// The list objects of OCID type `ty` are kept in (`None`: attachments,
    /// DRGs, instances...: not needed).
    fn list_mut(&mut self, ty: &str) -> Option<ListMut<'_>> {
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
            "loadbalancer" | "networkloadbalancer" => objs(&mut self.balancers),
            "service" => objs(&mut self.services),
            "zprpolicy" => objs(&mut self.policies),
            _ => None,
        }
    }

    fn add(&mut self, file: &str, o: Obj, warnings: &mut Vec<String>) {
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
const GONE: [&str; 6] = [
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
fn next_page(v: &Value) -> Option<&str> {
    ["opc-next-page", "opcNextPage"]
        .iter()
        .find_map(|k| v.get(*k)?.as_str())
        .filter(|p| !p.is_empty())
}

fn items(v: Value) -> Vec<Value> {
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
fn keep_vcns(
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
    // Subnets and VNICs of the whole export: a VNIC whose subnet is none
    // of them, and a private IP whose VNIC is none of them, are kept for
    // the import to place by their addresses (stand-ins, `missing.rs`),
    // as without `--vcn`.
    let all_subnets: BTreeSet<String> = inv.subnets.iter().map(id_of).collect();
    let all_vnics: BTreeSet<String> = inv.vnics.iter().map(id_of).collect();
    inv.vcns.retain(|v| {
        names
            .iter()
            .any(|n| id_of(v) == *n || gs(v, "display-name") == Some(n.as_str()))
    });
    let vcn_ids: BTreeSet<String> = inv.vcns.iter().map(id_of).collect();
    let in_vcn = |o: &Obj| gs(o, "vcn-id").is_some_and(|v| vcn_ids.contains(v));
    inv.subnets.retain(in_vcn);
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
    inv.vnics
        .retain(|o| in_subnet(o) || gs(o, "subnet-id").is_none_or(|s| !all_subnets.contains(s)));
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
    let nsg_ids: BTreeSet<String> = inv.nsgs.iter().map(id_of).collect();
    inv.nsg_rules.retain(|(n, _)| nsg_ids.contains(n));
    inv.balancers.retain(|b| {
        gstrs(b, "subnet-ids")
            .iter()
            .map(String::as_str)
            .chain(gs(b, "subnet-id"))
            .any(|s| subnet_ids.contains(s))
    });
    let after = inv.objects();
    if before > after {
        warnings.push(format!(
            "--vcn: {} object(s) of the other VCNs left out",
            before - after
        ));
    }
    Ok(())
}

/// Most addresses of a delegated prefix imported one by one (a /24).
const MAX_PREFIX_ADDRESSES: u32 = 256;

/// The addresses a private IP object stands for: its `ip-address`, or,
/// with a `cidr-prefix-length` (a prefix delegated to the VNIC, as OKE
/// gives pods), every address of the prefix. Without them the pods'
/// addresses were no VNIC's, so their egress rules and ZPR's egress check
/// were skipped. An error says why a prefix cannot be listed (IPv6, or
/// wider than [`MAX_PREFIX_ADDRESSES`]).
fn prefix_addresses(address: &str, len: Option<u64>) -> Result<Vec<String>, String> {
    let Some(len) = len else {
        return Ok(vec![address.to_owned()]);
    };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) if len == 32 => Ok(vec![a.to_string()]),
        Ok(std::net::IpAddr::V6(a)) if len == 128 => Ok(vec![a.to_string()]),
        Ok(std::net::IpAddr::V4(a)) => {
            let net = u8::try_from(len)
                .ok()
                .and_then(|l| ipnet::Ipv4Net::new(a, l).ok())
                .ok_or_else(|| {
                    format!("`cidr-prefix-length` {len} is not an IPv4 prefix length")
                })?;
            if 32 - u32::from(net.prefix_len()) > MAX_PREFIX_ADDRESSES.trailing_zeros() {
                return Err(format!(
                    "a prefix of /{len} holds more than {MAX_PREFIX_ADDRESSES} addresses"
                ));
            }
            Ok(ipnet::Ipv4AddrRange::new(net.network(), net.broadcast())
                .map(|x| x.to_string())
                .collect())
        }
        Ok(std::net::IpAddr::V6(_)) => Err(format!(
            "an IPv6 prefix (/{len}) is not listed address by address"
        )),
        Err(_) => Ok(vec![address.to_owned()]),
    }
}

/// Names per kind, by OCID.
#[derive(Default)]
struct Index {
    vcn: HashMap<String, String>,
    subnet: HashMap<String, String>,
    nsg: HashMap<String, String>,
    list: HashMap<String, String>,
    table: HashMap<String, String>,
    gateway: HashMap<String, String>,
    /// (DRG OCID, VCN OCID) to the attachment's gateway name.
    drg: HashMap<(String, String), String>,
    private_ip: HashMap<String, String>,
    vcn_default_table: HashMap<String, String>,
}

fn name_all(objs: &[Obj], kind: &str, key: &str, map: &mut HashMap<String, String>) -> Vec<String> {
    let mut names = Names::default();
    objs.iter()
        .map(|o| {
            let id = id_of(o);
            let n = names.take(
                gs(o, key).unwrap_or_default(),
                &format!("{kind}-{}", tail(&id)),
            );
            map.insert(id, n.clone());
            n
        })
        .collect()
}

/// A port range: `Ok(None)` when absent or null (every port, as OCI
/// means it); an error naming the field when present but without a whole
/// `min` and `max` (leaving it out would widen the rule to every port).
fn port_range(o: &Obj, kebab: &str) -> Result<Option<Value>, String> {
    let Some(r) = g(o, kebab) else {
        return Ok(None);
    };
    let bound = |k: &str| g(r.as_object()?, k).filter(|v| v.is_u64()).cloned();
    match (bound("min"), bound("max")) {
        (Some(min), Some(max)) => Ok(Some(json!({ "min": min, "max": max }))),
        _ => Err(format!("`{kebab}` without a whole `min` and `max`")),
    }
}

/// Converts TCP/UDP/ICMP options; an error names a field that cannot be
/// converted without widening the rule.
fn options(rule: &Obj, out: &mut Obj) -> Result<(), String> {
    for (kebab, native) in [
        ("tcp-options", "tcp_options"),
        ("udp-options", "udp_options"),
    ] {
        if let Some(v) = g(rule, kebab) {
            let o = v
                .as_object()
                .ok_or_else(|| format!("`{kebab}` is not an object"))?;
            let mut m = Obj::new();
            if let Some(r) = port_range(o, "destination-port-range")? {
                m.insert("destination_port_range".into(), r);
            }
            if let Some(r) = port_range(o, "source-port-range")? {
                m.insert("source_port_range".into(), r);
            }
            out.insert(native.into(), Value::Object(m));
        }
    }
    if let Some(v) = g(rule, "icmp-options") {
        let o = v
            .as_object()
            .ok_or_else(|| "`icmp-options` is not an object".to_owned())?;
        let mut m = Obj::new();
        // OCI requires the type when the options are given; without it the
        // rule would match every ICMP type.
        let t = g(o, "type").ok_or_else(|| "`icmp-options` without a `type`".to_owned())?;
        m.insert("type".into(), t.clone());
        if let Some(c) = g(o, "code") {
            m.insert("code".into(), c.clone());
        }
        out.insert("icmp_options".into(), Value::Object(m));
    }
    Ok(())
}

struct Cx<'a> {
    ix: &'a Index,
    warnings: &'a mut Vec<String>,
    labels: &'a mut BTreeSet<String>,
    /// Stand-in NSGs for those the export lacks.
    nsg_stand_ins: &'a mut StandInRules,
    /// Why the import cannot go on: an object that can be neither held
    /// nor left out without allowing more than the network does.
    refused: Vec<String>,
}

impl Cx<'_> {
    /// The scenario names of the NSGs `ids` of the object `what`; one the
    /// export lacks is left out with a warning (an NSG only allows, so
    /// leaving one out only denies more).
    /// The names of NSGs `ids` of a VNIC of VCN `vcn` (`what`): one the
    /// export lacks is a stand-in with no rule ([`StandInRules`]).
    fn nsg_names(&mut self, ids: Vec<String>, what: &str, vcn: &str) -> Vec<String> {
        let mut nsgs = Vec::new();
        for n in ids {
            match self.ix.nsg.get(&n) {
                Some(x) => nsgs.push(x.clone()),
                None => {
                    let name = self.nsg_stand_ins.take(&n, vcn);
                    self.warnings.push(format!(
                        "{what}: its NSG `{n}` is not in the export; kept as `{name}`, a stand-in NSG with no rule (export it for what its rules allow)"
                    ));
                    nsgs.push(name);
                }
            }
        }
        nsgs
    }

    /// A security rule; `owner` names the NSG or list for warnings.
    ///
    /// Rules allow: a field the export lacks is never filled with a value
    /// that allows more (a missing `protocol` is not `all`, a missing peer
    /// not `0.0.0.0/0`, a port range without `max` not every port). Such a
    /// rule is left out with a warning, so the scenario allows at most what
    /// the network does.
    ///
    /// Except a rule that is (or may be) stateless: left out, a flow it
    /// matched beside a stateful rule would be tracked and its replies let
    /// in ("stateless wins"), so it is refused ([`Cx::refused`]) and the
    /// import fails, naming it.
    /// `index`: the rule's place in its list (named where the rule has no
    /// `id`, as security lists' rules have none).
    fn rule(
        &mut self,
        r: &Obj,
        index: usize,
        direction: Option<&str>,
        owner: &str,
    ) -> Option<Value> {
        // `is-stateless` absent or null is OCI's default, stateful; a value
        // that is not a boolean may be stateless.
        let stateful = matches!(
            g(r, "is-stateless").map(Value::as_bool),
            None | Some(Some(false))
        );
        let which = gs(r, "id").map_or_else(
            || {
                let list = direction.map_or(String::new(), |d| {
                    format!(" of its {} rules", d.to_ascii_lowercase())
                });
                format!(" #{index}{list}")
            },
            |id| format!(" `{id}`"),
        );
        let leave_out = |why: &str| {
            if stateful {
                format!("{owner}: rule{which}: {why}; the rule is left out")
            } else {
                format!(
                    "{owner}: stateless rule{which}: {why}; a stateless rule is not left out (without it, a flow it matched could be tracked and its replies let in), so the import fails"
                )
            }
        };

        let mut out = Obj::new();
        let dir = direction
            .map(str::to_owned)
            .or_else(|| gs(r, "direction").map(str::to_uppercase));
        let Some(dir) = dir else {
            self.left_out(stateful, leave_out("no `direction`"));
            return None;
        };
        if dir != "INGRESS" && dir != "EGRESS" {
            // Quoted raw, as every warning here: the CLI escapes warnings
            // when it prints them (src/import.rs).
            self.left_out(
                stateful,
                leave_out(&format!("direction `{dir}` is not `INGRESS` or `EGRESS`")),
            );
            return None;
        }
        if direction.is_none() {
            out.insert("direction".into(), json!(dir));
        }
        let protocol = match g(r, "protocol") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                self.left_out(stateful, leave_out("no `protocol`"));
                return None;
            }
        };
        out.insert("protocol".into(), json!(protocol));
        let (peer_key, type_key) = if dir == "EGRESS" {
            ("destination", "destination-type")
        } else {
            ("source", "source-type")
        };
        let Some(peer) = gs(r, peer_key) else {
            self.left_out(stateful, leave_out(&format!("no `{peer_key}`")));
            return None;
        };
        // Upper case, as `direction`: the CLI writes `CIDR_BLOCK`, a
        // hand-written or converted export may not.
        let kind = gs(r, type_key).map_or_else(|| "CIDR_BLOCK".to_owned(), str::to_ascii_uppercase);
        let kind = kind.as_str();
        let native_type = type_key.replace('-', "_");
        match kind {
            "NETWORK_SECURITY_GROUP" => {
                let Some(n) = self.ix.nsg.get(peer) else {
                    self.left_out(
                        stateful,
                        leave_out(&format!("names NSG `{peer}`, which is not in the export")),
                    );
                    return None;
                };
                out.insert(peer_key.into(), json!(n));
                out.insert(native_type, json!(kind));
            }
            "SERVICE_CIDR_BLOCK" => {
                self.labels.insert(peer.to_owned());
                out.insert(peer_key.into(), json!(peer));
                out.insert(native_type, json!(kind));
            }
            _ => {
                out.insert(peer_key.into(), json!(peer));
            }
        }
        // A value that is not a boolean cannot be read as stateful (that
        // lets replies in) nor left out (`stateful` is false: refused).
        match g(r, "is-stateless").map(Value::as_bool) {
            None | Some(Some(false)) => {}
            Some(Some(true)) => {
                out.insert("is_stateless".into(), json!(true));
            }
            Some(None) => {
                self.left_out(
                    stateful,
                    leave_out("`is-stateless` is not `true` or `false`"),
                );
                return None;
            }
        }
        if let Err(why) = options(r, &mut out) {
            self.left_out(stateful, leave_out(&why));
            return None;
        }
        if let Err(why) = holdable(&out, peer_key, kind) {
            if out.contains_key("is_stateless") {
                // Left out, a stateless rule could widen the scenario: a
                // flow it matched beside a stateful rule would be tracked
                // and its replies let in ("stateless wins"). Kept, so the
                // load refuses it and the import fails.
                self.warnings.push(leave_out(&why));
            } else {
                self.left_out(stateful, leave_out(&why));
                return None;
            }
        }
        Some(Value::Object(out))
    }

    /// A rule that cannot be held: left out with the warning `m` when it
    /// is stateful; refused, failing the import, when it may be stateless.
    fn left_out(&mut self, stateful: bool, m: String) {
        if stateful {
            self.warnings.push(m);
        } else {
            self.refused.push(m);
        }
    }
}

/// Whether the scenario can hold a converted security rule as the loader
/// reads it: its protocol, its peer when a CIDR block, its port ranges
/// and ICMP type and code; else what it cannot hold.
fn holdable(out: &Obj, peer_key: &str, kind: &str) -> Result<(), String> {
    let protocol = out.get("protocol").and_then(Value::as_str).unwrap_or("");
    if crate::load::protocol_named(protocol).is_none() {
        return Err(format!(
            "protocol `{protocol}` is not `all`, `tcp`, `udp`, `icmp`, `icmpv6` or a number from 0 to 255"
        ));
    }
    if kind == "CIDR_BLOCK"
        && let Some(peer) = out.get(peer_key).and_then(Value::as_str)
    {
        crate::load::parse_cidr(peer).map(drop)?;
    }
    for options in ["tcp_options", "udp_options"] {
        for range in ["destination_port_range", "source_port_range"] {
            let Some(r) = out.get(options).and_then(|o| o.get(range)) else {
                continue;
            };
            let bound = |k: &str| r.get(k).and_then(Value::as_u64).unwrap_or(u64::MAX);
            let (min, max) = (bound("min"), bound("max"));
            if max > u64::from(u16::MAX) || min > max {
                return Err(format!(
                    "`{options}.{range}` {min}-{max} is not a port range (0-65535, min at most max)"
                ));
            }
        }
    }
    if let Some(icmp) = out.get("icmp_options") {
        for k in ["type", "code"] {
            if let Some(v) = icmp.get(k)
                && v.as_u64().is_none_or(|n| n > 255)
            {
                return Err(format!("ICMP {k} `{v}` is not a number from 0 to 255"));
            }
        }
    }
    Ok(())
}

/// The security attributes, as given: an empty object is none; any other
/// value is kept, so a value that is not an object reaches the loader,
/// which refuses it (dropping it would make an attributed VNIC one that
/// ZPR does not hold to its policy: a wider scenario).
fn attributes(o: &Obj) -> Option<Value> {
    g(o, "security-attributes")
        .filter(|v| v.as_object().is_none_or(|m| !m.is_empty()))
        .cloned()
}

/// Region keys of service labels (`all-iad-services-...`) to region names
/// of OCI's public IP ranges file: the commercial (OC1) regions.
pub const REGIONS: [(&str, &str); 42] = [
    ("iad", "us-ashburn-1"),
    ("phx", "us-phoenix-1"),
    ("sjc", "us-sanjose-1"),
    ("ord", "us-chicago-1"),
    ("yyz", "ca-toronto-1"),
    ("yul", "ca-montreal-1"),
    ("qro", "mx-queretaro-1"),
    ("mty", "mx-monterrey-1"),
    ("gru", "sa-saopaulo-1"),
    ("vcp", "sa-vinhedo-1"),
    ("scl", "sa-santiago-1"),
    ("vap", "sa-valparaiso-1"),
    ("bog", "sa-bogota-1"),
    ("fra", "eu-frankfurt-1"),
    ("ams", "eu-amsterdam-1"),
    ("lhr", "uk-london-1"),
    ("cwl", "uk-cardiff-1"),
    ("zrh", "eu-zurich-1"),
    ("cdg", "eu-paris-1"),
    ("mrs", "eu-marseille-1"),
    ("mad", "eu-madrid-1"),
    ("lin", "eu-milan-1"),
    ("nrq", "eu-turin-1"),
    ("arn", "eu-stockholm-1"),
    ("beg", "eu-jovanovac-1"),
    ("mtz", "il-jerusalem-1"),
    ("auh", "me-abudhabi-1"),
    ("dxb", "me-dubai-1"),
    ("jed", "me-jeddah-1"),
    ("ruh", "me-riyadh-1"),
    ("jnb", "af-johannesburg-1"),
    ("nrt", "ap-tokyo-1"),
    ("kix", "ap-osaka-1"),
    ("icn", "ap-seoul-1"),
    ("yny", "ap-chuncheon-1"),
    ("syd", "ap-sydney-1"),
    ("mel", "ap-melbourne-1"),
    ("bom", "ap-mumbai-1"),
    ("hyd", "ap-hyderabad-1"),
    ("sin", "ap-singapore-1"),
    ("xsp", "ap-singapore-2"),
    ("hsg", "ap-batam-1"),
];

/// The region key of a service label when [`REGIONS`] lacks it and the
/// ranges file holds several regions (one region is used for every label).
fn unknown_region(label: &str, regions: usize) -> Option<&str> {
    let key = label
        .strip_prefix("all-")
        .and_then(|r| r.strip_suffix("-services-in-oracle-services-network"))
        .or_else(|| {
            label
                .strip_prefix("oci-")
                .and_then(|r| r.strip_suffix("-objectstorage"))
        })?;
    (regions > 1 && !REGIONS.iter().any(|(k, _)| *k == key)).then_some(key)
}

/// Service label to its CIDRs.
type LabelCidrs = BTreeMap<String, Vec<String>>;

/// The CIDRs of each label from `--services`: OCI's public IP ranges file
/// (`{"regions": [{"region", "cidrs": [{"cidr", "tags"}]}]}`), or a plain
/// object of label to CIDR list.
fn service_cidrs(
    ranges: Option<&str>,
    labels: &BTreeSet<String>,
) -> Result<(LabelCidrs, Vec<String>), ImportError> {
    let mut out = BTreeMap::new();
    let mut warnings = Vec::new();
    let Some(text) = ranges else {
        for l in labels {
            warnings.push(format!(
                "service label `{l}` has no CIDRs: give OCI's public IP ranges file with `--services`"
            ));
            out.insert(l.clone(), Vec::new());
        }
        return Ok((out, warnings));
    };
    let v: Value = serde_json::from_str(without_bom(text)).map_err(|e| ImportError {
        file: "--services".into(),
        line: Some(e.line()),
        column: Some(e.column()),
        message: format!("not JSON: {e}"),
    })?;
    let regions = v.get("regions").and_then(Value::as_array);
    for l in labels {
        let cidrs: Vec<String> = if let Some(regions) = regions {
            let key = l
                .strip_prefix("all-")
                .and_then(|r| r.strip_suffix("-services-in-oracle-services-network"))
                .map(|k| (k, "OSN"))
                .or_else(|| {
                    l.strip_prefix("oci-")
                        .and_then(|r| r.strip_suffix("-objectstorage"))
                        .map(|k| (k, "OBJECT_STORAGE"))
                });
            let region = key.and_then(|(k, _)| {
                REGIONS
                    .iter()
                    .find(|(rk, _)| *rk == k)
                    .map(|(_, name)| *name)
            });
            let pick = |r: &&Value| {
                regions.len() == 1 || r.get("region").and_then(Value::as_str) == region
            };
            regions
                .iter()
                .filter(pick)
                .flat_map(|r| {
                    r.get("cidrs")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                })
                .filter(|c| {
                    key.is_some_and(|(_, tag)| {
                        c.get("tags")
                            .and_then(Value::as_array)
                            .is_some_and(|t| t.iter().any(|x| x.as_str() == Some(tag)))
                    })
                })
                .filter_map(|c| c.get("cidr").and_then(Value::as_str).map(str::to_owned))
                .collect()
        } else {
            v.get(l)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        if cidrs.is_empty() {
            warnings.push(match unknown_region(l, regions.map_or(0, Vec::len)) {
                Some(k) => format!(
                    "service label `{l}` has no CIDRs: its region key `{k}` is not one zprsim knows; give `--services` the ranges of that region alone, or an object of label to CIDRs"
                ),
                None => format!("service label `{l}` has no CIDRs in the `--services` file"),
            });
        }
        out.insert(l.clone(), cidrs);
    }
    Ok((out, warnings))
}

/// Imports OCI CLI JSON `files` (name to text) into a native scenario;
/// `services` is the text of the `--services` ranges file.
///
/// # Errors
/// A file that is not JSON, or a `--services` file that is not.
pub fn import(files: &Files, services: Option<&str>) -> Result<Imported, ImportError> {
    import_vcns(files, services, &[])
}

/// [`import`] of only the VCNs named in `vcns` (display name or OCID;
/// all when empty) and what is in them. A scenario holds VCNs of distinct
/// addresses, so a tenancy whose compartments reuse `10.0.0.0/16` is
/// imported one VCN (or one group of distinct VCNs) at a time.
///
/// # Errors
/// As [`import`]; a name in `vcns` that is no VCN of the export.
pub fn import_vcns(
    files: &Files,
    services: Option<&str>,
    vcns: &[String],
) -> Result<Imported, ImportError> {
    let mut i = Importer::default();
    for (name, text) in files {
        i.file(name, text)?;
    }
    i.finish(services, vcns)
}

/// [`import_vcns`] fed one file at a time, in name order (as [`Files`]
/// holds them): each file's objects are taken as it is given
/// ([`Importer::file`]), so a caller reading the files holds one text at
/// a time, not the whole export's (`zprsim import` read every file before
/// parsing any).
#[derive(Default)]
pub struct Importer {
    inv: Inventory,
    warnings: Vec<String>,
}

impl Importer {
    /// Takes the objects of file `name` (its path under the export, as a
    /// key of [`Files`]), `text`.
    ///
    /// # Errors
    /// A file that is not JSON.
    pub fn file(&mut self, name: &str, text: &str) -> Result<(), ImportError> {
        let (inv, warnings) = (&mut self.inv, &mut self.warnings);
        // The CLI prints nothing for an empty list.
        if text.trim().is_empty() {
            return Ok(());
        }
        // One CLI output, or several one after the other: a script's
        // `>>` per subnet, or the pages of `--page` in order. A page
        // token on the last of them means pages are missing; one followed
        // by the next page is not.
        let mut last_page = None;
        for v in serde_json::Deserializer::from_str(without_bom(text)).into_iter::<Value>() {
            let v = v.map_err(|e| ImportError {
                file: name.to_owned(),
                line: Some(e.line()),
                column: Some(e.column()),
                message: format!("not JSON: {e}"),
            })?;
            last_page = next_page(&v).map(str::to_owned);
            for item in items(v) {
                if let Value::Object(o) = item {
                    inv.add(name, o, warnings);
                }
            }
        }
        if let Some(page) = last_page {
            warnings.push(format!(
                "`{name}`: one page of a longer list (`opc-next-page` is `{page}`): the objects of the other pages are missing; export with `--all`"
            ));
        }
        Ok(())
    }

    /// The scenario of the files given, with `services` (the text of the
    /// `--services` ranges file) and only the VCNs `vcns` (all when
    /// empty), as [`import_vcns`].
    ///
    /// # Errors
    /// As [`import_vcns`].
    pub fn finish(self, services: Option<&str>, vcns: &[String]) -> Result<Imported, ImportError> {
        finish(self.inv, self.warnings, services, vcns)
    }
}

/// The rest of [`import_vcns`], once every file's objects are taken.
fn finish(
    mut inv: Inventory,
    mut warnings: Vec<String>,
    services: Option<&str>,
    vcns: &[String],
) -> Result<Imported, ImportError> {
    if !vcns.is_empty() {
        keep_vcns(&mut inv, vcns, &mut warnings)?;
    }
    let mut ix = Index::default();
    let vcn_names = name_all(&inv.vcns, "vcn", "display-name", &mut ix.vcn);
    let subnet_names = name_all(&inv.subnets, "subnet", "display-name", &mut ix.subnet);
    let nsg_names = name_all(&inv.nsgs, "nsg", "display-name", &mut ix.nsg);
    let list_names = name_all(&inv.lists, "security-list", "display-name", &mut ix.list);
    let table_names = name_all(&inv.tables, "route-table", "display-name", &mut ix.table);
    for v in &inv.vcns {
        if let Some(t) = gs(v, "default-route-table-id") {
            ix.vcn_default_table.insert(id_of(v), t.to_owned());
        }
    }
    for p in &inv.private_ips {
        if let Some(a) = gs(p, "ip-address") {
            ix.private_ip.insert(id_of(p), a.to_owned());
        }
    }
    // Gateways (one name space for all kinds, DRG attachments included).
    let mut gw_names = Names::default();
    let mut gateways = Vec::new();
    for (kind, o) in &inv.gateways {
        let id = id_of(o);
        let n = gw_names.take(
            gs(o, "display-name").unwrap_or_default(),
            &format!("{kind}-{}", tail(&id)),
        );
        ix.gateway.insert(id.clone(), n.clone());
        // OCI's switch that makes a gateway drop everything: a disabled
        // internet gateway, a NAT or service gateway blocking traffic.
        // Left out, the gateway would forward what the network drops; one
        // that is not a boolean is read as blocking (never widened).
        let switch = match *kind {
            "internet" => Some(("is-enabled", "is_enabled", false)),
            "nat" | "service" => Some(("block-traffic", "block_traffic", true)),
            _ => None,
        };
        let mut blocked: Option<(&str, Value)> = None;
        // A local peering gateway carries nothing until it is peered.
        if *kind == "lpg" {
            match g(o, "peering-status") {
                None => {}
                Some(Value::String(st)) if st.eq_ignore_ascii_case("PEERED") => {}
                Some(Value::String(st))
                    if ["NEW", "PENDING", "REVOKED", "INVALID"]
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(st)) =>
                {
                    blocked = Some(("peering_status", json!(st.to_ascii_uppercase())));
                }
                Some(other) => {
                    warnings.push(format!(
                        "gateway `{n}` (`{id}`): `peering-status` {other} is not one OCI gives; imported as not peered"
                    ));
                    blocked = Some(("peering_status", json!("INVALID")));
                }
            }
        }
        if let Some((key, field, when_blocked)) = switch {
            match g(o, key) {
                Some(Value::Bool(b)) if *b == when_blocked => {
                    blocked = Some((field, json!(when_blocked)));
                }
                None | Some(Value::Bool(_)) => {}
                Some(_) => {
                    warnings.push(format!(
                        "gateway `{n}` (`{id}`): `{key}` is not a boolean; imported as dropping every packet"
                    ));
                    blocked = Some((field, json!(when_blocked)));
                }
            }
        }
        gateways.push((
            n,
            *kind,
            id,
            gs(o, "vcn-id").unwrap_or_default().to_owned(),
            blocked,
        ));
    }
    for o in &inv.drg_attachments {
        let id = id_of(o);
        let vcn = g(o, "network-details")
            .and_then(Value::as_object)
            .filter(|d| gs(d, "type").is_none_or(|t| t == "VCN"))
            .and_then(|d| gs(d, "id"))
            .or_else(|| gs(o, "vcn-id"))
            .unwrap_or_default()
            .to_owned();
        if vcn.is_empty() {
            continue;
        }
        let n = gw_names.take(
            gs(o, "display-name").unwrap_or_default(),
            &format!("drg-{}", tail(&id)),
        );
        ix.gateway.insert(id.clone(), n.clone());
        if let Some(drg) = gs(o, "drg-id") {
            ix.drg.insert((drg.to_owned(), vcn.clone()), n.clone());
        }
        gateways.push((n, "drg", id, vcn, None));
    }
    let mut labels = BTreeSet::new();
    for s in &inv.services {
        if let Some(l) = gs(s, "cidr-block") {
            labels.insert(l.to_owned());
        }
    }
    // An object left out below because its VCN is not in the export is no
    // object to refer to: a reference to it reads as one to an object the
    // export lacks (a warning, a stand-in), not as a name the scenario
    // does not hold, which made the import refuse its own output.
    let outside = |o: &Obj| !ix.vcn.contains_key(gs(o, "vcn-id").unwrap_or_default());
    let gone: Vec<Vec<String>> = [&inv.nsgs, &inv.lists, &inv.tables]
        .iter()
        .map(|objs| objs.iter().filter(|o| outside(o)).map(id_of).collect())
        .collect();
    for (ids, map) in gone.iter().zip([&mut ix.nsg, &mut ix.list, &mut ix.table]) {
        for id in ids {
            map.remove(id);
        }
    }
    for (_, _, id, vcn, _) in &gateways {
        if !ix.vcn.contains_key(vcn) {
            ix.gateway.remove(id);
        }
    }
    ix.drg.retain(|(_, vcn), _| ix.vcn.contains_key(vcn));
    let mut doc = Obj::new();
    let vcn_ref = |o: &Obj, what: &str, warnings: &mut Vec<String>| -> Option<String> {
        let id = gs(o, "vcn-id").unwrap_or_default();
        let n = ix.vcn.get(id).cloned();
        if n.is_none() {
            warnings.push(format!(
                "{what}: its VCN `{id}` is not in the export; left out"
            ));
        }
        n
    };
    // VCNs.
    let mut out_vcns = Vec::new();
    // Each VCN's name and blocks (for the stand-in subnets of VNICs whose
    // subnet the export lacks).
    let mut vcn_nets: Vec<(String, Vec<ipnet::IpNet>)> = Vec::new();
    for (o, name) in inv.vcns.iter().zip(&vcn_names) {
        let mut cidrs = gstrs(o, "cidr-blocks");
        if cidrs.is_empty() {
            cidrs.extend(gs(o, "cidr-block").map(str::to_owned));
        }
        // A VCN's IPv6 prefixes: Oracle-allocated and brought (BYOIPv6),
        // which the internet routes, and private ones (ULA or other),
        // which it does not; its subnets' /64s lie in any of them.
        for k in ["ipv6-cidr-blocks", "byoipv6-cidr-blocks"] {
            for c in gstrs(o, k) {
                if !cidrs.contains(&c) {
                    cidrs.push(c);
                }
            }
        }
        // A prefix listed as private is private, wherever else it is
        // listed (never widened to the internet); an IPv4 prefix there is
        // kept as a block of the VCN.
        let same = |a: &str, b: &str| {
            a == b
                || matches!((a.parse::<ipnet::IpNet>(), b.parse::<ipnet::IpNet>()), (Ok(x), Ok(y)) if x.trunc() == y.trunc())
        };
        let mut private_v6: Vec<String> = Vec::new();
        for c in gstrs(o, "ipv6-private-cidr-blocks") {
            if private_v6.iter().any(|p| same(p, &c)) {
                continue;
            }
            if matches!(c.parse::<ipnet::IpNet>(), Ok(ipnet::IpNet::V4(_))) {
                warnings.push(format!(
                    "VCN `{name}` (`{}`): `ipv6-private-cidr-blocks` lists the IPv4 prefix `{c}`; kept as one of its blocks",
                    id_of(o)
                ));
                if !cidrs.iter().any(|x| same(x, &c)) {
                    cidrs.push(c);
                }
                continue;
            }
            if let Some(at) = cidrs.iter().position(|x| same(x, &c)) {
                warnings.push(format!(
                    "VCN `{name}` (`{}`): `{c}` is listed both as private (`ipv6-private-cidr-blocks`) and as global (as `{}`); kept as private (the internet does not route it)",
                    id_of(o),
                    cidrs[at]
                ));
                cidrs.remove(at);
            }
            private_v6.push(c);
        }
        vcn_nets.push((
            name.clone(),
            cidrs
                .iter()
                .chain(&private_v6)
                .filter_map(|c| c.parse().ok())
                .collect(),
        ));
        let mut m = Obj::new();
        m.insert("name".into(), json!(name));
        m.insert("id".into(), json!(id_of(o)));
        m.insert("cidr_blocks".into(), json!(cidrs));
        if !private_v6.is_empty() {
            m.insert("ipv6_private_cidr_blocks".into(), json!(private_v6));
        }
        if let Some(a) = attributes(o) {
            m.insert("security_attributes".into(), a);
        }
        if g(o, "is-zpr-only").and_then(Value::as_bool) == Some(true) {
            m.insert("is_zpr_only".into(), json!(true));
        }
        out_vcns.push(Value::Object(m));
    }
    // Gateways.
    let mut out_gws = Vec::new();
    for (name, kind, id, vcn, blocked) in &gateways {
        let Some(v) = ix.vcn.get(vcn) else {
            warnings.push(format!(
                "gateway `{name}` (`{id}`): its VCN `{vcn}` is not in the export; left out"
            ));
            continue;
        };
        let mut gw = json!({ "name": name, "id": id, "vcn": v, "kind": kind });
        if let (Some((field, value)), Some(m)) = (blocked, gw.as_object_mut()) {
            m.insert((*field).into(), json!(value));
        }
        out_gws.push(gw);
    }
    let mut nsg_stand_ins = StandInRules::new(Container::Nsg, &nsg_names);
    let mut cx = Cx {
        ix: &ix,
        warnings: &mut warnings,
        labels: &mut labels,
        nsg_stand_ins: &mut nsg_stand_ins,
        refused: Vec::new(),
    };
    // Route tables.
    let mut out_tables = Vec::new();
    // The stand-in gateway of each (missing target, VCN, service or not).
    let mut stand_ins: BTreeMap<(String, String, bool), String> = BTreeMap::new();
    for (o, name) in inv.tables.iter().zip(&table_names) {
        let what = format!("route table `{name}` (`{}`)", id_of(o));
        let Some(vcn) = vcn_ref(o, &what, cx.warnings) else {
            continue;
        };
        let vcn_id = gs(o, "vcn-id").unwrap_or_default().to_owned();
        let mut rules = Vec::new();
        // A rule whose destination is not a CIDR block is kept, and the
        // load refuses it: a route rule left out (or its table) could let
        // more in, not only less (its traffic could take a wider rule;
        // and route rules are also the return paths that admit traffic
        // from outside the VCN, docs/semantics.md), so it stays fatal.
        // OCI always lists `route-rules` (empty for a table with none):
        // one absent, null or not a list is said, and the table imported
        // with no rule, which keeps the VCN's local routes only (it can
        // only deny more: no route out, no return path in).
        if !g(o, "route-rules").is_some_and(Value::is_array) {
            cx.warnings.push(format!(
                "{what}: `route-rules` is absent or not a list; imported with no rule (only the VCN's local routes)"
            ));
        }
        for (i, r) in garr(o, "route-rules").into_iter().enumerate() {
            let Some(r) = r.as_object() else { continue };
            // A rule OCI added itself (`route-type: LOCAL`, "added by
            // OCI", oci-semantics §6.1) routes the VCN's own CIDRs to the
            // VCN: the model routes within a VCN without a rule, so it is
            // left out, with no word (it targets the VCN, never a
            // gateway, and was reported as a target missing from the
            // export).
            if gs(r, "route-type") == Some("LOCAL") {
                continue;
            }
            // With no destination, what the rule took is unknown: left out,
            // its traffic could take a wider rule (and route rules are
            // return paths), so the import fails.
            let Some(dest) = gs(r, "destination").or_else(|| gs(r, "cidr-block")) else {
                cx.refused.push(format!(
                    "{what}: rule #{i} has no `destination`; a route rule is not left out (its traffic could take a wider rule, or its return path admit more), so the import fails"
                ));
                continue;
            };
            let target = gs(r, "network-entity-id").unwrap_or_default();
            let entity = ix
                .gateway
                .get(target)
                .cloned()
                .or_else(|| ix.drg.get(&(target.to_owned(), vcn_id.clone())).cloned())
                .or_else(|| ix.private_ip.get(target).cloned());
            // A target the export lacks: the rule is kept (left out, its
            // traffic could take a wider rule), sending to a stand-in
            // gateway that drops every packet, so it admits at most what
            // the network does.
            let service = gs(r, "destination-type") == Some("SERVICE_CIDR_BLOCK");
            let entity = entity.unwrap_or_else(|| {
                let key = (target.to_owned(), vcn.clone(), service);
                let name = stand_ins.entry(key).or_insert_with(|| {
                    let n = gw_names.take("", &format!("missing-{}", tail(target)));
                    let (kind, field, value) = if service {
                        ("service", "block_traffic", json!(true))
                    } else {
                        ("internet", "is_enabled", json!(false))
                    };
                    let mut gw = json!({ "name": n, "vcn": vcn, "kind": kind });
                    if let Some(m) = gw.as_object_mut() {
                        m.insert(field.into(), value);
                    }
                    out_gws.push(gw);
                    n
                });
                cx.warnings.push(format!(
                    "{what}: rule #{i} targets `{target}`, which is not in the export; kept, sending to `{name}`, a stand-in gateway that drops every packet"
                ));
                name.clone()
            });
            let mut m = Obj::new();
            m.insert("destination".into(), json!(dest));
            if gs(r, "destination-type") == Some("SERVICE_CIDR_BLOCK") {
                m.insert("destination_type".into(), json!("SERVICE_CIDR_BLOCK"));
                cx.labels.insert(dest.to_owned());
            }
            m.insert("network_entity".into(), json!(entity));
            rules.push(Value::Object(m));
        }
        out_tables.push(json!({ "name": name, "id": id_of(o), "vcn": vcn, "route_rules": rules }));
    }
    // Security lists.
    let mut out_lists = Vec::new();
    for (o, name) in inv.lists.iter().zip(&list_names) {
        let what = format!("security list `{name}` (`{}`)", id_of(o));
        let Some(vcn) = vcn_ref(o, &what, cx.warnings) else {
            continue;
        };
        let mut m = Obj::new();
        m.insert("name".into(), json!(name));
        m.insert("id".into(), json!(id_of(o)));
        m.insert("vcn".into(), json!(vcn));
        for (kebab, native, dir) in [
            (
                "ingress-security-rules",
                "ingress_security_rules",
                "INGRESS",
            ),
            ("egress-security-rules", "egress_security_rules", "EGRESS"),
        ] {
            let rules: Vec<Value> = garr(o, kebab)
                .into_iter()
                .enumerate()
                .filter_map(|(i, r)| Some((i, r.as_object()?)))
                .filter_map(|(i, r)| cx.rule(r, i, Some(dir), &what))
                .collect();
            m.insert(native.into(), json!(rules));
        }
        out_lists.push(Value::Object(m));
    }
    // NSGs with their rules. Each NSG's rules, in file order, looked up
    // once (a filter over every rule per NSG was NSGs x rules).
    let mut rules_of: HashMap<&str, Vec<&Obj>> = HashMap::new();
    for (nsg, r) in &inv.nsg_rules {
        rules_of.entry(nsg.as_str()).or_default().push(r);
    }
    let mut out_nsgs = Vec::new();
    for (o, name) in inv.nsgs.iter().zip(&nsg_names) {
        let id = id_of(o);
        let what = format!("NSG `{name}` (`{id}`)");
        let Some(vcn) = vcn_ref(o, &what, cx.warnings) else {
            continue;
        };
        let rules: Vec<Value> = rules_of
            .get(id.as_str())
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, r)| cx.rule(r, i, None, &what))
            .collect();
        out_nsgs.push(json!({ "name": name, "id": id, "vcn": vcn, "rules": rules }));
    }
    for (nsg, _) in &inv.nsg_rules {
        if !ix.nsg.contains_key(nsg) {
            cx.warnings.push(format!(
                "rules of NSG `{nsg}` left out: the NSG is not in `network-nsg-list.json`"
            ));
        }
    }
    // Subnets.
    let mut out_subnets = Vec::new();
    // Each subnet's CIDR blocks, by OCID: a VNIC address outside them is
    // left out with a warning (the scenario would not load with it).
    let mut subnet_nets: HashMap<String, Vec<ipnet::IpNet>> = HashMap::new();
    // Stand-in route tables (no rule) for subnets and VNICs whose table
    // the export lacks, by (table OCID, VCN), named apart from every table.
    let mut empty_tables: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut table_names_used = Names::holding(&table_names);
    // Each subnet's VCN, by the subnet's name.
    let mut subnet_vcn: HashMap<String, String> = HashMap::new();
    // Subnets whose VNICs can have no public IP, by name.
    let mut private_subnets: BTreeSet<String> = BTreeSet::new();
    // Subnets the export gives no block, with their objects.
    let mut blockless: Vec<(String, Obj)> = Vec::new();
    let mut list_stand_ins = StandInRules::new(Container::SecurityList, &list_names);
    for (o, name) in inv.subnets.iter().zip(&subnet_names) {
        let what = format!("subnet `{name}` (`{}`)", id_of(o));
        let Some(vcn) = vcn_ref(o, &what, cx.warnings) else {
            continue;
        };
        subnet_vcn.insert(name.clone(), vcn.clone());
        let mut m = Obj::new();
        m.insert("name".into(), json!(name));
        m.insert("id".into(), json!(id_of(o)));
        m.insert("vcn".into(), json!(vcn));
        // OCI's `ipv4-cidr-blocks` lists every IPv4 block of a subnet,
        // the primary `cidr-block` among them.
        // A block that is no CIDR block is left out (the scenario would not
        // load with it): its addresses read as no subnet's.
        let mut blocks = |list: &str, one: &str| -> Vec<String> {
            let mut all = gs(o, one)
                .map(str::to_owned)
                .into_iter()
                .collect::<Vec<_>>();
            for c in gstrs(o, list) {
                if !all.contains(&c) {
                    all.push(c);
                }
            }
            all.retain(|c| {
                let ok = c.parse::<ipnet::IpNet>().is_ok();
                if !ok {
                    cx.warnings.push(format!(
                        "{what}: `{c}` is not a CIDR block; left out (its addresses read as no subnet's)"
                    ));
                }
                ok
            });
            all
        };
        let mut v4 = blocks("ipv4-cidr-blocks", "cidr-block");
        let mut v6 = blocks("ipv6-cidr-blocks", "ipv6-cidr-block");
        let nets: Vec<ipnet::IpNet> = v4
            .iter()
            .chain(&v6)
            .filter_map(|c| c.parse().ok())
            .collect();
        let first = if v4.is_empty() {
            v6.first().cloned()
        } else {
            Some(v4.remove(0))
        };
        v6.retain(|c| Some(c) != first.as_ref());
        if let Some(first) = &first {
            subnet_nets.insert(id_of(o), nets);
            m.insert("cidr_block".into(), json!(first));
            if !v4.is_empty() {
                m.insert("ipv4_cidr_blocks".into(), json!(v4));
            }
            if !v6.is_empty() {
                m.insert("ipv6_cidr_blocks".into(), json!(v6));
            }
        }
        let vcn_id = gs(o, "vcn-id").unwrap_or_default();
        let table = gs(o, "route-table-id")
            .map(str::to_owned)
            .or_else(|| ix.vcn_default_table.get(vcn_id).cloned());
        if let Some(t) = table {
            match ix.table.get(&t) {
                Some(n) => {
                    m.insert("route_table".into(), json!(n));
                }
                // Kept as a stand-in (marked, so `verify` and `explain`
                // name it and say what to export), not left out: a subnet
                // without a table reads as one the user forgot to give.
                None => {
                    let n = stand_in_table(
                        &mut empty_tables,
                        &mut table_names_used,
                        &mut out_tables,
                        &t,
                        &vcn,
                    );
                    cx.warnings.push(format!(
                        "{what}: its route table `{t}` is not in the export; kept as `{n}`, a stand-in route table with no rule (only the VCN's local routes)"
                    ));
                    m.insert("route_table".into(), json!(n));
                }
            }
        }
        let mut lists = Vec::new();
        for l in gstrs(o, "security-list-ids") {
            match ix.list.get(&l) {
                Some(n) => lists.push(n.clone()),
                None => {
                    let n = list_stand_ins.take(&l, &vcn);
                    cx.warnings.push(format!(
                        "{what}: its security list `{l}` is not in the export; kept as `{n}`, a stand-in security list with no rule (export it for what its rules allow)"
                    ));
                    lists.push(n);
                }
            }
        }
        m.insert("security_lists".into(), json!(lists));
        // A private subnet: its VNICs have no public IP, so an internet
        // gateway does not carry their traffic.
        // OCI's IPv6 counterpart, `prohibit-internet-ingress` (and the
        // flag `prohibit-public-ip-on-vnic` is set from): an internet
        // gateway carries none of its VNICs' IPv6 traffic either. A value
        // that is not a boolean is read as `true` (never widened).
        for (key, field) in [
            ("prohibit-public-ip-on-vnic", "prohibit_public_ip"),
            ("prohibit-internet-ingress", "prohibit_internet_ingress"),
        ] {
            let private = match g(o, key) {
                None | Some(Value::Bool(false)) => false,
                Some(Value::Bool(true)) => true,
                Some(_) => {
                    cx.warnings.push(format!(
                        "{what}: `{key}` is not a boolean; imported as true (a private subnet: an internet gateway does not carry its VNICs' traffic)"
                    ));
                    true
                }
            };
            if private {
                m.insert(field.into(), json!(true));
                private_subnets.insert(name.clone());
            }
        }
        if first.is_some() {
            out_subnets.push(Value::Object(m));
        } else {
            // No block at all (an IPv6-only subnet has an IPv6 one): its
            // VNICs are kept in it, each address a host block
            // (`MissingSubnets::adopt`), rather than refused as outside it.
            cx.warnings.push(format!(
                "{what}: the export gives it no CIDR block (`cidr-block`, `ipv4-cidr-blocks`, `ipv6-cidr-blocks`); its VNICs are kept in it with one host block per address (`stand_in = true`), its other addresses read as no subnet's, and it is left out if it has no VNIC: export the subnet again"
            ));
            blockless.push((id_of(o), m));
        }
    }
    // VNICs. Each VNIC's private IPs, in file order, looked up once: a scan
    // of every private IP per VNIC took 29 s on 3,020 VNICs with 40,000
    // private IPs (OKE pods hold up to 31 each), minutes on a larger
    // tenancy.
    let mut ips_of: HashMap<&str, Vec<String>> = HashMap::new();
    for p in &inv.private_ips {
        if let (Some(v), Some(a)) = (gs(p, "vnic-id"), gs(p, "ip-address")) {
            let len = g(p, "cidr-prefix-length").and_then(Value::as_u64);
            let addresses = prefix_addresses(a, len).unwrap_or_else(|why| {
                cx.warnings.push(format!(
                    "private IP `{a}` (`{}`) of VNIC `{v}`: {why}; only `{a}` is imported, and the prefix's other addresses are judged as no VNIC's",
                    id_of(p)
                ));
                vec![a.to_owned()]
            });
            ips_of.entry(v).or_default().extend(addresses);
        }
    }
    // Load balancers by OCID (a balancer's VNIC is named `VNIC for LB
    // <OCID>`) and by their private addresses.
    let mut balancer_by_id: HashMap<String, &Obj> = HashMap::new();
    let mut balancer_by_ip: HashMap<&str, &Obj> = HashMap::new();
    for b in &inv.balancers {
        balancer_by_id.insert(id_of(b), b);
        for a in garr(b, "ip-addresses")
            .into_iter()
            .filter_map(Value::as_object)
        {
            if g(a, "is-public").and_then(Value::as_bool) != Some(true)
                && let Some(ip) = gs(a, "ip-address")
            {
                balancer_by_ip.insert(ip, b);
            }
        }
    }
    let mut missing = MissingSubnets::new(
        &vcn_nets,
        inv.subnets.iter().zip(&subnet_names).filter_map(|(o, n)| {
            subnet_nets
                .get(&id_of(o))
                .map(|nets| (n.as_str(), nets.as_slice()))
        }),
        &subnet_names,
    );
    let adopted: BTreeSet<String> = blockless.iter().map(|(id, _)| id.clone()).collect();
    for (id, m) in blockless {
        missing.adopt(&id, m);
    }
    let mut lone_balancer_vnics = Vec::new();
    let mut vnic_names = Names::default();
    let mut out_vnics = Vec::new();
    let mut known_vnics = BTreeSet::new();
    for o in &inv.vnics {
        let id = id_of(o);
        known_vnics.insert(id.clone());
        let display = gs(o, "display-name").unwrap_or_default();
        let name = vnic_names.take(display, &format!("vnic-{}", tail(&id)));
        let what = format!("VNIC `{name}` (`{id}`)");
        let subnet_id = gs(o, "subnet-id").unwrap_or_default();
        let mut ips: Vec<String> = gs(o, "private-ip").map(str::to_owned).into_iter().collect();
        for a in ips_of.get(id.as_str()).into_iter().flatten() {
            if !ips.contains(a) {
                ips.push(a.clone());
            }
        }
        for a in gstrs(o, "ipv6-addresses") {
            if !ips.contains(&a) {
                ips.push(a);
            }
        }
        let ips = usable_addresses(
            ips,
            subnet_nets.get(subnet_id).map(Vec::as_slice),
            &vcn_nets,
            &what,
            &mut cx,
        );
        if ips.is_empty() {
            cx.warnings.push(format!("{what}: no private IP; left out"));
            continue;
        }
        // A VNIC that names no subnet (no `subnet-id`, a cut export) whose
        // addresses all lie in one exported subnet, and in no other: that
        // subnet is its own (a VNIC's addresses lie in its subnet).
        let subnet_id = if subnet_id.is_empty() {
            let holding: Vec<&String> = subnet_nets
                .iter()
                .filter(|(_, nets)| {
                    ips.iter().all(|a| {
                        a.parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| nets.iter().any(|n| n.contains(&ip)))
                    })
                })
                .map(|(id, _)| id)
                .collect();
            match holding.as_slice() {
                [only] => {
                    cx.warnings.push(format!(
                        "{what}: it names no subnet (no `subnet-id`); its addresses lie in subnet `{}` (`{only}`) of the export, kept there",
                        ix.subnet.get(*only).map_or("", String::as_str)
                    ));
                    only.as_str()
                }
                _ => subnet_id,
            }
        } else {
            subnet_id
        };
        let (subnet, vcn) = match ix.subnet.get(subnet_id) {
            Some(s) if subnet_nets.contains_key(subnet_id) => {
                (s.clone(), subnet_vcn.get(s).cloned().unwrap_or_default())
            }
            // A subnet left out with its VCN: the export says the VNIC is
            // of that VCN, not of an exported one. Its addresses are that
            // VCN's, external to the exported ones even where the blocks
            // overlap (every VCN on 10.0.0.0/16): placed in an exported
            // VCN it would stand for a VNIC that is not there (the review
            // of the fifteenth session).
            Some(s) if !adopted.contains(subnet_id) => {
                cx.warnings.push(format!(
                    "{what}: its subnet `{s}` (`{subnet_id}`) was left out (its VCN is not in the export); left out too (its addresses are that VCN's: where an exported VCN's blocks hold them too, they are judged as addresses of no VNIC there)"
                ));
                continue;
            }
            _ => {
                let parsed: Vec<std::net::IpAddr> =
                    ips.iter().filter_map(|a| a.parse().ok()).collect();
                match missing.place(subnet_id, &parsed) {
                    // Its exported subnet without blocks (said once, of
                    // the subnet).
                    Placed::Adopted(s, vcn) => (s, vcn),
                    Placed::StandIn(s, vcn) => {
                        cx.warnings.push(format!(
                            "{what}: its subnet `{subnet_id}` is not in the export; kept in `{s}`, a stand-in subnet with no security list and no route table, private unless one of its VNICs has a public IP (it denies at least what the network does: export the subnet for what its lists, routes and flags allow)"
                        ));
                        (s, vcn)
                    }
                    Placed::External => {
                        cx.warnings.push(format!(
                            "{what}: its subnet `{subnet_id}` is not in the export, nor is a VCN holding its addresses; left out (its addresses are judged as external ones)"
                        ));
                        continue;
                    }
                    Placed::Refused(why) => {
                        cx.refused.push(format!("{what}: {why}"));
                        continue;
                    }
                }
            }
        };
        let named_balancer =
            display.starts_with("VNIC for LB") || display.starts_with("VNIC for NLB");
        // A load balancer's NSGs and security attributes are the
        // balancer's (OKE sets them from the service's annotations); its
        // VNIC may show none. Without them the VNIC would drop what its
        // NSGs allow and, worse, escape ZPR's default deny. Its VNIC is
        // the one named after it, or (whatever its name) the one holding
        // one of its private addresses.
        let balancer = named_balancer
            .then(|| {
                display
                    .split_whitespace()
                    .last()
                    .and_then(|b| balancer_by_id.get(b))
            })
            .flatten()
            .or_else(|| ips.iter().find_map(|a| balancer_by_ip.get(a.as_str())))
            .copied();
        let is_balancer = named_balancer || balancer.is_some();
        if named_balancer && balancer.is_none() {
            lone_balancer_vnics.push(name.clone());
        }
        let mut nsg_ids = gstrs(o, "nsg-ids");
        for n in balancer
            .map(|b| gstrs(b, "network-security-group-ids"))
            .unwrap_or_default()
        {
            if !nsg_ids.contains(&n) {
                nsg_ids.push(n);
            }
        }
        let nsgs = cx.nsg_names(nsg_ids, &what, &vcn);
        let kind = if is_balancer {
            "load-balancer"
        } else {
            "instance"
        };
        let mut m = Obj::new();
        m.insert("name".into(), json!(name));
        m.insert("id".into(), json!(id));
        m.insert("subnet".into(), json!(subnet));
        m.insert("private_ips".into(), json!(ips));
        m.insert("nsgs".into(), json!(nsgs));
        m.insert("kind".into(), json!(kind));
        if let Some(a) = attributes(o).or_else(|| balancer.and_then(attributes)) {
            m.insert("security_attributes".into(), a);
        }
        // A route to one of its private IPs blackholes while the VNIC checks
        // source and destination; a value that is not a boolean is read
        // so (never widened).
        match g(o, "skip-source-dest-check") {
            None => {}
            Some(Value::Bool(b)) => {
                m.insert("skip_source_dest_check".into(), json!(b));
            }
            Some(_) => {
                cx.warnings.push(format!(
                    "{what}: `skip-source-dest-check` is not a boolean; imported as false (a route to its private IPs drops)"
                ));
                m.insert("skip_source_dest_check".into(), json!(false));
            }
        }
        // Its public IPv4 address: an internet gateway carries the IPv4
        // traffic of a VNIC with one only. OCI writes `null` for none; an
        // export without the key says nothing (the VNIC may have one). A
        // VNIC of a private subnet has none, which its subnet says.
        match o.get("public-ip").or_else(|| o.get("publicIp")) {
            None | Some(Value::Null) if private_subnets.contains(&subnet) => {}
            None => {}
            Some(_) if private_subnets.contains(&subnet) => {
                cx.warnings.push(format!(
                    "{what}: `public-ip` is given, but its subnet `{subnet}` prohibits public IPs; not imported (the subnet's flag is kept: an internet gateway does not carry its traffic)"
                ));
            }
            Some(Value::Null) => {
                m.insert("public_ip".into(), json!(false));
            }
            Some(Value::String(a)) if a.parse::<std::net::Ipv4Addr>().is_ok() => {
                m.insert("public_ip".into(), json!(a));
                // In a stand-in subnet: that subnet is not private.
                missing.holds_public_ip(subnet_id);
            }
            Some(_) => {
                cx.warnings.push(format!(
                    "{what}: `public-ip` is not an IPv4 address; imported as none (an internet gateway does not carry its IPv4 traffic)"
                ));
                m.insert("public_ip".into(), json!(false));
            }
        }
        if let Some(t) = gs(o, "route-table-id") {
            match ix.table.get(t) {
                Some(n) => {
                    m.insert("route_table".into(), json!(n));
                }
                // Its own table overrides the subnet's: without it, the
                // VNIC would route by its subnet's table, which may send
                // (and, as a return path, admit) what its own does not. A
                // stand-in table with no rule keeps only the VCN's local
                // routes.
                None => {
                    let n = stand_in_table(
                        &mut empty_tables,
                        &mut table_names_used,
                        &mut out_tables,
                        t,
                        &vcn,
                    );
                    cx.warnings.push(format!(
                        "{what}: its route table `{t}` is not in the export; kept as `{n}`, a stand-in route table with no rule (only the VCN's local routes: its subnet's table would route what its own may not)"
                    ));
                    m.insert("route_table".into(), json!(n));
                }
            }
        }
        out_vnics.push(Value::Object(m));
    }
    if let Some(first) = lone_balancer_vnics.first() {
        cx.warnings.push(format!(
            "{} load balancer VNIC(s) (`{first}`{}) without their load balancer in the export (`oci lb load-balancer list`, `oci nlb network-load-balancer list`): NSGs and security attributes set on a load balancer are missing from its VNIC",
            lone_balancer_vnics.len(),
            if lone_balancer_vnics.len() > 1 { ", ..." } else { "" }
        ));
    }
    // Private IPs of VNICs the export lacks (`private-ip list
    // --subnet-id` lists every VNIC's in the subnet, `vnic get` only those
    // of the compartments exported). Left out, their addresses would be
    // unassigned addresses of the subnet, on whose side no security layer
    // runs: each such VNIC is kept as a stand-in in the private IP's
    // subnet, with the subnet's security lists and route table and no NSG
    // (what it lacks can only allow). Its attributes, which ZPR judges it
    // by, are unknown: when the export uses ZPR it carries an enforce
    // attribute no statement names, so ZPR allows it the least any
    // attributes could (`shared::STAND_IN_NAMESPACE`).
    let held: BTreeSet<String> = out_vnics
        .iter()
        .filter_map(|v| v.get("private_ips").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let mut unknown: BTreeMap<&str, (&str, String)> = BTreeMap::new();
    // Whether the export uses ZPR: a stand-in's attributes are then
    // unknown rather than absent (`shared::STAND_IN_NAMESPACE`).
    let zpr_in_use = !inv.policies.is_empty()
        || out_vnics
            .iter()
            .any(|v| v.get("security_attributes").is_some())
        || inv.balancers.iter().any(|b| attributes(b).is_some());
    for p in &inv.private_ips {
        // A reserved private IP assigned to no VNIC (`vnic-id` null,
        // `ip-state` `AVAILABLE`) belongs to nothing: nothing is left out.
        let Some(v) = gs(p, "vnic-id") else {
            continue;
        };
        if known_vnics.contains(v) {
            continue;
        }
        let subnet_id = gs(p, "subnet-id").unwrap_or_default();
        unknown.entry(v).or_insert((subnet_id, id_of(p)));
    }
    for (v, (subnet_id, first_ip)) in unknown {
        let name = vnic_names.take("", &format!("missing-{}", tail(v)));
        let what = format!("VNIC `{name}` (`{v}`, of private IP `{first_ip}`)");
        let ips: Vec<String> = ips_of
            .get(v)
            .into_iter()
            .flatten()
            .filter(|a| !held.contains(*a))
            .cloned()
            .collect();
        let ips = usable_addresses(
            ips,
            subnet_nets.get(subnet_id).map(Vec::as_slice),
            &vcn_nets,
            &what,
            &mut cx,
        );
        if ips.is_empty() {
            continue;
        }
        // Its subnet exported; else, the subnet missing too, a stand-in
        // subnet of the exported VCN holding its addresses, as for a VNIC
        // of a missing subnet (left out, its addresses would be unassigned
        // ones of that VCN). A subnet left out with its VCN says the VNIC
        // is that VCN's: left out, as the VNICs of such a subnet.
        let (subnet, vcn) = match ix.subnet.get(subnet_id) {
            Some(s) if subnet_nets.contains_key(subnet_id) => {
                (s.clone(), subnet_vcn.get(s).cloned().unwrap_or_default())
            }
            Some(s) if !adopted.contains(subnet_id) => {
                cx.warnings.push(format!(
                    "private IP `{first_ip}`: its VNIC `{v}` is not in the export, and its subnet `{s}` (`{subnet_id}`) was left out (its VCN is not in the export); left out (its addresses are that VCN's)"
                ));
                continue;
            }
            _ => {
                let parsed: Vec<std::net::IpAddr> =
                    ips.iter().filter_map(|a| a.parse().ok()).collect();
                match missing.place(subnet_id, &parsed) {
                    Placed::StandIn(s, vcn) | Placed::Adopted(s, vcn) => (s, vcn),
                    Placed::External => {
                        cx.warnings.push(format!(
                            "private IP `{first_ip}`: its VNIC `{v}` is not in the export, nor is its subnet `{subnet_id}` or a VCN holding its addresses; left out (its addresses are judged as external ones)"
                        ));
                        continue;
                    }
                    Placed::Refused(why) => {
                        cx.refused.push(format!("{what}: {why}"));
                        continue;
                    }
                }
            }
        };
        // A load balancer's VNIC (OCI lists it in no compartment a user
        // exports): the balancer holding one of its addresses says its
        // NSGs and attributes, as for an exported balancer VNIC (QA round
        // ten: the stand-in had none, though the balancer was exported).
        if let Some(b) = ips.iter().find_map(|a| balancer_by_ip.get(a.as_str())) {
            let nsgs = cx.nsg_names(gstrs(b, "network-security-group-ids"), &what, &vcn);
            let mut vnic = json!({
                "name": name,
                "id": v,
                "subnet": subnet,
                "private_ips": ips,
                "nsgs": nsgs,
                "kind": "load-balancer",
                "stand_in": true,
            });
            if let Some(a) = attributes(b) {
                vnic["security_attributes"] = a;
            }
            // A public balancer's VNIC holds its public address (OCI's
            // `vnic get` of one shows it as `public-ip`); a private one's
            // has none.
            if !private_subnets.contains(&subnet) {
                let public = garr(b, "ip-addresses")
                    .into_iter()
                    .filter_map(Value::as_object)
                    .filter(|a| g(a, "is-public").and_then(Value::as_bool) == Some(true))
                    .filter_map(|a| gs(a, "ip-address"))
                    .find(|a| a.parse::<std::net::Ipv4Addr>().is_ok());
                if public.is_some() {
                    // In a stand-in subnet: that subnet is not private (as
                    // for an exported VNIC with a public IP).
                    missing.holds_public_ip(subnet_id);
                }
                vnic["public_ip"] = public.map_or(json!(false), |a| json!(a));
            }
            cx.warnings.push(format!(
                "private IP `{first_ip}`: its VNIC `{v}` is not in the export; kept as `{name}`, the VNIC of the load balancer holding its address in subnet `{subnet}`, with the balancer's NSGs, attributes and public address"
            ));
            out_vnics.push(vnic);
            continue;
        }
        let mut vnic = json!({
            "name": name,
            "id": v,
            "subnet": subnet,
            "private_ips": ips,
            "nsgs": [],
            "kind": "unknown",
            "stand_in": true,
        });
        // Whether it has a public IP is not said: none, the least an
        // internet gateway could carry for it (as its NSGs and
        // attributes).
        if !private_subnets.contains(&subnet) {
            vnic["public_ip"] = json!(false);
        }
        if zpr_in_use {
            cx.warnings.push(format!(
                "private IP `{first_ip}`: its VNIC `{v}` is not in the export; kept as `{name}`, a stand-in VNIC in subnet `{subnet}` with its security lists and route table, no NSG, no public IP, and the attribute `{}.attributes:unknown` in enforce mode: the export uses ZPR and does not say this VNIC's attributes, so ZPR allows it only what statements naming its address or `all-endpoints` allow (export the VNIC for its NSGs and attributes)",
                crate::shared::STAND_IN_NAMESPACE
            ));
            vnic["security_attributes"] = json!({
                crate::shared::STAND_IN_NAMESPACE: {
                    "attributes": { "value": "unknown", "mode": "enforce" }
                }
            });
        } else {
            cx.warnings.push(format!(
                "private IP `{first_ip}`: its VNIC `{v}` is not in the export; kept as `{name}`, a stand-in VNIC in subnet `{subnet}` with its security lists and route table but no NSG, no public IP and no security attribute (export the VNIC: its NSGs and public IP can only allow more; the export has no ZPR policy and no attributed VNIC, so it is judged unattributed)"
            ));
        }
        out_vnics.push(vnic);
    }
    out_subnets.extend(missing.into_subnets());
    out_lists.extend(list_stand_ins.into_objects());
    // An object that can be neither held nor left out without allowing
    // more than the network does fails the import, naming each.
    if !cx.refused.is_empty() {
        return Err(ImportError {
            file: "the export".into(),
            line: None,
            column: None,
            message: cx.refused.join("; "),
        });
    }
    out_nsgs.extend(nsg_stand_ins.into_objects());
    // ZPR policies.
    let mut pol_names = Names::default();
    let mut out_policies = Vec::new();
    for o in &inv.policies {
        let id = id_of(o);
        let name = pol_names.take(
            gs(o, "name")
                .or_else(|| gs(o, "display-name"))
                .unwrap_or_default(),
            &format!("zpr-policy-{}", tail(&id)),
        );
        // ZPL only allows (what no statement allows is denied): a
        // statement the scenario cannot parse is left out, which can
        // only deny more.
        let mut statements = gstrs(o, "statements");
        statements.retain(|st| match crate::zpl::parse_statement(st) {
            Ok(_) => true,
            Err(e) => {
                warnings.push(format!(
                    "ZPR policy `{name}` (`{id}`): statement `{st}` does not parse: {e}; the statement is left out"
                ));
                false
            }
        });
        out_policies.push(json!({ "name": name, "id": id, "statements": statements }));
    }
    let (services_map, w) = service_cidrs(services, &labels)?;
    warnings.extend(w);
    if !services_map.is_empty() {
        doc.insert("services".into(), json!(services_map));
    }
    for (k, v) in [
        ("vcn", out_vcns),
        ("gateway", out_gws),
        ("route_table", out_tables),
        ("security_list", out_lists),
        ("nsg", out_nsgs),
        ("subnet", out_subnets),
        ("vnic", out_vnics),
        ("zpr_policy", out_policies),
    ] {
        if !v.is_empty() {
            doc.insert(k.into(), Value::Array(v));
        }
    }
    super::unique_ids::unique_ids(&mut doc, &mut warnings);
    let toml = super::layout::write(doc).map_err(|e| ImportError {
        file: "scenario".into(),
        line: None,
        column: None,
        message: e.to_string(),
    })?;
    Ok(Imported {
        toml: format!("{HEADER}\n{toml}"),
        warnings,
    })
}

/// An [`ImportError`] shown with the file's full path.
#[derive(Debug)]
pub struct ImportErrorAt {
    /// The path to show.
    pub file: String,
    /// The error.
    pub e: ImportError,
}

impl std::fmt::Display for ImportErrorAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = ImportError {
            file: self.file.clone(),
            ..self.e.clone()
        };
        e.fmt(f)
    }
}

/// A VNIC's addresses as the scenario can hold them: each parsed (one that
/// is not an address is left out), written once in its usual form (the
/// same address written two ways, as exports mixing `vnic get` and
/// `ipv6 list` may, is one), and inside one of its subnet's CIDR blocks
/// `nets` (one outside is left out: the scenario would not load). Each
/// address left out is a warning naming it and the VNIC `what`, so one bad
/// object does not fail the whole import.
///
/// An address outside its subnet but inside an exported VCN is refused
/// (the import fails): left out, it would be an unassigned address of
/// that VCN, on whose side no security layer runs and ZPR does not apply.
/// Outside every exported VCN it is an external address either way.
fn usable_addresses(
    ips: Vec<String>,
    nets: Option<&[ipnet::IpNet]>,
    vcns: &[(String, Vec<ipnet::IpNet>)],
    what: &str,
    cx: &mut Cx<'_>,
) -> Vec<String> {
    let mut seen: Vec<std::net::IpAddr> = Vec::with_capacity(ips.len());
    let mut out = Vec::with_capacity(ips.len());
    for a in ips {
        let Ok(ip) = a.parse::<std::net::IpAddr>() else {
            cx.warnings.push(format!(
                "{what}: private IP `{a}` is not an IP address; left out"
            ));
            continue;
        };
        if seen.contains(&ip) {
            continue;
        }
        if let Some(nets) = nets
            && !nets.iter().any(|n| n.contains(&ip))
        {
            if let Some(vcn) = super::missing::vcn_holding(vcns, ip) {
                cx.refused.push(format!(
                    "{what}: private IP `{a}` is outside its subnet's CIDR blocks but inside VCN `{vcn}`; left out, it would be an address of no VNIC there, with no security layer or ZPR on its side"
                ));
                continue;
            }
            cx.warnings.push(format!(
                "{what}: private IP `{a}` is outside its subnet's CIDR blocks; left out"
            ));
            continue;
        }
        seen.push(ip);
        out.push(ip.to_string());
    }
    out
}
