//! `zprsim tap SCENARIO --attach HOST=IFACE... [--workers N] [--dropped OUT.pcap] [--report FILE.json]`
//! and `zprsim tap SCENARIO --bridge IFACE IFACE ...`: live enforcement
//! between TAP devices (see `zprsim_dataplane::tap`).
//!
//! Ctrl-C or SIGTERM stops it cleanly: the final report and the dropped
//! pcap are written. SIGHUP reloads the scenario: the new table is compiled
//! beside the old one and published at once; a scenario that fails to load
//! leaves the old one in force and says why.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use zprsim_dataplane::warning::{RunWarning, messages};

use serde::Serialize;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::stopped::StoppedBy;
use zprsim_dataplane::judge::Totals;
use zprsim_dataplane::output::{OutputFile, Plan as OutputPlan};
use zprsim_dataplane::tap::sys::{self, TapDevice};
use zprsim_dataplane::tap::{Engine, Host, Link, Plan, PortStats, TapConfig, TapStats};

use crate::interrupt::Interrupt;
use crate::{Failure, out};
use zprsim_dataplane::report::{RuleHits, StageCounts};

/// Arguments of `tap`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario (TOML, or JSON when it ends in `.json`).
    scenario: PathBuf,
    /// Attach a host to a TAP device (created if missing): `VNIC=IFACE`
    /// for a VNIC of the scenario, `ADDRESS=IFACE` for an address no VNIC
    /// holds (an unlisted workload in a subnet, or an external client).
    #[arg(
        long = "attach",
        value_name = "HOST=IFACE",
        required_unless_present = "bridge"
    )]
    attach: Vec<String>,
    /// A transparent bump between two TAP devices, the scenario's hosts
    /// behind either side.
    #[arg(long, num_args = 2, value_names = ["IFACE", "IFACE"], conflicts_with = "attach")]
    bridge: Option<Vec<String>>,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Write the dropped frames here (pcap).
    #[arg(long)]
    dropped: Option<PathBuf>,
    /// Write the final JSON report here on exit.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Keep a JSON status (the report so far) here, rewritten every second.
    #[arg(long)]
    status: Option<PathBuf>,
    /// Frames queued per worker at most; more are dropped as `overload`.
    #[arg(long, default_value_t = 1024)]
    queue: usize,
    /// Connections tracked at most: spread over 256 shards of at least one
    /// entry each, so below 256 it acts as 256.
    #[arg(long, default_value_t = 1 << 20)]
    max_connections: usize,
    /// No live counters and no summary.
    #[arg(long)]
    quiet: bool,
}

#[derive(Serialize)]
struct Connections {
    created: u64,
    evicted: u64,
    replies_tracked: u64,
    tracked: u64,
}

#[derive(Serialize)]
struct Reload {
    reloads: u64,
    failures: u64,
    last_error: Option<String>,
}

/// The report: replay's fields plus the live router's.
#[derive(Serialize)]
struct Report {
    scenario: String,
    mode: &'static str,
    running: bool,
    /// The final report of a tap a signal stopped (the only way it ends):
    /// `true`, as the CLI contract has every run a signal ended say; the
    /// `--status` snapshots of a running tap say `false`.
    interrupted: bool,
    /// Which signal stopped it (`"sigint"`, `"sigterm"`); `null` while running.
    stopped_by: Option<StoppedBy>,
    pid: u32,
    frames: u64,
    packets: Totals,
    bytes: Totals,
    dropped_by_stage: StageCounts,
    zpr_audit_would_drop: u64,
    flows: u64,
    non_ip: u64,
    link_local: u64,
    arp_nd_answered: u64,
    overload: u64,
    undeliverable: u64,
    spoofed: u64,
    forwarded: u64,
    tx_errors: u64,
    rx_errors: u64,
    dropped_pcap_lost: u64,
    warnings: Vec<String>,
    /// `warnings` as objects (the scenario's: code, message, file, line),
    /// in the same order.
    run_warnings: Vec<RunWarning>,
    connections: Connections,
    rules_hit: Vec<RuleHits>,
    reload: Reload,
    ports: Vec<PortStats>,
    compile_s: f64,
    duration_s: f64,
    packets_per_second: f64,
    workers: usize,
}

