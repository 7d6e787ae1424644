//! Decoding Apple's webhook bodies: gzip-compressed JSON (detected by its magic bytes, with or
//! without `Content-Encoding`, which Apple may or may not set — UNKNOWN) or plain JSON.
//!
//! Limits apply separately to the bytes received and to the bytes decompressed, and the
//! decompressor never produces more than the decoded limit plus one byte, so a gzip bomb
//! costs at most that much memory.

use std::io::Read as _;

/// The gzip magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Size limits for one body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Bytes accepted on the wire.
    pub max_encoded: usize,
    /// Bytes accepted after decompression.
    pub max_decoded: usize,
}

impl Default for BodyLimits {
    /// 1 MiB on the wire, 4 MiB decoded: inline interactive data is capped at 10 KB by Apple
    /// (larger payloads come by reference), and text bodies are small.
    fn default() -> Self {
        Self {
            max_encoded: 1 << 20,
            max_decoded: 4 << 20,
        }
    }
}

/// Which limit was passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The bytes received.
    Encoded,
    /// The bytes after decompression.
    Decoded,
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body is empty.
    #[error("the body is empty")]
    Empty,
    /// The body is larger than a limit.
    #[error("the body is larger than the {which:?} limit of {limit} bytes")]
    TooLarge {
        /// Which limit.
        which: Limit,
        /// The limit.
        limit: usize,
    },
    /// The gzip stream ends early.
    #[error("the gzip body is truncated")]
    Truncated,
    /// The gzip stream is corrupt (bad header, checksum, or trailing garbage).
    #[error("the gzip body is corrupt: {0}")]
    Corrupt(String),
    /// `Content-Encoding` names something other than gzip or identity.
    #[error("content encoding {0:?} is not supported")]
    UnsupportedEncoding(String),
}

/// Whether `bytes` start with the gzip magic.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Decodes a webhook body: gunzips it when it starts with the gzip magic, returns it as is
/// otherwise. `content_encoding` is only used to refuse encodings Parley cannot read.
pub fn decode_body(
    raw: &[u8],
    content_encoding: Option<&str>,
    limits: &BodyLimits,
) -> Result<Vec<u8>, BodyError> {
    if let Some(encoding) = content_encoding.map(str::trim) {
        let known = encoding.is_empty()
            || encoding.eq_ignore_ascii_case("gzip")
            || encoding.eq_ignore_ascii_case("x-gzip")
            || encoding.eq_ignore_ascii_case("identity");
        if !known {
            return Err(BodyError::UnsupportedEncoding(
                encoding.chars().take(40).collect(),
            ));
        }
    }
    if raw.is_empty() {
        return Err(BodyError::Empty);
    }
    if raw.len() > limits.max_encoded {
        return Err(BodyError::TooLarge {
            which: Limit::Encoded,
            limit: limits.max_encoded,
        });
    }
    if !is_gzip(raw) {
        if raw.len() > limits.max_decoded {
            return Err(BodyError::TooLarge {
                which: Limit::Decoded,
                limit: limits.max_decoded,
            });
        }
        return Ok(raw.to_vec());
    }
    let mut decoded = Vec::with_capacity(raw.len().saturating_mul(4).min(limits.max_decoded));
    // One byte past the limit tells "too large" from "exactly the limit".
    let cap = u64::try_from(limits.max_decoded)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut decoder = flate2::read::MultiGzDecoder::new(raw).take(cap);
    decoder
        .read_to_end(&mut decoded)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => BodyError::Truncated,
            _ => BodyError::Corrupt(e.to_string()),
        })?;
    if decoded.len() > limits.max_decoded {
        return Err(BodyError::TooLarge {
            which: Limit::Decoded,
            limit: limits.max_decoded,
        });
    }
    if decoded.is_empty() {
        return Err(BodyError::Empty);
    }
    Ok(decoded)
}

/// Gzip-compresses `bytes` (the simulator's webhooks, tests).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &[u8] = br#"{"v":1,"type":"text","body":"hi"}"#;

    #[test]
    fn gzip_with_or_without_header_and_plain_json() {
        let limits = BodyLimits::default();
        let zipped = gzip(JSON);
        assert_eq!(decode_body(&zipped, Some("gzip"), &limits).unwrap(), JSON);
        assert_eq!(decode_body(&zipped, None, &limits).unwrap(), JSON);
        assert_eq!(decode_body(JSON, None, &limits).unwrap(), JSON);
        // A header that says gzip over a plain body is tolerated (the magic bytes decide).
        assert_eq!(decode_body(JSON, Some("gzip"), &limits).unwrap(), JSON);
        assert_eq!(
            decode_body(JSON, Some("br"), &limits),
            Err(BodyError::UnsupportedEncoding("br".into()))
        );
        assert_eq!(decode_body(b"", None, &limits), Err(BodyError::Empty));
    }

    #[test]
    fn a_gzip_bomb_is_refused_without_inflating_it() {
        // 1024 gzip members of 1 MiB of zeros each: about 1 MB that expands to 1 GiB.
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut encoder, &vec![0u8; 1 << 20]).unwrap();
        let member = encoder.finish().unwrap();
        let bomb = member.repeat(1024);
        assert!(bomb.len() < 2 << 20, "{}", bomb.len());
        let limits = BodyLimits {
            max_encoded: 4 << 20,
            max_decoded: 4 << 20,
        };
        assert_eq!(
            decode_body(&bomb, None, &limits),
            Err(BodyError::TooLarge {
                which: Limit::Decoded,
                limit: 4 << 20
            })
        );
    }

    #[test]
    fn limits_on_both_sides() {
        let limits = BodyLimits {
            max_encoded: 10,
            max_decoded: 100,
        };
        assert_eq!(
            decode_body(&[b'x'; 11], None, &limits),
            Err(BodyError::TooLarge {
                which: Limit::Encoded,
                limit: 10
            })
        );
        let exact = BodyLimits {
            max_encoded: 1 << 10,
            max_decoded: JSON.len(),
        };
        assert_eq!(decode_body(&gzip(JSON), None, &exact).unwrap(), JSON);
        let short = BodyLimits {
            max_encoded: 1 << 10,
            max_decoded: JSON.len() - 1,
        };
        assert!(matches!(
            decode_body(&gzip(JSON), None, &short),
            Err(BodyError::TooLarge {
                which: Limit::Decoded,
                ..
            })
        ));
    }

    #[test]
    fn truncated_and_corrupt_gzip_are_errors() {
        let limits = BodyLimits::default();
        let zipped = gzip(JSON);
        assert_eq!(
            decode_body(&zipped[..zipped.len() - 6], None, &limits),
            Err(BodyError::Truncated)
        );
        let mut garbage = zipped.clone();
        garbage.extend_from_slice(b"trailing garbage");
        assert!(matches!(
            decode_body(&garbage, None, &limits),
            Err(BodyError::Corrupt(_))
        ));
        let mut flipped = zipped;
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0xff;
        assert!(decode_body(&flipped, None, &limits).is_err());
    }
}
