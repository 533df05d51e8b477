//! From raw structs to the model: names to ids, defaults, checks, warnings.
//!
//! [`resolve`] runs the steps in order, each reading what the steps before
//! it built: the options and every name's index (here), then the service
//! labels, VCNs, gateways and the VCN of each table, list and NSG
//! (`network.rs`), subnets (`endpoints.rs`), VNICs (`vnics.rs`, in parts
//! on the loader's threads when there are many), route tables,
//! security lists and NSGs (`tables.rs`, their rules through `rules.rs`),
//! and the ZPR policies (`policies.rs`). Addresses and CIDRs are parsed and
//! checked in `addresses.rs`, security attributes in `attributes.rs`.

/// The resolver's maps, keyed by names from the input: ahash with random
/// keys (as resistant to crafted collisions as std's SipHash, and cheaper:
/// SipHash was about a tenth of the resolver's instructions).
type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;
type HashSet<K> = std::collections::HashSet<K, ahash::RandomState>;

use super::raw::{RawScenario, Sp};
use super::{
    Format, Jobs, LoadError, Loaded, Positions, SourceFiles, Warning, WarningCode, lint, lookalike,
    names,
};
use crate::ids::{IdOverflow, ServiceId, VcnId};
use crate::model::{Options, Scenario, ZprOnlyMode};

mod addresses;
mod attributes;
mod endpoints;
mod network;
mod policies;
mod rules;
mod tables;
mod vnics;
#[cfg(test)]
mod vnics_tests;

pub(crate) use addresses::parse_cidr;
pub(crate) use rules::protocol_named;

/// OCI limits the loader warns about.
mod limits {
    pub const SECURITY_LISTS_PER_SUBNET: usize = 5;
    pub const NSGS_PER_VNIC: usize = 5;
    pub const ATTRIBUTES_PER_VNIC: usize = 5;
    pub const ATTRIBUTES_PER_VCN: usize = 1;
    pub const RULES_PER_NSG: usize = 120;
    pub const RULES_PER_LIST_DIRECTION: usize = 200;
    pub const RULES_PER_ROUTE_TABLE: usize = 200;
}

/// The kinds of named objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Vcn,
    Gateway,
    RouteTable,
    SecurityList,
    Nsg,
    Subnet,
    Vnic,
    Policy,
}

impl Kind {
    const ALL: [Kind; 8] = [
        Kind::Vcn,
        Kind::Gateway,
        Kind::RouteTable,
        Kind::SecurityList,
        Kind::Nsg,
        Kind::Subnet,
        Kind::Vnic,
        Kind::Policy,
    ];

    fn word(self) -> &'static str {
        match self {
            Kind::Vcn => "vcn",
            Kind::Gateway => "gateway",
            Kind::RouteTable => "route table",
            Kind::SecurityList => "security list",
            Kind::Nsg => "nsg",
            Kind::Subnet => "subnet",
            Kind::Vnic => "vnic",
            Kind::Policy => "zpr policy",
        }
    }

    fn with_article(self) -> &'static str {
        match self {
            Kind::Vcn => "a vcn",
            Kind::Gateway => "a gateway",
            Kind::RouteTable => "a route table",
            Kind::SecurityList => "a security list",
            Kind::Nsg => "an nsg",
            Kind::Subnet => "a subnet",
            Kind::Vnic => "a vnic",
            Kind::Policy => "a zpr policy",
        }
    }
}

/// Names and ids of one kind of object, borrowed from the raw scenario
/// (10^4 VNICs' names were copied into the index and freed after).
#[derive(Default)]
struct Index<'a> {
    by_name: HashMap<&'a str, usize>,
    by_id: HashMap<&'a str, usize>,
}

impl Index<'_> {
    // Inlined into the steps in other files of `resolve/` as it was when
    // they were one file (callgrind, `check` on 10k VNICs: out of line it
    // cost ~1.5 M instructions more).
    #[inline]
    fn get(&self, key: &str) -> Option<usize> {
        self.by_name
            .get(key)
            .or_else(|| self.by_id.get(key))
            .copied()
    }
}

/// What the resolver carries around: the source for positions, the
/// warnings, the indexes.
struct Ctx<'a> {
    text: &'a str,
    positions: Positions<'a>,
    file: &'a str,
    format: Format,
    warnings: Vec<Warning>,
    /// Warnings past [`MAX_WARNINGS`], counted only.
    dropped_warnings: usize,
    indexes: HashMap<Kind, Index<'a>>,
}

/// Warnings kept; past this many, one more says how many were left out.
const MAX_WARNINGS: usize = 1000;

/// Where the resolver's steps say a warning: the context itself, or
/// [`Pending`] for a part resolved on another thread.
trait Warn {
    fn warn(&mut self, code: WarningCode, at: Option<usize>, message: String);

