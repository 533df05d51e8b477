//! The defects of the seventeenth session's planning list (note-s18, "For
//! planning" items 4, 5 and 7), as users met them: each test fails on the
//! code before its fix.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs `zprsim ARGS` in `d` with `TMPDIR` a tmpfs of `size` (as `mount -o
/// size=` takes it) of a mount namespace of its own (`unshare -m`, as
/// root); `None` when it cannot be mounted here (not root, no `unshare`):
/// the caller skips.
pub(crate) fn with_small_tmpdir(size: &str, d: &Path, args: &[&str]) -> Option<Output> {
    let tiny = d.join("tiny");
    std::fs::create_dir_all(&tiny).unwrap();
    let mount = format!("mount -t tmpfs -o size={size} tmpfs \"$0\"");
    let probe = Command::new("unshare")
        .args(["-m", "sh", "-c", &mount, tiny.to_str()?])
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    let zprsim = assert_cmd::cargo::cargo_bin!("zprsim");
    let mut cmd = Command::new("unshare");
    cmd.args([
        "-m",
        "sh",
        "-c",
        &format!("{mount} && TMPDIR=\"$0\" exec \"$@\""),
    ])
    .arg(&tiny)
    .arg(zprsim)
    .args(args)
    .current_dir(d);
    Some(cmd.output().unwrap())
}

/// A capture of `n` UDP flows from the client to the web server of
/// [`crate::planning_s16::AUDITED_WEB`], one packet each, 1 ms apart.
pub(crate) fn udp_flows(n: u32) -> Vec<u8> {
    use crate::planning_s16::{CLIENT, WEB};
    use crate::replay_oracle::{Pkt, frame};
    use zprsim_control::packet::Packet;
    use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};
    let mut w = PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).unwrap();
    for i in 0..n {
        let k = Pkt {
            p: Packet::udp(
                CLIENT.parse().unwrap(),
                u16::try_from(1024 + i % 60_000).unwrap(),
                WEB.parse().unwrap(),
                u16::try_from(1000 + i / 60_000).unwrap(),
            ),
            flags: 0,
            ts: 1_700_000_000_000_000_000 + u64::from(i) * 1_000_000,
        };
        let f = frame(&k);
        w.write(k.ts, 1, u32::try_from(f.len()).unwrap(), &f)
            .unwrap();
    }
    w.finish().unwrap()
}

/// Planning 4 (note-s18): `diff` on a capture whose flow records outgrow
/// memory (65,536 per worker and scenario) and the disk under their
/// temporary files ended with "error: flow records' temporary file in …:
/// No space left on device" and no report. Now it ends as `replay` and
/// `diff` on flow logs do: the report is written, valid, partial
/// (`"interrupted": true`), its counts of every packet, its flows of the
/// records both scenarios' files kept (the first that ended), with a
/// `temporary-files-full` warning; stderr says it once, naming the
/// directory, what fills it and what to do; exit 2. A 25 MiB tmpfs takes
/// the first run of both scenarios (~21 MB), not the second.
#[test]
fn diff_on_captures_on_a_full_disk_ends_with_its_outputs_partial() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), crate::planning_s16::AUDITED_WEB).unwrap();
    // AFTER enforces what BEFORE audits: every flow would break.
    let after = crate::planning_s16::AUDITED_WEB.replace("mode = \"audit\"", "mode = \"enforce\"");
    std::fs::write(d.join("after.toml"), after).unwrap();
    let n = 140_000u32;
    std::fs::write(d.join("many.pcap"), udp_flows(n)).unwrap();
    // `--report -`: the records spill in `$TMPDIR` (no output file to
    // put them beside).
    let args = [
        "diff",
        "s.toml",
        "after.toml",
        "many.pcap",
        "--report",
        "-",
        "--fail-on",
        "none",
        "--quiet",
    ];
    let Some(o) = with_small_tmpdir("25m", d, &args) else {
        eprintln!("skipped: a tmpfs cannot be mounted here (unshare -m, as root)");
        return;
    };
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let tiny = d.join("tiny");
    let said = format!(
        "error: the temporary files in {} could not be written (No space left on device)",
        tiny.display()
    );
    assert!(err.starts_with(&said), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("both scenarios' flow records") && err.contains("TMPDIR=/var/tmp"),
        "{err}"
    );
    let r: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("no report ({e}): {err}"));
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["stopped_by"], "temporary-files-full");
    assert_eq!(r["packets"]["total"], u64::from(n), "{r:#}");
    assert_eq!(r["before"]["packets"]["allowed"], u64::from(n), "{r:#}");
    let f = &r["flows"];
    let classified: u64 = [
        "would_break",
        "newly_allowed",
        "reason_changed",
        "unchanged",
    ]
    .iter()
    .map(|k| f[*k].as_u64().unwrap())
    .sum();
    assert_eq!(f["would_break"].as_u64(), Some(classified), "{f}");
    assert!(classified > 0 && classified < u64::from(n), "{f}");
    assert_eq!(r["packets"]["would_break"].as_u64(), Some(classified));
    let full: Vec<&Value> = crate::planning_s18::warnings_of(&r, "temporary-files-full");
    assert_eq!(full.len(), 1, "{r:#}");
    let m = full[0]["message"].as_str().unwrap();
    let first = format!("are the first {classified} of the {n} flow record(s)");
    assert!(m.contains(&first), "{m}");
    // The temporary files are unnamed: nothing is left.
    assert_eq!(std::fs::read_dir(&tiny).unwrap().count(), 0);
}

