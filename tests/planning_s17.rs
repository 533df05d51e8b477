//! The defects of the sixteenth session's planning list ("For planning"
//! and "Looked at and left"), as users met them: each test fails on the
//! code before its fix.

use std::io::Write as _;
use std::path::Path;

use crate::planning_s16::oke_export_in;
use crate::support::run_in;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 3).unwrap()
}

/// Replaces `d`/`file` by `codec`'s output of it, written as `to`.
fn compress_as(d: &Path, file: &str, to: &str, codec: fn(&[u8]) -> Vec<u8>) {
    let bytes = std::fs::read(d.join(file)).unwrap();
    std::fs::remove_file(d.join(file)).unwrap();
    std::fs::write(d.join(to), codec(&bytes)).unwrap();
}

/// `import oci FILE` with a gzipped CLI output, or the ranges file
/// gzipped (`oci ... | gzip`), said the file held flow-log records
/// (`flowlog::detect::kind` takes any compressed JSON for a flow log).
/// The decompressed head is looked at: each is named for what it is,
/// with the command line that takes it. A gzipped flow log is still one.
#[test]
fn import_given_a_compressed_file_says_what_it_holds_decompressed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    oke_export_in(d);
    let ranges = std::fs::read(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples/oke-orders/oci-public-ip-ranges.json"),
    )
    .unwrap();
    std::fs::write(d.join("ranges.json.gz"), gzip(&ranges)).unwrap();
    let log = std::fs::read(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples/oke-orders/flowlogs/oke-demo.jsonl"),
    )
    .unwrap();
    std::fs::write(d.join("log.jsonl.gz"), gzip(&log)).unwrap();
    let vcns = std::fs::read(d.join("exp/network-vcn-list.json")).unwrap();
    std::fs::write(d.join("exp/vcns.json.gz"), gzip(&vcns)).unwrap();
    std::fs::write(d.join("exp/vcns.json.zst"), zstd(&vcns)).unwrap();
    for (file, says, then) in [
        (
            "exp/vcns.json.gz",
            "is gzip data; decompressed, it is one OCI CLI output",
            "zprsim import oci exp -o s.toml\n",
        ),
        (
            "exp/vcns.json.zst",
            "is zstd data; decompressed, it is one OCI CLI output",
            "zprsim import oci exp -o s.toml\n",
        ),
        (
            "ranges.json.gz",
            "is gzip data; decompressed, it is OCI's public IP ranges file",
            "--services ranges.json.gz\n",
        ),
        (
            "log.jsonl.gz",
            "is gzip data; decompressed, it holds OCI VCN flow-log records",
            "zprsim replay s.toml log.jsonl.gz\n",
        ),
    ] {
        let out = run_in(d, ["import", "oci", file, "-o", "s.toml"]);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("`{file}` is a file, not a directory, and {says}")),
            "{file}: {err}"
        );
        assert!(err.ends_with(then), "{file}: {err}");
    }
}

/// A directory whose CLI outputs are gzipped or zstd-compressed (`oci
/// ... | gzip > network-vcn-list.json.gz`, or gzip under the `.json`
/// name), with the ranges file gzipped, imports to the very scenario the
/// plain export does: they were skipped (`*.json.gz`) or refused ("byte
/// 1: not UTF-8 text"). An NSG's rules keep the NSG their file name
/// names. A plain and a compressed copy of one output are refused.
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
            && err.contains("are one output, plain and compressed: keep one"),
        "{err}"
    );
    assert!(!d.join("twice.toml").exists());
}
