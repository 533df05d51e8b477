//! The terminal side of the reports the dataplane builds
//! (`zprsim_dataplane::report`): the progress bar of `replay` and `diff`,
//! and warnings on standard error.

/// The byte progress bar of `replay` and `diff`, when `show` (not quiet,
/// standard error a terminal).
#[must_use]
pub fn progress_bar(show: bool) -> Option<indicatif::ProgressBar> {
    show.then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    })
}

/// Moves `bar`, if any, to `done` of `total` bytes.
pub fn progress_to(bar: Option<&indicatif::ProgressBar>, done: u64, total: u64) {
    if let Some(b) = bar {
        b.set_length(total);
        b.set_position(done);
    }
}

/// Writes the load warnings (as they are) and the report's warnings (with a
/// `warning: ` prefix) to standard error, even with `--quiet`.
pub fn print_warnings<W: std::fmt::Display, R: std::fmt::Display>(
    loaded: impl IntoIterator<Item = W>,
    report: &[R],
) {
    use std::fmt::Write as _;
    let mut warnings = String::new();
    for w in loaded {
        let _ = writeln!(warnings, "{w}");
    }
    for w in report {
        // One line each: a file name in it is escaped whole (the report
        // keeps the text as it is).
        let _ = writeln!(
            warnings,
            "warning: {}",
            zprsim_control::escape::escape(&w.to_string())
        );
    }
    crate::err(&warnings);
}
