//! Every command in README.md and docs/*.md works from a clean clone.
//!
//! The shell commands are taken from the code blocks (`sh`, `bash`: every
//! line; `console`: the lines after a `$ ` or `# ` prompt, with the output
//! that follows) and checked:
//!
//! - every `zprsim` command names a real subcommand and only flags its
//!   `--help` lists;
//! - every file it reads exists in the repository, or an earlier command
//!   of the same page writes it (`-o`, `--report`, ...);
//! - `$ cat FILE` shows the file as it is in the repository;
//! - the runnable subset (`check`, `explain`, `replay`, `dump-table`,
//!   `verify` on files of the repository, no root needed) is run: the exit
//!   code must fit what the page shows (an `error:` line: 2, else 0 or 1)
//!   and every output line the page shows (timings, sizes and `...` aside)
//!   must be in the real output;
//! - no Markdown link leaves the repository.
//!
//! A block of commands for the reader's own files (a CI snippet) is marked
//! `<!-- docs-test: skip (why) -->` on the line before its fence.
//!
//! Commands that need root, a release build, the network or minutes
//! (`lab`, `tap`, `cargo bench`, `zprsim-gen` with a million packets) are
//! checked for flags and files only; the list is printed with the count.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pages checked.
fn pages() -> Vec<PathBuf> {
    let mut v = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    v.extend(docs);
    v
}

/// One command of a page, with the output the page shows after it.
#[derive(Debug, Clone)]
struct Cmd {
    page: String,
    line: usize,
    text: String,
    output: Vec<String>,
}

impl Cmd {
    fn at(&self) -> String {
        format!("{}:{}: `{}`", self.page, self.line, self.text)
    }
}

fn is_prompted(rest: &str) -> bool {
    ["zprsim", "cargo", "target/", "cat ", "tcpdump", "ip "]
        .iter()
        .any(|p| rest.starts_with(p))
}