    /// The `oci-limit` warning when `n` is past OCI's `limit`:
    /// `said(n)` (e.g. "nsg `n` has 121 rules"), then "; OCI allows at
    /// most {limit}".
    fn warn_past_oci_limit(
        &mut self,
        at: Option<usize>,
        n: usize,
        limit: usize,
        said: impl FnOnce(usize) -> String,
    ) {
        if n > limit {
            let message = format!("{}; OCI allows at most {limit}", said(n));
            self.warn(WarningCode::OciLimit, at, message);
        }
    }
}

impl Warn for Ctx<'_> {
    fn warn(&mut self, code: WarningCode, at: Option<usize>, message: String) {
        if self.warnings.len() >= MAX_WARNINGS {
            self.dropped_warnings += 1;
            return;
        }
        let (line, column) = self.position(at);
        self.warnings.push(Warning {
            code,
            file: self.file.to_owned(),
            line,
            column,
            message,
        });
    }
}

/// Warnings said by a part of a step, given to the context later, in
/// file order ([`Pending::give`]): what the context would have kept and
/// counted had the step said them to it directly.
#[derive(Default)]
struct Pending {
    said: Vec<(WarningCode, Option<usize>, String)>,
    /// Said past [`MAX_WARNINGS`] of this part's own: left out whatever
    /// came before, so counted only.
    left_out: usize,
}

impl Warn for Pending {
    fn warn(&mut self, code: WarningCode, at: Option<usize>, message: String) {
        if self.said.len() >= MAX_WARNINGS {
            self.left_out += 1;
        } else {
            self.said.push((code, at, message));
        }
    }
}

impl Pending {
    /// `next`'s warnings after these, as if said here.
    fn append(&mut self, next: Pending) {
        for (code, at, message) in next.said {
            self.warn(code, at, message);
        }
        self.left_out += next.left_out;
    }

    /// Says every warning to `ctx`, in order.
    fn give(self, ctx: &mut Ctx<'_>) {
        for (code, at, message) in self.said {
            ctx.warn(code, at, message);
        }
        ctx.dropped_warnings += self.left_out;
    }
}

/// Error location and context, built up as the resolver descends.
type Res<T> = Result<T, Box<LoadError>>;

impl Ctx<'_> {
    fn position(&self, at: Option<usize>) -> (Option<u32>, Option<u32>) {
        match at {
            Some(off) => {
                let (l, c) = self.positions.line_col(off);
                (Some(l), Some(c))
            }
            None => (None, None),
        }
    }

    fn err(&self, at: Option<usize>, object: &str, field: &str, message: String) -> Box<LoadError> {
        let (line, column) = self.position(at);
        Box::new(LoadError {
            file: self.file.to_owned(),
            line,
            column,
            object: (!object.is_empty()).then(|| object.to_owned()),
            field: (!field.is_empty()).then(|| field.to_owned()),
            message,
            rendered_zpl: None,
        })
    }

    #[inline]
    fn index(&self, kind: Kind) -> Option<&Index<'_>> {
        self.indexes.get(&kind)
    }

    /// The kind of object `key` names or is the id of, if any.
    fn what_is(&self, key: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| self.index(*k).and_then(|ix| ix.get(key)).is_some())
    }

    /// Looks a reference up among objects of `kind`; on failure says whether
    /// it names an object of another kind.
    fn lookup(&self, kind: Kind, r: &Sp<String>, object: &str, field: &str) -> Res<usize> {
        if let Some(i) = self.index(kind).and_then(|ix| ix.get(&r.value)) {
            return Ok(i);
        }
        let message = match self.what_is(&r.value) {
            Some(other) => format!(
                "`{}` is {}, not {}",
                r.value,
                other.with_article(),
                kind.with_article()
            ),
            None => format!(
                "no {} has the name or id `{}`{}",
                kind.word(),
                r.value,
                self.index(kind).map_or_else(String::new, |ix| {
                    lint::did_you_mean(&r.value, ix.by_name.keys().copied())
                })
            ),
        };
        Err(self.err(r.start(), object, field, message))
    }
}

fn label(kind: Kind, name: &str) -> String {
    let mut s = String::new();
    label_into(&mut s, kind, name);
    s
}

/// [`label`] into `buf`, replacing what it held.
fn label_into(buf: &mut String, kind: Kind, name: &str) {
    buf.clear();
    buf.push_str(kind.word());
    buf.push_str(" `");
    buf.push_str(name);
    buf.push('`');
}

fn id<T>(r: Result<T, IdOverflow>, ctx: &Ctx<'_>) -> Res<T> {
    r.map_err(|e| ctx.err(None, "", "", e.to_string()))
}