use crate::planning_s18::gzip;

/// Planning 5 (QA, note-s18): gzip's damage was said in flate2's words,
/// which named neither what was wrong nor where. `import` said "cannot
/// decompress it (gzip): invalid gzip header" of bytes appended after a
/// whole member and "incomplete deflate stream" of a cut file; `replay`
/// said of appended bytes that "the gzip stream ends early (unexpected
/// end of file)", as of a cut file. Now each says what it is, with the
/// byte of the file; several members (`cat a.gz b.gz`) are valid gzip,
/// read whole.
#[test]
fn gzip_damage_is_named_with_its_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let export = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/oci-export");
    let vcns = std::fs::read(export.join("network-vcn-list.json")).unwrap();
    let z = gzip(&vcns);
    let half = vcns.len() / 2;
    let mut two = gzip(&vcns[..half]);
    let first = two.len();
    two.extend(gzip(&vcns[half..]));
    let mut junk = z.clone();
    junk.extend_from_slice(b"appended text\n");
    let cut = z[..z.len() - 20].to_vec();
    let import = |name: &str, bytes: &[u8]| {
        let e = d.join(name);
        std::fs::create_dir_all(&e).unwrap();
        for f in std::fs::read_dir(&export).unwrap() {
            let f = f.unwrap().path();
            if f.file_name().unwrap() != "network-vcn-list.json" {
                std::fs::copy(&f, e.join(f.file_name().unwrap())).unwrap();
            }
        }
        let gz = e.join("network-vcn-list.json.gz");
        std::fs::write(&gz, bytes).unwrap();
        let o = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"))
            .args(["import", "oci"])
            .arg(&e)
            .arg("-o")
            .arg(d.join(format!("{name}.toml")))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        (o.status.code(), err, gz.display().to_string())
    };
    let (code, err, _) = import("two", &two);
    assert_eq!(code, Some(0), "two members are valid gzip: {err}");
    let (code, err, gz) = import("junk", &junk);
    assert_eq!(code, Some(2), "{err}");
    let said = format!(
        "error: {gz}: byte {n}: the 14 byte(s) after its last whole gzip member are not gzip data (trailing bytes; the {n} byte(s) before them decompress whole): remove them (`head -c {n} {gz} > fixed`)",
        n = z.len()
    );
    assert!(err.contains(&said), "{err}");
    let (code, err, gz) = import("cut", &cut);
    assert_eq!(code, Some(2), "{err}");
    let said = format!(
        "error: {gz}: byte {n}: the gzip data is cut: the member that starts at byte 0 has no end where the file ends (byte {n}): the file is cut, or was still being written",
        n = cut.len()
    );
    assert!(err.contains(&said), "{err}");
    // A cut second member: where it starts.
    let mut cut2 = two.clone();
    cut2.truncate(two.len() - 20);
    let (_, err, gz) = import("cut2", &cut2);
    assert!(
        err.contains(&format!("{gz}: byte {}: the gzip data is cut: the member that starts at byte {first} has no end", cut2.len())),
        "{err}"
    );

    // A flow log: the same two, as warnings naming the line and byte.
    let log = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/flowlogs/oke-demo.jsonl"),
    )
    .unwrap();
    let lines = log.iter().filter(|&&b| b == b'\n').count();
    let lz = gzip(&log);
    let mut ljunk = lz.clone();
    ljunk.extend_from_slice(b"junk");
    let replay = |bytes: &[u8]| {
        let p = d.join("log.jsonl.gz");
        std::fs::write(&p, bytes).unwrap();
        let o = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["replay", zprsim_bench::fixtures::OKE, "--quiet"])
            .arg(&p)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            p,
        )
    };
    let (code, err, p) = replay(&ljunk);
    assert_eq!(code, Some(0), "{err}");
    let said = format!(
        "warning: {}:{}: the bytes after its last whole gzip member, from byte {} of the file, are not gzip data (trailing bytes): ignored; the {lines} line(s) before are read",
        p.display(),
        lines + 1,
        lz.len()
    );
    assert!(err.contains(&said), "{err}");
    let (code, err, p) = replay(&lz[..lz.len() - 20]);
    assert_eq!(code, Some(0), "{err}");
    let said = format!("warning: {}:", p.display());
    assert!(
        err.contains(&said)
            && err.contains("the gzip stream ends early, inside a member (")
            && err.contains("in the member that starts at byte 0 of the file): the file is cut, or was still being written"),
        "{err}"
    );
}

