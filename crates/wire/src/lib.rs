//! The translation between Parley's public `parley.v1` contract and Apple's Messages for
//! Business wire model (`parley_apple::model`), in both directions, and the device capability
//! facts that decide what a customer's device can show.
//!
//! - [`inbound`]: Apple → `parley.v1`. [`inbound::to_event`] turns a validated Apple message
//!   and its headers into the body of an `InboundMessage` (text, tapback reaction, typing,
//!   close, every interactive reply, data reference outcomes).
//! - [`outbound`]: `parley.v1` → Apple. [`outbound::to_apple`] renders every
//!   `OutboundMessage` kind as an Apple message that passes Apple's outbound rules, with the
//!   endpoint to POST it to; [`outbound::to_apple_text_fallback`] renders its plain-text
//!   equivalent.
//! - [`capabilities`]: `capability-list` and `device-agent` in both directions, what a message
//!   requires, whether a device can show it, and the text fallback.
//! - [`consent`]: the identifiers of notification-consent's preferences list picker, which
//!   other consumers of customer messages leave to it.
//! - [`meta`]: Parley's domain values in `parley.v1` shape: conversation keys and the
//!   metadata every event starts with (one constructor for every producer).
//! - [`parts`]: the parts of an `OutboundMessage` (`kind`, then each of `more`) as single
//!   messages with their own Apple message ids, and the event that joins them.
//! - [`transcript`]: the typed `TranscriptEntry` of a customer's or a business's message,
//!   without the opaque id or Apple's raw JSON (routing and outbound write them).
//!
//! It owns translation only: it does no I/O (no HTTP, no blob store, no bus, no clock, no
//! randomness), so every function is deterministic, and it holds no business rules beyond
//! translation and capability facts (consent, closed conversations and retries belong to the
//! services). The caller resolves what needs I/O first: attachments are downloaded or
//! uploaded, blobs loaded, interactive data references fetched and decoded. No input makes it
//! panic: what cannot be translated is a [`WireError`].

pub mod capabilities;
pub mod consent;
pub mod inbound;
pub mod meta;
pub mod outbound;
pub mod parts;
pub mod transcript;

mod error;
mod time;

pub use error::WireError;
