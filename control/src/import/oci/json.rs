//! Reading the CLI's JSON objects: fields by kebab-case or camelCase
//! name (null and blank strings absent), OCIDs and their types.

use serde_json::{Map, Value};

pub(super) type Obj = Map<String, Value>;

pub(super) fn camel(kebab: &str) -> String {
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
pub(super) fn g<'a>(o: &'a Obj, kebab: &str) -> Option<&'a Value> {
    o.get(kebab)
        .or_else(|| o.get(&camel(kebab)))
        .filter(|v| !v.is_null())
}

/// The text without a leading UTF-8 byte order mark, which Windows tools
/// (PowerShell's `Out-File -Encoding utf8`, Notepad) write and JSON does
/// not allow.
pub(super) fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// A string field; an empty (or blank) string is absent, as null is
/// (`"route-table-id": ""` names no table: read as a reference, it made a
/// stand-in with an empty id, which the scenario refuses).
pub(super) fn gs<'a>(o: &'a Obj, kebab: &str) -> Option<&'a str> {
    g(o, kebab)
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
}

pub(super) fn garr<'a>(o: &'a Obj, kebab: &str) -> Vec<&'a Value> {
    g(o, kebab)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

pub(super) fn gstrs(o: &Obj, kebab: &str) -> Vec<String> {
    garr(o, kebab)
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

pub(super) fn id_of(o: &Obj) -> String {
    gs(o, "id").unwrap_or_default().to_owned()
}

/// The resource type of an OCID: `vcn` in `ocid1.vcn.oc1...`.
pub(super) fn ocid_type(id: &str) -> Option<&str> {
    let mut parts = id.split('.');
    (parts.next() == Some("ocid1"))
        .then(|| parts.next())
        .flatten()
}
