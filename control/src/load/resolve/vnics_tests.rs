//! The VNICs resolved in parts (`vnics.rs`) against the one pass: the same
//! scenario, warnings (order and cap included) and first error, whatever
//! the number of parts and the order they run in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::load::test_jobs::Parts;
use crate::load::{Format, InOrder, Jobs, NoFiles, load_str_with};
use std::fmt::Write as _;

/// `n` VNICs, 200 to a /24 subnet: the first of each subnet at its
/// second address (a reserved-address warning in every part), every
/// `nsg_every`-th in 6 NSGs (an oci-limit warning), every third with a
/// security attribute. `edit` may change a VNIC's lines.
fn scenario(n: usize, nsg_every: usize, edit: impl Fn(usize, &mut String)) -> String {
    let mut t = String::from("[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/8\"]\n\n");
    for k in 0..6 {
        writeln!(t, "[[nsg]]\nname = \"n{k}\"\nvcn = \"v\"\n").unwrap();
    }
    for j in 0..n.div_ceil(200) {
        writeln!(
            t,
            "[[subnet]]\nname = \"s{j}\"\nvcn = \"v\"\ncidr_block = \"10.0.{j}.0/24\"\n"
        )
        .unwrap();
    }
    for i in 0..n {
        let (j, host) = (i / 200, 1 + i % 200);
        let mut v = format!(
            "[[vnic]]\nname = \"v{i}\"\nsubnet = \"s{j}\"\nprivate_ips = [\"10.0.{j}.{host}\"]\n"
        );
        if i % nsg_every == 0 {
            v.push_str("nsgs = [\"n0\", \"n1\", \"n2\", \"n3\", \"n4\", \"n5\"]\n");
        }
        if i % 3 == 0 {
            v.push_str("security_attributes = { app = { tier = { value = \"web\" } } }\n");
        }
        edit(i, &mut v);
        t.push_str(&v);
        t.push('\n');
    }
    t
}

/// The load's result (scenario and warnings, or the error), rendered.
fn load(text: &str, jobs: &dyn Jobs) -> String {
    match load_str_with(text, "s.toml", Format::Toml, &NoFiles, jobs) {
        Ok(l) => format!("{:?}\n{:?}", l.scenario, l.warnings),
        Err(e) => format!("error: {e}"),
    }
}

/// Loads `text` in one pass and in parts (2, 3, 4 and 8 threads, jobs
/// run last first); asserts they agree and that parts were made; returns
/// the one pass's result.
fn same_in_parts(text: &str, vnics: usize) -> String {
    let one = load(text, &InOrder);
    for threads in [2, 3, 4, 8] {
        let jobs = Parts::new(threads);
        assert_eq!(load(text, &jobs), one, "{threads} threads");
        let parts = (vnics / 2048).min(threads);
        assert!(
            jobs.runs.lock().unwrap().contains(&parts),
            "{threads} threads: no run of {parts} parts in {:?}",
            jobs.runs.lock().unwrap()
        );
    }
    one
}

#[test]
fn vnics_in_parts_load_as_in_one_pass_warnings_in_file_order() {
    let one = same_in_parts(&scenario(9000, 1000, |_, _| {}), 9000);
    assert!(!one.starts_with("error"), "{one}");
    // 45 reserved addresses and 9 VNICs in 6 NSGs, in file order.
    assert_eq!(one.matches("ReservedAddress").count(), 45, "{one}");
    assert_eq!(one.matches("OciLimit").count(), 9, "{one}");
    let at = |s: &str| one.find(s).unwrap();
    assert!(at("vnic `v0`: address") < at("vnic `v200`: address"));
    assert!(at("vnic `v8800`: address") > at("vnic `v8000` is in 6 nsgs"));
}

#[test]
fn past_the_warning_cap_the_parts_keep_and_count_as_one_pass() {
    let one = same_in_parts(&scenario(9000, 1, |_, _| {}), 9000);
    // 9045 warnings: the first 1000 kept, the rest counted.
    assert!(one.contains("8045 more warnings left out"), "{one}");
}

#[test]
fn an_address_held_in_two_parts_is_the_first_error_as_in_one_pass() {
    // v8000 takes v100's address (same subnet); v8500 names no subnet,
    // a later error; v8000 is in the last part whatever the count.
    let text = scenario(9000, 1000, |i, v| match i {
        8000 => {
            *v = "[[vnic]]\nname = \"v8000\"\nsubnet = \"s0\"\nprivate_ips = [\"10.0.0.101\"]\n"
                .to_owned()
        }
        8500 => *v = v.replace("subnet = \"s42\"", "subnet = \"nope\""),
        _ => {}
    });
    let one = same_in_parts(&text, 9000);
    assert!(
        one.contains("in vnic `v8000`, field `private_ips`: address `10.0.0.101` is already held by vnic `v100`"),
        "{one}"
    );
}

#[test]
fn an_error_in_a_later_part_is_the_one_pass_error() {
    // (VNIC, what its lines become, the error's words)
    let cases: [(usize, &str, &str, &str); 2] = [
        (
            8500,
            "subnet = \"s42\"",
            "subnet = \"nope\"",
            "in vnic `v8500`, field `subnet`: no subnet has the name or id `nope`",
        ),
        (
            8999,
            "\"10.0.44.200\"]",
            "\"10.0.44.200\", \"10.0.44.200\"]",
            "in vnic `v8999`, field `private_ips`: address `10.0.44.200` is listed twice",
        ),
    ];
    for (at, from, to, said) in cases {
        let text = scenario(9000, 1000, |i, v| {
            if i == at {
                *v = v.replace(from, to);
            }
        });
        let one = same_in_parts(&text, 9000);
        assert!(one.contains(said), "{one}");
    }
}
