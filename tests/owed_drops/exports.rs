//! Exports cut in the ways the random cuts found: a stand-in VNIC at the
//! other end of a rule naming an NSG, attributes without a ZPR policy, a
//! list field or a VCN's attributes absent, a VCN the export lacks, a
//! route table without its rules. Each owes the drops it adds.

use std::net::IpAddr;
use std::process::Command;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use zprsim_control::import::{Files, oci};
use zprsim_control::load;
use zprsim_control::packet::Packet;

use super::{check_owed, draw, num, whole_and_cut};
use crate::diff::write_capture;
use crate::replay_oracle::traffic_with;
use crate::support::{oke_export, replay, root};

/// A pcap of TCP SYNs `(src, dst, sport, dport)`, a second apart, from
/// 2024-03-01 09:00 UTC (the demo's day; checksums zero).
fn syns(list: &[(&str, &str, u16, u16)]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (i, (src, dst, sport, dport)) in list.iter().enumerate() {
        let ip = |a: &str| a.parse::<std::net::Ipv4Addr>().unwrap().octets();
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&ip(src));
        f.extend_from_slice(&ip(dst));
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        let len = u32::try_from(f.len()).unwrap();
        for v in [1_709_283_600 + u32::try_from(i).unwrap(), 0, len, len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&f);
    }
    out
}

/// Found by [`stand_in_drops_bound_every_drop_of_every_cut`]: the export
/// without `orders-api-pod-1`'s VNIC (a stand-in, its NSGs unknown). The
/// load balancer's SYN to it is dropped at the balancer's egress, whose
/// NSG `lb-nsg` allows 8080 only to members of `pods-nsg`: the stand-in
/// may be one (the whole export allows the SYN), but the balancer's rules
/// are all known, so docs/cli.md's rule owes nothing. The legacy VM's SYN
/// to it, dropped at the stand-in's own ingress, is owed: 1 of 2 said,
/// where the bound needs 2. The same on flow logs (each side's record is
/// judged on its own, so a pod's record of a flow from a stand-in
/// balancer has the same gap: 66 of 125 drops owed where the cut adds
/// 92). The fix is in `dataplane/src/stand_in_owed.rs` (`owes_drop`: a
/// security drop with a stand-in VNIC of unknown NSGs at the other end,
/// where the deciding side's rules name an NSG, is owed), the perf
/// helper's area.
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
fn a_drop_by_a_rule_naming_an_nsg_a_stand_in_vnic_may_be_in_is_owed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        f.remove("network-vnic-get-4.json");
    });
    std::fs::write(
        d.join("syn.pcap"),
        syns(&[
            ("10.0.1.10", "10.0.10.11", 41000, 8080),
            ("10.0.20.10", "10.0.10.11", 44100, 8080),
        ]),
    )
    .unwrap();
    let pcap = d.join("syn.pcap");
    let whole = replay(d, "whole.toml", &pcap, "w").unwrap();
    let cut = replay(d, "cut.toml", &pcap, "c").unwrap();
    assert_eq!(num(&whole.report, "/packets/dropped"), 0);
    assert_eq!(num(&cut.report, "/packets/dropped"), 2);
    assert_eq!(
        cut.report["stand_in_drops"],
        serde_json::json!({"packets": 2, "flows": 2}),
        "{:?}",
        cut.flows
            .iter()
            .map(|f| format!("{} -> {}: {}", f["src"], f["dst"], f["stage"]))
            .collect::<Vec<_>>()
    );
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let whole = replay(d, "whole.toml", &log, "wl").unwrap();
    let cut = replay(d, "cut.toml", &log, "cl").unwrap();
    check_owed(&whole, &cut).unwrap();
}

/// Found by [`stand_in_drops_bound_every_drop_of_every_cut`]: an export
/// whose VNICs carry security attributes but which lacks
/// `zpr-zpr-policy-list.json` (or whose list lost its `items`) imports
/// without a word, with no ZPR policy: ZPR then denies every attributed
/// VNIC's traffic (the demo capture: 168 drops, 135 more than the whole
/// export's 33 on 16 tuples, none owed). The export names no policy, so nothing
/// dangles (docs/import.md says so of one missing policy), but attributes
/// and not one policy is what a partial export looks like: the import
/// should warn, and a stand-in (a policy said unknown, or the stand-in
/// attribute) would make those drops owed. Fixed by the lead: the import
/// warns and writes a stand-in ZPR policy with no statement
/// (`missing-zpr-policies`, `stand_in = true`): verdicts unchanged, every
/// ZPR drop owed, `explain` names it, and no hint adds a statement to it.
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
fn an_export_with_attributes_and_no_zpr_policy_list_makes_stand_ins() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        f.remove("zpr-zpr-policy-list.json");
    });
    let pcap = root().join("pcaps/oke-demo.pcap");
    let whole = replay(d, "whole.toml", &pcap, "w").unwrap();
    let cut = replay(d, "cut.toml", &pcap, "c").unwrap();
    check_owed(&whole, &cut).unwrap();
    let toml = std::fs::read_to_string(d.join("cut.toml")).unwrap();
    assert!(
        toml.contains("name = \"missing-zpr-policies\"\nstand_in = true\nstatements = []"),
        "{toml}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_zprsim"))
        .args([
            "explain",
            "--src",
            "10.0.10.21",
            "--dst",
            "10.0.30.10",
            "--proto",
            "tcp",
            "--dport",
            "2049",
        ])
        .arg(d.join("cut.toml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("stand-in: ZPR policy `missing-zpr-policies` is a stand-in"),
        "{text}"
    );
    assert!(
        text.contains("to open: zpr: add a ZPR policy (e.g. `zpr-hints`)")
            && !text.contains("add to ZPR policy `missing-zpr-policies`"),
        "{text}"
    );
}

