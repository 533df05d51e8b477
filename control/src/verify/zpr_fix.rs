//! What would open a pair of a path that should be open when ZPR blocks it:
//! the ZPL statement to add, in the scenario's own words, and the policy to
//! add it to. As with the security layers' hints (`fix.rs`), a hint is
//! given only once the witness, judged again by the reference evaluator
//! with the statement (parsed from the hint's very text) added, passes the
//! ZPR layer: it is never a guess.
//!
//! The statement is as narrow as ZPR allows: the witness's protocol and
//! destination port (or ICMP type and code), an attribute term for each
//! attributed VNIC (one that statements already name, else its first
//! `enforce` attribute) and a host address term (`'10.0.2.11/32'`) for the
//! other side. An attribute term covers every VNIC carrying it, which is
//! how ZPR is meant to be written; narrowing it is the user's choice.
//!
//! Tried in this order, the first that opens the witness wins:
//! 1. one form-A statement scoped to the source's VCN, then to the
//!    destination's (the scope needs a security attribute; each term an
//!    attribute of a VNIC in that VCN, else the address; never two
//!    address terms);
//! 2. one form-B statement, for attributed VNICs in two attributed VCNs;
//! 3. two form-A statements, one in each VCN, when the pair crosses VCNs
//!    and form B cannot be written.
//!
//! No hint when no statement can be written: an attributed VNIC in a VCN
//! without a security attribute (the layer's reason says so already), or
//! two endpoints only an address can name; nor when an end carries the
//! stand-in attribute (`zprsim import`: the export does not say its
//! attributes, or its VCN's; since the twenty-sixth session, when the hint
//! named its address): the drop is owed to attributes nobody knows, and the
//! stand-in note says what to export.
//!
//! The statements that open a reply are in `zpr_reply_fix.rs`.

use std::net::IpAddr;

use super::fix::{Kept, NEW_POLICY, stands_for};
use super::selector::Selector;
use super::{PathSpec, Probe};
use crate::model::{AddressIndex, Endpoint, Mode, Origin, Peer, PolicyStatement, Scenario};
use crate::packet::{L4, Packet};
use crate::shared::{Attribute, proto};
use crate::verdict::{LayerReport, Outcome, Stage};
use crate::zpl::parse_statement;

/// The statement(s) that would let `p` (a witness of `path`, or `None`: the
/// packet alone) through a ZPR layer that blocks it in `blocking`, with the
/// policy to add them to, as text; `None` when ZPR does not block it or no
/// statement can be written. `scratch` is the scenario (a copy: each
/// candidate is proven by adding it and taking it out again, so `scratch`
/// is unchanged after and one copy serves any number of packets).
#[must_use]
pub fn to_open_in(
    scratch: &mut Scenario,
    path: Option<&PathSpec>,
    p: &Packet,
    blocking: &[LayerReport],
) -> Option<String> {
    to_open_at(scratch, None, path, p, blocking, false).map(|(text, _)| text)
}

/// [`to_open_in`], finding endpoints through `ix` (the address index of
/// `scratch`: a statement changes no address) when given; with `keep`,
/// the statements stay in `scratch` once they open the witness, and the
/// second value says where (what to take out again,
/// [`Scratch::release`](super::fix::Scratch::release)).
pub(super) fn to_open_at(
    scratch: &mut Scenario,
    ix: Option<&AddressIndex>,
    path: Option<&PathSpec>,
    p: &Packet,
    blocking: &[LayerReport],
    keep: bool,
) -> Option<(String, Option<Kept>)> {
    blocking.iter().find(|l| {
        l.layer == Stage::Zpr && matches!(l.outcome, Outcome::Denied | Outcome::MissingPolicy)
    })?;
    written(scratch, ix, path, p, keep)
}

/// What a statement is written for: the packet whose ends it names (its
/// source the statement's source), the selectors of a `verify` path those
/// ends stand in for, its `with` conditions, what it must open on the
/// copy, and what the hint says of it (in the parentheses after the
/// policy).
pub(super) struct Wanted<'a> {
    pub packet: &'a Packet,
    pub from: Option<&'a Selector>,
    pub to: Option<&'a Selector>,
    pub cond: String,
    pub proof: Proof<'a>,
    pub note: Option<&'a str>,
}

/// What a statement must open, judged by the reference evaluator.
#[derive(Clone, Copy)]
pub(super) enum Proof<'a> {
    /// The packet passes the ZPR layer.
    Passes,
    /// This first packet still passes, and its reply no longer drops at
    /// ZPR (both judged, the reply in the context the first leaves).
    ReplyOf(&'a Packet),
}

