//! `zprsim bench`'s report: the JSON object (`--json`), the table for
//! people and the CSV lines (`--csv`), built from a [`BenchResult`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use zprsim_control::stopped::StoppedBy;

use super::{BenchResult, Latency, Traffic};
use crate::replay::Totals;
use crate::report::StageCounts;
use crate::synth::SynthStats;
use crate::warning::{RunWarning, RunWarningCode, messages};

/// One measured run as the report gives it (a [`super::Run`]'s fields).
#[derive(Debug, Clone, Serialize)]
pub struct JsonRun {
    /// Worker threads.
    pub workers: usize,
    /// Packets per second of the packet phase.
    pub packets_per_second: f64,
    /// `packets_per_second` per worker.
    pub per_worker_pps: f64,
    /// Over the one-worker run.
    pub scaling: f64,
    /// Of the bare loop's rate.
    pub fraction_of_baseline: f64,
    /// Per-packet latency percentiles ([`LATENCY_NOTE`]).
    pub latency_ns: Latency,
    /// The run's length.
    pub duration_s: f64,
    /// Connections tracked.
    pub connections: u64,
    /// Flows recorded.
    pub flows: u64,
}

/// How synthetic traffic was made (`--seed`, `--allowed-share`) and what
/// it holds.
#[derive(Debug, Clone, Serialize)]
pub struct Synthetic {
    /// `--seed`.
    pub seed: u64,
    /// `--allowed-share`.
    pub allowed_share: f64,
    /// Flows.
    pub flows: u64,
    /// Reply packets.
    pub replies: u64,
    /// IPv6 packets.
    pub ipv6: u64,
    /// Fragments.
    pub fragments: u64,
    /// 802.1Q-tagged frames.
    pub vlan: u64,
}

/// The report of `zprsim bench` (`--json`; [`table`] and [`csv`] print it).
#[derive(Debug, Serialize)]
pub struct Report {
    /// The scenario, as given.
    pub scenario: String,
    /// `synthetic`, or the captures.
    pub traffic: Vec<String>,
    /// How synthetic traffic was made; `null` for captures.
    pub synthetic: Option<Synthetic>,
    /// Packets judged: total, allowed, dropped.
    pub packets: Totals,
    /// Drops by the stage that dropped them.
    pub dropped_by_stage: StageCounts,
    /// Records that are not IP (not judged).
    pub non_ip: u64,
    /// Of `non_ip`: IPv6 neighbour discovery and MLD, not judged.
    pub link_local: u64,
    /// Of `non_ip`: a host's packets to itself, not judged.
    pub loopback: u64,
    /// Copy records left out (`--dedup`; 0 without it).
    pub copies: u64,
    /// Records judged by the frame inside their VXLAN header (`--decap
    /// vxlan`; 0 without it).
    pub decapsulated: u64,
    /// Records to or from a `--node-local` prefix left out (0 without it).
    pub node_local: u64,
    /// Bytes of the packets held in memory.
    pub traffic_bytes: u64,
    /// Seconds to load the scenario.
    pub load_s: f64,
    /// Seconds to compile it.
    pub compile_s: f64,
    /// Bytes of the compiled table.
    pub table_bytes: usize,
    /// The bare loop's packets per second.
    pub baseline_pps: f64,
    /// Packets the bare loop looked up.
    pub baseline_packets: u64,
    /// One per worker count measured, in the order asked.
    pub runs: Vec<JsonRun>,
    /// How `latency_ns` is counted ([`LATENCY_NOTE`]).
    pub latency_note: &'static str,
    /// Peak resident memory, where known.
    pub peak_memory_bytes: Option<u64>,
    /// The warnings in words.
    pub warnings: Vec<String>,
    /// `warnings` as objects (code, message, file, byte offset), in the
    /// same order.
    pub run_warnings: Vec<RunWarning>,
    /// A SIGINT or SIGTERM stopped the measuring: `runs` holds the runs
    /// finished before it (maybe none; with none, the packet counts and
    /// the bare loop's are zeros too).
    pub interrupted: bool,
    /// Which signal (`"sigint"`, `"sigterm"`); `null` when not interrupted.
    pub stopped_by: Option<StoppedBy>,
    /// Runs asked (`--workers`): `runs` holds fewer when interrupted.
    pub runs_asked: usize,
}

