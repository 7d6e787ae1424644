//! `parley bench`: the mesh measured end to end against baselines measured in the same run.
//!
//! Order: private `nats-server` and `redis-server` (or the given URLs); the size of one
//! real inbound event (the baseline publishes the same size); the baselines (raw JetStream
//! publish-with-ack with 256 in flight, the same at 100 msg/s, an axum no-op `POST`); then,
//! for the embedded backends and for NATS + Redis: ingest alone (webhook to stored event),
//! the whole mesh at 100 msg/s (latency, CPU, counts), and the highest sustained rate
//! (steps of `--step-seconds`, doubling then bisecting) at which delivered = offered within
//! 2 %, webhook-to-Apple p99 <= 250 ms, nothing lost and nothing duplicated. Load comes from
//! the simulator's devices (JWT-signed, gzip-compressed webhooks) across `--conversations`
//! conversations (`--typing`: a `typing_start` before each text, as a real device sends);
//! answers are read at the simulated Apple.
//!
//! Over NATS + Redis every steady-rate run also counts what each customer message costs the
//! servers: Redis commands (`INFO commandstats`) and NATS messages (`/varz` of the private
//! nats-server, started with its monitoring port, or `--nats-monitor`); a separate counting
//! run at 100 msg/s adds the Redis requests clients sent (from `MONITOR`, which costs the
//! server too much to leave on in the measured runs). See [`traffic`].
//!
//! The answerer is the built-in bot with the demo business's knowledge (`--answerer bot`,
//! the default) or a trivial echo inside the bench (`--answerer echo`, see [`echo`]), which
//! separates the bot's own cost from the mesh's. Every outcome is printed as Markdown and
//! written as JSON.

mod baseline;
mod cpu;
mod echo;
mod load;
mod nats;
mod report;
mod stats;
mod traffic;

use std::{path::PathBuf, sync::Arc, time::Duration};

use parley_apple_sim::{SimConfig, Simulator};
use parley_bus::{ConsumerSpec, StreamKind, Topology};
use parley_runtime::PlatformConfig;
use parley_testkit::RedisServer;

use crate::{
    Error, Result, demo_business,
    up::{BackendKind, Platform, PlatformOptions},
};
use baseline::Throughput;
use cpu::CpuMeter;
pub use load::is_answer;
use nats::MonitoredNats;
use report::{Baselines, ModeReport, Report, Step};
use traffic::Meters;

/// `parley bench`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// A smoke run of about 10 seconds of load: the counts are checked, speed is not.
    #[arg(long)]
    pub quick: bool,
    /// Use this NATS server instead of a private one.
    #[arg(long)]
    pub nats: Option<String>,
    /// The monitoring endpoint (`http://host:port`, the server's `-m`) of the `--nats`
    /// server, for counting NATS messages from `/varz`; without it they are not counted.
    /// The private server's is always on.
    #[arg(long, requires = "nats")]
    pub nats_monitor: Option<String>,
    /// Use this Redis server instead of a private one.
    #[arg(long)]
    pub redis: Option<String>,
    /// Where the JSON report goes.
    #[arg(long, default_value = "parley-bench.json")]
    pub json: PathBuf,
    /// Conversations the load is spread over.
    #[arg(long, default_value_t = 1000)]
    pub conversations: usize,
    /// How long each sustained-rate step lasts (default 60; 3 with --quick).
    #[arg(long)]
    pub step_seconds: Option<u64>,
    /// How long the 100 msg/s latency run lasts (default 60; 3 with --quick): a longer
    /// one gives a profiler a steady load to sample.
    #[arg(long)]
    pub latency_seconds: Option<u64>,
    /// Who answers: `bot` (the built-in bot with the demo knowledge) or `echo` (a trivial
    /// answerer inside the bench, one fixed text per customer text).
    #[arg(long, default_value = "bot", value_parser = ["bot", "echo"])]
    pub answerer: String,
    /// Run only these backends: `embedded`, `nats` (NATS + Redis), or both (default).
    #[arg(long, value_delimiter = ',', default_value = "embedded,nats")]
    pub backends: Vec<String>,
    /// Realistic device traffic in the mesh runs: a `typing_start` webhook before each text
    /// (latency counts from the text; ingest alone still sends texts only).
    #[arg(long)]
    pub typing: bool,
}

/// How long each part runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Durations {
    baseline: Duration,
    ingest: Duration,
    latency: Duration,
    step: Duration,
    /// The counting run (Redis `MONITOR` on) at 100 msg/s.
    counting: Duration,
    drain: Duration,
    max_steps: usize,
}

