//! The message envelope shared by both directions ([`Message`]), its `type` ([`MessageType`]),
//! parsing and serialisation, and constructors for outbound messages.

use serde::{Deserialize, Serialize};

use super::attachment::{Attachment, BodyBuilder, BodySegment, split_body};
use super::common::{Extra, string_enum};
use super::interactive::{InteractiveData, InteractiveDataRef, InteractiveKind};
use super::rich_link::{RichLinkData, RichLinkDataRef};
use crate::ModelError;

/// The only envelope version Apple defines (`"v": 1`).
pub const ENVELOPE_VERSION: u64 = 1;

string_enum! {
    /// The envelope's `type`.
    pub enum MessageType {
        /// A type this crate does not know, kept verbatim for forward compatibility.
        Unknown(String);
        /// Text, with or without attachments (both directions).
        Text = "text",
        /// An interactive message or the device's reply to one (both directions).
        Interactive = "interactive",
        /// The user started typing (inbound; also sent outbound by MSPs).
        TypingStart = "typing_start",
        /// The user cleared the text (inbound; also sent outbound by MSPs).
        TypingEnd = "typing_end",
        /// The customer closed (deleted) the conversation. Inbound only.
        Close = "close",
        /// A rich link (MSP → Apple).
        RichLink = "richLink",
    }
}

impl MessageType {
    /// Whether this is one of the types Apple documents.
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Unknown(_))
    }
}

