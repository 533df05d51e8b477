//! Addresses and CIDRs: parsing, overlaps, containment, lists for messages.

use std::net::IpAddr;

use ipnet::IpNet;

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

pub(super) fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not an ip address"))
}

/// Whether `a` and `b` share an address (for prefixes: one contains the other).
pub(super) fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// A CIDR with a tag saying whose it is and its rank in file order.
pub(super) type Tagged<T> = (IpNet, T, usize);

/// Two overlapping CIDRs with their tags, earlier in file order first.
pub(super) type Overlap<T> = ((IpNet, T), (IpNet, T));

/// A sort key that puts a CIDR right before the CIDRs it contains.
pub(super) fn cidr_key(n: &IpNet) -> (bool, u128, u8) {
    match n {
        IpNet::V4(v) => (false, u128::from(u32::from(v.network())), v.prefix_len()),
        IpNet::V6(v) => (true, u128::from(v.network()), v.prefix_len()),
    }
}

/// Finds two overlapping CIDRs among `items` (tagged with a group and a
/// file-order rank) in O(n log n): sorted by start and then by prefix length,
/// any overlap shows between neighbours. Returns (earlier, later) by rank.
pub(super) fn find_overlap<T: Copy>(items: &mut [Tagged<T>]) -> Option<Overlap<T>> {
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
pub(super) fn sorted_cidrs(cidrs: &[IpNet]) -> Vec<IpNet> {
    let mut v = cidrs.to_vec();
    v.sort_by_key(cidr_key);
    v
}

/// Whether a CIDR of `sorted` (non-overlapping, sorted by [`cidr_key`])
/// contains `probe`, in O(log n): only the last block starting at or before
/// the probe can (any later one would start inside it).
pub(super) fn contained(sorted: &[IpNet], probe: &IpNet) -> bool {
    let (family, start, _) = cidr_key(probe);
    let i = sorted.partition_point(|b| {
        let (f, s, _) = cidr_key(b);
        (f, s) <= (family, start)
    });
    i.checked_sub(1)
        .and_then(|i| sorted.get(i))
        .is_some_and(|b| b.contains(probe))
}

pub(super) fn list_cidrs(cidrs: &[IpNet]) -> String {
    cidrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
