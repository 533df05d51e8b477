//! The resolved scenario: every reference is an index, every default applied,
//! every option that does not fit its protocol already dropped (with a
//! warning from the loader). The reference evaluator and the compiler read
//! only this; the loader (`crate::load`) is the only place that knows names.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::ids::{
    GatewayId, NsgId, PolicyId, RouteTableId, SecurityListId, ServiceId, SubnetId, VcnId, VnicId,
};
use crate::zpl::ast::Statement;

/// A whole modeled network.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    /// The scenario's own name, if it gives one.
    pub name: Option<String>,
    /// Service CIDR labels (`[services]`).
    pub services: Vec<ServiceLabel>,
    /// VCNs.
    pub vcns: Vec<Vcn>,
    /// Gateways (internet, NAT, service, DRG, LPG).
    pub gateways: Vec<Gateway>,
    /// Route tables.
    pub route_tables: Vec<RouteTable>,
    /// Security lists.
    pub security_lists: Vec<SecurityList>,
    /// Network security groups.
    pub nsgs: Vec<Nsg>,
    /// Subnets.
    pub subnets: Vec<Subnet>,
    /// VNICs.
    pub vnics: Vec<Vnic>,
    /// ZPR policies.
    pub zpr_policies: Vec<ZprPolicy>,
    /// Simulator options (our decisions where Oracle is silent).
    pub options: Options,
}

/// Simulator options: the switches behind the `[decision]`s of the semantics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// What `is_zpr_only` on a VCN does.
    pub zpr_only: ZprOnlyMode,
    /// Statements per ZPR policy above which the loader warns (OCI: 25).
    pub max_statements_per_policy: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            zpr_only: ZprOnlyMode::Report,
            max_statements_per_policy: 25,
        }
    }
}

/// What the `is_zpr_only` flag of a VCN does ([decision]: Oracle does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZprOnlyMode {
    /// Parse and report the flag; it changes no verdict (the default).
    #[default]
    Report,
    /// Every VNIC in such a VCN is default-deny under ZPR, attributed or not.
    DefaultDeny,
}

/// A service CIDR label: a name standing for a set of CIDRs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLabel {
    /// The label, e.g. `all-iad-services-in-oracle-services-network`.
    pub name: String,
    /// The CIDRs it stands for.
    pub cidrs: Vec<IpNet>,
}

pub use crate::shared::{Attribute, DEFAULT_NAMESPACE, PortRange, proto};

/// Whether an attribute is enforced or only audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Mode {
    /// Enforced: the endpoint is default-deny under ZPR (the default).
    #[default]
    Enforce,
    /// Audited: never drops; a failed check is reported as "would deny".
    Audit,
}

/// An attribute carried by a VNIC or VCN, with its mode.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecurityAttribute {
    /// The attribute.
    pub attribute: Attribute,
    /// Its mode.
    pub mode: Mode,
}

/// A VCN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vcn {
    /// Name (unique among VCNs).
    pub name: String,
    /// OCID, when given.
    pub id: Option<String>,
    /// CIDR blocks (IPv4 and IPv6), `ipv6_private_cidr_blocks` included.
    pub cidr_blocks: Vec<IpNet>,
    /// The VCN's private IPv6 prefixes (OCI's `ipv6-private-cidr-blocks`:
    /// a ULA or other prefix the internet does not route to the VCN). An
    /// internet gateway carries no traffic of an address in them, nor of
    /// any ULA address (`fc00::/7`).
    pub ipv6_private_cidr_blocks: Vec<IpNet>,
    /// The one security attribute a VCN may carry (scope of `in <attr> VCN`).
    pub attribute: Option<Attribute>,
    /// OCI's `isZprOnly` flag (see [`ZprOnlyMode`]).
    pub is_zpr_only: bool,
}

