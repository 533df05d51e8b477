//! Stand-in security lists and NSGs for the ones an export names and
//! lacks (a partial export: `oci network security-list list` or `nsg
//! list` not run, or run in another compartment).
//!
//! Left out, the reference said nothing on a failing path: `verify` told
//! the user to add a rule to another NSG ("VNIC `orders-lb` has no ingress
//! rules"), though the missing list may hold it. Kept as a container with
//! no rule, marked `stand_in = true`, it judges the same (a VNIC's
//! security is the union of its NSGs and its subnet's lists: an empty one
//! adds nothing), and `verify` and `explain` name it on a failing path
//! with the command that exports it, and never hint a rule into it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::names::Names;

/// Which container a [`StandInRules`] makes.
#[derive(Clone, Copy)]
pub(super) enum Container {
    SecurityList,
    Nsg,
}

/// The stand-ins made so far, one per (OCID, VCN).
pub(super) struct StandInRules {
    kind: Container,
    made: BTreeMap<(String, String), String>,
    names: Names,
    objects: Vec<Value>,
}

impl StandInRules {
    /// Stand-ins of `kind`, named apart from `taken` (the exported ones'
    /// names).
    pub(super) fn new(kind: Container, taken: &[String]) -> Self {
        Self {
            kind,
            made: BTreeMap::new(),
            names: Names::holding(taken),
            objects: Vec::new(),
        }
    }

    /// The name of the stand-in for `id` (an OCID, never blank: callers
    /// leave blank ids out) in VCN `vcn`, made on first use.
    pub(super) fn take(&mut self, id: &str, vcn: &str) -> String {
        let (names, objects, kind) = (&mut self.names, &mut self.objects, self.kind);
        self.made
            .entry((id.to_owned(), vcn.to_owned()))
            .or_insert_with(|| {
                let name = names.take_for("", "missing", id);
                objects.push(match kind {
                    Container::SecurityList => json!({
                        "name": name, "id": id, "vcn": vcn,
                        "ingress_security_rules": [], "egress_security_rules": [],
                        "stand_in": true,
                    }),
                    Container::Nsg => json!({
                        "name": name, "id": id, "vcn": vcn, "rules": [], "stand_in": true,
                    }),
                });
                name
            })
            .clone()
    }

    /// The name of the stand-in for `id` in VCN `vcn`, if made.
    pub(super) fn get(&self, id: &str, vcn: &str) -> Option<&str> {
        self.made
            .get(&(id.to_owned(), vcn.to_owned()))
            .map(String::as_str)
    }

    /// Whether a stand-in for `id` was made, in any VCN.
    pub(super) fn any(&self, id: &str) -> bool {
        self.made
            .range((id.to_owned(), String::new())..)
            .next()
            .is_some_and(|((i, _), _)| i == id)
    }

    /// The stand-ins made so far: (OCID, VCN, name) each.
    pub(super) fn made(&self) -> Vec<(String, String, String)> {
        self.made
            .iter()
            .map(|((id, vcn), name)| (id.clone(), vcn.clone(), name.clone()))
            .collect()
    }

    /// Gives the stand-in NSG `name` the rules `rules`: the rules the
    /// export holds for an NSG it does not list
    /// (`network-nsg-rules-list.<OCID>.json` without the NSG in
    /// `network-nsg-list.json`; since the nineteenth session).
    pub(super) fn set_rules(&mut self, name: &str, rules: Vec<Value>) {
        if let Some(o) = self
            .objects
            .iter_mut()
            .find(|o| o["name"] == name)
            .and_then(Value::as_object_mut)
        {
            o.insert("rules".into(), Value::Array(rules));
        }
    }

    /// Takes the id off the stand-in `name` (one of several copies of an
    /// NSG in different VCNs: the first keeps the OCID; ids only name
    /// what to export).
    pub(super) fn drop_id(&mut self, name: &str) {
        if let Some(o) = self
            .objects
            .iter_mut()
            .find(|o| o["name"] == name)
            .and_then(Value::as_object_mut)
        {
            o.remove("id");
        }
    }

    /// The stand-ins made, as scenario objects.
    pub(super) fn into_objects(self) -> Vec<Value> {
        self.objects
    }
}
