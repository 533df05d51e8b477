//! A VNIC's addresses: the private IPs' (delegated prefixes listed
//! address by address) and which the scenario can hold.

use super::rules::Cx;

/// Most addresses of a delegated prefix imported one by one (a /24).
pub(super) const MAX_PREFIX_ADDRESSES: u32 = 256;

/// The addresses a private IP object stands for: its `ip-address`, or,
/// with a `cidr-prefix-length` (a prefix delegated to the VNIC, as OKE
/// gives pods), every address of the prefix. Without them the pods'
/// addresses were no VNIC's, so their egress rules and ZPR's egress check
/// were skipped. An error says why a prefix cannot be listed (IPv6, or
/// wider than [`MAX_PREFIX_ADDRESSES`]).
pub(super) fn prefix_addresses(address: &str, len: Option<u64>) -> Result<Vec<String>, String> {
    let Some(len) = len else {
        return Ok(vec![address.to_owned()]);
    };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) if len == 32 => Ok(vec![a.to_string()]),
        Ok(std::net::IpAddr::V6(a)) if len == 128 => Ok(vec![a.to_string()]),
        Ok(std::net::IpAddr::V4(a)) => {
            let net = u8::try_from(len)
                .ok()
                .and_then(|l| ipnet::Ipv4Net::new(a, l).ok())
                .ok_or_else(|| {
                    format!("`cidr-prefix-length` {len} is not an IPv4 prefix length")
                })?;
            if 32 - u32::from(net.prefix_len()) > MAX_PREFIX_ADDRESSES.trailing_zeros() {
                return Err(format!(
                    "a prefix of /{len} holds more than {MAX_PREFIX_ADDRESSES} addresses"
                ));
            }
            Ok(ipnet::Ipv4AddrRange::new(net.network(), net.broadcast())
                .map(|x| x.to_string())
                .collect())
        }
        Ok(std::net::IpAddr::V6(_)) => Err(format!(
            "an IPv6 prefix (/{len}) is not listed address by address"
        )),
        Err(_) => Ok(vec![address.to_owned()]),
    }
}

/// A VNIC's addresses as the scenario can hold them: each parsed (one that
/// is not an address is left out), written once in its usual form (the
/// same address written two ways, as exports mixing `vnic get` and
/// `ipv6 list` may, is one), and inside one of its subnet's CIDR blocks
/// `nets` (one outside is left out: the scenario would not load). Each
/// address left out is a warning naming it and the VNIC `what`, so one bad
/// object does not fail the whole import.
///
/// An address outside its subnet but inside an exported VCN is refused
/// (the import fails): left out, it would be an unassigned address of
/// that VCN, on whose side no security layer runs and ZPR does not apply.
/// Outside every exported VCN it is an external address either way.
///
/// `lacks`: the address families (IPv4, IPv6) whose every block the
/// export gave the subnet malformed: an address of such a family is not
/// checked against `nets` (the caller gives it a host block,
/// `MissingSubnets::place_lacking`). `absent`: the families the export
/// gave the subnet no block of at all (included in `lacks`): an address of
/// such a family inside an exported VCN is kept for a host block, one
/// outside every VCN left out as external (since the twentieth session).
pub(super) fn usable_addresses(
    ips: Vec<String>,
    nets: Option<&[ipnet::IpNet]>,
    lacks: [bool; 2],
    absent: [bool; 2],
    vcns: &[(String, Vec<ipnet::IpNet>)],
    what: &str,
    cx: &mut Cx<'_>,
) -> Vec<String> {
    let mut seen: Vec<std::net::IpAddr> = Vec::with_capacity(ips.len());
    let mut out = Vec::with_capacity(ips.len());
    for a in ips {
        let Ok(ip) = a.parse::<std::net::IpAddr>() else {
            cx.warnings.push(format!(
                "{what}: private IP `{a}` is not an IP address; left out"
            ));
            continue;
        };
        if seen.contains(&ip) {
            continue;
        }
        let family = usize::from(ip.is_ipv6());
        if let Some(nets) = nets
            && (!lacks[family] || absent[family])
            && !nets.iter().any(|n| n.contains(&ip))
        {
            let vcn = super::super::missing::vcn_holding(vcns, ip);
            if absent[family] && vcn.is_some() {
                // A family the subnet has no block of: the caller gives
                // the address a host block (or refuses it, when another
                // subnet or VCN holds it).
                seen.push(ip);
                out.push(ip.to_string());
                continue;
            }
            if let Some(vcn) = vcn {
                cx.refused.push(format!(
                    "{what}: private IP `{a}` is outside its subnet's CIDR blocks but inside VCN `{vcn}`; left out, it would be an address of no VNIC there, with no security layer or ZPR on its side"
                ));
                continue;
            }
            cx.warnings.push(format!(
                "{what}: private IP `{a}` is outside its subnet's CIDR blocks; left out"
            ));
            continue;
        }
        seen.push(ip);
        out.push(ip.to_string());
    }
    out
}
