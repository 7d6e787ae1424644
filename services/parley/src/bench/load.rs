//! Load from simulated devices (JWT-signed, gzip-compressed webhooks, as Apple sends them)
//! and the matching of each customer message to the reply it caused at the simulated Apple.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use parley_apple_sim::{Device, DeviceKind, DeviceSender, Received};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::{
    Error, Result,
    bench::{baseline::Throughput, cpu::CpuMeter, stats::Latency},
};

/// What every simulated customer writes (the bot knows the answer).
pub(crate) const CUSTOMER_TEXT: &str = "what are your opening hours?";

/// Webhooks in flight at most during an open-loop run; past it a tick is not offered.
const MAX_IN_FLIGHT: usize = 4096;

pub(crate) fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// `count` customers of `business`, each on an iPhone.
pub(crate) fn devices(sender: &DeviceSender, business: &str, count: usize) -> Result<Vec<Device>> {
    (0..count)
        .map(|_| {
            sender
                .new_device(business, DeviceKind::Iphone)
                .map_err(|e| Error::Bench(format!("device: {e}")))
        })
        .collect()
}

/// `concurrency` senders, each waiting for its answer before sending again, for `duration`:
/// the highest rate the webhook answers 200 at.
pub(crate) async fn closed_loop(
    sender: &DeviceSender,
    devices: Arc<Vec<Device>>,
    concurrency: usize,
    duration: Duration,
    cpu: &CpuMeter,
) -> Throughput {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let before = cpu.read();
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (sender, devices) = (sender.clone(), devices.clone());
            let (ok, failed) = (ok.clone(), failed.clone());
            tokio::spawn(async move {
                let mut next = worker;
                while tokio::time::Instant::now() < deadline {
                    let device = &devices[next % devices.len()];
                    next += concurrency;
                    match sender.text_only(device, CUSTOMER_TEXT).await {
                        Ok(sent) if sent.status == 200 => ok.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    Throughput::new(
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        seconds,
        cpu.read().since(&before),
    )
}

/// What an open-loop run offered.
#[derive(Debug, Clone, Default)]
pub(crate) struct Offered {
    /// When each device's accepted (200) messages were sent, epoch milliseconds, in order.
    pub(crate) sends: Vec<Vec<f64>>,
    /// Webhooks answered 200.
    pub(crate) accepted: u64,
    /// Webhooks answered otherwise, or not answered.
    pub(crate) refused: u64,
    /// Ticks not offered because too many webhooks were in flight.
    pub(crate) skipped: u64,
    /// `typing_start` webhooks sent before texts (`--typing`).
    pub(crate) typing_sent: u64,
    /// Of those, answered otherwise than 200, or not answered.
    pub(crate) typing_refused: u64,
    /// When the last tick fired, epoch milliseconds.
    pub(crate) ended_ms: f64,
    /// How long the offering took.
    pub(crate) seconds: f64,
}

/// `rate` messages per second for `duration`, round-robin over `devices`, whatever the
/// answers take (open loop): tick `i` is device `i % devices.len()`. With `typing`, each
/// text is preceded by a `typing_start` from the same device, as a real device sends it
/// (the text's send time, from which latency counts, is taken after the typing webhook
/// was answered).
pub(crate) async fn open_loop(
    sender: &DeviceSender,
    devices: Arc<Vec<Device>>,
    rate: f64,
    duration: Duration,
    typing: bool,
) -> Offered {
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = (rate * duration.as_secs_f64()).round() as usize;
    let mut tasks = Vec::with_capacity(total);
    let mut skipped = 0;
    let started = Instant::now();
    for i in 0..total {
        tick.tick().await;
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            skipped += 1;
            continue;
        };
        let index = i % devices.len();
        let (sender, devices) = (sender.clone(), devices.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let device = &devices[index];
            let typed = !typing
                || matches!(sender.typing_start(device).await, Ok(sent) if sent.status == 200);
            let at = now_ms();
            let ok = matches!(
                sender.text_only(device, CUSTOMER_TEXT).await,
                Ok(sent) if sent.status == 200
            );
            (index, at, ok, typed)
        }));
    }
    let ended_ms = now_ms();
    let seconds = started.elapsed().as_secs_f64();
    let mut offered = Offered {
        sends: vec![Vec::new(); devices.len()],
        skipped,
        ended_ms,
        seconds,
        ..Offered::default()
    };
    for task in tasks {
        let Ok((index, at, ok, typed)) = task.await else {
            offered.refused += 1;
            continue;
        };
        if typing {
            offered.typing_sent += 1;
        }
        if !typed {
            offered.typing_refused += 1;
        }
        if ok {
            offered.accepted += 1;
            offered.sends[index].push(at);
        } else {
            offered.refused += 1;
        }
    }
    for sends in &mut offered.sends {
        sends.sort_by(f64::total_cmp);
    }
    offered
}

/// Whether Apple received `r` as an answer (typing indicators are not answers).
pub fn is_answer(r: &Received) -> bool {
    r.endpoint.ends_with("/message")
        && !matches!(
            r.body.get("type").and_then(|t| t.as_str()),
            Some("typing_start" | "typing_end")
        )
}

/// How the answers matched the messages.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Matched {
    /// Messages answered (at any time before the drain ended).
    pub(crate) answered: u64,
    /// Messages answered by one second after the offering ended.
    pub(crate) answered_in_window: u64,
    /// Messages not answered by the end of the drain (lost, or still queued when the
    /// offered rate was past what the mesh sustains).
    pub(crate) lost: u64,
    /// Answers Apple received more than once (the same message id).
    pub(crate) duplicated: u64,
    /// Answers that matched no message (a greeting, a second answer).
    pub(crate) extra: u64,
    /// Webhook sent to answer received at Apple, milliseconds (the simulator stamps
    /// arrivals in whole milliseconds).
    pub(crate) latency: Latency,
}