/// The kind of a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GatewayKind {
    /// Internet gateway.
    Internet,
    /// NAT gateway: outbound only, replies admitted.
    Nat,
    /// Service gateway: Oracle Services Network, replies admitted.
    Service,
    /// Dynamic routing gateway.
    Drg,
    /// Local peering gateway.
    Lpg,
}

impl GatewayKind {
    /// The name used in scenarios and reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayKind::Internet => "internet",
            GatewayKind::Nat => "nat",
            GatewayKind::Service => "service",
            GatewayKind::Drg => "drg",
            GatewayKind::Lpg => "lpg",
        }
    }

    /// Whether traffic from outside may enter the VCN through it unsolicited
    /// (semantics §2: internet gateway, DRG, LPG).
    #[must_use]
    pub fn admits_inbound(self) -> bool {
        matches!(
            self,
            GatewayKind::Internet | GatewayKind::Drg | GatewayKind::Lpg
        )
    }

    /// Whether it reaches another VCN (semantics §2: DRG, LPG).
    #[must_use]
    pub fn reaches_other_vcn(self) -> bool {
        matches!(self, GatewayKind::Drg | GatewayKind::Lpg)
    }
}

/// A gateway of a VCN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    /// Name.
    pub name: String,
    /// OCID, when given.
    pub id: Option<String>,
    /// The VCN it belongs to.
    pub vcn: VcnId,
    /// What it is.
    pub kind: GatewayKind,
    /// Whether it drops every packet: an internet gateway with OCI's
    /// `isEnabled` false, a NAT or service gateway with `blockTraffic` true,
    /// a local peering gateway whose `peeringStatus` is not `PEERED`.
    /// A route rule that targets it still matches (its destination is not
    /// handed to a less specific rule), and the packet is dropped at the
    /// route layer, in both directions and for replies too.
    pub blocked: bool,
    /// Made up by `zprsim import` for a route rule's target the export
    /// lacks (since the nineteenth session; informative, for `verify`):
    /// its kind and state are unknown, so no route hint enables it,
    /// retargets a rule away from it or adds a gateway beside it.
    pub stand_in: bool,
}

/// A route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    /// Name.
    pub name: String,
    /// OCID, when given.
    pub id: Option<String>,
    /// The VCN it belongs to.
    pub vcn: VcnId,
    /// Its static rules, in order (the implicit local routes are not listed).
    pub rules: Vec<RouteRule>,
    /// Made up by `zprsim import` for an object the export lacks
    /// (`stand_in = true`): judged as the least the real one could allow;
    /// `verify` says to export it rather than hint rules for it.
    pub stand_in: bool,
}

/// What a route rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteDestination {
    /// A CIDR block.
    Cidr(IpNet),
    /// A service CIDR label (only through a service gateway).
    Service(ServiceId),
}

/// Where a route rule sends the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTarget {
    /// A gateway.
    Gateway(GatewayId),
    /// A private IP (a next-hop appliance: reported, not simulated).
    PrivateIp {
        /// The address.
        ip: IpAddr,
        /// The VNIC holding it.
        vnic: VnicId,
    },
}

/// A static route rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    /// What it matches.
    pub destination: RouteDestination,
    /// Where it sends.
    pub target: RouteTarget,
    /// Free text.
    pub description: Option<String>,
}

/// Direction of a security rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Ingress: the remote side is the packet's source.
    Ingress,
    /// Egress: the remote side is the packet's destination.
    Egress,
}

impl Direction {
    /// `INGRESS` or `EGRESS`, as OCI writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "INGRESS",
            Direction::Egress => "EGRESS",
        }
    }
}

/// The protocol a security rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `all`: every protocol; options are ignored.
    All,
    /// One IANA protocol number.
    Number(u8),
}

/// The remote side of a security rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Peer {
    /// A CIDR block.
    Cidr(IpNet),
    /// A service CIDR label.
    Service(ServiceId),
    /// Members of an NSG (NSG rules only): matched by membership, not address.
    Nsg(NsgId),
}

