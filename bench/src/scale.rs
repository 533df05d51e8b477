//! Scale generator: OKE-like scenarios of a chosen size, packets and
//! captures, all reproducible from a seed.
//!
//! [`scenario`] builds a [`Scenario`] straight from a [`ScaleSpec`] (no
//! text, no loader), valid by the loader's rules: every VNIC address inside
//! its subnet, every subnet inside its VCN, no overlapping VCNs, lists, NSGs
//! and route tables used only inside their own VCN, unique names.
//! [`to_toml`] writes any scenario in the native format so that
//! `zprsim check` loads it back; [`packets`] draws traffic over it and
//! [`write_capture`] writes that traffic as an Ethernet pcap.
//!
//! # Shape (why the tables stay small although the rules are many)
//! Each VCN is one Kubernetes cluster, `10.<v>.0.0/16` (plus
//! `2603:c020:<v>::/48`, a global prefix as Oracle allocates, when
//! `ipv6_share > 0`), with subnets carved as `/22`s (a `/64` too for
//! the dual-stack share `ipv6_share` of subnets). Subnet roles cycle
//! through `lb, workers, pods, pods, db, storage`.
//! - **Node pools** ([`ScaleSpec::node_pools`], spread round-robin over the
//!   VCNs, each pinned to one subnet of its VCN) are the unit of sharing,
//!   as in a real cluster: every VNIC of a pool has the same NSGs and the
//!   same attributes. Pool sizes are drawn with weights uniform in 1..=10.
//!   So the number of distinct (NSG set, subnet) profiles and attribute
//!   sets is bounded by the number of pools (hundreds), not by VNICs.
//! - **NSGs**: per VCN, NSG 0 is the cluster-wide one (70% of pools join
//!   it); each pool joins one "own" NSG (pool index modulo the VCN's other
//!   NSGs) and, with probability 0.3, one more random NSG of its VCN.
//! - **Random membership** ([`ScaleSpec::random_nsgs`], the `wide`
//!   preset): each VNIC instead joins 0..=N NSGs drawn at random from its
//!   VCN's and draws its own workload attribute
//!   ([`ScaleSpec::workload_share`]), so distinct (subnet, NSG set)
//!   profiles grow with the VNICs, as in tenancies that attach NSGs per
//!   application and tier.
//! - **Attributes**: 85% of pools (`workload_share`) carry `app.workload:<name>` (90% enforce,
//!   10% audit), half of those also `app.env:prod|staging`. Workload names
//!   come from [`ScaleSpec::workloads`] distinct values; several pools may
//!   share one. Every VCN carries `network.vcn:<vcn name>`.
//! - **Security lists**: per subnet the VCN's common list plus up to four
//!   more, assigned round-robin so every list is used when there are enough
//!   subnets. Rules are spread evenly over lists, 65% ingress. The common
//!   list's first ingress rule allows everything from the VCN's IPv4 CIDR
//!   and its first egress rule everything to `0.0.0.0/0` (OKE's defaults),
//!   so in-cluster IPv4 traffic mostly passes security and ZPR decides.
//! - **Rule catalogue**: TCP 65% (22, 80, 443, 8080, 8443, 3306, 5432,
//!   1521-1522, 6379, 9092, 27017, 6443, 10250, 12250, 2049-2050, 111,
//!   9090-9100, 389, 636, 3389, NodePorts 30000-32767, ephemeral
//!   1024-65535; 5% also with a source-port range), UDP 15% (53, 123, 111,
//!   2048-2050, 8472, 4789, 161-162, 514), ICMP 10% (3/4, 3, 8, 0; the
//!   ICMPv6 equivalents against IPv6 peers), `all` 10%; 8% stateless.
//! - **Peers** come from one CIDR pool (built once, a few thousand distinct
//!   prefixes for the large preset): every VCN and subnet CIDR, a few
//!   in-VCN `/32` hosts, [`ScaleSpec::external_cidrs`] external prefixes
//!   (on-prem `172.16.0.0/12` and `192.168.0.0/16` carved into `/16`-`/24`,
//!   `/32` hosts in `100.64.0.0/10` and `198.18.0.0/15`, `/128`s and `/48`s
//!   in `2001:db8::/32`), `0.0.0.0/0` and `::/0`. The pick is skewed
//!   (index = len · u², u uniform) so a few CIDRs recur often, as in real
//!   rule sets. 2% of egress rules name the Oracle Services Network label.
//! - **NSG rules**: 60% ingress; peer another NSG of the same VCN 45% (its
//!   own NSG a third of those), the services label 3% (egress), else the
//!   CIDR pool.
//! - **ZPR statements** (spread evenly over the policies, at most 25 each
//!   for the presets): 85% `in <vcn> VCN allow A to connect to B` with
//!   workloads of that VCN (the source may be an on-prem CIDR 5% or
//!   `all-endpoints` 5%; the destination an external CIDR 7%,
//!   `osn-services-ip-addresses` 5%, `all-endpoints` 3%), 15% the
//!   cross-VCN form between workloads of two VCNs. Conditions: TCP with
//!   one or two port ranges 60%, UDP 15%, ICMP with a type 10%, none 15%;
//!   5% `connection-state='stateless'`.
//! - **Routes**: per VCN an internet, NAT, service gateway and DRG;
//!   `public-rt` (default to the internet gateway) on `lb` subnets,
//!   `private-rt` elsewhere (default to NAT, services to the service
//!   gateway, on-prem ranges and the other VCNs to the DRG).
//!
//! # Traffic
//! [`packets`] mixes: 35% flows a ZPR statement describes (a VNIC with the
//! source attribute to one with the destination attribute, on the
//! statement's protocol and port), 35% VNIC to VNIC (same VCN 80%), 15%
//! VNIC to an external host, 15% external host to a VNIC; ports from the
//! catalogue (90%) or random; IPv6 when both ends have an address of that
//! family and a coin with `ipv6_share` says so. The share that is allowed
//! depends on the rules; `zprsim-gen capture` prints it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use zprsim_control::ids::{
    GatewayId, NsgId, RouteTableId, SecurityListId, ServiceId, SubnetId, VcnId,
};
use zprsim_control::model::{
    Attribute, Direction, Gateway, GatewayKind, Mode, Nsg, Origin, Peer, PolicyStatement,
    PortRange, Protocol, RouteDestination, RouteRule, RouteTable, RouteTarget, RuleOptions,
    Scenario, SecurityAttribute, SecurityList, SecurityRule, ServiceLabel, Subnet, Vcn, Vnic,
    ZprOnlyMode, ZprPolicy, proto,
};
use zprsim_control::packet::{L4, Packet};
use zprsim_control::zpl::ast::{
    Condition, ConnectionState, Endpoint, ProtocolSpec, Span, Spanned, Statement, StatementKind,
};

/// Rules of one direction OCI allows in a security list.
const OCI_LIST_RULES: usize = 200;

/// The size and shape of a generated scenario. See the module docs for the
/// distributions behind each count.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleSpec {
    /// VCNs (clusters); at most 250.
    pub vcns: usize,
    /// Subnets, spread over the VCNs; at most 64 per VCN (`/22`s of a `/16`).
    pub subnets: usize,
    /// VNICs; at most 1021 per subnet (extra ones are not generated).
    pub vnics: usize,
    /// Node pools: groups of VNICs sharing subnet, NSGs and attributes.
    pub node_pools: usize,
    /// Security lists, spread over the VCNs.
    pub security_lists: usize,
    /// Security-list rules in total (both directions).
    pub sl_rules: usize,
    /// NSGs, spread over the VCNs.
    pub nsgs: usize,
    /// NSG rules in total.
    pub nsg_rules: usize,
    /// ZPR policies.
    pub zpr_policies: usize,
    /// ZPR statements in total.
    pub statements: usize,
    /// Distinct `app.workload` values.
    pub workloads: usize,
    /// Distinct external prefixes (on-prem ranges, hosts) rules draw from.
    pub external_cidrs: usize,
    /// Share of subnets that are dual-stack (their VNICs get an IPv6
    /// address too), and of flows that use IPv6 when both ends can.
    pub ipv6_share: f64,
    /// Random NSG membership: `Some(n)` gives each VNIC 0..=n NSGs drawn
    /// at random from its VCN's NSGs (and draws its workload attribute per
    /// VNIC too), so distinct (subnet, NSG set) profiles grow with VNICs;
    /// `None` keeps the node-pool sharing.
    pub random_nsgs: Option<usize>,
    /// Share of NSG rules whose peer is another NSG.
    pub nsg_peer_share: f64,
    /// Share of security-list rules that are ingress rules.
    pub sl_ingress_share: f64,
    /// Share of node pools (or of VNICs, with `random_nsgs`) that carry an
    /// `app.workload` attribute.
    pub workload_share: f64,
    /// The seed; the same spec always gives the same scenario.
    pub seed: u64,
}

impl ScaleSpec {
    /// About 100 rules: one VCN, four pools.
    #[must_use]
    pub fn small() -> ScaleSpec {
        ScaleSpec {
            vcns: 1,
            subnets: 4,
            vnics: 40,
            node_pools: 4,
            security_lists: 4,
            sl_rules: 80,
            nsgs: 4,
            nsg_rules: 20,
            zpr_policies: 1,
            statements: 10,
            workloads: 4,
            external_cidrs: 20,
            ipv6_share: 0.2,
            random_nsgs: None,
            nsg_peer_share: 0.45,
            sl_ingress_share: 0.65,
            workload_share: 0.85,
            seed: 1,
        }
    }

    /// About 10k rules: two VCNs, 1000 VNICs.
    #[must_use]
    pub fn medium() -> ScaleSpec {
        ScaleSpec {
            vcns: 2,
            subnets: 24,
            vnics: 1000,
            node_pools: 40,
            security_lists: 60,
            sl_rules: 8800,
            nsgs: 40,
            nsg_rules: 1200,
            zpr_policies: 4,
            statements: 80,
            workloads: 30,
            external_cidrs: 500,
            ipv6_share: 0.2,
            random_nsgs: None,
            nsg_peer_share: 0.45,
            sl_ingress_share: 0.65,
            workload_share: 0.85,
            seed: 1,
        }
    }

