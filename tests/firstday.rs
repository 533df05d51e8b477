//! A user's first day: what real users bring (endless devices, stdout
//! named twice, odd captures), each test running the binary and asserting
//! the exit code, the message and that nothing was eaten or lost.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("zprsim")
}

/// Runs `zprsim ARGS` in `dir` under a 3 GiB address-space limit, so a
/// read that does not stop at its limit fails the test (an allocation
/// failure) instead of eating the machine.
fn capped(dir: &Path, args: &[&str]) -> Output {
    let mut script = String::from("ulimit -v 3145728 && exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    std::process::Command::new("sh")
        .current_dir(dir)
        .arg("-c")
        .arg(script)
        .arg(bin())
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_scenario_on_an_endless_device_is_refused_at_the_limit() {
    let t = tempfile::tempdir().unwrap();
    let o = capped(t.path(), &["check", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "/dev/zero: error: the scenario is longer than 268435456 bytes; at most 268435456 bytes are accepted\n"
    );
}

#[test]
fn a_policy_file_on_an_endless_device_is_refused_at_the_limit() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("s.toml"),
        "[[zpr_policy]]\nname = \"p\"\nfile = \"/dev/zero\"\n",
    )
    .unwrap();
    let o = capped(t.path(), &["check", "s.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "s.toml:3:8: error: in zpr policy `p`, field `file`: cannot read `/dev/zero`: the file is longer than 4194304 bytes; at most 4194304 bytes are accepted\n"
    );
}

#[test]
fn a_scenario_that_is_not_utf8_names_the_byte() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("s.toml"), b"name = \"x\"\n# \xff\n").unwrap();
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(t.path())
        .args(["check", "s.toml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "s.toml: error: byte 13: the scenario is not UTF-8 text\n"
    );
}
