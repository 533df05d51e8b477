//! The VNICs: each with its subnet (exported, or a stand-in where the
//! export lacks it), addresses, NSGs, attributes and route table, load
//! balancers' VNICs with their balancer's NSGs and attributes, and a
//! stand-in VNIC for private IPs whose VNIC the export lacks.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ipnet::IpNet;
use serde_json::{Value, json};

use super::super::missing::{HostsAdded, MissingSubnets, Placed};
use super::super::names::Names;
use super::addresses::{prefix_addresses, usable_addresses};
use super::inventory::{Index, Inventory};
use super::json::{Obj, g, garr, gs, gstrs, id_of};
use super::rules::{Cx, attributes};
use super::tables::{local_routes_table, stand_in_table};

/// What the subnets' stage leaves for the VNICs'.
pub(super) struct Subnets<'s> {
    /// Every exported subnet's name, in the inventory's order.
    pub(super) names: &'s [String],
    /// Each exported subnet's CIDR blocks, by OCID: a VNIC address outside
    /// them is left out with a warning (the scenario would not load).
    pub(super) nets: HashMap<String, Vec<IpNet>>,
    /// Each subnet's VCN, by the subnet's name.
    pub(super) vcn_of: HashMap<String, String>,
    /// Subnets whose VNICs can have no public IP, by name.
    pub(super) private: BTreeSet<String>,
    /// Subnets the export gives no block, with their objects (by OCID).
    pub(super) blockless: Vec<(String, Obj)>,
    /// Subnets whose blocks of an address family (IPv4, IPv6) the export
    /// gave, all of them, malformed, with their objects (by OCID) and
    /// that family: their VNICs' addresses of it get host blocks.
    pub(super) lacking: Vec<(String, Obj, [bool; 2])>,
    /// Subnets written with blocks of one address family only, the export
    /// giving no block of the other, by OCID, with that family: their
    /// VNICs' addresses of it inside their VCN get host blocks.
    pub(super) absent: HashMap<String, [bool; 2]>,
    /// Subnets left out because their VCN cannot be guessed, by OCID:
    /// their VNICs are placed by their addresses ([`Home::Unguessed`]).
    pub(super) unguessed: BTreeSet<String>,
    /// No VCN was left out by `--vcn`: an address that one exported
    /// subnet holds is that subnet's (with VCNs left out, one of theirs,
    /// of overlapping blocks, may hold it too).
    pub(super) whole_export: bool,
    /// How many VCNs the export holds (exported or named by a subnet),
    /// before `--vcn` keeps some.
    pub(super) export_vcns: usize,
}

/// Where stand-in route tables go ([`stand_in_table`]).
pub(super) struct RouteStandIns<'t> {
    pub(super) made: &'t mut BTreeMap<(String, String), String>,
    pub(super) names: &'t mut Names,
    pub(super) out: &'t mut Vec<Value>,
}

