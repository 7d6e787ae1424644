//! Apple's JWT scheme (HS256, key = the Base64-decoded API secret).
//!
//! Apple → MSP tokens carry `aud` = the MSP id; MSP → Apple tokens carry `iss` = the MSP id.
//! Both carry `iat`; no `exp` is documented, so a token is accepted while its `iat` is within
//! a window (default one hour: Apple's token lifetime is UNKNOWN, so the tolerant choice is
//! the longest age seen in practice) and not in the future beyond a small clock skew.
//!
//! Verification checks the header ourselves first (so `alg: none`, `None`, HS512 and RS256
//! are refused by name before any key is used), then the signature with `jsonwebtoken`, whose
//! HMAC check is constant-time. Every failure is a [`JwtError`] variant.

use std::{
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The longest token accepted (Apple's are a few hundred bytes).
pub const MAX_TOKEN_LEN: usize = 4096;
/// How far in the future an `iat` may be (clock skew between Apple and us).
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// The default accepted token age.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);
/// Outbound tokens are renewed once this old (Apple's limit is unknown; stay under an hour).
pub const RENEW_AFTER: Duration = Duration::from_secs(50 * 60);

/// Why a token was refused (or could not be made).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// No `Authorization` header.
    #[error("authorization header is missing")]
    Missing,
    /// The header is not `Bearer <token>`.
    #[error("authorization header is not a bearer token")]
    NotBearer,
    /// The token is longer than [`MAX_TOKEN_LEN`].
    #[error("token is {len} bytes long; at most {max} are accepted")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The token is not three Base64url segments with a JSON header and claims.
    #[error("token is malformed: {0}")]
    Malformed(String),
    /// The header names an algorithm other than HS256.
    #[error("token algorithm {0:?} is not accepted; only HS256 is")]
    Algorithm(String),
    /// The signature does not match the secret.
    #[error("token signature does not match")]
    BadSignature,
    /// `aud` (inbound) or `iss` (outbound) is not the MSP id.
    #[error("token {claim} is not this MSP's id")]
    WrongParty {
        /// `aud` or `iss`.
        claim: &'static str,
    },
    /// No `iat` claim.
    #[error("token has no iat claim")]
    MissingIssuedAt,
    /// `iat` is older than the accepted age.
    #[error("token was issued {age_secs} s ago; at most {max_secs} s are accepted")]
    Stale {
        /// How old.
        age_secs: u64,
        /// The limit.
        max_secs: u64,
    },
    /// `iat` is in the future beyond the allowed clock skew.
    #[error("token is issued {ahead_secs} s in the future")]
    FromTheFuture {
        /// How far ahead.
        ahead_secs: u64,
    },
    /// The configured secret is not Base64 or is empty.
    #[error("the API secret is not valid Base64: {0}")]
    Secret(String),
    /// Signing failed.
    #[error("cannot sign a token: {0}")]
    Signing(String),
}

impl JwtError {
    /// Whether the request carried no credentials at all (HTTP 401) rather than bad ones
    /// (HTTP 403), as in Apple's list of response codes.
    pub fn is_missing(&self) -> bool {
        matches!(self, JwtError::Missing)
    }
}

/// Which party a token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Apple → MSP: `aud` = MSP id.
    Inbound,
    /// MSP → Apple: `iss` = MSP id.
    Outbound,
}

impl Direction {
    fn claim(self) -> &'static str {
        match self {
            Direction::Inbound => "aud",
            Direction::Outbound => "iss",
        }
    }
}

/// The claims Parley reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Audience (Apple → MSP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issuer (MSP → Apple).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Issued at, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

