//! One-way tags for personal data that must not appear in logs or spans in clear.

use sha2::{Digest, Sha256};

/// A short, stable, one-way tag for a personal value (message body, opaque id): the first 12
/// hex digits of its SHA-256. Use it where a log line needs to correlate without revealing.
pub fn redact(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    hex::encode(&digest[..6])
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_short_stable_and_one_way() {
        let tag = super::redact("urn:mbid:secret");
        assert_eq!(tag.len(), 12);
        assert_eq!(tag, super::redact("urn:mbid:secret"));
        assert!(!tag.contains("secret"));
    }
}
