//! Audited flows of captures, some starting inside a connection.

use std::path::Path;

use serde_json::Value;

use crate::support::{AUDITED_WEB, AUDITED_WEB_DUAL, json_of, root, run_in};

/// A capture of `n` SYNs from the legacy VM to billing's port 8080 (each
/// its own flow; billing is audited in the rollout example), one a ms.
fn legacy_to_billing_syns(n: u16) -> Vec<u8> {
    use crate::replay_oracle::{Pkt, frame};
    use zprsim_control::packet::Packet;
    use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};
    let mut w = PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).unwrap();
    for i in 0..n {
        let k = Pkt {
            p: Packet::tcp(
                "10.0.20.10".parse().unwrap(),
                20_000 + i,
                "10.0.10.21".parse().unwrap(),
                8080,
            ),
            flags: 0x02,
            ts: 1_709_283_600_000_000_000 + u64::from(i) * 1_000_000,
        };
        let f = frame(&k);
        let len = u32::try_from(f.len()).unwrap();
        w.write(k.ts, 1, len, &f).unwrap();
    }
    w.finish().unwrap()
}

/// Past the bound of audited flows kept (a flood of them; the bound is
/// `--max-connections`'s flow bound per shard), the summary said "flows
/// ZPR audit mode would deny (256)" for 600 such flows, as if complete,
/// and the report had no count of what was left out: its statements keep
/// only the kept flows open, and the rest would break once enforced. The
/// report now counts the left-out packets in `untracked_records` (as the
/// flow-log report did) and the summary says the count is a lower bound.
///
/// Found by the thirteenth session's review (branch s15-qa).
#[test]
fn an_audit_flow_list_past_its_bound_says_it_is_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("syn.pcap"), legacy_to_billing_syns(600)).unwrap();
    let rollout = root().join("examples/oke-orders/rollout.toml");
    let out = run_in(
        d,
        [
            "replay",
            rollout.to_str().unwrap(),
            "syn.pcap",
            "--max-connections",
            "256",
            "--report",
            "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let r: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
    let a = &r["zpr_audit_flows"];
    let total = a["total"].as_u64().unwrap();
    let untracked = a["untracked_records"].as_u64().unwrap_or(0);
    assert!(total < 600, "{a:#}");
    // Every audited packet is in a listed flow or counted as left out.
    assert_eq!(total + untracked, 600, "{a:#}");
    assert_eq!(r["zpr_audit_would_drop"], 600);
    assert!(
        text.contains(&format!(
            "flows ZPR audit mode would deny (at least {total}: {untracked} record(s)"
        )),
        "{text}"
    );
}

/// `AUDITED_WEB` and a capture that starts inside a connection (the
/// server's data, then the client's ACK, three times; no SYN), then a new
/// connection's SYN, SYN-ACK and ACK, written in `d` (`s.toml`, `c.pcap`).
fn mid_flow_capture(d: &Path) {
    use crate::replay_oracle::{Pkt, frame};
    use zprsim_control::packet::Packet;
    use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};
    std::fs::write(d.join("s.toml"), AUDITED_WEB).unwrap();
    let (web, client) = ("10.1.1.10".parse().unwrap(), "10.1.1.20".parse().unwrap());
    // (from web, client port, flags)
    let mut pkts = Vec::new();
    for _ in 0..3 {
        pkts.push((true, 51_000, 0x18));
        pkts.push((false, 51_000, 0x10));
    }
    pkts.extend([
        (false, 51_001, 0x02),
        (true, 51_001, 0x12),
        (false, 51_001, 0x10),
    ]);
    let mut w = PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).unwrap();
    for (i, &(from_web, port, flags)) in pkts.iter().enumerate() {
        let p = if from_web {
            Packet::tcp(web, 443, client, port)
        } else {
            Packet::tcp(client, port, web, 443)
        };
        let k = Pkt {
            p,
            flags,
            ts: 1_709_283_600_000_000_000 + i as u64 * 1_000_000,
        };
        let f = frame(&k);
        w.write(k.ts, 1, u32::try_from(f.len()).unwrap(), &f)
            .unwrap();
    }
    std::fs::write(d.join("c.pcap"), w.finish().unwrap()).unwrap();
}

