//! The flag groups several commands share, each declared once, with the
//! checks that go with it: the capture-shaping flags (`--dedup`, `--decap`,
//! `--node-local`: `replay`, `diff`, `explain --capture`, `bench
//! --capture`) and the flow-log reader's bounds (`replay`, `diff`). Each
//! command puts a group among its own flags with `#[command(flatten)]`,
//! so a flag's name, help, default and value parser live here only
//! (held still by the snapshot of `cli_surface.rs`).

use zprsim_dataplane::flowlog::spill::SpillConfig;

use crate::Failure;

/// How captured records are shaped before they are judged. Each flag
/// looks at captured packets: with flow logs (`replay`, `diff`) or
/// without `--capture` (`explain`, `bench`) it is a usage error.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CaptureShaping {
    /// Count a packet captured on several interfaces once: a capture on
    /// Linux's `any` device (`tcpdump -i any` on a node) sees a forwarded
    /// packet on each interface it crosses. A record holding the same IP
    /// packet as one read less than 1 ms before (TTL and IPv4 checksum
    /// aside) is left out and counted in `copies` (captures only; `explain`
    /// and `bench`: with `--capture`).
    #[arg(long)]
    pub dedup: bool,
    /// Judge the frame inside each record's tunnel header: `vxlan` for the
    /// capture of an OCI VTAP's target (mirrored frames in VXLAN on UDP
    /// 4789). Other records are judged as captured, and counted (captures
    /// only; `explain` and `bench`: with `--capture`).
    #[arg(long, value_enum, ignore_case = true)]
    pub decap: Option<Decap>,
    /// Leave out packets to or from this prefix: traffic that never
    /// reaches the VCN, as a Kubernetes service range (OKE's default
    /// 10.96.0.0/16) in a capture on a node, where kube-proxy rewrites the
    /// ClusterIP before the packet leaves. Repeatable or comma-separated;
    /// counted in `node_local` (captures only; `explain` and `bench`: with
    /// `--capture`).
    #[arg(long, value_name = "CIDR", value_parser = parse_prefix, value_delimiter = ',')]
    pub node_local: Vec<ipnet::IpNet>,
}

impl CaptureShaping {
    /// Whether any of the flags is given.
    pub fn any(&self) -> bool {
        self.first_given().is_some()
    }

    /// The first flag given, by its name on the command line.
    pub fn first_given(&self) -> Option<&'static str> {
        [
            (self.dedup, "--dedup"),
            (self.decap.is_some(), "--decap"),
            (!self.node_local.is_empty(), "--node-local"),
        ]
        .iter()
        .find_map(|&(given, flag)| given.then_some(flag))
    }

    /// Whether `--decap vxlan` is given.
    pub fn vxlan(&self) -> bool {
        self.decap == Some(Decap::Vxlan)
    }

    /// [`check_node_local`] of these prefixes.
    ///
    /// # Errors
    /// The first prefix holding an address of a VNIC of `s`.
    pub fn check_node_local(
        &self,
        s: &zprsim_control::model::Scenario,
        scenario: &std::path::Path,
    ) -> Result<(), Failure> {
        check_node_local(&self.node_local, s, scenario)
    }
}

/// The tunnel `--decap` opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Decap {
    /// VXLAN on UDP 4789 (RFC 7348), as an OCI VTAP sends its mirror.
    Vxlan,
}

/// A `--node-local` prefix: a CIDR or one address. A CIDR with host bits
/// set is refused, as everywhere else (docs/scenario-format.md): cleared,
/// the typo `10.0.0.1/8` for `10.96.0.1/32` would leave out every packet of
/// the VCN without a word.
///
/// # Errors
/// Neither a CIDR nor an address, or a CIDR with host bits set.
pub fn parse_prefix(s: &str) -> Result<ipnet::IpNet, String> {
    if let Ok(n) = s.parse::<ipnet::IpNet>() {
        if n.trunc() != n {
            return Err(format!(
                "`{s}` has host bits set (did you mean `{}`, or the address `{}`?)",
                n.trunc(),
                n.addr()
            ));
        }
        return Ok(n);
    }
    s.parse::<std::net::IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| format!("`{s}` is neither a CIDR (10.96.0.0/16) nor an address"))
}

/// A `--node-local` prefix that holds an address of a VNIC of `s` (read
/// from `scenario`), refused: such an address's packets cross the VCN, and
/// every one of them would be left out unjudged. `--node-local
/// 10.0.0.0/8` (for OKE's service range 10.96.0.0/16) left out the whole
/// VCN, and `replay --fail-on-drop` passed on a capture of which nothing
/// was judged.
///
/// # Errors
/// The first such prefix, with the VNIC and its address.
pub(crate) fn check_node_local(
    prefixes: &[ipnet::IpNet],
    s: &zprsim_control::model::Scenario,
    scenario: &std::path::Path,
) -> Result<(), Failure> {
    for net in prefixes {
        if let Some((v, ip)) = s.vnics.iter().find_map(|v| {
            v.private_ips
                .iter()
                .find(|ip| net.contains(*ip))
                .map(|ip| (v, ip))
        }) {
            return Err(Failure::Input(format!(
                "error: `--node-local {net}` holds {ip}, an address of VNIC `{}` in `{}`: packets to or from it cross the VCN, and would be left out unjudged (a node-local prefix is traffic that never leaves the node, such as a Kubernetes service range)",
                zprsim_control::escape::escape(&v.name),
                zprsim_dataplane::output::shown(scenario)
            )));
        }
    }
    Ok(())
}

