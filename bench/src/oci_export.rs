//! A scenario written as the OCI CLI would print its objects (the file
//! names of `examples/export-oci.sh`, `{"data": ...}` envelopes, kebab-case
//! keys), for `zprsim import oci` fixtures and round-trip tests. Objects
//! without an `id` get a made-up OCID from their kind and index.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use zprsim_control::model::{
    Direction, GatewayKind, Mode, Peer, Protocol, PublicIp, RouteDestination, RouteTarget,
    RuleOptions, Scenario, SecurityAttribute, SecurityRule,
};

fn ocid(kind: &str, given: Option<&String>, i: usize) -> String {
    given
        .cloned()
        .unwrap_or_else(|| format!("ocid1.{kind}.oc1.iad.gen{i:06}"))
}

fn attrs(a: &[SecurityAttribute]) -> Value {
    let mut m: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for x in a {
        let mode = match x.mode {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
        };
        m.entry(x.attribute.namespace.clone()).or_default().insert(
            x.attribute.key.clone(),
            json!({ "value": x.attribute.value, "mode": mode }),
        );
    }
    json!(m)
}

struct Ids {
    vcn: Vec<String>,
    subnet: Vec<String>,
    vnic: Vec<String>,
    nsg: Vec<String>,
    list: Vec<String>,
    table: Vec<String>,
    gateway: Vec<String>,
}

fn range(r: Option<zprsim_control::model::PortRange>) -> Value {
    r.map_or(Value::Null, |r| json!({ "min": r.min, "max": r.max }))
}

fn rule(s: &Scenario, ids: &Ids, r: &SecurityRule, with_direction: bool) -> Value {
    let (peer, kind) = match &r.peer {
        Peer::Cidr(c) => (c.to_string(), "CIDR_BLOCK"),
        Peer::Service(l) => (s.services[l.index()].name.clone(), "SERVICE_CIDR_BLOCK"),
        Peer::Nsg(n) => (ids.nsg[n.index()].clone(), "NETWORK_SECURITY_GROUP"),
    };
    let protocol = match r.protocol {
        Protocol::All => "all".to_owned(),
        Protocol::Number(n) => n.to_string(),
    };
    let mut m = Map::new();
    m.insert("description".into(), json!(r.description));
    m.insert("is-stateless".into(), json!(r.stateless));
    m.insert("protocol".into(), json!(protocol));
    let (pk, tk) = match r.direction {
        Direction::Ingress => ("source", "source-type"),
        Direction::Egress => ("destination", "destination-type"),
    };
    m.insert(pk.into(), json!(peer));
    m.insert(tk.into(), json!(kind));
    let (tcp, udp, icmp) = match (r.protocol, r.options) {
        (Protocol::Number(p), RuleOptions::Ports { src, dst }) => {
            let o =
                json!({ "destination-port-range": range(dst), "source-port-range": range(src) });
            if p == 6 {
                (o, Value::Null, Value::Null)
            } else {
                (Value::Null, o, Value::Null)
            }
        }
        (_, RuleOptions::Icmp { icmp_type, code }) => (
            Value::Null,
            Value::Null,
            json!({ "type": icmp_type, "code": code }),
        ),
        _ => (Value::Null, Value::Null, Value::Null),
    };
    m.insert("tcp-options".into(), tcp);
    m.insert("udp-options".into(), udp);
    m.insert("icmp-options".into(), icmp);
    if with_direction {
        m.insert("direction".into(), json!(r.direction.as_str()));
        m.insert("id".into(), json!("04ABEC"));
        m.insert("is-valid".into(), json!(true));
    }
    Value::Object(m)
}

fn data(v: Value) -> String {
    serde_json::to_string_pretty(&json!({ "data": v })).unwrap_or_default() + "\n"
}

