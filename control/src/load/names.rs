//! Names and ids hold no character that could forge a line or reorder
//! text on a terminal: control characters (newlines and tabs included),
//! line separators and bidirectional controls are load errors, placed at
//! the offending character when the source shows it as written.

use super::LoadError;
use super::raw::{RawAttributes, RawScenario, Sp};
use crate::escape::{escape, is_unsafe};

/// The byte index in `value` of the first character a name may not hold,
/// and the message for it.
pub(crate) fn problem(what: &str, value: &str) -> Option<(usize, String)> {
    // Printable ASCII holds no control, line break or bidirectional
    // control: most names are answered by this byte loop, not by decoding
    // every character.
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    let (i, c) = value.char_indices().find(|&(_, c)| is_unsafe(c))?;
    let kind = match c {
        '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' => "a line break",
        c if c.is_control() => "a control character",
        _ => "a bidirectional control",
    };
    let n = value[..i].chars().count() + 1;
    Some((
        i,
        format!(
            "the {what} holds {kind} (`{}`) at character {n}: names and ids may not hold control characters, line breaks or bidirectional controls",
            escape(&c.to_string())
        ),
    ))
}

/// The byte offset in `text` of byte `index` of a string value that
/// starts (at its opening quote) at `start`, when the text between holds
/// no escape; else `start` itself. Without `start` (a value read without
/// its span), the value's JSON form is looked up in the text.
pub(crate) fn locate(text: &str, start: Option<usize>, value: &str, index: usize) -> Option<usize> {
    let Some(start) = start else {
        let quoted = serde_json::to_string(value).ok()?;
        let prefix = serde_json::to_string(value.get(..index)?).ok()?;
        return text.find(&quoted).map(|q| q + prefix.len() - 1);
    };
    let quoted = matches!(text.as_bytes().get(start), Some(b'"' | b'\''));
    let body = start + 1;
    let written = body.checked_add(index).and_then(|end| text.get(body..end));
    match (quoted, written, value.get(..index)) {
        (true, Some(w), Some(v)) if w == v => Some(body + index),
        _ => Some(start),
    }
}

/// Checks the names that are not objects' (those are checked as they are
/// indexed): the scenario's `name`, the labels of `[services]`, and the
/// values of security attributes (namespaces and keys allow only
/// `[0-9A-Za-z_-]` already).
///
/// # Errors
/// The first such text holding a character [`problem`] refuses.
pub(crate) fn check_raw(raw: &RawScenario, text: &str, file: &str) -> Result<(), Box<LoadError>> {
    // `object` is only formatted for a value that fails: this runs for
    // every attribute value of every object.
    let fail = |what: &str, object: &dyn Fn() -> Option<String>, field: &str, v: &Sp<String>| {
        problem(what, &v.value).map(|(i, message)| {
            let at = locate(text, v.start(), &v.value, i);
            let (line, column) = at.map_or((None, None), |o| {
                let (l, c) = super::line_col(text, o);
                (Some(l), Some(c))
            });
            Box::new(LoadError {
                file: file.to_owned(),
                line,
                column,
                object: object(),
                field: Some(field.to_owned()),
                message,
                rendered_zpl: None,
            })
        })
    };
    let first = |e: Option<Box<LoadError>>| e.map_or(Ok(()), Err);
    if let Some(n) = &raw.name {
        first(fail("name", &|| None, "name", n))?;
    }
    if let Some(services) = &raw.services {
        for (label, _) in &services.value.0 {
            first(fail("service label", &|| None, "services", label))?;
        }
    }
    let attrs =
        |kind: &str, name: &Sp<String>, a: &Option<RawAttributes>| -> Result<(), Box<LoadError>> {
            let Some(a) = a else { return Ok(()) };
            for (_, keys) in &a.value.0 {
                for (_, v) in &keys.0 {
                    let object = || Some(format!("{kind} `{}`", escape(&name.value)));
                    first(fail(
                        "attribute value",
                        &object,
                        "security_attributes",
                        &v.value,
                    ))?;
                }
            }
            Ok(())
        };
    for v in &raw.vcn {
        attrs("vcn", &v.name, &v.security_attributes)?;
    }
    for v in &raw.vnic {
        attrs("vnic", &v.name, &v.security_attributes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{locate, problem};
    use crate::load::from_toml_str;

    #[test]
    fn scenario_names_services_and_attribute_values_are_checked_too() {
        let err = |t: &str| from_toml_str(t, "s.toml").err().map(|e| e.to_string());
        assert_eq!(
            err("name = \"a\\u0007\"\n").as_deref(),
            Some(
                "s.toml:1:10: error: in field `name`: the name holds a control character (`\\u{7}`) at character 2: names and ids may not hold control characters, line breaks or bidirectional controls"
            )
        );
        let e = err("[services]\n\"osn\\n\" = [\"10.0.0.0/8\"]\n").unwrap_or_default();
        assert!(
            e.starts_with(
                "s.toml:2:5: error: in field `services`: the service label holds a line break"
            ),
            "{e}"
        );
        let e = err("[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\nsecurity_attributes = { app = { tier = { value = \"web\u{202e}x\" } } }\n").unwrap_or_default();
        assert!(
            e.starts_with("s.toml:4:54: error: in vcn `v`, field `security_attributes`: the attribute value holds a bidirectional control"),
            "{e}"
        );
    }

    #[test]
    fn unsafe_characters_are_named_and_placed() {
        let (i, m) = problem("name", "web\u{202e}1").unwrap_or_default();
        assert_eq!(i, 3);
        assert!(
            m.starts_with("the name holds a bidirectional control (`\\u{202e}`) at character 4: "),
            "{m}"
        );
        let (_, m) = problem("id", "a\nb").unwrap_or_default();
        assert!(m.contains("holds a line break (`\\n`)"), "{m}");
        let (_, m) = problem("name", "bell\u{7}").unwrap_or_default();
        assert!(m.contains("holds a control character (`\\u{7}`)"), "{m}");
        assert_eq!(problem("name", "orders-api_1.x"), None);
        assert_eq!(problem("name", "naïve"), None);
        // The printable-ASCII shortcut's edges: space and `~` pass; tab,
        // DEL and C1 controls do not.
        assert_eq!(problem("name", " ~"), None);
        for bad in ["a\tb", "a\u{7f}b", "a\u{85}b", "a\u{9b}b"] {
            assert!(problem("name", bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn the_offending_character_is_placed_when_written_raw() {
        let text = "name = \"ab\u{202e}c\"";
        let v = "ab\u{202e}c";
        assert_eq!(locate(text, Some(7), v, 2), Some(10));
        // Written as an escape: where the escape starts.
        let text = "name = \"a\\u0007b\"";
        assert_eq!(locate(text, Some(7), "a\u{7}b", 1), Some(9));
        // An escape before it: the value's start.
        let text = "name = \"\\tx\\u0007\"";
        assert_eq!(locate(text, Some(7), "\tx\u{7}", 2), Some(7));
        let text = "name = \"\\u0007b\"";
        assert_eq!(locate(text, Some(7), "\u{7}b", 0), Some(8));
        let text = "name = \"xy\\u0007\"";
        assert_eq!(locate(text, Some(7), "xy\u{7}", 2), Some(10));
        // JSON: found by its JSON form.
        let text = "{\"vnic\": [{\"name\": \"a\\u0007\"}]}";
        assert_eq!(locate(text, None, "a\u{7}", 1), Some(21));
    }
}
