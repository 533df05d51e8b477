//! An OCI export saved in UTF-16.

/// Windows PowerShell 5's `>` writes UTF-16 with a byte order mark: an
/// export made there (`oci network vcn list ... > network-vcn-list.json`)
/// was refused as "not UTF-8 text". Both byte orders now read as the
/// UTF-8 file does; text that is not UTF-16 after the mark is still an
/// error at its byte.
///
/// Found by the eleventh session's review.
#[test]
fn import_reads_an_export_powershell_wrote_in_utf16() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("export");
    std::fs::create_dir(&dir).unwrap();
    for e in std::fs::read_dir(root.join("examples/oke-orders/oci-export")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    let import =
        |out: &str| crate::support::run_in(t.path(), ["import", "oci", "export", "-o", out]);
    let want = import("utf8.toml");
    assert_eq!(want.status.code(), Some(0));
    let text = std::fs::read_to_string(dir.join("network-vcn-list.json"))
        .unwrap()
        .replace('\n', "\r\n");
    for (mark, be) in [([0xFFu8, 0xFE], false), ([0xFE, 0xFF], true)] {
        let mut bytes = mark.to_vec();
        for u in text.encode_utf16() {
            bytes.extend(if be { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        std::fs::write(dir.join("network-vcn-list.json"), &bytes).unwrap();
        let out = import("utf16.toml");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read(t.path().join("utf16.toml")).unwrap(),
            std::fs::read(t.path().join("utf8.toml")).unwrap()
        );
    }
    // A lone surrogate after the mark.
    std::fs::write(
        dir.join("network-vcn-list.json"),
        [0xFF, 0xFE, b'{', 0, 0x00, 0xD8],
    )
    .unwrap();
    let out = import("bad.toml");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("network-vcn-list.json: byte 4: not UTF-16 text"),
        "{err}"
    );
}
