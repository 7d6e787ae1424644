//! The legacy (`AUTH`) authentication flow's token: the MSP sends a fresh P-384 public key
//! with each request; the device returns the OAuth token encrypted to it.
//!
//! Token layout (Base64): ephemeral public key (97 bytes, uncompressed) ‖ ciphertext ‖ GCM tag
//! (16 bytes). Shared secret = ECDH(MSP private key, ephemeral key). Key material = ANSI X9.63
//! KDF with SHA-256 over (shared secret ‖ counter ‖ ephemeral public key), 48 bytes: the first
//! 32 are the AES-256-GCM key, the last 16 the GCM nonce.

use aes_gcm::{
    AesGcm, KeyInit as _,
    aead::{Aead as _, consts::U16},
};
use base64::Engine as _;
use p384::{PublicKey, SecretKey, ecdh::diffie_hellman, elliptic_curve::sec1::ToEncodedPoint as _};
use rand::Rng as _;
use sha2::{Digest as _, Sha256};

use super::CryptoError;

/// AES-256-GCM with Apple's 16-byte nonce.
type Aes256Gcm16 = AesGcm<aes::Aes256, U16>;

const POINT_LEN: usize = 97;
const TAG_LEN: usize = 16;

/// ANSI X9.63 KDF with SHA-256 (the `ansi-x963-kdf` crate is only a release candidate for
/// this digest generation; the construction is four lines).
fn x963_kdf(shared: &[u8], shared_info: &[u8], out: &mut [u8]) {
    for (counter, chunk) in (1_u32..).zip(out.chunks_mut(32)) {
        let mut hasher = Sha256::new();
        hasher.update(shared);
        hasher.update(counter.to_be_bytes());
        hasher.update(shared_info);
        let block = hasher.finalize();
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}

fn seal_material(shared: &[u8], ephemeral_point: &[u8]) -> ([u8; 32], [u8; 16]) {
    let mut material = [0u8; 48];
    x963_kdf(shared, ephemeral_point, &mut material);
    let mut key = [0u8; 32];
    let mut nonce = [0u8; 16];
    key.copy_from_slice(&material[..32]);
    nonce.copy_from_slice(&material[32..]);
    (key, nonce)
}

fn random_secret() -> SecretKey {
    loop {
        let mut bytes = [0u8; 48];
        rand::rng().fill(&mut bytes);
        if let Ok(secret) = SecretKey::from_slice(&bytes) {
            return secret;
        }
    }
}

/// The MSP's per-request key pair. `Debug` never shows the private key.
pub struct AuthKeyPair {
    secret: SecretKey,
}

impl std::fmt::Debug for AuthKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthKeyPair([redacted])")
    }
}

impl AuthKeyPair {
    /// A fresh key pair.
    pub fn generate() -> Self {
        Self {
            secret: random_secret(),
        }
    }

    /// The `responseEncryptionKey`: Base64 of the uncompressed public point (97 bytes).
    pub fn public_key_base64(&self) -> String {
        let point = self.secret.public_key().to_encoded_point(false);
        base64::engine::general_purpose::STANDARD.encode(point.as_bytes())
    }

    /// Decrypts a token the device returned; the plaintext is the OAuth access token.
    pub fn decrypt_token(&self, token_base64: &str) -> Result<Vec<u8>, CryptoError> {
        let token = base64::engine::general_purpose::STANDARD
            .decode(token_base64.trim())
            .map_err(|e| CryptoError::Token(format!("not Base64: {e}")))?;
        if token.len() < POINT_LEN + TAG_LEN {
            return Err(CryptoError::Token(format!(
                "{} bytes is too short",
                token.len()
            )));
        }
        let (point, sealed) = token.split_at(POINT_LEN);
        let ephemeral = PublicKey::from_sec1_bytes(point)
            .map_err(|_| CryptoError::Token("the ephemeral key is not a P-384 point".into()))?;
        let shared = diffie_hellman(self.secret.to_nonzero_scalar(), ephemeral.as_affine());
        let (key, nonce) = seal_material(shared.raw_secret_bytes(), point);
        let cipher = Aes256Gcm16::new(&key.into());
        cipher
            .decrypt(&nonce.into(), sealed)
            .map_err(|_| CryptoError::Token("authentication failed (wrong key or tampered)".into()))
    }
}

/// Encrypts `plaintext` to a `responseEncryptionKey`, as a device does (the simulator and
/// tests use it).
pub fn encrypt_token_for(public_key_base64: &str, plaintext: &[u8]) -> Result<String, CryptoError> {
    let point = base64::engine::general_purpose::STANDARD
        .decode(public_key_base64.trim())
        .map_err(|e| CryptoError::PublicKey(format!("not Base64: {e}")))?;
    let recipient = PublicKey::from_sec1_bytes(&point)
        .map_err(|_| CryptoError::PublicKey("not a P-384 point".into()))?;
    let ephemeral = random_secret();
    let ephemeral_point = ephemeral.public_key().to_encoded_point(false);
    let shared = diffie_hellman(ephemeral.to_nonzero_scalar(), recipient.as_affine());
    let (key, nonce) = seal_material(shared.raw_secret_bytes(), ephemeral_point.as_bytes());
    let sealed = Aes256Gcm16::new(&key.into())
        .encrypt(&nonce.into(), plaintext)
        .map_err(|_| CryptoError::Token("encryption failed".into()))?;
    let mut token = ephemeral_point.as_bytes().to_vec();
    token.extend_from_slice(&sealed);
    Ok(base64::engine::general_purpose::STANDARD.encode(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_failures() {
        let pair = AuthKeyPair::generate();
        let public = pair.public_key_base64();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&public)
                .unwrap()
                .len(),
            POINT_LEN
        );
        let token = encrypt_token_for(&public, b"oauth-access-token-123").unwrap();
        assert_eq!(
            pair.decrypt_token(&token).unwrap(),
            b"oauth-access-token-123"
        );
        // Another key pair cannot read it.
        assert!(AuthKeyPair::generate().decrypt_token(&token).is_err());
        // Tampering is detected.
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(&token)
            .unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let tampered = base64::engine::general_purpose::STANDARD.encode(raw);
        assert!(pair.decrypt_token(&tampered).is_err());
        assert!(pair.decrypt_token("!!").is_err());
        assert!(pair.decrypt_token("AAAA").is_err());
        assert!(encrypt_token_for("AAAA", b"x").is_err());
        assert!(!format!("{pair:?}").contains(&public));
    }

    #[test]
    fn kdf_matches_the_x963_construction() {
        // Independent computation of the first block: SHA-256(Z || 00000001 || info).
        let mut out = [0u8; 48];
        x963_kdf(b"shared", b"info", &mut out);
        let mut first = Sha256::new();
        first.update(b"shared");
        first.update([0, 0, 0, 1]);
        first.update(b"info");
        assert_eq!(&out[..32], first.finalize().as_slice());
        let mut second = Sha256::new();
        second.update(b"shared");
        second.update([0, 0, 0, 2]);
        second.update(b"info");
        assert_eq!(&out[32..], &second.finalize()[..16]);
    }
}
