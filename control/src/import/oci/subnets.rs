//! Subnets: their blocks (one that is no block left out; a subnet with
//! none, or lacking a family, handed to the VNICs' stage for host
//! blocks), route table (a stand-in for one the export lacks), security
//! lists (stand-ins likewise) and flags.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::super::names::Names;
use super::super::stand_in_rules::{Container, StandInRules};
use super::inventory::{Index, Inventory};
use super::json::{Obj, g, gs, gstrs, id_of};
use super::rules::Cx;
use super::tables::stand_in_table;
use super::vcn_guess;
use super::vcn_ref;

/// What the subnets' stage leaves for the VCNs' blocks and the VNICs'.
pub(super) struct Subnets {
    /// The subnets with blocks, as scenario objects.
    pub(super) out: Vec<Value>,
    /// Each subnet's CIDR blocks, by OCID.
    pub(super) nets: HashMap<String, Vec<ipnet::IpNet>>,
    /// Stand-in route tables made, by (table OCID, VCN).
    pub(super) empty_tables: BTreeMap<(String, String), String>,
    /// Every route table name taken.
    pub(super) table_names_used: Names,
    /// Each subnet's VCN, by the subnet's name.
    pub(super) vcn_of: HashMap<String, String>,
    /// Subnets whose VNICs can have no public IP, by name.
    pub(super) private: BTreeSet<String>,
    /// Subnets the export gives no block, with their objects.
    pub(super) blockless: Vec<(String, Obj)>,
    /// Subnets lacking one address family, with their objects.
    pub(super) lacking: Vec<(String, Obj, [bool; 2])>,
    /// Subnets written with blocks of one address family only, the export
    /// giving none of the other (no malformed one either), by OCID, with
    /// that family: a VNIC address of it in the subnet's VCN gets a host
    /// block ([`MissingSubnets::adopt_absent`]).
    ///
    /// [`MissingSubnets::adopt_absent`]: super::super::missing::MissingSubnets::adopt_absent
    pub(super) absent: HashMap<String, [bool; 2]>,
    /// Stand-in security lists made.
    pub(super) list_stand_ins: StandInRules,
    /// Subnets left out because their VCN cannot be guessed (no `vcn-id`
    /// naming a VCN, and no block, or blocks no one exported VCN holds),
    /// by OCID: their VNICs are placed by their addresses in stand-in
    /// subnets ([`MissingSubnets::place_unguessed`]), never left out
    /// (since the twenty-first session).
    ///
    /// [`MissingSubnets::place_unguessed`]: super::super::missing::MissingSubnets::place_unguessed
    pub(super) unguessed: BTreeSet<String>,
}

/// The VCN of subnet `o` whose `vcn-id` is absent, blank or no VCN OCID
/// (`None` when it names a VCN, exported or not): `Ok((name, OCID, by
/// what))`
/// of the one exported VCN [`vcn_guess::guess`] finds, else why none is.
fn guess_vcn(
    inv: &Inventory,
    ix: &Index,
    o: &Obj,
) -> Option<Result<(String, String, &'static str), String>> {
    if gs(o, "vcn-id").is_some_and(|v| v.starts_with("ocid1.vcn.")) {
        return None;
    }
    Some(match vcn_guess::guess(inv, o) {
        vcn_guess::Guess::One(id, by) => match ix.vcn.get(&id) {
            Some(n) => Ok((n.clone(), id, by)),
            None => Err("no exported VCN holds its blocks".to_owned()),
        },
        vcn_guess::Guess::Unknown(why) => Err(why.to_owned()),
        vcn_guess::Guess::Several(_) => Err("several exported VCNs hold its blocks".to_owned()),
    })
}