/// A capture that starts inside a connection (a long-lived one: the
/// server's data first, then the client's ACK, no SYN) got, for the rollout,
/// "allow app.role:web endpoints to connect to '10.1.1.20/32' with
/// protocol='tcp/51000'": the server's answer to the client's port.
/// Applied and enforced, it opens that reverse path and the client's
/// connections to the server's port 443 close. Such a flow is now marked
/// `mid_flow` and gets no statement; a flow whose SYN is in the capture
/// still gets its own.
///
/// Found by the thirteenth session's review (branch s15-qa).
#[test]
fn a_capture_starting_inside_a_connection_proposes_no_reverse_statement() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mid_flow_capture(d);
    let out = run_in(d, ["replay", "s.toml", "c.pcap", "--report", "r.json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
    let listed = r["zpr_audit_flows"]["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:#?}");
    for f in listed {
        let hint = f["to_keep_open"].as_str().unwrap_or_default();
        assert!(!hint.contains("tcp/5100"), "a reverse statement: {f:#}");
        if f["sport"] == 51_001 {
            assert!(hint.contains("protocol='tcp/443'"), "{f:#}");
        } else {
            assert_eq!(f["mid_flow"], true, "{f:#}");
            assert!(f["to_keep_open"].is_null(), "{f:#}");
        }
    }
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("the capture starts inside it (no SYN)"),
        "{text}"
    );
}

