//! Ingest: Apple's `POST /message` webhook, Parley's front door.
//!
//! It owns webhook authentication (Apple's JWT), body decoding and validation, de-duplication
//! by Apple's message id, the per-conversation sequence, downloading and decrypting
//! attachments and large interactive replies into the blob store, and publishing exactly one
//! `parley.v1.InboundMessage` per Apple message on `amb.inbound.<partition>`.
//!
//! It answers Apple 200 only once the event is stored in JetStream (503 otherwise, never a
//! 200 for something it could lose) and never a 5xx for bad input. It must not decide who
//! answers a message: that is routing's job.

mod attachments;
mod error;
mod service;
mod webhook;

pub use error::IngestError;
pub use service::{Ingest, IngestParts, run};
