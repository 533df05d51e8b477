use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};

use super::{OutputFile, Plan};

fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn err_of(p: &Plan) -> String {
    match p.check() {
        Ok(()) => String::from("<no error>"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn commit_renames_into_place_and_not_before() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let target = dir.path().join("r.json");
    std::fs::write(&target, b"old")?;
    let mut out = OutputFile::create("--report", &target)?;
    out.write_all(b"new contents")?;
    out.flush()?;
    assert_eq!(std::fs::read(&target)?, b"old");
    out.commit()?;
    assert_eq!(std::fs::read(&target)?, b"new contents");
    assert_eq!(entries(dir.path()), vec!["r.json".to_owned()]);
    Ok(())
}

#[test]
fn dropped_uncommitted_leaves_the_target_and_no_temp() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let target = dir.path().join("a.pcap");
    std::fs::write(&target, b"precious")?;
    {
        let mut out = OutputFile::create("--allowed", &target)?;
        out.write_all(&[0u8; 100_000])?;
        assert_eq!(
            entries(dir.path()).len(),
            2,
            "a temporary file beside the target"
        );
    }
    assert_eq!(std::fs::read(&target)?, b"precious");
    assert_eq!(entries(dir.path()), vec!["a.pcap".to_owned()]);
    let fresh = dir.path().join("fresh.pcap");
    drop(OutputFile::create("--dropped", &fresh)?);
    assert!(!fresh.exists());
    Ok(())
}

#[test]
fn an_existing_file_keeps_its_mode_a_new_one_gets_the_default()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let target = dir.path().join("f.jsonl");
    std::fs::write(&target, b"x")?;
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640))?;
    OutputFile::create("--flows", &target)?.commit()?;
    assert_eq!(
        std::fs::metadata(&target)?.permissions().mode() & 0o777,
        0o640
    );
    let fresh = dir.path().join("new.jsonl");
    OutputFile::create("--flows", &fresh)?.commit()?;
    let mode = std::fs::metadata(&fresh)?.permissions().mode() & 0o777;
    // 0666 less the umask: readable by others unless the umask says no,
    // never the 0600 of a bare temporary file.
    assert_eq!(mode & 0o600, 0o600);
    assert_ne!(mode, 0o600, "temporary-file mode leaked (umask 077?)");
    Ok(())
}

#[test]
fn a_symlinked_target_keeps_the_link_and_replaces_the_file()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let real = dir.path().join("real.json");
    let link = dir.path().join("link.json");
    std::fs::write(&real, b"old")?;
    std::os::unix::fs::symlink(&real, &link)?;
    let mut out = OutputFile::create("--report", &link)?;
    out.write_all(b"new")?;
    out.commit()?;
    assert!(std::fs::symlink_metadata(&link)?.file_type().is_symlink());
    assert_eq!(std::fs::read(&real)?, b"new");
    Ok(())
}

#[test]
fn a_device_is_written_in_place() -> Result<(), Box<dyn std::error::Error>> {
    let mut out = OutputFile::create("--allowed", "/dev/null")?;
    out.write_all(b"discarded")?;
    out.commit()?;
    assert!(std::fs::metadata("/dev/null")?.file_type().is_char_device());
    Ok(())
}

#[test]
fn an_output_equal_to_an_input_is_refused_naming_both_flags()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let a = dir.path().join("a.pcap");
    let b = dir.path().join("b.pcap");
    std::fs::write(&a, b"a")?;
    std::fs::write(&b, b"b")?;
    let mut p = Plan::new();
    p.input("SCENARIO", "Cargo.toml")
        .input("PCAP", &a)
        .input("PCAP", &b)
        .output("--allowed", &b);
    let e = err_of(&p);
    assert!(e.starts_with("--allowed `"), "{e}");
    assert!(e.contains("is the same file as PCAP `"), "{e}");
    assert!(e.contains("b.pcap"), "{e}");
    // Another spelling of the same file: `dir/./x/../b.pcap`.
    let other = dir.path().join(".").join("x").join("..").join("b.pcap");
    std::fs::create_dir(dir.path().join("x"))?;
    let mut p = Plan::new();
    p.input("PCAP", &b).output("--report", &other);
    assert!(err_of(&p).contains("is the same file as PCAP"));
    Ok(())
}

