//! VNICs: addresses inside their subnet and held once, NSGs and route
//! table of the same VCN.
//!
//! A scenario with many VNICs has them resolved in parts, through the
//! loader's [`Jobs`] (on its threads when it has them: the second core is
//! idle while the main thread resolves). Each part is one pass over a
//! range of VNICs, the same code as the pass over all of them. The parts
//! are joined in file order, their warnings said in that order; when a
//! part fails, or an address is held in two parts, the one pass over all
//! the VNICs runs again and gives the error it gives (the first in file
//! order, as always).

use std::net::IpAddr;
use std::ops::Range;
use std::sync::OnceLock;

use ipnet::IpNet;

use super::addresses::{contained, list_cidrs, parse_ip, sorted_cidrs};
use super::attributes::parse_attributes;
use super::endpoints::route_table_in;
use super::{
    Ctx, HashMap, HashSet, Kind, Pending, Res, Resolver, Warn, id, label_into, limits, same_vcn,
};
use crate::ids::{NsgId, SubnetId, VcnId};
use crate::load::raw::{RawPublicIp, RawScenario, Sp};
use crate::load::{Jobs, WarningCode};
use crate::model::{PublicIp, Subnet, Vnic};

/// VNICs per part: a scenario with fewer than twice this many is resolved
/// in one pass (a part's thread and join cost more than its share).
const PART_VNICS: usize = 2048;

/// At most this many parts (and no more than the [`Jobs`] has threads:
/// with one, the one pass, which joins nothing).
const MAX_PARTS: usize = 8;

/// What every part reads.
struct Env<'a> {
    raw: &'a RawScenario,
    subnets: &'a [Subnet],
    /// Each subnet's CIDRs, sorted (they were checked not to overlap:
    /// `contained` may search them).
    subnet_sorted: Vec<Vec<IpNet>>,
    rt_vcns: &'a [VcnId],
    nsg_vcns: &'a [VcnId],
    vcn_names: &'a [String],
}

/// The VNICs of a range, resolved.
struct Part {
    vnics: Vec<Vnic>,
    ip_owner: IpOwners,
    warnings: Pending,
}

/// Which VNIC (index in the scenario) holds each private IP: one map per
/// part the VNICs were resolved in (no address is in two).
#[derive(Default)]
pub(super) struct IpOwners(Vec<HashMap<IpAddr, usize>>);

impl From<HashMap<IpAddr, usize>> for IpOwners {
    fn from(map: HashMap<IpAddr, usize>) -> Self {
        IpOwners(vec![map])
    }
}

impl IpOwners {
    /// The VNIC that holds `ip`.
    pub(super) fn get(&self, ip: &IpAddr) -> Option<&usize> {
        self.0.iter().find_map(|m| m.get(ip))
    }

    /// Adds a later part's maps.
    fn join(&mut self, later: IpOwners) {
        self.0.extend(later.0);
    }
}

impl Resolver<'_> {
    /// Reads the VNICs: addresses inside their subnet and held once, NSGs and
    /// route table of the same VCN.
    pub(super) fn vnics(&mut self) -> Res<()> {
        let env = Env {
            raw: self.raw,
            subnets: &self.s.subnets,
            subnet_sorted: self
                .s
                .subnets
                .iter()
                .map(|s| sorted_cidrs(&s.cidrs))
                .collect(),
            rt_vcns: &self.rt_vcns,
            nsg_vcns: &self.nsg_vcns,
            vcn_names: &self.vcn_names,
        };
        let n = env.raw.vnic.len();
        let parts = (n / PART_VNICS)
            .min(self.jobs.threads())
            .clamp(1, MAX_PARTS);
        let joined = if parts > 1 {
            in_parts(&self.ctx, &env, parts, self.jobs)
        } else {
            None
        };
        let all = match joined {
            Some(all) => all,
            None => resolve_range(&self.ctx, &env, 0..n, n)?,
        };
        all.warnings.give(&mut self.ctx);
        self.s.vnics = all.vnics;
        self.ip_owner = all.ip_owner;
        Ok(())
    }
}