/// The statement(s) for `p` and the policy they go to, as hint text,
/// proved on `scratch` ([`opens`]): `p` through ZPR.
fn written(
    scratch: &mut Scenario,
    ix: Option<&AddressIndex>,
    path: Option<&PathSpec>,
    p: &Packet,
    keep: bool,
) -> Option<(String, Option<Kept>)> {
    let want = Wanted {
        packet: p,
        from: path.map(|x| &x.from),
        to: path.map(|x| &x.to),
        cond: condition(p, path.map(|x| x.probe)),
        proof: Proof::Passes,
        note: None,
    };
    written_for(scratch, ix, &want, keep)
}

/// The statement(s) `want` asks for and the policy they go to, as hint
/// text, proved on `scratch` ([`opens`]). `None` when an end carries the
/// stand-in attribute (`zprsim import`: its real attributes are unknown,
/// and a statement written for them is a guess; the stand-in note says
/// what to export), or when no statement opens what it must.
pub(super) fn written_for(
    scratch: &mut Scenario,
    ix: Option<&AddressIndex>,
    want: &Wanted<'_>,
    keep: bool,
) -> Option<(String, Option<Kept>)> {
    let s: &Scenario = scratch;
    let p = want.packet;
    let cond = &want.cond;
    let src = Side::of(s, ix, p.src, want.from);
    let dst = Side::of(s, ix, p.dst, want.to);
    if [&src, &dst].iter().any(|e| {
        e.vnic
            .is_some_and(|v| super::stand_in::attributes_unknown(s, v))
    }) {
        return None;
    }
    let mut candidates: Vec<Vec<String>> = Vec::new();
    for scope in [src.vcn, dst.vcn].into_iter().flatten() {
        if let Some(one) = form_a(s, scope, &src, &dst, cond) {
            candidates.push(vec![one]);
        }
    }
    if let Some(b) = form_b(s, &src, &dst, cond) {
        candidates.push(vec![b]);
    }
    if let (Some(a), Some(b)) = (src.vcn, dst.vcn)
        && a != b
        && let (Some(x), Some(y)) = (
            form_a(s, a, &src, &dst, cond),
            form_a(s, b, &src, &dst, cond),
        )
    {
        candidates.push(vec![x, y]);
    }
    let policy = policy_for(s, &src, &dst);
    candidates.dedup();
    let mut kept = None;
    let texts = candidates.into_iter().find(|c| {
        opens(scratch, ix, p, policy, c, keep, want.proof).is_some_and(|k| {
            kept = k;
            true
        })
    })?;
    let s: &Scenario = scratch;
    let in_zpl = policy.is_some_and(|i| in_zpl(&s.zpr_policies[i]));
    let quoted: Vec<String> = texts.iter().map(|t| quoted(t, in_zpl)).collect();
    let into = match policy {
        Some(i) => {
            let pol = &s.zpr_policies[i];
            let note = want.note.map(|n| format!("; {n}")).unwrap_or_default();
            match written_in(pol) {
                Some(f) => format!("add to ZPR policy `{}` (in {f}{note})", pol.name),
                None if want.note.is_some() => {
                    format!("add to ZPR policy `{}` ({})", pol.name, &note[2..])
                }
                None => format!("add to ZPR policy `{}`", pol.name),
            }
        }
        None => match want.note {
            Some(n) => format!("add a ZPR policy (e.g. `{NEW_POLICY}`; {n}) with"),
            None => format!("add a ZPR policy (e.g. `{NEW_POLICY}`) with"),
        },
    };
    Some((
        format!("{}: {into}: {}", Stage::Zpr.as_str(), quoted.join(" and ")),
        kept,
    ))
}

/// Whether a policy's statements are ZPL as it stands (a `.zpl` file),
/// not strings of the scenario's `statements`.
pub(super) fn in_zpl(pol: &crate::model::ZprPolicy) -> bool {
    pol.file.is_some()
        || pol
            .statements
            .first()
            .is_some_and(|st| st.origin.file.ends_with(".zpl"))
}

/// A statement as a hint shows it: for a `.zpl` file ZPL as it stands
/// (ZPL quotes a value with `'`, doubled inside), for the scenario's
/// `statements` a TOML (or JSON) string, `"` and `\\` escaped.
pub(super) fn quoted(text: &str, in_zpl: bool) -> String {
    if in_zpl {
        format!("\"{text}\"")
    } else {
        crate::escape::toml_string(text)
    }
}