/// The protocol options of a security rule that fit its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RuleOptions {
    /// No option (or protocol `all`, or options that did not fit).
    #[default]
    None,
    /// TCP or UDP ports; `None` means every port.
    Ports {
        /// Source port range.
        src: Option<PortRange>,
        /// Destination port range.
        dst: Option<PortRange>,
    },
    /// ICMP or ICMPv6 type and optional code.
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code; `None` means every code.
        code: Option<u8>,
    },
}

impl RuleOptions {
    /// Whether the rule has a port (or ICMP type) condition, so it cannot
    /// match a non-first IP fragment.
    #[must_use]
    pub fn needs_l4(self) -> bool {
        match self {
            RuleOptions::None => false,
            RuleOptions::Ports { src, dst } => src.is_some() || dst.is_some(),
            RuleOptions::Icmp { .. } => true,
        }
    }
}

/// A security rule of a security list or NSG.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecurityRule {
    /// Direction.
    pub direction: Direction,
    /// Protocol.
    pub protocol: Protocol,
    /// Remote side: source for ingress, destination for egress.
    pub peer: Peer,
    /// Stateless rules create no connection tracking.
    pub stateless: bool,
    /// Options that fit the protocol.
    pub options: RuleOptions,
    /// Free text.
    pub description: Option<String>,
}

/// A security list (applies to every VNIC of the subnets using it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityList {
    /// Name.
    pub name: String,
    /// OCID, when given.
    pub id: Option<String>,
    /// The VCN it belongs to.
    pub vcn: VcnId,
    /// Ingress rules, in order.
    pub ingress: Vec<SecurityRule>,
    /// Egress rules, in order.
    pub egress: Vec<SecurityRule>,
    /// Made up by `zprsim import` for an object the export lacks
    /// (`stand_in = true`): judged as with no rule (the least the real one could allow);
    /// `verify` says to export it rather than hint rules for it.
    pub stand_in: bool,
}

/// A network security group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nsg {
    /// Name.
    pub name: String,
    /// OCID, when given.
    pub id: Option<String>,
    /// The VCN it belongs to.
    pub vcn: VcnId,
    /// Rules of both directions, in order.
    pub rules: Vec<SecurityRule>,
    /// Made up by `zprsim import` for an object the export lacks
    /// (`stand_in = true`): judged as with no rule (the least the real one could allow),
    /// or with the rules exported for it when only its record is missing;
    /// `verify` says to export it rather than hint rules for it.
    pub stand_in: bool,
}

/// A subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    /// Name.
    pub name: String,
    /// OCID, when given.
    pub id: Option<String>,
    /// The VCN it belongs to.
    pub vcn: VcnId,
    /// `cidr_block` first, then any further `ipv4_cidr_blocks`, then any
    /// `ipv6_cidr_blocks`.
    pub cidrs: Vec<IpNet>,
    /// Its route table; `None` means only the implicit local routes.
    pub route_table: Option<RouteTableId>,
    /// Up to 5 security lists, in order.
    pub security_lists: Vec<SecurityListId>,
    /// OCI's `prohibitPublicIpOnVnic`: its VNICs have no public IP, so an
    /// internet gateway neither sends nor admits their traffic
    /// (semantics §2, route). `false` when not given: a VNIC of such a
    /// subnet may have one ([`Vnic::public_ip`] says), so an internet
    /// gateway carries its traffic unless the VNIC says it has none.
    pub prohibit_public_ip: bool,
    /// OCI's `prohibitInternetIngress`: a private subnet. Its VNICs' IPv6
    /// addresses do not talk to the internet (an internet gateway neither
    /// sends nor admits their IPv6 traffic), and, as OCI sets
    /// `prohibitPublicIpOnVnic` from it, its VNICs have no public IPv4
    /// address either. `false` when not given.
    pub prohibit_internet_ingress: bool,
    /// Made up by `zprsim import` for an object the export lacks
    /// (`stand_in = true`): judged as the least the real one could allow;
    /// `verify` says to export it rather than hint rules for it.
    pub stand_in: bool,
    /// Its security lists are not all known (`security_lists_unknown`;
    /// a subnet `zprsim import` made up for one the export lacks): they
    /// may hold a stateless rule that matches, so nothing is tracked at
    /// its VNICs. Since the twentieth session, when it was told from
    /// `stand_in` by an empty list of security lists.
    pub lists_unknown: bool,
    /// Its route table is unknown when it has none (`route_table_unknown`;
    /// a subnet made up as above): only the VCN's local routes are known.
    /// Told from `stand_in` by no route table before the twentieth session.
    pub table_unknown: bool,
    /// Its VNICs are not all known (`vnics_unknown`; since the
    /// twenty-eighth session): `zprsim import` sets it when the export
    /// cannot say every VNIC of the subnet (its private IPs not listed).
    /// An address of it that no VNIC holds may be a VNIC the export
    /// lacks, whose NSGs and attributes are unknown: packets to and from
    /// it drop at its security layer (docs/semantics.md, decision 34),
    /// owed to the export.
    pub vnics_unknown: bool,
}

