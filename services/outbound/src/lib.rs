//! Outbound: the business's messages to Apple, and the last gate before them.
//!
//! It owns the Apple REST client side of Parley: it consumes `amb.outbound`, refuses what must
//! not be sent (a conversation the customer closed, a notification without opt-in, a payload
//! the device cannot show and has no text equivalent for, a customer Apple called
//! unreachable), renders Apple's JSON, uploads attachments, sends with the cached JWT, retries
//! what can heal with backoff behind a circuit breaker and a per-business rate limit, keeps
//! each conversation's messages in order, never POSTs twice a message Apple accepted, and
//! publishes one delivery result per outcome on `amb.events.delivery`.
//!
//! It must not decide what to say or to whom: producers (bot, agents, notifications) do.

mod attachments;
mod backoff;
mod breaker;
mod delivery;
mod gate;
mod handler;
mod rate;
mod service;

pub use handler::PARTS_FIELD;
pub use service::{Outbound, OutboundParts, consumer_spec, run};