    /// The compile target of the issue: 10k VNICs, 100k security-list
    /// rules, 12k NSG rules, 400 ZPR statements (within OCI's per-object
    /// limits: ≤ 200 rules per list direction, ≤ 120 per NSG, ≤ 25
    /// statements per policy).
    #[must_use]
    pub fn large() -> ScaleSpec {
        ScaleSpec {
            vcns: 8,
            subnets: 160,
            vnics: 10_000,
            node_pools: 250,
            security_lists: 600,
            sl_rules: 100_000,
            nsgs: 400,
            nsg_rules: 12_000,
            zpr_policies: 16,
            statements: 400,
            workloads: 200,
            external_cidrs: 3000,
            ipv6_share: 0.2,
            random_nsgs: None,
            nsg_peer_share: 0.45,
            sl_ingress_share: 0.65,
            workload_share: 0.85,
            seed: 1,
        }
    }

    /// Past OCI's limits: 40k VNICs, 300k list rules, 150 rules per NSG,
    /// 2000 statements. Its TOML (68 MB with seed 1) is over the loader's
    /// 64 MiB cap; docs/benchmarks.md measures it from compact JSON.
    #[must_use]
    pub fn beyond() -> ScaleSpec {
        ScaleSpec {
            vcns: 16,
            subnets: 400,
            vnics: 40_000,
            node_pools: 1000,
            security_lists: 1500,
            sl_rules: 300_000,
            nsgs: 1000,
            nsg_rules: 150_000,
            zpr_policies: 80,
            statements: 2000,
            workloads: 800,
            external_cidrs: 10_000,
            ipv6_share: 0.2,
            random_nsgs: None,
            nsg_peer_share: 0.45,
            sl_ingress_share: 0.65,
            workload_share: 0.85,
            seed: 1,
        }
    }

    /// The shape that broke the per-profile compiler (issue 9): 2 VCNs, 50
    /// subnets of about 200 VNICs, 5 security lists per subnet (about 400
    /// rules each, 100k in all), 100 NSGs of 120 rules with 20% NSG peers,
    /// each VNIC in 0, 1 or 2 NSGs drawn at random from its VCN's 50, 30%
    /// of VNICs with one of 50 `app.workload` values, 400 statements: about
    /// 5,000 distinct (subnet, NSG set) security profiles.
    #[must_use]
    pub fn wide() -> ScaleSpec {
        ScaleSpec {
            vcns: 2,
            subnets: 50,
            vnics: 10_000,
            node_pools: 50,
            security_lists: 250,
            sl_rules: 100_000,
            nsgs: 100,
            nsg_rules: 12_000,
            zpr_policies: 16,
            statements: 400,
            workloads: 50,
            external_cidrs: 3000,
            ipv6_share: 0.2,
            random_nsgs: Some(2),
            nsg_peer_share: 0.2,
            sl_ingress_share: 0.5,
            workload_share: 0.3,
            seed: 1,
        }
    }

    /// A preset by name: `small`, `medium`, `large`, `wide` or `beyond`.
    #[must_use]
    pub fn preset(name: &str) -> Option<ScaleSpec> {
        match name {
            "small" => Some(ScaleSpec::small()),
            "medium" => Some(ScaleSpec::medium()),
            "large" => Some(ScaleSpec::large()),
            "wide" => Some(ScaleSpec::wide()),
            "beyond" => Some(ScaleSpec::beyond()),
            _ => None,
        }
    }

