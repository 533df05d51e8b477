//! Security rules and security attributes, converted without widening:
//! a rule that cannot be held exactly is left out (it only allowed) or,
//! when stateless, refused.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::super::stand_in_rules::StandInRules;
use super::inventory::Index;
use super::json::{Obj, g, gs};

/// A port range: `Ok(None)` when absent or null (every port, as OCI
/// means it); an error naming the field when present but without a whole
/// `min` and `max` (leaving it out would widen the rule to every port).
pub(super) fn port_range(o: &Obj, kebab: &str) -> Result<Option<Value>, String> {
    let Some(r) = g(o, kebab) else {
        return Ok(None);
    };
    let bound = |k: &str| g(r.as_object()?, k).filter(|v| v.is_u64()).cloned();
    match (bound("min"), bound("max")) {
        (Some(min), Some(max)) => Ok(Some(json!({ "min": min, "max": max }))),
        _ => Err(format!("`{kebab}` without a whole `min` and `max`")),
    }
}

/// Converts TCP/UDP/ICMP options; an error names a field that cannot be
/// converted without widening the rule.
pub(super) fn options(rule: &Obj, out: &mut Obj) -> Result<(), String> {
    for (kebab, native) in [
        ("tcp-options", "tcp_options"),
        ("udp-options", "udp_options"),
    ] {
        if let Some(v) = g(rule, kebab) {
            let o = v
                .as_object()
                .ok_or_else(|| format!("`{kebab}` is not an object"))?;
            let mut m = Obj::new();
            if let Some(r) = port_range(o, "destination-port-range")? {
                m.insert("destination_port_range".into(), r);
            }
            if let Some(r) = port_range(o, "source-port-range")? {
                m.insert("source_port_range".into(), r);
            }
            out.insert(native.into(), Value::Object(m));
        }
    }
    if let Some(v) = g(rule, "icmp-options") {
        let o = v
            .as_object()
            .ok_or_else(|| "`icmp-options` is not an object".to_owned())?;
        let mut m = Obj::new();
        // OCI requires the type when the options are given; without it the
        // rule would match every ICMP type.
        let t = g(o, "type").ok_or_else(|| "`icmp-options` without a `type`".to_owned())?;
        m.insert("type".into(), t.clone());
        if let Some(c) = g(o, "code") {
            m.insert("code".into(), c.clone());
        }
        out.insert("icmp_options".into(), Value::Object(m));
    }
    Ok(())
}

pub(super) struct Cx<'a> {
    pub(super) ix: &'a Index,
    pub(super) warnings: &'a mut Vec<String>,
    pub(super) labels: &'a mut BTreeSet<String>,
    /// Stand-in NSGs for those the export lacks.
    pub(super) nsg_stand_ins: &'a mut StandInRules,
    /// NSGs `network-nsg-list.json` lacks whose rules the export holds
    /// (`network-nsg-rules-list.<OCID>.json`), by OCID: their stand-ins
    /// keep them.
    pub(super) rules_without_nsg: &'a BTreeSet<String>,
    /// The stand-in NSG whose rules are being converted, (OCID, name): a
    /// rule naming the NSG itself names its stand-in, and a stateless
    /// rule that cannot be held is refused (the caller then keeps none of
    /// its rules) rather than kept for the load to refuse.
    pub(super) this_nsg: Option<(String, String)>,
    /// The VCN (its name) of the NSG whose rules are being converted: a
    /// rule naming an NSG the export lacks names that NSG's stand-in in
    /// this VCN ([`Cx::stand_in_peers`]).
    pub(super) this_vcn: Option<String>,
    /// Rules of exported NSGs naming an NSG the export lacks, converted
    /// before the VNICs make the stand-ins, by the index in the
    /// placeholder peer ([`PENDING`]).
    pub(super) pending: Vec<Pending>,
    /// NSGs the export lacks that VNICs of more than one VCN name, by
    /// OCID (known once the VNICs are converted): an NSG belongs to one
    /// VCN, and which is unknown ([`Cx::contested_peer`]).
    pub(super) contested: BTreeSet<String>,
    /// Stand-in NSGs made with no member ([`Cx::stand_in_peer`]), by
    /// name: they keep no rule (an NSG's rules apply to its members).
    pub(super) member_less: BTreeSet<String>,
    /// Each exported NSG's VCN (its name), by OCID ([`Cx::nsg_names`];
    /// all of them before any rule is converted).
    pub(super) nsg_vcn: std::collections::HashMap<String, String>,
    /// Stateless rules left out because the NSG they name cannot be
    /// resolved safely ([`Cx::unresolved`]): the caller marks
    /// the rule's NSG a stand-in (nothing tracked at its VNICs) when this
    /// count grows while its rules are converted.
    pub(super) untracked: usize,
    /// Why the import cannot go on: an object that can be neither held
    /// nor left out without allowing more than the network does.
    pub(super) refused: Vec<String>,
}

