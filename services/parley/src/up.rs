//! `parley up`: every service in one process, over one shared [`Backends`] and one admin
//! server.
//!
//! Without a NATS (Redis) URL set anywhere it uses the embedded bus (store); with
//! `--nats` / `--redis`, `PARLEY_NATS_URL` / `PARLEY_REDIS_URL` or the configuration's
//! `nats.url` / `redis.url`, the real ones. Unless an MSP secret is configured (real Apple
//! credentials, with `msp.apple_base_url`), it also runs the Apple simulator and points
//! outbound at it. Without businesses in the configuration it serves the demo business.
//!
//! [`Platform`] is the same set-up as a library: `parley bench`, `parley demo` and the tests
//! start it in-process.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use base64::Engine as _;
use parley_apple_sim::{SimConfig, Simulator};
use parley_bus::{Bus, EmbeddedBus, JetStreamBus, JetStreamOptions, Namespace, Topology};
use parley_runtime::{
    AdminServer, Backends, PlatformConfig, Secret, ServiceContext, Shutdown, load_config,
    open_blob_store, shutdown_on_signals,
};
use parley_state::{AgentPool, ConversationStore, EmbeddedStore, RedisStore, RedisStoreOptions};
use parley_types::BusinessId;
use rand::RngCore as _;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{Error, Result, demo_business, env::url_is_set, say};

/// `parley up`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct UpArgs {
    /// A TOML configuration file (also `PARLEY_CONFIG`); `PARLEY_*` variables override it.
    #[arg(long, env = "PARLEY_CONFIG")]
    pub config: Option<PathBuf>,
    /// NATS server URL (also `PARLEY_NATS_URL`); without one anywhere, the embedded bus.
    #[arg(long)]
    pub nats: Option<String>,
    /// Redis URL (also `PARLEY_REDIS_URL`); without one anywhere, the embedded store.
    #[arg(long)]
    pub redis: Option<String>,
    /// Routing rules, one `<business_id>.toml` per business; default: the demo business's.
    #[arg(long)]
    pub rules_dir: Option<PathBuf>,
    /// The bot's knowledge directory (`*.toml`, one business each); default: the demo
    /// business's knowledge.
    #[arg(long)]
    pub knowledge_dir: Option<PathBuf>,
    /// The agents file; default: the demo business's two agents.
    #[arg(long)]
    pub agents_file: Option<PathBuf>,
    /// Where the agent gateway's gRPC API listens.
    #[arg(long, default_value = "0.0.0.0:50051")]
    pub agent_listen: SocketAddr,
    /// Where the agent console (the web page for agents and supervisors) listens.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub console_listen: SocketAddr,
    /// Where the Apple simulator listens (when it runs).
    #[arg(long, default_value = "127.0.0.1:8089")]
    pub sim_listen: SocketAddr,
    /// notification-consent's policies file; default: the demo business's.
    #[arg(long)]
    pub policies_file: Option<PathBuf>,
    /// Where the notification API listens over HTTP.
    #[arg(long, default_value = parley_notification_consent::service::DEFAULT_LISTEN)]
    pub notification_listen: SocketAddr,
    /// Where the notification API listens over gRPC.
    #[arg(long, default_value = parley_notification_consent::service::DEFAULT_GRPC_LISTEN)]
    pub notification_grpc_listen: SocketAddr,
}

/// Which backend each side uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// In this process.
    Embedded,
    /// The server the configuration names.
    Server,
}

