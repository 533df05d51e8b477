//! Replies with no route back across VCNs: a required path whose replies
//! cannot return fails `verify`, and `explain` says so of its first
//! packet.

use assert_cmd::Command;
use serde_json::Value;

use crate::support::NO_RETURN_ROUTE;

/// A required path across a DRG whose replies have no route back: `verify`
/// says `ok` (exit 0) though in OCI the reply of every connection drops at
/// route in VCN `b`. `verify` judges first packets only (docs/verify.md,
/// "The reply of a first packet to another VCN": only a route hint checks
/// the reply's route); so does the hint that opens such a path when the
/// first packet is dropped by a security list or ZPR (the same scenario
/// with `ob`'s rule removed: "to open: ingress-security: add to security
/// list `ob` ...", and "with every path's hints added ...: every path that
/// should be open passes"). A path that should be open needs its replies'
/// route judged too (the reply's security and ZPR pass by tracking; its
/// route does not).
///
/// Found by QA round fifteen (twentieth session, branch s22-qa).
#[test]

fn a_required_path_whose_replies_have_no_route_back_fails() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s.toml");
    std::fs::write(&s, NO_RETURN_ROUTE).unwrap();
    let e = dir.path().join("e.toml");
    std::fs::write(
        &e,
        "[[path]]\nname = \"x-to-y\"\nfrom = \"vnic:x\"\nto = \"vnic:y\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n",
    )
    .unwrap();
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .arg("verify")
        .arg(&s)
        .arg(&e)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("reply"), "{out}");
}

/// `explain` of a first packet between VNICs of two VCNs whose reply has no
/// route back says so, in the text and in `--json`'s `reply_route`: the
/// first packet passing (or the hint that opens it) told the engineer the
/// path works, and only `--reply` showed the reply dropped at route. With
/// a rule back (a route table for `sb` sending 10.0.0.0/16 to its DRG) no
/// note.
///
/// Found by QA round fifteen (twentieth session, branch s22-qa).
#[test]
fn explain_says_when_the_reply_of_a_cross_vcn_packet_has_no_route_back() {
    let dir = tempfile::tempdir().unwrap();
    let explain = |scenario: &str, json: bool| {
        let s = dir.path().join("s.toml");
        std::fs::write(&s, scenario).unwrap();
        let mut c = Command::cargo_bin("zprsim").unwrap();
        c.arg("explain").arg(&s).args([
            "--src", "x", "--dst", "y", "--proto", "tcp", "--dport", "443",
        ]);
        if json {
            c.arg("--json");
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let note = "note: its reply tcp 10.1.1.10:443 -> 10.0.1.10:49152 drops at route (no rule matches 10.0.1.10: subnet `sb` has no route table (nor has the VNIC), so only the VCN's local routes apply; give it one (`route_table = ...`) with a rule for it): the connection cannot complete (`--reply` explains it)";
    let text = explain(NO_RETURN_ROUTE, false);
    assert!(
        text.starts_with("tcp 10.0.1.10:49152 -> 10.1.1.10:443: ALLOW"),
        "{text}"
    );
    assert!(text.contains(note), "{text}");
    let j: Value = serde_json::from_str(&explain(NO_RETURN_ROUTE, true)).unwrap();
    assert_eq!(
        j["reply_route"].as_str(),
        note.strip_prefix("note: "),
        "{j:#}"
    );
    // The first packet dropped by the list: its hint opens it, the reply
    // still has no route.
    let closed = NO_RETURN_ROUTE.replace("source = \"10.0.1.10/32\"", "source = \"10.9.0.0/16\"");
    let text = explain(&closed, false);
    assert!(text.contains("DROP at ingress-security"), "{text}");
    assert!(
        text.contains("the connection cannot complete, even with the first packet opened"),
        "{text}"
    );
    // A rule back: no note.
    let back = NO_RETURN_ROUTE.replace(
        "security_lists = [\"ob\"]\n",
        "security_lists = [\"ob\"]\nroute_table = \"brt\"\n\n[[route_table]]\nname = \"brt\"\nvcn = \"b\"\nroute_rules = [{ destination = \"10.0.0.0/16\", network_entity = \"bd\" }]\n",
    );
    let text = explain(&back, false);
    assert!(!text.contains("note: its reply"), "{text}");
    let j: Value = serde_json::from_str(&explain(&back, true)).unwrap();
    assert!(j.get("reply_route").is_none(), "{j:#}");
}