    /// The preset names, smallest first.
    pub const PRESETS: [&'static str; 5] = ["small", "medium", "large", "wide", "beyond"];
}

// ------------------------------------------------------------- helpers --

/// Addresses per `/22` subnet a VNIC may take (.0, .1 and the last one skipped).
const HOSTS_PER_SUBNET: usize = 1021;
const MAX_VCNS: usize = 250;
const SUBNETS_PER_VCN: usize = 64;
/// The services label every scenario carries.
pub const OSN_LABEL: &str = "all-iad-services-in-oracle-services-network";
const ROLES: [&str; 6] = ["lb", "workers", "pods", "pods", "db", "storage"];
const WORKLOAD_STEMS: [&str; 16] = [
    "orders",
    "billing",
    "catalog",
    "auth",
    "search",
    "cart",
    "payments",
    "inventory",
    "shipping",
    "ledger",
    "reports",
    "gateway",
    "profile",
    "notify",
    "media",
    "analytics",
];

fn sp<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

/// Ids from indices the generator itself bounds (far below `u32::MAX`).
fn vcn_id(i: usize) -> VcnId {
    VcnId::new(i).unwrap_or_default()
}
fn subnet_id(i: usize) -> SubnetId {
    SubnetId::new(i).unwrap_or_default()
}
fn nsg_id(i: usize) -> NsgId {
    NsgId::new(i).unwrap_or_default()
}
fn list_id(i: usize) -> SecurityListId {
    SecurityListId::new(i).unwrap_or_default()
}
fn gw_id(i: usize) -> GatewayId {
    GatewayId::new(i).unwrap_or_default()
}
fn rt_id(i: usize) -> RouteTableId {
    RouteTableId::new(i).unwrap_or_default()
}

fn v4net(a: u8, b: u8, c: u8, d: u8, len: u8) -> IpNet {
    Ipv4Net::new(Ipv4Addr::new(a, b, c, d), len)
        .map(|n| IpNet::V4(n.trunc()))
        .unwrap_or_default()
}

fn v6net(segs: [u16; 8], len: u8) -> IpNet {
    Ipv6Net::new(Ipv6Addr::from(segs), len)
        .map(|n| IpNet::V6(n.trunc()))
        .unwrap_or_default()
}

/// `n` split into `parts` near-equal shares (the first ones one larger).
fn share(n: usize, parts: usize, i: usize) -> usize {
    if parts == 0 {
        return 0;
    }
    n / parts + usize::from(i < n % parts)
}

/// A skewed index into a pool of `len` (`len · u²`): low indices recur.
fn skewed(rng: &mut impl Rng, len: usize) -> usize {
    let u: f64 = rng.random();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = (u * u * len as f64) as usize;
    i.min(len.saturating_sub(1))
}

fn range(min: u16, max: u16) -> PortRange {
    PortRange { min, max }
}

const TCP_PORTS: [(u16, u16); 26] = [
    (22, 22),
    (80, 80),
    (443, 443),
    (443, 443),
    (443, 443),
    (8080, 8080),
    (8443, 8443),
    (3306, 3306),
    (5432, 5432),
    (1521, 1522),
    (6379, 6379),
    (9092, 9092),
    (27017, 27017),
    (6443, 6443),
    (10250, 10250),
    (12250, 12250),
    (2049, 2050),
    (111, 111),
    (9090, 9100),
    (389, 389),
    (636, 636),
    (3389, 3389),
    (30000, 32767),
    (1024, 65535),
    (53, 53),
    (25, 25),
];
const UDP_PORTS: [(u16, u16); 8] = [
    (53, 53),
    (123, 123),
    (111, 111),
    (2048, 2050),
    (8472, 8472),
    (4789, 4789),
    (161, 162),
    (514, 514),
];
const ICMP4: [(u8, Option<u8>); 4] = [(3, Some(4)), (3, None), (8, None), (0, None)];
const ICMP6: [(u8, Option<u8>); 4] = [(2, None), (128, None), (129, None), (1, None)];

fn pick_range(rng: &mut impl Rng, table: &[(u16, u16)]) -> PortRange {
    let (a, b) = table[rng.random_range(0..table.len())];
    range(a, b)
}

/// A protocol and options from the catalogue, for a peer of this family.
fn catalogue_service(rng: &mut impl Rng, v6_peer: bool) -> (Protocol, RuleOptions) {
    match rng.random_range(0..100) {
        0..65 => {
            let src = if rng.random_bool(0.05) {
                Some(range(1024, 65535))
            } else {
                None
            };
            (
                Protocol::Number(proto::TCP),
                RuleOptions::Ports {
                    src,
                    dst: Some(pick_range(rng, &TCP_PORTS)),
                },
            )
        }
        65..80 => (
            Protocol::Number(proto::UDP),
            RuleOptions::Ports {
                src: None,
                dst: Some(pick_range(rng, &UDP_PORTS)),
            },
        ),
        80..90 => {
            let (p, table) = if v6_peer {
                (proto::ICMPV6, &ICMP6)
            } else {
                (proto::ICMP, &ICMP4)
            };
            let (icmp_type, code) = table[rng.random_range(0..table.len())];
            (Protocol::Number(p), RuleOptions::Icmp { icmp_type, code })
        }
        _ => (Protocol::All, RuleOptions::None),
    }
}

fn peer_is_v6(s_services: &[ServiceLabel], p: &Peer) -> bool {
    match p {
        Peer::Cidr(n) => matches!(n, IpNet::V6(_)),
        Peer::Service(sid) => s_services
            .get(sid.index())
            .is_some_and(|l| l.cidrs.iter().all(|c| matches!(c, IpNet::V6(_)))),
        Peer::Nsg(_) => false,
    }
}

fn security_rule(
    rng: &mut impl Rng,
    services: &[ServiceLabel],
    direction: Direction,
    peer: Peer,
) -> SecurityRule {
    let (protocol, options) = catalogue_service(rng, peer_is_v6(services, &peer));
    SecurityRule {
        direction,
        protocol,
        peer,
        stateless: rng.random_bool(0.08),
        options,
        description: None,
    }
}

/// External prefixes: on-prem ranges, public hosts, documentation IPv6.
fn external_pool(rng: &mut impl Rng, n: usize) -> Vec<IpNet> {
    let mut out = Vec::with_capacity(n);
    let mut seen = std::collections::HashSet::new();
    let mut tries = 0usize;
    while out.len() < n && tries < n * 20 + 100 {
        tries += 1;
        let net = match rng.random_range(0..100) {
            0..30 => {
                let len = *[16u8, 20, 22, 24, 24, 24].choose(rng).unwrap_or(&24);
                v4net(172, 16 + rng.random_range(0..16u8), rng.random(), 0, len)
            }
            30..45 => v4net(
                192,
                168,
                rng.random(),
                0,
                *[20u8, 24, 24].choose(rng).unwrap_or(&24),
            ),
            45..75 => v4net(
                100,
                64 + rng.random_range(0..64u8),
                rng.random(),
                rng.random(),
                32,
            ),
            75..85 => v4net(
                198,
                18 + rng.random_range(0..2u8),
                rng.random(),
                rng.random(),
                32,
            ),
            85..95 => v6net(
                [
                    0x2001,
                    0xdb8,
                    rng.random(),
                    rng.random(),
                    0,
                    0,
                    0,
                    rng.random(),
                ],
                128,
            ),
            _ => v6net([0x2001, 0xdb8, rng.random(), 0, 0, 0, 0, 0], 48),
        };
        if seen.insert(net) {
            out.push(net);
        }
    }
    out
}

fn workload_name(k: usize) -> String {
    format!(
        "{}-{}",
        WORKLOAD_STEMS[k % WORKLOAD_STEMS.len()],
        k / WORKLOAD_STEMS.len()
    )
}

/// A workload attribute with probability `spec.workload_share` (90%
/// enforce, 10% audit), half of the time with `app.env` too; and the
/// workload alone.
fn draw_attributes(
    rng: &mut impl Rng,
    spec: &ScaleSpec,
) -> (Vec<SecurityAttribute>, Option<Attribute>) {
    let mut attributes = Vec::new();
    if !rng.random_bool(spec.workload_share.clamp(0.0, 1.0)) {
        return (attributes, None);
    }
    let w = Attribute::new(
        "app",
        "workload",
        workload_name(rng.random_range(0..spec.workloads.max(1))),
    );
    let mode = if rng.random_bool(0.1) {
        Mode::Audit
    } else {
        Mode::Enforce
    };
    attributes.push(SecurityAttribute {
        attribute: w.clone(),
        mode,
    });
    if rng.random_bool(0.5) {
        let env = if rng.random_bool(0.7) {
            "prod"
        } else {
            "staging"
        };
        attributes.push(SecurityAttribute {
            attribute: Attribute::new("app", "env", env),
            mode,
        });
    }
    (attributes, Some(w))
}

/// One node pool: where its VNICs go and what they share.
struct Pool {
    vcn: usize,
    subnet: usize,
    nsgs: Vec<NsgId>,
    attributes: Vec<SecurityAttribute>,
    workload: Option<Attribute>,
    kind: &'static str,
}

// ------------------------------------------------------------ scenario --

/// The presets a criterion bench runs: `ZPRSIM_BENCH_SIZES` (comma
/// separated), else small, medium and large under `cargo bench`, else (test
/// mode, `cargo test --benches`) small only.
#[must_use]
pub fn bench_presets() -> Vec<String> {
    if let Ok(v) = std::env::var("ZPRSIM_BENCH_SIZES") {
        return v
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
    }
    if std::env::args().any(|a| a == "--bench") {
        vec!["small".into(), "medium".into(), "large".into()]
    } else {
        vec!["small".into()]
    }
}

/// Builds the scenario a spec describes. The same spec gives the same
/// scenario, byte for byte once written with [`to_toml`].
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn scenario(spec: &ScaleSpec) -> Scenario {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let nv = spec.vcns.clamp(1, MAX_VCNS);
    let mut s = Scenario {
        name: Some(format!("scale-seed{}", spec.seed)),
        ..Scenario::default()
    };
    s.services.push(ServiceLabel {
        name: OSN_LABEL.into(),
        cidrs: vec![
            v4net(134, 70, 0, 0, 17),
            v4net(147, 154, 0, 0, 16),
            v4net(138, 1, 0, 0, 16),
        ],
    });
    let dual = spec.ipv6_share > 0.0;

    // VCNs, gateways.
    for v in 0..nv {
        let mut cidr_blocks = vec![v4net(10, u8::try_from(v).unwrap_or(0), 0, 0, 16)];
        if dual {
            cidr_blocks.push(v6net(
                [0x2603, 0xc020, u16::try_from(v).unwrap_or(0), 0, 0, 0, 0, 0],
                48,
            ));
        }
        let name = format!("vcn{v}");
        s.vcns.push(Vcn {
            attribute: Some(Attribute::new("network", "vcn", name.clone())),
            name,
            id: None,
            cidr_blocks,
            ipv6_private_cidr_blocks: Vec::new(),
            is_zpr_only: false,
        });
        for kind in [
            GatewayKind::Internet,
            GatewayKind::Nat,
            GatewayKind::Service,
            GatewayKind::Drg,
        ] {
            s.gateways.push(Gateway {
                name: format!("vcn{v}-{}gw", kind.as_str()),
                id: None,
                vcn: vcn_id(v),
                kind,
                blocked: false,
                stand_in: false,
            });
        }
    }
    // Route tables: public then private per VCN.
    for v in 0..nv {
        let gw = |k: usize| RouteTarget::Gateway(gw_id(v * 4 + k));
        s.route_tables.push(RouteTable {
            name: format!("vcn{v}-public-rt"),
            id: None,
            vcn: vcn_id(v),
            rules: vec![
                RouteRule {
                    destination: RouteDestination::Cidr(v4net(0, 0, 0, 0, 0)),
                    target: gw(0),
                    description: None,
                },
                RouteRule {
                    destination: RouteDestination::Cidr(v6net([0; 8], 0)),
                    target: gw(0),
                    description: None,
                },
            ],
            stand_in: false,
        });
        let mut rules = vec![
            RouteRule {
                destination: RouteDestination::Cidr(v4net(0, 0, 0, 0, 0)),
                target: gw(1),
                description: None,
            },
            RouteRule {
                destination: RouteDestination::Service(ServiceId::new(0).unwrap_or_default()),
                target: gw(2),
                description: None,
            },
            RouteRule {
                destination: RouteDestination::Cidr(v4net(172, 16, 0, 0, 12)),
                target: gw(3),
                description: None,
            },
            RouteRule {
                destination: RouteDestination::Cidr(v4net(192, 168, 0, 0, 16)),
                target: gw(3),
                description: None,
            },
        ];
        for w in (0..nv).filter(|&w| w != v).take(32) {
            rules.push(RouteRule {
                destination: RouteDestination::Cidr(v4net(
                    10,
                    u8::try_from(w).unwrap_or(0),
                    0,
                    0,
                    16,
                )),
                target: gw(3),
                description: Some(format!("to vcn{w} over the drg")),
            });
        }
        s.route_tables.push(RouteTable {
            name: format!("vcn{v}-private-rt"),
            id: None,
            vcn: vcn_id(v),
            rules,
            stand_in: false,
        });
    }
    // Subnets.
    let per_vcn_subnets: Vec<usize> = (0..nv)
        .map(|v| share(spec.subnets.max(nv), nv, v).clamp(1, SUBNETS_PER_VCN))
        .collect();
    let mut subnets_of: Vec<Vec<usize>> = vec![Vec::new(); nv];
    for v in 0..nv {
        for j in 0..per_vcn_subnets[v] {
            let role = ROLES[j % ROLES.len()];
            let (vb, jb) = (
                u8::try_from(v).unwrap_or(0),
                u8::try_from(j * 4).unwrap_or(0),
            );
            let mut cidrs = vec![v4net(10, vb, jb, 0, 22)];
            if dual && rng.random_bool(spec.ipv6_share) {
                cidrs.push(v6net(
                    [
                        0x2603,
                        0xc020,
                        u16::from(vb),
                        u16::try_from(j).unwrap_or(0),
                        0,
                        0,
                        0,
                        0,
                    ],
                    64,
                ));
            }
            subnets_of[v].push(s.subnets.len());
            s.subnets.push(Subnet {
                name: format!("vcn{v}-{role}-{j}"),
                id: None,
                vcn: vcn_id(v),
                cidrs,
                route_table: Some(rt_id(v * 2 + usize::from(role != "lb"))),
                security_lists: Vec::new(),
                prohibit_public_ip: false,
                prohibit_internet_ingress: false,
                stand_in: false,
                lists_unknown: false,
                table_unknown: false,
                vnics_unknown: false,
            });
        }
    }
    // The CIDR pool rules draw from: internal prefixes first (they recur most).
    let mut pool: Vec<IpNet> = Vec::new();
    for v in &s.vcns {
        pool.extend(v.cidr_blocks.iter().copied());
    }
    for sn in &s.subnets {
        pool.extend(sn.cidrs.iter().copied());
    }
    pool.push(v4net(0, 0, 0, 0, 0));
    pool.push(v6net([0; 8], 0));
    let internal_hosts = (nv * 4).min(64);
    for h in 0..internal_hosts {
        let v = u8::try_from(h % nv).unwrap_or(0);
        pool.push(v4net(10, v, 0, u8::try_from(2 + h / nv).unwrap_or(2), 32));
    }
    let externals = external_pool(&mut rng, spec.external_cidrs);
    // Interleave so the skewed pick sees both kinds near the front.
    let mut merged = Vec::with_capacity(pool.len() + externals.len());
    let (mut a, mut b) = (pool.into_iter(), externals.iter().copied());
    loop {
        match (a.next(), b.next()) {
            (None, None) => break,
            (x, y) => merged.extend(x.into_iter().chain(y)),
        }
    }
    let cidr_pool = merged;

    // NSGs (rules later: they may name NSGs of the same VCN).
    let mut nsgs_of: Vec<Vec<usize>> = vec![Vec::new(); nv];
    for (v, mine) in nsgs_of.iter_mut().enumerate() {
        for k in 0..share(spec.nsgs.max(nv), nv, v) {
            mine.push(s.nsgs.len());
            let name = if k == 0 {
                format!("vcn{v}-cluster-nsg")
            } else {
                format!("vcn{v}-nsg{k}")
            };
            s.nsgs.push(Nsg {
                name,
                id: None,
                vcn: vcn_id(v),
                rules: Vec::new(),
                stand_in: false,
            });
        }
    }
    let n_nsgs = s.nsgs.len();
    for n in 0..n_nsgs {
        let v = s.nsgs[n].vcn.index();
        let count = share(spec.nsg_rules, n_nsgs, n);
        let mut rules = Vec::with_capacity(count);
        for _ in 0..count {
            let direction = if rng.random_bool(0.6) {
                Direction::Ingress
            } else {
                Direction::Egress
            };
            let roll: i32 = rng.random_range(0..100);
            let nsg_peer = spec.nsg_peer_share * 100.0;
            let peer = if f64::from(roll) < nsg_peer {
                if rng.random_bool(1.0 / 3.0) {
                    Peer::Nsg(nsg_id(n))
                } else {
                    Peer::Nsg(nsg_id(*nsgs_of[v].choose(&mut rng).unwrap_or(&n)))
                }
            } else if f64::from(roll) < nsg_peer + 3.0 && direction == Direction::Egress {
                Peer::Service(ServiceId::new(0).unwrap_or_default())
            } else {
                Peer::Cidr(cidr_pool[skewed(&mut rng, cidr_pool.len())])
            };
            rules.push(security_rule(&mut rng, &s.services, direction, peer));
        }
        s.nsgs[n].rules = rules;
    }
    // Security lists.
    let mut lists_of: Vec<Vec<usize>> = vec![Vec::new(); nv];
    for (v, mine) in lists_of.iter_mut().enumerate() {
        for k in 0..share(spec.security_lists.max(nv), nv, v) {
            mine.push(s.security_lists.len());
            let name = if k == 0 {
                format!("vcn{v}-common-sl")
            } else {
                format!("vcn{v}-sl{k}")
            };
            s.security_lists.push(SecurityList {
                name,
                id: None,
                vcn: vcn_id(v),
                ingress: Vec::new(),
                egress: Vec::new(),
                stand_in: false,
            });
        }
    }
    let n_lists = s.security_lists.len();
    for l in 0..n_lists {
        let count = share(spec.sl_rules, n_lists, l);
        let (mut n_in, mut n_out) = (0usize, 0usize);
        for _ in 0..count {
            let mut direction = if rng.random_bool(spec.sl_ingress_share.clamp(0.0, 1.0)) {
                Direction::Ingress
            } else {
                Direction::Egress
            };
            // OCI allows 200 rules of each direction in a list: a rule
            // drawn for a full direction goes to the other one while that
            // has room (the draws, and so every preset whose lists stay
            // within the limit, are unchanged).
            match direction {
                Direction::Ingress if n_in >= OCI_LIST_RULES && n_out < OCI_LIST_RULES => {
                    direction = Direction::Egress;
                }
                Direction::Egress if n_out >= OCI_LIST_RULES && n_in < OCI_LIST_RULES => {
                    direction = Direction::Ingress;
                }
                _ => {}
            }
            match direction {
                Direction::Ingress => n_in += 1,
                Direction::Egress => n_out += 1,
            }
            let peer = if direction == Direction::Egress && rng.random_bool(0.02) {
                Peer::Service(ServiceId::new(0).unwrap_or_default())
            } else {
                Peer::Cidr(cidr_pool[skewed(&mut rng, cidr_pool.len())])
            };
            let rule = security_rule(&mut rng, &s.services, direction, peer);
            match direction {
                Direction::Ingress => s.security_lists[l].ingress.push(rule),
                Direction::Egress => s.security_lists[l].egress.push(rule),
            }
        }
    }
    // The common list of each cluster opens the VCN to itself and the
    // world, as OKE's default lists do: security then passes most
    // in-cluster traffic and ZPR decides it. The two rules replace the
    // first generated ones, so the counts stay as asked.
    for (v, lists) in lists_of.iter().enumerate() {
        let common = &mut s.security_lists[lists[0]];
        let all = |direction, peer| SecurityRule {
            direction,
            protocol: Protocol::All,
            peer: Peer::Cidr(peer),
            stateless: false,
            options: RuleOptions::None,
            description: None,
        };
        if let Some(r) = common.ingress.first_mut() {
            *r = all(Direction::Ingress, s.vcns[v].cidr_blocks[0]);
        }
        if let Some(r) = common.egress.first_mut() {
            *r = all(Direction::Egress, v4net(0, 0, 0, 0, 0));
        }
    }
    for v in 0..nv {
        let lists = &lists_of[v];
        let mut cursor = 1usize;
        for &sn in &subnets_of[v] {
            let mut mine = vec![list_id(lists[0])];
            let extra = 4.min(lists.len().saturating_sub(1));
            for _ in 0..extra {
                let l = lists[1 + (cursor - 1) % (lists.len() - 1)];
                cursor += 1;
                if !mine.contains(&list_id(l)) {
                    mine.push(list_id(l));
                }
            }
            s.subnets[sn].security_lists = mine;
        }
    }

    // Node pools.
    let n_pools = spec.node_pools.max(1);
    let mut pools = Vec::with_capacity(n_pools);
    for p in 0..n_pools {
        let v = p % nv;
        let local = p / nv;
        let subnet = subnets_of[v][local % subnets_of[v].len()];
        let vn = &nsgs_of[v];
        let mut nsgs = Vec::new();
        if rng.random_bool(0.7) {
            nsgs.push(nsg_id(vn[0]));
        }
        if vn.len() > 1 {
            let own = nsg_id(vn[1 + local % (vn.len() - 1)]);
            if !nsgs.contains(&own) {
                nsgs.push(own);
            }
        }
        if rng.random_bool(0.3) {
            let more = nsg_id(*vn.choose(&mut rng).unwrap_or(&vn[0]));
            if !nsgs.contains(&more) {
                nsgs.push(more);
            }
        }
        let (attributes, workload) = draw_attributes(&mut rng, spec);
        let role = s.subnets[subnet].name.split('-').nth(1).unwrap_or("pods");
        let kind = match role {
            "lb" => "load-balancer",
            "workers" => "node",
            "db" => "instance",
            "storage" => "mount-target",
            _ => "pod",
        };
        pools.push(Pool {
            vcn: v,
            subnet,
            nsgs,
            attributes,
            workload,
            kind,
        });
    }
    // VNICs, by weighted pool; a full subnet sends the VNIC to the next pool.
    let weights: Vec<u32> = (0..n_pools).map(|_| rng.random_range(1..=10)).collect();
    let pick = WeightedIndex::new(&weights).ok();
    let mut used = vec![0usize; s.subnets.len()];
    // Per-VNIC draws (random membership) use their own stream, so the
    // pool presets stay byte for byte what they were.
    let mut vnic_rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut vnic_workloads: Vec<Vec<Attribute>> = vec![Vec::new(); nv];
    let capacity = s.subnets.len() * HOSTS_PER_SUBNET;
    for k in 0..spec.vnics.min(capacity) {
        let mut p = pick.as_ref().map_or(k % n_pools, |d| d.sample(&mut rng));
        let mut guard = 0;
        while used[pools[p].subnet] >= HOSTS_PER_SUBNET && guard < n_pools {
            p = (p + 1) % n_pools;
            guard += 1;
        }
        let pool = &pools[p];
        let sn = pool.subnet;
        if used[sn] >= HOSTS_PER_SUBNET {
            break;
        }
        let host = 2 + used[sn];
        used[sn] += 1;
        let mut private_ips = Vec::with_capacity(2);
        for c in &s.subnets[sn].cidrs {
            match c {
                IpNet::V4(n) => {
                    let base = u32::from(n.network());
                    private_ips.push(IpAddr::V4(Ipv4Addr::from(
                        base + u32::try_from(host).unwrap_or(2),
                    )));
                }
                IpNet::V6(n) => {
                    let base = u128::from(n.network());
                    private_ips.push(IpAddr::V6(Ipv6Addr::from(base + host as u128)));
                }
            }
        }
        let (nsgs, attributes) = match spec.random_nsgs {
            None => (pool.nsgs.clone(), pool.attributes.clone()),
            Some(max) => {
                // Random membership: 0..=max distinct NSGs of the VCN.
                let vn = &nsgs_of[pool.vcn];
                let want = vnic_rng.random_range(0..=max.min(vn.len()));
                let nsgs: Vec<NsgId> = vn
                    .choose_multiple(&mut vnic_rng, want)
                    .map(|&n| nsg_id(n))
                    .collect();
                let (attributes, workload) = draw_attributes(&mut vnic_rng, spec);
                if let Some(w) = workload
                    && !vnic_workloads[pool.vcn].contains(&w)
                {
                    vnic_workloads[pool.vcn].push(w);
                }
                (nsgs, attributes)
            }
        };
        s.vnics.push(Vnic {
            name: format!("vcn{}-{}-p{p}-{k}", pool.vcn, pool.kind),
            id: None,
            subnet: subnet_id(sn),
            private_ips,
            nsgs,
            attributes,
            route_table: None,
            kind: pool.kind.to_owned(),
            kind_said: true,
            skip_source_dest_check: None,
            public_ip: zprsim_control::model::PublicIp::Unknown,
            stand_in: false,
        });
    }

    // ZPR statements over the workloads each VCN holds.
    let mut workloads_of: Vec<Vec<Attribute>> = vec![Vec::new(); nv];
    if spec.random_nsgs.is_some() {
        workloads_of = vnic_workloads;
    } else {
        for pool in &pools {
            if let Some(w) = &pool.workload
                && !workloads_of[pool.vcn].contains(w)
            {
                workloads_of[pool.vcn].push(w.clone());
            }
        }
    }
    let vcns_with_workloads: Vec<usize> =
        (0..nv).filter(|&v| !workloads_of[v].is_empty()).collect();
    let ext_v4: Vec<IpNet> = cidr_pool
        .iter()
        .copied()
        .filter(|n| {
            matches!(n, IpNet::V4(_)) && n.prefix_len() > 0 && !n.to_string().starts_with("10.")
        })
        .collect();
    let n_pol = spec.zpr_policies.max(1);
    if !vcns_with_workloads.is_empty() && spec.statements > 0 {
        for pi in 0..n_pol {
            let count = share(spec.statements, n_pol, pi);
            let mut statements = Vec::with_capacity(count);
            for _ in 0..count {
                let st = zpr_statement(&mut rng, &s, &vcns_with_workloads, &workloads_of, &ext_v4);
                statements.push(PolicyStatement {
                    text: zprsim_control::zpl::print_statement(&st),
                    statement: st,
                    origin: Origin {
                        file: "generated".into(),
                        line: 1,
                        column: 1,
                    },
                });
            }
            s.zpr_policies.push(ZprPolicy {
                file: None,
                stand_in: false,
                name: format!("policy{pi}"),
                id: None,
                statements,
            });
        }
    }
    s
}

fn zpr_statement(
    rng: &mut impl Rng,
    s: &Scenario,
    vcns: &[usize],
    workloads_of: &[Vec<Attribute>],
    ext_v4: &[IpNet],
) -> Statement {
    let v = vcns[rng.random_range(0..vcns.len())];
    let ws = &workloads_of[v];
    let w = |rng: &mut _| Endpoint::Attribute(ws[rng_index(rng, ws.len())].clone());
    let vcn_attr = |v: usize| {
        s.vcns[v]
            .attribute
            .clone()
            .unwrap_or_else(|| Attribute::new("network", "vcn", "x"))
    };
    let kind = if rng.random_bool(0.85) || vcns.len() < 2 {
        let src = match rng.random_range(0..100) {
            0..5 if !ext_v4.is_empty() => Endpoint::Cidr(ext_v4[skewed(rng, ext_v4.len())]),
            5..10 => Endpoint::AllEndpoints,
            _ => w(rng),
        };
        let dst = match rng.random_range(0..100) {
            0..7 if !src.is_address_term() && !ext_v4.is_empty() => {
                Endpoint::Cidr(ext_v4[skewed(rng, ext_v4.len())])
            }
            7..12 if !src.is_address_term() => Endpoint::OsnServices,
            12..15 if src != Endpoint::AllEndpoints => Endpoint::AllEndpoints,
            _ => w(rng),
        };
        StatementKind::Scoped {
            vcn: sp(vcn_attr(v)),
            src: sp(src),
            dst: sp(dst),
        }
    } else {
        let u = loop {
            let u = vcns[rng.random_range(0..vcns.len())];
            if u != v {
                break u;
            }
        };
        let wu = &workloads_of[u];
        StatementKind::CrossVcn {
            src: sp(ws[rng_index(rng, ws.len())].clone()),
            src_vcn: sp(vcn_attr(v)),
            dst: sp(wu[rng_index(rng, wu.len())].clone()),
            dst_vcn: sp(vcn_attr(u)),
        }
    };
    let mut conditions = Vec::new();
    match rng.random_range(0..100) {
        0..60 => {
            let n = if rng.random_bool(0.3) { 2 } else { 1 };
            let ports = (0..n).map(|_| pick_range(rng, &TCP_PORTS[..22])).collect();
            conditions.push(sp(Condition::Protocol(ProtocolSpec {
                protocol: proto::TCP,
                ports,
            })));
        }
        60..75 => conditions.push(sp(Condition::Protocol(ProtocolSpec {
            protocol: proto::UDP,
            ports: vec![pick_range(rng, &UDP_PORTS)],
        }))),
        75..85 => {
            conditions.push(sp(Condition::Protocol(ProtocolSpec {
                protocol: proto::ICMP,
                ports: vec![],
            })));
            conditions.push(sp(Condition::IcmpType(
                *[0u8, 3, 8].choose(rng).unwrap_or(&8),
            )));
        }
        _ => {}
    }
    if rng.random_bool(0.05) {
        conditions.push(sp(Condition::ConnectionState(ConnectionState::Stateless)));
    }
    Statement { kind, conditions }
}

fn rng_index(rng: &mut impl Rng, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        rng.random_range(0..len)
    }
}

