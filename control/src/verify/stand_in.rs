//! Objects `zprsim import` made up for what a partial export lacks
//! (`stand_in = true`: a VNIC behind a private IP, a VNIC's subnet, a
//! VNIC's own route table), met at the ends of a failing pair. Each is
//! judged with the least the real one could allow (no NSG, no attribute
//! but the stand-in's unknown one, no public IP; no security list or rule),
//! so a path through one may fail only because the export is partial, and
//! the rules a hint adds for it may be needed by nobody. `verify` and
//! `explain` name each and say what to export, beside their hints.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::model::{AddressIndex, Scenario};

/// Notes kept per path: a path over many stand-ins names the first ones
/// and counts the rest.
pub const MAX_NOTES: usize = 10;

/// What each stand-in met at the ends of `pairs` is and what to export,
/// in the order met (source before destination), each object once; at
/// most [`MAX_NOTES`], then one line counting the rest.
pub fn notes(
    s: &Scenario,
    ix: Option<&AddressIndex>,
    pairs: impl IntoIterator<Item = (IpAddr, IpAddr)>,
) -> Vec<String> {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Object {
        Vnic(usize),
        Subnet(usize),
        Table(usize),
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut more = 0usize;
    let mut note = |object: Object, text: &dyn Fn() -> String| {
        if seen.insert(object) {
            if out.len() < MAX_NOTES {
                out.push(text());
            } else {
                more += 1;
            }
        }
    };
    for ip in pairs.into_iter().flat_map(|(a, b)| [a, b]) {
        let vnic = match ix {
            Some(ix) => ix.vnic_of(ip),
            None => match crate::model::endpoint_of(s, ip) {
                crate::model::Endpoint::Vnic(v) => Some(v),
                _ => None,
            },
        };
        let Some(v) = vnic else { continue };
        let vn = &s.vnics[v.index()];
        let id = |id: &Option<String>| id.clone().unwrap_or_else(|| "its OCID".to_owned());
        if vn.stand_in {
            note(Object::Vnic(v.index()), &|| {
                let id = id(&vn.id);
                format!(
                    "VNIC `{}` ({ip}) is a stand-in `zprsim import` made for `{id}`, which the export lacks: its NSGs, security attributes and public IP are not known, so it is judged with the least they could allow. Export it (`oci network vnic get --vnic-id {id}`) and import again before adding rules for it: they may be needed by nobody",
                    vn.name
                )
            });
        }
        let sn = &s.subnets[vn.subnet.index()];
        if sn.stand_in {
            note(Object::Subnet(vn.subnet.index()), &|| {
                let id = id(&sn.id);
                format!(
                    "subnet `{}` (of VNIC `{}`) is a stand-in for `{id}`, which the export lacks: it has no security list and no route table here. Export it (`oci network subnet get --subnet-id {id}`, with its security lists and route table) and import again before adding rules for it",
                    sn.name, vn.name
                )
            });
        }
        if let Some(t) = s.effective_route_table(v) {
            let table = &s.route_tables[t.index()];
            if table.stand_in {
                note(Object::Table(t.index()), &|| {
                    let id = id(&table.id);
                    format!(
                        "route table `{}` (of VNIC `{}`) is a stand-in for `{id}`, which the export lacks: it has no rule here, only the VCN's local routes. Export it (`oci network route-table get --rt-id {id}`) and import again before adding rules to it",
                        table.name, vn.name
                    )
                });
            }
        }
    }
    if more > 0 {
        out.push(format!("and {more} more stand-in object(s)"));
    }
    out
}
