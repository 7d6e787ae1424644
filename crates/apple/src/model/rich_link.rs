//! Rich links: inline [`RichLinkData`] and the [`RichLinkDataRef`] produced by
//! `constructPayload` (apple-mfb-api.md §6.5).

use serde::{Deserialize, Serialize};

use super::common::{Extra, IntOrString};

/// Apple's limit on a rich link's inline image: "≤ 200 kB". Whether kB means 1000 or 1024
/// bytes is UNKNOWN; the larger reading is used so that no valid image is refused.
pub const MAX_RICH_LINK_IMAGE_BYTES: usize = 200 * 1024;

/// `richLinkData`: a link preview.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RichLinkData {
    /// The link (http or https; custom schemes do not work).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Title shown on the preview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Image and video assets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets: Option<RichLinkAssets>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl RichLinkData {
    /// A rich link with a URL and a title, no assets.
    pub fn new(url: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            title: Some(title.into()),
            ..Self::default()
        }
    }

    /// Adds an inline image (`data` is Base64).
    #[must_use]
    pub fn with_image(mut self, data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        let assets = self.assets.get_or_insert_with(RichLinkAssets::default);
        assets.image = Some(RichLinkImage {
            data: Some(data.into()),
            mime_type: Some(mime_type.into()),
            extra: Extra::new(),
        });
        self
    }

    /// Adds a video asset. The key holding the video's location (`url` vs `data`) is not
    /// confirmed by Apple; `url` (as Webex uses) is written.
    #[must_use]
    pub fn with_video(mut self, mime_type: impl Into<String>, url: impl Into<String>) -> Self {
        let assets = self.assets.get_or_insert_with(RichLinkAssets::default);
        assets.video = Some(RichLinkVideo {
            mime_type: Some(mime_type.into()),
            url: Some(url.into()),
            extra: Extra::new(),
        });
        self
    }
}

/// `richLinkData.assets`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RichLinkAssets {
    /// The preview image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<RichLinkImage>,
    /// The video, for a video link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<RichLinkVideo>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `richLinkData.assets.image`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RichLinkImage {
    /// Image bytes, Base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Image MIME type.
    #[serde(rename = "mimeType", default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `richLinkData.assets.video`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RichLinkVideo {
    /// Video MIME type.
    #[serde(rename = "mimeType", default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Video location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Keys this crate does not know (an inline `data`, if Apple uses one, lands here).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `richLinkDataRef`: a rich link stored by Apple, from `POST /v1/constructPayload`.
///
/// UNKNOWN: the JSON type of `size` here (integer as in interactive data references, or string
/// as in attachments); both are accepted and written back as they came.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RichLinkDataRef {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Checksum, Base64.
    #[serde(
        rename = "signature-base64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub signature_base64: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<IntOrString>,
    /// MMCS URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// MMCS owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Decryption key (`00` + hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}
