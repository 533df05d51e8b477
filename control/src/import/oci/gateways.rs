//! Gateways (internet, NAT, service, local peering) and DRG attachments:
//! one name space for all kinds, each with the switch that makes it drop
//! every packet.

use serde_json::{Value, json};

use super::super::names::Names;
use super::inventory::{Index, Inventory};
use super::json::{g, gs, id_of};

/// A gateway: its name, kind, OCID, VCN OCID, and the field (with its
/// value) that makes it drop every packet, when it does.
pub(super) type Gateway = (
    String,
    &'static str,
    String,
    String,
    Option<(&'static str, Value)>,
);

/// Names the gateways and DRG attachments of `inv` (in `gw_names`, by
/// OCID in `ix.gateway`; DRG attachments by (DRG, VCN) in `ix.drg`).
pub(super) fn name_gateways(
    inv: &Inventory,
    ix: &mut Index,
    gw_names: &mut Names,
    warnings: &mut Vec<String>,
) -> Vec<Gateway> {
    let mut gateways = Vec::new();
    for (kind, o) in &inv.gateways {
        let id = id_of(o);
        let n = gw_names.take_for(gs(o, "display-name").unwrap_or_default(), kind, &id);
        ix.gateway.insert(id.clone(), n.clone());
        // OCI's switch that makes a gateway drop everything: a disabled
        // internet gateway, a NAT or service gateway blocking traffic.
        // Left out, the gateway would forward what the network drops; one
        // that is not a boolean is read as blocking (never widened).
        let switch = match *kind {
            "internet" => Some(("is-enabled", "is_enabled", false)),
            "nat" | "service" => Some(("block-traffic", "block_traffic", true)),
            _ => None,
        };
        let mut blocked: Option<(&str, Value)> = None;
        // A local peering gateway carries nothing until it is peered.
        if *kind == "lpg" {
            match g(o, "peering-status") {
                None => {}
                Some(Value::String(st)) if st.eq_ignore_ascii_case("PEERED") => {}
                Some(Value::String(st))
                    if ["NEW", "PENDING", "REVOKED", "INVALID"]
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(st)) =>
                {
                    blocked = Some(("peering_status", json!(st.to_ascii_uppercase())));
                }
                Some(other) => {
                    warnings.push(format!(
                        "gateway `{n}` (`{id}`): `peering-status` {other} is not one OCI gives; imported as not peered"
                    ));
                    blocked = Some(("peering_status", json!("INVALID")));
                }
            }
        }
        if let Some((key, field, when_blocked)) = switch {
            match g(o, key) {
                Some(Value::Bool(b)) if *b == when_blocked => {
                    blocked = Some((field, json!(when_blocked)));
                }
                None | Some(Value::Bool(_)) => {}
                Some(_) => {
                    warnings.push(format!(
                        "gateway `{n}` (`{id}`): `{key}` is not a boolean; imported as dropping every packet"
                    ));
                    blocked = Some((field, json!(when_blocked)));
                }
            }
        }
        gateways.push((
            n,
            *kind,
            id,
            gs(o, "vcn-id").unwrap_or_default().to_owned(),
            blocked,
        ));
    }
    for o in &inv.drg_attachments {
        let id = id_of(o);
        let vcn = g(o, "network-details")
            .and_then(Value::as_object)
            .filter(|d| gs(d, "type").is_none_or(|t| t == "VCN"))
            .and_then(|d| gs(d, "id"))
            .or_else(|| gs(o, "vcn-id"))
            .unwrap_or_default()
            .to_owned();
        if vcn.is_empty() {
            continue;
        }
        let n = gw_names.take_for(gs(o, "display-name").unwrap_or_default(), "drg", &id);
        ix.gateway.insert(id.clone(), n.clone());
        if let Some(drg) = gs(o, "drg-id") {
            ix.drg.insert((drg.to_owned(), vcn.clone()), n.clone());
        }
        gateways.push((n, "drg", id, vcn, None));
    }
    gateways
}

/// The gateways as scenario objects; one whose VCN is not in the export
/// is left out, with a warning.
pub(super) fn out_gateways(
    gateways: &[Gateway],
    ix: &Index,
    warnings: &mut Vec<String>,
) -> Vec<Value> {
    let mut out_gws = Vec::new();
    for (name, kind, id, vcn, blocked) in gateways {
        let Some(v) = ix.vcn.get(vcn) else {
            warnings.push(format!(
                "gateway `{name}` (`{id}`): its VCN `{vcn}` is not in the export; left out"
            ));
            continue;
        };
        let mut gw = json!({ "name": name, "id": id, "vcn": v, "kind": kind });
        if let (Some((field, value)), Some(m)) = (blocked, gw.as_object_mut()) {
            m.insert((*field).into(), json!(value));
        }
        out_gws.push(gw);
    }
    out_gws
}
