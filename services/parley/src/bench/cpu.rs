//! CPU time of this process and of the servers, from `/proc/<pid>/stat`.

/// Linux's `USER_HZ`: the unit of `utime` and `stime` (100 on every mainstream kernel).
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU seconds of `pid` (this process when `None`), or `None` when
/// `/proc` cannot tell (not Linux, the process is gone).
pub(crate) fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    parse_stat(&std::fs::read_to_string(path).ok()?)
}

/// `utime` + `stime` (fields 14 and 15) of a `stat` line; the command name (field 2) may
/// hold spaces and parentheses, so fields are counted after its last `)`.
fn parse_stat(text: &str) -> Option<f64> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// CPU seconds of this process and a set of server processes.
#[derive(Debug, Clone)]
pub(crate) struct CpuMeter {
    servers: Vec<u32>,
}

/// One reading of a [`CpuMeter`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuReading {
    process: Option<f64>,
    servers: Option<f64>,
}

impl CpuMeter {
    /// This process and `servers` (nats-server, redis-server pids; empty for given URLs).
    pub(crate) fn new(servers: Vec<u32>) -> Self {
        Self { servers }
    }

    /// Reads the counters now.
    pub(crate) fn read(&self) -> CpuReading {
        let servers = self
            .servers
            .iter()
            .map(|pid| cpu_seconds(Some(*pid)))
            .sum::<Option<f64>>();
        CpuReading {
            process: cpu_seconds(None),
            servers,
        }
    }
}

impl CpuReading {
    /// CPU seconds spent since `earlier`, process and servers together.
    pub(crate) fn since(&self, earlier: &CpuReading) -> Option<f64> {
        let process = self.process? - earlier.process?;
        let servers = match (self.servers, earlier.servers) {
            (Some(now), Some(then)) => now - then,
            _ => 0.0,
        };
        Some(process + servers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_parsed_after_the_command_name() {
        let line = "42 (tokio (rt) x) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        assert_eq!(parse_stat(line), Some(3.0));
        assert_eq!(parse_stat("garbage"), None);
        assert!(cpu_seconds(None).is_some());
    }
}
