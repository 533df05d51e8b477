//! I/O errors worded alike on inputs and outputs (QA round 22 B5): the
//! path, then the system's cause, without Rust's "(os error N)" suffix,
//! which only input errors carried (the scenario, a policy `file =`, the
//! expectations, `import oci`'s DIR, and standard output). Outputs on a
//! read-only file system name the directory and the cause.

use std::process::Command;

use crate::support::{ex, run_in, stderr_of as stderr};

#[test]
fn input_errors_name_the_path_and_the_cause_without_os_error() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(
        d.join("p.toml"),
        "[[zpr_policy]]\nname = \"p\"\nfile = \"gone.zpl\"\n",
    )
    .unwrap();
    let scenario = ex("examples/oke-orders/scenario.toml");
    for (args, want) in [
        (
            vec!["check", "gone.toml"],
            "gone.toml: error: cannot read the scenario: No such file or directory\n",
        ),
        (
            vec!["check", "p.toml"],
            "p.toml:3:8: error: in zpr policy `p`, field `file`: cannot read `gone.zpl`: No such file or directory\n",
        ),
        (
            vec!["verify", &scenario, "gone.toml"],
            "error: EXPECT `gone.toml`: No such file or directory\n",
        ),
        (
            vec!["import", "oci", "gone", "-o", "x.toml"],
            "error: `gone`: No such file or directory;",
        ),
    ] {
        let o = run_in(d, &args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(want), "{args:?}: {e}");
        assert!(!e.contains("os error"), "{args:?}: {e}");
    }
}

/// Outputs under a read-only mount (a tmpfs mounted `ro` in a mount
/// namespace of its own: root ignores file modes, not a read-only file
/// system). Skipped where it cannot be mounted (not root, no `unshare`).
#[test]
fn outputs_on_a_read_only_file_system_name_the_directory_and_the_cause() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let ro = d.join("ro");
    std::fs::create_dir_all(&ro).unwrap();
    let mount = "mount -t tmpfs -o ro,size=64k tmpfs \"$0\"";
    let probe = Command::new("unshare")
        .args(["-m", "sh", "-c", mount, ro.to_str().unwrap()])
        .output();
    if !probe.is_ok_and(|p| p.status.success()) {
        eprintln!("SKIPPED: a read-only tmpfs cannot be mounted here (unshare -m, as root)");
        return;
    }
    let scenario = ex("examples/oke-orders/scenario.toml");
    let pcap = ex("pcaps/oke-demo.pcap");
    let expect = ex("examples/oke-orders/expect.toml");
    let export = ex("examples/oke-orders/oci-export");
    for (args, flag) in [
        (
            vec![
                "replay",
                &scenario,
                &pcap,
                "--quiet",
                "--report",
                "ro/r.json",
            ],
            "--report `ro/r.json`",
        ),
        (
            vec![
                "replay",
                &scenario,
                &pcap,
                "--quiet",
                "--dropped",
                "ro/d.pcap",
            ],
            "--dropped `ro/d.pcap`",
        ),
        (
            vec!["verify", &scenario, &expect, "--junit", "ro/j.xml"],
            "--junit `ro/j.xml`",
        ),
        (
            vec!["import", "oci", &export, "-o", "ro/s.toml"],
            "-o `ro/s.toml`",
        ),
    ] {
        let o = Command::new("unshare")
            .args([
                "-m",
                "sh",
                "-c",
                &format!("{mount} && exec \"$@\""),
                ro.to_str().unwrap(),
            ])
            .arg(assert_cmd::cargo::cargo_bin!("zprsim"))
            .args(&args)
            .current_dir(d)
            .output()
            .unwrap();
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        let want = format!("error: {flag}: cannot write in `ro`: Read-only file system\n");
        assert!(e.ends_with(&want), "{args:?}: {e}");
        assert!(!e.contains("os error"), "{args:?}: {e}");
    }
}

/// `zprsim lab` in the state directory `dir` (`ZPRSIM_LAB_DIR`), with
/// `path` as `PATH` when given; a name prefix no other test uses.
fn lab(dir: &std::path::Path, args: &[&str], path: Option<&str>) -> std::process::Output {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"));
    c.arg("lab")
        .args(args)
        .env("ZPRSIM_LAB_DIR", dir)
        .env("ZPRSIM_LAB_PREFIX", "zio")
        .stdin(std::process::Stdio::null());
    if let Some(p) = path {
        c.env("PATH", p);
    }
    c.output().unwrap()
}

/// The lab's state directory and files (session 31's leftover): each
/// failure provoked without a lab (no namespace is made, no root needed)
/// names the path and the cause only.
#[test]
fn lab_state_errors_name_the_path_and_the_cause_without_os_error() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let up = ["up", "tests/lab/scenario.toml", "web"];
    let check = |o: &std::process::Output, want: String| {
        let e = stderr(o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert_eq!(e, want);
    };

    // A state directory under a file.
    std::fs::write(d.join("f"), "").unwrap();
    let under = d.join("f/lab");
    check(
        &lab(&under, &up, None),
        format!(
            "error: state directory `{}`: Not a directory\n",
            under.display()
        ),
    );

    // A state file that is a directory: `down` cannot read it.
    let odd = d.join("odd");
    std::fs::create_dir_all(odd.join("state.json")).unwrap();
    check(
        &lab(&odd, &["down"], None),
        format!(
            "error: state `{}`: Is a directory\n",
            odd.join("state.json").display()
        ),
    );

    // A previous lab's log that is a directory with a file in it: `up`
    // cannot remove it, and gives its lock (the state file) back.
    let old = d.join("old");
    std::fs::create_dir_all(old.join("tap.log")).unwrap();
    std::fs::write(old.join("tap.log/x"), "").unwrap();
    check(
        &lab(&old, &up, None),
        format!(
            "error: cannot remove the previous lab's `{}`: Is a directory\n",
            old.join("tap.log").display()
        ),
    );
    assert!(!old.join("state.json").exists());

    // No `ip` on the PATH: nothing is made, the lock is given back.
    let fresh = d.join("fresh");
    check(
        &lab(&fresh, &up, Some("/nonexistent")),
        "error: cannot run `ip`: No such file or directory\n".to_owned(),
    );
    assert!(!fresh.join("state.json").exists());
}
