//! The lab's state: the state directory, the state file (`state.json`)
//! naming every host's namespace and device and the tap's pid and files,
//! and the JSON files the tap writes there.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LabError;
use crate::output::{OutputFile, io_message, shown};

/// One host of the lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabHost {
    /// As given to `lab up`: a VNIC name or an address.
    pub name: String,
    /// What it stands for, in words (a VNIC, a workload in a subnet, an
    /// external client).
    pub kind: String,
    /// Its network namespace.
    pub netns: String,
    /// Its TAP device.
    pub iface: String,
    /// Its addresses with their prefix lengths (`10.0.1.10/24`).
    pub addrs: Vec<String>,
    /// Its default gateways (none: an on-link default route).
    pub gateways: Vec<String>,
}

/// The state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The scenario, as an absolute path.
    pub scenario: String,
    /// `starting`, then `up`.
    pub phase: String,
    /// The tap's process id, once started.
    pub tap_pid: Option<u32>,
    /// Worker threads of the tap.
    pub workers: usize,
    /// Frames queued per worker of the tap at most.
    #[serde(default)]
    pub queue: usize,
    /// The tap's log.
    pub log: String,
    /// The tap's final report.
    pub report: String,
    /// The tap's live status.
    pub status: String,
    /// The tap's dropped frames.
    pub dropped: String,
    /// The hosts, in the order given.
    pub hosts: Vec<LabHost>,
}

/// The files of one lab in the state directory (besides `state.json`).
pub const LAB_FILES: [&str; 4] = ["tap.log", "report.json", "status.json", "dropped.pcap"];

/// The user id of this process (the owner of `/proc/self`), without
/// `unsafe` libc calls.
fn uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(0, |m| m.uid())
}

/// The state directory: `ZPRSIM_LAB_DIR`, else one per user (see the
/// module documentation).
#[must_use]
pub fn lab_dir() -> PathBuf {
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
///
/// # Errors
/// It cannot be created, is not a directory, is another user's, or others
/// may write in it.
pub fn ensure_lab_dir(dir: &Path) -> Result<(), LabError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let fail =
        |e: &dyn std::fmt::Display| LabError::new(format!("state directory `{}`: {e}", shown(dir)));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| fail(&io_message(&e)))?;
    let m = std::fs::symlink_metadata(dir).map_err(|e| fail(&io_message(&e)))?;
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

/// The prefix of every name the lab makes: `ZPRSIM_LAB_PREFIX`, else `zl`.
///
/// # Errors
/// A prefix that is not 1 to 6 letters or digits.
pub fn prefix() -> Result<String, LabError> {
    let p = std::env::var("ZPRSIM_LAB_PREFIX").unwrap_or_else(|_| "zl".into());
    if p.is_empty() || p.len() > 6 || !p.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(LabError::new(format!(
            "`ZPRSIM_LAB_PREFIX={p}`: expected 1 to 6 letters or digits"
        )));
    }
    Ok(p)
}

/// `host` as a part of a namespace name: letters, digits, `-` and `_`
/// (anything else a `-`), at most 40 characters, no `-` at either end.
#[must_use]
pub fn sanitize(host: &str) -> String {
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

/// The state file's path.
#[must_use]
pub fn state_path() -> PathBuf {
    lab_dir().join("state.json")
}

/// The state of the lab that is up, if any.
///
/// # Errors
/// The state file cannot be read or is not a lab's state.
pub fn read_state() -> Result<Option<State>, LabError> {
    let p = state_path();
    match std::fs::read_to_string(&p) {
        Ok(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| LabError::new(format!("state `{}`: {e}", shown(&p)))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LabError::new(format!(
            "state `{}`: {}",
            shown(&p),
            io_message(&e)
        ))),
    }
}

/// Writes the state file through a temporary file beside it and a rename
/// ([`OutputFile`]), so a reader never sees half a file and a failed
/// write leaves the old one.
///
/// # Errors
/// The file cannot be written.
pub fn write_state(s: &State) -> Result<(), LabError> {
    let path = state_path();
    let err = |e: &dyn std::fmt::Display| LabError::new(e.to_string());
    let mut text = serde_json::to_string_pretty(s).map_err(|e| err(&e))?;
    text.push('\n');
    let mut f = OutputFile::create("state", &path).map_err(|e| err(&e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| LabError::new(format!("state `{}`: {}", shown(&path), io_message(&e))))?;
    f.commit().map_err(|e| err(&e))
}

/// Makes this process the lab's owner: creates the state file (the lock:
/// only if absent) in `dir`, then removes a previous lab's files there, so
/// that none of them (its report, status, pcap or log) passes for this
/// one's. Returns the state file's path.
///
/// # Errors
/// A lab is up already, or the state file cannot be created, or a previous
/// lab's file cannot be removed (the state file is removed again).
pub fn claim(dir: &Path) -> Result<PathBuf, LabError> {
    let sp = state_path();
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&sp)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(LabError::new(format!(
                "a lab is already up (state in `{}`); run `zprsim lab down` first",
                sp.display()
            )));
        }
        Err(e) => {
            return Err(LabError::new(format!(
                "state `{}`: {}",
                shown(&sp),
                io_message(&e)
            )));
        }
    }
    for f in LAB_FILES {
        match std::fs::remove_file(dir.join(f)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                let _ = std::fs::remove_file(&sp);
                return Err(LabError::new(format!(
                    "cannot remove the previous lab's `{}`: {}",
                    shown(&dir.join(f)),
                    io_message(&e)
                )));
            }
        }
    }
    Ok(sp)
}

