//! The imported scenario's rules written as the examples write them: one
//! inline table per rule in an array (`rules = [ { ... }, ]`), not as
//! arrays of tables (`[[nsg.rules]]`).
//!
//! `verify` and `explain` hint at a rule as an inline table to add to a
//! list (`{ direction = "INGRESS", ... }`): pasted into an `[[nsg.rules]]`
//! file it is a duplicate key, and an `[[nsg.rules]]` block pasted at the
//! file's end joins the last NSG, whichever the hint named (QA round
//! nine). `toml` writes a list of tables as an array of tables; this
//! rewrites the rule lists with `toml_edit` (the crate for editing TOML's
//! layout), one rule per line.

use toml_edit::{ArrayOfTables, DocumentMut, Item, Value};

/// The objects and their rule lists written inline.
const LISTS: [(&str, &[&str]); 3] = [
    ("nsg", &["rules"]),
    (
        "security_list",
        &["ingress_security_rules", "egress_security_rules"],
    ),
    ("route_table", &["route_rules"]),
];

/// `text` (TOML as `toml` writes it) with every rule list inline.
///
/// # Errors
/// `text` is not TOML (it comes from `toml::to_string`, so this is a bug).
pub(super) fn inline_rules(text: &str) -> Result<String, toml_edit::TomlError> {
    let mut doc: DocumentMut = text.parse()?;
    for (object, lists) in LISTS {
        let Some(Item::ArrayOfTables(objects)) = doc.get_mut(object) else {
            continue;
        };
        for t in objects.iter_mut() {
            for key in lists {
                // Taken, not cloned: a clone of a rule-heavy export's
                // lists was a quarter of the import's peak memory.
                if let Some(Item::ArrayOfTables(rules)) = t.get_mut(key) {
                    let rules = std::mem::take(rules);
                    t.insert(key, Item::Value(inline(rules)));
                }
            }
        }
    }
    Ok(doc.to_string())
}

/// One inline table per rule, one rule per line.
fn inline(rules: ArrayOfTables) -> Value {
    let mut a = toml_edit::Array::new();
    for r in rules {
        let mut v = Value::InlineTable(r.into_inline_table());
        v.decor_mut().set_prefix("\n  ");
        a.push_formatted(v);
    }
    a.set_trailing_comma(true);
    a.set_trailing("\n");
    Value::Array(a)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn rule_lists_become_inline_and_mean_the_same() {
        let text = "[[nsg]]\nname = \"a\"\n\n[[nsg.rules]]\ndirection = \"INGRESS\"\nprotocol = \"6\"\nsource = \"10.0.0.0/8\"\n\n[nsg.rules.tcp_options.destination_port_range]\nmax = 443\nmin = 443\n\n[[nsg.rules]]\ndirection = \"EGRESS\"\nprotocol = \"all\"\ndestination = \"0.0.0.0/0\"\n\n[[route_table]]\nname = \"rt\"\nroute_rules = []\n";
        let out = inline_rules(text).unwrap();
        assert!(!out.contains("[[nsg.rules]]"), "{out}");
        assert!(
            out.contains("rules = [\n  { direction = \"INGRESS\", protocol = \"6\", source = \"10.0.0.0/8\", tcp_options = { destination_port_range = { max = 443, min = 443 } } },\n"),
            "{out}"
        );
        let a: toml::Value = toml::from_str(text).unwrap();
        let b: toml::Value = toml::from_str(&out).unwrap();
        assert_eq!(a, b);
    }
}
