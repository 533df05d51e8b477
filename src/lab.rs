//! `zprsim lab up|exec|status|down`: network namespaces, one per host of a
//! scenario, behind one `zprsim tap`.
//!
//! Everything the lab makes is named from a fixed prefix (`zl` unless
//! `ZPRSIM_LAB_PREFIX` says otherwise): namespace `zl-<n>-<host>` and TAP
//! device `zlt<n>` for host number `n`. The names, the tap's pid and its
//! file paths are written to a state file (`state.json` in the state
//! directory, see [`lab_dir`]) *before* anything is created, so `status`,
//! `exec`, `reload` and `down` work from any process, and `down` removes
//! everything by name even after a crash of the tap or of `up` itself.
//!
//! The state directory is the user's own (mode 0700): `ZPRSIM_LAB_DIR`, else
//! `$XDG_RUNTIME_DIR/zprsim-lab`, else `/run/user/UID/zprsim-lab`, else
//! `/tmp/zprsim-lab-UID`. `up` empties it of a previous lab's files before
//! it starts, and `down` shows a final report only when this lab's tap
//! wrote it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
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

/// One host of the lab.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LabHost {
    name: String,
    kind: String,
    netns: String,
    iface: String,
    addrs: Vec<String>,
    gateways: Vec<String>,
}

/// The state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    scenario: String,
    phase: String,
    tap_pid: Option<u32>,
    workers: usize,
    #[serde(default)]
    queue: usize,
    log: String,
    report: String,
    status: String,
    dropped: String,
    hosts: Vec<LabHost>,
}

/// The user id of this process (the owner of `/proc/self`), without
/// `unsafe` libc calls.
fn uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(0, |m| m.uid())
}

/// The state directory: `ZPRSIM_LAB_DIR`, else one per user (see the
/// module documentation).
fn lab_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ZPRSIM_LAB_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("zprsim-lab");
    }
    let run_user = PathBuf::from(format!("/run/user/{}", uid()));
    if run_user.is_dir() {
        return run_user.join("zprsim-lab");
    }
    PathBuf::from(format!("/tmp/zprsim-lab-{}", uid()))
}

/// Creates the state directory (mode 0700) or checks the one there: a
/// directory (not a symlink) of this user that nobody else can write, so
/// another user cannot plant a state file or a report in it.
fn ensure_lab_dir(dir: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let fail = |e: &dyn std::fmt::Display| {
        Failure::Input(format!("error: state directory `{}`: {e}", dir.display()))
    };
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) => return Err(fail(&e)),
    }
    let m = std::fs::symlink_metadata(dir).map_err(|e| fail(&e))?;
    if !m.is_dir() {
        return Err(fail(&"not a directory"));
    }
    if m.uid() != uid() {
        return Err(fail(&format!(
            "owned by user {}, not by this user ({}); set `ZPRSIM_LAB_DIR` to a directory of yours",
            m.uid(),
            uid()
        )));
    }
    if m.mode() & 0o022 != 0 {
        return Err(fail(&format!(
            "others may write in it (mode {:o}); run `chmod 700 {}`",
            m.mode() & 0o777,
            dir.display()
        )));
    }
    Ok(())
}

fn prefix() -> Result<String, Failure> {
    let p = std::env::var("ZPRSIM_LAB_PREFIX").unwrap_or_else(|_| "zl".into());
    if p.is_empty() || p.len() > 6 || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Failure::Input(format!(
            "error: `ZPRSIM_LAB_PREFIX={p}`: expected 1 to 6 letters or digits"
        )));
    }
    Ok(p)
}

fn state_path() -> PathBuf {
    lab_dir().join("state.json")
}

