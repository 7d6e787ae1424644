//! The bot's errors.

/// What can go wrong loading the bot's knowledge or running it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A knowledge file is invalid; the message names the file and the bad entry.
    #[error("knowledge file {file}: {problem}")]
    Knowledge {
        /// The file's name.
        file: String,
        /// What is wrong, naming the entry (`intent "hours": answer has no text fallback`).
        problem: String,
    },
    /// A knowledge file or directory could not be read.
    #[error("knowledge {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The bus refused to create the bot's consumer.
    #[error("bot consumer: {0}")]
    Bus(#[from] parley_bus::Error),
    /// The consumer stopped with an error.
    #[error("bot: {0}")]
    Run(String),
}

/// The bot's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