impl Durations {
    fn of(args: &BenchArgs) -> Self {
        if args.quick {
            Self {
                baseline: Duration::from_secs(1),
                ingest: Duration::from_secs(1),
                latency: Duration::from_secs(args.latency_seconds.unwrap_or(3)),
                step: Duration::from_secs(args.step_seconds.unwrap_or(3)),
                counting: Duration::from_secs(3),
                drain: Duration::from_secs(10),
                max_steps: 0,
            }
        } else {
            Self {
                baseline: Duration::from_secs(10),
                ingest: Duration::from_secs(10),
                latency: Duration::from_secs(args.latency_seconds.unwrap_or(60)),
                step: Duration::from_secs(args.step_seconds.unwrap_or(60)),
                counting: Duration::from_secs(args.latency_seconds.unwrap_or(60).min(20)),
                drain: Duration::from_secs(15),
                max_steps: 8,
            }
        }
    }
}

/// The servers the NATS + Redis runs use, and the baseline's NATS.
struct Servers {
    nats_url: String,
    redis_url: String,
    meter: CpuMeter,
    /// Where the NATS + Redis runs' traffic is counted.
    meters: Meters,
    _nats: Option<MonitoredNats>,
    _redis: Option<RedisServer>,
}

async fn start_servers(args: &BenchArgs) -> Result<Servers> {
    let nats = match &args.nats {
        Some(_) => None,
        None => Some(MonitoredNats::start().await?),
    };
    let redis = match &args.redis {
        Some(_) => None,
        None => Some(RedisServer::start().map_err(|e| Error::Bench(e.to_string()))?),
    };
    let pids = nats
        .iter()
        .map(MonitoredNats::pid)
        .chain(redis.iter().filter_map(RedisServer::pid))
        .collect();
    let redis_url = args
        .redis
        .clone()
        .or_else(|| redis.as_ref().map(RedisServer::url))
        .unwrap_or_default();
    let nats_monitor = args
        .nats_monitor
        .clone()
        .or_else(|| nats.as_ref().map(MonitoredNats::monitor_url));
    Ok(Servers {
        nats_url: args
            .nats
            .clone()
            .or_else(|| nats.as_ref().map(MonitoredNats::url))
            .unwrap_or_default(),
        meters: Meters::new(&redis_url, nats_monitor)?,
        redis_url,
        meter: CpuMeter::new(pids),
        _nats: nats,
        _redis: redis,
    })
}

fn bench_config(mode: BackendKind, servers: &Servers, blobs: &std::path::Path) -> PlatformConfig {
    let mut config = PlatformConfig::default()
        .with_business(demo_business::business_id(), demo_business::BUSINESS_NAME);
    if mode == BackendKind::Server {
        let tag: u32 = rand::random();
        config = config
            .with_backends(&servers.nats_url, &servers.redis_url)
            .in_namespace(&format!("bench{tag:08x}"));
    }
    let local = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.ingest.listen = local;
    config.admin.listen = local;
    config.admin.shutdown_grace = Duration::from_secs(5);
    config.blobs.url = format!("file://{}", blobs.display());
    // One business carries the whole load: its per-business rate limit must not be what
    // is measured.
    config.outbound.rate_per_business = 1_000_000.0;
    config.outbound.burst_per_business = 1_000_000;
    config
}

async fn start_platform(
    mode: BackendKind,
    servers: &Servers,
    blobs: &std::path::Path,
    mesh: bool,
    bot: bool,
) -> Result<Platform> {
    let config = bench_config(mode, servers, blobs);
    let rules = crate::up::up_rules(&config, None)?;
    let platform = Platform::start(PlatformOptions {
        config,
        bus: mode,
        store: mode,
        rules,
        agents: parley_agent_gateway::Agents::default(),
        agent_listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        console_listen: None,
        sim_listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
        bot: if mesh && bot {
            Some(demo_business::bot_config()?)
        } else {
            None
        },
        routing: mesh,
        outbound: mesh,
        // The whole mesh: notification-consent reads every customer message too.
        consent: if mesh {
            Some((
                demo_business::consent_config()?,
                parley_notification_consent::Listen {
                    http: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                    grpc: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                },
            ))
        } else {
            None
        },
        metrics: None,
    })
    .await?;
    Ok(platform)
}

fn sim_of(platform: &Platform) -> Result<&Simulator> {
    platform
        .sim
        .as_ref()
        .ok_or_else(|| Error::Bench("the platform runs without the simulator".into()))
}

