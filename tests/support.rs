//! Helpers shared by the test modules.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use rand::Rng;
use serde_json::Value;
use zprsim_control::verdict::{Context, Tracking};
use zprsim_dataplane::capture::Capture;

/// A random judging context: [`Context::First`] with probability `first`,
/// else a reply with random tracking state. Draws from `rng` in one fixed
/// order, so a seed gives the same stream wherever it is used.
pub fn random_context(rng: &mut impl Rng, first: f64) -> Context {
    if rng.random_bool(first) {
        Context::First
    } else {
        Context::Reply(Tracking {
            at_src: rng.random(),
            at_dst: rng.random(),
            zpr: rng.random(),
            zpr_audit: rng.random(),
        })
    }
}

/// The OKE example's OCI export, file name to text.
pub fn oke_export() -> zprsim_control::import::Files {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/oci-export");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect()
}

/// The rules file of the OKE export's load-balancer NSG.
pub const LB_NSG_RULES: &str =
    "network-nsg-rules-list.ocid1.networksecuritygroup.oc1.iad.gen000000.json";

/// How many seeds a property test runs: the environment variable `var`
/// when it holds a number (long runs), else `default` (CI).
pub fn seeds(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `check` on seeds `0..seeds`, stopping after the third failure,
/// and fails the test listing the failures found.
pub fn no_disagreement(seeds: u64, mut check: impl FnMut(u64) -> Result<(), String>) {
    let mut failures = Vec::new();
    for seed in 0..seeds {
        if let Err(e) = check(seed) {
            failures.push(e);
            if failures.len() >= 3 {
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Runs `zprsim ARGS` in `dir` and waits for it: its exit status and
/// outputs.
pub fn run_in<I, S>(dir: impl AsRef<std::path::Path>, args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    assert_cmd::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

// Helpers of the topic modules (moved with their tests in the
// twenty-second session; used by more than one topic).

/// The repository's root (where `cargo test` runs the binary).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `zprsim ARGS` in `dir`.
pub fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    crate::support::run_in(dir, args)
}

/// Copies the OKE example's OCI export into a temporary directory.
pub fn export_copy() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("exp")).unwrap();
    let from = root().join("examples/oke-orders/oci-export");
    for e in std::fs::read_dir(&from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), t.path().join("exp").join(e.file_name())).unwrap();
    }
    t
}

/// An address the test spells out.
pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A copy of the OKE example (scenario, policy file, expectations, flow
/// logs) and the demo capture in a fresh directory.
pub fn oke_copy() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let from = root.join("examples/oke-orders");
    for dir in ["", "policies", "flowlogs"] {
        std::fs::create_dir_all(t.path().join(dir)).unwrap();
        for e in std::fs::read_dir(from.join(dir)).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), t.path().join(dir).join(e.file_name())).unwrap();
            }
        }
    }
    std::fs::copy(root.join("pcaps/oke-demo.pcap"), t.path().join("in.pcap")).unwrap();
    t
}

pub const OKE: &str = "examples/oke-orders/scenario.toml";

pub const DEMO: &str = "pcaps/oke-demo.pcap";

/// The load balancer opens a connection to a pod (allowed by the OKE
/// example and its proposed change), 3,000 legacy connections the change
/// drops follow (every shard of the tracker, so with `--max-connections
/// 1` they evict it in BEFORE only), and the pod answers (packet 3,002), a
/// reply only tracking admits.
pub fn evicting_capture(path: &Path) {
    use std::net::IpAddr;
    use zprsim_control::packet::Packet;

    use crate::diff::write_capture;
    use crate::replay_oracle::Pkt;

    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let (lb, pod, legacy) = (ip("10.0.1.10"), ip("10.0.10.11"), ip("10.0.20.10"));
    let t0 = 1_709_283_600_000_000_000u64;
    let mut pkts = vec![Pkt {
        p: Packet::tcp(lb, 50_000, pod, 8080),
        flags: 0x02,
        ts: t0,
    }];
    for i in 0..3000u16 {
        pkts.push(Pkt {
            p: Packet::tcp(legacy, 10_000 + i, pod, 8080),
            flags: 0x02,
            ts: t0 + 1_000_000 * (u64::from(i) + 1),
        });
    }
    pkts.push(Pkt {
        p: Packet::tcp(pod, 8080, lb, 50_000),
        flags: 0x12,
        ts: t0 + 5_000_000_000,
    });
    write_capture(path, &pkts);
}

