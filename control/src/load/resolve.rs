//! From raw structs to the model: names to ids, defaults, checks, warnings.

/// The resolver's maps, keyed by names from the input: ahash with random
/// keys (as resistant to crafted collisions as std's SipHash, and cheaper:
/// SipHash was about a tenth of the resolver's instructions).
type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;
type HashSet<K> = std::collections::HashSet<K, ahash::RandomState>;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

use super::raw::{
    OrderedMap, ProtoValue, RawAttrValue, RawAttributes, RawIcmpOptions, RawPortOptions,
    RawPortRange, RawPublicIp, RawScenario, Sp,
};
use super::{
    Format, LoadError, Loaded, MAX_POLICY_FILE_BYTES, Positions, SourceFiles, Warning, WarningCode,
    lint, names,
};
use crate::ids::{
    GatewayId, IdOverflow, NsgId, PolicyId, RouteTableId, SecurityListId, ServiceId, SubnetId,
    VcnId, VnicId,
};
use crate::model::{
    Attribute, Direction, Gateway, GatewayKind, Mode, Nsg, Options, Origin, Peer, PolicyStatement,
    PortRange, Protocol, PublicIp, RouteDestination, RouteRule, RouteTable, RouteTarget, Scenario,
    SecurityAttribute, SecurityList, SecurityRule, ServiceLabel, Subnet, Vcn, Vnic, ZprOnlyMode,
    ZprPolicy, proto,
};
use crate::zpl;

/// OCI limits the loader warns about.
mod limits {
    pub const SECURITY_LISTS_PER_SUBNET: usize = 5;
    pub const NSGS_PER_VNIC: usize = 5;
    pub const ATTRIBUTES_PER_VNIC: usize = 5;
    pub const ATTRIBUTES_PER_VCN: usize = 1;
    pub const RULES_PER_NSG: usize = 120;
    pub const RULES_PER_LIST_DIRECTION: usize = 200;
    pub const RULES_PER_ROUTE_TABLE: usize = 200;
}

/// The kinds of named objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Vcn,
    Gateway,
    RouteTable,
    SecurityList,
    Nsg,
    Subnet,
    Vnic,
    Policy,
}

impl Kind {
    const ALL: [Kind; 8] = [
        Kind::Vcn,
        Kind::Gateway,
        Kind::RouteTable,
        Kind::SecurityList,
        Kind::Nsg,
        Kind::Subnet,
        Kind::Vnic,
        Kind::Policy,
    ];

    fn word(self) -> &'static str {
        match self {
            Kind::Vcn => "vcn",
            Kind::Gateway => "gateway",
            Kind::RouteTable => "route table",
            Kind::SecurityList => "security list",
            Kind::Nsg => "nsg",
            Kind::Subnet => "subnet",
            Kind::Vnic => "vnic",
            Kind::Policy => "zpr policy",
        }
    }

    fn with_article(self) -> &'static str {
        match self {
            Kind::Vcn => "a vcn",
            Kind::Gateway => "a gateway",
            Kind::RouteTable => "a route table",
            Kind::SecurityList => "a security list",
            Kind::Nsg => "an nsg",
            Kind::Subnet => "a subnet",
            Kind::Vnic => "a vnic",
            Kind::Policy => "a zpr policy",
        }
    }
}

/// Names and ids of one kind of object.
#[derive(Default)]
struct Index {
    by_name: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
}

impl Index {
    fn get(&self, key: &str) -> Option<usize> {
        self.by_name
            .get(key)
            .or_else(|| self.by_id.get(key))
            .copied()
    }
}

/// What the resolver carries around: the source for positions, the
/// warnings, the indexes.
struct Ctx<'a> {
    text: &'a str,
    positions: Positions<'a>,
    file: &'a str,
    format: Format,
    warnings: Vec<Warning>,
    /// Warnings past [`MAX_WARNINGS`], counted only.
    dropped_warnings: usize,
    indexes: HashMap<Kind, Index>,
}

/// Warnings kept; past this many, one more says how many were left out.
const MAX_WARNINGS: usize = 1000;

/// Error location and context, built up as the resolver descends.
type Res<T> = Result<T, Box<LoadError>>;

impl Ctx<'_> {
    fn position(&self, at: Option<usize>) -> (Option<u32>, Option<u32>) {
        match at {
            Some(off) => {
                let (l, c) = self.positions.line_col(off);
                (Some(l), Some(c))
            }
            None => (None, None),
        }
    }

    fn err(&self, at: Option<usize>, object: &str, field: &str, message: String) -> Box<LoadError> {
        let (line, column) = self.position(at);
        Box::new(LoadError {
            file: self.file.to_owned(),
            line,
            column,
            object: (!object.is_empty()).then(|| object.to_owned()),
            field: (!field.is_empty()).then(|| field.to_owned()),
            message,
            rendered_zpl: None,
        })
    }

    fn warn(&mut self, code: WarningCode, at: Option<usize>, message: String) {
        if self.warnings.len() >= MAX_WARNINGS {
            self.dropped_warnings += 1;
            return;
        }
        let (line, column) = self.position(at);
        self.warnings.push(Warning {
            code,
            file: self.file.to_owned(),
            line,
            column,
            message,
        });
    }

    fn index(&self, kind: Kind) -> Option<&Index> {
        self.indexes.get(&kind)
    }

    /// The kind of object `key` names or is the id of, if any.
    fn what_is(&self, key: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| self.index(*k).and_then(|ix| ix.get(key)).is_some())
    }

    /// Looks a reference up among objects of `kind`; on failure says whether
    /// it names an object of another kind.
    fn lookup(&self, kind: Kind, r: &Sp<String>, object: &str, field: &str) -> Res<usize> {
        if let Some(i) = self.index(kind).and_then(|ix| ix.get(&r.value)) {
            return Ok(i);
        }
        let message = match self.what_is(&r.value) {
            Some(other) => format!(
                "`{}` is {}, not {}",
                r.value,
                other.with_article(),
                kind.with_article()
            ),
            None => format!(
                "no {} has the name or id `{}`{}",
                kind.word(),
                r.value,
                self.index(kind).map_or_else(String::new, |ix| {
                    lint::did_you_mean(&r.value, ix.by_name.keys().map(String::as_str))
                })
            ),
        };
        Err(self.err(r.start(), object, field, message))
    }
}

fn label(kind: Kind, name: &str) -> String {
    let mut s = String::new();
    label_into(&mut s, kind, name);
    s
}

/// [`label`] into `buf`, replacing what it held.
fn label_into(buf: &mut String, kind: Kind, name: &str) {
    buf.clear();
    buf.push_str(kind.word());
    buf.push_str(" `");
    buf.push_str(name);
    buf.push('`');
}

fn id<T>(r: Result<T, IdOverflow>, ctx: &Ctx<'_>) -> Res<T> {
    r.map_err(|e| ctx.err(None, "", "", e.to_string()))
}

/// Parses a CIDR block; host bits set is an error (\[decision\]: a typo more
/// often than an intent). `import` checks exported CIDR blocks with it.
pub(crate) fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let net: IpNet = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a cidr block"))?;
    if net.trunc() != net {
        return Err(format!(
            "cidr block `{s}` has host bits set (write `{}`; host bits are an error here)",
            net.trunc()
        ));
    }
    Ok(net)
}

fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not an ip address"))
}

/// Whether `a` and `b` share an address (for prefixes: one contains the other).
fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// A CIDR with a tag saying whose it is and its rank in file order.
type Tagged<T> = (IpNet, T, usize);

/// Two overlapping CIDRs with their tags, earlier in file order first.
type Overlap<T> = ((IpNet, T), (IpNet, T));

/// A sort key that puts a CIDR right before the CIDRs it contains.
fn cidr_key(n: &IpNet) -> (bool, u128, u8) {
    match n {
        IpNet::V4(v) => (false, u128::from(u32::from(v.network())), v.prefix_len()),
        IpNet::V6(v) => (true, u128::from(v.network()), v.prefix_len()),
    }
}

/// Finds two overlapping CIDRs among `items` (tagged with a group and a
/// file-order rank) in O(n log n): sorted by start and then by prefix length,
/// any overlap shows between neighbours. Returns (earlier, later) by rank.
fn find_overlap<T: Copy>(items: &mut [Tagged<T>]) -> Option<Overlap<T>> {
    items.sort_by_key(|(n, _, rank)| (cidr_key(n), *rank));
    items.windows(2).find_map(|w| {
        let (a, b) = (&w[0], &w[1]);
        let ordered = if a.2 <= b.2 {
            ((a.0, a.1), (b.0, b.1))
        } else {
            ((b.0, b.1), (a.0, a.1))
        };
        overlaps(&a.0, &b.0).then_some(ordered)
    })
}

