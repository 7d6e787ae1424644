//! Business id, opaque id and the conversation key made of both.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The longest business id accepted. Apple's are UUID-like (36 characters).
const BUSINESS_ID_MAX: usize = 128;
/// The longest opaque id accepted. Apple's are around 150 characters (`urn:mbid:…`).
const OPAQUE_ID_MAX: usize = 512;

/// Checks that `value` is a non-empty, bounded string of printable ASCII that is safe inside a
/// NATS subject token and a Redis hash tag.
///
/// Refused: whitespace and control characters (they end a NATS subject), `.` for business ids
/// (a NATS token separator), `*` and `>` (NATS wildcards), `{` and `}` (they would move the
/// Redis hash tag), and non-ASCII (Apple's ids are ASCII; anything else is a forgery or a bug).
fn validate(kind: &'static str, value: &str, max: usize, allow_dot: bool) -> Result<()> {
    if value.is_empty() {
        return Err(Error::Empty { kind });
    }
    if value.len() > max {
        return Err(Error::TooLong {
            kind,
            len: value.len(),
            max,
        });
    }
    for (at, found) in value.char_indices() {
        let forbidden = !found.is_ascii_graphic()
            || matches!(found, '*' | '>' | '{' | '}')
            || (found == '.' && !allow_dot);
        if forbidden {
            return Err(Error::BadCharacter { kind, found, at });
        }
    }
    Ok(())
}

/// A Messages for Business account id (Apple's `destination-id` on inbound messages).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BusinessId(String);

impl BusinessId {
    /// Validates and wraps a business id.
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        validate("business id", &value, BUSINESS_ID_MAX, false)?;
        Ok(Self(value))
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A customer's opaque id (Apple's `source-id` on inbound messages): unique per customer and
/// business, and personal data. Its `Debug` and `Display` never show it in clear; use
/// [`OpaqueId::as_str`] where the real value is needed (wire, storage) and
/// [`OpaqueId::redacted`] for logs.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OpaqueId(String);

impl OpaqueId {
    /// Validates and wraps an opaque id. Dots are allowed (they never start a token of their
    /// own: opaque ids are never put in subjects, only hashed into a partition).
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        validate("opaque id", &value, OPAQUE_ID_MAX, true)?;
        Ok(Self(value))
    }

    /// The real value. Do not log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short, stable, one-way tag of the id that is safe to log: the first 12 hex digits of
    /// its SHA-256.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

/// A short one-way tag for a personal value: the first 12 hex digits of its SHA-256.
pub(crate) fn redact(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    hex::encode(&digest[..6])
}

/// One conversation: a customer (opaque id) talking to a business.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConversationKey {
    /// The business.
    pub business: BusinessId,
    /// The customer.
    pub opaque: OpaqueId,
}

impl ConversationKey {
    /// Builds a key from validated parts.
    pub fn new(business: BusinessId, opaque: OpaqueId) -> Self {
        Self { business, opaque }
    }

    /// Validates both parts and builds a key.
    pub fn parse(business: &str, opaque: &str) -> Result<Self> {
        Ok(Self::new(
            BusinessId::new(business)?,
            OpaqueId::new(opaque)?,
        ))
    }

    /// The Redis hash tag body: `<business>:<opaque>`, so that every key of one conversation
    /// lands in one Redis Cluster slot. Both parts are validated to hold no braces.
    pub fn hash_tag(&self) -> String {
        format!("{}:{}", self.business.as_str(), self.opaque.as_str())
    }

    /// A stable 64-bit hash of the key (xxh3), for partitioning and worker selection.
    /// Stable across processes, versions and machines.
    pub fn stable_hash(&self) -> u64 {
        let mut bytes = Vec::with_capacity(self.business.0.len() + self.opaque.0.len() + 1);
        bytes.extend_from_slice(self.business.0.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(self.opaque.0.as_bytes());
        xxhash_rust::xxh3::xxh3_64(&bytes)
    }

    /// A log-safe tag: the business id in clear and the opaque id redacted.
    pub fn redacted(&self) -> String {
        format!("{}/{}", self.business.as_str(), self.opaque.redacted())
    }
}

impl fmt::Debug for BusinessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BusinessId({})", self.0)
    }
}

impl fmt::Display for BusinessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OpaqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpaqueId(#{})", self.redacted())
    }
}

impl fmt::Display for OpaqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.redacted())
    }
}

impl fmt::Debug for ConversationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConversationKey({})", self.redacted())
    }
}

impl fmt::Display for ConversationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl TryFrom<String> for BusinessId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Self::new(value)
    }
}

impl From<BusinessId> for String {
    fn from(value: BusinessId) -> Self {
        value.0
    }
}

impl TryFrom<String> for OpaqueId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Self::new(value)
    }
}

impl From<OpaqueId> for String {
    fn from(value: OpaqueId) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn accepts_apple_shaped_ids() {
        BusinessId::new("a884eddf-7b0c-4b0a-9a8c-2f8a1b2c3d4e").unwrap();
        OpaqueId::new("urn:mbid:AQAAY3Jh+ZmVz/dA==.x_y-z").unwrap();
    }

    #[test]
    fn refuses_what_breaks_subjects_or_hash_tags() {
        for bad in [
            "a b", "a\tb", "a\nb", "a*b", "a>b", "a{b", "a}b", "a\u{0}b", "é",
        ] {
            assert!(OpaqueId::new(bad).is_err(), "{bad:?} accepted");
            assert!(BusinessId::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(BusinessId::new("a.b").is_err());
        assert_eq!(
            OpaqueId::new("").unwrap_err(),
            Error::Empty { kind: "opaque id" }
        );
        assert!(matches!(
            OpaqueId::new("x".repeat(513)),
            Err(Error::TooLong { .. })
        ));
    }

    #[test]
    fn opaque_id_never_prints_in_clear() {
        let id = OpaqueId::new("urn:mbid:SECRETSECRET").unwrap();
        let key = ConversationKey::new(BusinessId::new("biz").unwrap(), id.clone());
        for shown in [
            format!("{id}"),
            format!("{id:?}"),
            format!("{key}"),
            format!("{key:?}"),
        ] {
            assert!(!shown.contains("SECRET"), "{shown}");
        }
        assert_eq!(id.redacted().len(), 12);
    }

    #[test]
    fn serde_validates() {
        let err = serde_json::from_str::<OpaqueId>("\"a{b\"");
        assert!(err.is_err());
        let ok: BusinessId = serde_json::from_str("\"biz-1\"").unwrap();
        assert_eq!(ok.as_str(), "biz-1");
    }

    /// Pinned: changing the hash would move every conversation to another partition.
    const PINNED_HASH: u64 = 14_463_632_036_344_712_171;

    #[test]
    fn stable_hash_is_pinned() {
        let key = ConversationKey::parse("biz", "urn:mbid:abc").unwrap();
        assert_eq!(key.stable_hash(), PINNED_HASH);
    }

    proptest! {
        #[test]
        fn any_accepted_id_is_subject_and_tag_safe(s in "\\PC{0,40}") {
            if let Ok(id) = OpaqueId::new(s.clone()) {
                let forbidden = ['{', '}', '*', '>', ' '];
                prop_assert!(!id.as_str().contains(forbidden), "{:?}", id.as_str());
                prop_assert!(id.as_str().chars().all(|c| c.is_ascii_graphic()));
            }
            if let Ok(id) = BusinessId::new(s) {
                prop_assert!(!id.as_str().contains('.'));
            }
        }
    }
}
