//! What one customer message costs the servers, over NATS + Redis: Redis commands (the
//! `calls` of `INFO commandstats`, summed), Redis requests (what clients sent, read from
//! `MONITOR` in the counting run only) and NATS messages (`in_msgs` / `out_msgs` of the
//! nats-server monitoring endpoint's `/varz`), each the difference between the start and
//! the end of a steady-rate phase.
//!
//! - **Redis commands**: every command Redis executed, as `INFO commandstats` counts it: an
//!   `EVALSHA` is one, and each `redis.call` its script makes is one more; `MULTI`, `EXEC`
//!   and each command queued between them are one each. The bench's own `INFO` and `ECHO`
//!   are left out.
//! - **Redis requests**: the commands clients sent, one per command on the wire: an `EVALSHA`
//!   (or `EVAL`, `FCALL`) is one request whatever its script calls; the calls of a `MULTI`
//!   block are one each. `INFO commandstats` cannot tell a script's calls from a client's
//!   (Redis 7 counts both, in `commandstats` and in `total_commands_processed` alike), so
//!   this comes from `MONITOR`, which marks a script's calls `[<db> lua]`. `MONITOR` costs
//!   the server CPU per command, so it runs only in a separate counting run, never in the
//!   runs whose latency and CPU are reported.
//! - **NATS messages**: `in_msgs` (messages the server received from clients: publishes,
//!   JetStream API requests, pull requests, acks) plus `out_msgs` (messages it delivered to
//!   clients: consumer deliveries, replies); both are also reported apart.

use std::{collections::HashMap, time::Duration};

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::{Error, Result};

/// How long the counting run's `MONITOR` may lag behind the end of the phase.
const MONITOR_DRAIN: Duration = Duration::from_secs(10);

fn failed(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Bench(format!("{what}: {error}"))
}

/// `calls` of each command in an `INFO commandstats` reply, by command name (`get`,
/// `client|list`). Lines other than `cmdstat_*` (the `# Commandstats` header, blank lines)
/// are skipped; a `cmdstat_*` line without a readable `calls=` is an error.
pub(crate) fn parse_commandstats(text: &str) -> Result<HashMap<String, u64>> {
    let mut calls = HashMap::new();
    for line in text.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("cmdstat_") else {
            continue;
        };
        let wrong = || Error::Bench(format!("INFO commandstats: unreadable line {line:?}"));
        let (name, fields) = rest.split_once(':').ok_or_else(wrong)?;
        let count = fields
            .split(',')
            .find_map(|field| field.strip_prefix("calls="))
            .ok_or_else(wrong)?
            .parse::<u64>()
            .map_err(|_| wrong())?;
        calls.insert(name.to_owned(), count);
    }
    Ok(calls)
}

/// What the bench itself sends to Redis around a phase: not counted.
fn is_bench_own(command: &str) -> bool {
    command.eq_ignore_ascii_case("info") || command.eq_ignore_ascii_case("echo")
}

/// The sum of `calls` over every command but the bench's own.
fn commands_executed(calls: &HashMap<String, u64>) -> u64 {
    calls
        .iter()
        .filter(|(name, _)| !is_bench_own(name))
        .map(|(_, count)| count)
        .sum()
}

/// One line of `MONITOR` output, e.g. `1700000000.123456 [0 127.0.0.1:5555] "HGET" "k" "f"`
/// (a client's command) or `1700000000.123500 [0 lua] "hset" "k" "f" "v"` (a script's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MonitorLine {
    /// The command ran inside a script (`EVAL`, `EVALSHA`, `FCALL`).
    pub(crate) from_script: bool,
    /// The command's name as sent, without its quotes.
    pub(crate) command: String,
}

/// Reads one `MONITOR` line; `None` when it has not that shape.
pub(crate) fn parse_monitor_line(line: &str) -> Option<MonitorLine> {
    let open = line.find('[')?;
    let close = open + line[open..].find(']')?;
    let source = line[open + 1..close].split_whitespace().nth(1)?;
    let rest = line[close + 1..].trim_start().strip_prefix('"')?;
    let command = &rest[..rest.find('"')?];
    Some(MonitorLine {
        from_script: source == "lua",
        command: command.to_owned(),
    })
}

