//! VCNs: their blocks (one that is no block left out), a VCN without
//! any refused, and a subnet's block outside its VCN's added to them.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::super::ImportError;
use super::inventory::{Index, Inventory};
use super::json::{Obj, g, gs, gstrs, id_of};
use super::rules::attributes;

/// The VCNs as scenario objects, with what the later stages need.
pub(super) struct Vcns {
    /// The VCNs, as scenario objects.
    pub(super) out: Vec<Value>,
    /// Each VCN's name and blocks (for the stand-in subnets of VNICs whose
    /// subnet the export lacks).
    pub(super) nets: Vec<(String, Vec<ipnet::IpNet>)>,
}

/// The fields of a VCN (`oci network vcn get`) that give its blocks, each a
/// string or a list of strings.
pub(super) const VCN_BLOCK_KEYS: [&str; 5] = [
    "cidr-blocks",
    "cidr-block",
    "ipv6-cidr-blocks",
    "byoipv6-cidr-blocks",
    "ipv6-private-cidr-blocks",
];

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

/// Refuses an export with a VCN it gives no CIDR block (none of
/// `cidr-blocks`, `cidr-block`, `ipv6-cidr-blocks`, `byoipv6-cidr-blocks`,
/// `ipv6-private-cidr-blocks`, or none valid), naming each such VCN and
/// the `oci` command that exports it. No guess is safe: the addresses of
/// the real VCN outside its subnets are unassigned VCN addresses (an
/// internet gateway does not reach them, no route leaves the VCN for
/// them), and with its blocks unknown they cannot be told from external
/// ones. Its subnets' blocks taken as its own (as in the nineteenth
/// session, before the mid-session review) made the gaps external: a
/// route to an internet gateway then allowed what the network gives no
/// route. A wider guess can overlap another VCN's real blocks, and
/// leaving the VCN out makes all of its addresses external. Since the
/// nineteenth session (the import wrote either).
///
/// # Errors
/// Each VCN without a block, in one message.
pub(super) fn refuse_blockless_vcns(inv: &Inventory) -> Result<(), ImportError> {
    let mut refused = Vec::new();
    for o in &inv.vcns {
        if holds_block(o, &VCN_BLOCK_KEYS) {
            continue;
        }
        let id = id_of(o);
        let name = gs(o, "display-name").unwrap_or_default();
        refused.push(format!(
            "VCN `{name}` (`{id}`): the export gives it no CIDR block (none of `cidr-blocks`, `cidr-block`, `ipv6-cidr-blocks`, `byoipv6-cidr-blocks`, `ipv6-private-cidr-blocks`, or none valid); its addresses outside its subnets cannot be told from external ones, which routes could reach where the network gives no route, so it is not imported: export it again (`oci network vcn get --vcn-id {id}`), or import the other VCNs (`--vcn NAME`)"
        ));
    }
    if refused.is_empty() {
        return Ok(());
    }
    Err(ImportError {
        file: "the export".into(),
        line: None,
        column: None,
        message: refused.join("; "),
    })
}