/// A zstd skippable frame (RFC 8878 §3.1.2) of `len` bytes of `fill`.
pub fn skippable(nibble: u8, len: u32, fill: u8) -> Vec<u8> {
    let mut v = vec![0x50 | nibble, 0x2a, 0x4d, 0x18];
    v.extend_from_slice(&len.to_le_bytes());
    v.extend(std::iter::repeat_n(fill, len as usize));
    v
}

/// Copies the OKE example's `policies/` into `d` (its scenario names
/// them); the example's directory.
pub fn oke_policies_in(d: &Path) -> std::path::PathBuf {
    let oke = root().join("examples/oke-orders");
    std::fs::create_dir(d.join("policies")).unwrap();
    for f in std::fs::read_dir(oke.join("policies")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, d.join("policies").join(f.file_name().unwrap())).unwrap();
    }
    oke
}

pub fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn ex(p: &str) -> String {
    root().join(p).to_string_lossy().into_owned()
}

/// A dual-stack tenancy of one's own: open security lists (ZPR does the
/// work), a web server whose attribute is audited, a client without one.
pub const AUDITED_WEB_DUAL: &str = r#"
name = "mytenant"

[[vcn]]
name = "app-vcn"
cidr_blocks = ["10.1.0.0/16", "fd00:1::/48"]
security_attributes = { network = { vcn = { value = "app" } } }

[[route_table]]
name = "rt"
vcn = "app-vcn"
route_rules = []

[[security_list]]
name = "open-sl"
vcn = "app-vcn"
ingress_security_rules = [{ protocol = "all", source = "10.1.0.0/16" }, { protocol = "all", source = "fd00:1::/48" }]
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }, { protocol = "all", destination = "::/0" }]

[[subnet]]
name = "web"
vcn = "app-vcn"
cidr_block = "10.1.1.0/24"
ipv6_cidr_blocks = ["fd00:1:0:1::/64"]
route_table = "rt"
security_lists = ["open-sl"]

[[vnic]]
name = "web-1"
subnet = "web"
private_ips = ["10.1.1.10", "fd00:1:0:1::10"]
security_attributes = { app = { role = { value = "web", mode = "audit" } } }

[[vnic]]
name = "client-1"
subnet = "web"
private_ips = ["10.1.1.20", "fd00:1:0:1::20"]

[[zpr_policy]]
name = "app"
statements = ["in network.vcn:app VCN allow app.role:web endpoints to connect to '10.1.1.30/32' with protocol='tcp/5432'"]
"#;

pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A small tenancy with VNIC OCIDs (flow logs place records by them): open
/// security lists (ZPR does the work), a web server whose attribute is
/// audited, a client without one.
pub const AUDITED_WEB: &str = r#"
name = "mytenant"

[[vcn]]
name = "app-vcn"
cidr_blocks = ["10.1.0.0/16"]
security_attributes = { network = { vcn = { value = "app" } } }

[[route_table]]
name = "rt"
vcn = "app-vcn"
route_rules = []

[[security_list]]
name = "open-sl"
vcn = "app-vcn"
ingress_security_rules = [{ protocol = "all", source = "10.1.0.0/16" }]
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]

[[subnet]]
name = "web"
vcn = "app-vcn"
cidr_block = "10.1.1.0/24"
route_table = "rt"
security_lists = ["open-sl"]

[[vnic]]
name = "web-1"
id = "ocid1.vnic.oc1..web1"
subnet = "web"
private_ips = ["10.1.1.10"]
security_attributes = { app = { role = { value = "web", mode = "audit" } } }

[[vnic]]
name = "client-1"
id = "ocid1.vnic.oc1..client1"
subnet = "web"
private_ips = ["10.1.1.20"]

[[zpr_policy]]
name = "app"
statements = ["in network.vcn:app VCN allow app.role:web endpoints to connect to '10.1.1.30/32' with protocol='tcp/5432'"]
"#;

pub const WEB: &str = "10.1.1.10";

pub const CLIENT: &str = "10.1.1.20";