/// The VNICs resolved in `parts` ranges through `jobs` and joined in
/// order; `None` when a part failed or did not run, or an address is held
/// in two parts (the one pass then says which error comes first).
fn in_parts(ctx: &Ctx<'_>, env: &Env<'_>, parts: usize, jobs: &dyn Jobs) -> Option<Part> {
    let n = env.raw.vnic.len();
    let bound = |k: usize| k.saturating_mul(n) / parts;
    let slots: Vec<OnceLock<Option<Part>>> = (0..parts).map(|_| OnceLock::new()).collect();
    jobs.run(parts, &|k| {
        let Some(slot) = slots.get(k) else {
            return;
        };
        let range = bound(k)..bound(k + 1);
        // The first part's VNICs become the whole's: room for every VNIC.
        let room = if k == 0 { n } else { range.len() };
        let _ = slot.set(resolve_range(ctx, env, range, room).ok());
    });
    let mut slots = slots.into_iter().map(|s| s.into_inner().flatten());
    let mut all = slots.next().flatten()?;
    for part in slots {
        let part = part?;
        // Each part's map is kept as it is (looked up, not merged: no
        // insert per address); an address must not be in an earlier one.
        let held_before = part
            .vnics
            .iter()
            .flat_map(|v| &v.private_ips)
            .any(|ip| all.ip_owner.get(ip).is_some());
        if held_before {
            return None;
        }
        all.ip_owner.join(part.ip_owner);
        all.vnics.extend(part.vnics);
        all.warnings.append(part.warnings);
    }
    Some(all)
}

