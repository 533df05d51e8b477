//! `zprsim-judge-probe`: CPU time per first-packet judgement, the number
//! the issue-9 targets are stated in, measured on the bench's random
//! packets (`scale::packets`, 2^16 per preset, seed 1) with the thread's
//! own CPU clock (`CLOCK_THREAD_CPUTIME_ID`), so time the shared
//! machine gives to other processes is not counted.
//!
//! ```text
//! zprsim-judge-probe small,large,wide --rounds 7
//! ```
//!
//! For each preset it prints ns per packet (the least of the rounds) of
//! `judge` (IPv4 and IPv6 packets apart), `judge_classes`
//! (classes precomputed), `address_class` of IPv4 and of IPv6 addresses, and
//! a checksum of every judgement (verdict, stage, tracking, audit, rule
//! ids): two builds that print the same checksum judged every packet alike.
//! Run an old and a new build alternately to compare them under the same
//! load. `--hot N` judges only the packets between the first N distinct
//! addresses (repeated to the same count): the same code over a smaller
//! part of the tables, to see how the time follows the footprint.

use std::process::ExitCode;

use clap::Parser;
use zprsim_bench::scale::{self, ScaleSpec};
use zprsim_control::compile::{Compiled, Config, Fast};
use zprsim_control::packet::Packet;
use zprsim_control::verdict::Context;

#[derive(Debug, Parser)]
#[command(
    name = "zprsim-judge-probe",
    about = "CPU time per first-packet judgement"
)]
struct Args {
    /// Presets, comma-separated.
    #[arg(value_delimiter = ',', default_value = "small,large,wide")]
    presets: Vec<String>,
    /// Rounds of each measurement (the least is printed).
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    /// Measure only this column (judge, judge-v4, judge-v6, classes,
    /// addr-v4, addr-v6), e.g. under `perf stat`; the others print NaN.
    #[arg(long)]
    only: Option<String>,
    /// Passes over the packets per round.
    #[arg(long, default_value_t = 8)]
    passes: usize,
    /// Print the bytes of each table part (layer, part) per preset
    /// instead of measuring.
    #[arg(long)]
    sizes: bool,
    /// Judge only packets between the first N distinct addresses of the
    /// random packets (repeated to the same count), to see how the time
    /// grows with the part of the tables the traffic touches (0: all).
    #[arg(long, default_value_t = 0)]
    hot: usize,
    /// Layers whose u32 cells take at least this many bytes get u16 cells
    /// (`Config::narrow_cells_from_bytes`; 0: every layer, a huge value:
    /// none), to compare the layouts.
    #[arg(long)]
    narrow_from: Option<usize>,
}

/// Prints the byte breakdown of a compiled preset, largest first within
/// the fixed layer order, with the share of the total.
fn print_sizes(name: &str, c: &Compiled) {
    let parts = c.byte_breakdown();
    let total: usize = parts.iter().map(|p| p.2).sum();
    println!("{name}: {total} bytes ({:.1} MB)", total as f64 / 1e6);
    for (layer, part, b) in parts {
        println!(
            "  {layer:12} {part:9} {b:>12}  {:5.1}%",
            100.0 * b as f64 / total.max(1) as f64
        );
    }
}

/// This thread's CPU time in ns (`CLOCK_THREAD_CPUTIME_ID`: exact, unlike
/// the tick-granular schedstat).
#[allow(unsafe_code)] // one libc call, see SAFETY
fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
    if rc != 0 {
        return 0;
    }
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// Least ns per item of `f` over the rounds (the round least disturbed by
/// the other processes of a shared machine) (which handles `items` items per call).
fn measure(
    only: Option<&str>,
    name: &str,
    (rounds, passes): (usize, usize),
    items: usize,
    mut f: impl FnMut() -> u64,
) -> f64 {
    if only.is_some_and(|o| o != name) {
        return f64::NAN;
    }
    let mut sink = 0u64;
    sink = sink.wrapping_add(f()); // warm-up
    let mut v: Vec<f64> = (0..rounds.max(1))
        .map(|_| {
            let t = cpu_ns();
            for _ in 0..passes.max(1) {
                sink = sink.wrapping_add(f());
            }
            let dt = cpu_ns().saturating_sub(t);
            dt as f64 / (passes.max(1) * items.max(1)) as f64
        })
        .collect();
    std::hint::black_box(sink);
    v.sort_by(f64::total_cmp);
    v[0]
}

/// Folds one judgement into a checksum (FNV-1a over its fields).
fn fold(h: u64, f: &Fast) -> u64 {
    let j = f.judgement;
    let t = j.tracking;
    let mut words = vec![
        u64::from(j.verdict == zprsim_control::verdict::Verdict::Allow),
        j.stage.map_or(9, |s| s as u64),
        u64::from(j.zpr_audit),
        u64::from(t.at_src)
            | u64::from(t.at_dst) << 1
            | u64::from(t.zpr) << 2
            | u64::from(t.zpr_audit) << 3,
    ];
    words.extend(
        f.rules
            .iter()
            .map(|r| r.map_or(u64::MAX, |x| u64::from(x.raw()))),
    );
    words
        .into_iter()
        .fold(h, |h, w| (h ^ w).wrapping_mul(0x100_0000_01b3))
}