/// Decodes Apple's Base64 secret into the HMAC key (Apple's sample decodes it; one
/// third-party implementation uses the raw string, which Apple's own code contradicts).
pub fn decode_secret(secret_base64: &str) -> Result<Vec<u8>, JwtError> {
    let cleaned: String = secret_base64
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let key = base64::engine::general_purpose::STANDARD
        .decode(&cleaned)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&cleaned))
        .map_err(|e| JwtError::Secret(e.to_string()))?;
    if key.is_empty() {
        return Err(JwtError::Secret("it is empty".into()));
    }
    Ok(key)
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Verifies tokens of one direction.
pub struct JwtVerifier {
    key: DecodingKey,
    msp_id: String,
    direction: Direction,
    max_age: Duration,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("msp_id", &self.msp_id)
            .field("direction", &self.direction)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// A verifier for `direction` with the Base64 API secret.
    pub fn new(
        secret_base64: &str,
        msp_id: &str,
        direction: Direction,
        max_age: Duration,
    ) -> Result<Self, JwtError> {
        Ok(Self {
            key: DecodingKey::from_secret(&decode_secret(secret_base64)?),
            msp_id: msp_id.to_owned(),
            direction,
            max_age,
        })
    }

    /// Verifies an `Authorization` header value (`Bearer <token>`).
    pub fn verify_authorization(
        &self,
        authorization: Option<&str>,
        now: SystemTime,
    ) -> Result<Claims, JwtError> {
        let value = authorization.ok_or(JwtError::Missing)?.trim();
        if value.is_empty() {
            return Err(JwtError::Missing);
        }
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(JwtError::NotBearer)?;
        self.verify(token.trim(), now)
    }

    /// Verifies a bare token.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<Claims, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::TooLong {
                len: token.len(),
                max: MAX_TOKEN_LEN,
            });
        }
        check_header(token)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => JwtError::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    JwtError::Algorithm("unknown".into())
                }
                other => JwtError::Malformed(format!("{other:?}")),
            }
        })?;
        let claims = data.claims;
        let party = match self.direction {
            Direction::Inbound => claims.aud.as_deref(),
            Direction::Outbound => claims.iss.as_deref(),
        };
        if party != Some(self.msp_id.as_str()) {
            return Err(JwtError::WrongParty {
                claim: self.direction.claim(),
            });
        }
        let iat = claims.iat.ok_or(JwtError::MissingIssuedAt)?;
        let now = seconds(now);
        if iat > now + MAX_CLOCK_SKEW.as_secs() {
            return Err(JwtError::FromTheFuture {
                ahead_secs: iat - now,
            });
        }
        let age = now.saturating_sub(iat);
        if age > self.max_age.as_secs() {
            return Err(JwtError::Stale {
                age_secs: age,
                max_secs: self.max_age.as_secs(),
            });
        }
        Ok(claims)
    }
}

/// Checks the token's shape and that its header says HS256, before any key is used.
fn check_header(token: &str) -> Result<(), JwtError> {
    let mut segments = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(JwtError::Malformed("a token has three segments".into()));
    };
    if header.is_empty() || claims.is_empty() {
        return Err(JwtError::Malformed("an empty segment".into()));
    }
    if signature.is_empty() {
        // An unsigned token (`alg: none` usually comes with an empty signature).
        return Err(JwtError::Algorithm("none".into()));
    }
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed("the header is not Base64url".into()))?;
    #[derive(Deserialize)]
    struct RawHeader {
        alg: Option<String>,
    }
    let raw: RawHeader = serde_json::from_slice(&decoded)
        .map_err(|_| JwtError::Malformed("the header is not a JSON object".into()))?;
    match raw.alg.as_deref() {
        Some("HS256") => Ok(()),
        Some(other) => Err(JwtError::Algorithm(other.chars().take(32).collect())),
        None => Err(JwtError::Malformed("the header has no alg".into())),
    }
}

/// Signs tokens of one direction, caching each for reuse until [`RENEW_AFTER`].
pub struct JwtSigner {
    key: EncodingKey,
    msp_id: String,
    direction: Direction,
    cached: Mutex<Option<(String, u64)>>,
}

impl std::fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSigner")
            .field("msp_id", &self.msp_id)
            .field("direction", &self.direction)
            .finish_non_exhaustive()
    }
}

