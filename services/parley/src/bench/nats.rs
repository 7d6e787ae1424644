//! The bench's private nats-server, with its monitoring endpoint on (`-m <port>`), so that
//! the NATS messages of a phase can be read from `/varz`. The test kit's `NatsServer` starts
//! the server without one; this is the same command line (`-js`, loopback, a private store
//! directory, a random server name the readiness probe checks) plus `-m`.
//!
//! Unlike the test kit's, no watchdog outlives this process: the server is killed and its
//! directory removed on drop, so a bench killed with SIGKILL leaves it running.

use std::{
    fs::File,
    net::{Ipv4Addr, TcpListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde::Deserialize;

use crate::{Error, Result, bench::traffic};

/// How long the server may take to answer on both ports.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Ports tried when the server exits early (a port taken between the choice and the bind).
const START_ATTEMPTS: usize = 3;

/// A running nats-server with JetStream and monitoring.
#[derive(Debug)]
pub(crate) struct MonitoredNats {
    child: Child,
    dir: PathBuf,
    port: u16,
    monitor_port: u16,
}

/// What the readiness probe reads from `/varz`: that the server is ours.
#[derive(Debug, Deserialize)]
struct Identity {
    server_name: String,
    port: u16,
}

fn failed(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Bench(format!("nats-server: {what}: {error}"))
}

/// Two ports that were free a moment ago.
fn free_ports() -> Result<(u16, u16)> {
    let bind = || {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr().map(|a| (l, a.port())))
            .map_err(|e| failed("free port", e))
    };
    // Both listeners are held until both ports are known, so they differ.
    let (_a, a) = bind()?;
    let (_b, b) = bind()?;
    Ok((a, b))
}

impl MonitoredNats {
    /// Starts the server (the binary the test kit finds: `NATS_SERVER_BIN` or `PATH`).
    pub(crate) async fn start() -> Result<Self> {
        let program = parley_testkit::nats_server_binary().map_err(|e| failed("binary", e))?;
        let name = format!("parley-bench-{}", parley_testkit::prefix());
        let dir = std::env::temp_dir().join(&name);
        let http = traffic::http_client()?;
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            let (port, monitor_port) = free_ports()?;
            std::fs::create_dir_all(&dir).map_err(|e| failed(&dir.display().to_string(), e))?;
            let log = dir.join("nats-server.log");
            let out = File::create(&log).map_err(|e| failed(&log.display().to_string(), e))?;
            let err = out.try_clone().map_err(|e| failed("log", e))?;
            let spawned = Command::new(&program)
                .arg("-js")
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .args(["-m", &monitor_port.to_string()])
                .args(["--server_name", &name])
                .arg("-sd")
                .arg(dir.join("store"))
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn();
            let child = match spawned {
                Ok(child) => child,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(failed(&program.display().to_string(), e));
                }
            };
            let mut server = Self {
                child,
                dir: dir.clone(),
                port,
                monitor_port,
            };
            match server.wait_ready(&http, &name).await {
                Ok(()) => return Ok(server),
                Err(reason) => {
                    let tail = std::fs::read_to_string(&log).unwrap_or_default();
                    let tail: Vec<&str> = tail.lines().rev().take(10).collect();
                    last = format!(
                        "{reason}; log: {}",
                        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                    );
                    // Killed, and its directory removed: the next attempt starts afresh.
                    drop(server);
                }
            }
        }
        Err(failed("not ready", last))
    }

    /// Polls `/varz` until it names this server and its client port, and the client port
    /// accepts a connection.
    async fn wait_ready(
        &mut self,
        http: &reqwest::Client,
        name: &str,
    ) -> std::result::Result<(), String> {
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        let mut probe = String::from("no probe yet");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status} (last probe: {probe})"));
            }
            match self.probe(http, name).await {
                Ok(()) => return Ok(()),
                Err(e) => probe = e,
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "no answer within {READY_TIMEOUT:?} (last probe: {probe})"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn probe(&self, http: &reqwest::Client, name: &str) -> std::result::Result<(), String> {
        let text = traffic::varz_text(http, &self.monitor_url())
            .await
            .map_err(|e| e.to_string())?;
        let identity: Identity = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        if identity.server_name != name || identity.port != self.port {
            return Err(format!(
                "another server answers: {} on port {}",
                identity.server_name, identity.port
            ));
        }
        tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
            .await
            .map(drop)
            .map_err(|e| format!("client port: {e}"))
    }

    /// `nats://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<monitor port>`.
    pub(crate) fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for MonitoredNats {
    fn drop(&mut self) {
        self.stop();
    }
}