/// The subnets of `inv` (named `names`; `table_names` and `list_names`
/// the exported tables' and lists' names); stand-in route tables go to
/// `out_tables`.
pub(super) fn subnets(
    inv: &Inventory,
    names: &[String],
    table_names: &[String],
    list_names: &[String],
    cx: &mut Cx<'_>,
    out_tables: &mut Vec<Value>,
) -> Subnets {
    let ix = cx.ix;
    let mut out_subnets = Vec::new();
    // Each subnet's CIDR blocks, by OCID: a VNIC address outside them is
    // left out with a warning (the scenario would not load with it).
    let mut subnet_nets: HashMap<String, Vec<ipnet::IpNet>> = HashMap::new();
    // Stand-in route tables (no rule) for subnets and VNICs whose table
    // the export lacks, by (table OCID, VCN), named apart from every table.
    let mut empty_tables: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut table_names_used = Names::holding(table_names);
    // Each subnet's VCN, by the subnet's name.
    let mut subnet_vcn: HashMap<String, String> = HashMap::new();
    // Subnets whose VNICs can have no public IP, by name.
    let mut private_subnets: BTreeSet<String> = BTreeSet::new();
    // Subnets the export gives no block, with their objects.
    let mut blockless: Vec<(String, Obj)> = Vec::new();
    // Subnets lacking one address family (its blocks all malformed).
    let mut lacking: Vec<(String, Obj, [bool; 2])> = Vec::new();
    let mut absent: HashMap<String, [bool; 2]> = HashMap::new();
    let mut list_stand_ins = StandInRules::new(Container::SecurityList, list_names);
    let mut unguessed: BTreeSet<String> = BTreeSet::new();
    for (o, name) in inv.subnets.iter().zip(names) {
        let what = format!("subnet `{name}` (`{}`)", id_of(o));
        // A `vcn-id` absent, blank or no VCN OCID (a cut or garbled
        // export): the exported VCN whose blocks hold the subnet's, the
        // subnet kept there, marked (since the nineteenth session: left
        // out, its VNICs' addresses were unassigned ones of that VCN, on
        // whose side no security layer runs).
        let guessed = guess_vcn(inv, ix, o);
        let Some(vcn) = (match &guessed {
            Some(Ok((vcn, _, by))) => {
                cx.warnings.push(format!(
                    "{what}: its `vcn-id` is {}; {by} VCN `{vcn}`, kept there (`stand_in = true`: its VCN is guessed; export it again with `oci network subnet get --subnet-id {}`)",
                    gs(o, "vcn-id").map_or_else(|| "missing".to_owned(), |v| format!("`{v}`, no VCN OCID")),
                    id_of(o)
                ));
                Some(vcn.clone())
            }
            // Left out, but not as a subnet of a VCN not in the export:
            // its VNICs are placed by their addresses in stand-in subnets
            // (no security list, no route table known). As one of a VCN
            // not in the export, their addresses were unassigned ones of
            // the exported VCN holding them, on whose side no security
            // layer runs (the twenty-first session's late review, H1).
            Some(Err(why)) => {
                cx.warnings.push(format!(
                    "{what}: its `vcn-id` is {}, and {why}; left out (its VNICs are placed by their addresses, in stand-in subnets of the exported VCN holding them with no security list and no route table known): export it again with `oci network subnet get --subnet-id {}`",
                    gs(o, "vcn-id").map_or_else(|| "missing".to_owned(), |v| format!("`{v}`, no VCN OCID")),
                    id_of(o)
                ));
                unguessed.insert(id_of(o));
                None
            }
            None => vcn_ref(ix, o, &what, cx.warnings),
        }) else {
            continue;
        };
        subnet_vcn.insert(name.clone(), vcn.clone());
        let mut m = Obj::new();
        m.insert("name".into(), json!(name));
        m.insert("id".into(), json!(id_of(o)));
        m.insert("vcn".into(), json!(vcn));
        // OCI's `ipv4-cidr-blocks` lists every IPv4 block of a subnet,
        // the primary `cidr-block` among them.
        // A block that is no CIDR block is left out (the scenario would not
        // load with it): its addresses read as no subnet's.
        // Whether an IPv4 (IPv6) block was left out as no CIDR block.
        let mut malformed = [false; 2];
        let mut blocks = |list: &str, one: &str, family: usize| -> Vec<String> {
            let mut all = gs(o, one)
                .map(str::to_owned)
                .into_iter()
                .collect::<Vec<_>>();
            for c in gstrs(o, list) {
                if !all.contains(&c) {
                    all.push(c);
                }
            }
            all.retain(|c| {
                let ok = c.parse::<ipnet::IpNet>().is_ok();
                if !ok {
                    malformed[family] = true;
                    cx.warnings.push(format!(
                        "{what}: `{c}` is not a CIDR block; left out (its addresses read as no subnet's)"
                    ));
                }
                ok
            });
            all
        };
        let mut v4 = blocks("ipv4-cidr-blocks", "cidr-block", 0);
        let mut v6 = blocks("ipv6-cidr-blocks", "ipv6-cidr-block", 1);
        // A family whose every block was malformed, beside a valid block
        // of the other: its VNICs' addresses of it get host blocks.
        let lacks = [
            malformed[0] && v4.is_empty() && !v6.is_empty(),
            malformed[1] && v6.is_empty() && !v4.is_empty(),
        ];
        // A family the export gives no block of at all (an IPv4-only
        // subnet, or one whose `ipv6-cidr-blocks` a `--query` or an older
        // CLI dropped): a VNIC address of it inside the VCN gets a host
        // block (since the twentieth session; it was refused as outside
        // its subnet).
        let none_of = [
            !malformed[0] && v4.is_empty() && !v6.is_empty(),
            !malformed[1] && v6.is_empty() && !v4.is_empty(),
        ];
        if none_of.contains(&true) {
            absent.insert(id_of(o), none_of);
        }
        let nets: Vec<ipnet::IpNet> = v4
            .iter()
            .chain(&v6)
            .filter_map(|c| c.parse().ok())
            .collect();
        let first = if v4.is_empty() {
            v6.first().cloned()
        } else {
            Some(v4.remove(0))
        };
        v6.retain(|c| Some(c) != first.as_ref());
        if let Some(first) = &first {
            subnet_nets.insert(id_of(o), nets);
            m.insert("cidr_block".into(), json!(first));
            if !v4.is_empty() {
                m.insert("ipv4_cidr_blocks".into(), json!(v4));
            }
            if !v6.is_empty() {
                m.insert("ipv6_cidr_blocks".into(), json!(v6));
            }
        }
        if guessed.is_some() {
            m.insert("stand_in".into(), json!(true));
        }
        let vcn_id = match &guessed {
            Some(Ok((_, id, _))) => id.as_str(),
            _ => gs(o, "vcn-id").unwrap_or_default(),
        };
        let table = gs(o, "route-table-id")
            .map(str::to_owned)
            .or_else(|| ix.vcn_default_table.get(vcn_id).cloned());
        if let Some(t) = table {
            match ix.table.get(&t) {
                Some(n) => {
                    m.insert("route_table".into(), json!(n));
                }
                // Kept as a stand-in (marked, so `verify` and `explain`
                // name it and say what to export), not left out: a subnet
                // without a table reads as one the user forgot to give.
                None => {
                    let n = stand_in_table(
                        &mut empty_tables,
                        &mut table_names_used,
                        out_tables,
                        &t,
                        &vcn,
                    );
                    cx.warnings.push(format!(
                        "{what}: its route table `{t}` is not in the export; kept as `{n}`, a stand-in route table with no rule (only the VCN's local routes)"
                    ));
                    m.insert("route_table".into(), json!(n));
                }
            }
        }
        let mut lists = Vec::new();
        for l in gstrs(o, "security-list-ids") {
            if l.trim().is_empty() {
                cx.warnings
                    .push(format!("{what}: a security list id is blank; left out"));
                continue;
            }
            let n = match ix.list.get(&l) {
                Some(n) => n.clone(),
                None => {
                    let n = list_stand_ins.take(&l, &vcn);
                    cx.warnings.push(format!(
                        "{what}: its security list `{l}` is not in the export; kept as `{n}`, a stand-in security list with no rule (export it for what its rules allow)"
                    ));
                    n
                }
            };
            // Named twice, it is one list (the scenario refuses a repeat).
            if !lists.contains(&n) {
                lists.push(n);
            }
        }
        m.insert("security_lists".into(), json!(lists));
        // The export says its lists (a list, `[]` included: the CLI prints
        // every field, `null` when unset), or says nothing (absent, null:
        // an older CLI, a `--query`): read by [`say_what_is_unknown`]. A
        // list with an entry left out (blank, or not a string) does not
        // say them: what that entry named is unknown (the mid-session
        // review's L1).
        if g(o, "security-list-ids")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter()
                    .all(|l| l.as_str().is_some_and(|l| !l.trim().is_empty()))
            })
        {
            m.insert(LISTS_SAID.into(), json!(true));
        } else if guessed.is_none() {
            // An exported subnet that does not say its lists (since the
            // twenty-first session; they were read as none, so what its
            // lists' stateless rules would have untracked was tracked:
            // the late review's H2).
            cx.warnings.push(format!(
                "{what}: the export does not give its `security-list-ids` (absent, null, or with an entry that cannot be read): its security lists are unknown, so nothing is tracked at its VNICs (a stateless rule of a list it lacks could win) (export it with `oci network subnet get --subnet-id {}`)",
                id_of(o)
            ));
        }
        // A private subnet: its VNICs have no public IP, so an internet
        // gateway does not carry their traffic.
        // OCI's IPv6 counterpart, `prohibit-internet-ingress` (and the
        // flag `prohibit-public-ip-on-vnic` is set from): an internet
        // gateway carries none of its VNICs' IPv6 traffic either. A value
        // that is not a boolean is read as `true` (never widened).
        for (key, field) in [
            ("prohibit-public-ip-on-vnic", "prohibit_public_ip"),
            ("prohibit-internet-ingress", "prohibit_internet_ingress"),
        ] {
            let private = match g(o, key) {
                None | Some(Value::Bool(false)) => false,
                Some(Value::Bool(true)) => true,
                Some(_) => {
                    cx.warnings.push(format!(
                        "{what}: `{key}` is not a boolean; imported as true (a private subnet: an internet gateway does not carry its VNICs' traffic)"
                    ));
                    true
                }
            };
            if private {
                m.insert(field.into(), json!(true));
                private_subnets.insert(name.clone());
            }
        }
        if lacks.contains(&true) {
            let family = if lacks[0] { "IPv4" } else { "IPv6" };
            cx.warnings.push(format!(
                "{what}: every {family} block the export gives it is malformed; it keeps its other blocks, and its VNICs' {family} addresses are kept in it with one host block each (`stand_in = true`; its other {family} addresses read as no subnet's): export the subnet again"
            ));
            lacking.push((id_of(o), m, lacks));
        } else if first.is_some() {
            out_subnets.push(Value::Object(m));
        } else {
            // No block at all (an IPv6-only subnet has an IPv6 one): its
            // VNICs are kept in it, each address a host block
            // (`MissingSubnets::adopt`), rather than refused as outside it.
            cx.warnings.push(format!(
                "{what}: the export gives it no CIDR block (`cidr-block`, `ipv4-cidr-blocks`, `ipv6-cidr-blocks`); its VNICs are kept in it with one host block per address (`stand_in = true`), its other addresses read as no subnet's, and it is left out if it has no VNIC: export the subnet again"
            ));
            blockless.push((id_of(o), m));
        }
    }
    Subnets {
        out: out_subnets,
        nets: subnet_nets,
        empty_tables,
        table_names_used,
        vcn_of: subnet_vcn,
        private: private_subnets,
        blockless,
        lacking,
        absent,
        list_stand_ins,
        unguessed,
    }
}

