//! A private `redis-server` for one test (or one test binary).

use crate::{
    Result,
    server::{Flavor, Server},
};

/// A `redis-server` process listening on `127.0.0.1` and a free port, without persistence
/// (`--save '' --appendonly no`), its working directory a fresh temporary directory.
///
/// Dropping it kills the process (SIGKILL), reaps it and removes the directory. If it is never
/// dropped (a `static`, or the test process is killed), the server and its directory go when
/// the test process exits.
///
/// Fault tests use [`kill`](Self::kill) and [`restart`](Self::restart): the restarted server
/// listens on the same port, empty.
///
/// All methods block the calling thread (at most 10 s while waiting for readiness); in an async
/// test, call them before the work under test starts or via `spawn_blocking`.
#[derive(Debug)]
pub struct RedisServer {
    server: Server,
}

impl RedisServer {
    /// Starts `redis-server --port <p> --bind 127.0.0.1 --save '' --appendonly no --dir <tmp>`
    /// on a free port and waits (at most 10 s) until it answers `PING` with `+PONG`.
    ///
    /// The binary comes from [`redis_server_binary`](crate::redis_server_binary); if it is
    /// missing the error says how to install it. If the server exits at once (its port was
    /// taken meanwhile), up to 3 ports are tried. Errors include the last lines of its log.
    pub fn start() -> Result<Self> {
        Ok(Self {
            server: Server::start(Flavor::Redis { durable: false })?,
        })
    }

    /// Like [`start`](Self::start), but with an append-only file synced on every write
    /// (`--appendonly yes --appendfsync always`): a [`kill`](Self::kill) loses nothing the
    /// server answered, and a [`restart`](Self::restart) loads it back, as a production
    /// Redis configured for durability would.
    pub fn start_durable() -> Result<Self> {
        Ok(Self {
            server: Server::start(Flavor::Redis { durable: true })?,
        })
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.server.port())
    }

    /// The TCP port clients connect to; it stays the same across [`restart`](Self::restart).
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The server process's id while it runs (for reading its CPU time in `/proc`).
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    /// Kills the server with SIGKILL and reaps it. Calling it on a server that is not running
    /// does nothing.
    pub fn kill(&mut self) -> Result<()> {
        self.server.kill()
    }

    /// Starts the server again on the same port (killing it first if it still runs) and waits
    /// until it answers `PING` (at most 10 s). Its data is gone unless it was started with
    /// [`start_durable`](Self::start_durable).
    pub fn restart(&mut self) -> Result<()> {
        self.server.restart()
    }

    /// Whether the process is alive (it has not been killed and has not exited).
    pub fn is_running(&mut self) -> bool {
        self.server.is_running()
    }
}
