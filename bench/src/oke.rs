//! The OKE example (`examples/oke-orders`) grown to a real cluster's size:
//! `nodes` dual-stack worker nodes and `pods` pod IPs, for `verify` at the
//! scale platform teams run it (`zprsim-gen oke`, `docs/benchmarks.md`).
//!
//! Everything but the cluster's own VNICs is the example's, so the `oke`
//! pack and the example's `expect.toml` apply unchanged:
//!
//! - the workers subnet becomes `10.0.64.0/20` with IPv6 `fd00:0:0:2::/64`;
//!   node `worker-N` (primary VNIC, `nodes-nsg`, `app.role:oke-node`) gets
//!   `10.0.64.10 + N` and `fd00:0:0:2::a + N`;
//! - the pods subnet becomes `10.1.0.0/16` (a second VCN CIDR; the legacy
//!   subnet's rule to the pods CIDR follows it): VCN-native pod networking
//!   puts every pod IP on a secondary VNIC of a node, up to 31 per VNIC
//!   (OCI's limit of secondary private IPs per VNIC), so pod IPs
//!   `10.1.0.10 + N` are grouped 31 to a `pods-vnic-M` (`pods-nsg`); every
//!   tenth pod VNIC runs `billing` (the last, when there are fewer than
//!   ten), the others `orders-api`; at least 2 nodes and 32 pods, so the
//!   expectations' node-to-node and both workloads' paths have pairs;
//! - the example's own nodes and pods (`worker-1`, `worker-2`,
//!   `orders-api-pod-1`, `orders-api-pod-2`, `billing-pod-1`) are left out.
//!
//! The scenario names `policies/orders.zpl` as the example does: write
//! [`POLICY`] beside it (or load it with the example's directory as the
//! base).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The example scenario this grows.
pub const SCENARIO: &str = include_str!("../../examples/oke-orders/scenario.toml");
/// Its ZPR policy file (`policies/orders.zpl`).
pub const POLICY: &str = include_str!("../../examples/oke-orders/policies/orders.zpl");
/// Its expectations (`oke` pack and the cluster's own paths).
pub const EXPECT: &str = include_str!("../../examples/oke-orders/expect.toml");

/// Most nodes: the `/20` workers subnet from `.10` on.
pub const MAX_NODES: usize = 4_000;
/// Most pod IPs: the `/16` pods CIDR from `.10` on.
pub const MAX_PODS: usize = 65_000;
/// Pod IPs per secondary VNIC.
pub const PODS_PER_VNIC: usize = 31;

/// The example's VNICs that the generated ones replace.
const REPLACED: [&str; 5] = [
    "worker-1",
    "worker-2",
    "orders-api-pod-1",
    "orders-api-pod-2",
    "billing-pod-1",
];

/// Replaces the one occurrence of `from`.
fn once(text: &str, from: &str, to: &str) -> Result<String, String> {
    if text.matches(from).count() != 1 {
        return Err(format!("the OKE example no longer has `{from}` once"));
    }
    Ok(text.replacen(from, to, 1))
}

/// The scenario (TOML) of an OKE cluster of `nodes` dual-stack nodes and
/// `pods` pod IPs.
///
/// # Errors
/// More than [`MAX_NODES`] nodes or [`MAX_PODS`] pods, fewer than 2 nodes
/// or 32 pods, or an example that changed shape.
pub fn scenario(nodes: usize, pods: usize) -> Result<String, String> {
    if nodes > MAX_NODES || pods > MAX_PODS {
        return Err(format!(
            "at most {MAX_NODES} nodes and {MAX_PODS} pods (the subnets' sizes)"
        ));
    }
    if nodes < 2 || pods <= PODS_PER_VNIC {
        return Err(format!(
            "at least 2 nodes and {} pods (node-to-node paths need two nodes, and two pod VNICs run orders-api and billing: the example's expectations need both)",
            PODS_PER_VNIC + 1
        ));
    }
    let mut t = once(
        SCENARIO,
        "cidr_blocks = [\"10.0.0.0/16\"]",
        "cidr_blocks = [\"10.0.0.0/16\", \"10.1.0.0/16\", \"fd00::/56\"]",
    )?;
    t = once(
        &t,
        "cidr_block = \"10.0.2.0/24\"",
        "cidr_block = \"10.0.64.0/20\"\nipv6_cidr_blocks = [\"fd00:0:0:2::/64\"]",
    )?;
    t = once(
        &t,
        "cidr_block = \"10.0.10.0/24\"",
        "cidr_block = \"10.1.0.0/16\"",
    )?;
    t = once(
        &t,
        "destination = \"10.0.10.0/24\"",
        "destination = \"10.1.0.0/16\"",
    )?;
    // Cut the example's nodes and pods out: each `[[vnic]]` table runs to
    // the next table header.
    let mut out = String::with_capacity(t.len() + (nodes + pods) * 64);
    let mut skipping = false;
    for line in t.lines() {
        if line.starts_with('[') {
            skipping = false;
        }
        if line.starts_with("name = ") && out.ends_with("[[vnic]]\n") {
            let name = line.trim_start_matches("name = ").trim_matches('"');
            if REPLACED.contains(&name) {
                skipping = true;
                out.truncate(out.len() - "[[vnic]]\n".len());
            }
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    for n in 0..nodes {
        let k = u32::try_from(n).unwrap_or(u32::MAX);
        let v4 = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 64, 10)) + k);
        let v6 = Ipv6Addr::from(
            u128::from(Ipv6Addr::new(0xfd00, 0, 0, 2, 0, 0, 0, 0x0a)) + u128::from(k),
        );
        let _ = write!(
            out,
            "\n[[vnic]]\nname = \"worker-{n}\"\nsubnet = \"workers\"\nprivate_ips = [\"{v4}\", \"{v6}\"]\nnsgs = [\"nodes-nsg\"]\nkind = \"node\"\nsecurity_attributes = {{ app = {{ role = {{ value = \"oke-node\" }} }} }}\n",
        );
    }
    let vnics = pods.div_ceil(PODS_PER_VNIC);
    for (m, first) in (0..pods).step_by(PODS_PER_VNIC).enumerate() {
        let ips: Vec<String> = (first..pods.min(first + PODS_PER_VNIC))
            .map(|p| {
                let k = u32::try_from(p).unwrap_or(u32::MAX);
                format!(
                    "\"{}\"",
                    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 1, 0, 10)) + k)
                )
            })
            .collect();
        // With fewer than ten pod VNICs the last runs billing, so that the
        // example's billing paths have an endpoint.
        let workload = if m % 10 == 9 || (vnics < 10 && m + 1 == vnics) {
            "billing"
        } else {
            "orders-api"
        };
        let _ = write!(
            out,
            "\n[[vnic]]\nname = \"pods-vnic-{m}\"\nsubnet = \"pods\"\nprivate_ips = [{}]\nnsgs = [\"pods-nsg\"]\nkind = \"pod\"\nsecurity_attributes = {{ app = {{ workload = {{ value = \"{workload}\" }} }} }}\n",
            ips.join(", ")
        );
    }
    Ok(out)
}