/// Refuses an export (imported without `--vcn`) whose subnets name, by
/// their `vcn-id`, a VCN OCID it lacks (`network-vcn-list.json` missing,
/// or without that VCN), naming each such VCN, its subnets, and the two
/// ways out: export the VCN, or import the VCNs the export holds with
/// `--vcn`, which leaves the others' subnets out knowingly. Since the
/// twenty-second session: they were left out with a warning, as a VCN of
/// another compartment's; their VNICs' addresses were then external ones
/// (or unassigned ones of an exported VCN of overlapping blocks), on whose
/// side no security layer runs, and every drop the whole export makes
/// there was judged otherwise, owed to nothing (QA round sixteen's random
/// cuts: the OKE export without its VCN imported with no VNIC, and the
/// demo capture dropped 168 packets, 33 with the whole export). As for a
/// VCN without blocks ([`refuse_blockless_vcns`]), no stand-in is safe:
/// its blocks, gateways, route tables and lists are unknown, and its
/// subnets' blocks taken as its own make the gaps between them external.
///
/// # Errors
/// Each VCN the exported subnets name and the export lacks, in one
/// message.
pub(super) fn refuse_missing_vcns(inv: &Inventory) -> Result<(), ImportError> {
    let held: std::collections::HashSet<String> = inv.vcns.iter().map(id_of).collect();
    let mut missing: std::collections::BTreeMap<&str, Vec<String>> =
        std::collections::BTreeMap::new();
    for o in &inv.subnets {
        if let Some(v) =
            gs(o, "vcn-id").filter(|v| v.starts_with("ocid1.vcn.") && !held.contains(*v))
        {
            // Each subnet whole: `name` (`ocid`), or `ocid` without a name.
            let named = gs(o, "display-name").map_or_else(
                || format!("`{}`", id_of(o)),
                |n| format!("`{n}` (`{}`)", id_of(o)),
            );
            missing.entry(v).or_default().push(named);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let held_names: Vec<String> = inv
        .vcns
        .iter()
        .map(|v| {
            format!(
                "`--vcn {}`",
                gs(v, "display-name").map_or_else(|| id_of(v), str::to_owned)
            )
        })
        .collect();
    let out = if held_names.is_empty() {
        "the export holds no VCN to import without it".to_owned()
    } else {
        format!(
            "or import the VCNs the export holds without it ({}), which leaves its subnets out",
            held_names.join(" ")
        )
    };
    let message = missing
        .iter()
        .map(|(vcn, subnets)| {
            format!(
                "VCN `{vcn}` is not in the export, and its subnet(s) {} are: their VCN's blocks, route tables, lists and gateways are unknown, and left out, their VNICs' addresses would be judged as external ones, on whose side no security layer runs, so it is not imported: export the VCN (`oci network vcn get --vcn-id {vcn}`, or `oci network vcn list` in its compartment), {out}",
                subnets.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(ImportError {
        file: "the export".into(),
        line: None,
        column: None,
        message,
    })
}

/// The VCNs of `inv` (named `names`).
pub(super) fn vcns(inv: &Inventory, names: &[String], warnings: &mut Vec<String>) -> Vcns {
    let mut out_vcns = Vec::new();
    // Each VCN's name and blocks (for the stand-in subnets of VNICs whose
    // subnet the export lacks).
    let mut vcn_nets: Vec<(String, Vec<ipnet::IpNet>)> = Vec::new();
    for (o, name) in inv.vcns.iter().zip(names) {
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
    Vcns {
        out: out_vcns,
        nets: vcn_nets,
    }
}

/// Adds each subnet's block that lies outside its VCN's blocks to them
/// (`subnet_nets`, `subnet_vcn`: the subnets' blocks by OCID and VCNs by
/// name).
pub(super) fn widen(
    inv: &Inventory,
    ix: &Index,
    subnet_nets: &HashMap<String, Vec<ipnet::IpNet>>,
    subnet_vcn: &HashMap<String, String>,
    vcns: &mut Vcns,
    warnings: &mut Vec<String>,
) {
    let Vcns {
        out: out_vcns,
        nets: vcn_nets,
    } = vcns;
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
            warnings.push(format!(
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
}

/// The VCNs of `inv` (named `names`) whose `security-attributes` the
/// export does not give (absent or null: an older CLI, a `--query`, a
/// hand-trimmed file) in an export that uses ZPR (`zpr`). Written without
/// an attribute (the least a VCN's attribute could allow: a statement
/// scoped to one, `in network.vcn:backend VCN ...`, selects no VCN, and
/// an attributed endpoint stays default-deny), and every attributed VNIC
/// of it (`out_vnics`, whose VCN `out_subnets` say) carries the stand-in
/// attribute beside its own, in enforce mode unless every attribute of it
/// is `audit`: no statement names it, so no verdict changes, and each ZPR
/// drop at it is owed to a stand-in (`stand_in_drops`). Only an
/// attributed endpoint's check is scoped by a VCN's attribute (its own
/// VCN's, or both VCNs' for a statement across two), so every ZPR drop
/// the unknown attribute can add has such a VNIC at one end. Since the
/// twenty-second session: the VCN was read as carrying none, silently,
/// and the drops were owed to nothing (QA round sixteen's random cuts: the
/// demo capture dropped 168 packets, 33 with the whole export, none owed).
pub(super) fn unknown_attributes(
    inv: &Inventory,
    names: &[String],
    zpr: bool,
    out_subnets: &[Value],
    out_vnics: &mut [Value],
    warnings: &mut Vec<String>,
) {
    if !zpr {
        return;
    }
    for (o, name) in inv.vcns.iter().zip(names) {
        if g(o, "security-attributes").is_some() {
            continue;
        }
        let subnets: Vec<&str> = out_subnets
            .iter()
            .filter(|s| s["vcn"] == name.as_str())
            .filter_map(|s| s["name"].as_str())
            .collect();
        let mut marked = 0;
        for v in out_vnics.iter_mut() {
            if !v["subnet"].as_str().is_some_and(|s| subnets.contains(&s)) {
                continue;
            }
            let Some(attrs) = v
                .get_mut("security_attributes")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            if attrs.contains_key(crate::shared::STAND_IN_NAMESPACE) {
                continue;
            }
            let enforce = attrs
                .values()
                .filter_map(Value::as_object)
                .flat_map(|keys| keys.values())
                .any(|a| a.get("mode").and_then(Value::as_str) != Some("audit"));
            attrs.insert(
                crate::shared::STAND_IN_NAMESPACE.into(),
                json!({ "attributes": {
                    "value": "unknown",
                    "mode": if enforce { "enforce" } else { "audit" },
                } }),
            );
            marked += 1;
        }
        warnings.push(format!(
            "VCN `{name}` (`{}`): the export does not give its `security-attributes` (absent or null) and uses ZPR: its attribute is unknown; imported with none (statements scoped to a VCN attribute, `in ATTR VCN`, apply nowhere in it: the least its attribute could allow), and its {marked} attributed VNIC(s) also carry the attribute `{}.attributes:unknown`, which no statement names, so the ZPR drops at them are owed to a stand-in (export it with `oci network vcn get --vcn-id {}`)",
            id_of(o),
            crate::shared::STAND_IN_NAMESPACE,
            id_of(o)
        ));
    }
}
