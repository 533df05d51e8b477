//! The three system calls the TAP router needs that the standard library
//! does not wrap: attaching to a TAP device (`TUNSETIFF`), waiting for a
//! frame with a timeout (`poll`), and signalling a process (`kill`).
//!
//! `unsafe` is allowed in this module only. Each block calls one libc
//! function with arguments built right here; the `// SAFETY:` comments say
//! why each is sound. Raw `ioctl` was chosen over the tun-rs crate (which
//! the crates note also verified) because it is about 25 lines and adds no
//! dependency.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;

/// A TAP device (Ethernet frames, no packet-information header) opened by
/// name; created if missing (then it disappears when the process ends),
/// attached if it already exists (a persistent TAP made by
/// `ip tuntap add NAME mode tap`).
#[derive(Debug)]
pub struct TapDevice {
    file: File,
    name: String,
}

/// Checks an interface name: 1 to 15 bytes, no `/`, no whitespace, no NUL.
///
/// # Errors
/// `InvalidInput` with a message naming the problem.
pub fn check_ifname(name: &str) -> io::Result<()> {
    if name.is_empty()
        || name.len() >= libc::IFNAMSIZ
        || name
            .bytes()
            .any(|b| b == b'/' || b == 0 || b.is_ascii_whitespace() || b == b':')
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "`{name}` is not an interface name (1 to {} bytes, no `/`, `:` or spaces)",
                libc::IFNAMSIZ - 1
            ),
        ));
    }
    Ok(())
}

impl TapDevice {
    /// Opens (creating if needed) the TAP device `name`.
    ///
    /// # Errors
    /// A bad name, no `/dev/net/tun`, no permission, or a device of that
    /// name that is not a TAP.
    pub fn open(name: &str) -> io::Result<TapDevice> {
        check_ifname(name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")?;
        // SAFETY: `ifreq` is a plain C struct (arrays and a union of
        // integers and pointers); all-zero bytes are a valid value of it.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        for (slot, b) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
            *slot = libc::c_char::from_ne_bytes([b]);
        }
        // INVARIANT: check_ifname keeps at least one trailing NUL in ifr_name.
        let flags = libc::IFF_TAP | libc::IFF_NO_PI;
        ifr.ifr_ifru.ifru_flags = libc::c_short::try_from(flags).unwrap_or(0);
        // SAFETY: TUNSETIFF reads and writes one `ifreq`, which `ifr` is,
        // alive and exclusively borrowed for the call; the fd is open.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF as _, &mut ifr) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(TapDevice {
            file,
            name: name.to_owned(),
        })
    }

    /// The interface name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits up to `timeout_ms` for a frame and reads it into `buf`;
    /// `Ok(None)` when none came.
    ///
    /// # Errors
    /// Errors of `poll` or `read` other than an interrupted call.
    pub fn recv(&self, buf: &mut [u8], timeout_ms: i32) -> io::Result<Option<usize>> {
        let mut pfd = libc::pollfd {
            fd: self.file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid `pollfd`, exclusively borrowed, count 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(None)
            } else {
                Err(e)
            };
        }
        if rc == 0 || pfd.revents & libc::POLLIN == 0 {
            if pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                return Err(io::Error::other("the device reported an error"));
            }
            return Ok(None);
        }
        match (&self.file).read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Writes one frame. A device whose link is down answers `EIO`: the
    /// caller counts that as a frame not delivered.
    ///
    /// # Errors
    /// The error of `write`.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        (&self.file).write(frame).map(|_| ())
    }
}

/// The MAC address of interface `name` in this network namespace, from
/// sysfs.
#[must_use]
pub fn interface_mac(name: &str) -> Option<[u8; 6]> {
    check_ifname(name).ok()?;
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/address")).ok()?;
    parse_mac(text.trim())
}

/// Parses `aa:bb:cc:dd:ee:ff`.
#[must_use]
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Sends signal `sig` to process `pid` (`kill(2)`); `sig` 0 only checks
/// that the process exists.
///
/// # Errors
/// `ESRCH` when there is no such process, `EPERM` when not allowed.
pub fn signal_process(pid: u32, sig: i32) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "bad process id"))?;
    // SAFETY: kill(2) takes two integers and touches no memory of ours; a
    // positive pid names one process, never a group.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `SIGTERM`.
pub const SIGTERM: i32 = libc::SIGTERM;
/// `SIGKILL`.
pub const SIGKILL: i32 = libc::SIGKILL;
/// `SIGHUP`.
pub const SIGHUP: i32 = libc::SIGHUP;
/// `SIGINT`.
pub const SIGINT: i32 = libc::SIGINT;
