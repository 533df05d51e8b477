//! The ZPL printer: one canonical text per statement, such that parsing the
//! printed text gives the statement back (spans aside).
//!
//! Canonical form: lowercase keywords and `VCN`; every attribute with its
//! namespace (quoted when its value needs it, see [`Attribute`]'s
//! `Display`); `endpoints` after attribute terms; addresses quoted as
//! CIDRs; `osn-services-ip-addresses` unquoted; conditions in their written
//! order, joined by `, `.

use std::fmt;

use super::ast::{Condition, ConnectionState, Endpoint, ProtocolSpec, Statement, StatementKind};
use super::parse::{OSN, condition_name};
use crate::shared::{Attribute, proto};

/// The canonical ZPL text of a statement: `parse_statement(&print_statement(s))`
/// equals `s` for every statement the parser can produce.
#[must_use]
pub fn print_statement(s: &Statement) -> String {
    s.to_string()
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            StatementKind::Scoped { vcn, src, dst } => {
                write!(
                    f,
                    "in {} VCN allow {} to connect to {}",
                    vcn.node, src.node, dst.node
                )?;
                write_conditions(f, self)
            }
            StatementKind::CrossVcn {
                src,
                src_vcn,
                dst,
                dst_vcn,
            } => {
                write!(
                    f,
                    "allow {} endpoints in {} VCN to connect to {} endpoints",
                    src.node, src_vcn.node, dst.node
                )?;
                write_conditions(f, self)?;
                write!(f, " in {} VCN", dst_vcn.node)
            }
        }
    }
}

fn write_conditions(f: &mut fmt::Formatter<'_>, s: &Statement) -> fmt::Result {
    for (i, c) in s.conditions.iter().enumerate() {
        f.write_str(if i == 0 { " with " } else { ", " })?;
        write!(f, "{}", c.node)?;
    }
    Ok(())
}

impl fmt::Display for Endpoint {
    /// The term as written in a statement (`app:web endpoints`,
    /// `'10.0.0.0/16'`, `all-endpoints`, `osn-services-ip-addresses`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Attribute(a) => write_attribute_term(f, a),
            Endpoint::Cidr(net) => write!(f, "'{net}'"),
            Endpoint::AllEndpoints => f.write_str("all-endpoints"),
            Endpoint::OsnServices => f.write_str(OSN),
        }
    }
}

fn write_attribute_term(f: &mut fmt::Formatter<'_>, a: &Attribute) -> fmt::Result {
    write!(f, "{a} endpoints")
}

impl fmt::Display for Condition {
    /// `protocol='tcp/443'`, `protocol.icmp.type='8'`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = condition_name(self);
        match self {
            Condition::Protocol(p) => write!(f, "{name}='{p}'"),
            Condition::IcmpType(n) | Condition::IcmpCode(n) => write!(f, "{name}='{n}'"),
            Condition::ConnectionState(ConnectionState::Stateless) => {
                write!(f, "{name}='stateless'")
            }
            Condition::ConnectionState(ConnectionState::Stateful) => write!(f, "{name}='stateful'"),
        }
    }
}

impl fmt::Display for ProtocolSpec {
    /// The text inside the quotes of `protocol='...'`: `tcp/22,1521-1522`,
    /// `icmp`, `47`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.protocol {
            proto::TCP => f.write_str("tcp")?,
            proto::UDP => f.write_str("udp")?,
            proto::ICMP => f.write_str("icmp")?,
            proto::ICMPV6 => f.write_str("icmpv6")?,
            n => write!(f, "{n}")?,
        }
        for (i, r) in self.ports.iter().enumerate() {
            f.write_str(if i == 0 { "/" } else { "," })?;
            if r.min == r.max {
                write!(f, "{}", r.min)?;
            } else {
                write!(f, "{}-{}", r.min, r.max)?;
            }
        }
        Ok(())
    }
}
