//! Dev-only test infrastructure for the Parley workspace.
//!
//! # What it owns
//!
//! * [`NatsServer`] and [`RedisServer`]: private `nats-server -js` and `redis-server` processes
//!   on free `127.0.0.1` ports, each with its own temporary directory (JetStream store, log
//!   file). Fault tests can [`kill`](NatsServer::kill) them (SIGKILL) and
//!   [`restart`](NatsServer::restart) them on the same port; JetStream data survives a restart.
//!   Dropping a server kills and reaps the process and removes its directory; a server that is
//!   never dropped (kept in a `static`, or its test process killed) is killed and cleaned up by
//!   a small `/bin/sh` watchdog when the test process exits.
//! * [`prefix`]: a random name prefix per test for NATS subjects, stream and consumer names and
//!   Redis keys, so that one server pair can serve a whole test binary without crosstalk.
//! * [`init_tracing`]: `tracing` output through the test writer, filtered by `RUST_LOG`.
//! * [`nats_server_binary`] and [`redis_server_binary`]: where the server binaries come from
//!   (`NATS_SERVER_BIN` / `REDIS_SERVER_BIN`, else `PATH`; `nats-server` must be >= 2.10).
//!   `scripts/test` installs missing binaries and sets `NATS_SERVER_BIN`.
//!
//! # What it must not do
//!
//! It is never used by production code: depend on it only from `[dev-dependencies]`. It reads
//! environment variables, spawns and kills processes and blocks the calling thread for up to
//! 10 s while a server starts, none of which belongs in a service.
//!
//! # Example
//!
//! ```no_run
//! # fn main() -> Result<(), parley_testkit::Error> {
//! parley_testkit::init_tracing();
//! let mut nats = parley_testkit::NatsServer::start()?;
//! let redis = parley_testkit::RedisServer::start()?;
//! let prefix = parley_testkit::prefix(); // e.g. "t3k9x0a8b1c2"
//! let subject = format!("{prefix}.conv.events.>");
//! let stream = format!("{}_CONVERSATION_EVENTS", prefix.to_uppercase());
//! let key = format!("{prefix}:conv:{{c1}}:state");
//! // … connect to nats.url() and redis.url(), run the code under test …
//! nats.kill()?; // fault injection
//! nats.restart()?; // same port, same JetStream store
//! # let _ = (subject, stream, key, redis);
//! # Ok(())
//! # }
//! ```

mod binary;
mod browser;
mod error;
mod nats;
mod otlp;
mod port;
mod redis;
mod server;
#[cfg(test)]
mod test_support;

use rand::Rng as _;

pub use crate::{
    binary::{nats_server_binary, redis_server_binary},
    browser::{Browser, Chromedriver, Element, KEY_DOWN, KEY_ENTER, KEY_SPACE, KEY_TAB},
    error::{Error, Result},
    nats::NatsServer,
    otlp::{OtlpReceiver, ReceivedSpan},
    port::free_port,
    redis::RedisServer,
};

/// Length of a [`prefix`].
const PREFIX_LEN: usize = 12;

/// A random prefix: one lowercase ASCII letter followed by 11 characters from `[a-z0-9]`, e.g.
/// `t3k9x0a8b1c2`.
///
/// It is valid as (part of) a NATS subject token, a JetStream stream or consumer name and a
/// Redis key, and distinct per call (62 bits of randomness). Use one per test to isolate the
/// test's subjects, streams, consumers and keys from every other test sharing the servers.
pub fn prefix() -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    const ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let mut out = String::with_capacity(PREFIX_LEN);
    out.push(char::from(LETTERS[rng.random_range(0..LETTERS.len())]));
    for _ in 1..PREFIX_LEN {
        out.push(char::from(
            ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())],
        ));
    }
    out
}

/// Installs a `tracing_subscriber` fmt subscriber that writes through the test harness's
/// captured output, filtered by `RUST_LOG` (default `warn`).
///
/// Idempotent: call it at the top of every test. If a global subscriber is already set (by an
/// earlier call or by anyone else), this does nothing.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // An error only means a global subscriber is already installed, which is fine.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(filter)
        .try_init();
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn prefix_has_the_documented_format() {
        for _ in 0..1000 {
            let p = prefix();
            assert_eq!(p.len(), PREFIX_LEN, "{p}");
            let mut chars = p.chars();
            assert!(chars.next().is_some_and(|c| c.is_ascii_lowercase()), "{p}");
            assert!(
                chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{p}"
            );
        }
    }

    #[test]
    fn prefixes_are_distinct() {
        let n = 10_000;
        let set: HashSet<String> = (0..n).map(|_| prefix()).collect();
        assert_eq!(set.len(), n);
    }

    #[test]
    fn init_tracing_is_idempotent() {
        init_tracing();
        init_tracing();
        tracing::warn!("init_tracing works twice");
    }
}
