//! Partitions: the last token of every subject.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ConversationKey, Error, Result};

/// The largest partition count accepted.
const MAX_PARTITIONS: u32 = 4096;

/// How many partitions the platform splits conversations into. Fixed for the life of a
/// deployment's streams: changing it moves conversations between partitions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct PartitionCount(u32);

impl PartitionCount {
    /// Validates (1 to 4096) and wraps.
    pub fn new(count: u32) -> Result<Self> {
        if count == 0 || count > MAX_PARTITIONS {
            return Err(Error::OutOfRange {
                kind: "partition count",
                rule: "between 1 and 4096",
                value: u64::from(count),
            });
        }
        Ok(Self(count))
    }

    /// The count.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The partition of a conversation: its stable hash modulo the count.
    pub fn of(self, key: &ConversationKey) -> Partition {
        // The remainder is below `self.0`, a u32, so the cast cannot truncate.
        Partition((key.stable_hash() % u64::from(self.0)) as u32)
    }

    /// Every partition, in order.
    pub fn all(self) -> impl Iterator<Item = Partition> {
        (0..self.0).map(Partition)
    }
}

impl Default for PartitionCount {
    fn default() -> Self {
        Self(16)
    }
}

impl fmt::Debug for PartitionCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartitionCount({})", self.0)
    }
}

impl TryFrom<u32> for PartitionCount {
    type Error = Error;
    fn try_from(value: u32) -> Result<Self> {
        Self::new(value)
    }
}

impl From<PartitionCount> for u32 {
    fn from(value: PartitionCount) -> Self {
        value.0
    }
}

/// One partition: a number below the partition count, the last token of a subject.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Partition(u32);

impl Partition {
    /// Wraps a partition number, checking it against the count.
    pub fn new(value: u32, count: PartitionCount) -> Result<Self> {
        if value >= count.0 {
            return Err(Error::OutOfRange {
                kind: "partition",
                rule: "below the partition count",
                value: u64::from(value),
            });
        }
        Ok(Self(value))
    }

    /// Parses the last token of a subject.
    pub fn parse_token(token: &str, count: PartitionCount) -> Result<Self> {
        let value = token.parse::<u32>().map_err(|e| Error::Malformed {
            kind: "partition",
            reason: e.to_string(),
        })?;
        Self::new(value, count)
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Partition({})", self.0)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_is_bounded() {
        assert!(PartitionCount::new(0).is_err());
        assert!(PartitionCount::new(4097).is_err());
        assert_eq!(PartitionCount::new(32).unwrap().all().count(), 32);
    }

    #[test]
    fn partition_is_stable_and_in_range() {
        let count = PartitionCount::new(7).unwrap();
        let mut seen = std::collections::HashSet::new();
        for i in 0..500 {
            let key = ConversationKey::parse("biz", &format!("urn:mbid:{i}")).unwrap();
            let p = count.of(&key);
            assert!(p.get() < 7);
            assert_eq!(p, count.of(&key));
            seen.insert(p);
        }
        assert_eq!(seen.len(), 7, "500 keys should cover 7 partitions");
    }

    #[test]
    fn parses_tokens() {
        let count = PartitionCount::new(4).unwrap();
        assert_eq!(Partition::parse_token("3", count).unwrap().get(), 3);
        assert!(Partition::parse_token("4", count).is_err());
        assert!(Partition::parse_token("x", count).is_err());
    }
}