/// Where a policy's statements are written: its `.zpl` file, else the file
/// of its statements (the scenario); `None` when not known.
pub(super) fn written_in(pol: &crate::model::ZprPolicy) -> Option<&str> {
    pol.file.as_deref().or_else(|| {
        pol.statements
            .first()
            .map(|st| st.origin.file.as_str())
            .filter(|f| !f.is_empty())
    })
}

/// One end of the witness: its address, the VNIC holding it (if any) with
/// the attribute to name it by, and its VCN.
struct Side {
    ip: IpAddr,
    /// The address term of what `ip` stands in for in a `verify` path
    /// (`internet`, `service:LABEL`, a CIDR holding no VNIC), if it does.
    stands: Option<String>,
    vnic: Option<usize>,
    attribute: Option<Attribute>,
    vcn: Option<usize>,
}

impl Side {
    fn of(s: &Scenario, ix: Option<&AddressIndex>, ip: IpAddr, sel: Option<&Selector>) -> Side {
        let ep = super::endpoint_at(s, ix, ip);
        let (vnic, vcn) = match ep {
            Endpoint::Vnic(v) => (Some(v.index()), Some(s.vnic_vcn(v).index())),
            Endpoint::Unassigned(vcn) => (None, Some(vcn.index())),
            Endpoint::External => (None, None),
        };
        let attribute = vnic.and_then(|v| name_by(s, &s.vnics[v].attributes));
        let stands = sel
            .and_then(|sel| stands_for(s, sel, ip))
            .and_then(|peer| match peer {
                Peer::Cidr(net) => Some(format!("'{net}'")),
                Peer::Service(_) => Some("osn-services-ip-addresses".to_owned()),
                Peer::Nsg(_) => None,
            });
        Side {
            ip,
            stands,
            vnic,
            attribute,
            vcn,
        }
    }

    /// The term that names this end in a form-A statement scoped to VCN
    /// `scope`: its attribute when it is an attributed VNIC of that VCN
    /// (an attribute term matches only VNICs of the scoped VCN), else its
    /// address. `true` when it is an address term.
    fn term(&self, scope: usize) -> (String, bool) {
        match &self.attribute {
            Some(a) if self.vnic.is_some() && self.vcn == Some(scope) => {
                (format!("{a} endpoints"), false)
            }
            _ => (
                self.stands
                    .clone()
                    .unwrap_or_else(|| format!("'{}'", ipnet::IpNet::from(self.ip))),
                true,
            ),
        }
    }
}

/// The attribute to name a VNIC by: one that some statement already names
/// (the roles the policies are written in), else its first `enforce`
/// attribute, else its first.
fn name_by(s: &Scenario, attrs: &[crate::model::SecurityAttribute]) -> Option<Attribute> {
    let named = |a: &Attribute| {
        s.statements()
            .any(|(_, st)| st.statement.endpoint_attributes().any(|x| x == a))
    };
    // A stand-in's attribute (`import`: its real ones are unknown) names
    // nothing a user could write: an address term stands for it.
    let attrs: Vec<&crate::model::SecurityAttribute> = attrs
        .iter()
        .filter(|a| a.attribute.namespace != crate::shared::STAND_IN_NAMESPACE)
        .collect();
    attrs
        .iter()
        .find(|a| named(&a.attribute))
        .or_else(|| attrs.iter().find(|a| a.mode == Mode::Enforce))
        .or_else(|| attrs.first())
        .map(|a| a.attribute.clone())
}

/// The `with` conditions that match the witness and little else: its
/// protocol and destination port (every port of a `verify` path's range:
/// a statement for the witness's port alone would let `verify` pass while
/// the rest of the range stays closed), or its ICMP type and code.
pub(super) fn condition(p: &Packet, probe: Option<Probe>) -> String {
    let name = match p.proto {
        proto::TCP => "tcp",
        proto::UDP => "udp",
        proto::ICMP => "icmp",
        proto::ICMPV6 => "icmpv6",
        n => return format!("protocol='{n}'"),
    };
    match (p.l4, probe) {
        (L4::Ports { .. }, Some(Probe::Ports { dport: r, .. }))
            if r.min <= 1 && r.max == u16::MAX =>
        {
            format!("protocol='{name}'")
        }
        (L4::Ports { .. }, Some(Probe::Ports { dport: r, .. })) if r.min < r.max => {
            format!("protocol='{name}/{}-{}'", r.min, r.max)
        }
        (L4::Ports { dport, .. }, _) => format!("protocol='{name}/{dport}'"),
        (L4::Icmp { icmp_type, code }, _) => format!(
            "protocol='{name}', protocol.icmp.type='{icmp_type}', protocol.icmp.code='{code}'"
        ),
        (L4::Opaque | L4::Fragment, _) => format!("protocol='{name}'"),
    }
}

