//! `zprsim check SCENARIO [--json]`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::model::Scenario;
use zprsim_control::warning::Warning;
use zprsim_dataplane::output::{self, Plan};

use crate::{Failure, out};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario (TOML, or JSON when it ends in `.json`).
    scenario: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    scenario: String,
    name: Option<String>,
    vcns: usize,
    subnets: usize,
    vnics: usize,
    gateways: usize,
    route_tables: usize,
    route_rules: usize,
    security_lists: usize,
    nsgs: usize,
    rules: usize,
    security_list_rules: usize,
    nsg_rules: usize,
    zpr_policies: usize,
    statements: usize,
    prefixes: usize,
    address_classes: usize,
    service_classes: usize,
    route_classes: usize,
    security_profiles: usize,
    security_tables: usize,
    zpr_profiles: usize,
    table_entries: usize,
    table_bytes: usize,
    compile_s: f64,
    compile_phases: std::collections::BTreeMap<&'static str, f64>,
    zpr_only_vcns: Vec<String>,
    zpr_only_mode: &'static str,
    warnings: Vec<Warning>,
}

fn counts(s: &Scenario) -> (usize, usize, usize, usize) {
    let sl: usize = s
        .security_lists
        .iter()
        .map(|l| l.ingress.len() + l.egress.len())
        .sum();
    let nsg: usize = s.nsgs.iter().map(|n| n.rules.len()).sum();
    let route: usize = s.route_tables.iter().map(|t| t.rules.len()).sum();
    let stmts: usize = s.zpr_policies.iter().map(|p| p.statements.len()).sum();
    (sl, nsg, route, stmts)
}

/// Refuses standard output redirected onto the scenario (`zprsim check
/// s.toml >> s.toml`) before anything is read or written.
/// (A scenario that cannot be read is left to the loader's message.)
fn stdout_is_no_input(scenario: &Path) -> Result<Plan, Failure> {
    let mut plan = Plan::new();
    plan.standard_output();
    if !output::is_std(scenario) && !scenario.is_file() {
        return Ok(plan);
    }
    plan.input("SCENARIO", scenario);
    plan.check()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    Ok(plan)
}

/// Runs `check`.
pub fn run(a: &Args) -> Result<ExitCode, Failure> {
    let plan = stdout_is_no_input(&a.scenario)?;
    let loaded = crate::load_scenario(&plan, "SCENARIO", &a.scenario)?;
    let s = &loaded.scenario;
    // The compile's independent parts on both cores (`Compiled::new_with`).
    let jobs = zprsim_dataplane::scenario_file::Threads::available();
    let compiled = Compiled::new_with(s, &Config::default(), &jobs).map_err(|e| {
        Failure::Input(format!(
            "{}: error: {e}",
            zprsim_dataplane::output::shown(&a.scenario)
        ))
    })?;
    let st = compiled.stats();
    let (sl, nsg, route, stmts) = counts(s);
    let r = Report {
        scenario: a.scenario.display().to_string(),
        name: s.name.clone(),
        vcns: s.vcns.len(),
        subnets: s.subnets.len(),
        vnics: s.vnics.len(),
        gateways: s.gateways.len(),
        route_tables: s.route_tables.len(),
        route_rules: route,
        security_lists: s.security_lists.len(),
        nsgs: s.nsgs.len(),
        rules: sl + nsg,
        security_list_rules: sl,
        nsg_rules: nsg,
        zpr_policies: s.zpr_policies.len(),
        statements: stmts,
        prefixes: st.prefixes,
        address_classes: st.address_classes,
        service_classes: st.service_classes,
        route_classes: st.route_classes,
        security_profiles: st.security_profiles,
        security_tables: st.security_tables,
        zpr_profiles: st.zpr_profiles,
        table_entries: st.table_entries,
        table_bytes: st.table_bytes,
        compile_s: st.compile_s,
        compile_phases: st.phases.iter().copied().collect(),
        zpr_only_vcns: s
            .vcns
            .iter()
            .filter(|v| v.is_zpr_only)
            .map(|v| v.name.clone())
            .collect(),
        zpr_only_mode: match s.options.zpr_only {
            zprsim_control::model::ZprOnlyMode::Report => "report",
            zprsim_control::model::ZprOnlyMode::DefaultDeny => "default-deny",
        },
        warnings: loaded.warnings.clone(),
    };
    if a.json {
        let mut text = serde_json::to_string_pretty(&r)?;
        text.push('\n');
        out(&text)?;
    } else {
        let mut t = String::new();
        let name = r
            .name
            .as_deref()
            .map(|n| format!(" `{n}`"))
            .unwrap_or_default();
        t.push_str(&format!("scenario{name} ({}): ok\n", r.scenario));
        t.push_str(&format!(
            "  {} VCNs, {} subnets, {} VNICs, {} gateways\n  {} route tables ({} rules), {} security lists ({} rules), {} NSGs ({} rules)\n  {} ZPR policies ({} statements)\n",
            r.vcns, r.subnets, r.vnics, r.gateways, r.route_tables, r.route_rules, r.security_lists,
            r.security_list_rules, r.nsgs, r.nsg_rules, r.zpr_policies, r.statements
        ));
        t.push_str(&format!(
            "compiled in {:.3} ms: {} prefixes, {} address classes, {} service classes, {} route classes,\n  {} security profiles, {} ZPR profiles, {} table entries, {} bytes ({:.1} KiB)\n",
            r.compile_s * 1e3,
            r.prefixes,
            r.address_classes,
            r.service_classes,
            r.route_classes,
            r.security_profiles,
            r.zpr_profiles,
            r.table_entries,
            r.table_bytes,
            r.table_bytes as f64 / 1024.0
        ));
        if !r.zpr_only_vcns.is_empty() {
            t.push_str(&format!(
                "VCNs with is_zpr_only: {} (option zpr_only = \"{}\"{})\n",
                r.zpr_only_vcns.join(", "),
                r.zpr_only_mode,
                if r.zpr_only_mode == "report" {
                    ": the flag changes no verdict"
                } else {
                    ": every VNIC there is default-deny under ZPR"
                }
            ));
        }
        // The warnings themselves go to stderr, the count to stdout.
        let mut warnings = String::new();
        for w in &r.warnings {
            warnings.push_str(&format!("{w}\n"));
        }
        crate::err(&warnings);
        if r.warnings.is_empty() {
            t.push_str("no warnings\n");
        } else {
            t.push_str(&format!("{} warning(s), on stderr\n", r.warnings.len()));
        }
        out(&t)?;
    }
    // Printed in full: end without freeing the scenario and the tables
    // (src/leave.rs says why).
    crate::leave::leave(0)
}

/// Arguments of `dump-table`.
#[derive(Debug, clap::Args)]
pub struct DumpArgs {
    /// The scenario (TOML, or JSON when it ends in `.json`).
    scenario: PathBuf,
}

/// Runs `dump-table`: the compiled classes and tables, readable.
pub fn dump(a: &DumpArgs) -> Result<ExitCode, Failure> {
    let plan = stdout_is_no_input(&a.scenario)?;
    let loaded = crate::load_scenario(&plan, "SCENARIO", &a.scenario)?;
    let compiled = Compiled::new(&loaded.scenario, &Config::default()).map_err(|e| {
        Failure::Input(format!(
            "{}: error: {e}",
            zprsim_dataplane::output::shown(&a.scenario)
        ))
    })?;
    out(&compiled.dump(&loaded.scenario))?;
    Ok(ExitCode::SUCCESS)
}
