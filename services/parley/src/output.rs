//! The command's deliberate output on stdout (logs go to stderr through tracing).

use std::io::Write as _;

/// Writes one line to stdout. Never pass a message body or an opaque id.
pub fn say(line: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (a pipe to `head`) must not stop the platform.
    let _ = writeln!(out, "{}", line.as_ref());
    let _ = out.flush();
}

/// Reads stdin lines on a thread (stdin is blocking) into a channel.
pub(crate) fn stdin_lines() -> tokio::sync::mpsc::Receiver<String> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        let mut line = String::new();
        loop {
            line.clear();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.blocking_send(line.trim_end().to_owned()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}
