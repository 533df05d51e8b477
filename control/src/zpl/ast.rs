//! The typed ZPL syntax tree. Every node keeps the byte span it was parsed
//! from (relative to the statement text), so errors and explanations can
//! point at the exact term.

use ipnet::IpNet;

use crate::shared::{Attribute, PortRange};

/// A half-open byte range `start..end` into the statement's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A node with the span it came from. Spans never take part in equality,
/// so a statement printed and parsed again compares equal to the original.
#[derive(Debug, Clone, Copy, Eq)]
pub struct Spanned<T> {
    /// The node.
    pub node: T,
    /// Where it was written.
    pub span: Span,
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

// Hash agrees with `PartialEq`: the span takes no part.
impl<T: std::hash::Hash> std::hash::Hash for Spanned<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.node.hash(state);
    }
}

impl<T> Spanned<T> {
    /// Wraps a node with its span.
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

/// An endpoint term of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// VNICs carrying this attribute (in the scoped VCN for form A).
    Attribute(Attribute),
    /// Addresses inside a quoted IP (as a host prefix) or CIDR.
    Cidr(IpNet),
    /// `all-endpoints`: any address inside the scoped VCN.
    AllEndpoints,
    /// `osn-services-ip-addresses` (or the older `osn-services-ip-endpoints`):
    /// addresses inside any service label's CIDRs.
    OsnServices,
}

impl Endpoint {
    /// IP/CIDR and the OSN keyword are address terms: they may stand on one
    /// side of a statement only.
    #[must_use]
    pub fn is_address_term(&self) -> bool {
        matches!(self, Endpoint::Cidr(_) | Endpoint::OsnServices)
    }
}

/// `connection-state=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConnectionState {
    /// Replies of an allowed connection pass (the default).
    #[default]
    Stateful,
    /// Replies need a statement of their own.
    Stateless,
}

/// `protocol='...'`: one protocol and, for TCP/UDP, optional destination ports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProtocolSpec {
    /// IANA protocol number (`tcp` = 6, `udp` = 17, `icmp` = 1, `icmpv6` = 58).
    pub protocol: u8,
    /// Destination ports of the connecting packet; empty means every port.
    pub ports: Vec<PortRange>,
}

/// One `with` condition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Condition {
    /// `protocol='tcp/443'` and friends.
    Protocol(ProtocolSpec),
    /// `protocol.icmp.type='8'`.
    IcmpType(u8),
    /// `protocol.icmp.code='0'`.
    IcmpCode(u8),
    /// `connection-state='stateless'`.
    ConnectionState(ConnectionState),
}

/// The two statement forms.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StatementKind {
    /// Form A: `in <vcn> VCN allow <src> to connect to <dst> [with ...]`.
    Scoped {
        /// The scope attribute (every VCN carrying it).
        vcn: Spanned<Attribute>,
        /// Source term.
        src: Spanned<Endpoint>,
        /// Destination term.
        dst: Spanned<Endpoint>,
    },
    /// Form B: `allow <src> endpoints in <vcn-a> VCN to connect to <dst>
    /// endpoints [with ...] in <vcn-b> VCN`.
    CrossVcn {
        /// Source attribute.
        src: Spanned<Attribute>,
        /// The source's VCN attribute.
        src_vcn: Spanned<Attribute>,
        /// Destination attribute.
        dst: Spanned<Attribute>,
        /// The destination's VCN attribute.
        dst_vcn: Spanned<Attribute>,
    },
}

/// A parsed ZPL statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Statement {
    /// Form and endpoint terms.
    pub kind: StatementKind,
    /// `with` conditions in written order (at most one of each kind).
    pub conditions: Vec<Spanned<Condition>>,
}

/// The conditions of a statement, flattened for matching.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Conditions {
    /// Protocol and ports; `None` means every protocol.
    pub protocol: Option<ProtocolSpec>,
    /// ICMP/ICMPv6 type; when set, only ICMP and ICMPv6 packets match.
    pub icmp_type: Option<u8>,
    /// ICMP/ICMPv6 code; when set, only ICMP and ICMPv6 packets match.
    pub icmp_code: Option<u8>,
    /// Stateful (default) or stateless.
    pub state: ConnectionState,
}

impl Statement {
    /// The conditions, flattened.
    #[must_use]
    pub fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        for cond in &self.conditions {
            match &cond.node {
                Condition::Protocol(p) => c.protocol = Some(p.clone()),
                Condition::IcmpType(t) => c.icmp_type = Some(*t),
                Condition::IcmpCode(t) => c.icmp_code = Some(*t),
                Condition::ConnectionState(s) => c.state = *s,
            }
        }
        c
    }

    /// Every attribute named by an endpoint term (not the VCN scopes).
    pub fn endpoint_attributes(&self) -> impl Iterator<Item = &Attribute> {
        let (a, b): (Option<&Attribute>, Option<&Attribute>) = match &self.kind {
            StatementKind::Scoped { src, dst, .. } => (
                match &src.node {
                    Endpoint::Attribute(a) => Some(a),
                    _ => None,
                },
                match &dst.node {
                    Endpoint::Attribute(a) => Some(a),
                    _ => None,
                },
            ),
            StatementKind::CrossVcn { src, dst, .. } => (Some(&src.node), Some(&dst.node)),
        };
        a.into_iter().chain(b)
    }
}
