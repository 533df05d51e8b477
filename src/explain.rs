//! `zprsim explain SCENARIO --src IP|VNIC --dst IP|VNIC --proto P ...`: the
//! first packet of a flow (or with `--reply`, the reply to it), layer by
//! layer. The judgement and its text are `zprsim_control::explain`'s; here
//! are the arguments, the files read (the scenario, a capture replayed up
//! to its packet) and the printing.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use zprsim_control::compile::{Compiled, Config};
use zprsim_control::explain::{self, CapturedPacket, ExplainError, Request};
use zprsim_dataplane::capture::decompress;
use zprsim_dataplane::capture_state;
use zprsim_dataplane::engine::shape::Shape;
use zprsim_dataplane::output::Plan;

use crate::{Failure, out};

/// Arguments of `explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario (TOML, or JSON when it ends in `.json`).
    scenario: PathBuf,
    /// Source: an address, `vnic:NAME`, or the name or id (OCID) of a VNIC.
    #[arg(long, required_unless_present = "capture")]
    src: Option<String>,
    /// Destination: an address, `vnic:NAME`, or the name or id (OCID) of a VNIC.
    #[arg(long, required_unless_present = "capture")]
    dst: Option<String>,
    /// Protocol: tcp, udp, icmp, icmpv6 or a number.
    #[arg(long, required_unless_present = "capture")]
    proto: Option<String>,
    /// Source port (TCP/UDP; default 49152, an ephemeral port).
    #[arg(long)]
    sport: Option<u16>,
    /// Destination port (TCP/UDP; required for them).
    #[arg(long)]
    dport: Option<u16>,
    /// ICMP type (default: echo request, 8 for ICMP and 128 for ICMPv6).
    #[arg(long = "icmp-type")]
    icmp_type: Option<u8>,
    /// ICMP code (default 0).
    #[arg(long = "icmp-code")]
    icmp_code: Option<u8>,
    /// Judge a non-first IP fragment (no ports or ICMP type).
    #[arg(long)]
    fragment: bool,
    /// Judge the reply of the flow (destination back to source, ICMP echo
    /// answered by an echo reply) with the tracking its first packet left.
    #[arg(long)]
    reply: bool,
    /// Explain packet `--packet N` of this capture, with the connection
    /// tracking state of the packets before it replayed as `replay` does.
    #[arg(
        long,
        requires = "packet",
        conflicts_with_all = ["src", "dst", "proto", "sport", "dport", "icmp_type", "icmp_code", "fragment", "reply"]
    )]
    capture: Option<PathBuf>,
    /// With `--capture`: the packet's number (1-based, every record counted,
    /// as Wireshark numbers frames; `--dedup` and `--node-local` keep the
    /// numbers, and refuse the number of a packet they leave out).
    #[arg(long)]
    packet: Option<u64>,
    #[command(flatten)]
    shaping: crate::flags::CaptureShaping,
    /// With `--capture`: connections tracked at most, as `replay
    /// --max-connections` (1 to 2^30), so a replay run with a bound is
    /// explained in the state it gave each packet (default: `replay`'s
    /// default bound). No default value here, so that one given without
    /// `--capture` is seen, even at the default's value.
    #[arg(long)]
    max_connections: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// The request `a` makes without a capture.
fn request(a: &Args) -> Request<'_> {
    Request {
        src: a.src.as_deref(),
        dst: a.dst.as_deref(),
        proto: a.proto.as_deref(),
        sport: a.sport,
        dport: a.dport,
        icmp_type: a.icmp_type,
        icmp_code: a.icmp_code,
        fragment: a.fragment,
        reply: a.reply,
    }
}

/// [`ExplainError`] as the command's: bad input exits 2, the two engines
/// disagreeing 3.
fn from_explain(e: ExplainError) -> Failure {
    match e {
        ExplainError::Input(m) => Failure::Input(m),
        ExplainError::Disagree(m) => Failure::Internal(m),
    }
}