/// Everything [`Platform::start`] needs.
pub struct PlatformOptions {
    /// The loaded configuration (its listen addresses are used; port 0 is fine).
    pub config: PlatformConfig,
    /// The bus.
    pub bus: BackendKind,
    /// The store (and the agent pool).
    pub store: BackendKind,
    /// Each business's routing rules; a business not listed gets routing's built-in rules.
    pub rules: HashMap<BusinessId, parley_routing::rules::Rules>,
    /// The agents the gateway accepts.
    pub agents: parley_agent_gateway::Agents,
    /// Where the gateway's gRPC API listens.
    pub agent_listen: SocketAddr,
    /// Where the agent console listens; `None`: no console.
    pub console_listen: Option<SocketAddr>,
    /// Where the simulator listens; `None` when real Apple is configured.
    pub sim_listen: Option<SocketAddr>,
    /// The built-in bot and its knowledge; `None`: no bot in this process (the bench's
    /// ingest-only step, an external bot).
    pub bot: Option<parley_bot::BotConfig>,
    /// Run routing (the bench's ingest-only step does not).
    pub routing: bool,
    /// Run outbound.
    pub outbound: bool,
    /// notification-consent and where its API listens; `None`: not in this process.
    pub consent: Option<(
        parley_notification_consent::ConsentConfig,
        parley_notification_consent::Listen,
    )>,
    /// Readiness and metrics are served when set.
    pub metrics: Option<parley_telemetry::MetricsHandle>,
}

/// A running in-process platform.
pub struct Platform {
    /// The configuration the services run with (simulator URL and secret filled in).
    pub config: Arc<PlatformConfig>,
    /// The shared bus and store.
    pub backends: Backends,
    /// The simulator, when it runs.
    pub sim: Option<Simulator>,
    /// Ingest's `POST /message` URL.
    pub webhook_url: String,
    /// The admin server's address.
    pub admin: SocketAddr,
    /// The agent gateway's address, when it runs.
    pub agent_gateway: Option<SocketAddr>,
    /// The agent console's URL, when it runs.
    pub console_url: Option<String>,
    /// The notification API's base URL over HTTP, when notification-consent runs.
    pub notification_api: Option<String>,
    /// The notification API's gRPC address, when notification-consent runs.
    pub notification_grpc: Option<SocketAddr>,
    /// What listens where, for people (one line each).
    pub listening: Vec<String>,
    shutdown: Shutdown,
    stop_admin: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<std::result::Result<(), String>>)>,
    admin_task: JoinHandle<parley_runtime::Result<()>>,
}

/// Triggers the shutdown it holds when dropped (disarmed by taking it out).
struct StopOnDrop(Option<Shutdown>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(shutdown) = self.0.take() {
            shutdown.trigger();
        }
    }
}

fn namespace(config: &PlatformConfig) -> Result<Namespace> {
    if config.nats.prefix.is_empty() {
        Ok(Namespace::root())
    } else {
        Namespace::prefixed(&config.nats.prefix)
            .map_err(|e| Error::Input(format!("invalid setting `nats.prefix`: {e}")))
    }
}

fn loopback(address: SocketAddr) -> SocketAddr {
    if address.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port())
    } else {
        address
    }
}

async fn bind(setting: &str, address: SocketAddr) -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| Error::Input(format!("invalid setting `{setting}` ({address}): {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Input(format!("`{setting}`: {e}")))?;
    Ok((listener, bound))
}

/// A fresh MSP secret for the simulator (32 random bytes, Base64 as Apple delivers them).
pub fn simulator_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Connects (or creates) the bus and the store, and the agent pool over the same store.
async fn backends(
    config: &PlatformConfig,
    bus: BackendKind,
    store: BackendKind,
) -> Result<(Backends, Arc<dyn AgentPool>)> {
    let namespace = namespace(config)?;
    let bus: Arc<dyn Bus> = match bus {
        BackendKind::Embedded => Arc::new(EmbeddedBus::new()),
        BackendKind::Server => {
            let mut options = JetStreamOptions::new(config.nats.url.clone());
            options.client_name = "parley".to_owned();
            Arc::new(
                JetStreamBus::connect(&options)
                    .await
                    .map_err(|e| Error::Input(format!("invalid setting `nats.url`: {e}")))?,
            )
        }
    };
    let (store, pool): (Arc<dyn ConversationStore>, Arc<dyn AgentPool>) = match store {
        BackendKind::Embedded => {
            let store = Arc::new(EmbeddedStore::new(config.redis.store_settings()));
            (store.clone(), store)
        }
        BackendKind::Server => {
            let store = Arc::new(
                RedisStore::connect(
                    &RedisStoreOptions::new(config.redis.url.clone()),
                    config.redis.store_settings(),
                )
                .map_err(|e| Error::Input(format!("invalid setting `redis.url`: {e}")))?,
            );
            (store.clone(), store)
        }
    };
    let topology = Topology::platform(&namespace, &config.nats.bus_settings());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match bus.ensure(&topology).await {
            Ok(()) => break,
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(%error, "streams not set up yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => {
                return Err(Error::Input(format!("invalid setting `nats.url`: {error}")));
            }
        }
    }
    Ok((
        Backends {
            bus,
            store,
            namespace,
        },
        pool,
    ))
}