/// The CLI files of `s` (file name to text) and the `--services` file (a
/// label-to-CIDRs object).
#[must_use]
pub fn export(s: &Scenario) -> (BTreeMap<String, String>, String) {
    let ids = Ids {
        vcn: s
            .vcns
            .iter()
            .enumerate()
            .map(|(i, x)| ocid("vcn", x.id.as_ref(), i))
            .collect(),
        subnet: s
            .subnets
            .iter()
            .enumerate()
            .map(|(i, x)| ocid("subnet", x.id.as_ref(), i))
            .collect(),
        vnic: s
            .vnics
            .iter()
            .enumerate()
            .map(|(i, x)| ocid("vnic", x.id.as_ref(), i))
            .collect(),
        nsg: s
            .nsgs
            .iter()
            .enumerate()
            .map(|(i, x)| ocid("networksecuritygroup", x.id.as_ref(), i))
            .collect(),
        list: s
            .security_lists
            .iter()
            .enumerate()
            .map(|(i, x)| ocid("securitylist", x.id.as_ref(), i))
            .collect(),
        table: s
            .route_tables
            .iter()
            .enumerate()
            .map(|(i, x)| ocid("routetable", x.id.as_ref(), i))
            .collect(),
        gateway: s
            .gateways
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let kind = match g.kind {
                    GatewayKind::Internet => "internetgateway",
                    GatewayKind::Nat => "natgateway",
                    GatewayKind::Service => "servicegateway",
                    GatewayKind::Lpg => "localpeeringgateway",
                    GatewayKind::Drg => "drgattachment",
                };
                ocid(kind, g.id.as_ref(), i)
            })
            .collect(),
    };
    let mut files = BTreeMap::new();
    let vcns: Vec<Value> = s
        .vcns
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (v4, v6): (Vec<&ipnet::IpNet>, Vec<&ipnet::IpNet>) = v
                .cidr_blocks
                .iter()
                .partition(|c| matches!(c, ipnet::IpNet::V4(_)));
            // OCI lists a VCN's ULA and private IPv6 prefixes apart from its
            // global ones (Oracle's or BYOIPv6; written as Oracle's here).
            let (private_v6, global_v6): (Vec<&ipnet::IpNet>, Vec<&ipnet::IpNet>) =
                v6.into_iter().partition(|c| {
                    v.ipv6_private_cidr_blocks.contains(c)
                        || matches!(c, ipnet::IpNet::V6(n) if n.addr().segments()[0] & 0xfe00 == 0xfc00)
                });
            let sa = v.attribute.as_ref().map_or(json!({}), |a| {
                attrs(&[SecurityAttribute {
                    attribute: a.clone(),
                    mode: Mode::Enforce,
                }])
            });
            json!({
                "cidr-blocks": v4.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "ipv6-cidr-blocks": global_v6.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "ipv6-private-cidr-blocks": private_v6.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "compartment-id": "ocid1.compartment.oc1..gen",
                "default-route-table-id": null,
                "display-name": v.name,
                "id": ids.vcn[i],
                "is-zpr-only": v.is_zpr_only,
                "lifecycle-state": "AVAILABLE",
                "security-attributes": sa,
            })
        })
        .collect();
    files.insert("network-vcn-list.json".into(), data(json!(vcns)));
    let subnets: Vec<Value> = s
        .subnets
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let (v4, v6): (Vec<&ipnet::IpNet>, Vec<&ipnet::IpNet>) = x.cidrs.iter().partition(|c| matches!(c, ipnet::IpNet::V4(_)));
            let (first, rest) = match (v4.first(), v6.split_first()) {
                (Some(f), _) => (Some(f.to_string()), v6.iter().map(ToString::to_string).collect::<Vec<_>>()),
                (None, Some((f, r))) => (Some(f.to_string()), r.iter().map(ToString::to_string).collect()),
                (None, None) => (None, Vec::new()),
            };
            json!({
                "cidr-block": first,
                "ipv6-cidr-blocks": rest,
                "display-name": x.name,
                "id": ids.subnet[i],
                "vcn-id": ids.vcn[x.vcn.index()],
                "route-table-id": x.route_table.map(|t| ids.table[t.index()].clone()),
                "security-list-ids": x.security_lists.iter().map(|l| ids.list[l.index()].clone()).collect::<Vec<_>>(),
                "prohibit-public-ip-on-vnic": x.prohibit_public_ip,
                "prohibit-internet-ingress": x.prohibit_internet_ingress,
            })
        })
        .collect();
    files.insert("network-subnet-list.json".into(), data(json!(subnets)));
    let mut private_ips = Vec::new();
    // VNIC attachments (`oci compute vnic-attachment list`): an instance's
    // VNICs, a node's and its pods' (VCN-native pod networking attaches a
    // pod's VNIC to its node's instance: the VCN's first node here), not
    // those of a load balancer, mount target or API endpoint, which OCI
    // attaches to no instance of the compartment.
    let instance = |i: usize| format!("ocid1.instance.oc1.iad.gen{i:06}");
    let mut attachments = Vec::new();
    for (i, v) in s.vnics.iter().enumerate() {
        let vcn = s.subnets[v.subnet.index()].vcn;
        let host = match v.kind.as_str() {
            "instance" | "node" => Some(i),
            "pod" => Some(
                s.vnics
                    .iter()
                    .position(|n| n.kind == "node" && s.subnets[n.subnet.index()].vcn == vcn)
                    .unwrap_or(i),
            ),
            _ => None,
        };
        if let Some(h) = host {
            // The instance's VNICs are numbered in attachment order.
            let nic_index = attachments
                .iter()
                .filter(|a: &&Value| a["instance-id"] == json!(instance(h)))
                .count();
            attachments.push(json!({
                "compartment-id": "ocid1.compartment.oc1..gen",
                "display-name": null,
                "id": format!("ocid1.vnicattachment.oc1.iad.gen{i:06}"),
                "instance-id": instance(h),
                "lifecycle-state": "ATTACHED",
                "nic-index": nic_index,
                "subnet-id": ids.subnet[v.subnet.index()],
                "vlan-id": null,
                "vnic-id": ids.vnic[i],
            }));
        }
    }
    files.insert(
        "compute-vnic-attachment-list.json".into(),
        data(json!(attachments)),
    );
    for (i, v) in s.vnics.iter().enumerate() {
        let is_v4 = |ip: &&std::net::IpAddr| ip.is_ipv4();
        let primary = v.private_ips.iter().find(is_v4);
        let v6: Vec<String> = v
            .private_ips
            .iter()
            .filter(|ip| ip.is_ipv6())
            .map(ToString::to_string)
            .collect();
        let mut vnic = json!({
            "display-name": v.name,
            "id": ids.vnic[i],
            "subnet-id": ids.subnet[v.subnet.index()],
            "private-ip": primary.map(ToString::to_string),
            "ipv6-addresses": v6,
            "nsg-ids": v.nsgs.iter().map(|n| ids.nsg[n.index()].clone()).collect::<Vec<_>>(),
            "security-attributes": attrs(&v.attributes),
            "route-table-id": v.route_table.map(|t| ids.table[t.index()].clone()),
            "is-primary": true,
            "lifecycle-state": "AVAILABLE",
        });
        // Written when the scenario says it (`false` blackholes a route to
        // the VNIC's private IPs); unset stays unset.
        if let Some(skip) = v.skip_source_dest_check {
            vnic["skip-source-dest-check"] = json!(skip);
        }
        // OCI writes `public-ip` null for none; a VNIC whose scenario does
        // not say gets no key (the import then does not say either). One
        // that has an address not given gets one from 203.0.113.0/24
        // (documentation addresses), by position.
        match v.public_ip {
            PublicIp::Unknown => {}
            PublicIp::Absent => vnic["public-ip"] = Value::Null,
            PublicIp::Present(Some(a)) => vnic["public-ip"] = json!(a.to_string()),
            PublicIp::Present(None) => {
                vnic["public-ip"] = json!(format!("203.0.113.{}", 1 + i % 254));
            }
        }
        files.insert(format!("network-vnic-get-{i}.json"), data(vnic));
        for (j, ip) in v.private_ips.iter().filter(|ip| ip.is_ipv4()).enumerate() {
            private_ips.push(json!({
                "id": format!("ocid1.privateip.oc1.iad.gen{i:04}x{j:03}"),
                "ip-address": ip.to_string(),
                "vnic-id": ids.vnic[i],
                "subnet-id": ids.subnet[v.subnet.index()],
                "is-primary": j == 0,
            }));
        }
    }
    let pip_of = |ip: std::net::IpAddr| -> String {
        private_ips
            .iter()
            .find(|p| p["ip-address"] == json!(ip.to_string()))
            .and_then(|p| p["id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| ip.to_string())
    };
    let tables: Vec<Value> = s
        .route_tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let rules: Vec<Value> = t
                .rules
                .iter()
                .map(|r| {
                    let (dest, ty) = match &r.destination {
                        RouteDestination::Cidr(c) => (c.to_string(), "CIDR_BLOCK"),
                        RouteDestination::Service(l) => (s.services[l.index()].name.clone(), "SERVICE_CIDR_BLOCK"),
                    };
                    let target = match &r.target {
                        RouteTarget::Gateway(g) => {
                            let gw = &s.gateways[g.index()];
                            if gw.kind == GatewayKind::Drg {
                                format!("ocid1.drg.oc1.iad.for{}", ids.gateway[g.index()].rsplit('.').next().unwrap_or_default())
                            } else {
                                ids.gateway[g.index()].clone()
                            }
                        }
                        RouteTarget::PrivateIp { ip, .. } => pip_of(*ip),
                    };
                    json!({ "destination": dest, "destination-type": ty, "network-entity-id": target, "description": r.description, "route-type": "STATIC" })
                })
                .collect();
            json!({ "display-name": t.name, "id": ids.table[i], "vcn-id": ids.vcn[t.vcn.index()], "route-rules": rules })
        })
        .collect();
    files.insert(
        "network-private-ip-list.json".into(),
        data(json!(private_ips)),
    );
    files.insert("network-route-table-list.json".into(), data(json!(tables)));
    let lists: Vec<Value> = s
        .security_lists
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({
                "display-name": l.name, "id": ids.list[i], "vcn-id": ids.vcn[l.vcn.index()],
                "ingress-security-rules": l.ingress.iter().map(|r| rule(s, &ids, r, false)).collect::<Vec<_>>(),
                "egress-security-rules": l.egress.iter().map(|r| rule(s, &ids, r, false)).collect::<Vec<_>>(),
            })
        })
        .collect();
    files.insert("network-security-list-list.json".into(), data(json!(lists)));
    let nsgs: Vec<Value> = s
        .nsgs
        .iter()
        .enumerate()
        .map(|(i, n)| json!({ "display-name": n.name, "id": ids.nsg[i], "vcn-id": ids.vcn[n.vcn.index()] }))
        .collect();
    files.insert("network-nsg-list.json".into(), data(json!(nsgs)));
    for (i, n) in s.nsgs.iter().enumerate() {
        let rules: Vec<Value> = n.rules.iter().map(|r| rule(s, &ids, r, true)).collect();
        files.insert(
            format!("network-nsg-rules-list.{}.json", ids.nsg[i]),
            data(json!(rules)),
        );
    }
    let mut by_kind: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (i, g) in s.gateways.iter().enumerate() {
        let vcn = &ids.vcn[g.vcn.index()];
        let (file, v) = match g.kind {
            GatewayKind::Drg => (
                "network-drg-attachment-list.json",
                json!({ "display-name": g.name, "id": ids.gateway[i], "drg-id": format!("ocid1.drg.oc1.iad.for{}", ids.gateway[i].rsplit('.').next().unwrap_or_default()),
                        "network-details": { "id": vcn, "type": "VCN", "route-table-id": null }, "vcn-id": vcn }),
            ),
            k => {
                let mut v = json!({ "display-name": g.name, "id": ids.gateway[i], "vcn-id": vcn });
                // The switch that makes the gateway drop everything, as the
                // CLI prints it: without it, the import forwarded what the
                // scenario drops. (The model keeps only that it is blocked:
                // an LPG not peered is written `PENDING`.)
                let (file, key, value) = match k {
                    GatewayKind::Internet => (
                        "network-internet-gateway-list.json",
                        "is-enabled",
                        json!(!g.blocked),
                    ),
                    GatewayKind::Nat => (
                        "network-nat-gateway-list.json",
                        "block-traffic",
                        json!(g.blocked),
                    ),
                    GatewayKind::Service => (
                        "network-service-gateway-list.json",
                        "block-traffic",
                        json!(g.blocked),
                    ),
                    _ => (
                        "network-local-peering-gateway-list.json",
                        "peering-status",
                        json!(if g.blocked { "PENDING" } else { "PEERED" }),
                    ),
                };
                v[key] = value;
                (file, v)
            }
        };
        by_kind.entry(file).or_default().push(v);
    }
    for (f, v) in by_kind {
        files.insert(f.into(), data(json!(v)));
    }
    let services: Vec<Value> = s
        .services
        .iter()
        .enumerate()
        .map(|(i, l)| json!({ "cidr-block": l.name, "id": format!("ocid1.service.oc1.iad.gen{i:04}"), "name": l.name, "description": l.name }))
        .collect();
    files.insert("network-service-list.json".into(), data(json!(services)));
    let policies: Vec<Value> = s
        .zpr_policies
        .iter()
        .enumerate()
        .map(|(i, p)| json!({ "name": p.name, "id": ocid("zprpolicy", p.id.as_ref(), i), "statements": p.statements.iter().map(|x| x.text.clone()).collect::<Vec<_>>(), "lifecycle-state": "ACTIVE" }))
        .collect();
    files.insert(
        "zpr-zpr-policy-list.json".into(),
        data(json!({ "items": policies })),
    );
    let ranges: BTreeMap<String, Vec<String>> = s
        .services
        .iter()
        .map(|l| {
            (
                l.name.clone(),
                l.cidrs.iter().map(ToString::to_string).collect(),
            )
        })
        .collect();
    (
        files,
        serde_json::to_string_pretty(&ranges).unwrap_or_default() + "\n",
    )
}