/// Sorts CIDRs for [`containing`].
fn sorted_cidrs(cidrs: &[IpNet]) -> Vec<IpNet> {
    let mut v = cidrs.to_vec();
    v.sort_by_key(cidr_key);
    v
}

/// Whether a CIDR of `sorted` (non-overlapping, sorted by [`cidr_key`])
/// contains `probe`, in O(log n): only the last block starting at or before
/// the probe can (any later one would start inside it).
fn contained(sorted: &[IpNet], probe: &IpNet) -> bool {
    let (family, start, _) = cidr_key(probe);
    let i = sorted.partition_point(|b| {
        let (f, s, _) = cidr_key(b);
        (f, s) <= (family, start)
    });
    i.checked_sub(1)
        .and_then(|i| sorted.get(i))
        .is_some_and(|b| b.contains(probe))
}

fn list_cidrs(cidrs: &[IpNet]) -> String {
    cidrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A namespace or key of a security attribute: `[0-9A-Za-z_-]+`.
fn valid_attr_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_attributes(
    ctx: &Ctx<'_>,
    raw: &RawAttributes,
    object: &str,
) -> Res<Vec<SecurityAttribute>> {
    let OrderedMap(namespaces) = &raw.value;
    // Sized once (each VNIC has its own: a vector grown from empty was
    // allocated, grown and copied into another per VNIC).
    let mut out = Vec::with_capacity(namespaces.iter().map(|(_, OrderedMap(k))| k.len()).sum());
    for (ns, keys) in namespaces {
        if !valid_attr_word(&ns.value) {
            return Err(ctx.err(
                ns.start(),
                object,
                "security_attributes",
                format!(
                    "namespace `{}` may hold only letters, digits, `-` and `_`",
                    ns.value
                ),
            ));
        }
        let OrderedMap(keys) = keys;
        for (key, RawAttrValue { value, mode }) in keys {
            if !valid_attr_word(&key.value) {
                return Err(ctx.err(
                    key.start(),
                    object,
                    "security_attributes",
                    format!(
                        "key `{}` may hold only letters, digits, `-` and `_`",
                        key.value
                    ),
                ));
            }
            let mode = match mode {
                None => Mode::Enforce,
                Some(m) => match m.value.to_ascii_lowercase().as_str() {
                    "enforce" => Mode::Enforce,
                    "audit" => Mode::Audit,
                    _ => {
                        return Err(ctx.err(
                            m.start(),
                            object,
                            "security_attributes",
                            format!("mode `{}` is not `enforce` or `audit`", m.value),
                        ));
                    }
                },
            };
            out.push(SecurityAttribute {
                attribute: Attribute::new(ns.value.clone(), key.value.clone(), value.value.clone()),
                mode,
            });
        }
    }
    Ok(out)
}

/// Registers the names and ids of one kind, rejecting duplicates.
fn build_index<'r>(
    ctx: &mut Ctx<'_>,
    kind: Kind,
    items: impl Iterator<Item = (&'r Sp<String>, Option<&'r Sp<String>>)>,
    all_ids: &mut HashMap<String, (Kind, String)>,
) -> Res<()> {
    // Sized once from the objects' count (the slice iterators give it
    // exactly), not grown and rehashed as names arrive.
    let n = items.size_hint().0;
    let mut ix = Index {
        by_name: HashMap::with_capacity_and_hasher(n, ahash::RandomState::default()),
        by_id: HashMap::default(),
    };
    let mut name_pos: Vec<Option<usize>> = Vec::with_capacity(n);
    for (i, (name, oid)) in items.enumerate() {
        // Formatted only for a message: this runs for every object.
        let object = || label(kind, &name.value);
        if name.value.trim().is_empty() {
            return Err(ctx.err(
                name.start(),
                &object(),
                "name",
                "the name is empty".to_owned(),
            ));
        }
        for (field, v) in [("name", Some(name)), ("id", oid)] {
            if let Some((i, m)) = v.and_then(|v| names::problem(field, &v.value)) {
                let at = v.and_then(|v| names::locate(ctx.text, v.start(), &v.value, i));
                return Err(ctx.err(at, &object(), field, m));
            }
        }
        if let Some(&first) = ix.by_name.get(&name.value) {
            let at = name_pos
                .get(first)
                .copied()
                .flatten()
                .map(|p| format!(" (line {})", ctx.positions.line_col(p).0))
                .unwrap_or_default();
            return Err(ctx.err(
                name.start(),
                &object(),
                "name",
                format!(
                    "another {} is already named `{}`{at}",
                    kind.word(),
                    name.value
                ),
            ));
        }
        ix.by_name.insert(name.value.clone(), i);
        name_pos.push(name.start());
        if let Some(oid) = oid {
            if oid.value.trim().is_empty() {
                return Err(ctx.err(oid.start(), &object(), "id", "the id is empty".to_owned()));
            }
            if let Some((k, n)) = all_ids.get(&oid.value) {
                return Err(ctx.err(
                    oid.start(),
                    &object(),
                    "id",
                    format!("id `{}` is already the id of {}", oid.value, label(*k, n)),
                ));
            }
            all_ids.insert(oid.value.clone(), (kind, name.value.clone()));
            ix.by_id.insert(oid.value.clone(), i);
        }
    }
    ctx.indexes.insert(kind, ix);
    Ok(())
}

/// Where a security rule's fields came from, for messages.
struct RuleIn<'r> {
    direction: Direction,
    protocol: &'r Sp<ProtoValue>,
    peer: &'r Sp<String>,
    peer_field: &'static str,
    peer_type: Option<&'r Sp<String>>,
    is_stateless: Option<bool>,
    tcp: Option<&'r Sp<RawPortOptions>>,
    udp: Option<&'r Sp<RawPortOptions>>,
    icmp: Option<&'r Sp<RawIcmpOptions>>,
    description: Option<&'r String>,
    /// The list the rule is in (`ingress_security_rules`, `rules`) and its
    /// index there: `ingress_security_rules[3]`, formatted only for a
    /// message (10^5 rules, field names for errors only).
    list: &'static str,
    index: usize,
}

impl RuleIn<'_> {
    /// `ingress_security_rules[3]`, `rules[0]`.
    fn path(&self) -> String {
        format!("{}[{}]", self.list, self.index)
    }

    /// A field of the rule: `ingress_security_rules[3].protocol`.
    fn field(&self, name: &str) -> String {
        format!("{}[{}].{name}", self.list, self.index)
    }
}

fn parse_protocol(
    ctx: &Ctx<'_>,
    p: &Sp<ProtoValue>,
    object: &str,
    field: &dyn Fn() -> String,
) -> Res<Protocol> {
    let bad = |shown: String| {
        ctx.err(
            p.start(),
            object,
            &field(),
            format!(
                "protocol `{shown}` is not `all`, `tcp`, `udp`, `icmp`, `icmpv6` or a number from 0 to 255"
            ),
        )
    };
    match &p.value {
        ProtoValue::Number(n) => u8::try_from(*n)
            .map(Protocol::Number)
            .map_err(|_| bad(n.to_string())),
        ProtoValue::Text(t) => protocol_named(t).ok_or_else(|| bad(t.clone())),
    }
}

/// A protocol written as text: `all`, `tcp`, `udp`, `icmp`, `icmpv6` (any
/// case) or a number from 0 to 255 (at most three digits). `import` checks
/// an exported rule's protocol with it before writing the rule.
pub(crate) fn protocol_named(t: &str) -> Option<Protocol> {
    let lower = t.trim().to_ascii_lowercase();
    match lower.as_str() {
        "all" => Some(Protocol::All),
        "tcp" => Some(Protocol::Number(proto::TCP)),
        "udp" => Some(Protocol::Number(proto::UDP)),
        "icmp" => Some(Protocol::Number(proto::ICMP)),
        "icmpv6" => Some(Protocol::Number(proto::ICMPV6)),
        s if !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u8>().ok().map(Protocol::Number)
        }
        _ => None,
    }
}

