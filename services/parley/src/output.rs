//! The command's deliberate output on stdout (logs go to stderr through tracing).

use std::io::Write as _;

/// Writes one line to stdout. Never pass a message body or an opaque id.
pub fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (a pipe to `head`) must not stop the platform.
    let _ = writeln!(out, "{}", line.as_ref());
    let _ = out.flush();
}
