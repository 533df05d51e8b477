//! A reader for the plain JSON scenarios are written in, with serde_json
//! behind it for everything else.
//!
//! Written by hand for the same reason as `fast_toml.rs`: serde_json reads
//! fast, but a span for every value (`raw.rs`) means lending each value's
//! text as a `RawValue` and reading it a second time, about half of loading
//! a JSON scenario. This reader reads a strict subset of JSON into an
//! [`arena::Doc`](super::arena::Doc) (strings as ranges of the text, spans
//! as serde_json's `RawValue` gives them) and lets the raw structs'
//! `Deserialize` read that. It gives no errors: on anything outside the
//! subset, and on any text the raw structs do not take, it returns `None`
//! and the caller reads the text with serde_json as before, so every
//! error, with its message, line and column, is serde_json's (tests:
//! `fast_json_tests.rs` compares both).
//!
//! The subset: objects, arrays, strings without escapes or control
//! characters, integers (`-` allowed, no leading zero, no `-0`, no
//! fraction or exponent) that fit in `i64`, `true`, `false`; no `null`;
//! no object with a key twice; nested at most [`MAX_DEPTH`] deep.

use serde::Deserialize;

use super::arena::{At, Doc, Entry, Node, Val, run_len};
use super::raw::{RawScenario, SpanMode};

/// Deepest nesting of arrays and objects taken.
const MAX_DEPTH: usize = 32;

/// The raw scenario of `text`, a whole JSON file, or `None` when
/// serde_json must read it.
pub(crate) fn parse(text: &str) -> Option<RawScenario> {
    let doc = read(text)?;
    let root = doc.nodes.len().checked_sub(1)?;
    let _mode = SpanMode::enter_arena();
    RawScenario::deserialize(At {
        doc: &doc,
        node: root,
    })
    .ok()
}

/// The document of `text`, its root value the last node; `None` outside
/// the subset.
fn read(text: &str) -> Option<Doc<'_>> {
    let mut r = Reader {
        b: text.as_bytes(),
        i: 0,
        doc: Doc {
            text,
            // About one value per 16 bytes in scenarios.
            nodes: Vec::with_capacity(text.len() / 16),
            items: Vec::with_capacity(text.len() / 64),
            entries: Vec::with_capacity(text.len() / 20),
        },
        open: Vec::new(),
        open_items: Vec::new(),
    };
    r.skip_ws();
    r.value(0)?;
    r.skip_ws();
    (r.i == r.b.len()).then_some(r.doc)
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    doc: Doc<'a>,
    /// Entries of the objects being read, innermost last.
    open: Vec<Entry>,
    /// Elements of the arrays being read, innermost last.
    open_items: Vec<usize>,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        self.i += run_len(self.b, self.i, |c| {
            matches!(c, b' ' | b'\t' | b'\n' | b'\r')
        });
    }

    fn push_node(&mut self, val: Val, start: usize) -> usize {
        self.doc.nodes.push(Node {
            val,
            span: (start, self.i),
        });
        self.doc.nodes.len() - 1
    }

    /// A value at `i`: its node.
    fn value(&mut self, depth: usize) -> Option<usize> {
        let start = self.i;
        let val = match self.peek()? {
            b'"' => {
                let (s, e) = self.string()?;
                Val::Str(s, e)
            }
            b'[' => return self.array(depth + 1),
            b'{' => return self.object(depth + 1),
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
        // What follows is checked by the caller, which takes only
        // whitespace, `,`, `]`, `}` or the end: `1.5`, `1e3`, `01` and
        // `truex` are refused there.
        Some(self.push_node(val, start))
    }

    /// A string at `i` (on its `"`): the range of its text.
    fn string(&mut self) -> Option<(usize, usize)> {
        self.i += 1;
        let start = self.i;
        self.i += run_len(self.b, self.i, |c| {
            !matches!(c, b'"' | b'\\' | 0x00..=0x1f | 0x7f)
        });
        if self.peek()? != b'"' {
            return None;
        }
        let end = self.i;
        self.i += 1;
        Some((start, end))
    }

    /// An integer at `i`.
    fn integer(&mut self) -> Option<Val> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = self.i;
        match self.peek()? {
            // `0` alone (`-0` is a float to serde_json: refused).
            b'0' if digits == start => self.i += 1,
            b'1'..=b'9' => self.i += run_len(self.b, self.i, |c| c.is_ascii_digit()),
            _ => return None,
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
        self.skip_ws();
        if self.peek()? == b']' {
            self.i += 1;
        } else {
            loop {
                let v = self.value(depth)?;
                self.open_items.push(v);
                self.skip_ws();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.skip_ws();
                    }
                    b']' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let first = self.doc.items.len();
        self.doc.items.extend(self.open_items.drain(mark..));
        let len = self.doc.items.len() - first;
        Some(self.push_node(Val::Arr { first, len }, start))
    }

    /// An object at `i` (on its `{`).
    fn object(&mut self, depth: usize) -> Option<usize> {
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
                if self.peek()? != b'"' {
                    return None;
                }
                let key_start = self.i;
                let key = self.string()?;
                let key_span = (key_start, self.i);
                self.skip_ws();
                if self.peek()? != b':' {
                    return None;
                }
                self.i += 1;
                self.skip_ws();
                let node = self.value(depth)?;
                self.open.push(Entry {
                    key,
                    key_span,
                    node,
                });
                self.skip_ws();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.skip_ws();
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
        let entries = self.doc.entries.get(first..)?;
        if !self.doc.keys_unique(entries) {
            return None;
        }
        let len = entries.len();
        Some(self.push_node(Val::Tab { first, len }, start))
    }
}
