//! `diff` on flow logs where one scenario has a VNIC the other lacks:
//! records only AFTER places (a VNIC the change adds) are new-path flows
//! (since the twenty-ninth session), records only BEFORE places (a VNIC
//! the change removes) gone-path flows (since the thirtieth), each judged
//! by its one scenario alone and a class of `--fail-on`; a flow logged at
//! a removed VNIC and at its replacement still has a path after.

use serde_json::Value;

use crate::flowlog_diff::{OPEN, OPEN_OUT, conn, diff, diff_with, two};

/// `b`'s VNIC in [`two`]'s scenario: taken out of BEFORE (a VNIC the
/// change adds) or AFTER (one it removes).
const B_VNIC: &str = "\n[[vnic]]\nname = \"b\"\nid = \"ocid1.vnic.oc1..b\"\nsubnet = \"sb\"\nprivate_ips = [\"10.0.2.10\"]\n";

/// Report `r` has one `placed-by-one-side` warning, saying `placed` and
/// `as_what`.
fn said_once(r: &Value, placed: &str, as_what: &str) {
    let warned = crate::support::warnings_of(r, "placed-by-one-side");
    assert_eq!(warned.len(), 1, "{r:#}");
    let m = warned[0]["message"].as_str().unwrap();
    assert!(m.contains(placed) && m.contains(as_what), "{m}");
}

/// The `--flows` lines `diff_with(.., &["--flows", "f.jsonl"])` wrote in
/// `d`.
fn flow_lines(d: &std::path::Path) -> Vec<Value> {
    crate::support::json_lines_of(&d.join("f.jsonl"))
}

/// A VNIC only AFTER has (the change adds `b`: its records name an `id`
/// BEFORE has no VNIC with). Its records were not compared, said only in
/// a `placed-by-one-side` warning; a user rolling the change out learnt
/// nothing of the new VNIC's traffic. They are now judged by AFTER alone,
/// as new-path flows: `new_path` in the report (flows, packets, those
/// AFTER drops), class `new-path` in `--flows` (`before` null, the line's
/// own verdict AFTER's), a summary line; the flows both scenarios place
/// are counted as they were (here the same as without `b`'s records).
///
/// Item 3 of the twenty-ninth session's polish brief; its `--fail-on
/// new-path`, item 1 of the thirtieth's.
#[test]
fn the_records_of_a_vnic_only_after_has_are_new_path_flows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let before = two(OPEN_OUT, OPEN).replace(B_VNIC, "\n");
    assert!(!before.contains("..b\""), "{before}");
    let at_a = conn("a", true, "ACCEPT", (40000, 2, 100));
    let at_b = [
        conn("b", true, "ACCEPT", (41000, 3, 100)),
        conn("b", false, "ACCEPT", (41000, 2, 100)),
    ];
    // `b`'s ingress open after, then closed: the request's 3 packets drop
    // at `b` (its reply, untracked, is judged as a first packet: `b`'s
    // egress and `a`'s ingress let it out and in).
    for (b_ingress, dropped) in [(OPEN, 0u64), ("[]", 3)] {
        let after = two(OPEN_OUT, b_ingress);
        let (alone_code, alone, _) = diff(d, &before, &after, std::slice::from_ref(&at_a));
        assert!(alone.get("new_path").is_none(), "{alone:#}");
        let log = [at_a.clone(), at_b[0].clone(), at_b[1].clone()];
        let (code, r, out) = diff_with(d, &before, &after, &log, &["--flows", "f.jsonl"]);
        // The default gate (`would-break`) is not moved by new paths;
        // `--fail-on new-path` fails on one (since the thirtieth session).
        assert_eq!(code, alone_code, "{out}");
        let gate = ["--fail-on", "new-path"];
        assert_eq!(diff_with(d, &before, &after, &log, &gate).0, Some(1));
        let one = std::slice::from_ref(&at_a);
        assert_eq!(diff_with(d, &before, &after, one, &gate).0, Some(0));
        let np = &r["new_path"];
        assert_eq!(np["flows"], 1, "{r:#}");
        assert_eq!(np["packets"], 5, "{r:#}");
        assert_eq!(np["dropped_packets"], dropped, "{r:#}");
        assert_eq!(np["dropped_flows"], u64::from(dropped > 0), "{r:#}");
        // The flows both place: counted as without `b`'s records.
        assert_eq!(r["flows"], alone["flows"], "{r:#}");
        assert_eq!(r["after"]["judged"], 3, "{r:#}");
        let lines = flow_lines(d);
        let new: Vec<&Value> = lines.iter().filter(|l| l["class"] == "new-path").collect();
        assert_eq!(new.len(), 1, "{lines:#?}");
        let l = new[0];
        assert_eq!(l["src"], "10.0.1.10", "{l:#}");
        assert_eq!(
            (l["sport"].as_u64(), l["dport"].as_u64()),
            (Some(41000), Some(5432))
        );
        assert_eq!(
            l["vnics"],
            serde_json::json!(["ocid1.vnic.oc1..b"]),
            "{l:#}"
        );
        assert!(l["before"].is_null(), "{l:#}");
        assert_eq!(l["packets"], 5, "{l:#}");
        assert_eq!(l["after"]["dropped_packets"], dropped, "{l:#}");
        assert_eq!(l["dropped_packets"], dropped, "{l:#}");
        let verdict = if dropped > 0 { "drop" } else { "allow" };
        assert_eq!(l["verdict"], verdict, "{l:#}");
        said_once(&r, "placed by AFTER only", "new paths");
        let said = format!(
            "  new paths: 1 flow(s) (5 packets) only AFTER places (VNICs the change adds), judged by AFTER alone: {} dropped ({dropped} packets)\n",
            u64::from(dropped > 0)
        );
        assert!(out.contains(&said), "{out}");
        let after_said = if dropped > 0 {
            "after drop at ingress-security"
        } else {
            "after allow"
        };
        assert!(
            out.contains(&format!(
                "  new path: tcp 10.0.1.10:41000 -> 10.0.2.10:5432 (5 packets): before no VNIC, {after_said}\n"
            )),
            "{out}"
        );
    }
}