fn port_range(
    ctx: &Ctx<'_>,
    r: &Sp<RawPortRange>,
    object: &str,
    field: &dyn Fn() -> String,
) -> Res<PortRange> {
    let port = |v: &Sp<i64>, which: &str| {
        u16::try_from(v.value).map_err(|_| {
            ctx.err(
                v.start(),
                object,
                &format!("{}.{which}", field()),
                format!("port `{}` is outside 0-65535", v.value),
            )
        })
    };
    let min = port(&r.value.min, "min")?;
    let max = port(&r.value.max, "max")?;
    if min > max {
        return Err(ctx.err(
            r.start(),
            object,
            &field(),
            format!("min `{min}` is greater than max `{max}`"),
        ));
    }
    Ok(PortRange { min, max })
}

fn port_options(
    ctx: &Ctx<'_>,
    o: &Sp<RawPortOptions>,
    object: &str,
    field: &dyn Fn() -> String,
) -> Res<crate::model::RuleOptions> {
    let dst = match &o.value.destination_port_range {
        Some(r) => Some(port_range(ctx, r, object, &|| {
            format!("{}.destination_port_range", field())
        })?),
        None => None,
    };
    let src = match &o.value.source_port_range {
        Some(r) => Some(port_range(ctx, r, object, &|| {
            format!("{}.source_port_range", field())
        })?),
        None => None,
    };
    Ok(crate::model::RuleOptions::Ports { src, dst })
}

fn icmp_options(
    ctx: &Ctx<'_>,
    o: &Sp<RawIcmpOptions>,
    object: &str,
    field: &dyn Fn() -> String,
) -> Res<crate::model::RuleOptions> {
    let byte = |v: &Sp<i64>, which: &str| {
        u8::try_from(v.value).map_err(|_| {
            ctx.err(
                v.start(),
                object,
                &format!("{}.{which}", field()),
                format!("icmp {which} `{}` is outside 0-255", v.value),
            )
        })
    };
    let icmp_type = byte(&o.value.icmp_type, "type")?;
    let code = match &o.value.code {
        Some(c) => Some(byte(c, "code")?),
        None => None,
    };
    Ok(crate::model::RuleOptions::Icmp { icmp_type, code })
}

/// Peer types.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PeerType {
    Cidr,
    Service,
    Nsg,
}

fn peer_type(
    ctx: &Ctx<'_>,
    t: Option<&Sp<String>>,
    object: &str,
    field: &dyn Fn() -> String,
) -> Res<PeerType> {
    let Some(t) = t else {
        return Ok(PeerType::Cidr);
    };
    match t.value.to_ascii_uppercase().as_str() {
        "CIDR_BLOCK" => Ok(PeerType::Cidr),
        "SERVICE_CIDR_BLOCK" => Ok(PeerType::Service),
        "NETWORK_SECURITY_GROUP" => Ok(PeerType::Nsg),
        _ => Err(ctx.err(
            t.start(),
            object,
            &field(),
            format!(
                "`{}` is not `CIDR_BLOCK`, `SERVICE_CIDR_BLOCK` or `NETWORK_SECURITY_GROUP`",
                t.value
            ),
        )),
    }
}

/// Resolved bits the rule resolver needs from the rest of the scenario.
struct World<'w> {
    services: &'w HashMap<String, ServiceId>,
    nsg_vcns: &'w [VcnId],
    nsg_names: &'w [String],
    vcn_names: &'w [String],
}

fn resolve_rule(
    ctx: &mut Ctx<'_>,
    r: &RuleIn<'_>,
    object: &str,
    owner_vcn: VcnId,
    allow_nsg_peer: bool,
    world: &World<'_>,
) -> Res<SecurityRule> {
    let protocol = parse_protocol(ctx, r.protocol, object, &|| r.field("protocol"))?;
    let type_field = || r.field(&format!("{}_type", r.peer_field));
    let peer_field = || r.field(r.peer_field);
    let peer = match peer_type(ctx, r.peer_type, object, &type_field)? {
        PeerType::Cidr => {
            let n = parse_cidr(&r.peer.value)
                .map_err(|m| ctx.err(r.peer.start(), object, &peer_field(), m))?;
            if let Some(v4) = super::lint::ipv4_mapped(&n) {
                let peer_field = peer_field();
                ctx.warn(
                    WarningCode::Ipv4Mapped,
                    r.peer.start(),
                    super::lint::ipv4_mapped_message(
                        &format!("{object}, field `{peer_field}`"),
                        &n,
                        &v4,
                    ),
                );
            }
            Peer::Cidr(n)
        }
        PeerType::Service => match world.services.get(&r.peer.value) {
            Some(&s) => Peer::Service(s),
            None => {
                return Err(ctx.err(
                    r.peer.start(),
                    object,
                    &peer_field(),
                    format!(
                        "service label `{}` is not defined in [services]",
                        r.peer.value
                    ),
                ));
            }
        },
        PeerType::Nsg => {
            if !allow_nsg_peer {
                return Err(ctx.err(
                    r.peer_type.and_then(Sp::start),
                    object,
                    &type_field(),
                    "`NETWORK_SECURITY_GROUP` is allowed in nsg rules only".to_owned(),
                ));
            }
            let peer_field = peer_field();
            let i = ctx.lookup(Kind::Nsg, r.peer, object, &peer_field)?;
            let vcn = world.nsg_vcns.get(i).copied().unwrap_or_default();
            if vcn != owner_vcn {
                return Err(ctx.err(
                    r.peer.start(),
                    object,
                    &peer_field,
                    format!(
                        "nsg `{}` belongs to vcn `{}`, not to vcn `{}` of this nsg",
                        world.nsg_names.get(i).map_or("", String::as_str),
                        world.vcn_names.get(vcn.index()).map_or("", String::as_str),
                        world
                            .vcn_names
                            .get(owner_vcn.index())
                            .map_or("", String::as_str),
                    ),
                ));
            }
            Peer::Nsg(id(NsgId::new(i), ctx)?)
        }
    };

    // Validate every option given, then keep the one that fits the protocol.
    let tcp = r
        .tcp
        .map(|o| port_options(ctx, o, object, &|| r.field("tcp_options")))
        .transpose()?;
    let udp = r
        .udp
        .map(|o| port_options(ctx, o, object, &|| r.field("udp_options")))
        .transpose()?;
    let icmp = r
        .icmp
        .map(|o| icmp_options(ctx, o, object, &|| r.field("icmp_options")))
        .transpose()?;
    let proto_num = match protocol {
        Protocol::All => None,
        Protocol::Number(n) => Some(n),
    };
    let shown = || match protocol {
        Protocol::All => "all".to_owned(),
        Protocol::Number(n) => n.to_string(),
    };
    let mut options = crate::model::RuleOptions::None;
    let candidates = [
        (
            "tcp_options",
            tcp,
            r.tcp.and_then(Sp::start),
            proto_num == Some(proto::TCP),
        ),
        (
            "udp_options",
            udp,
            r.udp.and_then(Sp::start),
            proto_num == Some(proto::UDP),
        ),
        (
            "icmp_options",
            icmp,
            r.icmp.and_then(Sp::start),
            proto_num.is_some_and(proto::is_icmp),
        ),
    ];
    for (name, value, at, fits) in candidates {
        let Some(value) = value else { continue };
        if fits {
            options = value;
        } else {
            ctx.warn(
                WarningCode::OptionIgnored,
                at,
                format!(
                    "in {object}, {}: `{name}` does not fit protocol `{}` and is ignored",
                    r.path(),
                    shown()
                ),
            );
        }
    }
    Ok(SecurityRule {
        direction: r.direction,
        protocol,
        peer,
        stateless: r.is_stateless.unwrap_or(false),
        options,
        description: r.description.cloned(),
    })
}

/// The position of byte 0 of an inline statement's text: one past the
/// opening quote(s) of the TOML string, or, for JSON, where the encoded
/// string is found in the text (searched from `cursor`).
fn statement_start(ctx: &Ctx<'_>, s: &Sp<String>, cursor: &mut usize) -> Option<usize> {
    match ctx.format {
        Format::Toml => {
            let span = s.span()?;
            let raw = ctx.text.get(span.clone())?;
            let mut start = span.start;
            if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
                start += 3;
                // A newline right after the opening delimiter is trimmed.
                let rest = ctx.text.get(start..).unwrap_or("");
                if rest.starts_with("\r\n") {
                    start += 2;
                } else if rest.starts_with('\n') {
                    start += 1;
                }
            } else if raw.starts_with('"') || raw.starts_with('\'') {
                start += 1;
            }
            Some(start)
        }
        Format::Json => {
            // Statements appear in file order, so each search starts where
            // the last one ended. After one miss (a statement written with
            // other escapes) positions stay unknown: searching again could
            // scan the text once per statement.
            if *cursor == usize::MAX {
                return None;
            }
            let encoded = serde_json::to_string(&s.value).ok()?;
            let from = (*cursor).min(ctx.text.len());
            let Some(found) = ctx.text.get(from..).and_then(|t| t.find(&encoded)) else {
                *cursor = usize::MAX;
                return None;
            };
            let found = found + from;
            *cursor = found + encoded.len();
            Some(found + 1)
        }
    }
}

