//! Scenario names from OCI display names: trimmed, spaces and characters
//! outside `[A-Za-z0-9._-]` turned into `-`, never empty, unique within
//! their kind (a repeat gets `-2`, `-3`, ...).

use std::collections::{HashMap, HashSet};

/// Hands out unique names for one kind of object.
#[derive(Debug, Default)]
pub struct Names {
    used: HashSet<String>,
    /// The OCID each name [`Names::take_for`] made from one was made for.
    ids: HashMap<String, String>,
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
            ids: HashMap::new(),
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

    /// A unique valid name for `display`, or where it leaves nothing,
    /// `PREFIX-TAIL` for the object of OCID `id`: TAIL its last 6
    /// characters, more of them while that name is taken (two OCIDs that
    /// end alike: `missing-abcdef`, then `missing-xabcdef`, each still
    /// found in its OCID; until the twenty-ninth session `missing-abcdef-2`,
    /// which names neither), then [`Names::take`]'s `-2`, ... The same OCID
    /// again (one object named from two VCNs) is `-2`, ... at once.
    pub fn take_for(&mut self, display: &str, prefix: &str, id: &str) -> String {
        if !clean(display, "").is_empty() {
            return self.take(display, prefix);
        }
        let last: Vec<char> = id.rsplit('.').next().unwrap_or_default().chars().collect();
        let tail = |n: usize| -> String { last[last.len() - n..].iter().collect() };
        let shortest = last.len().min(6);
        for n in shortest..=last.len() {
            let name = clean(&format!("{prefix}-{}", tail(n)), prefix);
            if self.ids.get(&name).is_some_and(|other| other == id) {
                return self.take("", &name);
            }
            if !self.used.contains(&name) {
                self.used.insert(name.clone());
                self.ids.insert(name.clone(), id.to_owned());
                return name;
            }
        }
        self.take("", &format!("{prefix}-{}", tail(shortest)))
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

    /// Two OCIDs whose last 6 characters are the same: each name is
    /// unique and holds a tail of its own OCID, as long as it takes to
    /// tell them apart (item 4 of the twenty-ninth session's polish
    /// brief); a display name wins; the same OCID twice (an object named
    /// from two VCNs) gets `-2`, as before.
    #[test]
    fn names_from_ocids_that_end_alike_hold_tails_of_their_own() {
        let mut n = Names::default();
        let a = "ocid1.subnet.oc1.iad.aaaaaaaaqwertyabcdef";
        let b = "ocid1.subnet.oc1.iad.aaaaaaaazxcvbxabcdef";
        let c = "ocid1.subnet.oc1.iad.aaaaaaaazxcvbyabcdef";
        assert_eq!(n.take_for("", "missing", a), "missing-abcdef");
        assert_eq!(n.take_for("", "missing", b), "missing-xabcdef");
        assert_eq!(n.take_for(" ", "missing", c), "missing-yabcdef");
        assert_eq!(n.take_for("web", "missing", c), "web");
        assert_eq!(n.take_for("", "vnic", "ocid1.vnic.oc1..ab"), "vnic-ab");
        assert_eq!(n.take_for("", "vnic", "ocid1.vnic.oc1..ab"), "vnic-ab-2");
        // The same OCID again (an NSG named from two VCNs): `-2`.
        assert_eq!(n.take_for("", "missing", b), "missing-xabcdef-2");
        for (name, id) in [("missing-xabcdef", b), ("missing-yabcdef", c)] {
            assert!(id.ends_with(name.trim_start_matches("missing-")));
        }
    }
}
