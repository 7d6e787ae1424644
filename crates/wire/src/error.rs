//! The one error type of the crate ([`WireError`]).

use parley_apple::ModelError;

/// Why a translation between `parley.v1` and Apple's wire model failed.
///
/// Every message is one lowercase line naming what was wrong; field names are given as the
/// `parley.v1` field path (outbound) or Apple's wire key (inbound).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// An outbound event has no `apple_message_id` (it is the `id` header and body field).
    #[error("outbound event has an empty apple_message_id")]
    MissingAppleMessageId,
    /// An outbound event has no `kind` set.
    #[error("outbound event has no kind set")]
    MissingKind,
    /// A field the translation needs is absent.
    #[error("required field {field} is missing")]
    MissingField {
        /// The `parley.v1` field path.
        field: String,
    },
    /// An interactive request has no `request_identifier` and none could be derived (the event
    /// has neither an event id nor an Apple message id).
    #[error("interactive request has no request identifier and none can be derived")]
    MissingRequestIdentifier,
    /// An image is still a blob reference; the caller must load it and inline its bytes.
    #[error("{field} is a blob reference; load the blob and inline its bytes first")]
    UnresolvedBlob {
        /// The `parley.v1` field path of the image.
        field: String,
    },
    /// A field that carries JSON text is not valid JSON of the expected shape.
    #[error("{field} is not valid json: {reason}")]
    InvalidJson {
        /// The `parley.v1` field path.
        field: &'static str,
        /// What the JSON parser said.
        reason: String,
    },
    /// A time picker slot's start time cannot be written in Apple's format.
    #[error("time_picker.event.timeslots[{index}].start_time {reason}")]
    InvalidTimeslot {
        /// The slot's position.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The attachments given do not match the ones the message declares, one for one.
    #[error("{expected} attachments were expected but {found} were given")]
    AttachmentCountMismatch {
        /// How many the message declares.
        expected: usize,
        /// How many were given.
        found: usize,
    },
    /// The rendered Apple message breaks one of Apple's rules
    /// ([`parley_apple::model::Message::validate_outbound`]).
    #[error("the rendered message breaks apple's rules: {0}")]
    Invalid(#[from] ModelError),
    /// [`crate::outbound::add_legacy_auth_secrets`] was given a message that is not a legacy
    /// authentication request.
    #[error("the rendered message is not a legacy authentication request")]
    NotLegacyAuthentication,
    /// An Apple message type that has no inbound event (`richLink`, or a type Apple does not
    /// document).
    #[error("apple message type {found:?} has no inbound event")]
    UnsupportedInboundType {
        /// The type found.
        found: String,
    },
    /// An inbound `interactive` message has neither `interactiveData` nor
    /// `interactiveDataRef`.
    #[error("interactive message has neither interactiveData nor interactiveDataRef")]
    MissingInteractiveData,
    /// An inbound `interactiveDataRef` was not resolved by the caller.
    #[error("interactive message carries an interactiveDataRef but no resolution was given")]
    UnresolvedDataRef,
    /// A JSON value could not be written (cannot happen with the model's own types; kept so
    /// that serialisation never panics).
    #[error("json could not be written: {0}")]
    Serialize(#[source] serde_json::Error),
}
