/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The backend did not answer or refused the operation. Retryable: Redis may be
    /// restarting or failing over.
    #[error("store unavailable during {operation}: {reason}")]
    Unavailable {
        /// What was being done.
        operation: &'static str,
        /// Why.
        reason: String,
    },
    /// The backend answered something this crate did not expect (a bug or a foreign key).
    #[error("unexpected store reply during {operation}: {reason}")]
    Protocol {
        /// What was being done.
        operation: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The store could not be configured.
    #[error("invalid store configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