/// Reads every event of `stream` from a consumer created before the load, until `expected`
/// arrived (then one more empty fetch) or `within` passed. Returns the count and the size
/// of the first payload.
async fn count_events(
    platform: &Platform,
    spec: &ConsumerSpec,
    expected: u64,
    within: Duration,
) -> Result<(u64, usize)> {
    let bus = &platform.backends.bus;
    let reader = bus
        .subscribe(spec)
        .await
        .map_err(|e| Error::Bench(format!("count consumer: {e}")))?;
    let deadline = tokio::time::Instant::now() + within;
    let (mut count, mut size) = (0u64, 0usize);
    loop {
        let batch = reader
            .fetch(512, Duration::from_millis(300))
            .await
            .map_err(|e| Error::Bench(format!("count fetch: {e}")))?;
        let empty = batch.is_empty();
        for delivery in batch {
            if size == 0 {
                size = delivery.payload.len();
            }
            count += 1;
            let _ = delivery.ack().await;
        }
        if (empty && count >= expected) || tokio::time::Instant::now() > deadline {
            return Ok((count, size));
        }
    }
}

async fn counting_consumer(platform: &Platform, name: &str) -> Result<ConsumerSpec> {
    let spec = ConsumerSpec::new(&platform.backends.namespace, StreamKind::Inbound, name);
    platform
        .backends
        .bus
        .ensure(&Topology::default().with_consumer(spec.clone()))
        .await
        .map_err(|e| Error::Bench(format!("count consumer: {e}")))?;
    Ok(spec)
}

/// The size of one inbound event as ingest stores it, for the baseline.
async fn probe_message_size(servers: &Servers, blobs: &std::path::Path) -> Result<usize> {
    let platform = start_platform(BackendKind::Embedded, servers, blobs, false, false).await?;
    let spec = counting_consumer(&platform, "bench-size").await?;
    let sim = sim_of(&platform)?;
    let device = load::devices(sim.devices(), demo_business::BUSINESS_ID, 1)?;
    let sent = sim
        .devices()
        .text_only(&device[0], load::CUSTOMER_TEXT)
        .await
        .map_err(|e| Error::Bench(format!("probe: {e}")))?;
    if sent.status != 200 {
        return Err(Error::Bench(format!(
            "probe webhook answered {}",
            sent.status
        )));
    }
    let (_, size) = count_events(&platform, &spec, 1, Duration::from_secs(10)).await?;
    platform.stop().await?;
    Ok(size)
}

/// Ingest alone: webhook to stored event, 64 senders, and the count of stored events.
async fn ingest_alone(
    mode: BackendKind,
    servers: &Servers,
    blobs: &std::path::Path,
    conversations: usize,
    duration: Duration,
) -> Result<(Throughput, u64)> {
    let platform = start_platform(mode, servers, blobs, false, false).await?;
    let spec = counting_consumer(&platform, "bench-ingest").await?;
    let sim = sim_of(&platform)?;
    let devices = Arc::new(load::devices(
        sim.devices(),
        demo_business::BUSINESS_ID,
        conversations,
    )?);
    let throughput = load::closed_loop(sim.devices(), devices, 64, duration, &servers.meter).await;
    let (stored, _) = count_events(
        &platform,
        &spec,
        throughput.operations,
        Duration::from_secs(30),
    )
    .await?;
    platform.stop().await?;
    Ok((throughput, stored))
}

/// The whole mesh at `rate` for `duration`: webhooks in, answers out at the simulator.
/// What every mesh step shares.
struct Plan {
    conversations: usize,
    drain: Duration,
    echo: bool,
    typing: bool,
}

/// What a mesh step counts at the servers (NATS + Redis only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counting {
    /// Redis commands and NATS messages (`INFO`, `/varz`: read twice, no load added).
    Commands,
    /// Those and the Redis requests (`MONITOR` on for the whole step).
    Requests,
}

