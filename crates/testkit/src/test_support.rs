//! Helpers for the unit tests.

use std::{fs, os::unix::fs::PermissionsExt as _, path::Path, path::PathBuf, sync::Mutex};

/// Held by every test that writes and runs fake binaries: a fork by another thread while a
/// script is still open for writing would make its exec fail with ETXTBSY.
pub(crate) static SCRIPTS: Mutex<()> = Mutex::new(());

/// Writes an executable `#!/bin/sh` script `dir/name`.
pub(crate) fn fake_binary(dir: &Path, name: &str, script: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}
