//! Stand-in subnets for VNICs whose subnet the export lacks.
//!
//! A partial export (VNICs exported from an application compartment, the
//! subnets living in a network compartment that was not) names subnets it
//! does not hold. Leaving such a VNIC out is not safe: its addresses, when
//! inside an exported VCN, become unassigned VCN addresses, on whose side
//! no security layer runs and which carry no attributes
//! (docs/semantics.md §1), so traffic from and to them would skip the
//! VNIC's NSGs and escape ZPR's default deny.
//!
//! Instead the VNIC is kept, with its NSGs, attributes and own route
//! table, in a stand-in subnet of the VCN holding its addresses: one host
//! block (`/32`, `/128`) per address, no security list and no route table.
//! Everything the stand-in leaves out can only allow: the missing
//! security lists' rules (a VNIC's security is the union of its NSGs and
//! its subnet's lists) and the missing route table's rules (only the
//! VCN's local routes remain, and a reply from outside needs a route).
//! So the scenario denies at least what the network does on this VNIC's
//! side, and exactly what it does for its attributes.
//!
//! Where no exported VCN holds the addresses, the VCN is missing too: the
//! VNIC is left out and its addresses are external ones, as every address
//! of a VCN not in the export is (the warning says so). Addresses that
//! another exported subnet holds, or that lie in two VCNs or in a VCN and
//! outside it, contradict the export: the import fails, naming the VNIC.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Value, json};

use super::names::Names;

/// The name of the exported VCN (of `vcns`: names and blocks) whose
/// blocks hold `ip`.
pub(super) fn vcn_holding(vcns: &[(String, Vec<IpNet>)], ip: IpAddr) -> Option<&str> {
    vcns.iter()
        .find(|(_, nets)| nets.iter().any(|n| n.contains(&ip)))
        .map(|(name, _)| name.as_str())
}

/// Host blocks for an exported subnet, by its name
/// ([`MissingSubnets::hosts_added`]).
pub(super) type HostsAdded = (String, Vec<IpNet>);

/// Where a VNIC of a missing subnet goes.
pub(super) enum Placed {
    /// In the stand-in subnet of this name, in the VCN of that name.
    StandIn(String, String),
    /// In the exported subnet of this name, in the VCN of that name,
    /// whose blocks the export lacks ([`MissingSubnets::adopt`]).
    Adopted(String, String),
    /// Nowhere: no exported VCN holds its addresses.
    External,
    /// The export contradicts itself: the import fails with this reason.
    Refused(String),
}

struct StandIn {
    name: String,
    vcn: String,
    blocks: Vec<IpNet>,
    /// `blocks` as a set: a scan of them per address was quadratic in a
    /// stand-in's addresses (the review: 60,000 pod IPs, 0.65 -> 2.17 s).
    held: std::collections::HashSet<IpNet>,
    /// A VNIC placed in it has a public IP: the subnet is not private.
    public: bool,
    /// An exported subnet whose blocks the export lacks ([`MissingSubnets::adopt`]):
    /// its scenario object without blocks (name, VCN, lists, route table,
    /// flags as exported).
    exported: Option<serde_json::Map<String, Value>>,
    /// An exported subnet with valid blocks of one family only, whose
    /// blocks of the other the export gave malformed
    /// ([`MissingSubnets::adopt_lacking`]): its object keeps its valid
    /// blocks, and host blocks are added for that family.
    partial: bool,
}

/// The stand-in subnets made so far, by the OCID of the subnet they stand
/// for.
pub(super) struct MissingSubnets<'a> {
    /// Each exported VCN's name and blocks.
    vcns: &'a [(String, Vec<IpNet>)],
    /// Every exported subnet's blocks, with the subnet's name.
    subnets: Vec<(IpNet, &'a str)>,
    names: Names,
    made: BTreeMap<String, StandIn>,
}

impl<'a> MissingSubnets<'a> {
    /// `vcns`: the exported VCNs' names and blocks; `subnets`: the exported
    /// subnets' names and blocks; `subnet_names`: every name the subnets
    /// took (a stand-in's name differs from all of them).
    pub(super) fn new(
        vcns: &'a [(String, Vec<IpNet>)],
        subnets: impl IntoIterator<Item = (&'a str, &'a [IpNet])>,
        subnet_names: &[String],
    ) -> Self {
        Self {
            vcns,
            subnets: subnets
                .into_iter()
                .flat_map(|(name, nets)| nets.iter().map(move |n| (*n, name)))
                .collect(),
            names: Names::holding(subnet_names),
            made: BTreeMap::new(),
        }
    }

