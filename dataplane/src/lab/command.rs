//! Whether a command given to `lab exec` can run at all.

use std::path::Path;

/// Why a command cannot run, with the shell's exit status for it: 127 when
/// it is not found (on `PATH`, or at the path given), 126 when it is found
/// but is not an executable file.
#[must_use]
pub fn unrunnable(cmd: &str) -> Option<(u8, String)> {
    use std::os::unix::fs::PermissionsExt;
    let check = |p: &Path| -> Option<Option<(u8, String)>> {
        let m = std::fs::metadata(p).ok()?;
        if m.is_file() && m.permissions().mode() & 0o111 != 0 {
            Some(None)
        } else {
            Some(Some((126, format!("`{}` is not executable", p.display()))))
        }
    };
    if cmd.contains('/') {
        return check(Path::new(cmd)).unwrap_or_else(|| Some((127, "no such file".into())));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut not_exec = None;
    for dir in std::env::split_paths(&path) {
        match check(&dir.join(cmd)) {
            Some(None) => return None,
            Some(Some(e)) => not_exec = not_exec.or(Some(e)),
            None => {}
        }
    }
    Some(not_exec.unwrap_or_else(|| (127, "command not found".into())))
}

#[cfg(test)]
mod tests {
    use super::unrunnable;

    #[test]
    fn a_missing_or_non_executable_command_gets_the_shells_status() {
        assert_eq!(unrunnable("sh"), None);
        assert_eq!(
            unrunnable("/nonexistent/zprsim-none"),
            Some((127, "no such file".into()))
        );
        assert_eq!(
            unrunnable("zprsim-no-such-command-anywhere"),
            Some((127, "command not found".into()))
        );
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let f = d.path().join("plain");
        std::fs::write(&f, "#!/bin/sh\n").unwrap_or_else(|e| panic!("{e}"));
        let s = f.display().to_string();
        assert_eq!(
            unrunnable(&s),
            Some((126, format!("`{s}` is not executable")))
        );
    }
}