fn read_state() -> Result<Option<State>, Failure> {
    let p = state_path();
    match std::fs::read_to_string(&p) {
        Ok(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| Failure::Input(format!("error: {}: {e}", p.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::Input(format!("error: {}: {e}", p.display()))),
    }
}

fn write_state(s: &State) -> Result<(), Failure> {
    crate::tap::write_json_atomic("state", &state_path(), s)
}

/// The files of one lab in the state directory (besides `state.json`).
const LAB_FILES: [&str; 4] = ["tap.log", "report.json", "status.json", "dropped.pcap"];

/// Reads a JSON file the tap wrote, if it is there and whole.
fn read_json(path: &str) -> Option<serde_json::Value> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
}

/// Whether a report or status was written by this lab's tap (its `pid`).
fn written_by(v: &serde_json::Value, pid: Option<u32>) -> bool {
    pid.is_some_and(|p| v.get("pid").and_then(serde_json::Value::as_u64) == Some(u64::from(p)))
}

/// Runs `ip ARGS...`; the error names the command and repeats its stderr.
fn ip(args: &[&str]) -> Result<(), Failure> {
    let o = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Failure::Input(format!("error: cannot run `ip`: {e}")))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(Failure::Input(format!(
            "error: `ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        )))
    }
}

/// Writes a sysctl inside a namespace (through `/proc/sys`, so no
/// `sysctl` binary is needed).
fn ns_sysctl(ns: &str, key: &str, value: &str) -> Result<(), Failure> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let o = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "sh",
            "-c",
            &format!("echo {value} > {path}"),
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Failure::Input(format!("error: cannot run `ip`: {e}")))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(Failure::Input(format!(
            "error: cannot set `{key}` in `{ns}`: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )))
    }
}

fn sanitize(host: &str) -> String {
    let s: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    s.trim_matches('-').to_owned()
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
    let prefix = prefix()?;
    let loaded = scenario_file::load_path(scenario)?;
    let mut lab_hosts = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        if hosts[..i].contains(h) {
            return Err(Failure::Input(format!("error: host `{h}` is given twice")));
        }
        let hp = host_plan(&loaded.scenario, &Host::parse(h))
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
    let scenario_abs = std::fs::canonicalize(scenario)
        .map_err(|e| Failure::Input(format!("error: {}: {e}", scenario.display())))?;
    let dir = lab_dir();
    ensure_lab_dir(&dir)?;
    // The state file is the lock: created only if absent.
    let sp = state_path();
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&sp)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Failure::Input(format!(
                "error: a lab is already up (state in `{}`); run `zprsim lab down` first",
                sp.display()
            )));
        }
        Err(e) => return Err(Failure::Input(format!("error: {}: {e}", sp.display()))),
    }
    // A clean start: nothing of a previous lab (its report, status, pcap or
    // log) may pass for this one's.
    for f in LAB_FILES {
        match std::fs::remove_file(dir.join(f)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                let _ = std::fs::remove_file(&sp);
                return Err(Failure::Input(format!(
                    "error: cannot remove the previous lab's `{}`: {e}",
                    dir.join(f).display()
                )));
            }
        }
    }
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
    write_state(&state)?;
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
    for h in &state.hosts {
        ip(&["netns", "add", &h.netns])?;
        ip(&["tuntap", "add", "dev", &h.iface, "mode", "tap"])?;
    }
    let _ = std::fs::remove_file(&state.status);
    let exe = std::env::current_exe()
        .map_err(|e| Failure::Input(format!("error: cannot find the zprsim binary: {e}")))?;
    let log = std::fs::File::create(&state.log)
        .map_err(|e| Failure::Input(format!("error: {}: {e}", state.log)))?;
    let log2 = log
        .try_clone()
        .map_err(|e| Failure::Input(format!("error: {}: {e}", state.log)))?;
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
    let mut child = cmd
        .spawn()
        .map_err(|e| Failure::Input(format!("error: cannot start zprsim tap: {e}")))?;
    state.tap_pid = Some(child.id());
    write_state(state)?;
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
        let ns = h.netns.as_str();
        let dev = h.iface.as_str();
        ip(&["link", "set", dev, "netns", ns])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        let has_v6 = h.addrs.iter().any(|a| a.contains(':'));
        if has_v6 {
            // No duplicate address detection: the address is usable at once.
            ns_sysctl(ns, &format!("net.ipv6.conf.{dev}.accept_dad"), "0")?;
        } else {
            // No IPv6 at all: no router solicitations or MLD reports.
            ns_sysctl(ns, &format!("net.ipv6.conf.{dev}.disable_ipv6"), "1")?;
        }
        ip(&["-n", ns, "link", "set", dev, "up"])?;
        for a in &h.addrs {
            if a.contains(':') {
                ip(&["-n", ns, "addr", "add", a, "dev", dev, "nodad"])?;
            } else {
                ip(&["-n", ns, "addr", "add", a, "dev", dev])?;
            }
        }
        let has_v4 = h.addrs.iter().any(|a| !a.contains(':'));
        let gw4 = h.gateways.iter().find(|g| !g.contains(':'));
        let gw6 = h.gateways.iter().find(|g| g.contains(':'));
        if has_v4 {
            match gw4 {
                Some(g) => ip(&["-n", ns, "route", "add", "default", "via", g, "dev", dev])?,
                None => ip(&["-n", ns, "route", "add", "default", "dev", dev])?,
            }
        }
        if has_v6 {
            match gw6 {
                Some(g) => ip(&[
                    "-n", ns, "-6", "route", "add", "default", "via", g, "dev", dev,
                ])?,
                None => ip(&["-n", ns, "-6", "route", "add", "default", "dev", dev])?,
            }
        }
    }
    state.phase = "up".into();
    write_state(state)
}