/// Reads a JSON file the tap wrote, if it is there and whole.
#[must_use]
pub fn read_json(path: &str) -> Option<serde_json::Value> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
}

/// Whether a report or status was written by this lab's tap (its `pid`).
#[must_use]
pub fn written_by(v: &serde_json::Value, pid: Option<u32>) -> bool {
    pid.is_some_and(|p| v.get("pid").and_then(serde_json::Value::as_u64) == Some(u64::from(p)))
}

/// The host of `state` that `host` names: by its name as given, its
/// namespace, or one of its addresses.
///
/// # Errors
/// No host of the lab is named so (the message lists them).
pub fn find_host<'a>(state: &'a State, host: &str) -> Result<&'a LabHost, LabError> {
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
            LabError::new(format!(
                "no host `{host}` in the lab (hosts: {})",
                names.join(", ")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, netns: &str, addrs: &[&str]) -> LabHost {
        LabHost {
            name: name.into(),
            kind: "VNIC".into(),
            netns: netns.into(),
            iface: "zlt0".into(),
            addrs: addrs.iter().map(|a| (*a).to_owned()).collect(),
            gateways: Vec::new(),
        }
    }

    #[test]
    fn a_host_is_found_by_name_namespace_or_address() {
        let state = State {
            scenario: "/s.toml".into(),
            phase: "up".into(),
            tap_pid: Some(7),
            workers: 1,
            queue: 1024,
            log: "tap.log".into(),
            report: "report.json".into(),
            status: "status.json".into(),
            dropped: "dropped.pcap".into(),
            hosts: vec![
                host("web", "zl-0-web", &["10.0.1.10/24"]),
                host(
                    "10.0.2.20",
                    "zl-1-10-0-2-20",
                    &["10.0.2.20/24", "fd00::20/64"],
                ),
            ],
        };
        let name = |h: Result<&LabHost, LabError>| h.map(|h| h.name.clone());
        assert_eq!(name(find_host(&state, "web")), Ok("web".into()));
        assert_eq!(name(find_host(&state, "zl-0-web")), Ok("web".into()));
        assert_eq!(name(find_host(&state, "fd00::20")), Ok("10.0.2.20".into()));
        assert_eq!(
            find_host(&state, "db").map(|h| h.name.clone()),
            Err(LabError::new(
                "no host `db` in the lab (hosts: web, 10.0.2.20)"
            ))
        );
        // The state file reads back as written (`queue` absent: 0).
        let text = serde_json::to_string(&state).unwrap_or_default();
        let back: State = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, state);
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.remove("queue");
        }
        let old: State = serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(old.queue, 0);
    }

    #[test]
    fn names_are_sanitized_and_reports_told_by_pid() {
        assert_eq!(sanitize("10.0.1.10"), "10-0-1-10");
        assert_eq!(sanitize("fd00::1"), "fd00--1");
        assert_eq!(sanitize("web_1"), "web_1");
        assert_eq!(sanitize(&"x".repeat(50)).len(), 40);
        let v = serde_json::json!({ "pid": 42 });
        assert!(written_by(&v, Some(42)));
        assert!(!written_by(&v, Some(43)));
        assert!(!written_by(&v, None));
    }
}
