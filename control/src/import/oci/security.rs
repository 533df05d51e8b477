//! Security lists and NSGs with their rules, and the rules of NSGs the
//! export lacks kept on their stand-ins.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::inventory::Inventory;
use super::json::{Obj, g, garr, gs, id_of};
use super::rules::Cx;
use super::vcn_ref;

/// The security lists of `inv` (named `names`).
pub(super) fn security_lists(inv: &Inventory, names: &[String], cx: &mut Cx<'_>) -> Vec<Value> {
    let ix = cx.ix;
    let mut out_lists = Vec::new();
    for (o, name) in inv.lists.iter().zip(names) {
        let what = format!("security list `{name}` (`{}`)", id_of(o));
        let Some(vcn) = vcn_ref(ix, o, &what, cx.warnings) else {
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
            // A direction the export does not give (absent, null, not a
            // list: a `--query`, a hand-trimmed file) is unknown, not none
            // (since the twenty-first session; it was read as none, so
            // what a stateless rule of it would have untracked was
            // tracked: the late review's H2): the list is a stand-in, its
            // other direction's rules kept, nothing tracked at its VNICs.
            if !g(o, kebab).is_some_and(Value::is_array) {
                cx.warnings.push(format!(
                    "{what}: the export does not give its `{kebab}` (absent, null, or not a list): its rules of that direction are unknown; kept as a stand-in (`stand_in = true`: nothing is tracked at its subnets' VNICs, since a stateless rule it lacks could win) (export it with `oci network security-list get --security-list-id {}`)",
                    id_of(o)
                ));
                m.insert("stand_in".into(), json!(true));
            }
        }
        out_lists.push(Value::Object(m));
    }
    out_lists
}

/// The NSGs of `inv` (named `names`) with their rules (`rules_of`, by NSG
/// OCID).
pub(super) fn nsgs(
    inv: &Inventory,
    names: &[String],
    rules_of: &HashMap<&str, Vec<&Obj>>,
    cx: &mut Cx<'_>,
) -> Vec<Value> {
    let ix = cx.ix;
    // Every exported NSG's VCN first: a rule naming an NSG of another VCN
    // is told by it, whichever comes first.
    for o in &inv.nsgs {
        if let Some(vcn) = gs(o, "vcn-id").and_then(|v| ix.vcn.get(v)) {
            cx.nsg_vcn.insert(id_of(o), vcn.clone());
        }
    }
    let mut out_nsgs = Vec::new();
    for (o, name) in inv.nsgs.iter().zip(names) {
        let id = id_of(o);
        let what = format!("NSG `{name}` (`{id}`)");
        let Some(vcn) = vcn_ref(ix, o, &what, cx.warnings) else {
            continue;
        };
        cx.this_vcn = Some(vcn.clone());
        let untracked = cx.untracked;
        let rules: Vec<Value> = rules_of
            .get(id.as_str())
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, r)| cx.rule(r, i, None, &what))
            .collect();
        cx.this_vcn = None;
        cx.nsg_vcn.insert(id.clone(), vcn.clone());
        let mut nsg = json!({ "name": name, "id": id, "vcn": vcn, "rules": rules });
        // A stateless rule of it left out, naming an NSG it cannot be
        // resolved to safely ([`Cx::unresolved`]): nothing tracked here.
        if cx.untracked > untracked {
            nsg["stand_in"] = json!(true);
        }
        // No rules file for it (`network-nsg-rules-list.<OCID>.json`, one
        // per NSG, `{"data": []}` for one without rules): its rules are
        // unknown, and a stateless one could match (stateless wins), so it
        // is a stand-in, at whose VNICs nothing is tracked (since the
        // nineteenth session: it was an NSG without rules, which tracked
        // connections the network does not).
        if !inv.nsg_rules_exported.contains(&id) {
            cx.warnings.push(format!(
                "{what}: its rules file (`network-nsg-rules-list.{id}.json`) is not in the export; kept as a stand-in with no rule (`stand_in = true`: nothing is tracked at its VNICs): export its rules with `oci network nsg rules list --nsg-id {id} --all`"
            ));
            nsg["stand_in"] = json!(true);
        }
        out_nsgs.push(nsg);
    }
    out_nsgs
}