#[test]
fn hard_links_and_symlinks_to_an_input_are_the_same_file() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.pcap");
    std::fs::write(&input, b"x")?;
    let hard = dir.path().join("hard.pcap");
    let soft = dir.path().join("soft.pcap");
    std::fs::hard_link(&input, &hard)?;
    std::os::unix::fs::symlink(&input, &soft)?;
    for out in [&hard, &soft] {
        let mut p = Plan::new();
        p.input("PCAP", &input).output("--dropped", out);
        let e = err_of(&p);
        assert!(e.contains("--dropped") && e.contains("PCAP"), "{e}");
    }
    Ok(())
}

#[test]
fn two_outputs_of_one_new_path_are_refused() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let x = dir.path().join("x.pcap");
    let same = dir.path().join("sub").join("..").join("x.pcap");
    std::fs::create_dir(dir.path().join("sub"))?;
    let mut p = Plan::new();
    p.input("PCAP", "Cargo.toml")
        .output("--allowed", &x)
        .output("--dropped", &same);
    let e = err_of(&p);
    assert!(e.starts_with("--allowed `"), "{e}");
    assert!(e.contains("and --dropped `"), "{e}");
    assert!(e.contains("are the same file"), "{e}");
    assert!(!x.exists());
    Ok(())
}

#[test]
fn standard_streams_are_used_once_per_side() {
    let mut p = Plan::new();
    p.output("--report", "-").output("--flows", "-");
    assert_eq!(
        err_of(&p),
        "--report and --flows both use `-`: standard output can be used once"
    );
    let mut p = Plan::new();
    p.input("SCENARIO", "-").input("PCAP", "-");
    assert_eq!(
        err_of(&p),
        "SCENARIO and PCAP both use `-`: standard input can be used once"
    );
    // One each side is fine: `cat x.pcap | zprsim replay s.toml - --flows -`.
    let mut p = Plan::new();
    p.input("PCAP", "-").output("--flows", "-");
    assert_eq!(err_of(&p), "<no error>");
}

#[test]
fn devices_may_repeat() {
    let mut p = Plan::new();
    p.input("PCAP", "/dev/null")
        .output("--allowed", "/dev/null")
        .output("--dropped", "/dev/null");
    assert_eq!(err_of(&p), "<no error>");
}

#[test]
fn missing_or_unusable_directories_are_refused() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut p = Plan::new();
    p.input("PCAP", dir.path().join("missing.pcap"));
    assert!(err_of(&p).ends_with("missing.pcap`: No such file or directory"));
    let mut p = Plan::new();
    p.input("PCAP", dir.path());
    assert!(err_of(&p).ends_with("is a directory, not a file"));
    let mut p = Plan::new();
    p.output("--report", "/nonexistent/r.json");
    assert_eq!(
        err_of(&p),
        "--report `/nonexistent/r.json`: directory `/nonexistent`: No such file or directory"
    );
    let file = dir.path().join("file");
    std::fs::write(&file, b"")?;
    let mut p = Plan::new();
    p.output("--flows", file.join("f.jsonl"));
    assert!(err_of(&p).ends_with("is not a directory"), "{}", err_of(&p));
    let mut p = Plan::new();
    p.output("--flows", dir.path());
    assert!(err_of(&p).ends_with("is a directory, not a file"));
    // Not writable even for root: /proc takes no new files.
    let mut p = Plan::new();
    p.output("--report", "/proc/r.json");
    let e = err_of(&p);
    assert!(
        e.starts_with("--report `/proc/r.json`: cannot write in `/proc`: "),
        "{e}"
    );
    // The check leaves nothing behind.
    let mut p = Plan::new();
    p.output("--report", dir.path().join("r.json"));
    assert_eq!(err_of(&p), "<no error>");
    assert_eq!(entries(dir.path()), vec!["file".to_owned()]);
    Ok(())
}

