//! Store settings shared by both backends.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long things live and how much is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// How long a conversation's keys live after its last write (privacy by default).
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// How many transcript entries are kept per conversation (older ones are dropped).
    pub transcript_cap: usize,
    /// A prefix for every key (test isolation; empty in production).
    pub key_prefix: String,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(30 * 24 * 3600),
            transcript_cap: 500,
            key_prefix: String::new(),
        }
    }
}

impl StoreSettings {
    /// The retention in whole milliseconds (at least 1).
    pub(crate) fn retention_ms(&self) -> u64 {
        u64::try_from(self.retention.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}
