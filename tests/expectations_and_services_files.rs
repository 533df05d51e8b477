//! `verify`'s expectations file and `import`'s services file: read from standard input, at
//! most their limit, a field's own message.

use assert_cmd::Command;

use crate::support::{cli, export_copy, root};

/// A `[[path]]` on the OKE example with `dport` set to `value`.
fn expect_with_dport(value: &str) -> String {
    format!(
        "[[path]]\nname = \"x\"\nfrom = \"subnet:pods\"\nto = \"subnet:workers\"\nproto = \"tcp\"\ndport = {value}\nexpect = \"allow\"\n"
    )
}

/// Found in review.
#[test]
fn verify_refuses_a_float_port_with_the_fields_own_message() {
    let t = tempfile::tempdir().unwrap();
    let scenario = root().join("examples/oke-orders/scenario.toml");
    for (value, field) in [
        ("nan", "dport"),
        ("1e9", "dport"),
        ("-0.5", "dport"),
        ("true", "dport"),
        ("[1, 2]", "dport"),
    ] {
        let text = expect_with_dport(value);
        let expect = t.path().join("e.toml");
        std::fs::write(&expect, &text).unwrap();
        let o = cli(t.path(), &["verify", scenario.to_str().unwrap(), "e.toml"]);
        assert_eq!(o.status.code(), Some(2), "{value}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(
            err.starts_with("e.toml:6:9: error: `dport` must be a port"),
            "{value}: {err}"
        );
        assert!(!err.contains("untagged"), "{field}: {err}");
        assert_eq!(std::fs::read_to_string(&expect).unwrap(), text);
    }
    // the same for `proto`
    let text = "[[path]]\nname = \"x\"\nfrom = \"subnet:pods\"\nto = \"subnet:workers\"\nproto = 6.5\ndport = 1\nexpect = \"allow\"\n";
    std::fs::write(t.path().join("e.toml"), text).unwrap();
    let o = cli(t.path(), &["verify", scenario.to_str().unwrap(), "e.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with("e.toml:5:9: error: `proto` must be"),
        "{err}"
    );
}

/// A small expectations file on the OKE example: one path that passes.
const ONE_PATH: &str = "[[path]]\nname = \"api\"\nfrom = \"subnet:workers\"\nto = \"vnic:k8s-api-endpoint\"\nproto = \"tcp\"\ndport = 6443\nexpect = \"allow\"\n";

/// Found in review.
#[test]
fn verify_reads_the_expectations_from_standard_input() {
    let scenario = root().join("examples/oke-orders/scenario.toml");
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .args(["verify", scenario.to_str().unwrap(), "-"])
        .write_stdin(ONE_PATH)
        .output()
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.ends_with("1 path(s): 1 ok, 0 failed, 0 skipped\n"),
        "{out}"
    );
}

/// Found in review.
#[test]
fn verify_reads_at_most_the_limit_of_an_endless_or_huge_expectations_file() {
    let scenario = root().join("examples/oke-orders/scenario.toml");
    // An endless device: refused after the limit, not read until memory runs out.
    let o = cli(
        &root(),
        &["verify", scenario.to_str().unwrap(), "/dev/zero"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "/dev/zero: error: the expectations file is longer than 4194304 bytes (the limit)\n"
    );
    // Too long on standard input.
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .args(["verify", scenario.to_str().unwrap(), "-"])
        .write_stdin(vec![b'#'; 4 * 1024 * 1024 + 1])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "-: error: the expectations file is longer than 4194304 bytes (the limit)\n"
    );
    // Not UTF-8: the byte offset.
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("e.toml"), b"# ok\n\xff\n").unwrap();
    let o = cli(t.path(), &["verify", scenario.to_str().unwrap(), "e.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "e.toml: error: byte 5: the expectations file is not UTF-8 text\n"
    );
    assert_eq!(
        std::fs::read(t.path().join("e.toml")).unwrap(),
        b"# ok\n\xff\n"
    );
}

/// Found in review.
#[test]
fn import_reads_services_from_standard_input_and_at_most_the_limit() {
    let t = export_copy();
    let ranges = root().join("examples/oke-orders/oci-public-ip-ranges.json");
    let via_file = cli(
        t.path(),
        &[
            "import",
            "oci",
            "exp",
            "-o",
            "a.toml",
            "--services",
            ranges.to_str().unwrap(),
        ],
    );
    assert_eq!(via_file.status.code(), Some(0));
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(t.path())
        .args(["import", "oci", "exp", "-o", "b.toml", "--services", "-"])
        .write_stdin(std::fs::read(&ranges).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("a.toml")).unwrap(),
        std::fs::read_to_string(t.path().join("b.toml")).unwrap()
    );
    // An endless device is refused at the limit, not read until memory runs out.
    let o = cli(
        t.path(),
        &[
            "import",
            "oci",
            "exp",
            "-o",
            "c.toml",
            "--services",
            "/dev/zero",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "error: /dev/zero: longer than 268435456 bytes (the limit)\n"
    );
    assert!(!t.path().join("c.toml").exists());
    // DIR `-`: said plainly.
    let o = cli(t.path(), &["import", "oci", "-", "-o", "d.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "error: DIR is a directory of `*.json` files; `-` (standard input) cannot be one\n"
    );
}
