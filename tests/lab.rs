//! The TAP lab end to end: `zprsim lab up` on tests/lab/scenario.toml,
//! real TCP, UDP and ping between network namespaces through `zprsim tap`,
//! then the tap's report.
//!
//! Needs root, /dev/net/tun, `ip`, `nc` (netcat-openbsd) and `ping`
//! (.ci/run installs them); without them each test says it is skipped.
//! Traffic only goes to addresses inside namespaces these tests create.
//! Each test has its own lab directory and name prefix, and the tests run
//! one at a time (one lock) so they do not compete for the 2 cores; a
//! guard runs `zprsim lab down` even when an assertion fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

static LOCK: Mutex<()> = Mutex::new(());

const SCENARIO: &str = "tests/lab/scenario.toml";

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Why the lab cannot run here, if it cannot.
fn skip_reason() -> Option<String> {
    if !is_root() || !Path::new("/dev/net/tun").exists() {
        return Some("needs root and /dev/net/tun".into());
    }
    for c in ["ip", "nc", "ping"] {
        if !have(c) {
            return Some(format!("needs `{c}` (installed by .ci/run)"));
        }
    }
    None
}

macro_rules! need_lab {
    ($name:expr) => {
        if let Some(why) = skip_reason() {
            // Straight to stderr, not `eprintln!`: the test harness
            // captures the macros, so the skip shows in normal output.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("SKIPPED {}: {why}\n", $name).as_bytes(),
            );
            return;
        }
    };
}

/// One lab, torn down on drop.
struct Lab {
    dir: tempfile::TempDir,
    prefix: &'static str,
    servers: std::cell::RefCell<Vec<std::process::Child>>,
}