struct ReloadState {
    reloads: u64,
    failures: u64,
    last_error: Option<String>,
}

struct Ctx<'a> {
    a: &'a Args,
    hosts: Vec<Host>,
    warnings: Vec<RunWarning>,
    compile_s: f64,
    t0: Instant,
    reload: ReloadState,
    workers: usize,
}

fn report(c: &Ctx<'_>, plan: &Plan, s: &TapStats, running: bool) -> Report {
    let k = &s.counters;
    let (hits, _) = zprsim_dataplane::report::rule_hits(plan.scenario(), plan.compiled(), k);
    let duration_s = c.t0.elapsed().as_secs_f64();
    let pps = zprsim_dataplane::report::rate(k.packets.total, duration_s);
    Report {
        scenario: c.a.scenario.display().to_string(),
        mode: if c.a.bridge.is_some() {
            "bridge"
        } else {
            "router"
        },
        running,
        interrupted: !running,
        stopped_by: None,
        pid: std::process::id(),
        frames: s.frames,
        packets: k.packets,
        bytes: k.bytes,
        dropped_by_stage: StageCounts::of(k),
        zpr_audit_would_drop: k.zpr_audit_would_drop,
        flows: k.connections,
        non_ip: k.non_ip,
        link_local: s.link_local,
        arp_nd_answered: s.answered,
        overload: s.overload,
        undeliverable: s.undeliverable,
        spoofed: s.spoofed,
        forwarded: s.forwarded,
        tx_errors: s.tx_errors,
        rx_errors: s.rx_errors,
        dropped_pcap_lost: s.pcap_lost,
        warnings: messages(&c.warnings),
        run_warnings: c.warnings.clone(),
        connections: Connections {
            created: k.connections,
            evicted: k.connections_evicted,
            replies_tracked: k.replies_tracked,
            tracked: s.connections_tracked,
        },
        rules_hit: hits,
        reload: Reload {
            reloads: c.reload.reloads,
            failures: c.reload.failures,
            last_error: c.reload.last_error.clone(),
        },
        ports: s.ports.clone(),
        compile_s: c.compile_s,
        duration_s,
        packets_per_second: pps,
        workers: c.workers,
    }
}

/// The one-line live view.
fn live_line(r: &Report) -> String {
    format!(
        "packets {} allowed {} dropped {} ({}) undeliverable {} overload {} arp/nd {}",
        r.packets.total,
        r.packets.allowed,
        r.packets.dropped,
        r.dropped_by_stage.line(),
        r.undeliverable,
        r.overload,
        r.link_local
    )
}

/// The summary printed at the end (and by `lab down`).
pub fn summary_of(v: &serde_json::Value) -> String {
    let n = |p: &str| {
        v.pointer(p)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    let mut t = String::new();
    let _ = writeln!(
        t,
        "judged {} packet(s): {} allowed, {} dropped",
        n("/packets/total"),
        n("/packets/allowed"),
        n("/packets/dropped")
    );
    let _ = writeln!(
        t,
        "  drops by stage: route {}, egress-security {}, ingress-security {}, zpr {}, malformed {}",
        n("/dropped_by_stage/route"),
        n("/dropped_by_stage/egress-security"),
        n("/dropped_by_stage/ingress-security"),
        n("/dropped_by_stage/zpr"),
        n("/dropped_by_stage/malformed")
    );
    let _ = writeln!(
        t,
        "  forwarded {}, undeliverable {}, overload {}, spoofed {}, device errors {}",
        n("/forwarded"),
        n("/undeliverable"),
        n("/overload"),
        n("/spoofed"),
        n("/tx_errors")
    );
    let _ = writeln!(
        t,
        "  {} connection(s) tracked, {} reply packet(s) passed as tracked; {} ARP/ND and link-scope frame(s), {} other non-IP",
        n("/connections/created"),
        n("/connections/replies_tracked"),
        n("/link_local"),
        n("/non_ip")
    );
    if let Some(hits) = v.get("rules_hit").and_then(serde_json::Value::as_array)
        && !hits.is_empty()
    {
        let _ = writeln!(t, "rules and statements that decided packets:");
        for h in hits.iter().take(10) {
            let _ = writeln!(
                t,
                "  {:>8}  {}",
                h.get("hits")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0),
                h.get("rule")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("")
            );
        }
    }
    let reloads = n("/reload/reloads");
    let failures = n("/reload/failures");
    if reloads + failures > 0 {
        let _ = writeln!(t, "  reloads: {reloads} applied, {failures} refused");
    }
    t
}

