//! Service labels' CIDRs from `--services` (OCI's public IP ranges file).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::super::ImportError;
use super::json::without_bom;

/// Region keys of service labels (`all-iad-services-...`) to region names
/// of OCI's public IP ranges file: the commercial (OC1) regions.
pub const REGIONS: [(&str, &str); 42] = [
    ("iad", "us-ashburn-1"),
    ("phx", "us-phoenix-1"),
    ("sjc", "us-sanjose-1"),
    ("ord", "us-chicago-1"),
    ("yyz", "ca-toronto-1"),
    ("yul", "ca-montreal-1"),
    ("qro", "mx-queretaro-1"),
    ("mty", "mx-monterrey-1"),
    ("gru", "sa-saopaulo-1"),
    ("vcp", "sa-vinhedo-1"),
    ("scl", "sa-santiago-1"),
    ("vap", "sa-valparaiso-1"),
    ("bog", "sa-bogota-1"),
    ("fra", "eu-frankfurt-1"),
    ("ams", "eu-amsterdam-1"),
    ("lhr", "uk-london-1"),
    ("cwl", "uk-cardiff-1"),
    ("zrh", "eu-zurich-1"),
    ("cdg", "eu-paris-1"),
    ("mrs", "eu-marseille-1"),
    ("mad", "eu-madrid-1"),
    ("lin", "eu-milan-1"),
    ("nrq", "eu-turin-1"),
    ("arn", "eu-stockholm-1"),
    ("beg", "eu-jovanovac-1"),
    ("mtz", "il-jerusalem-1"),
    ("auh", "me-abudhabi-1"),
    ("dxb", "me-dubai-1"),
    ("jed", "me-jeddah-1"),
    ("ruh", "me-riyadh-1"),
    ("jnb", "af-johannesburg-1"),
    ("nrt", "ap-tokyo-1"),
    ("kix", "ap-osaka-1"),
    ("icn", "ap-seoul-1"),
    ("yny", "ap-chuncheon-1"),
    ("syd", "ap-sydney-1"),
    ("mel", "ap-melbourne-1"),
    ("bom", "ap-mumbai-1"),
    ("hyd", "ap-hyderabad-1"),
    ("sin", "ap-singapore-1"),
    ("xsp", "ap-singapore-2"),
    ("hsg", "ap-batam-1"),
];

/// The region key of a service label when [`REGIONS`] lacks it and the
/// ranges file holds several regions (one region is used for every label).
pub(super) fn unknown_region(label: &str, regions: usize) -> Option<&str> {
    let key = label
        .strip_prefix("all-")
        .and_then(|r| r.strip_suffix("-services-in-oracle-services-network"))
        .or_else(|| {
            label
                .strip_prefix("oci-")
                .and_then(|r| r.strip_suffix("-objectstorage"))
        })?;
    (regions > 1 && !REGIONS.iter().any(|(k, _)| *k == key)).then_some(key)
}

/// Service label to its CIDRs.
pub(super) type LabelCidrs = BTreeMap<String, Vec<String>>;

/// The CIDRs of each label from `--services`: OCI's public IP ranges file
/// (`{"regions": [{"region", "cidrs": [{"cidr", "tags"}]}]}`), or a plain
/// object of label to CIDR list.
pub(super) fn service_cidrs(
    ranges: Option<&str>,
    labels: &BTreeSet<String>,
) -> Result<(LabelCidrs, Vec<String>), ImportError> {
    let mut out = BTreeMap::new();
    let mut warnings = Vec::new();
    let Some(text) = ranges else {
        for l in labels {
            warnings.push(format!(
                "service label `{l}` has no CIDRs: give OCI's public IP ranges file with `--services`"
            ));
            out.insert(l.clone(), Vec::new());
        }
        return Ok((out, warnings));
    };
    let v: Value = serde_json::from_str(without_bom(text)).map_err(|e| ImportError {
        file: "--services".into(),
        line: Some(e.line()),
        column: Some(e.column()),
        message: format!("not JSON: {e}"),
    })?;
    let regions = v.get("regions").and_then(Value::as_array);
    for l in labels {
        let cidrs: Vec<String> = if let Some(regions) = regions {
            let key = l
                .strip_prefix("all-")
                .and_then(|r| r.strip_suffix("-services-in-oracle-services-network"))
                .map(|k| (k, "OSN"))
                .or_else(|| {
                    l.strip_prefix("oci-")
                        .and_then(|r| r.strip_suffix("-objectstorage"))
                        .map(|k| (k, "OBJECT_STORAGE"))
                });
            let region = key.and_then(|(k, _)| {
                REGIONS
                    .iter()
                    .find(|(rk, _)| *rk == k)
                    .map(|(_, name)| *name)
            });
            let pick = |r: &&Value| {
                regions.len() == 1 || r.get("region").and_then(Value::as_str) == region
            };
            regions
                .iter()
                .filter(pick)
                .flat_map(|r| {
                    r.get("cidrs")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                })
                .filter(|c| {
                    key.is_some_and(|(_, tag)| {
                        c.get("tags")
                            .and_then(Value::as_array)
                            .is_some_and(|t| t.iter().any(|x| x.as_str() == Some(tag)))
                    })
                })
                .filter_map(|c| c.get("cidr").and_then(Value::as_str).map(str::to_owned))
                .collect()
        } else {
            v.get(l)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        if cidrs.is_empty() {
            warnings.push(match unknown_region(l, regions.map_or(0, Vec::len)) {
                Some(k) => format!(
                    "service label `{l}` has no CIDRs: its region key `{k}` is not one zprsim knows; give `--services` the ranges of that region alone, or an object of label to CIDRs"
                ),
                None => format!("service label `{l}` has no CIDRs in the `--services` file"),
            });
        }
        out.insert(l.clone(), cidrs);
    }
    Ok((out, warnings))
}
