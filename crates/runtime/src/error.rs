/// A start-up failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is missing, malformed or out of range; the message names it.
    #[error("invalid setting `{setting}`: {reason}")]
    Setting {
        /// The setting's path, e.g. `nats.url`.
        setting: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// The configuration could not be read or parsed.
    #[error("configuration: {0}")]
    Load(String),
    /// The admin server could not start or failed.
    #[error("admin server: {0}")]
    Admin(String),
}

impl Error {
    pub(crate) fn setting(setting: &str, reason: impl Into<String>) -> Self {
        Self::Setting {
            setting: setting.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