#[test]
fn scratch_files_go_beside_a_file_and_never_into_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let f = OutputFile::create("--flows", dir.path().join("f.jsonl")).unwrap();
    assert_eq!(f.scratch_dir().as_deref(), Some(dir.path()));
    let null = OutputFile::create("--flows", "/dev/null").unwrap();
    assert_eq!(null.scratch_dir(), None);
    let out = OutputFile::create("--flows", "-").unwrap();
    assert_eq!(out.scratch_dir(), None);
}

#[test]
fn a_dangling_symlink_is_written_through_and_kept() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("out"))?;
    let link = dir.path().join("r.json");
    // Relative, to a file that does not exist yet.
    std::os::unix::fs::symlink("out/new.json", &link)?;
    let mut p = Plan::new();
    p.output("--report", &link);
    assert_eq!(err_of(&p), "<no error>");
    let mut out = OutputFile::create("--report", &link)?;
    out.write_all(b"{}")?;
    out.commit()?;
    // Before: the link was replaced by a regular file.
    assert!(std::fs::symlink_metadata(&link)?.file_type().is_symlink());
    assert_eq!(std::fs::read(dir.path().join("out/new.json"))?, b"{}");
    // Its target's directory is checked, and two names of one file conflict.
    let mut p = Plan::new();
    p.output("--report", &link)
        .output("--flows", dir.path().join("out/new2.json"));
    assert_eq!(err_of(&p), "<no error>");
    std::fs::remove_file(dir.path().join("out/new.json"))?;
    let mut p = Plan::new();
    p.output("--report", &link)
        .output("--flows", dir.path().join("out/new.json"));
    assert!(err_of(&p).contains("are the same file"), "{}", err_of(&p));
    let gone = dir.path().join("gone.json");
    std::os::unix::fs::symlink("/nonexistent/x.json", &gone)?;
    let mut p = Plan::new();
    p.output("--report", &gone);
    assert!(
        err_of(&p).ends_with("directory `/nonexistent`: No such file or directory"),
        "{}",
        err_of(&p)
    );
    Ok(())
}

#[test]
fn a_loop_of_symlinks_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::os::unix::fs::symlink(&b, &a)?;
    std::os::unix::fs::symlink(&a, &b)?;
    let mut p = Plan::new();
    p.output("--report", &a);
    assert!(
        err_of(&p).ends_with("`: too many levels of symbolic links"),
        "{}",
        err_of(&p)
    );
    assert!(std::fs::symlink_metadata(&a)?.file_type().is_symlink());
    Ok(())
}

#[test]
fn a_target_with_a_long_name_still_gets_a_temporary_file() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    // A valid name of 250 bytes (multi-byte characters included): the
    // temporary file's `.NAME.XXXXXX.tmp` was 263 bytes, "File name too long".
    let name = format!("{}é.jsonl", "r".repeat(242));
    assert_eq!(name.len(), 250);
    let target = dir.path().join(&name);
    let mut p = Plan::new();
    p.output("--flows", &target);
    assert_eq!(err_of(&p), "<no error>");
    let mut out = OutputFile::create("--flows", &target)?;
    out.write_all(b"{}\n")?;
    out.commit()?;
    assert_eq!(std::fs::read(&target)?, b"{}\n");
    assert_eq!(entries(dir.path()), vec![name]);
    Ok(())
}

/// A write that fails (`/dev/full`: no space left, as on a full disk)
/// does not fail the writer: the output is marked failed, later writes
/// are discarded, and the commit names the flag, the path and why, so the
/// run goes on to its other outputs.
#[test]
fn a_failed_write_is_kept_for_the_commit() -> Result<(), Box<dyn std::error::Error>> {
    use super::OutputState;
    let mut out = OutputFile::create("--allowed", "/dev/full")?;
    assert_eq!(out.state(), OutputState::Open);
    out.write_all(&[0u8; 1 << 16])?;
    out.flush()?;
    assert_eq!(out.state(), OutputState::Failed);
    out.write_all(b"more")?;
    let why = out.failure().map(|e| e.message().to_owned());
    let e = out
        .commit()
        .err()
        .ok_or("the commit of a failed output succeeded")?;
    assert_eq!(Some(e.message().to_owned()), why);
    assert_eq!(
        e.message(),
        "--allowed `/dev/full`: No space left on device"
    );
    Ok(())
}