// ------------------------------------------------------------- packets --

/// Draws `n` first packets over a scenario (see the module docs for the
/// mix). Works on any scenario; one without VNICs gives external traffic only.
#[must_use]
pub fn packets(s: &Scenario, n: usize, seed: u64) -> Vec<Packet> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7061_636b_6574_7321);
    let ipv6_share = {
        let dual = s
            .vnics
            .iter()
            .filter(|v| v.private_ips.iter().any(IpAddr::is_ipv6))
            .count();
        if s.vnics.is_empty() {
            0.0
        } else {
            (dual as f64 / s.vnics.len() as f64).clamp(0.0, 1.0)
        }
    };
    let mut by_attr: BTreeMap<&Attribute, Vec<usize>> = BTreeMap::new();
    for (i, v) in s.vnics.iter().enumerate() {
        for a in &v.attributes {
            by_attr.entry(&a.attribute).or_default().push(i);
        }
    }
    let mut by_vcn: Vec<Vec<usize>> = vec![Vec::new(); s.vcns.len()];
    for (i, v) in s.vnics.iter().enumerate() {
        if let Some(sn) = s.subnets.get(v.subnet.index())
            && let Some(list) = by_vcn.get_mut(sn.vcn.index())
        {
            list.push(i);
        }
    }
    let statements: Vec<&Statement> = s.statements().map(|(_, p)| &p.statement).collect();
    let ext4 = [
        Ipv4Addr::new(8, 8, 8, 8),
        Ipv4Addr::new(203, 0, 113, 9),
        Ipv4Addr::new(134, 70, 1, 1),
        Ipv4Addr::new(172, 20, 3, 4),
        Ipv4Addr::new(192, 168, 7, 10),
        Ipv4Addr::new(100, 64, 9, 9),
    ];
    let ext6 = [
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9),
        Ipv6Addr::new(0x2606, 0x4700, 0, 0, 0, 0, 0, 0x1111),
    ];
    let external = |rng: &mut ChaCha8Rng, v6: bool| -> IpAddr {
        if v6 {
            let base = u128::from(ext6[rng.random_range(0..ext6.len())]);
            IpAddr::V6(Ipv6Addr::from(base + u128::from(rng.random::<u8>())))
        } else {
            let base = u32::from(ext4[rng.random_range(0..ext4.len())]);
            IpAddr::V4(Ipv4Addr::from(
                base.wrapping_add(u32::from(rng.random::<u8>())),
            ))
        }
    };
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let want_v6 = rng.random_bool(ipv6_share.min(1.0));
        let roll = rng.random_range(0..100);
        let pair: Option<Flow> = if s.vnics.is_empty() {
            None
        } else if roll < 35 && !statements.is_empty() {
            let st = statements[rng.random_range(0..statements.len())];
            statement_flow(&mut rng, s, st, &by_attr, want_v6)
        } else if roll < 70 {
            let a = rng.random_range(0..s.vnics.len());
            let vcn = s
                .subnets
                .get(s.vnics[a].subnet.index())
                .map_or(0, |x| x.vcn.index());
            let b = match by_vcn.get(vcn) {
                Some(list) if !list.is_empty() && rng.random_bool(0.8) => {
                    list[rng.random_range(0..list.len())]
                }
                _ => rng.random_range(0..s.vnics.len()),
            };
            vnic_pair(&s.vnics[a], &s.vnics[b], want_v6).map(|(x, y)| (x, y, None))
        } else {
            let a = &s.vnics[rng.random_range(0..s.vnics.len())];
            let ip = family_ip(a, want_v6);
            let e = external(&mut rng, ip.is_ipv6());
            if roll < 85 {
                Some((ip, e, None))
            } else {
                Some((e, ip, None))
            }
        };
        let (src, dst, fixed) = pair.unwrap_or_else(|| {
            let a = external(&mut rng, want_v6);
            (a, external(&mut rng, want_v6), None)
        });
        let (proto, l4) = fixed.unwrap_or_else(|| random_service(&mut rng, src.is_ipv6()));
        out.push(Packet {
            src,
            dst,
            proto,
            l4,
        });
    }
    out
}