async fn mesh_step(
    mode: BackendKind,
    servers: &Servers,
    blobs: &std::path::Path,
    plan: &Plan,
    rate: f64,
    duration: Duration,
    counting: Counting,
) -> Result<Step> {
    let (conversations, echo) = (plan.conversations, plan.echo);
    let platform = start_platform(mode, servers, blobs, true, !echo).await?;
    let answerer = echo.then(|| {
        tokio::spawn(echo::run(
            platform.backends.clone(),
            platform.config.partitions,
            platform.shutdown().token(),
        ))
    });
    let sim = sim_of(&platform)?;
    let devices = Arc::new(load::devices(
        sim.devices(),
        demo_business::BUSINESS_ID,
        conversations,
    )?);
    let window = match mode {
        BackendKind::Server => Some(servers.meters.start(counting == Counting::Requests).await?),
        BackendKind::Embedded => None,
    };
    let before = servers.meter.read();
    let offered =
        load::open_loop(sim.devices(), devices.clone(), rate, duration, plan.typing).await;
    let expected = offered.accepted;
    let state = sim.state().clone();
    // Drain: until every accepted message has its answer (answers that match no message,
    // a greeting, do not count), or the bound. Each look reads only the new arrivals.
    let deadline = tokio::time::Instant::now() + plan.drain;
    let mut tally = load::Tally::new(&devices);
    loop {
        tally.absorb(&offered, &state.received_since(tally.seen()));
        if tally.answered() >= expected || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let matched = tally.matched(&offered);
    let cpu = servers.meter.read().since(&before);
    let traffic = match window {
        Some(window) => Some(window.finish(&servers.meters, offered.accepted).await?),
        None => None,
    };
    platform.stop().await?;
    if let Some(answerer) = answerer
        && let Ok(Err(error)) = answerer.await
    {
        tracing::warn!(%error, "echo answerer failed");
    }
    Ok(Step::new(rate, duration, &offered, matched, cpu, traffic))
}

fn mode_name(mode: BackendKind) -> &'static str {
    match mode {
        BackendKind::Embedded => "embedded",
        BackendKind::Server => "nats+redis",
    }
}

async fn run_mode(
    mode: BackendKind,
    servers: &Servers,
    blobs: &std::path::Path,
    args: &BenchArgs,
    durations: &Durations,
) -> Result<ModeReport> {
    let name = mode_name(mode);
    crate::say(format!("bench [{name}]: ingest alone ..."));
    let (ingest, stored) =
        ingest_alone(mode, servers, blobs, args.conversations, durations.ingest).await?;
    crate::say(format!(
        "bench [{name}]: ingest {:.0} msg/s, {} accepted, {} stored; mesh at 100 msg/s ...",
        ingest.per_second, ingest.operations, stored
    ));
    let plan = Plan {
        conversations: args.conversations,
        drain: durations.drain,
        echo: args.answerer == "echo",
        typing: args.typing,
    };
    let at_100 = mesh_step(
        mode,
        servers,
        blobs,
        &plan,
        100.0,
        durations.latency,
        Counting::Commands,
    )
    .await?;
    crate::say(format!("bench [{name}]: {}", at_100.summary()));
    let counting_run = match mode {
        BackendKind::Server => {
            crate::say(format!(
                "bench [{name}]: counting run (Redis MONITOR on) at 100 msg/s ..."
            ));
            let step = mesh_step(
                mode,
                servers,
                blobs,
                &plan,
                100.0,
                durations.counting,
                Counting::Requests,
            )
            .await?;
            crate::say(format!("bench [{name}]: counting run: {}", step.summary()));
            Some(step)
        }
        BackendKind::Embedded => None,
    };
    let mut steps = Vec::new();
    let (mut best, mut failed): (Option<f64>, Option<f64>) = (None, None);
    let mut rate: f64 = 200.0;
    for _ in 0..durations.max_steps {
        let step = mesh_step(
            mode,
            servers,
            blobs,
            &plan,
            rate,
            durations.step,
            Counting::Commands,
        )
        .await?;
        crate::say(format!("bench [{name}]: {}", step.summary()));
        let passed = step.passed;
        steps.push(step);
        if passed {
            best = Some(rate);
        } else {
            failed = Some(rate);
        }
        let next = match (best, failed) {
            (_, None) => rate * 2.0,
            (None, Some(high)) => high / 2.0,
            (Some(low), Some(high)) => (low + high) / 2.0,
        };
        if let (Some(low), Some(high)) = (best, failed)
            && high - low <= low * 0.1
        {
            break;
        }
        if !(10.0..=20_000.0).contains(&next) {
            break;
        }
        rate = next.round();
    }
    if at_100.passed && best.is_none_or(|b| b < 100.0) {
        best = Some(best.map_or(100.0, |b| b.max(100.0)));
    }
    Ok(ModeReport {
        backends: name,
        ingest,
        ingest_stored: stored,
        at_100,
        counting_run,
        sustained_rate: best,
        steps,
    })
}

