//! Parley's domain newtypes: the identifiers every service passes around.
//!
//! This crate owns the rules for what a valid business id, opaque id, conversation key,
//! event id, sequence and partition are, and how a conversation maps onto a partition.
//! Every constructor validates its input, so a value of these types can be put in a NATS
//! subject or inside a Redis hash tag without escaping.
//!
//! It must not do I/O, depend on a backend or know about protobuf: it is the bottom of the
//! dependency graph.

mod error;
mod event_id;
mod fold;
mod ids;
mod partition;
mod sequence;
mod token;

pub use error::{Error, Result};
pub use event_id::EventId;
pub use fold::fold;
pub use ids::{BusinessId, ConversationKey, OpaqueId};
pub use partition::{Partition, PartitionCount};
pub use sequence::Sequence;
pub use token::TokenDigest;
