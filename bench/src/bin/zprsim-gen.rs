//! `zprsim-gen`: writes scale scenarios and captures, reproducible from a seed.
//!
//! ```text
//! zprsim-gen scenario --preset large --seed 1 -o /tmp/big.toml
//! zprsim-gen scenario --seed 1 --vnics 10000 --sl-rules 100000 --nsg-rules 12000 --statements 400 -o /tmp/big.toml
//! zprsim-gen capture --scenario /tmp/big.toml --packets 1000000 --seed 1 -o /tmp/big.pcap
//! zprsim-gen capture --scenario /tmp/big.toml --packets 1000000 --flows 20000 --realistic -o /tmp/real.pcap
//! zprsim-gen capture --scenario /tmp/big.toml --packets 1000000 --flows 20000 --realistic --allowed-share 0.9 -o /tmp/real-allowed.pcap
//! zprsim-gen oke --nodes 250 --pods 4000 -o /tmp/oke-250
//! zprsim-gen export --scenario /tmp/big.toml -o /tmp/big-export   # and /tmp/big-export.services.json
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use zprsim_bench::scale::{self, ScaleSpec};
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::verdict::{Context, Verdict};

#[derive(Debug, Parser)]
#[command(
    name = "zprsim-gen",
    about = "Generate scale scenarios and captures for zprsim"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a scenario (native TOML).
    Scenario(Box<ScenarioArgs>),
    /// Write an Ethernet pcap of first packets over a scenario.
    Capture(CaptureArgs),
    /// Write the OKE example grown to a cluster of the given size into a
    /// directory: `scenario.toml`, `policies/orders.zpl`, `expect.toml`
    /// (`zprsim_bench::oke`).
    Oke(OkeArgs),
    /// Write a scenario as the OCI CLI JSON a tenancy's export gives
    /// (`zprsim_bench::oci_export`, the file names of
    /// `examples/export-oci.sh`) into a directory DIR, and its service
    /// CIDRs beside it as `DIR.services.json` (for `zprsim import oci
    /// --services`; inside DIR it would be read as a CLI output): a
    /// tenancy of any size to import.
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// The scenario to export.
    #[arg(long)]
    scenario: PathBuf,
    /// Output directory (created if missing; its files are replaced).
    #[arg(short = 'o', long)]
    output: PathBuf,
}

