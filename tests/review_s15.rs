//! Defects found in the thirteenth session's review (branch s15-qa), as
//! real users would meet them: each test fails on the code before its fix.

use std::path::Path;

use serde_json::Value;

use crate::support::run_in;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The OKE example (billing enforced, no statement for the legacy VM)
/// copied into `d` with its policy file, as a user's own copy.
fn oke_copy(d: &Path) {
    let oke = root().join("examples/oke-orders");
    std::fs::copy(oke.join("scenario.toml"), d.join("scenario.toml")).unwrap();
    std::fs::create_dir(d.join("policies")).unwrap();
    std::fs::copy(
        oke.join("policies/orders.zpl"),
        d.join("policies/orders.zpl"),
    )
    .unwrap();
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `explain --reply` on a flow whose first packet the scenario drops (the
/// legacy VM calling billing): the reply is judged as a first packet and
/// its hints were the reply's own, a rule and a statement from billing to
/// the legacy VM's port 49152 in every layer. Applied as written they
/// open that reverse path and leave the flow closed. The hints are now
/// the first packet's: applied, the flow opens and its reply is tracked.
#[test]
fn explain_reply_of_a_dropped_flow_hints_what_opens_the_flow() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    oke_copy(d);
    let args = [
        "explain",
        "scenario.toml",
        "--src",
        "legacy-vm",
        "--dst",
        "billing-pod-1",
        "--proto",
        "tcp",
        "--dport",
        "8080",
        "--reply",
        "--json",
    ];
    let before = json_of(&run_in(d, args));
    assert_eq!(before["first_packet"]["verdict"], "drop");
    let hints: Vec<String> = before["to_open"]
        .as_array()
        .map(|a| a.iter().map(|h| h.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    assert!(!hints.is_empty(), "{before:#}");
    // Apply every hint as written: each is a ZPL statement for the
    // policy file it names (only ZPR blocks the first packet).
    let mut zpl = std::fs::read_to_string(d.join("policies/orders.zpl")).unwrap();
    for h in &hints {
        assert!(h.contains("(in policies/orders.zpl)"), "{h}");
        let statement = h.split('"').nth(1).unwrap();
        zpl.push_str(statement);
        zpl.push('\n');
    }
    std::fs::write(d.join("policies/orders.zpl"), zpl).unwrap();
    let after = json_of(&run_in(d, args));
    assert_eq!(after["first_packet"]["verdict"], "allow", "{hints:?}");
    assert_eq!(after["verdict"], "allow", "{hints:?}");
    // The text gives the hints under the first packet they open.
    std::fs::copy(
        root().join("examples/oke-orders/policies/orders.zpl"),
        d.join("policies/orders.zpl"),
    )
    .unwrap();
    let text = run_in(d, &args[..args.len() - 1]);
    let text = String::from_utf8_lossy(&text.stdout);
    let (first, reply) = text.split_once("\nreply ").unwrap();
    assert!(first.contains("to open: zpr:"), "{text}");
    assert!(!reply.contains("to open:"), "{text}");
}
