//! The drops owed to stand-ins (`stand_in_drops`, docs/cli.md "Drops owed
//! to stand-ins") held against the whole export: random cuts of the OKE
//! export (`random_cuts`), exports cut in the ways found so
//! (`exports`), and flow logs, where each record is judged on its own
//! (`flow_logs`).

mod exports;
mod flow_logs;
mod random_cuts;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use zprsim_control::import::{Files, oci};
use zprsim_control::packet::Packet;

use crate::support::{Replayed, oke_export, root};

/// A flow-record key: the 5-tuple (and ICMP type and code) as `--flows`
/// writes it.
fn flow_key(f: &Value) -> String {
    format!(
        "{} {} {} {} {} {} {}",
        f["src"], f["dst"], f["proto"], f["sport"], f["dport"], f["icmp_type"], f["icmp_code"]
    )
}

fn num(v: &Value, p: &str) -> u64 {
    v.pointer(p)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{p} in {v}"))
}

/// Per tuple: the dropped packets of its records.
fn dropped_by_tuple(flows: &[Value]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for f in flows {
        *m.entry(flow_key(f)).or_insert(0) += num(f, "/dropped_packets");
    }
    m
}

/// What the cut adds over the whole export, and what the cut says is owed.
#[derive(Default, Debug, Clone, Copy)]
struct Owed {
    /// Dropped packets under the cut import, and under the whole export.
    dropped: u64,
    whole_dropped: u64,
    /// Tuples the cut drops more packets of, and those extra packets.
    extra_tuples: u64,
    extra_packets: u64,
    /// `stand_in_drops`.
    owed_packets: u64,
    owed_flows: u64,
}

/// The documented bound (docs/cli.md, "Drops owed to stand-ins"): every
/// drop the whole export would not make is among the owed, and the owed
/// are drops. Per tuple: a tuple the cut drops more of has a record that
/// is owed (so at least as many owed records as such tuples), and an owed
/// record counts all its dropped packets (so at least the extra packets).
fn check_owed(whole: &Replayed, cut: &Replayed) -> Result<Owed, String> {
    let w = dropped_by_tuple(&whole.flows);
    let c = dropped_by_tuple(&cut.flows);
    let mut o = Owed {
        dropped: num(&cut.report, "/packets/dropped"),
        whole_dropped: num(&whole.report, "/packets/dropped"),
        owed_packets: num(&cut.report, "/stand_in_drops/packets"),
        owed_flows: num(&cut.report, "/stand_in_drops/flows"),
        ..Owed::default()
    };
    let mut extra = Vec::new();
    for (k, &n) in &c {
        let before = w.get(k).copied().unwrap_or(0);
        if n > before {
            o.extra_tuples += 1;
            o.extra_packets += n - before;
            extra.push(format!("{k}: {before} -> {n}"));
        }
    }
    let records_with_drops = cut
        .flows
        .iter()
        .filter(|f| num(f, "/dropped_packets") > 0)
        .count() as u64;
    if o.owed_packets < o.extra_packets
        || o.owed_flows < o.extra_tuples
        || o.owed_packets > o.dropped
        || o.owed_flows > records_with_drops
    {
        return Err(format!(
            "{o:?} ({records_with_drops} records with drops); tuples the cut drops more of:\n  {}",
            extra.join("\n  ")
        ));
    }
    Ok(o)
}

/// Random pairs of the OKE example's addresses (and outside ones) on the
/// ports its rules name.
fn draw(pool: &[IpAddr]) -> impl FnMut(&mut ChaCha8Rng) -> Packet + '_ {
    const PORTS: [u16; 14] = [
        443, 6443, 8080, 10250, 10256, 12250, 2049, 2050, 111, 30080, 53, 22, 80, 5432,
    ];
    move |rng| {
        let a = pool[rng.random_range(0..pool.len())];
        let mut b = pool[rng.random_range(0..pool.len())];
        while b == a || b.is_ipv4() != a.is_ipv4() {
            b = pool[rng.random_range(0..pool.len())];
        }
        let dport = PORTS[rng.random_range(0..PORTS.len())];
        let sport = rng.random_range(32768..61000);
        match rng.random_range(0..10) {
            0..=5 => Packet::tcp(a, sport, b, dport),
            6..=8 => Packet::udp(a, sport, b, dport),
            _ => Packet::icmp(a, b, if a.is_ipv4() { 8 } else { 128 }, 0),
        }
    }
}

/// The whole OKE export and the export without `network-vnic-get-4.json`
/// (`orders-api-pod-1`, 10.0.10.11: a stand-in VNIC, its NSGs unknown),
/// imported into `dir` as whole.toml and cut.toml.
fn whole_and_cut(dir: &Path, cut: impl FnOnce(&mut Files)) {
    let services =
        std::fs::read_to_string(root().join("examples/oke-orders/oci-public-ip-ranges.json"))
            .unwrap();
    let mut files = oke_export();
    let whole = oci::import(&files, Some(&services)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("whole.toml"), &whole.toml).unwrap();
    cut(&mut files);
    let c = oci::import(&files, Some(&services)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("cut.toml"), &c.toml).unwrap();
}