/// The other side of [`an_export_with_attributes_and_no_zpr_policy_list_makes_stand_ins`]:
/// an export whose policy list is there and empty, as the CLI prints one,
/// says the tenancy has no policy: no stand-in, no warning about it, and
/// the same verdicts (ZPR's default deny either way).
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
fn an_empty_zpr_policy_list_says_there_is_none() {
    let mut files = crate::support::oke_export();
    files.insert(
        "zpr-zpr-policy-list.json".into(),
        "{\"data\": {\"items\": []}}".into(),
    );
    let said = oci::import(&files, None).unwrap();
    assert!(!said.toml.contains("missing-zpr-policies"), "{}", said.toml);
    assert!(
        !said
            .warnings
            .iter()
            .any(|w| w.contains("holds no ZPR policy")),
        "{:?}",
        said.warnings
    );
    files.remove("zpr-zpr-policy-list.json");
    let missing = oci::import(&files, None).unwrap();
    assert!(
        missing
            .warnings
            .iter()
            .any(|w| w.contains("the export holds no ZPR policy")),
        "{:?}",
        missing.warnings
    );
    let (a, b) = (
        load::from_toml_str(&said.toml, "a.toml").unwrap().scenario,
        load::from_toml_str(&missing.toml, "b.toml")
            .unwrap()
            .scenario,
    );
    let config = zprsim_control::compile::Config::default();
    let (ca, cb) = (
        zprsim_control::compile::Compiled::new(&a, &config).unwrap(),
        zprsim_control::compile::Compiled::new(&b, &config).unwrap(),
    );
    let ips: Vec<IpAddr> = a.vnics.iter().flat_map(|v| v.private_ips.clone()).collect();
    let mut n = 0;
    for &x in &ips {
        for &y in &ips {
            for p in [Packet::tcp(x, 40000, y, 2049), Packet::udp(x, 40000, y, 53)] {
                let ctx = zprsim_control::verdict::Context::First;
                assert_eq!(
                    ca.judge(&p, ctx).judgement,
                    cb.judge(&p, ctx).judgement,
                    "{p}"
                );
                n += 1;
            }
        }
    }
    assert!(n > 100);
}

/// Found by the random cuts at 200 seeds (seeds 43, 80, 86, 100, 158,
/// 197): a list field an exported object lacks (a `--query`, an older CLI,
/// a hand-trimmed file) is imported as an empty list, with no warning and
/// no stand-in: `worker-2` without `nsg-ids` is in no NSG, so the API's
/// kubelet call to it (`10.0.0.5 -> 10.0.2.12:10250`) is dropped at its
/// ingress, where the whole export allows it, and nothing is owed (demo
/// capture: 43 drops against 33, 0 owed). The same for a subnet's
/// `security-list-ids`, a list's `ingress-security-rules` or
/// `egress-security-rules`, and a VCN's `security-attributes` (ZPR's
/// `in network.vcn:backend VCN` statements then apply nowhere: 168 drops
/// against 33). Absent should read as unknown, as an absent VNIC
/// `security-attributes` already does (docs/import.md): a warning and a
/// stand-in (`security_lists_unknown`, a VNIC whose NSGs are unknown).
/// In `control/src/import/`, the import helper's area.
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
fn an_absent_list_field_is_unknown_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        let mut v: Value = serde_json::from_str(&f["network-vnic-get-3.json"]).unwrap();
        v["data"].as_object_mut().unwrap().remove("nsg-ids");
        f.insert("network-vnic-get-3.json".into(), v.to_string());
    });
    let pcap = root().join("pcaps/oke-demo.pcap");
    let whole = replay(d, "whole.toml", &pcap, "w").unwrap();
    let cut = replay(d, "cut.toml", &pcap, "c").unwrap();
    check_owed(&whole, &cut).unwrap();
}