/// What Apple received, absorbed as it arrives: each answer (typing indicators are not
/// answers) filed under its device, duplicates (the same message id) counted, and how many
/// of each device's messages are answered kept current, so that a drain polling the
/// simulator reads only the arrivals since its last look and re-matches only the devices
/// that got one.
#[derive(Debug)]
pub(crate) struct Tally {
    index: HashMap<String, usize>,
    /// Each device's answers, arrival milliseconds, sorted.
    answers: Vec<Vec<f64>>,
    /// Each device's messages answered so far.
    answered: Vec<u64>,
    ids: HashSet<String>,
    duplicated: u64,
    /// Arrivals read so far (answers or not): where the next read starts.
    seen: usize,
    total_answered: u64,
}

impl Tally {
    pub(crate) fn new(devices: &[Device]) -> Self {
        Self {
            index: devices
                .iter()
                .enumerate()
                .map(|(i, d)| (d.customer.clone(), i))
                .collect(),
            answers: vec![Vec::new(); devices.len()],
            answered: vec![0; devices.len()],
            ids: HashSet::new(),
            duplicated: 0,
            seen: 0,
            total_answered: 0,
        }
    }

    /// How many arrivals were absorbed: the simulator's arrivals from this index on are new.
    pub(crate) fn seen(&self) -> usize {
        self.seen
    }

    /// Absorbs the arrivals that followed the ones already seen.
    pub(crate) fn absorb(&mut self, offered: &Offered, arrivals: &[Received]) {
        self.seen += arrivals.len();
        let mut touched = HashSet::new();
        for r in arrivals.iter().filter(|r| is_answer(r)) {
            let Some(&i) = self.index.get(r.customer.as_str()) else {
                continue;
            };
            if !self.ids.insert(r.id.clone()) {
                self.duplicated += 1;
                continue;
            }
            self.answers[i].push(r.received_at_ms as f64);
            touched.insert(i);
        }
        for i in touched {
            self.answers[i].sort_by(f64::total_cmp);
            let sends = offered.sends.get(i).map_or(&[][..], Vec::as_slice);
            let now = Self::walk(sends, &self.answers[i], |_, _| {}).0;
            self.total_answered += now - self.answered[i];
            self.answered[i] = now;
        }
    }

    /// Messages answered so far.
    pub(crate) fn answered(&self) -> u64 {
        self.total_answered
    }