/// How the latency percentiles are counted, as the report says it.
pub const LATENCY_NOTE: &str = "per-packet latency is each batch's processing time divided by its size (batches of up to 4096 packets), counted once per packet";

/// What was measured besides the runs: the inputs as given and the
/// times of loading and compiling.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// The scenario file.
    pub scenario: &'a Path,
    /// `--capture`: empty for synthetic traffic.
    pub captures: &'a [PathBuf],
    /// `--seed`.
    pub seed: u64,
    /// `--allowed-share`.
    pub allowed_share: f64,
    /// Seconds to load the scenario.
    pub load_s: f64,
    /// Seconds to compile it.
    pub compile_s: f64,
    /// Bytes of the compiled table.
    pub table_bytes: usize,
    /// Runs asked (`--workers`).
    pub runs_asked: usize,
}

/// The report of a measurement `r` of `traffic` (synthesized when `synth`
/// is given) with the run's `warnings`; `stopped_by` is left for the
/// caller, which knows the signal.
#[must_use]
pub fn report(
    a: &Setup<'_>,
    traffic: &Traffic,
    synth: Option<SynthStats>,
    r: &BenchResult,
    warnings: Vec<RunWarning>,
) -> Report {
    let c = &r.counters;
    Report {
        scenario: a.scenario.display().to_string(),
        traffic: if a.captures.is_empty() {
            vec!["synthetic".into()]
        } else {
            a.captures.iter().map(|p| p.display().to_string()).collect()
        },
        synthetic: synth.map(|s| Synthetic {
            seed: a.seed,
            allowed_share: a.allowed_share,
            flows: s.flows,
            replies: s.replies,
            ipv6: s.ipv6,
            fragments: s.fragments,
            vlan: s.vlan,
        }),
        packets: c.packets,
        dropped_by_stage: StageCounts::of(c),
        non_ip: c.non_ip,
        link_local: c.link_local,
        loopback: c.loopback,
        copies: c.copies,
        decapsulated: c.decapsulated,
        node_local: c.node_local,
        traffic_bytes: traffic.bytes(),
        load_s: a.load_s,
        compile_s: a.compile_s,
        table_bytes: a.table_bytes,
        baseline_pps: r.baseline.packets_per_second,
        baseline_packets: r.baseline.packets,
        runs: r
            .runs
            .iter()
            .map(|x| JsonRun {
                workers: x.workers,
                packets_per_second: x.packets_per_second,
                per_worker_pps: x.per_worker_pps,
                scaling: x.scaling,
                fraction_of_baseline: x.fraction_of_baseline,
                latency_ns: x.latency_ns,
                duration_s: x.duration_s,
                connections: x.connections,
                flows: x.flows,
            })
            .collect(),
        latency_note: LATENCY_NOTE,
        peak_memory_bytes: r.peak_memory_bytes,
        warnings: messages(&warnings),
        run_warnings: warnings,
        interrupted: r.interrupted,
        // Set by the caller, which knows the signal.
        stopped_by: None,
        runs_asked: a.runs_asked,
    }
}

#[allow(clippy::cast_precision_loss)]
fn si(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2}G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

#[allow(clippy::cast_precision_loss)]
fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

