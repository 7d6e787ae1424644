//! Ports for servers that a test starts as separate processes (and so cannot hand an open
//! listener): below the kernel's ephemeral range, so no outgoing connection of any process
//! on the machine can take one between the pick and the bind, and reserved across the test
//! processes running at once by an exclusive lock file, so two tests never pick the same one.

use std::{
    fs::OpenOptions,
    io::ErrorKind,
    net::{Ipv4Addr, TcpListener},
    time::Duration,
};

use rand::Rng as _;

use crate::{Error, Result};

/// Below Linux's default ephemeral range (32768-60999).
const PORTS: std::ops::Range<u16> = 20_000..32_000;

/// How long a reservation keeps a port from other tests (longer than any test runs).
const RESERVATION: Duration = Duration::from_secs(15 * 60);

/// A free port on 127.0.0.1 that no other test process will be given for 15 minutes.
pub fn free_port() -> Result<u16> {
    let dir = std::env::temp_dir().join("parley-test-ports");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let mut rng = rand::rng();
    for _ in 0..500 {
        let port = rng.random_range(PORTS);
        let lock = dir.join(port.to_string());
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(_) => {}
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {
                let stale = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .is_ok_and(|at| at.elapsed().unwrap_or_default() > RESERVATION);
                if stale {
                    // Free it for a later pick; another process may take it first.
                    let _ = std::fs::remove_file(&lock);
                }
                continue;
            }
            Err(error) => {
                return Err(Error::io(format!("cannot reserve port {port}"), error));
            }
        }
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(Error::io(
        "no free port to reserve",
        std::io::Error::other(format!("500 tries in {PORTS:?}")),
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ports_are_free_outside_the_ephemeral_range_and_never_given_twice() {
        let mut seen = HashSet::new();
        for _ in 0..50 {
            let port = free_port().expect("a port");
            assert!(PORTS.contains(&port));
            assert!(seen.insert(port), "{port} given twice");
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("still free");
        }
    }
}