impl Lab {
    fn up(prefix: &'static str, scenario: &Path, hosts: &[&str], extra: &[&str]) -> Lab {
        let lab = Lab {
            dir: tempfile::tempdir().unwrap(),
            prefix,
            servers: std::cell::RefCell::new(Vec::new()),
        };
        let mut args = vec!["lab", "up", scenario.to_str().unwrap()];
        args.extend_from_slice(hosts);
        args.extend_from_slice(extra);
        let o = lab.zprsim(&args);
        assert!(
            o.status.success(),
            "lab up failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        lab
    }

    fn zprsim(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_zprsim"))
            .args(args)
            .env("ZPRSIM_LAB_DIR", self.dir.path())
            .env("ZPRSIM_LAB_PREFIX", self.prefix)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs a shell command inside a host, bounded by `timeout`.
    fn sh(&self, host: &str, script: &str) -> Output {
        let bounded = format!("timeout 10 sh -c '{}'", script.replace('\'', "'\\''"));
        self.zprsim(&["lab", "exec", host, "--", "sh", "-c", &bounded])
    }

    /// Starts a TCP listener on `port` in `host` that answers `reply` and
    /// writes what it receives to a file; returns the file.
    fn listen(&self, host: &str, port: u16, reply: &str) -> PathBuf {
        let got = self.dir.path().join(format!("got-{host}-{port}"));
        let script = format!("echo {reply} | timeout 20 nc -l {port} > {}", got.display());
        let child = Command::new(env!("CARGO_BIN_EXE_zprsim"))
            .args(["lab", "exec", host, "--", "sh", "-c", &script])
            .env("ZPRSIM_LAB_DIR", self.dir.path())
            .env("ZPRSIM_LAB_PREFIX", self.prefix)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.servers.borrow_mut().push(child);
        // The listener is up when the port is bound (bounded wait).
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            let o = self.sh(host, &format!("ss -ltn | grep -q \":{port} \""));
            if o.status.success() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        got
    }

    /// Connects, sends `msg`, returns what came back (None: no connection).
    fn talk(&self, host: &str, dst: &str, port: u16, msg: &str) -> Option<String> {
        let o = self.sh(host, &format!("echo {msg} | nc -w 2 -q 1 {dst} {port}"));
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    }

    /// Whether a TCP connection opens within 2 s.
    fn connects(&self, host: &str, dst: &str, port: u16) -> bool {
        self.sh(host, &format!("nc -z -w 2 {dst} {port}"))
            .status
            .success()
    }

    fn ping(&self, host: &str, dst: &str, count: u32) -> bool {
        self.sh(host, &format!("ping -c {count} -i 0.2 -W 1 {dst}"))
            .status
            .success()
    }

    fn status(&self) -> Value {
        let o = self.zprsim(&["lab", "status", "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    }

    fn report(&self) -> Value {
        self.status()["report"].clone()
    }

    /// Waits (at most 6 s) until the live report satisfies `f`; returns it.
    fn wait_report(&self, f: impl Fn(&Value) -> bool) -> Value {
        let t0 = Instant::now();
        loop {
            let r = self.report();
            if f(&r) || t0.elapsed() > Duration::from_secs(6) {
                return r;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The report once it stops changing: two status updates (written
    /// every second) with the same frame and judged-packet counts (the
    /// workers publish theirs a little after the receive threads count
    /// the frames); at most 8 s.
    fn settled(&self) -> Value {
        let t0 = Instant::now();
        let mut last = self.report();
        loop {
            std::thread::sleep(Duration::from_millis(1100));
            let r = self.report();
            let same = ["/frames", "/packets/total"]
                .iter()
                .all(|k| n(&r, k) == n(&last, k));
            if same || t0.elapsed() > Duration::from_secs(8) {
                return r;
            }
            last = r;
        }
    }

    fn tap_pid(&self) -> u64 {
        self.status()["state"]["tap_pid"].as_u64().unwrap()
    }

    fn signal(&self, sig: &str) {
        let pid = self.tap_pid();
        let s = Command::new("sh")
            .args(["-c", &format!("kill -{sig} {pid}")])
            .status()
            .unwrap();
        assert!(s.success());
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let o = self.zprsim(&["lab", "down"]);
        if !o.status.success() {
            eprintln!("lab down failed: {}", String::from_utf8_lossy(&o.stderr));
        }
        // `down` killed what ran inside; reap the `lab exec` wrappers.
        for mut c in self.servers.borrow_mut().drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn n(v: &Value, p: &str) -> u64 {
    v.pointer(p).and_then(Value::as_u64).unwrap_or(0)
}

fn stage(v: &Value, s: &str) -> u64 {
    n(v, &format!("/dropped_by_stage/{s}"))
}

/// Held while a test has a lab up: the mutex orders this process's tests,
/// the file lock the lab tests of every process on the machine (a lab is
/// machine-wide: namespaces, links and the state directory; two checkouts
/// testing at once made each other's `lab up` fail).
struct LabLock {
    _file: std::fs::File,
    _guard: std::sync::MutexGuard<'static, ()>,
}

fn lock() -> LabLock {
    let guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join("zprsim-lab-tests.lock"))
        .unwrap();
    // An advisory lock (flock): released with the descriptor, when `file`
    // is dropped or the process dies.
    file.lock().unwrap();
    LabLock {
        _file: file,
        _guard: guard,
    }
}

#[test]
fn lab_paths_behave_as_the_policy_says_and_the_report_agrees() {
    need_lab!("lab_paths_behave_as_the_policy_says_and_the_report_agrees");
    let _g = lock();
    let lab = Lab::up(
        "zta",
        Path::new(SCENARIO),
        &["web", "db", "api", "far-1", "203.0.113.7"],
        &["--workers", "2"],
    );
    // `up` while a lab is up: exit 2, nothing changed.
    let again = lab.zprsim(&["lab", "up", SCENARIO, "web"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already up"));

    // Allowed TCP carries data both ways.
    let got = lab.listen("db", 5432, "pong-from-db");
    assert_eq!(
        lab.talk("web", "10.77.2.10", 5432, "ping-from-web")
            .as_deref(),
        Some("pong-from-db")
    );
    let t0 = Instant::now();
    while std::fs::read_to_string(&got).unwrap_or_default().is_empty()
        && t0.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&got).unwrap().trim(),
        "ping-from-web"
    );

    // Each layer denies its path, and counts it under its stage.
    let before = lab.report();
    lab.listen("db", 22, "x");
    assert!(!lab.connects("web", "10.77.2.10", 22), "NSG/list egress");
    lab.listen("web", 80, "x");
    assert!(
        !lab.connects("db", "10.77.1.10", 80),
        "security list ingress"
    );
    lab.listen("api", 8080, "x");
    assert!(!lab.connects("web", "10.77.3.10", 8080), "zpr");
    lab.listen("far-1", 5432, "x");
    assert!(!lab.connects("web", "10.78.1.10", 5432), "route");
    let after = lab.wait_report(|r| {
        ["route", "egress-security", "ingress-security", "zpr"]
            .iter()
            .all(|s| stage(r, s) > stage(&before, s))
    });
    for s in ["route", "egress-security", "ingress-security", "zpr"] {
        assert!(
            stage(&after, s) > stage(&before, s),
            "stage {s}: {} -> {}",
            stage(&before, s),
            stage(&after, s)
        );
    }
    // The ZPR statement lets the data subnet reach api on 8080.
    assert!(lab.connects("db", "10.77.3.10", 8080), "zpr allows db");
    // The external client enters through the internet gateway.
    lab.listen("web", 443, "x");
    assert!(lab.connects("203.0.113.7", "10.77.1.10", 443), "external");

    // Ping follows the ICMP rules, and the counts are exactly what was sent:
    // 3 echoes and 3 replies allowed to db (also over IPv6), 3 echoes
    // dropped at api's ingress.
    let before = lab.settled();
    assert!(lab.ping("web", "10.77.2.10", 3));
    assert!(lab.ping("web", "fd00:77:0:2::10", 3));
    assert!(!lab.ping("web", "10.77.3.10", 3));
    let want_total = n(&before, "/packets/total") + 15;
    let after = lab.wait_report(|r| n(r, "/packets/total") >= want_total);
    assert_eq!(n(&after, "/packets/total"), want_total);
    assert_eq!(
        n(&after, "/packets/allowed"),
        n(&before, "/packets/allowed") + 12
    );
    assert_eq!(
        stage(&after, "ingress-security"),
        stage(&before, "ingress-security") + 3
    );
    assert!(n(&after, "/arp_nd_answered") > 0);

    // Stateless rules: 7000 has a reply rule, 7001 has none.
    lab.listen("db", 7000, "x");
    lab.listen("db", 7001, "x");
    assert!(
        lab.connects("web", "10.77.2.10", 7000),
        "stateless with reply rule"
    );
    let before = lab.report();
    assert!(
        !lab.connects("web", "10.77.2.10", 7001),
        "stateless, no reply rule"
    );
    let after =
        lab.wait_report(|r| stage(r, "egress-security") > stage(&before, "egress-security"));
    assert!(stage(&after, "egress-security") > stage(&before, "egress-security"));

    // The final report keeps every frame in exactly one bucket.
    let report_path = PathBuf::from(lab.status()["state"]["report"].as_str().unwrap());
    let down = lab.zprsim(&["lab", "down"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(String::from_utf8_lossy(&down.stdout).contains("drops by stage"));
    let fin: Value = serde_json::from_str(&std::fs::read_to_string(report_path).unwrap()).unwrap();
    assert_eq!(
        n(&fin, "/packets/total"),
        n(&fin, "/packets/allowed") + n(&fin, "/packets/dropped")
    );
    assert_eq!(
        n(&fin, "/frames"),
        n(&fin, "/packets/total")
            + n(&fin, "/non_ip")
            + n(&fin, "/link_local")
            + n(&fin, "/overload")
            + n(&fin, "/spoofed")
    );
    assert_eq!(n(&fin, "/undeliverable"), 0);
    assert!(!fin["running"].as_bool().unwrap());
    // The warnings as objects beside the strings, one each, same text.
    let texts: Vec<&Value> = fin["warnings"].as_array().unwrap().iter().collect();
    let objects: Vec<&Value> = fin["run_warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["message"])
        .collect();
    assert_eq!(objects, texts);
    // Nothing left behind.
    let ns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&ns.stdout).contains("zta-"));
    assert!(!Path::new("/sys/class/net/ztat0").exists());
}

#[test]
fn reload_takes_effect_for_new_connections_and_a_broken_file_changes_nothing() {
    need_lab!("reload_takes_effect_for_new_connections_and_a_broken_file_changes_nothing");
    let _g = lock();
    let work = tempfile::tempdir().unwrap();
    let scenario = work.path().join("scenario.toml");
    let text = std::fs::read_to_string(SCENARIO).unwrap();
    std::fs::write(&scenario, &text).unwrap();
    let lab = Lab::up("ztb", &scenario, &["web", "db"], &[]);
    lab.listen("db", 5432, "x");
    assert!(lab.connects("web", "10.77.2.10", 5432));
    // Load while reloading: pings every 0.2 s for 4 s.
    let load = Command::new(env!("CARGO_BIN_EXE_zprsim"))
        .args([
            "lab",
            "exec",
            "web",
            "--",
            "ping",
            "-c",
            "20",
            "-i",
            "0.2",
            "-W",
            "1",
            "10.77.2.10",
        ])
        .env("ZPRSIM_LAB_DIR", lab.dir.path())
        .env("ZPRSIM_LAB_PREFIX", lab.prefix)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The new policy: db no longer accepts tcp/5432 from web.
    let changed = text.replace(
        "source = \"web-nsg\", source_type = \"NETWORK_SECURITY_GROUP\", tcp_options = { destination_port_range = { min = 5432, max = 5432 } }",
        "source = \"web-nsg\", source_type = \"NETWORK_SECURITY_GROUP\", tcp_options = { destination_port_range = { min = 5433, max = 5433 } }",
    );
    assert_ne!(changed, text);
    std::fs::write(&scenario, &changed).unwrap();
    lab.signal("HUP");
    let r = lab.wait_report(|r| n(r, "/reload/reloads") == 1);
    assert_eq!(n(&r, "/reload/reloads"), 1);
    lab.listen("db", 5432, "x");
    let before = lab.report();
    assert!(
        !lab.connects("web", "10.77.2.10", 5432),
        "new connections see the new policy"
    );
    let r = lab.wait_report(|r| stage(r, "ingress-security") > stage(&before, "ingress-security"));
    assert!(stage(&r, "ingress-security") > stage(&before, "ingress-security"));

    // A broken file: refused, the policy in force stays.
    std::fs::write(&scenario, "this is [[ not a scenario").unwrap();
    lab.signal("HUP");
    let r = lab.wait_report(|r| n(r, "/reload/failures") == 1);
    assert_eq!(n(&r, "/reload/failures"), 1);
    assert_eq!(n(&r, "/reload/reloads"), 1);
    assert!(
        r["reload"]["last_error"]
            .as_str()
            .unwrap()
            .contains("scenario.toml")
    );
    assert!(!lab.connects("web", "10.77.2.10", 5432));
    let mut load = load;
    let pings = load.wait().unwrap();
    assert!(pings.success(), "pings under reload all got replies");
    assert!(
        lab.ping("web", "10.77.2.10", 2),
        "still forwarding after a refused reload"
    );
}

#[test]
fn overload_is_dropped_and_counted_memory_stays_bounded_and_forwarding_goes_on() {
    need_lab!("overload_is_dropped_and_counted_memory_stays_bounded_and_forwarding_goes_on");
    let _g = lock();
    // Queues of 4 frames: a UDP flood (16 KiB datagrams, so 12 fragments
    // each) fills them far faster than one worker empties them.
    let lab = Lab::up(
        "ztc",
        Path::new(SCENARIO),
        &["web", "db"],
        &["--queue", "4"],
    );
    let _ = lab.sh(
        "web",
        "head -c 300000000 /dev/zero | timeout 4 nc -u -q 0 10.77.2.10 9; true",
    );
    let r = lab.wait_report(|r| n(r, "/overload") > 0);
    assert!(n(&r, "/overload") > 0, "report: {r}");
    // Memory stays bounded: the tap's peak resident set.
    let pid = lab.tap_pid();
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let hwm_kb: u64 = st
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(hwm_kb < 256 * 1024, "peak RSS {hwm_kb} KiB");
    // Allowed traffic still flows.
    lab.listen("db", 5432, "after-flood");
    assert_eq!(
        lab.talk("web", "10.77.2.10", 5432, "hello").as_deref(),
        Some("after-flood")
    );
}

/// Two namespaces and two TAPs made by the test, removed by name on drop.
struct Bridge {
    ns: [&'static str; 2],
    dev: [&'static str; 2],
    tap: Option<std::process::Child>,
    servers: Vec<std::process::Child>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        for mut c in self.tap.take().into_iter().chain(self.servers.drain(..)) {
            let _ = c.kill();
            let _ = c.wait();
        }
        for (ns, dev) in self.ns.iter().zip(self.dev) {
            let _ = Command::new("sh")
                .args(["-c", &format!("ip netns pids {ns} | xargs -r kill -9")])
                .status();
            let _ = Command::new("ip")
                .args(["-n", ns, "link", "del", dev])
                .output();
            let _ = Command::new("ip").args(["link", "del", dev]).output();
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

fn ip_ok(args: &[&str]) {
    let o = Command::new("ip").args(args).output().unwrap();
    assert!(
        o.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn bridge_mode_passes_arp_and_judges_ip_between_two_taps() {
    need_lab!("bridge_mode_passes_arp_and_judges_ip_between_two_taps");
    let _g = lock();
    let dir = tempfile::tempdir().unwrap();
    let mut b = Bridge {
        ns: ["ztd-a", "ztd-b"],
        dev: ["ztda", "ztdb"],
        tap: None,
        servers: Vec::new(),
    };
    for (ns, dev) in b.ns.iter().zip(b.dev) {
        ip_ok(&["netns", "add", ns]);
        ip_ok(&["tuntap", "add", "dev", dev, "mode", "tap"]);
    }
    let status = dir.path().join("status.json");
    let report = dir.path().join("report.json");
    // Named `.gz`: written gzip, the stream ended when the tap stops
    // (docs/cli.md, "Compressed outputs").
    let dropped = dir.path().join("dropped.pcap.gz");
    b.tap = Some(
        Command::new(env!("CARGO_BIN_EXE_zprsim"))
            .args(["tap", SCENARIO, "--bridge", "ztda", "ztdb", "--quiet"])
            .arg("--status")
            .arg(&status)
            .arg("--report")
            .arg(&report)
            .arg("--dropped")
            .arg(&dropped)
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let t0 = Instant::now();
    while !status.exists() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(status.exists(), "the tap did not start");
    // web (10.77.1.10) on side a, an unassigned address of its subnet on b.
    for ((ns, dev), addr) in
        b.ns.iter()
            .zip(b.dev)
            .zip(["10.77.1.10/24", "10.77.1.11/24"])
    {
        ip_ok(&["link", "set", dev, "netns", ns]);
        ip_ok(&["-n", ns, "link", "set", dev, "up"]);
        ip_ok(&["-n", ns, "addr", "add", addr, "dev", dev]);
    }
    let in_a = |script: &str| {
        Command::new("ip")
            .args([
                "netns", "exec", "ztd-a", "timeout", "10", "sh", "-c", script,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    // ICMP echo: web-nsg allows it, the reply is tracked.
    assert!(in_a("ping -c 2 -i 0.2 -W 1 10.77.1.11"));
    // tcp/22: no egress rule at web.
    let server = Command::new("ip")
        .args(["netns", "exec", "ztd-b", "timeout", "10", "nc", "-l", "22"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    b.servers.push(server);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!in_a("nc -z -w 2 10.77.1.11 22"));
    let mut tap = b.tap.take().unwrap();
    let _ = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", tap.id())])
        .status();
    // Ended by SIGTERM: 143, after writing its report (the CLI contract).
    assert_eq!(tap.wait().unwrap().code(), Some(143));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["mode"], "bridge");
    assert_eq!(n(&r, "/packets/allowed"), 4, "report: {r}");
    assert!(stage(&r, "egress-security") >= 1, "report: {r}");
    assert!(n(&r, "/link_local") >= 2, "ARP crossed: {r}");
    // The dropped frames, a whole gzip stream (`gzip -dc` reads it to its
    // end) of a pcap holding one record per packet dropped.
    let pcap = crate::support::read_back(&dropped);
    let c = zprsim_dataplane::capture::Capture::from_bytes(pcap).unwrap();
    let frames = c.records().map(Result::unwrap).count() as u64;
    assert_eq!(frames, n(&r, "/packets/dropped"), "report: {r}");
    assert!(frames >= 1);
}

/// Issue 8, defect 6: `up` starts clean (no previous lab's report passes
/// for this one's), `reload` reports the tap's answer, `exec` passes the
/// command's status through (127 not found, 126 not executable).
#[test]
fn lab_starts_clean_reloads_through_the_tap_and_passes_exit_statuses() {
    need_lab!("lab_starts_clean_reloads_through_the_tap_and_passes_exit_statuses");
    let _g = lock();
    let work = tempfile::tempdir().unwrap();
    let scenario = work.path().join("scenario.toml");
    let text = std::fs::read_to_string(SCENARIO).unwrap();
    std::fs::write(&scenario, &text).unwrap();
    let lab = Lab {
        dir: tempfile::tempdir().unwrap(),
        prefix: "ztc",
        servers: std::cell::RefCell::new(Vec::new()),
    };
    // A previous lab's final report, left behind by a crash.
    let stale = lab.dir.path().join("report.json");
    std::fs::write(&stale, r#"{"pid": 1, "packets": {"total": 424242}}"#).unwrap();
    let o = lab.zprsim(&["lab", "up", scenario.to_str().unwrap(), "web", "db"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!stale.exists(), "the previous lab's report is gone");
    assert!(!lab.status().to_string().contains("424242"));

    // exec: the command's own status.
    let code = |o: &Output| o.status.code().unwrap_or(-1);
    let o = lab.zprsim(&["lab", "exec", "web", "--", "sh", "-c", "exit 7"]);
    assert_eq!(code(&o), 7);
    let o = lab.zprsim(&["lab", "exec", "web", "--", "nosuchcmd-zprsim"]);
    assert_eq!(code(&o), 127, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: `nosuchcmd-zprsim`: command not found\n"
    );
    let not_exec = work.path().join("script.sh");
    std::fs::write(&not_exec, "#!/bin/sh\nexit 0\n").unwrap();
    let o = lab.zprsim(&["lab", "exec", "web", "--", not_exec.to_str().unwrap()]);
    assert_eq!(code(&o), 126, "{}", String::from_utf8_lossy(&o.stderr));

    // reload: applied, then refused with the reason; the file is unchanged.
    let o = lab.zprsim(&["lab", "reload"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("reloaded `"));
    std::fs::write(&scenario, "this is [[ not a scenario").unwrap();
    let o = lab.zprsim(&["lab", "reload"]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error: reload refused, the old scenario stays in force: ")
            && err.contains("scenario.toml"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&scenario).unwrap(),
        "this is [[ not a scenario"
    );
    assert_eq!(n(&lab.report(), "/reload/reloads"), 1);
    assert_eq!(n(&lab.report(), "/reload/failures"), 1);

    // A crash of the tap, then a stale report: `down` does not show it.
    let pid = lab.tap_pid();
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&stale, r#"{"pid": 1, "packets": {"total": 424242}}"#).unwrap();
    let o = lab.zprsim(&["lab", "down"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("424242"), "{out}");
    assert!(out.contains("the tap left no final report"), "{out}");
}

/// The state directory is the user's own: one others may write is refused
/// before anything is made.
#[test]
fn lab_refuses_a_state_directory_others_can_write() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_zprsim"))
        .args(["lab", "up", SCENARIO, "web"])
        .env("ZPRSIM_LAB_DIR", dir.path())
        .env("ZPRSIM_LAB_PREFIX", "ztd")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("others may write in it (mode 777)"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
