//! The packet `explain` judges, read from its endpoints and flags: an
//! address or a VNIC at each end, a protocol and its ports or ICMP type.

use std::net::IpAddr;

use super::ExplainError;
use crate::model::{Scenario, Vnic, proto};
use crate::packet::{L4, Packet};

/// What the command line asks without a capture: the endpoints and
/// protocol as given, and the flags that shape the packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// `--src`: an address, `vnic:NAME`, or the name or id (OCID) of a VNIC.
    pub src: Option<&'a str>,
    /// `--dst`, as `src`.
    pub dst: Option<&'a str>,
    /// `--proto`: tcp, udp, icmp, icmpv6 or a number.
    pub proto: Option<&'a str>,
    /// `--sport` (default 49152, an ephemeral port).
    pub sport: Option<u16>,
    /// `--dport` (required for TCP and UDP).
    pub dport: Option<u16>,
    /// `--icmp-type` (default: echo request).
    pub icmp_type: Option<u8>,
    /// `--icmp-code` (default 0).
    pub icmp_code: Option<u8>,
    /// `--fragment`: a non-first IP fragment.
    pub fragment: bool,
    /// `--reply`: judge the reply of the flow.
    pub reply: bool,
}

/// Parses a protocol name or number.
///
/// # Errors
/// Neither a name known nor a number from 0 to 255.
pub fn parse_proto(p: &str) -> Result<u8, ExplainError> {
    match p.to_ascii_lowercase().as_str() {
        "tcp" => Ok(proto::TCP),
        "udp" => Ok(proto::UDP),
        "icmp" => Ok(proto::ICMP),
        "icmpv6" => Ok(proto::ICMPV6),
        n => n.parse::<u8>().map_err(|_| {
            ExplainError::Input(format!(
                "error: invalid protocol `{p}`: expected `tcp`, `udp`, `icmp`, `icmpv6` or a number from 0 to 255"
            ))
        }),
    }
}

/// Checks that every flag given fits the protocol: a flag that would be
/// silently ignored is a usage error.
///
/// # Errors
/// The first flag that does not fit.
pub fn check_flags(a: &Request<'_>, protocol: u8) -> Result<(), ExplainError> {
    let proto_text = a.proto.unwrap_or_default();
    let given = |flag: &str, set: bool| set.then(|| flag.to_owned());
    let port_flags = [
        given("--sport", a.sport.is_some()),
        given("--dport", a.dport.is_some()),
    ];
    let icmp_flags = [
        given("--icmp-type", a.icmp_type.is_some()),
        given("--icmp-code", a.icmp_code.is_some()),
    ];
    if a.fragment {
        if let Some(f) = port_flags.iter().chain(icmp_flags.iter()).flatten().next() {
            return Err(ExplainError::Input(format!(
                "error: `{f}` does not go with `--fragment`: a non-first fragment has no ports or ICMP type"
            )));
        }
        return Ok(());
    }
    if !proto::has_ports(protocol)
        && let Some(f) = port_flags.iter().flatten().next()
    {
        return Err(ExplainError::Input(format!(
            "error: `{f}` is only for tcp and udp, not `{proto_text}`"
        )));
    }
    if !proto::is_icmp(protocol)
        && let Some(f) = icmp_flags.iter().flatten().next()
    {
        return Err(ExplainError::Input(format!(
            "error: `{f}` is only for icmp and icmpv6, not `{proto_text}`"
        )));
    }
    Ok(())
}

/// An endpoint of the command line: an address, `vnic:NAME` or a bare VNIC
/// name or id (the OCID a flow log names). A VNIC stands for its first
/// private IP of the family `want`
/// (the other side's, when that side is an address), else its first.
fn resolve(
    s: &Scenario,
    flag: &str,
    text: &str,
    want: Option<bool>,
) -> Result<IpAddr, ExplainError> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(ip);
    }
    let name = text.strip_prefix("vnic:").unwrap_or(text);
    let Some(v) = named_vnic(s, text) else {
        return Err(ExplainError::Input(format!(
            "error: `{flag} {text}`: not an address, and no VNIC is named `{name}`"
        )));
    };
    let pick = want.and_then(|v4| v.private_ips.iter().find(|ip| ip.is_ipv4() == v4));
    pick.or_else(|| v.private_ips.first())
        .copied()
        .ok_or_else(|| {
            ExplainError::Input(format!(
                "error: `{flag} {text}`: VNIC `{name}` has no address"
            ))
        })
}

/// The VNIC an endpoint of the command line names (`vnic:NAME`, a bare
/// name or id, as [`resolve`] reads it); `None` for an address.
pub(super) fn named_vnic<'s>(s: &'s Scenario, text: &str) -> Option<&'s Vnic> {
    if text.parse::<IpAddr>().is_ok() {
        return None;
    }
    let name = text.strip_prefix("vnic:").unwrap_or(text);
    s.vnics
        .iter()
        .find(|v| v.name == name)
        .or_else(|| s.vnics.iter().find(|v| v.id.as_deref() == Some(name)))
}

