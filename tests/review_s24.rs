//! QA round seventeen (twenty-second session): the one test left here,
//! ignored (the rollout gate of docs/rollout.md step 5 on flow logs),
//! which another change edits in place; the round's other tests are in
//! their topic modules (`identical_outputs`, `flowlog_archives`,
//! `docs_drift`).

use crate::support::{oke_copy, root, zprsim};

/// Journey (d), step 5 of docs/rollout.md on flow logs: the statement
/// added and billing enforced, "`diff` from the rollout scenario to the
/// new one must show nothing that would break". On the demo capture it
/// shows nothing; on the demo flow logs it showed the billing pod's NFS
/// flow as "would break ... before allow, after drop at zpr" (exit 1),
/// the flow OCI logged REJECT and step 2's `replay` calls "dropped today
/// by another check" (the mount target's): its only record is billing's
/// egress, and a record was judged at its VNIC alone. Since the
/// twenty-sixth session `diff` on flow logs judges each flow along its
/// whole path (the mount target's drop included) and never counts a
/// record OCI rejected as would break: the gate passes on both.
#[test]
fn the_rollout_gate_on_flow_logs_passes_once_the_statements_are_added() {
    let dir = oke_copy();
    let d = dir.path();
    let rollout = std::fs::read_to_string(d.join("rollout.toml")).unwrap();
    let enforced = rollout.replace(
        r#"value = "billing", mode = "audit" }"#,
        r#"value = "billing" }"#,
    );
    assert_ne!(rollout, enforced);
    std::fs::write(d.join("enforced.toml"), enforced).unwrap();
    let mut zpl = std::fs::read_to_string(d.join("policies/orders.zpl")).unwrap();
    zpl.push_str("in network.vcn:backend VCN allow '10.0.20.10/32' to connect to app.workload:billing endpoints with protocol='tcp/8080'\n");
    std::fs::write(d.join("policies/orders.zpl"), zpl).unwrap();
    for input in [
        root().join("pcaps/oke-demo.pcap"),
        d.join("flowlogs/oke-demo.jsonl"),
    ] {
        let o = zprsim()
            .current_dir(d)
            .args(["diff", "rollout.toml", "enforced.toml"])
            .arg(&input)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            input.display(),
            String::from_utf8_lossy(&o.stdout)
        );
    }
}
