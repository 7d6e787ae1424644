//! The benchmark's outcome: pass/fail of each step, the Markdown table and the JSON.

use std::time::Duration;

use serde::Serialize;

use crate::bench::{
    baseline::Throughput,
    load::{Matched, Offered},
    stats::Latency,
    traffic::Traffic,
};

/// The sustained-rate criteria (`reliability-and-performance.md` §8).
const DELIVERED_WITHIN: f64 = 0.02;
const P99_LIMIT_MS: f64 = 250.0;

/// One run of the mesh at one offered rate.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Step {
    pub(crate) target_rate: f64,
    pub(crate) seconds: f64,
    pub(crate) offered_rate: f64,
    pub(crate) accepted: u64,
    pub(crate) refused: u64,
    pub(crate) skipped: u64,
    /// `typing_start` webhooks sent before the texts (`--typing`), and how many of them
    /// were not answered 200.
    pub(crate) typing_sent: u64,
    pub(crate) typing_refused: u64,
    pub(crate) matched: Matched,
    pub(crate) cpu_seconds_per_1000: Option<f64>,
    /// What the step cost the servers (NATS + Redis only; see `bench::traffic`).
    pub(crate) traffic: Option<Traffic>,
    pub(crate) passed: bool,
}

impl Step {
    pub(crate) fn new(
        rate: f64,
        duration: Duration,
        offered: &Offered,
        matched: Matched,
        cpu: Option<f64>,
        traffic: Option<Traffic>,
    ) -> Self {
        let target = rate * duration.as_secs_f64();
        let accepted = offered.accepted;
        let passed = offered.refused == 0
            && offered.skipped == 0
            && offered.typing_refused == 0
            && (accepted as f64) >= target * (1.0 - DELIVERED_WITHIN)
            && (matched.answered_in_window as f64) >= accepted as f64 * (1.0 - DELIVERED_WITHIN)
            && matched.latency.p99_ms <= P99_LIMIT_MS
            && matched.lost == 0
            && matched.duplicated == 0;
        Self {
            target_rate: rate,
            seconds: offered.seconds,
            offered_rate: if offered.seconds > 0.0 {
                accepted as f64 / offered.seconds
            } else {
                0.0
            },
            accepted,
            refused: offered.refused,
            skipped: offered.skipped,
            typing_sent: offered.typing_sent,
            typing_refused: offered.typing_refused,
            cpu_seconds_per_1000: cpu
                .filter(|_| accepted > 0)
                .map(|c| c * 1000.0 / accepted as f64),
            matched,
            traffic,
            passed,
        }
    }

    pub(crate) fn summary(&self) -> String {
        format!(
            "{:.0} msg/s for {:.0} s: {} accepted, {} refused, {} not offered, {} answered \
             ({} in the window), {} unanswered after the drain, {} duplicated; p50 {:.1} ms, \
             p99 {:.1} ms, \
             p99.9 {:.1} ms{}; {}: {}",
            self.target_rate,
            self.seconds,
            self.accepted,
            self.refused,
            self.skipped,
            self.matched.answered,
            self.matched.answered_in_window,
            self.matched.lost,
            self.matched.duplicated,
            self.matched.latency.p50_ms,
            self.matched.latency.p99_ms,
            self.matched.latency.p999_ms,
            if self.typing_sent > 0 {
                format!(
                    "; {} typing_start sent, {} refused",
                    self.typing_sent, self.typing_refused
                )
            } else {
                String::new()
            },
            Traffic::line(self.traffic.as_ref()),
            if self.passed { "pass" } else { "FAIL" }
        )
    }
}

/// The baselines of the run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Baselines {
    /// Raw JetStream publish-with-ack, 256 in flight.
    pub(crate) jetstream: Throughput,
    /// Raw JetStream publish-with-ack latency at 100 msg/s.
    pub(crate) jetstream_100: Latency,
    /// An axum no-op `POST /message`, 64 senders, the same webhooks.
    pub(crate) noop_post: Throughput,
}