/// Finds the NSGs the export lacks that VNICs of more than one VCN name
/// (one stand-in per VCN: an NSG belongs to one VCN, so the export
/// contradicts itself, and which VCN is the NSG's is unknown) and sets
/// [`Cx::contested`]. Least allowing, since the twentieth session (each
/// copy had the NSG's exported rules and OCID: a VNIC of the wrong VCN got
/// the NSG's allows, rules of a copy naming NSGs of another VCN made the
/// import refuse its own output, and every copy but the first lost its id
/// with a warning that one id was used for two objects): each copy keeps
/// its members (the VNICs of its VCN naming the NSG: as a stand-in,
/// nothing is tracked at them) and no rule; only the first (by name)
/// keeps the OCID; a stateful rule naming the NSG is left out (it could
/// match VNICs that are not in it), a stateless one names its VCN's copy
/// (left out, it could not untrack where the network does). One warning
/// per such NSG.
///
/// Claimed by VNICs of one VCN and by a rule of an NSG of another (an
/// exported NSG's, or the exported rules of another NSG the export lacks,
/// in its copy's VCN) is as contested (since the twenty-first session:
/// the copy with members kept the NSG's exported rules, and rules of its
/// VCN naming it matched its members, though the NSG may be the other
/// VCN's, planning item 4 of the twentieth session's note). Rules naming
/// it from a VCN where no VNIC names it name a copy with no member, which
/// matches nothing, whichever VCN is the NSG's. Rules naming it from a
/// VCN whose VNICs name it are left out, stateful or stateless (a
/// stateless one with nothing tracked at its NSG's VNICs:
/// [`Cx::unresolved`]; the mid-session review's L6: it named that
/// VCN's copy).
pub(super) fn contested_nsgs(cx: &mut Cx<'_>, rules_of: &HashMap<&str, Vec<&Obj>>) {
    let mut vcns_of: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let made = cx.nsg_stand_ins.made();
    for (id, vcn, name) in &made {
        // Copies of exported NSGs (a VNIC of another VCN naming one) are
        // no NSG the export lacks.
        if !cx.ix.nsg.contains_key(id) {
            vcns_of
                .entry(id.clone())
                .or_default()
                .push((vcn.clone(), name.clone()));
        }
    }
    // The VCNs whose rules name each NSG the export lacks.
    let mut ruled: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (peer, vcn) in cx.pending_claims() {
        ruled.entry(peer).or_default().insert(vcn);
    }
    for (id, vcn, _) in &made {
        if cx.ix.nsg.contains_key(id) || vcns_of.get(id).is_some_and(|c| c.len() > 1) {
            continue;
        }
        for r in rules_of.get(id.as_str()).into_iter().flatten() {
            for (peer, ty) in [
                ("source", "source-type"),
                ("destination", "destination-type"),
            ] {
                if gs(r, ty).is_some_and(|t| t.eq_ignore_ascii_case("NETWORK_SECURITY_GROUP"))
                    && let Some(p) = gs(r, peer)
                    && p != id
                {
                    ruled.entry(p.to_owned()).or_default().insert(vcn.clone());
                }
            }
        }
    }
    for (id, copies) in vcns_of {
        let others: Vec<String> = ruled
            .get(&id)
            .into_iter()
            .flatten()
            .filter(|v| !copies.iter().any(|(c, _)| c == *v))
            .cloned()
            .collect();
        if copies.len() < 2 {
            if !others.is_empty() {
                let (vcn, name) = &copies[0];
                cx.warnings.push(format!(
                    "NSG `{id}` is not in the export; VNICs of VCN `{vcn}` name it, and rules of NSGs of VCN(s) {} name it too: an NSG's rules name NSGs of its VCN, so the export contradicts itself, and which VCN is the NSG's is unknown; the VNICs of `{vcn}` are kept in `{name}`, a stand-in with no rule (its exported rules, if any, are left out) and nothing tracked at them, rules of `{vcn}` naming it are left out, and rules of the other VCN(s) name a copy with no member: export it with `oci network nsg get --nsg-id {id}`",
                    others.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
                ));
                cx.contested.insert(id);
            }
            continue;
        }
        for (_, name) in &copies[1..] {
            cx.nsg_stand_ins.drop_id(name);
        }
        let each: Vec<String> = copies
            .iter()
            .map(|(vcn, name)| format!("`{name}` in `{vcn}`"))
            .collect();
        cx.warnings.push(format!(
            "NSG `{id}` is not in the export, and VNICs of {} VCNs name it: an NSG belongs to one VCN, so the export contradicts itself, and which VCN is the NSG's is unknown; the VNICs of each are kept in a stand-in of their VCN ({}; the first keeps the OCID) with no rule (its exported rules, if any, are left out) and nothing tracked at them, and rules naming it are left out (a stateless one with nothing tracked at its NSG's VNICs): export it with `oci network nsg get --nsg-id {id}`",
            copies.len(),
            each.join(", ")
        ));
        cx.contested.insert(id);
    }
}

/// The rules the export holds for NSGs `network-nsg-list.json` lacks
/// (`network-nsg-rules-list.<OCID>.json`), by OCID in `rules_of`: kept on
/// the stand-in a VNIC naming the NSG got (its name and VCN guessed, its
/// rules exported facts; since the nineteenth session, when they were
/// left out), with the rule peers of an exported NSG (a peer NSG the
/// export lacks is its stand-in, with no member when no VNIC names it, as
/// for an exported NSG; the NSG itself is its stand-in). A stand-in whose stateless rules cannot all be
/// held keeps no rule, as before. Rules of such an NSG that no VNIC names
/// are left out, with a warning naming their files.
pub(super) fn stand_in_nsg_rules(
    cx: &mut Cx<'_>,
    rules_of: &HashMap<&str, Vec<&Obj>>,
    files: &BTreeMap<String, BTreeSet<String>>,
) {
    let made = cx.nsg_stand_ins.made();
    for (id, vcn, name) in &made {
        let Some(rules) = rules_of.get(id.as_str()) else {
            continue;
        };
        // Named by VNICs of several VCNs: its VCN is unknown
        // ([`contested_nsgs`]); named by rules only: no member for its
        // rules to apply to (and they may name NSGs of another VCN).
        // An exported NSG's copy in another VCN (its VNICs name it there,
        // [`Cx::nsg_names`]): the rules are the exported NSG's.
        if cx.contested.contains(id) || cx.member_less.contains(name) || cx.ix.nsg.contains_key(id)
        {
            continue;
        }
        let what = format!("NSG `{name}` (`{id}`)");
        let refused = cx.refused.len();
        cx.this_nsg = Some((id.clone(), name.clone()));
        cx.this_vcn = Some(vcn.clone());
        let out: Vec<Value> = rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| cx.rule(r, i, None, &what))
            .collect();
        cx.this_nsg = None;
        cx.this_vcn = None;
        if cx.refused.len() > refused {
            let n = cx.refused.split_off(refused).len();
            cx.warnings.push(format!(
                "{what}: a stand-in NSG whose exported rules cannot all be held ({n} stateless rule(s) hold what the scenario cannot; left out, a flow they matched could be tracked and its replies let in): it keeps no rule, as if they were not exported"
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
