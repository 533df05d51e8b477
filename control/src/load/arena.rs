//! A parsed document as flat arrays, and the serde `Deserializer` that
//! reads the raw structs (`raw.rs`) out of it, spans included.
//!
//! The fast readers (`fast_toml.rs`, `fast_json.rs`) fill a [`Doc`]: one [`Node`] per
//! value, with its byte span; arrays and tables point at runs of
//! `items` and `entries`. Strings are ranges of the text (the readers take
//! only strings without escapes), so a value costs no allocation until the
//! raw struct copies it. The raw structs' own `Deserialize` (field names,
//! `deny_unknown_fields`, defaults, [`Sp`](super::raw::Sp) spans) reads the
//! doc as it reads the `toml` crate's tree; any serde error is only a
//! [`Refused`]: the caller then reads the text with the `toml` crate, whose
//! error is the one reported.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Most values in one document: a part of a TOML text, or a batch of a
/// JSON one (a few thousand values each in scenarios). Every array of a
/// [`Doc`] grows with its nodes (an item or an entry per node at most), so
/// this bounds a document's memory (~100 bytes a node, ~25 MiB) whatever
/// the text: a text with more values in one part is read by the `toml`
/// crate or serde_json, under their own limits.
pub(crate) const MAX_NODES: usize = 1 << 18;

/// How many bytes of `b` from `at` satisfy `keep` (a scan without a
/// bounds check per byte: the readers' inner loops).
pub(crate) fn run_len(b: &[u8], at: usize, keep: impl Fn(u8) -> bool) -> usize {
    let rest = b.get(at..).unwrap_or_default();
    rest.iter().position(|&c| !keep(c)).unwrap_or(rest.len())
}

/// The length of a string's text from `at` (just after its opening `"`)
/// to its closing `"` (not read), or `None` when it has an escape, a
/// control character other than `allowed` (pass 0 for none) or DEL, or
/// no closing quote. The quote is found with `memchr`; the text is then
/// checked in one pass without early exit, which the compiler vectorizes.
pub(crate) fn string_body(b: &[u8], at: usize, allowed: u8) -> Option<usize> {
    let rest = b.get(at..)?;
    let n = memchr::memchr(b'"', rest)?;
    let body = rest.get(..n)?;
    let bad = body.iter().fold(false, |bad, &c| {
        bad | ((c < 0x20) & (c != allowed || c == 0)) | (c == 0x7f) | (c == b'\\')
    });
    (!bad).then_some(n)
}

/// A value of the document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val {
    /// A string: the byte range of its text (without quotes).
    Str(usize, usize),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// An array: `len` node ids from `items[first]`.
    Arr { first: usize, len: usize },
    /// A table: `len` entries from `entries[first]`.
    Tab { first: usize, len: usize },
}

/// A value and where it is written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub val: Val,
    /// Byte range of the value in the whole file.
    pub span: (usize, usize),
}

/// One key of a table and its value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// Byte range of the key's text (without quotes) in the parsed text.
    pub key: (usize, usize),
    /// Byte range of the key as written (quotes included) in the whole file.
    pub key_span: (usize, usize),
    /// The value's node.
    pub node: usize,
}

/// A document: `text` and the arrays describing its values.
#[derive(Debug, Default)]
pub(crate) struct Doc<'a> {
    pub text: &'a str,
    pub nodes: Vec<Node>,
    pub items: Vec<usize>,
    pub entries: Vec<Entry>,
}

impl Doc<'_> {
    /// Whether no two of `entries` (keys of one table) have the same key.
    pub(crate) fn keys_unique(&self, entries: &[Entry]) -> bool {
        // Tables hold a few keys: a scan of their texts taken once, no
        // allocation.
        const SCAN: usize = 16;
        let b = self.text.as_bytes();
        let key = |e: &Entry| b.get(e.key.0..e.key.1);
        if entries.len() <= SCAN {
            let mut keys: [&[u8]; SCAN] = [&[]; SCAN];
            for (k, e) in keys.iter_mut().zip(entries) {
                match key(e) {
                    Some(t) => *k = t,
                    None => return false,
                }
            }
            let keys = keys.get(..entries.len()).unwrap_or_default();
            return keys
                .iter()
                .enumerate()
                .all(|(i, a)| keys.get(i + 1..).unwrap_or_default().iter().all(|b| a != b));
        }
        let mut keys: Vec<Option<&[u8]>> = entries.iter().map(key).collect();
        keys.sort_unstable();
        keys.iter().all(Option::is_some) && keys.windows(2).all(|w| w.first() != w.get(1))
    }

    fn str_at(&self, (start, end): (usize, usize)) -> Result<&str, Refused> {
        self.text.get(start..end).ok_or(Refused)
    }

    fn node(&self, id: usize) -> Result<Node, Refused> {
        self.nodes.get(id).copied().ok_or(Refused)
    }
}

