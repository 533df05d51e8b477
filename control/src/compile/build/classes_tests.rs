//! The address classes keyed in parts (`classes.rs`) against the one
//! pass: the same compiled tables, whatever the number of parts and the
//! order they run in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;

use crate::compile::{Compiled, Config};
use crate::load::test_jobs::Parts;
use crate::load::{InOrder, Jobs, from_toml_str};

/// Runs each job on a thread of its own, and says it has 4.
struct Spread;

impl Jobs for Spread {
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        std::thread::scope(|s| {
            for i in 0..n {
                s.spawn(move || job(i));
            }
        });
    }

    fn threads(&self) -> usize {
        4
    }
}

/// Two dual-stack VCNs, `n` VNICs spread over their subnets: NSG lists in
/// varied orders (the security profile keeps the order, the peer keys
/// sort), rules naming NSGs and CIDRs in both directions (a /31 whose two
/// hosts are VNICs: a node without an address of its own), IPv6 and
/// second addresses, attributes in enforce and audit mode, a ZPR policy
/// naming attributes and a CIDR, a VNIC's own route table.
fn scenario(n: usize) -> String {
    let mut t = String::new();
    t.push_str("[services]\n\"osn\" = [\"134.70.0.0/17\"]\n\n");
    for v in 0..2 {
        writeln!(
            t,
            "[[vcn]]\nname = \"v{v}\"\ncidr_blocks = [\"10.{v}.0.0/16\", \"fd0{v}::/48\"]\n\
             security_attributes = {{ network = {{ vcn = {{ value = \"v{v}\" }} }} }}\n\n\
             [[gateway]]\nname = \"nat{v}\"\nvcn = \"v{v}\"\nkind = \"nat\"\n\n\
             [[gateway]]\nname = \"igw{v}\"\nvcn = \"v{v}\"\nkind = \"internet\"\n\n\
             [[route_table]]\nname = \"rt{v}\"\nvcn = \"v{v}\"\nroute_rules = [\n\
             {{ destination = \"0.0.0.0/0\", network_entity = \"nat{v}\" }},\n\
             {{ destination = \"10.{v}.32.0/20\", network_entity = \"igw{v}\" }},\n]\n\n\
             [[route_table]]\nname = \"own{v}\"\nvcn = \"v{v}\"\nroute_rules = [\n\
             {{ destination = \"0.0.0.0/0\", network_entity = \"igw{v}\" }},\n]\n\n\
             [[security_list]]\nname = \"sl{v}\"\nvcn = \"v{v}\"\n\
             ingress_security_rules = [{{ protocol = \"6\", source = \"10.{v}.4.0/22\" }}]\n\
             egress_security_rules = [{{ protocol = \"all\", destination = \"0.0.0.0/0\" }}]\n"
        )
        .unwrap();
        for k in 0..6 {
            let other = (k + 1) % 6;
            let (dir, field) = if k % 2 == 0 {
                ("EGRESS", "destination")
            } else {
                ("INGRESS", "source")
            };
            writeln!(
                t,
                "[[nsg]]\nname = \"n{v}{k}\"\nvcn = \"v{v}\"\nrules = [\n\
                 {{ direction = \"{dir}\", protocol = \"6\", {field} = \"n{v}{other}\", \
                 {field}_type = \"NETWORK_SECURITY_GROUP\" }},\n\
                 {{ direction = \"INGRESS\", protocol = \"17\", source = \"10.{v}.{k}.128/25\" }},\n\
                 {{ direction = \"EGRESS\", protocol = \"all\", destination = \"10.{v}.1.4/31\" }},\n]\n"
            )
            .unwrap();
        }
    }
    let subnets = 16;
    for j in 0..2 * subnets {
        let (v, k) = (j % 2, j / 2);
        writeln!(
            t,
            "[[subnet]]\nname = \"s{j}\"\nvcn = \"v{v}\"\ncidr_block = \"10.{v}.{}.0/22\"\n\
             ipv6_cidr_blocks = [\"fd0{v}:0:0:{k:x}::/64\"]\nroute_table = \"rt{v}\"\n\
             security_lists = [\"sl{v}\"]\n",
            4 * k
        )
        .unwrap();
    }
    let per = n.div_ceil(2 * subnets);
    for i in 0..n {
        let (j, host) = (i / per, 2 + i % per);
        let (v, k) = (j % 2, j / 2);
        let mut ips = format!("\"10.{v}.{}.{}\"", 4 * k + host / 256, host % 256);
        if i % 5 == 0 {
            write!(ips, ", \"fd0{v}:0:0:{k:x}::{host:x}\"").unwrap();
        }
        let nsgs = match i % 7 {
            0 => String::new(),
            1 => format!("\"n{v}0\", \"n{v}1\""),
            2 => format!("\"n{v}1\", \"n{v}0\""),
            3 => format!("\"n{v}{}\"", i % 6),
            4 => format!("\"n{v}5\", \"n{v}2\", \"n{v}3\""),
            5 => format!("\"n{v}{}\", \"n{v}{}\"", (i / 7) % 6, (i / 7 + 3) % 6),
            _ => format!("\"n{v}4\""),
        };
        let attrs = match i % 11 {
            0 | 1 => String::new(),
            2 => "app = { tier = { value = \"web\", mode = \"audit\" } }".to_owned(),
            3 => "app = { tier = { value = \"db\" }, env = { value = \"prod\" } }".to_owned(),
            4 => "app = { env = { value = \"prod\" }, tier = { value = \"db\" } }".to_owned(),
            _ => format!("app = {{ tier = {{ value = \"t{}\" }} }}", i % 13),
        };
        writeln!(
            t,
            "[[vnic]]\nname = \"x{i}\"\nsubnet = \"s{j}\"\nprivate_ips = [{ips}]\nnsgs = [{nsgs}]\n\
             security_attributes = {{ {attrs} }}"
        )
        .unwrap();
        if i % 97 == 0 {
            writeln!(t, "route_table = \"own{v}\"").unwrap();
        }
        t.push('\n');
    }
    t.push_str(
        "[[zpr_policy]]\nname = \"p\"\nstatements = [\n\
         \"in network.vcn:v0 VCN allow app.tier:web endpoints to connect to app.tier:db endpoints with protocol='tcp/5432'\",\n\
         \"in network.vcn:v1 VCN allow app.env:prod endpoints to connect to '10.1.3.0/24' with protocol='tcp/443'\",\n\
         \"in network.vcn:v1 VCN allow app.tier:t3 endpoints to connect to osn-services-ip-addresses\",\n]\n",
    );
    t
}

