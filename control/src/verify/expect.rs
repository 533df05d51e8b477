//! Reading an expectations file (`EXPECT.toml`) and the packs it includes
//! into resolved [`PathSpec`]s. Every error names the file, line and column
//! of the value at fault.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use serde::Deserialize;
use serde_spanned::Spanned;

use super::packs;
use super::selector::{self, Selector};
use super::{Expect, Limits, Location, PathSpec, Probe, Scope, VerifyError};
use crate::load::{SourceFiles, line_col, names};
use crate::model::{PortRange, Scenario, proto};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default)]
    include: Vec<Spanned<RawInclude>>,
    #[serde(default)]
    path: Vec<Spanned<RawPath>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInclude {
    pack: Spanned<String>,
    /// What its paths are named after (`NAME/PATH`; the pack's own name
    /// when left out): a pack included twice, once per cluster, names each
    /// include (since the twenty-first session).
    name: Option<Spanned<String>>,
    #[serde(default)]
    roles: BTreeMap<String, Spanned<RoleBinding>>,
    #[serde(default)]
    skip: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RoleBinding {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NumOrText {
    Num(i64),
    Text(String),
    /// Anything else (a float, `nan`, a boolean, an array): refused with the
    /// field's own message rather than serde's "no variant matched".
    Other(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPath {
    name: Spanned<String>,
    from: Spanned<String>,
    to: Spanned<String>,
    proto: Spanned<NumOrText>,
    dport: Option<Spanned<NumOrText>>,
    sport: Option<Spanned<NumOrText>>,
    icmp_type: Option<Spanned<i64>>,
    icmp_code: Option<Spanned<i64>>,
    expect: Spanned<String>,
    scope: Option<Spanned<String>>,
    replies: Option<Spanned<BoolOrOther>>,
    why: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum BoolOrOther {
    Bool(bool),
    /// Anything else (`"no"`, a number): refused with the field's own
    /// message rather than serde's "no variant matched".
    Other(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPack {
    /// The pack's name (what `include` names).
    pack: String,
    /// What it checks.
    #[allow(dead_code)]
    description: Option<String>,
    /// Where its paths come from.
    #[allow(dead_code)]
    #[serde(default)]
    sources: Vec<String>,
    /// Role name -> what to bind it to.
    #[serde(default)]
    roles: BTreeMap<String, String>,
    #[serde(default)]
    path: Vec<Spanned<RawPath>>,
}

/// One text being read: its name for messages and its content.
#[derive(Clone, Copy)]
struct Src<'a> {
    file: &'a str,
    text: &'a str,
}

impl Src<'_> {
    fn at(&self, span: Range<usize>) -> Location {
        let (line, column) = line_col(self.text, span.start);
        Location {
            file: self.file.to_owned(),
            line: Some(line),
            column: Some(column),
        }
    }

    fn err(&self, span: Range<usize>, message: impl Into<String>) -> VerifyError {
        VerifyError {
            location: self.at(span),
            message: message.into(),
        }
    }
}

fn toml_error(src: Src<'_>, e: &toml::de::Error) -> VerifyError {
    let mut message = e.message().trim().trim_end_matches('.').to_owned();
    let location = match e.span() {
        Some(span) => src.at(span),
        None => match crate::load::spanless_place(src.text, e.message()) {
            Some((at, words)) => {
                message.push_str(words);
                src.at(at..at)
            }
            None => Location {
                file: src.file.to_owned(),
                line: None,
                column: None,
            },
        },
    };
    if let Some(hint) = e
        .span()
        .and_then(|s| crate::load::typographic_quote_hint(src.text, s.start))
    {
        message.push_str(&hint);
    }
    VerifyError { location, message }
}

/// The first key of a pack file, read on its own.
#[derive(Debug, Deserialize)]
struct PackProbe {
    pack: Spanned<String>,
    roles: BTreeMap<String, toml::Value>,
}

/// When the file given as expectations is a pack (`pack = "NAME"` and
/// `[roles]`: `verify S packs/oke.toml`), an error saying how a pack is
/// used, in place of serde's "unknown field `description`".
fn a_pack_given_as_expectations(src: Src<'_>) -> Option<VerifyError> {
    let probe: PackProbe = toml::from_str(src.text).ok()?;
    let name = probe.pack.get_ref();
    let include = if packs::builtin(name).is_some() {
        name.clone()
    } else {
        src.file.to_owned()
    };
    let roles: Vec<&str> = probe.roles.keys().map(String::as_str).collect();
    Some(src.err(
        probe.pack.span(),
        format!(
            "this is pack `{name}`, not an expectations file: include it from one, binding each of its roles ({}) to a selector of the scenario: `[[include]]` with `pack = \"{include}\"` and `roles = {{ {} = \"SELECTOR\", ... }}` (docs/verify.md, \"Packs\")",
            roles.join(", "),
            roles.first().copied().unwrap_or("ROLE")
        ),
    ))
}

/// When a file included as a pack does not read as one and is another of
/// zprsim's files instead (by its top-level keys), what it is and what to
/// do, in place of serde's "missing field `pack`" or "unknown field
/// `include`": an expectations file (splitting expectations over files
/// and including one), or a scenario.
fn not_a_pack(text: &str) -> Option<&'static str> {
    let t: toml::Table = toml::from_str(text).ok()?;
    if t.contains_key("pack") {
        return None;
    }
    if ["vcn", "subnet", "vnic"].iter().any(|k| t.contains_key(*k)) {
        Some(
            "a scenario, not a pack: a pack is a file of `[[path]]` tables whose ends may name roles, with `pack = \"NAME\"` and a `[roles]` table (docs/verify.md, \"Packs\")",
        )
    } else if ["path", "include"].iter().any(|k| t.contains_key(*k)) {
        Some(
            "an expectations file, not a pack: a pack has `pack = \"NAME\"` and a `[roles]` table that an include binds (docs/verify.md, \"Packs\"); an expectations file is not included: copy its `[[path]]` tables into this one, or check it on its own (`zprsim verify SCENARIO FILE`)",
        )
    } else {
        None
    }
}

/// Reads an expectations file against a scenario.
pub(super) fn read(
    s: &Scenario,
    text: &str,
    file: &str,
    files: &dyn SourceFiles,
    limits: &Limits,
) -> Result<Vec<PathSpec>, VerifyError> {
    let src = Src { file, text };
    if text.len() > limits.max_file_bytes {
        return Err(VerifyError {
            location: Location {
                file: file.to_owned(),
                line: None,
                column: None,
            },
            message: format!(
                "the expectations file is {} bytes long; at most {} bytes are accepted",
                text.len(),
                limits.max_file_bytes
            ),
        });
    }
    let raw: RawExpect = toml::from_str(text)
        .map_err(|e| a_pack_given_as_expectations(src).unwrap_or_else(|| toml_error(src, &e)))?;
    let mut out = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut push = |p: PathSpec, src: Src<'_>, span: Range<usize>| {
        if !names.insert(p.name.clone()) {
            return Err(src.err(span, format!("a second path is named `{}`", p.name)));
        }
        if names.len() > limits.max_paths {
            return Err(src.err(
                span,
                format!(
                    "more than {} paths; split the expectations file",
                    limits.max_paths
                ),
            ));
        }
        out.push(p);
        Ok(())
    };
    for inc in &raw.include {
        let span = inc.span();
        let inc = inc.get_ref();
        let pack_name = inc.pack.get_ref();
        // Built-in packs by name; anything ending in `.toml` is a file
        // relative to the expectations file.
        let (pack_file, pack_text) = if let Some(t) = packs::builtin(pack_name) {
            (format!("<built-in pack {pack_name}>"), t.to_owned())
        } else if pack_name.ends_with(".toml") {
            let t = files.read(pack_name).map_err(|e| {
                src.err(
                    inc.pack.span(),
                    format!("cannot read pack `{pack_name}`: {e}"),
                )
            })?;
            if t.len() > limits.max_file_bytes {
                return Err(src.err(
                    inc.pack.span(),
                    format!(
                        "pack `{pack_name}` is {} bytes long; at most {} bytes are accepted",
                        t.len(),
                        limits.max_file_bytes
                    ),
                ));
            }
            (pack_name.clone(), t)
        } else {
            return Err(src.err(
                inc.pack.span(),
                format!(
                    "unknown pack `{pack_name}`: the built-in packs are {}; a pack file's name ends in `.toml`",
                    packs::NAMES
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        let psrc = Src {
            file: &pack_file,
            text: &pack_text,
        };
        let pack: RawPack = toml::from_str(&pack_text).map_err(|e| {
            not_a_pack(&pack_text)
                .map(|what| src.err(inc.pack.span(), format!("`{pack_name}` is {what}")))
                .unwrap_or_else(|| toml_error(psrc, &e))
        })?;
        // Bindings: every bound role must exist in the pack.
        let mut bound: BTreeMap<&str, (Selector, String)> = BTreeMap::new();
        for (role, b) in &inc.roles {
            if !pack.roles.contains_key(role) {
                return Err(src.err(
                    b.span(),
                    format!(
                        "pack `{}` has no role `{role}`; its roles are {}",
                        pack.pack,
                        pack.roles
                            .keys()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            let texts: Vec<&String> = match b.get_ref() {
                RoleBinding::One(t) => vec![t],
                RoleBinding::Many(v) => v.iter().collect(),
            };
            if texts.is_empty() {
                return Err(src.err(b.span(), format!("role `{role}` is bound to nothing")));
            }
            let shown = texts
                .iter()
                .map(|t| t.trim())
                .collect::<Vec<_>>()
                .join(", ");
            let mut sels = Vec::new();
            for t in texts {
                sels.push(
                    selector::parse(s, t)
                        .map_err(|e| src.err(b.span(), format!("role `{role}`: {e}")))?,
                );
            }
            let sel = if sels.len() == 1 {
                sels.remove(0)
            } else {
                Selector::Union(sels)
            };
            bound.insert(role.as_str(), (sel, shown));
        }
        // The name its paths go by: the include's own, else the pack's.
        let prefix = match &inc.name {
            Some(n) => {
                let t = n.get_ref().trim();
                if t.is_empty() || t.contains('/') {
                    return Err(src.err(
                        n.span(),
                        "an include's `name` is what its paths are named after (`NAME/PATH`): not empty, and without `/`",
                    ));
                }
                if let Some((_, m)) = names::problem("include name", t) {
                    return Err(src.err(n.span(), m));
                }
                t.to_owned()
            }
            None => pack.pack.clone(),
        };
        let pack_paths: HashSet<&str> = pack
            .path
            .iter()
            .map(|p| p.get_ref().name.get_ref().as_str())
            .collect();
        let mut skip: HashSet<&str> = HashSet::new();
        for sk in &inc.skip {
            if !pack_paths.contains(sk.get_ref().as_str()) {
                return Err(src.err(
                    sk.span(),
                    format!("pack `{}` has no path `{}`", pack.pack, sk.get_ref()),
                ));
            }
            skip.insert(sk.get_ref());
        }
        for rp in &pack.path {
            let r = rp.get_ref();
            let pname = r.name.get_ref();
            let full = format!("{prefix}/{pname}");
            let mut p = resolve_path(s, psrc, rp, Some((&bound, src, span.clone(), &pack.pack)))?;
            p.name = full;
            if skip.contains(pname.as_str()) {
                p.skipped = true;
            }
            push(p, src, span.clone()).map_err(|mut e| {
                if inc.name.is_none() && e.message.starts_with("a second path is named") {
                    // The usual cause: one pack included twice (two
                    // clusters) without names of their own.
                    e.message.push_str(&format!(
                        ": pack `{}` is included twice? give each include its own `name = \"...\"` (its paths are then named NAME/PATH)",
                        pack.pack
                    ));
                }
                e
            })?;
        }
    }
    for rp in &raw.path {
        let p = resolve_path(s, src, rp, None)?;
        push(p, src, rp.get_ref().name.span())?;
    }
    // A file that names no path (empty, all comments, a template that
    // rendered nothing) would pass with exit 0 having checked nothing.
    if out.is_empty() {
        return Err(VerifyError {
            location: Location {
                file: file.to_owned(),
                line: None,
                column: None,
            },
            message: "no `[[path]]` and no `[[include]]` of a pack with paths: nothing to verify"
                .to_owned(),
        });
    }
    Ok(out)
}

type Bindings<'a, 'b> = (
    &'a BTreeMap<&'a str, (Selector, String)>,
    Src<'b>,
    Range<usize>,
    &'a str,
);

fn endpoint(
    s: &Scenario,
    src: Src<'_>,
    field: &Spanned<String>,
    roles: Option<&Bindings<'_, '_>>,
    path_name: &str,
) -> Result<(Selector, String), VerifyError> {
    let text = field.get_ref().trim();
    if let Some(role) = text.strip_prefix("role:") {
        let Some((bound, inc_src, inc_span, pack)) = roles else {
            return Err(src.err(
                field.span(),
                format!("`{text}`: roles are only for the paths of a pack (bind them with `roles` in `[[include]]`)"),
            ));
        };
        return match bound.get(role) {
            Some((sel, shown)) => Ok((sel.clone(), shown.clone())),
            None => Err(inc_src.err(
                inc_span.clone(),
                format!(
                    "pack `{pack}` path `{path_name}` needs role `{role}`: bind it (`roles.{role} = \"subnet:...\"`) or skip the path (`skip = [\"{path_name}\"]`)"
                ),
            )),
        };
    }
    selector::parse(s, text)
        .map(|sel| (sel, text.to_owned()))
        .map_err(|e| src.err(field.span(), e.0))
}

/// `sport`: one port. A range or any other text was serde's "invalid
/// type: string, expected i64"; it is refused with what to write.
fn sport(src: Src<'_>, v: &Spanned<NumOrText>) -> Result<u16, VerifyError> {
    match v.get_ref() {
        NumOrText::Num(n) => u16::try_from(*n).ok(),
        NumOrText::Text(_) | NumOrText::Other(_) => None,
    }
    .ok_or_else(|| {
        src.err(
            v.span(),
            "`sport` must be one port from 0 to 65535, a number (a probe has one source port; 49152 when left out); ranges `\"lo-hi\"` are for `dport`",
        )
    })
}

fn byte(src: Src<'_>, v: &Spanned<i64>, what: &str) -> Result<u8, VerifyError> {
    u8::try_from(*v.get_ref())
        .map_err(|_| src.err(v.span(), format!("`{what}` must be a number from 0 to 255")))
}

fn dport_range(src: Src<'_>, v: &Spanned<NumOrText>) -> Result<PortRange, VerifyError> {
    let bad = || {
        src.err(
            v.span(),
            "`dport` must be a port (0 to 65535) or a range `\"lo-hi\"` with lo <= hi",
        )
    };
    let num = |t: &str| t.trim().parse::<u16>().map_err(|_| bad());
    match v.get_ref() {
        NumOrText::Num(n) => {
            let p = u16::try_from(*n).map_err(|_| bad())?;
            Ok(PortRange { min: p, max: p })
        }
        NumOrText::Text(t) => {
            let (lo, hi) = match t.split_once('-') {
                Some((a, b)) => (num(a)?, num(b)?),
                None => {
                    let p = num(t)?;
                    (p, p)
                }
            };
            if lo > hi {
                return Err(bad());
            }
            Ok(PortRange { min: lo, max: hi })
        }
        NumOrText::Other(_) => Err(bad()),
    }
}

fn resolve_path(
    s: &Scenario,
    src: Src<'_>,
    rp: &Spanned<RawPath>,
    roles: Option<Bindings<'_, '_>>,
) -> Result<PathSpec, VerifyError> {
    let r = rp.get_ref();
    let name = r.name.get_ref().trim().to_owned();
    if name.is_empty() {
        return Err(src.err(r.name.span(), "a path needs a name"));
    }
    // Shown on terminals and in JUnit XML (where control characters are not
    // even allowed): held to the rule of scenario names.
    if let Some((_, m)) = names::problem("path name", r.name.get_ref()) {
        return Err(src.err(r.name.span(), m));
    }
    if let Some(why) = &r.why
        && let Some((_, m)) = names::problem("`why`", why)
    {
        return Err(src.err(rp.span(), format!("path `{name}`: {m}")));
    }
    let (from, from_text) = endpoint(s, src, &r.from, roles.as_ref(), &name)?;
    let (to, to_text) = endpoint(s, src, &r.to, roles.as_ref(), &name)?;
    let protocol = match r.proto.get_ref() {
        NumOrText::Num(n) => u8::try_from(*n).ok(),
        NumOrText::Text(t) => match t.to_ascii_lowercase().as_str() {
            "tcp" => Some(proto::TCP),
            "udp" => Some(proto::UDP),
            "icmp" => Some(proto::ICMP),
            "icmpv6" => Some(proto::ICMPV6),
            other => other.parse::<u8>().ok(),
        },
        NumOrText::Other(_) => None,
    }
    .ok_or_else(|| {
        src.err(
            r.proto.span(),
            "`proto` must be `tcp`, `udp`, `icmp`, `icmpv6` or a number from 0 to 255",
        )
    })?;
    let probe = if proto::has_ports(protocol) {
        for (f, v) in [("icmp_type", &r.icmp_type), ("icmp_code", &r.icmp_code)] {
            if let Some(v) = v {
                return Err(src.err(v.span(), format!("`{f}` is only for icmp and icmpv6")));
            }
        }
        let dport = r.dport.as_ref().ok_or_else(|| {
            src.err(
                rp.span(),
                format!("path `{name}`: `dport` is required for tcp and udp (a port or a range `\"lo-hi\"`)"),
            )
        })?;
        Probe::Ports {
            sport: match &r.sport {
                Some(v) => sport(src, v)?,
                None => 49152,
            },
            dport: dport_range(src, dport)?,
        }
    } else {
        if let Some(v) = &r.dport {
            return Err(src.err(v.span(), "`dport` is only for tcp and udp"));
        }
        if let Some(v) = &r.sport {
            return Err(src.err(v.span(), "`sport` is only for tcp and udp"));
        }
        if proto::is_icmp(protocol) {
            let default = if protocol == proto::ICMP { 8 } else { 128 };
            Probe::Icmp {
                icmp_type: match &r.icmp_type {
                    Some(v) => byte(src, v, "icmp_type")?,
                    None => default,
                },
                code: match &r.icmp_code {
                    Some(v) => byte(src, v, "icmp_code")?,
                    None => 0,
                },
            }
        } else {
            for (f, v) in [("icmp_type", &r.icmp_type), ("icmp_code", &r.icmp_code)] {
                if let Some(v) = v {
                    return Err(src.err(v.span(), format!("`{f}` is only for icmp and icmpv6")));
                }
            }
            Probe::Opaque
        }
    };
    let expect = match r.expect.get_ref().as_str() {
        "allow" => Expect::Allow,
        "deny" => Expect::Deny,
        other => {
            return Err(src.err(
                r.expect.span(),
                format!("`expect` must be `allow` or `deny`, not `{other}`"),
            ));
        }
    };
    let scope = match r.scope.as_ref().map(|v| (v.get_ref().as_str(), v.span())) {
        None | Some(("all", _)) => Scope::All,
        Some(("network", _)) => Scope::Network,
        Some((other, span)) => {
            return Err(src.err(
                span,
                format!("`scope` must be `all` or `network`, not `{other}`"),
            ));
        }
    };
    let replies = replies(src, r, protocol, probe, &name)?;
    Ok(PathSpec {
        name,
        location: src.at(rp.span()),
        from,
        to,
        from_text,
        to_text,
        proto: protocol,
        probe,
        expect,
        scope,
        why: r.why.clone(),
        skipped: false,
        replies,
    })
}

/// Whether a path needs its replies (`replies`, since the twenty-first
/// session): [`super::replies_by_default`] when left out; `false` only
/// where replies are required by default and a path may be one-way (UDP:
/// syslog, a NetFlow export), `true` only where one is required anyway.
fn replies(
    src: Src<'_>,
    r: &RawPath,
    protocol: u8,
    probe: Probe,
    name: &str,
) -> Result<bool, VerifyError> {
    let default = super::replies_by_default(protocol, probe);
    let Some(v) = &r.replies else {
        return Ok(default);
    };
    let BoolOrOther::Bool(want) = *v.get_ref() else {
        return Err(src.err(
            v.span(),
            "`replies` must be `true` or `false` (whether the path's replies must pass too)",
        ));
    };
    // A UDP path may be one-way; the others' replies are what they are.
    if want == default || (protocol == proto::UDP && !want) {
        return Ok(want);
    }
    let what = match probe {
        Probe::Icmp { icmp_type, .. } if !want => {
            format!("an ICMP echo request (type {icmp_type}) always needs its echo reply: a ping without it fails")
        }
        Probe::Icmp { icmp_type, .. } => format!(
            "ICMP type {icmp_type} is not answered (only an echo request is: type 8, or 128 for icmpv6), so it has no reply to require"
        ),
        _ if !want => "a TCP path always needs its replies: the connection cannot complete without them".to_owned(),
        _ => "a path of this protocol has no reply `verify` can judge (replies are judged for tcp, udp and icmp echo)".to_owned(),
    };
    Err(src.err(
        v.span(),
        format!("path `{name}`: `replies = {want}`: {what}"),
    ))
}