/// The packet `a` describes in `s`: its ends resolved, its flags checked
/// against the protocol.
///
/// # Errors
/// A missing or bad endpoint, protocol or flag; ends of two address
/// families; ICMP over IPv6 or ICMPv6 over IPv4.
pub fn packet(a: &Request<'_>, s: &Scenario) -> Result<Packet, ExplainError> {
    let (Some(src_text), Some(dst_text), Some(proto_text)) = (a.src, a.dst, a.proto) else {
        return Err(ExplainError::Input(
            "error: `--src`, `--dst` and `--proto` are required without `--capture`".into(),
        ));
    };
    let protocol = parse_proto(proto_text)?;
    check_flags(a, protocol)?;
    let src_ip = src_text.parse::<IpAddr>().ok();
    let dst_ip = dst_text.parse::<IpAddr>().ok();
    // ICMP travels over IPv4 and ICMPv6 over IPv6: a dual-stack VNIC
    // named on both sides stands for its address of that family.
    let icmp_v4 = match protocol {
        proto::ICMP => Some(true),
        proto::ICMPV6 => Some(false),
        _ => None,
    };
    let src = resolve(
        s,
        "--src",
        src_text,
        dst_ip.map(|ip| ip.is_ipv4()).or(icmp_v4),
    )?;
    let dst = resolve(
        s,
        "--dst",
        dst_text,
        Some(src_ip.map_or(src.is_ipv4(), |ip| ip.is_ipv4())),
    )?;
    if src.is_ipv4() != dst.is_ipv4() {
        // An IPv4-mapped IPv6 address (`::ffff:10.0.1.10`, as some tools
        // print IPv4 peers) is never on a VCN's wire: say which to write.
        let mapped = [src, dst].into_iter().find_map(|ip| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(|v4| (v6, v4)),
            IpAddr::V4(_) => None,
        });
        let hint = mapped.map_or(String::new(), |(v6, v4)| {
            format!(" (`{v6}` is IPv4-mapped: for IPv4 traffic write `{v4}`)")
        });
        return Err(ExplainError::Input(format!(
            "error: `{src}` and `{dst}` are not of the same address family{hint}"
        )));
    }
    // A loopback address never leaves its host, so no VCN layer sees it;
    // judged, it would read as an external address (with a NAT
    // return-path reason), while `replay` counts such captured packets
    // as `loopback`, not judged (docs/semantics.md, 2.2).
    if let Some(ip) = [src, dst].into_iter().find(IpAddr::is_loopback) {
        let flag = if ip == src { "--src" } else { "--dst" };
        return Err(ExplainError::Input(format!(
            "error: `{flag} {ip}` is a loopback address: such a packet never leaves its host, so no route table, security rule or ZPR policy judges it (replay counts captured ones as `loopback`, not judged)"
        )));
    }
    // Link-local multicast, broadcast and IGMP stay on their link: replay
    // counts captured ones as `link_local`, not judged (docs/semantics.md
    // 2.2, decision 35). Routable multicast and a subnet's broadcast
    // address are judged: they drop at route.
    if let Some(what) = crate::link_scope::link_scope(dst, protocol) {
        return Err(ExplainError::Input(format!(
            "error: `--dst {dst}` is {what}: such a packet never leaves its link, so no route table, security rule or ZPR policy judges it (replay counts captured ones as `link_local`, not judged)"
        )));
    }
    // The other pairing is no packet a VNIC sends (flow-log records and
    // `verify` refuse it too); judged, it would match the wrong rules.
    if let Some(v4) = icmp_v4
        && src.is_ipv4() != v4
    {
        let (other, family) = if v4 { ("icmpv6", 6) } else { ("icmp", 4) };
        return Err(ExplainError::Input(format!(
            "error: `--proto {proto_text}` between IPv{family} addresses (`{src}`, `{dst}`): {} travels over IPv{}; for IPv{family} write `--proto {other}`",
            if v4 { "ICMP" } else { "ICMPv6" },
            if v4 { 4 } else { 6 },
        )));
    }
    let l4 = if a.fragment {
        L4::Fragment
    } else if proto::has_ports(protocol) {
        let dport = a.dport.ok_or_else(|| {
            ExplainError::Input(format!(
                "error: `--dport` is required for protocol `{proto_text}`"
            ))
        })?;
        L4::Ports {
            sport: a.sport.unwrap_or(49152),
            dport,
        }
    } else if proto::is_icmp(protocol) {
        let default = if protocol == proto::ICMP { 8 } else { 128 };
        L4::Icmp {
            icmp_type: a.icmp_type.unwrap_or(default),
            code: a.icmp_code.unwrap_or(0),
        }
    } else {
        L4::Opaque
    };
    Ok(Packet {
        src,
        dst,
        proto: protocol,
        l4,
    })
}