/// Source, destination and, when the flow fixes it, protocol and L4 fields.
type Flow = (IpAddr, IpAddr, Option<(u8, L4)>);

fn family_ip(v: &Vnic, v6: bool) -> IpAddr {
    v.private_ips
        .iter()
        .copied()
        .find(|a| a.is_ipv6() == v6)
        .or_else(|| v.private_ips.first().copied())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn vnic_pair(a: &Vnic, b: &Vnic, v6: bool) -> Option<(IpAddr, IpAddr)> {
    let both = |fam6: bool| {
        let x = a
            .private_ips
            .iter()
            .copied()
            .find(|i| i.is_ipv6() == fam6)?;
        let y = b
            .private_ips
            .iter()
            .copied()
            .find(|i| i.is_ipv6() == fam6)?;
        Some((x, y))
    };
    if v6 {
        both(true).or_else(|| both(false))
    } else {
        both(false).or_else(|| both(true))
    }
}

fn ephemeral(rng: &mut impl Rng) -> u16 {
    rng.random_range(32768..61000)
}

fn random_service(rng: &mut impl Rng, v6: bool) -> (u8, L4) {
    let port = |rng: &mut _| -> u16 {
        if rng_bool(rng, 0.9) {
            let r = pick_range(rng, &TCP_PORTS);
            rng_between(rng, r.min, r.max)
        } else {
            rng_u16(rng)
        }
    };
    match rng.random_range(0..100) {
        0..70 => (
            proto::TCP,
            L4::Ports {
                sport: ephemeral(rng),
                dport: port(rng),
            },
        ),
        70..88 => {
            let r = pick_range(rng, &UDP_PORTS);
            (
                proto::UDP,
                L4::Ports {
                    sport: ephemeral(rng),
                    dport: rng.random_range(r.min..=r.max),
                },
            )
        }
        _ => {
            let (p, table) = if v6 {
                (proto::ICMPV6, &ICMP6)
            } else {
                (proto::ICMP, &ICMP4)
            };
            let (t, c) = table[rng.random_range(0..table.len())];
            (
                p,
                L4::Icmp {
                    icmp_type: t,
                    code: c.unwrap_or(0),
                },
            )
        }
    }
}

fn rng_bool(rng: &mut impl Rng, p: f64) -> bool {
    rng.random_bool(p)
}
fn rng_u16(rng: &mut impl Rng) -> u16 {
    rng.random()
}
fn rng_between(rng: &mut impl Rng, a: u16, b: u16) -> u16 {
    rng.random_range(a..=b)
}

/// A flow a statement describes: members of its two terms, on its protocol.
fn statement_flow(
    rng: &mut ChaCha8Rng,
    s: &Scenario,
    st: &Statement,
    by_attr: &BTreeMap<&Attribute, Vec<usize>>,
    want_v6: bool,
) -> Option<Flow> {
    let (src, dst) = match &st.kind {
        StatementKind::Scoped { src, dst, .. } => (src.node.clone(), dst.node.clone()),
        StatementKind::CrossVcn { src, dst, .. } => (
            Endpoint::Attribute(src.node.clone()),
            Endpoint::Attribute(dst.node.clone()),
        ),
    };
    let member = |rng: &mut ChaCha8Rng, e: &Endpoint| -> Option<usize> {
        match e {
            Endpoint::Attribute(a) => {
                let list = by_attr.get(a)?;
                Some(list[rng.random_range(0..list.len())])
            }
            Endpoint::AllEndpoints => Some(rng.random_range(0..s.vnics.len())),
            _ => None,
        }
    };
    let address = |rng: &mut ChaCha8Rng, e: &Endpoint| -> Option<IpAddr> {
        match e {
            Endpoint::Cidr(IpNet::V4(n)) => {
                let span = u32::MAX.checked_shr(u32::from(n.prefix_len())).unwrap_or(0);
                Some(IpAddr::V4(Ipv4Addr::from(
                    u32::from(n.network()) + rng.random_range(0..=span),
                )))
            }
            Endpoint::Cidr(IpNet::V6(n)) => Some(IpAddr::V6(n.network())),
            Endpoint::OsnServices => s.services.first()?.cidrs.first().map(IpNet::network),
            _ => None,
        }
    };
    let (a, b) = match (member(rng, &src), member(rng, &dst)) {
        (Some(x), Some(y)) => vnic_pair(&s.vnics[x], &s.vnics[y], want_v6)?,
        (Some(x), None) => {
            let d = address(rng, &dst)?;
            (family_ip(&s.vnics[x], d.is_ipv6()), d)
        }
        (None, Some(y)) => {
            let a = address(rng, &src)?;
            (a, family_ip(&s.vnics[y], a.is_ipv6()))
        }
        (None, None) => return None,
    };
    let c = st.conditions();
    let svc = match c.protocol {
        Some(p) if proto::has_ports(p.protocol) => {
            let dport = match p.ports.as_slice() {
                [] => rng.random(),
                ports => {
                    let r = ports[rng.random_range(0..ports.len())];
                    rng.random_range(r.min..=r.max)
                }
            };
            Some((
                p.protocol,
                L4::Ports {
                    sport: ephemeral(rng),
                    dport,
                },
            ))
        }
        Some(p) if proto::is_icmp(p.protocol) => {
            let icmp = if a.is_ipv6() {
                proto::ICMPV6
            } else {
                proto::ICMP
            };
            Some((
                icmp,
                L4::Icmp {
                    icmp_type: c.icmp_type.unwrap_or(8),
                    code: c.icmp_code.unwrap_or(0),
                },
            ))
        }
        _ => None,
    };
    Some((a, b, svc))
}

// ------------------------------------------------------------- capture --

/// Length of every frame but the IPv6 TCP and IPv6 fragment ones, which
/// need 74 and 70 bytes for their headers.
pub const FRAME_LEN: usize = 64;

/// One Ethernet frame for a packet: Ethernet II, IPv4 (header checksum
/// set) or IPv6, then the transport header (L4 checksums left zero),
/// padded with zeros to [`FRAME_LEN`]. `seq` varies MACs and the IPv4 id.
#[must_use]
pub fn frame(p: &Packet, seq: u64) -> Vec<u8> {
    let mut f = Vec::with_capacity(80);
    let host = seq.to_be_bytes();
    f.extend_from_slice(&[0x02, 0x00, 0x17, host[5], host[6], host[7]]);
    f.extend_from_slice(&[0x02, 0x00, 0x17, 0xff, host[6], host[7]]);
    let fragment = matches!(p.l4, L4::Fragment);
    let l4: Vec<u8> = match p.l4 {
        L4::Ports { sport, dport } if p.proto == proto::TCP => {
            let mut t = vec![0u8; 20];
            t[0..2].copy_from_slice(&sport.to_be_bytes());
            t[2..4].copy_from_slice(&dport.to_be_bytes());
            t[4..8].copy_from_slice(&u32::try_from(seq & 0xffff_ffff).unwrap_or(0).to_be_bytes());
            t[12] = 5 << 4;
            t[13] = 0x02; // SYN: a first packet
            t[14..16].copy_from_slice(&64240u16.to_be_bytes());
            t
        }
        L4::Ports { sport, dport } => {
            let mut u = vec![0u8; 8];
            u[0..2].copy_from_slice(&sport.to_be_bytes());
            u[2..4].copy_from_slice(&dport.to_be_bytes());
            u[4..6].copy_from_slice(&8u16.to_be_bytes());
            u
        }
        L4::Icmp { icmp_type, code } => vec![icmp_type, code, 0, 0, 0, 0, 0, 0],
        L4::Opaque | L4::Fragment => vec![0u8; 8],
    };
    match (p.src, p.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&0x0800u16.to_be_bytes());
            let total = u16::try_from(20 + l4.len()).unwrap_or(20);
            let mut h = [0u8; 20];
            h[0] = 0x45;
            h[2..4].copy_from_slice(&total.to_be_bytes());
            h[4..6].copy_from_slice(&u16::try_from(seq & 0xffff).unwrap_or(0).to_be_bytes());
            if fragment {
                h[6..8].copy_from_slice(&185u16.to_be_bytes()); // offset 1480 bytes
            }
            h[8] = 64;
            h[9] = p.proto;
            h[12..16].copy_from_slice(&s.octets());
            h[16..20].copy_from_slice(&d.octets());
            let sum = ipv4_checksum(&h);
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            f.extend_from_slice(&h);
        }
        (s, d) => {
            let (s, d) = (v6_of(s), v6_of(d));
            f.extend_from_slice(&0x86DDu16.to_be_bytes());
            let ext = if fragment { 8 } else { 0 };
            let payload = u16::try_from(ext + l4.len()).unwrap_or(0);
            let mut h = [0u8; 40];
            h[0] = 0x60;
            h[4..6].copy_from_slice(&payload.to_be_bytes());
            h[6] = if fragment { 44 } else { p.proto };
            h[7] = 64;
            h[8..24].copy_from_slice(&s.octets());
            h[24..40].copy_from_slice(&d.octets());
            f.extend_from_slice(&h);
            if fragment {
                let mut fh = [0u8; 8];
                fh[0] = p.proto;
                fh[2..4].copy_from_slice(&(185u16 << 3).to_be_bytes());
                fh[4..8]
                    .copy_from_slice(&u32::try_from(seq & 0xffff_ffff).unwrap_or(0).to_be_bytes());
                f.extend_from_slice(&fh);
            }
        }
    }
    f.extend_from_slice(&l4);
    if f.len() < FRAME_LEN {
        f.resize(FRAME_LEN, 0);
    }
    f
}