/// Whether a VNIC has a public IPv4 address, as far as the scenario says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublicIp {
    /// Not said (`public_ip` unset): the VNIC may have one, unless its
    /// subnet prohibits them.
    #[default]
    Unknown,
    /// It has none (`public_ip = false`, or OCI's `public-ip` null).
    Absent,
    /// It has one (`public_ip = true`, or the address).
    Present(Option<std::net::Ipv4Addr>),
}

/// A VNIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vnic {
    /// Name.
    pub name: String,
    /// OCID, when given.
    pub id: Option<String>,
    /// The subnet it is in.
    pub subnet: SubnetId,
    /// Private IPs (IPv4 and/or IPv6), each inside one of the subnet's CIDRs.
    pub private_ips: Vec<IpAddr>,
    /// NSGs it belongs to, in order.
    pub nsgs: Vec<NsgId>,
    /// Security attributes with their modes.
    pub attributes: Vec<SecurityAttribute>,
    /// Own route table, overriding the subnet's.
    pub route_table: Option<RouteTableId>,
    /// What it stands for (instance, node, pod, ...): informative only.
    pub kind: String,
    /// Whether the scenario says `kind` (else it is read as `instance`):
    /// `zprsim import` writes it only where the export says it (since the
    /// twenty-sixth session), and `verify` notes a `kind:` selector that
    /// binds a VNIC whose kind is not said.
    pub kind_said: bool,
    /// OCI's `skipSourceDestCheck`, when given. `Some(false)`: the VNIC drops
    /// what is not addressed to it, so a route rule that targets one of its
    /// private IPs (a next-hop appliance) blackholes; `None` or `Some(true)`:
    /// such a rule forwards.
    pub skip_source_dest_check: Option<bool>,
    /// Its public IPv4 address: an internet gateway carries the IPv4
    /// traffic of a VNIC with one only (semantics §1, route).
    pub public_ip: PublicIp,
    /// Made up by `zprsim import` for an object the export lacks
    /// (`stand_in = true`): judged as the least the real one could allow;
    /// `verify` says to export it rather than hint rules for it.
    pub stand_in: bool,
}

/// Where a ZPR statement came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file (the scenario itself or a `.zpl` file).
    pub file: String,
    /// 1-based line of the statement's first character.
    pub line: u32,
    /// 1-based column of the statement's first character.
    pub column: u32,
}

/// One statement of a ZPR policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyStatement {
    /// The statement as written (continuation lines joined).
    pub text: String,
    /// The parsed statement.
    pub statement: Statement,
    /// Where it came from.
    pub origin: Origin,
}