/// Adds to the subnets `out` (scenario objects) the host blocks `added`
/// (subnet name, blocks) that their VNICs' addresses of an address family
/// the export gave the subnet no block of needed, marking each such
/// subnet `stand_in` with a warning (since the twentieth session: the
/// import failed, the addresses outside their subnet but inside its VCN).
pub(super) fn add_hosts(
    out: &mut [Value],
    added: Vec<(String, Vec<ipnet::IpNet>)>,
    warnings: &mut Vec<String>,
) {
    for (name, blocks) in added {
        let Some(m) = out
            .iter_mut()
            .find(|m| m["name"] == name.as_str())
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let mut family = "IPv4";
        for b in &blocks {
            let key = if b.addr().is_ipv6() {
                family = "IPv6";
                "ipv6_cidr_blocks"
            } else {
                "ipv4_cidr_blocks"
            };
            if let Some(list) = m.entry(key).or_insert_with(|| json!([])).as_array_mut() {
                list.push(json!(b.to_string()));
            }
        }
        m.insert("stand_in".into(), json!(true));
        let id = m.get("id").and_then(Value::as_str).unwrap_or_default();
        warnings.push(format!(
            "subnet `{name}` (`{id}`): the export gives it no {family} block, but its VNICs have {n} {family} address(es) in its VCN; each is kept in it with a host block (`stand_in = true`; its other {family} addresses read as no subnet's): export the subnet again (`oci network subnet get --subnet-id {id}`)",
            n = blocks.len()
        ));
    }
}

