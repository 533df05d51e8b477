//! OCI VCN flow-log files made from a capture, as OCI would log its
//! packets: one record per (VNIC, direction, tuple, one-minute window,
//! action), at the source VNIC (egress) and, when the packet got past the
//! source side, at the destination VNIC (ingress).
//!
//! OCI's action comes from the packet engine: each packet is judged with
//! connection tracking (`dataplane::judge::Tracker`, the replay path). A
//! drop at `route` or `egress-security` is a REJECT at the source and no
//! record at the destination; a drop at `ingress-security` an ACCEPT at the
//! source and a REJECT at the destination; a ZPR drop is charged to the
//! side whose own check fails (`Compiled::judge_side`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Value, json};
use zprsim_control::compile::Compiled;
use zprsim_control::compile::side::Side;
use zprsim_control::model::{Scenario, proto};
use zprsim_control::packet::L4;
use zprsim_control::verdict::{Context, Stage, Verdict};
use zprsim_dataplane::capture::Capture;
use zprsim_dataplane::conntrack::shard_of;
use zprsim_dataplane::judge::{Counters, Tracker};
use zprsim_dataplane::parse::{Parsed, parse_frame};

/// One flow-log record before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenRecord {
    /// `oracle.vnicocid`.
    pub vnic: String,
    /// `oracle.vnicsubnetocid` (empty when the subnet has no id).
    pub subnet: String,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Protocol.
    pub proto: u8,
    /// Source port (0 without ports).
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// First second with data.
    pub start: u64,
    /// Last second with data.
    pub end: u64,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// `true`: ACCEPT.
    pub accept: bool,
}

type Key = (String, IpAddr, IpAddr, u8, u16, u16, u64, bool);

fn vnic_of(s: &Scenario, ip: IpAddr) -> Option<(String, String)> {
    s.vnics
        .iter()
        .find(|v| v.private_ips.contains(&ip))
        .and_then(|v| {
            let id = v.id.clone()?;
            let subnet = s.subnets[v.subnet.index()].id.clone().unwrap_or_default();
            Some((id, subnet))
        })
}

/// The records OCI would write for `capture` (bytes of a pcap or pcapng)
/// under scenario `s` (compiled as `c`): only VNICs with an `id` log.
#[must_use]
pub fn records_from_capture(s: &Scenario, c: &Compiled, capture: &[u8]) -> Vec<GenRecord> {
    let Ok(cap) = Capture::from_bytes(capture.to_vec()) else {
        return Vec::new();
    };
    let mut tracker = Tracker::new(1 << 16);
    let mut k = Counters::with_rules(c.rule_count());
    let mut agg: BTreeMap<Key, (GenRecord, u64)> = BTreeMap::new();
    let mut order = 0u64;
    for r in cap.records().flatten() {
        let Parsed::Ip(m) = parse_frame(r.linktype, r.data) else {
            continue;
        };
        let p = m.packet;
        let fast = tracker.judge(c, &p, shard_of(&p), r.ts_ns, m.tcp_flags, &mut k);
        let j = fast.judgement;
        let src_fails = |st: Stage| {
            matches!(st, Stage::Route | Stage::EgressSecurity)
                || (st == Stage::Zpr
                    && c.judge_side(&p, Context::First, Side::Source)
                        .judgement
                        .verdict
                        == Verdict::Drop)
        };
        let (src_ok, reaches_dst, dst_ok) = match j.stage {
            None => (true, true, true),
            Some(st) if src_fails(st) => (false, false, false),
            Some(_) => (true, true, false),
        };
        let sec = r.ts_ns / 1_000_000_000;
        let (sport, dport) = match p.l4 {
            L4::Ports { sport, dport } => (sport, dport),
            _ => (0, 0),
        };
        let mut add = |vnic: (String, String), accept: bool| {
            let key = (
                vnic.0.clone(),
                p.src,
                p.dst,
                p.proto,
                sport,
                dport,
                sec / 60,
                accept,
            );
            order += 1;
            let e = agg.entry(key).or_insert_with(|| {
                (
                    GenRecord {
                        vnic: vnic.0,
                        subnet: vnic.1,
                        src: p.src,
                        dst: p.dst,
                        proto: p.proto,
                        sport,
                        dport,
                        start: sec,
                        end: sec,
                        packets: 0,
                        bytes: 0,
                        accept,
                    },
                    order,
                )
            });
            e.0.end = sec;
            e.0.packets += 1;
            e.0.bytes += u64::from(r.orig_len);
        };
        let at_src = vnic_of(s, p.src);
        let at_dst = vnic_of(s, p.dst).filter(|_| reaches_dst);
        match (at_src, at_dst) {
            // A packet a VNIC sends itself is one packet: logged once,
            // with its outcome (it was logged at both ends, its packets
            // counted twice in one record).
            (Some(a), Some(b)) if a.0 == b.0 => add(a, dst_ok),
            (a, b) => {
                if let Some(v) = a {
                    add(v, src_ok);
                }
                if let Some(v) = b {
                    add(v, dst_ok);
                }
            }
        }
    }
    let mut out: Vec<(GenRecord, u64)> = agg.into_values().collect();
    out.sort_by_key(|(r, o)| (r.start, *o));
    out.into_iter().map(|(r, _)| r).collect()
}

fn proto_name(p: u8) -> &'static str {
    match p {
        proto::TCP => "TCP",
        proto::UDP => "UDP",
        proto::ICMP => "ICMP",
        proto::ICMPV6 => "IPv6-ICMP",
        _ => "OTHER",
    }
}

