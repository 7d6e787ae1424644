//! Typed errors for the wire model ([`ModelError`]) and Apple's HTTP headers ([`HeaderError`]).
//!
//! Every message is lowercase and one line, and says what was wrong. Field names are given in
//! Apple's wire spelling (`interactiveData.data.requestIdentifier`), so a log line can be matched
//! against the JSON directly.

/// What was wrong with a message body: it did not parse, or it broke one of Apple's rules
/// (see [`crate::model::Message::validate_inbound`] and
/// [`crate::model::Message::validate_outbound`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The bytes were not JSON, or the JSON did not fit the model's field types.
    #[error("message body does not parse: {0}")]
    Json(#[source] serde_json::Error),
    /// The model could not be written as JSON (cannot happen with the model's own types; kept
    /// so that serialisation never panics).
    #[error("message could not be serialised: {0}")]
    Serialize(#[source] serde_json::Error),
    /// A required field is absent. `field` is the wire path, e.g. `interactiveData.bid`.
    #[error("required field {field} is missing")]
    MissingField {
        /// Wire path of the field.
        field: String,
    },
    /// A required field is present but empty (or only whitespace).
    #[error("required field {field} is empty")]
    EmptyField {
        /// Wire path of the field.
        field: String,
    },
    /// The envelope's `v` is not 1.
    #[error("envelope v is {found}; only 1 is supported")]
    UnsupportedVersion {
        /// The value found.
        found: u64,
    },
    /// The envelope's `type` is not one Apple documents.
    #[error("message type {found:?} is not known")]
    UnknownType {
        /// The type found.
        found: String,
    },
    /// An MSP tried to send `type: close`, which only Apple sends.
    #[error("type close is inbound only; an msp must never send it")]
    CloseFromMsp,
    /// A `text` message has no `body`.
    #[error("text message has no body")]
    TextWithoutBody,
    /// An `interactive` message has neither `interactiveData` nor `interactiveDataRef`.
    #[error("interactive message has neither interactiveData nor interactiveDataRef")]
    InteractiveWithoutData,
    /// `interactiveData.data` of one of Apple's built-in features has no feature key.
    #[error(
        "interactiveData.data has no feature key (listPicker, event, quick-reply, dynamic, payment, authenticate)"
    )]
    NoInteractiveFeature,
    /// A list picker has no sections.
    #[error("list picker has no sections")]
    ListPickerWithoutSections,
    /// A list picker section has no items.
    #[error("list picker section {section} has no items")]
    ListSectionWithoutItems {
        /// Index of the section.
        section: usize,
    },
    /// A time picker has no timeslots.
    #[error("time picker has no timeslots")]
    TimePickerWithoutTimeslots,
    /// A timeslot's duration is absent, zero or negative.
    #[error("timeslot {index} has duration {duration:?}; it must be a positive number of seconds")]
    InvalidTimeslotDuration {
        /// Index of the timeslot.
        index: usize,
        /// The duration found, if any.
        duration: Option<i64>,
    },
    /// A quick reply has no items.
    #[error("quick reply has no items")]
    QuickReplyWithoutItems,
    /// A form has no pages.
    #[error("form has no pages")]
    FormWithoutPages,
    /// A form `pageIdentifier` is 20 characters or longer.
    #[error(
        "form pageIdentifier {page_identifier:?} is {len} characters; fewer than 20 are allowed"
    )]
    FormPageIdentifierTooLong {
        /// The identifier.
        page_identifier: String,
        /// Its length in characters.
        len: usize,
    },
    /// A form field names a page that the form does not have.
    #[error("form {field} names page {identifier:?}, which does not exist")]
    FormUnknownPage {
        /// Wire path of the field that names the page.
        field: String,
        /// The page identifier named.
        identifier: String,
    },
    /// A custom iMessage app's `URL` data is larger than Apple's 64 KB limit.
    #[error("imessage app URL is {len} bytes; at most {max} are allowed")]
    IMessageAppUrlTooLarge {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A `richLink` message has neither `richLinkData` nor `richLinkDataRef`.
    #[error("richLink message has neither richLinkData nor richLinkDataRef")]
    RichLinkWithoutData,
    /// A rich link's `url` is not an absolute http or https URL.
    #[error("rich link url {url:?} is not an http or https url")]
    InvalidRichLinkUrl {
        /// The URL found.
        url: String,
    },
    /// A rich link's inline image is larger than Apple's 200 kB limit.
    #[error("rich link image is about {bytes} bytes; at most {max} are allowed")]
    RichLinkImageTooLarge {
        /// Decoded size, estimated from the Base64 length.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// An attachment dictionary lacks a key.
    #[error("attachment {index} has no {field}")]
    AttachmentMissingField {
        /// Index of the attachment.
        index: usize,
        /// The missing key (current spelling).
        field: &'static str,
    },
    /// An attachment's `size` is not a whole number of bytes.
    #[error("attachment {index} size {value:?} is not a whole number of bytes")]
    AttachmentBadSize {
        /// Index of the attachment.
        index: usize,
        /// The size found.
        value: String,
    },
    /// An attachment is larger than Apple's 100 MB limit.
    #[error("attachment {index} is {size} bytes; at most {max} are allowed")]
    AttachmentTooLarge {
        /// Index of the attachment.
        index: usize,
        /// Its size in bytes.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// An attachment's `key` is not `00` followed by 64 hex digits.
    #[error("attachment {index} key is not \"00\" followed by 64 hex digits")]
    AttachmentBadKey {
        /// Index of the attachment.
        index: usize,
    },
    /// The body has fewer U+FFFC placeholders than there are attachments, so Apple would not
    /// show the attachments that have no placeholder.
    #[error(
        "body has {placeholders} U+FFFC placeholders for {attachments} attachments; attachments without a placeholder are not shown"
    )]
    AttachmentPlaceholderMismatch {
        /// Placeholders in the body.
        placeholders: usize,
        /// Attachments in the array.
        attachments: usize,
    },
    /// An `interactiveDataRef` or `richLinkDataRef` size is not a whole number of bytes.
    #[error("{field} {value:?} is not a whole number of bytes")]
    BadRefSize {
        /// Wire path of the size field.
        field: &'static str,
        /// The size found.
        value: String,
    },
}

/// What was wrong with one of Apple's HTTP headers. Every variant names the header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// A required header is absent.
    #[error("header {name} is missing")]
    Missing {
        /// The header name.
        name: &'static str,
    },
    /// The header's bytes are not UTF-8.
    #[error("header {name} is not valid utf-8")]
    NotUtf8 {
        /// The header name.
        name: &'static str,
    },
    /// The header is present but empty (or only whitespace).
    #[error("header {name} is empty")]
    Empty {
        /// The header name.
        name: &'static str,
    },
    /// The header is longer than this crate accepts.
    #[error("header {name} is {len} bytes long; at most {max} are allowed")]
    TooLong {
        /// The header name.
        name: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The header's value is not one the header allows (or cannot be put in an HTTP header).
    #[error("header {name} has an invalid value: {reason}")]
    Invalid {
        /// The header name.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

/// Every failure of this crate, for callers that handle them together.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A message or payload did not parse or validate.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A header was missing or malformed.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A token was refused or could not be made.
    #[error(transparent)]
    Jwt(#[from] crate::jwt::JwtError),
    /// A webhook body was refused.
    #[error(transparent)]
    Body(#[from] crate::body::BodyError),
    /// A cryptographic operation failed.
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// A call to Apple failed.
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
}
