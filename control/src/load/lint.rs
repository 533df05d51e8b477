//! Lint-level checks at load: typos that would otherwise pass silently.
//!
//! - a ZPR statement names an attribute that no VNIC or VCN carries (the
//!   statement can never match), with the closest attribute that exists;
//! - a statement names an attribute only VNICs outside the VCNs that scope
//!   it carry (it can never match them: a flow between two VCNs written in
//!   the one-VCN form, or the two-VCN form with its VCNs swapped);
//! - the scenario is empty (no VCN);
//! - "did you mean" for an unknown field (`cidr_block` for `cidr_blocks`)
//!   and for a reference that names nothing (`db_nsg` for `db-nsg`).
//!
//! Closeness is the optimal-string-alignment edit distance of the `strsim`
//! crate (typos are mostly one insertion, deletion, substitution or swap).

/// ahash (random keys) instead of std's SipHash: the set of carried
/// attributes hashes every VNIC's attributes (2 × 10^4 on a 10k-VNIC
/// scenario) on each load.
type HashSet<K> = std::collections::HashSet<K, ahash::RandomState>;

use ipnet::{IpNet, Ipv4Net};

use super::{Loaded, Warning, WarningCode};
use crate::model::{Attribute, DEFAULT_NAMESPACE, Scenario};
use crate::zpl::ast::{Endpoint, StatementKind};

/// The IPv4 block an IPv4-mapped IPv6 block (inside `::ffff:0:0/96`)
/// stands for; `None` for any other block.
pub(crate) fn ipv4_mapped(n: &IpNet) -> Option<Ipv4Net> {
    let IpNet::V6(n) = n else { return None };
    let v4 = n.addr().to_ipv4_mapped()?;
    n.prefix_len()
        .checked_sub(96)
        .and_then(|len| Ipv4Net::new(v4, len).ok())
}

/// The warning for an IPv4-mapped block, `in {what}: ...`.
pub(crate) fn ipv4_mapped_message(what: &str, n: &IpNet, v4: &Ipv4Net) -> String {
    format!(
        "in {what}: `{n}` is an IPv4-mapped IPv6 block: it matches IPv6 packets only, never IPv4 traffic; write `{v4}`"
    )
}

/// Lint warnings kept at most (the loader keeps at most 1000 in all).
const MAX_LINT_WARNINGS: usize = 1000;

/// The candidate closest to `word`, if one is close enough to be a typo:
/// at most a third of the word's length in edits (at least 1, at most 3),
/// and at most half of it (`m` is not a typo of `n`).
/// Ties go to the smallest candidate, so the answer never depends on order.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    let lower = word.to_lowercase();
    let len = word.chars().count();
    candidates
        .into_iter()
        .filter(|c| *c != word && c.chars().count().abs_diff(len) <= limit)
        .map(|c| (strsim::osa_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit && d * 2 <= len)
        .min()
        .map(|(_, c)| c)
}

