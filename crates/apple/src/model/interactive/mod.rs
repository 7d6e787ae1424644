//! Interactive messages (apple-mfb-api.md §6, §7): the `interactiveData` object
//! ([`InteractiveData`]), the feature payload inside its `data` ([`InteractivePayload`]), the
//! reference form ([`InteractiveDataRef`]) and the classification of a message into an
//! [`InteractiveKind`].

mod apple_pay;
mod authentication;
mod form;
mod list_picker;
mod quick_reply;
mod time_picker;

pub use apple_pay::{
    ApplePayConfig, LineItem, MerchantSessionRequest, Payment, PaymentAuthorization,
    PaymentContact, PaymentEndpoints, PaymentGatewayRequest, PaymentGatewayResponse, PaymentMethod,
    PaymentRequest, PaymentStatus, PaymentToken, PaymentUpdate, PaymentUpdateKind,
    PaymentUpdateRequest, PaymentUpdateResponse, ShippingMethod,
};
pub use authentication::{Authenticate, AuthenticationStatus, OAuth2Request};
pub use form::{
    Form, FormData, FormItem, FormOptions, FormPage, FormPageType, FormSelection,
    FormSelectionItem, FormSplash, FormTemplate, MAX_FORM_PAGE_IDENTIFIER_CHARS,
};
pub use list_picker::{ListPicker, ListPickerItem, ListPickerSection};
pub use quick_reply::{QuickReply, QuickReplyItem};
pub use time_picker::{TimePickerEvent, Timeslot};

use serde::{Deserialize, Serialize};

use super::common::{Extra, IntOrString, SchemaVersion, merge_alias, string_enum};

/// The `bid` of Apple's built-in Messages for Business extension (list picker, time picker,
/// quick reply, forms, Apple Pay, authentication). Its team id is `0000000000`.
pub const APPLE_BUSINESS_EXTENSION_BID: &str = "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension";

/// The prefix every `bid` starts with.
pub const BID_PREFIX: &str = "com.apple.messages.MSMessageExtensionBalloonPlugin";

/// Apple's threshold above which interactive data travels as an `interactiveDataRef`.
pub const MAX_INLINE_INTERACTIVE_BYTES: usize = 10 * 1024;

/// Apple's limit on a custom iMessage app's `URL` data ("maximum size of the data is 64 KB").
pub const MAX_IMESSAGE_APP_URL_BYTES: usize = 64 * 1024;

/// The parts of a `bid`: `com.apple.messages.MSMessageExtensionBalloonPlugin:<team-id>:<bundle-id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bid<'a> {
    /// The developer team id (`0000000000` for Apple's built-in extension).
    pub team_id: &'a str,
    /// The extension's bundle id.
    pub extension: &'a str,
}

impl<'a> Bid<'a> {
    /// Splits a `bid`; `None` if it does not have the documented shape.
    pub fn parse(bid: &'a str) -> Option<Self> {
        let rest = bid.trim().strip_prefix(BID_PREFIX)?.strip_prefix(':')?;
        let (team_id, extension) = rest.split_once(':')?;
        if team_id.is_empty() || extension.is_empty() {
            return None;
        }
        Some(Self { team_id, extension })
    }
}

/// Whether `bid` is Apple's built-in Messages for Business extension.
pub fn is_apple_business_bid(bid: &str) -> bool {
    bid.trim() == APPLE_BUSINESS_EXTENSION_BID
}

/// What kind of interactive message a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InteractiveKind {
    /// `data.listPicker`.
    ListPicker,
    /// `data.event`.
    TimePicker,
    /// `data["quick-reply"]`.
    QuickReply,
    /// `data.dynamic` (forms).
    Form,
    /// `data.payment`.
    ApplePay,
    /// `data.authenticate`.
    Authentication,
    /// A business's own iMessage extension (a `bid` other than Apple's built-in one, or the
    /// custom app fields `appId`/`appName`/`URL`).
    IMessageApp,
    /// None of the above: an unknown feature, or a data reference to Apple's built-in
    /// extension whose content has not been fetched yet.
    Unknown,
}

