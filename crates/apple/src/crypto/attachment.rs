//! Attachment encryption: AES-256 in CTR mode, a 16-byte all-zero IV used as a full 128-bit
//! big-endian counter, a fresh random key per attachment sent on the wire as `"00"` followed
//! by the key's hex (Apple's sample upper-cases it, Apple's encoder writes lower case: parsing
//! accepts any case, writing uses lower case).

use aes::Aes256;
use ctr::cipher::{KeyIvInit as _, StreamCipher as _};
use rand::Rng as _;

use super::CryptoError;

type Ctr = ctr::Ctr128BE<Aes256>;

/// A 256-bit attachment key. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AttachmentKey([u8; 32]);

impl std::fmt::Debug for AttachmentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttachmentKey([redacted])")
    }
}

impl AttachmentKey {
    /// A fresh random key (single use).
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill(&mut key);
        Self(key)
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses the wire form `"00" + 64 hex digits`, any case.
    pub fn parse(wire: &str) -> Result<Self, CryptoError> {
        let wire = wire.trim();
        let hex_part = wire
            .strip_prefix("00")
            .ok_or_else(|| CryptoError::Key("it does not start with 00".into()))?;
        if hex_part.len() != 64 {
            return Err(CryptoError::Key(format!(
                "{} hex digits after 00; 64 expected",
                hex_part.len()
            )));
        }
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut key).map_err(|e| CryptoError::Key(e.to_string()))?;
        Ok(Self(key))
    }

    /// The wire form: `"00"` + lower-case hex.
    pub fn to_wire(&self) -> String {
        format!("00{}", hex::encode(self.0))
    }

    /// A streaming cipher over this key (encryption and decryption are the same operation).
    pub fn cipher(&self) -> AttachmentCipher {
        AttachmentCipher(Ctr::new(&self.0.into(), &[0u8; 16].into()))
    }
}

/// A streaming AES-256-CTR keystream: feed chunks in order.
pub struct AttachmentCipher(Ctr);

impl AttachmentCipher {
    /// Encrypts or decrypts the next chunk in place.
    pub fn apply(&mut self, chunk: &mut [u8]) {
        self.0.apply_keystream(chunk);
    }
}

/// Encrypts a whole buffer.
pub fn encrypt(key: &AttachmentKey, plaintext: &[u8]) -> Vec<u8> {
    let mut out = plaintext.to_vec();
    key.cipher().apply(&mut out);
    out
}

/// Decrypts a whole buffer.
pub fn decrypt(key: &AttachmentKey, ciphertext: &[u8]) -> Vec<u8> {
    encrypt(key, ciphertext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_wire_form_any_case() {
        let key = AttachmentKey::from_bytes([0xab; 32]);
        let wire = key.to_wire();
        assert_eq!(wire.len(), 66);
        assert!(wire.starts_with("00abab"));
        assert_eq!(AttachmentKey::parse(&wire.to_uppercase()).unwrap(), key);
        assert!(AttachmentKey::parse(&wire[2..]).is_err());
        assert!(AttachmentKey::parse("00abc").is_err());
        assert!(AttachmentKey::parse(&format!("00{}", "zz".repeat(32))).is_err());
        assert!(!format!("{key:?}").contains("ab"));
    }

    #[test]
    fn known_answer_aes256_ctr_zero_iv() {
        // NIST SP 800-38A F.5.5 uses a non-zero counter; with the all-zero counter block the
        // first keystream block is AES-256(key, 0^128). Key = 0^256 gives dc95c078a2408989ad48a21492842087.
        let key = AttachmentKey::from_bytes([0; 32]);
        let keystream = encrypt(&key, &[0u8; 16]);
        assert_eq!(hex::encode(keystream), "dc95c078a2408989ad48a21492842087");
    }

    #[test]
    fn streaming_equals_whole_and_round_trips() {
        let key = AttachmentKey::generate();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let whole = encrypt(&key, &data);
        let mut streamed = data.clone();
        let mut cipher = key.cipher();
        for chunk in streamed.chunks_mut(777) {
            cipher.apply(chunk);
        }
        assert_eq!(streamed, whole);
        assert_eq!(decrypt(&key, &whole), data);
        assert_ne!(decrypt(&AttachmentKey::generate(), &whole), data);
    }
}
