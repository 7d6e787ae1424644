//! A bearer token as it is kept: its SHA-256, compared in constant time. Configuration files
//! hold only digests (`token_sha256`), so a leaked file does not leak a credential.

use sha2::{Digest as _, Sha256};

/// The SHA-256 digest of a bearer token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenDigest([u8; 32]);

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest(…)")
    }
}

impl TokenDigest {
    /// The digest of `token`.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// A digest written as 64 hex digits (what `token_sha256` settings hold).
    pub fn from_hex(hex_digits: &str) -> Result<Self, String> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_digits.trim(), &mut bytes)
            .map_err(|e| format!("must be 64 hex digits: {e}"))?;
        Ok(Self(bytes))
    }

    /// The digest as 64 hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether both digests are equal, comparing every byte whatever differs first (so the
    /// time taken says nothing about how much of a guess was right).
    pub fn matches(&self, other: &TokenDigest) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::TokenDigest;

    #[test]
    fn a_token_matches_its_own_digest_only() {
        let digest = TokenDigest::of("test");
        assert_eq!(
            digest.to_hex(),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        assert!(
            TokenDigest::from_hex(&digest.to_hex())
                .unwrap()
                .matches(&digest)
        );
        assert!(!TokenDigest::of("Test").matches(&digest));
        assert!(TokenDigest::from_hex("abc").is_err());
        assert_eq!(format!("{digest:?}"), "TokenDigest(…)");
    }
}
