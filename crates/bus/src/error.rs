/// A bus failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Connecting to NATS failed.
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A stream or consumer could not be created or updated.
    #[error("cannot set up {what}: {reason}")]
    Topology {
        /// Which stream or consumer.
        what: String,
        /// Why.
        reason: String,
    },
    /// A publish was not acknowledged as stored. The event may or may not be stored;
    /// republishing with the same id is safe.
    #[error("publish to {subject} not confirmed: {reason}")]
    Publish {
        /// The subject.
        subject: String,
        /// Why.
        reason: String,
    },
    /// No stream takes this subject.
    #[error("no stream takes subject {0}")]
    NoStream(String),
    /// Fetching deliveries failed.
    #[error("cannot fetch from consumer {consumer}: {reason}")]
    Fetch {
        /// The durable consumer.
        consumer: String,
        /// Why.
        reason: String,
    },
    /// The consumer is not defined.
    #[error("consumer {0} does not exist")]
    NoConsumer(String),
    /// An acknowledgement could not be sent (the delivery will be redelivered).
    #[error("cannot acknowledge: {0}")]
    Ack(String),
    /// A stream's stored messages could not be read.
    #[error("cannot read stream {stream}: {reason}")]
    Read {
        /// The stream.
        stream: String,
        /// Why.
        reason: String,
    },
    /// The backend is not healthy.
    #[error("bus unhealthy: {0}")]
    Unhealthy(String),
    /// A header name or value is not allowed.
    #[error("invalid header {name}: {reason}")]
    Header {
        /// The header.
        name: String,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// Whether trying again later may succeed (everything but a programming or
    /// configuration error).
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            Error::NoStream(_) | Error::NoConsumer(_) | Error::Header { .. }
        )
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