impl Platform {
    /// Starts every service (and the simulator) in this process.
    pub async fn start(options: PlatformOptions) -> Result<Self> {
        let mut config = options.config;
        let (ingest_listener, ingest_addr) = bind("ingest.listen", config.ingest.listen).await?;
        let webhook_url = format!("http://{}/message", loopback(ingest_addr));
        let mut listening = vec![format!(
            "ingest       {webhook_url}  (Apple's webhook, POST /message)"
        )];
        let sim = match options.sim_listen {
            Some(address) => {
                let secret = simulator_secret();
                let (listener, _) = bind("--sim-listen", address).await?;
                let sim = Simulator::start(
                    SimConfig {
                        msp_id: config.msp.id.clone(),
                        secret_base64: secret.clone(),
                        businesses: config
                            .businesses
                            .iter()
                            .map(|b| b.id.as_str().to_owned())
                            .collect(),
                        msp_webhook_url: Some(webhook_url.clone()),
                    },
                    listener,
                )
                .await
                .map_err(|e| Error::service("apple-sim", e.to_string()))?;
                config.msp.secret = Some(Secret::new(secret));
                config.msp.apple_base_url = sim.api_base_url();
                listening.push(format!(
                    "apple-sim    {}  (Apple's API for outbound; control API for devices)",
                    sim.base_url()
                ));
                Some(sim)
            }
            None => None,
        };
        config.validate()?;
        let config = Arc::new(config);
        let (backends, pool) = backends(&config, options.bus, options.store).await?;
        let shutdown = Shutdown::new();
        // A service that fails to start stops the ones already running.
        let mut stop_on_error = StopOnDrop(Some(shutdown.clone()));
        let token = shutdown.token();
        let context = || ServiceContext {
            config: config.clone(),
            backends: backends.clone(),
            shutdown: shutdown.clone(),
        };
        let mut tasks: Vec<(&'static str, JoinHandle<std::result::Result<(), String>>)> =
            Vec::new();

        let blobs = open_blob_store(&config.blobs)?;
        let ingest = parley_ingest::Ingest::new(parley_ingest::IngestParts {
            config: config.clone(),
            backends: backends.clone(),
            blobs,
        })
        .map_err(|e| Error::service("ingest", e))?;
        tasks.push((
            "ingest",
            tokio::spawn(ingest.serve(ingest_listener, token.clone())),
        ));

        if options.routing {
            let routing = parley_routing::Routing::new(parley_routing::RoutingParts {
                config: config.clone(),
                backends: backends.clone(),
                pool: pool.clone(),
                routing: parley_routing::RoutingConfig::from_settings(
                    options.rules,
                    &config.routing,
                    &config.events,
                ),
            })
            .await
            .map_err(|e| Error::service("routing", e))?;
            tasks.push(("routing", tokio::spawn(routing.run(token.clone()))));
            listening.push("routing      (consumes amb.inbound and amb.routing)".to_owned());
        }

        if let Some(bot) = options.bot {
            let bot = parley_bot::Bot::new(parley_bot::BotParts {
                config: config.clone(),
                backends: backends.clone(),
                bot,
            })
            .await
            .map_err(|e| Error::service("bot", e.to_string()))?;
            let stop = token.clone();
            tasks.push((
                "bot",
                tokio::spawn(async move { bot.run(stop).await.map_err(|e| e.to_string()) }),
            ));
            listening
                .push("bot          (consumes amb.bot; the demo business's knowledge)".to_owned());
        }

        // Over Redis the gateway keeps sessions and agent logs there (any replica serves an
        // agent); over the embedded store, in this process.
        let (listener, address) = bind("--agent-listen", options.agent_listen).await?;
        let parts = parley_agent_gateway::GatewayParts {
            config: config.clone(),
            backends: backends.clone(),
            agents: options.agents,
            options: parley_agent_gateway::GatewayOptions::default(),
        };
        let gateway = if options.store == BackendKind::Server {
            parley_agent_gateway::AgentGatewayService::new(parts, token.clone()).await
        } else {
            parley_agent_gateway::AgentGatewayService::in_process(
                parts,
                pool.clone(),
                token.clone(),
            )
            .await
        }
        .map_err(|e| Error::service("agent-gateway", e))?;
        let mut console_url = None;
        let gateway = match options.console_listen {
            Some(listen) => {
                let (console_listener, console_address) = bind("--console-listen", listen).await?;
                let url = format!("http://{}/", loopback(console_address));
                listening.push(format!(
                    "console      {url}  (the agent console, in a browser)"
                ));
                console_url = Some(url);
                gateway.with_console(
                    console_listener,
                    parley_agent_gateway::ConsoleOptions::default(),
                )
            }
            None => gateway,
        };
        tasks.push(("agent-gateway", tokio::spawn(gateway.run(listener))));
        listening.push(format!(
            "agent-gw     http://{}  (gRPC parley.v1.AgentGateway)",
            loopback(address)
        ));
        let agent_gateway = Some(loopback(address));

        let mut notification_api = None;
        let mut notification_grpc = None;
        if let Some((consent, listen)) = options.consent {
            let (listener, address) = bind("--notification-listen", listen.http).await?;
            let (grpc_listener, grpc_address) =
                bind("--notification-grpc-listen", listen.grpc).await?;
            let service = parley_notification_consent::NotificationConsent::new(
                parley_notification_consent::ConsentParts {
                    config: config.clone(),
                    backends: backends.clone(),
                    consent,
                },
            )
            .await
            .map_err(|e| Error::service("notification-consent", e.to_string()))?;
            let stop = token.clone();
            tasks.push((
                "notification-consent",
                tokio::spawn(async move {
                    service
                        .run(listener, grpc_listener, stop)
                        .await
                        .map_err(|e| e.to_string())
                }),
            ));
            let url = format!("http://{}", loopback(address));
            listening.push(format!(
                "notify-api   {url}  (notification API over HTTP, POST /v1/notifications)"
            ));
            listening.push(format!(
                "notify-grpc  http://{}  (gRPC parley.v1.NotificationService)",
                loopback(grpc_address)
            ));
            notification_api = Some(url);
            notification_grpc = Some(loopback(grpc_address));
        }

        if options.outbound {
            tasks.push(("outbound", tokio::spawn(parley_outbound::run(context()))));
            listening.push(format!(
                "outbound     -> {}  (Apple's REST API)",
                config.msp.apple_base_url
            ));
        }

        let (admin_listener, admin) = bind("admin.listen", config.admin.listen).await?;
        let stop_admin = CancellationToken::new();
        let admin_task = tokio::spawn(
            AdminServer::new(
                backends.readiness_checks(),
                options.metrics,
                shutdown.token(),
            )
            .serve(admin_listener, stop_admin.clone()),
        );
        listening.push(format!(
            "admin        http://{}  (/livez /readyz /metrics)",
            loopback(admin)
        ));
        stop_on_error.0 = None;
        Ok(Self {
            config,
            backends,
            sim,
            webhook_url,
            admin: loopback(admin),
            agent_gateway,
            console_url,
            notification_api,
            notification_grpc,
            listening,
            shutdown,
            stop_admin,
            tasks,
            admin_task,
        })
    }

    /// The shutdown every service watches; trigger it to stop the platform.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Waits until shutdown is triggered or a service stops by itself (which triggers it),
    /// then until every service drained (within `admin.shutdown_grace`), then stops the
    /// admin server. The first service error is returned.
    pub async fn run_until_stopped(self) -> Result<()> {
        let Self {
            config,
            shutdown,
            stop_admin,
            tasks,
            admin_task,
            ..
        } = self;
        let grace = config.admin.shutdown_grace;
        let watched = tasks.into_iter().map(|(name, task)| {
            let shutdown = shutdown.clone();
            async move {
                let outcome = match task.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(reason)) => Err(Error::service(name, reason)),
                    Err(join) => Err(Error::service(name, join.to_string())),
                };
                if !shutdown.is_shutting_down() {
                    if let Err(error) = &outcome {
                        tracing::error!(service = name, %error, "stopped; shutting down");
                    }
                    shutdown.trigger();
                }
                outcome
            }
        });
        let all = futures::future::join_all(watched);
        tokio::pin!(all);
        let stopping = shutdown.token();
        let outcomes = tokio::select! {
            outcomes = &mut all => outcomes,
            () = stopping.cancelled() => {
                match tokio::time::timeout(grace + Duration::from_secs(1), &mut all).await {
                    Ok(outcomes) => outcomes,
                    Err(_) => vec![Err(Error::service(
                        "parley",
                        format!("services did not drain within {grace:?}"),
                    ))],
                }
            }
        };
        stop_admin.cancel();
        if let Ok(Err(error)) = admin_task.await {
            tracing::warn!(%error, "admin server stopped with an error");
        }
        outcomes
            .into_iter()
            .collect::<Result<Vec<()>>>()
            .map(|_| ())
    }

    /// Triggers shutdown and waits for the drain.
    pub async fn stop(self) -> Result<()> {
        self.shutdown.trigger();
        self.run_until_stopped().await
    }
}

