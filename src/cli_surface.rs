//! The command line's surface held still: every command's flags with their
//! names, aliases, defaults, arities, conflicts and what their value
//! parsers take, in one snapshot. The contract
//! (/work/shared/spec/cli-contract.md) names flags, never their order or
//! help text; a refactor of the clap structs (the flag groups of
//! `flags.rs`) must leave this snapshot as it is.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;

use clap::CommandFactory;

/// Values tried on every flag's value parser: what each one takes or
/// refuses stands for the parser (a prefix with host bits, a tunnel name
/// in capitals, a negative or fractional number, a class list).
const PROBES: [&str; 12] = [
    "0",
    "1",
    "-1",
    "1.5",
    "18446744073709551616",
    "abc",
    "vxlan",
    "VXLAN",
    "10.96.0.0/16",
    "10.0.0.1/8",
    "10.0.0.1",
    "would-break,newly-allowed",
];

/// One line per flag of `cmd` and of each of its subcommands, sorted by
/// command path and flag id.
/// `+` when the value parser of flag `--long` (`a`, of the command
/// `words`) takes `probe`, `-` when it refuses it. Parsed by the whole
/// command line, the flag alone: a missing operand or a flag that needs
/// another is reported after the values are parsed, so only a refused
/// value is counted.
fn takes(words: &[&str], long: &str, a: &clap::Arg, probe: &str) -> char {
    let min = a.get_num_args().map_or(1, |n| n.min_values().max(1));
    let mut argv: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
    if min == 1 {
        argv.push(format!("--{long}={probe}"));
    } else {
        argv.push(format!("--{long}"));
        argv.extend(std::iter::repeat_n(probe.to_owned(), min));
    }
    match crate::Cli::command().try_get_matches_from(argv) {
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::InvalidValue | clap::error::ErrorKind::ValueValidation
            ) =>
        {
            '-'
        }
        _ => '+',
    }
}

fn surface(cmd: &clap::Command, words: &[&str], out: &mut String) {
    let path = words.join(" ");
    let mut args: Vec<&clap::Arg> = cmd.get_arguments().collect();
    args.sort_by_key(|a| a.get_id().as_str().to_owned());
    for a in args {
        let id = a.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        let _ = write!(out, "{path} {id}:");
        if let Some(l) = a.get_long() {
            let _ = write!(out, " long={l}");
        }
        if let Some(s) = a.get_short() {
            let _ = write!(out, " short={s}");
        }
        if let Some(al) = a.get_all_aliases() {
            let _ = write!(out, " aliases={al:?}");
        }
        let _ = write!(out, " action={:?}", a.get_action());
        if let Some(n) = a.get_num_args() {
            let _ = write!(out, " num_args={n:?}");
        }
        if let Some(d) = a.get_value_delimiter() {
            let _ = write!(out, " delimiter={d:?}");
        }
        if !a.get_default_values().is_empty() {
            let _ = write!(out, " default={:?}", a.get_default_values());
        }
        if let Some(v) = a.get_value_names() {
            let v: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
            let _ = write!(out, " value_names={v:?}");
        }
        let pv: Vec<String> = a
            .get_possible_values()
            .iter()
            .map(|p| p.get_name().to_owned())
            .collect();
        if !pv.is_empty() {
            let _ = write!(out, " possible={pv:?}");
        }
        for (set, name) in [
            (a.is_required_set(), "required"),
            (a.is_ignore_case_set(), "ignore_case"),
            (a.is_last_set(), "last"),
            (a.is_hide_set(), "hidden"),
            (a.is_positional(), "positional"),
        ] {
            if set {
                let _ = write!(out, " {name}");
            }
        }
        let mut conflicts: Vec<&str> = cmd
            .get_arg_conflicts_with(a)
            .iter()
            .map(|c| c.get_id().as_str())
            .collect();
        conflicts.sort_unstable();
        if !conflicts.is_empty() {
            let _ = write!(out, " conflicts={conflicts:?}");
        }
        if a.get_action().takes_values()
            && let Some(long) = a.get_long()
        {
            let takes: String = PROBES.iter().map(|p| takes(words, long, a, p)).collect();
            let _ = write!(out, " takes={takes}");
        }
        out.push('\n');
    }
    for sub in cmd.get_subcommands() {
        let mut w = words.to_vec();
        w.push(sub.get_name());
        surface(sub, &w, out);
    }
}

#[test]
fn every_commands_flags_keep_their_names_defaults_and_parsers() {
    let mut cmd = crate::Cli::command();
    cmd.build();
    let mut text = String::new();
    surface(&cmd, &["zprsim"], &mut text);
    // The groups shared by several commands are there in each of them.
    for sub in ["replay", "diff", "explain", "bench"] {
        for flag in ["dedup", "decap", "node_local"] {
            assert!(
                text.contains(&format!("zprsim {sub} {flag}:")),
                "{sub} {flag}"
            );
        }
    }
    insta::assert_snapshot!("flag_surface", text);
}