/// A VNIC only BEFORE has (the change removes `b`): its records were not
/// compared, said only in a `placed-by-one-side` warning, so a change that
/// removes a VNIC still carrying traffic passed every gate. They are now
/// judged by BEFORE alone, as gone-path flows: `gone_path` in the report
/// (flows, packets, those BEFORE allows: traffic the change ends), class
/// `gone-path` in `--flows` (`after` null, the line's own verdict
/// BEFORE's as always), a summary line, and `--fail-on gone-path`; the
/// flows both scenarios place are counted as they were.
///
/// Item 1 of the thirtieth session's polish brief.
#[test]
fn the_records_of_a_vnic_only_before_has_are_gone_path_flows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let at_a = conn("a", true, "ACCEPT", (40000, 2, 100));
    let request = conn("b", true, "ACCEPT", (41000, 3, 100));
    let reply = conn("b", false, "ACCEPT", (41000, 2, 100));
    // `b`'s ingress open before: its 5 packets allowed, all of them
    // traffic the change ends. Closed, with the request alone logged: its
    // 3 packets dropped at `b` already, nothing allowed is lost.
    let cases = [
        (OPEN, vec![request.clone(), reply], 5u64, 5u64),
        ("[]", vec![request], 3, 0),
    ];
    for (b_ingress, at_b, packets, allowed) in cases {
        let before = two(OPEN_OUT, b_ingress);
        let after = before.replace(B_VNIC, "\n");
        assert!(!after.contains("..b\""), "{after}");
        let one = std::slice::from_ref(&at_a);
        let (alone_code, alone, _) = diff(d, &before, &after, one);
        assert!(alone.get("gone_path").is_none(), "{alone:#}");
        let log: Vec<String> = std::iter::once(at_a.clone()).chain(at_b.clone()).collect();
        let (code, r, out) = diff_with(d, &before, &after, &log, &["--flows", "f.jsonl"]);
        assert_eq!(code, alone_code, "{out}");
        let gp = &r["gone_path"];
        assert_eq!(gp["flows"], 1, "{r:#}");
        assert_eq!(gp["packets"], packets, "{r:#}");
        assert_eq!(gp["allowed_packets"], allowed, "{r:#}");
        assert_eq!(gp["allowed_flows"], u64::from(allowed > 0), "{r:#}");
        assert!(r.get("new_path").is_none(), "{r:#}");
        // The flows both place: counted as without `b`'s records.
        assert_eq!(r["flows"], alone["flows"], "{r:#}");
        assert_eq!(r["before"]["judged"], log.len(), "{r:#}");
        assert_eq!(r["after"]["judged"], 1, "{r:#}");
        let lines = flow_lines(d);
        let gone: Vec<&Value> = lines.iter().filter(|l| l["class"] == "gone-path").collect();
        assert_eq!(gone.len(), 1, "{lines:#?}");
        let l = gone[0];
        assert_eq!(
            (l["src"].as_str(), l["sport"].as_u64(), l["dport"].as_u64()),
            (Some("10.0.1.10"), Some(41000), Some(5432)),
            "{l:#}"
        );
        assert_eq!(
            l["vnics"],
            serde_json::json!(["ocid1.vnic.oc1..b"]),
            "{l:#}"
        );
        assert!(l["after"].is_null(), "{l:#}");
        assert_eq!(l["packets"], packets, "{l:#}");
        assert_eq!(l["before"]["allowed_packets"], allowed, "{l:#}");
        assert_eq!(l["allowed_packets"], allowed, "{l:#}");
        let (verdict, said) = if allowed > 0 {
            ("allow", "allow")
        } else {
            ("drop", "drop at ingress-security")
        };
        assert_eq!(l["verdict"], verdict, "{l:#}");
        said_once(&r, "placed by BEFORE only", "gone paths");
        let line = format!(
            "  gone paths: 1 flow(s) ({packets} packets) only BEFORE places (VNICs the change removes), judged by BEFORE alone: {} allowed ({allowed} packets) have no VNIC after\n",
            u64::from(allowed > 0)
        );
        assert!(out.contains(&line), "{out}");
        let flow = format!(
            "  gone path: tcp 10.0.1.10:41000 -> 10.0.2.10:5432 ({packets} packets): before {said}, after no VNIC\n"
        );
        assert!(out.contains(&flow), "{out}");
        // `--fail-on gone-path` fails on a gone path, whatever BEFORE said
        // of it, and on nothing else.
        let gate = ["--fail-on", "gone-path"];
        assert_eq!(diff_with(d, &before, &after, &log, &gate).0, Some(1));
        assert_eq!(diff_with(d, &before, &after, one, &gate).0, Some(0));
    }
}