/// Planning 6 (note-s17 and s18): `import` read every file of DIR, then
/// parsed them: the texts of the whole export were held at once with
/// what was parsed (about 55 MB more at the peak on the `wide` export).
/// Each file is now parsed as it is read and let go, so what is held is
/// bounded by the largest file, not the directory: here five 32 MB files
/// (CLI outputs of empty lists, padded) beside the OKE export, which
/// peaked over 160 MB, peak well under it.
#[test]
fn import_holds_one_file_text_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("export");
    std::fs::create_dir(&d).unwrap();
    let export = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/oci-export");
    for f in std::fs::read_dir(&export).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, d.join(f.file_name().unwrap())).unwrap();
    }
    let mut padded = b"{\"data\": []}".to_vec();
    padded.resize(32 << 20, b' ');
    padded.push(b'\n');
    for i in 0..5 {
        std::fs::write(d.join(format!("network-pad-{i}-list.json")), &padded).unwrap();
    }
    drop(padded);
    // `-o` a FIFO: the scenario is written last, so once this end is
    // open every file was read and parsed, and the child's high-water
    // mark (`VmHWM`, its own since its `exec`; `wait4`'s `ru_maxrss`
    // counts the forking test process's) is its peak.
    //
    // The scenario (about 16 KB) fitted in the FIFO's buffer, so the child
    // could write it and exit before its status was read (no `VmHWM` in a
    // zombie's: a flaky `unwrap` under load). The buffer is now one page,
    // opened before the child starts: the child blocks in its write until
    // this end reads, and its first bytes say every file was parsed.
    let out = dir.path().join("s.toml");
    assert!(Command::new("mkfifo").arg(&out).status().unwrap().success());
    let mut fifo = {
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&out)
            .unwrap()
    };
    set_pipe(&fifo, libc::F_SETPIPE_SZ, 4096);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"))
        .args(["import", "oci"])
        .arg(&d)
        .arg("-o")
        .arg(&out)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while unread(&fifo) == 0 {
        assert!(child.try_wait().unwrap().is_none(), "import ended early");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    set_pipe(&fifo, libc::F_SETFL, 0);
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let mut toml = String::new();
    std::io::Read::read_to_string(&mut fifo, &mut toml).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(toml.starts_with("# Imported from OCI CLI JSON"), "{toml}");
    assert!(kib < 110 << 10, "{kib} KiB resident at the peak");
}

