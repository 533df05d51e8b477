//! The ZPL error: a byte span, what was expected and what was found, and a
//! rustc-style rendering with a caret under the offending text.

use std::fmt;

/// A ZPL syntax error.
///
/// The span is a byte range of the text handed to the parser (the statement
/// for [`parse_statement`](super::parse_statement), the whole file for
/// [`parse_policy_text`](super::parse_policy_text)). It always lies on `char`
/// boundaries of that text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZplError {
    offset: usize,
    len: usize,
    expected: String,
    found: String,
    /// A message that replaces the `expected ..., found ...` form when the
    /// two halves read badly on their own (`` `protocol` given twice ``).
    headline: Option<String>,
}

impl ZplError {
    /// An error `expected <expected>, found <found>` at `offset..offset+len`.
    pub(crate) fn new(
        offset: usize,
        len: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        ZplError {
            offset,
            len,
            expected: expected.into(),
            found: found.into(),
            headline: None,
        }
    }

    /// Replaces the message with `headline` (expected and found stay
    /// available through their accessors).
    pub(crate) fn with_headline(mut self, headline: impl Into<String>) -> Self {
        self.headline = Some(headline.into());
        self
    }

    /// Moves the span by `delta` bytes (a statement found inside a file).
    pub(crate) fn shifted(mut self, delta: usize) -> Self {
        self.offset = self.offset.saturating_add(delta);
        self
    }

    /// Byte offset of the offending text.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Byte length of the offending text (0 at the end of the text).
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the span is empty (the error is at the end of the text).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What the parser expected, e.g. `` `to` ``.
    #[must_use]
    pub fn expected(&self) -> &str {
        &self.expected
    }

    /// What it found, e.g. `` `connnect` `` or `end of statement`.
    #[must_use]
    pub fn found(&self) -> &str {
        &self.found
    }

    /// The one-line message: `` expected `to`, found `connnect` ``.
    #[must_use]
    pub fn message(&self) -> String {
        match &self.headline {
            Some(h) => h.clone(),
            None => format!("expected {}, found {}", self.expected, self.found),
        }
    }

    /// 1-based line and column (in characters) of the error's first byte in
    /// `source`, the text the offset refers to.
    #[must_use]
    pub fn line_col(&self, source: &str) -> (u32, u32) {
        let at = floor_char_boundary(source, self.offset);
        let before = &source[..at];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = source[line_start..at].chars().count() + 1;
        (to_u32(line), to_u32(col))
    }

    /// Renders the error rustc-style:
    ///
    /// ```text
    /// error: expected `to`, found `connnect`
    ///   --> policies/orders.zpl:3:45
    ///    |
    ///  3 | in network:backend VCN allow app:orders endpoints to connnect to ...
    ///    |                                                     ^^^^^^^^
    /// ```
    #[must_use]
    pub fn render(&self, file: &str, source: &str) -> String {
        self.render_at(file, source, 1, 1)
    }

    /// Like [`render`](Self::render) for a `source` that sits inside a bigger
    /// file (a statement inside a TOML string): byte 0 of `source` is at
    /// `first_line`:`first_column` (1-based) of `file`. The line shown is the
    /// line of `source` itself.
    #[must_use]
    pub fn render_at(
        &self,
        file: &str,
        source: &str,
        first_line: u32,
        first_column: u32,
    ) -> String {
        let (line, col) = self.line_col(source);
        let shown_line = line.saturating_add(first_line.max(1) - 1);
        let shown_col = if line == 1 {
            col.saturating_add(first_column.max(1) - 1)
        } else {
            col
        };

        // The source line holding the error (without a `\r\n` ending), and
        // the caret under the span's part on that line (at least one caret).
        let at = floor_char_boundary(source, self.offset);
        let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
        let mut line_end = source[at..].find('\n').map_or(source.len(), |i| at + i);
        if line_end > at && source[..line_end].ends_with('\r') {
            line_end -= 1;
        }
        let end =
            floor_char_boundary(source, self.offset.saturating_add(self.len)).clamp(at, line_end);
        // A long line is shown around the error only (a statement may be
        // up to 64 KiB, a line of a file longer): at most `SHOWN_CHARS`
        // characters on each side, the cut marked with `...`.
        let (before_src, cut_before) = last_chars(&source[line_start..at], SHOWN_CHARS);
        let (after_src, cut_after) = first_chars(&source[at..line_end], SHOWN_CHARS);
        let (mut before, mut lead) = display_text(before_src);
        if cut_before {
            before.insert_str(0, "...");
            lead += 3;
        }
        let (mut after, after_width) = display_text(after_src);
        if cut_after {
            after.push_str("...");
        }
        let (_, span_width) = display_text(&source[at..end]);
        let span_width = span_width.min(after_width.max(1));
        let text = before + &after;

        let number = shown_line.to_string();
        let pad = " ".repeat(number.len() + 1);
        format!(
            "error: {msg}\n{pad}--> {file}:{shown_line}:{shown_col}\n{pad} |\n {number} |{text}\n{pad} | {spaces}{carets}",
            msg = self.message(),
            text = if text.trim_end().is_empty() {
                String::new()
            } else {
                format!(" {}", text.trim_end())
            },
            spaces = " ".repeat(lead),
            carets = "^".repeat(span_width.max(1)),
        )
    }
}

impl fmt::Display for ZplError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ZplError {}

/// Characters of the error's line shown on each side of the error (more
/// than an attribute value, 255 characters, and its context).
const SHOWN_CHARS: usize = 300;

/// The last `n` characters of `s`, and whether some were cut.
fn last_chars(s: &str, n: usize) -> (&str, bool) {
    match s.char_indices().rev().nth(n.saturating_sub(1)) {
        Some((i, _)) if i > 0 => (&s[i..], true),
        _ => (s, false),
    }
}

/// The first `n` characters of `s`, and whether some were cut.
fn first_chars(s: &str, n: usize) -> (&str, bool) {
    match s.char_indices().nth(n) {
        Some((i, _)) => (&s[..i], true),
        None => (s, false),
    }
}

/// Text as shown in a rendered error, and its width in columns: a tab is
/// four spaces, other control characters (a stray `\r`, NUL) show as `�`.
fn display_text(s: &str) -> (String, usize) {
    let mut out = String::with_capacity(s.len());
    let mut width = 0;
    for c in s.chars() {
        if c == '\t' {
            out.push_str("    ");
            width += 4;
        } else if c.is_control() {
            out.push('\u{fffd}');
            width += 1;
        } else {
            out.push(c);
            width += 1;
        }
    }
    (out, width)
}

/// The largest char boundary of `s` at or below `i` (clamped to `s.len()`).
pub(crate) fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