/// Writes JSON to `path` through a temporary file beside it and a rename
/// ([`OutputFile`]), so a reader never sees half a file and a failed write
/// leaves the old one.
pub fn write_json_atomic<T: Serialize>(flag: &str, path: &Path, v: &T) -> Result<(), Failure> {
    let err = |e: &dyn std::fmt::Display| Failure::Input(format!("error: {e}"));
    let mut text = serde_json::to_string_pretty(v).map_err(|e| err(&e))?;
    text.push('\n');
    let mut f = OutputFile::create(flag, path).map_err(|e| err(&e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Failure::Input(format!("error: {flag} `{}`: {e}", path.display())))?;
    f.commit().map_err(|e| err(&e))
}

/// Checks every input and output before the tap starts: no output is the
/// scenario or another output, every output directory is writable.
fn check_files(a: &Args) -> Result<OutputPlan, Failure> {
    let mut plan = OutputPlan::new();
    plan.input("SCENARIO", &a.scenario);
    for (flag, p) in [
        ("--dropped", &a.dropped),
        ("--report", &a.report),
        ("--status", &a.status),
    ] {
        if let Some(p) = p {
            plan.output(flag, p);
        }
    }
    plan.check()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    Ok(plan)
}

fn load_plan(
    files: &OutputPlan,
    a: &Args,
    hosts: &[Host],
) -> Result<(Plan, Vec<RunWarning>), Failure> {
    let loaded = crate::load_scenario(files, "SCENARIO", &a.scenario)?;
    let warnings = loaded
        .warnings
        .iter()
        .map(RunWarning::of_scenario)
        .collect();
    let compiled = Compiled::new(&loaded.scenario, &Config::default()).map_err(|e| {
        Failure::Input(format!(
            "{}: error: {e}",
            zprsim_dataplane::output::shown(&a.scenario)
        ))
    })?;
    let plan = if a.bridge.is_some() {
        Plan::bridge(loaded.scenario, compiled)
    } else {
        Plan::router(loaded.scenario, compiled, hosts).map_err(|e| {
            Failure::Input(format!(
                "{}: error: {e}",
                zprsim_dataplane::output::shown(&a.scenario)
            ))
        })?
    };
    Ok((plan, warnings))
}

fn log(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Runs `tap`.
#[allow(clippy::too_many_lines)]
pub fn run(a: &Args) -> Result<ExitCode, Failure> {
    if a.workers == 0 || a.workers > 64 {
        return Err(Failure::Input(format!(
            "error: `--workers {}`: expected 1 to 64",
            a.workers
        )));
    }
    if a.queue == 0 {
        return Err(Failure::Input(
            "error: `--queue 0`: expected at least 1".into(),
        ));
    }
    if a.max_connections == 0 {
        return Err(Failure::Input(
            "error: `--max-connections 0`: expected at least 1".into(),
        ));
    }
    let files = check_files(a)?;
    let mut hosts = Vec::new();
    let mut ifaces = Vec::new();
    if let Some(b) = &a.bridge {
        ifaces.clone_from(b);
    } else {
        for spec in &a.attach {
            let Some((h, i)) = spec.split_once('=') else {
                return Err(Failure::Input(format!(
                    "error: `--attach {spec}`: expected HOST=IFACE"
                )));
            };
            hosts.push(Host::parse(h));
            ifaces.push(i.to_owned());
        }
    }
    if let Some(dup) = ifaces
        .iter()
        .enumerate()
        .find(|(i, x)| ifaces[..*i].contains(x))
    {
        return Err(Failure::Input(format!(
            "error: interface `{}` is given twice",
            dup.1
        )));
    }
    let t0 = Instant::now();
    let (plan, warnings) = load_plan(&files, a, &hosts)?;
    let compile_s = t0.elapsed().as_secs_f64();

    let mut links: Vec<(String, Arc<dyn Link>)> = Vec::new();
    for i in &ifaces {
        let dev = TapDevice::open(i)
            .map_err(|e| Failure::Input(format!("error: cannot attach to `{i}`: {e}")))?;
        links.push((i.clone(), Arc::new(dev)));
    }

    // The first SIGINT or SIGTERM stops the tap cleanly; a second exits
    // at once.
    let interrupt = Interrupt::install()?;
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(sys::SIGHUP, Arc::clone(&hup))
        .map_err(|e| Failure::Input(format!("error: cannot handle signals: {e}")))?;

    let cfg = TapConfig {
        workers: a.workers,
        queue: a.queue,
        max_connections: a.max_connections,
        dropped: a.dropped.clone(),
        ..TapConfig::default()
    };
    let engine =
        Engine::start(plan, links, &cfg).map_err(|e| Failure::Input(format!("error: {e}")))?;
    let mut c = Ctx {
        a,
        hosts,
        warnings,
        compile_s,
        t0: Instant::now(),
        reload: ReloadState {
            reloads: 0,
            failures: 0,
            last_error: None,
        },
        workers: a.workers,
    };
    let live = !a.quiet && std::io::stderr().is_terminal();
    if !a.quiet {
        log(&format!(
            "zprsim tap: {} port(s) ({}), {} worker(s), pid {}; Ctrl-C stops, SIGHUP reloads `{}`",
            ifaces.len(),
            ifaces.join(", "),
            a.workers,
            std::process::id(),
            a.scenario.display()
        ));
    }
    let write_status = |c: &Ctx<'_>, engine: &Engine| -> Result<(), Failure> {
        if let Some(p) = &a.status {
            write_json_atomic(
                "--status",
                p,
                &report(c, &engine.plan(), &engine.stats(), true),
            )?;
        }
        Ok(())
    };
    write_status(&c, &engine)?;
    let mut last_status = Instant::now();
    while !interrupt.requested() {
        std::thread::sleep(Duration::from_millis(50));
        if hup.swap(false, Ordering::Relaxed) {
            match load_plan(&files, a, &c.hosts).and_then(|(p, w)| {
                engine
                    .publish(p)
                    .map(|g| (g, w))
                    .map_err(|e| Failure::Input(format!("error: {e}")))
            }) {
                Ok((g, w)) => {
                    c.reload.reloads += 1;
                    c.warnings = w;
                    log(&format!(
                        "reloaded `{}`: table generation {g} in force for new packets",
                        a.scenario.display()
                    ));
                }
                Err(Failure::Input(m) | Failure::Internal(m) | Failure::Exit(_, m)) => {
                    c.reload.failures += 1;
                    let m = m.trim_end().to_owned();
                    log(&format!(
                        "reload refused, the old scenario stays in force: {m}"
                    ));
                    c.reload.last_error = Some(m);
                }
            }
            write_status(&c, &engine)?;
        }
        if last_status.elapsed() >= Duration::from_secs(1) {
            last_status = Instant::now();
            write_status(&c, &engine)?;
            if live {
                let r = report(&c, &engine.plan(), &engine.stats(), true);
                let _ = write!(std::io::stderr(), "\r\x1b[K{}", live_line(&r));
            }
        }
    }
    if live {
        let _ = writeln!(std::io::stderr());
    }
    let plan = engine.plan();
    let stats = engine
        .stop()
        .map_err(|e| Failure::Internal(e.to_string()))?;
    let mut r = report(&c, &plan, &stats, false);
    r.stopped_by = interrupt.cause(r.interrupted, false);
    if let Some(p) = &a.report {
        write_json_atomic("--report", p, &r)?;
    }
    if let Some(p) = &a.status {
        write_json_atomic("--status", p, &r)?;
    }
    if !a.quiet {
        let v = serde_json::to_value(&r).unwrap_or_default();
        out(&summary_of(&v))?;
    }
    // Stopped by a signal: its status (130 for SIGINT, 143 for SIGTERM).
    Ok(ExitCode::from(interrupt.exit_code()))
}