/// `commit_new` renames into place while the target is absent, and leaves
/// a file made at the target after the output was started (between
/// `import -o`'s last check and its rename) as it is, with no temporary
/// file left; `commit` would have replaced it.
#[test]
fn commit_new_never_replaces_a_file_made_meanwhile() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let target = dir.path().join("s.toml");
    let mut out = OutputFile::create("-o", &target)?;
    out.write_all(b"new")?;
    out.commit_new()?;
    assert_eq!(std::fs::read(&target)?, b"new");

    let made = dir.path().join("made.toml");
    let mut out = OutputFile::create("-o", &made)?;
    out.write_all(b"imported")?;
    std::fs::write(&made, b"by hand")?;
    let Err(e) = out.commit_new() else {
        panic!("a file made meanwhile was replaced");
    };
    assert!(e.exists(), "{e}");
    assert!(e.to_string().starts_with("-o `"), "{e}");
    assert_eq!(std::fs::read(&made)?, b"by hand");
    assert_eq!(entries(dir.path()), ["made.toml", "s.toml"]);
    Ok(())
}

/// An output named `.gz` is written gzip and one named `.zst` zstd (in any
/// case of the ending), each a whole stream once committed; any other
/// name stays plain. Until the twenty-eighth session every output was
/// written plain, whatever its name.
#[test]
fn an_output_named_gz_or_zst_is_written_so() -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Read;
    let dir = tempfile::tempdir()?;
    let text: Vec<u8> = (0..20_000)
        .flat_map(|i| format!("{{\"line\":{i}}}\n").into_bytes())
        .collect();
    for name in [
        "f.jsonl.gz",
        "F.JSONL.GZ",
        "f.jsonl.zst",
        "f.jsonl",
        "f.gz.json",
    ] {
        let target = dir.path().join(name);
        let mut out = OutputFile::create("--flows", &target)?;
        for line in text.split_inclusive(|&b| b == b'\n') {
            out.write_all(line)?;
            // The writers flush often: a flush must not cut the stream.
            out.flush()?;
        }
        assert!(!target.exists());
        out.commit()?;
        let bytes = std::fs::read(&target)?;
        let mut got = Vec::new();
        if name.to_ascii_lowercase().ends_with(".gz") {
            assert_eq!(bytes[..2], [0x1f, 0x8b], "{name}");
            flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut got)?;
        } else if name.ends_with(".zst") {
            assert_eq!(bytes[..4], [0x28, 0xb5, 0x2f, 0xfd], "{name}");
            got = zstd::stream::decode_all(&bytes[..])?;
        } else {
            got = bytes.clone();
        }
        assert_eq!(got, text, "{name}");
        if got != bytes {
            assert!(
                bytes.len() < text.len() / 4,
                "{name}: {} bytes",
                bytes.len()
            );
        }
    }
    Ok(())
}

/// An output named for a compression zprsim does not write is refused by
/// the plan, before any work, naming the flag and the file and saying
/// what is written; `-` is never compressed.
#[test]
fn an_output_named_xz_bz2_or_lz4_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    for (name, what, tool) in [
        ("r.json.xz", "xz", "xz"),
        ("r.json.BZ2", "bzip2", "bzip2"),
        ("r.json.lz4", "lz4", "lz4"),
        ("r.json.lzma", "lzma", "xz --format=lzma"),
    ] {
        let target = dir.path().join(name);
        let mut p = Plan::new();
        p.input("SCENARIO", "Cargo.toml")
            .output("--report", &target);
        let shown = target.display().to_string();
        let stem = &shown[..shown.rfind('.').unwrap_or(0)];
        assert_eq!(
            err_of(&p),
            format!(
                "--report `{shown}`: zprsim does not write {what}: an output named `.gz` is written gzip, `.zst` zstd, and any other name plain (`--report {stem}.gz`, or `--report - | {tool} > {shown}`)"
            )
        );
        assert!(OutputFile::create("--report", &target).is_err(), "{name}");
    }
    assert!(entries(dir.path()).is_empty());
    assert_eq!(
        super::Compression::of("--report", std::path::Path::new("-")),
        Ok(super::Compression::Plain)
    );
    Ok(())
}