/// The packets whose source and destination are both among the first
/// `hot` distinct addresses of `ps` (in packet order), repeated to the
/// length of `ps`; all of `ps` when `hot` is 0 or no packet qualifies.
fn hot_packets(ps: Vec<Packet>, hot: usize) -> Vec<Packet> {
    if hot == 0 {
        return ps;
    }
    let mut seen = std::collections::HashSet::new();
    for p in &ps {
        for a in [p.src, p.dst] {
            if seen.len() < hot {
                seen.insert(a);
            }
        }
    }
    let keep: Vec<Packet> = ps
        .iter()
        .filter(|p| seen.contains(&p.src) && seen.contains(&p.dst))
        .copied()
        .collect();
    if keep.is_empty() {
        return ps;
    }
    keep.iter().cycle().take(ps.len()).copied().collect()
}

/// Judges every packet as a first packet; counts those with a route rule.
/// Out of line, so a cache simulation can name it
/// (`--toggle-collect='*judge_all'`) whether `Compiled::judge` is inlined
/// into it or not.
#[inline(never)]
fn judge_all(c: &Compiled, ps: &[Packet]) -> u64 {
    ps.iter().fold(0u64, |acc, p| {
        acc + u64::from(std::hint::black_box(c.judge(p, Context::First)).rules[0].is_some())
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.sizes {
        println!(
            "{:8} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}  checksum",
            "preset", "judge", "judge v4", "judge v6", "classes", "addr v4", "addr v6"
        );
    }
    for name in &args.presets {
        let Some(spec) = ScaleSpec::preset(name) else {
            eprintln!("unknown preset {name}");
            return ExitCode::FAILURE;
        };
        let s = scale::scenario(&spec);
        let mut cfg = Config::default();
        if let Some(n) = args.narrow_from {
            cfg.narrow_cells_from_bytes = n;
        }
        let c = match Compiled::new(&s, &cfg) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{name}: {e}");
                return ExitCode::FAILURE;
            }
        };
        if args.sizes {
            print_sizes(name, &c);
            continue;
        }
        let ps = hot_packets(scale::packets(&s, 1 << 16, 1), args.hot);
        let (v4, v6): (Vec<Packet>, Vec<Packet>) = ps.iter().partition(|p| p.src.is_ipv4());
        let classes: Vec<_> = ps
            .iter()
            .map(|p| {
                (
                    c.address_class(p.src),
                    c.address_class(p.dst),
                    c.service_class(p.proto, p.l4),
                )
            })
            .collect();
        let rp = (args.rounds, args.passes);
        let only = args.only.as_deref();
        let judge = measure(only, "judge", rp, ps.len(), || judge_all(&c, &ps));
        let judge4 = measure(only, "judge-v4", rp, v4.len(), || judge_all(&c, &v4));
        let judge6 = if v6.is_empty() {
            f64::NAN
        } else {
            measure(only, "judge-v6", rp, v6.len(), || judge_all(&c, &v6))
        };
        let judge_classes = measure(only, "classes", rp, classes.len(), || {
            classes.iter().fold(0u64, |acc, &(s, d, v)| {
                acc + u64::from(
                    std::hint::black_box(c.judge_classes(s, d, v, Context::First)).rules[0]
                        .is_some(),
                )
            })
        });
        let a4: Vec<_> = ps
            .iter()
            .flat_map(|p| [p.src, p.dst])
            .filter(|a| a.is_ipv4())
            .collect();
        let a6: Vec<_> = ps
            .iter()
            .flat_map(|p| [p.src, p.dst])
            .filter(|a| a.is_ipv6())
            .collect();
        let addr = |name: &str, a: &[std::net::IpAddr]| {
            if a.is_empty() {
                return f64::NAN;
            }
            measure(only, name, rp, a.len(), || {
                a.iter().fold(0u64, |acc, &x| {
                    acc.wrapping_add(u64::from(c.address_class(x).raw()))
                })
            })
        };
        let (addr4, addr6) = (addr("addr-v4", &a4), addr("addr-v6", &a6));
        let mut sum = 0xcbf2_9ce4_8422_2325u64;
        for pk in &ps {
            sum = fold(sum, &c.judge(pk, Context::First));
        }
        println!(
            "{name:8} {judge:9.1} {judge4:9.1} {judge6:9.1} {judge_classes:9.1} {addr4:8.1} {addr6:8.1}  {sum:016x}"
        );
    }
    ExitCode::SUCCESS
}