/// The `/varz` counters the bench reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct Varz {
    /// Messages the server received from clients.
    pub(crate) in_msgs: u64,
    /// Messages the server delivered to clients.
    pub(crate) out_msgs: u64,
}

/// Reads `in_msgs` and `out_msgs` from a `/varz` JSON document.
pub(crate) fn parse_varz(text: &str) -> Result<Varz> {
    serde_json::from_str(text).map_err(|e| failed("/varz", e))
}

/// What one steady-rate phase cost the servers, and per customer message.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Traffic {
    /// What the counts are divided by: customer texts accepted by the webhook (a
    /// `typing_start` sent before a text is not a customer message).
    pub(crate) customer_messages: u64,
    /// Redis commands executed (`INFO commandstats` `calls`, summed; a script's calls
    /// included).
    pub(crate) redis_commands: Option<u64>,
    /// Commands clients sent to Redis (`MONITOR`; a script is one): only in the counting run.
    pub(crate) redis_requests: Option<u64>,
    /// `/varz` `in_msgs` delta.
    pub(crate) nats_in_msgs: Option<u64>,
    /// `/varz` `out_msgs` delta.
    pub(crate) nats_out_msgs: Option<u64>,
    /// The same per customer message.
    pub(crate) per_customer_message: PerMessage,
}

/// [`Traffic`] divided by its customer messages.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct PerMessage {
    pub(crate) redis_requests: Option<f64>,
    pub(crate) redis_commands: Option<f64>,
    /// In plus out.
    pub(crate) nats_messages: Option<f64>,
    pub(crate) nats_in_msgs: Option<f64>,
    pub(crate) nats_out_msgs: Option<f64>,
}

impl Traffic {
    fn new(
        customer_messages: u64,
        redis_commands: Option<u64>,
        redis_requests: Option<u64>,
        nats: Option<Varz>,
    ) -> Self {
        let per = |count: Option<u64>| {
            count
                .filter(|_| customer_messages > 0)
                .map(|c| c as f64 / customer_messages as f64)
        };
        let (nats_in_msgs, nats_out_msgs) = (nats.map(|v| v.in_msgs), nats.map(|v| v.out_msgs));
        Self {
            customer_messages,
            redis_commands,
            redis_requests,
            nats_in_msgs,
            nats_out_msgs,
            per_customer_message: PerMessage {
                redis_requests: per(redis_requests),
                redis_commands: per(redis_commands),
                nats_messages: per(nats.map(|v| v.in_msgs + v.out_msgs)),
                nats_in_msgs: per(nats_in_msgs),
                nats_out_msgs: per(nats_out_msgs),
            },
        }
    }

    /// `per customer message: 38.2 Redis requests (301.0 commands), 51.0 NATS messages
    /// (20.1 in, 30.9 out)`, with `n/a` for what was not measured.
    pub(crate) fn line(traffic: Option<&Self>) -> String {
        let p = traffic.map(|t| t.per_customer_message).unwrap_or_default();
        let n = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}"));
        format!(
            "per customer message: {} Redis requests ({} commands), {} NATS messages ({} in, {} out)",
            n(p.redis_requests),
            n(p.redis_commands),
            n(p.nats_messages),
            n(p.nats_in_msgs),
            n(p.nats_out_msgs)
        )
    }
}

/// Where the counters are read: the servers of the NATS + Redis runs.
#[derive(Debug, Clone)]
pub(crate) struct Meters {
    redis: redis::Client,
    /// `http://host:port` of the nats-server monitoring endpoint, when known.
    nats_monitor: Option<String>,
    http: reqwest::Client,
}

impl Meters {
    pub(crate) fn new(redis_url: &str, nats_monitor: Option<String>) -> Result<Self> {
        let redis = redis::Client::open(redis_url).map_err(|e| failed("redis", e))?;
        Ok(Self {
            redis,
            nats_monitor: nats_monitor.map(|m| m.trim_end_matches('/').to_owned()),
            http: http_client()?,
        })
    }

