//! Telemetry for every Parley process: the tracing subscriber, OTLP trace export, W3C trace
//! context carried over NATS headers and gRPC metadata, Prometheus metrics, and the helpers
//! that keep personal data out of logs and spans.
//!
//! It owns how spans and metrics leave a process. It must not read environment variables
//! (the binary passes a [`TelemetryConfig`]) and must not know about services or backends
//! beyond the carriers it propagates context through.

mod error;
mod init;
mod metrics_export;
mod propagation;
mod redact;

pub use error::{Error, Result};
pub use init::{LogFormat, TelemetryConfig, TelemetryGuard, init};
pub use metrics_export::{MetricsHandle, metrics_handle};
pub use propagation::{
    MetadataExtractor, MetadataInjector, NatsHeaderExtractor, NatsHeaderInjector, extract_context,
    inject_context, set_parent_from,
};
pub use redact::redact;
