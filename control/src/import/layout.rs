//! The imported scenario's TOML, written as the examples write it, in
//! time linear in its size.
//!
//! Rules: one inline table per rule in an array (`rules = [ { ... }, ]`),
//! not arrays of tables (`[[nsg.rules]]`). `verify` and `explain` hint at
//! a rule as an inline table to add to a list (`{ direction = "INGRESS",
//! ... }`): pasted into an `[[nsg.rules]]` file it is a duplicate key, and
//! an `[[nsg.rules]]` block pasted at the file's end joins the last NSG,
//! whichever the hint named (QA round nine). `toml` writes a list of
//! tables as an array of tables; this rewrites the rule lists with
//! `toml_edit` (the crate for editing TOML's layout), one rule per line.
//!
//! Size: `toml::to_string` builds a document by inserting each table's
//! text into one string, so its time grows with the square of the
//! document: a 10,000-VNIC export's 50 MB scenario took 14 of the
//! import's 20 s and most of its 1 GB in it. So [`write`] serializes each
//! object of each list on its own (`[[vnic]]` blocks do not depend on one
//! another) and joins the pieces, as `toml` joins them.

use serde_json::Map;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Value};

/// Why the scenario could not be written (a bug: the document is JSON
/// made by `import`).
#[derive(Debug)]
pub(super) enum WriteError {
    /// `toml` refused a piece.
    Toml(toml::ser::Error),
    /// `toml_edit` could not read back what `toml` wrote.
    Layout(toml_edit::TomlError),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Toml(e) => write!(f, "cannot write the scenario: {e}"),
            WriteError::Layout(e) => {
                write!(f, "cannot write the scenario's rules inline: {e}")
            }
        }
    }
}

/// `doc` as TOML, with every rule list inline: what
/// `inline_rules(toml::to_string(doc))` gives, in time linear in its
/// size. Values that are not tables come first (after a table header a
/// bare key would belong to that table), then each table and each list
/// of tables in `doc`'s order, one list element at a time.
pub(super) fn write(doc: Map<String, serde_json::Value>) -> Result<String, WriteError> {
    use serde_json::Value as J;
    let table_list =
        |v: &J| matches!(v, J::Array(a) if !a.is_empty() && a.iter().all(J::is_object));
    let (tables, plain): (Vec<_>, Vec<_>) = doc
        .into_iter()
        .partition(|(_, v)| v.is_object() || table_list(v));
    // Only the objects that hold rule lists are read back and rewritten.
    let piece = |m: Map<String, J>| -> Result<String, WriteError> {
        let text = toml::to_string(&m).map_err(WriteError::Toml)?;
        if m.keys().any(|k| LISTS.iter().any(|(o, _)| o == k)) {
            inline_rules(&text).map_err(WriteError::Layout)
        } else {
            Ok(text)
        }
    };
    let mut out = String::new();
    let mut push = |text: String| {
        if !out.is_empty() && !text.is_empty() {
            out.push('\n');
        }
        out.push_str(&text);
    };
    if !plain.is_empty() {
        push(piece(plain.into_iter().collect())?);
    }
    for (key, value) in tables {
        match value {
            J::Array(items) => {
                for mut item in items {
                    // Comment lines to write under the object (ZPR
                    // statements `--vcn` left out: `oci/left_out.rs`).
                    let comment = item
                        .as_object_mut()
                        .and_then(|o| o.remove(super::oci::COMMENT));
                    let mut text = piece(Map::from_iter([(key.clone(), J::Array(vec![item]))]))?;
                    if let Some(J::String(c)) = comment {
                        text.push_str(&c);
                    }
                    push(text);
                }
            }
            v => push(piece(Map::from_iter([(key, v)]))?),
        }
    }
    Ok(out)
}

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

    /// `write` is `inline_rules(toml::to_string(doc))`, piece by piece:
    /// plain values first, tables and lists of tables in the document's
    /// order, lists of scalars and empty lists as values.
    #[test]
    fn write_gives_what_the_whole_document_gives() {
        let doc: serde_json::Value = serde_json::json!({
            "a_plain": "x",
            "gateway": [{ "name": "g", "kind": "nat" }, { "name": "h", "kind": "internet" }],
            "nsg": [
                { "name": "n", "rules": [
                    { "direction": "INGRESS", "protocol": "6", "source": "10.0.0.0/8",
                      "tcp_options": { "destination_port_range": { "min": 443, "max": 443 } } },
                    { "direction": "EGRESS", "protocol": "all", "destination": "0.0.0.0/0" }
                ] },
                { "name": "m", "rules": [] }
            ],
            "security_list": [{ "name": "l", "ingress_security_rules": [
                { "source": "0.0.0.0/0", "protocol": "1", "icmp_options": { "type": 3, "code": 4 } }
            ], "egress_security_rules": [] }],
            "services": { "all": ["134.70.0.0/17"], "os": ["134.70.8.0/21"] },
            "tags": ["t1", "t2"],
            "vnic": [{ "name": "v", "private_ips": ["10.0.0.5"],
                       "security_attributes": { "app": { "role": { "value": "web", "mode": "enforce" } } } }],
            "zz_empty": [],
            "zz_plain": 3,
        });
        let serde_json::Value::Object(m) = doc else {
            unreachable!()
        };
        let whole = inline_rules(&toml::to_string(&m).unwrap()).unwrap();
        assert_eq!(write(m).unwrap(), whole);
    }

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
