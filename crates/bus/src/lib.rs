//! The event bus: subjects, streams and consumers defined in code, publishing with a
//! deterministic `Nats-Msg-Id` and trace context, durable pull consumption with explicit
//! acknowledgement, dead letters, and a consume loop with bounded concurrency,
//! per-conversation ordering within a process and graceful draining.
//!
//! Two backends implement [`Bus`]: NATS JetStream ([`JetStreamBus`]) for deployments and an
//! in-process one ([`EmbeddedBus`]) for `parley up` and unit tests. One contract test suite
//! runs against both.
//!
//! This crate moves bytes: it must not decode payloads or hold business logic. Services give
//! it encoded protobuf events and a [`Handler`].

mod backend;
mod consume;
pub mod dead_letters;
mod delivery;
mod embedded;
mod error;
mod headers;
mod jetstream;
mod subject;
mod topology;

pub use backend::{Bus, Published, StoredMessage, Subscription};
pub use consume::{ConsumeOptions, ConsumeReport, Handler, Outcome, run_consumer};
pub use delivery::{Acker, Delivery};
pub use embedded::EmbeddedBus;
pub use error::{Error, Result};
pub use headers::{Headers, Outgoing, header};
pub use jetstream::{JetStreamBus, JetStreamOptions};
pub use subject::subject_matches;
pub use topology::{BusSettings, ConsumerSpec, Namespace, StreamKind, StreamSpec, Topology};
