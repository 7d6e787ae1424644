//! Private server processes: spawn on a free loopback port, wait until ready, SIGKILL, restart.

use std::{
    fs::{File, OpenOptions},
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::{Ipv4Addr, SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use tempfile::TempDir;

use crate::{Error, Result, binary};

/// Bound for a server to become ready, over all attempts of one `start`/`restart`.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How many ports `start` tries when the server exits early (e.g. the port was taken).
const START_ATTEMPTS: u32 = 3;
/// Pause between readiness probes. There is no event to wait for: a process offers no
/// notification when it starts listening, so readiness is polled, within [`READY_TIMEOUT`].
const PROBE_INTERVAL: Duration = Duration::from_millis(20);
/// Bound for one TCP connect / read / write of a readiness probe.
const PROBE_IO_TIMEOUT: Duration = Duration::from_millis(1000);
/// How many log lines an error shows.
const LOG_TAIL_LINES: usize = 30;

/// Which server a [`Server`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `nats-server -js`.
    Nats,
    /// `redis-server`; `durable`: with an append-only file synced on every write
    /// (`--appendonly yes --appendfsync always`), so a SIGKILL loses nothing it answered.
    Redis { durable: bool },
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Self::Nats => "nats-server",
            Self::Redis { .. } => "redis-server",
        }
    }

    fn binary(self) -> Result<PathBuf> {
        match self {
            Self::Nats => binary::nats_server_binary(),
            Self::Redis { .. } => binary::redis_server_binary(),
        }
    }

    /// Command-line arguments. `identity` is the NATS server name (see [`Server::identity`]).
    fn args(self, port: u16, dir: &Path, identity: &str) -> Vec<std::ffi::OsString> {
        let port = port.to_string();
        match self {
            Self::Nats => vec![
                "-js".into(),
                "-a".into(),
                "127.0.0.1".into(),
                "-p".into(),
                port.into(),
                "--server_name".into(),
                identity.into(),
                "-sd".into(),
                dir.join("store").into_os_string(),
            ],
            Self::Redis { durable } => {
                let mut args: Vec<std::ffi::OsString> = vec![
                    "--port".into(),
                    port.into(),
                    "--bind".into(),
                    "127.0.0.1".into(),
                    "--save".into(),
                    "".into(),
                    "--dir".into(),
                    dir.as_os_str().to_owned(),
                ];
                if durable {
                    args.extend(["--appendonly", "yes", "--appendfsync", "always"].map(Into::into));
                } else {
                    args.extend(["--appendonly", "no"].map(Into::into));
                }
                args
            }
        }
    }

    /// One readiness probe: `Ok(())` when the server on `port` answers and is the one we
    /// started (`identity`), not another test's server that won a race for the same port.
    /// Each connect, read and write is bounded by `io_timeout` (non-zero).
    fn probe(self, port: u16, identity: &str, io_timeout: Duration) -> std::io::Result<()> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = TcpStream::connect_timeout(&addr, io_timeout)?;
        stream.set_read_timeout(Some(io_timeout))?;
        stream.set_write_timeout(Some(io_timeout))?;
        let mut writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        match self {
            Self::Nats => {
                // The server greets every client with `INFO {json}\r\n`, which names it.
                let info = read_line(&mut reader)?;
                expect(info.starts_with("INFO "), "an INFO line", &info)?;
                let name = format!("\"server_name\":\"{identity}\"");
                expect(info.contains(&name), "our server_name", &info)
            }
            Self::Redis { .. } => {
                writer.write_all(b"*1\r\n$4\r\nPING\r\n")?;
                let pong = read_line(&mut reader)?;
                expect(pong == "+PONG", "+PONG", &pong)?;
                // Reply: *2, $3, dir, $<len>, <dir>.
                writer.write_all(b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$3\r\ndir\r\n")?;
                let mut dir = String::new();
                for _ in 0..5 {
                    dir = read_line(&mut reader)?;
                }
                expect(dir == identity, "our --dir", &dir)
            }
        }
    }
}

/// One line without its `\r\n`, at most 64 KiB.
fn read_line(reader: &mut BufReader<TcpStream>) -> std::io::Result<String> {
    let mut line = Vec::new();
    reader.take(64 * 1024).read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_owned())
}

fn expect(ok: bool, expected: &str, got: &str) -> std::io::Result<()> {
    if ok {
        Ok(())
    } else {
        let got: String = got.chars().take(200).collect();
        Err(std::io::Error::other(format!(
            "expected {expected}, got {got:?}"
        )))
    }
}

/// A server process owned by a test: its temp dir (store, log) lives as long as this value.
#[derive(Debug)]
pub(crate) struct Server {
    flavor: Flavor,
    program: PathBuf,
    port: u16,
    /// What the readiness probe checks the server is ours by: the NATS server name (random per
    /// [`Server`], kept across restarts) or the Redis working directory (our temp dir).
    identity: String,
    child: Option<Running>,
    log_path: PathBuf,
    // Declared last: removed after the child is gone (see `Drop`).
    dir: TempDir,
}

