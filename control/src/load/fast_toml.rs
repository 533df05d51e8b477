//! A reader for the plain TOML scenarios are written in, with the `toml`
//! crate behind it for everything else.
//!
//! Written by hand because the `toml` crate was ~80% of loading a large
//! scenario (a token vector, a tree of spanned keys and `Cow` strings,
//! then serde's walk of it, every span through a three-entry map) and no
//! well-kept TOML crate reads into serde without that tree. This reader
//! takes only a strict subset of TOML, reads it into an
//! [`arena::Doc`](super::arena::Doc) (flat arrays, strings as ranges of the
//! text) and lets the raw structs' `Deserialize` read that. It gives no
//! errors: on anything outside the subset, and on any text the raw structs
//! do not take, it returns `None` and the caller parses the text with the
//! `toml` crate as before, so every error, with its message, line and
//! column, is the `toml` crate's. What it does take it reads exactly as
//! the `toml` crate does, spans included (tests: `fast_toml_tests.rs`
//! compares both on every scenario of the repository and on random
//! mutations of them).
//!
//! The subset, line by line (`\n` ends lines; a text with `\r` is not
//! taken):
//! - blank lines and `#` comments;
//! - `[key]` and `[[key]]` headers with one bare key, nothing inside the
//!   brackets but the key;
//! - `key = value`, the key bare or a basic string, not dotted.
//!
//! Values: basic strings without escapes on one line, decimal integers
//! (`-` allowed, no `+`, no `_`, no leading zero) that fit in `i64`,
//! `true`, `false`, arrays (over lines, with comments and a trailing
//! comma), inline tables on one line without a trailing comma, nested at
//! most [`MAX_DEPTH`] deep. A table holds no key twice; a header's key is not also a key of the root table, and a
//! `[key]` is used once, not as a `[[key]]` too.

use serde::Deserialize;

use super::arena::{At, Doc, Entry, MAX_NODES, Node, Val, run_len, string_body};
use super::raw::{RawScenario, SpanMode};

/// Deepest nesting of arrays and inline tables taken.
const MAX_DEPTH: usize = 32;

/// Most header keys (`[key]`, `[[key]]`) in one text: a raw scenario has
/// a dozen top-level fields and refuses any other key, so a text with more
/// is refused as soon as it shows them (each new key is compared with the
/// others: bounded, that stays linear in the text).
const MAX_HEADER_KEYS: usize = 16;

/// The raw scenario of `part`, a text that starts at byte `base` of the
/// file (spans are the file's), or `None` when the `toml` crate must read
/// it.
pub(crate) fn parse(part: &str, base: usize) -> Option<RawScenario> {
    parse_part(part, base).map(|p| p.raw)
}

/// A part of a text read by [`parse_part`].
pub(crate) struct Part<'a> {
    /// Its raw scenario.
    pub raw: RawScenario,
    /// Its top-level keys, each once, and whether each is an array of
    /// tables (`[[key]]`): parts of one text join as the whole text reads
    /// only when no key but those of arrays of tables is in two parts.
    pub keys: Vec<(&'a str, bool)>,
}

/// [`parse`], with the part's top-level keys.
pub(crate) fn parse_part(part: &str, base: usize) -> Option<Part<'_>> {
    let (doc, keys) = read(part, base)?;
    let root = doc.nodes.len().checked_sub(1)?;
    let _mode = SpanMode::enter_arena();
    let raw = RawScenario::deserialize(At {
        doc: &doc,
        node: root,
    })
    .ok()?;
    Some(Part { raw, keys })
}

/// Where `text` may be cut into parts of at least `target` bytes (the
/// last aside) for [`parse_part`]: before lines that start with `[[`.
/// A cut inside an array leaves a part the reader refuses (arrays are its
/// only values over several lines), so parts it takes all end where the
/// whole text is at its top level.
pub(crate) fn cuts(text: &str, target: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::with_capacity((text.len() / target.max(1)).min(1 << 16) + 1);
    let mut start = 0;
    for at in memchr::memmem::find_iter(text.as_bytes(), b"\n[[") {
        let cut = at + 1;
        if cut - start >= target {
            out.push(start..cut);
            start = cut;
        }
    }
    out.push(start..text.len());
    out
}

