//! The one way text taken from input is shown to people: control
//! characters, newlines, line separators and bidirectional controls are
//! written as escapes, so a name, a path or a field of a capture can never
//! forge a line or reorder what a terminal or a log viewer shows.
//!
//! ```
//! use zprsim_control::escape::escape;
//! assert_eq!(escape("web\u{202e}gnp.exe"), "web\\u{202e}gnp.exe");
//! assert_eq!(escape("a\nb\u{7}"), "a\\nb\\u{7}");
//! assert_eq!(escape("db-nsg"), "db-nsg"); // unchanged, not copied
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not be shown raw: a control character (C0, DEL, C1;
/// newlines and tabs included), a line or paragraph separator, or a
/// bidirectional control (embeddings and overrides U+202A-202E, isolates
/// U+2066-2069, marks U+200E, U+200F, U+061C).
#[must_use]
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `s` with every [`is_unsafe`] character written as `\n`, `\r`, `\t` or
/// `\u{hex}`; borrowed when nothing needed escaping.
#[must_use]
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_with(s, false)
}

/// Like [`escape`], but newlines stay: for a message of several lines
/// whose parts were escaped already (a final safety net before stderr).
#[must_use]
pub fn escape_keep_newlines(s: &str) -> Cow<'_, str> {
    escape_with(s, true)
}

/// A path as [`escape`] shows it (bytes that are not UTF-8 as U+FFFD): for
/// a path put in a message, where `Path::display` would let a newline in a
/// file name forge a line.
///
/// ```
/// use zprsim_control::escape::path;
/// assert_eq!(path(std::path::Path::new("a\nb.pcap")), "a\\nb.pcap");
/// ```
#[must_use]
pub fn path(p: &std::path::Path) -> String {
    escape(&p.to_string_lossy()).into_owned()
}

fn escape_with(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let bad = |c: char| is_unsafe(c) && !(keep_newlines && c == '\n');
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !bad(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// `s` as a TOML basic string, quotes included: `"` and `\` escaped,
/// control characters as `\n`, `\t`, ... or `\uXXXX`, so a hint holding a
/// name or a statement pastes into a scenario as written. (A JSON string
/// escapes the same two characters the same way.)
///
/// ```
/// use zprsim_control::escape::toml_string;
/// assert_eq!(toml_string("db-nsg"), "\"db-nsg\"");
/// assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
/// assert_eq!(toml_string("x\u{7f}"), "\"x\\u007F\"");
/// ```
#[must_use]
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_keep_newlines, is_unsafe};

    #[test]
    fn every_unsafe_class_is_escaped_and_nothing_else() {
        for c in [
            '\0', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{2028}',
        ] {
            assert!(is_unsafe(c), "{c:?}");
            assert!(escape(&c.to_string()).starts_with("\\u{"), "{c:?}");
        }
        for c in (0x202a..=0x202e).chain(0x2066..=0x2069) {
            let c = char::from_u32(c).unwrap_or('x');
            assert!(is_unsafe(c), "{c:?}");
        }
        for s in ["plain", "db-nsg", "naïve", "日本", "a b", "`x`", "\\"] {
            assert_eq!(escape(s), s);
        }
        assert_eq!(escape("a\r\n\tb"), "a\\r\\n\\tb");
        assert_eq!(escape_keep_newlines("a\nb\u{1b}[2J"), "a\nb\\u{1b}[2J");
    }
}