/// The key a subnet object carries while the import runs when the
/// export gave its `security-list-ids` as a list ([`say_what_is_unknown`]
/// takes it out).
const LISTS_SAID: &str = "\u{0}security-list-ids said";

/// Writes, on every stand-in subnet of `doc`, which of its parts are
/// unknown (since the twentieth session; `stand_in` alone said it by an
/// empty list of security lists, no route table): `security_lists_unknown`
/// (a subnet made up for one the export lacks has none: nothing is tracked
/// at its VNICs) and `route_table_unknown` (likewise: only the VCN's local
/// routes are known). A subnet exported whose blocks or VCN were guessed
/// keeps its lists and table as exported, and says `false` for those it
/// has. One that lists none is told apart since the twenty-first session:
/// `security-list-ids: []` says it has none (`false`: OCI applies no list
/// rule, and what needs one drops), the key absent or null says nothing
/// (`true`, as before: nothing is tracked at its VNICs).
pub(super) fn say_what_is_unknown(doc: &mut Obj) {
    let Some(subnets) = doc.get_mut("subnet").and_then(Value::as_array_mut) else {
        return;
    };
    for m in subnets.iter_mut().filter_map(Value::as_object_mut) {
        let said = m.remove(LISTS_SAID).is_some();
        if m.get("stand_in") != Some(&json!(true)) {
            // An exported subnet that does not say its lists: unknown
            // (since the twenty-first session, the late review's H2).
            if !said {
                m.insert("security_lists_unknown".into(), json!(true));
            }
            continue;
        }
        let no_list = !said;
        let no_table = !m.contains_key("route_table");
        m.insert("security_lists_unknown".into(), json!(no_list));
        m.insert("route_table_unknown".into(), json!(no_table));
    }
}
