//! A private `nats-server -js` for one test (or one test binary).

use crate::{
    Result,
    server::{Flavor, Server},
};

/// A `nats-server -js` process listening on `127.0.0.1` and a free port, with JetStream storing
/// into a fresh temporary directory.
///
/// Dropping it kills the process (SIGKILL), reaps it and removes the directory. If it is never
/// dropped (a `static`, or the test process is killed), the server and its directory go when
/// the test process exits.
///
/// Fault tests use [`kill`](Self::kill) and [`restart`](Self::restart): the restarted server
/// listens on the same port and reuses the same store, so streams, consumers and messages
/// survive.
///
/// All methods block the calling thread (at most 10 s while waiting for readiness); in an async
/// test, call them before the work under test starts or via `spawn_blocking`.
#[derive(Debug)]
pub struct NatsServer {
    server: Server,
}

impl NatsServer {
    /// Starts `nats-server -js` on `127.0.0.1` and a free port with its store in a fresh temp
    /// dir, and waits (at most 10 s) until it accepts TCP connections and sends its `INFO` line.
    ///
    /// The binary comes from [`nats_server_binary`](crate::nats_server_binary); if it is
    /// missing or older than 2.10 the error says how to install a current one. If the server
    /// exits at once (its port was taken meanwhile), up to 3 ports are tried. Errors include
    /// the last lines of the server's log.
    pub fn start() -> Result<Self> {
        Ok(Self {
            server: Server::start(Flavor::Nats)?,
        })
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.server.port())
    }

    /// The TCP port clients connect to; it stays the same across [`restart`](Self::restart).
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The server process's id while it runs (for reading its CPU time in `/proc`).
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    /// Kills the server with SIGKILL (no graceful shutdown) and reaps it. Calling it on a
    /// server that is not running does nothing.
    pub fn kill(&mut self) -> Result<()> {
        self.server.kill()
    }

    /// Starts the server again on the same port with the same JetStream store directory (killing
    /// it first if it still runs), and waits until it is ready (at most 10 s).
    pub fn restart(&mut self) -> Result<()> {
        self.server.restart()
    }

    /// Whether the process is alive (it has not been killed and has not exited).
    pub fn is_running(&mut self) -> bool {
        self.server.is_running()
    }
}
