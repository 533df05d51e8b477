//! One object per id.
//!
//! A scenario's ids are unique across every kind of object (the loader
//! refuses a second). An export can break that only with an OCID that is
//! not one: a made-up or damaged string used as, say, a VNIC's
//! `subnet-id` and a subnet's `route-table-id` made a stand-in subnet and
//! a stand-in route table of one id, and the import refused its own
//! output. The id is kept on the first exported object holding it (the
//! made-up ones, `stand_in = true`, come after every exported one) and
//! taken off the others, with a warning: an id only names the object to
//! export again, no reference goes through it.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Takes the id off every object of `doc` (kinds to arrays of objects)
/// whose id an earlier one holds, exported objects before stand-ins,
/// saying so in `warnings`.
pub(super) fn unique_ids(doc: &mut Map<String, Value>, warnings: &mut Vec<String>) {
    let mut held: HashMap<String, (String, String)> = HashMap::new();
    for stand_ins in [false, true] {
        for (kind, objects) in doc.iter_mut() {
            let Value::Array(objects) = objects else {
                continue;
            };
            for o in objects.iter_mut().filter_map(Value::as_object_mut) {
                let stand_in = o.get("stand_in").and_then(Value::as_bool) == Some(true);
                if stand_in != stand_ins {
                    continue;
                }
                let Some(id) = o.get("id").and_then(Value::as_str).map(str::to_owned) else {
                    continue;
                };
                let name = o
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let word = kind.replace('_', " ");
                match held.get(&id) {
                    Some((k, n)) => {
                        warnings.push(format!(
                            "{word} `{name}`: its id `{id}` is the id of {k} `{n}` too (the export uses one id for two objects); left without an id"
                        ));
                        o.remove("id");
                    }
                    None => {
                        held.insert(id, (word, name));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::unique_ids;

    #[test]
    fn a_second_holder_of_an_id_loses_it_stand_ins_first() {
        let mut doc = json!({
            "route_table": [{ "name": "missing-x", "id": "x", "stand_in": true }],
            "subnet": [{ "name": "s", "id": "x" }, { "name": "t", "id": "y" }],
            "vnic": [{ "name": "v", "id": "y" }],
        });
        let mut warnings = Vec::new();
        unique_ids(doc.as_object_mut().unwrap(), &mut warnings);
        assert_eq!(doc["subnet"][0]["id"], "x");
        assert_eq!(doc["subnet"][1]["id"], "y");
        assert!(doc["route_table"][0].get("id").is_none());
        assert!(doc["vnic"][0].get("id").is_none());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[1].contains("route table `missing-x`: its id `x` is the id of subnet `s` too")
        );
    }
}
