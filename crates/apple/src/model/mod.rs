//! The typed model of every message Apple and an MSP exchange, in both directions.
//!
//! - [`Message`]: the envelope (`v`, `id`, `type`, ids, body, attachments, interactive and
//!   rich link data, intent, group), with [`Message::parse`], [`Message::to_vec`], validation
//!   for each direction ([`Message::validate_inbound`], [`Message::validate_outbound`]) and
//!   constructors for outbound messages ([`Message::text`], [`Message::typing_start`], …).
//! - [`Attachment`] and the U+FFFC body helpers ([`split_body`], [`BodyBuilder`]).
//! - [`RichLinkData`], [`RichLinkDataRef`].
//! - [`InteractiveData`] with the payload of every interactive feature, [`InteractiveDataRef`],
//!   the classification [`InteractiveKind`], the device replies ([`InteractiveReply`]) and
//!   builders ([`ListPickerBuilder`], [`TimePickerBuilder`], [`QuickReplyBuilder`]).
//! - The Apple Pay callback bodies ([`PaymentGatewayRequest`], [`PaymentUpdateRequest`]) and
//!   their responses.
//!
//! Every struct keeps the JSON keys it does not know in an `extra` map, so parse → serialise
//! loses nothing (an explicit `null` on a known optional field comes back as an absent field).
//! Where the wire has two spellings (legacy attachment keys, `mspVersion`), both are read and
//! the current one is written.

mod attachment;
mod builders;
mod common;
mod envelope;
mod interactive;
mod reply;
mod rich_link;
mod validate;

pub use attachment::{
    ATTACHMENT_PLACEHOLDER, Attachment, BodyBuilder, BodySegment, MAX_ATTACHMENT_BYTES, body_text,
    key_is_well_formed, placeholder_count, split_body,
};
pub use builders::{ListPickerBuilder, QuickReplyBuilder, TimePickerBuilder};
pub use common::{Extra, IntOrString, SchemaVersion};
pub use envelope::{ENVELOPE_VERSION, Message, MessageType};
pub use interactive::*;
pub use reply::{
    ApplePayResult, AuthenticationReply, FormReply, IMessageAppReply, InteractiveReply,
    ListPickerSelection, QuickReplySelection, ReplyContext, SelectedListItem, TimePickerSelection,
};
pub use rich_link::{
    MAX_RICH_LINK_IMAGE_BYTES, RichLinkAssets, RichLinkData, RichLinkDataRef, RichLinkImage,
    RichLinkVideo,
};
