//! `--node-local CIDR`: addresses whose traffic never reaches the VCN.
//!
//! On a Kubernetes node a pod's packet to a service's ClusterIP (OKE's
//! default service range is 10.96.0.0/16) is rewritten by kube-proxy on
//! the node itself: a capture of Linux's `any` device holds it twice,
//! once to the ClusterIP (on the pod's `veth`, before the rewrite) and
//! once to the chosen endpoint (on the node's VNIC, after it). Only the
//! second crosses the VCN. Judged, the first would be routed as traffic
//! to an address outside the VCN (a NAT or internet gateway, or no
//! route) and counted as a drop or a flow that does not exist there.
//!
//! With `--node-local` the reader leaves out, before anything else looks
//! at it, an IP record whose source or destination lies in one of the
//! given prefixes, and counts it.

use ipnet::IpNet;

use crate::parse::{Parsed, parse_frame};

/// Prefixes whose traffic stays on the node.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeLocal {
    nets: Vec<IpNet>,
}

impl NodeLocal {
    pub(crate) fn new(nets: &[IpNet]) -> NodeLocal {
        NodeLocal {
            nets: nets.to_vec(),
        }
    }

    /// Whether any prefix is given.
    pub(crate) fn active(&self) -> bool {
        !self.nets.is_empty()
    }

    /// Whether the record is IP with an address in a node-local prefix.
    pub(crate) fn holds(&self, linktype: u32, data: &[u8]) -> bool {
        if self.nets.is_empty() {
            return false;
        }
        match parse_frame(linktype, data) {
            Parsed::Ip(m) => self
                .nets
                .iter()
                .any(|n| n.contains(&m.packet.src) || n.contains(&m.packet.dst)),
            _ => false,
        }
    }
}
