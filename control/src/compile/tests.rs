//! Limits and sizes of the compiled tables.

use super::*;
use crate::load::from_toml_str;
use crate::model::{Direction, Peer, Scenario, SecurityRule};
use crate::verdict::Context;

const SCENARIO: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
security_attributes = { network = { vcn = { value = "v" } } }
[[security_list]]
name = "sl"
vcn = "v"
egress_security_rules = [
  { protocol = "6", destination = "10.0.2.0/24", tcp_options = { destination_port_range = { min = 443, max = 443 } } },
  { protocol = "17", destination = "0.0.0.0/0", udp_options = { destination_port_range = { min = 53, max = 53 } } },
]
ingress_security_rules = [{ protocol = "all", source = "10.0.0.0/16" }]
[[subnet]]
name = "a"
vcn = "v"
cidr_block = "10.0.1.0/24"
security_lists = ["sl"]
[[subnet]]
name = "b"
vcn = "v"
cidr_block = "10.0.2.0/24"
security_lists = ["sl"]
[[vnic]]
name = "x"
subnet = "a"
private_ips = ["10.0.1.10"]
security_attributes = { app = { role = { value = "x" } } }
[[vnic]]
name = "y"
subnet = "b"
private_ips = ["10.0.2.10"]
[[zpr_policy]]
name = "p"
statements = ["in network.vcn:v VCN allow app.role:x endpoints to connect to '10.0.2.0/24' with protocol='tcp/443'"]
"#;

pub(super) fn scenario() -> Scenario {
    from_toml_str(SCENARIO, "limits.toml").unwrap().scenario
}

#[test]
fn default_config_compiles_and_counts() {
    let c = Compiled::new(&scenario(), &Config::default()).unwrap();
    let st = c.stats();
    assert!(st.address_classes >= 5, "{st:?}");
    assert_eq!(st.security_profiles, 2);
    // One container (the subnets share the list set `sl`), both directions.
    assert_eq!(st.security_tables, 2);
    assert_eq!(st.zpr_profiles, 1);
    assert!(st.table_bytes > 0 && st.table_entries > 0);
    // The size reported is what the parts add up to.
    let parts = c.lpm.bytes()
        + c.services.bytes()
        + c.classes.len() * std::mem::size_of::<ClassInfo>()
        + c.hot.len() * 64
        + c.route.len() * 4
        + c.egress.bytes()
        + c.ingress.bytes()
        + c.zpr_egress.bytes()
        + c.zpr_ingress.bytes()
        + c.routers.bytes();
    assert_eq!(st.table_bytes, parts);
}