    /// Matches one device's messages, in order, to its answers, in order: message `k` is
    /// answered by the first unused answer at or after its send. Calls `on_match(sent,
    /// answer)` for each; returns (answered, lost, extra).
    fn walk(sends: &[f64], answers: &[f64], mut on_match: impl FnMut(f64, f64)) -> (u64, u64, u64) {
        let (mut answered, mut lost, mut extra) = (0, 0, 0);
        let mut next = 0;
        for &sent in sends {
            // Arrivals are whole milliseconds: allow the one being truncated.
            while next < answers.len() && answers[next] < sent - 1.0 {
                extra += 1;
                next += 1;
            }
            if let Some(&answer) = answers.get(next) {
                next += 1;
                answered += 1;
                on_match(sent, answer);
            } else {
                lost += 1;
            }
        }
        extra += (answers.len() - next) as u64;
        (answered, lost, extra)
    }

    /// The matching of everything absorbed.
    pub(crate) fn matched(&self, offered: &Offered) -> Matched {
        let window_end = offered.ended_ms + 1000.0;
        let mut latencies = Vec::with_capacity(offered.accepted as usize);
        let mut matched = Matched {
            duplicated: self.duplicated,
            ..Matched::default()
        };
        let mut in_window = 0;
        for (sends, answers) in offered.sends.iter().zip(&self.answers) {
            let (answered, lost, extra) = Self::walk(sends, answers, |sent, answer| {
                if answer <= window_end {
                    in_window += 1;
                }
                latencies.push((answer - sent).max(0.0));
            });
            matched.answered += answered;
            matched.lost += lost;
            matched.extra += extra;
        }
        matched.answered_in_window = in_window;
        matched.latency = Latency::of(latencies);
        matched
    }
}

/// Matches each device's messages, in order, to the answers Apple received for it, in
/// order: message `k` is answered by the first unused answer at or after its send.
#[cfg(test)]
pub(crate) fn correlate(offered: &Offered, devices: &[Device], received: &[Received]) -> Matched {
    let mut tally = Tally::new(devices);
    tally.absorb(offered, received);
    tally.matched(offered)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer(customer: &str, id: &str, at: u64) -> Received {
        Received {
            endpoint: "/v1/message".into(),
            business: "b".into(),
            customer: customer.into(),
            id: id.into(),
            auto_reply: true,
            msp_agent: None,
            body: json!({"type": "text"}),
            received_at_ms: at,
        }
    }

    #[test]
    fn messages_match_answers_in_order_and_losses_and_duplicates_are_counted() {
        let devices = vec![
            Device {
                business: "b".into(),
                customer: "c1".into(),
                kind: DeviceKind::Iphone,
            },
            Device {
                business: "b".into(),
                customer: "c2".into(),
                kind: DeviceKind::Iphone,
            },
        ];
        let offered = Offered {
            sends: vec![vec![1000.0, 2000.0], vec![1500.0]],
            accepted: 3,
            ended_ms: 2000.0,
            ..Offered::default()
        };
        let mut typing = answer("c1", "t", 1001);
        typing.body = json!({"type": "typing_start"});
        let received = vec![
            typing,
            answer("c1", "a", 1010),
            answer("c1", "b", 2030),
            answer("c1", "b", 2031),
        ];
        let matched = correlate(&offered, &devices, &received);
        assert_eq!(matched.answered, 2);
        assert_eq!(matched.lost, 1);
        assert_eq!(matched.duplicated, 1);
        assert_eq!(matched.extra, 0);
        assert_eq!(matched.latency.max_ms, 30.0);

        // The same arrivals absorbed in pieces, as the drain reads them.
        let mut tally = Tally::new(&devices);
        tally.absorb(&offered, &received[..2]);
        assert_eq!((tally.seen(), tally.answered()), (2, 1));
        tally.absorb(&offered, &received[2..]);
        assert_eq!((tally.seen(), tally.answered()), (4, 2));
        let pieces = tally.matched(&offered);
        assert_eq!(
            (
                pieces.answered,
                pieces.lost,
                pieces.duplicated,
                pieces.extra
            ),
            (2, 1, 1, 0)
        );
        assert_eq!(pieces.answered_in_window, matched.answered_in_window);
        assert_eq!(pieces.latency.max_ms, 30.0);
    }
}