/// `in <scope> VCN allow <src> to connect to <dst> with <cond>`, when the
/// scope has an attribute and at most one term is an address.
fn form_a(s: &Scenario, scope: usize, src: &Side, dst: &Side, cond: &str) -> Option<String> {
    let vcn = s.vcns[scope].attribute.as_ref()?;
    let (a, a_addr) = src.term(scope);
    let (b, b_addr) = dst.term(scope);
    if a_addr && b_addr {
        return None;
    }
    Some(format!(
        "in {vcn} VCN allow {a} to connect to {b} with {cond}"
    ))
}

/// `allow <src> endpoints in <vcn-a> VCN to connect to <dst> endpoints with
/// <cond> in <vcn-b> VCN`, for two attributed VNICs in attributed VCNs.
fn form_b(s: &Scenario, src: &Side, dst: &Side, cond: &str) -> Option<String> {
    let (sa, da) = (src.attribute.as_ref()?, dst.attribute.as_ref()?);
    let sv = s.vcns[src.vcn?].attribute.as_ref()?;
    let dv = s.vcns[dst.vcn?].attribute.as_ref()?;
    Some(format!(
        "allow {sa} endpoints in {sv} VCN to connect to {da} endpoints with {cond} in {dv} VCN"
    ))
}

/// The policy a hint goes into: the first whose statements name an
/// attribute of either end, else the first; `None` when there is none.
/// Never a stand-in (made up by `zprsim import` for policies the export
/// lacked: its statements are unknown; since the twenty-first session).
fn policy_for(s: &Scenario, src: &Side, dst: &Side) -> Option<usize> {
    let ours = [&src.attribute, &dst.attribute];
    s.zpr_policies
        .iter()
        .position(|pol| {
            !pol.stand_in
                && pol.statements.iter().any(|st| {
                    st.statement
                        .endpoint_attributes()
                        .any(|a| ours.iter().any(|o| o.as_ref() == Some(a)))
                })
        })
        .or_else(|| s.zpr_policies.iter().position(|pol| !pol.stand_in))
}

/// Whether the statements, parsed from their text and added to `policy`
/// (a new one when `None`) of `scratch`, open what `proof` says of `p`
/// (`p` through the ZPR layer, or a first packet's reply): `None` when
/// they do not. `scratch` is left as it was, unless `keep` and they do:
/// then they stay, and the `Some` says where.
fn opens(
    scratch: &mut Scenario,
    ix: Option<&AddressIndex>,
    p: &Packet,
    policy: Option<usize>,
    texts: &[String],
    keep: bool,
    proof: Proof<'_>,
) -> Option<Option<Kept>> {
    let mut added = Vec::with_capacity(texts.len());
    for t in texts {
        let Ok(statement) = parse_statement(t) else {
            return None;
        };
        added.push(PolicyStatement {
            text: t.clone(),
            statement,
            origin: Origin {
                file: String::new(),
                line: 0,
                column: 0,
            },
        });
    }
    let created = policy.is_none_or(|i| i >= scratch.zpr_policies.len());
    let at = match policy.filter(|_| !created) {
        Some(i) => i,
        None => {
            scratch.zpr_policies.push(super::fix::new_policy());
            scratch.zpr_policies.len() - 1
        }
    };
    let before = scratch.zpr_policies[at].statements.len();
    scratch.zpr_policies[at].statements.extend(added);
    let ok = if let Proof::ReplyOf(first) = proof {
        super::zpr_reply_fix::reply_zpr_drops(scratch, ix, first) == Some(false)
    } else {
        let reports = super::layers_of(scratch, ix, p);
        reports.iter().all(|r| {
            r.layer != Stage::Zpr || !matches!(r.outcome, Outcome::Denied | Outcome::MissingPolicy)
        })
    };
    if ok && keep {
        return Some(Some(Kept::Statements {
            policy: at,
            added: texts.len(),
            created,
        }));
    }
    scratch.zpr_policies[at].statements.truncate(before);
    if created {
        scratch.zpr_policies.pop();
    }
    ok.then_some(None)
}
