//! Attachment dictionaries ([`Attachment`]) and the U+FFFC placeholders that place them in a
//! text body ([`split_body`], [`BodyBuilder`]).
//!
//! Two key sets exist on the wire (apple-mfb-api.md §8.2/§8.3): the current one
//! (`name, mimeType, size, key, url, owner, signature, signature-base64`) and a legacy,
//! iMessage-style one (`mime-type, file-size, decryption-key, mmcs-url, mmcs-owner,
//! mmcs-signature-hex`). Both are accepted; the current set is always written.

use serde::{Deserialize, Serialize};

use super::common::{Extra, loose_string, merge_alias};

/// The character that stands for one attachment in a text body (U+FFFC OBJECT REPLACEMENT
/// CHARACTER). The first one shows the first attachment, and so on.
pub const ATTACHMENT_PLACEHOLDER: char = '\u{FFFC}';

/// Apple's attachment size limit: "up to 100 MB". Whether MB means 10^6 or 2^20 bytes is
/// UNKNOWN; the larger reading (100 MiB) is used so that no valid file is refused.
pub const MAX_ATTACHMENT_BYTES: u64 = 100 * 1024 * 1024;

/// One attachment dictionary.
///
/// `size` is a string on the wire ("has to be of type string"); a JSON number is accepted and
/// kept as its decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "RawAttachment")]
pub struct Attachment {
    /// File name, e.g. `image.png`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// MIME type (legacy `mime-type`).
    #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Size of the encrypted file in bytes, as a decimal string (legacy `file-size`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Decryption key: `00` followed by the hex of the 32 key bytes (legacy `decryption-key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// MMCS URL of the encrypted file (legacy `mmcs-url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// MMCS owner (legacy `mmcs-owner`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// File checksum as hex (legacy `mmcs-signature-hex`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// File checksum as Base64 (the upload's `fileChecksum`).
    #[serde(rename = "signature-base64", skip_serializing_if = "Option::is_none")]
    pub signature_base64: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Both key sets, as read from the wire.
#[derive(Deserialize)]
struct RawAttachment {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "mimeType", default)]
    mime_type: Option<String>,
    #[serde(rename = "mime-type", default)]
    legacy_mime_type: Option<String>,
    #[serde(default, deserialize_with = "loose_string")]
    size: Option<String>,
    #[serde(rename = "file-size", default, deserialize_with = "loose_string")]
    legacy_size: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(rename = "decryption-key", default)]
    legacy_key: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(rename = "mmcs-url", default)]
    legacy_url: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(rename = "mmcs-owner", default)]
    legacy_owner: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(rename = "mmcs-signature-hex", default)]
    legacy_signature: Option<String>,
    #[serde(rename = "signature-base64", default)]
    signature_base64: Option<String>,
    #[serde(flatten)]
    extra: Extra,
}

impl From<RawAttachment> for Attachment {
    fn from(raw: RawAttachment) -> Self {
        let mut a = Attachment {
            name: raw.name,
            mime_type: raw.mime_type,
            size: raw.size,
            key: raw.key,
            url: raw.url,
            owner: raw.owner,
            signature: raw.signature,
            signature_base64: raw.signature_base64,
            extra: raw.extra,
        };
        merge_alias(
            &mut a.mime_type,
            raw.legacy_mime_type,
            "mime-type",
            &mut a.extra,
        );
        merge_alias(&mut a.size, raw.legacy_size, "file-size", &mut a.extra);
        merge_alias(&mut a.key, raw.legacy_key, "decryption-key", &mut a.extra);
        merge_alias(&mut a.url, raw.legacy_url, "mmcs-url", &mut a.extra);
        merge_alias(&mut a.owner, raw.legacy_owner, "mmcs-owner", &mut a.extra);
        merge_alias(
            &mut a.signature,
            raw.legacy_signature,
            "mmcs-signature-hex",
            &mut a.extra,
        );
        a
    }
}