/// A rule of an exported NSG naming an NSG the export lacks, resolved
/// once the VNICs have made the stand-ins ([`Cx::stand_in_peers`]).
pub(super) struct Pending {
    /// The NSG named.
    peer: String,
    /// The VCN of the rule's NSG.
    vcn: String,
    /// The rule's NSG, for warnings.
    owner: String,
    /// Whether the rule is stateful.
    stateful: bool,
    /// The warning when the rule is left out.
    why: String,
    /// Why it is left out (for the stateless rule's warning).
    reason: String,
}

/// The start of a placeholder peer: an NSG the export lacks, resolved to
/// its stand-in (or the rule left out) once the VNICs have made them.
const PENDING: &str = "\u{0}stand-in-peer:";

impl Cx<'_> {
    /// The names of NSGs `ids` of a VNIC of VCN `vcn` (`what`): one the
    /// export lacks is a stand-in with no rule ([`StandInRules`]).
    pub(super) fn nsg_names(&mut self, ids: Vec<String>, what: &str, vcn: &str) -> Vec<String> {
        let mut nsgs: Vec<String> = Vec::new();
        for n in ids {
            // A blank id names nothing (an empty string the CLI printed).
            if n.trim().is_empty() {
                self.warnings
                    .push(format!("{what}: an NSG id is blank; left out"));
                continue;
            }
            let name = match self.ix.nsg.get(&n) {
                // An exported NSG of another VCN: the VNIC cannot be in it
                // (an NSG's members are VNICs of its VCN), so the export
                // contradicts itself. Not a member (its rules would allow
                // what they may not, and the scenario refused it: the
                // import refused its own output until the twentieth
                // session), but its NSGs are not what the export says: a
                // stand-in with no rule and no id in its own VCN, at whose
                // VNICs nothing is tracked.
                Some(x) if self.nsg_vcn.get(&n).is_some_and(|v| v != vcn) => {
                    let elsewhere = self.nsg_vcn.get(&n).cloned().unwrap_or_default();
                    let name = self.nsg_stand_ins.take(&n, vcn);
                    self.nsg_stand_ins.drop_id(&name);
                    self.warnings.push(format!(
                        "{what}: its NSG `{x}` (`{n}`) is of VCN `{elsewhere}`, not of its VCN `{vcn}` (an NSG's members are VNICs of its VCN: the export contradicts itself); kept as `{name}`, a stand-in NSG of its VCN with no rule and no id (nothing is tracked at it): export the VNIC again (`oci network vnic get`)"
                    ));
                    name
                }
                Some(x) => x.clone(),
                None => {
                    let name = self.nsg_stand_ins.take(&n, vcn);
                    self.warnings.push(if self.rules_without_nsg.contains(&n) {
                        format!(
                            "{what}: its NSG `{n}` is not in the export, but its rules are (`network-nsg-rules-list.{n}.json`); kept as `{name}`, a stand-in NSG with those rules (its name and VCN are guessed: export it with `oci network nsg get --nsg-id {n}`)"
                        )
                    } else {
                        format!(
                            "{what}: its NSG `{n}` is not in the export; kept as `{name}`, a stand-in NSG with no rule (export it for what its rules allow)"
                        )
                    });
                    name
                }
            };
            // Named twice, it is one NSG (the scenario refuses a repeat).
            if !nsgs.contains(&name) {
                nsgs.push(name);
            }
        }
        nsgs
    }

    /// A security rule; `owner` names the NSG or list for warnings.
    ///
    /// Rules allow: a field the export lacks is never filled with a value
    /// that allows more (a missing `protocol` is not `all`, a missing peer
    /// not `0.0.0.0/0`, a port range without `max` not every port). Such a
    /// rule is left out with a warning, so the scenario allows at most what
    /// the network does.
    ///
    /// Except a rule that is (or may be) stateless: left out, a flow it
    /// matched beside a stateful rule would be tracked and its replies let
    /// in ("stateless wins"), so it is refused ([`Cx::refused`]) and the
    /// import fails, naming it.
    /// `index`: the rule's place in its list (named where the rule has no
    /// `id`, as security lists' rules have none).
    pub(super) fn rule(
        &mut self,
        r: &Obj,
        index: usize,
        direction: Option<&str>,
        owner: &str,
    ) -> Option<Value> {
        // `is-stateless` absent or null is OCI's default, stateful; a value
        // that is not a boolean may be stateless.
        let stateful = matches!(
            g(r, "is-stateless").map(Value::as_bool),
            None | Some(Some(false))
        );
        let which = gs(r, "id").map_or_else(
            || {
                let list = direction.map_or(String::new(), |d| {
                    format!(" of its {} rules", d.to_ascii_lowercase())
                });
                format!(" #{index}{list}")
            },
            |id| format!(" `{id}`"),
        );
        let leave_out = |why: &str| {
            if stateful {
                format!("{owner}: rule{which}: {why}; the rule is left out")
            } else {
                format!(
                    "{owner}: stateless rule{which}: {why}; a stateless rule is not left out (without it, a flow it matched could be tracked and its replies let in), so the import fails"
                )
            }
        };

        let mut out = Obj::new();
        let dir = direction
            .map(str::to_owned)
            .or_else(|| gs(r, "direction").map(str::to_uppercase));
        let Some(dir) = dir else {
            self.left_out(stateful, leave_out("no `direction`"));
            return None;
        };
        if dir != "INGRESS" && dir != "EGRESS" {
            // Quoted raw, as every warning here: the CLI escapes warnings
            // when it prints them (src/import.rs).
            self.left_out(
                stateful,
                leave_out(&format!("direction `{dir}` is not `INGRESS` or `EGRESS`")),
            );
            return None;
        }
        if direction.is_none() {
            out.insert("direction".into(), json!(dir));
        }
        let protocol = match g(r, "protocol") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                self.left_out(stateful, leave_out("no `protocol`"));
                return None;
            }
        };
        out.insert("protocol".into(), json!(protocol));
        let (peer_key, type_key) = if dir == "EGRESS" {
            ("destination", "destination-type")
        } else {
            ("source", "source-type")
        };
        let Some(peer) = gs(r, peer_key) else {
            self.left_out(stateful, leave_out(&format!("no `{peer_key}`")));
            return None;
        };
        // Upper case, as `direction`: the CLI writes `CIDR_BLOCK`, a
        // hand-written or converted export may not.
        let kind = gs(r, type_key).map_or_else(|| "CIDR_BLOCK".to_owned(), str::to_ascii_uppercase);
        let kind = kind.as_str();
        let native_type = type_key.replace('-', "_");
        match kind {
            "NETWORK_SECURITY_GROUP" => {
                // A stand-in NSG's rule naming the NSG itself names the
                // stand-in (its members are the VNICs that name it).
                let itself = self
                    .this_nsg
                    .as_ref()
                    .filter(|(id, _)| id == peer)
                    .map(|(_, name)| name.clone());
                // Any other NSG the export lacks: its stand-in in this
                // rule's VCN, whose members are exactly the exported VNICs
                // naming it (an NSG's rules name NSGs of its VCN); exact
                // for membership (since the nineteenth session: the rule
                // was left out, or the import failed for a stateless one).
                // One no VNIC names is a stand-in with no member (since
                // the twentieth session; [`Cx::stand_in_peer`]). Made by the
                // VNICs, which come after the exported NSGs: a placeholder
                // until then; a stand-in NSG's rules come after the VNICs.
                // An exported NSG of another VCN: an NSG's rules name
                // NSGs of its VCN, so the export contradicts itself (the
                // scenario refused it, and the import its own output,
                // until the twenty-first session). Resolved as an NSG the
                // export lacks, in the rule's VCN: a copy with no member
                // (it matches nothing, whichever VCN is the NSG's), or,
                // where VNICs of the rule's VCN name it, left out
                // ([`Cx::contested_here`]).
                let elsewhere = matches!(
                    (self.nsg_vcn.get(peer), &self.this_vcn),
                    (Some(theirs), Some(vcn)) if theirs != vcn
                );
                let exported = if elsewhere {
                    None
                } else {
                    self.ix.nsg.get(peer).cloned()
                };
                let n = match (exported.or(itself), &self.this_vcn) {
                    (Some(n), _) => n,
                    (None, Some(vcn)) if self.this_nsg.is_some() => {
                        let vcn = vcn.clone();
                        if self.contested_here(peer, &vcn) {
                            let why = self.unresolved_why(peer, &vcn);
                            self.unresolved(stateful, &leave_out(&why), owner, &why);
                            return None;
                        }
                        self.stand_in_peer(peer, &vcn, owner)
                    }
                    (None, Some(vcn)) => {
                        let reason = self.unresolved_why(peer, vcn);
                        self.pending.push(Pending {
                            peer: peer.to_owned(),
                            vcn: vcn.clone(),
                            owner: owner.to_owned(),
                            stateful,
                            why: leave_out(&reason),
                            reason,
                        });
                        format!("{PENDING}{}", self.pending.len() - 1)
                    }
                    (None, None) => {
                        self.left_out(
                            stateful,
                            leave_out(&format!(
                                "names NSG `{peer}`, which is not in the export, and no NSG of a VCN"
                            )),
                        );
                        return None;
                    }
                };
                out.insert(peer_key.into(), json!(n));
                out.insert(native_type, json!(kind));
            }
            "SERVICE_CIDR_BLOCK" => {
                self.labels.insert(peer.to_owned());
                out.insert(peer_key.into(), json!(peer));
                out.insert(native_type, json!(kind));
            }
            "CIDR_BLOCK" => {
                out.insert(peer_key.into(), json!(peer));
            }
            // A type OCI does not give: what the peer is is unknown (an NSG
            // OCID written as a CIDR block made `check` refuse the
            // imported file). Left out (stateful), or refused as any
            // stateless rule that cannot be held (since the nineteenth
            // session).
            other => {
                self.left_out(
                    stateful,
                    leave_out(&format!(
                        "`{type_key}` `{other}` is not `CIDR_BLOCK`, `SERVICE_CIDR_BLOCK` or `NETWORK_SECURITY_GROUP`"
                    )),
                );
                return None;
            }
        }
        // A value that is not a boolean cannot be read as stateful (that
        // lets replies in) nor left out (`stateful` is false: refused).
        match g(r, "is-stateless").map(Value::as_bool) {
            None | Some(Some(false)) => {}
            Some(Some(true)) => {
                out.insert("is_stateless".into(), json!(true));
            }
            Some(None) => {
                self.left_out(
                    stateful,
                    leave_out("`is-stateless` is not `true` or `false`"),
                );
                return None;
            }
        }
        if let Err(why) = options(r, &mut out) {
            self.left_out(stateful, leave_out(&why));
            return None;
        }
        if let Err(why) = holdable(&out, peer_key, kind) {
            if out.contains_key("is_stateless") && self.this_nsg.is_some() {
                self.refused.push(leave_out(&why));
                return None;
            }
            if out.contains_key("is_stateless") {
                // Left out, a stateless rule could widen the scenario: a
                // flow it matched beside a stateful rule would be tracked
                // and its replies let in ("stateless wins"). Kept, so the
                // load refuses it and the import fails.
                self.warnings.push(leave_out(&why));
            } else {
                self.left_out(stateful, leave_out(&why));
                return None;
            }
        }
        Some(Value::Object(out))
    }

    /// The placeholder peers of `nsgs` (exported NSGs, as scenario
    /// objects) resolved once the VNICs have made the stand-in NSGs: each
    /// names the stand-in of its NSG in its VCN, made with no member when
    /// no VNIC of the VCN names the NSG ([`Cx::stand_in_peer`]). A
    /// stateful rule naming an NSG VNICs of several VCNs name is left out
    /// ([`Cx::contested`]).
    pub(super) fn stand_in_peers(&mut self, nsgs: &mut [Value]) {
        let pending = std::mem::take(&mut self.pending);
        for nsg in nsgs {
            let before = self.untracked;
            let Some(rules) = nsg.get_mut("rules").and_then(Value::as_array_mut) else {
                continue;
            };
            rules.retain_mut(|r| {
                let Some(r) = r.as_object_mut() else {
                    return true;
                };
                for key in ["source", "destination"] {
                    let Some(at) = r
                        .get(key)
                        .and_then(Value::as_str)
                        .and_then(|p| p.strip_prefix(PENDING))
                        .and_then(|i| i.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    let Some(p) = pending.get(at) else {
                        return false;
                    };
                    if self.contested_here(&p.peer, &p.vcn) {
                        self.unresolved(p.stateful, &p.why, &p.owner, &p.reason);
                        return false;
                    }
                    let n = self.stand_in_peer(&p.peer, &p.vcn, &p.owner);
                    r.insert(key.into(), json!(n));
                }
                true
            });
            if self.untracked > before {
                nsg["stand_in"] = json!(true);
            }
        }
    }

    /// The NSGs the export lacks that rules of exported NSGs name, each
    /// with the VCN of the rule's NSG (resolved later, [`Cx::stand_in_peers`]).
    pub(super) fn pending_claims(&self) -> Vec<(String, String)> {
        self.pending
            .iter()
            .map(|p| (p.peer.clone(), p.vcn.clone()))
            .collect()
    }

    /// Whether a rule of VCN `vcn` naming NSG `peer` (one the export
    /// lacks) cannot be resolved safely: the NSG is claimed from more than
    /// one VCN ([`Cx::contested`]) and VNICs of `vcn` name it, so its copy
    /// here has members whose claim may be false (the NSG may be another
    /// VCN's, and a rule naming an NSG of another VCN matches nothing).
    /// Where no VNIC of `vcn` names it, the rule names a copy with no
    /// member, which matches nothing either way ([`Cx::stand_in_peer`]).
    fn contested_here(&self, peer: &str, vcn: &str) -> bool {
        (self.contested.contains(peer) || self.nsg_vcn.get(peer).is_some_and(|v| v != vcn))
            && self
                .nsg_stand_ins
                .get(peer, vcn)
                .is_some_and(|n| !self.member_less.contains(n))
    }

    /// Why a rule of VCN `vcn` naming NSG `peer` is left out when
    /// [`Cx::contested_here`]: an exported NSG of another VCN, or one the
    /// export lacks that VNICs of more than one VCN claim.
    fn unresolved_why(&self, peer: &str, vcn: &str) -> String {
        match self.nsg_vcn.get(peer) {
            Some(theirs) => format!(
                "names NSG `{peer}`, which the export gives to VCN `{theirs}`, not to the rule's VCN `{vcn}`, whose VNICs name it too (an NSG's rules name NSGs of its VCN: the export contradicts itself, and the rule could match VNICs that are not in it)"
            ),
            None => contested_why(peer),
        }
    }

    /// A rule naming an NSG it cannot be resolved to safely (`why`):
    /// left out (`m`, its warning when stateful), so it matches nothing,
    /// the least any reading allows. Stateless, left out it could let a
    /// flow it matched be tracked beside a stateful rule, and its replies
    /// in ("stateless wins"): so nothing is tracked at the VNICs of its
    /// NSG either ([`Cx::untracked`]: the caller marks the NSG a stand-in;
    /// since the twenty-first session, the mid-session review's L6: it
    /// named one VCN's copy of a contested NSG, whose members may not be
    /// in it).
    fn unresolved(&mut self, stateful: bool, m: &str, owner: &str, why: &str) {
        if stateful {
            self.warnings.push(m.to_owned());
        } else {
            self.untracked += 1;
            self.warnings.push(format!(
                "{owner}: a stateless rule {why}; it is left out (it matches nothing here, the least it could), and nothing is tracked at the NSG's VNICs (`stand_in = true`), so no flow it matched in the network is tracked here"
            ));
        }
    }

    /// The stand-in of NSG `peer` (an OCID the export lacks) in VCN
    /// `vcn`, named by a rule of `owner`; made, with a warning, when no
    /// VNIC names it. Such a stand-in has no member: an NSG's members are
    /// the VNICs that name it, and every exported VNIC's `nsg-ids` are
    /// known (OCI: a rule naming an NSG matches its members; one naming a
    /// deleted NSG turns invalid and matches nothing). So a rule naming it
    /// matches no exported VNIC, stateful or stateless; a VNIC the export
    /// lacks (a stand-in without NSGs) might be in it, and nothing is
    /// tracked at the VNICs of a stateless rule naming an NSG of such a
    /// stand-in's VCN (docs/semantics.md section 4), as for any NSG. Since
    /// the twentieth session: the rule was left out, or, stateless, the
    /// import failed.
    pub(super) fn stand_in_peer(&mut self, peer: &str, vcn: &str, owner: &str) -> String {
        if let Some(n) = self.nsg_stand_ins.get(peer, vcn) {
            return n.to_owned();
        }
        // Another VCN's VNICs name it (the export contradicts itself, as
        // for [`Cx::contested`]): the OCID stays on that copy, which has
        // members.
        let elsewhere = self.nsg_stand_ins.any(peer);
        let theirs = self.nsg_vcn.get(peer).cloned();
        let name = self.nsg_stand_ins.take(peer, vcn);
        if elsewhere || theirs.is_some() {
            self.nsg_stand_ins.drop_id(&name);
        }
        self.member_less.insert(name.clone());
        // An exported NSG of another VCN (the export contradicts itself).
        if let Some(theirs) = theirs {
            self.warnings.push(format!(
                "{owner}: a rule names NSG `{peer}`, which the export gives to VCN `{theirs}`, not to the rule's VCN `{vcn}` (an NSG's rules name NSGs of its VCN: the export contradicts itself), and no VNIC of `{vcn}` names it; kept as `{name}`, a stand-in NSG with no member and no id in `{vcn}`: rules naming it match no exported VNIC, whichever VCN the NSG is of"
            ));
            return name;
        }
        let rules = if self.rules_without_nsg.contains(peer) {
            " (its exported rules, which apply to its members only, are left out)"
        } else {
            ""
        };
        self.warnings.push(format!(
            "{owner}: a rule names NSG `{peer}`, which is not in the export and which no VNIC of VCN `{vcn}` names; kept as `{name}`, a stand-in NSG with no member{rules} (an NSG's members are the VNICs that name it): rules naming it match no exported VNIC (export it with `oci network nsg get --nsg-id {peer}`)"
        ));
        name
    }

    /// A rule that cannot be held: left out with the warning `m` when it
    /// is stateful; refused, failing the import, when it may be stateless.
    pub(super) fn left_out(&mut self, stateful: bool, m: String) {
        if stateful {
            self.warnings.push(m);
        } else {
            self.refused.push(m);
        }
    }
}