/// The VNICs of the export (`inv`), the stand-in subnets they need, in
/// VCNs `vcn_nets` (names and blocks), and the host blocks to add to
/// subnets written without blocks of an address family their VNICs have
/// addresses of (name, blocks).
pub(super) fn vnics(
    inv: &Inventory,
    cx: &mut Cx<'_>,
    vcn_nets: &[(String, Vec<IpNet>)],
    subnets: Subnets<'_>,
    tables: RouteStandIns<'_>,
) -> (Vec<Value>, Vec<Value>, Vec<HostsAdded>) {
    let ix = cx.ix;
    let zpr = uses_zpr(inv);
    // No VNIC of the export carries `security-attributes` at all: the CLI
    // that wrote them predates the field (a current one prints `{}` for a
    // VNIC without attributes, docs/import.md), so every VNIC's attributes
    // are unknown alike: said once, not once per VNIC (since the twentieth
    // session).
    let none_said = inv.vnics.len() > 1
        && inv
            .vnics
            .iter()
            .all(|o| g(o, "security-attributes").is_none());
    let mut unsaid: Vec<String> = Vec::new();
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
    // <OCID>`) and by their private addresses, with their subnets.
    let mut balancer_by_id: HashMap<String, &Obj> = HashMap::new();
    let mut balancer_by_ip: HashMap<&str, Vec<(&Obj, Vec<String>)>> = HashMap::new();
    // With more than one VCN in the export, an address may be any of
    // theirs, and a balancer whose subnets are not said is no evidence by
    // address (since the twenty-sixth session: it lent its kind, NSGs and
    // attributes to another VCN's VNIC at the same address).
    let vcn_count = subnets.export_vcns;
    for b in &inv.balancers {
        balancer_by_id.insert(id_of(b), b);
        let mut in_subnets = gstrs(b, "subnet-ids");
        in_subnets.extend(gs(b, "subnet-id").map(str::to_owned));
        if in_subnets.is_empty() && vcn_count > 1 {
            if garr(b, "ip-addresses").into_iter().any(Value::is_object) {
                let id = id_of(b);
                cx.warnings.push(format!(
                    "load balancer `{id}`: its export names no `subnet-ids`, and the export holds {vcn_count} VCNs, which may reuse its addresses: no VNIC takes its kind, NSGs or security attributes by address alone (only its VNIC named `VNIC for LB {id}`); export it whole with `oci lb load-balancer get --load-balancer-id {id}`"
                ));
            }
            continue;
        }
        for a in garr(b, "ip-addresses")
            .into_iter()
            .filter_map(Value::as_object)
        {
            if g(a, "is-public").and_then(Value::as_bool) != Some(true)
                && let Some(ip) = gs(a, "ip-address")
            {
                balancer_by_ip
                    .entry(ip)
                    .or_default()
                    .push((b, in_subnets.clone()));
            }
        }
    }
    // The balancer holding address `ip` of a VNIC of subnet `subnet`: one
    // of that subnet (a balancer's VNIC is in one of its subnets; since
    // the twenty-sixth session: two VCNs may reuse an address, and a VNIC
    // took the NSGs and attributes of another VCN's balancer), or one
    // whose subnets are not said (only when the import holds one VCN,
    // above), or any when the VNIC names no subnet.
    let balancer_at = |subnet: &str, ip: &str| -> Option<&Obj> {
        balancer_by_ip.get(ip)?.iter().find_map(|(b, in_subnets)| {
            (subnet.is_empty() || in_subnets.is_empty() || in_subnets.iter().any(|s| s == subnet))
                .then_some(*b)
        })
    };
    let mut missing = MissingSubnets::new(
        vcn_nets,
        inv.subnets.iter().zip(subnets.names).filter_map(|(o, n)| {
            subnets
                .nets
                .get(&id_of(o))
                .map(|nets| (n.as_str(), nets.as_slice()))
        }),
        subnets.names,
    );
    let adopted: BTreeSet<String> = subnets.blockless.iter().map(|(id, _)| id.clone()).collect();
    for (id, m) in subnets.blockless {
        missing.adopt(&id, m);
    }
    let mut lacks_of: HashMap<String, [bool; 2]> = HashMap::new();
    for (id, m, lacks) in subnets.lacking {
        missing.adopt_lacking(&id, m);
        lacks_of.insert(id, lacks);
    }
    for (id, none_of) in &subnets.absent {
        if let Some(name) = ix.subnet.get(id)
            && let Some(vcn) = subnets.vcn_of.get(name)
        {
            missing.adopt_absent(id, name, vcn);
            lacks_of.insert(id.clone(), *none_of);
        }
    }
    let vcns = super::kinds::VcnOf {
        vcn: &ix.vcn,
        subnet: &ix.subnet,
        subnet_vcn: &subnets.vcn_of,
    };
    let kinds = super::kinds::Kinds::said(inv, &vcns, cx.warnings);
    let mut lone_balancer_vnics = Vec::new();
    let mut vnic_names = Names::default();
    let mut out_vnics = Vec::new();
    let mut known_vnics = BTreeSet::new();
    for o in &inv.vnics {
        let id = id_of(o);
        known_vnics.insert(id.clone());
        let display = gs(o, "display-name").unwrap_or_default();
        let name = vnic_names.take_for(display, "vnic", &id);
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
            subnets.nets.get(subnet_id).map(Vec::as_slice),
            lacks_of.get(subnet_id).copied().unwrap_or_default(),
            subnets.absent.get(subnet_id).copied().unwrap_or_default(),
            vcn_nets,
            &what,
            cx,
        );
        if ips.is_empty() {
            cx.warnings.push(format!("{what}: no private IP; left out"));
            continue;
        }
        if let Some(why) = lacking_hosts(&mut missing, &lacks_of, subnet_id, &ips) {
            cx.refused.push(format!("{what}: {why}"));
            continue;
        }
        // A VNIC that names no subnet (no `subnet-id`, a cut export, and
        // no private IP naming one) whose addresses all lie in one
        // exported subnet, and in no other: that subnet is its own (a
        // VNIC's addresses lie in its subnet). Not with `--vcn`: a VCN
        // left out may hold them too.
        let subnet_id = if subnet_id.is_empty() && subnets.whole_export {
            let holding: Vec<&String> = subnets
                .nets
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
        let (subnet, vcn) = match home(
            ix,
            &subnets.nets,
            &subnets.vcn_of,
            &adopted,
            &subnets.unguessed,
            &mut missing,
            subnet_id,
            id.as_str(),
            &ips,
        ) {
            // Its exported subnet (one without blocks said once, of the
            // subnet).
            Home::Exported(s, vcn) | Home::Placed(Placed::Adopted(s, vcn)) => (s, vcn),
            // A subnet left out with its VCN: the export says the VNIC is
            // of that VCN, not of an exported one. Its addresses are that
            // VCN's, external to the exported ones even where the blocks
            // overlap (every VCN on 10.0.0.0/16): placed in an exported
            // VCN it would stand for a VNIC that is not there (the review
            // of the fifteenth session).
            Home::LeftWithVcn(s) => {
                cx.warnings.push(format!(
                    "{what}: its subnet `{s}` (`{subnet_id}`) was left out (its VCN is not in the export); left out too (its addresses are that VCN's: where an exported VCN's blocks hold them too, they are judged as addresses of no VNIC there)"
                ));
                continue;
            }
            Home::Unguessed(s, Placed::StandIn(stand_in, vcn)) => {
                cx.warnings.push(format!(
                    "{what}: its subnet `{s}` (`{subnet_id}`) was left out, its VCN unknown; kept by its addresses in `{stand_in}` of VCN `{vcn}`, a stand-in subnet with no security list and no route table known, private unless one of its VNICs has a public IP (it denies at least what the network does: export the subnet again for what its lists, routes and flags allow)"
                ));
                (stand_in, vcn)
            }
            Home::Unguessed(s, Placed::External) => {
                cx.warnings.push(format!(
                    "{what}: its subnet `{s}` (`{subnet_id}`) was left out, its VCN unknown, and no exported VCN holds its addresses; left out (its addresses are judged as external ones)"
                ));
                continue;
            }
            Home::Unguessed(_, Placed::Refused(why)) => {
                cx.refused.push(format!("{what}: {why}"));
                continue;
            }
            Home::Unguessed(_, Placed::Adopted(s, vcn)) => (s, vcn),
            Home::Placed(Placed::StandIn(s, vcn)) => {
                let said = if subnet_id.is_empty() {
                    "it names no subnet (no `subnet-id`) and no exported subnet holds its addresses; kept in a stand-in subnet of its own".to_owned()
                } else {
                    format!("its subnet `{subnet_id}` is not in the export; kept")
                };
                cx.warnings.push(format!(
                    "{what}: {said} in `{s}`, a stand-in subnet with no security list and no route table, private unless one of its VNICs has a public IP (it denies at least what the network does: export the subnet for what its lists, routes and flags allow)"
                ));
                (s, vcn)
            }
            Home::Placed(Placed::External) => {
                cx.warnings.push(format!(
                    "{what}: its subnet `{subnet_id}` is not in the export, nor is a VCN holding its addresses; left out (its addresses are judged as external ones)"
                ));
                continue;
            }
            Home::Placed(Placed::Refused(why)) => {
                cx.refused.push(format!("{what}: {why}"));
                continue;
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
            .copied()
            .or_else(|| ips.iter().find_map(|a| balancer_at(subnet_id, a)));
        let is_balancer = named_balancer || balancer.is_some();
        if named_balancer && balancer.is_none() {
            lone_balancer_vnics.push(name.clone());
        }
        let mut nsg_ids = gstrs(o, "nsg-ids");
        // Its NSGs said: a list on the VNIC or on its balancer. Not said
        // (absent, null: a `--query`, an older CLI), they are unknown, not
        // none (since the twenty-first session; it was in no NSG, so what
        // an NSG's stateless rule would have untracked was tracked, and
        // a rule naming its NSG did not match it: the late review's H2):
        // a stand-in VNIC without NSGs, as one the export lacks.
        let nsgs_said = g(o, "nsg-ids").is_some_and(Value::is_array)
            || balancer
                .is_some_and(|b| g(b, "network-security-group-ids").is_some_and(Value::is_array));
        for n in balancer
            .map(|b| gstrs(b, "network-security-group-ids"))
            .unwrap_or_default()
        {
            if !nsg_ids.contains(&n) {
                nsg_ids.push(n);
            }
        }
        let nsgs = cx.nsg_names(nsg_ids, &what, &vcn);
        // Said where the export says it (a balancer, a cluster's or node
        // pool's or mount target's evidence); else not written (since the
        // twenty-sixth session: `instance` was written, so a `kind:instance`
        // selector bound a node or a pod the export did not describe).
        let kind = if is_balancer {
            Some("load-balancer")
        } else {
            kinds.of_vnic(o, &vcn)
        };
        let mut m = Obj::new();
        m.insert("name".into(), json!(name));
        m.insert("id".into(), json!(id));
        m.insert("subnet".into(), json!(subnet));
        m.insert("private_ips".into(), json!(ips));
        if nsgs_said {
            m.insert("nsgs".into(), json!(nsgs));
        } else {
            cx.warnings.push(format!(
                "{what}: the export does not give its `nsg-ids` (absent or null): its NSGs are unknown; kept as a stand-in VNIC without NSGs (`stand_in = true`: nothing is tracked at it, and a rule naming an NSG may match it) (export it with `oci network vnic get --vnic-id {id}`)"
            ));
            m.insert("nsgs".into(), json!(Vec::<String>::new()));
            m.insert("stand_in".into(), json!(true));
        }
        if let Some(kind) = kind {
            m.insert("kind".into(), json!(kind));
        }
        // `security-attributes` absent or null says nothing (an older CLI,
        // a `--query`): when the export uses ZPR, the stand-in attribute
        // (ZPR's default deny holds for it, as for a stand-in VNIC); `{}`
        // says none. Since the nineteenth session (it was unattributed,
        // outside ZPR: the review's M5). A balancer's say counts for its
        // VNIC.
        let said = |x: &Obj| g(x, "security-attributes").is_some();
        if let Some(a) = attributes(o).or_else(|| balancer.and_then(attributes)) {
            m.insert("security_attributes".into(), a);
        } else if zpr && !said(o) && !balancer.is_some_and(said) {
            if none_said {
                unsaid.push(name.clone());
            } else {
                cx.warnings.push(format!(
                "{what}: the export does not give its `security-attributes` (absent or null) and uses ZPR; imported with the attribute `{}.attributes:unknown` in enforce mode, which no statement names: ZPR allows it only what statements naming its address or `all-endpoints` allow (export it with `oci network vnic get --vnic-id {id}`)",
                crate::shared::STAND_IN_NAMESPACE
            ));
            }
            m.insert(
                "security_attributes".into(),
                json!({
                    crate::shared::STAND_IN_NAMESPACE: {
                        "attributes": { "value": "unknown", "mode": "enforce" }
                    }
                }),
            );
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
            None | Some(Value::Null) if subnets.private.contains(&subnet) => {}
            None => {}
            Some(_) if subnets.private.contains(&subnet) => {
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
                    let n = stand_in_table(tables.made, tables.names, tables.out, t, &vcn);
                    cx.warnings.push(format!(
                        "{what}: its route table `{t}` is not in the export; kept as `{n}`, a stand-in route table with no rule (only the VCN's local routes: its subnet's table would route what its own may not)"
                    ));
                    m.insert("route_table".into(), json!(n));
                }
            }
        }
        out_vnics.push(Value::Object(m));
    }
    if let Some(first) = unsaid.first() {
        cx.warnings.push(format!(
            "{} VNIC(s) (`{first}`{}), every VNIC of the export, without `security-attributes`, in an export that uses ZPR: the CLI that exported them predates the field (a current one prints `{{}}` for a VNIC without attributes); each is imported with the attribute `{}.attributes:unknown` in enforce mode, which no statement names, so ZPR allows them only what statements naming their addresses or `all-endpoints` allow: export them again with a current OCI CLI (`oci network vnic get`)",
            unsaid.len(),
            if unsaid.len() > 1 { ", ..." } else { "" },
            crate::shared::STAND_IN_NAMESPACE
        ));
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
    let zpr_in_use = uses_zpr(inv)
        || out_vnics
            .iter()
            .any(|v| v.get("security_attributes").is_some());
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
        let name = vnic_names.take_for("", "missing", v);
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
            subnets.nets.get(subnet_id).map(Vec::as_slice),
            lacks_of.get(subnet_id).copied().unwrap_or_default(),
            subnets.absent.get(subnet_id).copied().unwrap_or_default(),
            vcn_nets,
            &what,
            cx,
        );
        if ips.is_empty() {
            continue;
        }
        if let Some(why) = lacking_hosts(&mut missing, &lacks_of, subnet_id, &ips) {
            cx.refused.push(format!("{what}: {why}"));
            continue;
        }
        // Its subnet exported; else, the subnet missing too, a stand-in
        // subnet of the exported VCN holding its addresses, as for a VNIC
        // of a missing subnet (left out, its addresses would be unassigned
        // ones of that VCN). A subnet left out with its VCN says the VNIC
        // is that VCN's: left out, as the VNICs of such a subnet.
        let (subnet, vcn) = match home(
            ix,
            &subnets.nets,
            &subnets.vcn_of,
            &adopted,
            &subnets.unguessed,
            &mut missing,
            subnet_id,
            v,
            &ips,
        ) {
            Home::Exported(s, vcn)
            | Home::Placed(Placed::StandIn(s, vcn) | Placed::Adopted(s, vcn))
            | Home::Unguessed(_, Placed::StandIn(s, vcn) | Placed::Adopted(s, vcn)) => (s, vcn),
            Home::Unguessed(s, Placed::External) => {
                cx.warnings.push(format!(
                    "private IP `{first_ip}`: its VNIC `{v}` is not in the export, its subnet `{s}` (`{subnet_id}`) was left out, its VCN unknown, and no exported VCN holds its addresses; left out (its addresses are judged as external ones)"
                ));
                continue;
            }
            Home::Unguessed(_, Placed::Refused(why)) => {
                cx.refused.push(format!("{what}: {why}"));
                continue;
            }
            Home::LeftWithVcn(s) => {
                cx.warnings.push(format!(
                    "private IP `{first_ip}`: its VNIC `{v}` is not in the export, and its subnet `{s}` (`{subnet_id}`) was left out (its VCN is not in the export); left out (its addresses are that VCN's)"
                ));
                continue;
            }
            Home::Placed(Placed::External) => {
                cx.warnings.push(format!(
                    "private IP `{first_ip}`: its VNIC `{v}` is not in the export, nor is its subnet `{subnet_id}` or a VCN holding its addresses; left out (its addresses are judged as external ones)"
                ));
                continue;
            }
            Home::Placed(Placed::Refused(why)) => {
                cx.refused.push(format!("{what}: {why}"));
                continue;
            }
        };
        // Its own route table, which overrides its subnet's: the one its
        // private IPs name (`route-table-id`, the primary's first), else
        // unknown, and a stand-in table with no rule (only the VCN's local
        // routes), the least it could allow. By its subnet's table, it
        // forwarded what its own table has no route for (the review's M2;
        // since the nineteenth session).
        let mut named: Vec<(bool, &str)> = inv
            .private_ips
            .iter()
            .filter(|p| gs(p, "vnic-id") == Some(v))
            .filter_map(|p| {
                let primary = g(p, "is-primary").and_then(Value::as_bool) == Some(true);
                Some((!primary, gs(p, "route-table-id")?))
            })
            .collect();
        named.sort_by_key(|(not_primary, _)| *not_primary);
        let own = named.first().map(|(_, t)| match ix.table.get(*t) {
            Some(n) => (n.clone(), format!("its route table `{n}` (its private IP's)")),
            None => {
                let n = stand_in_table(tables.made, tables.names, tables.out, t, &vcn);
                (
                    n.clone(),
                    format!("its route table `{t}`, not in the export: `{n}`, a stand-in with no rule (only the VCN's local routes)"),
                )
            }
        });
        // A load balancer's VNIC (OCI lists it in no compartment a user
        // exports): the balancer holding one of its addresses says its
        // NSGs and attributes, as for an exported balancer VNIC (QA round
        // ten: the stand-in had none, though the balancer was exported).
        if let Some(b) = ips.iter().find_map(|a| balancer_at(subnet_id, a)) {
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
            // A balancer's VNIC has no route table of its own unless its
            // private IP names one (OCI manages the VNIC): its subnet's.
            let mut routes_said = "its subnet's route table".to_owned();
            if let Some((t, said)) = own {
                vnic["route_table"] = json!(t);
                routes_said = said;
            }
            if let Some(a) = attributes(b) {
                vnic["security_attributes"] = a;
            }
            // A public balancer's VNIC holds its public address (OCI's
            // `vnic get` of one shows it as `public-ip`); a private one's
            // has none.
            if !subnets.private.contains(&subnet) {
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
                "private IP `{first_ip}`: its VNIC `{v}` is not in the export; kept as `{name}`, the VNIC of the load balancer holding its address in subnet `{subnet}`, with the balancer's NSGs, attributes and public address, and {routes_said}"
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
            "kind": kinds.of_stand_in(v, &vcn, &ips).unwrap_or("unknown"),
            "stand_in": true,
        });
        let (route_table, routes_said) = own.unwrap_or_else(|| {
            let n = local_routes_table(tables.made, tables.names, tables.out, &vcn);
            (
                n.clone(),
                format!("`{n}`, a stand-in route table with no rule (only the VCN's local routes: its own table, which overrides its subnet's, is unknown)"),
            )
        });
        vnic["route_table"] = json!(route_table);
        // Whether it has a public IP is not said: none, the least an
        // internet gateway could carry for it (as its NSGs and
        // attributes).
        if !subnets.private.contains(&subnet) {
            vnic["public_ip"] = json!(false);
        }
        // A mount target's VNIC, or a cluster's API endpoint (OCI lists
        // neither VNIC in a compartment a user exports): the mount target
        // (the cluster's `endpoint-config`) says its NSGs and attributes,
        // as a balancer says its VNIC's (since the twenty-second session;
        // it was judged with none). Each with the rules of a VNIC's own:
        // a list (`[]`, `{}` included) says them; absent or null, unknown
        // (no NSG, nothing tracked at it, and the stand-in attribute when
        // the export uses ZPR).
        if let Some((owner, o)) = kinds.owner_of_stand_in(v, &vcn, &ips) {
            let nsgs_said = g(o, "nsg-ids").is_some_and(Value::is_array);
            if nsgs_said {
                vnic["nsgs"] = json!(cx.nsg_names(gstrs(o, "nsg-ids"), &what, &vcn));
            }
            let attributes_said = g(o, "security-attributes").is_some();
            let mut said_of = Vec::new();
            if let Some(a) = attributes(o) {
                vnic["security_attributes"] = a;
            } else if !attributes_said && zpr_in_use {
                vnic["security_attributes"] = json!({
                    crate::shared::STAND_IN_NAMESPACE: {
                        "attributes": { "value": "unknown", "mode": "enforce" }
                    }
                });
                said_of.push(format!(
                    "its attributes are not given there (the attribute `{}.attributes:unknown` in enforce mode)",
                    crate::shared::STAND_IN_NAMESPACE
                ));
            }
            if !nsgs_said {
                said_of.push(
                    "its `nsg-ids` are not given there (no NSG, nothing tracked at it)".to_owned(),
                );
            }
            cx.warnings.push(format!(
                "private IP `{first_ip}`: its VNIC `{v}` is not in the export; kept as `{name}`, a stand-in VNIC in subnet `{subnet}` with its security lists, {routes_said}, no public IP, and the NSGs and security attributes of {owner}{}{} (export the VNIC for the rest)",
                if said_of.is_empty() { "" } else { ", but " },
                said_of.join(" and ")
            ));
            out_vnics.push(vnic);
            continue;
        }
        if zpr_in_use {
            cx.warnings.push(format!(
                "private IP `{first_ip}`: its VNIC `{v}` is not in the export; kept as `{name}`, a stand-in VNIC in subnet `{subnet}` with its security lists, {routes_said}, no NSG, no public IP, and the attribute `{}.attributes:unknown` in enforce mode: the export uses ZPR and does not say this VNIC's attributes, so ZPR allows it only what statements naming its address or `all-endpoints` allow (export the VNIC for its NSGs and attributes)",
                crate::shared::STAND_IN_NAMESPACE
            ));
            vnic["security_attributes"] = json!({
                crate::shared::STAND_IN_NAMESPACE: {
                    "attributes": { "value": "unknown", "mode": "enforce" }
                }
            });
        } else {
            cx.warnings.push(format!(
                "private IP `{first_ip}`: its VNIC `{v}` is not in the export; kept as `{name}`, a stand-in VNIC in subnet `{subnet}` with its security lists and {routes_said}, but no NSG, no public IP and no security attribute (export the VNIC: its own NSGs and public IP can only allow more, and nothing is tracked where its NSGs could matter (its own rules, other NSGs' stateless rules naming an NSG of its VCN); the export has no ZPR policy and no attributed VNIC, so it is judged unattributed)"
            ));
        }
        out_vnics.push(vnic);
    }
    let added = missing.hosts_added();
    (out_vnics, missing.into_subnets(), added)
}