/// The configuration `parley up` runs with: defaults, file, variables; the demo business
/// when none is configured.
pub fn up_config(
    file: Option<&std::path::Path>,
    env: Vec<(String, String)>,
) -> Result<PlatformConfig> {
    let mut config = load_config(file, env)?;
    if config.businesses.is_empty() {
        config = config.with_business(demo_business::business_id(), demo_business::BUSINESS_NAME);
    }
    Ok(config)
}

/// The routing rules: `rules_dir`'s files (else `routing.rules_dir`'s), or the demo
/// business's rules.
pub fn up_rules(
    config: &PlatformConfig,
    rules_dir: Option<&std::path::Path>,
) -> Result<HashMap<BusinessId, parley_routing::rules::Rules>> {
    let businesses: Vec<&BusinessId> = config.businesses.iter().map(|b| &b.id).collect();
    let rules_dir = rules_dir.or(config.routing.rules_dir.as_deref());
    if let Some(dir) = rules_dir {
        return parley_routing::load_rules(dir, businesses)
            .map_err(|e| Error::Input(e.to_string()));
    }
    let mut rules = HashMap::new();
    let demo = demo_business::business_id();
    if businesses.contains(&&demo) {
        let demo_rules = parley_routing::rules::Rules::from_toml(demo_business::RULES)
            .map_err(|e| Error::Input(format!("demo rules: {e}")))?;
        rules.insert(demo, demo_rules);
    }
    Ok(rules)
}

