//! Drops owed on flow logs, where each VNIC's record is judged on its
//! own: an answer a stand-in left untracked, judged first in its second,
//! and `diff` owing what `replay` owes.

use serde_json::Value;

use super::{check_owed, whole_and_cut};
use crate::support::{replay, root, run_in};

/// Found by [`stand_in_drops_bound_every_drop_a_cut_export_adds`] at 200
/// seeds (seeds 54 and 96): the export without its route tables, replayed
/// on the demo flow logs. A VNIC whose own record of a connection was
/// dropped by its stand-in table tracks nothing, so its record of the
/// answer is judged as a first packet and dropped at ingress security or
/// ZPR (`worker-1`'s record of the API's answer, `orders-lb`'s of the
/// pods'): a drop the whole export does not make (it allows the answer as
/// a reply), but decided where everything is known, so it was not owed
/// (165 owed where the cut adds 179, on 33 tuples). A capture's flow
/// record holds both directions, so there the first packet's owed drop
/// covers the answer's; a flow-log record is judged on its own. Since the
/// twenty-first session `replay` on flow logs owes a dropped record whose
/// reverse the same VNIC dropped before with the drop owed.
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
fn an_answer_a_stand_in_left_untracked_is_owed_on_flow_logs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        f.remove("network-route-table-list.json");
    });
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let whole = replay(d, "whole.toml", &log, "w").unwrap();
    let cut = replay(d, "cut.toml", &log, "c").unwrap();
    let o = check_owed(&whole, &cut).unwrap();
    assert!(o.extra_tuples > 30, "{o:?}");
}

/// [`an_answer_a_stand_in_left_untracked_is_owed_on_flow_logs`] for
/// `diff` on flow logs: each side's `stand_in_drops` is `replay`'s of
/// that scenario (before the lead's merge, `diff` counted with the rule
/// before this session's: 165 packets owed, 42 records, where `replay`
/// owed 203 of the 212 drops, 53 records; the cut adds 179). Both count
/// through `dataplane/src/stand_in_owed.rs` `RecordsOwed` now.
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
fn diff_on_flow_logs_owes_what_replay_owes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        f.remove("network-route-table-list.json");
    });
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let cut = replay(d, "cut.toml", &log, "c").unwrap();
    let o = run_in(
        d,
        [
            "diff",
            "whole.toml",
            "cut.toml",
            log.to_str().unwrap(),
            "--report",
            "d.json",
        ],
    );
    let r: Value = serde_json::from_slice(&std::fs::read(d.join("d.json")).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(r["after"]["stand_in_drops"], cut.report["stand_in_drops"]);
}

/// [`an_answer_a_stand_in_left_untracked_is_owed_on_flow_logs`] within
/// one second (seed 198 of the random cuts): `worker-1` exported without
/// its `security-attributes` (the stand-in attribute), the demo flow logs.
/// Its record of the answer from Oracle's services (`134.70.1.1:443 ->
/// 10.0.2.11:40300`, dropped at route: no tracked connection) starts in
/// the same second as its owed record of the request, and the tie order
/// of semantics §6.4 judges it first; it was not owed (49 owed packets
/// where the cut adds 50 on 6 tuples; 53 owed with the fix).
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
fn an_answer_judged_first_in_its_second_is_owed_too() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        let mut v: Value = serde_json::from_str(&f["network-vnic-get-2.json"]).unwrap();
        v["data"]
            .as_object_mut()
            .unwrap()
            .remove("security-attributes");
        f.insert("network-vnic-get-2.json".into(), v.to_string());
    });
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let whole = replay(d, "whole.toml", &log, "w").unwrap();
    let cut = replay(d, "cut.toml", &log, "c").unwrap();
    check_owed(&whole, &cut).unwrap();
}