/// The report as a table for people.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn table(r: &Report) -> String {
    let mut t = String::new();
    let pct = |x: u64| {
        if r.packets.total == 0 {
            0.0
        } else {
            100.0 * x as f64 / r.packets.total as f64
        }
    };
    let what = match &r.synthetic {
        Some(s) => format!(
            "{} synthetic packet(s) in {} flow(s), seed {}, {:.0}% of flows on allowed paths ({} IPv6, {} replies)",
            r.packets.total + r.non_ip,
            s.flows,
            s.seed,
            s.allowed_share * 100.0,
            s.ipv6,
            s.replies
        ),
        None => format!(
            "{} packet(s) of {}",
            r.packets.total + r.non_ip + r.copies + r.node_local,
            r.traffic.join(", ")
        ),
    };
    let mut shaped = Vec::new();
    if r.decapsulated > 0 {
        shaped.push(format!(
            "{} record(s) judged by the frame inside their VXLAN header (--decap vxlan)",
            r.decapsulated
        ));
    }
    if r.node_local > 0 {
        shaped.push(format!(
            "{} record(s) to or from a --node-local prefix left out",
            r.node_local
        ));
    }
    if r.copies > 0 {
        shaped.push(format!(
            "{} copy record(s) of packets seen on another interface left out (--dedup)",
            r.copies
        ));
    }
    let _ = writeln!(t, "bench {}: {what}", r.scenario);
    if r.interrupted {
        let _ = writeln!(
            t,
            "  interrupted: {} of {} run(s) measured, shown below",
            r.runs.len(),
            r.runs_asked
        );
    }
    let _ = writeln!(
        t,
        "  loaded in {:.3} s, compiled in {:.3} s, table {}, packets in memory {}",
        r.load_s,
        r.compile_s,
        mb(r.table_bytes as u64),
        mb(r.traffic_bytes)
    );
    let _ = writeln!(
        t,
        "  allowed {} ({:.2}%), dropped {} ({:.2}%), non-IP {}",
        r.packets.allowed,
        pct(r.packets.allowed),
        r.packets.dropped,
        pct(r.packets.dropped),
        r.non_ip
    );
    let _ = writeln!(t, "  drops by stage: {}", r.dropped_by_stage.line());
    for line in shaped {
        let _ = writeln!(t, "  {line}");
    }
    let _ = writeln!(
        t,
        "  bare stateful loop on the same packets: {} packets/s",
        si(r.baseline_pps)
    );
    let _ = writeln!(
        t,
        "{:>7} {:>10} {:>10} {:>7} {:>9} {:>7} {:>7} {:>7} {:>8} {:>11} {:>9}",
        "workers",
        "packets/s",
        "per worker",
        "scaling",
        "/baseline",
        "p50 ns",
        "p90 ns",
        "p99 ns",
        "p99.9 ns",
        "connections",
        "flows"
    );
    for x in &r.runs {
        let _ = writeln!(
            t,
            "{:>7} {:>10} {:>10} {:>6.2}x {:>9.3} {:>7} {:>7} {:>7} {:>8} {:>11} {:>9}",
            x.workers,
            si(x.packets_per_second),
            si(x.per_worker_pps),
            x.scaling,
            x.fraction_of_baseline,
            x.latency_ns.p50,
            x.latency_ns.p90,
            x.latency_ns.p99,
            x.latency_ns.p999,
            x.connections,
            x.flows
        );
    }
    let _ = writeln!(t, "  {LATENCY_NOTE}");
    if let Some(p) = r.peak_memory_bytes {
        let _ = writeln!(t, "  peak memory {}", mb(p));
    }
    t
}

/// The runs as CSV (`--csv`), one line per worker count.
#[must_use]
pub fn csv(r: &Report) -> String {
    let mut t = String::from(
        "workers,packets_per_second,per_worker_pps,scaling,fraction_of_baseline,p50_ns,p90_ns,p99_ns,p999_ns,connections,flows,packets,allowed,dropped,baseline_pps,compile_s,table_bytes\n",
    );
    for x in &r.runs {
        let _ = writeln!(
            t,
            "{},{:.1},{:.1},{:.4},{:.4},{},{},{},{},{},{},{},{},{},{:.1},{:.6},{}",
            x.workers,
            x.packets_per_second,
            x.per_worker_pps,
            x.scaling,
            x.fraction_of_baseline,
            x.latency_ns.p50,
            x.latency_ns.p90,
            x.latency_ns.p99,
            x.latency_ns.p999,
            x.connections,
            x.flows,
            r.packets.total,
            r.packets.allowed,
            r.packets.dropped,
            r.baseline_pps,
            r.compile_s,
            r.table_bytes
        );
    }
    t
}

