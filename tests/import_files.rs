//! `import`'s files: the export script, gzipped and zstd CLI outputs, one file text held at
//! a time, the output file made while it ran, a scenario against its own import.

use std::path::Path;
use std::process::Command;

use crate::support::{
    gzip, oke_copy, oke_export_dir as oke_export, oke_export_in, run_in, stderr_of, unread, zstd,
};

/// `examples/export-oci.sh` could not run: its `jq` merge of the private
/// IPs (`{data: map(.data) | add // []}`) is a jq syntax error (`//` needs
/// parentheses inside an object), so the script stopped (exit 3) after
/// the lists, before the VNICs, NSG rules and ZPR policies; and a
/// compartment without subnets gave jq no file at all. Run here against a
/// stand-in `oci` (`tests/import_files/fake-oci`) that answers from the OKE
/// fixture export: the script's export imports as the fixture does.
///
/// Found by the eleventh session's review.
#[test]
fn export_script_runs_and_its_export_imports_as_the_fixture() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let have = |tool: &str| {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("bash") || !have("jq") {
        eprintln!(
            "skipped: export_script_runs_and_its_export_imports_as_the_fixture needs bash and jq"
        );
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let bin = t.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::copy(root.join("tests/import_files/fake-oci"), bin.join("oci")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let export = |fixture: &std::path::Path, out: &str| {
        std::process::Command::new("bash")
            .arg(root.join("examples/export-oci.sh"))
            .args(["ocid1.compartment.oc1..c", out, "ocid1.tenancy.oc1..t"])
            .current_dir(t.path())
            .env("PATH", &path)
            .env("FIXTURE", fixture)
            .output()
            .unwrap()
    };
    let fixture = root.join("examples/oke-orders/oci-export");
    let out = export(&fixture, "exported");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let import = |dir: &std::path::Path, to: &str| {
        let out = crate::support::run_in(
            t.path(),
            [
                std::ffi::OsStr::new("import"),
                "oci".as_ref(),
                dir.as_os_str(),
                "-o".as_ref(),
                to.as_ref(),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The VNICs come in the order of their files' names: compare the
        // objects, not their order.
        let text = std::fs::read_to_string(t.path().join(to)).unwrap();
        let mut blocks: Vec<String> = text.split("\n[[").map(str::to_owned).collect();
        blocks.sort();
        blocks
    };
    assert_eq!(
        import(&t.path().join("exported"), "a.toml"),
        import(&fixture, "b.toml")
    );
    // A compartment with nothing in it (no subnets, so no private IPs).
    let out = export(&t.path().join("nothing"), "empty");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("empty/network-private-ip-list.json")).unwrap(),
        "{\"data\": []}\n"
    );
}

/// `diff` keyed a rule's container by its `id` whenever it had one, so a
/// hand-written scenario (no ids) against its own import (OCIDs as ids)
/// called 25 of the demo's 32 flows `reason-changed` though every rule
/// was the same: with ids on one side only, names are compared.
///
/// Found by the eleventh session's review.
#[test]
fn diff_of_a_scenario_and_its_import_changes_nothing() {
    let t = oke_copy();
    let dir = t.path();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let export = root.join("examples/oke-orders/oci-export");
    let out = crate::support::run_in(
        dir,
        [
            std::ffi::OsStr::new("import"),
            "oci".as_ref(),
            export.as_os_str(),
            "-o".as_ref(),
            "imported.toml".as_ref(),
            "--services".as_ref(),
            "oci-public-ip-ranges.json".as_ref(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (input, before, after) in [
        ("in.pcap", "scenario.toml", "imported.toml"),
        ("in.pcap", "imported.toml", "scenario.toml"),
        ("flowlogs", "scenario.toml", "imported.toml"),
    ] {
        let out = crate::support::run_in(
            dir,
            [
                "diff",
                before,
                after,
                input,
                "--report",
                "-",
                "--quiet",
                "--fail-on",
                "would-break,newly-allowed,reason-changed",
            ],
        );
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{before} -> {after} on {input}: {}",
            r["flows"]
        );
        assert_eq!(
            r["flows"]["reason_changed"], 0,
            "{before} -> {after} on {input}"
        );
    }
    // Ids on both sides still key by id: the import against itself with
    // an NSG renamed (its OCID kept) changes nothing either.
    let text = std::fs::read_to_string(dir.join("imported.toml")).unwrap();
    assert!(text.contains("name = \"pods-nsg\""));
    std::fs::write(
        dir.join("renamed.toml"),
        text.replace("\"pods-nsg\"", "\"pods-nsg-2\""),
    )
    .unwrap();
    let out = crate::support::run_in(
        dir,
        [
            "diff",
            "imported.toml",
            "renamed.toml",
            "in.pcap",
            "--quiet",
            "--fail-on",
            "reason-changed",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Replaces `d`/`file` by `codec`'s output of it, written as `to`.
fn compress_as(d: &Path, file: &str, to: &str, codec: fn(&[u8]) -> Vec<u8>) {
    let bytes = std::fs::read(d.join(file)).unwrap();
    std::fs::remove_file(d.join(file)).unwrap();
    std::fs::write(d.join(to), codec(&bytes)).unwrap();
}

/// A directory whose CLI outputs are gzipped or zstd-compressed (`oci
/// ... | gzip > network-vcn-list.json.gz`, or gzip under the `.json`
/// name), with the ranges file gzipped, imports to the very scenario the
/// plain export does: they were skipped (`*.json.gz`) or refused ("byte
/// 1: not UTF-8 text"). An NSG's rules keep the NSG their file name
/// names. A plain and a compressed copy of one output are refused.
///
/// From the fourteenth session's planning list (note-s16).
#[test]
fn import_reads_gzipped_and_zstd_cli_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    oke_export_in(d);
    let ranges = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/oke-orders/oci-public-ip-ranges.json");
    std::fs::write(
        d.join("ranges.json.gz"),
        gzip(&std::fs::read(&ranges).unwrap()),
    )
    .unwrap();
    let plain = run_in(
        d,
        [
            "import",
            "oci",
            "exp",
            "-o",
            "plain.toml",
            "--services",
            ranges.to_str().unwrap(),
        ],
    );
    assert_eq!(plain.status.code(), Some(0), "{plain:?}");
    let e = d.join("exp");
    let nsg_rules = std::fs::read_dir(&e)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("network-nsg-rules-list."))
        .unwrap();
    compress_as(&e, &nsg_rules, &format!("{nsg_rules}.gz"), gzip);
    compress_as(
        &e,
        "network-subnet-list.json",
        "network-subnet-list.json.gz",
        gzip,
    );
    compress_as(
        &e,
        "network-vnic-get-0.json",
        "network-vnic-get-0.json.zst",
        zstd,
    );
    compress_as(&e, "network-vcn-list.json", "network-vcn-list.json", gzip);
    let out = run_in(
        d,
        [
            "import",
            "oci",
            "exp",
            "-o",
            "packed.toml",
            "--services",
            "ranges.json.gz",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stderr_of(&out), stderr_of(&plain));
    assert_eq!(
        std::fs::read_to_string(d.join("packed.toml")).unwrap(),
        std::fs::read_to_string(d.join("plain.toml")).unwrap()
    );
    // One output twice, plain and compressed: which is meant is unknown.
    std::fs::write(
        e.join("network-subnet-list.json"),
        b"{\"data\": []}".as_slice(),
    )
    .unwrap();
    let out = run_in(d, ["import", "oci", "exp", "-o", "twice.toml"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("network-subnet-list.json` and `")
            && err.contains("are one output, in two forms (plain, gzip or zstd): keep one"),
        "{err}"
    );
    assert!(!d.join("twice.toml").exists());
}

/// Planning 6 (note-s17 and s18): `import` read every file of DIR, then
/// parsed them: the texts of the whole export were held at once with
/// what was parsed (about 55 MB more at the peak on the `wide` export).
/// Each file is now parsed as it is read and let go, so what is held is
/// bounded by the largest file, not the directory: here five 32 MB files
/// (CLI outputs of empty lists, padded) beside the OKE export, which
/// peaked over 160 MB, peak well under it.
///
/// From the seventeenth session's planning list (note-s18).
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

/// The writing end of the FIFO `p`, once `child` opened it to read (an
/// open without a reader fails with `ENXIO`, so a child that ends first
/// fails the test rather than hang it).
fn open_writer(p: &Path, child: &mut std::process::Child) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt as _;
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(p)
        {
            Ok(f) => return f,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if let Some(s) = child.try_wait().unwrap() {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        std::io::Read::read_to_string(&mut e, &mut err).unwrap();
                    }
                    panic!("ended ({s}) before reading {}: {err}", p.display());
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) => panic!("{}: {e}", p.display()),
        }
    }
}

/// Planning 9 (note-s19): `import -o FILE` checked FILE before the export
/// was read and renamed its scenario onto FILE at the end, so a file
/// written at FILE in between (by hand, by an editor) was replaced. FILE
/// is now checked again just before the rename: a hand-written file
/// made meanwhile is left as it is, exit 2; a file `import` wrote, or
/// `--force`, is still replaced.
///
/// The outside observable: `--services` is a FIFO, read after every file
/// of the export, so once this end of it is open the first check is
/// past; FILE is written then, and the services sent.
///
/// From the seventeenth session's planning list (note-s19).
#[test]
fn import_leaves_a_file_made_at_its_output_while_it_ran() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let export = oke_export(d);
    let fifo = d.join("services.json");
    crate::support::mkfifo(&fifo);
    let by_hand = "# my scenario, written by hand\n[[vcn]]\n";
    let run = |out: &Path, made: Option<&str>, force: bool| {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"));
        cmd.args(["import", "oci"])
            .arg(&export)
            .arg("-o")
            .arg(out)
            .arg("--services")
            .arg(&fifo)
            .stderr(std::process::Stdio::piped());
        if force {
            cmd.arg("--force");
        }
        let mut child = cmd.spawn().unwrap();
        let mut services = open_writer(&fifo, &mut child);
        if let Some(text) = made {
            std::fs::write(out, text).unwrap();
        }
        services.write_all(b"{}").unwrap();
        drop(services);
        let o = child.wait_with_output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    // Absent throughout: written.
    let out = d.join("new.toml");
    let (code, err) = run(&out, None, false);
    assert_eq!(code, Some(0), "{err}");
    let imported = std::fs::read_to_string(&out).unwrap();
    assert!(imported.starts_with("# Imported from OCI CLI JSON"));
    // Absent at the start, written by hand while the export was read.
    let out = d.join("hand.toml");
    let (code, err) = run(&out, Some(by_hand), false);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), by_hand);
    assert!(
        err.contains(&format!(
            "error: -o `{}` exists and `zprsim import` did not write it",
            out.display()
        )),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // Absent at the start, written meanwhile by another `import`:
    // replaced.
    let out = d.join("twice.toml");
    let (code, err) = run(&out, Some(&imported), false);
    assert_eq!(code, Some(0), "{err}");
    // `--force`: replaced whatever is there.
    let out = d.join("forced.toml");
    let (code, err) = run(&out, Some(by_hand), true);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), imported);
}