fn export_cmd(a: &ExportArgs) -> Result<(), String> {
    let loaded =
        zprsim_dataplane::scenario_file::load_path(&a.scenario).map_err(|e| e.to_string())?;
    let (files, services) = zprsim_bench::oci_export::export(&loaded.scenario);
    let dir = &a.output;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let write = |p: &std::path::Path, body: &str| {
        std::fs::write(p, body).map_err(|e| format!("cannot write `{}`: {e}", p.display()))
    };
    let mut bytes = 0;
    for (name, body) in &files {
        write(&dir.join(name), body)?;
        bytes += body.len();
    }
    let mut beside = dir.clone().into_os_string();
    beside.push(".services.json");
    let beside = PathBuf::from(beside);
    write(&beside, &services)?;
    eprintln!(
        "{}: {} CLI output(s), {bytes} bytes, and {}, from {}",
        dir.display(),
        files.len(),
        beside.display(),
        a.scenario.display()
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
struct OkeArgs {
    /// Dual-stack worker nodes (at least 2).
    #[arg(long, default_value_t = 250)]
    nodes: usize,
    /// Pod IPs (31 to a secondary VNIC; at least 32, so that one VNIC runs billing).
    #[arg(long, default_value_t = 4_000)]
    pods: usize,
    /// Output directory (created if missing).
    #[arg(short = 'o', long)]
    output: PathBuf,
}

fn oke_cmd(a: &OkeArgs) -> Result<(), String> {
    let text = zprsim_bench::oke::scenario(a.nodes, a.pods)?;
    let dir = &a.output;
    let write = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, body).map_err(|e| format!("cannot write `{}`: {e}", p.display()))
    };
    std::fs::create_dir_all(dir.join("policies"))
        .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    write("scenario.toml", &text)?;
    write("policies/orders.zpl", zprsim_bench::oke::POLICY)?;
    write("expect.toml", zprsim_bench::oke::EXPECT)?;
    eprintln!(
        "{}: OKE cluster of {} dual-stack nodes and {} pod IPs ({} bytes of scenario)",
        dir.display(),
        a.nodes,
        a.pods,
        text.len()
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
struct ScenarioArgs {
    /// Start from this preset (small, medium, large, wide, beyond); the counts
    /// below override it.
    #[arg(long, default_value = "large")]
    preset: String,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// VCNs.
    #[arg(long)]
    vcns: Option<usize>,
    /// Subnets.
    #[arg(long)]
    subnets: Option<usize>,
    /// VNICs.
    #[arg(long)]
    vnics: Option<usize>,
    /// Node pools (groups sharing NSGs and attributes).
    #[arg(long)]
    node_pools: Option<usize>,
    /// Security lists.
    #[arg(long)]
    security_lists: Option<usize>,
    /// Security-list rules.
    #[arg(long)]
    sl_rules: Option<usize>,
    /// NSGs.
    #[arg(long)]
    nsgs: Option<usize>,
    /// NSG rules.
    #[arg(long)]
    nsg_rules: Option<usize>,
    /// ZPR policies.
    #[arg(long)]
    zpr_policies: Option<usize>,
    /// ZPR statements.
    #[arg(long)]
    statements: Option<usize>,
    /// Distinct workload attribute values.
    #[arg(long)]
    workloads: Option<usize>,
    /// Distinct external CIDRs in the rule catalogue.
    #[arg(long)]
    external_cidrs: Option<usize>,
    /// Share of dual-stack subnets (0 to 1).
    #[arg(long)]
    ipv6_share: Option<f64>,
    /// Random NSG membership: each VNIC in 0..=N NSGs of its VCN (and its
    /// workload drawn per VNIC), instead of sharing its node pool's.
    #[arg(long)]
    random_nsgs: Option<usize>,
    /// Share of NSG rules whose peer is an NSG (0 to 1).
    #[arg(long)]
    nsg_peer_share: Option<f64>,
    /// Share of pools (or VNICs, with --random-nsgs) with a workload (0 to 1).
    #[arg(long)]
    workload_share: Option<f64>,
    /// Output file.
    #[arg(short = 'o', long)]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
struct CaptureArgs {
    /// The scenario the traffic runs over.
    #[arg(long)]
    scenario: PathBuf,
    /// Number of packets.
    #[arg(long, default_value_t = 1_000_000)]
    packets: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Do not compile the scenario to report the allowed share.
    #[arg(long)]
    no_judge: bool,
    /// Realistic traffic instead of first packets: flows with handshakes,
    /// teardowns and replies, Pareto sizes, some IPv6, fragments and VLAN
    /// tags (`zprsim_dataplane::synth`).
    #[arg(long)]
    realistic: bool,
    /// Flows of the realistic capture.
    #[arg(long, default_value_t = 20_000)]
    flows: usize,
    /// With `--realistic`: share of the flows (0 to 1) steered onto paths
    /// the compiled scenario allows (`synth::Allowed`), so the capture
    /// looks like a network running its policy; 0 (the default) draws
    /// random pairs of hosts, most of which a strict policy drops.
    #[arg(long, default_value_t = 0.0, requires = "realistic")]
    allowed_share: f64,
    /// Output file.
    #[arg(short = 'o', long)]
    output: PathBuf,
}

fn spec_of(a: &ScenarioArgs) -> Result<ScaleSpec, String> {
    let mut s = ScaleSpec::preset(&a.preset).ok_or_else(|| {
        format!(
            "unknown preset `{}` (expected one of {})",
            a.preset,
            ScaleSpec::PRESETS.join(", ")
        )
    })?;
    s.seed = a.seed;
    let set = |field: &mut usize, v: Option<usize>| {
        if let Some(v) = v {
            *field = v;
        }
    };
    set(&mut s.vcns, a.vcns);
    set(&mut s.subnets, a.subnets);
    set(&mut s.vnics, a.vnics);
    set(&mut s.node_pools, a.node_pools);
    set(&mut s.security_lists, a.security_lists);
    set(&mut s.sl_rules, a.sl_rules);
    set(&mut s.nsgs, a.nsgs);
    set(&mut s.nsg_rules, a.nsg_rules);
    set(&mut s.zpr_policies, a.zpr_policies);
    set(&mut s.statements, a.statements);
    set(&mut s.workloads, a.workloads);
    set(&mut s.external_cidrs, a.external_cidrs);
    if let Some(x) = a.ipv6_share {
        if !(0.0..=1.0).contains(&x) {
            return Err(format!("`--ipv6-share {x}` is not between 0 and 1"));
        }
        s.ipv6_share = x;
    }
    if a.random_nsgs.is_some() {
        s.random_nsgs = a.random_nsgs;
    }
    for (flag, field, v) in [
        ("--nsg-peer-share", &mut s.nsg_peer_share, a.nsg_peer_share),
        ("--workload-share", &mut s.workload_share, a.workload_share),
    ] {
        if let Some(x) = v {
            if !(0.0..=1.0).contains(&x) {
                return Err(format!("`{flag} {x}` is not between 0 and 1"));
            }
            *field = x;
        }
    }
    Ok(s)
}

fn scenario_cmd(a: &ScenarioArgs) -> Result<(), String> {
    let spec = spec_of(a)?;
    let t0 = Instant::now();
    let s = scale::scenario(&spec);
    let mut text = scale::to_toml(&s);
    // The same scenario in the JSON form when the name says so (the
    // loader picks the format from the extension).
    let json = a
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if json {
        let v: serde_json::Value =
            toml::from_str(&text).map_err(|e| format!("cannot convert to JSON: {e}"))?;
        text = serde_json::to_string(&v).map_err(|e| format!("cannot convert to JSON: {e}"))?;
    }
    std::fs::write(&a.output, &text)
        .map_err(|e| format!("cannot write `{}`: {e}", a.output.display()))?;
    let sl: usize = s
        .security_lists
        .iter()
        .map(|l| l.ingress.len() + l.egress.len())
        .sum();
    let nsg: usize = s.nsgs.iter().map(|n| n.rules.len()).sum();
    let st: usize = s.zpr_policies.iter().map(|p| p.statements.len()).sum();
    eprintln!(
        "{}: {} vcns, {} subnets, {} vnics, {} security lists ({sl} rules), {} nsgs ({nsg} rules), {} policies ({st} statements); {} bytes in {:.2} s",
        a.output.display(),
        s.vcns.len(),
        s.subnets.len(),
        s.vnics.len(),
        s.security_lists.len(),
        s.nsgs.len(),
        s.zpr_policies.len(),
        text.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn capture_cmd(a: &CaptureArgs) -> Result<(), String> {
    let loaded =
        zprsim_dataplane::scenario_file::load_path(&a.scenario).map_err(|e| e.to_string())?;
    let s = &loaded.scenario;
    let t0 = Instant::now();
    if a.realistic {
        let cfg = zprsim_dataplane::synth::SynthConfig {
            packets: a.packets,
            flows: a.flows,
            seed: a.seed,
            ..zprsim_dataplane::synth::SynthConfig::default()
        };
        if !(0.0..=1.0).contains(&a.allowed_share) {
            return Err(format!(
                "`--allowed-share {}` is not between 0 and 1",
                a.allowed_share
            ));
        }
        let compiled = if a.allowed_share > 0.0 {
            Some(
                Compiled::new(s, &Config::default())
                    .map_err(|e| format!("{}: error: {e}", a.scenario.display()))?,
            )
        } else {
            None
        };
        let allowed = compiled
            .as_ref()
            .map(|compiled| zprsim_dataplane::synth::Allowed {
                compiled,
                share: a.allowed_share,
            });
        let f = std::fs::File::create(&a.output)
            .map_err(|e| format!("cannot write `{}`: {e}", a.output.display()))?;
        let (_, st) = zprsim_dataplane::synth::write_realistic_allowed(
            s,
            &cfg,
            allowed,
            std::io::BufWriter::new(f),
        )
        .map_err(|e| format!("cannot write `{}`: {e}", a.output.display()))?;
        eprintln!(
            "{}: {} packets in {} flows ({} replies, {} IPv6, {} fragments, {} VLAN-tagged) in {:.2} s",
            a.output.display(),
            st.packets,
            st.flows,
            st.replies,
            st.ipv6,
            st.fragments,
            st.vlan,
            t0.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let ps = scale::packets(s, a.packets, a.seed);
    scale::write_capture(&a.output, &ps, a.seed)
        .map_err(|e| format!("cannot write `{}`: {e}", a.output.display()))?;
    eprintln!(
        "{}: {} packets in {:.2} s",
        a.output.display(),
        ps.len(),
        t0.elapsed().as_secs_f64()
    );
    if !a.no_judge {
        let c = Compiled::new(s, &Config::default())
            .map_err(|e| format!("{}: error: {e}", a.scenario.display()))?;
        let allowed = ps
            .iter()
            .filter(|p| c.judge(p, Context::First).judgement.verdict == Verdict::Allow)
            .count();
        #[allow(clippy::cast_precision_loss)]
        let pct = if ps.is_empty() {
            0.0
        } else {
            100.0 * allowed as f64 / ps.len() as f64
        };
        eprintln!("allowed as first packets: {allowed} ({pct:.1}%)");
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match &cli.command {
        Command::Scenario(a) => scenario_cmd(a),
        Command::Capture(a) => capture_cmd(a),
        Command::Oke(a) => oke_cmd(a),
        Command::Export(a) => export_cmd(a),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zprsim-gen: error: {e}");
            ExitCode::FAILURE
        }
    }
}