/// One backend set's results.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ModeReport {
    pub(crate) backends: &'static str,
    pub(crate) ingest: Throughput,
    pub(crate) ingest_stored: u64,
    pub(crate) at_100: Step,
    /// NATS + Redis: a run at 100 msg/s with Redis `MONITOR` on, for the Redis requests
    /// per customer message (its latency and CPU are skewed by `MONITOR`, not reported).
    pub(crate) counting_run: Option<Step>,
    pub(crate) sustained_rate: Option<f64>,
    pub(crate) steps: Vec<Step>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) quick: bool,
    pub(crate) conversations: usize,
    /// `--typing`: a `typing_start` before each text in the mesh runs.
    pub(crate) typing: bool,
    pub(crate) cores: usize,
    pub(crate) message_bytes: usize,
    /// `/proc/loadavg` when the run started and ended: other work on the machine skews
    /// every number (the baselines too, which is why they are measured in the same run).
    pub(crate) load_average: (String, String),
    pub(crate) answerer: &'static str,
    /// How long each sustained-rate step lasted (`--step-seconds`).
    pub(crate) step_seconds: u64,
    pub(crate) baselines: Baselines,
    pub(crate) modes: Vec<ModeReport>,
}

fn ratio(value: f64, baseline: f64) -> String {
    if baseline > 0.0 {
        format!("{:.3}x", value / baseline)
    } else {
        "-".to_owned()
    }
}

fn per_message(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}"))
}