string_enum! {
    /// `receivedMessage.style` / `replyMessage.style`.
    pub enum BubbleStyle {
        /// A style this crate does not know.
        Unknown(String);
        /// `icon`.
        Icon = "icon",
        /// `small`.
        Small = "small",
        /// `large`.
        Large = "large",
    }
}

/// `receivedMessage` / `replyMessage`: how the bubble looks before and after the user answers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageBubble {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Subtitle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Image title.
    #[serde(
        rename = "imageTitle",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub image_title: Option<String>,
    /// Image subtitle.
    #[serde(
        rename = "imageSubtitle",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub image_subtitle: Option<String>,
    /// Secondary subtitle.
    #[serde(
        rename = "secondarySubtitle",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub secondary_subtitle: Option<String>,
    /// Tertiary subtitle.
    #[serde(
        rename = "tertiarySubtitle",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tertiary_subtitle: Option<String>,
    /// Bubble style.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<BubbleStyle>,
    /// Identifier of an entry in `data.images`.
    #[serde(
        rename = "imageIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub image_identifier: Option<String>,
    /// In device replies: an alternative title for the reply bubble.
    #[serde(
        rename = "alternateTitle",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub alternate_title: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl MessageBubble {
    /// A bubble with a title.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: Some(title.into()),
            ..Self::default()
        }
    }

    /// Sets the subtitle.
    #[must_use]
    pub fn with_subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Sets the style.
    #[must_use]
    pub fn with_style(mut self, style: BubbleStyle) -> Self {
        self.style = Some(style);
        self
    }

    /// Sets the image (an identifier from `data.images`).
    #[must_use]
    pub fn with_image(mut self, image_identifier: impl Into<String>) -> Self {
        self.image_identifier = Some(image_identifier.into());
        self
    }
}

/// One entry of `data.images`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InteractiveImage {
    /// Identifier that `imageIdentifier` fields refer to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Image bytes, Base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl InteractiveImage {
    /// An image with an identifier and Base64 data.
    pub fn new(identifier: impl Into<String>, data: impl Into<String>) -> Self {
        Self {
            identifier: Some(identifier.into()),
            data: Some(data.into()),
            extra: Extra::new(),
        }
    }
}