/// A ZPR policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZprPolicy {
    /// Name.
    pub name: String,
    /// OCID, when given.
    pub id: Option<String>,
    /// Statements, in order.
    pub statements: Vec<PolicyStatement>,
    /// The `.zpl` file its statements are read from, as messages show it;
    /// `None` when they are written in the scenario. (A hint names it
    /// even while the file holds no statement.)
    pub file: Option<String>,
    /// Made up by `zprsim import` for the ZPR policies an export whose
    /// endpoints carry security attributes does not hold (since the
    /// twenty-first session): it has no statement, so ZPR's default deny
    /// is judged as written, the least the real policies could allow; the
    /// drops at ZPR are owed to it, and no hint adds a statement to it.
    pub stand_in: bool,
}

/// A statement's address within the scenario: policy and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatementRef {
    /// The policy.
    pub policy: PolicyId,
    /// Index of the statement in the policy.
    pub index: u32,
}

impl Scenario {
    /// The route table that applies to a VNIC: its own, else its subnet's.
    #[must_use]
    pub fn effective_route_table(&self, vnic: VnicId) -> Option<RouteTableId> {
        let v = &self.vnics[vnic.index()];
        v.route_table.or(self.subnets[v.subnet.index()].route_table)
    }

    /// The VCN a VNIC is in.
    #[must_use]
    pub fn vnic_vcn(&self, vnic: VnicId) -> VcnId {
        self.subnets[self.vnics[vnic.index()].subnet.index()].vcn
    }

    /// The statement behind a [`StatementRef`].
    #[must_use]
    pub fn statement(&self, r: StatementRef) -> &PolicyStatement {
        &self.zpr_policies[r.policy.index()].statements[r.index as usize]
    }

    /// Every statement with its reference, in policy order.
    pub fn statements(&self) -> impl Iterator<Item = (StatementRef, &PolicyStatement)> {
        self.zpr_policies.iter().enumerate().flat_map(|(p, pol)| {
            pol.statements.iter().enumerate().filter_map(move |(i, s)| {
                let policy = PolicyId::new(p).ok()?;
                let index = u32::try_from(i).ok()?;
                Some((StatementRef { policy, index }, s))
            })
        })
    }

    /// The CIDRs of a service label.
    #[must_use]
    pub fn service_cidrs(&self, s: ServiceId) -> &[IpNet] {
        &self.services[s.index()].cidrs
    }
}

// ------------------------------------------------------ shared queries --
// What the reference evaluator, the compiler and the CLI all ask of a
// scenario; here so that neither engine calls the other.

/// What an address is in the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A VNIC holds it.
    Vnic(VnicId),
    /// Inside a VCN's CIDR blocks, but no VNIC holds it.
    Unassigned(VcnId),
    /// Anything else: internet, on-premises, services.
    External,
}

/// Finds what an address is (semantics §1).
#[must_use]
pub fn endpoint_of(s: &Scenario, ip: IpAddr) -> Endpoint {
    for (i, v) in s.vnics.iter().enumerate() {
        if v.private_ips.contains(&ip)
            && let Ok(id) = VnicId::new(i)
        {
            return Endpoint::Vnic(id);
        }
    }
    match vcn_containing(s, ip) {
        Some(vcn) => Endpoint::Unassigned(vcn),
        None => Endpoint::External,
    }
}

/// The VNIC holding each address, for callers that judge many packets
/// against one scenario (`verify`): [`AddressIndex::endpoint_of`] is
/// [`endpoint_of`] with a binary search in place of the scan over every
/// VNIC's addresses (which was most of a large `verify`).
///
/// Exact: the same answer as [`endpoint_of`] for every address of the
/// scenario it was built from, including an address several VNICs hold
/// (the loader refuses that; a scenario built by hand may do it): the
/// VNIC that comes first wins, as in the scan. An address no VNIC holds
/// goes to [`vcn_containing`], as in [`endpoint_of`]. The index is a copy
/// of the addresses: a scenario changed after it was built needs a new one.
///
/// Size: one entry per distinct address (8 bytes for IPv4, 24 for IPv6 on
/// 64-bit targets); built in O(n log n) in the VNICs' addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressIndex {
    /// IPv4 addresses with their VNIC, sorted by address, one per address.
    v4: Vec<(u32, VnicId)>,
    /// IPv6 addresses with their VNIC, sorted by address, one per address.
    v6: Vec<(u128, VnicId)>,
}

