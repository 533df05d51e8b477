//! Per-packet lookup: `Compiled::judge` (two address classes, the service
//! class, the tables) over a pre-generated packet array, for tables built
//! from each preset; plus `judge_classes` alone (classes precomputed) and
//! `service_class` alone. Reported per packet (`Throughput::Elements`).
//!
//! `cargo bench -p zprsim-bench --bench lookup` runs small, medium and
//! large; `ZPRSIM_BENCH_SIZES=small,beyond` picks others. Under
//! `cargo test --benches` only `small` runs (once).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zprsim_bench::scale::{self, ScaleSpec};
use zprsim_control::compile::{ClassId, Compiled, Config};
use zprsim_control::packet::Packet;
use zprsim_control::verdict::{Context, Verdict};

/// Packets per iteration: enough to spread over the whole table, so cache
/// misses count as they would on real traffic.
const PACKETS: usize = 1 << 16;

fn build(name: &str) -> Option<(Compiled, Vec<Packet>)> {
    let spec = ScaleSpec::preset(name)?;
    let s = scale::scenario(&spec);
    let c = match Compiled::new(&s, &Config::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: does not compile: {e}");
            return None;
        }
    };
    let st = c.stats();
    eprintln!(
        "{name}: {} address classes, {} service classes, {} security profiles, {} zpr profiles, {} table bytes, compiled in {:.3} s",
        st.address_classes,
        st.service_classes,
        st.security_profiles,
        st.zpr_profiles,
        st.table_bytes,
        st.compile_s
    );
    let ps = scale::packets(&s, PACKETS, 1);
    Some((c, ps))
}

fn lookup(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("judge");
    g.measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(PACKETS as u64));
    let mut built = Vec::new();
    for name in scale::bench_presets() {
        if let Some((c, ps)) = build(&name) {
            g.bench_function(name.as_str(), |b| {
                b.iter(|| {
                    let mut allowed = 0u32;
                    for p in &ps {
                        allowed += u32::from(
                            c.judge(black_box(p), Context::First).judgement.verdict
                                == Verdict::Allow,
                        );
                    }
                    allowed
                });
            });
            built.push((name, c, ps));
        }
    }
    g.finish();

    let mut g = cr.benchmark_group("judge_classes");
    g.measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(PACKETS as u64));
    for (name, c, ps) in &built {
        let classes: Vec<(ClassId, ClassId, u32)> = ps
            .iter()
            .map(|p| {
                (
                    c.address_class(p.src),
                    c.address_class(p.dst),
                    c.service_class(p.proto, p.l4),
                )
            })
            .collect();
        g.bench_function(name.as_str(), |b| {
            b.iter(|| {
                let mut allowed = 0u32;
                for &(s, d, v) in &classes {
                    let f =
                        c.judge_classes(black_box(s), black_box(d), black_box(v), Context::First);
                    allowed += u32::from(f.judgement.verdict == Verdict::Allow);
                }
                allowed
            });
        });
    }
    g.finish();

    let mut g = cr.benchmark_group("service_class");
    g.measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(PACKETS as u64));
    for (name, c, ps) in &built {
        g.bench_function(name.as_str(), |b| {
            b.iter(|| {
                let mut acc = 0u32;
                for p in ps {
                    acc = acc.wrapping_add(c.service_class(black_box(p.proto), black_box(p.l4)));
                }
                acc
            });
        });
    }
    g.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