/// A live encoder (the tap's `--dropped`) ends a block on each flush, so
/// a reader has every byte written before it while the stream is still
/// open; finished, the stream is whole.
#[test]
fn a_live_encoder_gives_what_was_written_before_each_flush()
-> Result<(), Box<dyn std::error::Error>> {
    use super::{Compression, Encoder};
    use std::cell::RefCell;
    use std::io::Read;
    use std::rc::Rc;
    /// A file a reader looks at while it is written.
    #[derive(Clone, Default)]
    struct File(Rc<RefCell<Vec<u8>>>);
    impl Write for File {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // What a reader decompresses of the bytes so far (a stream not ended
    // is an error after the bytes it gives).
    let read = |c: Compression, bytes: &[u8]| -> Vec<u8> {
        let mut got = Vec::new();
        let _ = match c {
            Compression::Gzip => flate2::read::GzDecoder::new(bytes).read_to_end(&mut got),
            _ => zstd::stream::read::Decoder::new(bytes).and_then(|mut d| d.read_to_end(&mut got)),
        };
        got
    };
    for c in [Compression::Gzip, Compression::Zstd] {
        let file = File::default();
        let mut e = Encoder::live(file.clone(), c)?;
        e.write_all(b"first record\n")?;
        e.flush()?;
        assert_eq!(read(c, &file.0.borrow()), b"first record\n", "{c:?}");
        e.write_all(b"second\n")?;
        e.finish()?;
        assert_eq!(
            read(c, &file.0.borrow()),
            b"first record\nsecond\n",
            "{c:?}"
        );
    }
    Ok(())
}

/// `sync_ahead` hands the buffered bytes to the temporary file (and syncs
/// it) without touching the target; the commit then renames as before.
#[test]
fn sync_ahead_writes_the_temporary_file_not_the_target() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let target = dir.path().join("a.pcap");
    std::fs::write(&target, b"old")?;
    let mut out = OutputFile::create("--allowed", &target)?;
    out.write_all(b"all of it")?;
    let temp = || -> Result<Vec<u8>, std::io::Error> {
        let name = entries(dir.path())
            .into_iter()
            .find(|n| n != "a.pcap")
            .ok_or_else(|| std::io::Error::other("no temporary file"))?;
        std::fs::read(dir.path().join(name))
    };
    // Buffered until now.
    assert_eq!(temp()?, b"");
    out.sync_ahead();
    assert_eq!(temp()?, b"all of it");
    assert_eq!(std::fs::read(&target)?, b"old");
    out.commit()?;
    assert_eq!(std::fs::read(&target)?, b"all of it");
    assert_eq!(entries(dir.path()), vec!["a.pcap".to_owned()]);
    Ok(())
}

/// A compressed output synced ahead (before its stream's end is written)
/// and past the writeback's step still commits to the whole stream.
#[test]
fn a_compressed_output_synced_ahead_is_whole() -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Read;
    let dir = tempfile::tempdir()?;
    let target = dir.path().join("a.pcap.gz");
    let mut out = OutputFile::create("--allowed", &target)?;
    let mut want = Vec::new();
    for i in 0..(super::WRITEBACK_EVERY / 4096 + 40) {
        let block: Vec<u8> = (0..4096)
            .map(|j| u8::try_from((i * 31 + j * 7) % 251).unwrap_or(0))
            .collect();
        out.write_all(&block)?;
        out.flush()?;
        want.extend_from_slice(&block);
    }
    out.sync_ahead();
    out.commit()?;
    let mut got = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&target)?).read_to_end(&mut got)?;
    assert!(
        got == want,
        "{} bytes read back, {} written",
        got.len(),
        want.len()
    );
    Ok(())
}