/// A spawned server and its watchdog.
#[derive(Debug)]
struct Running {
    server: Child,
    watchdog: Watchdog,
}

impl Running {
    /// Disarms the watchdog, then SIGKILLs and reaps the server. The order matters: once the
    /// server is reaped its pid may be reused, and the watchdog must not kill that process.
    fn kill(mut self, name: &str) -> Result<()> {
        self.watchdog.disarm();
        self.server
            .kill()
            .map_err(|e| Error::io(format!("cannot kill {name}"), e))?;
        self.server
            .wait()
            .map_err(|e| Error::io(format!("cannot reap {name}"), e))?;
        Ok(())
    }
}

/// A `/bin/sh` process that SIGKILLs the server and removes its directory when this process
/// dies without dropping the server (a server kept in a `static`, `mem::forget`, `exit`,
/// SIGKILL): it waits for EOF on a pipe whose write end only this process holds.
#[derive(Debug)]
struct Watchdog {
    child: Child,
}

impl Watchdog {
    const SCRIPT: &str = r#"read -r _ignored; kill -9 "$1" 2>/dev/null; rm -rf -- "$2""#;

    fn spawn(server_pid: u32, dir: &Path) -> Result<Self> {
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(Self::SCRIPT)
            .arg("parley-testkit-watchdog")
            .arg(server_pid.to_string())
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::io("cannot spawn the watchdog (/bin/sh)", e))?;
        Ok(Self { child })
    }

    /// Stops the watchdog without letting it act, and reaps it.
    fn disarm(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why one spawn did not produce a ready server.
enum Attempt {
    /// The process ended before it was ready (e.g. its port was taken): another port may work.
    Exited { status: ExitStatus, probe: String },
    /// Anything else; final.
    Failed(Error),
}

impl Server {
    /// Starts a server on a free port, trying up to [`START_ATTEMPTS`] ports.
    pub(crate) fn start(flavor: Flavor) -> Result<Self> {
        Self::start_with(flavor, flavor.binary()?)
    }

    /// [`start`](Self::start) with an explicit binary.
    fn start_with(flavor: Flavor, program: PathBuf) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("parley-{}-", flavor.name()))
            .tempdir()
            .map_err(|e| Error::io("cannot create a temp dir", e))?;
        let log_path = dir.path().join(format!("{}.log", flavor.name()));
        let identity = match flavor {
            Flavor::Nats => format!("parley-test-{}", crate::prefix()),
            Flavor::Redis { .. } => {
                // Redis reports the directory it has changed into, i.e. the canonical path.
                let canonical = dir
                    .path()
                    .canonicalize()
                    .map_err(|e| Error::io("cannot resolve the temp dir", e))?;
                canonical.to_string_lossy().into_owned()
            }
        };
        let mut server = Self {
            flavor,
            program,
            port: 0,
            identity,
            child: None,
            log_path,
            dir,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last_exit = None;
        for _ in 0..START_ATTEMPTS {
            server.port = crate::free_port()?;
            match server.spawn_until_ready(deadline) {
                Ok(()) => return Ok(server),
                Err(Attempt::Exited { status, probe }) => last_exit = Some((status, probe)),
                Err(Attempt::Failed(error)) => return Err(error),
            }
        }
        Err(server.not_ready(match last_exit {
            Some((status, probe)) => format!(
                "exited with {status} on each of {START_ATTEMPTS} ports (last probe: {probe})"
            ),
            None => "no attempt was made".to_owned(),
        }))
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The server process's id while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|running| running.server.id())
    }

    /// SIGKILL (`Child::kill` on Unix) and reap. Does nothing if the server is not running.
    pub(crate) fn kill(&mut self) -> Result<()> {
        let Some(running) = self.child.take() else {
            return Ok(());
        };
        running.kill(self.flavor.name())
    }

    /// Kills the server if it runs, then starts it again on the same port and directory.
    pub(crate) fn restart(&mut self) -> Result<()> {
        self.kill()?;
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last = String::new();
        // The port was ours a moment ago; an early exit is retried a few times (within the
        // deadline) in case the kernel has not released it yet.
        for _ in 0..START_ATTEMPTS {
            match self.spawn_until_ready(deadline) {
                Ok(()) => return Ok(()),
                Err(Attempt::Exited { status, probe }) => {
                    last = format!("exited with {status} (last probe: {probe})");
                }
                Err(Attempt::Failed(error)) => return Err(error),
            }
            if Instant::now() >= deadline {
                break;
            }
            thread::sleep(PROBE_INTERVAL * 5);
        }
        Err(self.not_ready(format!("restart on the same port failed: {last}")))
    }

    pub(crate) fn is_running(&mut self) -> bool {
        let Some(running) = self.child.as_mut() else {
            return false;
        };
        if let Ok(None) = running.server.try_wait() {
            return true;
        }
        // It exited by itself and is reaped now, so its pid may be reused: retire the watchdog.
        if let Some(running) = self.child.take() {
            let _ = running.kill(self.flavor.name());
        }
        false
    }

    /// Spawns the server on `self.port` and waits until it answers or `deadline` passes.
    fn spawn_until_ready(&mut self, deadline: Instant) -> Result<(), Attempt> {
        let log = self.open_log().map_err(Attempt::Failed)?;
        let log_err = log
            .try_clone()
            .map_err(|e| Attempt::Failed(Error::io("cannot clone the log file handle", e)))?;
        let mut child = Command::new(&self.program)
            .args(self.flavor.args(self.port, self.dir.path(), &self.identity))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| {
                Attempt::Failed(Error::io(
                    format!("cannot spawn {}", self.program.display()),
                    e,
                ))
            })?;
        tracing::debug!(
            server = self.flavor.name(),
            port = self.port,
            pid = child.id(),
            "spawned"
        );
        let watchdog = match Watchdog::spawn(child.id(), self.dir.path()) {
            Ok(watchdog) => watchdog,
            Err(error) => {
                reap(&mut child);
                return Err(Attempt::Failed(error));
            }
        };
        let mut running = Running {
            server: child,
            watchdog,
        };

        let mut probe = String::from("none yet");
        loop {
            match running.server.try_wait() {
                Ok(Some(status)) => {
                    let _ = running.kill(self.flavor.name());
                    return Err(Attempt::Exited { status, probe });
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = running.kill(self.flavor.name());
                    return Err(Attempt::Failed(Error::io(
                        "cannot poll the server process",
                        e,
                    )));
                }
            }
            // Keep the whole wait within the deadline (a timeout of zero is invalid).
            let io_timeout = deadline
                .saturating_duration_since(Instant::now())
                .clamp(Duration::from_millis(1), PROBE_IO_TIMEOUT);
            match self.flavor.probe(self.port, &self.identity, io_timeout) {
                Ok(()) => {
                    self.child = Some(running);
                    return Ok(());
                }
                Err(e) => probe = e.to_string(),
            }
            if Instant::now() >= deadline {
                let _ = running.kill(self.flavor.name());
                return Err(Attempt::Failed(
                    self.not_ready(format!("no answer (last probe: {probe})")),
                ));
            }
            thread::sleep(PROBE_INTERVAL);
        }
    }

    fn open_log(&self) -> Result<File> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| Error::io(format!("cannot open {}", self.log_path.display()), e))?;
        // A marker line separates attempts and restarts in the log.
        let _ = writeln!(
            log,
            "--- parley-testkit: starting {} on port {} ---",
            self.program.display(),
            self.port
        );
        Ok(log)
    }

    fn not_ready(&self, reason: String) -> Error {
        Error::NotReady {
            server: self.flavor.name(),
            port: self.port,
            timeout: READY_TIMEOUT,
            reason,
            log_tail: log_tail(&self.log_path),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Err(error) = self.kill() {
            tracing::warn!(server = self.flavor.name(), %error, "cannot stop test server");
        }
    }
}

