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

/// A failing pair: its ends, and which security layers deny it (a
/// stand-in list or NSG is named only where its layer denies).
#[derive(Debug, Clone, Copy)]
pub struct Failing {
    /// The packet's source.
    pub src: IpAddr,
    /// The packet's destination.
    pub dst: IpAddr,
    /// The source VNIC's egress security denies it.
    pub egress_denied: bool,
    /// The destination VNIC's ingress security denies it.
    pub ingress_denied: bool,
    /// ZPR denies it (a stand-in ZPR policy is named only then; since the
    /// twenty-first session).
    pub zpr_denied: bool,
}

/// Whether VNIC `v` carries the stand-in attribute (`zprsim import`: the
/// export does not say its security attributes, or its VCN's): what ZPR
/// decides at it is owed to attributes nobody knows, and no statement is
/// hinted for it (since the twenty-sixth session).
pub(super) fn attributes_unknown(s: &Scenario, v: usize) -> bool {
    s.vnics.get(v).is_some_and(|v| {
        v.attributes
            .iter()
            .any(|a| a.attribute.namespace == crate::shared::STAND_IN_NAMESPACE)
    })
}

/// The stand-in gateway (made up by `zprsim import` for a route target the
/// export lacks) that route table `t`'s rule for `remote` (its longest
/// match) sends to, if it does: it drops every packet, and no route hint
/// touches it.
fn stand_in_gateway_taken(
    s: &Scenario,
    t: crate::ids::RouteTableId,
    remote: IpAddr,
) -> Option<crate::ids::GatewayId> {
    let taken = s.route_tables[t.index()]
        .rules
        .iter()
        .filter_map(|r| {
            let len = match &r.destination {
                crate::model::RouteDestination::Cidr(n) => {
                    n.contains(&remote).then(|| n.prefix_len())
                }
                crate::model::RouteDestination::Service(l) => s.services[l.index()]
                    .cidrs
                    .iter()
                    .filter(|c| c.contains(&remote))
                    .map(|c| c.prefix_len())
                    .max(),
            }?;
            Some((len, r))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, r)| r)?;
    match taken.target {
        crate::model::RouteTarget::Gateway(g) if s.gateways[g.index()].stand_in => Some(g),
        _ => None,
    }
}

/// For a pair `a -> b` that a path expecting `deny` finds closed at
/// `stage`: the pair as [`notes`] takes it when the closing layer is one
/// the export leaves unknown (a stand-in route table read at route, a
/// VNIC whose security rules are not all known at its security layer, a
/// stand-in VNIC's unknown attributes at ZPR), else `None`: the path may
/// hold only because the export is partial. `explain` reads it too, to
/// say that a stand-in, not "nothing", keeps a packet closed at a layer
/// (since the twentieth session).
#[must_use]
pub fn closing(
    s: &Scenario,
    ix: &AddressIndex,
    a: IpAddr,
    b: IpAddr,
    stage: Option<crate::verdict::Stage>,
) -> Option<Failing> {
    use crate::verdict::Stage;
    let (va, vb) = (ix.vnic_of(a), ix.vnic_of(b));
    let unknown = match stage? {
        // The source's table, or for a source that is no VNIC the
        // destination's (the return path).
        // Or the rule it takes sends to a stand-in gateway (since the
        // nineteenth session).
        Stage::Route => va.or(vb).is_some_and(|v| {
            let remote = if va.is_some() { b } else { a };
            crate::eval::unknown_routes(s, v).is_some()
                || s.effective_route_table(v)
                    .and_then(|t| stand_in_gateway_taken(s, t, remote))
                    .is_some()
        }),
        // Or its end may be a VNIC the export lacks (since the
        // twenty-eighth session), which denies there.
        Stage::EgressSecurity => {
            va.is_some_and(|v| crate::eval::unknown_rules(s, v).is_some())
                || lost_subnet(s, Some(ix), a).is_some()
        }
        Stage::IngressSecurity => {
            vb.is_some_and(|v| crate::eval::unknown_rules(s, v).is_some())
                || lost_subnet(s, Some(ix), b).is_some()
        }
        Stage::Zpr => {
            s.zpr_policies.iter().any(|p| p.stand_in)
                || [va, vb]
                    .into_iter()
                    .flatten()
                    .any(|v| s.vnics[v.index()].stand_in)
        }
    };
    unknown.then_some(Failing {
        src: a,
        dst: b,
        egress_denied: stage == Some(Stage::EgressSecurity),
        ingress_denied: stage == Some(Stage::IngressSecurity),
        zpr_denied: stage == Some(Stage::Zpr),
    })
}