/// The twenty-second session's item 1: a VCN whose `security-attributes`
/// the export does not give (an older CLI, a `--query`) was read as
/// carrying none, silently: ZPR's `in network.vcn:backend VCN` statements
/// applied nowhere, and the demo capture dropped 168 packets (33 with the
/// whole export), none owed. Absent is unknown: the VCN is written without
/// an attribute (the least it could allow) and its attributed VNICs carry
/// the stand-in attribute too, so those drops are owed; a warning names
/// `oci network vcn get`. `{}` still says the VCN has none.
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
fn a_vcn_without_security_attributes_owes_its_zpr_drops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cut_vcn = |f: &mut Files, to: Option<Value>| {
        let mut v: Value = serde_json::from_str(&f["network-vcn-list.json"]).unwrap();
        let o = v["data"][0].as_object_mut().unwrap();
        o.remove("security-attributes");
        if let Some(to) = to {
            o.insert("security-attributes".into(), to);
        }
        f.insert("network-vcn-list.json".into(), v.to_string());
    };
    whole_and_cut(d, |f| cut_vcn(f, None));
    let cut = std::fs::read_to_string(d.join("cut.toml")).unwrap();
    let s = load::from_toml_str(&cut, "cut.toml").unwrap().scenario;
    assert!(s.vcns[0].attribute.is_none());
    let attributed = s.vnics.iter().filter(|v| !v.attributes.is_empty()).count();
    assert!(attributed > 0);
    for v in s.vnics.iter().filter(|v| !v.attributes.is_empty()) {
        assert!(
            v.attributes
                .iter()
                .any(|a| a.attribute.namespace == zprsim_control::shared::STAND_IN_NAMESPACE),
            "{}",
            v.name
        );
    }
    let pcap = root().join("pcaps/oke-demo.pcap");
    let whole = replay(d, "whole.toml", &pcap, "w").unwrap();
    let c = replay(d, "cut.toml", &pcap, "c").unwrap();
    let o = check_owed(&whole, &c).unwrap();
    assert!(o.extra_packets > 0, "{o:?}");
    let mut files = oke_export();
    cut_vcn(&mut files, None);
    let w = oci::import(&files, None).unwrap().warnings;
    assert!(
        w.iter()
            .any(|w| w.contains("does not give its `security-attributes`")
                && w.contains("oci network vcn get --vcn-id ocid1.vcn.oc1.iad.gen000000")),
        "{w:?}"
    );
    // `{}` says none: no stand-in, no warning.
    let mut files = oke_export();
    cut_vcn(&mut files, Some(serde_json::json!({})));
    let i = oci::import(&files, None).unwrap();
    assert!(!i.toml.contains(zprsim_control::shared::STAND_IN_NAMESPACE));
    assert!(!i.warnings.iter().any(|w| w.contains("oci network vcn get")));
}

/// The twenty-second session's item 1: an export whose subnets name a VCN
/// it lacks (`network-vcn-list.json` deleted, or its object) imported
/// with every subnet and VNIC of that VCN left out, their addresses
/// external: the OKE export so cut imported with no VNIC at all, and the
/// demo capture dropped 168 packets (33 with the whole export), none owed
/// (the random cuts, seeds 179, 246, 350 of 400). It is refused now, naming
/// the VCN and the command exporting it, as a VCN without blocks is.
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
fn an_export_lacking_the_vcn_of_its_subnets_is_refused() {
    for cut in [
        |f: &mut Files| {
            f.remove("network-vcn-list.json");
        },
        |f: &mut Files| {
            f.insert("network-vcn-list.json".into(), r#"{"data": []}"#.into());
        },
    ] {
        let mut files = oke_export();
        cut(&mut files);
        let e = oci::import(&files, None).unwrap_err().to_string();
        assert!(
            e.contains("VCN `ocid1.vcn.oc1.iad.gen000000` is not in the export")
                && e.contains("oci network vcn get --vcn-id ocid1.vcn.oc1.iad.gen000000"),
            "{e}"
        );
    }
}

/// Found by the random cuts with the VCN classes checked (seed 209 of
/// 400): a route table without its `route-rules` (absent, null) was
/// imported as a table with no rule, not a stand-in: it still routed in
/// the VCN past the VNIC's subnet and admitted return paths, and its
/// drops were owed to nothing. It is a stand-in now (`stand_in = true`),
/// judged as a table the export lacks.
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
fn a_route_table_without_its_rules_owes_its_drops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        let mut v: Value = serde_json::from_str(&f["network-route-table-list.json"]).unwrap();
        v["data"][1].as_object_mut().unwrap().remove("route-rules");
        f.insert("network-route-table-list.json".into(), v.to_string());
    });
    let cut = std::fs::read_to_string(d.join("cut.toml")).unwrap();
    let s = load::from_toml_str(&cut, "cut.toml").unwrap().scenario;
    assert!(s.route_tables.iter().any(|t| t.stand_in && t.id.is_some()));
    let whole = load::from_toml_str(&std::fs::read_to_string(d.join("whole.toml")).unwrap(), "w")
        .unwrap()
        .scenario;
    let mut pool: Vec<IpAddr> = whole
        .vnics
        .iter()
        .flat_map(|v| v.private_ips.clone())
        .collect();
    pool.extend(
        ["8.8.8.8", "134.70.24.1", "10.0.99.9", "192.168.7.7"]
            .iter()
            .map(|a| a.parse::<IpAddr>().unwrap()),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(209);
    let pkts = traffic_with(&mut rng, &whole, 600, draw(&pool));
    let pcap = d.join("gen.pcap");
    write_capture(&pcap, &pkts);
    let mut extra = 0;
    for (input, tag) in [(pcap, "gen"), (root().join("pcaps/oke-demo.pcap"), "demo")] {
        let w = replay(d, "whole.toml", &input, &format!("w-{tag}")).unwrap();
        let c = replay(d, "cut.toml", &input, &format!("c-{tag}")).unwrap();
        extra += check_owed(&w, &c)
            .unwrap_or_else(|e| panic!("{tag}: {e}"))
            .extra_packets;
    }
    assert!(extra > 0);
}