    /// Takes the exported subnet `subnet` (its scenario object, named and
    /// in its VCN, without blocks) of OCID `subnet_id`, which the export
    /// gives no CIDR block: [`MissingSubnets::place`] places its VNICs in
    /// it, each address a host block, as in a stand-in subnet, and it keeps
    /// its security lists, route table and flags. Without a VNIC it is
    /// left out (a subnet needs a block).
    pub(super) fn adopt(&mut self, subnet_id: &str, subnet: serde_json::Map<String, Value>) {
        let field = |k: &str| {
            subnet
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        self.made.insert(
            subnet_id.to_owned(),
            StandIn {
                name: field("name"),
                vcn: field("vcn"),
                blocks: Vec::new(),
                held: std::collections::HashSet::new(),
                public: false,
                exported: Some(subnet),
                partial: false,
            },
        );
    }

    /// Takes the exported subnet `subnet` (its scenario object, with its
    /// valid blocks) of OCID `subnet_id`, whose blocks of one address
    /// family the export gave, all of them, malformed (since the nineteenth
    /// session: its VNICs' addresses of that family were refused as
    /// outside it): [`MissingSubnets::place_lacking`] gives each of its
    /// VNICs' addresses of that family a host block, as
    /// [`MissingSubnets::adopt`] does for a subnet without blocks. It is
    /// written back as it came when none is added.
    pub(super) fn adopt_lacking(
        &mut self,
        subnet_id: &str,
        subnet: serde_json::Map<String, Value>,
    ) {
        self.adopt(subnet_id, subnet);
        if let Some(s) = self.made.get_mut(subnet_id) {
            s.partial = true;
        }
    }

    /// Takes the exported subnet `name` (OCID `subnet_id`, in VCN `vcn`),
    /// written by the subnets' stage with blocks of one address family
    /// only, the export giving no block of the other (none at all, not
    /// malformed ones): [`MissingSubnets::place_lacking`] gives its VNICs'
    /// addresses of that family host blocks, as for
    /// [`MissingSubnets::adopt_lacking`], but the subnet object stays
    /// where the subnets' stage wrote it: [`MissingSubnets::hosts_added`]
    /// says what to add to it (since the twentieth session).
    pub(super) fn adopt_absent(&mut self, subnet_id: &str, name: &str, vcn: &str) {
        self.made.insert(
            subnet_id.to_owned(),
            StandIn {
                name: name.to_owned(),
                vcn: vcn.to_owned(),
                blocks: Vec::new(),
                held: std::collections::HashSet::new(),
                public: false,
                exported: None,
                partial: true,
            },
        );
    }

    /// The host blocks given to subnets taken by
    /// [`MissingSubnets::adopt_absent`]: (subnet name, blocks) of each
    /// that got any.
    pub(super) fn hosts_added(&self) -> Vec<HostsAdded> {
        self.made
            .values()
            .filter(|s| s.partial && s.exported.is_none() && !s.blocks.is_empty())
            .map(|s| (s.name.clone(), s.blocks.clone()))
            .collect()
    }

    /// Gives the addresses `ips` (of the family subnet `subnet_id` lacks,
    /// [`MissingSubnets::adopt_lacking`]) host blocks in it; `None` when
    /// `subnet_id` is no such subnet, `Placed::Refused` when an address
    /// lies in another exported subnet or outside the subnet's VCN.
    pub(super) fn place_lacking(&mut self, subnet_id: &str, ips: &[IpAddr]) -> Option<Placed> {
        if !self.made.get(subnet_id).is_some_and(|s| s.partial) {
            return None;
        }
        Some(self.place_in_adopted(subnet_id, ips))
    }

    /// Places a VNIC of the missing subnet `subnet_id` with addresses
    /// `ips` (parsed, at least one).
    pub(super) fn place(&mut self, subnet_id: &str, ips: &[IpAddr]) -> Placed {
        if let Some(s) = self.made.get(subnet_id)
            && s.exported.is_some()
        {
            return self.place_in_adopted(subnet_id, ips);
        }
        let its = if subnet_id.is_empty() {
            "it names no subnet (no `subnet-id`)".to_owned()
        } else {
            format!("its subnet `{subnet_id}` is not in the export")
        };
        self.place_as(subnet_id, ips, &its)
    }

    /// Places a VNIC of the exported subnet `name` (OCID `subnet_id`) that
    /// was left out because its VCN cannot be guessed (no `vcn-id` naming
    /// a VCN, and no block, or blocks no one exported VCN holds), with
    /// addresses `ips`, as [`MissingSubnets::place`] does a VNIC of a
    /// missing subnet: in a stand-in subnet of the exported VCN holding
    /// them (no security list, no route table known), external when none
    /// does. An address that several exported VCNs hold (their blocks
    /// overlap) refuses the import: in one of them the VNIC's NSGs would
    /// hold for an address that is not its own, and in the others its
    /// addresses would be unassigned ones, on whose side no security layer
    /// runs (since the twenty-first session; its VNICs were left out).
    pub(super) fn place_unguessed(
        &mut self,
        subnet_id: &str,
        name: &str,
        ips: &[IpAddr],
    ) -> Placed {
        for ip in ips {
            let holding: Vec<String> = self
                .vcns
                .iter()
                .filter(|(_, nets)| nets.iter().any(|n| n.contains(ip)))
                .map(|(v, _)| format!("`{v}`"))
                .collect();
            if holding.len() > 1 {
                return Placed::Refused(format!(
                    "its subnet `{name}` (`{subnet_id}`) was left out, its VCN unknown (no `vcn-id`, and no block that one exported VCN holds), and its address `{ip}` lies in {} VCNs ({}): in none of them can its VNIC be placed without allowing, in the others, what the network drops (export the subnet again with `oci network subnet get --subnet-id {subnet_id}`)",
                    holding.len(),
                    holding.join(", ")
                ));
            }
        }
        let its = format!(
            "its subnet `{name}` (`{subnet_id}`) was left out, its VCN unknown (no `vcn-id`, and no block that one exported VCN holds)"
        );
        self.place_as(subnet_id, ips, &its)
    }

    /// [`MissingSubnets::place`], `its` saying why the VNIC's subnet is
    /// made up.
    fn place_as(&mut self, subnet_id: &str, ips: &[IpAddr], its: &str) -> Placed {
        let mut vcn: Option<&str> = None;
        let mut outside = false;
        for ip in ips {
            if let Some((_, subnet)) = self.subnets.iter().find(|(n, _)| n.contains(ip)) {
                // VCNs reusing one CIDR: the VNIC may be of another VCN
                // holding the address, which `--vcn` imports alone.
                let holding: Vec<String> = self
                    .vcns
                    .iter()
                    .filter(|(_, nets)| nets.iter().any(|n| n.contains(ip)))
                    .map(|(name, _)| format!("`--vcn {name}`"))
                    .collect();
                let way_out = if holding.len() > 1 {
                    format!(
                        "; {} VCNs hold that address (their blocks overlap): if the VNIC is of one that subnet `{subnet}` is not in, import that VCN alone ({})",
                        holding.len(),
                        holding.join(" or ")
                    )
                } else {
                    String::new()
                };
                return Placed::Refused(format!(
                    "{its}, and its address `{ip}` lies in subnet `{subnet}` of the export: a VNIC's addresses lie in its own subnet, so the export contradicts itself (export the VNIC's subnet with the others, or correct its `subnet-id`){way_out}"
                ));
            }
            match (vcn_holding(self.vcns, *ip), vcn) {
                (None, _) => outside = true,
                (Some(v), None) => vcn = Some(v),
                (Some(v), Some(w)) if v != w => {
                    return Placed::Refused(format!(
                        "{its}, and its addresses lie in two VCNs (`{w}` and `{v}`)"
                    ));
                }
                _ => {}
            }
        }
        let Some(vcn) = vcn else {
            return Placed::External;
        };
        if outside {
            return Placed::Refused(format!(
                "{its}, and its addresses lie both in VCN `{vcn}` and outside every exported VCN"
            ));
        }
        if let Some(s) = self.made.get(subnet_id)
            && s.vcn != vcn
        {
            return Placed::Refused(format!(
                "{its}, and its addresses lie in VCN `{vcn}` while another VNIC of that subnet has them in `{}`: export the subnet, or import one of those VCNs alone (`--vcn {vcn}` or `--vcn {}`)",
                s.vcn, s.vcn
            ));
        }
        let names = &mut self.names;
        let s = self
            .made
            .entry(subnet_id.to_owned())
            .or_insert_with(|| StandIn {
                name: names.take_for("", "missing", subnet_id),
                vcn: vcn.to_owned(),
                blocks: Vec::new(),
                held: std::collections::HashSet::new(),
                public: false,
                exported: None,
                partial: false,
            });
        for ip in ips {
            let host = IpNet::from(*ip);
            if s.held.insert(host) {
                s.blocks.push(host);
            }
        }
        Placed::StandIn(s.name.clone(), s.vcn.clone())
    }

    /// [`MissingSubnets::place`] in an exported subnet without blocks
    /// ([`MissingSubnets::adopt`]): each address must lie in its VCN and in
    /// no other exported subnet.
    fn place_in_adopted(&mut self, subnet_id: &str, ips: &[IpAddr]) -> Placed {
        let Some(s) = self.made.get_mut(subnet_id) else {
            return Placed::External;
        };
        let no_block = if s.partial && s.exported.is_none() {
            "no CIDR block of that address family"
        } else if s.partial {
            "no valid CIDR block of that address family"
        } else {
            "no CIDR block"
        };
        for ip in ips {
            if let Some((_, other)) = self.subnets.iter().find(|(n, _)| n.contains(ip)) {
                return Placed::Refused(format!(
                    "its subnet `{}` has {no_block} in the export, and its address `{ip}` lies in subnet `{other}` of the export: a VNIC's addresses lie in its own subnet, so the export contradicts itself (export the subnet again with its blocks, or correct the VNIC's `subnet-id`)",
                    s.name
                ));
            }
            let in_vcn = self
                .vcns
                .iter()
                .any(|(name, nets)| *name == s.vcn && nets.iter().any(|n| n.contains(ip)));
            if !in_vcn {
                return Placed::Refused(format!(
                    "its subnet `{}` has {no_block} in the export, and its address `{ip}` lies outside the subnet's VCN `{}`: export the subnet again with its blocks",
                    s.name, s.vcn
                ));
            }
        }
        for ip in ips {
            let host = IpNet::from(*ip);
            if s.held.insert(host) {
                s.blocks.push(host);
            }
        }
        Placed::Adopted(s.name.clone(), s.vcn.clone())
    }

    /// Notes that a VNIC placed in the stand-in for `subnet_id` (if there
    /// is one) has a public IP: that subnet allows them.
    pub(super) fn holds_public_ip(&mut self, subnet_id: &str) {
        if let Some(s) = self.made.get_mut(subnet_id) {
            s.public = true;
        }
    }

    /// The stand-in subnets as scenario objects: the first block is
    /// `cidr_block`, the others go to `ipv4_cidr_blocks` and
    /// `ipv6_cidr_blocks`; no security list, no route table; private
    /// (`prohibit_internet_ingress`: no internet gateway carries its
    /// VNICs' traffic, the least the real subnet could allow) unless a
    /// VNIC in it has a public IP.
    pub(super) fn into_subnets(self) -> Vec<Value> {
        self.made
            .into_iter()
            .filter_map(|(id, s)| {
                if s.partial {
                    // Its valid blocks as exported, and host blocks of
                    // the family it lacks (if a VNIC needed any); one of
                    // `adopt_absent` is written by the subnets' stage.
                    let mut m = s.exported?;
                    if s.blocks.is_empty() {
                        return Some(Value::Object(m));
                    }
                    for b in &s.blocks {
                        let key = if b.addr().is_ipv6() {
                            "ipv6_cidr_blocks"
                        } else {
                            "ipv4_cidr_blocks"
                        };
                        if let Some(list) = m.entry(key).or_insert_with(|| json!([])).as_array_mut()
                        {
                            list.push(json!(b.to_string()));
                        }
                    }
                    m.insert("stand_in".into(), json!(true));
                    return Some(Value::Object(m));
                }
                let (first, rest) = s.blocks.split_first()?;
                let (v4, v6): (Vec<_>, Vec<_>) = rest
                    .iter()
                    .map(ToString::to_string)
                    .partition(|b| !b.contains(':'));
                if let Some(mut m) = s.exported {
                    // An exported subnet: its lists, route table and flags
                    // as exported; only its blocks are made up.
                    put_blocks(&mut m, first, v4, v6);
                    m.insert("stand_in".into(), json!(true));
                    return Some(Value::Object(m));
                }
                let mut m = serde_json::Map::new();
                m.insert("name".into(), json!(s.name));
                // A VNIC without a `subnet-id` names no subnet to export.
                if !id.is_empty() {
                    m.insert("id".into(), json!(id));
                }
                m.insert("vcn".into(), json!(s.vcn));
                put_blocks(&mut m, first, v4, v6);
                m.insert("security_lists".into(), json!([]));
                if !s.public {
                    m.insert("prohibit_internet_ingress".into(), json!(true));
                }
                m.insert("stand_in".into(), json!(true));
                Some(Value::Object(m))
            })
            .collect()
    }
}

/// Writes a made-up subnet's host blocks: the first is `cidr_block`, the
/// other IPv4 ones `ipv4_cidr_blocks`, the IPv6 ones `ipv6_cidr_blocks`.
fn put_blocks(
    m: &mut serde_json::Map<String, Value>,
    first: &IpNet,
    v4: Vec<String>,
    v6: Vec<String>,
) {
    m.insert("cidr_block".into(), json!(first.to_string()));
    if !v4.is_empty() {
        m.insert("ipv4_cidr_blocks".into(), json!(v4));
    }
    if !v6.is_empty() {
        m.insert("ipv6_cidr_blocks".into(), json!(v6));
    }
}