/// What each stand-in met at the ends of `pairs` is and what to export,
/// in the order met (source before destination), each object once; at
/// most [`MAX_NOTES`], then one line counting the rest.
pub fn notes(
    s: &Scenario,
    ix: Option<&AddressIndex>,
    pairs: impl IntoIterator<Item = Failing>,
) -> Vec<String> {
    #[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
    enum Object {
        LostIn(usize),
        Vnic(usize),
        Subnet(usize),
        Table(usize),
        List(usize),
        Nsg(usize),
        Gateway(usize),
        Policy(usize),
        Attributes(usize),
        VcnAttribute(usize),
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut more = 0usize;
    // One note for `objects`, when none of them was noted before; all of
    // them noted then. Whether it was.
    let mut note = |objects: &[Object], text: &dyn Fn() -> String| {
        if objects.iter().any(|o| seen.contains(o)) {
            return false;
        }
        seen.extend(objects.iter().copied());
        if out.len() < MAX_NOTES {
            out.push(text());
        } else {
            more += 1;
        }
        true
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
    for f in pairs {
        // ZPR policies `zprsim import` made up for an export with
        // attributes and no policy: its statements are unknown.
        for (i, p) in s.zpr_policies.iter().enumerate() {
            if f.zpr_denied && p.stand_in {
                note(&[Object::Policy(i)], &|| {
                    format!(
                        "ZPR policy `{}` is a stand-in `zprsim import` made: the export holds no ZPR policy while its endpoints carry security attributes, so every flow touching them is judged denied (ZPR's default deny). Export the policies (`oci zpr zpr-policy list --compartment-id TENANCY --all`) and import again before adding statements: the real ones may allow this path",
                        p.name
                    )
                });
            }
        }
        let (a, b) = (f.src, f.dst);
        let (va, vb) = (vnic_of(a), vnic_of(b));
        // The route layer reads the source VNIC's table, or, for a packet
        // from outside the VCNs, the destination's (the return path).
        let table_read = |end: usize| end == 0 || va.is_none();
        for (end, (ip, v)) in [(a, va), (b, vb)].into_iter().enumerate() {
            // An address no VNIC holds in a subnet whose VNICs are not all
            // known (since the twenty-eighth session): it may be a VNIC
            // the export lacks, and its security layer denies.
            if v.is_none()
                && let Some(sn) = lost_subnet(s, ix, ip)
            {
                let subnet = &s.subnets[sn.index()];
                note(&[Object::LostIn(sn.index())], &|| {
                    format!(
                        "{ip} may be a VNIC the export lacks: no VNIC holds it, and subnet `{}` does not know all its VNICs (`vnics_unknown = true`: the export does not list its private IPs), so nothing is allowed to or from it. Export them (`oci network private-ip list --subnet-id {} --all`, and their VNICs: `oci network vnic get`) and import again before adding rules for it",
                        subnet.name,
                        subnet.id.as_deref().unwrap_or("SUBNET")
                    )
                });
            }
            let Some(v) = v else { continue };
            let vn = &s.vnics[v.index()];
            // A balancer's VNIC (OCI lists it in no compartment a user
            // exports) carries the balancer's NSGs, attributes and public
            // address: nothing to export, nothing made up that matters.
            let made_up = vn.stand_in && vn.kind != "load-balancer";
            // ZPR, where it drops the pair, at a VNIC whose attributes
            // (or its VCN's) the export does not say (since the
            // twenty-sixth session): no statement is hinted for it.
            // Whose: its own when it has none besides, else its VCN's
            // (`zprsim import` gives it beside its own), named once.
            let unknown = (f.zpr_denied && attributes_unknown(s, v.index())).then(|| {
                if own_attributes_said(s, v.index()) {
                    Object::VcnAttribute(s.subnets[vn.subnet.index()].vcn.index())
                } else {
                    Object::Attributes(v.index())
                }
            });
            let vnic_text = || {
                format!(
                    "VNIC `{}` ({ip}) is a stand-in `zprsim import` made for {}, which the export lacks: its NSGs, security attributes and public IP are not known, so it is judged with the least they could allow",
                    vn.name,
                    what(&vn.id, "VNIC"),
                )
            };
            let export_vnic = export(&vn.id, "vnic get --vnic-id");
            // A stand-in VNIC whose own attributes ZPR drops the pair at:
            // one note says both (since the twenty-eighth session: two
            // notes, the second repeating what to export).
            let both = match unknown {
                Some(o @ Object::Attributes(_)) if made_up => {
                    note(&[Object::Vnic(v.index()), o], &|| {
                        format!(
                            "{}. ZPR drops this path at it: it carries `{}.attributes:unknown`, which no statement names, so the drop is owed to its unknown attributes, and no ZPR statement is hinted for it (one written for attributes nobody knows is a guess). {export_vnic} and import again before adding rules for it: they may be needed by nobody, and its real attributes may allow this path",
                            vnic_text(),
                            crate::shared::STAND_IN_NAMESPACE
                        )
                    })
                }
                _ => false,
            };
            if made_up && !both {
                note(&[Object::Vnic(v.index())], &|| {
                    format!(
                        "{}. {export_vnic} and import again before adding rules for it: they may be needed by nobody",
                        vnic_text()
                    )
                });
            }
            if let Some(object) = unknown.filter(|_| !both) {
                note(&[object], &|| unknown_attributes_note(s, v.index(), ip));
            }
            let sn = &s.subnets[vn.subnet.index()];
            // Its security, where it denies: the source's egress rules,
            // the destination's ingress rules, each the union of its NSGs
            // and its subnet's lists, where an empty stand-in adds nothing.
            let denied = if end == 0 {
                f.egress_denied
            } else {
                f.ingress_denied
            };
            // (object, container, its kind, whose it is)
            let nsgs = vn.nsgs.iter().map(|n| {
                let c = &s.nsgs[n.index()];
                (
                    Object::Nsg(n.index()),
                    (c.stand_in, &c.name, &c.id, !c.rules.is_empty()),
                    "NSG",
                    "VNIC",
                    &vn.name,
                )
            });
            let lists = sn.security_lists.iter().map(|l| {
                let c = &s.security_lists[l.index()];
                (
                    Object::List(l.index()),
                    (c.stand_in, &c.name, &c.id, false),
                    "security list",
                    "subnet",
                    &sn.name,
                )
            });
            for (object, (stand_in, name, id, has_rules), kind, of_kind, of) in nsgs.chain(lists) {
                if !(denied && stand_in) {
                    continue;
                }
                note(&[object], &|| {
                    let command = match (kind, id) {
                        ("NSG", Some(id)) => format!(
                            "Export it (`oci network nsg get --nsg-id {id}`, and its rules: `oci network nsg rules list --all --nsg-id {id}`)"
                        ),
                        (_, id) => export(id, "security-list get --security-list-id"),
                    };
                    // An NSG the list lacks whose rules files were exported
                    // keeps those rules (since the nineteenth session).
                    let here = if has_rules {
                        "it has only its exported rules here (one naming an NSG the export lacks is left out)"
                    } else {
                        "it has no rule here"
                    };
                    format!(
                        "{kind} `{name}` (of {of_kind} `{of}`) is a stand-in for {}, which the export lacks: {here}. {command} and import again before adding rules elsewhere: its rules may allow this path",
                        what(id, kind)
                    )
                });
            }
            // A subnet exported without its blocks keeps its lists and
            // table (`zprsim import` gives it its VNICs' host blocks): only
            // a packet between its VNIC and an address of its VCN that no
            // VNIC holds (which its real blocks may hold) can be judged
            // otherwise.
            let blockless = sn.stand_in && !(sn.lists_unknown && sn.table_unknown);
            let other = if end == 0 { b } else { a };
            // (Not in one of its blocks: a subnet that lacked one address
            // family keeps its exported blocks of the other.)
            let other_unassigned = || {
                vnic_of(other).is_none()
                    && !sn.cidrs.iter().any(|n| n.contains(&other))
                    && s.vcns[sn.vcn.index()]
                        .cidr_blocks
                        .iter()
                        .chain(&s.vcns[sn.vcn.index()].ipv6_private_cidr_blocks)
                        .any(|n| n.contains(&other))
            };
            if blockless && other_unassigned() {
                note(&[Object::Subnet(vn.subnet.index())], &|| {
                    format!(
                        "subnet `{}` (of VNIC `{}`) was exported without its CIDR blocks, or those of one address family ({}): here it holds only its VNICs' {} addresses, so {other}, an address of its VCN that no VNIC holds, is judged as in no subnet. {} and import again",
                        sn.name,
                        vn.name,
                        what(&sn.id, "subnet"),
                        if other.is_ipv4() { "IPv4" } else { "IPv6" },
                        export(&sn.id, "subnet get --subnet-id")
                    )
                });
            } else if sn.stand_in && !blockless {
                note(&[Object::Subnet(vn.subnet.index())], &|| {
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
                // The rule the other end's address takes (the longest
                // match) to a stand-in gateway (since the nineteenth
                // session): its target is unknown, no route hint touches it.
                let remote = if end == 0 { b } else { a };
                if let Some(g) = stand_in_gateway_taken(s, t, remote) {
                    let gw = &s.gateways[g.index()];
                    let vcn = &s.vcns[gw.vcn.index()];
                    note(&[Object::Gateway(g.index())], &|| {
                        let list = gateway_list(gw.id.as_deref(), vcn.id.as_deref());
                        format!(
                            "gateway `{}` (the target of route table `{}`) is a stand-in for {}, which the export lacks: it drops every packet here, and no route hint enables it or routes around it. Export it (`{list}`) and import again",
                            gw.name,
                            table.name,
                            what(&gw.id, "route target"),
                        )
                    });
                }
                if table.stand_in {
                    // Whose table it is: the VNIC's own, else its subnet's.
                    let of = if vn.route_table == Some(t) {
                        format!("VNIC `{}`", vn.name)
                    } else {
                        format!("subnet `{}`", sn.name)
                    };
                    note(&[Object::Table(t.index())], &|| {
                        format!(
                            "route table `{}` (of {of}) is a stand-in for {}, which the export lacks: it has no rule here, and the VCN's local routes are not assumed past its subnet (the real one may send an address of the VCN elsewhere). {} and import again before adding rules to it",
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

/// The subnet whose VNICs are not all known that holds `ip`, when no VNIC
/// does ([`crate::eval::vnics_unknown_at`]): `ip` may be a VNIC the export
/// lacks.
fn lost_subnet(
    s: &Scenario,
    ix: Option<&AddressIndex>,
    ip: IpAddr,
) -> Option<crate::ids::SubnetId> {
    let ep = match ix {
        Some(ix) => ix.endpoint_of(s, ip),
        None => crate::model::endpoint_of(s, ip),
    };
    crate::eval::vnics_unknown_at(s, ep, ip)
}

/// Whether VNIC `v` carries an attribute besides the stand-in's: then
/// the export said its own, and the stand-in attribute is its VCN's.
fn own_attributes_said(s: &Scenario, v: usize) -> bool {
    s.vnics[v]
        .attributes
        .iter()
        .any(|a| a.attribute.namespace != crate::shared::STAND_IN_NAMESPACE)
}

/// What the stand-in note says of VNIC `v` (at `ip`), which carries the
/// stand-in attribute, where ZPR drops a pair: whose attributes are not
/// said (its own when it has none besides, else its VCN's: `zprsim
/// import` gives it beside its own), that the drop is owed to them and no
/// statement is hinted, and what to export.
fn unknown_attributes_note(s: &Scenario, v: usize, ip: IpAddr) -> String {
    let vn = &s.vnics[v];
    let vcn = &s.vcns[s.subnets[vn.subnet.index()].vcn.index()];
    let own_said = own_attributes_said(s, v);
    let id = |id: &Option<String>, flag: &str| {
        id.as_ref()
            .map_or_else(String::new, |id| format!(" {flag} {id}"))
    };
    let (whose, export) = if own_said {
        (
            format!("the security attribute of its VCN `{}`", vcn.name),
            format!("the VCN (`oci network vcn get{}`)", id(&vcn.id, "--vcn-id")),
        )
    } else {
        (
            "its security attributes".to_owned(),
            format!(
                "the VNIC (`oci network vnic get{}`)",
                id(&vn.id, "--vnic-id")
            ),
        )
    };
    format!(
        "ZPR drops this path at VNIC `{}` ({ip}), and the export does not say {whose}: it carries `{}.attributes:unknown`, which no statement names, so ZPR judges it with the least its attributes could allow and the drop is owed to them. No ZPR statement is hinted for it (one written for attributes nobody knows is a guess). Export {export} and import again: its real attributes may allow this path",
        vn.name,
        crate::shared::STAND_IN_NAMESPACE
    )
}

/// The `oci network ... list` command that lists the gateways of the kind
/// OCID `id` names (its type: `ocid1.natgateway...`), of VCN `vcn` when
/// its OCID is known.
fn gateway_list(id: Option<&str>, vcn: Option<&str>) -> String {
    let ty = id.and_then(|i| i.split('.').nth(1)).unwrap_or_default();
    let command = match ty {
        "natgateway" => "nat-gateway list",
        "servicegateway" => "service-gateway list",
        "drg" | "drgattachment" => "drg-attachment list",
        "localpeeringgateway" => "local-peering-gateway list",
        "privateip" => "private-ip list",
        _ => "internet-gateway list",
    };
    let scope = match (command, vcn) {
        ("private-ip list", _) => " --vnic-id <VNIC>".to_owned(),
        (_, Some(v)) => format!(" --compartment-id <COMPARTMENT> --vcn-id {v}"),
        (_, None) => " --compartment-id <COMPARTMENT>".to_owned(),
    };
    format!("oci network {command}{scope}")
}