fn v6_of(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V6(x) => x,
        IpAddr::V4(x) => x.to_ipv6_mapped(),
    }
}

fn ipv4_checksum(h: &[u8; 20]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0)
}

/// Writes packets as an Ethernet pcap (nanosecond timestamps) to any writer.
/// Timestamps start at 2024-01-01 and advance 1-20 µs per packet, drawn
/// from `seed`.
///
/// # Errors
/// I/O errors from the writer.
pub fn write_capture_to<W: Write>(out: W, packets: &[Packet], seed: u64) -> io::Result<W> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6361_7074_7572_6521);
    let mut w = zprsim_dataplane::pcap_out::PcapOut::create(
        out,
        zprsim_dataplane::pcap_out::OutFormat::Pcap { linktype: 1 },
    )?;
    let mut ts: u64 = 1_704_067_200 * 1_000_000_000;
    for (i, p) in packets.iter().enumerate() {
        ts += rng.random_range(1_000..20_000);
        let f = frame(p, i as u64);
        let len = u32::try_from(f.len()).unwrap_or(0);
        w.write(ts, 1, len, &f)?;
    }
    w.finish()
}

/// Writes packets as an Ethernet pcap file (see [`write_capture_to`]).
///
/// # Errors
/// I/O errors creating or writing the file.
pub fn write_capture(path: &Path, packets: &[Packet], seed: u64) -> io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut file = write_capture_to(file, packets, seed)?;
    file.flush()
}

// ---------------------------------------------------------------- TOML --

/// A TOML basic string.
fn q(s: &str) -> String {
    zprsim_control::escape::toml_string(s)
}