/// `explain --capture F --packet N`.
fn explain_capture(
    a: &Args,
    loaded: &zprsim_control::load::Loaded,
    compiled: &Compiled,
    capture: &std::path::Path,
    n: u64,
) -> Result<ExitCode, Failure> {
    let s = &loaded.scenario;
    let file = zprsim_dataplane::output::shown(capture);
    // The reader's steps of `replay` with the same flags: packet N is
    // judged with the state of the packets replay would have judged
    // before it.
    let mut shape = Shape::new(a.shaping.vxlan(), &a.shaping.node_local, a.shaping.dedup);
    let bad = |e: &dyn std::fmt::Display| Failure::Input(format!("{file}: error: {e}"));
    // Read as a stream (`-`: standard input; gzip: the capture it holds),
    // one record at a time.
    let stream = zprsim_dataplane::sniff::open(capture).map_err(|e| bad(&e))?;
    let (mut cap, _) = decompress::records(stream).map_err(|e| bad(&e))?;
    let found =
        capture_state::packet_n(&mut cap, &file, compiled, n, &mut shape, max_connections(a))
            .map_err(from_state)?;
    let found = CapturedPacket {
        packet: found.packet,
        context: found.context,
        ts_ns: found.ts_ns,
        opened_by: found.opened_by,
        no_longer_tracked: found.no_longer_tracked,
        mid_flow: found.mid_flow,
        tcp_flags_cut: found.tcp_flags_cut,
    };
    let e = explain::explain_captured(s, compiled, &file, n, found, max_connections(a))
        .map_err(from_explain)?;
    show(a, loaded, || e.json(s, &loaded.warnings), || e.text(s))
}

/// [`capture_state::Failure`] as the command's.
fn from_state(e: capture_state::Failure) -> Failure {
    match e {
        capture_state::Failure::Input(m) => Failure::Input(m),
        capture_state::Failure::Internal(m) => Failure::Internal(m),
    }
}

/// The scenario's warnings on standard error, then an explanation on
/// standard output: `json` (a line) with `--json`, else `text`.
fn show(
    a: &Args,
    loaded: &zprsim_control::load::Loaded,
    json: impl FnOnce() -> serde_json::Result<String>,
    text: impl FnOnce() -> String,
) -> Result<ExitCode, Failure> {
    let mut warnings = String::new();
    for w in &loaded.warnings {
        let _ = writeln!(warnings, "{w}");
    }
    crate::err(&warnings);
    if a.json {
        let mut t = json()?;
        t.push('\n');
        out(&t)?;
    } else {
        out(&text())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--max-connections`, or `replay`'s default bound.
fn max_connections(a: &Args) -> usize {
    a.max_connections
        .unwrap_or(zprsim_dataplane::engine::DEFAULT_MAX_CONNECTIONS)
}

/// The flags of `--capture` given without it, refused. Checked here, not
/// by clap's `requires = "capture"`: clap drops the requirement of an
/// argument that conflicts with one given (`--capture` conflicts with
/// `--src`), so `explain --src .. --packet 7` judged the packet `--src`
/// described without a word, and `--dedup` there asked for `--packet`
/// (tried, clap 4.6).
fn capture_flags_alone(a: &Args) -> Result<(), Failure> {
    if a.capture.is_some() {
        return Ok(());
    }
    let given = a
        .packet
        .is_some()
        .then_some("--packet")
        .or_else(|| a.shaping.first_given())
        .or_else(|| a.max_connections.is_some().then_some("--max-connections"));
    match given {
        Some(flag) => Err(Failure::Input(format!(
            "error: `{flag}` goes with `--capture`: without a capture, `--src`, `--dst` and `--proto` describe the one packet judged"
        ))),
        None => Ok(()),
    }
}

/// Runs `explain`.
pub fn run(a: &Args) -> Result<ExitCode, Failure> {
    capture_flags_alone(a)?;
    // Flags that do not fit the protocol are refused before any file is read.
    if let Some(pr) = &a.proto {
        explain::request::check_flags(&request(a), explain::parse_proto(pr).map_err(from_explain)?)
            .map_err(from_explain)?;
    }
    crate::replay::check_engine_bounds(1, max_connections(a))?;
    let mut plan = Plan::new();
    plan.input("SCENARIO", &a.scenario);
    if let Some(c) = &a.capture {
        plan.input("--capture", c);
    }
    plan.standard_output();
    plan.check()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    let loaded = crate::load_scenario(&plan, "SCENARIO", &a.scenario)?;
    let s = &loaded.scenario;
    a.shaping.check_node_local(s, &a.scenario)?;
    let compiled = Compiled::new(s, &Config::default()).map_err(|e| {
        Failure::Input(format!(
            "{}: error: {e}",
            zprsim_dataplane::output::shown(&a.scenario)
        ))
    })?;
    if let (Some(cap), Some(n)) = (&a.capture, a.packet) {
        return explain_capture(a, &loaded, &compiled, cap, n);
    }
    let e = explain::explain_flow(s, &compiled, &request(a)).map_err(from_explain)?;
    show(a, &loaded, || e.json(s, &loaded.warnings), || e.text(s))
}