/// Why a stateful rule naming the contested NSG `peer` ([`Cx::contested`])
/// is left out.
fn contested_why(peer: &str) -> String {
    format!(
        "names NSG `{peer}`, which is not in the export and which VNICs of more than one VCN name (an NSG belongs to one VCN, and which is unknown: the rule could match VNICs that are not in it)"
    )
}

/// Whether the scenario can hold a converted security rule as the loader
/// reads it: its protocol, its peer when a CIDR block, its port ranges
/// and ICMP type and code; else what it cannot hold.
pub(super) fn holdable(out: &Obj, peer_key: &str, kind: &str) -> Result<(), String> {
    let protocol = out.get("protocol").and_then(Value::as_str).unwrap_or("");
    if crate::load::protocol_named(protocol).is_none() {
        return Err(format!(
            "protocol `{protocol}` is not `all`, `tcp`, `udp`, `icmp`, `icmpv6` or a number from 0 to 255"
        ));
    }
    if kind == "CIDR_BLOCK"
        && let Some(peer) = out.get(peer_key).and_then(Value::as_str)
    {
        crate::load::parse_cidr(peer).map(drop)?;
    }
    for options in ["tcp_options", "udp_options"] {
        for range in ["destination_port_range", "source_port_range"] {
            let Some(r) = out.get(options).and_then(|o| o.get(range)) else {
                continue;
            };
            let bound = |k: &str| r.get(k).and_then(Value::as_u64).unwrap_or(u64::MAX);
            let (min, max) = (bound("min"), bound("max"));
            if max > u64::from(u16::MAX) || min > max {
                return Err(format!(
                    "`{options}.{range}` {min}-{max} is not a port range (0-65535, min at most max)"
                ));
            }
        }
    }
    if let Some(icmp) = out.get("icmp_options") {
        for k in ["type", "code"] {
            if let Some(v) = icmp.get(k)
                && v.as_u64().is_none_or(|n| n > 255)
            {
                return Err(format!("ICMP {k} `{v}` is not a number from 0 to 255"));
            }
        }
    }
    Ok(())
}

/// The security attributes, as given: an empty object is none; any other
/// value is kept, so a value that is not an object reaches the loader,
/// which refuses it (dropping it would make an attributed VNIC one that
/// ZPR does not hold to its policy: a wider scenario).
pub(super) fn attributes(o: &Obj) -> Option<Value> {
    g(o, "security-attributes")
        .filter(|v| v.as_object().is_none_or(|m| !m.is_empty()))
        .cloned()
}
