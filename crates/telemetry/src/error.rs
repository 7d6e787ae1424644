/// A telemetry set-up failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The OTLP exporter could not be built.
    #[error("cannot build the OTLP exporter for {endpoint}: {reason}")]
    Exporter {
        /// The configured endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// The log filter did not parse.
    #[error("log filter {filter:?} is invalid: {reason}")]
    Filter {
        /// The filter given.
        filter: String,
        /// Why.
        reason: String,
    },
    /// A global subscriber was already installed.
    #[error("a tracing subscriber is already installed")]
    AlreadyInstalled,
    /// The Prometheus recorder could not be installed.
    #[error("cannot install the Prometheus recorder: {0}")]
    Metrics(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
