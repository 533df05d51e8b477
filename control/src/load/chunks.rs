//! Splitting TOML scenario text into chunks that parse on their own, so the
//! `toml` crate's document tree of only one chunk is alive at a time.
//!
//! Written by hand because no TOML crate parses a document piece by piece:
//! `toml` (and `toml_edit` under it) builds the whole tree before serde
//! reads it, which for a 15 MB scenario peaks near 670 MiB.
//!
//! A chunk starts at a line `[[key]]` (an array-of-tables header with one
//! bare key) found by a small scanner that knows where such a line can be a
//! header: not inside a string (basic, literal, multi-line), a comment, an
//! array or an inline table. Splitting there keeps TOML's meaning when every
//! top-level key used by more than one chunk is, in each chunk that uses it,
//! first used by a `[[key]]` header: then each `[[key]]` appends an element
//! in the same order, and each `[key.sub]` refers to an element of its own
//! chunk. Anything else (a quoted header key, a key defined in two chunks,
//! text the scanner does not understand) gives `None`, and the caller
//! parses the whole text. A chunk that fails to parse makes the caller parse
//! the whole text too, so every error is the whole-text parser's error.

use std::collections::HashMap;
use std::ops::Range;

/// How one top-level key is used across chunks.
struct KeyUse {
    /// The last chunk it was seen in.
    last_chunk: usize,
    /// How many chunks use it.
    chunks: usize,
    /// Whether, in every chunk using it, its first use is `[[key]]`.
    array_first: bool,
}

/// Byte ranges of chunks of `text`, each at least `target` bytes long but
/// the last, in order and covering the text; `None` when splitting is not
/// proved to keep the text's meaning (the caller then parses it whole).
pub(crate) fn split(text: &str, target: usize) -> Option<Vec<Range<usize>>> {
    split_noting(text, target, true)
}

/// [`split`]; `runs_once`: a run of one header in one chunk is noted at
/// its first header only (false, every header: the tests' reference).
fn split_noting(text: &str, target: usize, runs_once: bool) -> Option<Vec<Range<usize>>> {
    let b = text.as_bytes();
    let mut keys: HashMap<&str, KeyUse> = HashMap::new();
    let mut chunks = Vec::new();
    let mut chunk_start = 0;
    let mut depth = 0usize;
    let mut seen_header = false;
    let mut at_line_start = true;
    let mut last_header: Option<(&str, usize)> = None;
    let mut i = 0;
    while i < b.len() {
        if at_line_start {
            at_line_start = false;
            let j = skip_blanks(b, i);
            if depth == 0 && j < b.len() {
                let c = b[j];
                if c == b'[' {
                    let h = header(b, j)?;
                    let key = text.get(h.key)?;
                    if h.array_one_key && i > chunk_start && i - chunk_start >= target {
                        chunks.push(chunk_start..i);
                        chunk_start = i;
                    }
                    // A run of the same header in one chunk (`[[vnic]]`
                    // 10^4 times) changes nothing after its first use:
                    // noted once, not hashed per header.
                    if !runs_once || last_header != Some((key, chunks.len())) {
                        note(&mut keys, key, chunks.len(), h.array_one_key)?;
                        last_header = Some((key, chunks.len()));
                    }
                    seen_header = true;
                    i = h.end;
                    at_line_start = true;
                    continue;
                }
                if !seen_header && is_bare(c) {
                    // A key of the root table (dotted keys use their first part).
                    let end = bare_end(b, j);
                    note(&mut keys, text.get(j..end)?, chunks.len(), false)?;
                    i = end;
                    continue;
                }
                if !seen_header && !matches!(c, b'#' | b'\n' | b'\r') {
                    // A quoted root key, a byte-order mark, ...: not read
                    // here, so its key's uses are unknown.
                    return None;
                }
            }
            i = j;
            continue;
        }
        match b[i] {
            b'\n' => {
                at_line_start = true;
                i += 1;
            }
            b'#' => i = line_end(b, i),
            b'"' => i = skip_basic(b, i)?,
            b'\'' => i = skip_literal(b, i)?,
            b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                i += 1;
            }
            _ => i = plain_end(b, i + 1),
        }
    }
    if depth != 0 {
        return None;
    }
    chunks.push(chunk_start..b.len());
    let safe = keys.values().all(|k| k.chunks <= 1 || k.array_first);
    safe.then_some(chunks)
}

/// A scenario has a dozen top-level keys; a text with more distinct ones
/// is parsed whole (and refused), without a map growing with the text.
const MAX_KEYS: usize = 64;

/// Records a use of top-level `key` in chunk `chunk`; `None` past
/// [`MAX_KEYS`] keys.
fn note<'a>(
    keys: &mut HashMap<&'a str, KeyUse>,
    key: &'a str,
    chunk: usize,
    array: bool,
) -> Option<()> {
    if keys.len() >= MAX_KEYS && !keys.contains_key(key) {
        return None;
    }
    let e = keys.entry(key).or_insert(KeyUse {
        last_chunk: chunk,
        chunks: 0,
        array_first: true,
    });
    if e.chunks == 0 || e.last_chunk != chunk {
        e.chunks += 1;
        e.array_first &= array;
        e.last_chunk = chunk;
    }
    Some(())
}

/// A table header line.
struct Header {
    /// Its first key.
    key: Range<usize>,
    /// Whether it is `[[key]]` with a single bare key.
    array_one_key: bool,
    /// Where the next line starts.
    end: usize,
}

