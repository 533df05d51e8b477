//! The model's address index (`model::AddressIndex`) gives the linear
//! search's answer (`model::endpoint_of`) on every address, and the
//! reference evaluator through it (`eval::evaluate_with`,
//! `every_layer_with`) decides as without it: on random scenarios (the
//! differential test's generator, both shapes), with addresses that
//! several VNICs hold added (the loader refuses that; the index must keep
//! the scan's precedence all the same), probed at every VNIC address,
//! unassigned and external addresses, and random ones, both families.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zprsim_bench::random::{Shape, address_pool, random_packet, random_scenario_shaped};
use zprsim_control::eval;
use zprsim_control::model::{AddressIndex, Endpoint, endpoint_of};
use zprsim_control::verdict::Context;

/// Addresses near `ip`: the same address with its last bits changed.
fn near(rng: &mut ChaCha8Rng, ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) ^ rng.random_range(0..64u32))),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) ^ rng.random_range(0..64u128))),
    }
}

fn check(seed: u64) -> Result<(usize, usize), TestCaseError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let shape = if seed % 2 == 1 {
        Shape::wide()
    } else {
        Shape::classic()
    };
    let mut s = random_scenario_shaped(&mut rng, &shape);
    // Several VNICs holding one address: a later VNIC takes an earlier
    // one's, or an earlier one a later one's (the first must still win).
    let n = s.vnics.len();
    let mut shared = 0;
    if n >= 2 {
        for _ in 0..rng.random_range(0..4) {
            let (i, j) = (rng.random_range(0..n), rng.random_range(0..n));
            if i == j {
                continue;
            }
            if let Some(&ip) = s.vnics[i].private_ips.first() {
                let at = rng.random_range(0..=s.vnics[j].private_ips.len());
                s.vnics[j].private_ips.insert(at, ip);
                shared += 1;
            }
        }
    }
    let ix = AddressIndex::new(&s);
    let mut pool = address_pool(&s);
    for k in 0..pool.len() {
        let ip = pool[k];
        pool.push(near(&mut rng, ip));
    }
    for _ in 0..64 {
        pool.push(if rng.random_bool(0.5) {
            IpAddr::V4(Ipv4Addr::from(rng.random::<u32>()))
        } else {
            IpAddr::V6(Ipv6Addr::from(rng.random::<u128>()))
        });
    }
    let mut vnics = 0;
    for &ip in &pool {
        let want = endpoint_of(&s, ip);
        prop_assert_eq!(ix.endpoint_of(&s, ip), want, "seed {} address {}", seed, ip);
        vnics += usize::from(matches!(want, Endpoint::Vnic(_)));
    }
    let pool = address_pool(&s);
    for _ in 0..40 {
        let p = random_packet(&mut rng, &pool);
        let (a, b) = (
            eval::evaluate(&s, &p, Context::First),
            eval::evaluate_with(&s, &ix, &p, Context::First),
        );
        prop_assert_eq!(a.judgement, b.judgement, "seed {} {}", seed, p);
        prop_assert_eq!(a.deciders, b.deciders, "seed {} {}", seed, p);
        prop_assert_eq!(a.layers, b.layers, "seed {} {}", seed, p);
        prop_assert_eq!(
            eval::every_layer(&s, &p),
            eval::every_layer_with(&s, &ix, &p),
            "seed {} {}",
            seed,
            p
        );
    }
    Ok((vnics, shared))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_address_index_answers_as_the_linear_search(seed in any::<u64>()) {
        let (vnics, _) = check(seed)?;
        // Not vacuous: VNIC addresses were among those asked.
        prop_assert!(vnics > 0);
    }
}

/// Addresses several VNICs hold were drawn, over a range of seeds.
#[test]
fn shared_addresses_are_drawn() {
    let mut shared = 0;
    for seed in 0..32 {
        shared += check(seed).unwrap_or_else(|e| panic!("{e}")).1;
    }
    assert!(shared > 10, "{shared}");
}
