//! Compile time: `Compiled::new` on scenarios generated from each preset
//! (generation is outside the timed part). `large` takes seconds per
//! compile, so it runs 10 samples.
//!
//! Sizes: `ZPRSIM_BENCH_SIZES`, else small, medium and large under
//! `cargo bench`, small only under `cargo test --benches`. Peak memory is
//! not measured here: see `docs/benchmarks.md` (`/usr/bin/time -v
//! zprsim check`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use zprsim_bench::scale::{self, ScaleSpec};
use zprsim_control::compile::{Compiled, Config};

fn compile(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("compile");
    for name in scale::bench_presets() {
        let Some(spec) = ScaleSpec::preset(&name) else {
            continue;
        };
        let s = scale::scenario(&spec);
        let cfg = Config::default();
        if let Err(e) = Compiled::new(&s, &cfg) {
            eprintln!("{name}: does not compile: {e}");
            continue;
        }
        let heavy = matches!(name.as_str(), "large" | "beyond");
        g.sample_size(if heavy { 10 } else { 20 });
        g.measurement_time(Duration::from_secs(if heavy { 20 } else { 5 }));
        g.warm_up_time(Duration::from_secs(1));
        g.bench_function(name.as_str(), |b| {
            b.iter(|| Compiled::new(black_box(&s), &cfg).map(|c| c.rule_count()))
        });
    }
    g.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