/// Runs `parley up` until Ctrl-C or SIGTERM.
pub async fn run(args: UpArgs, env: Vec<(String, String)>) -> Result<()> {
    let bus = if url_is_set(&env, args.config.as_deref(), "nats")? {
        BackendKind::Server
    } else {
        BackendKind::Embedded
    };
    let store = if url_is_set(&env, args.config.as_deref(), "redis")? {
        BackendKind::Server
    } else {
        BackendKind::Embedded
    };
    let blobs_set = url_is_set(&env, args.config.as_deref(), "blobs")?;
    let mut config = up_config(args.config.as_deref(), env)?;
    if !blobs_set {
        // The default (/var/lib/parley/blobs) is the container's volume; on a developer's
        // machine it is usually not writable.
        config.blobs.url = format!(
            "file://{}",
            std::env::temp_dir().join("parley-blobs").display()
        );
    }
    let telemetry = parley_telemetry::init(&parley_runtime::telemetry_config("parley", &config))
        .map_err(|e| Error::Input(e.to_string()))?;
    let metrics = parley_telemetry::metrics_handle().map_err(|e| Error::Input(e.to_string()))?;
    let rules = up_rules(&config, args.rules_dir.as_deref())?;
    let agents = match &args.agents_file {
        Some(path) => parley_agent_gateway::Agents::load(path).map_err(Error::Input)?,
        None => parley_agent_gateway::Agents::parse(demo_business::AGENTS)
            .map_err(|e| Error::Input(format!("demo agents: {e}")))?,
    };
    let bot = match &args.knowledge_dir {
        Some(dir) => {
            parley_bot::configure(Some(dir), &[]).map_err(|e| Error::Input(e.to_string()))?
        }
        None => demo_business::bot_config()?,
    };
    let consent = match &args.policies_file {
        Some(path) => parley_notification_consent::configure(Some(path))
            .map_err(|e| Error::Input(e.to_string()))?,
        None => demo_business::consent_config()?,
    };
    let sim_listen = config.msp.secret.is_none().then_some(args.sim_listen);
    let outcome = async {
        let platform = Platform::start(PlatformOptions {
            config,
            bus,
            store,
            rules,
            agents,
            agent_listen: args.agent_listen,
            console_listen: Some(args.console_listen),
            sim_listen,
            bot: Some(bot),
            routing: true,
            outbound: true,
            consent: Some((
                consent,
                parley_notification_consent::Listen {
                    http: args.notification_listen,
                    grpc: args.notification_grpc_listen,
                },
            )),
            metrics: Some(metrics),
        })
        .await?;
        shutdown_on_signals(platform.shutdown());
        say(format!(
            "Parley is up: bus {}, store {}, Apple {}.",
            match bus {
                BackendKind::Embedded => "embedded".to_owned(),
                BackendKind::Server => platform.config.nats.url.clone(),
            },
            match store {
                BackendKind::Embedded => "embedded".to_owned(),
                BackendKind::Server => platform.config.redis.url.clone(),
            },
            if platform.sim.is_some() {
                "simulated"
            } else {
                "real"
            },
        ));
        for line in &platform.listening {
            say(format!("  {line}"));
        }
        for business in &platform.config.businesses {
            say(format!(
                "  business     {} ({})",
                business.id, business.name
            ));
        }
        if platform.agent_gateway.is_some() && args.agents_file.is_none() {
            for (id, token) in demo_business::AGENT_TOKENS {
                say(format!("  demo agent   {id}: token {token}"));
            }
        }
        if platform.notification_api.is_some() && args.policies_file.is_none() {
            say(format!(
                "  demo CRM     notification API token {}",
                demo_business::NOTIFICATION_TOKEN
            ));
        }
        say("Ctrl-C stops it.");
        platform.run_until_stopped().await
    }
    .await;
    match &outcome {
        Ok(()) => tracing::info!("parley stopped"),
        Err(error) => tracing::error!(%error, "parley failed"),
    }
    telemetry.shutdown().await;
    outcome
}