/// `"; did you mean `x`?"`, or nothing when no candidate is close.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    // One text in another Unicode normalization prints alike: "did you
    // mean `café`?" would name what the user typed.
    if let Some(h) = super::lookalike::hint(word, candidates.iter().copied()) {
        return h;
    }
    closest(word, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// serde's "unknown field `x`, expected one of `a`, `b`" (or "expected
/// `a` or `b`", "expected `a`") with "did you mean" when one is close.
pub(crate) fn unknown_field_hint(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_owned();
    };
    let Some((field, expected)) = rest.split_once("`, expected ") else {
        return message.to_owned();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match closest(field, known) {
        Some(c) => format!("unknown field `{field}`; did you mean `{c}`? (expected {expected})"),
        None => message.to_owned(),
    }
}

/// An attribute as a statement writes it: the default namespace left out.
fn written(a: &Attribute) -> String {
    if a.namespace == DEFAULT_NAMESPACE {
        let mut short = a.clone();
        short.namespace.clear();
        let full = short.to_string();
        // `'.key:value'` or `.key:value`: drop the empty namespace's dot.
        full.replacen("'.", "'", 1)
            .strip_prefix('.')
            .map(str::to_owned)
            .unwrap_or_else(|| full.replacen("'.", "'", 1))
    } else {
        a.to_string()
    }
}

/// 1-based (line, column) of byte `offset` of a statement's text.
fn relative(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// Line and column in its file of byte `start` of a statement's text.
fn place(st: &crate::model::PolicyStatement, start: usize) -> (Option<u32>, Option<u32>) {
    if st.origin.line == 0 {
        return (None, None);
    }
    let (rl, rc) = relative(&st.text, start);
    if rl <= 1 {
        (Some(st.origin.line), Some(st.origin.column + rc - 1))
    } else {
        (Some(st.origin.line + rl - 1), Some(rc))
    }
}

/// IPv4-mapped blocks in statements (rules are warned as they resolve).
fn mapped_blocks(s: &Scenario, out: &mut Vec<Warning>) {
    for policy in &s.zpr_policies {
        for st in &policy.statements {
            let ends = match &st.statement.kind {
                StatementKind::Scoped { src, dst, .. } => [src, dst],
                StatementKind::CrossVcn { .. } => continue,
            };
            for e in ends {
                let Endpoint::Cidr(n) = &e.node else { continue };
                let Some(v4) = ipv4_mapped(n) else { continue };
                if out.len() >= MAX_LINT_WARNINGS {
                    return;
                }
                let (line, column) = place(st, e.span.start);
                out.push(Warning {
                    code: WarningCode::Ipv4Mapped,
                    file: st.origin.file.clone(),
                    line,
                    column,
                    message: ipv4_mapped_message(&format!("zpr_policy `{}`", policy.name), n, &v4),
                });
            }
        }
    }
}

/// Adds the lint warnings of a loaded scenario.
pub(crate) fn lint(loaded: &mut Loaded, file: &str) {
    let mut out = Vec::new();
    empty(&loaded.scenario, file, &mut out);
    unknown_attributes(&loaded.scenario, &mut out);
    outside_scope(&loaded.scenario, &mut out);
    mapped_blocks(&loaded.scenario, &mut out);
    let room = MAX_LINT_WARNINGS.saturating_sub(loaded.warnings.len());
    loaded.warnings.extend(out.into_iter().take(room));
}

/// One-VCN statements whose endpoint attribute only VNICs outside the
/// statement's VCNs carry (semantics: such a term names a VNIC in the
/// scoped VCN). An attribute nothing carries, or a scope no VCN carries, is
/// [`unknown_attributes`]' warning, not this one.
fn outside_scope(s: &Scenario, out: &mut Vec<Warning>) {
    // Each VNIC attribute with the VCNs of the VNICs carrying it.
    let mut vcns_of: std::collections::HashMap<&Attribute, Vec<usize>, ahash::RandomState> =
        std::collections::HashMap::default();
    for v in &s.vnics {
        let vcn = s.subnets[v.subnet.index()].vcn.index();
        for a in &v.attributes {
            let e = vcns_of.entry(&a.attribute).or_default();
            if !e.contains(&vcn) {
                e.push(vcn);
            }
        }
    }
    // The VCNs carrying each VCN attribute: once, not once a statement.
    let mut vcns_with: std::collections::HashMap<&Attribute, Vec<usize>, ahash::RandomState> =
        std::collections::HashMap::default();
    for (i, v) in s.vcns.iter().enumerate() {
        if let Some(a) = &v.attribute {
            vcns_with.entry(a).or_default().push(i);
        }
    }
    let mut warned: HashSet<(&Attribute, &Attribute)> = HashSet::default();
    for policy in &s.zpr_policies {
        for st in &policy.statements {
            // Each attribute term with the VCN attribute that scopes it
            // (form A: the statement's VCN for both ends; form B: each
            // end's own `in ... VCN`).
            let mut terms: Vec<(&Attribute, usize, &Attribute)> = Vec::new();
            let one_vcn = match &st.statement.kind {
                StatementKind::Scoped { vcn, src, dst } => {
                    for e in [src, dst] {
                        if let Endpoint::Attribute(a) = &e.node {
                            terms.push((a, e.span.start, &vcn.node));
                        }
                    }
                    true
                }
                StatementKind::CrossVcn {
                    src,
                    src_vcn,
                    dst,
                    dst_vcn,
                } => {
                    terms.push((&src.node, src.span.start, &src_vcn.node));
                    terms.push((&dst.node, dst.span.start, &dst_vcn.node));
                    false
                }
            };
            for (a, start, scope) in terms {
                let Some(scoped) = vcns_with.get(scope) else {
                    continue;
                };
                let Some(found) = vcns_of.get(a) else {
                    continue;
                };
                if found.iter().any(|v| scoped.contains(v)) || !warned.insert((scope, a)) {
                    continue;
                }
                if out.len() >= MAX_LINT_WARNINGS {
                    return;
                }
                let elsewhere: Vec<String> = found
                    .iter()
                    .map(|v| format!("`{}`", s.vcns[*v].name))
                    .collect();
                let (line, column) = place(st, start);
                let hint = if one_vcn {
                    "; for a flow between two VCNs write `allow ... in ... VCN to connect to ... in ... VCN`, or name the other side by its CIDR"
                } else {
                    ": is that end's `in ... VCN` the other one's?"
                };
                out.push(Warning {
                    code: WarningCode::AttributeOutsideScope,
                    file: st.origin.file.clone(),
                    line,
                    column,
                    message: format!(
                        "in zpr_policy `{}`: only VNICs of VCN {} carry `{}`, and in `in {} VCN` it names VNICs of the VCNs carrying `{}` only, so this statement never matches it{hint}",
                        policy.name,
                        elsewhere.join(", "),
                        written(a),
                        written(scope),
                        written(scope)
                    ),
                });
            }
        }
    }
}

fn empty(s: &Scenario, file: &str, out: &mut Vec<Warning>) {
    if !s.vcns.is_empty() {
        return;
    }
    let message = "the scenario is empty: it defines no VCN, so no packet has a source or destination it knows";
    out.push(Warning {
        code: WarningCode::EmptyScenario,
        file: file.to_owned(),
        line: None,
        column: None,
        message: message.to_owned(),
    });
}

fn unknown_attributes(s: &Scenario, out: &mut Vec<Warning>) {
    let carried: HashSet<&Attribute> = s
        .vnics
        .iter()
        .flat_map(|v| v.attributes.iter().map(|a| &a.attribute))
        .chain(s.vcns.iter().filter_map(|v| v.attribute.as_ref()))
        .collect();
    let mut shown: Vec<String> = carried.iter().map(|a| written(a)).collect();
    shown.sort();
    let mut warned: HashSet<&Attribute> = HashSet::default();
    for policy in &s.zpr_policies {
        for st in &policy.statements {
            let mut found: Vec<(&Attribute, usize)> = Vec::new();
            match &st.statement.kind {
                StatementKind::Scoped { vcn, src, dst } => {
                    found.push((&vcn.node, vcn.span.start));
                    for e in [src, dst] {
                        if let Endpoint::Attribute(a) = &e.node {
                            found.push((a, e.span.start));
                        }
                    }
                }
                StatementKind::CrossVcn {
                    src,
                    src_vcn,
                    dst,
                    dst_vcn,
                } => {
                    for t in [src, src_vcn, dst, dst_vcn] {
                        found.push((&t.node, t.span.start));
                    }
                }
            }
            for (a, start) in found {
                if carried.contains(a) || !warned.insert(a) {
                    continue;
                }
                if out.len() >= MAX_LINT_WARNINGS {
                    return;
                }
                let w = written(a);
                let hint = did_you_mean(&w, shown.iter().map(String::as_str));
                let (line, column) = place(st, start);
                out.push(Warning {
                    code: WarningCode::UnknownAttribute,
                    file: st.origin.file.clone(),
                    line,
                    column,
                    message: format!(
                        "in zpr_policy `{}`: no VNIC or VCN carries `{w}`, so this statement never matches it{hint}",
                        policy.name
                    ),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{closest, unknown_field_hint};
    use crate::load::from_toml_str;
    use crate::warning::WarningCode;

    const NET: &str = r#"[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
security_attributes = { network = { vcn = { value = "corp" } } }
[[subnet]]
name = "s"
vcn = "v"
cidr_block = "10.0.1.0/24"
[[nsg]]
name = "db-nsg"
vcn = "v"
[[vnic]]
name = "web"
subnet = "s"
private_ips = ["10.0.1.10"]
security_attributes = { app = { tier = { value = "web" } } }
[[vnic]]
name = "db"
subnet = "s"
private_ips = ["10.0.1.20"]
security_attributes = { app = { tier = { value = "db" } } }
"#;

    fn warnings(extra: &str) -> Vec<String> {
        match from_toml_str(&format!("{NET}{extra}"), "s.toml") {
            Ok(l) => l.warnings.iter().map(ToString::to_string).collect(),
            Err(e) => vec![format!("error: {e}")],
        }
    }

    #[test]
    fn an_attribute_no_endpoint_carries_is_warned_at_the_term_with_the_closest() {
        let w = warnings(
            "[[zpr_policy]]\nname = \"p\"\nstatements = [\"in network.vcn:crop VCN allow app.tier:wbe to connect to app.tier:db\"]\n",
        );
        assert_eq!(
            w,
            [
                "s.toml:24:19: warning: in zpr_policy `p`: no VNIC or VCN carries `network.vcn:crop`, so this statement never matches it; did you mean `network.vcn:corp`?",
                "s.toml:24:46: warning: in zpr_policy `p`: no VNIC or VCN carries `app.tier:wbe`, so this statement never matches it; did you mean `app.tier:web`?",
            ]
        );
        // Every term carried: nothing to say.
        let w = warnings(
            "[[zpr_policy]]\nname = \"p\"\nstatements = [\"in network.vcn:corp VCN allow app.tier:web to connect to app.tier:db\"]\n",
        );
        assert!(w.is_empty(), "{w:?}");
        // One warning per attribute, however many statements name it.
        let st = "\"in network.vcn:corp VCN allow app.tier:nope to connect to app.tier:db\",";
        let w = warnings(&format!(
            "[[zpr_policy]]\nname = \"p\"\nstatements = [{}]\n",
            st.repeat(5)
        ));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(!w[0].contains("did you mean"), "{w:?}");
    }

    /// `::ffff:10.0.1.0/120` reads like the IPv4 block but is an IPv6
    /// one: it never matches IPv4 traffic. Loaded silently, a rule or a
    /// statement written so never allowed what it seemed to.
    #[test]
    fn an_ipv4_mapped_block_is_warned_with_the_ipv4_one() {
        let w = warnings(
            "[[zpr_policy]]\nname = \"p\"\nstatements = [\"in network.vcn:corp VCN allow '::ffff:10.0.1.0/120' to connect to app.tier:db\"]\n",
        );
        assert_eq!(
            w,
            [
                "s.toml:24:46: warning: in zpr_policy `p`: `::ffff:10.0.1.0/120` is an IPv4-mapped IPv6 block: it matches IPv6 packets only, never IPv4 traffic; write `10.0.1.0/24`"
            ]
        );
        let w = warnings(
            "[[security_list]]\nname = \"sl\"\nvcn = \"v\"\ningress_security_rules = [ { protocol = \"6\", source = \"::ffff:10.0.0.0/104\" } ]\n",
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("s.toml:25:55: warning: in security list `sl`")
                && w[0].contains("`::ffff:10.0.0.0/104` is an IPv4-mapped IPv6 block")
                && w[0].ends_with("write `10.0.0.0/8`"),
            "{w:?}"
        );
        // Other IPv6 blocks, and ::/0 (which holds more than the mapped
        // range), are what they say.
        let w = warnings(
            "[[security_list]]\nname = \"sl\"\nvcn = \"v\"\ningress_security_rules = [ { protocol = \"6\", source = \"::/0\" }, { protocol = \"6\", source = \"fd00::/8\" } ]\n",
        );
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn an_empty_scenario_is_warned() {
        let l = from_toml_str("", "e.toml");
        let w = l.map(|l| l.warnings).unwrap_or_default();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].code, WarningCode::EmptyScenario);
        assert!(
            w[0].to_string()
                .starts_with("e.toml: warning: the scenario is empty")
        );
    }

    #[test]
    fn a_reference_to_nothing_says_what_was_meant() {
        let w = warnings(
            "[[vnic]]\nname = \"x\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.30\"]\nnsgs = [\"db_nsg\"]\n",
        );
        assert_eq!(
            w,
            [
                "error: s.toml:26:9: error: in vnic `x`, field `nsgs`: no nsg has the name or id `db_nsg`; did you mean `db-nsg`?"
            ]
        );
        let w = warnings("[[vcn]]\nname = \"w\"\ncidr_block = \"10.1.0.0/16\"\n");
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("unknown field `cidr_block`; did you mean `cidr_blocks`?"),
            "{w:?}"
        );
    }

    #[test]
    fn close_words_are_suggested_far_ones_not() {
        let c = ["cidr_blocks", "name", "id"];
        assert_eq!(closest("cidr_block", c), Some("cidr_blocks"));
        assert_eq!(closest("nmae", c), Some("name"));
        assert_eq!(closest("zzzz", c), None);
        assert_eq!(closest("db_nsg", ["db-nsg", "web-nsg"]), Some("db-nsg"));
        assert_eq!(
            closest("app.tier:wbe", ["app.tier:web", "app.tier:db"]),
            Some("app.tier:web")
        );
        assert_eq!(
            closest("network.vcn:crop", ["network.vcn:corp"]),
            Some("network.vcn:corp")
        );
        // Ties: the smallest, whatever the order.
        assert_eq!(closest("ab", ["ac", "aa"]), Some("aa"));
        assert_eq!(closest("ab", ["aa", "ac"]), Some("aa"));
    }

    #[test]
    fn unknown_fields_get_a_hint() {
        assert_eq!(
            unknown_field_hint("unknown field `cidr_block`, expected one of `name`, `cidr_blocks`"),
            "unknown field `cidr_block`; did you mean `cidr_blocks`? (expected one of `name`, `cidr_blocks`)"
        );
        assert_eq!(
            unknown_field_hint("unknown field `zzz`, expected `name` or `id`"),
            "unknown field `zzz`, expected `name` or `id`"
        );
        assert_eq!(
            unknown_field_hint("missing field `name`"),
            "missing field `name`"
        );
    }
}
