//! The crate's error.

/// Why a `parley` command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration could not be loaded or is wrong (the message names the setting).
    #[error(transparent)]
    Runtime(#[from] parley_runtime::Error),
    /// A service failed to start or stopped with an error.
    #[error("{service}: {reason}")]
    Service {
        /// The service.
        service: &'static str,
        /// Why.
        reason: String,
    },
    /// A file given on the command line (or a demo file) could not be used.
    #[error("{0}")]
    Input(String),
    /// The benchmark could not run or its counts were wrong.
    #[error("bench: {0}")]
    Bench(String),
}

impl Error {
    /// A service's failure.
    pub fn service(service: &'static str, reason: impl Into<String>) -> Self {
        Self::Service {
            service,
            reason: reason.into(),
        }
    }
}

/// The crate's result.
pub type Result<T> = std::result::Result<T, Error>;
