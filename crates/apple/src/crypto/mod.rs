//! Apple's cryptography: attachment encryption (AES-256-CTR) and the legacy authentication
//! token (P-384 ECDH, ANSI X9.63 KDF, AES-256-GCM).

mod attachment;
mod auth_token;

pub use attachment::{AttachmentCipher, AttachmentKey, decrypt, encrypt};
pub use auth_token::{AuthKeyPair, encrypt_token_for};

/// A cryptographic failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// An attachment key is not `"00"` followed by 64 hex digits.
    #[error("attachment key is malformed: {0}")]
    Key(String),
    /// A public key is not a Base64 uncompressed P-384 point.
    #[error("public key is malformed: {0}")]
    PublicKey(String),
    /// An authentication token is not Base64, too short, or fails authentication (wrong key
    /// or tampered).
    #[error("authentication token cannot be decrypted: {0}")]
    Token(String),
}