/// `interactiveData`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InteractiveData {
    /// The extension's bid; [`APPLE_BUSINESS_EXTENSION_BID`] for built-in features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid: Option<String>,
    /// The feature payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<InteractivePayload>,
    /// The bubble shown when the message is received.
    #[serde(
        rename = "receivedMessage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub received_message: Option<MessageBubble>,
    /// The bubble shown when the user replies (on send; in replies it sits inside `data`).
    #[serde(
        rename = "replyMessage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reply_message: Option<MessageBubble>,
    /// Session id; Apple generates one if the MSP does not.
    #[serde(
        rename = "sessionIdentifier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub session_identifier: Option<String>,
    /// Whether the device renders the live layout (default true).
    #[serde(
        rename = "useLiveLayout",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub use_live_layout: Option<bool>,
    /// Custom iMessage app: App Store id.
    #[serde(rename = "appId", default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<IntOrString>,
    /// Custom iMessage app: name.
    #[serde(rename = "appName", default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// Custom iMessage app: icon, Base64.
    #[serde(rename = "appIcon", default, skip_serializing_if = "Option::is_none")]
    pub app_icon: Option<String>,
    /// Custom iMessage app: the extension's data as a query string (≤ 64 KB).
    #[serde(rename = "URL", default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl InteractiveData {
    /// Interactive data for one of Apple's built-in features, with the built-in `bid`.
    pub fn builtin(data: InteractivePayload) -> Self {
        Self {
            bid: Some(APPLE_BUSINESS_EXTENSION_BID.to_owned()),
            data: Some(data),
            ..Self::default()
        }
    }

    /// A custom iMessage app message: the extension's `bid` and its `URL` query data.
    pub fn imessage_app(bid: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            bid: Some(bid.into()),
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// Sets `receivedMessage`.
    #[must_use]
    pub fn with_received_message(mut self, bubble: MessageBubble) -> Self {
        self.received_message = Some(bubble);
        self
    }

    /// Sets `replyMessage`.
    #[must_use]
    pub fn with_reply_message(mut self, bubble: MessageBubble) -> Self {
        self.reply_message = Some(bubble);
        self
    }

    /// Sets `sessionIdentifier`.
    #[must_use]
    pub fn with_session_identifier(mut self, session: impl Into<String>) -> Self {
        self.session_identifier = Some(session.into());
        self
    }

    /// Classifies the message by the feature key present in `data`; failing that, by the bid
    /// and the custom app fields. When several feature keys are present (never seen), the
    /// first of authenticate, payment, dynamic, listPicker, event, quick-reply wins.
    pub fn kind(&self) -> InteractiveKind {
        if let Some(kind) = self.data.as_ref().and_then(InteractivePayload::feature) {
            return kind;
        }
        let custom_bid = self
            .bid
            .as_deref()
            .is_some_and(|b| !is_apple_business_bid(b));
        let app_fields = self.app_id.is_some() || self.app_name.is_some() || self.url.is_some();
        if custom_bid || app_fields {
            InteractiveKind::IMessageApp
        } else {
            InteractiveKind::Unknown
        }
    }

    /// `data.requestIdentifier`, if present.
    pub fn request_identifier(&self) -> Option<&str> {
        self.data.as_ref()?.request_identifier.as_deref()
    }

    /// Whether `bid` is Apple's built-in extension (or absent, which built-in replies never are
    /// but which is read the same way).
    pub fn is_builtin(&self) -> bool {
        self.bid.as_deref().is_none_or(is_apple_business_bid)
    }
}