/// The top-level keys of a text: each once, and whether it is `[[key]]`.
type Keys<'a> = Vec<(&'a str, bool)>;

/// The document of `text`, its root table the last node, and its top-level
/// keys; `None` outside the subset.
pub(super) fn read(text: &str, base: usize) -> Option<(Doc<'_>, Keys<'_>)> {
    if memchr::memchr(b'\r', text.as_bytes()).is_some() {
        return None;
    }
    let mut r = Reader {
        b: text.as_bytes(),
        i: 0,
        base,
        doc: Doc {
            text,
            // About one value per 12 bytes in scenarios; never more room
            // than the node limit allows (past it the text is refused).
            nodes: Vec::with_capacity((text.len() / 12).min(MAX_NODES)),
            items: Vec::with_capacity((text.len() / 40).min(MAX_NODES)),
            entries: Vec::with_capacity((text.len() / 16).min(MAX_NODES)),
        },
        open: Vec::new(),
        open_items: Vec::new(),
    };
    // The root table's own keys, once the first header is read.
    let mut root: Option<Vec<Entry>> = None;
    // Per header key, in order of first use: the key, its first span and
    // the node ids of its tables.
    let mut groups: Vec<Group> = Vec::new();
    // The group of the header table being read.
    let mut current: Option<usize> = None;
    loop {
        r.skip_ws();
        let Some(c) = r.peek() else { break };
        match c {
            b'\n' => r.i += 1,
            b'#' => {
                r.comment()?;
            }
            b'[' => {
                let root_keys = match &root {
                    Some(keys) => {
                        r.close_table(current, &mut groups)?;
                        keys
                    }
                    None => root.insert(std::mem::take(&mut r.open)),
                };
                let header_start = r.i;
                let (key, key_span, array) = r.header()?;
                let name = r.doc.text.get(key.0..key.1)?;
                let known = groups
                    .iter()
                    .position(|g| r.doc.text.get(g.key.0..g.key.1) == Some(name));
                current = Some(match known {
                    // `[[key]]` again: one more element.
                    Some(g) if array && groups.get(g)?.array => g,
                    // A table defined twice, or both a table and an array
                    // of tables: an error (the `toml` crate says which).
                    Some(_) => return None,
                    // More keys than a raw scenario has fields.
                    None if groups.len() >= MAX_HEADER_KEYS => return None,
                    None => {
                        // A key both of the root and of a header: an error.
                        if root_keys
                            .iter()
                            .any(|e| r.doc.text.get(e.key.0..e.key.1) == Some(name))
                        {
                            return None;
                        }
                        groups.push(Group {
                            key,
                            key_span,
                            array,
                            header: r.span_from(header_start),
                            tables: Vec::new(),
                        });
                        groups.len() - 1
                    }
                });
                r.line_end()?;
            }
            _ => {
                r.key_value(0)?;
                r.line_end()?;
            }
        }
    }
    let root_entries = match root {
        Some(keys) => {
            r.close_table(current, &mut groups)?;
            keys
        }
        None => std::mem::take(&mut r.open),
    };
    if !r.doc.keys_unique(&root_entries) {
        return None;
    }
    let mut keys = Vec::with_capacity(root_entries.len() + groups.len());
    for e in &root_entries {
        keys.push((text.get(e.key.0..e.key.1)?, false));
    }
    for g in &groups {
        keys.push((text.get(g.key.0..g.key.1)?, g.array));
    }
    let first = r.doc.entries.len();
    r.doc.entries.extend(root_entries);
    for g in groups {
        let node = if g.array {
            let items = r.doc.items.len();
            r.doc.items.extend_from_slice(&g.tables);
            r.push_node(
                Val::Arr {
                    first: items,
                    len: g.tables.len(),
                },
                g.key_span,
            )?
        } else {
            let &[table] = g.tables.as_slice() else {
                return None;
            };
            // The span the `toml` crate gives a `[key]` table.
            r.doc.nodes.get_mut(table)?.span = g.header;
            table
        };
        r.doc.entries.push(Entry {
            key: g.key,
            key_span: g.key_span,
            node,
        });
    }
    let len = r.doc.entries.len() - first;
    r.push_node(Val::Tab { first, len }, (base, base + text.len()))?;
    Some((r.doc, keys))
}