impl JwtSigner {
    /// A signer for `direction` with the Base64 API secret. Outbound tokens carry
    /// `{iss, iat}` as Apple's sample does; inbound ones (the simulator playing Apple)
    /// `{aud, iat}`.
    pub fn new(secret_base64: &str, msp_id: &str, direction: Direction) -> Result<Self, JwtError> {
        Ok(Self {
            key: EncodingKey::from_secret(&decode_secret(secret_base64)?),
            msp_id: msp_id.to_owned(),
            direction,
            cached: Mutex::new(None),
        })
    }

    /// A token valid at `now`: the cached one while younger than [`RENEW_AFTER`], else a new
    /// one.
    pub fn token(&self, now: SystemTime) -> Result<String, JwtError> {
        let now = seconds(now);
        let mut cached = self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((token, issued)) = cached.as_ref()
            && now >= *issued
            && now - issued < RENEW_AFTER.as_secs()
        {
            return Ok(token.clone());
        }
        let token = self.sign_at(now)?;
        *cached = Some((token.clone(), now));
        Ok(token)
    }

    /// `Bearer <token>` for an `Authorization` header.
    pub fn authorization(&self, now: SystemTime) -> Result<String, JwtError> {
        Ok(format!("Bearer {}", self.token(now)?))
    }