/// `interactiveData.data`: the version, request id and images common to every feature, the
/// feature payload under its feature key, and (in device replies) `replyMessage`.
///
/// `version` accepts the alias `mspVersion` (Apple's 2025 samples use it for list picker, time
/// picker and basic Apple Pay) and is always written as `version`. If both arrive and differ,
/// `mspVersion` is kept in `extra`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "RawPayload")]
pub struct InteractivePayload {
    /// Schema version; "should be 1.0".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<SchemaVersion>,
    /// Request id (a UUID), echoed in the reply.
    #[serde(rename = "requestIdentifier", skip_serializing_if = "Option::is_none")]
    pub request_identifier: Option<String>,
    /// Images that `imageIdentifier` fields refer to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<InteractiveImage>>,
    /// List picker.
    #[serde(rename = "listPicker", skip_serializing_if = "Option::is_none")]
    pub list_picker: Option<ListPicker>,
    /// Time picker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<TimePickerEvent>,
    /// Quick reply.
    #[serde(rename = "quick-reply", skip_serializing_if = "Option::is_none")]
    pub quick_reply: Option<QuickReply>,
    /// Form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<Form>,
    /// Apple Pay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// Authentication (OAuth2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticate: Option<Authenticate>,
    /// In device replies: the reply bubble (with `alternateTitle`).
    #[serde(rename = "replyMessage", skip_serializing_if = "Option::is_none")]
    pub reply_message: Option<MessageBubble>,
    /// In some replies: the received bubble.
    #[serde(rename = "receivedMessage", skip_serializing_if = "Option::is_none")]
    pub received_message: Option<MessageBubble>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl InteractivePayload {
    /// A payload with `version: "1.0"` and the given request id, and no feature yet.
    pub fn new(request_identifier: impl Into<String>) -> Self {
        Self {
            version: Some(SchemaVersion::v1_0()),
            request_identifier: Some(request_identifier.into()),
            ..Self::default()
        }
    }

    /// The feature whose key is present, if any.
    pub fn feature(&self) -> Option<InteractiveKind> {
        if self.authenticate.is_some() {
            Some(InteractiveKind::Authentication)
        } else if self.payment.is_some() {
            Some(InteractiveKind::ApplePay)
        } else if self.dynamic.is_some() {
            Some(InteractiveKind::Form)
        } else if self.list_picker.is_some() {
            Some(InteractiveKind::ListPicker)
        } else if self.event.is_some() {
            Some(InteractiveKind::TimePicker)
        } else if self.quick_reply.is_some() {
            Some(InteractiveKind::QuickReply)
        } else {
            None
        }
    }
}

/// [`InteractivePayload`] as read from the wire: `version` and `mspVersion` separately.
#[derive(Deserialize)]
struct RawPayload {
    #[serde(default)]
    version: Option<SchemaVersion>,
    #[serde(rename = "mspVersion", default)]
    msp_version: Option<SchemaVersion>,
    #[serde(rename = "requestIdentifier", default)]
    request_identifier: Option<String>,
    #[serde(default)]
    images: Option<Vec<InteractiveImage>>,
    #[serde(rename = "listPicker", default)]
    list_picker: Option<ListPicker>,
    #[serde(default)]
    event: Option<TimePickerEvent>,
    #[serde(rename = "quick-reply", default)]
    quick_reply: Option<QuickReply>,
    #[serde(default)]
    dynamic: Option<Form>,
    #[serde(default)]
    payment: Option<Payment>,
    #[serde(default)]
    authenticate: Option<Authenticate>,
    #[serde(rename = "replyMessage", default)]
    reply_message: Option<MessageBubble>,
    #[serde(rename = "receivedMessage", default)]
    received_message: Option<MessageBubble>,
    #[serde(flatten)]
    extra: Extra,
}

impl From<RawPayload> for InteractivePayload {
    fn from(raw: RawPayload) -> Self {
        let mut p = InteractivePayload {
            version: raw.version,
            request_identifier: raw.request_identifier,
            images: raw.images,
            list_picker: raw.list_picker,
            event: raw.event,
            quick_reply: raw.quick_reply,
            dynamic: raw.dynamic,
            payment: raw.payment,
            authenticate: raw.authenticate,
            reply_message: raw.reply_message,
            received_message: raw.received_message,
            extra: raw.extra,
        };
        merge_alias(&mut p.version, raw.msp_version, "mspVersion", &mut p.extra);
        p
    }
}

/// `interactiveDataRef`: interactive data stored by Apple (inbound replies over 10 KB), and
/// the `dataRef` Apple returns for `include-data-ref: true` (which adds `dataRefSig`) and
/// that is sent back to reuse the asset.
///
/// `size` is an integer on the wire; a string is accepted and written back as it came.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InteractiveDataRef {
    /// The extension's bid (sent as the `bid` header of `decodePayload`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bid: Option<String>,
    /// MMCS URL of the encrypted payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// MMCS owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Size of the encrypted payload in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<IntOrString>,
    /// Decryption key (`00` + hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Checksum, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Checksum, Base64.
    #[serde(
        rename = "signature-base64",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub signature_base64: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Apple's signature over the reference (outbound `dataRef` only).
    #[serde(
        rename = "dataRefSig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub data_ref_sig: Option<String>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl InteractiveDataRef {
    /// Classifies by `bid` alone: a custom bid is an iMessage app; Apple's built-in bid is
    /// [`InteractiveKind::Unknown`] until the payload is fetched and decoded.
    pub fn kind(&self) -> InteractiveKind {
        match self.bid.as_deref() {
            Some(b) if !is_apple_business_bid(b) => InteractiveKind::IMessageApp,
            _ => InteractiveKind::Unknown,
        }
    }
}

/// The body of Apple's 200 response to a send with `include-data-ref: true`:
/// `{"dataRef": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DataRefResponse {
    /// The reusable reference.
    #[serde(rename = "dataRef", default, skip_serializing_if = "Option::is_none")]
    pub data_ref: Option<InteractiveDataRef>,
    /// Keys this crate does not know.
    #[serde(flatten)]
    pub extra: Extra,
}
