//! One delivery of a stored message to a consumer, and how it is settled.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{Headers, Result, header};

/// Settles a delivery with the backend. Implemented by each backend.
#[async_trait]
pub trait Acker: Send + Sync {
    /// Done: never deliver again.
    async fn ack(&self) -> Result<()>;
    /// Not now: deliver again after `delay`.
    async fn nak(&self, delay: Duration) -> Result<()>;
    /// Still working: restart the ack-wait clock.
    async fn progress(&self) -> Result<()>;
    /// Never deliver again, without success (after it was dead-lettered).
    async fn term(&self) -> Result<()>;
}

/// A message handed to a consumer.
pub struct Delivery {
    /// The subject it was published on.
    pub subject: String,
    /// Its headers.
    pub headers: Headers,
    /// The encoded event.
    pub payload: Bytes,
    /// Which delivery this is, starting at 1.
    pub attempt: u32,
    /// Its sequence in the stream.
    pub stream_sequence: u64,
    acker: Box<dyn Acker>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("subject", &self.subject)
            .field("msg_id", &self.msg_id())
            .field("attempt", &self.attempt)
            .field("stream_sequence", &self.stream_sequence)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

impl Delivery {
    /// Builds a delivery (used by backends).
    pub fn new(
        subject: String,
        headers: Headers,
        payload: Bytes,
        attempt: u32,
        stream_sequence: u64,
        acker: Box<dyn Acker>,
    ) -> Self {
        Self {
            subject,
            headers,
            payload,
            attempt,
            stream_sequence,
            acker,
        }
    }

    /// The event id (`Nats-Msg-Id`), if the publisher set one.
    pub fn msg_id(&self) -> Option<&str> {
        self.headers.get(header::MSG_ID)
    }

    /// The payload's protobuf type name.
    pub fn event_type(&self) -> Option<&str> {
        self.headers.get(header::EVENT_TYPE)
    }

    /// The ordering key the publisher set, if any.
    pub fn ordering_key(&self) -> Option<u64> {
        self.headers
            .get(header::ORDERING_KEY)
            .and_then(|v| u64::from_str_radix(v, 16).ok())
    }

    /// Acknowledges.
    pub async fn ack(&self) -> Result<()> {
        self.acker.ack().await
    }

    /// Asks for redelivery after `delay`.
    pub async fn nak(&self, delay: Duration) -> Result<()> {
        self.acker.nak(delay).await
    }

    /// Restarts the ack-wait clock.
    pub async fn progress(&self) -> Result<()> {
        self.acker.progress().await
    }

    /// Stops redelivery.
    pub async fn term(&self) -> Result<()> {
        self.acker.term().await
    }
}