/// The flow-log reader's bounds (`replay`, `diff`; flow-log input only).
#[derive(Debug, Clone, clap::Args)]
pub struct FlowLogLimits {
    /// Flow-log records read at most (flow-log input only). Past
    /// `--flow-log-buffer` they are kept in temporary files, not in
    /// memory, so this bounds the run's length and disk, not its memory.
    #[arg(long, default_value_t = zprsim_dataplane::flowlog::read::MAX_RECORDS_SPILLED)]
    pub max_flow_log_records: usize,
    /// Flow-log records held in memory (128 bytes each) before a sorted run
    /// of them is written to a temporary file in `$TMPDIR` (flow-log input
    /// only; at least 1).
    #[arg(long, default_value_t = zprsim_dataplane::flowlog::spill::DEFAULT_BUFFER)]
    pub flow_log_buffer: usize,
    /// MiB of temporary files the flow-log records may take at most
    /// (checked before each run is written).
    #[arg(long, default_value_t = zprsim_dataplane::flowlog::spill::DEFAULT_MAX_SPILL >> 20)]
    pub max_flow_log_spill: u64,
    /// Flow-log records whose window starts in one second, at most: one
    /// second's records are held at once (about 300 bytes each).
    #[arg(long, default_value_t = zprsim_dataplane::flowlog::spill::DEFAULT_MAX_GROUP)]
    pub max_flow_log_group: usize,
    /// The flags of this group given on the command line, not taken by
    /// default ([`flow_log_flags_given`]): with captures they are a usage
    /// error ([`FlowLogLimits::refuse_given`]).
    #[arg(skip)]
    pub given: Vec<&'static str>,
}

/// The flags of [`FlowLogLimits`], by their argument ids.
const FLOW_LOG_FLAGS: [(&str, &str); 4] = [
    ("max_flow_log_records", "--max-flow-log-records"),
    ("flow_log_buffer", "--flow-log-buffer"),
    ("max_flow_log_spill", "--max-flow-log-spill"),
    ("max_flow_log_group", "--max-flow-log-group"),
];

/// The flow-log-only flags given on the command line of `replay` or
/// `diff` (`m`: the subcommand's matches), not taken by default.
pub(crate) fn flow_log_flags_given(m: &clap::ArgMatches) -> Vec<&'static str> {
    FLOW_LOG_FLAGS
        .iter()
        .filter(|(id, _)| {
            m.try_get_raw(id).is_ok()
                && m.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
        })
        .map(|&(_, flag)| flag)
        .collect()
}

impl FlowLogLimits {
    /// `--flow-log-buffer`, `--max-flow-log-group` and
    /// `--max-flow-log-records` at least 1 (checked, not raised to 1: a 0
    /// given was taken for 1, and the group's error then named a limit of
    /// 1 the user never gave; `--max-flow-log-records 0` was taken, and the
    /// run failed at the first record read, QA round ten).
    ///
    /// # Errors
    /// The first of them given as 0.
    pub fn check(&self) -> Result<(), Failure> {
        for (flag, n) in [
            ("--flow-log-buffer", self.flow_log_buffer),
            ("--max-flow-log-group", self.max_flow_log_group),
            ("--max-flow-log-records", self.max_flow_log_records),
        ] {
            if n == 0 {
                return Err(Failure::Input(format!(
                    "error: `{flag} 0`: expected at least 1"
                )));
            }
        }
        Ok(())
    }

    /// The spill's bounds, with `max_connections` open flow records.
    pub fn spill(&self, max_connections: usize) -> SpillConfig {
        SpillConfig {
            buffer: self.flow_log_buffer,
            max_spill: self.max_flow_log_spill.saturating_mul(1 << 20),
            max_group: self.max_flow_log_group,
            max_connections,
            dir: None,
        }
    }

    /// The usage error of flow-log-only flags given with captures, as the
    /// capture-only flags are with flow logs
    /// ([`crate::flowlog::refuse_capture_flags`]): a bound that does
    /// nothing was taken without a word.
    ///
    /// # Errors
    /// When any of them was given on the command line.
    pub fn refuse_given(&self) -> Result<(), Failure> {
        let Some((last, rest)) = self.given.split_last() else {
            return Ok(());
        };
        let named = if rest.is_empty() {
            format!("`{last}` needs flow-log input: it bounds")
        } else {
            let rest: Vec<String> = rest.iter().map(|f| format!("`{f}`")).collect();
            format!(
                "{} and `{last}` need flow-log input: they bound",
                rest.join(", ")
            )
        };
        Err(Failure::Input(format!(
            "error: {named} how flow-log records are read, and the inputs are captures"
        )))
    }
}
