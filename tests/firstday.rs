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

fn demo() -> (PathBuf, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    (
        root.join("examples/oke-orders/scenario.toml"),
        root.join("pcaps/oke-demo.pcap"),
    )
}

#[test]
fn standard_output_named_twice_by_dash_and_by_path_is_refused() {
    let (scenario, pcap) = demo();
    let (s, p) = (scenario.to_str().unwrap(), pcap.to_str().unwrap());
    // Standard output is a pipe here: `/dev/stdout` and `/dev/fd/1` are
    // that pipe, and `-` writes to it too. Before the fix the pcap and the
    // JSON report went interleaved down the same pipe.
    for path in ["/dev/stdout", "/dev/fd/1"] {
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .args([
                "replay",
                s,
                p,
                "--allowed",
                path,
                "--report",
                "-",
                "--quiet",
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{path}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!(
                "error: --report `-` and --allowed `{path}` are the same file: each output needs its own file\n"
            )
        );
        assert!(o.stdout.is_empty(), "{path}: nothing written");
    }
    // Alone, `/dev/stdout` is standard output, as documented.
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .args(["replay", s, p, "--allowed", "/dev/stdout", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let input = std::fs::read(&pcap).unwrap();
    assert_eq!(
        o.stdout.get(..24),
        input.get(..24),
        "the input's pcap header"
    );
}

#[test]
fn standard_output_redirected_onto_an_input_is_refused() {
    let (scenario, pcap) = demo();
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join("in.pcap");
    std::fs::copy(&pcap, &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    // `zprsim replay s.toml in.pcap --report - >> in.pcap`
    let append = std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap();
    let o = std::process::Command::new(bin())
        .current_dir(t.path())
        .args([
            "replay",
            scenario.to_str().unwrap(),
            "in.pcap",
            "--report",
            "-",
            "--quiet",
        ])
        .stdout(append)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "error: --report `-` is the same file as PCAP `in.pcap`: an output must not overwrite an input\n"
    );
    assert_eq!(
        std::fs::read(&input).unwrap(),
        before,
        "the input is intact"
    );
}

#[test]
fn a_piped_standard_input_named_twice_is_refused() {
    let (scenario, pcap) = demo();
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .args([
            "replay",
            scenario.to_str().unwrap(),
            "-",
            "/dev/stdin",
            "--quiet",
        ])
        .write_stdin(std::fs::read(&pcap).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Before: `/dev/stdin: byte 0: not a pcap or pcapng file` (the pipe
    // was already drained by `-`).
    assert_eq!(
        stderr(&o),
        "error: PCAP `/dev/stdin` is standard input, which PCAP `-` reads already: standard input can be used once\n"
    );
}