/// One pass over the VNICs of `range` (indexes into the scenario's),
/// in order, with room for `room` VNICs in the result.
fn resolve_range(ctx: &Ctx<'_>, env: &Env<'_>, range: Range<usize>, room: usize) -> Res<Part> {
    let Env {
        raw,
        subnets,
        subnet_sorted,
        rt_vcns,
        nsg_vcns,
        vcn_names,
    } = env;
    let raw: &RawScenario = raw;
    let mut vnics = Vec::with_capacity(room);
    let mut warnings = Pending::default();
    // At least one address per vnic.
    let mut ip_owner: HashMap<IpAddr, usize> =
        HashMap::with_capacity_and_hasher(range.len(), ahash::RandomState::default());
    // One buffer for every vnic's label (10^4 and more of them): built
    // by pushes, not `format!`, as `label` would.
    let mut object = String::new();
    // One set for every vnic's nsgs, emptied for each: not a new
    // set (its seed and first allocation) per vnic.
    let mut seen = HashSet::default();
    for (ni, v) in raw
        .vnic
        .iter()
        .enumerate()
        .take(range.end)
        .skip(range.start)
    {
        label_into(&mut object, Kind::Vnic, &v.name.value);
        let si = ctx.lookup(Kind::Subnet, &v.subnet, &object, "subnet")?;
        let subnet = &subnets[si];
        let vcn = subnet.vcn;
        if v.private_ips.is_empty() {
            return Err(ctx.err(
                v.name.start(),
                &object,
                "private_ips",
                "a vnic needs at least one private ip".to_owned(),
            ));
        }
        let mut ips = Vec::with_capacity(v.private_ips.len());
        for p in &v.private_ips {
            let ip =
                parse_ip(&p.value).map_err(|m| ctx.err(p.start(), &object, "private_ips", m))?;
            if !contained(&subnet_sorted[si], &IpNet::from(ip)) {
                return Err(ctx.err(
                    p.start(),
                    &object,
                    "private_ips",
                    format!(
                        "address `{ip}` is outside subnet `{}` ({})",
                        subnet.name,
                        list_cidrs(&subnet.cidrs)
                    ),
                ));
            }
            if let Some(&other) = ip_owner.get(&ip) {
                let msg = if other == ni {
                    format!("address `{ip}` is listed twice")
                } else {
                    format!(
                        "address `{ip}` is already held by vnic `{}`",
                        raw.vnic[other].name.value
                    )
                };
                return Err(ctx.err(p.start(), &object, "private_ips", msg));
            }
            ip_owner.insert(ip, ni);
            if let Some((what, block)) = reserved(&subnet.cidrs, ip) {
                let drops = if what == LAST {
                    "; every packet to or from it drops at route, as a broadcast address (docs/semantics.md §2.1)"
                } else {
                    ""
                };
                warnings.warn(
                    WarningCode::ReservedAddress,
                    p.start(),
                    format!(
                        "{object}: address `{ip}` is {what} of block {block} of subnet `{}`, which OCI reserves: no VNIC can hold it{drops}",
                        subnet.name
                    ),
                );
            }
            ips.push(ip);
        }
        let mut nsgs = Vec::with_capacity(v.nsgs.len());
        seen.clear();
        for r in &v.nsgs {
            let i = ctx.lookup(Kind::Nsg, r, &object, "nsgs")?;
            same_vcn(
                ctx,
                nsg_vcns[i],
                vcn,
                Kind::Nsg,
                &raw.nsg[i].name.value,
                r,
                &object,
                "nsgs",
                vcn_names,
                "vnic",
            )?;
            let nid = id(NsgId::new(i), ctx)?;
            if !seen.insert(nid) {
                return Err(ctx.err(
                    r.start(),
                    &object,
                    "nsgs",
                    format!("nsg `{}` is listed twice", raw.nsg[i].name.value),
                ));
            }
            nsgs.push(nid);
        }
        warnings.warn_past_oci_limit(
            v.nsgs.first().and_then(Sp::start).or(v.name.start()),
            nsgs.len(),
            limits::NSGS_PER_VNIC,
            |n| format!("{object} is in {n} nsgs"),
        );
        let mut attributes = Vec::new();
        if let Some(a) = &v.security_attributes {
            let attrs = parse_attributes(ctx, a, &object)?;
            warnings.warn_past_oci_limit(
                a.start(),
                attrs.len(),
                limits::ATTRIBUTES_PER_VNIC,
                |n| format!("{object} has {n} security attributes"),
            );
            attributes = attrs;
        }
        let route_table = match &v.route_table {
            Some(r) => Some(route_table_in(
                ctx, raw, rt_vcns, vcn_names, vcn, r, &object, "vnic",
            )?),
            None => None,
        };
        let public_ip = match &v.public_ip {
            None => PublicIp::Unknown,
            Some(p) => {
                let given = match &p.value {
                    RawPublicIp::Flag(false) => PublicIp::Absent,
                    RawPublicIp::Flag(true) => PublicIp::Present(None),
                    RawPublicIp::Address(a) => match a.parse::<std::net::Ipv4Addr>() {
                        Ok(a) => PublicIp::Present(Some(a)),
                        Err(_) => {
                            return Err(ctx.err(
                                p.start(),
                                &object,
                                "public_ip",
                                format!(
                                    "`{a}` is not an IPv4 address (give the VNIC's public IPv4 address, `true` or `false`)"
                                ),
                            ));
                        }
                    },
                };
                // OCI refuses a public IP on a VNIC of a private subnet.
                if matches!(given, PublicIp::Present(_))
                    && (subnet.prohibit_public_ip || subnet.prohibit_internet_ingress)
                {
                    return Err(ctx.err(
                        p.start(),
                        &object,
                        "public_ip",
                        format!(
                            "subnet `{}` prohibits public IPs on its VNICs (`{}`), so this VNIC cannot have one",
                            subnet.name,
                            if subnet.prohibit_public_ip {
                                "prohibit_public_ip = true"
                            } else {
                                "prohibit_internet_ingress = true"
                            }
                        ),
                    ));
                }
                // OCI gives public IPs to private IPv4 addresses.
                if matches!(given, PublicIp::Present(_)) && !ips.iter().any(IpAddr::is_ipv4) {
                    warnings.warn(
                        WarningCode::PublicIpWithoutIpv4,
                        p.start(),
                        format!(
                            "{object}: `public_ip` gives it a public IP, but it has no private IPv4 address for one to belong to (OCI gives public IPs to private IPv4s): it changes nothing"
                        ),
                    );
                }
                given
            }
        };
        vnics.push(Vnic {
            name: v.name.value.clone(),
            id: v.id.as_ref().map(|x| x.value.clone()),
            subnet: id(SubnetId::new(si), ctx)?,
            private_ips: ips,
            nsgs,
            attributes,
            route_table,
            kind: v.kind.clone().unwrap_or_else(|| "instance".to_owned()),
            kind_said: v.kind.is_some(),
            skip_source_dest_check: v.skip_source_dest_check,
            public_ip,
            stand_in: v.stand_in.unwrap_or(false),
        });
    }
    Ok(Part {
        vnics,
        ip_owner: IpOwners::from(ip_owner),
        warnings,
    })
}

/// The last address of an IPv4 block, in [`reserved`]'s words.
const LAST: &str = "the last address (its broadcast address)";

/// Whether `ip` is an address OCI reserves in one of `cidrs` (its
/// subnet's blocks): the first two of an IPv4 block (the network's and
/// the virtual router's) and the last ([`LAST`]); which, and the block.
fn reserved(cidrs: &[IpNet], ip: IpAddr) -> Option<(&'static str, IpNet)> {
    let IpAddr::V4(v4) = ip else { return None };
    cidrs.iter().find_map(|c| match c {
        IpNet::V4(n) if n.prefix_len() <= 30 && n.contains(&v4) => {
            let off = u32::from(v4) - u32::from(n.network());
            let what = if off == 0 {
                "the first address (the network's)"
            } else if off == 1 {
                "the second address (the virtual router's)"
            } else if v4 == n.broadcast() {
                LAST
            } else {
                return None;
            };
            Some((what, *c))
        }
        _ => None,
    })
}