/// One flow-log record (accepted, 2 packets) logged at the VNIC `vnic`
/// (its OCID), as a JSON line; `ports` `None` for ICMP.
pub fn record(
    vnic: &str,
    (src, dst): (&str, &str),
    proto: u8,
    ports: Option<(u16, u16)>,
    start: u64,
) -> String {
    let (sp, dp) = ports.map_or(("null".into(), "null".into()), |(s, d)| {
        (s.to_string(), d.to_string())
    });
    format!(
        r#"{{"datetime": 1, "logContent": {{"data": {{"action": "ACCEPT", "bytesOut": 120, "destinationAddress": "{dst}", "destinationPort": {dp}, "endTime": {end}, "packets": 2, "protocol": {proto}, "sourceAddress": "{src}", "sourcePort": {sp}, "startTime": {start}, "status": "OK", "version": "2"}}, "oracle": {{"vnicocid": "{vnic}"}}}}}}"#,
        end = start + 59
    ) + "\n"
}

pub fn report(d: &Path, name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(d.join(name)).unwrap()).unwrap()
}

/// A copy of the OKE example's OCI export in `d`/`exp`.
pub fn oke_export_in(d: &Path) {
    let from =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/oci-export");
    std::fs::create_dir(d.join("exp")).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), d.join("exp").join(e.file_name())).unwrap();
    }
}

pub fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 3).unwrap()
}

pub fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

/// Sends SIG`sig` (`INT`, `TERM`, `STOP`, ...) to process `pid`, through
/// `kill(1)`.
pub fn kill(sig: &str, pid: u32) {
    let s = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(s.success());
}

/// A run interrupted midway through its input: `cmd` spawned with
/// `input` coming on a pipe (its standard output and error piped),
/// SIG`sig` sent once the first `cut` bytes are written (once that write
/// returns, the run has read all but a pipe buffer of them, so its
/// handlers are installed), `pause` waited, then the rest written (the
/// run may have stopped reading: that write may meet a closed pipe). What
/// the run wrote, and whether the rest was written whole.
pub fn interrupted_midway(
    mut cmd: Command,
    input: &[u8],
    cut: usize,
    sig: &str,
    pause: std::time::Duration,
) -> (std::process::Output, bool) {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&input[..cut]).unwrap();
    kill(sig, child.id());
    std::thread::sleep(pause);
    let rest = stdin.write_all(&input[cut..]).is_ok();
    drop(stdin);
    (child.wait_with_output().unwrap(), rest)
}

/// A run interrupted once its output has begun: `cmd` spawned (its
/// standard error piped) writing to the FIFO `fifo` (made here), SIG`sig`
/// sent once the first byte has come from it (the FIFO holds the run
/// there until read on), then the rest read. What the run wrote on its
/// standard streams, and what came through the FIFO.
pub fn interrupted_once_output_begins(
    mut cmd: Command,
    fifo: &Path,
    sig: &str,
) -> (std::process::Output, Vec<u8>) {
    use std::io::Read as _;
    mkfifo(fifo);
    let child = cmd.stderr(std::process::Stdio::piped()).spawn().unwrap();
    let mut out = std::fs::File::open(fifo).unwrap();
    let mut bytes = vec![0u8; 1];
    out.read_exact(&mut bytes).unwrap();
    kill(sig, child.id());
    out.read_to_end(&mut bytes).unwrap();
    (child.wait_with_output().unwrap(), bytes)
}

/// Lines of `text`, each a whole JSON object (panics on one that is not).
pub fn json_lines(text: &str) -> u64 {
    let mut n = 0;
    for l in text.lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v.is_object(), "{l}");
        n += 1;
    }
    n
}

/// The name of the `vnic get` file of export `files` (`oke_export`'s, or
/// one like it) whose text holds `text`: a VNIC's OCID, or its display
/// name in quotes (`"\"worker-1\""`).
pub fn vnic_get_file(files: &zprsim_control::import::Files, text: &str) -> String {
    files
        .iter()
        .find(|(n, t)| n.starts_with("network-vnic-get-") && t.contains(text))
        .map(|(n, _)| n.clone())
        .unwrap_or_else(|| panic!("no `vnic get` file holds {text}"))
}

