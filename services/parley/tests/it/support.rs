//! Shared set-up: an in-process platform on free ports.

use std::time::Duration;

use parley::up::{BackendKind, Platform, PlatformOptions, up_config, up_rules};

/// Every listener on a free loopback port, text logs, a short grace.
pub(crate) fn test_env(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("PARLEY_INGEST__LISTEN", "127.0.0.1:0"),
        ("PARLEY_ADMIN__LISTEN", "127.0.0.1:0"),
        ("PARLEY_ADMIN__SHUTDOWN_GRACE", "5s"),
        ("PARLEY_TELEMETRY__LOG_FORMAT", "text"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    env.push((
        "PARLEY_BLOBS__URL".to_owned(),
        format!(
            "file://{}",
            std::env::temp_dir()
                .join(parley_testkit::prefix())
                .display()
        ),
    ));
    env
}

/// [`test_env`] for the platform over these real servers (a private NATS prefix), plus
/// `extra`.
pub(crate) fn server_env(
    nats: &parley_testkit::NatsServer,
    redis: &parley_testkit::RedisServer,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let (nats, redis, prefix) = (nats.url(), redis.url(), parley_testkit::prefix());
    let mut all = vec![
        ("PARLEY_NATS__URL", nats.as_str()),
        ("PARLEY_REDIS__URL", redis.as_str()),
        ("PARLEY_NATS__PREFIX", prefix.as_str()),
    ];
    all.extend_from_slice(extra);
    test_env(&all)
}

/// Sets the most messages a JetStream stream keeps, discarding new ones when full: `None`,
/// what it holds now (so the next publish is refused); `Some(-1)`, no bound.
pub(crate) async fn bound_stream(nats: &str, stream: &str, max_messages: Option<i64>) {
    let client = async_nats::connect(nats).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut handle = js.get_stream(stream).await.unwrap();
    let info = handle.info().await.unwrap();
    let mut config = info.config.clone();
    config.max_messages =
        max_messages.unwrap_or_else(|| i64::try_from(info.state.messages).unwrap().max(1));
    config.discard = async_nats::jetstream::stream::DiscardPolicy::New;
    js.update_stream(config).await.unwrap();
}

/// The demo platform in this process.
pub(crate) async fn platform(
    bus: BackendKind,
    store: BackendKind,
    env: Vec<(String, String)>,
) -> Platform {
    platform_with_agents(
        bus,
        store,
        env,
        parley_agent_gateway::Agents::parse(parley::demo_business::AGENTS).unwrap(),
    )
    .await
}

/// The demo platform in this process, with these agents.
pub(crate) async fn platform_with_agents(
    bus: BackendKind,
    store: BackendKind,
    env: Vec<(String, String)>,
    agents: parley_agent_gateway::Agents,
) -> Platform {
    platform_with(
        bus,
        store,
        env,
        agents,
        parley::demo_business::consent_config().unwrap(),
    )
    .await
}

/// The demo platform in this process without the demo's quiet hours for notifications, so
/// a test that sends them runs at any time of day.
pub(crate) async fn platform_without_quiet_hours(
    bus: BackendKind,
    store: BackendKind,
    env: Vec<(String, String)>,
) -> Platform {
    let policies: String = parley::demo_business::POLICIES
        .lines()
        .filter(|l| !l.starts_with("quiet_hours"))
        .map(|l| format!("{l}\n"))
        .collect();
    let consent = parley_notification_consent::ConsentConfig::new(
        parley_notification_consent::Policies::parse(&policies).unwrap(),
    );
    platform_with(
        bus,
        store,
        env,
        parley_agent_gateway::Agents::parse(parley::demo_business::AGENTS).unwrap(),
        consent,
    )
    .await
}

async fn platform_with(
    bus: BackendKind,
    store: BackendKind,
    env: Vec<(String, String)>,
    agents: parley_agent_gateway::Agents,
    consent: parley_notification_consent::ConsentConfig,
) -> Platform {
    parley_testkit::init_tracing();
    let config = up_config(None, env).unwrap();
    let rules = up_rules(&config, None).unwrap();
    Platform::start(PlatformOptions {
        config,
        bus,
        store,
        rules,
        agents,
        agent_listen: "127.0.0.1:0".parse().unwrap(),
        console_listen: Some("127.0.0.1:0".parse().unwrap()),
        sim_listen: Some("127.0.0.1:0".parse().unwrap()),
        bot: Some(parley::demo_business::bot_config().unwrap()),
        routing: true,
        outbound: true,
        consent: Some((
            consent,
            parley_notification_consent::Listen {
                http: "127.0.0.1:0".parse().unwrap(),
                grpc: "127.0.0.1:0".parse().unwrap(),
            },
        )),
        metrics: None,
    })
    .await
    .unwrap()
}

/// GET `url`'s status, within 5 s.
pub(crate) async fn status_of(url: &str) -> u16 {
    // reqwest is built without a default TLS provider; each test process installs ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}