/// Whether the export uses ZPR: a ZPR policy, or security attributes on
/// any VNIC, balancer or VCN (or a VCN `is-zpr-only`). A VCN's count
/// since the nineteenth session: once every attributed VNIC was cut, the
/// stand-ins were judged unattributed, outside ZPR's default deny.
pub(super) fn uses_zpr(inv: &Inventory) -> bool {
    !inv.policies.is_empty()
        || inv
            .vnics
            .iter()
            .chain(&inv.balancers)
            .chain(&inv.vcns)
            .any(|o| attributes(o).is_some())
        || inv
            .vcns
            .iter()
            .any(|v| g(v, "is-zpr-only").and_then(Value::as_bool) == Some(true))
}

/// Where a VNIC (or the private IPs of one the export lacks) goes.
enum Home {
    /// Its exported subnet and that subnet's VCN.
    Exported(String, String),
    /// Nowhere: its subnet was left out with its VCN (named).
    LeftWithVcn(String),
    /// Its subnet (named) was left out because its VCN cannot be guessed:
    /// where [`MissingSubnets::place_unguessed`] puts it.
    Unguessed(String, Placed),
    /// Where [`MissingSubnets::place`] puts it: its subnet is not in the
    /// export, or was exported without blocks.
    Placed(Placed),
}