/// `fcntl(fd, cmd, arg)` for a pipe's size (`F_SETPIPE_SZ`) or flags
/// (`F_SETFL`), which must succeed.
#[allow(unsafe_code)]
fn set_pipe(fd: &impl std::os::fd::AsRawFd, cmd: libc::c_int, arg: libc::c_int) {
    // SAFETY: fcntl with an integer argument reads no memory of ours; the
    // descriptor is open (borrowed for the call).
    let r = unsafe { libc::fcntl(fd.as_raw_fd(), cmd, arg) };
    assert!(r >= 0, "{}", std::io::Error::last_os_error());
}

/// Bytes this process's child `pid` has read (`rchar` of
/// `/proc/PID/io`: every `read` and `pread`, files and pipes).
fn rchar(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap();
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

/// Bytes waiting in the pipe of `fd` (either end), `FIONREAD`.
#[allow(unsafe_code)]
fn unread(fd: &impl std::os::fd::AsRawFd) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int at the pointer, a local of ours;
    // the descriptor is open (borrowed for the call).
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &raw mut n) };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    n
}

/// Planning 4 (note-s18): a Ctrl-C while `diff` judged the flow-log
/// records spilled past `--flow-log-buffer` (after the reading) finished
/// the judging: the tail ran to its end, exit 1. It now ends the judging
/// between two seconds, as `replay` does: the report and `--flows` hold
/// the records compared before, `"interrupted": true` with an
/// `interrupted-after-reading` warning, exit 130 (143 for SIGTERM).
///
/// The outside observable (nothing is written before the judging ends):
/// the log comes on standard input; once the pipe is empty and closed,
/// the reading has every byte, and the judging then reads the spilled
/// runs back from their temporary file, so the child's `rchar` grows
/// again (`/proc/PID/io`): the signal is sent then.
#[test]
fn a_signal_while_diff_judges_spilled_flow_log_records_ends_the_judging() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = crate::planning_s18::demo_log_repeated(100);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let report = d.join(format!("r-{sig}.json"));
        let flows = d.join(format!("f-{sig}.jsonl"));
        let mut child = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"))
            .current_dir(root)
            .args([
                "diff",
                zprsim_bench::fixtures::OKE,
                "examples/oke-orders/proposed.toml",
                "-",
            ])
            .args([
                "--quiet",
                "--fail-on",
                "none",
                "--flow-log-buffer",
                "64",
                "--report",
            ])
            .arg(&report)
            .arg("--flows")
            .arg(&flows)
            .env("TMPDIR", d)
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(log.as_bytes()).unwrap();
        while unread(&input) > 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let read = rchar(child.id());
        drop(input);
        while rchar(child.id()) == read {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let s = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(s.success());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "SIG{sig}: {err}");
        assert!(
            err.contains("interrupted after the reading:"),
            "SIG{sig}: {err}"
        );
        let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        assert_eq!(r["interrupted"], true, "SIG{sig}");
        assert_eq!(
            r["stopped_by"],
            format!("sig{}", sig.to_lowercase()),
            "SIG{sig}"
        );
        let n = |p: &str| r.pointer(p).and_then(Value::as_u64).unwrap();
        assert!(
            n("/before/judged") < n("/flow_log/records"),
            "SIG{sig}: {r:#}"
        );
        let w: Vec<&Value> = crate::planning_s18::warnings_of(&r, "interrupted-after-reading");
        assert_eq!(w.len(), 1, "SIG{sig}: {r:#}");
        let m = w[0]["message"].as_str().unwrap();
        let said = format!("{} of the", n("/before/judged"));
        assert!(m.contains(&said), "{m}");
        // `--flows`: whole lines.
        let text = std::fs::read_to_string(&flows).unwrap();
        for l in text.lines() {
            serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        }
    }
}
