//! Scenario text (TOML) judged by both engines: for a scenario that loads
//! and compiles, the first packets (and replies) between its VNICs'
//! addresses and a few outside addresses, TCP, UDP and ICMP, must get the
//! same verdict, stage and deciding rules from the compiled table and the
//! reference evaluator (`agree::judge_both`); a disagreement is a crash.
//! Seed it with scenarios (`tests/cases/scenarios/*.toml`, the examples)
//! so that mutations stay close to loadable text.

use std::net::IpAddr;

use zprsim_control::agree::judge_both;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::load::from_toml_str;
use zprsim_control::packet::Packet;
use zprsim_control::verdict::Context;

/// Outside addresses: the internet (IPv4 and IPv6), an Oracle service
/// range, an on-premises-looking range, a ULA.
const OUTSIDE: [&str; 6] = [
    "8.8.8.8",
    "134.70.1.1",
    "192.168.7.7",
    "2001:db8::1",
    "2603:c020:ffff::1",
    "fd99::1",
];

/// The body of the `agree` fuzz target.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = from_toml_str(text, "fuzz.toml") else {
        return;
    };
    let s = loaded.scenario;
    let cfg = Config {
        max_table_bytes: 16 << 20,
        ..Config::default()
    };
    let Ok(c) = Compiled::new(&s, &cfg) else {
        return;
    };
    let mut addrs: Vec<IpAddr> = s
        .vnics
        .iter()
        .flat_map(|v| v.private_ips.iter().copied())
        .take(12)
        .collect();
    addrs.extend(OUTSIDE.iter().filter_map(|a| a.parse::<IpAddr>().ok()));
    for &a in &addrs {
        for &b in &addrs {
            if a == b || a.is_ipv4() != b.is_ipv4() {
                continue;
            }
            for p in [
                Packet::tcp(a, 40000, b, 443),
                Packet::udp(a, 53, b, 53),
                Packet::icmp(a, b, if a.is_ipv4() { 8 } else { 128 }, 0),
            ] {
                let first =
                    judge_both(&s, &c, &p, Context::First).unwrap_or_else(|e| panic!("{e}"));
                // The reply of what the first packet left tracked.
                let ctx = Context::Reply(first.judgement.tracking);
                if let Err(e) = judge_both(&s, &c, &p.reversed(), ctx) {
                    panic!("{e}");
                }
            }
        }
    }
}
