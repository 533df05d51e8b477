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

use super::arena::{At, Doc, Entry, MAX_NODES, Node, Val, run_len, string_body};
use super::raw::{RawScenario, SpanMode};

/// Deepest nesting of arrays and objects taken.
const MAX_DEPTH: usize = 32;

/// Elements of a top-level array are read and handed to serde in batches
/// of about this much text: the document of one batch is alive at a time
/// (reading the whole text first took ~50 MiB more on `large`), and it
/// stays in the core's cache while serde reads it.
pub(crate) const BATCH_BYTES: usize = 16 << 10;

/// The raw scenario of `text`, a whole JSON file, or `None` when
/// serde_json must read it.
///
/// The top-level object is read key by key: every value but an array is
/// read alone as a one-key scenario; an array is read in batches of
/// elements, each a one-key scenario holding a run of the array. The
/// parts are joined in document order as the TOML parts are (`append`):
/// the raw scenario's fields are independent and an array's elements are
/// read one by one, so that is what the whole object reads as, given no
/// top-level key twice (checked). An empty array is one part, so that a
/// key that wants no array is still refused.
pub(crate) fn parse(text: &str) -> Option<RawScenario> {
    let mut r = Reader {
        b: text.as_bytes(),
        i: 0,
        doc: Doc {
            text,
            nodes: Vec::new(),
            items: Vec::new(),
            entries: Vec::new(),
        },
        open: Vec::new(),
        open_items: Vec::new(),
    };
    let _mode = SpanMode::enter_arena();
    let mut out: Option<RawScenario> = None;
    let mut merge = |part: RawScenario| match out.as_mut() {
        Some(o) => super::append(o, part),
        None => out = Some(part),
    };
    let mut keys: Vec<&str> = Vec::new();
    r.skip_ws();
    if r.peek()? != b'{' {
        return None;
    }
    r.i += 1;
    r.skip_ws();
    if r.peek()? == b'}' {
        r.i += 1;
        r.doc.entries.clear();
        merge(r.root(0)?);
    } else {
        loop {
            if r.peek()? != b'"' {
                return None;
            }
            let key_start = r.i;
            let key = r.string()?;
            let key_span = (key_start, r.i);
            let name = text.get(key.0..key.1)?;
            if keys.contains(&name) {
                return None;
            }
            keys.push(name);
            r.skip_ws();
            if r.peek()? != b':' {
                return None;
            }
            r.i += 1;
            r.skip_ws();
            if r.peek()? == b'[' {
                r.array_in_batches(key, key_span, &mut merge)?;
            } else {
                r.clear();
                let node = r.value(1)?;
                r.doc.entries.push(Entry {
                    key,
                    key_span,
                    node,
                });
                // The entry is the last one: its value's own entries are
                // before it.
                merge(r.root(r.doc.entries.len() - 1)?);
            }
            r.skip_ws();
            match r.peek()? {
                b',' => {
                    r.i += 1;
                    r.skip_ws();
                }
                b'}' => {
                    r.i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    r.skip_ws();
    if r.i != r.b.len() {
        return None;
    }
    out
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
    /// Forgets the document read so far (its buffers are kept).
    fn clear(&mut self) {
        self.doc.nodes.clear();
        self.doc.items.clear();
        self.doc.entries.clear();
    }

    /// The raw scenario of a top-level object whose entries are
    /// `doc.entries[first..]`.
    fn root(&mut self, first: usize) -> Option<RawScenario> {
        let len = self.doc.entries.len().checked_sub(first)?;
        let node = self.push_node(Val::Tab { first, len }, 0)?;
        RawScenario::deserialize(At {
            doc: &self.doc,
            node,
        })
        .ok()
    }

    /// The top-level array at `i` (on its `[`), the value of `key`, read
    /// and handed to `merge` in batches of [`BATCH_BYTES`] of text.
    fn array_in_batches(
        &mut self,
        key: (usize, usize),
        key_span: (usize, usize),
        merge: &mut impl FnMut(RawScenario),
    ) -> Option<()> {
        let start = self.i;
        self.i += 1;
        self.skip_ws();
        let mut done = self.peek()? == b']';
        if done {
            self.i += 1;
        }
        // The batch's elements (their own arrays' elements go to `items`
        // as they are read).
        let mut elements = Vec::new();
        loop {
            self.clear();
            let batch = self.i;
            while !done && self.i - batch < BATCH_BYTES {
                // Depth 2: inside the top-level object and this array.
                let v = self.value(2)?;
                elements.push(v);
                self.skip_ws();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.skip_ws();
                    }
                    b']' => {
                        self.i += 1;
                        done = true;
                    }
                    _ => return None,
                }
            }
            let first = self.doc.items.len();
            let len = elements.len();
            self.doc.items.append(&mut elements);
            let node = self.push_node(Val::Arr { first, len }, start)?;
            self.doc.entries.push(Entry {
                key,
                key_span,
                node,
            });
            let first = self.doc.entries.len() - 1;
            merge(self.root(first)?);
            if done {
                return Some(());
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        self.i += run_len(self.b, self.i, |c| {
            matches!(c, b' ' | b'\t' | b'\n' | b'\r')
        });
    }

    /// `None` past [`MAX_NODES`] nodes: serde_json reads such a text.
    fn push_node(&mut self, val: Val, start: usize) -> Option<usize> {
        if self.doc.nodes.len() >= MAX_NODES {
            return None;
        }
        self.doc.nodes.push(Node {
            val,
            span: (start, self.i),
        });
        Some(self.doc.nodes.len() - 1)
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
        self.push_node(val, start)
    }

    /// A string at `i` (on its `"`): the range of its text.
    fn string(&mut self) -> Option<(usize, usize)> {
        self.i += 1;
        let start = self.i;
        // No control character is allowed (0 is not one: it stands for
        // "none" here).
        self.i += string_body(self.b, self.i, 0)?;
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
        self.push_node(Val::Arr { first, len }, start)
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
        self.push_node(Val::Tab { first, len }, start)
    }
}