/// The tables with the compile's timings left out.
fn tables(mut c: Compiled) -> String {
    c.stats.compile_s = 0.0;
    c.stats.phases.clear();
    format!("{c:?}")
}

#[test]
fn classes_in_parts_compile_as_in_one_pass() {
    let n = 9000;
    let s = from_toml_str(&scenario(n), "parts.toml").unwrap().scenario;
    let cfg = Config::default();
    let one = Compiled::new(&s, &cfg).unwrap();
    // Enough of everything for the parts to have to agree on something.
    assert!(one.stats.prefixes >= 2 * 4096, "{:?}", one.stats);
    assert!(one.stats.address_classes > 100, "{:?}", one.stats);
    assert!(one.stats.security_profiles > 20, "{:?}", one.stats);
    assert!(one.stats.zpr_profiles > 10, "{:?}", one.stats);
    assert!(one.stats.route_classes > 4, "{:?}", one.stats);
    let parts = |threads: usize| (one.stats.prefixes / 2048).min(threads);
    let parts = [2, 3, 4, 8].map(parts);
    let want = tables(one);
    for (threads, parts) in [2, 3, 4, 8].into_iter().zip(parts) {
        let jobs = Parts::new(threads);
        assert_eq!(
            tables(Compiled::new_with(&s, &cfg, &jobs).unwrap()),
            want,
            "{threads} threads"
        );
        // The classes' run (the first), in as many parts as threads
        // (and no more than a part per 2048 nodes).
        assert!(parts > 1);
        assert_eq!(jobs.runs.lock().unwrap().first(), Some(&parts));
    }
    assert_eq!(tables(Compiled::new_with(&s, &cfg, &Spread).unwrap()), want);
    // And the one pass itself through a runner of one thread.
    assert_eq!(
        tables(Compiled::new_with(&s, &cfg, &InOrder).unwrap()),
        want
    );
}

/// The limit on address classes is met the same way in parts.
#[test]
fn too_many_classes_in_parts_is_the_same_error() {
    let s = from_toml_str(&scenario(9000), "parts.toml")
        .unwrap()
        .scenario;
    let cfg = Config {
        max_address_classes: 50,
        ..Config::default()
    };
    let one = format!("{:?}", Compiled::new(&s, &cfg).unwrap_err());
    assert!(one.contains("TooManyAddressClasses"), "{one}");
    let jobs = Parts::new(4);
    assert_eq!(
        format!("{:?}", Compiled::new_with(&s, &cfg, &jobs).unwrap_err()),
        one
    );
}
