//! Warnings as data: every warning has a code (stable, for scripts), a
//! message for people and, where it has one, the file, line and column.
//!
//! The command line prints them on stderr in text mode (`file:line:col:
//! warning: message`) and as objects in JSON outputs:
//!
//! ```
//! use zprsim_control::warning::{Warning, WarningCode};
//! let w = Warning {
//!     code: WarningCode::UnknownAttribute,
//!     file: "s.toml".into(),
//!     line: Some(3),
//!     column: Some(9),
//!     message: "no endpoint carries `app.tier:wbe`".into(),
//! };
//! assert_eq!(w.to_string(), "s.toml:3:9: warning: no endpoint carries `app.tier:wbe`");
//! let json = serde_json::to_value(&w).unwrap();
//! assert_eq!(json["code"], "unknown-attribute");
//! assert_eq!(json["line"], 3);
//! ```

use std::fmt;

use serde::Serialize;

use crate::escape::escape;

/// What kind of warning it is. Serialized in kebab-case; codes are added,
/// never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningCode {
    /// A protocol option that does not fit the rule's protocol is ignored.
    OptionIgnored,
    /// An OCI service limit is exceeded (rules per NSG, attributes, ...).
    OciLimit,
    /// A ZPR statement names an attribute no endpoint carries.
    UnknownAttribute,
    /// The scenario has nothing to judge (no VCN, or no VNIC).
    EmptyScenario,
    /// More warnings than are kept; this one says how many were left out.
    WarningsLeftOut,
    /// An IPv4-mapped IPv6 block (`::ffff:10.0.0.0/104`) where the IPv4
    /// one was likely meant: it never matches IPv4 traffic.
    Ipv4Mapped,
    /// A one-VCN statement (`in <vcn> VCN allow ...`) names an attribute
    /// carried only by VNICs outside the VCNs it applies to: it never
    /// matches them (the two-VCN form or a CIDR was meant).
    AttributeOutsideScope,
    /// A route rule sends IPv6 to a NAT or service gateway, which carry
    /// IPv4 only: its traffic is dropped.
    Ipv4OnlyGateway,
    /// `public_ip` says a VNIC has a public IP, and it has no private IPv4
    /// address for one to belong to: the field changes nothing.
    PublicIpWithoutIpv4,
    /// A VNIC holds an address OCI reserves in its subnet (the first two
    /// and the last of an IPv4 block): no real VNIC can, and packets to or
    /// from the last one, the block's broadcast address, drop at route.
    ReservedAddress,
    /// Two objects of one kind are named by one text in two Unicode
    /// normalizations (NFC and NFD): they print alike, and a reference
    /// finds only the one written like it.
    LookalikeNames,
}

impl WarningCode {
    /// Every scenario warning code, in declaration order (its test's
    /// exhaustive `match` reminds of it when a code is added).
    pub const ALL: [WarningCode; 11] = [
        WarningCode::OptionIgnored,
        WarningCode::OciLimit,
        WarningCode::UnknownAttribute,
        WarningCode::EmptyScenario,
        WarningCode::WarningsLeftOut,
        WarningCode::Ipv4Mapped,
        WarningCode::AttributeOutsideScope,
        WarningCode::Ipv4OnlyGateway,
        WarningCode::PublicIpWithoutIpv4,
        WarningCode::ReservedAddress,
        WarningCode::LookalikeNames,
    ];

    /// The code as written in JSON (`oci-limit`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::OptionIgnored => "option-ignored",
            WarningCode::OciLimit => "oci-limit",
            WarningCode::UnknownAttribute => "unknown-attribute",
            WarningCode::EmptyScenario => "empty-scenario",
            WarningCode::WarningsLeftOut => "warnings-left-out",
            WarningCode::Ipv4Mapped => "ipv4-mapped",
            WarningCode::AttributeOutsideScope => "attribute-outside-scope",
            WarningCode::Ipv4OnlyGateway => "ipv4-only-gateway",
            WarningCode::PublicIpWithoutIpv4 => "public-ip-without-ipv4",
            WarningCode::ReservedAddress => "reserved-address",
            WarningCode::LookalikeNames => "lookalike-names",
        }
    }
}

impl fmt::Display for WarningCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something in the input that loads but deserves attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// What kind of warning.
    pub code: WarningCode,
    /// The file it concerns.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// What is wrong, for people (user input in it is escaped).
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(&self.file))?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": warning: {}", escape(&self.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The place of each code in [`WarningCode::ALL`]: exhaustive, so a
    /// code added to the enum does not compile here until it is given
    /// one, which reminds of `ALL`; the test checks `ALL` against it.
    fn place(c: WarningCode) -> usize {
        match c {
            WarningCode::OptionIgnored => 0,
            WarningCode::OciLimit => 1,
            WarningCode::UnknownAttribute => 2,
            WarningCode::EmptyScenario => 3,
            WarningCode::WarningsLeftOut => 4,
            WarningCode::Ipv4Mapped => 5,
            WarningCode::AttributeOutsideScope => 6,
            WarningCode::Ipv4OnlyGateway => 7,
            WarningCode::PublicIpWithoutIpv4 => 8,
            WarningCode::ReservedAddress => 9,
            WarningCode::LookalikeNames => 10,
        }
    }

    #[test]
    fn all_holds_every_code_once_as_serde_names_it() {
        let mut seen = std::collections::HashSet::new();
        for (i, c) in WarningCode::ALL.iter().enumerate() {
            assert_eq!(place(*c), i, "{c}");
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert_eq!(
                serde_json::to_value(c).ok(),
                Some(serde_json::Value::from(c.as_str()))
            );
        }
    }
}
