//! Security attributes (`security_attributes`): namespaces, keys, values and modes.

use super::{Ctx, Res};
use crate::load::raw::{OrderedMap, RawAttrValue, RawAttributes};
use crate::model::{Attribute, Mode, SecurityAttribute};

/// A namespace or key of a security attribute: `[0-9A-Za-z_-]+`.
pub(super) fn valid_attr_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(super) fn parse_attributes(
    ctx: &Ctx<'_>,
    raw: &RawAttributes,
    object: &str,
) -> Res<Vec<SecurityAttribute>> {
    let OrderedMap(namespaces) = &raw.value;
    // Sized once (each VNIC has its own: a vector grown from empty was
    // allocated, grown and copied into another per VNIC).
    let mut out = Vec::with_capacity(namespaces.iter().map(|(_, OrderedMap(k))| k.len()).sum());
    for (ns, keys) in namespaces {
        if !valid_attr_word(&ns.value) {
            return Err(ctx.err(
                ns.start(),
                object,
                "security_attributes",
                format!(
                    "namespace `{}` may hold only letters, digits, `-` and `_`",
                    ns.value
                ),
            ));
        }
        let OrderedMap(keys) = keys;
        for (key, RawAttrValue { value, mode }) in keys {
            if !valid_attr_word(&key.value) {
                return Err(ctx.err(
                    key.start(),
                    object,
                    "security_attributes",
                    format!(
                        "key `{}` may hold only letters, digits, `-` and `_`",
                        key.value
                    ),
                ));
            }
            let mode = match mode {
                None => Mode::Enforce,
                Some(m) => match m.value.to_ascii_lowercase().as_str() {
                    "enforce" => Mode::Enforce,
                    "audit" => Mode::Audit,
                    _ => {
                        return Err(ctx.err(
                            m.start(),
                            object,
                            "security_attributes",
                            format!("mode `{}` is not `enforce` or `audit`", m.value),
                        ));
                    }
                },
            };
            out.push(SecurityAttribute {
                attribute: Attribute::new(ns.value.clone(), key.value.clone(), value.value.clone()),
                mode,
            });
        }
    }
    Ok(out)
}