/// Warns when `name` (not ASCII) is, in another Unicode normalization, the
/// name of an object of `kind` registered before (`alike` holds the
/// non-ASCII ones by their NFC form; an ASCII one is in `ix`).
fn lookalike_name(
    ctx: &mut Ctx<'_>,
    kind: Kind,
    name: &Sp<String>,
    alike: &mut HashMap<String, (String, Option<usize>)>,
    ix: &Index<'_>,
    name_pos: &[Option<usize>],
) {
    let key = lookalike::key(&name.value);
    let first = match alike.get(&key) {
        Some((other, at)) => Some((other.clone(), *at)),
        None => ix
            .by_name
            .get_key_value(key.as_str())
            .map(|(other, &i)| (other.to_string(), name_pos.get(i).copied().flatten())),
    };
    let Some((other, at)) = first else {
        alike.insert(key, (name.value.clone(), name.start()));
        return;
    };
    let line = at.map_or_else(String::new, |p| {
        format!(" (line {})", ctx.positions.line_col(p).0)
    });
    let word = kind.word();
    ctx.warn(
        WarningCode::LookalikeNames,
        name.start(),
        format!(
            "{word} `{}` and {word} `{other}`{line} are one name in two Unicode normalizations (`{}` and `{}`): they print alike but are two objects, and a reference finds the one written like it, character for character",
            name.value,
            lookalike::spelled(&name.value),
            lookalike::spelled(&other)
        ),
    );
}

/// Registers the names and ids of one kind, rejecting duplicates.
fn build_index<'r>(
    ctx: &mut Ctx<'r>,
    kind: Kind,
    items: impl Iterator<Item = (&'r Sp<String>, Option<&'r Sp<String>>)>,
    all_ids: &mut HashMap<&'r str, (Kind, &'r str)>,
) -> Res<()> {
    // Sized once from the objects' count (the slice iterators give it
    // exactly), not grown and rehashed as names arrive.
    let n = items.size_hint().0;
    let mut ix = Index {
        by_name: HashMap::with_capacity_and_hasher(n, ahash::RandomState::default()),
        by_id: HashMap::default(),
    };
    let mut name_pos: Vec<Option<usize>> = Vec::with_capacity(n);
    // The non-ASCII names by their NFC form ([`lookalike`]).
    let mut alike: HashMap<String, (String, Option<usize>)> = HashMap::default();
    for (i, (name, oid)) in items.enumerate() {
        // Formatted only for a message: this runs for every object.
        let object = || label(kind, &name.value);
        if name.value.trim().is_empty() {
            return Err(ctx.err(
                name.start(),
                &object(),
                "name",
                "the name is empty".to_owned(),
            ));
        }
        for (field, v) in [("name", Some(name)), ("id", oid)] {
            if let Some((i, m)) = v.and_then(|v| names::problem(field, &v.value)) {
                let at = v.and_then(|v| names::locate(ctx.text, v.start(), &v.value, i));
                return Err(ctx.err(at, &object(), field, m));
            }
        }
        if let Some(&first) = ix.by_name.get(name.value.as_str()) {
            let at = name_pos
                .get(first)
                .copied()
                .flatten()
                .map(|p| format!(" (line {})", ctx.positions.line_col(p).0))
                .unwrap_or_default();
            return Err(ctx.err(
                name.start(),
                &object(),
                "name",
                format!(
                    "another {} is already named `{}`{at}",
                    kind.word(),
                    name.value
                ),
            ));
        }
        if !name.value.is_ascii() {
            lookalike_name(ctx, kind, name, &mut alike, &ix, &name_pos);
        }
        ix.by_name.insert(&name.value, i);
        name_pos.push(name.start());
        if let Some(oid) = oid {
            if oid.value.trim().is_empty() {
                return Err(ctx.err(oid.start(), &object(), "id", "the id is empty".to_owned()));
            }
            if let Some((k, n)) = all_ids.get(oid.value.as_str()) {
                return Err(ctx.err(
                    oid.start(),
                    &object(),
                    "id",
                    format!("id `{}` is already the id of {}", oid.value, label(*k, n)),
                ));
            }
            all_ids.insert(&oid.value, (kind, &name.value));
            ix.by_id.insert(&oid.value, i);
        }
    }
    ctx.indexes.insert(kind, ix);
    Ok(())
}

