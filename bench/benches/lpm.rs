//! Address classification alone: `Compiled::address_class` (the LPM trie
//! walk) for the source and destination of each pre-generated packet,
//! reported per address, for tables built from each preset; IPv4 and IPv6
//! addresses separately.
//!
//! Sizes as in `lookup.rs`: `ZPRSIM_BENCH_SIZES`, else small..large under
//! `cargo bench`, small only under `cargo test --benches`.

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zprsim_bench::scale::{self, ScaleSpec};
use zprsim_control::compile::{Compiled, Config};

const PACKETS: usize = 1 << 16;

fn lpm(cr: &mut Criterion) {
    let mut built = Vec::new();
    for name in scale::bench_presets() {
        let Some(spec) = ScaleSpec::preset(&name) else {
            continue;
        };
        let s = scale::scenario(&spec);
        let c = match Compiled::new(&s, &Config::default()) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{name}: does not compile: {e}");
                continue;
            }
        };
        let addrs: Vec<IpAddr> = scale::packets(&s, PACKETS, 1)
            .iter()
            .flat_map(|p| [p.src, p.dst])
            .collect();
        built.push((name, c, addrs));
    }
    for (family, v6) in [("address_class_v4", false), ("address_class_v6", true)] {
        let mut g = cr.benchmark_group(family);
        g.measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        for (name, c, addrs) in &built {
            let mine: Vec<IpAddr> = addrs
                .iter()
                .copied()
                .filter(|a| a.is_ipv6() == v6)
                .collect();
            if mine.is_empty() {
                continue;
            }
            g.throughput(Throughput::Elements(mine.len() as u64));
            g.bench_function(name.as_str(), |b| {
                b.iter(|| {
                    let mut acc = 0u32;
                    for &a in &mine {
                        acc = acc.wrapping_add(c.address_class(black_box(a)).raw());
                    }
                    acc
                });
            });
        }
        g.finish();
    }
}

criterion_group!(benches, lpm);
criterion_main!(benches);