fn attributes_toml<'a>(attrs: impl Iterator<Item = (&'a Attribute, Option<Mode>)>) -> String {
    // namespace -> key -> (value, mode), in first-seen order.
    type Keys<'k> = Vec<(&'k str, &'k str, Option<Mode>)>;
    let mut ns: Vec<(&str, Keys<'_>)> = Vec::new();
    for (a, mode) in attrs {
        let entry = match ns.iter_mut().position(|(n, _)| *n == a.namespace) {
            Some(i) => &mut ns[i].1,
            None => {
                ns.push((&a.namespace, Vec::new()));
                let last = ns.len() - 1;
                &mut ns[last].1
            }
        };
        // The format holds one value per key: a second one is not written.
        if !entry.iter().any(|(k, _, _)| *k == a.key) {
            entry.push((&a.key, &a.value, mode));
        }
    }
    let mut o = String::from("{ ");
    for (i, (n, keys)) in ns.iter().enumerate() {
        if i > 0 {
            o.push_str(", ");
        }
        let _ = write!(o, "{} = {{ ", q(n));
        for (j, (k, v, mode)) in keys.iter().enumerate() {
            if j > 0 {
                o.push_str(", ");
            }
            let _ = write!(o, "{} = {{ value = {}", q(k), q(v));
            if *mode == Some(Mode::Audit) {
                o.push_str(", mode = \"audit\"");
            }
            o.push_str(" }");
        }
        o.push_str(" }");
    }
    o.push_str(" }");
    o
}

fn rule_toml(s: &Scenario, r: &SecurityRule, nsg_form: bool) -> String {
    let mut o = String::from("{ ");
    if nsg_form {
        let _ = write!(o, "direction = \"{}\", ", r.direction.as_str());
    }
    let proto = match r.protocol {
        Protocol::All => "all".to_owned(),
        Protocol::Number(n) => n.to_string(),
    };
    let _ = write!(o, "protocol = \"{proto}\", ");
    let side = match r.direction {
        Direction::Ingress => "source",
        Direction::Egress => "destination",
    };
    match &r.peer {
        Peer::Cidr(n) => {
            let _ = write!(o, "{side} = \"{n}\"");
        }
        Peer::Service(id) => {
            let name = s.services.get(id.index()).map_or("", |l| l.name.as_str());
            let _ = write!(
                o,
                "{side} = {}, {side}_type = \"SERVICE_CIDR_BLOCK\"",
                q(name)
            );
        }
        Peer::Nsg(id) => {
            let name = s.nsgs.get(id.index()).map_or("", |n| n.name.as_str());
            let _ = write!(
                o,
                "{side} = {}, {side}_type = \"NETWORK_SECURITY_GROUP\"",
                q(name)
            );
        }
    }
    if r.stateless {
        o.push_str(", is_stateless = true");
    }
    match r.options {
        RuleOptions::None => {}
        RuleOptions::Ports { src, dst } => {
            let key = if r.protocol == Protocol::Number(proto::UDP) {
                "udp_options"
            } else {
                "tcp_options"
            };
            let mut parts = Vec::new();
            if let Some(d) = dst {
                parts.push(format!(
                    "destination_port_range = {{ min = {}, max = {} }}",
                    d.min, d.max
                ));
            }
            if let Some(sr) = src {
                parts.push(format!(
                    "source_port_range = {{ min = {}, max = {} }}",
                    sr.min, sr.max
                ));
            }
            let _ = write!(o, ", {key} = {{ {} }}", parts.join(", "));
        }
        RuleOptions::Icmp { icmp_type, code } => {
            let _ = write!(o, ", icmp_options = {{ type = {icmp_type}");
            if let Some(c) = code {
                let _ = write!(o, ", code = {c}");
            }
            o.push_str(" }");
        }
    }
    if let Some(d) = &r.description {
        let _ = write!(o, ", description = {}", q(d));
    }
    o.push_str(" }");
    o
}

fn name_of<T>(items: &[T], i: usize, f: impl Fn(&T) -> &str) -> String {
    q(items.get(i).map_or("", f))
}

fn list_of(items: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = items.collect();
    format!("[{}]", v.join(", "))
}

/// Writes a scenario in the native TOML format
/// (`docs/scenario-format.md`): references by name, statements as their
/// canonical ZPL text. Loading the result gives the same scenario back
/// (statement origins aside). The format gives each attribute key one
/// value per VNIC, so a model VNIC holding two values of one key (which the
/// loader never produces) is written with the first only.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn to_toml(s: &Scenario) -> String {
    let mut o = String::with_capacity(
        200 * (s.vnics.len() + 1) + 160 * s.nsgs.iter().map(|n| n.rules.len()).sum::<usize>(),
    );
    let _ = writeln!(o, "# generated by zprsim-bench scale");
    if let Some(n) = &s.name {
        let _ = writeln!(o, "name = {}", q(n));
    }
    o.push('\n');
    if !s.services.is_empty() {
        o.push_str("[services]\n");
        for l in &s.services {
            let _ = writeln!(
                o,
                "{} = {}",
                q(&l.name),
                list_of(l.cidrs.iter().map(|c| format!("\"{c}\"")))
            );
        }
        o.push('\n');
    }
    let defaults = zprsim_control::model::Options::default();
    if s.options != defaults {
        o.push_str("[options]\n");
        let mode = match s.options.zpr_only {
            ZprOnlyMode::Report => "report",
            ZprOnlyMode::DefaultDeny => "default-deny",
        };
        let _ = writeln!(o, "zpr_only = \"{mode}\"");
        let _ = writeln!(
            o,
            "max_statements_per_policy = {}\n",
            s.options.max_statements_per_policy
        );
    }
    for v in &s.vcns {
        o.push_str("[[vcn]]\n");
        let _ = writeln!(o, "name = {}", q(&v.name));
        if let Some(id) = &v.id {
            let _ = writeln!(o, "id = {}", q(id));
        }
        let _ = writeln!(
            o,
            "cidr_blocks = {}",
            list_of(
                v.cidr_blocks
                    .iter()
                    .filter(|c| !v.ipv6_private_cidr_blocks.contains(c))
                    .map(|c| format!("\"{c}\""))
            )
        );
        if !v.ipv6_private_cidr_blocks.is_empty() {
            let _ = writeln!(
                o,
                "ipv6_private_cidr_blocks = {}",
                list_of(
                    v.ipv6_private_cidr_blocks
                        .iter()
                        .map(|c| format!("\"{c}\""))
                )
            );
        }
        if let Some(a) = &v.attribute {
            let _ = writeln!(
                o,
                "security_attributes = {}",
                attributes_toml(std::iter::once((a, None)))
            );
        }
        if v.is_zpr_only {
            o.push_str("is_zpr_only = true\n");
        }
        o.push('\n');
    }
    for g in &s.gateways {
        o.push_str("[[gateway]]\n");
        let _ = writeln!(o, "name = {}", q(&g.name));
        if let Some(id) = &g.id {
            let _ = writeln!(o, "id = {}", q(id));
        }
        let _ = writeln!(o, "vcn = {}", name_of(&s.vcns, g.vcn.index(), |v| &v.name));
        let _ = writeln!(o, "kind = \"{}\"", g.kind.as_str());
        if g.blocked {
            o.push_str(match g.kind {
                GatewayKind::Internet => "is_enabled = false\n",
                GatewayKind::Lpg => "peering_status = \"PENDING\"\n",
                GatewayKind::Nat | GatewayKind::Service => "block_traffic = true\n",
                // No OCI switch: never drawn blocked (`random.rs`).
                GatewayKind::Drg => "",
            });
        }
        if g.stand_in {
            o.push_str("stand_in = true\n");
        }
        o.push('\n');
    }
    for t in &s.route_tables {
        o.push_str("[[route_table]]\n");
        let _ = writeln!(o, "name = {}", q(&t.name));
        if let Some(id) = &t.id {
            let _ = writeln!(o, "id = {}", q(id));
        }
        let _ = writeln!(o, "vcn = {}", name_of(&s.vcns, t.vcn.index(), |v| &v.name));
        o.push_str("route_rules = [\n");
        for r in &t.rules {
            o.push_str("  { ");
            match &r.destination {
                RouteDestination::Cidr(c) => {
                    let _ = write!(o, "destination = \"{c}\"");
                }
                RouteDestination::Service(id) => {
                    let _ = write!(
                        o,
                        "destination = {}, destination_type = \"SERVICE_CIDR_BLOCK\"",
                        name_of(&s.services, id.index(), |l| &l.name)
                    );
                }
            }
            match &r.target {
                RouteTarget::Gateway(g) => {
                    let _ = write!(
                        o,
                        ", network_entity = {}",
                        name_of(&s.gateways, g.index(), |g| &g.name)
                    );
                }
                RouteTarget::PrivateIp { ip, .. } => {
                    let _ = write!(o, ", network_entity = \"{ip}\"");
                }
            }
            if let Some(d) = &r.description {
                let _ = write!(o, ", description = {}", q(d));
            }
            o.push_str(" },\n");
        }
        o.push_str("]\n\n");
    }
    for l in &s.security_lists {
        o.push_str("[[security_list]]\n");
        let _ = writeln!(o, "name = {}", q(&l.name));
        if let Some(id) = &l.id {
            let _ = writeln!(o, "id = {}", q(id));
        }
        let _ = writeln!(o, "vcn = {}", name_of(&s.vcns, l.vcn.index(), |v| &v.name));
        for (key, rules) in [
            ("ingress_security_rules", &l.ingress),
            ("egress_security_rules", &l.egress),
        ] {
            let _ = writeln!(o, "{key} = [");
            for r in rules {
                let _ = writeln!(o, "  {},", rule_toml(s, r, false));
            }
            o.push_str("]\n");
        }
        o.push('\n');
    }
    for n in &s.nsgs {
        o.push_str("[[nsg]]\n");
        let _ = writeln!(o, "name = {}", q(&n.name));
        if let Some(id) = &n.id {
            let _ = writeln!(o, "id = {}", q(id));
        }
        let _ = writeln!(o, "vcn = {}", name_of(&s.vcns, n.vcn.index(), |v| &v.name));
        o.push_str("rules = [\n");
        for r in &n.rules {
            let _ = writeln!(o, "  {},", rule_toml(s, r, true));
        }
        o.push_str("]\n\n");
    }
    for sn in &s.subnets {
        o.push_str("[[subnet]]\n");
        let _ = writeln!(o, "name = {}", q(&sn.name));
        if let Some(id) = &sn.id {
            let _ = writeln!(o, "id = {}", q(id));
        }
        let _ = writeln!(o, "vcn = {}", name_of(&s.vcns, sn.vcn.index(), |v| &v.name));
        if let Some(first) = sn.cidrs.first() {
            let _ = writeln!(o, "cidr_block = \"{first}\"");
        }
        for (field, v6) in [("ipv4_cidr_blocks", false), ("ipv6_cidr_blocks", true)] {
            let more: Vec<String> = sn
                .cidrs
                .iter()
                .skip(1)
                .filter(|c| matches!(c, ipnet::IpNet::V6(_)) == v6)
                .map(|c| format!("\"{c}\""))
                .collect();
            if !more.is_empty() {
                let _ = writeln!(o, "{field} = {}", list_of(more.into_iter()));
            }
        }
        if sn.prohibit_public_ip {
            o.push_str("prohibit_public_ip = true\n");
        }
        if sn.prohibit_internet_ingress {
            o.push_str("prohibit_internet_ingress = true\n");
        }
        if sn.vnics_unknown {
            o.push_str("vnics_unknown = true\n");
        }
        if let Some(rt) = sn.route_table {
            let _ = writeln!(
                o,
                "route_table = {}",
                name_of(&s.route_tables, rt.index(), |t| &t.name)
            );
        }
        let _ = writeln!(
            o,
            "security_lists = {}\n",
            list_of(
                sn.security_lists
                    .iter()
                    .map(|l| name_of(&s.security_lists, l.index(), |x| &x.name))
            )
        );
    }
    for v in &s.vnics {
        o.push_str("[[vnic]]\n");
        let _ = writeln!(o, "name = {}", q(&v.name));
        if let Some(id) = &v.id {
            let _ = writeln!(o, "id = {}", q(id));
        }
        let _ = writeln!(
            o,
            "subnet = {}",
            name_of(&s.subnets, v.subnet.index(), |x| &x.name)
        );
        let _ = writeln!(
            o,
            "private_ips = {}",
            list_of(v.private_ips.iter().map(|a| format!("\"{a}\"")))
        );
        if !v.nsgs.is_empty() {
            let _ = writeln!(
                o,
                "nsgs = {}",
                list_of(
                    v.nsgs
                        .iter()
                        .map(|n| name_of(&s.nsgs, n.index(), |x| &x.name))
                )
            );
        }
        if let Some(rt) = v.route_table {
            let _ = writeln!(
                o,
                "route_table = {}",
                name_of(&s.route_tables, rt.index(), |t| &t.name)
            );
        }
        if !v.kind.is_empty() {
            let _ = writeln!(o, "kind = {}", q(&v.kind));
        }
        if let Some(skip) = v.skip_source_dest_check {
            let _ = writeln!(o, "skip_source_dest_check = {skip}");
        }
        match v.public_ip {
            zprsim_control::model::PublicIp::Unknown => {}
            zprsim_control::model::PublicIp::Absent => o.push_str("public_ip = false\n"),
            zprsim_control::model::PublicIp::Present(None) => o.push_str("public_ip = true\n"),
            zprsim_control::model::PublicIp::Present(Some(a)) => {
                let _ = writeln!(o, "public_ip = \"{a}\"");
            }
        }
        if !v.attributes.is_empty() {
            let _ = writeln!(
                o,
                "security_attributes = {}",
                attributes_toml(v.attributes.iter().map(|a| (&a.attribute, Some(a.mode))))
            );
        }
        o.push('\n');
    }
    for p in &s.zpr_policies {
        o.push_str("[[zpr_policy]]\n");
        let _ = writeln!(o, "name = {}", q(&p.name));
        if let Some(id) = &p.id {
            let _ = writeln!(o, "id = {}", q(id));
        }
        if p.stand_in {
            o.push_str("stand_in = true\n");
        }
        o.push_str("statements = [\n");
        for st in &p.statements {
            let _ = writeln!(
                o,
                "  {},",
                q(&zprsim_control::zpl::print_statement(&st.statement))
            );
        }
        o.push_str("]\n\n");
    }
    o
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::SeedableRng;
    use zprsim_control::compile::{Compiled, Config};
    use zprsim_control::load;
    use zprsim_control::verdict::{Context, Verdict};
    use zprsim_dataplane::capture::Capture;
    use zprsim_dataplane::parse::{Parsed, parse_frame};

    use super::*;

    /// Every field the loader fills, statement origins aside.
    fn assert_same(a: &Scenario, b: &Scenario) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.services, b.services);
        assert_eq!(a.options, b.options);
        assert_eq!(a.vcns, b.vcns);
        assert_eq!(a.gateways, b.gateways);
        assert_eq!(a.route_tables, b.route_tables);
        assert_eq!(a.security_lists, b.security_lists);
        assert_eq!(a.nsgs, b.nsgs);
        assert_eq!(a.subnets, b.subnets);
        assert_eq!(a.vnics, b.vnics);
        assert_eq!(a.zpr_policies.len(), b.zpr_policies.len());
        for (p, q) in a.zpr_policies.iter().zip(&b.zpr_policies) {
            assert_eq!(p.name, q.name);
            let sa: Vec<_> = p.statements.iter().map(|s| &s.statement).collect();
            let sb: Vec<_> = q.statements.iter().map(|s| &s.statement).collect();
            assert_eq!(sa, sb);
        }
    }

    fn reload(s: &Scenario) -> load::Loaded {
        let text = to_toml(s);
        match load::from_toml_str(&text, "gen.toml") {
            Ok(l) => l,
            Err(e) => panic!(
                "generated scenario does not load: {e}\n{}",
                &text[..text.len().min(4000)]
            ),
        }
    }

    #[test]
    fn presets_load_back_equal_and_within_oci_limits() {
        for spec in [ScaleSpec::small(), ScaleSpec::medium()] {
            let s = scenario(&spec);
            let loaded = reload(&s);
            assert_same(&s, &loaded.scenario);
            assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings.first());
        }
    }

    #[test]
    fn random_scenarios_round_trip_through_toml() {
        let mut compared = 0;
        for seed in 0..200 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let s = crate::random::random_scenario(&mut rng);
            // Two values of one key on a VNIC have no form in the format.
            let one_value_per_key = s.vnics.iter().all(|v| {
                let keys: HashSet<_> = v
                    .attributes
                    .iter()
                    .map(|a| (&a.attribute.namespace, &a.attribute.key))
                    .collect();
                keys.len() == v.attributes.len()
            });
            let loaded = reload(&s);
            if one_value_per_key {
                assert_same(&s, &loaded.scenario);
                compared += 1;
            }
        }
        assert!(compared >= 50, "only {compared} scenarios compared");
    }

    #[test]
    fn same_seed_same_text_other_seed_other_text() {
        let a = to_toml(&scenario(&ScaleSpec::small()));
        let b = to_toml(&scenario(&ScaleSpec::small()));
        let c = to_toml(&scenario(&ScaleSpec {
            seed: 2,
            ..ScaleSpec::small()
        }));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    /// `wide` asks for 400 rules per list, half of each direction: every
    /// list stays within OCI's 200 rules per direction (a preset meant to
    /// look like a real tenancy must not load with limit warnings), with
    /// the counts asked for.
    #[test]
    fn wide_lists_stay_within_oci_limits() {
        let spec = ScaleSpec::wide();
        let s = scenario(&spec);
        assert_eq!(list_rules(&s), spec.sl_rules);
        assert!(lists_within_oci_limits(&s));
    }

    /// Rules over all security lists.
    fn list_rules(s: &Scenario) -> usize {
        s.security_lists
            .iter()
            .map(|l| l.ingress.len() + l.egress.len())
            .sum()
    }

    /// Every list holds at most OCI's 200 rules of each direction.
    fn lists_within_oci_limits(s: &Scenario) -> bool {
        s.security_lists
            .iter()
            .all(|l| l.ingress.len() <= OCI_LIST_RULES && l.egress.len() <= OCI_LIST_RULES)
    }

    #[test]
    fn large_has_the_counts_asked_for_and_a_realistic_shape() {
        let spec = ScaleSpec::large();
        let s = scenario(&spec);
        let sl = list_rules(&s);
        let nsg: usize = s.nsgs.iter().map(|n| n.rules.len()).sum();
        let st: usize = s.zpr_policies.iter().map(|p| p.statements.len()).sum();
        assert_eq!((s.vnics.len(), sl, nsg, st), (10_000, 100_000, 12_000, 400));
        assert_eq!(
            (s.security_lists.len(), s.nsgs.len(), s.subnets.len()),
            (600, 400, 160)
        );
        // OCI per-object limits hold for the large preset.
        assert!(lists_within_oci_limits(&s));
        assert!(s.nsgs.iter().all(|n| n.rules.len() <= 120));
        assert!(s.zpr_policies.iter().all(|p| p.statements.len() <= 25));
        assert!(
            s.subnets
                .iter()
                .all(|x| !x.security_lists.is_empty() && x.security_lists.len() <= 5)
        );
        assert!(
            s.vnics
                .iter()
                .all(|v| v.nsgs.len() <= 5 && v.attributes.len() <= 5)
        );
        // Every list is used by some subnet.
        let used: HashSet<_> = s
            .subnets
            .iter()
            .flat_map(|x| x.security_lists.iter().copied())
            .collect();
        assert_eq!(used.len(), s.security_lists.len());
        // Profiles in the hundreds, not thousands.
        let profiles: HashSet<_> = s.vnics.iter().map(|v| (v.subnet, v.nsgs.clone())).collect();
        let attr_sets: HashSet<_> = s.vnics.iter().map(|v| v.attributes.clone()).collect();
        assert!(
            (50..=spec.node_pools).contains(&profiles.len()),
            "{}",
            profiles.len()
        );
        assert!(attr_sets.len() <= spec.node_pools, "{}", attr_sets.len());
        // A few thousand distinct rule CIDRs.
        let cidrs: HashSet<_> = s
            .security_lists
            .iter()
            .flat_map(|l| l.ingress.iter().chain(&l.egress))
            .chain(s.nsgs.iter().flat_map(|n| &n.rules))
            .filter_map(|r| match r.peer {
                Peer::Cidr(c) => Some(c),
                _ => None,
            })
            .collect();
        assert!((1000..=6000).contains(&cidrs.len()), "{}", cidrs.len());
        // Both statement forms, NSG-typed peers, IPv6 VNICs.
        assert!(
            s.statements()
                .any(|(_, p)| matches!(p.statement.kind, StatementKind::CrossVcn { .. }))
        );
        assert!(
            s.statements()
                .any(|(_, p)| matches!(p.statement.kind, StatementKind::Scoped { .. }))
        );
        assert!(
            s.nsgs
                .iter()
                .flat_map(|n| &n.rules)
                .any(|r| matches!(r.peer, Peer::Nsg(_)))
        );
        assert!(
            s.vnics
                .iter()
                .any(|v| v.private_ips.iter().any(IpAddr::is_ipv6))
        );
    }

    #[test]
    fn packets_mix_allowed_and_dropped_and_families() {
        let s = scenario(&ScaleSpec::medium());
        let ps = packets(&s, 4000, 7);
        assert_eq!(ps, packets(&s, 4000, 7));
        assert_ne!(ps, packets(&s, 4000, 8));
        let c = match Compiled::new(&s, &Config::default()) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let allowed = ps
            .iter()
            .filter(|p| c.judge(p, Context::First).judgement.verdict == Verdict::Allow)
            .count();
        assert!((200..3800).contains(&allowed), "{allowed} of 4000 allowed");
        assert!(ps.iter().any(|p| p.src.is_ipv6()));
        for want in [proto::TCP, proto::UDP, proto::ICMP] {
            assert!(
                ps.iter().any(|p| p.proto == want),
                "no packet of protocol {want}"
            );
        }
        assert!(ps.iter().all(|p| p.src.is_ipv6() == p.dst.is_ipv6()));
    }

    #[test]
    fn capture_parses_back_to_the_same_packets() {
        let s = scenario(&ScaleSpec::small());
        let mut ps = packets(&s, 500, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let pool = crate::random::address_pool(&s);
        ps.extend((0..500).map(|_| crate::random::random_packet(&mut rng, &pool)));
        let bytes = match write_capture_to(Vec::new(), &ps, 1) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let cap = match Capture::from_bytes(bytes) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let mut n = 0;
        let mut last_ts = 0;
        for (rec, p) in cap.records().zip(&ps) {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => panic!("{e}"),
            };
            assert!(rec.ts_ns > last_ts);
            last_ts = rec.ts_ns;
            let v6_long = p.src.is_ipv6()
                && (p.proto == proto::TCP && matches!(p.l4, L4::Ports { .. })
                    || p.l4 == L4::Fragment);
            if v6_long {
                assert!(
                    rec.data.len() == 74 || rec.data.len() == 70,
                    "{}",
                    rec.data.len()
                );
            } else {
                assert_eq!(rec.data.len(), FRAME_LEN, "{p}");
            }
            match parse_frame(rec.linktype, rec.data) {
                Parsed::Ip(m) => assert_eq!(m.packet, *p),
                other => panic!("{p}: {other:?}"),
            }
            n += 1;
        }
        assert_eq!(n, ps.len());
    }

    #[test]
    fn ipv4_header_checksum_verifies() {
        let p = Packet::tcp(
            "10.0.0.1".parse().unwrap(),
            1,
            "10.0.0.2".parse().unwrap(),
            2,
        );
        let f = frame(&p, 5);
        let h: &[u8] = &f[14..34];
        let mut sum: u32 = h
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff);
    }
}
