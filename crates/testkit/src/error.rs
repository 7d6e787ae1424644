//! The test kit's error type.

use std::{fmt, io, path::PathBuf, time::Duration};

/// Everything that can go wrong while finding, starting, stopping or probing a test server.
///
/// Messages are written for the person reading a failed test: they name the binary, what was
/// tried and how to fix the environment. `Debug` prints the same message (tests mostly
/// `unwrap()`), so the install advice and the server's log lines stay readable.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation of the test kit itself failed (temp dir, log file, spawn, wait, kill).
    #[error("{context}: {source}")]
    Io {
        /// What the test kit was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Only `nats-server` binaries older than the required 2.10 were found.
    #[error(
        "nats-server {version} at {path} is too old (need >= 2.10; searched: {searched}); \
         install a current one: {advice}"
    )]
    NatsServerTooOld {
        /// The first too-old binary that was found.
        path: PathBuf,
        /// The version it reported, e.g. `2.9.10`.
        version: String,
        /// Every candidate that was looked at, with what was wrong with it.
        searched: String,
        /// How to install a usable binary.
        advice: &'static str,
    },

    /// No usable binary was found.
    #[error("{binary} not found ({searched}); install it: {advice}")]
    NotFound {
        /// The binary's name, e.g. `nats-server`.
        binary: &'static str,
        /// Where it was looked for and why each candidate was rejected.
        searched: String,
        /// How to install it.
        advice: &'static str,
    },

    /// The browser or its driver refused a command.
    #[error("browser: {0}")]
    Browser(String),

    /// Something a test waited for did not happen in time.
    #[error("{what} did not happen within {within:?}: {detail}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The bound.
        within: Duration,
        /// What was seen instead.
        detail: String,
    },

    /// The server process did not become ready: it exited, or did not answer in time.
    #[error(
        "{server} on 127.0.0.1:{port} did not become ready within {timeout:?}: {reason}\n\
         --- last lines of its log ---\n{log_tail}"
    )]
    NotReady {
        /// The binary's name, e.g. `redis-server`.
        server: &'static str,
        /// The port of the last attempt.
        port: u16,
        /// The readiness bound.
        timeout: Duration,
        /// Why it is not ready (exit status, last probe error).
        reason: String,
        /// The last lines the server wrote to stdout/stderr.
        log_tail: String,
    },

    /// `<binary> --version` could not be run or its output not understood.
    #[error("cannot determine the version of {path}: {detail}")]
    UnknownVersion {
        /// The binary.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// `Result` with the test kit's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