/// The warning of a bare loop that looked up fewer packets than the
/// engine judged (it parses whole Ethernet frames only), or none; `None`
/// too when the measuring stopped before it ran (`interrupted` says so).
#[must_use]
pub fn baseline_warning(r: &BenchResult) -> Option<RunWarning> {
    if r.baseline.packets == 0 && r.interrupted {
        None
    } else if r.baseline.packets == 0 {
        Some(RunWarning::new(
            RunWarningCode::BaselinePartial,
            "the bare loop found no Ethernet IP packet to look up (it parses whole Ethernet frames only): `baseline_pps` and `fraction_of_baseline` are 0",
        ))
    } else if r.baseline.packets < r.counters.packets.total {
        Some(RunWarning::new(
            RunWarningCode::BaselinePartial,
            format!(
                "the bare loop looked up {} of {} packet(s) (it parses whole Ethernet frames only): `baseline_pps` is its rate on those",
                r.baseline.packets, r.counters.packets.total
            ),
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use super::*;
    use crate::bench::{Baseline, BenchResult, Traffic};
    use crate::judge::Counters;

    fn result(total: u64, looked_up: u64, interrupted: bool) -> BenchResult {
        let mut counters = Counters::default();
        counters.packets.total = total;
        counters.packets.allowed = total;
        BenchResult {
            counters,
            runs: Vec::new(),
            baseline: Baseline {
                packets_per_second: 2.5e6,
                packets: looked_up,
                new_flows: 0,
            },
            peak_memory_bytes: None,
            warnings: Vec::new(),
            interrupted,
        }
    }

    /// The bare loop's warning: none when it looked up every packet or
    /// never ran because of a stop; else how many it looked up.
    #[test]
    fn the_baseline_warning_says_how_many_packets_the_bare_loop_looked_up() {
        assert!(baseline_warning(&result(10, 10, false)).is_none());
        assert!(baseline_warning(&result(10, 0, true)).is_none());
        let none = baseline_warning(&result(10, 0, false)).unwrap();
        assert!(
            none.message.contains("found no Ethernet IP packet"),
            "{none:?}"
        );
        let some = baseline_warning(&result(10, 4, false)).unwrap();
        assert!(
            some.message.contains("looked up 4 of 10 packet(s)"),
            "{some:?}"
        );
    }

    /// The report of captures names them; the table and the CSV show its
    /// numbers (a CSV line per run, none when no run was measured).
    #[test]
    fn the_report_table_and_csv_show_what_was_measured() {
        let captures = [PathBuf::from("a.pcap"), PathBuf::from("b.pcap")];
        let setup = Setup {
            scenario: Path::new("s.toml"),
            captures: &captures,
            seed: 1,
            allowed_share: 0.5,
            load_s: 0.25,
            compile_s: 0.125,
            table_bytes: 2_000_000,
            runs_asked: 2,
        };
        let traffic = Traffic {
            inputs: Vec::new(),
            warnings: Vec::new(),
        };
        let r = report(&setup, &traffic, None, &result(10, 10, true), Vec::new());
        assert_eq!(r.traffic, ["a.pcap", "b.pcap"]);
        assert!(r.synthetic.is_none() && r.interrupted && r.stopped_by.is_none());
        let t = table(&r);
        assert!(
            t.starts_with("bench s.toml: 10 packet(s) of a.pcap, b.pcap\n"),
            "{t}"
        );
        assert!(
            t.contains("  interrupted: 0 of 2 run(s) measured, shown below\n"),
            "{t}"
        );
        assert!(t.contains("compiled in 0.125 s, table 2.0 MB"), "{t}");
        assert!(
            t.contains("bare stateful loop on the same packets: 2.50M packets/s"),
            "{t}"
        );
        assert_eq!(csv(&r).lines().count(), 1, "the header alone");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["latency_note"], LATENCY_NOTE);
        assert_eq!(v["runs_asked"], 2);
    }
}