/// The [`Home`] of a VNIC of subnet `subnet_id` (`ix`'s names; `nets` and
/// `vcn_of` of the exported subnets; `adopted`: those exported without
/// blocks; `unguessed`: those left out, their VCN unknown) with addresses
/// `ips`.
#[allow(clippy::too_many_arguments)]
fn home(
    ix: &Index,
    nets: &HashMap<String, Vec<IpNet>>,
    vcn_of: &HashMap<String, String>,
    adopted: &BTreeSet<String>,
    unguessed: &BTreeSet<String>,
    missing: &mut MissingSubnets<'_>,
    subnet_id: &str,
    own: &str,
    ips: &[String],
) -> Home {
    match ix.subnet.get(subnet_id) {
        Some(s) if nets.contains_key(subnet_id) => {
            Home::Exported(s.clone(), vcn_of.get(s).cloned().unwrap_or_default())
        }
        // Left out because its VCN cannot be guessed: not as a subnet of
        // a VCN not in the export (the twenty-first session's late
        // review, H1: its VNICs' addresses were unassigned ones of the
        // exported VCN, on whose side no security layer runs).
        Some(s) if unguessed.contains(subnet_id) => {
            let parsed: Vec<std::net::IpAddr> = ips.iter().filter_map(|a| a.parse().ok()).collect();
            let placed = missing.place_unguessed(subnet_id, s, &parsed);
            Home::Unguessed(s.clone(), placed)
        }
        Some(s) if !adopted.contains(subnet_id) => Home::LeftWithVcn(s.clone()),
        _ => {
            let parsed: Vec<std::net::IpAddr> = ips.iter().filter_map(|a| a.parse().ok()).collect();
            // A VNIC that names no subnet gets a stand-in subnet of its
            // own: in one shared by every such VNIC, two of them would be
            // delivered to each other without a route lookup (DIRECT),
            // where their real subnets may route them through a next hop
            // that drops them (the twentieth session's late review, H1).
            if subnet_id.is_empty() {
                return Home::Placed(missing.place(&format!("no-subnet-id.{own}"), &parsed));
            }
            Home::Placed(missing.place(subnet_id, &parsed))
        }
    }
}

/// Host blocks in subnet `subnet_id`, when it lacks an address family
/// (`lacks_of`: its blocks of that family were all malformed), for the
/// addresses of `ips` of that family ([`MissingSubnets::place_lacking`]);
/// why the import cannot hold them, when an address lies in another
/// exported subnet or outside the subnet's VCN.
fn lacking_hosts(
    missing: &mut MissingSubnets<'_>,
    lacks_of: &HashMap<String, [bool; 2]>,
    subnet_id: &str,
    ips: &[String],
) -> Option<String> {
    let lacks = lacks_of.get(subnet_id)?;
    let of_family: Vec<std::net::IpAddr> = ips
        .iter()
        .filter_map(|a| a.parse::<std::net::IpAddr>().ok())
        .filter(|ip| lacks[usize::from(ip.is_ipv6())])
        .collect();
    if of_family.is_empty() {
        return None;
    }
    match missing.place_lacking(subnet_id, &of_family)? {
        Placed::Refused(why) => Some(why),
        _ => None,
    }
}
