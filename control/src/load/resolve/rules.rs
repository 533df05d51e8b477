//! Security rules: protocol, ports, ICMP options and the peer (a CIDR, a
//! service label or an NSG), for security lists and NSGs alike.

use super::addresses::parse_cidr;
use super::{Ctx, HashMap, Kind, Res, Warn, id};
use crate::ids::{NsgId, ServiceId, VcnId};
use crate::load::WarningCode;
use crate::load::raw::{ProtoValue, RawIcmpOptions, RawPortOptions, RawPortRange, Sp};
use crate::model::{Direction, Peer, PortRange, Protocol, SecurityRule, proto};

/// Where a security rule's fields came from, for messages.
pub(super) struct RuleIn<'r> {
    pub(super) direction: Direction,
    pub(super) protocol: &'r Sp<ProtoValue>,
    pub(super) peer: &'r Sp<String>,
    pub(super) peer_field: &'static str,
    pub(super) peer_type: Option<&'r Sp<String>>,
    pub(super) is_stateless: Option<bool>,
    pub(super) tcp: Option<&'r Sp<RawPortOptions>>,
    pub(super) udp: Option<&'r Sp<RawPortOptions>>,
    pub(super) icmp: Option<&'r Sp<RawIcmpOptions>>,
    pub(super) description: Option<&'r String>,
    /// The list the rule is in (`ingress_security_rules`, `rules`) and its
    /// index there: `ingress_security_rules[3]`, formatted only for a
    /// message (10^5 rules, field names for errors only).
    pub(super) list: &'static str,
    pub(super) index: usize,
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

pub(super) fn parse_protocol(
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

pub(super) fn port_range(
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

pub(super) fn port_options(
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

pub(super) fn icmp_options(
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
pub(super) enum PeerType {
    Cidr,
    Service,
    Nsg,
}

pub(super) fn peer_type(
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
pub(super) struct World<'w> {
    pub(super) services: &'w HashMap<String, ServiceId>,
    pub(super) nsg_vcns: &'w [VcnId],
    pub(super) nsg_names: &'w [String],
    pub(super) vcn_names: &'w [String],
}

pub(super) fn resolve_rule(
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
            if let Some(v4) = crate::load::lint::ipv4_mapped(&n) {
                let peer_field = peer_field();
                ctx.warn(
                    WarningCode::Ipv4Mapped,
                    r.peer.start(),
                    crate::load::lint::ipv4_mapped_message(
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
