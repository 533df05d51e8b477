//! Names that print alike but are not equal: one text in two Unicode
//! normalizations (`café` typed as `e` + U+0301 on one system, as U+00E9
//! on another). OCI's display names are free text matched as written, and
//! zprsim matches names, ids and attribute values character for
//! character too; two such names are two objects and a reference finds
//! only the one written like it. Loading says so: a warning where two
//! objects of one kind are named so (`lookalike-names`), and the error of
//! a reference that matches no name says which name it is written unlike
//! (QA round 24, docs/scenario-format.md §6).

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// The text in normalization form C, or `None` when it is already (most
/// names: every ASCII one), so a caller allocates only for the others.
pub(crate) fn nfc_if_changed(s: &str) -> Option<String> {
    if s.is_ascii() || is_nfc_quick(s.chars()) == IsNormalized::Yes {
        return None;
    }
    let n: String = s.nfc().collect();
    (n != s).then_some(n)
}

/// The key two names share when they are one text: the NFC form.
pub(crate) fn key(s: &str) -> String {
    nfc_if_changed(s).unwrap_or_else(|| s.to_owned())
}

/// `s` with every character outside printable ASCII as `\u{..}`: two
/// names that print alike, told apart (`cafe\u{301}`, `caf\u{e9}`).
pub(crate) fn spelled(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if (' '..='~').contains(&c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
    }
    out
}

/// `"; `x` is the same text in another Unicode normalization ..."` when a
/// candidate is `word` in another normalization, else `None`.
pub(crate) fn hint<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let k = key(word);
    let mut found: Vec<&str> = candidates
        .into_iter()
        .filter(|c| *c != word && key(c) == k)
        .collect();
    found.sort_unstable();
    let c = found.first()?;
    Some(format!(
        "; `{c}` (`{}`) is the same text in another Unicode normalization (this is `{}`): names, ids and attribute values match character for character, so write it as that one is written",
        spelled(c),
        spelled(word)
    ))
}