/// One message, in either direction: the JSON body of `POST /message`.
///
/// Every field except `type` is optional at parse time, so that a message Apple sends with a
/// field missing still parses; [`Message::validate_inbound`] and [`Message::validate_outbound`]
/// check what each direction requires. Unknown fields are kept in [`Message::extra`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Envelope version; must be 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<u64>,
    /// Message id (a UUID), the same value as the `id` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Message type.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// Sender: the opaque user id inbound, the business id outbound.
    #[serde(rename = "sourceId", default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// Recipient: the business id inbound, the opaque user id outbound.
    #[serde(
        rename = "destinationId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub destination_id: Option<String>,
    /// The user's locale, e.g. `en_US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Text; required for `text`. Holds one U+FFFC per attachment (see
    /// [`crate::model::split_body`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Attachment dictionaries, in placeholder order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<Attachment>>,
    /// Inline interactive data (≤ 10 KB).
    #[serde(
        rename = "interactiveData",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub interactive_data: Option<InteractiveData>,
    /// Reference to interactive data stored by Apple (> 10 KB, or reused).
    #[serde(
        rename = "interactiveDataRef",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub interactive_data_ref: Option<InteractiveDataRef>,
    /// Inline rich link.
    #[serde(
        rename = "richLinkData",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rich_link_data: Option<RichLinkData>,
    /// Reference to a rich link built by `constructPayload`.
    #[serde(
        rename = "richLinkDataRef",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rich_link_data_ref: Option<RichLinkDataRef>,
    /// The entry point's `biz-intent-id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    /// The entry point's `biz-group-id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Fields this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Message {
    /// Parses a JSON body (already decompressed). A leading UTF-8 byte-order mark is ignored.
    ///
    /// Parsing checks only the JSON shape; call [`Message::validate_inbound`] or
    /// [`Message::validate_outbound`] for Apple's rules.
    pub fn parse(bytes: &[u8]) -> Result<Self, ModelError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        serde_json::from_slice(bytes).map_err(ModelError::Json)
    }

    /// Serialises to JSON bytes (plain JSON; MSP → Apple bodies are not compressed).
    pub fn to_vec(&self) -> Result<Vec<u8>, ModelError> {
        serde_json::to_vec(self).map_err(ModelError::Serialize)
    }

    /// Serialises to a JSON value.
    pub fn to_value(&self) -> Result<serde_json::Value, ModelError> {
        serde_json::to_value(self).map_err(ModelError::Serialize)
    }

    /// An envelope with `v: 1`, the given type and ids, and nothing else.
    pub fn envelope(
        kind: MessageType,
        id: impl Into<String>,
        source_id: impl Into<String>,
        destination_id: impl Into<String>,
    ) -> Self {
        Self {
            v: Some(ENVELOPE_VERSION),
            id: Some(id.into()),
            kind,
            source_id: Some(source_id.into()),
            destination_id: Some(destination_id.into()),
            locale: None,
            body: None,
            attachments: None,
            interactive_data: None,
            interactive_data_ref: None,
            rich_link_data: None,
            rich_link_data_ref: None,
            intent: None,
            group: None,
            extra: Extra::new(),
        }
    }

    /// An outbound text message from `business` to `customer`.
    pub fn text(
        id: impl Into<String>,
        business: impl Into<String>,
        customer: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        let mut m = Self::envelope(MessageType::Text, id, business, customer);
        m.body = Some(body.into());
        m
    }

    /// An outbound text message with attachments: `text` (any U+FFFC in it removed) followed by
    /// one U+FFFC per attachment. An empty `text` gives a body of placeholders only.
    pub fn text_with_attachments(
        id: impl Into<String>,
        business: impl Into<String>,
        customer: impl Into<String>,
        text: &str,
        attachments: Vec<Attachment>,
    ) -> Self {
        let mut body = BodyBuilder::new();
        body.text(text);
        for _ in &attachments {
            body.attachment();
        }
        let mut m = Self::envelope(MessageType::Text, id, business, customer);
        m.body = Some(body.build());
        m.attachments = Some(attachments);
        m
    }

    /// An outbound `typing_start` (envelope only).
    pub fn typing_start(
        id: impl Into<String>,
        business: impl Into<String>,
        customer: impl Into<String>,
    ) -> Self {
        Self::envelope(MessageType::TypingStart, id, business, customer)
    }

    /// An outbound `typing_end` (envelope only).
    pub fn typing_end(
        id: impl Into<String>,
        business: impl Into<String>,
        customer: impl Into<String>,
    ) -> Self {
        Self::envelope(MessageType::TypingEnd, id, business, customer)
    }

    /// A `close` message. Only Apple sends it (the simulator uses this); an MSP must not.
    pub fn close(
        id: impl Into<String>,
        customer: impl Into<String>,
        business: impl Into<String>,
    ) -> Self {
        Self::envelope(MessageType::Close, id, customer, business)
    }

    /// An outbound rich link.
    pub fn rich_link(
        id: impl Into<String>,
        business: impl Into<String>,
        customer: impl Into<String>,
        link: RichLinkData,
    ) -> Self {
        let mut m = Self::envelope(MessageType::RichLink, id, business, customer);
        m.rich_link_data = Some(link);
        m
    }

    /// An outbound interactive message (see the builders in [`crate::model`]).
    pub fn interactive(
        id: impl Into<String>,
        business: impl Into<String>,
        customer: impl Into<String>,
        data: InteractiveData,
    ) -> Self {
        let mut m = Self::envelope(MessageType::Interactive, id, business, customer);
        m.interactive_data = Some(data);
        m
    }

    /// An outbound interactive message that reuses stored data (`dataRef` from an earlier
    /// send with `include-data-ref: true`).
    pub fn interactive_ref(
        id: impl Into<String>,
        business: impl Into<String>,
        customer: impl Into<String>,
        data_ref: InteractiveDataRef,
    ) -> Self {
        let mut m = Self::envelope(MessageType::Interactive, id, business, customer);
        m.interactive_data_ref = Some(data_ref);
        m
    }

    /// Sets `locale`.
    #[must_use]
    pub fn with_locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    /// Sets `intent` (the entry point's `biz-intent-id`).
    #[must_use]
    pub fn with_intent(mut self, intent: impl Into<String>) -> Self {
        self.intent = Some(intent.into());
        self
    }

    /// Sets `group` (the entry point's `biz-group-id`).
    #[must_use]
    pub fn with_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// The attachments, or an empty slice.
    pub fn attachments(&self) -> &[Attachment] {
        self.attachments.as_deref().unwrap_or(&[])
    }

    /// The body split into text and attachment slots (empty when there is no body).
    pub fn body_segments(&self) -> Vec<BodySegment<'_>> {
        self.body.as_deref().map(split_body).unwrap_or_default()
    }

    /// What kind of interactive message this is, from the inline data or, failing that, the
    /// reference's `bid`. `None` when the message carries neither.
    pub fn interactive_kind(&self) -> Option<InteractiveKind> {
        match (&self.interactive_data, &self.interactive_data_ref) {
            (Some(data), _) => Some(data.kind()),
            (None, Some(r)) => Some(r.kind()),
            (None, None) => None,
        }
    }
}