/// A VNIC replaced by another of its address (`b` removed, `c` added: an
/// instance recreated): a flow logged at `b` before the change and at `c`
/// after still has a path after. It is a new path of `c`'s records, not a
/// gone path; both VNICs are listed.
#[test]
fn a_flow_of_a_replaced_vnic_is_a_new_path_not_a_gone_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let before = two(OPEN_OUT, OPEN);
    let after = before.replace("ocid1.vnic.oc1..b\"", "ocid1.vnic.oc1..c\"");
    let log = [
        conn("a", true, "ACCEPT", (40000, 2, 100)),
        conn("b", true, "ACCEPT", (41000, 3, 100)),
        conn("c", true, "ACCEPT", (41000, 4, 200)),
    ];
    let (_, r, _) = diff_with(d, &before, &after, &log, &["--flows", "f.jsonl"]);
    assert!(r.get("gone_path").is_none(), "{r:#}");
    assert_eq!(r["new_path"]["flows"], 1, "{r:#}");
    assert_eq!(r["new_path"]["packets"], 4, "{r:#}");
    assert_eq!(
        crate::support::warnings_of(&r, "placed-by-one-side").len(),
        2,
        "{r:#}"
    );
    let lines = flow_lines(d);
    let new: Vec<&Value> = lines.iter().filter(|l| l["class"] == "new-path").collect();
    assert_eq!(new.len(), 1, "{lines:#?}");
    assert_eq!(
        new[0]["vnics"],
        serde_json::json!(["ocid1.vnic.oc1..b", "ocid1.vnic.oc1..c"]),
        "{lines:#?}"
    );
    assert_eq!(new[0]["packets"], 4, "{lines:#?}");
    assert!(
        lines.iter().all(|l| l["class"] != "gone-path"),
        "{lines:#?}"
    );
}
