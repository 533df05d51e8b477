//! ZPR statements that name only what `--vcn` left out.
//!
//! ZPR policies are tenancy-wide, so `--vcn` keeps every statement. A
//! statement naming a security attribute that only objects of the VCNs
//! left out carry (their VCN's `network.vcn:backend`, their VNICs'
//! `app.role:oke-node`) matches nothing in the scenario: a scope term
//! needs a VCN of the scenario carrying it, an endpoint term a VNIC. Kept,
//! each such name drew the loader's warning that "no VNIC or VCN carries"
//! it, with a "did you mean" naming a near attribute of the VCNs kept
//! (`app.role:oke-nodes`): misleading, since the name exists, in what
//! `--vcn` left out (QA round fifteen: 14 warnings on one `explain`).
//! Such statements are now written as comments under their policy, and
//! one warning says so, naming `--vcn`. A statement that also names an
//! attribute nothing in the export carries (a typo) is kept, so the
//! loader's "did you mean" still points at the typo.
//!
//! Verdicts do not change: every statement taken out matches nothing in
//! the scenario (ZPL only allows). What can change is the reason `explain`
//! gives for a ZPR drop of a kept VNIC whose attribute only such a
//! statement named (no statement names it, where one of a left-out VCN
//! did).

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use crate::shared::Attribute;
use crate::zpl::ast::{Endpoint, StatementKind};

/// The key of a policy object holding comment lines to write under it
/// (`layout::write` takes it out and writes them).
pub(in crate::import) const COMMENT: &str = "\u{0}comment";

/// Every attribute of a `security_attributes` value (`{ns: {key:
/// {value, mode}}}`); only the first when `first_only` (a VCN: the
/// loader uses its first).
fn attributes(v: &Value, first_only: bool) -> Vec<Attribute> {
    let mut out = Vec::new();
    let Some(namespaces) = v.as_object() else {
        return out;
    };
    for (ns, keys) in namespaces {
        let Some(keys) = keys.as_object() else {
            continue;
        };
        for (key, value) in keys {
            let value = value.get("value").unwrap_or(value);
            if let Some(value) = value.as_str() {
                out.push(Attribute::new(ns.clone(), key.clone(), value));
                if first_only {
                    return out;
                }
            }
        }
    }
    out
}

/// The attribute terms of a statement.
fn terms(kind: &StatementKind) -> Vec<&Attribute> {
    match kind {
        StatementKind::Scoped { vcn, src, dst } => {
            let mut t = vec![&vcn.node];
            for e in [src, dst] {
                if let Endpoint::Attribute(a) = &e.node {
                    t.push(a);
                }
            }
            t
        }
        StatementKind::CrossVcn {
            src,
            src_vcn,
            dst,
            dst_vcn,
        } => vec![&src.node, &src_vcn.node, &dst.node, &dst_vcn.node],
    }
}

/// Takes out of `policies` (the scenario's `zpr_policy` objects) each
/// statement that names an attribute carried by nothing the scenario
/// holds (`vcns`, `vnics`: its objects) but by something `--vcn` left out
/// (`left`: the `--vcn` words and the left-out objects'
/// `security-attributes`), and no attribute that nothing in the export
/// carries; writes them as comments under their policy, with one warning.
pub(super) fn statements_of_left_out_vcns(
    policies: &mut [Value],
    vcns: &[Value],
    vnics: &[Value],
    left: &(Vec<String>, Vec<Value>),
    warnings: &mut Vec<String>,
) {
    let (words, left_attributes) = left;
    let left_out: HashSet<Attribute> = left_attributes
        .iter()
        .flat_map(|a| attributes(a, false))
        .collect();
    if left_out.is_empty() {
        return;
    }
    let of = |objs: &[Value], first_only: bool| -> Vec<Attribute> {
        objs.iter()
            .filter_map(|o| o.get("security_attributes"))
            .flat_map(|a| attributes(a, first_only))
            .collect()
    };
    let carried: HashSet<Attribute> = of(vcns, true).into_iter().chain(of(vnics, false)).collect();
    let flag = words
        .iter()
        .map(|w| format!("--vcn {}", crate::escape::escape(w)))
        .collect::<Vec<_>>()
        .join(" ");
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut policy_names: Vec<String> = Vec::new();
    let mut count = 0usize;
    for p in policies.iter_mut() {
        let Some(list) = p.get_mut("statements").and_then(Value::as_array_mut) else {
            continue;
        };
        let mut taken: Vec<String> = Vec::new();
        list.retain(|st| {
            let Some(text) = st.as_str() else { return true };
            let Ok(parsed) = crate::zpl::parse_statement(text) else {
                return true;
            };
            let missing: Vec<&Attribute> = terms(&parsed.kind)
                .into_iter()
                .filter(|a| !carried.contains(*a))
                .collect();
            if missing.is_empty() || !missing.iter().all(|a| left_out.contains(*a)) {
                return true;
            }
            names.extend(missing.iter().map(ToString::to_string));
            taken.push(text.to_owned());
            false
        });
        if taken.is_empty() {
            continue;
        }
        count += taken.len();
        if let Some(n) = p.get("name").and_then(Value::as_str) {
            policy_names.push(format!("`{}`", crate::escape::escape(n)));
        }
        let mut comment = format!(
            "# Left out by `{flag}`: these statements name security attributes that only VCNs, VNICs or load balancers `{flag}` left out carry, so they match nothing here:\n"
        );
        for st in taken {
            for (i, line) in st.lines().enumerate() {
                let lead = if i == 0 { "#   " } else { "#     " };
                comment.push_str(lead);
                comment.push_str(&crate::escape::escape(line));
                comment.push('\n');
            }
        }
        if let Some(o) = p.as_object_mut() {
            o.insert(COMMENT.into(), Value::String(comment));
        }
    }
    if count == 0 {
        return;
    }
    let shown: Vec<String> = names.iter().take(5).map(|n| format!("`{n}`")).collect();
    let more = if names.len() > shown.len() {
        ", ..."
    } else {
        ""
    };
    warnings.push(format!(
        "ZPR: {count} statement(s) of policies {} name security attributes ({}{more}) that only objects left out by `{flag}` carry: left out by `{flag}`, they match nothing in this scenario and are written as comments under their policies",
        policy_names.join(", "),
        shown.join(", ")
    ));
}