/// `dir/of/scenario.toml` + `policies/x.zpl` -> `dir/of/policies/x.zpl`.
fn display_path(scenario_file: &str, relative: &str) -> String {
    let rel = Path::new(relative);
    if rel.is_absolute() {
        return relative.to_owned();
    }
    match Path::new(scenario_file).parent() {
        _ if super::is_descriptor_path(Path::new(scenario_file)) => relative.to_owned(),
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(rel).to_string_lossy().into_owned(),
        _ => relative.to_owned(),
    }
}

/// Absolute (line, column) of a statement-relative (line, column).
fn shift(first: (u32, u32), rel: (u32, u32)) -> (u32, u32) {
    if rel.0 <= 1 {
        (first.0, first.1.saturating_add(rel.1.saturating_sub(1)))
    } else {
        (first.0.saturating_add(rel.0 - 1), rel.1)
    }
}

/// Resolves a raw scenario: `text` and `file` are its source and name (for
/// positions), `files` reads the `.zpl` files its policies name.
pub(crate) fn resolve(
    raw: &RawScenario,
    text: &str,
    file: &str,
    format: Format,
    files: &dyn SourceFiles,
) -> Res<Loaded> {
    let mut r = Resolver {
        ctx: Ctx {
            text,
            positions: Positions::new(text),
            file,
            format,
            warnings: Vec::new(),
            dropped_warnings: 0,
            indexes: HashMap::default(),
        },
        raw,
        files,
        s: Scenario {
            name: raw.name.as_ref().map(|n| n.value.clone()),
            ..Scenario::default()
        },
        service_ids: HashMap::default(),
        vcn_names: Vec::new(),
        rt_vcns: Vec::new(),
        sl_vcns: Vec::new(),
        nsg_vcns: Vec::new(),
        ip_owner: HashMap::default(),
    };
    // Order matters: each step reads what the steps before it built.
    r.options()?;
    r.index()?;
    r.services()?;
    r.vcns()?;
    r.gateways()?;
    r.owners()?;
    r.subnets()?;
    r.vnics()?;
    r.route_tables()?;
    r.security_lists()?;
    r.nsgs()?;
    r.policies()?;
    let mut warnings = r.ctx.warnings;
    if r.ctx.dropped_warnings > 0 {
        warnings.push(Warning {
            code: WarningCode::WarningsLeftOut,
            file: file.to_owned(),
            line: None,
            column: None,
            message: format!("{} more warnings left out", r.ctx.dropped_warnings),
        });
    }
    Ok(Loaded {
        scenario: r.s,
        warnings,
    })
}

/// The resolver's state: the scenario being built and the lookups later
/// steps need.
struct Resolver<'a> {
    ctx: Ctx<'a>,
    raw: &'a RawScenario,
    files: &'a dyn SourceFiles,
    /// The scenario, filled step by step.
    s: Scenario,
    service_ids: HashMap<String, ServiceId>,
    vcn_names: Vec<String>,
    /// The VCN of each route table, security list and NSG, by index.
    rt_vcns: Vec<VcnId>,
    sl_vcns: Vec<VcnId>,
    nsg_vcns: Vec<VcnId>,
    /// Which VNIC (index) holds each private IP.
    ip_owner: HashMap<IpAddr, usize>,
}

