//! The backend trait both implementations fulfil.

use std::time::Duration;

use async_trait::async_trait;

use crate::{ConsumerSpec, Delivery, Headers, Outgoing, Result, Topology};

/// What a stored publish reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The stream that stored it.
    pub stream: String,
    /// Its sequence in that stream.
    pub sequence: u64,
    /// True when the stream had already stored this `Nats-Msg-Id` (nothing new was stored).
    pub duplicate: bool,
}

/// One message as a stream stores it (read by operators' tools, not consumed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Its sequence in the stream.
    pub sequence: u64,
    /// The subject it was published on.
    pub subject: String,
    /// Its headers.
    pub headers: Headers,
    /// Its payload.
    pub payload: bytes::Bytes,
}

/// An event bus: JetStream or embedded.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Creates or updates streams and consumers. Idempotent; safe to call from every replica
    /// at start-up.
    async fn ensure(&self, topology: &Topology) -> Result<()>;

    /// Publishes one event and returns once the stream has stored it (or reports it a
    /// duplicate). An error means "not confirmed": republishing with the same id is safe.
    async fn publish(&self, message: Outgoing) -> Result<Published>;

    /// Opens a durable consumer that [`Bus::ensure`] created.
    async fn subscribe(&self, consumer: &ConsumerSpec) -> Result<Box<dyn Subscription>>;

    /// Checks the backend answers (for `/readyz`).
    async fn health(&self) -> Result<()>;

    /// Waits until acknowledgements sent so far have left the process.
    async fn flush(&self) -> Result<()>;

    /// Up to `max` messages the stream `stream` still stores, from stream sequence `from`
    /// on, in order (deleted sequences are passed over). For operators' tools such as the
    /// dead-letter commands; consumers use [`Bus::subscribe`].
    async fn read_stream(&self, stream: &str, from: u64, max: usize) -> Result<Vec<StoredMessage>>;
}

/// An open durable pull consumer.
#[async_trait]
pub trait Subscription: Send + Sync {
    /// Up to `max` deliveries, waiting at most `wait` for the first one. An empty result
    /// means none arrived in time.
    async fn fetch(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>>;

    /// Stops receiving and gives back at once what arrived and was not fetched (a backend
    /// that asks its server ahead of `fetch`). Fetching after it fails.
    async fn close(&self) {}

    /// The durable name.
    fn durable(&self) -> &str;
}

/// Counts a stored publish (`parley_bus_published_total{stream, duplicate}`).
pub(crate) fn record_published(published: &Published) {
    metrics::counter!(
        "parley_bus_published_total",
        "stream" => published.stream.clone(),
        "duplicate" => if published.duplicate { "true" } else { "false" },
    )
    .increment(1);
}