/// The table of one `[key]`, or the tables of one `[[key]]`.
struct Group {
    key: (usize, usize),
    key_span: (usize, usize),
    /// `[[key]]`.
    array: bool,
    /// The span of the first header.
    header: (usize, usize),
    tables: Vec<usize>,
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    /// Where the text starts in the file.
    base: usize,
    doc: Doc<'a>,
    /// Entries of the tables being read, innermost last.
    open: Vec<Entry>,
    /// Elements of the arrays being read, innermost last.
    open_items: Vec<usize>,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.b.get(self.i.checked_add(ahead)?).copied()
    }

    /// A node for `val` written at local bytes `start..end`.
    /// `None` past [`MAX_NODES`] nodes: the crate reads such a text.
    fn push_node(&mut self, val: Val, span: (usize, usize)) -> Option<usize> {
        if self.doc.nodes.len() >= MAX_NODES {
            return None;
        }
        self.doc.nodes.push(Node { val, span });
        Some(self.doc.nodes.len() - 1)
    }

    fn span_from(&self, start: usize) -> (usize, usize) {
        (self.base + start, self.base + self.i)
    }

    fn skip_ws(&mut self) {
        self.i += run_len(self.b, self.i, |c| matches!(c, b' ' | b'\t'));
    }

    /// Spaces, newlines and comments (inside an array).
    fn skip_ws_lines(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n') => self.i += 1,
                Some(b'#') => self.comment()?,
                _ => return Some(()),
            }
        }
    }

    /// A comment from its `#` to the end of the line (the newline not
    /// read); `None` on a control character TOML forbids there.
    fn comment(&mut self) -> Option<()> {
        self.i += 1;
        self.i += run_len(self.b, self.i, |c| c == b'\t' || (c >= 0x20 && c != 0x7f));
        match self.peek() {
            None | Some(b'\n') => Some(()),
            // A control character TOML forbids in comments.
            Some(_) => None,
        }
    }

    /// The end of a line: spaces, a comment, then a newline or the end.
    fn line_end(&mut self) -> Option<()> {
        self.skip_ws();
        if self.peek() == Some(b'#') {
            self.comment()?;
        }
        match self.peek() {
            None => Some(()),
            Some(b'\n') => {
                self.i += 1;
                Some(())
            }
            Some(_) => None,
        }
    }

    /// `[key]` or `[[key]]` at `i`: the key's text range and span, and
    /// whether it is `[[key]]`.
    #[allow(clippy::type_complexity)]
    fn header(&mut self) -> Option<((usize, usize), (usize, usize), bool)> {
        let array = self.peek_at(1) == Some(b'[');
        self.i += if array { 2 } else { 1 };
        let start = self.i;
        self.i += run_len(self.b, self.i, is_bare);
        let key = (start, self.i);
        let span = self.span_from(start);
        if self.i == start || self.peek() != Some(b']') {
            return None;
        }
        self.i += 1;
        if array {
            if self.peek() != Some(b']') {
                return None;
            }
            self.i += 1;
        }
        Some((key, span, array))
    }

    /// The header table being read (its entries from `open`) added to its
    /// group.
    fn close_table(&mut self, current: Option<usize>, groups: &mut [Group]) -> Option<()> {
        let Some(g) = current else {
            // Only blank lines and comments before the first header.
            return self.open.is_empty().then_some(());
        };
        let first = self.doc.entries.len();
        self.doc.entries.append(&mut self.open);
        self.close_keys(first)?;
        let len = self.doc.entries.len() - first;
        let node = self.push_node(Val::Tab { first, len }, (self.base, self.base))?;
        groups.get_mut(g)?.tables.push(node);
        Some(())
    }

    /// `None` when a key of the table whose entries start at
    /// `doc.entries[first]` is given twice (an error).
    fn close_keys(&self, first: usize) -> Option<()> {
        let entries = self.doc.entries.get(first..)?;
        self.doc.keys_unique(entries).then_some(())
    }

    /// `key = value` at `i`, added to the innermost table being read.
    fn key_value(&mut self, depth: usize) -> Option<()> {
        let key_start = self.i;
        let key = match self.peek()? {
            b'"' => self.basic()?,
            c if is_bare(c) => {
                self.i += run_len(self.b, self.i, is_bare);
                (key_start, self.i)
            }
            _ => return None,
        };
        let key_span = self.span_from(key_start);
        self.skip_ws();
        if self.peek()? != b'=' {
            // A dotted key, or no `=`.
            return None;
        }
        self.i += 1;
        self.skip_ws();
        let node = self.value(depth)?;
        // (A key given twice is found when the table closes.)
        self.open.push(Entry {
            key,
            key_span,
            node,
        });
        Some(())
    }

    /// A value at `i`: its node.
    fn value(&mut self, depth: usize) -> Option<usize> {
        let start = self.i;
        let val = match self.peek()? {
            b'"' => {
                let (s, e) = self.basic()?;
                Val::Str(s, e)
            }
            b'[' => return self.array(depth + 1),
            b'{' => return self.inline_table(depth + 1),
            b't' if self.b.get(self.i..self.i + 4) == Some(b"true") => {
                self.i += 4;
                Val::Bool(true)
            }
            b'f' if self.b.get(self.i..self.i + 5) == Some(b"false") => {
                self.i += 5;
                Val::Bool(false)
            }
            b'-' | b'0'..=b'9' => self.integer()?,
            _ => return None,
        };
        // What follows (a letter, `.`, `:`, `_`, ...) is checked by the
        // caller, which takes only spaces, a comment, a newline, `,`, `]`
        // or `}` after a value: `1.5`, `1e3`, `1_000`, `0x1f`, `2024-01-01`,
        // `01` and `truex` are all refused there.
        let span = self.span_from(start);
        self.push_node(val, span)
    }

    /// A basic string at `i` (on its `"`): the range of its text.
    fn basic(&mut self) -> Option<(usize, usize)> {
        if self.peek_at(1) == Some(b'"') && self.peek_at(2) == Some(b'"') {
            // A multi-line string.
            return None;
        }
        self.i += 1;
        let start = self.i;
        // Escapes are left to the `toml` crate; control characters (a
        // newline among them) are errors there. Tab is allowed.
        self.i += string_body(self.b, self.i, b'\t')?;
        let end = self.i;
        self.i += 1;
        Some((start, end))
    }

    /// A decimal integer at `i`.
    fn integer(&mut self) -> Option<Val> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = self.i;
        if self.peek() == Some(b'0') {
            // `0` alone: a digit after it is the caller's refusal.
            self.i += 1;
        } else {
            self.i += run_len(self.b, self.i, |c| c.is_ascii_digit());
        }
        if self.i == digits {
            return None;
        }
        let text = self.doc.text.get(start..self.i)?;
        text.parse::<i64>().ok().map(Val::Int)
    }

    /// An array at `i` (on its `[`).
    fn array(&mut self, depth: usize) -> Option<usize> {
        if depth > MAX_DEPTH {
            return None;
        }
        let start = self.i;
        self.i += 1;
        let mark = self.open_items.len();
        loop {
            self.skip_ws_lines()?;
            if self.peek()? == b']' {
                break;
            }
            let v = self.value(depth)?;
            self.open_items.push(v);
            self.skip_ws_lines()?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => break,
                _ => return None,
            }
        }
        self.i += 1;
        let first = self.doc.items.len();
        self.doc.items.extend(self.open_items.drain(mark..));
        let len = self.doc.items.len() - first;
        let span = self.span_from(start);
        self.push_node(Val::Arr { first, len }, span)
    }

    /// An inline table at `i` (on its `{`), on one line.
    fn inline_table(&mut self, depth: usize) -> Option<usize> {
        if depth > MAX_DEPTH {
            return None;
        }
        let start = self.i;
        self.i += 1;
        let mark = self.open.len();
        self.skip_ws();
        if self.peek()? == b'}' {
            self.i += 1;
        } else {
            loop {
                self.key_value(depth)?;
                self.skip_ws();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.skip_ws();
                        // A trailing comma (TOML 1.1) is left to the crate.
                        if self.peek()? == b'}' {
                            return None;
                        }
                    }
                    b'}' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let first = self.doc.entries.len();
        self.doc.entries.extend(self.open.drain(mark..));
        self.close_keys(first)?;
        let len = self.doc.entries.len() - first;
        let span = self.span_from(start);
        self.push_node(Val::Tab { first, len }, span)
    }
}

/// A character of a bare key.
fn is_bare(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}
