//! Types shared by the model and the ZPL syntax tree: a leaf module (it
//! imports neither), so `model` can hold parsed statements and `zpl::ast`
//! can name attributes and port ranges without a cycle between the two.

use std::fmt;

/// A security attribute `namespace.key:value`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Attribute {
    /// Namespace; `oracle-zpr` when ZPL leaves it out.
    pub namespace: String,
    /// Key.
    pub key: String,
    /// Value (may hold spaces, periods and quotes).
    pub value: String,
}

/// The namespace ZPL assumes when an attribute names none.
pub const DEFAULT_NAMESPACE: &str = "oracle-zpr";

/// The namespace of the attribute `zprsim import` gives a stand-in VNIC
/// (a VNIC the export lacks, known by its private IPs alone) when the
/// export uses ZPR: `zprsim-stand-in.attributes:unknown`, in `enforce`
/// mode. Its real attributes are unknown, and judged unattributed it would
/// escape ZPR's default deny; with an attribute no statement names it is
/// allowed only what statements with address terms or `all-endpoints`
/// allow, the least any attributes of its could give it. `verify` never
/// writes a statement naming it (an address term stands for the VNIC).
pub const STAND_IN_NAMESPACE: &str = "zprsim-stand-in";

impl Attribute {
    /// Builds an attribute.
    pub fn new(
        namespace: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Attribute {
            namespace: namespace.into(),
            key: key.into(),
            value: value.into(),
        }
    }

    /// Whether the value needs the quoted form in ZPL (spaces, periods, quotes, ...).
    #[must_use]
    pub fn needs_quotes(&self) -> bool {
        !self
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || self.value.is_empty()
    }
}

impl fmt::Display for Attribute {
    /// ZPL form: `ns.key:value`, the whole term quoted (with `''` escapes)
    /// when the value needs it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.needs_quotes() {
            write!(
                f,
                "'{}.{}:{}'",
                self.namespace.replace('\'', "''"),
                self.key.replace('\'', "''"),
                self.value.replace('\'', "''")
            )
        } else {
            write!(f, "{}.{}:{}", self.namespace, self.key, self.value)
        }
    }
}

/// Well-known IANA protocol numbers.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;

    /// Whether the protocol carries ports.
    #[must_use]
    pub fn has_ports(p: u8) -> bool {
        p == TCP || p == UDP
    }

    /// Whether the protocol carries an ICMP type and code.
    #[must_use]
    pub fn is_icmp(p: u8) -> bool {
        p == ICMP || p == ICMPV6
    }
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    /// First port.
    pub min: u16,
    /// Last port (inclusive).
    pub max: u16,
}

impl PortRange {
    /// Every port.
    pub const ALL: PortRange = PortRange {
        min: 0,
        max: u16::MAX,
    };

    /// Whether `port` is inside.
    #[must_use]
    pub fn contains(self, port: u16) -> bool {
        self.min <= port && port <= self.max
    }
}