fn iso(secs: u64) -> String {
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A data record as OCI writes it, in the `{datetime, logContent}` envelope.
#[must_use]
pub fn entry(r: &GenRecord, n: u64) -> Value {
    let ports = proto::has_ports(r.proto);
    json!({
        "datetime": r.start * 1000,
        "logContent": {
            "data": {
                "action": if r.accept { "ACCEPT" } else { "REJECT" },
                "bytesOut": r.bytes,
                "destinationAddress": r.dst.to_string(),
                "destinationPort": if ports { json!(r.dport) } else { Value::Null },
                "endTime": r.end,
                "flowid": format!("{:08x}", n.wrapping_mul(2_654_435_761) & 0xffff_ffff),
                "packets": r.packets,
                "protocol": r.proto,
                "protocolName": proto_name(r.proto),
                "sourceAddress": r.src.to_string(),
                "sourcePort": if ports { json!(r.sport) } else { Value::Null },
                "startTime": r.start,
                "status": "OK",
                "version": "2"
            },
            "id": format!("00000000-0000-4000-8000-{n:012}"),
            "oracle": {
                "compartmentid": "ocid1.compartment.oc1..example",
                "ingestedtime": iso(r.end + 20),
                "loggroupid": "ocid1.loggroup.oc1.iad.example",
                "logid": "ocid1.log.oc1.iad.example",
                "tenantid": "ocid1.tenancy.oc1..example",
                "vniccompartmentocid": "ocid1.compartment.oc1..example",
                "vnicocid": r.vnic,
                "vnicsubnetocid": r.subnet
            },
            "source": "-",
            "specversion": "1.0",
            "time": iso(r.start),
            "type": "com.oraclecloud.vcn.flowlogs.DataEvent"
        }
    })
}

/// A NODATA or SKIPDATA record for `vnic` over the minute starting at `start`.
#[must_use]
pub fn quality_entry(vnic: &str, start: u64, skip: bool) -> Value {
    json!({
        "datetime": start * 1000,
        "logContent": {
            "data": {
                "action": null, "bytesOut": null, "destinationAddress": null,
                "destinationPort": null, "endTime": start + 59, "flowid": null,
                "packets": null, "protocol": null, "protocolName": null,
                "sourceAddress": null, "sourcePort": null, "startTime": start,
                "status": if skip { "SKIPDATA" } else { "NODATA" }, "version": "2"
            },
            "id": format!("00000000-0000-4000-9000-{start:012}"),
            "oracle": { "vnicocid": vnic, "vnicsubnetocid": null },
            "source": null,
            "specversion": "1.0",
            "time": iso(start),
            "type": if skip {
                "com.oraclecloud.vcn.flowlogs.QualityEvent.SkipData"
            } else {
                "com.oraclecloud.vcn.flowlogs.QualityEvent.NoData"
            }
        }
    })
}

/// Entries as JSON lines.
#[must_use]
pub fn json_lines(entries: &[Value]) -> String {
    let mut s = String::new();
    for e in entries {
        s.push_str(&e.to_string());
        s.push('\n');
    }
    s
}

/// The OKE demo's flow logs: the records of `pcaps/oke-demo.pcap`, plus what
/// a real log holds besides: a NODATA and a SKIPDATA record, a record of a
/// VNIC the scenario does not know, and two records where OCI did
/// something else than the scenario says (known disagreements: the live
/// network had a rule the scenario lacks, and a rule the scenario has).
#[must_use]
pub fn oke_demo(s: &Scenario, c: &Compiled, capture: &[u8]) -> Vec<Value> {
    let recs = records_from_capture(s, c, capture);
    let t0 = recs.first().map_or(1_700_000_000, |r| r.start);
    let mut out: Vec<Value> = Vec::new();
    out.push(quality_entry(
        "ocid1.vnic.oc1.iad.okeordersworker2",
        t0 - 120,
        false,
    ));
    for (n, r) in recs.iter().enumerate() {
        out.push(entry(r, n as u64));
    }
    let n = recs.len() as u64;
    let api = "ocid1.vnic.oc1.iad.okeordersk8sapiendpoint";
    out.push(quality_entry(api, t0 + 60, true));
    // A VNIC outside the scenario (another team's instance).
    let unknown = GenRecord {
        vnic: "ocid1.vnic.oc1.iad.notinthescenario".into(),
        subnet: String::new(),
        src: "10.0.99.5".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        dst: "10.0.2.11".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        proto: proto::TCP,
        sport: 49000,
        dport: 22,
        start: t0 + 5,
        end: t0 + 6,
        packets: 3,
        bytes: 180,
        accept: true,
    };
    out.push(entry(&unknown, n));
    // Known disagreements. The live network let a node ping the API
    // endpoint (the scenario's nodes-nsg has no ICMP rule: zprsim drops)...
    let ping = GenRecord {
        vnic: "ocid1.vnic.oc1.iad.okeordersworker1".into(),
        subnet: String::new(),
        src: "10.0.2.11".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        dst: "10.0.0.5".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        proto: proto::ICMP,
        sport: 0,
        dport: 0,
        start: t0 + 40,
        end: t0 + 42,
        packets: 3,
        bytes: 252,
        accept: true,
    };
    out.push(entry(&ping, n + 1));
    // ... and rejected the load balancer's health check to a pod, which the
    // scenario allows.
    let health = GenRecord {
        vnic: "ocid1.vnic.oc1.iad.okeordersordersapipod1".into(),
        subnet: String::new(),
        src: "10.0.1.10".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        dst: "10.0.10.11".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        proto: proto::TCP,
        sport: 41999,
        dport: 8080,
        start: t0 + 45,
        end: t0 + 45,
        packets: 2,
        bytes: 120,
        accept: false,
    };
    out.push(entry(&health, n + 2));
    out
}