/// Reads the header starting with the `[` at `start`; `None` for anything
/// but bare keys, so quoted keys fall back to the whole-text parse.
fn header(b: &[u8], start: usize) -> Option<Header> {
    let mut i = start + 1;
    let array = b.get(i) == Some(&b'[');
    if array {
        i += 1;
    }
    let mut parts = 0;
    let mut key = 0..0;
    loop {
        i = skip_blanks(b, i);
        let s = i;
        i = bare_end(b, i);
        if i == s {
            return None;
        }
        if parts == 0 {
            key = s..i;
        }
        parts += 1;
        i = skip_blanks(b, i);
        match b.get(i) {
            Some(b'.') => i += 1,
            Some(b']') => break,
            _ => return None,
        }
    }
    i += 1;
    if array {
        if b.get(i) != Some(&b']') {
            return None;
        }
        i += 1;
    }
    i = skip_blanks(b, i);
    let end = match b.get(i) {
        None => b.len(),
        Some(b'#') => (line_end(b, i) + 1).min(b.len()),
        Some(b'\n') => i + 1,
        Some(b'\r') if b.get(i + 1) == Some(&b'\n') => i + 2,
        Some(_) => return None,
    };
    Some(Header {
        key,
        array_one_key: array && parts == 1,
        end,
    })
}

/// The bytes the scanner acts on outside strings: a run of other bytes is
/// skipped in one tight loop (this scan runs before any chunk is parsed,
/// so it is on the start-up's critical path).
static ACTS: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let acts = b"\n#\"'[]{}";
    while k < acts.len() {
        t[acts[k] as usize] = true;
        k += 1;
    }
    t
};

/// The first byte at or after `i` that [`ACTS`] names (or the text's end).
fn plain_end(b: &[u8], i: usize) -> usize {
    b.get(i..)
        .and_then(|rest| rest.iter().position(|&c| ACTS[usize::from(c)]))
        .map_or(b.len(), |p| i + p)
}

/// The first byte at or after `i` that may end a one-line basic string:
/// a quote, a backslash or a newline (or the text's end).
fn basic_end(b: &[u8], i: usize) -> usize {
    b.get(i..)
        .and_then(|rest| memchr::memchr3(b'"', b'\\', b'\n', rest))
        .map_or(b.len(), |p| i + p)
}

fn is_bare(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

fn bare_end(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_bare(c)) {
        i += 1;
    }
    i
}

fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// The offset of the newline ending the line at `i` (or the text's end).
fn line_end(b: &[u8], i: usize) -> usize {
    b.get(i..)
        .and_then(|rest| memchr::memchr(b'\n', rest))
        .map_or(b.len(), |p| i + p)
}

/// Past the basic string (`"..."` or `"""..."""`) starting at `i`; `None`
/// when it does not end.
fn skip_basic(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i + 1..i + 3) == Some(b"\"\"".as_slice()) {
        let mut j = i + 3;
        loop {
            match b.get(j)? {
                b'\\' => j += 2,
                b'"' if b.get(j..j + 3) == Some(b"\"\"\"".as_slice()) => {
                    return Some(closing_quotes(b, j + 3, b'"'));
                }
                _ => j += 1,
            }
        }
    }
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            b'\n' => return None,
            _ => j = basic_end(b, j + 1),
        }
    }
}

/// Past the literal string (`'...'` or `'''...'''`) starting at `i`.
fn skip_literal(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i + 1..i + 3) == Some(b"''".as_slice()) {
        let mut j = i + 3;
        loop {
            if b.get(j..j + 3)? == b"'''" {
                return Some(closing_quotes(b, j + 3, b'\''));
            }
            j += 1;
        }
    }
    let rest = b.get(i + 1..)?;
    let p = memchr::memchr2(b'\'', b'\n', rest)?;
    (rest[p] == b'\'').then_some(i + 2 + p)
}

/// A multi-line string may end with one or two more quotes than its closing
/// delimiter (they belong to the string).
fn closing_quotes(b: &[u8], mut j: usize, q: u8) -> usize {
    for _ in 0..2 {
        if b.get(j) == Some(&q) {
            j += 1;
        }
    }
    j
}

#[cfg(test)]
mod review_tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    /// Review (s6): every text of up to six lines drawn from runs of one
    /// header (`[[vnic]]`), its sub-tables and arrays, a table of the same
    /// key, another array, a root key and a key-value line splits exactly
    /// as before the shortcut, at targets that split inside and between
    /// runs (so the loader's errors, warnings and positions, which follow
    /// the chunks, are as before too).
    #[test]
    fn runs_of_one_header_split_exactly_as_before() {
        let lines = [
            "[[vnic]]\n",
            "n = 1\n",
            "[vnic.x]\n",
            "[vnic]\n",
            "[[vnic.y]]\n",
            "[[vcn]]\n",
            "vnic = 2\n",
        ];
        let (mut some, mut none) = (0, 0);
        let mut text = String::new();
        for len in 1..=6u32 {
            for mut code in 0..lines.len().pow(len) {
                text.clear();
                for _ in 0..len {
                    text.push_str(lines[code % lines.len()]);
                    code /= lines.len();
                }
                for target in [1, 9, 20, 1 << 20] {
                    let got = split(&text, target);
                    let every = split_noting(&text, target, false);
                    assert_eq!(got, every, "target {target}:\n{text}");
                    if got.is_some_and(|c| c.len() > 1) {
                        some += 1;
                    } else {
                        none += 1;
                    }
                }
            }
        }
        assert!(some > 10_000 && none > 10_000, "{some} {none}");
    }
}