fn reap(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The last [`LOG_TAIL_LINES`] lines of the log, or why it cannot be read.
fn log_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(LOG_TAIL_LINES);
            lines[start..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support;

    #[test]
    fn a_server_that_exits_at_once_is_reported_with_its_log() {
        let _guard = test_support::SCRIPTS.lock();
        let tmp = tempfile::tempdir().unwrap();
        let fake = test_support::fake_binary(
            tmp.path(),
            "nats-server",
            "echo \"listen tcp 127.0.0.1:$5: bind: address already in use\" >&2; exit 1",
        );
        let err = Server::start_with(Flavor::Nats, fake).unwrap_err();
        let Error::NotReady {
            server,
            reason,
            log_tail,
            ..
        } = &err
        else {
            panic!("expected NotReady, got {err:?}");
        };
        assert_eq!(*server, "nats-server");
        assert!(reason.contains("on each of 3 ports"), "{reason}");
        assert!(log_tail.contains("address already in use"), "{log_tail}");
        assert_eq!(
            log_tail.matches("address already in use").count(),
            3,
            "one line per attempt: {log_tail}"
        );
        assert!(err.to_string().contains("address already in use"), "{err}");
    }

    /// Another test's server on "our" port must not pass for ours (port races between
    /// `free_port` and the server's bind).
    #[test]
    fn probe_accepts_only_our_own_server() {
        for flavor in [Flavor::Nats, Flavor::Redis { durable: false }] {
            let mut server = Server::start(flavor).unwrap();
            let port = server.port();
            flavor
                .probe(port, &server.identity, PROBE_IO_TIMEOUT)
                .unwrap();
            let err = flavor
                .probe(port, "someone-else", PROBE_IO_TIMEOUT)
                .unwrap_err();
            assert!(err.to_string().contains("expected our"), "{err}");

            // A second server pinned to the same port cannot bind; it must be seen to exit
            // rather than be taken for ready because the first one answers.
            let mut squatter = Server::start(flavor).unwrap();
            squatter.kill().unwrap();
            squatter.port = port;
            let result = squatter.spawn_until_ready(Instant::now() + READY_TIMEOUT);
            assert!(
                matches!(result, Err(Attempt::Exited { .. })),
                "{flavor:?}: a server that could not bind was taken for ready"
            );
            assert!(server.is_running());
        }
    }
}