/// The commands of a page's shell code blocks, in order.
fn commands(page: &Path) -> Vec<Cmd> {
    let text = std::fs::read_to_string(page).unwrap();
    let name = page
        .strip_prefix(root())
        .unwrap_or(page)
        .display()
        .to_string();
    let mut out: Vec<Cmd> = Vec::new();
    let mut lang: Option<String> = None;
    let mut pending = String::new();
    let mut pending_line = 0;
    let mut previous = "";
    // Commands of the current block start at this index of `out`.
    let mut block_start = 0;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some(fence) = line.trim_start().strip_prefix("```") {
            block_start = out.len();
            lang = match lang {
                Some(_) => None,
                // A block of commands for the reader's own files, marked
                // so on the line before the fence: not checked.
                None if previous.starts_with("<!-- docs-test: skip") => Some("skipped".into()),
                None => Some(fence.trim().to_owned()),
            };
            continue;
        }
        if lang.is_none() && !line.trim().is_empty() {
            previous = line.trim();
        }
        let Some(l) = lang.as_deref() else { continue };
        match l {
            "sh" | "bash" | "shell" => {
                let t = line.trim();
                if t.is_empty() || (t.starts_with('#') && pending.is_empty()) {
                    continue;
                }
                if pending.is_empty() {
                    pending_line = n;
                }
                // A comment at the end of a line is not part of the command.
                let t = match t.find("  #") {
                    Some(c) => t[..c].trim_end(),
                    None => t,
                };
                if let Some(cont) = t.strip_suffix('\\') {
                    pending.push_str(cont.trim_end());
                    pending.push(' ');
                    continue;
                }
                pending.push_str(t);
                out.push(Cmd {
                    page: name.clone(),
                    line: pending_line,
                    text: std::mem::take(&mut pending),
                    output: Vec::new(),
                });
            }
            "console" => {
                // Blocks inside list items are indented.
                let t = line.trim_start();
                let prompt = t
                    .strip_prefix("$ ")
                    .or_else(|| t.strip_prefix("# ").filter(|r| is_prompted(r)));
                match prompt {
                    Some(cmd) => out.push(Cmd {
                        page: name.clone(),
                        line: n,
                        text: cmd.trim().to_owned(),
                        output: Vec::new(),
                    }),
                    None => {
                        if out.len() > block_start
                            && let Some(last) = out.last_mut()
                        {
                            last.output.push(line.to_owned());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Splits a command line into words: single and double quotes, no
/// expansions (the pages use none).
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// What a page's command runs: `zprsim` (however it is spelled) with its
/// arguments, `zprsim-gen`, or something else.
enum Tool {
    Zprsim(Vec<String>),
    Gen(Vec<String>),
    Cat(String),
    Other,
}

fn tool(words: &[String]) -> Tool {
    let mut w: Vec<String> = words.to_vec();
    if w.first().is_some_and(|x| x == "/usr/bin/time") {
        w.retain(|x| x != "-v");
        w.remove(0);
    }
    let Some(first) = w.first().cloned() else {
        return Tool::Other;
    };
    if w.len() >= 4 && w[..3] == ["cargo", "run", "--release"] && w[3] == "--" {
        return Tool::Zprsim(w[4..].to_vec());
    }
    match first.as_str() {
        "zprsim" | "target/release/zprsim" | "target/debug/zprsim" => Tool::Zprsim(w[1..].to_vec()),
        "zprsim-gen" | "target/release/zprsim-gen" => Tool::Gen(w[1..].to_vec()),
        "cat" if w.len() == 2 => Tool::Cat(w[1].clone()),
        _ => Tool::Other,
    }
}

/// A command that only makes or removes files of the working directory
/// (`sed 's/a/b/' x > y`, `cp`, `rm`): safe to run in the clone.
fn shell_file_command(words: &[String]) -> bool {
    let tools = [
        "sed", "cp", "mv", "rm", "mkdir", "printf", "echo", "gzip", "zstd",
    ];
    // sed's script is not a path.
    let skip = usize::from(words.first().is_some_and(|w| w == "sed"));
    words.first().is_some_and(|w| tools.contains(&w.as_str()))
        && words
            .iter()
            .skip(1 + skip)
            .all(|w| !w.starts_with('/') && !w.starts_with("..") && !w.starts_with('~'))
}

/// Flags whose value is a file the command writes.
const OUTPUT_FLAGS: [&str; 9] = [
    "-o",
    "--report",
    "--flows",
    "--allowed",
    "--dropped",
    "--status",
    "--csv",
    "--junit",
    "--output",
];

fn looks_like_file(w: &str) -> bool {
    !w.starts_with('-')
        && [
            ".toml", ".json", ".pcap", ".pcapng", ".zpl", ".jsonl", ".txt",
        ]
        .iter()
        .any(|e| w.ends_with(e))
}

/// A synopsis rather than a command: placeholders in capitals, brackets.
fn is_synopsis(words: &[String]) -> bool {
    words.iter().any(|w| {
        w.starts_with('[')
            || w.contains("...")
            || (w.len() > 1
                && w.chars().any(|c| c.is_ascii_uppercase())
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || "=_.-".contains(c)))
    })
}

fn zprsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zprsim"))
}

/// `zprsim SUB [SUBSUB] --help`, cached; `None` if there is no such command.
fn help(cache: &mut BTreeMap<Vec<String>, Option<String>>, path: &[String]) -> Option<String> {
    cache
        .entry(path.to_vec())
        .or_insert_with(|| {
            let o = zprsim()
                .args(path)
                .arg("--help")
                .stdin(Stdio::null())
                .output()
                .unwrap();
            o.status
                .success()
                .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
        })
        .clone()
}

/// Output lines a page may show that change from run to run.
fn varies(line: &str) -> bool {
    let t = line.trim();
    t.is_empty()
        || t == "..."
        || t.contains("compiled in")
        || t.contains("table entries")
        || t.contains("packets/s")
        || t.contains(" pid ")
}

#[test]
fn every_documented_command_works_from_a_clean_clone() {
    let mut problems: Vec<String> = Vec::new();
    let mut ran = 0;
    let mut checked = 0;
    let mut not_run: Vec<String> = Vec::new();
    let mut helps = BTreeMap::new();
    let clone = Clone::new();
    for page in pages() {
        let mut written: HashSet<String> = HashSet::new();
        for cmd in commands(&page) {
            // `a; b` runs both; `> FILE` writes FILE.
            let first = cmd.text.split("; ").next().unwrap_or("");
            let mut stages: Vec<Vec<String>> = first.split(" | ").map(words).collect();
            for w in &mut stages {
                if let Some(i) = w.iter().position(|x| x == ">") {
                    if let Some(f) = w.get(i + 1) {
                        written.insert(f.clone());
                    }
                    w.truncate(i);
                }
            }
            let mut stdin_file: Option<String> = None;
            for w in &stages {
                match tool(w) {
                    Tool::Cat(f) => {
                        let path = root().join(&f);
                        if !path.exists() && !written.contains(&f) {
                            problems.push(format!("{}: `{f}` does not exist", cmd.at()));
                        } else if stages.len() == 1 && path.exists() {
                            let text = std::fs::read_to_string(&path).unwrap_or_default();
                            let shown = cmd.output.join("\n");
                            if text.trim_end() != shown.trim_end() {
                                problems.push(format!(
                                    "{}: the page shows other contents than the file",
                                    cmd.at()
                                ));
                            }
                        }
                        stdin_file = Some(f);
                    }
                    Tool::Gen(args) => {
                        checked += 1;
                        if let Some(i) = args.iter().position(|a| a == "-o") {
                            let Some(out) = args.get(i + 1) else { continue };
                            if args.first().is_some_and(|s| s == "scenario")
                                && !out.ends_with(".toml")
                            {
                                problems.push(format!(
                                    "{}: `zprsim-gen scenario` writes TOML, not `{out}`",
                                    cmd.at()
                                ));
                            }
                            written.insert(out.clone());
                        }
                        for a in args.iter().filter(|a| looks_like_file(a)) {
                            if !written.contains(a) && !root().join(a).exists() {
                                problems.push(format!("{}: `{a}` does not exist", cmd.at()));
                            }
                        }
                        not_run.push(cmd.at());
                    }
                    Tool::Zprsim(args) => {
                        if is_synopsis(&args) {
                            continue;
                        }
                        checked += 1;
                        check_zprsim(&cmd, &args, &mut written, &mut helps, &mut problems);
                        if runnable(&args) {
                            ran += 1;
                            run(&clone, &cmd, &args, stdin_file.as_deref(), &mut problems);
                        } else {
                            not_run.push(cmd.at());
                        }
                    }
                    Tool::Other if shell_file_command(w) => {
                        // `sed ... > f`, `cp`, `rm`: run in the clone, so the
                        // files later commands read are there.
                        let o = Command::new("sh")
                            .args(["-c", &cmd.text])
                            .current_dir(clone.dir.path())
                            .stdin(Stdio::null())
                            .output()
                            .unwrap();
                        if !o.status.success() {
                            problems.push(format!(
                                "{}: {}",
                                cmd.at(),
                                String::from_utf8_lossy(&o.stderr).trim_end()
                            ));
                        }
                    }
                    Tool::Other => not_run.push(cmd.at()),
                }
            }
        }
    }
    // Written with `write_all`, so it shows without `--nocapture`.
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "docs: {checked} zprsim command(s) checked, {ran} run; {} checked for files and flags only or not zprsim\n",
            not_run.len()
        )
        .as_bytes(),
    );
    assert!(ran >= 20, "only {ran} documented commands ran");
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

fn check_zprsim(
    cmd: &Cmd,
    args: &[String],
    written: &mut HashSet<String>,
    helps: &mut BTreeMap<Vec<String>, Option<String>>,
    problems: &mut Vec<String>,
) {
    let Some(sub) = args.first() else {
        problems.push(format!("{}: no subcommand", cmd.at()));
        return;
    };
    let mut path = vec![sub.clone()];
    // A command with subcommands of its own (`lab up`, `import oci`).
    if let (Some(h), Some(s2)) = (help(helps, &path), args.get(1))
        && h.contains("Commands:")
        && h.lines()
            .any(|l| l.trim_start().starts_with(&format!("{s2} ")))
    {
        path.push(s2.clone());
    }
    let Some(h) = help(helps, &path) else {
        problems.push(format!(
            "{}: `zprsim {}` does not exist",
            cmd.at(),
            path.join(" ")
        ));
        return;
    };
    // After `--`, the words belong to another command (`lab exec`).
    let own = args.iter().take_while(|a| *a != "--");
    for a in own.clone().filter(|a| a.starts_with("--")) {
        let flag = a.split('=').next().unwrap_or(a);
        if !h.contains(&format!("{flag} ")) && !h.contains(&format!("{flag}\n")) {
            problems.push(format!(
                "{}: `zprsim {}` has no `{flag}`",
                cmd.at(),
                path.join(" ")
            ));
        }
    }
    let mut prev = "";
    for a in own {
        if OUTPUT_FLAGS.contains(&prev) {
            written.insert(a.clone());
        } else if looks_like_file(a) && !written.contains(a.as_str()) && !root().join(a).exists() {
            problems.push(format!("{}: `{a}` does not exist", cmd.at()));
        }
        prev = a;
    }
}

/// Runs here: no root, and every input and output inside the repository
/// (they run in a copy of it, see [`Clone`]).
fn runnable(args: &[String]) -> bool {
    let commands = ["check", "explain", "replay", "dump-table", "verify"];
    args.first().is_some_and(|s| commands.contains(&s.as_str()))
        && args
            .iter()
            .filter(|a| looks_like_file(a))
            .all(|a| !a.starts_with('/') && !a.starts_with(".."))
}

/// The files of a clean clone a page's commands use, copied to a scratch
/// directory: commands run there, so what they write (and any bug that
/// would overwrite an input) stays out of the repository.
struct Clone {
    dir: tempfile::TempDir,
}

impl Clone {
    fn new() -> Clone {
        fn copy(from: &Path, to: &Path) {
            if from.is_dir() {
                std::fs::create_dir_all(to).unwrap();
                for e in std::fs::read_dir(from).unwrap() {
                    let e = e.unwrap();
                    copy(&e.path(), &to.join(e.file_name()));
                }
            } else {
                std::fs::copy(from, to).unwrap();
            }
        }
        let dir = tempfile::tempdir().unwrap();
        for d in ["examples", "pcaps", "tests", "docs", "README.md"] {
            copy(&root().join(d), &dir.path().join(d));
        }
        Clone { dir }
    }
}

fn run(
    clone: &Clone,
    cmd: &Cmd,
    args: &[String],
    stdin_file: Option<&str>,
    problems: &mut Vec<String>,
) {
    let stdin = match stdin_file {
        Some(f) => Stdio::from(std::fs::File::open(clone.dir.path().join(f)).unwrap()),
        None => Stdio::null(),
    };
    let o = zprsim()
        .current_dir(clone.dir.path())
        .args(args)
        .stdin(stdin)
        .output()
        .unwrap();
    let code = o.status.code().unwrap_or(-1);
    let real = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let real_lines: HashSet<&str> = real.lines().map(str::trim_end).collect();
    let shows_error = cmd
        .output
        .iter()
        .any(|l| l.trim_start().starts_with("error:") || l.contains(": error: "));
    let ok = if shows_error {
        code == 2
    } else {
        code == 0 || code == 1
    };
    if !ok {
        problems.push(format!("{}: exit {code}\n{}", cmd.at(), real.trim_end()));
        return;
    }
    for l in cmd.output.iter().filter(|l| !varies(l)) {
        if !real_lines.contains(l.trim_end()) && !real_lines.contains(l.trim()) {
            problems.push(format!(
                "{}: the page shows `{}`; the real output:\n{}",
                cmd.at(),
                l.trim_end(),
                real.trim_end()
            ));
            return;
        }
    }
}

#[test]
fn no_link_leaves_the_repository() {
    let mut problems = Vec::new();
    let repo = root().canonicalize().unwrap();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let dir = page.parent().unwrap();
        for (i, line) in text.lines().enumerate() {
            for part in line.split("](").skip(1) {
                let Some(target) = part.split(')').next() else {
                    continue;
                };
                let target = target.split('#').next().unwrap_or("");
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let resolved = dir.join(target);
                let inside = resolved.canonicalize().is_ok_and(|p| p.starts_with(&repo));
                if !inside {
                    problems.push(format!(
                        "{}:{}: `{target}` is not a file of the repository",
                        page.display(),
                        i + 1
                    ));
                }
            }
            if line.contains("../shared") || line.contains("/work/shared") {
                problems.push(format!(
                    "{}:{}: names the shared folder, outside the repository",
                    page.display(),
                    i + 1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