    /// Starts counting; with `requests`, `MONITOR` counts what clients send (see the module).
    pub(crate) async fn start(&self, requests: bool) -> Result<Window> {
        let mut connection = self
            .redis
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| failed("redis", e))?;
        let marker = format!("parley-bench-{:016x}", rand::random::<u64>());
        let monitor = if requests {
            let monitor = self
                .redis
                .get_async_monitor()
                .await
                .map_err(|e| failed("redis MONITOR", e))?;
            Some(tokio::spawn(count_requests(monitor, marker.clone())))
        } else {
            None
        };
        echo(&mut connection, &marker).await?;
        let redis = commandstats(&mut connection).await?;
        let nats = self.varz().await?;
        Ok(Window {
            connection,
            marker,
            monitor,
            redis,
            nats,
        })
    }

    async fn varz(&self) -> Result<Option<Varz>> {
        let Some(base) = &self.nats_monitor else {
            return Ok(None);
        };
        varz(&self.http, base).await.map(Some)
    }
}

/// A phase being counted.
pub(crate) struct Window {
    connection: redis::aio::MultiplexedConnection,
    marker: String,
    monitor: Option<JoinHandle<Result<u64>>>,
    redis: u64,
    nats: Option<Varz>,
}

impl Window {
    /// Ends the phase: what it cost, divided by `customer_messages`.
    pub(crate) async fn finish(
        mut self,
        meters: &Meters,
        customer_messages: u64,
    ) -> Result<Traffic> {
        let nats = meters.varz().await?;
        let redis = commandstats(&mut self.connection).await?;
        echo(&mut self.connection, &self.marker).await?;
        let requests = match self.monitor {
            Some(monitor) => match tokio::time::timeout(MONITOR_DRAIN, monitor).await {
                Ok(Ok(counted)) => Some(counted?),
                Ok(Err(e)) => return Err(failed("redis MONITOR", e)),
                Err(_) => {
                    return Err(Error::Bench(format!(
                        "redis MONITOR: the end marker did not arrive within {MONITOR_DRAIN:?}"
                    )));
                }
            },
            None => None,
        };
        let nats = match (self.nats, nats) {
            (Some(before), Some(after)) => Some(Varz {
                in_msgs: after.in_msgs.saturating_sub(before.in_msgs),
                out_msgs: after.out_msgs.saturating_sub(before.out_msgs),
            }),
            _ => None,
        };
        Ok(Traffic::new(
            customer_messages,
            Some(redis.saturating_sub(self.redis)),
            requests,
            nats,
        ))
    }
}

/// Counts the commands clients sent between the two `ECHO marker` lines, scripts' calls and
/// the bench's own commands left out.
async fn count_requests(monitor: redis::aio::Monitor, marker: String) -> Result<u64> {
    // Read as raw values: a line that is not valid UTF-8 must not end the stream (`MONITOR`
    // escapes arguments, but the conversion to `String` would end it on the first one).
    let mut lines = monitor.into_on_message::<redis::Value>();
    let (mut started, mut requests) = (false, 0u64);
    while let Some(value) = lines.next().await {
        let line = match &value {
            redis::Value::SimpleString(text) => std::borrow::Cow::Borrowed(text.as_str()),
            redis::Value::BulkString(bytes) => String::from_utf8_lossy(bytes),
            _ => continue,
        };
        let Some(parsed) = parse_monitor_line(&line) else {
            continue;
        };
        if parsed.command.eq_ignore_ascii_case("echo") && line.contains(&marker) {
            if started {
                return Ok(requests);
            }
            started = true;
        } else if started && !parsed.from_script && !is_bench_own(&parsed.command) {
            requests += 1;
        }
    }
    Err(Error::Bench(
        "redis MONITOR: the connection ended before the end marker".into(),
    ))
}

async fn echo(connection: &mut redis::aio::MultiplexedConnection, marker: &str) -> Result<()> {
    redis::cmd("ECHO")
        .arg(marker)
        .query_async::<String>(connection)
        .await
        .map(drop)
        .map_err(|e| failed("redis ECHO", e))
}

async fn commandstats(connection: &mut redis::aio::MultiplexedConnection) -> Result<u64> {
    let text: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(connection)
        .await
        .map_err(|e| failed("redis INFO commandstats", e))?;
    Ok(commands_executed(&parse_commandstats(&text)?))
}

