//! `VirtualRouters::new` against the plain definition (every VNIC in file
//! order, the first to hold an address takes it, its subnet's routers not
//! held by a VNIC, then a sort), on a scenario with the cases the ordered
//! build must get right.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use super::{VirtualRouters, router_of};
use crate::ids::SubnetId;
use crate::load::from_toml_str;
use crate::model::Scenario;

/// The definition, one VNIC at a time (the build before the thirty-fourth
/// session).
fn plain(s: &Scenario) -> Vec<u64> {
    let held: HashSet<IpAddr> = s
        .vnics
        .iter()
        .flat_map(|v| v.private_ips.iter().copied())
        .collect();
    let mut seen: HashSet<Ipv4Addr> = HashSet::new();
    let mut pairs = Vec::new();
    for v in &s.vnics {
        let Some(sn) = s.subnets.get(v.subnet.index()) else {
            continue;
        };
        let routers: Vec<u32> = sn
            .cidrs
            .iter()
            .filter_map(router_of)
            .filter(|r| !held.contains(&IpAddr::V4(*r)))
            .map(u32::from)
            .collect();
        for ip in &v.private_ips {
            if let IpAddr::V4(a) = ip
                && seen.insert(*a)
            {
                let a = u64::from(u32::from(*a)) << 32;
                pairs.extend(routers.iter().map(|r| a | u64::from(*r)));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

const SCENARIO: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.1.0.0/16", "fd00::/48"]
[[security_list]]
name = "closed"
vcn = "v"
[[subnet]]
name = "s"
vcn = "v"
cidr_block = "10.1.1.0/24"
security_lists = ["closed"]
[[subnet]]
name = "t"
vcn = "v"
cidr_block = "10.1.2.0/24"
security_lists = ["closed"]
[[vnic]]
name = "a"
subnet = "s"
private_ips = ["10.1.1.10", "10.1.1.11"]
[[vnic]]
name = "b"
subnet = "t"
private_ips = ["10.1.2.20"]
[[vnic]]
name = "c"
subnet = "t"
private_ips = ["10.1.2.1"]
[[vnic]]
name = "d"
subnet = "s"
private_ips = ["10.1.1.5"]
"#;

#[test]
fn the_ordered_build_equals_the_definition() {
    let mut s = from_toml_str(SCENARIO, "s.toml").unwrap().scenario;
    // What the loader refuses but the build must still get right: an
    // address held by two VNICs of different subnets (the first in file
    // order takes it, whatever its address order), subnets of several
    // blocks given out of order and twice, a /31 and an IPv6 block (no
    // router), a router address held by a VNIC (`c` holds t's), and a
    // VNIC whose subnet is not in the scenario (it takes no address).
    s.subnets[0].cidrs = vec![
        "10.1.1.0/24".parse().unwrap(),
        "10.1.9.0/24".parse().unwrap(),
        "10.1.3.0/24".parse().unwrap(),
        "10.1.9.0/24".parse().unwrap(),
        "10.1.7.0/31".parse().unwrap(),
        "fd00::/64".parse().unwrap(),
    ];
    s.subnets[1].cidrs.push("10.1.4.0/30".parse().unwrap());
    let mut e = s.vnics[1].clone();
    e.name = "e".into();
    e.private_ips = vec!["10.1.1.5".parse().unwrap(), "fd00::5".parse().unwrap()];
    s.vnics.insert(0, e.clone());
    let mut lost = e;
    lost.name = "lost".into();
    lost.subnet = SubnetId::new(99).unwrap();
    lost.private_ips = vec!["10.1.2.20".parse().unwrap()];
    s.vnics.insert(0, lost);
    let built = VirtualRouters::new(&s).pairs;
    assert_eq!(built, plain(&s));
    let pair = |v: [u8; 4], r: [u8; 4]| {
        u64::from(u32::from(Ipv4Addr::from(v))) << 32 | u64::from(u32::from(Ipv4Addr::from(r)))
    };
    // 10.1.1.5 is e's (subnet t): t's routers, not s's; t's own first
    // host 10.1.2.1 is c's, so only its second block's router.
    assert!(built.contains(&pair([10, 1, 1, 5], [10, 1, 4, 1])));
    assert!(!built.contains(&pair([10, 1, 1, 5], [10, 1, 1, 1])));
    assert!(!built.contains(&pair([10, 1, 1, 5], [10, 1, 2, 1])));
    // a's addresses: s's three routers, once each.
    for r in [[10, 1, 1, 1], [10, 1, 3, 1], [10, 1, 9, 1]] {
        assert!(built.contains(&pair([10, 1, 1, 10], r)));
    }
    // a: 2 x 3; e (10.1.1.5), b (10.1.2.20), c (10.1.2.1): 1 each.
    assert_eq!(built.len(), 2 * 3 + 3);
    assert!(built.windows(2).all(|w| w[0] < w[1]));
}
