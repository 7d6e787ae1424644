//! Fault injection per business or customer.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Whom a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum FaultScope {
    /// Every request.
    All,
    /// Requests with this `Source-Id`.
    Business(String),
    /// Requests with this `Destination-Id`.
    Customer(String),
}

/// One fault: answer with a status (and `Retry-After`), add latency, or hang.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Whom it applies to.
    pub scope: FaultScope,
    /// Answer with this status instead of handling the request.
    #[serde(default)]
    pub status: Option<u16>,
    /// `Retry-After` seconds sent with the status.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// Delay before answering (milliseconds).
    #[serde(default)]
    pub latency_ms: u64,
    /// Never answer (until the client gives up).
    #[serde(default)]
    pub hang: bool,
    /// How many requests it applies to; `None` = until removed.
    #[serde(default)]
    pub times: Option<u32>,
    /// How long it applies from when it is added (milliseconds); `None` = until removed.
    #[serde(default)]
    pub duration_ms: Option<u64>,
}

impl Fault {
    /// Whether it applies to a request for `business` and `customer`.
    pub(crate) fn matches(&self, business: Option<&str>, customer: Option<&str>) -> bool {
        match &self.scope {
            FaultScope::All => true,
            FaultScope::Business(id) => business == Some(id.as_str()),
            FaultScope::Customer(id) => customer == Some(id.as_str()),
        }
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }
}