/// The JSON lines file at `p`, each line parsed (`--flows` of `replay`
/// and `diff`).
pub fn json_lines_of(p: &Path) -> Vec<Value> {
    json_values(&std::fs::read_to_string(p).unwrap())
}

/// Each line of `text` parsed as JSON (panics on one that is not).
pub fn json_values(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Whole records in a capture file (none cut).
pub fn records(path: &Path) -> u64 {
    let c = Capture::from_bytes(std::fs::read(path).unwrap()).unwrap();
    let mut recs = c.records();
    let n = recs.by_ref().map(Result::unwrap).count() as u64;
    assert!(recs.warnings().is_empty(), "{:?}", recs.warnings());
    n
}

/// The OKE demo's flow log repeated `copies` times, each copy 100,000 s
/// after the last (times and ids moved).
pub fn demo_log_repeated(copies: u64) -> String {
    let demo = std::fs::read_to_string(root().join("examples/oke-orders/flowlogs/oke-demo.jsonl"))
        .unwrap();
    let mut out = String::new();
    for c in 0..copies {
        let shift = c * 100_000;
        for (i, line) in demo.lines().enumerate() {
            let mut v: Value = serde_json::from_str(line).unwrap();
            let d = &mut v["logContent"]["data"];
            for k in ["startTime", "endTime"] {
                if let Some(t) = d[k].as_u64() {
                    d[k] = (t + shift).into();
                }
            }
            if let Some(t) = v["datetime"].as_u64() {
                v["datetime"] = (t + shift * 1000).into();
            }
            v["logContent"]["id"] = format!("00000000-0000-4000-8000-{c:06}{i:06}").into();
            out.push_str(&v.to_string());
            out.push('\n');
        }
    }
    out
}

/// The report's warnings of `code`.
pub fn warnings_of<'r>(r: &'r Value, code: &str) -> Vec<&'r Value> {
    r["run_warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == code)
        .collect()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Bytes waiting in the pipe of `fd` (either end), `FIONREAD`.
#[allow(unsafe_code)]
pub fn unread(fd: &impl std::os::fd::AsRawFd) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int at the pointer, a local of ours;
    // the descriptor is open (borrowed for the call).
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &raw mut n) };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    n
}

/// A copy of the OKE example's export in `d/export`.
pub fn oke_export_dir(d: &Path) -> PathBuf {
    let e = d.join("export");
    std::fs::create_dir(&e).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/oci-export");
    for f in std::fs::read_dir(&from).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, e.join(f.file_name().unwrap())).unwrap();
    }
    e
}

// Helpers of QA rounds fourteen to seventeen (moved with their tests in
// the twenty-sixth session; used by more than one topic).

/// What a `diff` run said: its exit code, stdout, stderr, report and flow
/// lines.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub report: Value,
    pub flows: Vec<Value>,
}

/// Runs `zprsim diff BEFORE AFTER INPUTS... --report --flows EXTRA...`
/// from the repository's root, its outputs in `dir`.
pub fn diff_run<S: AsRef<std::ffi::OsStr>>(
    dir: &Path,
    before: impl AsRef<std::ffi::OsStr>,
    after: impl AsRef<std::ffi::OsStr>,
    inputs: &[S],
    extra: &[&str],
) -> Run {
    let report = dir.join("r.json");
    let flows = dir.join("f.jsonl");
    let _ = std::fs::remove_file(&report);
    let _ = std::fs::remove_file(&flows);
    let o = assert_cmd::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .arg("diff")
        .arg(before)
        .arg(after)
        .args(inputs)
        .arg("--report")
        .arg(&report)
        .arg("--flows")
        .arg(&flows)
        .args(extra)
        .output()
        .unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        report: serde_json::from_str(&read(&report)).unwrap_or(Value::Null),
        flows: read(&flows)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    }
}

/// What a replay said: the report and the flow records.
pub struct Replayed {
    pub report: Value,
    pub flows: Vec<Value>,
}

