//! The defects of the nineteenth session's planning list (note-s19, "For
//! planning" items 6, 8, 9 and 10), as users met them: each test fails on
//! the code before its fix.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of the OKE example's export in `d/export`.
fn oke_export(d: &Path) -> PathBuf {
    let e = d.join("export");
    std::fs::create_dir(&e).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/oci-export");
    for f in std::fs::read_dir(&from).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, e.join(f.file_name().unwrap())).unwrap();
    }
    e
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
#[test]
fn import_leaves_a_file_made_at_its_output_while_it_ran() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let export = oke_export(d);
    let fifo = d.join("services.json");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
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
