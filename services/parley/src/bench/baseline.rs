//! The baselines, measured in the same run as the platform: raw JetStream
//! publish-with-ack (256 in flight, the mesh's message size) and an axum no-op `POST`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::{
    Error, Result,
    bench::{cpu::CpuMeter, stats::Latency},
};

/// A throughput measurement.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Throughput {
    /// Operations completed.
    pub(crate) operations: u64,
    /// Failed operations.
    pub(crate) failed: u64,
    /// Over how long.
    pub(crate) seconds: f64,
    /// Operations per second.
    pub(crate) per_second: f64,
    /// CPU seconds (this process and the servers) per 1,000 operations.
    pub(crate) cpu_seconds_per_1000: Option<f64>,
}

impl Throughput {
    pub(crate) fn new(operations: u64, failed: u64, seconds: f64, cpu: Option<f64>) -> Self {
        let per_second = if seconds > 0.0 {
            operations as f64 / seconds
        } else {
            0.0
        };
        Self {
            operations,
            failed,
            seconds,
            per_second,
            cpu_seconds_per_1000: cpu
                .filter(|_| operations > 0)
                .map(|c| c * 1000.0 / operations as f64),
        }
    }
}

async fn jetstream(url: &str) -> Result<(async_nats::jetstream::Context, String, String)> {
    let client = async_nats::connect(url)
        .await
        .map_err(|e| Error::Bench(format!("baseline: connect to {url}: {e}")))?;
    let context = async_nats::jetstream::new(client);
    let tag: u32 = rand::random();
    let name = format!("PARLEY_BENCH_BASELINE_{tag:08x}");
    let subject = format!("parley-bench.baseline.{tag:08x}");
    context
        .get_or_create_stream(async_nats::jetstream::stream::Config {
            name: name.clone(),
            subjects: vec![subject.clone()],
            storage: async_nats::jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| Error::Bench(format!("baseline: create stream: {e}")))?;
    Ok((context, name, subject))
}

/// JetStream publish-with-ack, `in_flight` at a time, for `duration`.
pub(crate) async fn jetstream_throughput(
    url: &str,
    size: usize,
    in_flight: usize,
    duration: Duration,
    cpu: &CpuMeter,
) -> Result<Throughput> {
    let (context, name, subject) = jetstream(url).await?;
    let payload = Bytes::from(vec![b'x'; size]);
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let before = cpu.read();
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + duration;
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let (context, subject, payload) = (context.clone(), subject.clone(), payload.clone());
            let (done, failed) = (done.clone(), failed.clone());
            tokio::spawn(async move {
                while tokio::time::Instant::now() < deadline {
                    let acked = match context.publish(subject.clone(), payload.clone()).await {
                        Ok(ack) => ack.await.is_ok(),
                        Err(_) => false,
                    };
                    if acked {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let spent = cpu.read().since(&before);
    let _ = context.delete_stream(&name).await;
    Ok(Throughput::new(
        done.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        seconds,
        spent,
    ))
}

/// JetStream publish-with-ack latency at `rate` per second, one publish per tick.
pub(crate) async fn jetstream_latency(
    url: &str,
    size: usize,
    rate: f64,
    duration: Duration,
) -> Result<Latency> {
    let (context, name, subject) = jetstream(url).await?;
    let payload = Bytes::from(vec![b'x'; size]);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let deadline = tokio::time::Instant::now() + duration;
    let mut pending = Vec::new();
    while tokio::time::Instant::now() < deadline {
        tick.tick().await;
        let (context, subject, payload) = (context.clone(), subject.clone(), payload.clone());
        pending.push(tokio::spawn(async move {
            let started = Instant::now();
            let ack = context.publish(subject, payload).await.ok()?;
            ack.await.ok()?;
            Some(started.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let mut samples = Vec::with_capacity(pending.len());
    for task in pending {
        if let Ok(Some(ms)) = task.await {
            samples.push(ms);
        }
    }
    let _ = context.delete_stream(&name).await;
    Ok(Latency::of(samples))
}

/// An axum server answering every `POST /message` with 200 and nothing else: the cost of
/// HTTP alone, for ingest's ratio. Stops when `stop` fires.
pub(crate) async fn noop_server(stop: CancellationToken) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::Bench(format!("no-op server: {e}")))?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::Bench(format!("no-op server: {e}")))?;
    let app = axum::Router::new().route(
        "/message",
        axum::routing::post(|_body: Bytes| async { axum::http::StatusCode::OK }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
    });
    Ok(format!("http://{address}/message"))
}