/// Resolves a raw scenario: `text` and `file` are its source and name (for
/// positions), `files` reads the `.zpl` files its policies name, `jobs`
/// runs the parts of the VNICs' step (the result, warnings and errors are
/// the same whatever it does).
pub(crate) fn resolve(
    raw: &RawScenario,
    text: &str,
    file: &str,
    format: Format,
    files: &dyn SourceFiles,
    jobs: &dyn Jobs,
) -> Res<Loaded> {
    let mut r = Resolver {
        ctx: Ctx {
            text,
            positions: Positions::new(text),
            file,
            format,
            warnings: Vec::new(),
            dropped_warnings: 0,
            indexes: HashMap::default(),
        },
        raw,
        files,
        jobs,
        s: Scenario {
            name: raw.name.as_ref().map(|n| n.value.clone()),
            ..Scenario::default()
        },
        service_ids: HashMap::default(),
        vcn_names: Vec::new(),
        rt_vcns: Vec::new(),
        sl_vcns: Vec::new(),
        nsg_vcns: Vec::new(),
        ip_owner: vnics::IpOwners::default(),
    };
    // Order matters: each step reads what the steps before it built.
    r.options()?;
    r.index()?;
    r.services()?;
    r.vcns()?;
    r.gateways()?;
    r.owners()?;
    r.subnets()?;
    r.vnics()?;
    r.route_tables()?;
    r.security_lists()?;
    r.nsgs()?;
    r.policies()?;
    let mut warnings = r.ctx.warnings;
    if r.ctx.dropped_warnings > 0 {
        warnings.push(Warning {
            code: WarningCode::WarningsLeftOut,
            file: file.to_owned(),
            line: None,
            column: None,
            message: format!("{} more warnings left out", r.ctx.dropped_warnings),
        });
    }
    Ok(Loaded {
        scenario: r.s,
        warnings,
    })
}

/// The resolver's state: the scenario being built and the lookups later
/// steps need.
struct Resolver<'a> {
    ctx: Ctx<'a>,
    raw: &'a RawScenario,
    files: &'a dyn SourceFiles,
    /// Runs a large step's parts (the VNICs'), on several threads when it
    /// has them.
    jobs: &'a dyn Jobs,
    /// The scenario, filled step by step.
    s: Scenario,
    service_ids: HashMap<String, ServiceId>,
    vcn_names: Vec<String>,
    /// The VCN of each route table, security list and NSG, by index.
    rt_vcns: Vec<VcnId>,
    sl_vcns: Vec<VcnId>,
    nsg_vcns: Vec<VcnId>,
    /// Which VNIC (index) holds each private IP.
    ip_owner: vnics::IpOwners,
}

impl Resolver<'_> {
    /// Reads `[options]`.
    fn options(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &self.ctx;
        let mut options = Options::default();
        if let Some(o) = &raw.options {
            if let Some(z) = &o.zpr_only {
                options.zpr_only = match z.value.to_ascii_lowercase().as_str() {
                    "report" => ZprOnlyMode::Report,
                    "default-deny" => ZprOnlyMode::DefaultDeny,
                    _ => {
                        return Err(ctx.err(
                            z.start(),
                            "[options]",
                            "zpr_only",
                            format!("`{}` is not `report` or `default-deny`", z.value),
                        ));
                    }
                };
            }
            if let Some(m) = &o.max_statements_per_policy {
                options.max_statements_per_policy = usize::try_from(m.value).map_err(|_| {
                    ctx.err(
                        m.start(),
                        "[options]",
                        "max_statements_per_policy",
                        format!("`{}` is not a count (0 or more)", m.value),
                    )
                })?;
            }
        }
        self.s.options = options;
        Ok(())
    }

    /// Registers the names and ids of every kind, before any reference is followed.
    fn index(&mut self) -> Res<()> {
        let raw = self.raw;
        let ctx = &mut self.ctx;
        let mut all_ids = HashMap::default();
        build_index(
            ctx,
            Kind::Vcn,
            raw.vcn.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::Gateway,
            raw.gateway.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::RouteTable,
            raw.route_table.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::SecurityList,
            raw.security_list.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::Nsg,
            raw.nsg.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::Subnet,
            raw.subnet.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::Vnic,
            raw.vnic.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        build_index(
            ctx,
            Kind::Policy,
            raw.zpr_policy.iter().map(|o| (&o.name, o.id.as_ref())),
            &mut all_ids,
        )?;
        Ok(())
    }
}

/// Checks that a referenced object is in the referrer's VCN.
#[allow(clippy::too_many_arguments)]
fn same_vcn(
    ctx: &Ctx<'_>,
    target_vcn: VcnId,
    own_vcn: VcnId,
    kind: Kind,
    target_name: &str,
    r: &Sp<String>,
    object: &str,
    field: &str,
    vcn_names: &[String],
    own_word: &str,
) -> Res<()> {
    if target_vcn == own_vcn {
        return Ok(());
    }
    let name = |v: VcnId| vcn_names.get(v.index()).map_or("", String::as_str);
    Err(ctx.err(
        r.start(),
        object,
        field,
        format!(
            "{} `{target_name}` belongs to vcn `{}`, not to vcn `{}` of this {own_word}",
            kind.word(),
            name(target_vcn),
            name(own_vcn)
        ),
    ))
}
