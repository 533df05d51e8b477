//! Damaged or padded gzip input (flate2's errors, zeros after the last member, a lone magic
//! byte): every reader names what is wrong and at which byte, alike.

use std::path::Path;
use std::process::Command;

use crate::support::{gzip, oke_export_dir as oke_export};

/// Planning 5 (QA, note-s18): gzip's damage was said in flate2's words,
/// which named neither what was wrong nor where. `import` said "cannot
/// decompress it (gzip): invalid gzip header" of bytes appended after a
/// whole member and "incomplete deflate stream" of a cut file; `replay`
/// said of appended bytes that "the gzip stream ends early (unexpected
/// end of file)", as of a cut file. Now each says what it is, with the
/// byte of the file; several members (`cat a.gz b.gz`) are valid gzip,
/// read whole.
///
/// From the seventeenth session's planning list (note-s18).
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

/// Planning 10 (note-s19): zeros after the last gzip member (a padded
/// download, a zero-filled preallocated file) were "trailing bytes ...
/// not gzip data" for `replay`, as for any junk. The reader now reports
/// them as padding (count and offset, `ZeroPadding`), and `replay` says
/// so with the same words on a flow log and a capture, and reads what
/// came before, as GNU gzip does ("trailing zero bytes ignored"); other
/// junk is said as before. A lone `0x1f` after a member was "1 trailing
/// byte" for `import` and a cut member for `replay`: it is a cut member
/// for both (as `gzip -t`: "unexpected end of file").
///
/// From the seventeenth session's planning list (note-s19).
#[test]
fn gzip_zero_padding_and_a_lone_magic_byte_are_said_alike_by_every_reader() {
    use crate::support::gzip;
    use zprsim_dataplane::capture::decompress::padding_text;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let replay = |name: &str, bytes: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        let o = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"))
            .current_dir(root)
            .args(["replay", zprsim_bench::fixtures::OKE, "--quiet"])
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{name}");
        (String::from_utf8_lossy(&o.stderr).into_owned(), p)
    };
    let log = std::fs::read(root.join("examples/oke-orders/flowlogs/oke-demo.jsonl")).unwrap();
    let lines = log.iter().filter(|&&b| b == b'\n').count();
    let lz = gzip(&log);
    let mut padded = lz.clone();
    padded.extend([0u8; 512]);
    let (err, p) = replay("log.jsonl.gz", &padded);
    let said = padding_text(lz.len() as u64, 512);
    assert!(
        err.contains(&format!(
            "warning: {}:{}: {said}; the {lines} line(s) before are read",
            p.display(),
            lines + 1
        )),
        "{err}"
    );
    let pcap = std::fs::read(root.join("pcaps/oke-demo.pcap")).unwrap();
    let cz = gzip(&pcap);
    let mut padded = cz.clone();
    padded.extend([0u8; 4096]);
    let (err, p) = replay("cap.pcap.gz", &padded);
    let said = padding_text(cz.len() as u64, 4096);
    assert!(
        err.contains(&format!(
            "{}: {said}; the capture it holds ends before them, at byte {}",
            p.display(),
            pcap.len()
        )),
        "{err}"
    );
    // Junk that is not zeros: trailing bytes, as before.
    let mut junk = cz.clone();
    junk.extend(b"\0\0\0\x07");
    let (err, _) = replay("junk.pcap.gz", &junk);
    assert!(err.contains("are not gzip data (trailing bytes"), "{err}");
    assert!(!err.contains("padding"), "{err}");

    // A lone 0x1f: a cut member for `replay` and `import` alike.
    let mut lone = cz.clone();
    lone.push(0x1f);
    let (err, _) = replay("lone.pcap.gz", &lone);
    assert!(
        err.contains(&format!(
            "the gzip stream ends early, inside the member that starts at byte {} of the file",
            cz.len()
        )),
        "{err}"
    );
    let export = oke_export(d);
    let vcns = export.join("network-vcn-list.json");
    let vz = gzip(&std::fs::read(&vcns).unwrap());
    std::fs::remove_file(&vcns).unwrap();
    let mut lone = vz.clone();
    lone.push(0x1f);
    let gz = export.join("network-vcn-list.json.gz");
    std::fs::write(&gz, &lone).unwrap();
    let o = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"))
        .args(["import", "oci"])
        .arg(&export)
        .arg("-o")
        .arg(d.join("s.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let n = vz.len();
    assert!(
        err.contains(&format!(
            "error: {}: byte {}: the gzip data is cut: the member that starts at byte {n} has no end where the file ends (byte {})",
            gz.display(),
            n + 1,
            n + 1
        )),
        "{err}"
    );
    // Zero padding: `import` reads what comes before, with the same
    // warning, and imports what the unpadded file gives (it refused).
    let mut padded = vz.clone();
    padded.extend([0u8; 512]);
    std::fs::write(&gz, &padded).unwrap();
    let o = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"))
        .args(["import", "oci"])
        .arg(&export)
        .arg("-o")
        .arg(d.join("padded.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "warning: {}: {}",
            gz.display(),
            padding_text(vz.len() as u64, 512)
        )),
        "{err}"
    );
    std::fs::write(&gz, &vz).unwrap();
    let o = Command::new(assert_cmd::cargo::cargo_bin!("zprsim"))
        .args(["import", "oci"])
        .arg(&export)
        .arg("-o")
        .arg(d.join("whole.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        std::fs::read(d.join("padded.toml")).unwrap(),
        std::fs::read(d.join("whole.toml")).unwrap()
    );
}