impl AddressIndex {
    /// Indexes every address of every VNIC of `s`.
    #[must_use]
    pub fn new(s: &Scenario) -> AddressIndex {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (i, v) in s.vnics.iter().enumerate() {
            let Ok(id) = VnicId::new(i) else {
                // Past the ids' range: the scan never returns such a VNIC
                // either.
                break;
            };
            for ip in &v.private_ips {
                match ip {
                    IpAddr::V4(a) => v4.push((u32::from(*a), id)),
                    IpAddr::V6(a) => v6.push((u128::from(*a), id)),
                }
            }
        }
        // Stable: of the entries of one address, the first VNIC's stays
        // first, and is the one kept.
        v4.sort_by_key(|e| e.0);
        v4.dedup_by_key(|e| e.0);
        v6.sort_by_key(|e| e.0);
        v6.dedup_by_key(|e| e.0);
        AddressIndex { v4, v6 }
    }

    /// The VNIC holding `ip` (the first, if several do).
    #[must_use]
    pub fn vnic_of(&self, ip: IpAddr) -> Option<VnicId> {
        match ip {
            IpAddr::V4(a) => {
                let k = u32::from(a);
                let i = self.v4.binary_search_by_key(&k, |e| e.0).ok()?;
                self.v4.get(i).map(|e| e.1)
            }
            IpAddr::V6(a) => {
                let k = u128::from(a);
                let i = self.v6.binary_search_by_key(&k, |e| e.0).ok()?;
                self.v6.get(i).map(|e| e.1)
            }
        }
    }

    /// What an address is in `s` (the scenario the index was built from):
    /// [`endpoint_of`]'s answer.
    #[must_use]
    pub fn endpoint_of(&self, s: &Scenario, ip: IpAddr) -> Endpoint {
        if let Some(v) = self.vnic_of(ip) {
            return Endpoint::Vnic(v);
        }
        match vcn_containing(s, ip) {
            Some(vcn) => Endpoint::Unassigned(vcn),
            None => Endpoint::External,
        }
    }
}

/// The VCN whose CIDR blocks hold the address (the loader rejects overlaps).
#[must_use]
pub fn vcn_containing(s: &Scenario, ip: IpAddr) -> Option<VcnId> {
    s.vcns
        .iter()
        .position(|v| v.cidr_blocks.iter().any(|c| c.contains(&ip)))
        .and_then(|i| VcnId::new(i).ok())
}

/// How ZPR treats an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZprRole {
    /// Default-deny: its check is enforced.
    Enforced,
    /// Only audit attributes: its check is evaluated, a failure only reported.
    Audited,
    /// No attributes: no check of its own.
    None,
}

/// The ZPR role of an endpoint (semantics §4.1 and the `is_zpr_only` option).
#[must_use]
pub fn zpr_role(s: &Scenario, ep: Endpoint) -> ZprRole {
    let Endpoint::Vnic(v) = ep else {
        return ZprRole::None;
    };
    let vnic = &s.vnics[v.index()];
    let vcn = &s.vcns[s.vnic_vcn(v).index()];
    if vnic.attributes.iter().any(|a| a.mode == Mode::Enforce)
        || (vcn.is_zpr_only && s.options.zpr_only == ZprOnlyMode::DefaultDeny)
    {
        ZprRole::Enforced
    } else if vnic.attributes.iter().any(|a| a.mode == Mode::Audit) {
        ZprRole::Audited
    } else {
        ZprRole::None
    }
}

/// The NSGs a VNIC belongs to (for callers that explain membership).
#[must_use]
pub fn vnic_nsgs(s: &Scenario, v: VnicId) -> &[NsgId] {
    &s.vnics[v.index()].nsgs
}
