//! Objects `zprsim import` made up for what a partial export lacks
//! (`stand_in = true`: a VNIC behind a private IP, a VNIC's subnet, a
//! route table, a security list, an NSG), met at the ends of a failing
//! pair. Each is judged with the least the real one could allow (no NSG,
//! no attribute but the stand-in's unknown one, no public IP; no security
//! list or rule),
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
        List(usize),
        Nsg(usize),
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
    let vnic_of = |ip: IpAddr| match ix {
        Some(ix) => ix.vnic_of(ip),
        None => match crate::model::endpoint_of(s, ip) {
            crate::model::Endpoint::Vnic(v) => Some(v),
            _ => None,
        },
    };
    // What to export, when the object's OCID is known.
    let export = |id: &Option<String>, command: &str| match id {
        Some(id) => format!("Export it (`oci network {command} {id}`)"),
        None => "Export it".to_owned(),
    };
    // The object's OCID, else what it is.
    let what = |id: &Option<String>, kind: &str| match id {
        Some(id) => format!("`{id}`"),
        None => format!("a {kind}"),
    };
    for (a, b) in pairs {
        let (va, vb) = (vnic_of(a), vnic_of(b));
        // The route layer reads the source VNIC's table, or, for a packet
        // from outside the VCNs, the destination's (the return path).
        let table_read = |end: usize| end == 0 || va.is_none();
        for (end, (ip, v)) in [(a, va), (b, vb)].into_iter().enumerate() {
            let Some(v) = v else { continue };
            let vn = &s.vnics[v.index()];
            // A balancer's VNIC (OCI lists it in no compartment a user
            // exports) carries the balancer's NSGs, attributes and public
            // address: nothing to export, nothing made up that matters.
            if vn.stand_in && vn.kind != "load-balancer" {
                note(Object::Vnic(v.index()), &|| {
                    format!(
                        "VNIC `{}` ({ip}) is a stand-in `zprsim import` made for {}, which the export lacks: its NSGs, security attributes and public IP are not known, so it is judged with the least they could allow. {} and import again before adding rules for it: they may be needed by nobody",
                        vn.name,
                        what(&vn.id, "VNIC"),
                        export(&vn.id, "vnic get --vnic-id")
                    )
                });
            }
            let sn = &s.subnets[vn.subnet.index()];
            // Its security: the source's egress rules, the destination's
            // ingress rules, each the union of its NSGs and its subnet's
            // lists, where an empty stand-in adds nothing.
            for n in &vn.nsgs {
                let nsg = &s.nsgs[n.index()];
                if nsg.stand_in {
                    note(Object::Nsg(n.index()), &|| {
                        format!(
                            "NSG `{}` (of VNIC `{}`) is a stand-in for {}, which the export lacks: it has no rule here. {} and import again before adding rules elsewhere: its rules may allow this path",
                            nsg.name,
                            vn.name,
                            what(&nsg.id, "NSG"),
                            match &nsg.id {
                                Some(id) => format!(
                                    "Export it (`oci network nsg get --nsg-id {id}`, and its rules: `oci network nsg rules list --all --nsg-id {id}`)"
                                ),
                                None => "Export it with its rules".to_owned(),
                            }
                        )
                    });
                }
            }
            for l in &sn.security_lists {
                let list = &s.security_lists[l.index()];
                if list.stand_in {
                    note(Object::List(l.index()), &|| {
                        format!(
                            "security list `{}` (of subnet `{}`) is a stand-in for {}, which the export lacks: it has no rule here. {} and import again before adding rules elsewhere: its rules may allow this path",
                            list.name,
                            sn.name,
                            what(&list.id, "security list"),
                            export(&list.id, "security-list get --security-list-id")
                        )
                    });
                }
            }
            if sn.stand_in {
                note(Object::Subnet(vn.subnet.index()), &|| {
                    format!(
                        "subnet `{}` (of VNIC `{}`) is a stand-in for {}, which the export lacks: it has no security list and no route table here. {} (with its security lists and route table) and import again before adding rules for it",
                        sn.name,
                        vn.name,
                        what(&sn.id, "subnet"),
                        export(&sn.id, "subnet get --subnet-id")
                    )
                });
            }
            if let Some(t) = s.effective_route_table(v).filter(|_| table_read(end)) {
                let table = &s.route_tables[t.index()];
                if table.stand_in {
                    // Whose table it is: the VNIC's own, else its subnet's.
                    let of = if vn.route_table == Some(t) {
                        format!("VNIC `{}`", vn.name)
                    } else {
                        format!("subnet `{}`", sn.name)
                    };
                    note(Object::Table(t.index()), &|| {
                        format!(
                            "route table `{}` (of {of}) is a stand-in for {}, which the export lacks: it has no rule here, only the VCN's local routes. {} and import again before adding rules to it",
                            table.name,
                            what(&table.id, "route table"),
                            export(&table.id, "route-table get --rt-id")
                        )
                    });
                }
            }
        }
    }
    if more > 0 {
        out.push(format!("and {more} more stand-in object(s)"));
    }
    out
}
