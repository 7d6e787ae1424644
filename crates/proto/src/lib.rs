//! Parley's public protobuf contract, compiled to Rust.
//!
//! This crate owns:
//! - the Rust code generated from `proto/parley/v1/*.proto` (package `parley.v1`): every event
//!   that travels on the NATS JetStream bus (`amb.inbound`, `amb.routing`, `amb.bot`,
//!   `amb.agent`, `amb.outbound`, `amb.events.*`, `amb.deadletter.*`) and, as they are added,
//!   the gRPC services (client stubs behind the `client` feature, server stubs behind the
//!   `server` feature);
//! - [`FILE_DESCRIPTOR_SET`], the encoded descriptor set of those files (with their comments),
//!   for gRPC reflection and for tools that decode events dynamically;
//! - the [`Event`] trait, which names each top-level event's type (the `Parley-Event-Type` NATS
//!   header) and exposes its [`v1::EventMeta`].
//!
//! It must not contain logic or I/O: no subjects or stream definitions (`parley-bus`), no domain
//! validation or newtypes (`parley-types`), no conversions that need either. The `.proto` files
//! are the source of truth; the code is generated at build time by `protox` and
//! `tonic-prost-build`, with no system `protoc`.

/// Generated code of package `parley.v1`, the public contract (see `proto/parley/v1/`).
#[allow(
    missing_docs,
    unreachable_pub,
    clippy::all,
    clippy::pedantic,
    clippy::nursery,
    rustdoc::all
)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/parley.v1.rs"));
}

/// The encoded `google.protobuf.FileDescriptorSet` of every `.proto` file of the contract, and
/// of the well-known types they import, with source info (comments) kept.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/parley_descriptor.bin"));

/// A top-level event of the contract: a message published as one NATS payload, carrying its
/// [`v1::EventMeta`] in field 1.
pub trait Event: prost::Message + Default + Clone + PartialEq + Send + Sync + 'static {
    /// The fully-qualified protobuf name of the message, for example
    /// `parley.v1.InboundMessage`: the value of the `Parley-Event-Type` NATS header.
    const TYPE: &'static str;

    /// The event's metadata, `None` when the producer did not set it (a contract violation).
    fn meta(&self) -> Option<&v1::EventMeta>;
}

/// Implements [`Event`] for top-level event messages of `parley.v1` and lists them in
/// [`EVENT_TYPES`].
macro_rules! events {
    ($($name:ident),+ $(,)?) => {
        $(
            impl Event for v1::$name {
                const TYPE: &'static str = concat!("parley.v1.", stringify!($name));

                fn meta(&self) -> Option<&v1::EventMeta> {
                    self.meta.as_ref()
                }
            }
        )+

        /// The [`Event::TYPE`] of every top-level event of the contract.
        pub const EVENT_TYPES: &[&str] = &[$(<v1::$name as Event>::TYPE),+];
    };
}

events!(
    InboundMessage,
    RoutingCommand,
    BotTask,
    AgentTask,
    OutboundMessage,
    DeliveryResult,
    ConversationEvent,
    ConsentEvent,
    DeadLetter,
    OrderingNotice,
);