/// Whether `pid` is a live (not zombie) zprsim tap process.
fn tap_alive(pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let is_tap = args.get(1).is_some_and(|a| *a == b"tap")
        && args
            .first()
            .is_some_and(|a| String::from_utf8_lossy(a).contains("zprsim"));
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(true);
    is_tap && !zombie
}

/// Stops the tap and removes every namespace and device, by name.
/// Returns what could not be removed.
fn teardown(state: &State) -> Vec<String> {
    if let Some(pid) = state.tap_pid
        && tap_alive(pid)
    {
        let _ = sys::signal_process(pid, sys::SIGTERM);
        let t0 = Instant::now();
        while tap_alive(pid) && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if tap_alive(pid) {
            let _ = sys::signal_process(pid, sys::SIGKILL);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let mut left = Vec::new();
    for h in &state.hosts {
        // Processes still running inside (servers started with `exec`).
        if let Ok(o) = Command::new("ip")
            .args(["netns", "pids", &h.netns])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
        {
            for pid in String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok())
            {
                let _ = sys::signal_process(pid, sys::SIGKILL);
            }
        }
        let _ = ip(&["-n", &h.netns, "link", "del", &h.iface]);
        let _ = ip(&["link", "del", &h.iface]);
        let _ = ip(&["netns", "del", &h.netns]);
        if Path::new("/run/netns").join(&h.netns).exists() {
            left.push(format!("namespace `{}`", h.netns));
        }
        if Path::new("/sys/class/net").join(&h.iface).exists() {
            left.push(format!("device `{}`", h.iface));
        }
    }
    if let Some(pid) = state.tap_pid
        && tap_alive(pid)
    {
        left.push(format!("process {pid}"));
    }
    left
}

fn down() -> Result<ExitCode, Failure> {
    let Some(state) = read_state()? else {
        out("no lab is up\n")?;
        return Ok(ExitCode::SUCCESS);
    };
    let left = teardown(&state);
    let _ = std::fs::remove_file(&state.status);
    let mut t = String::new();
    if left.is_empty() {
        std::fs::remove_file(state_path())
            .map_err(|e| Failure::Input(format!("error: {}: {e}", state_path().display())))?;
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

fn find_host<'a>(state: &'a State, host: &str) -> Result<&'a LabHost, Failure> {
    let as_addr = host.parse::<IpAddr>().ok();
    state
        .hosts
        .iter()
        .find(|h| {
            h.name == host
                || h.netns == host
                || as_addr.is_some_and(|a| {
                    h.addrs
                        .iter()
                        .any(|x| x.split('/').next().and_then(|s| s.parse().ok()) == Some(a))
                })
        })
        .ok_or_else(|| {
            let names: Vec<&str> = state.hosts.iter().map(|h| h.name.as_str()).collect();
            Failure::Input(format!(
                "error: no host `{host}` in the lab (hosts: {})",
                names.join(", ")
            ))
        })
}

fn exec(host: &str, command: &[String]) -> Result<ExitCode, Failure> {
    let Some(state) = read_state()? else {
        return Err(Failure::Input(
            "error: no lab is up; start one with `zprsim lab up SCENARIO HOST...`".into(),
        ));
    };
    let h = find_host(&state, host)?;
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
        .map_err(|e| Failure::Input(format!("error: cannot run `ip netns exec`: {e}")))?;
    let code = match status.code() {
        Some(c) => c,
        None => {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }
    };
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// Why a command cannot run, with the shell's exit status for it: 127 when
/// it is not found (on `PATH`, or at the path given), 126 when it is found
/// but is not an executable file.
fn unrunnable(cmd: &str) -> Option<(u8, String)> {
    use std::os::unix::fs::PermissionsExt;
    let check = |p: &Path| -> Option<Option<(u8, String)>> {
        let m = std::fs::metadata(p).ok()?;
        if m.is_file() && m.permissions().mode() & 0o111 != 0 {
            Some(None)
        } else {
            Some(Some((126, format!("`{}` is not executable", p.display()))))
        }
    };
    if cmd.contains('/') {
        return check(Path::new(cmd)).unwrap_or_else(|| Some((127, "no such file".into())));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut not_exec = None;
    for dir in std::env::split_paths(&path) {
        match check(&dir.join(cmd)) {
            Some(None) => return None,
            Some(Some(e)) => not_exec = not_exec.or(Some(e)),
            None => {}
        }
    }
    Some(not_exec.unwrap_or_else(|| (127, "command not found".into())))
}

/// `lab reload`: SIGHUP to the tap, then wait until its status shows one
/// more reload, applied or refused, and say which.
fn reload() -> Result<ExitCode, Failure> {
    let Some(state) = read_state()? else {
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
    sys::signal_process(pid, sys::SIGHUP)
        .map_err(|e| Failure::Input(format!("error: cannot signal the tap (pid {pid}): {e}")))?;
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
    let Some(state) = read_state()? else {
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