/// The services of `s` as OCI's public IP ranges file
/// (`{"regions": [{"region", "cidrs": [{"cidr", "tags": ["OSN"]}]}]}`), for
/// labels named `all-<region key>-services-in-oracle-services-network`.
#[must_use]
pub fn oci_ranges(s: &Scenario) -> String {
    let mut regions: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for l in &s.services {
        let key = l
            .name
            .strip_prefix("all-")
            .and_then(|r| r.strip_suffix("-services-in-oracle-services-network"));
        let region = zprsim_control::import::oci::REGIONS
            .iter()
            .find(|(k, _)| Some(*k) == key)
            .map(|(_, r)| *r);
        if let Some(r) = region {
            regions.entry(r).or_default().extend(l.cidrs.iter().map(
                |c| json!({ "cidr": c.to_string(), "tags": ["OCI", "OSN", "OBJECT_STORAGE"] }),
            ));
        }
    }
    let regions: Vec<Value> = regions
        .into_iter()
        .map(|(r, cidrs)| json!({ "region": r, "cidrs": cidrs }))
        .collect();
    serde_json::to_string_pretty(&json!({ "syncToken": "0", "creationTime": "2026-01-01T00:00:00.000000", "regions": regions }))
        .unwrap_or_default()
        + "\n"
}
