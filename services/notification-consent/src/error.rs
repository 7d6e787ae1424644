//! The notification-consent service's errors.

/// What can go wrong in the notification-consent service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policies file is unreadable or invalid.
    #[error("policies file {file}: {problem}")]
    Policy {
        /// The file.
        file: String,
        /// What is wrong, naming the entry and the field.
        problem: String,
    },
    /// The bus refused to set up the consumer or to publish.
    #[error("bus: {0}")]
    Bus(#[from] parley_bus::Error),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] parley_state::Error),
    /// The HTTP listener could not be bound or failed.
    #[error("notification API on {listen}: {problem}")]
    Listen {
        /// The address.
        listen: std::net::SocketAddr,
        /// What failed.
        problem: String,
    },
    /// Loading the configuration, telemetry or the backends failed, or the service did.
    #[error("{0}")]
    Runtime(#[from] parley_runtime::Error),
    /// The consumer stopped with an error.
    #[error("consumer: {0}")]
    Run(String),
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