    /// A fresh token with `iat` = `issued_at` (seconds), not cached.
    pub fn sign_at(&self, issued_at: u64) -> Result<String, JwtError> {
        let claims = match self.direction {
            Direction::Inbound => Claims {
                aud: Some(self.msp_id.clone()),
                iss: None,
                iat: Some(issued_at),
            },
            Direction::Outbound => Claims {
                aud: None,
                iss: Some(self.msp_id.clone()),
                iat: Some(issued_at),
            },
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|e| JwtError::Signing(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ=="; // "secret-key-for-tests-0123456789"
    const MSP: &str = "msp-123";

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn verifier() -> JwtVerifier {
        JwtVerifier::new(SECRET, MSP, Direction::Inbound, DEFAULT_MAX_AGE).unwrap()
    }

    fn inbound_at(iat: u64) -> String {
        JwtSigner::new(SECRET, MSP, Direction::Inbound)
            .unwrap()
            .sign_at(iat)
            .unwrap()
    }

    fn b64(json: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// A token with `header` and the claims of a valid inbound token, signed with HS256 bytes
    /// of the right key (the header lies about the algorithm).
    fn forged(header: &str) -> String {
        let valid = inbound_at(1_800_000_000);
        let mut parts = valid.split('.');
        let _ = parts.next();
        format!(
            "{}.{}.{}",
            b64(header),
            parts.next().unwrap(),
            parts.next().unwrap()
        )
    }

    #[test]
    fn a_valid_token_passes() {
        let claims = verifier()
            .verify_authorization(
                Some(&format!("Bearer {}", inbound_at(1_800_000_000))),
                now(),
            )
            .unwrap();
        assert_eq!(claims.aud.as_deref(), Some(MSP));
    }

    #[test]
    fn every_failure_is_typed() {
        let v = verifier();
        let t = now();
        assert_eq!(v.verify_authorization(None, t), Err(JwtError::Missing));
        assert_eq!(
            v.verify_authorization(Some("  "), t),
            Err(JwtError::Missing)
        );
        assert_eq!(
            v.verify_authorization(Some("Basic abc"), t),
            Err(JwtError::NotBearer)
        );
        // alg none / None with and without a signature.
        let claims = b64(&format!(r#"{{"aud":"{MSP}","iat":1800000000}}"#));
        assert_eq!(
            v.verify(&format!("{}.{claims}.", b64(r#"{"alg":"none"}"#)), t),
            Err(JwtError::Algorithm("none".into()))
        );
        assert_eq!(
            v.verify(&forged(r#"{"alg":"None","typ":"JWT"}"#), t),
            Err(JwtError::Algorithm("None".into()))
        );
        assert_eq!(
            v.verify(&forged(r#"{"alg":"HS512"}"#), t),
            Err(JwtError::Algorithm("HS512".into()))
        );
        assert_eq!(
            v.verify(&forged(r#"{"alg":"RS256"}"#), t),
            Err(JwtError::Algorithm("RS256".into()))
        );
        // Wrong key.
        let other = JwtSigner::new("b3RoZXIta2V5", MSP, Direction::Inbound)
            .unwrap()
            .sign_at(1_800_000_000)
            .unwrap();
        assert_eq!(v.verify(&other, t), Err(JwtError::BadSignature));
        // Wrong audience.
        let wrong_aud = JwtSigner::new(SECRET, "someone-else", Direction::Inbound)
            .unwrap()
            .sign_at(1_800_000_000)
            .unwrap();
        assert_eq!(
            v.verify(&wrong_aud, t),
            Err(JwtError::WrongParty { claim: "aud" })
        );
        // An outbound token is not an inbound one.
        let outbound = JwtSigner::new(SECRET, MSP, Direction::Outbound)
            .unwrap()
            .sign_at(1_800_000_000)
            .unwrap();
        assert_eq!(
            v.verify(&outbound, t),
            Err(JwtError::WrongParty { claim: "aud" })
        );
        // Stale and future iat (±6 minutes past the window and skew).
        assert!(matches!(
            v.verify(&inbound_at(1_800_000_000 - 3600 - 360), t),
            Err(JwtError::Stale { .. })
        ));
        assert!(matches!(
            v.verify(&inbound_at(1_800_000_000 + 360), t),
            Err(JwtError::FromTheFuture { ahead_secs: 360 })
        ));
        // Malformed segments.
        for bad in [
            "abc",
            "a.b",
            "a.b.c.d",
            ".b.c",
            "!!!.e30.sig",
            &format!("{}.e30.sig", b64("not json")),
        ] {
            assert!(
                matches!(v.verify(bad, t), Err(JwtError::Malformed(_))),
                "{bad}"
            );
        }
        // A 64 KB token.
        let huge = "a".repeat(64 * 1024);
        assert_eq!(
            v.verify(&huge, t),
            Err(JwtError::TooLong {
                len: 65536,
                max: MAX_TOKEN_LEN
            })
        );
        // No iat.
        let key = EncodingKey::from_secret(&decode_secret(SECRET).unwrap());
        let no_iat = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                aud: Some(MSP.into()),
                iss: None,
                iat: None,
            },
            &key,
        )
        .unwrap();
        assert_eq!(v.verify(&no_iat, t), Err(JwtError::MissingIssuedAt));
        assert!(JwtError::Missing.is_missing());
        assert!(!JwtError::BadSignature.is_missing());
    }

    #[test]
    fn the_secret_is_base64_decoded() {
        assert_eq!(
            decode_secret(SECRET).unwrap(),
            b"secret-key-for-tests-0123456789"
        );
        assert!(decode_secret("not base64 !!").is_err());
        assert!(decode_secret("").is_err());
        // A token signed with the raw (undecoded) secret string does not verify.
        let raw = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                aud: Some(MSP.into()),
                iss: None,
                iat: Some(1_800_000_000),
            },
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert_eq!(verifier().verify(&raw, now()), Err(JwtError::BadSignature));
    }

    #[test]
    fn outbound_tokens_are_cached_and_renewed() {
        let signer = JwtSigner::new(SECRET, MSP, Direction::Outbound).unwrap();
        let first = signer.token(now()).unwrap();
        assert_eq!(
            signer.token(now() + Duration::from_secs(49 * 60)).unwrap(),
            first
        );
        let renewed = signer.token(now() + Duration::from_secs(51 * 60)).unwrap();
        assert_ne!(renewed, first);
        let check = JwtVerifier::new(SECRET, MSP, Direction::Outbound, DEFAULT_MAX_AGE).unwrap();
        let claims = check
            .verify(&renewed, now() + Duration::from_secs(51 * 60))
            .unwrap();
        assert_eq!(claims.iss.as_deref(), Some(MSP));
        assert_eq!(claims.aud, None);
        assert!(signer.authorization(now()).unwrap().starts_with("Bearer "));
    }
}