/// The document cannot be read into the structs this way (a type, a
/// missing or unknown field, ...): the caller reads the text with the full
/// parser, which says what is wrong.
#[derive(Debug)]
pub(crate) struct Refused;

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("refused")
    }
}

impl std::error::Error for Refused {}

impl de::Error for Refused {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Refused
    }
}

/// Reads the value `node` of `doc`.
#[derive(Clone, Copy)]
pub(crate) struct At<'d, 'a> {
    pub doc: &'d Doc<'a>,
    pub node: usize,
}

/// Reads a key of a table.
#[derive(Clone, Copy)]
struct Key<'d, 'a> {
    doc: &'d Doc<'a>,
    entry: Entry,
}

/// The newtype name [`Sp`](super::raw::Sp) asks for under an arena
/// [`SpanMode`](super::raw::SpanMode): the deserializer sets the span
/// (through [`super::raw::set_arena_span`]) and calls `visit_newtype_struct`.
pub(crate) const SPAN_TOKEN: &str = "$zprsim$load$Sp";

fn span_range((start, end): (usize, usize)) -> Range<usize> {
    start..end
}

impl<'de> Deserializer<'de> for At<'_, '_> {
    type Error = Refused;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        let node = self.doc.node(self.node)?;
        match node.val {
            Val::Str(s, e) => visitor.visit_str(self.doc.str_at((s, e))?),
            Val::Int(i) => visitor.visit_i64(i),
            Val::Bool(b) => visitor.visit_bool(b),
            Val::Arr { first, len } => {
                let ids = self
                    .doc
                    .items
                    .get(first..first.saturating_add(len))
                    .ok_or(Refused)?;
                visitor.visit_seq(Items {
                    doc: self.doc,
                    ids: ids.iter(),
                })
            }
            Val::Tab { first, len } => {
                let entries = self
                    .doc
                    .entries
                    .get(first..first.saturating_add(len))
                    .ok_or(Refused)?;
                visitor.visit_map(Entries {
                    doc: self.doc,
                    entries: entries.iter(),
                    value: None,
                })
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        // A value written is `Some` (TOML has no null).
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        if name == SPAN_TOKEN {
            super::raw::set_arena_span(span_range(self.doc.node(self.node)?.span));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refused> {
        // A struct from a table only: serde_json would also read one from
        // an array, field by field; refused, the full parsers decide.
        match self.doc.node(self.node)?.val {
            Val::Tab { .. } => self.deserialize_any(visitor),
            _ => Err(Refused),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Refused> {
        Err(Refused)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map
        identifier ignored_any
    }
}

impl<'de> Deserializer<'de> for Key<'_, '_> {
    type Error = Refused;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        visitor.visit_str(self.doc.str_at(self.entry.key)?)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        if name == SPAN_TOKEN {
            super::raw::set_arena_span(span_range(self.entry.key_span));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Refused> {
        Err(Refused)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// The elements of an array.
struct Items<'d, 'a> {
    doc: &'d Doc<'a>,
    ids: std::slice::Iter<'d, usize>,
}

impl<'de> SeqAccess<'de> for Items<'_, '_> {
    type Error = Refused;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Refused> {
        match self.ids.next() {
            Some(&node) => seed
                .deserialize(At {
                    doc: self.doc,
                    node,
                })
                .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.ids.len())
    }
}

/// The entries of a table.
struct Entries<'d, 'a> {
    doc: &'d Doc<'a>,
    entries: std::slice::Iter<'d, Entry>,
    /// The node of the key just read.
    value: Option<usize>,
}

impl<'de> MapAccess<'de> for Entries<'_, '_> {
    type Error = Refused;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Refused> {
        match self.entries.next() {
            Some(&entry) => {
                self.value = Some(entry.node);
                seed.deserialize(Key {
                    doc: self.doc,
                    entry,
                })
                .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Refused> {
        let node = self.value.take().ok_or(Refused)?;
        seed.deserialize(At {
            doc: self.doc,
            node,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