/// A plain-HTTP client (reqwest is built without a default TLS provider in this workspace).
pub(crate) fn http_client() -> Result<reqwest::Client> {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| failed("HTTP client", e))
}

/// `GET {base}/varz`.
pub(crate) async fn varz(http: &reqwest::Client, base: &str) -> Result<Varz> {
    parse_varz(&varz_text(http, base).await?)
}

/// The body of `GET {base}/varz`.
pub(crate) async fn varz_text(http: &reqwest::Client, base: &str) -> Result<String> {
    let url = format!("{base}/varz");
    http.get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| failed(&url, e))?
        .text()
        .await
        .map_err(|e| failed(&url, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commandstats_calls_are_summed_without_the_bench_own_commands() {
        let text = "# Commandstats\r\n\
            cmdstat_set:calls=3,usec=49,usec_per_call=16.33,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_client|list:calls=1,usec=10,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_info:calls=7,usec=498,usec_per_call=71.14,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_evalsha:calls=12,usec=252,usec_per_call=21.00,rejected_calls=1,failed_calls=0\r\n\
            \r\n";
        let calls = parse_commandstats(text).unwrap();
        assert_eq!(calls.len(), 4);
        assert_eq!(calls["client|list"], 1);
        assert_eq!(calls["evalsha"], 12);
        assert_eq!(commands_executed(&calls), 16);
        assert!(parse_commandstats("").unwrap().is_empty());
        assert!(parse_commandstats("cmdstat_get:usec=1").is_err());
        assert!(parse_commandstats("cmdstat_get:calls=x,usec=1").is_err());
    }

    #[test]
    fn monitor_lines_tell_a_script_call_from_a_client_command() {
        let client =
            parse_monitor_line(r#"1796284458.158500 [0 127.0.0.1:53336] "evalsha" "ab12" "1" "k""#)
                .unwrap();
        assert_eq!(
            client,
            MonitorLine {
                from_script: false,
                command: "evalsha".into()
            }
        );
        let script = parse_monitor_line(r#"1796284458.158798 [0 lua] "set" "a" "1""#).unwrap();
        assert!(script.from_script);
        assert_eq!(script.command, "set");
        let unix = parse_monitor_line(r#"1.0 [3 unix:/tmp/redis.sock] "MULTI""#).unwrap();
        assert!(!unix.from_script);
        assert_eq!(unix.command, "MULTI");
        assert_eq!(parse_monitor_line("OK"), None);
        assert_eq!(parse_monitor_line("1.0 [0 lua]"), None);
    }

    #[test]
    fn varz_counters_are_read_and_the_rest_ignored() {
        let text = r#"{"server_id":"N","server_name":"x","port":4222,"http_port":8222,
            "in_msgs":1234,"out_msgs":5678,"in_bytes":1,"jetstream":{"config":{}}}"#;
        assert_eq!(
            parse_varz(text).unwrap(),
            Varz {
                in_msgs: 1234,
                out_msgs: 5678
            }
        );
        assert!(parse_varz(r#"{"in_msgs":1}"#).is_err());
        assert!(parse_varz("not json").is_err());
    }

    #[test]
    fn per_message_figures_and_their_line() {
        let t = Traffic::new(
            10,
            Some(3010),
            Some(382),
            Some(Varz {
                in_msgs: 200,
                out_msgs: 310,
            }),
        );
        assert_eq!(
            Traffic::line(Some(&t)),
            "per customer message: 38.2 Redis requests (301.0 commands), 51.0 NATS messages \
             (20.0 in, 31.0 out)"
        );
        let without = Traffic::new(10, Some(3010), None, None);
        assert_eq!(
            Traffic::line(Some(&without)),
            "per customer message: n/a Redis requests (301.0 commands), n/a NATS messages \
             (n/a in, n/a out)"
        );
        assert!(Traffic::line(None).starts_with("per customer message: n/a Redis requests"));
        assert_eq!(
            Traffic::new(0, Some(5), None, None)
                .per_customer_message
                .redis_commands,
            None
        );
    }
}
