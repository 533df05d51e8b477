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

use serde_json::{Value, json};

use super::names::Names;
use super::stand_in_rules::{Container, StandInRules};
use super::{Files, ImportError, Imported};

mod addresses;
mod inventory;
mod json;
mod rules;
mod services;
mod vnics;

use inventory::{
    Index, Inventory, items, keep_vcns, name_all, next_page, subnets_from_private_ips,
};
pub(in crate::import) use json::tail;
use json::{Obj, g, garr, gs, gstrs, id_of, without_bom};
use rules::{Cx, attributes};
pub use services::REGIONS;
use services::service_cidrs;

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

/// The rules the export holds for NSGs `network-nsg-list.json` lacks
/// (`network-nsg-rules-list.<OCID>.json`), by OCID in `rules_of`: kept on
/// the stand-in a VNIC naming the NSG got (its name and VCN guessed, its
/// rules exported facts; since the nineteenth session, when they were
/// left out), with the rule peers of an exported NSG (a peer NSG the
/// export lacks leaves the rule out, as for an exported NSG; the NSG
/// itself is its stand-in). A stand-in whose stateless rules cannot all be
/// held keeps no rule, as before. Rules of such an NSG that no VNIC names
/// are left out, with a warning naming their files.
fn stand_in_nsg_rules(
    cx: &mut Cx<'_>,
    rules_of: &HashMap<&str, Vec<&Obj>>,
    files: &BTreeMap<String, BTreeSet<String>>,
) {
    let made = cx.nsg_stand_ins.made();
    for (id, _, name) in &made {
        let Some(rules) = rules_of.get(id.as_str()) else {
            continue;
        };
        let what = format!("NSG `{name}` (`{id}`)");
        let refused = cx.refused.len();
        cx.this_nsg = Some((id.clone(), name.clone()));
        let out: Vec<Value> = rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| cx.rule(r, i, None, &what))
            .collect();
        cx.this_nsg = None;
        if cx.refused.len() > refused {
            let n = cx.refused.split_off(refused).len();
            cx.warnings.push(format!(
                "{what}: a stand-in NSG whose exported rules cannot all be held ({n} stateless rule(s) name an NSG the export lacks or hold what the scenario cannot; left out, a flow they matched could be tracked and its replies let in): it keeps no rule, as if they were not exported"
            ));
            continue;
        }
        cx.nsg_stand_ins.set_rules(name, out);
    }
    for (nsg, fs) in files {
        if cx.ix.nsg.contains_key(nsg) || made.iter().any(|(id, _, _)| id == nsg) {
            continue;
        }
        if !rules_of.contains_key(nsg.as_str()) {
            continue;
        }
        let fs: Vec<String> = fs.iter().map(|f| format!("`{f}`")).collect();
        cx.warnings.push(format!(
            "rules of NSG `{nsg}` left out ({}): the NSG is not in the export (`network-nsg-list.json`) and no VNIC names it",
            fs.join(", ")
        ));
    }
}

/// Whether any of `keys` of `o` (a string or a list of strings) holds a
/// CIDR block.
fn holds_block(o: &Obj, keys: &[&str]) -> bool {
    keys.iter().any(|k| {
        gs(o, k)
            .map(str::to_owned)
            .into_iter()
            .chain(gstrs(o, k))
            .any(|c| c.parse::<ipnet::IpNet>().is_ok())
    })
}