/// Found by [`stand_in_drops_bound_every_drop_of_every_cut`] (seeds 139
/// and 315 of 400, skipped as a known gap until the twenty-eighth
/// session): the export without `network-vnic-get-5.json`
/// (`orders-api-pod-2`, 10.0.10.12) and without the private-IP list, so
/// nothing names the VNIC. Its address read as one no VNIC holds: no
/// security layer on its side and no ZPR check, so its SYN to the
/// balancer's 443 (which its NSG denies in the whole export) was allowed,
/// and the balancer's SYN to it on 8080 (allowed by a rule naming
/// `pods-nsg`, which an address is never a member of) and its own to the
/// mount target were dropped, owed to nothing. Now every subnet says its
/// VNICs are unknown (`vnics_unknown`): the three SYNs drop at the lost
/// VNIC's security layer, all owed, and `explain` says what to export.
#[test]
fn a_vnic_nothing_names_is_judged_as_unknown_and_its_drops_are_owed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        f.remove("network-vnic-get-5.json");
        f.remove("network-private-ip-list.json");
    });
    let cut_toml = std::fs::read_to_string(d.join("cut.toml")).unwrap();
    assert_eq!(cut_toml.matches("vnics_unknown = true").count(), 6);
    std::fs::write(
        d.join("syn.pcap"),
        syns(&[
            ("10.0.10.12", "10.0.1.10", 40000, 443),
            ("10.0.1.10", "10.0.10.12", 41000, 8080),
            ("10.0.10.12", "10.0.30.10", 801, 2049),
        ]),
    )
    .unwrap();
    let pcap = d.join("syn.pcap");
    let whole = replay(d, "whole.toml", &pcap, "w").unwrap();
    let cut = replay(d, "cut.toml", &pcap, "c").unwrap();
    assert_eq!(num(&whole.report, "/packets/dropped"), 1);
    assert_eq!(num(&cut.report, "/packets/dropped"), 3);
    assert_eq!(
        cut.report["stand_in_drops"],
        serde_json::json!({"packets": 3, "flows": 3}),
        "{:?}",
        cut.flows
            .iter()
            .map(|f| format!("{} -> {}: {}", f["src"], f["dst"], f["stage"]))
            .collect::<Vec<_>>()
    );
    check_owed(&whole, &cut).unwrap();
    for input in [
        root().join("pcaps/oke-demo.pcap"),
        root().join("examples/oke-orders/flowlogs/oke-demo.jsonl"),
    ] {
        let whole = replay(d, "whole.toml", &input, "wi").unwrap();
        let cut = replay(d, "cut.toml", &input, "ci").unwrap();
        check_owed(&whole, &cut).unwrap();
    }
    let out = crate::support::run_in(
        d,
        [
            "explain",
            "cut.toml",
            "--src",
            "10.0.10.12",
            "--dst",
            "10.0.1.10",
            "--proto",
            "tcp",
            "--dport",
            "443",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("tcp 10.0.10.12:49152 -> 10.0.1.10:443: DROP at egress-security")
            && text.contains("10.0.10.12 may be a VNIC the export lacks")
            && text.contains(
                "oci network private-ip list --subnet-id ocid1.subnet.oc1.iad.gen000003 --all"
            ),
        "{text}"
    );
}
