//! `zprsim lab up|exec|status|down|reload`: network namespaces, one per
//! host of a scenario, behind one `zprsim tap`. The wiring only: the
//! arguments, starting the tap and printing; the state, namespaces and
//! devices are `zprsim_dataplane::lab`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use zprsim_dataplane::lab::{
    self, LabError, LabHost, State, claim, ensure_lab_dir, find_host, lab_dir, prefix, read_json,
    read_state, sanitize, state_path, tap_alive, teardown, unrunnable, write_state, written_by,
};
use zprsim_dataplane::output::{io_message, shown};
use zprsim_dataplane::scenario_file;
use zprsim_dataplane::tap::sys;
use zprsim_dataplane::tap::{Host, host_plan};

use crate::{Failure, out};

/// Arguments of `lab`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: LabCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LabCommand {
    /// Create a namespace per host, attach them all to one `zprsim tap`.
    Up {
        /// The scenario.
        scenario: PathBuf,
        /// Hosts: VNIC names, or addresses (an unlisted workload in a
        /// subnet, or an external client).
        #[arg(required = true)]
        hosts: Vec<String>,
        /// Worker threads of the tap.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Frames queued per worker of the tap at most (more are dropped
        /// and counted as `overload`).
        #[arg(long, default_value_t = 1024)]
        queue: usize,
    },
    /// Run a command inside a host's namespace; exits with its status.
    Exec {
        /// The host (as given to `up`).
        host: String,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Hosts, addresses, the running tap and its counters.
    Status {
        /// Print the state and the tap's live report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Re-read the scenario through the running tap (SIGHUP) and report the result.
    Reload,
    /// Stop the tap; remove every namespace and device the lab made.
    Down,
}
/// A lab step's failure as the binary says it (exit 2).
#[allow(clippy::needless_pass_by_value)]
fn failure(e: LabError) -> Failure {
    Failure::Input(format!("error: {e}"))
}

/// An I/O error on `path`, worded as every other (without "(os error N)").
fn io_error(path: &Path, e: &std::io::Error) -> String {
    format!("error: `{}`: {}", shown(path), io_message(e))
}

/// Runs `lab`.
pub fn run(a: &Args) -> Result<ExitCode, Failure> {
    match &a.command {
        LabCommand::Up {
            scenario,
            hosts,
            workers,
            queue,
        } => up(scenario, hosts, *workers, *queue),
        LabCommand::Exec { host, command } => exec(host, command),
        LabCommand::Status { json } => status(*json),
        LabCommand::Reload => reload(),
        LabCommand::Down => down(),
    }
}

#[allow(clippy::too_many_lines)]
fn up(
    scenario: &Path,
    hosts: &[String],
    workers: usize,
    queue: usize,
) -> Result<ExitCode, Failure> {
    if workers == 0 || workers > 64 {
        return Err(Failure::Input(format!(
            "error: `--workers {workers}`: expected 1 to 64"
        )));
    }
    if queue == 0 {
        return Err(Failure::Input(
            "error: `--queue 0`: expected at least 1".into(),
        ));
    }
    let prefix = prefix().map_err(failure)?;
    let loaded = scenario_file::load_path(scenario)?;
    let mut lab_hosts = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let host = Host::parse(h);
        if hosts[..i].iter().any(|o| Host::parse(o) == host) {
            return Err(Failure::Input(format!(
                "error: {} is given twice",
                host.described()
            )));
        }
        let hp = host_plan(&loaded.scenario, &host)
            .map_err(|e| Failure::Input(format!("error: {e}")))?;
        lab_hosts.push(LabHost {
            name: h.clone(),
            kind: hp.kind,
            netns: format!("{prefix}-{i}-{}", sanitize(h)),
            iface: format!("{prefix}t{i}"),
            addrs: hp.addrs.iter().map(|(a, l)| format!("{a}/{l}")).collect(),
            gateways: hp.gateways.iter().map(ToString::to_string).collect(),
        });
    }
    let scenario_abs =
        std::fs::canonicalize(scenario).map_err(|e| Failure::Input(io_error(scenario, &e)))?;
    let dir = lab_dir();
    ensure_lab_dir(&dir).map_err(failure)?;
    // The state file is the lock: created only if absent; a previous
    // lab's files are removed.
    let sp = claim(&dir).map_err(failure)?;
    let path = |n: &str| dir.join(n).display().to_string();
    let mut state = State {
        scenario: scenario_abs.display().to_string(),
        phase: "starting".into(),
        tap_pid: None,
        workers,
        queue,
        log: path("tap.log"),
        report: path("report.json"),
        status: path("status.json"),
        dropped: path("dropped.pcap"),
        hosts: lab_hosts,
    };
    write_state(&state).map_err(failure)?;
    match bring_up(&mut state) {
        Ok(()) => {}
        Err(e) => {
            let _ = teardown(&state);
            let _ = std::fs::remove_file(&sp);
            return Err(e);
        }
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "lab up: {} host(s) of `{}`, zprsim tap pid {}",
        state.hosts.len(),
        state.scenario,
        state.tap_pid.unwrap_or(0)
    );
    for h in &state.hosts {
        let _ = writeln!(
            t,
            "  {:<20} {:<36} {} via {}  (netns {}, {})",
            h.name,
            h.kind,
            h.addrs.join(" "),
            if h.gateways.is_empty() {
                "on-link default route".to_owned()
            } else {
                h.gateways.join(" ")
            },
            h.netns,
            h.iface
        );
    }
    let _ = writeln!(
        t,
        "run commands with `zprsim lab exec HOST -- COMMAND`, watch with `zprsim lab status`, stop with `zprsim lab down`"
    );
    out(&t)?;
    Ok(ExitCode::SUCCESS)
}