/// Leaves out each VCN the export gives no CIDR block (none of
/// `cidr-blocks`, `cidr-block`, `ipv6-cidr-blocks`,
/// `byoipv6-cidr-blocks`, `ipv6-private-cidr-blocks`, or none valid) and
/// none of whose exported subnets has one, with a warning: it has no
/// address to hold, and what is in it follows it as a VCN left out by
/// `--vcn` does (its subnets, NSGs, lists, tables and gateways left out,
/// references to them read as to objects the export lacks). A VCN whose
/// subnets have blocks keeps them as its own (below). Since the
/// nineteenth session: the import refused its own output ("a vcn needs
/// at least one cidr block").
fn leave_out_blockless_vcns(inv: &mut Inventory, warnings: &mut Vec<String>) {
    let with_blocks: BTreeSet<&str> = inv
        .subnets
        .iter()
        .filter(|o| {
            holds_block(
                o,
                &[
                    "cidr-block",
                    "ipv4-cidr-blocks",
                    "ipv6-cidr-blocks",
                    "ipv6-cidr-block",
                ],
            )
        })
        .filter_map(|o| gs(o, "vcn-id"))
        .collect();
    let mut gone = Vec::new();
    for o in &inv.vcns {
        let id = id_of(o);
        if !holds_block(
            o,
            &[
                "cidr-blocks",
                "cidr-block",
                "ipv6-cidr-blocks",
                "byoipv6-cidr-blocks",
                "ipv6-private-cidr-blocks",
            ],
        ) && !with_blocks.contains(id.as_str())
        {
            let name = gs(o, "display-name").unwrap_or_default();
            warnings.push(format!(
                "VCN `{name}` (`{id}`): the export gives it no CIDR block, and no subnet of it with one; left out, with what is in it (its subnets, NSGs, security lists, route tables and gateways; references to them read as to objects the export lacks, and its VNICs' addresses as external ones): export the VCN again"
            ));
            gone.push(id);
        }
    }
    if !gone.is_empty() {
        inv.vcns.retain(|o| !gone.contains(&id_of(o)));
    }
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
    subnets_from_private_ips(&mut inv, &mut warnings);
    if !vcns.is_empty() {
        keep_vcns(&mut inv, vcns, &mut warnings)?;
    }
    leave_out_blockless_vcns(&mut inv, &mut warnings);
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
    // VCNs the export gives no block (their subnets' blocks are theirs,
    // said once per VCN).
    let mut no_blocks: BTreeSet<String> = BTreeSet::new();
    for (o, name) in inv.vcns.iter().zip(&vcn_names) {
        let same = |a: &str, b: &str| {
            a == b
                || matches!((a.parse::<ipnet::IpNet>(), b.parse::<ipnet::IpNet>()), (Ok(x), Ok(y)) if x.trunc() == y.trunc())
        };
        // Each list's blocks, each once; one that is no CIDR block is left
        // out (the scenario would not load with it): its addresses read
        // as outside the VCN, unless a subnet's block adds it back (below).
        let mut blocks = |key: &str| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for c in gstrs(o, key) {
                if c.parse::<ipnet::IpNet>().is_err() {
                    warnings.push(format!(
                        "VCN `{name}` (`{}`): `{key}` holds `{c}`, which is not a CIDR block; left out",
                        id_of(o)
                    ));
                } else if !out.iter().any(|x| same(x, &c)) {
                    out.push(c);
                }
            }
            out
        };
        let mut bad_single = None;
        let mut cidrs = blocks("cidr-blocks");
        if cidrs.is_empty()
            && let Some(c) = gs(o, "cidr-block")
        {
            // The older single block: one that is no block is left out as
            // those of `cidr-blocks` are (since the nineteenth session; the
            // scenario's load refused it).
            if c.parse::<ipnet::IpNet>().is_ok() {
                cidrs.push(c.to_owned());
            } else {
                bad_single = Some(c);
            }
        }
        // A VCN's IPv6 prefixes: Oracle-allocated and brought (BYOIPv6),
        // which the internet routes, and private ones (ULA or other),
        // which it does not; its subnets' /64s lie in any of them.
        for k in ["ipv6-cidr-blocks", "byoipv6-cidr-blocks"] {
            for c in blocks(k) {
                if !cidrs.iter().any(|x| same(x, &c)) {
                    cidrs.push(c);
                }
            }
        }
        // A prefix listed as private is private, wherever else it is
        // listed (never widened to the internet); an IPv4 prefix there is
        // kept as a block of the VCN.
        let mut private_v6: Vec<String> = Vec::new();
        for c in blocks("ipv6-private-cidr-blocks") {
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
        if let Some(c) = bad_single {
            warnings.push(format!(
                "VCN `{name}` (`{}`): `cidr-block` holds `{c}`, which is not a CIDR block; left out",
                id_of(o)
            ));
        }
        // No block at all (or none valid): its subnets have some (a VCN
        // with neither was left out, `leave_out_blockless_vcns`), taken as
        // its blocks below, an IPv6 one as private.
        if cidrs.is_empty() && private_v6.is_empty() {
            warnings.push(format!(
                "VCN `{name}` (`{}`): the export gives it no CIDR block; the blocks of its subnets are taken as its blocks (IPv6 ones as private: no internet gateway carries them), so its addresses outside them read as external ones: export the VCN again",
                id_of(o)
            ));
            no_blocks.insert(name.clone());
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
    let rules_without_nsg: BTreeSet<String> = inv
        .nsg_rules
        .iter()
        .filter(|(n, _)| !ix.nsg.contains_key(n))
        .map(|(n, _)| n.clone())
        .collect();
    let mut cx = Cx {
        ix: &ix,
        warnings: &mut warnings,
        labels: &mut labels,
        nsg_stand_ins: &mut nsg_stand_ins,
        rules_without_nsg: &rules_without_nsg,
        this_nsg: None,
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
    // Subnets lacking one address family (its blocks all malformed).
    let mut lacking: Vec<(String, Obj, [bool; 2])> = Vec::new();
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
        // Whether an IPv4 (IPv6) block was left out as no CIDR block.
        let mut malformed = [false; 2];
        let mut blocks = |list: &str, one: &str, family: usize| -> Vec<String> {
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
                    malformed[family] = true;
                    cx.warnings.push(format!(
                        "{what}: `{c}` is not a CIDR block; left out (its addresses read as no subnet's)"
                    ));
                }
                ok
            });
            all
        };
        let mut v4 = blocks("ipv4-cidr-blocks", "cidr-block", 0);
        let mut v6 = blocks("ipv6-cidr-blocks", "ipv6-cidr-block", 1);
        // A family whose every block was malformed, beside a valid block
        // of the other: its VNICs' addresses of it get host blocks.
        let lacks = [
            malformed[0] && v4.is_empty() && !v6.is_empty(),
            malformed[1] && v6.is_empty() && !v4.is_empty(),
        ];
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
            if l.trim().is_empty() {
                cx.warnings
                    .push(format!("{what}: a security list id is blank; left out"));
                continue;
            }
            let n = match ix.list.get(&l) {
                Some(n) => n.clone(),
                None => {
                    let n = list_stand_ins.take(&l, &vcn);
                    cx.warnings.push(format!(
                        "{what}: its security list `{l}` is not in the export; kept as `{n}`, a stand-in security list with no rule (export it for what its rules allow)"
                    ));
                    n
                }
            };
            // Named twice, it is one list (the scenario refuses a repeat).
            if !lists.contains(&n) {
                lists.push(n);
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
        if lacks.contains(&true) {
            let family = if lacks[0] { "IPv4" } else { "IPv6" };
            cx.warnings.push(format!(
                "{what}: every {family} block the export gives it is malformed; it keeps its other blocks, and its VNICs' {family} addresses are kept in it with one host block each (`stand_in = true`; its other {family} addresses read as no subnet's): export the subnet again"
            ));
            lacking.push((id_of(o), m, lacks));
        } else if first.is_some() {
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
    // A subnet's block outside its VCN's blocks: the export lists the
    // VCN's blocks short (an older CLI drops `ipv6-private-cidr-blocks`,
    // a `--query` drops a field) and the scenario would not load. The
    // block is added to the VCN: an IPv6 one as private (no internet
    // gateway carries it; the least it could be).
    for o in &inv.subnets {
        let id = &id_of(o);
        let (Some(nets), Some(vcn)) = (
            subnet_nets.get(id),
            ix.subnet.get(id).and_then(|n| subnet_vcn.get(n)),
        ) else {
            continue;
        };
        let Some(at) = vcn_nets.iter().position(|(n, _)| n == vcn) else {
            continue;
        };
        for net in nets {
            if vcn_nets[at].1.iter().any(|b| b.contains(net)) {
                continue;
            }
            vcn_nets[at].1.push(*net);
            let key = match net {
                ipnet::IpNet::V4(_) => "cidr_blocks",
                ipnet::IpNet::V6(_) => "ipv6_private_cidr_blocks",
            };
            if let Some(list) = out_vcns
                .iter_mut()
                .find(|v| v["name"] == vcn.as_str())
                .and_then(|v| v.as_object_mut())
                .map(|v| v.entry(key).or_insert_with(|| json!([])))
                .and_then(Value::as_array_mut)
            {
                list.push(json!(net.to_string()));
            }
            if no_blocks.contains(vcn) {
                continue;
            }
            cx.warnings.push(format!(
                "subnet `{}` (`{id}`): its block `{net}` lies outside the blocks the export gives VCN `{vcn}`; added to them{}",
                ix.subnet.get(id).map_or("", String::as_str),
                if net.addr().is_ipv6() {
                    " as a private IPv6 prefix (no internet gateway carries it: export the VCN with a CLI that gives `ipv6-private-cidr-blocks` and `ipv6-cidr-blocks`)"
                } else {
                    ""
                }
            ));
        }
    }
    let (out_vnics, stand_in_subnets) = vnics::vnics(
        &inv,
        &mut cx,
        &vcn_nets,
        vnics::Subnets {
            names: &subnet_names,
            nets: subnet_nets,
            vcn_of: subnet_vcn,
            private: private_subnets,
            blockless,
            lacking,
            whole_export: vcns.is_empty(),
        },
        vnics::RouteStandIns {
            made: &mut empty_tables,
            names: &mut table_names_used,
            out: &mut out_tables,
        },
    );
    out_subnets.extend(stand_in_subnets);
    stand_in_nsg_rules(&mut cx, &rules_of, &inv.nsg_rule_files);
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
