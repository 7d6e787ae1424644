//! Event ids: the `Nats-Msg-Id` of every event.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

const EVENT_ID_MAX: usize = 200;

/// The id of one event, used as its `Nats-Msg-Id` so JetStream drops a republished copy.
///
/// Ids are deterministic wherever an event is caused by another one: [`EventId::derived`]
/// gives the same id for the same cause and step, so a redelivered input republishes the same
/// ids. [`EventId::from_apple`] names an inbound message by Apple's own message id.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId(String);

impl EventId {
    /// Validates and wraps an id: printable ASCII without whitespace, at most 200 bytes.
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        if value.is_empty() {
            return Err(Error::Empty { kind: "event id" });
        }
        if value.len() > EVENT_ID_MAX {
            return Err(Error::TooLong {
                kind: "event id",
                len: value.len(),
                max: EVENT_ID_MAX,
            });
        }
        if let Some((at, found)) = value.char_indices().find(|(_, c)| !c.is_ascii_graphic()) {
            return Err(Error::BadCharacter {
                kind: "event id",
                found,
                at,
            });
        }
        Ok(Self(value))
    }

    /// The id of the inbound event for Apple's message `id` header, for one business.
    /// Apple's ids are UUIDs; the business is folded in so two businesses can never collide.
    pub fn from_apple(business: &crate::BusinessId, apple_message_id: &str) -> Result<Self> {
        Self::new(format!(
            "in-{}",
            digest(&[business.as_str(), apple_message_id])
        ))
    }

    /// A fresh, time-ordered id (UUIDv7) for an event with no cause (an agent's reply typed
    /// once, a business notification accepted once).
    pub fn fresh() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    /// The id of the `step`-th output of the handler `stage` for the cause `self`:
    /// deterministic, so a redelivered cause republishes identical ids.
    pub fn derived(&self, stage: &str, step: u32) -> Self {
        Self(format!(
            "{stage}-{}",
            digest(&[self.0.as_str(), stage, &step.to_string()])
        ))
    }

    /// Apple's message id (`id` header and body field) for the outbound message with this
    /// event id: a UUID derived from it, so every retry and redelivery of one message sends
    /// the same id, and two messages never share one.
    pub fn apple_message_id(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"apple-message-id\0");
        hasher.update(self.0.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&hasher.finalize()[..16]);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The first 128 bits of SHA-256 over the parts separated by NUL, in hex.
fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..16])
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({})", self.0)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EventId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Self::new(value)
    }
}

impl From<EventId> for String {
    fn from(value: EventId) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BusinessId;

    #[test]
    fn apple_message_ids_are_uuids_fixed_per_event() {
        let a = EventId::new("out-1").unwrap();
        let b = EventId::new("out-2").unwrap();
        assert_eq!(a.apple_message_id(), a.apple_message_id());
        assert_ne!(a.apple_message_id(), b.apple_message_id());
        let parsed = uuid::Uuid::parse_str(&a.apple_message_id()).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.to_string(), a.apple_message_id());
    }

    #[test]
    fn derived_ids_are_deterministic_and_distinct() {
        let cause = EventId::new("in-1").unwrap();
        assert_eq!(cause.derived("routing", 0), cause.derived("routing", 0));
        assert_ne!(cause.derived("routing", 0), cause.derived("routing", 1));
        assert_ne!(cause.derived("routing", 0), cause.derived("bot", 0));
        let other = EventId::new("in-2").unwrap();
        assert_ne!(cause.derived("routing", 0), other.derived("routing", 0));
    }

    #[test]
    fn apple_ids_are_scoped_by_business() {
        let a = BusinessId::new("a").unwrap();
        let b = BusinessId::new("b").unwrap();
        assert_eq!(
            EventId::from_apple(&a, "m1").unwrap(),
            EventId::from_apple(&a, "m1").unwrap()
        );
        assert_ne!(
            EventId::from_apple(&a, "m1").unwrap(),
            EventId::from_apple(&b, "m1").unwrap()
        );
    }

    #[test]
    fn fresh_ids_are_valid_and_unique() {
        let a = EventId::fresh();
        EventId::new(a.as_str()).unwrap();
        assert_ne!(a, EventId::fresh());
    }

    #[test]
    fn refuses_whitespace() {
        assert!(EventId::new("a b").is_err());
        assert!(EventId::new("").is_err());
    }
}