impl Resolver<'_> {
    /// Reads `[options]`.
    fn options(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &self.ctx;
        let mut options = Options::default();
        if let Some(o) = &raw.options {
            if let Some(z) = &o.zpr_only {
                options.zpr_only = match z.value.to_ascii_lowercase().as_str() {
                    "report" => ZprOnlyMode::Report,
                    "default-deny" => ZprOnlyMode::DefaultDeny,
                    _ => {
                        return Err(ctx.err(
                            z.start(),
                            "[options]",
                            "zpr_only",
                            format!("`{}` is not `report` or `default-deny`", z.value),
                        ));
                    }
                };
            }
            if let Some(m) = &o.max_statements_per_policy {
                options.max_statements_per_policy = usize::try_from(m.value).map_err(|_| {
                    ctx.err(
                        m.start(),
                        "[options]",
                        "max_statements_per_policy",
                        format!("`{}` is not a count (0 or more)", m.value),
                    )
                })?;
            }
        }
        self.s.options = options;
        Ok(())
    }

    /// Registers the names and ids of every kind, before any reference is followed.
    fn index(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let mut all_ids = HashMap::default();
        build_index(
            ctx,
            Kind::Vcn,
            raw.vcn.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::Gateway,
            raw.gateway.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::RouteTable,
            raw.route_table.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::SecurityList,
            raw.security_list.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::Nsg,
            raw.nsg.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::Subnet,
            raw.subnet.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::Vnic,
            raw.vnic.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::Policy,
            raw.zpr_policy.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        Ok(())
    }

    /// Reads `[services]`.
    fn services(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &self.ctx;
        let mut services = Vec::new();
        let mut service_ids: HashMap<String, ServiceId> = HashMap::default();
        if let Some(sv) = &raw.services {
            for (i, (name, cidrs)) in sv.value.0.iter().enumerate() {
                let object = format!("service label `{}`", name.value);
                let mut out = Vec::new();
                for c in cidrs {
                    out.push(parse_cidr(&c.value).map_err(|m| ctx.err(c.start(), &object, "", m))?);
                }
                service_ids.insert(name.value.clone(), id(ServiceId::new(i), ctx)?);
                services.push(ServiceLabel {
                    name: name.value.clone(),
                    cidrs: out,
                });
            }
        }
        self.s.services = services;
        self.service_ids = service_ids;
        Ok(())
    }

    /// Reads the VCNs and checks that no two share an address.
    fn vcns(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let mut vcns = Vec::new();
        let mut vcn_blocks: Vec<Tagged<(usize, usize)>> = Vec::new();
        for (vi, v) in raw.vcn.iter().enumerate() {
            let object = label(Kind::Vcn, &v.name.value);
            if v.cidr_blocks.is_empty() && v.ipv6_private_cidr_blocks.is_empty() {
                return Err(ctx.err(
                    v.name.start(),
                    &object,
                    "cidr_blocks",
                    "a vcn needs at least one cidr block".to_owned(),
                ));
            }
            let mut blocks = Vec::new();
            for (bi, c) in v.cidr_blocks.iter().enumerate() {
                let net = parse_cidr(&c.value)
                    .map_err(|m| ctx.err(c.start(), &object, "cidr_blocks", m))?;
                vcn_blocks.push((net, (vi, bi), vcn_blocks.len()));
                blocks.push(net);
            }
            // Private IPv6 prefixes are blocks of the VCN too (an overlap
            // with any block is reported as for `cidr_blocks`).
            let mut private_v6 = Vec::new();
            for (pi, c) in v.ipv6_private_cidr_blocks.iter().enumerate() {
                let field = "ipv6_private_cidr_blocks";
                let net =
                    parse_cidr(&c.value).map_err(|m| ctx.err(c.start(), &object, field, m))?;
                if !matches!(net, IpNet::V6(_)) {
                    return Err(ctx.err(
                        c.start(),
                        &object,
                        field,
                        format!("`{net}` is not an IPv6 prefix: list IPv4 blocks in `cidr_blocks` (an IPv4 address reaches the internet through a public IP, `public_ip`)"),
                    ));
                }
                vcn_blocks.push((net, (vi, v.cidr_blocks.len() + pi), vcn_blocks.len()));
                blocks.push(net);
                private_v6.push(net);
            }
            let mut attribute = None;
            if let Some(a) = &v.security_attributes {
                let attrs = parse_attributes(ctx, a, &object)?;
                if attrs.len() > limits::ATTRIBUTES_PER_VCN {
                    let first = attrs
                        .first()
                        .map(|a| a.attribute.to_string())
                        .unwrap_or_default();
                    ctx.warn(
                        WarningCode::OciLimit,
                        a.start(),
                        format!(
                            "{object} has {} security attributes; OCI allows at most {}: only the first, `{first}`, is used",
                            attrs.len(),
                            limits::ATTRIBUTES_PER_VCN
                        ),
                    );
                }
                attribute = attrs.into_iter().next().map(|a| a.attribute);
            }
            vcns.push(Vcn {
                name: v.name.value.clone(),
                id: v.id.as_ref().map(|s| s.value.clone()),
                cidr_blocks: blocks,
                ipv6_private_cidr_blocks: private_v6,
                attribute,
                is_zpr_only: v.is_zpr_only.unwrap_or(false),
            });
        }
        if let Some(((a, (av, ab)), (b, (bv, bb)))) = find_overlap(&mut vcn_blocks) {
            // Index `bb` runs over `cidr_blocks`, then the private IPv6 ones.
            let (at, field) = raw.vcn.get(bv).map_or((None, "cidr_blocks"), |v| {
                match bb.checked_sub(v.cidr_blocks.len()) {
                    None => (v.cidr_blocks.get(bb).and_then(Sp::start), "cidr_blocks"),
                    Some(p) => (
                        v.ipv6_private_cidr_blocks.get(p).and_then(Sp::start),
                        "ipv6_private_cidr_blocks",
                    ),
                }
            });
            let _ = ab;
            let object = label(Kind::Vcn, &vcns[bv].name);
            let msg = if av == bv {
                format!("cidr block `{b}` overlaps cidr block `{a}` of the same vcn")
            } else {
                format!(
                    "cidr block `{b}` overlaps cidr block `{a}` of vcn `{}`; an address must belong to one vcn",
                    vcns[av].name
                )
            };
            return Err(ctx.err(at, &object, field, msg));
        }
        self.vcn_names = vcns.iter().map(|v| v.name.clone()).collect();
        self.s.vcns = vcns;
        Ok(())
    }

    /// Reads the gateways.
    fn gateways(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &self.ctx;
        let mut gateways = Vec::new();
        for g in &raw.gateway {
            let object = label(Kind::Gateway, &g.name.value);
            let vcn = id(
                VcnId::new(ctx.lookup(Kind::Vcn, &g.vcn, &object, "vcn")?),
                ctx,
            )?;
            let kind = match g.kind.value.to_ascii_lowercase().as_str() {
                "internet" => GatewayKind::Internet,
                "nat" => GatewayKind::Nat,
                "service" => GatewayKind::Service,
                "drg" => GatewayKind::Drg,
                "lpg" => GatewayKind::Lpg,
                _ => {
                    return Err(ctx.err(
                        g.kind.start(),
                        &object,
                        "kind",
                        format!(
                            "`{}` is not `internet`, `nat`, `service`, `drg` or `lpg`",
                            g.kind.value
                        ),
                    ));
                }
            };
            // OCI's switches, each on the kinds that have it: a disabled
            // internet gateway, a NAT or service gateway blocking traffic.
            let mut blocked = false;
            for (field, flag, kinds, when_blocked) in [
                ("is_enabled", &g.is_enabled, "internet", false),
                ("block_traffic", &g.block_traffic, "nat` and `service", true),
            ] {
                let Some(flag) = flag else { continue };
                if !kinds.split("` and `").any(|k| k == kind.as_str()) {
                    return Err(ctx.err(
                        flag.start(),
                        &object,
                        field,
                        format!(
                            "`{field}` is a field of `{kinds}` gateways, not of a `{}` gateway",
                            kind.as_str()
                        ),
                    ));
                }
                blocked |= flag.value == when_blocked;
            }
            // A local peering gateway carries traffic only once peered.
            if let Some(st) = &g.peering_status {
                if kind != GatewayKind::Lpg {
                    return Err(ctx.err(
                        st.start(),
                        &object,
                        "peering_status",
                        format!(
                            "`peering_status` is a field of `lpg` gateways, not of a `{}` gateway",
                            kind.as_str()
                        ),
                    ));
                }
                const STATES: [&str; 5] = ["PEERED", "NEW", "PENDING", "REVOKED", "INVALID"];
                let Some(state) = STATES.iter().find(|s| s.eq_ignore_ascii_case(&st.value)) else {
                    return Err(ctx.err(
                        st.start(),
                        &object,
                        "peering_status",
                        format!(
                            "`{}` is not `PEERED`, `NEW`, `PENDING`, `REVOKED` or `INVALID`",
                            st.value
                        ),
                    ));
                };
                blocked |= *state != "PEERED";
            }
            // A stand-in (`zprsim import` made it up for a route rule's
            // target the export lacks) drops every packet whatever its
            // kind: a DRG's has no switch to say so.
            let stand_in = g.stand_in.unwrap_or(false);
            gateways.push(Gateway {
                name: g.name.value.clone(),
                id: g.id.as_ref().map(|s| s.value.clone()),
                vcn,
                kind,
                blocked: blocked || stand_in,
                stand_in,
            });
        }
        self.s.gateways = gateways;
        Ok(())
    }

    /// Finds the VCN of every route table, security list and NSG (subnets
    /// and VNICs need them before the rules are resolved).
    fn owners(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &self.ctx;
        let mut rt_vcns = Vec::new();
        for t in &raw.route_table {
            let object = label(Kind::RouteTable, &t.name.value);
            rt_vcns.push(id(
                VcnId::new(ctx.lookup(Kind::Vcn, &t.vcn, &object, "vcn")?),
                ctx,
            )?);
        }
        let mut sl_vcns = Vec::new();
        for s in &raw.security_list {
            let object = label(Kind::SecurityList, &s.name.value);
            sl_vcns.push(id(
                VcnId::new(ctx.lookup(Kind::Vcn, &s.vcn, &object, "vcn")?),
                ctx,
            )?);
        }
        let mut nsg_vcns = Vec::new();
        for n in &raw.nsg {
            let object = label(Kind::Nsg, &n.name.value);
            nsg_vcns.push(id(
                VcnId::new(ctx.lookup(Kind::Vcn, &n.vcn, &object, "vcn")?),
                ctx,
            )?);
        }
        self.rt_vcns = rt_vcns;
        self.sl_vcns = sl_vcns;
        self.nsg_vcns = nsg_vcns;
        Ok(())
    }

    /// Reads the subnets: CIDRs inside their VCN and not overlapping, route
    /// table and security lists of the same VCN.
    fn subnets(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let vcns = &self.s.vcns;
        let vcn_sorted: Vec<Vec<IpNet>> =
            vcns.iter().map(|v| sorted_cidrs(&v.cidr_blocks)).collect();
        let (rt_vcns, sl_vcns) = (&self.rt_vcns, &self.sl_vcns);
        let vcn_names = &self.vcn_names;
        let vcn_name = |v: VcnId| {
            vcn_names
                .get(v.index())
                .map_or("", String::as_str)
                .to_owned()
        };
        let mut subnets = Vec::new();
        let mut subnet_cidrs: Vec<Tagged<(usize, usize)>> = Vec::new();
        // Per subnet, per block (in `cidrs` order): where it was written.
        let mut cidr_fields: Vec<Vec<(Option<usize>, &'static str)>> = Vec::new();
        for (si, s) in raw.subnet.iter().enumerate() {
            let object = label(Kind::Subnet, &s.name.value);
            let vcn = id(
                VcnId::new(ctx.lookup(Kind::Vcn, &s.vcn, &object, "vcn")?),
                ctx,
            )?;
            let vcn_blocks = &vcns[vcn.index()].cidr_blocks;
            let mut cidrs = Vec::new();
            let first = parse_cidr(&s.cidr_block.value)
                .map_err(|m| ctx.err(s.cidr_block.start(), &object, "cidr_block", m))?;
            let mut all: Vec<(IpNet, &Sp<String>, &'static str)> =
                vec![(first, &s.cidr_block, "cidr_block")];
            for (field, list, v6) in [
                ("ipv4_cidr_blocks", &s.ipv4_cidr_blocks, false),
                ("ipv6_cidr_blocks", &s.ipv6_cidr_blocks, true),
            ] {
                for c in list {
                    let net =
                        parse_cidr(&c.value).map_err(|m| ctx.err(c.start(), &object, field, m))?;
                    if matches!(net, IpNet::V6(_)) != v6 {
                        return Err(ctx.err(
                            c.start(),
                            &object,
                            field,
                            format!(
                                "`{}` is not an {} cidr block",
                                c.value,
                                if v6 { "ipv6" } else { "ipv4" }
                            ),
                        ));
                    }
                    // OCI lists the primary block among `ipv4-cidr-blocks`.
                    if !v6 && net == first {
                        continue;
                    }
                    all.push((net, c, field));
                }
            }
            for (ci, (net, src, field)) in all.iter().enumerate() {
                if !contained(&vcn_sorted[vcn.index()], net) {
                    return Err(ctx.err(
                        src.start(),
                        &object,
                        field,
                        format!(
                            "cidr block `{net}` is outside the cidr blocks of vcn `{}` ({})",
                            vcn_name(vcn),
                            list_cidrs(vcn_blocks)
                        ),
                    ));
                }
                subnet_cidrs.push((*net, (si, ci), subnet_cidrs.len()));
                cidrs.push(*net);
            }
            cidr_fields.push(
                all.iter()
                    .map(|(_, src, field)| (src.start(), *field))
                    .collect(),
            );
            let route_table = match &s.route_table {
                Some(r) => {
                    let i = ctx.lookup(Kind::RouteTable, r, &object, "route_table")?;
                    same_vcn(
                        ctx,
                        rt_vcns[i],
                        vcn,
                        Kind::RouteTable,
                        &raw.route_table[i].name.value,
                        r,
                        &object,
                        "route_table",
                        vcn_names,
                        "subnet",
                    )?;
                    Some(id(RouteTableId::new(i), ctx)?)
                }
                None => None,
            };
            let mut security_lists = Vec::new();
            let mut seen = HashSet::default();
            for r in &s.security_lists {
                let i = ctx.lookup(Kind::SecurityList, r, &object, "security_lists")?;
                same_vcn(
                    ctx,
                    sl_vcns[i],
                    vcn,
                    Kind::SecurityList,
                    &raw.security_list[i].name.value,
                    r,
                    &object,
                    "security_lists",
                    vcn_names,
                    "subnet",
                )?;
                let sid = id(SecurityListId::new(i), ctx)?;
                if !seen.insert(sid) {
                    return Err(ctx.err(
                        r.start(),
                        &object,
                        "security_lists",
                        format!(
                            "security list `{}` is listed twice",
                            raw.security_list[i].name.value
                        ),
                    ));
                }
                security_lists.push(sid);
            }
            if security_lists.len() > limits::SECURITY_LISTS_PER_SUBNET {
                ctx.warn(
                    WarningCode::OciLimit,
                    s.security_lists
                        .first()
                        .and_then(Sp::start)
                        .or(s.name.start()),
                    format!(
                        "{object} has {} security lists; OCI allows at most {}",
                        security_lists.len(),
                        limits::SECURITY_LISTS_PER_SUBNET
                    ),
                );
            }
            let stand_in = s.stand_in.unwrap_or(false);
            // Not given (a scenario written before the twentieth
            // session): what `stand_in` with no list (no table) meant then.
            let lists_unknown = s
                .security_lists_unknown
                .unwrap_or(stand_in && security_lists.is_empty());
            let table_unknown = s
                .route_table_unknown
                .unwrap_or(stand_in && route_table.is_none());
            subnets.push(Subnet {
                name: s.name.value.clone(),
                id: s.id.as_ref().map(|x| x.value.clone()),
                vcn,
                cidrs,
                route_table,
                security_lists,
                prohibit_public_ip: s.prohibit_public_ip.unwrap_or(false),
                prohibit_internet_ingress: s.prohibit_internet_ingress.unwrap_or(false),
                stand_in,
                lists_unknown,
                table_unknown,
                vnics_unknown: s.vnics_unknown.unwrap_or(false),
            });
        }
        // Overlapping subnets: group by VCN so neighbours are compared within one VCN.
        {
            let mut by_vcn: HashMap<VcnId, Vec<Tagged<(usize, usize)>>> = HashMap::default();
            for item in &subnet_cidrs {
                by_vcn.entry(subnets[item.1.0].vcn).or_default().push(*item);
            }
            let mut found: Option<Overlap<(usize, usize)>> = None;
            for items in by_vcn.values_mut() {
                if let Some(o) = find_overlap(items) {
                    // Keep the overlap whose later element comes first in the file.
                    if found.as_ref().is_none_or(|f| (o.1).1 < (f.1).1) {
                        found = Some(o);
                    }
                }
            }
            if let Some(((a, (sa, _)), (b, (sb, cb)))) = found {
                let s = &raw.subnet[sb];
                let (at, field) = cidr_fields
                    .get(sb)
                    .and_then(|f| f.get(cb))
                    .copied()
                    .unwrap_or((s.cidr_block.start(), "cidr_block"));
                let msg = if sa == sb {
                    format!("cidr block `{b}` overlaps cidr block `{a}` of the same subnet")
                } else {
                    format!(
                        "cidr block `{b}` overlaps cidr block `{a}` of subnet `{}`",
                        subnets[sa].name
                    )
                };
                return Err(ctx.err(at, &label(Kind::Subnet, &s.name.value), field, msg));
            }
        }
        self.s.subnets = subnets;
        Ok(())
    }

    /// Reads the VNICs: addresses inside their subnet and held once, NSGs and
    /// route table of the same VCN.
    fn vnics(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let subnets = &self.s.subnets;
        // Subnet CIDRs were checked not to overlap: `contained` may search them.
        let subnet_sorted: Vec<Vec<IpNet>> =
            subnets.iter().map(|s| sorted_cidrs(&s.cidrs)).collect();
        let (rt_vcns, nsg_vcns) = (&self.rt_vcns, &self.nsg_vcns);
        let vcn_names = &self.vcn_names;
        let mut vnics = Vec::with_capacity(raw.vnic.len());
        // At least one address per vnic.
        let mut ip_owner: HashMap<IpAddr, usize> =
            HashMap::with_capacity_and_hasher(raw.vnic.len(), ahash::RandomState::default());
        // One buffer for every vnic's label (10^4 and more of them): built
        // by pushes, not `format!`, as `label` would.
        let mut object = String::new();
        // One set for every vnic's nsgs, emptied for each: not a new
        // set (its seed and first allocation) per vnic.
        let mut seen = HashSet::default();
        for (ni, v) in raw.vnic.iter().enumerate() {
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
                let ip = parse_ip(&p.value)
                    .map_err(|m| ctx.err(p.start(), &object, "private_ips", m))?;
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
                    ctx.warn(
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
            if nsgs.len() > limits::NSGS_PER_VNIC {
                ctx.warn(
                    WarningCode::OciLimit,
                    v.nsgs.first().and_then(Sp::start).or(v.name.start()),
                    format!(
                        "{object} is in {} nsgs; OCI allows at most {}",
                        nsgs.len(),
                        limits::NSGS_PER_VNIC
                    ),
                );
            }
            let mut attributes = Vec::new();
            if let Some(a) = &v.security_attributes {
                let attrs = parse_attributes(ctx, a, &object)?;
                if attrs.len() > limits::ATTRIBUTES_PER_VNIC {
                    ctx.warn(
                        WarningCode::OciLimit,
                        a.start(),
                        format!(
                            "{object} has {} security attributes; OCI allows at most {}",
                            attrs.len(),
                            limits::ATTRIBUTES_PER_VNIC
                        ),
                    );
                }
                attributes = attrs;
            }
            let route_table = match &v.route_table {
                Some(r) => {
                    let i = ctx.lookup(Kind::RouteTable, r, &object, "route_table")?;
                    same_vcn(
                        ctx,
                        rt_vcns[i],
                        vcn,
                        Kind::RouteTable,
                        &raw.route_table[i].name.value,
                        r,
                        &object,
                        "route_table",
                        vcn_names,
                        "vnic",
                    )?;
                    Some(id(RouteTableId::new(i), ctx)?)
                }
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
                        ctx.warn(
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
        self.s.vnics = vnics;
        self.ip_owner = ip_owner;
        Ok(())
    }

    /// Reads the route tables and resolves each rule's destination and target.
    fn route_tables(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let (gateways, subnets, vnics) = (&self.s.gateways, &self.s.subnets, &self.s.vnics);
        let (rt_vcns, service_ids, ip_owner) = (&self.rt_vcns, &self.service_ids, &self.ip_owner);
        let vcn_names = &self.vcn_names;
        let vcn_name = |v: VcnId| {
            vcn_names
                .get(v.index())
                .map_or("", String::as_str)
                .to_owned()
        };
        let mut route_tables = Vec::new();
        for (ti, t) in raw.route_table.iter().enumerate() {
            let object = label(Kind::RouteTable, &t.name.value);
            let vcn = rt_vcns[ti];
            if t.route_rules.len() > limits::RULES_PER_ROUTE_TABLE {
                ctx.warn(
                    WarningCode::OciLimit,
                    t.name.start(),
                    format!(
                        "{object} has {} rules; OCI allows at most {}",
                        t.route_rules.len(),
                        limits::RULES_PER_ROUTE_TABLE
                    ),
                );
            }
            let mut rules = Vec::new();
            for (ri, rule) in t.route_rules.iter().enumerate() {
                let r = &rule.value;
                let path = format!("route_rules[{ri}]");
                let service = match &r.destination_type {
                    None => false,
                    Some(dt) => match dt.value.to_ascii_uppercase().as_str() {
                        "CIDR_BLOCK" => false,
                        "SERVICE_CIDR_BLOCK" => true,
                        _ => {
                            return Err(ctx.err(
                                dt.start(),
                                &object,
                                &format!("{path}.destination_type"),
                                format!(
                                    "`{}` is not `CIDR_BLOCK` or `SERVICE_CIDR_BLOCK`",
                                    dt.value
                                ),
                            ));
                        }
                    },
                };
                let dest_field = format!("{path}.destination");
                let destination = if service {
                    match service_ids.get(&r.destination.value) {
                        Some(&s) => RouteDestination::Service(s),
                        None => {
                            return Err(ctx.err(
                                r.destination.start(),
                                &object,
                                &dest_field,
                                format!(
                                    "service label `{}` is not defined in [services]",
                                    r.destination.value
                                ),
                            ));
                        }
                    }
                } else {
                    RouteDestination::Cidr(
                        parse_cidr(&r.destination.value)
                            .map_err(|m| ctx.err(r.destination.start(), &object, &dest_field, m))?,
                    )
                };
                let ne = &r.network_entity;
                let ne_field = format!("{path}.network_entity");
                let target = if let Some(gi) =
                    ctx.index(Kind::Gateway).and_then(|ix| ix.get(&ne.value))
                {
                    let g = &gateways[gi];
                    if g.vcn != vcn {
                        return Err(ctx.err(
                            ne.start(),
                            &object,
                            &ne_field,
                            format!(
                                "gateway `{}` belongs to vcn `{}`, not to vcn `{}` of this route table",
                                g.name,
                                vcn_name(g.vcn),
                                vcn_name(vcn)
                            ),
                        ));
                    }
                    if service && g.kind != GatewayKind::Service {
                        return Err(ctx.err(
                            ne.start(),
                            &object,
                            &ne_field,
                            format!(
                                "a `SERVICE_CIDR_BLOCK` rule must target a service gateway; `{}` is a {} gateway",
                                g.name,
                                g.kind.as_str()
                            ),
                        ));
                    }
                    // OCI's NAT and service gateways carry IPv4 only
                    // (semantics §2): the console refuses such a rule, and
                    // the engines drop what it would carry.
                    if matches!(destination, RouteDestination::Cidr(IpNet::V6(_)))
                        && matches!(g.kind, GatewayKind::Nat | GatewayKind::Service)
                    {
                        ctx.warn(
                            WarningCode::Ipv4OnlyGateway,
                            ne.start(),
                            format!(
                                "{object}: {path} sends IPv6 `{}` to {} gateway `{}`, which carries IPv4 only: its traffic is dropped (NO_ROUTE); IPv6 leaves a VCN through an internet gateway, a DRG or an LPG",
                                r.destination.value,
                                g.kind.as_str(),
                                g.name
                            ),
                        );
                    }
                    RouteTarget::Gateway(id(GatewayId::new(gi), ctx)?)
                } else if let Ok(ip) = ne.value.trim().parse::<IpAddr>() {
                    let Some(&vi) = ip_owner.get(&ip) else {
                        return Err(ctx.err(
                            ne.start(),
                            &object,
                            &ne_field,
                            format!("no vnic holds private ip `{ip}`"),
                        ));
                    };
                    let owner_vcn = subnets[vnics[vi].subnet.index()].vcn;
                    if owner_vcn != vcn {
                        return Err(ctx.err(
                            ne.start(),
                            &object,
                            &ne_field,
                            format!(
                                "private ip `{ip}` of vnic `{}` is in vcn `{}`, not in vcn `{}` of this route table",
                                vnics[vi].name,
                                vcn_name(owner_vcn),
                                vcn_name(vcn)
                            ),
                        ));
                    }
                    if service {
                        return Err(ctx.err(
                            ne.start(),
                            &object,
                            &ne_field,
                            format!(
                                "a `SERVICE_CIDR_BLOCK` rule must target a service gateway, not private ip `{ip}`"
                            ),
                        ));
                    }
                    RouteTarget::PrivateIp {
                        ip,
                        vnic: id(VnicId::new(vi), ctx)?,
                    }
                } else {
                    // Neither a gateway nor an address: say what it is, if anything.
                    let message = match ctx.what_is(&ne.value) {
                        Some(k) => format!(
                            "`{}` is {}, not a gateway or a private ip",
                            ne.value,
                            k.with_article()
                        ),
                        None => format!(
                            "no gateway has the name or id `{}`, and it is not an ip address",
                            ne.value
                        ),
                    };
                    return Err(ctx.err(ne.start(), &object, &ne_field, message));
                };
                rules.push(RouteRule {
                    destination,
                    target,
                    description: r.description.clone(),
                });
            }
            route_tables.push(RouteTable {
                name: t.name.value.clone(),
                id: t.id.as_ref().map(|x| x.value.clone()),
                vcn,
                rules,
                stand_in: t.stand_in.unwrap_or(false),
            });
        }
        self.s.route_tables = route_tables;
        Ok(())
    }

    /// Reads the security lists.
    fn security_lists(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let sl_vcns = &self.sl_vcns;
        let nsg_names: Vec<String> = raw.nsg.iter().map(|n| n.name.value.clone()).collect();
        let world = World {
            services: &self.service_ids,
            nsg_vcns: &self.nsg_vcns,
            nsg_names: &nsg_names,
            vcn_names: &self.vcn_names,
        };
        let mut security_lists = Vec::new();
        for (li, l) in raw.security_list.iter().enumerate() {
            let object = label(Kind::SecurityList, &l.name.value);
            let vcn = sl_vcns[li];
            for (n, dir) in [
                (l.ingress_security_rules.len(), "ingress"),
                (l.egress_security_rules.len(), "egress"),
            ] {
                if n > limits::RULES_PER_LIST_DIRECTION {
                    ctx.warn(
                        WarningCode::OciLimit,
                        l.name.start(),
                        format!(
                            "{object} has {n} {dir} rules; OCI allows at most {}",
                            limits::RULES_PER_LIST_DIRECTION
                        ),
                    );
                }
            }
            let mut ingress = Vec::new();
            for (i, r) in l.ingress_security_rules.iter().enumerate() {
                let r = &r.value;
                let rin = RuleIn {
                    direction: Direction::Ingress,
                    protocol: &r.protocol,
                    peer: &r.source,
                    peer_field: "source",
                    peer_type: r.source_type.as_ref(),
                    is_stateless: r.is_stateless,
                    tcp: r.tcp_options.as_ref(),
                    udp: r.udp_options.as_ref(),
                    icmp: r.icmp_options.as_ref(),
                    description: r.description.as_ref(),
                    list: "ingress_security_rules",
                    index: i,
                };
                ingress.push(resolve_rule(ctx, &rin, &object, vcn, false, &world)?);
            }
            let mut egress = Vec::new();
            for (i, r) in l.egress_security_rules.iter().enumerate() {
                let r = &r.value;
                let rin = RuleIn {
                    direction: Direction::Egress,
                    protocol: &r.protocol,
                    peer: &r.destination,
                    peer_field: "destination",
                    peer_type: r.destination_type.as_ref(),
                    is_stateless: r.is_stateless,
                    tcp: r.tcp_options.as_ref(),
                    udp: r.udp_options.as_ref(),
                    icmp: r.icmp_options.as_ref(),
                    description: r.description.as_ref(),
                    list: "egress_security_rules",
                    index: i,
                };
                egress.push(resolve_rule(ctx, &rin, &object, vcn, false, &world)?);
            }
            security_lists.push(SecurityList {
                name: l.name.value.clone(),
                id: l.id.as_ref().map(|x| x.value.clone()),
                vcn,
                ingress,
                egress,
                stand_in: l.stand_in.unwrap_or(false),
            });
        }
        self.s.security_lists = security_lists;
        Ok(())
    }

    /// Reads the NSGs.
    fn nsgs(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let nsg_names: Vec<String> = raw.nsg.iter().map(|n| n.name.value.clone()).collect();
        let world = World {
            services: &self.service_ids,
            nsg_vcns: &self.nsg_vcns,
            nsg_names: &nsg_names,
            vcn_names: &self.vcn_names,
        };
        let mut nsgs = Vec::new();
        for (ni, n) in raw.nsg.iter().enumerate() {
            let object = label(Kind::Nsg, &n.name.value);
            let vcn = self.nsg_vcns[ni];
            if n.rules.len() > limits::RULES_PER_NSG {
                ctx.warn(
                    WarningCode::OciLimit,
                    n.name.start(),
                    format!(
                        "{object} has {} rules; OCI allows at most {}",
                        n.rules.len(),
                        limits::RULES_PER_NSG
                    ),
                );
            }
            let mut rules = Vec::new();
            for (i, rule) in n.rules.iter().enumerate() {
                let r = &rule.value;
                // Formatted for a message only.
                let path = || format!("rules[{i}]");
                let direction = match r.direction.value.to_ascii_uppercase().as_str() {
                    "INGRESS" => Direction::Ingress,
                    "EGRESS" => Direction::Egress,
                    _ => {
                        return Err(ctx.err(
                            r.direction.start(),
                            &object,
                            &format!("{}.direction", path()),
                            format!("`{}` is not `INGRESS` or `EGRESS`", r.direction.value),
                        ));
                    }
                };
                let (peer, peer_type, wrong, peer_field, wrong_field) = match direction {
                    Direction::Ingress => (
                        &r.source,
                        &r.source_type,
                        r.destination.as_ref().or(r.destination_type.as_ref()),
                        "source",
                        "destination",
                    ),
                    Direction::Egress => (
                        &r.destination,
                        &r.destination_type,
                        r.source.as_ref().or(r.source_type.as_ref()),
                        "destination",
                        "source",
                    ),
                };
                if let Some(w) = wrong {
                    return Err(ctx.err(
                        w.start(),
                        &object,
                        &format!("{}.{wrong_field}", path()),
                        format!(
                            "an {} rule takes `{peer_field}`, not `{wrong_field}`",
                            direction.as_str().to_ascii_lowercase()
                        ),
                    ));
                }
                let Some(peer) = peer else {
                    return Err(ctx.err(
                        rule.start(),
                        &object,
                        &path(),
                        format!(
                            "an {} rule needs `{peer_field}`",
                            direction.as_str().to_ascii_lowercase()
                        ),
                    ));
                };
                let rin = RuleIn {
                    direction,
                    protocol: &r.protocol,
                    peer,
                    peer_field,
                    peer_type: peer_type.as_ref(),
                    is_stateless: r.is_stateless,
                    tcp: r.tcp_options.as_ref(),
                    udp: r.udp_options.as_ref(),
                    icmp: r.icmp_options.as_ref(),
                    description: r.description.as_ref(),
                    list: "rules",
                    index: i,
                };
                rules.push(resolve_rule(ctx, &rin, &object, vcn, true, &world)?);
            }
            nsgs.push(Nsg {
                name: n.name.value.clone(),
                id: n.id.as_ref().map(|x| x.value.clone()),
                vcn,
                rules,
                stand_in: n.stand_in.unwrap_or(false),
            });
        }
        self.s.nsgs = nsgs;
        Ok(())
    }

    /// Reads the ZPR policies and parses their statements.
    fn policies(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let (file, files) = (ctx.file, self.files);
        let options = &self.s.options;
        let mut zpr_policies = Vec::new();
        let mut json_cursor = 0usize;
        for (pi, p) in raw.zpr_policy.iter().enumerate() {
            let object = label(Kind::Policy, &p.name.value);
            let _ = id(PolicyId::new(pi), ctx)?;
            let statements = match (&p.statements, &p.file) {
                (Some(_), Some(f)) => {
                    return Err(ctx.err(
                        f.start(),
                        &object,
                        "file",
                        "give either `statements` or `file`, not both".to_owned(),
                    ));
                }
                (None, None) => {
                    return Err(ctx.err(
                        p.name.start(),
                        &object,
                        "",
                        "a zpr policy needs `statements` or `file`".to_owned(),
                    ));
                }
                (Some(list), None) => {
                    let mut out = Vec::new();
                    for (i, s) in list.value.iter().enumerate() {
                        let field = format!("statements[{i}]");
                        let start = statement_start(ctx, s, &mut json_cursor);
                        let first = start.map_or((0, 0), |o| ctx.positions.line_col(o));
                        match zpl::parse_statement(&s.value) {
                            Ok(statement) => out.push(PolicyStatement {
                                text: s.value.clone(),
                                statement,
                                origin: Origin {
                                    file: file.to_owned(),
                                    line: first.0,
                                    column: first.1,
                                },
                            }),
                            Err(e) => {
                                let (line, column) = if start.is_some() {
                                    let (l, c) = shift(first, e.line_col(&s.value));
                                    (Some(l), Some(c))
                                } else {
                                    (None, None)
                                };
                                let rendered = if start.is_some() {
                                    e.render_at(file, &s.value, first.0, first.1)
                                } else {
                                    e.render(file, &s.value)
                                };
                                return Err(Box::new(LoadError {
                                    file: file.to_owned(),
                                    line,
                                    column,
                                    object: Some(object),
                                    field: Some(field),
                                    message: e.message(),
                                    rendered_zpl: Some(rendered),
                                }));
                            }
                        }
                    }
                    out
                }
                (None, Some(f)) => {
                    let shown = display_path(file, &f.value);
                    let content = files.read(&f.value).map_err(|e| {
                        ctx.err(
                            f.start(),
                            &object,
                            "file",
                            format!("cannot read `{shown}`: {e}"),
                        )
                    })?;
                    if content.len() > MAX_POLICY_FILE_BYTES {
                        return Err(ctx.err(
                            f.start(),
                            &object,
                            "file",
                            format!(
                                "`{shown}` is {} bytes long; at most {MAX_POLICY_FILE_BYTES} bytes are accepted",
                                content.len()
                            ),
                        ));
                    }
                    match zpl::parse_policy_text(&content) {
                        Ok(parsed) => parsed
                            .into_iter()
                            .map(|ps| PolicyStatement {
                                text: ps.text,
                                statement: ps.statement,
                                origin: Origin {
                                    file: shown.clone(),
                                    line: ps.line,
                                    column: ps.column,
                                },
                            })
                            .collect(),
                        Err(e) => {
                            let (l, c) = e.line_col(&content);
                            return Err(Box::new(LoadError {
                                file: shown.clone(),
                                line: Some(l),
                                column: Some(c),
                                object: Some(object),
                                field: Some("file".to_owned()),
                                message: e.message(),
                                rendered_zpl: Some(e.render(&shown, &content)),
                            }));
                        }
                    }
                }
            };
            if statements.len() > options.max_statements_per_policy {
                ctx.warn(
                    WarningCode::OciLimit,
                    p.name.start(),
                    format!(
                        "{object} has {} statements; the limit is {}",
                        statements.len(),
                        options.max_statements_per_policy
                    ),
                );
            }
            zpr_policies.push(ZprPolicy {
                name: p.name.value.clone(),
                id: p.id.as_ref().map(|x| x.value.clone()),
                statements,
                file: p.file.as_ref().map(|f| display_path(file, &f.value)),
                stand_in: p.stand_in.unwrap_or(false),
            });
        }
        self.s.zpr_policies = zpr_policies;
        Ok(())
    }
}

/// Checks that a referenced object is in the referrer's VCN.
#[allow(clippy::too_many_arguments)]
fn same_vcn(
    ctx: &Ctx<'_>,
    target_vcn: VcnId,
    own_vcn: VcnId,
    kind: Kind,
    target_name: &str,
    r: &Sp<String>,
    object: &str,
    field: &str,
    vcn_names: &[String],
    own_word: &str,
) -> Res<()> {
    if target_vcn == own_vcn {
        return Ok(());
    }
    let name = |v: VcnId| vcn_names.get(v.index()).map_or("", String::as_str);
    Err(ctx.err(
        r.start(),
        object,
        field,
        format!(
            "{} `{target_name}` belongs to vcn `{}`, not to vcn `{}` of this {own_word}",
            kind.word(),
            name(target_vcn),
            name(own_vcn)
        ),
    ))
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