#[test]
fn too_many_address_classes_is_an_error() {
    let cfg = Config {
        max_address_classes: 2,
        ..Config::default()
    };
    match Compiled::new(&scenario(), &cfg) {
        Err(CompileError::TooManyAddressClasses { given, limit: 2 }) => assert!(given > 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn too_many_service_classes_is_an_error() {
    let cfg = Config {
        max_service_classes: 3,
        ..Config::default()
    };
    match Compiled::new(&scenario(), &cfg) {
        Err(CompileError::TooManyServiceClasses {
            given, limit: 3, ..
        }) => assert!(given > 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn table_bytes_limit_is_an_error() {
    let cfg = Config {
        max_table_bytes: 1 << 16,
        ..Config::default()
    };
    match Compiled::new(&scenario(), &cfg) {
        Err(CompileError::TooLarge { given, limit }) => assert!(given > limit, "{given} {limit}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn profile_cells_limit_is_an_error() {
    let cfg = Config {
        max_profile_cells: 1,
        ..Config::default()
    };
    assert!(matches!(
        Compiled::new(&scenario(), &cfg),
        Err(CompileError::ProfileTooLarge { .. })
    ));
}

#[test]
fn error_messages_name_the_limit() {
    let e = CompileError::TooManyAddressClasses {
        given: 10,
        limit: 2,
    };
    assert_eq!(e.to_string(), "too many address classes: 10 (limit 2)");
    let e = CompileError::TooLarge {
        given: 1000,
        limit: 10,
    };
    assert_eq!(
        e.to_string(),
        "the compiled tables need 1000 bytes (limit 10)"
    );
}

#[test]
fn dump_names_rules_and_classes() {
    let s = scenario();
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let d = c.dump(&s);
    assert!(d.contains("security_list:sl/egress#0+track"), "{d}");
    assert!(d.contains("zpr_policy:p#0"), "{d}");
    assert!(d.contains("10.0.1.10/32"), "{d}");
}

/// The hostile shape of issue 9: `n` rules on single destination ports and
/// `n` on single source ports, so the service classes are their product.
fn port_product(n: u16) -> Scenario {
    let mut s = scenario();
    let rule = |src: Option<u16>, dst: Option<u16>| SecurityRule {
        direction: Direction::Ingress,
        protocol: crate::model::Protocol::Number(crate::model::proto::TCP),
        peer: Peer::Cidr("10.0.0.0/16".parse().unwrap()),
        stateless: false,
        options: crate::model::RuleOptions::Ports {
            src: src.map(|p| crate::model::PortRange { min: p, max: p }),
            dst: dst.map(|p| crate::model::PortRange { min: p, max: p }),
        },
        description: None,
    };
    let list = &mut s.security_lists[0];
    for i in 0..n {
        // Odd ports, so every rule adds two cut points.
        list.ingress.push(rule(None, Some(2 * i + 1)));
        list.ingress.push(rule(Some(2 * i + 1), None));
    }
    s
}

#[test]
fn port_products_are_refused_from_the_count_before_any_class_is_built() {
    // 32,768 + 32,768 rules: 65,536 × 65,536 TCP classes. Building their
    // representatives first needed 17 GB and aborted; the count comes from
    // the cut points alone.
    let s = port_product(32_768);
    match Compiled::new(&s, &Config::default()) {
        Err(CompileError::TooManyServiceClasses { given, limit, why }) => {
            assert_eq!(limit, 1 << 20);
            // The message says where the classes come from.
            assert!(
                why.starts_with(
                    ": TCP has 65536 source-port intervals × 65536 destination-port intervals"
                ),
                "{why}"
            );
            // Every port is a cut point on both sides: 65,536² TCP classes.
            assert_eq!(given, 65_536 * 65_536 + 1 + 4 + 2 + 2 + 1, "{given}");
        }
        other => panic!("{other:?}"),
    }
    // Scaled down under a small limit: the count is exact.
    let s = port_product(64);
    let cfg = Config {
        max_service_classes: 1000,
        ..Config::default()
    };
    match Compiled::new(&s, &cfg) {
        // TCP: 129 source × 130 destination intervals (the scenario's own
        // port 443 adds two cuts), plus a fragment class; then UDP (port 53:
        // 3 intervals + fragment), ICMP, ICMPv6 (1 + fragment each) and the
        // "other protocols" class.
        Err(CompileError::TooManyServiceClasses {
            given, limit: 1000, ..
        }) => {
            assert_eq!(given, 129 * 131 + 1 + 4 + 2 + 2 + 1, "{given}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn many_statements_compile_into_small_tables() {
    // 20,000 statements between 200 attribute values: the ZPR tables are
    // filed by attribute, so this compiles (it used to grow quadratically).
    let mut s = scenario();
    let base = s.zpr_policies[0].statements[0].clone();
    let mut statements = Vec::new();
    for i in 0..20_000 {
        let text = format!(
            "in network.vcn:v VCN allow app.role:r{} endpoints to connect to app.role:r{} with protocol='tcp/{}'",
            i % 200,
            (i * 7) % 200,
            1000 + i % 50
        );
        let st = crate::zpl::parse_statement(&text).unwrap();
        statements.push(crate::model::PolicyStatement {
            statement: st,
            text,
            ..base.clone()
        });
    }
    s.zpr_policies[0].statements.extend(statements);
    let c = Compiled::new(&s, &Config::default()).unwrap();
    assert_eq!(c.rule_count(), 3 + 20_001);
    // The one attributed VNIC (`app.role:x`) is named by one statement only.
    assert_eq!(c.stats().zpr_profiles, 1);
    assert!(c.stats().table_bytes < 8 << 20, "{:?}", c.stats());
}

/// The scenario's first statement again with each of `protocols` (the
/// attributed VNIC, `app.role:x`, to itself, `with protocol='P'`).
fn statements_on(
    s: &Scenario,
    protocols: impl Iterator<Item = String>,
) -> Vec<crate::model::PolicyStatement> {
    let base = s.zpr_policies[0].statements[0].clone();
    protocols
        .map(|p| {
            let text = format!(
                "in network.vcn:v VCN allow app.role:x endpoints to connect to app.role:x endpoints with protocol='{p}'"
            );
            let st = crate::zpl::parse_statement(&text).unwrap();
            crate::model::PolicyStatement {
                statement: st,
                text,
                ..base.clone()
            }
        })
        .collect()
}

/// `n` statements naming the scenario's attributed VNIC (`app.role:x`)
/// on `n` distinct TCP ports: `n` service conditions over about `n`
/// service classes in one ZPR profile.
fn distinct_port_statements(n: usize) -> Scenario {
    let mut s = scenario();
    let more = statements_on(&s, (1..=n).map(|p| format!("tcp/{p}")));
    s.zpr_policies[0].statements.extend(more);
    s
}

/// `n` statements naming the attributed VNIC on nested port ranges
/// `1..=k` for k = 1..=n: n local services, the k-th matched by n-k+1
/// statements, so the listed entries are n(n+1)/2 (the one shape whose
/// output is quadratic).
fn nested_port_statements(n: usize) -> Scenario {
    let mut s = scenario();
    s.zpr_policies[0].statements = statements_on(&s, (1..=n).map(|k| format!("tcp/1-{k}")));
    s
}

#[test]
fn distinct_port_statements_compile_in_linear_work() {
    // 29,000 statements on distinct ports: 29,000 conditions over ~29,000
    // classes. The matrix this replaced tried 841 M pairs (7 s, 1.1 GB)
    // and was refused by a limit; the sweep makes ~2 events per statement.
    let s = distinct_port_statements(29_000);
    let c = Compiled::new(&s, &Config::default()).unwrap();
    assert_eq!(c.rule_count(), 3 + 29_001);
    assert!(c.stats().service_classes > 29_000, "{:?}", c.stats());
}

#[test]
fn condition_work_is_refused_from_the_conditions_before_any_set_is_made() {
    let cfg = |max_condition_work| Config {
        max_condition_work,
        ..Config::default()
    };
    // Distinct ports: the predicted events alone pass a small limit, and
    // that is what the error gives (nothing was listed yet).
    let s = distinct_port_statements(100);
    match Compiled::new(&s, &cfg(150)) {
        Err(CompileError::TooMuchConditionWork {
            layer: "zpr",
            given,
            limit: 150,
            conditions,
            events,
        }) => {
            assert_eq!(given, events);
            // Class 0, the TCP tail and two events per statement's range.
            assert!(events > 2 * 100, "{events}");
            assert!(conditions > 100, "{conditions}");
        }
        other => panic!("{other:?}"),
    }
    assert!(Compiled::new(&s, &cfg(10_000)).is_ok());
    // Nested ranges: few events, quadratic listed entries; refused as the
    // entries cross the limit, before the set that crosses it is listed.
    let s = nested_port_statements(200);
    match Compiled::new(&s, &cfg(5_000)) {
        Err(CompileError::TooMuchConditionWork {
            layer: "zpr",
            given,
            limit: 5_000,
            events,
            ..
        }) => {
            assert!(events < 5_000 && given > 5_000, "{events} {given}");
        }
        other => panic!("{other:?}"),
    }
    // 200·201/2 entries plus the events fit a limit of 30,000.
    let c = Compiled::new(&s, &cfg(30_000)).unwrap();
    assert_eq!(c.rule_count(), 3 + 200);
    let e = CompileError::TooMuchConditionWork {
        layer: "zpr",
        given: 9,
        limit: 8,
        conditions: 3,
        events: 4,
    };
    assert!(e.to_string().contains("max_condition_work"), "{e}");
    assert!(e.to_string().contains("(limit 8"), "{e}");
}

/// The judgement the dataplane copies per packet stays small: five
/// `Option<RuleId>` of 4 bytes each (the id's niche holds `None`), and a
/// class info is one aligned 32-byte line.
#[test]
fn fast_and_class_info_sizes() {
    assert_eq!(std::mem::size_of::<Option<crate::ids::RuleId>>(), 4);
    assert!(
        std::mem::size_of::<Fast>() <= 28,
        "{}",
        std::mem::size_of::<Fast>()
    );
    assert_eq!(std::mem::size_of::<ClassInfo>(), 32);
    assert_eq!(std::mem::align_of::<ClassInfo>(), 32);
    assert_eq!(std::mem::size_of::<hot::HotClass>(), 64);
    assert_eq!(std::mem::align_of::<hot::HotClass>(), 64);
}

/// The default config (wide cells on small layers) and one that makes
/// every layer narrow (`u16` cells).
pub(super) fn both_cell_layouts() -> [Config; 2] {
    [
        Config::default(),
        Config {
            narrow_cells_from_bytes: 0,
            ..Config::default()
        },
    ]
}

/// Every class's hot line holds its own ids and the peer folds and ZPR
/// slots they name, read from the finished layers (a class with a ZPR
/// profile and one without, in both cell layouts).
#[test]
fn hot_classes_hold_the_folds_and_slots_their_ids_name() {
    let s = scenario();
    for cfg in both_cell_layouts() {
        let c = Compiled::new(&s, &cfg).unwrap();
        assert_eq!(c.hot.len(), c.classes.len());
        let mut with_zpr = 0;
        for (info, h) in c.classes.iter().zip(&c.hot) {
            assert_eq!(h.route, info.route);
            assert_eq!(h.flags & !hot::HotClass::ZPR, info.flags);
            assert_eq!(h.sec_profile, info.sec_profile);
            assert_eq!(h.zpr_peer, info.zpr_peer);
            assert_eq!(h.eg_fold, c.egress.peers[info.eg_peer as usize]);
            assert_eq!(h.in_fold, c.ingress.peers[info.in_peer as usize]);
            assert_eq!(h.has_zpr(), info.zpr_profile.is_some());
            if let Some(p) = info.zpr_profile {
                with_zpr += 1;
                assert_eq!(h.zpr_egress, c.zpr_egress.slots[p.index()]);
                assert_eq!(h.zpr_ingress, c.zpr_ingress.slots[p.index()]);
            }
        }
        assert!(with_zpr > 0 && with_zpr < c.classes.len());
    }
}

// -------------------------------------------- containers past the inline --

/// A VNIC in three NSGs plus its subnet's list set has four ingress
/// containers: three held inline in its profile's `Members` line, the
/// fourth read through the member list. Each NSG allows one port, the list
/// another: every container decides its own port, in both cell layouts,
/// and the judgement agrees with the reference evaluator.
#[test]
fn containers_past_the_inline_slots_are_read_through_the_members() {
    let mut t = String::from(
        r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
[[security_list]]
name = "sl"
vcn = "v"
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]
ingress_security_rules = [{ protocol = "6", source = "10.0.0.0/16", tcp_options = { destination_port_range = { min = 1000, max = 1000 } } }]
[[subnet]]
name = "a"
vcn = "v"
cidr_block = "10.0.1.0/24"
security_lists = ["sl"]
[[vnic]]
name = "x"
subnet = "a"
private_ips = ["10.0.1.10"]
[[vnic]]
name = "y"
subnet = "a"
private_ips = ["10.0.1.20"]
nsgs = ["n1", "n2", "n3"]
"#,
    );
    for k in 1..=3 {
        t.push_str(&format!(
            "[[nsg]]\nname = \"n{k}\"\nvcn = \"v\"\nrules = [{{ direction = \"INGRESS\", protocol = \"6\", source = \"10.0.0.0/16\", tcp_options = {{ destination_port_range = {{ min = {k}, max = {k} }} }} }}]\n"
        ));
    }
    let s = from_toml_str(&t, "members.toml").unwrap().scenario;
    for cfg in both_cell_layouts() {
        let c = Compiled::new(&s, &cfg).unwrap();
        let y = c.class_info(c.address_class("10.0.1.20".parse().unwrap()));
        let p = y.sec_profile.unwrap();
        let n = c.ingress.members(p.index()).count();
        assert_eq!(n, 4);
        assert!(
            n > table::Members::INLINE,
            "the fourth container is not inline"
        );
        let mut seen = std::collections::HashSet::new();
        for port in [1u16, 2, 3, 1000, 4] {
            let pk = crate::packet::Packet::tcp(
                "10.0.1.10".parse().unwrap(),
                40000,
                "10.0.1.20".parse().unwrap(),
                port,
            );
            let fast = c.judge(&pk, Context::First);
            let reference = crate::eval::evaluate(&s, &pk, Context::First);
            assert_eq!(fast.judgement, reference.judgement, "port {port}");
            let got = fast.rules[2].and_then(|id| c.rule_ref(id));
            assert_eq!(got, reference.deciders.ingress, "port {port}");
            assert_eq!(got.is_some(), port != 4, "port {port}: {got:?}");
            seen.insert(got);
        }
        // Four containers, four deciding rules, and none for port 4.
        assert_eq!(seen.len(), 5);
    }
}

// ------------------------------------------------------ narrow / wide cells --

/// Pushes `tables` (each `n_peer × n_svc`, identity remaps) into one layer
/// and checks every cell reads back as pushed; returns the layer.
fn layer_of(tables: &[Vec<u32>], n_peer: usize, n_svc: usize) -> SidedLayer {
    let narrow = Config {
        narrow_cells_from_bytes: 0,
        ..Config::default()
    };
    let mut b = build::SidedBuilder::new("test", &narrow);
    let peer_remap: Vec<u16> = (0..n_peer).map(|i| u16::try_from(i).unwrap()).collect();
    let svc_remap: Vec<u16> = (0..n_svc).map(|i| u16::try_from(i).unwrap()).collect();
    for t in tables {
        b.push(
            peer_remap.clone(),
            svc_remap.clone(),
            n_svc,
            t,
            &Config::default(),
        )
        .unwrap();
    }
    let layer = b.finish().unwrap();
    // Equal rows and columns are stored once.
    assert!(layer.cells() <= tables.iter().map(Vec::len).sum::<usize>());
    for (slot, t) in tables.iter().enumerate() {
        for (i, &e) in t.iter().enumerate() {
            let (p, s) = (i / n_svc, i % n_svc);
            let got = layer.lookup(
                u32::try_from(slot).unwrap(),
                u32::try_from(p).unwrap(),
                u32::try_from(s).unwrap(),
            );
            assert_eq!(got, Entry(e), "slot {slot} peer {p} svc {s}");
        }
    }
    layer
}

#[test]
fn narrow_cells_read_back_every_entry() {
    // Ids far apart (a shared list numbered apart from the others), both
    // flags, empty cells, and a slot that names nothing.
    let big = u32::try_from(Entry::MAX_ID).unwrap();
    let t0 = vec![
        0,
        1 | Entry::STATEFUL,
        big | Entry::STATELESS,
        big | Entry::STATEFUL | Entry::STATELESS,
        7 | Entry::STATEFUL,
        1 | Entry::STATEFUL,
    ];
    let t1 = vec![0; 6];
    let t2 = vec![300_000 | Entry::STATEFUL; 6];
    let layer = layer_of(&[t0, t1, t2], 3, 2);
    assert!(layer.is_narrow());
    // t0's rows and columns all differ (6 cells); t1 and t2 are one value
    // each, so their equal rows and columns shrink to one cell. Before
    // each table: its distinct ids and a zero, as u16 pairs (t0: 3 ids;
    // t1: none; t2: 1), and a padding cell before t1's list and before
    // t2's (the tables before them have odd lengths).
    assert_eq!(layer.cells(), 6 + 1 + 1);
    assert_eq!(layer.cells.len(), (8 + 6) + (2 + 1) + (1 + 4 + 1));
    for s in &layer.slots {
        assert_eq!(s.offset % 2, 0);
        assert_eq!(
            &layer.cells[s.offset as usize - 2..s.offset as usize],
            &[0, 0]
        );
    }
}

#[test]
fn small_layers_stay_wide() {
    let mut b = build::SidedBuilder::new("test", &Config::default());
    b.push(
        vec![0],
        vec![0],
        1,
        &[3 | Entry::STATEFUL],
        &Config::default(),
    )
    .unwrap();
    let layer = b.finish().unwrap();
    assert!(!layer.is_narrow());
    assert_eq!(layer.lookup(0, 0, 0), Entry(3 | Entry::STATEFUL));
}

#[test]
fn a_table_past_the_narrow_ids_makes_the_layer_wide() {
    // One slot naming 16,384 distinct rules (more than 14 bits of local
    // id), another small one: the layer falls back to u32 entries, and
    // both read back exactly.
    let n = Entry::NARROW_MAX as usize + 1;
    let wide: Vec<u32> = (0..n)
        .map(|i| (u32::try_from(i).unwrap() + 1) | Entry::STATEFUL)
        .collect();
    let small = vec![5 | Entry::STATELESS, 0];
    let layer = layer_of(&[wide, small.clone()], n, 1);
    assert!(!layer.is_narrow());
    assert!(layer.cells.is_empty());
    assert_eq!(layer.entries.len(), n + 2);
    // Exactly at the limit it stays narrow.
    let at_limit: Vec<u32> = (0..n - 1)
        .map(|i| (u32::try_from(i).unwrap() + 1) | Entry::STATEFUL)
        .collect();
    let layer = layer_of(&[at_limit, small], n - 1, 1);
    assert!(layer.is_narrow());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Any tables of valid entries read back through the narrow or wide
    /// layout unchanged.
    #[test]
    fn any_tables_read_back(
        tables in proptest::collection::vec(
            proptest::collection::vec(
                (0u32..=u32::try_from(Entry::MAX_ID + 1).unwrap(), 0u32..4),
                12,
            ),
            1..6,
        )
    ) {
        let tables: Vec<Vec<u32>> = tables
            .into_iter()
            .map(|t| {
                t.into_iter()
                    .map(|(id, f)| if id == 0 { 0 } else { id | f << 30 })
                    .collect()
            })
            .collect();
        let layer = layer_of(&tables, 4, 3);
        proptest::prop_assert!(layer.is_narrow());
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    /// Peer remap rows of every width (1, 2, 4, 8, 16 bits), several in
    /// one layer, shared or not, of a length that is no multiple of a
    /// word, read back exactly from their packed words.
    #[test]
    fn packed_peer_rows_read_back(
        rows in proptest::collection::vec(
            (
                proptest::sample::select(vec![1usize, 2, 3, 4, 5, 16, 17, 255, 256, 257, 40_000]),
                proptest::collection::vec(proptest::num::u16::ANY, 37),
            ),
            1..6,
        ),
        repeat in proptest::bool::ANY,
    ) {
        let mut b = build::SidedBuilder::new("test", &Config::default());
        let mut want = Vec::new();
        let mut rows = rows;
        if repeat {
            rows.push(rows[0].clone());
        }
        for (n_peer, raw) in &rows {
            let n = u16::try_from(n_peer - 1).unwrap();
            let mut remap: Vec<u16> = raw.iter().map(|v| v % (n + 1)).collect();
            // The largest id appears, so the row takes its full width.
            remap[0] = n;
            // One service; peer p's cell names rule p + 1, so no two rows
            // are equal and the squeeze keeps every peer id.
            let table: Vec<u32> = (1..=u32::try_from(*n_peer).unwrap())
                .map(|id| id | Entry::STATEFUL)
                .collect();
            b.push(remap.clone(), vec![0], 1, &table, &Config::default()).unwrap();
            want.push(remap);
        }
        let layer = b.finish().unwrap();
        for (slot, remap) in want.iter().enumerate() {
            for (peer, &lp) in remap.iter().enumerate() {
                let got = layer.lookup(u32::try_from(slot).unwrap(), u32::try_from(peer).unwrap(), 0);
                proptest::prop_assert_eq!(got, Entry((u32::from(lp) + 1) | Entry::STATEFUL));
            }
        }
    }
}

#[test]
fn peer_rows_take_the_width_their_ids_need() {
    let mut b = build::SidedBuilder::new("test", &Config::default());
    // 40 peers: ids below 2 (1 bit: three words), below 16 (4 bits: ten
    // words), up to 273 (16 bits: 40 words).
    for (n, step) in [(2u16, 1u16), (16, 1), (300, 7)] {
        let remap: Vec<u16> = (0..40).map(|p| p * step % n).collect();
        let table: Vec<u32> = (1..=u32::from(n)).collect();
        b.push(remap, vec![0], 1, &table, &Config::default())
            .unwrap();
    }
    let layer = b.finish().unwrap();
    assert_eq!(layer.peer_bits.len(), 3 + 10 + 40);
    assert_eq!(layer.remaps.len(), 1, "the one shared service row");
    assert_eq!(layer.peer_row(layer.slots[1], layer.peer_len)[17], 1);
}

/// The squeeze as first written: every column and row copied into a map
/// key. The oracle of [`squeeze_matches_the_squeeze_by_copies`].
fn squeeze_by_copies(
    peer_remap: &mut [u16],
    svc_remap: &mut [u16],
    n_svc: usize,
    table: &[u32],
) -> (Vec<u32>, usize) {
    let n_peer = table.len() / n_svc;
    let mut col_index: std::collections::HashMap<Vec<u32>, u16> = Default::default();
    let mut col_of = Vec::new();
    let mut keep_cols = Vec::new();
    for c in 0..n_svc {
        let col: Vec<u32> = (0..n_peer).map(|p| table[p * n_svc + c]).collect();
        let next = u16::try_from(keep_cols.len()).unwrap();
        col_of.push(*col_index.entry(col).or_insert_with(|| {
            keep_cols.push(c);
            next
        }));
    }
    let w = keep_cols.len();
    let mut row_index: std::collections::HashMap<Vec<u32>, u16> = Default::default();
    let mut row_of = Vec::new();
    let mut out: Vec<u32> = Vec::new();
    for p in 0..n_peer {
        let row: Vec<u32> = keep_cols.iter().map(|&c| table[p * n_svc + c]).collect();
        let next = u16::try_from(out.len() / w).unwrap();
        row_of.push(*row_index.entry(row).or_insert_with_key(|r| {
            out.extend_from_slice(r);
            next
        }));
    }
    for v in svc_remap.iter_mut() {
        *v = col_of[usize::from(*v)];
    }
    for v in peer_remap.iter_mut() {
        *v = row_of[usize::from(*v)];
    }
    (out, w)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// The squeeze that compares rows and columns in place gives the
    /// cells, row length and remaps of the one that copied them, after
    /// cells already in the layer; tables drawn from three values, so
    /// equal rows and columns are common.
    #[test]
    fn squeeze_matches_the_squeeze_by_copies(
        n_peer in 1usize..9,
        n_svc in 1usize..7,
        cells in proptest::collection::vec(0u32..3, 64),
        before in proptest::collection::vec(0u32..3, 0..5),
        remap_picks in proptest::collection::vec(0usize..64, 1..12),
    ) {
        let table: Vec<u32> = cells[..n_peer * n_svc].to_vec();
        let peers: Vec<u16> = remap_picks.iter().map(|&i| u16::try_from(i % n_peer).unwrap()).collect();
        let svcs: Vec<u16> = remap_picks.iter().map(|&i| u16::try_from(i % n_svc).unwrap()).collect();
        let (mut p1, mut s1) = (peers.clone(), svcs.clone());
        let (want, want_w) = squeeze_by_copies(&mut p1, &mut s1, n_svc, &table);
        // The real hash, and one under which every row and every column
        // collides (so each candidate is told apart by its comparison).
        let all_collide: fn(u64, u32) -> u64 = |_, _| 7;
        for collide in [false, true] {
            let (mut p2, mut s2) = (peers.clone(), svcs.clone());
            let mut out = before.clone();
            let mix = if collide { all_collide } else { build::seq_mix };
            let w = build::squeeze(mix, &mut p2, &mut s2, n_svc, &table, &mut out);
            proptest::prop_assert_eq!(w, want_w);
            proptest::prop_assert_eq!(&out[..before.len()], &before[..]);
            proptest::prop_assert_eq!(&out[before.len()..], &want[..]);
            proptest::prop_assert_eq!(&p2, &p1);
            proptest::prop_assert_eq!(&s2, &s1);
        }
    }

    /// Remap rows are stored once each, equal rows found again, when every
    /// row's hash collides too.
    #[test]
    fn interned_rows_are_stored_once(
        rows in proptest::collection::vec(proptest::collection::vec(0u16..3, 3), 1..20),
    ) {
        let all_collide: fn(u64, u32) -> u64 = |_, _| 7;
        let mut index = (build::SeqIndex::default(), Vec::new());
        let mut store = vec![9u16];
        let mut first: std::collections::HashMap<&[u16], u32> = Default::default();
        for r in &rows {
            let at = build::intern(all_collide, &mut index, &mut store, r).unwrap();
            proptest::prop_assert_eq!(&store[at as usize..at as usize + 3], &r[..]);
            proptest::prop_assert_eq!(*first.entry(r).or_insert(at), at);
        }
        proptest::prop_assert_eq!(store.len(), 1 + 3 * first.len());
    }
}

#[test]
fn more_local_services_than_16_bit_ids_is_named_as_such() {
    // TCP ports 1..=65535, each its own statement, and UDP port 53: 65,536
    // single-port local services plus the one no statement matches (TCP
    // port 0 and every other service): one past the 16-bit ids.
    let mut s = distinct_port_statements(65_535);
    let udp = statements_on(&s, std::iter::once("udp/53".to_string()));
    s.zpr_policies[0].statements.extend(udp);
    match Compiled::new(&s, &Config::default()) {
        Err(
            e @ CompileError::TooManyLocalClasses {
                layer: "zpr",
                what: "service",
                ..
            },
        ) => {
            let m = e.to_string();
            assert!(m.contains("more than 65535 local service classes"), "{m}");
        }
        other => panic!("{:?}", other.map(|c| c.stats().service_classes)),
    }
}

/// `RuleText` names every rule as `rule_text` does, and nothing past the
/// table's rules.
#[test]
fn rule_text_names_every_rule_once_as_rule_text_does() {
    let s = scenario();
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let names = RuleText::new(&s, &c);
    assert_eq!(names.len(), c.rule_count());
    assert!(c.rule_count() >= 3, "{}", c.rule_count());
    for i in 0..c.rule_count() {
        let id = RuleId::new(i).unwrap();
        let r = c.rule_ref(id).unwrap();
        assert_eq!(names.get(id), Some(rule_text(&s, r).as_str()), "rule {i}");
    }
    assert_eq!(names.get(RuleId::new(c.rule_count()).unwrap()), None);
    assert!(
        (0..c.rule_count())
            .filter_map(|i| names.get(RuleId::new(i).unwrap()))
            .any(|n| n == "security_list:sl/egress#1"),
        "{names:?}"
    );
}

// ------------------------------------------------ branch-free judgement --

/// The service class as the kind-and-L4 `match` gave it before
/// `ServiceClasses::classify` lost its branches, read off the public
/// layouts: a TCP/UDP group's grid on ports, an ICMP group's row on
/// `type << 8 | code`, anything else the group's tail (fragment class, or
/// a plain group's one class).
fn classify_by_layout(c: &service::ServiceClasses, protocol: u8, l4: crate::packet::L4) -> u32 {
    use crate::packet::L4;
    let groups: Vec<_> = c.layouts().collect();
    let g = groups
        .iter()
        .find(|g| g.proto == Some(protocol))
        .or_else(|| groups.iter().find(|g| g.proto.is_none()))
        .unwrap();
    let tail = g.base + g.ns * g.nd;
    match (g.smap, g.dmap, l4) {
        (Some(s), Some(d), L4::Ports { sport, dport }) => {
            let (s, d) = (s.get(usize::from(sport)), d.get(usize::from(dport)));
            g.base + u32::from(*s.unwrap()) * g.nd + u32::from(*d.unwrap())
        }
        (None, Some(d), L4::Icmp { icmp_type, code }) => {
            g.base
                + u32::from(
                    *d.get(usize::from(u16::from_be_bytes([icmp_type, code])))
                        .unwrap(),
                )
        }
        _ => tail,
    }
}

/// Every protocol against every kind of L4 (the kinds a group has no map
/// for included: a TCP packet without ports, an ICMP protocol with ports,
/// a plain protocol with either) classifies as the layouts say.
#[test]
fn branch_free_service_class_matches_the_layouts() {
    use crate::model::{PortRange, Protocol, RuleOptions};
    use crate::packet::L4;
    use service::{ServiceClasses, ServiceCond};
    let r = |min, max| Some(PortRange { min, max });
    let conds = [
        ServiceCond::Rule(
            Protocol::Number(6),
            RuleOptions::Ports {
                src: None,
                dst: r(443, 443),
            },
        ),
        ServiceCond::Rule(
            Protocol::Number(6),
            RuleOptions::Ports {
                src: r(1024, 65535),
                dst: r(20, 30),
            },
        ),
        ServiceCond::Rule(
            Protocol::Number(17),
            RuleOptions::Ports {
                src: None,
                dst: r(53, 53),
            },
        ),
        ServiceCond::Rule(
            Protocol::Number(1),
            RuleOptions::Icmp {
                icmp_type: 3,
                code: Some(4),
            },
        ),
        ServiceCond::Rule(
            Protocol::Number(58),
            RuleOptions::Icmp {
                icmp_type: 128,
                code: None,
            },
        ),
        ServiceCond::Rule(Protocol::Number(47), RuleOptions::None),
    ];
    let c = ServiceClasses::build(conds.iter(), 1 << 20).unwrap();
    let mut l4s = vec![L4::Opaque, L4::Fragment];
    for (sport, dport) in [
        (0, 0),
        (1023, 443),
        (1024, 25),
        (65535, 65535),
        (40000, 53),
        (5, 31),
    ] {
        l4s.push(L4::Ports { sport, dport });
    }
    for (icmp_type, code) in [(0, 0), (3, 4), (3, 5), (128, 0), (255, 255)] {
        l4s.push(L4::Icmp { icmp_type, code });
    }
    let mut seen = std::collections::HashSet::new();
    for protocol in [0u8, 1, 6, 17, 47, 50, 58, 255] {
        for &l4 in &l4s {
            let want = classify_by_layout(&c, protocol, l4);
            assert_eq!(c.classify(protocol, l4), want, "protocol {protocol} {l4:?}");
            seen.insert(want);
        }
    }
    // Every class the conditions make is reached by some probe above but
    // a few grid cells; at least the tails and several grid cells are.
    assert!(seen.len() >= 15, "{}", seen.len());
}

/// Runs a compile's jobs on the calling thread, the last one first.
struct Backwards;

impl crate::load::Jobs for Backwards {
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        for i in (0..n).rev() {
            job(i);
        }
    }
}

/// Runs each job on a thread of its own.
struct Spread;

impl crate::load::Jobs for Spread {
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        std::thread::scope(|s| {
            for i in 0..n {
                s.spawn(move || job(i));
            }
        });
    }
}

/// `Compiled::new_with` builds its two halves in any order, on any
/// threads: the same tables, and the error the phases' order meets first
/// (here the service classes' limit, although the route table, in the
/// other half, is over its byte limit too and may fail first).
#[test]
fn the_compiles_halves_give_the_same_tables_and_first_error_on_any_runner() {
    let s = scenario();
    let cfg = Config::default();
    let want = Compiled::new(&s, &cfg).unwrap().dump(&s);
    for jobs in [&Backwards as &dyn crate::load::Jobs, &Spread] {
        assert_eq!(Compiled::new_with(&s, &cfg, jobs).unwrap().dump(&s), want);
    }
    let both = Config {
        max_service_classes: 3,
        max_table_bytes: 1,
        ..Config::default()
    };
    for jobs in [
        &crate::load::InOrder as &dyn crate::load::Jobs,
        &Backwards,
        &Spread,
    ] {
        match Compiled::new_with(&s, &both, jobs) {
            Err(CompileError::TooManyServiceClasses { limit: 3, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    // The route table alone over its limit fails in its own phase.
    let route = Config {
        max_table_bytes: 1,
        ..Config::default()
    };
    assert!(matches!(
        Compiled::new_with(&s, &route, &Backwards),
        Err(CompileError::TooLarge { limit: 1, .. })
    ));
}

// ------------------------------------------------------- folded peer rows --

/// Two VCNs joined by their DRGs, NSGs naming NSGs of their own VCN, a
/// VNIC in four NSGs (one container past the inline slots), VNICs in no
/// NSG: every security row folds to the coarse classes and its VCN's.
const TWO_VCNS: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
[[vcn]]
name = "w"
cidr_blocks = ["10.1.0.0/16"]
[[gateway]]
name = "dv"
vcn = "v"
kind = "drg"
[[gateway]]
name = "dw"
vcn = "w"
kind = "drg"
[[route_table]]
name = "rv"
vcn = "v"
route_rules = [{ destination = "10.1.0.0/16", network_entity = "dv" }]
[[route_table]]
name = "rw"
vcn = "w"
route_rules = [{ destination = "10.0.0.0/16", network_entity = "dw" }]
[[security_list]]
name = "lv"
vcn = "v"
egress_security_rules = [{ protocol = "6", destination = "10.1.0.0/16", tcp_options = { destination_port_range = { min = 90, max = 90 } } }]
ingress_security_rules = [{ protocol = "6", source = "10.1.1.0/24", tcp_options = { destination_port_range = { min = 22, max = 22 } } }]
[[security_list]]
name = "lw"
vcn = "w"
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]
ingress_security_rules = [{ protocol = "6", source = "10.0.0.0/8", tcp_options = { destination_port_range = { min = 22, max = 22 } } }]
[[subnet]]
name = "a"
vcn = "v"
cidr_block = "10.0.1.0/24"
security_lists = ["lv"]
route_table = "rv"
[[subnet]]
name = "b"
vcn = "w"
cidr_block = "10.1.1.0/24"
security_lists = ["lw"]
route_table = "rw"
[[nsg]]
name = "n1"
vcn = "v"
rules = [
  { direction = "INGRESS", protocol = "6", source = "n2", source_type = "NETWORK_SECURITY_GROUP", tcp_options = { destination_port_range = { min = 80, max = 80 } } },
  { direction = "EGRESS", protocol = "all", destination = "n4", destination_type = "NETWORK_SECURITY_GROUP" },
]
[[nsg]]
name = "n2"
vcn = "v"
rules = [
  { direction = "INGRESS", protocol = "6", source = "n1", source_type = "NETWORK_SECURITY_GROUP", tcp_options = { destination_port_range = { min = 81, max = 81 } } },
  { direction = "EGRESS", protocol = "all", destination = "10.0.0.0/8" },
]
[[nsg]]
name = "n3"
vcn = "v"
rules = [{ direction = "INGRESS", protocol = "6", source = "10.1.0.0/16", tcp_options = { destination_port_range = { min = 82, max = 82 } } }]
[[nsg]]
name = "n4"
vcn = "v"
rules = [
  { direction = "INGRESS", protocol = "6", source = "n3", source_type = "NETWORK_SECURITY_GROUP", tcp_options = { destination_port_range = { min = 83, max = 83 } } },
  { direction = "EGRESS", protocol = "6", destination = "n1", destination_type = "NETWORK_SECURITY_GROUP", tcp_options = { destination_port_range = { min = 84, max = 84 } } },
]
[[nsg]]
name = "m1"
vcn = "w"
rules = [{ direction = "INGRESS", protocol = "6", source = "m2", source_type = "NETWORK_SECURITY_GROUP", tcp_options = { destination_port_range = { min = 80, max = 80 } } }]
[[nsg]]
name = "m2"
vcn = "w"
rules = [
  { direction = "INGRESS", protocol = "6", source = "10.0.1.0/24", tcp_options = { destination_port_range = { min = 85, max = 85 } } },
  { direction = "EGRESS", protocol = "6", destination = "m1", destination_type = "NETWORK_SECURITY_GROUP", tcp_options = { destination_port_range = { min = 86, max = 86 } } },
]
[[vnic]]
name = "x"
subnet = "a"
private_ips = ["10.0.1.10"]
nsgs = ["n1"]
[[vnic]]
name = "y"
subnet = "a"
private_ips = ["10.0.1.20"]
nsgs = ["n2", "n3"]
[[vnic]]
name = "z"
subnet = "a"
private_ips = ["10.0.1.30"]
nsgs = ["n1", "n2", "n3", "n4"]
[[vnic]]
name = "u"
subnet = "a"
private_ips = ["10.0.1.40"]
[[vnic]]
name = "p"
subnet = "b"
private_ips = ["10.1.1.10"]
nsgs = ["m1"]
[[vnic]]
name = "q"
subnet = "b"
private_ips = ["10.1.1.20"]
nsgs = ["m2"]
[[vnic]]
name = "r"
subnet = "b"
private_ips = ["10.1.1.30"]
nsgs = ["m1", "m2"]
"#;

/// Every packet between the scenario's addresses (and two that are no
/// VNIC) on the rules' ports, judged by `c` and by the reference.
fn agrees_with_the_reference_everywhere(s: &Scenario, c: &Compiled) {
    let ips = [
        "10.0.1.10",
        "10.0.1.20",
        "10.0.1.30",
        "10.0.1.40",
        "10.0.1.50",
        "10.1.1.10",
        "10.1.1.20",
        "10.1.1.30",
        "10.1.1.99",
        // Undeliverable (decision 35): the flag and the folded layers
        // together against the reference.
        "10.0.1.255",
        "224.0.0.251",
        "255.255.255.255",
        "0.0.0.0",
    ];
    for a in ips {
        for b in ips {
            for port in [22u16, 80, 81, 82, 83, 84, 85, 86, 90, 7] {
                let pk =
                    crate::packet::Packet::tcp(a.parse().unwrap(), 40000, b.parse().unwrap(), port);
                let fast = c.judge(&pk, Context::First);
                let reference = crate::eval::evaluate(s, &pk, Context::First);
                let what = format!("{a} -> {b}:{port}");
                assert_eq!(fast.judgement, reference.judgement, "{what}");
                let got: Vec<_> = fast
                    .rules
                    .iter()
                    .map(|r| r.and_then(|id| c.rule_ref(id)))
                    .collect();
                assert_eq!(got[1], reference.deciders.egress, "{what}");
                assert_eq!(got[2], reference.deciders.ingress, "{what}");
            }
        }
    }
}

#[test]
fn peer_rows_fold_to_the_coarse_classes_and_their_vcns() {
    let s = from_toml_str(TWO_VCNS, "two.toml").unwrap().scenario;
    let c = Compiled::new(&s, &Config::default()).unwrap();
    for layer in [&c.egress, &c.ingress] {
        // Folded: two domains, one per VCN, and fewer coarse classes than
        // classes.
        assert_eq!(layer.dom_len.len(), 2, "{:?}", layer.dom_len);
        assert!((layer.n_coarse as usize) < layer.peers.len());
        for (slot, &dom) in layer.slot_dom.iter().enumerate() {
            let want = layer.n_coarse + layer.dom_len.get(usize::from(dom)).copied().unwrap_or(0);
            assert_eq!(layer.row_len(slot), want);
        }
    }
    // The list sets name no NSG: rows over the coarse classes only.
    assert!(c.ingress.slot_dom.contains(&table::PeerFold::NO_DOMAIN));
    let z = c.class_info(c.address_class("10.0.1.30".parse().unwrap()));
    assert_eq!(c.ingress.members(z.sec_profile.unwrap().index()).count(), 5);
    agrees_with_the_reference_everywhere(&s, &c);
    assert!(c.dump(&s).contains("local peer(s)"));
}

#[test]
fn a_container_naming_nsgs_of_two_vcns_makes_its_layer_flat() {
    // The loader refuses an NSG peer of another VCN; a scenario made in
    // code may still say it, and the tables must stay exact.
    let mut s = from_toml_str(TWO_VCNS, "two.toml").unwrap().scenario;
    let n1 = s.nsgs.iter().position(|n| n.name == "n1").unwrap();
    let m2 = s.nsgs.iter().position(|n| n.name == "m2").unwrap();
    // n1 (in v) lets port 80 in from m2 (in w) as well as from n2.
    let r = SecurityRule {
        peer: Peer::Nsg(crate::ids::NsgId::new(m2).unwrap()),
        ..s.nsgs[n1].rules[0].clone()
    };
    s.nsgs[n1].rules.push(r);
    let c = Compiled::new(&s, &Config::default()).unwrap();
    assert!(c.ingress.dom_len.is_empty(), "ingress is flat");
    assert_eq!(c.ingress.n_coarse as usize, c.ingress.peers.len());
    assert!(!c.egress.dom_len.is_empty(), "egress still folds");
    agrees_with_the_reference_everywhere(&s, &c);
}

#[test]
fn a_direction_without_any_container_still_judges_its_profiles() {
    // No ingress rule anywhere: the ingress layer has no row, but every
    // VNIC's profile reads the fold of the peer's class.
    let s = from_toml_str(
        r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
[[security_list]]
name = "out"
vcn = "v"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
[[subnet]]
name = "a"
vcn = "v"
cidr_block = "10.0.1.0/24"
security_lists = ["out"]
[[vnic]]
name = "x"
subnet = "a"
private_ips = ["10.0.1.10"]
[[vnic]]
name = "y"
subnet = "a"
private_ips = ["10.0.1.20"]
"#,
        "no-ingress.toml",
    )
    .unwrap()
    .scenario;
    let c = Compiled::new(&s, &Config::default()).unwrap();
    assert_eq!(c.ingress.containers(), 0);
    let pk = crate::packet::Packet::tcp(
        "10.0.1.10".parse().unwrap(),
        40000,
        "10.0.1.20".parse().unwrap(),
        80,
    );
    let reference = crate::eval::evaluate(&s, &pk, Context::First);
    assert_eq!(c.judge(&pk, Context::First).judgement, reference.judgement);
}