/// [`a_capture_starting_inside_a_connection_proposes_no_reverse_statement`]
/// with the capture cut by `tcpdump -s 40` (Ethernet, IPv4 and the ports:
/// no TCP flags): the server's data, its ACK cut off, read as the opener
/// of its connection, and `replay` proposed the reverse statement again
/// ("allow app.role:web endpoints to connect to '10.1.1.20/32' with
/// protocol='tcp/51000'"). A TCP packet whose flags were not captured
/// tells nothing of which end opened its connection: no statement is
/// proposed for its flow (`mid_flow`), and the run says the flags were
/// cut (`tcp-header-cut`); `explain --capture` likewise.
///
/// Found by the twenty-sixth session's QA (branch s26-tests).
#[test]
fn a_capture_cut_before_the_tcp_flags_proposes_no_reverse_statement() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mid_flow_capture(d);
    let (cut, flagless) =
        crate::capture_formats::snapped(&std::fs::read(d.join("c.pcap")).unwrap(), 40);
    assert_eq!(flagless, 9);
    std::fs::write(d.join("c.pcap"), cut).unwrap();
    let out = run_in(d, ["replay", "s.toml", "c.pcap", "--report", "r.json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
    assert!(
        r["run_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "tcp-header-cut"),
        "{r:#}"
    );
    let listed = r["zpr_audit_flows"]["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:#?}");
    for f in listed {
        let hint = f["to_keep_open"].as_str().unwrap_or_default();
        assert!(!hint.contains("tcp/5100"), "a reverse statement: {f:#}");
        assert_eq!(f["mid_flow"], true, "{f:#}");
    }
    let enforced = AUDITED_WEB.replace("mode = \"audit\"", "mode = \"enforce\"");
    std::fs::write(d.join("s.toml"), enforced).unwrap();
    let out = run_in(
        d,
        [
            "explain",
            "s.toml",
            "--capture",
            "c.pcap",
            "--packet",
            "1",
            "--json",
        ],
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{out:?}"));
    let hints = j["to_open"].to_string();
    assert!(!hints.contains("tcp/5100"), "a reverse statement: {j:#}");
    let out = run_in(
        d,
        ["explain", "s.toml", "--capture", "c.pcap", "--packet", "1"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("a TCP packet whose flags the capture cut off")
            && !text.contains("with ACK set"),
        "{text}"
    );
}

/// The summary of the capture of
/// [`a_capture_cut_before_the_tcp_flags_proposes_no_reverse_statement`]
/// said "the capture starts inside it (no SYN)" of both flows, the one
/// whose SYN the capture holds (its flags cut off) too. It now says the
/// capture cut the first packet's TCP flags off, and the report marks such
/// a flow `flags_cut` beside `mid_flow`; neither gets a statement. The
/// uncut capture still says "no SYN" of the flow it starts inside, and
/// `flags_cut` is absent.
///
/// Planning item 4 of the twenty-eighth session (branch s28-polish).
#[test]
fn an_audited_flow_whose_flags_were_cut_is_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mid_flow_capture(d);
    let whole = std::fs::read(d.join("c.pcap")).unwrap();
    let (cut, _) = crate::capture_formats::snapped(&whole, 40);
    let flags_cut = "open today; the capture cut its first packet's TCP flags off (its snapshot length ends inside the TCP header), so whether that packet opened it is not known and no statement is proposed";
    let no_syn = "the capture starts inside it (no SYN)";
    // (capture, flows marked flags_cut, flows said to have no SYN)
    for (bytes, cut_flows, no_syn_flows) in [(cut, 2, 0), (whole, 0, 1)] {
        std::fs::write(d.join("c.pcap"), bytes).unwrap();
        let out = run_in(d, ["replay", "s.toml", "c.pcap", "--report", "r.json"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.matches(flags_cut).count(), cut_flows, "{text}");
        assert_eq!(text.matches(no_syn).count(), no_syn_flows, "{text}");
        let r: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
        let listed = r["zpr_audit_flows"]["listed"].as_array().unwrap();
        let marked = listed.iter().filter(|f| f["flags_cut"] == true).count();
        assert_eq!(marked, cut_flows, "{listed:#?}");
        for f in listed.iter().filter(|f| f["flags_cut"] == true) {
            assert_eq!(f["mid_flow"], true, "{f:#}");
            assert!(f["to_keep_open"].is_null(), "{f:#}");
        }
        assert!(
            listed
                .iter()
                .all(|f| f.get("flags_cut").is_none() || f["flags_cut"] == true),
            "{listed:#?}"
        );
    }
}

/// `explain --capture` on a packet of a connection the capture starts
/// inside (its first packet: the server's data to the client's port, with
/// billing enforced) proposed the same reverse statement as `replay`. It
/// now says the capture starts inside the connection and proposes nothing;
/// the SYN of a connection in the capture keeps its hint.
///
/// Found by the thirteenth session's review (branch s15-qa).
#[test]
fn explain_capture_of_a_mid_flow_packet_proposes_no_reverse_statement() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    mid_flow_capture(d);
    let enforced = AUDITED_WEB.replace("mode = \"audit\"", "mode = \"enforce\"");
    std::fs::write(d.join("s.toml"), enforced).unwrap();
    let explain = |n: &str| {
        let out = run_in(
            d,
            [
                "explain",
                "s.toml",
                "--capture",
                "c.pcap",
                "--packet",
                n,
                "--json",
            ],
        );
        json_of(&out)
    };
    let mid = explain("1");
    assert_eq!(mid["verdict"], "drop", "{mid:#}");
    assert!(mid["to_open"].is_null(), "{mid:#}");
    assert!(
        mid["context"]
            .as_str()
            .unwrap()
            .contains("the capture starts inside its connection"),
        "{mid:#}"
    );
    let syn = explain("7");
    assert_eq!(syn["verdict"], "drop", "{syn:#}");
    let hint = syn["to_open"][0].as_str().unwrap();
    assert!(hint.contains("protocol='tcp/443'"), "{hint}");
}

/// QA round eight, for planning (fixed by the lead): `zpr_audit_flows`'s
/// `statements` were worked out for the 100 listed flows only (most
/// packets first). A capture whose 110 busiest audited flows go from the
/// legacy VM to billing on 8080 and whose 3 quieter ones from a worker
/// node to billing on 9090 proposed the 8080 statement alone: applied and
/// enforced, the worker's flows broke. The statements now cover every
/// flow, listed or not (up to `MAX_STATEMENT_FLOWS`).
///
/// Found by the thirteenth session's review (branch s15-qa).
#[test]
fn the_audit_statements_cover_the_flows_past_the_listed_ones() {
    use crate::replay_oracle::{Pkt, frame};
    use zprsim_control::packet::Packet;
    use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};
    let mut w = PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).unwrap();
    let mut ts = 1_709_283_600_000_000_000u64;
    let mut flow = |src: &str, sport: u16, dport: u16, packets: u32| {
        for _ in 0..packets {
            let k = Pkt {
                p: Packet::tcp(
                    src.parse().unwrap(),
                    sport,
                    "10.0.10.21".parse().unwrap(),
                    dport,
                ),
                flags: 0x02,
                ts,
            };
            ts += 1_000_000;
            let f = frame(&k);
            w.write(k.ts, 1, u32::try_from(f.len()).unwrap(), &f)
                .unwrap();
        }
    };
    for i in 0..110 {
        flow("10.0.20.10", 20_000 + i, 8080, 2);
    }
    for i in 0..3 {
        flow("10.0.20.11", 30_000 + i, 8080, 1);
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("syn.pcap"), w.finish().unwrap()).unwrap();
    let rollout = root().join("examples/oke-orders/rollout.toml");
    let out = run_in(
        d,
        [
            "replay",
            rollout.to_str().unwrap(),
            "syn.pcap",
            "--report",
            "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
    let a = &r["zpr_audit_flows"];
    assert_eq!(a["total"], 113, "{a:#}");
    // The other host's flows are not listed ...
    assert!(
        a["listed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["src"] == "10.0.20.10"),
        "{a:#}"
    );
    // ... and have their statement.
    let statements: Vec<(&str, u64)> = a["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["to_keep_open"].as_str().unwrap(),
                k["flows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(statements.len(), 2, "{statements:?}");
    assert_eq!(statements[0].1, 110, "{statements:?}");
    assert!(
        statements[0].0.contains("allow '10.0.20.10/32'"),
        "{statements:?}"
    );
    assert_eq!(statements[1].1, 3, "{statements:?}");
    assert!(
        statements[1].0.contains("allow '10.0.20.11/32'"),
        "{statements:?}"
    );
    assert!(a.get("statements_unchecked").is_none(), "{a:#}");
}

/// A capture of pings from the client to the web server that starts
/// with the server's echo reply (the request before the capture), over
/// IPv4 then IPv6, three exchanges each; written in `d` (`s.toml`,
/// `c.pcap`).
fn reply_first_pings(d: &Path) {
    use crate::replay_oracle::{Pkt, frame};
    use zprsim_control::packet::Packet;
    use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};
    std::fs::write(d.join("s.toml"), AUDITED_WEB_DUAL).unwrap();
    let mut w = PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).unwrap();
    let mut ts = 1_709_283_600_000_000_000u64;
    for (web, client, request, reply) in [
        ("10.1.1.10", "10.1.1.20", 8, 0),
        ("fd00:1:0:1::10", "fd00:1:0:1::20", 128, 129),
    ] {
        let (web, client) = (web.parse().unwrap(), client.parse().unwrap());
        for _ in 0..3 {
            for p in [
                Packet::icmp(web, client, reply, 0),
                Packet::icmp(client, web, request, 0),
            ] {
                ts += 1_000_000;
                let f = frame(&Pkt { p, flags: 0, ts });
                w.write(ts, 1, u32::try_from(f.len()).unwrap(), &f).unwrap();
            }
        }
    }
    std::fs::write(d.join("c.pcap"), w.finish().unwrap()).unwrap();
}

/// A capture that starts inside a ping (the server's echo reply first,
/// its request before the capture) got, for the rollout, "allow
/// app.role:web endpoints to connect to '10.1.1.20/32' with
/// protocol='icmp', protocol.icmp.type='0'": the server's answer to the
/// client. Applied and enforced, it opens that reverse path and the
/// client's pings close. Last session marked only a TCP packet with ACK
/// set `mid_flow`; an ICMP or ICMPv6 reply first is now marked too, gets
/// no statement, and `explain --capture` proposes nothing for it.
///
/// Found by the fourteenth session's review (branch s16-qa).
#[test]
fn a_capture_starting_with_an_icmp_reply_proposes_no_reverse_statement() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    reply_first_pings(d);
    let out = run_in(d, ["replay", "s.toml", "c.pcap", "--report", "r.json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
    let audit = &r["zpr_audit_flows"];
    let listed = audit["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{audit:#}");
    for f in listed {
        assert_eq!(f["mid_flow"], true, "{f:#}");
        assert!(f["to_keep_open"].is_null(), "{f:#}");
    }
    assert!(
        audit["statements"]
            .as_array()
            .is_none_or(|s| s.iter().all(|s| !s.to_string().contains("to connect to '"))),
        "a reverse statement: {audit:#}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("the capture starts inside it (a reply, no request)"),
        "{text}"
    );
    // explain --capture, the web server enforced: packet 1 (IPv4) and 7
    // (IPv6) are replies first, and nothing is proposed for them.
    let enforced = AUDITED_WEB_DUAL.replace("mode = \"audit\"", "mode = \"enforce\"");
    std::fs::write(d.join("s.toml"), enforced).unwrap();
    for n in ["1", "7"] {
        let out = run_in(
            d,
            [
                "explain",
                "s.toml",
                "--capture",
                "c.pcap",
                "--packet",
                n,
                "--json",
            ],
        );
        assert!(out.status.success(), "{out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["verdict"], "drop", "{v:#}");
        assert!(v["to_open"].is_null(), "{v:#}");
        assert!(
            v["context"]
                .as_str()
                .unwrap()
                .contains("the capture starts inside its exchange"),
            "{v:#}"
        );
    }
}

/// A capture that starts with a DNS server's answer (server:53 ->
/// client:40000, the query before the capture) proposed the reverse
/// statement, `udp/40000` to the client (QA round nine, for planning).
/// A UDP datagram whose ports say it comes from the server's port
/// (`server_port`, the flow logs' tie-break) is now `mid_flow` and gets
/// no statement.
///
/// Found by the fourteenth session's review (branch s16-qa).
#[test]
fn a_capture_starting_with_a_udp_answer_proposes_no_reverse_statement() {
    use crate::replay_oracle::{Pkt, frame};
    use zprsim_control::packet::Packet;
    use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), AUDITED_WEB_DUAL).unwrap();
    let mut w = PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).unwrap();
    let mut ts = 1_709_283_600_000_000_000u64;
    let (web, client) = ("10.1.1.10".parse().unwrap(), "10.1.1.20".parse().unwrap());
    for _ in 0..3 {
        for p in [
            Packet::udp(web, 53, client, 40000),
            Packet::udp(client, 40000, web, 53),
        ] {
            ts += 1_000_000;
            let f = frame(&Pkt { p, flags: 0, ts });
            w.write(ts, 1, u32::try_from(f.len()).unwrap(), &f).unwrap();
        }
    }
    std::fs::write(d.join("c.pcap"), w.finish().unwrap()).unwrap();
    let out = run_in(d, ["replay", "s.toml", "c.pcap", "--report", "r.json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
    let audit = &r["zpr_audit_flows"];
    let listed = audit["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{audit:#}");
    assert_eq!(listed[0]["mid_flow"], true, "{audit:#}");
    assert!(listed[0]["to_keep_open"].is_null(), "{audit:#}");
    assert!(
        !audit.to_string().contains("udp/40000"),
        "a reverse statement: {audit:#}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "the capture starts inside it (a datagram from the server's port, no request)"
        ),
        "{text}"
    );
}
