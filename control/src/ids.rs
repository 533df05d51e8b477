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
            #[inline]
            pub fn new(index: usize) -> Result<Self, IdOverflow> {
                u32::try_from(index)
                    .ok()
                    .filter(|&v| v != u32::MAX)
                    .map($name)
                    .ok_or(IdOverflow { kind: stringify!($name), index })
            }

            /// The `Vec` index this id stands for.
            #[inline]
            #[must_use]
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// The raw value, for compact tables.
            #[inline]
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

/// Ids of the compiled tables whose absence is common (a class with no
/// security profile, an entry with no deciding rule): stored as `index + 1`
/// in a [`std::num::NonZeroU32`], so `Option<Id>` is 4 bytes and `None`
/// needs no sentinel value.
macro_rules! niche_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(std::num::NonZeroU32);

        impl $name {
            /// The largest index this type can hold.
            pub const MAX: usize = u32::MAX as usize - 1;

            /// Builds the id from a `Vec` index.
            ///
            /// # Errors
            /// When `index` does not fit in the id (more than `u32::MAX - 1` objects).
            #[inline]
            pub fn new(index: usize) -> Result<Self, IdOverflow> {
                u32::try_from(index)
                    .ok()
                    .and_then(|v| v.checked_add(1))
                    .and_then(std::num::NonZeroU32::new)
                    .map($name)
                    .ok_or(IdOverflow { kind: stringify!($name), index })
            }

            /// The id whose stored value (`index + 1`) is `v`, if `v` is not 0.
            #[inline]
            #[must_use]
            pub const fn from_stored(v: u32) -> Option<Self> {
                match std::num::NonZeroU32::new(v) {
                    Some(n) => Some($name(n)),
                    None => None,
                }
            }

            /// The `Vec` index this id stands for.
            #[inline]
            #[must_use]
            pub const fn index(self) -> usize {
                (self.0.get() - 1) as usize
            }

            /// The index as a `u32`, for compact tables.
            #[inline]
            #[must_use]
            pub const fn raw(self) -> u32 {
                self.0.get() - 1
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.raw())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.raw())
            }
        }
    };
}

index_newtype!(
    /// An address class of the compiled tables ([`crate::compile::Compiled::address_class`]).
    ClassId
);
niche_newtype!(
    /// A security profile (a VNIC's NSGs in its subnet) or a ZPR profile
    /// (a VNIC's attribute set in its VCN) of the compiled tables; which
    /// one is said by the field that holds it.
    ProfileId
);
niche_newtype!(
    /// A global rule id of the compiled tables: route rules, security
    /// rules and ZPR statements numbered together
    /// ([`crate::compile::Compiled::rule_ref`]).
    RuleId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn niche_ids_round_trip_and_stay_four_bytes() {
        assert_eq!(std::mem::size_of::<Option<RuleId>>(), 4);
        assert_eq!(std::mem::size_of::<Option<ProfileId>>(), 4);
        for i in [0usize, 1, 77, RuleId::MAX] {
            let r = RuleId::new(i).unwrap();
            assert_eq!(r.index(), i);
            assert_eq!(RuleId::from_stored(r.raw() + 1), Some(r));
        }
        assert!(RuleId::new(RuleId::MAX + 1).is_err());
        assert_eq!(RuleId::from_stored(0), None);
        assert_eq!(ClassId::new(5).unwrap().index(), 5);
        assert!(ClassId::new(u32::MAX as usize).is_err());
    }
}