/// Runs the benchmark: Markdown to stdout, JSON to `--json`. Fails when a count is wrong
/// (an accepted webhook without its event, a message lost or duplicated at 100 msg/s).
pub async fn run(args: BenchArgs, env: Vec<(String, String)>) -> Result<()> {
    let log_filter = env
        .iter()
        .find(|(k, _)| k == "RUST_LOG")
        .map_or_else(|| "info".to_owned(), |(_, v)| v.clone());
    let telemetry = parley_telemetry::init(&parley_telemetry::TelemetryConfig {
        service_name: "parley-bench".into(),
        service_version: env!("CARGO_PKG_VERSION").into(),
        otlp_endpoint: None,
        log_filter,
        log_format: parley_telemetry::LogFormat::Text,
    })
    .map_err(|e| Error::Bench(e.to_string()))?;
    // Boxed: the whole benchmark's state machine is large (clippy::large_futures).
    let outcome = Box::pin(bench(&args)).await;
    telemetry.shutdown().await;
    let report = outcome?;
    crate::say(report.markdown());
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Bench(e.to_string()))?;
    if let Some(dir) = args.json.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Bench(format!("{}: {e}", dir.display())))?;
    }
    std::fs::write(&args.json, json)
        .map_err(|e| Error::Bench(format!("{}: {e}", args.json.display())))?;
    crate::say(format!("JSON: {}", args.json.display()));
    report.check_counts().map_err(Error::Bench)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "-".to_owned())
}

async fn bench(args: &BenchArgs) -> Result<Report> {
    let load_at_start = load_average();
    if args.conversations == 0 {
        return Err(Error::Bench("--conversations must be at least 1".into()));
    }
    let durations = Durations::of(args);
    let blobs = std::env::temp_dir().join(format!("parley-bench-{:08x}", rand::random::<u32>()));
    let servers = start_servers(args).await?;
    crate::say("bench: measuring one inbound event's size ...");
    let size = probe_message_size(&servers, &blobs).await?;
    crate::say(format!(
        "bench: baseline: JetStream publish-with-ack, {size} B, 256 in flight ..."
    ));
    let jetstream = baseline::jetstream_throughput(
        &servers.nats_url,
        size,
        256,
        durations.baseline,
        &servers.meter,
    )
    .await?;
    let jetstream_100 =
        baseline::jetstream_latency(&servers.nats_url, size, 100.0, durations.baseline).await?;
    let stop_noop = tokio_util::sync::CancellationToken::new();
    let noop_url = baseline::noop_server(stop_noop.clone()).await?;
    let noop_sim = Simulator::start(
        SimConfig {
            msp_id: "parley-bench".into(),
            secret_base64: crate::up::simulator_secret(),
            businesses: vec![demo_business::BUSINESS_ID.into()],
            msp_webhook_url: Some(noop_url),
        },
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::Bench(e.to_string()))?,
    )
    .await
    .map_err(|e| Error::Bench(e.to_string()))?;
    let devices = Arc::new(load::devices(
        noop_sim.devices(),
        demo_business::BUSINESS_ID,
        args.conversations,
    )?);
    let noop = load::closed_loop(
        noop_sim.devices(),
        devices,
        64,
        durations.baseline,
        &servers.meter,
    )
    .await;
    stop_noop.cancel();
    drop(noop_sim);
    crate::say(format!(
        "bench: baseline {:.0} msg/s (JetStream), {:.0} req/s (no-op POST)",
        jetstream.per_second, noop.per_second
    ));
    let mut modes = Vec::new();
    for name in &args.backends {
        let mode = match name.as_str() {
            "embedded" => BackendKind::Embedded,
            "nats" | "nats+redis" => BackendKind::Server,
            other => {
                return Err(Error::Bench(format!(
                    "--backends: {other:?} is neither `embedded` nor `nats`"
                )));
            }
        };
        modes.push(run_mode(mode, &servers, &blobs, args, &durations).await?);
    }
    let _ = std::fs::remove_dir_all(&blobs);
    Ok(Report {
        quick: args.quick,
        conversations: args.conversations,
        typing: args.typing,
        cores: std::thread::available_parallelism().map_or(0, usize::from),
        message_bytes: size,
        load_average: (load_at_start, load_average()),
        answerer: if args.answerer == "echo" {
            "bench echo (routing's amb.bot output answered inside the bench)"
        } else {
            "the built-in bot (services/bot) with the demo knowledge"
        },
        step_seconds: durations.step.as_secs(),
        baselines: Baselines {
            jetstream,
            jetstream_100,
            noop_post: noop,
        },
        modes,
    })
}
