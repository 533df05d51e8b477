//! Defects found in the twelfth session's review (branch s14-qa), as real
//! users would meet them: each test fails on the code before its fix.

use std::path::Path;

use serde_json::Value;

use crate::compressed_captures::replay;

const OKE: &str = "examples/oke-orders/scenario.toml";
const DEMO: &str = "pcaps/oke-demo.pcap";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A zstd skippable frame (RFC 8878 §3.1.2) of `len` bytes of `fill`.
fn skippable(nibble: u8, len: u32, fill: u8) -> Vec<u8> {
    let mut v = vec![0x50 | nibble, 0x2a, 0x4d, 0x18];
    v.extend_from_slice(&len.to_le_bytes());
    v.extend(std::iter::repeat_n(fill, len as usize));
    v
}

/// `pzstd` (zstd's parallel compressor, in the zstd package) writes a
/// skippable frame before every frame, so its output starts with one;
/// `zstd -d` and `zstdcat` read it. zprsim looked only for a zstd frame's
/// magic first: `not a pcap or pcapng file`, exit 2, and in a directory
/// the file was skipped as `neither a capture nor flow logs`. Any input
/// starting with a skippable frame is now zstd, read as the capture it
/// holds (as a file, from standard input, in a directory).
#[test]
fn a_zstd_file_starting_with_a_skippable_frame_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    let (a, b) = demo.split_at(20_000);
    let frame = |x: &[u8]| zstd::stream::encode_all(x, 3).unwrap();
    // pzstd's shape: a 4-byte skippable frame (the next frame's size)
    // before each frame; and one of another magic nibble at the end.
    let pz = [
        skippable(0, 4, 7),
        frame(a),
        skippable(0, 4, 7),
        frame(b),
        skippable(0xf, 16, 0),
    ]
    .concat();
    let file = d.join("cap.pcap.zst");
    std::fs::write(&file, &pz).unwrap();
    let sub = d.join("rotated");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("cap.pcap.zst"), &pz).unwrap();
    let plain = replay(d, &[DEMO], &[]);
    assert_eq!(plain.2, Some(0), "{}", plain.3);
    for input in [&file, &sub] {
        let got = replay(d, &[input.to_str().unwrap()], &[]);
        assert_eq!(got.2, Some(0), "{}: {}", input.display(), got.3);
        assert_eq!(got.0, plain.0, "{}", input.display());
        assert!(
            got.1 == plain.1,
            "{}: allowed packets differ",
            input.display()
        );
    }
    let o = assert_cmd::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .args(["replay", OKE, "-", "--quiet", "--report", "-"])
        .write_stdin(pz)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["packets"], plain.0["packets"]);
}
