//! Any text as the files of an OCI CLI export (`zprsim import oci DIR`):
//! the conversion must not panic or hang.
//! The input is cut into up to three files at `\0` bytes (named like the
//! export script's), so objects that refer to each other across files,
//! several CLI outputs in one file and repeated objects are all reached.

use zprsim_control::import::{Files, oci};

const NAMES: [&str; 3] = [
    "network-vcn-list.json",
    "export/network-subnet-list.json",
    // An NSG's rules are found by the NSG OCID in their file's name.
    "network-nsg-rules-list.ocid1.networksecuritygroup.oc1.iad.gen000000.json",
];

/// The body of the `import` fuzz target.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let files: Files = text
        .split('\0')
        .zip(NAMES)
        .map(|(t, n)| (n.to_string(), t.to_string()))
        .collect();
    let _ = oci::import(&files, None);
    let _ = oci::import_vcns(&files, None, &["v".to_string()]);
}