fn cpu(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

impl Report {
    /// The Markdown tables.
    pub(crate) fn markdown(&self) -> String {
        let b = &self.baselines;
        let mut out = String::new();
        out.push_str(&format!(
            "\n## parley bench{}\n\n{} cores (load average {} at the start, {} at the end), {} conversations, inbound event {} B, answerer: {}, device traffic: {}\n\n",
            if self.quick { " --quick (smoke run: counts, not speed)" } else { "" },
            self.cores,
            self.load_average.0,
            self.load_average.1,
            self.conversations,
            self.message_bytes,
            self.answerer,
            if self.typing {
                "a typing_start before each text"
            } else {
                "texts only"
            }
        ));
        out.push_str("| baseline (same run) | value |\n|---|---|\n");
        out.push_str(&format!(
            "| JetStream publish-with-ack, 256 in flight | {:.0} msg/s ({} msgs in {:.1} s, {} failed), CPU {} s / 1,000 |\n",
            b.jetstream.per_second,
            b.jetstream.operations,
            b.jetstream.seconds,
            b.jetstream.failed,
            cpu(b.jetstream.cpu_seconds_per_1000)
        ));
        out.push_str(&format!(
            "| JetStream publish-with-ack at 100 msg/s | p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms |\n",
            b.jetstream_100.p50_ms, b.jetstream_100.p99_ms, b.jetstream_100.p999_ms
        ));
        out.push_str(&format!(
            "| axum no-op POST, 64 senders, same webhooks | {:.0} req/s, CPU {} s / 1,000 |\n\n",
            b.noop_post.per_second,
            cpu(b.noop_post.cpu_seconds_per_1000)
        ));
        out.push_str("| measure | backends | value | ratio to baseline |\n|---|---|---|---|\n");
        for m in &self.modes {
            let l = &m.at_100.matched.latency;
            let rows = [
                (
                    "ingest alone (webhook to stored event), msg/s".to_owned(),
                    format!(
                        "{:.0} ({} accepted, {} stored)",
                        m.ingest.per_second, m.ingest.operations, m.ingest_stored
                    ),
                    format!(
                        "{} of no-op POST; {} of JetStream",
                        ratio(m.ingest.per_second, b.noop_post.per_second),
                        ratio(m.ingest.per_second, b.jetstream.per_second)
                    ),
                ),
                (
                    format!(
                        "highest sustained rate ({} s, within 2 %, p99 <= 250 ms, 0 lost/dup), \
                         msg/s",
                        self.step_seconds
                    ),
                    m.sustained_rate
                        .map_or_else(|| "none passed".to_owned(), |r| format!("{r:.0}")),
                    m.sustained_rate
                        .map_or_else(|| "-".to_owned(), |r| ratio(r, b.jetstream.per_second)),
                ),
                (
                    "webhook to Apple at 100 msg/s: p50 / p99 / p99.9, ms".to_owned(),
                    format!("{:.1} / {:.1} / {:.1}", l.p50_ms, l.p99_ms, l.p999_ms),
                    format!(
                        "{} / {} / {} of JetStream's",
                        ratio(l.p50_ms, b.jetstream_100.p50_ms),
                        ratio(l.p99_ms, b.jetstream_100.p99_ms),
                        ratio(l.p999_ms, b.jetstream_100.p999_ms)
                    ),
                ),
                (
                    "CPU s per 1,000 messages at 100 msg/s (process + servers)".to_owned(),
                    cpu(m.at_100.cpu_seconds_per_1000),
                    match (
                        m.at_100.cpu_seconds_per_1000,
                        b.jetstream.cpu_seconds_per_1000,
                    ) {
                        (Some(v), Some(base)) => ratio(v, base),
                        _ => "-".to_owned(),
                    },
                ),
                (
                    "at 100 msg/s: Redis commands and NATS messages".to_owned(),
                    Traffic::line(m.at_100.traffic.as_ref()),
                    String::new(),
                ),
                (
                    "counting run at 100 msg/s (Redis MONITOR on): Redis requests, commands, NATS messages"
                        .to_owned(),
                    Traffic::line(m.counting_run.as_ref().and_then(|s| s.traffic.as_ref())),
                    String::new(),
                ),
                (
                    "at 100 msg/s: accepted / answered / unanswered after the drain / duplicated"
                        .to_owned(),
                    format!(
                        "{} / {} / {} / {}",
                        m.at_100.accepted,
                        m.at_100.matched.answered,
                        m.at_100.matched.lost,
                        m.at_100.matched.duplicated
                    ),
                    String::new(),
                ),
            ];
            for (measure, value, against) in rows {
                out.push_str(&format!(
                    "| {measure} | {} | {value} | {against} |\n",
                    m.backends
                ));
            }
        }
        let steps: Vec<_> = self
            .modes
            .iter()
            .flat_map(|m| m.steps.iter().map(move |s| (m.backends, s)))
            .collect();
        if !steps.is_empty() {
            out.push_str(
                "\n| backends | offered msg/s | accepted | answered in window | unanswered after the drain | dup | p50 ms | p99 ms | p99.9 ms | CPU s/1,000 | Redis commands / msg | NATS messages / msg | pass |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
            );
            for (backends, s) in steps {
                let l = &s.matched.latency;
                let per = s
                    .traffic
                    .map(|t| t.per_customer_message)
                    .unwrap_or_default();
                out.push_str(&format!(
                    "| {backends} | {:.0} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} |\n",
                    s.target_rate,
                    s.accepted,
                    s.matched.answered_in_window,
                    s.matched.lost,
                    s.matched.duplicated,
                    l.p50_ms,
                    l.p99_ms,
                    l.p999_ms,
                    cpu(s.cpu_seconds_per_1000),
                    per_message(per.redis_commands),
                    per_message(per.nats_messages),
                    if s.passed { "yes" } else { "no" }
                ));
            }
        }
        out
    }

    /// Err when a count is wrong: an accepted webhook without exactly one stored event, a
    /// refused webhook, or a message lost or duplicated at 100 msg/s (and in the counting
    /// run).
    pub(crate) fn check_counts(&self) -> Result<(), String> {
        let mut wrong = Vec::new();
        if self.baselines.jetstream.operations == 0 {
            wrong.push("the JetStream baseline published nothing".to_owned());
        }
        for m in &self.modes {
            if m.ingest.operations == 0 || m.ingest_stored != m.ingest.operations {
                wrong.push(format!(
                    "{}: ingest accepted {} webhooks but stored {} events",
                    m.backends, m.ingest.operations, m.ingest_stored
                ));
            }
            let runs = std::iter::once(("at 100 msg/s", &m.at_100))
                .chain(m.counting_run.iter().map(|s| ("in the counting run", s)));
            for (run, s) in runs {
                if s.accepted == 0
                    || s.refused > 0
                    || s.typing_refused > 0
                    || s.matched.lost > 0
                    || s.matched.duplicated > 0
                {
                    wrong.push(format!(
                        "{}: {run} {} accepted, {} refused ({} typing_start refused), {} lost, \
                         {} duplicated",
                        m.backends,
                        s.accepted,
                        s.refused,
                        s.typing_refused,
                        s.matched.lost,
                        s.matched.duplicated
                    ));
                }
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join("; "))
        }
    }
}