fn bring_up(state: &mut State) -> Result<(), Failure> {
    lab::add_devices(state).map_err(failure)?;
    let _ = std::fs::remove_file(&state.status);
    let exe = std::env::current_exe().map_err(|e| {
        Failure::Input(format!(
            "error: cannot find the zprsim binary: {}",
            io_message(&e)
        ))
    })?;
    let log_error = |e: std::io::Error| Failure::Input(io_error(Path::new(&state.log), &e));
    let log = std::fs::File::create(&state.log).map_err(log_error)?;
    let log2 = log.try_clone().map_err(log_error)?;
    let mut cmd = Command::new(exe);
    cmd.arg("tap").arg(&state.scenario);
    for h in &state.hosts {
        cmd.arg("--attach").arg(format!("{}={}", h.name, h.iface));
    }
    cmd.args(["--workers", &state.workers.to_string()])
        .args(["--queue", &state.queue.to_string()])
        .args(["--report", &state.report])
        .args(["--status", &state.status])
        .args(["--dropped", &state.dropped])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    // Its own process group: a Ctrl-C in the shell that ran `lab up` does
    // not reach it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| {
        Failure::Input(format!(
            "error: cannot start zprsim tap: {}",
            io_message(&e)
        ))
    })?;
    state.tap_pid = Some(child.id());
    write_state(state).map_err(failure)?;
    // Ready when it has written its first status.
    let t0 = Instant::now();
    loop {
        if Path::new(&state.status).exists() {
            break;
        }
        if let Ok(Some(st)) = child.try_wait() {
            let log = std::fs::read_to_string(&state.log).unwrap_or_default();
            return Err(Failure::Input(format!(
                "error: zprsim tap exited ({st}) before it was ready:\n{}",
                log.trim_end()
            )));
        }
        if t0.elapsed() > Duration::from_secs(15) {
            return Err(Failure::Input(
                "error: zprsim tap was not ready after 15 s".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for h in &state.hosts {
        lab::configure_host(h).map_err(failure)?;
    }
    state.phase = "up".into();
    write_state(state).map_err(failure)
}

fn down() -> Result<ExitCode, Failure> {
    let Some(state) = read_state().map_err(failure)? else {
        out("no lab is up\n")?;
        return Ok(ExitCode::SUCCESS);
    };
    let left = teardown(&state);
    let _ = std::fs::remove_file(&state.status);
    let mut t = String::new();
    if left.is_empty() {
        std::fs::remove_file(state_path())
            .map_err(|e| Failure::Input(io_error(&state_path(), &e)))?;
        let _ = writeln!(
            t,
            "lab down: {} namespace(s) and device(s) removed",
            state.hosts.len()
        );
    }
    match read_json(&state.report).filter(|v| written_by(v, state.tap_pid)) {
        Some(v) => {
            t.push_str(&crate::tap::summary_of(&v));
            let _ = writeln!(
                t,
                "final report: {}; dropped frames: {}; log: {}",
                state.report, state.dropped, state.log
            );
        }
        None => {
            let _ = writeln!(
                t,
                "the tap left no final report (it may have crashed); its log: {}",
                state.log
            );
        }
    }
    out(&t)?;
    if left.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure::Input(format!(
            "error: could not remove {}; the state stays in `{}` for another `zprsim lab down`",
            left.join(", "),
            state_path().display()
        )))
    }
}

fn exec(host: &str, command: &[String]) -> Result<ExitCode, Failure> {
    let Some(state) = read_state().map_err(failure)? else {
        return Err(Failure::Input(
            "error: no lab is up; start one with `zprsim lab up SCENARIO HOST...`".into(),
        ));
    };
    let h = find_host(&state, host).map_err(failure)?;
    if let Some((code, why)) = command.first().and_then(|c| unrunnable(c)) {
        return Err(Failure::Exit(
            code,
            format!("error: `{}`: {why}", command[0]),
        ));
    }
    let _ = std::io::stdout().flush();
    let status = Command::new("ip")
        .args(["netns", "exec", &h.netns])
        .args(command)
        .status()
        .map_err(|e| {
            Failure::Input(format!(
                "error: cannot run `ip netns exec`: {}",
                io_message(&e)
            ))
        })?;
    let code = match status.code() {
        Some(c) => c,
        None => {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }
    };
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// `lab reload`: SIGHUP to the tap, then wait until its status shows one
/// more reload, applied or refused, and say which.
fn reload() -> Result<ExitCode, Failure> {
    let Some(state) = read_state().map_err(failure)? else {
        return Err(Failure::Input(
            "error: no lab is up; start one with `zprsim lab up SCENARIO HOST...`".into(),
        ));
    };
    let Some(pid) = state.tap_pid.filter(|p| tap_alive(*p)) else {
        return Err(Failure::Input(format!(
            "error: the lab's tap is not running; see {} and run `zprsim lab down`",
            state.log
        )));
    };
    let counts = || {
        read_json(&state.status)
            .filter(|v| written_by(v, Some(pid)))
            .map(|v| {
                let n = |p: &str| {
                    v.pointer(p)
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or(0)
                };
                (n("/reload/reloads"), n("/reload/failures"), v)
            })
    };
    let (reloads, failures, _) = counts().unwrap_or((0, 0, serde_json::Value::Null));
    sys::signal_process(pid, sys::SIGHUP).map_err(|e| {
        Failure::Input(format!(
            "error: cannot signal the tap (pid {pid}): {}",
            io_message(&e)
        ))
    })?;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
        let Some((r, f, v)) = counts() else { continue };
        if r > reloads {
            out(&format!(
                "reloaded `{}`: the new scenario is in force for new packets\n",
                state.scenario
            ))?;
            return Ok(ExitCode::SUCCESS);
        }
        if f > failures {
            let why = v
                .pointer("/reload/last_error")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("no reason given")
                .to_owned();
            return Err(Failure::Input(format!(
                "error: reload refused, the old scenario stays in force: {why}"
            )));
        }
        if !tap_alive(pid) {
            break;
        }
    }
    Err(Failure::Input(format!(
        "error: the tap (pid {pid}) did not report the reload; see {}",
        state.log
    )))
}

fn status(json: bool) -> Result<ExitCode, Failure> {
    let Some(state) = read_state().map_err(failure)? else {
        out("no lab is up\n")?;
        return Ok(ExitCode::from(1));
    };
    let alive = state.tap_pid.is_some_and(tap_alive);
    let live = read_json(&state.status).filter(|v| written_by(v, state.tap_pid));
    if json {
        let v = serde_json::json!({
            "state": state,
            "tap_running": alive,
            "report": live,
        });
        out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = String::new();
    let _ = writeln!(t, "lab ({}) of `{}`", state.phase, state.scenario);
    for h in &state.hosts {
        let _ = writeln!(
            t,
            "  {:<20} {:<36} {:<32} netns {}",
            h.name,
            h.kind,
            h.addrs.join(" "),
            h.netns
        );
    }
    match (state.tap_pid, alive) {
        (Some(pid), true) => {
            let _ = writeln!(t, "zprsim tap pid {pid}: running (log {})", state.log);
        }
        (Some(pid), false) => {
            let _ = writeln!(
                t,
                "zprsim tap pid {pid}: NOT running; see {} and run `zprsim lab down`",
                state.log
            );
        }
        (None, _) => {
            let _ = writeln!(t, "zprsim tap: not started");
        }
    }
    if let Some(v) = &live {
        t.push_str(&crate::tap::summary_of(v));
    }
    out(&t)?;
    Ok(ExitCode::SUCCESS)
}
