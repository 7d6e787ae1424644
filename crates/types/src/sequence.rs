//! The per-conversation sequence.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The position of an inbound event within its conversation, allocated at ingest from one
/// upwards and carried by every event it causes, so each stage can apply a conversation's
/// events strictly in order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Sequence(u64);

impl Sequence {
    /// The first sequence of a conversation.
    pub const FIRST: Self = Self(1);

    /// Validates (a sequence starts at 1) and wraps.
    pub fn new(value: u64) -> Result<Self> {
        if value == 0 {
            return Err(Error::OutOfRange {
                kind: "sequence",
                rule: "at least 1",
                value,
            });
        }
        Ok(Self(value))
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The sequence after this one.
    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

impl fmt::Debug for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sequence({})", self.0)
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<u64> for Sequence {
    type Error = Error;
    fn try_from(value: u64) -> Result<Self> {
        Self::new(value)
    }
}

impl From<Sequence> for u64 {
    fn from(value: Sequence) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_one() {
        assert!(Sequence::new(0).is_err());
        assert_eq!(Sequence::FIRST.next().get(), 2);
        assert!(serde_json::from_str::<Sequence>("0").is_err());
    }
}
