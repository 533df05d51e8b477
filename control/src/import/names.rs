//! Scenario names from OCI display names: trimmed, spaces and characters
//! outside `[A-Za-z0-9._-]` turned into `-`, never empty, unique within
//! their kind (a repeat gets `-2`, `-3`, ...).

use std::collections::HashSet;

/// Hands out unique names for one kind of object.
#[derive(Debug, Default)]
pub struct Names {
    used: HashSet<String>,
}

/// `display` made valid; `fallback` when nothing is left.
#[must_use]
pub fn clean(display: &str, fallback: &str) -> String {
    let mut s: String = display
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-').to_owned();
    let s: String = s.chars().take(100).collect();
    if s.is_empty() { fallback.to_owned() } else { s }
}

impl Names {
    /// Names that differ from every one of `taken` (names handed out
    /// before, by another [`Names`]).
    pub fn holding<'a>(taken: impl IntoIterator<Item = &'a String>) -> Self {
        Self {
            used: taken.into_iter().cloned().collect(),
        }
    }

    /// A unique valid name for `display` (or `fallback`).
    pub fn take(&mut self, display: &str, fallback: &str) -> String {
        let base = clean(display, fallback);
        let mut name = base.clone();
        let mut n = 2;
        while self.used.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        self.used.insert(name.clone());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_unique() {
        let mut n = Names::default();
        assert_eq!(n.take("My VCN", "vcn"), "My-VCN");
        assert_eq!(n.take("My VCN", "vcn"), "My-VCN-2");
        assert_eq!(n.take("My-VCN-2", "vcn"), "My-VCN-2-2");
        assert_eq!(n.take("  ", "vcn-abc"), "vcn-abc");
        assert_eq!(
            n.take("VNIC for LB ocid1.lb/x", "x"),
            "VNIC-for-LB-ocid1.lb-x"
        );
    }
}
