//! Index newtypes: every object of a [`crate::model::Scenario`] is addressed
//! by a dense `u32` index into its owning `Vec`, never by name at run time.
//!
//! The constructors check the range once (`TryFrom<usize>`), so the rest of
//! the code never writes an `as` cast on an index.

use std::fmt;

macro_rules! index_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(u32);

        impl $name {
            /// The largest index this type can hold.
            pub const MAX: usize = u32::MAX as usize - 1;

            /// Builds the id from a `Vec` index.
            ///
            /// # Errors
            /// When `index` does not fit in the id (more than `u32::MAX - 1` objects).
            pub fn new(index: usize) -> Result<Self, IdOverflow> {
                u32::try_from(index)
                    .ok()
                    .filter(|&v| v != u32::MAX)
                    .map($name)
                    .ok_or(IdOverflow { kind: stringify!($name), index })
            }

            /// The `Vec` index this id stands for.
            #[must_use]
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// The raw value, for compact tables.
            #[must_use]
            pub fn raw(self) -> u32 {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

/// An index did not fit its id type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many objects of kind {kind}: index {index} does not fit in 32 bits")]
pub struct IdOverflow {
    /// Which id type overflowed.
    pub kind: &'static str,
    /// The index that did not fit.
    pub index: usize,
}

index_newtype!(
    /// A VCN of the scenario.
    VcnId
);
index_newtype!(
    /// A subnet of the scenario.
    SubnetId
);
index_newtype!(
    /// A VNIC of the scenario.
    VnicId
);
index_newtype!(
    /// A route table of the scenario.
    RouteTableId
);
index_newtype!(
    /// A security list of the scenario.
    SecurityListId
);
index_newtype!(
    /// A network security group of the scenario.
    NsgId
);
index_newtype!(
    /// A gateway of the scenario.
    GatewayId
);
index_newtype!(
    /// A service CIDR label of the scenario.
    ServiceId
);
index_newtype!(
    /// A ZPR policy of the scenario.
    PolicyId
);
