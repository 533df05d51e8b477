//! The lab's namespaces and devices, made and removed with `ip`, and the
//! tap's process.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{LabError, LabHost, State};
use crate::tap::sys;

/// Runs `ip ARGS...` and returns what it said.
fn ip_output(args: &[&str]) -> Result<std::process::Output, LabError> {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            LabError::new(format!(
                "cannot run `ip`: {}",
                crate::output::io_message(&e)
            ))
        })
}

/// Runs `ip ARGS...`; the error names the command and repeats its stderr.
fn ip(args: &[&str]) -> Result<(), LabError> {
    let o = ip_output(args)?;
    if o.status.success() {
        Ok(())
    } else {
        Err(LabError::new(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        )))
    }
}

/// Writes a sysctl inside a namespace (through `/proc/sys`, so no
/// `sysctl` binary is needed).
fn ns_sysctl(ns: &str, key: &str, value: &str) -> Result<(), LabError> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let o = ip_output(&[
        "netns",
        "exec",
        ns,
        "sh",
        "-c",
        &format!("echo {value} > {path}"),
    ])?;
    if o.status.success() {
        Ok(())
    } else {
        Err(LabError::new(format!(
            "cannot set `{key}` in `{ns}`: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )))
    }
}

/// Creates every host's namespace and TAP device (the tap opens the
/// devices before they move into the namespaces).
///
/// # Errors
/// The first `ip` command that fails.
pub fn add_devices(state: &State) -> Result<(), LabError> {
    for h in &state.hosts {
        ip(&["netns", "add", &h.netns])?;
        ip(&["tuntap", "add", "dev", &h.iface, "mode", "tap"])?;
    }
    Ok(())
}

/// Moves `h`'s device into its namespace and sets it up: loopback and the
/// device up, its addresses (IPv6 without duplicate address detection, or
/// IPv6 off when it has none), and a default route per family it has, via
/// its gateway or on-link.
///
/// # Errors
/// The first `ip` command or sysctl that fails.
pub fn configure_host(h: &LabHost) -> Result<(), LabError> {
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
    Ok(())
}

/// Whether `pid` is a live (not zombie) zprsim tap process.
#[must_use]
pub fn tap_alive(pid: u32) -> bool {
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
#[must_use]
pub fn teardown(state: &State) -> Vec<String> {
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