/// Runs `zprsim replay SCENARIO INPUT --report TAG.json --flows
/// TAG-flows.jsonl --quiet` in `dir`: what it said, or its stderr.
pub fn replay(dir: &Path, scenario: &str, input: &Path, tag: &str) -> Result<Replayed, String> {
    let report = format!("{tag}.json");
    let flows = format!("{tag}-flows.jsonl");
    let o = run_in(
        dir,
        [
            "replay",
            scenario,
            input.to_str().unwrap(),
            "--report",
            &report,
            "--flows",
            &flows,
            "--quiet",
        ],
    );
    if !o.status.success() {
        return Err(format!(
            "replay {scenario} {}: {}",
            input.display(),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let report: Value = serde_json::from_slice(&std::fs::read(dir.join(&report)).unwrap())
        .map_err(|e| e.to_string())?;
    let flows = json_lines_of(&dir.join(&flows));
    Ok(Replayed { report, flows })
}

/// The `zprsim` binary as a plain command.
pub fn zprsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zprsim"))
}

/// Two VCNs over a DRG: `a` routes 10.1.0.0/16 to its DRG, `b`'s subnet has
/// no route table (only local routes, no rule back to `a`), and `b`'s list
/// lets in tcp/443 from x. The first packet x -> y passes every layer; its
/// reply drops at route in `b` (`explain --reply`: "no rule matches
/// 10.0.1.10: subnet `sb` has no route table"), so no connection can
/// complete.
pub const NO_RETURN_ROUTE: &str = r#"
[[vcn]]
name = "a"
cidr_blocks = ["10.0.0.0/16"]

[[vcn]]
name = "b"
cidr_blocks = ["10.1.0.0/16"]

[[gateway]]
name = "ad"
vcn = "a"
kind = "drg"

[[gateway]]
name = "bd"
vcn = "b"
kind = "drg"

[[security_list]]
name = "oa"
vcn = "a"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }]

[[security_list]]
name = "ob"
vcn = "b"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ protocol = "6", source = "10.0.1.10/32", tcp_options = { destination_port_range = { min = 443, max = 443 } } }]

[[route_table]]
name = "art"
vcn = "a"
route_rules = [{ destination = "10.1.0.0/16", network_entity = "ad" }]

[[subnet]]
name = "sa"
vcn = "a"
cidr_block = "10.0.1.0/24"
route_table = "art"
security_lists = ["oa"]

[[subnet]]
name = "sb"
vcn = "b"
cidr_block = "10.1.1.0/24"
security_lists = ["ob"]

[[vnic]]
name = "x"
subnet = "sa"
private_ips = ["10.0.1.10"]

[[vnic]]
name = "y"
subnet = "sb"
private_ips = ["10.1.1.10"]
"#;

/// Decompressed contents of an output by what its name says, checked with
/// the tools users read it with (`gzip -dc`, `zstd -dc`): each reads the
/// file whole, or fails on a stream that was not ended.
pub fn read_back(path: &std::path::Path) -> Vec<u8> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let bytes = std::fs::read(path).unwrap();
    let tool = if name.ends_with(".gz") {
        assert!(bytes.starts_with(&[0x1f, 0x8b]), "{name}: not gzip");
        "gzip"
    } else if name.ends_with(".zst") {
        assert!(
            bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]),
            "{name}: not zstd"
        );
        "zstd"
    } else {
        return bytes;
    };
    let o = std::process::Command::new(tool)
        .args(["-dc", "--"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(
        o.status.success(),
        "{tool} -dc {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// `scenario` (TOML) with a security hint pasted as docs/verify.md says:
/// for "...: add to NSG `NAME`: RULE" or "...: add to security list
/// `NAME` (KEY): RULE", RULE added first to the array `rules` (or KEY) of
/// the object named NAME.
pub fn paste_security_hint(scenario: &str, hint: &str) -> String {
    let (_, rest) = hint.split_once(": add to ").unwrap();
    let (name, rest) = rest
        .split_once('`')
        .and_then(|(_, r)| r.split_once('`'))
        .unwrap();
    let (key, rule) = match rest.strip_prefix(": ") {
        Some(rule) => ("rules".to_owned(), rule),
        None => {
            let (key, rule) = rest
                .strip_prefix(" (")
                .and_then(|r| r.split_once("): "))
                .unwrap();
            (key.to_owned(), rule)
        }
    };
    let key = format!("{key} = [");
    let mut out = scenario.to_owned();
    let at = out.find(&format!("name = \"{name}\"")).unwrap();
    let at = at + out[at..].find(&key).unwrap() + key.len();
    out.insert_str(at, &format!("\n  {rule},"));
    out
}