impl Attachment {
    /// A dictionary for a file about to be sent: name, MIME type and encrypted size. Fill in
    /// the upload result with [`Attachment::with_upload`].
    pub fn new(name: impl Into<String>, mime_type: impl Into<String>, size: u64) -> Self {
        Self {
            name: Some(name.into()),
            mime_type: Some(mime_type.into()),
            size: Some(size.to_string()),
            ..Self::default()
        }
    }

    /// Sets the fields that come from `preUpload` and the upload: `url` (= `mmcs-url`),
    /// `owner` (= `mmcs-owner`), `key` (`00` + hex) and `signature-base64` (= `fileChecksum`).
    #[must_use]
    pub fn with_upload(
        mut self,
        url: impl Into<String>,
        owner: impl Into<String>,
        key: impl Into<String>,
        signature_base64: impl Into<String>,
    ) -> Self {
        self.url = Some(url.into());
        self.owner = Some(owner.into());
        self.key = Some(key.into());
        self.signature_base64 = Some(signature_base64.into());
        self
    }

    /// `size` as a number of bytes, if present and a whole number.
    pub fn size_bytes(&self) -> Option<u64> {
        self.size.as_deref().and_then(|s| s.trim().parse().ok())
    }

    /// Whether `key` has the documented shape: `00` followed by 64 hex digits (either case).
    pub fn key_is_well_formed(&self) -> bool {
        self.key.as_deref().is_some_and(key_is_well_formed)
    }
}

/// Whether `key` is `00` followed by 64 hex digits (66 characters, either case).
pub fn key_is_well_formed(key: &str) -> bool {
    key.len() == 66 && key.starts_with("00") && key.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One piece of a text body: text, or the slot of the n-th attachment (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySegment<'a> {
    /// A run of text with no placeholder in it (never empty).
    Text(&'a str),
    /// The slot of attachment number `n` (0-based, in placeholder order). It may be past the
    /// end of the attachment array; Apple ignores such extra placeholders.
    Attachment(usize),
}

/// Splits a body into text runs and attachment slots, in order. Empty text runs are dropped.
pub fn split_body(body: &str) -> Vec<BodySegment<'_>> {
    let mut out = Vec::new();
    let mut slot = 0;
    for (i, piece) in body.split(ATTACHMENT_PLACEHOLDER).enumerate() {
        if i > 0 {
            out.push(BodySegment::Attachment(slot));
            slot += 1;
        }
        if !piece.is_empty() {
            out.push(BodySegment::Text(piece));
        }
    }
    out
}

/// How many U+FFFC placeholders a body holds.
pub fn placeholder_count(body: &str) -> usize {
    body.chars()
        .filter(|&c| c == ATTACHMENT_PLACEHOLDER)
        .count()
}

/// The body's text with the placeholders removed.
pub fn body_text(body: &str) -> String {
    body.chars()
        .filter(|&c| c != ATTACHMENT_PLACEHOLDER)
        .collect()
}

/// Builds a body from text runs and attachment slots, in order.
///
/// ```
/// use parley_apple::model::{BodyBuilder, placeholder_count};
/// let mut b = BodyBuilder::new();
/// b.text("Here is the receipt: ").attachment();
/// let body = b.build();
/// assert_eq!(placeholder_count(&body), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct BodyBuilder {
    body: String,
    attachments: usize,
}

impl BodyBuilder {
    /// An empty body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends text. Any U+FFFC in it is removed, so that text cannot shift the attachments.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.body
            .extend(text.chars().filter(|&c| c != ATTACHMENT_PLACEHOLDER));
        self
    }

    /// Appends the placeholder of the next attachment.
    pub fn attachment(&mut self) -> &mut Self {
        self.body.push(ATTACHMENT_PLACEHOLDER);
        self.attachments += 1;
        self
    }

    /// How many attachment placeholders have been appended.
    pub fn attachment_count(&self) -> usize {
        self.attachments
    }

    /// The body.
    pub fn build(&self) -> String {
        self.body.clone()
    }
}
